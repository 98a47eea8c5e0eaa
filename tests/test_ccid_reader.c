/* SPDX-License-Identifier: MIT */
/* tests/test_ccid_reader.c — the reader over a scripted I/O-table double:
 * every command it sends, bStatus/bError handling, bSeq/bSlot checks,
 * malformed frames, time extensions, Abort, wLevelParameter chaining, TPDU
 * T=1 and T=0, voltage selection, slot changes, generations, and the
 * debug trace redacting secrets.  The whole binary runs with
 * USBPIV_DEBUG=2 into a temporary file, so every trace path runs too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../ccid/ccid_int.h"
#include "../util/util.h"

/* ---- the double -------------------------------------------------------- */

struct frame {
	uint8_t *b;
	size_t n;
	int rc;		/* returned instead of bytes when non-zero */
	int autoseq;	/* bSlot/bSeq copied from the last command */
};

struct dbl {
	struct frame *in;
	size_t nin, next;
	struct frame *intr;
	size_t nintr, next_intr;
	struct frame out[4096];
	size_t nout;
	struct { uint8_t type, req; uint16_t val; } ctl[64];
	size_t nctl;
	uint64_t gen;
	int begins, ends;
	int read_ms[64];	/* the budget each bulk read was given */
	size_t nreads;
	uint8_t ctl_in[256];	/* what an IN class request answers */
	size_t nctl_in;
	int ctl_rc;		/* and its result */
};

static void
push(struct frame **v, size_t *n, const uint8_t *b, size_t len, int rc,
    int autoseq)
{
	struct frame *f;

	*v = realloc(*v, (*n + 1) * sizeof(**v));
	assert_non_null(*v);
	f = &(*v)[(*n)++];
	memset(f, 0, sizeof(*f));
	if (len > 0) {
		f->b = malloc(len);
		assert_non_null(f->b);
		memcpy(f->b, b, len);
	}
	f->n = len;
	f->rc = rc;
	f->autoseq = autoseq;
}

static int
d_write(void *h, const uint8_t *buf, size_t len, int *ms)
{
	struct dbl *d = h;

	(void)ms;
	assert_true(d->nout < UTIL_ARRAY_LEN(d->out));
	d->out[d->nout].b = malloc(len);
	assert_non_null(d->out[d->nout].b);
	memcpy(d->out[d->nout].b, buf, len);
	d->out[d->nout].n = len;
	d->nout++;
	return 0;
}

static int
d_read(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	struct dbl *d = h;
	struct frame *f;

	if (d->nreads < UTIL_ARRAY_LEN(d->read_ms))
		d->read_ms[d->nreads++] = *ms;
	*got = 0;
	if (d->next >= d->nin)
		return CCID_ERR_TIMEOUT;	/* the reader says nothing */
	f = &d->in[d->next++];
	if (f->rc != 0)
		return f->rc;
	if (f->n > cap)
		return CCID_ERR_PROTO;		/* as usb/ OVERFLOW */
	if (f->n > 0)			/* a zero-length packet has no bytes */
		memcpy(buf, f->b, f->n);
	if (f->autoseq && f->n >= 10 && d->nout > 0) {
		buf[5] = d->out[d->nout - 1].b[5];
		buf[6] = d->out[d->nout - 1].b[6];
	}
	*got = f->n;
	return 0;
}

static int
d_read_intr(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	struct dbl *d = h;
	struct frame *f;

	(void)ms;
	*got = 0;
	if (d->next_intr >= d->nintr)
		return CCID_ERR_TIMEOUT;
	f = &d->intr[d->next_intr++];
	if (f->n > cap)
		return CCID_ERR_PROTO;
	memcpy(buf, f->b, f->n);
	*got = f->n;
	return 0;
}

static int
d_control(void *h, uint8_t type, uint8_t req, uint16_t val, uint8_t *data,
    size_t len, size_t *got, int *ms)
{
	struct dbl *d = h;

	(void)ms;
	*got = 0;
	assert_true(d->nctl < UTIL_ARRAY_LEN(d->ctl));
	d->ctl[d->nctl].type = type;
	d->ctl[d->nctl].req = req;
	d->ctl[d->nctl].val = val;
	d->nctl++;
	if (type & 0x80) {
		if (d->ctl_rc != 0)
			return d->ctl_rc;
		*got = d->nctl_in < len ? d->nctl_in : len;
		memcpy(data, d->ctl_in, *got);
	}
	return 0;
}

static int
d_begin(void *h, int *ms)
{
	(void)ms;
	((struct dbl *)h)->begins++;
	return 0;
}

static int
d_end(void *h)
{
	((struct dbl *)h)->ends++;
	return 0;
}

static uint64_t
d_gen(void *h)
{
	return ((struct dbl *)h)->gen;
}

static const ccid_io_t dio = {
	.write = d_write, .read = d_read, .read_intr = d_read_intr,
	.control = d_control, .begin = d_begin, .end = d_end,
	.generation = d_gen,
};

/* Forgets the frames sent so far. */
static void
reset_out(struct dbl *d)
{
	size_t i;

	for (i = 0; i < d->nout; i++)
		free(d->out[i].b);
	d->nout = 0;
}

static void
dbl_free(struct dbl *d)
{
	size_t i;

	for (i = 0; i < d->nin; i++)
		free(d->in[i].b);
	for (i = 0; i < d->nintr; i++)
		free(d->intr[i].b);
	for (i = 0; i < d->nout; i++)
		free(d->out[i].b);
	free(d->in);
	free(d->intr);
	free(d);
}

/* Queues an RDR_to_PC answer carrying the next command's bSlot/bSeq. */
static void
q(struct dbl *d, uint8_t type, uint8_t status, uint8_t err, uint8_t spec,
    const void *data, size_t n)
{
	uint8_t f[CCID_MSG_CEILING];
	size_t len;

	assert_int_equal(ccid_msg_build(type, 0, 0, status, err, spec, data, n,
	    f, sizeof(f), &len), 0);
	push(&d->in, &d->nin, f, len, 0, 1);
}

static void
qraw(struct dbl *d, const void *b, size_t n)
{
	push(&d->in, &d->nin, b, n, 0, 0);
}

static void
qrc(struct dbl *d, int rc)
{
	push(&d->in, &d->nin, NULL, 0, rc, 0);
}

static void
qintr(struct dbl *d, const void *b, size_t n)
{
	push(&d->intr, &d->nintr, b, n, 0, 0);
}

/* A T=1 block from the card inside an RDR_to_PC_DataBlock. */
static void
qt1(struct dbl *d, uint8_t pcb, const void *inf, size_t n)
{
	uint8_t b[CCID_T1_MAX_BLOCK];
	size_t len;

	assert_int_equal(ccid_t1_encode(0, pcb, inf, n, 0, b, sizeof(b),
	    &len), 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, b, len);
}

static const uint8_t yk_atr[] = { 0x3b, 0xfd, 0x13, 0x00, 0x00, 0x81, 0x31,
    0xfe, 0x15, 0x80, 0x73, 0xc0, 0x21, 0xc0, 0x57, 0x59, 0x75, 0x62, 0x69,
    0x4b, 0x65, 0x79, 0x40 };
static const uint8_t t0_atr[] = { 0x3b, 0x65, 0x00, 0x00, 0x9c, 0x11, 0x01,
    0x01, 0x03 };

static struct usb_ccid_desc
desc(uint32_t features)
{
	struct usb_ccid_desc c;

	memset(&c, 0, sizeof(c));
	c.bcdCCID = 0x0110;
	c.bVoltageSupport = 0x07;
	c.dwProtocols = 0x03;
	c.dwMaxIFSD = 254;
	c.dwFeatures = features;
	c.dwMaxCCIDMessageLength = 271;
	return c;
}

#define FEAT_AUTO (USB_CCID_FEAT_AUTO_CONF_ATR | USB_CCID_FEAT_AUTO_VOLTAGE | \
	USB_CCID_FEAT_AUTO_CLOCK | USB_CCID_FEAT_AUTO_BAUD | \
	USB_CCID_FEAT_AUTO_PPS_PROP)

