/* SPDX-License-Identifier: MIT */
/*
 * tests/test_usb_xfer.c — usb.c's device logic against a scripted libusb.
 *
 * This file defines the libusb functions usb.c calls; definitions in the
 * executable take precedence over libusb's shared library, so the usb
 * layer runs unchanged on a fake bus whose every answer the test chooses:
 * stalls, unplugs, busy interfaces, timeouts, overflows, short writes,
 * a libusb_init that fails, hot-plug events.  The emulated reader covers
 * the real libusb path (tests/integration/usb_enum.sh); this covers the
 * error paths a well-behaved emulator never takes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include <libusb.h>

#include "../usb/usb.h"

/* ---- the fake bus ------------------------------------------------------- */

/*
 * usb_open opens the usbfs node itself (its fd carries the lock and is
 * lent to libusb): here every /dev/bus/usb node is one plain file.
 */
static char fake_node[64];

int open(const char *path, int flags, ...);

int
open(const char *path, int flags, ...)
{
	int (*real)(const char *, int, ...);
	va_list ap;
	mode_t mode = 0;

	va_start(ap, flags);
	if (flags & O_CREAT)
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	*(void **)&real = dlsym(RTLD_NEXT, "open");
	if (strncmp(path, "/dev/bus/usb/", 13) == 0) {
		if (fake_node[0] == '\0') {
			int fd;

			snprintf(fake_node, sizeof(fake_node),
			    "/tmp/usbpiv-node-XXXXXX");
			if ((fd = mkstemp(fake_node)) < 0)
				return -1;
			close(fd);
		}
		path = fake_node;
	}
	return real(path, flags, mode);
}

struct libusb_context { int unused; };
struct libusb_device { int id; };
struct libusb_device_handle { struct libusb_device *dev; };

static struct libusb_context fake_ctx;
static struct libusb_device dev_reader = { 1 }, dev_hid = { 2 };
static struct libusb_device_handle fake_h;

#define SCRIPT_MAX 8
static struct fake {
	int init_fail;		/* libusb_init fails this many times */
	int inits;
	int hotplug_cap;
	libusb_hotplug_callback_fn cb;
	void *cb_arg;
	int pending_event;	/* next handle_events fires the callback */
	int reader_present;
	int claim_rc;
	int claims, releases;
	int clear_halts;
	uint8_t last_clear_ep;
	/* successive bulk/interrupt transfers: rc and bytes transferred */
	int x_rc[SCRIPT_MAX];
	int x_len[SCRIPT_MAX];	/* -1: all requested */
	int x_n, x_i;
	int x_default;		/* result once the script has run out */
	int xfers;
	unsigned int last_timeout;
	uint16_t last_windex;
	int ctrl_rc;
	uint8_t fill;		/* byte read transfers deliver */
	int wrap_rc;
} F;

static uint8_t ccid_extra[0x36];
static const struct libusb_endpoint_descriptor eps[3] = {
	{ 7, LIBUSB_DT_ENDPOINT, 0x81, LIBUSB_TRANSFER_TYPE_BULK, 64, 0, 0, 0,
	  NULL, 0 },
	{ 7, LIBUSB_DT_ENDPOINT, 0x02, LIBUSB_TRANSFER_TYPE_BULK, 64, 0, 0, 0,
	  NULL, 0 },
	{ 7, LIBUSB_DT_ENDPOINT, 0x83, LIBUSB_TRANSFER_TYPE_INTERRUPT, 8, 16,
	  0, 0, NULL, 0 },
};
static struct libusb_interface_descriptor alt_reader = {
	9, LIBUSB_DT_INTERFACE, 0, 0, 3, 0x0b, 0, 0, 0, eps, ccid_extra,
	sizeof(ccid_extra)
};
static struct libusb_interface_descriptor alt_hid = {
	9, LIBUSB_DT_INTERFACE, 0, 0, 3, 0x03, 0, 0, 0, eps, NULL, 0
};
static const struct libusb_interface if_reader = { &alt_reader, 1 };
static const struct libusb_interface if_hid = { &alt_hid, 1 };

static void
fake_reset(void)
{
	size_t i;

	memset(&F, 0, sizeof(F));
	F.reader_present = 1;
	F.fill = 0x5a;
	memset(ccid_extra, 0, sizeof(ccid_extra));
	ccid_extra[0] = 0x36;
	ccid_extra[1] = 0x21;
	ccid_extra[2] = 0x10;
	ccid_extra[3] = 0x01;
	ccid_extra[5] = 0x07;
	ccid_extra[42] = 0x04;		/* extended APDU level */
	ccid_extra[45] = 0x0c;		/* 3072 */
	for (i = 0; i < SCRIPT_MAX; i++)
		F.x_len[i] = -1;
}

