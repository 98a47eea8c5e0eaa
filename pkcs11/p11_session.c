/* SPDX-License-Identifier: MIT */
/*
 * Sessions and login.
 *
 * How PKCS#11 roles map onto PIV (for the README):
 *   CKU_USER               the PIV PIN (6-8 characters).
 *   CKU_SO                 the management key (9B), as a hex string of
 *                          48 (3DES, AES-192), 32 (AES-128) or 64 (AES-256)
 *                          digits; its algorithm is taken from the 9B
 *                          METADATA (3DES when the card does not say).
 *   CKU_CONTEXT_SPECIFIC   the PIN again, right before an operation with a
 *                          key whose PIN policy is "always" (9C by default).
 *   C_SetPIN               in a public or user session: changes the PIN
 *                          (old PIN, new PIN); with an old value written
 *                          "puk:<PUK>" it changes the PUK instead.  In an
 *                          SO session: changes the management key (old and
 *                          new hex, same algorithm).
 *   C_InitPIN              in an SO session: unblocks / resets the PIN with
 *                          the PUK, pPin being "<PUK>:<new PIN>".
 *   C_InitToken            not supported (use `usbpiv reset`).
 *
 * A login follows the token.  Other usbpiv processes join the card rather
 * than reset it, so they leave the login alone.  When it is lost all the
 * same (another program reset the card or selected another application),
 * the module verifies again with the PIN it kept from C_Login — in locked
 * memory that no core dump holds — but only for the same token: a card
 * pulled, reset by a power-up or unplugged ends the login for good.  The
 * kept PIN is never sent when the card reports fewer tries left than
 * it had, and it is forgotten on the first refusal and whenever any
 * process saw a PIN changed, refused or reset (piv_pin_events), so a PIN
 * changed elsewhere is never sent.  It never stands in for the PIN that a
 * PIN-policy "always" key wants before each use, and it is wiped at
 * C_Logout, removal, C_Finalize and exit.  USBPIV_RELOGIN=0 turns this
 * off: a lost login is then reported as CKR_USER_NOT_LOGGED_IN.
 */
#include <stdlib.h>
#include <string.h>

#include "p11.h"
#include "../util/util.h"

/* Session handles: (slot index + 1) << 16 | serial. */
CK_RV
p11_session_get(CK_SESSION_HANDLE h, struct p11_slot **slot,
    struct p11_session **s)
{
	struct p11_slot *sl;
	CK_SLOT_ID id;
	CK_RV rv;
	size_t i;

	*slot = NULL;
	*s = NULL;
	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if ((h >> 16) == 0 || (h >> 16) > P11_MAX_SLOTS)
		return CKR_SESSION_HANDLE_INVALID;
	id = (h >> 16) - 1;
	if ((rv = p11_slot_get(id, &sl)) != CKR_OK)
		/* finalized meanwhile (C_Finalize on another thread) */
		return rv == CKR_CRYPTOKI_NOT_INITIALIZED ? rv :
		    CKR_SESSION_HANDLE_INVALID;
	for (i = 0; i < P11_MAX_SESSIONS; i++)
		if (sl->sess[i] != NULL && sl->sess[i]->h == h)
			break;
	if (i == P11_MAX_SESSIONS) {
		p11_slot_release(sl);
		return CKR_SESSION_HANDLE_INVALID;
	}
	if (sl->sess[i]->epoch != sl->epoch) {
		/* The token went away under this session: it is gone. */
		p11_session_free(&sl->sess[i]);
		p11_slot_release(sl);
		return CKR_SESSION_HANDLE_INVALID;
	}
	*slot = sl;
	*s = sl->sess[i];
	return CKR_OK;
}

/* Keeps the PIN that just verified, with the PIN events it goes with. */
static void
p11_pin_keep(struct p11_slot *slot, const CK_UTF8CHAR *pin, CK_ULONG len)
{
	p11_pin_forget(slot);
	if (!p11_mod.relogin || len == 0 || len > P11_PIN_KEPT_MAX ||
	    (slot->pin_kept = util_secmem_alloc(P11_PIN_KEPT_MAX)) == NULL)
		return;
	memcpy(slot->pin_kept, pin, len);
	slot->pin_kept_len = len;
	slot->pin_ev = piv_pin_events(slot->card);
}

static uint64_t
p11_generation(struct p11_slot *slot)
{
	if (p11_mod.be->generation == NULL)
		return 0;
	return p11_mod.be->generation(p11_mod.be_ctx, slot->conn);
}

/*
 * The login was lost while the same token stayed in: verify again with
 * the kept PIN, if we may.  Never costs a try: not sent unless the card
 * still has all the tries it had (tries is what it just reported).
 */
