/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_getresponse.c — a scripted card whose every answer comes from
 * the input, driving the command chaining / 61xx GET RESPONSE / 6Cxx loops
 * and the answer parsers of each command.  Input: one config byte (bit 0
 * extended transport, bit 1 a 34-byte transport), then answers, each a
 * 2-byte big-endian length and that many bytes.  When the input runs out
 * the transport fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../piv/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *p;
	size_t left;
};

static int
f_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct feed *f = h;
	size_t n;

	(void)secret;
	(void)capdu;
	(void)clen;
	(void)ms;
	*rlen = 0;
	if (f->left < 2)
		return PIV_ERR_TRANSPORT;
	n = (size_t)f->p[0] << 8 | f->p[1];
	f->p += 2;
	f->left -= 2;
	if (n > f->left)
		n = f->left;
	if (n > cap)
		return PIV_ERR_BUFFER;
	memcpy(rapdu, f->p, n);
	f->p += n;
	f->left -= n;
	*rlen = n;
	return 0;
}

#define CHECK_LEN(r, n) do { if ((r) != 0 && (n) != 0) __builtin_trap(); } \
	while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
	    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	static uint8_t big[700];
	struct feed f;
	piv_io_t io = { .transmit = f_transmit };
	piv_card_t *p = NULL;
	uint8_t v[3], in[256], out[600], *d = NULL;
	size_t n = 0;
	uint32_t serial;
	int ms = 100000, tries, verified, r;
	struct piv_metadata md;
	struct piv_identity id;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL;

	if (size < 1)
		return 0;
	io.extended = data[0] & 1;
	io.rx_max = data[0] & 2 ? 34 : 0;
	f.p = data + 1;
	f.left = size - 1;
	if (piv_new(&p, &io, &f) != 0)
		return 0;
	memset(in, 0x11, sizeof(in));
	(void)piv_get_version(p, v, &ms);
	(void)piv_get_serial(p, &serial, &ms);
	r = piv_get_data(p, 0x5fc105, &d, &n, &ms);
	CHECK_LEN(r, n);
	free(d);
	d = NULL;
	(void)piv_verify(p, PIV_PIN_REF, "123456", 6, &tries, &ms);
	(void)piv_pin_status(p, PIV_PIN_REF, &verified, &tries, &ms);
	(void)piv_auth_mgm(p, PIV_ALG_3DES, key, sizeof(key), &ms);
	r = piv_sign(p, PIV_SLOT_AUTH, PIV_ALG_ECCP256, in, 32, out,
	    sizeof(out), &n, &ms);
	CHECK_LEN(r, n);
	r = piv_decipher(p, PIV_SLOT_KEYMGMT, PIV_ALG_RSA2048, in, 256, out,
	    sizeof(out), &n, &ms);
	CHECK_LEN(r, n);
	if (piv_metadata(p, PIV_SLOT_AUTH, &md, &ms) == 0)
		piv_metadata_clear(&md);
	if (piv_generate(p, PIV_SLOT_SIGN, PIV_ALG_ECCP256, 0, 0, &pub,
	    &ms) == 0)
		EVP_PKEY_free(pub);
	if (piv_read_cert(p, PIV_SLOT_AUTH, &x, &ms) == 0)
		X509_free(x);
	x = NULL;
	if (piv_attest(p, PIV_SLOT_AUTH, &x, &ms) == 0)
		X509_free(x);
	(void)piv_put_data(p, 0x5fc10a, big, sizeof(big), &ms);
	r = piv_read_protected_mgm(p, out, 32, &n, &ms);
	CHECK_LEN(r, n);
	(void)piv_identity(p, &id, &ms);
	piv_free(&p);
	return 0;
}
