/* SPDX-License-Identifier: MIT */
/*
 * PKCS#11 objects over the software card: listing (lazy, APDU counts),
 * attributes of certificates and RSA / EC / Ed25519 / X25519 keys,
 * C_GetAttributeValue's edge cases, data objects, attestation, CKA_ID
 * styles.
 */
#include <stdlib.h>

#include <openssl/core_names.h>

#include "lib/p11_test_backend.h"

static EVP_PKEY *pub_9a, *pub_9c, *pub_9e, *pub_82, *pub_83;
static X509 *cert_9a;

static int
setup_keys(void **state)
{
	(void)state;
	tb_setup(1);
	pub_9a = tb_genkey(0, 0x9a, PIV_ALG_ECCP256, 0);
	pub_9c = tb_genkey(0, 0x9c, PIV_ALG_RSA2048, 0);
	pub_9e = tb_genkey(0, 0x9e, PIV_ALG_ED25519, 0);
	pub_82 = tb_genkey(0, 0x82, PIV_ALG_X25519, 0);
	pub_83 = tb_genkey(0, 0x83, PIV_ALG_ECCP384, 0);
	cert_9a = tb_cert_for(pub_9a, "PIV auth test");
	tb_putcert(0, 0x9a, cert_9a);
	return 0;
}

static int
teardown_keys(void **state)
{
	(void)state;
	(void)C_Finalize(NULL);
	tb_teardown();
	EVP_PKEY_free(pub_9a);
	EVP_PKEY_free(pub_9c);
	EVP_PKEY_free(pub_9e);
	EVP_PKEY_free(pub_82);
	EVP_PKEY_free(pub_83);
	X509_free(cert_9a);
	return 0;
}

static int
fini(void **state)
{
	(void)state;
	(void)C_Finalize(NULL);
	unsetenv("USBPIV_ID_STYLE");
	return 0;
}

static CK_ULONG
count_class(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };

	return tb_count(h, &t, 1);
}

static void
test_listing(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0);

	(void)state;
	/* 6 keys: 9a 9c 9e 82 83 + the F9 attestation key */
	assert_int_equal(count_class(h, CKO_PUBLIC_KEY), 6);
	/* private keys are private objects: after login only */
	assert_int_equal(count_class(h, CKO_PRIVATE_KEY), 0);
	/* the 9A certificate, F9's own, attestations for the 5 generated */
	assert_int_equal(count_class(h, CKO_CERTIFICATE), 1 + 1 + 5);
	/* the card's discovery object, the Key History object */
	assert_int_equal(count_class(h, CKO_DATA), 2);
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	assert_int_equal(count_class(h, CKO_PRIVATE_KEY), 6);
	assert_int_equal(tb_count(h, NULL, 0), 6 + 6 + 7 + 2);
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_int_equal(count_class(h, CKO_PRIVATE_KEY), 0);
}

static void
check_bytes(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    const void *want, size_t len)
{
	uint8_t buf[1024];
	CK_ATTRIBUTE a = { type, buf, sizeof(buf) };

	assert_int_equal(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
	assert_int_equal(a.ulValueLen, len);
	assert_memory_equal(buf, want, len);
}

/* CKA_PUBLIC_KEY_INFO of o is OpenSSL's encoding of pk. */
static void
check_spki(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);

	assert_true(n > 0);
	check_bytes(h, o, CKA_PUBLIC_KEY_INFO, der, (size_t)n);
	OPENSSL_free(der);
}

static CK_ULONG
get_ulong(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	assert_int_equal(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
	return v;
}

static int
get_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = 9;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	assert_int_equal(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
	assert_true(v == CK_TRUE || v == CK_FALSE);
	return v == CK_TRUE;
}

static void
test_ec_attributes(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0);
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	static const uint8_t p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
	    0x22 };
	uint8_t pt[200], wrapped[202];
	size_t n = 0;
	CK_OBJECT_HANDLE o;

	(void)state;
	o = tb_find1(h, CKO_PUBLIC_KEY, 1);
	assert_int_equal(get_ulong(h, o, CKA_KEY_TYPE), CKK_EC);
	check_bytes(h, o, CKA_EC_PARAMS, p256, sizeof(p256));
	assert_true(EVP_PKEY_get_octet_string_param(pub_9a,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n));
	assert_int_equal(n, 65);
	wrapped[0] = 0x04;
	wrapped[1] = (uint8_t)n;
	memcpy(wrapped + 2, pt, n);
	check_bytes(h, o, CKA_EC_POINT, wrapped, n + 2);
	check_spki(h, o, pub_9a);
	check_bytes(h, o, CKA_LABEL, "Public key for PIV Authentication", 33);
	assert_true(get_bool(h, o, CKA_VERIFY));
	assert_false(get_bool(h, o, CKA_ENCRYPT));
	assert_true(get_bool(h, o, CKA_LOCAL));
	assert_int_equal(get_ulong(h, o, CKA_KEY_GEN_MECHANISM),
	    CKM_EC_KEY_PAIR_GEN);

	o = tb_find1(h, CKO_PUBLIC_KEY, 6);	/* 83 = retired 2 */
	check_bytes(h, o, CKA_EC_PARAMS, p384, sizeof(p384));
	check_spki(h, o, pub_83);
	check_bytes(h, o, CKA_LABEL, "Public key for Retired Key 2", 28);

	o = tb_find1(h, CKO_PUBLIC_KEY, 4);	/* 9e: Ed25519 */
	assert_int_equal(get_ulong(h, o, CKA_KEY_TYPE), CKK_EC_EDWARDS);
	check_bytes(h, o, CKA_EC_PARAMS, "\x06\x03\x2b\x65\x70", 5);
	assert_true(EVP_PKEY_get_raw_public_key(pub_9e, pt, &n));
	wrapped[0] = 0x04;
	wrapped[1] = 32;
	memcpy(wrapped + 2, pt, 32);
	check_bytes(h, o, CKA_EC_POINT, wrapped, 34);
	check_spki(h, o, pub_9e);

	o = tb_find1(h, CKO_PUBLIC_KEY, 5);	/* 82: X25519 */
	assert_int_equal(get_ulong(h, o, CKA_KEY_TYPE), CKK_EC_MONTGOMERY);
	check_bytes(h, o, CKA_EC_PARAMS, "\x06\x03\x2b\x65\x6e", 5);
	check_spki(h, o, pub_82);
	assert_false(get_bool(h, o, CKA_VERIFY));
}

