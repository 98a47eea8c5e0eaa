/* SPDX-License-Identifier: MIT */
/*
 * tests/vtoken/vcard.c — the software PIV card: object life cycle, APDU
 * decoding (short, extended, chaining), GET RESPONSE and small helpers.
 * The PIV commands themselves are in vcard_cmd.c.
 */
#include "vcard_int.h"

#include <stdlib.h>
#include <string.h>

#include "vt_util.h"

static const uint8_t vc_atr_bytes[] = {
	0x3b, 0xfd, 0x13, 0x00, 0x00, 0x81, 0x31, 0xfe, 0x15, 0x80, 0x73,
	0xc0, 0x21, 0xc0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4b, 0x65, 0x79, 0x40
};

static const uint8_t default_pin[VC_PIN_LEN] = {
	'1', '2', '3', '4', '5', '6', 0xff, 0xff
};
static const uint8_t default_puk[VC_PIN_LEN] = {
	'1', '2', '3', '4', '5', '6', '7', '8'
};
static const uint8_t default_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

/* ---- slots --------------------------------------------------------------- */

static const uint8_t slot_ids[VC_NSLOTS] = {
	0x9a, 0x9c, 0x9d, 0x9e,
	0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
	0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0xf9
};

int
vc_slot_index(uint8_t slot)
{
	size_t i;

	for (i = 0; i < VC_NSLOTS; i++)
		if (slot_ids[i] == slot)
			return (int)i;
	return -1;
}

uint8_t
vc_slot_id(int idx)
{
	return idx >= 0 && idx < VC_NSLOTS ? slot_ids[idx] : 0;
}

/* ---- response builder ------------------------------------------------------ */

int
vrsp_put(struct vrsp *r, const void *p, size_t n)
{
	if (n > r->cap - r->len)
		return -1;
	if (n > 0)
		memcpy(r->p + r->len, p, n);
	r->len += n;
	return 0;
}

static size_t
tag_len(uint32_t tag)
{
	return tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
}

size_t
vc_tl_len(uint32_t tag, size_t len)
{
	return tag_len(tag) + (len < 0x80 ? 1 : len < 0x100 ? 2 : 3);
}

int
vrsp_tl(struct vrsp *r, uint32_t tag, size_t len)
{
	uint8_t b[6];
	size_t n = 0;

	if (len > 0xffff)
		return -1;
	if (tag > 0xffff)
		b[n++] = (uint8_t)(tag >> 16);
	if (tag > 0xff)
		b[n++] = (uint8_t)(tag >> 8);
	b[n++] = (uint8_t)tag;
	if (len < 0x80)
		b[n++] = (uint8_t)len;
	else if (len < 0x100) {
		b[n++] = 0x81;
		b[n++] = (uint8_t)len;
	} else {
		b[n++] = 0x82;
		b[n++] = (uint8_t)(len >> 8);
		b[n++] = (uint8_t)len;
	}
	return vrsp_put(r, b, n);
}

int
vrsp_tlv(struct vrsp *r, uint32_t tag, const void *p, size_t n)
{
	if (vrsp_tl(r, tag, n) != 0)
		return -1;
	return vrsp_put(r, p, n);
}

/*
 * One BER-TLV: tags of one byte, or two/three when the first has the
 * low five bits set (and continuation bits), lengths in 1-3 bytes
 * (81 xx, 82 xx xx).  The value must lie inside the buffer.
 */
int
vc_tlv(struct vt_rbuf *b, uint32_t *tag, const uint8_t **v, size_t *len)
{
	uint8_t t, l, l2;
	uint16_t l16;
	int i;

	*tag = 0;
	*len = 0;
	if (vt_rbuf_u8(b, &t) != 0)
		return -1;
	*tag = t;
	if ((t & 0x1f) == 0x1f) {
		for (i = 0; i < 2; i++) {
			if (vt_rbuf_u8(b, &t) != 0)
				return -1;
			*tag = *tag << 8 | t;
			if ((t & 0x80) == 0)
				break;
		}
		if (i == 2)
			return -1;
	}
	if (vt_rbuf_u8(b, &l) != 0)
		return -1;
	if (l == 0x81) {
		if (vt_rbuf_u8(b, &l2) != 0)
			return -1;
		*len = l2;
	} else if (l == 0x82) {
		if (vt_rbuf_be16(b, &l16) != 0)
			return -1;
		*len = l16;
	} else if (l < 0x80)
		*len = l;
	else
		return -1;
	if (vt_rbuf_ptr(b, *len, v) != 0) {
		*len = 0;
		return -1;
	}
	return 0;
}

