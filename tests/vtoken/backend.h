/* SPDX-License-Identifier: MIT */
/*
 * The card behind the emulated reader (public, vtoken.h includes it): the
 * in-process software card, or a
 * remote card speaking vsmartcard's vpcd protocol (a vicc, or our own
 * vcard program) that connects to 127.0.0.1:PORT.
 *
 * vpcd protocol: each message is a 2-byte big-endian length and that many
 * bytes.  From the reader side a 1-byte message is a control code:
 * 0x00 power off, 0x01 power on, 0x02 reset, 0x04 get ATR (answered with
 * the ATR); anything longer is a command APDU, answered with the response.
 */
#ifndef VTOKEN_BACKEND_H
#define VTOKEN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

typedef struct card_backend card_backend_t;

struct card_backend_ops {
	/* Fills atr; returns its length, 0 if there is no card. */
	size_t (*atr)(void *h, uint8_t *atr, size_t cap);
	void (*power_on)(void *h);
	void (*power_off)(void *h);
	/* Returns 0, or -1 if the card is gone. */
	int (*apdu)(void *h, const uint8_t *cmd, size_t clen, uint8_t *rsp,
	    size_t cap, size_t *rlen);
	void (*free)(void *h);
};

struct card_backend {
	const struct card_backend_ops *ops;
	void *h;
};

/* In-process software card (vcard.h); state_path may be NULL. */
int backend_builtin(card_backend_t *b, const char *state_path);
/* Listens on 127.0.0.1:port and waits (up to wait_ms) for a vpcd card.
 * Returns 0 once listening, card or not: a card that has not come (or has
 * gone) is absent (atr() returns 0, apdu() -1) until one connects. */
int backend_vpcd(card_backend_t *b, uint16_t port, int wait_ms);

/* Card side of vpcd: serves card `c` to a vpcd at host:port until the
 * peer closes.  Used by the standalone vcard program. */
struct vcard;
int vpcd_serve_card(struct vcard *c, const char *host, uint16_t port);

#endif
