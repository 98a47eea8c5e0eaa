/* SPDX-License-Identifier: MIT */
/*
 * Cryptographic operations.  Private-key operations go to the card
 * (padding built here for RSA); everything with a public key (verify,
 * encrypt) and digests run in software with OpenSSL.  Multi-part calls
 * hash incrementally, or collect the data for the raw mechanisms
 * (bounded).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "p11.h"
#include "../util/util.h"

#define P11_RAW_MAX	4096	/* raw-mechanism input collected */

static const EVP_MD *
p11_md(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1: case CKM_SHA1_RSA_PKCS: case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA1:
		return EVP_sha1();
	case CKM_SHA224: case CKM_SHA224_RSA_PKCS:
	case CKM_SHA224_RSA_PKCS_PSS: case CKM_ECDSA_SHA224:
		return EVP_sha224();
	case CKM_SHA256: case CKM_SHA256_RSA_PKCS:
	case CKM_SHA256_RSA_PKCS_PSS: case CKM_ECDSA_SHA256:
		return EVP_sha256();
	case CKM_SHA384: case CKM_SHA384_RSA_PKCS:
	case CKM_SHA384_RSA_PKCS_PSS: case CKM_ECDSA_SHA384:
		return EVP_sha384();
	case CKM_SHA512: case CKM_SHA512_RSA_PKCS:
	case CKM_SHA512_RSA_PKCS_PSS: case CKM_ECDSA_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

static const EVP_MD *
p11_md_of_hashalg(CK_MECHANISM_TYPE h)
{
	switch (h) {
	case CKM_SHA_1: case CKM_SHA224: case CKM_SHA256: case CKM_SHA384:
	case CKM_SHA512:
		return p11_md(h);
	}
	return NULL;
}

static const EVP_MD *
p11_md_of_mgf(CK_RSA_PKCS_MGF_TYPE g)
{
	switch (g) {
	case CKG_MGF1_SHA1: return EVP_sha1();
	case CKG_MGF1_SHA224: return EVP_sha224();
	case CKG_MGF1_SHA256: return EVP_sha256();
	case CKG_MGF1_SHA384: return EVP_sha384();
	case CKG_MGF1_SHA512: return EVP_sha512();
	}
	return NULL;
}

enum { P11_FAM_RSA_PKCS, P11_FAM_RSA_X509, P11_FAM_RSA_PSS, P11_FAM_OAEP,
    P11_FAM_ECDSA, P11_FAM_EDDSA };

static int
p11_family(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_RSA_PKCS: case CKM_SHA1_RSA_PKCS: case CKM_SHA224_RSA_PKCS:
	case CKM_SHA256_RSA_PKCS: case CKM_SHA384_RSA_PKCS:
	case CKM_SHA512_RSA_PKCS:
		return P11_FAM_RSA_PKCS;
	case CKM_RSA_X_509:
		return P11_FAM_RSA_X509;
	case CKM_RSA_PKCS_PSS: case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_SHA224_RSA_PKCS_PSS: case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_SHA384_RSA_PKCS_PSS: case CKM_SHA512_RSA_PKCS_PSS:
		return P11_FAM_RSA_PSS;
	case CKM_RSA_PKCS_OAEP:
		return P11_FAM_OAEP;
	case CKM_ECDSA: case CKM_ECDSA_SHA1: case CKM_ECDSA_SHA224:
	case CKM_ECDSA_SHA256: case CKM_ECDSA_SHA384: case CKM_ECDSA_SHA512:
		return P11_FAM_ECDSA;
	case CKM_EDDSA:
		return P11_FAM_EDDSA;
	}
	return -1;
}

static size_t
p11_rsa_bytes(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_RSA1024: return 128;
	case PIV_ALG_RSA2048: return 256;
	case PIV_ALG_RSA3072: return 384;
	case PIV_ALG_RSA4096: return 512;
	}
	return 0;
}

static size_t
p11_ec_bytes(uint8_t alg)
{
	return alg == PIV_ALG_ECCP384 ? 48 : 32;
}