static ccid_reader_t *
rd_new_desc(struct dbl **dp, const struct usb_ccid_desc *c)
{
	ccid_reader_t *r = NULL;

	*dp = calloc(1, sizeof(**dp));
	assert_non_null(*dp);
	assert_int_equal(ccid_reader_new(&r, &dio, *dp, c), 0);
	return r;
}

static ccid_reader_t *
rd_new(struct dbl **dp, uint32_t features)
{
	struct usb_ccid_desc c = desc(features);
	ccid_reader_t *r = NULL;

	*dp = calloc(1, sizeof(**dp));
	assert_non_null(*dp);
	assert_int_equal(ccid_reader_new(&r, &dio, *dp, &c), 0);
	return r;
}

/* An extended-APDU reader with the card powered (YubiKey-like). */
static ccid_reader_t *
rd_powered(struct dbl **dp, uint32_t level)
{
	ccid_reader_t *r = rd_new(dp, FEAT_AUTO | level);
	int ms = 1000;

	q(*dp, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	reset_out(*dp);
	return r;
}

static void
rd_free(ccid_reader_t **r, struct dbl *d)
{
	ccid_reader_free(r);
	assert_null(*r);
	dbl_free(d);
}

/* The i-th frame we sent, as hex header fields. */
static void
sent_hdr(struct dbl *d, size_t i, uint8_t type, uint8_t slot, uint8_t p1,
    uint8_t p2, uint8_t p3, size_t dlen)
{
	const uint8_t *b;

	assert_true(i < d->nout);
	b = d->out[i].b;
	assert_int_equal(d->out[i].n, 10 + dlen);
	assert_int_equal(b[0], type);
	assert_int_equal((uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 24,
	    dlen);
	assert_int_equal(b[5], slot);
	assert_int_equal(b[7], p1);
	assert_int_equal(b[8], p2);
	assert_int_equal(b[9], p3);
}

static const uint8_t sel[] = { 0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00,
    0x00, 0x03, 0x08 };

/* ---- tests -------------------------------------------------------------- */

static void
test_new_args(void **state)
{
	struct usb_ccid_desc c = desc(FEAT_AUTO);
	struct dbl *d = calloc(1, sizeof(*d));
	ccid_io_t bad = dio;
	ccid_reader_t *r = (ccid_reader_t *)&c;

	(void)state;
	bad.read = NULL;
	assert_int_equal(ccid_reader_new(&r, &bad, NULL, &c), CCID_ERR_ARG);
	assert_null(r);
	c.bMaxSlotIndex = 32;
	assert_int_equal(ccid_reader_new(&r, &dio, d, &c),
	    CCID_ERR_UNSUPPORTED);
	assert_null(r);
	c.bMaxSlotIndex = 1;
	assert_int_equal(ccid_reader_new(&r, &dio, d, &c), 0);
	assert_int_equal(ccid_slot_count(r), 2);
	assert_int_equal(ccid_reader_desc(r)->bMaxSlotIndex, 1);
	ccid_reader_free(&r);
	ccid_reader_free(&r);	/* NULL ok */
	dbl_free(d);
}

static void
test_power_on_auto(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_EXT_APDU);
	struct ccid_atr a;
	uint64_t g0 = ccid_generation(r, 0);
	int ms = 1000;

	(void)state;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), 0);
	sent_hdr(d, 0, CCID_PC_ICC_POWER_ON, 0, 0x00, 0, 0, 0);
	assert_int_equal(d->nout, 1);	/* no SetParameters: automatic */
	assert_int_equal(a.len, sizeof(yk_atr));
	assert_memory_equal(a.raw, yk_atr, sizeof(yk_atr));
	assert_true(ccid_generation(r, 0) > g0);
	/* power off bumps it again */
	g0 = ccid_generation(r, 0);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	assert_int_equal(ccid_power_off(r, 0, &ms), 0);
	sent_hdr(d, 1, CCID_PC_ICC_POWER_OFF, 0, 0, 0, 0, 0);
	assert_true(ccid_generation(r, 0) > g0);
	rd_free(&r, d);
}

static void
test_power_on_voltage_order(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, USB_CCID_FEAT_LEVEL_SHORT_APDU);
	int ms = 1000;

	(void)state;
	/* 5 V refused for the class, 3 V works; T=0 card, no automatic
	 * parameters: SetParameters T=0 follows */
	q(d, CCID_RDR_DATA_BLOCK, 0x41, CCID_BERR_ICC_CLASS_NOT_SUPPORTED, 0,
	    NULL, 0);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0_atr, sizeof(t0_atr));
	q(d, CCID_RDR_PARAMETERS, 0, 0, 0, "\x11\x00\x00\x0a\x00", 5);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	sent_hdr(d, 0, CCID_PC_ICC_POWER_ON, 0, 0x01, 0, 0, 0);
	sent_hdr(d, 1, CCID_PC_ICC_POWER_OFF, 0, 0, 0, 0, 0);
	sent_hdr(d, 2, CCID_PC_ICC_POWER_ON, 0, 0x02, 0, 0, 0);
	sent_hdr(d, 3, CCID_PC_SET_PARAMETERS, 0, 0x00, 0, 0, 5);
	assert_memory_equal(d->out[3].b + 10, "\x11\x00\x00\x0a\x00", 5);
	/* only 1.8 V, and refused too: ICC_CLASS */
	rd_free(&r, d);
	{
		struct usb_ccid_desc c = desc(USB_CCID_FEAT_LEVEL_SHORT_APDU);

		c.bVoltageSupport = 0x04;
		r = rd_new_desc(&d, &c);
	}
	q(d, CCID_RDR_DATA_BLOCK, 0x41, CCID_BERR_ICC_CLASS_NOT_SUPPORTED, 0,
	    NULL, 0);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), CCID_ERR_ICC_CLASS);
	sent_hdr(d, 0, CCID_PC_ICC_POWER_ON, 0, 0x03, 0, 0, 0);
	/* no card */
	q(d, CCID_RDR_DATA_BLOCK, 0x42, CCID_BERR_ICC_MUTE, 0, NULL, 0);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), CCID_ERR_NO_CARD);
	/* a garbage ATR: BAD_ATR, and the card is powered off again */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x3a\x00", 2);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), CCID_ERR_BAD_ATR);
	assert_int_equal(d->out[d->nout - 1].b[0], CCID_PC_ICC_POWER_OFF);
	rd_free(&r, d);
}

static void
test_char_level_refused(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_CHAR);
	uint8_t out[64];
	size_t n = 7;
	int ms = 1000;

	(void)state;
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), CCID_ERR_UNSUPPORTED);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_UNSUPPORTED);
	assert_int_equal(n, 0);
	assert_int_equal(d->nout, 0);
	assert_false(ccid_extended_ok(r));
	rd_free(&r, d);
}

static void
test_slot_status(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint64_t g;
	int ms = 1000, st = -1;

	(void)state;
	q(d, CCID_RDR_SLOT_STATUS, 0x00, 0, 0, NULL, 0);
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_ACTIVE);
	sent_hdr(d, 0, CCID_PC_GET_SLOT_STATUS, 0, 0, 0, 0, 0);
	g = ccid_generation(r, 0);
	/* failed with ICC_MUTE: still an answer about the slot */
	q(d, CCID_RDR_SLOT_STATUS, 0x42, CCID_BERR_ICC_MUTE, 0, NULL, 0);
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_ABSENT);
	assert_true(ccid_generation(r, 0) > g);	/* card gone */
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_INACTIVE);
	q(d, CCID_RDR_SLOT_STATUS, 0x03, 0, 0, NULL, 0);	/* RFU */
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), CCID_ERR_PROTO);
	q(d, CCID_RDR_SLOT_STATUS, 0x40, CCID_BERR_HW_ERROR, 0, NULL, 0);
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), CCID_ERR_HW);
	assert_int_equal(ccid_slot_status(r, 1, &st, &ms), CCID_ERR_ARG);
	rd_free(&r, d);
}

