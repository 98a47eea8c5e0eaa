/* SPDX-License-Identifier: MIT */
/*
 * ccid/ccid_reader.c — one CCID reader: slots, power, parameters, the
 * exchange of an APDU at the reader's level, time extensions, Abort,
 * Escape and slot-change notifications.
 *
 * Every command goes through ccid_exchange(): one PC_to_RDR message out,
 * then RDR_to_PC messages in until the one carrying our bSeq and bSlot
 * (foreign ones are dropped, at most CCID_MAX_STALE), of the type that
 * answers ours, and not a time extension (at most CCID_MAX_TIME_EXT, and
 * never past the *ms budget).  A timeout in the middle of a command sends
 * the Abort sequence so that the reader and our bSeq agree again.
 *
 * Voltage (power on): automatic when dwFeatures says so (automatic voltage
 * or automatic activation), or when the reader names no voltage; else 5 V,
 * 3 V, 1.8 V among those bVoltageSupport lists, moving on after any
 * failure but the card, reader or time being gone.  This is libccid's
 * order; a class A/B card is never given too little.
 */
#include "ccid_int.h"

#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

struct ccid_slot {
	ccid_reader_t *r;
	uint8_t index;
	int powered;
	int changed;		/* card changed while powered */
	int stale;		/* another process may have used the card */
	uint64_t gen;
	uint64_t reset_sig;	/* shared RESET events when we powered/joined */
	int icc;		/* ICC status of the latest answer, -1 none */
	uint64_t icc_at;	/* when it came */
	struct ccid_atr atr;
	int proto;		/* negotiated T (TPDU level) */
	struct ccid_t1 t1;
};

struct ccid_reader {
	ccid_io_t io;
	void *h;
	struct usb_ccid_desc desc;
	uint32_t level;
	size_t nslots;
	struct ccid_slot *slots;
	uint8_t seq;
	size_t maxmsg;		/* whole message, header included */
	size_t txroom;		/* abData of one XfrBlock in a chain */
	size_t inmax;		/* longest answer taken (see new) */
	uint8_t *obuf;
	uint8_t *ibuf;
	uint64_t io_gen;
	uint8_t last_status;
	uint8_t last_error;
	/* an XfrBlock of the current ccid_transmit reached the reader */
	int xfr_sent;
	int redact;		/* the exchange under way carries a secret */
	int in_abort;
	int have_aborted;	/* a command was aborted: its frames may */
	uint8_t aborted_seq;	/* still come, and are drained */
	int rates_read;		/* GET_DATA_RATES asked (once) */
	size_t nrates;		/* 0: none known, dwMaxDataRate rules */
	uint32_t rates[CCID_MAX_RATES];
};

static int ccid_abort_seq(ccid_reader_t *r, size_t slot, int *ms);
static void slot_lost_power(struct ccid_slot *s);

/* ---- reader ------------------------------------------------------------ */

int
ccid_reader_new(ccid_reader_t **out, const ccid_io_t *io, void *io_h,
    const struct usb_ccid_desc *desc)
{
	ccid_reader_t *r = NULL;
	size_t i;
	int rc = CCID_ERR_NOMEM;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || io == NULL || io->write == NULL ||
	    io->read == NULL || desc == NULL)
		return CCID_ERR_ARG;
	if (desc->bMaxSlotIndex > 31) {
		util_trace(1, "ccid: bMaxSlotIndex %u not supported",
		    desc->bMaxSlotIndex);
		return CCID_ERR_UNSUPPORTED;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto fail;
	r->io = *io;
	r->h = io_h;
	r->desc = *desc;
	/* Pre-1.0 descriptors (MySmartPad: dwProtocols 0x0300) have T=0 and
	 * T=1 in bits 8 and 9; nothing in bits 0 and 1 would refuse every
	 * card */
	if ((r->desc.dwProtocols & 0x3) == 0 && (r->desc.dwProtocols & 0x300)) {
		r->desc.dwProtocols = (r->desc.dwProtocols >> 8) & 0x3;
		util_trace(1, "ccid: dwProtocols %08X read as T=%s",
		    desc->dwProtocols, r->desc.dwProtocols == 3 ? "0 and 1" :
		    r->desc.dwProtocols == 1 ? "0" : "1");
	}
	r->level = desc->dwFeatures & USB_CCID_FEAT_LEVEL_MASK;
	r->nslots = (size_t)desc->bMaxSlotIndex + 1;
	r->maxmsg = desc->dwMaxCCIDMessageLength;
	if (r->maxmsg < CCID_MSG_FLOOR)
		r->maxmsg = CCID_MSG_FLOOR;
	if (r->maxmsg > CCID_MSG_CEILING)
		r->maxmsg = CCID_MSG_CEILING;
	/* Chains (extended APDU level) are cut at what the reader declares,
	 * even below 271 (Gnuk 64, SCM SCL010/011 262, cyberJack RFID 266):
	 * each part then fits its buffer.  Whole short APDUs and TPDUs still
	 * go up to 271 (libccid's SCM 263 case: the reader takes 270). */
	r->txroom = r->maxmsg - CCID_HDR_LEN;
	if (r->level == USB_CCID_FEAT_LEVEL_EXT_APDU &&
	    desc->dwMaxCCIDMessageLength >= CCID_MSG_MIN_CHAIN &&
	    desc->dwMaxCCIDMessageLength < r->maxmsg)
		r->txroom = desc->dwMaxCCIDMessageLength - CCID_HDR_LEN;
	/* Answers longer than declared are taken (libccid's buffer does not
	 * depend on the declaration either), up to a short APDU's answer
	 * or the declared length, whichever is larger, and the ceiling. */
	r->inmax = r->maxmsg > CCID_MSG_IN_FLOOR ? r->maxmsg :
	    CCID_MSG_IN_FLOOR;
	if ((r->slots = calloc(r->nslots, sizeof(*r->slots))) == NULL ||
	    (r->obuf = malloc(r->maxmsg)) == NULL ||
	    (r->ibuf = malloc(r->inmax)) == NULL)
		goto fail;
	for (i = 0; i < r->nslots; i++) {
		r->slots[i].r = r;
		r->slots[i].index = (uint8_t)i;
		r->slots[i].icc = -1;
	}
	if (r->io.generation != NULL)
		r->io_gen = r->io.generation(r->h);
	*out = r;
	return 0;
fail:
	ccid_reader_free(&r);
	return rc;
}

void
ccid_reader_free(ccid_reader_t **rp)
{
	ccid_reader_t *r;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	util_freezero(r->obuf, r->maxmsg);
	util_freezero(r->ibuf, r->inmax);
	if (r->slots != NULL)
		util_freezero(r->slots, r->nslots * sizeof(*r->slots));
	if (r->io.close != NULL)
		r->io.close(r->h);
	free(r);
	*rp = NULL;
}

size_t
ccid_slot_count(const ccid_reader_t *r)
{
	return r != NULL ? r->nslots : 0;
}