static void
test_rsa_and_private(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0);
	uint8_t mod[512];
	BIGNUM *n = NULL;
	int len;
	CK_OBJECT_HANDLE o;

	(void)state;
	o = tb_find1(h, CKO_PUBLIC_KEY, 2);
	assert_int_equal(get_ulong(h, o, CKA_KEY_TYPE), CKK_RSA);
	assert_int_equal(get_ulong(h, o, CKA_MODULUS_BITS), 2048);
	assert_true(EVP_PKEY_get_bn_param(pub_9c, OSSL_PKEY_PARAM_RSA_N, &n));
	len = BN_bn2bin(n, mod);
	BN_free(n);
	check_bytes(h, o, CKA_MODULUS, mod, (size_t)len);
	check_bytes(h, o, CKA_PUBLIC_EXPONENT, "\x01\x00\x01", 3);
	check_spki(h, o, pub_9c);
	assert_true(get_bool(h, o, CKA_ENCRYPT));

	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	o = tb_find1(h, CKO_PRIVATE_KEY, 2);
	check_bytes(h, o, CKA_LABEL, "Private key for Digital Signature", 33);
	assert_true(get_bool(h, o, CKA_SENSITIVE));
	assert_false(get_bool(h, o, CKA_EXTRACTABLE));
	assert_true(get_bool(h, o, CKA_ALWAYS_SENSITIVE));
	assert_true(get_bool(h, o, CKA_NEVER_EXTRACTABLE));
	assert_true(get_bool(h, o, CKA_PRIVATE));
	assert_true(get_bool(h, o, CKA_SIGN));
	assert_true(get_bool(h, o, CKA_DECRYPT));
	/* 9C: PIN policy "always" by default */
	assert_true(get_bool(h, o, CKA_ALWAYS_AUTHENTICATE));
	check_bytes(h, o, CKA_MODULUS, mod, (size_t)len);
	o = tb_find1(h, CKO_PRIVATE_KEY, 1);
	assert_false(get_bool(h, o, CKA_ALWAYS_AUTHENTICATE));
	assert_false(get_bool(h, o, CKA_DECRYPT));
	assert_true(get_bool(h, o, CKA_DERIVE));
	o = tb_find1(h, CKO_PRIVATE_KEY, 5);	/* X25519 */
	assert_false(get_bool(h, o, CKA_SIGN));
	assert_true(get_bool(h, o, CKA_DERIVE));
}

