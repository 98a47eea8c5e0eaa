/* SPDX-License-Identifier: MIT */
/*
 * tests/test_vcard.c — the software PIV card: APDU layer (short, extended,
 * chaining, GET RESPONSE), PIN/PUK, management key, data objects, and the
 * status words of each.  Key operations are in test_vcard_keys.c.
 */
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../util/util.h"
#include "lib/vcard_apdu.h"

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

	/* 5.2: no METADATA, no AES management key */
	o.version[1] = 2;
	o.version[2] = 7;
	c = tv_card_opts(&o);
	assert_int_equal(tv_hex(c, "00F7008000", out, sizeof(out), &n), 0x6d00);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_hex(c, "00FFFFFF13089B10" "01020304050607080102030405"
	    "060708", out, sizeof(out), &n), 0x6a80);
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
	/* a small cap on an extended answer: pieces that fit, then 61xx */
	{
		static const uint8_t ext[] = { 0x00, 0xcb, 0x3f, 0xff, 0x00,
		    0x00, 0x05, 0x5c, 0x03, 0x5f, 0xff, 0x01, 0x00, 0x00 };
		uint8_t small[50];
		size_t total = 0;

		assert_int_equal(vcard_apdu(c, ext, sizeof(ext), small,
		    sizeof(small), &n), 0);
		assert_int_equal(n, 50);
		assert_int_equal(small[48], 0x61);
		total = 48;
		while (small[n - 2] == 0x61) {
			assert_int_equal(vcard_apdu(c, (const uint8_t *)
			    "\x00\xc0\x00\x00\x00", 5, small, sizeof(small),
			    &n), 0);
			assert_true(n >= 2 && n <= 50);
			total += n - 2;
			assert_true(total < 4096);
		}
		assert_int_equal(small[n - 2], 0x90);
		assert_true(total > 700);
	}
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

/* ---- management key -------------------------------------------------------- */

