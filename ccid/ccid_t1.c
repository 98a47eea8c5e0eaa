/* SPDX-License-Identifier: MIT */
/*
 * ccid/ccid_t1.c — ISO/IEC 7816-3 §11 block transmission protocol T=1.
 *
 * Two parts: pure block encode/decode (prologue NAD PCB LEN, INF, EDC as
 * LRC or CRC), and an engine that runs one APDU over a "send a block,
 * receive a block" callback, so it can be tested and fuzzed with a
 * scripted card.
 *
 * Engine rules followed (§11.6): the interface device starts with an I-
 * or S-block; chains its I-blocks (M bit) no larger than IFSC and expects
 * an R-block acknowledging each; the card's chained I-blocks are
 * acknowledged with R(N(R)); S(WTX request) and S(IFS request) are
 * answered with their responses (WTX extends the next block's wait by
 * passing the multiplier down as bBWI).  Error recovery: an invalid block
 * or a lost one (CARD_MUTE from the callback) is answered with an R-block
 * carrying the expected N(R) and the error (1 EDC, 2 other); an R-block
 * asking for our last I-block gets it again.  After CCID_T1_MAX_ERRORS
 * consecutive errors the engine sends S(RESYNCH request) (up to
 * CCID_T1_MAX_RESYNCH times); the APDU is then reported lost
 * (CCID_ERR_T1) rather than sent again, because the card may already have
 * executed it.  Every loop is bounded by counts and the *ms budget.
 *
 * CRC: ISO/IEC 13239 CRC-16 (polynomial x^16+x^12+x^5+1, reflected,
 * initial 0xFFFF), sent most significant byte first, as libccid does.
 */
#include "ccid_int.h"

#include <string.h>

#include "../util/util.h"

uint8_t
ccid_t1_lrc(const uint8_t *p, size_t n)
{
	uint8_t x = 0;

	while (n-- > 0)
		x ^= *p++;
	return x;
}

uint16_t
ccid_t1_crc(const uint8_t *p, size_t n)
{
	uint16_t v = 0xffff;
	int i;

	while (n-- > 0) {
		v ^= *p++;
		for (i = 0; i < 8; i++)
			v = (v & 1) ? (uint16_t)((v >> 1) ^ 0x8408) :
			    (uint16_t)(v >> 1);
	}
	return v;
}

int
ccid_t1_encode(uint8_t nad, uint8_t pcb, const uint8_t *inf, size_t len,
    int crc, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n;
	uint16_t c;

	if (outlen != NULL)
		*outlen = 0;
	if (out == NULL || outlen == NULL || len > CCID_T1_MAX_INF ||
	    (inf == NULL && len > 0))
		return CCID_ERR_ARG;
	n = 3 + len + (crc ? 2 : 1);
	if (cap < n)
		return CCID_ERR_ARG;
	out[0] = nad;
	out[1] = pcb;
	out[2] = (uint8_t)len;
	if (len > 0)
		memcpy(out + 3, inf, len);
	if (crc) {
		c = ccid_t1_crc(out, 3 + len);
		out[3 + len] = (uint8_t)(c >> 8);
		out[4 + len] = (uint8_t)c;
	} else
		out[3 + len] = ccid_t1_lrc(out, 3 + len);
	*outlen = n;
	return 0;
}

