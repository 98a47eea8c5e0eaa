/* SPDX-License-Identifier: MIT */
/*
 * reader_card.c — the cards behind the emulated reader.
 *
 * "test" is a tiny deterministic card that needs nothing else: it has the
 * YubiKey's ATR and answers
 *   SELECT by name (00 A4 04 00 ..) of the PIV AID A0 00 00 03 08 ...
 *       -> an application property template, 9000 (other AIDs 6A82)
 *   ECHO   (00 EE 00 00 Lc data [Le]) -> data, 9000 (short or extended)
 *   FILL   (00 EF P1 P2 ..)           -> P1P2 bytes 00 01 02 .., 9000
 *   anything else                      -> 6D00
 * so that long-APDU chaining can be checked byte for byte at every level.
 * "builtin" and "vpcd:PORT" go through backend.h.
 */
#define _GNU_SOURCE
#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t test_atr[] = {
	0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80, 0x73,
	0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B, 0x65, 0x79,
	0x40,
};

static const uint8_t aid_piv[] = { 0xA0, 0x00, 0x00, 0x03, 0x08 };

struct test_card {
	int powered;
};

static size_t
tc_atr(void *h, uint8_t *atr, size_t cap)
{
	(void)h;
	if (cap < sizeof(test_atr))
		return 0;
	memcpy(atr, test_atr, sizeof(test_atr));
	return sizeof(test_atr);
}

static void
tc_power_on(void *h)
{
	((struct test_card *)h)->powered = 1;
}

static void
tc_power_off(void *h)
{
	((struct test_card *)h)->powered = 0;
}

/* Splits a command APDU into its data field; -1 if malformed. */
static int
apdu_data(const uint8_t *c, size_t n, const uint8_t **data, size_t *dlen)
{
	size_t lc;

	*data = NULL;
	*dlen = 0;
	if (n < 4)
		return -1;
	if (n <= 5)
		return 0;		/* case 1 or 2 */
	if (c[4] != 0) {		/* short */
		lc = c[4];
		if (n != 5 + lc && n != 6 + lc)
			return -1;
		*data = c + 5;
		*dlen = lc;
		return 0;
	}
	if (n == 7)
		return 0;		/* case 2 extended */
	lc = (size_t)c[5] << 8 | c[6];
	if (lc == 0 || (n != 7 + lc && n != 9 + lc))
		return -1;
	*data = c + 7;
	*dlen = lc;
	return 0;
}

static int
tc_apdu(void *h, const uint8_t *cmd, size_t clen, uint8_t *rsp, size_t cap,
    size_t *rlen)
{
	const uint8_t *data;
	size_t dlen, i, n;
	static const uint8_t apt[] = {
		0x61, 0x11, 0x4F, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
		0x79, 0x07, 0x4F, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08,
	};

	(void)h;
	*rlen = 0;
	if (cap < 2)
		return -1;
	if (apdu_data(cmd, clen, &data, &dlen) != 0) {
		rsp[0] = 0x67;
		rsp[1] = 0x00;
		*rlen = 2;
		return 0;
	}
	switch (cmd[1]) {
	case 0xA4:
		if (cmd[2] == 0x04 && dlen >= sizeof(aid_piv) &&
		    memcmp(data, aid_piv, sizeof(aid_piv)) == 0 &&
		    cap >= sizeof(apt) + 2) {
			memcpy(rsp, apt, sizeof(apt));
			n = sizeof(apt);
		} else {
			rsp[0] = 0x6A;
			rsp[1] = 0x82;
			*rlen = 2;
			return 0;
		}
		break;
	case 0xEE:
		if (dlen + 2 > cap)
			goto too_long;
		if (dlen > 0)
			memcpy(rsp, data, dlen);
		n = dlen;
		break;
	case 0xEF:
		n = (size_t)cmd[2] << 8 | cmd[3];
		if (n + 2 > cap)
			goto too_long;
		for (i = 0; i < n; i++)
			rsp[i] = (uint8_t)i;
		break;
	default:
		rsp[0] = 0x6D;
		rsp[1] = 0x00;
		*rlen = 2;
		return 0;
	}
	rsp[n] = 0x90;
	rsp[n + 1] = 0x00;
	*rlen = n + 2;
	return 0;
too_long:
	rsp[0] = 0x67;
	rsp[1] = 0x00;
	*rlen = 2;
	return 0;
}

static void
tc_free(void *h)
{
	free(h);
}

static const struct card_backend_ops test_ops = {
	.atr = tc_atr,
	.power_on = tc_power_on,
	.power_off = tc_power_off,
	.apdu = tc_apdu,
	.free = tc_free,
};

int
rd_card_test(card_backend_t *b)
{
	struct test_card *t;

	memset(b, 0, sizeof(*b));
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	b->ops = &test_ops;
	b->h = t;
	return 0;
}

int
rd_card_open(const char *spec, const char *state_path, int slot,
    card_backend_t *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	if (spec == NULL || strcmp(spec, "test") == 0) {
		if (rd_card_test(b) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	if (strcmp(spec, "builtin") == 0) {
		char path[4096];
		const char *sp = state_path;

		if (state_path != NULL && slot > 0) {
			snprintf(path, sizeof(path), "%s.%d", state_path, slot);
			sp = path;
		}
		if (backend_builtin(b, sp) != 0) {
			snprintf(err, errlen, "builtin card failed to start");
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "vpcd:", 5) == 0) {
		char *end;
		unsigned long port = strtoul(spec + 5, &end, 10);

		if (*end != '\0' || port == 0 || port > 65535) {
			snprintf(err, errlen, "bad vpcd port in '%s'", spec);
			return -1;
		}
		/* Waits a little for the card; it may also come later
		 * (until then the slot answers like a mute card). */
		if (backend_vpcd(b, (uint16_t)(port + (unsigned)slot),
		    5000) != 0) {
			snprintf(err, errlen, "no vpcd card on port %lu",
			    port + (unsigned long)slot);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown card '%s' (test, builtin, vpcd:PORT)",
	    spec);
	return -1;
}
