/* SPDX-License-Identifier: MIT */
/*
 * tests/test_vtoken_reader.c — the emulated reader's pure parts (CCID
 * engine, card side of T=1, profiles) without umockdev: the objects
 * build/vtoken-reader is made of, linked from build/libvtreader.a (they
 * use no GLib).
 * What the reader does through a real libusb is checked by
 * tests/integration/reader_libusb.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../ccid/ccid.h"
#include "../util/util.h"
#include "vtoken/reader.h"

/* ---- collecting frames ---------------------------------------------------- */

#define NFRAMES 64

struct sink {
	uint8_t f[NFRAMES][300];
	size_t len[NFRAMES];
	size_t n;
	size_t total;		/* all frames, kept or not */
	uint8_t notify[8];
	size_t notify_len;
	int unplugged;
};

static void
sink_emit(void *ctx, const uint8_t *frame, size_t len)
{
	struct sink *s = ctx;

	s->total++;
	if (s->n >= NFRAMES)
		return;
	memcpy(s->f[s->n], frame, len < 300 ? len : 300);
	s->len[s->n++] = len;
}

static void
sink_notify(void *ctx, const uint8_t *msg, size_t len)
{
	struct sink *s = ctx;

	memcpy(s->notify, msg, len);
	s->notify_len = len;
}

static void
sink_unplug(void *ctx)
{
	((struct sink *)ctx)->unplugged = 1;
}

static struct rd_dev *
new_dev(const char *profile, struct sink *s)
{
	struct rd_profile p;
	card_backend_t cards[RD_MAX_SLOTS];
	struct rd_hooks hooks = { sink_notify, sink_unplug, NULL, s };
	struct rd_dev *d = NULL;
	char err[256];
	size_t i;

	memset(s, 0, sizeof(*s));
	memset(cards, 0, sizeof(cards));
	assert_int_equal(rd_profile_load(profile, &p, err, sizeof(err)), 0);
	for (i = 0; i <= p.ccid.bMaxSlotIndex; i++)
		assert_int_equal(rd_card_test(&cards[i]), 0);
	assert_int_equal(rd_dev_new(&d, &p, cards, &hooks), 0);
	return d;
}

/* Sends one message; returns the number of frames it caused. */
static size_t
cmd(struct rd_dev *d, struct sink *s, uint8_t type, uint8_t slot,
    uint8_t b7, uint16_t wlevel, const uint8_t *data, size_t n)
{
	uint8_t m[300];

	assert_true(n + 10 <= sizeof(m));
	m[0] = type;
	m[1] = (uint8_t)n;
	m[2] = (uint8_t)(n >> 8);
	m[3] = m[4] = 0;
	m[5] = slot;
	m[6] = 0x42;
	m[7] = b7;
	m[8] = (uint8_t)wlevel;
	m[9] = (uint8_t)(wlevel >> 8);
	if (n > 0)
		memcpy(m + 10, data, n);
	s->n = s->total = 0;
	rd_dev_command(d, m, 10 + n, sink_emit, s);
	return s->total;
}

static uint32_t
flen(const uint8_t *f)
{
	return (uint32_t)f[1] | (uint32_t)f[2] << 8 | (uint32_t)f[3] << 16 |
	    (uint32_t)f[4] << 24;
}

static const uint8_t select_piv[] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0,
    0x00, 0x00, 0x03, 0x08 };

/* ---- CCID ------------------------------------------------------------------ */

static void
test_power_and_select(void **state)
{
	struct sink s;
	struct rd_dev *d = new_dev("yubikey5", &s);

	(void)state;
	/* XfrBlock before power: card present, inactive, ICC_MUTE */
	assert_int_equal(cmd(d, &s, 0x6F, 0, 0, 0, select_piv,
	    sizeof(select_piv)), 1);
	assert_int_equal(s.f[0][7], 0x41);
	assert_int_equal(s.f[0][8], 0xFE);
	assert_int_equal(cmd(d, &s, 0x62, 0, 0, 0, NULL, 0), 1);
	assert_int_equal(s.f[0][0], 0x80);
	assert_int_equal(s.f[0][6], 0x42);		/* bSeq echoed */
	assert_int_equal(s.f[0][7], 0x00);
	assert_int_equal(flen(s.f[0]), s.len[0] - 10);
	assert_int_equal(s.f[0][10], 0x3B);
	assert_int_equal(cmd(d, &s, 0x6F, 0, 0, 0, select_piv,
	    sizeof(select_piv)), 1);
	assert_int_equal(s.f[0][7], 0x00);
	assert_int_equal(s.f[0][s.len[0] - 2], 0x90);
	assert_int_equal(s.f[0][s.len[0] - 1], 0x00);
	rd_dev_free(&d);
	assert_null(d);
}

