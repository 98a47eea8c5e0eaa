/* SPDX-License-Identifier: MIT */
/*
 * tools/token.c — finding and opening a token for the CLI:
 * usb_ctx_new -> usb_enumerate -> piv_reader_open -> per slot
 * piv_reader_card (join, else power up), filtered by --reader / --serial,
 * with messages that say what to do about busy or forbidden devices.
 */
#include "usbpiv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void
token_reader_name(const struct usb_dev_info *i, char *buf, size_t cap)
{
	if (i->manufacturer[0] != '\0' && i->product[0] != '\0' &&
	    strncmp(i->product, i->manufacturer, strlen(i->manufacturer)) != 0)
		snprintf(buf, cap, "%s %s", i->manufacturer, i->product);
	else if (i->product[0] != '\0')
		snprintf(buf, cap, "%s", i->product);
	else
		snprintf(buf, cap, "%04x:%04x", i->vid, i->pid);
}

/* Case-insensitive substring. */
static int
contains(const char *hay, const char *needle)
{
	size_t i, j, n = strlen(needle);

	if (n == 0)
		return 1;
	for (i = 0; hay[i] != '\0'; i++) {
		for (j = 0; j < n && hay[i + j] != '\0'; j++)
			if (tolower((unsigned char)hay[i + j]) !=
			    tolower((unsigned char)needle[j]))
				break;
		if (j == n)
			return 1;
	}
	return 0;
}

int
token_reader_matches(const char *want, const struct usb_dev_info *i)
{
	char name[300];

	if (want == NULL)
		return 1;
	if (strcmp(want, i->path) == 0)
		return 1;
	token_reader_name(i, name, sizeof(name));
	return contains(name, want);
}

/* The card of the open token: its failures explain themselves
 * (token_cause) in the CLI's messages. */
static piv_card_t *token_card;

const char *
token_cause(void)
{
	return token_card != NULL ? piv_last_cause(token_card) : "";
}

/* A message for a failure to open a reader or join its card (a
 * PIV_ERR_* from piv_reader_*); returns the exit code. */
static int
open_fail(const struct usb_dev_info *i, int r, const char *why)
{
	switch (r) {
	case PIV_ERR_BUSY:
		cli_err("%s: " BUSY_HINT, i->path);
		break;
	case PIV_ERR_ACCESS:
		cli_err("%s: permission denied on /dev/bus/usb/%03u/%03u (install "
		    "udev/70-usbpiv.rules and replug, or run as root)", i->path,
		    i->bus, i->address);
		break;
	default:
		if (why == NULL)
			return cli_piv_fail(i->path, r);
		cli_err("%s: %s", i->path, why);
		break;
	}
	return cli_exit_for_piv(r);
}

void
token_close(struct token *t)
{
	int ms = CLI_OP_MS;

	/* The card stays powered for whoever comes next (no reset: another
	 * program's login survives us), so a login of ours must not: a PIN
	 * this run verified or set is logged out again. */
	if (t->piv != NULL && t->pin_ok &&
	    piv_logout(t->piv, PIV_PIN_REF, &ms) != 0)
		cli_warn("could not log the token out again");
	t->pin_ok = 0;
	if (t->piv != NULL && t->in_tx)
		piv_end(t->piv);
	t->in_tx = 0;
	if (token_card == t->piv)
		token_card = NULL;
	piv_free(&t->piv);
	t->rdr = NULL;
	piv_reader_close(&t->pr);
	usb_ctx_free(&t->ctx);
}

/*
 * Walks the readers; for each powered slot with a card calls the PIV
 * part unless raw.  Returns the exit code; on success t holds the token.
 */
static int
token_find(const struct globals *g, struct token *t, int raw)
{
	struct usb_dev_info *list = NULL;
	size_t n = 0, i, s;
	int r, ex = EX_NOTFOUND, ms, seen = 0;

	memset(t, 0, sizeof(*t));
	if ((r = cli_usb_ctx_new(&t->ctx)) != EX_OK) {
		return r;
	}
	if ((r = usb_enumerate(t->ctx, &list, &n)) != 0) {
		cli_err("cannot list USB devices: %s", usb_strerror(r));
		usb_ctx_free(&t->ctx);
		return cli_exit_for_usb(r);
	}
	for (i = 0; i < n; i++) {
		if (!token_reader_matches(g->reader, &list[i]))
			continue;
		seen++;
		if ((r = piv_reader_open(t->ctx, &list[i], &t->pr)) != 0) {
			ex = open_fail(&list[i], r, NULL);
			continue;
		}
		t->rdr = piv_reader_ccid(t->pr);
		for (s = 0; s < piv_reader_slots(t->pr); s++) {
			/* join the card (another program's login stays), or
			 * power it up; an empty slot is passed over */
			ms = CLI_LOCK_MS;
			if ((r = piv_reader_card(t->pr, s, 1, &ms,
			    &t->piv)) != 0) {
				if (r != PIV_ERR_REMOVED)
					ex = open_fail(&list[i], r,
					    piv_reader_why(t->pr));
				continue;
			}
			t->slot = s;
			t->info = list[i];
			if (raw) {
				piv_free(&t->piv);
				goto found;
			}
			ms = CLI_LOCK_MS;
			if ((r = piv_begin(t->piv, &ms)) != 0) {
				ex = cli_piv_fail(list[i].path, r);
				piv_free(&t->piv);
				continue;
			}
			t->in_tx = 1;
			ms = CLI_OP_MS;
			r = piv_identity(t->piv, &t->id, &ms);
			t->has_id = r == 0;
			if (r == PIV_ERR_NO_APP) {
				if (g->reader != NULL)
					cli_warn("%s: the card has no PIV "
					    "application", list[i].path);
			} else if (r != 0 && r != PIV_ERR_NOT_SUPPORTED &&
			    r != PIV_ERR_NOT_FOUND)
				ex = cli_piv_fail(list[i].path, r);
			if (r != PIV_ERR_NO_APP && (!g->has_serial ||
			    (t->has_id && t->id.has_serial &&
			    t->id.serial == g->serial)))
				goto found;
			piv_end(t->piv);
			t->in_tx = 0;
			piv_free(&t->piv);
		}
		t->rdr = NULL;
		piv_reader_close(&t->pr);
	}
	free(list);
	if (ex == EX_NOTFOUND) {
		if (seen == 0 && n == 0)
			cli_err("no token found (no CCID reader present)");
		else if (seen == 0)
			cli_err("no reader matches '%s'", g->reader);
		else if (g->has_serial)
			cli_err("no token with serial %u", g->serial);
		else
			cli_err("no token found (no card in any reader)");
	}
	token_close(t);
	return ex;
found:
	free(list);
	token_card = t->piv;
	return EX_OK;
}

int
token_open(const struct globals *g, struct token *t)
{
	return token_find(g, t, 0);
}

int
token_open_raw(const struct globals *g, struct token *t)
{
	if (g->has_serial) {
		cli_err("--serial needs the PIV application; use --reader");
		return EX_USAGE;
	}
	return token_find(g, t, 1);
}
