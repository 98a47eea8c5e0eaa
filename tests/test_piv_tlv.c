/* SPDX-License-Identifier: MIT */
/*
 * tests/test_piv_tlv.c — the pure parsers: BER-TLV edge cases, public-key
 * templates, certificate objects (a decompression bomb hits the ceiling),
 * METADATA, CHUID identity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/x509.h>
#include <zlib.h>

#include "../piv/piv.h"
#include "../util/util.h"

static void
test_tlv_next(void **state)
{
	static const uint8_t ok[] = { 0x53, 0x03, 1, 2, 3, 0x5f, 0xc1, 0x02,
	    0x81, 0x01, 0xaa, 0x7f, 0x49, 0x82, 0x00, 0x01, 0xbb, 0xfe, 0x00 };
	const uint8_t *p = ok;
	size_t left = sizeof(ok);
	struct piv_tlv t;

	(void)state;
	assert_int_equal(piv_tlv_next(&p, &left, &t), 0);
	assert_int_equal(t.tag, 0x53);
	assert_int_equal(t.len, 3);
	assert_ptr_equal(t.value, ok + 2);
	assert_int_equal(piv_tlv_next(&p, &left, &t), 0);
	assert_int_equal(t.tag, 0x5fc102);
	assert_int_equal(t.len, 1);
	assert_int_equal(piv_tlv_next(&p, &left, &t), 0);
	assert_int_equal(t.tag, 0x7f49);
	assert_int_equal(t.len, 1);
	assert_int_equal(t.value[0], 0xbb);
	assert_int_equal(piv_tlv_next(&p, &left, &t), 0);
	assert_int_equal(t.tag, 0xfe);
	assert_int_equal(t.len, 0);
	assert_int_equal(left, 0);
	assert_int_equal(piv_tlv_next(&p, &left, &t), PIV_ERR_PROTO);
	assert_int_equal(piv_tlv_find(ok, sizeof(ok), 0x7f49, &t), 0);
	assert_int_equal(piv_tlv_find(ok, sizeof(ok), 0x70, &t),
	    PIV_ERR_NOT_FOUND);
}

static void
test_tlv_rejects(void **state)
{
	static const struct {
		const char *hex;
	} bad[] = {
		{ "5304010203" },	/* length past the end */
		{ "5380" },		/* indefinite */
		{ "538401000000" },	/* 4 length bytes */
		{ "5382FF" },		/* truncated length */
		{ "5F" },		/* truncated tag */
		{ "5FC1" },		/* truncated 3-byte tag */
		{ "5FC1828001" },	/* 4-byte tag */
		{ "53" },		/* no length */
		{ "5383FFFFFF00" },	/* huge length, few bytes */
	};
	uint8_t buf[16];
	const uint8_t *p;
	size_t n, left;
	struct piv_tlv t;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		assert_int_equal(util_unhex(bad[i].hex, buf, sizeof(buf), &n),
		    0);
		p = buf;
		left = n;
		assert_int_equal(piv_tlv_next(&p, &left, &t), PIV_ERR_PROTO);
		/* nothing consumed */
		assert_ptr_equal(p, buf);
		assert_int_equal(left, n);
		assert_int_equal(piv_tlv_find(buf, n, 0x99, &t),
		    PIV_ERR_PROTO);
	}
	/* a zero-length buffer is simply empty */
	assert_int_equal(piv_tlv_find(buf, 0, 0x53, &t), PIV_ERR_NOT_FOUND);
}

static void
test_put_len(void **state)
{
	static const struct {
		size_t len;
		const char *hex;
	} v[] = {
		{ 0, "00" }, { 0x7f, "7F" }, { 0x80, "8180" }, { 0xff, "81FF" },
		{ 0x100, "820100" }, { 0xffff, "82FFFF" },
		{ 0x10000, "83010000" }, { 0xffffff, "83FFFFFF" },
	};
	uint8_t out[4], exp[4];
	size_t n;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(v); i++) {
		assert_int_equal(util_unhex(v[i].hex, exp, sizeof(exp), &n), 0);
		assert_int_equal(piv_tlv_put_len(out, sizeof(out), v[i].len),
		    n);
		assert_memory_equal(out, exp, n);
		assert_int_equal(piv_tlv_put_len(out, n - 1, v[i].len), 0);
	}
	assert_int_equal(piv_tlv_put_len(out, sizeof(out), 0x1000000), 0);
}

