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

/* 5C L tag: the tag list naming one object. */
static void
put_tag_list(wbuf_t *b, uint32_t obj)
{
	wbuf_put_tag(b, 0x5c);
	wbuf_put_len(b, obj > 0xffff ? 3 : obj > 0xff ? 2 : 1);
	wbuf_put_tag(b, obj);
}

/* GET DATA inside an open operation; *data malloc'd. */
static int
get_data(piv_card_t *p, uint32_t obj, uint8_t **data, size_t *len, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_GET_DATA,
	    .p1 = 0x3f, .p2 = 0xff };
	uint8_t req[5], *buf = NULL, *v = NULL;
	size_t n = 0;
	wbuf_t b;
	struct piv_tlv t;
	const uint8_t *q;
	size_t left;
	int r;

	wbuf_init(&b, req, sizeof(req));
	put_tag_list(&b, obj);
	if (wbuf_check(&b) != 0)
		return PIV_ERR_ARG;
	c.data = req;
	c.len = b.len;
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
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_PUT_DATA,
	    .p1 = 0x3f, .p2 = 0xff };
	uint8_t *buf = NULL;
	size_t cap;
	wbuf_t b;
	int r;

	if (p == NULL || !valid_obj(obj) || (len > 0 && data == NULL) ||
	    len > PIV_MAX_OBJ)
		return PIV_ERR_ARG;
	cap = len + 16;
	if ((buf = malloc(cap)) == NULL)
		return PIV_ERR_NOMEM;
	/* 5C tag 53 L data, or a self-tagged object as it is: tag L data */
	wbuf_init(&b, buf, cap);
	if (!self_tagged(obj))
		put_tag_list(&b, obj);
	wbuf_put_tlv(&b, self_tagged(obj) ? obj : 0x53, data, len);
	if (wbuf_check(&b) != 0) {
		r = PIV_ERR_ARG;
		goto out;
	}
	c.data = buf;
	c.len = b.len;
	c.secret = obj == PIV_OBJ_PRINTED;
	r = piv_call(p, &c, NULL, 0, NULL, ms);
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