/* Checks mechanism against the key and fills op (key, md, params). */
static CK_RV
p11_op_setup(struct p11_slot *slot, struct p11_opstate *op,
    CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hKey, int want_priv)
{
	int kind = P11_KIND(hKey), idx = (int)P11_INDEX(hKey), fam;
	CK_KEY_TYPE kt;

	if (m == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((want_priv && kind != P11_OBJ_PRIV) ||
	    (!want_priv && kind != P11_OBJ_PUB) ||
	    !p11_object_exists(slot, hKey))
		return slot->token_present ? CKR_KEY_HANDLE_INVALID :
		    CKR_DEVICE_REMOVED;
	kt = p11_keytype(slot->keys[idx].md.alg);
	if ((fam = p11_family(m->mechanism)) < 0)
		return CKR_MECHANISM_INVALID;
	if ((fam <= P11_FAM_OAEP && kt != CKK_RSA) ||
	    (fam == P11_FAM_ECDSA && kt != CKK_EC) ||
	    (fam == P11_FAM_EDDSA && kt != CKK_EC_EDWARDS))
		return CKR_KEY_TYPE_INCONSISTENT;
	memset(op, 0, sizeof(*op));
	op->mech = m->mechanism;
	op->key = hKey;
	op->keyidx = idx;
	op->md = p11_md(m->mechanism);
	if (fam == P11_FAM_RSA_PSS) {
		const CK_RSA_PKCS_PSS_PARAMS *pp = m->pParameter;

		if (pp == NULL || m->ulParameterLen != sizeof(*pp))
			return CKR_MECHANISM_PARAM_INVALID;
		if (op->md == NULL)
			op->md = p11_md_of_hashalg(pp->hashAlg);
		else if (p11_md_of_hashalg(pp->hashAlg) != op->md)
			return CKR_MECHANISM_PARAM_INVALID;
		op->mgf1 = p11_md_of_mgf(pp->mgf);
		op->salt = pp->sLen;
		if (op->md == NULL || op->mgf1 == NULL || pp->sLen > 512)
			return CKR_MECHANISM_PARAM_INVALID;
		/* only the *_PSS mechanisms hash; plain PSS gets the hash */
		if (m->mechanism == CKM_RSA_PKCS_PSS)
			op->md = p11_md_of_hashalg(pp->hashAlg);
	} else if (fam == P11_FAM_OAEP) {
		const CK_RSA_PKCS_OAEP_PARAMS *op_ = m->pParameter;

		if (op_ == NULL || m->ulParameterLen != sizeof(*op_))
			return CKR_MECHANISM_PARAM_INVALID;
		op->md = p11_md_of_hashalg(op_->hashAlg);
		op->mgf1 = p11_md_of_mgf(op_->mgf);
		if (op->md == NULL || op->mgf1 == NULL ||
		    (op_->source != 0 && op_->source != CKZ_DATA_SPECIFIED) ||
		    (op_->ulSourceDataLen > 0 && op_->pSourceData == NULL) ||
		    op_->ulSourceDataLen > 1024)
			return CKR_MECHANISM_PARAM_INVALID;
		if (op_->ulSourceDataLen > 0) {
			if ((op->label_buf = malloc(op_->ulSourceDataLen)) ==
			    NULL)
				return CKR_HOST_MEMORY;
			memcpy(op->label_buf, op_->pSourceData,
			    op_->ulSourceDataLen);
			op->label_len = op_->ulSourceDataLen;
		}
	} else if (fam == P11_FAM_EDDSA && m->pParameter != NULL) {
		const CK_BYTE *ph = m->pParameter;

		/* CK_EDDSA_PARAMS: phFlag first; Ed25519ph unsupported */
		if (m->ulParameterLen < 1 || ph[0] != CK_FALSE)
			return CKR_MECHANISM_PARAM_INVALID;
	} else if (m->pParameter != NULL || m->ulParameterLen != 0) {
		return CKR_MECHANISM_PARAM_INVALID;
	}
	/* hashing mechanisms hash as they go */
	if (op->md != NULL && m->mechanism != CKM_RSA_PKCS_PSS &&
	    fam != P11_FAM_OAEP) {
		if ((op->mdctx = EVP_MD_CTX_new()) == NULL ||
		    !EVP_DigestInit_ex(op->mdctx, op->md, NULL))
			return CKR_HOST_MEMORY;
	}
	op->active = 1;
	return CKR_OK;
}

/*
 * An operation is either single-part (C_Sign, C_Verify, C_Decrypt,
 * C_Encrypt, C_Digest, possibly repeated after a size query) or multi-part
 * (…Update, …Final): mixing them is refused and ends the operation, so a
 * single-part call never signs what earlier parts accumulated and a Final
 * never works on the empty input of a single-part size query.
 */
static CK_RV
p11_op_mode(struct p11_opstate *op, int mode)
{
	if (op->mode != 0 && op->mode != mode) {
		p11_op_reset(op);
		return CKR_OPERATION_ACTIVE;
	}
	op->mode = mode;
	return CKR_OK;
}

static CK_RV
p11_op_update(struct p11_opstate *op, const uint8_t *p, size_t n)
{
	uint8_t *nb;

	if (n > 0 && p == NULL)
		return CKR_ARGUMENTS_BAD;
	if (op->mdctx != NULL)
		return EVP_DigestUpdate(op->mdctx, p, n) ? CKR_OK :
		    CKR_FUNCTION_FAILED;
	if (n > P11_RAW_MAX || op->len + n > P11_RAW_MAX)
		return CKR_DATA_LEN_RANGE;
	if (n == 0)
		return CKR_OK;
	if ((nb = malloc(op->len + n)) == NULL)
		return CKR_HOST_MEMORY;
	if (op->len > 0)
		memcpy(nb, op->buf, op->len);
	memcpy(nb + op->len, p, n);
	util_freezero(op->buf, op->len);
	op->buf = nb;
	op->len += n;
	return CKR_OK;
}

/* The data to sign / verify: the digest, or what was collected. */
static CK_RV
p11_op_input(struct p11_opstate *op, uint8_t *dig, size_t cap,
    const uint8_t **in, size_t *inlen)
{
	unsigned int dl = 0;

	if (op->mdctx != NULL) {
		if ((size_t)EVP_MD_get_size(op->md) > cap ||
		    !EVP_DigestFinal_ex(op->mdctx, dig, &dl))
			return CKR_FUNCTION_FAILED;
		EVP_MD_CTX_free(op->mdctx);
		op->mdctx = NULL;
		/* keep the digest, in case the call is repeated for size */
		if ((op->buf = malloc(dl)) == NULL)
			return CKR_HOST_MEMORY;
		memcpy(op->buf, dig, dl);
		op->len = dl;
	}
	*in = op->buf != NULL ? op->buf : (const uint8_t *)"";
	*inlen = op->len;
	return CKR_OK;
}

/* DigestInfo prefixes (RFC 8017 9.2 note 1). */
static CK_RV
p11_digestinfo(const EVP_MD *md, const uint8_t **pre, size_t *prelen)
{
	static const uint8_t s1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05,
	    0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
	static const uint8_t s224[] = { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00,
	    0x04, 0x1c };
	static const uint8_t s256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20 };
	static const uint8_t s384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	    0x04, 0x30 };
	static const uint8_t s512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
	    0x04, 0x40 };

	switch (EVP_MD_get_type(md)) {
	case NID_sha1: *pre = s1; *prelen = sizeof(s1); return CKR_OK;
	case NID_sha224: *pre = s224; *prelen = sizeof(s224); return CKR_OK;
	case NID_sha256: *pre = s256; *prelen = sizeof(s256); return CKR_OK;
	case NID_sha384: *pre = s384; *prelen = sizeof(s384); return CKR_OK;
	case NID_sha512: *pre = s512; *prelen = sizeof(s512); return CKR_OK;
	}
	return CKR_MECHANISM_INVALID;
}