static void
test_errors(void **state)
{
	struct sink s;
	struct rd_dev *d = new_dev("yubikey5", &s);
	uint8_t m[12] = { 0x65, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0 };

	(void)state;
	/* unknown slot */
	cmd(d, &s, 0x65, 1, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x81);
	assert_int_equal(s.f[0][7], 0x42);
	assert_int_equal(s.f[0][8], 0x05);
	/* dwLength says 5, 2 bytes came */
	s.n = s.total = 0;
	rd_dev_command(d, m, sizeof(m), sink_emit, &s);
	assert_int_equal(s.f[0][8], 0x01);
	assert_int_equal(s.f[0][7] & 0x40, 0x40);
	/* shorter than a header: nothing */
	s.n = s.total = 0;
	rd_dev_command(d, m, 9, sink_emit, &s);
	assert_int_equal(s.total, 0);
	/* Secure, Mechanical, unknown: CMD_NOT_SUPPORTED */
	cmd(d, &s, 0x69, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x80);
	assert_int_equal(s.f[0][7] & 0x40, 0x40);
	assert_int_equal(s.f[0][8], 0x00);
	cmd(d, &s, 0x71, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][8], 0x00);
	cmd(d, &s, 0x99, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x81);
	assert_int_equal(s.f[0][8], 0x00);
	/* bPowerSelect 4 does not exist */
	cmd(d, &s, 0x62, 0, 4, 0, NULL, 0);
	assert_int_equal(s.f[0][8], 0x07);
	/* SetParameters for T=0 on a T=1-only reader */
	cmd(d, &s, 0x61, 0, 0, 0, m, 5);
	assert_int_equal(s.f[0][0], 0x82);
	assert_int_equal(s.f[0][8], 0x07);
	/* Abort without the class request, then with it */
	cmd(d, &s, 0x72, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][8], 0xFF);
	rd_dev_class_abort(d, 0, 0x42);
	cmd(d, &s, 0x72, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][7] & 0x40, 0);
	rd_dev_free(&d);
}

static void
test_short_level_refuses_extended(void **state)
{
	struct sink s;
	struct rd_dev *d = new_dev("short-apdu", &s);
	static const uint8_t ext[] = { 0x00, 0xEE, 0x00, 0x00, 0x00, 0x00,
	    0x01, 0xAA, 0x00, 0x00 };

	(void)state;
	cmd(d, &s, 0x62, 0, 0, 0, NULL, 0);
	cmd(d, &s, 0x6F, 0, 0, 0, ext, sizeof(ext));
	assert_int_equal(s.f[0][7], 0x40);
	assert_int_equal(s.f[0][8], 0x01);
	/* wLevelParameter means nothing here */
	cmd(d, &s, 0x6F, 0, 0, 1, select_piv, sizeof(select_piv));
	assert_int_equal(s.f[0][8], 0x08);
	rd_dev_free(&d);
}

static void
test_extended_chaining(void **state)
{
	struct sink s;
	struct rd_dev *d = new_dev("extended-apdu", &s);
	uint8_t apdu[600], got[700];
	size_t i, off, n = 0;

	(void)state;
	cmd(d, &s, 0x62, 0, 0, 0, NULL, 0);
	/* continuation without a start: bError 8 (wLevelParameter) */
	cmd(d, &s, 0x6F, 0, 0, 2, select_piv, 4);
	assert_int_equal(s.f[0][8], 0x08);
	cmd(d, &s, 0x6F, 0, 0, 0x10, NULL, 0);
	assert_int_equal(s.f[0][8], 0x08);
	/* ECHO of 500 bytes in three parts of <= 261 */
	apdu[0] = 0; apdu[1] = 0xEE; apdu[2] = 0; apdu[3] = 0;
	apdu[4] = 0; apdu[5] = 0x01; apdu[6] = 0xF4;
	for (i = 0; i < 500; i++)
		apdu[7 + i] = (uint8_t)(i * 3);
	apdu[507] = apdu[508] = 0;
	for (off = 0; off < 509; ) {
		size_t part = 509 - off > 261 ? 261 : 509 - off;
		uint16_t lv = off == 0 ? 1 : (off + part < 509 ? 3 : 2);

		cmd(d, &s, 0x6F, 0, 0, lv, apdu + off, part);
		off += part;
		if (off < 509) {
			assert_int_equal(s.len[0], 10);
			assert_int_equal(s.f[0][9], 0x10);
		}
	}
	/* answer: 502 bytes in parts, bChainParameter 1, 3.., 2 */
	for (i = 0; i < 5; i++) {
		uint8_t ch = s.f[0][9];

		assert_true(s.len[0] - 10 <= 261);
		memcpy(got + n, s.f[0] + 10, s.len[0] - 10);
		n += s.len[0] - 10;
		if (ch == 0x02)
			break;
		assert_int_equal(ch, i == 0 ? 0x01 : 0x03);
		cmd(d, &s, 0x6F, 0, 0, 0x10, NULL, 0);
	}
	assert_int_equal(n, 502);
	assert_memory_equal(got, apdu + 7, 500);
	assert_int_equal(got[500], 0x90);
	rd_dev_free(&d);
}

