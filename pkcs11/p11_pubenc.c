/* SPDX-License-Identifier: MIT */
/*
 * Attribute values straight from the bytes the card returned.
 *
 * Public keys:
 * the METADATA public-key template (81 modulus, 82 exponent; 86 point) or
 * the key inside a certificate's SubjectPublicKeyInfo.  Built once per key
 * into one DER SubjectPublicKeyInfo (what i2d_PUBKEY writes, byte for
 * byte), with offsets to the point / modulus / exponent inside it, so an
 * attribute read is a copy: no OpenSSL object is made or encoded for it.
 *
 * Certificates: the DER as read, with the offsets of the fields PKCS#11
 * shows (serial number, issuer, subject, the public key), found by
 * walking the structure once; OpenSSL decodes a certificate only when the
 * module needs its key as an object (verify, encrypt, cards without
 * METADATA).
 *
 * Pure functions over bounded buffers; every length from the card is
 * checked before use.
 */
#include <stdlib.h>
#include <string.h>

#include "p11.h"
#include "../util/util.h"

/* AlgorithmIdentifiers, DER. */
static const uint8_t alg_rsa[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
static const uint8_t alg_p256[] = { 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
    0x01, 0x07 };
static const uint8_t alg_p384[] = { 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t alg_ed25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
    0x70 };
static const uint8_t alg_x25519[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
    0x6e };

void
p11_pubenc_clear(struct p11_pubenc *e)
{
	free(e->spki);
	memset(e, 0, sizeof(*e));
}

/* The whole size of a DER TLV with a one-byte tag around n bytes. */
static size_t
der_tlv_size(size_t n)
{
	return 1 + wbuf_len_size(n) + n;
}

/* An unsigned big-endian integer without its leading zero octets. */
static void
strip_zeros(const uint8_t **p, size_t *n)
{
	while (*n > 1 && (*p)[0] == 0) {
		(*p)++;
		(*n)--;
	}
}

int
p11_pubenc_build(uint8_t alg, const uint8_t *key, size_t keylen,
    const uint8_t *e, size_t elen, struct p11_pubenc *out)
{
	const uint8_t *algid;
	size_t alen, klen, nint = 0, eint = 0, bits, total;
	size_t mb = piv_rsa_bytes(alg);
	wbuf_t w;

	memset(out, 0, sizeof(*out));
	if (key == NULL || keylen == 0)
		return -1;
	switch (alg) {
	case PIV_ALG_ECCP256:
		algid = alg_p256, alen = sizeof(alg_p256);
		if (keylen != 65 || key[0] != 0x04)
			return -1;
		break;
	case PIV_ALG_ECCP384:
		algid = alg_p384, alen = sizeof(alg_p384);
		if (keylen != 97 || key[0] != 0x04)
			return -1;
		break;
	case PIV_ALG_ED25519:
	case PIV_ALG_X25519:
		algid = alg == PIV_ALG_ED25519 ? alg_ed25519 : alg_x25519;
		alen = sizeof(alg_ed25519);
		if (keylen != 32)
			return -1;
		break;
	default:
		if (mb == 0 || e == NULL || elen == 0)
			return -1;
		algid = alg_rsa, alen = sizeof(alg_rsa);
		strip_zeros(&key, &keylen);
		strip_zeros(&e, &elen);
		/* a full-size modulus, an odd exponent of at most 64 bits */
		if (keylen != mb || (key[0] & 0x80) == 0 || elen > 8 ||
		    (e[elen - 1] & 1) == 0)
			return -1;
		nint = keylen + 1;	/* sign octet: the top bit is set */
		eint = elen + ((e[0] & 0x80) != 0);
		break;
	}
	/* the BIT STRING holds the point, or RSAPublicKey */
	if (mb != 0)
		klen = der_tlv_size(der_tlv_size(nint) + der_tlv_size(eint));
	else
		klen = keylen;
	bits = der_tlv_size(klen + 1);
	total = der_tlv_size(alen + bits);
	if ((out->spki = malloc(total)) == NULL)
		return -1;
	wbuf_init(&w, out->spki, total);
	wbuf_put_tag(&w, 0x30);
	wbuf_put_len(&w, alen + bits);
	wbuf_put_bytes(&w, algid, alen);
	wbuf_put_tag(&w, 0x03);
	wbuf_put_len(&w, klen + 1);
	wbuf_put_u8(&w, 0x00);		/* no unused bits */
	if (mb != 0) {
		wbuf_put_tag(&w, 0x30);
		wbuf_put_len(&w, der_tlv_size(nint) + der_tlv_size(eint));
		wbuf_put_tag(&w, 0x02);
		wbuf_put_len(&w, nint);
		wbuf_put_u8(&w, 0x00);
	}
	out->pt_off = w.len;
	out->pt_len = keylen;
	wbuf_put_bytes(&w, key, keylen);
	if (mb != 0) {
		wbuf_put_tag(&w, 0x02);
		wbuf_put_len(&w, eint);
		if (eint > elen)
			wbuf_put_u8(&w, 0x00);
		out->e_off = w.len;
		out->e_len = elen;
		wbuf_put_bytes(&w, e, elen);
		out->bits = (CK_ULONG)(keylen * 8);
	}
	out->spki_len = w.len;
	out->alg = alg;
	if (wbuf_check(&w) != 0 || out->spki_len != total) {
		/* cannot happen: sizes above */
		p11_pubenc_clear(out);
		return -1;
	}
	return 0;
}

int
p11_pubenc_from_tpl(uint8_t alg, const uint8_t *tpl, size_t len,
    struct p11_pubenc *out)
{
	struct piv_tlv n, e, pt;

	memset(out, 0, sizeof(*out));
	if (tpl == NULL || len == 0)
		return -1;
	if (piv_rsa_bytes(alg) != 0) {
		if (piv_tlv_find(tpl, len, 0x81, &n) != 0 ||
		    piv_tlv_find(tpl, len, 0x82, &e) != 0)
			return -1;
		return p11_pubenc_build(alg, n.value, n.len, e.value, e.len,
		    out);
	}
	if (piv_tlv_find(tpl, len, 0x86, &pt) != 0)
		return -1;
	return p11_pubenc_build(alg, pt.value, pt.len, NULL, 0, out);
}

/* One DER TLV with a one-octet tag; p and left move past it. */
static int
der_next(const uint8_t **p, size_t *left, uint8_t tag, const uint8_t **v,
    size_t *vlen)
{
	const uint8_t *q = *p;
	size_t l = *left, n, i, k;

	if (l < 2 || q[0] != tag)
		return -1;
	n = q[1];
	q += 2;
	l -= 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 2 || l < k)
			return -1;
		for (n = 0, i = 0; i < k; i++)
			n = n << 8 | q[i];
		q += k;
		l -= k;
	}
	if (n > l)
		return -1;
	*v = q;
	*vlen = n;
	*p = q + n;
	*left = l - n;
	return 0;
}

