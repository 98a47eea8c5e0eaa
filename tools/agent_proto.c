/* SPDX-License-Identifier: MIT */
/*
 * tools/agent_proto.c — the SSH agent protocol's messages: a pure parser
 * over util's fail-closed read cursor, and the answer builders.  Every
 * length comes from the client (or, for ECDSA signatures, from the card)
 * and is checked against the bytes present before use.
 */
#include "agent_proto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "../util/util.h"

int
agent_frame_len(const uint8_t hdr[4], size_t *len)
{
	uint32_t n;

	*len = 0;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > AGENT_MSG_MAX)
		return AGENT_ERR_MALFORMED;
	*len = n;
	return 0;
}

/* SSH "string": uint32 length, then that many bytes, at most max. */
static int
get_string(rbuf_t *b, size_t max, const uint8_t **p, size_t *n)
{
	uint32_t l;

	*p = NULL;
	*n = 0;
	if (rbuf_be32(b, &l) != 0 || l > max || rbuf_ptr(b, l, p) != 0)
		return -1;
	*n = l;
	return 0;
}

int
agent_parse(const uint8_t *msg, size_t len, struct agent_req *req)
{
	rbuf_t b;

	memset(req, 0, sizeof(*req));
	if (msg == NULL || len == 0 || len > AGENT_MSG_MAX)
		return AGENT_ERR_MALFORMED;
	rbuf_init(&b, msg, len);
	if (rbuf_u8(&b, &req->type) != 0)
		return AGENT_ERR_MALFORMED;
	switch (req->type) {
	case AGENTC_REQUEST_IDENTITIES:
		break;
	case AGENTC_SIGN_REQUEST:
		if (get_string(&b, AGENT_KEYBLOB_MAX, &req->key,
		    &req->keylen) != 0 ||
		    get_string(&b, AGENT_SIGDATA_MAX, &req->data,
		    &req->datalen) != 0 ||
		    rbuf_be32(&b, &req->flags) != 0)
			goto bad;
		break;
	case AGENTC_LOCK:
	case AGENTC_UNLOCK:
		if (get_string(&b, AGENT_PASS_MAX, &req->pass,
		    &req->passlen) != 0)
			goto bad;
		break;
	default:
		return AGENT_ERR_UNSUPPORTED;
	}
	/* every byte accounted for */
	if (b.err || b.left != 0)
		goto bad;
	return 0;
bad:
	req->key = req->data = req->pass = NULL;
	req->keylen = req->datalen = req->passlen = 0;
	req->flags = 0;
	return AGENT_ERR_MALFORMED;
}

/* ---- output ------------------------------------------------------------ */

void
agent_buf_free(struct agent_buf *b)
{
	if (b->p != NULL)
		util_freezero(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

void
agent_put_bytes(struct agent_buf *b, const void *p, size_t n)
{
	uint8_t *np;
	size_t ncap;

	if (b->err)
		return;
	/* a message never exceeds the length field's bound */
	if (n > AGENT_MSG_MAX + 4 || b->len + n > AGENT_MSG_MAX + 4) {
		b->err = 1;
		return;
	}
	if (b->len + n > b->cap) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap < b->len + n)
			ncap *= 2;
		/* grow by copy so the old bytes can be wiped */
		if ((np = malloc(ncap)) == NULL) {
			b->err = 1;
			return;
		}
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		if (b->p != NULL)
			util_freezero(b->p, b->cap);
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
agent_put_u8(struct agent_buf *b, uint8_t v)
{
	agent_put_bytes(b, &v, 1);
}

void
agent_put_u32(struct agent_buf *b, uint32_t v)
{
	uint8_t l[4];

	l[0] = (uint8_t)(v >> 24);
	l[1] = (uint8_t)(v >> 16);
	l[2] = (uint8_t)(v >> 8);
	l[3] = (uint8_t)v;
	agent_put_bytes(b, l, 4);
}

void
agent_put_string(struct agent_buf *b, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		b->err = 1;
		return;
	}
	agent_put_u32(b, (uint32_t)n);
	agent_put_bytes(b, p, n);
}

void
agent_put_mpint(struct agent_buf *b, const uint8_t *p, size_t n)
{
	uint8_t zero = 0;

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n > 0 && (p[0] & 0x80)) {
		agent_put_u32(b, (uint32_t)(n + 1));
		agent_put_bytes(b, &zero, 1);
		agent_put_bytes(b, p, n);
	} else
		agent_put_string(b, p, n);
}

void
agent_msg_begin(struct agent_buf *b)
{
	agent_put_u32(b, 0);
}

int
agent_msg_end(struct agent_buf *b)
{
	size_t n;

	if (b->err || b->len < 5 || b->len - 4 > AGENT_MSG_MAX)
		return AGENT_ERR_MALFORMED;
	n = b->len - 4;
	b->p[0] = (uint8_t)(n >> 24);
	b->p[1] = (uint8_t)(n >> 16);
	b->p[2] = (uint8_t)(n >> 8);
	b->p[3] = (uint8_t)n;
	return 0;
}

int
agent_msg_simple(struct agent_buf *b, uint8_t type)
{
	agent_msg_begin(b);
	agent_put_u8(b, type);
	return agent_msg_end(b);
}

