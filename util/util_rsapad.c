/* SPDX-License-Identifier: MIT */
/*
 * util/util_rsapad.c — RSA padding (RFC 8017), the one implementation under
 * the PKCS#11 module and the CLI: MGF1, EME-PKCS1-v1_5 and EME-OAEP
 * decoding, EMSA-PKCS1-v1_5 and EMSA-PSS encoding.
 *
 * The decoders take the raw RSA output, a secret: no branch and no memory
 * index depends on it (Bleichenbacher, Manger).  The good/bad decision and
 * the message length leave as values (the return code, *outlen); only the
 * caller branches on them.  tests/test_util_rsapad.c checks this under
 * valgrind with the input marked undefined (tests/integration/ct_rsapad.sh).
 */
#include "util.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/* Masks: all ones or zero.  Values below 2^31. */
static unsigned
ct_msb(unsigned x)
{
	return 0u - (x >> (sizeof(x) * 8 - 1));
}

static unsigned
ct_is_zero(unsigned x)
{
	return ct_msb(~x & (x - 1));
}

static unsigned
ct_eq(unsigned a, unsigned b)
{
	return ct_is_zero(a ^ b);
}

/* a < b */
static unsigned
ct_lt(unsigned a, unsigned b)
{
	return ct_msb(a - b);
}

static unsigned
ct_sel(unsigned mask, unsigned a, unsigned b)
{
	return (mask & a) | (~mask & b);
}

/*
 * Moves buf[shift..n) to buf[0..n-shift), zeros after, with shift secret:
 * log2(n) passes, each moving everything by 2^j or not.
 */
static void
ct_shift_left(uint8_t *buf, size_t n, unsigned shift)
{
	size_t i, step;
	unsigned j;

	for (step = 1, j = 0; step < n; step <<= 1, j++) {
		unsigned bit = 0u - ((shift >> j) & 1u);

		for (i = 0; i < n; i++) {
			unsigned next = i + step < n ? buf[i + step] : 0;

			buf[i] = (uint8_t)ct_sel(bit, next, buf[i]);
		}
	}
}

/*
 * The end of both decoders: buf[0..msglen) is the message when good.
 * Copies it out (out[0..min(cap, n)) is written in every case, zeros past
 * the message), sets *outlen, and returns 0, -1 (bad) or -2 (cap too small)
 * — computed, not branched on.
 */
static int
ct_finish(const uint8_t *buf, size_t n, unsigned good, unsigned msglen,
    uint8_t *out, size_t cap, size_t *outlen)
{
	unsigned fits, ok;
	size_t i, m = cap < n ? cap : n;

	/* cap is public: past UTIL_RSA_MAX every message fits */
	fits = cap > UTIL_RSA_MAX ? ~0u : ~ct_lt((unsigned)cap, msglen);
	ok = good & fits;
	for (i = 0; i < m; i++)
		out[i] = (uint8_t)(buf[i] & ok & ct_lt((unsigned)i, msglen));
	*outlen = (size_t)(msglen & ok);
	/* 0 when ok; else -1, or -2 when only the size was wrong */
	return -(int)((~ok & 1u) * (1u + (good & 1u)));
}

int
util_rsa_unpad_pkcs1(const uint8_t *em, size_t k, uint8_t *out, size_t cap,
    size_t *outlen)
{
	uint8_t tmp[UTIL_RSA_MAX];
	unsigned good, found = 0, zero_at = 0, msglen;
	size_t i;
	int r;

	*outlen = 0;
	if (k < 11 || k > sizeof(tmp))
		return -1;
	/* 00 02 PS (at least 8 non-zero bytes) 00 M */
	good = ct_is_zero(em[0]) & ct_eq(em[1], 2);
	for (i = 2; i < k; i++) {
		unsigned first = ~found & ct_is_zero(em[i]);

		zero_at = ct_sel(first, (unsigned)i, zero_at);
		found |= first;
	}
	good &= found & ~ct_lt(zero_at, 10);
	msglen = ((unsigned)k - zero_at - 1) & good;
	memcpy(tmp, em, k);
	ct_shift_left(tmp, k, (zero_at + 1) & good);
	r = ct_finish(tmp, k, good, msglen, out, cap, outlen);
	util_wipe(tmp, sizeof(tmp));
	return r;
}

int
util_mgf1_xor(uint8_t *mask, size_t len, const uint8_t *seed, size_t seedlen,
    const struct evp_md_st *md)
{
	uint8_t c[4], h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	size_t done = 0, i;
	uint32_t ctr;
	EVP_MD_CTX *ctx;
	int r = -1;

	if (md == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	for (ctr = 0; done < len; ctr++) {
		c[0] = (uint8_t)(ctr >> 24);
		c[1] = (uint8_t)(ctr >> 16);
		c[2] = (uint8_t)(ctr >> 8);
		c[3] = (uint8_t)ctr;
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(ctx, seed, seedlen) != 1 ||
		    EVP_DigestUpdate(ctx, c, 4) != 1 ||
		    EVP_DigestFinal_ex(ctx, h, &hl) != 1 || hl == 0)
			goto out;
		for (i = 0; i < hl && done < len; i++)
			mask[done++] ^= h[i];
	}
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	util_wipe(h, sizeof(h));
	return r;
}

