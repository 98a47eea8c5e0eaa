/* SPDX-License-Identifier: MIT */
/*
 * Mechanisms and the state of an operation, shared by the signing,
 * decryption and digest calls: which hash and padding a mechanism means,
 * its checks against the key, the *Init and per-call prologues, and the
 * input collected (hashed as it comes, or kept for the raw mechanisms,
 * bounded).
 */
#include <stdlib.h>
#include <string.h>

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

const EVP_MD *
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

int
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

size_t
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

/* What the operation `which` refuses before it looks at the key. */
static CK_RV
p11_op_allowed(const struct p11_slot *slot, CK_MECHANISM_TYPE mech,
    int which)
{
	int fam = p11_family(mech);

	switch (which) {
	case P11_OP_SIGN:
		if (!slot->user_in)
			return CKR_USER_NOT_LOGGED_IN;
		return fam == P11_FAM_OAEP ? CKR_MECHANISM_INVALID : CKR_OK;
	case P11_OP_VERIFY:
		return fam == P11_FAM_OAEP ? CKR_MECHANISM_INVALID : CKR_OK;
	default:	/* decrypt, encrypt: RSA only */
		if ((fam != P11_FAM_RSA_PKCS && fam != P11_FAM_RSA_X509 &&
		    fam != P11_FAM_OAEP) ||
		    (fam == P11_FAM_RSA_PKCS && mech != CKM_RSA_PKCS))
			return CKR_MECHANISM_INVALID;
		return which == P11_OP_DECRYPT && !slot->user_in ?
		    CKR_USER_NOT_LOGGED_IN : CKR_OK;
	}
}

/* C_SignInit, C_VerifyInit, C_DecryptInit, C_EncryptInit. */
CK_RV
p11_op_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hKey,
    int which)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_opstate *op;
	int priv = which == P11_OP_SIGN || which == P11_OP_DECRYPT;
	CK_RV rv;

	if ((rv = p11_call_begin(h, P11_CALL_OP, &slot, &s)) != CKR_OK)
		return rv;
	op = &s->op[which];
	if (m == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (op->active)
		rv = CKR_OPERATION_ACTIVE;
	else if ((rv = p11_op_allowed(slot, m->mechanism, which)) != CKR_OK)
		;
	else if ((rv = p11_op_setup(slot, op, m, hKey, priv)) != CKR_OK)
		p11_op_reset(op);
	else if (which == P11_OP_SIGN &&
	    slot->keys[op->keyidx].md.alg == PIV_ALG_X25519) {
		p11_op_reset(op);
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	}
	p11_call_end(slot);
	return rv;
}

/*
 * An operation is either single-part (C_Sign, C_Verify, C_Decrypt,
 * C_Encrypt, C_Digest, possibly repeated after a size query) or multi-part
 * (…Update, …Final): mixing them is refused and ends the operation, so a
 * single-part call never signs what earlier parts accumulated and a Final
 * never works on the empty input of a single-part size query.
 */
CK_RV
p11_op_mode(struct p11_opstate *op, int mode)
{
	if (op->mode != 0 && op->mode != mode) {
		p11_op_reset(op);
		return CKR_OPERATION_ACTIVE;
	}
	op->mode = mode;
	return CKR_OK;
}

/*
 * The prologue of the calls that continue an operation (C_Sign,
 * C_SignUpdate, ...): the session as `need` says, the operation `which`
 * active and called in `mode`; on CKR_OK the slot is locked (p11_call_end).
 */
CK_RV
p11_op_begin(CK_SESSION_HANDLE h, int need, int which, int mode,
    struct p11_slot **slot, struct p11_opstate **op)
{
	struct p11_session *s;
	CK_RV rv;

	*op = NULL;
	if ((rv = p11_call_begin(h, need, slot, &s)) != CKR_OK)
		return rv;
	*op = &s->op[which];
	if ((*op)->active && (rv = p11_op_mode(*op, mode)) != CKR_OK)
		;
	else if (!(*op)->active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	if (rv != CKR_OK) {
		p11_call_end(*slot);
		*slot = NULL;
		*op = NULL;
	}
	return rv;
}

/* A size query (no output buffer) or a short buffer keeps the operation;
 * anything else ends it. */
int
p11_op_kept(CK_RV rv, const CK_BYTE *out)
{
	return (rv == CKR_OK && out == NULL) || rv == CKR_BUFFER_TOO_SMALL;
}

/* C_SignFinal, C_DecryptFinal, C_EncryptFinal, C_DigestFinal. */
CK_RV
p11_op_final(CK_SESSION_HANDLE h, int need, int which, p11_final_fn *fn,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct p11_slot *slot;
	struct p11_opstate *op;
	CK_RV rv;

	if ((rv = p11_op_begin(h, need, which, P11_MODE_MULTI, &slot,
	    &op)) != CKR_OK)
		return rv;
	rv = fn(slot, op, out, outlen);
	if (op->active && !p11_op_kept(rv, out))
		p11_op_reset(op);
	p11_call_end(slot);
	return rv;
}

CK_RV
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
CK_RV
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

size_t
p11_sig_len(struct p11_slot *slot, struct p11_opstate *op)
{
	uint8_t alg = slot->keys[op->keyidx].md.alg;

	switch (p11_family(op->mech)) {
	case P11_FAM_ECDSA:
		return 2 * p11_ec_bytes(alg);
	case P11_FAM_EDDSA:
		return 64;
	}
	return piv_rsa_bytes(alg);
}

/* The budget of a private-key operation: a key whose use waits for a
 * touch gets the slow one. */
int
p11_key_ms(const struct p11_key *k)
{
	return k->md.touch_policy == PIV_TOUCHPOLICY_ALWAYS ||
	    k->md.touch_policy == PIV_TOUCHPOLICY_CACHED ? P11_SLOW_MS :
	    P11_OP_MS;
}
