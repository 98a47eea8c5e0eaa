/*
 * Objects: per populated key slot an X.509 certificate, a public key and a
 * private key (and, where the card attests, the attestation certificate);
 * read-only CKO_DATA objects for the PIV containers.
 *
 * Enumeration is lazy: the first look at the token's keys costs SELECT and
 * one METADATA per key slot (YubiKey 5.3+); a certificate is read only when
 * an object search could match it or one of its attributes is asked for;
 * data objects only when a search could match CKO_DATA; attestation
 * certificates only when their value is asked for.  Without METADATA the
 * certificates are read to find the keys (one GET DATA per slot).
 *
 * CKA_ID: 9A 01, 9C 02, 9D 03, 9E 04, then the retired slots 82..95 and
 * F9.  Default (ykcs11 style): 05..18 and 19, contiguous.  With
 * USBPIV_ID_STYLE=opensc the retired slots read as OpenSC numbers them,
 * the decimal digits as hex digits: 05..09, 10..24 (and F9 25).
 *
 * A certificate is looked for only in slots that hold a key (a certificate
 * without its private key is of no use through PKCS#11).
 */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "p11.h"
#include "usbpiv-pkcs11.h"
#include "../util/util.h"

const uint8_t p11_key_refs[P11_NKEYS] = {
	0x9a, 0x9c, 0x9d, 0x9e,
	0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
	0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
	0xf9,
};
#define P11_F9_INDEX	24

static const struct {
	uint32_t tag;
	const char *label;
	int private_;
} p11_data_objs[P11_NDATA] = {
	{ PIV_OBJ_CHUID, "Card Holder Unique Identifier", 0 },
	{ PIV_OBJ_CCC, "Card Capability Container", 0 },
	{ PIV_OBJ_DISCOVERY, "Discovery Object", 0 },
	{ PIV_OBJ_KEY_HISTORY, "Key History Object", 0 },
	{ PIV_OBJ_PRINTED, "Printed Information", 1 },
	{ PIV_OBJ_SECURITY, "Security Object", 0 },
};

int
p11_key_index(uint8_t ref)
{
	int i;

	for (i = 0; i < P11_NKEYS; i++)
		if (p11_key_refs[i] == ref)
			return i;
	return -1;
}

uint8_t
p11_key_id(int idx)
{
	int n = idx + 1;

	if (p11_mod.id_style == 1 && n >= 5)
		return (uint8_t)((n / 10) << 4 | (n % 10));
	return (uint8_t)n;
}

int
p11_key_from_id(const uint8_t *id, size_t len)
{
	int i;

	if (id == NULL || len != 1)
		return -1;
	for (i = 0; i < P11_NKEYS; i++)
		if (p11_key_id(i) == id[0])
			return i;
	return -1;
}

static const char *
p11_slot_name(int idx, char *buf, size_t cap)
{
	static const char *names[] = { "PIV Authentication",
	    "Digital Signature", "Key Management", "Card Authentication" };

	if (idx < 4)
		return names[idx];
	if (idx == P11_F9_INDEX)
		return "PIV Attestation";
	snprintf(buf, cap, "Retired Key %d", idx - 3);
	return buf;
}

CK_KEY_TYPE
p11_keytype(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_RSA1024: case PIV_ALG_RSA2048:
	case PIV_ALG_RSA3072: case PIV_ALG_RSA4096:
		return CKK_RSA;
	case PIV_ALG_ECCP256: case PIV_ALG_ECCP384:
		return CKK_EC;
	case PIV_ALG_ED25519:
		return CKK_EC_EDWARDS;
	case PIV_ALG_X25519:
		return CKK_EC_MONTGOMERY;
	default:
		return CK_UNAVAILABLE_INFORMATION;
	}
}

/* The PIV algorithm of a public key (for cards without METADATA). */
static uint8_t
p11_alg_of(EVP_PKEY *pk)
{
	char name[64];

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		switch (EVP_PKEY_get_bits(pk)) {
		case 1024: return PIV_ALG_RSA1024;
		case 2048: return PIV_ALG_RSA2048;
		case 3072: return PIV_ALG_RSA3072;
		case 4096: return PIV_ALG_RSA4096;
		}
		return 0;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL))
			return 0;
		if (strcmp(name, "prime256v1") == 0 ||
		    strcmp(name, "P-256") == 0)
			return PIV_ALG_ECCP256;
		if (strcmp(name, "secp384r1") == 0 ||
		    strcmp(name, "P-384") == 0)
			return PIV_ALG_ECCP384;
		return 0;
	case EVP_PKEY_ED25519:
		return PIV_ALG_ED25519;
	case EVP_PKEY_X25519:
		return PIV_ALG_X25519;
	}
	return 0;
}

