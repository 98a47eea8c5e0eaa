/* SPDX-License-Identifier: MIT */
/*
 * tests/test_piv_script.c — piv/ against a scripted card: every status
 * word, the chaining / GET RESPONSE / 6Cxx paths, and the malformed
 * answers a real card never sends (lengths past the end, endless 61xx,
 * short frames, garbage TLV).  The script checks the commands too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../piv/piv.h"
#include "../util/util.h"

#define MAXSTEP	64
#define MAXLOG	512

struct step {
	const char *expect;	/* hex prefix of the command, NULL: any */
	const char *rsp;	/* hex response */
};

struct script {
	struct step steps[MAXSTEP];
	size_t n, pos;
	/* after the steps: repeat this response forever (NULL: fail) */
	const uint8_t *loop;
	size_t looplen;
	int transport_err;	/* returned instead of a response */
	size_t fail_at;		/* the Nth command (1-based) fails so */
	int sent;		/* what io.sent says of a failed one */
	int short_frame;	/* answer 1 byte */
	int overlong;		/* claim rlen > cap */
	uint64_t gen;
	int begin_err, nbegin, nend;
	/* what was sent */
	uint8_t *log[MAXLOG];
	size_t loglen[MAXLOG];
	size_t nlog;
	size_t lastcap;
};

static int
s_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct script *s = h;
	uint8_t exp[300], rsp[300];
	size_t en, rn;

	(void)secret;
	(void)ms;
	*rlen = 0;
	s->lastcap = cap;
	if (s->nlog < MAXLOG) {
		s->log[s->nlog] = malloc(clen);
		assert_non_null(s->log[s->nlog]);
		memcpy(s->log[s->nlog], capdu, clen);
		s->loglen[s->nlog++] = clen;
	}
	if (s->transport_err)
		return s->transport_err;
	if (s->fail_at != 0 && s->nlog == s->fail_at)
		return PIV_ERR_TRANSPORT;
	if (s->short_frame) {
		rapdu[0] = 0x90;
		*rlen = 1;
		return 0;
	}
	if (s->pos >= s->n) {
		if (s->loop == NULL)
			fail_msg("script exhausted at command %zu", s->nlog);
		if (s->looplen > cap)
			return PIV_ERR_BUFFER;
		memcpy(rapdu, s->loop, s->looplen);
		*rlen = s->looplen;
		return 0;
	}
	if (s->steps[s->pos].expect != NULL) {
		assert_int_equal(util_unhex(s->steps[s->pos].expect, exp,
		    sizeof(exp), &en), 0);
		assert_true(clen >= en);
		assert_memory_equal(capdu, exp, en);
	}
	assert_int_equal(util_unhex(s->steps[s->pos].rsp, rsp, sizeof(rsp),
	    &rn), 0);
	s->pos++;
	if (rn > cap)
		return PIV_ERR_BUFFER;
	memcpy(rapdu, rsp, rn);
	*rlen = s->overlong ? cap + 1 : rn;
	return 0;
}

static uint64_t
s_generation(void *h)
{
	return ((struct script *)h)->gen;
}

static int
s_begin(void *h, int *ms)
{
	struct script *s = h;

	(void)ms;
	if (s->begin_err)
		return s->begin_err;
	s->nbegin++;
	return 0;
}

static int
s_end(void *h)
{
	((struct script *)h)->nend++;
	return 0;
}

static int
s_sent(void *h)
{
	return ((struct script *)h)->sent;
}

static piv_io_t s_io = {
	.transmit = s_transmit,
	.begin = s_begin,
	.end = s_end,
	.generation = s_generation,
};

#define SELECT_CMD	"00A4040009A00000030800001000"
#define SELECT_OK	"61114F0600001000010079074F05A0000003089000"

struct fix {
	struct script s;
	piv_io_t io;
	piv_card_t *p;
	int ms;
};

