/* SPDX-License-Identifier: MIT */
/*
 * tests/vtoken/vcard_cmd.c — the PIV commands of the software card
 * (SP 800-73-4 part 2 and Yubico's extensions), one handler each.  The
 * APDU layer (vcard.c) hands over whole commands with chains joined;
 * handlers return the status word and append response data to r.
 *
 * Status words where the card had to pick one (as a YubiKey 5 answers,
 * as far as its documentation and clients tell):
 *   anything before SELECT, unknown INS          6D00
 *   SELECT with P1 != 04 / an unknown AID        6B00 / 6A82
 *   wrong PIN or PUK                             63Cx, 63C0 on the try
 *                                                that blocks, then 6983
 *   VERIFY/CHANGE/RESET RC with an unknown ref   6A88; wrong P1 6A86
 *   no management-key auth / no PIN for a key    6982
 *   touch needed but not given                   6985
 *   empty key slot or key of another algorithm   6A80 (GENERAL AUTH)
 *   empty slot in METADATA, ATTEST, MOVE source  6A88
 *   ATTEST of an imported key                    6A80
 *   unknown slot, bad P1/P2                      6A86
 *   object too large / no room                   6A84
 *   PUT DATA of the discovery object             6A81
 *   RESET while the PIN or PUK is not blocked    6985
 *   state file cannot be written                 6F00
 */
#include "vcard_int.h"

#include <string.h>

#include <openssl/rand.h>

#include "vt_util.h"

static const uint8_t aid_piv[] = {
	0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00
};

/* Writes the state out after a change; a failure is the card's fault. */
static int
saved(struct vcard *c)
{
	if (c->state_path == NULL)
		return SW_OK;
	return vs_save(c) == 0 ? SW_OK : SW_UNKNOWN;
}

/* 63Cx with the tries left (at most 15 fit), 6983 when none are. */
static int
tries_sw(uint8_t tries)
{
	return tries == 0 ? SW_BLOCKED : 0x63c0 | (tries > 15 ? 15 : tries);
}

/* After a wrong PIN or PUK: 63Cx, 63C0 on the try that blocks it. */
static int
wrong_sw(uint8_t tries)
{
	return tries == 0 ? 0x63c0 : tries_sw(tries);
}

static int
version_at_least(const struct vcard *c, uint8_t a, uint8_t b)
{
	return c->version[0] > a || (c->version[0] == a && c->version[1] >= b);
}

/* A PIN or PUK as sent: 8 bytes, 6-8 characters then 0xFF padding. */
static int
pin_format_ok(const uint8_t *p)
{
	size_t i, len = VC_PIN_LEN;

	for (i = 0; i < VC_PIN_LEN; i++)
		if (p[i] == 0xff) {
			len = i;
			break;
		}
	for (; i < VC_PIN_LEN; i++)
		if (p[i] != 0xff)
			return 0;
	return len >= 6;
}

/* ---- SELECT ------------------------------------------------------------- */

static int
cmd_select(struct vcard *c, const struct vapdu *a, struct vrsp *r)
{
	if (a->p1 != 0x04)
		return SW_WRONG_P1P2_B;
	if (a->lc < 5 || a->lc > sizeof(aid_piv) ||
	    memcmp(a->data, aid_piv, a->lc) != 0)
		return SW_NOT_FOUND;
	c->selected = 1;
	if (vrsp_tl(r, 0x61, 17) != 0 ||
	    vrsp_tlv(r, 0x4f, aid_piv + 5, 6) != 0 ||
	    vrsp_tl(r, 0x79, 7) != 0 ||
	    vrsp_tlv(r, 0x4f, aid_piv, 5) != 0)
		return SW_UNKNOWN;
	return SW_OK;
}

/* ---- PIN, PUK ------------------------------------------------------------- */

