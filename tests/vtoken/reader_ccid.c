/* SPDX-License-Identifier: MIT */
/*
 * reader_ccid.c — the reader side of CCID 1.1: PC_to_RDR messages in,
 * RDR_to_PC frames out, per slot state, the exchange level of the profile
 * (short APDU, extended APDU with wLevelParameter chaining, TPDU with the
 * card side of T=1), and the faults a test can inject.
 */
#define _GNU_SOURCE
#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt_ccid.h"
#include "vt_util.h"

/* bError values (CCID 1.1 §6.2.6). */
#define E_CMD_ABORTED		0xFF
#define E_ICC_MUTE		0xFE
#define E_XFR_OVERRUN		0xFC
#define E_HW_ERROR		0xFB
#define E_PROTO_NOT_SUPP	0xF6
#define E_CMD_NOT_SUPPORTED	0x00
#define E_BAD_DWLENGTH		0x01
#define E_BAD_SLOT		0x05
#define E_BAD_POWERSELECT	0x07
#define E_BAD_LEVELPARAM	0x08

/* bmCommandStatus in bits 6-7 of bStatus. */
#define ST_FAILED		0x40
#define ST_TIME_EXT		0x80

#define ICC_ACTIVE	0
#define ICC_INACTIVE	1
#define ICC_ABSENT	2

#define WTX_MAX		100000

struct rd_slot {
	card_backend_t card;
	int present;
	int powered;
	uint8_t atr[40];
	size_t atrlen;
	uint8_t proto;			/* 0 or 1: the reader's */
	uint8_t card_proto;		/* the card's (T=1 card profiles) */
	uint32_t card_protos;		/* the T its ATR offers (bits) */
	uint8_t params[7];
	size_t plen;
	uint8_t clock;			/* bClockStatus */
	/* extended APDU level chaining */
	uint8_t *cmd;
	size_t clen;
	int in_cmd_chain;
	uint8_t *rsp;
	size_t rlen, roff;
	int rsp_chain;
	/* abort class request seen */
	int abort_seen;
	uint8_t abort_seq;
	struct rd_t1 *t1;
};

struct rd_dev {
	struct rd_profile p;
	struct rd_hooks hooks;
	struct rd_slot slot[RD_MAX_SLOTS];
	size_t nslots;
	int unplugged;
	/* injections */
	long unplug_at;			/* 0: off */
	unsigned long bulk_count;
	int wtx_next;
	int wtx_forever;		/* every command gets wtx_forever frames */
	enum rd_malform malform;
	long malform_at;		/* 0: off; else the bulk command whose
					 * answer gets malform_at_kind */
	enum rd_malform malform_at_kind;
	int zlp_next;			/* zero-length packets before the
					 * next answer */
	int statusfail;			/* GetSlotStatus answers to fail */
	int t1_trailing;		/* next T=1 I-block gets extra bytes */
	uint8_t *out;			/* one response frame */
};

/* A TPDU reader that leaves PPS to the host or makes it on SetParameters
 * (no 0x40): the card stays in the protocol its ATR offers first, at the
 * default rate, until a PPS (ours, or the reader's on SetParameters with
 * 0x80) says otherwise. */
static int
strict_pps(const struct rd_dev *d)
{
	return d->p.t1_card && !(d->p.ccid.dwFeatures &
	    VT_CCID_FEAT_AUTO_PPS_PROP);
}

static int
level(const struct rd_dev *d)
{
	return (int)(d->p.ccid.dwFeatures & VT_CCID_FEAT_LEVEL_MASK);
}

static size_t
max_data(const struct rd_dev *d)
{
	return d->p.ccid.dwMaxCCIDMessageLength - VT_CCID_HDR_LEN;
}

static uint8_t
icc_status(const struct rd_slot *s)
{
	if (!s->present)
		return ICC_ABSENT;
	return s->powered ? ICC_ACTIVE : ICC_INACTIVE;
}

static void
default_params(struct rd_slot *s)
{
	s->proto = 1;
	s->plen = 7;
	s->params[0] = 0x11;	/* bmFindexDindex */
	s->params[1] = 0x10;	/* bmTCCKST1: LRC, direct convention */
	s->params[2] = 0x00;	/* bGuardTimeT1 */
	s->params[3] = 0x45;	/* bmWaitingIntegersT1 */
	s->params[4] = 0x00;	/* bClockStop */
	s->params[5] = 0xFE;	/* bIFSC */
	s->params[6] = 0x00;	/* bNadValue */
}

