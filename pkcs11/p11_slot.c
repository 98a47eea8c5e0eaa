/* SPDX-License-Identifier: MIT */
/*
 * Slots and tokens: one PKCS#11 slot per reader slot, the token is the PIV
 * application on the card in it.  Insertion, removal and re-insertion are
 * noticed here, without APDUs (the backend's presence check).  What a
 * slot owns (sessions and their operations, the login, the caches of its
 * keys) is let go here too, so that a removal needs nothing above.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"
#include "../util/util.h"

/* ---- what a slot owns, and how it is let go ----------------------------- */

void
p11_op_reset(struct p11_opstate *op)
{
	EVP_MD_CTX_free(op->mdctx);
	util_freezero(op->buf, op->len);
	free(op->label_buf);
	util_wipe(op, sizeof(*op));
}

void
p11_session_free(struct p11_session **sp)
{
	struct p11_session *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < P11_OP_COUNT; i++)
		p11_op_reset(&s->op[i]);
	p11_secrets_free(s);
	free(s->found);
	free(s);
	*sp = NULL;
}

void
p11_pin_forget(struct p11_slot *slot)
{
	util_secmem_free(slot->pin_kept, P11_PIN_KEPT_MAX);
	slot->pin_kept = NULL;
	slot->pin_kept_len = 0;
}

void
p11_logout_all(struct p11_slot *slot)
{
	size_t i;

	slot->user_in = slot->so_in = 0;
	p11_pin_forget(slot);
	/* Private objects vanish: searches in progress keep handles, which
	 * then fail with CKR_OBJECT_HANDLE_INVALID. */
	for (i = 0; i < P11_NDATA; i++)
		if (slot->data[i].state != P11_CERT_PRESENT)
			slot->data[i].state = P11_CERT_UNKNOWN;
}

void
p11_secrets_free(struct p11_session *s)
{
	size_t i;

	for (i = 0; i < P11_MAX_SECRETS; i++) {
		util_freezero(s->secrets[i].value, s->secrets[i].len);
		memset(&s->secrets[i], 0, sizeof(s->secrets[i]));
	}
}

void
p11_keys_clear(struct p11_slot *slot)
{
	size_t i;

	for (i = 0; i < P11_NKEYS; i++) {
		struct p11_key *k = &slot->keys[i];

		piv_metadata_clear(&k->md);
		p11_pubenc_clear(&k->enc);
		free(k->cert_der);
		X509_free(k->cert);
		X509_free(k->attest);
		memset(k, 0, sizeof(*k));
	}
	for (i = 0; i < P11_NDATA; i++) {
		util_freezero(slot->data[i].value, slot->data[i].len);
		memset(&slot->data[i], 0, sizeof(slot->data[i]));
	}
	slot->md_none = 0;
	slot->retired_n = 0;
	slot->keys_loaded = 0;
}

void
p11_sessions_purge(struct p11_slot *slot)
{
	size_t i;

	for (i = 0; i < P11_MAX_SESSIONS; i++)
		if (slot->sess[i] != NULL && slot->sess[i]->epoch != slot->epoch)
			p11_session_free(&slot->sess[i]);
	slot->nsess = slot->nrw = 0;
	for (i = 0; i < P11_MAX_SESSIONS; i++) {
		if (slot->sess[i] == NULL)
			continue;
		slot->nsess++;
		if (slot->sess[i]->flags & CKF_RW_SESSION)
			slot->nrw++;
	}
}

/* The login, the caches and the connection go; the token is absent. */
static void
p11_token_drop(struct p11_slot *slot)
{
	p11_logout_all(slot);
	p11_keys_clear(slot);
	if (slot->conn != NULL || slot->card != NULL)
		p11_mod.be->disconnect(p11_mod.be_ctx, &slot->conn,
		    &slot->card);
	slot->token_present = 0;
	slot->id_loaded = 0;
	slot->pin_tries = slot->puk_tries = -1;
	slot->pin_known = 0;
}

/* Drops everything known about the token (slot locked). */
void
p11_token_forget(struct p11_slot *slot)
{
	size_t i;

	for (i = 0; i < P11_MAX_SESSIONS; i++)
		if (slot->sess[i] != NULL)
			p11_session_free(&slot->sess[i]);
	slot->nsess = slot->nrw = 0;
	p11_token_drop(slot);
	memset(&slot->id, 0, sizeof(slot->id));
}

/*
 * The card went away.  Sessions are not freed here (a caller may still
 * hold one, mid-operation): the epoch moves on, and every later use of
 * an old session finds it invalid and frees it.
 */
