/* SPDX-License-Identifier: MIT */
/*
 * ccid/ccid_iccd.c — USB ICCD (Integrated Circuit(s) Card Devices, rev
 * 1.0): the control-pipe protocols of class 0x0B with bInterfaceProtocol
 * 1 (version A) and 2 (version B), as a transport beneath the CCID
 * message layer.
 *
 * An ICCD token has no bulk pipes: every exchange is a class request on
 * the default pipe (ICC_POWER_ON 0x62, ICC_POWER_OFF 0x63, XFR_BLOCK
 * 0x65, DATA_BLOCK 0x6F, and GET_ICC_STATUS 0xA0 in version A, SLOT_STATUS
 * 0x81 in version B).  The adapter here is an I/O table (ccid_io_t) whose
 * write() takes a PC_to_RDR message, runs it as ICCD requests, and keeps
 * the RDR_to_PC answer it synthesises for the next read(): ccid_reader.c,
 * piv/ and above see a one-slot reader and are unchanged.
 *
 *   version A: a T=0 device.  Presented as a TPDU-level reader with
 *     automatic parameters (0x40), so the reader layer sends T=0 TPDUs:
 *     the header goes out with XFR_BLOCK, GET_ICC_STATUS says what the
 *     card wants next (0x10 data: send the command data or read the
 *     response data; 0x20 SW1 SW2 ready; 0x40 busy; 0x80 no card / mute),
 *     DATA_BLOCK reads.
 *   version B: an APDU-level device.  XFR_BLOCK carries the APDU (wValue
 *     high byte: the wLevelParameter), DATA_BLOCK answers with a first
 *     byte bResponseType: 00 the data, 01/02/03/10 a chain part, 40
 *     status information (bStatus bError), 80 "poll again after wDelay
 *     x 10 ms" (version B's time extension).
 *
 * Every answer is parsed by pure functions (ccid_iccd_a_status,
 * ccid_iccd_b_parse) that check its length; every busy / polling loop is
 * bounded by CCID_ICCD_MAX_POLL and by the caller's budget, which every
 * request and every wait is charged to.
 */
#include "ccid_int.h"

#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

/* ---- pure parsers ------------------------------------------------------- */

int
ccid_iccd_a_status(const uint8_t *buf, size_t len, int *state)
{
	uint8_t s;

	if (state != NULL)
		*state = -1;
	if (buf == NULL || state == NULL || len != 1)
		return CCID_ERR_PROTO;
	s = buf[0];
	if (s & CCID_ICCD_A_BUSY)
		*state = CCID_ICCD_A_ST_BUSY;
	else if (s & CCID_ICCD_A_MUTE)
		*state = CCID_ICCD_A_ST_ABSENT;
	else if (s == CCID_ICCD_A_DATA)
		*state = CCID_ICCD_A_ST_DATA;
	else if (s == CCID_ICCD_A_SW)
		*state = CCID_ICCD_A_ST_SW;
	else if (s == 0)
		*state = CCID_ICCD_A_ST_IDLE;
	else
		return CCID_ERR_PROTO;
	return 0;
}

int
ccid_iccd_b_parse(const uint8_t *buf, size_t len, size_t max_data,
    struct ccid_iccd_b *out)
{
	unsigned delay;

