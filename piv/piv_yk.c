/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_yk.c — the YubiKey extensions: GET VERSION (FD), GET SERIAL
 * (F8), METADATA (F7), ATTEST (F9), SET PIN RETRIES (FA), RESET (FB), and
 * the PIN-protected management key (admin data 5FFF00, printed info
 * 5FC109).  Version and serial are cached per transport generation.
 */
#include "piv_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "../util/util.h"

#define ATTEST_MAX	4096

int
piv_get_version(piv_card_t *p, uint8_t ver[3], int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_YK_GET_VERSION };
	uint8_t buf[8];
	size_t n = 0;
	int r;

	if (p == NULL || ver == NULL)
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	if (!p->has_ver) {
		if ((r = piv_xfer(p, &c, buf, sizeof(buf), &n, ms)) != 0)
			goto out;
		if (n != 3) {
			r = PIV_ERR_PROTO;
			goto out;
		}
		memcpy(p->ver, buf, 3);
		p->has_ver = 1;
	}
	memcpy(ver, p->ver, 3);
out:
	piv_leave(p);
	/* a card without the instruction says so in one of several ways */
	if (r == PIV_ERR_BAD_DATA || r == PIV_ERR_CARD)
		r = PIV_ERR_NOT_SUPPORTED;
	return r;
}

int
piv_get_serial(piv_card_t *p, uint32_t *serial, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_YK_GET_SERIAL };
	uint8_t buf[8];
	size_t n = 0;
	int r;

	if (serial != NULL)
		*serial = 0;
	if (p == NULL || serial == NULL)
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	if (!p->has_serial) {
		if ((r = piv_xfer(p, &c, buf, sizeof(buf), &n, ms)) != 0)
			goto out;
		if (n != 4) {
			r = PIV_ERR_PROTO;
			goto out;
		}
		p->serial = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
		    (uint32_t)buf[2] << 8 | buf[3];
		p->has_serial = 1;
	}
	*serial = p->serial;
out:
	piv_leave(p);
	if (r == PIV_ERR_BAD_DATA || r == PIV_ERR_CARD)
		r = PIV_ERR_NOT_SUPPORTED;
	return r;
}

/* An empty md; what it held before is not looked at (may be garbage). */
static void
md_init(struct piv_metadata *md)
{
	memset(md, 0, sizeof(*md));
	md->pub = NULL;
	md->pub_tpl = NULL;
	md->retries_total = -1;
	md->retries_left = -1;
}

void
piv_metadata_clear(struct piv_metadata *md)
{
	if (md == NULL)
		return;
	EVP_PKEY_free(md->pub);
	free(md->pub_tpl);
	md_init(md);
}

static int parse_metadata(const uint8_t *buf, size_t len,
    struct piv_metadata *md, int want_pub);

/* Pure: METADATA answer -> md (exposed for tests and fuzzing). */
int
piv_parse_metadata(const uint8_t *buf, size_t len, struct piv_metadata *md)
{
	return parse_metadata(buf, len, md, 1);
}

int
piv_metadata_pub(struct piv_metadata *md)
{
	int r;

	if (md == NULL)
		return PIV_ERR_ARG;
	if (md->pub != NULL)
		return 0;
	if (md->pub_tpl == NULL)
		return PIV_ERR_NOT_FOUND;
	r = piv_pubkey_from_body(md->alg, md->pub_tpl, md->pub_tpl_len,
	    &md->pub);
	return r == PIV_ERR_ARG ? PIV_ERR_PROTO : r;
}

static int
parse_metadata(const uint8_t *buf, size_t len, struct piv_metadata *md,
    int want_pub)
{
	const uint8_t *q = buf;
	size_t left = len;
	struct piv_tlv t;
	const uint8_t *pubv = NULL;
	size_t publen = 0;
	int r, have_alg = 0;

	if (md == NULL)
		return PIV_ERR_ARG;
	md_init(md);
	if (buf == NULL && len > 0)
		return PIV_ERR_ARG;
	while (left > 0) {
		if (piv_tlv_next(&q, &left, &t) != 0)
			goto proto;
		switch (t.tag) {
		case 0x01:
			if (t.len != 1)
				goto proto;
			md->alg = t.value[0];
			have_alg = 1;
			break;
		case 0x02:
			if (t.len != 2)
				goto proto;
			md->pin_policy = t.value[0];
			md->touch_policy = t.value[1];
			break;
		case 0x03:
			if (t.len != 1)
				goto proto;
			md->origin = t.value[0];
			break;
		case 0x04:
			pubv = t.value;
			publen = t.len;
			break;
		case 0x05:
			if (t.len != 1)
				goto proto;
			md->is_default = t.value[0] != 0;
			break;
		case 0x06:
			if (t.len != 2)
				goto proto;
			md->retries_total = t.value[0];
			md->retries_left = t.value[1];
			break;
		default:	/* later firmware may add tags */
			break;
		}
	}
	if (!have_alg)
		goto proto;
	if (want_pub && pubv != NULL &&
	    (r = piv_pubkey_from_body(md->alg, pubv, publen, &md->pub)) != 0) {
		piv_metadata_clear(md);
		return r == PIV_ERR_ARG ? PIV_ERR_PROTO : r;
	}
	if (pubv != NULL && publen > 0) {
		if ((md->pub_tpl = malloc(publen)) == NULL) {
			piv_metadata_clear(md);
			return PIV_ERR_NOMEM;
		}
		memcpy(md->pub_tpl, pubv, publen);
		md->pub_tpl_len = publen;
	}
	return 0;
proto:
	piv_metadata_clear(md);
	return PIV_ERR_PROTO;
}