/* Queues the results of the next transfers. */
static void
script(int n, const int *rc, const int *len)
{
	int i;

	assert_true(n <= SCRIPT_MAX);
	for (i = 0; i < n; i++) {
		F.x_rc[i] = rc[i];
		F.x_len[i] = len != NULL ? len[i] : -1;
	}
	F.x_n = n;
	F.x_i = 0;
}

int LIBUSB_CALL
libusb_init(libusb_context **ctx)
{
	F.inits++;
	if (F.init_fail > 0) {
		F.init_fail--;
		return LIBUSB_ERROR_OTHER;
	}
	*ctx = &fake_ctx;
	return 0;
}

void LIBUSB_CALL
libusb_exit(libusb_context *ctx)
{
	assert_ptr_equal(ctx, &fake_ctx);
}

int LIBUSB_CALL
libusb_set_option(libusb_context *ctx, enum libusb_option option, ...)
{
	(void)ctx;
	(void)option;
	return 0;
}

const char * LIBUSB_CALL
libusb_error_name(int errcode)
{
	(void)errcode;
	return "FAKE_ERROR";
}

int LIBUSB_CALL
libusb_has_capability(uint32_t capability)
{
	return capability == LIBUSB_CAP_HAS_HOTPLUG ? F.hotplug_cap : 0;
}

int LIBUSB_CALL
libusb_hotplug_register_callback(libusb_context *ctx, int events, int flags,
    int vendor_id, int product_id, int dev_class,
    libusb_hotplug_callback_fn cb_fn, void *user_data,
    libusb_hotplug_callback_handle *callback_handle)
{
	(void)ctx;
	(void)events;
	(void)flags;
	(void)vendor_id;
	(void)product_id;
	(void)dev_class;
	F.cb = cb_fn;
	F.cb_arg = user_data;
	*callback_handle = 1;
	return 0;
}

void LIBUSB_CALL
libusb_hotplug_deregister_callback(libusb_context *ctx,
    libusb_hotplug_callback_handle callback_handle)
{
	(void)ctx;
	(void)callback_handle;
	F.cb = NULL;
}

int LIBUSB_CALL
libusb_handle_events_timeout_completed(libusb_context *ctx,
    struct timeval *tv, int *completed)
{
	(void)completed;
	if (F.pending_event && F.cb != NULL) {
		F.pending_event = 0;
		F.cb(ctx, &dev_reader, LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
		    F.cb_arg);
		return 0;
	}
	usleep((useconds_t)(tv->tv_sec * 1000000 + tv->tv_usec));
	return 0;
}

ssize_t LIBUSB_CALL
libusb_get_device_list(libusb_context *ctx, libusb_device ***list)
{
	libusb_device **l = calloc(3, sizeof(*l));
	ssize_t n = 0;

	(void)ctx;
	assert_non_null(l);
	l[n++] = &dev_hid;
	if (F.reader_present)
		l[n++] = &dev_reader;
	*list = l;
	return n;
}

void LIBUSB_CALL
libusb_free_device_list(libusb_device **list, int unref_devices)
{
	(void)unref_devices;
	free(list);
}

int LIBUSB_CALL
libusb_get_device_descriptor(libusb_device *dev,
    struct libusb_device_descriptor *desc)
{
	memset(desc, 0, sizeof(*desc));
	desc->bLength = 18;
	desc->bDescriptorType = LIBUSB_DT_DEVICE;
	desc->bcdUSB = 0x0200;
	desc->bMaxPacketSize0 = 64;
	desc->idVendor = dev == &dev_reader ? 0x1050 : 0x046d;
	desc->idProduct = dev == &dev_reader ? 0x0407 : 0xc077;
	desc->bcdDevice = 0x0543;
	desc->iManufacturer = 1;
	desc->iProduct = 2;
	desc->iSerialNumber = 3;
	desc->bNumConfigurations = 1;
	return 0;
}

int LIBUSB_CALL
libusb_get_active_config_descriptor(libusb_device *dev,
    struct libusb_config_descriptor **config)
{
	struct libusb_config_descriptor *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->bLength = 9;
	c->bDescriptorType = LIBUSB_DT_CONFIG;
	c->bNumInterfaces = 1;
	c->bConfigurationValue = 1;
	c->interface = dev == &dev_reader ? &if_reader : &if_hid;
	*config = c;
	return 0;
}

int LIBUSB_CALL
libusb_get_config_descriptor(libusb_device *dev, uint8_t config_index,
    struct libusb_config_descriptor **config)
{
	(void)config_index;
	return libusb_get_active_config_descriptor(dev, config);
}

void LIBUSB_CALL
libusb_free_config_descriptor(struct libusb_config_descriptor *config)
{
	free(config);
}

uint8_t LIBUSB_CALL
libusb_get_bus_number(libusb_device *dev)
{
	(void)dev;
	return 3;
}

uint8_t LIBUSB_CALL
libusb_get_device_address(libusb_device *dev)
{
	return dev == &dev_reader ? 9 : 2;
}

