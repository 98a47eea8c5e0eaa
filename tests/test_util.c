/* tests/test_util.c — the read cursor fails closed; hex; secret detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../util/util.h"

static void
test_rbuf_reads_in_order(void **state)
{
	const uint8_t in[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	rbuf_t b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	(void)state;
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(rbuf_u8(&b, &u8), 0);
	assert_int_equal(u8, 0x01);
	assert_int_equal(rbuf_le16(&b, &u16), 0);
	assert_int_equal(u16, 0x0302);
	assert_int_equal(rbuf_be32(&b, &u32), 0);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(b.left, 0);
	assert_int_equal(b.err, 0);
}

static void
test_rbuf_fails_closed(void **state)
{
	const uint8_t in[] = { 0xaa, 0xbb, 0xcc };
	rbuf_t b;
	uint32_t u32 = 0x12345678;
	uint8_t u8 = 0;

	(void)state;
	rbuf_init(&b, in, sizeof(in));
	/* a 4-byte read of 3 bytes fails and leaves the output alone */
	assert_int_equal(rbuf_le32(&b, &u32), -1);
	assert_int_equal(u32, 0x12345678);
	/* and poisons the cursor: the byte that was there is not handed out */
	assert_int_equal(rbuf_u8(&b, &u8), -1);
	assert_int_equal(b.left, 0);
	assert_int_equal(b.err, 1);
}

static void
test_rbuf_ptr_bounds(void **state)
{
	const uint8_t in[] = { 1, 2, 3 };
	const uint8_t *p = NULL;
	rbuf_t b;

	(void)state;
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(rbuf_ptr(&b, 0, &p), 0);
	assert_int_equal(rbuf_ptr(&b, SIZE_MAX, &p), -1);
	rbuf_init(&b, NULL, 10);	/* a NULL buffer has no bytes */
	assert_int_equal(rbuf_skip(&b, 1), -1);
}

static void
test_unhex(void **state)
{
	uint8_t out[4];
	size_t n;

	(void)state;
	assert_int_equal(util_unhex("01:02 0a0B", out, sizeof(out), &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\x01\x02\x0a\x0b", 4);
	assert_int_equal(util_unhex("010", out, sizeof(out), &n), -1);
	assert_int_equal(util_unhex("0g", out, sizeof(out), &n), -1);
	assert_int_equal(util_unhex("0102030405", out, sizeof(out), &n), -1);
	assert_int_equal(n, 0);
}

static void
test_secret_apdus(void **state)
{
	const uint8_t verify[] = { 0x00, 0x20, 0x00, 0x80, 0x08, '1', '2', '3',
	    '4', '5', '6', 0xff, 0xff };
	const uint8_t mgm[] = { 0x00, 0x87, 0x03, 0x9b, 0x04, 0x7c, 0x02, 0x80,
	    0x00 };
	const uint8_t sign[] = { 0x00, 0x87, 0x11, 0x9a, 0x04, 0x7c, 0x02, 0x81,
	    0x00 };
	const uint8_t getprinted[] = { 0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03,
	    0x5f, 0xc1, 0x09, 0x00 };
	const uint8_t getchuid[] = { 0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03,
	    0x5f, 0xc1, 0x02, 0x00 };
	const uint8_t truncated[] = { 0x00, 0xdb, 0x3f, 0xff, 0x05, 0x5c };

	(void)state;
	assert_true(util_apdu_is_secret(verify, sizeof(verify)));
	assert_true(util_apdu_is_secret(mgm, sizeof(mgm)));
	assert_false(util_apdu_is_secret(sign, sizeof(sign)));
	assert_true(util_apdu_is_secret(getprinted, sizeof(getprinted)));
	assert_false(util_apdu_is_secret(getchuid, sizeof(getchuid)));
	assert_false(util_apdu_is_secret(truncated, sizeof(truncated)));
	assert_false(util_apdu_is_secret(verify, 3));
}

/* The application's log handler gets each trace line, cut to its bound. */
static char logged[4][UTIL_LOG_LINE + 8];
static int nlogged;

static void
capture(const char *line)
{
	if (nlogged < 4)
		snprintf(logged[nlogged++], sizeof(logged[0]), "%s", line);
}

static void
test_log_handler(void **state)
{
	char big[2000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	util_set_log_handler(capture);
	util_trace(1, "hello %d", 42);
	util_trace(9, "above the level: not traced");
	util_trace(1, "%s", big);
	util_trace_hex(1, "secret", (const uint8_t *)"\x20\x20", 2, 1);
	util_set_log_handler(NULL);
	util_trace(1, "back to stderr");
	assert_int_equal(nlogged, 3);
	assert_string_equal(logged[0], "hello 42");
	assert_int_equal(strlen(logged[1]), UTIL_LOG_LINE - 1);
	assert_string_equal(logged[2], "secret (2 bytes, redacted)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rbuf_reads_in_order),
		cmocka_unit_test(test_rbuf_fails_closed),
		cmocka_unit_test(test_rbuf_ptr_bounds),
		cmocka_unit_test(test_unhex),
		cmocka_unit_test(test_secret_apdus),
		cmocka_unit_test(test_log_handler),
	};

	setenv("USBPIV_DEBUG", "1", 1);	/* read once, at the first trace */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