int
rd_dev_new(struct rd_dev **dp, const struct rd_profile *p,
    card_backend_t cards[RD_MAX_SLOTS], const struct rd_hooks *hooks)
{
	struct rd_dev *d;
	size_t i;

	*dp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->p = *p;
	if (hooks != NULL)
		d->hooks = *hooks;
	d->nslots = (size_t)p->ccid.bMaxSlotIndex + 1;
	if (d->nslots > RD_MAX_SLOTS)
		d->nslots = RD_MAX_SLOTS;
	if ((d->out = malloc(RD_MSG_MAX + 16)) == NULL)
		goto fail;
	for (i = 0; i < RD_MAX_SLOTS; i++) {
		struct rd_slot *s = &d->slot[i];

		s->card = cards[i];
		memset(&cards[i], 0, sizeof(cards[i]));
		s->present = s->card.ops != NULL;
		s->clock = 0;
		default_params(s);
		if ((s->cmd = malloc(RD_APDU_MAX)) == NULL ||
		    (s->rsp = malloc(RD_RAPDU_MAX)) == NULL)
			goto fail;
		if (p->t1_card && (s->t1 = rd_t1_new(32)) == NULL)
			goto fail;
	}
	*dp = d;
	return 0;
fail:
	rd_dev_free(&d);
	return -1;
}

void
rd_dev_free(struct rd_dev **dp)
{
	struct rd_dev *d;
	size_t i;

	if (dp == NULL || (d = *dp) == NULL)
		return;
	for (i = 0; i < RD_MAX_SLOTS; i++) {
		struct rd_slot *s = &d->slot[i];

		if (s->card.ops != NULL && s->card.ops->free != NULL)
			s->card.ops->free(s->card.h);
		free(s->cmd);
		free(s->rsp);
		rd_t1_free(&s->t1);
	}
	free(d->out);
	free(d);
	*dp = NULL;
}

const struct rd_profile *
rd_dev_profile(const struct rd_dev *d)
{
	return &d->p;
}

int
rd_dev_unplugged(const struct rd_dev *d)
{
	return d->unplugged;
}

static void
put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Builds and emits one RDR_to_PC frame, applying a pending malformation
 * to final answers (not to time extensions). */
static void
emit_frame(struct rd_dev *d, rd_emit_fn emit, void *ctx, uint8_t type,
    uint8_t slot, uint8_t seq, uint8_t status, uint8_t error,
    uint8_t specific, const uint8_t *data, size_t n)
{
	uint8_t *f = d->out;
	size_t len = VT_CCID_HDR_LEN + n;

	if (len > RD_MSG_MAX) {
		/* Cannot happen (every caller is bounded by the profile's
		 * message length); answer an error rather than overflow. */
		n = 0;
		len = VT_CCID_HDR_LEN;
		status |= ST_FAILED;
		error = E_HW_ERROR;
	}

	f[0] = type;
	put32le(f + 1, (uint32_t)n);
	f[5] = slot;
	f[6] = seq;
	f[7] = status;
	f[8] = error;
	f[9] = specific;
	if (n > 0)
		memcpy(f + VT_CCID_HDR_LEN, data, n);
	/* spurious zero-length packets before a final answer */
	for (; (status & 0xC0) != ST_TIME_EXT && d->zlp_next > 0; d->zlp_next--)
		emit(ctx, f, 0);
	if ((status & 0xC0) != ST_TIME_EXT && d->malform != RD_MAL_NONE) {
		switch (d->malform) {
		case RD_MAL_LENGTH_LONG:
			put32le(f + 1, (uint32_t)n + 5);
			break;
		case RD_MAL_LENGTH_SHORT:
			/* Claims fewer bytes than it carries. */
			if (n == 0) {
				f[len++] = 0x00;
				f[len++] = 0x00;
			} else
				put32le(f + 1, (uint32_t)n - 1);
			break;
		case RD_MAL_SEQ:
			f[6] = (uint8_t)(seq + 1);
			break;
		case RD_MAL_SLOT:
			f[5] = (uint8_t)(slot + 1);
			break;
		case RD_MAL_TRUNCATED:
			len = 7;
			break;
		case RD_MAL_TYPE:
			f[0] = type == VT_CCID_RDR_DATA_BLOCK ?
			    VT_CCID_RDR_SLOT_STATUS : VT_CCID_RDR_DATA_BLOCK;
			break;
		default:
			break;
		}
		d->malform = RD_MAL_NONE;
	}
	emit(ctx, f, len);
}