static uint8_t
p11_pin_policy(const struct p11_key *k)
{
	if (k->md.pin_policy != PIV_PINPOLICY_DEFAULT)
		return k->md.pin_policy;
	switch (k->ref) {
	case PIV_SLOT_SIGN:
		return PIV_PINPOLICY_ALWAYS;
	case PIV_SLOT_CARDAUTH:
	case PIV_SLOT_ATTEST:
		return PIV_PINPOLICY_NEVER;
	default:
		return PIV_PINPOLICY_ONCE;
	}
}

int
p11_key_always_auth(const struct p11_key *k)
{
	return p11_pin_policy(k) == PIV_PINPOLICY_ALWAYS;
}

void
p11_keys_clear(struct p11_slot *slot)
{
	size_t i;

	for (i = 0; i < P11_NKEYS; i++) {
		struct p11_key *k = &slot->keys[i];

		piv_metadata_clear(&k->md);
		X509_free(k->cert);
		X509_free(k->attest);
		memset(k, 0, sizeof(*k));
	}
	for (i = 0; i < P11_NDATA; i++) {
		util_freezero(slot->data[i].value, slot->data[i].len);
		memset(&slot->data[i], 0, sizeof(slot->data[i]));
	}
	slot->keys_loaded = 0;
}

CK_RV
p11_cert_load(struct p11_slot *slot, int idx)
{
	struct p11_key *k = &slot->keys[idx];
	int ms = P11_OP_MS, r;

	if (k->cert_state != P11_CERT_UNKNOWN)
		return CKR_OK;
	r = piv_read_cert(slot->card, k->ref, &k->cert, &ms);
	if (r == 0) {
		k->cert_state = P11_CERT_PRESENT;
		return CKR_OK;
	}
	k->cert = NULL;
	if (r == PIV_ERR_NOT_FOUND || r == PIV_ERR_PROTO ||
	    r == PIV_ERR_BAD_DATA) {
		/* absent, or unreadable: listed as absent */
		k->cert_state = P11_CERT_ABSENT;
		return CKR_OK;
	}
	return p11_card_rv(slot, r);
}

/*
 * Which key slots a token can have keys in (for the README):
 *
 *   9A 9C 9D 9E are always asked (METADATA, one APDU each).
 *   F9, the YubiKey attestation key, and the attestation certificates
 *   of generated keys (each one a signature by the card when read) are
 *   objects only with USBPIV_ATTEST=1: clients that list certificates
 *   (ssh, NSS, p11-kit) would otherwise pay an APDU per key, and see
 *   F9's key, which cannot sign for them, as a usable one.
 *   The 20 retired slots 82..95 follow the SP 800-73-4 Key History object
 *   (5FC10C): keysWithOnCardCerts + keysWithOffCardCerts = N means keys
 *   in 82 .. 82+N-1; no object means none.  This is what OpenSC does,
 *   and it saves up to 20 APDUs per token.  usbpiv itself (this module's
 *   C_GenerateKeyPair / C_CreateObject, and `usbpiv keygen / import-key /
 *   import-cert`) raises the count when it puts a key or certificate into
 *   a retired slot; for cards written by tools that do not,
 *   USBPIV_RETIRED=all probes all 20 slots.
 */
static CK_RV p11_data_load(struct p11_slot *slot, size_t i);

/* Retired keys per Key History, read once as the data object it also is
 * (so a later search for data objects does not read it again). */
static CK_RV
p11_retired_count(struct p11_slot *slot, int *n)
{
	uint8_t on = 0, off = 0;
	size_t i;
	CK_RV rv;

	*n = 0;
	if (p11_mod.retired_all) {
		*n = 20;
		return CKR_OK;
	}
	for (i = 0; i < P11_NDATA; i++)
		if (p11_data_objs[i].tag == PIV_OBJ_KEY_HISTORY)
			break;
	if (i == P11_NDATA)
		return CKR_OK;
	if ((rv = p11_data_load(slot, i)) != CKR_OK)
		return rv;
	if (slot->data[i].state == P11_CERT_PRESENT &&
	    piv_key_history_parse(slot->data[i].value, slot->data[i].len,
	    &on, &off) == 0)
		*n = on + off;	/* malformed: none */
	return CKR_OK;
}

/* Is index i a retired slot beyond the Key History count, or F9 when
 * attestation objects are off? */
static int
p11_retired_skip(int i, int nretired)
{
	if (i == P11_F9_INDEX)
		return !p11_mod.attest;
	return p11_key_refs[i] >= 0x82 && p11_key_refs[i] <= 0x95 &&
	    p11_key_refs[i] - 0x82 >= nretired;
}

