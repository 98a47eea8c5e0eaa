/* SPDX-License-Identifier: MIT */
/*
 * ccid/ — CCID 1.1 (USB Chip/Smart Card Interface Devices) from the host
 * side: PC_to_RDR messages out, RDR_to_PC messages in, slots, ATR, and the
 * exchange of one APDU at whatever level the reader works (short or
 * extended APDU level; TPDU level with a complete T=1; character level is
 * refused).
 *
 * The reader is reached through a small I/O table, so that the same code
 * runs over real USB (ccid_reader_open_usb) or a test double
 * (ccid_reader_new with your own table).  Every byte the reader sends is
 * hostile: frames are parsed by pure functions (ccid_msg_parse,
 * ccid_atr_parse, the T=1 block parser) that check each length against
 * the bytes received, and every loop the reader could drive (time
 * extensions, T=1 retries and chains, wLevelParameter chains) is bounded
 * by a count and by the caller's time budget.
 *
 * Errors are 0 or a negative CCID_ERR_*; ccid_strerror() names them.
 */
#ifndef USBPIV_CCID_H
#define USBPIV_CCID_H

#include <stddef.h>
#include <stdint.h>

#include "../usb/usb.h"

enum ccid_err {
	CCID_OK = 0,
	CCID_ERR_ARG = -1,
	CCID_ERR_NOMEM = -2,
	CCID_ERR_IO = -3,		/* transport failure */
	CCID_ERR_TIMEOUT = -4,		/* budget spent (incl. time extensions) */
	CCID_ERR_REMOVED = -5,		/* reader unplugged */
	CCID_ERR_BUSY = -6,		/* reader used by another program */
	CCID_ERR_ACCESS = -7,		/* permission denied */
	CCID_ERR_NO_CARD = -8,		/* no ICC present in the slot */
	CCID_ERR_CARD_INACTIVE = -9,	/* ICC present, not powered */
	CCID_ERR_CARD_MUTE = -10,	/* ICC_MUTE: card did not answer */
	CCID_ERR_PROTO = -11,		/* malformed or unexpected frame */
	CCID_ERR_HW = -12,		/* HW_ERROR / XFR_PARITY_ERROR ... */
	CCID_ERR_UNSUPPORTED = -13,	/* e.g. character-level reader */
	CCID_ERR_SLOT_BUSY = -14,	/* CMD_SLOT_BUSY */
	CCID_ERR_ABORTED = -15,		/* CMD_ABORTED */
	CCID_ERR_T1 = -16,		/* T=1 failed after resynchronisation */
	CCID_ERR_BUFFER = -17,		/* response larger than the caller's buffer */
	CCID_ERR_CARD_CHANGED = -18,	/* card removed/inserted since power on */
	CCID_ERR_LOCKED = -19,		/* exclusive lock not obtained in time */
	/* the remaining bError values by name */
	CCID_ERR_BAD_ATR = -20,		/* BAD_ATR_TS / BAD_ATR_TCK, bad ATR */
	CCID_ERR_ICC_PROTOCOL = -21,	/* ICC_PROTOCOL_NOT_SUPPORTED */
	CCID_ERR_ICC_CLASS = -22,	/* ICC_CLASS_NOT_SUPPORTED */
	CCID_ERR_PROCEDURE_BYTE = -23,	/* PROCEDURE_BYTE_CONFLICT */
	CCID_ERR_DEACTIVATED = -24,	/* DEACTIVATED_PROTOCOL */
	CCID_ERR_AUTO_SEQUENCE = -25,	/* BUSY_WITH_AUTO_SEQUENCE */
	CCID_ERR_PIN_TIMEOUT = -26,	/* PIN_TIMEOUT */
	CCID_ERR_PIN_CANCELLED = -27,	/* PIN_CANCELLED */
	CCID_ERR_CMD_UNSUPPORTED = -28,	/* bError 0: command not supported */
	CCID_ERR_BAD_PARAM = -29,	/* bError 1..127: offset of a bad field */
};

const char *ccid_strerror(int err);

/* ---- I/O table ----------------------------------------------------------
 * Each returns 0 or a negative CCID_ERR_*, and charges *ms.
 */
typedef struct ccid_io {
	int (*write)(void *h, const uint8_t *buf, size_t len, int *ms);
	int (*read)(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms);
	/* Interrupt-IN; NULL when the reader has none.  CCID_ERR_TIMEOUT when
	 * nothing arrived within *ms. */
	int (*read_intr)(void *h, uint8_t *buf, size_t cap, size_t *got,
	    int *ms);
	/* Class request to the interface (ABORT = 0x01, GET_CLOCK... ); may be
	 * NULL. */
	int (*control)(void *h, uint8_t bmRequestType, uint8_t bRequest,
	    uint16_t wValue, uint8_t *data, size_t len, size_t *got, int *ms);
	/* Transaction bracket (lock + claim) and generation; may be NULL. */
	int (*begin)(void *h, int *ms);
	int (*end)(void *h);
	uint64_t (*generation)(void *h);
	/* Events shared with the other processes using the reader (kinds
	 * USB_SHARED_*, see usb.h): record one (inside a transaction), and
	 * the signature of everybody's; both may be NULL (nothing shared). */
	int (*note)(void *h, int kind);
	uint64_t (*events)(void *h, int kind);
	/* Frees io_h when the reader is freed; may be NULL (the caller
	 * owns it).  The ICCD transport sets it. */
	void (*close)(void *h);
} ccid_io_t;