/* ---- objects ------------------------------------------------------------ */

const struct vobj *
vc_obj_get(const struct vcard *c, uint32_t tag)
{
	size_t i;

	for (i = 0; i < c->nobjs; i++)
		if (c->objs[i].tag == tag)
			return &c->objs[i];
	return NULL;
}

static void
obj_del(struct vcard *c, size_t i)
{
	vt_freezero(c->objs[i].data, c->objs[i].len);
	c->objs[i] = c->objs[--c->nobjs];
	memset(&c->objs[c->nobjs], 0, sizeof(c->objs[c->nobjs]));
}

/* Stores (n > 0) or deletes (n == 0) an object.  0 or -1 (no room). */
int
vc_obj_set(struct vcard *c, uint32_t tag, const uint8_t *p, size_t n)
{
	size_t i, total = 0;
	uint8_t *copy;

	for (i = 0; i < c->nobjs; i++)
		if (c->objs[i].tag != tag)
			total += c->objs[i].len;
	if (n > VC_OBJ_MAX || n > VC_OBJ_TOTAL - total)
		return -1;
	for (i = 0; i < c->nobjs; i++)
		if (c->objs[i].tag == tag)
			break;
	if (n == 0) {
		if (i < c->nobjs)
			obj_del(c, i);
		return 0;
	}
	if (i == c->nobjs && c->nobjs == VC_MAX_OBJS)
		return -1;
	if ((copy = malloc(n)) == NULL)
		return -1;
	memcpy(copy, p, n);
	if (i < c->nobjs)
		vt_freezero(c->objs[i].data, c->objs[i].len);
	else
		c->nobjs++;
	c->objs[i].tag = tag;
	c->objs[i].data = copy;
	c->objs[i].len = n;
	return 0;
}

/* ---- factory state ------------------------------------------------------ */

int
vc_is_default_pin(const struct vcard *c)
{
	return memcmp(c->pin, default_pin, VC_PIN_LEN) == 0;
}

int
vc_is_default_puk(const struct vcard *c)
{
	return memcmp(c->puk, default_puk, VC_PIN_LEN) == 0;
}

int
vc_is_default_mgm(const struct vcard *c)
{
	return c->mgm_alg == ALG_3DES && c->mgm_len == sizeof(default_mgm) &&
	    memcmp(c->mgm_key, default_mgm, sizeof(default_mgm)) == 0;
}

void
vc_factory_pins(struct vcard *c)
{
	memcpy(c->pin, default_pin, VC_PIN_LEN);
	memcpy(c->puk, default_puk, VC_PIN_LEN);
}

/*
 * Back to the factory: default PIN, PUK and management key, no keys, no
 * objects.  A YubiKey's reset keeps the attestation key and certificate.
 */
void
vc_factory(struct vcard *c, int keep_attestation)
{
	int i, f9 = vc_slot_index(0xf9);
	size_t j;

	vc_factory_pins(c);
	c->pin_tries = c->pin_max = 3;
	c->puk_tries = c->puk_max = 3;
	vt_wipe(c->mgm_key, sizeof(c->mgm_key));
	memcpy(c->mgm_key, default_mgm, sizeof(default_mgm));
	c->mgm_len = sizeof(default_mgm);
	c->mgm_alg = ALG_3DES;
	c->mgm_touch = 0;
	for (i = 0; i < VC_NSLOTS; i++) {
		if (keep_attestation && i == f9)
			continue;
		EVP_PKEY_free(c->slots[i].pkey);
		memset(&c->slots[i], 0, sizeof(c->slots[i]));
	}
	for (j = c->nobjs; j > 0; j--) {
		if (keep_attestation && c->objs[j - 1].tag == 0x5fff01)
			continue;
		obj_del(c, j - 1);
	}
}

