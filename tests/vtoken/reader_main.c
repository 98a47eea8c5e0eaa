/* SPDX-License-Identifier: MIT */
/*
 * reader_main.c — build/vtoken-reader: an emulated USB CCID reader holding
 * a card, visible to ordinary libusb programs through umockdev.
 */
#define _GNU_SOURCE
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>

#include "vt_util.h"

#define MAX_INJECT	32

static const char usage[] =
"usage: vtoken-reader [--reader PROFILE|FILE] [--card test|builtin|vpcd:PORT]\n"
"                     [--state FILE] [--ready FILE] [--ctl FIFO] [--atr HEX]\n"
"                     [INJECTION...]\n"
"\n"
"Creates a umockdev testbed holding one USB CCID reader with a card in it,\n"
"writes the testbed root directory to --ready FILE (else stdout), and serves\n"
"until SIGTERM/SIGINT.  Run clients with UMOCKDEV_DIR=<root> and\n"
"LD_PRELOAD=libumockdev-preload.so (tests/with-vtoken does all this).\n"
"\n"
"  --reader   yubikey5 (default), short-apdu, extended-apdu, t1, two-slot,\n"
"             or a dump file from ccid-readers/ (its exchange level is used)\n"
"  --card     builtin (default): the software PIV card (vcard); test: a\n"
"             small deterministic card (README.md); vpcd:PORT: wait for\n"
"             a vpcd card on 127.0.0.1:PORT (slot N of a two-slot reader\n"
"             uses PORT+N)\n"
"  --state    the builtin card's state file (slot N>0 uses FILE.N)\n"
"  --atr      the card's ATR instead of its own, verbatim (a T=0-first\n"
"             ATR, a bad TCK, an odd IFSC ...)\n"
"  --ctl      a FIFO (created if missing) taking one injection per line;\n"
"             each is acknowledged by a line \"ok ...\" or \"err ...\"\n"
"             appended to FIFO.ack\n"
"\n"
"Injections (arguments, or lines on --ctl):\n"
"  remove [SLOT] | insert [SLOT]   card out/in, NotifySlotChange\n"
"  unplug                          the device disappears (ENODEV)\n"
"  replug                          it is back (handles opened before stay\n"
"                                  dead, as on a real bus)\n"
"  unplug-at N                     unplug at the Nth bulk command from now\n"
"  wtx N [forever] | wtx off       N time-extension frames before the next\n"
"                                  answer (or before every answer)\n"
"  swtx N                          t1 reader: N T=1 S(WTX) requests\n"
"  zlp [N]                         N zero-length packets before the next\n"
"                                  answer (default 1)\n"
"  statusfail N                    the next N GetSlotStatus fail\n"
"  t1-trailing                     t1 reader: the next T=1 block has 3\n"
"                                  bytes after it\n"
"  malform KIND                    the next answer broken: length,\n"
"                                  length-short, seq, slot, truncated, type\n"
"  malform-at N KIND               the answer to the Nth bulk command from\n"
"                                  now broken that way (as unplug-at counts)\n"
"On --ctl only:\n"
"  counters                        acknowledged by \"counters control=N\n"
"                                  bulk-out=N bulk-in=N interrupt=N\n"
"                                  discarded=N\": USB transfers completed\n"
"                                  since the start (also printed at exit)\n";

struct ctl {
	struct rd_usb *u;
	struct rd_dev *d;
	int fd;
	char *ack_path;
	char line[512];
	size_t len;
};

static void
ack(struct ctl *c, const char *what, const char *msg)
{
	FILE *f;

	if (c->ack_path == NULL || (f = fopen(c->ack_path, "a")) == NULL)
		return;
	fprintf(f, "%s %s\n", what, msg);
	fclose(f);
}

static void
ctl_line(struct ctl *c, const char *line)
{
	char err[256];
	int r;

	if (strcmp(line, "counters") == 0) {
		char msg[200];

		rd_usb_counters(c->u, msg, sizeof(msg));
		ack(c, "counters", msg);
		return;
	}
	rd_usb_lock(c->u);
	r = rd_dev_inject(c->d, line, err, sizeof(err));
	rd_usb_unlock(c->u);
	if (r != 0) {
		fprintf(stderr, "vtoken-reader: %s\n", err);
		ack(c, "err", err);
	} else
		ack(c, "ok", line);
}

static gboolean
ctl_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct ctl *c = data;
	char buf[256];
	ssize_t n;

	(void)cond;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		ssize_t i;

		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				c->line[c->len] = '\0';
				ctl_line(c, c->line);
				c->len = 0;
			} else if (c->len + 1 < sizeof(c->line))
				c->line[c->len++] = buf[i];
		}
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

static int
write_ready(const char *path, const char *root)
{
	char *tmp;
	FILE *f;
	int r = -1;

	if (path == NULL) {
		printf("%s\n", root);
		fflush(stdout);
		return 0;
	}
	tmp = g_strdup_printf("%s.tmp", path);
	if ((f = fopen(tmp, "w")) != NULL) {
		fprintf(f, "%s\n", root);
		if (fclose(f) == 0 && rename(tmp, path) == 0)
			r = 0;
	}
	if (r != 0)
		fprintf(stderr, "vtoken-reader: %s: %s\n", path,
		    strerror(errno));
	g_free(tmp);
	return r;
}