static void
test_pubkey(void **state)
{
	uint8_t buf[600], pt[65];
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), *pub;
	size_t n;

	(void)state;
	assert_int_equal(EVP_PKEY_get_octet_string_param(k, "pub", pt,
	    sizeof(pt), &n), 1);
	assert_int_equal(n, 65);
	buf[0] = 0x7f;
	buf[1] = 0x49;
	buf[2] = 67;
	buf[3] = 0x86;
	buf[4] = 65;
	memcpy(buf + 5, pt, 65);
	assert_int_equal(piv_parse_pubkey(PIV_ALG_ECCP256, buf, 70, &pub), 0);
	assert_int_equal(EVP_PKEY_eq(pub, k), 1);
	EVP_PKEY_free(pub);
	/* as the wrong algorithm, truncated, or off the curve */
	pub = (EVP_PKEY *)1;
	assert_int_equal(piv_parse_pubkey(PIV_ALG_ECCP384, buf, 70, &pub),
	    PIV_ERR_PROTO);
	assert_null(pub);
	assert_int_equal(piv_parse_pubkey(PIV_ALG_ECCP256, buf, 69, &pub),
	    PIV_ERR_PROTO);
	assert_int_equal(piv_parse_pubkey(PIV_ALG_ED25519, buf, 70, &pub),
	    PIV_ERR_PROTO);
	assert_int_equal(piv_parse_pubkey(PIV_ALG_3DES, buf, 70, &pub),
	    PIV_ERR_ARG);
	buf[5 + 64] ^= 1;
	assert_int_equal(piv_parse_pubkey(PIV_ALG_ECCP256, buf, 70, &pub),
	    PIV_ERR_PROTO);
	assert_null(pub);
	/* RSA: a short modulus is refused, even exponent too */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "\x7f\x49\x82\x01\x09\x81\x82\x01\x00", 9);
	memset(buf + 9, 0xc5, 256);
	memcpy(buf + 9 + 256, "\x82\x03\x01\x00\x01", 5);
	assert_int_equal(piv_parse_pubkey(PIV_ALG_RSA2048, buf, 270, &pub), 0);
	assert_int_equal(EVP_PKEY_get_bits(pub), 2048);
	EVP_PKEY_free(pub);
	assert_int_equal(piv_parse_pubkey(PIV_ALG_RSA3072, buf, 270, &pub),
	    PIV_ERR_PROTO);
	buf[9 + 256 + 4] = 0x02;
	assert_int_equal(piv_parse_pubkey(PIV_ALG_RSA2048, buf, 270, &pub),
	    PIV_ERR_PROTO);
	EVP_PKEY_free(k);
}

/* 70 <gzip of 1 MiB of zeros> 71 01 01: must stop at the ceiling */
static void
test_cert_bomb(void **state)
{
	size_t plain = 1 << 20, n, h;
	uint8_t *zeros = calloc(1, plain), *obj, *z;
	uLongf zl;
	z_stream s;
	X509 *x = (X509 *)1;

	(void)state;
	assert_non_null(zeros);
	zl = compressBound(plain) + 64;
	z = malloc(zl);
	obj = malloc(zl + 16);
	assert_non_null(z);
	assert_non_null(obj);
	memset(&s, 0, sizeof(s));
	assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, 31, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	s.next_in = zeros;
	s.avail_in = (uInt)plain;
	s.next_out = z;
	s.avail_out = (uInt)zl;
	assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
	zl = s.total_out;
	deflateEnd(&s);
	n = 0;
	obj[n++] = 0x70;
	h = piv_tlv_put_len(obj + n, 4, zl);
	n += h;
	memcpy(obj + n, z, zl);
	n += zl;
	memcpy(obj + n, "\x71\x01\x01\xfe\x00", 5);
	n += 5;
	assert_int_equal(piv_parse_cert_object(obj, n, &x), PIV_ERR_BUFFER);
	assert_null(x);
	/* truncated gzip */
	obj[n - 6] ^= 0xff;
	assert_int_equal(piv_parse_cert_object(obj, n - 5 - 8, &x),
	    PIV_ERR_PROTO);
	/* empty object = no certificate; garbage inside 70 */
	assert_int_equal(piv_parse_cert_object(obj, 0, &x), PIV_ERR_NOT_FOUND);
	assert_int_equal(piv_parse_cert_object((const uint8_t *)
	    "\x70\x02\x30\x00\x71\x01\x00", 7, &x), PIV_ERR_PROTO);
	assert_int_equal(piv_parse_cert_object((const uint8_t *)
	    "\x71\x01\x00\xfe\x00", 5, &x), PIV_ERR_NOT_FOUND);
	free(zeros);
	free(z);
	free(obj);
}