static void
add(struct script *s, const char *expect, const char *rsp)
{
	assert_true(s->n < MAXSTEP);
	s->steps[s->n].expect = expect;
	s->steps[s->n].rsp = rsp;
	s->n++;
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->io = s_io;
	f->ms = 10000;
	assert_int_equal(piv_new(&f->p, &f->io, &f->s), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	size_t i;

	piv_free(&f->p);
	assert_null(f->p);
	for (i = 0; i < f->s.nlog; i++)
		free(f->s.log[i]);
	free(f);
	return 0;
}

/* (re)creates the card with another I/O table */
static void
reopen(struct fix *f)
{
	piv_free(&f->p);
	assert_int_equal(piv_new(&f->p, &f->io, &f->s), 0);
}

static void
test_select_once_per_generation(void **state)
{
	struct fix *f = *state;
	uint8_t v[3];
	uint32_t serial;
	size_t n;

	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD0000", "0507019000");
	add(&f->s, "00F80000", "00CC07399000");
	assert_int_equal(piv_get_version(f->p, v, &f->ms), 0);
	assert_memory_equal(v, "\x05\x07\x01", 3);
	assert_int_equal(piv_get_serial(f->p, &serial, &f->ms), 0);
	assert_int_equal(serial, 0xcc0739);
	/* cached: no APDU */
	assert_int_equal(piv_get_version(f->p, v, &f->ms), 0);
	assert_int_equal(piv_get_serial(f->p, &serial, &f->ms), 0);
	assert_int_equal(piv_apdu_count(f->p), 3);
	assert_non_null(piv_apt(f->p, &n));
	assert_int_equal(n, 19);
	/* the card was reset: SELECT again, caches dropped */
	f->s.gen++;
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD0000", "0507029000");
	assert_int_equal(piv_get_version(f->p, v, &f->ms), 0);
	assert_memory_equal(v, "\x05\x07\x02", 3);
	assert_int_equal(piv_apdu_count(f->p), 5);
}

static void
test_select_fails(void **state)
{
	struct fix *f = *state;
	uint8_t v[3];
	size_t n;

	add(&f->s, SELECT_CMD, "6A82");
	assert_int_equal(piv_get_version(f->p, v, &f->ms), PIV_ERR_NO_APP);
	assert_null(piv_apt(f->p, &n));
	assert_int_equal(n, 0);
	/* tried again next time */
	add(&f->s, SELECT_CMD, "6D00");
	assert_int_equal(piv_select(f->p, &f->ms), PIV_ERR_NO_APP);
	add(&f->s, SELECT_CMD, "6982");
	assert_int_equal(piv_select(f->p, &f->ms), PIV_ERR_AUTH_REQUIRED);
}

static void
test_status_words(void **state)
{
	static const struct {
		const char *sw;
		int err;
	} map[] = {
		{ "6A82", PIV_ERR_NOT_FOUND }, { "6A88", PIV_ERR_NOT_FOUND },
		{ "6982", PIV_ERR_AUTH_REQUIRED }, { "6983", PIV_ERR_PIN_BLOCKED },
		{ "6985", PIV_ERR_CONDITIONS }, { "6A80", PIV_ERR_BAD_DATA },
		{ "6A86", PIV_ERR_BAD_DATA }, { "6700", PIV_ERR_BAD_DATA },
		{ "6D00", PIV_ERR_NOT_SUPPORTED }, { "6E00", PIV_ERR_NOT_SUPPORTED },
		{ "6A81", PIV_ERR_NOT_SUPPORTED }, { "6F00", PIV_ERR_CARD },
		{ "6581", PIV_ERR_CARD }, { "63C1", PIV_ERR_PIN_WRONG },
		{ "6A84", PIV_ERR_NO_SPACE },
	};
	struct fix *f = *state;
	uint8_t *d = (uint8_t *)1;
	size_t i, n = 99;

	add(&f->s, SELECT_CMD, SELECT_OK);
	for (i = 0; i < UTIL_ARRAY_LEN(map); i++) {
		add(&f->s, "00CB3FFF055C035FC102", map[i].sw);
		assert_int_equal(piv_get_data(f->p, PIV_OBJ_CHUID, &d, &n,
		    &f->ms), map[i].err);
		assert_null(d);
		assert_int_equal(n, 0);
		assert_string_not_equal(piv_strerror(map[i].err),
		    "unknown error");
	}
	assert_int_equal(piv_apdu_count(f->p), 1 + UTIL_ARRAY_LEN(map));
}

static void
test_verify(void **state)
{
	struct fix *f = *state;
	int tries = 99, verified = 9;

	add(&f->s, SELECT_CMD, SELECT_OK);
	/* padded to 8 with FF */
	add(&f->s, "002000800831323334FFFFFFFF", "63C2");
	assert_int_equal(piv_verify(f->p, PIV_PIN_REF, "1234", 4, &tries,
	    &f->ms), PIV_ERR_PIN_WRONG);
	assert_int_equal(tries, 2);
	add(&f->s, "00200080083132333435363738", "6983");
	assert_int_equal(piv_verify(f->p, PIV_PIN_REF, "12345678", 8, &tries,
	    &f->ms), PIV_ERR_PIN_BLOCKED);
	assert_int_equal(tries, 0);
	add(&f->s, "0020008108", "9000");
	assert_int_equal(piv_verify(f->p, PIV_PUK_REF, "12345678", 8, &tries,
	    &f->ms), 0);
	/* status query: no data */
	add(&f->s, "00200080", "63C3");
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(verified, 0);
	assert_int_equal(tries, 3);
	add(&f->s, "00200080", "9000");
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(verified, 1);
	assert_int_equal(f->s.loglen[f->s.nlog - 1], 4);
	assert_int_equal(piv_apdu_count(f->p), 6);
}

static void
test_empty_pin_is_not_verified(void **state)
{
	struct fix *f = *state;
	int tries = 5;

	/* nothing may reach the card: the script is empty */
	assert_int_equal(piv_verify(f->p, PIV_PIN_REF, "", 0, &tries, &f->ms),
	    PIV_ERR_ARG);
	assert_int_equal(piv_verify(f->p, PIV_PIN_REF, NULL, 4, &tries,
	    &f->ms), PIV_ERR_ARG);
	assert_int_equal(piv_verify(f->p, PIV_PIN_REF, "123456789", 9,
	    &tries, &f->ms), PIV_ERR_ARG);
	assert_int_equal(piv_verify(f->p, 0x9b, "1234", 4, &tries, &f->ms),
	    PIV_ERR_ARG);
	assert_int_equal(piv_change_ref(f->p, PIV_PIN_REF, "123456", 6, "",
	    0, &tries, &f->ms), PIV_ERR_ARG);
	assert_int_equal(piv_change_ref(f->p, PIV_PIN_REF, "", 0, "123456",
	    6, &tries, &f->ms), PIV_ERR_ARG);
	assert_int_equal(piv_unblock_pin(f->p, "", 0, "123456", 6, &tries,
	    &f->ms), PIV_ERR_ARG);
	assert_int_equal(piv_unblock_pin(f->p, "12345678", 8, "", 0, &tries,
	    &f->ms), PIV_ERR_ARG);
	assert_int_equal(tries, -1);
	assert_int_equal(piv_apdu_count(f->p), 0);
}

static void
test_change_and_unblock(void **state)
{
	struct fix *f = *state;
	int tries;

	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "0024008010313233343536FFFF3635343332 31FFFF", "9000");
	assert_int_equal(piv_change_ref(f->p, PIV_PIN_REF, "123456", 6,
	    "654321", 6, &tries, &f->ms), 0);
	add(&f->s, "002C0080103132333435363738313131313131FFFF", "63C1");
	assert_int_equal(piv_unblock_pin(f->p, "12345678", 8, "111111", 6,
	    &tries, &f->ms), PIV_ERR_PIN_WRONG);
	assert_int_equal(tries, 1);
}

