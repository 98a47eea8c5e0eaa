/* SPDX-License-Identifier: MIT */
/*
 * tests/test_agent_proto.c — the SSH agent protocol of `usbpiv agent`
 * (tools/agent_proto.c): framing bounds, each request's parse, every
 * truncation and trailing byte refused with the outputs cleared, lengths
 * that lie, SSH mpint encoding, EMSA-PKCS1-v1_5 against OpenSSL's
 * verification, and the DER ECDSA signature conversion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "../tools/agent_proto.h"

/* A SIGN_REQUEST: key "KEY", data "hello", flags 4. */
static const uint8_t SIGN[] = {
	13, 0, 0, 0, 3, 'K', 'E', 'Y', 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',
	0, 0, 0, 4,
};

static void
assert_cleared(const struct agent_req *r)
{
	assert_null(r->key);
	assert_null(r->data);
	assert_null(r->pass);
	assert_int_equal(r->keylen, 0);
	assert_int_equal(r->datalen, 0);
	assert_int_equal(r->passlen, 0);
	assert_int_equal(r->flags, 0);
}

static void
t_frame(void **state)
{
	static const uint8_t ok[4] = { 0, 4, 0, 0 };	/* 256 KiB: the bound */
	static const uint8_t big[4] = { 0, 4, 0, 1 };
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	static const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
	size_t n = 99;

	(void)state;
	assert_int_equal(agent_frame_len(ok, &n), 0);
	assert_int_equal(n, AGENT_MSG_MAX);
	assert_int_equal(agent_frame_len(big, &n), AGENT_ERR_MALFORMED);
	assert_int_equal(n, 0);
	assert_int_equal(agent_frame_len(zero, &n), AGENT_ERR_MALFORMED);
	assert_int_equal(agent_frame_len(huge, &n), AGENT_ERR_MALFORMED);
}

static void
t_identities(void **state)
{
	static const uint8_t m[] = { 11 }, extra[] = { 11, 0 };
	struct agent_req r;

	(void)state;
	assert_int_equal(agent_parse(m, sizeof(m), &r), 0);
	assert_int_equal(r.type, AGENTC_REQUEST_IDENTITIES);
	assert_int_equal(agent_parse(extra, sizeof(extra), &r),
	    AGENT_ERR_MALFORMED);
	assert_int_equal(agent_parse(m, 0, &r), AGENT_ERR_MALFORMED);
	assert_int_equal(agent_parse(NULL, 1, &r), AGENT_ERR_MALFORMED);
}

static void
t_sign(void **state)
{
	struct agent_req r;
	uint8_t buf[sizeof(SIGN) + 1];
	size_t n;

	(void)state;
	assert_int_equal(agent_parse(SIGN, sizeof(SIGN), &r), 0);
	assert_int_equal(r.type, AGENTC_SIGN_REQUEST);
	assert_int_equal(r.keylen, 3);
	assert_memory_equal(r.key, "KEY", 3);
	assert_ptr_equal(r.key, SIGN + 5);
	assert_int_equal(r.datalen, 5);
	assert_memory_equal(r.data, "hello", 5);
	assert_int_equal(r.flags, AGENT_RSA_SHA2_512);
	/* every truncation fails and leaves nothing set */
	for (n = 1; n < sizeof(SIGN); n++) {
		assert_int_equal(agent_parse(SIGN, n, &r), AGENT_ERR_MALFORMED);
		assert_int_equal(r.type, AGENTC_SIGN_REQUEST);
		assert_cleared(&r);
	}
	/* a trailing byte */
	memcpy(buf, SIGN, sizeof(SIGN));
	buf[sizeof(SIGN)] = 0;
	assert_int_equal(agent_parse(buf, sizeof(buf), &r), AGENT_ERR_MALFORMED);
	assert_cleared(&r);
	/* a key length that lies upwards, and one past the bound */
	memcpy(buf, SIGN, sizeof(SIGN));
	buf[4] = 4;
	assert_int_equal(agent_parse(buf, sizeof(SIGN), &r), AGENT_ERR_MALFORMED);
	assert_cleared(&r);
	buf[4] = 3;
	buf[1] = 0xff;
	assert_int_equal(agent_parse(buf, sizeof(SIGN), &r), AGENT_ERR_MALFORMED);
	assert_cleared(&r);
	/* a data length that lies downwards leaves bytes over */
	memcpy(buf, SIGN, sizeof(SIGN));
	buf[11] = 4;
	assert_int_equal(agent_parse(buf, sizeof(SIGN), &r), AGENT_ERR_MALFORMED);
	assert_cleared(&r);
}

