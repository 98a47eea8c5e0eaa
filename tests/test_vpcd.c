/* SPDX-License-Identifier: MIT */
/*
 * tests/test_vpcd.c — the vpcd protocol, both sides, over loopback:
 * backend_vpcd (reader side) against vpcd_serve_card and the software
 * card, and each side against a scripted hostile peer (lengths that lie,
 * length 0, 65535, cut-off frames, stalls, disconnects).  A watchdog
 * alarm turns any hang into a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../util/util.h"
#include "vtoken/backend.h"
#include "vtoken/vcard.h"
#include "vtoken/vpcd.h"

#define WATCHDOG_S	30	/* per test: a hang fails instead of blocking */
#define WATCHDOG_VG_S	600	/* the same under valgrind */
#define SHORT_MS	300	/* backend timeouts in the stall tests */

static const uint8_t select_piv[] = {
	0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08
};

/*
 * One software card for the whole run, served by one thread at a time
 * (each test joins its server before it ends): a fresh card makes its
 * attestation key, which takes a while under valgrind.
 */
static vcard_t *the_card;

static int
group_setup(void **state)
{
	static const struct vcard_opts opts;	/* a factory-fresh card */

	(void)state;
	return vcard_new(&the_card, &opts);
}

static int
group_teardown(void **state)
{
	(void)state;
	vcard_free(&the_card);
	return the_card == NULL ? 0 : -1;
}

