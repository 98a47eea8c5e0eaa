/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_certobj.c — the content of a certificate object (70 / 71 / FE),
 * compressed certificates included; a parsed one must rebuild. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../piv/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509 *x = NULL, *y = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (piv_parse_cert_object(data, size, &x) != 0) {
		if (x != NULL)
			__builtin_trap();
		return 0;
	}
	/* round trip, compressed and not */
	for (int z = 0; z < 2; z++) {
		if (piv_build_cert_object(x, z, &buf, &len) != 0)
			continue;	/* i2d may refuse what d2i took */
		if (piv_parse_cert_object(buf, len, &y) != 0)
			__builtin_trap();
		X509_free(y);
		y = NULL;
		free(buf);
		buf = NULL;
	}
	X509_free(x);
	return 0;
}