static int
cmd_verify(struct vcard *c, const struct vapdu *a)
{
	int ok;

	if (a->p2 != 0x80)
		return SW_REF_NOT_FOUND;
	if (a->p1 == 0xff) {
		if (a->lc != 0)
			return SW_WRONG_DATA;
		c->pin_ok = c->pin_fresh = 0;
		return SW_OK;
	}
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->lc == 0) {
		/* a status query: never verifies anything */
		if (c->pin_tries == 0)
			return SW_BLOCKED;
		return c->pin_ok ? SW_OK : tries_sw(c->pin_tries);
	}
	if (a->lc != VC_PIN_LEN)
		return SW_WRONG_DATA;
	if (c->pin_tries == 0)
		return SW_BLOCKED;
	ok = CRYPTO_memcmp(a->data, c->pin, VC_PIN_LEN) == 0;
	if (ok) {
		c->pin_ok = c->pin_fresh = 1;
		if (c->pin_tries != c->pin_max) {
			c->pin_tries = c->pin_max;
			return saved(c);
		}
		return SW_OK;
	}
	c->pin_ok = c->pin_fresh = 0;
	c->pin_tries--;
	if (saved(c) != SW_OK)
		return SW_UNKNOWN;
	return wrong_sw(c->pin_tries);
}

static int
cmd_change_reference(struct vcard *c, const struct vapdu *a)
{
	uint8_t *ref, *tries, max;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 == 0x80) {
		ref = c->pin;
		tries = &c->pin_tries;
		max = c->pin_max;
	} else if (a->p2 == 0x81) {
		ref = c->puk;
		tries = &c->puk_tries;
		max = c->puk_max;
	} else
		return SW_REF_NOT_FOUND;
	if (a->lc != 2 * VC_PIN_LEN)
		return SW_WRONG_DATA;
	if (*tries == 0)
		return SW_BLOCKED;
	if (CRYPTO_memcmp(a->data, ref, VC_PIN_LEN) != 0) {
		(*tries)--;
		if (a->p2 == 0x80)
			c->pin_ok = c->pin_fresh = 0;
		if (saved(c) != SW_OK)
			return SW_UNKNOWN;
		return wrong_sw(*tries);
	}
	if (!pin_format_ok(a->data + VC_PIN_LEN))
		return SW_WRONG_DATA;
	memcpy(ref, a->data + VC_PIN_LEN, VC_PIN_LEN);
	*tries = max;
	return saved(c);
}

static int
cmd_reset_retry(struct vcard *c, const struct vapdu *a)
{
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 != 0x80)
		return SW_REF_NOT_FOUND;
	if (a->lc != 2 * VC_PIN_LEN)
		return SW_WRONG_DATA;
	if (c->puk_tries == 0)
		return SW_BLOCKED;
	if (CRYPTO_memcmp(a->data, c->puk, VC_PIN_LEN) != 0) {
		c->puk_tries--;
		if (saved(c) != SW_OK)
			return SW_UNKNOWN;
		return wrong_sw(c->puk_tries);
	}
	if (!pin_format_ok(a->data + VC_PIN_LEN))
		return SW_WRONG_DATA;
	memcpy(c->pin, a->data + VC_PIN_LEN, VC_PIN_LEN);
	c->pin_tries = c->pin_max;
	c->puk_tries = c->puk_max;
	return saved(c);
}

/* ---- data objects --------------------------------------------------------- */

/* Objects a YubiKey 5 accepts: the SP 800-73-4 containers, the BIT group
 * template, Yubico's 5FFFxx objects.  The discovery object 7E is built in. */
static int
obj_tag_ok(uint32_t tag)
{
	return (tag >= 0x5fc101 && tag <= 0x5fc123) || tag == 0x7f61 ||
	    (tag >= 0x5fff00 && tag <= 0x5fff15);
}

static int
obj_pin_protected(uint32_t tag)
{
	return tag == 0x5fc103 || tag == 0x5fc108 || tag == 0x5fc109 ||
	    tag == 0x5fc121;
}

/* The 5C tag list: exactly one tag of 1-3 bytes; the rest stays in b. */
static int
read_tag_list(vt_rbuf_t *b, uint32_t *tag)
{
	const uint8_t *v;
	uint32_t t;
	size_t len, i;

	*tag = 0;
	if (vc_tlv(b, &t, &v, &len) != 0 || t != 0x5c || len < 1 || len > 3)
		return -1;
	for (i = 0; i < len; i++)
		*tag = *tag << 8 | v[i];
	return 0;
}