/* EMSA-PSS encoding (RFC 8017 9.1.1) of the hash mhash into em (emlen
 * bytes, the modulus size): util_rsa_pss_encode. */
static CK_RV
p11_pss_encode(const EVP_MD *md, const EVP_MD *mgf, size_t slen,
    const uint8_t *mhash, size_t hlen, size_t modbits, uint8_t *em,
    size_t emlen)
{
	switch (util_rsa_pss_encode(md, mgf, slen, mhash, hlen, modbits, em,
	    emlen)) {
	case 0:
		return CKR_OK;
	case -1:
		return CKR_DATA_LEN_RANGE;
	case -2:
		return CKR_KEY_SIZE_RANGE;
	default:
		return CKR_FUNCTION_FAILED;
	}
}

/* DER ECDSA-Sig-Value to r||s of 2*fb bytes. */
static CK_RV
p11_ecdsa_raw(const uint8_t *der, size_t len, size_t fb, uint8_t *out)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	CK_RV rv = CKR_DEVICE_ERROR;

	if (len == 2 * fb && der[0] != 0x30) {
		memcpy(out, der, len);
		return CKR_OK;
	}
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return CKR_DEVICE_ERROR;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, (int)fb) == (int)fb &&
	    BN_bn2binpad(s, out + fb, (int)fb) == (int)fb)
		rv = CKR_OK;
	ECDSA_SIG_free(sig);
	return rv;
}

static size_t
p11_sig_len(struct p11_slot *slot, struct p11_opstate *op)
{
	uint8_t alg = slot->keys[op->keyidx].md.alg;

	switch (p11_family(op->mech)) {
	case P11_FAM_ECDSA:
		return 2 * p11_ec_bytes(alg);
	case P11_FAM_EDDSA:
		return 64;
	}
	return p11_rsa_bytes(alg);
}

/* The budget of a private-key operation: a key whose use waits for a
 * touch gets the slow one. */
static int
p11_key_ms(const struct p11_key *k)
{
	return k->md.touch_policy == PIV_TOUCHPOLICY_ALWAYS ||
	    k->md.touch_policy == PIV_TOUCHPOLICY_CACHED ? P11_SLOW_MS :
	    P11_OP_MS;
}