static void
test_every_berror(void **state)
{
	static const struct { uint8_t st, e; int want; } t[] = {
		{ 0x40, 0xff, CCID_ERR_ABORTED },
		{ 0x40, 0xfe, CCID_ERR_CARD_MUTE },
		/* powered when sent, unpowered now: reset or replaced */
		{ 0x41, 0xfe, CCID_ERR_CARD_CHANGED },
		{ 0x42, 0xfe, CCID_ERR_NO_CARD },
		{ 0x40, 0xfd, CCID_ERR_HW },
		{ 0x40, 0xfc, CCID_ERR_HW },
		{ 0x40, 0xfb, CCID_ERR_HW },
		{ 0x40, 0xf8, CCID_ERR_BAD_ATR },
		{ 0x40, 0xf7, CCID_ERR_BAD_ATR },
		{ 0x40, 0xf6, CCID_ERR_ICC_PROTOCOL },
		{ 0x40, 0xf5, CCID_ERR_ICC_CLASS },
		{ 0x40, 0xf4, CCID_ERR_PROCEDURE_BYTE },
		{ 0x40, 0xf3, CCID_ERR_DEACTIVATED },
		{ 0x40, 0xf2, CCID_ERR_AUTO_SEQUENCE },
		{ 0x40, 0xf0, CCID_ERR_PIN_TIMEOUT },
		{ 0x40, 0xef, CCID_ERR_PIN_CANCELLED },
		{ 0x40, 0xe0, CCID_ERR_SLOT_BUSY },
		{ 0x40, 0x00, CCID_ERR_CMD_UNSUPPORTED },
		{ 0x40, 0x08, CCID_ERR_BAD_PARAM },
		{ 0xc0, 0x00, CCID_ERR_PROTO },	/* bmCommandStatus 3: RFU */
	};
	struct dbl *d;
	ccid_reader_t *r;
	uint8_t out[64], st, er;
	size_t i, n;
	int ms;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(t); i++) {
		r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
		q(d, CCID_RDR_DATA_BLOCK, t[i].st, t[i].e, 0, NULL, 0);
		ms = 1000;
		n = 99;
		assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
		    sizeof(out), &n, &ms), t[i].want);
		assert_int_equal(n, 0);
		ccid_last_status(r, &st, &er);
		assert_int_equal(st, t[i].st);
		assert_int_equal(er, t[i].e);
		rd_free(&r, d);
	}
}

static void
test_seq_slot_mismatch(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64], f[12] = { 0x80, 2, 0, 0, 0, 0, 0xee, 0, 0, 0, 0x90,
	    0 };
	size_t n, i;
	int ms = 1000;

	(void)state;
	/* a stale frame (other bSeq), one for another slot, then ours */
	qraw(d, f, sizeof(f));
	f[5] = 1;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	d->in[d->nin - 1].autoseq = 1;
	qraw(d, f, sizeof(f));
	/* reorder: stale, wrong slot, good */
	{
		struct frame tmp = d->in[d->nin - 1];

		d->in[d->nin - 1] = d->in[d->nin - 2];
		d->in[d->nin - 2] = tmp;
	}
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d->next, d->nin);
	/* more foreign frames than CCID_MAX_STALE: PROTO, not a hang */
	f[5] = 0;
	for (i = 0; i < CCID_MAX_STALE + 5; i++)
		qraw(d, f, sizeof(f));
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	assert_int_equal(n, 0);
	/* right seq, wrong message type */
	q(d, CCID_RDR_SLOT_STATUS, 0, 0, 0, NULL, 0);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	rd_free(&r, d);
}

/*
 * A frame with a foreign bSeq, then nothing (the emulator's "malform seq"):
 * the answer to ours is not waited for during the caller's whole budget
 * (120 s in the CLI), only CCID_STALE_MS; PROTO, then the Abort sequence.
 * A time extension for ours after the foreign frame lifts that bound.
 */
static void
test_stale_then_silence(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64], f[12] = { 0x80, 2, 0, 0, 0, 0, 0xee, 0, 0, 0, 0x90,
	    0 };
	size_t n, k;
	int ms = 120000;

	(void)state;
	reset_out(d);
	d->nreads = 0;
	qraw(d, f, sizeof(f));
	qrc(d, CCID_ERR_TIMEOUT);
	q(d, CCID_RDR_SLOT_STATUS, 0, 0, 0, NULL, 0);	/* Abort's answer */
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	assert_int_equal(n, 0);
	assert_true(d->nreads >= 2);
	assert_int_equal(d->read_ms[0], 120000);
	assert_true(d->read_ms[1] <= CCID_STALE_MS);
	assert_int_equal(d->nctl, 1);		/* aborted */
	assert_true(ms > 120000 - 1000);	/* only the time spent */
	/* foreign frame, a time extension for ours: the budget is back */
	d->nreads = 0;
	k = d->nin;
	qraw(d, f, sizeof(f));
	q(d, CCID_RDR_DATA_BLOCK, 0x80, 0x01, 0, NULL, 0);
	d->in[d->nin - 1].autoseq = 1;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	d->in[d->nin - 1].autoseq = 1;
	ms = 120000;
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d->next, k + 3);
	assert_int_equal(d->nreads, 3);
	assert_true(d->read_ms[1] <= CCID_STALE_MS);
	assert_true(d->read_ms[2] > CCID_STALE_MS);
	rd_free(&r, d);
}

static void
test_truncated_oversized(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64], f[300];
	size_t n;
	int ms = 1000;

	(void)state;
	/* dwLength 5 but 2 bytes of data */
	memcpy(f, "\x80\x05\x00\x00\x00\x00\x00\x00\x00\x00\x90\x00", 12);
	qraw(d, f, 12);
	d->in[d->nin - 1].autoseq = 1;
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	assert_int_equal(n, 0);
	/* dwLength 0x00010000, 2 bytes */
	memcpy(f, "\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x90\x00", 12);
	qraw(d, f, 12);
	d->in[d->nin - 1].autoseq = 1;
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	/* header only, 9 bytes */
	qraw(d, f, 9);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	/* response without a status word */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90", 1);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	/* response larger than the caller's buffer */
	memset(f, 0x41, sizeof(f));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, f, 100);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_BUFFER);
	assert_int_equal(n, 0);
	rd_free(&r, d);
}

static void
test_time_extensions(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64], seq;
	size_t n, i;
	int ms = 1000;

	(void)state;
	/* a few, then the answer */
	for (i = 0; i < 3; i++)
		q(d, CCID_RDR_DATA_BLOCK, 0x80, 0x01, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	/* 1000 of them: TIMEOUT, then the Abort sequence */
	reset_out(d);
	for (i = 0; i < 1000; i++)
		q(d, CCID_RDR_DATA_BLOCK, 0x80, 0x01, 0, NULL, 0);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_TIMEOUT);
	assert_int_equal(n, 0);
	assert_true(d->next <= d->nin);
	assert_int_equal(d->nctl, 1);
	assert_int_equal(d->ctl[0].type, 0x21);
	assert_int_equal(d->ctl[0].req, 0x01);
	assert_int_equal(d->nout, 2);
	seq = d->out[1].b[6];
	assert_int_equal(d->ctl[0].val, seq << 8 | 0);
	sent_hdr(d, 1, CCID_PC_ABORT, 0, 0, 0, 0, 0);
	assert_int_not_equal(seq, d->out[0].b[6]);
	/* the budget bounds them too */
	ms = 0;
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_TIMEOUT);
	rd_free(&r, d);
}

