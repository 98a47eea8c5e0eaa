/* SPDX-License-Identifier: MIT */
/*
 * vt_util.c — the virtual token's own helpers (vt_util.h).
 */
#include "vt_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
vt_rbuf_init(vt_rbuf_t *b, const uint8_t *p, size_t len)
{
	b->p = p;
	b->left = p == NULL ? 0 : len;
	b->err = 0;
}

static int
take(vt_rbuf_t *b, size_t n, const uint8_t **at)
{
	if (b->err || n > b->left) {
		b->err = 1;
		return -1;
	}
	*at = b->p;
	b->p += n;
	b->left -= n;
	return 0;
}

int
vt_rbuf_u8(vt_rbuf_t *b, uint8_t *v)
{
	const uint8_t *q;

	if (take(b, 1, &q) != 0)
		return -1;
	*v = q[0];
	return 0;
}

int
vt_rbuf_be16(vt_rbuf_t *b, uint16_t *v)
{
	const uint8_t *q;

	if (take(b, 2, &q) != 0)
		return -1;
	*v = (uint16_t)((unsigned)q[0] << 8 | q[1]);
	return 0;
}

int
vt_rbuf_ptr(vt_rbuf_t *b, size_t n, const uint8_t **out)
{
	return take(b, n, out);
}

uint64_t
vt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
vt_charge(int *ms, uint64_t since_ms)
{
	uint64_t spent, now = vt_now_ms();

	if (ms == NULL)
		return;
	spent = now > since_ms ? now - since_ms : 0;
	if (*ms <= 0 || spent >= (uint64_t)*ms)
		*ms = 0;
	else
		*ms -= (int)spent;
}

void
vt_sleep_ms(int ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
vt_wipe(void *p, size_t n)
{
	/* through a volatile pointer: the stores cannot be dropped */
	volatile uint8_t *v = p;

	while (v != NULL && n-- > 0)
		*v++ = 0;
}

void
vt_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	vt_wipe(p, n);
	free(p);
}

static int
nibble(char c)
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
vt_unhex(const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n = 0;
	int hi = -1, v;

	if (s == NULL || outlen == NULL)
		return -1;
	*outlen = 0;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == ':')
			continue;
		if ((v = nibble(*s)) < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= cap || out == NULL)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		return -1;
	*outlen = n;
	return 0;
}

int
vt_apdu_is_secret(const uint8_t *apdu, size_t n)
{
	/* GET DATA / PUT DATA of Printed Information (5FC109): it holds
	 * the PIN-protected management key of a YubiKey */
	static const uint8_t printed[] = { 0x5c, 0x03, 0x5f, 0xc1, 0x09 };
	size_t lc, hdr;

	if (apdu == NULL || n < 4)
		return 0;
	switch (apdu[1]) {
	case 0x20: case 0x24: case 0x2c: case 0xfe: case 0xff:
		return 1;
	case 0x87:
		return apdu[3] == 0x9b;
	case 0xcb: case 0xdb:
		if (n < 6)
			return 0;
		if (apdu[4] != 0) {
			hdr = 5;
			lc = apdu[4];
		} else if (n >= 7) {
			hdr = 7;
			lc = (size_t)apdu[5] << 8 | apdu[6];
		} else
			return 0;
		if (hdr > n)
			return 0;
		if (lc > n - hdr)
			lc = n - hdr;
		return lc >= sizeof(printed) &&
		    memcmp(apdu + hdr, printed, sizeof(printed)) == 0;
	default:
		return 0;
	}
}
