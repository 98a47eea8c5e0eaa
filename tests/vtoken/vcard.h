/* SPDX-License-Identifier: MIT */
/*
 * vcard — the software PIV card behind the virtual token.  Public (vtoken.h
 * includes it): usable alone, APDU in, APDU out.
 *
 * A YubiKey-5-like PIV application (NIST SP 800-73-4 plus the YubiKey
 * extensions) with real cryptography from OpenSSL.  It takes whole command
 * APDUs (short or extended; command chaining with CLA bit 0x10) and gives
 * back whole responses, splitting long answers into 61xx + GET RESPONSE
 * chunks when the command was short (Le <= 256) exactly as a real card.
 *
 * A fresh card is a new YubiKey 5 in factory state: PIN 123456,
 * PUK 12345678, management key 010203040506070801020304050607080102030405060708
 * (3DES), PIN and PUK 3 tries, no keys, no objects.
 *
 * State persists in a file when a path is given (written after every
 * change, read at vcard_new).  Every APDU is appended to the file named by
 * VTOKEN_LOG as "> HEX" / "< HEX" lines, with PIN, PUK and management-key
 * bytes replaced by "**".
 */
#ifndef VTOKEN_VCARD_H
#define VTOKEN_VCARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct vcard vcard_t;

struct vcard_opts {
	const char *state_path;	/* NULL: in memory only */
	uint32_t serial;	/* 0: default 13371337 */
	uint8_t version[3];	/* {0,0,0}: default 5.7.1 */
	int no_extended;	/* 1: refuse extended APDUs (6700) */
};

int vcard_new(vcard_t **c, const struct vcard_opts *opts);
void vcard_free(vcard_t **c);

/* The ATR (YubiKey-like: 3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59
 * 75 62 69 4B 65 79 40).  Returns its length. */
size_t vcard_atr(const vcard_t *c, uint8_t *atr, size_t cap);
/* Power cycle / warm reset: deselects, forgets PIN and management-key
 * authentication and any pending chain or GET RESPONSE. */
void vcard_reset(vcard_t *c);
/* One command APDU in, one response APDU (data + SW1 SW2) out.  Returns 0,
 * or -1 if cap is too small for any response (cap >= 2 always works). */
int vcard_apdu(vcard_t *c, const uint8_t *cmd, size_t clen, uint8_t *rsp,
    size_t cap, size_t *rlen);
/* Simulated touch: 1 = the user touches whenever asked (default),
 * 0 = never (touch-policy operations fail with 6985 ... ). */
void vcard_set_touch(vcard_t *c, int touched);

#endif
