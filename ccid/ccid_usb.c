/* SPDX-License-Identifier: MIT */
/*
 * ccid/ccid_usb.c — the I/O table over usb/ (bulk pipes, interrupt pipe,
 * class requests, transaction bracket), with usb_err mapped to ccid_err.
 * Kept alone so that the rest of the layer links without usb/.
 */
#include "ccid_int.h"

#include <stddef.h>

#include "../util/util.h"



/* Exposed (non-static) for its unit test. */
int
ccid_usb_err(int e)
{
	switch (e) {
	case USB_OK: return CCID_OK;
	case USB_ERR_ARG: return CCID_ERR_ARG;
	case USB_ERR_NOMEM: return CCID_ERR_NOMEM;
	case USB_ERR_TIMEOUT: return CCID_ERR_TIMEOUT;
	case USB_ERR_NO_DEVICE: return CCID_ERR_REMOVED;
	case USB_ERR_BUSY: return CCID_ERR_BUSY;
	case USB_ERR_ACCESS: return CCID_ERR_ACCESS;
	case USB_ERR_NOT_FOUND: return CCID_ERR_REMOVED;
	case USB_ERR_LOCKED: return CCID_ERR_LOCKED;
	case USB_ERR_OVERFLOW: return CCID_ERR_PROTO;	/* frame too long */
	case USB_ERR_PARSE: return CCID_ERR_PROTO;
	case USB_ERR_IO:
	case USB_ERR_PIPE:
	default:
		return CCID_ERR_IO;
	}
}

static int
io_write(void *h, const uint8_t *buf, size_t len, int *ms)
{
	return ccid_usb_err(usb_bulk_write(h, buf, len, ms));
}

static int
io_read(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	return ccid_usb_err(usb_bulk_read(h, buf, cap, got, ms));
}

static int
io_read_intr(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	return ccid_usb_err(usb_intr_read(h, buf, cap, got, ms));
}

static int
io_control(void *h, uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue,
    uint8_t *data, size_t len, size_t *got, int *ms)
{
	return ccid_usb_err(usb_control(h, bmRequestType, bRequest, wValue,
	    data, len, got, ms));
}

static int
io_begin(void *h, int *ms)
{
	return ccid_usb_err(usb_begin(h, ms));
}

static int
io_end(void *h)
{
	return ccid_usb_err(usb_end(h));
}

static uint64_t
io_generation(void *h)
{
	return usb_dev_generation(h);
}

static int
io_note(void *h, int kind)
{
	return ccid_usb_err(usb_dev_note(h, kind));
}

static uint64_t
io_events(void *h, int kind)
{
	return usb_dev_events(h, kind);
}

int
ccid_reader_open_usb(ccid_reader_t **r, usb_dev_t *dev)
{
	const struct usb_dev_info *info;
	ccid_io_t io = {
		.write = io_write,
		.read = io_read,
		.read_intr = io_read_intr,
		.control = io_control,
		.begin = io_begin,
		.end = io_end,
		.generation = io_generation,
		.note = io_note,
		.events = io_events,
	};

	if (r != NULL)
		*r = NULL;
	if (r == NULL || dev == NULL ||
	    (info = usb_dev_get_info(dev)) == NULL)
		return CCID_ERR_ARG;
	if (info->iface.ep_intr_in == 0)
		io.read_intr = NULL;
	if (usb_iface_is_iccd(&info->iface)) {
		/* ICCD: the control pipe carries everything (ccid_iccd.c) */
		struct usb_ccid_desc shown;
		ccid_io_t iio;
		void *h = NULL;
		int rc;

		if ((rc = ccid_iccd_io(&io, dev,
		    info->iface.bInterfaceProtocol, &info->iface.ccid, &iio,
		    &h, &shown)) != 0)
			return rc;
		util_trace(1, "ccid: ICCD version %c interface (control pipe)",
		    info->iface.bInterfaceProtocol == USB_ICCD_A ? 'A' : 'B');
		if ((rc = ccid_reader_new(r, &iio, h, &shown)) != 0)
			iio.close(h);
		return rc;
	}
	return ccid_reader_new(r, &io, dev, &info->iface.ccid);
}
