/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_admin.c — PIN, PUK, retries, management key and reset.
 */
#include "usbpiv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

/* The answer to a failed PIN/PUK operation. */
static int
ref_fail(const char *what, int r, int tries)
{
	if (r == PIV_ERR_PIN_WRONG) {
		if (tries == 0)
			cli_err("wrong %s, now blocked", what);
		else
			cli_err("wrong %s, %d %s left", what, tries,
			    tries == 1 ? "try" : "tries");
		return EX_AUTH;
	}
	if (r == PIV_ERR_PIN_BLOCKED) {
		cli_err("%s blocked%s", what, strcmp(what, "PIN") == 0 ?
		    ": unblock it with `usbpiv pin unblock`" :
		    ": once the PIN is blocked too, only `usbpiv reset` helps");
		return EX_AUTH;
	}
	return cli_piv_fail(what, r);
}

/* Old secret, new secret (confirmed when typed), then the operation. */
static int
change(const struct globals *g, const struct opts *o, int which)
{
	struct token t;
	struct secret *old = NULL, *nw = NULL;
	const char *oldname, *newname;
	int ex, r = 0, tries = -1, ms = CLI_OP_MS;

	/* which: 0 pin change, 1 pin unblock, 2 puk change */
	oldname = which == 0 ? "PIN" : "PUK";
	newname = which == 2 ? "PUK" : "PIN";
	if ((old = secret_new()) == NULL || (nw = secret_new()) == NULL) {
		ex = EX_ERR;
		goto out0;
	}
	if (which == 0)
		r = secret_get(old, o->pin_file, "USBPIV_PIN", "PIN", 0);
	else
		r = secret_get(old, o->puk_file, "USBPIV_PUK", "PUK", 0);
	if (r != 0) {
		ex = EX_USAGE;
		goto out0;
	}
	r = which == 2 ?
	    secret_get(nw, o->new_file, "USBPIV_NEW_PUK", "New PUK", 1) :
	    secret_get(nw, o->new_file, "USBPIV_NEW_PIN", "New PIN", 1);
	if (r != 0 || cli_ref_check(old, oldname) != 0 ||
	    cli_ref_check(nw, which == 2 ? "new PUK" : "new PIN") != 0) {
		ex = EX_USAGE;
		goto out0;
	}
	if ((ex = token_open(g, &t)) != EX_OK)
		goto out0;
	if (which == 1)
		r = piv_unblock_pin(t.piv, old->s, old->len, nw->s, nw->len,
		    &tries, &ms);
	else
		r = piv_change_ref(t.piv, which == 0 ? PIV_PIN_REF : PIV_PUK_REF,
		    old->s, old->len, nw->s, nw->len, &tries, &ms);
	if (r != 0 && cli_lost(&t, r, which == 1 ? 0x2c : 0x24))
		ex = cli_unknown(which == 0 ? "pin change" : which == 1 ?
		    "pin unblock" : "puk change", r, which == 0 ?
		    "the PIN may or may not have been changed" : which == 1 ?
		    "the PIN may or may not have been unblocked and set (and a "
		    "PUK try spent)" : "the PUK may or may not have been changed",
		    which == 2 ? "`usbpiv info` shows the PUK tries left without "
		    "spending one; the PUK is checked only by using it (`usbpiv "
		    "puk change` with the new one as the current PUK: a refusal "
		    "costs a try, the old one is then still set)" :
		    "`usbpiv info` shows the PIN tries left without spending one; "
		    "then `usbpiv pin verify` with the new PIN (a refusal costs a "
		    "try, and means the old PIN is still set)");
	else if (r != 0)
		ex = ref_fail(oldname, r, tries);
	else {
		fprintf(stderr, "usbpiv: %s %s\n", newname,
		    which == 1 ? "unblocked and set" : "changed");
		/* a changed PIN leaves the card logged in: not past us */
		if (which != 2)
			t.pin_ok = 1;
	}
	token_close(&t);
out0:
	secret_free(&old);
	secret_free(&nw);
	return ex;
}

