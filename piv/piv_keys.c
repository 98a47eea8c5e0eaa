/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_keys.c — private-key operations (GENERAL AUTHENTICATE),
 * GENERATE ASYMMETRIC KEY PAIR, YubiKey IMPORT / MOVE / DELETE KEY, and
 * public-key templates -> EVP_PKEY (OSSL_PARAM, raw keys for 25519).
 */
#include "piv_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "../util/util.h"

#define GA_RSP_MAX	1024	/* 7C/82 around a 4096-bit signature */

static int
valid_key_slot(uint8_t slot)
{
	return slot == PIV_SLOT_AUTH || slot == PIV_SLOT_SIGN ||
	    slot == PIV_SLOT_KEYMGMT || slot == PIV_SLOT_CARDAUTH ||
	    slot == PIV_SLOT_ATTEST ||
	    (slot >= PIV_SLOT_RETIRED1 && slot <= PIV_SLOT_RETIRED20);
}

size_t
piv_rsa_bytes(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_RSA1024: return 128;
	case PIV_ALG_RSA2048: return 256;
	case PIV_ALG_RSA3072: return 384;
	case PIV_ALG_RSA4096: return 512;
	default: return 0;
	}
}

/* Field bytes of an EC algorithm (incl. the 25519 ones), 0 if not EC. */
static size_t
ec_bytes(uint8_t alg)
{
	switch (alg) {
	case PIV_ALG_ECCP256: return 32;
	case PIV_ALG_ECCP384: return 48;
	case PIV_ALG_ED25519:
	case PIV_ALG_X25519: return 32;
	default: return 0;
	}
}

/* ---- public keys ------------------------------------------------------- */

/*
 * A context to import a key of type `name` ("RSA", "EC") from OSSL_PARAMs.
 * When the host application made an ENGINE the default for that type
 * (openssl -engine pkcs11, i.e. libp11), "RSA"/"EC" yield the engine's
 * legacy method, which cannot import; the OID `oid`, an alias of the
 * provider's key manager that maps to no legacy NID, bypasses engine
 * selection.  The OID is only the fallback: used first, it upsets later
 * fetches of the plain name in the same process (seen with pkcs11-tool).
 */
EVP_PKEY_CTX *
piv_fromdata_ctx(const char *name, const char *oid)
{
	EVP_PKEY_CTX *ctx;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) > 0)
		return ctx;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, oid, NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) > 0)
		return ctx;
	EVP_PKEY_CTX_free(ctx);
	return NULL;
}
#define PIV_KT_RSA	"RSA", "1.2.840.113549.1.1.1"
#define PIV_KT_EC	"EC", "1.2.840.10045.2.1"

static int
rsa_pub(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
    EVP_PKEY **pub)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	int r = PIV_ERR_CRYPTO;

	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = piv_fromdata_ctx(PIV_KT_RSA)) == NULL ||
	    EVP_PKEY_fromdata(ctx, pub, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return r;
}

