/* SPDX-License-Identifier: MIT */
/*
 * reader_t1.c — the CARD side of ISO/IEC 7816-3 T=1 (LRC only), for the
 * TPDU-level profile: the host's CCID layer sends blocks, we answer blocks.
 *
 *   I-blocks in: checked N(S); chained parts (M bit) acknowledged with
 *     R(N(R)); a repeated I-block gets our last block again.
 *   I-blocks out: the response in parts of at most IFSD bytes (the host's
 *     size, 32 until it sends S(IFS request)); the host asks for the next
 *     part with R(N(R) = our next N(S)), anything else repeats the last.
 *   S(RESYNCH), S(IFS), S(ABORT) requests answered; S(WTX) requests sent
 *     when injected, the answer follows the host's S(WTX response).
 *   A bad LRC or LEN gets R-block "EDC error"; other nonsense R "other".
 */
#define _GNU_SOURCE
#include "reader.h"

#include <stdlib.h>
#include <string.h>

#define T1_MAX_INF	254

struct rd_t1 {
	uint8_t ifsc;		/* ours (in our ATR) */
	uint8_t ifsd;		/* the host's */
	int host_ns;		/* N(S) expected in the next host I-block */
	int card_ns;		/* N(S) of our next I-block */
	int in_cmd_chain;
	int wtx_inject;		/* S(WTX) requests still to send */
	int wtx_wait;		/* sent one, waiting for the response */
	uint8_t *cmd;
	size_t clen;
	uint8_t *rsp;
	size_t rlen, roff;	/* response being sent (roff < rlen: more) */
	int rsp_pending;	/* a response exists (maybe empty) */
	uint8_t last[4 + T1_MAX_INF];
	size_t lastlen;
};

struct rd_t1 *
rd_t1_new(uint8_t ifsc)
{
	struct rd_t1 *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->cmd = malloc(RD_APDU_MAX)) == NULL ||
	    (t->rsp = malloc(RD_RAPDU_MAX)) == NULL) {
		free(t->cmd);
		free(t);
		return NULL;
	}
	t->ifsc = ifsc ? ifsc : 32;
	rd_t1_reset(t);
	return t;
}

void
rd_t1_free(struct rd_t1 **tp)
{
	struct rd_t1 *t;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	free(t->cmd);
	free(t->rsp);
	free(t);
	*tp = NULL;
}

void
rd_t1_reset(struct rd_t1 *t)
{
	t->ifsd = 32;
	t->host_ns = 0;
	t->card_ns = 0;
	t->in_cmd_chain = 0;
	t->wtx_wait = 0;
	t->clen = 0;
	t->rlen = t->roff = 0;
	t->rsp_pending = 0;
	t->lastlen = 0;
}

void
rd_t1_inject_wtx(struct rd_t1 *t, int n)
{
	t->wtx_inject = n < 0 ? 0 : n;
}

static size_t
block(uint8_t *out, uint8_t pcb, const uint8_t *inf, size_t n)
{
	uint8_t lrc = 0;
	size_t i;

	out[0] = 0;		/* NAD */
	out[1] = pcb;
	out[2] = (uint8_t)n;
	if (n > 0)
		memcpy(out + 3, inf, n);
	for (i = 0; i < 3 + n; i++)
		lrc ^= out[i];
	out[3 + n] = lrc;
	return 4 + n;
}

/* Sends (and remembers) one block. */
static void
t1_send(struct rd_t1 *t, uint8_t pcb, const uint8_t *inf, size_t n,
    uint8_t *out, size_t *outlen)
{
	t->lastlen = block(t->last, pcb, inf, n);
	memcpy(out, t->last, t->lastlen);
	*outlen = t->lastlen;
}

static void
send_r(struct rd_t1 *t, int err, uint8_t *out, size_t *outlen)
{
	/* R-blocks are not remembered: a repeat asks for our last block. */
	*outlen = block(out, (uint8_t)(0x80 | t->host_ns << 4 | err), NULL, 0);
}

static void
send_next_part(struct rd_t1 *t, uint8_t *out, size_t *outlen)
{
	size_t n = t->rlen - t->roff;
	int more = 0;

	if (n > t->ifsd) {
		n = t->ifsd;
		more = 1;
	}
	t1_send(t, (uint8_t)(t->card_ns << 6 | more << 5), t->rsp + t->roff, n,
	    out, outlen);
	t->card_ns ^= 1;
	t->roff += n;
	if (!more)
		t->rsp_pending = 0;
}

static void
send_wtx_or_answer(struct rd_t1 *t, uint8_t *out, size_t *outlen)
{
	uint8_t m = 1;

	if (t->wtx_inject > 0) {
		t->wtx_inject--;
		t->wtx_wait = 1;
		t1_send(t, 0xC3, &m, 1, out, outlen);
		return;
	}
	send_next_part(t, out, outlen);
}