static void
t_lock_unlock_other(void **state)
{
	static const uint8_t lock[] = { 22, 0, 0, 0, 2, 'p', 'w' };
	static const uint8_t unlock0[] = { 23, 0, 0, 0, 0 };
	static const uint8_t add[] = { 17, 0, 0, 0, 0 };
	uint8_t big[5 + AGENT_PASS_MAX + 1];
	struct agent_req r;

	(void)state;
	assert_int_equal(agent_parse(lock, sizeof(lock), &r), 0);
	assert_int_equal(r.type, AGENTC_LOCK);
	assert_int_equal(r.passlen, 2);
	assert_memory_equal(r.pass, "pw", 2);
	assert_int_equal(agent_parse(unlock0, sizeof(unlock0), &r), 0);
	assert_int_equal(r.type, AGENTC_UNLOCK);
	assert_int_equal(r.passlen, 0);
	assert_int_equal(agent_parse(add, sizeof(add), &r),
	    AGENT_ERR_UNSUPPORTED);
	assert_int_equal(r.type, 17);
	/* a passphrase longer than the bound */
	memset(big, 'x', sizeof(big));
	big[0] = 22;
	big[1] = 0;
	big[2] = 0;
	big[3] = (uint8_t)((AGENT_PASS_MAX + 1) >> 8);
	big[4] = (uint8_t)(AGENT_PASS_MAX + 1);
	assert_int_equal(agent_parse(big, sizeof(big), &r), AGENT_ERR_MALFORMED);
	assert_cleared(&r);
}

static void
t_mpint_and_msg(void **state)
{
	static const uint8_t v1[] = { 0, 0, 0x80, 1 };
	static const uint8_t v2[] = { 0, 0x7f };
	static const uint8_t e1[] = { 0, 0, 0, 3, 0, 0x80, 1 };
	static const uint8_t e2[] = { 0, 0, 0, 1, 0x7f };
	static const uint8_t e0[] = { 0, 0, 0, 0 };
	static const uint8_t fail[] = { 0, 0, 0, 1, AGENT_FAILURE };
	struct agent_buf b;

	(void)state;
	memset(&b, 0, sizeof(b));
	agent_put_mpint(&b, v1, sizeof(v1));
	assert_int_equal(b.len, sizeof(e1));
	assert_memory_equal(b.p, e1, sizeof(e1));
	agent_buf_free(&b);
	agent_put_mpint(&b, v2, sizeof(v2));
	assert_memory_equal(b.p, e2, sizeof(e2));
	agent_buf_free(&b);
	agent_put_mpint(&b, v2, 1);	/* zero */
	assert_memory_equal(b.p, e0, sizeof(e0));
	agent_buf_free(&b);
	assert_int_equal(agent_msg_simple(&b, AGENT_FAILURE), 0);
	assert_int_equal(b.len, sizeof(fail));
	assert_memory_equal(b.p, fail, sizeof(fail));
	agent_buf_free(&b);
	/* an empty message and one past the bound cannot be framed */
	agent_msg_begin(&b);
	assert_int_equal(agent_msg_end(&b), AGENT_ERR_MALFORMED);
	agent_buf_free(&b);
	{
		uint8_t *big = calloc(1, AGENT_MSG_MAX + 1);

		assert_non_null(big);
		agent_msg_begin(&b);
		agent_put_bytes(&b, big, AGENT_MSG_MAX + 1);
		assert_int_equal(agent_msg_end(&b), AGENT_ERR_MALFORMED);
		agent_buf_free(&b);
		free(big);
	}
}

