/* SPDX-License-Identifier: MIT */
/*
 * tests/test_piv_errmap.c — every error mapping between layers, one
 * value at a time: usb/ and ccid/ errors as piv/ sees them, a transport's
 * errors as piv/ passes them on, piv/ errors as PKCS#11 return values.
 * The mappings are switches by name; these tables pin each entry, so
 * reordering or extending an enum cannot change a mapping unseen.  And
 * the cause of a failure survives to piv_last_cause.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../ccid/ccid.h"
#include "../piv/piv_int.h"
#include "../pkcs11/p11.h"
#include "../usb/usb.h"

struct map {
	int from, to;
};

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static void
check(const struct map *m, size_t n, int (*fn)(int))
{
	size_t i;

	for (i = 0; i < n; i++) {
		int got = fn(m[i].from);

		if (got != m[i].to)
			fail_msg("%d mapped to %d, not %d", m[i].from, got,
			    m[i].to);
	}
}

static void
test_usb_to_piv(void **state)
{
	static const struct map m[] = {
		{ USB_OK, PIV_OK },
		{ USB_ERR_ARG, PIV_ERR_ARG },
		{ USB_ERR_NOMEM, PIV_ERR_NOMEM },
		{ USB_ERR_IO, PIV_ERR_TRANSPORT },
		{ USB_ERR_TIMEOUT, PIV_ERR_TIMEOUT },
		{ USB_ERR_NO_DEVICE, PIV_ERR_REMOVED },
		{ USB_ERR_BUSY, PIV_ERR_BUSY },
		{ USB_ERR_ACCESS, PIV_ERR_ACCESS },
		{ USB_ERR_NOT_FOUND, PIV_ERR_REMOVED },
		{ USB_ERR_PARSE, PIV_ERR_TRANSPORT },
		{ USB_ERR_LOCKED, PIV_ERR_BUSY },
		{ USB_ERR_OVERFLOW, PIV_ERR_TRANSPORT },
		{ USB_ERR_PIPE, PIV_ERR_TRANSPORT },
		{ -1000, PIV_ERR_TRANSPORT },
		{ 7, PIV_ERR_TRANSPORT },
	};

	(void)state;
	check(m, N(m), piv_err_from_usb);
}

/* The ccid/ errors every piv mapping of them agrees on. */
static const struct map ccid_common[] = {
	{ CCID_OK, PIV_OK },
	{ CCID_ERR_ARG, PIV_ERR_ARG },
	{ CCID_ERR_NOMEM, PIV_ERR_NOMEM },
	{ CCID_ERR_IO, PIV_ERR_TRANSPORT },
	{ CCID_ERR_TIMEOUT, PIV_ERR_TIMEOUT },
	{ CCID_ERR_REMOVED, PIV_ERR_REMOVED },
	{ CCID_ERR_BUSY, PIV_ERR_BUSY },
	{ CCID_ERR_ACCESS, PIV_ERR_ACCESS },
	{ CCID_ERR_NO_CARD, PIV_ERR_REMOVED },
	{ CCID_ERR_CARD_INACTIVE, PIV_ERR_TRANSPORT },
	{ CCID_ERR_CARD_MUTE, PIV_ERR_TRANSPORT },
	{ CCID_ERR_PROTO, PIV_ERR_TRANSPORT },
	{ CCID_ERR_HW, PIV_ERR_TRANSPORT },
	{ CCID_ERR_SLOT_BUSY, PIV_ERR_TRANSPORT },
	{ CCID_ERR_ABORTED, PIV_ERR_TRANSPORT },
	{ CCID_ERR_T1, PIV_ERR_TRANSPORT },
	{ CCID_ERR_CARD_CHANGED, PIV_ERR_REMOVED },
	{ CCID_ERR_LOCKED, PIV_ERR_BUSY },
	{ CCID_ERR_BAD_ATR, PIV_ERR_TRANSPORT },
	{ CCID_ERR_ICC_PROTOCOL, PIV_ERR_TRANSPORT },
	{ CCID_ERR_ICC_CLASS, PIV_ERR_TRANSPORT },
	{ CCID_ERR_PROCEDURE_BYTE, PIV_ERR_TRANSPORT },
	{ CCID_ERR_DEACTIVATED, PIV_ERR_TRANSPORT },
	{ CCID_ERR_AUTO_SEQUENCE, PIV_ERR_TRANSPORT },
	{ CCID_ERR_PIN_TIMEOUT, PIV_ERR_TRANSPORT },
	{ CCID_ERR_PIN_CANCELLED, PIV_ERR_TRANSPORT },
	{ CCID_ERR_CMD_UNSUPPORTED, PIV_ERR_TRANSPORT },
	{ CCID_ERR_BAD_PARAM, PIV_ERR_TRANSPORT },
	{ -1000, PIV_ERR_TRANSPORT },
	{ 3, PIV_ERR_TRANSPORT },
};