void
vc_forget_session(struct vcard *c)
{
	c->pin_ok = 0;
	c->pin_fresh = 0;
	c->mgm_ok = 0;
	c->auth_state = 0;
	vt_wipe(c->auth_buf, sizeof(c->auth_buf));
	c->auth_len = 0;
}

static void
chain_drop(struct vcard *c)
{
	/* only the bytes received can hold secrets */
	vt_freezero(c->chain, c->chain_len);
	c->chain = NULL;
	c->chain_len = 0;
	c->chaining = 0;
	c->chain_secret = 0;
}

static void
out_drop(struct vcard *c)
{
	vt_freezero(c->out, c->out_len);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->out_secret = 0;
}

/* ---- life cycle --------------------------------------------------------- */

int
vcard_new(vcard_t **cp, const struct vcard_opts *opts)
{
	struct vcard *c = NULL;
	FILE *f;
	int r = -1;

	if (cp == NULL)
		return -1;
	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->serial = 13371337;
	c->version[0] = 5;
	c->version[1] = 7;
	c->version[2] = 1;
	c->touched = 1;
	if (opts != NULL) {
		if (opts->serial != 0)
			c->serial = opts->serial;
		if (opts->version[0] || opts->version[1] || opts->version[2])
			memcpy(c->version, opts->version, 3);
		c->no_extended = opts->no_extended != 0;
		if (opts->state_path != NULL &&
		    (c->state_path = strdup(opts->state_path)) == NULL)
			goto fail;
	}
	vc_factory(c, 0);
	if (c->state_path != NULL && (f = fopen(c->state_path, "re")) != NULL) {
		fclose(f);
		if (vs_load(c) != 0)
			goto fail;
	} else {
		if (vk_attestation_init(c) != 0)
			goto fail;
		if (c->state_path != NULL && vs_save(c) != 0)
			goto fail;
	}
	vl_open(c);
	*cp = c;
	c = NULL;
	r = 0;
fail:
	vcard_free(&c);
	return r;
}

void
vcard_free(vcard_t **cp)
{
	struct vcard *c;
	size_t i;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	for (i = 0; i < VC_NSLOTS; i++)
		EVP_PKEY_free(c->slots[i].pkey);
	while (c->nobjs > 0)
		obj_del(c, c->nobjs - 1);
	chain_drop(c);
	out_drop(c);
	vl_close(c);
	free(c->state_path);
	vt_freezero(c, sizeof(*c));
	*cp = NULL;
}

size_t
vcard_atr(const vcard_t *c, uint8_t *atr, size_t cap)
{
	(void)c;
	if (atr == NULL || cap < sizeof(vc_atr_bytes))
		return 0;
	memcpy(atr, vc_atr_bytes, sizeof(vc_atr_bytes));
	return sizeof(vc_atr_bytes);
}

void
vcard_reset(vcard_t *c)
{
	if (c == NULL)
		return;
	c->selected = 0;
	vc_forget_session(c);
	chain_drop(c);
	out_drop(c);
}

void
vcard_set_touch(vcard_t *c, int touched)
{
	if (c != NULL)
		c->touched = touched != 0;
}

/* ---- APDU layer --------------------------------------------------------- */

struct parsed {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	size_t ne;		/* 0: no Le */
	int has_le;
	int extended;
	size_t data_off;	/* where the data field starts in the APDU */
};