static int
cmd_get_data(struct vcard *c, const struct vapdu *a, struct vrsp *r)
{
	static const uint8_t discovery[] = {
		0x7e, 0x12, 0x4f, 0x0b, 0xa0, 0x00, 0x00, 0x03, 0x08, 0x00,
		0x00, 0x10, 0x00, 0x01, 0x00, 0x5f, 0x2f, 0x02, 0x40, 0x00
	};
	const struct vobj *o;
	uint32_t tag;
	vt_rbuf_t b;

	if (a->p1 != 0x3f || a->p2 != 0xff)
		return SW_WRONG_P1P2;
	vt_rbuf_init(&b, a->data, a->lc);
	if (read_tag_list(&b, &tag) != 0 || b.left != 0)
		return SW_WRONG_DATA;
	if (tag == 0x7e)
		return vrsp_put(r, discovery, sizeof(discovery)) == 0 ?
		    SW_OK : SW_UNKNOWN;
	if (!obj_tag_ok(tag))
		return SW_NOT_FOUND;
	if (obj_pin_protected(tag) && !c->pin_ok)
		return SW_SECURITY;
	if ((o = vc_obj_get(c, tag)) == NULL)
		return SW_NOT_FOUND;
	return vrsp_put(r, o->data, o->len) == 0 ? SW_OK : SW_UNKNOWN;
}

static int
cmd_put_data(struct vcard *c, const struct vapdu *a)
{
	const uint8_t *start, *v;
	uint32_t tag, t;
	size_t len, n;
	vt_rbuf_t b;

	if (a->p1 != 0x3f || a->p2 != 0xff)
		return SW_WRONG_P1P2;
	if (!c->mgm_ok)
		return SW_SECURITY;
	vt_rbuf_init(&b, a->data, a->lc);
	if (read_tag_list(&b, &tag) != 0)
		return SW_WRONG_DATA;
	if (tag == 0x7e)
		return SW_FUNC_NOT_SUPP;
	if (!obj_tag_ok(tag))
		return SW_WRONG_DATA;
	start = b.p;
	n = b.left;
	if (vc_tlv(&b, &t, &v, &len) != 0 || b.left != 0 ||
	    (t != 0x53 && !(tag == 0x7f61 && t == 0x7f61)))
		return SW_WRONG_DATA;
	if (n > VC_OBJ_MAX)
		return SW_NO_SPACE;
	if (vc_obj_set(c, tag, start, len == 0 ? 0 : n) != 0)
		return SW_NO_SPACE;
	return saved(c);
}

/* ---- GENERAL AUTHENTICATE ------------------------------------------------- */

struct dyn_auth {
	const uint8_t *v[6];	/* 80 81 82 83 84 85 */
	size_t len[6];
	int has[6];
};

/* 7C { 80 | 81 | 82 | 85 ... }, each at most once, nothing else. */
static int
parse_dyn_auth(const struct vapdu *a, struct dyn_auth *d)
{
	const uint8_t *v, *iv;
	uint32_t tag, t;
	size_t len, ilen;
	vt_rbuf_t b, in;
	int i;

	memset(d, 0, sizeof(*d));
	vt_rbuf_init(&b, a->data, a->lc);
	if (vc_tlv(&b, &tag, &v, &len) != 0 || tag != 0x7c || b.left != 0)
		return -1;
	vt_rbuf_init(&in, v, len);
	while (in.left > 0) {
		if (vc_tlv(&in, &t, &iv, &ilen) != 0 || t < 0x80 || t > 0x85)
			return -1;
		i = (int)(t - 0x80);
		if (d->has[i])
			return -1;
		d->has[i] = 1;
		d->v[i] = iv;
		d->len[i] = ilen;
	}
	return 0;
}

static int
mgm_auth(struct vcard *c, const struct vapdu *a, const struct dyn_auth *d,
    struct vrsp *r)
{
	uint8_t buf[16], enc[16];
	size_t bl = vk_mgm_blocklen(c->mgm_alg);
	int state = c->auth_state, sw = SW_UNKNOWN;