static void
emit_wtx(struct rd_dev *d, rd_emit_fn emit, void *ctx, uint8_t type,
    uint8_t slot, uint8_t seq, uint8_t icc)
{
	int n = d->wtx_forever > 0 ? d->wtx_forever : d->wtx_next, i;

	d->wtx_next = 0;
	for (i = 0; i < n; i++)
		emit_frame(d, emit, ctx, type, slot, seq,
		    (uint8_t)(ST_TIME_EXT | icc), 1, 0, NULL, 0);
}

static void
power_off(struct rd_slot *s)
{
	if (s->powered && s->card.ops != NULL && s->card.ops->power_off)
		s->card.ops->power_off(s->card.h);
	s->powered = 0;
	s->in_cmd_chain = 0;
	s->clen = 0;
	s->rsp_chain = 0;
	s->rlen = s->roff = 0;
	if (s->t1 != NULL)
		rd_t1_reset(s->t1);
}

/* Powers on (or warm-resets) the card; fills the ATR. */
static int
power_on(struct rd_dev *d, struct rd_slot *s)
{
	uint8_t atr[40];
	size_t n;

	if (s->card.ops == NULL)
		return -1;
	if (s->powered)
		power_off(s);
	if (s->card.ops->power_on)
		s->card.ops->power_on(s->card.h);
	n = s->card.ops->atr(s->card.h, atr, sizeof(atr));
	if (n == 0 || n > 33)
		return -1;
	if (d->p.atrlen > 0) {
		/* --atr: verbatim (the card side of T=1 keeps IFSC 32) */
		n = d->p.atrlen;
		memcpy(s->atr, d->p.atr, n);
	} else if (d->p.t1_card) {
		/* We are the T=1 card: our ATR says IFSC 32 so that host
		 * and card both chain. */
		n = rd_atr_set_ifsc(atr, n, 32, s->atr, sizeof(s->atr));
		if (n == 0)
			return -1;
	} else
		memcpy(s->atr, atr, n);
	s->atrlen = n;
	s->powered = 1;
	s->clock = 0;
	default_params(s);
	if (d->p.t1_card)
		s->params[5] = 32;
	s->card_proto = d->p.t1_card ? 1 : 0;
	s->card_protos = d->p.t1_card ? 3 : 1;
	if (strict_pps(d)) {
		uint32_t protos;
		int first;

		if (rd_atr_protocols(s->atr, s->atrlen, &protos, &first) == 0) {
			s->card_protos = protos;
			s->card_proto = first == 0 ? 0 : 1;
		}
		if (s->card_proto == 0) {
			/* the reader starts with the card: T=0, Fd/Dd */
			s->proto = 0;
			s->plen = 5;
			memcpy(s->params, "\x11\x00\x00\x0a\x00", 5);
		}
	}
	if (s->t1 != NULL)
		rd_t1_reset(s->t1);
	return 0;
}

/* Is this APDU in extended-length encoding? */
static int
apdu_is_extended(const uint8_t *a, size_t n)
{
	return n >= 7 && a[4] == 0;
}

/* Runs one complete APDU; the response waits in s->rsp. */
static int
run_apdu(struct rd_slot *s, const uint8_t *cmd, size_t clen)
{
	s->rlen = s->roff = 0;
	if (s->card.ops->apdu(s->card.h, cmd, clen, s->rsp, RD_RAPDU_MAX,
	    &s->rlen) != 0 || s->rlen > RD_RAPDU_MAX) {
		s->rlen = 0;
		return -1;
	}
	return 0;
}

/* Sends the next part of s->rsp as a DataBlock (extended level). */
static void
send_rsp_part(struct rd_dev *d, struct rd_slot *s, rd_emit_fn emit,
    void *ctx, uint8_t slot, uint8_t seq)
{
	size_t n = s->rlen - s->roff, cap = max_data(d);
	int first = s->roff == 0, last = 1;
	uint8_t chain;

	if (n > cap) {
		n = cap;
		last = 0;
	}
	if (first)
		chain = last ? 0x00 : 0x01;
	else
		chain = last ? 0x02 : 0x03;
	emit_frame(d, emit, ctx, VT_CCID_RDR_DATA_BLOCK, slot, seq,
	    icc_status(s), 0, chain, s->rsp + s->roff, n);
	s->roff += n;
	s->rsp_chain = !last;
}