	if (out == NULL)
		return CCID_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len == 0)
		return CCID_ERR_PROTO;	/* not even a bResponseType */
	out->type = buf[0];
	switch (buf[0]) {
	case CCID_CHAIN_BEGIN_END:
	case CCID_CHAIN_BEGIN:
	case CCID_CHAIN_END:
	case CCID_CHAIN_CONTINUE:
	case CCID_CHAIN_EMPTY:
		if (len - 1 > max_data)
			return CCID_ERR_PROTO;
		if (buf[0] == CCID_CHAIN_EMPTY && len != 1)
			return CCID_ERR_PROTO;
		out->kind = CCID_ICCD_B_DATA;
		out->data = len > 1 ? buf + 1 : NULL;
		out->data_len = len - 1;
		return 0;
	case CCID_ICCD_B_STATUS_INFO:
		if (len != 3)
			return CCID_ERR_PROTO;
		out->kind = CCID_ICCD_B_STATUS;
		out->bStatus = buf[1];
		out->bError = buf[2];
		return 0;
	case CCID_ICCD_B_POLLING:
		if (len != 3)
			return CCID_ERR_PROTO;
		out->kind = CCID_ICCD_B_POLL;
		delay = (unsigned)buf[1] | (unsigned)buf[2] << 8;
		/* 0: the host chooses; else units of 10 ms, clamped so that
		 * one answer cannot park us for ten minutes */
		if (delay == 0)
			delay = 1;
		delay *= CCID_ICCD_POLL_UNIT_MS;
		if (delay > CCID_ICCD_MAX_DELAY_MS)
			delay = CCID_ICCD_MAX_DELAY_MS;
		out->delay_ms = (int)delay;
		return 0;
	default:
		return CCID_ERR_PROTO;
	}
}

/* ---- the adapter --------------------------------------------------------- */

struct iccd {
	ccid_io_t low;		/* the control pipe etc. (usb/) */
	void *lh;
	int version;		/* USB_ICCD_A or USB_ICCD_B */
	int powered;		/* we powered the card (version A's status
				 * cannot say active from inactive) */
	size_t max_data;	/* largest abData we take in a DATA_BLOCK */
	void (*sleep)(int ms);
	uint8_t *rsp;		/* the RDR_to_PC answer waiting for read() */
	size_t rsp_len, rsp_cap;
	int have_rsp;
	uint8_t *tmp;		/* DATA_BLOCK answers */
	size_t tmp_cap;
};

/* Waits d ms of the budget (bounded by what is left). */
static void
iccd_wait(struct iccd *a, int d, int *ms)
{
	if (d > *ms)
		d = *ms;
	if (d > 0)
		a->sleep(d);
	*ms -= d;
	if (*ms < 0)
		*ms = 0;
}

static int
ctl(struct iccd *a, uint8_t rt, uint8_t req, uint16_t wValue, uint8_t *data,
    size_t len, size_t *got, int *ms)
{
	size_t g = 0;
	int rc;

	if (*ms <= 0)
		return CCID_ERR_TIMEOUT;
	rc = a->low.control(a->lh, rt, req, wValue, data, len, &g, ms);
	if (rc == 0 && g > len)
		rc = CCID_ERR_PROTO;	/* more than asked for */
	if (got != NULL)
		*got = rc == 0 ? g : 0;
	if (rc != 0)
		util_trace(1, "iccd: request %02X failed: %s", req,
		    ccid_strerror(rc));
	return rc;
}

/* Version A: GET_ICC_STATUS until not busy.  *state: CCID_ICCD_A_ST_*. */
static int
a_status(struct iccd *a, int *state, int *ms)
{
	uint8_t b[1];
	size_t got, n;
	int rc;

	for (n = 0; n < CCID_ICCD_MAX_POLL; n++) {
		if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_IN,
		    CCID_ICCD_REQ_GET_ICC_STATUS, 0, b, sizeof(b), &got,
		    ms)) != 0)
			return rc;
		if ((rc = ccid_iccd_a_status(b, got, state)) != 0) {
			util_trace(1, "iccd: bad ICC status (%zu bytes, %02X)",
			    got, got > 0 ? b[0] : 0);
			return rc;
		}
		if (*state != CCID_ICCD_A_ST_BUSY)
			return 0;
		if (*ms <= 0)
			return CCID_ERR_TIMEOUT;
		iccd_wait(a, CCID_ICCD_POLL_UNIT_MS, ms);
	}
	util_trace(1, "iccd: still busy after %d polls", CCID_ICCD_MAX_POLL);
	return CCID_ERR_TIMEOUT;
}

/*
 * Version B: one request (req, IN, up to a->max_data + 1 bytes) until an
 * answer that is not "poll again".  out points into a->tmp.
 */