/* ISO 7816-4 cases 1-4, short and extended.  0 or -1 (wrong length). */
static int
parse_apdu(const uint8_t *a, size_t n, struct parsed *p)
{
	size_t lc;

	memset(p, 0, sizeof(*p));
	if (n < 4)
		return -1;
	p->cla = a[0];
	p->ins = a[1];
	p->p1 = a[2];
	p->p2 = a[3];
	if (n == 4)
		return 0;
	if (n == 5) {
		p->has_le = 1;
		p->ne = a[4] == 0 ? 256 : a[4];
		return 0;
	}
	if (a[4] != 0) {
		lc = a[4];
		if (n == 5 + lc || n == 6 + lc) {
			p->lc = lc;
			p->data = a + 5;
			p->data_off = 5;
			if (n == 6 + lc) {
				p->has_le = 1;
				p->ne = a[5 + lc] == 0 ? 256 : a[5 + lc];
			}
			return 0;
		}
		return -1;
	}
	/* extended: 00 then two bytes */
	p->extended = 1;
	if (n < 7)
		return -1;
	lc = (size_t)a[5] << 8 | a[6];
	if (n == 7) {
		p->has_le = 1;
		p->ne = lc == 0 ? 65536 : lc;
		return 0;
	}
	if (lc == 0)
		return -1;
	if (n == 7 + lc || n == 9 + lc) {
		p->lc = lc;
		p->data = a + 7;
		p->data_off = 7;
		if (n == 9 + lc) {
			p->has_le = 1;
			p->ne = (size_t)a[7 + lc] << 8 | a[8 + lc];
			if (p->ne == 0)
				p->ne = 65536;
		}
		return 0;
	}
	return -1;
}

/* Is the data field of this command (or chain part) a secret to redact? */
static int
cmd_secret(struct vcard *c, const struct parsed *p, const uint8_t *a,
    size_t n)
{
	if (c->chaining && p->ins == c->chain_hdr[1] &&
	    p->p1 == c->chain_hdr[2] && p->p2 == c->chain_hdr[3] &&
	    c->chain_secret)
		return 1;
	return vt_apdu_is_secret(a, n);
}

/* Does the response to this command carry secret data? */
static int
rsp_secret(const struct vapdu *v)
{
	static const uint8_t printed[] = { 0x5c, 0x03, 0x5f, 0xc1, 0x09 };

	if (v->ins == 0x87 && v->p2 == 0x9b)
		return 1;
	if (v->ins == 0xcb && v->lc >= sizeof(printed) &&
	    memcmp(v->data, printed, sizeof(printed)) == 0)
		return 1;
	return 0;
}

static size_t
put_sw(uint8_t *rsp, size_t off, int sw)
{
	rsp[off] = (uint8_t)(sw >> 8);
	rsp[off + 1] = (uint8_t)sw;
	return off + 2;
}

/*
 * Hands out the next piece of the pending response: at most `max` bytes
 * (and what fits in cap), with 61xx while more remains.
 */
static void
out_chunk(struct vcard *c, size_t max, uint8_t *rsp, size_t cap,
    size_t *rlen)
{
	size_t left = c->out_len - c->out_off, n;

	n = left < max ? left : max;
	if (n > cap - 2)
		n = cap - 2;
	if (n > 0)
		memcpy(rsp, c->out + c->out_off, n);
	c->out_off += n;
	left -= n;
	if (left == 0) {
		*rlen = put_sw(rsp, n, SW_OK);
		out_drop(c);
	} else
		*rlen = put_sw(rsp, n, 0x6100 | (left >= 256 ? 0 : (int)left));
}

/* Decodes, chains and dispatches one APDU; fills rsp.  Sets *secret when
 * the response data is to be redacted in the log. */
