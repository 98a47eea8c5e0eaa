/* SPDX-License-Identifier: MIT */
/* util/util.c — read cursor, time budget, wiping, hex and debug trace. */
#define _GNU_SOURCE
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

/* ---- read cursor ------------------------------------------------------- */

void
rbuf_init(rbuf_t *b, const uint8_t *p, size_t len)
{
	b->p = p;
	b->left = p != NULL ? len : 0;
	b->err = 0;
}

static int
rbuf_fail(rbuf_t *b)
{
	b->p = NULL;
	b->left = 0;
	b->err = 1;
	return -1;
}

int
rbuf_ptr(rbuf_t *b, size_t n, const uint8_t **out)
{
	if (b->err || n > b->left)
		return rbuf_fail(b);
	*out = b->p;
	b->p += n;
	b->left -= n;
	return 0;
}

int
rbuf_skip(rbuf_t *b, size_t n)
{
	const uint8_t *p;

	return rbuf_ptr(b, n, &p);
}

int
rbuf_copy(rbuf_t *b, void *dst, size_t n)
{
	const uint8_t *p;

	if (rbuf_ptr(b, n, &p) != 0)
		return -1;
	if (n > 0)
		memcpy(dst, p, n);
	return 0;
}

int
rbuf_u8(rbuf_t *b, uint8_t *v)
{
	return rbuf_copy(b, v, 1);
}

int
rbuf_le16(rbuf_t *b, uint16_t *v)
{
	const uint8_t *p;

	if (rbuf_ptr(b, 2, &p) != 0)
		return -1;
	*v = (uint16_t)(p[0] | p[1] << 8);
	return 0;
}

int
rbuf_be16(rbuf_t *b, uint16_t *v)
{
	const uint8_t *p;

	if (rbuf_ptr(b, 2, &p) != 0)
		return -1;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

int
rbuf_le32(rbuf_t *b, uint32_t *v)
{
	const uint8_t *p;

	if (rbuf_ptr(b, 4, &p) != 0)
		return -1;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	return 0;
}

int
rbuf_be32(rbuf_t *b, uint32_t *v)
{
	const uint8_t *p;

	if (rbuf_ptr(b, 4, &p) != 0)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
	    (uint32_t)p[3];
	return 0;
}

/* ---- write cursor ------------------------------------------------------ */

static int
wbuf_fail(wbuf_t *b)
{
	b->len = 0;
	b->err = 1;
	return -1;
}

void
wbuf_init(wbuf_t *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->cap = p != NULL ? cap : 0;
	b->len = 0;
	b->err = 0;
}

int
wbuf_put_bytes(wbuf_t *b, const void *src, size_t n)
{
	if (b->err || n > b->cap - b->len || (n > 0 && src == NULL))
		return wbuf_fail(b);
	if (n > 0)
		memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

int
wbuf_put_u8(wbuf_t *b, uint8_t v)
{
	return wbuf_put_bytes(b, &v, 1);
}

int
wbuf_put_be16(wbuf_t *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return wbuf_put_bytes(b, x, sizeof(x));
}

int
wbuf_put_tag(wbuf_t *b, uint32_t tag)
{
	uint8_t x[3];
	size_t n = tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;

	if (tag > 0xffffff)
		return wbuf_fail(b);
	x[0] = (uint8_t)(tag >> 16);
	x[1] = (uint8_t)(tag >> 8);
	x[2] = (uint8_t)tag;
	return wbuf_put_bytes(b, x + 3 - n, n);
}

int
wbuf_put_len(wbuf_t *b, size_t len)
{
	uint8_t x[4];
	size_t n;

	if (len < 0x80)
		return wbuf_put_u8(b, (uint8_t)len);
	n = len <= 0xff ? 1 : len <= 0xffff ? 2 : 3;
	if (len > 0xffffff)
		return wbuf_fail(b);
	x[0] = (uint8_t)(0x80 | n);
	x[1] = (uint8_t)(len >> 16);
	x[2] = (uint8_t)(len >> 8);
	x[3] = (uint8_t)len;
	if (wbuf_put_u8(b, x[0]) != 0)
		return -1;
	return wbuf_put_bytes(b, x + 4 - n, n);
}

int
wbuf_put_tlv(wbuf_t *b, uint32_t tag, const void *v, size_t len)
{
	if (wbuf_put_tag(b, tag) != 0 || wbuf_put_len(b, len) != 0)
		return -1;
	return wbuf_put_bytes(b, v, len);
}

int
wbuf_reserve(wbuf_t *b, size_t n, uint8_t **out)
{
	*out = NULL;
	if (b->err || n > b->cap - b->len)
		return wbuf_fail(b);
	*out = b->p + b->len;
	b->len += n;
	return 0;
}

size_t
wbuf_len_size(size_t len)
{
	if (len > 0xffffff)
		return 0;
	return len < 0x80 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 4;
}

int
wbuf_check(const wbuf_t *b)
{
	return b->err ? -1 : 0;
}

/* ---- time budget ------------------------------------------------------- */

uint64_t
util_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
util_charge(int *ms, uint64_t since_ms)
{
	uint64_t now = util_now_ms(), spent;

	if (ms == NULL)
		return;
	spent = now > since_ms ? now - since_ms : 0;
	if (*ms < 0 || spent >= (uint64_t)*ms)
		*ms = 0;
	else
		*ms -= (int)spent;
}

void
util_sleep_ms(int ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- secrets ----------------------------------------------------------- */

void
util_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void
util_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	util_wipe(p, n);
	free(p);
}

/* ---- hex --------------------------------------------------------------- */

/* The value of one hex digit, or -1. */
int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
util_unhex(const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = 0;
	int hi = -1, v;

	*outlen = 0;
	for (; *s != '\0'; s++) {
		if (isspace((unsigned char)*s) || *s == ':')
			continue;
		if ((v = util_hexval((unsigned char)*s)) < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return -1;
	*outlen = n;
	return 0;
}

void
util_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* ---- debug trace ------------------------------------------------------- */

static int debug_level = -1;
static FILE *debug_fp;

int
util_debug_level(void)
{
	const char *s;

	if (debug_level < 0) {
		s = getenv("USBPIV_DEBUG");
		debug_level = (s != NULL && *s >= '0' && *s <= '9') ? *s - '0' : 0;
		if (debug_level > 0 && (s = getenv("USBPIV_DEBUG_FILE")) != NULL)
			debug_fp = fopen(s, "ae");
	}
	return debug_level;
}

static util_log_fn *log_handler;

void
util_set_log_handler(util_log_fn *fn)
{
	log_handler = fn;
}

void
util_trace(int level, const char *fmt, ...)
{
	char line[UTIL_LOG_LINE];
	va_list ap;
	int w;

	if (util_debug_level() < level)
		return;
	va_start(ap, fmt);
	w = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	if (log_handler != NULL) {
		log_handler(line);
		return;
	}
	fprintf(debug_fp != NULL ? debug_fp : stderr, "usbpiv: %s\n", line);
	fflush(debug_fp != NULL ? debug_fp : stderr);
}

void
util_trace_hex(int level, const char *label, const uint8_t *p, size_t n,
    int redact)
{
	char line[2 * 32 + 1];
	size_t off, chunk;

	if (util_debug_level() < level)
		return;
	if (redact) {
		util_trace(level, "%s (%zu bytes, redacted)", label, n);
		return;
	}
	util_trace(level, "%s (%zu bytes)", label, n);
	for (off = 0; off < n; off += chunk) {
		chunk = n - off < 32 ? n - off : 32;
		util_hex(p + off, chunk, line);
		util_trace(level, "  %04zx: %s", off, line);
	}
}