const struct usb_ccid_desc *
ccid_reader_desc(const ccid_reader_t *r)
{
	return r != NULL ? &r->desc : NULL;
}

void
ccid_last_status(const ccid_reader_t *r, uint8_t *bStatus, uint8_t *bError)
{
	if (bStatus != NULL)
		*bStatus = r != NULL ? r->last_status : 0;
	if (bError != NULL)
		*bError = r != NULL ? r->last_error : 0;
}

int
ccid_sent(const ccid_reader_t *r)
{
	return r != NULL && r->xfr_sent;
}

int
ccid_extended_ok(const ccid_reader_t *r)
{
	if (r == NULL)
		return 0;
	if (r->level == USB_CCID_FEAT_LEVEL_EXT_APDU)
		return 1;
	return r->level == USB_CCID_FEAT_LEVEL_TPDU &&
	    (r->desc.dwProtocols & 0x2) != 0;
}

int
ccid_slot_extended_ok(const ccid_reader_t *r, size_t slot)
{
	if (r == NULL || slot >= r->nslots)
		return 0;
	if (r->level == USB_CCID_FEAT_LEVEL_TPDU && r->slots[slot].powered &&
	    r->slots[slot].proto == 0)
		return 0;
	return ccid_extended_ok(r);
}

static uint64_t
reset_events(ccid_reader_t *r, size_t slot)
{
	if (r->io.events == NULL || slot >= 8)
		return 0;
	return r->io.events(r->h, USB_SHARED_RESET0 + (int)slot);
}

/*
 * Another process used the reader since we last looked: every slot's
 * state is suspect (the T=1 sequence numbers, the selected application).
 * If one of them powered a slot up afresh, the card we knew there was
 * reset (or replaced): its next exchange says so.
 */
static void
check_io_generation(ccid_reader_t *r)
{
	uint64_t g;
	size_t i;

	if (r->io.generation == NULL)
		return;
	g = r->io.generation(r->h);
	if (g == r->io_gen)
		return;
	r->io_gen = g;
	for (i = 0; i < r->nslots; i++) {
		struct ccid_slot *s = &r->slots[i];

		s->gen++;
		s->stale = 1;
		if (s->powered && reset_events(r, i) != s->reset_sig) {
			util_trace(1, "ccid: slot %zu was powered up by another "
			    "process: the card was reset", i);
			s->changed = 1;
		}
	}
}

/* We powered the slot up: tell the others, remember where we stand. */
static void
note_reset(ccid_reader_t *r, struct ccid_slot *s)
{
	if (r->io.note != NULL && s->index < 8)
		(void)r->io.note(r->h, USB_SHARED_RESET0 + s->index);
	s->reset_sig = reset_events(r, s->index);
}

int
ccid_note(ccid_reader_t *r, int kind)
{
	if (r == NULL)
		return CCID_ERR_ARG;
	return r->io.note != NULL ? r->io.note(r->h, kind) : 0;
}

uint64_t
ccid_events(ccid_reader_t *r, int kind)
{
	if (r == NULL || r->io.events == NULL)
		return 0;
	return r->io.events(r->h, kind);
}

int
ccid_slot_cached(const ccid_reader_t *r, size_t slot, int *state,
    uint64_t *age_ms)
{
	const struct ccid_slot *s;

	if (r == NULL || slot >= r->nslots || state == NULL ||
	    age_ms == NULL || r->slots[slot].icc < 0)
		return CCID_ERR_ARG;
	s = &r->slots[slot];
	*state = s->icc;
	*age_ms = util_now_ms() - s->icc_at;
	return 0;
}

uint64_t
ccid_generation(ccid_reader_t *r, size_t slot)
{
	if (r == NULL || slot >= r->nslots)
		return 0;
	check_io_generation(r);
	return r->slots[slot].gen;
}

int
ccid_begin(ccid_reader_t *r, int *ms)
{
	int rc;

	if (r == NULL || ms == NULL)
		return CCID_ERR_ARG;
	if (r->io.begin != NULL && (rc = r->io.begin(r->h, ms)) != 0)
		return rc;
	check_io_generation(r);
	return 0;
}

int
ccid_end(ccid_reader_t *r)
{
	if (r == NULL)
		return CCID_ERR_ARG;
	return r->io.end != NULL ? r->io.end(r->h) : 0;
}

/* ---- one command ------------------------------------------------------- */

static void
trace_frame(const ccid_reader_t *r, const char *dir, const uint8_t *p,
    size_t n)
{
	if (util_debug_level() < 2)
		return;
	if (n < CCID_HDR_LEN) {
		util_trace_hex(2, dir, p, n, 0);
		return;
	}
	util_trace(2, "%s %02X len %zu slot %u seq %u [%02X %02X %02X]", dir,
	    p[0], n - CCID_HDR_LEN, p[5], p[6], p[7], p[8], p[9]);
	if (n > CCID_HDR_LEN)
		util_trace_hex(2, "  data", p + CCID_HDR_LEN, n - CCID_HDR_LEN,
		    r->redact);
}

/* Reads until the answer to (slot, seq, type) arrives. */
static int
ccid_read_reply(ccid_reader_t *r, size_t slot, uint8_t seq, uint8_t type,
    struct ccid_msg *m, int *ms)
{
	uint8_t want = ccid_msg_reply_type(type);
	size_t got, stale = 0, ext = 0, drained = 0, zlp = 0;
	uint64_t t0;
	int rc, sms, *rms;