static int
p11_relogin(struct p11_slot *slot, int tries)
{
	int ms = P11_OP_MS, left = -1, r;

	if (slot->pin_kept == NULL)
		return -1;
	if (piv_pin_events(slot->card) != slot->pin_ev) {
		util_trace(1, "pkcs11: a PIN was changed or refused since the "
		    "login: not logging in again");
		p11_pin_forget(slot);
		return -1;
	}
	if (tries < 0 || tries < slot->pin_full) {
		util_trace(1, "pkcs11: the PIN has %d tries left, fewer than "
		    "%d: not logging in again", tries, slot->pin_full);
		p11_pin_forget(slot);
		return -1;
	}
	r = piv_verify(slot->card, PIV_PIN_REF, (const char *)slot->pin_kept,
	    slot->pin_kept_len, &left, &ms);
	if (r != 0) {
		p11_pin_forget(slot);
		return r == PIV_ERR_REMOVED ? PIV_ERR_REMOVED : -1;
	}
	slot->pin_ev = piv_pin_events(slot->card);
	util_trace(1, "pkcs11: login lost to another program: logged in "
	    "again");
	return 0;
}

/*
 * The card answered "security status not satisfied" to a key that needs
 * only the login (a foreign program logged it out or selected another
 * application, unknown to the shared state): asks it for the PIN status
 * and logs in again with the kept PIN if we may.  0: logged in again, the
 * caller retries once; -1: logged out (or the token went away: the
 * caller's own error handling sees that on its retry-less path).
 */
int
p11_login_lost(struct p11_slot *slot)
{
	int ms = P11_OP_MS, verified = 0, tries = -1, r;

	if (!slot->user_in)
		return -1;
	r = piv_pin_status(slot->card, PIV_PIN_REF, &verified, &tries, &ms);
	if (r == 0 && tries > slot->pin_full)
		slot->pin_full = tries;
	if (r == 0 && !verified && p11_relogin(slot, tries) == 0) {
		slot->login_gen = p11_generation(slot);
		return 0;
	}
	slot->user_in = 0;
	p11_pin_forget(slot);
	return -1;
}

/*
 * If another process used the card since we logged in, asks it whether
 * the PIN is still verified; if not, logs in again with the kept PIN
 * (p11_relogin) or we are logged out.
 */
CK_RV
p11_login_check(struct p11_slot *slot)
{
	int ms = P11_OP_MS, verified = 0, tries = -1, r;
	uint64_t gen;

	if (!slot->user_in && !slot->so_in)
		return CKR_OK;
	gen = p11_generation(slot);
	if (gen == slot->login_gen)
		return CKR_OK;
	slot->so_in = 0;	/* management key auth does not survive */
	if (slot->user_in) {
		r = piv_pin_status(slot->card, PIV_PIN_REF, &verified, &tries,
		    &ms);
		if (r == PIV_ERR_REMOVED)
			return p11_card_rv(slot, r);
		if (r == 0 && tries > slot->pin_full)
			slot->pin_full = tries;
		if (r != 0 || !verified) {
			r = r == 0 ? p11_relogin(slot, tries) : -1;
			if (r == PIV_ERR_REMOVED)
				return p11_card_rv(slot, r);
			if (r != 0) {
				slot->user_in = 0;
				p11_pin_forget(slot);
			}
		}
	}
	slot->login_gen = p11_generation(slot);
	return CKR_OK;
}

/* CKR_OK when h is an open session: the calls that only check it. */
CK_RV
p11_session_valid(CK_SESSION_HANDLE h)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(h, &slot, &s)) == CKR_OK)
		p11_slot_release(slot);
	return rv;
}

