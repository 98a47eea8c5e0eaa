/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_crypto.c — `usbpiv sign` and `usbpiv decrypt`.  The token only
 * does the raw private-key operation; hashing and RSA padding (PKCS#1 v1.5
 * and PSS, RFC 8017 §9) are done here with OpenSSL, and ECDSA signatures
 * come out DER-encoded so `openssl dgst -verify` takes them.
 */
#include "usbpiv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

#define SIGN_INPUT_MAX	(256u * 1024 * 1024)
#define ED25519_INPUT_MAX	(64u * 1024)	/* the token gets it whole */
#define RSA_MAX_BYTES	512

/* A token may answer ECDSA as DER (PIV) or as raw r||s: give DER. */
static int
ecdsa_to_der(const uint8_t *sig, size_t len, size_t fb, uint8_t **der,
    size_t *derlen)
{
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	const unsigned char *p = sig;
	unsigned char *out = NULL;
	int n;

	*der = NULL;
	*derlen = 0;
	if ((s = d2i_ECDSA_SIG(NULL, &p, (long)len)) != NULL &&
	    p == sig + len) {
		ECDSA_SIG_free(s);
		if ((*der = malloc(len)) == NULL)
			return -1;
		memcpy(*der, sig, len);
		*derlen = len;
		return 0;
	}
	ECDSA_SIG_free(s);
	ERR_clear_error();
	if (len != 2 * fb)
		return -1;
	if ((s = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, (int)fb, NULL)) == NULL ||
	    (sv = BN_bin2bn(sig + fb, (int)fb, NULL)) == NULL ||
	    ECDSA_SIG_set0(s, r, sv) != 1) {
		BN_free(r);
		BN_free(sv);
		ECDSA_SIG_free(s);
		return -1;
	}
	n = i2d_ECDSA_SIG(s, &out);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return -1;
	if ((*der = malloc((size_t)n)) == NULL) {
		OPENSSL_free(out);
		return -1;
	}
	memcpy(*der, out, (size_t)n);
	OPENSSL_free(out);
	*derlen = (size_t)n;
	return 0;
}

/* Runs op; on "security status not satisfied" verifies the PIN and runs
 * it once more. */
static int
with_pin(struct token *t, const struct opts *o, int decipher, int alg,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen, int *ex)
{
	int r, pass, ms;

	*ex = EX_OK;
	for (pass = 0; pass < 2; pass++) {
		ms = CLI_OP_MS;
		r = decipher ?
		    piv_decipher(t->piv, (uint8_t)o->slot, (uint8_t)alg, in,
		    inlen, out, cap, outlen, &ms) :
		    piv_sign(t->piv, (uint8_t)o->slot, (uint8_t)alg, in, inlen,
		    out, cap, outlen, &ms);
		if (r != PIV_ERR_AUTH_REQUIRED || pass > 0 || t->pin_ok)
			break;
		if ((*ex = cli_verify_pin(t, o)) != EX_OK)
			return r;
	}
	return r;
}

