/* SPDX-License-Identifier: MIT */
/* tests/test_util.c — the read and write cursors fail closed; hex; secret
 * detection. */
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

/* ---- write cursor ---------------------------------------------------------- */

static void
test_wbuf_writes_in_order(void **state)
{
	static const uint8_t want[] = { 0x01, 0x02, 0x03, 0xaa, 0xbb, 0x5c,
	    0x01, 0x7e, 0x7f, 0x49, 0x00, 0x5f, 0xc1, 0x05, 0x02, 0x10, 0x20 };
	static const uint8_t v[] = { 0x10, 0x20 };
	uint8_t buf[sizeof(want)];
	wbuf_t b;

	(void)state;
	wbuf_init(&b, buf, sizeof(buf));
	assert_int_equal(wbuf_put_u8(&b, 0x01), 0);
	assert_int_equal(wbuf_put_be16(&b, 0x0203), 0);
	assert_int_equal(wbuf_put_bytes(&b, "\xaa\xbb", 2), 0);
	assert_int_equal(wbuf_put_tlv(&b, 0x5c, "\x7e", 1), 0);
	assert_int_equal(wbuf_put_tlv(&b, 0x7f49, NULL, 0), 0);
	assert_int_equal(wbuf_put_tlv(&b, 0x5fc105, v, sizeof(v)), 0);
	assert_int_equal(wbuf_check(&b), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

/* Not one byte past the end; the first failure poisons every later write. */
static void
test_wbuf_overflow_poisons(void **state)
{
	uint8_t buf[4] = { 0, 0, 0, 0xee }, big[8] = { 0 };
	wbuf_t b;

	(void)state;
	wbuf_init(&b, buf, 3);
	assert_int_equal(wbuf_put_bytes(&b, big, 2), 0);
	assert_int_equal(wbuf_put_be16(&b, 0x1234), -1);	/* 1 byte left */
	assert_int_equal(buf[3], 0xee);
	assert_int_equal(wbuf_check(&b), -1);
	assert_int_equal(b.len, 0);
	/* poisoned: even what would fit is refused */
	assert_int_equal(wbuf_put_u8(&b, 1), -1);
	assert_int_equal(wbuf_put_bytes(&b, big, 0), -1);
	assert_int_equal(wbuf_check(&b), -1);

	/* exactly full is fine, one more is not */
	wbuf_init(&b, buf, 3);
	assert_int_equal(wbuf_put_bytes(&b, big, 3), 0);
	assert_int_equal(wbuf_check(&b), 0);
	assert_int_equal(wbuf_put_bytes(&b, big, 1), -1);
	assert_int_equal(buf[3], 0xee);

	/* a size that would wrap around, a NULL source, no buffer at all */
	wbuf_init(&b, buf, 3);
	assert_int_equal(wbuf_put_bytes(&b, big, (size_t)-1), -1);
	wbuf_init(&b, buf, 3);
	assert_int_equal(wbuf_put_bytes(&b, NULL, 1), -1);
	wbuf_init(&b, NULL, 3);
	assert_int_equal(wbuf_put_u8(&b, 1), -1);
	/* a TLV whose value does not fit leaves the cursor poisoned */
	wbuf_init(&b, buf, 3);
	assert_int_equal(wbuf_put_tlv(&b, 0x53, big, 2), -1);
	assert_int_equal(wbuf_check(&b), -1);
	/* tags of more than 3 bytes are refused */
	wbuf_init(&b, buf, 3);
	assert_int_equal(wbuf_put_tag(&b, 0x1000000), -1);
}

/* BER lengths at each boundary of their encodings. */
static void
test_wbuf_lengths(void **state)
{
	static const struct {
		size_t len;
		size_t n;
		uint8_t enc[4];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 127, 1, { 0x7f } },
		{ 128, 2, { 0x81, 0x80 } },
		{ 255, 2, { 0x81, 0xff } },
		{ 256, 3, { 0x82, 0x01, 0x00 } },
		{ 65535, 3, { 0x82, 0xff, 0xff } },
		{ 65536, 4, { 0x83, 0x01, 0x00, 0x00 } },
		{ 0xffffff, 4, { 0x83, 0xff, 0xff, 0xff } },
	};
	uint8_t buf[8];
	size_t i;
	wbuf_t b;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wbuf_init(&b, buf, sizeof(buf));
		assert_int_equal(wbuf_put_len(&b, cases[i].len), 0);
		assert_int_equal(b.len, cases[i].n);
		assert_memory_equal(buf, cases[i].enc, cases[i].n);
		/* one byte short of room: refused */
		wbuf_init(&b, buf, cases[i].n - 1);
		assert_int_equal(wbuf_put_len(&b, cases[i].len), -1);
		assert_int_equal(wbuf_check(&b), -1);
	}
	wbuf_init(&b, buf, sizeof(buf));
	assert_int_equal(wbuf_put_len(&b, 0x1000000), -1);
	assert_int_equal(wbuf_check(&b), -1);
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
		cmocka_unit_test(test_wbuf_writes_in_order),
		cmocka_unit_test(test_wbuf_overflow_poisons),
		cmocka_unit_test(test_wbuf_lengths),
		cmocka_unit_test(test_unhex),
		cmocka_unit_test(test_log_handler),
	};

	setenv("USBPIV_DEBUG", "1", 1);	/* read once, at the first trace */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
