/* SPDX-License-Identifier: MIT */
/*
 * tests/test_piv_vcard.c — every piv/ command against the software card,
 * through four transports: extended APDUs; short only (chaining and 61xx
 * GET RESPONSE); a tiny transport (32-byte answers); and an extended
 * transport whose card refuses extended APDUs (fallback to short).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "../piv/piv.h"
#include "../util/util.h"
#include "vtoken/vcard.h"

enum { M_EXT, M_SHORT, M_TINY, M_REFUSED, M_COUNT };

static const uint8_t def_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

struct env {
	vcard_t *c;
	piv_io_t io;
	piv_card_t *p;
	uint64_t gen;
	size_t maxrsp;		/* largest answer seen */
	int ms;
	int mode;
};

static int
v_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct env *e = h;
	uint64_t t0 = util_now_ms();

	(void)secret;
	if (vcard_apdu(e->c, capdu, clen, rapdu, cap, rlen) != 0)
		return PIV_ERR_TRANSPORT;
	util_charge(ms, t0);
	if (*rlen > e->maxrsp)
		e->maxrsp = *rlen;
	return 0;
}

static uint64_t
v_generation(void *h)
{
	return ((struct env *)h)->gen;
}

static void
env_open(struct env *e, int mode)
{
	struct vcard_opts o;

	memset(e, 0, sizeof(*e));
	memset(&o, 0, sizeof(o));
	e->mode = mode;
	e->ms = 60000;
	o.no_extended = mode == M_REFUSED;
	assert_int_equal(vcard_new(&e->c, &o), 0);
	e->io.transmit = v_transmit;
	e->io.generation = v_generation;
	e->io.extended = mode == M_EXT || mode == M_REFUSED;
	e->io.rx_max = mode == M_TINY ? 34 : 0;
	assert_int_equal(piv_new(&e->p, &e->io, e), 0);
}

static void
env_close(struct env *e)
{
	piv_free(&e->p);
	vcard_free(&e->c);
	if (e->mode == M_TINY)
		assert_true(e->maxrsp <= 34);
}

#define FOR_EACH_MODE(e) \
	for (int m_ = 0; m_ < M_COUNT; m_++) \
		for (int once_ = (env_open(&(e), m_), 1); once_; \
		    once_ = 0, env_close(&(e)))

static void
login(struct env *e)
{
	assert_int_equal(piv_verify(e->p, PIV_PIN_REF, "123456", 6, NULL,
	    &e->ms), 0);
}

static void
admin(struct env *e)
{
	assert_int_equal(piv_auth_mgm(e->p, PIV_ALG_3DES, def_mgm, 24,
	    &e->ms), 0);
}

/* ---- PIN ---------------------------------------------------------------- */

static void
test_pin(void **state)
{
	struct env e;
	int tries, verified;

	(void)state;
	FOR_EACH_MODE(e) {
		assert_int_equal(piv_pin_status(e.p, PIV_PIN_REF, &verified,
		    &tries, &e.ms), 0);
		assert_int_equal(verified, 0);
		assert_int_equal(tries, 3);
		assert_int_equal(piv_verify(e.p, PIV_PIN_REF, "000000", 6,
		    &tries, &e.ms), PIV_ERR_PIN_WRONG);
		assert_int_equal(tries, 2);
		assert_int_equal(piv_verify(e.p, PIV_PIN_REF, "", 0, &tries,
		    &e.ms), PIV_ERR_ARG);
		assert_int_equal(piv_pin_status(e.p, PIV_PIN_REF, &verified,
		    &tries, &e.ms), 0);
		assert_int_equal(verified, 0);	/* not taken as verified */
		login(&e);
		assert_int_equal(piv_pin_status(e.p, PIV_PIN_REF, &verified,
		    &tries, &e.ms), 0);
		assert_int_equal(verified, 1);
		assert_int_equal(piv_change_ref(e.p, PIV_PIN_REF, "123456", 6,
		    "87654321", 8, &tries, &e.ms), 0);
		assert_int_equal(piv_verify(e.p, PIV_PIN_REF, "87654321", 8,
		    &tries, &e.ms), 0);
		assert_int_equal(piv_change_ref(e.p, PIV_PUK_REF, "12345678",
		    8, "11223344", 8, &tries, &e.ms), 0);
		/* block the PIN, unblock with the PUK */
		for (int i = 0; i < 3; i++)
			(void)piv_verify(e.p, PIV_PIN_REF, "999999", 6, &tries,
			    &e.ms);
		assert_int_equal(piv_verify(e.p, PIV_PIN_REF, "87654321", 8,
		    &tries, &e.ms), PIV_ERR_PIN_BLOCKED);
		assert_int_equal(tries, 0);
		assert_int_equal(piv_unblock_pin(e.p, "00000000", 8, "222222",
		    6, &tries, &e.ms), PIV_ERR_PIN_WRONG);
		assert_int_equal(tries, 2);
		assert_int_equal(piv_unblock_pin(e.p, "11223344", 8, "222222",
		    6, &tries, &e.ms), 0);
		assert_int_equal(piv_verify(e.p, PIV_PIN_REF, "222222", 6,
		    &tries, &e.ms), 0);
	}
}

