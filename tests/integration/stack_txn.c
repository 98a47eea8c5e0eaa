/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/stack_txn.c — transactions through the whole stack
 * below PKCS#11 (usb_enumerate, usb_open, ccid_reader_open_usb,
 * piv_new_ccid) on the emulated reader; built and run by stack_txn.sh.
 *
 *   stack_txn setup [once]
 *                       management-key login, P-256 key generated in 9C
 *                       with PIN policy ALWAYS (with `once`: in 9A, PIN
 *                       policy ONCE, for the PKCS#11 tests)
 *   stack_txn run N     N transactions: piv_begin; VERIFY PIN; GENERAL
 *                       AUTHENTICATE (sign) with the 9C key; piv_end.  Each
 *                       signature is checked against the key's public half.
 *                       A foreign VERIFY or GENERAL AUTHENTICATE between our
 *                       two commands would break the PIN-ALWAYS sign.
 *
 * Exits 0 when all is well, 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../ccid/ccid.h"
#include "../../piv/piv.h"
#include "../../usb/usb.h"
#include "../../util/util.h"

static const uint8_t mgm_default[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

struct stack {
	usb_ctx_t *ctx;
	usb_dev_t *dev;
	ccid_reader_t *rd;
	piv_card_t *card;
};

static void
stack_close(struct stack *s)
{
	piv_free(&s->card);
	ccid_reader_free(&s->rd);
	usb_close(&s->dev);
	usb_ctx_free(&s->ctx);
}

/*
 * Opens the first CCID reader.  umockdev names its netlink sockets per fd,
 * so libusb_init can fail when processes start together: retry a little.
 */
static int
stack_open(struct stack *s)
{
	struct usb_dev_info *list = NULL;
	size_t n = 0;
	int i, r = USB_ERR_NOT_FOUND;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 20; i++) {
		if ((r = usb_ctx_new(&s->ctx)) == USB_OK &&
		    (r = usb_enumerate(s->ctx, &list, &n)) == USB_OK && n > 0)
			break;
		free(list);
		list = NULL;
		usb_ctx_free(&s->ctx);
		util_sleep_ms(50);
	}
	if (s->ctx == NULL || n == 0) {
		fprintf(stderr, "stack_txn: no reader: %s\n",
		    usb_strerror(r != USB_OK ? r : USB_ERR_NOT_FOUND));
		return 1;
	}
	r = usb_open(s->ctx, &list[0], &s->dev);
	free(list);
	if (r != USB_OK) {
		fprintf(stderr, "stack_txn: usb_open: %s\n", usb_strerror(r));
		goto fail;
	}
	if ((r = ccid_reader_open_usb(&s->rd, s->dev)) != CCID_OK) {
		fprintf(stderr, "stack_txn: ccid_reader_open_usb: %s\n",
		    ccid_strerror(r));
		goto fail;
	}
	if ((r = piv_new_ccid(&s->card, s->rd, 0)) != PIV_OK) {
		fprintf(stderr, "stack_txn: piv_new_ccid: %s\n",
		    piv_strerror(r));
		goto fail;
	}
	return 0;
fail:
	stack_close(s);
	return 1;
}

static int
do_setup(int once)
{
	uint8_t slot = once ? PIV_SLOT_AUTH : PIV_SLOT_SIGN;
	uint8_t pol = once ? PIV_PINPOLICY_ONCE : PIV_PINPOLICY_ALWAYS;
	struct stack s;
	EVP_PKEY *pub = NULL;
	int r, ms = 30000;

	if (stack_open(&s) != 0)
		return 1;
	if ((r = piv_begin(s.card, &ms)) == PIV_OK) {
		if ((r = piv_auth_mgm(s.card, PIV_ALG_3DES, mgm_default,
		    sizeof(mgm_default), &ms)) == PIV_OK)
			r = piv_generate(s.card, slot, PIV_ALG_ECCP256, pol,
			    PIV_TOUCHPOLICY_NEVER, &pub, &ms);
		(void)piv_end(s.card);
	}
	EVP_PKEY_free(pub);
	stack_close(&s);
	if (r != PIV_OK) {
		fprintf(stderr, "stack_txn: setup: %s\n", piv_strerror(r));
		return 1;
	}
	printf("setup: P-256 key in %02X, PIN policy %s\n", slot,
	    once ? "once" : "always");
	return 0;
}

static int
check_sig(EVP_PKEY *pub, const uint8_t *h, size_t hlen, const uint8_t *sig,
    size_t siglen)
{
	EVP_PKEY_CTX *pc;
	int ok = 0;

	if ((pc = EVP_PKEY_CTX_new(pub, NULL)) != NULL &&
	    EVP_PKEY_verify_init(pc) == 1 &&
	    EVP_PKEY_verify(pc, sig, siglen, h, hlen) == 1)
		ok = 1;
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static int
do_run(long count)
{
	static const char pin[] = "123456";
	struct stack s;
	struct piv_metadata md;
	uint8_t h[32], sig[128];
	size_t siglen = 0;
	uint64_t t0;
	long i;
	int r = PIV_OK, ms, rc = 1, tries = -1, have_md = 0;

	if (stack_open(&s) != 0)
		return 1;
	ms = 30000;
	if ((r = piv_metadata(s.card, PIV_SLOT_SIGN, &md, &ms)) != PIV_OK ||
	    md.pub == NULL || md.pin_policy != PIV_PINPOLICY_ALWAYS) {
		fprintf(stderr, "stack_txn: no PIN-always key in 9C: %s\n",
		    piv_strerror(r));
		if (r == PIV_OK)
			piv_metadata_clear(&md);
		goto out;
	}
	have_md = 1;
	t0 = util_now_ms();
	for (i = 0; i < count; i++) {
		/* a different hash each time, from the pid and the index */
		memset(h, 0, sizeof(h));
		snprintf((char *)h, sizeof(h), "%ld/%ld", (long)getpid(), i);
		ms = 30000;
		if ((r = piv_begin(s.card, &ms)) != PIV_OK) {
			fprintf(stderr, "stack_txn: #%ld piv_begin: %s\n", i,
			    piv_strerror(r));
			goto out;
		}
		if ((r = piv_verify(s.card, PIV_PIN_REF, pin, strlen(pin),
		    &tries, &ms)) == PIV_OK)
			r = piv_sign(s.card, PIV_SLOT_SIGN, PIV_ALG_ECCP256, h,
			    sizeof(h), sig, sizeof(sig), &siglen, &ms);
		(void)piv_end(s.card);
		if (r != PIV_OK) {
			fprintf(stderr, "stack_txn: #%ld verify+sign: %s\n",
			    i, piv_strerror(r));
			goto out;
		}
		if (!check_sig(md.pub, h, sizeof(h), sig, siglen)) {
			fprintf(stderr, "stack_txn: #%ld bad signature\n", i);
			goto out;
		}
	}
	printf("run: %ld transactions in %llu ms (pid %ld)\n", count,
	    (unsigned long long)(util_now_ms() - t0), (long)getpid());
	rc = 0;
out:
	if (have_md)
		piv_metadata_clear(&md);
	stack_close(&s);
	return rc;
}

int
main(int argc, char **argv)
{
	char *end;
	long n;

	if (argc == 2 && strcmp(argv[1], "setup") == 0)
		return do_setup(0);
	if (argc == 3 && strcmp(argv[1], "setup") == 0 &&
	    strcmp(argv[2], "once") == 0)
		return do_setup(1);
	if (argc == 3 && strcmp(argv[1], "run") == 0) {
		n = strtol(argv[2], &end, 10);
		if (*end == '\0' && n > 0 && n <= 100000)
			return do_run(n);
	}
	fprintf(stderr, "usage: stack_txn setup [once] | run N\n");
	return 2;
}