static void
process(struct vcard *c, const uint8_t *a, size_t n, uint8_t *rsp,
    size_t cap, size_t *rlen, int *secret)
{
	struct parsed p;
	struct vapdu v;
	struct vrsp r;
	size_t max;
	int sw;

	*secret = 0;
	memset(&r, 0, sizeof(r));
	if (parse_apdu(a, n, &p) != 0 || (p.extended && c->no_extended)) {
		*rlen = put_sw(rsp, 0, SW_WRONG_LENGTH);
		return;
	}
	if ((p.cla & ~0x10) != 0) {
		*rlen = put_sw(rsp, 0, SW_CLA);
		return;
	}
	/* GET RESPONSE continues the pending answer; anything else drops it */
	if (p.ins == 0xc0) {
		if (!c->selected) {
			*rlen = put_sw(rsp, 0, SW_INS);
			return;
		}
		if (c->out == NULL || (p.cla & 0x10)) {
			*rlen = put_sw(rsp, 0, SW_CONDITIONS);
			return;
		}
		if (p.p1 != 0 || p.p2 != 0 || p.lc != 0) {
			*rlen = put_sw(rsp, 0, SW_WRONG_P1P2);
			return;
		}
		*secret = c->out_secret;
		/* an extended GET RESPONSE takes all that is left */
		out_chunk(c, p.extended ? c->out_len :
		    p.ne == 0 || p.ne > 256 ? 256 : p.ne, rsp, cap, rlen);
		return;
	}
	out_drop(c);

	if (c->chaining && (p.ins != c->chain_hdr[1] ||
	    p.p1 != c->chain_hdr[2] || p.p2 != c->chain_hdr[3])) {
		/* an unrelated command ends the chain in progress */
		chain_drop(c);
		if (p.cla & 0x10) {
			*rlen = put_sw(rsp, 0, SW_CHAIN_LAST);
			return;
		}
	}
	if (p.cla & 0x10) {
		if (!c->chaining) {
			if ((c->chain = malloc(VC_CHAIN_MAX)) == NULL) {
				*rlen = put_sw(rsp, 0, SW_UNKNOWN);
				return;
			}
			c->chaining = 1;
			memcpy(c->chain_hdr, a, 4);
			c->chain_secret = vt_apdu_is_secret(a, n);
		}
		if (p.lc > VC_CHAIN_MAX - c->chain_len) {
			chain_drop(c);
			*rlen = put_sw(rsp, 0, SW_NO_SPACE);
			return;
		}
		if (p.lc > 0)
			memcpy(c->chain + c->chain_len, p.data, p.lc);
		c->chain_len += p.lc;
		*rlen = put_sw(rsp, 0, SW_OK);
		return;
	}

	memset(&v, 0, sizeof(v));
	v.cla = p.cla;
	v.ins = p.ins;
	v.p1 = p.p1;
	v.p2 = p.p2;
	v.extended = p.extended;
	v.data = p.data;
	v.lc = p.lc;
	if (c->chaining) {
		if (p.lc > VC_CHAIN_MAX - c->chain_len) {
			chain_drop(c);
			*rlen = put_sw(rsp, 0, SW_NO_SPACE);
			return;
		}
		if (p.lc > 0)
			memcpy(c->chain + c->chain_len, p.data, p.lc);
		c->chain_len += p.lc;
		v.data = c->chain;
		v.lc = c->chain_len;
	}

	if ((r.p = malloc(VC_RSP_MAX)) == NULL) {	/* wiped to r.len */
		chain_drop(c);
		*rlen = put_sw(rsp, 0, SW_UNKNOWN);
		return;
	}
	r.cap = VC_RSP_MAX;
	sw = vc_dispatch(c, &v, &r);
	*secret = rsp_secret(&v) || r.secret;
	chain_drop(c);
	if (sw != SW_OK || r.len == 0) {
		vt_freezero(r.p, r.len);
		*rlen = put_sw(rsp, 0, sw);
		return;
	}
	/* keep the answer; hand out what the Le allows */
	c->out = r.p;
	c->out_len = r.len;
	c->out_off = 0;
	c->out_secret = *secret;
	if (p.extended)
		max = r.len;
	else
		max = p.ne == 0 || p.ne > 256 ? 256 : p.ne;
	out_chunk(c, max, rsp, cap, rlen);
}

int
vcard_apdu(vcard_t *c, const uint8_t *cmd, size_t clen, uint8_t *rsp,
    size_t cap, size_t *rlen)
{
	struct parsed p;
	size_t off = 0, len = 0;
	int secret;

	if (rlen != NULL)
		*rlen = 0;
	if (c == NULL || rlen == NULL || rsp == NULL || cap < 2 ||
	    (cmd == NULL && clen != 0))
		return -1;
	if (c->log != NULL) {
		if (parse_apdu(cmd, clen, &p) == 0) {
			if (cmd_secret(c, &p, cmd, clen)) {
				off = p.data_off;
				len = p.lc;
			}
		} else if (clen > 4 && vt_apdu_is_secret(cmd, clen)) {
			off = 4;
			len = clen - 4;
		}
		vl_line(c, '>', cmd, clen, off, len);
	}
	process(c, cmd, clen, rsp, cap, rlen, &secret);
	if (c->log != NULL)
		vl_line(c, '<', rsp, *rlen, 0, secret ? *rlen - 2 : 0);
	return 0;
}