static int
ec_pub(const char *group, const uint8_t *pt, size_t len, EVP_PKEY **pub)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	int r = PIV_ERR_CRYPTO;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)(uintptr_t)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pt, len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = piv_fromdata_ctx(PIV_KT_EC)) == NULL ||
	    EVP_PKEY_fromdata(ctx, pub, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int
pubkey_from_body(uint8_t alg, const uint8_t *buf, size_t len,
    EVP_PKEY **pub)
{
	struct piv_tlv n, e, pt;
	size_t mb, fb;
	int r;

	if (pub == NULL)
		return PIV_ERR_ARG;
	*pub = NULL;
	if (buf == NULL && len > 0)
		return PIV_ERR_ARG;
	if ((mb = piv_rsa_bytes(alg)) != 0) {
		if (piv_tlv_find(buf, len, 0x81, &n) != 0 ||
		    piv_tlv_find(buf, len, 0x82, &e) != 0)
			return PIV_ERR_PROTO;
		/* a leading zero octet is tolerated, a short modulus is not */
		if (n.len == mb + 1 && n.value[0] == 0) {
			n.value++;
			n.len--;
		}
		if (n.len != mb || (n.value[0] & 0x80) == 0)
			return PIV_ERR_PROTO;
		if (e.len == 0 || e.len > 8 || (e.value[e.len - 1] & 1) == 0)
			return PIV_ERR_PROTO;
		return rsa_pub(n.value, n.len, e.value, e.len, pub);
	}
	if ((fb = ec_bytes(alg)) == 0)
		return PIV_ERR_ARG;
	if (piv_tlv_find(buf, len, 0x86, &pt) != 0)
		return PIV_ERR_PROTO;
	switch (alg) {
	case PIV_ALG_ED25519:
	case PIV_ALG_X25519:
		if (pt.len != 32)
			return PIV_ERR_PROTO;
		*pub = EVP_PKEY_new_raw_public_key_ex(NULL,
		    alg == PIV_ALG_ED25519 ? "ED25519" : "X25519", NULL,
		    pt.value, pt.len);
		return *pub != NULL ? 0 : PIV_ERR_CRYPTO;
	default:
		if (pt.len != 1 + 2 * fb || pt.value[0] != 0x04)
			return PIV_ERR_PROTO;
		r = ec_pub(alg == PIV_ALG_ECCP256 ? "prime256v1" : "secp384r1",
		    pt.value, pt.len, pub);
		/* a point off the curve is the card's fault */
		return r == PIV_ERR_CRYPTO ? PIV_ERR_PROTO : r;
	}
}

/*
 * OpenSSL may queue errors even when an import succeeds (the legacy
 * lookups it tries first): they are ours, and a host application that
 * checks its error queue after its own OpenSSL calls must not find them.
 */
int
piv_pubkey_from_body(uint8_t alg, const uint8_t *buf, size_t len,
    EVP_PKEY **pub)
{
	int r;

	ERR_set_mark();
	r = pubkey_from_body(alg, buf, len, pub);
	ERR_pop_to_mark();
	return r;
}

int
piv_parse_pubkey(uint8_t alg, const uint8_t *buf, size_t len, EVP_PKEY **pub)
{
	const uint8_t *p = buf;
	size_t left = len;
	struct piv_tlv t;

	if (pub == NULL)
		return PIV_ERR_ARG;
	*pub = NULL;
	if (buf == NULL)
		return PIV_ERR_ARG;
	if (piv_rsa_bytes(alg) == 0 && ec_bytes(alg) == 0)
		return PIV_ERR_ARG;
	if (piv_tlv_next(&p, &left, &t) != 0 || t.tag != 0x7f49)
		return PIV_ERR_PROTO;
	return piv_pubkey_from_body(alg, t.value, t.len, pub);
}

/* ---- GENERAL AUTHENTICATE ---------------------------------------------- */

/* 7C { 82 00, tag in } -> 7C { 82 out } */
static int
gen_auth(piv_card_t *p, uint8_t slot, uint8_t alg, uint8_t tag,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_GENERAL_AUTH };
	uint8_t *req = NULL, *rsp = NULL;
	size_t reqcap, n, body, rn = 0;
	struct piv_tlv t, u;
	wbuf_t b;
	int r;

	/* 7C L { 82 00  tag L in } */
	body = 2 + 1 + wbuf_len_size(inlen) + inlen;
	reqcap = 1 + 4 + body;
	if ((req = malloc(reqcap)) == NULL ||
	    (rsp = malloc(GA_RSP_MAX)) == NULL) {
		r = PIV_ERR_NOMEM;
		goto out;
	}
	wbuf_init(&b, req, reqcap);
	wbuf_put_u8(&b, 0x7c);
	wbuf_put_len(&b, body);
	wbuf_put_tlv(&b, 0x82, NULL, 0);
	wbuf_put_tlv(&b, tag, in, inlen);
	if (wbuf_check(&b) != 0) {
		r = PIV_ERR_ARG;
		goto out;
	}
	n = b.len;
	c.p1 = alg;
	c.p2 = slot;
	c.data = req;
	c.len = n;
	r = piv_call(p, &c, rsp, GA_RSP_MAX, &rn, ms);
	if (r != 0)
		goto out;
	if (piv_tlv_find(rsp, rn, 0x7c, &t) != 0 ||
	    piv_tlv_find(t.value, t.len, 0x82, &u) != 0 || u.len == 0) {
		r = PIV_ERR_PROTO;
		goto out;
	}
	if (u.len > cap) {
		r = PIV_ERR_BUFFER;
		goto out;
	}
	memcpy(out, u.value, u.len);
	*outlen = u.len;
out:
	util_freezero(req, reqcap);
	util_freezero(rsp, GA_RSP_MAX);
	return r;
}