/* C_GetAttributeValue to the letter (PKCS#11 3.0 §5.7.5). */
static void
test_get_attribute_edges(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0);
	CK_OBJECT_HANDLE o;
	CK_OBJECT_CLASS cls = 0;
	CK_BYTE small[4], id = 0, label[64];
	CK_ATTRIBUTE t[5];

	(void)state;
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	o = tb_find1(h, CKO_PRIVATE_KEY, 2);
	/* sensitive + invalid + too small + size query + good, together */
	t[0].type = CKA_PRIVATE_EXPONENT; t[0].pValue = small;
	t[0].ulValueLen = sizeof(small);
	t[1].type = CKA_CLASS; t[1].pValue = &cls; t[1].ulValueLen = sizeof(cls);
	t[2].type = 0x7ffffffful; t[2].pValue = small;
	t[2].ulValueLen = sizeof(small);
	t[3].type = CKA_LABEL; t[3].pValue = NULL; t[3].ulValueLen = 0;
	t[4].type = CKA_ID; t[4].pValue = &id; t[4].ulValueLen = 1;
	assert_int_equal(C_GetAttributeValue(h, o, t, 5),
	    CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(cls, CKO_PRIVATE_KEY);
	assert_int_equal(t[1].ulValueLen, sizeof(cls));
	assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(t[3].ulValueLen, 33);	/* size query */
	assert_int_equal(id, 2);
	/* invalid type alone */
	t[2].ulValueLen = sizeof(small);
	assert_int_equal(C_GetAttributeValue(h, o, &t[2], 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	/* buffer too small, the rest still filled */
	t[0].type = CKA_LABEL; t[0].pValue = small;
	t[0].ulValueLen = sizeof(small);
	t[1].type = CKA_ID; t[1].pValue = &id; t[1].ulValueLen = 1;
	id = 0;
	assert_int_equal(C_GetAttributeValue(h, o, t, 2), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(id, 2);
	/* exact size works */
	t[0].pValue = label;
	t[0].ulValueLen = 33;
	assert_int_equal(C_GetAttributeValue(h, o, t, 1), CKR_OK);
	/* EC private VALUE is sensitive; RSA-only attributes invalid */
	o = tb_find1(h, CKO_PRIVATE_KEY, 1);
	t[0].type = CKA_VALUE; t[0].pValue = NULL; t[0].ulValueLen = 0;
	assert_int_equal(C_GetAttributeValue(h, o, t, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
	t[0].type = CKA_MODULUS;
	assert_int_equal(C_GetAttributeValue(h, o, t, 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
	/* EC_POINT is a public-key attribute */
	t[0].type = CKA_EC_POINT;
	assert_int_equal(C_GetAttributeValue(h, o, t, 1),
	    CKR_ATTRIBUTE_TYPE_INVALID);
}

static void
test_certificate(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0);
	unsigned char *der = NULL, *subj = NULL;
	int dl, sl;
	CK_OBJECT_HANDLE o;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	uint8_t id = 1;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, &id, 1 },
	};
	CK_OBJECT_HANDLE found[4];
	CK_ULONG n = 0, i;
	int saw_cert = 0, saw_att = 0;
	char label[80];

	(void)state;
	dl = i2d_X509(cert_9a, &der);
	sl = i2d_X509_NAME(X509_get_subject_name(cert_9a), &subj);
	/* the certificate and the attestation share the key's ID */
	assert_int_equal(C_FindObjectsInit(h, t, 2), CKR_OK);
	assert_int_equal(C_FindObjects(h, found, 4, &n), CKR_OK);
	assert_int_equal(C_FindObjectsFinal(h), CKR_OK);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		CK_ATTRIBUTE a = { CKA_LABEL, label, sizeof(label) };

		o = found[i];
		assert_int_equal(C_GetAttributeValue(h, o, &a, 1), CKR_OK);
		label[a.ulValueLen] = '\0';
		if (strcmp(label, "X.509 Certificate for PIV Authentication")
		    == 0) {
			saw_cert = 1;
			check_bytes(h, o, CKA_VALUE, der, (size_t)dl);
			check_bytes(h, o, CKA_SUBJECT, subj, (size_t)sl);
			assert_int_equal(get_ulong(h, o, CKA_CERTIFICATE_TYPE),
			    CKC_X_509);
		} else {
			uint8_t buf[4096];
			CK_ATTRIBUTE v = { CKA_VALUE, buf, sizeof(buf) };
			const unsigned char *p = buf;
			X509 *att;

			assert_string_equal(label,
			    "X.509 Certificate for PIV Attestation 9a");
			saw_att = 1;
			/* attested lazily, here: a certificate of our key */
			assert_int_equal(C_GetAttributeValue(h, o, &v, 1),
			    CKR_OK);
			att = d2i_X509(NULL, &p, (long)v.ulValueLen);
			assert_non_null(att);
			assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(att),
			    pub_9a), 1);
			X509_free(att);
		}
	}
	assert_true(saw_cert && saw_att);
	/* the public key's subject comes from the certificate */
	o = tb_find1(h, CKO_PUBLIC_KEY, 1);
	check_bytes(h, o, CKA_SUBJECT, subj, (size_t)sl);
	OPENSSL_free(der);
	OPENSSL_free(subj);
}

static void
test_data_objects(void **state)
{
	piv_card_t *p = tb_other(0);
	CK_SESSION_HANDLE h;
	int ms = 30000;
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE o[8];
	CK_ULONG n = 0;
	static const uint8_t chuid[] = { 0x30, 0x19, 0xd4, 0xe7, 0x39, 0xda,
	    0x73, 0x9c, 0xed, 0x39, 0xce, 0x73, 0x9d, 0x83, 0x68, 0x58,
	    0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xc8, 0x42, 0x10, 0xc3,
	    0xeb, 0x34, 0x10, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0xfe, 0x00 };
	static const uint8_t printed[] = { 0x01, 0x04, 'T', 'e', 's', 't' };

	(void)state;
	assert_int_equal(piv_auth_mgm(p, PIV_ALG_3DES, tb_mgm, sizeof(tb_mgm),
	    &ms), 0);
	assert_int_equal(piv_put_data(p, PIV_OBJ_CHUID, chuid, sizeof(chuid),
	    &ms), 0);
	assert_int_equal(piv_put_data(p, PIV_OBJ_PRINTED, printed,
	    sizeof(printed), &ms), 0);
	piv_free(&p);
	h = tb_open(0);
	assert_int_equal(C_FindObjectsInit(h, &t, 1), CKR_OK);
	assert_int_equal(C_FindObjects(h, o, 8, &n), CKR_OK);
	assert_int_equal(C_FindObjectsFinal(h), CKR_OK);
	assert_int_equal(n, 3);	/* CHUID, discovery, key history (82 83) */
	check_bytes(h, o[0], CKA_LABEL, "Card Holder Unique Identifier", 29);
	check_bytes(h, o[0], CKA_VALUE, chuid, sizeof(chuid));
	assert_false(get_bool(h, o[0], CKA_MODIFIABLE));
	/* printed information needs the PIN */
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	assert_int_equal(count_class(h, CKO_DATA), 4);
}

static void
test_id_style(void **state)
{
	CK_SESSION_HANDLE h;

	(void)state;
	setenv("USBPIV_ID_STYLE", "opensc", 1);
	h = tb_open(0);
	/* 83 = retired 2 = 6th slot: "06" in both styles */
	(void)tb_find1(h, CKO_PUBLIC_KEY, 0x06);
	/* 8B = retired 10: OpenSC 0x14, ykcs11 0x0e; F9 0x25 / 0x19 */
	assert_int_equal(p11_key_id(p11_key_index(0x8b)), 0x14);
	assert_int_equal(p11_key_from_id((const uint8_t *)"\x14", 1),
	    p11_key_index(0x8b));
	assert_int_equal(p11_key_id(p11_key_index(0xf9)), 0x25);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	unsetenv("USBPIV_ID_STYLE");
	h = tb_open(0);
	assert_int_equal(p11_key_id(p11_key_index(0x8b)), 0x0e);
	assert_int_equal(p11_key_id(p11_key_index(0x95)), 0x18);
	assert_int_equal(p11_key_id(p11_key_index(0xf9)), 0x19);
	assert_int_equal(p11_key_from_id((const uint8_t *)"\x1a", 1), -1);
}

/* What ssh-keygen -D asks: token info, public keys, certificates. */
static void
list_like_ssh(CK_SESSION_HANDLE h)
{
	CK_TOKEN_INFO ti;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE o[8];
	CK_ULONG n = 0, i;
	uint8_t buf[2048];

	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	for (cls = CKO_PUBLIC_KEY; ; cls = CKO_CERTIFICATE) {
		assert_int_equal(C_FindObjectsInit(h, &t, 1), CKR_OK);
		assert_int_equal(C_FindObjects(h, o, 8, &n), CKR_OK);
		assert_int_equal(C_FindObjectsFinal(h), CKR_OK);
		assert_int_equal(n, 2);
		for (i = 0; i < n; i++) {
			CK_ATTRIBUTE a = { cls == CKO_CERTIFICATE ? CKA_VALUE :
			    CKA_PUBLIC_KEY_INFO, buf, sizeof(buf) };

			assert_int_equal(C_GetAttributeValue(h, o[i], &a, 1),
			    CKR_OK);
		}
		if (cls == CKO_CERTIFICATE)
			break;
	}
}

/*
 * The APDUs of the common flows, exactly, on a card with keys and
 * certificates in 9A (P-256) and 9C (RSA-2048): a regression here is a
 * slower token for every client.
 */
static void
test_apdu_counts(void **state)
{
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE o;
	CK_TOKEN_INFO ti;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_BYTE sig[128] = { 0 };
	CK_ULONG sl = sizeof(sig);
	uint64_t a1, a2;
	piv_card_t *card;
	EVP_PKEY *pub[2];
	X509 *x[2];
	int round;

	(void)state;
	unsetenv("USBPIV_ATTEST");
	tb_setup(1);
	pub[0] = tb_genkey(0, 0x9a, PIV_ALG_ECCP256, 0);
	pub[1] = tb_genkey(0, 0x9c, PIV_ALG_RSA2048, 0);
	x[0] = tb_cert_for(pub[0], "auth");
	x[1] = tb_cert_for(pub[1], "sign");
	tb_putcert(0, 0x9a, x[0]);
	tb_putcert(0, 0x9c, x[1]);
	for (round = 0; round < 2; round++) {	/* two "processes" */
		h = tb_open(0);
		card = p11_mod.slots[0].card;
		assert_non_null(card);
		list_like_ssh(h);
		a1 = piv_apdu_count(card);
		/* SELECT, GET VERSION, GET SERIAL, Key History, METADATA 9A
		 * 9C 9D 9E (public keys first), the certificates of 9A 9C 9D
		 * 9E (a certificate without a key is one too); no PIN
		 * status */
		assert_int_equal(a1, 12);
		/* all of it again: from the caches */
		list_like_ssh(h);
		assert_int_equal(piv_apdu_count(card), a1);
		/* login + one signature: VERIFY, GENERAL AUTHENTICATE */
		assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
		o = tb_find1(h, CKO_PRIVATE_KEY, 1);
		assert_int_equal(C_SignInit(h, &m, o), CKR_OK);
		sl = sizeof(sig);
		assert_int_equal(C_Sign(h, (CK_BYTE_PTR)sig, 10, sig, &sl),
		    CKR_OK);
		a2 = piv_apdu_count(card);
		assert_int_equal(a2 - a1, 2);
		/* the login told us the PIN state: no VERIFY for the flags */
		assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
		assert_int_equal(piv_apdu_count(card), a2);
		/* another program reset the card: the token info (version,
		 * serial) cannot change with it, so no APDU */
		tb_other_process_reset(0);
		assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
		assert_int_equal(piv_apdu_count(card), a2);
		/* but the caches belong to the old generation: SELECT, Key
		 * History, 4 METADATA, 4 certificates again, and one VERIFY
		 * without data: is our login still there?  It is not, and
		 * nobody changed or refused a PIN: one VERIFY with the kept
		 * PIN */
		list_like_ssh(h);
		assert_int_equal(piv_apdu_count(card), a2 + 11 + 1);
		assert_true(count_class(h, CKO_PRIVATE_KEY) > 0);
		/* C_Logout clears the card's PIN state: VERIFY P1=FF */
		assert_int_equal(C_Logout(h), CKR_OK);
		assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
		a2 = piv_apdu_count(card);
		assert_int_equal(C_Logout(h), CKR_OK);
		assert_int_equal(piv_apdu_count(card), a2 + 1);
		{
			piv_card_t *p = tb_other(0);
			int ms = 30000, verified = 1;

			assert_int_equal(piv_pin_status(p, PIV_PIN_REF,
			    &verified, NULL, &ms), 0);
			assert_false(verified);
			piv_free(&p);
		}
		assert_int_equal(C_Finalize(NULL), CKR_OK);
	}
	EVP_PKEY_free(pub[0]);
	EVP_PKEY_free(pub[1]);
	X509_free(x[0]);
	X509_free(x[1]);
	tb_teardown();
}

/* C_GetTokenInfo's field f (padded) starts with want, then blanks. */
static void
check_padded(const CK_UTF8CHAR *f, size_t n, const char *want)
{
	size_t l = strlen(want), i;

	assert_true(l <= n);
	assert_memory_equal(f, want, l);
	for (i = l; i < n; i++)
		assert_int_equal(f[i], ' ');
}

/*
 * USBPIV_COMPAT: the token info and the labels and CKA_IDs ykcs11 and
 * OpenSC show for the same card (tests/integration/p11_compat.sh checks
 * them against the real modules); public EC and X25519 keys may derive
 * like their private halves; a certificate in a slot without a key is
 * still a certificate object.
 */
static void
test_compat_names(void **state)
{
	/* CHUID: FASC-N with agency code 9999 and a GUID: OpenSC takes the
	 * GUID, and shows its last 16 hex digits */
	static const uint8_t chuid[] = { 0x30, 0x19, 0xd4, 0xe7, 0x39, 0xda,
	    0x73, 0x9c, 0xed, 0x39, 0xce, 0x73, 0x9d, 0x83, 0x68, 0x58, 0x21,
	    0x08, 0x42, 0x10, 0x84, 0x21, 0xc8, 0x42, 0x10, 0xc3, 0xeb,
	    0x34, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	    0x35, 0x08, 0x32, 0x30, 0x33, 0x30, 0x30, 0x31, 0x30, 0x31,
	    0x3e, 0x00, 0xfe, 0x00 };
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE o;
	CK_TOKEN_INFO ti;
	EVP_PKEY *pub[3], *lone;
	X509 *x[2];
	piv_card_t *p;
	int ms = 30000;

	(void)state;
	unsetenv("USBPIV_ATTEST");
	tb_setup(1);
	pub[0] = tb_genkey(0, 0x9a, PIV_ALG_ECCP256, 0);
	pub[1] = tb_genkey(0, 0x9d, PIV_ALG_X25519, 0);
	pub[2] = tb_genkey(0, 0x82, PIV_ALG_RSA2048, 0);
	lone = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x[0] = tb_cert_for(pub[0], "compat auth");
	x[1] = tb_cert_for(lone, "compat lone");
	tb_putcert(0, 0x9a, x[0]);
	tb_putcert(0, 0x9e, x[1]);	/* no key in 9E */
	p = tb_other(0);
	assert_int_equal(piv_auth_mgm(p, PIV_ALG_3DES, tb_mgm, sizeof(tb_mgm),
	    &ms), 0);
	assert_int_equal(piv_put_data(p, PIV_OBJ_CHUID, chuid, sizeof(chuid),
	    &ms), 0);
	piv_free(&p);

	/* default names; the certificate alone in 9E is one, with no key */
	h = tb_open(0);
	o = tb_find1(h, CKO_CERTIFICATE, 4);
	check_bytes(h, o, CKA_LABEL,
	    "X.509 Certificate for Card Authentication", 41);
	{
		CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
		CK_BYTE id = 4;
		CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) },
		    { CKA_ID, &id, 1 } };

		assert_int_equal(tb_count(h, t, 2), 0);
		assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
		cls = CKO_PRIVATE_KEY;
		assert_int_equal(tb_count(h, t, 2), 0);
	}
	/* public keys that can derive say so, like their private halves */
	assert_true(get_bool(h, tb_find1(h, CKO_PUBLIC_KEY, 1), CKA_DERIVE));
	assert_true(get_bool(h, tb_find1(h, CKO_PUBLIC_KEY, 3), CKA_DERIVE));
	assert_false(get_bool(h, tb_find1(h, CKO_PUBLIC_KEY, 5), CKA_DERIVE));
	assert_true(get_bool(h, tb_find1(h, CKO_PRIVATE_KEY, 3), CKA_DERIVE));
	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	check_padded(ti.manufacturerID, sizeof(ti.manufacturerID), "Yubico");
	assert_int_equal(C_Finalize(NULL), CKR_OK);

	/* ykcs11 */
	setenv("USBPIV_COMPAT", "ykcs11", 1);
	h = tb_open(0);
	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	check_padded(ti.manufacturerID, sizeof(ti.manufacturerID),
	    "Yubico (www.yubico.com)");
	check_padded(ti.model, sizeof(ti.model), "YubiKey YK5");
	assert_int_equal(memcmp(ti.label, "YubiKey PIV #", 13), 0);
	assert_int_equal(ti.hardwareVersion.major, 1);
	assert_int_equal(ti.ulMaxPinLen, 48);
	check_bytes(h, tb_find1(h, CKO_PUBLIC_KEY, 5), CKA_LABEL,
	    "Public key for Retired Key 1", 28);
	assert_int_equal(C_Finalize(NULL), CKR_OK);

	/* OpenSC */
	setenv("USBPIV_COMPAT", "opensc", 1);
	h = tb_open(0);
	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	check_padded(ti.label, sizeof(ti.label), "compat auth");
	check_padded(ti.manufacturerID, sizeof(ti.manufacturerID), "piv_II");
	check_padded(ti.model, sizeof(ti.model), "PKCS#15 emulated");
	check_padded(ti.serialNumber, sizeof(ti.serialNumber),
	    "8899aabbccddeeff");
	assert_int_equal(ti.ulMinPinLen, 4);
	check_bytes(h, tb_find1(h, CKO_CERTIFICATE, 1), CKA_LABEL,
	    "Certificate for PIV Authentication", 34);
	check_bytes(h, tb_find1(h, CKO_CERTIFICATE, 4), CKA_LABEL,
	    "Certificate for Card Authentication", 35);
	check_bytes(h, tb_find1(h, CKO_PUBLIC_KEY, 1), CKA_LABEL,
	    "PIV AUTH pubkey", 15);
	check_bytes(h, tb_find1(h, CKO_PUBLIC_KEY, 3), CKA_LABEL,
	    "KEY MAN pubkey", 14);
	check_bytes(h, tb_find1(h, CKO_PUBLIC_KEY, 5), CKA_LABEL,
	    "Retired KEY MAN 1", 17);
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	check_bytes(h, tb_find1(h, CKO_PRIVATE_KEY, 1), CKA_LABEL,
	    "PIV AUTH key", 12);
	check_bytes(h, tb_find1(h, CKO_PRIVATE_KEY, 5), CKA_LABEL,
	    "Retired KEY MAN 1", 17);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	unsetenv("USBPIV_COMPAT");
	EVP_PKEY_free(pub[0]);
	EVP_PKEY_free(pub[1]);
	EVP_PKEY_free(pub[2]);
	EVP_PKEY_free(lone);
	X509_free(x[0]);
	X509_free(x[1]);
	tb_teardown();
}