int
ccid_t1_decode(const uint8_t *buf, size_t len, int crc, struct t1_block *b)
{
	size_t edc = crc ? 2 : 1, inf;
	uint16_t c;
	uint8_t type;

	if (b == NULL)
		return CCID_ERR_ARG;
	memset(b, 0, sizeof(*b));
	if (buf == NULL || len < 3 + edc)
		return CCID_ERR_PROTO;
	inf = buf[2];
	if (inf > CCID_T1_MAX_INF || len < 3 + inf + edc)
		return CCID_ERR_PROTO;
	/* TPDU readers that pass on bytes after the block (libccid cuts
	 * them too): the block is what its LEN says */
	if (len > 3 + inf + edc)
		util_trace(2, "t1: %zu bytes after the block, dropped",
		    len - (3 + inf + edc));
	if (crc) {
		c = ccid_t1_crc(buf, 3 + inf);
		if (buf[3 + inf] != (uint8_t)(c >> 8) ||
		    buf[4 + inf] != (uint8_t)c)
			return CCID_ERR_T1;
	} else if (ccid_t1_lrc(buf, 3 + inf + 1) != 0)
		return CCID_ERR_T1;
	if (buf[0] != 0)
		return CCID_ERR_PROTO;		/* we only speak NAD 0 */
	if ((buf[1] & 0x80) == 0) {
		if (buf[1] & 0x1f)
			return CCID_ERR_PROTO;	/* RFU bits of an I-block */
	} else if ((buf[1] & 0xc0) == T1_R) {
		if ((buf[1] & 0x2c) != 0 || (buf[1] & 0x03) == 3 || inf != 0)
			return CCID_ERR_PROTO;
	} else {
		type = buf[1] & 0x1f;
		switch (type) {
		case T1_S_RESYNCH:
		case T1_S_ABORT:
			if (inf != 0)
				return CCID_ERR_PROTO;
			break;
		case T1_S_IFS:
		case T1_S_WTX:
			if (inf != 1)
				return CCID_ERR_PROTO;
			break;
		default:
			return CCID_ERR_PROTO;	/* VPP error, RFU */
		}
	}
	b->nad = buf[0];
	b->pcb = buf[1];
	b->len = inf;
	b->inf = inf > 0 ? buf + 3 : NULL;
	return 0;
}

void
ccid_t1_init(struct ccid_t1 *t, uint8_t ifsc, int crc, ccid_t1_xfer_fn xfer,
    void *ctx)
{
	memset(t, 0, sizeof(*t));
	if (ifsc == 0 || ifsc == 0xff)
		ifsc = 32;
	t->ifsc = t->ifsc_atr = ifsc;
	t->ifsd = 32;
	t->crc = crc;
	t->xfer = xfer;
	t->ctx = ctx;
}

static enum t1_kind
t1_kind(uint8_t pcb)
{
	if ((pcb & 0x80) == 0)
		return T1_BLK_I;
	if ((pcb & 0xc0) == T1_R)
		return T1_BLK_R;
	return T1_BLK_S;
}

/* One exchange in progress. */
struct t1_run {
	struct ccid_t1 *t;
	uint8_t tx[CCID_T1_MAX_BLOCK];
	size_t txlen;
	uint8_t rx[CCID_T1_MAX_BLOCK + 16];
	size_t rxlen;
	uint8_t bwi;		/* WTX multiplier for the next block */
};

static void
t1_trace(const struct ccid_t1 *t, const char *dir, const uint8_t *blk,
    size_t len)
{
	if (util_debug_level() < 2)
		return;
	if (len < 3) {
		util_trace_hex(2, dir, blk, len, t->redact);
		return;
	}
	util_trace(2, "%s NAD %02X PCB %02X LEN %u", dir, blk[0], blk[1],
	    blk[2]);
	util_trace_hex(2, "  block", blk, len,
	    t->redact && (blk[1] & 0x80) == 0);
}

static int
t1_make(struct t1_run *x, uint8_t pcb, const uint8_t *inf, size_t len)
{
	return ccid_t1_encode(0, pcb, inf, len, x->t->crc, x->tx,
	    sizeof(x->tx), &x->txlen);
}

/* Sends x->tx and receives a block.  0: valid block in *b; 1: EDC error;
 * 2: other error or lost block; < 0: fatal error. */
static int
t1_xchg(struct t1_run *x, struct t1_block *b, int *ms)
{
	struct ccid_t1 *t = x->t;
	uint8_t bwi = x->bwi;
	int r;

	memset(b, 0, sizeof(*b));
	if (*ms <= 0)
		return CCID_ERR_TIMEOUT;
	x->bwi = 0;
	x->rxlen = 0;
	t1_trace(t, "T=1 >", x->tx, x->txlen);
	r = t->xfer(t->ctx, x->tx, x->txlen, bwi, x->rx, sizeof(x->rx),
	    &x->rxlen, ms);
	if (r == CCID_ERR_CARD_MUTE) {
		util_trace(2, "T=1 < (no block)");
		return 2;
	}
	if (r < 0)
		return r;
	if (x->rxlen > sizeof(x->rx))
		return CCID_ERR_PROTO;
	t1_trace(t, "T=1 <", x->rx, x->rxlen);
	r = ccid_t1_decode(x->rx, x->rxlen, t->crc, b);
	if (r == CCID_ERR_T1)
		return 1;
	if (r < 0)
		return 2;
	return 0;
}

