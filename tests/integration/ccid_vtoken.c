/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/ccid_vtoken.c — the ccid layer over the usb layer
 * against the emulated reader (built and run by ccid_vtoken.sh): power
 * on, APDUs of every size the reader's level allows (wLevelParameter
 * chaining, T=1 chaining on the TPDU profile), and the reader's faults.
 *
 *   ccid_vtoken MODE     MODE: apdu (extended-capable), short, timeout
 * Exits 0 when all is well, 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ccid/ccid.h"

static int
fail(const char *what, int r)
{
	fprintf(stderr, "ccid_vtoken: %s: %s\n", what, ccid_strerror(r));
	return 1;
}

/* Echo (INS EE) of n bytes, short or extended encoding. */
static int
echo(ccid_reader_t *r, size_t n, int want)
{
	static uint8_t cmd[4 + 3 + 4096 + 3], rsp[4096 + 2];
	size_t clen = 0, rlen = 0, i;
	int rc, ms = 10000;

	cmd[clen++] = 0x00;
	cmd[clen++] = 0xee;
	cmd[clen++] = 0x00;
	cmd[clen++] = 0x00;
	if (n == 0) {
		/* case 2: Le only */
	} else if (n <= 255) {
		cmd[clen++] = (uint8_t)n;
	} else {
		cmd[clen++] = 0x00;
		cmd[clen++] = (uint8_t)(n >> 8);
		cmd[clen++] = (uint8_t)n;
	}
	for (i = 0; i < n; i++)
		cmd[clen++] = (uint8_t)(i * 7 + 1);
	if (n > 255) {
		cmd[clen++] = 0x00;
		cmd[clen++] = 0x00;
	} else
		cmd[clen++] = 0x00;
	rc = ccid_transmit(r, 0, cmd, clen, 0, rsp, sizeof(rsp), &rlen, &ms);
	if (rc != want) {
		fprintf(stderr, "ccid_vtoken: echo %zu: got %s, want %s\n", n,
		    ccid_strerror(rc), ccid_strerror(want));
		return 1;
	}
	if (rc != 0)
		return 0;
	if (rlen != n + 2 || rsp[n] != 0x90 || rsp[n + 1] != 0x00) {
		fprintf(stderr, "ccid_vtoken: echo %zu: %zu bytes back\n", n,
		    rlen);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (rsp[i] != (uint8_t)(i * 7 + 1)) {
			fprintf(stderr, "ccid_vtoken: echo %zu: byte %zu\n", n,
			    i);
			return 1;
		}
	printf("echo %zu ok\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "apdu";
	static const uint8_t sel[] = { 0x00, 0xa4, 0x04, 0x00, 0x09, 0xa0, 0x00,
	    0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00 };
	usb_ctx_t *ctx = NULL;
	usb_dev_t *dev = NULL;
	struct usb_dev_info *list = NULL;
	ccid_reader_t *r = NULL;
	struct ccid_atr atr;
	uint8_t rsp[300];
	size_t n = 0, rlen;
	int rc, ms, st, ret = 1, ext = strcmp(mode, "short") != 0;

	if (usb_ctx_new(&ctx) != 0 || usb_enumerate(ctx, &list, &n) != 0 ||
	    n == 0) {
		fprintf(stderr, "ccid_vtoken: no reader\n");
		goto out;
	}
	if (usb_open(ctx, &list[0], &dev) != 0) {
		fprintf(stderr, "ccid_vtoken: usb_open failed\n");
		goto out;
	}
	if ((rc = ccid_reader_open_usb(&r, dev)) != 0) {
		fail("ccid_reader_open_usb", rc);
		goto out;
	}
	ms = 5000;
	if ((rc = ccid_begin(r, &ms)) != 0) {
		fail("ccid_begin", rc);
		goto out;
	}
	ms = 3000;
	rc = ccid_power_on(r, 0, &atr, &ms);
	if (strcmp(mode, "timeout") == 0) {
		/* a reader that only ever asks for more time */
		if (rc != CCID_ERR_TIMEOUT) {
			fail("power on under endless time extensions", rc);
			goto out;
		}
		printf("endless time extensions: %s\n", ccid_strerror(rc));
		ret = 0;
		goto out;
	}
	if (rc != 0) {
		fail("ccid_power_on", rc);
		goto out;
	}
	printf("ATR %zu bytes, T=%d first, IFSC %u\n", atr.len,
	    atr.first_protocol, atr.ifsc);
	ms = 5000;
	if ((rc = ccid_slot_status(r, 0, &st, &ms)) != 0 ||
	    st != CCID_SLOT_ACTIVE) {
		fail("ccid_slot_status", rc);
		goto out;
	}
	ms = 5000;
	if ((rc = ccid_transmit(r, 0, sel, sizeof(sel), 0, rsp, sizeof(rsp),
	    &rlen, &ms)) != 0 || rlen < 2 || rsp[rlen - 2] != 0x90) {
		fail("SELECT", rc);
		goto out;
	}
	if (echo(r, 0, 0) || echo(r, 1, 0) || echo(r, 200, 0) ||
	    echo(r, 255, 0) ||
	    echo(r, 256, ext ? 0 : CCID_ERR_UNSUPPORTED) ||
	    echo(r, 600, ext ? 0 : CCID_ERR_UNSUPPORTED) ||
	    echo(r, 3000, ext ? 0 : CCID_ERR_UNSUPPORTED))
		goto out;
	ms = 5000;
	if ((rc = ccid_power_off(r, 0, &ms)) != 0) {
		fail("ccid_power_off", rc);
		goto out;
	}
	/* transmit powers the card on again by itself */
	ms = 5000;
	if ((rc = ccid_transmit(r, 0, sel, sizeof(sel), 0, rsp, sizeof(rsp),
	    &rlen, &ms)) != 0) {
		fail("SELECT after power off", rc);
		goto out;
	}
	ret = 0;
	printf("ccid_vtoken %s: ok\n", mode);
out:
	if (r != NULL)
		(void)ccid_end(r);
	ccid_reader_free(&r);
	usb_close(&dev);
	free(list);
	usb_ctx_free(&ctx);
	return ret;
}