/*
 * METADATA only for the slots a search can match: a template with CKA_ID
 * names one slot, and no Key History is read for it; an unrestricted
 * search then reads what it must, once.
 */
static void
test_lazy_by_id(void **state)
{
	CK_SESSION_HANDLE h;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_BYTE sig[128] = { 0 };
	CK_ULONG sl = sizeof(sig);
	CK_OBJECT_HANDLE o;
	EVP_PKEY *pub[3];
	piv_card_t *card;
	uint64_t a;

	(void)state;
	unsetenv("USBPIV_ATTEST");
	tb_setup(1);
	pub[0] = tb_genkey(0, 0x9a, PIV_ALG_ECCP256, 0);
	pub[1] = tb_genkey(0, 0x9c, PIV_ALG_RSA2048, 0);
	pub[2] = tb_genkey(0, 0x82, PIV_ALG_ECCP256, 0);
	h = tb_open(0);
	card = p11_mod.slots[0].card;
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	/* SELECT, VERIFY: one VERIFY, no PIN status before it */
	assert_int_equal(piv_apdu_count(card), 2);
	o = tb_find1(h, CKO_PRIVATE_KEY, 1);
	/* METADATA 9A alone */
	assert_int_equal(piv_apdu_count(card), 3);
	assert_int_equal(C_SignInit(h, &m, o), CKR_OK);
	assert_int_equal(C_Sign(h, sig, 32, sig, &sl), CKR_OK);
	assert_int_equal(piv_apdu_count(card), 4);
	/* the public key of the same slot: known already */
	(void)tb_find1(h, CKO_PUBLIC_KEY, 1);
	assert_int_equal(piv_apdu_count(card), 4);
	/* a retired slot by CKA_ID: Key History (is 82 a candidate?) and
	 * METADATA 82 */
	(void)tb_find1(h, CKO_PRIVATE_KEY, 5);
	a = piv_apdu_count(card);
	assert_int_equal(a, 6);
	/* all private keys: METADATA 9C 9D 9E only */
	assert_int_equal(count_class(h, CKO_PRIVATE_KEY), 3);
	assert_int_equal(piv_apdu_count(card), a + 3);
	assert_int_equal(count_class(h, CKO_PRIVATE_KEY), 3);
	assert_int_equal(count_class(h, CKO_PUBLIC_KEY), 3);
	assert_int_equal(piv_apdu_count(card), a + 3);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	EVP_PKEY_free(pub[0]);
	EVP_PKEY_free(pub[1]);
	EVP_PKEY_free(pub[2]);
	tb_teardown();
}

