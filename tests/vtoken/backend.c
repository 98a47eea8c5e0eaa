/* SPDX-License-Identifier: MIT */
/*
 * backend.c — the card behind the emulated reader: the in-process vcard,
 * or a remote card speaking vpcd (backend.h, vpcd.h).
 */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_util.h"
#include "vcard.h"
#include "vpcd.h"

/* ---- builtin: the software card in this process ------------------------ */

static size_t
builtin_atr(void *h, uint8_t *atr, size_t cap)
{
	return vcard_atr(h, atr, cap);
}

static void
builtin_power(void *h)
{
	/* on and off both end the session: a cold card */
	vcard_reset(h);
}

static int
builtin_apdu(void *h, const uint8_t *cmd, size_t clen, uint8_t *rsp,
    size_t cap, size_t *rlen)
{
	*rlen = 0;
	if (vcard_apdu(h, cmd, clen, rsp, cap, rlen) != 0) {
		*rlen = 0;
		return -1;
	}
	return 0;
}

static void
builtin_free(void *h)
{
	vcard_t *c = h;

	vcard_free(&c);
}

static const struct card_backend_ops builtin_ops = {
	.atr = builtin_atr,
	.power_on = builtin_power,
	.power_off = builtin_power,
	.apdu = builtin_apdu,
	.free = builtin_free,
};

int
backend_builtin(card_backend_t *b, const char *state_path)
{
	struct vcard_opts o;
	vcard_t *c = NULL;
	const char *fw;
	unsigned v[3];

	if (b == NULL)
		return -1;
	memset(b, 0, sizeof(*b));
	memset(&o, 0, sizeof(o));
	o.state_path = state_path;
	/* VTOKEN_FIRMWARE=5.4.3: the YubiKey firmware the card reports (and
	 * the commands it has: METADATA from 5.3, MOVE KEY from 5.7). */
	if ((fw = getenv("VTOKEN_FIRMWARE")) != NULL &&
	    sscanf(fw, "%u.%u.%u", &v[0], &v[1], &v[2]) == 3 &&
	    v[0] < 256 && v[1] < 256 && v[2] < 256) {
		o.version[0] = (uint8_t)v[0];
		o.version[1] = (uint8_t)v[1];
		o.version[2] = (uint8_t)v[2];
	}
	if (vcard_new(&c, &o) != 0)
		return -1;
	b->ops = &builtin_ops;
	b->h = c;
	return 0;
}

/* ---- vpcd: a card that connects to us ----------------------------------- */

#define ANSWER_MS	120000	/* RSA 4096 generation in software is slow */

struct vpcd_be {
	int lfd;		/* listening on 127.0.0.1:port */
	int fd;			/* the card, or -1 */
	int answer_ms;		/* budget for an ATR or a response */
	int frame_ms;		/* for the rest of a started message */
	uint8_t buf[VPCD_MSG_MAX];
};

static void
drop_card(struct vpcd_be *v)
{
	if (v->fd >= 0) {
		close(v->fd);
		v->fd = -1;
	}
}

/*
 * Without a card, takes one that is waiting; with one, turns away any
 * other (accepted and closed at once, so it does not sit in the backlog
 * believing it is served).
 */
static void
poll_listener(struct vpcd_be *v, int wait_ms)
{
	int fd, ms = wait_ms, n;

	if (v->fd < 0) {
		if (ms <= 0)
			ms = 1;
		(void)vpcd_accept(v->lfd, &v->fd, &ms);
		return;
	}
	for (n = 0; n < 8; n++) {	/* bounded: a flood is not our loop */
		ms = 1;
		if (vpcd_accept(v->lfd, &fd, &ms) != VPCD_OK)
			break;
		close(fd);
	}
}

static size_t
vpcd_be_atr(void *h, uint8_t *atr, size_t cap)
{
	struct vpcd_be *v = h;
	const uint8_t ctl = VPCD_CTRL_ATR;
	size_t n = 0;
	int ms;

	poll_listener(v, 0);
	if (v->fd < 0)
		return 0;
	ms = v->answer_ms;
	if (vpcd_send(v->fd, &ctl, 1, &ms) != VPCD_OK ||
	    vpcd_recv(v->fd, v->buf, VPCD_ATR_MAX, &n, &ms,
	    v->frame_ms) != VPCD_OK || n < 2 || n > cap) {
		drop_card(v);
		return 0;
	}
	memcpy(atr, v->buf, n);
	return n;
}

