/* SPDX-License-Identifier: MIT */
/*
 * vt_util.h — the few helpers the virtual token needs, its own copy.
 *
 * tests/vtoken depends on nothing of the product under test (usbpiv's
 * util/, usb/, ccid/, piv/): an emulator sharing code with what it checks
 * could not catch that code's bugs, and a stranger can take this directory
 * alone.  Every name is prefixed vt_ / VT_ so a program may link
 * libvtoken.a beside a library with helpers of its own.
 */
#ifndef VTOKEN_VT_UTIL_H
#define VTOKEN_VT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define VT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- bounded reading of a byte string ----------------------------------
 * Each call takes from the front; past the end it fails (-1), sets err and
 * takes nothing, so a run of reads can be checked once at the end. */
typedef struct vt_rbuf {
	const uint8_t *p;
	size_t left;
	int err;
} vt_rbuf_t;

void vt_rbuf_init(vt_rbuf_t *b, const uint8_t *p, size_t len);
int vt_rbuf_u8(vt_rbuf_t *b, uint8_t *v);
int vt_rbuf_be16(vt_rbuf_t *b, uint16_t *v);
/* A pointer to the next n bytes (inside the original buffer). */
int vt_rbuf_ptr(vt_rbuf_t *b, size_t n, const uint8_t **out);

/* ---- time ---------------------------------------------------------------
 * Calls that may block take `int *ms`, the milliseconds left. */
uint64_t vt_now_ms(void);			/* CLOCK_MONOTONIC */
void vt_charge(int *ms, uint64_t since_ms);	/* *ms -= now - since, >= 0 */
void vt_sleep_ms(int ms);

/* ---- secrets ------------------------------------------------------------ */
void vt_wipe(void *p, size_t n);		/* not optimised away */
void vt_freezero(void *p, size_t n);		/* wipe, free; NULL ok */

/* Hex (blanks and ':' skipped) into out; 0, or -1 (odd, not hex, > cap). */
int vt_unhex(const char *s, uint8_t *out, size_t cap, size_t *outlen);

/*
 * Does this command APDU carry a secret (for redacting the APDU log)?
 * VERIFY (20), CHANGE REFERENCE DATA (24), RESET RETRY COUNTER (2C),
 * GENERAL AUTHENTICATE (87) with the management key (9B), and the YubiKey
 * SET MANAGEMENT KEY (FF) and IMPORT KEY (FE).  Short and extended
 * encodings, chained parts included.
 */
int vt_apdu_is_secret(const uint8_t *apdu, size_t n);

#endif
