/* SPDX-License-Identifier: MIT */
/*
 * usb/ — finds CCID interfaces with libusb and moves bytes to and from them.
 *
 * Enumeration walks every interface of class 0x0B and every vendor-class
 * (0xFF) interface that carries a CCID class descriptor (type 0x21).  The
 * descriptor parsers are pure functions over bytes, so they are unit-tested
 * and fuzzed without a device.  A device can also be wrapped from an fd that
 * was handed in (containers that get one /dev/bus/usb node and nothing
 * else): usb_open_fd().
 *
 * Sharing without a daemon: usb_begin() takes an exclusive lock on the
 * device node itself (only those who may use the device can open it, so
 * nobody else can hold or break the lock), waiting fairly, and claims the
 * interface; usb_end() releases both.  Processes tell each other what
 * they did through small per-user state files (usb_lock.c): usb_begin()
 * can tell when another process used the device since we last did (the
 * device's generation counter is then bumped, and the upper layers
 * re-select rather than trust stale state), and the upper layers record
 * events every sharer must learn of: a PIN changed or refused, a slot
 * powered up afresh (usb_dev_note, usb_dev_events).
 *
 * Errors are 0 or a negative USB_ERR_*; usb_strerror() names them.
 */
#ifndef USBPIV_USB_H
#define USBPIV_USB_H

#include <stddef.h>
#include <stdint.h>

enum usb_err {
	USB_OK = 0,
	USB_ERR_ARG = -1,	/* bad argument */
	USB_ERR_NOMEM = -2,
	USB_ERR_IO = -3,	/* transfer failed */
	USB_ERR_TIMEOUT = -4,
	USB_ERR_NO_DEVICE = -5,	/* unplugged */
	USB_ERR_BUSY = -6,	/* interface claimed by another program */
	USB_ERR_ACCESS = -7,	/* permission denied on the device node */
	USB_ERR_NOT_FOUND = -8,	/* no such device / interface */
	USB_ERR_PARSE = -9,	/* malformed descriptor */
	USB_ERR_LOCKED = -10,	/* lock held by another process past our wait */
	USB_ERR_OVERFLOW = -11,	/* device sent more than the buffer holds */
	USB_ERR_PIPE = -12,	/* endpoint stalled, and stalled again */
};

const char *usb_strerror(int err);

/* ---- pure descriptor parsing (device bytes in, struct or error out) ---- */

/* CCID 1.1 class descriptor, §5.1, in host order. */
struct usb_ccid_desc {
	uint16_t bcdCCID;
	uint8_t bMaxSlotIndex;
	uint8_t bVoltageSupport;	/* bit0 5V, bit1 3V, bit2 1.8V */
	uint32_t dwProtocols;		/* bit0 T=0, bit1 T=1 */
	uint32_t dwDefaultClock;
	uint32_t dwMaximumClock;
	uint8_t bNumClockSupported;
	uint32_t dwDataRate;
	uint32_t dwMaxDataRate;
	uint8_t bNumDataRatesSupported;
	uint32_t dwMaxIFSD;
	uint32_t dwSynchProtocols;
	uint32_t dwMechanical;
	uint32_t dwFeatures;
	uint32_t dwMaxCCIDMessageLength;
	uint8_t bClassGetResponse;
	uint8_t bClassEnvelope;
	uint16_t wLcdLayout;
	uint8_t bPINSupport;
	uint8_t bMaxCCIDBusySlots;
};

/* dwFeatures bits (CCID 1.1 §5.1). */
#define USB_CCID_FEAT_AUTO_CONF_ATR	0x00000002u
#define USB_CCID_FEAT_AUTO_ACTIVATION	0x00000004u
#define USB_CCID_FEAT_AUTO_VOLTAGE	0x00000008u
#define USB_CCID_FEAT_AUTO_CLOCK	0x00000010u
#define USB_CCID_FEAT_AUTO_BAUD		0x00000020u
#define USB_CCID_FEAT_AUTO_PPS_PROP	0x00000040u
#define USB_CCID_FEAT_AUTO_PPS_CUR	0x00000080u
#define USB_CCID_FEAT_AUTO_IFSD		0x00000400u
#define USB_CCID_FEAT_LEVEL_MASK	0x00070000u
#define USB_CCID_FEAT_LEVEL_CHAR	0x00000000u
#define USB_CCID_FEAT_LEVEL_TPDU	0x00010000u
#define USB_CCID_FEAT_LEVEL_SHORT_APDU	0x00020000u
#define USB_CCID_FEAT_LEVEL_EXT_APDU	0x00040000u

