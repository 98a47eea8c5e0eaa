/* SPDX-License-Identifier: MIT */
/*
 * tests/test_ccid_iccd.c — ICCD (control-pipe) transport: the pure
 * parsers of version A's status byte and version B's DATA_BLOCK /
 * SLOT_STATUS answers against hostile bytes, and the whole reader over a
 * simulated ICCD device (versions A and B) that can answer short,
 * over-long, with bad status, or busy / polling for ever.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../ccid/ccid_int.h"

/* ---- pure parsers ---------------------------------------------------------- */

static void
test_a_status(void **state)
{
	uint8_t b[2] = { 0, 0 };
	int st;

	(void)state;
	assert_int_equal(ccid_iccd_a_status(b, 0, &st), CCID_ERR_PROTO);
	assert_int_equal(st, -1);
	assert_int_equal(ccid_iccd_a_status(b, 2, &st), CCID_ERR_PROTO);
	assert_int_equal(ccid_iccd_a_status(NULL, 1, &st), CCID_ERR_PROTO);
	assert_int_equal(ccid_iccd_a_status(b, 1, NULL), CCID_ERR_PROTO);
	b[0] = 0x00;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), 0);
	assert_int_equal(st, CCID_ICCD_A_ST_IDLE);
	b[0] = 0x10;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), 0);
	assert_int_equal(st, CCID_ICCD_A_ST_DATA);
	b[0] = 0x20;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), 0);
	assert_int_equal(st, CCID_ICCD_A_ST_SW);
	b[0] = 0x40;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), 0);
	assert_int_equal(st, CCID_ICCD_A_ST_BUSY);
	b[0] = 0xC0;		/* busy wins */
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), 0);
	assert_int_equal(st, CCID_ICCD_A_ST_BUSY);
	b[0] = 0x80;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), 0);
	assert_int_equal(st, CCID_ICCD_A_ST_ABSENT);
	b[0] = 0x90;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), 0);
	assert_int_equal(st, CCID_ICCD_A_ST_ABSENT);
	/* two states at once, or reserved bits: refused */
	b[0] = 0x30;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), CCID_ERR_PROTO);
	b[0] = 0x01;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), CCID_ERR_PROTO);
	b[0] = 0x18;
	assert_int_equal(ccid_iccd_a_status(b, 1, &st), CCID_ERR_PROTO);
}

static void
test_b_parse(void **state)
{
	uint8_t b[300];
	struct ccid_iccd_b r;
	unsigned t;

	(void)state;
	memset(b, 0xAA, sizeof(b));
	assert_int_equal(ccid_iccd_b_parse(b, 0, 10, &r), CCID_ERR_PROTO);
	assert_int_equal(ccid_iccd_b_parse(NULL, 3, 10, &r), CCID_ERR_PROTO);
	assert_int_equal(ccid_iccd_b_parse(b, 3, 10, NULL), CCID_ERR_ARG);
	/* data: whole, chain parts */
	b[0] = 0x00;
	assert_int_equal(ccid_iccd_b_parse(b, 5, 10, &r), 0);
	assert_int_equal(r.kind, CCID_ICCD_B_DATA);
	assert_int_equal(r.data_len, 4);
	assert_ptr_equal(r.data, b + 1);
	assert_int_equal(ccid_iccd_b_parse(b, 1, 10, &r), 0);
	assert_int_equal(r.data_len, 0);
	assert_null(r.data);
	/* over-long: more than the reader takes */
	assert_int_equal(ccid_iccd_b_parse(b, 12, 10, &r), CCID_ERR_PROTO);
	assert_int_equal(ccid_iccd_b_parse(b, 11, 10, &r), 0);
	for (t = 1; t <= 3; t++) {
		b[0] = (uint8_t)t;
		assert_int_equal(ccid_iccd_b_parse(b, 4, 10, &r), 0);
		assert_int_equal(r.type, t);
	}
	/* "empty, send the next part" carries nothing */
	b[0] = 0x10;
	assert_int_equal(ccid_iccd_b_parse(b, 1, 10, &r), 0);
	assert_int_equal(ccid_iccd_b_parse(b, 2, 10, &r), CCID_ERR_PROTO);
	/* status information: exactly 3 bytes */
	b[0] = 0x40;
	b[1] = 0x41;
	b[2] = 0xFE;
	assert_int_equal(ccid_iccd_b_parse(b, 3, 10, &r), 0);
	assert_int_equal(r.kind, CCID_ICCD_B_STATUS);
	assert_int_equal(r.bStatus, 0x41);
	assert_int_equal(r.bError, 0xFE);
	assert_int_equal(ccid_iccd_b_parse(b, 2, 10, &r), CCID_ERR_PROTO);
	assert_int_equal(ccid_iccd_b_parse(b, 4, 10, &r), CCID_ERR_PROTO);
	/* polling: 3 bytes, 10 ms units, 0 = host's choice, clamped */
	b[0] = 0x80;
	b[1] = 5;
	b[2] = 0;
	assert_int_equal(ccid_iccd_b_parse(b, 3, 10, &r), 0);
	assert_int_equal(r.kind, CCID_ICCD_B_POLL);
	assert_int_equal(r.delay_ms, 50);
	b[1] = 0;
	assert_int_equal(ccid_iccd_b_parse(b, 3, 10, &r), 0);
	assert_int_equal(r.delay_ms, CCID_ICCD_POLL_UNIT_MS);
	b[1] = 0xFF;
	b[2] = 0xFF;
	assert_int_equal(ccid_iccd_b_parse(b, 3, 10, &r), 0);
	assert_int_equal(r.delay_ms, CCID_ICCD_MAX_DELAY_MS);
	assert_int_equal(ccid_iccd_b_parse(b, 1, 10, &r), CCID_ERR_PROTO);
	assert_int_equal(ccid_iccd_b_parse(b, 5, 10, &r), CCID_ERR_PROTO);
	/* every other bResponseType */
	for (t = 0; t < 256; t++) {
		b[0] = (uint8_t)t;
		if (t <= 3 || t == 0x10 || t == 0x40 || t == 0x80)
			continue;
		assert_int_equal(ccid_iccd_b_parse(b, 3, 10, &r),
		    CCID_ERR_PROTO);
	}
}

