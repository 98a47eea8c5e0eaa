/* SPDX-License-Identifier: MIT */
/*
 * The emulated USB CCID reader (build/vtoken-reader), internal interfaces
 * (the public ones are in vtoken.h).
 *
 *   reader_profile.c  reader profiles -> USB descriptors and strings
 *   reader_ccid.c     the reader side of CCID 1.1 (slots, levels, chaining,
 *                     injected faults); pure, no GLib
 *   reader_t1.c       the CARD side of T=1 (for the TPDU-level profile)
 *   reader_iccd.c     ICCD versions A and B over the control pipe
 *   reader_card.c     card backends: the small deterministic test card,
 *                     and builtin / vpcd through backend.h
 *   reader_usbfs.c    the umockdev testbed and the usbfs ioctls
 *   reader_main.c     command line, control FIFO, main loop
 *
 * Tests only.  Everything a client process sends is treated as hostile
 * (bounded buffers, checked lengths), so a bug in the code under test
 * shows up as an error on its side, never as a crash of the emulator.
 */
#ifndef VTOKEN_READER_H
#define VTOKEN_READER_H

#include <stddef.h>
#include <stdint.h>

#include "vt_ccid.h"
#include "backend.h"

#define RD_MAX_SLOTS	2
#define RD_CFG_MAX	512
#define RD_APDU_MAX	(4 + 3 + 65535 + 3)	/* longest command APDU */
#define RD_RAPDU_MAX	(65536 + 2)		/* longest response APDU */
#define RD_MSG_MAX	(10 + RD_APDU_MAX + 64)	/* dwMaxCCIDMessageLength cap */

/* ---- profiles ------------------------------------------------------------ */

struct rd_profile {
	char name[64];
	uint16_t vid, pid, bcd_device;
	char manufacturer[128];
	char product[128];
	char serial[64];
	uint8_t iface_class;		/* 0x0B, or 0xFF for vendor CCID */
	uint8_t ccid_desc_type;		/* 0x21 (0: 0x21), or 0xFF as some
					 * vendor-class readers have */
	struct vt_ccid_desc ccid;
	uint8_t iface_protocol;		/* bInterfaceProtocol */
	int iccd;			/* VT_ICCD_A / _B: control pipe only
					 * (reader_iccd.c), no bulk pair */
	uint32_t desc_protocols;	/* pre-1.0 dwProtocols (0x0300) as
					 * the descriptor says; ccid's is
					 * read as the host reads it */
	uint32_t desc_maxmsg;		/* ICCD: the dwMaxCCIDMessageLength
					 * the descriptor says (abData only;
					 * ccid's counts the 10-byte header
					 * the CCID side adds) */
	int has_intr;
	int t1_card;			/* TPDU level: we are the T=1 card */
	uint8_t atr[33];		/* --atr: the card's ATR, verbatim */
	size_t atrlen;			/* 0: the card's own */
	uint8_t dev[18];		/* built by rd_profile_build */
	uint8_t cfg[RD_CFG_MAX];
	size_t cfglen;
	uint8_t ep_out, ep_in, ep_intr;
	uint16_t max_packet;
};

/* Fills p from a profile name or a dump file; builds the descriptors.
 * Returns 0, or -1 with a message in err. */
int rd_profile_load(const char *name, struct rd_profile *p, char *err,
    size_t errlen);
/* Writes the 54-byte CCID class descriptor. */
void rd_ccid_desc_write(const struct vt_ccid_desc *d, uint8_t out[54]);
/* Builds dev[] and cfg[] from the other fields. */
int rd_profile_build(struct rd_profile *p);
const char *rd_profile_names(void);

/* ---- cards --------------------------------------------------------------- */

/* The deterministic test card (tests/vtoken/README.md lists its commands). */
int rd_card_test(card_backend_t *b);
/* "test", "builtin" or "vpcd:PORT". */
int rd_card_open(const char *spec, const char *state_path, int slot,
    card_backend_t *b, char *err, size_t errlen);

/* ---- T=1, card side ------------------------------------------------------ */

struct rd_t1;
struct rd_t1 *rd_t1_new(uint8_t ifsc);
void rd_t1_free(struct rd_t1 **t);
void rd_t1_reset(struct rd_t1 *t);	/* power cycle: sequence numbers 0 */
/* S(WTX) requests the card sends before its next answer. */
void rd_t1_inject_wtx(struct rd_t1 *t, int n);
/* One block from the host in, one block to the host out (cap >= 258).
 * Runs complete APDUs on card b.  Returns 0, or -1 if the card is gone. */
int rd_t1_block(struct rd_t1 *t, card_backend_t *b, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap, size_t *outlen);
/* Rewrites an ATR so that its first TA for T=1 (IFSC) is `ifsc`, adding
 * T=1 interface bytes when absent; fixes TCK.  Returns the new length, 0
 * if the input is not a parsable ATR. */