static void
test_injections(void **state)
{
	struct sink s;
	struct rd_dev *d = new_dev("yubikey5", &s);
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(rd_dev_inject(d, "wtx 3", err, sizeof(err)), 0);
	assert_int_equal(cmd(d, &s, 0x65, 0, 0, 0, NULL, 0), 4);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s.f[i][7] & 0xC0, 0x80);
		assert_int_equal(s.f[i][0], 0x81);
	}
	assert_int_equal(s.f[3][7] & 0xC0, 0);
	assert_int_equal(cmd(d, &s, 0x65, 0, 0, 0, NULL, 0), 1);

	assert_int_equal(rd_dev_inject(d, "malform truncated", err,
	    sizeof(err)), 0);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_true(s.len[0] < 10);
	assert_int_equal(rd_dev_inject(d, "malform length", err,
	    sizeof(err)), 0);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_true(flen(s.f[0]) > s.len[0] - 10);
	assert_int_equal(rd_dev_inject(d, "malform length-short", err,
	    sizeof(err)), 0);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_true(flen(s.f[0]) < s.len[0] - 10);
	assert_int_equal(rd_dev_inject(d, "malform seq", err, sizeof(err)),
	    0);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_int_not_equal(s.f[0][6], 0x42);
	assert_int_equal(rd_dev_inject(d, "malform type", err, sizeof(err)),
	    0);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x80);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);		/* whole again */
	assert_int_equal(s.f[0][0], 0x81);
	assert_int_equal(s.f[0][6], 0x42);

	assert_int_equal(rd_dev_inject(d, "remove", err, sizeof(err)), 0);
	assert_int_equal(s.notify_len, 2);
	assert_int_equal(s.notify[0], 0x50);
	assert_int_equal(s.notify[1], 0x02);
	cmd(d, &s, 0x62, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][7], 0x42);
	assert_int_equal(s.f[0][8], 0xFE);
	assert_int_equal(rd_dev_inject(d, "insert 0", err, sizeof(err)), 0);
	assert_int_equal(s.notify[1], 0x03);

	/* bad lines are refused with a message, nothing changes */
	assert_int_equal(rd_dev_inject(d, "wtx -1", err, sizeof(err)), -1);
	assert_int_equal(rd_dev_inject(d, "wtx 999999999", err,
	    sizeof(err)), -1);
	assert_int_equal(rd_dev_inject(d, "malform bogus", err, sizeof(err)),
	    -1);
	assert_int_equal(rd_dev_inject(d, "remove 1", err, sizeof(err)), -1);
	assert_int_equal(rd_dev_inject(d, "swtx 1", err, sizeof(err)), -1);
	assert_int_equal(rd_dev_inject(d, "unplug-at x", err, sizeof(err)),
	    -1);
	assert_true(strlen(err) > 0);

	/* malform-at N: the Nth answer from now, the others whole */
	assert_int_equal(rd_dev_inject(d, "malform-at 0 seq", err,
	    sizeof(err)), -1);
	assert_int_equal(rd_dev_inject(d, "malform-at 2 bogus", err,
	    sizeof(err)), -1);
	assert_int_equal(rd_dev_inject(d, "malform-at 3 type", err,
	    sizeof(err)), 0);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x81);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x81);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x80);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][0], 0x81);
	assert_int_equal(rd_dev_inject(d, "malform-at 1 truncated", err,
	    sizeof(err)), 0);
	cmd(d, &s, 0x65, 0, 0, 0, NULL, 0);
	assert_true(s.len[0] < 10);

	assert_int_equal(rd_dev_inject(d, "unplug-at 2", err, sizeof(err)),
	    0);
	assert_int_equal(cmd(d, &s, 0x65, 0, 0, 0, NULL, 0), 1);
	assert_int_equal(s.unplugged, 0);
	assert_int_equal(cmd(d, &s, 0x65, 0, 0, 0, NULL, 0), 0);
	assert_int_equal(s.unplugged, 1);
	assert_int_equal(rd_dev_unplugged(d), 1);
	rd_dev_free(&d);
}

/* ---- T=1, card side --------------------------------------------------------- */

/* A T=1 block written here, independently of the reader's own encoder:
 * NAD 0, PCB, LEN, INF, LRC (the XOR of all bytes before it). */
static size_t
blk(uint8_t *b, uint8_t pcb, const uint8_t *inf, size_t n)
{
	uint8_t lrc = 0;
	size_t i;

	b[0] = 0;
	b[1] = pcb;
	b[2] = (uint8_t)n;
	if (n > 0)
		memcpy(b + 3, inf, n);
	for (i = 0; i < n + 3; i++)
		lrc ^= b[i];
	b[n + 3] = lrc;
	return n + 4;
}

