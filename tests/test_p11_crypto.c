/* SPDX-License-Identifier: MIT */
/*
 * PKCS#11 cryptography over the software card, checked with OpenSSL:
 * every signature mechanism (single- and multi-part), verify, RSA
 * decryption (PKCS#1 v1.5, OAEP, raw) and encryption, ECDH, digests;
 * writes (key generation, import, certificates, deletion); the
 * always-authenticate flow; stale login after another program reset the
 * card.  (The RSA padding itself: tests/test_util_rsapad.c.)
 */
#include <pthread.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "lib/p11_test_backend.h"
#include "../pkcs11/usbpiv-pkcs11.h"

static EVP_PKEY *pub_9a, *pub_9c, *pub_9d, *pub_9e, *pub_82, *pub_83;
static const uint8_t msg[] = "The quick brown fox jumps over the lazy dog";

static int
setup_keys(void **state)
{
	(void)state;
	tb_setup(1);
	pub_9a = tb_genkey(0, 0x9a, PIV_ALG_ECCP256, 0);
	pub_9c = tb_genkey(0, 0x9c, PIV_ALG_RSA2048, 0);
	pub_9d = tb_genkey(0, 0x9d, PIV_ALG_RSA2048, PIV_PINPOLICY_ONCE);
	pub_9e = tb_genkey(0, 0x9e, PIV_ALG_ED25519, 0);
	pub_82 = tb_genkey(0, 0x82, PIV_ALG_X25519, 0);
	pub_83 = tb_genkey(0, 0x83, PIV_ALG_ECCP384, 0);
	return 0;
}

static int
teardown_keys(void **state)
{
	(void)state;
	tb_teardown();
	EVP_PKEY_free(pub_9a);
	EVP_PKEY_free(pub_9c);
	EVP_PKEY_free(pub_9d);
	EVP_PKEY_free(pub_9e);
	EVP_PKEY_free(pub_82);
	EVP_PKEY_free(pub_83);
	return 0;
}

static int
fini(void **state)
{
	(void)state;
	(void)C_Finalize(NULL);
	unsetenv("USBPIV_RELOGIN");
	return 0;
}

static CK_SESSION_HANDLE
open_user(void)
{
	CK_SESSION_HANDLE h = tb_open(CKF_RW_SESSION);

	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	return h;
}

static const EVP_MD *
md_of(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1: return EVP_sha1();
	case CKM_SHA224: return EVP_sha224();
	case CKM_SHA256: return EVP_sha256();
	case CKM_SHA384: return EVP_sha384();
	default: return EVP_sha512();
	}
}

/* OpenSSL verification of an RSA signature over msg. */
static void
ossl_verify_rsa(EVP_PKEY *pk, const EVP_MD *md, const EVP_MD *pss,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;

	assert_int_equal(EVP_DigestVerifyInit(c, &pc, md, NULL, pk), 1);
	if (pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc,
		    EVP_MD_get_size(md)), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, pss), 1);
	}
	assert_int_equal(EVP_DigestVerify(c, sig, siglen, msg, sizeof(msg)),
	    1);
	EVP_MD_CTX_free(c);
}

static void
test_sign_rsa(void **state)
{
	static const struct { CK_MECHANISM_TYPE m, h; int pss; } v[] = {
		{ CKM_SHA1_RSA_PKCS, CKM_SHA_1, 0 },
		{ CKM_SHA224_RSA_PKCS, CKM_SHA224, 0 },
		{ CKM_SHA256_RSA_PKCS, CKM_SHA256, 0 },
		{ CKM_SHA384_RSA_PKCS, CKM_SHA384, 0 },
		{ CKM_SHA512_RSA_PKCS, CKM_SHA512, 0 },
		{ CKM_SHA1_RSA_PKCS_PSS, CKM_SHA_1, 1 },
		{ CKM_SHA224_RSA_PKCS_PSS, CKM_SHA224, 1 },
		{ CKM_SHA256_RSA_PKCS_PSS, CKM_SHA256, 1 },
		{ CKM_SHA384_RSA_PKCS_PSS, CKM_SHA384, 1 },
		{ CKM_SHA512_RSA_PKCS_PSS, CKM_SHA512, 1 },
	};
	static const CK_RSA_PKCS_MGF_TYPE mgf[] = { CKG_MGF1_SHA1,
	    CKG_MGF1_SHA224, CKG_MGF1_SHA256, CKG_MGF1_SHA384,
	    CKG_MGF1_SHA512 };
	const EVP_MD *mgf_md[] = { EVP_sha1(), EVP_sha224(), EVP_sha256(),
	    EVP_sha384(), EVP_sha512() };
	CK_SESSION_HANDLE h = open_user();
	CK_OBJECT_HANDLE k = tb_find1(h, CKO_PRIVATE_KEY, 3);
	CK_OBJECT_HANDLE pk = tb_find1(h, CKO_PUBLIC_KEY, 3);
	uint8_t sig[512];
	size_t i;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(v); i++) {
		const EVP_MD *md = md_of(v[i].h);
		CK_RSA_PKCS_PSS_PARAMS pp = { v[i].h, mgf[i % 5],
		    (CK_ULONG)EVP_MD_get_size(md) };
		CK_MECHANISM m = { v[i].m, v[i].pss ? &pp : NULL,
		    v[i].pss ? sizeof(pp) : 0 };
		CK_ULONG sl = 0;

		/* single part, with a size query first */
		assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
		assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), NULL, &sl), CKR_OK);
		assert_int_equal(sl, 256);
		sl = 10;
		assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), sig, &sl), CKR_BUFFER_TOO_SMALL);
		assert_int_equal(sl, 256);
		assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), sig, &sl), CKR_OK);
		ossl_verify_rsa(pub_9d, md, v[i].pss ? mgf_md[i % 5] : NULL,
		    sig, sl);
		/* our own verify, and a tampered signature fails */
		assert_int_equal(C_VerifyInit(h, &m, pk), CKR_OK);
		assert_int_equal(C_Verify(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), sig, sl), CKR_OK);
		sig[10] ^= 1;
		assert_int_equal(C_VerifyInit(h, &m, pk), CKR_OK);
		assert_int_equal(C_Verify(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), sig, sl), CKR_SIGNATURE_INVALID);
		/* multi-part */
		assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
		assert_int_equal(C_SignUpdate(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    10), CKR_OK);
		assert_int_equal(C_SignUpdate(h,
		    (CK_BYTE_PTR)(uintptr_t)msg + 10, sizeof(msg) - 10),
		    CKR_OK);
		sl = sizeof(sig);
		assert_int_equal(C_SignFinal(h, sig, &sl), CKR_OK);
		ossl_verify_rsa(pub_9d, md, v[i].pss ? mgf_md[i % 5] : NULL,
		    sig, sl);
		assert_int_equal(C_VerifyInit(h, &m, pk), CKR_OK);
		assert_int_equal(C_VerifyUpdate(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg)), CKR_OK);
		assert_int_equal(C_VerifyFinal(h, sig, sl), CKR_OK);
	}
}