/* Retired slots: where the Key History says, all 20 with USBPIV_RETIRED. */
static void
test_retired_slots(void **state)
{
	CK_SESSION_HANDLE h;
	piv_card_t *p;
	EVP_PKEY *pub[3];
	int ms = 30000;

	(void)state;
	unsetenv("USBPIV_ATTEST");
	tb_setup(1);
	pub[0] = tb_genkey(0, 0x9a, PIV_ALG_ECCP256, 0);
	pub[1] = tb_genkey(0, 0x82, PIV_ALG_ECCP256, 0);	/* counted */
	/* a key in 90 that another tool did not count */
	p = tb_other(0);
	assert_int_equal(piv_auth_mgm(p, PIV_ALG_3DES, tb_mgm, sizeof(tb_mgm),
	    &ms), 0);
	assert_int_equal(piv_generate(p, 0x90, PIV_ALG_ECCP256, 0, 0, &pub[2],
	    &ms), 0);
	piv_free(&p);
	h = tb_open(0);
	/* 9A and 82; F9 (the card has one) only with USBPIV_ATTEST=1 */
	assert_int_equal(count_class(h, CKO_PUBLIC_KEY), 2);
	/* SELECT, Key History, METADATA 9A 9C 9D 9E 82 */
	assert_int_equal(piv_apdu_count(p11_mod.slots[0].card), 7);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	setenv("USBPIV_RETIRED", "all", 1);
	h = tb_open(0);
	assert_int_equal(count_class(h, CKO_PUBLIC_KEY), 3);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	unsetenv("USBPIV_RETIRED");
	setenv("USBPIV_ATTEST", "1", 1);
	h = tb_open(0);
	assert_int_equal(count_class(h, CKO_PUBLIC_KEY), 3);	/* + F9 */
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	EVP_PKEY_free(pub[0]);
	EVP_PKEY_free(pub[1]);
	EVP_PKEY_free(pub[2]);
	tb_teardown();
}

