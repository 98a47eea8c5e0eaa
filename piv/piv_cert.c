/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_cert.c — certificate objects (SP 800-73-4 Table 10): inside 0x53,
 * 70 certificate, 71 CertInfo (bit 0: gzip-compressed, a YubiKey habit),
 * FE error detection code (empty).  Decompression has a size ceiling.
 */
#include "piv_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>
#include <zlib.h>

#include "../util/util.h"

#define CERT_MAX	65536	/* ceiling for a (decompressed) certificate */

/* gzip (or zlib) -> *out, at most CERT_MAX bytes, in one inflate call. */
static int
gunzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	z_stream z;
	uint8_t *buf;
	int zr;

	*out = NULL;
	*outlen = 0;
	if (inlen == 0 || inlen > UINT_MAX)
		return PIV_ERR_PROTO;
	if ((buf = malloc(CERT_MAX)) == NULL)
		return PIV_ERR_NOMEM;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 32) != Z_OK) {	/* gzip or zlib */
		free(buf);
		return PIV_ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)inlen;
	z.next_out = buf;
	z.avail_out = CERT_MAX;
	zr = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (zr != Z_STREAM_END) {
		/* truncated, corrupt, or larger than the ceiling */
		free(buf);
		return zr == Z_BUF_ERROR && z.avail_out == 0 ? PIV_ERR_BUFFER :
		    PIV_ERR_PROTO;
	}
	*out = buf;
	*outlen = CERT_MAX - z.avail_out;
	return 0;
}

static int
gzip(const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
	z_stream z;
	uint8_t *buf;
	uLong cap;
	int zr;

	*out = NULL;
	*outlen = 0;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return PIV_ERR_NOMEM;
	cap = deflateBound(&z, (uLong)inlen) + 32;
	if ((buf = malloc(cap)) == NULL) {
		deflateEnd(&z);
		return PIV_ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)inlen;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	zr = deflate(&z, Z_FINISH);
	deflateEnd(&z);
	if (zr != Z_STREAM_END) {
		free(buf);
		return PIV_ERR_CRYPTO;
	}
	*out = buf;
	*outlen = cap - z.avail_out;
	return 0;
}

int
piv_parse_cert_der(const uint8_t *buf, size_t len, uint8_t **der,
    size_t *derlen)
{
	struct piv_tlv c, info;
	uint8_t *plain = NULL;
	size_t plainlen = 0;
	int r, compressed = 0;

	if (der == NULL || derlen == NULL)
		return PIV_ERR_ARG;
	*der = NULL;
	*derlen = 0;
	if (buf == NULL || len == 0)
		return PIV_ERR_NOT_FOUND;	/* an empty (deleted) object */
	if ((r = piv_tlv_find(buf, len, 0x70, &c)) != 0)
		return r == PIV_ERR_NOT_FOUND ? PIV_ERR_NOT_FOUND :
		    PIV_ERR_PROTO;
	if (piv_tlv_find(buf, len, 0x71, &info) == 0 && info.len >= 1)
		compressed = info.value[0] & 0x01;
	if (compressed) {
		if ((r = gunzip(c.value, c.len, &plain, &plainlen)) != 0)
			return r;
	} else if (c.len > 0 && c.len <= CERT_MAX) {
		if ((plain = malloc(c.len)) == NULL)
			return PIV_ERR_NOMEM;
		memcpy(plain, c.value, c.len);
		plainlen = c.len;
	}
	if (plainlen == 0 || plainlen > CERT_MAX) {
		free(plain);
		return PIV_ERR_PROTO;
	}
	*der = plain;
	*derlen = plainlen;
	return 0;
}

int
piv_parse_cert_object(const uint8_t *buf, size_t len, X509 **cert)
{
	uint8_t *der = NULL;
	const uint8_t *q;
	size_t derlen = 0;
	int r;

	if (cert == NULL)
		return PIV_ERR_ARG;
	*cert = NULL;
	if ((r = piv_parse_cert_der(buf, len, &der, &derlen)) != 0)
		return r;
	q = der;
	if ((*cert = d2i_X509(NULL, &q, (long)derlen)) == NULL)
		r = PIV_ERR_PROTO;
	free(der);
	return r;
}