/* ---- management key ----------------------------------------------------- */

static void
test_mgm(void **state)
{
	static const uint8_t aes[32] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
	    0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
	    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	    0x2c, 0x2d, 0x2e, 0x2f };
	uint8_t bad[24];
	struct piv_metadata md;
	struct env e;

	(void)state;
	memset(bad, 0x42, sizeof(bad));
	FOR_EACH_MODE(e) {
		assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_3DES, bad, 24,
		    &e.ms), PIV_ERR_AUTH_REQUIRED);
		/* set needs authentication */
		assert_int_equal(piv_set_mgm(e.p, PIV_ALG_AES256, aes, 32, 0,
		    &e.ms), PIV_ERR_AUTH_REQUIRED);
		admin(&e);
		assert_int_equal(piv_auth_mgm_single(e.p, PIV_ALG_3DES,
		    def_mgm, 24, &e.ms), 0);
		assert_int_equal(piv_metadata(e.p, PIV_SLOT_MGM, &md, &e.ms),
		    0);
		assert_int_equal(md.alg, PIV_ALG_3DES);
		assert_int_equal(md.is_default, 1);
		piv_metadata_clear(&md);
		assert_int_equal(piv_set_mgm(e.p, PIV_ALG_AES256, aes, 32, 0,
		    &e.ms), 0);
		assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_AES256, aes, 32,
		    &e.ms), 0);
		assert_int_equal(piv_auth_mgm_single(e.p, PIV_ALG_AES256, aes,
		    32, &e.ms), 0);
		assert_int_equal(piv_metadata(e.p, PIV_SLOT_MGM, &md, &e.ms),
		    0);
		assert_int_equal(md.alg, PIV_ALG_AES256);
		assert_int_equal(md.is_default, 0);
		piv_metadata_clear(&md);
		/* the old algorithm: the card refuses the data */
		assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_3DES, def_mgm, 24,
		    &e.ms), PIV_ERR_BAD_DATA);
		assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_AES256, aes, 32,
		    &e.ms), 0);
		assert_int_equal(piv_set_mgm(e.p, PIV_ALG_AES128, aes, 16, 0,
		    &e.ms), 0);
		assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_AES128, aes, 16,
		    &e.ms), 0);
	}
}

/* ---- data objects ------------------------------------------------------- */

static void
test_objects(void **state)
{
	uint8_t big[3000], *d = NULL;
	size_t n = 0;
	struct env e;
	uint64_t before;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	FOR_EACH_MODE(e) {
		assert_int_equal(piv_get_data(e.p, PIV_OBJ_CHUID, &d, &n,
		    &e.ms), PIV_ERR_NOT_FOUND);
		assert_int_equal(piv_put_data(e.p, 0x5fc105, big, 10, &e.ms),
		    PIV_ERR_AUTH_REQUIRED);
		admin(&e);
		assert_int_equal(piv_put_data(e.p, 0x5fc105, big, sizeof(big),
		    &e.ms), 0);
		before = piv_apdu_count(e.p);
		assert_int_equal(piv_get_data(e.p, 0x5fc105, &d, &n, &e.ms),
		    0);
		assert_int_equal(n, sizeof(big));
		assert_memory_equal(d, big, n);
		free(d);
		d = NULL;
		/* fewest APDUs: one extended exchange, or ceil(n / 256) */
		if (e.mode == M_EXT)
			assert_int_equal(piv_apdu_count(e.p) - before, 1);
		else if (e.mode == M_SHORT || e.mode == M_REFUSED)
			assert_int_equal(piv_apdu_count(e.p) - before,
			    (sizeof(big) + 4 + 255) / 256);
		assert_int_equal(piv_put_data(e.p, 0x5fc105, NULL, 0, &e.ms),
		    0);
		assert_int_equal(piv_get_data(e.p, 0x5fc105, &d, &n, &e.ms),
		    PIV_ERR_NOT_FOUND);
		assert_int_equal(piv_get_data(e.p, 0x123456, &d, &n, &e.ms),
		    PIV_ERR_ARG);
	}
}