/* Private-key signature over the collected input. */
static CK_RV
p11_do_sign(struct p11_slot *slot, struct p11_opstate *op, uint8_t *sig,
    size_t *siglen)
{
	struct p11_key *k = &slot->keys[op->keyidx];
	uint8_t dig[EVP_MAX_MD_SIZE], em[P11_SIG_MAX], out[P11_SIG_MAX];
	const uint8_t *in = NULL, *pre = NULL;
	size_t inlen = 0, prelen = 0, kb = p11_rsa_bytes(k->md.alg), n = 0;
	int ms = P11_OP_MS, r, fam = p11_family(op->mech);
	EVP_PKEY *pub;
	CK_RV rv;

	*siglen = 0;
	if ((rv = p11_op_input(op, dig, sizeof(dig), &in, &inlen)) != CKR_OK)
		return rv;
	switch (fam) {
	case P11_FAM_RSA_PKCS:
		if (op->mech != CKM_RSA_PKCS &&
		    (rv = p11_digestinfo(op->md, &pre, &prelen)) != CKR_OK)
			return rv;
		if (prelen + inlen + 11 > kb)
			return CKR_DATA_LEN_RANGE;
		em[0] = 0x00;
		em[1] = 0x01;
		memset(em + 2, 0xff, kb - prelen - inlen - 3);
		em[kb - prelen - inlen - 1] = 0x00;
		if (prelen > 0)
			memcpy(em + kb - prelen - inlen, pre, prelen);
		if (inlen > 0)
			memcpy(em + kb - inlen, in, inlen);
		in = em;
		inlen = kb;
		break;
	case P11_FAM_RSA_X509:
		if (inlen > kb)
			return CKR_DATA_LEN_RANGE;
		memset(em, 0, kb - inlen);
		if (inlen > 0)
			memcpy(em + kb - inlen, in, inlen);
		in = em;
		inlen = kb;
		break;
	case P11_FAM_RSA_PSS:
		if ((pub = p11_key_pkey(slot, op->keyidx)) == NULL)
			return CKR_KEY_HANDLE_INVALID;
		if ((rv = p11_pss_encode(op->md, op->mgf1, op->salt, in, inlen,
		    (size_t)EVP_PKEY_get_bits(pub), em, kb)) != CKR_OK)
			return rv;
		in = em;
		inlen = kb;
		break;
	}
	ms = p11_key_ms(k);
	r = piv_sign(slot->card, k->ref, k->md.alg, in, inlen, out,
	    sizeof(out), &n, &ms);
	/* the card forgot the PIN (another program): log in again and
	 * retry once, if we may */
	if (r == PIV_ERR_AUTH_REQUIRED && !p11_key_always_auth(k) &&
	    p11_login_lost(slot) == 0) {
		ms = p11_key_ms(k);
		r = piv_sign(slot->card, k->ref, k->md.alg, in, inlen, out,
		    sizeof(out), &n, &ms);
	}
	util_wipe(em, sizeof(em));
	if (r != 0) {
		rv = p11_card_rv(slot, r);
		if (r == PIV_ERR_AUTH_REQUIRED) {
			if (!p11_key_always_auth(k))
				slot->user_in = 0;
			rv = CKR_USER_NOT_LOGGED_IN;
		}
		return rv;
	}
	if (fam == P11_FAM_ECDSA)
		rv = p11_ecdsa_raw(out, n, p11_ec_bytes(k->md.alg), sig);
	else if (n != p11_sig_len(slot, op))
		rv = CKR_DEVICE_ERROR;
	else
		memcpy(sig, out, n);
	if (rv == CKR_OK)
		*siglen = p11_sig_len(slot, op);
	return rv;
}

/* Common session + token prologue for the crypto calls. */
static CK_RV
p11_crypto_session(CK_SESSION_HANDLE h, struct p11_slot **slot,
    struct p11_session **s)
{
	CK_RV rv;

	if ((rv = p11_session_get(h, slot, s)) != CKR_OK)
		return rv;
	if ((rv = p11_token_check(*slot)) != CKR_OK ||
	    (rv = p11_login_check(*slot)) != CKR_OK ||
	    (rv = p11_keys_load(*slot)) != CKR_OK) {
		/* The session was valid a moment ago: the token went away
		 * now, during this call.  Later calls on the session find
		 * it closed (CKR_SESSION_HANDLE_INVALID). */
		if (rv == CKR_TOKEN_NOT_PRESENT)
			rv = CKR_DEVICE_REMOVED;
		p11_slot_release(*slot);
		*slot = NULL;
		*s = NULL;
	}
	return rv;
}

/* ---- sign ------------------------------------------------------------------ */

CK_RV
C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_SIGN];
	if (pMechanism == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->active)
		rv = CKR_OPERATION_ACTIVE;
	else if (!slot->user_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if (p11_family(pMechanism->mechanism) == P11_FAM_OAEP)
		rv = CKR_MECHANISM_INVALID;
	else if ((rv = p11_op_setup(slot, op, pMechanism, hKey, 1)) != CKR_OK)
		p11_op_reset(op);
	else if (slot->keys[op->keyidx].md.alg == PIV_ALG_X25519) {
		p11_op_reset(op);
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	}
	p11_slot_release(slot);
	return rv;
}

