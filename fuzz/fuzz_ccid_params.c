/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_ccid_params.c — the Parameters block of RDR_to_PC_Parameters
 * (the reader's own bytes): decoding accepts exactly the T=0 and T=1
 * sizes, and whatever it accepts encodes back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../ccid/ccid_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccid_params p;
	uint8_t *copy, out[8];
	size_t n;
	int r;

	if (size < 1)
		return 0;
	/* exactly the bytes left, so ASan sees any over-read */
	if ((copy = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		return 0;
	if (size > 1)
		memcpy(copy, data + 1, size - 1);
	r = ccid_params_decode(data[0], size > 1 ? copy : NULL, size - 1, &p);
	if (r == 0) {
		if (data[0] > 1 || size - 1 != (data[0] == 0 ? 5u : 7u))
			__builtin_trap();
		if (ccid_params_encode(&p, out, sizeof(out), &n) != 0 ||
		    n != size - 1 || memcmp(out, copy, n) != 0)
			__builtin_trap();
	}
	free(copy);
	return 0;
}
