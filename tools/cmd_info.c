/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_info.c — `usbpiv list` and `usbpiv info`.
 */
#include "usbpiv.h"

#include <stdlib.h>
#include <string.h>

static void
fmt_version(const struct piv_identity *id, int has, char *buf, size_t cap)
{
	if (has && id->has_version)
		snprintf(buf, cap, "%u.%u.%u", id->version[0], id->version[1],
		    id->version[2]);
	else
		snprintf(buf, cap, "%s", "");
}

static void
fmt_serial(const struct piv_identity *id, int has, char *buf, size_t cap)
{
	if (has && id->has_serial)
		snprintf(buf, cap, "%u", id->serial);
	else
		snprintf(buf, cap, "%s", "");
}

/* One output line: a reader slot and what is in it. */
static void
list_line(const struct usb_dev_info *info, const char *name, size_t slot,
    size_t nslots, int card, const struct piv_identity *id, int has_id,
    const char *status, int json, int *first)
{
	char ser[16], ver[16];

	fmt_serial(id, has_id, ser, sizeof(ser));
	fmt_version(id, has_id, ver, sizeof(ver));
	if (json) {
		printf("%s\n  {\"reader\": ", *first ? "" : ",");
		json_str(stdout, name);
		printf(", \"path\": ");
		json_str(stdout, info->path);
		printf(", \"vid\": \"%04x\", \"pid\": \"%04x\", "
		    "\"slot\": %zu, \"card\": %s", info->vid, info->pid, slot,
		    card ? "true" : "false");
		if (ser[0] != '\0')
			printf(", \"serial\": %s", ser);
		if (ver[0] != '\0')
			printf(", \"firmware\": \"%s\"", ver);
		if (*status != '\0') {
			printf(", \"status\": ");
			json_str(stdout, status);
		}
		printf("}");
	} else {
		printf("%s", name);
		if (nslots > 1)
			printf(" [slot %zu]", slot);
		printf("\t%s", info->path);
		if (ser[0] != '\0')
			printf("\tserial %s", ser);
		if (ver[0] != '\0')
			printf("\tfirmware %s", ver);
		if (*status != '\0')
			printf("\t(%s)", status);
		printf("\n");
	}
	*first = 0;
}

static const char *
busy_or(int busy, const char *other)
{
	return busy ? "busy: " BUSY_HINT : other;
}

/* Every slot of one reader, with the token in it if any. */
static void
list_one(usb_ctx_t *ctx, const struct usb_dev_info *info, int json,
    int *first)
{
	piv_reader_t *pr = NULL;
	piv_card_t *piv = NULL;
	struct piv_identity id;
	char name[300];
	const char *status;
	size_t s, nslots;
	int r, ms, has_id, card;

	memset(&id, 0, sizeof(id));
	token_reader_name(info, name, sizeof(name));
	if ((r = piv_reader_open(ctx, info, &pr)) != 0) {
		status = busy_or(r == PIV_ERR_BUSY, r == PIV_ERR_ACCESS ?
		    "permission denied (udev rule 70-usbpiv.rules missing?)" :
		    piv_strerror(r));
		list_line(info, name, 0, 1, 0, &id, 0, status, json, first);
		return;
	}
	nslots = piv_reader_slots(pr);
	for (s = 0; s < nslots && s < 16; s++) {
		status = "";
		card = has_id = 0;
		memset(&id, 0, sizeof(id));
		ms = CLI_LOCK_MS;
		if ((r = piv_reader_card(pr, s, 1, &ms, &piv)) != 0)
			status = r == PIV_ERR_REMOVED ? "no card" :
			    busy_or(r == PIV_ERR_BUSY, piv_strerror(r));
		else {
			card = 1;
			ms = CLI_OP_MS;
			r = piv_identity(piv, &id, &ms);
			has_id = r == 0;
			if (r == PIV_ERR_NO_APP)
				status = "no PIV application";
			else if (r != 0)
				status = busy_or(r == PIV_ERR_BUSY,
				    piv_strerror(r));
			piv_free(&piv);
		}
		list_line(info, name, s, nslots, card, &id, has_id, status,
		    json, first);
	}
	piv_reader_close(&pr);
}

