/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_raw.c — `usbpiv apdu` (raw APDUs) and `usbpiv watch`
 * (hot-plug and card insert/remove events).
 */
#include "usbpiv.h"

#include <stdlib.h>
#include <string.h>

#define APDU_MAX	(4 + 3 + 65535 + 3)
#define RAPDU_MAX	(65536 + 2)

int
cmd_apdu(const struct globals *g, struct opts *o)
{
	struct token t;
	uint8_t *cmd = NULL, *rsp = NULL;
	char *hex = NULL;
	size_t clen, rlen, i;
	int ex, r, ms, began = 0;

	if ((ex = token_open_raw(g, &t)) != EX_OK)
		return ex;
	ex = EX_ERR;
	if ((cmd = malloc(APDU_MAX)) == NULL ||
	    (rsp = malloc(RAPDU_MAX)) == NULL ||
	    (hex = malloc(2 * RAPDU_MAX + 1)) == NULL)
		goto out;
	ms = CLI_LOCK_MS;
	if ((r = ccid_begin(t.rdr, &ms)) != 0) {
		cli_err("apdu: %s", r == CCID_ERR_BUSY || r == CCID_ERR_LOCKED ?
		    BUSY_HINT :
		    ccid_strerror(r));
		ex = cli_exit_for_ccid(r);
		goto out;
	}
	began = 1;
	if (g->json)
		printf("[");
	for (i = 0; i < (size_t)o->nargs; i++) {
		if (util_unhex(o->args[i], cmd, APDU_MAX, &clen) != 0 ||
		    clen < 4) {
			cli_err("apdu: '%s' is not a hex APDU (at least CLA INS "
			    "P1 P2)", o->args[i]);
			ex = EX_USAGE;
			goto out;
		}
		ms = CLI_OP_MS;
		/* the user's own bytes: a PIN in them stays out of the trace */
		r = ccid_transmit(t.rdr, t.slot, cmd, clen,
		    piv_apdu_is_secret(cmd, clen), rsp, RAPDU_MAX, &rlen, &ms);
		if (r != 0) {
			cli_err("apdu: %s", ccid_strerror(r));
			ex = cli_exit_for_ccid(r);
			goto out;
		}
		if (rlen < 2) {
			cli_err("apdu: response without a status word");
			goto out;
		}
		util_hex(rsp, rlen - 2, hex);
		if (g->json) {
			printf("%s\n  {\"command\": ", i ? "," : "");
			json_str(stdout, o->args[i]);
			printf(", \"data\": \"%s\", \"sw\": \"%02X%02X\"}", hex,
			    rsp[rlen - 2], rsp[rlen - 1]);
		} else
			printf("%s%s%02X%02X\n", hex, rlen > 2 ? " " : "",
			    rsp[rlen - 2], rsp[rlen - 1]);
	}
	if (g->json)
		printf("\n]\n");
	ex = EX_OK;
out:
	if (began)
		ccid_end(t.rdr);
	free(cmd);
	free(rsp);
	free(hex);
	token_close(&t);
	return ex;
}

/* ---- watch ---------------------------------------------------------------- */

#define WATCH_MAX	64
#define WATCH_TICK_MS	250

struct watched {
	struct usb_dev_info info;
	piv_reader_t *pr;
	ccid_reader_t *rdr;	/* piv_reader_ccid(pr) */
	int no_intr;		/* reader cannot report card changes */
	int seen;
	int gone;		/* unplugged: report, then forget */
};

static void
event(const struct globals *g, const char *what, const struct watched *w,
    long slot)
{
	char name[300];

	token_reader_name(&w->info, name, sizeof(name));
	if (g->json) {
		printf("{\"event\": \"%s\", \"path\": ", what);
		json_str(stdout, w->info.path);
		printf(", \"reader\": ");
		json_str(stdout, name);
		if (slot >= 0)
			printf(", \"slot\": %ld", slot);
		printf("}\n");
	} else if (slot >= 0)
		printf("%s %s %ld %s\n", what, w->info.path, slot, name);
	else
		printf("%s %s %s\n", what, w->info.path, name);
	fflush(stdout);
}

static void
watched_close(struct watched *w)
{
	w->rdr = NULL;
	piv_reader_close(&w->pr);
}