static void
xfr_block(struct rd_dev *d, struct rd_slot *s, const uint8_t *msg,
    size_t dlen, rd_emit_fn emit, void *ctx)
{
	const uint8_t *data = msg + VT_CCID_HDR_LEN;
	uint8_t slot = msg[5], seq = msg[6];
	uint16_t wlevel = (uint16_t)(msg[8] | msg[9] << 8);
	uint8_t st = icc_status(s);
	size_t outlen;

#define FAIL(err) do { emit_frame(d, emit, ctx, VT_CCID_RDR_DATA_BLOCK, slot, \
	seq, (uint8_t)(ST_FAILED | st), (err), 0, NULL, 0); return; } while (0)

	if (!s->present || !s->powered)
		FAIL(E_ICC_MUTE);

	if (strict_pps(d) && dlen >= 3 && dlen <= 6 && data[0] == 0xFF &&
	    wlevel == 0) {
		/* PPS request (ISO/IEC 7816-3 §9.2): PPSS PPS0 [PPS1..3]
		 * PCK; the card takes a T its ATR offers and any Fi/Di */
		uint8_t x = 0, t = data[1] & 0x0F;
		size_t k, want = 3;

		for (k = 4; k < 7; k++)
			if (data[1] & (1u << k))
				want++;
		for (k = 0; k < dlen; k++)
			x ^= data[k];
		if (dlen != want || x != 0 || t > 1 ||
		    !(s->card_protos & (1u << t)))
			FAIL(E_ICC_MUTE);	/* the card does not answer */
		s->card_proto = t;
		emit_frame(d, emit, ctx, VT_CCID_RDR_DATA_BLOCK, slot, seq, st,
		    0, 0, data, dlen);
		return;
	}
	if (d->p.t1_card && s->card_proto == 1) {
		uint8_t blk[264];

		if (dlen == 0 || wlevel != 0)
			FAIL(dlen == 0 ? E_BAD_DWLENGTH : E_BAD_LEVELPARAM);
		if (rd_t1_block(s->t1, &s->card, data, dlen, blk, 260,
		    &outlen) != 0) {
			power_off(s);
			st = icc_status(s);
			FAIL(E_HW_ERROR);
		}
		if (d->t1_trailing && outlen >= 3 && !(blk[1] & 0x80) &&
		    outlen + 3 <= sizeof(blk)) {
			/* bytes after the next I-block, as some TPDU
			 * readers send them */
			d->t1_trailing = 0;
			memcpy(blk + outlen, "\x00\xff\x00", 3);
			outlen += 3;
		}
		emit_frame(d, emit, ctx, VT_CCID_RDR_DATA_BLOCK, slot, seq, st,
		    0, 0, blk, outlen);
		return;
	}
	/* A card in T=0 (its ATR's first protocol, no PPS yet) takes
	 * whole APDUs, as a T=0-only reader; T=1 blocks sent to it are
	 * garbage to it, and its answers garbage to a T=1 host. */

	if (level(d) != VT_CCID_FEAT_LEVEL_EXT_APDU) {
		/* Short APDU level (and our reading of the others). */
		if (wlevel != 0)
			FAIL(E_BAD_LEVELPARAM);
		if (dlen < 4 || dlen > 261 || (level(d) ==
		    VT_CCID_FEAT_LEVEL_SHORT_APDU && apdu_is_extended(data,
		    dlen)))
			FAIL(E_BAD_DWLENGTH);
		if (run_apdu(s, data, dlen) != 0)
			FAIL(E_HW_ERROR);
		if (s->rlen > max_data(d)) {
			s->rlen = 0;
			FAIL(E_XFR_OVERRUN);
		}
		emit_frame(d, emit, ctx, VT_CCID_RDR_DATA_BLOCK, slot, seq, st,
		    0, 0, s->rsp, s->rlen);
		return;
	}

	/* Extended APDU level, CCID 1.1 §6.1.4 wLevelParameter. */
	switch (wlevel) {
	case 0x0000:	/* begins and ends here */
	case 0x0001:	/* begins, continues */
	case 0x0002:	/* continues, ends */
	case 0x0003:	/* continues, continues */
		if (wlevel <= 1) {
			s->in_cmd_chain = 0;
			s->clen = 0;
			s->rsp_chain = 0;
		} else if (!s->in_cmd_chain)
			FAIL(E_BAD_LEVELPARAM);
		if (s->clen + dlen > RD_APDU_MAX) {
			s->in_cmd_chain = 0;
			s->clen = 0;
			FAIL(E_XFR_OVERRUN);
		}
		if (dlen > 0)
			memcpy(s->cmd + s->clen, data, dlen);
		s->clen += dlen;
		if (wlevel == 1 || wlevel == 3) {
			/* Ask for the next part. */
			s->in_cmd_chain = 1;
			emit_frame(d, emit, ctx, VT_CCID_RDR_DATA_BLOCK, slot,
			    seq, st, 0, 0x10, NULL, 0);
			return;
		}
		s->in_cmd_chain = 0;
		if (s->clen < 4)
			FAIL(E_BAD_DWLENGTH);
		if (run_apdu(s, s->cmd, s->clen) != 0)
			FAIL(E_HW_ERROR);
		send_rsp_part(d, s, emit, ctx, slot, seq);
		return;
	case 0x0010:	/* empty: the next part of the response, please */
		if (!s->rsp_chain || dlen != 0)
			FAIL(E_BAD_LEVELPARAM);
		send_rsp_part(d, s, emit, ctx, slot, seq);
		return;
	default:
		FAIL(E_BAD_LEVELPARAM);
	}