	for (;;) {
		if (*ms <= 0) {
			rc = CCID_ERR_TIMEOUT;
			util_trace(1, "ccid: time budget spent waiting for "
			    "the answer to %02X (seq %u) after %zu time "
			    "extensions", type, seq, ext);
			goto timeout;
		}
		got = 0;
		/* after a foreign frame, ours must follow within
		 * CCID_STALE_MS (or a time extension must) */
		rms = ms;
		if (stale > 0 && *ms > CCID_STALE_MS) {
			sms = CCID_STALE_MS;
			rms = &sms;
		}
		t0 = util_now_ms();
		rc = r->io.read(r->h, r->ibuf, r->inmax, &got, rms);
		if (rms != ms)
			util_charge(ms, t0);
		if (rc == CCID_ERR_TIMEOUT && rms != ms) {
			util_trace(1, "ccid: a frame for slot %u seq %u came "
			    "instead of the answer to %02X (seq %u), then "
			    "nothing", m->bSlot, m->bSeq, type, seq);
			rc = CCID_ERR_PROTO;
			goto stale_timeout;
		}
		if (rc == CCID_ERR_TIMEOUT) {
			util_trace(1, "ccid: no answer to %02X (seq %u) in "
			    "time", type, seq);
			goto timeout;
		}
		if (rc != 0)
			return rc;
		if (got > r->inmax)
			return CCID_ERR_PROTO;
		if (got == 0 && zlp < CCID_MAX_ZLP) {
			/* a spurious zero-length packet before the answer */
			zlp++;
			util_trace(2, "ccid: zero-length packet %zu before the "
			    "answer to %02X, skipped", zlp, type);
			continue;
		}
		trace_frame(r, "ccid <", r->ibuf, got);
		if ((rc = ccid_msg_parse(r->ibuf, got,
		    r->inmax - CCID_HDR_LEN, m)) != 0) {
			util_trace(1, "ccid: malformed frame (%zu bytes)", got);
			return rc;
		}
		if (m->bSeq != seq && r->have_aborted &&
		    m->bSeq == r->aborted_seq && m->bSlot == slot &&
		    drained < CCID_MAX_DRAIN) {
			/* left over from the command we aborted */
			drained++;
			continue;
		}
		if (m->bSeq != seq || m->bSlot != slot) {
			util_trace(2, "ccid: dropped frame for slot %u seq %u "
			    "(want slot %zu seq %u)", m->bSlot, m->bSeq, slot,
			    seq);
			if (++stale > CCID_MAX_STALE)
				return CCID_ERR_PROTO;
			continue;
		}
		if (m->type != want) {
			util_trace(1, "ccid: answer type %02X, want %02X",
			    m->type, want);
			return CCID_ERR_PROTO;
		}
		r->last_status = m->bStatus;
		r->last_error = m->bError;
		if ((m->bStatus & CCID_ICC_MASK) != 3) {
			struct ccid_slot *sl = &r->slots[slot];

			/* every answer tells the slot's state: no need to
			 * ask with GetSlotStatus */
			sl->icc = m->bStatus & CCID_ICC_MASK;
			sl->icc_at = util_now_ms();
			if (sl->icc != CCID_SLOT_ACTIVE &&
			    type != CCID_PC_ICC_POWER_ON)
				slot_lost_power(sl);
		}
		switch (m->bStatus & CCID_CMD_MASK) {
		case CCID_CMD_OK:
			if ((m->bStatus & CCID_ICC_MASK) == 3)
				return CCID_ERR_PROTO;
			return 0;
		case CCID_CMD_FAILED:
			rc = ccid_msg_error(m->bStatus, m->bError);
			util_trace(2, "ccid: command %02X failed: %s (%02X), "
			    "ICC status %u", type, ccid_berror_name(m->bError),
			    m->bError, m->bStatus & CCID_ICC_MASK);
			return rc;
		case CCID_CMD_TIME_EXT:
			/* the reader is working on ours */
			stale = 0;
			if (++ext > CCID_MAX_TIME_EXT) {
				util_trace(1, "ccid: more than %d time "
				    "extensions for one command, giving up",
				    CCID_MAX_TIME_EXT);
				rc = CCID_ERR_TIMEOUT;
				goto timeout;
			}
			continue;
		default:
			return CCID_ERR_PROTO;
		}
	}
timeout:
	rc = CCID_ERR_TIMEOUT;
stale_timeout:
	if (!r->in_abort && type != CCID_PC_ABORT) {
		int ams = CCID_ABORT_MS;

		r->have_aborted = 1;
		r->aborted_seq = seq;
		(void)ccid_abort_seq(r, slot, &ams);
		if (r->level == USB_CCID_FEAT_LEVEL_TPDU)
			r->slots[slot].t1.desync = 1;
	}
	return rc;
}

static int
ccid_exchange_seq(ccid_reader_t *r, size_t slot, uint8_t seq, uint8_t type,
    uint8_t p1, uint8_t p2, uint8_t p3, const uint8_t *data, size_t dlen,
    struct ccid_msg *m, int *ms)
{
	size_t len;
	int rc;

	memset(m, 0, sizeof(*m));
	if (slot >= r->nslots || ms == NULL)
		return CCID_ERR_ARG;
	if (dlen > r->maxmsg - CCID_HDR_LEN)
		return CCID_ERR_UNSUPPORTED;
	if ((rc = ccid_msg_build(type, (uint8_t)slot, seq, p1, p2, p3, data,
	    dlen, r->obuf, r->maxmsg, &len)) != 0)
		return rc;
	trace_frame(r, "ccid >", r->obuf, len);
	if (*ms <= 0)
		return CCID_ERR_TIMEOUT;
	rc = r->io.write(r->h, r->obuf, len, ms);
	/* a reader acts on a whole message only: one whose bulk-OUT did
	 * not complete was not sent */
	if (rc == 0 && type == CCID_PC_XFR_BLOCK)
		r->xfr_sent = 1;
	if (len > CCID_HDR_LEN)
		util_wipe(r->obuf + CCID_HDR_LEN, len - CCID_HDR_LEN);
	if (rc != 0)
		return rc;
	return ccid_read_reply(r, slot, seq, type, m, ms);
}

static int
ccid_exchange(ccid_reader_t *r, size_t slot, uint8_t type, uint8_t p1,
    uint8_t p2, uint8_t p3, const uint8_t *data, size_t dlen,
    struct ccid_msg *m, int *ms)
{
	return ccid_exchange_seq(r, slot, r->seq++, type, p1, p2, p3, data,
	    dlen, m, ms);
}

/* ---- Abort ------------------------------------------------------------- */

static int
ccid_abort_seq(ccid_reader_t *r, size_t slot, int *ms)
{
	struct ccid_msg m;
	uint8_t seq = r->seq++;
	size_t got = 0;
	int rc = 0;

	r->in_abort = 1;
	util_trace(2, "ccid: abort slot %zu seq %u", slot, seq);
	/* §5.3.1: the class request first, then the bulk message with the
	 * same bSeq and bSlot. */
	if (r->io.control != NULL)
		rc = r->io.control(r->h, CCID_REQ_TYPE_IFACE_OUT,
		    CCID_REQ_ABORT, (uint16_t)((size_t)seq << 8 | slot), NULL, 0, &got,
		    ms);
	if (rc == 0)
		rc = ccid_exchange_seq(r, slot, seq, CCID_PC_ABORT, 0, 0, 0,
		    NULL, 0, &m, ms);
	r->in_abort = 0;
	return rc;
}

int
ccid_abort(ccid_reader_t *r, size_t slot, int *ms)
{
	int rc;

	if (r == NULL || slot >= r->nslots || ms == NULL)
		return CCID_ERR_ARG;
	rc = ccid_abort_seq(r, slot, ms);
	if (r->level == USB_CCID_FEAT_LEVEL_TPDU)
		r->slots[slot].t1.desync = 1;
	return rc;
}

/* ---- slot status, power ------------------------------------------------ */

/* The card, the reader or the time is gone: no point trying again. */
static int
gone(int rc)
{
	return rc == CCID_ERR_NO_CARD || rc == CCID_ERR_TIMEOUT ||
	    rc == CCID_ERR_IO || rc == CCID_ERR_REMOVED;
}


static void
slot_lost_power(struct ccid_slot *s)
{
	if (s->powered) {
		s->powered = 0;
		s->gen++;
	}
}