void
p11_token_removed(struct p11_slot *slot)
{
	p11_token_drop(slot);
	slot->epoch++;
}

/*
 * A card call failed with r.  Only the reader's own word ends the token
 * (the card or reader gone, the card reset under us): a transport failure
 * asks the reader once; waiting for another process is not a removal.
 */
CK_RV
p11_card_rv(struct p11_slot *slot, int r)
{
	const char *cause = piv_last_cause(slot->card);

	util_trace(1, "pkcs11: %s: %s%s%s%s", slot->reader.id, piv_strerror(r),
	    cause[0] != '\0' ? " (" : "", cause, cause[0] != '\0' ? ")" : "");
	if (r == PIV_ERR_REMOVED || (r == PIV_ERR_TRANSPORT &&
	    p11_mod.be->present(p11_mod.be_ctx, slot->reader.id, slot->conn,
	    0) == 0)) {
		p11_token_removed(slot);
		return CKR_DEVICE_REMOVED;
	}
	return p11_rv_from_piv(r);
}

/* Why the last connection failed, for the slot description. */
static void
p11_token_why(struct p11_slot *slot, int r)
{
	const char *why = "";

	switch (r) {
	case PIV_ERR_BUSY:
		why = "in use by another program";
		break;
	case PIV_ERR_ACCESS:
		why = "permission denied";
		break;
	case PIV_ERR_TRANSPORT:
	case PIV_ERR_TIMEOUT:
		why = "reader not answering";
		break;
	case PIV_ERR_NO_APP:
		why = "no PIV application";
		break;
	default:
		break;
	}
	snprintf(slot->why, sizeof(slot->why), "%s", why);
	if (why[0] != '\0')
		util_trace(1, "pkcs11: %s: %s", slot->reader.id, why);
}

/*
 * Is there a token?  What the reader last said is taken as it is when it
 * is younger than max_age_ms (-1: at any age; every card exchange brings
 * a fresh word, so calls that talk to the card need no question first).
 */
static CK_RV
p11_token_check_age(struct p11_slot *slot, int max_age_ms)
{
	int present, r;

	p11_sessions_purge(slot);
	present = slot->attached ? p11_mod.be->present(p11_mod.be_ctx,
	    slot->reader.id, slot->conn, max_age_ms) : 0;
	if (present == 0) {
		if (slot->token_present)
			p11_token_removed(slot);
		return CKR_TOKEN_NOT_PRESENT;
	}
	if (slot->token_present)
		return CKR_OK;	/* present, or busy: sessions stay */
	r = p11_mod.be->connect(p11_mod.be_ctx, slot->reader.id, &slot->card,
	    &slot->conn);
	p11_token_why(slot, r);
	if (r != 0)
		return r == PIV_ERR_REMOVED || r == PIV_ERR_NO_APP ?
		    CKR_TOKEN_NOT_PRESENT : CKR_DEVICE_ERROR;
	slot->token_present = 1;
	slot->pin_full = 3;	/* PIV's default until the card says more */
	slot->epoch++;
	return CKR_OK;
}

CK_RV
p11_token_check(struct p11_slot *slot)
{
	return p11_token_check_age(slot, -1);
}

/* For the calls that only ask about presence (slot info and lists, slot
 * events): the reader is asked when it has said nothing for a while. */
static CK_RV
p11_token_probe(struct p11_slot *slot)
{
	return p11_token_check_age(slot, P11_PRESENCE_MS);
}

/* Identity (GET VERSION, GET SERIAL): once per insertion. */
CK_RV
p11_token_load_info(struct p11_slot *slot)
{
	int ms = P11_OP_MS, r;

	if (slot->id_loaded)
		return CKR_OK;
	memset(&slot->id, 0, sizeof(slot->id));
	if ((r = piv_identity(slot->card, &slot->id, &ms)) != 0)
		return p11_card_rv(slot, r);
	slot->id_loaded = 1;
	return CKR_OK;
}

/*
 * The prologue of the calls about a token (C_GetTokenInfo, the
 * mechanism calls): the slot locked, its arguments present (args_ok),
 * the token there and its identity read.  On CKR_OK the slot is locked
 * until p11_slot_release.
 */
CK_RV
p11_token_begin(CK_SLOT_ID id, int args_ok, struct p11_slot **slot)
{
	CK_RV rv;

	if ((rv = p11_slot_get(id, slot)) != CKR_OK)
		return rv;
	if (!args_ok)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = p11_token_check(*slot)) == CKR_OK)
		rv = p11_token_load_info(*slot);
	if (rv != CKR_OK) {
		p11_slot_release(*slot);
		*slot = NULL;
	}
	return rv;
}

