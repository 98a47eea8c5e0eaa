/* SPDX-License-Identifier: MIT */
/*
 * usb/usb_hotplug.c — noticing readers come and go.
 *
 * With libusb hot-plug support a callback sets a flag from inside
 * libusb_handle_events; without it the bus is rescanned every
 * POLL_RESCAN_MS.  Either way the answer comes from comparing a signature
 * of the CCID interfaces present with the last one reported, so a mouse
 * being plugged in is not a reader change.
 */
#include "usb.h"
#include "usb_int.h"

#include <stdlib.h>
#include <sys/time.h>

#include "../util/util.h"

#define POLL_RESCAN_MS	250
#define POLL_SLICE_MS	100

static int LIBUSB_CALL
hotplug_cb(libusb_context *lu, libusb_device *d, libusb_hotplug_event ev,
    void *arg)
{
	usb_ctx_t *ctx = arg;

	(void)lu;
	(void)d;
	(void)ev;
	ctx->changed = 1;
	return 0;	/* stay registered */
}

int
usb_hotplug_init(usb_ctx_t *ctx)
{
	int rc;

	if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
		return USB_ERR_NOT_FOUND;
	rc = libusb_hotplug_register_callback(ctx->lu,
	    LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
	    LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0, LIBUSB_HOTPLUG_MATCH_ANY,
	    LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, hotplug_cb, ctx,
	    &ctx->hp);
	if (rc != LIBUSB_SUCCESS)
		return USB_ERR_IO;
	ctx->hotplug = 1;
	return USB_OK;
}

void
usb_hotplug_fini(usb_ctx_t *ctx)
{
	if (ctx->hotplug)
		libusb_hotplug_deregister_callback(ctx->lu, ctx->hp);
	ctx->hotplug = 0;
}

/* FNV-1a over what identifies an interface (not its strings). */
uint64_t
usb_list_sig(const struct usb_dev_info *list, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t k[8];
	size_t i, j;

	for (i = 0; i < n; i++) {
		k[0] = list[i].bus;
		k[1] = list[i].address;
		k[2] = (uint8_t)list[i].vid;
		k[3] = (uint8_t)(list[i].vid >> 8);
		k[4] = (uint8_t)list[i].pid;
		k[5] = (uint8_t)(list[i].pid >> 8);
		k[6] = list[i].iface.bInterfaceNumber;
		k[7] = 0xa5;	/* separator */
		for (j = 0; j < sizeof(k); j++)
			h = (h ^ k[j]) * 0x100000001b3ull;
		for (j = 0; j < sizeof(list[i].path) &&
		    list[i].path[j] != '\0'; j++)
			h = (h ^ (uint8_t)list[i].path[j]) * 0x100000001b3ull;
	}
	return h;
}

/* Rescans; 1 and a new generation when the set changed. */
static int
rescan(usb_ctx_t *ctx)
{
	struct usb_dev_info *list = NULL;
	size_t n = 0;
	uint64_t sig;
	int r;

	if ((r = usb_enumerate_quiet(ctx, &list, &n)) != USB_OK)
		return r;
	sig = usb_list_sig(list, n);
	free(list);
	if (sig == ctx->sig)
		return 0;
	ctx->sig = sig;
	ctx->gen++;
	util_trace(2, "usb: reader set changed (generation %llu)",
	    (unsigned long long)ctx->gen);
	return 1;
}

int
usb_poll_hotplug(usb_ctx_t *ctx, int *ms)
{
	struct timeval tv;
	uint64_t start;
	int r, slice;

	if (ctx == NULL || ms == NULL)
		return USB_ERR_ARG;
	if (!ctx->discovery)
		return 0;	/* fd-only mode: the set cannot change */
	for (;;) {
		if (ctx->hotplug) {
			slice = *ms < POLL_SLICE_MS ? *ms : POLL_SLICE_MS;
			if (slice < 0)
				slice = 0;
			tv.tv_sec = 0;
			tv.tv_usec = (suseconds_t)slice * 1000;
			start = util_now_ms();
			libusb_handle_events_timeout_completed(ctx->lu, &tv,
			    NULL);
			util_charge(ms, start);
			if (ctx->changed) {
				ctx->changed = 0;
				if ((r = rescan(ctx)) != 0)
					return r;
			}
		} else {
			if ((r = rescan(ctx)) != 0)
				return r;
			if (*ms > 0) {
				slice = *ms < POLL_RESCAN_MS ? *ms :
				    POLL_RESCAN_MS;
				start = util_now_ms();
				util_sleep_ms(slice);
				util_charge(ms, start);
			}
		}
		if (*ms <= 0)
			return 0;
	}
}