static void
xchg(struct rd_t1 *t, card_backend_t *c, const uint8_t *in, size_t n,
    uint8_t *out, size_t *outlen)
{
	uint8_t lrc = 0;
	size_t i;

	assert_int_equal(rd_t1_block(t, c, in, n, out, 260, outlen), 0);
	assert_true(*outlen >= 4);
	assert_int_equal(out[2], *outlen - 4);
	for (i = 0; i < *outlen; i++)
		lrc ^= out[i];
	assert_int_equal(lrc, 0);
}

static void
test_t1_card_side(void **state)
{
	struct rd_t1 *t = rd_t1_new(32);
	card_backend_t c;
	uint8_t in[300], out[300], apdu[80], last[300];
	uint8_t ifs = 16;
	size_t n, ol, lastlen, i, got = 0;
	uint8_t rsp[100];

	(void)state;
	assert_non_null(t);
	assert_int_equal(rd_card_test(&c), 0);

	/* bad LRC: R-block, EDC error */
	n = blk(in, 0x00, select_piv, sizeof(select_piv));
	in[n - 1] ^= 1;
	xchg(t, &c, in, n, out, &ol);
	assert_int_equal(out[1], 0x81);
	/* LEN lying about the bytes: EDC error too */
	n = blk(in, 0x00, select_piv, sizeof(select_piv));
	in[2]++;
	xchg(t, &c, in, n, out, &ol);
	assert_int_equal(out[1] & 0xEF, 0x81);

	/* S(IFS request 16) -> S(IFS response 16) */
	xchg(t, &c, in, blk(in, 0xC1, &ifs, 1), out, &ol);
	assert_int_equal(out[1], 0xE1);
	assert_int_equal(out[3], 16);

	/* 40-byte ECHO in two I-blocks (IFSC 32): M bit acked by R(1) */
	apdu[0] = 0; apdu[1] = 0xEE; apdu[2] = 0; apdu[3] = 0; apdu[4] = 40;
	for (i = 0; i < 40; i++)
		apdu[5 + i] = (uint8_t)i;
	apdu[45] = 0;
	xchg(t, &c, in, blk(in, 0x20, apdu, 32), out, &ol);
	assert_int_equal(out[1], 0x90);
	/* a block over IFSC is refused */
	xchg(t, &c, in, blk(in, 0x40, apdu, 33), out, &ol);
	assert_int_equal(out[1] & 0xE3, 0x82);
	xchg(t, &c, in, blk(in, 0x40, apdu + 32, 14), out, &ol);
	/* the answer (42 bytes) in parts of IFSD 16 */
	assert_int_equal(out[1], 0x20);
	assert_int_equal(out[2], 16);
	memcpy(last, out, ol);
	lastlen = ol;
	memcpy(rsp + got, out + 3, out[2]);
	got += out[2];
	/* R with the wrong N(R): the same block again */
	xchg(t, &c, in, blk(in, 0x80, NULL, 0), out, &ol);
	assert_int_equal(ol, lastlen);
	assert_memory_equal(out, last, ol);
	/* R(1): the next parts */
	xchg(t, &c, in, blk(in, 0x90, NULL, 0), out, &ol);
	assert_int_equal(out[1], 0x60);
	memcpy(rsp + got, out + 3, out[2]);
	got += out[2];
	xchg(t, &c, in, blk(in, 0x80, NULL, 0), out, &ol);
	assert_int_equal(out[1], 0x00);			/* last, N(S) 0 */
	memcpy(rsp + got, out + 3, out[2]);
	got += out[2];
	assert_int_equal(got, 42);
	assert_memory_equal(rsp, apdu + 5, 40);
	assert_int_equal(rsp[40], 0x90);

	/* a repeated I-block gets the last answer again */
	memcpy(last, out, ol);
	lastlen = ol;
	xchg(t, &c, in, blk(in, 0x40, apdu + 32, 14), out, &ol);
	assert_int_equal(ol, lastlen);
	assert_memory_equal(out, last, ol);

	/* S(WTX) injected: answered only after S(WTX response) */
	rd_t1_inject_wtx(t, 1);
	xchg(t, &c, in, blk(in, 0x00, select_piv, sizeof(select_piv)), out,
	    &ol);
	assert_int_equal(out[1], 0xC3);
	xchg(t, &c, in, blk(in, 0xE3, out + 3, 1), out, &ol);
	assert_int_equal(out[1] & 0x80, 0);

	/* S(RESYNCH): sequence numbers back to 0, IFSD 32 */
	xchg(t, &c, in, blk(in, 0xC0, NULL, 0), out, &ol);
	assert_int_equal(out[1], 0xE0);
	xchg(t, &c, in, blk(in, 0x00, select_piv, sizeof(select_piv)), out,
	    &ol);
	assert_int_equal(out[1], 0x00);

	/* unknown S-block: R "other error" */
	xchg(t, &c, in, blk(in, 0xC7, NULL, 0), out, &ol);
	assert_int_equal(out[1] & 0xE3, 0x82);

	c.ops->free(c.h);
	rd_t1_free(&t);
	assert_null(t);
}