int
cmd_list(const struct globals *g, struct opts *o)
{
	usb_ctx_t *ctx = NULL;
	struct usb_dev_info *list = NULL;
	size_t n = 0, i;
	int r, first = 1, shown = 0;

	(void)o;
	if ((r = cli_usb_ctx_new(&ctx)) != EX_OK) {
		return r;
	}
	if ((r = usb_enumerate(ctx, &list, &n)) != 0) {
		cli_err("cannot list USB devices: %s", usb_strerror(r));
		usb_ctx_free(&ctx);
		return cli_exit_for_usb(r);
	}
	if (g->json)
		printf("[");
	for (i = 0; i < n; i++) {
		if (!token_reader_matches(g->reader, &list[i]))
			continue;
		list_one(ctx, &list[i], g->json, &first);
		shown++;
	}
	if (g->json)
		printf("%s]\n", shown ? "\n" : "");
	free(list);
	usb_ctx_free(&ctx);
	if (shown == 0) {
		cli_err("no CCID reader found");
		return EX_NOTFOUND;
	}
	return EX_OK;
}

/* ---- info ----------------------------------------------------------------- */

struct tries {
	int ok;
	int left, total, is_default;
};

static void
get_tries(struct token *t, uint8_t ref, struct tries *tr)
{
	struct piv_metadata md;
	int ms = CLI_OP_MS, verified;

	memset(tr, 0, sizeof(*tr));
	tr->left = tr->total = tr->is_default = -1;
	memset(&md, 0, sizeof(md));
	if (piv_metadata(t->piv, ref, &md, &ms) == 0) {
		tr->ok = 1;
		tr->left = md.retries_left;
		tr->total = md.retries_total;
		tr->is_default = md.is_default;
		piv_metadata_clear(&md);
		return;
	}
	piv_metadata_clear(&md);
	ms = CLI_OP_MS;
	if (ref == PIV_PIN_REF &&
	    piv_pin_status(t->piv, ref, &verified, &tr->left, &ms) == 0)
		tr->ok = 1;
}

static void
print_tries(const char *label, const struct tries *tr, int json)
{
	if (json) {
		printf(",\n  \"%s\": {", label);
		if (tr->left >= 0)
			printf("\"tries_left\": %d", tr->left);
		else
			printf("\"tries_left\": null");
		if (tr->total >= 0)
			printf(", \"tries_total\": %d", tr->total);
		if (tr->is_default >= 0)
			printf(", \"default\": %s", tr->is_default ? "true" :
			    "false");
		printf("}");
		return;
	}
	printf("%-19s", label[1] == 'i' ? "PIN tries left:" : "PUK tries left:");
	if (tr->left < 0)
		printf("unknown");
	else if (tr->total >= 0)
		printf("%d/%d", tr->left, tr->total);
	else
		printf("%d", tr->left);
	if (tr->is_default == 1)
		printf(" (factory default %s)", label[1] == 'i' ? "PIN" : "PUK");
	printf("\n");
}

static void
info_slot(struct token *t, uint8_t slot, int json, int *first)
{
	struct piv_metadata md;
	X509 *cert = NULL;
	char subj[512], exp[64], issuer[512];
	int ms = CLI_OP_MS, r, has_md, alg = -1;
	EVP_PKEY *pk;

	memset(&md, 0, sizeof(md));
	r = piv_metadata(t->piv, slot, &md, &ms);
	has_md = r == 0;
	ms = CLI_OP_MS;
	if (piv_read_cert(t->piv, slot, &cert, &ms) != 0)
		cert = NULL;
	if (!has_md && cert == NULL) {
		piv_metadata_clear(&md);
		return;
	}
	if (has_md)
		alg = md.alg;
	else if ((pk = X509_get0_pubkey(cert)) != NULL)
		cli_alg_of_pkey(pk, &alg);
	if (cert != NULL) {
		cli_name_line(X509_get_subject_name(cert), subj, sizeof(subj));
		cli_name_line(X509_get_issuer_name(cert), issuer,
		    sizeof(issuer));
		cli_time_line(X509_get0_notAfter(cert), exp, sizeof(exp));
	}
	if (json) {
		printf("%s\n    {\"slot\": \"%02x\", \"name\": \"%s\", "
		    "\"algorithm\": ", *first ? "" : ",", slot,
		    cli_slot_name(slot));
		if (alg >= 0)
			printf("\"%s\"", cli_alg_name(alg));
		else
			printf("null");
		if (has_md)
			printf(", \"pin_policy\": \"%s\", \"touch_policy\": "
			    "\"%s\", \"origin\": \"%s\"",
			    cli_pin_policy_name(md.pin_policy),
			    cli_touch_policy_name(md.touch_policy),
			    cli_origin_name(md.origin));
		if (cert != NULL) {
			printf(", \"subject\": ");
			json_str(stdout, subj);
			printf(", \"issuer\": ");
			json_str(stdout, issuer);
			printf(", \"not_after\": ");
			json_str(stdout, exp);
		} else
			printf(", \"subject\": null");
		printf("}");
	} else {
		printf("Slot %02x (%s):\n", slot, cli_slot_name(slot));
		printf("  Algorithm:       %s\n", alg >= 0 ? cli_alg_name(alg) :
		    "unknown");
		if (has_md) {
			printf("  PIN policy:      %s\n",
			    cli_pin_policy_name(md.pin_policy));
			printf("  Touch policy:    %s\n",
			    cli_touch_policy_name(md.touch_policy));
			printf("  Origin:          %s\n",
			    cli_origin_name(md.origin));
		}
		if (cert != NULL) {
			printf("  Subject:         %s\n", subj);
			printf("  Issuer:          %s\n", issuer);
			printf("  Expires:         %s\n", exp);
		} else
			printf("  Certificate:     none\n");
	}
	*first = 0;
	X509_free(cert);
	piv_metadata_clear(&md);
}

