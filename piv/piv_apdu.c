/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_apdu.c — one PIV command in, one whole answer out: short or
 * extended encoding, command chaining (CLA 0x10), 61xx GET RESPONSE and
 * 6Cxx, the status word mapping.  Every loop is bounded by the caller's
 * buffer, PIV_MAX_GETRESP and the time budget; the trace redacts secrets.
 */
#include "piv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

#define DEFAULT_MS	30000

static size_t
min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * Encodes one APDU into buf (cap bytes): short (Lc and Le of one byte) or
 * extended (three, or two for Le after Lc); le 0 = no Le field.  *n is
 * its length; PIV_ERR_ARG when it does not fit.
 */
static int
encode(uint8_t *buf, size_t cap, uint8_t cla, const struct piv_cmd *c,
    const uint8_t *d, size_t dlen, size_t le, int ext, size_t *n)
{
	wbuf_t b;

	*n = 0;
	wbuf_init(&b, buf, cap);
	wbuf_put_u8(&b, cla);
	wbuf_put_u8(&b, c->ins);
	wbuf_put_u8(&b, c->p1);
	wbuf_put_u8(&b, c->p2);
	if (!ext) {
		if (dlen > 0) {
			wbuf_put_u8(&b, (uint8_t)dlen);
			wbuf_put_bytes(&b, d, dlen);
		}
		if (le > 0)
			wbuf_put_u8(&b, (uint8_t)(le >= 256 ? 0 : le));
	} else {
		if (dlen > 0) {
			wbuf_put_u8(&b, 0);
			wbuf_put_be16(&b, (uint16_t)dlen);
			wbuf_put_bytes(&b, d, dlen);
		}
		if (le > 0) {
			if (dlen == 0)
				wbuf_put_u8(&b, 0);
			wbuf_put_be16(&b, (uint16_t)(le >= 65536 ? 0 : le));
		}
	}
	if (wbuf_check(&b) != 0)
		return PIV_ERR_ARG;
	*n = b.len;
	return 0;
}

int
piv_err_from_io(int r)
{
	switch (r) {
	case PIV_OK:
		return 0;
	case PIV_ERR_ARG:
	case PIV_ERR_NOMEM:
	case PIV_ERR_TRANSPORT:
	case PIV_ERR_REMOVED:
	case PIV_ERR_TIMEOUT:
	case PIV_ERR_BUSY:
	case PIV_ERR_PROTO:
	case PIV_ERR_NO_APP:
	case PIV_ERR_NOT_FOUND:
	case PIV_ERR_PIN_WRONG:
	case PIV_ERR_PIN_BLOCKED:
	case PIV_ERR_AUTH_REQUIRED:
	case PIV_ERR_CONDITIONS:
	case PIV_ERR_BAD_DATA:
	case PIV_ERR_NOT_SUPPORTED:
	case PIV_ERR_CARD:
	case PIV_ERR_BUFFER:
	case PIV_ERR_CRYPTO:
	case PIV_ERR_TOUCH_TIMEOUT:
	case PIV_ERR_ACCESS:
		return r;
	default:	/* PIV_ERR_NO_SPACE is the card's word, never a transport's */
		return PIV_ERR_TRANSPORT;
	}
}

void
piv_set_io_cause(piv_card_t *p, const char *why)
{
	if (p != NULL)
		p->io_cause = why;
}

const char *
piv_last_cause(piv_card_t *p)
{
	if (p == NULL)
		return "";
	if (p->io_cause != NULL)
		snprintf(p->cause, sizeof(p->cause), "%s", p->io_cause);
	else if (p->last_sw != 0 && p->last_sw != 0x9000)
		snprintf(p->cause, sizeof(p->cause), "status word %04X",
		    (unsigned)p->last_sw);
	else
		p->cause[0] = '\0';
	return p->cause;
}

uint16_t
piv_last_sw(const piv_card_t *p)
{
	return p != NULL ? p->last_sw : 0;
}

/* One exchange at the transport; the answer lands in p->rx.  final: the
 * command's last part (or a GET RESPONSE after it): the card acts on it,
 * so losing its answer leaves the outcome unknown (p->lost_ins). */
static int
xmit(piv_card_t *p, const uint8_t *capdu, size_t clen, size_t maxrx,
    int secret, size_t *rlen, int *ms, int final, uint8_t ins)
{
	int r;

	*rlen = 0;
	if (*ms <= 0)
		return PIV_ERR_TIMEOUT;
	/* the command says whether it carries a secret (struct piv_cmd's
	 * own flag); every part and answer of its exchange is redacted */
	util_trace_hex(3, "piv >", capdu, clen, secret);
	p->napdu++;
	r = p->io.transmit(p->io_h, capdu, clen, secret, p->rx, maxrx, rlen,
	    ms);
	if (r != 0) {
		*rlen = 0;
		if (final && (p->io.sent == NULL || p->io.sent(p->io_h)))
			p->lost_ins = ins;
		r = piv_err_from_io(r);
		util_trace(1, "piv: transport: %s (%s)%s", piv_strerror(r),
		    piv_last_cause(p), p->lost_ins ?
		    ", after the command reached the card" : "");
		return r;
	}
	if (*rlen < 2 || *rlen > maxrx) {	/* no SW, or more than asked */
		*rlen = 0;
		if (final)
			p->lost_ins = ins;
		return PIV_ERR_PROTO;
	}
	util_trace_hex(3, "piv <", p->rx, *rlen, secret);
	return 0;
}