/* A state-changing command whose answer is lost after it reached the card
 * is named by piv_lost_ins(); one that was not sent (the transport says
 * so), an earlier part of a chain, or a command that got its answer is
 * not. */
static void
test_lost_answer(void **state)
{
	struct fix *f = *state;
	uint8_t big[300];
	int tries;

	memset(big, 0x41, sizeof(big));
	/* no io.sent: a failed transmit counts as sent */
	add(&f->s, SELECT_CMD, SELECT_OK);
	f->s.fail_at = 2;
	assert_int_equal(piv_change_ref(f->p, PIV_PIN_REF, "123456", 6,
	    "654321", 6, &tries, &f->ms), PIV_ERR_TRANSPORT);
	assert_int_equal(piv_lost_ins(f->p), 0x24);
	/* the next command that gets its answer clears it */
	f->s.fail_at = 0;
	add(&f->s, "0020008008", "9000");
	assert_int_equal(piv_verify(f->p, PIV_PIN_REF, "654321", 6, &tries,
	    &f->ms), 0);
	assert_int_equal(piv_lost_ins(f->p), 0);

	/* the transport says the command did not go out: known outcome */
	f->io.sent = s_sent;
	f->s.sent = 0;
	reopen(f);
	f->s.pos = f->s.n = 0;
	add(&f->s, SELECT_CMD, SELECT_OK);
	f->s.fail_at = f->s.nlog + 2;
	assert_int_equal(piv_put_data(f->p, 0x5fc10d, big, 10, &f->ms),
	    PIV_ERR_TRANSPORT);
	assert_int_equal(piv_lost_ins(f->p), 0);
	f->s.sent = 1;
	f->s.fail_at = f->s.nlog + 1;
	assert_int_equal(piv_put_data(f->p, 0x5fc10d, big, 10, &f->ms),
	    PIV_ERR_TRANSPORT);
	assert_int_equal(piv_lost_ins(f->p), 0xdb);

	/* a chained PUT DATA (short APDUs): losing the first part's answer
	 * leaves the card with an unfinished chain, nothing done; the last
	 * part's, an unknown outcome */
	f->s.fail_at = f->s.nlog + 1;
	assert_int_equal(piv_put_data(f->p, 0x5fc10d, big, sizeof(big),
	    &f->ms), PIV_ERR_TRANSPORT);
	assert_int_equal(piv_lost_ins(f->p), 0);
	f->s.fail_at = f->s.nlog + 2;
	add(&f->s, "10DB3FFF", "9000");
	assert_int_equal(piv_put_data(f->p, 0x5fc10d, big, sizeof(big),
	    &f->ms), PIV_ERR_TRANSPORT);
	assert_int_equal(piv_lost_ins(f->p), 0xdb);
}

