/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_object.c — keys moved and deleted (YubiKey 5.7+), raw data
 * objects, and fresh CHUID / CCC identifiers.
 */
#include "usbpiv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#define OBJ_MAX		(64u * 1024)	/* cards hold ~3 KB; the card decides */

/* ---- move-key, delete-key ----------------------------------------------- */

/* MOVE KEY (INS F6) exists from firmware 5.7 on.  Prints the refusal. */
static int
need_move_key(const struct token *t, const char *cmd)
{
	if (!t->has_id || !t->id.has_version) {
		cli_err("%s: the token does not report a YubiKey firmware version; "
		    "moving and deleting keys needs a YubiKey 5.7 or later", cmd);
		return EX_ERR;
	}
	if (t->id.version[0] < 5 ||
	    (t->id.version[0] == 5 && t->id.version[1] < 7)) {
		cli_err("%s: needs YubiKey firmware 5.7 or later (this token has "
		    "%u.%u.%u); older tokens can only overwrite a key (keygen, "
		    "import-key) or reset the whole application", cmd,
		    t->id.version[0], t->id.version[1], t->id.version[2]);
		return EX_ERR;
	}
	return EX_OK;
}

/* 0 key there, PIV_ERR_NOT_FOUND none, else the error. */
static int
slot_has_key(struct token *t, int slot)
{
	struct piv_metadata md;
	int ms = CLI_OP_MS, r;

	memset(&md, 0, sizeof(md));
	r = piv_metadata(t->piv, (uint8_t)slot, &md, &ms);
	piv_metadata_clear(&md);
	return r;
}

static int
key_slot_ok(int slot, const char *cmd, const char *opt)
{
	if (slot < 0) {
		cli_err("%s: %s is required", cmd, opt);
		return EX_USAGE;
	}
	if (slot == PIV_SLOT_ATTEST) {
		cli_err("%s: the attestation key (f9) cannot be moved or deleted",
		    cmd);
		return EX_USAGE;
	}
	return EX_OK;
}

int
cmd_delete_key(const struct globals *g, struct opts *o)
{
	struct token t;
	int ex, r, ms = CLI_OP_MS;

	if ((ex = key_slot_ok(o->slot, "delete-key", "--slot")) != EX_OK)
		return ex;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	if ((ex = need_move_key(&t, "delete-key")) != EX_OK)
		goto out;
	if ((r = slot_has_key(&t, o->slot)) == PIV_ERR_NOT_FOUND) {
		cli_err("delete-key: slot %02x holds no key", (unsigned)o->slot);
		ex = EX_NOTFOUND;
		goto out;
	} else if (r != 0) {
		ex = cli_piv_fail("delete-key", r);
		goto out;
	}
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if ((r = piv_delete_key(t.piv, (uint8_t)o->slot, &ms)) != 0 &&
	    cli_lost(&t, r, 0xf6))
		ex = cli_lost_seen("delete-key", r, cli_slot_holds(&t, o->slot,
		    NULL), "the key may or may not have been deleted", "`usbpiv "
		    "info` lists the slots that hold keys");
	else if (r != 0)
		ex = cli_piv_fail("delete-key", r);
	else
		fprintf(stderr, "usbpiv: key in slot %02x deleted (a certificate "
		    "there stays: delete-cert)\n", (unsigned)o->slot);
out:
	token_close(&t);
	return ex;
}

int
cmd_move_key(const struct globals *g, struct opts *o)
{
	struct token t;
	int ex, r, ms = CLI_OP_MS;

	if ((ex = key_slot_ok(o->from, "move-key", "--from")) != EX_OK ||
	    (ex = key_slot_ok(o->to, "move-key", "--to")) != EX_OK)
		return ex;
	if (o->from == o->to) {
		cli_err("move-key: --from and --to name the same slot");
		return EX_USAGE;
	}
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	if ((ex = need_move_key(&t, "move-key")) != EX_OK)
		goto out;
	if ((r = slot_has_key(&t, o->from)) == PIV_ERR_NOT_FOUND) {
		cli_err("move-key: slot %02x holds no key", (unsigned)o->from);
		ex = EX_NOTFOUND;
		goto out;
	} else if (r != 0) {
		ex = cli_piv_fail("move-key", r);
		goto out;
	}
	if ((r = slot_has_key(&t, o->to)) == 0 && !o->force) {
		cli_err("move-key: slot %02x already holds a key; --force "
		    "replaces it", (unsigned)o->to);
		ex = EX_USAGE;
		goto out;
	} else if (r != 0 && r != PIV_ERR_NOT_FOUND) {
		ex = cli_piv_fail("move-key", r);
		goto out;
	}
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if ((r = piv_move_key(t.piv, (uint8_t)o->from, (uint8_t)o->to,
	    &ms)) != 0 && cli_lost(&t, r, 0xf6)) {
		/* moved: the source slot is empty now */
		if ((ex = cli_lost_seen("move-key", r, cli_slot_holds(&t,
		    o->from, NULL), "the key may or may not have been moved",
		    "`usbpiv info` lists the slots that hold keys")) != EX_OK)
			goto out;
		r = 0;
	}
	if (r != 0) {
		ex = cli_piv_fail("move-key", r);
		goto out;
	}
	ms = 10000;
	if ((r = piv_key_history_note(t.piv, (uint8_t)o->to, &ms)) != 0)
		cli_warn("key history not updated (%s): the module may not list "
		    "slot %02x", piv_strerror(r), (unsigned)o->to);
	fprintf(stderr, "usbpiv: key moved from slot %02x to slot %02x "
	    "(certificates stay where they were)\n", (unsigned)o->from,
	    (unsigned)o->to);
out:
	token_close(&t);
	return ex;
}