/* PSS with MGF1 = the hash: OpenSSL's default, checked by OpenSSL. */
static void
test_sign_rsa_pss_raw(void **state)
{
	CK_SESSION_HANDLE h = open_user();
	CK_OBJECT_HANDLE k = tb_find1(h, CKO_PRIVATE_KEY, 3);
	CK_RSA_PKCS_PSS_PARAMS pp = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &pp, sizeof(pp) };
	uint8_t dig[32], sig[256], di[51];
	CK_ULONG sl = sizeof(sig);
	EVP_PKEY_CTX *c;
	static const uint8_t pre[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20 };

	(void)state;
	assert_int_equal(EVP_Digest(msg, sizeof(msg), dig, NULL, EVP_sha256(),
	    NULL), 1);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	assert_int_equal(C_Sign(h, dig, 32, sig, &sl), CKR_OK);
	c = EVP_PKEY_CTX_new(pub_9d, NULL);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING),
	    1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, 32), 1);
	assert_int_equal(EVP_PKEY_verify(c, sig, sl, dig, 32), 1);
	EVP_PKEY_CTX_free(c);
	/* wrong hash length for PSS */
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, dig, 20, sig, &sl), CKR_DATA_LEN_RANGE);
	/* CKM_RSA_PKCS over a DigestInfo */
	memcpy(di, pre, sizeof(pre));
	memcpy(di + sizeof(pre), dig, 32);
	m.mechanism = CKM_RSA_PKCS;
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, di, sizeof(di), sig, &sl), CKR_OK);
	ossl_verify_rsa(pub_9d, EVP_sha256(), NULL, sig, sl);
	/* CKM_RSA_X_509: raw; the public operation gives the input back */
	m.mechanism = CKM_RSA_X_509;
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, dig, 32, sig, &sl), CKR_OK);
	{
		uint8_t rec[256];
		size_t rl = sizeof(rec);

		c = EVP_PKEY_CTX_new(pub_9d, NULL);
		assert_int_equal(EVP_PKEY_verify_recover_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_NO_PADDING), 1);
		assert_int_equal(EVP_PKEY_verify_recover(c, rec, &rl, sig, sl),
		    1);
		assert_int_equal(rl, 256);
		assert_memory_equal(rec + 224, dig, 32);
		EVP_PKEY_CTX_free(c);
	}
	/* mechanism / key mismatches */
	m.mechanism = CKM_ECDSA;
	assert_int_equal(C_SignInit(h, &m, k), CKR_KEY_TYPE_INCONSISTENT);
	m.mechanism = CKM_SHA256_RSA_PKCS;
	assert_int_equal(C_SignInit(h, &m, tb_find1(h, CKO_PUBLIC_KEY, 3)),
	    CKR_KEY_HANDLE_INVALID);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OPERATION_ACTIVE);
}

static void
ossl_verify_ecdsa(EVP_PKEY *pk, const uint8_t *dig, size_t dl,
    const uint8_t *sig, size_t sl)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	int n;

	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)sl / 2, NULL),
	    BN_bin2bn(sig + sl / 2, (int)sl / 2, NULL)), 1);
	n = i2d_ECDSA_SIG(es, &der);
	assert_true(n > 0);
	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_verify(c, der, (size_t)n, dig, dl), 1);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(c);
}

static void
test_sign_ecdsa(void **state)
{
	static const struct { CK_MECHANISM_TYPE m, h; } v[] = {
		{ CKM_ECDSA_SHA1, CKM_SHA_1 },
		{ CKM_ECDSA_SHA224, CKM_SHA224 },
		{ CKM_ECDSA_SHA256, CKM_SHA256 },
		{ CKM_ECDSA_SHA384, CKM_SHA384 },
		{ CKM_ECDSA_SHA512, CKM_SHA512 },
		{ CKM_ECDSA, CKM_SHA256 },
		{ CKM_ECDSA, CKM_SHA384 },
	};
	CK_SESSION_HANDLE h = open_user();
	uint8_t sig[128], dig[64];
	unsigned int dl;
	size_t i, j;

	(void)state;
	for (j = 0; j < 2; j++) {
		uint8_t id = j == 0 ? 1 : 6;
		EVP_PKEY *pub = j == 0 ? pub_9a : pub_83;
		CK_OBJECT_HANDLE k = tb_find1(h, CKO_PRIVATE_KEY, id);
		CK_OBJECT_HANDLE pk = tb_find1(h, CKO_PUBLIC_KEY, id);

		for (i = 0; i < UTIL_ARRAY_LEN(v); i++) {
			CK_MECHANISM m = { v[i].m, NULL, 0 };
			CK_ULONG sl = sizeof(sig);

			assert_int_equal(EVP_Digest(msg, sizeof(msg), dig, &dl,
			    md_of(v[i].h), NULL), 1);
			assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
			if (v[i].m == CKM_ECDSA)
				assert_int_equal(C_Sign(h, dig, dl, sig, &sl),
				    CKR_OK);
			else
				assert_int_equal(C_Sign(h,
				    (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
				    sig, &sl), CKR_OK);
			assert_int_equal(sl, j == 0 ? 64 : 96);
			ossl_verify_ecdsa(pub, dig, dl, sig, sl);
			assert_int_equal(C_VerifyInit(h, &m, pk), CKR_OK);
			if (v[i].m == CKM_ECDSA)
				assert_int_equal(C_Verify(h, dig, dl, sig, sl),
				    CKR_OK);
			else
				assert_int_equal(C_Verify(h,
				    (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
				    sig, sl), CKR_OK);
		}
	}
}

static void
test_sign_eddsa(void **state)
{
	CK_SESSION_HANDLE h = open_user();
	CK_OBJECT_HANDLE k = tb_find1(h, CKO_PRIVATE_KEY, 4);
	CK_MECHANISM m = { CKM_EDDSA, NULL, 0 };
	uint8_t sig[64];
	CK_ULONG sl = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	(void)state;
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
	    sig, &sl), CKR_OK);
	assert_int_equal(sl, 64);
	assert_int_equal(EVP_DigestVerifyInit(c, NULL, NULL, NULL, pub_9e), 1);
	assert_int_equal(EVP_DigestVerify(c, sig, sl, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(c);
	assert_int_equal(C_VerifyInit(h, &m, tb_find1(h, CKO_PUBLIC_KEY, 4)),
	    CKR_OK);
	assert_int_equal(C_Verify(h, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
	    sig, sl), CKR_OK);
	/* no multi-part EdDSA; X25519 does not sign */
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	assert_int_equal(C_SignUpdate(h, sig, 3), CKR_FUNCTION_NOT_SUPPORTED);
	/* ... and the failed update ended the operation */
	assert_int_equal(C_SignFinal(h, sig, &sl), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_VerifyInit(h, &m, tb_find1(h, CKO_PUBLIC_KEY, 4)),
	    CKR_OK);
	assert_int_equal(C_VerifyUpdate(h, sig, 3), CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(C_VerifyFinal(h, sig, sl),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_SignInit(h, &m, tb_find1(h, CKO_PRIVATE_KEY, 5)),
	    CKR_KEY_TYPE_INCONSISTENT);
}

static void
test_always_authenticate(void **state)
{
	CK_SESSION_HANDLE h = open_user();
	CK_OBJECT_HANDLE k = tb_find1(h, CKO_PRIVATE_KEY, 2);
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	uint8_t sig[256];
	CK_ULONG sl = sizeof(sig);

	(void)state;
	assert_int_equal(C_Login(h, CKU_CONTEXT_SPECIFIC, U(TB_PIN), 6),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
	    sig, &sl), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	assert_int_equal(C_Login(h, CKU_CONTEXT_SPECIFIC, U("000000"), 6),
	    CKR_PIN_INCORRECT);
	assert_int_equal(C_Login(h, CKU_CONTEXT_SPECIFIC, U(TB_PIN), 6),
	    CKR_OK);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
	    sig, &sl), CKR_OK);
	ossl_verify_rsa(pub_9c, EVP_sha256(), NULL, sig, sl);
	/* and again needs the PIN again */
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
	    sig, &sl), CKR_USER_NOT_LOGGED_IN);
}