/* 53 82 01 2C + 300 bytes, delivered as 256 + 61 xx + rest */
static void
test_get_response_chain(void **state)
{
	struct fix *f = *state;
	static char r1[2 * 258 + 1], r2[2 * 50 + 1];
	uint8_t obj[304], *d = NULL;
	size_t i, n = 0;

	obj[0] = 0x53;
	obj[1] = 0x82;
	obj[2] = 0x01;
	obj[3] = 0x2c;
	for (i = 4; i < sizeof(obj); i++)
		obj[i] = (uint8_t)i;
	util_hex(obj, 256, r1);
	strcat(r1, "6130");
	util_hex(obj + 256, 48, r2);
	strcat(r2, "9000");
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00CB3FFF055C035FC10500", r1);
	add(&f->s, "00C0000030", r2);
	assert_int_equal(piv_get_data(f->p, 0x5fc105, &d, &n, &f->ms), 0);
	assert_int_equal(n, 300);
	assert_memory_equal(d, obj + 4, 300);
	free(d);
	assert_int_equal(piv_apdu_count(f->p), 3);
}

static void
test_endless_61xx_is_bounded(void **state)
{
	struct fix *f = *state;
	static const uint8_t one[] = { 0xaa, 0x61, 0x01 };
	uint8_t *d = NULL, buf[512];
	size_t n = 7;

	add(&f->s, SELECT_CMD, SELECT_OK);
	f->s.loop = one;
	f->s.looplen = sizeof(one);
	assert_int_equal(piv_get_data(f->p, PIV_OBJ_CHUID, &d, &n, &f->ms),
	    PIV_ERR_PROTO);
	assert_null(d);
	assert_int_equal(n, 0);
	assert_true(piv_apdu_count(f->p) <= 1 + 1 + 300);
	/* with a small caller buffer the buffer bounds it first */
	n = 7;
	assert_int_equal(piv_sign(f->p, PIV_SLOT_AUTH, PIV_ALG_ECCP256,
	    buf, 32, buf, sizeof(buf), &n, &f->ms), PIV_ERR_PROTO);
	assert_int_equal(n, 0);
	/* 61 00 with full chunks: the 64 KiB ceiling ends it */
	{
		static uint8_t big[258];
		uint64_t before = piv_apdu_count(f->p);

		memset(big, 0x41, 256);
		big[256] = 0x61;
		big[257] = 0x00;
		f->s.loop = big;
		f->s.looplen = sizeof(big);
		assert_int_equal(piv_get_data(f->p, PIV_OBJ_CHUID, &d, &n,
		    &f->ms), PIV_ERR_BUFFER);
		assert_int_equal(n, 0);
		assert_true(piv_apdu_count(f->p) - before <= 257);
	}
}

static void
test_time_budget_ends_chains(void **state)
{
	struct fix *f = *state;
	uint8_t v[3];
	int ms = 0;

	assert_int_equal(piv_get_version(f->p, v, &ms), PIV_ERR_TIMEOUT);
	assert_int_equal(piv_apdu_count(f->p), 0);
}

static void
test_6cxx(void **state)
{
	struct fix *f = *state;
	uint8_t v[3];

	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD000000", "6C03");
	add(&f->s, "00FD000003", "0507019000");
	assert_int_equal(piv_get_version(f->p, v, &f->ms), 0);
	assert_memory_equal(v, "\x05\x07\x01", 3);
	/* a second 6Cxx is not followed */
	f->s.gen++;
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD000000", "6C03");
	add(&f->s, "00FD000003", "6C04");
	assert_int_equal(piv_get_version(f->p, v, &f->ms),
	    PIV_ERR_NOT_SUPPORTED);
	assert_int_equal(piv_apdu_count(f->p), 6);
}

