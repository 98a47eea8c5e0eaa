/* SPDX-License-Identifier: MIT */
/*
 * vpcd.c — vsmartcard's vpcd protocol: framing, sockets, and the card side
 * (serving a vcard to a vpcd reader driver, e.g. pcscd's libifdvpcd).
 */
#include "vpcd.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_util.h"
#include "vcard.h"

#define SERVE_SLICE_MS	200	/* how often an idle server looks at stop */
#define CONNECT_MS	10000	/* vpcd_serve_card: trying to connect */
#define RETRY_MS	100

static volatile sig_atomic_t stop_flag;

void
vpcd_stop(void)
{
	stop_flag = 1;
}

int
vpcd_stopped(void)
{
	return stop_flag != 0;
}

/*
 * Waits up to *ms for fd to become ready for `events`.  Returns VPCD_OK,
 * VPCD_ERR_TIMEOUT, VPCD_ERR_STOPPED or VPCD_ERR_IO.  Signals (EINTR) do
 * not cut the wait short unless vpcd_stop() was called.
 */
static int
wait_fd(int fd, short events, int *ms)
{
	struct pollfd pfd;
	uint64_t t0;
	int n;

	for (;;) {
		if (*ms <= 0)
			return VPCD_ERR_TIMEOUT;
		memset(&pfd, 0, sizeof(pfd));
		pfd.fd = fd;
		pfd.events = events;
		t0 = vt_now_ms();
		n = poll(&pfd, 1, *ms);
		vt_charge(ms, t0);
		if (n < 0) {
			if (errno != EINTR)
				return VPCD_ERR_IO;
			if (vpcd_stopped())
				return VPCD_ERR_STOPPED;
			continue;
		}
		if (n == 0)
			return VPCD_ERR_TIMEOUT;
		/* POLLHUP/POLLERR: let the read or write report it */
		return VPCD_OK;
	}
}

static void
quickack(int fd)
{
#ifdef TCP_QUICKACK
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
#else
	(void)fd;
#endif
}

/* Reads exactly n bytes (short reads and EINTR handled). */
static int
read_full(int fd, uint8_t *p, size_t n, int *ms)
{
	size_t got = 0;
	ssize_t r;
	int rc;

	while (got < n) {
		if ((rc = wait_fd(fd, POLLIN, ms)) != VPCD_OK)
			return rc;
		r = recv(fd, p + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			return VPCD_ERR_CLOSED;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;	/* wait_fd charges the time */
			if (errno == ECONNRESET)
				return VPCD_ERR_CLOSED;
			return VPCD_ERR_IO;
		}
		got += (size_t)r;
		/* Acknowledge at once: a peer that writes a header and its
		 * body in two sends (vsmartcard's vpcd does) under Nagle
		 * holds the body back until our ACK, which delayed ACK
		 * would postpone by ~40 ms per message.  Not sticky in
		 * Linux, hence after every read; harmless on other sockets. */
		quickack(fd);
	}
	return VPCD_OK;
}

/*
 * Writes the header and the message in one go where the socket takes it
 * (one segment, no Nagle stall), the rest as it drains; never raises
 * SIGPIPE.
 */
static int
write_msg(int fd, const uint8_t hdr[2], const uint8_t *p, size_t n, int *ms)
{
	struct iovec iov[2];
	struct msghdr mh;
	size_t total = 2 + n, put = 0, skip;
	ssize_t r;
	int rc;

	while (put < total) {
		if ((rc = wait_fd(fd, POLLOUT, ms)) != VPCD_OK)
			return rc;
		memset(&mh, 0, sizeof(mh));
		if (put < 2) {
			iov[0].iov_base = (void *)(uintptr_t)(hdr + put);
			iov[0].iov_len = 2 - put;
			iov[1].iov_base = (void *)(uintptr_t)p;
			iov[1].iov_len = n;
			mh.msg_iovlen = 2;
		} else {
			skip = put - 2;
			iov[0].iov_base = (void *)(uintptr_t)(p + skip);
			iov[0].iov_len = n - skip;
			mh.msg_iovlen = 1;
		}
		mh.msg_iov = iov;
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return VPCD_ERR_CLOSED;
			return VPCD_ERR_IO;
		}
		put += (size_t)r;
	}
	return VPCD_OK;
}

