/* SPDX-License-Identifier: MIT */
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
 * Every call on a session begins here (p11_call_begin: the session, then
 * what the call needs of the token) and ends with p11_call_end.
 *
 * CKA_ID: 9A 01, 9C 02, 9D 03, 9E 04, then the retired slots 82..95 and
 * F9.  Default (ykcs11 style): 05..18 and 19, contiguous.  With
 * USBPIV_COMPAT=opensc (or USBPIV_ID_STYLE=opensc) the retired slots read
 * as OpenSC numbers them, the decimal digits as hex digits: 05..09,
 * 10..24 (and F9 25).
 *
 * CKA_LABEL: ykcs11's ("X.509 Certificate for PIV Authentication",
 * "Public key for ...", "Private key for ...", "... Retired Key 1"), which
 * are also the default; USBPIV_COMPAT=opensc gives OpenSC's PIV
 * emulation's ("Certificate for PIV Authentication", "PIV AUTH pubkey",
 * "PIV AUTH key", "Retired Certificate for Key Management 1", "Retired
 * KEY MAN 1").
 *
 * A certificate in a slot without a key is still a certificate object.
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

static const char *p11_slot_name(int idx, char *buf, size_t cap);

/* OpenSC's names (pkcs15-piv.c) of 9A 9C 9D 9E, in its keys' labels. */
static const char *const p11_osc_keys[4] = { "PIV AUTH", "SIGN", "KEY MAN",
    "CARD AUTH" };

/* The CKA_LABEL of a certificate (P11_OBJ_CERT), public or private key
 * of slot index idx under the USBPIV_COMPAT names. */