size_t rd_atr_set_ifsc(const uint8_t *atr, size_t len, uint8_t ifsc,
    uint8_t *out, size_t cap);
/* The protocols an ATR offers (bit n: T=n; T=0 alone when it has no
 * TD1) and the first one (TD1's T, 0 without TD1): the emulator's own
 * reading, never the product's parser.  0, or -1 when the ATR is cut short
 * of what T0 and its TDi announce. */
int rd_atr_protocols(const uint8_t *atr, size_t len, uint32_t *protocols,
    int *first);

/* ---- the reader ---------------------------------------------------------- */

struct rd_dev;

/* Malformed-response kinds for rd_dev_inject("malform KIND"). */
enum rd_malform {
	RD_MAL_NONE = 0,
	RD_MAL_LENGTH_LONG,	/* dwLength larger than the bytes sent */
	RD_MAL_LENGTH_SHORT,	/* dwLength smaller than the bytes sent */
	RD_MAL_SEQ,
	RD_MAL_SLOT,
	RD_MAL_TRUNCATED,	/* fewer than 10 bytes */
	RD_MAL_TYPE,
};

/* Callbacks towards the USB side. */
struct rd_hooks {
	/* NotifySlotChange (or any interrupt-IN message) for every client. */
	void (*notify)(void *ctx, const uint8_t *msg, size_t len);
	/* The device is gone: fail everything with ENODEV. */
	void (*unplug)(void *ctx);
	/* It is back (new opens work; old handles stay dead). */
	void (*replug)(void *ctx);
	void *ctx;
};

/* Takes ownership of the cards (cards[i].ops may be NULL: empty slot). */
int rd_dev_new(struct rd_dev **d, const struct rd_profile *p,
    card_backend_t cards[RD_MAX_SLOTS], const struct rd_hooks *hooks);
void rd_dev_free(struct rd_dev **d);
const struct rd_profile *rd_dev_profile(const struct rd_dev *d);

typedef void (*rd_emit_fn)(void *ctx, const uint8_t *frame, size_t len);
/*
 * One complete PC_to_RDR message in (from one client); each RDR_to_PC
 * frame it causes goes to emit (time extensions first, then the answer).
 * Returns 0, or 1 when this message triggered an injected unplug (nothing
 * was answered).
 */
int rd_dev_command(struct rd_dev *d, const uint8_t *msg, size_t len,
    rd_emit_fn emit, void *ctx);
/* Class request ABORT (bSlot, bSeq from wValue). */
void rd_dev_class_abort(struct rd_dev *d, uint8_t slot, uint8_t seq);
/* Device reset from the host: every slot powered off, chains dropped. */
void rd_dev_reset(struct rd_dev *d);
/* The current slot presence bits for a NotifySlotChange (no change bits). */
size_t rd_dev_slot_state_msg(struct rd_dev *d, uint8_t *msg, size_t cap);
/*
 * One injection command ("remove [SLOT]", "insert [SLOT]", "unplug",
 * "replug", "unplug-at N", "wtx N [forever]", "wtx off", "swtx N", "malform KIND").
 * Returns 0, or -1 with a message in err.
 */
int rd_dev_inject(struct rd_dev *d, const char *line, char *err,
    size_t errlen);
int rd_dev_unplugged(const struct rd_dev *d);

/* ---- ICCD over the control pipe (reader_iccd.c) --------------------------- */

struct rd_iccd;
struct rd_iccd *rd_iccd_new(int version);
void rd_iccd_free(struct rd_iccd **x);
/* One class request to the interface; returns the IN data length (0 for
 * OUT), or -EPIPE (stall). */
int rd_iccd_control(struct rd_iccd *x, struct rd_dev *d, uint8_t rt,
    uint8_t req, uint16_t value, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t cap);

/* ---- the USB side (umockdev) -------------------------------------------- */

struct rd_usb;

/* Creates the testbed (and its root directory). */
int rd_usb_new(struct rd_usb **u, char *err, size_t errlen);
void rd_usb_free(struct rd_usb **u);
/* The hooks rd_dev_new needs to reach every client. */
void rd_usb_hooks(struct rd_usb *u, struct rd_hooks *h);
/* Attaches the usbfs handler and adds the device for d. */
int rd_usb_start(struct rd_usb *u, struct rd_dev *d, char *err,
    size_t errlen);
const char *rd_usb_root(const struct rd_usb *u);
/* "control=N bulk-out=N bulk-in=N interrupt=N discarded=N": the transfers
 * completed since the start (a discarded URB is not one). */
void rd_usb_counters(struct rd_usb *u, char *buf, size_t n);
/* The lock every rd_dev call runs under (ioctls come on umockdev's
 * thread, injections on the main thread). */
void rd_usb_lock(struct rd_usb *u);
void rd_usb_unlock(struct rd_usb *u);
/* Diagnostics on stderr when VTOKEN_READER_DEBUG is set. */
extern int rd_debug;

#endif
