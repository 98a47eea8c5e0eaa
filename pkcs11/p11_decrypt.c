/* SPDX-License-Identifier: MIT */
/*
 * RSA decryption on the card (the padding removed here), encryption in
 * software with OpenSSL.  RSA gives all its output at the end: the
 * *Update calls only collect.
 */
#include <string.h>

#include <openssl/rsa.h>

#include "p11.h"
#include "../util/util.h"

CK_RV
C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return p11_op_init(hSession, pMechanism, hKey, P11_OP_DECRYPT);
}

CK_RV
C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hKey)
{
	return p11_op_init(hSession, pMechanism, hKey, P11_OP_ENCRYPT);
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
	size_t kb = piv_rsa_bytes(k->md.alg), n = 0;
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
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_OP, P11_OP_DECRYPT,
	    P11_MODE_SINGLE, &slot, &op)) != CKR_OK)
		return rv;
	if (pEncryptedData == NULL || pulDataLen == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->len > 0 || (rv = p11_op_update(op, pEncryptedData,
	    ulEncryptedDataLen)) == CKR_OK)
		rv = p11_decrypt_final(slot, op, pData, pulDataLen);
	/* a size query or a short buffer keeps the operation */
	if (!p11_op_kept(rv, pData))
		p11_op_reset(op);
	p11_call_end(slot);
	return rv;
}

/* C_DecryptUpdate and C_EncryptUpdate: RSA collects the parts and
 * gives all its output at the end. */
static CK_RV
p11_crypt_update(CK_SESSION_HANDLE hSession, int which, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen, CK_ULONG_PTR pulOutLen)
{
	struct p11_slot *slot;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_OP, which, P11_MODE_MULTI,
	    &slot, &op)) != CKR_OK)
		return rv;
	if (pulOutLen == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = p11_op_update(op, pPart, ulPartLen)) == CKR_OK)
		*pulOutLen = 0;
	if (rv != CKR_OK)
		p11_op_reset(op);
	p11_call_end(slot);
	return rv;
}

CK_RV
C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
	(void)pPart;
	return p11_crypt_update(hSession, P11_OP_DECRYPT, pEncryptedPart,
	    ulEncryptedPartLen, pulPartLen);
}

CK_RV
C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
    CK_ULONG_PTR pulLastPartLen)
{
	return p11_op_final(hSession, P11_CALL_OP, P11_OP_DECRYPT,
	    p11_decrypt_final, pLastPart, pulLastPartLen);
}

static CK_RV
p11_encrypt_final(struct p11_slot *slot, struct p11_opstate *op,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	EVP_PKEY *pk = p11_key_pkey(slot, op->keyidx);
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
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_OP, P11_OP_ENCRYPT,
	    P11_MODE_SINGLE, &slot, &op)) != CKR_OK)
		return rv;
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
	p11_call_end(slot);
	return rv;
}

CK_RV
C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
    CK_ULONG_PTR pulEncryptedPartLen)
{
	(void)pEncryptedPart;
	return p11_crypt_update(hSession, P11_OP_ENCRYPT, pPart, ulPartLen,
	    pulEncryptedPartLen);
}

CK_RV
C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
    CK_ULONG_PTR pulLastEncryptedPartLen)
{
	return p11_op_final(hSession, P11_CALL_OP, P11_OP_ENCRYPT,
	    p11_encrypt_final, pLastEncryptedPart, pulLastEncryptedPartLen);
}