int
p11_pubenc_from_spki_key(uint8_t alg, const uint8_t *key, size_t len,
    struct p11_pubenc *out)
{
	const uint8_t *seq, *n, *e;
	size_t seqlen, nlen, elen;

	memset(out, 0, sizeof(*out));
	if (key == NULL)
		return -1;
	if (piv_rsa_bytes(alg) == 0)
		return p11_pubenc_build(alg, key, len, NULL, 0, out);
	/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
	 * INTEGER }, and nothing after it */
	if (der_next(&key, &len, 0x30, &seq, &seqlen) != 0 || len != 0 ||
	    der_next(&seq, &seqlen, 0x02, &n, &nlen) != 0 ||
	    der_next(&seq, &seqlen, 0x02, &e, &elen) != 0 || seqlen != 0)
		return -1;
	return p11_pubenc_build(alg, n, nlen, e, elen, out);
}

/* The next TLV with tag at *p: its start, total size and content. */
static int
der_field(const uint8_t *base, const uint8_t **p, size_t *left, uint8_t tag,
    size_t *off, size_t *tlvlen, const uint8_t **v, size_t *vlen)
{
	const uint8_t *start = *p;

	if (der_next(p, left, tag, v, vlen) != 0)
		return -1;
	*off = (size_t)(start - base);
	*tlvlen = (size_t)(*p - start);
	return 0;
}

int
p11_cert_fields(const uint8_t *der, size_t len, struct p11_certf *f)
{
	const uint8_t *p = der, *cert, *tbs, *v, *spki, *alg, *bits;
	size_t left = len, clen, tlen, vlen, off, tl, slen, alen, blen;

	memset(f, 0, sizeof(*f));
	if (der == NULL)
		return -1;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue }, the whole buffer */
	if (der_next(&p, &left, 0x30, &cert, &clen) != 0 || left != 0 ||
	    der_next(&cert, &clen, 0x30, &tbs, &tlen) != 0)
		return -1;
	/* [0] version (optional), serialNumber, signature, issuer,
	 * validity, subject, subjectPublicKeyInfo, ... */
	if (tlen > 0 && tbs[0] == 0xa0 &&
	    der_next(&tbs, &tlen, 0xa0, &v, &vlen) != 0)
		return -1;
	if (der_field(der, &tbs, &tlen, 0x02, &f->serial_off, &f->serial_len,
	    &v, &vlen) != 0 || vlen == 0 ||
	    der_field(der, &tbs, &tlen, 0x30, &off, &tl, &v, &vlen) != 0 ||
	    der_field(der, &tbs, &tlen, 0x30, &f->issuer_off, &f->issuer_len,
	    &v, &vlen) != 0 ||
	    der_field(der, &tbs, &tlen, 0x30, &off, &tl, &v, &vlen) != 0 ||
	    der_field(der, &tbs, &tlen, 0x30, &f->subject_off,
	    &f->subject_len, &v, &vlen) != 0 ||
	    der_field(der, &tbs, &tlen, 0x30, &f->spki_off, &f->spki_len,
	    &spki, &slen) != 0)
		goto bad;
	/* SubjectPublicKeyInfo ::= SEQUENCE { algorithm, BIT STRING } with
	 * no unused bits */
	if (der_next(&spki, &slen, 0x30, &alg, &alen) != 0 ||
	    der_next(&spki, &slen, 0x03, &bits, &blen) != 0 || slen != 0 ||
	    blen < 2 || bits[0] != 0)
		goto bad;
	f->key_off = (size_t)(bits + 1 - der);
	f->key_len = blen - 1;
	return 0;
bad:
	memset(f, 0, sizeof(*f));
	return -1;
}
