/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_cert.c — certificates the token signs: selfsign-cert,
 * request-cert; and delete-cert.
 *
 * The certificate and the request are built with OpenSSL's encoders; the
 * token does only the private-key operation over the to-be-signed bytes.
 * OpenSSL 3.0 lets a caller sign a request externally
 * (i2d_re_X509_REQ_tbs, X509_REQ_set1_signature_algo,
 * X509_REQ_set0_signature) but has no setter for a certificate's inner
 * signature algorithm, so the TBSCertificate is put together here from
 * fields OpenSSL encodes (name, serial, times, SubjectPublicKeyInfo,
 * AlgorithmIdentifier) and the result is parsed back with d2i_X509 and
 * checked with X509_verify against the slot's public key before it is
 * stored.
 */
#include "usbpiv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#define RSA_MAX_BYTES	512
#define SIG_MAX		1024
#define TBS_MAX		(16u * 1024)	/* far above any certificate we build */

/* ---- names ---------------------------------------------------------------- */

/* One "type=value" into n; value already unescaped. */
static int
name_add(X509_NAME *n, const char *type, const char *value)
{
	if (*type == '\0' || *value == '\0') {
		cli_err("empty attribute type or value in the subject");
		return -1;
	}
	if (X509_NAME_add_entry_by_txt(n, type, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0) != 1) {
		ERR_clear_error();
		cli_err("unknown attribute or bad value in '%s=%s' in the "
		    "subject (types: CN O OU C ST L emailAddress serialNumber "
		    "DC UID, or an OID; C takes two letters)", type, value);
		return -1;
	}
	return 0;
}

/*
 * "/CN=a/O=b" (OpenSSL's -subj, yubico-piv-tool): RDNs in the order
 * given.  "CN=a,O=b" (RFC 4514, ykman): the last RDN first, as the RFC
 * says; "\," and "\/" escape a separator.  Returns 0 or -1 (printed).
 */
static int
parse_dn(const char *dn, X509_NAME **out)
{
	X509_NAME *n = NULL;
	char *buf = NULL, **parts = NULL, *w, *eq;
	const char *s;
	char sep;
	size_t len, np = 0, i;
	int r = -1;

	*out = NULL;
	len = strlen(dn);
	if (len == 0 || len > 4096) {
		cli_err("the subject must have 1 to 4096 characters");
		return -1;
	}
	sep = dn[0] == '/' ? '/' : ',';
	s = dn[0] == '/' ? dn + 1 : dn;
	if ((buf = malloc(len + 1)) == NULL ||
	    (parts = calloc(len + 1, sizeof(*parts))) == NULL ||
	    (n = X509_NAME_new()) == NULL) {
		cli_err("out of memory");
		goto out;
	}
	/* Split into buf, unescaping. */
	w = buf;
	parts[np++] = w;
	for (; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			*w++ = *++s;
		} else if (*s == sep) {
			*w++ = '\0';
			parts[np++] = w;
		} else
			*w++ = *s;
	}
	*w = '\0';
	if (sep == '/' && np > 1 && *parts[np - 1] == '\0')
		np--;	/* "/CN=a/" */
	for (i = 0; i < np; i++) {
		const char *p = parts[sep == '/' ? i : np - 1 - i];

		while (*p == ' ')
			p++;
		if ((eq = strchr(p, '=')) == NULL) {
			cli_err("subject part '%s' is not TYPE=VALUE", p);
			goto out;
		}
		*eq = '\0';
		if (name_add(n, p, eq + 1) != 0)
			goto out;
	}
	*out = n;
	n = NULL;
	r = 0;
out:
	X509_NAME_free(n);
	free(parts);
	free(buf);
	return r;
}

/* ---- the card's signature ------------------------------------------------ */

struct sigspec {
	int alg;		/* PIV_ALG_* of the key */
	const EVP_MD *md;	/* NULL for Ed25519 */
	int nid;		/* signature algorithm */
	int param_null;		/* RSA: NULL parameters */
};

