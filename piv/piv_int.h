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
};

/* Records a PIN event for every process sharing the card (in a
 * transaction; failures to record are traced, not returned). */
void piv_note_pin(piv_card_t *p);

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
/* Writes a TLV header (tag up to 3 bytes); returns bytes or 0. */
size_t piv_tlv_put_hdr(uint8_t *out, size_t cap, uint32_t tag, size_t len);

#endif
