/* SPDX-License-Identifier: MIT */
/*
 * tests/test_usb_string.c — device strings (string descriptors and sysfs
 * attributes) made printable: bounded by the room given, control and
 * non-ASCII bytes replaced, sysfs's trailing newline dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../usb/usb_int.h"

static void
clean(const char *raw, size_t n, size_t cap, const char *want)
{
	char out[64];

	memset(out, 'X', sizeof(out));
	usb_string_clean((const uint8_t *)raw, n, out, cap);
	assert_string_equal(out, want);
}

static void
test_plain_and_sysfs_newline(void **state)
{
	(void)state;
	clean("Yubico", 6, 64, "Yubico");
	clean("YubiKey OTP+FIDO+CCID\n", 22, 64, "YubiKey OTP+FIDO+CCID");
	clean("abc\n\0\0", 6, 64, "abc");	/* only trailing ones */
	clean("\n", 1, 64, "");
	clean("", 0, 64, "");
}

static void
test_unprintable_replaced(void **state)
{
	(void)state;
	clean("a\x1b[2Jb", 6, 64, "a?[2Jb");		/* no terminal escapes */
	clean("\xc3\xa9t\xc3\xa9", 6, 64, "??t??");	/* UTF-8: not ASCII */
	clean("a\0b", 3, 64, "a?b");			/* inner NUL kept visible */
	clean("\x7f\x80\xff", 3, 64, "???");
}

static void
test_bounded_by_room(void **state)
{
	char out[4] = { 'X', 'X', 'X', 'X' };

	(void)state;
	clean("ABCDEFGH", 8, 4, "ABC");
	clean("ABCDEFGH", 8, 1, "");
	usb_string_clean((const uint8_t *)"AB", 2, out, 0);	/* no room */
	assert_int_equal(out[0], 'X');
	usb_string_clean(NULL, 5, out, sizeof(out));		/* no bytes */
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_sysfs_newline),
		cmocka_unit_test(test_unprintable_replaced),
		cmocka_unit_test(test_bounded_by_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