static void
test_present(void **state)
{
	struct usb_ccid_desc d, o;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.bMaxSlotIndex = 3;
	d.dwProtocols = 3;
	d.dwFeatures = 0x00000840;	/* character level, as e-gate says */
	d.dwMaxCCIDMessageLength = 256;
	assert_int_equal(ccid_iccd_present(USB_ICCD_A, &d, &o), 0);
	assert_int_equal(o.bMaxSlotIndex, 0);
	assert_int_equal(o.dwProtocols, 1);
	assert_int_equal(o.dwFeatures & USB_CCID_FEAT_LEVEL_MASK,
	    USB_CCID_FEAT_LEVEL_TPDU);
	assert_true(o.dwFeatures & USB_CCID_FEAT_AUTO_PPS_PROP);
	assert_int_equal(o.dwMaxCCIDMessageLength, CCID_MSG_FLOOR);
	assert_int_equal(ccid_iccd_present(USB_ICCD_B, &d, &o), 0);
	assert_int_equal(o.dwFeatures & USB_CCID_FEAT_LEVEL_MASK,
	    USB_CCID_FEAT_LEVEL_SHORT_APDU);
	d.dwMaxCCIDMessageLength = 261;
	assert_int_equal(ccid_iccd_present(USB_ICCD_B, &d, &o), 0);
	assert_int_equal(o.dwMaxCCIDMessageLength, 271);
	d.dwMaxCCIDMessageLength = 0xFFFFFFFFu;	/* hostile */
	d.dwFeatures = 0x00040840;
	assert_int_equal(ccid_iccd_present(USB_ICCD_B, &d, &o), 0);
	assert_int_equal(o.dwMaxCCIDMessageLength, CCID_ICCD_MAX_DATA + 10);
	assert_int_equal(o.dwFeatures & USB_CCID_FEAT_LEVEL_MASK,
	    USB_CCID_FEAT_LEVEL_EXT_APDU);
	assert_int_equal(ccid_iccd_present(0, &d, &o), CCID_ERR_ARG);
	assert_int_equal(ccid_iccd_present(3, &d, &o), CCID_ERR_ARG);
	assert_int_equal(ccid_iccd_present(1, NULL, &o), CCID_ERR_ARG);
}

/* ---- a simulated ICCD device --------------------------------------------- */

enum fault {
	F_NONE, F_POLL_FOREVER, F_BUSY_FOREVER, F_OVERLONG, F_EMPTY,
	F_STATUS_INFO, F_MUTE, F_SW_SHORT, F_IDLE, F_STALL, F_POLL_SOME,
	F_BAD_STATUS, F_SLOT00, F_SLOT_SHORT, F_SLOT_ABSENT
};