int
vpcd_send(int fd, const uint8_t *msg, size_t len, int *ms)
{
	uint8_t hdr[2];

	if (fd < 0 || msg == NULL || len == 0 || len > VPCD_MSG_MAX ||
	    ms == NULL)
		return VPCD_ERR_ARG;
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	return write_msg(fd, hdr, msg, len, ms);
}

int
vpcd_recv(int fd, uint8_t *buf, size_t cap, size_t *len, int *ms,
    int frame_ms)
{
	uint8_t hdr[2];
	size_t n;
	int r, rest = frame_ms;

	if (len != NULL)
		*len = 0;
	if (fd < 0 || buf == NULL || len == NULL || ms == NULL)
		return VPCD_ERR_ARG;
	/* the message starts within *ms ... */
	if ((r = read_full(fd, hdr, 1, ms)) != VPCD_OK)
		return r;
	/* ... and, once started, is complete within frame_ms; a close in
	 * the middle of a message is a truncated message, not a goodbye */
	if ((r = read_full(fd, hdr + 1, 1, &rest)) != VPCD_OK)
		return r == VPCD_ERR_CLOSED ? VPCD_ERR_PROTO : r;
	n = (size_t)hdr[0] << 8 | hdr[1];
	if (n == 0 || n > cap)
		return VPCD_ERR_PROTO;
	if ((r = read_full(fd, buf, n, &rest)) != VPCD_OK) {
		vt_wipe(buf, n);
		return r == VPCD_ERR_CLOSED ? VPCD_ERR_PROTO : r;
	}
	*len = n;
	return VPCD_OK;
}

/* ---- sockets ------------------------------------------------------------ */

static int
set_nonblock_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

int
vpcd_listen(uint16_t port, int *lfd)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	if (lfd == NULL)
		return VPCD_ERR_ARG;
	*lfd = -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return VPCD_ERR_IO;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (set_nonblock_cloexec(fd) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 4) != 0) {
		close(fd);
		return VPCD_ERR_IO;
	}
	*lfd = fd;
	return VPCD_OK;
}

int
vpcd_local_port(int fd, uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	if (port == NULL)
		return VPCD_ERR_ARG;
	*port = 0;
	if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0 ||
	    sa.sin_family != AF_INET)
		return VPCD_ERR_IO;
	*port = ntohs(sa.sin_port);
	return VPCD_OK;
}

static void
tune(int fd)
{
	int one = 1;

	/* small request/response messages: do not wait for Nagle */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
vpcd_accept(int lfd, int *fd, int *ms)
{
	int s, r;

	if (fd == NULL)
		return VPCD_ERR_ARG;
	*fd = -1;
	if (lfd < 0 || ms == NULL)
		return VPCD_ERR_ARG;
	for (;;) {
		s = accept(lfd, NULL, NULL);
		if (s >= 0)
			break;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return VPCD_ERR_IO;
		if ((r = wait_fd(lfd, POLLIN, ms)) != VPCD_OK)
			return r;
	}
	if (set_nonblock_cloexec(s) != 0) {
		close(s);
		return VPCD_ERR_IO;
	}
	tune(s);
	*fd = s;
	return VPCD_OK;
}

/* One connection attempt to ai, bounded by *ms. */
static int
connect_one(const struct addrinfo *ai, int *fd, int *ms)
{
	socklen_t sl = sizeof(int);
	int s, r, err = 0;

	if ((s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0)
		return VPCD_ERR_IO;
	if (set_nonblock_cloexec(s) != 0)
		goto fail;
	if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		if ((r = wait_fd(s, POLLOUT, ms)) != VPCD_OK) {
			close(s);
			return r;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 ||
		    err != 0)
			goto fail;
	}
	tune(s);
	*fd = s;
	return VPCD_OK;
fail:
	close(s);
	return VPCD_ERR_IO;
}

int
vpcd_connect(const char *host, uint16_t port, int *fd, int *ms)
{
	struct addrinfo hints, *res = NULL, *ai;
	char serv[8];
	uint64_t t0;
	int r = VPCD_ERR_IO, slice;

	if (fd == NULL)
		return VPCD_ERR_ARG;
	*fd = -1;
	if (host == NULL || ms == NULL || port == 0)
		return VPCD_ERR_ARG;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", (unsigned)port);
	if (getaddrinfo(host, serv, &hints, &res) != 0 || res == NULL)
		return VPCD_ERR_ARG;
	/* retry refused connections (the reader is not up yet) until the
	 * budget is spent; each attempt gets at most a second */
	while (*ms > 0 && !vpcd_stopped()) {
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			slice = *ms < 1000 ? *ms : 1000;
			t0 = vt_now_ms();
			r = connect_one(ai, fd, &slice);
			vt_charge(ms, t0);
			if (r == VPCD_OK)
				goto out;
		}
		t0 = vt_now_ms();
		vt_sleep_ms(*ms < RETRY_MS ? *ms : RETRY_MS);
		vt_charge(ms, t0);
	}
	r = vpcd_stopped() ? VPCD_ERR_STOPPED : VPCD_ERR_TIMEOUT;
out:
	freeaddrinfo(res);
	return r;
}