static CK_RV
p11_sign_final(struct p11_slot *slot, struct p11_opstate *op,
    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	uint8_t sig[P11_SIG_MAX];
	size_t need = p11_sig_len(slot, op), n = 0;
	CK_RV rv;

	if (pulSignatureLen == NULL) {
		p11_op_reset(op);
		return CKR_ARGUMENTS_BAD;
	}
	if (pSignature == NULL) {
		*pulSignatureLen = need;
		return CKR_OK;
	}
	if (*pulSignatureLen < need) {
		*pulSignatureLen = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	/* a kept PIN never stands in for the one an "always" key wants */
	if (p11_key_always_auth(&slot->keys[op->keyidx]) && !op->ctx_auth) {
		p11_op_reset(op);
		return CKR_USER_NOT_LOGGED_IN;
	}
	rv = p11_do_sign(slot, op, sig, &n);
	if (rv == CKR_OK) {
		memcpy(pSignature, sig, n);
		*pulSignatureLen = n;
	}
	p11_op_reset(op);
	return rv;
}

CK_RV
C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_SIGN];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_SINGLE)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if ((pData == NULL && ulDataLen > 0) || pulSignatureLen == NULL) {
		p11_op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else if (pSignature == NULL ||
	    *pulSignatureLen < p11_sig_len(slot, op)) {
		/* size query or short buffer: the data is not consumed */
		rv = p11_sign_final(slot, op, pSignature, pulSignatureLen);
	} else if ((rv = p11_op_update(op, pData, ulDataLen)) != CKR_OK)
		p11_op_reset(op);
	else
		rv = p11_sign_final(slot, op, pSignature, pulSignatureLen);
	p11_slot_release(slot);
	return rv;
}

/*
 * C_SignUpdate and C_VerifyUpdate: buffer one more part of the message of
 * the operation `which` (P11_OP_SIGN or P11_OP_VERIFY).
 */
static CK_RV
p11_sigver_update(CK_SESSION_HANDLE hSession, int which, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[which];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (p11_family(op->mech) == P11_FAM_EDDSA) {
		/* EdDSA takes the whole message: no multi-part (spec). */
		p11_op_reset(op);
		rv = CKR_FUNCTION_NOT_SUPPORTED;
	} else if ((rv = p11_op_update(op, pPart, ulPartLen)) != CKR_OK)
		p11_op_reset(op);
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return p11_sigver_update(hSession, P11_OP_SIGN, pPart, ulPartLen);
}

CK_RV
C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
    CK_ULONG_PTR pulSignatureLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_SIGN];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else
		rv = p11_sign_final(slot, op, pSignature, pulSignatureLen);
	p11_slot_release(slot);
	return rv;
}

/* ---- verify (software) ------------------------------------------------------- */

CK_RV
C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_VERIFY];
	if (pMechanism == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->active)
		rv = CKR_OPERATION_ACTIVE;
	else if (p11_family(pMechanism->mechanism) == P11_FAM_OAEP)
		rv = CKR_MECHANISM_INVALID;
	else if ((rv = p11_op_setup(slot, op, pMechanism, hKey, 0)) != CKR_OK)
		p11_op_reset(op);
	p11_slot_release(slot);
	return rv;
}

static EVP_PKEY *
p11_key_pub(struct p11_slot *slot, int idx)
{
	return p11_key_pkey(slot, idx);
}

static CK_RV
p11_verify_final(struct p11_slot *slot, struct p11_opstate *op,
    const uint8_t *sig, size_t siglen)
{
	uint8_t dig[EVP_MAX_MD_SIZE], rec[P11_SIG_MAX], em[P11_SIG_MAX];
	const uint8_t *in = NULL;
	size_t inlen = 0, reclen = sizeof(rec), need;
	int fam = p11_family(op->mech), ok = 0;
	EVP_PKEY *pk = p11_key_pub(slot, op->keyidx);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;
	BIGNUM *r = NULL, *s = NULL;
	CK_RV rv;
	int dl;

	if (pk == NULL)
		return CKR_KEY_HANDLE_INVALID;
	if ((rv = p11_op_input(op, dig, sizeof(dig), &in, &inlen)) != CKR_OK)
		return rv;
	need = p11_sig_len(slot, op);
	if (siglen != need)
		return CKR_SIGNATURE_LEN_RANGE;
	rv = CKR_SIGNATURE_INVALID;
	if (fam == P11_FAM_EDDSA) {
		if ((mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pk) == 1 &&
		    EVP_DigestVerify(mctx, sig, siglen, in, inlen) == 1)
			rv = CKR_OK;
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL)
		goto fail;
	if (fam == P11_FAM_ECDSA) {
		size_t fb = siglen / 2;

		if ((es = ECDSA_SIG_new()) == NULL ||
		    (r = BN_bin2bn(sig, (int)fb, NULL)) == NULL ||
		    (s = BN_bin2bn(sig + fb, (int)fb, NULL)) == NULL ||
		    !ECDSA_SIG_set0(es, r, s))
			goto fail;
		r = s = NULL;
		if ((dl = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto fail;
		if (EVP_PKEY_verify_init(ctx) == 1 &&
		    EVP_PKEY_verify(ctx, der, (size_t)dl, in, inlen) == 1)
			rv = CKR_OK;
		goto out;
	}
	if (fam == P11_FAM_RSA_X509) {
		if (inlen > siglen)
			return CKR_DATA_LEN_RANGE;
		memset(em, 0, siglen - inlen);
		memcpy(em + siglen - inlen, in, inlen);
		if (EVP_PKEY_verify_recover_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
		    EVP_PKEY_verify_recover(ctx, rec, &reclen, sig, siglen) ==
		    1 && reclen == siglen && CRYPTO_memcmp(rec, em, siglen) == 0)
			rv = CKR_OK;
		goto out;
	}
	if (EVP_PKEY_verify_init(ctx) != 1)
		goto fail;
	if (fam == P11_FAM_RSA_PSS) {
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) ==
		    1 && EVP_PKEY_CTX_set_signature_md(ctx, op->md) == 1 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, op->mgf1) == 1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)op->salt) == 1;
	} else {
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    (op->mech == CKM_RSA_PKCS ||
		    EVP_PKEY_CTX_set_signature_md(ctx, op->md) == 1);
	}
	if (ok && EVP_PKEY_verify(ctx, sig, siglen, in, inlen) == 1)
		rv = CKR_OK;
	goto out;
