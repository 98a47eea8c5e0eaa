/*
 * Host-side RSA decryption unpadding in constant time: no branch and no
 * memory index depends on the padding bytes until the single good/bad
 * decision at the end (Bleichenbacher / Manger).
 */
#include <string.h>

#include <openssl/evp.h>

#include "p11.h"
#include "../util/util.h"

/* All-ones when x == 0, else zero; and friends, branch-free. */
static unsigned
ct_is_zero(unsigned x)
{
	return 0u - (((~x & (x - 1)) >> (sizeof(x) * 8 - 1)) & 1u);
}

static unsigned
ct_eq(unsigned a, unsigned b)
{
	return ct_is_zero(a ^ b);
}

/* a < b, for values below 2^31 */
static unsigned
ct_lt(unsigned a, unsigned b)
{
	return 0u - ((a - b) >> (sizeof(unsigned) * 8 - 1));
}

static uint8_t
ct_sel8(unsigned mask, uint8_t a, uint8_t b)
{
	return (uint8_t)((mask & a) | (~mask & b));
}

/*
 * Moves buf[shift..n) to buf[0..n-shift), zero-filling the end, in
 * O(n log n) with the shift amount secret.
 */
static void
ct_shift_left(uint8_t *buf, size_t n, size_t shift)
{
	size_t i, step;

	for (step = 1; step < n; step <<= 1) {
		/* step is a power of two: this is bit log2(step) */
		unsigned bit = 0u - (unsigned)((shift / step) & 1u);
		for (i = 0; i < n; i++) {
			uint8_t next = i + step < n ? buf[i + step] : 0;

			buf[i] = ct_sel8(bit, next, buf[i]);
		}
	}
}

int
p11_unpad_pkcs1(const uint8_t *em, size_t emlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	uint8_t tmp[P11_SIG_MAX];
	unsigned good, found = 0, zero_at = 0, looking;
	size_t i, msglen;

	*outlen = 0;
	if (emlen < 11 || emlen > sizeof(tmp))
		return -1;
	good = ct_is_zero(em[0]) & ct_eq(em[1], 2);
	for (i = 2; i < emlen; i++) {
		unsigned z = ct_is_zero(em[i]);

		looking = ~found;
		zero_at = (looking & z & (unsigned)i) | (~(looking & z) &
		    zero_at);
		found |= z;
	}
	good &= found;
	/* at least 8 bytes of non-zero padding */
	good &= ~ct_lt(zero_at, 10);
	/* shift the message (after zero_at) to the front, constant time */
	memcpy(tmp, em, emlen);
	ct_shift_left(tmp, emlen, (size_t)(zero_at + 1) & (size_t)good);
	msglen = (emlen - zero_at - 1) & good;
	if (!(good & 1u)) {
		util_wipe(tmp, sizeof(tmp));
		return -1;
	}
	if (msglen > cap) {
		util_wipe(tmp, sizeof(tmp));
		return -2;
	}
	memcpy(out, tmp, msglen);
	*outlen = msglen;
	util_wipe(tmp, sizeof(tmp));
	return 0;
}

/* MGF1 (RFC 8017 B.2.1): mask ^= MGF1(seed). */
int
p11_mgf1_xor(uint8_t *mask, size_t len, const uint8_t *seed, size_t seedlen,
    const EVP_MD *md)
{
	uint8_t c[4], h[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	size_t done = 0, i;
	uint32_t ctr;
	EVP_MD_CTX *ctx;
	int r = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	for (ctr = 0; done < len; ctr++) {
		c[0] = (uint8_t)(ctr >> 24);
		c[1] = (uint8_t)(ctr >> 16);
		c[2] = (uint8_t)(ctr >> 8);
		c[3] = (uint8_t)ctr;
		if (!EVP_DigestInit_ex(ctx, md, NULL) ||
		    !EVP_DigestUpdate(ctx, seed, seedlen) ||
		    !EVP_DigestUpdate(ctx, c, 4) ||
		    !EVP_DigestFinal_ex(ctx, h, &hl))
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

/* EME-OAEP decoding (RFC 8017 7.1.2 step 3), constant time. */
int
p11_unpad_oaep(const uint8_t *em, size_t k, const EVP_MD *md,
    const EVP_MD *mgf, const uint8_t *label, size_t llen, uint8_t *out,
    size_t cap, size_t *outlen)
{
	uint8_t db[P11_SIG_MAX], lhash[EVP_MAX_MD_SIZE];
	uint8_t seed[EVP_MAX_MD_SIZE];
	unsigned int hl = 0;
	unsigned good, found = 0, one_at = 0, looking;
	size_t i, dblen, msglen;
	int r = -1;

	*outlen = 0;
	if (!EVP_Digest(label != NULL ? label : (const uint8_t *)"", llen,
	    lhash, &hl, md, NULL))
		return -1;
	if (k > sizeof(db) || k < 2 * (size_t)hl + 2)
		return -1;
	dblen = k - hl - 1;
	memcpy(seed, em + 1, hl);
	memcpy(db, em + 1 + hl, dblen);
	if (p11_mgf1_xor(seed, hl, db, dblen, mgf) != 0 ||
	    p11_mgf1_xor(db, dblen, seed, hl, mgf) != 0)
		goto out;
	good = ct_is_zero(em[0]);
	for (i = 0; i < hl; i++)
		good &= ct_eq(db[i], lhash[i]);
	for (i = hl; i < dblen; i++) {
		unsigned is1 = ct_eq(db[i], 1), is0 = ct_is_zero(db[i]);

		looking = ~found;
		one_at = (looking & is1 & (unsigned)i) | (~(looking & is1) &
		    one_at);
		/* before the 01 only zeros are allowed */
		good &= found | is0 | is1;
		found |= is1;
	}
	good &= found;
	ct_shift_left(db, dblen, (size_t)(one_at + 1) & (size_t)good);
	msglen = (dblen - one_at - 1) & good;
	if (!(good & 1u))
		goto out;
	if (msglen > cap) {
		r = -2;
		goto out;
	}
	memcpy(out, db, msglen);
	*outlen = msglen;
	r = 0;
out:
	util_wipe(db, sizeof(db));
	util_wipe(seed, sizeof(seed));
	return r;
}