#undef FAIL
}

/* Can the reader run Fi/Di at its default clock (dwMaxDataRate)?  Unknown
 * figures: yes. */
static int
rate_ok(const struct rd_dev *d, uint8_t fidi)
{
	static const uint16_t F[16] = { 372, 372, 558, 744, 1116, 1488, 1860,
	    0, 0, 512, 768, 1024, 1536, 2048, 0, 0 };
	static const uint8_t D[16] = { 0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0,
	    0, 0, 0, 0, 0 };
	uint64_t f = F[fidi >> 4], dd = D[fidi & 0x0f];

	if (f == 0 || dd == 0)
		return 0;
	if (d->p.ccid.dwDefaultClock == 0 || d->p.ccid.dwMaxDataRate == 0)
		return 1;
	return (uint64_t)d->p.ccid.dwDefaultClock * 1000u * dd / f <=
	    d->p.ccid.dwMaxDataRate;
}

static void
send_params(struct rd_dev *d, struct rd_slot *s, rd_emit_fn emit, void *ctx,
    uint8_t slot, uint8_t seq, uint8_t status, uint8_t error)
{
	emit_frame(d, emit, ctx, VT_CCID_RDR_PARAMETERS, slot, seq, status,
	    error, s->proto, s->params, s->plen);
}

/* Which response type answers a message type. */
static uint8_t
answer_type(uint8_t t)
{
	switch (t) {
	case VT_CCID_PC_ICC_POWER_ON:
	case VT_CCID_PC_XFR_BLOCK:
	case VT_CCID_PC_SECURE:
		return VT_CCID_RDR_DATA_BLOCK;
	case VT_CCID_PC_GET_PARAMETERS:
	case VT_CCID_PC_RESET_PARAMETERS:
	case VT_CCID_PC_SET_PARAMETERS:
		return VT_CCID_RDR_PARAMETERS;
	case VT_CCID_PC_ESCAPE:
		return VT_CCID_RDR_ESCAPE;
	case VT_CCID_PC_SET_RATE_CLOCK:
		return VT_CCID_RDR_RATE_CLOCK;
	default:
		return VT_CCID_RDR_SLOT_STATUS;
	}
}