CK_RV
p11_keys_load(struct p11_slot *slot)
{
	int ms = P11_OP_MS, r, i, have_md = 1, nretired;
	uint64_t gen;
	CK_RV rv;

	gen = p11_mod.be->generation != NULL ?
	    p11_mod.be->generation(p11_mod.be_ctx, slot->conn) : 0;
	/* Another program may have changed the card: the caches (keys,
	 * certificates, data objects) belong to one card generation. */
	if (slot->keys_loaded && gen == slot->keys_gen)
		return CKR_OK;
	p11_keys_clear(slot);
	slot->keys_gen = gen;
	if ((rv = p11_retired_count(slot, &nretired)) != CKR_OK)
		return rv;
	for (i = 0; i < P11_NKEYS; i++) {
		struct p11_key *k = &slot->keys[i];

		k->ref = p11_key_refs[i];
		if (!have_md || p11_retired_skip(i, nretired))
			continue;
		r = piv_metadata(slot->card, k->ref, &k->md, &ms);
		if (r == 0) {
			k->has_key = 1;
			k->md_real = 1;
		} else if (r == PIV_ERR_NOT_FOUND) {
			piv_metadata_clear(&k->md);
			k->cert_state = P11_CERT_UNKNOWN;
		} else if (r == PIV_ERR_NOT_SUPPORTED && i == 0) {
			have_md = 0;
		} else {
			piv_metadata_clear(&k->md);
			if ((rv = p11_card_rv(slot, r)) == CKR_DEVICE_REMOVED)
				return rv;
			/* Unknown to this card (e.g. F9 on a non-YubiKey). */
		}
	}
	if (!have_md) {
		/* No METADATA: a key is where a certificate is. */
		for (i = 0; i < P11_NKEYS; i++) {
			struct p11_key *k = &slot->keys[i];
			EVP_PKEY *pk;

			if (p11_retired_skip(i, nretired))
				continue;
			if ((rv = p11_cert_load(slot, i)) != CKR_OK)
				return rv;
			if (k->cert_state != P11_CERT_PRESENT ||
			    (pk = X509_get0_pubkey(k->cert)) == NULL ||
			    (k->md.alg = p11_alg_of(pk)) == 0)
				continue;
			k->has_key = 1;
		}
	}
	slot->keys_loaded = 1;
	return CKR_OK;
}

/* The public key of slot idx, from METADATA or the certificate. */
static EVP_PKEY *
p11_pub(struct p11_slot *slot, int idx, int may_read)
{
	struct p11_key *k = &slot->keys[idx];

	if (k->md.pub != NULL)
		return k->md.pub;
	if (may_read && k->cert_state == P11_CERT_UNKNOWN)
		(void)p11_cert_load(slot, idx);
	if (k->cert_state == P11_CERT_PRESENT)
		return X509_get0_pubkey(k->cert);
	return NULL;
}

static int
p11_attests(struct p11_slot *slot, int idx)
{
	const struct p11_key *k = &slot->keys[idx];

	return idx != P11_F9_INDEX && k->has_key && k->md_real &&
	    k->md.origin == PIV_ORIGIN_GENERATED &&
	    slot->keys[P11_F9_INDEX].has_key;
}

static CK_RV
p11_data_load(struct p11_slot *slot, size_t i)
{
	struct p11_data *d = &slot->data[i];
	int ms = P11_OP_MS, r;

	if (d->state != P11_CERT_UNKNOWN)
		return CKR_OK;
	d->tag = p11_data_objs[i].tag;
	r = piv_get_data(slot->card, d->tag, &d->value, &d->len, &ms);
	if (r == 0) {
		d->state = P11_CERT_PRESENT;
		return CKR_OK;
	}
	d->value = NULL;
	d->len = 0;
	if (r == PIV_ERR_REMOVED)
		return p11_card_rv(slot, r);
	if (r == PIV_ERR_AUTH_REQUIRED)
		return CKR_OK;	/* try again once logged in */
	d->state = P11_CERT_ABSENT;
	return CKR_OK;
}

/*
 * Does object h exist (and may this session see it)?  May read the card
 * (certificate or data object) when that is the only way to know.
 */
