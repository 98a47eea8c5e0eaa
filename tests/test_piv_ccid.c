/* SPDX-License-Identifier: MIT */
/*
 * tests/test_piv_ccid.c — piv/ over ccid/ (piv_new_ccid): a minimal CCID
 * reader double (APDU level, short or extended) in front of the software
 * card; PIN, objects, keys through the whole stack; ccid errors mapped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../ccid/ccid.h"
#include "../piv/piv.h"
#include "../util/util.h"
#include "vtoken/vcard.h"

#define FRAME_MAX	(65536 + 64)

struct rdr {
	vcard_t *c;
	uint8_t out[FRAME_MAX];
	size_t outlen;
	int fail;	/* write fails with this CCID error */
	size_t xfr;	/* XfrBlocks seen */
};

static void
frame(struct rdr *d, uint8_t type, const uint8_t *hdr, uint8_t status,
    uint8_t err, const uint8_t *data, size_t n)
{
	d->out[0] = type;
	d->out[1] = (uint8_t)n;
	d->out[2] = (uint8_t)(n >> 8);
	d->out[3] = (uint8_t)(n >> 16);
	d->out[4] = (uint8_t)(n >> 24);
	d->out[5] = hdr[5];
	d->out[6] = hdr[6];
	d->out[7] = status;
	d->out[8] = err;
	d->out[9] = 0;
	if (n > 0)
		memcpy(d->out + 10, data, n);
	d->outlen = 10 + n;
}

static int
d_write(void *h, const uint8_t *buf, size_t len, int *ms)
{
	struct rdr *d = h;
	uint8_t atr[40], *rsp;
	size_t n, rn = 0;

	(void)ms;
	if (d->fail)
		return d->fail;
	assert_true(len >= 10);
	switch (buf[0]) {
	case CCID_PC_ICC_POWER_ON:
		n = vcard_atr(d->c, atr, sizeof(atr));
		frame(d, CCID_RDR_DATA_BLOCK, buf, 0, 0, atr, n);
		break;
	case CCID_PC_ICC_POWER_OFF:
		frame(d, CCID_RDR_SLOT_STATUS, buf, 1, 0, NULL, 0);
		break;
	case CCID_PC_GET_SLOT_STATUS:
		frame(d, CCID_RDR_SLOT_STATUS, buf, 0, 0, NULL, 0);
		break;
	case CCID_PC_XFR_BLOCK:
		d->xfr++;
		rsp = malloc(FRAME_MAX);
		assert_non_null(rsp);
		assert_int_equal(vcard_apdu(d->c, buf + 10, len - 10, rsp,
		    65538, &rn), 0);
		frame(d, CCID_RDR_DATA_BLOCK, buf, 0, 0, rsp, rn);
		free(rsp);
		break;
	default:	/* command not supported */
		frame(d, CCID_RDR_SLOT_STATUS, buf, 0x40, 0, NULL, 0);
		break;
	}
	return 0;
}

static int
d_read(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	struct rdr *d = h;

	(void)ms;
	*got = 0;
	if (d->outlen == 0)
		return CCID_ERR_TIMEOUT;
	if (d->outlen > cap)
		return CCID_ERR_BUFFER;
	memcpy(buf, d->out, d->outlen);
	*got = d->outlen;
	d->outlen = 0;
	return 0;
}

static const ccid_io_t dio = { .write = d_write, .read = d_read };

static void
run(uint32_t level, size_t maxmsg)
{
	struct usb_ccid_desc desc;
	struct rdr *d = calloc(1, sizeof(*d));
	ccid_reader_t *r = NULL;
	piv_card_t *p = NULL;
	uint8_t big[2000], *got = NULL, h[32], sig[128];
	size_t n = 0, sl = 0;
	EVP_PKEY *pub = NULL;
	int ms = 30000, tries;

	assert_non_null(d);
	assert_int_equal(vcard_new(&d->c, NULL), 0);
	memset(&desc, 0, sizeof(desc));
	desc.bcdCCID = 0x0110;
	desc.bVoltageSupport = 0x07;
	desc.dwProtocols = 0x03;
	desc.dwMaxIFSD = 254;
	desc.dwFeatures = USB_CCID_FEAT_AUTO_CONF_ATR |
	    USB_CCID_FEAT_AUTO_VOLTAGE | USB_CCID_FEAT_AUTO_CLOCK |
	    USB_CCID_FEAT_AUTO_BAUD | USB_CCID_FEAT_AUTO_PPS_PROP | level;
	desc.dwMaxCCIDMessageLength = (uint32_t)maxmsg;
	assert_int_equal(ccid_reader_new(&r, &dio, d, &desc), 0);
	assert_int_equal(piv_new_ccid(&p, r, 1), PIV_ERR_ARG);	/* no slot 1 */
	assert_null(p);
	assert_int_equal(piv_new_ccid(&p, r, 0), 0);

	assert_int_equal(piv_verify(p, PIV_PIN_REF, "123456", 6, &tries, &ms),
	    0);
	assert_int_equal(piv_verify(p, PIV_PIN_REF, "", 0, &tries, &ms),
	    PIV_ERR_ARG);
	assert_int_equal(piv_auth_mgm(p, PIV_ALG_3DES, (const uint8_t *)
	    "\1\2\3\4\5\6\7\10\1\2\3\4\5\6\7\10\1\2\3\4\5\6\7\10", 24, &ms), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(piv_put_data(p, 0x5fc10a, big, sizeof(big), &ms), 0);
	assert_int_equal(piv_get_data(p, 0x5fc10a, &got, &n, &ms), 0);
	assert_int_equal(n, sizeof(big));
	assert_memory_equal(got, big, n);
	free(got);
	assert_int_equal(piv_generate(p, PIV_SLOT_SIGN, PIV_ALG_ECCP256, 0, 0,
	    &pub, &ms), 0);
	memset(h, 0x33, sizeof(h));
	assert_int_equal(piv_verify(p, PIV_PIN_REF, "123456", 6, &tries, &ms),
	    0);
	assert_int_equal(piv_sign(p, PIV_SLOT_SIGN, PIV_ALG_ECCP256, h, 32,
	    sig, sizeof(sig), &sl, &ms), 0);
	assert_true(sl > 8);
	EVP_PKEY_free(pub);
	assert_int_equal(piv_apdu_count(p), d->xfr);
	/* reader errors come up as PIV errors */
	d->fail = CCID_ERR_REMOVED;
	assert_int_equal(piv_get_data(p, 0x5fc10a, &got, &n, &ms),
	    PIV_ERR_REMOVED);
	assert_int_equal(n, 0);
	d->fail = CCID_ERR_IO;
	assert_int_equal(piv_get_data(p, 0x5fc10a, &got, &n, &ms),
	    PIV_ERR_TRANSPORT);
	piv_free(&p);
	assert_null(p);
	ccid_reader_free(&r);
	vcard_free(&d->c);
	free(d);
}

static void
test_short_apdu_reader(void **state)
{
	(void)state;
	run(USB_CCID_FEAT_LEVEL_SHORT_APDU, 271);
}

static void
test_extended_apdu_reader(void **state)
{
	(void)state;
	run(USB_CCID_FEAT_LEVEL_EXT_APDU, 65536 + 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_apdu_reader),
		cmocka_unit_test(test_extended_apdu_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
