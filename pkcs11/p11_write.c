/* SPDX-License-Identifier: MIT */
/*
 * Writes (SO = management key logged in, read/write session): key
 * generation into the slot chosen by CKA_ID, certificate and private-key
 * import, deletion; and the deletion of a derived session key
 * (p11_derive.c makes them).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "p11.h"
#include "usbpiv-pkcs11.h"
#include "../util/util.h"

/* Slot index from CKA_ID in either template. */
static CK_RV
p11_target(const CK_ATTRIBUTE *t1, CK_ULONG n1, const CK_ATTRIBUTE *t2,
    CK_ULONG n2, int *idx)
{
	const CK_ATTRIBUTE *a = p11_find_attr(t1, n1, CKA_ID);

	if (a == NULL)
		a = p11_find_attr(t2, n2, CKA_ID);
	if (a == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if ((*idx = p11_key_from_id(a->pValue, a->ulValueLen)) < 0 ||
	    p11_key_refs[*idx] == PIV_SLOT_ATTEST)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

/*
 * Templates are honoured exactly or refused (PKCS#11 3.0 §4.1.3): every
 * attribute of a template must be one the object will have, with the
 * value it will have.  The card only makes token objects, private keys
 * that are sensitive and never extractable, and nothing modifiable; a
 * template that asks otherwise creates (and overwrites) nothing.
 * CKA_LABEL is the one exception, accepted and not stored: PIV has no
 * place for labels (objects are named after their slot, as in ykcs11 and
 * OpenSC), and clients such as pkcs11-tool always send one.
 */
enum { W_ANY, W_BOOL, W_ULONG, W_EMPTY };

struct p11_want {
	CK_ATTRIBUTE_TYPE type;
	int kind;
	CK_ULONG val;
};

#define P11_WANT_MAX	48

struct p11_wants {
	struct p11_want w[P11_WANT_MAX];
	size_t n;
};

static void
p11_want(struct p11_wants *ws, CK_ATTRIBUTE_TYPE type, int kind, CK_ULONG val)
{
	if (ws->n < P11_WANT_MAX) {
		ws->w[ws->n].type = type;
		ws->w[ws->n].kind = kind;
		ws->w[ws->n].val = val;
		ws->n++;
	}
}

/* What every object we write has: a token object, not modifiable. */
static void
p11_want_common(struct p11_wants *ws, CK_OBJECT_CLASS cls, int priv)
{
	p11_want(ws, CKA_CLASS, W_ULONG, cls);
	p11_want(ws, CKA_TOKEN, W_BOOL, 1);
	p11_want(ws, CKA_PRIVATE, W_BOOL, (CK_ULONG)priv);
	p11_want(ws, CKA_MODIFIABLE, W_BOOL, 0);
	p11_want(ws, CKA_COPYABLE, W_BOOL, 0);
	p11_want(ws, CKA_DESTROYABLE, W_BOOL, 1);
	p11_want(ws, CKA_LABEL, W_ANY, 0);
	p11_want(ws, CKA_ID, W_ANY, 0);		/* p11_target checks it */
	p11_want(ws, CKA_START_DATE, W_EMPTY, 0);
	p11_want(ws, CKA_END_DATE, W_EMPTY, 0);
}

/* A key of type kt: public or private half, generated on the card or
 * imported. */
static void
p11_want_key(struct p11_wants *ws, CK_KEY_TYPE kt, int priv, int generated)
{
	int rsa = kt == CKK_RSA;

	p11_want_common(ws, priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY, priv);
	p11_want(ws, CKA_KEY_TYPE, W_ULONG, kt);
	p11_want(ws, CKA_LOCAL, W_BOOL, (CK_ULONG)generated);
	p11_want(ws, CKA_EC_PARAMS, W_ANY, 0);	/* checked by the caller */
	if (priv) {
		p11_want(ws, CKA_SENSITIVE, W_BOOL, 1);
		p11_want(ws, CKA_EXTRACTABLE, W_BOOL, 0);
		p11_want(ws, CKA_ALWAYS_SENSITIVE, W_BOOL, (CK_ULONG)generated);
		p11_want(ws, CKA_NEVER_EXTRACTABLE, W_BOOL,
		    (CK_ULONG)generated);
		p11_want(ws, CKA_SIGN, W_BOOL, kt != CKK_EC_MONTGOMERY);
		p11_want(ws, CKA_DECRYPT, W_BOOL, (CK_ULONG)rsa);
		p11_want(ws, CKA_DERIVE, W_BOOL, kt == CKK_EC ||
		    kt == CKK_EC_MONTGOMERY);
		p11_want(ws, CKA_SIGN_RECOVER, W_BOOL, 0);
		p11_want(ws, CKA_UNWRAP, W_BOOL, 0);
		p11_want(ws, CKA_WRAP_WITH_TRUSTED, W_BOOL, 0);
		p11_want(ws, CKA_ALWAYS_AUTHENTICATE, W_ANY, 0); /* caller */
		p11_want(ws, CKA_USBPIV_PIN_POLICY, W_ANY, 0);	/* caller */
		p11_want(ws, CKA_USBPIV_TOUCH_POLICY, W_ANY, 0);
	} else {
		p11_want(ws, CKA_ENCRYPT, W_BOOL, (CK_ULONG)rsa);
		p11_want(ws, CKA_VERIFY, W_BOOL, kt != CKK_EC_MONTGOMERY);
		p11_want(ws, CKA_DERIVE, W_BOOL, kt == CKK_EC ||
		    kt == CKK_EC_MONTGOMERY);
		p11_want(ws, CKA_VERIFY_RECOVER, W_BOOL, 0);
		p11_want(ws, CKA_WRAP, W_BOOL, 0);
		p11_want(ws, CKA_TRUSTED, W_BOOL, 0);
		if (rsa) {
			/* checked by the caller */
			p11_want(ws, CKA_MODULUS_BITS, W_ANY, 0);
			p11_want(ws, CKA_PUBLIC_EXPONENT, W_ANY, 0);
		}
	}
}

/* CKR_OK when every attribute of t is wanted with the value it has. */
static CK_RV
p11_template_check(const CK_ATTRIBUTE *t, CK_ULONG n,
    const struct p11_wants *ws)
{
	CK_ULONG i, u;
	CK_BBOOL b;
	size_t j;

	for (i = 0; i < n; i++) {
		const CK_ATTRIBUTE *a = &t[i];
		const struct p11_want *w = NULL;

		for (j = 0; j < ws->n; j++)
			if (ws->w[j].type == a->type) {
				w = &ws->w[j];
				break;
			}
		if (w == NULL) {
			util_trace(1, "pkcs11: template: attribute 0x%lx not "
			    "supported", (unsigned long)a->type);
			return CKR_ATTRIBUTE_TYPE_INVALID;
		}
		if (a->pValue == NULL && a->ulValueLen > 0)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		switch (w->kind) {
		case W_BOOL:
			if (a->pValue == NULL || a->ulValueLen != sizeof(b))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			memcpy(&b, a->pValue, sizeof(b));
			if ((b != CK_FALSE) != (w->val != 0)) {
				util_trace(1, "pkcs11: template: attribute "
				    "0x%lx must be %s", (unsigned long)a->type,
				    w->val ? "true" : "false");
				return CKR_TEMPLATE_INCONSISTENT;
			}
			break;
		case W_ULONG:
			if (a->pValue == NULL || a->ulValueLen != sizeof(u))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			memcpy(&u, a->pValue, sizeof(u));
			if (u != w->val) {
				util_trace(1, "pkcs11: template: attribute "
				    "0x%lx must be 0x%lx", (unsigned long)a->type,
				    (unsigned long)w->val);
				return CKR_TEMPLATE_INCONSISTENT;
			}
			break;
		case W_EMPTY:
			if (a->ulValueLen != 0)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		default:
			break;
		}
	}
	return CKR_OK;
}

/* The same attribute in both templates must say the same. */
static CK_RV
p11_templates_agree(const CK_ATTRIBUTE *t1, CK_ULONG n1,
    const CK_ATTRIBUTE *t2, CK_ULONG n2, CK_ATTRIBUTE_TYPE type)
{
	const CK_ATTRIBUTE *a = p11_find_attr(t1, n1, type);
	const CK_ATTRIBUTE *b = p11_find_attr(t2, n2, type);

	if (a == NULL || b == NULL)
		return CKR_OK;
	if (a->ulValueLen != b->ulValueLen || (a->ulValueLen > 0 &&
	    memcmp(a->pValue, b->pValue, a->ulValueLen) != 0))
		return CKR_TEMPLATE_INCONSISTENT;
	return CKR_OK;
}

/*
 * The PIN policy the key will get: the vendor attribute, else what
 * CKA_ALWAYS_AUTHENTICATE asks for (ALWAYS, or ONCE where the slot's
 * default is ALWAYS), else the card's default for the slot (0).
 */
static CK_RV
p11_pin_policy_of(const CK_ATTRIBUTE *t, CK_ULONG n, uint8_t ref,
    uint8_t *pin)
{
	const CK_ATTRIBUTE *a = p11_find_attr(t, n, CKA_ALWAYS_AUTHENTICATE);
	uint8_t eff;
	int r;
	CK_BBOOL b;

	*pin = PIV_PINPOLICY_DEFAULT;
	if ((r = p11_attr_byte(t, n, CKA_USBPIV_PIN_POLICY, pin)) < 0 ||
	    *pin > PIV_PINPOLICY_ALWAYS)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (a == NULL)
		return CKR_OK;
	if (a->pValue == NULL || a->ulValueLen != sizeof(b))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memcpy(&b, a->pValue, sizeof(b));
	eff = *pin != PIV_PINPOLICY_DEFAULT ? *pin :
	    ref == PIV_SLOT_SIGN ? PIV_PINPOLICY_ALWAYS :
	    ref == PIV_SLOT_CARDAUTH ? PIV_PINPOLICY_NEVER : PIV_PINPOLICY_ONCE;
	if ((b != CK_FALSE) == (eff == PIV_PINPOLICY_ALWAYS))
		return CKR_OK;
	if (*pin != PIV_PINPOLICY_DEFAULT)
		return CKR_TEMPLATE_INCONSISTENT;
	*pin = b != CK_FALSE ? PIV_PINPOLICY_ALWAYS : PIV_PINPOLICY_ONCE;
	return CKR_OK;
}

static uint8_t
p11_ec_alg(const CK_ATTRIBUTE *a)
{
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	static const uint8_t p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
	    0x22 };

	if (a == NULL || a->pValue == NULL)
		return 0;
	if (a->ulValueLen == sizeof(p256) &&
	    memcmp(a->pValue, p256, sizeof(p256)) == 0)
		return PIV_ALG_ECCP256;
	if (a->ulValueLen == sizeof(p384) &&
	    memcmp(a->pValue, p384, sizeof(p384)) == 0)
		return PIV_ALG_ECCP384;
	return 0;
}

/* Records a key the card now holds. */
static void
p11_key_set(struct p11_key *k, uint8_t alg, uint8_t pin, uint8_t touch,
    uint8_t origin, EVP_PKEY *pub)
{
	piv_metadata_clear(&k->md);
	p11_key_pub_forget(k);
	k->md.alg = alg;
	k->md.pin_policy = pin;
	k->md.touch_policy = touch;
	k->md.origin = origin;
	k->md.pub = pub;
	k->md_real = 1;
	k->has_key = 1;
	X509_free(k->attest);
	k->attest = NULL;
	/* the certificate there (if any) is for the old key: re-read */
	if (k->cert_state == P11_CERT_ABSENT)
		k->cert_state = P11_CERT_UNKNOWN;
}

/*
 * After a key or certificate went into a retired slot (82..95): the Key
 * History object must count it, or the next load (which follows that
 * count, see p11_keys_load) would not look there.  The write itself has
 * succeeded, so a failure here is only traced.
 */
static void
p11_history_note(struct p11_slot *slot, int idx)
{
	int ms = P11_OP_MS, r;
	size_t i;

	if (p11_key_refs[idx] < 0x82 || p11_key_refs[idx] > 0x95)
		return;
	/* the cached copy (it is also a data object) may change */
	for (i = 0; i < P11_NDATA; i++) {
		struct p11_data *d = &slot->data[i];

		if (d->tag != PIV_OBJ_KEY_HISTORY)
			continue;
		free(d->value);
		d->value = NULL;
		d->len = 0;
		d->state = P11_CERT_UNKNOWN;
	}
	if ((r = piv_key_history_note(slot->card, p11_key_refs[idx], &ms)) != 0)
		util_trace(1, "pkcs11: key history not updated for %02x: %d",
		    p11_key_refs[idx], r);
}

/* CKA_EC_PARAMS of an Ed25519 / X25519 key: the OID or the name. */
static int
p11_ec_params_25519(const CK_ATTRIBUTE *a, CK_KEY_TYPE kt)
{
	static const uint8_t ed_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
	static const uint8_t x_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x6e };
	static const uint8_t ed_name[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a',
	    'r', 'd', 's', '2', '5', '5', '1', '9' };
	static const uint8_t x_name[] = { 0x13, 0x0a, 'c', 'u', 'r', 'v',
	    'e', '2', '5', '5', '1', '9' };
	const uint8_t *oid = kt == CKK_EC_EDWARDS ? ed_oid : x_oid;
	const uint8_t *name = kt == CKK_EC_EDWARDS ? ed_name : x_name;
	size_t nlen = kt == CKK_EC_EDWARDS ? sizeof(ed_name) : sizeof(x_name);

	if (a->pValue == NULL)
		return 0;
	return (a->ulValueLen == sizeof(ed_oid) &&
	    memcmp(a->pValue, oid, sizeof(ed_oid)) == 0) ||
	    (a->ulValueLen == nlen && memcmp(a->pValue, name, nlen) == 0);
}