int
piv_sign(piv_card_t *p, uint8_t slot, uint8_t alg, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap, size_t *outlen, int *ms)
{
	uint8_t h[48];
	size_t fb;

	if (outlen != NULL)
		*outlen = 0;
	if (p == NULL || in == NULL || out == NULL || outlen == NULL ||
	    !valid_key_slot(slot) || inlen == 0)
		return PIV_ERR_ARG;
	if (piv_rsa_bytes(alg) != 0) {
		if (inlen != piv_rsa_bytes(alg))
			return PIV_ERR_ARG;
	} else if (alg == PIV_ALG_ECCP256 || alg == PIV_ALG_ECCP384) {
		/* the hash, truncated (leftmost bytes) or zero-padded */
		fb = ec_bytes(alg);
		memset(h, 0, sizeof(h));
		if (inlen >= fb)
			memcpy(h, in, fb);
		else
			memcpy(h + fb - inlen, in, inlen);
		return gen_auth(p, slot, alg, 0x81, h, fb, out, cap, outlen,
		    ms);
	} else if (alg == PIV_ALG_ED25519) {
		if (inlen > 4096)
			return PIV_ERR_ARG;
	} else
		return PIV_ERR_ARG;
	return gen_auth(p, slot, alg, 0x81, in, inlen, out, cap, outlen, ms);
}

int
piv_decipher(piv_card_t *p, uint8_t slot, uint8_t alg, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap, size_t *outlen, int *ms)
{
	if (outlen != NULL)
		*outlen = 0;
	if (p == NULL || in == NULL || out == NULL || outlen == NULL ||
	    !valid_key_slot(slot) || piv_rsa_bytes(alg) == 0 ||
	    inlen != piv_rsa_bytes(alg))
		return PIV_ERR_ARG;
	return gen_auth(p, slot, alg, 0x81, in, inlen, out, cap, outlen, ms);
}

int
piv_ecdh(piv_card_t *p, uint8_t slot, uint8_t alg, const uint8_t *peer,
    size_t peerlen, uint8_t *out, size_t cap, size_t *outlen, int *ms)
{
	size_t fb;

	if (outlen != NULL)
		*outlen = 0;
	if (p == NULL || peer == NULL || out == NULL || outlen == NULL ||
	    !valid_key_slot(slot))
		return PIV_ERR_ARG;
	if (alg == PIV_ALG_X25519) {
		if (peerlen != 32)
			return PIV_ERR_ARG;
	} else if (alg == PIV_ALG_ECCP256 || alg == PIV_ALG_ECCP384) {
		fb = ec_bytes(alg);
		if (peerlen != 1 + 2 * fb || peer[0] != 0x04)
			return PIV_ERR_ARG;
	} else
		return PIV_ERR_ARG;
	return gen_auth(p, slot, alg, 0x85, peer, peerlen, out, cap, outlen,
	    ms);
}

/* ---- key management ---------------------------------------------------- */