static int
b_poll(struct iccd *a, uint8_t req, struct ccid_iccd_b *out, int *ms)
{
	size_t got, n, want = a->max_data + 1;
	int rc;

	if (req == CCID_ICCD_REQ_SLOT_STATUS)
		want = 3;
	for (n = 0; n < CCID_ICCD_MAX_POLL; n++) {
		if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_IN, req, 0, a->tmp, want,
		    &got, ms)) != 0)
			return rc;
		if ((rc = ccid_iccd_b_parse(a->tmp, got, a->max_data, out))
		    != 0) {
			util_trace(1, "iccd: malformed answer to %02X (%zu "
			    "bytes, type %02X)", req, got, got > 0 ?
			    a->tmp[0] : 0);
			return rc;
		}
		if (out->kind != CCID_ICCD_B_POLL)
			return 0;
		if (*ms <= 0)
			return CCID_ERR_TIMEOUT;
		util_trace(2, "iccd: poll again in %d ms", out->delay_ms);
		iccd_wait(a, out->delay_ms, ms);
	}
	util_trace(1, "iccd: still polling after %d answers",
	    CCID_ICCD_MAX_POLL);
	return CCID_ERR_TIMEOUT;
}

/* The RDR_to_PC answer to (type, slot, seq) for read(). */
static int
reply(struct iccd *a, const uint8_t *cmd, uint8_t bStatus, uint8_t bError,
    uint8_t bSpecific, const uint8_t *data, size_t dlen)
{
	uint8_t *p = a->rsp;

	if (CCID_HDR_LEN + dlen > a->rsp_cap)
		return CCID_ERR_PROTO;
	p[0] = ccid_msg_reply_type(cmd[0]);
	p[1] = (uint8_t)dlen;
	p[2] = (uint8_t)(dlen >> 8);
	p[3] = (uint8_t)(dlen >> 16);
	p[4] = (uint8_t)(dlen >> 24);
	p[5] = cmd[5];
	p[6] = cmd[6];
	p[7] = bStatus;
	p[8] = bError;
	p[9] = bSpecific;
	if (dlen > 0)
		memcpy(p + CCID_HDR_LEN, data, dlen);
	a->rsp_len = CCID_HDR_LEN + dlen;
	a->have_rsp = 1;
	return 0;
}

static uint8_t
icc(const struct iccd *a)
{
	return a->powered ? CCID_SLOT_ACTIVE : CCID_SLOT_INACTIVE;
}

static int
fail(struct iccd *a, const uint8_t *cmd, uint8_t icc_state, uint8_t bError)
{
	return reply(a, cmd, (uint8_t)(CCID_CMD_FAILED | icc_state), bError,
	    0, NULL, 0);
}

/* Version B status information as a failed CCID answer. */
static int
b_fail(struct iccd *a, const uint8_t *cmd, const struct ccid_iccd_b *b)
{
	uint8_t st = b->bStatus & CCID_ICC_MASK;

	util_trace(1, "iccd: status information %02X %02X (%s)", b->bStatus,
	    b->bError, ccid_berror_name(b->bError));
	if (st == 3)
		st = CCID_SLOT_ABSENT;
	if (st != CCID_SLOT_ACTIVE)
		a->powered = 0;
	return fail(a, cmd, st, b->bError);
}

static int
slot_status(struct iccd *a, const uint8_t *cmd, int *ms)
{
	struct ccid_iccd_b b;
	int rc, st;

	if (a->version == USB_ICCD_A) {
		if ((rc = a_status(a, &st, ms)) != 0)
			return rc;
		if (st == CCID_ICCD_A_ST_ABSENT) {
			a->powered = 0;
			return reply(a, cmd, CCID_SLOT_ABSENT, 0, 0, NULL, 0);
		}
		return reply(a, cmd, icc(a), 0, 0, NULL, 0);
	}
	if ((rc = b_poll(a, CCID_ICCD_REQ_SLOT_STATUS, &b, ms)) != 0)
		return rc;
	/* SLOT_STATUS answers with status information (40 bStatus bError);
	 * libccid reads the second byte whatever the first, so a 00 first
	 * byte with two more is taken too */
	if (b.kind == CCID_ICCD_B_DATA && b.type == CCID_CHAIN_BEGIN_END &&
	    b.data_len == 2)
		b.bStatus = b.data[0];
	else if (b.kind != CCID_ICCD_B_STATUS) {
		util_trace(1, "iccd: SLOT_STATUS answered type %02X (%zu "
		    "bytes)", b.type, b.data_len + 1);
		return CCID_ERR_PROTO;
	}
	st = b.bStatus & CCID_ICC_MASK;
	if (st == 3)
		st = CCID_SLOT_ABSENT;
	a->powered = st == CCID_SLOT_ACTIVE;
	return reply(a, cmd, (uint8_t)st, 0, 0, NULL, 0);
}

