/* SPDX-License-Identifier: MIT */
/*
 * tests/vtoken/vcard_keys.c — the software card's cryptography, all
 * through OpenSSL 3 EVP: key generation and import, the public key as
 * the card shows it, raw RSA, ECDSA, Ed25519, ECDH/X25519, the
 * management-key block cipher, and Yubico-style attestation.
 */
#include "vcard_int.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "vt_util.h"

/* ---- management key --------------------------------------------------- */

size_t
vk_mgm_keylen(uint8_t alg)
{
	switch (alg) {
	case ALG_3DES:
	case ALG_AES192:
		return 24;
	case ALG_AES128:
		return 16;
	case ALG_AES256:
		return 32;
	default:
		return 0;
	}
}

size_t
vk_mgm_blocklen(uint8_t alg)
{
	return alg == ALG_3DES ? 8 : 16;
}

/* One ECB pass over n bytes (a whole number of blocks). */
int
vk_mgm_block(uint8_t alg, const uint8_t *key, size_t klen,
    const uint8_t *in, size_t n, uint8_t *out, int enc)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx = NULL;
	int outl = 0, fin = 0, r = -1;

	switch (alg) {
	case ALG_3DES:
		cipher = EVP_des_ede3_ecb();
		break;
	case ALG_AES128:
		cipher = EVP_aes_128_ecb();
		break;
	case ALG_AES192:
		cipher = EVP_aes_192_ecb();
		break;
	case ALG_AES256:
		cipher = EVP_aes_256_ecb();
		break;
	default:
		return -1;
	}
	if (klen != vk_mgm_keylen(alg) || n == 0 || n > 32 ||
	    n % vk_mgm_blocklen(alg) != 0)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &outl, in, (int)n) != 1 ||
	    EVP_CipherFinal_ex(ctx, out + outl, &fin) != 1 ||
	    (size_t)(outl + fin) != n)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

/* ---- key generation ----------------------------------------------------- */

static unsigned
rsa_bits(uint8_t alg)
{
	switch (alg) {
	case ALG_RSA1024:
		return 1024;
	case ALG_RSA2048:
		return 2048;
	case ALG_RSA3072:
		return 3072;
	case ALG_RSA4096:
		return 4096;
	default:
		return 0;
	}
}

static size_t
ec_field_len(uint8_t alg)
{
	return alg == ALG_P256 ? 32 : alg == ALG_P384 ? 48 : 0;
}

int
vk_generate(uint8_t alg, EVP_PKEY **out)
{
	unsigned bits = rsa_bits(alg);

	*out = NULL;
	if (bits != 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else if (alg == ALG_P256)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (alg == ALG_P384)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	else if (alg == ALG_ED25519)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (alg == ALG_X25519)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	return *out != NULL ? 0 : -1;
}

/* ---- public key ------------------------------------------------------------ */

static int
put_bn(struct vrsp *r, uint32_t tag, const BIGNUM *bn, size_t pad)
{
	uint8_t buf[512];
	int n = BN_num_bytes(bn);

	if (n < 0 || (size_t)n > sizeof(buf) || pad > sizeof(buf))
		return -1;
	if (pad < (size_t)n)
		pad = (size_t)n;
	if (BN_bn2binpad(bn, buf, (int)pad) < 0)
		return -1;
	return vrsp_tlv(r, tag, buf, pad);
}

/* The content of the 7F49 template: 81 modulus 82 exponent, or 86 point. */
int
vk_pubkey(const EVP_PKEY *k, uint8_t alg, struct vrsp *r)
{
	BIGNUM *n = NULL, *e = NULL;
	uint8_t buf[133];
	size_t len = 0;
	int rc = -1;

	if (rsa_bits(alg) != 0) {
		if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
		    put_bn(r, 0x81, n, rsa_bits(alg) / 8) != 0 ||
		    put_bn(r, 0x82, e, 0) != 0)
			goto out;
	} else if (ec_field_len(alg) != 0) {
		if (EVP_PKEY_get_octet_string_param(k,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf),
		    &len) != 1 || len != 1 + 2 * ec_field_len(alg) ||
		    vrsp_tlv(r, 0x86, buf, len) != 0)
			goto out;
	} else if (alg == ALG_ED25519 || alg == ALG_X25519) {
		len = sizeof(buf);
		if (EVP_PKEY_get_raw_public_key(k, buf, &len) != 1 ||
		    len != 32 || vrsp_tlv(r, 0x86, buf, len) != 0)
			goto out;
	} else
		goto out;
	rc = 0;
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

