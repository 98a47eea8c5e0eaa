/* SPDX-License-Identifier: MIT */
/* tests/test_ccid_usb.c — the usb/ I/O table: usb_err -> ccid_err, and
 * argument checks of ccid_reader_open_usb (the transfers themselves run
 * against the emulated reader in tests/integration/ccid_vtoken.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../ccid/ccid_int.h"

static void
test_err_map(void **state)
{
	static const struct { int u, c; } t[] = {
		{ USB_OK, CCID_OK },
		{ USB_ERR_ARG, CCID_ERR_ARG },
		{ USB_ERR_NOMEM, CCID_ERR_NOMEM },
		{ USB_ERR_IO, CCID_ERR_IO },
		{ USB_ERR_TIMEOUT, CCID_ERR_TIMEOUT },
		{ USB_ERR_NO_DEVICE, CCID_ERR_REMOVED },
		{ USB_ERR_BUSY, CCID_ERR_BUSY },
		{ USB_ERR_ACCESS, CCID_ERR_ACCESS },
		{ USB_ERR_NOT_FOUND, CCID_ERR_REMOVED },
		{ USB_ERR_PARSE, CCID_ERR_PROTO },
		{ USB_ERR_LOCKED, CCID_ERR_LOCKED },
		{ USB_ERR_OVERFLOW, CCID_ERR_PROTO },
		{ USB_ERR_PIPE, CCID_ERR_IO },
		{ -99, CCID_ERR_IO },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(ccid_usb_err(t[i].u), t[i].c);
}

static void
test_open_args(void **state)
{
	ccid_reader_t *r = (ccid_reader_t *)&r;

	(void)state;
	assert_int_equal(ccid_reader_open_usb(&r, NULL), CCID_ERR_ARG);
	assert_null(r);
	assert_int_equal(ccid_reader_open_usb(NULL, NULL), CCID_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_map),
		cmocka_unit_test(test_open_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