static void
test_mgm_auth(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[64], req[32], enc[8], bad[24];
	size_t n;

	(void)state;
	/* mutual, 3DES, default key */
	assert_int_equal(tv_auth(c), 0x9000);
	/* a wrong key: the witness does not decrypt right -> 6982 */
	memcpy(bad, tv_default_mgm, 24);
	bad[0] ^= 0x02;
	assert_int_equal(tv_auth_key(c, 0x03, bad, 24), 0x6982);
	/* and that failure dropped the authentication */
	assert_int_equal(tv_hex(c, "00DB3FFF085C035FC10253017A", out,
	    sizeof(out), &n), 0x6982);
	/* single authentication: challenge, then its encryption */
	assert_int_equal(tv_hex(c, "0087039B047C02810000", out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(n, 12);
	assert_memory_equal(out, "\x7c\x0a\x81\x08", 4);
	tv_ecb(EVP_des_ede3_ecb(), tv_default_mgm, out + 4, 8, enc, 1);
	memcpy(req, "\x7c\x0a\x82\x08", 4);
	memcpy(req + 4, enc, 8);
	assert_int_equal(tv_cmd(c, 0x87, 0x03, 0x9b, req, 12, out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(n, 0);
	assert_int_equal(tv_hex(c, "00DB3FFF085C035FC10253017A", out,
	    sizeof(out), &n), 0x9000);
	/* a response with no challenge outstanding */
	assert_int_equal(tv_cmd(c, 0x87, 0x03, 0x9b, req, 12, out, sizeof(out),
	    &n), 0x6982);
	/* replaying the old response to a new challenge fails */
	assert_int_equal(tv_hex(c, "0087039B047C02810000", out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(tv_cmd(c, 0x87, 0x03, 0x9b, req, 12, out, sizeof(out),
	    &n), 0x6982);
	/* a witness answer without a witness request */
	memcpy(req, "\x7c\x14\x80\x08" "12345678" "\x81\x08" "abcdefgh", 22);
	assert_int_equal(tv_cmd(c, 0x87, 0x03, 0x9b, req, 22, out, sizeof(out),
	    &n), 0x6982);
	/* malformed: wrong algorithm, bad template, wrong block length */
	assert_int_equal(tv_hex(c, "00870A9B047C02800000", out, sizeof(out),
	    &n), 0x6a86);
	assert_int_equal(tv_hex(c, "0087039B047D02800000", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0087039B047C05800000", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0087039B087C0680008100820000", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0087039B077C05820301020300", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0087039B067C0480008000", out, sizeof(out),
	    &n), 0x6a80);
	vcard_free(&c);
}

static void
test_set_mgm_key(void **state)
{
	static const struct {
		uint8_t alg;
		size_t len;
	} kinds[] = { { 0x08, 16 }, { 0x0a, 24 }, { 0x0c, 32 }, { 0x03, 24 } };
	vcard_t *c = tv_card();
	uint8_t out[64], d[40], key[32];
	size_t n, i;

	(void)state;
	/* needs authentication */
	assert_int_equal(tv_hex(c, "00FFFFFF1B039B18" "010203040506070801020304"
	    "050607080102030405060708", out, sizeof(out), &n), 0x6982);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_hex(c, "00FF00FF1B039B18" "010203040506070801020304"
	    "050607080102030405060708", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00FFFF001B039B18" "010203040506070801020304"
	    "050607080102030405060708", out, sizeof(out), &n), 0x6a86);
	/* length byte and key disagree; unknown algorithm; wrong tag */
	assert_int_equal(tv_hex(c, "00FFFFFF13039B10" "010203040506070801020304"
	    "05060708", out, sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00FFFFFF1B079B18" "010203040506070801020304"
	    "050607080102030405060708", out, sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00FFFFFF1B039A18" "010203040506070801020304"
	    "050607080102030405060708", out, sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00FFFFFF02039B", out, sizeof(out), &n),
	    0x6a80);
	for (i = 0; i < UTIL_ARRAY_LEN(kinds); i++) {
		assert_int_equal(RAND_bytes(key, (int)kinds[i].len), 1);
		d[0] = kinds[i].alg;
		d[1] = 0x9b;
		d[2] = (uint8_t)kinds[i].len;
		memcpy(d + 3, key, kinds[i].len);
		assert_int_equal(tv_cmd(c, 0xff, 0xff, 0xff, d,
		    3 + kinds[i].len, out, sizeof(out), &n), 0x9000);
		/* metadata: algorithm, not default */
		assert_int_equal(tv_hex(c, "00F7009B00", out, sizeof(out), &n),
		    0x9000);
		assert_int_equal(out[2], kinds[i].alg);
		assert_int_equal(out[n - 1], 0);
		vcard_reset(c);
		assert_int_equal(tv_hex(c, "00A4040005A000000308", out,
		    sizeof(out), &n), 0x9000);
		assert_int_equal(tv_auth(c), 0x6a86 - (kinds[i].alg == 0x03 ?
		    0x6a86 - 0x6982 : 0));
		assert_int_equal(tv_auth_key(c, kinds[i].alg, key,
		    kinds[i].len), 0x9000);
	}
	/* touch required (P2 FE): fails without touch; FE in P1 is wrong */
	memcpy(d, "\x03\x9b\x18", 3);
	memcpy(d + 3, tv_default_mgm, 24);
	assert_int_equal(tv_cmd(c, 0xff, 0xfe, 0xff, d, 27, out, sizeof(out),
	    &n), 0x6a86);
	assert_int_equal(tv_cmd(c, 0xff, 0xff, 0xfe, d, 27, out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(tv_hex(c, "00F7009B00", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out + 3, "\x02\x02\x01\x02", 4);
	vcard_set_touch(c, 0);
	assert_int_equal(tv_auth(c), 0x6985);
	vcard_set_touch(c, 1);
	assert_int_equal(tv_auth(c), 0x9000);
	vcard_free(&c);
}

/* ---- data objects ------------------------------------------------------------ */

static void
test_get_put_data(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[4096], obj[4000];
	size_t n;

	(void)state;
	/* discovery object is built in */
	assert_int_equal(tv_hex(c, "00CB3FFF035C017E00", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(n, 20);
	assert_memory_equal(out, "\x7e\x12\x4f\x0b\xa0\x00\x00\x03\x08", 9);
	/* factory: no CHUID, no certificates */
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC10200", out, sizeof(out),
	    &n), 0x6a82);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC10500", out, sizeof(out),
	    &n), 0x6a82);
	/* unknown object, bad tag list, wrong P1/P2 */
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC20100", out, sizeof(out),
	    &n), 0x6a82);
	assert_int_equal(tv_hex(c, "00CB3FFF055D035FC10200", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00CB3FFF065C045FC1020100", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00CB3FFF045C035FC100", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00CB3FFF00", out, sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00CB3FFE055C035FC10200", out, sizeof(out),
	    &n), 0x6a86);
	/* PUT DATA needs the management key */
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FC1025303AABBCC", out,
	    sizeof(out), &n), 0x6982);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_hex(c, "00DB3FFE0A5C035FC1025303AABBCC", out,
	    sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FC1025304AABBCC", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FC1025403AABBCC", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FC2025303AABBCC", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "00DB3FFF085C017E5303AABBCC", out,
	    sizeof(out), &n), 0x6a81);
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FC1025303AABBCC", out,
	    sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC10200", out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "\x53\x03\xaa\xbb\xcc", 5);
	/* a 3000-byte certificate object through chaining and 61xx */
	memcpy(obj, "\x5c\x03\x5f\xc1\x05\x53\x82\x0b\xb8", 9);
	assert_int_equal(RAND_bytes(obj + 9, 3000), 1);
	assert_int_equal(tv_cmd(c, 0xdb, 0x3f, 0xff, obj, 3009, out,
	    sizeof(out), &n), 0x9000);
	assert_int_equal(tv_cmd(c, 0xcb, 0x3f, 0xff, obj, 5, out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(n, 3004);
	assert_memory_equal(out, obj + 5, 3004);
	/* one too big for an object */
	memcpy(obj, "\x5c\x03\x5f\xc1\x0a\x53\x82\x0b\xf4", 9);
	assert_int_equal(tv_cmd(c, 0xdb, 0x3f, 0xff, obj, 9 + 3060, out,
	    sizeof(out), &n), 0x6a84);
	memcpy(obj, "\x5c\x03\x5f\xc1\x0a\x53\x82\x0b\xf3", 9);
	assert_int_equal(tv_cmd(c, 0xdb, 0x3f, 0xff, obj, 9 + 3059, out,
	    sizeof(out), &n), 0x9000);
	/* delete by writing it empty */
	assert_int_equal(tv_hex(c, "00DB3FFF075C035FC1055300", out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC10500", out, sizeof(out),
	    &n), 0x6a82);
	/* YubiKey admin data and BIT group template */
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FFF005303800100", out,
	    sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FFF0000", out, sizeof(out),
	    &n), 0x9000);
	assert_memory_equal(out, "\x53\x03\x80\x01\x00", 5);
	assert_int_equal(tv_hex(c, "00DB3FFF095C027F615303010203", out,
	    sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00CB3FFF045C027F6100", out, sizeof(out),
	    &n), 0x9000);
	vcard_free(&c);
}

static void
test_pin_protected_objects(void **state)
{
	static const char *tags[] = { "5FC103", "5FC108", "5FC109", "5FC121" };
	vcard_t *c = tv_card();
	uint8_t out[64];
	char hex[64];
	size_t n, i;

	(void)state;
	assert_int_equal(tv_auth(c), 0x9000);
	for (i = 0; i < UTIL_ARRAY_LEN(tags); i++) {
		snprintf(hex, sizeof(hex), "00DB3FFF0A5C03%s5303010203", tags[i]);
		assert_int_equal(tv_hex(c, hex, out, sizeof(out), &n), 0x9000);
		snprintf(hex, sizeof(hex), "00CB3FFF055C03%s00", tags[i]);
		assert_int_equal(tv_hex(c, hex, out, sizeof(out), &n), 0x6982);
	}
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	for (i = 0; i < UTIL_ARRAY_LEN(tags); i++) {
		snprintf(hex, sizeof(hex), "00CB3FFF055C03%s00", tags[i]);
		assert_int_equal(tv_hex(c, hex, out, sizeof(out), &n), 0x9000);
		assert_memory_equal(out, "\x53\x03\x01\x02\x03", 5);
	}
	vcard_free(&c);
}

static void
test_attestation_object(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[4096];
	const uint8_t *p;
	X509 *x;
	size_t n;

	(void)state;
	assert_int_equal(tv_cmd(c, 0xcb, 0x3f, 0xff,
	    (const uint8_t *)"\x5c\x03\x5f\xff\x01", 5, out, sizeof(out), &n),
	    0x9000);
	assert_true(n > 300);
	assert_int_equal(out[0], 0x53);
	assert_int_equal(out[1], 0x82);
	assert_int_equal(out[4], 0x70);
	assert_int_equal(out[5], 0x82);
	p = out + 8;
	x = d2i_X509(NULL, &p, (long)(n - 8));
	assert_non_null(x);
	/* self-signed CA */
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	assert_int_equal(X509_check_ca(x), 1);
	X509_free(x);
	vcard_free(&c);
}

/* ---- APDU layer ----------------------------------------------------------- */

static void
test_extended(void **state)
{
	struct vcard_opts o;
	vcard_t *c = tv_card();
	uint8_t out[4096], cmd[4000];
	size_t n;

	(void)state;
	/* extended VERIFY (Lc 3 bytes) */
	assert_int_equal(tv_hex(c, "0020008000000831323334353600FF", out,
	    sizeof(out), &n), 0x63c2);
	assert_int_equal(tv_hex(c, "00200080000008313233343536FFFF", out,
	    sizeof(out), &n), 0x9000);
	/* extended Le alone (case 2E) */
	assert_int_equal(tv_hex(c, "00FD0000000000", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(n, 3);
	/* an 800-byte attestation certificate in one extended answer */
	assert_int_equal(tv_hex(c, "00CB3FFF0000055C035FFF010000", out,
	    sizeof(out), &n), 0x9000);
	assert_true(n > 256);
	/* the same with a short Le: 61xx pieces of 256 */
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FFF0100", out, sizeof(out),
	    &n), 0x6100);
	assert_int_equal(n, 256);
	assert_int_equal(tv_hex(c, "00C0000000", out, sizeof(out), &n), 0x6100);
	assert_int_equal(n, 256);
	/* a short Le of 16 bytes */
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FFF0110", out, sizeof(out),
	    &n), 0x6100);
	assert_int_equal(n, 16);
	/* GET RESPONSE asking for 32 */
	assert_int_equal(tv_hex(c, "00C0000020", out, sizeof(out), &n), 0x6100);
	assert_int_equal(n, 32);
	/* an extended GET RESPONSE takes the rest at once */
	assert_int_equal(tv_hex(c, "00C00000000000", out, sizeof(out), &n),
	    0x9000);
	assert_true(n > 256);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FFF0110", out, sizeof(out),
	    &n), 0x6100);
	/* GET RESPONSE with wrong P1 */
	assert_int_equal(tv_hex(c, "00C0010000", out, sizeof(out), &n), 0x6a86);
	/* any other command drops the pending answer */
	assert_int_equal(tv_hex(c, "00FD000000", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00C0000000", out, sizeof(out), &n), 0x6985);
	/* extended PUT DATA of 3000 bytes in one APDU */
	assert_int_equal(tv_auth(c), 0x9000);
	memcpy(cmd, "\x00\xdb\x3f\xff\x00\x0b\xc1" "\x5c\x03\x5f\xc1\x01"
	    "\x53\x82\x0b\xb8", 16);
	assert_int_equal(RAND_bytes(cmd + 16, 3000), 1);
	assert_int_equal(tv_raw(c, cmd, 16 + 3000, out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "00CB3FFF0000055C035FC1010000", out,
	    sizeof(out), &n), 0x9000);
	assert_int_equal(n, 3004);
	assert_memory_equal(out + 4, cmd + 16, 3000);
	vcard_free(&c);

	/* a card that refuses extended APDUs */
	memset(&o, 0, sizeof(o));
	o.no_extended = 1;
	c = tv_card_opts(&o);
	assert_int_equal(tv_hex(c, "00200080000008313233343536FFFF", out,
	    sizeof(out), &n), 0x6700);
	assert_int_equal(tv_hex(c, "00FD0000000000", out, sizeof(out), &n),
	    0x6700);
	assert_int_equal(tv_hex(c, "0020008008313233343536FFFF", out,
	    sizeof(out), &n), 0x9000);
	vcard_free(&c);
}

static void
test_chaining(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[256], cmd[300];
	size_t n, i;

	(void)state;
	assert_int_equal(tv_auth(c), 0x9000);
	/* PUT DATA in three parts */
	assert_int_equal(tv_hex(c, "10DB3FFF045C035FC1", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "10DB3FFF03025303", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "00DB3FFF03010203", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC10200", out, sizeof(out),
	    &n), 0x9000);
	assert_memory_equal(out, "\x53\x03\x01\x02\x03", 5);
	/* a chained part for another command: 6883, chain gone */
	assert_int_equal(tv_hex(c, "10DB3FFF045C035FC1", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "10CB3FFF03025303", out, sizeof(out), &n),
	    0x6883);
	assert_int_equal(tv_hex(c, "00DB3FFF03010203", out, sizeof(out), &n),
	    0x6a80);
	/* a plain command mid-chain discards the chain and runs */
	assert_int_equal(tv_hex(c, "10DB3FFF045C035FC1", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "00FD000000", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00DB3FFF0702530401020304", out,
	    sizeof(out), &n), 0x6a80);
	/* a chain of VERIFY parts joins into one PIN */
	assert_int_equal(tv_hex(c, "1020008003313233", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "0020008005343536FFFF", out, sizeof(out), &n),
	    0x9000);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x9000);
	/* more than 16 KiB in a chain: 6A84 */
	memcpy(cmd, "\x10\xdb\x3f\xff\xff", 5);
	memset(cmd + 5, 0x41, 255);
	for (i = 0; i < 64; i++)
		assert_int_equal(tv_raw(c, cmd, 260, out, sizeof(out), &n),
		    0x9000);
	assert_int_equal(tv_raw(c, cmd, 260, out, sizeof(out), &n), 0x6a84);
	/* the chain is gone: a final part alone is a plain (bad) PUT DATA */
	cmd[0] = 0x00;
	assert_int_equal(tv_raw(c, cmd, 260, out, sizeof(out), &n), 0x6a80);
	/* reset drops a chain */
	assert_int_equal(tv_hex(c, "10DB3FFF045C035FC1", out, sizeof(out), &n),
	    0x9000);
	vcard_reset(c);
	assert_int_equal(tv_hex(c, "00A4040005A000000308", out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(tv_hex(c, "00DB3FFF03025303", out, sizeof(out), &n),
	    0x6982);
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
		cmocka_unit_test(test_mgm_auth),
		cmocka_unit_test(test_set_mgm_key),
		cmocka_unit_test(test_get_put_data),
		cmocka_unit_test(test_pin_protected_objects),
		cmocka_unit_test(test_attestation_object),
		cmocka_unit_test(test_extended),
		cmocka_unit_test(test_chaining),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