/* ---- private-key operations ------------------------------------------- */

/* RSA raw (sign and decipher alike), ECDSA over the given hash, Ed25519
 * over the message.  Answers 7C { 82 result }. */
int
vk_sign(const struct vslot *s, const uint8_t *in, size_t n, struct vrsp *r)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	uint8_t out[512];
	size_t outlen = sizeof(out);
	int sw = SW_WRONG_DATA;

	if (rsa_bits(s->alg) != 0) {
		if (n != rsa_bits(s->alg) / 8)
			goto out;
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->pkey,
		    NULL)) == NULL ||
		    EVP_PKEY_decrypt_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) != 1 ||
		    EVP_PKEY_decrypt(ctx, out, &outlen, in, n) != 1 ||
		    outlen != n)
			goto out;	/* e.g. input >= modulus */
	} else if (ec_field_len(s->alg) != 0) {
		/* a shorter hash counts as left-padded with zeros (which is
		 * what ECDSA's bits2int makes of it anyway); longer: 6A80 */
		if (n == 0 || n > ec_field_len(s->alg))
			goto out;
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->pkey,
		    NULL)) == NULL ||
		    EVP_PKEY_sign_init(ctx) != 1 ||
		    EVP_PKEY_sign(ctx, out, &outlen, in, n) != 1) {
			sw = SW_UNKNOWN;
			goto out;
		}
	} else if (s->alg == ALG_ED25519) {
		if ((md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, s->pkey,
		    NULL) != 1 ||
		    EVP_DigestSign(md, out, &outlen, in, n) != 1) {
			sw = SW_UNKNOWN;
			goto out;
		}
	} else
		goto out;	/* X25519 cannot sign */
	if (vrsp_tl(r, 0x7c, vc_tl_len(0x82, outlen) + outlen) != 0 ||
	    vrsp_tlv(r, 0x82, out, outlen) != 0) {
		sw = SW_UNKNOWN;
		goto out;
	}
	sw = SW_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(md);
	vt_wipe(out, sizeof(out));
	return sw;
}

/* Key agreement with the peer's point (EC, uncompressed) or X25519 key. */
int
vk_ecdh(const struct vslot *s, const uint8_t *peer, size_t n,
    struct vrsp *r)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	uint8_t out[64];
	size_t outlen = sizeof(out), fl = ec_field_len(s->alg);
	int sw = SW_WRONG_DATA;

	if (fl != 0) {
		if (n != 1 + 2 * fl || peer[0] != 0x04)
			goto out;
		if ((pk = EVP_PKEY_new()) == NULL ||
		    EVP_PKEY_copy_parameters(pk, s->pkey) != 1 ||
		    EVP_PKEY_set1_encoded_public_key(pk, peer, n) != 1)
			goto out;
	} else if (s->alg == ALG_X25519) {
		if (n != 32 || (pk = EVP_PKEY_new_raw_public_key(
		    EVP_PKEY_X25519, NULL, peer, n)) == NULL)
			goto out;
	} else
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->pkey, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, pk, 1) != 1 ||
	    EVP_PKEY_derive(ctx, out, &outlen) != 1)
		goto out;
	if (vrsp_tl(r, 0x7c, vc_tl_len(0x82, outlen) + outlen) != 0 ||
	    vrsp_tlv(r, 0x82, out, outlen) != 0) {
		sw = SW_UNKNOWN;
		goto out;
	}
	sw = SW_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	vt_wipe(out, sizeof(out));
	return sw;
}

/* ---- import ------------------------------------------------------------------ */

static int
fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = -1;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	r = 0;
out:
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* p, q, dp, dq, qinv (tags 01-05, each once); e is 65537 as on a YubiKey,
 * and the CRT values must agree with it. */