/* Both templates of C_GenerateKeyPair, before anything is sent. */
static CK_RV
p11_keypair_templates(CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *pt,
    CK_ULONG pn, const CK_ATTRIBUTE *qt, CK_ULONG qn)
{
	struct p11_wants wp, wq;
	const CK_ATTRIBUTE *a;
	CK_KEY_TYPE kt;
	CK_RV rv;

	switch (mech) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		kt = CKK_RSA;
		break;
	case CKM_EC_KEY_PAIR_GEN:
		kt = CKK_EC;
		break;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
		kt = CKK_EC_EDWARDS;
		break;
	case CKM_EC_MONTGOMERY_KEY_PAIR_GEN:
		kt = CKK_EC_MONTGOMERY;
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	memset(&wp, 0, sizeof(wp));
	memset(&wq, 0, sizeof(wq));
	p11_want_key(&wp, kt, 0, 1);
	p11_want_key(&wq, kt, 1, 1);
	if ((rv = p11_template_check(pt, pn, &wp)) != CKR_OK ||
	    (rv = p11_template_check(qt, qn, &wq)) != CKR_OK ||
	    (rv = p11_templates_agree(pt, pn, qt, qn, CKA_ID)) != CKR_OK ||
	    (rv = p11_templates_agree(pt, pn, qt, qn, CKA_EC_PARAMS)) !=
	    CKR_OK)
		return rv;
	/* curve parameters: where the key type has them, and right */
	if ((a = p11_find_attr(qt, qn, CKA_EC_PARAMS)) == NULL)
		a = p11_find_attr(pt, pn, CKA_EC_PARAMS);
	if (a != NULL && kt == CKK_RSA)
		return CKR_TEMPLATE_INCONSISTENT;
	if (a != NULL && (kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY) &&
	    !p11_ec_params_25519(a, kt))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (a != NULL && kt == CKK_EC && p11_ec_alg(a) == 0)
		return CKR_CURVE_NOT_SUPPORTED;
	return CKR_OK;
}