int
rd_dev_command(struct rd_dev *d, const uint8_t *msg, size_t len,
    rd_emit_fn emit, void *ctx)
{
	uint8_t type, slot, seq, rtype;
	uint32_t dlen;
	struct rd_slot *s;

	if (len < VT_CCID_HDR_LEN)
		return 0;		/* the USB side never passes these */
	type = msg[0];
	dlen = (uint32_t)msg[1] | (uint32_t)msg[2] << 8 |
	    (uint32_t)msg[3] << 16 | (uint32_t)msg[4] << 24;
	slot = msg[5];
	seq = msg[6];
	rtype = answer_type(type);

	d->bulk_count++;
	if (d->unplug_at > 0 && d->bulk_count >= (unsigned long)d->unplug_at) {
		d->unplug_at = 0;
		d->unplugged = 1;
		if (d->hooks.unplug != NULL)
			d->hooks.unplug(d->hooks.ctx);
		return 1;
	}
	if (d->malform_at > 0 && d->bulk_count >= (unsigned long)d->malform_at) {
		/* this command's final answer is the one to break */
		d->malform_at = 0;
		d->malform = d->malform_at_kind;
	}

	if (slot >= d->nslots) {
		emit_wtx(d, emit, ctx, rtype, slot, seq, ICC_ABSENT);
		emit_frame(d, emit, ctx, rtype, slot, seq,
		    ST_FAILED | ICC_ABSENT, E_BAD_SLOT, 0, NULL, 0);
		return 0;
	}
	s = &d->slot[slot];
	if (dlen != len - VT_CCID_HDR_LEN) {
		emit_frame(d, emit, ctx, rtype, slot, seq,
		    (uint8_t)(ST_FAILED | icc_status(s)), E_BAD_DWLENGTH, 0,
		    NULL, 0);
		return 0;
	}
	emit_wtx(d, emit, ctx, rtype, slot, seq, icc_status(s));

	switch (type) {
	case VT_CCID_PC_ICC_POWER_ON: {
		uint8_t psel = msg[7];

		if (psel > 3 || (psel != 0 &&
		    !(d->p.ccid.bVoltageSupport & (1u << (psel - 1)))) ) {
			emit_frame(d, emit, ctx, rtype, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)),
			    E_BAD_POWERSELECT, 0, NULL, 0);
			break;
		}
		if (!s->present || power_on(d, s) != 0) {
			s->powered = 0;
			emit_frame(d, emit, ctx, rtype, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)), E_ICC_MUTE,
			    0, NULL, 0);
			break;
		}
		emit_frame(d, emit, ctx, rtype, slot, seq, ICC_ACTIVE, 0, 0,
		    s->atr, s->atrlen);
		break;
	}
	case VT_CCID_PC_ICC_POWER_OFF:
		power_off(s);
		emit_frame(d, emit, ctx, rtype, slot, seq, icc_status(s), 0,
		    s->clock, NULL, 0);
		break;
	case VT_CCID_PC_GET_SLOT_STATUS:
		if (d->statusfail > 0) {
			d->statusfail--;
			emit_frame(d, emit, ctx, rtype, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)), E_HW_ERROR,
			    0, NULL, 0);
			break;
		}
		emit_frame(d, emit, ctx, rtype, slot, seq, icc_status(s), 0,
		    s->powered ? s->clock : 0, NULL, 0);
		break;
	case VT_CCID_PC_XFR_BLOCK:
		xfr_block(d, s, msg, dlen, emit, ctx);
		break;
	case VT_CCID_PC_GET_PARAMETERS:
		if (!s->present) {
			send_params(d, s, emit, ctx, slot, seq,
			    ST_FAILED | ICC_ABSENT, E_ICC_MUTE);
			break;
		}
		send_params(d, s, emit, ctx, slot, seq, icc_status(s), 0);
		break;
	case VT_CCID_PC_RESET_PARAMETERS:
		if (!s->present) {
			send_params(d, s, emit, ctx, slot, seq,
			    ST_FAILED | ICC_ABSENT, E_ICC_MUTE);
			break;
		}
		default_params(s);
		if (d->p.t1_card)
			s->params[5] = 32;
		send_params(d, s, emit, ctx, slot, seq, icc_status(s), 0);
		break;
	case VT_CCID_PC_SET_PARAMETERS: {
		uint8_t proto = msg[7];

		if (!s->present) {
			send_params(d, s, emit, ctx, slot, seq,
			    ST_FAILED | ICC_ABSENT, E_ICC_MUTE);
			break;
		}
		if (proto > 1 || !(d->p.ccid.dwProtocols & (1u << proto))) {
			send_params(d, s, emit, ctx, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)), 7);
			break;
		}
		if (dlen != (proto == 0 ? 5u : 7u)) {
			send_params(d, s, emit, ctx, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)),
			    E_BAD_DWLENGTH);
			break;
		}
		if (!rate_ok(d, msg[VT_CCID_HDR_LEN])) {
			/* a rate the reader cannot run: bmFindexDindex */
			send_params(d, s, emit, ctx, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)), 10);
			break;
		}
		if (strict_pps(d) && (d->p.ccid.dwFeatures &
		    VT_CCID_FEAT_AUTO_PPS_CUR) && s->powered) {
			/* the reader makes the PPS for the new protocol */
			if (!(s->card_protos & (1u << proto))) {
				send_params(d, s, emit, ctx, slot, seq,
				    (uint8_t)(ST_FAILED | icc_status(s)),
				    E_PROTO_NOT_SUPP);
				break;
			}
			s->card_proto = proto;
		}
		s->proto = proto;
		s->plen = dlen;
		memcpy(s->params, msg + VT_CCID_HDR_LEN, dlen);
		send_params(d, s, emit, ctx, slot, seq, icc_status(s), 0);
		break;
	}
	case VT_CCID_PC_ESCAPE:
		/* Echoes its data: a vendor command every host can test. */
		emit_frame(d, emit, ctx, rtype, slot, seq, icc_status(s), 0,
		    0, msg + VT_CCID_HDR_LEN, dlen);
		break;
	case VT_CCID_PC_ICC_CLOCK:
		if (!s->present || !s->powered) {
			emit_frame(d, emit, ctx, rtype, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)), E_ICC_MUTE,
			    3, NULL, 0);
			break;
		}
		if (msg[7] > 1) {
			emit_frame(d, emit, ctx, rtype, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)), 7, s->clock,
			    NULL, 0);
			break;
		}
		s->clock = msg[7] == 1 ? 1 : 0;	/* stopped in state L */
		emit_frame(d, emit, ctx, rtype, slot, seq, icc_status(s), 0,
		    s->clock, NULL, 0);
		break;
	case VT_CCID_PC_T0_APDU:
		/* Accepted: with APDU/TPDU-T=1 levels nothing changes. */
		emit_frame(d, emit, ctx, rtype, slot, seq, icc_status(s), 0,
		    s->clock, NULL, 0);
		break;
	case VT_CCID_PC_ABORT:
		if (s->abort_seen && s->abort_seq == seq) {
			s->abort_seen = 0;
			s->in_cmd_chain = 0;
			s->clen = 0;
			s->rsp_chain = 0;
			emit_frame(d, emit, ctx, rtype, slot, seq,
			    icc_status(s), 0, s->clock, NULL, 0);
		} else {
			/* PC_to_RDR_Abort without the class request. */
			emit_frame(d, emit, ctx, rtype, slot, seq,
			    (uint8_t)(ST_FAILED | icc_status(s)),
			    E_CMD_ABORTED, s->clock, NULL, 0);
		}
		break;
	case VT_CCID_PC_SET_RATE_CLOCK: {
		uint8_t rc[8];

		put32le(rc, d->p.ccid.dwDefaultClock);
		put32le(rc + 4, d->p.ccid.dwDataRate);
		emit_frame(d, emit, ctx, rtype, slot, seq, icc_status(s), 0,
		    0, rc, sizeof(rc));
		break;
	}
	case VT_CCID_PC_SECURE:
	case VT_CCID_PC_MECHANICAL:
	default:
		emit_frame(d, emit, ctx, rtype, slot, seq,
		    (uint8_t)(ST_FAILED | icc_status(s)), E_CMD_NOT_SUPPORTED,
		    0, NULL, 0);
		break;
	}
	return 0;
}

