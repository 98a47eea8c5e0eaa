/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_cli.c — the CLI's commands that change nothing on the card,
 * run in-process over a card whose every answer comes from the input
 * (fuzz/fuzz_card.h: a piv_io_t under the real piv/ layer).
 *
 * The seam is the link: this target is linked with every tools/ object
 * but main.o and token.o, and defines the token_* functions itself, so
 * token_open() gives a PIV handle on the fuzzed card after the same
 * steps as tools/token.c (transaction, identity) instead of walking USB.
 * (`list`, `watch` and `apdu` talk to readers, `uri` loads the module:
 * they are not here; the module has its own target, fuzz_p11_stack.)
 *
 * Input: 4 configuration bytes, then the card's answers:
 *   bytes 0-1  which commands run (bit i: command i of fz_cmds, in order)
 *   byte 2     the slot (9a 9c 9d 9e 82 83 95 f9), for the commands with
 *              --slot
 *   byte 3     the object, for read-object
 * Standard output goes to /dev/null; files the commands write too.
 *
 * Record mode (FUZZ_RECORD=file, FUZZ_RECORD_CFG=0xMMMMSSOO: mask, slot
 * index, object index): the commands over the software card, its answers
 * written as a seed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/usbpiv.h"
#include "fuzz_card.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the token seam: tools/token.c's interface over the fuzzed card ------ */

void
token_reader_name(const struct usb_dev_info *i, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", i->product[0] != '\0' ? i->product :
	    "Fuzzed reader");
}

int
token_reader_matches(const char *want, const struct usb_dev_info *i)
{
	(void)i;
	return want == NULL;
}

/* as token.c: the card of the open token, for token_cause() */
static piv_card_t *fz_card;

const char *
token_cause(void)
{
	return fz_card != NULL ? piv_last_cause(fz_card) : "";
}

void
token_close(struct token *t)
{
	int ms = CLI_OP_MS;

	fz_card = NULL;
	if (t->piv != NULL && t->pin_ok)
		(void)piv_logout(t->piv, PIV_PIN_REF, &ms);
	t->pin_ok = 0;
	if (t->piv != NULL && t->in_tx)
		piv_end(t->piv);
	t->in_tx = 0;
	piv_free(&t->piv);
}

/* tools/token.c's steps once a card answers: a transaction, the
 * identity; a card without the PIV application is no token. */
int
token_open(const struct globals *g, struct token *t)
{
	int r, ms = CLI_LOCK_MS;

	memset(t, 0, sizeof(*t));
	snprintf(t->info.path, sizeof(t->info.path), "1-1");
	snprintf(t->info.product, sizeof(t->info.product), "Fuzzed reader");
	if (piv_new(&t->piv, &fc_io_ext, &fc) != 0)
		return EX_ERR;
	fz_card = t->piv;
	if ((r = piv_begin(t->piv, &ms)) != 0) {
		piv_free(&t->piv);
		return cli_piv_fail(t->info.path, r);
	}
	t->in_tx = 1;
	ms = CLI_OP_MS;
	r = piv_identity(t->piv, &t->id, &ms);
	t->has_id = r == 0;
	if (r == PIV_ERR_NO_APP || (g->has_serial && !(t->has_id &&
	    t->id.has_serial && t->id.serial == g->serial))) {
		token_close(t);
		return EX_NOTFOUND;
	}
	/* as token.c: the failure is told, the token used all the same */
	if (r != 0 && r != PIV_ERR_NOT_SUPPORTED && r != PIV_ERR_NOT_FOUND)
		(void)cli_piv_fail(t->info.path, r);
	return EX_OK;
}

int
token_open_raw(const struct globals *g, struct token *t)
{
	(void)g;
	memset(t, 0, sizeof(*t));
	return EX_NOTFOUND;
}

/* ---- the commands ---------------------------------------------------------- */

static char fz_msg[64], fz_ct[64];

enum { A_NONE, A_SLOT, A_OBJ };