CK_RV
C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
    CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
    CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
    CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	struct p11_slot *slot;
	struct p11_session *s;
	const CK_ATTRIBUTE *pt = pPublicKeyTemplate, *qt = pPrivateKeyTemplate;
	CK_ULONG pn = ulPublicKeyAttributeCount, qn = ulPrivateKeyAttributeCount;
	CK_ULONG bits = 0;
	uint8_t alg = 0, pin = 0, touch = 0;
	EVP_PKEY *pub = NULL;
	int idx, ms = P11_OP_MS, r;
	CK_RV rv;

	if ((rv = p11_session_valid(hSession)) != CKR_OK)
		return rv;
	if (phPublicKey == NULL || phPrivateKey == NULL || pMechanism == NULL ||
	    (pt == NULL && pn > 0) || (qt == NULL && qn > 0))
		return CKR_ARGUMENTS_BAD;
	/* the templates first: one the card cannot honour touches nothing
	 * (and a session object in a read-only session is refused as such) */
	if ((rv = p11_keypair_templates(pMechanism->mechanism, pt, pn, qt,
	    qn)) != CKR_OK)
		return rv;
	if ((rv = p11_call_begin(hSession, P11_CALL_WRITE,
	    &slot, &s)) != CKR_OK)
		return rv;
	if ((rv = p11_target(pt, pn, qt, qn, &idx)) != CKR_OK)
		goto out;
	switch (pMechanism->mechanism) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN: {
		const CK_ATTRIBUTE *e = p11_find_attr(pt, pn,
		    CKA_PUBLIC_EXPONENT);

		if (p11_attr_ulong(pt, pn, CKA_MODULUS_BITS, &bits) != 1) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto out;
		}
		alg = bits == 1024 ? PIV_ALG_RSA1024 : bits == 2048 ?
		    PIV_ALG_RSA2048 : bits == 3072 ? PIV_ALG_RSA3072 :
		    bits == 4096 ? PIV_ALG_RSA4096 : 0;
		/* the card's exponent is 65537, nothing else */
		if (e != NULL && (e->pValue == NULL || !((e->ulValueLen == 3 &&
		    memcmp(e->pValue, "\x01\x00\x01", 3) == 0) ||
		    (e->ulValueLen == 4 &&
		    memcmp(e->pValue, "\x00\x01\x00\x01", 4) == 0)))) {
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
			goto out;
		}
		break;
	}
	case CKM_EC_KEY_PAIR_GEN:
		if ((alg = p11_ec_alg(p11_find_attr(pt, pn, CKA_EC_PARAMS))) ==
		    0) {
			rv = p11_find_attr(pt, pn, CKA_EC_PARAMS) == NULL ?
			    CKR_TEMPLATE_INCOMPLETE : CKR_CURVE_NOT_SUPPORTED;
			goto out;
		}
		break;
	case CKM_EC_EDWARDS_KEY_PAIR_GEN:
		alg = PIV_ALG_ED25519;
		break;
	case CKM_EC_MONTGOMERY_KEY_PAIR_GEN:
		alg = PIV_ALG_X25519;
		break;
	default:
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (alg == 0) {
		rv = CKR_KEY_SIZE_RANGE;
		goto out;
	}
	if ((rv = p11_pin_policy_of(qt, qn, p11_key_refs[idx], &pin)) !=
	    CKR_OK)
		goto out;
	if (p11_attr_byte(qt, qn, CKA_USBPIV_TOUCH_POLICY, &touch) < 0 ||
	    touch > PIV_TOUCHPOLICY_CACHED) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	ms = P11_SLOW_MS;
	r = piv_generate(slot->card, p11_key_refs[idx], alg, pin, touch, &pub,
	    &ms);
	if (r != 0) {
		rv = r == PIV_ERR_AUTH_REQUIRED ? CKR_USER_NOT_LOGGED_IN :
		    p11_card_rv(slot, r);
		goto out;
	}
	p11_key_set(&slot->keys[idx], alg, pin, touch, PIV_ORIGIN_GENERATED,
	    pub);
	p11_history_note(slot, idx);
	*phPublicKey = P11_HANDLE(P11_OBJ_PUB, idx);
	*phPrivateKey = P11_HANDLE(P11_OBJ_PRIV, idx);