/* Re-enumerates; reports readers that came and went.  Returns events. */
static long
rescan(const struct globals *g, usb_ctx_t *ctx, struct watched *w,
    size_t *nw, int initial)
{
	struct usb_dev_info *list = NULL;
	size_t n = 0, i, j;
	long ev = 0;

	if (usb_enumerate(ctx, &list, &n) != 0)
		return 0;
	for (j = 0; j < *nw; j++)
		w[j].seen = 0;
	for (i = 0; i < n; i++) {
		if (!token_reader_matches(g->reader, &list[i]))
			continue;
		for (j = 0; j < *nw; j++)
			if (strcmp(w[j].info.path, list[i].path) == 0)
				break;
		if (j < *nw) {
			w[j].seen = 1;
			continue;
		}
		if (*nw >= WATCH_MAX)
			continue;
		memset(&w[*nw], 0, sizeof(w[*nw]));
		w[*nw].info = list[i];
		w[*nw].seen = 1;
		if (piv_reader_open(ctx, &list[i], &w[*nw].pr) != 0)
			w[*nw].no_intr = 1;
		else
			w[*nw].rdr = piv_reader_ccid(w[*nw].pr);
		event(g, initial ? "present" : "added", &w[*nw], -1);
		if (!initial)
			ev++;
		(*nw)++;
	}
	for (j = 0; j < *nw;) {
		if (w[j].seen) {
			j++;
			continue;
		}
		event(g, "removed", &w[j], -1);
		ev++;
		watched_close(&w[j]);
		w[j] = w[--(*nw)];
	}
	free(list);
	return ev;
}

/* Card insert/remove on readers with an interrupt endpoint. */
static long
slot_changes(const struct globals *g, struct watched *w)
{
	uint32_t changed = 0;
	size_t s;
	int r, ms = 20, state;
	long ev = 0;

	if (w->rdr == NULL || w->no_intr)
		return 0;
	if ((r = ccid_begin(w->rdr, &ms)) != 0) {
		if (r == CCID_ERR_REMOVED || piv_reader_removed(w->pr)) {
			w->gone = 1;	/* unplugged */
			return 1;
		}
		return 0;	/* busy: another program has it now */
	}
	ms = 20;
	r = ccid_wait_slot_change(w->rdr, &changed, &ms);
	if (r != 0) {
		ccid_end(w->rdr);
		if (r == CCID_ERR_UNSUPPORTED || r == CCID_ERR_ARG)
			w->no_intr = 1;
		if (r == CCID_ERR_REMOVED || piv_reader_removed(w->pr)) {
			/* Unplugged before the hot-plug scan noticed. */
			w->gone = 1;
			return 1;
		}
		return 0;
	}
	for (s = 0; s < ccid_slot_count(w->rdr) && s < 32; s++) {
		if (!(changed & (1u << s)))
			continue;
		ms = 1000;
		if (ccid_slot_status(w->rdr, s, &state, &ms) != 0)
			continue;
		event(g, state == CCID_SLOT_ABSENT ? "card-removed" :
		    "card-inserted", w, (long)s);
		ev++;
	}
	ccid_end(w->rdr);
	return ev;
}

int
cmd_watch(const struct globals *g, struct opts *o)
{
	struct watched *w;
	usb_ctx_t *ctx = NULL;
	size_t nw = 0, i;
	uint64_t start = util_now_ms(), limit;
	long events = 0;
	int r, ms;

	if ((w = calloc(WATCH_MAX, sizeof(*w))) == NULL)
		return EX_ERR;
	if ((r = cli_usb_ctx_new(&ctx)) != EX_OK) {
		free(w);
		return r;
	}
	limit = o->timeout_s >= 0 ? (uint64_t)o->timeout_s * 1000u : 0;
	rescan(g, ctx, w, &nw, 1);
	while (o->count < 0 || events < o->count) {
		if (limit != 0 && util_now_ms() - start >= limit)
			break;
		ms = WATCH_TICK_MS;
		if (usb_poll_hotplug(ctx, &ms) == 1)
			events += rescan(g, ctx, w, &nw, 0);
		else
			util_sleep_ms(ms);	/* whatever it did not wait */
		for (i = 0; i < nw && (o->count < 0 || events < o->count);) {
			events += slot_changes(g, &w[i]);
			if (!w[i].gone) {
				i++;
				continue;
			}
			event(g, "removed", &w[i], -1);
			watched_close(&w[i]);
			w[i] = w[--nw];
		}
		if (o->timeout_s == 0)
			break;
	}
	for (i = 0; i < nw; i++)
		watched_close(&w[i]);
	free(w);
	usb_ctx_free(&ctx);
	return EX_OK;
}