/* ---- keys --------------------------------------------------------------- */

static int
verify_sig(EVP_PKEY *pub, const char *md, const uint8_t *msg, size_t mlen,
    const uint8_t *sig, size_t slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, pub, NULL) ==
	    1 && EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* PKCS#1 v1.5 DigestInfo block for SHA-256 of msg, modulus-sized. */
static void
rsa_block(const uint8_t *msg, size_t mlen, uint8_t *blk, size_t mb)
{
	static const uint8_t di[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20 };
	unsigned int hl;
	size_t t = sizeof(di) + 32;

	blk[0] = 0x00;
	blk[1] = 0x01;
	memset(blk + 2, 0xff, mb - t - 3);
	blk[mb - t - 1] = 0x00;
	memcpy(blk + mb - t, di, sizeof(di));
	EVP_Digest(msg, mlen, blk + mb - 32, &hl, EVP_sha256(), NULL);
}

static void
sign_and_check(struct env *e, uint8_t slot, uint8_t alg, EVP_PKEY *pub)
{
	static const uint8_t msg[] = "the quick brown fox";
	uint8_t in[512], sig[600], h[32];
	size_t n = 0, mb;
	unsigned int hl;

	login(e);
	if (alg == PIV_ALG_ED25519) {
		assert_int_equal(piv_sign(e->p, slot, alg, msg, sizeof(msg),
		    sig, sizeof(sig), &n, &e->ms), 0);
		assert_int_equal(n, 64);
		assert_true(verify_sig(pub, NULL, msg, sizeof(msg), sig, n));
	} else if (alg == PIV_ALG_ECCP256 || alg == PIV_ALG_ECCP384) {
		EVP_Digest(msg, sizeof(msg), h, &hl, EVP_sha256(), NULL);
		assert_int_equal(piv_sign(e->p, slot, alg, h, 32, sig,
		    sizeof(sig), &n, &e->ms), 0);
		assert_true(verify_sig(pub, "SHA256", msg, sizeof(msg), sig,
		    n));
		/* too small a buffer: error, and *outlen 0 */
		login(e);
		assert_int_equal(piv_sign(e->p, slot, alg, h, 32, sig, 8, &n,
		    &e->ms), PIV_ERR_BUFFER);
		assert_int_equal(n, 0);
	} else {
		mb = (size_t)EVP_PKEY_get_size(pub);
		rsa_block(msg, sizeof(msg), in, mb);
		assert_int_equal(piv_sign(e->p, slot, alg, in, mb, sig,
		    sizeof(sig), &n, &e->ms), 0);
		assert_int_equal(n, mb);
		assert_true(verify_sig(pub, "SHA256", msg, sizeof(msg), sig,
		    n));
	}
}

static void
ecdh_and_check(struct env *e, uint8_t slot, uint8_t alg, EVP_PKEY *pub)
{
	EVP_PKEY *peer = NULL;
	EVP_PKEY_CTX *ctx;
	uint8_t pt[133], mine[66], theirs[66];
	size_t ptlen = sizeof(pt), ml = sizeof(mine), tl = 0;

	if (alg == PIV_ALG_X25519)
		peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	else
		peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    alg == PIV_ALG_ECCP256 ? "P-256" : "P-384");
	assert_non_null(peer);
	if (alg == PIV_ALG_X25519)
		assert_int_equal(EVP_PKEY_get_raw_public_key(peer, pt, &ptlen),
		    1);
	else
		assert_int_equal(EVP_PKEY_get_octet_string_param(peer,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen), 1);
	ctx = EVP_PKEY_CTX_new(peer, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, pub), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, mine, &ml), 1);
	EVP_PKEY_CTX_free(ctx);
	login(e);
	assert_int_equal(piv_ecdh(e->p, slot, alg, pt, ptlen, theirs,
	    sizeof(theirs), &tl, &e->ms), 0);
	assert_int_equal(tl, ml);
	assert_memory_equal(mine, theirs, ml);
	EVP_PKEY_free(peer);
}