/* Chooses hash and signature algorithm for the key; prints on failure. */
static int
sigspec_for(const char *cmd, int alg, const char *hash, struct sigspec *ss)
{
	static const struct { const char *name; int rsa, ec; } tab[] = {
		{ "sha256", NID_sha256WithRSAEncryption, NID_ecdsa_with_SHA256 },
		{ "sha384", NID_sha384WithRSAEncryption, NID_ecdsa_with_SHA384 },
		{ "sha512", NID_sha512WithRSAEncryption, NID_ecdsa_with_SHA512 },
	};
	size_t i;

	memset(ss, 0, sizeof(*ss));
	ss->alg = alg;
	if (alg == PIV_ALG_ED25519) {
		if (hash != NULL)
			cli_warn("%s: Ed25519 signs without a hash; --hash "
			    "ignored", cmd);
		ss->nid = NID_ED25519;
		return EX_OK;
	}
	if (!cli_alg_is_rsa(alg) && !cli_alg_is_ec(alg)) {
		cli_err("%s: a %s key cannot sign", cmd, cli_alg_name(alg));
		return EX_USAGE;
	}
	if (hash == NULL)
		hash = alg == PIV_ALG_ECCP384 ? "sha384" : "sha256";
	for (i = 0; i < UTIL_ARRAY_LEN(tab); i++)
		if (strcmp(hash, tab[i].name) == 0)
			break;
	if (i == UTIL_ARRAY_LEN(tab) ||
	    (ss->md = EVP_get_digestbyname(hash)) == NULL) {
		cli_err("%s: bad --hash '%s' (sha256 sha384 sha512)", cmd, hash);
		return EX_USAGE;
	}
	ss->nid = cli_alg_is_rsa(alg) ? tab[i].rsa : tab[i].ec;
	ss->param_null = cli_alg_is_rsa(alg);
	return EX_OK;
}

/* The AlgorithmIdentifier of the signature; caller frees. */
static X509_ALGOR *
sigspec_algor(const struct sigspec *ss)
{
	X509_ALGOR *a;

	if ((a = X509_ALGOR_new()) == NULL)
		return NULL;
	if (X509_ALGOR_set0(a, OBJ_nid2obj(ss->nid), ss->param_null ?
	    V_ASN1_NULL : V_ASN1_UNDEF, NULL) != 1) {
		X509_ALGOR_free(a);
		return NULL;
	}
	return a;
}

/* ECDSA from the card: DER as PIV specifies, or raw r||s; DER out. */
static int
ecdsa_der(const uint8_t *sig, size_t len, size_t fb, uint8_t *out,
    size_t cap, size_t *outlen)
{
	ECDSA_SIG *s = NULL;
	BIGNUM *r = NULL, *sv = NULL;
	const unsigned char *p = sig;
	unsigned char *der = NULL;
	int n, rc = -1;

	if ((s = d2i_ECDSA_SIG(NULL, &p, (long)len)) != NULL &&
	    p == sig + len) {
		ECDSA_SIG_free(s);
		if (len > cap)
			return -1;
		memcpy(out, sig, len);
		*outlen = len;
		return 0;
	}
	ECDSA_SIG_free(s);
	ERR_clear_error();
	if (len != 2 * fb || (s = ECDSA_SIG_new()) == NULL)
		return -1;
	if ((r = BN_bin2bn(sig, (int)fb, NULL)) == NULL ||
	    (sv = BN_bin2bn(sig + fb, (int)fb, NULL)) == NULL ||
	    ECDSA_SIG_set0(s, r, sv) != 1) {
		BN_free(r);
		BN_free(sv);
		goto out;
	}
	if ((n = i2d_ECDSA_SIG(s, &der)) > 0 && (size_t)n <= cap) {
		memcpy(out, der, (size_t)n);
		*outlen = (size_t)n;
		rc = 0;
	}
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	return rc;
}

/*
 * Signs tbs with the key in slot as ss says: the hash and padding here,
 * the private-key operation on the token (verifying the PIN when it asks
 * for it).  sig gets the value of the signature BIT STRING.  Returns an
 * exit code (printed).
 */