static int
import_rsa(uint8_t alg, const uint8_t *p, size_t len, EVP_PKEY **out)
{
	BIGNUM *bn[5] = { NULL, NULL, NULL, NULL, NULL };
	BIGNUM *n = NULL, *e = NULL, *d = NULL, *p1 = NULL, *q1 = NULL;
	BIGNUM *phi = NULL, *t = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	BN_CTX *bctx = NULL;
	const uint8_t *v;
	size_t vlen, half = rsa_bits(alg) / 16;
	uint32_t tag;
	vt_rbuf_t b;
	int i, r = -1;

	vt_rbuf_init(&b, p, len);
	while (b.left > 0) {
		if (vc_tlv(&b, &tag, &v, &vlen) != 0 || tag < 1 || tag > 5 ||
		    bn[tag - 1] != NULL || vlen == 0 || vlen > half)
			goto out;
		if ((bn[tag - 1] = BN_secure_new()) == NULL ||
		    BN_bin2bn(v, (int)vlen, bn[tag - 1]) == NULL)
			goto out;
	}
	for (i = 0; i < 5; i++)
		if (bn[i] == NULL)
			goto out;
	if ((bctx = BN_CTX_secure_new()) == NULL || (n = BN_new()) == NULL ||
	    (e = BN_new()) == NULL || (d = BN_secure_new()) == NULL ||
	    (p1 = BN_secure_new()) == NULL || (q1 = BN_secure_new()) == NULL ||
	    (phi = BN_secure_new()) == NULL || (t = BN_secure_new()) == NULL)
		goto out;
	if (BN_set_word(e, 65537) != 1 ||
	    BN_mul(n, bn[0], bn[1], bctx) != 1 ||
	    (unsigned)BN_num_bits(n) != rsa_bits(alg) ||
	    BN_sub(p1, bn[0], BN_value_one()) != 1 ||
	    BN_sub(q1, bn[1], BN_value_one()) != 1 ||
	    BN_mul(phi, p1, q1, bctx) != 1 ||
	    BN_mod_inverse(d, e, phi, bctx) == NULL)
		goto out;
	/* dp = d mod (p-1), dq = d mod (q-1), qinv * q = 1 mod p */
	if (BN_mod(t, d, p1, bctx) != 1 || BN_cmp(t, bn[2]) != 0 ||
	    BN_mod(t, d, q1, bctx) != 1 || BN_cmp(t, bn[3]) != 0 ||
	    BN_mod_mul(t, bn[4], bn[1], bn[0], bctx) != 1 || !BN_is_one(t))
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1,
	    bn[0]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2,
	    bn[1]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1,
	    bn[2]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2,
	    bn[3]) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	    bn[4]) != 1 ||
	    fromdata("RSA", bld, out) != 0)
		goto out;
	r = 0;
out:
	for (i = 0; i < 5; i++)
		BN_clear_free(bn[i]);
	BN_free(n);
	BN_free(e);
	BN_clear_free(d);
	BN_clear_free(p1);
	BN_clear_free(q1);
	BN_clear_free(phi);
	BN_clear_free(t);
	BN_CTX_free(bctx);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

static int
import_ec(uint8_t alg, const uint8_t *s, size_t len, EVP_PKEY **out)
{
	int nid = alg == ALG_P256 ? NID_X9_62_prime256v1 : NID_secp384r1;
	const char *name = alg == ALG_P256 ? "P-256" : "P-384";
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	BIGNUM *priv = NULL;
	BN_CTX *bctx = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	uint8_t pub[97];
	size_t publen;
	int r = -1;

	if (len != ec_field_len(alg))
		return -1;
	if ((g = EC_GROUP_new_by_curve_name(nid)) == NULL ||
	    (pt = EC_POINT_new(g)) == NULL ||
	    (bctx = BN_CTX_secure_new()) == NULL ||
	    (priv = BN_secure_new()) == NULL ||
	    BN_bin2bn(s, (int)len, priv) == NULL)
		goto out;
	/* 0 < d < order */
	if (BN_is_zero(priv) || BN_cmp(priv, EC_GROUP_get0_order(g)) >= 0)
		goto out;
	if (EC_POINT_mul(g, pt, priv, NULL, NULL, bctx) != 1 ||
	    (publen = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED,
	    pub, sizeof(pub), bctx)) == 0)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    name, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, publen) != 1 ||
	    fromdata("EC", bld, out) != 0)
		goto out;
	r = 0;
out:
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	BN_clear_free(priv);
	BN_CTX_free(bctx);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

int
vk_import(uint8_t alg, const uint8_t *p, size_t len, EVP_PKEY **out)
{
	const uint8_t *v;
	size_t vlen;
	uint32_t tag;
	vt_rbuf_t b;

	*out = NULL;
	if (rsa_bits(alg) != 0)
		return import_rsa(alg, p, len, out);
	/* The private value's tag: 06 for EC scalars, 07 for an Ed25519
	 * seed, 08 for an X25519 scalar (as YubiKey 5.7 and
	 * yubico-piv-tool have it). */
	vt_rbuf_init(&b, p, len);
	if (vc_tlv(&b, &tag, &v, &vlen) != 0 || b.left != 0 ||
	    tag != (alg == ALG_ED25519 ? 0x07u : alg == ALG_X25519 ? 0x08u :
	    0x06u))
		return -1;
	if (ec_field_len(alg) != 0)
		return import_ec(alg, v, vlen, out);
	if ((alg != ALG_ED25519 && alg != ALG_X25519) || vlen != 32)
		return -1;
	*out = EVP_PKEY_new_raw_private_key(alg == ALG_ED25519 ?
	    EVP_PKEY_ED25519 : EVP_PKEY_X25519, NULL, v, vlen);
	return *out != NULL ? 0 : -1;
}