static int
metadata(piv_card_t *p, uint8_t slot, struct piv_metadata *md, int want_pub,
    int *ms);

int
piv_metadata(piv_card_t *p, uint8_t slot, struct piv_metadata *md, int *ms)
{
	return metadata(p, slot, md, 1, ms);
}

int
piv_metadata_nokey(piv_card_t *p, uint8_t slot, struct piv_metadata *md,
    int *ms)
{
	return metadata(p, slot, md, 0, ms);
}

static int
metadata(piv_card_t *p, uint8_t slot, struct piv_metadata *md, int want_pub,
    int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_YK_METADATA };
	uint8_t *buf = NULL;
	size_t n = 0, cap = 1024;
	int r;

	if (md != NULL)
		md_init(md);
	if (p == NULL || md == NULL)
		return PIV_ERR_ARG;
	c.p2 = slot;
	if ((buf = malloc(cap)) == NULL)
		return PIV_ERR_NOMEM;
	r = piv_call(p, &c, buf, cap, &n, ms);
	/* before 5.3 the instruction is unknown */
	if (r == PIV_ERR_NOT_SUPPORTED || r == PIV_ERR_CARD ||
	    r == PIV_ERR_BAD_DATA) {
		r = PIV_ERR_NOT_SUPPORTED;
		goto out;
	}
	if (r == 0)
		r = parse_metadata(buf, n, md, want_pub);
out:
	free(buf);
	return r;
}

int
piv_attest(piv_card_t *p, uint8_t slot, X509 **cert, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_YK_ATTEST };
	uint8_t *buf = NULL;
	const uint8_t *q;
	size_t n = 0;
	int r;

	if (cert != NULL)
		*cert = NULL;
	if (p == NULL || cert == NULL)
		return PIV_ERR_ARG;
	c.p1 = slot;
	if ((buf = malloc(ATTEST_MAX)) == NULL)
		return PIV_ERR_NOMEM;
	r = piv_call(p, &c, buf, ATTEST_MAX, &n, ms);
	if (r != 0)
		goto out;
	q = buf;
	if (n == 0 || n > 0x7fffffff ||
	    (*cert = d2i_X509(NULL, &q, (long)n)) == NULL)
		r = PIV_ERR_PROTO;
out:
	free(buf);
	return r;
}

int
piv_set_pin_retries(piv_card_t *p, uint8_t pin_tries, uint8_t puk_tries,
    int *ms)
{
	int r;

	if (p == NULL || pin_tries == 0 || puk_tries == 0)
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	/* resets the PIN to its default */
	if ((r = piv_simple_cmd(p, PIV_INS_YK_SET_RETRIES, pin_tries, puk_tries,
	    ms)) == 0)
		piv_note_pin(p);
	piv_leave(p);
	return r;
}

int
piv_reset(piv_card_t *p, int *ms)
{
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	if ((r = piv_simple_cmd(p, PIV_INS_YK_RESET, 0x00, 0x00, ms)) == 0) {
		p->has_serial = 0;	/* nothing else survives either */
		p->has_ver = 0;
		piv_note_pin(p);
	}
	piv_leave(p);
	return r;
}

/* ---- PIN-protected management key -------------------------------------
 * Printed information 5FC109: 88 { 89 key }.  Admin data 5FFF00:
 * 80 { 81 flags (bit 0x02: management key PIN-protected), 82 salt,
 * 83 PIN timestamp }.  Reading the printed information needs the PIN.
 */
#define ADMIN_FLAG_PROTECTED	0x02

int
piv_read_protected_mgm(piv_card_t *p, uint8_t *key, size_t cap,
    size_t *keylen, int *ms)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct piv_tlv t, u;
	int r;

	if (keylen != NULL)
		*keylen = 0;
	if (p == NULL || key == NULL || keylen == NULL)
		return PIV_ERR_ARG;
	if ((r = piv_get_data(p, PIV_OBJ_PRINTED, &data, &len, ms)) != 0)
		return r;
	if (piv_tlv_find(data, len, 0x88, &t) != 0 ||
	    piv_tlv_find(t.value, t.len, 0x89, &u) != 0) {
		r = PIV_ERR_NOT_FOUND;
		goto out;
	}
	if (u.len != 16 && u.len != 24 && u.len != 32) {
		r = PIV_ERR_PROTO;
		goto out;
	}
	if (u.len > cap) {
		r = PIV_ERR_BUFFER;
		goto out;
	}
	memcpy(key, u.value, u.len);
	*keylen = u.len;