static void
test_t1_chain_is_bounded(void **state)
{
	struct rd_t1 *t = rd_t1_new(254);
	card_backend_t c;
	uint8_t in[300], out[300], data[254];
	size_t ol, i;
	int ns = 0, refused = 0;

	(void)state;
	assert_int_equal(rd_card_test(&c), 0);
	memset(data, 0xAB, sizeof(data));
	/* a chain that never ends is cut at RD_APDU_MAX */
	for (i = 0; i < RD_APDU_MAX / 254 + 2; i++) {
		xchg(t, &c, in, blk(in, (uint8_t)(ns << 6 | 0x20), data, 254),
		    out, &ol);
		ns ^= 1;
		if ((out[1] & 0xE3) == 0x82) {
			refused = 1;
			break;
		}
	}
	assert_true(refused);
	c.ops->free(c.h);
	rd_t1_free(&t);
}

static void
test_atr_ifsc(void **state)
{
	const uint8_t yk[] = { 0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31,
	    0xFE, 0x15, 0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62,
	    0x69, 0x4B, 0x65, 0x79, 0x40 };
	uint8_t out[40], x = 0;
	size_t n, i;

	(void)state;
	n = rd_atr_set_ifsc(yk, sizeof(yk), 32, out, sizeof(out));
	assert_int_equal(n, 7 + 13);
	assert_int_equal(out[4], 32);				/* TA3 */
	assert_memory_equal(out + 6, yk + 9, 13);		/* historical */
	for (i = 1; i < n; i++)
		x ^= out[i];
	assert_int_equal(x, 0);					/* TCK */
	/* not an ATR, or one that ends inside its interface bytes */
	assert_int_equal(rd_atr_set_ifsc(yk + 1, 5, 32, out, sizeof(out)), 0);
	assert_int_equal(rd_atr_set_ifsc(yk, 5, 32, out, sizeof(out)), 0);
	assert_int_equal(rd_atr_set_ifsc(yk, sizeof(yk), 32, out, 10), 0);
}

/* ---- profiles ----------------------------------------------------------------- */

