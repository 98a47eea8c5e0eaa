/* SPDX-License-Identifier: MIT */
/*
 * tools/sshkey.c — public keys in OpenSSH's one-line form (RFC 4253 §6.6,
 * RFC 5656 §3.1, RFC 8709 §4): "TYPE BASE64(blob)".
 */
#include "usbpiv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>

/* A growing byte buffer for the key blob. */
struct blob {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void
blob_put(struct blob *b, const void *p, size_t n)
{
	uint8_t *np;
	size_t ncap;

	if (b->err)
		return;
	if (n > 65536 || b->len + n > 65536) {
		b->err = 1;
		return;
	}
	if (b->len + n > b->cap) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap < b->len + n)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* SSH "string": uint32 length then bytes. */
static void
blob_string(struct blob *b, const void *p, size_t n)
{
	uint8_t l[4];

	l[0] = (uint8_t)(n >> 24);
	l[1] = (uint8_t)(n >> 16);
	l[2] = (uint8_t)(n >> 8);
	l[3] = (uint8_t)n;
	blob_put(b, l, 4);
	blob_put(b, p, n);
}

/* SSH "mpint": two's complement, minimal, a 00 before a set high bit. */
static void
blob_mpint(struct blob *b, const BIGNUM *bn)
{
	uint8_t buf[1 + 1024];
	int n = BN_num_bytes(bn);

	if (BN_is_negative(bn) || n < 0 || (size_t)n > sizeof(buf) - 1) {
		b->err = 1;
		return;
	}
	buf[0] = 0;
	BN_bn2bin(bn, buf + 1);
	if (n > 0 && (buf[1] & 0x80))
		blob_string(b, buf, (size_t)n + 1);
	else
		blob_string(b, buf + 1, (size_t)n);
}

int
ssh_pubkey_blob(const EVP_PKEY *pk, uint8_t **blob, size_t *bloblen,
    const char **typename)
{
	struct blob b;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t raw[32], *pt = NULL;
	size_t rawlen = sizeof(raw), ptlen;
	const char *type = NULL, *curve = NULL;
	int alg, r = -1;

	*blob = NULL;
	*bloblen = 0;
	if (typename != NULL)
		*typename = NULL;
	memset(&b, 0, sizeof(b));
	if (cli_alg_of_pkey(pk, &alg) != 0)
		return -1;
	switch (alg) {
	case PIV_ALG_RSA1024:
	case PIV_ALG_RSA2048:
	case PIV_ALG_RSA3072:
	case PIV_ALG_RSA4096:
		type = "ssh-rsa";
		if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1)
			goto out;
		blob_string(&b, type, strlen(type));
		blob_mpint(&b, e);
		blob_mpint(&b, n);
		break;
	case PIV_ALG_ECCP256:
	case PIV_ALG_ECCP384:
		if (alg == PIV_ALG_ECCP256) {
			type = "ecdsa-sha2-nistp256";
			curve = "nistp256";
		} else {
			type = "ecdsa-sha2-nistp384";
			curve = "nistp384";
		}
		/* Uncompressed point (the default encoding of a fresh key). */
		ptlen = EVP_PKEY_get1_encoded_public_key((EVP_PKEY *)(uintptr_t)pk,
		    &pt);
		if (ptlen == 0 || pt == NULL || pt[0] != 0x04)
			goto out;
		blob_string(&b, type, strlen(type));
		blob_string(&b, curve, strlen(curve));
		blob_string(&b, pt, ptlen);
		break;
	case PIV_ALG_ED25519:
		type = "ssh-ed25519";
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1 ||
		    rawlen != 32)
			goto out;
		blob_string(&b, type, strlen(type));
		blob_string(&b, raw, rawlen);
		break;
	default:
		goto out;	/* X25519 cannot sign: no SSH form */
	}
	if (b.err)
		goto out;
	*blob = b.p;
	*bloblen = b.len;
	b.p = NULL;
	if (typename != NULL)
		*typename = type;
	r = 0;
out:
	free(b.p);
	OPENSSL_free(pt);
	BN_free(n);
	BN_free(e);
	return r;
}

int
ssh_pubkey_line(const EVP_PKEY *pk, char **line)
{
	uint8_t *blob = NULL;
	size_t bloblen, tl, b64len;
	const char *type;
	char *out = NULL;
	int r = -1;

	*line = NULL;
	if (ssh_pubkey_blob(pk, &blob, &bloblen, &type) != 0)
		return -1;
	tl = strlen(type);
	b64len = 4 * ((bloblen + 2) / 3);
	if ((out = malloc(tl + 1 + b64len + 1)) == NULL)
		goto out;
	memcpy(out, type, tl);
	out[tl] = ' ';
	if (EVP_EncodeBlock((unsigned char *)out + tl + 1, blob, (int)bloblen) !=
	    (int)b64len)
		goto out;
	*line = out;
	out = NULL;
	r = 0;
out:
	free(out);
	free(blob);
	return r;
}

