/* SPDX-License-Identifier: MIT */
/*
 * tests/test_vcard_keys.c — the software card's key operations checked
 * with real cryptography on the host side: signatures verified with
 * OpenSSL against the returned public key, decipher round trips, ECDH
 * against a host key, attestation certificates against the f9
 * certificate; PIN and touch policies, METADATA, IMPORT, MOVE, SET PIN
 * RETRIES, RESET, persistence and the VTOKEN_LOG redaction.
 */
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../util/util.h"
#include "lib/vcard_apdu.h"

#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

/* ---- host-side helpers ------------------------------------------------------ */

/* One TLV (1-2 byte tag, 1-3 byte length) from p; returns value pointer. */
static const uint8_t *
tlv(const uint8_t *p, size_t n, unsigned tag, size_t *len)
{
	size_t off = 0, l, tl;
	unsigned t;

	while (off < n) {
		t = p[off++];
		if ((t & 0x1f) == 0x1f && off < n)
			t = t << 8 | p[off++];
		assert_true(off < n);
		l = p[off++];
		if (l == 0x81) {
			assert_true(off < n);
			l = p[off++];
		} else if (l == 0x82) {
			assert_true(off + 1 < n);
			l = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
		}
		assert_true(l <= n - off);
		tl = l;
		if (t == tag) {
			*len = tl;
			return p + off;
		}
		off += tl;
	}
	fail_msg("tag %x not found", tag);
	return NULL;
}

static size_t
put_tl(uint8_t *p, unsigned tag, size_t len)
{
	size_t n = 0;

	if (tag > 0xff)
		p[n++] = (uint8_t)(tag >> 8);
	p[n++] = (uint8_t)tag;
	if (len < 0x80)
		p[n++] = (uint8_t)len;
	else if (len < 0x100) {
		p[n++] = 0x81;
		p[n++] = (uint8_t)len;
	} else {
		p[n++] = 0x82;
		p[n++] = (uint8_t)(len >> 8);
		p[n++] = (uint8_t)len;
	}
	return n;
}

static int
is_rsa(uint8_t alg)
{
	return alg == 0x06 || alg == 0x07 || alg == 0x05 || alg == 0x16;
}

/* The public key from the inside of a 7F49 template. */
static EVP_PKEY *
pub_from(uint8_t alg, const uint8_t *p, size_t n)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	const uint8_t *v;
	size_t len;

	assert_non_null(bld);
	if (is_rsa(alg)) {
		v = tlv(p, n, 0x81, &len);
		bn_n = BN_bin2bn(v, (int)len, NULL);
		v = tlv(p, n, 0x82, &len);
		bn_e = BN_bin2bn(v, (int)len, NULL);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld,
		    OSSL_PKEY_PARAM_RSA_N, bn_n), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld,
		    OSSL_PKEY_PARAM_RSA_E, bn_e), 1);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else if (alg == 0x11 || alg == 0x14) {
		v = tlv(p, n, 0x86, &len);
		assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, alg == 0x11 ? "P-256" : "P-384",
		    0), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, v, len), 1);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	} else {
		v = tlv(p, n, 0x86, &len);
		assert_int_equal(len, 32);
		k = EVP_PKEY_new_raw_public_key(alg == 0xe0 ? EVP_PKEY_ED25519 :
		    EVP_PKEY_X25519, NULL, v, len);
		assert_non_null(k);
		OSSL_PARAM_BLD_free(bld);
		return k;
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY,
	    params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return k;
}

/* GENERATE with optional policies (0: not sent); returns the SW, and
 * the public key on success. */
static int
gen(vcard_t *c, uint8_t slot, uint8_t alg, uint8_t pin, uint8_t touch,
    EVP_PKEY **pub)
{
	uint8_t d[16], out[1024];
	const uint8_t *v;
	size_t n = 0, len;
	int sw;

	*pub = NULL;
	d[n++] = 0xac;
	d[n++] = (uint8_t)(3 + (pin ? 3 : 0) + (touch ? 3 : 0));
	d[n++] = 0x80;
	d[n++] = 0x01;
	d[n++] = alg;
	if (pin) {
		d[n++] = 0xaa;
		d[n++] = 0x01;
		d[n++] = pin;
	}
	if (touch) {
		d[n++] = 0xab;
		d[n++] = 0x01;
		d[n++] = touch;
	}
	sw = tv_cmd(c, 0x47, 0x00, slot, d, n, out, sizeof(out), &n);
	if (sw != 0x9000)
		return sw;
	v = tlv(out, n, 0x7f49, &len);
	*pub = pub_from(alg, v, len);
	return sw;
}

/* GENERAL AUTHENTICATE 7C { 82 00, tag data }; result in out. */
static int
gauth(vcard_t *c, uint8_t alg, uint8_t slot, unsigned tag,
    const uint8_t *in, size_t n, uint8_t *out, size_t *outlen)
{
	uint8_t d[1100], rsp[1100];
	const uint8_t *v;
	size_t inner = 2 + (n < 0x80 ? 2u : n < 0x100 ? 3u : 4u) + n, off, rlen;
	int sw;

	*outlen = 0;
	off = put_tl(d, 0x7c, inner);
	d[off++] = 0x82;
	d[off++] = 0x00;
	off += put_tl(d + off, tag, n);
	memcpy(d + off, in, n);
	off += n;
	sw = tv_cmd(c, 0x87, alg, slot, d, off, rsp, sizeof(rsp), &rlen);
	if (sw != 0x9000)
		return sw;
	v = tlv(rsp, rlen, 0x7c, &rlen);
	v = tlv(v, rlen, 0x82, outlen);
	memcpy(out, v, *outlen);
	return sw;
}

