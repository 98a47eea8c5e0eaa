/* SPDX-License-Identifier: MIT */
/*
 * Signatures: made by the card (the RSA padding built here), verified in
 * software with OpenSSL.
 */
#include <string.h>

#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "p11.h"
#include "../util/util.h"

/* ---- sign (card) ------------------------------------------------------------ */

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

/* Private-key signature over the collected input. */
static CK_RV
p11_do_sign(struct p11_slot *slot, struct p11_opstate *op, uint8_t *sig,
    size_t *siglen)
{
	struct p11_key *k = &slot->keys[op->keyidx];
	uint8_t dig[EVP_MAX_MD_SIZE], em[P11_SIG_MAX], out[P11_SIG_MAX];
	const uint8_t *in = NULL;
	size_t inlen = 0, kb = piv_rsa_bytes(k->md.alg), n = 0;
	int ms = P11_OP_MS, r, fam = p11_family(op->mech);
	EVP_PKEY *pub;
	CK_RV rv;

	*siglen = 0;
	if ((rv = p11_op_input(op, dig, sizeof(dig), &in, &inlen)) != CKR_OK)
		return rv;
	switch (fam) {
	case P11_FAM_RSA_PKCS:
		/* CKM_RSA_PKCS: the caller's DigestInfo; else ours */
		switch (util_rsa_pkcs1_encode(op->mech == CKM_RSA_PKCS ? NULL :
		    op->md, in, inlen, em, kb)) {
		case 0:
			break;
		case -1:
			return CKR_DATA_LEN_RANGE;
		default:
			return CKR_MECHANISM_INVALID;
		}
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

CK_RV
C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return p11_op_init(hSession, pMechanism, hKey, P11_OP_SIGN);
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
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_OP, P11_OP_SIGN,
	    P11_MODE_SINGLE, &slot, &op)) != CKR_OK)
		return rv;
	if ((pData == NULL && ulDataLen > 0) || pulSignatureLen == NULL) {
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
	p11_call_end(slot);
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
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_OP, which, P11_MODE_MULTI,
	    &slot, &op)) != CKR_OK)
		return rv;
	if (p11_family(op->mech) == P11_FAM_EDDSA) {
		/* EdDSA takes the whole message: no multi-part (spec). */
		p11_op_reset(op);
		rv = CKR_FUNCTION_NOT_SUPPORTED;
	} else if ((rv = p11_op_update(op, pPart, ulPartLen)) != CKR_OK)
		p11_op_reset(op);
	p11_call_end(slot);
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
	return p11_op_final(hSession, P11_CALL_OP, P11_OP_SIGN, p11_sign_final,
	    pSignature, pulSignatureLen);
}

/* ---- verify (software) ------------------------------------------------------- */

CK_RV
C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return p11_op_init(hSession, pMechanism, hKey, P11_OP_VERIFY);
}

static CK_RV
p11_verify_final(struct p11_slot *slot, struct p11_opstate *op,
    const uint8_t *sig, size_t siglen)
{
	uint8_t dig[EVP_MAX_MD_SIZE], rec[P11_SIG_MAX], em[P11_SIG_MAX];
	const uint8_t *in = NULL;
	size_t inlen = 0, reclen = sizeof(rec), need;
	int fam = p11_family(op->mech), ok = 0;
	EVP_PKEY *pk = p11_key_pkey(slot, op->keyidx);
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
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_OP, P11_OP_VERIFY,
	    P11_MODE_SINGLE, &slot, &op)) != CKR_OK)
		return rv;
	if ((pData == NULL && ulDataLen > 0) || pSignature == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = p11_op_update(op, pData, ulDataLen)) == CKR_OK)
		rv = p11_verify_final(slot, op, pSignature, ulSignatureLen);
	p11_op_reset(op);
	p11_call_end(slot);
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
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_OP, P11_OP_VERIFY,
	    P11_MODE_MULTI, &slot, &op)) != CKR_OK)
		return rv;
	if (pSignature == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else
		rv = p11_verify_final(slot, op, pSignature, ulSignatureLen);
	p11_op_reset(op);
	p11_call_end(slot);
	return rv;
}
