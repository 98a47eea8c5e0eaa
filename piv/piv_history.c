/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_history.c — the SP 800-73-4 Key History object (5FC10C), which
 * says how many of the retired key slots 82..95 are in use:
 * keysWithOnCardCerts (C1) + keysWithOffCardCerts (C2) = N keys, in
 * 82..82+N-1.  Reading it saves a probe of all 20 retired slots.
 */
#include "piv_int.h"

#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

#define HIST_MAX	20	/* 82..95 */

/* Pure: Key History content -> counts.  Absent counts are 0. */
int
piv_key_history_parse(const uint8_t *buf, size_t len, uint8_t *on,
    uint8_t *off)
{
	struct piv_tlv t;
	uint8_t c1 = 0, c2 = 0;

	if (on == NULL || off == NULL)
		return PIV_ERR_ARG;
	*on = *off = 0;	/* and so they stay on every error */
	if (buf == NULL && len > 0)
		return PIV_ERR_ARG;
	if (piv_tlv_find(buf, len, 0xc1, &t) == 0) {
		if (t.len != 1)
			return PIV_ERR_PROTO;
		c1 = t.value[0];
	}
	if (piv_tlv_find(buf, len, 0xc2, &t) == 0) {
		if (t.len != 1)
			return PIV_ERR_PROTO;
		c2 = t.value[0];
	}
	if (c1 > HIST_MAX || c2 > HIST_MAX || c1 + c2 > HIST_MAX)
		return PIV_ERR_PROTO;
	*on = c1;
	*off = c2;
	return 0;
}

int
piv_key_history(piv_card_t *p, uint8_t *on, uint8_t *off, int *ms)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (on != NULL)
		*on = 0;
	if (off != NULL)
		*off = 0;
	if (p == NULL || on == NULL || off == NULL)
		return PIV_ERR_ARG;
	r = piv_get_data(p, PIV_OBJ_KEY_HISTORY, &buf, &len, ms);
	if (r == PIV_ERR_NOT_FOUND)
		return 0;	/* no object: no retired keys */
	if (r == 0)
		r = piv_key_history_parse(buf, len, on, off);
	free(buf);
	return r;
}

int
piv_key_history_note(piv_card_t *p, uint8_t slot, int *ms)
{
	uint8_t on = 0, off = 0, out[8];
	wbuf_t b;
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	if (slot < 0x82 || slot > 0x95)
		return 0;
	if ((r = piv_key_history(p, &on, &off, ms)) != 0 &&
	    r != PIV_ERR_PROTO)
		return r;	/* a malformed object is rewritten */
	if (on + off >= slot - 0x81)
		return 0;	/* already covered */
	/* The slots in between count as holding keys with on-card certs:
	 * the count is all that tells a reader where to look. */
	on = (uint8_t)(slot - 0x81 - off);
	wbuf_init(&b, out, sizeof(out));
	wbuf_put_tlv(&b, 0xc1, &on, 1);
	wbuf_put_tlv(&b, 0xc2, &off, 1);
	wbuf_put_tlv(&b, 0xfe, NULL, 0);	/* LRC, empty as SP 800-73-4 allows */
	if (wbuf_check(&b) != 0)
		return PIV_ERR_ARG;
	return piv_put_data(p, PIV_OBJ_KEY_HISTORY, out, b.len, ms);
}