static size_t
ossl_encrypt(EVP_PKEY *pk, int oaep, const uint8_t *in, size_t inlen,
    uint8_t *out)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	size_t ol = 512;

	assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
	if (oaep) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_PKCS1_OAEP_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()),
		    1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()),
		    1);
	} else
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_encrypt(c, out, &ol, in, inlen), 1);
	EVP_PKEY_CTX_free(c);
	return ol;
}

static void
test_decrypt(void **state)
{
	CK_SESSION_HANDLE h = open_user();
	CK_OBJECT_HANDLE k = tb_find1(h, CKO_PRIVATE_KEY, 3);
	CK_OBJECT_HANDLE pk = tb_find1(h, CKO_PUBLIC_KEY, 3);
	CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA256, CKG_MGF1_SHA256, 0, NULL,
	    0 };
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	uint8_t ct[512], pt[512];
	CK_ULONG pl;
	size_t cl;
	int oaep;

	(void)state;
	for (oaep = 0; oaep < 2; oaep++) {
		if (oaep) {
			m.mechanism = CKM_RSA_PKCS_OAEP;
			m.pParameter = &op;
			m.ulParameterLen = sizeof(op);
		}
		cl = ossl_encrypt(pub_9d, oaep, msg, 20, ct);
		assert_int_equal(C_DecryptInit(h, &m, k), CKR_OK);
		pl = 0;
		assert_int_equal(C_Decrypt(h, ct, cl, NULL, &pl), CKR_OK);
		assert_int_equal(pl, 256);	/* a bound before decrypting */
		pl = 5;
		assert_int_equal(C_Decrypt(h, ct, cl, pt, &pl),
		    CKR_BUFFER_TOO_SMALL);
		assert_int_equal(pl, 20);	/* exact, once known */
		assert_int_equal(C_Decrypt(h, ct, cl, pt, &pl), CKR_OK);
		assert_int_equal(pl, 20);
		assert_memory_equal(pt, msg, 20);
		/* tampered: invalid, no plaintext */
		ct[100] ^= 0x40;
		assert_int_equal(C_DecryptInit(h, &m, k), CKR_OK);
		pl = sizeof(pt);
		assert_int_equal(C_Decrypt(h, ct, cl, pt, &pl),
		    CKR_ENCRYPTED_DATA_INVALID);
		/* our own encryption, decrypted by the card, multi-part */
		assert_int_equal(C_EncryptInit(h, &m, pk), CKR_OK);
		pl = sizeof(ct);
		assert_int_equal(C_Encrypt(h, (CK_BYTE_PTR)(uintptr_t)msg, 30,
		    ct, &pl), CKR_OK);
		assert_int_equal(pl, 256);
		assert_int_equal(C_DecryptInit(h, &m, k), CKR_OK);
		cl = sizeof(pt);
		assert_int_equal(C_DecryptUpdate(h, ct, 100, pt, &pl), CKR_OK);
		assert_int_equal(pl, 0);
		assert_int_equal(C_DecryptUpdate(h, ct + 100, 156, pt, &pl),
		    CKR_OK);
		pl = sizeof(pt);
		assert_int_equal(C_DecryptFinal(h, pt, &pl), CKR_OK);
		assert_int_equal(pl, 30);
		assert_memory_equal(pt, msg, 30);
	}
	/* OAEP label */
	op.source = CKZ_DATA_SPECIFIED;
	op.pSourceData = (CK_VOID_PTR)(uintptr_t)"label";
	op.ulSourceDataLen = 5;
	assert_int_equal(C_EncryptInit(h, &m, pk), CKR_OK);
	pl = sizeof(ct);
	assert_int_equal(C_Encrypt(h, (CK_BYTE_PTR)(uintptr_t)msg, 16, ct,
	    &pl), CKR_OK);
	assert_int_equal(C_DecryptInit(h, &m, k), CKR_OK);
	cl = pl;
	pl = sizeof(pt);
	assert_int_equal(C_Decrypt(h, ct, cl, pt, &pl), CKR_OK);
	assert_int_equal(pl, 16);
	op.ulSourceDataLen = 4;	/* wrong label */
	assert_int_equal(C_DecryptInit(h, &m, k), CKR_OK);
	pl = sizeof(pt);
	assert_int_equal(C_Decrypt(h, ct, cl, pt, &pl),
	    CKR_ENCRYPTED_DATA_INVALID);
	/* raw */
	m.mechanism = CKM_RSA_X_509;
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	assert_int_equal(C_EncryptInit(h, &m, pk), CKR_OK);
	pl = sizeof(ct);
	assert_int_equal(C_Encrypt(h, (CK_BYTE_PTR)(uintptr_t)msg, 16, ct,
	    &pl), CKR_OK);
	assert_int_equal(C_DecryptInit(h, &m, k), CKR_OK);
	cl = pl;
	pl = sizeof(pt);
	assert_int_equal(C_Decrypt(h, ct, cl, pt, &pl), CKR_OK);
	assert_int_equal(pl, 256);
	assert_memory_equal(pt + 240, msg, 16);
	/* EC keys do not decrypt */
	assert_int_equal(C_DecryptInit(h, &m, tb_find1(h, CKO_PRIVATE_KEY, 1)),
	    CKR_KEY_TYPE_INCONSISTENT);
}

static void
derive_check(CK_SESSION_HANDLE h, uint8_t id, EVP_PKEY *pub, const char *type,
    const char *curve, int wrap)
{
	EVP_PKEY *peer = curve != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, type,
	    curve) : EVP_PKEY_Q_keygen(NULL, NULL, type);
	uint8_t pt[200], want[64], got[64];
	size_t pl = 0, wl = sizeof(want);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(peer, NULL);
	CK_ECDH1_DERIVE_PARAMS p;
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
	};
	CK_ATTRIBUTE v = { CKA_VALUE, got, sizeof(got) };
	CK_OBJECT_HANDLE dk = 0;
	uint8_t wrapped[202];

	assert_non_null(peer);
	assert_int_equal(EVP_PKEY_derive_init(c), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(c, pub), 1);
	assert_int_equal(EVP_PKEY_derive(c, want, &wl), 1);
	EVP_PKEY_CTX_free(c);
	assert_true(EVP_PKEY_get_octet_string_param(peer,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &pl));
	memset(&p, 0, sizeof(p));
	p.kdf = CKD_NULL;
	if (wrap) {
		wrapped[0] = 0x04;
		wrapped[1] = (uint8_t)pl;
		memcpy(wrapped + 2, pt, pl);
		p.pPublicData = wrapped;
		p.ulPublicDataLen = pl + 2;
	} else {
		p.pPublicData = pt;
		p.ulPublicDataLen = pl;
	}
	assert_int_equal(C_DeriveKey(h, &m, tb_find1(h, CKO_PRIVATE_KEY, id),
	    t, 2, &dk), CKR_OK);
	assert_int_equal(C_GetAttributeValue(h, dk, &v, 1), CKR_OK);
	assert_int_equal(v.ulValueLen, wl);
	assert_memory_equal(got, want, wl);
	assert_int_equal(C_DestroyObject(h, dk), CKR_OK);
	assert_int_equal(C_GetAttributeValue(h, dk, &v, 1),
	    CKR_OBJECT_HANDLE_INVALID);
	p.kdf = CKD_SHA1_KDF;
	assert_int_equal(C_DeriveKey(h, &m, tb_find1(h, CKO_PRIVATE_KEY, id),
	    t, 2, &dk), CKR_MECHANISM_PARAM_INVALID);
	EVP_PKEY_free(peer);
}