static void
test_profiles_parse_back(void **state)
{
	static const char *names[] = { "yubikey5", "short-apdu",
	    "extended-apdu", "t1", "two-slot" };
	struct rd_profile p;
	struct usb_ccid_iface ifs[2];
	struct usb_device_desc dd;
	char err[256];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(rd_profile_load(names[i], &p, err,
		    sizeof(err)), 0);
		assert_int_equal(usb_parse_device_desc(p.dev, sizeof(p.dev),
		    &dd), 0);
		assert_int_equal(dd.idVendor, p.vid);
		assert_int_equal(usb_parse_config_desc(p.cfg, p.cfglen, ifs, 2,
		    &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(ifs[0].ccid.dwFeatures, p.ccid.dwFeatures);
		assert_int_equal(ifs[0].ccid.dwMaxCCIDMessageLength,
		    p.ccid.dwMaxCCIDMessageLength);
		assert_int_equal(ifs[0].ep_bulk_in, 0x81);
		assert_int_equal(ifs[0].ep_bulk_out, 0x02);
		assert_int_equal(ifs[0].ep_intr_in, 0x83);
	}
	assert_int_equal(rd_profile_load("nonsense", &p, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "nonsense"));
	assert_int_equal(rd_profile_load("/nonexistent/x.txt", &p, err,
	    sizeof(err)), -1);
}

/* ---- ICCD over the control pipe (reader_iccd.c) -------------------------- */

#define ICCD_DIR "../shared/ccid-readers/"

/* The test card's ATR (reader_card.c: the YubiKey's). */
static const uint8_t test_atr[] = {
	0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73,
	0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79,
	0x40,
};

/* An ICCD dump: no bulk pair, the dump's message length in the
 * descriptor, taken by usb/ as ICCD. */
static void
test_iccd_profiles(void **state)
{
	static const struct { const char *f; int v, intr; } dumps[] = {
		{ ICCD_DIR "GnD_StarSignCardToken350.txt", 2, 1 },
		{ ICCD_DIR "Oberthur-CosmoCard.txt", 2, 0 },
		{ ICCD_DIR "e-gate.txt", 1, 0 },
		{ ICCD_DIR "BIFIT_iBank2key.txt", 1, 0 },
	};
	struct usb_ccid_iface ifs[2];
	struct rd_profile p;
	char err[256];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++) {
		assert_int_equal(rd_profile_load(dumps[i].f, &p, err,
		    sizeof(err)), 0);
		assert_int_equal(p.iccd, dumps[i].v);
		assert_int_equal(usb_parse_config_desc(p.cfg, p.cfglen, ifs, 2,
		    &n), 0);
		assert_int_equal(n, 1);
		assert_true(usb_iface_is_iccd(&ifs[0]));
		assert_int_equal(ifs[0].bInterfaceProtocol, dumps[i].v);
		assert_int_equal(ifs[0].ep_bulk_in, 0);
		assert_int_equal(ifs[0].ep_bulk_out, 0);
		assert_int_equal(ifs[0].ep_intr_in != 0, dumps[i].intr);
		assert_int_equal(ifs[0].ccid.dwMaxCCIDMessageLength,
		    p.desc_maxmsg);
		assert_true(p.ccid.dwMaxCCIDMessageLength >= 271);
	}
	/* ActivCard V2 says protocol 1 but has a bulk pair: bulk CCID */
	assert_int_equal(rd_profile_load(ICCD_DIR "ActivCardV2.txt", &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.iccd, 0);
	assert_int_equal(usb_parse_config_desc(p.cfg, p.cfglen, ifs, 2, &n),
	    0);
	assert_false(usb_iface_is_iccd(&ifs[0]));
}

static int
ictl(struct rd_iccd *x, struct rd_dev *d, uint8_t rt, uint8_t req,
    uint16_t val, const void *in, size_t inlen, uint8_t *out, size_t cap)
{
	return rd_iccd_control(x, d, rt, req, val, in, inlen, out, cap);
}

static void
test_iccd_b_device(void **state)
{
	static const uint8_t fill[] = { 0x00, 0xEF, 0x00, 0x04 };
	struct rd_iccd *x = rd_iccd_new(2);
	struct sink s;
	struct rd_dev *d = new_dev(ICCD_DIR "GnD_StarSignCardToken350.txt",
	    &s);
	uint8_t out[512];

	(void)state;
	assert_non_null(x);
	/* nothing asked yet: status information */
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 300), 3);
	assert_int_equal(out[0], 0x40);
	assert_int_equal(ictl(x, d, 0xA1, 0x81, 0, NULL, 0, out, 300), 3);
	assert_memory_equal(out, "\x40\x01\x00", 3);	/* inactive */
	assert_int_equal(ictl(x, d, 0x21, 0x62, 1, NULL, 0, out, 0), 0);
	/* wLength too small for the ATR: a stall, the ATR stays */
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 2), -EPIPE);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 300),
	    1 + (int)sizeof(test_atr));
	assert_int_equal(out[0], 0x00);
	assert_memory_equal(out + 1, test_atr, sizeof(test_atr));
	/* an APDU, two polls first (`wtx 2`), then its answer */
	assert_int_equal(rd_dev_inject(d, "wtx 2", (char *)out, 64), 0);
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, fill, sizeof(fill), out,
	    0), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 300), 3);
	assert_memory_equal(out, "\x80\x01\x00", 3);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 300), 3);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 300), 7);
	assert_memory_equal(out, "\x00\x00\x01\x02\x03\x90\x00", 7);
	/* a runt APDU: the CCID side refuses it, status information */
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, fill, 2, out, 0), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 300), 3);
	assert_int_equal(out[0], 0x40);
	assert_true(out[1] & 0x40);
	/* unknown requests stall; power off */
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), -EPIPE);
	assert_int_equal(ictl(x, d, 0x21, 0x63, 0, NULL, 0, out, 0), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0x81, 0, NULL, 0, out, 300), 3);
	assert_memory_equal(out, "\x40\x01\x00", 3);
	rd_iccd_free(&x);
	assert_null(x);
	rd_dev_free(&d);
}

static void
test_iccd_a_device(void **state)
{
	/* ECHO with data (T=0 case 3 + data back: 61 xx, GET RESPONSE) */
	static const uint8_t echo[] = { 0x00, 0xEE, 0x00, 0x00, 0x03 };
	static const uint8_t fill[] = { 0x00, 0xEF, 0x00, 0x04, 0x04 };
	static const uint8_t getrsp[] = { 0x00, 0xC0, 0x00, 0x00, 0x03 };
	struct rd_iccd *x = rd_iccd_new(1);
	struct sink s;
	struct rd_dev *d = new_dev(ICCD_DIR "e-gate.txt", &s);
	uint8_t out[512];

	(void)state;
	assert_non_null(x);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(ictl(x, d, 0xA1, 0x62, 0, NULL, 0, out, 64),
	    (int)sizeof(test_atr));
	/* case 2: header, 10, the data, 20, SW1 SW2 */
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, fill, 5, out, 0), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x10);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 4), 4);
	assert_memory_equal(out, "\x00\x01\x02\x03", 4);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x20);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 2), 2);
	assert_memory_equal(out, "\x90\x00", 2);
	/* case 3 whose answer has data: 61 03, then GET RESPONSE */
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, echo, 5, out, 0), 0);
	/* data of the wrong length: a stall */
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, "abcd", 4, out, 0),
	    -EPIPE);
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, "abc", 3, out, 0), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x20);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 2), 2);
	assert_memory_equal(out, "\x61\x03", 2);
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, getrsp, 5, out, 0), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 3), 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(ictl(x, d, 0xA1, 0x6F, 0, NULL, 0, out, 2), 2);
	assert_memory_equal(out, "\x90\x00", 2);
	/* a header that is not 5 bytes; busy answers (`wtx 2`); no card */
	assert_int_equal(ictl(x, d, 0x21, 0x65, 0, fill, 4, out, 0), -EPIPE);
	assert_int_equal(rd_dev_inject(d, "wtx 2", (char *)out, 64), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x40);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x40);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(rd_dev_inject(d, "remove", (char *)out, 64), 0);
	assert_int_equal(ictl(x, d, 0xA1, 0xA0, 0, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 0x80);
	assert_int_equal(ictl(NULL, d, 0xA1, 0xA0, 0, NULL, 0, out, 1),
	    -EPIPE);
	rd_iccd_free(&x);
	rd_dev_free(&d);
}