int
rd_t1_block(struct rd_t1 *t, card_backend_t *b, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t lrc = 0, pcb;
	size_t i, len;

	*outlen = 0;
	if (cap < 4 + T1_MAX_INF)
		return -1;
	for (i = 0; i < inlen; i++)
		lrc ^= in[i];
	if (inlen < 4 || lrc != 0 || in[2] != inlen - 4 || in[2] > T1_MAX_INF) {
		send_r(t, 1, out, outlen);
		return 0;
	}
	pcb = in[1];
	len = in[2];

	if ((pcb & 0x80) == 0) {			/* I-block */
		int ns = pcb >> 6 & 1, more = pcb >> 5 & 1;

		if (len > t->ifsc) {
			send_r(t, 2, out, outlen);
			return 0;
		}
		if (ns != t->host_ns) {
			/* A repeat: our answer was lost, send it again. */
			if (t->lastlen > 0) {
				memcpy(out, t->last, t->lastlen);
				*outlen = t->lastlen;
			} else
				send_r(t, 2, out, outlen);
			return 0;
		}
		t->host_ns ^= 1;
		if (!t->in_cmd_chain)
			t->clen = 0;
		/* A new command drops what was left of an old answer. */
		t->rsp_pending = 0;
		t->rlen = t->roff = 0;
		if (t->clen + len > RD_APDU_MAX) {
			t->in_cmd_chain = 0;
			t->clen = 0;
			send_r(t, 2, out, outlen);
			return 0;
		}
		memcpy(t->cmd + t->clen, in + 3, len);
		t->clen += len;
		if (more) {
			t->in_cmd_chain = 1;
			/* N(R) = the N(S) we expect next. */
			t->lastlen = block(t->last,
			    (uint8_t)(0x80 | t->host_ns << 4), NULL, 0);
			memcpy(out, t->last, t->lastlen);
			*outlen = t->lastlen;
			return 0;
		}
		t->in_cmd_chain = 0;
		if (b->ops == NULL || b->ops->apdu(b->h, t->cmd, t->clen,
		    t->rsp, RD_RAPDU_MAX, &t->rlen) != 0)
			return -1;
		t->roff = 0;
		t->rsp_pending = 1;
		send_wtx_or_answer(t, out, outlen);
		return 0;
	}

	if ((pcb & 0xC0) == 0x80) {			/* R-block */
		int nr = pcb >> 4 & 1;

		if (t->rsp_pending && !t->wtx_wait && t->roff > 0 &&
		    nr == t->card_ns && (pcb & 0x0F) == 0) {
			send_next_part(t, out, outlen);
			return 0;
		}
		if (t->lastlen > 0) {
			memcpy(out, t->last, t->lastlen);
			*outlen = t->lastlen;
		} else
			send_r(t, 2, out, outlen);
		return 0;
	}

	switch (pcb & 0x1F) {				/* S-block */
	case 0x00:			/* RESYNCH request */
		if (pcb & 0x20)
			break;
		rd_t1_reset(t);
		t1_send(t, 0xE0, NULL, 0, out, outlen);
		return 0;
	case 0x01:			/* IFS request */
		if ((pcb & 0x20) || len != 1 || in[3] == 0 || in[3] == 0xFF)
			break;
		t->ifsd = in[3];
		t1_send(t, 0xE1, in + 3, 1, out, outlen);
		return 0;
	case 0x02:			/* ABORT request */
		if (pcb & 0x20)
			break;
		t->in_cmd_chain = 0;
		t->clen = 0;
		t->rsp_pending = 0;
		t->rlen = t->roff = 0;
		t1_send(t, 0xE2, NULL, 0, out, outlen);
		return 0;
	case 0x03:			/* WTX response */
		if (!(pcb & 0x20) || !t->wtx_wait)
			break;
		t->wtx_wait = 0;
		send_wtx_or_answer(t, out, outlen);
		return 0;
	}
	send_r(t, 2, out, outlen);
	return 0;
}

/* ---- ATR ------------------------------------------------------------------ */

size_t
rd_atr_set_ifsc(const uint8_t *atr, size_t len, uint8_t ifsc, uint8_t *out,
    size_t cap)
{
	const uint8_t *hist;
	size_t i = 2, nhist;
	uint8_t y, td = 0;
	size_t n = 0, k;
	uint8_t tck = 0;

	if (len < 2 || (atr[0] != 0x3B && atr[0] != 0x3F))
		return 0;
	/* Walk the interface bytes to find the historical bytes. */
	nhist = atr[1] & 0x0F;
	y = atr[1] >> 4;
	for (;;) {
		if (y & 1) i++;
		if (y & 2) i++;
		if (y & 4) i++;
		if (y & 8) {
			if (i >= len)
				return 0;
			td = atr[i++];
			y = td >> 4;
		} else
			break;
		if (i > len)
			return 0;
	}
	if (i + nhist > len)
		return 0;
	hist = atr + i;
	/* Our own ATR: TS T0 TD1 TD2 TA3 TB3 historical TCK. */
	if (cap < 8 + nhist)
		return 0;
	out[n++] = atr[0];
	out[n++] = (uint8_t)(0x80 | nhist);	/* TD1 present */
	out[n++] = 0x81;			/* TD2 present, T=1 */
	out[n++] = 0x31;			/* TA3 TB3 present, T=1 */
	out[n++] = ifsc;			/* IFSC */
	out[n++] = 0x45;			/* BWI 4, CWI 5 */
	memcpy(out + n, hist, nhist);
	n += nhist;
	for (k = 1; k < n; k++)
		tck ^= out[k];
	out[n++] = tck;
	return n;
}

int
rd_atr_protocols(const uint8_t *atr, size_t len, uint32_t *protocols,
    int *first)
{
	size_t i = 2, nhist;
	uint8_t y;
	int ntd = 0;

	*protocols = 0;
	*first = 0;
	if (atr == NULL || len < 2 || len > 33)
		return -1;
	nhist = atr[1] & 0x0F;
	y = atr[1] >> 4;
	while (y != 0) {
		/* TAi TBi TCi, then TDi which says what follows */
		i += (size_t)((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1));
		if (!(y & 8))
			break;
		if (i >= len)
			return -1;
		if (ntd++ == 0)
			*first = atr[i] & 0x0F;
		*protocols |= 1u << (atr[i] & 0x0F);
		y = atr[i++] >> 4;
	}
	if (i + nhist > len) {
		*protocols = 0;
		*first = 0;
		return -1;
	}
	if (*protocols == 0)
		*protocols = 1;		/* no TD1: T=0 only */
	return 0;
}