/*
 * PIN tries left, for the CKF_USER_PIN_* flags only.  One VERIFY without
 * data (63Cx: tries, 9000: verified), skipped while an answer of the same
 * card generation is younger than P11_PIN_INFO_MS: clients call
 * C_GetTokenInfo in bursts.  Failures leave the count unknown.
 */
void
p11_token_pin_info(struct p11_slot *slot)
{
	int ms = P11_OP_MS, verified = 0, tries = -1, r;
	uint64_t gen = p11_mod.be->generation != NULL ?
	    p11_mod.be->generation(p11_mod.be_ctx, slot->conn) : 0;
	uint64_t now = util_now_ms();

	if (slot->pin_known && slot->pin_gen == gen &&
	    now - slot->pin_at < P11_PIN_INFO_MS)
		return;
	r = piv_pin_status(slot->card, PIV_PIN_REF, &verified, &tries, &ms);
	if (r == PIV_ERR_REMOVED) {
		(void)p11_card_rv(slot, r);
		return;
	}
	slot->pin_tries = r == 0 ? tries : -1;
	slot->pin_known = r == 0;
	slot->pin_at = now;
	slot->pin_gen = p11_mod.be->generation != NULL ?
	    p11_mod.be->generation(p11_mod.be_ctx, slot->conn) : 0;
}

/* Rescans the readers (module lock taken here). */
void
p11_slots_refresh(void)
{
	struct p11_reader_info *list = NULL;
	size_t n = 0, i, j;

	if ((list = calloc(P11_MAX_SLOTS, sizeof(*list))) == NULL)
		return;
	if (p11_mod.be->list(p11_mod.be_ctx, list, P11_MAX_SLOTS, &n) != 0)
		n = 0;
	p11_lock(p11_mod.lock);
	for (j = 0; j < p11_mod.nslots; j++) {
		struct p11_slot *slot = &p11_mod.slots[j];
		int found = 0;

		for (i = 0; i < n; i++)
			if (strcmp(list[i].id, slot->reader.id) == 0)
				found = 1;
		p11_lock(slot->lock);
		slot->attached = found;
		if (!found && slot->token_present)
			p11_token_removed(slot);
		p11_unlock(slot->lock);
	}
	for (i = 0; i < n; i++) {
		struct p11_slot *slot;

		for (j = 0; j < p11_mod.nslots; j++)
			if (strcmp(list[i].id, p11_mod.slots[j].reader.id) == 0)
				break;
		if (j < p11_mod.nslots || p11_mod.nslots == P11_MAX_SLOTS)
			continue;
		slot = &p11_mod.slots[p11_mod.nslots];
		memset(slot, 0, sizeof(*slot));
		if (p11_mutex_new(&slot->lock) != CKR_OK)
			break;
		slot->reader = list[i];
		slot->reader.id[sizeof(slot->reader.id) - 1] = '\0';
		slot->reader.desc[sizeof(slot->reader.desc) - 1] = '\0';
		slot->reader.manuf[sizeof(slot->reader.manuf) - 1] = '\0';
		slot->attached = 1;
		slot->pin_tries = slot->puk_tries = -1;
		slot->used = 1;
		slot->ev_seen = 0;
		p11_mod.nslots++;
	}
	p11_unlock(p11_mod.lock);
	free(list);
}

CK_RV
C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
    CK_ULONG_PTR pulCount)
{
	CK_SLOT_ID ids[P11_MAX_SLOTS];
	CK_ULONG n = 0, i;
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	/* Rescan on the size query only, so the two calls agree. */
	if (pSlotList == NULL) {
		if ((rv = p11_enter()) != CKR_OK)
			return rv;
		p11_slots_refresh();
		p11_leave();
	}
	for (i = 0; i < P11_MAX_SLOTS; i++) {
		struct p11_slot *slot;
		int keep;

		if (p11_slot_get(i, &slot) != CKR_OK)
			continue;
		keep = slot->attached;
		if (keep && tokenPresent)
			keep = p11_token_probe(slot) == CKR_OK;
		p11_slot_release(slot);
		if (keep)
			ids[n++] = i;
	}
	if (pSlotList == NULL) {
		*pulCount = n;
		return CKR_OK;
	}
	if (*pulCount < n) {
		*pulCount = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < n; i++)
		pSlotList[i] = ids[i];
	*pulCount = n;
	return CKR_OK;
}