struct dev {
	int version;
	enum fault fault;
	int powered;
	int state;		/* A: 0 idle, 1 header, 2 data in, 3 SW */
	uint8_t hdr[5];
	uint8_t pend[300];
	size_t plen;
	int have;
	int polls;
	size_t nctl, nsleep;
	int slept_ms;
};

static const uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x50 };	/* T=0 */
static const uint8_t rsp_data[] = { 0xDE, 0xAD };

static int
d_control(void *h, uint8_t rt, uint8_t req, uint16_t value, uint8_t *data,
    size_t len, size_t *got, int *ms)
{
	struct dev *d = h;
	size_t n = 0;

	(void)value;
	*got = 0;
	d->nctl++;
	if (*ms <= 0)
		return CCID_ERR_TIMEOUT;
	if (d->fault == F_STALL && req != CCID_ICCD_REQ_POWER_OFF &&
	    req != CCID_ICCD_REQ_SLOT_STATUS && req != CCID_ICCD_REQ_POWER_ON
	    && req != CCID_ICCD_REQ_GET_ICC_STATUS)
		return CCID_ERR_IO;
	if (d->version == USB_ICCD_B) {
		switch (req) {
		case CCID_ICCD_REQ_POWER_OFF:
			d->powered = 0;
			return 0;
		case CCID_ICCD_REQ_SLOT_STATUS:
			assert_true(len >= 3);
			data[0] = d->fault == F_SLOT00 ? 0x00 : 0x40;
			data[1] = d->powered ? 0 : 1;
			if (d->fault == F_SLOT_ABSENT)
				data[1] = 0x03;	/* RFU 3: taken as absent */
			data[2] = 0;
			*got = d->fault == F_SLOT_SHORT ? 2 : 3;
			return 0;
		case CCID_ICCD_REQ_POWER_ON:
			assert_int_equal(rt, 0x21);
			d->powered = 1;
			d->pend[0] = 0;
			memcpy(d->pend + 1, atr, sizeof(atr));
			d->plen = 1 + sizeof(atr);
			d->have = 1;
			return 0;
		case CCID_ICCD_REQ_XFR_BLOCK:
			assert_int_equal(rt, 0x21);
			assert_true(len >= 4);
			d->pend[0] = 0;
			memcpy(d->pend + 1, rsp_data, 2);
			d->pend[3] = 0x90;
			d->pend[4] = 0x00;
			d->plen = 5;
			d->have = 1;
			if (d->fault == F_STATUS_INFO) {
				memcpy(d->pend, "\x40\x40\xFE", 3);
				d->plen = 3;
			}
			return 0;
		case CCID_ICCD_REQ_DATA_BLOCK:
			assert_int_equal(rt, 0xA1);
			if (d->fault == F_POLL_FOREVER ||
			    (d->fault == F_POLL_SOME && d->polls++ < 3)) {
				memcpy(data, "\x80\x02\x00", 3);
				*got = 3;
				return 0;
			}
			if (!d->have || d->fault == F_EMPTY)
				return 0;
			n = d->plen;
			if (d->fault == F_OVERLONG)
				n = len + 1;	/* a lying transport */
			else
				memcpy(data, d->pend, n);
			d->have = 0;
			*got = n;
			return 0;
		default:
			return CCID_ERR_IO;
		}
	}
	/* version A */
	switch (req) {
	case CCID_ICCD_REQ_POWER_OFF:
		d->powered = 0;
		d->state = 0;
		return 0;
	case CCID_ICCD_REQ_GET_ICC_STATUS:
		assert_int_equal(len, 1);
		if (d->fault == F_BUSY_FOREVER)
			data[0] = 0x40;
		else if (d->fault == F_MUTE)
			data[0] = 0x80;
		else if (d->fault == F_BAD_STATUS)
			data[0] = 0x33;
		else if (d->fault == F_IDLE || d->state == 0)
			data[0] = 0x00;
		else if (d->state == 1 || d->state == 2)
			data[0] = 0x10;
		else
			data[0] = 0x20;
		*got = 1;
		return 0;
	case CCID_ICCD_REQ_POWER_ON:
		assert_int_equal(rt, 0xA1);
		memcpy(data, atr, sizeof(atr));
		*got = sizeof(atr);
		d->powered = 1;
		return 0;
	case CCID_ICCD_REQ_XFR_BLOCK:
		if (d->state == 0 || d->state == 3) {
			assert_int_equal(len, 5);
			memcpy(d->hdr, data, 5);
			d->state = 1;
		} else {
			assert_int_equal(len, d->hdr[4]);
			d->state = 3;
		}
		return 0;
	case CCID_ICCD_REQ_DATA_BLOCK:
		if (d->state == 1) {
			n = len < 2 ? len : 2;
			memcpy(data, rsp_data, n);
			d->state = 3;
		} else {
			n = d->fault == F_SW_SHORT ? 1 : 2;
			memcpy(data, "\x90\x00", n);
			d->state = 0;
		}
		*got = n;
		return 0;
	default:
		return CCID_ERR_IO;
	}
}