/* ---- a TPDU reader without automatic PPS (issue 14) ----------------------- */

/* A T=1 I-block carrying data (NAD 0, LRC). */
static size_t
t1_iblock(uint8_t pcb, const uint8_t *inf, size_t n, uint8_t *out)
{
	uint8_t x = 0;
	size_t i;

	out[0] = 0;
	out[1] = pcb;
	out[2] = (uint8_t)n;
	memcpy(out + 3, inf, n);
	for (i = 0; i < 3 + n; i++)
		x ^= out[i];
	out[3 + n] = x;
	return 4 + n;
}

static void
test_strict_pps(void **state)
{
	static const char *paths[] = { "../shared/ccid-readers/SCR3310.txt",
	    "/work/shared/ccid-readers/SCR3310.txt" };
	static const uint8_t t0_first[] = { 0x3B, 0x90, 0x13, 0x80, 0x01,
	    0x02 };
	struct rd_profile p;
	card_backend_t cards[RD_MAX_SLOTS];
	struct rd_hooks hooks;
	struct rd_dev *d = NULL;
	struct sink s;
	uint8_t blk[64];
	char err[256];
	size_t i, bl;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(paths); i++)
		if (access(paths[i], R_OK) == 0)
			break;
	if (i == UTIL_ARRAY_LEN(paths))
		skip();
	memset(&s, 0, sizeof(s));
	memset(cards, 0, sizeof(cards));
	memset(&hooks, 0, sizeof(hooks));
	hooks.ctx = &s;
	assert_int_equal(rd_profile_load(paths[i], &p, err, sizeof(err)), 0);
	assert_true(p.t1_card);
	assert_int_equal(p.ccid.dwFeatures & 0xC0, 0x80);
	memcpy(p.atr, t0_first, sizeof(t0_first));
	p.atrlen = sizeof(t0_first);
	assert_int_equal(rd_card_test(&cards[0]), 0);
	assert_int_equal(rd_dev_new(&d, &p, cards, &hooks), 0);
	/* power on at 5 V: the ATR verbatim; the card is in T=0 */
	assert_int_equal(cmd(d, &s, 0x62, 0, 1, 0, NULL, 0), 1);
	assert_int_equal(s.len[0], 10 + sizeof(t0_first));
	assert_memory_equal(s.f[0] + 10, t0_first, sizeof(t0_first));
	cmd(d, &s, 0x6C, 0, 0, 0, NULL, 0);
	assert_int_equal(s.f[0][9], 0);			/* bProtocolNum */
	/* a T=1 block to the T=0 card: no T=1 block comes back */
	bl = t1_iblock(0x00, select_piv, sizeof(select_piv), blk);
	assert_int_equal(cmd(d, &s, 0x6F, 0, 0, 0, blk, bl), 1);
	assert_int_equal(s.f[0][7], 0x00);
	assert_int_equal(s.len[0], 12);			/* 2 bytes: garbage */
	/* a rate the reader cannot run (F 512, D 64 at 4 MHz) */
	cmd(d, &s, 0x61, 0, 1, 0, (const uint8_t *)"\x97\x10\x00\x45\x00"
	    "\x20\x00", 7);
	assert_int_equal(s.f[0][7], 0x40);
	assert_int_equal(s.f[0][8], 10);
	/* SetParameters T=1 (0x80: the reader makes the PPS) */
	cmd(d, &s, 0x61, 0, 1, 0, (const uint8_t *)"\x13\x10\x00\x45\x00"
	    "\x20\x00", 7);
	assert_int_equal(s.f[0][7], 0x00);
	assert_int_equal(cmd(d, &s, 0x6F, 0, 0, 0, blk, bl), 1);
	assert_int_equal(s.f[0][10], 0x00);		/* NAD */
	assert_int_equal(s.f[0][11], 0x00);		/* I(0) */
	/* t1-trailing: 3 bytes after the next I-block, I(1) */
	assert_int_equal(rd_dev_inject(d, "t1-trailing", err, sizeof(err)),
	    0);
	bl = t1_iblock(0x40, select_piv, sizeof(select_piv), blk);
	cmd(d, &s, 0x6F, 0, 0, 0, blk, bl);
	assert_int_equal(s.len[0], 10 + 3 + s.f[0][12] + 1 + 3);
	/* after a reset the card is in T=0 again; our PPS switches it */
	cmd(d, &s, 0x62, 0, 1, 0, NULL, 0);
	assert_int_equal(cmd(d, &s, 0x6F, 0, 0, 0,
	    (const uint8_t *)"\xff\x11\x13\xfd", 4), 1);
	assert_int_equal(s.len[0], 14);
	assert_memory_equal(s.f[0] + 10, "\xff\x11\x13\xfd", 4);
	bl = t1_iblock(0x00, select_piv, sizeof(select_piv), blk);
	cmd(d, &s, 0x6F, 0, 0, 0, blk, bl);
	assert_int_equal(s.f[0][11], 0x00);		/* I(0) */
	/* a PPS for a protocol the ATR does not offer: mute */
	cmd(d, &s, 0x62, 0, 1, 0, NULL, 0);
	cmd(d, &s, 0x6F, 0, 0, 0, (const uint8_t *)"\xff\x12\xed", 3);
	assert_int_equal(s.f[0][8], 0xFE);
	/* zlp 2 and statusfail 1 */
	assert_int_equal(rd_dev_inject(d, "zlp 2", err, sizeof(err)), 0);
	assert_int_equal(rd_dev_inject(d, "statusfail 1", err, sizeof(err)),
	    0);
	assert_int_equal(cmd(d, &s, 0x65, 0, 0, 0, NULL, 0), 3);
	assert_int_equal(s.len[0], 0);
	assert_int_equal(s.len[1], 0);
	assert_int_equal(s.f[2][7] & 0xC0, 0x40);
	assert_int_equal(s.f[2][8], 0xFB);
	assert_int_equal(cmd(d, &s, 0x65, 0, 0, 0, NULL, 0), 1);
	assert_int_equal(s.f[0][7] & 0xC0, 0);
	assert_int_not_equal(rd_dev_inject(d, "statusfail x", err,
	    sizeof(err)), 0);
	rd_dev_free(&d);
}