int
p11_object_exists(struct p11_slot *slot, CK_OBJECT_HANDLE h)
{
	size_t idx = P11_INDEX(h);

	if (h >> 16 != 0 || slot->keys_loaded == 0)
		return 0;
	switch (P11_KIND(h)) {
	case P11_OBJ_CERT:
		if (idx >= P11_NKEYS)
			return 0;
		if (slot->keys[idx].cert_state == P11_CERT_PRESENT)
			return 1;	/* e.g. imported into an empty slot */
		if (!slot->keys[idx].has_key)
			return 0;
		if (p11_cert_load(slot, (int)idx) != CKR_OK)
			return 0;
		return slot->keys[idx].cert_state == P11_CERT_PRESENT;
	case P11_OBJ_PUB:
		return idx < P11_NKEYS && slot->keys[idx].has_key &&
		    p11_pub(slot, (int)idx, 1) != NULL;
	case P11_OBJ_PRIV:
		/* private objects: for the user; the SO (management key)
		 * sees them too, so that the handles C_GenerateKeyPair and
		 * C_CreateObject return are usable (nothing secret is
		 * readable through them anyway) */
		return idx < P11_NKEYS && slot->keys[idx].has_key &&
		    (slot->user_in || slot->so_in);
	case P11_OBJ_ATTEST:
		return idx < P11_NKEYS && p11_attests(slot, (int)idx);
	case P11_OBJ_DATA:
		if (idx >= P11_NDATA)
			return 0;
		if (p11_data_objs[idx].private_ && !slot->user_in)
			return 0;
		if (p11_data_load(slot, idx) != CKR_OK)
			return 0;
		return slot->data[idx].state == P11_CERT_PRESENT;
	}
	return 0;
}

/* ---- attribute values ---------------------------------------------------- */

struct p11_val {
	uint8_t small[32];
	uint8_t *dyn;		/* OPENSSL_malloc'd or malloc'd */
	int dyn_ossl;
	const void *p;
	size_t len;
};

static void
p11_val_clear(struct p11_val *v)
{
	if (v->dyn_ossl)
		OPENSSL_free(v->dyn);
	else
		free(v->dyn);
	memset(v, 0, sizeof(*v));
}

static CK_RV
p11_val_bool(struct p11_val *v, int b)
{
	CK_BBOOL x = b ? CK_TRUE : CK_FALSE;

	memcpy(v->small, &x, sizeof(x));
	v->p = v->small;
	v->len = sizeof(x);
	return CKR_OK;
}

static CK_RV
p11_val_ulong(struct p11_val *v, CK_ULONG u)
{
	memcpy(v->small, &u, sizeof(u));
	v->p = v->small;
	v->len = sizeof(u);
	return CKR_OK;
}

static CK_RV
p11_val_bytes(struct p11_val *v, const void *p, size_t n)
{
	if (n > sizeof(v->small)) {
		if ((v->dyn = malloc(n)) == NULL)
			return CKR_HOST_MEMORY;
		memcpy(v->dyn, p, n);
		v->p = v->dyn;
	} else {
		memcpy(v->small, p, n);
		v->p = v->small;
	}
	v->len = n;
	return CKR_OK;
}

static CK_RV
p11_val_str(struct p11_val *v, const char *s)
{
	return p11_val_bytes(v, s, strlen(s));
}

/* DER from an i2d function: takes over *der (n < 0 means failure).
 * Call it as  n = i2d_X(x, &der); return p11_val_der(v, &der, n);  so
 * that der is read after i2d set it. */
static CK_RV
p11_val_der(struct p11_val *v, unsigned char **derp, int n)
{
	unsigned char *der = *derp;

	*derp = NULL;
	if (n < 0 || der == NULL) {
		OPENSSL_free(der);
		return CKR_FUNCTION_FAILED;
	}
	v->dyn = der;
	v->dyn_ossl = 1;
	v->p = der;
	v->len = (size_t)n;
	return CKR_OK;
}

static CK_RV
p11_val_bn(struct p11_val *v, EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(pk, name, &bn))
		return CKR_FUNCTION_FAILED;
	n = BN_num_bytes(bn);
	if ((v->dyn = malloc(n > 0 ? (size_t)n : 1)) == NULL) {
		BN_free(bn);
		return CKR_HOST_MEMORY;
	}
	v->len = (size_t)BN_bn2bin(bn, v->dyn);
	v->p = v->dyn;
	BN_free(bn);
	return CKR_OK;
}

static const uint8_t p11_oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07 };
static const uint8_t p11_oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00,
    0x22 };
static const uint8_t p11_oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const uint8_t p11_oid_x25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x6e };