static void
test_ecdh(void **state)
{
	CK_SESSION_HANDLE h = open_user();

	(void)state;
	derive_check(h, 1, pub_9a, "EC", "P-256", 0);
	derive_check(h, 1, pub_9a, "EC", "P-256", 1);
	derive_check(h, 6, pub_83, "EC", "P-384", 0);
	derive_check(h, 5, pub_82, "X25519", NULL, 0);
}

static void
test_digest(void **state)
{
	static const CK_MECHANISM_TYPE ms[] = { CKM_SHA_1, CKM_SHA224,
	    CKM_SHA256, CKM_SHA384, CKM_SHA512 };
	CK_SESSION_HANDLE h = tb_open(0);
	uint8_t want[64], got[64];
	unsigned int wl;
	CK_ULONG gl;
	size_t i;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(ms); i++) {
		CK_MECHANISM m = { ms[i], NULL, 0 };

		assert_int_equal(EVP_Digest(msg, sizeof(msg), want, &wl,
		    md_of(ms[i]), NULL), 1);
		assert_int_equal(C_DigestInit(h, &m), CKR_OK);
		gl = 0;
		assert_int_equal(C_Digest(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), NULL, &gl), CKR_OK);
		assert_int_equal(gl, wl);
		assert_int_equal(C_Digest(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), got, &gl), CKR_OK);
		assert_memory_equal(got, want, wl);
		assert_int_equal(C_DigestInit(h, &m), CKR_OK);
		assert_int_equal(C_DigestUpdate(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    7), CKR_OK);
		assert_int_equal(C_DigestUpdate(h,
		    (CK_BYTE_PTR)(uintptr_t)msg + 7, sizeof(msg) - 7), CKR_OK);
		gl = 3;
		assert_int_equal(C_DigestFinal(h, got, &gl),
		    CKR_BUFFER_TOO_SMALL);
		gl = sizeof(got);
		assert_int_equal(C_DigestFinal(h, got, &gl), CKR_OK);
		assert_memory_equal(got, want, wl);
	}
}

/*
 * Single-part and multi-part calls mixed in one operation are refused
 * with CKR_OPERATION_ACTIVE and end the operation (issue 10, defect 8b):
 * a C_Sign after a C_SignUpdate must not sign the accumulated parts, and
 * a C_SignFinal after a C_Sign size query must not sign empty data.
 */
static void
test_mixed_parts(void **state)
{
	CK_SESSION_HANDLE h = open_user();
	CK_OBJECT_HANDLE k = tb_find1(h, CKO_PRIVATE_KEY, 3);
	CK_OBJECT_HANDLE pk = tb_find1(h, CKO_PUBLIC_KEY, 3);
	CK_MECHANISM ms = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_MECHANISM mr = { CKM_RSA_PKCS, NULL, 0 };
	CK_MECHANISM md = { CKM_SHA256, NULL, 0 };
	CK_BYTE_PTR d = (CK_BYTE_PTR)(uintptr_t)msg;
	uint8_t out[512], ct[512];
	CK_ULONG ol, cl;

	(void)state;
	/* sign: update then single-part; size query then final */
	assert_int_equal(C_SignInit(h, &ms, k), CKR_OK);
	assert_int_equal(C_SignUpdate(h, d, 10), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_Sign(h, d, sizeof(msg), out, &ol),
	    CKR_OPERATION_ACTIVE);
	assert_int_equal(C_SignUpdate(h, d, 10),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_SignInit(h, &ms, k), CKR_OK);
	ol = 0;
	assert_int_equal(C_Sign(h, d, sizeof(msg), NULL, &ol), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_SignFinal(h, out, &ol), CKR_OPERATION_ACTIVE);
	assert_int_equal(C_SignFinal(h, out, &ol),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_SignInit(h, &ms, k), CKR_OK);
	ol = 0;
	assert_int_equal(C_SignFinal(h, NULL, &ol), CKR_OK);
	assert_int_equal(C_SignUpdate(h, d, 10), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_Sign(h, d, sizeof(msg), out, &ol),
	    CKR_OPERATION_ACTIVE);
	/* a clean single-part sign still works (and is used below) */
	assert_int_equal(C_SignInit(h, &ms, k), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_Sign(h, d, sizeof(msg), out, &ol), CKR_OK);

	/* verify: update then single-part */
	assert_int_equal(C_VerifyInit(h, &ms, pk), CKR_OK);
	assert_int_equal(C_VerifyUpdate(h, d, 10), CKR_OK);
	assert_int_equal(C_Verify(h, d, sizeof(msg), out, ol),
	    CKR_OPERATION_ACTIVE);
	assert_int_equal(C_VerifyFinal(h, out, ol),
	    CKR_OPERATION_NOT_INITIALIZED);

	/* digest */
	assert_int_equal(C_DigestInit(h, &md), CKR_OK);
	assert_int_equal(C_DigestUpdate(h, d, 10), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_Digest(h, d, sizeof(msg), out, &ol),
	    CKR_OPERATION_ACTIVE);
	assert_int_equal(C_DigestUpdate(h, d, 10),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_DigestInit(h, &md), CKR_OK);
	ol = 0;
	assert_int_equal(C_Digest(h, d, sizeof(msg), NULL, &ol), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_DigestFinal(h, out, &ol), CKR_OPERATION_ACTIVE);
	assert_int_equal(C_DigestFinal(h, out, &ol),
	    CKR_OPERATION_NOT_INITIALIZED);

	/* encrypt (software) */
	assert_int_equal(C_EncryptInit(h, &mr, pk), CKR_OK);
	assert_int_equal(C_EncryptUpdate(h, d, 10, ct, &cl), CKR_OK);
	cl = sizeof(ct);
	assert_int_equal(C_Encrypt(h, d, 20, ct, &cl), CKR_OPERATION_ACTIVE);
	assert_int_equal(C_EncryptUpdate(h, d, 10, ct, &cl),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_EncryptInit(h, &mr, pk), CKR_OK);
	cl = 0;
	assert_int_equal(C_Encrypt(h, d, 20, NULL, &cl), CKR_OK);
	cl = sizeof(ct);
	assert_int_equal(C_EncryptFinal(h, ct, &cl), CKR_OPERATION_ACTIVE);
	assert_int_equal(C_EncryptFinal(h, ct, &cl),
	    CKR_OPERATION_NOT_INITIALIZED);

	/* decrypt (card) */
	assert_int_equal(C_EncryptInit(h, &mr, pk), CKR_OK);
	cl = sizeof(ct);
	assert_int_equal(C_Encrypt(h, d, 20, ct, &cl), CKR_OK);
	assert_int_equal(cl, 256);
	assert_int_equal(C_DecryptInit(h, &mr, k), CKR_OK);
	assert_int_equal(C_DecryptUpdate(h, ct, 100, out, &ol), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_Decrypt(h, ct, cl, out, &ol),
	    CKR_OPERATION_ACTIVE);
	assert_int_equal(C_DecryptUpdate(h, ct + 100, 156, out, &ol),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_DecryptInit(h, &mr, k), CKR_OK);
	ol = 0;
	assert_int_equal(C_Decrypt(h, ct, cl, NULL, &ol), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_DecryptFinal(h, out, &ol), CKR_OPERATION_ACTIVE);
	assert_int_equal(C_DecryptFinal(h, out, &ol),
	    CKR_OPERATION_NOT_INITIALIZED);
	/* and a clean decrypt still gives the message */
	assert_int_equal(C_DecryptInit(h, &mr, k), CKR_OK);
	ol = sizeof(out);
	assert_int_equal(C_Decrypt(h, ct, cl, out, &ol), CKR_OK);
	assert_int_equal(ol, 20);
	assert_memory_equal(out, msg, 20);
}