fail:
	rv = CKR_FUNCTION_FAILED;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(mctx);
	return rv;
}

CK_RV
C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
    CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_VERIFY];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_SINGLE)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if ((pData == NULL && ulDataLen > 0) || pSignature == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = p11_op_update(op, pData, ulDataLen)) == CKR_OK)
		rv = p11_verify_final(slot, op, pSignature, ulSignatureLen);
	if (op->active)
		p11_op_reset(op);
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen)
{
	return p11_sigver_update(hSession, P11_OP_VERIFY, pPart, ulPartLen);
}

CK_RV
C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
    CK_ULONG ulSignatureLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_VERIFY];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (pSignature == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = p11_verify_final(slot, op, pSignature, ulSignatureLen);
	if (op->active)
		p11_op_reset(op);
	p11_slot_release(slot);
	return rv;
}

/* ---- decrypt (card) / encrypt (software) ------------------------------------ */

static CK_RV
p11_crypt_init(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE hKey, int which)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	int fam;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[which];
	fam = m != NULL ? p11_family(m->mechanism) : -1;
	if (m == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->active)
		rv = CKR_OPERATION_ACTIVE;
	else if (fam != P11_FAM_RSA_PKCS && fam != P11_FAM_RSA_X509 &&
	    fam != P11_FAM_OAEP)
		rv = CKR_MECHANISM_INVALID;
	else if (m->mechanism != CKM_RSA_PKCS && fam == P11_FAM_RSA_PKCS)
		rv = CKR_MECHANISM_INVALID;
	else if (which == P11_OP_DECRYPT && !slot->user_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((rv = p11_op_setup(slot, op, m, hKey,
	    which == P11_OP_DECRYPT)) != CKR_OK)
		p11_op_reset(op);
	else
		op->mdctx = NULL;
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return p11_crypt_init(hSession, pMechanism, hKey, P11_OP_DECRYPT);
}

CK_RV
C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return p11_crypt_init(hSession, pMechanism, hKey, P11_OP_ENCRYPT);
}

/*
 * The plaintext is kept in op->res (wiped) once computed, so that a short
 * buffer does not cost a second card operation (nor a second PIN entry for
 * an always-authenticate key).  A size query before that gets the bound.
 */