int
ccid_slot_status(ccid_reader_t *r, size_t slot, int *state, int *ms)
{
	struct ccid_msg m;
	int rc, first, tries, ams;

	if (state != NULL)
		*state = CCID_SLOT_ABSENT;
	if (r == NULL || slot >= r->nslots || state == NULL || ms == NULL)
		return CCID_ERR_ARG;
	/* First contact (no answer about the slot yet): a reader left
	 * mid-command by a killed program may answer it with a failure;
	 * Abort and ask again, a few times.  Later failures are the
	 * caller's. */
	first = r->slots[slot].icc < 0;
	for (tries = 0; ; tries++) {
		rc = ccid_exchange(r, slot, CCID_PC_GET_SLOT_STATUS, 0, 0, 0,
		    NULL, 0, &m, ms);
		/* A failed GetSlotStatus still reports the ICC status. */
		if (rc == 0 || rc == CCID_ERR_NO_CARD ||
		    rc == CCID_ERR_CARD_INACTIVE || rc == CCID_ERR_CARD_MUTE)
			break;
		/* retried: an answer that says the command failed (slot
		 * busy, hardware error, aborted ...); not a malformed frame,
		 * silence, or the card, reader or caller gone */
		if (!first || tries + 1 >= CCID_STATUS_TRIES || gone(rc) ||
		    rc == CCID_ERR_PROTO || rc == CCID_ERR_ACCESS ||
		    rc == CCID_ERR_BUSY || rc == CCID_ERR_ARG ||
		    rc == CCID_ERR_UNSUPPORTED || rc == CCID_ERR_NOMEM)
			return rc;
		util_trace(1, "ccid: first GetSlotStatus failed (%s): abort "
		    "and retry", ccid_strerror(rc));
		ams = *ms < CCID_ABORT_MS ? *ms : CCID_ABORT_MS;
		(void)ccid_abort_seq(r, slot, &ams);
	}
	if ((m.bStatus & CCID_ICC_MASK) == 3)
		return CCID_ERR_PROTO;
	*state = m.bStatus & CCID_ICC_MASK;
	if (*state != CCID_SLOT_ACTIVE)
		slot_lost_power(&r->slots[slot]);
	return 0;
}

int
ccid_power_off(ccid_reader_t *r, size_t slot, int *ms)
{
	struct ccid_msg m;
	int rc;

	if (r == NULL || slot >= r->nslots || ms == NULL)
		return CCID_ERR_ARG;
	rc = ccid_exchange(r, slot, CCID_PC_ICC_POWER_OFF, 0, 0, 0, NULL, 0,
	    &m, ms);
	slot_lost_power(&r->slots[slot]);
	r->slots[slot].changed = 0;
	r->slots[slot].gen++;
	if (rc == CCID_ERR_NO_CARD || rc == CCID_ERR_CARD_INACTIVE)
		rc = 0;
	return rc;
}

/* T=1 block exchange through PC_to_RDR_XfrBlock (TPDU level). */
static int
t1_xfer(void *ctx, const uint8_t *blk, size_t len, uint8_t bwi,
    uint8_t *resp, size_t cap, size_t *got, int *ms)
{
	struct ccid_slot *s = ctx;
	struct ccid_msg m;
	int rc;

	*got = 0;
	rc = ccid_exchange(s->r, s->index, CCID_PC_XFR_BLOCK, bwi, 0, 0, blk,
	    len, &m, ms);
	/* A block the reader could not receive is a lost block: the T=1
	 * engine recovers with an R-block. */
	if (rc == CCID_ERR_CARD_MUTE ||
	    (rc == CCID_ERR_HW && (s->r->last_error ==
	    CCID_BERR_XFR_PARITY_ERROR || s->r->last_error ==
	    CCID_BERR_XFR_OVERRUN)))
		return CCID_ERR_CARD_MUTE;
	if (rc != 0)
		return rc;
	if (m.data_len > cap)
		return CCID_ERR_PROTO;
	if (m.data_len > 0)
		memcpy(resp, m.data, m.data_len);
	*got = m.data_len;
	return 0;
}

/* PPS exchange at TPDU level (ISO/IEC 7816-3 §9): PPSS PPS0 PPS1 PCK. */
static int
do_pps(ccid_reader_t *r, size_t slot, int t, uint8_t fidi, int *ms)
{
	struct ccid_msg m;
	uint8_t pps[4];
	int rc;

	pps[0] = 0xff;
	pps[1] = (uint8_t)(0x10 | t);
	pps[2] = fidi;
	pps[3] = pps[0] ^ pps[1] ^ pps[2];
	util_trace(2, "ccid: PPS T=%d Fi/Di %02X", t, fidi);
	if ((rc = ccid_exchange(r, slot, CCID_PC_XFR_BLOCK, 0, 0, 0, pps,
	    sizeof(pps), &m, ms)) != 0)
		return rc;
	/* The card confirms by echoing; PPS1 absent means Fd/Dd. */
	if (m.data_len == 4 && memcmp(m.data, pps, 4) == 0)
		return 0;
	if (m.data_len == 3 && m.data[0] == 0xff &&
	    m.data[1] == (uint8_t)t && m.data[2] == (0xff ^ t))
		return 1;
	return CCID_ERR_ICC_PROTOCOL;
}

/* The reader's data-rate table (GET_DATA_RATES), asked once when
 * bNumDataRatesSupported says it has one.  A refused or odd answer leaves
 * it empty: dwMaxDataRate alone then decides. */
static void
read_rates(ccid_reader_t *r, int *ms)
{
	uint8_t buf[CCID_MAX_RATES * 4];
	size_t want, got = 0, i;
	int rc;

	if (r->rates_read)
		return;
	r->rates_read = 1;
	r->nrates = 0;
	if (r->desc.bNumDataRatesSupported == 0 || r->io.control == NULL)
		return;
	want = r->desc.bNumDataRatesSupported;
	if (want > CCID_MAX_RATES)
		want = CCID_MAX_RATES;
	rc = r->io.control(r->h, CCID_REQ_TYPE_IFACE_IN,
	    CCID_REQ_GET_DATA_RATES, 0, buf, want * 4, &got, ms);
	if (rc != 0 || got > want * 4 || got < 4 || got % 4 != 0) {
		util_trace(1, "ccid: GET_DATA_RATES unusable (%s, %zu bytes): "
		    "using dwMaxDataRate", ccid_strerror(rc), got);
		return;
	}
	for (i = 0; i < got / 4; i++)
		r->rates[i] = (uint32_t)buf[4 * i] |
		    (uint32_t)buf[4 * i + 1] << 8 |
		    (uint32_t)buf[4 * i + 2] << 16 |
		    (uint32_t)buf[4 * i + 3] << 24;
	r->nrates = got / 4;
	util_trace(2, "ccid: %zu data rates, first %u bit/s", r->nrates,
	    r->rates[0]);
}

static const uint16_t fi_table[16] = { 372, 372, 558, 744, 1116, 1488, 1860,
    0, 0, 512, 768, 1024, 1536, 2048, 0, 0 };
static const uint8_t di_table[16] = { 0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0,
    0, 0, 0, 0, 0 };