static int
valid_policies(uint8_t pin_policy, uint8_t touch_policy)
{
	return pin_policy <= PIV_PINPOLICY_ALWAYS &&
	    touch_policy <= PIV_TOUCHPOLICY_CACHED;
}

/* AA 01 pin  AB 01 touch, each only when not the default */
static void
put_policies(wbuf_t *b, uint8_t pin_policy, uint8_t touch_policy)
{
	if (pin_policy != PIV_PINPOLICY_DEFAULT)
		wbuf_put_tlv(b, 0xaa, &pin_policy, 1);
	if (touch_policy != PIV_TOUCHPOLICY_DEFAULT)
		wbuf_put_tlv(b, 0xab, &touch_policy, 1);
}

int
piv_generate(piv_card_t *p, uint8_t slot, uint8_t alg, uint8_t pin_policy,
    uint8_t touch_policy, EVP_PKEY **pub, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_GENERATE };
	uint8_t req[2 + 3 + 6], *rsp = NULL, *len;
	size_t rn = 0;
	wbuf_t b;
	int r;

	if (pub != NULL)
		*pub = NULL;
	if (p == NULL || pub == NULL || !valid_key_slot(slot) ||
	    (piv_rsa_bytes(alg) == 0 && ec_bytes(alg) == 0) ||
	    !valid_policies(pin_policy, touch_policy))
		return PIV_ERR_ARG;
	/* AC L { 80 01 alg, policies }: L once the rest is written */
	wbuf_init(&b, req, sizeof(req));
	wbuf_put_u8(&b, 0xac);
	wbuf_reserve(&b, 1, &len);
	wbuf_put_tlv(&b, 0x80, &alg, 1);
	put_policies(&b, pin_policy, touch_policy);
	if (wbuf_check(&b) != 0)
		return PIV_ERR_ARG;
	*len = (uint8_t)(b.len - 2);
	c.p2 = slot;
	c.data = req;
	c.len = b.len;
	if ((rsp = malloc(GA_RSP_MAX)) == NULL)
		return PIV_ERR_NOMEM;
	r = piv_call(p, &c, rsp, GA_RSP_MAX, &rn, ms);
	if (r != 0)
		goto out;
	r = piv_parse_pubkey(alg, rsp, rn, pub);
out:
	free(rsp);
	return r;
}

/* Appends tag len BN (left-padded to w bytes). */
static int
put_bn(wbuf_t *b, uint8_t tag, const BIGNUM *bn, size_t w)
{
	uint8_t *v;

	if ((size_t)BN_num_bytes(bn) > w)
		return PIV_ERR_ARG;
	wbuf_put_tag(b, tag);
	wbuf_put_len(b, w);
	if (wbuf_reserve(b, w, &v) != 0)
		return PIV_ERR_ARG;
	if (BN_bn2binpad(bn, v, (int)w) != (int)w)
		return PIV_ERR_CRYPTO;
	return 0;
}