/* `pin verify`: the PIN checked, the tries left reported. */
static int
pin_verify(const struct globals *g, const struct opts *o)
{
	struct token t;
	struct secret *pin;
	struct piv_metadata md;
	int ex, r, tries = -1, verified = 0, ms = CLI_OP_MS;

	if ((pin = secret_new()) == NULL)
		return EX_ERR;
	/* a PIN the card cannot hold is refused here, costing no try */
	if (secret_get(pin, o->pin_file, "USBPIV_PIN", "PIN", 0) != 0 ||
	    cli_ref_check(pin, "PIN") != 0) {
		secret_free(&pin);
		return EX_USAGE;
	}
	if ((ex = token_open(g, &t)) != EX_OK) {
		secret_free(&pin);
		return ex;
	}
	r = piv_verify(t.piv, PIV_PIN_REF, pin->s, pin->len, &tries, &ms);
	secret_free(&pin);
	if (r == 0) {
		verified = 1;
		t.pin_ok = 1;	/* logged out again at token_close */
		/* the tries left after a right PIN: all of them */
		memset(&md, 0, sizeof(md));
		ms = CLI_OP_MS;
		if (piv_metadata(t.piv, PIV_PIN_REF, &md, &ms) == 0)
			tries = md.retries_left;
		piv_metadata_clear(&md);
	} else if (r == PIV_ERR_PIN_BLOCKED)
		tries = 0;
	else if (r != PIV_ERR_PIN_WRONG && r != PIV_ERR_BAD_DATA) {
		ex = cli_piv_fail("pin verify", r);
		goto out;
	}
	if (g->json) {
		printf("{\"verified\": %s, \"tries_left\": ",
		    verified ? "true" : "false");
		if (tries >= 0)
			printf("%d", tries);
		else
			printf("null");
		printf(", \"blocked\": %s}\n", !verified && tries == 0 ?
		    "true" : "false");
	}
	if (verified) {
		if (!g->json) {
			if (tries >= 0)
				printf("PIN verified, %d %s left\n", tries,
				    tries == 1 ? "try" : "tries");
			else
				printf("PIN verified\n");
		}
		ex = EX_OK;
	} else if (r == PIV_ERR_BAD_DATA) {
		cli_err("PIN rejected: a PIN has 6 to 8 characters");
		ex = EX_AUTH;
	} else
		ex = ref_fail("PIN", r, tries);
out:
	token_close(&t);
	return ex;
}

int
cmd_pin(const struct globals *g, struct opts *o)
{
	if (strcmp(o->args[0], "verify") == 0)
		return pin_verify(g, o);
	if (strcmp(o->args[0], "change") == 0)
		return change(g, o, 0);
	if (strcmp(o->args[0], "unblock") == 0)
		return change(g, o, 1);
	cli_err("pin: unknown action '%s' (verify change unblock)", o->args[0]);
	return EX_USAGE;
}

int
cmd_puk(const struct globals *g, struct opts *o)
{
	if (strcmp(o->args[0], "change") == 0)
		return change(g, o, 2);
	cli_err("puk: unknown action '%s' (change)", o->args[0]);
	return EX_USAGE;
}

static int
parse_tries(const char *s, uint8_t *v)
{
	char *end;
	long l = strtol(s, &end, 10);

	if (end == s || *end != '\0' || l < 1 || l > 255)
		return -1;
	*v = (uint8_t)l;
	return 0;
}

int
cmd_pin_retries(const struct globals *g, struct opts *o)
{
	struct token t;
	uint8_t pin, puk;
	int ex, r, ms = CLI_OP_MS;

	if (parse_tries(o->args[0], &pin) != 0 ||
	    parse_tries(o->args[1], &puk) != 0) {
		cli_err("pin-retries: tries are numbers from 1 to 255");
		return EX_USAGE;
	}
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK ||
	    (ex = cli_verify_pin(&t, o)) != EX_OK)
		goto out;
	if ((r = piv_set_pin_retries(t.piv, pin, puk, &ms)) != 0 &&
	    cli_lost(&t, r, 0xfa))
		ex = cli_unknown("pin-retries", r, "the tries may or may not "
		    "have been set (if they were, the PIN and PUK are back to "
		    "123456 and 12345678)", "`usbpiv info` shows the PIN and PUK "
		    "tries: the new numbers mean they were set");
	else if (r != 0)
		ex = cli_piv_fail("pin-retries", r);
	else
		fprintf(stderr, "usbpiv: PIN tries %u, PUK tries %u; PIN and PUK "
		    "are back to 123456 and 12345678\n", pin, puk);
out:
	token_close(&t);
	return ex;
}

static size_t
mgm_len(int alg)
{
	switch (alg) {
	case PIV_ALG_AES128: return 16;
	case PIV_ALG_AES256: return 32;
	default: return 24;	/* 3DES, AES192 */
	}
}