static int
card_sign(struct token *t, const struct opts *o, const char *cmd, int slot,
    const struct sigspec *ss, const uint8_t *tbs, size_t tbslen,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	uint8_t h[EVP_MAX_MD_SIZE], blk[RSA_MAX_BYTES], raw[SIG_MAX];
	const uint8_t *in;
	unsigned int hlen = 0;
	size_t inlen, rawlen = 0, k;
	int r = PIV_ERR_ARG, ex, pass, ms;

	*siglen = 0;
	if (ss->md != NULL && EVP_Digest(tbs, tbslen, h, &hlen, ss->md,
	    NULL) != 1) {
		cli_err("%s: hashing failed", cmd);
		return EX_ERR;
	}
	if (cli_alg_is_rsa(ss->alg)) {
		k = (size_t)cli_rsa_bytes(ss->alg);
		if (util_rsa_pkcs1_encode(ss->md, h, hlen, blk, k) != 0) {
			cli_err("%s: cannot pad for a %zu-byte modulus", cmd, k);
			return EX_ERR;
		}
		in = blk;
		inlen = k;
	} else if (cli_alg_is_ec(ss->alg)) {
		in = h;		/* piv_sign truncates or pads to the field */
		inlen = hlen;
	} else {
		in = tbs;	/* Ed25519: the message itself */
		inlen = tbslen;
	}
	for (pass = 0; pass < 2; pass++) {
		ms = CLI_OP_MS;
		r = piv_sign(t->piv, (uint8_t)slot, (uint8_t)ss->alg, in, inlen,
		    raw, sizeof(raw), &rawlen, &ms);
		if (r != PIV_ERR_AUTH_REQUIRED || pass > 0)
			break;
		/* PIN policy "always" wants it again even after a VERIFY. */
		t->pin_ok = 0;
		if ((ex = cli_verify_pin(t, o)) != EX_OK) {
			util_wipe(blk, sizeof(blk));
			return ex;
		}
	}
	util_wipe(blk, sizeof(blk));
	if (r == PIV_ERR_TOUCH_TIMEOUT || r == PIV_ERR_TIMEOUT) {
		cli_err("%s: the token was not touched in time", cmd);
		return EX_TIMEOUT;
	}
	if (r != 0)
		return cli_piv_fail(cmd, r);
	if (cli_alg_is_rsa(ss->alg)) {
		if (rawlen != (size_t)cli_rsa_bytes(ss->alg) || rawlen > cap) {
			cli_err("%s: the token's RSA signature has %zu bytes", cmd,
			    rawlen);
			return EX_ERR;
		}
		memcpy(sig, raw, rawlen);
		*siglen = rawlen;
	} else if (cli_alg_is_ec(ss->alg)) {
		if (ecdsa_der(raw, rawlen, ss->alg == PIV_ALG_ECCP256 ? 32 : 48,
		    sig, cap, siglen) != 0) {
			cli_err("%s: malformed ECDSA signature from the token", cmd);
			return EX_ERR;
		}
	} else {
		if (rawlen != 64 || rawlen > cap) {
			cli_err("%s: the token's Ed25519 signature has %zu bytes",
			    cmd, rawlen);
			return EX_ERR;
		}
		memcpy(sig, raw, rawlen);
		*siglen = rawlen;
	}
	return EX_OK;
}

/* A BIT STRING holding sig with no unused bits; caller frees. */
static ASN1_BIT_STRING *
sig_bits(const uint8_t *sig, size_t len)
{
	ASN1_BIT_STRING *bs;

	if ((bs = ASN1_BIT_STRING_new()) == NULL)
		return NULL;
	if (ASN1_BIT_STRING_set(bs, (unsigned char *)(uintptr_t)sig,
	    (int)len) != 1) {
		ASN1_BIT_STRING_free(bs);
		return NULL;
	}
	/* Say "0 unused bits" instead of letting i2d trim trailing zeros. */
	bs->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	return bs;
}

/* ---- DER assembly ---------------------------------------------------------- */

struct der {
	uint8_t *p;
	size_t len, cap;
};

static int
der_add(struct der *d, const uint8_t *p, size_t n)
{
	uint8_t *np;
	size_t want;

	if (n > TBS_MAX || d->len + n > TBS_MAX)
		return -1;
	if (d->len + n > d->cap) {
		want = d->cap ? d->cap * 2 : 512;
		while (want < d->len + n)
			want *= 2;
		if ((np = realloc(d->p, want)) == NULL)
			return -1;
		d->p = np;
		d->cap = want;
	}
	memcpy(d->p + d->len, p, n);
	d->len += n;
	return 0;
}

/* Appends what an i2d function encodes (n <= 0 is an error). */
static int
der_add_i2d(struct der *d, int n, uint8_t *enc)
{
	int r = n > 0 ? der_add(d, enc, (size_t)n) : -1;

	OPENSSL_free(enc);
	return r;
}

/* Appends TAG LEN content. */
static int
der_add_tlv(struct der *d, uint8_t tag, const struct der *content)
{
	uint8_t hdr[5];
	wbuf_t b;

	wbuf_init(&b, hdr, sizeof(hdr));
	wbuf_put_tag(&b, tag);
	wbuf_put_len(&b, content->len);
	if (wbuf_check(&b) != 0 || der_add(d, hdr, b.len) != 0)
		return -1;
	return der_add(d, content->p, content->len);
}

