/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_auth.c — management-key (9B) authentication, mutual and single,
 * with 3DES or AES through OpenSSL EVP; YubiKey SET MANAGEMENT KEY.
 * Keys, witnesses and challenges are wiped after use.
 */
#include "piv_int.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../util/util.h"

#define BLOCK_MAX	16

/* Block size and cipher of a management-key algorithm, for a key of the
 * length it takes (PIV_ERR_ARG for another, or none). */
static int
mgm_params(uint8_t alg, const uint8_t *key, size_t len, size_t *bl,
    const EVP_CIPHER **ciph)
{
	size_t keylen;

	if (key == NULL)
		return PIV_ERR_ARG;
	switch (alg) {
	case PIV_ALG_3DES:
		keylen = 24;
		*bl = 8;
		*ciph = EVP_des_ede3_ecb();
		break;
	case PIV_ALG_AES128:
		keylen = 16;
		*bl = 16;
		*ciph = EVP_aes_128_ecb();
		break;
	case PIV_ALG_AES192:
		keylen = 24;
		*bl = 16;
		*ciph = EVP_aes_192_ecb();
		break;
	case PIV_ALG_AES256:
		keylen = 32;
		*bl = 16;
		*ciph = EVP_aes_256_ecb();
		break;
	default:
		return PIV_ERR_ARG;
	}
	if (*ciph == NULL)
		return PIV_ERR_CRYPTO;
	return len == keylen ? 0 : PIV_ERR_ARG;
}

/* One block, ECB, no padding. */
static int
block(const EVP_CIPHER *ciph, const uint8_t *key, int enc,
    const uint8_t *in, uint8_t *out, size_t bl)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return PIV_ERR_NOMEM;
	ok = EVP_CipherInit_ex(ctx, ciph, NULL, key, NULL, enc) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)bl) == 1 &&
	    (size_t)n == bl;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : PIV_ERR_CRYPTO;
}

/* 7C L { tag bl value } ... from a response: the value of `tag`, bl long */
static int
dyn_auth_get(const uint8_t *rsp, size_t n, uint8_t tag, uint8_t *out,
    size_t bl)
{
	struct piv_tlv t, u;
	int r;

	if ((r = piv_tlv_find(rsp, n, 0x7c, &t)) != 0 ||
	    (r = piv_tlv_find(t.value, t.len, tag, &u)) != 0)
		return PIV_ERR_PROTO;
	if (u.len != bl)
		return PIV_ERR_PROTO;
	memcpy(out, u.value, bl);
	return 0;
}

/* One GENERAL AUTHENTICATE step with the request built in b. */
static int
auth_step(piv_card_t *p, struct piv_cmd *c, const wbuf_t *b, uint8_t *rsp,
    size_t cap, size_t *n, int *ms)
{
	if (wbuf_check(b) != 0)
		return PIV_ERR_ARG;
	c->data = b->p;
	c->len = b->len;
	return piv_xfer(p, c, rsp, cap, n, ms);
}

static int
mgm_auth(piv_card_t *p, uint8_t alg, const uint8_t *key, size_t keylen,
    int mutual, int *ms)
{
	const EVP_CIPHER *ciph;
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_GENERAL_AUTH,
	    .p2 = PIV_SLOT_MGM, .secret = 1 };
	uint8_t req[4 + 2 * (2 + BLOCK_MAX)], rsp[64];
	uint8_t wit[BLOCK_MAX], plain[BLOCK_MAX], chal[BLOCK_MAX],
	    mine[BLOCK_MAX];
	size_t bl, n = 0;
	wbuf_t b;
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	if ((r = mgm_params(alg, key, keylen, &bl, &ciph)) != 0)
		return r;
	c.p1 = alg;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	/* step 1: ask the card for a witness (mutual) or challenge (single) */
	wbuf_init(&b, req, sizeof(req));
	wbuf_put_u8(&b, 0x7c);
	wbuf_put_len(&b, 2);
	wbuf_put_tlv(&b, mutual ? 0x80 : 0x81, NULL, 0);
	if ((r = auth_step(p, &c, &b, rsp, sizeof(rsp), &n, ms)) != 0)
		goto out;
	if ((r = dyn_auth_get(rsp, n, mutual ? 0x80 : 0x81, wit, bl)) != 0)
		goto out;
	/* step 2 */
	wbuf_init(&b, req, sizeof(req));
	wbuf_put_u8(&b, 0x7c);
	if (mutual) {
		if ((r = block(ciph, key, 0, wit, plain, bl)) != 0)
			goto out;
		if (RAND_bytes(chal, (int)bl) != 1) {
			r = PIV_ERR_CRYPTO;
			goto out;
		}
		wbuf_put_len(&b, 2 * (2 + bl));
		wbuf_put_tlv(&b, 0x80, plain, bl);
		wbuf_put_tlv(&b, 0x81, chal, bl);
	} else {
		if ((r = block(ciph, key, 1, wit, plain, bl)) != 0)
			goto out;
		wbuf_put_len(&b, 2 + bl);
		wbuf_put_tlv(&b, 0x82, plain, bl);
	}
	if ((r = auth_step(p, &c, &b, rsp, sizeof(rsp), &n, ms)) != 0)
		goto out;
	if (mutual) {
		/* the card proves it knows the key too */
		if ((r = dyn_auth_get(rsp, n, 0x82, wit, bl)) != 0 ||
		    (r = block(ciph, key, 1, chal, mine, bl)) != 0)
			goto out;
		if (CRYPTO_memcmp(wit, mine, bl) != 0) {
			util_trace(1, "piv: card failed mutual authentication");
			r = PIV_ERR_PROTO;
			goto out;
		}
	}
	r = 0;
out:
	piv_leave(p);
	util_wipe(req, sizeof(req));
	util_wipe(rsp, sizeof(rsp));
	util_wipe(wit, sizeof(wit));
	util_wipe(plain, sizeof(plain));
	util_wipe(chal, sizeof(chal));
	util_wipe(mine, sizeof(mine));
	return r;
}

int
piv_auth_mgm(piv_card_t *p, uint8_t alg, const uint8_t *key, size_t keylen,
    int *ms)
{
	return mgm_auth(p, alg, key, keylen, 1, ms);
}

int
piv_auth_mgm_single(piv_card_t *p, uint8_t alg, const uint8_t *key,
    size_t keylen, int *ms)
{
	return mgm_auth(p, alg, key, keylen, 0, ms);
}

int
piv_set_mgm(piv_card_t *p, uint8_t alg, const uint8_t *key, size_t keylen,
    int require_touch, int *ms)
{
	const EVP_CIPHER *ciph;
	struct piv_cmd c = { .cla = PIV_CLA, .ins = PIV_INS_YK_SET_MGMKEY,
	    .p1 = 0xff, .p2 = 0xff, .secret = 1 };
	uint8_t req[3 + 32];
	size_t bl;
	wbuf_t b;
	int r;

	if (p == NULL)
		return PIV_ERR_ARG;
	if ((r = mgm_params(alg, key, keylen, &bl, &ciph)) != 0)
		return r;
	wbuf_init(&b, req, sizeof(req));
	wbuf_put_u8(&b, alg);
	wbuf_put_tlv(&b, PIV_SLOT_MGM, key, keylen);
	c.p2 = require_touch ? 0xfe : 0xff;
	c.data = req;
	c.len = b.len;
	r = wbuf_check(&b) != 0 ? PIV_ERR_ARG :
	    piv_call(p, &c, NULL, 0, NULL, ms);
	util_wipe(req, sizeof(req));
	return r;
}