CK_RV
C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	struct p11_slot *slot;
	CK_RV rv;

	if ((rv = p11_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	if (pInfo == NULL) {
		p11_slot_release(slot);
		return CKR_ARGUMENTS_BAD;
	}
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->flags = CKF_HW_SLOT | CKF_REMOVABLE_DEVICE;
	if (p11_token_probe(slot) == CKR_OK)
		pInfo->flags |= CKF_TOKEN_PRESENT;
	/* a reader present but unusable says why where clients show it */
	if (!slot->token_present && slot->why[0] != '\0') {
		char desc[96];

		snprintf(desc, sizeof(desc), "%.40s (%s)", slot->reader.desc,
		    slot->why);
		p11_padded(pInfo->slotDescription,
		    sizeof(pInfo->slotDescription), desc);
	} else
		p11_padded(pInfo->slotDescription,
		    sizeof(pInfo->slotDescription), slot->reader.desc);
	p11_padded(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	    slot->reader.manuf);
	p11_slot_release(slot);
	return CKR_OK;
}

/* ---- mechanisms ----------------------------------------------------------- */

#define F_HW	CKF_HW
#define F_EC	(CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define F_RSASV	(CKF_HW | CKF_SIGN | CKF_VERIFY)

static const struct {
	CK_MECHANISM_TYPE type;
	CK_ULONG min, max;	/* 0 max: RSA, by firmware */
	CK_FLAGS flags;
} p11_mechs[] = {
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, 1024, 0, F_HW | CKF_GENERATE_KEY_PAIR },
	{ CKM_RSA_PKCS, 1024, 0, F_RSASV | CKF_ENCRYPT | CKF_DECRYPT },
	{ CKM_RSA_X_509, 1024, 0, F_RSASV | CKF_ENCRYPT | CKF_DECRYPT },
	{ CKM_RSA_PKCS_OAEP, 1024, 0, F_HW | CKF_ENCRYPT | CKF_DECRYPT },
	{ CKM_RSA_PKCS_PSS, 1024, 0, F_RSASV },
	{ CKM_SHA1_RSA_PKCS, 1024, 0, F_RSASV },
	{ CKM_SHA224_RSA_PKCS, 1024, 0, F_RSASV },
	{ CKM_SHA256_RSA_PKCS, 1024, 0, F_RSASV },
	{ CKM_SHA384_RSA_PKCS, 1024, 0, F_RSASV },
	{ CKM_SHA512_RSA_PKCS, 1024, 0, F_RSASV },
	{ CKM_SHA1_RSA_PKCS_PSS, 1024, 0, F_RSASV },
	{ CKM_SHA224_RSA_PKCS_PSS, 1024, 0, F_RSASV },
	{ CKM_SHA256_RSA_PKCS_PSS, 1024, 0, F_RSASV },
	{ CKM_SHA384_RSA_PKCS_PSS, 1024, 0, F_RSASV },
	{ CKM_SHA512_RSA_PKCS_PSS, 1024, 0, F_RSASV },
	{ CKM_EC_KEY_PAIR_GEN, 256, 384, F_HW | CKF_GENERATE_KEY_PAIR | F_EC },
	{ CKM_ECDSA, 256, 384, F_RSASV | F_EC },
	{ CKM_ECDSA_SHA1, 256, 384, F_RSASV | F_EC },
	{ CKM_ECDSA_SHA224, 256, 384, F_RSASV | F_EC },
	{ CKM_ECDSA_SHA256, 256, 384, F_RSASV | F_EC },
	{ CKM_ECDSA_SHA384, 256, 384, F_RSASV | F_EC },
	{ CKM_ECDSA_SHA512, 256, 384, F_RSASV | F_EC },
	{ CKM_ECDH1_DERIVE, 255, 384, F_HW | CKF_DERIVE | F_EC },
	{ CKM_ECDH1_COFACTOR_DERIVE, 256, 384, F_HW | CKF_DERIVE | F_EC },
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, 255, 255, F_HW | CKF_GENERATE_KEY_PAIR },
	{ CKM_EDDSA, 255, 255, F_RSASV },
	{ CKM_EC_MONTGOMERY_KEY_PAIR_GEN, 255, 255,
	    F_HW | CKF_GENERATE_KEY_PAIR },
	{ CKM_SHA_1, 0, 0, CKF_DIGEST },
	{ CKM_SHA224, 0, 0, CKF_DIGEST },
	{ CKM_SHA256, 0, 0, CKF_DIGEST },
	{ CKM_SHA384, 0, 0, CKF_DIGEST },
	{ CKM_SHA512, 0, 0, CKF_DIGEST },
};

/* RSA 3072/4096 and Ed25519/X25519 came with YubiKey 5.7. */
static int
p11_is_57(const struct p11_slot *slot)
{
	const uint8_t *v = slot->id.version;

	return !slot->id.has_version || v[0] > 5 || (v[0] == 5 && v[1] >= 7);
}