static int
setup(void **state)
{
	const char *mode = getenv("USBPIV_TEST_MODE");

	(void)state;
	alarm(mode != NULL && strcmp(mode, "valgrind") == 0 ?
	    WATCHDOG_VG_S : WATCHDOG_S);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void
new_backend(card_backend_t *b, uint16_t *port)
{
	assert_int_equal(backend_vpcd(b, 0, 0), 0);
	assert_int_equal(backend_vpcd_port(b, port), 0);
	assert_true(*port != 0);
}

/* Polls atr() until a card shows up (bounded). */
static size_t
wait_card(card_backend_t *b, uint8_t *atr, size_t cap)
{
	size_t n = 0;
	int i;

	for (i = 0; i < 200 && n == 0; i++) {
		n = b->ops->atr(b->h, atr, cap);
		if (n == 0)
			util_sleep_ms(10);
	}
	return n;
}

static int
connect_to(uint16_t port)
{
	int fd = -1, ms = 5000;

	assert_int_equal(vpcd_connect("127.0.0.1", port, &fd, &ms), VPCD_OK);
	return fd;
}

/* Writes raw bytes (no framing); safe in the peer threads, which must
 * not use cmocka's asserts: what they did is checked by the main thread. */
static void
raw_write(int fd, const void *p, size_t n)
{
	(void)send(fd, p, n, MSG_NOSIGNAL);
}

/* ---- the card served to the backend: the real thing --------------------- */

struct server {
	pthread_t t;
	vcard_t *card;
	uint16_t port;
	int rc;
};

static void *
server_main(void *arg)
{
	struct server *s = arg;

	s->rc = vpcd_serve_card(s->card, "127.0.0.1", s->port);
	return NULL;
}

static void
server_start(struct server *s, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->card = the_card;
	s->port = port;
	s->rc = 1;
	assert_int_equal(pthread_create(&s->t, NULL, server_main, s), 0);
}

static int
server_join(struct server *s)
{
	assert_int_equal(pthread_join(s->t, NULL), 0);
	s->card = NULL;
	return s->rc;
}

static void
test_backend_serves_card(void **state)
{
	card_backend_t b;
	struct server s;
	uint8_t atr[64], ref[64], rsp[300];
	size_t n, rn, rlen;
	uint16_t port;

	(void)state;
	rn = vcard_atr(the_card, ref, sizeof(ref));
	new_backend(&b, &port);
	server_start(&s, port);
	n = wait_card(&b, atr, sizeof(atr));
	assert_true(rn > 0);
	assert_int_equal(n, rn);
	assert_memory_equal(atr, ref, n);

	b.ops->power_on(b.h);
	assert_int_equal(b.ops->apdu(b.h, select_piv, sizeof(select_piv), rsp,
	    sizeof(rsp), &rlen), 0);
	assert_true(rlen >= 2);
	assert_true(rsp[rlen - 2] == 0x90 || rsp[rlen - 2] == 0x61);
	/* a power cycle keeps the card there */
	b.ops->power_off(b.h);
	b.ops->power_on(b.h);
	assert_int_equal(b.ops->atr(b.h, atr, sizeof(atr)), rn);

	/* the reader going away ends the service cleanly */
	b.ops->free(b.h);
	assert_int_equal(server_join(&s), VPCD_OK);
}

/* One APDU through the backend; returns the status word. */
static unsigned
xfer(card_backend_t *b, const uint8_t *cmd, size_t clen, uint8_t *rsp,
    size_t cap, size_t *rlen)
{
	assert_int_equal(b->ops->apdu(b->h, cmd, clen, rsp, cap, rlen), 0);
	assert_true(*rlen >= 2);
	return (unsigned)rsp[*rlen - 2] << 8 | rsp[*rlen - 1];
}

/* 3DES-ECB of one block with the factory management key. */
static void
des3(int enc, const uint8_t in[8], uint8_t out[8])
{
	static const uint8_t key[24] = {
		1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
		1, 2, 3, 4, 5, 6, 7, 8
	};
	EVP_CIPHER_CTX *ctx;
	int n = 0;

	assert_non_null(ctx = EVP_CIPHER_CTX_new());
	assert_int_equal(EVP_CipherInit_ex(ctx, EVP_des_ede3_ecb(), NULL, key,
	    NULL, enc), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_CipherUpdate(ctx, out, &n, in, 8), 1);
	assert_int_equal(n, 8);
	EVP_CIPHER_CTX_free(ctx);
}

/*
 * The whole path with the real card: management-key authentication, then
 * a 3 KiB object written with an extended command and read back in one
 * extended response (the largest the card stores), through backend_vpcd
 * and vpcd_serve_card.
 */
static void
test_backend_real_card_large_object(void **state)
{
	static const uint8_t witness_req[] = {
		0x00, 0x87, 0x03, 0x9b, 0x04, 0x7c, 0x02, 0x80, 0x00
	};
	static const uint8_t challenge[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
	static const uint8_t get[] = {
		0x00, 0xcb, 0x3f, 0xff, 0x00, 0x00, 0x05,
		0x5c, 0x03, 0x5f, 0xc1, 0x05, 0x00, 0x00
	};
	enum { OBJ = 3000 };
	card_backend_t b;
	struct server s;
	uint8_t atr[64], rsp[4096], mut[27], w[8], e[8], *put;
	size_t rlen, plen, i;
	uint16_t port;

	(void)state;
	new_backend(&b, &port);
	server_start(&s, port);
	assert_true(wait_card(&b, atr, sizeof(atr)) > 0);
	b.ops->power_on(b.h);
	assert_int_equal(xfer(&b, select_piv, sizeof(select_piv), rsp,
	    sizeof(rsp), &rlen), 0x9000);

	/* witness: 7C 0A 80 08 <8> */
	assert_int_equal(xfer(&b, witness_req, sizeof(witness_req), rsp,
	    sizeof(rsp), &rlen), 0x9000);
	assert_int_equal(rlen, 14);
	assert_memory_equal(rsp, "\x7c\x0a\x80\x08", 4);
	des3(0, rsp + 4, w);
	/* 7C 14 80 08 <witness decrypted> 81 08 <our challenge> */
	memcpy(mut, "\x00\x87\x03\x9b\x16\x7c\x14\x80\x08", 9);
	memcpy(mut + 9, w, 8);
	mut[17] = 0x81;
	mut[18] = 0x08;
	memcpy(mut + 19, challenge, 8);
	assert_int_equal(xfer(&b, mut, sizeof(mut), rsp, sizeof(rsp), &rlen),
	    0x9000);
	assert_int_equal(rlen, 14);
	des3(1, challenge, e);
	assert_memory_equal(rsp + 4, e, 8);

	/* PUT DATA, extended: 5C 03 5FC105, 53 82 len, content */
	plen = 7 + 5 + 4 + OBJ;
	assert_non_null(put = malloc(plen));
	memcpy(put, "\x00\xdb\x3f\xff\x00", 5);
	put[5] = (uint8_t)((plen - 7) >> 8);
	put[6] = (uint8_t)(plen - 7);
	memcpy(put + 7, "\x5c\x03\x5f\xc1\x05\x53\x82", 7);
	put[14] = (uint8_t)(OBJ >> 8);
	put[15] = (uint8_t)OBJ;
	for (i = 0; i < OBJ; i++)
		put[16 + i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(xfer(&b, put, plen, rsp, sizeof(rsp), &rlen), 0x9000);

	/* GET DATA with extended Le: the whole object in one response */
	assert_int_equal(xfer(&b, get, sizeof(get), rsp, sizeof(rsp), &rlen),
	    0x9000);
	assert_int_equal(rlen, 4 + OBJ + 2);
	assert_memory_equal(rsp, put + 12, 4 + OBJ);
	free(put);

	b.ops->free(b.h);
	assert_int_equal(server_join(&s), VPCD_OK);
}

/* A response larger than the caller's buffer would be cut: it is refused
 * whole, output length 0, and the card is dropped. */
static void
test_backend_small_cap(void **state)
{
	card_backend_t b;
	struct server s;
	uint8_t atr[64], rsp[1] = { 0xee };
	size_t rlen = 99;
	uint16_t port;

	(void)state;
	new_backend(&b, &port);
	server_start(&s, port);
	assert_true(wait_card(&b, atr, sizeof(atr)) > 0);
	assert_int_equal(b.ops->apdu(b.h, select_piv, sizeof(select_piv), rsp,
	    sizeof(rsp), &rlen), -1);
	assert_int_equal(rlen, 0);
	assert_int_equal(rsp[0], 0xee);
	b.ops->free(b.h);
	(void)server_join(&s);
}

/* ---- a scripted card peer against the backend ---------------------------- */

enum script {
	SC_4K,		/* answer an extended APDU with 4096 bytes + 9000 */
	SC_LIE_CLOSE,	/* length 4096, 10 bytes, close */
	SC_LIE_STALL,	/* length 4096, 10 bytes, stay silent */
	SC_ZERO,	/* length 0 */
	SC_MAX_CLOSE,	/* length 65535, nothing, close */
	SC_MAX_FULL,	/* a whole 65535-byte message */
	SC_ONE,		/* a 1-byte response: no status word */
	SC_HALF_HDR,	/* one byte of a header, close */
	SC_LONG_ATR,	/* a 34-byte ATR */
	SC_SILENT,	/* never answers */
};

struct peer {
	pthread_t t;
	uint16_t port;
	enum script sc;
	int fd;
	uint8_t got[VPCD_MSG_MAX];	/* the last message the peer read */
	size_t glen;
	uint8_t first[64];		/* the first APDU (or its start) */
	size_t flen;
	volatile int release;		/* SC_*STALL/SILENT: may close now */
};

static const uint8_t fake_atr[] = { 0x3b, 0x80, 0x80, 0x01, 0x01 };

/* Answers control codes (ATR) until the first APDU, which it returns. */
static int
peer_next_apdu(struct peer *p)
{
	int ms, r;

	for (;;) {
		ms = 5000;
		r = vpcd_recv(p->fd, p->got, sizeof(p->got), &p->glen, &ms,
		    5000);
		if (r != VPCD_OK)
			return r;
		if (p->glen > 1)
			return VPCD_OK;
		if (p->got[0] == VPCD_CTRL_ATR) {
			ms = 5000;
			if (p->sc == SC_LONG_ATR) {
				uint8_t a[34];

				memset(a, 0x3b, sizeof(a));
				return vpcd_send(p->fd, a, sizeof(a), &ms);
			}
			if ((r = vpcd_send(p->fd, fake_atr, sizeof(fake_atr),
			    &ms)) != VPCD_OK)
				return r;
		}
	}
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	uint8_t *big;
	int ms = 5000, i;

	if (peer_next_apdu(p) != VPCD_OK)
		goto out;
	p->flen = p->glen < sizeof(p->first) ? p->glen : sizeof(p->first);
	memcpy(p->first, p->got, p->flen);
	switch (p->sc) {
	case SC_4K:
		if ((big = malloc(4098)) == NULL)
			break;
		for (i = 0; i < 4096; i++)
			big[i] = (uint8_t)(i * 7);
		big[4096] = 0x90;
		big[4097] = 0x00;
		(void)vpcd_send(p->fd, big, 4098, &ms);
		free(big);
		/* then serve the ATR polls of the next step */
		(void)peer_next_apdu(p);
		break;
	case SC_LIE_CLOSE:
		raw_write(p->fd, "\x10\x00" "0123456789", 12);
		break;
	case SC_LIE_STALL:
	case SC_SILENT:
		if (p->sc == SC_LIE_STALL)
			raw_write(p->fd, "\x10\x00" "0123456789", 12);
		for (i = 0; i < 1000 && !p->release; i++)
			util_sleep_ms(10);
		break;
	case SC_ZERO:
		raw_write(p->fd, "\x00\x00", 2);
		util_sleep_ms(100);
		break;
	case SC_MAX_CLOSE:
		raw_write(p->fd, "\xff\xff", 2);
		break;
	case SC_MAX_FULL:
		if ((big = calloc(1, VPCD_MSG_MAX)) == NULL)
			break;
		big[VPCD_MSG_MAX - 2] = 0x90;
		(void)vpcd_send(p->fd, big, VPCD_MSG_MAX, &ms);
		free(big);
		util_sleep_ms(100);
		break;
	case SC_ONE:
		raw_write(p->fd, "\x00\x01\x90", 3);
		util_sleep_ms(100);
		break;
	case SC_HALF_HDR:
		raw_write(p->fd, "\x00", 1);
		break;
	case SC_LONG_ATR:
		break;
	}
out:
	close(p->fd);
	p->fd = -1;
	return NULL;
}

static struct peer *
peer_start(uint16_t port, enum script sc)
{
	struct peer *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->port = port;
	p->sc = sc;
	p->fd = connect_to(port);
	assert_int_equal(pthread_create(&p->t, NULL, peer_main, p), 0);
	return p;
}

static void
peer_join(struct peer **pp)
{
	struct peer *p = *pp;

	p->release = 1;
	assert_int_equal(pthread_join(p->t, NULL), 0);
	free(p);
	*pp = NULL;
}

/* Runs one APDU against a scripted peer; returns apdu()'s result. */
static int
run_script(enum script sc, size_t cap, size_t *rlen, int *card_after)
{
	card_backend_t b;
	struct peer *p;
	uint8_t atr[64], *rsp;
	uint16_t port;
	int r;

	new_backend(&b, &port);
	backend_vpcd_set_timeouts(&b, SHORT_MS, SHORT_MS);
	p = peer_start(port, sc);
	assert_int_equal(wait_card(&b, atr, sizeof(atr)), sizeof(fake_atr));
	assert_non_null(rsp = malloc(cap));
	*rlen = 12345;
	r = b.ops->apdu(b.h, select_piv, sizeof(select_piv), rsp, cap, rlen);
	free(rsp);
	p->release = 1;
	*card_after = b.ops->atr(b.h, atr, sizeof(atr)) != 0;
	peer_join(&p);
	b.ops->free(b.h);
	return r;
}

static void
test_backend_4k_extended_response(void **state)
{
	card_backend_t b;
	struct peer *p;
	uint8_t atr[64], cmd[7] = { 0x00, 0xcb, 0x3f, 0xff, 0x00, 0x10, 0x00 };
	uint8_t *rsp;
	size_t rlen = 0, i;
	uint16_t port;

	(void)state;
	new_backend(&b, &port);
	p = peer_start(port, SC_4K);
	assert_int_equal(wait_card(&b, atr, sizeof(atr)), sizeof(fake_atr));
	assert_memory_equal(atr, fake_atr, sizeof(fake_atr));
	assert_non_null(rsp = malloc(8192));
	assert_int_equal(b.ops->apdu(b.h, cmd, sizeof(cmd), rsp, 8192, &rlen),
	    0);
	/* the card saw exactly our command, framed */
	assert_int_equal(p->flen, sizeof(cmd));
	assert_memory_equal(p->first, cmd, sizeof(cmd));
	assert_int_equal(rlen, 4098);
	for (i = 0; i < 4096; i++)
		assert_int_equal(rsp[i], (uint8_t)(i * 7));
	assert_int_equal(rsp[4096], 0x90);
	assert_int_equal(rsp[4097], 0x00);
	free(rsp);
	/* still there */
	assert_int_equal(b.ops->atr(b.h, atr, sizeof(atr)), sizeof(fake_atr));
	b.ops->free(b.h);
	peer_join(&p);
}

static void
test_backend_hostile_lengths(void **state)
{
	static const struct {
		enum script sc;
		size_t cap;
	} cases[] = {
		{ SC_LIE_CLOSE, 8192 },	/* length > bytes, then EOF */
		{ SC_LIE_STALL, 8192 },	/* length > bytes, then silence */
		{ SC_ZERO, 8192 },	/* length 0 */
		{ SC_MAX_CLOSE, 70000 },/* 65535 announced, nothing sent */
		{ SC_MAX_FULL, 4098 },	/* 65535 sent, caller holds 4098 */
		{ SC_ONE, 8192 },	/* no status word */
		{ SC_HALF_HDR, 8192 },	/* half a header, then EOF */
		{ SC_SILENT, 8192 },	/* no answer at all */
	};
	size_t i, rlen;
	int card;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		print_message("case %zu\n", i);
		assert_int_equal(run_script(cases[i].sc, cases[i].cap, &rlen,
		    &card), -1);
		assert_int_equal(rlen, 0);
		/* the stream cannot be trusted any more: no card */
		assert_int_equal(card, 0);
	}
}

static void
test_backend_65535_accepted_when_it_fits(void **state)
{
	size_t rlen;
	int card;

	(void)state;
	assert_int_equal(run_script(SC_MAX_FULL, VPCD_MSG_MAX, &rlen, &card),
	    0);
	assert_int_equal(rlen, VPCD_MSG_MAX);
}

static void
test_backend_long_atr_is_no_card(void **state)
{
	card_backend_t b;
	struct peer *p;
	uint8_t atr[64];
	uint16_t port;
	int i;
	size_t n = 0;

	(void)state;
	new_backend(&b, &port);
	backend_vpcd_set_timeouts(&b, SHORT_MS, SHORT_MS);
	p = peer_start(port, SC_LONG_ATR);
	for (i = 0; i < 50; i++) {
		n += b.ops->atr(b.h, atr, sizeof(atr));
		util_sleep_ms(5);
	}
	assert_int_equal(n, 0);
	b.ops->free(b.h);
	peer_join(&p);
}

/* Disconnect -> no card, apdu -1; a new card is taken later. */
static void
test_backend_reconnect(void **state)
{
	card_backend_t b;
	struct server s;
	uint8_t atr[64], rsp[300];
	size_t rlen = 7;
	uint16_t port;
	int fd, i;

	(void)state;
	new_backend(&b, &port);
	/* a first "card" that connects and leaves */
	fd = connect_to(port);
	util_sleep_ms(50);
	close(fd);
	assert_int_equal(b.ops->atr(b.h, atr, sizeof(atr)), 0);
	assert_int_equal(b.ops->apdu(b.h, select_piv, sizeof(select_piv), rsp,
	    sizeof(rsp), &rlen), -1);
	assert_int_equal(rlen, 0);

	/* the real card comes */
	server_start(&s, port);
	assert_true(wait_card(&b, atr, sizeof(atr)) > 0);
	/* a second card is turned away while the first is served */
	fd = connect_to(port);
	assert_true(b.ops->atr(b.h, atr, sizeof(atr)) > 0);
	for (i = 0; i < 100; i++) {
		ssize_t r = recv(fd, rsp, 1, MSG_DONTWAIT);
		if (r == 0)
			break;
		util_sleep_ms(10);
		(void)b.ops->atr(b.h, atr, sizeof(atr));
	}
	assert_true(i < 100);	/* it saw EOF */
	close(fd);
	assert_int_equal(b.ops->apdu(b.h, select_piv, sizeof(select_piv), rsp,
	    sizeof(rsp), &rlen), 0);
	b.ops->free(b.h);
	assert_int_equal(server_join(&s), VPCD_OK);
}

/* ---- a scripted reader against the card side ---------------------------- */

struct served {
	pthread_t t;
	vcard_t *card;
	int fd;
	int rc;
};

static void *
served_main(void *arg)
{
	struct served *s = arg;

	s->rc = vpcd_serve_fd(s->card, s->fd);
	return NULL;
}

/* Starts vpcd_serve_fd on one end of a socketpair; returns the other. */
static int
served_start(struct served *s)
{
	int sv[2];

	memset(s, 0, sizeof(*s));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s->card = the_card;
	s->fd = sv[0];
	s->rc = 1;
	assert_int_equal(pthread_create(&s->t, NULL, served_main, s), 0);
	return sv[1];
}

static int
served_join(struct served *s)
{
	assert_int_equal(pthread_join(s->t, NULL), 0);
	close(s->fd);
	s->card = NULL;
	return s->rc;
}

static void
test_card_side_control_and_apdus(void **state)
{
	struct served s;
	uint8_t ctl, buf[VPCD_MSG_MAX], ref[64], *cmd;
	size_t n, rn;
	int fd, ms;

	(void)state;
	rn = vcard_atr(the_card, ref, sizeof(ref));
	fd = served_start(&s);
	/* power on and reset are not answered: the next answer is the ATR */
	ctl = VPCD_CTRL_ON;
	ms = 2000;
	assert_int_equal(vpcd_send(fd, &ctl, 1, &ms), VPCD_OK);
	ctl = VPCD_CTRL_RESET;
	assert_int_equal(vpcd_send(fd, &ctl, 1, &ms), VPCD_OK);
	ctl = 0x77;	/* unknown: ignored */
	assert_int_equal(vpcd_send(fd, &ctl, 1, &ms), VPCD_OK);
	ctl = VPCD_CTRL_ATR;
	assert_int_equal(vpcd_send(fd, &ctl, 1, &ms), VPCD_OK);
	ms = 2000;
	assert_int_equal(vpcd_recv(fd, buf, sizeof(buf), &n, &ms, 2000),
	    VPCD_OK);
	assert_int_equal(n, rn);
	assert_memory_equal(buf, ref, rn);

	/* a short APDU and a 4 KiB extended one each get one response */
	ms = 2000;
	assert_int_equal(vpcd_send(fd, select_piv, sizeof(select_piv), &ms),
	    VPCD_OK);
	assert_int_equal(vpcd_recv(fd, buf, sizeof(buf), &n, &ms, 2000),
	    VPCD_OK);
	assert_true(n >= 2);
	assert_non_null(cmd = calloc(1, 4096 + 7));
	cmd[1] = 0xdb;	/* PUT DATA, unauthenticated: refused, but answered */
	cmd[2] = 0x3f;
	cmd[3] = 0xff;
	cmd[5] = 0x10;	/* Lc = 4096, extended */
	cmd[6] = 0x00;
	ms = 2000;
	assert_int_equal(vpcd_send(fd, cmd, 4096 + 7, &ms), VPCD_OK);
	free(cmd);
	assert_int_equal(vpcd_recv(fd, buf, sizeof(buf), &n, &ms, 2000),
	    VPCD_OK);
	assert_true(n >= 2);

	close(fd);	/* the reader leaves: a clean end */
	assert_int_equal(served_join(&s), VPCD_OK);
}

static void
test_card_side_hostile_reader(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
	} cases[] = {
		{ "\x00\x00", 2 },			/* length 0 */
		{ "\x00\x10" "0123", 6 },		/* cut mid-frame */
		{ "\xff\xff" "abc", 5 },		/* 65535, cut */
		{ "\x00", 1 },				/* half a header */
	};
	struct served s;
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		fd = served_start(&s);
		raw_write(fd, cases[i].bytes, cases[i].n);
		if (cases[i].bytes[0] != 0 || cases[i].bytes[1] != 0 ||
		    cases[i].n != 2)
			shutdown(fd, SHUT_WR);	/* EOF mid-message */
		assert_int_equal(served_join(&s), VPCD_ERR_PROTO);
		close(fd);
	}
}

