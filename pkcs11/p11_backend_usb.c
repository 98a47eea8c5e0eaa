/* SPDX-License-Identifier: MIT */
/*
 * The default backend: the real stack.  usb_enumerate() lists CCID
 * interfaces, each reader slot is a PKCS#11 slot ("<usb path>/<slot>");
 * a connection opens the device once, the CCID reader over it and a PIV
 * handle on the slot, and keeps them.  A card another process powered is
 * joined, not reset.  Presence comes from what the reader already said
 * (every answer carries the slot's state, an unplug fails every transfer);
 * it is asked only when that is older than the caller allows.  Nothing
 * here survives a fork (the module refuses every call in a child before
 * its own C_Initialize).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"
#include "../ccid/ccid.h"
#include "../usb/usb.h"
#include "../util/util.h"

struct ub_ctx {
	usb_ctx_t *usb;
	struct usb_dev_info *list;
	size_t n;
};

struct ub_conn {
	piv_reader_t *pr;
	ccid_reader_t *rd;	/* piv_reader_ccid(pr) */
	size_t slot;
};

static int
ub_init(void **ctx)
{
	struct ub_ctx *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PIV_ERR_NOMEM;
	if (usb_ctx_new(&c->usb) != 0) {
		/* no libusb (no USB at all): an empty slot list */
		c->usb = NULL;
	}
	*ctx = c;
	return 0;
}

static void
ub_fini(void **ctx)
{
	struct ub_ctx *c = *ctx;

	if (c == NULL)
		return;
	free(c->list);
	usb_ctx_free(&c->usb);
	free(c);
	*ctx = NULL;
}

static int
ub_rescan(struct ub_ctx *c)
{
	free(c->list);
	c->list = NULL;
	c->n = 0;
	if (c->usb == NULL)
		return 0;
	return usb_enumerate(c->usb, &c->list, &c->n) == 0 ? 0 :
	    PIV_ERR_TRANSPORT;
}

static int
ub_list(void *ctx, struct p11_reader_info *out, size_t max, size_t *n)
{
	struct ub_ctx *c = ctx;
	size_t i, s, slots;

	*n = 0;
	if (ub_rescan(c) != 0)
		return PIV_ERR_TRANSPORT;
	for (i = 0; i < c->n; i++) {
		const struct usb_dev_info *d = &c->list[i];

		slots = (size_t)d->iface.ccid.bMaxSlotIndex + 1;
		if (slots > 8)
			slots = 8;	/* a reader could claim 256 */
		for (s = 0; s < slots && *n < max; s++) {
			struct p11_reader_info *r = &out[(*n)++];

			memset(r, 0, sizeof(*r));
			snprintf(r->id, sizeof(r->id), "%s/%zu", d->path, s);
			if (slots > 1)
				snprintf(r->desc, sizeof(r->desc),
				    "%.50s slot %zu", d->product[0] ?
				    d->product : "CCID reader", s);
			else
				snprintf(r->desc, sizeof(r->desc), "%.63s",
				    d->product[0] ? d->product :
				    "CCID reader");
			snprintf(r->manuf, sizeof(r->manuf), "%.31s",
			    d->manufacturer[0] ? d->manufacturer : "Unknown");
		}
	}
	return 0;
}

static const struct usb_dev_info *
ub_find(struct ub_ctx *c, const char *id, size_t *slot)
{
	const char *sl = strrchr(id, '/');
	size_t i, plen;
	char *end;
	unsigned long v;

	if (sl == NULL)
		return NULL;
	plen = (size_t)(sl - id);
	v = strtoul(sl + 1, &end, 10);
	if (*end != '\0' || v > 255)
		return NULL;
	for (i = 0; i < c->n; i++)
		if (strlen(c->list[i].path) == plen &&
		    memcmp(c->list[i].path, id, plen) == 0) {
			*slot = v;
			return &c->list[i];
		}
	return NULL;
}

static void
ub_conn_free(struct ub_conn **cp)
{
	struct ub_conn *cn = *cp;

	if (cn == NULL)
		return;
	piv_reader_close(&cn->pr);
	free(cn);
	*cp = NULL;
}