static void
test_stale_login(void **state)
{
	CK_SESSION_HANDLE h;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	uint8_t sig[64] = { 0 };
	CK_ULONG sl = sizeof(sig);
	CK_SESSION_INFO si;
	CK_OBJECT_HANDLE k;

	(void)state;
	setenv("USBPIV_RELOGIN", "0", 1);	/* no kept PIN */
	h = open_user();
	k = tb_find1(h, CKO_PRIVATE_KEY, 1);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	assert_int_equal(C_Sign(h, sig, 3, sig, &sl), CKR_OK);
	/* another program resets the card: we must not sign on stale
	 * state, and say so */
	tb_other_process_reset(0);
	assert_int_equal(C_SignInit(h, &m, k), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RW_PUBLIC_SESSION);
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, sig, 3, sig, &sl), CKR_OK);
	/* a reset between SignInit and Sign */
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	tb_other_process_reset(0);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, sig, 3, sig, &sl), CKR_USER_NOT_LOGGED_IN);
}

/* Another program sends a wrong PIN (one try gone), bypassing us. */
static void
wrong_pin_elsewhere(void)
{
	static const uint8_t v[] = { 0x00, 0x20, 0x00, 0x80, 0x08, '0', '0',
	    '0', '0', '0', '0', 0xff, 0xff };
	static const uint8_t sel[] = { 0x00, 0xa4, 0x04, 0x00, 0x09, 0xa0,
	    0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00 };
	uint8_t rsp[256];
	size_t n = 0;

	assert_int_equal(vcard_apdu(tb_cards[0].vc, sel, sizeof(sel), rsp,
	    sizeof(rsp), &n), 0);
	assert_int_equal(vcard_apdu(tb_cards[0].vc, v, sizeof(v), rsp,
	    sizeof(rsp), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rsp[0], 0x63);
}

/* A login that follows the token (p11_session.c). */
static void
test_relogin(void **state)
{
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE k;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	uint8_t sig[64] = { 0 };
	CK_ULONG sl = sizeof(sig);
	CK_SESSION_INFO si;
	int verified = 0, tries = -1, ms = 1000;

	(void)state;
	unsetenv("USBPIV_RELOGIN");	/* the default: on */
	h = open_user();
	k = tb_find1(h, CKO_PRIVATE_KEY, 1);
	assert_non_null(p11_mod.slots[0].pin_kept);
	/* another program resets the card: logged in again, no PIN asked */
	tb_other_process_reset(0);
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	sl = sizeof(sig);
	assert_int_equal(C_Sign(h, sig, 3, sig, &sl), CKR_OK);
	assert_int_equal(C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RW_USER_FUNCTIONS);

	/* the card reports fewer tries than full: the kept PIN is not sent
	 * (no try spent), the login is over */
	tb_other_process_reset(0);
	wrong_pin_elsewhere();
	assert_int_equal(C_SignInit(h, &m, k), CKR_USER_NOT_LOGGED_IN);
	assert_null(p11_mod.slots[0].pin_kept);
	assert_int_equal(piv_pin_status(p11_mod.slots[0].card, PIV_PIN_REF,
	    &verified, &tries, &ms), 0);
	assert_int_equal(tries, 2);	/* only the other program's try */

	/* another usbpiv process saw a PIN event (changed, refused): the
	 * kept PIN is forgotten, never sent */
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	assert_non_null(p11_mod.slots[0].pin_kept);
	tb_other_process_pin_event(0);
	vcard_reset(tb_cards[0].vc);
	assert_int_equal(C_SignInit(h, &m, k), CKR_USER_NOT_LOGGED_IN);
	assert_null(p11_mod.slots[0].pin_kept);
	ms = 1000;
	assert_int_equal(piv_pin_status(p11_mod.slots[0].card, PIV_PIN_REF,
	    &verified, &tries, &ms), 0);
	assert_int_equal(tries, 3);

	/* a kept PIN never stands in for the context-specific one (9c,
	 * RSA, PIN policy "always" by default) */
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	k = tb_find1(h, CKO_PRIVATE_KEY, 2);
	m.mechanism = CKM_SHA256_RSA_PKCS;
	assert_int_equal(C_SignInit(h, &m, k), CKR_OK);
	sl = 0;
	assert_int_equal(C_Sign(h, sig, 3, NULL, &sl), CKR_OK);
	sl = sizeof(sig) < 256 ? 256 : sizeof(sig);
	{
		uint8_t big[256];

		sl = sizeof(big);
		assert_int_equal(C_Sign(h, big, 3, big, &sl),
		    CKR_USER_NOT_LOGGED_IN);
	}

	/* logout wipes it */
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_null(p11_mod.slots[0].pin_kept);
}

static void
test_writes(void **state)
{
	CK_SESSION_HANDLE h = tb_open(CKF_RW_SESSION);
	CK_MECHANISM gm = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	uint8_t id = 7, pinpol = PIV_PINPOLICY_NEVER;
	CK_ATTRIBUTE pubt[] = {
		{ CKA_EC_PARAMS, (CK_VOID_PTR)(uintptr_t)p256, sizeof(p256) },
		{ CKA_ID, &id, 1 },
	};
	CK_ATTRIBUTE privt[] = {
		{ CKA_USBPIV_PIN_POLICY, &pinpol, 1 },
	};
	CK_OBJECT_HANDLE hp = 0, hk = 0, hc = 0;
	CK_MECHANISM sm = { CKM_ECDSA, NULL, 0 };
	uint8_t sig[64], dig[32] = { 1, 2, 3 };
	CK_ULONG sl = sizeof(sig);
	EVP_PKEY *imp = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIGNUM *bn[8] = { 0 };
	uint8_t bb[8][512];
	static const char *names[8] = { OSSL_PKEY_PARAM_RSA_N,
	    OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
	    OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
	    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    OSSL_PKEY_PARAM_RSA_COEFFICIENT1 };
	static const CK_ATTRIBUTE_TYPE types[8] = { CKA_MODULUS,
	    CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
	    CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	CK_OBJECT_CLASS pkc = CKO_PRIVATE_KEY, cc = CKO_CERTIFICATE;
	CK_KEY_TYPE kt = CKK_RSA;
	uint8_t id2 = 8;
	CK_ATTRIBUTE it[11];
	unsigned char *der = NULL;
	int dl, i;
	X509 *x;

	(void)state;
	/* keygen needs the SO (management key) */
	assert_int_equal(C_GenerateKeyPair(h, &gm, pubt, 2, privt, 1, &hp, &hk),
	    CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(C_Login(h, CKU_SO, U(TB_MGM_HEX), 48), CKR_OK);
	assert_int_equal(C_GenerateKeyPair(h, &gm, pubt, 1, privt, 1, &hp, &hk),
	    CKR_TEMPLATE_INCOMPLETE);
	tb_ins_ms[0x47] = 0;
	assert_int_equal(C_GenerateKeyPair(h, &gm, pubt, 2, privt, 1, &hp, &hk),
	    CKR_OK);
	assert_int_equal(hp >> 8, P11_OBJ_PUB);
	/* on-card generation has the slow budget, not the 30 s one */
	assert_true(tb_ins_ms[0x47] > P11_OP_MS);
	assert_true(tb_ins_ms[0x47] <= P11_SLOW_MS);
	/* import an RSA key into id 08 (slot 85) */
	for (i = 0; i < 8; i++) {
		assert_true(EVP_PKEY_get_bn_param(imp, names[i], &bn[i]));
		it[i].type = types[i];
		it[i].pValue = bb[i];
		it[i].ulValueLen = (CK_ULONG)BN_bn2bin(bn[i], bb[i]);
	}
	it[8].type = CKA_CLASS; it[8].pValue = &pkc; it[8].ulValueLen =
	    sizeof(pkc);
	it[9].type = CKA_KEY_TYPE; it[9].pValue = &kt; it[9].ulValueLen =
	    sizeof(kt);
	it[10].type = CKA_ID; it[10].pValue = &id2; it[10].ulValueLen = 1;
	assert_int_equal(C_CreateObject(h, it, 11, &hk), CKR_OK);
	/* a certificate for it */
	x = tb_cert_for(imp, "imported");
	dl = i2d_X509(x, &der);
	it[0].type = CKA_CLASS; it[0].pValue = &cc; it[0].ulValueLen =
	    sizeof(cc);
	it[1].type = CKA_VALUE; it[1].pValue = der; it[1].ulValueLen =
	    (CK_ULONG)dl;
	it[2].type = CKA_ID; it[2].pValue = &id2; it[2].ulValueLen = 1;
	assert_int_equal(C_CreateObject(h, it, 3, &hc), CKR_OK);
	it[1].ulValueLen = (CK_ULONG)dl - 1;	/* truncated DER */
	assert_int_equal(C_CreateObject(h, it, 3, &hc),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	/* as the user: sign with both new keys */
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	hk = tb_find1(h, CKO_PRIVATE_KEY, 7);
	assert_int_equal(C_SignInit(h, &sm, hk), CKR_OK);
	assert_int_equal(C_Sign(h, dig, 32, sig, &sl), CKR_OK);
	{
		CK_BBOOL b = 9;
		CK_ATTRIBUTE a = { CKA_ALWAYS_AUTHENTICATE, &b, 1 };
		uint8_t pol = 0;
		CK_ATTRIBUTE pa = { CKA_USBPIV_PIN_POLICY, &pol, 1 };

		assert_int_equal(C_GetAttributeValue(h, hk, &a, 1), CKR_OK);
		assert_int_equal(b, CK_FALSE);
		assert_int_equal(C_GetAttributeValue(h, hk, &pa, 1), CKR_OK);
		assert_int_equal(pol, PIV_PINPOLICY_NEVER);
	}
	hk = tb_find1(h, CKO_PRIVATE_KEY, 8);
	sm.mechanism = CKM_SHA256_RSA_PKCS;
	assert_int_equal(C_SignInit(h, &sm, hk), CKR_OK);
	sl = 0;
	assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg),
	    NULL, &sl), CKR_OK);
	{
		uint8_t rs[256];

		sl = sizeof(rs);
		assert_int_equal(C_Sign(h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), rs, &sl), CKR_OK);
		ossl_verify_rsa(imp, EVP_sha256(), NULL, rs, sl);
		{
			CK_BBOOL b = 9;
			CK_ATTRIBUTE a = { CKA_LOCAL, &b, 1 };

			assert_int_equal(C_GetAttributeValue(h, hk, &a, 1),
			    CKR_OK);
			assert_int_equal(b, CK_FALSE);	/* imported */
		}
	}
	{
		/* keys in 84 (generated) and 85 (imported) were counted in
		 * the Key History, so a fresh load looks at 82..85 */
		piv_card_t *o = tb_other(0);
		uint8_t on = 0, off = 0;
		int ms = 30000;

		assert_int_equal(piv_key_history(o, &on, &off, &ms), 0);
		assert_int_equal(on + off, 4);
		piv_free(&o);
	}
	hc = tb_find1(h, CKO_CERTIFICATE, 8);
	/* deletion: SO only */
	assert_int_equal(C_DestroyObject(h, hc), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_int_equal(C_Login(h, CKU_SO, U(TB_MGM_HEX), 48), CKR_OK);
	assert_int_equal(C_DestroyObject(h, hc), CKR_OK);
	assert_int_equal(C_DestroyObject(h, hc), CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(C_DestroyObject(h, P11_HANDLE(P11_OBJ_PRIV, 7)),
	    CKR_OK);	/* the imported key, slot 85 */
	assert_int_equal(C_DestroyObject(h, P11_HANDLE(P11_OBJ_PUB, 6)),
	    CKR_ACTION_PROHIBITED);
	{
		CK_OBJECT_CLASS pc = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE a[] = { { CKA_CLASS, &pc, sizeof(pc) },
		    { CKA_ID, &id2, 1 } };

		assert_int_equal(tb_count(h, a, 2), 0);
	}
	for (i = 0; i < 8; i++)
		BN_free(bn[i]);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(imp);
}

/* The card's key in slot ref is still want (and a certificate, if
 * given, still that one), read by another program. */
static void
card_unchanged(uint8_t ref, EVP_PKEY *want, X509 *cert)
{
	piv_card_t *o = tb_other(0);
	struct piv_metadata md;
	X509 *x = NULL;
	int ms = 30000;

	memset(&md, 0, sizeof(md));
	assert_int_equal(piv_metadata(o, ref, &md, &ms), 0);
	assert_non_null(md.pub);
	assert_int_equal(EVP_PKEY_eq(md.pub, want), 1);
	piv_metadata_clear(&md);
	if (cert != NULL) {
		ms = 30000;
		assert_int_equal(piv_read_cert(o, ref, &x, &ms), 0);
		assert_int_equal(X509_cmp(x, cert), 0);
		X509_free(x);
	}
	piv_free(&o);
}

/*
 * Templates the card cannot honour exactly create and overwrite nothing
 * (issue 10, defect 8a): a session object (CKA_TOKEN false), an
 * extractable or non-sensitive private key, a public key that is private,
 * an unknown attribute, a certificate whose subject is not its own.
 */
static void
test_template_refusals(void **state)
{
	CK_SESSION_HANDLE h = tb_open(CKF_RW_SESSION), ro = 0;
	CK_MECHANISM gm = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM rm = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 2048;
	uint8_t id1 = 1, id2 = 2, one = 1;
	CK_OBJECT_CLASS cc = CKO_CERTIFICATE, pkc = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_OBJECT_HANDLE hp = 0, hk = 0, hc = 0;
	CK_ATTRIBUTE pub_ok[] = {
		{ CKA_EC_PARAMS, (CK_VOID_PTR)(uintptr_t)p256, sizeof(p256) },
		{ CKA_ID, &id1, 1 },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
	};
	CK_ATTRIBUTE pub_rsa[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_ID, &id1, 1 },
		{ CKA_TOKEN, &yes, sizeof(yes) },
	};
	struct {
		CK_ATTRIBUTE a;
		int pub;	/* goes into the public template */
		CK_RV want;
	} bad[] = {
		{ { CKA_TOKEN, &no, sizeof(no) }, 0, CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_TOKEN, &no, sizeof(no) }, 1, CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_EXTRACTABLE, &yes, sizeof(yes) }, 0,
		    CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_SENSITIVE, &no, sizeof(no) }, 0,
		    CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_PRIVATE, &no, sizeof(no) }, 0,
		    CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_PRIVATE, &yes, sizeof(yes) }, 1,
		    CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_MODIFIABLE, &yes, sizeof(yes) }, 0,
		    CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_DECRYPT, &yes, sizeof(yes) }, 0,
		    CKR_TEMPLATE_INCONSISTENT },	/* an EC key */
		{ { CKA_SIGN, &no, sizeof(no) }, 0, CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_WRAP, &yes, sizeof(yes) }, 1,
		    CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_TOKEN, &one, 1 + 7 }, 0, CKR_ATTRIBUTE_VALUE_INVALID },
		{ { CKA_ID, &id2, 1 }, 0, CKR_TEMPLATE_INCONSISTENT },
		{ { CKA_VALUE_LEN, &bits, sizeof(bits) }, 0,
		    CKR_ATTRIBUTE_TYPE_INVALID },
		{ { CKA_ALWAYS_AUTHENTICATE, &yes, sizeof(yes) }, 1,
		    CKR_ATTRIBUTE_TYPE_INVALID },
	};
	CK_ATTRIBUTE pt[8], qt[2];
	CK_ATTRIBUTE ct[5];
	EVP_PKEY *k9c = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = tb_cert_for(pub_9c, "nine-c"), *y = tb_cert_for(k9c, "other");
	unsigned char *der = NULL, *dery = NULL, *subj = NULL;
	int dl, dly, sl;
	size_t i;

	(void)state;
	dl = i2d_X509(x, &der);
	dly = i2d_X509(y, &dery);
	ct[0].type = CKA_CLASS; ct[0].pValue = &cc; ct[0].ulValueLen =
	    sizeof(cc);
	ct[1].type = CKA_VALUE; ct[1].pValue = der; ct[1].ulValueLen =
	    (CK_ULONG)dl;
	ct[2].type = CKA_ID; ct[2].pValue = &id2; ct[2].ulValueLen = 1;
	ct[3].type = CKA_TOKEN; ct[3].pValue = &yes; ct[3].ulValueLen =
	    sizeof(yes);
	/* a read-only session: a session object gets the template's
	 * answer, a token object CKR_SESSION_READ_ONLY */
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL,
	    &ro), CKR_OK);
	pt[0] = pub_ok[0];
	pt[1] = pub_ok[1];
	pt[2].type = CKA_TOKEN; pt[2].pValue = &no; pt[2].ulValueLen =
	    sizeof(no);
	assert_int_equal(C_GenerateKeyPair(ro, &gm, pt, 3, NULL, 0, &hp, &hk),
	    CKR_TEMPLATE_INCONSISTENT);
	assert_int_equal(C_CreateObject(ro, ct, 4, &hc),
	    CKR_SESSION_READ_ONLY);
	assert_int_equal(C_CloseSession(ro), CKR_OK);
	assert_int_equal(C_Login(h, CKU_SO, U(TB_MGM_HEX), 48), CKR_OK);
	/* a certificate in 9C to be kept */
	assert_int_equal(C_CreateObject(h, ct, 4, &hc), CKR_OK);
	card_unchanged(0x9a, pub_9a, NULL);
	card_unchanged(0x9c, pub_9c, x);

	/* key generation into 9A with one attribute it cannot honour */
	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		CK_ULONG pn = 4, qn = 0;

		memcpy(pt, pub_ok, sizeof(pub_ok));
		if (bad[i].pub)
			pt[pn++] = bad[i].a;
		else
			qt[qn++] = bad[i].a;
		hp = hk = 0;
		assert_int_equal(C_GenerateKeyPair(h, &gm, pt, pn, qt, qn,
		    &hp, &hk), bad[i].want);
		assert_int_equal(hp, 0);
		assert_int_equal(hk, 0);
	}
	/* RSA: an EC curve, an exponent the card does not use */
	memcpy(pt, pub_rsa, sizeof(pub_rsa));
	pt[3].type = CKA_EC_PARAMS;
	pt[3].pValue = (CK_VOID_PTR)(uintptr_t)p256;
	pt[3].ulValueLen = sizeof(p256);
	assert_int_equal(C_GenerateKeyPair(h, &rm, pt, 4, NULL, 0, &hp, &hk),
	    CKR_TEMPLATE_INCONSISTENT);
	pt[3].type = CKA_PUBLIC_EXPONENT;
	pt[3].pValue = (CK_VOID_PTR)(uintptr_t)"\x03";
	pt[3].ulValueLen = 1;
	assert_int_equal(C_GenerateKeyPair(h, &rm, pt, 4, NULL, 0, &hp, &hk),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	card_unchanged(0x9a, pub_9a, NULL);

	/* certificates: a session object, a subject not its own */
	ct[1].pValue = dery;
	ct[1].ulValueLen = (CK_ULONG)dly;
	ct[3].pValue = &no;
	assert_int_equal(C_CreateObject(h, ct, 4, &hc),
	    CKR_TEMPLATE_INCONSISTENT);
	ct[3].pValue = &yes;
	sl = i2d_X509_NAME(X509_get_subject_name(x), &subj);
	ct[4].type = CKA_SUBJECT; ct[4].pValue = subj; ct[4].ulValueLen =
	    (CK_ULONG)sl;
	assert_int_equal(C_CreateObject(h, ct, 5, &hc),
	    CKR_ATTRIBUTE_VALUE_INVALID);
	ct[4].type = CKA_TRUSTED; ct[4].pValue = &yes; ct[4].ulValueLen =
	    sizeof(yes);
	assert_int_equal(C_CreateObject(h, ct, 5, &hc),
	    CKR_TEMPLATE_INCONSISTENT);
	/* private-key import: extractable, not sensitive, session object */
	{
		CK_ATTRIBUTE it[] = {
			{ CKA_CLASS, &pkc, sizeof(pkc) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_ID, &id2, 1 },
			{ CKA_EC_PARAMS, (CK_VOID_PTR)(uintptr_t)p256,
			    sizeof(p256) },
			{ CKA_VALUE, (CK_VOID_PTR)(uintptr_t)"0123456789"
			    "0123456789012345678901", 32 },
			{ CKA_EXTRACTABLE, &yes, sizeof(yes) },
		};

		assert_int_equal(C_CreateObject(h, it, 6, &hk),
		    CKR_TEMPLATE_INCONSISTENT);
		it[5].type = CKA_SENSITIVE;
		it[5].pValue = &no;
		assert_int_equal(C_CreateObject(h, it, 6, &hk),
		    CKR_TEMPLATE_INCONSISTENT);
		it[5].type = CKA_TOKEN;
		assert_int_equal(C_CreateObject(h, it, 6, &hk),
		    CKR_TEMPLATE_INCONSISTENT);
		it[5].type = CKA_LOCAL;	/* an imported key is not local */
		it[5].pValue = &yes;
		assert_int_equal(C_CreateObject(h, it, 6, &hk),
		    CKR_TEMPLATE_INCONSISTENT);
	}
	card_unchanged(0x9c, pub_9c, x);
	card_unchanged(0x9a, pub_9a, NULL);
	/* and the module still shows the old certificate of 9C */
	{
		CK_ATTRIBUTE v = { CKA_VALUE, NULL, 0 };
		uint8_t buf[4096];

		hc = tb_find1(h, CKO_CERTIFICATE, 2);
		v.pValue = buf;
		v.ulValueLen = sizeof(buf);
		assert_int_equal(C_GetAttributeValue(h, hc, &v, 1), CKR_OK);
		assert_int_equal(v.ulValueLen, (CK_ULONG)dl);
		assert_memory_equal(buf, der, (size_t)dl);
	}
	/* an honest template still works: ALWAYS_AUTHENTICATE honoured */
	pt[0] = pub_ok[0];
	pt[1] = pub_ok[1];
	qt[0].type = CKA_ALWAYS_AUTHENTICATE;
	qt[0].pValue = &yes;
	qt[0].ulValueLen = sizeof(yes);
	qt[1].type = CKA_SENSITIVE;
	qt[1].pValue = &yes;
	qt[1].ulValueLen = sizeof(yes);
	pt[1].pValue = &(uint8_t){ 5 };	/* slot 82 */
	assert_int_equal(C_GenerateKeyPair(h, &gm, pt, 2, qt, 2, &hp, &hk),
	    CKR_OK);
	{
		CK_BBOOL b = 9;
		CK_ATTRIBUTE a = { CKA_ALWAYS_AUTHENTICATE, &b, sizeof(b) };

		assert_int_equal(C_GetAttributeValue(h, hk, &a, 1), CKR_OK);
		assert_int_equal(b, CK_TRUE);
	}
	OPENSSL_free(der);
	OPENSSL_free(dery);
	OPENSSL_free(subj);
	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(k9c);
}