static void
test_malformed_answers(void **state)
{
	struct fix *f = *state;
	uint8_t *d = (uint8_t *)1, v[3], buf[64];
	size_t n = 5;
	struct piv_metadata md;
	X509 *x = (X509 *)1;
	EVP_PKEY *pk = (EVP_PKEY *)1;

	add(&f->s, SELECT_CMD, SELECT_OK);
	/* length past the end */
	add(&f->s, NULL, "5382FFFF01029000");
	assert_int_equal(piv_get_data(f->p, PIV_OBJ_CHUID, &d, &n, &f->ms),
	    PIV_ERR_PROTO);
	assert_null(d);
	assert_int_equal(n, 0);
	/* wrong outer tag */
	add(&f->s, NULL, "5401009000");
	assert_int_equal(piv_get_data(f->p, PIV_OBJ_CHUID, &d, &n, &f->ms),
	    PIV_ERR_PROTO);
	/* indefinite length, 4-byte tag */
	add(&f->s, NULL, "53800000 9000");
	assert_int_equal(piv_get_data(f->p, PIV_OBJ_CHUID, &d, &n, &f->ms),
	    PIV_ERR_PROTO);
	/* version of the wrong size */
	add(&f->s, NULL, "05079000");
	assert_int_equal(piv_get_version(f->p, v, &f->ms), PIV_ERR_PROTO);
	/* metadata garbage */
	add(&f->s, NULL, "0102119000");
	assert_int_equal(piv_metadata(f->p, PIV_SLOT_AUTH, &md, &f->ms),
	    PIV_ERR_PROTO);
	assert_null(md.pub);
	add(&f->s, NULL, "0101110486FFFF9000");
	assert_int_equal(piv_metadata(f->p, PIV_SLOT_AUTH, &md, &f->ms),
	    PIV_ERR_PROTO);
	/* a metadata pubkey off the curve */
	add(&f->s, NULL, "010111044386410400000000000000000000000000000000"
	    "00000000000000000000000000000000000000000000000000000000000000"
	    "00000000000000000000000000000000000000000000000000019000");
	assert_int_equal(piv_metadata(f->p, PIV_SLOT_AUTH, &md, &f->ms),
	    PIV_ERR_PROTO);
	/* sign: 7C without 82, and 82 longer than the caller's buffer */
	add(&f->s, NULL, "7C038101009000");
	n = 5;
	memset(buf, 1, sizeof(buf));
	assert_int_equal(piv_sign(f->p, PIV_SLOT_AUTH, PIV_ALG_ECCP256, buf,
	    32, buf, sizeof(buf), &n, &f->ms), PIV_ERR_PROTO);
	assert_int_equal(n, 0);
	add(&f->s, NULL, "7C058203010203 9000");
	n = 5;
	assert_int_equal(piv_sign(f->p, PIV_SLOT_AUTH, PIV_ALG_ECCP256, buf,
	    32, buf, 2, &n, &f->ms), PIV_ERR_BUFFER);
	assert_int_equal(n, 0);
	/* attestation that is not a certificate */
	add(&f->s, NULL, "3003020101 9000");
	assert_int_equal(piv_attest(f->p, PIV_SLOT_AUTH, &x, &f->ms),
	    PIV_ERR_PROTO);
	assert_null(x);
	/* generate answering a template for another algorithm */
	add(&f->s, NULL, "7F4903860100 9000");
	assert_int_equal(piv_generate(f->p, PIV_SLOT_AUTH, PIV_ALG_ECCP256, 0,
	    0, &pk, &f->ms), PIV_ERR_PROTO);
	assert_null(pk);
}

static void
test_transport_faults(void **state)
{
	struct fix *f = *state;
	uint8_t v[3];
	uint8_t *d = NULL;
	size_t n = 3;

	f->s.transport_err = PIV_ERR_REMOVED;
	assert_int_equal(piv_get_version(f->p, v, &f->ms), PIV_ERR_REMOVED);
	f->s.transport_err = 12345;	/* nonsense from a binding */
	assert_int_equal(piv_get_version(f->p, v, &f->ms), PIV_ERR_TRANSPORT);
	f->s.transport_err = 0;
	f->s.short_frame = 1;		/* no status word */
	assert_int_equal(piv_get_version(f->p, v, &f->ms), PIV_ERR_PROTO);
	f->s.short_frame = 0;
	add(&f->s, SELECT_CMD, SELECT_OK);
	f->s.overlong = 1;		/* header says more than received */
	add(&f->s, NULL, "53009000");
	assert_int_equal(piv_get_data(f->p, PIV_OBJ_CHUID, &d, &n, &f->ms),
	    PIV_ERR_NO_APP == 0 ? 1 : PIV_ERR_PROTO);
	assert_int_equal(n, 0);
}

static void
test_short_chaining(void **state)
{
	struct fix *f = *state;
	uint8_t data[600];

	memset(data, 0x5a, sizeof(data));
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "10DB3FFFFF5C035FC10553820258", "9000");
	add(&f->s, "10DB3FFFFF", "9000");
	add(&f->s, "00DB3FFF63", "9000");
	assert_int_equal(piv_put_data(f->p, 0x5fc105, data, sizeof(data),
	    &f->ms), 0);
	assert_int_equal(piv_apdu_count(f->p), 4);
	assert_int_equal(f->s.loglen[3], 5 + 0x63);	/* no Le */
	/* a refused part ends the chain */
	add(&f->s, "10DB3FFFFF", "6A80");
	assert_int_equal(piv_put_data(f->p, 0x5fc105, data, sizeof(data),
	    &f->ms), PIV_ERR_BAD_DATA);
	assert_int_equal(piv_apdu_count(f->p), 5);
}

