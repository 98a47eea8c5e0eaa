/* SPDX-License-Identifier: MIT */
/*
 * tests/test_util_rsapad.c — the RSA padding of util/util_rsapad.c.
 *
 * Without arguments: cmocka tests of the decoders and the PSS encoder on
 * good and bad blocks, against OpenSSL.
 *
 * `ct` / `ct-leaky`: the constant-time check ("ctgrind", after Adam
 * Langley), run by tests/integration/ct_rsapad.sh under valgrind.  Each
 * block given to a decoder is marked undefined with
 * VALGRIND_MAKE_MEM_UNDEFINED; memcheck then reports every conditional
 * jump and every memory index that depends on it.  The outputs (return
 * code, length, message) are marked defined again before they are
 * checked: they are the decision the caller is allowed to see.  `ct-leaky`
 * runs an early-return decoder (the kind usbpiv had) the same way, so the
 * script can show that the check catches one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <valgrind/memcheck.h>

#include "../util/util.h"

static EVP_PKEY *rsa_key;	/* 2048 bits */

static EVP_PKEY *
key(void)
{
	if (rsa_key == NULL)
		rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return rsa_key;
}

/* Encrypts msg with OpenSSL (PKCS#1 v1.5 or OAEP-SHA-256 with label),
 * then undoes the RSA part only: em is the padded block. */
static int
padded_block(int oaep, const uint8_t *msg, size_t mlen, const char *label,
    uint8_t *em, size_t *k)
{
	uint8_t ct[256];
	size_t cl = sizeof(ct);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key(), NULL);
	int ok;

	ok = c != NULL && EVP_PKEY_encrypt_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, oaep ? RSA_PKCS1_OAEP_PADDING :
	    RSA_PKCS1_PADDING) == 1;
	if (ok && oaep) {
		ok = EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1;
		if (ok && label != NULL) {
			void *l = OPENSSL_memdup(label, strlen(label));

			ok = l != NULL && EVP_PKEY_CTX_set0_rsa_oaep_label(c, l,
			    (int)strlen(label)) == 1;
		}
	}
	ok = ok && EVP_PKEY_encrypt(c, ct, &cl, msg, mlen) == 1;
	EVP_PKEY_CTX_free(c);
	if (!ok)
		return -1;
	c = EVP_PKEY_CTX_new(key(), NULL);
	*k = 256;
	ok = c != NULL && EVP_PKEY_decrypt_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
	    EVP_PKEY_decrypt(c, em, k, ct, cl) == 1 && *k == 256;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

/* A PKCS#1 v1.5 type 2 block of k bytes around a message of mlen. */
static void
pkcs1_block(uint8_t *em, size_t k, size_t mlen)
{
	em[0] = 0;
	em[1] = 2;
	memset(em + 2, 0x5a, k - mlen - 3);
	em[k - mlen - 1] = 0;
	memset(em + k - mlen, 0xa5, mlen);
	if (mlen > 0)
		em[k - 1] = 0x11;
}

/* ---- the cmocka tests ---------------------------------------------------- */