static void
test_timeout_abort_resync(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64], old, f[12];
	size_t n;
	int ms = 1000;

	(void)state;
	/* no answer: the reader is aborted */
	qrc(d, CCID_ERR_TIMEOUT);
	q(d, CCID_RDR_SLOT_STATUS, 0, 0, 0, NULL, 0);	/* Abort's answer */
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_TIMEOUT);
	old = d->out[0].b[6];
	assert_int_equal(d->nctl, 1);
	sent_hdr(d, 1, CCID_PC_ABORT, 0, 0, 0, 0, 0);
	assert_int_equal(d->ctl[0].val, d->out[1].b[6] << 8);
	/* the late answer to the old command arrives first: dropped */
	memcpy(f, "\x80\x02\x00\x00\x00\x00\x00\x00\x00\x00\x6a\x82", 12);
	f[6] = old;
	qraw(d, f, 12);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_memory_equal(out, "\x90\x00", 2);
	/* public ccid_abort */
	d->nctl = 0;
	q(d, CCID_RDR_SLOT_STATUS, 0, 0, 0, NULL, 0);
	assert_int_equal(ccid_abort(r, 0, &ms), 0);
	assert_int_equal(d->ctl[0].val, d->out[d->nout - 1].b[6] << 8);
	sent_hdr(d, d->nout - 1, CCID_PC_ABORT, 0, 0, 0, 0, 0);
	rd_free(&r, d);
}

static void
test_ext_chain_command(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t cmd[600], out[64];
	size_t n, i;
	int ms = 1000;

	(void)state;
	/* extended PUT DATA, 593 data bytes: 261 + 261 + 78 */
	cmd[0] = 0x00; cmd[1] = 0xdb; cmd[2] = 0x3f; cmd[3] = 0xff;
	cmd[4] = 0x00; cmd[5] = 0x02; cmd[6] = 0x51;
	for (i = 7; i < sizeof(cmd); i++)
		cmd[i] = (uint8_t)i;
	assert_true(ccid_extended_ok(r));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_EMPTY, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_EMPTY, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	sent_hdr(d, 0, CCID_PC_XFR_BLOCK, 0, 0, 0x01, 0x00, 261);
	sent_hdr(d, 1, CCID_PC_XFR_BLOCK, 0, 0, 0x03, 0x00, 261);
	sent_hdr(d, 2, CCID_PC_XFR_BLOCK, 0, 0, 0x02, 0x00, 78);
	/* the reader must ask for the rest with an empty block */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	rd_free(&r, d);
}

/* libccid's message-length cases: an extended-APDU reader declaring less
 * than 271 (Gnuk: 64) gets chains cut at what it declares; answers a
 * little longer than declared (SCM's 263, which sends 270) are taken. */
static void
test_declared_length(void **state)
{
	struct usb_ccid_desc c = desc(FEAT_AUTO | USB_CCID_FEAT_LEVEL_EXT_APDU);
	struct dbl *d;
	ccid_reader_t *r;
	uint8_t cmd[120], out[300], big[270];
	size_t n, i;
	int ms = 1000;

	(void)state;
	c.dwMaxCCIDMessageLength = 64;
	r = rd_new_desc(&d, &c);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	reset_out(d);
	for (i = 0; i < sizeof(cmd); i++)
		cmd[i] = (uint8_t)i;
	cmd[0] = 0; cmd[4] = (uint8_t)(sizeof(cmd) - 5);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_EMPTY, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_EMPTY, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), 0);
	sent_hdr(d, 0, CCID_PC_XFR_BLOCK, 0, 0, 0x01, 0x00, 54);
	sent_hdr(d, 1, CCID_PC_XFR_BLOCK, 0, 0, 0x03, 0x00, 54);
	sent_hdr(d, 2, CCID_PC_XFR_BLOCK, 0, 0, 0x02, 0x00, 12);
	rd_free(&r, d);

	/* a TPDU reader declaring 263 (SCM): a 260-byte answer is taken */
	c = desc(FEAT_AUTO | USB_CCID_FEAT_LEVEL_SHORT_APDU);
	c.dwMaxCCIDMessageLength = 263;
	r = rd_new_desc(&d, &c);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	memset(big, 0x41, sizeof(big));
	big[256] = 0x90;
	big[257] = 0x00;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, big, 258);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 258);
	/* beyond a short answer and the declaration: still refused */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, big, sizeof(big));
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	rd_free(&r, d);
}

/* A pre-1.0 descriptor with T=0/T=1 in bits 8 and 9 (MySmartPad 0x0300):
 * read as T=0 and T=1, not as "no protocol". */
static void
test_pre10_protocols(void **state)
{
	struct usb_ccid_desc c = desc(FEAT_AUTO | USB_CCID_FEAT_LEVEL_EXT_APDU);
	struct dbl *d;
	ccid_reader_t *r;
	int ms = 1000;

	(void)state;
	c.dwProtocols = 0x0300;
	r = rd_new_desc(&d, &c);
	assert_int_equal(ccid_reader_desc(r)->dwProtocols, 3);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	rd_free(&r, d);
	/* only bits 0/1 set: kept as they are */
	c.dwProtocols = 0x0102;
	r = rd_new_desc(&d, &c);
	assert_int_equal(ccid_reader_desc(r)->dwProtocols, 0x0102);
	rd_free(&r, d);
}

static void
test_ext_chain_response(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t part[261], out[700];
	size_t n;
	int ms = 1000;

	(void)state;
	memset(part, 0x33, sizeof(part));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_BEGIN, part, 261);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_CONTINUE, part, 261);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_END, "\x33\x90\x00", 3);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 525);
	assert_memory_equal(out + 523, "\x90\x00", 2);
	sent_hdr(d, 1, CCID_PC_XFR_BLOCK, 0, 0, 0x10, 0x00, 0);
	sent_hdr(d, 2, CCID_PC_XFR_BLOCK, 0, 0, 0x10, 0x00, 0);
	assert_int_equal(d->nout, 3);
	/* out of order chain parameters */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_CONTINUE, part, 261);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_BEGIN, part, 261);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_BEGIN, part, 261);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	/* an empty continuation would loop forever: refused */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_BEGIN, part, 261);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_CONTINUE, NULL, 0);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	/* larger than the buffer: BUFFER, and the chain is aborted */
	d->nctl = 0;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_BEGIN, part, 261);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_CONTINUE, part, 261);
	q(d, CCID_RDR_SLOT_STATUS, 0, 0, 0, NULL, 0);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out, 300, &n,
	    &ms), CCID_ERR_BUFFER);
	assert_int_equal(n, 0);
	assert_int_equal(d->nctl, 1);
	rd_free(&r, d);
}

static void
test_short_level_refuses_extended(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_SHORT_APDU);
	const uint8_t ext[] = { 0x00, 0xcb, 0x3f, 0xff, 0x00, 0x00, 0x05, 0x5c,
	    0x03, 0x5f, 0xc1, 0x05, 0x00, 0x00 };
	uint8_t out[64];
	size_t n = 5;
	int ms = 1000;

	(void)state;
	assert_false(ccid_extended_ok(r));
	assert_int_equal(ccid_transmit(r, 0, ext, sizeof(ext), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_UNSUPPORTED);
	assert_int_equal(n, 0);
	assert_int_equal(d->nout, 0);
	/* short APDUs pass */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	sent_hdr(d, 0, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, sizeof(sel));
	rd_free(&r, d);
}

/* TPDU reader, no automatic features, YubiKey ATR (T=1, TA1 13, IFSC
 * FE): PPS, SetParameters, IFSD, then T=1 blocks in XfrBlocks. */
