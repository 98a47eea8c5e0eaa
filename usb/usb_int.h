/*
 * usb/usb_int.h — private to usb/ and its tests: the per-device lock file.
 *
 * The lock is an flock() on a file named after the device, in the first
 * writable directory of $USBPIV_LOCK_DIR, /run/usbpiv, $XDG_RUNTIME_DIR,
 * /tmp.  The file holds a 64-bit little-endian transaction counter, which
 * each holder increments on release; a holder that finds a value other
 * than the one it last wrote knows another process used the device.
 */
#ifndef USBPIV_USB_INT_H
#define USBPIV_USB_INT_H

#include <stddef.h>
#include <stdint.h>

typedef struct usb_lock usb_lock_t;

/*
 * Picks the directory (see above) and names the file after `name`
 * (characters outside [A-Za-z0-9._-] become '_').  No file is opened yet.
 */
int usb_lock_new(const char *name, usb_lock_t **lk);
void usb_lock_free(usb_lock_t **lk);
/* The full path of the lock file ("" before usb_lock_new succeeded). */
const char *usb_lock_path(const usb_lock_t *lk);

/*
 * Takes the lock, retrying with bounded back-off for up to *ms, else
 * USB_ERR_LOCKED.  *other is set to 1 when the counter shows another
 * process held the lock since this one last released it (never on the
 * first acquisition: there is no state to be stale yet).
 */
int usb_lock_acquire(usb_lock_t *lk, int *ms, int *other);
/* Drops the lock; increments the counter first when `used` (a
 * transaction happened; an aborted begin passes 0). */
int usb_lock_release(usb_lock_t *lk, int used);
/* The counter as last read or written by this holder. */
uint64_t usb_lock_counter(const usb_lock_t *lk);

/* Directory choice alone, for the tests: writes it to dir (cap bytes). */
int usb_lock_dir(char *dir, size_t cap);

/*
 * The lock name of a device: its bus-port path without the ":iface" part
 * when there is one ("1-2.3"), else "vid:pid:serial".
 */
int usb_lock_name(const char *path, uint16_t vid, uint16_t pid,
    const char *serial, char *out, size_t cap);

/* ---- the objects, shared by usb.c and usb_hotplug.c ---- */
#include <libusb.h>

#include "usb.h"

#define USB_MAX_IFACES	8	/* CCID interfaces kept per configuration */
#define USB_MAX_DEVICES	256	/* CCID interfaces listed per enumeration */

struct usb_ctx {
	libusb_context *lu;
	int discovery;		/* libusb may scan the bus (not fd-only mode) */
	int dev_fd;		/* USBPIV_DEVICE: the one usbfs node, or -1 */
	int own_fd;		/* we opened dev_fd (and close it) */
	libusb_device_handle *wrapped;	/* dev_fd wrapped once, lent out */
	int hotplug;		/* a libusb hot-plug callback is registered */
	libusb_hotplug_callback_handle hp;
	volatile int changed;	/* set by the hot-plug callback */
	uint64_t sig;		/* signature of the set last reported */
	uint64_t gen;
};

struct usb_dev {
	usb_ctx_t *ctx;
	libusb_device_handle *h;
	int borrowed;		/* h is the context's wrapped handle */
	struct usb_dev_info info;
	usb_lock_t *lock;
	uint64_t gen;
	int removed;
	int claimed;		/* inside usb_begin .. usb_end */
	int redact;		/* trace only lengths of bulk payloads */
};

/* Enumeration without opening devices (no strings): for signatures. */
int usb_enumerate_quiet(usb_ctx_t *ctx, struct usb_dev_info **list,
    size_t *n);
/* Signature of a list: changes when the set of interfaces changes. */
uint64_t usb_list_sig(const struct usb_dev_info *list, size_t n);
int usb_hotplug_init(usb_ctx_t *ctx);
void usb_hotplug_fini(usb_ctx_t *ctx);
/* Serialises libusb's parsed configuration back into raw bytes. */
int usb_config_raw(const struct libusb_config_descriptor *cfg, uint8_t *buf,
    size_t cap, size_t *len);

#endif
