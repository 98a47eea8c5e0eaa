/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_atr.c — the ATR parser, and the SetParameters structures
 * derived from whatever it accepts (which may be a prefix of the input:
 * trailing bytes are kept out of the ATR and noted in `fixes`). */
#include <stddef.h>
#include <stdint.h>

#include "../ccid/ccid_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccid_atr a;
	struct ccid_params p;
	uint8_t out[8];
	size_t n;

	if (ccid_atr_parse(data, size, &a) != 0)
		return 0;
	/* trailing bytes (some readers pad) are accepted, noted and cut
	 * off: the ATR is what its own bytes say */
	if (a.len > size || a.len < 2 ||
	    (a.len < size) != ((a.fixes & CCID_ATR_FIX_TRAILING) != 0) ||
	    a.hist_len > sizeof(a.hist) || a.ifsc == 0 || a.ifsc == 0xff)
		__builtin_trap();
	ccid_params_from_atr(&a, 1, a.has_ta1 ? a.ta1 : 0x11, &p);
	if (ccid_params_encode(&p, out, sizeof(out), &n) != 0 || n != 7)
		__builtin_trap();
	ccid_params_from_atr(&a, 0, 0x11, &p);
	if (ccid_params_encode(&p, out, sizeof(out), &n) != 0 || n != 5)
		__builtin_trap();
	return 0;
}
