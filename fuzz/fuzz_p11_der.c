/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_p11_der.c — the module's readers of card bytes that need no
 * OpenSSL: public-key templates and SPKI key bits into attribute values
 * (the first byte picks the algorithm), and the certificate walker.
 * Linked with the module's objects (build/fuzz/libusbpiv-pkcs11.a). */
#include <stddef.h>
#include <stdint.h>

#include "../pkcs11/p11.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A success lies inside its buffer; a failure leaves nothing. */
static void
check(int r, const struct p11_pubenc *e)
{
	if (r != 0) {
		if (e->spki != NULL || e->spki_len != 0)
			__builtin_trap();
		return;
	}
	if (e->spki == NULL || e->pt_len == 0 ||
	    e->pt_off + e->pt_len > e->spki_len ||
	    e->e_off + e->e_len > e->spki_len ||
	    (e->spki[0] != 0x30))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t algs[] = { PIV_ALG_RSA1024, PIV_ALG_RSA2048,
	    PIV_ALG_RSA3072, PIV_ALG_RSA4096, PIV_ALG_ECCP256, PIV_ALG_ECCP384,
	    PIV_ALG_ED25519, PIV_ALG_X25519, PIV_ALG_3DES, 0x00 };
	struct p11_pubenc e;
	struct p11_certf f;
	uint8_t alg;

	if (size < 1)
		return 0;
	alg = algs[data[0] % sizeof(algs)];
	check(p11_pubenc_from_tpl(alg, data + 1, size - 1, &e), &e);
	p11_pubenc_clear(&e);
	check(p11_pubenc_from_spki_key(alg, data + 1, size - 1, &e), &e);
	p11_pubenc_clear(&e);
	if (p11_cert_fields(data, size, &f) == 0) {
		if (f.serial_off + f.serial_len > size ||
		    f.issuer_off + f.issuer_len > size ||
		    f.subject_off + f.subject_len > size ||
		    f.spki_off + f.spki_len > size ||
		    f.key_off + f.key_len > f.spki_off + f.spki_len ||
		    f.key_off < f.spki_off || f.serial_len < 3)
			__builtin_trap();
	} else if (f.spki_len != 0 || f.key_len != 0)
		__builtin_trap();
	return 0;
}