CK_RV
C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
    CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	struct p11_slot *slot;
	struct p11_session *s;
	size_t i;
	CK_RV rv;

	(void)pApplication;
	(void)Notify;
	if ((rv = p11_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	if (phSession == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!(flags & CKF_SERIAL_SESSION)) {
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
		goto out;
	}
	if ((rv = p11_token_check(slot)) != CKR_OK)
		goto out;
	if (slot->so_in && !(flags & CKF_RW_SESSION)) {
		rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
		goto out;
	}
	for (i = 0; i < P11_MAX_SESSIONS; i++)
		if (slot->sess[i] == NULL)
			break;
	if (i == P11_MAX_SESSIONS) {
		rv = CKR_SESSION_COUNT;
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	slot->next_sess = (slot->next_sess + 1) & 0xffff;
	if (slot->next_sess == 0)
		slot->next_sess = 1;
	s->h = ((CK_SESSION_HANDLE)(slotID + 1) << 16) | slot->next_sess;
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
	s->epoch = slot->epoch;
	slot->sess[i] = s;
	slot->nsess++;
	if (flags & CKF_RW_SESSION)
		slot->nrw++;
	*phSession = s->h;
out:
	p11_slot_release(slot);
	return rv;
}

static void
p11_session_close(struct p11_slot *slot, struct p11_session *s)
{
	size_t i;

	for (i = 0; i < P11_MAX_SESSIONS; i++)
		if (slot->sess[i] == s)
			p11_session_free(&slot->sess[i]);
	p11_sessions_purge(slot);
	if (slot->nsess == 0)
		p11_logout_all(slot);
}

CK_RV
C_CloseSession(CK_SESSION_HANDLE hSession)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	p11_session_close(slot, s);
	p11_slot_release(slot);
	return CKR_OK;
}

CK_RV
C_CloseAllSessions(CK_SLOT_ID slotID)
{
	struct p11_slot *slot;
	size_t i;
	CK_RV rv;

	if ((rv = p11_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	for (i = 0; i < P11_MAX_SESSIONS; i++)
		p11_session_free(&slot->sess[i]);
	slot->nsess = slot->nrw = 0;
	p11_logout_all(slot);
	p11_slot_release(slot);
	return CKR_OK;
}

CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct p11_slot *slot;
	struct p11_session *s;
	int rw;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (pInfo == NULL) {
		p11_slot_release(slot);
		return CKR_ARGUMENTS_BAD;
	}
	if (slot->token_present)
		(void)p11_login_check(slot);
	rw = (s->flags & CKF_RW_SESSION) != 0;
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->slotID = (hSession >> 16) - 1;
	pInfo->flags = s->flags;
	if (slot->so_in)
		pInfo->state = CKS_RW_SO_FUNCTIONS;
	else if (slot->user_in)
		pInfo->state = rw ? CKS_RW_USER_FUNCTIONS :
		    CKS_RO_USER_FUNCTIONS;
	else
		pInfo->state = rw ? CKS_RW_PUBLIC_SESSION :
		    CKS_RO_PUBLIC_SESSION;
	pInfo->ulDeviceError = 0;
	p11_slot_release(slot);
	return CKR_OK;
}

/* Can the card hold this PIN or PUK?  6 to 8 bytes, no NUL (the card
 * pads with FF; a NUL would be sent as part of it). */
static int
p11_ref_fits(const char *p, size_t len)
{
	return len >= 6 && len <= 8 && memchr(p, '\0', len) == NULL;
}

/*
 * PIN VERIFY with the counters kept for C_GetTokenInfo.  A PIN the card
 * cannot hold is not the PIN: CKR_PIN_INCORRECT (C_Login may not return
 * CKR_PIN_LEN_RANGE), without sending it, so no try is spent.
 */
static CK_RV
p11_verify_pin(struct p11_slot *slot, const char *pin, size_t len)
{
	int ms = P11_OP_MS, tries = -1, r;

	if (!p11_ref_fits(pin, len))
		return CKR_PIN_INCORRECT;
	r = piv_verify(slot->card, PIV_PIN_REF, pin, len, &tries, &ms);
	switch (r) {
	case 0:
		/* the card reset the counter: nothing low, final or locked */
		slot->pin_tries = -1;
		slot->pin_known = 1;
		slot->pin_at = util_now_ms();
		slot->pin_gen = p11_generation(slot);
		return CKR_OK;
	case PIV_ERR_PIN_WRONG:
		slot->pin_tries = tries;
		return tries == 0 ? CKR_PIN_LOCKED : CKR_PIN_INCORRECT;
	case PIV_ERR_PIN_BLOCKED:
		slot->pin_tries = 0;
		return CKR_PIN_LOCKED;
	}
	return p11_card_rv(slot, r);
}

static size_t
p11_mgm_keylen(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_AES128:
		return 16;
	case PIV_ALG_AES256:
		return 32;
	default:
		return 24;	/* 3DES, AES-192 */
	}
}

static CK_RV
p11_mgm_alg(struct p11_slot *slot, uint8_t *alg)
{
	struct piv_metadata md;
	int ms = P11_OP_MS, r;

	memset(&md, 0, sizeof(md));
	*alg = PIV_ALG_3DES;
	r = piv_metadata(slot->card, PIV_SLOT_MGM, &md, &ms);
	if (r == 0 && md.alg != 0)
		*alg = md.alg;
	piv_metadata_clear(&md);
	if (r == PIV_ERR_REMOVED)
		return p11_card_rv(slot, r);
	return CKR_OK;
}

static CK_RV
p11_login_so(struct p11_slot *slot, const char *hex, size_t len)
{
	uint8_t key[32];
	char *s = NULL;
	size_t klen = 0;
	uint8_t alg;
	int ms = P11_OP_MS, r;
	CK_RV rv;

	if (len == 0 || len > 128)
		return CKR_PIN_LEN_RANGE;
	if ((rv = p11_mgm_alg(slot, &alg)) != CKR_OK)
		return rv;
	if ((s = calloc(1, len + 1)) == NULL)
		return CKR_HOST_MEMORY;
	memcpy(s, hex, len);
	if (util_unhex(s, key, sizeof(key), &klen) != 0 ||
	    klen != p11_mgm_keylen(alg)) {
		rv = CKR_PIN_INCORRECT;
		goto out;
	}
	r = piv_auth_mgm(slot->card, alg, key, klen, &ms);
	if (r == PIV_ERR_AUTH_REQUIRED || r == PIV_ERR_BAD_DATA ||
	    r == PIV_ERR_CRYPTO || r == PIV_ERR_CONDITIONS)
		rv = CKR_PIN_INCORRECT;
	else
		rv = p11_card_rv(slot, r);
out:
	util_wipe(key, sizeof(key));
	util_freezero(s, len + 1);
	return rv;
}

CK_RV
C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
    CK_ULONG ulPinLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	size_t i;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (pPin == NULL) {
		/* no protected authentication path */
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = p11_token_check(slot)) != CKR_OK) {
		rv = CKR_SESSION_HANDLE_INVALID;
		goto out;
	}
	if ((rv = p11_login_check(slot)) != CKR_OK)
		goto out;
	switch (userType) {
	case CKU_USER:
		if (slot->user_in) {
			rv = CKR_USER_ALREADY_LOGGED_IN;
			break;
		}
		if (slot->so_in) {
			rv = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
			break;
		}
		if ((rv = p11_verify_pin(slot, (const char *)pPin,
		    ulPinLen)) != CKR_OK)
			break;
		slot->user_in = 1;
		slot->login_gen = p11_generation(slot);
		p11_pin_keep(slot, pPin, ulPinLen);
		break;
	case CKU_SO:
		if (slot->so_in) {
			rv = CKR_USER_ALREADY_LOGGED_IN;
			break;
		}
		if (slot->user_in) {
			rv = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
			break;
		}
		for (i = 0; i < P11_MAX_SESSIONS; i++)
			if (slot->sess[i] != NULL &&
			    !(slot->sess[i]->flags & CKF_RW_SESSION))
				rv = CKR_SESSION_READ_ONLY_EXISTS;
		if (rv != CKR_OK)
			break;
		if ((rv = p11_login_so(slot, (const char *)pPin,
		    ulPinLen)) != CKR_OK)
			break;
		slot->so_in = 1;
		slot->login_gen = p11_generation(slot);
		break;
	case CKU_CONTEXT_SPECIFIC:
		if (!slot->user_in) {
			rv = CKR_USER_NOT_LOGGED_IN;
			break;
		}
		if (!s->op[P11_OP_SIGN].active &&
		    !s->op[P11_OP_DECRYPT].active) {
			rv = CKR_OPERATION_NOT_INITIALIZED;
			break;
		}
		if ((rv = p11_verify_pin(slot, (const char *)pPin,
		    ulPinLen)) != CKR_OK)
			break;
		s->op[P11_OP_SIGN].ctx_auth = 1;
		s->op[P11_OP_DECRYPT].ctx_auth = 1;
		break;
	default:
		rv = CKR_USER_TYPE_INVALID;
	}