/* Sends an S(request) until the card answers it with its response. */
static int
t1_s_request(struct ccid_t1 *t, uint8_t type, const uint8_t *inf,
    size_t len, struct t1_block *resp, uint8_t *val, int *ms)
{
	struct t1_run x;
	int r, tries;

	memset(&x, 0, sizeof(x));
	x.t = t;
	for (tries = 0; tries < CCID_T1_MAX_RESYNCH; tries++) {
		if ((r = t1_make(&x, (uint8_t)(T1_S | type), inf, len)) != 0)
			return r;
		r = t1_xchg(&x, resp, ms);
		if (r < 0)
			return r;
		if (r == 0 && resp->pcb == (T1_S | T1_S_RESP | type)) {
			if (val != NULL && resp->len == 1)
				*val = resp->inf[0];
			return 0;
		}
	}
	return CCID_ERR_T1;
}

int
ccid_t1_resynch(struct ccid_t1 *t, int *ms)
{
	struct t1_block b;
	int r;

	if (t == NULL || ms == NULL)
		return CCID_ERR_ARG;
	util_trace(2, "T=1 S(RESYNCH request)");
	if ((r = t1_s_request(t, T1_S_RESYNCH, NULL, 0, &b, NULL, ms)) != 0)
		return r;
	/* Both sides start again from their initial state (§11.6.3.2). */
	t->ns = t->nr = 0;
	t->ifsc = t->ifsc_atr;
	t->ifsd = 32;
	return 0;
}

int
ccid_t1_set_ifsd(struct ccid_t1 *t, uint8_t ifsd, int *ms)
{
	struct t1_block b;
	uint8_t v = 0;
	int r;

	if (t == NULL || ms == NULL || ifsd == 0 || ifsd == 0xff)
		return CCID_ERR_ARG;
	if ((r = t1_s_request(t, T1_S_IFS, &ifsd, 1, &b, &v, ms)) != 0)
		return r;
	if (v != ifsd)
		return CCID_ERR_T1;
	t->ifsd = ifsd;
	return 0;
}