/* Key History parsing: hostile contents. */
static void
test_key_history_parse(void **state)
{
	static const uint8_t ok[] = { 0xc1, 1, 3, 0xc2, 1, 2, 0xfe, 0 };
	static const uint8_t big[] = { 0xc1, 1, 15, 0xc2, 1, 6 };
	static const uint8_t longc[] = { 0xc1, 2, 0, 3 };
	static const uint8_t trunc[] = { 0xc1, 5, 3 };
	static const uint8_t badc2[] = { 0xc1, 1, 0xff, 0xc2, 0 };
	uint8_t on = 9, off = 9;

	(void)state;
	assert_int_equal(piv_key_history_parse(ok, sizeof(ok), &on, &off), 0);
	assert_int_equal(on, 3);
	assert_int_equal(off, 2);
	/* more than the 20 retired slots */
	assert_int_not_equal(piv_key_history_parse(big, sizeof(big), &on,
	    &off), 0);
	assert_int_equal(on + off, 0);
	assert_int_not_equal(piv_key_history_parse(longc, sizeof(longc), &on,
	    &off), 0);
	assert_int_equal(on + off, 0);
	/* a valid C1 then a malformed C2 (found by fuzz_tlv): the count
	 * read before the error must not leak out */
	on = off = 9;
	assert_int_not_equal(piv_key_history_parse(badc2, sizeof(badc2), &on,
	    &off), 0);
	assert_int_equal(on, 0);
	assert_int_equal(off, 0);
	/* a length past the end: nothing read */
	(void)piv_key_history_parse(trunc, sizeof(trunc), &on, &off);
	assert_int_equal(on + off, 0);
	/* empty: no retired keys */
	assert_int_equal(piv_key_history_parse(NULL, 0, &on, &off), 0);
	assert_int_equal(on + off, 0);
}

/*
 * The public-key encoders against OpenSSL's own encoding, byte for byte:
 * SubjectPublicKeyInfo (i2d_PUBKEY), CKA_EC_POINT (a DER OCTET STRING of
 * the point), CKA_MODULUS / CKA_PUBLIC_EXPONENT (BN_bn2bin), from a
 * METADATA-style template and from an SPKI's key bits; and what they
 * must refuse.
 */
static size_t
put_tlv(uint8_t *out, uint8_t tag, const uint8_t *v, size_t n)
{
	size_t k;

	out[0] = tag;
	k = piv_tlv_put_len(out + 1, 4, n);
	assert_true(k > 0);
	memcpy(out + 1 + k, v, n);
	return 1 + k + n;
}