/* Private key -> IMPORT KEY body; *alg chosen from the key. */
static int
import_body(const EVP_PKEY *key, wbuf_t *b, uint8_t *alg)
{
	static const char *const rsa_names[5] = {
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM *bn = NULL;
	char group[32];
	size_t i, w, rawlen;
	uint8_t *v;
	int r = PIV_ERR_ARG, bits;

	bits = EVP_PKEY_get_bits(key);
	if (EVP_PKEY_is_a(key, "RSA")) {
		switch (bits) {
		case 1024: *alg = PIV_ALG_RSA1024; break;
		case 2048: *alg = PIV_ALG_RSA2048; break;
		case 3072: *alg = PIV_ALG_RSA3072; break;
		case 4096: *alg = PIV_ALG_RSA4096; break;
		default: return PIV_ERR_ARG;
		}
		w = piv_rsa_bytes(*alg) / 2;
		for (i = 0; i < 5; i++) {
			if (!EVP_PKEY_get_bn_param(key, rsa_names[i], &bn)) {
				r = PIV_ERR_ARG;	/* no CRT parts */
				goto out;
			}
			if ((r = put_bn(b, (uint8_t)(i + 1), bn, w)) != 0)
				goto out;
			BN_clear_free(bn);
			bn = NULL;
		}
		r = 0;
	} else if (EVP_PKEY_is_a(key, "EC")) {
		if (!EVP_PKEY_get_utf8_string_param(key,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL))
			return PIV_ERR_ARG;
		if (strcmp(group, "prime256v1") == 0)
			*alg = PIV_ALG_ECCP256;
		else if (strcmp(group, "secp384r1") == 0)
			*alg = PIV_ALG_ECCP384;
		else
			return PIV_ERR_ARG;
		if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY,
		    &bn))
			return PIV_ERR_ARG;
		r = put_bn(b, 0x06, bn, ec_bytes(*alg));
	} else if (EVP_PKEY_is_a(key, "ED25519") ||
	    EVP_PKEY_is_a(key, "X25519")) {
		*alg = EVP_PKEY_is_a(key, "ED25519") ? PIV_ALG_ED25519 :
		    PIV_ALG_X25519;
		rawlen = 32;
		wbuf_put_tag(b, *alg == PIV_ALG_ED25519 ? 0x07 : 0x08);
		wbuf_put_len(b, rawlen);
		if (wbuf_reserve(b, rawlen, &v) == 0 &&
		    EVP_PKEY_get_raw_private_key(key, v, &rawlen) &&
		    rawlen == 32)
			r = 0;
	}
out:
	BN_clear_free(bn);
	return r;
}

int
piv_import_key(piv_card_t *p, uint8_t slot, const EVP_PKEY *key,
    uint8_t pin_policy, uint8_t touch_policy, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_YK_IMPORT_KEY,
	    .secret = 1 };
	uint8_t *buf = NULL, alg = 0;
	size_t cap = 5 * (4 + 256) + 8;
	wbuf_t b;
	int r;

	if (p == NULL || key == NULL || !valid_key_slot(slot) ||
	    !valid_policies(pin_policy, touch_policy))
		return PIV_ERR_ARG;
	if ((buf = malloc(cap)) == NULL)
		return PIV_ERR_NOMEM;
	wbuf_init(&b, buf, cap);
	if ((r = import_body(key, &b, &alg)) != 0)
		goto out;
	put_policies(&b, pin_policy, touch_policy);
	if (wbuf_check(&b) != 0) {
		r = PIV_ERR_ARG;
		goto out;
	}
	c.p1 = alg;
	c.p2 = slot;
	c.data = buf;
	c.len = b.len;
	r = piv_call(p, &c, NULL, 0, NULL, ms);
out:
	util_freezero(buf, cap);
	return r;
}

static int
simple(piv_card_t *p, uint8_t ins, uint8_t p1, uint8_t p2, int *ms)
{
	struct piv_cmd c = { .cla = PIV_CLA, .ins = ins, .p1 = p1, .p2 = p2 };

	return piv_call(p, &c, NULL, 0, NULL, ms);
}

int
piv_move_key(piv_card_t *p, uint8_t from, uint8_t to, int *ms)
{
	if (p == NULL || !valid_key_slot(from) || !valid_key_slot(to) ||
	    from == PIV_SLOT_ATTEST || to == PIV_SLOT_ATTEST || from == to)
		return PIV_ERR_ARG;
	return simple(p, PIV_INS_YK_MOVE_KEY, to, from, ms);
}

int
piv_delete_key(piv_card_t *p, uint8_t slot, int *ms)
{
	if (p == NULL || !valid_key_slot(slot) || slot == PIV_SLOT_ATTEST)
		return PIV_ERR_ARG;
	return simple(p, PIV_INS_YK_MOVE_KEY, 0xff, slot, ms);
}

int
piv_simple_cmd(piv_card_t *p, uint8_t ins, uint8_t p1, uint8_t p2, int *ms)
{
	return simple(p, ins, p1, p2, ms);
}