struct worker {
	CK_SESSION_HANDLE h;
	int ok;
};

static void *
sign_loop(void *arg)
{
	struct worker *w = arg;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	uint8_t id = 1, sig[64];
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) },
	    { CKA_ID, &id, 1 } };
	CK_OBJECT_HANDLE k;
	CK_ULONG n, sl;
	int i;

	w->ok = 0;
	for (i = 0; i < 20; i++) {
		n = 0;
		if (C_FindObjectsInit(w->h, t, 2) != CKR_OK ||
		    C_FindObjects(w->h, &k, 1, &n) != CKR_OK ||
		    C_FindObjectsFinal(w->h) != CKR_OK || n != 1)
			return NULL;
		sl = sizeof(sig);
		if (C_SignInit(w->h, &m, k) != CKR_OK ||
		    C_Sign(w->h, (CK_BYTE_PTR)(uintptr_t)msg, sizeof(msg), sig,
		    &sl) != CKR_OK || sl != 64)
			return NULL;
		if (C_GenerateRandom(w->h, sig, sizeof(sig)) != CKR_OK)
			return NULL;
	}
	w->ok = 1;
	return NULL;
}

struct racer {
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE k;
	int signed_;		/* signatures made */
	CK_RV last;		/* the first answer that was not CKR_OK */
};