static void
p11_key_label(int kind, int idx, char *buf, size_t cap)
{
	char name[48];
	const char *nm = p11_slot_name(idx, name, sizeof(name));
	int retired = idx >= 4 && idx != P11_F9_INDEX;

	if (p11_mod.compat == P11_COMPAT_OPENSC && idx != P11_F9_INDEX) {
		if (kind == P11_OBJ_CERT && retired)
			snprintf(buf, cap,
			    "Retired Certificate for Key Management %d",
			    idx - 3);
		else if (kind == P11_OBJ_CERT)
			snprintf(buf, cap, "Certificate for %s", nm);
		else if (retired)
			snprintf(buf, cap, "Retired KEY MAN %d", idx - 3);
		else
			snprintf(buf, cap, "%s %s", p11_osc_keys[idx],
			    kind == P11_OBJ_PUB ? "pubkey" : "key");
		return;
	}
	snprintf(buf, cap, "%s for %s", kind == P11_OBJ_CERT ?
	    "X.509 Certificate" : kind == P11_OBJ_PUB ? "Public key" :
	    "Private key", nm);
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

/* The PIV algorithm of a key (cards without METADATA, key import). */
uint8_t
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
p11_key_pub_forget(struct p11_key *k)
{
	p11_pubenc_clear(&k->enc);
}

X509 *
p11_key_cert(struct p11_key *k)
{
	const unsigned char *q = k->cert_der;

	if (k->cert == NULL && k->cert_state == P11_CERT_PRESENT &&
	    k->cert_der != NULL)
		k->cert = d2i_X509(NULL, &q, (long)k->cert_der_len);
	return k->cert;
}

CK_RV
p11_key_cert_set(struct p11_key *k, X509 *x)
{
	unsigned char *der = NULL;
	int n;
	CK_RV rv = CKR_OK;

	free(k->cert_der);
	k->cert_der = NULL;
	k->cert_der_len = 0;
	memset(&k->certf, 0, sizeof(k->certf));
	X509_free(k->cert);
	k->cert = NULL;
	k->cert_state = P11_CERT_ABSENT;
	p11_key_pub_forget(k);
	if (x == NULL)
		return CKR_OK;
	if ((n = i2d_X509(x, &der)) <= 0 || der == NULL)
		rv = CKR_HOST_MEMORY;
	else if ((k->cert_der = malloc((size_t)n)) == NULL)
		rv = CKR_HOST_MEMORY;
	else {
		memcpy(k->cert_der, der, (size_t)n);
		k->cert_der_len = (size_t)n;
		if (p11_cert_fields(k->cert_der, k->cert_der_len,
		    &k->certf) != 0) {
			free(k->cert_der);
			k->cert_der = NULL;
			k->cert_der_len = 0;
			rv = CKR_FUNCTION_FAILED;
		}
	}
	OPENSSL_free(der);
	if (rv != CKR_OK) {
		X509_free(x);
		return rv;
	}
	k->cert = x;
	k->cert_state = P11_CERT_PRESENT;
	return CKR_OK;
}

/*
 * The certificate as the card has it, kept as DER: its attributes are
 * pieces of it.  It is decoded (d2i_X509: OpenSSL decodes the key too, a
 * million instructions or more) only when its key is needed as an object,
 * that is when METADATA gave none.
 */
CK_RV
p11_cert_load(struct p11_slot *slot, int idx)
{
	struct p11_key *k = &slot->keys[idx];
	uint8_t *der = NULL;
	size_t len = 0;
	int ms = P11_OP_MS, r;

	if (k->cert_state != P11_CERT_UNKNOWN)
		return CKR_OK;
	r = piv_read_cert_der(slot->card, k->ref, &der, &len, &ms);
	if (r == 0 && p11_cert_fields(der, len, &k->certf) != 0)
		r = PIV_ERR_PROTO;
	if (r == 0) {
		k->cert_der = der;
		k->cert_der_len = len;
		k->cert_state = P11_CERT_PRESENT;
		if (!k->md_real)
			p11_key_pub_forget(k);	/* may come from it */
		if (k->md.pub != NULL || k->md.pub_tpl != NULL ||
		    p11_key_cert(k) != NULL)
			return CKR_OK;
		/* undecodable, and its key is needed: as absent */
		free(k->cert_der);
		k->cert_der = NULL;
		k->cert_der_len = 0;
		memset(&k->certf, 0, sizeof(k->certf));
		k->cert_state = P11_CERT_ABSENT;
		return CKR_OK;
	}
	free(der);
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
 *   9A 9C 9D 9E are always candidates.
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
 *
 * Nothing is read before a search or an operation needs it, and then only
 * for the slots it can match: a template with CKA_ID names one slot, so
 * C_FindObjectsInit(CKO_PRIVATE_KEY, CKA_ID 01) costs one METADATA (9A)
 * and no Key History.  Per candidate slot and card generation:
 *   - its METADATA (is there a key; algorithm, policies, origin and the
 *     public key), once, before any object of the slot is listed: the
 *     card's word on the key, where a certificate may be stale;
 *   - its certificate, once, when a certificate or a key's subject is
 *     asked for and METADATA said there is a key.
 * On cards without METADATA a key is where a certificate is.
 */
static CK_RV p11_data_load(struct p11_slot *slot, size_t i);

/* Retired keys per Key History, read once per card generation, as the
 * data object it also is (so a search for data objects does not read it
 * again). */
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
	if (slot->retired_n > 0) {
		*n = slot->retired_n - 1;
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
	if (slot->data[i].state != P11_CERT_UNKNOWN)
		slot->retired_n = *n + 1;
	return CKR_OK;
}

/* Is index i no candidate: a retired slot beyond the Key History count
 * (the card gone counts as that), or F9 when attestation objects are
 * off? */
static int
p11_retired_skip(struct p11_slot *slot, int i)
{
	int n = 0;

	if (i == P11_F9_INDEX)
		return !p11_mod.attest;
	if (p11_key_refs[i] < 0x82 || p11_key_refs[i] > 0x95)
		return 0;
	if (p11_retired_count(slot, &n) != CKR_OK)
		return 1;
	return p11_key_refs[i] - 0x82 >= n;
}

/*
 * The caches (keys, certificates, data objects) belong to one card
 * generation: another program may have changed the card.  No APDU here;
 * each slot is read when something asks for it (p11_key_probe).
 */
CK_RV
p11_keys_load(struct p11_slot *slot)
{
	uint64_t gen;
	CK_RV rv;
	int i;

	gen = p11_mod.be->generation != NULL ?
	    p11_mod.be->generation(p11_mod.be_ctx, slot->conn) : 0;
	if (slot->keys_loaded && gen == slot->keys_gen)
		return CKR_OK;
	p11_keys_clear(slot);
	slot->keys_gen = gen;
	for (i = 0; i < P11_NKEYS; i++)
		slot->keys[i].ref = p11_key_refs[i];
	slot->keys_loaded = 1;
	/* an operation in flight keeps its key: read that one again */
	for (i = 0; i < P11_MAX_SESSIONS; i++) {
		static const int kops[] = { P11_OP_SIGN, P11_OP_VERIFY,
		    P11_OP_DECRYPT, P11_OP_ENCRYPT };
		struct p11_session *s = slot->sess[i];
		size_t j;

		for (j = 0; s != NULL && j < UTIL_ARRAY_LEN(kops); j++) {
			const struct p11_opstate *op = &s->op[kops[j]];

			if (!op->active || op->keyidx < 0 ||
			    op->keyidx >= P11_NKEYS)
				continue;
			if ((rv = p11_key_probe(slot, op->keyidx)) ==
			    CKR_DEVICE_REMOVED)
				return rv;
		}
	}
	return CKR_OK;
}

/* Cards without METADATA: a key is where a certificate is. */
static CK_RV
p11_key_from_cert(struct p11_slot *slot, int idx)
{
	struct p11_key *k = &slot->keys[idx];
	EVP_PKEY *pk;
	CK_RV rv;

	if ((rv = p11_cert_load(slot, idx)) != CKR_OK)
		return rv;
	if (k->cert_state != P11_CERT_PRESENT || p11_key_cert(k) == NULL ||
	    (pk = X509_get0_pubkey(k->cert)) == NULL ||
	    (k->md.alg = p11_alg_of(pk)) == 0)
		return CKR_OK;
	k->has_key = 1;
	return CKR_OK;
}

CK_RV
p11_key_probe(struct p11_slot *slot, int idx)
{
	struct p11_key *k = &slot->keys[idx];
	struct piv_metadata md;
	int ms = P11_OP_MS, r;
	CK_RV rv;

	if (k->probed || k->md_real)
		return CKR_OK;
	if (!slot->md_none) {
		r = piv_metadata_nokey(slot->card, k->ref, &md, &ms);
		if (r == PIV_ERR_REMOVED)
			return p11_card_rv(slot, r);
		if (r == PIV_ERR_NOT_SUPPORTED && idx < 4) {
			slot->md_none = 1;	/* not a YubiKey 5.3+ */
		} else {
			piv_metadata_clear(&k->md);
			p11_key_pub_forget(k);
			k->has_key = 0;
			k->probed = 1;
			/* the template is checked (and its encodings made)
			 * now: a key whose public half is malformed is as
			 * unknown to this module as an unknown algorithm */
			if (r == 0 && md.pub_tpl != NULL &&
			    p11_pubenc_from_tpl(md.alg, md.pub_tpl,
			    md.pub_tpl_len, &k->enc) != 0) {
				piv_metadata_clear(&md);
				r = PIV_ERR_PROTO;
			}
			if (r == 0) {
				k->md = md;	/* takes it over */
				k->has_key = 1;
				k->md_real = 1;
			} else if (r != PIV_ERR_NOT_FOUND &&
			    (rv = p11_card_rv(slot, r)) == CKR_DEVICE_REMOVED) {
				return rv;
			}
			/* else empty, or unknown to this card (e.g. F9 on
			 * a non-YubiKey) */
			return CKR_OK;
		}
	}
	piv_metadata_clear(&k->md);
	k->has_key = 0;
	if ((rv = p11_key_from_cert(slot, idx)) != CKR_OK)
		return rv;
	k->probed = 1;
	return CKR_OK;
}

/* The public key of slot idx as an OpenSSL key (for software verify and
 * encrypt, PSS): made from METADATA's template on first use, else the
 * certificate's. */
EVP_PKEY *
p11_key_pkey(struct p11_slot *slot, int idx)
{
	struct p11_key *k = &slot->keys[idx];

	if (k->md.pub != NULL || (k->md.pub_tpl != NULL &&
	    piv_metadata_pub(&k->md) == 0))
		return k->md.pub;
	if (k->md.pub_tpl != NULL)
		return NULL;	/* the card's template is bad */
	if (k->cert_state == P11_CERT_UNKNOWN)
		(void)p11_cert_load(slot, idx);
	if (k->cert_state == P11_CERT_PRESENT && p11_key_cert(k) != NULL)
		return X509_get0_pubkey(k->cert);
	return NULL;
}

/* The raw public key of an OpenSSL key (one this module generated or
 * imported in this process: the card's template is not at hand). */
static int
p11_pubenc_from_pkey(uint8_t alg, EVP_PKEY *pk, struct p11_pubenc *out)
{
	uint8_t key[512], e[8];
	size_t n = 0;
	BIGNUM *bn = NULL, *be = NULL;
	int r = -1, nl, el;

	memset(out, 0, sizeof(*out));
	switch (p11_keytype(alg)) {
	case CKK_EC:
		if (!EVP_PKEY_get_octet_string_param(pk,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, key, sizeof(key), &n))
			return -1;
		return p11_pubenc_build(alg, key, n, NULL, 0, out);
	case CKK_EC_EDWARDS:
	case CKK_EC_MONTGOMERY:
		n = sizeof(key);
		if (EVP_PKEY_get_raw_public_key(pk, key, &n) != 1)
			return -1;
		return p11_pubenc_build(alg, key, n, NULL, 0, out);
	case CKK_RSA:
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn) &&
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &be) &&
		    (nl = BN_num_bytes(bn)) > 0 && (size_t)nl <= sizeof(key) &&
		    (el = BN_num_bytes(be)) > 0 && (size_t)el <= sizeof(e) &&
		    BN_bn2bin(bn, key) == nl && BN_bn2bin(be, e) == el)
			r = p11_pubenc_build(alg, key, (size_t)nl, e,
			    (size_t)el, out);
		BN_free(bn);
		BN_free(be);
		return r;
	}
	return -1;
}