out:
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_Logout(CK_SESSION_HANDLE hSession)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (!slot->user_in && !slot->so_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else {
		/* The card forgets the PIN too (VERIFY P1=FF), so that no
		 * other program inherits our login.  Best effort: cards
		 * without it keep the state until reset. */
		if (slot->user_in && slot->token_present) {
			int ms = P11_OP_MS, r;

			r = piv_logout(slot->card, PIV_PIN_REF, &ms);
			if (r == PIV_ERR_REMOVED)
				(void)p11_card_rv(slot, r);
		}
		p11_logout_all(slot);
	}
	p11_slot_release(slot);
	return rv;
}

static CK_RV
p11_setpin_piv(struct p11_slot *slot, uint8_t which, const char *old,
    size_t oldlen, const char *new_, size_t newlen)
{
	int ms = P11_OP_MS, tries = -1, r;

	if (!p11_ref_fits(old, oldlen))
		return CKR_PIN_INCORRECT;
	if (newlen < 6 || newlen > 8)
		return CKR_PIN_LEN_RANGE;
	if (!p11_ref_fits(new_, newlen))
		return CKR_PIN_INVALID;
	r = piv_change_ref(slot->card, which, old, oldlen, new_, newlen,
	    &tries, &ms);
	if (r == PIV_ERR_PIN_WRONG || r == PIV_ERR_PIN_BLOCKED) {
		if (which == PIV_PIN_REF)
			slot->pin_tries = r == PIV_ERR_PIN_BLOCKED ? 0 : tries;
		else
			slot->puk_tries = r == PIV_ERR_PIN_BLOCKED ? 0 : tries;
		return r == PIV_ERR_PIN_BLOCKED || tries == 0 ?
		    CKR_PIN_LOCKED : CKR_PIN_INCORRECT;
	}
	if (r == 0)
		slot->pin_known = 0;	/* counters changed */
	return p11_card_rv(slot, r);
}

