/* SPDX-License-Identifier: MIT */
/*
 * piv/piv.c — the card object: I/O binding, transactions, SELECT once
 * per transport generation, error names.
 */
#include "piv_int.h"

#include <stdlib.h>
#include <string.h>

#include "../util/util.h"

/* PIV AID, right-truncated (SP 800-73-4 §2.2: A0 00 00 03 08 00 00 10 00) */
static const uint8_t piv_aid[] = {
	0xa0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00
};

const char *
piv_strerror(int err)
{
	switch (err) {
	case PIV_OK: return "success";
	case PIV_ERR_ARG: return "invalid argument";
	case PIV_ERR_NOMEM: return "out of memory";
	case PIV_ERR_TRANSPORT: return "reader or USB failure";
	case PIV_ERR_REMOVED: return "token removed";
	case PIV_ERR_TIMEOUT: return "timed out";
	case PIV_ERR_BUSY: return "token used by another program";
	case PIV_ERR_PROTO: return "malformed response from the card";
	case PIV_ERR_NO_APP: return "no PIV application on the card";
	case PIV_ERR_NOT_FOUND: return "object or key not found";
	case PIV_ERR_PIN_WRONG: return "wrong PIN";
	case PIV_ERR_PIN_BLOCKED: return "PIN blocked";
	case PIV_ERR_AUTH_REQUIRED: return "authentication required";
	case PIV_ERR_CONDITIONS: return "conditions of use not satisfied";
	case PIV_ERR_BAD_DATA: return "card rejected the data";
	case PIV_ERR_NOT_SUPPORTED: return "not supported by the card";
	case PIV_ERR_CARD: return "card error";
	case PIV_ERR_BUFFER: return "answer larger than the buffer";
	case PIV_ERR_CRYPTO: return "cryptographic failure on the host";
	case PIV_ERR_TOUCH_TIMEOUT: return "touch not given in time";
	case PIV_ERR_ACCESS: return "permission denied";
	case PIV_ERR_NO_SPACE: return "no room on the card for that much data";
	default: return "unknown error";
	}
}

int
piv_new(piv_card_t **pp, const piv_io_t *io, void *io_h)
{
	piv_card_t *p;

	if (pp == NULL)
		return PIV_ERR_ARG;
	*pp = NULL;
	if (io == NULL || io->transmit == NULL)
		return PIV_ERR_ARG;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PIV_ERR_NOMEM;
	if ((p->rx = malloc(PIV_RX_MAX)) == NULL) {
		free(p);
		return PIV_ERR_NOMEM;
	}
	p->io = *io;
	p->io_h = io_h;
	*pp = p;
	return 0;
}

void
piv_free(piv_card_t **pp)
{
	piv_card_t *p;

	if (pp == NULL || (p = *pp) == NULL)
		return;
	if (p->io_free != NULL)
		p->io_free(p->io_h);
	util_freezero(p->rx, PIV_RX_MAX);
	util_freezero(p, sizeof(*p));
	*pp = NULL;
}

static uint64_t
generation(const piv_card_t *p)
{
	return p->io.generation != NULL ? p->io.generation(p->io_h) : 0;
}

void
piv_note_pin(piv_card_t *p)
{
	if (p->io.note_pin != NULL && p->io.note_pin(p->io_h) != 0)
		util_trace(1, "piv: could not tell other processes of a PIN "
		    "event");
}

uint64_t
piv_pin_events(piv_card_t *p)
{
	if (p == NULL)
		return 0;
	if (p->io.pin_events == NULL)
		return generation(p);	/* nothing shared: assume the worst */
	return p->io.pin_events(p->io_h);
}

void
piv_cache_check(piv_card_t *p)
{
	uint64_t g = generation(p);

	if (g != p->cache_gen) {
		p->has_ver = 0;
		p->has_serial = 0;
		p->no_ext = 0;
		p->cache_gen = g;
	}
}

static int
select_app(piv_card_t *p, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_SELECT, .p1 = 0x04,
	    .data = piv_aid, .len = sizeof(piv_aid) };
	uint8_t buf[PIV_APT_MAX];
	size_t n = 0;
	uint16_t sw;
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	p->selected = 0;
	piv_cache_check(p);
	if ((r = piv_transceive(p, &c, buf, sizeof(buf), &n, &sw, ms)) != 0)
		return r;
	if (sw != 0x9000) {
		r = piv_sw_err(sw);
		return r == PIV_ERR_NOT_FOUND || r == PIV_ERR_NOT_SUPPORTED ||
		    r == PIV_ERR_BAD_DATA ? PIV_ERR_NO_APP : r;
	}
	memcpy(p->apt, buf, n);
	p->apt_len = n;
	p->gen = generation(p);
	p->selected = 1;
	return 0;
}

int
piv_select(piv_card_t *p, int *ms)
{
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	if ((r = piv_begin(p, ms)) != 0)
		return r;
	r = select_app(p, ms);
	(void)piv_end(p);
	return r;
}

const uint8_t *
piv_apt(const piv_card_t *p, size_t *len)
{
	if (len != NULL)
		*len = p != NULL && p->selected ? p->apt_len : 0;
	return p != NULL && p->selected ? p->apt : NULL;
}

uint64_t
piv_apdu_count(const piv_card_t *p)
{
	return p != NULL ? p->napdu : 0;
}

uint8_t
piv_lost_ins(const piv_card_t *p)
{
	return p != NULL ? p->lost_ins : 0;
}

int
piv_begin(piv_card_t *p, int *ms)
{
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	if (p->depth == 0 && p->io.begin != NULL &&
	    (r = p->io.begin(p->io_h, ms)) != 0)
		return piv_err_from_io(r);
	p->depth++;
	return 0;
}

int
piv_end(piv_card_t *p)
{
	int r = 0;

	if (p == NULL || p->depth <= 0)
		return PIV_ERR_ARG;
	if (--p->depth == 0 && p->io.end != NULL)
		r = p->io.end(p->io_h);
	return piv_err_from_io(r);
}

int
piv_enter(piv_card_t *p, int *ms)
{
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	/* a new operation: the cause of an earlier failure is stale */
	p->io_cause = NULL;
	p->last_sw = 0;
	if ((r = piv_begin(p, ms)) != 0)
		return r;
	piv_cache_check(p);
	if (!p->selected || generation(p) != p->gen) {
		if ((r = select_app(p, ms)) != 0) {
			piv_end(p);
			return r;
		}
	}
	return 0;
}

void
piv_leave(piv_card_t *p)
{
	(void)piv_end(p);
}