int LIBUSB_CALL
libusb_get_port_numbers(libusb_device *dev, uint8_t *port_numbers,
    int port_numbers_len)
{
	assert_true(port_numbers_len >= 2);
	port_numbers[0] = 1;
	port_numbers[1] = dev == &dev_reader ? 4 : 5;
	return 2;
}

int LIBUSB_CALL
libusb_open(libusb_device *dev, libusb_device_handle **dev_handle)
{
	fake_h.dev = dev;
	*dev_handle = &fake_h;
	return 0;
}

void LIBUSB_CALL
libusb_close(libusb_device_handle *dev_handle)
{
	assert_ptr_equal(dev_handle, &fake_h);
}

libusb_device * LIBUSB_CALL
libusb_get_device(libusb_device_handle *dev_handle)
{
	return dev_handle->dev;
}

int LIBUSB_CALL
libusb_wrap_sys_device(libusb_context *ctx, intptr_t sys_dev,
    libusb_device_handle **dev_handle)
{
	(void)ctx;
	if (F.wrap_rc != 0)
		return F.wrap_rc;
	assert_true(sys_dev >= 0);
	fake_h.dev = &dev_reader;
	*dev_handle = &fake_h;
	return 0;
}

int LIBUSB_CALL
libusb_get_string_descriptor_ascii(libusb_device_handle *dev_handle,
    uint8_t desc_index, unsigned char *data, int length)
{
	/* the serial is too long and carries control bytes: both must be
	 * dealt with by the caller */
	static const char *const s[] = { "", "Yubico", "YubiKey",
	    "1234\n\x01" "5678901234567890123456789012345678901234567890123"
	    "45678901234567890123456789012345678901234567890123456789012345"
	    "678901234567890" };
	int n;

	(void)dev_handle;
	if (desc_index >= 4)
		return LIBUSB_ERROR_INVALID_PARAM;
	n = (int)strlen(s[desc_index]);
	if (n > length)
		n = length;
	memcpy(data, s[desc_index], (size_t)n);
	return n;
}

int LIBUSB_CALL
libusb_set_auto_detach_kernel_driver(libusb_device_handle *dev_handle,
    int enable)
{
	(void)dev_handle;
	(void)enable;
	return 0;
}

int LIBUSB_CALL
libusb_claim_interface(libusb_device_handle *dev_handle, int interface_number)
{
	(void)dev_handle;
	assert_int_equal(interface_number, 0);
	F.claims++;
	return F.claim_rc;
}

int LIBUSB_CALL
libusb_release_interface(libusb_device_handle *dev_handle,
    int interface_number)
{
	(void)dev_handle;
	(void)interface_number;
	F.releases++;
	return 0;
}

int LIBUSB_CALL
libusb_clear_halt(libusb_device_handle *dev_handle, unsigned char endpoint)
{
	(void)dev_handle;
	F.clear_halts++;
	F.last_clear_ep = endpoint;
	return 0;
}

static int
fake_xfer(unsigned char endpoint, unsigned char *data, int length,
    int *transferred, unsigned int timeout)
{
	int rc = 0, len = -1;

	F.xfers++;
	F.last_timeout = timeout;
	assert_true(timeout > 0);	/* 0 would mean "forever" */
	if (F.x_i < F.x_n) {
		rc = F.x_rc[F.x_i];
		len = F.x_len[F.x_i];
		F.x_i++;
	} else if ((rc = F.x_default) == LIBUSB_ERROR_TIMEOUT)
		usleep(timeout * 1000);	/* as a device that stays silent */
	if (len < 0)
		len = rc == 0 ? length : 0;
	*transferred = len;
	if ((endpoint & 0x80) && len > 0)
		memset(data, F.fill, (size_t)(len < length ? len : length));
	return rc;
}

int LIBUSB_CALL
libusb_bulk_transfer(libusb_device_handle *dev_handle, unsigned char endpoint,
    unsigned char *data, int length, int *actual_length, unsigned int timeout)
{
	(void)dev_handle;
	return fake_xfer(endpoint, data, length, actual_length, timeout);
}

int LIBUSB_CALL
libusb_interrupt_transfer(libusb_device_handle *dev_handle,
    unsigned char endpoint, unsigned char *data, int length,
    int *actual_length, unsigned int timeout)
{
	(void)dev_handle;
	assert_int_equal(endpoint, 0x83);
	return fake_xfer(endpoint, data, length, actual_length, timeout);
}

int LIBUSB_CALL
libusb_control_transfer(libusb_device_handle *dev_handle,
    uint8_t request_type, uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
    unsigned char *data, uint16_t wLength, unsigned int timeout)
{
	(void)dev_handle;
	(void)request_type;
	(void)bRequest;
	(void)wValue;
	(void)data;
	F.last_windex = wIndex;
	F.last_timeout = timeout;
	return F.ctrl_rc != 0 ? F.ctrl_rc : wLength;
}

/* ---- helpers ------------------------------------------------------------- */

