/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_data.c — GET DATA / PUT DATA of PIV data objects, and the map
 * from key slots to their certificate objects.
 */
#include "piv_int.h"

#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

/* Objects whose own tag replaces 5C/53 (SP 800-73-4 §3.1.2, §3.3.2). */
static int
self_tagged(uint32_t obj)
{
	return obj == PIV_OBJ_DISCOVERY || obj == PIV_OBJ_BITGT;
}

static int
valid_obj(uint32_t obj)
{
	return obj == PIV_OBJ_DISCOVERY || obj == PIV_OBJ_BITGT ||
	    (obj >= 0x5fc100 && obj <= 0x5fffff);
}

/* 5C L tag */
static size_t
put_tag_list(uint8_t *out, uint32_t obj)
{
	size_t n = 0;

	out[n++] = 0x5c;
	if (obj > 0xffff) {
		out[n++] = 3;
		out[n++] = (uint8_t)(obj >> 16);
	} else
		out[n++] = obj > 0xff ? 2 : 1;
	if (obj > 0xff)
		out[n++] = (uint8_t)(obj >> 8);
	out[n++] = (uint8_t)obj;
	return n;
}

/* GET DATA inside an open operation; *data malloc'd. */
static int
get_data(piv_card_t *p, uint32_t obj, uint8_t **data, size_t *len, int *ms)
{
	struct piv_cmd c = { 0x00, 0xcb, 0x3f, 0xff, NULL, 0, 0 };
	uint8_t req[5], *buf = NULL, *v = NULL;
	size_t n = 0;
	struct piv_tlv t;
	const uint8_t *q;
	size_t left;
	int r;

	c.data = req;
	c.len = put_tag_list(req, obj);
	c.secret = obj == PIV_OBJ_PRINTED;
	if ((buf = malloc(PIV_MAX_OBJ)) == NULL)
		return PIV_ERR_NOMEM;
	if ((r = piv_xfer(p, &c, buf, PIV_MAX_OBJ, &n, ms)) != 0)
		goto out;
	/* the answer is one TLV: 53 (or the object's own tag) */
	q = buf;
	left = n;
	if ((r = piv_tlv_next(&q, &left, &t)) != 0)
		goto out;
	if (t.tag != (self_tagged(obj) ? obj : 0x53)) {
		r = PIV_ERR_PROTO;
		goto out;
	}
	if ((v = malloc(t.len > 0 ? t.len : 1)) == NULL) {
		r = PIV_ERR_NOMEM;
		goto out;
	}
	if (t.len > 0)
		memcpy(v, t.value, t.len);
	*data = v;
	*len = t.len;
	v = NULL;
out:
	util_freezero(buf, PIV_MAX_OBJ);
	free(v);
	return r;
}

int
piv_get_data(piv_card_t *p, uint32_t obj, uint8_t **data, size_t *len,
    int *ms)
{
	int r;

	if (data != NULL)
		*data = NULL;
	if (len != NULL)
		*len = 0;
	if (p == NULL || data == NULL || len == NULL || !valid_obj(obj))
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	r = get_data(p, obj, data, len, ms);
	piv_leave(p);
	return r;
}

int
piv_put_data(piv_card_t *p, uint32_t obj, const uint8_t *data, size_t len,
    int *ms)
{
	struct piv_cmd c = { 0x00, 0xdb, 0x3f, 0xff, NULL, 0, 0 };
	uint8_t *buf = NULL;
	size_t cap, n, h;
	int r;

	if (p == NULL || !valid_obj(obj) || (len > 0 && data == NULL) ||
	    len > PIV_MAX_OBJ)
		return PIV_ERR_ARG;
	cap = len + 16;
	if ((buf = malloc(cap)) == NULL)
		return PIV_ERR_NOMEM;
	if (self_tagged(obj))
		n = 0;
	else
		n = put_tag_list(buf, obj);
	if ((h = piv_tlv_put_hdr(buf + n, cap - n,
	    self_tagged(obj) ? obj : 0x53, len)) == 0) {
		r = PIV_ERR_ARG;
		goto out;
	}
	n += h;
	if (len > 0)
		memcpy(buf + n, data, len);
	n += len;
	c.data = buf;
	c.len = n;
	c.secret = obj == PIV_OBJ_PRINTED;
	if ((r = piv_enter(p, ms)) != 0)
		goto out;
	r = piv_xfer(p, &c, NULL, 0, NULL, ms);
	piv_leave(p);
out:
	util_freezero(buf, cap);
	return r;
}

uint32_t
piv_cert_object(uint8_t slot)
{
	switch (slot) {
	case PIV_SLOT_AUTH:
		return 0x5fc105;
	case PIV_SLOT_SIGN:
		return 0x5fc10a;
	case PIV_SLOT_KEYMGMT:
		return 0x5fc10b;
	case PIV_SLOT_CARDAUTH:
		return 0x5fc101;
	case PIV_SLOT_ATTEST:
		return PIV_OBJ_ATTESTATION;
	default:
		if (slot >= PIV_SLOT_RETIRED1 && slot <= PIV_SLOT_RETIRED20)
			return 0x5fc10d + (uint32_t)(slot - PIV_SLOT_RETIRED1);
		return 0;
	}
}
