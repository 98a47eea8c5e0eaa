/* SPDX-License-Identifier: MIT */
/*
 * usb/usb.c — enumeration, open, transactions and transfers over libusb.
 *
 * libusb parses descriptors too, but it is not what decides here: the
 * configuration libusb holds is written back out as raw bytes (the
 * descriptors in their order, the unknown ones from the `extra` bytes) and
 * handed to the pure parser in usb_desc.c, which is unit-tested and
 * fuzzed.  Only what that parser accepts becomes a CCID interface.
 */
#include "usb.h"
#include "usb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"

#define CFG_RAW_MAX	65535	/* wTotalLength is 16 bits */
#define INTR_SLICE_MS	250	/* interrupt wait per lock hold, outside a
				   transaction */
#define INTR_GAP_MS	5	/* lock left free between two such waits */
#define INIT_TRIES	5
#define INIT_RETRY_MS	20

/* libusb's codes to ours. */
static int
map_err(int rc)
{
	switch (rc) {
	case LIBUSB_SUCCESS:
		return USB_OK;
	case LIBUSB_ERROR_INVALID_PARAM:
		return USB_ERR_ARG;
	case LIBUSB_ERROR_NO_MEM:
		return USB_ERR_NOMEM;
	case LIBUSB_ERROR_TIMEOUT:
		return USB_ERR_TIMEOUT;
	case LIBUSB_ERROR_NO_DEVICE:
		return USB_ERR_NO_DEVICE;
	case LIBUSB_ERROR_BUSY:
		return USB_ERR_BUSY;
	case LIBUSB_ERROR_ACCESS:
		return USB_ERR_ACCESS;
	case LIBUSB_ERROR_NOT_FOUND:
		return USB_ERR_NOT_FOUND;
	case LIBUSB_ERROR_OVERFLOW:
		return USB_ERR_OVERFLOW;
	case LIBUSB_ERROR_PIPE:
		return USB_ERR_PIPE;
	default:
		return USB_ERR_IO;
	}
}

/* ---- descriptors back to bytes ---------------------------------------- */

static int
put(uint8_t *buf, size_t cap, size_t *off, const void *p, size_t n)
{
	if (n > cap || *off > cap - n)
		return -1;
	if (n > 0)
		memcpy(buf + *off, p, n);
	*off += n;
	return 0;
}

static int
put_extra(uint8_t *buf, size_t cap, size_t *off, const unsigned char *p,
    int n)
{
	if (n < 0 || (n > 0 && p == NULL))
		return -1;
	return put(buf, cap, off, p, (size_t)n);
}

int
usb_config_raw(const struct libusb_config_descriptor *cfg, uint8_t *buf,
    size_t cap, size_t *len)
{
	const struct libusb_interface_descriptor *alt;
	const struct libusb_endpoint_descriptor *ep;
	uint8_t h[9];
	size_t off = 0;
	int i, j, k;

	*len = 0;
	if (cap < sizeof(h))
		return USB_ERR_ARG;
	off = sizeof(h);
	if (put_extra(buf, cap, &off, cfg->extra, cfg->extra_length) != 0)
		return USB_ERR_PARSE;
	for (i = 0; i < cfg->bNumInterfaces && cfg->interface != NULL; i++) {
		const struct libusb_interface *it = &cfg->interface[i];

		for (j = 0; j < it->num_altsetting && it->altsetting != NULL;
		    j++) {
			alt = &it->altsetting[j];
			h[0] = 9;
			h[1] = LIBUSB_DT_INTERFACE;
			h[2] = alt->bInterfaceNumber;
			h[3] = alt->bAlternateSetting;
			h[4] = alt->bNumEndpoints;
			h[5] = alt->bInterfaceClass;
			h[6] = alt->bInterfaceSubClass;
			h[7] = alt->bInterfaceProtocol;
			h[8] = alt->iInterface;
			if (put(buf, cap, &off, h, 9) != 0 ||
			    put_extra(buf, cap, &off, alt->extra,
			    alt->extra_length) != 0)
				return USB_ERR_PARSE;
			for (k = 0; k < alt->bNumEndpoints &&
			    alt->endpoint != NULL; k++) {
				ep = &alt->endpoint[k];
				h[0] = 7;
				h[1] = LIBUSB_DT_ENDPOINT;
				h[2] = ep->bEndpointAddress;
				h[3] = ep->bmAttributes;
				h[4] = (uint8_t)ep->wMaxPacketSize;
				h[5] = (uint8_t)(ep->wMaxPacketSize >> 8);
				h[6] = ep->bInterval;
				if (put(buf, cap, &off, h, 7) != 0 ||
				    put_extra(buf, cap, &off, ep->extra,
				    ep->extra_length) != 0)
					return USB_ERR_PARSE;
			}
		}
	}
	if (off > CFG_RAW_MAX)
		return USB_ERR_PARSE;
	buf[0] = 9;
	buf[1] = LIBUSB_DT_CONFIG;
	buf[2] = (uint8_t)off;
	buf[3] = (uint8_t)(off >> 8);
	buf[4] = cfg->bNumInterfaces;
	buf[5] = cfg->bConfigurationValue;
	buf[6] = cfg->iConfiguration;
	buf[7] = cfg->bmAttributes;
	buf[8] = cfg->MaxPower;
	*len = off;
	return USB_OK;
}