int
cmd_mgm_key(const struct globals *g, struct opts *o)
{
	struct token t;
	struct secret *hex = NULL, *kb = NULL;
	struct piv_metadata md;
	uint8_t *key;
	char shown[65];
	size_t len = 0, want;
	int ex, r, alg, ms = CLI_OP_MS;

	if (strcmp(o->args[0], "set") != 0) {
		cli_err("mgm-key: unknown action '%s' (set)", o->args[0]);
		return EX_USAGE;
	}
	if (o->generate && o->new_file != NULL) {
		cli_err("mgm-key set: --generate and --new-key-file exclude "
		    "each other");
		return EX_USAGE;
	}
	/* the new key's bytes live in the vault */
	if ((kb = secret_new()) == NULL)
		return EX_ERR;
	key = (uint8_t *)kb->s;
	if ((ex = token_open(g, &t)) != EX_OK) {
		secret_free(&kb);
		return ex;
	}
	alg = o->mgm_alg;
	if (alg < 0) {
		/* The algorithm of the key the token has now (METADATA of 9B,
		 * firmware 5.3+), so a token that takes only 3DES keeps 3DES;
		 * without metadata, AES-192 from firmware 5.4 on, else 3DES. */
		memset(&md, 0, sizeof(md));
		if (piv_metadata(t.piv, PIV_SLOT_MGM, &md, &ms) == 0 &&
		    (md.alg == PIV_ALG_3DES || md.alg == PIV_ALG_AES128 ||
		    md.alg == PIV_ALG_AES192 || md.alg == PIV_ALG_AES256))
			alg = md.alg;
		else
			alg = t.has_id && t.id.has_version &&
			    (t.id.version[0] > 5 || (t.id.version[0] == 5 &&
			    t.id.version[1] >= 4)) ? PIV_ALG_AES192 :
			    PIV_ALG_3DES;
		piv_metadata_clear(&md);
	}
	want = mgm_len(alg);
	ex = EX_USAGE;
	if (o->generate) {
		if (RAND_bytes(key, (int)want) != 1) {
			cli_err("no randomness");
			ex = EX_ERR;
			goto out;
		}
		len = want;
	} else {
		if ((hex = secret_new()) == NULL) {
			ex = EX_ERR;
			goto out;
		}
		if (secret_get(hex, o->new_file, "USBPIV_NEW_MGM_KEY",
		    "New management key (hex)", 1) != 0)
			goto out;
		r = util_unhex(hex->s, key, 32, &len);
		secret_free(&hex);
		if (r != 0 || len != want) {
			cli_err("mgm-key set: a %s key is %zu bytes (%zu hex "
			    "digits)", cli_alg_name(alg), want, 2 * want);
			goto out;
		}
	}
	/* Everything that can fail for want of a secret comes before the
	 * key changes. */
	if ((ex = cli_auth_mgm(&t, o)) != EX_OK)
		goto out;
	if (o->protect && (ex = cli_verify_pin(&t, o)) != EX_OK)
		goto out;
	/* --protect: make sure the key can be stored before changing it. */
	ms = CLI_OP_MS;
	if (o->protect && (r = piv_check_protected_mgm(t.piv, &ms)) != 0) {
		ex = cli_piv_fail("mgm-key set --protect: the token cannot store "
		    "a PIN-protected key (its admin data or printed-information "
		    "object); the management key was not changed", r);
		goto out;
	}
	if (!o->protect && cli_mgm_is_protected(&t))
		cli_warn("the token keeps the old PIN-protected key, which will "
		    "no longer work: use --protect to replace it too");
	ms = CLI_OP_MS;
	if ((r = piv_set_mgm(t.piv, (uint8_t)alg, key, len, o->touch,
	    &ms)) != 0 && cli_lost(&t, r, 0xff)) {
		/* no tries are spent on a management key: ask the token */
		ms = CLI_OP_MS;
		if (piv_auth_mgm(t.piv, (uint8_t)alg, key, len, &ms) == 0) {
			cli_warn("mgm-key set: the answer was lost, but the "
			    "token takes the new key: it is set");
			r = 0;
		} else {
			ex = cli_unknown("mgm-key set", r, "the management key "
			    "may or may not have been changed", "try a command "
			    "that needs it (e.g. `usbpiv set-chuid`) with the new "
			    "key, then with the old one");
			if (o->generate || o->protect) {
				util_hex(key, len, shown);
				cli_err("the new key, if it was set: %s", shown);
				util_wipe(shown, sizeof(shown));
			}
			goto out;
		}
	}
	if (r != 0) {
		ex = cli_piv_fail("mgm-key set", r);
		if (r == PIV_ERR_BAD_DATA)
			cli_err("the token may not take %s management keys: "
			    "choose another with --key-alg 3des|aes128|aes192|"
			    "aes256 (3des works on every YubiKey)",
			    cli_alg_name(alg));
		goto out;
	}
	if (o->protect) {
		ms = CLI_OP_MS;
		if ((r = piv_write_protected_mgm(t.piv, key, len, &ms)) != 0) {
			int lost = cli_lost(&t, r, 0xdb);

			ex = lost ? cli_unknown("storing the PIN-protected key",
			    r, "the new management key is set, and may or may "
			    "not be stored under the PIN", "`usbpiv info` says "
			    "whether it is (pin_protected)") :
			    cli_piv_fail("storing the PIN-protected key", r);
			util_hex(key, len, shown);
			cli_err("the new key is %s stored; write it down: %s",
			    lost ? "maybe not" : "NOT", shown);
			util_wipe(shown, sizeof(shown));
			goto out;
		}
		fprintf(stderr, "usbpiv: new %s management key set and stored "
		    "under the PIN\n", cli_alg_name(alg));
	} else {
		if (o->generate) {
			util_hex(key, len, shown);
			printf("%s\n", shown);
			util_wipe(shown, sizeof(shown));
		}
		fprintf(stderr, "usbpiv: new %s management key set\n",
		    cli_alg_name(alg));
	}
	ex = EX_OK;
out:
	secret_free(&hex);
	secret_free(&kb);
	token_close(&t);
	return ex;
}