static struct dev *sleeper;

static void
fake_sleep(int ms)
{
	sleeper->nsleep++;
	sleeper->slept_ms += ms;
}

static ccid_reader_t *
open_dev(struct dev *d, int version, enum fault f)
{
	struct usb_ccid_desc decl, shown;
	ccid_io_t low, io;
	ccid_reader_t *r = NULL;
	void *h = NULL;

	memset(d, 0, sizeof(*d));
	d->version = version;
	d->fault = f;
	memset(&decl, 0, sizeof(decl));
	decl.bVoltageSupport = 1;
	decl.dwProtocols = version == USB_ICCD_A ? 1 : 2;
	decl.dwFeatures = version == USB_ICCD_A ? 0x840 : 0x20840;
	decl.dwMaxCCIDMessageLength = 261;
	memset(&low, 0, sizeof(low));
	low.control = d_control;
	assert_int_equal(ccid_iccd_io(&low, d, version, &decl, &io, &h,
	    &shown), 0);
	sleeper = d;
	ccid_iccd_set_sleep(h, fake_sleep);
	assert_int_equal(ccid_reader_new(&r, &io, h, &shown), 0);
	return r;
}

static void
test_b_exchange(void **state)
{
	static const uint8_t cmd[] = { 0x00, 0xCA, 0x00, 0x00, 0x00 };
	uint8_t out[300];
	struct ccid_atr a;
	struct dev d;
	ccid_reader_t *r;
	size_t n = 0;
	int ms = 10000, st;

	(void)state;
	r = open_dev(&d, USB_ICCD_B, F_NONE);
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_INACTIVE);
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), 0);
	assert_int_equal(a.len, sizeof(atr));
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\xDE\xAD\x90\x00", 4);
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_ACTIVE);
	/* SLOT_STATUS with 00 first (libccid reads the second byte only),
	 * too short, and ICC status 3 */
	d.fault = F_SLOT00;
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_ACTIVE);
	d.fault = F_SLOT_SHORT;
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), CCID_ERR_PROTO);
	d.fault = F_SLOT_ABSENT;
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_ABSENT);
	d.fault = F_NONE;
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	/* polling answers: waited (through the budget), then the data */
	d.fault = F_POLL_SOME;
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(d.nsleep, 3);
	assert_int_equal(d.slept_ms, 60);
	/* status information: the command failed with its bError */
	d.fault = F_STATUS_INFO;
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_CARD_MUTE);
	/* empty DATA_BLOCK, over-long one, a stall */
	d.fault = F_EMPTY;
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	d.fault = F_OVERLONG;
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	d.fault = F_STALL;
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_IO);
	ccid_reader_free(&r);
}

static void
test_b_endless_poll(void **state)
{
	static const uint8_t cmd[] = { 0x00, 0xCA, 0x00, 0x00, 0x00 };
	uint8_t out[300];
	struct dev d;
	ccid_reader_t *r;
	size_t n = 0;
	int ms = 10000000;

	(void)state;
	r = open_dev(&d, USB_ICCD_B, F_NONE);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	/* a device that says "poll again" for ever: the count ends it
	 * (the budget is large, the sleeps are fake) */
	d.fault = F_POLL_FOREVER;
	d.nctl = 0;
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_TIMEOUT);
	assert_true(d.nctl <= CCID_ICCD_MAX_POLL + 8);
	/* ... and the budget, when that is smaller */
	ms = 500;
	d.nctl = 0;
	assert_int_equal(ccid_transmit(r, 0, cmd, sizeof(cmd), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_TIMEOUT);
	assert_true(d.nctl <= 500 / 20 + 8);
	assert_int_equal(ms, 0);
	ccid_reader_free(&r);
}