static const struct {
	int (*fn)(const struct globals *, struct opts *);
	int json, arg;
	const char *action;	/* args[0] */
	const char *format, *padding;
	int in;			/* 1 message, 2 ciphertext */
} fz_cmds[] = {
	{ cmd_info, 0, A_NONE, NULL, NULL, NULL, 0 },
	{ cmd_info, 1, A_NONE, NULL, NULL, NULL, 0 },
	{ cmd_ssh_keys, 0, A_NONE, NULL, NULL, NULL, 0 },
	{ cmd_export_cert, 0, A_SLOT, NULL, NULL, NULL, 0 },
	{ cmd_export_cert, 0, A_SLOT, NULL, "der", NULL, 0 },
	{ cmd_export_pubkey, 0, A_SLOT, NULL, "ssh", NULL, 0 },
	{ cmd_export_pubkey, 0, A_SLOT, NULL, NULL, NULL, 0 },
	{ cmd_read_object, 0, A_OBJ, NULL, NULL, NULL, 0 },
	{ cmd_pin, 0, A_NONE, "verify", NULL, NULL, 0 },
	{ cmd_pin, 1, A_NONE, "verify", NULL, NULL, 0 },
	{ cmd_attest, 0, A_SLOT, NULL, NULL, NULL, 0 },
	{ cmd_sign, 0, A_SLOT, NULL, NULL, NULL, 1 },
	{ cmd_decrypt, 0, A_SLOT, NULL, NULL, NULL, 2 },
	{ cmd_request_cert, 0, A_SLOT, NULL, NULL, NULL, 0 },
	{ cmd_sign, 0, A_SLOT, NULL, NULL, "pss", 1 },
	{ cmd_export_pubkey, 0, A_SLOT, NULL, "der", NULL, 0 },
};
#define FZ_NCMDS	(sizeof(fz_cmds) / sizeof(fz_cmds[0]))

static const int fz_slots[8] = { 0x9a, 0x9c, 0x9d, 0x9e, 0x82, 0x83, 0x95,
    0xf9 };
static const char *const fz_objs[16] = {
	"chuid", "ccc", "discovery", "history", "printed", "security",
	"facial", "fingerprints", "iris", "bitgt", "adminData",
	"attestation", "5fc10a", "5fc10d", "5fff02", "7e",
};

static void
fz_run(uint16_t mask, uint8_t slot, uint8_t obj)
{
	struct globals g;
	struct opts o;
	char *args[2];
	size_t i;

	for (i = 0; i < FZ_NCMDS; i++) {
		if (!(mask & (1u << i)))
			continue;
		memset(&g, 0, sizeof(g));
		memset(&o, 0, sizeof(o));
		o.slot = o.alg = o.mgm_alg = -1;
		o.from = o.to = -1;
		o.count = o.timeout_s = o.valid_days = -1;
		o.out = "/dev/null";
		g.json = fz_cmds[i].json;
		o.format = fz_cmds[i].format;
		o.padding = fz_cmds[i].padding;
		if (fz_cmds[i].in)
			o.in = fz_cmds[i].in == 1 ? fz_msg : fz_ct;
		args[0] = args[1] = NULL;
		o.args = args;
		switch (fz_cmds[i].arg) {
		case A_SLOT:
			o.slot = fz_slots[slot & 7];
			break;
		case A_OBJ:
			args[0] = (char *)(uintptr_t)fz_objs[obj & 15];
			o.nargs = 1;
			break;
		default:
			break;
		}
		if (fz_cmds[i].action != NULL) {
			args[0] = (char *)(uintptr_t)fz_cmds[i].action;
			o.nargs = 1;
		}
		if (fz_cmds[i].fn == cmd_request_cert)
			o.subject = "CN=usbpiv fuzz,O=usbpiv";
		(void)fz_cmds[i].fn(&g, &o);
	}
}

/* The four configuration bytes (recorded as given), then the commands. */
static void
fz_config(uint8_t m0, uint8_t m1, uint8_t slot, uint8_t obj)
{
	uint16_t mask;

	mask = fc_byte(m0);
	mask |= (uint16_t)(fc_byte(m1) << 8);
	slot = fc_byte(slot);
	obj = fc_byte(obj);
	fz_run(mask, slot, obj);
}

static void
fz_file(char *path, size_t cap, const char *what, uint8_t fill, size_t n)
{
	uint8_t buf[512];
	FILE *f;

	snprintf(path, cap, "/tmp/fuzz_cli.%s.%ld", what, (long)getpid());
	memset(buf, fill, sizeof(buf));
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(buf, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static void
fz_cleanup(void)
{
	unlink(fz_msg);
	unlink(fz_ct);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned long cfg;
	const char *e;

	(void)argc;
	(void)argv;
	unsetenv("USBPIV_DEBUG");
	unsetenv("USBPIV_RETIRED");
	unsetenv("USBPIV_ATTEST");
	unsetenv("USBPIV_MGM_KEY");
	setenv("USBPIV_PIN", "123456", 1);
	fz_file(fz_msg, sizeof(fz_msg), "msg", 'm', 100);
	fz_file(fz_ct, sizeof(fz_ct), "ct", 0x42, 256);
	atexit(fz_cleanup);
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
	if (fc_record_begin()) {
		e = getenv("FUZZ_RECORD_CFG");
		cfg = e != NULL ? strtoul(e, NULL, 0) : 0xffff0000ul;
		fz_config((uint8_t)(cfg >> 16), (uint8_t)(cfg >> 24),
		    (uint8_t)(cfg >> 8), (uint8_t)cfg);
		fc_record_end();
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fc_start(data, size);
	fz_config(0, 0, 0, 0);
	return 0;
}