int
util_rsa_unpad_oaep(const uint8_t *em, size_t k, const struct evp_md_st *md,
    const struct evp_md_st *mgf, const uint8_t *label, size_t llen,
    uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t db[UTIL_RSA_MAX], seed[EVP_MAX_MD_SIZE];
	uint8_t lhash[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	unsigned good, found = 0, one_at = 0, msglen;
	size_t i, dblen;
	int r = -1;

	*outlen = 0;
	if (md == NULL || mgf == NULL || (label == NULL && llen > 0))
		return -1;
	if (EVP_Digest(label != NULL ? label : (const uint8_t *)"", llen,
	    lhash, &hl, (const EVP_MD *)md, NULL) != 1)
		return -1;
	if (k > sizeof(db) || k < 2 * (size_t)hl + 2)
		return -1;
	/* 00 maskedSeed maskedDB; DB = lHash PS(00..) 01 M */
	dblen = k - hl - 1;
	memcpy(seed, em + 1, hl);
	memcpy(db, em + 1 + hl, dblen);
	if (util_mgf1_xor(seed, hl, db, dblen, mgf) != 0 ||
	    util_mgf1_xor(db, dblen, seed, hl, mgf) != 0)
		goto out;
	good = ct_is_zero(em[0]);
	for (i = 0; i < hl; i++)
		good &= ct_eq(db[i], lhash[i]);
	for (i = hl; i < dblen; i++) {
		unsigned is1 = ct_eq(db[i], 1), first = ~found & is1;

		one_at = ct_sel(first, (unsigned)i, one_at);
		/* before the 01 only zeros */
		good &= found | is1 | ct_is_zero(db[i]);
		found |= is1;
	}
	good &= found;
	msglen = ((unsigned)dblen - one_at - 1) & good;
	ct_shift_left(db, dblen, (one_at + 1) & good);
	r = ct_finish(db, dblen, good, msglen, out, cap, outlen);
out:
	util_wipe(db, sizeof(db));
	util_wipe(seed, sizeof(seed));
	return r;
}

int
util_rsa_pss_encode(const struct evp_md_st *md, const struct evp_md_st *mgf,
    size_t slen, const uint8_t *mh, size_t hlen, size_t modbits, uint8_t *em,
    size_t k)
{
	static const uint8_t zero8[8];
	uint8_t salt[UTIL_RSA_MAX], h[EVP_MAX_MD_SIZE];
	size_t embits, n, dblen;
	unsigned int hl = 0;
	EVP_MD_CTX *ctx = NULL;
	int r = -3;

	if (md == NULL || mgf == NULL || modbits < 2 ||
	    (size_t)EVP_MD_get_size((const EVP_MD *)md) != hlen)
		return -1;
	/* emBits = modBits - 1: when that is a multiple of 8, EM is one
	 * byte shorter than the modulus and em starts with a zero byte */
	embits = modbits - 1;
	n = (embits + 7) / 8;
	if (k > UTIL_RSA_MAX || (n != k && n + 1 != k))
		return -3;
	if (n < k) {
		em[0] = 0;
		em++;
	}
	if (slen > sizeof(salt) || n < hlen + slen + 2)
		return -2;
	if (slen > 0 && RAND_bytes(salt, (int)slen) != 1)
		return -3;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, (const EVP_MD *)md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, zero8, 8) != 1 ||
	    EVP_DigestUpdate(ctx, mh, hlen) != 1 ||
	    EVP_DigestUpdate(ctx, salt, slen) != 1 ||
	    EVP_DigestFinal_ex(ctx, h, &hl) != 1 || hl != hlen)
		goto out;
	/* maskedDB = (PS(00..) 01 salt) ^ MGF(H), then H, then BC */
	dblen = n - hlen - 1;
	memset(em, 0, dblen);
	em[dblen - slen - 1] = 0x01;
	memcpy(em + dblen - slen, salt, slen);
	if (util_mgf1_xor(em, dblen, h, hlen, mgf) != 0)
		goto out;
	em[0] &= (uint8_t)(0xffu >> (8 * n - embits));
	memcpy(em + dblen, h, hlen);
	em[n - 1] = 0xbc;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	util_wipe(salt, sizeof(salt));
	util_wipe(h, sizeof(h));
	return r;
}

int
util_rsa_pkcs1_encode(const EVP_MD *md, const uint8_t *h, size_t hlen,
    uint8_t *em, size_t k)
{
	X509_SIG *sig = NULL;
	X509_ALGOR *a;
	ASN1_OCTET_STRING *d;
	uint8_t *der = NULL;
	const uint8_t *t = h;
	size_t tlen = hlen;
	int dlen, r = -2;

	if ((h == NULL && hlen > 0) || em == NULL || hlen > INT_MAX)
		return -2;
	if (md != NULL) {
		/* DigestInfo ::= SEQUENCE { AlgorithmIdentifier (NULL
		 * parameters), OCTET STRING digest } */
		if ((sig = X509_SIG_new()) == NULL)
			goto out;
		X509_SIG_getm(sig, &a, &d);
		if (EVP_MD_get_type(md) == NID_undef ||
		    X509_ALGOR_set0(a, OBJ_nid2obj(EVP_MD_get_type(md)),
		    V_ASN1_NULL, NULL) != 1 ||
		    ASN1_OCTET_STRING_set(d, h, (int)hlen) != 1 ||
		    (dlen = i2d_X509_SIG(sig, &der)) <= 0)
			goto out;
		t = der;
		tlen = (size_t)dlen;
	}
	r = -1;
	if (tlen + 11 > k)
		goto out;
	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xff, k - tlen - 3);
	em[k - tlen - 1] = 0x00;
	if (tlen > 0)
		memcpy(em + k - tlen, t, tlen);
	r = 0;
out:
	OPENSSL_free(der);
	X509_SIG_free(sig);
	return r;
}