static void
der_free(struct der *d)
{
	free(d->p);
	memset(d, 0, sizeof(*d));
}

/* A random positive 128-bit serial number (RFC 5280: at most 20 bytes). */
static ASN1_INTEGER *
random_serial(void)
{
	BIGNUM *bn;
	ASN1_INTEGER *ai = NULL;

	if ((bn = BN_new()) == NULL)
		return NULL;
	if (BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return ai;
}

/*
 * TBSCertificate (RFC 5280 4.1), version 3 without extensions (as ykman
 * makes them), issuer = subject.
 */
static int
build_tbs(const X509_NAME *name, EVP_PKEY *pub, const X509_ALGOR *alg,
    long days, struct der *out)
{
	static const uint8_t v3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };
	struct der body, validity;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *nb = NULL, *na = NULL;
	uint8_t *enc;
	int n, r = -1;

	memset(&body, 0, sizeof(body));
	memset(&validity, 0, sizeof(validity));
	if ((serial = random_serial()) == NULL ||
	    (nb = X509_gmtime_adj(NULL, 0)) == NULL ||
	    (na = X509_time_adj_ex(NULL, (int)days, 0, NULL)) == NULL)
		goto out;
	if (der_add(&body, v3, sizeof(v3)) != 0)
		goto out;
	enc = NULL;
	n = i2d_ASN1_INTEGER(serial, &enc);
	if (der_add_i2d(&body, n, enc) != 0)
		goto out;
	enc = NULL;
	n = i2d_X509_ALGOR(alg, &enc);
	if (der_add_i2d(&body, n, enc) != 0)
		goto out;
	enc = NULL;
	n = i2d_X509_NAME(name, &enc);
	if (der_add_i2d(&body, n, enc) != 0)
		goto out;
	enc = NULL;
	n = i2d_ASN1_TIME(nb, &enc);
	if (der_add_i2d(&validity, n, enc) != 0)
		goto out;
	enc = NULL;
	n = i2d_ASN1_TIME(na, &enc);
	if (der_add_i2d(&validity, n, enc) != 0 ||
	    der_add_tlv(&body, 0x30, &validity) != 0)
		goto out;
	enc = NULL;
	n = i2d_X509_NAME(name, &enc);
	if (der_add_i2d(&body, n, enc) != 0)
		goto out;
	enc = NULL;
	n = i2d_PUBKEY(pub, &enc);
	if (der_add_i2d(&body, n, enc) != 0)
		goto out;
	r = der_add_tlv(out, 0x30, &body);
out:
	der_free(&body);
	der_free(&validity);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(nb);
	ASN1_TIME_free(na);
	return r;
}

/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue } */
static int
build_cert(const struct der *tbs, const X509_ALGOR *alg, const uint8_t *sig,
    size_t siglen, X509 **cert)
{
	struct der body, whole;
	ASN1_BIT_STRING *bs = NULL;
	const unsigned char *p;
	uint8_t *enc;
	int n, r = -1;

	*cert = NULL;
	memset(&body, 0, sizeof(body));
	memset(&whole, 0, sizeof(whole));
	if ((bs = sig_bits(sig, siglen)) == NULL ||
	    der_add(&body, tbs->p, tbs->len) != 0)
		goto out;
	enc = NULL;
	n = i2d_X509_ALGOR(alg, &enc);
	if (der_add_i2d(&body, n, enc) != 0)
		goto out;
	enc = NULL;
	n = i2d_ASN1_BIT_STRING(bs, &enc);
	if (der_add_i2d(&body, n, enc) != 0 ||
	    der_add_tlv(&whole, 0x30, &body) != 0)
		goto out;
	p = whole.p;
	if ((*cert = d2i_X509(NULL, &p, (long)whole.len)) != NULL &&
	    p == whole.p + whole.len)
		r = 0;
	else {
		X509_free(*cert);
		*cert = NULL;
	}
out:
	ASN1_BIT_STRING_free(bs);
	der_free(&body);
	der_free(&whole);
	return r;
}

/* ---- commands ---------------------------------------------------------- */