/* ---- card side ---------------------------------------------------------- */

/* Handles one message from the reader; the answer (if any) goes in rsp. */
static void
handle(struct vcard *c, const uint8_t *msg, size_t len, uint8_t *rsp,
    size_t cap, size_t *rlen)
{
	*rlen = 0;
	if (len == 1) {
		switch (msg[0]) {
		case VPCD_CTRL_OFF:
		case VPCD_CTRL_ON:
		case VPCD_CTRL_RESET:
			/* power changes and resets all lose the volatile
			 * state (selection, PIN, chains); none is answered */
			vcard_reset(c);
			break;
		case VPCD_CTRL_ATR:
			*rlen = vcard_atr(c, rsp, cap);
			break;
		default:
			break;	/* unknown control codes are ignored */
		}
		return;
	}
	if (vcard_apdu(c, msg, len, rsp, cap, rlen) != 0 || *rlen < 2) {
		rsp[0] = 0x6f;	/* no precise diagnosis */
		rsp[1] = 0x00;
		*rlen = 2;
	}
}

int
vpcd_serve_fd(struct vcard *c, int fd)
{
	uint8_t *msg = NULL, *rsp = NULL;
	size_t len, rlen;
	int r, ms;

	if (c == NULL || fd < 0)
		return VPCD_ERR_ARG;
	if ((msg = malloc(VPCD_MSG_MAX)) == NULL ||
	    (rsp = malloc(VPCD_MSG_MAX)) == NULL) {
		r = VPCD_ERR_IO;
		goto out;
	}
	for (;;) {
		/* idle: wait for the next message in slices, watching stop */
		ms = SERVE_SLICE_MS;
		r = wait_fd(fd, POLLIN, &ms);
		if (vpcd_stopped()) {
			r = VPCD_ERR_STOPPED;
			goto out;
		}
		if (r == VPCD_ERR_TIMEOUT)
			continue;
		if (r != VPCD_OK)
			goto out;
		ms = VPCD_FRAME_MS;
		r = vpcd_recv(fd, msg, VPCD_MSG_MAX, &len, &ms, VPCD_FRAME_MS);
		if (r == VPCD_ERR_CLOSED) {
			r = VPCD_OK;	/* the reader went away: done */
			goto out;
		}
		if (r != VPCD_OK)
			goto out;
		handle(c, msg, len, rsp, VPCD_MSG_MAX, &rlen);
		vt_wipe(msg, len);	/* may have carried a PIN */
		if (rlen == 0)
			continue;
		ms = VPCD_FRAME_MS;
		r = vpcd_send(fd, rsp, rlen, &ms);
		vt_wipe(rsp, rlen);
		if (r == VPCD_ERR_CLOSED) {
			r = VPCD_OK;
			goto out;
		}
		if (r != VPCD_OK)
			goto out;
	}
out:
	free(msg);
	free(rsp);
	return r;
}

int
vpcd_serve_card(struct vcard *c, const char *host, uint16_t port)
{
	int fd = -1, r, ms = CONNECT_MS;

	if (c == NULL || host == NULL)
		return VPCD_ERR_ARG;
	if ((r = vpcd_connect(host, port, &fd, &ms)) != VPCD_OK)
		return r;
	r = vpcd_serve_fd(c, fd);
	close(fd);
	return r;
}