static int
power_off(struct iccd *a, const uint8_t *cmd, int *ms)
{
	struct ccid_iccd_b b;
	int rc;

	a->powered = 0;
	if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_OUT, CCID_ICCD_REQ_POWER_OFF, 0,
	    NULL, 0, NULL, ms)) != 0)
		return rc;
	/* version B: the state after it (libccid reads it too) */
	if (a->version == USB_ICCD_B &&
	    (rc = b_poll(a, CCID_ICCD_REQ_SLOT_STATUS, &b, ms)) != 0)
		return rc;
	return cmd != NULL ? reply(a, cmd, CCID_SLOT_INACTIVE, 0, 0, NULL, 0) :
	    0;
}

static int
power_on(struct iccd *a, const uint8_t *cmd, int *ms)
{
	struct ccid_iccd_b b;
	uint8_t atr[CCID_ICCD_ATR_MAX];
	size_t got = 0;
	int rc, st;

	/* first power off: resets the device's state machine */
	if ((rc = power_off(a, NULL, ms)) != 0)
		return rc;
	if (a->version == USB_ICCD_A) {
		if ((rc = a_status(a, &st, ms)) != 0)
			return rc;
		if (st == CCID_ICCD_A_ST_ABSENT)
			return fail(a, cmd, CCID_SLOT_ABSENT,
			    CCID_BERR_ICC_MUTE);
		if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_IN,
		    CCID_ICCD_REQ_POWER_ON, 0, atr, sizeof(atr), &got,
		    ms)) != 0)
			return rc;
		if (got == 0)
			return fail(a, cmd, CCID_SLOT_INACTIVE,
			    CCID_BERR_ICC_MUTE);
		a->powered = 1;
		return reply(a, cmd, CCID_SLOT_ACTIVE, 0, 0, atr, got);
	}
	/* version B: power on (wValue 1: activate), the ATR in a DATA_BLOCK */
	if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_OUT, CCID_ICCD_REQ_POWER_ON, 1,
	    NULL, 0, NULL, ms)) != 0)
		return rc;
	if ((rc = b_poll(a, CCID_ICCD_REQ_DATA_BLOCK, &b, ms)) != 0)
		return rc;
	if (b.kind == CCID_ICCD_B_STATUS)
		return b_fail(a, cmd, &b);
	if (b.type != CCID_CHAIN_BEGIN_END || b.data_len == 0 ||
	    b.data_len > CCID_ICCD_ATR_MAX) {
		util_trace(1, "iccd: no ATR (type %02X, %zu bytes)", b.type,
		    b.data_len);
		return b.data_len == 0 ? fail(a, cmd, CCID_SLOT_INACTIVE,
		    CCID_BERR_ICC_MUTE) : CCID_ERR_PROTO;
	}
	a->powered = 1;
	return reply(a, cmd, CCID_SLOT_ACTIVE, 0, 0, b.data, b.data_len);
}