/* One CCID interface found in a configuration descriptor. */
struct usb_ccid_iface {
	uint8_t bInterfaceNumber;
	uint8_t bAlternateSetting;
	uint8_t bInterfaceClass;	/* 0x0B, or 0xFF for vendor-class CCID */
	uint8_t bInterfaceSubClass;
	uint8_t bInterfaceProtocol;
	uint8_t iInterface;
	uint8_t ep_bulk_in;		/* endpoint addresses; 0 = absent */
	uint8_t ep_bulk_out;
	uint8_t ep_intr_in;
	uint16_t bulk_in_max_packet;
	uint16_t bulk_out_max_packet;
	uint16_t intr_max_packet;
	struct usb_ccid_desc ccid;
};

struct usb_device_desc {
	uint16_t bcdUSB;
	uint8_t bDeviceClass;
	uint8_t bMaxPacketSize0;
	uint16_t idVendor;
	uint16_t idProduct;
	uint16_t bcdDevice;
	uint8_t iManufacturer;
	uint8_t iProduct;
	uint8_t iSerialNumber;
	uint8_t bNumConfigurations;
};

/* The 18-byte device descriptor. */
int usb_parse_device_desc(const uint8_t *buf, size_t len,
    struct usb_device_desc *out);
/* A CCID class descriptor (bLength 0x36, type 0x21); ptr at its bLength. */
int usb_parse_ccid_desc(const uint8_t *buf, size_t len,
    struct usb_ccid_desc *out);
/* bInterfaceProtocol of class 0x0B (ICCD rev 1.0 §4.2): 0 bulk (CCID),
 * 1 ICCD version A, 2 ICCD version B (control pipe). */
#define USB_ICCD_A	1
#define USB_ICCD_B	2
/* An ICCD interface driven over the control pipe: class 0x0B (or 0xFF
 * with a CCID descriptor), protocol 1 or 2, and no bulk pair (one that
 * has a bulk pair is driven as CCID). */
int usb_iface_is_iccd(const struct usb_ccid_iface *i);

/*
 * A whole configuration descriptor (type 2, wTotalLength bytes and its
 * interfaces and endpoints).  Writes up to `max` CCID interfaces to out
 * and their count to *n; an interface without a bulk-in and a bulk-out
 * endpoint is skipped unless it is ICCD (usb_iface_is_iccd).  A
 * vendor-class (0xFF) interface may carry its 54-byte class descriptor
 * typed 0xFF instead of 0x21 (pre-1.0 CCID readers, as libccid takes).  Trusts no length in the bytes: each is checked
 * against the bytes present.
 */
int usb_parse_config_desc(const uint8_t *buf, size_t len,
    struct usb_ccid_iface *out, size_t max, size_t *n);

/* ---- enumeration ------------------------------------------------------- */

typedef struct usb_ctx usb_ctx_t;	/* wraps a libusb_context */
typedef struct usb_dev usb_dev_t;	/* one CCID interface of one device */

/* What enumeration reports of one CCID interface (no I/O to the card). */
struct usb_dev_info {
	uint8_t bus;
	uint8_t address;
	char path[32];		/* "bus-port.port:iface", stable across replug */
	uint16_t vid;
	uint16_t pid;
	uint16_t bcd_device;
	char manufacturer[128];	/* from string descriptors; "" if none */
	char product[128];
	char serial[128];
	struct usb_ccid_iface iface;
};

