/* SPDX-License-Identifier: MIT */
/* tests/test_ccid_t1.c — the T=1 engine against a scripted card: every
 * block type, chaining both ways, WTX, IFS, error recovery (bad EDC, lost
 * block, R-block retransmission, RESYNCH), CRC mode and the bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../ccid/ccid_int.h"
#include "../util/util.h"

#define MAXB	600

/* The card: answers from a script; a NULL/0 entry is a mute card. */
struct card {
	int crc;
	struct { uint8_t b[CCID_T1_MAX_BLOCK]; size_t n; int mute; } ans[MAXB];
	size_t nans, next;
	struct { uint8_t b[CCID_T1_MAX_BLOCK]; size_t n; uint8_t bwi; } sent[MAXB];
	size_t nsent;
	int fail_rc;		/* returned instead of an answer, if set */
};

static int
card_xfer(void *ctx, const uint8_t *blk, size_t len, uint8_t bwi,
    uint8_t *resp, size_t cap, size_t *got, int *ms)
{
	struct card *c = ctx;

	(void)ms;
	*got = 0;
	assert_true(len <= CCID_T1_MAX_BLOCK);
	assert_true(c->nsent < MAXB);
	memcpy(c->sent[c->nsent].b, blk, len);
	c->sent[c->nsent].n = len;
	c->sent[c->nsent].bwi = bwi;
	c->nsent++;
	if (c->fail_rc)
		return c->fail_rc;
	if (c->next >= c->nans || c->ans[c->next].mute) {
		c->next++;
		return CCID_ERR_CARD_MUTE;
	}
	assert_true(c->ans[c->next].n <= cap);
	memcpy(resp, c->ans[c->next].b, c->ans[c->next].n);
	*got = c->ans[c->next].n;
	c->next++;
	return 0;
}

/* Queues a block from the card. */
static void
blk(struct card *c, uint8_t pcb, const void *inf, size_t n)
{
	assert_true(c->nans < MAXB);
	assert_int_equal(ccid_t1_encode(0, pcb, inf, n, c->crc,
	    c->ans[c->nans].b, sizeof(c->ans[0].b), &c->ans[c->nans].n), 0);
	c->nans++;
}

static void
mute(struct card *c)
{
	c->ans[c->nans++].mute = 1;
}

/* A block with a broken EDC. */
static void
badedc(struct card *c, uint8_t pcb, const void *inf, size_t n)
{
	blk(c, pcb, inf, n);
	c->ans[c->nans - 1].b[c->ans[c->nans - 1].n - 1] ^= 0x55;
}

/* The i-th block we sent: its PCB, and its INF compared when given. */
static void
sent(struct card *c, size_t i, uint8_t pcb, const void *inf, size_t n)
{
	struct t1_block b;

	assert_true(i < c->nsent);
	assert_int_equal(ccid_t1_decode(c->sent[i].b, c->sent[i].n, c->crc,
	    &b), 0);
	assert_int_equal(b.pcb, pcb);
	if (inf != NULL) {
		assert_int_equal(b.len, n);
		assert_memory_equal(b.inf, inf, n);
	}
}

static struct card *
card_new(int crc)
{
	struct card *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->crc = crc;
	return c;
}

static const uint8_t apdu[] = { 0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00,
    0x00, 0x03, 0x08 };
static const uint8_t sw[] = { 0x90, 0x00 };

static int
run(struct ccid_t1 *t, const uint8_t *c, size_t n, uint8_t *r, size_t cap,
    size_t *rlen)
{
	int ms = 5000;

	return ccid_t1_transceive(t, c, n, r, cap, rlen, &ms);
}

static void
test_simple_and_sequence(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300];
	size_t rl;

	(void)state;
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	blk(c, 0x00, sw, 2);
	blk(c, 0x40, "\x61\x10", 2);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	assert_int_equal(rl, 2);
	assert_memory_equal(r, sw, 2);
	sent(c, 0, 0x00, apdu, sizeof(apdu));
	/* second APDU: both N(S) toggled */
	assert_int_equal(run(&t, apdu, 4, r, sizeof(r), &rl), 0);
	assert_memory_equal(r, "\x61\x10", 2);
	sent(c, 1, 0x40, apdu, 4);
	assert_int_equal(t.ns, 0);
	assert_int_equal(t.nr, 0);
	free(c);
}

static void
test_chain_out(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t cmd[40], r[300];
	size_t rl, i;

	(void)state;
	for (i = 0; i < sizeof(cmd); i++)
		cmd[i] = (uint8_t)i;
	ccid_t1_init(&t, 16, 0, card_xfer, c);
	blk(c, 0x90, NULL, 0);		/* R(1): send the next */
	blk(c, 0x80, NULL, 0);		/* R(0) */
	blk(c, 0x00, sw, 2);
	assert_int_equal(run(&t, cmd, sizeof(cmd), r, sizeof(r), &rl), 0);
	assert_int_equal(rl, 2);
	sent(c, 0, 0x20, cmd, 16);	/* I(0, M) */
	sent(c, 1, 0x60, cmd + 16, 16);	/* I(1, M) */
	sent(c, 2, 0x00, cmd + 32, 8);	/* I(0) */
	assert_int_equal(c->nsent, 3);
	free(c);
}