/* Can the reader run Fi/Di `fidi` at its default clock?  (ISO/IEC
 * 7816-3 Table 7/8: rate = f * D / F.)  With a data-rate table the rate
 * must be in it (within 2 bit/s: readers round); else at most
 * dwMaxDataRate.  Unknown figures: assume yes. */
static int
rate_ok(const ccid_reader_t *r, uint8_t fidi)
{
	uint64_t f = fi_table[fidi >> 4], d = di_table[fidi & 0x0f], rate;
	size_t i;

	if (f == 0 || d == 0)
		return 0;		/* RFU values */
	if (r->desc.dwDefaultClock == 0)
		return 1;
	rate = (uint64_t)r->desc.dwDefaultClock * 1000u * d / f;
	if (r->desc.dwMaxDataRate != 0 && rate > r->desc.dwMaxDataRate)
		return 0;
	if (r->nrates == 0)
		return 1;
	for (i = 0; i < r->nrates; i++)
		if (rate + 2 >= r->rates[i] && rate <= (uint64_t)r->rates[i] + 2)
			return 1;
	return 0;
}

/* TA1, or the fastest slower Di with the same Fi both sides support, or
 * the default 11. */
static uint8_t
choose_rate(const ccid_reader_t *r, uint8_t ta1)
{
	uint8_t best = 0x11, fi = ta1 >> 4, di;
	unsigned d, bestd = 1, cap = di_table[ta1 & 0x0f];

	if (fi_table[fi] == 0 || cap == 0)
		return 0x11;
	if (rate_ok(r, ta1))
		return ta1;
	for (di = 1; di < 16; di++) {
		d = di_table[di];
		if (d <= 1 || d >= cap || d <= bestd)
			continue;
		if (rate_ok(r, (uint8_t)(fi << 4 | di))) {
			best = (uint8_t)(fi << 4 | di);
			bestd = d;
		}
	}
	util_trace(1, "ccid: Fi/Di %02X not supported by the reader, using "
	    "%02X", ta1, best);
	return best;
}

#define NEGOTIATE_PPS_FAILED	1	/* power cycle, then without PPS */

/*
 * Protocol and rate.  The reader's dwFeatures decide who does what:
 * 0x40 (automatic PPS, the reader's own choice): nothing to send;
 * 0x80 (automatic PPS from the current parameters): SetParameters with
 * the protocol and rate wanted, and the reader makes the PPS;
 * neither, at TPDU level: our PPS, then SetParameters.
 */
static int
negotiate(ccid_reader_t *r, struct ccid_slot *s, int allow_pps, int *ms)
{
	const struct ccid_atr *a = &s->atr;
	struct ccid_params p;
	struct ccid_msg m;
	uint8_t buf[8], fidi = 0x11, ifsd;
	size_t n;
	int t, rc, specific = a->has_ta2, pps, did_pps = 0, tries;
	int reader_pps = (r->desc.dwFeatures & (USB_CCID_FEAT_AUTO_PPS_PROP |
	    USB_CCID_FEAT_AUTO_PPS_CUR)) != 0;

	/* Protocol: specific mode imposes it; else T=1 when both sides
	 * offer it (PPS selects it), else T=0.  Without PPS the card stays
	 * in its first offered protocol at Fd/Dd. */
	if (specific)
		t = a->ta2 & 0x0f;
	else if (!allow_pps)
		t = a->first_protocol;
	else if ((a->protocols & 0x2) && (r->desc.dwProtocols & 0x2))
		t = 1;
	else
		t = 0;
	if (t > 1 || !(r->desc.dwProtocols & (1u << t))) {
		util_trace(1, "ccid: card protocol T=%d not supported by the "
		    "reader", t);
		return CCID_ERR_ICC_PROTOCOL;
	}
	if (r->desc.dwFeatures & USB_CCID_FEAT_AUTO_PPS_PROP) {
		/* the reader negotiated on its own */
		s->proto = t;
		goto t1;
	}
	if (a->has_ta1 && (!specific || !(a->ta2 & 0x10)) && allow_pps) {
		fidi = a->ta1;
		if (!specific) {
			read_rates(r, ms);
			fidi = choose_rate(r, fidi);
		}
	} else if (a->has_ta1 && specific && !(a->ta2 & 0x10))
		fidi = a->ta1;	/* specific mode: TA1 applies as is */
	/* PPS, when the reader does not do it and it changes anything. */
	if (r->level == USB_CCID_FEAT_LEVEL_TPDU && !specific && allow_pps &&
	    !reader_pps && (fidi != 0x11 || t != a->first_protocol)) {
		pps = do_pps(r, s->index, t, fidi, ms);
		if (pps == 1)
			fidi = 0x11;
		else if (pps < 0) {
			if (gone(pps))
				return pps;
			/* ISO/IEC 7816-3 §9.3: after a failed PPS the card
			 * must be reset. */
			util_trace(1, "ccid: PPS refused (%s), resetting the "
			    "card", ccid_strerror(pps));
			return NEGOTIATE_PPS_FAILED;
		}
		did_pps = 1;
	} else if (r->level == USB_CCID_FEAT_LEVEL_TPDU && !specific &&
	    !reader_pps)
		fidi = 0x11;	/* no PPS: default rate */
	s->proto = t;
	/* SetParameters; a reader that makes the PPS itself and refuses
	 * the rate (or whose PPS fails) is asked again at the default */
	for (tries = 0; tries < 2; tries++) {
		ccid_params_from_atr(a, t, fidi, &p);
		if ((rc = ccid_params_encode(&p, buf, sizeof(buf), &n)) != 0)
			return rc;
		rc = ccid_exchange(r, s->index, CCID_PC_SET_PARAMETERS,
		    (uint8_t)t, 0, 0, buf, n, &m, ms);
		if (rc == 0 || gone(rc))
			break;
		util_trace(1, "ccid: SetParameters T=%d Fi/Di %02X refused "
		    "(%s)", t, fidi, ccid_strerror(rc));
		if (fidi != 0x11 && !did_pps) {
			fidi = 0x11;
			continue;
		}
		/* the card may be at our PPS's rate, or in a protocol
		 * the reader never switched to: reset, first protocol */
		if (allow_pps && r->level == USB_CCID_FEAT_LEVEL_TPDU &&
		    (did_pps || t != a->first_protocol))
			return NEGOTIATE_PPS_FAILED;
		if (rc == CCID_ERR_CMD_UNSUPPORTED || rc == CCID_ERR_BAD_PARAM)
			rc = 0;		/* the reader keeps its own */
		break;
	}
	if (rc != 0)
		return rc;
t1:
	if (r->level == USB_CCID_FEAT_LEVEL_TPDU && t == 1) {
		ccid_t1_init(&s->t1, a->ifsc, a->edc_crc, t1_xfer, s);
		if (!(r->desc.dwFeatures & USB_CCID_FEAT_AUTO_IFSD)) {
			ifsd = r->desc.dwMaxIFSD == 0 ? 32 :
			    r->desc.dwMaxIFSD > CCID_T1_MAX_INF ?
			    CCID_T1_MAX_INF : (uint8_t)r->desc.dwMaxIFSD;
			rc = ccid_t1_set_ifsd(&s->t1, ifsd, ms);
			if (rc == CCID_ERR_TIMEOUT || rc == CCID_ERR_NO_CARD ||
			    rc == CCID_ERR_IO || rc == CCID_ERR_REMOVED)
				return rc;
			if (rc != 0)
				util_trace(1, "ccid: IFSD %u refused, keeping "
				    "32", ifsd);
		}
	}
	return 0;
}

