/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_pin.c — VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER.
 * PINs travel padded to 8 bytes with 0xFF in local buffers that are
 * wiped; an empty PIN is an argument error, never a status query.
 */
#include "piv_int.h"

#include <string.h>

#include "../util/util.h"

#define PIN_MAX	8

static int
valid_ref(uint8_t which)
{
	return which == PIV_PIN_REF || which == PIV_PUK_REF;
}

/* Copies a PIN of 1..8 bytes into out[8], padded with 0xFF. */
static int
pad_pin(uint8_t out[PIN_MAX], const char *pin, size_t len)
{
	if (pin == NULL || len == 0 || len > PIN_MAX)
		return PIV_ERR_ARG;
	memset(out, 0xff, PIN_MAX);
	memcpy(out, pin, len);
	return 0;
}

static int
tries_of(uint16_t sw)
{
	if ((sw & 0xfff0) == 0x63c0)
		return sw & 0x0f;
	if (sw == 0x6983)
		return 0;
	return -1;
}

/* Runs one PIN command and maps the answer, with the tries left. */
static int
pin_cmd(piv_card_t *p, uint8_t ins, uint8_t which, const uint8_t *data,
    size_t len, int *tries, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = ins, .p2 = which,
	    .data = data, .len = len, .secret = 1 };
	size_t n;
	uint16_t sw;
	int r;

	if ((r = piv_enter(p, ms)) != 0)
		return r;
	r = piv_transceive(p, &c, NULL, 0, &n, &sw, ms);
	/* everybody keeping this PIN must learn that it was refused or
	 * changed (a status query with no data changes nothing) */
	if (r == 0 && which == PIV_PIN_REF && len > 0 &&
	    (sw != 0x9000 || ins != 0x20))
		piv_note_pin(p);
	else if (r == 0 && ins == PIV_INS_RESET_RETRY && sw == 0x9000)
		piv_note_pin(p);
	piv_leave(p);
	if (r != 0)
		return r;
	if (tries != NULL)
		*tries = tries_of(sw);
	return piv_sw_err(sw);
}

int
piv_logout(piv_card_t *p, uint8_t which, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_VERIFY, .p1 = 0xff,
	    .p2 = which };
	size_t n;
	uint16_t sw;
	int r;

	if (p == NULL || !valid_ref(which))
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	r = piv_transceive(p, &c, NULL, 0, &n, &sw, ms);
	piv_leave(p);
	return r != 0 ? r : piv_sw_err(sw);
}

int
piv_verify(piv_card_t *p, uint8_t which, const char *pin, size_t len,
    int *tries, int *ms)
{
	uint8_t buf[PIN_MAX];
	int r;

	if (tries != NULL)
		*tries = -1;
	if (p == NULL || !valid_ref(which))
		return PIV_ERR_ARG;
	if ((r = pad_pin(buf, pin, len)) != 0)
		return r;
	r = pin_cmd(p, PIV_INS_VERIFY, which, buf, sizeof(buf), tries, ms);
	util_wipe(buf, sizeof(buf));
	return r;
}

int
piv_pin_status(piv_card_t *p, uint8_t which, int *verified, int *tries,
    int *ms)
{
	int r, t = -1;

	if (verified != NULL)
		*verified = 0;
	if (tries != NULL)
		*tries = -1;
	if (p == NULL || verified == NULL || !valid_ref(which))
		return PIV_ERR_ARG;
	r = pin_cmd(p, PIV_INS_VERIFY, which, NULL, 0, &t, ms);
	if (r == 0)
		*verified = 1;
	else if (r == PIV_ERR_PIN_WRONG || r == PIV_ERR_PIN_BLOCKED)
		r = 0;	/* a status, not a failure: *tries says the rest */
	if (r == 0 && tries != NULL)
		*tries = t;
	return r;
}

/* CHANGE REFERENCE DATA and RESET RETRY COUNTER: two padded values. */
static int
pin_pair_cmd(piv_card_t *p, uint8_t ins, uint8_t which, const char *a,
    size_t alen, const char *b, size_t blen, int *tries, int *ms)
{
	uint8_t buf[2 * PIN_MAX];
	int r;

	if (tries != NULL)
		*tries = -1;
	if (p == NULL || !valid_ref(which))
		return PIV_ERR_ARG;
	if ((r = pad_pin(buf, a, alen)) == 0 &&
	    (r = pad_pin(buf + PIN_MAX, b, blen)) == 0)
		r = pin_cmd(p, ins, which, buf, sizeof(buf), tries, ms);
	util_wipe(buf, sizeof(buf));
	return r;
}

int
piv_change_ref(piv_card_t *p, uint8_t which, const char *old, size_t oldlen,
    const char *new_, size_t newlen, int *tries, int *ms)
{
	return pin_pair_cmd(p, PIV_INS_CHANGE_REFERENCE, which, old, oldlen,
	    new_, newlen, tries, ms);
}

int
piv_unblock_pin(piv_card_t *p, const char *puk, size_t puklen,
    const char *newpin, size_t newlen, int *tries, int *ms)
{
	return pin_pair_cmd(p, PIV_INS_RESET_RETRY, PIV_PIN_REF, puk, puklen,
	    newpin, newlen, tries, ms);
}

/*
 * Blocks the PIN (which = PIV_PIN_REF: VERIFY) or the PUK (PIV_PUK_REF:
 * RESET RETRY COUNTER) by presenting the all-0xFF value, which is no
 * PIN or PUK (they have at least one character), until the card says
 * blocked.  At most 256 attempts; a success (the value was right after
 * all) is PIV_ERR_CONDITIONS.
 */
int
piv_block_ref(piv_card_t *p, uint8_t which, int *ms)
{
	uint8_t buf[2 * PIN_MAX];
	int r, i, tries;

	if (p == NULL || !valid_ref(which))
		return PIV_ERR_ARG;
	memset(buf, 0xff, sizeof(buf));
	for (i = 0; i < 256; i++) {
		tries = -1;
		if (which == PIV_PIN_REF)
			r = pin_cmd(p, PIV_INS_VERIFY, PIV_PIN_REF, buf, PIN_MAX,
			    &tries, ms);
		else
			r = pin_cmd(p, PIV_INS_RESET_RETRY, PIV_PIN_REF, buf,
			    sizeof(buf), &tries, ms);
		if (r == PIV_ERR_PIN_BLOCKED ||
		    (r == PIV_ERR_PIN_WRONG && tries == 0))
			return 0;
		if (r == 0)
			return PIV_ERR_CONDITIONS;
		if (r != PIV_ERR_PIN_WRONG)
			return r;
	}
	return PIV_ERR_CARD;
}
