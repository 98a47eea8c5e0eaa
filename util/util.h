/* SPDX-License-Identifier: MIT */
/*
 * util/ — the bottom of usbpiv: fail-closed read and write cursors, the one time
 * budget that travels down every layer, secret wiping, hex and the debug
 * trace.  Everything above may include this header; it includes nothing
 * of ours.
 */
#ifndef USBPIV_UTIL_H
#define USBPIV_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* ---- read cursor --------------------------------------------------------
 * A cursor over bytes that came from outside.  Every read checks the bytes
 * remaining first; the first failure poisons the cursor (left = 0, err = 1)
 * so that a chain of reads checked once at the end cannot read past a
 * short buffer.  Functions return 0 or -1.
 */
typedef struct rbuf {
	const uint8_t *p;
	size_t left;
	int err;
} rbuf_t;

void rbuf_init(rbuf_t *b, const uint8_t *p, size_t len);
int rbuf_u8(rbuf_t *b, uint8_t *v);
int rbuf_le16(rbuf_t *b, uint16_t *v);
int rbuf_le32(rbuf_t *b, uint32_t *v);
int rbuf_be16(rbuf_t *b, uint16_t *v);
int rbuf_be32(rbuf_t *b, uint32_t *v);
int rbuf_copy(rbuf_t *b, void *dst, size_t n);
/* Hands out a pointer to the next n bytes (inside the original buffer). */
int rbuf_ptr(rbuf_t *b, size_t n, const uint8_t **out);
int rbuf_skip(rbuf_t *b, size_t n);

/* ---- write cursor -------------------------------------------------------
 * The mirror of rbuf for what we send: every write checks the room left
 * first; the first failure poisons the cursor (err = 1, len = 0, nothing
 * more is written) so that a chain of writes is checked once at the end
 * (wbuf_check).  Functions return 0 or -1.
 */
typedef struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;	/* bytes written */
	int err;
} wbuf_t;

void wbuf_init(wbuf_t *b, uint8_t *p, size_t cap);
int wbuf_put_u8(wbuf_t *b, uint8_t v);
int wbuf_put_be16(wbuf_t *b, uint16_t v);
int wbuf_put_bytes(wbuf_t *b, const void *src, size_t n);
/* A BER tag as it is written (1 to 3 bytes: 5C, 7F49, 5FC105). */
int wbuf_put_tag(wbuf_t *b, uint32_t tag);
/* A BER definite length: 1 byte below 128, else 81 xx, 82 xxxx,
 * 83 xxxxxx; longer is refused. */
int wbuf_put_len(wbuf_t *b, size_t len);
/* Tag, length and len bytes of v (v may be NULL when len is 0). */
int wbuf_put_tlv(wbuf_t *b, uint32_t tag, const void *v, size_t len);
/* Hands out the next n bytes, to be filled in place. */
int wbuf_reserve(wbuf_t *b, size_t n, uint8_t **out);
/* 0, or -1 when a write failed. */
int wbuf_check(const wbuf_t *b);
/* The bytes wbuf_put_len writes for len (1 to 4; 0: too long). */
size_t wbuf_len_size(size_t len);

/* ---- time budget -------------------------------------------------------
 * Every call that may block takes `int *ms`: the milliseconds left of the
 * caller's budget.  It is charged with the time spent; when it reaches 0
 * the call fails with its layer's timeout error.
 */
uint64_t util_now_ms(void);		/* CLOCK_MONOTONIC */
void util_charge(int *ms, uint64_t since_ms);	/* *ms -= now - since, floor 0 */
void util_sleep_ms(int ms);

/* ---- secrets ----------------------------------------------------------- */
void util_wipe(void *p, size_t n);		/* not optimised away */
void util_freezero(void *p, size_t n);		/* wipe then free; NULL ok */

/* ---- hex --------------------------------------------------------------- */
/* Parses hex (whitespace and ':' ignored) into out; returns 0 or -1. */
int util_hexval(int c);
int util_unhex(const char *s, uint8_t *out, size_t cap, size_t *outlen);
/* Writes 2*n+1 bytes (NUL-terminated) into out, which must hold them. */
void util_hex(const uint8_t *p, size_t n, char *out);

