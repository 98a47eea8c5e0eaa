/* SPDX-License-Identifier: MIT */
/* piv/piv_tlv.c — BER-TLV as PIV uses it: pure functions, fail closed. */
#include "piv_int.h"

#include "../util/util.h"

int
piv_tlv_next(const uint8_t **p, size_t *left, struct piv_tlv *out)
{
	rbuf_t b;
	uint8_t c, n;
	uint32_t tag;
	size_t len = 0, i;
	const uint8_t *v;

	if (p == NULL || left == NULL || out == NULL || *p == NULL)
		return PIV_ERR_ARG;
	rbuf_init(&b, *p, *left);
	if (rbuf_u8(&b, &c) != 0)
		return PIV_ERR_PROTO;
	tag = c;
	if ((c & 0x1f) == 0x1f) {
		/* subsequent tag bytes while b8 is set; at most 3 in all */
		for (i = 1; ; i++) {
			if (i >= 3 || rbuf_u8(&b, &c) != 0)
				return PIV_ERR_PROTO;
			tag = tag << 8 | c;
			if ((c & 0x80) == 0)
				break;
		}
	}
	if (rbuf_u8(&b, &c) != 0)
		return PIV_ERR_PROTO;
	if (c < 0x80)
		len = c;
	else {
		n = c & 0x7f;
		if (n == 0 || n > 3)	/* indefinite or > 0xFFFFFF */
			return PIV_ERR_PROTO;
		for (i = 0; i < n; i++) {
			if (rbuf_u8(&b, &c) != 0)
				return PIV_ERR_PROTO;
			len = len << 8 | c;
		}
	}
	if (rbuf_ptr(&b, len, &v) != 0)	/* length past the end */
		return PIV_ERR_PROTO;
	out->tag = tag;
	out->len = len;
	out->value = v;
	*p = b.p;
	*left = b.left;
	return 0;
}

int
piv_tlv_find(const uint8_t *buf, size_t len, uint32_t tag,
    struct piv_tlv *out)
{
	const uint8_t *p = buf;
	size_t left = len;
	struct piv_tlv t;
	int r;

	if (out == NULL)
		return PIV_ERR_ARG;
	if (buf == NULL)
		return len == 0 ? PIV_ERR_NOT_FOUND : PIV_ERR_ARG;
	while (left > 0) {
		if ((r = piv_tlv_next(&p, &left, &t)) != 0)
			return r;
		if (t.tag == tag) {
			*out = t;
			return 0;
		}
	}
	return PIV_ERR_NOT_FOUND;
}

size_t
piv_tlv_put_len(uint8_t *out, size_t cap, size_t len)
{
	wbuf_t b;

	wbuf_init(&b, out, cap);
	return wbuf_put_len(&b, len) == 0 ? b.len : 0;
}