static void
decipher_and_check(struct env *e, uint8_t slot, uint8_t alg, EVP_PKEY *pub)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	uint8_t ct[512], pt[512];
	size_t cl = sizeof(ct), pl = 0;

	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING),
	    1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &cl,
	    (const uint8_t *)"secret", 6), 1);
	EVP_PKEY_CTX_free(ctx);
	login(e);
	assert_int_equal(piv_decipher(e->p, slot, alg, ct, cl, pt, sizeof(pt),
	    &pl, &e->ms), 0);
	assert_int_equal(pl, cl);
	assert_memory_equal(pt + pl - 6, "secret", 6);
	assert_int_equal(pt[pl - 7], 0);
}

static void
test_generate_sign(void **state)
{
	static const uint8_t algs[] = { PIV_ALG_ECCP256, PIV_ALG_ECCP384,
	    PIV_ALG_ED25519, PIV_ALG_X25519, PIV_ALG_RSA2048 };
	struct piv_metadata md;
	struct env e;
	EVP_PKEY *pub = NULL;

	(void)state;
	FOR_EACH_MODE(e) {
		assert_int_equal(piv_generate(e.p, PIV_SLOT_AUTH,
		    PIV_ALG_ECCP256, 0, 0, &pub, &e.ms), PIV_ERR_AUTH_REQUIRED);
		assert_null(pub);
		admin(&e);
		for (size_t i = 0; i < sizeof(algs); i++) {
			uint8_t a = algs[i];

			assert_int_equal(piv_generate(e.p, PIV_SLOT_AUTH, a,
			    PIV_PINPOLICY_ONCE, PIV_TOUCHPOLICY_NEVER, &pub,
			    &e.ms), 0);
			assert_non_null(pub);
			assert_int_equal(piv_metadata(e.p, PIV_SLOT_AUTH, &md,
			    &e.ms), 0);
			assert_int_equal(md.alg, a);
			assert_int_equal(md.origin, PIV_ORIGIN_GENERATED);
			assert_int_equal(md.pin_policy, PIV_PINPOLICY_ONCE);
			assert_int_equal(md.touch_policy,
			    PIV_TOUCHPOLICY_NEVER);
			assert_non_null(md.pub);
			assert_int_equal(EVP_PKEY_eq(md.pub, pub), 1);
			piv_metadata_clear(&md);
			if (a == PIV_ALG_X25519 || a == PIV_ALG_ECCP256 ||
			    a == PIV_ALG_ECCP384)
				ecdh_and_check(&e, PIV_SLOT_AUTH, a, pub);
			if (a != PIV_ALG_X25519)
				sign_and_check(&e, PIV_SLOT_AUTH, a, pub);
			if (a == PIV_ALG_RSA2048)
				decipher_and_check(&e, PIV_SLOT_AUTH, a, pub);
			EVP_PKEY_free(pub);
			pub = NULL;
		}
		assert_int_equal(piv_metadata(e.p, PIV_SLOT_SIGN, &md, &e.ms),
		    PIV_ERR_NOT_FOUND);
		assert_int_equal(piv_sign(e.p, PIV_SLOT_AUTH, PIV_ALG_RSA2048,
		    (const uint8_t *)"x", 1, (uint8_t[8]){ 0 }, 8, &(size_t){ 1 },
		    &e.ms), PIV_ERR_ARG);
	}
}