static int
ub_open(struct ub_ctx *c, const char *id, struct ub_conn **out)
{
	const struct usb_dev_info *d;
	struct ub_conn *cn;
	size_t slot = 0;
	int r;

	*out = NULL;
	if (c->usb == NULL || (d = ub_find(c, id, &slot)) == NULL)
		return PIV_ERR_REMOVED;
	if ((cn = calloc(1, sizeof(*cn))) == NULL)
		return PIV_ERR_NOMEM;
	cn->slot = slot;
	if ((r = piv_reader_open(c->usb, d, &cn->pr)) != 0) {
		ub_conn_free(&cn);
		/* gone since the list was made, or not a device we can
		 * open: no token there, unless we may not or someone holds
		 * it (the slot description then says so) */
		return r == PIV_ERR_ACCESS || r == PIV_ERR_BUSY ? r :
		    PIV_ERR_REMOVED;
	}
	cn->rd = piv_reader_ccid(cn->pr);
	if (slot >= piv_reader_slots(cn->pr)) {
		ub_conn_free(&cn);
		return PIV_ERR_TRANSPORT;
	}
	*out = cn;
	return 0;
}

/* How long to wait for another process to let go of the reader when all
 * we want is to ask it whether the card is still there. */
#define UB_ASK_LOCK_MS	200

/*
 * 1 card present, 0 absent, -1 cannot tell now (the reader is busy with
 * another process).  What the reader's last answer said is taken when it
 * is younger than max_age_ms; only then is it asked (GetSlotStatus).
 */
static int
ub_card_state(struct ub_conn *cn, int max_age_ms)
{
	uint64_t age;
	int state, ms = UB_ASK_LOCK_MS, r;

	if (piv_reader_removed(cn->pr))
		return 0;
	if (ccid_slot_cached(cn->rd, cn->slot, &state, &age) == 0 &&
	    (max_age_ms < 0 || age <= (uint64_t)max_age_ms))
		return state != CCID_SLOT_ABSENT;
	/* bulk transfers need the interface: lock + claim around them */
	if ((r = ccid_begin(cn->rd, &ms)) != 0)
		return r == CCID_ERR_REMOVED ? 0 : -1;
	ms = P11_OP_MS;
	r = ccid_slot_status(cn->rd, cn->slot, &state, &ms);
	(void)ccid_end(cn->rd);
	if (r == CCID_ERR_REMOVED)
		return 0;
	if (r != 0)
		return -1;
	return state != CCID_SLOT_ABSENT;
}

static int
ub_connect(void *ctx, const char *id, piv_card_t **card, void **conn)
{
	struct ub_ctx *c = ctx;
	struct ub_conn *cn = NULL;
	int r, ms = P11_OP_MS;

	*card = NULL;
	*conn = NULL;
	if ((r = ub_open(c, id, &cn)) != 0)
		return r;
	/* The first APDU joins a card another process powered (no reset:
	 * its login and selected application stay), or powers up an
	 * unpowered one (ccid_transmit); an empty slot answers
	 * PIV_ERR_REMOVED. */
	if ((r = piv_reader_card(cn->pr, cn->slot, 0, &ms, card)) != 0) {
		ub_conn_free(&cn);
		return r;
	}
	/* a token is a card that answers the PIV SELECT */
	ms = P11_OP_MS;
	if ((r = piv_begin(*card, &ms)) == 0) {
		r = piv_select(*card, &ms);
		(void)piv_end(*card);
	}
	if (r != 0) {
		piv_free(card);
		ub_conn_free(&cn);
		return r;
	}
	*conn = cn;
	return 0;
}

static void
ub_disconnect(void *ctx, void **conn, piv_card_t **card)
{
	struct ub_conn *cn = *conn;

	(void)ctx;
	piv_free(card);
	ub_conn_free(&cn);
	*conn = NULL;
}

/*
 * With a connection: the reader's own word (see ub_card_state).  Without
 * one nothing is opened just to ask: the reader being listed is all we
 * can say (-1), and connecting tells the rest.
 */
static int
ub_present(void *ctx, const char *id, void *conn, int max_age_ms)
{
	struct ub_ctx *c = ctx;
	size_t slot;

	if (conn != NULL)
		return ub_card_state(conn, max_age_ms);
	return ub_find(c, id, &slot) != NULL ? -1 : 0;
}

static int
ub_wait(void *ctx, int *ms)
{
	struct ub_ctx *c = ctx;

	if (c->usb == NULL) {
		util_sleep_ms(*ms);
		*ms = 0;
		return 0;
	}
	return usb_poll_hotplug(c->usb, ms);
}

static uint64_t
ub_generation(void *ctx, void *conn)
{
	struct ub_conn *cn = conn;

	(void)ctx;
	if (cn == NULL)
		return 0;
	return ccid_generation(cn->rd, cn->slot);
}

const struct p11_backend p11_backend_usb = {
	.init = ub_init,
	.fini = ub_fini,
	.list = ub_list,
	.connect = ub_connect,
	.disconnect = ub_disconnect,
	.present = ub_present,
	.wait = ub_wait,
	.generation = ub_generation,
};