void
rd_dev_class_abort(struct rd_dev *d, uint8_t slot, uint8_t seq)
{
	if (slot >= d->nslots)
		return;
	d->slot[slot].abort_seen = 1;
	d->slot[slot].abort_seq = seq;
}

void
rd_dev_reset(struct rd_dev *d)
{
	size_t i;

	for (i = 0; i < d->nslots; i++)
		power_off(&d->slot[i]);
}

size_t
rd_dev_slot_state_msg(struct rd_dev *d, uint8_t *msg, size_t cap)
{
	size_t i, n = 1 + (d->nslots * 2 + 7) / 8;

	if (cap < n)
		return 0;
	memset(msg, 0, n);
	msg[0] = VT_CCID_RDR_NOTIFY_SLOT_CHANGE;
	for (i = 0; i < d->nslots; i++)
		if (d->slot[i].present)
			msg[1 + i / 4] |= (uint8_t)(1u << ((i % 4) * 2));
	return n;
}

static void
notify_change(struct rd_dev *d, size_t slot)
{
	uint8_t msg[8];
	size_t n = rd_dev_slot_state_msg(d, msg, sizeof(msg));

	msg[1 + slot / 4] |= (uint8_t)(2u << ((slot % 4) * 2));
	if (d->hooks.notify != NULL && n > 0)
		d->hooks.notify(d->hooks.ctx, msg, n);
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
rd_dev_inject(struct rd_dev *d, const char *line, char *err, size_t errlen)
{
	char buf[128], *w[4] = { NULL, NULL, NULL, NULL }, *save = NULL, *t;
	int nw = 0;
	long v = 0, slot = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (t = strtok_r(buf, " \t\r\n", &save); t != NULL && nw < 4;
	    t = strtok_r(NULL, " \t\r\n", &save))
		w[nw++] = t;
	if (nw == 0)
		return 0;
	if (strcmp(w[0], "remove") == 0 || strcmp(w[0], "insert") == 0) {
		int in = w[0][0] == 'i';

		if (nw > 1 && parse_long(w[1], 0, (long)d->nslots - 1,
		    &slot) != 0)
			goto bad;
		if (in && d->slot[slot].card.ops == NULL) {
			snprintf(err, errlen, "slot %ld has no card to insert",
			    slot);
			return -1;
		}
		if (d->slot[slot].present == in)
			return 0;
		if (!in)
			power_off(&d->slot[slot]);
		d->slot[slot].present = in;
		notify_change(d, (size_t)slot);
		return 0;
	}
	if (strcmp(w[0], "unplug") == 0 && nw == 1) {
		if (!d->unplugged) {
			d->unplugged = 1;
			if (d->hooks.unplug != NULL)
				d->hooks.unplug(d->hooks.ctx);
		}
		return 0;
	}
	if (strcmp(w[0], "replug") == 0 && nw == 1) {
		if (d->unplugged) {
			rd_dev_reset(d);
			d->unplugged = 0;
			if (d->hooks.replug != NULL)
				d->hooks.replug(d->hooks.ctx);
		}
		return 0;
	}
	if (strcmp(w[0], "unplug-at") == 0 && nw == 2 &&
	    parse_long(w[1], 1, 1000000000, &v) == 0) {
		d->unplug_at = (long)d->bulk_count + v;
		return 0;
	}
	if (strcmp(w[0], "wtx") == 0 && nw >= 2) {
		if (strcmp(w[1], "off") == 0) {
			d->wtx_next = d->wtx_forever = 0;
			return 0;
		}
		if (parse_long(w[1], 0, WTX_MAX, &v) != 0)
			goto bad;
		if (nw == 3 && strcmp(w[2], "forever") == 0)
			d->wtx_forever = (int)v;
		else if (nw == 2)
			d->wtx_next = (int)v;
		else
			goto bad;
		return 0;
	}
	if (strcmp(w[0], "swtx") == 0 && nw == 2 &&
	    parse_long(w[1], 0, 1000, &v) == 0) {
		size_t i;

		if (!d->p.t1_card) {
			snprintf(err, errlen, "swtx needs a TPDU (t1) reader");
			return -1;
		}
		for (i = 0; i < d->nslots; i++)
			rd_t1_inject_wtx(d->slot[i].t1, (int)v);
		return 0;
	}
	if (strcmp(w[0], "zlp") == 0 && (nw == 1 || (nw == 2 &&
	    parse_long(w[1], 1, 100, &v) == 0))) {
		d->zlp_next = nw == 1 ? 1 : (int)v;
		return 0;
	}
	if (strcmp(w[0], "statusfail") == 0 && nw == 2 &&
	    parse_long(w[1], 0, 1000, &v) == 0) {
		d->statusfail = (int)v;
		return 0;
	}
	if (strcmp(w[0], "t1-trailing") == 0 && nw == 1) {
		if (!d->p.t1_card) {
			snprintf(err, errlen, "t1-trailing needs a TPDU (t1) "
			    "reader");
			return -1;
		}
		d->t1_trailing = 1;
		return 0;
	}
	if ((strcmp(w[0], "malform") == 0 && nw == 2) ||
	    (strcmp(w[0], "malform-at") == 0 && nw == 3 &&
	    parse_long(w[1], 1, 1000000000, &v) == 0)) {
		static const struct { const char *n; enum rd_malform m; } k[] = {
			{ "length", RD_MAL_LENGTH_LONG },
			{ "length-long", RD_MAL_LENGTH_LONG },
			{ "length-short", RD_MAL_LENGTH_SHORT },
			{ "seq", RD_MAL_SEQ },
			{ "slot", RD_MAL_SLOT },
			{ "truncated", RD_MAL_TRUNCATED },
			{ "type", RD_MAL_TYPE },
		};
		size_t i;

		const char *kind = w[nw - 1];

		for (i = 0; i < VT_ARRAY_LEN(k); i++)
			if (strcmp(kind, k[i].n) == 0) {
				if (nw == 2)
					d->malform = k[i].m;
				else {
					/* the Nth bulk command from now, as
					 * unplug-at counts */
					d->malform_at = (long)d->bulk_count +
					    v;
					d->malform_at_kind = k[i].m;
				}
				return 0;
			}
	}
bad:
	snprintf(err, errlen, "bad injection '%s' (remove [SLOT], insert "
	    "[SLOT], unplug, replug, unplug-at N, wtx N [forever], wtx off, swtx N, "
	    "zlp [N], statusfail N, t1-trailing, "
	    "malform [-at N] length|length-short|seq|slot|truncated|type)",
	    line);
	return -1;
}