static void
test_chain_in(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300], part[200];
	size_t rl;

	(void)state;
	memset(part, 0xab, sizeof(part));
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	blk(c, 0x20, part, 200);	/* I(0, M) */
	blk(c, 0x60, part, 50);		/* I(1, M) */
	blk(c, 0x00, sw, 2);		/* I(0) */
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	assert_int_equal(rl, 252);
	assert_memory_equal(r + 250, sw, 2);
	sent(c, 1, 0x90, NULL, 0);	/* R(1) */
	sent(c, 2, 0x80, NULL, 0);	/* R(0) */
	/* a chain longer than the caller's buffer: BUFFER, length 0 */
	c->next = c->nans = c->nsent = 0;
	blk(c, 0x60, part, 200);	/* card's N(S) is 1 now */
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, 100, &rl),
	    CCID_ERR_BUFFER);
	assert_int_equal(rl, 0);
	assert_int_equal(t.desync, 1);
	free(c);
}

static void
test_wtx_and_ifs(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300], cmd[60];
	size_t rl;

	(void)state;
	memset(cmd, 0x11, sizeof(cmd));
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	blk(c, 0xc3, "\x05", 1);	/* S(WTX request) x5 */
	blk(c, 0x00, sw, 2);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	sent(c, 1, 0xe3, "\x05", 1);	/* S(WTX response) */
	assert_int_equal(c->sent[1].bwi, 5);	/* wait extended */
	assert_int_equal(c->sent[0].bwi, 0);
	/* card changes IFSC mid-chain: later blocks follow it */
	c->next = c->nans = c->nsent = 0;
	blk(c, 0xc1, "\x0a", 1);	/* S(IFS request) 10 */
	blk(c, 0x80, NULL, 0);		/* R(0): ack I(1) */
	blk(c, 0x90, NULL, 0);		/* R(1) */
	blk(c, 0x80, NULL, 0);
	blk(c, 0x40, sw, 2);
	assert_int_equal(run(&t, cmd, sizeof(cmd), r, sizeof(r), &rl), 0);
	sent(c, 0, 0x60, cmd, 32);	/* I(1, M) with IFSC 32 */
	sent(c, 1, 0xe1, "\x0a", 1);	/* S(IFS response) */
	sent(c, 2, 0x20, cmd + 32, 10);	/* I(0, M), 10 bytes now */
	sent(c, 3, 0x60, cmd + 42, 10);
	sent(c, 4, 0x00, cmd + 52, 8);	/* last */
	assert_int_equal(c->nsent, 5);
	free(c);
}

static void
test_ifsd(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	int ms = 1000;

	(void)state;
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	blk(c, 0xe1, "\xfe", 1);
	assert_int_equal(ccid_t1_set_ifsd(&t, 0xfe, &ms), 0);
	sent(c, 0, 0xc1, "\xfe", 1);
	assert_int_equal(t.ifsd, 0xfe);
	/* wrong value echoed: refused; mute card: retried 3 times */
	blk(c, 0xe1, "\x20", 1);
	assert_int_equal(ccid_t1_set_ifsd(&t, 0x80, &ms), CCID_ERR_T1);
	c->nsent = 0;
	assert_int_equal(ccid_t1_set_ifsd(&t, 0x80, &ms), CCID_ERR_T1);
	assert_int_equal(c->nsent, CCID_T1_MAX_RESYNCH);
	free(c);
}

static void
test_bad_edc_and_lost_block(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300];
	size_t rl;

	(void)state;
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	badedc(c, 0x00, sw, 2);		/* EDC error */
	mute(c);			/* then nothing */
	blk(c, 0x00, sw, 2);		/* then the answer again */
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	assert_int_equal(rl, 2);
	sent(c, 1, 0x81, NULL, 0);	/* R(0), EDC error */
	sent(c, 2, 0x82, NULL, 0);	/* R(0), other error */
	assert_int_equal(c->nsent, 3);
	free(c);
}

static void
test_retransmit_on_r_block(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300];
	size_t rl;

	(void)state;
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	blk(c, 0x81, NULL, 0);	/* R(0) error: card wants I(0) again */
	blk(c, 0x00, sw, 2);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	sent(c, 0, 0x00, apdu, sizeof(apdu));
	sent(c, 1, 0x00, apdu, sizeof(apdu));
	/* card R-block during our receive chain: our R-block again */
	c->next = c->nans = c->nsent = 0;
	blk(c, 0x60, "\x01", 1);	/* I(1, M) */
	blk(c, 0x92, NULL, 0);		/* card did not get our R(0) */
	blk(c, 0x00, sw, 2);		/* I(0) */
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	assert_int_equal(rl, 3);
	sent(c, 1, 0x80, NULL, 0);
	sent(c, 2, 0x80, NULL, 0);
	free(c);
}