static CK_RV
p11_decrypt_final(struct p11_slot *slot, struct p11_opstate *op,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct p11_key *k = &slot->keys[op->keyidx];
	size_t kb = p11_rsa_bytes(k->md.alg), n = 0;
	uint8_t em[P11_SIG_MAX];
	int ms = P11_OP_MS, r, fam = p11_family(op->mech);

	if (outlen == NULL)
		return CKR_ARGUMENTS_BAD;
	if (!op->have_res) {
		if (out == NULL) {
			*outlen = kb;
			return CKR_OK;
		}
		if (op->len != kb)
			return CKR_ENCRYPTED_DATA_LEN_RANGE;
		if (p11_key_always_auth(k) && !op->ctx_auth)
			return CKR_USER_NOT_LOGGED_IN;
		ms = p11_key_ms(k);
		r = piv_decipher(slot->card, k->ref, k->md.alg, op->buf,
		    op->len, em, sizeof(em), &n, &ms);
		if (r == PIV_ERR_AUTH_REQUIRED && !p11_key_always_auth(k) &&
		    p11_login_lost(slot) == 0) {
			ms = p11_key_ms(k);
			r = piv_decipher(slot->card, k->ref, k->md.alg,
			    op->buf, op->len, em, sizeof(em), &n, &ms);
		}
		if (r != 0)
			return r == PIV_ERR_AUTH_REQUIRED ?
			    CKR_USER_NOT_LOGGED_IN : p11_card_rv(slot, r);
		if (n != kb) {
			util_wipe(em, sizeof(em));
			return CKR_DEVICE_ERROR;
		}
		if (fam == P11_FAM_RSA_X509) {
			memcpy(op->res, em, kb);
			n = kb;
			r = 0;
		} else if (fam == P11_FAM_OAEP)
			r = util_rsa_unpad_oaep(em, kb, op->md, op->mgf1,
			    op->label_buf, op->label_len, op->res,
			    sizeof(op->res), &n);
		else
			r = util_rsa_unpad_pkcs1(em, kb, op->res, sizeof(op->res),
			    &n);
		util_wipe(em, sizeof(em));
		if (r != 0)
			return CKR_ENCRYPTED_DATA_INVALID;
		op->reslen = n;
		op->have_res = 1;
	}
	if (out == NULL) {
		*outlen = op->reslen;
		return CKR_OK;
	}
	if (*outlen < op->reslen) {
		*outlen = op->reslen;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(out, op->res, op->reslen);
	*outlen = op->reslen;
	return CKR_OK;
}

CK_RV
C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
    CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_DECRYPT];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_SINGLE)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if (pEncryptedData == NULL || pulDataLen == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto reset;
	}
	if (op->len == 0 && (rv = p11_op_update(op, pEncryptedData,
	    ulEncryptedDataLen)) != CKR_OK)
		goto reset;
	rv = p11_decrypt_final(slot, op, pData, pulDataLen);
	/* a size query or a short buffer keeps the operation */
	if ((rv == CKR_OK && pData == NULL) || rv == CKR_BUFFER_TOO_SMALL)
		goto out;
reset:
	p11_op_reset(op);
out:
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_DECRYPT];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (pulPartLen == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = p11_op_update(op, pEncryptedPart,
	    ulEncryptedPartLen)) == CKR_OK)
		*pulPartLen = 0;	/* RSA: all output at the end */
	if (rv != CKR_OK && rv != CKR_OPERATION_NOT_INITIALIZED)
		p11_op_reset(op);
	(void)pPart;
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
    CK_ULONG_PTR pulLastPartLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_DECRYPT];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else {
		rv = p11_decrypt_final(slot, op, pLastPart, pulLastPartLen);
		if (!((rv == CKR_OK && pLastPart == NULL) ||
		    rv == CKR_BUFFER_TOO_SMALL))
			p11_op_reset(op);
	}
	p11_slot_release(slot);
	return rv;
}

static CK_RV
p11_encrypt_final(struct p11_slot *slot, struct p11_opstate *op,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	EVP_PKEY *pk = p11_key_pub(slot, op->keyidx);
	int fam = p11_family(op->mech);
	uint8_t em[P11_SIG_MAX];
	const uint8_t *in = op->buf;
	size_t kb, n, inlen = op->len;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t *lab = NULL;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (outlen == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pk == NULL)
		return CKR_KEY_HANDLE_INVALID;
	kb = (size_t)EVP_PKEY_get_size(pk);
	if (out == NULL) {
		*outlen = kb;
		return CKR_OK;
	}
	if (*outlen < kb) {
		*outlen = kb;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (fam == P11_FAM_RSA_X509) {
		if (inlen > kb)
			return CKR_DATA_LEN_RANGE;
		memset(em, 0, kb - inlen);
		if (inlen > 0)
			memcpy(em + kb - inlen, in, inlen);
		in = em;
		inlen = kb;
	}
	n = *outlen;
	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(ctx) != 1)
		goto out;
	if (fam == P11_FAM_OAEP) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING)
		    != 1 || EVP_PKEY_CTX_set_rsa_oaep_md(ctx, op->md) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, op->mgf1) != 1)
			goto out;
		if (op->label_len > 0) {
			if ((lab = OPENSSL_memdup(op->label_buf,
			    op->label_len)) == NULL ||
			    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lab,
			    (int)op->label_len) != 1)
				goto out;
			lab = NULL;
		}
	} else if (EVP_PKEY_CTX_set_rsa_padding(ctx, fam == P11_FAM_RSA_X509 ?
	    RSA_NO_PADDING : RSA_PKCS1_PADDING) != 1)
		goto out;
	if (EVP_PKEY_encrypt(ctx, out, &n, in != NULL ? in :
	    (const uint8_t *)"", inlen) != 1) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	*outlen = n;
	rv = CKR_OK;
out:
	OPENSSL_free(lab);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