/* Asks on the terminal; 0 when the user typed "reset". */
static int
confirm_reset(void)
{
	char line[32];
	FILE *tty;
	int ok = 0;

	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+")) == NULL) {
		cli_err("reset deletes every key and certificate on the token; "
		    "without a terminal to ask on, add --force to do it");
		return -1;
	}
	fprintf(tty, "Reset the PIV application?  This blocks the PIN and the "
	    "PUK and deletes every\nkey and certificate on the token.  Type "
	    "\"reset\" to go on: ");
	fflush(tty);
	if (fgets(line, sizeof(line), tty) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		ok = strcmp(line, "reset") == 0;
	}
	fclose(tty);
	if (!ok) {
		cli_err("reset: not confirmed, nothing changed");
		return -1;
	}
	return 0;
}

int
cmd_reset(const struct globals *g, struct opts *o)
{
	struct token t;
	int ex, r, ms = CLI_OP_MS;

	if (!o->force && confirm_reset() != 0)
		return EX_USAGE;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	/* The card resets only with both blocked: block them, as ykman. */
	if ((r = piv_block_ref(t.piv, PIV_PIN_REF, &ms)) != 0) {
		ex = cli_piv_fail(r == PIV_ERR_CONDITIONS ? "reset: blocking "
		    "the PIN (the card took the blocking value)" :
		    "reset: blocking the PIN", r);
		goto out;
	}
	ms = CLI_OP_MS;
	if ((r = piv_block_ref(t.piv, PIV_PUK_REF, &ms)) != 0) {
		ex = cli_piv_fail("reset: blocking the PUK", r);
		goto out;
	}
	ms = CLI_OP_MS;
	r = piv_reset(t.piv, &ms);
	if (r == PIV_ERR_CONDITIONS || r == PIV_ERR_AUTH_REQUIRED) {
		cli_err("reset refused although the PIN and the PUK are blocked "
		    "(%s)", piv_strerror(r));
		ex = EX_AUTH;
	} else if (r != 0 && cli_lost(&t, r, 0xfb))
		ex = cli_unknown("reset", r, "the PIV application may or may not "
		    "have been reset", "`usbpiv info`: after a reset the PIN "
		    "has all its tries and the key slots are empty; if not, run "
		    "`usbpiv reset` again (the PIN and PUK are blocked already)");
	else if (r != 0)
		ex = cli_piv_fail("reset", r);
	else
		fprintf(stderr, "usbpiv: PIV application reset: PIN 123456, PUK "
		    "12345678, default management key\n");
out:
	token_close(&t);
	return ex;
}
