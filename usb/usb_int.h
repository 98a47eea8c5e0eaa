/* SPDX-License-Identifier: MIT */
/*
 * usb/usb_int.h — private to usb/ and its tests: the per-device lock and
 * the state the processes sharing a device tell each other (usb_lock.c
 * explains both).
 */
#ifndef USBPIV_USB_INT_H
#define USBPIV_USB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "usb.h"

typedef struct usb_lock usb_lock_t;

/*
 * A lock on the device node open at fd (borrowed: the caller keeps it
 * open while the lock lives), with the shared state named after `name`
 * ("BUS-ADDR").  Fails only on bad arguments or memory: without a usable
 * state directory the state is private (usb_lock_shared() says 0).
 */
int usb_lock_new(int fd, const char *name, usb_lock_t **lk);
void usb_lock_free(usb_lock_t **lk);
int usb_lock_shared(const usb_lock_t *lk);

/*
 * Takes the lock, waiting fairly for up to *ms, else USB_ERR_LOCKED.
 * *other is set to 1 when another process held it since this handle last
 * released it (never on the first acquisition; always with private state).
 */
int usb_lock_acquire(usb_lock_t *lk, int *ms, int *other);
/* Drops the lock; counts a transaction first when `used`. */
int usb_lock_release(usb_lock_t *lk, int used);
/* While held: records an event of `kind` (USB_SHARED_*) for everyone. */
int usb_lock_note(usb_lock_t *lk, int kind);
/* The signature of all processes' `kind` events as of the last acquire,
 * release or note: it changes whenever any process noted one. */
uint64_t usb_lock_events(const usb_lock_t *lk, int kind);
/* Transactions this user's processes counted (the tests read it). */
uint64_t usb_lock_txn(const usb_lock_t *lk);

/* ---- the objects, shared by usb.c and usb_hotplug.c ---- */
#include <sys/types.h>

#include <libusb.h>

#define USB_MAX_IFACES	8	/* CCID interfaces kept per configuration */
#define USB_MAX_DEVICES	256	/* CCID interfaces listed per enumeration */

struct usb_ctx {
	libusb_context *lu;
	int discovery;		/* libusb may scan the bus (not fd-only mode) */
	int dev_fd;		/* USBPIV_DEVICE: the one usbfs node, or -1 */
	int own_fd;		/* we opened dev_fd (and close it) */
	libusb_device_handle *wrapped;	/* dev_fd wrapped once, lent out */
	struct usb_dev_info fd_list[USB_MAX_IFACES];	/* its interfaces, */
	size_t fd_n;			/* strings read once */
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
	int fd;			/* the device node: lock and libusb's handle */
	int own_fd;		/* we opened fd (else USBPIV_DEVICE's) */
	pid_t pid;		/* the process that opened it */
	uint64_t gen;
	int removed;
	int claimed;		/* inside usb_begin .. usb_end */
};

/* Enumeration without opening devices (no strings): for signatures. */
int usb_enumerate_quiet(usb_ctx_t *ctx, struct usb_dev_info **list,
    size_t *n);
/* Signature of a list: changes when the set of interfaces changes. */
uint64_t usb_list_sig(const struct usb_dev_info *list, size_t n);
/* raw device string -> printable, bounded, NUL-terminated (pure) */
void usb_string_clean(const uint8_t *raw, size_t n, char *out, size_t cap);
int usb_hotplug_init(usb_ctx_t *ctx);
void usb_hotplug_fini(usb_ctx_t *ctx);
/* Serialises libusb's parsed configuration back into raw bytes. */
int usb_config_raw(const struct libusb_config_descriptor *cfg, uint8_t *buf,
    size_t cap, size_t *len);

#endif