static void
test_import_move_delete(void **state)
{
	static const char *const kinds[] = { "P-256", "P-384", "ED25519",
	    "X25519", "RSA" };
	static const uint8_t algs[] = { PIV_ALG_ECCP256, PIV_ALG_ECCP384,
	    PIV_ALG_ED25519, PIV_ALG_X25519, PIV_ALG_RSA2048 };
	struct piv_metadata md;
	struct env e;
	EVP_PKEY *k[5];

	(void)state;
	k[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	k[2] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	k[3] = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	k[4] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	for (size_t i = 0; i < 5; i++)
		assert_non_null(k[i]);
	FOR_EACH_MODE(e) {
		assert_int_equal(piv_import_key(e.p, 0x82, k[0], 0, 0, &e.ms),
		    PIV_ERR_AUTH_REQUIRED);
		admin(&e);
		for (size_t i = 0; i < 5; i++) {
			assert_int_equal(piv_import_key(e.p, 0x82, k[i],
			    PIV_PINPOLICY_ALWAYS, 0, &e.ms), 0);
			assert_int_equal(piv_metadata(e.p, 0x82, &md, &e.ms),
			    0);
			assert_int_equal(md.alg, algs[i]);
			assert_int_equal(md.origin, PIV_ORIGIN_IMPORTED);
			assert_int_equal(md.pin_policy, PIV_PINPOLICY_ALWAYS);
			assert_non_null(md.pub);
			assert_int_equal(EVP_PKEY_eq(md.pub, k[i]), 1);
			piv_metadata_clear(&md);
			if (algs[i] != PIV_ALG_X25519)
				sign_and_check(&e, 0x82, algs[i], k[i]);
			else
				ecdh_and_check(&e, 0x82, algs[i], k[i]);
			(void)kinds;
		}
		/* move 82 -> 83, then delete */
		assert_int_equal(piv_move_key(e.p, 0x82, 0x83, &e.ms), 0);
		assert_int_equal(piv_metadata(e.p, 0x82, &md, &e.ms),
		    PIV_ERR_NOT_FOUND);
		assert_int_equal(piv_metadata(e.p, 0x83, &md, &e.ms), 0);
		assert_int_equal(md.alg, PIV_ALG_RSA2048);
		piv_metadata_clear(&md);
		assert_int_equal(piv_delete_key(e.p, 0x83, &e.ms), 0);
		assert_int_equal(piv_metadata(e.p, 0x83, &md, &e.ms),
		    PIV_ERR_NOT_FOUND);
	}
	for (size_t i = 0; i < 5; i++)
		EVP_PKEY_free(k[i]);
}

/* ---- certificates and attestation -------------------------------------- */

static X509 *
make_cert(EVP_PKEY *key, int big)
{
	X509 *x = X509_new();
	X509_NAME *n;
	char cn[600];

	assert_non_null(x);
	memset(cn, 'a', sizeof(cn));
	cn[big ? 500 : 10] = '\0';
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const uint8_t *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const uint8_t *)"usbpiv test", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void
test_certs_attest(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *pub = NULL;
	X509 *x = make_cert(key, 1), *y = NULL, *att = NULL;
	struct env e;

	(void)state;
	FOR_EACH_MODE(e) {
		assert_int_equal(piv_read_cert(e.p, PIV_SLOT_SIGN, &y, &e.ms),
		    PIV_ERR_NOT_FOUND);
		admin(&e);
		for (int z = 0; z < 2; z++) {
			assert_int_equal(piv_write_cert(e.p, PIV_SLOT_SIGN, x,
			    z, &e.ms), 0);
			assert_int_equal(piv_read_cert(e.p, PIV_SLOT_SIGN, &y,
			    &e.ms), 0);
			assert_int_equal(X509_cmp(x, y), 0);
			X509_free(y);
			y = NULL;
		}
		assert_int_equal(piv_delete_cert(e.p, PIV_SLOT_SIGN, &e.ms), 0);
		assert_int_equal(piv_read_cert(e.p, PIV_SLOT_SIGN, &y, &e.ms),
		    PIV_ERR_NOT_FOUND);
		assert_int_equal(piv_read_cert(e.p, 0x42, &y, &e.ms),
		    PIV_ERR_ARG);
		/* attestation of a generated key */
		assert_int_equal(piv_attest(e.p, PIV_SLOT_KEYMGMT, &att,
		    &e.ms), PIV_ERR_NOT_FOUND);
		assert_int_equal(piv_generate(e.p, PIV_SLOT_KEYMGMT,
		    PIV_ALG_ECCP256, 0, 0, &pub, &e.ms), 0);
		assert_int_equal(piv_attest(e.p, PIV_SLOT_KEYMGMT, &att,
		    &e.ms), 0);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(att), pub), 1);
		X509_free(att);
		att = NULL;
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	X509_free(x);
	EVP_PKEY_free(key);
}