int
agent_ecdsa_sig(const uint8_t *der, size_t derlen, size_t fieldlen,
    struct agent_buf *out)
{
	ECDSA_SIG *sig = NULL;
	const unsigned char *q = der;
	const BIGNUM *r = NULL, *s = NULL;
	uint8_t buf[66];
	uint8_t *chk = NULL;
	int n, rc = AGENT_ERR_MALFORMED;

	if (der == NULL || derlen == 0 || derlen > 256 || fieldlen == 0 ||
	    fieldlen > sizeof(buf))
		return AGENT_ERR_MALFORMED;
	if ((sig = d2i_ECDSA_SIG(NULL, &q, (long)derlen)) == NULL)
		return AGENT_ERR_MALFORMED;
	/* the whole answer is the signature, in DER (no BER leniency) */
	if ((size_t)(q - der) != derlen)
		goto out;
	n = i2d_ECDSA_SIG(sig, &chk);
	if (n < 0 || (size_t)n != derlen || memcmp(chk, der, derlen) != 0)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	if (r == NULL || s == NULL || BN_is_negative(r) || BN_is_negative(s) ||
	    BN_is_zero(r) || BN_is_zero(s) ||
	    (size_t)BN_num_bytes(r) > fieldlen ||
	    (size_t)BN_num_bytes(s) > fieldlen)
		goto out;
	if (BN_bn2binpad(r, buf, (int)fieldlen) != (int)fieldlen)
		goto out;
	agent_put_mpint(out, buf, fieldlen);
	if (BN_bn2binpad(s, buf, (int)fieldlen) != (int)fieldlen)
		goto out;
	agent_put_mpint(out, buf, fieldlen);
	rc = out->err ? AGENT_ERR_MALFORMED : 0;
out:
	OPENSSL_free(chk);
	ECDSA_SIG_free(sig);
	return rc;
}

int
agent_pkcs1_pad(const uint8_t *h, size_t hlen, uint8_t *em, size_t k)
{
	const EVP_MD *md;

	switch (hlen) {
	case 20: md = EVP_sha1(); break;
	case 32: md = EVP_sha256(); break;
	case 48: md = EVP_sha384(); break;
	case 64: md = EVP_sha512(); break;
	default: return AGENT_ERR_MALFORMED;
	}
	if (h == NULL || em == NULL ||
	    util_rsa_pkcs1_encode(md, h, hlen, em, k) != 0)
		return AGENT_ERR_MALFORMED;
	return 0;
}

static int
type_is(const uint8_t *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

int
agent_cert_pubkey(const uint8_t *cert, size_t len, struct agent_buf *key)
{
	static const char *const types[][2] = {
		{ "ssh-rsa-cert-v01@openssh.com", "ssh-rsa" },
		{ "ecdsa-sha2-nistp256-cert-v01@openssh.com",
		  "ecdsa-sha2-nistp256" },
		{ "ecdsa-sha2-nistp384-cert-v01@openssh.com",
		  "ecdsa-sha2-nistp384" },
		{ "ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519" },
	};
	const uint8_t *t, *f1, *f2 = NULL, *skip;
	size_t tl, l1, l2 = 0, sl, which;
	uint32_t u;
	rbuf_t b;
	int k;

	if (cert == NULL || len == 0 || len > AGENT_KEYBLOB_MAX)
		return AGENT_ERR_MALFORMED;
	rbuf_init(&b, cert, len);
	if (get_string(&b, 64, &t, &tl) != 0)
		return AGENT_ERR_MALFORMED;
	for (which = 0; which < 4 && !type_is(t, tl, types[which][0]); which++)
		;
	if (which == 4)
		return AGENT_ERR_UNSUPPORTED;
	/* nonce, then the key's own fields */
	if (get_string(&b, AGENT_KEYBLOB_MAX, &skip, &sl) != 0 ||
	    get_string(&b, AGENT_KEYBLOB_MAX, &f1, &l1) != 0)
		return AGENT_ERR_MALFORMED;
	if (which != 3 && get_string(&b, AGENT_KEYBLOB_MAX, &f2, &l2) != 0)
		return AGENT_ERR_MALFORMED;
	if (which == 3 && l1 != 32)
		return AGENT_ERR_MALFORMED;
	/* serial (uint64), type (uint32), key id, principals, valid after
	 * and before (uint64 each), critical options, extensions, reserved,
	 * signature key, signature: all there, nothing after */
	if (rbuf_skip(&b, 8) != 0 || rbuf_be32(&b, &u) != 0 ||
	    (u != 1 && u != 2))
		return AGENT_ERR_MALFORMED;
	for (k = 0; k < 2; k++)
		if (get_string(&b, AGENT_KEYBLOB_MAX, &skip, &sl) != 0)
			return AGENT_ERR_MALFORMED;
	if (rbuf_skip(&b, 16) != 0)
		return AGENT_ERR_MALFORMED;
	for (k = 0; k < 5; k++)
		if (get_string(&b, AGENT_KEYBLOB_MAX, &skip, &sl) != 0 ||
		    (k >= 3 && sl == 0))
			return AGENT_ERR_MALFORMED;
	if (b.err || b.left != 0)
		return AGENT_ERR_MALFORMED;
	agent_put_string(key, types[which][1], strlen(types[which][1]));
	agent_put_string(key, f1, l1);
	if (which != 3)
		agent_put_string(key, f2, l2);
	return key->err ? AGENT_ERR_MALFORMED : 0;
}

int
agent_ct_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;
	uint8_t d = 0;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}