/* EMSA-PKCS1-v1_5 from agent_pkcs1_pad, raw RSA'd, verifies in OpenSSL. */
static void
t_pkcs1(void **state)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *c;
	uint8_t h[64], em[256], sig[256];
	size_t siglen = sizeof(sig), hl;
	const EVP_MD *md[] = { EVP_sha1(), EVP_sha256(), EVP_sha384(),
	    EVP_sha512() };
	size_t i;

	(void)state;
	pk = EVP_RSA_gen(2048);
	assert_non_null(pk);
	for (i = 0; i < 4; i++) {
		hl = (size_t)EVP_MD_get_size(md[i]);
		memset(h, (int)(0x10 + i), sizeof(h));
		assert_int_equal(agent_pkcs1_pad(h, hl, em, sizeof(em)), 0);
		c = EVP_PKEY_CTX_new(pk, NULL);
		assert_int_equal(EVP_PKEY_sign_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_NO_PADDING), 1);
		siglen = sizeof(sig);
		assert_int_equal(EVP_PKEY_sign(c, sig, &siglen, em, sizeof(em)),
		    1);
		EVP_PKEY_CTX_free(c);
		c = EVP_PKEY_CTX_new(pk, NULL);
		assert_int_equal(EVP_PKEY_verify_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, md[i]), 1);
		assert_int_equal(EVP_PKEY_verify(c, sig, siglen, h, hl), 1);
		EVP_PKEY_CTX_free(c);
	}
	assert_int_equal(agent_pkcs1_pad(h, 33, em, sizeof(em)),
	    AGENT_ERR_MALFORMED);
	assert_int_equal(agent_pkcs1_pad(h, 64, em, 64 + 19 + 10),
	    AGENT_ERR_MALFORMED);
	EVP_PKEY_free(pk);
}

static void
t_ecdsa(void **state)
{
	/* r = 0x80..., 32 bytes (needs the 00), s = 0x01 */
	uint8_t der[80], bad[90];
	struct agent_buf b;
	size_t i, n = 0;

	(void)state;
	der[n++] = 0x30;
	der[n++] = 2 + 33 + 2 + 1;
	der[n++] = 0x02;
	der[n++] = 33;
	der[n++] = 0;
	for (i = 0; i < 32; i++)
		der[n++] = (uint8_t)(0x80 + i);
	der[n++] = 0x02;
	der[n++] = 1;
	der[n++] = 1;
	memset(&b, 0, sizeof(b));
	assert_int_equal(agent_ecdsa_sig(der, n, 32, &b), 0);
	assert_int_equal(b.len, 4 + 33 + 4 + 1);
	assert_int_equal(b.p[3], 33);
	assert_int_equal(b.p[4], 0);
	assert_int_equal(b.p[5], 0x80);
	assert_int_equal(b.p[37 + 3], 1);
	assert_int_equal(b.p[41], 1);
	agent_buf_free(&b);
	/* r wider than the field */
	assert_int_equal(agent_ecdsa_sig(der, n, 31, &b), AGENT_ERR_MALFORMED);
	agent_buf_free(&b);
	/* every truncation, and a trailing byte */
	for (i = 0; i < n; i++) {
		assert_int_equal(agent_ecdsa_sig(der, i, 32, &b),
		    AGENT_ERR_MALFORMED);
		agent_buf_free(&b);
	}
	memcpy(bad, der, n);
	bad[n] = 0;
	assert_int_equal(agent_ecdsa_sig(bad, n + 1, 32, &b),
	    AGENT_ERR_MALFORMED);
	agent_buf_free(&b);
	/* BER, not DER: the sequence length in long form */
	bad[0] = 0x30;
	bad[1] = 0x81;
	bad[2] = der[1];
	memcpy(bad + 3, der + 2, n - 2);
	assert_int_equal(agent_ecdsa_sig(bad, n + 1, 32, &b),
	    AGENT_ERR_MALFORMED);
	agent_buf_free(&b);
}