static char lockdir[64];
static char tracefile[96];

struct fix {
	usb_ctx_t *ctx;
	usb_dev_t *dev;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct usb_dev_info *list = NULL;
	size_t n = 0;

	if (f == NULL)
		return -1;
	fake_reset();
	if (usb_ctx_new(&f->ctx) != USB_OK ||
	    usb_enumerate(f->ctx, &list, &n) != USB_OK || n != 1 ||
	    usb_open(f->ctx, &list[0], &f->dev) != USB_OK) {
		/* an injected failure (make check-faults) ends here: leave
		 * nothing behind */
		free(list);
		usb_ctx_free(&f->ctx);
		free(f);
		return -1;
	}
	free(list);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	usb_close(&f->dev);
	usb_ctx_free(&f->ctx);
	free(f);
	return 0;
}

static void
begin(usb_dev_t *dev)
{
	int ms = 1000;

	assert_int_equal(usb_begin(dev, &ms), USB_OK);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_enumerate_fields(void **state)
{
	struct fix *f = *state;
	struct usb_dev_info *list = NULL;
	size_t n = 0, i;

	assert_int_equal(usb_enumerate(f->ctx, &list, &n), USB_OK);
	/* the HID device is not listed */
	assert_int_equal(n, 1);
	assert_int_equal(list[0].bus, 3);
	assert_int_equal(list[0].address, 9);
	assert_string_equal(list[0].path, "3-1.4:0");
	assert_int_equal(list[0].vid, 0x1050);
	assert_int_equal(list[0].pid, 0x0407);
	assert_int_equal(list[0].bcd_device, 0x0543);
	assert_string_equal(list[0].manufacturer, "Yubico");
	assert_string_equal(list[0].product, "YubiKey");
	/* bounded, and no control bytes */
	assert_true(strlen(list[0].serial) < sizeof(list[0].serial));
	assert_int_equal(strncmp(list[0].serial, "1234??5678", 10), 0);
	for (i = 0; list[0].serial[i] != '\0'; i++)
		assert_true(list[0].serial[i] >= 0x20 &&
		    list[0].serial[i] < 0x7f);
	assert_int_equal(list[0].iface.ep_bulk_in, 0x81);
	assert_int_equal(list[0].iface.ep_bulk_out, 0x02);
	assert_int_equal(list[0].iface.ep_intr_in, 0x83);
	assert_int_equal(list[0].iface.ccid.dwMaxCCIDMessageLength, 3072);
	free(list);
}

/* The pure parser decides: a CCID descriptor one byte short makes the
 * reader disappear from the list, and usb_open refuses it. */
static void
test_parser_decides(void **state)
{
	struct fix *f = *state;
	struct usb_dev_info *list = NULL, info;
	usb_dev_t *d2 = NULL;
	size_t n = 99;

	info = *usb_dev_get_info(f->dev);
	ccid_extra[0] = 0x35;
	assert_int_equal(usb_enumerate(f->ctx, &list, &n), USB_OK);
	assert_int_equal(n, 0);
	assert_null(list);
	assert_int_equal(usb_open(f->ctx, &info, &d2), USB_ERR_NOT_FOUND);
	assert_null(d2);
	ccid_extra[0] = 0x36;
	/* the reader is gone since it was listed */
	F.reader_present = 0;
	assert_int_equal(usb_open(f->ctx, &info, &d2), USB_ERR_NOT_FOUND);
	assert_null(d2);
	F.reader_present = 1;
	/* its address now belongs to another device (a mouse) */
	info.address = 2;
	assert_int_equal(usb_open(f->ctx, &info, &d2), USB_ERR_NOT_FOUND);
	/* or the interface asked for is not a CCID one */
	info.address = 9;
	info.iface.bInterfaceNumber = 1;
	assert_int_equal(usb_open(f->ctx, &info, &d2), USB_ERR_NOT_FOUND);
	assert_int_equal(usb_open(f->ctx, NULL, &d2), USB_ERR_ARG);
}

static void
test_happy_transaction(void **state)
{
	struct fix *f = *state;
	uint8_t out[10] = { 0x65 }, in[64];
	size_t got = 0;
	int ms = 1000;

	begin(f->dev);
	assert_int_equal(F.claims, 1);
	assert_int_equal(usb_bulk_write(f->dev, out, sizeof(out), &ms),
	    USB_OK);
	assert_int_equal(usb_bulk_read(f->dev, in, sizeof(in), &got, &ms),
	    USB_OK);
	assert_int_equal(got, sizeof(in));
	assert_int_equal(in[0], 0x5a);
	/* the libusb timeout is what is left of the budget */
	assert_true(F.last_timeout <= 1000 && F.last_timeout > 0);
	assert_int_equal(usb_intr_read(f->dev, in, 8, &got, &ms), USB_OK);
	assert_int_equal(got, 8);
	assert_int_equal(usb_end(f->dev), USB_OK);
	assert_int_equal(F.releases, 1);
	assert_int_equal(usb_dev_generation(f->dev), 0);
	/* a transfer outside begin/end is refused before reaching libusb */
	F.xfers = 0;
	assert_int_equal(usb_bulk_write(f->dev, out, sizeof(out), &ms),
	    USB_ERR_ARG);
	assert_int_equal(F.xfers, 0);
	/* a second begin inside a transaction too */
	begin(f->dev);
	assert_int_equal(usb_begin(f->dev, &ms), USB_ERR_ARG);
	assert_int_equal(usb_end(f->dev), USB_OK);
	assert_int_equal(usb_end(f->dev), USB_ERR_ARG);
}

static void
test_stall_cleared_and_retried_once(void **state)
{
	struct fix *f = *state;
	const int once[] = { LIBUSB_ERROR_PIPE, 0 };
	const int twice[] = { LIBUSB_ERROR_PIPE, LIBUSB_ERROR_PIPE, 0 };
	const int partial[] = { LIBUSB_ERROR_PIPE };
	const int partial_len[] = { 5 };
	uint8_t buf[16];
	size_t got = 9;
	int ms = 1000;

	begin(f->dev);
	/* stall, clear, retry: success */
	script(2, once, NULL);
	assert_int_equal(usb_bulk_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_OK);
	assert_int_equal(F.clear_halts, 1);
	assert_int_equal(F.last_clear_ep, 0x81);
	assert_int_equal(got, sizeof(buf));
	/* stall again after clearing: USB_ERR_PIPE, one clear only */
	script(3, twice, NULL);
	F.clear_halts = 0;
	F.xfers = 0;
	assert_int_equal(usb_bulk_write(f->dev, buf, sizeof(buf), &ms),
	    USB_ERR_PIPE);
	assert_int_equal(F.clear_halts, 1);
	assert_int_equal(F.last_clear_ep, 0x02);
	assert_int_equal(F.xfers, 2);
	/* a stall after some bytes moved is not blindly repeated */
	script(1, partial, partial_len);
	F.clear_halts = 0;
	got = 9;
	assert_int_equal(usb_bulk_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_ERR_PIPE);
	assert_int_equal(F.clear_halts, 0);
	assert_int_equal(got, 0);
	assert_int_equal(usb_end(f->dev), USB_OK);
}

static void
test_unplug_marks_removed(void **state)
{
	struct fix *f = *state;
	const int gone[] = { LIBUSB_ERROR_NO_DEVICE };
	uint8_t buf[16];
	size_t got = 9;
	int ms = 1000;

	begin(f->dev);
	script(1, gone, NULL);
	assert_int_equal(usb_bulk_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_ERR_NO_DEVICE);
	assert_int_equal(got, 0);
	assert_true(usb_dev_removed(f->dev));
	assert_int_equal(usb_dev_generation(f->dev), 1);
	/* later calls fail fast, without libusb, and bump nothing more */
	F.xfers = 0;
	assert_int_equal(usb_bulk_write(f->dev, buf, 4, &ms),
	    USB_ERR_NO_DEVICE);
	assert_int_equal(F.xfers, 0);
	usb_end(f->dev);
	assert_int_equal(usb_begin(f->dev, &ms), USB_ERR_NO_DEVICE);
	assert_int_equal(usb_dev_generation(f->dev), 1);
	got = 9;
	assert_int_equal(usb_control(f->dev, 0x21, 1, 0, NULL, 0, &got, &ms),
	    USB_ERR_NO_DEVICE);
}

static void
test_budget_timeout_overflow_short(void **state)
{
	struct fix *f = *state;
	const int tmo[] = { LIBUSB_ERROR_TIMEOUT };
	const int ovf[] = { LIBUSB_ERROR_OVERFLOW };
	const int shortw[] = { 0 };
	const int shortw_len[] = { 3 };
	const int io[] = { LIBUSB_ERROR_IO };
	uint8_t buf[16];
	size_t got = 9;
	int ms;

	begin(f->dev);
	/* no budget left: TIMEOUT, libusb not called (it would take 0 as
	 * "wait forever") */
	ms = 0;
	F.xfers = 0;
	assert_int_equal(usb_bulk_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_ERR_TIMEOUT);
	assert_int_equal(F.xfers, 0);
	ms = -5;
	assert_int_equal(usb_bulk_write(f->dev, buf, 1, &ms),
	    USB_ERR_TIMEOUT);
	assert_int_equal(F.xfers, 0);
	ms = 1000;
	script(1, tmo, NULL);
	assert_int_equal(usb_bulk_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_ERR_TIMEOUT);
	assert_int_equal(got, 0);
	script(1, ovf, NULL);
	assert_int_equal(usb_bulk_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_ERR_OVERFLOW);
	assert_int_equal(got, 0);
	/* a write the device took only part of */
	script(1, shortw, shortw_len);
	assert_int_equal(usb_bulk_write(f->dev, buf, sizeof(buf), &ms),
	    USB_ERR_IO);
	script(1, io, NULL);
	assert_int_equal(usb_intr_read(f->dev, buf, 8, &got, &ms), USB_ERR_IO);
	/* zero-capacity read and NULL outputs */
	assert_int_equal(usb_bulk_read(f->dev, buf, 0, &got, &ms),
	    USB_ERR_ARG);
	assert_int_equal(usb_bulk_read(f->dev, buf, 4, NULL, &ms),
	    USB_ERR_ARG);
	assert_int_equal(usb_bulk_read(f->dev, NULL, 4, &got, &ms),
	    USB_ERR_ARG);
	assert_int_equal(usb_bulk_write(f->dev, buf, 4, NULL), USB_ERR_ARG);
	assert_int_equal(usb_end(f->dev), USB_OK);
	assert_false(usb_dev_removed(f->dev));
}

static void
test_claim_errors_release_the_lock(void **state)
{
	struct fix *f = *state;
	usb_dev_t *other = NULL;
	int ms;

	assert_int_equal(usb_open(f->ctx, usb_dev_get_info(f->dev), &other),
	    USB_OK);
	begin(other);
	assert_int_equal(usb_end(other), USB_OK);
	F.claim_rc = LIBUSB_ERROR_BUSY;
	ms = 1000;
	assert_int_equal(usb_begin(f->dev, &ms), USB_ERR_BUSY);
	/* BUSY is immediate: pcscd will not let go within our budget */
	assert_true(ms > 900);
	F.claim_rc = LIBUSB_ERROR_ACCESS;
	assert_int_equal(usb_begin(f->dev, &ms), USB_ERR_ACCESS);
	/* the lock was dropped: another handle gets it at once */
	F.claim_rc = 0;
	ms = 0;
	assert_int_equal(usb_begin(other, &ms), USB_OK);
	/* and the aborted begins were no use of the reader: no bump */
	assert_int_equal(usb_dev_generation(other), 0);
	/* while `other` holds it, f->dev waits its budget and gives up */
	ms = 40;
	assert_int_equal(usb_begin(f->dev, &ms), USB_ERR_LOCKED);
	assert_int_equal(ms, 0);
	assert_int_equal(usb_end(other), USB_OK);
	/* each now sees the other's transactions */
	begin(f->dev);
	assert_int_equal(usb_dev_generation(f->dev), 1);
	assert_int_equal(usb_end(f->dev), USB_OK);
	begin(f->dev);
	assert_int_equal(usb_dev_generation(f->dev), 1);	/* only us */
	assert_int_equal(usb_end(f->dev), USB_OK);
	begin(other);
	assert_int_equal(usb_dev_generation(other), 1);
	assert_int_equal(usb_end(other), USB_OK);
	/* closing inside a transaction releases everything */
	begin(other);
	usb_close(&other);
	assert_null(other);
	ms = 0;
	assert_int_equal(usb_begin(f->dev, &ms), USB_OK);
	assert_int_equal(usb_end(f->dev), USB_OK);
	/* a claim that finds the device gone */
	F.claim_rc = LIBUSB_ERROR_NO_DEVICE;
	ms = 1000;
	assert_int_equal(usb_begin(f->dev, &ms), USB_ERR_NO_DEVICE);
	assert_true(usb_dev_removed(f->dev));
}

static void
test_control_to_our_interface(void **state)
{
	struct fix *f = *state;
	uint8_t buf[8];
	size_t got = 9;
	int ms = 1000;

	/* CCID ABORT: class, interface, OUT */
	assert_int_equal(usb_control(f->dev, 0x21, 0x01, 0x0100, NULL, 0,
	    &got, &ms), USB_OK);
	assert_int_equal(F.last_windex, 0);
	assert_int_equal(got, 0);
	/* GET_CLOCK_FREQUENCIES: class, interface, IN */
	assert_int_equal(usb_control(f->dev, 0xa1, 0x02, 0, buf, sizeof(buf),
	    &got, &ms), USB_OK);
	assert_int_equal(got, sizeof(buf));
	/* standard or device-recipient requests are not ours to send */
	assert_int_equal(usb_control(f->dev, 0x80, 0x06, 0x0100, buf,
	    sizeof(buf), &got, &ms), USB_ERR_ARG);
	assert_int_equal(usb_control(f->dev, 0x20, 0x01, 0, NULL, 0, &got,
	    &ms), USB_ERR_ARG);
	assert_int_equal(usb_control(f->dev, 0xa1, 0x02, 0, NULL, 4, &got,
	    &ms), USB_ERR_ARG);
	F.ctrl_rc = LIBUSB_ERROR_PIPE;
	got = 9;
	assert_int_equal(usb_control(f->dev, 0xa1, 0x02, 0, buf, sizeof(buf),
	    &got, &ms), USB_ERR_PIPE);
	assert_int_equal(got, 0);
	ms = 0;
	assert_int_equal(usb_control(f->dev, 0xa1, 0x02, 0, buf, sizeof(buf),
	    &got, &ms), USB_ERR_TIMEOUT);
}

/*
 * Interrupt reads and class requests outside a transaction bracket
 * themselves (usbfs would otherwise keep the interface claimed and lock
 * out every other program), in slices, without counting as a use.
 */
static void
test_self_bracketed_outside_transactions(void **state)
{
	struct fix *f = *state;
	usb_dev_t *other = NULL;
	uint8_t buf[8];
	size_t got = 9;
	int ms;

	assert_int_equal(usb_open(f->ctx, usb_dev_get_info(f->dev), &other),
	    USB_OK);
	begin(other);
	assert_int_equal(usb_end(other), USB_OK);
	/* a NotifySlotChange waiting: one bracket */
	F.claims = F.releases = 0;
	ms = 1000;
	assert_int_equal(usb_intr_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_OK);
	assert_int_equal(got, sizeof(buf));
	assert_int_equal(F.claims, 1);
	assert_int_equal(F.releases, 1);
	/* nothing arrives: waits the budget out in slices, claim released
	 * after each */
	F.claims = F.releases = 0;
	F.x_default = LIBUSB_ERROR_TIMEOUT;
	ms = 600;
	got = 9;
	assert_int_equal(usb_intr_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_ERR_TIMEOUT);
	assert_int_equal(ms, 0);
	assert_int_equal(got, 0);
	assert_true(F.claims >= 3);
	assert_int_equal(F.claims, F.releases);
	assert_true(F.last_timeout <= 250);
	F.x_default = 0;
	/* a class request outside a transaction: bracketed too */
	F.claims = F.releases = 0;
	ms = 1000;
	assert_int_equal(usb_control(f->dev, 0x21, 0x01, 0, NULL, 0, &got,
	    &ms), USB_OK);
	assert_int_equal(F.claims, 1);
	assert_int_equal(F.releases, 1);
	/* none of this was a use: the other handle sees no change */
	begin(other);
	assert_int_equal(usb_dev_generation(other), 0);
	/* and while it holds the reader, the wait gives up with LOCKED */
	ms = 40;
	assert_int_equal(usb_intr_read(f->dev, buf, sizeof(buf), &got, &ms),
	    USB_ERR_LOCKED);
	assert_int_equal(usb_end(other), USB_OK);
	usb_close(&other);
}

/* USBPIV_DEBUG=2: lengths of bulk transfers, never their payloads (the
 * CCID layer traces frames and redacts the secret ones). */
static void
test_trace_no_bulk_payloads(void **state)
{
	struct fix *f = *state;
	uint8_t secret[8] = { 0x20, 0x20, 0x00, 0x80, 0x08, 0x31, 0x32, 0x33 };
	uint8_t in[8];
	char text[16384];
	size_t got;
	ssize_t n;
	int fd, ms = 1000;

	assert_int_equal(truncate(tracefile, 0), 0);
	begin(f->dev);
	F.fill = 0xc3;
	assert_int_equal(usb_bulk_write(f->dev, secret, sizeof(secret), &ms),
	    USB_OK);
	assert_int_equal(usb_bulk_read(f->dev, in, sizeof(in), &got, &ms),
	    USB_OK);
	assert_int_equal(usb_end(f->dev), USB_OK);
	fd = open(tracefile, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	/* lengths are there, the bytes are not (util_hex writes upper case) */
	assert_non_null(strstr(text, "bulk-out 8 bytes"));
	assert_null(strstr(text, "2020008008313233"));
	assert_null(strstr(text, "C3C3"));
}

static void
test_open_fd(void **state)
{
	struct fix *f = *state;
	usb_dev_t *d = NULL;
	int fd = open("/dev/null", O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(usb_open_fd(f->ctx, fd, &d), USB_OK);
	assert_int_equal(usb_dev_get_info(d)->vid, 0x1050);
	assert_int_equal(usb_dev_get_info(d)->iface.ep_bulk_out, 0x02);
	assert_string_equal(usb_dev_get_info(d)->product, "YubiKey");
	begin(d);
	assert_int_equal(usb_end(d), USB_OK);
	usb_close(&d);
	/* the fd is still the caller's */
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
	F.wrap_rc = LIBUSB_ERROR_ACCESS;
	assert_int_equal(usb_open_fd(f->ctx, fd, &d), USB_ERR_ACCESS);
	assert_null(d);
	assert_int_equal(usb_open_fd(f->ctx, -1, &d), USB_ERR_ARG);
	close(fd);
}

/* libusb_init failing now and then is retried, not taken as "no bus". */
static void
test_init_retried(void **state)
{
	usb_ctx_t *ctx = NULL;
	usb_dev_t *d = NULL;
	struct usb_dev_info *list = NULL;
	size_t n = 0;

	(void)state;
	fake_reset();
	F.init_fail = 2;
	F.inits = 0;
	assert_int_equal(usb_ctx_new(&ctx), USB_OK);
	assert_int_equal(F.inits, 3);
	assert_int_equal(usb_enumerate(ctx, &list, &n), USB_OK);
	assert_int_equal(n, 1);
	free(list);
	usb_ctx_free(&ctx);
	/* always failing: an error, never a context that lists nothing
	 * while claiming to scan */
	F.init_fail = 1000;
	assert_int_equal(usb_ctx_new(&ctx), USB_ERR_IO);
	assert_null(ctx);
	/* failing every scanning attempt: fd-only mode where there is no
	 * usbfs (a container), else the error */
	F.init_fail = 5;
	if (access("/dev/bus/usb", F_OK) == 0) {
		assert_int_equal(usb_ctx_new(&ctx), USB_ERR_IO);
		assert_null(ctx);
	} else {
		assert_int_equal(usb_ctx_new(&ctx), USB_OK);
		assert_int_equal(usb_enumerate(ctx, &list, &n), USB_OK);
		assert_int_equal(n, 0);
		usb_ctx_free(&ctx);
	}
	/* asked for: fd-only mode, enumeration empty, usb_open_fd works */
	F.init_fail = 0;
	setenv("USBPIV_USB_NO_DISCOVERY", "1", 1);
	assert_int_equal(usb_ctx_new(&ctx), USB_OK);
	assert_int_equal(usb_enumerate(ctx, &list, &n), USB_OK);
	assert_int_equal(n, 0);
	assert_null(list);
	assert_int_equal(usb_open_fd(ctx, 0, &d), USB_OK);
	assert_int_equal(usb_dev_get_info(d)->pid, 0x0407);
	usb_close(&d);
	usb_ctx_free(&ctx);
	unsetenv("USBPIV_USB_NO_DISCOVERY");
	F.init_fail = 0;
}

static void
test_hotplug(void **state)
{
	usb_ctx_t *ctx = NULL;
	int ms;

	(void)state;
	fake_reset();
	unsetenv("USBPIV_USB_NO_DISCOVERY");
	/* with libusb hot-plug: the callback triggers the rescan */
	F.hotplug_cap = 1;
	F.reader_present = 1;
	assert_int_equal(usb_ctx_new(&ctx), USB_OK);
	assert_non_null(F.cb);
	ms = 0;
	assert_int_equal(usb_poll_hotplug(ctx, &ms), 0);
	F.reader_present = 0;
	F.pending_event = 1;
	ms = 2000;
	assert_int_equal(usb_poll_hotplug(ctx, &ms), 1);
	assert_true(ms > 0);
	assert_int_equal(usb_ctx_generation(ctx), 1);
	/* an event that changes nothing CCID (a mouse) is not a change */
	F.pending_event = 1;
	ms = 50;
	assert_int_equal(usb_poll_hotplug(ctx, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(usb_ctx_generation(ctx), 1);
	usb_ctx_free(&ctx);
	assert_null(F.cb);	/* deregistered */
	/* without: the poll rescans */
	F.hotplug_cap = 0;
	F.reader_present = 1;
	assert_int_equal(usb_ctx_new(&ctx), USB_OK);
	assert_null(F.cb);
	ms = 0;
	assert_int_equal(usb_poll_hotplug(ctx, &ms), 0);
	F.reader_present = 0;
	ms = 0;
	assert_int_equal(usb_poll_hotplug(ctx, &ms), 1);
	assert_int_equal(usb_ctx_generation(ctx), 1);
	F.reader_present = 1;
	ms = 1000;
	assert_int_equal(usb_poll_hotplug(ctx, &ms), 1);
	assert_int_equal(usb_ctx_generation(ctx), 2);
	usb_ctx_free(&ctx);
	F.reader_present = 1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enumerate_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_parser_decides, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_happy_transaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_stall_cleared_and_retried_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unplug_marks_removed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_budget_timeout_overflow_short, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_claim_errors_release_the_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_to_our_interface,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_self_bracketed_outside_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_no_bulk_payloads,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_fd, setup, teardown),
		cmocka_unit_test(test_init_retried),
		cmocka_unit_test(test_hotplug),
	};
	char cmd[128];
	int rc;

	/* the trace level is read once: set it before anything runs */
	snprintf(lockdir, sizeof(lockdir), "/tmp/usbpiv-xfer-XXXXXX");
	if (mkdtemp(lockdir) == NULL)
		return 1;
	snprintf(tracefile, sizeof(tracefile), "%s/trace", lockdir);
	setenv("USBPIV_LOCK_DIR", lockdir, 1);
	setenv("USBPIV_DEBUG", "2", 1);
	setenv("USBPIV_DEBUG_FILE", tracefile, 1);
	unsetenv("USBPIV_USB_NO_DISCOVERY");
	fake_reset();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (fake_node[0] != '\0')
		unlink(fake_node);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", lockdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