static void
check_pubenc(EVP_PKEY *pk, uint8_t alg)
{
	uint8_t key[600], e[16], tpl[700], *der = NULL, *osder = NULL;
	size_t klen = sizeof(key), elen = 0, tlen = 0, cut;
	struct p11_pubenc enc, enc2;
	ASN1_OCTET_STRING *os;
	const unsigned char *bits = NULL, *q;
	X509_PUBKEY *xp;
	BIGNUM *bn = NULL;
	int dl, ol, bl = 0, rsa = EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA;

	if (rsa) {
		assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N,
		    &bn));
		klen = (size_t)BN_bn2bin(bn, key);
		BN_free(bn);
		bn = NULL;
		assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E,
		    &bn));
		elen = (size_t)BN_bn2bin(bn, e);
		BN_free(bn);
		tlen = put_tlv(tpl, 0x81, key, klen);
		tlen += put_tlv(tpl + tlen, 0x82, e, elen);
	} else {
		if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC)
			assert_true(EVP_PKEY_get_octet_string_param(pk,
			    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, key,
			    sizeof(key), &klen));
		else
			assert_true(EVP_PKEY_get_raw_public_key(pk, key,
			    &klen));
		tlen = put_tlv(tpl, 0x86, key, klen);
	}
	dl = i2d_PUBKEY(pk, &der);
	assert_true(dl > 0);

	/* from the template, as METADATA gives it */
	assert_int_equal(p11_pubenc_from_tpl(alg, tpl, tlen, &enc), 0);
	assert_int_equal(enc.spki_len, (size_t)dl);
	assert_memory_equal(enc.spki, der, (size_t)dl);
	if (rsa) {
		assert_int_equal(enc.pt_len, klen);
		assert_memory_equal(enc.spki + enc.pt_off, key, klen);
		assert_int_equal(enc.e_len, elen);
		assert_memory_equal(enc.spki + enc.e_off, e, elen);
		assert_int_equal(enc.bits, (CK_ULONG)EVP_PKEY_get_bits(pk));
	} else {
		/* CKA_EC_POINT is the DER OCTET STRING of these bytes */
		assert_int_equal(enc.pt_len, klen);
		assert_memory_equal(enc.spki + enc.pt_off, key, klen);
		assert_non_null(os = ASN1_OCTET_STRING_new());
		assert_true(ASN1_OCTET_STRING_set(os, key, (int)klen));
		ol = i2d_ASN1_OCTET_STRING(os, &osder);
		assert_int_equal(ol, (int)klen + 2);
		assert_int_equal(osder[0], 0x04);
		assert_int_equal(osder[1], klen);
		ASN1_OCTET_STRING_free(os);
		OPENSSL_free(osder);
	}

	/* from a SubjectPublicKeyInfo's key bits, as a certificate has it */
	q = der;
	assert_non_null(xp = d2i_X509_PUBKEY(NULL, &q, dl));
	assert_int_equal(X509_PUBKEY_get0_param(NULL, &bits, &bl, NULL, xp),
	    1);
	assert_int_equal(p11_pubenc_from_spki_key(alg, bits, (size_t)bl,
	    &enc2), 0);
	assert_int_equal(enc2.spki_len, (size_t)dl);
	assert_memory_equal(enc2.spki, der, (size_t)dl);
	p11_pubenc_clear(&enc2);
	/* every truncation of the key bits is refused */
	for (cut = 0; cut < (size_t)bl; cut++) {
		assert_int_equal(p11_pubenc_from_spki_key(alg, bits, cut,
		    &enc2), -1);
		assert_null(enc2.spki);
	}
	X509_PUBKEY_free(xp);
	/* every truncation of the template too */
	for (cut = 0; cut < tlen; cut++) {
		assert_int_equal(p11_pubenc_from_tpl(alg, tpl, cut, &enc2),
		    -1);
		assert_null(enc2.spki);
	}
	/* a template of another algorithm's size */
	assert_int_equal(p11_pubenc_from_tpl(alg == PIV_ALG_ECCP256 ?
	    PIV_ALG_ECCP384 : PIV_ALG_ECCP256, tpl, tlen, &enc2), -1);
	p11_pubenc_clear(&enc);
	p11_pubenc_clear(&enc);		/* twice is harmless */
	OPENSSL_free(der);
}

/* i2d of an OpenSSL object equals der[off, off + len). */
#define SAME_DER(i2d, obj, der, off, len) do {				\
	unsigned char *_d = NULL;					\
	int _n = i2d(obj, &_d);						\
									\
	assert_int_equal(_n, (int)(len));				\
	assert_memory_equal(_d, (der) + (off), (size_t)_n);		\
	OPENSSL_free(_d);						\
} while (0)

/* The certificate walker finds what OpenSSL encodes, byte for byte. */
static void
test_cert_fields(void **state)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	X509 *x;
	unsigned char *der = NULL;
	const unsigned char *bits = NULL;
	struct p11_certf f;
	size_t cut;
	int n, bl = 0, v;

	(void)state;
	assert_non_null(pk);
	for (v = 2; v >= 0; v -= 2) {	/* v3, then v1 (no [0] version) */
		x = tb_cert_for(pk, "fields");
		if (v == 0) {
			EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
			    "P-256");

			X509_set_version(x, 0);
			assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
			EVP_PKEY_free(ca);
		}
		n = i2d_X509(x, &der);
		assert_true(n > 0);
		assert_int_equal(p11_cert_fields(der, (size_t)n, &f), 0);
		/* v3: [0] { INTEGER 2 } before the serial; v1: the
		 * TBSCertificate's header */
		if (v == 2)
			assert_memory_equal(der + f.serial_off - 5,
			    "\xa0\x03\x02\x01\x02", 5);
		else
			assert_true((der[f.serial_off - 3] == 0x30 &&
			    der[f.serial_off - 2] == 0x81) ||
			    (der[f.serial_off - 4] == 0x30 &&
			    der[f.serial_off - 3] == 0x82));
		SAME_DER(i2d_ASN1_INTEGER, X509_get0_serialNumber(x), der,
		    f.serial_off, f.serial_len);
		SAME_DER(i2d_X509_NAME, X509_get_issuer_name(x), der,
		    f.issuer_off, f.issuer_len);
		SAME_DER(i2d_X509_NAME, X509_get_subject_name(x), der,
		    f.subject_off, f.subject_len);
		SAME_DER(i2d_X509_PUBKEY, X509_get_X509_PUBKEY(x), der,
		    f.spki_off, f.spki_len);
		assert_int_equal(X509_PUBKEY_get0_param(NULL, &bits, &bl, NULL,
		    X509_get_X509_PUBKEY(x)), 1);
		assert_int_equal(f.key_len, (size_t)bl);
		assert_memory_equal(der + f.key_off, bits, (size_t)bl);
		/* every truncation, and a byte too many, refused */
		for (cut = 0; cut < (size_t)n; cut++)
			assert_int_equal(p11_cert_fields(der, cut, &f), -1);
		assert_int_equal(p11_cert_fields(der, (size_t)n + 1, &f), -1);
		OPENSSL_free(der);
		der = NULL;
		X509_free(x);
	}
	EVP_PKEY_free(pk);
}