/* Appends the data part of p->rx to out. */
static int
append(piv_card_t *p, size_t rlen, uint8_t *out, size_t cap, size_t *got)
{
	size_t n = rlen - 2;

	if (n == 0)
		return 0;
	if (cap == 0)		/* nothing wanted: drop it */
		return 0;
	if (n > cap - *got)
		return PIV_ERR_BUFFER;
	memcpy(out + *got, p->rx, n);
	*got += n;
	return 0;
}

int
piv_transceive(piv_card_t *p, const struct piv_cmd *c, uint8_t *out,
    size_t cap, size_t *outlen, uint16_t *sw, int *ms)
{
	static const struct piv_cmd getresp = { .cla = PIV_CLA,
	    .ins = PIV_INS_GET_RESPONSE };
	uint8_t *tx = NULL, gr[5];
	size_t maxrx, le, txcap, off, part, n, rlen = 0, got = 0, count;
	int defms = DEFAULT_MS, ext, redact, r, tried6c = 0;
	uint16_t s = 0;

	if (outlen != NULL)
		*outlen = 0;
	if (sw != NULL)
		*sw = 0;
	if (p == NULL || c == NULL || outlen == NULL || sw == NULL ||
	    (c->len > 0 && c->data == NULL) || (cap > 0 && out == NULL))
		return PIV_ERR_ARG;
	if (ms == NULL)
		ms = &defms;
	p->lost_ins = 0;
	maxrx = PIV_RX_MAX;
	if (p->io.rx_max != 0)
		maxrx = min_sz(maxrx, p->io.rx_max);
	if (maxrx < 3 && cap > 0)
		return PIV_ERR_ARG;
	if (maxrx < 2)
		return PIV_ERR_ARG;
	redact = c->secret != 0;
again:
	ext = (p->io.extended_now != NULL ? p->io.extended_now(p->io_h) :
	    p->io.extended) && !p->no_ext && c->len <= 65535 &&
	    (c->len > 255 || (cap > 256 && maxrx > 258));
	txcap = 4 + 3 + (ext ? c->len : min_sz(c->len, 255)) + 3;
	if ((tx = malloc(txcap)) == NULL)
		return PIV_ERR_NOMEM;
	if (ext) {
		le = cap > 0 ? min_sz(min_sz(cap, 65536), maxrx - 2) : 0;
		if ((r = encode(tx, txcap, c->cla, c, c->data, c->len, le, 1,
		    &n)) != 0 ||
		    (r = xmit(p, tx, n, maxrx, redact, &rlen, ms, 1,
		    c->ins)) != 0)
			goto fail;
		s = (uint16_t)(p->rx[rlen - 2] << 8 | p->rx[rlen - 1]);
		if (s == 0x6700 && !p->no_ext) {
			/* the card takes short APDUs only: remember, resend */
			util_trace(1, "piv: extended APDU refused, using short");
			p->no_ext = 1;
			util_freezero(tx, txcap);
			tx = NULL;
			goto again;
		}
	} else {
		le = cap > 0 ? min_sz(PIV_SHORT_LE, maxrx - 2) : 0;
		/* command chaining: all parts but the last with CLA | 0x10 */
		off = 0;
		do {
			const uint8_t *d = c->len > 0 ? c->data + off : NULL;

			part = min_sz(c->len - off, 255);
			if (off + part < c->len)
				r = encode(tx, txcap, (uint8_t)(c->cla |
				    PIV_CLA_CHAIN), c, d, part, 0, 0, &n);
			else
				r = encode(tx, txcap, c->cla, c, d, part, le, 0,
				    &n);
			if (r != 0 || (r = xmit(p, tx, n, maxrx, redact,
			    &rlen, ms, off + part >= c->len, c->ins)) != 0)
				goto fail;
			s = (uint16_t)(p->rx[rlen - 2] << 8 |
			    p->rx[rlen - 1]);
			off += part;
			if (off < c->len && s != 0x9000)
				goto done;	/* a part was refused */
		} while (off < c->len);
		if ((s >> 8) == 0x6c && cap > 0 && !tried6c) {
			/* wrong Le: resend the last part once with Le = SW2 */
			tried6c = 1;
			le = (s & 0xff) == 0 ? 256 : (s & 0xff);
			if (le > maxrx - 2) {
				r = PIV_ERR_BUFFER;
				goto fail;
			}
			tx[n - 1] = (uint8_t)(le & 0xff);
			if ((r = xmit(p, tx, n, maxrx, redact, &rlen,
			    ms, 1, c->ins)) != 0)
				goto fail;
			s = (uint16_t)(p->rx[rlen - 2] << 8 |
			    p->rx[rlen - 1]);
		}
	}
	if ((r = append(p, rlen, out, cap, &got)) != 0)
		goto fail;
	/* 61xx: more data waiting; bounded by cap, a count and *ms */
	for (count = 0; (s >> 8) == 0x61; count++) {
		if (cap == 0) {		/* done, and nothing was wanted */
			s = 0x9000;
			break;
		}
		if (count >= PIV_MAX_GETRESP || got >= cap) {
			r = count >= PIV_MAX_GETRESP ? PIV_ERR_PROTO :
			    PIV_ERR_BUFFER;
			goto fail;
		}
		le = (s & 0xff) == 0 ? 256 : (s & 0xff);
		le = min_sz(le, maxrx - 2);
		if ((r = encode(gr, sizeof(gr), PIV_CLA, &getresp, NULL, 0, le,
		    0, &n)) != 0 ||
		    (r = xmit(p, gr, n, maxrx, redact, &rlen, ms, 1,
		    c->ins)) != 0)
			goto fail;
		s = (uint16_t)(p->rx[rlen - 2] << 8 | p->rx[rlen - 1]);
		if ((r = append(p, rlen, out, cap, &got)) != 0)
			goto fail;
	}
done:
	util_wipe(p->rx, rlen);
	util_freezero(tx, txcap);
	p->last_sw = s;
	*sw = s;
	*outlen = got;
	return 0;
fail:
	util_wipe(p->rx, rlen);
	util_freezero(tx, txcap);
	if (cap > 0 && out != NULL)
		util_wipe(out, min_sz(got, cap));
	*outlen = 0;
	*sw = 0;
	return r;
}