static void
test_tpdu_t1(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, USB_CCID_FEAT_LEVEL_TPDU);
	uint8_t out[300], blk[300], big[300];
	size_t n, bl;
	int ms = 1000;

	(void)state;
	assert_true(ccid_extended_ok(r));
	assert_true(ccid_slot_extended_ok(r, 0));
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);	/* present, unpowered */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\xff\x11\x13\xfd", 4);
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x13\x10\x00\x15\x00\xfe\x00", 7);
	qt1(d, 0xe1, "\xfe", 1);		/* S(IFS response) */
	/* the APDU: the card asks for time, then answers */
	qt1(d, 0xc3, "\x04", 1);		/* S(WTX request) x4 */
	qt1(d, 0x00, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	sent_hdr(d, 1, CCID_PC_ICC_POWER_ON, 0, 0x01, 0, 0, 0);
	sent_hdr(d, 2, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 4);
	assert_memory_equal(d->out[2].b + 10, "\xff\x11\x13\xfd", 4);
	sent_hdr(d, 3, CCID_PC_SET_PARAMETERS, 0, 0x01, 0, 0, 7);
	assert_memory_equal(d->out[3].b + 10,
	    "\x13\x10\x00\x15\x00\xfe\x00", 7);
	sent_hdr(d, 4, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 5);
	assert_memory_equal(d->out[4].b + 10, "\x00\xc1\x01\xfe\x3e", 5);
	assert_int_equal(ccid_t1_encode(0, 0x00, sel, sizeof(sel), 0, blk,
	    sizeof(blk), &bl), 0);
	sent_hdr(d, 5, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, bl);
	assert_memory_equal(d->out[5].b + 10, blk, bl);
	/* S(WTX response), with bBWI 4 for that block */
	sent_hdr(d, 6, CCID_PC_XFR_BLOCK, 0, 0x04, 0, 0, 5);
	assert_memory_equal(d->out[6].b + 10, "\x00\xe3\x01\x04\xe6", 5);
	/* an extended APDU becomes a chain of IFSC-sized I-blocks; the
	 * card's reply comes chained back; a block lost on the way (the
	 * reader says ICC_MUTE) is asked again with an R-block */
	memset(big, 0x77, sizeof(big));
	big[0] = 0x00; big[1] = 0xdb; big[2] = 0x3f; big[3] = 0xff;
	big[4] = 0x00; big[5] = 0x01; big[6] = 0x25;
	reset_out(d);
	qt1(d, 0x80, NULL, 0);			/* R(0): next please */
	qt1(d, 0x60, big, 100);			/* I(1, M) */
	q(d, CCID_RDR_DATA_BLOCK, 0x40, CCID_BERR_ICC_MUTE, 0, NULL, 0);
	qt1(d, 0x00, "\x90\x00", 2);		/* I(0) */
	assert_int_equal(ccid_transmit(r, 0, big, 300, 0, out, sizeof(out), &n,
	    &ms), 0);
	assert_int_equal(n, 102);
	assert_int_equal(d->out[0].n, 10 + 3 + 254 + 1);
	assert_int_equal(d->out[0].b[11], 0x60);	/* I(1, M) */
	assert_int_equal(d->out[1].b[11], 0x00);	/* I(0), last 46 */
	assert_int_equal(d->out[1].b[12], 46);
	assert_int_equal(d->out[2].b[11], 0x80);	/* R(0) ack */
	assert_int_equal(d->out[3].b[11], 0x82);	/* R(0), error */
	rd_free(&r, d);
}

/* A card that refuses the PPS is reset and used at its defaults; a
 * reader too slow for TA1 is never asked for it. */
static void
test_tpdu_pps_refused_and_rate(void **state)
{
	struct usb_ccid_desc c = desc(USB_CCID_FEAT_LEVEL_TPDU |
	    USB_CCID_FEAT_AUTO_IFSD | USB_CCID_FEAT_AUTO_VOLTAGE);
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, USB_CCID_FEAT_LEVEL_TPDU |
	    USB_CCID_FEAT_AUTO_IFSD | USB_CCID_FEAT_AUTO_VOLTAGE);
	int ms = 1000;

	(void)state;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\xff\x11\x11\xff", 4); /* no */
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x11\x10\x00\x15\x00\xfe\x00", 7);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	sent_hdr(d, 0, CCID_PC_ICC_POWER_ON, 0, 0, 0, 0, 0);
	sent_hdr(d, 1, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 4);	/* PPS */
	sent_hdr(d, 2, CCID_PC_ICC_POWER_OFF, 0, 0, 0, 0, 0);
	sent_hdr(d, 3, CCID_PC_ICC_POWER_ON, 0, 0, 0, 0, 0);
	sent_hdr(d, 4, CCID_PC_SET_PARAMETERS, 0, 1, 0, 0, 7);
	assert_int_equal(d->out[4].b[10], 0x11);	/* Fd/Dd */
	assert_int_equal(d->nout, 5);
	rd_free(&r, d);
	/* 4 MHz, at most 10752 bit/s: TA1 13 (43010 bit/s) is too fast */
	c.dwDefaultClock = 4000;
	c.dwMaxDataRate = 10752;
	r = rd_new_desc(&d, &c);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x11\x10\x00\x15\x00\xfe\x00", 7);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	sent_hdr(d, 1, CCID_PC_SET_PARAMETERS, 0, 1, 0, 0, 7);
	assert_int_equal(d->out[1].b[10], 0x11);
	assert_int_equal(d->nout, 2);
	rd_free(&r, d);
}

static void
test_tpdu_t0(void **state)
{
	struct usb_ccid_desc c = desc(USB_CCID_FEAT_LEVEL_TPDU |
	    USB_CCID_FEAT_AUTO_CONF_ATR | USB_CCID_FEAT_AUTO_PPS_PROP);
	struct dbl *d;
	ccid_reader_t *r;
	const uint8_t case4[] = { 0x00, 0xa4, 0x04, 0x00, 0x02, 0x3f, 0x00,
	    0x00 };
	const uint8_t case1[] = { 0x00, 0x70, 0x00, 0x00 };
	const uint8_t ext[] = { 0x00, 0xb0, 0x00, 0x00, 0x00, 0x01, 0x00 };
	uint8_t out[300];
	size_t n;
	int ms = 1000;

	(void)state;
	c.dwProtocols = 0x03;	/* T=1 too: the card runs T=0 */
	r = rd_new_desc(&d, &c);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);	/* present, unpowered */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0_atr, sizeof(t0_atr));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x61\x10", 2);
	assert_int_equal(ccid_transmit(r, 0, case4, sizeof(case4), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_memory_equal(out, "\x61\x10", 2);
	sent_hdr(d, 2, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 7);	/* Le dropped */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, case1, sizeof(case1), 0, out,
	    sizeof(out), &n, &ms), 0);
	sent_hdr(d, 3, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 5);	/* P3 00 */
	assert_int_equal(d->out[3].b[14], 0x00);
	assert_int_equal(ccid_transmit(r, 0, ext, sizeof(ext), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_UNSUPPORTED);
	assert_int_equal(d->nout, 4);
	/* the reader would carry T=1 chains, but this card runs T=0 */
	assert_true(ccid_extended_ok(r));
	assert_false(ccid_slot_extended_ok(r, 0));
	assert_false(ccid_slot_extended_ok(r, 1));
	assert_false(ccid_slot_extended_ok(NULL, 0));
	rd_free(&r, d);
}

static void
test_escape(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[8];
	size_t n = 9;
	int ms = 1000;

	(void)state;
	q(d, CCID_RDR_ESCAPE, 0, 0, 0, "\x01\x02\x03", 3);
	assert_int_equal(ccid_escape(r, 0, (const uint8_t *)"\xaa\xbb", 2, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 3);
	sent_hdr(d, 0, CCID_PC_ESCAPE, 0, 0, 0, 0, 2);
	assert_memory_equal(d->out[0].b + 10, "\xaa\xbb", 2);
	q(d, CCID_RDR_ESCAPE, 0, 0, 0, "0123456789", 10);
	assert_int_equal(ccid_escape(r, 0, NULL, 0, out, sizeof(out), &n,
	    &ms), CCID_ERR_BUFFER);
	assert_int_equal(n, 0);
	q(d, CCID_RDR_ESCAPE, 0x40, CCID_BERR_CMD_NOT_SUPPORTED, 0, NULL, 0);
	assert_int_equal(ccid_escape(r, 0, NULL, 0, out, sizeof(out), &n,
	    &ms), CCID_ERR_CMD_UNSUPPORTED);
	rd_free(&r, d);
}

static void
test_slot_change(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64];
	uint32_t ch = 99;
	uint64_t g = ccid_generation(r, 0);
	size_t n;
	int ms = 1000;

	(void)state;
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms), CCID_ERR_TIMEOUT);
	assert_int_equal(ch, 0);
	qintr(d, "\x50\x03", 2);	/* removed and re-inserted */
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms), 0);
	assert_int_equal(ch, 1);
	assert_true(ccid_generation(r, 0) > g);
	/* the card changed under a powered session: reported once */
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_CARD_CHANGED);
	/* the next one finds it unpowered (the answer says so), powers it
	 * up and sends the APDU again */
	q(d, CCID_RDR_DATA_BLOCK, 0x41, 0xfe, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);	/* powered on again */
	/* hardware error, short and foreign messages */
	qintr(d, "\x51\x00\x05\x01", 4);
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms), CCID_ERR_HW);
	qintr(d, "\x51\x00", 2);
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms), CCID_ERR_PROTO);
	qintr(d, "\x50", 1);
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms), CCID_ERR_PROTO);
	qintr(d, "\x99\x03", 2);
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms), CCID_ERR_PROTO);
	rd_free(&r, d);
}