/* The emulator reads ATRs on its own (rd_atr_protocols); the product's
 * parser must agree with it wherever both take the ATR. */
static void
test_atr_protocols(void **state)
{
	static const struct {
		const char *hex;
		int ok;
		uint32_t protos;
		int first;
	} v[] = {
		/* YubiKey 5: T=1 */
		{ "3BFD1300008131FE158073C021C057597562694B657940", 1, 0x2, 1 },
		{ "3B9013800102", 1, 0x3, 0 },		/* T=0, then T=1 */
		{ "3B00", 1, 0x1, 0 },			/* no TD1: T=0 */
		{ "3B8180018080", 1, 0x3, 0 },		/* T=0 from TD1 */
		{ "3B8F8001", 0, 0, 0 },		/* historical cut */
		{ "3B90", 0, 0, 0 },			/* TD1 missing */
		{ "3BF0", 0, 0, 0 },			/* TA1..TD1 missing */
		{ "3B", 0, 0, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(v); i++) {
		uint8_t atr[40];
		size_t n = 0;
		uint32_t protos = 99;
		int first = 99;
		struct ccid_atr a;
		int rc;

		assert_int_equal(util_unhex(v[i].hex, atr, sizeof(atr), &n), 0);
		rc = rd_atr_protocols(atr, n, &protos, &first);
		if (!v[i].ok) {
			assert_int_equal(rc, -1);
			assert_int_not_equal(ccid_atr_parse(atr, n, &a), 0);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(protos, v[i].protos);
		assert_int_equal(first, v[i].first);
		assert_int_equal(ccid_atr_parse(atr, n, &a), 0);
		assert_int_equal(a.protocols, protos);
		assert_int_equal(a.first_protocol, first);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_and_select),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_short_level_refuses_extended),
		cmocka_unit_test(test_extended_chaining),
		cmocka_unit_test(test_injections),
		cmocka_unit_test(test_t1_card_side),
		cmocka_unit_test(test_t1_chain_is_bounded),
		cmocka_unit_test(test_atr_ifsc),
		cmocka_unit_test(test_profiles_parse_back),
		cmocka_unit_test(test_iccd_profiles),
		cmocka_unit_test(test_iccd_b_device),
		cmocka_unit_test(test_iccd_a_device),
		cmocka_unit_test(test_strict_pps),
		cmocka_unit_test(test_atr_protocols),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