/* ---- data objects -------------------------------------------------------- */

static const struct { const char *name; uint32_t tag; } obj_names[] = {
	{ "chuid", PIV_OBJ_CHUID }, { "ccc", PIV_OBJ_CCC },
	{ "discovery", PIV_OBJ_DISCOVERY }, { "history", PIV_OBJ_KEY_HISTORY },
	{ "printed", PIV_OBJ_PRINTED }, { "security", PIV_OBJ_SECURITY },
	{ "facial", PIV_OBJ_FACE }, { "fingerprints", PIV_OBJ_FINGERPRINTS },
	{ "iris", PIV_OBJ_IRIS }, { "bitgt", PIV_OBJ_BITGT },
	{ "admindata", PIV_OBJ_ADMIN }, { "attestation", PIV_OBJ_ATTESTATION },
};

/*
 * An object ID: a name above, or the tag in hex (7e, 7f61, 5fc1xx,
 * 5fffxx: what GET DATA takes).  Returns 0 or -1 (printed).
 */
static int
parse_obj_id(const char *s, uint32_t *tag)
{
	unsigned long v;
	char *end;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(obj_names); i++)
		if (strcasecmp(s, obj_names[i].name) == 0) {
			*tag = obj_names[i].tag;
			return 0;
		}
	if (strncasecmp(s, "0x", 2) == 0)
		s += 2;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno == 0 && end != s && *end == '\0' && *s != '-' &&
	    (v == 0x7e || v == 0x7f61 || (v >= 0x5f0000 && v <= 0x5fffff))) {
		*tag = (uint32_t)v;
		return 0;
	}
	cli_err("bad object ID '%s': 5fc1xx, 5fffxx, 7e, 7f61 in hex, or one of "
	    "chuid ccc discovery history printed security facial fingerprints "
	    "iris bitgt adminData attestation", s);
	return -1;
}

int
cmd_read_object(const struct globals *g, struct opts *o)
{
	struct token t;
	uint8_t *data = NULL;
	size_t len = 0;
	uint32_t tag;
	FILE *fp;
	int ex, r, ms = CLI_OP_MS;

	if (parse_obj_id(o->args[0], &tag) != 0)
		return EX_USAGE;
	if (tag == PIV_OBJ_PRINTED)
		cli_warn("the printed-information object may hold the "
		    "PIN-protected management key (it is readable only after "
		    "the PIN)");
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	r = piv_get_data(t.piv, tag, &data, &len, &ms);
	if (r == PIV_ERR_AUTH_REQUIRED) {
		if ((ex = cli_verify_pin(&t, o)) != EX_OK)
			goto out;
		ms = CLI_OP_MS;
		r = piv_get_data(t.piv, tag, &data, &len, &ms);
	}
	if (r == PIV_ERR_NOT_FOUND) {
		cli_err("read-object: object %06x is empty or absent",
		    (unsigned)tag);
		ex = EX_NOTFOUND;
		goto out;
	}
	if (r != 0) {
		ex = cli_piv_fail("read-object", r);
		goto out;
	}
	if ((fp = cli_open_out(o->out, 1)) == NULL) {
		ex = EX_ERR;
		goto out;
	}
	ex = EX_OK;
	if (len > 0 && fwrite(data, 1, len, fp) != len)
		ex = EX_ERR;
	if (cli_close_out(fp, o->out) != 0)
		ex = EX_ERR;
out:
	if (data != NULL)
		util_freezero(data, len);
	token_close(&t);
	return ex;
}

int
cmd_write_object(const struct globals *g, struct opts *o)
{
	struct token t;
	uint8_t *data = NULL;
	size_t len = 0;
	uint32_t tag;
	int ex, r, ms = CLI_OP_MS;

	if (parse_obj_id(o->args[0], &tag) != 0)
		return EX_USAGE;
	if (tag == PIV_OBJ_DISCOVERY) {
		cli_err("write-object: the discovery object (7e) is read-only");
		return EX_USAGE;
	}
	if (cli_read_file(o->in, OBJ_MAX, &data, &len) != 0)
		return EX_ERR;
	if ((ex = token_open(g, &t)) != EX_OK) {
		util_freezero(data, len);
		return ex;
	}
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if ((r = piv_put_data(t.piv, tag, len ? data : NULL, len, &ms)) != 0 &&
	    cli_lost(&t, r, 0xdb))
		ex = cli_lost_seen("write-object", r, cli_object_is(&t, tag,
		    data, len), "the object may or may not have been written",
		    "`usbpiv read-object` shows what it holds now");
	else if (r != 0)
		ex = cli_piv_fail("write-object", r);
	else if (len == 0)
		fprintf(stderr, "usbpiv: object %06x deleted\n", (unsigned)tag);
	else
		fprintf(stderr, "usbpiv: %zu bytes written to object %06x\n", len,
		    (unsigned)tag);
out:
	if (data != NULL)
		util_freezero(data, len);
	token_close(&t);
	return ex;
}