static void
test_multi_slot(void **state)
{
	struct usb_ccid_desc c = desc(FEAT_AUTO | USB_CCID_FEAT_LEVEL_EXT_APDU);
	struct dbl *d = calloc(1, sizeof(*d));
	ccid_reader_t *r = NULL;
	ccid_io_t io = dio;
	uint32_t ch;
	int ms = 1000, st;

	(void)state;
	c.bMaxSlotIndex = 4;
	assert_int_equal(ccid_reader_new(&r, &io, d, &c), 0);
	assert_int_equal(ccid_slot_count(r), 5);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	assert_int_equal(ccid_slot_status(r, 3, &st, &ms), 0);
	assert_int_equal(d->out[0].b[5], 3);
	/* slot 4's bits live in the second byte */
	qintr(d, "\x50\x00\x02", 3);
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms), 0);
	assert_int_equal(ch, 1u << 4);
	assert_int_equal(ccid_slot_status(r, 5, &st, &ms), CCID_ERR_ARG);
	ccid_reader_free(&r);
	/* no interrupt pipe */
	io.read_intr = NULL;
	assert_int_equal(ccid_reader_new(&r, &io, d, &c), 0);
	assert_int_equal(ccid_wait_slot_change(r, &ch, &ms),
	    CCID_ERR_UNSUPPORTED);
	rd_free(&r, d);
}

static void
test_generation_from_io(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64];
	uint64_t g = ccid_generation(r, 0);
	size_t n;
	int ms = 1000;

	(void)state;
	assert_int_equal(ccid_begin(r, &ms), 0);
	assert_int_equal(ccid_generation(r, 0), g);
	d->gen++;			/* another process used the reader */
	assert_int_equal(ccid_end(r), 0);
	assert_int_equal(ccid_begin(r, &ms), 0);
	assert_true(ccid_generation(r, 0) > g);
	assert_int_equal(d->begins, 2);
	assert_int_equal(d->ends, 1);
	/* no GetSlotStatus before use: the answer's bStatus says that the
	 * card was powered off meanwhile, and the exchange reports the card
	 * changed (whatever it knew, a login, is gone) */
	q(d, CCID_RDR_DATA_BLOCK, 0x41, 0xfe, 0, NULL, 0);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_CARD_CHANGED);
	sent_hdr(d, 0, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, sizeof(sel));
	/* the next one is sent as it is (no GetSlotStatus first); told the
	 * card is unpowered, it powers it up and sends the APDU again */
	q(d, CCID_RDR_DATA_BLOCK, 0x41, 0xfe, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	sent_hdr(d, 1, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, sizeof(sel));
	sent_hdr(d, 2, CCID_PC_ICC_POWER_ON, 0, 0, 0, 0, 0);
	sent_hdr(d, 3, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, sizeof(sel));
	rd_free(&r, d);
}

/* ---- debug trace: secrets never appear --------------------------------- */

static char trace_path[] = "/tmp/usbpiv-ccid-trace-XXXXXX";

static char *
trace_since(long off)
{
	FILE *f = fopen(trace_path, "r");
	char *s;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f) - off;
	assert_true(n >= 0);
	fseek(f, off, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

static long
trace_size(void)
{
	FILE *f = fopen(trace_path, "r");
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

static void
test_trace_redacts_pin(void **state)
{
	/* VERIFY PIN 123456 padded: 31 32 33 34 35 36 FF FF */
	const uint8_t verify[] = { 0x00, 0x20, 0x00, 0x80, 0x08, 0x31, 0x32,
	    0x33, 0x34, 0x35, 0x36, 0xff, 0xff };
	uint8_t imp[600], out[64];
	struct dbl *d;
	ccid_reader_t *r;
	char *s;
	long off;
	size_t n, i;
	int ms = 1000;

	(void)state;
	assert_int_equal(util_debug_level(), 2);
	/* APDU level */
	off = trace_size();
	r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, verify, sizeof(verify), 1, out,
	    sizeof(out), &n, &ms), 0);
	/* a key import, chained over three messages, the data is secret */
	for (i = 0; i < sizeof(imp); i++)
		imp[i] = 0xc5;
	memcpy(imp, "\x00\xfe\x07\x9a\x00\x02\x51", 7);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_EMPTY, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, CCID_CHAIN_EMPTY, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, imp, sizeof(imp), 1, out,
	    sizeof(out), &n, &ms), 0);
	rd_free(&r, d);
	/* TPDU T=1 */
	r = rd_new(&d, USB_CCID_FEAT_LEVEL_TPDU | FEAT_AUTO |
	    USB_CCID_FEAT_AUTO_IFSD);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);	/* present, unpowered */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	qt1(d, 0x00, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, verify, sizeof(verify), 1, out,
	    sizeof(out), &n, &ms), 0);
	rd_free(&r, d);
	s = trace_since(off);
	assert_non_null(strstr(s, "APDU >"));
	assert_non_null(strstr(s, "redacted"));
	assert_non_null(strstr(s, "T=1 >"));
	assert_non_null(strstr(s, "ccid > 6F"));
	assert_null(strstr(s, "313233"));
	assert_null(strstr(s, "343536"));
	assert_null(strstr(s, "C5C5"));
	/* the status word is shown */
	assert_non_null(strstr(s, "SW 9000"));
	free(s);
	/* control: a non-secret APDU is shown */
	off = trace_size();
	r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	rd_free(&r, d);
	s = trace_since(off);
	assert_non_null(strstr(s, "00A4040005A000000308"));
	free(s);
	/* the caller's flag decides, not the bytes: the same SELECT sent as
	 * secret is not shown (nor are its frames), a VERIFY sent as not
	 * secret is (the layer above owns the decision) */
	off = trace_size();
	r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 1, out,
	    sizeof(out), &n, &ms), 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, verify, sizeof(verify), 0, out,
	    sizeof(out), &n, &ms), 0);
	rd_free(&r, d);
	s = trace_since(off);
	assert_null(strstr(s, "A000000308"));
	assert_non_null(strstr(s, "313233"));
	free(s);
}

/* ---- what real readers and cards do (issue 14) ------------------------- */

/* SetParameters is skipped only when the reader negotiates on its own
 * (0x40); with 0x80 it carries the protocol, TA1 and TC2 (WI), and the
 * reader makes the PPS. */