static int
sign(vcard_t *c, uint8_t alg, uint8_t slot, const uint8_t *in, size_t n,
    uint8_t *out, size_t *outlen)
{
	return gauth(c, alg, slot, 0x81, in, n, out, outlen);
}

/* PKCS#1 v1.5 block of a SHA-256 digest, built by hand (the card only
 * does the raw operation). */
static void
pkcs1_block(const uint8_t *hash, uint8_t *blk, size_t klen)
{
	static const uint8_t prefix[] = {
		0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
	};
	size_t ps = klen - 3 - sizeof(prefix) - 32;

	blk[0] = 0x00;
	blk[1] = 0x01;
	memset(blk + 2, 0xff, ps);
	blk[2 + ps] = 0x00;
	memcpy(blk + 3 + ps, prefix, sizeof(prefix));
	memcpy(blk + 3 + ps + sizeof(prefix), hash, 32);
}

/* Signs with the card and verifies on the host. */
static void
check_sign(vcard_t *c, uint8_t alg, uint8_t slot, EVP_PKEY *pub)
{
	uint8_t msg[] = "the quick brown fox", hash[64], blk[512], sig[512];
	size_t siglen, klen, hlen = alg == 0x14 ? 48 : 32;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;

	if (is_rsa(alg)) {
		klen = (size_t)EVP_PKEY_get_size(pub);
		assert_int_equal(EVP_Digest(msg, sizeof(msg), hash, NULL,
		    EVP_sha256(), NULL), 1);
		pkcs1_block(hash, blk, klen);
		assert_int_equal(sign(c, alg, slot, blk, klen, sig, &siglen),
		    0x9000);
		assert_int_equal(siglen, klen);
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
		assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx,
		    EVP_sha256()), 1);
		assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, hash, 32), 1);
		/* a block of the wrong size, and one >= the modulus */
		assert_int_equal(sign(c, alg, slot, blk, klen - 1, sig,
		    &siglen), 0x6a80);
		memset(blk, 0xff, klen);
		assert_int_equal(sign(c, alg, slot, blk, klen, sig, &siglen),
		    0x6a80);
	} else if (alg == 0x11 || alg == 0x14) {
		assert_int_equal(EVP_Digest(msg, sizeof(msg), hash, NULL,
		    alg == 0x11 ? EVP_sha256() : EVP_sha384(), NULL), 1);
		assert_int_equal(sign(c, alg, slot, hash, hlen, sig, &siglen),
		    0x9000);
		assert_int_equal(sig[0], 0x30);
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
		assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
		assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, hash, hlen),
		    1);
		hash[0] ^= 1;
		assert_int_not_equal(EVP_PKEY_verify(ctx, sig, siglen, hash,
		    hlen), 1);
		assert_int_equal(sign(c, alg, slot, hash, hlen + 1, sig,
		    &siglen), 0x6a80);
		assert_int_equal(sign(c, alg, slot, hash, 0, sig, &siglen),
		    0x6a80);
		/* a shorter hash (SHA-1 size) is taken as left-padded */
		assert_int_equal(sign(c, alg, slot, hash, 20, sig, &siglen),
		    0x9000);
		assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, hash, 20),
		    1);
	} else {
		assert_int_equal(sign(c, alg, slot, msg, sizeof(msg), sig,
		    &siglen), 0x9000);
		assert_int_equal(siglen, 64);
		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL,
		    NULL, pub, NULL), 1);
		assert_int_equal(EVP_DigestVerify(md, sig, siglen, msg,
		    sizeof(msg)), 1);
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_CTX_free(md);
}

/* RSA decipher: host encrypts with PKCS#1, the card returns the raw
 * block, which ends in the message. */
static void
check_decipher(vcard_t *c, uint8_t alg, uint8_t slot, EVP_PKEY *pub)
{
	static const uint8_t msg[] = "session key 0123456789abcdef";
	uint8_t ct[512], pt[512];
	size_t ctlen = sizeof(ct), ptlen;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);

	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING),
	    1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ctlen, msg, sizeof(msg)),
	    1);
	assert_int_equal(sign(c, alg, slot, ct, ctlen, pt, &ptlen), 0x9000);
	assert_int_equal(ptlen, ctlen);
	assert_int_equal(pt[0], 0x00);
	assert_int_equal(pt[1], 0x02);
	assert_int_equal(pt[ptlen - sizeof(msg) - 1], 0x00);
	assert_memory_equal(pt + ptlen - sizeof(msg), msg, sizeof(msg));
	EVP_PKEY_CTX_free(ctx);
}

/* ECDH: the card's answer equals what the host derives. */
static void
check_ecdh(vcard_t *c, uint8_t alg, uint8_t slot, EVP_PKEY *pub)
{
	EVP_PKEY *host;
	EVP_PKEY_CTX *ctx;
	uint8_t pt[133], z[64], zc[64];
	size_t ptlen = sizeof(pt), zlen = sizeof(z), zclen;

	if (alg == 0xe1) {
		host = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		assert_int_equal(EVP_PKEY_get_raw_public_key(host, pt, &ptlen),
		    1);
	} else {
		host = EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg == 0x11 ?
		    "P-256" : "P-384");
		assert_int_equal(EVP_PKEY_get_octet_string_param(host,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
		    &ptlen), 1);
	}
	assert_non_null(host);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, host, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, pub), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, z, &zlen), 1);
	assert_int_equal(gauth(c, alg, slot, 0x85, pt, ptlen, zc, &zclen),
	    0x9000);
	assert_int_equal(zclen, zlen);
	assert_memory_equal(z, zc, zlen);
	/* a point of the wrong length, a point not on the curve */
	assert_int_equal(gauth(c, alg, slot, 0x85, pt, ptlen - 1, zc, &zclen),
	    0x6a80);
	if (alg != 0xe1) {
		pt[ptlen - 1] ^= 1;
		assert_int_equal(gauth(c, alg, slot, 0x85, pt, ptlen, zc,
		    &zclen), 0x6a80);
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(host);
}

