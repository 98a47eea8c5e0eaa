/* SPDX-License-Identifier: MIT */
/*
 * ccid/ccid_atr.c — Answer To Reset parser, ISO/IEC 7816-3 §8.2 (pure).
 *
 * TS, T0, then interface byte groups TAi TBi TCi TDi as announced by the
 * high nibble of T0 / TDi-1, then the historical bytes (low nibble of T0),
 * then TCK when any protocol other than T=0 is indicated.  The whole ATR
 * is at most 33 bytes, which also bounds the TD chain.  What real cards
 * get wrong and can be used anyway (TCK, IFSC 00/FF, trailing bytes) is
 * kept and noted in `fixes`; the caller says so in the trace.
 */
#include "ccid_int.h"

#include <string.h>

#include "../util/util.h"

#define ATR_MAX		33
#define ATR_MAX_GROUPS	8	/* TD chain bound (33 bytes allow fewer) */

int
ccid_atr_parse(const uint8_t *atr, size_t len, struct ccid_atr *out)
{
	rbuf_t b;
	uint8_t y, td, v, x;
	int i, t, t1_seen_ta = 0, t1_seen_tb = 0, t1_seen_tc = 0, prev_t = -1;
	size_t k;

	if (out == NULL)
		return CCID_ERR_ARG;
	memset(out, 0, sizeof(*out));
	out->ifsc = 32;
	out->bwi = 4;
	out->cwi = 13;
	if (atr == NULL || len < 2 || len > ATR_MAX)
		goto bad;
	memcpy(out->raw, atr, len);
	out->len = len;
	rbuf_init(&b, atr, len);
	rbuf_u8(&b, &out->ts);
	rbuf_u8(&b, &out->t0);
	if (out->ts != 0x3b && out->ts != 0x3f)
		goto bad;
	y = out->t0 >> 4;
	out->hist_len = out->t0 & 0x0f;
	/* i is the group number: TA(i), TB(i), TC(i), TD(i). */
	for (i = 1; ; i++) {
		if (i > ATR_MAX_GROUPS)
			goto bad;
		/* prev_t: the T announced by TD(i-1), which the group's
		 * bytes are specific to (for i >= 3). */
		if (y & 0x1) {
			if (rbuf_u8(&b, &v) != 0)
				goto bad;
			if (i == 1) {
				out->has_ta1 = 1;
				out->ta1 = v;
			} else if (i == 2) {
				out->has_ta2 = 1;
				out->ta2 = v;
			} else if (prev_t == 1 && !t1_seen_ta) {
				t1_seen_ta = 1;
				/* IFSC 00 and FF are RFU: clamp */
				if (v == 0x00 || v == 0xff)
					out->fixes |= CCID_ATR_FIX_IFSC;
				out->ifsc = v == 0x00 ? 32 : v == 0xff ?
				    CCID_T1_MAX_INF : v;
			}
		}
		if (y & 0x2) {
			if (rbuf_u8(&b, &v) != 0)
				goto bad;
			if (i >= 3 && prev_t == 1 && !t1_seen_tb) {
				t1_seen_tb = 1;
				out->bwi = v >> 4;
				out->cwi = v & 0x0f;
			}
		}
		if (y & 0x4) {
			if (rbuf_u8(&b, &v) != 0)
				goto bad;
			if (i == 1) {
				out->has_tc1 = 1;
				out->tc1 = v;
			} else if (i == 2) {
				out->has_tc2 = 1;
				out->tc2 = v;	/* WI; 00 is RFU */
				if (v == 0)
					out->fixes |= CCID_ATR_FIX_TC2;
			} else if (i >= 3 && prev_t == 1 && !t1_seen_tc) {
				t1_seen_tc = 1;
				out->edc_crc = v & 0x01;
			}
		}
		if (!(y & 0x8))
			break;
		if (rbuf_u8(&b, &td) != 0)
			goto bad;
		t = td & 0x0f;
		if (i == 1)
			out->first_protocol = t;
		out->protocols |= 1u << t;
		prev_t = t;
		y = td >> 4;
	}
	if (out->protocols == 0)
		out->protocols = 1u << 0;	/* no TD1: T=0 only */
	if (rbuf_copy(&b, out->hist, out->hist_len) != 0)
		goto bad;
	/* TCK is present unless only T=0 is indicated (T=15 counts). */
	if ((out->protocols & ~(uint32_t)1) != 0) {
		if (rbuf_skip(&b, 1) != 0)
			goto bad;
		out->has_tck = 1;
		for (x = 0, k = 1; k < len; k++)
			x ^= atr[k];
		out->tck_ok = x == 0;
	}
	if (b.left != 0) {
		/* trailing bytes (some readers pass on padding): the ATR
		 * is what its own bytes say; TCK is computed over those */
		out->fixes |= CCID_ATR_FIX_TRAILING;
		len -= b.left;
		memset(out->raw + len, 0, sizeof(out->raw) - len);
		out->len = len;
		if (out->has_tck) {
			for (x = 0, k = 1; k < len; k++)
				x ^= atr[k];
			out->tck_ok = x == 0;
		}
	}
	if (out->has_tck && !out->tck_ok)
		out->fixes |= CCID_ATR_FIX_TCK;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return CCID_ERR_BAD_ATR;
}
