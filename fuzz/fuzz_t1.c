/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_t1.c — the T=1 engine against a card whose every answer
 * comes from the input.  Byte 0: bit 0 CRC, bits 1-7 IFSC; byte 1: APDU
 * length selector; then answers as [len bytes...], len 0xFF = no answer
 * (mute).  Runs IFSD negotiation, two exchanges and a RESYNCH.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../ccid/ccid_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t left;
	size_t calls;
};

static int
xfer(void *ctx, const uint8_t *blk, size_t len, uint8_t bwi, uint8_t *resp,
    size_t cap, size_t *got, int *ms)
{
	struct src *s = ctx;
	size_t n;

	(void)bwi;
	(void)blk;
	*got = 0;
	if (len > CCID_T1_MAX_BLOCK)
		__builtin_trap();	/* the engine never builds more */
	if (++s->calls > 100000)
		__builtin_trap();	/* an unbounded loop */
	if (s->left == 0) {
		/* out of script: each call costs budget, like a real mute
		 * card would */
		*ms -= 100;
		if (*ms < 0)
			*ms = 0;
		return CCID_ERR_CARD_MUTE;
	}
	n = s->p[0];
	s->p++;
	s->left--;
	if (n == 0xff)
		return CCID_ERR_CARD_MUTE;
	if (n > s->left)
		n = s->left;
	if (n > cap)
		n = cap;
	memcpy(resp, s->p, n);
	s->p += n;
	s->left -= n;
	*got = n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ccid_t1 t;
	struct src s;
	uint8_t apdu[700], out[512];
	size_t alen, n;
	int ms;

	if (size < 2)
		return 0;
	s.p = data + 2;
	s.left = size - 2;
	s.calls = 0;
	ccid_t1_init(&t, (uint8_t)(data[0] >> 1), data[0] & 1, xfer, &s);
	alen = 4 + (size_t)data[1] * 2;
	memset(apdu, 0xa5, sizeof(apdu));
	apdu[1] = 0x20;		/* VERIFY: redaction paths too */
	t.redact = data[1] & 1;
	ms = 100000;
	(void)ccid_t1_set_ifsd(&t, 254, &ms);
	ms = 100000;
	if (ccid_t1_transceive(&t, apdu, alen, out, sizeof(out), &n, &ms) ==
	    0 && n > sizeof(out))
		__builtin_trap();
	ms = 100000;
	if (ccid_t1_transceive(&t, apdu, 5, out, 16, &n, &ms) == 0 && n > 16)
		__builtin_trap();
	ms = 100000;
	(void)ccid_t1_resynch(&t, &ms);
	return 0;
}