/* ---- message codes (CCID 1.1 §6) ---------------------------------------- */
#define CCID_PC_ICC_POWER_ON		0x62
#define CCID_PC_ICC_POWER_OFF		0x63
#define CCID_PC_GET_SLOT_STATUS		0x65
#define CCID_PC_XFR_BLOCK		0x6F
#define CCID_PC_GET_PARAMETERS		0x6C
#define CCID_PC_RESET_PARAMETERS	0x6D
#define CCID_PC_SET_PARAMETERS		0x61
#define CCID_PC_ESCAPE			0x6B
#define CCID_PC_ICC_CLOCK		0x6E
#define CCID_PC_T0_APDU			0x6A
#define CCID_PC_SECURE			0x69
#define CCID_PC_MECHANICAL		0x71
#define CCID_PC_ABORT			0x72
#define CCID_PC_SET_RATE_CLOCK		0x73
#define CCID_RDR_DATA_BLOCK		0x80
#define CCID_RDR_SLOT_STATUS		0x81
#define CCID_RDR_PARAMETERS		0x82
#define CCID_RDR_ESCAPE			0x83
#define CCID_RDR_RATE_CLOCK		0x84
#define CCID_RDR_NOTIFY_SLOT_CHANGE	0x50
#define CCID_RDR_HARDWARE_ERROR		0x51
#define CCID_HDR_LEN			10

/* ---- pure parsers -------------------------------------------------------- */

/* One RDR_to_PC bulk-in message.  `data` points into the caller's buffer. */
struct ccid_msg {
	uint8_t type;
	uint32_t dwLength;
	uint8_t bSlot;
	uint8_t bSeq;
	uint8_t bStatus;
	uint8_t bError;
	uint8_t bSpecific;	/* bChainParameter / bClockStatus / bProtocolNum */
	const uint8_t *data;
	size_t data_len;
};
/* Rejects a frame shorter than 10 bytes, or whose dwLength disagrees with
 * the bytes received (longer or shorter), or whose dwLength exceeds
 * max_len. */
int ccid_msg_parse(const uint8_t *buf, size_t len, size_t max_len,
    struct ccid_msg *out);

/* Answer To Reset, ISO/IEC 7816-3 §8. */
struct ccid_atr {
	uint8_t raw[33];
	size_t len;
	uint8_t ts;
	uint8_t t0;
	uint32_t protocols;	/* bit n set: T=n offered */
	int first_protocol;	/* T of TD1, 0 if absent */
	int has_ta1;
	uint8_t ta1;		/* Fi/Di */
	int has_tc1;
	uint8_t tc1;		/* extra guard time */
	int has_ta2;
	uint8_t ta2;		/* specific mode */
	uint8_t ifsc;		/* first TA for T=1, default 32 */
	uint8_t bwi, cwi;	/* first TB for T=1, defaults 4, 13 */
	int edc_crc;		/* first TC for T=1, bit 0 */
	uint8_t hist[15];
	size_t hist_len;
	int has_tc2;
	uint8_t tc2;		/* T=0 work waiting integer WI */
	int has_tck;
	int tck_ok;
	/* What was wrong and kept (CCID_ATR_FIX_*): real cards send these,
	 * and the card is usable with the value clamped. */
	unsigned fixes;
};
#define CCID_ATR_FIX_TCK	0x01	/* wrong TCK, ignored */
#define CCID_ATR_FIX_IFSC	0x02	/* IFSC 00 (now 32) or FF (now 254) */
#define CCID_ATR_FIX_TRAILING	0x04	/* bytes after the ATR, dropped */
#define CCID_ATR_FIX_TC2	0x08	/* TC2 00 (RFU), WI 10 kept */
/*
 * Refuses (CCID_ERR_BAD_ATR, struct zeroed) what cannot be used safely: a
 * bad TS, a truncated ATR, more than 33 bytes, a TD chain too long.
 * Accepts and records in `fixes` what real cards send and libccid keeps:
 * a wrong TCK, IFSC 00 or FF, trailing bytes (len and raw then hold the
 * ATR's own length), TC2 00.
 */
int ccid_atr_parse(const uint8_t *atr, size_t len, struct ccid_atr *out);

/* ---- reader ------------------------------------------------------------- */

typedef struct ccid_reader ccid_reader_t;