static void
test_resynch(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300];
	size_t rl, i;

	(void)state;
	ccid_t1_init(&t, 20, 0, card_xfer, c);
	t.ns = 1;
	t.ifsc = 50;
	for (i = 0; i < 4; i++)
		badedc(c, 0x00, sw, 2);
	blk(c, 0xe0, NULL, 0);		/* S(RESYNCH response) */
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl),
	    CCID_ERR_T1);
	assert_int_equal(rl, 0);
	sent(c, 4, 0xc0, NULL, 0);	/* S(RESYNCH request) */
	assert_int_equal(t.ns, 0);
	assert_int_equal(t.nr, 0);
	assert_int_equal(t.ifsc, 20);	/* back to the ATR's */
	assert_int_equal(t.desync, 0);
	/* usable afterwards, from N(S) 0 */
	blk(c, 0x00, sw, 2);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	sent(c, 5, 0x00, apdu, sizeof(apdu));
	free(c);
}

static void
test_resynch_fails_then_recovers(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300];
	size_t rl;

	(void)state;
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	/* dead card: 4 tries, then 3 RESYNCH requests, then give up */
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl),
	    CCID_ERR_T1);
	assert_int_equal(c->nsent, 4 + CCID_T1_MAX_RESYNCH);
	assert_int_equal(t.desync, 1);
	/* next exchange starts with RESYNCH */
	c->next = c->nans = c->nsent = 0;
	blk(c, 0xe0, NULL, 0);
	blk(c, 0x00, sw, 2);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	sent(c, 0, 0xc0, NULL, 0);
	sent(c, 1, 0x00, apdu, sizeof(apdu));
	free(c);
}

static void
test_crc_mode(void **state)
{
	struct card *c = card_new(1);
	struct ccid_t1 t;
	uint8_t r[300];
	size_t rl;

	(void)state;
	ccid_t1_init(&t, 32, 1, card_xfer, c);
	badedc(c, 0x00, sw, 2);
	blk(c, 0x00, sw, 2);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	assert_int_equal(c->sent[0].n, 3 + sizeof(apdu) + 2);
	sent(c, 1, 0x81, NULL, 0);
	free(c);
}

static void
test_bounds(void **state)
{
	struct card *c = card_new(0);
	struct ccid_t1 t;
	uint8_t r[300];
	size_t rl, i;

	(void)state;
	/* endless WTX: TIMEOUT after CCID_T1_MAX_WTX, not a hang */
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	for (i = 0; i < MAXB; i++)
		blk(c, 0xc3, "\x01", 1);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl),
	    CCID_ERR_TIMEOUT);
	assert_int_equal(c->nsent, CCID_T1_MAX_WTX + 1);
	/* endless empty chained I-blocks: errors, RESYNCH, T1 error */
	free(c);
	c = card_new(0);
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	for (i = 0; i < 20; i++)
		blk(c, (uint8_t)(i & 1 ? 0x60 : 0x20), NULL, 0);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl),
	    CCID_ERR_T1);
	assert_true(c->nsent <= 4 + CCID_T1_MAX_RESYNCH);
	/* the card ABORTs the chain */
	free(c);
	c = card_new(0);
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	blk(c, 0xc2, NULL, 0);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl),
	    CCID_ERR_ABORTED);
	sent(c, 1, 0xe2, NULL, 0);
	/* a transport error ends the exchange at once */
	free(c);
	c = card_new(0);
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	c->fail_rc = CCID_ERR_NO_CARD;
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl),
	    CCID_ERR_NO_CARD);
	assert_int_equal(c->nsent, 1);
	/* an I-block with the wrong N(S), an R acking a final block and an
	 * S-response out of place are invalid blocks -> R-blocks */
	free(c);
	c = card_new(0);
	ccid_t1_init(&t, 32, 0, card_xfer, c);
	blk(c, 0x40, sw, 2);
	blk(c, 0x90, NULL, 0);
	blk(c, 0xe3, "\x01", 1);
	blk(c, 0x00, sw, 2);
	assert_int_equal(run(&t, apdu, sizeof(apdu), r, sizeof(r), &rl), 0);
	sent(c, 1, 0x82, NULL, 0);
	sent(c, 2, 0x82, NULL, 0);
	sent(c, 3, 0x82, NULL, 0);
	/* zero budget: TIMEOUT without sending */
	{
		int ms = 0;

		c->nsent = 0;
		assert_int_equal(ccid_t1_transceive(&t, apdu, sizeof(apdu), r,
		    sizeof(r), &rl, &ms), CCID_ERR_TIMEOUT);
		assert_int_equal(c->nsent, 0);
	}
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_and_sequence),
		cmocka_unit_test(test_chain_out),
		cmocka_unit_test(test_chain_in),
		cmocka_unit_test(test_wtx_and_ifs),
		cmocka_unit_test(test_ifsd),
		cmocka_unit_test(test_bad_edc_and_lost_block),
		cmocka_unit_test(test_retransmit_on_r_block),
		cmocka_unit_test(test_resynch),
		cmocka_unit_test(test_resynch_fails_then_recovers),
		cmocka_unit_test(test_crc_mode),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