static void
test_setparams_unless_auto_pps(void **state)
{
	/* T=0 only, TA1 13, TC2 20 */
	static const uint8_t wi_atr[] = { 0x3b, 0x90, 0x13, 0x40, 0x20 };
	/* T=0 first, T=1 offered too */
	static const uint8_t t0t1_atr[] = { 0x3b, 0x80, 0x80, 0x01, 0x01 };
	struct dbl *d;
	ccid_reader_t *r;
	struct ccid_atr a;
	int ms = 1000;

	(void)state;
	r = rd_new(&d, USB_CCID_FEAT_LEVEL_TPDU | USB_CCID_FEAT_AUTO_CONF_ATR |
	    USB_CCID_FEAT_AUTO_PPS_CUR | USB_CCID_FEAT_AUTO_VOLTAGE |
	    USB_CCID_FEAT_AUTO_IFSD);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, wi_atr, sizeof(wi_atr));
	q(d, CCID_RDR_PARAMETERS, 0, 0, 0, "\x13\x00\x00\x20\x00", 5);
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), 0);
	assert_true(a.has_tc2);
	assert_int_equal(d->nout, 2);
	sent_hdr(d, 1, CCID_PC_SET_PARAMETERS, 0, 0x00, 0, 0, 5);
	assert_memory_equal(d->out[1].b + 10, "\x13\x00\x00\x20\x00", 5);
	rd_free(&r, d);
	/* a T=0-first card on such a reader is switched to T=1 */
	r = rd_new(&d, USB_CCID_FEAT_LEVEL_TPDU | USB_CCID_FEAT_AUTO_PPS_CUR |
	    USB_CCID_FEAT_AUTO_VOLTAGE | USB_CCID_FEAT_AUTO_IFSD);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0t1_atr, sizeof(t0t1_atr));
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x11\x10\x00\x4d\x00\x20\x00", 7);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->nout, 2);
	sent_hdr(d, 1, CCID_PC_SET_PARAMETERS, 0, 0x01, 0, 0, 7);
	assert_memory_equal(d->out[1].b + 10, "\x11\x10\x00\x4d\x00\x20\x00",
	    7);
	rd_free(&r, d);
	/* 0x40: the reader did it all; nothing after the power-on */
	r = rd_new(&d, USB_CCID_FEAT_LEVEL_TPDU | USB_CCID_FEAT_AUTO_PPS_PROP |
	    USB_CCID_FEAT_AUTO_VOLTAGE | USB_CCID_FEAT_AUTO_IFSD);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, wi_atr, sizeof(wi_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->nout, 1);
	rd_free(&r, d);
	/* the reader refuses the card's protocol switch: reset, and the
	 * card's first protocol at the default rate */
	r = rd_new(&d, USB_CCID_FEAT_LEVEL_TPDU | USB_CCID_FEAT_AUTO_PPS_CUR |
	    USB_CCID_FEAT_AUTO_VOLTAGE | USB_CCID_FEAT_AUTO_IFSD);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0t1_atr, sizeof(t0t1_atr));
	q(d, CCID_RDR_PARAMETERS, 0x40, CCID_BERR_ICC_MUTE, 0, NULL, 0);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0t1_atr, sizeof(t0t1_atr));
	q(d, CCID_RDR_PARAMETERS, 0, 0, 0, "\x11\x00\x00\x0a\x00", 5);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->nout, 5);
	sent_hdr(d, 2, CCID_PC_ICC_POWER_OFF, 0, 0, 0, 0, 0);
	sent_hdr(d, 4, CCID_PC_SET_PARAMETERS, 0, 0x00, 0, 0, 5);
	rd_free(&r, d);
	/* an APDU-level reader refusing SetParameters: no reset, it
	 * handles the protocol itself */
	r = rd_new(&d, USB_CCID_FEAT_LEVEL_SHORT_APDU |
	    USB_CCID_FEAT_AUTO_VOLTAGE);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0t1_atr, sizeof(t0t1_atr));
	q(d, CCID_RDR_PARAMETERS, 0x40, CCID_BERR_CMD_NOT_SUPPORTED, 0, NULL,
	    0);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->nout, 2);
	sent_hdr(d, 1, CCID_PC_SET_PARAMETERS, 0, 0x01, 0, 0, 7);
	rd_free(&r, d);
}

/* The reader's data-rate table: TA1 stepped down to a rate it lists;
 * a refused rate falls back to the default. */
static void
test_data_rates(void **state)
{
	struct usb_ccid_desc c = desc(USB_CCID_FEAT_LEVEL_TPDU |
	    USB_CCID_FEAT_AUTO_IFSD | USB_CCID_FEAT_AUTO_VOLTAGE);
	struct dbl *d;
	ccid_reader_t *r;
	int ms = 1000;

	(void)state;
	/* 4 MHz; TA1 13 is 43010 bit/s, not listed; 12 is 21505 */
	c.dwDefaultClock = 4000;
	c.dwMaxDataRate = 344100;
	c.bNumDataRatesSupported = 2;
	r = rd_new_desc(&d, &c);
	memcpy(d->ctl_in, "\x00\x2a\x00\x00\x01\x54\x00\x00", 8);
	d->nctl_in = 8;		/* 10752, 21505 */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\xff\x11\x12\xfc", 4);
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x12\x10\x00\x15\x00\xfe\x00", 7);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->nctl, 1);
	assert_int_equal(d->ctl[0].type, CCID_REQ_TYPE_IFACE_IN);
	assert_int_equal(d->ctl[0].req, CCID_REQ_GET_DATA_RATES);
	sent_hdr(d, 1, CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 4);
	assert_memory_equal(d->out[1].b + 10, "\xff\x11\x12\xfc", 4);
	sent_hdr(d, 2, CCID_PC_SET_PARAMETERS, 0, 1, 0, 0, 7);
	assert_int_equal(d->out[2].b[10], 0x12);
	rd_free(&r, d);
	/* a table listing none of TA1's rates: the default, no PPS (the
	 * card's first protocol is T=1 already) */
	r = rd_new_desc(&d, &c);
	memcpy(d->ctl_in, "\x00\x2a\x00\x00", 4);
	d->nctl_in = 4;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x11\x10\x00\x15\x00\xfe\x00", 7);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->nout, 2);
	assert_int_equal(d->out[1].b[10], 0x11);
	rd_free(&r, d);
	/* an odd GET_DATA_RATES answer (3 bytes): dwMaxDataRate decides */
	r = rd_new_desc(&d, &c);
	d->nctl_in = 3;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\xff\x11\x13\xfd", 4);
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x13\x10\x00\x15\x00\xfe\x00", 7);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->out[2].b[10], 0x13);
	rd_free(&r, d);
	/* a reader making the PPS itself refuses TA1: asked again at 11 */
	c.dwFeatures |= USB_CCID_FEAT_AUTO_PPS_CUR;
	c.bNumDataRatesSupported = 0;
	r = rd_new_desc(&d, &c);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	q(d, CCID_RDR_PARAMETERS, 0x40, 10, 1, NULL, 0);	/* bad offset */
	q(d, CCID_RDR_PARAMETERS, 0, 0, 1, "\x11\x10\x00\x15\x00\xfe\x00", 7);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(d->nout, 3);
	assert_int_equal(d->out[1].b[10], 0x13);
	sent_hdr(d, 2, CCID_PC_SET_PARAMETERS, 0, 1, 0, 0, 7);
	assert_int_equal(d->out[2].b[10], 0x11);
	rd_free(&r, d);
}