/* ---- YubiKey administration -------------------------------------------- */

static void
test_admin(void **state)
{
	static const uint8_t aes[16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2,
	    3, 4, 5, 6 };
	struct piv_identity id;
	struct piv_metadata md;
	uint8_t key[32];
	size_t kl = 5;
	int tries;
	struct env e;

	(void)state;
	FOR_EACH_MODE(e) {
		assert_int_equal(piv_identity(e.p, &id, &e.ms), 0);
		assert_int_equal(id.has_serial, 1);
		assert_int_equal(id.serial, 13371337);
		assert_int_equal(id.has_version, 1);
		assert_memory_equal(id.version, "\x05\x07\x01", 3);
		assert_int_equal(piv_apdu_count(e.p), 3);
		/* PIN-protected management key */
		assert_int_equal(piv_read_protected_mgm(e.p, key, sizeof(key),
		    &kl, &e.ms), PIV_ERR_AUTH_REQUIRED);
		assert_int_equal(kl, 0);
		admin(&e);
		login(&e);
		assert_int_equal(piv_read_protected_mgm(e.p, key, sizeof(key),
		    &kl, &e.ms), PIV_ERR_NOT_FOUND);
		assert_int_equal(piv_set_mgm(e.p, PIV_ALG_AES128, aes, 16, 0,
		    &e.ms), 0);
		assert_int_equal(piv_write_protected_mgm(e.p, aes, 16, &e.ms),
		    0);
		assert_int_equal(piv_read_protected_mgm(e.p, key, sizeof(key),
		    &kl, &e.ms), 0);
		assert_int_equal(kl, 16);
		assert_memory_equal(key, aes, 16);
		assert_int_equal(piv_read_protected_mgm(e.p, key, 8, &kl,
		    &e.ms), PIV_ERR_BUFFER);
		assert_int_equal(kl, 0);
		/* retries */
		assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_AES128, aes, 16,
		    &e.ms), 0);
		login(&e);
		assert_int_equal(piv_set_pin_retries(e.p, 5, 4, &e.ms), 0);
		assert_int_equal(piv_metadata(e.p, PIV_PIN_REF, &md, &e.ms),
		    0);
		assert_int_equal(md.retries_total, 5);
		assert_int_equal(md.retries_left, 5);
		piv_metadata_clear(&md);
		/* reset only once PIN and PUK are blocked */
		assert_int_equal(piv_reset(e.p, &e.ms), PIV_ERR_CONDITIONS);
		for (int i = 0; i < 5; i++)
			(void)piv_verify(e.p, PIV_PIN_REF, "000000", 6, &tries,
			    &e.ms);
		for (int i = 0; i < 4; i++)
			(void)piv_change_ref(e.p, PIV_PUK_REF, "00000000", 8,
			    "00000000", 8, &tries, &e.ms);
		assert_int_equal(piv_reset(e.p, &e.ms), 0);
		admin(&e);	/* factory key again */
		login(&e);
	}
}

static void
test_generation(void **state)
{
	struct env e;
	int verified, tries;
	uint64_t n;

	(void)state;
	FOR_EACH_MODE(e) {
		login(&e);
		n = piv_apdu_count(e.p);
		assert_int_equal(n, 2);	/* SELECT + VERIFY */
		/* the card was reset behind our back */
		vcard_reset(e.c);
		e.gen++;
		assert_int_equal(piv_pin_status(e.p, PIV_PIN_REF, &verified,
		    &tries, &e.ms), 0);
		assert_int_equal(verified, 0);
		assert_int_equal(piv_apdu_count(e.p), n + 2);
		assert_int_equal(piv_select(e.p, &e.ms), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_mgm),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_generate_sign),
		cmocka_unit_test(test_import_move_delete),
		cmocka_unit_test(test_certs_attest),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_generation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