/* ---- debug trace -------------------------------------------------------
 * USBPIV_DEBUG=1 traces APDUs and status words, =2 adds CCID frames and
 * USB transfers, =3 the PIV layer's own view of each command (before
 * chaining and GET RESPONSE).  Output: stderr, USBPIV_DEBUG_FILE, or the
 * application's handler (util_set_log_handler).
 * Data of commands that carry secrets is never printed: callers pass
 * redact = 1 and only the header and length are shown.
 */
int util_debug_level(void);
void util_trace(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Where the trace goes: each line (without "usbpiv: " and newline, at most
 * UTIL_LOG_LINE - 1 bytes, longer ones cut) to fn instead of stderr or
 * USBPIV_DEBUG_FILE; NULL restores those.  USBPIV_DEBUG still sets the
 * level.  Not thread-safe against a trace in progress: set it first.
 */
#define UTIL_LOG_LINE 512
typedef void util_log_fn(const char *line);
void util_set_log_handler(util_log_fn *fn);
void util_trace_hex(int level, const char *label, const uint8_t *p, size_t n,
    int redact);
/*
 * Memory for a secret kept a while (util_secmem.c): its own pages, locked
 * where RLIMIT_MEMLOCK allows, never in a core dump, wiped in a forked
 * child and on free.  n is at most 64 KiB; NULL on failure.  Free with
 * the same n.
 */
void *util_secmem_alloc(size_t n);
void util_secmem_free(void *p, size_t n);

#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- RSA padding (util_rsapad.c) -----------------------------------------
 * RFC 8017, the one copy the module, the CLI and its agent share.  md and mgf are
 * OpenSSL EVP_MDs.  The decoders are constant time in em (the raw RSA
 * output, a secret): they return 0 (message in out[0..*outlen)), -1 (bad
 * padding or arguments) or -2 (cap too small) without branching on it;
 * out[0..min(cap, k)) is written in every case.
 */
#define UTIL_RSA_MAX	512	/* bytes: RSA-4096 */
struct evp_md_st;
/* mask[0..len) ^= MGF1(seed). 0 or -1. */
int util_mgf1_xor(uint8_t *mask, size_t len, const uint8_t *seed,
    size_t seedlen, const struct evp_md_st *md);
/* EME-PKCS1-v1_5 (type 2) decoding of the k-byte block em. */
int util_rsa_unpad_pkcs1(const uint8_t *em, size_t k, uint8_t *out,
    size_t cap, size_t *outlen);
/* EME-OAEP decoding of the k-byte block em, label (llen bytes) or NULL. */
int util_rsa_unpad_oaep(const uint8_t *em, size_t k,
    const struct evp_md_st *md, const struct evp_md_st *mgf,
    const uint8_t *label, size_t llen, uint8_t *out, size_t cap,
    size_t *outlen);
/* EMSA-PKCS1-v1_5 encoding into em, k bytes: 00 01 FF.. 00 T, where T is
 * the DigestInfo of the hash h (hlen bytes) for md, or h as it is when md
 * is NULL (a DigestInfo made by the caller).  0; -1 T does not fit k (a
 * message too long for the key); -2 md has no DigestInfo, or other
 * failure. */
int util_rsa_pkcs1_encode(const struct evp_md_st *md, const uint8_t *h,
    size_t hlen, uint8_t *em, size_t k);
/* EMSA-PSS encoding of the hash mh (hlen bytes) with slen random salt
 * bytes into em, k bytes (the modulus size) for a modbits-bit key.  0; -1
 * hlen is not md's size; -2 the key is too small; -3 other failure. */
int util_rsa_pss_encode(const struct evp_md_st *md,
    const struct evp_md_st *mgf, size_t slen, const uint8_t *mh,
    size_t hlen, size_t modbits, uint8_t *em, size_t k);

#endif