static CK_RV
p11_setpin_mgm(struct p11_slot *slot, const char *old, size_t oldlen,
    const char *new_, size_t newlen)
{
	uint8_t key[32];
	char hex[129];
	size_t klen = 0;
	uint8_t alg;
	int ms = P11_OP_MS, r;
	CK_RV rv;

	if ((rv = p11_login_so(slot, old, oldlen)) != CKR_OK)
		return rv;
	if ((rv = p11_mgm_alg(slot, &alg)) != CKR_OK)
		return rv;
	if (newlen == 0 || newlen >= sizeof(hex))
		return CKR_PIN_LEN_RANGE;
	memcpy(hex, new_, newlen);
	hex[newlen] = '\0';
	if (util_unhex(hex, key, sizeof(key), &klen) != 0 ||
	    klen != p11_mgm_keylen(alg))
		rv = CKR_PIN_INVALID;
	else if ((r = piv_set_mgm(slot->card, alg, key, klen, 0, &ms)) != 0)
		rv = p11_card_rv(slot, r);
	util_wipe(key, sizeof(key));
	util_wipe(hex, sizeof(hex));
	return rv;
}

CK_RV
C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin,
    CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	const char *old = (const char *)pOldPin;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (pOldPin == NULL || pNewPin == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (!(s->flags & CKF_RW_SESSION))
		rv = CKR_SESSION_READ_ONLY;
	else if ((rv = p11_token_check(slot)) != CKR_OK)
		rv = CKR_SESSION_HANDLE_INVALID;
	else if (slot->so_in)
		rv = p11_setpin_mgm(slot, old, ulOldLen,
		    (const char *)pNewPin, ulNewLen);
	else if (ulOldLen > 4 && memcmp(old, "puk:", 4) == 0)
		rv = p11_setpin_piv(slot, PIV_PUK_REF, old + 4, ulOldLen - 4,
		    (const char *)pNewPin, ulNewLen);
	else
		rv = p11_setpin_piv(slot, PIV_PIN_REF, old, ulOldLen,
		    (const char *)pNewPin, ulNewLen);
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	struct p11_slot *slot;
	struct p11_session *s;
	const char *p = (const char *)pPin, *colon;
	int ms = P11_OP_MS, tries = -1, r;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (pPin == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (!slot->so_in)
		rv = CKR_USER_NOT_LOGGED_IN;
	else if ((colon = memchr(p, ':', ulPinLen)) == NULL)
		rv = CKR_PIN_INVALID;
	else {
		size_t puklen = (size_t)(colon - p);
		size_t newlen = ulPinLen - puklen - 1;

		if (!p11_ref_fits(p, puklen))
			rv = CKR_PIN_INCORRECT;
		else if (newlen < 6 || newlen > 8)
			rv = CKR_PIN_LEN_RANGE;
		else if (!p11_ref_fits(colon + 1, newlen))
			rv = CKR_PIN_INVALID;
		else if ((r = piv_unblock_pin(slot->card, p, puklen,
		    colon + 1, newlen, &tries, &ms)) == PIV_ERR_PIN_WRONG ||
		    r == PIV_ERR_PIN_BLOCKED) {
			slot->puk_tries = r == PIV_ERR_PIN_BLOCKED ? 0 : tries;
			rv = slot->puk_tries == 0 ? CKR_PIN_LOCKED :
			    CKR_PIN_INCORRECT;
		} else if (r != 0)
			rv = p11_card_rv(slot, r);
		else
			slot->pin_known = 0;
	}
	p11_slot_release(slot);
	return rv;
}