	r->secret = 1;
	c->auth_state = 0;
	if (a->p1 != c->mgm_alg)
		return SW_WRONG_P1P2;
	if (c->mgm_touch && !c->touched)
		return SW_CONDITIONS;
	if (d->has[0] && d->len[0] == 0 && !d->has[1] && !d->has[2]) {
		/* witness request: send a random witness, encrypted */
		c->mgm_ok = 0;
		if (RAND_bytes(c->auth_buf, (int)bl) != 1 ||
		    vk_mgm_block(c->mgm_alg, c->mgm_key, c->mgm_len,
		    c->auth_buf, bl, enc, 1) != 0)
			goto out;
		c->auth_len = bl;
		c->auth_state = AUTH_WITNESS;
		if (vrsp_tl(r, 0x7c, vc_tl_len(0x80, bl) + bl) != 0 ||
		    vrsp_tlv(r, 0x80, enc, bl) != 0)
			goto out;
		sw = SW_OK;
	} else if (d->has[1] && d->len[1] == 0 && !d->has[0] && !d->has[2]) {
		/* challenge request (single authentication) */
		c->mgm_ok = 0;
		if (RAND_bytes(c->auth_buf, (int)bl) != 1)
			goto out;
		c->auth_len = bl;
		c->auth_state = AUTH_CHALLENGE;
		if (vrsp_tl(r, 0x7c, vc_tl_len(0x81, bl) + bl) != 0 ||
		    vrsp_tlv(r, 0x81, c->auth_buf, bl) != 0)
			goto out;
		sw = SW_OK;
	} else if (d->has[0] && d->has[1] && !d->has[2]) {
		/* mutual: decrypted witness and the host's challenge */
		c->mgm_ok = 0;
		if (d->len[0] != bl || d->len[1] != bl) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		if (state != AUTH_WITNESS || CRYPTO_memcmp(d->v[0],
		    c->auth_buf, bl) != 0) {
			sw = SW_SECURITY;
			goto out;
		}
		if (vk_mgm_block(c->mgm_alg, c->mgm_key, c->mgm_len, d->v[1],
		    bl, enc, 1) != 0)
			goto out;
		if (vrsp_tl(r, 0x7c, vc_tl_len(0x82, bl) + bl) != 0 ||
		    vrsp_tlv(r, 0x82, enc, bl) != 0)
			goto out;
		c->mgm_ok = 1;
		sw = SW_OK;
	} else if (d->has[2] && !d->has[0] && !d->has[1]) {
		/* single: the encrypted challenge */
		c->mgm_ok = 0;
		if (d->len[2] != bl) {
			sw = SW_WRONG_DATA;
			goto out;
		}
		if (state != AUTH_CHALLENGE ||
		    vk_mgm_block(c->mgm_alg, c->mgm_key, c->mgm_len,
		    c->auth_buf, bl, buf, 1) != 0 ||
		    CRYPTO_memcmp(buf, d->v[2], bl) != 0) {
			sw = SW_SECURITY;
			goto out;
		}
		c->mgm_ok = 1;
		sw = SW_OK;
	} else
		sw = SW_WRONG_DATA;
out:
	if (c->auth_state == 0) {
		vt_wipe(c->auth_buf, sizeof(c->auth_buf));
		c->auth_len = 0;
	}
	vt_wipe(buf, sizeof(buf));
	vt_wipe(enc, sizeof(enc));
	return sw;
}

/* May the private key in s be used now?  Consumes a fresh VERIFY. */
static int
key_use_allowed(struct vcard *c, const struct vslot *s)
{
	int fresh = c->pin_fresh;

	if (s->pin_policy == PIN_POL_ALWAYS && !(c->pin_ok && fresh))
		return SW_SECURITY;
	if (s->pin_policy == PIN_POL_ONCE && !c->pin_ok)
		return SW_SECURITY;
	if ((s->touch_policy == TOUCH_POL_ALWAYS ||
	    s->touch_policy == TOUCH_POL_CACHED) && !c->touched)
		return SW_CONDITIONS;
	c->pin_fresh = 0;
	return SW_OK;
}

static int
cmd_general_auth(struct vcard *c, const struct vapdu *a, struct vrsp *r)
{
	struct dyn_auth d;
	struct vslot *s;
	int idx, sw;

	if (a->p2 == 0x9b) {
		if (parse_dyn_auth(a, &d) != 0) {
			c->auth_state = 0;
			return SW_WRONG_DATA;
		}
		return mgm_auth(c, a, &d, r);
	}
	if ((idx = vc_slot_index(a->p2)) < 0)
		return SW_WRONG_P1P2;
	s = &c->slots[idx];
	if (s->pkey == NULL || s->alg != a->p1)
		return SW_WRONG_DATA;
	if (parse_dyn_auth(a, &d) != 0)
		return SW_WRONG_DATA;
	/* 82 00 asks for the response; 81 is the data, 85 the peer point */
	if (!d.has[2] || d.len[2] != 0 || d.has[0] || d.has[3] || d.has[4] ||
	    d.has[1] == d.has[5])
		return SW_WRONG_DATA;
	if ((sw = key_use_allowed(c, s)) != SW_OK)
		return sw;
	if (d.has[1])
		return vk_sign(s, d.v[1], d.len[1], r);
	return vk_ecdh(s, d.v[5], d.len[5], r);
}

