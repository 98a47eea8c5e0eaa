/* SPDX-License-Identifier: MIT */
/*
 * ccid/ccid_int.h — internals of the ccid layer shared between its files
 * and its unit tests and fuzz targets.  Not installed; not part of the
 * public contract (ccid.h).
 */
#ifndef USBPIV_CCID_INT_H
#define USBPIV_CCID_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ccid.h"

/* ---- limits ------------------------------------------------------------ */
/* Largest message we ever allocate for: 64 KiB extended APDU + header. */
#define CCID_MSG_CEILING	(65536 + CCID_HDR_LEN + 8)
/* Smallest dwMaxCCIDMessageLength the spec allows (short APDU + header). */
#define CCID_MSG_FLOOR		271
/* Smallest declared length chains are cut to (extended APDU level). */
#define CCID_MSG_MIN_CHAIN	32
/* Answers are taken up to this length even when the reader declares
 * less (header + 256 data + SW + a T=1 block's prologue and EDC). */
#define CCID_MSG_IN_FLOOR	(CCID_HDR_LEN + 258 + 8)
/* Time extensions accepted for one command before giving up, whatever the
 * budget says; the budget (*ms) is the other bound. */
#define CCID_MAX_TIME_EXT	512
/* Frames with a foreign bSeq/bSlot dropped while waiting for ours. */
#define CCID_MAX_STALE		16
/* Frames of a command we aborted that may still come (a reader that had
 * queued its time extensions before the abort): dropped, up to this
 * many per exchange, without counting as stale. */
#define CCID_MAX_DRAIN		2048
/* After a foreign frame, how long our answer may take to follow it unless
 * the reader sends a time extension for ours (libccid's per-read timeout
 * plays this part).  A reader that answers with a wrong bSeq or bSlot and
 * then nothing would otherwise hold the caller for its whole budget. */
#define CCID_STALE_MS		5000
/* Zero-length packets tolerated before the real answer, per exchange
 * (Gemalto IDBridge K30/K50, Dell SCRK 2.00 on USB 3 ports). */
#define CCID_MAX_ZLP		4
/* GetSlotStatus attempts at first contact; between two, Abort (a reader
 * left mid-command by a killed program). */
#define CCID_STATUS_TRIES	3
/* Data rates read with GET_DATA_RATES (the table's length bound). */
#define CCID_MAX_RATES		64
/* Budget given to the Abort sequence after a timeout ate the caller's. */
#define CCID_ABORT_MS		1000

/* bmICCStatus / bmCommandStatus (CCID 1.1 §6.2.6). */
#define CCID_ICC_MASK		0x03
#define CCID_CMD_MASK		0xc0
#define CCID_CMD_OK		0x00
#define CCID_CMD_FAILED		0x40
#define CCID_CMD_TIME_EXT	0x80

/* bError (CCID 1.1 Table 6.2-2). */
#define CCID_BERR_CMD_ABORTED		0xff
#define CCID_BERR_ICC_MUTE		0xfe
#define CCID_BERR_XFR_PARITY_ERROR	0xfd
#define CCID_BERR_XFR_OVERRUN		0xfc
#define CCID_BERR_HW_ERROR		0xfb
#define CCID_BERR_BAD_ATR_TS		0xf8
#define CCID_BERR_BAD_ATR_TCK		0xf7
#define CCID_BERR_ICC_PROTOCOL_NOT_SUPPORTED 0xf6
#define CCID_BERR_ICC_CLASS_NOT_SUPPORTED 0xf5
#define CCID_BERR_PROCEDURE_BYTE_CONFLICT 0xf4
#define CCID_BERR_DEACTIVATED_PROTOCOL	0xf3
#define CCID_BERR_BUSY_WITH_AUTO_SEQUENCE 0xf2
#define CCID_BERR_PIN_TIMEOUT		0xf0
#define CCID_BERR_PIN_CANCELLED		0xef
#define CCID_BERR_CMD_SLOT_BUSY		0xe0
#define CCID_BERR_CMD_NOT_SUPPORTED	0x00

/* wLevelParameter / bChainParameter (CCID 1.1 §6.1.4, §6.2.1). */
#define CCID_CHAIN_BEGIN_END	0x00
#define CCID_CHAIN_BEGIN	0x01
#define CCID_CHAIN_END		0x02
#define CCID_CHAIN_CONTINUE	0x03
#define CCID_CHAIN_EMPTY	0x10

/* Class requests (CCID 1.1 §5.3). */
#define CCID_REQ_TYPE_IFACE_OUT	0x21
#define CCID_REQ_TYPE_IFACE_IN	0xa1
#define CCID_REQ_ABORT		0x01
#define CCID_REQ_GET_DATA_RATES	0x03

