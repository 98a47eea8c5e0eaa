/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_int.h — internals shared by the piv/ files (not installed).
 */
#ifndef USBPIV_PIV_INT_H
#define USBPIV_PIV_INT_H

#include "piv.h"

#define PIV_RX_MAX	(65536 + 2)	/* one extended response + SW */
#define PIV_SHORT_LE	256
#define PIV_MAX_GETRESP	300		/* 300 * 256 > the largest answer */
#define PIV_MAX_OBJ	65536		/* ceiling for one data object */
#define PIV_APT_MAX	256

struct piv_card {
	piv_io_t io;
	void *io_h;
	void (*io_free)(void *h);	/* frees io_h when set (bindings) */
	int depth;			/* transaction nesting */
	int selected;
	uint64_t gen;			/* io generation at the last SELECT */
	uint64_t napdu;
	int no_ext;			/* the card refused an extended APDU */
	uint8_t lost_ins;		/* see piv_lost_ins() */
	uint8_t *rx;			/* PIV_RX_MAX bytes */
	uint8_t apt[PIV_APT_MAX];
	size_t apt_len;
	/* cached per generation */
	int has_ver;
	uint8_t ver[3];
	int has_serial;
	uint32_t serial;
	uint64_t cache_gen;
	/* the cause of the last failure (piv_last_cause): the transport's
	 * word, else the card's last status word */
	const char *io_cause;		/* a static string, or NULL */
	uint16_t last_sw;		/* 0: no answer yet */
	char cause[48];
};

/* Error mappings, one for each lower layer, by name (never by the
 * enums' order): what a transport's failure means to piv (its own
 * PIV_ERR_* when it is one a transport may give, else
 * PIV_ERR_TRANSPORT); ccid/ and usb/ errors as piv_ccid.c's transport
 * and piv_reader.c's open and probe see them. */
int piv_err_from_io(int r);
int piv_err_from_ccid_io(int e);
int piv_err_from_ccid_open(int e);
int piv_err_from_usb(int e);
/* Records the transport's word on its failure (a static string). */
void piv_set_io_cause(piv_card_t *p, const char *why);

/* Records a PIN event for every process sharing the card (in a
 * transaction; failures to record are traced, not returned). */
void piv_note_pin(piv_card_t *p);

/* Instruction bytes: SP 800-73-4 and ISO 7816-4 ... */
#define PIV_CLA			0x00
#define PIV_CLA_CHAIN		0x10	/* command chaining: more follows */
#define PIV_INS_VERIFY		0x20
#define PIV_INS_CHANGE_REFERENCE 0x24
#define PIV_INS_RESET_RETRY	0x2c	/* RESET RETRY COUNTER (unblock) */
#define PIV_INS_GENERATE	0x47	/* GENERATE ASYMMETRIC KEY PAIR */
#define PIV_INS_GENERAL_AUTH	0x87	/* GENERAL AUTHENTICATE */
#define PIV_INS_SELECT		0xa4
#define PIV_INS_GET_RESPONSE	0xc0
#define PIV_INS_GET_DATA	0xcb
#define PIV_INS_PUT_DATA	0xdb
/* ... and the YubiKey PIV extensions. */
#define PIV_INS_YK_MOVE_KEY	0xf6	/* P1 FF: delete the key in P2 */
#define PIV_INS_YK_METADATA	0xf7
#define PIV_INS_YK_GET_SERIAL	0xf8
#define PIV_INS_YK_ATTEST	0xf9
#define PIV_INS_YK_SET_RETRIES	0xfa
#define PIV_INS_YK_RESET	0xfb
#define PIV_INS_YK_GET_VERSION	0xfd
#define PIV_INS_YK_IMPORT_KEY	0xfe
#define PIV_INS_YK_SET_MGMKEY	0xff

/* A command APDU before encoding. */
struct piv_cmd {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t len;
	int secret;		/* redact the response in the trace too */
};

/*
 * Sends cmd (chained or extended as the transport allows), collects the
 * whole answer (61xx GET RESPONSE, 6Cxx) into out/cap.  Returns 0 with
 * *sw set (any status word), or a negative PIV_ERR_* for transport
 * failures and answers larger than cap.  *outlen is 0 on error.
 * cap 0 means "no response data expected" (no Le field).
 */
int piv_transceive(piv_card_t *p, const struct piv_cmd *cmd, uint8_t *out,
    size_t cap, size_t *outlen, uint16_t *sw, int *ms);
/* Status word -> PIV_ERR_*; 0 for 9000. */
int piv_sw_err(uint16_t sw);
/* transceive + sw mapping. */
int piv_xfer(piv_card_t *p, const struct piv_cmd *cmd, uint8_t *out,
    size_t cap, size_t *outlen, int *ms);

/* One public operation of one command: piv_enter, piv_xfer, piv_leave. */
int piv_call(piv_card_t *p, const struct piv_cmd *c, uint8_t *out,
    size_t cap, size_t *outlen, int *ms);

/* Enter / leave a public operation: transaction + SELECT when needed. */
int piv_enter(piv_card_t *p, int *ms);
void piv_leave(piv_card_t *p);
/* Drops the per-generation caches when the generation moved. */
void piv_cache_check(piv_card_t *p);

/* A command without data or answer (move/delete key, retries, reset). */
int piv_simple_cmd(piv_card_t *p, uint8_t ins, uint8_t p1, uint8_t p2,
    int *ms);

/* Public-key body (inside 7F49, or METADATA tag 04) -> EVP_PKEY. */
int piv_pubkey_from_body(uint8_t alg, const uint8_t *buf, size_t len,
    EVP_PKEY **pub);

#endif
