/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_vcard.c — the software card's APDU layer and commands.  The
 * input is a flags byte then APDUs, each behind a 2-byte big-endian
 * length.  Flags: bit 0 authenticates with the default management key
 * first, bit 1 verifies the default PIN, bit 2 refuses extended APDUs,
 * bit 3 withholds touch, so that the fuzzer reaches the commands behind
 * those checks.  Every answer must be at least a status word and fit.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "../tests/vtoken/vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

static size_t
send(vcard_t *c, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap)
{
	size_t rlen = 0;

	if (vcard_apdu(c, cmd, n, rsp, cap, &rlen) != 0 || rlen < 2 ||
	    rlen > cap)
		__builtin_trap();
	return rlen;
}

/* Mutual authentication with the default 3DES key. */
static void
authenticate(vcard_t *c)
{
	uint8_t cmd[32] = { 0x00, 0x87, 0x03, 0x9b, 0x04, 0x7c, 0x02, 0x80,
	    0x00 }, rsp[64], wit[8];
	EVP_CIPHER_CTX *ctx;
	size_t n;
	int l = 0;

	n = send(c, cmd, 9, rsp, sizeof(rsp));
	if (n != 14 || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return;
	if (EVP_DecryptInit_ex(ctx, EVP_des_ede3_ecb(), NULL, mgm, NULL) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_DecryptUpdate(ctx, wit, &l, rsp + 4, 8) == 1 && l == 8) {
		memcpy(cmd + 4, "\x16\x7c\x14\x80\x08", 5);
		memcpy(cmd + 9, wit, 8);
		memcpy(cmd + 17, "\x81\x08" "ABCDEFGH", 10);
		send(c, cmd, 27, rsp, sizeof(rsp));
	}
	EVP_CIPHER_CTX_free(ctx);
}

/* RSA key generation is slow, not interesting: skip it. */
static int
slow(const uint8_t *a, size_t n)
{
	size_t i;

	if (n < 2 || a[1] != 0x47)
		return 0;
	for (i = 0; i + 2 < n; i++)
		if (a[i] == 0x80 && a[i + 1] == 0x01 && (a[i + 2] == 0x05 ||
		    a[i + 2] == 0x06 || a[i + 2] == 0x07 || a[i + 2] == 0x16))
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t select[] = { 0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0,
	    0x00, 0x00, 0x03, 0x08 };
	static const uint8_t verify[] = { 0x00, 0x20, 0x00, 0x80, 0x08, '1',
	    '2', '3', '4', '5', '6', 0xff, 0xff };
	static uint8_t rsp[70000];
	struct vcard_opts o;
	vcard_t *c = NULL;
	size_t off = 1, n, cap;
	int count = 0;

	if (size < 1)
		return 0;
	memset(&o, 0, sizeof(o));
	o.no_extended = (data[0] & 4) != 0;
	if (vcard_new(&c, &o) != 0)
		__builtin_trap();
	send(c, select, sizeof(select), rsp, sizeof(rsp));
	if (data[0] & 1)
		authenticate(c);
	if (data[0] & 2)
		send(c, verify, sizeof(verify), rsp, sizeof(rsp));
	if (data[0] & 8)
		vcard_set_touch(c, 0);
	while (size - off >= 2 && count++ < 64) {
		n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		/* vary the room for the answer with the length's top bit */
		cap = (data[off - 2] & 0x80) ? 2 + (n % 300) : sizeof(rsp);
		if (!slow(data + off, n))
			send(c, data + off, n, rsp, cap);
		off += n;
		if (count % 16 == 0)
			vcard_reset(c);
	}
	vcard_free(&c);
	return 0;
}