/*
 * The public key's attribute values, built once per key and card
 * generation from the bytes the card gave: METADATA's template, else the
 * certificate's SubjectPublicKeyInfo.
 */
static const struct p11_pubenc *
p11_key_enc(struct p11_slot *slot, int idx)
{
	struct p11_key *k = &slot->keys[idx];

	if (k->enc.spki != NULL)
		return &k->enc;
	if (k->md.pub_tpl != NULL) {
		if (p11_pubenc_from_tpl(k->md.alg, k->md.pub_tpl,
		    k->md.pub_tpl_len, &k->enc) == 0)
			return &k->enc;
	} else if (k->md.pub != NULL) {
		if (p11_pubenc_from_pkey(k->md.alg, k->md.pub, &k->enc) == 0)
			return &k->enc;
	} else {
		if (k->cert_state == P11_CERT_UNKNOWN)
			(void)p11_cert_load(slot, idx);
		if (k->cert_state == P11_CERT_PRESENT &&
		    p11_pubenc_from_spki_key(k->md.alg,
		    k->cert_der + k->certf.key_off, k->certf.key_len,
		    &k->enc) == 0)
			return &k->enc;
	}
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
 * USBPIV_COMPAT=opensc: the token label OpenSC's PIV emulation shows, the
 * CN of the first certificate in 9A 9C 9D 9E 82.. (its bytes as the
 * certificate has them), else "PIV_II".  Keys loaded, slot locked.
 */
CK_RV
p11_opensc_label(struct p11_slot *slot, char *buf, size_t cap)
{
	int i, pos;
	CK_RV rv;

	snprintf(buf, cap, "PIV_II");
	for (i = 0; i < P11_NKEYS; i++) {
		struct p11_key *k = &slot->keys[i];
		X509_NAME_ENTRY *e;
		const ASN1_STRING *cn;
		X509 *x;
		size_t n;

		if (i == P11_F9_INDEX || p11_retired_skip(slot, i))
			continue;
		if ((rv = p11_cert_load(slot, i)) != CKR_OK)
			return rv;
		if (k->cert_state != P11_CERT_PRESENT ||
		    (x = p11_key_cert(k)) == NULL)
			continue;
		pos = X509_NAME_get_index_by_NID(X509_get_subject_name(x),
		    NID_commonName, -1);
		if (pos < 0 || (e = X509_NAME_get_entry(
		    X509_get_subject_name(x), pos)) == NULL ||
		    (cn = X509_NAME_ENTRY_get_data(e)) == NULL)
			return CKR_OK;	/* OpenSC stops at the first too */
		n = (size_t)ASN1_STRING_length(cn);
		if (n >= cap)
			n = cap - 1;
		memcpy(buf, ASN1_STRING_get0_data(cn), n);
		buf[n] = '\0';
		return CKR_OK;
	}
	return CKR_OK;
}

/*
 * USBPIV_COMPAT=opensc: the serial OpenSC's PIV driver takes from the
 * CHUID: the FASC-N (25 bytes), unless a non-zero GUID is there and the
 * FASC-N's agency code is 9999 (D4 E7 39 with the next bit set), then
 * the GUID; lower-case hex, its last 16 digits (as OpenSC's PKCS#11
 * layer cuts it); "00000000" without a CHUID that has either.
 */
CK_RV
p11_opensc_serial(struct p11_slot *slot, char *buf, size_t cap)
{
	struct piv_tlv fascn = { 0, 0, NULL }, guid = { 0, 0, NULL };
	const struct p11_data *d;
	const uint8_t *v = NULL;
	char hex[2 * 25 + 1];
	size_t i, n = 0, len;
	int gbits = 0;
	CK_RV rv;

	snprintf(buf, cap, "00000000");
	for (i = 0; i < P11_NDATA; i++)
		if (p11_data_objs[i].tag == PIV_OBJ_CHUID)
			break;
	if (i == P11_NDATA || (rv = p11_data_load(slot, i)) != CKR_OK)
		return i == P11_NDATA ? CKR_OK : rv;
	d = &slot->data[i];
	if (d->state != P11_CERT_PRESENT)
		return CKR_OK;
	(void)piv_tlv_find(d->value, d->len, 0x30, &fascn);
	(void)piv_tlv_find(d->value, d->len, 0x34, &guid);
	if (guid.value != NULL && guid.len == 16)
		for (i = 0; i < 16; i++)
			gbits |= guid.value[i];
	if (fascn.value != NULL && fascn.len == 25 && !(gbits &&
	    fascn.value[0] == 0xd4 && fascn.value[1] == 0xe7 &&
	    fascn.value[2] == 0x39 && (fascn.value[3] | 0x7f) == 0xff)) {
		v = fascn.value;
		n = 25;
	} else if (guid.value != NULL && gbits) {
		v = guid.value;
		n = 16;
	}
	if (v == NULL)
		return CKR_OK;
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", v[i]);
	len = 2 * n;
	snprintf(buf, cap, "%s", hex + (len > 16 ? len - 16 : 0));
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
	struct p11_key *k;

	if (h >> 16 != 0 || slot->keys_loaded == 0)
		return 0;
	if (P11_KIND(h) == P11_OBJ_DATA) {
		if (idx >= P11_NDATA)
			return 0;
		if (p11_data_objs[idx].private_ && !slot->user_in)
			return 0;
		if (p11_data_load(slot, idx) != CKR_OK)
			return 0;
		return slot->data[idx].state == P11_CERT_PRESENT;
	}
	if (idx >= P11_NKEYS)
		return 0;
	k = &slot->keys[idx];
	switch (P11_KIND(h)) {
	case P11_OBJ_CERT:
		if (k->cert_state == P11_CERT_PRESENT)
			return 1;	/* e.g. imported into an empty slot */
		/* a certificate without a key in its slot is still one
		 * (F9's is the attestation key's, listed with it) */
		if (p11_retired_skip(slot, (int)idx) ||
		    p11_key_probe(slot, (int)idx) != CKR_OK ||
		    (idx == P11_F9_INDEX && !k->has_key))
			return 0;
		if (p11_cert_load(slot, (int)idx) != CKR_OK)
			return 0;
		return k->cert_state == P11_CERT_PRESENT;
	case P11_OBJ_PUB:
		if (p11_retired_skip(slot, (int)idx) ||
		    p11_key_probe(slot, (int)idx) != CKR_OK)
			return 0;
		return k->has_key && (p11_key_enc(slot, (int)idx) != NULL ||
		    p11_key_pkey(slot, (int)idx) != NULL);
	case P11_OBJ_PRIV:
		/* private objects: for the user; the SO (management key)
		 * sees them too, so that the handles C_GenerateKeyPair and
		 * C_CreateObject return are usable (nothing secret is
		 * readable through them anyway) */
		if ((!slot->user_in && !slot->so_in) ||
		    p11_retired_skip(slot, (int)idx) ||
		    p11_key_probe(slot, (int)idx) != CKR_OK)
			return 0;
		return k->has_key;
	case P11_OBJ_ATTEST:
		if (idx == P11_F9_INDEX || !p11_mod.attest ||
		    p11_retired_skip(slot, (int)idx) ||
		    p11_key_probe(slot, (int)idx) != CKR_OK ||
		    !k->has_key ||
		    p11_key_probe(slot, P11_F9_INDEX) != CKR_OK)
			return 0;
		return p11_attests(slot, (int)idx);
	}
	return 0;
}

/* ---- attribute values ---------------------------------------------------- */

struct p11_val {
	uint8_t small[32];
	uint8_t *dyn;		/* malloc'd */
	const void *p;
	size_t len;
};

static void
p11_val_clear(struct p11_val *v)
{
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

/* A value that outlives the call (a cache of the slot, locked). */
static CK_RV
p11_val_ref(struct p11_val *v, const void *p, size_t n)
{
	v->p = p;
	v->len = n;
	return CKR_OK;
}

static CK_RV
p11_val_str(struct p11_val *v, const char *s)
{
	return p11_val_bytes(v, s, strlen(s));
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

/* CKA_EC_POINT: a DER OCTET STRING around the encoded point (as in the
 * SubjectPublicKeyInfo: uncompressed for EC, raw for Ed25519/X25519). */
static CK_RV
p11_val_ec_point(struct p11_val *v, const struct p11_pubenc *e)
{
	wbuf_t b;

	if (e->pt_len > 127)
		return CKR_FUNCTION_FAILED;	/* 97 at most (P-384) */
	if ((v->dyn = malloc(e->pt_len + 2)) == NULL)
		return CKR_HOST_MEMORY;
	wbuf_init(&b, v->dyn, e->pt_len + 2);
	if (wbuf_put_tlv(&b, 0x04, e->spki + e->pt_off, e->pt_len) != 0)
		return CKR_FUNCTION_FAILED;
	v->p = v->dyn;
	v->len = b.len;
	return CKR_OK;
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

/* A certificate's attributes: pieces of its DER. */
static CK_RV
p11_attr_cert(const uint8_t *der, size_t len, const struct p11_certf *f,
    uint8_t id, int trusted, struct p11_val *v, CK_ATTRIBUTE_TYPE t)
{
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
		return p11_val_bytes(v, der + f->subject_off, f->subject_len);
	case CKA_ISSUER:
		return p11_val_bytes(v, der + f->issuer_off, f->issuer_len);
	case CKA_SERIAL_NUMBER:
		return p11_val_bytes(v, der + f->serial_off, f->serial_len);
	case CKA_VALUE:
		return p11_val_bytes(v, der, len);
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

/* The same for a decoded certificate (attestations). */
static CK_RV
p11_attr_x509(X509 *x, uint8_t id, struct p11_val *v, CK_ATTRIBUTE_TYPE t)
{
	unsigned char *der = NULL;
	struct p11_certf f;
	int n = i2d_X509(x, &der);
	CK_RV rv;

	if (n <= 0 || der == NULL)
		rv = CKR_FUNCTION_FAILED;
	else if (p11_cert_fields(der, (size_t)n, &f) != 0)
		rv = CKR_FUNCTION_FAILED;
	else
		rv = p11_attr_cert(der, (size_t)n, &f, id, 0, v, t);
	OPENSSL_free(der);
	return rv;
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
	const struct p11_pubenc *e;

	switch (t) {
	case CKA_KEY_TYPE:
		return p11_val_ulong(v, kt);
	case CKA_ID:
		return p11_val_bytes(v, &id, 1);
	case CKA_START_DATE:
	case CKA_END_DATE:
		return p11_val_bytes(v, "", 0);
	case CKA_DERIVE:
		/* both halves of a key-agreement key pair (PKCS#11 §2.3.3;
		 * what pkcs11-tool asks of an EC key pair it generates) */
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
		return p11_val_bytes(v, k->cert_der + k->certf.subject_off,
		    k->certf.subject_len);
	case CKA_PUBLIC_KEY_INFO:
		if ((e = p11_key_enc(slot, idx)) == NULL)
			return p11_val_bytes(v, "", 0);
		return p11_val_ref(v, e->spki, e->spki_len);
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
			if (rsa || (e = p11_key_enc(slot, idx)) == NULL)
				break;
			return p11_val_ec_point(v, e);
		}
	}
	switch (t) {
	case CKA_MODULUS:
	case CKA_PUBLIC_EXPONENT:
		if (!rsa || (e = p11_key_enc(slot, idx)) == NULL)
			break;
		if (t == CKA_MODULUS)
			return p11_val_ref(v, e->spki + e->pt_off, e->pt_len);
		return p11_val_ref(v, e->spki + e->e_off, e->e_len);
	case CKA_MODULUS_BITS:
		if (!rsa || priv || (e = p11_key_enc(slot, idx)) == NULL)
			break;
		return p11_val_ulong(v, e->bits);
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
	char label[96];
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
	switch (kind) {
	case P11_OBJ_CERT:
		p11_key_label(kind, idx, label, sizeof(label));
		if ((rv = p11_attr_common(v, t, CKO_CERTIFICATE, 0, label)) !=
		    CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		return p11_attr_cert(k->cert_der, k->cert_der_len, &k->certf,
		    p11_key_id(idx), 0, v, t);
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
		return p11_attr_x509(k->attest, p11_key_id(idx), v, t);
	case P11_OBJ_PUB:
		p11_key_label(kind, idx, label, sizeof(label));
		if ((rv = p11_attr_common(v, t, CKO_PUBLIC_KEY, 0, label)) !=
		    CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		return p11_attr_key(slot, idx, 0, v, t);
	case P11_OBJ_PRIV:
		p11_key_label(kind, idx, label, sizeof(label));
		if ((rv = p11_attr_common(v, t, CKO_PRIVATE_KEY, 1, label)) !=
		    CKR_ATTRIBUTE_TYPE_INVALID)
			return rv;
		return p11_attr_key(slot, idx, 1, v, t);
	}
	return CKR_ATTRIBUTE_TYPE_INVALID;
}

/* ---- templates given by a client ------------------------------------------ */

const CK_ATTRIBUTE *
p11_find_attr(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	for (i = 0; t != NULL && i < n; i++)
		if (t[i].type == type)
			return &t[i];
	return NULL;
}

/* The value of attribute `type` as an object of size bytes. */
static int
p11_attr_sized(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    void *v, size_t size)
{
	const CK_ATTRIBUTE *a = p11_find_attr(t, n, type);

	if (a == NULL)
		return 0;
	if (a->pValue == NULL || a->ulValueLen != size)
		return -1;
	memcpy(v, a->pValue, size);
	return 1;
}

int
p11_attr_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    CK_ULONG *v)
{
	return p11_attr_sized(t, n, type, v, sizeof(*v));
}

int
p11_attr_byte(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    uint8_t *v)
{
	return p11_attr_sized(t, n, type, v, 1);
}

/* ---- the call prologue ------------------------------------------------------ */

/*
 * What a session call needs, checked on the locked slot: with
 * P11_NEED_TOKEN the token there, the login current and the key slots
 * listed; with P11_NEED_WRITE also a read-write session with the SO
 * logged in.  A token found gone is reported as the call's flags say.
 */
CK_RV
p11_call_check(struct p11_slot *slot, struct p11_session *s, int need)
{
	CK_RV rv;

	if (!(need & (P11_NEED_TOKEN | P11_NEED_WRITE)))
		return CKR_OK;
	if ((rv = p11_token_check(slot)) != CKR_OK &&
	    (need & P11_NEED_WRITE))
		return CKR_SESSION_HANDLE_INVALID;
	if (rv == CKR_OK && (rv = p11_login_check(slot)) == CKR_OK)
		rv = p11_keys_load(slot);
	if (rv == CKR_TOKEN_NOT_PRESENT && (need & P11_GONE_REMOVED))
		return CKR_DEVICE_REMOVED;
	if (rv == CKR_TOKEN_NOT_PRESENT && (need & P11_GONE_INVALID))
		return CKR_SESSION_HANDLE_INVALID;
	if (rv != CKR_OK || !(need & P11_NEED_WRITE))
		return rv;
	if (!(s->flags & CKF_RW_SESSION))
		return CKR_SESSION_READ_ONLY;
	return slot->so_in ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
}

CK_RV
p11_call_begin(CK_SESSION_HANDLE h, int need, struct p11_slot **slot,
    struct p11_session **s)
{
	CK_RV rv;

	if ((rv = p11_session_get(h, slot, s)) != CKR_OK)
		return rv;
	if ((rv = p11_call_check(*slot, *s, need)) != CKR_OK) {
		p11_slot_release(*slot);
		*slot = NULL;
		*s = NULL;
	}
	return rv;
}

void
p11_call_end(struct p11_slot *slot)
{
	p11_slot_release(slot);
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

	if ((rv = p11_call_begin(hSession, P11_CALL_OBJECT,
	    &slot, &s)) != CKR_OK)
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

	if ((rv = p11_call_begin(hSession, P11_CALL_OBJECT,
	    &slot, &s)) != CKR_OK)
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

	if ((rv = p11_call_begin(hSession, P11_CALL_OBJECT,
	    &slot, &s)) != CKR_OK)
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

	if ((rv = p11_call_begin(hSession, P11_CALL_SESSION,
	    &slot, &s)) != CKR_OK)
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

	if ((rv = p11_call_begin(hSession, P11_CALL_SESSION,
	    &slot, &s)) != CKR_OK)
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

CK_RV
p11_secret_attrs(struct p11_session *s, CK_OBJECT_HANDLE h,
    CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	size_t idx = P11_INDEX(h);
	struct p11_secret *sec;
	CK_RV rv = CKR_OK;
	CK_ULONG i;

	if (h >> 16 != 0 || idx >= P11_MAX_SECRETS ||
	    s->secrets[idx].value == NULL)
		return CKR_OBJECT_HANDLE_INVALID;
	sec = &s->secrets[idx];
	for (i = 0; i < n; i++) {
		CK_ULONG ul;
		CK_BBOOL b;
		const void *p = NULL;
		size_t len = 0;

		switch (t[i].type) {
		case CKA_CLASS:
			ul = CKO_SECRET_KEY;
			p = &ul; len = sizeof(ul);
			break;
		case CKA_KEY_TYPE:
			ul = sec->kt;
			p = &ul; len = sizeof(ul);
			break;
		case CKA_VALUE_LEN:
			ul = sec->len;
			p = &ul; len = sizeof(ul);
			break;
		case CKA_VALUE:
			p = sec->value; len = sec->len;
			break;
		case CKA_TOKEN: case CKA_PRIVATE: case CKA_SENSITIVE:
		case CKA_MODIFIABLE: case CKA_ALWAYS_SENSITIVE:
		case CKA_NEVER_EXTRACTABLE: case CKA_LOCAL:
			b = CK_FALSE;
			p = &b; len = sizeof(b);
			break;
		case CKA_EXTRACTABLE: case CKA_DERIVE: case CKA_DESTROYABLE:
			b = CK_TRUE;
			p = &b; len = sizeof(b);
			break;
		}
		if (p == NULL) {
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			if (rv == CKR_OK)
				rv = CKR_ATTRIBUTE_TYPE_INVALID;
		} else if (t[i].pValue == NULL)
			t[i].ulValueLen = len;
		else if (t[i].ulValueLen < len) {
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			if (rv == CKR_OK)
				rv = CKR_BUFFER_TOO_SMALL;
		} else {
			memcpy(t[i].pValue, p, len);
			t[i].ulValueLen = len;
		}
	}
	return rv;
}