/* Version B: one XfrBlock (any wLevelParameter) as XFR_BLOCK + DATA_BLOCK. */
static int
b_xfr(struct iccd *a, const uint8_t *cmd, const uint8_t *data, size_t dlen,
    int *ms)
{
	struct ccid_iccd_b b;
	uint16_t level = (uint16_t)(cmd[8] | cmd[9] << 8);
	uint8_t *p;
	int rc;

	if (level > 0xff)
		return fail(a, cmd, icc(a), 8);	/* bad wLevelParameter */
	/* usb/ takes a writable buffer for both directions; OUT does not
	 * write to it */
	memcpy(&p, &data, sizeof(p));
	if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_OUT, CCID_ICCD_REQ_XFR_BLOCK,
	    (uint16_t)(level << 8), dlen > 0 ? p : NULL, dlen, NULL, ms)) != 0)
		return rc;
	if ((rc = b_poll(a, CCID_ICCD_REQ_DATA_BLOCK, &b, ms)) != 0)
		return rc;
	if (b.kind == CCID_ICCD_B_STATUS)
		return b_fail(a, cmd, &b);
	rc = reply(a, cmd, CCID_SLOT_ACTIVE, 0, b.type, b.data, b.data_len);
	util_wipe(a->tmp, a->tmp_cap);
	return rc;
}

/*
 * Version A: one T=0 TPDU (header, and the command data when P3 counts
 * it) as XFR_BLOCK / GET_ICC_STATUS / DATA_BLOCK; the answer is the
 * response data and SW1 SW2.
 */
static int
a_xfr(struct iccd *a, const uint8_t *cmd, const uint8_t *data, size_t dlen,
    int *ms)
{
	uint8_t hdr[5], out[256 + 2], *p;
	size_t olen = 0, got, want, steps;
	int rc, st, sent = 0, read = 0;

	if (dlen < 5 || (dlen > 5 && dlen != 5 + (size_t)data[4]))
		return fail(a, cmd, icc(a), 1);	/* dwLength: not a TPDU */
	memcpy(hdr, data, 5);
	if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_OUT, CCID_ICCD_REQ_XFR_BLOCK, 0,
	    hdr, 5, NULL, ms)) != 0)
		return rc;
	/* at most: data out or in, then SW1 SW2 */
	for (steps = 0; steps < 3; steps++) {
		if ((rc = a_status(a, &st, ms)) != 0)
			goto out;
		switch (st) {
		case CCID_ICCD_A_ST_ABSENT:
			a->powered = 0;
			rc = fail(a, cmd, CCID_SLOT_ABSENT, CCID_BERR_ICC_MUTE);
			goto out;
		case CCID_ICCD_A_ST_DATA:
			if (dlen > 5 && !sent) {
				memcpy(&p, &data, sizeof(p));
				if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_OUT,
				    CCID_ICCD_REQ_XFR_BLOCK, 0, p + 5,
				    dlen - 5, NULL, ms)) != 0)
					goto out;
				sent = 1;
				continue;
			}
			if (dlen > 5 || read) {
				util_trace(1, "iccd: card wants data again");
				rc = CCID_ERR_PROTO;
				goto out;
			}
			want = hdr[4] == 0 ? 256 : hdr[4];
			if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_IN,
			    CCID_ICCD_REQ_DATA_BLOCK, 0, out, want, &got,
			    ms)) != 0)
				goto out;
			olen = got;	/* <= want by usb/'s check */
			if (olen > want) {
				rc = CCID_ERR_PROTO;
				goto out;
			}
			read = 1;
			continue;
		case CCID_ICCD_A_ST_SW:
			if ((rc = ctl(a, CCID_REQ_TYPE_IFACE_IN,
			    CCID_ICCD_REQ_DATA_BLOCK, 0, out + olen, 2, &got,
			    ms)) != 0)
				goto out;
			if (got != 2) {
				util_trace(1, "iccd: %zu status bytes", got);
				rc = CCID_ERR_PROTO;
				goto out;
			}
			rc = reply(a, cmd, CCID_SLOT_ACTIVE, 0, 0, out,
			    olen + 2);
			goto out;
		default:
			util_trace(1, "iccd: device idle in a command");
			rc = CCID_ERR_PROTO;
			goto out;
		}
	}
	util_trace(1, "iccd: no SW1 SW2 after the data");
	rc = CCID_ERR_PROTO;
out:
	util_wipe(out, sizeof(out));
	return rc;
}