static int racers_ready;

static void *
race_sign(void *arg)
{
	struct racer *r = arg;
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	uint8_t sig[256];
	CK_ULONG sl;
	CK_RV rv;

	for (;;) {
		sl = sizeof(sig);
		if ((rv = C_SignInit(r->h, &m, r->k)) != CKR_OK ||
		    (rv = C_Sign(r->h, (CK_BYTE_PTR)(uintptr_t)msg,
		    sizeof(msg), sig, &sl)) != CKR_OK)
			break;
		if (r->signed_++ == 0)
			__atomic_add_fetch(&racers_ready, 1, __ATOMIC_SEQ_CST);
	}
	r->last = rv;
	if (r->signed_ == 0)
		__atomic_add_fetch(&racers_ready, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * C_Finalize while other threads are in C_Sign (issue 10, defect 1): the
 * calls in flight finish, later ones get CKR_CRYPTOKI_NOT_INITIALIZED, and
 * nothing is used after it was freed (make check-asan runs this under
 * ASan, where the old teardown was a heap-use-after-free).
 */
static void
test_finalize_race(void **state)
{
	CK_C_INITIALIZE_ARGS a;
	struct racer r[4];
	pthread_t t[4];
	int round, i;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	for (round = 0; round < 5; round++) {
		assert_int_equal(C_Initialize(&a), CKR_OK);
		memset(r, 0, sizeof(r));
		for (i = 0; i < 4; i++)
			assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION,
			    NULL, NULL, &r[i].h), CKR_OK);
		assert_int_equal(C_Login(r[0].h, CKU_USER, U(TB_PIN), 6),
		    CKR_OK);
		for (i = 0; i < 4; i++)
			r[i].k = tb_find1(r[i].h, CKO_PRIVATE_KEY, 3);
		__atomic_store_n(&racers_ready, 0, __ATOMIC_SEQ_CST);
		for (i = 0; i < 4; i++)
			assert_int_equal(pthread_create(&t[i], NULL, race_sign,
			    &r[i]), 0);
		/* every thread is signing, then the module goes away */
		while (__atomic_load_n(&racers_ready, __ATOMIC_SEQ_CST) < 4)
			util_sleep_ms(1);
		util_sleep_ms(round);
		assert_int_equal(C_Finalize(NULL), CKR_OK);
		for (i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			assert_true(r[i].signed_ > 0);
			assert_int_equal(r[i].last,
			    CKR_CRYPTOKI_NOT_INITIALIZED);
		}
	}
}