/* ---- attestation ------------------------------------------------------------ */

#define ATT_SUBJECT	"Yubico PIV Attestation"
#define OID_FIRMWARE	"1.3.6.1.4.1.41482.3.3"
#define OID_SERIAL	"1.3.6.1.4.1.41482.3.7"
#define OID_POLICY	"1.3.6.1.4.1.41482.3.8"
#define OID_FORMFACTOR	"1.3.6.1.4.1.41482.3.9"

/*
 * Every fresh card needs an RSA-2048 attestation key; generating one per
 * card would make every test pay for it, so a process makes one and the
 * cards share it (each card still gets its own certificate).
 */
static pthread_once_t att_once = PTHREAD_ONCE_INIT;
static EVP_PKEY *att_key;

static void
att_make_key(void)
{
	att_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static int
add_ext(X509 *x, const char *oid, const uint8_t *v, size_t n, int critical)
{
	ASN1_OBJECT *obj = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	int r = -1;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(os, v, (int)n) != 1 ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, critical,
	    os)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto out;
	r = 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return r;
}

static int
add_std_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int r;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	r = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return r;
}

static int
random_serial(X509 *x)
{
	uint8_t b[16];
	BIGNUM *bn = NULL;
	int r = -1;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] &= 0x7f;
	b[0] |= 0x40;
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	r = 0;
out:
	BN_free(bn);
	return r;
}

static const EVP_MD *
sign_md(const EVP_PKEY *k)
{
	int id = EVP_PKEY_get_base_id(k);

	return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL :
	    EVP_sha256();
}

/* A certificate shell: random serial, validity now .. 9999, names. */
static X509 *
cert_shell(const char *subject_cn, const X509_NAME *issuer)
{
	X509 *x = NULL;
	X509_NAME *name = NULL;

	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    random_serial(x) != 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    ASN1_TIME_set_string_X509(X509_getm_notAfter(x),
	    "99991231235959Z") != 1 ||
	    (name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)subject_cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ? issuer : name) != 1) {
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(name);
	return x;
}

/* Stores 5FFF01 = 53 { 70 cert 71 00 FE 00 }. */
static int
store_att_cert(struct vcard *c, const uint8_t *der, size_t n)
{
	uint8_t buf[VC_OBJ_MAX];
	struct vrsp r;

	memset(&r, 0, sizeof(r));
	r.p = buf;
	r.cap = sizeof(buf);
	if (vrsp_tl(&r, 0x53, vc_tl_len(0x70, n) + n + 5) != 0 ||
	    vrsp_tlv(&r, 0x70, der, n) != 0 ||
	    vrsp_tlv(&r, 0x71, "\0", 1) != 0 ||
	    vrsp_tlv(&r, 0xfe, NULL, 0) != 0 ||
	    vc_obj_set(c, 0x5fff01, buf, r.len) != 0)
		return -1;
	return 0;
}

/*
 * The self-signed certificate of the shared attestation key, made once
 * per firmware version and process (signing one per card costs more than
 * the rest of vcard_new).
 */
static pthread_mutex_t att_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t att_der[2048];
static size_t att_der_len;
static uint8_t att_ver[3];

static int
att_cert_der(const uint8_t version[3], uint8_t *out, size_t cap,
    size_t *outlen)
{
	uint8_t *der = NULL;
	X509 *x = NULL;
	int n, r = -1;

	*outlen = 0;
	if (pthread_mutex_lock(&att_lock) != 0)
		return -1;
	if (att_der_len == 0 || memcmp(att_ver, version, 3) != 0) {
		att_der_len = 0;
		if ((x = cert_shell(ATT_SUBJECT, NULL)) == NULL ||
		    X509_set_pubkey(x, att_key) != 1 ||
		    add_std_ext(x, x, NID_basic_constraints,
		    "critical,CA:TRUE") != 0 ||
		    add_std_ext(x, x, NID_key_usage,
		    "critical,keyCertSign,cRLSign") != 0 ||
		    add_std_ext(x, x, NID_subject_key_identifier, "hash") != 0 ||
		    add_ext(x, OID_FIRMWARE, version, 3, 0) != 0 ||
		    X509_sign(x, att_key, EVP_sha256()) <= 0 ||
		    (n = i2d_X509(x, &der)) <= 0 ||
		    (size_t)n > sizeof(att_der))
			goto out;
		memcpy(att_der, der, (size_t)n);
		att_der_len = (size_t)n;
		memcpy(att_ver, version, 3);
	}
	if (att_der_len > cap)
		goto out;
	memcpy(out, att_der, att_der_len);
	*outlen = att_der_len;
	r = 0;
out:
	pthread_mutex_unlock(&att_lock);
	OPENSSL_free(der);
	X509_free(x);
	return r;
}