static int
iccd_write(void *h, const uint8_t *buf, size_t len, int *ms)
{
	struct iccd *a = h;
	uint32_t dwlen;
	const uint8_t *data;
	/* GetParameters at TPDU level (version A): T=0 at Fd/Dd, WI 10 */
	static const uint8_t t0[5] = { 0x11, 0x00, 0x00, 0x0a, 0x00 };

	a->have_rsp = 0;
	if (buf == NULL || len < CCID_HDR_LEN || ms == NULL)
		return CCID_ERR_ARG;
	dwlen = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 |
	    (uint32_t)buf[3] << 16 | (uint32_t)buf[4] << 24;
	if (dwlen != len - CCID_HDR_LEN)
		return CCID_ERR_ARG;
	data = buf + CCID_HDR_LEN;
	if (buf[5] != 0)
		return fail(a, buf, CCID_SLOT_ABSENT, 5);	/* bSlot */
	switch (buf[0]) {
	case CCID_PC_GET_SLOT_STATUS:
		return slot_status(a, buf, ms);
	case CCID_PC_ICC_POWER_ON:
		return power_on(a, buf, ms);
	case CCID_PC_ICC_POWER_OFF:
		return power_off(a, buf, ms);
	case CCID_PC_XFR_BLOCK:
		if (!a->powered)
			return fail(a, buf, CCID_SLOT_INACTIVE,
			    CCID_BERR_ICC_MUTE);
		return a->version == USB_ICCD_A ?
		    a_xfr(a, buf, data, len - CCID_HDR_LEN, ms) :
		    b_xfr(a, buf, data, len - CCID_HDR_LEN, ms);
	case CCID_PC_GET_PARAMETERS:
		if (a->version == USB_ICCD_A && a->powered)
			return reply(a, buf, CCID_SLOT_ACTIVE, 0, 0, t0,
			    sizeof(t0));
		return fail(a, buf, icc(a), CCID_BERR_CMD_NOT_SUPPORTED);
	case CCID_PC_ABORT:
		return reply(a, buf, icc(a), 0, 0, NULL, 0);
	default:
		/* SetParameters, Escape, clock, mechanical, secure: no ICCD
		 * request does them */
		return fail(a, buf, icc(a), CCID_BERR_CMD_NOT_SUPPORTED);
	}
}

static int
iccd_read(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	struct iccd *a = h;

	(void)ms;
	*got = 0;
	if (!a->have_rsp)
		return CCID_ERR_TIMEOUT;	/* nothing was asked */
	a->have_rsp = 0;
	if (a->rsp_len > cap)
		return CCID_ERR_PROTO;
	memcpy(buf, a->rsp, a->rsp_len);
	*got = a->rsp_len;
	util_wipe(a->rsp, a->rsp_len);
	return 0;
}

static int
iccd_read_intr(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	struct iccd *a = h;

	return a->low.read_intr(a->lh, buf, cap, got, ms);
}

static int
iccd_control(void *h, uint8_t bmRequestType, uint8_t bRequest,
    uint16_t wValue, uint8_t *data, size_t len, size_t *got, int *ms)
{
	(void)h; (void)bmRequestType; (void)wValue; (void)data; (void)len;
	(void)ms;
	*got = 0;
	/* CCID's ABORT: nothing is in flight between two of our requests */
	if (bRequest == CCID_REQ_ABORT)
		return 0;
	return CCID_ERR_CMD_UNSUPPORTED;
}

static int
iccd_begin(void *h, int *ms)
{
	struct iccd *a = h;

	return a->low.begin != NULL ? a->low.begin(a->lh, ms) : 0;
}

static int
iccd_end(void *h)
{
	struct iccd *a = h;

	return a->low.end != NULL ? a->low.end(a->lh) : 0;
}

static uint64_t
iccd_generation(void *h)
{
	struct iccd *a = h;

	return a->low.generation(a->lh);
}

static int
iccd_note(void *h, int kind)
{
	struct iccd *a = h;

	return a->low.note(a->lh, kind);
}

static uint64_t
iccd_events(void *h, int kind)
{
	struct iccd *a = h;

	return a->low.events(a->lh, kind);
}

static void
iccd_close(void *h)
{
	struct iccd *a = h;

	if (a == NULL)
		return;
	util_freezero(a->rsp, a->rsp_cap);
	util_freezero(a->tmp, a->tmp_cap);
	util_freezero(a, sizeof(*a));
}