static void
test_extended(void **state)
{
	struct fix *f = *state;
	uint8_t data[600], *d = NULL;
	size_t n = 0;

	f->io.extended = 1;
	reopen(f);
	memset(data, 0x5a, sizeof(data));
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00DB3FFF0002615C035FC10553820258", "9000");
	assert_int_equal(piv_put_data(f->p, 0x5fc105, data, sizeof(data),
	    &f->ms), 0);
	assert_int_equal(f->s.loglen[1], 7 + 0x261);	/* one APDU, no Le */
	/* GET DATA asks for everything at once: Le 0000 */
	add(&f->s, "00CB3FFF0000055C035FC1050000", "53035A5A5A9000");
	assert_int_equal(piv_get_data(f->p, 0x5fc105, &d, &n, &f->ms), 0);
	assert_int_equal(n, 3);
	free(d);
	assert_int_equal(f->s.loglen[2], 14);
	/* short commands stay short */
	add(&f->s, "00FD000000", "0507019000");
	{
		uint8_t v[3];

		assert_int_equal(piv_get_version(f->p, v, &f->ms), 0);
	}
	assert_int_equal(piv_apdu_count(f->p), 4);
}

static void
test_extended_refused(void **state)
{
	struct fix *f = *state;
	uint8_t *d = NULL;
	size_t n = 0;

	f->io.extended = 1;
	reopen(f);
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00CB3FFF0000055C035FC1050000", "6700");
	add(&f->s, "00CB3FFF055C035FC10500", "53015A9000");
	assert_int_equal(piv_get_data(f->p, 0x5fc105, &d, &n, &f->ms), 0);
	free(d);
	/* remembered: straight to short */
	add(&f->s, "00CB3FFF055C035FC10500", "53015A9000");
	assert_int_equal(piv_get_data(f->p, 0x5fc105, &d, &n, &f->ms), 0);
	free(d);
	assert_int_equal(piv_apdu_count(f->p), 4);
}

static void
test_tiny_transport(void **state)
{
	struct fix *f = *state;
	uint8_t *d = NULL;
	size_t n = 0;

	f->io.rx_max = 34;	/* 32 data bytes + SW */
	reopen(f);
	add(&f->s, SELECT_CMD "20", SELECT_OK);
	add(&f->s, "00CB3FFF055C035FC10520",
	    "5324000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D"
	    "6106");
	add(&f->s, "00C0000006", "1E1F202122239000");
	assert_int_equal(piv_get_data(f->p, 0x5fc105, &d, &n, &f->ms), 0);
	assert_int_equal(n, 0x24);
	assert_int_equal(d[0x23], 0x23);
	free(d);
	assert_true(f->s.lastcap <= 34);
}

static void
test_generation_drops_pin_state(void **state)
{
	struct fix *f = *state;
	int verified, tries;

	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00200080", "9000");
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(verified, 1);
	/* another process used the card: SELECT again before asking */
	f->s.gen = 7;
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00200080", "63C3");
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(verified, 0);
	assert_int_equal(piv_apdu_count(f->p), 4);
	/* inside a transaction: still once */
	assert_int_equal(piv_begin(f->p, &f->ms), 0);
	add(&f->s, "00200080", "63C3");
	add(&f->s, "00200080", "63C3");
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(piv_end(f->p), 0);
	assert_int_equal(piv_end(f->p), PIV_ERR_ARG);
	assert_int_equal(piv_apdu_count(f->p), 6);
}