out:
	util_freezero(data, len);
	return r;
}

/* Rebuilds admin data with the protected flag, keeping 82/83. */
static int
admin_with_flag(const uint8_t *old, size_t oldlen, uint8_t *out, size_t cap,
    size_t *n)
{
	struct piv_tlv t, f;
	const uint8_t *q;
	size_t left;
	uint8_t flags = 0, body[64];
	wbuf_t kept, b;
	int r;

	*n = 0;
	/* at most 64 bytes of 82/83 are kept, each shorter than 128 */
	wbuf_init(&kept, body, sizeof(body) - 3);
	if (old != NULL && oldlen > 0 &&
	    piv_tlv_find(old, oldlen, 0x80, &t) == 0) {
		if (piv_tlv_find(t.value, t.len, 0x81, &f) == 0 && f.len == 1)
			flags = f.value[0];
		q = t.value;
		left = t.len;
		while (left > 0) {
			if ((r = piv_tlv_next(&q, &left, &f)) != 0)
				return r;
			if (f.tag != 0x82 && f.tag != 0x83)
				continue;
			if (f.len > 0x7f ||
			    wbuf_put_tlv(&kept, f.tag, f.value, f.len) != 0)
				return PIV_ERR_PROTO;
		}
	}
	/* 80 L { 81 01 flags, 82/83 as they were } */
	flags |= ADMIN_FLAG_PROTECTED;
	wbuf_init(&b, out, cap);
	wbuf_put_tag(&b, 0x80);
	wbuf_put_len(&b, 3 + kept.len);
	wbuf_put_tlv(&b, 0x81, &flags, 1);
	wbuf_put_bytes(&b, body, kept.len);
	if (wbuf_check(&b) != 0)
		return PIV_ERR_ARG;
	*n = b.len;
	return 0;
}

int
piv_write_protected_mgm(piv_card_t *p, const uint8_t *key, size_t keylen,
    int *ms)
{
	uint8_t pr[4 + 32], admin[80], *old = NULL;
	size_t oldlen = 0, an = 0;
	wbuf_t b;
	int r;

	if (p == NULL || key == NULL ||
	    (keylen != 16 && keylen != 24 && keylen != 32))
		return PIV_ERR_ARG;
	/* 88 L { 89 L key } */
	wbuf_init(&b, pr, sizeof(pr));
	wbuf_put_tag(&b, 0x88);
	wbuf_put_len(&b, 2 + keylen);
	wbuf_put_tlv(&b, 0x89, key, keylen);
	if (wbuf_check(&b) != 0) {
		r = PIV_ERR_ARG;
		goto wipe;
	}
	if ((r = piv_enter(p, ms)) != 0)
		goto wipe;
	r = piv_get_data(p, PIV_OBJ_ADMIN, &old, &oldlen, ms);
	if (r != 0 && r != PIV_ERR_NOT_FOUND)
		goto out;
	if ((r = admin_with_flag(old, oldlen, admin, sizeof(admin), &an)) != 0)
		goto out;
	if ((r = piv_put_data(p, PIV_OBJ_PRINTED, pr, b.len, ms)) != 0)
		goto out;
	r = piv_put_data(p, PIV_OBJ_ADMIN, admin, an, ms);
out:
	piv_leave(p);
	free(old);
wipe:
	util_wipe(pr, sizeof(pr));
	return r;
}

/*
 * Whether piv_write_protected_mgm can work, without writing: the admin
 * data (if any) parses and can take the flag, and the printed-information
 * object is readable (the PIN verified).  0, or why not.
 */
int
piv_check_protected_mgm(piv_card_t *p, int *ms)
{
	uint8_t admin[80], *old = NULL, *pr = NULL;
	size_t oldlen = 0, an = 0, prlen = 0;
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	r = piv_get_data(p, PIV_OBJ_ADMIN, &old, &oldlen, ms);
	if (r == PIV_ERR_NOT_FOUND)
		r = 0;
	if (r == 0)
		r = admin_with_flag(old, oldlen, admin, sizeof(admin), &an);
	if (r == 0) {
		r = piv_get_data(p, PIV_OBJ_PRINTED, &pr, &prlen, ms);
		if (r == PIV_ERR_NOT_FOUND)
			r = 0;
	}
	piv_leave(p);
	free(old);
	if (pr != NULL)
		util_freezero(pr, prlen);
	util_wipe(admin, sizeof(admin));
	return r;
}