/* A power-on failure after which another class is worth trying: not one
 * that says the card, the reader or the time is gone. */
static int
power_retryable(int rc)
{
	return rc != 0 && rc != CCID_ERR_NO_CARD && rc != CCID_ERR_TIMEOUT &&
	    rc != CCID_ERR_IO && rc != CCID_ERR_REMOVED &&
	    rc != CCID_ERR_ACCESS && rc != CCID_ERR_BUSY &&
	    rc != CCID_ERR_ARG && rc != CCID_ERR_NOMEM;
}

/* Activation at the first voltage class the card accepts. */
static int
activate(ccid_reader_t *r, struct ccid_slot *s, int *ms)
{
	struct ccid_msg m;
	uint8_t volts[3];
	size_t nv = 0, i;
	int rc = CCID_ERR_UNSUPPORTED, off_ms;

	/* automatic voltage selection, or automatic activation on
	 * insertion (the reader chose the class itself) */
	if ((r->desc.dwFeatures & (USB_CCID_FEAT_AUTO_VOLTAGE |
	    USB_CCID_FEAT_AUTO_ACTIVATION)) ||
	    (r->desc.bVoltageSupport & 0x07) == 0)
		volts[nv++] = 0;
	else {
		for (i = 0; i < 3; i++)
			if (r->desc.bVoltageSupport & (1u << i))
				volts[nv++] = (uint8_t)(i + 1);
	}
	for (i = 0; i < nv; i++) {
		rc = ccid_exchange(r, s->index, CCID_PC_ICC_POWER_ON, volts[i],
		    0, 0, NULL, 0, &m, ms);
		if (!power_retryable(rc))
			break;
		util_trace(1, "ccid: power on at bPowerSelect %u failed (%s)",
		    volts[i], ccid_strerror(rc));
		(void)ccid_exchange(r, s->index, CCID_PC_ICC_POWER_OFF, 0, 0, 0,
		    NULL, 0, &m, ms);
	}
	if (rc != 0)
		return rc;
	if ((rc = ccid_atr_parse(m.data, m.data_len, &s->atr)) != 0) {
		util_trace(1, "ccid: unusable ATR (%zu bytes)", m.data_len);
		off_ms = *ms > 0 ? *ms : 0;
		(void)ccid_exchange(r, s->index, CCID_PC_ICC_POWER_OFF, 0, 0, 0,
		    NULL, 0, &m, &off_ms);
		return rc;
	}
	util_trace_hex(1, "ATR", s->atr.raw, s->atr.len, 0);
	if (s->atr.fixes & CCID_ATR_FIX_TCK)
		util_trace(1, "ccid: ATR with a wrong TCK: kept");
	if (s->atr.fixes & CCID_ATR_FIX_IFSC)
		util_trace(1, "ccid: ATR with IFSC 00 or FF (RFU): using %u",
		    s->atr.ifsc);
	if (s->atr.fixes & CCID_ATR_FIX_TRAILING)
		util_trace(1, "ccid: %zu bytes after the ATR: dropped",
		    m.data_len - s->atr.len);
	if (s->atr.fixes & CCID_ATR_FIX_TC2)
		util_trace(1, "ccid: ATR with TC2 00 (RFU): WI 10");
	return 0;
}

int
ccid_power_on(ccid_reader_t *r, size_t slot, struct ccid_atr *atr, int *ms)
{
	struct ccid_slot *s;
	struct ccid_msg m;
	int rc, attempt;

	if (atr != NULL)
		memset(atr, 0, sizeof(*atr));
	if (r == NULL || slot >= r->nslots || ms == NULL)
		return CCID_ERR_ARG;
	s = &r->slots[slot];
	if (r->level == USB_CCID_FEAT_LEVEL_CHAR) {
		util_trace(1, "ccid: character-level readers are not "
		    "supported (dwFeatures %08X)", r->desc.dwFeatures);
		return CCID_ERR_UNSUPPORTED;
	}
	if (r->level != USB_CCID_FEAT_LEVEL_TPDU &&
	    r->level != USB_CCID_FEAT_LEVEL_SHORT_APDU &&
	    r->level != USB_CCID_FEAT_LEVEL_EXT_APDU) {
		util_trace(1, "ccid: unknown exchange level in dwFeatures %08X",
		    r->desc.dwFeatures);
		return CCID_ERR_UNSUPPORTED;
	}
	slot_lost_power(s);
	s->changed = 0;
	s->stale = 0;
	/* the second attempt follows a refused PPS: reset, no PPS */
	for (attempt = 0; attempt < 2; attempt++) {
		if (attempt > 0)
			(void)ccid_exchange(r, slot, CCID_PC_ICC_POWER_OFF, 0,
			    0, 0, NULL, 0, &m, ms);
		if ((rc = activate(r, s, ms)) != 0)
			return rc;
		s->powered = 1;
		s->gen++;
		s->proto = 0;
		memset(&s->t1, 0, sizeof(s->t1));
		note_reset(r, s);
		rc = negotiate(r, s, attempt == 0, ms);
		if (rc != NEGOTIATE_PPS_FAILED)
			break;
		slot_lost_power(s);
	}
	if (rc != 0) {
		slot_lost_power(s);
		return rc == NEGOTIATE_PPS_FAILED ? CCID_ERR_ICC_PROTOCOL : rc;
	}
	if (atr != NULL)
		*atr = s->atr;
	return 0;
}

/* TPDU level: the protocol and T=1 parameters the reader uses now. */
static int
join_params(ccid_reader_t *r, struct ccid_slot *s, int *ms)
{
	struct ccid_params p;
	struct ccid_msg m;
	int rc;

	if ((rc = ccid_exchange(r, s->index, CCID_PC_GET_PARAMETERS, 0, 0, 0,
	    NULL, 0, &m, ms)) != 0)
		return rc;
	if ((rc = ccid_params_decode(m.bSpecific, m.data, m.data_len,
	    &p)) != 0) {
		util_trace(1, "ccid: unusable GetParameters answer");
		return rc;
	}
	s->proto = p.protocol;
	if (p.protocol == 1) {
		/* IFSC as the reader has it; 0 and FF are not IFSC values */
		ccid_t1_init(&s->t1, p.ifsc == 0 || p.ifsc == 0xff ? 32 :
		    p.ifsc, p.tcck & 0x01, t1_xfer, s);
		/* the card's sequence numbers are whatever the last user
		 * left: resynchronise before the first block */
		s->t1.desync = 1;
	}
	return 0;
}