int
main(int argc, char **argv)
{
	const char *reader = "yubikey5", *card = NULL, *state = NULL;
	const char *ready = NULL, *ctl_path = NULL, *atr = NULL;
	const char *inject[MAX_INJECT];
	size_t ninject = 0, i;
	struct rd_profile prof;
	card_backend_t cards[RD_MAX_SLOTS];
	struct rd_usb *u = NULL;
	struct rd_dev *d = NULL;
	struct rd_hooks hooks;
	struct ctl ctl;
	GMainLoop *loop = NULL;
	char err[512];
	int a, rc = 1;

	memset(cards, 0, sizeof(cards));
	memset(&ctl, 0, sizeof(ctl));
	ctl.fd = -1;
	rd_debug = getenv("VTOKEN_READER_DEBUG") != NULL;
	card = "builtin";

	for (a = 1; a < argc; a++) {
		const char *o = argv[a];
		const char **dst = NULL;

		if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(o, "--reader") == 0) dst = &reader;
		else if (strcmp(o, "--card") == 0) dst = &card;
		else if (strcmp(o, "--state") == 0) dst = &state;
		else if (strcmp(o, "--ready") == 0) dst = &ready;
		else if (strcmp(o, "--ctl") == 0) dst = &ctl_path;
		else if (strcmp(o, "--atr") == 0) dst = &atr;
		else if (strcmp(o, "--") == 0) continue;
		else if (o[0] == '-' && o[1] == '-') {
			fprintf(stderr, "vtoken-reader: unknown option %s\n%s",
			    o, usage);
			return 2;
		}
		if (dst != NULL) {
			if (a + 1 >= argc) {
				fprintf(stderr, "vtoken-reader: %s needs a "
				    "value\n", o);
				return 2;
			}
			*dst = argv[++a];
			continue;
		}
		if (ninject >= MAX_INJECT) {
			fprintf(stderr, "vtoken-reader: too many injections\n");
			return 2;
		}
		inject[ninject++] = o;
	}

	if (rd_profile_load(reader, &prof, err, sizeof(err)) != 0) {
		fprintf(stderr, "vtoken-reader: %s\n", err);
		return 2;
	}
	if (atr != NULL && (vt_unhex(atr, prof.atr, sizeof(prof.atr),
	    &prof.atrlen) != 0 || prof.atrlen < 2)) {
		fprintf(stderr, "vtoken-reader: --atr: 2 to 33 bytes in hex\n");
		return 2;
	}
	for (i = 0; i <= prof.ccid.bMaxSlotIndex && i < RD_MAX_SLOTS; i++)
		if (rd_card_open(card, state, (int)i, &cards[i], err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "vtoken-reader: %s\n", err);
			goto out;
		}
	if (rd_usb_new(&u, err, sizeof(err)) != 0)
		goto fail;
	rd_usb_hooks(u, &hooks);
	if (rd_dev_new(&d, &prof, cards, &hooks) != 0) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (i = 0; i < ninject; i++)
		if (rd_dev_inject(d, inject[i], err, sizeof(err)) != 0)
			goto fail;
	if (rd_usb_start(u, d, err, sizeof(err)) != 0)
		goto fail;

	loop = g_main_loop_new(NULL, FALSE);
	if (ctl_path != NULL) {
		struct stat st;

		if (stat(ctl_path, &st) != 0 && mkfifo(ctl_path, 0600) != 0) {
			snprintf(err, sizeof(err), "mkfifo %s: %s", ctl_path,
			    strerror(errno));
			goto fail;
		}
		/* O_RDWR: no EOF when a writer goes away. */
		if ((ctl.fd = open(ctl_path, O_RDWR | O_NONBLOCK |
		    O_CLOEXEC)) < 0) {
			snprintf(err, sizeof(err), "%s: %s", ctl_path,
			    strerror(errno));
			goto fail;
		}
		ctl.u = u;
		ctl.d = d;
		ctl.ack_path = g_strdup_printf("%s.ack", ctl_path);
		close(open(ctl.ack_path, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0600));
		g_unix_fd_add(ctl.fd, G_IO_IN, ctl_readable, &ctl);
	}
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_unix_signal_add(SIGHUP, on_signal, loop);
	if (write_ready(ready, rd_usb_root(u)) != 0)
		goto out;
	fprintf(stderr, "vtoken-reader: %s (%04x:%04x, %s card) at %s\n",
	    prof.name, prof.vid, prof.pid, card, rd_usb_root(u));
	g_main_loop_run(loop);
	rd_usb_counters(u, err, sizeof(err));
	fprintf(stderr, "vtoken-reader: transfers: %s\n", err);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "vtoken-reader: %s\n", err);
out:
	/* The testbed goes first: no ioctl reaches a freed reader. */
	rd_usb_free(&u);
	rd_dev_free(&d);
	for (i = 0; i < RD_MAX_SLOTS; i++)
		if (cards[i].ops != NULL && cards[i].ops->free != NULL)
			cards[i].ops->free(cards[i].h);
	if (ctl.fd >= 0)
		close(ctl.fd);
	g_free(ctl.ack_path);
	if (loop != NULL)
		g_main_loop_unref(loop);
	return rc;
}