CK_RV
C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
    CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_ENCRYPT];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_SINGLE)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	if ((pData == NULL && ulDataLen > 0) || pulEncryptedDataLen == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		p11_op_reset(op);
		goto out;
	}
	if (pEncryptedData == NULL) {
		rv = p11_encrypt_final(slot, op, NULL, pulEncryptedDataLen);
		goto out;
	}
	util_freezero(op->buf, op->len);
	op->buf = NULL;
	op->len = 0;
	if ((rv = p11_op_update(op, pData, ulDataLen)) == CKR_OK)
		rv = p11_encrypt_final(slot, op, pEncryptedData,
		    pulEncryptedDataLen);
	if (rv != CKR_BUFFER_TOO_SMALL)
		p11_op_reset(op);
out:
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
    CK_ULONG_PTR pulEncryptedPartLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	(void)pEncryptedPart;
	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_ENCRYPT];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if (pulEncryptedPartLen == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		p11_op_reset(op);
	} else if ((rv = p11_op_update(op, pPart, ulPartLen)) == CKR_OK)
		*pulEncryptedPartLen = 0;
	else
		p11_op_reset(op);
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
    CK_ULONG_PTR pulLastEncryptedPartLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_crypto_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_ENCRYPT];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else {
		rv = p11_encrypt_final(slot, op, pLastEncryptedPart,
		    pulLastEncryptedPartLen);
		if (!((rv == CKR_OK && pLastEncryptedPart == NULL) ||
		    rv == CKR_BUFFER_TOO_SMALL))
			p11_op_reset(op);
	}
	p11_slot_release(slot);
	return rv;
}

/* ---- digest ------------------------------------------------------------------ */

CK_RV
C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	const EVP_MD *md;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_DIGEST];
	if (pMechanism == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->active)
		rv = CKR_OPERATION_ACTIVE;
	else if ((md = p11_md_of_hashalg(pMechanism->mechanism)) == NULL)
		rv = CKR_MECHANISM_INVALID;
	else if (pMechanism->pParameter != NULL ||
	    pMechanism->ulParameterLen != 0)
		rv = CKR_MECHANISM_PARAM_INVALID;
	else {
		memset(op, 0, sizeof(*op));
		op->mech = pMechanism->mechanism;
		op->md = md;
		if ((op->mdctx = EVP_MD_CTX_new()) == NULL ||
		    !EVP_DigestInit_ex(op->mdctx, md, NULL)) {
			p11_op_reset(op);
			rv = CKR_HOST_MEMORY;
		} else
			op->active = 1;
	}
	p11_slot_release(slot);
	return rv;
}

static CK_RV
p11_digest_final(struct p11_opstate *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	size_t need = (size_t)EVP_MD_get_size(op->md);
	unsigned int n = 0;

	if (outlen == NULL) {
		p11_op_reset(op);
		return CKR_ARGUMENTS_BAD;
	}
	if (out == NULL) {
		*outlen = need;
		return CKR_OK;
	}
	if (*outlen < need) {
		*outlen = need;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (!EVP_DigestFinal_ex(op->mdctx, out, &n)) {
		p11_op_reset(op);
		return CKR_FUNCTION_FAILED;
	}
	*outlen = n;
	p11_op_reset(op);
	return CKR_OK;
}

CK_RV
C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
    CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_DIGEST];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_SINGLE)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if ((pData == NULL && ulDataLen > 0) || pulDigestLen == NULL) {
		p11_op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else if (pDigest == NULL ||
	    *pulDigestLen < (CK_ULONG)EVP_MD_get_size(op->md))
		rv = p11_digest_final(op, pDigest, pulDigestLen);
	else if (!EVP_DigestUpdate(op->mdctx, pData, ulDataLen)) {
		p11_op_reset(op);
		rv = CKR_FUNCTION_FAILED;
	} else
		rv = p11_digest_final(op, pDigest, pulDigestLen);
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_DIGEST];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else if ((pPart == NULL && ulPartLen > 0) ||
	    !EVP_DigestUpdate(op->mdctx, pPart, ulPartLen)) {
		p11_op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	}
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
    CK_ULONG_PTR pulDigestLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[P11_OP_DIGEST];
	if (op->active && (rv = p11_op_mode(op, P11_MODE_MULTI)) != CKR_OK) {
		p11_slot_release(slot);
		return rv;
	}
	if (!op->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else
		rv = p11_digest_final(op, pDigest, pulDigestLen);
	p11_slot_release(slot);
	return rv;
}

/* ---- random ---------------------------------------------------------------- */

CK_RV
C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	p11_slot_release(slot);
	if (pSeed == NULL && ulSeedLen > 0)
		return CKR_ARGUMENTS_BAD;
	return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

/* OpenSSL's DRBG: the card's generator would cost APDUs for nothing. */
CK_RV
C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData,
    CK_ULONG ulRandomLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	p11_slot_release(slot);
	if (pRandomData == NULL && ulRandomLen > 0)
		return CKR_ARGUMENTS_BAD;
	if (ulRandomLen > 0x7fffffff)
		return CKR_ARGUMENTS_BAD;
	if (ulRandomLen > 0 && RAND_bytes(pRandomData, (int)ulRandomLen) != 1)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}