int
ccid_connect(ccid_reader_t *r, size_t slot, int *joined, int *ms)
{
	struct ccid_slot *s;
	int rc, state;

	if (joined != NULL)
		*joined = 0;
	if (r == NULL || slot >= r->nslots || ms == NULL)
		return CCID_ERR_ARG;
	s = &r->slots[slot];
	if (r->level != USB_CCID_FEAT_LEVEL_TPDU &&
	    r->level != USB_CCID_FEAT_LEVEL_SHORT_APDU &&
	    r->level != USB_CCID_FEAT_LEVEL_EXT_APDU)
		return ccid_power_on(r, slot, NULL, ms);	/* refuses */
	check_io_generation(r);
	if (s->powered && !s->changed && !s->stale)
		return 0;
	if ((rc = ccid_slot_status(r, slot, &state, ms)) != 0)
		return rc;
	if (state == CCID_SLOT_ABSENT)
		return CCID_ERR_NO_CARD;
	if (state == CCID_SLOT_INACTIVE)
		return ccid_power_on(r, slot, NULL, ms);
	/* active: somebody powered it; use it as it is */
	s->changed = 0;
	s->stale = 0;
	memset(&s->atr, 0, sizeof(s->atr));
	memset(&s->t1, 0, sizeof(s->t1));
	s->proto = 0;
	if (r->level == USB_CCID_FEAT_LEVEL_TPDU &&
	    (rc = join_params(r, s, ms)) != 0) {
		util_trace(1, "ccid: cannot join the powered card (%s): "
		    "powering it up", ccid_strerror(rc));
		if (rc == CCID_ERR_NO_CARD || rc == CCID_ERR_REMOVED ||
		    rc == CCID_ERR_TIMEOUT)
			return rc;
		return ccid_power_on(r, slot, NULL, ms);
	}
	s->powered = 1;
	s->gen++;
	s->reset_sig = reset_events(r, slot);
	if (joined != NULL)
		*joined = 1;
	util_trace(2, "ccid: joined the powered card in slot %zu", slot);
	return 0;
}

/* ---- APDU exchange ----------------------------------------------------- */

static int
apdu_is_extended(const uint8_t *a, size_t n)
{
	return n >= 7 && a[4] == 0;
}

/* Short or extended APDU level, with wLevelParameter chaining. */
static int
xfr_apdu(ccid_reader_t *r, size_t slot, const uint8_t *capdu, size_t clen,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct ccid_msg m;
	size_t room = r->txroom, off = 0, part, parts;
	uint16_t lvl;
	uint8_t chain;
	int rc, first = 1;

	if (r->level == USB_CCID_FEAT_LEVEL_SHORT_APDU &&
	    (apdu_is_extended(capdu, clen) || clen > room)) {
		util_trace(1, "ccid: short-APDU reader cannot carry an "
		    "extended APDU");
		return CCID_ERR_UNSUPPORTED;
	}
	/* command: one message, or a chain begin / continue / end */
	for (;;) {
		part = clen - off > room ? room : clen - off;
		if (off == 0 && part == clen)
			lvl = CCID_CHAIN_BEGIN_END;
		else if (off == 0)
			lvl = CCID_CHAIN_BEGIN;
		else if (off + part == clen)
			lvl = CCID_CHAIN_END;
		else
			lvl = CCID_CHAIN_CONTINUE;
		if ((rc = ccid_exchange(r, slot, CCID_PC_XFR_BLOCK, 0,
		    (uint8_t)lvl, (uint8_t)(lvl >> 8), capdu + off, part, &m,
		    ms)) != 0)
			return rc;
		off += part;
		if (off == clen)
			break;
		/* the reader asks for the next part with an empty block */
		if (m.data_len != 0 || m.bSpecific != CCID_CHAIN_EMPTY) {
			util_trace(1, "ccid: reader did not ask for the next "
			    "command part (chain %02X, %zu bytes)",
			    m.bSpecific, m.data_len);
			return CCID_ERR_PROTO;
		}
	}
	/* response: 00 whole; 01 begins, 03 continues, 02 ends */
	for (parts = 0; ; parts++) {
		chain = m.bSpecific;
		if (first ? (chain != CCID_CHAIN_BEGIN_END &&
		    chain != CCID_CHAIN_BEGIN) : (chain != CCID_CHAIN_END &&
		    chain != CCID_CHAIN_CONTINUE)) {
			util_trace(1, "ccid: bad bChainParameter %02X", chain);
			return CCID_ERR_PROTO;
		}
		if (m.data_len > cap - *rlen) {
			util_trace(1, "ccid: response larger than %zu bytes",
			    cap);
			if (chain == CCID_CHAIN_BEGIN ||
			    chain == CCID_CHAIN_CONTINUE) {
				int ams = CCID_ABORT_MS;

				(void)ccid_abort_seq(r, slot, &ams);
			}
			return CCID_ERR_BUFFER;
		}
		if (m.data_len > 0)
			memcpy(rapdu + *rlen, m.data, m.data_len);
		*rlen += m.data_len;
		if (chain == CCID_CHAIN_BEGIN_END || chain == CCID_CHAIN_END)
			return 0;
		/* each continued part must bring bytes: bounds the loop */
		if (m.data_len == 0 || parts > cap) {
			util_trace(1, "ccid: empty response chain part");
			return CCID_ERR_PROTO;
		}
		first = 0;
		if ((rc = ccid_exchange(r, slot, CCID_PC_XFR_BLOCK, 0,
		    CCID_CHAIN_EMPTY, 0, NULL, 0, &m, ms)) != 0)
			return rc;
	}
}

/* T=0 at TPDU level: the reader handles procedure bytes; case 4 loses its
 * Le (the card answers 61xx, which the card layer follows up). */
static int
xfr_t0(ccid_reader_t *r, size_t slot, const uint8_t *capdu, size_t clen,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct ccid_msg m;
	uint8_t tpdu[5 + 255];
	size_t n;
	int rc;

	if (apdu_is_extended(capdu, clen) || clen > 5 + 255 + 1) {
		util_trace(1, "ccid: extended APDUs cannot travel over T=0");
		return CCID_ERR_UNSUPPORTED;
	}
	if (clen == 4) {		/* case 1: P3 = 00 */
		memcpy(tpdu, capdu, 4);
		tpdu[4] = 0;
		n = 5;
	} else if (clen == 5 || clen == 5 + (size_t)capdu[4]) {
		memcpy(tpdu, capdu, clen);	/* case 2 or 3 */
		n = clen;
	} else if (clen == 6 + (size_t)capdu[4]) {
		memcpy(tpdu, capdu, clen - 1);	/* case 4: drop Le */
		n = clen - 1;
	} else
		return CCID_ERR_ARG;
	rc = ccid_exchange(r, slot, CCID_PC_XFR_BLOCK, 0, 0, 0, tpdu, n, &m,
	    ms);
	util_wipe(tpdu, sizeof(tpdu));
	if (rc != 0)
		return rc;
	if (m.data_len < 2)
		return CCID_ERR_PROTO;
	if (m.data_len > cap)
		return CCID_ERR_BUFFER;
	memcpy(rapdu, m.data, m.data_len);
	*rlen = m.data_len;
	return 0;
}