static CK_RV
p11_val_ec_params(struct p11_val *v, uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_ECCP256:
		return p11_val_bytes(v, p11_oid_p256, sizeof(p11_oid_p256));
	case PIV_ALG_ECCP384:
		return p11_val_bytes(v, p11_oid_p384, sizeof(p11_oid_p384));
	case PIV_ALG_ED25519:
		return p11_val_bytes(v, p11_oid_ed25519,
		    sizeof(p11_oid_ed25519));
	case PIV_ALG_X25519:
		return p11_val_bytes(v, p11_oid_x25519,
		    sizeof(p11_oid_x25519));
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

/* CKA_EC_POINT: DER OCTET STRING around the encoded point (as in the
 * SubjectPublicKeyInfo: uncompressed for EC, raw for Ed25519/X25519). */
static CK_RV
p11_val_ec_point(struct p11_val *v, EVP_PKEY *pk)
{
	X509_PUBKEY *xp = NULL;
	const unsigned char *pt = NULL;
	int n = 0;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if (X509_PUBKEY_set(&xp, pk) != 1 ||
	    X509_PUBKEY_get0_param(NULL, &pt, &n, NULL, xp) != 1 ||
	    n <= 0 || n > 127)
		goto out;
	if ((v->dyn = malloc((size_t)n + 2)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	v->dyn[0] = 0x04;
	v->dyn[1] = (uint8_t)n;
	memcpy(v->dyn + 2, pt, (size_t)n);
	v->p = v->dyn;
	v->len = (size_t)n + 2;
	rv = CKR_OK;
out:
	X509_PUBKEY_free(xp);
	return rv;
}

static CK_RV
p11_attr_common(struct p11_val *v, CK_ATTRIBUTE_TYPE t, CK_OBJECT_CLASS cls,
    int priv, const char *label)
{
	switch (t) {
	case CKA_CLASS:
		return p11_val_ulong(v, cls);
	case CKA_TOKEN:
		return p11_val_bool(v, 1);
	case CKA_PRIVATE:
		return p11_val_bool(v, priv);
	case CKA_MODIFIABLE:
	case CKA_COPYABLE:
		return p11_val_bool(v, 0);
	case CKA_DESTROYABLE:
		return p11_val_bool(v, cls != CKO_DATA);
	case CKA_LABEL:
		return p11_val_str(v, label);
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

static CK_RV
p11_attr_cert(struct p11_slot *slot, X509 *x, uint8_t id, int trusted,
    struct p11_val *v, CK_ATTRIBUTE_TYPE t)
{
	unsigned char *der = NULL;
	int n;

	(void)slot;
	switch (t) {
	case CKA_CERTIFICATE_TYPE:
		return p11_val_ulong(v, CKC_X_509);
	case CKA_TRUSTED:
		return p11_val_bool(v, trusted);
	case CKA_CERTIFICATE_CATEGORY:
		return p11_val_ulong(v, 0);	/* unspecified */
	case CKA_ID:
		return p11_val_bytes(v, &id, 1);
	case CKA_START_DATE:
	case CKA_END_DATE:
	case CKA_URL:
	case CKA_HASH_OF_SUBJECT_PUBLIC_KEY:
	case CKA_HASH_OF_ISSUER_PUBLIC_KEY:
		return p11_val_bytes(v, "", 0);
	case CKA_SUBJECT:
		n = i2d_X509_NAME(X509_get_subject_name(x), &der);
		return p11_val_der(v, &der, n);
	case CKA_ISSUER:
		n = i2d_X509_NAME(X509_get_issuer_name(x), &der);
		return p11_val_der(v, &der, n);
	case CKA_SERIAL_NUMBER:
		n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
		return p11_val_der(v, &der, n);
	case CKA_VALUE:
		n = i2d_X509(x, &der);
		return p11_val_der(v, &der, n);
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

static CK_RV
p11_attr_key(struct p11_slot *slot, int idx, int priv, struct p11_val *v,
    CK_ATTRIBUTE_TYPE t)
{
	struct p11_key *k = &slot->keys[idx];
	CK_KEY_TYPE kt = p11_keytype(k->md.alg);
	int generated = k->md_real && k->md.origin == PIV_ORIGIN_GENERATED;
	int rsa = kt == CKK_RSA;
	uint8_t id = p11_key_id(idx), b;
	unsigned char *der = NULL;
	EVP_PKEY *pk;
	int n;

	switch (t) {
	case CKA_KEY_TYPE:
		return p11_val_ulong(v, kt);
	case CKA_ID:
		return p11_val_bytes(v, &id, 1);
	case CKA_START_DATE:
	case CKA_END_DATE:
		return p11_val_bytes(v, "", 0);
	case CKA_DERIVE:
		/* both halves of a key-agreement key pair (what pkcs11-tool
		 * asks of an EC key pair it generates) */
		return p11_val_bool(v, kt == CKK_EC ||
		    kt == CKK_EC_MONTGOMERY);
	case CKA_LOCAL:
		return p11_val_bool(v, generated);
	case CKA_KEY_GEN_MECHANISM:
		if (!generated)
			return p11_val_ulong(v, CK_UNAVAILABLE_INFORMATION);
		return p11_val_ulong(v, rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN :
		    kt == CKK_EC ? CKM_EC_KEY_PAIR_GEN :
		    kt == CKK_EC_EDWARDS ? CKM_EC_EDWARDS_KEY_PAIR_GEN :
		    CKM_EC_MONTGOMERY_KEY_PAIR_GEN);
	case CKA_SUBJECT:
		if (k->cert_state == P11_CERT_UNKNOWN)
			(void)p11_cert_load(slot, idx);
		if (k->cert_state != P11_CERT_PRESENT)
			return p11_val_bytes(v, "", 0);
		n = i2d_X509_NAME(X509_get_subject_name(k->cert), &der);
		return p11_val_der(v, &der, n);
	case CKA_PUBLIC_KEY_INFO:
		if ((pk = p11_pub(slot, idx, 1)) == NULL)
			return p11_val_bytes(v, "", 0);
		n = i2d_PUBKEY(pk, &der);
		return p11_val_der(v, &der, n);
	case CKA_USBPIV_SLOT:
		return p11_val_bytes(v, &k->ref, 1);
	case CKA_USBPIV_PIN_POLICY:
		if (!priv)
			break;
		b = p11_pin_policy(k);
		return p11_val_bytes(v, &b, 1);
	case CKA_USBPIV_TOUCH_POLICY:
		if (!priv)
			break;
		return p11_val_bytes(v, &k->md.touch_policy, 1);
	}
	if (priv) {
		switch (t) {
		case CKA_SENSITIVE:
		case CKA_ALWAYS_SENSITIVE:	/* imported: it was out once */
			return p11_val_bool(v, t == CKA_SENSITIVE || generated);
		case CKA_NEVER_EXTRACTABLE:
			return p11_val_bool(v, generated);
		case CKA_EXTRACTABLE:
		case CKA_SIGN_RECOVER:
		case CKA_UNWRAP:
		case CKA_WRAP_WITH_TRUSTED:
			return p11_val_bool(v, 0);
		case CKA_DECRYPT:
			return p11_val_bool(v, rsa);
		case CKA_SIGN:
			return p11_val_bool(v, kt != CKK_EC_MONTGOMERY);
		case CKA_ALWAYS_AUTHENTICATE:
			return p11_val_bool(v, p11_key_always_auth(k));
		case CKA_PRIVATE_EXPONENT:
		case CKA_PRIME_1:
		case CKA_PRIME_2:
		case CKA_EXPONENT_1:
		case CKA_EXPONENT_2:
		case CKA_COEFFICIENT:
			return rsa ? CKR_ATTRIBUTE_SENSITIVE :
			    CKR_ATTRIBUTE_TYPE_INVALID;
		case CKA_VALUE:
			return rsa ? CKR_ATTRIBUTE_TYPE_INVALID :
			    CKR_ATTRIBUTE_SENSITIVE;
		}
	} else {
		switch (t) {
		case CKA_ENCRYPT:
			return p11_val_bool(v, rsa);
		case CKA_VERIFY:
			return p11_val_bool(v, kt != CKK_EC_MONTGOMERY);
		case CKA_VERIFY_RECOVER:
		case CKA_WRAP:
		case CKA_TRUSTED:
			return p11_val_bool(v, 0);
		case CKA_EC_POINT:
			if (rsa || (pk = p11_pub(slot, idx, 1)) == NULL)
				break;
			return p11_val_ec_point(v, pk);
		}
	}
	switch (t) {
	case CKA_MODULUS:
	case CKA_PUBLIC_EXPONENT:
		if (!rsa || (pk = p11_pub(slot, idx, 1)) == NULL)
			break;
		return p11_val_bn(v, pk, t == CKA_MODULUS ?
		    OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_RSA_E);
	case CKA_MODULUS_BITS:
		if (!rsa || priv || (pk = p11_pub(slot, idx, 1)) == NULL)
			break;
		return p11_val_ulong(v, (CK_ULONG)EVP_PKEY_get_bits(pk));
	case CKA_EC_PARAMS:
		if (rsa)
			break;
		return p11_val_ec_params(v, k->md.alg);
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

/* The value of attribute t of object h (which exists). */
static CK_RV
p11_attr(struct p11_slot *slot, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE t,
    struct p11_val *v)
{
	int idx = (int)P11_INDEX(h), kind = P11_KIND(h);
	char name[48], label[96];
	const char *nm;
	struct p11_key *k;
	CK_RV rv;
	int r, ms = P11_OP_MS;

	if (kind == P11_OBJ_DATA) {
		const struct p11_data *d = &slot->data[idx];

		rv = p11_attr_common(v, t, CKO_DATA, p11_data_objs[idx].private_,
		    p11_data_objs[idx].label);
		if (rv != CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		switch (t) {
		case CKA_APPLICATION:
			return p11_val_str(v, p11_data_objs[idx].label);
		case CKA_OBJECT_ID:
			return p11_val_bytes(v, "", 0);
		case CKA_VALUE:
			return p11_val_bytes(v, d->value, d->len);
		}
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
	k = &slot->keys[idx];
	nm = p11_slot_name(idx, name, sizeof(name));
	switch (kind) {
	case P11_OBJ_CERT:
		snprintf(label, sizeof(label), "X.509 Certificate for %s", nm);
		if ((rv = p11_attr_common(v, t, CKO_CERTIFICATE, 0, label)) !=
		    CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		return p11_attr_cert(slot, k->cert, p11_key_id(idx), 0, v, t);
	case P11_OBJ_ATTEST:
		snprintf(label, sizeof(label),
		    "X.509 Certificate for PIV Attestation %02x", k->ref);
		if ((rv = p11_attr_common(v, t, CKO_CERTIFICATE, 0, label)) !=
		    CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		if (t == CKA_CERTIFICATE_TYPE)
			return p11_val_ulong(v, CKC_X_509);
		if (t == CKA_ID) {
			uint8_t id = p11_key_id(idx);

			return p11_val_bytes(v, &id, 1);
		}
		/* Attest lazily, when a value is asked for. */
		if (k->attest == NULL) {
			r = piv_attest(slot->card, k->ref, &k->attest, &ms);
			if (r != 0) {
				k->attest = NULL;
				return p11_card_rv(slot, r);
			}
		}
		return p11_attr_cert(slot, k->attest, p11_key_id(idx), 0, v, t);
	case P11_OBJ_PUB:
		snprintf(label, sizeof(label), "Public key for %s", nm);
		if ((rv = p11_attr_common(v, t, CKO_PUBLIC_KEY, 0, label)) !=
		    CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		return p11_attr_key(slot, idx, 0, v, t);
	case P11_OBJ_PRIV:
		snprintf(label, sizeof(label), "Private key for %s", nm);
		if ((rv = p11_attr_common(v, t, CKO_PRIVATE_KEY, 1, label)) !=
		    CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		return p11_attr_key(slot, idx, 1, v, t);
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

/* Session lookup + token + objects, for the object calls. */
static CK_RV
p11_obj_session(CK_SESSION_HANDLE h, struct p11_slot **slot,
    struct p11_session **s)
{
	CK_RV rv;

	if ((rv = p11_session_get(h, slot, s)) != CKR_OK)
		return rv;
	if ((rv = p11_token_check(*slot)) != CKR_OK ||
	    (rv = p11_login_check(*slot)) != CKR_OK ||
	    (rv = p11_keys_load(*slot)) != CKR_OK) {
		/* gone before the call: the session is; during it: the
		 * operation in flight reports the removal */
		if (rv == CKR_TOKEN_NOT_PRESENT)
			rv = CKR_SESSION_HANDLE_INVALID;
		p11_slot_release(*slot);
		*slot = NULL;
		*s = NULL;
	}
	return rv;
}

CK_RV
C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	struct p11_slot *slot;
	struct p11_session *s;
	struct p11_val v;
	CK_RV rv, r1;
	CK_ULONG i;

	if ((rv = p11_obj_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (P11_KIND(hObject) == P11_OBJ_SECRET) {
		rv = p11_secret_attrs(s, hObject, pTemplate, ulCount);
		goto out;
	}
	if (!p11_object_exists(slot, hObject)) {
		rv = slot->token_present ? CKR_OBJECT_HANDLE_INVALID :
		    CKR_DEVICE_REMOVED;
		goto out;
	}
	for (i = 0; i < ulCount; i++) {
		CK_ATTRIBUTE *a = &pTemplate[i];

		memset(&v, 0, sizeof(v));
		r1 = p11_attr(slot, hObject, a->type, &v);
		if (r1 == CKR_DEVICE_REMOVED) {
			p11_val_clear(&v);
			rv = r1;
			goto out;
		}
		if (r1 != CKR_OK) {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			if (r1 == CKR_ATTRIBUTE_SENSITIVE ||
			    r1 == CKR_ATTRIBUTE_TYPE_INVALID)
				rv = rv == CKR_OK ? r1 : rv;
			else
				rv = r1;
		} else if (a->pValue == NULL) {
			a->ulValueLen = v.len;
		} else if (a->ulValueLen >= v.len) {
			if (v.len > 0)
				memcpy(a->pValue, v.p, v.len);
			a->ulValueLen = v.len;
		} else {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			if (rv == CKR_OK)
				rv = CKR_BUFFER_TOO_SMALL;
		}
		p11_val_clear(&v);
	}
out:
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
    CK_ULONG_PTR pulSize)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_obj_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (pulSize == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (!p11_object_exists(slot, hObject))
		rv = CKR_OBJECT_HANDLE_INVALID;
	else
		*pulSize = CK_UNAVAILABLE_INFORMATION;
	p11_slot_release(slot);
	return rv;
}

/* ---- search ------------------------------------------------------------------ */

static int
p11_class_of(CK_OBJECT_HANDLE h, CK_OBJECT_CLASS *cls)
{
	switch (P11_KIND(h)) {
	case P11_OBJ_CERT:
	case P11_OBJ_ATTEST:
		*cls = CKO_CERTIFICATE;
		return 0;
	case P11_OBJ_PUB:
		*cls = CKO_PUBLIC_KEY;
		return 0;
	case P11_OBJ_PRIV:
		*cls = CKO_PRIVATE_KEY;
		return 0;
	case P11_OBJ_DATA:
		*cls = CKO_DATA;
		return 0;
	}
	return -1;
}

/*
 * Does h match the template?  Checks the cheap attributes (class, id,
 * key type) before anything that could need the card.
 */
static int
p11_match(struct p11_slot *slot, CK_OBJECT_HANDLE h, const CK_ATTRIBUTE *t,
    CK_ULONG n)
{
	CK_OBJECT_CLASS cls;
	struct p11_val v;
	CK_ULONG i;
	int ok;

	if (p11_class_of(h, &cls) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (t[i].type != CKA_CLASS)
			continue;
		if (t[i].ulValueLen != sizeof(cls) || t[i].pValue == NULL ||
		    memcmp(t[i].pValue, &cls, sizeof(cls)) != 0)
			return 0;
	}
	if (P11_KIND(h) != P11_OBJ_DATA) {
		uint8_t id = p11_key_id((int)P11_INDEX(h));

		for (i = 0; i < n; i++)
			if (t[i].type == CKA_ID && (t[i].ulValueLen != 1 ||
			    t[i].pValue == NULL ||
			    *(const uint8_t *)t[i].pValue != id))
				return 0;
	}
	if (!p11_object_exists(slot, h))
		return 0;
	for (i = 0; i < n; i++) {
		if (t[i].type == CKA_CLASS)
			continue;
		memset(&v, 0, sizeof(v));
		ok = p11_attr(slot, h, t[i].type, &v) == CKR_OK &&
		    v.len == t[i].ulValueLen && (v.len == 0 ||
		    (t[i].pValue != NULL && memcmp(v.p, t[i].pValue,
		    v.len) == 0));
		p11_val_clear(&v);
		if (!ok)
			return 0;
	}
	return 1;
}

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
    CK_ULONG ulCount)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_OBJECT_HANDLE *found = NULL;
	size_t n = 0, max = P11_NKEYS * 4 + P11_NDATA, i;
	int kind;
	CK_RV rv;

	if ((rv = p11_obj_session(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (pTemplate == NULL && ulCount > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (s->op[P11_OP_FIND].active) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((found = calloc(max, sizeof(*found))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (kind = P11_OBJ_CERT; kind <= P11_OBJ_DATA; kind++) {
		size_t lim = kind == P11_OBJ_DATA ? P11_NDATA : P11_NKEYS;

		for (i = 0; i < lim; i++) {
			CK_OBJECT_HANDLE h = P11_HANDLE(kind, i);

			if (p11_match(slot, h, pTemplate, ulCount))
				found[n++] = h;
			if (!slot->token_present) {
				rv = CKR_DEVICE_REMOVED;
				goto out;
			}
		}
	}
	free(s->found);
	s->found = found;
	found = NULL;
	s->nfound = n;
	s->foundpos = 0;
	s->op[P11_OP_FIND].active = 1;
out:
	free(found);
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (phObject == NULL || pulObjectCount == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if (!s->op[P11_OP_FIND].active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else {
		while (n < ulMaxObjectCount && s->foundpos < s->nfound)
			phObject[n++] = s->found[s->foundpos++];
		*pulObjectCount = n;
	}
	p11_slot_release(slot);
	return rv;
}

CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	struct p11_slot *slot;
	struct p11_session *s;
	CK_RV rv;

	if ((rv = p11_session_get(hSession, &slot, &s)) != CKR_OK)
		return rv;
	if (!s->op[P11_OP_FIND].active)
		rv = CKR_OPERATION_NOT_INITIALIZED;
	else {
		free(s->found);
		s->found = NULL;
		s->nfound = s->foundpos = 0;
		s->op[P11_OP_FIND].active = 0;
	}
	p11_slot_release(slot);
	return rv;
}
