/* SPDX-License-Identifier: MIT */
/*
 * reader_iccd.c — the device side of USB ICCD (rev 1.0) over the control
 * pipe, for dump profiles whose interface is class 0x0B protocol 1
 * (version A) or 2 (version B) without a bulk pair.
 *
 * Each class request becomes the CCID message the rest of the emulator
 * already runs (reader_ccid.c: slots, the card, injections), and the
 * RDR_to_PC answer is turned into the ICCD answer:
 *
 *   version B: POWER_ON / XFR_BLOCK (wValue high byte = wLevelParameter)
 *     leave their answer for DATA_BLOCK, which gives bResponseType 00 +
 *     data, or 40 bStatus bError; every time extension the CCID side
 *     sends (`wtx N`) first becomes a polling answer 80 01 00 (10 ms)
 *     (those SLOT_STATUS meets are given before the next DATA_BLOCK).
 *     SLOT_STATUS answers 40 bStatus bError.
 *   version A: a T=0 card behind the device.  XFR_BLOCK takes the 5-byte
 *     header; GET_ICC_STATUS says 10 (ready for data: the command data
 *     with P3 > 0, or the response data), 20 (SW1 SW2 ready), 40 (busy,
 *     once per time extension), 80 (no card); DATA_BLOCK reads.  A
 *     command whose data went out and whose answer has data answers
 *     61 xx, and the GET RESPONSE that follows is served here, as a real
 *     T=0 card does; P3 = 0 runs the header as case 2 (Le 256).
 *
 * Tests only; the host is hostile: every length is checked.
 */
#include "reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vt_ccid.h"

#define ST_FAILED	0x40

enum { A_IDLE, A_HDR, A_DATA_IN, A_SW };

struct rd_iccd {
	int version;		/* VT_ICCD_A or VT_ICCD_B */
	uint8_t seq;
	/* the CCID answer of the last message run */
	uint8_t frame[RD_MSG_MAX];
	size_t flen;
	int ext;		/* time extensions before it */
	/* B: the DATA_BLOCK answer waiting, polls to give first */
	uint8_t pend[1 + RD_RAPDU_MAX];
	size_t plen;
	int have, polls;
	int carry;		/* time extensions met by SLOT_STATUS: given
				 * as polls before the next answer */
	/* A */
	int state, busy;
	uint8_t hdr[5];
	uint8_t rsp[RD_RAPDU_MAX];	/* response data, then SW1 SW2 */
	size_t rlen, roff;
	uint8_t stash[RD_RAPDU_MAX];	/* for GET RESPONSE after 61 xx */
	size_t slen, soff;
	uint8_t ssw[2];			/* the card's own SW, given last */
};

struct rd_iccd *
rd_iccd_new(int version)
{
	struct rd_iccd *x = calloc(1, sizeof(*x));

	if (x != NULL)
		x->version = version;
	return x;
}

void
rd_iccd_free(struct rd_iccd **x)
{
	if (x != NULL) {
		free(*x);
		*x = NULL;
	}
}

static void
cap_emit(void *ctx, const uint8_t *f, size_t len)
{
	struct rd_iccd *x = ctx;

	if (len >= 10 && (f[7] & 0xc0) == 0x80) {
		x->ext++;
		return;
	}
	if (len <= sizeof(x->frame)) {
		memcpy(x->frame, f, len);
		x->flen = len;
	}
}

/* Runs one CCID message on slot 0; 0 with x->frame set, else -1. */
static int
run(struct rd_iccd *x, struct rd_dev *d, uint8_t type, uint8_t p1,
    uint8_t lvl, const uint8_t *data, size_t dlen)
{
	static uint8_t msg[10 + RD_APDU_MAX];

	if (dlen > RD_APDU_MAX)
		return -1;
	msg[0] = type;
	msg[1] = (uint8_t)dlen;
	msg[2] = (uint8_t)(dlen >> 8);
	msg[3] = (uint8_t)(dlen >> 16);
	msg[4] = 0;
	msg[5] = 0;
	msg[6] = x->seq++;
	msg[7] = p1;
	msg[8] = lvl;
	msg[9] = 0;
	if (dlen > 0)
		memcpy(msg + 10, data, dlen);
	x->flen = 0;
	x->ext = 0;
	if (rd_dev_command(d, msg, 10 + dlen, cap_emit, x) != 0 ||
	    x->flen < 10)
		return -1;
	return 0;
}