int usb_ctx_new(usb_ctx_t **ctx);
void usb_ctx_free(usb_ctx_t **ctx);

/*
 * Lists the CCID interfaces present now.  *list is allocated (free with
 * free()), *n set; both set (NULL, 0) on error.
 */
int usb_enumerate(usb_ctx_t *ctx, struct usb_dev_info **list, size_t *n);

/*
 * Hot-plug.  Where libusb has hot-plug support, callbacks registered with
 * libusb set a flag; elsewhere usb_poll_hotplug() rescans.  Returns 1 when
 * the set of CCID interfaces changed since the last call, 0 if not.  Waits
 * up to *ms for a change.  Bumps usb_ctx_generation().
 */
int usb_poll_hotplug(usb_ctx_t *ctx, int *ms);
uint64_t usb_ctx_generation(const usb_ctx_t *ctx);

/* ---- one device -------------------------------------------------------- */

/* Opens the interface described by info (from usb_enumerate). */
int usb_open(usb_ctx_t *ctx, const struct usb_dev_info *info, usb_dev_t **dev);
/* Wraps an already-open usbfs fd (libusb_wrap_sys_device); the CCID
 * interface is found from the descriptors read through it. */
int usb_open_fd(usb_ctx_t *ctx, int fd, usb_dev_t **dev);
void usb_close(usb_dev_t **dev);	/* releases, closes, frees, NULLs */

const struct usb_dev_info *usb_dev_get_info(const usb_dev_t *dev);

/* Lock + claim for one transaction; waits (fairly: first come, first
 * served) up to *ms, then USB_ERR_LOCKED, or USB_ERR_BUSY when another
 * program keeps the interface claimed. */
int usb_begin(usb_dev_t *dev, int *ms);
int usb_end(usb_dev_t *dev);
/* Bumped when another process used the device between our transactions,
 * and on unplug / replug. */
uint64_t usb_dev_generation(const usb_dev_t *dev);
int usb_dev_removed(const usb_dev_t *dev);	/* saw LIBUSB_ERROR_NO_DEVICE */

/* Events the processes sharing a device tell each other. */
#define USB_SHARED_PIN0		0	/* + slot: a PIN changed, refused, reset */
#define USB_SHARED_RESET0	8	/* + slot: the card was powered afresh */
#define USB_SHARED_KINDS	16
/* Inside a transaction: records an event for every sharer. */
int usb_dev_note(usb_dev_t *dev, int kind);
/*
 * A signature of every process's events of `kind`, as of this process's
 * last usb_begin/usb_end/usb_dev_note: it changes when anybody noted one.
 * Without shared state (no usable state directory) the PIN signatures
 * change at every usb_begin and the RESET ones never.
 */
uint64_t usb_dev_events(const usb_dev_t *dev, int kind);
/* Is the state shared with other processes (else private)? */
int usb_dev_shared(const usb_dev_t *dev);

/*
 * USBPIV_DEBUG=2 traces every bulk transfer's length, never its payload
 * (the CCID layer above traces frames and knows which carry a secret);
 * interrupt payloads (slot-change notifications) in full.
 */

/*
 * Transfers.  A stall clears the halt and retries once.  Bulk transfers
 * must run between usb_begin() and usb_end() (else USB_ERR_ARG).  An
 * interrupt read or a class request outside a transaction brackets itself
 * (lock + claim, released after; the interrupt wait in slices so other
 * processes get in), and does not count as a use of the reader.
 */
int usb_bulk_write(usb_dev_t *dev, const uint8_t *buf, size_t len, int *ms);
int usb_bulk_read(usb_dev_t *dev, uint8_t *buf, size_t cap, size_t *got,
    int *ms);
int usb_intr_read(usb_dev_t *dev, uint8_t *buf, size_t cap, size_t *got,
    int *ms);
/* Class-specific control request to the interface (CCID ABORT etc). */
int usb_control(usb_dev_t *dev, uint8_t bmRequestType, uint8_t bRequest,
    uint16_t wValue, uint8_t *data, size_t len, size_t *got, int *ms);

#endif