static void
test_yk_commands(void **state)
{
	struct fix *f = *state;

	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FA0504", "9000");
	assert_int_equal(piv_set_pin_retries(f->p, 5, 4, &f->ms), 0);
	add(&f->s, "00FB0000", "6985");
	assert_int_equal(piv_reset(f->p, &f->ms), PIV_ERR_CONDITIONS);
	add(&f->s, "00F6829A", "9000");
	assert_int_equal(piv_move_key(f->p, 0x9a, 0x82, &f->ms), 0);
	add(&f->s, "00F6FF9C", "6A88");
	assert_int_equal(piv_delete_key(f->p, 0x9c, &f->ms), PIV_ERR_NOT_FOUND);
	assert_int_equal(piv_move_key(f->p, 0x9a, 0x9a, &f->ms), PIV_ERR_ARG);
	assert_int_equal(piv_delete_key(f->p, 0x42, &f->ms), PIV_ERR_ARG);
	assert_int_equal(piv_set_pin_retries(f->p, 0, 3, &f->ms), PIV_ERR_ARG);
	add(&f->s, "00FF FFFF 1B 039B18", "9000");
	assert_int_equal(piv_set_mgm(f->p, PIV_ALG_3DES,
	    (const uint8_t *)"0123456789abcdef01234567", 24, 0, &f->ms), 0);
	add(&f->s, "00FFFFFE1308 9B10", "9000");
	assert_int_equal(piv_set_mgm(f->p, PIV_ALG_AES128,
	    (const uint8_t *)"0123456789abcdef", 16, 1, &f->ms), 0);
	assert_int_equal(piv_set_mgm(f->p, PIV_ALG_AES128,
	    (const uint8_t *)"0123456789abcdef", 15, 1, &f->ms), PIV_ERR_ARG);
	add(&f->s, "00F7009A", "6D00");
	{
		struct piv_metadata md;

		assert_int_equal(piv_metadata(f->p, 0x9a, &md, &f->ms),
		    PIV_ERR_NOT_SUPPORTED);
		add(&f->s, "00F7009A", "6A88");
		assert_int_equal(piv_metadata(f->p, 0x9a, &md, &f->ms),
		    PIV_ERR_NOT_FOUND);
		add(&f->s, "00F70080", "0101FF0202010005010106020305"
		    "9000");
		assert_int_equal(piv_metadata(f->p, 0x80, &md, &f->ms), 0);
		assert_int_equal(md.is_default, 1);
		assert_int_equal(md.retries_total, 3);
		assert_int_equal(md.retries_left, 5);
		assert_null(md.pub);
		piv_metadata_clear(&md);
	}
}

static void
test_identity_fallback(void **state)
{
	struct fix *f = *state;
	struct piv_identity id;

	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD0000", "6D00");
	add(&f->s, "00F80000", "6D00");
	add(&f->s, "00CB3FFF055C035FC102",
	    "531E3019D4E739DA739CED39CE739D836858210842108421C84210C3EB"
	    "3410000102030405060708090A0B0C0D0E0F9000");
	/* oops: 30 is 25 bytes, 34 follows */
	assert_int_equal(piv_identity(f->p, &id, &f->ms), PIV_ERR_PROTO);
	assert_int_equal(id.has_guid, 0);
	f->s.gen++;
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD0000", "6D00");
	add(&f->s, "00F80000", "6D00");
	add(&f->s, "00CB3FFF055C035FC102",
	    "53393019D4E739DA739CED39CE739D836858210842108421C84210C3EB"
	    "3410000102030405060708090A0B0C0D0E0F35083230333030313031"
	    "FE009000");
	assert_int_equal(piv_identity(f->p, &id, &f->ms), 0);
	assert_int_equal(id.has_serial, 0);
	assert_int_equal(id.has_version, 0);
	assert_int_equal(id.has_guid, 1);
	assert_int_equal(id.guid[15], 0x0f);
	/* a YubiKey: no CHUID read */
	f->s.gen++;
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD0000", "0507019000");
	add(&f->s, "00F80000", "00BC614E9000");
	assert_int_equal(piv_identity(f->p, &id, &f->ms), 0);
	assert_int_equal(id.has_serial, 1);
	assert_int_equal(id.serial, 12345678);
	assert_int_equal(id.has_guid, 0);
	assert_int_equal(piv_apdu_count(f->p), 11);
}

static void
test_mgm_auth_impostor(void **state)
{
	struct fix *f = *state;
	static const uint8_t key[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
	    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "0087039B047C028000", "7C0A80080102030405060708 9000");
	/* the card answers with a wrong encryption of our challenge */
	add(&f->s, "0087039B167C1480", "7C0A82080000000000000000 9000");
	assert_int_equal(piv_auth_mgm(f->p, PIV_ALG_3DES, key, 24, &f->ms),
	    PIV_ERR_PROTO);
	/* a witness of the wrong size */
	add(&f->s, "0087039B047C028000", "7C0680040102030490 00");
	assert_int_equal(piv_auth_mgm(f->p, PIV_ALG_3DES, key, 24, &f->ms),
	    PIV_ERR_PROTO);
	/* wrong key: the card refuses step 2 */
	add(&f->s, "0087039B047C028000", "7C0A80080102030405060708 9000");
	add(&f->s, "0087039B", "6982");
	assert_int_equal(piv_auth_mgm(f->p, PIV_ALG_3DES, key, 24, &f->ms),
	    PIV_ERR_AUTH_REQUIRED);
	assert_int_equal(piv_auth_mgm(f->p, PIV_ALG_AES256, key, 24, &f->ms),
	    PIV_ERR_ARG);
	assert_int_equal(piv_auth_mgm(f->p, 0x42, key, 24, &f->ms),
	    PIV_ERR_ARG);
}

