/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_iccd.c — ICCD (control-pipe) answers from hostile bytes: the
 * pure parsers (version A status byte, version B DATA_BLOCK/SLOT_STATUS),
 * and a whole reader over the ICCD adapter whose every IN class request
 * is answered with bytes cut from the input (any length, including more
 * than asked: the adapter must refuse it).
 *
 * Input: byte 0 selects the version (bit 0: A / B) and the declared
 * message length; the rest is a list of [len bytes...] answers.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../ccid/ccid_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t left;
};

static int
f_control(void *h, uint8_t rt, uint8_t req, uint16_t v, uint8_t *d,
    size_t len, size_t *got, int *ms)
{
	struct src *s = h;
	size_t n;

	(void)req; (void)v;
	*got = 0;
	if (*ms <= 0)
		return CCID_ERR_TIMEOUT;
	*ms -= 1;
	if (!(rt & 0x80))
		return s->left > 0 && s->p[0] == 0xEE ? CCID_ERR_IO : 0;
	if (s->left < 1)
		return CCID_ERR_IO;
	n = s->p[0];
	s->p++;
	s->left--;
	if (n > s->left)
		n = s->left;
	/* a lying transport may say more than it wrote: only what fits is
	 * copied, the count is passed on */
	memcpy(d, s->p, n < len ? n : len);
	s->p += n;
	s->left -= n;
	*got = n;
	return 0;
}

static void
f_sleep(int ms)
{
	(void)ms;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t sel[] = { 0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0,
	    0x00, 0x00, 0x03, 0x08, 0x00 };
	static const uint8_t put[] = { 0x00, 0x20, 0x00, 0x80, 0x02, 0x31,
	    0x32 };
	struct usb_ccid_desc decl, shown;
	struct ccid_iccd_b b;
	struct ccid_atr atr;
	ccid_io_t low, io;
	ccid_reader_t *r = NULL;
	struct src s;
	uint8_t out[1024];
	void *h = NULL;
	size_t n;
	int ms, st;

	(void)ccid_iccd_a_status(data, size, &st);
	(void)ccid_iccd_b_parse(data, size, size > 0 ? data[0] : 0, &b);
	(void)ccid_iccd_b_parse(data, size, 300, &b);
	if (size < 1)
		return 0;

	memset(&decl, 0, sizeof(decl));
	decl.bVoltageSupport = 1;
	decl.dwProtocols = 2;
	decl.dwFeatures = (data[0] & 2) ? 0x00040840 : 0x00020840;
	decl.dwMaxCCIDMessageLength = (data[0] & 4) ? 261 : 5000;
	memset(&low, 0, sizeof(low));
	low.control = f_control;
	s.p = data + 1;
	s.left = size - 1;
	if (ccid_iccd_io(&low, &s, (data[0] & 1) ? USB_ICCD_A : USB_ICCD_B,
	    &decl, &io, &h, &shown) != 0)
		return 0;
	ccid_iccd_set_sleep(h, f_sleep);
	if (ccid_reader_new(&r, &io, h, &shown) != 0) {
		io.close(h);
		return 0;
	}
	ms = 10000;
	(void)ccid_slot_status(r, 0, &st, &ms);
	ms = 10000;
	(void)ccid_power_on(r, 0, &atr, &ms);
	ms = 10000;
	(void)ccid_transmit(r, 0, sel, sizeof(sel), 0, out, sizeof(out), &n, &ms);
	ms = 10000;
	(void)ccid_transmit(r, 0, put, sizeof(put), 0, out, 300, &n, &ms);
	ms = 10000;
	(void)ccid_connect(r, 0, NULL, &ms);
	ms = 10000;
	(void)ccid_abort(r, 0, &ms);
	ms = 10000;
	(void)ccid_power_off(r, 0, &ms);
	ccid_reader_free(&r);
	return 0;
}