/* Pure: builds the certificate object content (malloc'd). */
int
piv_build_cert_object(const X509 *cert, int compress, uint8_t **out,
    size_t *outlen)
{
	uint8_t *der = NULL, *z = NULL, *buf = NULL;
	const uint8_t *body;
	size_t bodylen, zlen = 0, cap;
	wbuf_t b;
	int derlen, r;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (cert == NULL || out == NULL || outlen == NULL)
		return PIV_ERR_ARG;
	if ((derlen = i2d_X509(cert, &der)) <= 0)
		return PIV_ERR_CRYPTO;
	body = der;
	bodylen = (size_t)derlen;
	if (compress) {
		if ((r = gzip(der, bodylen, &z, &zlen)) != 0)
			goto out;
		body = z;
		bodylen = zlen;
	}
	cap = 1 + 4 + bodylen + 3 + 2;
	if ((buf = malloc(cap)) == NULL) {
		r = PIV_ERR_NOMEM;
		goto out;
	}
	/* 70 certificate, 71 CertInfo (01: gzip), FE error detection */
	wbuf_init(&b, buf, cap);
	wbuf_put_tlv(&b, 0x70, body, bodylen);
	wbuf_put_tlv(&b, 0x71, compress ? "\x01" : "\x00", 1);
	wbuf_put_tlv(&b, 0xfe, NULL, 0);
	if (wbuf_check(&b) != 0) {
		r = PIV_ERR_ARG;
		goto out;
	}
	*out = buf;
	*outlen = b.len;
	buf = NULL;
	r = 0;
out:
	OPENSSL_free(der);
	free(z);
	free(buf);
	return r;
}

int
piv_read_cert(piv_card_t *p, uint8_t slot, X509 **cert, int *ms)
{
	uint8_t *data = NULL;
	size_t len = 0;
	uint32_t obj;
	int r;

	if (cert != NULL)
		*cert = NULL;
	if (p == NULL || cert == NULL || (obj = piv_cert_object(slot)) == 0)
		return PIV_ERR_ARG;
	if ((r = piv_get_data(p, obj, &data, &len, ms)) != 0)
		return r;
	r = piv_parse_cert_object(data, len, cert);
	free(data);
	return r;
}

int
piv_read_cert_der(piv_card_t *p, uint8_t slot, uint8_t **der, size_t *len,
    int *ms)
{
	uint8_t *data = NULL;
	size_t n = 0;
	uint32_t obj;
	int r;

	if (der != NULL)
		*der = NULL;
	if (len != NULL)
		*len = 0;
	if (p == NULL || der == NULL || len == NULL ||
	    (obj = piv_cert_object(slot)) == 0)
		return PIV_ERR_ARG;
	if ((r = piv_get_data(p, obj, &data, &n, ms)) != 0)
		return r;
	r = piv_parse_cert_der(data, n, der, len);
	free(data);
	return r;
}

int
piv_write_cert(piv_card_t *p, uint8_t slot, const X509 *cert, int compress,
    int *ms)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t obj;
	int r;

	if (p == NULL || cert == NULL || (obj = piv_cert_object(slot)) == 0)
		return PIV_ERR_ARG;
	if ((r = piv_build_cert_object(cert, compress, &buf, &len)) != 0)
		return r;
	r = piv_put_data(p, obj, buf, len, ms);
	free(buf);
	return r;
}

int
piv_delete_cert(piv_card_t *p, uint8_t slot, int *ms)
{
	uint32_t obj;

	if (p == NULL || (obj = piv_cert_object(slot)) == 0)
		return PIV_ERR_ARG;
	return piv_put_data(p, obj, NULL, 0, ms);
}