static void
test_metadata_and_chuid(void **state)
{
	struct piv_metadata md;
	uint8_t buf[64], guid[16];
	size_t n;

	(void)state;
	assert_int_equal(util_unhex("010111 02020302 030101 050100 060203 03",
	    buf, sizeof(buf), &n), 0);
	assert_int_equal(piv_parse_metadata(buf, n, &md), 0);
	assert_int_equal(md.alg, 0x11);
	assert_int_equal(md.pin_policy, 3);
	assert_int_equal(md.touch_policy, 2);
	assert_int_equal(md.origin, 1);
	assert_int_equal(md.is_default, 0);
	assert_int_equal(md.retries_total, 3);
	piv_metadata_clear(&md);
	/* no algorithm, or a policy of the wrong size */
	assert_int_equal(util_unhex("030101", buf, sizeof(buf), &n), 0);
	assert_int_equal(piv_parse_metadata(buf, n, &md), PIV_ERR_PROTO);
	assert_int_equal(util_unhex("010111 020103", buf, sizeof(buf), &n), 0);
	assert_int_equal(piv_parse_metadata(buf, n, &md), PIV_ERR_PROTO);
	/* CHUID: all-zero GUID, no FASC-N: nothing to go by */
	assert_int_equal(util_unhex("341000000000000000000000000000000000",
	    buf, sizeof(buf), &n), 0);
	assert_int_equal(piv_chuid_guid(buf, n, guid), PIV_ERR_NOT_FOUND);
	buf[n - 1] = 7;
	assert_int_equal(piv_chuid_guid(buf, n, guid), 0);
	assert_int_equal(guid[15], 7);
	assert_int_equal(piv_chuid_guid(buf, n - 1, guid), PIV_ERR_PROTO);
}

static void
test_cert_object_slots(void **state)
{
	(void)state;
	assert_int_equal(piv_cert_object(PIV_SLOT_AUTH), 0x5fc105);
	assert_int_equal(piv_cert_object(PIV_SLOT_SIGN), 0x5fc10a);
	assert_int_equal(piv_cert_object(PIV_SLOT_KEYMGMT), 0x5fc10b);
	assert_int_equal(piv_cert_object(PIV_SLOT_CARDAUTH), 0x5fc101);
	assert_int_equal(piv_cert_object(PIV_SLOT_RETIRED1), 0x5fc10d);
	assert_int_equal(piv_cert_object(PIV_SLOT_RETIRED20), 0x5fc120);
	assert_int_equal(piv_cert_object(PIV_SLOT_ATTEST), 0x5fff01);
	assert_int_equal(piv_cert_object(PIV_SLOT_MGM), 0);
	assert_int_equal(piv_cert_object(0x96), 0);
	assert_string_equal(piv_strerror(12345), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlv_next),
		cmocka_unit_test(test_tlv_rejects),
		cmocka_unit_test(test_put_len),
		cmocka_unit_test(test_pubkey),
		cmocka_unit_test(test_cert_bomb),
		cmocka_unit_test(test_metadata_and_chuid),
		cmocka_unit_test(test_cert_object_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