/* An ssh-ed25519 certificate built field by field (PROTOCOL.certkeys). */
static size_t
make_cert(uint8_t *out)
{
	static const char type[] = "ssh-ed25519-cert-v01@openssh.com";
	struct agent_buf b;
	uint8_t pk[32], nonce[32], z8[8] = { 0 };
	size_t n;

	memset(pk, 0x42, sizeof(pk));
	memset(nonce, 0x17, sizeof(nonce));
	memset(&b, 0, sizeof(b));
	agent_put_string(&b, type, strlen(type));
	agent_put_string(&b, nonce, sizeof(nonce));
	agent_put_string(&b, pk, sizeof(pk));
	agent_put_bytes(&b, z8, 8);		/* serial */
	agent_put_u32(&b, 1);			/* user certificate */
	agent_put_string(&b, "id", 2);
	agent_put_string(&b, "\0\0\0\4root", 8);
	agent_put_bytes(&b, z8, 8);
	agent_put_bytes(&b, z8, 8);
	agent_put_string(&b, NULL, 0);		/* critical options */
	agent_put_string(&b, NULL, 0);		/* extensions */
	agent_put_string(&b, NULL, 0);		/* reserved */
	agent_put_string(&b, "CAKEY", 5);
	agent_put_string(&b, "SIGNATURE", 9);
	assert_false(b.err);
	memcpy(out, b.p, b.len);
	n = b.len;
	agent_buf_free(&b);
	return n;
}

static void
t_cert(void **state)
{
	uint8_t cert[512], want[4 + 11 + 4 + 32];
	struct agent_buf k;
	size_t n, i;

	(void)state;
	n = make_cert(cert);
	memset(&k, 0, sizeof(k));
	assert_int_equal(agent_cert_pubkey(cert, n, &k), 0);
	memcpy(want, "\0\0\0\13ssh-ed25519\0\0\0\40", 4 + 11 + 4);
	memset(want + 19, 0x42, 32);
	assert_int_equal(k.len, sizeof(want));
	assert_memory_equal(k.p, want, sizeof(want));
	agent_buf_free(&k);
	for (i = 0; i < n; i++) {
		assert_int_not_equal(agent_cert_pubkey(cert, i, &k), 0);
		assert_int_equal(k.len, 0);
	}
	cert[n] = 0;
	assert_int_equal(agent_cert_pubkey(cert, n + 1, &k), AGENT_ERR_MALFORMED);
	/* a plain key is not a certificate */
	assert_int_equal(agent_cert_pubkey(want, sizeof(want), &k),
	    AGENT_ERR_UNSUPPORTED);
	assert_int_equal(k.len, 0);
}

static void
t_ct_equal(void **state)
{
	(void)state;
	assert_true(agent_ct_equal((const uint8_t *)"abc", 3,
	    (const uint8_t *)"abc", 3));
	assert_false(agent_ct_equal((const uint8_t *)"abc", 3,
	    (const uint8_t *)"abd", 3));
	assert_false(agent_ct_equal((const uint8_t *)"abc", 3,
	    (const uint8_t *)"ab", 2));
	assert_true(agent_ct_equal(NULL, 0, NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_frame),
		cmocka_unit_test(t_identities),
		cmocka_unit_test(t_sign),
		cmocka_unit_test(t_lock_unlock_other),
		cmocka_unit_test(t_mpint_and_msg),
		cmocka_unit_test(t_pkcs1),
		cmocka_unit_test(t_ecdsa),
		cmocka_unit_test(t_cert),
		cmocka_unit_test(t_ct_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