/* ---- keys ------------------------------------------------------------------ */

static int
alg_supported(const struct vcard *c, uint8_t alg)
{
	switch (alg) {
	case ALG_RSA1024:
	case ALG_RSA2048:
	case ALG_P256:
	case ALG_P384:
		return 1;
	case ALG_RSA3072:
	case ALG_RSA4096:
	case ALG_ED25519:
	case ALG_X25519:
		return version_at_least(c, 5, 7);
	default:
		return 0;
	}
}

static uint8_t
resolve_pin_policy(uint8_t slot, uint8_t pol)
{
	if (pol != PIN_POL_DEFAULT)
		return pol;
	if (slot == 0x9c)
		return PIN_POL_ALWAYS;
	if (slot == 0x9e)
		return PIN_POL_NEVER;
	return PIN_POL_ONCE;
}

static uint8_t
resolve_touch_policy(uint8_t pol)
{
	return pol == TOUCH_POL_DEFAULT ? TOUCH_POL_NEVER : pol;
}

static int
policy_tlv(uint32_t tag, const uint8_t *v, size_t len, uint8_t *pin,
    uint8_t *touch)
{
	if (len != 1)
		return -1;
	if (tag == 0xaa) {
		if (v[0] > PIN_POL_ALWAYS)
			return -1;
		*pin = v[0];
	} else {
		if (v[0] > TOUCH_POL_CACHED)
			return -1;
		*touch = v[0];
	}
	return 0;
}

static void
slot_store(struct vcard *c, int idx, EVP_PKEY *k, uint8_t alg, uint8_t pin,
    uint8_t touch, uint8_t origin)
{
	struct vslot *s = &c->slots[idx];

	EVP_PKEY_free(s->pkey);
	s->pkey = k;
	s->alg = alg;
	s->pin_policy = resolve_pin_policy(vc_slot_id(idx), pin);
	s->touch_policy = resolve_touch_policy(touch);
	s->origin = origin;
}

/* The public key of k wrapped in one TLV of the given tag. */
static int
pubkey_tlv(const EVP_PKEY *k, uint8_t alg, uint32_t tag, struct vrsp *r)
{
	uint8_t buf[1024];
	struct vrsp tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.p = buf;
	tmp.cap = sizeof(buf);
	if (vk_pubkey(k, alg, &tmp) != 0)
		return -1;
	return vrsp_tlv(r, tag, buf, tmp.len);
}

static int
cmd_generate(struct vcard *c, const struct vapdu *a, struct vrsp *r)
{
	const uint8_t *v, *iv;
	uint8_t alg = 0, pin = 0, touch = 0;
	EVP_PKEY *k = NULL;
	uint32_t tag, t;
	size_t len, ilen;
	int idx, have_alg = 0;
	vt_rbuf_t b, in;

	if (a->p1 != 0x00 || (idx = vc_slot_index(a->p2)) < 0)
		return SW_WRONG_P1P2;
	if (!c->mgm_ok)
		return SW_SECURITY;
	vt_rbuf_init(&b, a->data, a->lc);
	if (vc_tlv(&b, &tag, &v, &len) != 0 || tag != 0xac || b.left != 0)
		return SW_WRONG_DATA;
	vt_rbuf_init(&in, v, len);
	while (in.left > 0) {
		if (vc_tlv(&in, &t, &iv, &ilen) != 0)
			return SW_WRONG_DATA;
		if (t == 0x80 && ilen == 1) {
			alg = iv[0];
			have_alg = 1;
		} else if ((t == 0xaa || t == 0xab) &&
		    policy_tlv(t, iv, ilen, &pin, &touch) == 0)
			continue;
		else
			return SW_WRONG_DATA;
	}
	if (!have_alg || !alg_supported(c, alg))
		return SW_WRONG_DATA;
	if (vk_generate(alg, &k) != 0)
		return SW_UNKNOWN;
	if (pubkey_tlv(k, alg, 0x7f49, r) != 0) {
		EVP_PKEY_free(k);
		return SW_UNKNOWN;
	}
	slot_store(c, idx, k, alg, pin, touch, ORIGIN_GENERATED);
	return saved(c);
}