out:
	p11_call_end(slot);
	return rv;
}

/* ---- C_CreateObject --------------------------------------------------------- */

/* The DER of one of the certificate's names or its serial, compared with
 * the template's attribute (when there is one). */
static CK_RV
p11_cert_attr_is(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    X509 *x)
{
	const CK_ATTRIBUTE *a = p11_find_attr(t, n, type);
	unsigned char *der = NULL;
	int len;
	CK_RV rv = CKR_OK;

	if (a == NULL)
		return CKR_OK;
	if (type == CKA_SUBJECT)
		len = i2d_X509_NAME(X509_get_subject_name(x), &der);
	else if (type == CKA_ISSUER)
		len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
	else
		len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
	if (len <= 0)
		return CKR_HOST_MEMORY;
	if (a->pValue == NULL || a->ulValueLen != (CK_ULONG)len ||
	    memcmp(a->pValue, der, (size_t)len) != 0)
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
	OPENSSL_free(der);
	return rv;
}

static CK_RV
p11_create_cert(struct p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *h)
{
	const CK_ATTRIBUTE *v = p11_find_attr(t, n, CKA_VALUE);
	const unsigned char *p;
	CK_ULONG ct = CKC_X_509;
	X509 *x = NULL;
	int idx, ms = P11_OP_MS, r;
	CK_RV rv;

	if (p11_attr_ulong(t, n, CKA_CERTIFICATE_TYPE, &ct) < 0 ||
	    ct != CKC_X_509)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((rv = p11_target(t, n, NULL, 0, &idx)) != CKR_OK)
		return rv;
	if (v == NULL || v->pValue == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	p = v->pValue;
	if (v->ulValueLen > 16384 ||
	    (x = d2i_X509(NULL, &p, (long)v->ulValueLen)) == NULL ||
	    p != (const unsigned char *)v->pValue + v->ulValueLen) {
		X509_free(x);
		return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	if ((rv = p11_cert_attr_is(t, n, CKA_SUBJECT, x)) != CKR_OK ||
	    (rv = p11_cert_attr_is(t, n, CKA_ISSUER, x)) != CKR_OK ||
	    (rv = p11_cert_attr_is(t, n, CKA_SERIAL_NUMBER, x)) != CKR_OK) {
		X509_free(x);
		return rv;
	}
	if ((r = piv_write_cert(slot->card, p11_key_refs[idx], x, 0, &ms)) !=
	    0) {
		X509_free(x);
		return r == PIV_ERR_AUTH_REQUIRED ? CKR_USER_NOT_LOGGED_IN :
		    p11_card_rv(slot, r);
	}
	/* the card has it now, whatever the cache can keep */
	rv = p11_key_cert_set(&slot->keys[idx], x);
	p11_history_note(slot, idx);
	if (rv != CKR_OK)
		return rv;
	*h = P11_HANDLE(P11_OBJ_CERT, idx);
	return CKR_OK;
}

static int
p11_param_bn(OSSL_PARAM_BLD *b, const char *name, const CK_ATTRIBUTE *t,
    CK_ULONG n, CK_ATTRIBUTE_TYPE type, BIGNUM **keep)
{
	const CK_ATTRIBUTE *a = p11_find_attr(t, n, type);

	if (a == NULL || a->pValue == NULL || a->ulValueLen == 0 ||
	    a->ulValueLen > 1024)
		return -1;
	if ((*keep = BN_bin2bn(a->pValue, (int)a->ulValueLen, NULL)) == NULL)
		return -1;
	BN_set_flags(*keep, BN_FLG_CONSTTIME);
	return OSSL_PARAM_BLD_push_BN(b, name, *keep) ? 0 : -1;
}

/* A private key from a template, as an EVP_PKEY. */
static CK_RV
p11_template_key(const CK_ATTRIBUTE *t, CK_ULONG n, EVP_PKEY **out)
{
	static const struct { CK_ATTRIBUTE_TYPE a; const char *name; } rsa[] = {
		{ CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N },
		{ CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E },
		{ CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D },
		{ CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1 },
		{ CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2 },
		{ CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1 },
		{ CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2 },
		{ CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
	};
	BIGNUM *bn[UTIL_ARRAY_LEN(rsa)];
	OSSL_PARAM_BLD *b = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	const CK_ATTRIBUTE *v;
	CK_ULONG kt = 0;
	const char *type = NULL, *oid = NULL;
	size_t i;
	CK_RV rv = CKR_TEMPLATE_INCONSISTENT;

	*out = NULL;
	memset(bn, 0, sizeof(bn));
	if (p11_attr_ulong(t, n, CKA_KEY_TYPE, &kt) != 1)
		return CKR_TEMPLATE_INCOMPLETE;
	v = p11_find_attr(t, n, CKA_VALUE);
	if (kt == CKK_EC_EDWARDS || kt == CKK_EC_MONTGOMERY) {
		if (v == NULL || v->pValue == NULL || v->ulValueLen != 32)
			return CKR_TEMPLATE_INCOMPLETE;
		*out = EVP_PKEY_new_raw_private_key(kt == CKK_EC_EDWARDS ?
		    EVP_PKEY_ED25519 : EVP_PKEY_X25519, NULL, v->pValue, 32);
		return *out != NULL ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	}
	if ((b = OSSL_PARAM_BLD_new()) == NULL)
		return CKR_HOST_MEMORY;
	if (kt == CKK_RSA) {
		type = "RSA";
		oid = "1.2.840.113549.1.1.1";
		for (i = 0; i < UTIL_ARRAY_LEN(rsa); i++)
			if (p11_param_bn(b, rsa[i].name, t, n, rsa[i].a,
			    &bn[i]) != 0) {
				rv = CKR_TEMPLATE_INCOMPLETE;
				goto out;
			}
	} else if (kt == CKK_EC) {
		uint8_t alg = p11_ec_alg(p11_find_attr(t, n, CKA_EC_PARAMS));

		type = "EC";
		oid = "1.2.840.10045.2.1";
		if (alg == 0) {
			rv = CKR_CURVE_NOT_SUPPORTED;
			goto out;
		}
		if (!OSSL_PARAM_BLD_push_utf8_string(b,
		    OSSL_PKEY_PARAM_GROUP_NAME, alg == PIV_ALG_ECCP256 ?
		    "prime256v1" : "secp384r1", 0) ||
		    p11_param_bn(b, OSSL_PKEY_PARAM_PRIV_KEY, t, n, CKA_VALUE,
		    &bn[0]) != 0) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto out;
		}
	} else {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	if ((params = OSSL_PARAM_BLD_to_param(b)) == NULL ||
	    (ctx = piv_fromdata_ctx(type, oid)) == NULL ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) != 1) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	rv = CKR_OK;
out:
	for (i = 0; i < UTIL_ARRAY_LEN(bn); i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

/* The public half of a key pair, as its own EVP_PKEY. */
static EVP_PKEY *
p11_public_of(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int n;

	if ((n = i2d_PUBKEY(k, &der)) <= 0)
		return NULL;
	p = der;
	pub = d2i_PUBKEY(NULL, &p, n);
	OPENSSL_free(der);
	return pub;
}

static CK_RV
p11_create_key(struct p11_slot *slot, const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_OBJECT_HANDLE *h)
{
	EVP_PKEY *k = NULL, *pub = NULL;
	uint8_t pin = 0, touch = 0, alg;
	int idx, ms = P11_OP_MS, r;
	CK_RV rv;

	if ((rv = p11_target(t, n, NULL, 0, &idx)) != CKR_OK)
		return rv;
	if ((rv = p11_pin_policy_of(t, n, p11_key_refs[idx], &pin)) != CKR_OK)
		return rv;
	if (p11_attr_byte(t, n, CKA_USBPIV_TOUCH_POLICY, &touch) < 0 ||
	    touch > PIV_TOUCHPOLICY_CACHED)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((rv = p11_template_key(t, n, &k)) != CKR_OK)
		return rv;
	if ((alg = p11_alg_of(k)) == 0) {
		rv = CKR_KEY_SIZE_RANGE;
		goto out;
	}
	if ((pub = p11_public_of(k)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if ((r = piv_import_key(slot->card, p11_key_refs[idx], k, pin, touch,
	    &ms)) != 0) {
		rv = r == PIV_ERR_AUTH_REQUIRED ? CKR_USER_NOT_LOGGED_IN :
		    p11_card_rv(slot, r);
		goto out;
	}
	p11_key_set(&slot->keys[idx], alg, pin, touch, PIV_ORIGIN_IMPORTED,
	    pub);
	pub = NULL;
	p11_history_note(slot, idx);
	*h = P11_HANDLE(P11_OBJ_PRIV, idx);
out:
	EVP_PKEY_free(k);	/* OpenSSL clears private key material */
	EVP_PKEY_free(pub);
	return rv;
}

/* The template of C_CreateObject, before anything is sent. */
static CK_RV
p11_create_template(const CK_ATTRIBUTE *t, CK_ULONG n)
{
	static const CK_ATTRIBUTE_TYPE material[] = { CKA_VALUE, CKA_MODULUS,
	    CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
	    CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	struct p11_wants w;
	CK_ULONG cls = 0, kt = 0;
	size_t i;
	int r;

	memset(&w, 0, sizeof(w));
	if ((r = p11_attr_ulong(t, n, CKA_CLASS, &cls)) == 0)
		return CKR_TEMPLATE_INCOMPLETE;
	if (r < 0)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	switch (cls) {
	case CKO_CERTIFICATE:
		p11_want_common(&w, CKO_CERTIFICATE, 0);
		p11_want(&w, CKA_CERTIFICATE_TYPE, W_ULONG, CKC_X_509);
		p11_want(&w, CKA_CERTIFICATE_CATEGORY, W_ULONG, 0);
		p11_want(&w, CKA_TRUSTED, W_BOOL, 0);
		p11_want(&w, CKA_VALUE, W_ANY, 0);
		/* compared with the certificate by p11_create_cert */
		p11_want(&w, CKA_SUBJECT, W_ANY, 0);
		p11_want(&w, CKA_ISSUER, W_ANY, 0);
		p11_want(&w, CKA_SERIAL_NUMBER, W_ANY, 0);
		p11_want(&w, CKA_URL, W_EMPTY, 0);
		p11_want(&w, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, W_EMPTY, 0);
		p11_want(&w, CKA_HASH_OF_ISSUER_PUBLIC_KEY, W_EMPTY, 0);
		break;
	case CKO_PRIVATE_KEY:
		if ((r = p11_attr_ulong(t, n, CKA_KEY_TYPE, &kt)) == 0)
			return CKR_TEMPLATE_INCOMPLETE;
		if (r < 0)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		p11_want_key(&w, kt, 1, 0);
		for (i = 0; i < UTIL_ARRAY_LEN(material); i++)
			p11_want(&w, material[i], W_ANY, 0);
		break;
	default:
		return CKR_TEMPLATE_INCONSISTENT;
	}
	return p11_template_check(t, n, &w);
}

CK_RV
C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_ULONG cls = 0;
	CK_RV rv;

	if ((rv = p11_session_valid(hSession)) != CKR_OK)
		return rv;
	if (pTemplate == NULL || phObject == NULL)
		return CKR_ARGUMENTS_BAD;
	/* the template first: one the card cannot honour touches nothing */
	if ((rv = p11_create_template(pTemplate, ulCount)) != CKR_OK)
		return rv;
	if ((rv = p11_call_begin(hSession, P11_CALL_WRITE,
	    &slot, &s)) != CKR_OK)
		return rv;
	if (p11_attr_ulong(pTemplate, ulCount, CKA_CLASS, &cls) != 1)
		rv = CKR_TEMPLATE_INCOMPLETE;
	else if (cls == CKO_CERTIFICATE)
		rv = p11_create_cert(slot, pTemplate, ulCount, phObject);
	else if (cls == CKO_PRIVATE_KEY)
		rv = p11_create_key(slot, pTemplate, ulCount, phObject);
	else
		rv = CKR_TEMPLATE_INCONSISTENT;
	p11_call_end(slot);
	return rv;
}

CK_RV
C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	struct p11_slot *slot;
	struct p11_session *s;
	size_t idx = P11_INDEX(hObject);
	int ms = P11_OP_MS, r = 0;
	struct p11_key *k;
	CK_RV rv;

	if ((rv = p11_call_begin(hSession, P11_CALL_SESSION,
	    &slot, &s)) != CKR_OK)
		return rv;
	if (P11_KIND(hObject) == P11_OBJ_SECRET && hObject >> 16 == 0) {
		if (idx >= P11_MAX_SECRETS || s->secrets[idx].value == NULL)
			rv = CKR_OBJECT_HANDLE_INVALID;
		else {
			util_freezero(s->secrets[idx].value,
			    s->secrets[idx].len);
			memset(&s->secrets[idx], 0, sizeof(s->secrets[idx]));
		}
		p11_call_end(slot);
		return rv;
	}
	p11_call_end(slot);
	if ((rv = p11_call_begin(hSession, P11_CALL_WRITE,
	    &slot, &s)) != CKR_OK)
		return rv;
	if (!p11_object_exists(slot, hObject)) {
		/* private keys are invisible to the SO: look again */
		if (P11_KIND(hObject) != P11_OBJ_PRIV || idx >= P11_NKEYS ||
		    !slot->keys[idx].has_key) {
			rv = CKR_OBJECT_HANDLE_INVALID;
			goto out;
		}
	}
	k = &slot->keys[idx];
	switch (P11_KIND(hObject)) {
	case P11_OBJ_CERT:
		if ((r = piv_delete_cert(slot->card, k->ref, &ms)) == 0) {
			(void)p11_key_cert_set(k, NULL);
		}
		break;
	case P11_OBJ_PRIV:
		if ((r = piv_delete_key(slot->card, k->ref, &ms)) == 0) {
			piv_metadata_clear(&k->md);
			p11_key_pub_forget(k);
			k->has_key = 0;
			k->md_real = 0;
			k->probed = 1;
		}
		break;
	default:
		rv = CKR_ACTION_PROHIBITED;	/* goes with its key / card */
		goto out;
	}
	if (r != 0)
		rv = r == PIV_ERR_AUTH_REQUIRED ? CKR_USER_NOT_LOGGED_IN :
		    p11_card_rv(slot, r);
out:
	p11_call_end(slot);
	return rv;
}
