/* SPDX-License-Identifier: MIT */
/* tests/lib/vcard_apdu.c — see vcard_apdu.h. */
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "../../util/util.h"
#include "vcard_apdu.h"


vcard_t *
tv_card_opts(const struct vcard_opts *o)
{
	vcard_t *c = NULL;
	uint8_t rsp[64];
	size_t rlen;

	assert_int_equal(vcard_new(&c, o), 0);
	assert_non_null(c);
	assert_int_equal(tv_hex(c, "00A4040005A000000308", rsp, sizeof(rsp),
	    &rlen), 0x9000);
	return c;
}

vcard_t *
tv_card(void)
{
	return tv_card_opts(NULL);
}

/* One raw APDU; returns the SW, data (without SW) in out. */
int
tv_raw(vcard_t *c, const uint8_t *cmd, size_t n, uint8_t *out, size_t cap,
    size_t *outlen)
{
	uint8_t rsp[70000];
	size_t rlen = 0;

	*outlen = 0;
	assert_int_equal(vcard_apdu(c, cmd, n, rsp, sizeof(rsp), &rlen), 0);
	assert_true(rlen >= 2);
	assert_true(rlen - 2 <= cap);
	memcpy(out, rsp, rlen - 2);
	*outlen = rlen - 2;
	return rsp[rlen - 2] << 8 | rsp[rlen - 1];
}

/* One APDU given in hex; no GET RESPONSE. */
int
tv_hex(vcard_t *c, const char *hex, uint8_t *out, size_t cap, size_t *outlen)
{
	uint8_t cmd[8192];
	size_t n;

	assert_int_equal(util_unhex(hex, cmd, sizeof(cmd), &n), 0);
	return tv_raw(c, cmd, n, out, cap, outlen);
}

/* A command with data (short, or chained in 255-byte parts when longer)
 * and Le 00; collects 61xx answers with GET RESPONSE. */
int
tv_cmd(vcard_t *c, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
    size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	static const uint8_t getrsp[] = { 0x00, 0xc0, 0x00, 0x00, 0x00 };
	uint8_t cmd[300], part[300];
	size_t off = 0, chunk, plen, total = 0;
	int sw;

	*outlen = 0;
	do {
		chunk = n - off > 255 ? 255 : n - off;
		cmd[0] = off + chunk < n ? 0x10 : 0x00;
		cmd[1] = ins;
		cmd[2] = p1;
		cmd[3] = p2;
		plen = 4;
		if (chunk > 0) {
			cmd[plen++] = (uint8_t)chunk;
			memcpy(cmd + plen, data + off, chunk);
			plen += chunk;
		}
		off += chunk;
		if (off < n) {
			sw = tv_raw(c, cmd, plen, part, sizeof(part), &chunk);
			assert_int_equal(chunk, 0);
			if (sw != 0x9000)
				return sw;
			continue;
		}
		cmd[plen++] = 0x00;
		sw = tv_raw(c, cmd, plen, out, cap, &total);
	} while (off < n);
	while ((sw & 0xff00) == 0x6100) {
		assert_true(total + 256 <= cap);
		sw = tv_raw(c, getrsp, sizeof(getrsp), part, sizeof(part),
		    &plen);
		memcpy(out + total, part, plen);
		total += plen;
	}
	*outlen = total;
	return sw;
}

int
tv_verify(vcard_t *c, const char *pin)
{
	uint8_t d[8], out[8];
	size_t n;

	memset(d, 0xff, sizeof(d));
	memcpy(d, pin, strlen(pin));
	return tv_cmd(c, 0x20, 0x00, 0x80, d, 8, out, sizeof(out), &n);
}

/* Mutual authentication with the given management key. */
int
tv_auth_key(vcard_t *c, uint8_t alg, const uint8_t *key, size_t klen)
{
	const EVP_CIPHER *ciph = alg == 0x03 ? EVP_des_ede3_ecb() :
	    alg == 0x08 ? EVP_aes_128_ecb() : alg == 0x0a ?
	    EVP_aes_192_ecb() : EVP_aes_256_ecb();
	size_t bl = alg == 0x03 ? 8 : 16, n;
	uint8_t out[64], req[64], wit[16], chal[16], exp[16];
	int sw;

	(void)klen;
	req[0] = 0x7c;
	req[1] = 0x02;
	req[2] = 0x80;
	req[3] = 0x00;
	sw = tv_cmd(c, 0x87, alg, 0x9b, req, 4, out, sizeof(out), &n);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(n, 4 + bl);
	assert_int_equal(out[0], 0x7c);
	assert_int_equal(out[2], 0x80);
	tv_ecb(ciph, key, out + 4, bl, wit, 0);
	assert_int_equal(RAND_bytes(chal, (int)bl), 1);
	req[0] = 0x7c;
	req[1] = (uint8_t)(4 + 2 * bl);
	req[2] = 0x80;
	req[3] = (uint8_t)bl;
	memcpy(req + 4, wit, bl);
	req[4 + bl] = 0x81;
	req[5 + bl] = (uint8_t)bl;
	memcpy(req + 6 + bl, chal, bl);
	sw = tv_cmd(c, 0x87, alg, 0x9b, req, 6 + 2 * bl, out, sizeof(out), &n);
	if (sw != 0x9000)
		return sw;
	assert_int_equal(n, 4 + bl);
	assert_int_equal(out[2], 0x82);
	tv_ecb(ciph, key, chal, bl, exp, 1);
	assert_memory_equal(out + 4, exp, bl);
	return sw;
}

const uint8_t tv_default_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

int
tv_auth(vcard_t *c)
{
	return tv_auth_key(c, 0x03, tv_default_mgm, 24);
}

void
tv_ecb(const EVP_CIPHER *ciph, const uint8_t *key, const uint8_t *in,
    size_t n, uint8_t *out, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int l1 = 0, l2 = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_CipherInit_ex(ctx, ciph, NULL, key, NULL, enc), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &l1, in, (int)n), 1);
	assert_int_equal(EVP_CipherFinal_ex(ctx, out + l1, &l2), 1);
	assert_int_equal((size_t)(l1 + l2), n);
	EVP_CIPHER_CTX_free(ctx);
}