/* ---- frame building (ccid_msg.c) --------------------------------------- */
/* Writes the 10-byte header and the data into out (cap bytes); sets *len. */
int ccid_msg_build(uint8_t type, uint8_t slot, uint8_t seq, uint8_t p1,
    uint8_t p2, uint8_t p3, const uint8_t *data, size_t dlen, uint8_t *out,
    size_t cap, size_t *len);
/* Which RDR_to_PC message answers this PC_to_RDR message (0 if none). */
uint8_t ccid_msg_reply_type(uint8_t pc_type);
/* Maps a failed command's bStatus/bError to a CCID_ERR_*. */
int ccid_msg_error(uint8_t bStatus, uint8_t bError);
/* A name for a bError value ("ICC_MUTE", ..., "offset"). */
const char *ccid_berror_name(uint8_t bError);

/* SetParameters abProtocolDataStructure (CCID 1.1 §6.1.7). */
struct ccid_params {
	uint8_t protocol;	/* 0 or 1 */
	uint8_t fidi;		/* bmFindexDindex */
	uint8_t tcck;		/* bmTCCKST0 / bmTCCKST1 */
	uint8_t guard;		/* bGuardTimeT0 / T1 */
	uint8_t wi;		/* bWaitingIntegerT0 / bmWaitingIntegersT1 */
	uint8_t clock_stop;
	uint8_t ifsc;		/* T=1 only */
	uint8_t nad;		/* T=1 only */
};
/* Encodes the structure (5 bytes for T=0, 7 for T=1). */
int ccid_params_encode(const struct ccid_params *p, uint8_t *out, size_t cap,
    size_t *len);
/* Decodes a GetParameters answer: bProtocolNum and the structure, whose
 * length must be exactly 5 (T=0) or 7 (T=1). */
int ccid_params_decode(uint8_t protocol, const uint8_t *buf, size_t len,
    struct ccid_params *p);
/* Derives the parameters from an ATR for protocol T (0 or 1); fidi given
 * separately (the negotiated one). */
void ccid_params_from_atr(const struct ccid_atr *atr, int t, uint8_t fidi,
    struct ccid_params *p);

/* NotifySlotChange: bits of slots whose state changed, and present now. */
int ccid_notify_parse(const uint8_t *buf, size_t len, size_t nslots,
    uint32_t *changed, uint32_t *present);

/* usb_err -> ccid_err (ccid_usb.c). */
int ccid_usb_err(int usb_err);

/* ---- ICCD (ccid_iccd.c) ------------------------------------------------ */
/* Class requests of USB ICCD rev 1.0 (bmRequestType 0x21 out, 0xA1 in). */
#define CCID_ICCD_REQ_POWER_ON		0x62
#define CCID_ICCD_REQ_POWER_OFF		0x63
#define CCID_ICCD_REQ_XFR_BLOCK		0x65
#define CCID_ICCD_REQ_DATA_BLOCK	0x6F
#define CCID_ICCD_REQ_SLOT_STATUS	0x81	/* version B */
#define CCID_ICCD_REQ_GET_ICC_STATUS	0xA0	/* version A */
/* Version A GET_ICC_STATUS byte. */
#define CCID_ICCD_A_MUTE	0x80	/* no card, or it does not answer */
#define CCID_ICCD_A_BUSY	0x40
#define CCID_ICCD_A_SW		0x20	/* SW1 SW2 ready in a DATA_BLOCK */
#define CCID_ICCD_A_DATA	0x10	/* ready for data, out or in */
enum {
	CCID_ICCD_A_ST_IDLE, CCID_ICCD_A_ST_DATA, CCID_ICCD_A_ST_SW,
	CCID_ICCD_A_ST_BUSY, CCID_ICCD_A_ST_ABSENT
};
/* Version B bResponseType besides the chain values 00 01 02 03 10. */
#define CCID_ICCD_B_STATUS_INFO	0x40	/* bStatus bError follow */
#define CCID_ICCD_B_POLLING	0x80	/* wDelay (x 10 ms) follows */
/* Bounds: busy / polling answers per request (the budget is the other
 * bound), one polling delay, the abData taken in one DATA_BLOCK. */
#define CCID_ICCD_MAX_POLL	1024
#define CCID_ICCD_POLL_UNIT_MS	10
#define CCID_ICCD_MAX_DELAY_MS	1000
#define CCID_ICCD_MAX_DATA	4096
#define CCID_ICCD_ATR_MAX	33

/* Version A: the status byte -> CCID_ICCD_A_ST_*; exactly one byte. */
int ccid_iccd_a_status(const uint8_t *buf, size_t len, int *state);

enum { CCID_ICCD_B_DATA, CCID_ICCD_B_STATUS, CCID_ICCD_B_POLL };
struct ccid_iccd_b {
	int kind;		/* CCID_ICCD_B_* */
	uint8_t type;		/* bResponseType (the chain value for data) */
	uint8_t bStatus, bError;	/* status information */
	int delay_ms;		/* polling: 10..CCID_ICCD_MAX_DELAY_MS */
	const uint8_t *data;	/* into the caller's buffer */
	size_t data_len;
};
/* Version B: a DATA_BLOCK or SLOT_STATUS answer.  Refuses an empty one,
 * an unknown bResponseType, status / polling not exactly 3 bytes, data
 * longer than max_data, an "empty" part with bytes. */
