/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_ccid.c — the PIV client over a ccid/ reader slot: piv_io_t on
 * top of ccid_transmit / ccid_begin / ccid_end / ccid_generation.
 */
#include "piv_int.h"

#include <stdlib.h>

#include "../ccid/ccid.h"

struct piv_ccid {
	ccid_reader_t *r;
	size_t slot;
	piv_card_t *card;	/* whose failures this transport explains */
};

/* ccid/ errors as this transport reports them (a response too large for
 * the caller's buffer is piv's PIV_ERR_BUFFER). */
int
piv_err_from_ccid_io(int e)
{
	switch (e) {
	case CCID_OK:
		return 0;
	case CCID_ERR_ARG:
		return PIV_ERR_ARG;
	case CCID_ERR_NOMEM:
		return PIV_ERR_NOMEM;
	case CCID_ERR_TIMEOUT:
		return PIV_ERR_TIMEOUT;
	case CCID_ERR_REMOVED:
	case CCID_ERR_NO_CARD:
	case CCID_ERR_CARD_CHANGED:
		return PIV_ERR_REMOVED;
	case CCID_ERR_BUSY:
	case CCID_ERR_LOCKED:
		return PIV_ERR_BUSY;
	case CCID_ERR_ACCESS:
		return PIV_ERR_ACCESS;
	case CCID_ERR_BUFFER:
		return PIV_ERR_BUFFER;
	default:
		return PIV_ERR_TRANSPORT;
	}
}

/* e mapped, its detail kept on the card for piv_last_cause. */
static int
io_err(struct piv_ccid *c, int e)
{
	if (e != CCID_OK)
		piv_set_io_cause(c->card, ccid_strerror(e));
	return piv_err_from_ccid_io(e);
}

static int
ccid_io_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct piv_ccid *c = h;

	return io_err(c, ccid_transmit(c->r, c->slot, capdu, clen, secret,
	    rapdu, cap, rlen, ms));
}

static int
ccid_io_begin(void *h, int *ms)
{
	struct piv_ccid *c = h;

	return io_err(c, ccid_begin(c->r, ms));
}

static int
ccid_io_end(void *h)
{
	struct piv_ccid *c = h;

	return io_err(c, ccid_end(c->r));
}

static int
ccid_io_extended(void *h)
{
	struct piv_ccid *c = h;

	return ccid_slot_extended_ok(c->r, c->slot);
}

static int
ccid_io_sent(void *h)
{
	struct piv_ccid *c = h;

	return ccid_sent(c->r);
}

static uint64_t
ccid_io_generation(void *h)
{
	struct piv_ccid *c = h;

	return ccid_generation(c->r, c->slot);
}

static int
ccid_io_note_pin(void *h)
{
	struct piv_ccid *c = h;

	if (c->slot >= 8)
		return 0;
	return io_err(c, ccid_note(c->r, USB_SHARED_PIN0 + (int)c->slot));
}

static uint64_t
ccid_io_pin_events(void *h)
{
	struct piv_ccid *c = h;

	/* slots past 8 share nothing: report a change every time */
	if (c->slot >= 8)
		return ccid_generation(c->r, c->slot);
	return ccid_events(c->r, USB_SHARED_PIN0 + (int)c->slot);
}

int
piv_new_ccid(piv_card_t **pp, struct ccid_reader *r, size_t slot)
{
	piv_io_t io = {
		.transmit = ccid_io_transmit,
		.begin = ccid_io_begin,
		.end = ccid_io_end,
		.generation = ccid_io_generation,
		.note_pin = ccid_io_note_pin,
		.pin_events = ccid_io_pin_events,
		.extended_now = ccid_io_extended,
		.sent = ccid_io_sent,
	};
	struct piv_ccid *c;
	int e;

	if (pp == NULL)
		return PIV_ERR_ARG;
	*pp = NULL;
	if (r == NULL || slot >= ccid_slot_count(r))
		return PIV_ERR_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PIV_ERR_NOMEM;
	c->r = r;
	c->slot = slot;
	io.extended = ccid_extended_ok(r);
	if ((e = piv_new(pp, &io, c)) != 0) {
		free(c);
		return e;
	}
	(*pp)->io_free = free;
	c->card = *pp;
	return 0;
}