int
piv_sw_err(uint16_t sw)
{
	if (sw == 0x9000)
		return 0;
	if ((sw & 0xff00) == 0x6300)
		return PIV_ERR_PIN_WRONG;
	switch (sw) {
	case 0x6983:
		return PIV_ERR_PIN_BLOCKED;
	case 0x6982:
		return PIV_ERR_AUTH_REQUIRED;
	case 0x6985:
		return PIV_ERR_CONDITIONS;
	case 0x6a80:
	case 0x6a86:
	case 0x6700:
		return PIV_ERR_BAD_DATA;
	case 0x6a82:
	case 0x6a88:
		return PIV_ERR_NOT_FOUND;
	case 0x6a84:
		return PIV_ERR_NO_SPACE;
	case 0x6d00:
	case 0x6e00:
	case 0x6a81:
		return PIV_ERR_NOT_SUPPORTED;
	default:
		return PIV_ERR_CARD;
	}
}

int
piv_xfer(piv_card_t *p, const struct piv_cmd *c, uint8_t *out, size_t cap,
    size_t *outlen, int *ms)
{
	uint16_t sw;
	size_t n = 0;
	int r;

	if (outlen != NULL)
		*outlen = 0;
	if ((r = piv_transceive(p, c, out, cap, &n, &sw, ms)) != 0)
		return r;
	if ((r = piv_sw_err(sw)) != 0) {
		if (cap > 0)
			util_wipe(out, n);
		return r;
	}
	if (outlen != NULL)
		*outlen = n;
	return 0;
}

int
piv_call(piv_card_t *p, const struct piv_cmd *c, uint8_t *out, size_t cap,
    size_t *outlen, int *ms)
{
	int r;

	if (outlen != NULL)
		*outlen = 0;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	r = piv_xfer(p, c, out, cap, outlen, ms);
	piv_leave(p);
	return r;
}

/* Does the data field of a PUT/GET DATA name the printed-information
 * object 5FC109, where a PIN-protected management key lives? */
static int
names_printed_info(const uint8_t *data, size_t n)
{
	static const uint8_t tag[] = { 0x5c, 0x03, 0x5f, 0xc1, 0x09 };

	return n >= sizeof(tag) && memcmp(data, tag, sizeof(tag)) == 0;
}

/* See piv.h: for raw APDUs only; the stack's own commands carry .secret. */
int
piv_apdu_is_secret(const uint8_t *apdu, size_t n)
{
	uint8_t ins, p2;
	size_t lc, off;

	if (apdu == NULL || n < 4)
		return 0;
	ins = apdu[1];
	p2 = apdu[3];
	switch (ins) {
	case PIV_INS_VERIFY:
	case PIV_INS_CHANGE_REFERENCE:
	case PIV_INS_RESET_RETRY:
	case PIV_INS_YK_IMPORT_KEY:
	case PIV_INS_YK_SET_MGMKEY:
		return 1;
	case PIV_INS_GENERAL_AUTH:	/* with the management key */
		return p2 == PIV_SLOT_MGM;
	case PIV_INS_GET_DATA:
	case PIV_INS_PUT_DATA:
		if (n < 6)
			return 0;
		if (apdu[4] != 0) {
			lc = apdu[4];
			off = 5;
		} else if (n >= 7) {
			lc = (size_t)apdu[5] << 8 | apdu[6];
			off = 7;
		} else
			return 0;
		if (off > n)
			return 0;
		if (lc > n - off)
			lc = n - off;
		return names_printed_info(apdu + off, lc);
	default:
		return 0;
	}
}