CK_RV
C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
    CK_ULONG_PTR pulCount)
{
	struct p11_slot *slot;
	CK_ULONG n = 0, i;
	CK_RV rv;

	if ((rv = p11_token_begin(slotID, pulCount != NULL, &slot)) != CKR_OK)
		return rv;
	for (i = 0; i < UTIL_ARRAY_LEN(p11_mechs); i++) {
		CK_MECHANISM_TYPE t = p11_mechs[i].type;

		if (!p11_is_57(slot) && (t == CKM_EDDSA ||
		    t == CKM_EC_EDWARDS_KEY_PAIR_GEN ||
		    t == CKM_EC_MONTGOMERY_KEY_PAIR_GEN))
			continue;
		if (pMechanismList != NULL && n < *pulCount)
			pMechanismList[n] = t;
		n++;
	}
	if (pMechanismList != NULL && *pulCount < n)
		rv = CKR_BUFFER_TOO_SMALL;
	*pulCount = n;
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR pInfo)
{
	struct p11_slot *slot;
	CK_RV rv;
	size_t i;

	if ((rv = p11_token_begin(slotID, pInfo != NULL, &slot)) != CKR_OK)
		return rv;
	rv = CKR_MECHANISM_INVALID;
	for (i = 0; i < UTIL_ARRAY_LEN(p11_mechs); i++) {
		if (p11_mechs[i].type != type)
			continue;
		if (!p11_is_57(slot) && p11_mechs[i].min == 255 &&
		    p11_mechs[i].max == 255)
			break;
		pInfo->ulMinKeySize = p11_mechs[i].min;
		pInfo->ulMaxKeySize = p11_mechs[i].max;
		if (p11_mechs[i].max == 0 && p11_mechs[i].min == 1024)
			pInfo->ulMaxKeySize = p11_is_57(slot) ? 4096 : 2048;
		pInfo->flags = p11_mechs[i].flags;
		rv = CKR_OK;
		break;
	}
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
    CK_UTF8CHAR_PTR pLabel)
{
	struct p11_slot *slot;
	CK_RV rv;

	(void)pPin;
	(void)ulPinLen;
	if ((rv = p11_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	if (pLabel == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = p11_token_check(slot)) == CKR_OK)
		rv = slot->nsess ? CKR_SESSION_EXISTS :
		    CKR_FUNCTION_NOT_SUPPORTED;	/* use `usbpiv reset` */
	p11_slot_release(slot);
	return rv;
}

/* ---- slot events ---------------------------------------------------------- */

void
p11_events_baseline(void)
{
	size_t i;

	for (i = 0; i < P11_MAX_SLOTS; i++) {
		struct p11_slot *slot;

		if (p11_slot_get(i, &slot) != CKR_OK)
			continue;
		slot->ev_seen = p11_token_probe(slot) == CKR_OK;
		p11_slot_release(slot);
	}
}

/* Finds a slot whose presence changed since last reported. */
static int
p11_event_scan(CK_SLOT_ID *out)
{
	size_t i;

	p11_slots_refresh();
	for (i = 0; i < P11_MAX_SLOTS; i++) {
		struct p11_slot *slot;
		int present, changed;

		if (p11_slot_get(i, &slot) != CKR_OK)
			continue;
		present = p11_token_probe(slot) == CKR_OK;
		changed = present != slot->ev_seen;
		slot->ev_seen = present;
		p11_slot_release(slot);
		if (changed) {
			*out = i;
			return 1;
		}
	}
	return 0;
}

CK_RV
C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pRsv)
{
	CK_RV rv;
	int ms;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if (pSlot == NULL || pRsv != NULL)
		return CKR_ARGUMENTS_BAD;
	__atomic_add_fetch(&p11_mod.waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		/* each round inside the gate: C_Finalize waits for it, and
		 * the next one sees the module finalizing */
		if (p11_enter() != CKR_OK) {
			rv = CKR_CRYPTOKI_NOT_INITIALIZED;
			break;
		}
		if (p11_event_scan(pSlot)) {
			rv = CKR_OK;
		} else if (flags & CKF_DONT_BLOCK) {
			rv = CKR_NO_EVENT;
		} else {
			/* Short waits so C_Finalize is noticed promptly. */
			ms = 250;
			if (p11_mod.be->wait(p11_mod.be_ctx, &ms) < 0)
				util_sleep_ms(250);
			p11_leave();
			continue;
		}
		p11_leave();
		break;
	}
	__atomic_sub_fetch(&p11_mod.waiters, 1, __ATOMIC_SEQ_CST);
	return rv;
}
