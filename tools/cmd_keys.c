/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_keys.c — keys and certificates: keygen, import-key,
 * import-cert, export-cert, export-pubkey, ssh-keys, attest.
 */
#include "usbpiv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

static int
need_slot(const struct opts *o, const char *cmd, int allow_f9)
{
	if (o->slot < 0) {
		cli_err("%s: --slot is required", cmd);
		return EX_USAGE;
	}
	if (o->slot == PIV_SLOT_ATTEST && !allow_f9) {
		cli_err("%s: slot f9 is the attestation key", cmd);
		return EX_USAGE;
	}
	return EX_OK;
}

/* pem / der / ssh; "pem" when unset. */
static int
parse_format(const char *f, int ssh_ok, int *fmt)
{
	if (f == NULL || strcmp(f, "pem") == 0)
		*fmt = 0;
	else if (strcmp(f, "der") == 0)
		*fmt = 1;
	else if (ssh_ok && strcmp(f, "ssh") == 0)
		*fmt = 2;
	else {
		cli_err("bad --format '%s' (pem der%s)", f, ssh_ok ? " ssh" : "");
		return EX_USAGE;
	}
	return EX_OK;
}

static int
write_pubkey(const EVP_PKEY *pk, int fmt, const char *path,
    const char *comment)
{
	FILE *fp;
	char *line = NULL;
	int ok;

	if (fmt == 2) {
		if (ssh_pubkey_line(pk, &line) != 0) {
			cli_err("this key type has no OpenSSH form");
			return EX_ERR;
		}
	}
	if ((fp = cli_open_out(path, fmt == 1)) == NULL) {
		free(line);
		return EX_ERR;
	}
	if (fmt == 0)
		ok = PEM_write_PUBKEY(fp, pk) == 1;
	else if (fmt == 1)
		ok = i2d_PUBKEY_fp(fp, pk) == 1;
	else
		ok = fprintf(fp, "%s%s%s\n", line, comment != NULL &&
		    *comment != '\0' ? " " : "", comment != NULL ? comment :
		    "") > 0;
	free(line);
	if (cli_close_out(fp, path) != 0 || !ok) {
		if (!ok)
			cli_err("cannot encode the public key");
		return EX_ERR;
	}
	return EX_OK;
}

static int
write_cert(X509 *cert, int fmt, const char *path)
{
	FILE *fp;
	int ok;

	if ((fp = cli_open_out(path, fmt == 1)) == NULL)
		return EX_ERR;
	ok = fmt == 1 ? i2d_X509_fp(fp, cert) == 1 :
	    PEM_write_X509(fp, cert) == 1;
	if (cli_close_out(fp, path) != 0 || !ok) {
		if (!ok)
			cli_err("cannot encode the certificate");
		return EX_ERR;
	}
	return EX_OK;
}

/*
 * A key or certificate in a retired slot (82..95) must be counted by the
 * Key History object, which is how readers (the PKCS#11 module, OpenSC)
 * know which retired slots to look at.  The write succeeded: a failure
 * here is a warning.
 */
static void
history_note(struct token *t, int slot)
{
	int ms = 10000, r;

	if ((r = piv_key_history_note(t->piv, (uint8_t)slot, &ms)) != 0)
		fprintf(stderr, "usbpiv: warning: key history not updated "
		    "(%s): the module may not list slot %02x\n",
		    piv_strerror(r), (unsigned)slot);
}

