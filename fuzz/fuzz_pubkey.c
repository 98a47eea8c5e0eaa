/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_pubkey.c — public-key templates (7F49 81/82 or 86) for every
 * algorithm; the first byte picks it. */
#include <stddef.h>
#include <stdint.h>

#include "../piv/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t algs[] = { PIV_ALG_RSA1024, PIV_ALG_RSA2048,
	    PIV_ALG_RSA3072, PIV_ALG_RSA4096, PIV_ALG_ECCP256, PIV_ALG_ECCP384,
	    PIV_ALG_ED25519, PIV_ALG_X25519, PIV_ALG_3DES, 0x00 };
	EVP_PKEY *pub = NULL;
	uint8_t alg;

	if (size < 1)
		return 0;
	alg = algs[data[0] % sizeof(algs)];
	if (piv_parse_pubkey(alg, data + 1, size - 1, &pub) == 0) {
		if (pub == NULL)
			__builtin_trap();
		EVP_PKEY_free(pub);
	} else if (pub != NULL)
		__builtin_trap();
	return 0;
}