/* ---- framing ------------------------------------------------------------ */

static void
test_framing_args_and_bounds(void **state)
{
	uint8_t buf[8] = { 0 };
	size_t n = 5;
	int sv[2], ms = 100;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(vpcd_send(sv[0], buf, 0, &ms), VPCD_ERR_ARG);
	assert_int_equal(vpcd_send(sv[0], buf, VPCD_MSG_MAX + 1, &ms),
	    VPCD_ERR_ARG);
	assert_int_equal(vpcd_recv(sv[1], NULL, 8, &n, &ms, 100),
	    VPCD_ERR_ARG);
	assert_int_equal(n, 0);
	/* nothing arrives: a timeout, not a hang */
	n = 5;
	ms = 50;
	assert_int_equal(vpcd_recv(sv[1], buf, sizeof(buf), &n, &ms, 50),
	    VPCD_ERR_TIMEOUT);
	assert_int_equal(n, 0);
	assert_int_equal(ms, 0);
	/* a message longer than the buffer is refused before reading it */
	ms = 100;
	assert_int_equal(vpcd_send(sv[0], (const uint8_t *)"123456789", 9,
	    &ms), VPCD_OK);
	n = 5;
	ms = 100;
	assert_int_equal(vpcd_recv(sv[1], buf, sizeof(buf), &n, &ms, 100),
	    VPCD_ERR_PROTO);
	assert_int_equal(n, 0);
	assert_int_equal(buf[0], 0);
	close(sv[0]);
	close(sv[1]);
}