int
ccid_t1_transceive(struct ccid_t1 *t, const uint8_t *capdu, size_t clen,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct t1_run x;
	struct t1_block b;
	uint8_t ipend[CCID_T1_MAX_BLOCK], ack[CCID_T1_MAX_BLOCK], pcb, v;
	size_t ipend_len = 0, ack_len = 0, off = 0, chunk = 0, steps, limit;
	int r, errors = 0, sreq = 0, sending = 1, more = 0, code;

	if (rlen != NULL)
		*rlen = 0;
	if (t == NULL || t->xfer == NULL || capdu == NULL || clen == 0 ||
	    rapdu == NULL || rlen == NULL || ms == NULL)
		return CCID_ERR_ARG;
	if (t->desync) {
		if ((r = ccid_t1_resynch(t, ms)) != 0)
			return CCID_ERR_T1;
		t->desync = 0;
	}
	memset(&x, 0, sizeof(x));
	x.t = t;
	/* Each step either moves a byte or counts an error / S-request. */
	limit = 8 * (clen + cap + 4) + CCID_T1_MAX_WTX + 16;

	/* the first I-block of the chain */
	chunk = clen < t->ifsc ? clen : t->ifsc;
	more = chunk < clen;
	pcb = (uint8_t)((t->ns ? T1_I_NS : 0) | (more ? T1_I_MORE : 0));
	if ((r = t1_make(&x, pcb, capdu, chunk)) != 0)
		goto fail;
	memcpy(ipend, x.tx, x.txlen);
	ipend_len = x.txlen;

	for (steps = 0; ; steps++) {
		if (steps > limit) {
			r = CCID_ERR_T1;
			goto fail;
		}
		r = t1_xchg(&x, &b, ms);
		if (r < 0)
			goto fail;
		code = r;
		if (code != 0)
			goto invalid;
		switch (t1_kind(b.pcb)) {
		case T1_BLK_S:
			if (b.pcb & T1_S_RESP)
				goto bad_block;
			if (++sreq > CCID_T1_MAX_WTX) {
				util_trace(1, "T=1: card sent more than %d "
				    "S-requests in one exchange",
				    CCID_T1_MAX_WTX);
				r = CCID_ERR_TIMEOUT;
				goto fail;
			}
			switch (b.pcb & 0x1f) {
			case T1_S_WTX:
				v = b.inf[0];
				if ((r = t1_make(&x, T1_S | T1_S_RESP | T1_S_WTX,
				    &v, 1)) != 0)
					goto fail;
				x.bwi = v;
				util_trace(2, "T=1 WTX x%u", v);
				continue;
			case T1_S_IFS:
				v = b.inf[0];
				if (v == 0 || v == 0xff)
					goto bad_block;
				if ((r = t1_make(&x, T1_S | T1_S_RESP | T1_S_IFS,
				    &v, 1)) != 0)
					goto fail;
				t->ifsc = v;
				continue;
			case T1_S_ABORT:
				/* The card gives up the chain: confirm, and
				 * report the APDU aborted. */
				if ((r = t1_make(&x, T1_S | T1_S_RESP |
				    T1_S_ABORT, NULL, 0)) != 0)
					goto fail;
				(void)t1_xchg(&x, &b, ms);
				r = CCID_ERR_ABORTED;
				goto fail;
			default:
				goto bad_block;	/* RESYNCH from the card */
			}
		case T1_BLK_R:
			if (!sending) {
				/* the card did not get our R-block */
				if (++errors > CCID_T1_MAX_ERRORS)
					goto resynch;
				memcpy(x.tx, ack, ack_len);
				x.txlen = ack_len;
				continue;
			}
			if (((b.pcb & T1_R_NR) ? 1 : 0) != t->ns) {
				/* acknowledges our chained block */
				if (!more)
					goto bad_block;
				t->ns ^= 1;
				off += chunk;
				errors = 0;
				chunk = clen - off < t->ifsc ? clen - off :
				    t->ifsc;
				more = off + chunk < clen;
				pcb = (uint8_t)((t->ns ? T1_I_NS : 0) |
				    (more ? T1_I_MORE : 0));
				if ((r = t1_make(&x, pcb, capdu + off,
				    chunk)) != 0)
					goto fail;
				memcpy(ipend, x.tx, x.txlen);
				ipend_len = x.txlen;
				continue;
			}
			/* asks for our I-block again */
			if (++errors > CCID_T1_MAX_ERRORS)
				goto resynch;
			memcpy(x.tx, ipend, ipend_len);
			x.txlen = ipend_len;
			continue;
		case T1_BLK_I:
			if (sending && more)
				goto bad_block;	/* must ack with R first */
			if (((b.pcb & T1_I_NS) ? 1 : 0) != t->nr)
				goto bad_block;
			if ((b.pcb & T1_I_MORE) && b.len == 0)
				goto bad_block;	/* empty chain link */
			if (sending) {
				t->ns ^= 1;	/* our last block got through */
				sending = 0;
			}
			errors = 0;
			if (b.len > cap - *rlen) {
				util_trace(1, "T=1: response larger than "
				    "%zu bytes", cap);
				r = CCID_ERR_BUFFER;
				goto fail;
			}
			if (b.len > 0)
				memcpy(rapdu + *rlen, b.inf, b.len);
			*rlen += b.len;
			t->nr ^= 1;
			if (!(b.pcb & T1_I_MORE)) {
				r = 0;
				goto out;
			}
			if ((r = t1_make(&x, (uint8_t)(T1_R |
			    (t->nr ? T1_R_NR : 0)), NULL, 0)) != 0)
				goto fail;
			memcpy(ack, x.tx, x.txlen);
			ack_len = x.txlen;
			continue;
		}
bad_block:
		code = 2;
invalid:
		if (++errors > CCID_T1_MAX_ERRORS)
			goto resynch;
		/* R-block with the N(S) we expect and the error. */
		if ((r = t1_make(&x, (uint8_t)(T1_R | (t->nr ? T1_R_NR : 0) |
		    code), NULL, 0)) != 0)
			goto fail;
	}

resynch:
	util_trace(1, "T=1: %d errors in a row, resynchronising", errors);
	r = CCID_ERR_T1;
	if (ccid_t1_resynch(t, ms) == 0)
		goto out;	/* protocol usable again, the APDU is lost */
fail:
	/* Where the card stands is unknown: resynchronise before reuse. */
	t->desync = 1;
out:
	/* the blocks may have carried a PIN or a key */
	util_wipe(ipend, sizeof(ipend));
	util_wipe(&x, sizeof(x));
	if (r != 0)
		*rlen = 0;
	return r;
}