int
cmd_keygen(const struct globals *g, struct opts *o)
{
	struct token t;
	EVP_PKEY *pub = NULL;
	struct piv_metadata old;
	FILE *fp;
	int ex, fmt, r, r2, ms = CLI_OP_MS, have_old = 0, empty = 0;

	if ((ex = need_slot(o, "keygen", 0)) != EX_OK ||
	    (ex = parse_format(o->format, 1, &fmt)) != EX_OK)
		return ex;
	if (o->alg < 0) {
		cli_err("keygen: --alg is required");
		return EX_USAGE;
	}
	if (fmt == 2 && o->alg == PIV_ALG_X25519) {
		cli_err("keygen: an X25519 key has no OpenSSH form");
		return EX_USAGE;
	}
	/* Fail on an unwritable output before the key exists, not after. */
	if ((fp = cli_open_out(o->out, fmt == 1)) == NULL ||
	    cli_close_out(fp, o->out) != 0)
		return EX_ERR;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if (o->alg == PIV_ALG_RSA4096 || o->alg == PIV_ALG_RSA3072)
		fprintf(stderr, "usbpiv: generating an %s key can take a "
		    "minute...\n", cli_alg_name(o->alg));
	/* the key there now, to tell a lost answer's new key from it */
	ms = CLI_OP_MS;
	if ((r2 = piv_metadata(t.piv, (uint8_t)o->slot, &old, &ms)) == 0)
		have_old = 1;
	else if (r2 == PIV_ERR_NOT_FOUND)
		empty = 1;
	ms = CLI_SLOW_MS;
	r = piv_generate(t.piv, (uint8_t)o->slot, (uint8_t)o->alg,
	    (uint8_t)o->pin_policy, (uint8_t)o->touch_policy, &pub, &ms);
	if (r != 0 && cli_lost(&t, r, 0x47) && (have_old || empty)) {
		struct piv_metadata md;
		int seen = -1;

		/* METADATA again: a key that was not there is the new one */
		ms = CLI_OP_MS;
		if ((r2 = piv_metadata(t.piv, (uint8_t)o->slot, &md,
		    &ms)) == 0 && md.pub != NULL) {
			seen = !have_old || old.pub == NULL ||
			    EVP_PKEY_eq(old.pub, md.pub) != 1;
			if (seen == 1) {
				pub = md.pub;
				md.pub = NULL;
			}
			piv_metadata_clear(&md);
		} else if (r2 == PIV_ERR_NOT_FOUND)
			seen = 0;
		if ((ex = cli_lost_seen("keygen", r, seen, "a new key may or "
		    "may not have been generated", "`usbpiv export-pubkey "
		    "--slot SLOT` shows the slot's key now")) != EX_OK)
			goto out;
		r = 0;
	} else if (r != 0 && cli_lost(&t, r, 0x47)) {
		ex = cli_unknown("keygen", r, "a new key may or may not have "
		    "been generated", "`usbpiv export-pubkey --slot SLOT` shows "
		    "the slot's key now");
		goto out;
	}
	if (r != 0) {
		ex = cli_piv_fail("keygen", r);
		goto out;
	}
	history_note(&t, o->slot);
	ex = write_pubkey(pub, fmt, o->out, o->comment);
	/* 9C's default PIN policy is "always": say what that means for SSH. */
	if (ex == EX_OK && o->slot == PIV_SLOT_SIGN &&
	    (o->pin_policy == PIV_PINPOLICY_DEFAULT ||
	    o->pin_policy == PIV_PINPOLICY_ALWAYS))
		fprintf(stderr, "usbpiv: note: the key in 9c has PIN policy "
		    "\"always\" (the PIN before every signature):\n"
		    "  OpenSSH's ssh-agent (ssh-add -s) cannot use it; "
		    "ssh -I asks each time, `usbpiv agent` asks\n"
		    "  each time.  For an SSH key use 9a, or --pin-policy once.\n");
out:
	if (have_old)
		piv_metadata_clear(&old);
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

int
cmd_import_key(const struct globals *g, struct opts *o)
{
	struct token t;
	EVP_PKEY *key = NULL;
	int ex, r, alg, ms = CLI_OP_MS;

	if ((ex = need_slot(o, "import-key", 0)) != EX_OK)
		return ex;
	if (cli_load_privkey(o->in, &key) != 0)
		return EX_ERR;
	if (cli_alg_of_pkey(key, &alg) != 0) {
		cli_err("import-key: unsupported key type or size");
		EVP_PKEY_free(key);
		return EX_ERR;
	}
	if ((ex = token_open(g, &t)) != EX_OK) {
		EVP_PKEY_free(key);
		return ex;
	}
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	r = piv_import_key(t.piv, (uint8_t)o->slot, key, (uint8_t)o->pin_policy,
	    (uint8_t)o->touch_policy, &ms);
	if (r != 0 && cli_lost(&t, r, 0xfe)) {
		/* METADATA tells whether the slot holds this key now */
		if ((ex = cli_lost_seen("import-key", r,
		    cli_slot_holds(&t, o->slot, key), "the key may or may not "
		    "have been imported", "`usbpiv export-pubkey --slot SLOT` "
		    "shows the slot's key now")) != EX_OK)
			goto out;
		r = 0;
	}
	if (r != 0) {
		ex = cli_piv_fail("import-key", r);
		goto out;
	}
	history_note(&t, o->slot);
	fprintf(stderr, "usbpiv: imported %s key into slot %02x\n",
	    cli_alg_name(alg), o->slot);
out:
	EVP_PKEY_free(key);
	token_close(&t);
	return ex;
}

int
cmd_import_cert(const struct globals *g, struct opts *o)
{
	struct token t;
	X509 *cert = NULL;
	int ex, r, ms = CLI_OP_MS;

	if ((ex = need_slot(o, "import-cert", 1)) != EX_OK)
		return ex;
	if (cli_load_cert(o->in, &cert) != 0)
		return EX_ERR;
	if ((ex = token_open(g, &t)) != EX_OK) {
		X509_free(cert);
		return ex;
	}
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if ((r = piv_write_cert(t.piv, (uint8_t)o->slot, cert, o->compress,
	    &ms)) != 0 && cli_lost(&t, r, 0xdb)) {
		/* read the object back */
		if ((ex = cli_lost_seen("import-cert", r, cli_cert_is(&t,
		    o->slot, cert, o->compress), "the certificate may or may "
		    "not have been stored", "`usbpiv export-cert --slot SLOT` "
		    "shows the slot's certificate now")) == EX_OK)
			history_note(&t, o->slot);
	} else if (r == PIV_ERR_NO_SPACE && !o->compress) {
		cli_err("import-cert: the certificate is too large for the "
		    "token's object (6A84): try again with --compress");
		ex = EX_ERR;
	} else if (r != 0)
		ex = cli_piv_fail("import-cert", r);
	else
		history_note(&t, o->slot);
out:
	X509_free(cert);
	token_close(&t);
	return ex;
}

int
cmd_export_cert(const struct globals *g, struct opts *o)
{
	struct token t;
	X509 *cert = NULL;
	int ex, fmt, r, ms = CLI_OP_MS;

	if ((ex = need_slot(o, "export-cert", 1)) != EX_OK ||
	    (ex = parse_format(o->format, 0, &fmt)) != EX_OK)
		return ex;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	r = piv_read_cert(t.piv, (uint8_t)o->slot, &cert, &ms);
	if (r == PIV_ERR_NOT_FOUND) {
		cli_err("export-cert: no certificate in slot %02x", o->slot);
		ex = EX_NOTFOUND;
	} else if (r != 0)
		ex = cli_piv_fail("export-cert", r);
	else
		ex = write_cert(cert, fmt, o->out);
	X509_free(cert);
	token_close(&t);
	return ex;
}

int
cmd_export_pubkey(const struct globals *g, struct opts *o)
{
	struct token t;
	EVP_PKEY *pub = NULL;
	int ex, fmt, r, alg;

	if ((ex = need_slot(o, "export-pubkey", 1)) != EX_OK ||
	    (ex = parse_format(o->format, 1, &fmt)) != EX_OK)
		return ex;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	r = cli_slot_pubkey(&t, o->slot, &pub, &alg);
	if (r == PIV_ERR_NOT_FOUND) {
		cli_err("export-pubkey: slot %02x holds no key (or no "
		    "certificate to take it from)", o->slot);
		ex = EX_NOTFOUND;
	} else if (r != 0)
		ex = cli_piv_fail("export-pubkey", r);
	else
		ex = write_pubkey(pub, fmt, o->out, o->comment != NULL ?
		    o->comment : fmt == 2 ? ssh_slot_comment(o->slot) : NULL);
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

/* The list and its order: ssh_token_keys (tools/sshkey.c). */
static void
ssh_print(FILE *fp, int json, const struct ssh_key_ent *k, size_t i)
{
	if (json) {
		fprintf(fp, "%s\n  {\"slot\": \"%02x\", \"key\": ",
		    i ? "," : "", k->slot);
		json_str(fp, k->line);
		fprintf(fp, ", \"comment\": ");
		json_str(fp, k->comment);
		fprintf(fp, "}");
	} else
		fprintf(fp, "%s%s%s\n", k->line, k->comment[0] ? " " : "",
		    k->comment);
}

int
cmd_ssh_keys(const struct globals *g, struct opts *o)
{
	struct token t;
	struct ssh_key_ent *keys = NULL;
	FILE *fp;
	size_t i, n = 0;
	int ex, r;

	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	if ((r = ssh_token_keys(&t, &keys, &n)) != 0) {
		token_close(&t);
		return cli_piv_fail("ssh-keys", r);
	}
	if ((fp = cli_open_out(o->out, 0)) == NULL) {
		ssh_keys_free(keys, n);
		token_close(&t);
		return EX_ERR;
	}
	if (g->json)
		fprintf(fp, "[");
	for (i = 0; i < n; i++)
		ssh_print(fp, g->json, &keys[i], i);
	if (g->json)
		fprintf(fp, "%s]\n", n ? "\n" : "");
	ex = cli_close_out(fp, o->out) == 0 ? EX_OK : EX_ERR;
	if (ex == EX_OK && n == 0 && !g->json) {
		cli_err("no SSH-capable keys on the token");
		ex = EX_NOTFOUND;
	}
	ssh_keys_free(keys, n);
	token_close(&t);
	return ex;
}

int
cmd_attest(const struct globals *g, struct opts *o)
{
	struct token t;
	X509 *cert = NULL;
	int ex, fmt, r, ms = CLI_OP_MS;

	if ((ex = need_slot(o, "attest", 0)) != EX_OK ||
	    (ex = parse_format(o->format, 0, &fmt)) != EX_OK)
		return ex;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	r = piv_attest(t.piv, (uint8_t)o->slot, &cert, &ms);
	if (r == PIV_ERR_NOT_FOUND) {
		cli_err("attest: slot %02x holds no key", o->slot);
		ex = EX_NOTFOUND;
	} else if (r == PIV_ERR_CONDITIONS || r == PIV_ERR_BAD_DATA)
		ex = cli_piv_fail("attest (only keys generated on the token can "
		    "be attested)", r);
	else if (r != 0)
		ex = cli_piv_fail("attest", r);
	else
		ex = write_cert(cert, fmt, o->out);
	X509_free(cert);
	token_close(&t);
	return ex;
}