static void
test_pkcs1(void **state)
{
	uint8_t em[256], out[256];
	size_t ol = 99, k = sizeof(em), mlen;

	(void)state;
	for (mlen = 0; mlen <= k - 11; mlen += 49) {
		pkcs1_block(em, k, mlen);
		assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, sizeof(out),
		    &ol), 0);
		assert_int_equal(ol, mlen);
		if (mlen > 0) {
			assert_int_equal(out[0], mlen == 1 ? 0x11 : 0xa5);
			assert_int_equal(out[mlen - 1], 0x11);
		}
	}
	/* the longest message: exactly 8 bytes of padding */
	memset(em + 2, 0x33, 8);
	em[10] = 0;
	memset(em + 11, 0x44, k - 11);
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, sizeof(out), &ol), 0);
	assert_int_equal(ol, k - 11);
	/* an output too small: -2, length 0; exactly right: fine */
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, 10, &ol), -2);
	assert_int_equal(ol, 0);
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, k - 11, &ol), 0);
	assert_int_equal(ol, k - 11);
	/* 7 bytes of padding */
	em[9] = 0;
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, sizeof(out), &ol),
	    -1);
	assert_int_equal(ol, 0);
	em[9] = 0x33;
	em[0] = 1;
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, sizeof(out), &ol),
	    -1);
	em[0] = 0;
	em[1] = 1;	/* type 1 is not type 2 */
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, sizeof(out), &ol),
	    -1);
	em[1] = 2;
	/* no separator at all */
	memset(em + 2, 0x77, k - 2);
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, sizeof(out), &ol),
	    -1);
	/* a block too short, too long */
	assert_int_equal(util_rsa_unpad_pkcs1(em, 10, out, sizeof(out), &ol),
	    -1);
	assert_int_equal(util_rsa_unpad_pkcs1(em, UTIL_RSA_MAX + 1, out,
	    sizeof(out), &ol), -1);
	/* OpenSSL's padding */
	assert_int_equal(padded_block(0, (const uint8_t *)"hello", 5, NULL, em,
	    &k), 0);
	assert_int_equal(util_rsa_unpad_pkcs1(em, k, out, sizeof(out), &ol), 0);
	assert_int_equal(ol, 5);
	assert_memory_equal(out, "hello", 5);
}

static void
test_oaep(void **state)
{
	uint8_t em[256], out[256];
	size_t k = 0, ol = 99;

	(void)state;
	assert_int_equal(padded_block(1, (const uint8_t *)"secret", 6, NULL,
	    em, &k), 0);
	assert_int_equal(util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(),
	    NULL, 0, out, sizeof(out), &ol), 0);
	assert_int_equal(ol, 6);
	assert_memory_equal(out, "secret", 6);
	assert_int_equal(util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(),
	    NULL, 0, out, 5, &ol), -2);
	assert_int_equal(ol, 0);
	/* another label, another hash, a flipped bit: invalid */
	assert_int_equal(util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(),
	    (const uint8_t *)"x", 1, out, sizeof(out), &ol), -1);
	assert_int_equal(util_rsa_unpad_oaep(em, k, EVP_sha1(), EVP_sha1(),
	    NULL, 0, out, sizeof(out), &ol), -1);
	em[100] ^= 4;
	assert_int_equal(util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(),
	    NULL, 0, out, sizeof(out), &ol), -1);
	assert_int_equal(ol, 0);
	/* with a label */
	assert_int_equal(padded_block(1, (const uint8_t *)"", 0, "label", em,
	    &k), 0);
	assert_int_equal(util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(),
	    (const uint8_t *)"label", 5, out, sizeof(out), &ol), 0);
	assert_int_equal(ol, 0);
	assert_int_equal(util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(),
	    NULL, 0, out, sizeof(out), &ol), -1);
}