void
ssh_keys_free(struct ssh_key_ent *keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++) {
		EVP_PKEY_free(keys[i].pub);
		free(keys[i].line);
	}
	free(keys);
}

/*
 * OpenSSH 9.2's ssh-keygen -D lists the module's public-key objects first,
 * commented with their CKA_LABEL ("Public key for <slot name>"), then the
 * keys of certificates not already listed.  Our module shows a public-key
 * object for every key, in slot order 9a 9c 9d 9e 82..95 f9, so that is
 * the whole list; the same keys come here from the token directly (from
 * METADATA where the card has it, else from the certificate).  The
 * retired slots as the Key History counts them (all with
 * USBPIV_RETIRED=all), F9 only with USBPIV_ATTEST=1.
 */
int
ssh_token_keys(struct token *t, struct ssh_key_ent **keys, size_t *nkeys)
{
	struct ssh_key_ent *k;
	EVP_PKEY *pub;
	char *line;
	const char *e;
	size_t i, j, n = 0;
	uint8_t on = 0, off = 0;
	int r, alg, slot, nretired = 0, attest, dup, ms = CLI_OP_MS;

	*keys = NULL;
	*nkeys = 0;
	if ((k = calloc(SSH_KEYS_MAX, sizeof(*k))) == NULL)
		return PIV_ERR_NOMEM;
	e = getenv("USBPIV_RETIRED");
	if (e != NULL && strcmp(e, "all") == 0)
		nretired = 20;
	else if ((r = piv_key_history(t->piv, &on, &off, &ms)) == 0)
		nretired = on + off;
	else if (r == PIV_ERR_REMOVED || r == PIV_ERR_TRANSPORT) {
		/* the card went away (or lost power): say so, list nothing */
		free(k);
		return r;
	}
	e = getenv("USBPIV_ATTEST");
	attest = e != NULL && strcmp(e, "1") == 0;
	for (i = 0; i <= cli_key_slots_n && n < SSH_KEYS_MAX; i++) {
		slot = i < cli_key_slots_n ? cli_key_slots[i] : PIV_SLOT_ATTEST;
		if ((slot == PIV_SLOT_ATTEST && !attest) ||
		    (slot >= 0x82 && slot <= 0x95 && slot - 0x82 >= nretired))
			continue;
		pub = NULL;
		if ((r = cli_slot_pubkey(t, slot, &pub, &alg)) != 0) {
			if (r == PIV_ERR_REMOVED || r == PIV_ERR_TRANSPORT) {
				ssh_keys_free(k, n);
				return r;
			}
			if (r != PIV_ERR_NOT_FOUND && r != PIV_ERR_NOT_SUPPORTED)
				cli_warn("slot %02x: %s", slot, piv_strerror(r));
			continue;
		}
		/* OpenSSH refuses RSA keys under 1024 bits */
		if ((EVP_PKEY_is_a(pub, "RSA") && EVP_PKEY_get_bits(pub) < 1024) ||
		    ssh_pubkey_line(pub, &line) != 0) {
			EVP_PKEY_free(pub);
			continue;
		}
		for (j = 0, dup = 0; j < n && !dup; j++)
			dup = strcmp(k[j].line, line) == 0;
		if (dup) {
			free(line);
			EVP_PKEY_free(pub);
			continue;
		}
		k[n].slot = slot;
		k[n].alg = alg;
		k[n].pub = pub;
		k[n].line = line;
		snprintf(k[n].comment, sizeof(k[n].comment), "%s",
		    ssh_slot_comment(slot));
		n++;
	}
	*keys = k;
	*nkeys = n;
	return 0;
}

const char *
ssh_slot_comment(int slot)
{
	static char buf[48];

	switch (slot) {
	case 0x9a: return "Public key for PIV Authentication";
	case 0x9c: return "Public key for Digital Signature";
	case 0x9d: return "Public key for Key Management";
	case 0x9e: return "Public key for Card Authentication";
	case 0xf9: return "Public key for PIV Attestation";
	default:
		snprintf(buf, sizeof(buf), "Public key for Retired Key %d",
		    slot - PIV_SLOT_RETIRED1 + 1);
		return buf;
	}
}
