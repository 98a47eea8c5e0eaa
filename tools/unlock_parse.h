/* SPDX-License-Identifier: MIT */
/*
 * tools/unlock_parse.h — the pure parsers behind `usbpiv unlock`: the
 * wrapped-key file `usbpiv enroll` writes and systemd-cryptenroll's
 * "systemd-pkcs11" LUKS2 token JSON (its pkcs11: URI and base64 key).
 *
 * Text in, struct out: no I/O, no card, no allocation.  Every input is
 * hostile and travels with its length (no NUL terminator needed; a NUL
 * byte inside is an error).  On any error every output is zeroed (slots
 * set to -1).  Functions return 0 or a negative UNLOCK_ERR_*.
 */
#ifndef USBPIV_UNLOCK_PARSE_H
#define USBPIV_UNLOCK_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define UNLOCK_WRAP_MAGIC	"usbpiv-wrapped-key 1"
#define UNLOCK_WRAP_SECRET	32	/* bytes of the wrapped secret */
#define UNLOCK_RSA_BLK_MAX	512	/* RSA-4096 */
#define UNLOCK_EPH_MAX		97	/* uncompressed P-384 point */
#define UNLOCK_FILE_MAX		65536	/* wrapped-key file or token JSON */
#define UNLOCK_URI_MAX		4096	/* pkcs11: URI in the token */
#define UNLOCK_JSON_DEPTH	16	/* nesting the JSON parser accepts */

enum {
	UNLOCK_OK = 0,
	UNLOCK_ERR_ARG = -1,		/* NULL pointer, bad call */
	UNLOCK_ERR_FORMAT = -2,		/* syntax, missing/extra field */
	UNLOCK_ERR_VERSION = -3,	/* not "usbpiv-wrapped-key 1" */
	UNLOCK_ERR_TOO_LONG = -4,	/* a length over its ceiling */
	UNLOCK_ERR_NOT_FOUND = -5,	/* key absent (json_string) */
	UNLOCK_ERR_TYPE = -6,		/* JSON value of the wrong type */
};

/* A parsed wrapped-key file (see tools/cmd_enroll.c for the format). */
struct unlock_wrapped {
	int slot;			/* PIV slot, e.g. 0x9d */
	int alg;			/* PIV_ALG_* (RSA, P-256, P-384, X25519) */
	uint32_t serial;		/* 0: the token did not tell */
	uint8_t fp[32];			/* SHA-256 of the SubjectPublicKeyInfo */
	int ecdh;			/* 1: ECDH method, 0: RSA-OAEP */
	uint8_t eph[UNLOCK_EPH_MAX];	/* ECDH: the ephemeral point / u */
	size_t ephlen;
	uint8_t nonce[12];		/* ECDH: AES-GCM nonce */
	uint8_t data[UNLOCK_RSA_BLK_MAX]; /* OAEP block, or ciphertext||tag */
	size_t datalen;
	size_t hdrlen;			/* bytes of the first five lines (AAD) */
};

/* The parts of a systemd-pkcs11 token unlock uses. */
struct unlock_systemd {
	uint8_t key[UNLOCK_RSA_BLK_MAX]; /* "pkcs11-key", base64-decoded */
	size_t keylen;
	int slot;			/* from "pkcs11-uri"; -1: none named */
};

/* The whole wrapped-key file, exactly as enroll writes it: the lines in
 * order, each ending in '\n', nothing after the data line. */
int unlock_parse_wrapped(const char *txt, size_t len, struct unlock_wrapped *w);
void unlock_wrapped_clear(struct unlock_wrapped *w);

/* A systemd-pkcs11 token JSON object: "type" must be "systemd-pkcs11",
 * "pkcs11-key" base64 of 1..512 bytes, "pkcs11-uri" optional. */
int unlock_parse_systemd(const char *js, size_t len, struct unlock_systemd *s);
void unlock_systemd_clear(struct unlock_systemd *s);

/* The string value of top-level member `key` of a JSON object (the whole
 * text is validated: RFC 8259 syntax, depth <= UNLOCK_JSON_DEPTH, no
 * duplicate `key`).  Escapes are decoded; \u0000 is refused.  val gets a
 * NUL-terminated copy of at most cap - 1 bytes; *vallen its length. */
int unlock_json_string(const char *js, size_t len, const char *key,
    char *val, size_t cap, size_t *vallen);

/* PIV slot named by a pkcs11: URI (RFC 7512): the one-byte id=%XX as our
 * module numbers CKA_ID (01..04 -> 9a 9c 9d 9e, 05..18 -> 82..95,
 * 19 -> f9), else the object= label.  *slot = -1 when the URI is valid
 * but names no slot (returns 0). */
int unlock_uri_slot(const char *uri, size_t len, int *slot);

/* Strict base64 (RFC 4648, padded, no whitespace); *outlen set. */
int unlock_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap,
    size_t *outlen);

#endif /* USBPIV_UNLOCK_PARSE_H */