/* PSS: encoded here, the RSA part by OpenSSL, verified by OpenSSL. */
static void
test_pss(void **state)
{
	static const size_t salts[] = { 0, 20, 32 };
	const uint8_t msg[] = "The quick brown fox";
	uint8_t h[32], em[256], sig[256];
	size_t i, sl;
	EVP_PKEY_CTX *c;

	(void)state;
	assert_int_equal(EVP_Digest(msg, sizeof(msg), h, NULL, EVP_sha256(),
	    NULL), 1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(util_rsa_pss_encode(EVP_sha256(), EVP_sha1(),
		    salts[i], h, 32, 2048, em, 256), 0);
		c = EVP_PKEY_CTX_new(key(), NULL);
		sl = sizeof(sig);
		assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_NO_PADDING), 1);
		assert_int_equal(EVP_PKEY_decrypt(c, sig, &sl, em, 256), 1);
		EVP_PKEY_CTX_free(c);
		c = EVP_PKEY_CTX_new(key(), NULL);
		assert_int_equal(EVP_PKEY_verify_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(c,
		    EVP_sha256()), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha1()), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(c,
		    (int)salts[i]), 1);
		assert_int_equal(EVP_PKEY_verify(c, sig, sl, h, 32), 1);
		EVP_PKEY_CTX_free(c);
	}
	/* a hash of the wrong size; a key too small for hash and salt */
	assert_int_equal(util_rsa_pss_encode(EVP_sha256(), EVP_sha256(), 32, h,
	    20, 2048, em, 256), -1);
	assert_int_equal(util_rsa_pss_encode(EVP_sha256(), EVP_sha256(), 230,
	    h, 32, 2048, em, 256), -2);
	/* modBits - 1 a multiple of 8: a leading zero byte */
	assert_int_equal(util_rsa_pss_encode(EVP_sha256(), EVP_sha256(), 32, h,
	    32, 2048, em, 200), -3);	/* em is not the modulus size */
	{
		uint8_t e2[129];

		assert_int_equal(util_rsa_pss_encode(EVP_sha256(), EVP_sha256(),
		    32, h, 32, 1025, e2, 129), 0);
		assert_int_equal(e2[0], 0);
		assert_int_equal(e2[128], 0xbc);
	}
}

/* ---- ctgrind --------------------------------------------------------------- */

/* The early-return decoder usbpiv's CLI had: what the check must catch. */
static int
leaky_unpad_pkcs1(const uint8_t *em, size_t k, uint8_t *out, size_t cap,
    size_t *outlen)
{
	size_t i;

	*outlen = 0;
	if (k < 11 || em[0] != 0x00 || em[1] != 0x02)
		return -1;
	for (i = 2; i < k && em[i] != 0x00; i++)
		;
	if (i >= k || i < 10 || k - i - 1 > cap)
		return -1;
	memcpy(out, em + i + 1, k - i - 1);
	*outlen = k - i - 1;
	return 0;
}

typedef int (*unpad_fn)(const uint8_t *, size_t, uint8_t *, size_t,
    size_t *);

static int
oaep_sha256(const uint8_t *em, size_t k, uint8_t *out, size_t cap,
    size_t *outlen)
{
	return util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(), NULL, 0,
	    out, cap, outlen);
}

/* One decoder run with the block secret: 0 when the (declassified)
 * answer is the expected one. */
static int
ct_run(unpad_fn f, const uint8_t *block, size_t k, int want_r,
    size_t want_len, const char *what)
{
	uint8_t em[UTIL_RSA_MAX], out[UTIL_RSA_MAX];
	size_t ol = 0;
	int r;

	memcpy(em, block, k);
	VALGRIND_MAKE_MEM_UNDEFINED(em, k);
	r = f(em, k, out, sizeof(out), &ol);
	VALGRIND_MAKE_MEM_DEFINED(&r, sizeof(r));
	VALGRIND_MAKE_MEM_DEFINED(&ol, sizeof(ol));
	VALGRIND_MAKE_MEM_DEFINED(out, sizeof(out));
	if (r != want_r || (r == 0 && ol != want_len)) {
		fprintf(stderr, "ct: %s: got %d/%zu, want %d/%zu\n", what, r,
		    ol, want_r, want_len);
		return -1;
	}
	return 0;
}