/* IMPORT KEY encodings: 06 for P-256, 07 Ed25519, 08 X25519, 01-05 RSA,
 * policies only when not the default. */
static void
test_import_encoding(void **state)
{
	struct fix *f = *state;
	static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	    12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
	    28, 29, 30, 31, 32 };
	EVP_PKEY *ed, *x, *ec, *rsa;
	size_t last;

	ed = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, 32);
	x = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, seed, 32);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(ed);
	assert_non_null(x);
	assert_non_null(ec);
	assert_non_null(rsa);
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FEE09A250720010203040506070809", "9000");
	assert_int_equal(piv_import_key(f->p, 0x9a, ed, 0, 2, &f->ms), 0);
	last = f->s.nlog - 1;
	assert_int_equal(f->s.loglen[last], 5 + 0x25);
	assert_memory_equal(f->s.log[last] + 5 + 34, "\xab\x01\x02", 3);
	add(&f->s, "00FEE19D2208200102", "9000");
	assert_int_equal(piv_import_key(f->p, 0x9d, x, 0, 0, &f->ms), 0);
	add(&f->s, "00FE119C2506 20", "9000");
	assert_int_equal(piv_import_key(f->p, 0x9c, ec, 1, 0, &f->ms), 0);
	last = f->s.nlog - 1;
	assert_memory_equal(f->s.log[last] + 5 + 34, "\xaa\x01\x01", 3);
	/* RSA-1024: 5 x (2 + 64) = 330 bytes: a chain of two */
	add(&f->s, "10FE069AFF0140", "9000");
	add(&f->s, "00FE069A4B", "9000");
	assert_int_equal(piv_import_key(f->p, 0x9a, rsa, 0, 0, &f->ms), 0);
	assert_int_equal(piv_import_key(f->p, 0x42, rsa, 0, 0, &f->ms),
	    PIV_ERR_ARG);
	assert_int_equal(piv_import_key(f->p, 0x9a, rsa, 9, 0, &f->ms),
	    PIV_ERR_ARG);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(x);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static void
test_transactions(void **state)
{
	struct fix *f = *state;
	uint8_t v[3];
	uint32_t serial;
	int verified, tries;

	/* the reader is busy: nothing is sent */
	f->s.begin_err = PIV_ERR_BUSY;
	assert_int_equal(piv_get_version(f->p, v, &f->ms), PIV_ERR_BUSY);
	assert_int_equal(piv_begin(f->p, &f->ms), PIV_ERR_BUSY);
	assert_int_equal(piv_apdu_count(f->p), 0);
	f->s.begin_err = 0;
	/* one bracket around several calls */
	assert_int_equal(piv_begin(f->p, &f->ms), 0);
	add(&f->s, SELECT_CMD, SELECT_OK);
	add(&f->s, "00FD0000", "0507019000");
	add(&f->s, "00F80000", "00CC07399000");
	add(&f->s, "00200080", "9000");
	assert_int_equal(piv_get_version(f->p, v, &f->ms), 0);
	assert_int_equal(piv_get_serial(f->p, &serial, &f->ms), 0);
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(f->s.nbegin, 1);
	assert_int_equal(f->s.nend, 0);
	assert_int_equal(piv_end(f->p), 0);
	assert_int_equal(f->s.nend, 1);
	/* each call brackets itself otherwise */
	add(&f->s, "00200080", "9000");
	assert_int_equal(piv_pin_status(f->p, PIV_PIN_REF, &verified, &tries,
	    &f->ms), 0);
	assert_int_equal(f->s.nbegin, 2);
	assert_int_equal(f->s.nend, 2);
	/* a command without answer data that gets 61xx: done, nothing read */
	add(&f->s, "00FA0303", "6110");
	assert_int_equal(piv_set_pin_retries(f->p, 3, 3, &f->ms), 0);
	assert_int_equal(piv_apdu_count(f->p), 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_select_once_per_generation),
		T(test_select_fails),
		T(test_status_words),
		T(test_verify),
		T(test_empty_pin_is_not_verified),
		T(test_change_and_unblock),
		T(test_lost_answer),
		T(test_get_response_chain),
		T(test_endless_61xx_is_bounded),
		T(test_time_budget_ends_chains),
		T(test_6cxx),
		T(test_malformed_answers),
		T(test_transport_faults),
		T(test_short_chaining),
		T(test_extended),
		T(test_extended_refused),
		T(test_tiny_transport),
		T(test_generation_drops_pin_state),
		T(test_yk_commands),
		T(test_identity_fallback),
		T(test_mgm_auth_impostor),
		T(test_import_encoding),
		T(test_transactions),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
