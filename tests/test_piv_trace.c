/* SPDX-License-Identifier: MIT */
/*
 * tests/test_piv_trace.c — the USBPIV_DEBUG=3 trace of a PIN login, a PIN
 * and PUK change, an unblock, management-key authentication (3DES and
 * AES, mutual and single), SET MANAGEMENT KEY and the PIN-protected
 * management key contains none of the secrets, in any encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../piv/piv.h"
#include "../util/util.h"
#include "vtoken/vcard.h"

static char trace_path[] = "/tmp/usbpiv-trace-XXXXXX";

struct env {
	vcard_t *c;
	size_t nsecret;		/* APDUs the piv layer flagged secret */
	size_t missed;		/* a secret-looking APDU it did not flag */
};

static int
v_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct env *e = h;

	(void)ms;
	/* the flag is the command's own word; the raw-APDU classifier must
	 * never find a secret the stack did not declare */
	if (secret)
		e->nsecret++;
	else if (piv_apdu_is_secret(capdu, clen))
		e->missed++;
	return vcard_apdu(e->c, capdu, clen, rapdu, cap, rlen) == 0 ? 0 :
	    PIV_ERR_TRANSPORT;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* the secret must not appear as text, upper-case or lower-case hex, nor
 * split over two trace lines (any 4-byte window of it) */
static void
assert_absent(const char *trace, const uint8_t *s, size_t n)
{
	char hex[2 * 64 + 1], low[2 * 64 + 1], txt[65];
	size_t i, j;

	assert_true(n >= 4 && n <= 64);
	memcpy(txt, s, n);
	txt[n] = '\0';
	if (strlen(txt) == n)
		assert_null(strstr(trace, txt));
	for (i = 0; i + 4 <= n; i++) {
		util_hex(s + i, 4, hex);
		for (j = 0; hex[j] != '\0'; j++)
			low[j] = (char)(hex[j] >= 'A' && hex[j] <= 'F' ?
			    hex[j] - 'A' + 'a' : hex[j]);
		low[j] = '\0';
		if (strstr(trace, hex) != NULL || strstr(trace, low) != NULL)
			fail_msg("secret bytes %s found in the trace", hex);
	}
}