/* Byte-at-a-time delivery with signals in between still yields the
 * message (short reads and EINTR). */
struct dribble {
	int fd;
	pthread_t target;
};

static void
on_usr1(int sig)
{
	(void)sig;
}

static void *
dribble_main(void *arg)
{
	struct dribble *d = arg;
	static const uint8_t msg[] = { 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };
	size_t i;

	for (i = 0; i < sizeof(msg); i++) {
		util_sleep_ms(20);
		pthread_kill(d->target, SIGUSR1);
		util_sleep_ms(20);
		(void)send(d->fd, &msg[i], 1, MSG_NOSIGNAL);
	}
	return NULL;
}

static void
test_framing_short_reads_and_eintr(void **state)
{
	struct sigaction sa, old;
	struct dribble d;
	pthread_t t;
	uint8_t buf[16];
	size_t n = 0;
	int sv[2], ms = 5000;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	d.fd = sv[0];
	d.target = pthread_self();
	assert_int_equal(pthread_create(&t, NULL, dribble_main, &d), 0);
	assert_int_equal(vpcd_recv(sv[1], buf, sizeof(buf), &n, &ms, 5000),
	    VPCD_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	close(sv[0]);
	close(sv[1]);
}

static void
test_connect_bounded(void **state)
{
	uint16_t port;
	int lfd, fd = 7, ms = 300;

	(void)state;
	/* a port nobody listens on: retried, then a timeout */
	assert_int_equal(vpcd_listen(0, &lfd), VPCD_OK);
	assert_int_equal(vpcd_local_port(lfd, &port), VPCD_OK);
	close(lfd);
	assert_int_equal(vpcd_connect("127.0.0.1", port, &fd, &ms),
	    VPCD_ERR_TIMEOUT);
	assert_int_equal(fd, -1);
}

/* Last: vpcd_stop() is sticky for the process. */
static void
test_stop_ends_service(void **state)
{
	struct served s;
	int fd;

	(void)state;
	fd = served_start(&s);
	util_sleep_ms(50);
	vpcd_stop();
	assert_int_equal(served_join(&s), VPCD_ERR_STOPPED);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_framing_args_and_bounds,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_framing_short_reads_and_eintr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backend_serves_card,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_small_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_backend_real_card_large_object, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_backend_4k_extended_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_hostile_lengths,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_backend_65535_accepted_when_it_fits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_backend_long_atr_is_no_card, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_reconnect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_card_side_control_and_apdus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_card_side_hostile_reader,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_ends_service, setup,
		    teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
