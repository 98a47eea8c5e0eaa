/* SPDX-License-Identifier: MIT */
/*
 * Digests and random numbers, in software with OpenSSL: neither needs
 * the token, only a session.
 */
#include <string.h>

#include <openssl/rand.h>

#include "p11.h"
#include "../util/util.h"

CK_RV
C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	const EVP_MD *md;
	CK_RV rv;

	if ((rv = p11_call_begin(hSession, P11_CALL_SESSION, &slot,
	    &s)) != CKR_OK)
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
	p11_call_end(slot);
	return rv;
}

static CK_RV
p11_digest_final(struct p11_slot *slot, struct p11_opstate *op,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	size_t need = (size_t)EVP_MD_get_size(op->md);
	unsigned int n = 0;

	(void)slot;
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
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_SESSION, P11_OP_DIGEST,
	    P11_MODE_SINGLE, &slot, &op)) != CKR_OK)
		return rv;
	if ((pData == NULL && ulDataLen > 0) || pulDigestLen == NULL) {
		p11_op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	} else if (pDigest == NULL ||
	    *pulDigestLen < (CK_ULONG)EVP_MD_get_size(op->md))
		rv = p11_digest_final(slot, op, pDigest, pulDigestLen);
	else if (!EVP_DigestUpdate(op->mdctx, pData, ulDataLen)) {
		p11_op_reset(op);
		rv = CKR_FUNCTION_FAILED;
	} else
		rv = p11_digest_final(slot, op, pDigest, pulDigestLen);
	p11_call_end(slot);
	return rv;
}

CK_RV
C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
    CK_ULONG ulPartLen)
{
	struct p11_slot *slot;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(hSession, P11_CALL_SESSION, P11_OP_DIGEST,
	    P11_MODE_MULTI, &slot, &op)) != CKR_OK)
		return rv;
	if ((pPart == NULL && ulPartLen > 0) ||
	    !EVP_DigestUpdate(op->mdctx, pPart, ulPartLen)) {
		p11_op_reset(op);
		rv = CKR_ARGUMENTS_BAD;
	}
	p11_call_end(slot);
	return rv;
}

CK_RV
C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
    CK_ULONG_PTR pulDigestLen)
{
	return p11_op_final(hSession, P11_CALL_SESSION, P11_OP_DIGEST,
	    p11_digest_final, pDigest, pulDigestLen);
}

/* ---- random ---------------------------------------------------------------- */

CK_RV
C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	CK_RV rv;

	if ((rv = p11_session_valid(hSession)) != CKR_OK)
		return rv;
	if (pSeed == NULL && ulSeedLen > 0)
		return CKR_ARGUMENTS_BAD;
	return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

/* OpenSSL's DRBG: the card's generator would cost APDUs for nothing. */
CK_RV
C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData,
    CK_ULONG ulRandomLen)
{
	CK_RV rv;

	if ((rv = p11_session_valid(hSession)) != CKR_OK)
		return rv;
	if (pRandomData == NULL && ulRandomLen > 0)
		return CKR_ARGUMENTS_BAD;
	if (ulRandomLen > 0x7fffffff)
		return CKR_ARGUMENTS_BAD;
	if (ulRandomLen > 0 && RAND_bytes(pRandomData, (int)ulRandomLen) != 1)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}
