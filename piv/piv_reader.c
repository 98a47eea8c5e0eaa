/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_reader.c — the one way up the stack: a reader's CCID interface
 * (usb_open, ccid_reader_open_usb: one open of the device, kept) and PIV
 * handles on its slots, with the power policy in one place: a card
 * another process powered is joined as it is, never reset; an unpowered
 * one is powered up.  The CLI, the PKCS#11 backend and the agent all come
 * through here, so they open, join and fail alike.
 */
#include "piv_int.h"

#include <stdlib.h>

#include "../ccid/ccid.h"
#include "../usb/usb.h"
#include "../util/util.h"

struct piv_reader {
	usb_dev_t *dev;
	ccid_reader_t *rd;
	const char *why;	/* the lower layer's word on the last failure */
};

/* usb/ errors as opening a reader meets them. */
int
piv_err_from_usb(int r)
{
	switch (r) {
	case USB_OK:
		return 0;
	case USB_ERR_NOMEM:
		return PIV_ERR_NOMEM;
	case USB_ERR_BUSY:
	case USB_ERR_LOCKED:
		return PIV_ERR_BUSY;
	case USB_ERR_ACCESS:
		return PIV_ERR_ACCESS;
	case USB_ERR_NO_DEVICE:
	case USB_ERR_NOT_FOUND:
		return PIV_ERR_REMOVED;
	case USB_ERR_TIMEOUT:
		return PIV_ERR_TIMEOUT;
	case USB_ERR_ARG:
		return PIV_ERR_ARG;
	default:
		return PIV_ERR_TRANSPORT;
	}
}

/* ccid/ errors as opening a reader and probing a slot meet them (a
 * reader that cannot carry APDUs is PIV_ERR_NOT_SUPPORTED). */
int
piv_err_from_ccid_open(int r)
{
	switch (r) {
	case CCID_OK:
		return 0;
	case CCID_ERR_NOMEM:
		return PIV_ERR_NOMEM;
	case CCID_ERR_BUSY:
	case CCID_ERR_LOCKED:
		return PIV_ERR_BUSY;
	case CCID_ERR_ACCESS:
		return PIV_ERR_ACCESS;
	case CCID_ERR_REMOVED:
	case CCID_ERR_NO_CARD:
	case CCID_ERR_CARD_CHANGED:
		return PIV_ERR_REMOVED;
	case CCID_ERR_TIMEOUT:
		return PIV_ERR_TIMEOUT;
	case CCID_ERR_ARG:
		return PIV_ERR_ARG;
	case CCID_ERR_UNSUPPORTED:
		return PIV_ERR_NOT_SUPPORTED;
	default:
		return PIV_ERR_TRANSPORT;
	}
}

int
piv_reader_open(usb_ctx_t *ctx, const struct usb_dev_info *info,
    piv_reader_t **out)
{
	piv_reader_t *pr;
	int r;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || info == NULL || out == NULL)
		return PIV_ERR_ARG;
	if ((pr = calloc(1, sizeof(*pr))) == NULL)
		return PIV_ERR_NOMEM;
	if ((r = usb_open(ctx, info, &pr->dev)) != 0) {
		util_trace(1, "piv: %s: %s", info->path, usb_strerror(r));
		free(pr);
		return piv_err_from_usb(r);
	}
	if ((r = ccid_reader_open_usb(&pr->rd, pr->dev)) != 0) {
		util_trace(1, "piv: %s: %s", info->path, ccid_strerror(r));
		usb_close(&pr->dev);
		free(pr);
		return piv_err_from_ccid_open(r);
	}
	*out = pr;
	return 0;
}

void
piv_reader_close(piv_reader_t **prp)
{
	piv_reader_t *pr;

	if (prp == NULL || (pr = *prp) == NULL)
		return;
	ccid_reader_free(&pr->rd);
	usb_close(&pr->dev);
	free(pr);
	*prp = NULL;
}

size_t
piv_reader_slots(const piv_reader_t *pr)
{
	return pr != NULL ? ccid_slot_count(pr->rd) : 0;
}

struct ccid_reader *
piv_reader_ccid(piv_reader_t *pr)
{
	return pr != NULL ? pr->rd : NULL;
}

int
piv_reader_removed(const piv_reader_t *pr)
{
	return pr == NULL || usb_dev_removed(pr->dev);
}

int
piv_reader_card(piv_reader_t *pr, size_t slot, int probe, int *ms,
    piv_card_t **card)
{
	int r;

	if (card != NULL)
		*card = NULL;
	if (pr == NULL || card == NULL || ms == NULL ||
	    slot >= ccid_slot_count(pr->rd))
		return PIV_ERR_ARG;
	if (probe) {
		/* in its own transaction: the lock and the claim are not
		 * re-entrant, and the PIV layer takes them per call */
		pr->why = NULL;
		if ((r = ccid_begin(pr->rd, ms)) == 0) {
			r = ccid_connect(pr->rd, slot, NULL, ms);
			(void)ccid_end(pr->rd);
		}
		if (r != 0) {
			pr->why = ccid_strerror(r);
			return piv_err_from_ccid_open(r);
		}
	}
	return piv_new_ccid(card, pr->rd, slot);
}

const char *
piv_reader_why(const piv_reader_t *pr)
{
	return pr != NULL ? pr->why : NULL;
}