/* The transport (piv_ccid.c): a too-large answer is the caller's buffer. */
static void
test_ccid_io_to_piv(void **state)
{
	static const struct map m[] = {
		{ CCID_ERR_BUFFER, PIV_ERR_BUFFER },
		{ CCID_ERR_UNSUPPORTED, PIV_ERR_TRANSPORT },
	};

	(void)state;
	check(ccid_common, N(ccid_common), piv_err_from_ccid_io);
	check(m, N(m), piv_err_from_ccid_io);
}

/* Opening a reader, probing a slot (piv_reader.c): a reader that cannot
 * carry APDUs is not supported. */
static void
test_ccid_open_to_piv(void **state)
{
	static const struct map m[] = {
		{ CCID_ERR_BUFFER, PIV_ERR_TRANSPORT },
		{ CCID_ERR_UNSUPPORTED, PIV_ERR_NOT_SUPPORTED },
	};

	(void)state;
	check(ccid_common, N(ccid_common), piv_err_from_ccid_open);
	check(m, N(m), piv_err_from_ccid_open);
}

/* What a transport returns reaches piv's caller as it is, when it is a
 * PIV_ERR_* a transport may give; anything else is a transport failure. */
static void
test_io_to_piv(void **state)
{
	static const struct map m[] = {
		{ PIV_OK, PIV_OK },
		{ PIV_ERR_ARG, PIV_ERR_ARG },
		{ PIV_ERR_NOMEM, PIV_ERR_NOMEM },
		{ PIV_ERR_TRANSPORT, PIV_ERR_TRANSPORT },
		{ PIV_ERR_REMOVED, PIV_ERR_REMOVED },
		{ PIV_ERR_TIMEOUT, PIV_ERR_TIMEOUT },
		{ PIV_ERR_BUSY, PIV_ERR_BUSY },
		{ PIV_ERR_PROTO, PIV_ERR_PROTO },
		{ PIV_ERR_NO_APP, PIV_ERR_NO_APP },
		{ PIV_ERR_NOT_FOUND, PIV_ERR_NOT_FOUND },
		{ PIV_ERR_PIN_WRONG, PIV_ERR_PIN_WRONG },
		{ PIV_ERR_PIN_BLOCKED, PIV_ERR_PIN_BLOCKED },
		{ PIV_ERR_AUTH_REQUIRED, PIV_ERR_AUTH_REQUIRED },
		{ PIV_ERR_CONDITIONS, PIV_ERR_CONDITIONS },
		{ PIV_ERR_BAD_DATA, PIV_ERR_BAD_DATA },
		{ PIV_ERR_NOT_SUPPORTED, PIV_ERR_NOT_SUPPORTED },
		{ PIV_ERR_CARD, PIV_ERR_CARD },
		{ PIV_ERR_BUFFER, PIV_ERR_BUFFER },
		{ PIV_ERR_CRYPTO, PIV_ERR_CRYPTO },
		{ PIV_ERR_TOUCH_TIMEOUT, PIV_ERR_TOUCH_TIMEOUT },
		{ PIV_ERR_ACCESS, PIV_ERR_ACCESS },
		{ PIV_ERR_NO_SPACE, PIV_ERR_TRANSPORT },
		{ -1000, PIV_ERR_TRANSPORT },
		{ 1, PIV_ERR_TRANSPORT },
	};

	(void)state;
	check(m, N(m), piv_err_from_io);
}

static int
rv_from_piv(int r)
{
	return (int)p11_rv_from_piv(r);
}