static void
test_pubenc(void **state)
{
	static const struct { const char *type; const char *arg;
	    uint8_t alg; } k[] = {
		{ "EC", "P-256", PIV_ALG_ECCP256 },
		{ "EC", "P-384", PIV_ALG_ECCP384 },
		{ "RSA", NULL, PIV_ALG_RSA1024 },
		{ "RSA", NULL, PIV_ALG_RSA2048 },
		{ "ED25519", NULL, PIV_ALG_ED25519 },
		{ "X25519", NULL, PIV_ALG_X25519 },
	};
	/* 04 || X || Y of the wrong length, no 04, even exponent, short
	 * modulus, trailing bytes after RSAPublicKey */
	uint8_t pt[97] = { 0x04 }, n[256], ev[3] = { 1, 0, 2 };
	uint8_t rsapub[300];
	struct p11_pubenc enc;
	size_t i;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(k); i++) {
		EVP_PKEY *pk;

		if (k[i].arg != NULL)
			pk = EVP_PKEY_Q_keygen(NULL, NULL, k[i].type, k[i].arg);
		else if (strcmp(k[i].type, "RSA") == 0)
			pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(
			    k[i].alg == PIV_ALG_RSA1024 ? 1024 : 2048));
		else
			pk = EVP_PKEY_Q_keygen(NULL, NULL, k[i].type);
		assert_non_null(pk);
		check_pubenc(pk, k[i].alg);
		EVP_PKEY_free(pk);
	}
	assert_int_equal(p11_pubenc_build(PIV_ALG_ECCP256, pt, 64, NULL, 0,
	    &enc), -1);
	pt[0] = 0x02;
	assert_int_equal(p11_pubenc_build(PIV_ALG_ECCP256, pt, 65, NULL, 0,
	    &enc), -1);
	assert_int_equal(p11_pubenc_build(PIV_ALG_ED25519, pt, 33, NULL, 0,
	    &enc), -1);
	memset(n, 0xc5, sizeof(n));
	assert_int_equal(p11_pubenc_build(PIV_ALG_RSA2048, n, sizeof(n), ev,
	    sizeof(ev), &enc), -1);
	ev[2] = 1;
	assert_int_equal(p11_pubenc_build(PIV_ALG_RSA2048, n, sizeof(n), ev,
	    sizeof(ev), &enc), 0);
	p11_pubenc_clear(&enc);
	n[0] = 0x45;	/* top bit clear: a 2047-bit modulus */
	assert_int_equal(p11_pubenc_build(PIV_ALG_RSA2048, n, sizeof(n), ev,
	    sizeof(ev), &enc), -1);
	assert_int_equal(p11_pubenc_build(PIV_ALG_RSA2048, n, sizeof(n), NULL,
	    0, &enc), -1);
	assert_int_equal(p11_pubenc_build(0x42, n, sizeof(n), ev, 3, &enc),
	    -1);
	/* RSAPublicKey followed by a stray byte */
	n[0] = 0xc5;
	rsapub[0] = 0x30; rsapub[1] = 0x82; rsapub[2] = 0x01; rsapub[3] = 0x0a;
	rsapub[4] = 0x02; rsapub[5] = 0x82; rsapub[6] = 0x01; rsapub[7] = 0x01;
	rsapub[8] = 0x00;
	memcpy(rsapub + 9, n, 256);
	rsapub[265] = 0x02; rsapub[266] = 0x03;
	memcpy(rsapub + 267, ev, 3);
	assert_int_equal(p11_pubenc_from_spki_key(PIV_ALG_RSA2048, rsapub, 270,
	    &enc), 0);
	p11_pubenc_clear(&enc);
	rsapub[270] = 0;
	assert_int_equal(p11_pubenc_from_spki_key(PIV_ALG_RSA2048, rsapub, 271,
	    &enc), -1);
	/* an inner length past the outer one */
	rsapub[3] = 0x09;
	assert_int_equal(p11_pubenc_from_spki_key(PIV_ALG_RSA2048, rsapub, 269,
	    &enc), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_listing, fini),
		cmocka_unit_test_teardown(test_ec_attributes, fini),
		cmocka_unit_test_teardown(test_rsa_and_private, fini),
		cmocka_unit_test_teardown(test_get_attribute_edges, fini),
		cmocka_unit_test_teardown(test_certificate, fini),
		cmocka_unit_test_teardown(test_id_style, fini),
		cmocka_unit_test_teardown(test_data_objects, fini),
	};
	const struct CMUnitTest counts[] = {
		cmocka_unit_test(test_apdu_counts),
		cmocka_unit_test(test_compat_names),
		cmocka_unit_test(test_retired_slots),
		cmocka_unit_test(test_lazy_by_id),
		cmocka_unit_test(test_key_history_parse),
		cmocka_unit_test(test_pubenc),
		cmocka_unit_test(test_cert_fields),
	};
	int r;

	/* the first group lists F9 and the attestation certificates */
	setenv("USBPIV_ATTEST", "1", 1);
	r = cmocka_run_group_tests(tests, setup_keys, teardown_keys);
	return r | cmocka_run_group_tests(counts, NULL, NULL);
}