int
cmd_info(const struct globals *g, struct opts *o)
{
	struct token t;
	struct tries pin, puk;
	struct piv_metadata md;
	char name[300], ver[16], ser[16];
	int ex, ms, r, first = 1, prot = 0, md_ok;
	uint8_t *adm = NULL;
	size_t admlen = 0, i;
	struct piv_tlv a, f;

	(void)o;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	token_reader_name(&t.info, name, sizeof(name));
	fmt_version(&t.id, t.has_id, ver, sizeof(ver));
	fmt_serial(&t.id, t.has_id, ser, sizeof(ser));
	get_tries(&t, PIV_PIN_REF, &pin);
	get_tries(&t, PIV_PUK_REF, &puk);
	memset(&md, 0, sizeof(md));
	ms = CLI_OP_MS;
	r = piv_metadata(t.piv, PIV_SLOT_MGM, &md, &ms);
	md_ok = r == 0;
	ms = CLI_OP_MS;
	if (piv_get_data(t.piv, PIV_OBJ_ADMIN, &adm, &admlen, &ms) == 0 &&
	    piv_tlv_find(adm, admlen, 0x80, &a) == 0 &&
	    piv_tlv_find(a.value, a.len, 0x81, &f) == 0 && f.len >= 1 &&
	    (f.value[0] & 0x02))
		prot = 1;
	free(adm);

	if (g->json) {
		printf("{\n  \"reader\": ");
		json_str(stdout, name);
		printf(",\n  \"path\": ");
		json_str(stdout, t.info.path);
		printf(",\n  \"serial\": %s%s%s", ser[0] ? "" : "null", ser,
		    "");
		printf(",\n  \"firmware\": ");
		if (ver[0])
			json_str(stdout, ver);
		else
			printf("null");
		print_tries("pin", &pin, 1);
		print_tries("puk", &puk, 1);
		printf(",\n  \"management_key\": {");
		if (md_ok)
			printf("\"algorithm\": \"%s\", \"default\": %s, "
			    "\"touch_policy\": \"%s\", ", cli_alg_name(md.alg),
			    md.is_default ? "true" : "false",
			    cli_touch_policy_name(md.touch_policy));
		printf("\"pin_protected\": %s}", prot ? "true" : "false");
		printf(",\n  \"slots\": [");
	} else {
		printf("%-19s%s (%s)\n", "Reader:", name, t.info.path);
		printf("%-19s%s\n", "Serial:", ser[0] ? ser : "unknown");
		printf("%-19s%s\n", "Firmware:", ver[0] ? ver : "unknown");
		print_tries("pin", &pin, 0);
		print_tries("puk", &puk, 0);
		printf("%-19s", "Management key:");
		if (md_ok)
			printf("%s%s", cli_alg_name(md.alg), md.is_default ?
			    " (factory default: change it!)" : "");
		else
			printf("unknown type");
		if (prot)
			printf(", PIN-protected");
		printf("\n");
	}
	piv_metadata_clear(&md);
	for (i = 0; i < cli_key_slots_n; i++)
		info_slot(&t, cli_key_slots[i], g->json, &first);
	if (g->json)
		printf("%s]\n}\n", first ? "" : "\n  ");
	token_close(&t);
	return EX_OK;
}