static int
device_desc(libusb_device *d, struct usb_device_desc *out)
{
	struct libusb_device_descriptor dd;
	uint8_t raw[18];

	if (libusb_get_device_descriptor(d, &dd) != 0)
		return USB_ERR_IO;
	raw[0] = dd.bLength;
	raw[1] = dd.bDescriptorType;
	raw[2] = (uint8_t)dd.bcdUSB;
	raw[3] = (uint8_t)(dd.bcdUSB >> 8);
	raw[4] = dd.bDeviceClass;
	raw[5] = dd.bDeviceSubClass;
	raw[6] = dd.bDeviceProtocol;
	raw[7] = dd.bMaxPacketSize0;
	raw[8] = (uint8_t)dd.idVendor;
	raw[9] = (uint8_t)(dd.idVendor >> 8);
	raw[10] = (uint8_t)dd.idProduct;
	raw[11] = (uint8_t)(dd.idProduct >> 8);
	raw[12] = (uint8_t)dd.bcdDevice;
	raw[13] = (uint8_t)(dd.bcdDevice >> 8);
	raw[14] = dd.iManufacturer;
	raw[15] = dd.iProduct;
	raw[16] = dd.iSerialNumber;
	raw[17] = dd.bNumConfigurations;
	return usb_parse_device_desc(raw, sizeof(raw), out);
}

/* The CCID interfaces of d's active (else first) configuration. */
static int
device_ifaces(libusb_device *d, struct usb_ccid_iface *out, size_t max,
    size_t *n)
{
	struct libusb_config_descriptor *cfg = NULL;
	uint8_t *raw = NULL;
	size_t len = 0;
	int r;

	*n = 0;
	if (libusb_get_active_config_descriptor(d, &cfg) != 0 &&
	    libusb_get_config_descriptor(d, 0, &cfg) != 0)
		return USB_ERR_NOT_FOUND;
	if ((raw = malloc(CFG_RAW_MAX)) == NULL) {
		r = USB_ERR_NOMEM;
		goto out;
	}
	if ((r = usb_config_raw(cfg, raw, CFG_RAW_MAX, &len)) != USB_OK)
		goto out;
	r = usb_parse_config_desc(raw, len, out, max, n);
out:
	free(raw);
	libusb_free_config_descriptor(cfg);
	return r;
}

/* "bus-port.port" (no interface part); "" when libusb knows no ports. */
static void
port_path(libusb_device *d, char *out, size_t cap)
{
	uint8_t ports[7];
	size_t off;
	int np, i, w;

	out[0] = '\0';
	np = libusb_get_port_numbers(d, ports, (int)sizeof(ports));
	if (np <= 0)
		return;
	w = snprintf(out, cap, "%u-%u", libusb_get_bus_number(d), ports[0]);
	if (w < 0 || (size_t)w >= cap)
		goto trunc;
	off = (size_t)w;
	for (i = 1; i < np; i++) {
		w = snprintf(out + off, cap - off, ".%u", ports[i]);
		if (w < 0 || (size_t)w >= cap - off)
			goto trunc;
		off += (size_t)w;
	}
	return;
trunc:
	out[0] = '\0';
}

/*
 * A device string made safe to print: at most cap-1 bytes of raw, every
 * byte outside printable ASCII replaced by '?', trailing newlines and NULs
 * (sysfs ends its strings with a newline) dropped, always terminated.
 * Pure, so fuzz/fuzz_usb_string.c can drive it alone.
 */
void
usb_string_clean(const uint8_t *raw, size_t n, char *out, size_t cap)
{
	size_t i;

	if (cap == 0)
		return;
	if (raw == NULL)
		n = 0;
	while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\0'))
		n--;
	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++)
		out[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? (char)raw[i] : '?';
	out[n] = '\0';
}

/* A string descriptor, bounded, printable ASCII only; "" if unreadable. */
static void
read_string(libusb_device_handle *h, uint8_t idx, char *out, size_t cap)
{
	unsigned char tmp[128];
	int got;

	out[0] = '\0';
	if (h == NULL || idx == 0 || cap == 0)
		return;
	got = libusb_get_string_descriptor_ascii(h, idx, tmp,
	    (int)sizeof(tmp));
	if (got <= 0)
		return;
	usb_string_clean(tmp, (size_t)got > sizeof(tmp) ? sizeof(tmp) :
	    (size_t)got, out, cap);
}

/*
 * A string from sysfs (/sys/bus/usb/devices/PATH/ATTR), which the kernel
 * read from the device at enumeration: no control transfer.  Printable
 * ASCII only, bounded; 0 when found.
 */