static void
vpcd_be_ctl(struct vpcd_be *v, uint8_t ctl)
{
	int ms = v->frame_ms;

	if (v->fd >= 0 && vpcd_send(v->fd, &ctl, 1, &ms) != VPCD_OK)
		drop_card(v);
}

static void
vpcd_be_power_on(void *h)
{
	struct vpcd_be *v = h;

	poll_listener(v, 0);
	vpcd_be_ctl(v, VPCD_CTRL_ON);
}

static void
vpcd_be_power_off(void *h)
{
	vpcd_be_ctl(h, VPCD_CTRL_OFF);
}

static int
vpcd_be_apdu(void *h, const uint8_t *cmd, size_t clen, uint8_t *rsp,
    size_t cap, size_t *rlen)
{
	struct vpcd_be *v = h;
	size_t n = 0;
	int ms;

	*rlen = 0;
	if (v->fd < 0 || cmd == NULL || rsp == NULL || cap < 2)
		return -1;
	if (clen < 2 || clen > VPCD_MSG_MAX) {
		/* 0 or 1 byte would read as a control code: vpcd cannot
		 * carry it; it is no APDU anyway ("wrong length") */
		rsp[0] = 0x67;
		rsp[1] = 0x00;
		*rlen = 2;
		return 0;
	}
	ms = v->answer_ms;
	if (vpcd_send(v->fd, cmd, clen, &ms) != VPCD_OK ||
	    vpcd_recv(v->fd, v->buf, sizeof(v->buf), &n, &ms,
	    v->frame_ms) != VPCD_OK || n < 2 || n > cap) {
		/* lost, stalled, or no longer trustworthy: no card */
		vt_wipe(v->buf, n);
		drop_card(v);
		return -1;
	}
	memcpy(rsp, v->buf, n);
	vt_wipe(v->buf, n);
	*rlen = n;
	return 0;
}

static void
vpcd_be_free(void *h)
{
	struct vpcd_be *v = h;

	if (v == NULL)
		return;
	drop_card(v);
	if (v->lfd >= 0)
		close(v->lfd);
	free(v);
}

static const struct card_backend_ops vpcd_ops = {
	.atr = vpcd_be_atr,
	.power_on = vpcd_be_power_on,
	.power_off = vpcd_be_power_off,
	.apdu = vpcd_be_apdu,
	.free = vpcd_be_free,
};

/*
 * Returns 0 once listening, with or without a card: a card that has not
 * connected within wait_ms is simply absent (atr() returns 0) until it
 * does.  A card that goes away is absent until one connects again.
 */
int
backend_vpcd(card_backend_t *b, uint16_t port, int wait_ms)
{
	struct vpcd_be *v;

	if (b == NULL)
		return -1;
	memset(b, 0, sizeof(*b));
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -1;
	v->fd = -1;
	v->answer_ms = ANSWER_MS;
	v->frame_ms = VPCD_FRAME_MS;
	if (vpcd_listen(port, &v->lfd) != VPCD_OK) {
		free(v);
		return -1;
	}
	poll_listener(v, wait_ms);
	b->ops = &vpcd_ops;
	b->h = v;
	return 0;
}

void
backend_vpcd_set_timeouts(card_backend_t *b, int answer_ms, int frame_ms)
{
	struct vpcd_be *v;

	if (b == NULL || b->ops != &vpcd_ops || (v = b->h) == NULL)
		return;
	v->answer_ms = answer_ms > 0 ? answer_ms : ANSWER_MS;
	v->frame_ms = frame_ms > 0 ? frame_ms : VPCD_FRAME_MS;
}

int
backend_vpcd_port(const card_backend_t *b, uint16_t *port)
{
	const struct vpcd_be *v;

	if (port != NULL)
		*port = 0;
	if (b == NULL || b->ops != &vpcd_ops || (v = b->h) == NULL)
		return -1;
	return vpcd_local_port(v->lfd, port) == VPCD_OK ? 0 : -1;
}