static int
ctgrind(int leaky)
{
	uint8_t em[256], good_oaep[256];
	size_t k = sizeof(em), mlen, kk = 0;
	unpad_fn pk = leaky ? leaky_unpad_pkcs1 : util_rsa_unpad_pkcs1;
	int bad = 0, runs = 0;

	if (!RUNNING_ON_VALGRIND)
		fprintf(stderr, "ct: not under valgrind: only the results "
		    "are checked\n");
	/* PKCS#1 v1.5: good blocks of several lengths, then bad ones */
	for (mlen = 0; mlen <= k - 11; mlen += 61, runs++) {
		pkcs1_block(em, k, mlen);
		bad |= ct_run(pk, em, k, 0, mlen, "pkcs1 good");
	}
	pkcs1_block(em, k, 20);
	em[1] = 1;
	bad |= ct_run(pk, em, k, -1, 0, "pkcs1 type 1");
	pkcs1_block(em, k, 20);
	em[5] = 0;
	bad |= ct_run(pk, em, k, -1, 0, "pkcs1 short padding");
	memset(em + 2, 0x77, k - 2);
	bad |= ct_run(pk, em, k, -1, 0, "pkcs1 no separator");
	runs += 3;
	/* OAEP: a real block, then broken */
	if (!leaky) {
		if (padded_block(1, (const uint8_t *)"passphrase", 10, NULL,
		    good_oaep, &kk) != 0 || kk != k)
			return 2;
		bad |= ct_run(oaep_sha256, good_oaep, k, 0, 10, "oaep good");
		memcpy(em, good_oaep, k);
		em[0] = 1;
		bad |= ct_run(oaep_sha256, em, k, -1, 0, "oaep first byte");
		memcpy(em, good_oaep, k);
		em[200] ^= 0x80;
		bad |= ct_run(oaep_sha256, em, k, -1, 0, "oaep flipped bit");
		runs += 3;
	}
	fprintf(stderr, "ct: %d decoder runs on secret blocks (%s)\n", runs,
	    leaky ? "early-return decoder" : "util_rsapad.c");
	return bad ? 1 : 0;
}

/* EMSA-PKCS1-v1_5: the DigestInfo of each hash as RFC 8017 9.2 lists it,
 * a caller's T as it is, and a T too long for the key refused. */
static void
test_pkcs1_encode(void **state)
{
	static const uint8_t p256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20 };
	static const uint8_t p1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05,
	    0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
	uint8_t h[32], em[128];
	size_t k = sizeof(em), i;

	(void)state;
	memset(h, 0xab, sizeof(h));
	assert_int_equal(util_rsa_pkcs1_encode(EVP_sha256(), h, 32, em, k), 0);
	assert_int_equal(em[0], 0x00);
	assert_int_equal(em[1], 0x01);
	for (i = 2; i < k - 32 - sizeof(p256) - 1; i++)
		assert_int_equal(em[i], 0xff);
	assert_int_equal(em[k - 32 - sizeof(p256) - 1], 0x00);
	assert_memory_equal(em + k - 32 - sizeof(p256), p256, sizeof(p256));
	assert_memory_equal(em + k - 32, h, 32);
	assert_int_equal(util_rsa_pkcs1_encode(EVP_sha1(), h, 20, em, k), 0);
	assert_memory_equal(em + k - 20 - sizeof(p1), p1, sizeof(p1));
	/* md NULL: T as given */
	assert_int_equal(util_rsa_pkcs1_encode(NULL, h, 32, em, k), 0);
	assert_int_equal(em[k - 33], 0x00);
	assert_memory_equal(em + k - 32, h, 32);
	/* T + 11 > k: too long; exactly k - 11 fits */
	assert_int_equal(util_rsa_pkcs1_encode(NULL, em, 118, em, k), -1);
	assert_int_equal(util_rsa_pkcs1_encode(NULL, h, 32, em, 42), -1);
	assert_int_equal(util_rsa_pkcs1_encode(NULL, h, 32, em, 43), 0);
	assert_int_equal(util_rsa_pkcs1_encode(NULL, NULL, 1, em, k), -2);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcs1),
		cmocka_unit_test(test_pkcs1_encode),
		cmocka_unit_test(test_oaep),
		cmocka_unit_test(test_pss),
	};
	int r;

	if (argc > 1 && strcmp(argv[1], "ct") == 0)
		r = ctgrind(0);
	else if (argc > 1 && strcmp(argv[1], "ct-leaky") == 0)
		r = ctgrind(1);
	else
		r = cmocka_run_group_tests(tests, NULL, NULL);
	EVP_PKEY_free(rsa_key);
	return r;
}