/* The factory attestation key in f9 and its self-signed certificate. */
int
vk_attestation_init(struct vcard *c)
{
	int idx = vc_slot_index(0xf9);
	struct vslot *s = &c->slots[idx];
	uint8_t der[2048];
	size_t n;

	if (pthread_once(&att_once, att_make_key) != 0 || att_key == NULL ||
	    att_cert_der(c->version, der, sizeof(der), &n) != 0 ||
	    EVP_PKEY_up_ref(att_key) != 1)
		return -1;
	EVP_PKEY_free(s->pkey);
	s->pkey = att_key;
	s->alg = ALG_RSA2048;
	s->pin_policy = PIN_POL_NEVER;
	s->touch_policy = TOUCH_POL_NEVER;
	s->origin = ORIGIN_IMPORTED;
	return store_att_cert(c, der, n);
}

/* The f9 certificate, from 5FFF01, or NULL. */
static X509 *
att_cert(const struct vcard *c)
{
	const struct vobj *o = vc_obj_get(c, 0x5fff01);
	const uint8_t *v, *iv, *p;
	uint32_t tag;
	size_t len, ilen;
	vt_rbuf_t b, in;

	if (o == NULL)
		return NULL;
	vt_rbuf_init(&b, o->data, o->len);
	if (vc_tlv(&b, &tag, &v, &len) != 0 || tag != 0x53)
		return NULL;
	vt_rbuf_init(&in, v, len);
	while (in.left > 0) {
		if (vc_tlv(&in, &tag, &iv, &ilen) != 0)
			return NULL;
		if (tag == 0x70) {
			p = iv;
			return d2i_X509(NULL, &p, (long)ilen);
		}
	}
	return NULL;
}

/* ATTEST: a certificate of the slot's key, signed by the f9 key. */
int
vk_attest(struct vcard *c, uint8_t slot, struct vrsp *r)
{
	const struct vslot *s = &c->slots[vc_slot_index(slot)];
	const struct vslot *att = &c->slots[vc_slot_index(0xf9)];
	ASN1_INTEGER *ai = NULL;
	uint8_t *der = NULL, *sder = NULL, pol[2], ff = 0x01;
	X509 *x = NULL, *ca = NULL;
	char cn[40];
	int n, sn, sw = SW_UNKNOWN;

	if (att->pkey == NULL)
		return SW_REF_NOT_FOUND;
	ca = att_cert(c);
	snprintf(cn, sizeof(cn), "YubiKey PIV Attestation %02x", slot);
	pol[0] = s->pin_policy;
	pol[1] = s->touch_policy;
	if ((ai = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_int64(ai, (int64_t)c->serial) != 1 ||
	    (sn = i2d_ASN1_INTEGER(ai, &sder)) <= 0)
		goto out;
	if ((x = cert_shell(cn, ca != NULL ? X509_get_subject_name(ca) :
	    NULL)) == NULL ||
	    X509_set_pubkey(x, s->pkey) != 1 ||
	    add_ext(x, OID_FIRMWARE, c->version, 3, 0) != 0 ||
	    add_ext(x, OID_SERIAL, sder, (size_t)sn, 0) != 0 ||
	    add_ext(x, OID_POLICY, pol, 2, 0) != 0 ||
	    add_ext(x, OID_FORMFACTOR, &ff, 1, 0) != 0 ||
	    X509_sign(x, att->pkey, sign_md(att->pkey)) <= 0 ||
	    (n = i2d_X509(x, &der)) <= 0)
		goto out;
	if (vrsp_put(r, der, (size_t)n) != 0)
		goto out;
	sw = SW_OK;
out:
	OPENSSL_free(der);
	OPENSSL_free(sder);
	ASN1_INTEGER_free(ai);
	X509_free(x);
	X509_free(ca);
	return sw;
}