/* A reader over a test double (or anything else). `desc` is copied. */
int ccid_reader_new(ccid_reader_t **r, const ccid_io_t *io, void *io_h,
    const struct usb_ccid_desc *desc);
/* A reader over a usb/ device; the reader does not own dev. */
int ccid_reader_open_usb(ccid_reader_t **r, usb_dev_t *dev);
void ccid_reader_free(ccid_reader_t **r);

size_t ccid_slot_count(const ccid_reader_t *r);	/* bMaxSlotIndex + 1 */
const struct usb_ccid_desc *ccid_reader_desc(const ccid_reader_t *r);

/* Transaction bracket: forwards to the I/O table (lock + claim). */
int ccid_begin(ccid_reader_t *r, int *ms);
int ccid_end(ccid_reader_t *r);
/* Bumped on power cycles, card changes, and when another process used the
 * reader in between (from the I/O table). */
uint64_t ccid_generation(ccid_reader_t *r, size_t slot);

enum ccid_slot_state {
	CCID_SLOT_ABSENT = 2,
	CCID_SLOT_INACTIVE = 1,
	CCID_SLOT_ACTIVE = 0,
};
/* At first contact (no answer about the slot yet) a failed GetSlotStatus
 * is retried after an Abort, CCID_STATUS_TRIES times in all. */
int ccid_slot_status(ccid_reader_t *r, size_t slot, int *state, int *ms);

/* Powers on (voltage per bVoltageSupport: automatic, else 5, 3, 1.8 V),
 * negotiates per dwFeatures, fills the ATR.  atr may be NULL.  A power-on
 * resets the card, which every other process sharing the reader then
 * learns (its next transmit on the slot says CCID_ERR_CARD_CHANGED). */
int ccid_power_on(ccid_reader_t *r, size_t slot, struct ccid_atr *atr,
    int *ms);
/*
 * Joins the card where another process (or an earlier run) powered it:
 * one GetSlotStatus; an active card is used as it is, with no reset (its
 * login and selected application stay), the protocol taken from
 * GetParameters at TPDU level; an inactive one is powered on.  *joined
 * (may be NULL) says which.  CCID_ERR_NO_CARD when the slot is empty.
 */
int ccid_connect(ccid_reader_t *r, size_t slot, int *joined, int *ms);
int ccid_power_off(ccid_reader_t *r, size_t slot, int *ms);

/*
 * Sends one command APDU, returns the response APDU (data + SW1 SW2).
 * Short or extended APDUs; on TPDU readers an extended APDU travels as a
 * T=1 chain.  Does not handle 61xx / 6Cxx (that is the card layer's job).
 * Joins the card (or powers it up) first if needed.  secret: the caller
 * says the command carries a PIN, PUK or key; the trace (USBPIV_DEBUG)
 * then shows lengths only, of the APDU, its frames or blocks and answer.
 */
int ccid_transmit(ccid_reader_t *r, size_t slot, const uint8_t *capdu,
    size_t clen, int secret, uint8_t *rapdu, size_t cap, size_t *rlen,
    int *ms);
/* Does this reader carry extended APDUs (extended APDU level, or TPDU)? */
int ccid_extended_ok(const ccid_reader_t *r);
/* The same for the card in a slot now: at TPDU level a card running T=0
 * (a T=0-only card, or one left in T=0) does not. */
int ccid_slot_extended_ok(const ccid_reader_t *r, size_t slot);

/* The Abort sequence: class request ABORT, then PC_to_RDR_Abort. */
int ccid_abort(ccid_reader_t *r, size_t slot, int *ms);
int ccid_escape(ccid_reader_t *r, size_t slot, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap, size_t *outlen, int *ms);

/* Whether the last ccid_transmit delivered (a part of) its command to the
 * reader: when it failed, 1 means the card may have run it (the answer
 * was lost), 0 that it was not sent. */
int ccid_sent(const ccid_reader_t *r);

/* bStatus and bError of the last RDR_to_PC message (for diagnostics);
 * both 0 before any. */
void ccid_last_status(const ccid_reader_t *r, uint8_t *bStatus,
    uint8_t *bError);

/*
 * What the reader last said of the slot, with no traffic: the ICC status
 * of its latest answer about that slot (every RDR_to_PC message carries
 * it) and how many ms ago that was.  CCID_ERR_ARG before any answer.
 */
int ccid_slot_cached(const ccid_reader_t *r, size_t slot, int *state,
    uint64_t *age_ms);

/* Events the processes sharing the reader tell each other (see usb.h). */
int ccid_note(ccid_reader_t *r, int kind);		/* in a transaction */
uint64_t ccid_events(ccid_reader_t *r, int kind);

/* Waits up to *ms for RDR_to_PC_NotifySlotChange on the interrupt pipe.
 * Sets *changed to a bitmask of slots whose presence changed.  Returns
 * CCID_ERR_TIMEOUT when none arrived. */
int ccid_wait_slot_change(ccid_reader_t *r, uint32_t *changed, int *ms);

#endif
