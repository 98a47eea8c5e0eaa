/* SPDX-License-Identifier: MIT */
/*
 * ECDH on the card (C_DeriveKey): the shared secret becomes a session
 * object, a generic secret or AES key the client may read
 * (p11_secret_attrs) and destroy.
 */
#include <string.h>

#include "p11.h"
#include "../util/util.h"

CK_RV
C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
    CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	struct p11_slot *slot;
	struct p11_session *s;
	const CK_ECDH1_DERIVE_PARAMS *pp;
	const uint8_t *peer;
	size_t peerlen, n = 0, i;
	uint8_t out[128];
	CK_ULONG want = 0, kt = CKK_GENERIC_SECRET;
	int idx = (int)P11_INDEX(hBaseKey), ms = P11_OP_MS, r;
	struct p11_key *k;
	CK_RV rv;

	if ((rv = p11_call_begin(hSession, P11_CALL_SESSION,
	    &slot, &s)) != CKR_OK)
		return rv;
	if (pMechanism == NULL || phKey == NULL ||
	    (pTemplate == NULL && ulAttributeCount > 0)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_call_check(slot, s, P11_NEED_TOKEN)) != CKR_OK)
		goto out;
	if (pMechanism->mechanism != CKM_ECDH1_DERIVE &&
	    pMechanism->mechanism != CKM_ECDH1_COFACTOR_DERIVE) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	pp = pMechanism->pParameter;
	if (pp == NULL || pMechanism->ulParameterLen != sizeof(*pp) ||
	    pp->kdf != CKD_NULL || pp->ulSharedDataLen != 0 ||
	    pp->pPublicData == NULL || pp->ulPublicDataLen == 0 ||
	    pp->ulPublicDataLen > 200) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}
	if (!slot->user_in) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto out;
	}
	if (P11_KIND(hBaseKey) != P11_OBJ_PRIV ||
	    !p11_object_exists(slot, hBaseKey)) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	k = &slot->keys[idx];
	if (k->md.alg != PIV_ALG_ECCP256 && k->md.alg != PIV_ALG_ECCP384 &&
	    k->md.alg != PIV_ALG_X25519) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	if (pMechanism->mechanism == CKM_ECDH1_COFACTOR_DERIVE &&
	    k->md.alg == PIV_ALG_X25519) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (p11_attr_ulong(pTemplate, ulAttributeCount, CKA_VALUE_LEN,
	    &want) < 0 || p11_attr_ulong(pTemplate, ulAttributeCount,
	    CKA_KEY_TYPE, &kt) < 0) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	/* the peer's point, raw or wrapped in a DER OCTET STRING */
	peer = pp->pPublicData;
	peerlen = pp->ulPublicDataLen;
	if (peerlen >= 2 && peer[0] == 0x04 && peer[1] == peerlen - 2 &&
	    (peerlen - 2 == 32 || (peerlen - 2) % 2 == 1)) {
		peer += 2;
		peerlen -= 2;
	}
	r = piv_ecdh(slot->card, k->ref, k->md.alg, peer, peerlen, out,
	    sizeof(out), &n, &ms);
	if (r == PIV_ERR_AUTH_REQUIRED && !p11_key_always_auth(k) &&
	    p11_login_lost(slot) == 0) {
		ms = P11_OP_MS;
		r = piv_ecdh(slot->card, k->ref, k->md.alg, peer, peerlen,
		    out, sizeof(out), &n, &ms);
	}
	if (r != 0) {
		rv = r == PIV_ERR_AUTH_REQUIRED ? CKR_USER_NOT_LOGGED_IN :
		    r == PIV_ERR_BAD_DATA || r == PIV_ERR_ARG ?
		    CKR_MECHANISM_PARAM_INVALID : p11_card_rv(slot, r);
		goto out;
	}
	if (want > n) {
		rv = CKR_TEMPLATE_INCONSISTENT;
		goto out;
	}
	if (want == 0)
		want = n;
	for (i = 0; i < P11_MAX_SECRETS; i++)
		if (s->secrets[i].value == NULL)
			break;
	if (i == P11_MAX_SECRETS) {
		rv = CKR_DEVICE_MEMORY;
		goto out;
	}
	if ((s->secrets[i].value = malloc(want)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	/* a shorter key takes the leftmost bytes (X9.63: the x-coord) */
	memcpy(s->secrets[i].value, out, want);
	s->secrets[i].len = want;
	s->secrets[i].kt = kt;
	*phKey = P11_HANDLE(P11_OBJ_SECRET, i);
out:
	util_wipe(out, sizeof(out));
	p11_call_end(slot);
	return rv;
}