/* ---- generation and use ---------------------------------------------------- */

static void
test_generate_errors(void **state)
{
	vcard_t *c = tv_card();
	EVP_PKEY *pub;
	uint8_t out[64];
	size_t n;

	(void)state;
	assert_int_equal(gen(c, 0x9a, 0x11, 0, 0, &pub), 0x6982);
	assert_int_equal(tv_auth(c), 0x9000);
	/* bad slot (9B is the management key), bad P1 */
	assert_int_equal(gen(c, 0x9b, 0x11, 0, 0, &pub), 0x6a86);
	assert_int_equal(gen(c, 0x81, 0x11, 0, 0, &pub), 0x6a86);
	assert_int_equal(tv_hex(c, "0047019A05AC0380011100", out, sizeof(out),
	    &n), 0x6a86);
	/* unknown algorithm, bad policies, bad template */
	assert_int_equal(gen(c, 0x9a, 0x12, 0, 0, &pub), 0x6a80);
	assert_int_equal(gen(c, 0x9a, 0x03, 0, 0, &pub), 0x6a80);
	assert_int_equal(gen(c, 0x9a, 0x11, 0x07, 0, &pub), 0x6a80);
	assert_int_equal(gen(c, 0x9a, 0x11, 0, 0x09, &pub), 0x6a80);
	assert_int_equal(tv_hex(c, "0047009A05AD0380011100", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0047009A05AC0381011100", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0047009A05AC0480011100", out, sizeof(out),
	    &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0047009A02AC0000", out, sizeof(out), &n),
	    0x6a80);
	/* signing with an empty slot or the wrong algorithm */
	assert_int_equal(tv_hex(c, "0087119A087C06820081020102" "00", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(gen(c, 0x9a, 0x11, 0x01, 0, &pub), 0x9000);
	EVP_PKEY_free(pub);
	pub = NULL;
	assert_int_equal(tv_hex(c, "0087149A087C06820081020102" "00", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0087119B087C06820081020102" "00", out,
	    sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "008711AA087C06820081020102" "00", out,
	    sizeof(out), &n), 0x6a86);
	/* template: needs 82 00 and exactly one of 81 / 85 */
	assert_int_equal(tv_hex(c, "0087119A067C0481020102" "00", out,
	    sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0087119A0A7C0882008102010285" "00" "00",
	    out, sizeof(out), &n), 0x6a80);
	assert_int_equal(tv_hex(c, "0087119A077C05820081020102" "00", out,
	    sizeof(out), &n), 0x6700);
	assert_int_equal(tv_hex(c, "0087119A087C06820181020102" "00", out,
	    sizeof(out), &n), 0x6a80);
	/* Ed25519 and RSA-4096 are 5.7 features */
	vcard_free(&c);
	{
		struct vcard_opts o;

		memset(&o, 0, sizeof(o));
		o.version[0] = 5;
		o.version[1] = 4;
		o.version[2] = 3;
		c = tv_card_opts(&o);
		assert_int_equal(tv_auth(c), 0x9000);
		assert_int_equal(gen(c, 0x9a, 0xe0, 0, 0, &pub), 0x6a80);
		assert_int_equal(gen(c, 0x9a, 0x16, 0, 0, &pub), 0x6a80);
		vcard_free(&c);
	}
	EVP_PKEY_free(pub);
}

static void
test_sign_all_algs(void **state)
{
	static const uint8_t algs[] = { 0x06, 0x07, 0x05, 0x16, 0x11, 0x14,
	    0xe0 };
	vcard_t *c = tv_card();
	EVP_PKEY *pub;
	size_t i;

	(void)state;
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	for (i = 0; i < sizeof(algs); i++) {
		/* 9E: PIN never, so no VERIFY in between */
		assert_int_equal(gen(c, 0x9e, algs[i], 0, 0, &pub), 0x9000);
		check_sign(c, algs[i], 0x9e, pub);
		if (is_rsa(algs[i]) && algs[i] != 0x16)
			check_decipher(c, algs[i], 0x9e, pub);
		EVP_PKEY_free(pub);
	}
	vcard_free(&c);
}

static void
test_ecdh(void **state)
{
	static const uint8_t algs[] = { 0x11, 0x14, 0xe1 };
	vcard_t *c = tv_card();
	EVP_PKEY *pub;
	uint8_t out[64];
	size_t i, n;

	(void)state;
	memset(out, 0x09, sizeof(out));
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	for (i = 0; i < sizeof(algs); i++) {
		assert_int_equal(gen(c, 0x9d, algs[i], 0, 0, &pub), 0x9000);
		check_ecdh(c, algs[i], 0x9d, pub);
		EVP_PKEY_free(pub);
	}
	/* X25519 cannot sign; Ed25519 cannot agree */
	assert_int_equal(sign(c, 0xe1, 0x9d, (const uint8_t *)"x", 1, out, &n),
	    0x6a80);
	assert_int_equal(gen(c, 0x9d, 0xe0, 0, 0, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(gauth(c, 0xe0, 0x9d, 0x85, out, 32, out, &n), 0x6a80);
	vcard_free(&c);
}

static void
test_pin_policies(void **state)
{
	vcard_t *c = tv_card();
	EVP_PKEY *pub;
	uint8_t h[32] = { 1 }, sig[128];
	size_t n;

	(void)state;
	assert_int_equal(tv_auth(c), 0x9000);
	/* 9C defaults to ALWAYS */
	assert_int_equal(gen(c, 0x9c, 0x11, 0, 0, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(sign(c, 0x11, 0x9c, h, 32, sig, &n), 0x6982);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9c, h, 32, sig, &n), 0x9000);
	/* the VERIFY was consumed */
	assert_int_equal(sign(c, 0x11, 0x9c, h, 32, sig, &n), 0x6982);
	/* an empty VERIFY (status) does not count as one */
	assert_int_equal(tv_hex(c, "00200080", sig, sizeof(sig), &n), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9c, h, 32, sig, &n), 0x6982);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9c, h, 32, sig, &n), 0x9000);
	/* 9A defaults to ONCE */
	assert_int_equal(gen(c, 0x9a, 0x11, 0, 0, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(sign(c, 0x11, 0x9a, h, 32, sig, &n), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9a, h, 32, sig, &n), 0x9000);
	vcard_reset(c);
	assert_int_equal(tv_hex(c, "00A4040005A000000308", sig, sizeof(sig),
	    &n), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9a, h, 32, sig, &n), 0x6982);
	/* a failed VERIFY drops the PIN */
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	assert_int_equal(tv_verify(c, "999999"), 0x63c2);
	assert_int_equal(sign(c, 0x11, 0x9a, h, 32, sig, &n), 0x6982);
	/* explicit ALWAYS on 9A, explicit NEVER on 9C */
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(gen(c, 0x9a, 0x11, 0x03, 0, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9a, h, 32, sig, &n), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9a, h, 32, sig, &n), 0x6982);
	assert_int_equal(gen(c, 0x9c, 0x11, 0x01, 0, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(tv_hex(c, "0020FF80", sig, sizeof(sig), &n), 0x9000);
	assert_int_equal(sign(c, 0x11, 0x9c, h, 32, sig, &n), 0x9000);
	/* touch ALWAYS and CACHED fail without a touch */
	assert_int_equal(gen(c, 0x9d, 0x11, 0x01, 0x02, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(sign(c, 0x11, 0x9d, h, 32, sig, &n), 0x9000);
	vcard_set_touch(c, 0);
	assert_int_equal(sign(c, 0x11, 0x9d, h, 32, sig, &n), 0x6985);
	assert_int_equal(gen(c, 0x9d, 0x11, 0x01, 0x03, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(sign(c, 0x11, 0x9d, h, 32, sig, &n), 0x6985);
	/* touch NEVER still works */
	assert_int_equal(gen(c, 0x9d, 0x11, 0x01, 0x01, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(sign(c, 0x11, 0x9d, h, 32, sig, &n), 0x9000);
	vcard_free(&c);
}

/* ---- METADATA -------------------------------------------------------------- */

static void
test_metadata(void **state)
{
	vcard_t *c = tv_card();
	EVP_PKEY *pub, *mpub;
	uint8_t out[600];
	const uint8_t *v;
	size_t n, len;

	(void)state;
	assert_int_equal(tv_hex(c, "00F7008000", out, sizeof(out), &n), 0x9000);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "\x01\x01\xff\x05\x01\x01\x06\x02\x03\x03", 10);
	assert_int_equal(tv_hex(c, "00F7008100", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x01\x01\xff\x05\x01\x01\x06\x02\x03\x03", 10);
	assert_int_equal(tv_hex(c, "00F7009B00", out, sizeof(out), &n), 0x9000);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "\x01\x01\x03\x02\x02\x01\x01\x05\x01\x01", 10);
	/* empty slot, bad slot, bad P1 */
	assert_int_equal(tv_hex(c, "00F7009A00", out, sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "00F7007700", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00F7019A00", out, sizeof(out), &n), 0x6a86);
	/* the attestation key: RSA-2048, imported */
	assert_int_equal(tv_cmd(c, 0xf7, 0, 0xf9, NULL, 0, out, sizeof(out),
	    &n), 0x9000);
	assert_memory_equal(out, "\x01\x01\x07\x02\x02\x01\x01\x03\x01\x02", 10);
	/* a generated key */
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(gen(c, 0x9a, 0x11, 0, 0x02, &pub), 0x9000);
	assert_int_equal(tv_hex(c, "00F7009A00", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x01\x01\x11\x02\x02\x02\x02\x03\x01\x01", 10);
	v = tlv(out, n, 0x04, &len);
	mpub = pub_from(0x11, v, len);
	assert_int_equal(EVP_PKEY_eq(pub, mpub), 1);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(mpub);
	/* after a wrong PIN and a PIN change */
	assert_int_equal(tv_verify(c, "000000"), 0x63c2);
	assert_int_equal(tv_hex(c, "0024008010313233343536FFFF313131313131FFFF",
	    out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00F7008000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x01\x01\xff\x05\x01\x00\x06\x02\x03\x03", 10);
	vcard_free(&c);
}

/* ---- ATTEST ------------------------------------------------------------------ */

static X509 *
f9_cert(vcard_t *c)
{
	uint8_t out[4096];
	const uint8_t *v, *p;
	size_t n, len;
	X509 *x;

	assert_int_equal(tv_cmd(c, 0xcb, 0x3f, 0xff,
	    (const uint8_t *)"\x5c\x03\x5f\xff\x01", 5, out, sizeof(out), &n),
	    0x9000);
	v = tlv(out, n, 0x53, &len);
	p = tlv(v, len, 0x70, &len);
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	return x;
}

static void
check_ext(X509 *x, const char *oid, const uint8_t *want, size_t n)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *os;
	int i;

	assert_non_null(obj);
	i = X509_get_ext_by_OBJ(x, obj, -1);
	assert_true(i >= 0);
	ext = X509_get_ext(x, i);
	os = X509_EXTENSION_get_data(ext);
	assert_int_equal(ASN1_STRING_length(os), n);
	assert_memory_equal(ASN1_STRING_get0_data(os), want, n);
	ASN1_OBJECT_free(obj);
}

static void
test_attest(void **state)
{
	vcard_t *c = tv_card();
	EVP_PKEY *pub;
	uint8_t out[4096];
	const uint8_t *p;
	X509 *ca, *x;
	size_t n;

	(void)state;
	assert_int_equal(tv_hex(c, "00F99A0000", out, sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "00F99B0000", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00F99A0100", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(gen(c, 0x9a, 0x11, 0x03, 0x02, &pub), 0x9000);
	assert_int_equal(tv_cmd(c, 0xf9, 0x9a, 0x00, NULL, 0, out, sizeof(out),
	    &n), 0x9000);
	p = out;
	x = d2i_X509(NULL, &p, (long)n);
	assert_non_null(x);
	assert_ptr_equal(p, out + n);
	ca = f9_cert(c);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ca)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1);
	check_ext(x, "1.3.6.1.4.1.41482.3.3", (const uint8_t *)"\x05\x07\x01",
	    3);
	check_ext(x, "1.3.6.1.4.1.41482.3.7",
	    (const uint8_t *)"\x02\x04\x00\xcc\x07\xc9", 6);
	check_ext(x, "1.3.6.1.4.1.41482.3.8", (const uint8_t *)"\x03\x02", 2);
	X509_free(x);
	EVP_PKEY_free(pub);
	/* an RSA and an X25519 key too */
	assert_int_equal(gen(c, 0x9d, 0xe1, 0, 0, &pub), 0x9000);
	assert_int_equal(tv_cmd(c, 0xf9, 0x9d, 0x00, NULL, 0, out, sizeof(out),
	    &n), 0x9000);
	p = out;
	x = d2i_X509(NULL, &p, (long)n);
	assert_non_null(x);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1);
	X509_free(x);
	EVP_PKEY_free(pub);
	/* the attestation key itself was imported: 6A80 */
	assert_int_equal(tv_hex(c, "00F9F90000", out, sizeof(out), &n), 0x6a80);
	X509_free(ca);
	vcard_free(&c);
}

/* ---- IMPORT KEY ------------------------------------------------------------ */

static size_t
put_bn_tlv(uint8_t *p, unsigned tag, EVP_PKEY *k, const char *name,
    size_t pad)
{
	BIGNUM *bn = NULL;
	size_t off;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	off = put_tl(p, tag, pad);
	assert_int_equal(BN_bn2binpad(bn, p + off, (int)pad), (int)pad);
	BN_clear_free(bn);
	return off + pad;
}

static void
test_import(void **state)
{
	vcard_t *c = tv_card();
	EVP_PKEY *k, *pub;
	uint8_t d[1200], out[600];
	const uint8_t *v;
	size_t n, len, rawlen;

	(void)state;
	/* RSA-2048 with policies */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(k);
	n = 0;
	n += put_bn_tlv(d + n, 0x01, k, OSSL_PKEY_PARAM_RSA_FACTOR1, 128);
	n += put_bn_tlv(d + n, 0x02, k, OSSL_PKEY_PARAM_RSA_FACTOR2, 128);
	n += put_bn_tlv(d + n, 0x03, k, OSSL_PKEY_PARAM_RSA_EXPONENT1, 128);
	n += put_bn_tlv(d + n, 0x04, k, OSSL_PKEY_PARAM_RSA_EXPONENT2, 128);
	n += put_bn_tlv(d + n, 0x05, k, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 128);
	memcpy(d + n, "\xaa\x01\x01\xab\x01\x01", 6);
	n += 6;
	assert_int_equal(tv_cmd(c, 0xfe, 0x07, 0x9a, d, n, out, sizeof(out),
	    &len), 0x6982);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_cmd(c, 0xfe, 0x07, 0x9a, d, n, out, sizeof(out),
	    &len), 0x9000);
	check_sign(c, 0x07, 0x9a, k);
	check_decipher(c, 0x07, 0x9a, k);
	assert_int_equal(tv_cmd(c, 0xf7, 0x00, 0x9a, NULL, 0, out, sizeof(out),
	    &len), 0x9000);
	assert_memory_equal(out, "\x01\x01\x07\x02\x02\x01\x01\x03\x01\x02", 10);
	/* imported keys cannot be attested */
	assert_int_equal(tv_hex(c, "00F99A0000", out, sizeof(out), &len),
	    0x6a80);
	/* inconsistent CRT values, wrong size for the algorithm */
	d[3 * 131 - 1] ^= 1;
	assert_int_equal(tv_cmd(c, 0xfe, 0x07, 0x9a, d, n, out, sizeof(out),
	    &len), 0x6a80);
	d[3 * 131 - 1] ^= 1;
	assert_int_equal(tv_cmd(c, 0xfe, 0x06, 0x9a, d, n, out, sizeof(out),
	    &len), 0x6a80);
	assert_int_equal(tv_cmd(c, 0xfe, 0x07, 0x9a, d, 4 * 131, out,
	    sizeof(out), &len), 0x6a80);
	/* policies before the key; bad slot; bad algorithm */
	assert_int_equal(tv_hex(c, "00FE119A06AA0101060100", out, sizeof(out),
	    &len), 0x6a80);
	assert_int_equal(tv_cmd(c, 0xfe, 0x07, 0x9b, d, n, out, sizeof(out),
	    &len), 0x6a86);
	assert_int_equal(tv_cmd(c, 0xfe, 0x42, 0x9a, d, n, out, sizeof(out),
	    &len), 0x6a86);
	EVP_PKEY_free(k);

	/* P-256 */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	n = put_bn_tlv(d, 0x06, k, OSSL_PKEY_PARAM_PRIV_KEY, 32);
	assert_int_equal(tv_cmd(c, 0xfe, 0x11, 0x9e, d, n, out, sizeof(out),
	    &len), 0x9000);
	check_sign(c, 0x11, 0x9e, k);
	check_ecdh(c, 0x11, 0x9e, k);
	assert_int_equal(tv_hex(c, "00F7009E00", out, sizeof(out), &len),
	    0x9000);
	v = tlv(out, len, 0x04, &rawlen);
	pub = pub_from(0x11, v, rawlen);
	assert_int_equal(EVP_PKEY_eq(pub, k), 1);
	EVP_PKEY_free(pub);
	/* a scalar of the wrong length, a zero scalar */
	assert_int_equal(tv_cmd(c, 0xfe, 0x14, 0x9e, d, n, out, sizeof(out),
	    &len), 0x6a80);
	memset(d + 2, 0, 32);
	assert_int_equal(tv_cmd(c, 0xfe, 0x11, 0x9e, d, n, out, sizeof(out),
	    &len), 0x6a80);
	EVP_PKEY_free(k);

	/* Ed25519 and X25519 */
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	rawlen = 32;
	memcpy(d, "\x06\x20", 2);
	assert_int_equal(EVP_PKEY_get_raw_private_key(k, d + 2, &rawlen), 1);
	/* an Ed25519 seed travels under tag 07, not the EC scalar's 06 */
	assert_int_equal(tv_cmd(c, 0xfe, 0xe0, 0x9c, d, 34, out, sizeof(out),
	    &len), 0x6a80);
	d[0] = 0x07;
	assert_int_equal(tv_cmd(c, 0xfe, 0xe0, 0x9c, d, 34, out, sizeof(out),
	    &len), 0x9000);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	check_sign(c, 0xe0, 0x9c, k);
	assert_int_equal(tv_cmd(c, 0xfe, 0xe0, 0x9c, d, 33, out, sizeof(out),
	    &len), 0x6a80);
	EVP_PKEY_free(k);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	rawlen = 32;
	assert_int_equal(EVP_PKEY_get_raw_private_key(k, d + 2, &rawlen), 1);
	/* an X25519 scalar travels under tag 08 */
	assert_int_equal(tv_cmd(c, 0xfe, 0xe1, 0x9d, d, 34, out, sizeof(out),
	    &len), 0x6a80);
	d[0] = 0x08;
	assert_int_equal(tv_cmd(c, 0xfe, 0xe1, 0x9d, d, 34, out, sizeof(out),
	    &len), 0x9000);
	check_ecdh(c, 0xe1, 0x9d, k);
	EVP_PKEY_free(k);
	vcard_free(&c);
}

/* ---- MOVE KEY, SET PIN RETRIES, RESET -------------------------------------- */

static void
test_move_key(void **state)
{
	vcard_t *c = tv_card();
	EVP_PKEY *pub, *mpub;
	uint8_t out[200];
	const uint8_t *v;
	size_t n, len;

	(void)state;
	assert_int_equal(tv_hex(c, "00F6829A", out, sizeof(out), &n), 0x6982);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(gen(c, 0x9a, 0x11, 0x01, 0, &pub), 0x9000);
	assert_int_equal(tv_hex(c, "00F6829A", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00F7009A00", out, sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "00F7008200", out, sizeof(out), &n), 0x9000);
	v = tlv(out, n, 0x04, &len);
	mpub = pub_from(0x11, v, len);
	assert_int_equal(EVP_PKEY_eq(pub, mpub), 1);
	EVP_PKEY_free(mpub);
	check_sign(c, 0x11, 0x82, pub);
	/* from an empty slot, bad slots, onto itself, to/from f9 */
	assert_int_equal(tv_hex(c, "00F6839A", out, sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "00F6829B", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00F67782", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00F68282", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00F6F982", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00F69AF9", out, sizeof(out), &n), 0x6a86);
	/* delete */
	assert_int_equal(tv_hex(c, "00F6FF82", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00F7008200", out, sizeof(out), &n), 0x6a88);
	EVP_PKEY_free(pub);
	vcard_free(&c);
}

static void
test_set_pin_retries(void **state)
{
	vcard_t *c = tv_card();
	uint8_t out[32];
	size_t n;

	(void)state;
	assert_int_equal(tv_hex(c, "00FA0506", out, sizeof(out), &n), 0x6982);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_hex(c, "00FA0506", out, sizeof(out), &n), 0x6982);
	assert_int_equal(tv_hex(c, "0024008010313233343536FFFF313131313131FFFF",
	    out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_verify(c, "111111"), 0x9000);
	assert_int_equal(tv_hex(c, "00FA0006", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00FA0500", out, sizeof(out), &n), 0x6a86);
	assert_int_equal(tv_hex(c, "00FA0506", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "00F7008000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x01\x01\xff\x05\x01\x01\x06\x02\x05\x05", 10);
	assert_int_equal(tv_hex(c, "00F7008100", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out + 6, "\x06\x02\x06\x06", 4);
	/* back to the default PIN, and logged out */
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x63c5);
	assert_int_equal(tv_verify(c, "111111"), 0x63c4);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	/* more than 15 tries: 63CF until fewer are left */
	assert_int_equal(tv_hex(c, "00FA1403", out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_verify(c, "999999"), 0x63cf);
	assert_int_equal(tv_hex(c, "00F7008000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out + 6, "\x06\x02\x14\x13", 4);
	vcard_free(&c);
}

static void
test_reset(void **state)
{
	vcard_t *c = tv_card();
	EVP_PKEY *pub;
	uint8_t out[64], big[256];
	size_t n;
	int i;

	(void)state;
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(gen(c, 0x9a, 0x11, 0, 0, &pub), 0x9000);
	EVP_PKEY_free(pub);
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FC1025303AABBCC", out,
	    sizeof(out), &n), 0x9000);
	memcpy(out, "\x0c\x9b\x20", 3);
	memset(out + 3, 0x42, 32);
	assert_int_equal(tv_cmd(c, 0xff, 0xff, 0xff, out, 35, out, sizeof(out),
	    &n), 0x9000);
	assert_int_equal(tv_hex(c, "00FB0000", out, sizeof(out), &n), 0x6985);
	for (i = 0; i < 3; i++)
		tv_verify(c, "000000");
	assert_int_equal(tv_hex(c, "00FB0000", out, sizeof(out), &n), 0x6985);
	for (i = 0; i < 3; i++)
		tv_hex(c, "002C008010303030303030303031313131313131FF", out,
		    sizeof(out), &n);
	assert_int_equal(tv_hex(c, "00F7008100", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out + 6, "\x06\x02\x03\x00", 4);
	assert_int_equal(tv_hex(c, "00FB0000", out, sizeof(out), &n), 0x9000);
	/* factory state: no key, no object, default PIN and key, but the
	 * attestation key and certificate stay */
	assert_int_equal(tv_hex(c, "00F7009A00", out, sizeof(out), &n), 0x6a88);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC10200", out, sizeof(out),
	    &n), 0x6a82);
	assert_int_equal(tv_hex(c, "00F7009B00", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x01\x01\x03", 3);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x63c3);
	assert_int_equal(tv_verify(c, "123456"), 0x9000);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(tv_hex(c, "00F700F900", big, sizeof(big), &n), 0x6117);
	assert_int_equal(n, 256);
	assert_int_equal(tv_hex(c, "00C0000000", big, sizeof(big), &n), 0x9000);
	assert_int_equal(n, 0x17);
	X509_free(f9_cert(c));
	vcard_free(&c);
}

/* ---- persistence -------------------------------------------------------------- */

static void
tmpdir(char *buf, size_t n)
{
	snprintf(buf, n, "/tmp/test_vcard.XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void
test_persistence(void **state)
{
	struct vcard_opts o;
	char dir[64], path[128], tmp[140];
	vcard_t *c;
	EVP_PKEY *pub, *mpub;
	X509 *ca1, *ca2;
	uint8_t out[600], key[16];
	const uint8_t *v;
	char *text;
	size_t n, len;

	(void)state;
	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/card.state", dir);
	memset(&o, 0, sizeof(o));
	o.state_path = path;
	o.serial = 4242;
	c = tv_card_opts(&o);
	ca1 = f9_cert(c);
	assert_int_equal(tv_auth(c), 0x9000);
	assert_int_equal(gen(c, 0x9a, 0x11, 0x02, 0x03, &pub), 0x9000);
	assert_int_equal(tv_hex(c, "00DB3FFF0A5C035FC1025303AABBCC", out,
	    sizeof(out), &n), 0x9000);
	assert_int_equal(tv_hex(c, "0024008010313233343536FFFF3838383838383838",
	    out, sizeof(out), &n), 0x9000);
	assert_int_equal(tv_verify(c, "000000"), 0x63c2);
	memset(key, 0x17, sizeof(key));
	memcpy(out, "\x08\x9b\x10", 3);
	memcpy(out + 3, key, 16);
	assert_int_equal(tv_cmd(c, 0xff, 0xff, 0xff, out, 19, out, sizeof(out),
	    &n), 0x9000);
	vcard_free(&c);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);

	/* reopened: same serial even without asking, same everything */
	o.serial = 0;
	c = tv_card_opts(&o);
	assert_int_equal(tv_hex(c, "00F8000000", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x00\x00\x10\x92", 4);
	ca2 = f9_cert(c);
	assert_int_equal(X509_cmp(ca1, ca2), 0);
	assert_int_equal(tv_hex(c, "00F7009A00", out, sizeof(out), &n), 0x9000);
	assert_memory_equal(out, "\x01\x01\x11\x02\x02\x02\x03\x03\x01\x01", 10);
	v = tlv(out, n, 0x04, &len);
	mpub = pub_from(0x11, v, len);
	assert_int_equal(EVP_PKEY_eq(pub, mpub), 1);
	assert_int_equal(tv_hex(c, "00200080", out, sizeof(out), &n), 0x63c2);
	assert_int_equal(tv_verify(c, "88888888"), 0x9000);
	check_sign(c, 0x11, 0x9a, pub);
	assert_int_equal(tv_hex(c, "00CB3FFF055C035FC10200", out, sizeof(out),
	    &n), 0x9000);
	assert_memory_equal(out, "\x53\x03\xaa\xbb\xcc", 5);
	assert_int_equal(tv_auth(c), 0x6a86);
	assert_int_equal(tv_auth_key(c, 0x08, key, 16), 0x9000);
	vcard_free(&c);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(mpub);
	X509_free(ca1);
	X509_free(ca2);

	/* damaged files: vcard_new fails */
	text = read_file(path, &len);
	assert_non_null(strstr(text, "end\n"));
	*strstr(text, "end\n") = '\0';
	write_file(path, text);
	c = (vcard_t *)1;
	assert_int_equal(vcard_new(&c, &o), -1);
	assert_null(c);
	text[20] ^= 1;
	write_file(path, text);
	assert_int_equal(vcard_new(&c, &o), -1);
	write_file(path, "garbage\n");
	assert_int_equal(vcard_new(&c, &o), -1);
	write_file(path, "");
	assert_int_equal(vcard_new(&c, &o), -1);
	write_file(path, "vcard-state 1\nserial 1\nversion 050701\n"
	    "pin 313233343536FFFF 3 3\npuk 3132333435363738 3 3\n"
	    "mgm 03 0 010203040506070801020304050607080102030405060708\n"
	    "slot 9A 11 02 01 01 3041\nend\n");
	assert_int_equal(vcard_new(&c, &o), -1);
	write_file(path, "vcard-state 1\nserial 1\nversion 050701\n"
	    "pin 313233343536FFFF 4 3\npuk 3132333435363738 3 3\n"
	    "mgm 03 0 010203040506070801020304050607080102030405060708\n"
	    "end\n");
	assert_int_equal(vcard_new(&c, &o), -1);
	/* a state that cannot be written any more: the card says 6F00 */
	{
		char sub[160], sp[200];
		struct vcard_opts o2;

		snprintf(sub, sizeof(sub), "%s/sub", dir);
		assert_int_equal(mkdir(sub, 0700), 0);
		snprintf(sp, sizeof(sp), "%s/card.state", sub);
		memset(&o2, 0, sizeof(o2));
		o2.state_path = sp;
		c = tv_card_opts(&o2);
		assert_int_equal(unlink(sp), 0);
		assert_int_equal(rmdir(sub), 0);
		assert_int_equal(tv_verify(c, "000000"), 0x6f00);
		vcard_free(&c);
	}
	/* a minimal good file loads */
	write_file(path, "vcard-state 1\nserial 77\nversion 050701\n"
	    "pin 313233343536FFFF 3 3\npuk 3132333435363738 3 3\n"
	    "mgm 03 0 010203040506070801020304050607080102030405060708\n"
	    "end\n");
	assert_int_equal(vcard_new(&c, &o), 0);
	vcard_free(&c);
	free(text);
	unlink(path);
	rmdir(dir);
}

/* ---- VTOKEN_LOG ----------------------------------------------------------------- */

static void
test_log_redaction(void **state)
{
	char dir[64], path[128], *text, *line;
	vcard_t *c;
	uint8_t out[600], d[64];
	size_t n, len, cmds = 0, rsps = 0;

	(void)state;
	tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/apdu.log", dir);
	setenv("VTOKEN_LOG", path, 1);
	c = tv_card();					/* 1 */
	unsetenv("VTOKEN_LOG");
	assert_int_equal(tv_verify(c, "123456"), 0x9000);	/* 2 */
	assert_int_equal(tv_hex(c, "0024008010313233343536FFFF36353433FFFFFFFF",
	    out, sizeof(out), &n), 0x6a80);		/* 3 */
	assert_int_equal(tv_hex(c, "002C008010313233343536373836353433323130FF",
	    out, sizeof(out), &n), 0x9000);		/* 4 */
	assert_int_equal(tv_auth(c), 0x9000);		/* 5, 6 */
	/* printed information, chained so the second part has no tag */
	memcpy(d, "\x5c\x03\x5f\xc1\x09\x53\x08" "\xde\xad\xbe\xef\xca\xfe"
	    "\xba\xbe", 15);
	assert_int_equal(tv_hex(c, "10DB3FFF095C035FC1095308DEAD", out,
	    sizeof(out), &n), 0x9000);			/* 7 */
	assert_int_equal(tv_hex(c, "00DB3FFF06BEEFCAFEBABE", out, sizeof(out),
	    &n), 0x9000);				/* 8 */
	assert_int_equal(tv_cmd(c, 0xcb, 0x3f, 0xff, d, 5, out, sizeof(out),
	    &n), 0x9000);				/* 9 */
	assert_memory_equal(out + 2, "\xde\xad\xbe\xef", 4);
	memcpy(d, "\x03\x9b\x18" "\x11\x22\x33\x44\x55\x66\x77\x88"
	    "\x11\x22\x33\x44\x55\x66\x77\x88\x11\x22\x33\x44\x55\x66\x77\x88",
	    27);
	assert_int_equal(tv_cmd(c, 0xff, 0xff, 0xff, d, 27, out, sizeof(out),
	    &n), 0x9000);				/* 10 */
	assert_int_equal(tv_hex(c, "00FD000000", out, sizeof(out), &n),
	    0x9000);					/* 11 */
	vcard_free(&c);

	text = read_file(path, &len);
	for (line = strtok(text, "\n"); line != NULL; line = strtok(NULL,
	    "\n")) {
		if (strncmp(line, "> ", 2) == 0)
			cmds++;
		else if (strncmp(line, "< ", 2) == 0)
			rsps++;
		else
			fail_msg("bad log line: %s", line);
		/* no PIN, no PUK, no printed info, no management key */
		assert_null(strstr(line, "313233343536"));
		assert_null(strstr(line, "363534333231"));
		assert_null(strstr(line, "DEAD"));
		assert_null(strstr(line, "BEEF"));
		assert_null(strstr(line, "0102030405060708"));
		assert_null(strstr(line, "1122334455667788"));
	}
	assert_int_equal(cmds, 11);
	assert_int_equal(rsps, 11);
	free(text);
	text = read_file(path, &len);
	/* what is logged: the header, and stars in place of the secret */
	assert_non_null(strstr(text, "> 0020008008****************00\n< 9000\n"));
	assert_non_null(strstr(text, "> 00A4040005A000000308\n< 61114F06"));
	assert_non_null(strstr(text, "> 00DB3FFF06************\n< 9000\n"));
	assert_non_null(strstr(text, "> 00FD000000\n< 0507019000\n"));
	free(text);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_errors),
		cmocka_unit_test(test_sign_all_algs),
		cmocka_unit_test(test_ecdh),
		cmocka_unit_test(test_pin_policies),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_attest),
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_move_key),
		cmocka_unit_test(test_set_pin_retries),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_persistence),
		cmocka_unit_test(test_log_redaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