static int
need_slot_subject(const struct opts *o, const char *cmd, X509_NAME **name)
{
	*name = NULL;
	if (o->slot < 0) {
		cli_err("%s: --slot is required", cmd);
		return EX_USAGE;
	}
	if (o->slot == PIV_SLOT_ATTEST) {
		cli_err("%s: slot f9 is the attestation key", cmd);
		return EX_USAGE;
	}
	if (o->subject == NULL) {
		cli_err("%s: --subject is required (e.g. \"CN=my key\")", cmd);
		return EX_USAGE;
	}
	if (parse_dn(o->subject, name) != 0)
		return EX_USAGE;
	return EX_OK;
}

int
cmd_selfsign_cert(const struct globals *g, struct opts *o)
{
	struct token t;
	struct sigspec ss;
	struct der tbs;
	X509_NAME *name = NULL;
	X509_ALGOR *alg = NULL;
	X509 *cert = NULL;
	EVP_PKEY *pub = NULL;
	FILE *fp;
	uint8_t sig[SIG_MAX];
	size_t siglen = 0;
	int ex, r, kalg, ms = CLI_OP_MS;
	char line[512];

	memset(&tbs, 0, sizeof(tbs));
	if ((ex = need_slot_subject(o, "selfsign-cert", &name)) != EX_OK)
		return ex;
	if (o->out != NULL && strcmp(o->out, "-") != 0) {
		/* an unwritable -o fails before the token is used */
		if ((fp = cli_open_out(o->out, 0)) == NULL ||
		    cli_close_out(fp, o->out) != 0) {
			X509_NAME_free(name);
			return EX_ERR;
		}
	}
	if ((ex = token_open(g, &t)) != EX_OK) {
		X509_NAME_free(name);
		return ex;
	}
	if ((ex = cli_slot_key(&t, "selfsign-cert", o->slot, &pub,
	    &kalg)) != EX_OK ||
	    (ex = sigspec_for("selfsign-cert", kalg, o->hash, &ss)) != EX_OK)
		goto out;
	ex = EX_ERR;
	if ((alg = sigspec_algor(&ss)) == NULL ||
	    build_tbs(name, pub, alg, o->valid_days > 0 ? o->valid_days : 365,
	    &tbs) != 0) {
		cli_err("selfsign-cert: cannot encode the certificate");
		goto out;
	}
	/* Sign first: the PIN it may ask for also serves a PIN-protected
	 * management key below. */
	if ((ex = card_sign(&t, o, "selfsign-cert", o->slot, &ss, tbs.p,
	    tbs.len, sig, sizeof(sig), &siglen)) != EX_OK)
		goto out;
	ex = EX_ERR;
	if (build_cert(&tbs, alg, sig, siglen, &cert) != 0) {
		cli_err("selfsign-cert: cannot encode the certificate");
		goto out;
	}
	if (X509_verify(cert, pub) != 1) {
		ERR_clear_error();
		cli_err("selfsign-cert: the token's signature does not verify "
		    "with the slot's public key");
		goto out;
	}
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if ((r = piv_write_cert(t.piv, (uint8_t)o->slot, cert, o->compress,
	    &ms)) != 0 && cli_lost(&t, r, 0xdb)) {
		if ((ex = cli_lost_seen("selfsign-cert: storing the certificate",
		    r, cli_cert_is(&t, o->slot, cert, o->compress), "the "
		    "certificate may or may not have been stored", "`usbpiv "
		    "export-cert --slot SLOT` shows the slot's certificate "
		    "now")) != EX_OK)
			goto out;
		r = 0;
	}
	if (r != 0) {
		ex = cli_piv_fail("selfsign-cert: storing the certificate", r);
		goto out;
	}
	ms = 10000;
	if ((r = piv_key_history_note(t.piv, (uint8_t)o->slot, &ms)) != 0)
		cli_warn("key history not updated (%s): the module may not list "
		    "slot %02x", piv_strerror(r), (unsigned)o->slot);
	ex = EX_OK;
	if (o->out != NULL) {
		if ((fp = cli_open_out(o->out, 0)) == NULL)
			ex = EX_ERR;
		else if (PEM_write_X509(fp, cert) != 1) {
			cli_close_out(fp, o->out);
			cli_err("selfsign-cert: cannot encode the certificate "
			    "(it is stored on the token)");
			ex = EX_ERR;
		} else if (cli_close_out(fp, o->out) != 0)
			ex = EX_ERR;
	}
	fprintf(stderr, "usbpiv: self-signed certificate for %s stored in slot "
	    "%02x\n", cli_name_line(X509_get_subject_name(cert), line,
	    sizeof(line)), (unsigned)o->slot);
out:
	der_free(&tbs);
	X509_free(cert);
	X509_ALGOR_free(alg);
	X509_NAME_free(name);
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

int
cmd_request_cert(const struct globals *g, struct opts *o)
{
	struct token t;
	struct sigspec ss;
	X509_NAME *name = NULL;
	X509_ALGOR *alg = NULL;
	X509_REQ *req = NULL;
	ASN1_BIT_STRING *bs = NULL;
	EVP_PKEY *pub = NULL;
	FILE *fp;
	uint8_t sig[SIG_MAX], *tbs = NULL;
	size_t siglen = 0;
	int ex, n, kalg, der = 0, ok;

	if ((ex = need_slot_subject(o, "request-cert", &name)) != EX_OK)
		return ex;
	if (o->format != NULL && strcmp(o->format, "pem") != 0) {
		if (strcmp(o->format, "der") != 0) {
			cli_err("bad --format '%s' (pem der)", o->format);
			X509_NAME_free(name);
			return EX_USAGE;
		}
		der = 1;
	}
	if ((ex = token_open(g, &t)) != EX_OK) {
		X509_NAME_free(name);
		return ex;
	}
	if ((ex = cli_slot_key(&t, "request-cert", o->slot, &pub,
	    &kalg)) != EX_OK ||
	    (ex = sigspec_for("request-cert", kalg, o->hash, &ss)) != EX_OK)
		goto out;
	ex = EX_ERR;
	if ((alg = sigspec_algor(&ss)) == NULL || (req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, pub) != 1 ||
	    X509_REQ_set1_signature_algo(req, alg) != 1 ||
	    (n = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		cli_err("request-cert: cannot encode the request");
		goto out;
	}
	if ((ex = card_sign(&t, o, "request-cert", o->slot, &ss, tbs,
	    (size_t)n, sig, sizeof(sig), &siglen)) != EX_OK)
		goto out;
	ex = EX_ERR;
	if ((bs = sig_bits(sig, siglen)) == NULL) {
		cli_err("out of memory");
		goto out;
	}
	X509_REQ_set0_signature(req, bs);
	bs = NULL;
	if (X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		cli_err("request-cert: the token's signature does not verify "
		    "with the slot's public key");
		goto out;
	}
	if ((fp = cli_open_out(o->out, der)) == NULL)
		goto out;
	ok = der ? i2d_X509_REQ_fp(fp, req) == 1 :
	    PEM_write_X509_REQ(fp, req) == 1;
	if (cli_close_out(fp, o->out) == 0 && ok)
		ex = EX_OK;
	else if (!ok)
		cli_err("request-cert: cannot encode the request");
out:
	OPENSSL_free(tbs);
	ASN1_BIT_STRING_free(bs);
	X509_REQ_free(req);
	X509_ALGOR_free(alg);
	X509_NAME_free(name);
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

int
cmd_delete_cert(const struct globals *g, struct opts *o)
{
	struct token t;
	uint8_t *data = NULL;
	size_t len = 0;
	int ex, r, ms = CLI_OP_MS;

	if (o->slot < 0) {
		cli_err("delete-cert: --slot is required");
		return EX_USAGE;
	}
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	/* A card answers a delete of an absent object with success: look. */
	r = piv_get_data(t.piv, piv_cert_object((uint8_t)o->slot), &data, &len,
	    &ms);
	free(data);
	if (r == 0 && len == 0)
		r = PIV_ERR_NOT_FOUND;
	if (r == 0) {
		if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
			goto out;
		ms = CLI_OP_MS;
		r = piv_delete_cert(t.piv, (uint8_t)o->slot, &ms);
	}
	if (r != 0 && cli_lost(&t, r, 0xdb))
		ex = cli_lost_seen("delete-cert", r, cli_object_is(&t,
		    piv_cert_object((uint8_t)o->slot), NULL, 0), "the "
		    "certificate may or may not have been deleted", "`usbpiv "
		    "export-cert --slot SLOT` shows whether it is still there");
	else if (r == PIV_ERR_NOT_FOUND) {
		cli_err("delete-cert: no certificate in slot %02x",
		    (unsigned)o->slot);
		ex = EX_NOTFOUND;
	} else if (r != 0)
		ex = cli_piv_fail("delete-cert", r);
	else
		fprintf(stderr, "usbpiv: certificate of slot %02x deleted\n",
		    (unsigned)o->slot);
out:
	token_close(&t);
	return ex;
}