static int
ok(const struct rd_iccd *x)
{
	return (x->frame[7] & 0xc0) == 0;
}

/* ---- version B ----------------------------------------------------------- */

static void
b_pend(struct rd_iccd *x)
{
	size_t n = x->flen - 10;

	if (ok(x)) {
		x->pend[0] = x->frame[9];	/* the chain value, 00 whole */
		memcpy(x->pend + 1, x->frame + 10, n);
		x->plen = 1 + n;
	} else {
		x->pend[0] = 0x40;
		x->pend[1] = x->frame[7];
		x->pend[2] = x->frame[8];
		x->plen = 3;
	}
	x->have = 1;
	x->polls = x->ext + x->carry;
	x->carry = 0;
}

static int
b_control(struct rd_iccd *x, struct rd_dev *d, uint8_t rt, uint8_t req,
    uint16_t value, const uint8_t *in, size_t inlen, uint8_t *out,
    size_t cap)
{
	size_t n;

	if (rt == 0x21 && req == 0x62) {
		x->have = 0;
		if (run(x, d, VT_CCID_PC_ICC_POWER_ON, 0, 0, NULL, 0) != 0)
			return -EPIPE;
		b_pend(x);
		return 0;
	}
	if (rt == 0x21 && req == 0x63) {
		x->have = 0;
		if (run(x, d, VT_CCID_PC_ICC_POWER_OFF, 0, 0, NULL, 0) != 0)
			return -EPIPE;
		return 0;
	}
	if (rt == 0x21 && req == 0x65) {
		x->have = 0;
		if (run(x, d, VT_CCID_PC_XFR_BLOCK, 0, (uint8_t)(value >> 8), in,
		    inlen) != 0)
			return -EPIPE;
		b_pend(x);
		return 0;
	}
	if (rt == 0xA1 && req == 0x6F) {
		if (cap < 3)
			return -EPIPE;
		if (x->polls > 0) {
			x->polls--;
			out[0] = 0x80;
			out[1] = 1;	/* 10 ms */
			out[2] = 0;
			return 3;
		}
		if (!x->have) {
			/* nothing asked: status information */
			out[0] = 0x40;
			out[1] = ST_FAILED;
			out[2] = 0xFB;	/* HW_ERROR */
			return 3;
		}
		if (x->plen > cap)
			return -EPIPE;	/* wLength too small for it */
		n = x->plen;
		memcpy(out, x->pend, n);
		x->have = 0;
		return (int)n;
	}
	if (rt == 0xA1 && req == 0x81) {
		if (cap < 3 || run(x, d, VT_CCID_PC_GET_SLOT_STATUS, 0, 0, NULL,
		    0) != 0)
			return -EPIPE;
		x->carry += x->ext;
		out[0] = 0x40;
		out[1] = x->frame[7];
		out[2] = x->frame[8];
		return 3;
	}
	return -EPIPE;
}

/* ---- version A ----------------------------------------------------------- */

/* Runs an APDU; the answer goes to rsp (data, then SW1 SW2). */
static int
a_apdu(struct rd_iccd *x, struct rd_dev *d, const uint8_t *apdu,
    size_t len, int case3)
{
	size_t n;

	x->rlen = x->roff = 0;
	/* GET RESPONSE after our own 61 xx */
	if (x->slen > 0 && len == 5 && apdu[1] == 0xC0) {
		size_t want = apdu[4] == 0 ? 256 : apdu[4];
		size_t left = x->slen - x->soff;

		n = want < left ? want : left;
		memcpy(x->rsp, x->stash + x->soff, n);
		x->soff += n;
		left -= n;
		x->rsp[n] = left == 0 ? x->ssw[0] : 0x61;
		x->rsp[n + 1] = left == 0 ? x->ssw[1] : left > 255 ? 0 :
		    (uint8_t)left;
		x->rlen = n + 2;
		if (left == 0)
			x->slen = x->soff = 0;
		return 0;
	}
	x->slen = x->soff = 0;
	if (run(x, d, VT_CCID_PC_XFR_BLOCK, 0, 0, apdu, len) != 0 || !ok(x) ||
	    x->flen < 12)
		return -1;
	n = x->flen - 10;
	x->busy += x->ext;
	if (case3 && n > 2) {
		/* T=0: a command that sent data cannot also get data */
		x->slen = n - 2;
		memcpy(x->stash, x->frame + 10, x->slen);
		memcpy(x->ssw, x->frame + 10 + x->slen, 2);
		x->rsp[0] = 0x61;
		x->rsp[1] = x->slen > 255 ? 0 : (uint8_t)x->slen;
		x->rlen = 2;
		return 0;
	}
	memcpy(x->rsp, x->frame + 10, n);
	x->rlen = n;
	return 0;
}