static int
cmd_import(struct vcard *c, const struct vapdu *a)
{
	uint8_t pin = 0, touch = 0;
	EVP_PKEY *k = NULL;
	const uint8_t *v;
	uint32_t t;
	size_t len, keylen;
	int idx;
	vt_rbuf_t b;

	if ((idx = vc_slot_index(a->p2)) < 0)
		return SW_WRONG_P1P2;
	if (!c->mgm_ok)
		return SW_SECURITY;
	if (!alg_supported(c, a->p1))
		return SW_WRONG_P1P2;
	/* key components first, then the optional policies */
	vt_rbuf_init(&b, a->data, a->lc);
	keylen = a->lc;
	while (b.left > 0) {
		const uint8_t *at = b.p;

		if (vc_tlv(&b, &t, &v, &len) != 0)
			return SW_WRONG_DATA;
		if (t == 0xaa || t == 0xab) {
			if (keylen == a->lc)
				keylen = (size_t)(at - a->data);
			if (policy_tlv(t, v, len, &pin, &touch) != 0)
				return SW_WRONG_DATA;
		} else if (keylen != a->lc)
			return SW_WRONG_DATA;
	}
	if (vk_import(a->p1, a->data, keylen, &k) != 0)
		return SW_WRONG_DATA;
	slot_store(c, idx, k, a->p1, pin, touch, ORIGIN_IMPORTED);
	return saved(c);
}

static int
cmd_metadata(struct vcard *c, const struct vapdu *a, struct vrsp *r)
{
	const struct vslot *s;
	uint8_t v[2];
	int idx;

	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 == 0x80 || a->p2 == 0x81) {
		v[0] = 0xff;
		if (vrsp_tlv(r, 0x01, v, 1) != 0)
			return SW_UNKNOWN;
		v[0] = (uint8_t)(a->p2 == 0x80 ? vc_is_default_pin(c) :
		    vc_is_default_puk(c));
		if (vrsp_tlv(r, 0x05, v, 1) != 0)
			return SW_UNKNOWN;
		v[0] = a->p2 == 0x80 ? c->pin_max : c->puk_max;
		v[1] = a->p2 == 0x80 ? c->pin_tries : c->puk_tries;
		return vrsp_tlv(r, 0x06, v, 2) == 0 ? SW_OK : SW_UNKNOWN;
	}
	if (a->p2 == 0x9b) {
		v[0] = c->mgm_alg;
		if (vrsp_tlv(r, 0x01, v, 1) != 0)
			return SW_UNKNOWN;
		v[0] = PIN_POL_NEVER;
		v[1] = c->mgm_touch ? TOUCH_POL_ALWAYS : TOUCH_POL_NEVER;
		if (vrsp_tlv(r, 0x02, v, 2) != 0)
			return SW_UNKNOWN;
		v[0] = (uint8_t)vc_is_default_mgm(c);
		return vrsp_tlv(r, 0x05, v, 1) == 0 ? SW_OK : SW_UNKNOWN;
	}
	if ((idx = vc_slot_index(a->p2)) < 0)
		return SW_WRONG_P1P2;
	s = &c->slots[idx];
	if (s->pkey == NULL)
		return SW_REF_NOT_FOUND;
	v[0] = s->alg;
	if (vrsp_tlv(r, 0x01, v, 1) != 0)
		return SW_UNKNOWN;
	v[0] = s->pin_policy;
	v[1] = s->touch_policy;
	if (vrsp_tlv(r, 0x02, v, 2) != 0)
		return SW_UNKNOWN;
	v[0] = s->origin;
	if (vrsp_tlv(r, 0x03, v, 1) != 0)
		return SW_UNKNOWN;
	/* 04: the inside of the 7F49 template */
	return pubkey_tlv(s->pkey, s->alg, 0x04, r) == 0 ? SW_OK : SW_UNKNOWN;
}

static int
cmd_attest(struct vcard *c, const struct vapdu *a, struct vrsp *r)
{
	int idx;

	if (a->p2 != 0x00 || (idx = vc_slot_index(a->p1)) < 0)
		return SW_WRONG_P1P2;
	if (c->slots[idx].pkey == NULL)
		return SW_REF_NOT_FOUND;
	if (c->slots[idx].origin != ORIGIN_GENERATED)
		return SW_WRONG_DATA;
	return vk_attest(c, a->p1, r);
}