int
cmd_sign(const struct globals *g, struct opts *o)
{
	struct token t;
	EVP_PKEY *pub = NULL;
	const EVP_MD *md;
	uint8_t *msg = NULL, h[EVP_MAX_MD_SIZE], blk[RSA_MAX_BYTES];
	uint8_t sig[1024], *der = NULL;
	const uint8_t *tbs;
	unsigned int hlen = 0;
	size_t msglen = 0, siglen = 0, derlen = 0, tbslen, fb, k;
	int ex, r, alg, pss = 0;
	FILE *fp;

	if (o->slot < 0) {
		cli_err("sign: --slot is required");
		return EX_USAGE;
	}
	if ((md = EVP_get_digestbyname(o->hash != NULL ? o->hash :
	    "sha256")) == NULL || EVP_MD_get_size(md) < 20) {
		cli_err("sign: unknown hash '%s' (sha1 sha224 sha256 sha384 "
		    "sha512)", o->hash);
		return EX_USAGE;
	}
	if (o->padding != NULL) {
		if (strcmp(o->padding, "pss") == 0)
			pss = 1;
		else if (strcmp(o->padding, "pkcs1") != 0) {
			cli_err("sign: bad --padding '%s' (pkcs1 pss)",
			    o->padding);
			return EX_USAGE;
		}
	}
	if (cli_read_file(o->in, SIGN_INPUT_MAX, &msg, &msglen) != 0)
		return EX_ERR;
	if ((ex = token_open(g, &t)) != EX_OK) {
		free(msg);
		return ex;
	}
	if ((ex = cli_slot_key(&t, "sign", o->slot, &pub, &alg)) != EX_OK)
		goto out;
	ex = EX_ERR;
	if (alg != PIV_ALG_ED25519 &&
	    EVP_Digest(msg, msglen, h, &hlen, md, NULL) != 1) {
		cli_err("sign: hashing failed");
		goto out;
	}
	if (cli_alg_is_rsa(alg)) {
		k = (size_t)cli_rsa_bytes(alg);
		/* PSS: salt of the hash's length, MGF1 with that hash */
		if ((pss ? util_rsa_pss_encode(md, md, hlen, h, hlen, 8 * k,
		    blk, k) :
		    util_rsa_pkcs1_encode(md, h, hlen, blk, k)) != 0) {
			cli_err("sign: cannot pad for a %zu-byte modulus", k);
			goto out;
		}
		tbs = blk;
		tbslen = k;
	} else if (cli_alg_is_ec(alg)) {
		/* The hash as an integer of the field size (FIPS 186-4 6.4):
		 * leftmost bits if longer, zero-extended if shorter. */
		fb = alg == PIV_ALG_ECCP256 ? 32 : 48;
		memset(blk, 0, fb);
		if (hlen >= fb)
			memcpy(blk, h, fb);
		else
			memcpy(blk + fb - hlen, h, hlen);
		tbs = blk;
		tbslen = fb;
	} else if (alg == PIV_ALG_ED25519) {
		if (msglen > ED25519_INPUT_MAX) {
			cli_err("sign: Ed25519 signs the message itself: at most "
			    "%u bytes", ED25519_INPUT_MAX);
			goto out;
		}
		tbs = msg;
		tbslen = msglen;
	} else {
		cli_err("sign: slot %02x holds a %s key, which cannot sign",
		    o->slot, cli_alg_name(alg));
		goto out;
	}
	r = with_pin(&t, o, 0, alg, tbs, tbslen, sig, sizeof(sig), &siglen,
	    &ex);
	if (ex != EX_OK)
		goto out;
	if (r != 0) {
		ex = cli_piv_fail("sign", r);
		goto out;
	}
	if (cli_alg_is_ec(alg)) {
		if (ecdsa_to_der(sig, siglen, alg == PIV_ALG_ECCP256 ? 32 : 48,
		    &der, &derlen) != 0) {
			cli_err("sign: the token's ECDSA signature is malformed "
			    "(or no memory to encode it)");
			ex = EX_ERR;
			goto out;
		}
		memcpy(sig, der, derlen);	/* derlen <= 2 * 48 + 9 */
		siglen = derlen;
	}
	if ((fp = cli_open_out(o->out, 1)) == NULL) {
		ex = EX_ERR;
		goto out;
	}
	fwrite(sig, 1, siglen, fp);
	ex = cli_close_out(fp, o->out) == 0 ? EX_OK : EX_ERR;
out:
	util_wipe(blk, sizeof(blk));
	free(der);
	free(msg);
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

/* The public point the token wants for ECDH. */
static int
peer_point(const EVP_PKEY *peer, int alg, uint8_t *pt, size_t cap,
    size_t *len)
{
	uint8_t *enc = NULL;
	size_t n;
	int palg;

	*len = 0;
	if (cli_alg_of_pkey(peer, &palg) != 0 || palg != alg)
		return -1;
	if (alg == PIV_ALG_X25519) {
		n = cap;
		if (EVP_PKEY_get_raw_public_key(peer, pt, &n) != 1)
			return -1;
		*len = n;
		return 0;
	}
	n = EVP_PKEY_get1_encoded_public_key((EVP_PKEY *)(uintptr_t)peer, &enc);
	if (n == 0 || n > cap) {
		OPENSSL_free(enc);
		return -1;
	}
	memcpy(pt, enc, n);
	*len = n;
	OPENSSL_free(enc);
	return 0;
}

int
cmd_decrypt(const struct globals *g, struct opts *o)
{
	struct token t;
	EVP_PKEY *pub = NULL, *peer = NULL;
	uint8_t *in = NULL, blk[RSA_MAX_BYTES], out[RSA_MAX_BYTES], pt[160];
	uint8_t plain[RSA_MAX_BYTES];
	size_t inlen = 0, outlen = 0, k, ptlen, plainlen = 0;
	int ex, r, alg, raw = 0, pass, ms;
	FILE *fp;

	if (o->slot < 0) {
		cli_err("decrypt: --slot is required");
		return EX_USAGE;
	}
	if (o->padding != NULL) {
		if (strcmp(o->padding, "none") == 0)
			raw = 1;
		else if (strcmp(o->padding, "pkcs1") != 0) {
			cli_err("decrypt: bad --padding '%s' (pkcs1 none)",
			    o->padding);
			return EX_USAGE;
		}
	}
	if (o->peer != NULL && cli_load_pubkey(o->peer, &peer) != 0)
		return EX_ERR;
	if (o->peer == NULL &&
	    cli_read_file(o->in, RSA_MAX_BYTES, &in, &inlen) != 0)
		return EX_ERR;
	if ((ex = token_open(g, &t)) != EX_OK)
		goto out0;
	if ((ex = cli_slot_key(&t, "decrypt", o->slot, &pub, &alg)) != EX_OK)
		goto out;
	ex = EX_ERR;
	if (cli_alg_is_rsa(alg)) {
		if (peer != NULL) {
			cli_err("decrypt: --peer is for EC and X25519 keys");
			ex = EX_USAGE;
			goto out;
		}
		k = (size_t)cli_rsa_bytes(alg);
		if (inlen > k || inlen == 0) {
			cli_err("decrypt: input must be at most %zu bytes (one "
			    "RSA block)", k);
			goto out;
		}
		memset(blk, 0, k - inlen);
		memcpy(blk + k - inlen, in, inlen);
		r = with_pin(&t, o, 1, alg, blk, k, out, sizeof(out), &outlen,
		    &ex);
		if (ex != EX_OK)
			goto out;
		if (r != 0) {
			ex = cli_piv_fail("decrypt", r);
			goto out;
		}
		/* constant time (util_rsapad.c): the padding check of a
		 * secret block must not leak through timing */
		if (!raw && util_rsa_unpad_pkcs1(out, outlen, plain,
		    sizeof(plain), &plainlen) != 0) {
			/* with_pin left ex at EX_OK: a wrong ciphertext must
			 * not look like an empty plaintext */
			cli_err("decrypt: decryption error (the input is not "
			    "PKCS#1 v1.5 ciphertext for this key)");
			ex = EX_ERR;
			goto out;
		}
		if (!raw) {
			memcpy(out, plain, plainlen);
			outlen = plainlen;
		}
	} else if (cli_alg_is_ec(alg) || alg == PIV_ALG_X25519) {
		if (peer == NULL) {
			cli_err("decrypt: slot %02x holds a %s key: give the peer "
			    "public key with --peer", o->slot, cli_alg_name(alg));
			ex = EX_USAGE;
			goto out;
		}
		if (peer_point(peer, alg, pt, sizeof(pt), &ptlen) != 0) {
			cli_err("decrypt: the peer key is not a %s key",
			    cli_alg_name(alg));
			goto out;
		}
		for (pass = 0; pass < 2; pass++) {
			ms = CLI_OP_MS;
			r = piv_ecdh(t.piv, (uint8_t)o->slot, (uint8_t)alg, pt,
			    ptlen, out, sizeof(out), &outlen, &ms);
			if (r != PIV_ERR_AUTH_REQUIRED || pass > 0 || t.pin_ok)
				break;
			if ((ex = cli_verify_pin(&t, o)) != EX_OK)
				goto out;
		}
		if (r != 0) {
			ex = cli_piv_fail("decrypt (ECDH)", r);
			goto out;
		}
	} else {
		cli_err("decrypt: slot %02x holds a %s key, which cannot "
		    "decrypt", o->slot, cli_alg_name(alg));
		goto out;
	}
	if ((fp = cli_open_out(o->out, 1)) == NULL)
		goto out;
	fwrite(out, 1, outlen, fp);
	ex = cli_close_out(fp, o->out) == 0 ? EX_OK : EX_ERR;
out:
	util_wipe(out, sizeof(out));
	util_wipe(plain, sizeof(plain));
	EVP_PKEY_free(pub);
	token_close(&t);
out0:
	EVP_PKEY_free(peer);
	free(in);
	return ex;
}