static int
sysfs_string(const char *pp, const char *attr, char *out, size_t cap)
{
	char path[96];
	uint8_t tmp[128];
	ssize_t got;
	int fd, w;

	out[0] = '\0';
	if (pp[0] == '\0' || cap == 0)
		return -1;
	w = snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/%s", pp,
	    attr);
	if (w < 0 || (size_t)w >= sizeof(path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -1;	/* no such string */
	got = read(fd, tmp, sizeof(tmp));
	close(fd);
	if (got < 0)
		return -1;
	usb_string_clean(tmp, (size_t)got, out, cap);
	return 0;
}

/* The three strings from sysfs; 0 when sysfs had the device. */
static int
sysfs_strings(const char *pp, struct usb_dev_info *b)
{
	char path[80];
	struct stat st;
	int w;

	w = snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s", pp);
	if (pp[0] == '\0' || w < 0 || (size_t)w >= sizeof(path) ||
	    stat(path, &st) != 0)
		return -1;
	if (sysfs_string(pp, "manufacturer", b->manufacturer,
	    sizeof(b->manufacturer)) != 0 ||
	    sysfs_string(pp, "product", b->product, sizeof(b->product)) != 0 ||
	    sysfs_string(pp, "serial", b->serial, sizeof(b->serial)) != 0)
		return -1;
	return 0;
}

/*
 * Appends the CCID interfaces of d to *list.  Strings come from sysfs;
 * only where sysfs does not have the device are they read from it (with
 * control transfers), through h when given.
 */
static int
add_device(libusb_device *d, libusb_device_handle *h, int want_strings,
    struct usb_dev_info *list, size_t max, size_t *n)
{
	struct usb_ccid_iface ifs[USB_MAX_IFACES];
	struct usb_device_desc dd;
	struct usb_dev_info base;
	libusb_device_handle *own = NULL;
	char pp[32];
	size_t nif = 0, i;
	int r, w;

	if ((r = device_desc(d, &dd)) != USB_OK)
		return r;
	if ((r = device_ifaces(d, ifs, UTIL_ARRAY_LEN(ifs), &nif)) != USB_OK)
		return r;
	if (nif == 0)
		return USB_OK;
	memset(&base, 0, sizeof(base));
	base.bus = libusb_get_bus_number(d);
	base.address = libusb_get_device_address(d);
	base.vid = dd.idVendor;
	base.pid = dd.idProduct;
	base.bcd_device = dd.bcdDevice;
	port_path(d, pp, sizeof(pp));
	if (want_strings && sysfs_strings(pp, &base) != 0) {
		memset(base.manufacturer, 0, sizeof(base.manufacturer));
		memset(base.product, 0, sizeof(base.product));
		memset(base.serial, 0, sizeof(base.serial));
		if (h == NULL && libusb_open(d, &own) == 0)
			h = own;
		read_string(h, dd.iManufacturer, base.manufacturer,
		    sizeof(base.manufacturer));
		read_string(h, dd.iProduct, base.product,
		    sizeof(base.product));
		read_string(h, dd.iSerialNumber, base.serial,
		    sizeof(base.serial));
		if (own != NULL)
			libusb_close(own);
	}
	for (i = 0; i < nif && *n < max; i++) {
		list[*n] = base;
		list[*n].iface = ifs[i];
		if (pp[0] != '\0') {
			w = snprintf(list[*n].path, sizeof(list[*n].path),
			    "%s:%u", pp, ifs[i].bInterfaceNumber);
			if (w < 0 || (size_t)w >= sizeof(list[*n].path))
				list[*n].path[0] = '\0';
		}
		(*n)++;
	}
	return USB_OK;
}

/*
 * USBPIV_DEVICE mode: the one device node we were given, wrapped once per
 * context (libusb reads its descriptors from the fd at wrap time) and lent
 * to every usb_dev opened on it; usb_ctx_free closes it.  libusb never
 * closes a wrapped fd.
 */
static int
fd_handle(usb_ctx_t *ctx, libusb_device_handle **h)
{
	int r;

	if (ctx->wrapped == NULL && (r = map_err(libusb_wrap_sys_device(
	    ctx->lu, (intptr_t)ctx->dev_fd, &ctx->wrapped))) != USB_OK) {
		ctx->wrapped = NULL;
		return r;
	}
	*h = ctx->wrapped;
	return USB_OK;
}

static int
enumerate_fd(usb_ctx_t *ctx, int want_strings, struct usb_dev_info **listp,
    size_t *np)
{
	libusb_device_handle *h = NULL;
	struct usb_dev_info *list;
	size_t n = 0;
	int r;

	if ((r = fd_handle(ctx, &h)) != USB_OK)
		return r;
	if ((list = calloc(USB_MAX_IFACES, sizeof(*list))) == NULL)
		return USB_ERR_NOMEM;
	/* one device, which stays: its strings are read once */
	if (want_strings && ctx->fd_n > 0) {
		memcpy(list, ctx->fd_list, ctx->fd_n * sizeof(*list));
		*listp = list;
		*np = ctx->fd_n;
		return USB_OK;
	}
	r = add_device(libusb_get_device(h), h, want_strings, list,
	    USB_MAX_IFACES, &n);
	if (r != USB_OK || n == 0) {
		free(list);
		return r;
	}
	if (want_strings) {
		memcpy(ctx->fd_list, list, n * sizeof(*list));
		ctx->fd_n = n;
	}
	*listp = list;
	*np = n;
	return USB_OK;
}

static int
enumerate(usb_ctx_t *ctx, int want_strings, struct usb_dev_info **listp,
    size_t *np)
{
	libusb_device **devs = NULL;
	struct usb_dev_info *list = NULL;
	ssize_t cnt, i;
	size_t n = 0;
	int r;

	if (listp != NULL)
		*listp = NULL;
	if (np != NULL)
		*np = 0;
	if (ctx == NULL || listp == NULL || np == NULL)
		return USB_ERR_ARG;
	if (!ctx->discovery)
		return ctx->dev_fd >= 0 ?
		    enumerate_fd(ctx, want_strings, listp, np) : USB_OK;
	if ((cnt = libusb_get_device_list(ctx->lu, &devs)) < 0)
		return map_err((int)cnt);
	if ((list = calloc(USB_MAX_DEVICES, sizeof(*list))) == NULL) {
		libusb_free_device_list(devs, 1);
		return USB_ERR_NOMEM;
	}
	for (i = 0; i < cnt && n < USB_MAX_DEVICES; i++) {
		/* a device that cannot be read or parsed is not a reader we
		 * can use: skip it, do not fail the whole list; but no memory
		 * is not the device's fault (it would read as "no reader") */
		if ((r = add_device(devs[i], NULL, want_strings, list,
		    USB_MAX_DEVICES, &n)) == USB_ERR_NOMEM) {
			libusb_free_device_list(devs, 1);
			free(list);
			return r;
		} else if (r != USB_OK)
			util_trace(2, "usb: skipping %03u/%03u: unreadable "
			    "descriptors", libusb_get_bus_number(devs[i]),
			    libusb_get_device_address(devs[i]));
	}
	libusb_free_device_list(devs, 1);
	if (n == 0) {
		free(list);
		return USB_OK;
	}
	*listp = list;
	*np = n;
	return USB_OK;
}

int
usb_enumerate(usb_ctx_t *ctx, struct usb_dev_info **list, size_t *n)
{
	return enumerate(ctx, 1, list, n);
}

int
usb_enumerate_quiet(usb_ctx_t *ctx, struct usb_dev_info **list, size_t *n)
{
	return enumerate(ctx, 0, list, n);
}

/* ---- context ----------------------------------------------------------- */

/*
 * USBPIV_DEVICE names the one device to use without scanning the bus: a
 * usbfs node ("/dev/bus/usb/001/004") that we open, or "fd:N", a node the
 * parent opened and left to us (a container handed a single device).
 */
static int
open_devspec(const char *spec, int *fd, int *own)
{
	char *end;
	long v;

	*fd = -1;
	*own = 0;
	if (spec == NULL || *spec == '\0')
		return USB_OK;
	if (strncmp(spec, "fd:", 3) == 0) {
		errno = 0;
		v = strtol(spec + 3, &end, 10);
		if (errno != 0 || end == spec + 3 || *end != '\0' || v < 0 ||
		    v > INT_MAX || fcntl((int)v, F_GETFD) < 0) {
			util_trace(1, "usb: USBPIV_DEVICE=%s: not an open fd",
			    spec);
			return USB_ERR_ARG;
		}
		*fd = (int)v;
		return USB_OK;
	}
	if ((*fd = open(spec, O_RDWR | O_CLOEXEC)) < 0) {
		util_trace(1, "usb: USBPIV_DEVICE=%s: %s", spec,
		    strerror(errno));
		return errno == EACCES || errno == EPERM ? USB_ERR_ACCESS :
		    USB_ERR_NOT_FOUND;
	}
	*own = 1;
	return USB_OK;
}

static void
ctx_drop(usb_ctx_t *ctx)
{
	if (ctx->own_fd && ctx->dev_fd >= 0)
		close(ctx->dev_fd);
	free(ctx);
}

int
usb_ctx_new(usb_ctx_t **ctxp)
{
	usb_ctx_t *ctx = NULL;
	struct usb_dev_info *list = NULL;
	size_t n = 0;
	int rc = 0, k, no_disc;

	if (ctxp == NULL)
		return USB_ERR_ARG;
	*ctxp = NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return USB_ERR_NOMEM;
	/*
	 * USBPIV_USB_NO_DISCOVERY: only usb_open_fd() will be used (a
	 * container handed one device node); nothing is listed.
	 * libusb_init can fail transiently (seen under umockdev with several
	 * processes starting at once): retry a little before concluding
	 * there is no bus to scan.
	 */
	no_disc = getenv("USBPIV_USB_NO_DISCOVERY") != NULL;
	ctx->dev_fd = -1;
	if ((rc = open_devspec(getenv("USBPIV_DEVICE"), &ctx->dev_fd,
	    &ctx->own_fd)) != USB_OK) {
		free(ctx);
		return rc;
	}
	if (ctx->dev_fd >= 0) {
		/* one node handed in (a container): do not scan the bus */
		no_disc = 1;
		libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
	}
	for (k = 0; k < INIT_TRIES; k++) {
		if ((rc = libusb_init(&ctx->lu)) == 0)
			break;
		ctx->lu = NULL;
		util_sleep_ms(INIT_RETRY_MS);
	}
	ctx->discovery = rc == 0 && !no_disc;
	if (rc != 0) {
		util_trace(1, "usb: libusb_init: %s", libusb_error_name(rc));
		/* without usbfs to scan, libusb_init fails unless told not
		 * to scan; that is fd-only mode.  With usbfs present the
		 * failure is real.  (The option is process-wide in libusb.) */
		if (!no_disc && access("/dev/bus/usb", F_OK) == 0) {
			ctx_drop(ctx);
			return map_err(rc);
		}
		libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
		if ((rc = libusb_init(&ctx->lu)) != 0) {
			ctx_drop(ctx);
			return map_err(rc);
		}
	}
	if (!ctx->discovery)
		util_trace(1, "usb: no device discovery: only usb_open_fd "
		    "works");
	if (ctx->discovery) {
		usb_hotplug_init(ctx);
		if (usb_enumerate_quiet(ctx, &list, &n) == USB_OK)
			ctx->sig = usb_list_sig(list, n);
		free(list);
	}
	*ctxp = ctx;
	return USB_OK;
}

void
usb_ctx_free(usb_ctx_t **ctxp)
{
	usb_ctx_t *ctx;

	if (ctxp == NULL || (ctx = *ctxp) == NULL)
		return;
	usb_hotplug_fini(ctx);
	if (ctx->wrapped != NULL)
		libusb_close(ctx->wrapped);
	libusb_exit(ctx->lu);
	ctx_drop(ctx);
	*ctxp = NULL;
}

uint64_t
usb_ctx_generation(const usb_ctx_t *ctx)
{
	return ctx != NULL ? ctx->gen : 0;
}

/* ---- one device -------------------------------------------------------- */

static int
dev_finish(usb_ctx_t *ctx, libusb_device_handle *h, int fd,
    const struct usb_dev_info *info, usb_dev_t **devp)
{
	usb_dev_t *dev = NULL;
	char name[16];
	int r, w;

	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return USB_ERR_NOMEM;
	dev->ctx = ctx;
	dev->info = *info;
	dev->fd = fd;
	dev->pid = getpid();
	w = snprintf(name, sizeof(name), "%03u-%03u", info->bus,
	    info->address);
	if (w < 0 || (size_t)w >= sizeof(name) ||
	    (r = usb_lock_new(fd, name, &dev->lock)) != USB_OK) {
		free(dev);
		return w < 0 || (size_t)w >= sizeof(name) ? USB_ERR_ARG : r;
	}
	/* a kernel driver bound to a CCID interface is rare; detach it for
	 * the claim if libusb can, and reattach on release */
	libusb_set_auto_detach_kernel_driver(h, 1);
	dev->h = h;
	*devp = dev;
	util_trace(2, "usb: opened %04x:%04x at %s iface %u", info->vid,
	    info->pid, info->path[0] != '\0' ? info->path : "(fd)",
	    info->iface.bInterfaceNumber);
	return USB_OK;
}

int
usb_open(usb_ctx_t *ctx, const struct usb_dev_info *info, usb_dev_t **devp)
{
	libusb_device **devs = NULL;
	libusb_device_handle *h = NULL;
	libusb_device *d = NULL;
	struct usb_ccid_iface ifs[USB_MAX_IFACES];
	struct usb_device_desc dd;
	struct usb_dev_info fresh;
	size_t nif = 0, i;
	ssize_t cnt, k;
	char node[32];
	int r = USB_ERR_NOT_FOUND, found = 0, fd = -1, w;

	if (devp != NULL)
		*devp = NULL;
	if (ctx == NULL || info == NULL || devp == NULL)
		return USB_ERR_ARG;
	if (!ctx->discovery) {
		if (ctx->dev_fd < 0)
			return USB_ERR_NOT_FOUND;
		/* USBPIV_DEVICE mode: info came from enumerate_fd */
		if ((r = fd_handle(ctx, &h)) != USB_OK ||
		    (r = dev_finish(ctx, h, ctx->dev_fd, info, devp)) !=
		    USB_OK)
			return r;
		(*devp)->borrowed = 1;
		return USB_OK;
	}
	if ((cnt = libusb_get_device_list(ctx->lu, &devs)) < 0)
		return map_err((int)cnt);
	for (k = 0; k < cnt && d == NULL; k++) {
		if (libusb_get_bus_number(devs[k]) == info->bus &&
		    libusb_get_device_address(devs[k]) == info->address)
			d = devs[k];
	}
	if (d == NULL)
		goto out;
	/* the address may have been reused by another device since the
	 * enumeration: check it is still the same reader and interface, and
	 * take the interface as its descriptors say now */
	if (device_desc(d, &dd) != USB_OK || dd.idVendor != info->vid ||
	    dd.idProduct != info->pid)
		goto out;
	if ((r = device_ifaces(d, ifs, UTIL_ARRAY_LEN(ifs), &nif)) !=
	    USB_OK) {
		/* out of memory is no sign of another device */
		if (r != USB_ERR_NOMEM)
			r = USB_ERR_NOT_FOUND;
		goto out;
	}
	r = USB_ERR_NOT_FOUND;
	fresh = *info;
	for (i = 0; i < nif; i++) {
		if (ifs[i].bInterfaceNumber == info->iface.bInterfaceNumber) {
			fresh.iface = ifs[i];
			found = 1;
			break;
		}
	}
	if (!found)
		goto out;
	/* The lock is on the node (usb_lock.c): our own open of it carries
	 * it.  libusb opens the node too, through sysfs, so it learns the
	 * active configuration there rather than asking the device (a
	 * wrapped fd would cost a GET_CONFIGURATION control transfer). */
	w = snprintf(node, sizeof(node), "/dev/bus/usb/%03u/%03u", info->bus,
	    info->address);
	if (w < 0 || (size_t)w >= sizeof(node)) {
		r = USB_ERR_ARG;
		goto out;
	}
	if ((fd = open(node, O_RDWR | O_CLOEXEC)) < 0) {
		r = errno == EACCES || errno == EPERM ? USB_ERR_ACCESS :
		    errno == ENOENT || errno == ENODEV ? USB_ERR_NO_DEVICE :
		    USB_ERR_IO;
		util_trace(1, "usb: %s: %s", node, strerror(errno));
		goto out;
	}
	if ((r = map_err(libusb_open(d, &h))) != USB_OK)
		goto out;
	if ((r = dev_finish(ctx, h, fd, &fresh, devp)) != USB_OK)
		goto out;
	(*devp)->own_fd = 1;
	h = NULL;
	fd = -1;
out:
	if (h != NULL)
		libusb_close(h);
	if (fd >= 0)
		close(fd);
	libusb_free_device_list(devs, 1);
	return r;
}

int
usb_open_fd(usb_ctx_t *ctx, int fd, usb_dev_t **devp)
{
	libusb_device_handle *h = NULL;
	struct usb_dev_info list[USB_MAX_IFACES];
	size_t n = 0;
	int r;

	if (devp != NULL)
		*devp = NULL;
	if (ctx == NULL || fd < 0 || devp == NULL)
		return USB_ERR_ARG;
	if ((r = map_err(libusb_wrap_sys_device(ctx->lu, (intptr_t)fd,
	    &h))) != USB_OK)
		return r;
	memset(list, 0, sizeof(list));
	if ((r = add_device(libusb_get_device(h), h, 1, list,
	    UTIL_ARRAY_LEN(list), &n)) != USB_OK)
		goto fail;
	if (n == 0) {
		r = USB_ERR_NOT_FOUND;
		goto fail;
	}
	/* the first CCID interface of the device */
	if ((r = dev_finish(ctx, h, fd, &list[0], devp)) != USB_OK)
		goto fail;
	return USB_OK;
fail:
	libusb_close(h);	/* leaves fd open: it is the caller's */
	return r;
}

void
usb_close(usb_dev_t **devp)
{
	usb_dev_t *dev;

	if (devp == NULL || (dev = *devp) == NULL)
		return;
	if (dev->claimed)
		usb_end(dev);
	usb_lock_free(&dev->lock);
	if (!dev->borrowed)
		libusb_close(dev->h);
	if (dev->own_fd)
		close(dev->fd);
	free(dev);
	*devp = NULL;
}

const struct usb_dev_info *
usb_dev_get_info(const usb_dev_t *dev)
{
	return dev != NULL ? &dev->info : NULL;
}

uint64_t
usb_dev_generation(const usb_dev_t *dev)
{
	return dev != NULL ? dev->gen : 0;
}

int
usb_dev_removed(const usb_dev_t *dev)
{
	return dev != NULL ? dev->removed : 1;
}

int
usb_dev_note(usb_dev_t *dev, int kind)
{
	if (dev == NULL || !dev->claimed)
		return USB_ERR_ARG;
	return usb_lock_note(dev->lock, kind);
}

uint64_t
usb_dev_events(const usb_dev_t *dev, int kind)
{
	return dev != NULL ? usb_lock_events(dev->lock, kind) : 0;
}

int
usb_dev_shared(const usb_dev_t *dev)
{
	return dev != NULL && usb_lock_shared(dev->lock);
}

/* Notes an unplug; every later call fails fast with NO_DEVICE. */
static int
gone(usb_dev_t *dev)
{
	if (!dev->removed) {
		dev->removed = 1;
		dev->gen++;
		util_trace(2, "usb: %04x:%04x unplugged", dev->info.vid,
		    dev->info.pid);
	}
	return USB_ERR_NO_DEVICE;
}

int
usb_begin(usb_dev_t *dev, int *ms)
{
	int r, other = 0, rc;

	if (dev == NULL || ms == NULL || dev->claimed)
		return USB_ERR_ARG;
	if (dev->removed)
		return USB_ERR_NO_DEVICE;
	if (dev->pid != getpid()) {
		/* a forked child shares the parent's node and its lock */
		util_trace(1, "usb: device opened by process %ld, not by "
		    "this one: open it again", (long)dev->pid);
		return USB_ERR_ARG;
	}
	if ((r = usb_lock_acquire(dev->lock, ms, &other)) != USB_OK) {
		util_trace(2, "usb: lock: %s", usb_strerror(r));
		return r;
	}
	if (other) {
		dev->gen++;
		util_trace(2, "usb: another process used the reader "
		    "(generation %llu)", (unsigned long long)dev->gen);
	}
	rc = libusb_claim_interface(dev->h, dev->info.iface.bInterfaceNumber);
	if (rc != 0) {
		usb_lock_release(dev->lock, 0);
		r = rc == LIBUSB_ERROR_NO_DEVICE ? gone(dev) : map_err(rc);
		util_trace(2, "usb: claim: %s", usb_strerror(r));
		return r;
	}
	dev->claimed = 1;
	return USB_OK;
}

/* Releases the claim and the lock; `used` counts a transaction (an
 * interrupt read or class request on its own changes no card state and
 * must not make other processes re-check theirs). */
static int
dev_end(usb_dev_t *dev, int used)
{
	int rc, r;

	rc = libusb_release_interface(dev->h,
	    dev->info.iface.bInterfaceNumber);
	dev->claimed = 0;
	r = usb_lock_release(dev->lock, used);
	if (rc == LIBUSB_ERROR_NO_DEVICE)
		return gone(dev);
	if (rc != 0)
		return map_err(rc);
	return r;
}

int
usb_end(usb_dev_t *dev)
{
	if (dev == NULL || !dev->claimed)
		return USB_ERR_ARG;
	return dev_end(dev, 1);
}

/* ---- transfers --------------------------------------------------------- */

enum xfer_kind { XF_BULK, XF_INTR };

static int
xfer(usb_dev_t *dev, enum xfer_kind kind, uint8_t ep, uint8_t *buf,
    size_t len, size_t *got, int *ms)
{
	uint64_t start;
	int rc = 0, t = 0, attempt, timeout;

	*got = 0;
	if (len > INT_MAX)
		return USB_ERR_ARG;
	if (dev->removed)
		return USB_ERR_NO_DEVICE;
	if (ep == 0)
		return USB_ERR_NOT_FOUND;
	for (attempt = 0; attempt < 2; attempt++) {
		if (*ms <= 0)
			return USB_ERR_TIMEOUT;
		timeout = *ms;		/* > 0: libusb's 0 means forever */
		t = 0;
		start = util_now_ms();
		if (kind == XF_BULK)
			rc = libusb_bulk_transfer(dev->h, ep, buf, (int)len,
			    &t, (unsigned int)timeout);
		else
			rc = libusb_interrupt_transfer(dev->h, ep, buf,
			    (int)len, &t, (unsigned int)timeout);
		util_charge(ms, start);
		/* a stall with nothing moved: clear the halt, try once more */
		if (rc != LIBUSB_ERROR_PIPE || t != 0 || attempt > 0)
			break;
		util_trace(2, "usb: ep %02x stalled, clearing", ep);
		start = util_now_ms();
		rc = libusb_clear_halt(dev->h, ep);
		util_charge(ms, start);
		if (rc == LIBUSB_ERROR_NO_DEVICE)
			return gone(dev);
		if (rc != 0) {
			rc = LIBUSB_ERROR_PIPE;
			break;
		}
	}
	if (rc == LIBUSB_ERROR_NO_DEVICE)
		return gone(dev);
	if (rc != 0)
		return map_err(rc);
	if (t < 0 || (size_t)t > len)
		return USB_ERR_IO;
	*got = (size_t)t;
	return USB_OK;
}

static int
xfer_args(usb_dev_t *dev, const void *buf, size_t len, int *ms)
{
	if (dev == NULL || ms == NULL || (buf == NULL && len != 0))
		return USB_ERR_ARG;
	if (!dev->claimed)
		return USB_ERR_ARG;	/* outside usb_begin .. usb_end */
	return USB_OK;
}

int
usb_bulk_write(usb_dev_t *dev, const uint8_t *buf, size_t len, int *ms)
{
	uint8_t *p;
	size_t got = 0;
	int r;

	if ((r = xfer_args(dev, buf, len, ms)) != USB_OK)
		return r;
	util_trace(2, "usb: bulk-out %zu bytes", len);
	/* libusb takes a non-const buffer for both directions; OUT does not
	 * write to it */
	memcpy(&p, &buf, sizeof(p));
	if ((r = xfer(dev, XF_BULK, dev->info.iface.ep_bulk_out, p, len,
	    &got, ms)) != USB_OK) {
		util_trace(2, "usb: bulk-out: %s", usb_strerror(r));
		return r;
	}
	if (got != len)
		return USB_ERR_IO;	/* short write */
	return USB_OK;
}

/*
 * An interrupt read outside a transaction (waiting for a card to be
 * inserted) brackets itself: usbfs would otherwise claim the interface
 * implicitly and keep it, and every other process would get BUSY.  It
 * waits in slices of INTR_SLICE_MS, dropping the lock between them so
 * that other processes' transactions get in.
 */
static int
intr_bracketed(usb_dev_t *dev, uint8_t *buf, size_t cap, size_t *got,
    int *ms)
{
	uint64_t start;
	int r, e, slice, gap;

	for (;;) {
		if ((r = usb_begin(dev, ms)) != USB_OK)
			return r;
		slice = *ms < INTR_SLICE_MS ? *ms : INTR_SLICE_MS;
		start = util_now_ms();
		r = xfer(dev, XF_INTR, dev->info.iface.ep_intr_in, buf, cap,
		    got, &slice);
		util_charge(ms, start);
		e = dev_end(dev, 0);
		if (r == USB_OK && e != USB_OK)
			r = e;
		if (r != USB_ERR_TIMEOUT || *ms <= 0)
			return r;
		gap = *ms < INTR_GAP_MS ? *ms : INTR_GAP_MS;
		start = util_now_ms();
		util_sleep_ms(gap);
		util_charge(ms, start);
	}
}

static int
read_common(usb_dev_t *dev, enum xfer_kind kind, uint8_t *buf, size_t cap,
    size_t *got, int *ms)
{
	const char *what = kind == XF_BULK ? "bulk-in" : "intr-in";
	uint8_t ep;
	int r;

	if (got != NULL)
		*got = 0;
	if (got == NULL || cap == 0 || dev == NULL || ms == NULL ||
	    buf == NULL)
		return USB_ERR_ARG;
	ep = kind == XF_BULK ? dev->info.iface.ep_bulk_in :
	    dev->info.iface.ep_intr_in;
	if (kind == XF_INTR && !dev->claimed) {
		if (ep == 0)
			return USB_ERR_NOT_FOUND;
		r = intr_bracketed(dev, buf, cap, got, ms);
	} else if ((r = xfer_args(dev, buf, cap, ms)) == USB_OK)
		r = xfer(dev, kind, ep, buf, cap, got, ms);
	if (r != USB_OK) {
		util_trace(2, "usb: %s: %s", what, usb_strerror(r));
		return r;
	}
	util_trace(2, "usb: %s %zu bytes", what, *got);
	if (kind == XF_INTR)	/* slot-change notifications: no secrets */
		util_trace_hex(2, "usb <", buf, *got, 0);
	return USB_OK;
}

int
usb_bulk_read(usb_dev_t *dev, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	return read_common(dev, XF_BULK, buf, cap, got, ms);
}

int
usb_intr_read(usb_dev_t *dev, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	return read_common(dev, XF_INTR, buf, cap, got, ms);
}

int
usb_control(usb_dev_t *dev, uint8_t bmRequestType, uint8_t bRequest,
    uint16_t wValue, uint8_t *data, size_t len, size_t *got, int *ms)
{
	uint64_t start;
	int rc, r, own = 0;

	if (got != NULL)
		*got = 0;
	if (dev == NULL || got == NULL || ms == NULL || len > UINT16_MAX ||
	    (data == NULL && len != 0))
		return USB_ERR_ARG;
	/* class request, recipient interface: wIndex is our interface */
	if ((bmRequestType & 0x60) != 0x20 || (bmRequestType & 0x1f) != 0x01)
		return USB_ERR_ARG;
	if (dev->removed)
		return USB_ERR_NO_DEVICE;
	if (*ms <= 0)
		return USB_ERR_TIMEOUT;
	util_trace(2, "usb: control %02x %02x wValue %04x len %zu",
	    bmRequestType, bRequest, wValue, len);
	/* outside a transaction: bracket it (see intr_bracketed) */
	if (!dev->claimed) {
		if ((r = usb_begin(dev, ms)) != USB_OK)
			return r;
		own = 1;
		if (*ms <= 0) {
			dev_end(dev, 0);
			return USB_ERR_TIMEOUT;
		}
	}
	start = util_now_ms();
	rc = libusb_control_transfer(dev->h, bmRequestType, bRequest, wValue,
	    dev->info.iface.bInterfaceNumber, data, (uint16_t)len,
	    (unsigned int)*ms);
	util_charge(ms, start);
	if (own && (r = dev_end(dev, 0)) != USB_OK && rc >= 0)
		return r;
	if (rc == LIBUSB_ERROR_NO_DEVICE)
		return gone(dev);
	if (rc < 0)
		return map_err(rc);
	if ((size_t)rc > len)
		return USB_ERR_IO;
	*got = (size_t)rc;
	return USB_OK;
}