static int
cmd_set_mgm(struct vcard *c, const struct vapdu *a)
{
	size_t klen;

	/* P1 FF; P2 FF, or FE to require touch (as Yubico's tools send it) */
	if (a->p1 != 0xff || (a->p2 != 0xff && a->p2 != 0xfe))
		return SW_WRONG_P1P2;
	if (!c->mgm_ok)
		return SW_SECURITY;
	if (a->lc < 3 || a->data[1] != 0x9b)
		return SW_WRONG_DATA;
	klen = vk_mgm_keylen(a->data[0]);
	if (klen == 0 || a->data[2] != klen || a->lc != 3 + klen)
		return SW_WRONG_DATA;
	if (a->data[0] != ALG_3DES && !version_at_least(c, 5, 4))
		return SW_WRONG_DATA;
	vt_wipe(c->mgm_key, sizeof(c->mgm_key));
	memcpy(c->mgm_key, a->data + 3, klen);
	c->mgm_len = klen;
	c->mgm_alg = a->data[0];
	c->mgm_touch = a->p2 == 0xfe;
	return saved(c);
}

static int
cmd_set_retries(struct vcard *c, const struct vapdu *a)
{
	if (!c->mgm_ok || !c->pin_ok)
		return SW_SECURITY;
	if (a->p1 == 0 || a->p2 == 0)
		return SW_WRONG_P1P2;
	if (a->lc != 0)
		return SW_WRONG_DATA;
	c->pin_max = c->pin_tries = a->p1;
	c->puk_max = c->puk_tries = a->p2;
	vc_factory_pins(c);
	c->pin_ok = c->pin_fresh = 0;
	return saved(c);
}

static int
cmd_reset(struct vcard *c)
{
	if (c->pin_tries != 0 || c->puk_tries != 0)
		return SW_CONDITIONS;
	vc_factory(c, 1);
	vc_forget_session(c);
	return saved(c);
}

static int
cmd_move_key(struct vcard *c, const struct vapdu *a)
{
	int src, dst;

	if (!c->mgm_ok)
		return SW_SECURITY;
	if ((src = vc_slot_index(a->p2)) < 0 || a->p2 == 0xf9)
		return SW_WRONG_P1P2;
	if (a->p1 == 0xff) {
		EVP_PKEY_free(c->slots[src].pkey);
		memset(&c->slots[src], 0, sizeof(c->slots[src]));
		return saved(c);
	}
	if ((dst = vc_slot_index(a->p1)) < 0 || a->p1 == 0xf9 || dst == src)
		return SW_WRONG_P1P2;
	if (c->slots[src].pkey == NULL)
		return SW_REF_NOT_FOUND;
	EVP_PKEY_free(c->slots[dst].pkey);
	c->slots[dst] = c->slots[src];
	memset(&c->slots[src], 0, sizeof(c->slots[src]));
	return saved(c);
}

/* ---- dispatch ------------------------------------------------------------ */

int
vc_dispatch(struct vcard *c, const struct vapdu *a, struct vrsp *r)
{
	if (a->ins == 0xa4)
		return cmd_select(c, a, r);
	if (!c->selected)
		return SW_INS;
	switch (a->ins) {
	case 0x20:
		return cmd_verify(c, a);
	case 0x24:
		return cmd_change_reference(c, a);
	case 0x2c:
		return cmd_reset_retry(c, a);
	case 0xcb:
		return cmd_get_data(c, a, r);
	case 0xdb:
		return cmd_put_data(c, a);
	case 0x87:
		return cmd_general_auth(c, a, r);
	case 0x47:
		return cmd_generate(c, a, r);
	case 0xfd:
		return vrsp_put(r, c->version, 3) == 0 ? SW_OK : SW_UNKNOWN;
	case 0xf8: {
		uint8_t s[4] = { (uint8_t)(c->serial >> 24),
		    (uint8_t)(c->serial >> 16), (uint8_t)(c->serial >> 8),
		    (uint8_t)c->serial };
		return vrsp_put(r, s, 4) == 0 ? SW_OK : SW_UNKNOWN;
	}
	case 0xf7:
		if (!version_at_least(c, 5, 3))
			return SW_INS;
		return cmd_metadata(c, a, r);
	case 0xf9:
		return cmd_attest(c, a, r);
	case 0xfe:
		return cmd_import(c, a);
	case 0xff:
		return cmd_set_mgm(c, a);
	case 0xfa:
		return cmd_set_retries(c, a);
	case 0xfb:
		return cmd_reset(c);
	case 0xf6:
		if (!version_at_least(c, 5, 7))
			return SW_INS;
		return cmd_move_key(c, a);
	default:
		return SW_INS;
	}
}