int ccid_iccd_b_parse(const uint8_t *buf, size_t len, size_t max_data,
    struct ccid_iccd_b *out);

/* The descriptor the reader layer is given for an ICCD device: one slot,
 * automatic parameters, TPDU T=0 (A) or APDU level (B), and a message
 * length that counts the 10-byte header ICCD does not send. */
int ccid_iccd_present(int version, const struct usb_ccid_desc *declared,
    struct usb_ccid_desc *out);
/*
 * An I/O table (io, *h) that runs PC_to_RDR messages as ICCD requests on
 * low's control pipe (low->control required; begin/end, events and the
 * interrupt pipe are passed through).  *presented: the descriptor to give
 * ccid_reader_new.  io->close frees *h (ccid_reader_free calls it).
 */
int ccid_iccd_io(const ccid_io_t *low, void *low_h, int version,
    const struct usb_ccid_desc *declared, ccid_io_t *io, void **h,
    struct usb_ccid_desc *presented);
/* Tests and fuzz targets: waits go through sleep instead (NULL: real). */
void ccid_iccd_set_sleep(void *h, void (*sleep)(int ms));

/* ---- T=1 (ccid_t1.c) --------------------------------------------------- */
#define CCID_T1_MAX_INF		254
#define CCID_T1_MAX_BLOCK	(3 + CCID_T1_MAX_INF + 2)
#define CCID_T1_MAX_ERRORS	3	/* bad blocks before RESYNCH */
#define CCID_T1_MAX_RESYNCH	3
#define CCID_T1_MAX_WTX		256	/* WTX requests in one exchange */

/* PCB (ISO/IEC 7816-3 §11.3.2). */
#define T1_I_NS			0x40
#define T1_I_MORE		0x20
#define T1_R			0x80
#define T1_R_NR			0x10
#define T1_S			0xc0
#define T1_S_RESP		0x20
#define T1_S_RESYNCH		0x00
#define T1_S_IFS		0x01
#define T1_S_ABORT		0x02
#define T1_S_WTX		0x03

enum t1_kind { T1_BLK_I, T1_BLK_R, T1_BLK_S };

struct t1_block {
	uint8_t nad;
	uint8_t pcb;
	const uint8_t *inf;
	size_t len;
};

/* Block encode/decode (pure).  Decode checks LEN against the bytes and the
 * EDC; returns CCID_ERR_PROTO (bad length, bad PCB) or CCID_ERR_T1 (EDC). */
int ccid_t1_encode(uint8_t nad, uint8_t pcb, const uint8_t *inf, size_t len,
    int crc, uint8_t *out, size_t cap, size_t *outlen);
int ccid_t1_decode(const uint8_t *buf, size_t len, int crc,
    struct t1_block *b);
uint8_t ccid_t1_lrc(const uint8_t *p, size_t n);
uint16_t ccid_t1_crc(const uint8_t *p, size_t n);

/*
 * Sends one block to the card and receives its answer.  bwi is the WTX
 * multiplier for this block (0 = none).  Return 0, CCID_ERR_CARD_MUTE when
 * no block came in time (the engine treats that as a lost block), or
 * another error, which ends the exchange.
 */
typedef int (*ccid_t1_xfer_fn)(void *ctx, const uint8_t *blk, size_t len,
    uint8_t bwi, uint8_t *resp, size_t cap, size_t *got, int *ms);

struct ccid_t1 {
	uint8_t ns;		/* our next N(S) */
	uint8_t nr;		/* card's next expected N(S) */
	uint8_t ifsc;		/* card's max INF */
	uint8_t ifsc_atr;	/* from the ATR (restored on RESYNCH) */
	uint8_t ifsd;		/* ours */
	int crc;
	int redact;		/* trace INF fields redacted */
	int desync;		/* state unknown: RESYNCH before next use */
	ccid_t1_xfer_fn xfer;
	void *ctx;
};

void ccid_t1_init(struct ccid_t1 *t, uint8_t ifsc, int crc,
    ccid_t1_xfer_fn xfer, void *ctx);
/* S(IFS request) with our IFSD; 0 on the card's S(IFS response). */
int ccid_t1_set_ifsd(struct ccid_t1 *t, uint8_t ifsd, int *ms);
/* S(RESYNCH request); 0 when the card answered. */
int ccid_t1_resynch(struct ccid_t1 *t, int *ms);
/* One APDU: I-block chain out, I-block chain back.  Sends S(RESYNCH)
 * first when a previous exchange left the state unknown. */
int ccid_t1_transceive(struct ccid_t1 *t, const uint8_t *capdu, size_t clen,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms);

#endif
