/*
 * tests/test_vcard.c — the software PIV card: APDU layer (short, extended,
 * chaining, GET RESPONSE), PIN/PUK, management key, data objects, and the
 * status words of each.  Key operations are in test_vcard_keys.c.
 */
#include "test_vcard.h"

/* ---- basics --------------------------------------------------------------- */

static void
test_atr(void **state)
{
	vcard_t *c = NULL;
	uint8_t atr[64];
	size_t n;

	(void)state;
	assert_int_equal(vcard_new(&c, NULL), 0);
	n = vcard_atr(c, atr, sizeof(atr));
	assert_int_equal(n, 23);
	assert_int_equal(atr[0], 0x3b);
	assert_memory_equal(atr + 17, "\x62\x69\x4b\x65\x79\x40", 6);
	assert_int_equal(vcard_atr(c, atr, 5), 0);
	vcard_free(&c);
	assert_null(c);
	vcard_free(&c);
	vcard_free(NULL);
}

static void
test_select(void **state)
{
	vcard_t *c = NULL;
	uint8_t out[64];
	size_t n;
	static const uint8_t apt[] = {
		0x61, 0x11, 0x4f, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
		0x79, 0x07, 0x4f, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08
	};

	(void)state;
	assert_int_equal(vcard_new(&c, NULL), 0);
	/* nothing before SELECT */
	assert_int_equal(tv_hex(c, "00FD000000", out, sizeof(out), &n), 0x6d00);
	assert_int_equal(tv_hex(c, "00A4040005A000000308", out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(n, sizeof(apt));
	assert_memory_equal(out, apt, sizeof(apt));
	/* full AID with Le */
	assert_int_equal(tv_hex(c, "00A404000BA000000308000010000100" "00",
	    out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, apt, sizeof(apt));
	/* other applications, wrong P1, too short a prefix */
	assert_int_equal(tv_hex(c, "00A4040008A000000527210101", out,
	    sizeof(out), &n), 0x6a82);
	assert_int_equal(tv_hex(c, "00A4040004A0000003", out, sizeof(out), &n),
	    0x6a82);
	assert_int_equal(tv_hex(c, "00A4000005A000000308", out, sizeof(out),
	    &n), 0x6b00);
	/* still selected after a failed SELECT */
	assert_int_equal(tv_hex(c, "00FD000000", out, sizeof(out), &n), 0x9000);
	/* reset deselects */
	vcard_reset(c);
	assert_int_equal(tv_hex(c, "00FD000000", out, sizeof(out), &n), 0x6d00);
	vcard_free(&c);
}

static void
test_version_serial(void **state)
{
	struct vcard_opts o;
	vcard_t *c;
	uint8_t out[16];
	size_t n;

	(void)state;
	c = tv_card();
	assert_int_equal(tv_hex(c, "00FD000000", out, sizeof(out), &n), 0x9000);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x05\x07\x01", 3);
	assert_int_equal(tv_hex(c, "00F8000000", out, sizeof(out), &n), 0x9000);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "\x00\xcc\x07\xc9", 4);	/* 13371337 */
	vcard_free(&c);

	memset(&o, 0, sizeof(o));
	o.serial = 0x01020304;
	o.version[0] = 5;
	o.version[1] = 4;
	o.version[2] = 3;
	c = tv_card_opts(&o);
	assert_int_equal(tv_hex(c, "00FD0000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x05\x04\x03", 3);
	assert_int_equal(tv_hex(c, "00F80000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x01\x02\x03\x04", 4);
	/* MOVE KEY does not exist before 5.7 */
	assert_int_equal(tv_hex(c, "00F6829A", out, sizeof(out), &n), 0x6d00);
	vcard_free(&c);
}

static void
test_bad_apdus(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[16], rsp[2];
	size_t n;

	(void)state;
	assert_int_equal(tv_hex(c, "00", out, sizeof(out), &n), 0x6700);
	assert_int_equal(tv_hex(c, "00FD00", out, sizeof(out), &n), 0x6700);
	/* Lc says 5, 3 bytes follow; and one too many */
	assert_int_equal(tv_hex(c, "002000800531323334", out, sizeof(out), &n),
	    0x6700);
	assert_int_equal(tv_hex(c, "00200080023132333435", out, sizeof(out),
	    &n), 0x6700);
	/* extended Lc of 0 with data, extended header cut short */
	assert_int_equal(tv_hex(c, "0020008000000031", out, sizeof(out), &n),
	    0x6700);
	assert_int_equal(tv_hex(c, "002000800000", out, sizeof(out), &n),
	    0x6700);
	assert_int_equal(tv_hex(c, "80FD000000", out, sizeof(out), &n), 0x6e00);
	assert_int_equal(tv_hex(c, "0012000000", out, sizeof(out), &n), 0x6d00);
	/* GET RESPONSE with nothing pending */
	assert_int_equal(tv_hex(c, "00C0000000", out, sizeof(out), &n), 0x6985);
	/* output buffer checks */
	assert_int_equal(vcard_apdu(c, (const uint8_t *)"\x00\xfd\x00\x00", 4,
	    rsp, 1, &n), -1);
	assert_int_equal(n, 0);
	assert_int_equal(vcard_apdu(c, NULL, 4, rsp, 2, &n), -1);
	/* cap 2: the answer waits behind 61xx */
	assert_int_equal(vcard_apdu(c, (const uint8_t *)"\x00\xfd\x00\x00", 4,
	    rsp, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rsp[0], 0x61);
	assert_int_equal(rsp[1], 0x03);
	assert_int_equal(tv_hex(c, "00C0000000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x05\x07\x01", 3);
	vcard_free(&c);
}

/* ---- PIN and PUK --------------------------------------------------------- */

static void
test_verify(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[16];
	size_t n;

	(void)state;
	/* status query: not verified, 3 tries; it never verifies */
	assert_int_equal(tv_hex(c, "0020008000", out, sizeof(out), &n), 0x63c3);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x63c3);
	assert_int_equal(tv_verify(c, "654321"), 0x63c2);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x63c2);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x9000);
	/* a good VERIFY restored the counter */
	assert_int_equal(tv_hex(c, "00F7008000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out + n - 2, "\x03\x03", 2);
	/* log out */
	assert_int_equal(tv_hex(c, "0020FF80", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x63c3);
	assert_int_equal(tv_hex(c, "0020FF800131", out, sizeof(out), &n),
	    0x6a80);
	/* wrong length, wrong reference, wrong P1 */
	assert_int_equal(tv_hex(c, "002000800631323334353600", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00200081083132333435FFFF", out,
	    sizeof(out), &n), 0x6700);
	assert_int_equal(tv_hex(c, "002000810831323334353637FF", out,
	    sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "002001800831323334353637FF", out,
	    sizeof(out), &n), 0x6a86);
	/* an empty PIN is a status query, never a verified PIN */
	assert_int_equal(tv_hex(c, "002000800000", out, sizeof(out), &n),
	    0x6700);
	assert_int_equal(tv_hex(c, "0020008000", out, sizeof(out), &n), 0x63c3);
	/* block it */
	assert_int_equal(tv_verify(c, "000000"), 0x63c2);
	assert_int_equal(tv_verify(c, "000000"), 0x63c1);
	assert_int_equal(tv_verify(c, "000000"), 0x63c0);
	assert_int_equal(tv_verify(c, "123456"), 0x6983);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x6983);
	/* unblock with the PUK */
	assert_int_equal(tv_hex(c, "002C00801031323334353637383132333435FFFFFF"
	    "", out, sizeof(out), &n), 0x6a80);	/* 5-digit new PIN */
	assert_int_equal(tv_hex(c, "002C008010313233343536373837373737373737"
	    "37", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_verify(c, "123456"), 0x63c2);
	assert_int_equal(tv_verify(c, "77777777"), 0x9000);
	vcard_free(&c);
}

static void
test_change_pin_puk(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[16];
	size_t n;

	(void)state;
	/* PIN: wrong old, bad new, good */
	assert_int_equal(tv_hex(c, "0024008010303030303030FFFF313131313131FFFF",
	    out, sizeof(out), &n), 0x63c2);
	assert_int_equal(tv_hex(c, "0024008010313233343536FFFF3131313131FFFFFF",
	    out, sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0024008010313233343536FFFF31313131FF313131",
	    out, sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0024008010313233343536FFFF313131313131FFFF",
	    out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_verify(c, "123456"), 0x63c2);
	assert_int_equal(tv_verify(c, "111111"), 0x9000);
	/* wrong length, reference, P1 */
	assert_int_equal(tv_hex(c, "0024008008313233343536FFFF", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0024008210313233343536FFFF313131313131FFFF",
	    out, sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "0024018010313233343536FFFF313131313131FFFF",
	    out, sizeof(out), &n), 0x6a86);
	/* PUK: change, then block it and see RESET RETRY COUNTER refuse */
	assert_int_equal(tv_hex(c, "00240081103132333435363738" "3837363534333231",
	    out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "002C0080103132333435363738" "313233343536FFFF",
	    out, sizeof(out), &n), 0x63c2);
	assert_int_equal(tv_hex(c, "002C0080103132333435363738" "313233343536FFFF",
	    out, sizeof(out), &n), 0x63c1);
	assert_int_equal(tv_hex(c, "00240081103132333435363738" "3837363534333231",
	    out, sizeof(out), &n), 0x63c0);
	assert_int_equal(tv_hex(c, "002C0080103837363534333231" "313233343536FFFF",
	    out, sizeof(out), &n), 0x6983);
	assert_int_equal(tv_hex(c, "00240081103837363534333231" "3837363534333231",
	    out, sizeof(out), &n), 0x6983);
	assert_int_equal(tv_hex(c, "002C0081103837363534333231" "313233343536FFFF",
	    out, sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "002C0180103837363534333231" "313233343536FFFF",
	    out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "002C00800431323334", out, sizeof(out), &n),
	    0x6a80);
	vcard_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atr),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_version_serial),
		cmocka_unit_test(test_bad_apdus),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_change_pin_puk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