void
ccid_iccd_set_sleep(void *h, void (*sleep)(int ms))
{
	struct iccd *a = h;

	if (a != NULL)
		a->sleep = sleep != NULL ? sleep : util_sleep_ms;
}

int
ccid_iccd_present(int version, const struct usb_ccid_desc *declared,
    struct usb_ccid_desc *out)
{
	uint32_t f, m;

	if (declared == NULL || out == NULL ||
	    (version != USB_ICCD_A && version != USB_ICCD_B))
		return CCID_ERR_ARG;
	*out = *declared;
	out->bMaxSlotIndex = 0;		/* ICCD: one card */
	out->bNumDataRatesSupported = 0;
	out->bNumClockSupported = 0;
	f = declared->dwFeatures & ~(USB_CCID_FEAT_LEVEL_MASK |
	    USB_CCID_FEAT_AUTO_PPS_CUR | USB_CCID_FEAT_AUTO_IFSD);
	f |= USB_CCID_FEAT_AUTO_PPS_PROP;	/* the device does it all */
	if (version == USB_ICCD_A) {
		/* T=0 TPDUs, the device handling procedure bytes */
		f |= USB_CCID_FEAT_LEVEL_TPDU;
		out->dwProtocols = 0x01;
	} else {
		/* version B: APDUs, whatever protocol the device speaks to
		 * its chip */
		if ((declared->dwFeatures & USB_CCID_FEAT_LEVEL_MASK) ==
		    USB_CCID_FEAT_LEVEL_EXT_APDU)
			f |= USB_CCID_FEAT_LEVEL_EXT_APDU;
		else
			f |= USB_CCID_FEAT_LEVEL_SHORT_APDU;
		out->dwProtocols = 0x03;
	}
	out->dwFeatures = f;
	/* ICCD's dwMaxCCIDMessageLength counts abData only (no 10-byte
	 * header travels): the CCID-side figure is 10 more */
	m = declared->dwMaxCCIDMessageLength;
	if (m > CCID_ICCD_MAX_DATA)
		m = CCID_ICCD_MAX_DATA;
	m += CCID_HDR_LEN;
	if (m < CCID_MSG_FLOOR)
		m = CCID_MSG_FLOOR;
	out->dwMaxCCIDMessageLength = m;
	return 0;
}

int
ccid_iccd_io(const ccid_io_t *low, void *low_h, int version,
    const struct usb_ccid_desc *declared, ccid_io_t *io, void **h,
    struct usb_ccid_desc *presented)
{
	struct iccd *a;
	int rc;

	if (h != NULL)
		*h = NULL;
	if (low == NULL || low->control == NULL || io == NULL || h == NULL ||
	    presented == NULL)
		return CCID_ERR_ARG;
	if ((rc = ccid_iccd_present(version, declared, presented)) != 0)
		return rc;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return CCID_ERR_NOMEM;
	a->low = *low;
	a->lh = low_h;
	a->version = version;
	a->sleep = util_sleep_ms;
	a->max_data = presented->dwMaxCCIDMessageLength - CCID_HDR_LEN;
	a->rsp_cap = presented->dwMaxCCIDMessageLength;
	a->tmp_cap = a->max_data + 1;
	if ((a->rsp = malloc(a->rsp_cap)) == NULL ||
	    (a->tmp = malloc(a->tmp_cap)) == NULL) {
		iccd_close(a);
		return CCID_ERR_NOMEM;
	}
	memset(io, 0, sizeof(*io));
	io->write = iccd_write;
	io->read = iccd_read;
	io->read_intr = low->read_intr != NULL && version == USB_ICCD_B ?
	    iccd_read_intr : NULL;
	io->control = iccd_control;
	io->begin = iccd_begin;
	io->end = iccd_end;
	io->generation = low->generation != NULL ? iccd_generation : NULL;
	io->note = low->note != NULL ? iccd_note : NULL;
	io->events = low->events != NULL ? iccd_events : NULL;
	io->close = iccd_close;
	*h = a;
	return 0;
}