static int
a_control(struct rd_iccd *x, struct rd_dev *d, uint8_t rt, uint8_t req,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t cap)
{
	uint8_t apdu[5 + 255];
	size_t n;

	if (rt == 0xA1 && req == 0x62) {
		x->state = A_IDLE;
		x->slen = 0;
		if (run(x, d, VT_CCID_PC_ICC_POWER_ON, 0, 0, NULL, 0) != 0)
			return -EPIPE;
		if (!ok(x))
			return 0;	/* no ATR */
		n = x->flen - 10;
		if (n > cap)
			n = cap;
		memcpy(out, x->frame + 10, n);
		return (int)n;
	}
	if (rt == 0x21 && req == 0x63) {
		x->state = A_IDLE;
		x->slen = 0;
		if (run(x, d, VT_CCID_PC_ICC_POWER_OFF, 0, 0, NULL, 0) != 0)
			return -EPIPE;
		return 0;
	}
	if (rt == 0xA1 && req == 0xA0) {
		if (cap < 1 || run(x, d, VT_CCID_PC_GET_SLOT_STATUS, 0, 0, NULL,
		    0) != 0)
			return -EPIPE;
		x->busy += x->ext;	/* `wtx N`: N busy answers */
		if ((x->frame[7] & 0x03) == 2)
			out[0] = 0x80;
		else if (x->busy > 0) {
			x->busy--;
			out[0] = 0x40;
		} else if (x->state == A_HDR || (x->state == A_DATA_IN &&
		    x->roff < x->rlen - 2))
			out[0] = 0x10;
		else if (x->state == A_DATA_IN || x->state == A_SW)
			out[0] = 0x20;
		else
			out[0] = 0x00;
		return 1;
	}
	if (rt == 0x21 && req == 0x65) {
		if (x->state == A_IDLE || x->state == A_SW) {
			/* a new command header */
			if (inlen != 5)
				return -EPIPE;
			memcpy(x->hdr, in, 5);
			if (x->hdr[4] != 0) {
				x->state = A_HDR;
				return 0;
			}
			/* P3 = 0: case 1, or case 2 with Le 256 */
			if (a_apdu(x, d, x->hdr, 5, 0) != 0)
				return -EPIPE;
			x->state = A_DATA_IN;
			return 0;
		}
		if (x->state != A_HDR || inlen != x->hdr[4])
			return -EPIPE;
		memcpy(apdu, x->hdr, 5);
		memcpy(apdu + 5, in, inlen);
		if (a_apdu(x, d, apdu, 5 + inlen, 1) != 0)
			return -EPIPE;
		x->roff = x->rlen - 2;	/* only SW1 SW2 to give */
		x->state = A_SW;
		return 0;
	}
	if (rt == 0xA1 && req == 0x6F) {
		if (x->state == A_HDR) {
			/* the host reads: case 2 with Le = P3 */
			if (a_apdu(x, d, x->hdr, 5, 0) != 0)
				return -EPIPE;
			x->state = A_DATA_IN;
		}
		if (x->state != A_DATA_IN && x->state != A_SW)
			return -EPIPE;
		if (x->rlen < 2)
			return -EPIPE;
		if (x->roff < x->rlen - 2) {
			/* the response data */
			n = x->rlen - 2 - x->roff;
			if (n > cap)
				n = cap;
			memcpy(out, x->rsp + x->roff, n);
			x->roff += n;
			return (int)n;
		}
		if (cap < 2)
			return -EPIPE;
		memcpy(out, x->rsp + x->rlen - 2, 2);
		x->state = A_IDLE;
		return 2;
	}
	return -EPIPE;
}

int
rd_iccd_control(struct rd_iccd *x, struct rd_dev *d, uint8_t rt,
    uint8_t req, uint16_t value, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t cap)
{
	if (x == NULL || (inlen > 0 && in == NULL))
		return -EPIPE;
	if (x->version == VT_ICCD_B)
		return b_control(x, d, rt, req, value, in, inlen, out, cap);
	return a_control(x, d, rt, req, in, inlen, out, cap);
}