/* ---- CHUID and CCC --------------------------------------------------------- */

/* The FASC-N yubico-piv-tool writes (agency 9999, system 9999, credential
 * 999999, ...), in its 5-bit BCD form. */
static const uint8_t fascn[25] = {
	0xd4, 0xe7, 0x39, 0xda, 0x73, 0x9c, 0xed, 0x39, 0xce, 0x73, 0x9d, 0x83,
	0x68, 0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xc8, 0x42, 0x10, 0xc3,
	0xeb,
};

/* Writes buf (len) to obj after management-key authentication; prints
 * `what` with the hex of id on success. */
static int
put_fresh(const struct globals *g, struct opts *o, const char *cmd,
    uint32_t obj, const uint8_t *buf, size_t len, const char *what,
    const uint8_t *id, size_t idlen)
{
	struct token t;
	char hex[2 * 32 + 1];
	int ex, r, ms = CLI_OP_MS;

	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if ((r = piv_put_data(t.piv, obj, buf, len, &ms)) != 0 &&
	    cli_lost(&t, r, 0xdb)) {
		if ((ex = cli_lost_seen(cmd, r, cli_object_is(&t, obj, buf, len),
		    "the object may or may not have been written", "`usbpiv "
		    "read-object` shows what it holds now")) != EX_OK)
			goto out;
		r = 0;
	}
	if (r != 0) {
		ex = cli_piv_fail(cmd, r);
		goto out;
	}
	util_hex(id, idlen, hex);
	if (g->json) {
		printf("{\"%s\": ", what);
		json_str(stdout, hex);
		printf("}\n");
	} else
		printf("%s %s\n", what, hex);
out:
	token_close(&t);
	return ex;
}

int
cmd_set_chuid(const struct globals *g, struct opts *o)
{
	uint8_t buf[2 + 25 + 2 + 16 + 2 + 8 + 2 + 2], *p = buf, *guid;

	*p++ = 0x30;			/* FASC-N */
	*p++ = sizeof(fascn);
	memcpy(p, fascn, sizeof(fascn));
	p += sizeof(fascn);
	*p++ = 0x34;			/* GUID */
	*p++ = 16;
	guid = p;
	if (RAND_bytes(guid, 16) != 1) {
		cli_err("set-chuid: no randomness");
		return EX_ERR;
	}
	p += 16;
	*p++ = 0x35;			/* expiration date, YYYYMMDD */
	*p++ = 8;
	memcpy(p, "20300101", 8);
	p += 8;
	*p++ = 0x3e;			/* issuer asymmetric signature: none */
	*p++ = 0;
	*p++ = 0xfe;			/* error detection code */
	*p++ = 0;
	return put_fresh(g, o, "set-chuid", PIV_OBJ_CHUID, buf,
	    (size_t)(p - buf), "guid", guid, 16);
}

int
cmd_set_ccc(const struct globals *g, struct opts *o)
{
	/* SP 800-73-4 Table 8: card identifier (GSC-RID A000000116, the
	 * manufacturer ID FF and card type 02 as yubico-piv-tool, 14 random
	 * bytes), container version 21, grammar version 21, then empty
	 * fields, PKCS#15 00, data model 10, and the error detection code. */
	static const uint8_t head[] = { 0xa0, 0x00, 0x00, 0x01, 0x16, 0xff,
	    0x02 };
	static const uint8_t tail[] = { 0xf1, 0x01, 0x21, 0xf2, 0x01, 0x21,
	    0xf3, 0x00, 0xf4, 0x01, 0x00, 0xf5, 0x01, 0x10, 0xf6, 0x00, 0xf7,
	    0x00, 0xfa, 0x00, 0xfb, 0x00, 0xfc, 0x00, 0xfd, 0x00, 0xfe, 0x00 };
	uint8_t buf[2 + 21 + sizeof(tail)], *p = buf, *id;

	*p++ = 0xf0;
	*p++ = 21;
	id = p;
	memcpy(p, head, sizeof(head));
	if (RAND_bytes(p + sizeof(head), 21 - (int)sizeof(head)) != 1) {
		cli_err("set-ccc: no randomness");
		return EX_ERR;
	}
	p += 21;
	memcpy(p, tail, sizeof(tail));
	p += sizeof(tail);
	return put_fresh(g, o, "set-ccc", PIV_OBJ_CCC, buf, (size_t)(p - buf),
	    "card_id", id, 21);
}