static void
run(int extended)
{
	static const uint8_t mgm3des[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3,
	    4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t aes[32] = { 0xc3, 0x5a, 0x91, 0x7e, 0x2b, 0xd4,
	    0x66, 0x0f, 0xe8, 0x13, 0xa7, 0x4c, 0x39, 0xb2, 0x5d, 0x80, 0x1f,
	    0xca, 0x74, 0x2e, 0x95, 0x6b, 0xd0, 0x47, 0x8e, 0x31, 0xf9, 0x0c,
	    0xa2, 0x5b, 0xe6, 0x17 };
	struct env e;
	piv_io_t io = { .transmit = v_transmit, .extended = extended };
	piv_card_t *p = NULL;
	uint8_t key[32];
	size_t kl;
	int ms = 30000, tries;

	memset(&e, 0, sizeof(e));
	assert_int_equal(vcard_new(&e.c, NULL), 0);
	assert_int_equal(piv_new(&p, &io, &e), 0);
	assert_int_equal(piv_verify(p, PIV_PIN_REF, "123456", 6, &tries, &ms),
	    0);
	assert_int_equal(piv_change_ref(p, PIV_PIN_REF, "123456", 6,
	    "84091726", 8, &tries, &ms), 0);
	assert_int_equal(piv_change_ref(p, PIV_PUK_REF, "12345678", 8,
	    "73920561", 8, &tries, &ms), 0);
	assert_int_equal(piv_verify(p, PIV_PIN_REF, "00000000", 8, &tries,
	    &ms), PIV_ERR_PIN_WRONG);
	assert_int_equal(piv_unblock_pin(p, "73920561", 8, "51836204", 8,
	    &tries, &ms), 0);
	assert_int_equal(piv_verify(p, PIV_PIN_REF, "51836204", 8, &tries,
	    &ms), 0);
	assert_int_equal(piv_auth_mgm(p, PIV_ALG_3DES, mgm3des, 24, &ms), 0);
	assert_int_equal(piv_auth_mgm_single(p, PIV_ALG_3DES, mgm3des, 24,
	    &ms), 0);
	assert_int_equal(piv_set_mgm(p, PIV_ALG_AES256, aes, 32, 0, &ms), 0);
	assert_int_equal(piv_auth_mgm(p, PIV_ALG_AES256, aes, 32, &ms), 0);
	assert_int_equal(piv_write_protected_mgm(p, aes, 32, &ms), 0);
	assert_int_equal(piv_read_protected_mgm(p, key, sizeof(key), &kl,
	    &ms), 0);
	assert_int_equal(kl, 32);
	assert_memory_equal(key, aes, 32);
	piv_free(&p);
	vcard_free(&e.c);
	assert_int_equal(e.missed, 0);
	/* 6 PIN/PUK commands, 3 management-key authentications (2 APDUs
	 * each for mutual ones), SET MANAGEMENT KEY, the printed object */
	assert_true(e.nsecret >= 12);
}

/* Raw APDUs a user types (`usbpiv apdu`): the classifier the CLI uses. */
static void
test_raw_apdu_classifier(void **state)
{
	const uint8_t verify[] = { 0x00, 0x20, 0x00, 0x80, 0x08, '1', '2', '3',
	    '4', '5', '6', 0xff, 0xff };
	const uint8_t mgm[] = { 0x00, 0x87, 0x03, 0x9b, 0x04, 0x7c, 0x02, 0x80,
	    0x00 };
	const uint8_t sign[] = { 0x00, 0x87, 0x11, 0x9a, 0x04, 0x7c, 0x02, 0x81,
	    0x00 };
	const uint8_t getprinted[] = { 0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03,
	    0x5f, 0xc1, 0x09, 0x00 };
	const uint8_t putprinted_ext[] = { 0x00, 0xdb, 0x3f, 0xff, 0x00, 0x00,
	    0x05, 0x5c, 0x03, 0x5f, 0xc1, 0x09 };
	const uint8_t getchuid[] = { 0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03,
	    0x5f, 0xc1, 0x02, 0x00 };
	const uint8_t truncated[] = { 0x00, 0xdb, 0x3f, 0xff, 0x05, 0x5c };
	const uint8_t chained_import[] = { 0x10, 0xfe, 0x11, 0x9a, 0x01, 0x01 };

	(void)state;
	assert_true(piv_apdu_is_secret(verify, sizeof(verify)));
	assert_true(piv_apdu_is_secret(mgm, sizeof(mgm)));
	assert_false(piv_apdu_is_secret(sign, sizeof(sign)));
	assert_true(piv_apdu_is_secret(getprinted, sizeof(getprinted)));
	assert_true(piv_apdu_is_secret(putprinted_ext,
	    sizeof(putprinted_ext)));
	assert_false(piv_apdu_is_secret(getchuid, sizeof(getchuid)));
	assert_false(piv_apdu_is_secret(truncated, sizeof(truncated)));
	assert_true(piv_apdu_is_secret(chained_import,
	    sizeof(chained_import)));
	assert_false(piv_apdu_is_secret(verify, 3));
	assert_false(piv_apdu_is_secret(NULL, 0));
}

static void
test_trace_has_no_secrets(void **state)
{
	static const uint8_t aes[32] = { 0xc3, 0x5a, 0x91, 0x7e, 0x2b, 0xd4,
	    0x66, 0x0f, 0xe8, 0x13, 0xa7, 0x4c, 0x39, 0xb2, 0x5d, 0x80, 0x1f,
	    0xca, 0x74, 0x2e, 0x95, 0x6b, 0xd0, 0x47, 0x8e, 0x31, 0xf9, 0x0c,
	    0xa2, 0x5b, 0xe6, 0x17 };
	static const uint8_t mgm3des[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3,
	    4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	const char *pins[] = { "123456", "84091726", "12345678", "73920561",
	    "51836204" };
	char *trace;
	size_t i;

	(void)state;
	run(1);
	run(0);
	trace = slurp(trace_path);
	/* the trace is real: it shows the commands, with secrets redacted */
	assert_non_null(strstr(trace, "piv >"));
	assert_non_null(strstr(trace, "redacted"));
	assert_non_null(strstr(trace, "00A4040009A00000030800001000"));
	for (i = 0; i < UTIL_ARRAY_LEN(pins); i++)
		assert_absent(trace, (const uint8_t *)pins[i],
		    strlen(pins[i]));
	assert_absent(trace, mgm3des, sizeof(mgm3des));
	assert_absent(trace, aes, sizeof(aes));
	free(trace);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_has_no_secrets),
		cmocka_unit_test(test_raw_apdu_classifier),
	};
	int fd, r;

	/* before anything reads the environment */
	if ((fd = mkstemp(trace_path)) < 0)
		return 1;
	close(fd);
	setenv("USBPIV_DEBUG", "3", 1);
	setenv("USBPIV_DEBUG_FILE", trace_path, 1);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(trace_path);
	return r;
}