static void
test_piv_to_pkcs11(void **state)
{
	static const struct map m[] = {
		{ PIV_OK, CKR_OK },
		{ PIV_ERR_ARG, CKR_ARGUMENTS_BAD },
		{ PIV_ERR_NOMEM, CKR_HOST_MEMORY },
		{ PIV_ERR_TRANSPORT, CKR_DEVICE_ERROR },
		{ PIV_ERR_REMOVED, CKR_DEVICE_REMOVED },
		{ PIV_ERR_TIMEOUT, CKR_DEVICE_ERROR },
		{ PIV_ERR_BUSY, CKR_DEVICE_ERROR },
		{ PIV_ERR_PROTO, CKR_DEVICE_ERROR },
		{ PIV_ERR_NO_APP, CKR_DEVICE_ERROR },
		{ PIV_ERR_NOT_FOUND, CKR_OBJECT_HANDLE_INVALID },
		{ PIV_ERR_PIN_WRONG, CKR_PIN_INCORRECT },
		{ PIV_ERR_PIN_BLOCKED, CKR_PIN_LOCKED },
		{ PIV_ERR_AUTH_REQUIRED, CKR_USER_NOT_LOGGED_IN },
		{ PIV_ERR_CONDITIONS, CKR_FUNCTION_REJECTED },
		{ PIV_ERR_BAD_DATA, CKR_DATA_INVALID },
		{ PIV_ERR_NOT_SUPPORTED, CKR_FUNCTION_NOT_SUPPORTED },
		{ PIV_ERR_CARD, CKR_DEVICE_ERROR },
		{ PIV_ERR_BUFFER, CKR_DEVICE_MEMORY },
		{ PIV_ERR_CRYPTO, CKR_FUNCTION_FAILED },
		{ PIV_ERR_TOUCH_TIMEOUT, CKR_FUNCTION_REJECTED },
		{ PIV_ERR_ACCESS, CKR_DEVICE_ERROR },
		{ PIV_ERR_NO_SPACE, CKR_DEVICE_MEMORY },
		{ -1000, CKR_DEVICE_ERROR },
	};

	(void)state;
	check(m, N(m), rv_from_piv);
}

/* ---- the cause survives ------------------------------------------------ */

struct io {
	int fail;		/* transmit fails with this */
	uint16_t sw;		/* else answers this status word */
	const char *why;	/* the transport's word on its failure */
	piv_card_t *card;
};

static int
io_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct io *io = h;

	(void)secret;
	(void)capdu;
	(void)clen;
	(void)ms;
	if (io->fail != 0) {
		piv_set_io_cause(io->card, io->why);
		return io->fail;
	}
	if (cap < 2)
		return PIV_ERR_BUFFER;
	rapdu[0] = (uint8_t)(io->sw >> 8);
	rapdu[1] = (uint8_t)io->sw;
	*rlen = 2;
	return 0;
}

static void
test_cause_survives(void **state)
{
	piv_io_t tbl = { .transmit = io_transmit };
	struct io io = { .sw = 0x9000 };
	piv_card_t *p = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	int ms = 1000;

	(void)state;
	assert_int_equal(piv_new(&p, &tbl, &io), 0);
	io.card = p;
	assert_string_equal(piv_last_cause(p), "");
	/* the card's word: the status word of its refusal */
	io.sw = 0x6a82;
	assert_int_equal(piv_get_data(p, PIV_OBJ_CHUID, &data, &len, &ms),
	    PIV_ERR_NO_APP);
	assert_int_equal(piv_last_sw(p), 0x6a82);
	assert_string_equal(piv_last_cause(p), "status word 6A82");
	/* the transport's word, through a mapping that keeps its meaning */
	io.fail = PIV_ERR_REMOVED;
	io.why = "reader unplugged";
	assert_int_equal(piv_get_data(p, PIV_OBJ_CHUID, &data, &len, &ms),
	    PIV_ERR_REMOVED);
	assert_string_equal(piv_last_cause(p), "reader unplugged");
	/* a value no transport may give is a transport failure, with cause */
	io.fail = PIV_ERR_NO_SPACE;
	io.why = "card did not answer";
	assert_int_equal(piv_get_data(p, PIV_OBJ_CHUID, &data, &len, &ms),
	    PIV_ERR_TRANSPORT);
	assert_string_equal(piv_last_cause(p), "card did not answer");
	/* a new operation starts without the old cause */
	io.fail = 0;
	io.sw = 0x9000;
	(void)piv_get_data(p, PIV_OBJ_CHUID, &data, &len, &ms);
	assert_string_equal(piv_last_cause(p), "");
	free(data);
	piv_free(&p);
	assert_string_equal(piv_last_cause(NULL), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usb_to_piv),
		cmocka_unit_test(test_ccid_io_to_piv),
		cmocka_unit_test(test_ccid_open_to_piv),
		cmocka_unit_test(test_io_to_piv),
		cmocka_unit_test(test_piv_to_pkcs11),
		cmocka_unit_test(test_cause_survives),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