/* Sessions used from several threads at once (OS locking). */
static void
test_threads(void **state)
{
	CK_C_INITIALIZE_ARGS a;
	struct worker w[4];
	pthread_t t[4];
	int i;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(C_Initialize(&a), CKR_OK);
	for (i = 0; i < 4; i++)
		assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION, NULL,
		    NULL, &w[i].h), CKR_OK);
	assert_int_equal(C_Login(w[0].h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sign_loop, &w[i]),
		    0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sign_rsa, fini),
		cmocka_unit_test_teardown(test_sign_rsa_pss_raw, fini),
		cmocka_unit_test_teardown(test_sign_ecdsa, fini),
		cmocka_unit_test_teardown(test_sign_eddsa, fini),
		cmocka_unit_test_teardown(test_always_authenticate, fini),
		cmocka_unit_test_teardown(test_decrypt, fini),
		cmocka_unit_test_teardown(test_ecdh, fini),
		cmocka_unit_test_teardown(test_digest, fini),
		cmocka_unit_test_teardown(test_mixed_parts, fini),
		cmocka_unit_test_teardown(test_stale_login, fini),
		cmocka_unit_test_teardown(test_relogin, fini),
		cmocka_unit_test_teardown(test_threads, fini),
		cmocka_unit_test_teardown(test_finalize_race, fini),
		cmocka_unit_test_teardown(test_writes, fini),
		cmocka_unit_test_teardown(test_template_refusals, fini),
	};

	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
