/* SPDX-License-Identifier: MIT */
/*
 * vpcd.h — framing and sockets of vsmartcard's vpcd protocol, shared by
 * backend.c (reader side), vpcd.c (card side), vcard_main.c and the tests.
 * Internal to tests/vtoken; the contract is backend.h.
 *
 * A message is a 2-byte big-endian length and that many bytes (1..65535).
 * Reader -> card: a 1-byte message is a control code (below); only
 * VPCD_CTRL_ATR is answered (with the ATR).  Anything longer is a command
 * APDU, answered with the whole response APDU.  A 0-length message is
 * never valid (vsmartcard's vpcd treats it as the card going away).
 *
 * Everything that may block takes `int *ms`, the budget left (vt_util.h);
 * the peer is hostile: lengths are checked against the caller's buffer,
 * short reads, EINTR and timeouts are handled, nothing blocks forever.
 */
#ifndef VTOKEN_VPCD_H
#define VTOKEN_VPCD_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define VPCD_PORT_DEFAULT	35963	/* Debian's vsmartcard-vpcd: 0x8C7B */
#define VPCD_CTRL_OFF		0x00
#define VPCD_CTRL_ON		0x01
#define VPCD_CTRL_RESET		0x02
#define VPCD_CTRL_ATR		0x04
#define VPCD_MSG_MAX		0xffff
#define VPCD_ATR_MAX		33	/* ISO 7816-3 */
/* Once the first byte of a message arrived, the rest must follow within
 * this many milliseconds (a peer that stalls mid-frame is dropped). */
#define VPCD_FRAME_MS		5000

enum vpcd_err {
	VPCD_OK = 0,
	VPCD_ERR_IO = -1,	/* socket error */
	VPCD_ERR_CLOSED = -2,	/* peer closed between messages */
	VPCD_ERR_TIMEOUT = -3,	/* budget spent */
	VPCD_ERR_PROTO = -4,	/* length 0, too long, or cut short */
	VPCD_ERR_ARG = -5,	/* bad argument */
	VPCD_ERR_STOPPED = -6,	/* vpcd_stop() was called */
};

/* Sends one message (1..65535 bytes). */
int vpcd_send(int fd, const uint8_t *msg, size_t len, int *ms);
/*
 * Receives one message into buf.  Waits up to *ms for its first byte, then
 * up to frame_ms more for the rest (a peer stalling mid-frame).  A length
 * of 0 or one larger than cap is VPCD_ERR_PROTO: the stream cannot be
 * trusted after an error, the caller closes the socket.  *len is 0 on
 * every error.
 */
int vpcd_recv(int fd, uint8_t *buf, size_t cap, size_t *len, int *ms,
    int frame_ms);

/* A listening TCP socket on 127.0.0.1:port (port 0: any; see
 * vpcd_local_port).  Non-blocking, close-on-exec. */
int vpcd_listen(uint16_t port, int *lfd);
int vpcd_local_port(int fd, uint16_t *port);
/* Accepts one connection, waiting up to *ms. */
int vpcd_accept(int lfd, int *fd, int *ms);
/* Connects to host:port (numeric or name, IPv4), trying for up to *ms. */
int vpcd_connect(const char *host, uint16_t port, int *fd, int *ms);

/*
 * Serves card c on the connected socket fd until the peer closes (returns
 * VPCD_OK), vpcd_stop() is called, or the peer misbehaves (an error).
 * Does not close fd.
 */
struct vcard;
int vpcd_serve_fd(struct vcard *c, int fd);
/* Makes vpcd_serve_fd / vpcd_serve_card return soon (within ~200 ms).
 * Async-signal-safe: meant for a SIGTERM handler. */
void vpcd_stop(void);
int vpcd_stopped(void);

/* backend_vpcd knobs for tests: the budget for an answer (ATR or response;
 * default 120 s, RSA key generation is slow) and for the rest of a frame. */
void backend_vpcd_set_timeouts(card_backend_t *b, int answer_ms, int frame_ms);
/* The port a backend_vpcd listens on (useful after asking for port 0). */
int backend_vpcd_port(const card_backend_t *b, uint16_t *port);

#endif
