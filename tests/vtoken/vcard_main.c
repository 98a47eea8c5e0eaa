/* SPDX-License-Identifier: MIT */
/*
 * vcard_main.c — build/vcard: the software PIV card as a vpcd card, so
 * pcscd (with vsmartcard's libifdvpcd) and everything on top of it (OpenSC,
 * ykcs11, yubico-piv-tool) see it as a YubiKey in a reader.
 *
 *   vcard [--vpcd HOST:PORT] [--state FILE] [--serial N] [--help]
 *
 * Connects to the vpcd reader driver (default 127.0.0.1:35963, the port of
 * Debian's vsmartcard-vpcd), serves the card until the reader goes away,
 * then connects again (pcscd restarts), until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vt_util.h"
#include "vcard.h"
#include "vpcd.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vcard [--vpcd HOST:PORT] [--state FILE] [--serial N] "
	    "[--help]\n"
	    "  --vpcd HOST:PORT  the vpcd reader to connect to "
	    "(default 127.0.0.1:%u)\n"
	    "  --state FILE      keep the card's state in FILE "
	    "(default: memory only)\n"
	    "  --serial N        the card's serial number "
	    "(default 13371337)\n"
	    "Serves the card until SIGTERM, reconnecting when the reader "
	    "restarts.\n"
	    "VTOKEN_LOG=FILE appends every APDU to FILE.\n",
	    VPCD_PORT_DEFAULT);
}

static void
on_signal(int sig)
{
	(void)sig;
	vpcd_stop();
}

/* Parses HOST:PORT (HOST may be empty: 127.0.0.1) into host and *port. */
static int
parse_hostport(const char *s, char *host, size_t hcap, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	unsigned long v;
	size_t hl;
	char *end;

	if (colon == NULL)
		return -1;
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || v == 0 ||
	    v > 65535)
		return -1;
	hl = (size_t)(colon - s);
	if (hl >= hcap)
		return -1;
	if (hl == 0)
		snprintf(host, hcap, "127.0.0.1");
	else {
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	*port = (uint16_t)v;
	return 0;
}

static int
parse_serial(const char *s, uint32_t *serial)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 ||
	    v > UINT32_MAX)
		return -1;
	*serial = (uint32_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	struct vcard_opts o;
	struct sigaction sa;
	vcard_t *c = NULL;
	char host[256];
	uint16_t port = VPCD_PORT_DEFAULT;
	int i, r, said = 0;

	memset(&o, 0, sizeof(o));
	snprintf(host, sizeof(host), "127.0.0.1");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc)
			goto bad;
		if (strcmp(argv[i], "--vpcd") == 0) {
			if (parse_hostport(argv[++i], host, sizeof(host),
			    &port) != 0)
				goto bad;
		} else if (strcmp(argv[i], "--state") == 0)
			o.state_path = argv[++i];
		else if (strcmp(argv[i], "--serial") == 0) {
			if (parse_serial(argv[++i], &o.serial) != 0)
				goto bad;
		} else
			goto bad;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll sees EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0) {
		perror("vcard: sigaction");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	if (vcard_new(&c, &o) != 0) {
		fprintf(stderr, "vcard: cannot create the card%s%s\n",
		    o.state_path != NULL ? " from " : "",
		    o.state_path != NULL ? o.state_path : "");
		return 1;
	}
	fprintf(stderr, "vcard: serving on vpcd %s:%u\n", host,
	    (unsigned)port);
	while (!vpcd_stopped()) {
		r = vpcd_serve_card(c, host, port);
		if (vpcd_stopped())
			break;
		if (r == VPCD_OK) {
			/* the reader closed: pcscd stopped or restarted */
			fprintf(stderr, "vcard: reader went away, "
			    "reconnecting\n");
			said = 0;
		} else if (r == VPCD_ERR_TIMEOUT) {
			if (!said)
				fprintf(stderr, "vcard: no vpcd reader at "
				    "%s:%u yet, still trying\n", host,
				    (unsigned)port);
			said = 1;
		} else if (r == VPCD_ERR_ARG) {
			fprintf(stderr, "vcard: cannot resolve %s\n", host);
			vcard_free(&c);
			return 1;
		} else {
			fprintf(stderr, "vcard: connection error %d, "
			    "reconnecting\n", r);
		}
		vt_sleep_ms(200);
	}
	vcard_free(&c);
	return 0;
bad:
	usage(stderr);
	return 2;
}