int
ccid_transmit(ccid_reader_t *r, size_t slot, const uint8_t *capdu,
    size_t clen, int secret, uint8_t *rapdu, size_t cap, size_t *rlen,
    int *ms)
{
	struct ccid_slot *s;
	int rc, redact = secret != 0, tentative = 0;

	if (rlen != NULL)
		*rlen = 0;
	if (r == NULL || slot >= r->nslots || capdu == NULL || clen < 4 ||
	    rapdu == NULL || cap < 2 || rlen == NULL || ms == NULL)
		return CCID_ERR_ARG;
	r->xfr_sent = 0;
	s = &r->slots[slot];
	check_io_generation(r);
	if (s->changed) {
		s->changed = 0;
		slot_lost_power(s);
		return CCID_ERR_CARD_CHANGED;
	}
	/* Another process had the reader: at TPDU level the card's T=1
	 * sequence numbers are what it left.  Whether the card is still up
	 * the answer's bStatus says; no GetSlotStatus first. */
	if (s->stale && s->powered && s->proto == 1 &&
	    r->level == USB_CCID_FEAT_LEVEL_TPDU)
		s->t1.desync = 1;
	s->stale = 0;
	/*
	 * First use (or after a change).  At APDU level a card somebody
	 * powered is used as it is, with no question first: the answer's
	 * bStatus says whether it was up, and only if it was not is it
	 * powered up and the APDU sent again.  At TPDU level the protocol
	 * must be known first (ccid_connect asks).
	 */
	if (!s->powered && r->level != USB_CCID_FEAT_LEVEL_TPDU &&
	    r->level != USB_CCID_FEAT_LEVEL_CHAR) {
		s->powered = 1;
		s->gen++;
		s->reset_sig = reset_events(r, slot);
		tentative = 1;
	} else if (!s->powered && (rc = ccid_connect(r, slot, NULL, ms)) != 0)
		return rc;

	r->redact = redact;
	util_trace_hex(1, "APDU >", capdu, clen, redact);
again:
	if (r->level == USB_CCID_FEAT_LEVEL_TPDU && s->proto == 1) {
		s->t1.redact = redact;
		rc = ccid_t1_transceive(&s->t1, capdu, clen, rapdu, cap, rlen,
		    ms);
		s->t1.redact = 0;
	} else if (r->level == USB_CCID_FEAT_LEVEL_TPDU)
		rc = xfr_t0(r, slot, capdu, clen, rapdu, cap, rlen, ms);
	else
		rc = xfr_apdu(r, slot, capdu, clen, rapdu, cap, rlen, ms);
	if (rc == 0 && *rlen < 2)
		rc = CCID_ERR_PROTO;	/* no status word */
	if (tentative && rc == CCID_ERR_CARD_INACTIVE) {
		/* nobody had powered it: do it, and send the APDU again */
		tentative = 0;
		r->xfr_sent = 0;	/* an unpowered card ran nothing */
		util_trace(2, "ccid: slot %zu unpowered: powering it up", slot);
		if ((rc = ccid_power_on(r, slot, NULL, ms)) == 0)
			goto again;
	}
	/* powered when we sent it, unpowered now: the card was pulled and
	 * put back, or reset under us; whatever it knew is gone */
	if (rc == CCID_ERR_CARD_INACTIVE)
		rc = CCID_ERR_CARD_CHANGED;
	if (rc != 0) {
		if (rc == CCID_ERR_NO_CARD || rc == CCID_ERR_CARD_INACTIVE)
			slot_lost_power(s);
		/* partial answers (maybe of a secret exchange) go too */
		util_wipe(rapdu, cap);
		*rlen = 0;
		util_trace(1, "APDU failed: %s", ccid_strerror(rc));
	} else {
		util_trace_hex(1, "APDU <", rapdu, *rlen - 2, redact);
		util_trace(1, "SW %02X%02X", rapdu[*rlen - 2],
		    rapdu[*rlen - 1]);
	}
	r->redact = 0;
	return rc;
}

/* ---- Escape, notifications --------------------------------------------- */

int
ccid_escape(ccid_reader_t *r, size_t slot, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t cap, size_t *outlen, int *ms)
{
	struct ccid_msg m;
	int rc;

	if (outlen != NULL)
		*outlen = 0;
	if (r == NULL || slot >= r->nslots || (in == NULL && inlen > 0) ||
	    (out == NULL && cap > 0) || outlen == NULL || ms == NULL)
		return CCID_ERR_ARG;
	if ((rc = ccid_exchange(r, slot, CCID_PC_ESCAPE, 0, 0, 0, in, inlen,
	    &m, ms)) != 0)
		return rc;
	if (m.data_len > cap)
		return CCID_ERR_BUFFER;
	if (m.data_len > 0)
		memcpy(out, m.data, m.data_len);
	*outlen = m.data_len;
	return 0;
}

int
ccid_wait_slot_change(ccid_reader_t *r, uint32_t *changed, int *ms)
{
	uint8_t buf[64];	/* 1 + 32 slots * 2 bits, and slack */
	uint32_t ch = 0, present = 0;
	size_t got = 0, i;
	int rc;

	if (changed != NULL)
		*changed = 0;
	if (r == NULL || changed == NULL || ms == NULL)
		return CCID_ERR_ARG;
	if (r->io.read_intr == NULL)
		return CCID_ERR_UNSUPPORTED;
	if (*ms <= 0)
		return CCID_ERR_TIMEOUT;
	if ((rc = r->io.read_intr(r->h, buf, sizeof(buf), &got, ms)) != 0)
		return rc;
	if (got > sizeof(buf) || got == 0)
		return CCID_ERR_PROTO;
	util_trace_hex(2, "ccid intr <", buf, got, 0);
	if (buf[0] == CCID_RDR_HARDWARE_ERROR) {
		if (got < 4)
			return CCID_ERR_PROTO;
		util_trace(1, "ccid: HardwareError slot %u seq %u code %02X",
		    buf[1], buf[2], buf[3]);
		if (buf[1] < r->nslots)
			slot_lost_power(&r->slots[buf[1]]);
		return CCID_ERR_HW;
	}
	if ((rc = ccid_notify_parse(buf, got, r->nslots, &ch, &present)) != 0)
		return rc;
	for (i = 0; i < r->nslots; i++) {
		if (!(ch & (1u << i)))
			continue;
		if (r->slots[i].powered)
			r->slots[i].changed = 1;
		r->slots[i].gen++;
		if (!(present & (1u << i)))
			slot_lost_power(&r->slots[i]);
	}
	*changed = ch;
	return 0;
}
