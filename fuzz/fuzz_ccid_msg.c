/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_ccid_msg.c — RDR_to_PC frames from hostile bytes: the pure
 * parser, the NotifySlotChange parser, and a whole reader whose bulk-in
 * answers (bSeq/bSlot included) are cut from the input.
 *
 * Input: byte 0 selects the reader level, byte 1 the voltage/feature
 * mix; the rest is a list of [len_hi len_lo bytes...] frames.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../ccid/ccid_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t left;
	uint8_t last_seq;
};

static int
f_write(void *h, const uint8_t *buf, size_t len, int *ms)
{
	struct src *s = h;

	(void)ms;
	if (len >= 10)
		s->last_seq = buf[6];
	return 0;
}

static int
f_read(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	struct src *s = h;
	size_t n;

	(void)ms;
	*got = 0;
	if (s->left < 2)
		return CCID_ERR_TIMEOUT;
	n = (size_t)s->p[0] << 8 | s->p[1];
	s->p += 2;
	s->left -= 2;
	if (n > s->left)
		n = s->left;
	if (n > cap)
		return CCID_ERR_PROTO;
	memcpy(buf, s->p, n);
	/* often give the right bSeq so that deeper paths are reached */
	if (n >= 10 && (buf[6] & 0x80))
		buf[6] = s->last_seq;
	s->p += n;
	s->left -= n;
	*got = n;
	return 0;
}

static int
f_intr(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	return f_read(h, buf, cap, got, ms);
}

static int
f_control(void *h, uint8_t t, uint8_t r, uint16_t v, uint8_t *d, size_t l,
    size_t *got, int *ms)
{
	(void)h; (void)t; (void)r; (void)v; (void)d; (void)l; (void)ms;
	*got = 0;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t levels[] = { USB_CCID_FEAT_LEVEL_EXT_APDU,
	    USB_CCID_FEAT_LEVEL_SHORT_APDU, USB_CCID_FEAT_LEVEL_TPDU,
	    USB_CCID_FEAT_LEVEL_CHAR };
	static const uint8_t sel[] = { 0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0,
	    0x00, 0x00, 0x03, 0x08, 0x00 };
	ccid_io_t io = { .write = f_write, .read = f_read, .read_intr = f_intr,
	    .control = f_control };
	struct usb_ccid_desc desc;
	struct ccid_msg m;
	struct ccid_atr atr;
	ccid_reader_t *r = NULL;
	struct src s;
	uint8_t out[1024], big[600];
	uint32_t ch, pr;
	size_t n;
	int ms, st;

	/* the pure parsers on the whole input */
	(void)ccid_msg_parse(data, size, size > 0 ? data[0] * 4u : 0, &m);
	(void)ccid_msg_parse(data, size, 65536, &m);
	if (size > 0)
		(void)ccid_notify_parse(data, size, (data[0] & 31) + 1, &ch,
		    &pr);
	if (size < 2)
		return 0;

	memset(&desc, 0, sizeof(desc));
	desc.bMaxSlotIndex = data[1] & 0x01;
	desc.bVoltageSupport = (data[1] >> 1) & 0x07;
	desc.dwProtocols = (data[1] & 0x10) ? 0x1 : 0x3;
	desc.dwMaxIFSD = 254;
	desc.dwFeatures = levels[data[0] & 3] |
	    ((data[1] & 0x20) ? (USB_CCID_FEAT_AUTO_CONF_ATR |
	    USB_CCID_FEAT_AUTO_VOLTAGE | USB_CCID_FEAT_AUTO_PPS_PROP) : 0) |
	    ((data[1] & 0x40) ? USB_CCID_FEAT_AUTO_IFSD : 0);
	desc.dwMaxCCIDMessageLength = (data[0] & 4) ? 271 : 1034;
	s.p = data + 2;
	s.left = size - 2;
	s.last_seq = 0;
	if (ccid_reader_new(&r, &io, &s, &desc) != 0)
		return 0;
	ms = 10000;
	(void)ccid_power_on(r, 0, &atr, &ms);
	ms = 10000;
	(void)ccid_transmit(r, 0, sel, sizeof(sel), 0, out, sizeof(out), &n, &ms);
	memset(big, 0x5a, sizeof(big));
	memcpy(big, "\x00\xdb\x3f\xff\x00\x02\x51", 7);
	ms = 10000;
	(void)ccid_transmit(r, 0, big, sizeof(big), 0, out, 300, &n, &ms);
	ms = 10000;
	(void)ccid_slot_status(r, 0, &st, &ms);
	ms = 10000;
	(void)ccid_escape(r, 0, sel, 4, out, sizeof(out), &n, &ms);
	ms = 10000;
	(void)ccid_wait_slot_change(r, &ch, &ms);
	ms = 10000;
	(void)ccid_abort(r, 0, &ms);
	ms = 10000;
	(void)ccid_power_off(r, 0, &ms);
	ccid_reader_free(&r);
	return 0;
}