static void
test_a_exchange(void **state)
{
	static const uint8_t case2[] = { 0x00, 0xCA, 0x00, 0x00, 0x02 };
	static const uint8_t case3[] = { 0x00, 0x20, 0x00, 0x80, 0x02, 0x31,
	    0x32 };
	static const uint8_t case4[] = { 0x00, 0x20, 0x00, 0x80, 0x02, 0x31,
	    0x32, 0x00 };
	uint8_t out[300];
	struct ccid_atr a;
	struct dev d;
	ccid_reader_t *r;
	size_t n = 0;
	int ms = 10000, st;

	(void)state;
	r = open_dev(&d, USB_ICCD_A, F_NONE);
	assert_int_equal(ccid_slot_status(r, 0, &st, &ms), 0);
	assert_int_equal(st, CCID_SLOT_INACTIVE);
	assert_int_equal(ccid_power_on(r, 0, &a, &ms), 0);
	assert_int_equal(a.len, sizeof(atr));
	assert_false(ccid_slot_extended_ok(r, 0));
	assert_int_equal(ccid_transmit(r, 0, case2, sizeof(case2), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\xDE\xAD\x90\x00", 4);
	assert_int_equal(ccid_transmit(r, 0, case3, sizeof(case3), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\x90\x00", 2);
	/* case 4 travels as case 3 (T=0 drops Le) */
	assert_int_equal(ccid_transmit(r, 0, case4, sizeof(case4), 0, out,
	    sizeof(out), &n, &ms), 0);
	assert_int_equal(n, 2);
	/* one status byte where two are due */
	d.fault = F_SW_SHORT;
	assert_int_equal(ccid_transmit(r, 0, case2, sizeof(case2), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	d.fault = F_IDLE;
	d.state = 0;
	assert_int_equal(ccid_transmit(r, 0, case2, sizeof(case2), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	d.fault = F_BAD_STATUS;
	d.state = 0;
	assert_int_equal(ccid_transmit(r, 0, case2, sizeof(case2), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_PROTO);
	/* 0x80: no card (or mute): the slot is empty */
	d.fault = F_MUTE;
	d.state = 0;
	assert_int_equal(ccid_transmit(r, 0, case2, sizeof(case2), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_NO_CARD);
	ccid_reader_free(&r);
}

static void
test_a_endless_busy(void **state)
{
	static const uint8_t case2[] = { 0x00, 0xCA, 0x00, 0x00, 0x02 };
	uint8_t out[300];
	struct dev d;
	ccid_reader_t *r;
	size_t n = 0;
	int ms = 10000000;

	(void)state;
	r = open_dev(&d, USB_ICCD_A, F_NONE);
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), 0);
	d.fault = F_BUSY_FOREVER;
	d.nctl = 0;
	assert_int_equal(ccid_transmit(r, 0, case2, sizeof(case2), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_TIMEOUT);
	assert_true(d.nctl <= CCID_ICCD_MAX_POLL + 8);
	ms = 300;
	d.nctl = 0;
	d.state = 0;
	assert_int_equal(ccid_transmit(r, 0, case2, sizeof(case2), 0, out,
	    sizeof(out), &n, &ms), CCID_ERR_TIMEOUT);
	assert_true(d.nctl <= 300 / 10 + 8);
	/* busy at power-on: the same bounds */
	ms = 300;
	d.state = 0;
	assert_int_equal(ccid_power_on(r, 0, NULL, &ms), CCID_ERR_TIMEOUT);
	ccid_reader_free(&r);
}

static void
test_io_args(void **state)
{
	struct usb_ccid_desc decl, shown;
	ccid_io_t low, io;
	void *h = (void *)1;

	(void)state;
	memset(&decl, 0, sizeof(decl));
	memset(&low, 0, sizeof(low));
	/* no control pipe: nothing to run on */
	assert_int_equal(ccid_iccd_io(&low, NULL, USB_ICCD_B, &decl, &io,
	    &h, &shown), CCID_ERR_ARG);
	assert_null(h);
	low.control = d_control;
	assert_int_equal(ccid_iccd_io(&low, NULL, 7, &decl, &io, &h,
	    &shown), CCID_ERR_ARG);
	assert_int_equal(ccid_iccd_io(NULL, NULL, 1, &decl, &io, &h,
	    &shown), CCID_ERR_ARG);
	/* a reader freed before any use frees the adapter (ASan: no leak) */
	assert_int_equal(ccid_iccd_io(&low, NULL, USB_ICCD_A, &decl, &io,
	    &h, &shown), 0);
	io.close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_status),
		cmocka_unit_test(test_b_parse),
		cmocka_unit_test(test_present),
		cmocka_unit_test(test_b_exchange),
		cmocka_unit_test(test_b_endless_poll),
		cmocka_unit_test(test_a_exchange),
		cmocka_unit_test(test_a_endless_busy),
		cmocka_unit_test(test_io_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