/* Zero-length packets before the answer: up to CCID_MAX_ZLP skipped. */
static void
test_zlp_before_reply(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_powered(&d, USB_CCID_FEAT_LEVEL_EXT_APDU);
	uint8_t out[64];
	size_t n, i;
	int ms = 1000;

	(void)state;
	for (i = 0; i < CCID_MAX_ZLP; i++)
		qraw(d, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	/* one more than that: malformed */
	for (i = 0; i <= CCID_MAX_ZLP; i++)
		qraw(d, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x90\x00", 2);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	rd_free(&r, d);
}

/* A failed first GetSlotStatus: Abort, ask again (bounded). */
static void
test_status_retry(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_TPDU |
	    USB_CCID_FEAT_AUTO_IFSD);
	int ms = 1000, joined = -1, i;

	(void)state;
	q(d, CCID_RDR_SLOT_STATUS, 0x41, CCID_BERR_HW_ERROR, 0, NULL, 0);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);	/* Abort */
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	assert_int_equal(ccid_connect(r, 0, &joined, &ms), 0);
	assert_int_equal(joined, 0);
	assert_int_equal(d->nctl, 1);
	assert_int_equal(d->ctl[0].req, CCID_REQ_ABORT);
	sent_hdr(d, 0, CCID_PC_GET_SLOT_STATUS, 0, 0, 0, 0, 0);
	sent_hdr(d, 1, CCID_PC_ABORT, 0, 0, 0, 0, 0);
	sent_hdr(d, 2, CCID_PC_GET_SLOT_STATUS, 0, 0, 0, 0, 0);
	sent_hdr(d, 3, CCID_PC_ICC_POWER_ON, 0, 0, 0, 0, 0);
	/* past first contact a failure is the caller's: no retry */
	reset_out(d);
	q(d, CCID_RDR_SLOT_STATUS, 0x40, CCID_BERR_HW_ERROR, 0, NULL, 0);
	assert_int_equal(ccid_slot_status(r, 0, &i, &ms), CCID_ERR_HW);
	assert_int_equal(d->nout, 1);
	assert_int_equal(d->nctl, 1);
	rd_free(&r, d);
	/* a malformed first answer is not retried */
	r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_TPDU);
	qraw(d, "\x81\x05\x00\x00\x00\x00\x00\x00\x00\x00", 10);
	assert_int_equal(ccid_connect(r, 0, &joined, &ms), CCID_ERR_PROTO);
	assert_int_equal(d->nout, 1);
	assert_int_equal(d->nctl, 0);
	rd_free(&r, d);
	/* a reader that keeps failing: the error, after CCID_STATUS_TRIES */
	r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_TPDU);
	for (i = 0; i < CCID_STATUS_TRIES + 2; i++) {
		q(d, CCID_RDR_SLOT_STATUS, 0x41, CCID_BERR_HW_ERROR, 0, NULL, 0);
		q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	}
	assert_int_equal(ccid_connect(r, 0, &joined, &ms), CCID_ERR_HW);
	assert_int_equal(d->nctl, CCID_STATUS_TRIES - 1);
	assert_int_equal(d->nout, 2 * CCID_STATUS_TRIES - 1);
	rd_free(&r, d);
}

/* ATRs real cards send: kept, clamped; garbage still refused. */
static void
test_atr_kept(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_TPDU |
	    USB_CCID_FEAT_AUTO_IFSD);
	uint8_t bad[sizeof(yk_atr) + 3];
	struct ccid_atr a;
	int ms = 1000;

	(void)state;
	memcpy(bad, yk_atr, sizeof(yk_atr));
	bad[sizeof(yk_atr) - 1] ^= 0x01;		/* wrong TCK */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, bad, sizeof(yk_atr));
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), 0);
	assert_int_equal(a.fixes, CCID_ATR_FIX_TCK);
	assert_int_equal(d->nout, 1);
	memcpy(bad, yk_atr, sizeof(yk_atr));
	memcpy(bad + sizeof(yk_atr), "\x00\x00\x00", 3);	/* trailing */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, bad, sizeof(bad));
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), 0);
	assert_int_equal(a.fixes, CCID_ATR_FIX_TRAILING);
	assert_int_equal(a.len, sizeof(yk_atr));
	/* IFSC FF: T=1 blocks of at most 254 */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x3b\x80\x81\x11\xff\xef", 6);
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), 0);
	assert_int_equal(a.ifsc, 254);
	/* a bad TS: refused, powered off */
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, "\x3c\x00", 2);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), CCID_ERR_BAD_ATR);
	assert_int_equal(d->out[d->nout - 1].b[0], CCID_PC_ICC_POWER_OFF);
	rd_free(&r, d);
}

/* A T=1 block with bytes after it (TPDU readers): cut to its LEN. */
static void
test_t1_trailing(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, FEAT_AUTO | USB_CCID_FEAT_LEVEL_TPDU |
	    USB_CCID_FEAT_AUTO_IFSD);
	uint8_t b[CCID_T1_MAX_BLOCK + 4], out[64];
	size_t len, n;
	int ms = 1000;

	(void)state;
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, yk_atr, sizeof(yk_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	assert_int_equal(ccid_t1_encode(0, 0x00,
	    (const uint8_t *)"\x61\x02\x90\x00", 4, 0, b, sizeof(b), &len),
	    0);
	memcpy(b + len, "\x00\xff\x00", 3);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, b, len + 3);
	assert_int_equal(ccid_transmit(r, 0, sel, sizeof(sel), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\x61\x02\x90\x00", 4);
	rd_free(&r, d);
}

/* Voltage: the next class after any power-on failure; automatic
 * activation (0x04) counts as automatic voltage. */
static void
test_voltage_any_failure(void **state)
{
	struct dbl *d;
	ccid_reader_t *r = rd_new(&d, USB_CCID_FEAT_LEVEL_SHORT_APDU |
	    USB_CCID_FEAT_AUTO_PPS_PROP);
	int ms = 1000;

	(void)state;
	q(d, CCID_RDR_DATA_BLOCK, 0x41, CCID_BERR_ICC_MUTE, 0, NULL, 0);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0x41, CCID_BERR_HW_ERROR, 0, NULL, 0);
	q(d, CCID_RDR_SLOT_STATUS, 0x01, 0, 0, NULL, 0);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0_atr, sizeof(t0_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	sent_hdr(d, 0, CCID_PC_ICC_POWER_ON, 0, 0x01, 0, 0, 0);
	sent_hdr(d, 2, CCID_PC_ICC_POWER_ON, 0, 0x02, 0, 0, 0);
	sent_hdr(d, 4, CCID_PC_ICC_POWER_ON, 0, 0x03, 0, 0, 0);
	assert_int_equal(d->nout, 5);
	/* no card: no other class tried */
	q(d, CCID_RDR_DATA_BLOCK, 0x42, CCID_BERR_ICC_MUTE, 0, NULL, 0);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), CCID_ERR_NO_CARD);
	assert_int_equal(d->nout, 6);
	rd_free(&r, d);
	r = rd_new(&d, USB_CCID_FEAT_LEVEL_SHORT_APDU |
	    USB_CCID_FEAT_AUTO_PPS_PROP | USB_CCID_FEAT_AUTO_ACTIVATION);
	q(d, CCID_RDR_DATA_BLOCK, 0, 0, 0, t0_atr, sizeof(t0_atr));
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	sent_hdr(d, 0, CCID_PC_ICC_POWER_ON, 0, 0x00, 0, 0, 0);
	rd_free(&r, d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_args),
		cmocka_unit_test(test_power_on_auto),
		cmocka_unit_test(test_power_on_voltage_order),
		cmocka_unit_test(test_char_level_refused),
		cmocka_unit_test(test_slot_status),
		cmocka_unit_test(test_every_berror),
		cmocka_unit_test(test_seq_slot_mismatch),
		cmocka_unit_test(test_stale_then_silence),
		cmocka_unit_test(test_truncated_oversized),
		cmocka_unit_test(test_time_extensions),
		cmocka_unit_test(test_timeout_abort_resync),
		cmocka_unit_test(test_ext_chain_command),
		cmocka_unit_test(test_declared_length),
		cmocka_unit_test(test_pre10_protocols),
		cmocka_unit_test(test_ext_chain_response),
		cmocka_unit_test(test_short_level_refuses_extended),
		cmocka_unit_test(test_tpdu_t1),
		cmocka_unit_test(test_tpdu_pps_refused_and_rate),
		cmocka_unit_test(test_tpdu_t0),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_slot_change),
		cmocka_unit_test(test_multi_slot),
		cmocka_unit_test(test_generation_from_io),
		cmocka_unit_test(test_trace_redacts_pin),
		cmocka_unit_test(test_setparams_unless_auto_pps),
		cmocka_unit_test(test_data_rates),
		cmocka_unit_test(test_zlp_before_reply),
		cmocka_unit_test(test_status_retry),
		cmocka_unit_test(test_atr_kept),
		cmocka_unit_test(test_t1_trailing),
		cmocka_unit_test(test_voltage_any_failure),
	};
	int fd, rc;

	/* The trace level is read once, at first use: set it first. */
	if ((fd = mkstemp(trace_path)) < 0)
		return 1;
	close(fd);
	setenv("USBPIV_DEBUG", "2", 1);
	setenv("USBPIV_DEBUG_FILE", trace_path, 1);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(trace_path);
	return rc;
}
