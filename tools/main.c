/* SPDX-License-Identifier: MIT */
/*
 * tools/main.c — `usbpiv [global options] COMMAND [options]`: global
 * options, the command table, and one option parser shared by every
 * subcommand (each names the options it accepts).
 */
#include "usbpiv.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SECRETS_HELP \
"Secrets: the PIN comes from --pin-file FILE, else $USBPIV_PIN, else a\n" \
"prompt on the terminal with echo off (likewise the PUK: --puk-file,\n" \
"$USBPIV_PUK).  There is deliberately no option taking a PIN on the command\n" \
"line: it would be visible to every user in ps(1) and kept in shell history.\n"

#define MGM_HELP \
"Management key: --mgm-key-file FILE or $USBPIV_MGM_KEY (hex); without one,\n" \
"the PIN-protected key the token stores (asks for the PIN), else the factory\n" \
"default key if the token reports it is still the default.\n"

static const struct cmd cmds[] = {
	{ "list", cmd_list, 0, 0, 0, "",
	  "Lists CCID readers and the PIV tokens in them: reader name, USB path,\n"
	  "serial number and firmware version.\n" },
	{ "info", cmd_info, 0, 0, 0, "",
	  "Shows firmware, serial, PIN and PUK tries, the management key type and\n"
	  "whether it is the factory default, and per key slot the algorithm, PIN\n"
	  "and touch policies, origin, and the certificate subject and expiry.\n" },
	{ "keygen", cmd_keygen,
	  O_SLOT | O_ALG | O_PINPOL | O_TOUCHPOL | O_OUT | O_FORMAT | O_MGMFILE |
	  O_COMMENT |
	  O_PINFILE, 0, 0,
	  "--slot SLOT --alg ALG [--pin-policy P] [--touch-policy T] [-o FILE]",
	  "Generates a key pair on the token and writes its public key (PEM, or\n"
	  "--format ssh|der).  ALG: rsa1024 rsa2048 rsa3072 rsa4096 p256 p384\n"
	  "ed25519 x25519.  PIN policy: default never once always; touch policy:\n"
	  "default never always cached.\n" MGM_HELP },
	{ "import-key", cmd_import_key,
	  O_SLOT | O_IN | O_PINPOL | O_TOUCHPOL | O_MGMFILE | O_PINFILE, 0, 0,
	  "--slot SLOT [-i KEY.pem] [--pin-policy P] [--touch-policy T]",
	  "Imports a private key (PEM or DER; RSA, P-256, P-384, Ed25519,\n"
	  "X25519) into a slot.\n" MGM_HELP },
	{ "import-cert", cmd_import_cert,
	  O_SLOT | O_IN | O_COMPRESS | O_MGMFILE | O_PINFILE, 0, 0,
	  "--slot SLOT [-i CERT] [--compress]",
	  "Stores a certificate (PEM or DER) in the slot's certificate object,\n"
	  "gzip-compressed with --compress.\n" MGM_HELP },
	{ "export-cert", cmd_export_cert, O_SLOT | O_OUT | O_FORMAT, 0, 0,
	  "--slot SLOT [--format pem|der] [-o FILE]",
	  "Writes the certificate stored for a slot.\n" },
	{ "export-pubkey", cmd_export_pubkey,
	  O_SLOT | O_OUT | O_FORMAT | O_COMMENT, 0, 0,
	  "--slot SLOT [--format pem|der|ssh] [--comment TEXT] [-o FILE]",
	  "Writes a slot's public key (from the key's metadata, else from its\n"
	  "certificate).  --format ssh prints one OpenSSH line, as ssh-keygen -D\n"
	  "does.\n" },
	{ "ssh-keys", cmd_ssh_keys, O_OUT, 0, 0, "[-o FILE]",
	  "Prints every SSH-capable public key (RSA, P-256, P-384, Ed25519) on\n"
	  "the token, one OpenSSH line per key, as `ssh-keygen -D` prints them:\n"
	  "first the keys of certificates (commented with the subject), then\n"
	  "keys without one (commented \"Public key for <slot name>\").\n" },
	{ "attest", cmd_attest, O_SLOT | O_OUT | O_FORMAT, 0, 0,
	  "--slot SLOT [--format pem|der] [-o FILE]",
	  "Writes the attestation certificate for a key generated on the token\n"
	  "(signed by the slot f9 attestation key).\n" },
	{ "sign", cmd_sign,
	  O_SLOT | O_HASH | O_PADDING | O_IN | O_OUT | O_PINFILE, 0, 0,
	  "--slot SLOT [--hash sha256] [--padding pkcs1|pss] [-i FILE] [-o FILE]",
	  "Signs the input (file or stdin) with a slot's key and writes the\n"
	  "signature: RSA PKCS#1 v1.5 (default) or PSS (salt = hash length),\n"
	  "padded on the host; ECDSA as DER, verifiable with `openssl dgst\n"
	  "-verify`; Ed25519 signs the message itself (--hash is ignored).\n"
	  "HASH: sha1 sha224 sha256 sha384 sha512.\n" SECRETS_HELP },
	{ "decrypt", cmd_decrypt,
	  O_SLOT | O_PADDING | O_IN | O_OUT | O_PINFILE | O_PEER, 0, 0,
	  "--slot SLOT [--padding pkcs1|none] [-i FILE] [-o FILE] | --peer PUB.pem",
	  "RSA: decrypts the input block (PKCS#1 v1.5 padding removed unless\n"
	  "--padding none).  P-256/P-384/X25519: ECDH with the peer public key\n"
	  "--peer and writes the shared secret.\n" SECRETS_HELP },
	{ "enroll", cmd_enroll, O_SLOT | O_OUT, 0, 0,
	  "[--slot SLOT] -o WRAPPED_FILE",
	  "Disk unlock: makes a new random passphrase, wraps it to the public\n"
	  "key in SLOT (default 9d; RSA-OAEP for RSA, ECDH + HKDF + AES-GCM for\n"
	  "P-256, P-384, X25519) into WRAPPED_FILE, and prints the passphrase on\n"
	  "stdout (for `cryptsetup luksAddKey`).  Needs no PIN.\n" },
	{ "unlock", cmd_unlock, O_SLOT | O_PINFILE, 1, 1,
	  "FILE [--slot SLOT]",
	  "Unwraps FILE with the token and writes the passphrase to stdout (a\n"
	  "cryptsetup keyscript).  FILE is a file from `usbpiv enroll`, the JSON\n"
	  "of a systemd-pkcs11 LUKS2 token (`cryptsetup token export`), or a\n"
	  "LUKS2 device/image whose systemd-pkcs11 token is read with cryptsetup.\n"
	  "PIN: --pin-file/$USBPIV_PIN, else plymouth, the terminal, or\n"
	  "systemd-ask-password.  A wrong PIN exits 4.\n" },
	{ "udev-info", cmd_udev_info, 0, 1, 1, "SYSFS_DEVICE_PATH",
	  "For udev rules (IMPORT{program}): prints ID_USBPIV=1 and\n"
	  "ID_USBPIV_READER/_SERIAL/_VID/_PID/_SLOTS/_INTERFACE for a CCID\n"
	  "device, from its sysfs descriptors only (no USB transfer, no card\n"
	  "traffic); exits 1 with no output for any other device.\n" },
	{ "pin", cmd_pin, O_PINFILE | O_PUKFILE | O_NEWFILE, 1, 1,
	  "verify|change|unblock [--new-pin-file FILE]",
	  "verify: checks the PIN and reports the tries left (--json: an object\n"
	  "with \"verified\" and \"tries_left\"; a wrong PIN exits 4).\n"
	  "change: changes the PIN (old from --pin-file/$USBPIV_PIN/prompt, new\n"
	  "from --new-pin-file/$USBPIV_NEW_PIN/prompt).  unblock: sets a new PIN\n"
	  "with the PUK.  PINs are 6 to 8 characters.\n" SECRETS_HELP },
	{ "puk", cmd_puk, O_PUKFILE | O_NEWFILE, 1, 1,
	  "change [--new-puk-file FILE]",
	  "Changes the PUK (old from --puk-file/$USBPIV_PUK/prompt, new from\n"
	  "--new-puk-file/$USBPIV_NEW_PUK/prompt).\n" SECRETS_HELP },
	{ "pin-retries", cmd_pin_retries, O_PINFILE | O_MGMFILE, 2, 2,
	  "PIN_TRIES PUK_TRIES",
	  "Sets the number of PIN and PUK tries (1-255).  This also resets the\n"
	  "PIN and PUK to their factory values (123456 / 12345678).\n"
	  SECRETS_HELP MGM_HELP },
	{ "mgm-key", cmd_mgm_key,
	  O_MGMFILE | O_MGMALG | O_NEWFILE | O_GENERATE | O_PROTECT | O_TOUCH |
	  O_PINFILE, 1, 1,
	  "set [--key-alg 3des|aes128|aes192|aes256] [--generate | "
	  "--new-key-file FILE] [--protect] [--touch]",
	  "Sets a new management key: from --new-key-file/$USBPIV_NEW_MGM_KEY\n"
	  "(hex), or a random one with --generate (printed unless --protect).\n"
	  "--protect stores the new key on the token under the PIN (the\n"
	  "PIN-protected mode), so later commands only need the PIN.  --touch\n"
	  "requires a touch to use the key.\n" MGM_HELP },
	{ "reset", cmd_reset, O_FORCE, 0, 0, "[--force]",
	  "Resets the PIV application to factory state: deletes all keys and\n"
	  "certificates, PIN 123456, PUK 12345678, default management key.  The\n"
	  "token resets only once both PIN and PUK are blocked, so reset blocks\n"
	  "them first (wrong PINs and PUKs until the tries run out).  It asks for\n"
	  "confirmation on the terminal (type \"reset\"); --force skips the\n"
	  "question, and is required without a terminal.\n" },
	{ "selfsign-cert", cmd_selfsign_cert,
	  O_SLOT | O_SUBJECT | O_DAYS | O_HASH | O_OUT | O_COMPRESS | O_PINFILE |
	  O_MGMFILE, 0, 0,
	  "--slot SLOT --subject DN [--valid-days N] [--hash H] [-o FILE]",
	  "Makes a self-signed X.509 certificate for the key in SLOT, signed by\n"
	  "the token, and stores it in the slot (and writes it as PEM with -o).\n"
	  "DN: \"CN=name,O=org\" or \"/CN=name/O=org\".  Valid N days (default\n"
	  "365) from now.  RSA: PKCS#1 v1.5; HASH sha256 (default; sha384 for\n"
	  "P-384) sha384 sha512; Ed25519 signs without a hash.\n"
	  SECRETS_HELP MGM_HELP },
	{ "request-cert", cmd_request_cert,
	  O_SLOT | O_SUBJECT | O_HASH | O_OUT | O_FORMAT | O_PINFILE, 0, 0,
	  "--slot SLOT --subject DN [--hash H] [--format pem|der] [-o FILE]",
	  "Writes a PKCS#10 certificate request for the key in SLOT, signed by\n"
	  "the token (verify it with `openssl req -verify`).  DN and HASH as\n"
	  "for selfsign-cert.\n" SECRETS_HELP },
	{ "delete-cert", cmd_delete_cert, O_SLOT | O_MGMFILE | O_PINFILE, 0, 0,
	  "--slot SLOT",
	  "Deletes the certificate stored for a slot (the key stays).\n"
	  MGM_HELP },
	{ "delete-key", cmd_delete_key, O_SLOT | O_MGMFILE | O_PINFILE, 0, 0,
	  "--slot SLOT",
	  "Deletes the private key in a slot (YubiKey 5.7 and later; the\n"
	  "certificate stays: see delete-cert).\n" MGM_HELP },
	{ "move-key", cmd_move_key, O_MOVE | O_FORCE | O_MGMFILE | O_PINFILE,
	  0, 0, "--from SLOT --to SLOT [--force]",
	  "Moves the private key from one slot to another (YubiKey 5.7 and\n"
	  "later); the certificates stay where they are.  A key already in the\n"
	  "destination is replaced only with --force.  Slot f9 is neither a\n"
	  "source nor a destination.\n" MGM_HELP },
	{ "read-object", cmd_read_object, O_OUT, 1, 1, "ID [-o FILE]",
	  "Writes the raw content of a PIV data object (inside its 53 tag).\n"
	  "ID: hex (5fc102, 0x5fc10a, 7e) or a name: chuid ccc discovery\n"
	  "history printed security facial fingerprints iris bitgt\n"
	  "adminData attestation.  A missing object exits 3.\n" },
	{ "write-object", cmd_write_object, O_IN | O_MGMFILE | O_PINFILE, 1, 1,
	  "ID [-i FILE]",
	  "Stores raw bytes (the content inside the 53 tag) into a PIV data\n"
	  "object, replacing it; empty input deletes the object.  IDs as for\n"
	  "read-object.\n" MGM_HELP },
	{ "set-chuid", cmd_set_chuid, O_MGMFILE | O_PINFILE, 0, 0, "",
	  "Writes a new CHUID with a fresh random GUID (as yubico-piv-tool\n"
	  "does): FASC-N, GUID, expiry 2030-01-01, empty signature.\n"
	  "Clients that cache by GUID see a new card.\n" MGM_HELP },
	{ "set-ccc", cmd_set_ccc, O_MGMFILE | O_PINFILE, 0, 0, "",
	  "Writes a new Card Capability Container with a fresh random card ID\n"
	  "(as yubico-piv-tool does).\n" MGM_HELP },
	{ "uri", cmd_uri, O_SLOT, 0, 0, "[--slot SLOT]",
	  "Prints the pkcs11: URI of the token as usbpiv's PKCS#11 module\n"
	  "reports it (manufacturer, model, serial, token label), with\n"
	  "\";id=%NN\" for --slot: the form `systemd-cryptenroll\n"
	  "--pkcs11-token-uri=` takes and later unlocks with.\n" },
	{ "apdu", cmd_apdu, 0, 1, 64, "HEX_APDU...",
	  "Sends raw command APDUs (hex) to the token in order and prints each\n"
	  "response as hex with its status word.  Nothing is selected first.\n"
	  "Output is traced in full: do not send secrets this way.\n" },
	{ "watch", cmd_watch, O_COUNT | O_TIMEOUT, 0, 0,
	  "[--count N] [--timeout SECONDS]",
	  "Prints reader and token insert/remove events as they happen, one per\n"
	  "line (\"added PATH NAME\" / \"removed PATH NAME\"), until interrupted,\n"
	  "N events were printed, or the timeout passed.\n" },
};

static const struct option long_opts[] = {
	{ "slot", required_argument, NULL, 's' },
	{ "alg", required_argument, NULL, 'a' },
	{ "pin-policy", required_argument, NULL, 'P' },
	{ "touch-policy", required_argument, NULL, 'T' },
	{ "in", required_argument, NULL, 'i' },
	{ "out", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "hash", required_argument, NULL, 'H' },
	{ "padding", required_argument, NULL, 'p' },
	{ "pin-file", required_argument, NULL, 1000 },
	{ "puk-file", required_argument, NULL, 1001 },
	{ "mgm-key-file", required_argument, NULL, 1002 },
	{ "new-pin-file", required_argument, NULL, 1003 },
	{ "new-puk-file", required_argument, NULL, 1003 },
	{ "new-key-file", required_argument, NULL, 1003 },
	{ "comment", required_argument, NULL, 1004 },
	{ "force", no_argument, NULL, 1005 },
	{ "compress", no_argument, NULL, 1006 },
	{ "protect", no_argument, NULL, 1007 },
	{ "touch", no_argument, NULL, 1008 },
	{ "generate", no_argument, NULL, 1009 },
	{ "count", required_argument, NULL, 1010 },
	{ "timeout", required_argument, NULL, 1011 },
	{ "peer", required_argument, NULL, 1012 },
	{ "key-alg", required_argument, NULL, 1013 },
	{ "subject", required_argument, NULL, 1014 },
	{ "valid-days", required_argument, NULL, 1015 },
	{ "from", required_argument, NULL, 1016 },
	{ "to", required_argument, NULL, 1017 },
	{ "json", no_argument, NULL, 1018 },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage_global(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: usbpiv [global options] COMMAND [options]\n\n"
	    "Global options:\n"
	    "  --reader NAME|PATH  use the reader whose name contains NAME, or\n"
	    "                      whose USB path (as `list` shows) is PATH\n"
	    "  --serial N          use the token with serial number N\n"
	    "  --json              machine-readable output (list, info, ssh-keys,\n"
	    "                      apdu, pin verify, set-chuid, set-ccc, uri; watch\n"
	    "                      prints one JSON object a line); also after the\n"
	    "                      command\n"
	    "  -v, --verbose       trace APDUs (twice: CCID and USB too); secrets\n"
	    "                      are redacted (sets USBPIV_DEBUG)\n"
	    "  -h, --help          this help;  --version  the version\n\n"
	    "Commands (each has --help):\n");
	for (i = 0; i < UTIL_ARRAY_LEN(cmds); i++)
		fprintf(fp, "  %-14s %s\n", cmds[i].name, cmds[i].synopsis);
	fprintf(fp, "  %-14s %s\n", "agent", "[-D] [-a SOCKET] [-c CERT] [-t LIFE] "
	    "[--notify CMD] [--confirm SLOT] | -k");
	fprintf(fp,
	    "\nExit codes: 0 ok, 1 error, 2 usage, 3 no token / not found,\n"
	    "4 PIN/PUK wrong or blocked or management key rejected, 5 token busy,\n"
	    "6 permission denied, 7 timeout.\n");
}

static void
usage_cmd(FILE *fp, const struct cmd *c)
{
	fprintf(fp, "usage: usbpiv [global options] %s %s\n\n%s", c->name,
	    c->synopsis, c->help);
	if (c->allowed & O_SLOT)
		fprintf(fp, "SLOT: 9a (auth) 9c (sign) 9d (keymgmt) 9e (cardauth) "
		    "82-95 (retired) f9 (attest).\nOptions:\n");
	else
		fprintf(fp, "Options:\n");
	if (c->allowed & O_IN)
		fprintf(fp, "  -i, --in FILE          read FILE instead of standard "
		    "input\n");
	if (c->allowed & O_OUT)
		fprintf(fp, "  -o, --out FILE         write FILE instead of standard "
		    "output\n");
	if (c->allowed & O_PINFILE)
		fprintf(fp, "  --pin-file FILE        the PIN (first line of FILE; "
		    "else $USBPIV_PIN, else a prompt)\n");
	if (c->allowed & O_PUKFILE)
		fprintf(fp, "  --puk-file FILE        the PUK (else $USBPIV_PUK, else "
		    "a prompt)\n");
	if (c->allowed & O_MGMFILE)
		fprintf(fp, "  --mgm-key-file FILE    the management key in hex (else "
		    "$USBPIV_MGM_KEY)\n");
	if (c->allowed & O_SUBJECT)
		fprintf(fp, "  --subject DN           the subject (and issuer) name\n");
	if (c->allowed & O_DAYS)
		fprintf(fp, "  --valid-days N         validity in days (default "
		    "365)\n");
	if (c->allowed & O_MOVE)
		fprintf(fp, "  --from SLOT, --to SLOT the key's slot and its new "
		    "slot\n");
	if (c->allowed & O_MGMALG)
		fprintf(fp, "  --key-alg ALG          3des aes128 aes192 aes256 "
		    "(default: the current key's, else\n"
		    "                         aes192 from firmware 5.4, else "
		    "3des)\n");
	fprintf(fp, "  --json                 machine-readable output, where "
	    "the command has one\n");
	fprintf(fp, "  -h, --help             this help\n");
}

static int
parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *v < lo || *v > hi)
		return -1;
	return 0;
}

/* Which O_* bit each option needs. */
static unsigned
opt_bit(int c)
{
	switch (c) {
	case 's': return O_SLOT;
	case 'a': return O_ALG;
	case 'P': return O_PINPOL;
	case 'T': return O_TOUCHPOL;
	case 'i': return O_IN;
	case 'o': return O_OUT;
	case 'f': return O_FORMAT;
	case 'H': return O_HASH;
	case 'p': return O_PADDING;
	case 1000: return O_PINFILE;
	case 1001: return O_PUKFILE;
	case 1002: return O_MGMFILE;
	case 1003: return O_NEWFILE;
	case 1004: return O_COMMENT;
	case 1005: return O_FORCE;
	case 1006: return O_COMPRESS;
	case 1007: return O_PROTECT;
	case 1008: return O_TOUCH;
	case 1009: return O_GENERATE;
	case 1010: return O_COUNT;
	case 1011: return O_TIMEOUT;
	case 1012: return O_PEER;
	case 1013: return O_MGMALG;
	case 1014: return O_SUBJECT;
	case 1015: return O_DAYS;
	case 1016:
	case 1017: return O_MOVE;
	default: return 0;
	}
}

/* Returns -1 to continue, else the exit code. */
static int
parse_cmd_opts(const struct cmd *c, int argc, char **argv, struct opts *o)
{
	int ch, idx = 0, v;
	long l;
	unsigned bit;

	memset(o, 0, sizeof(*o));
	o->slot = o->alg = o->mgm_alg = -1;
	o->from = o->to = -1;
	o->count = o->timeout_s = o->valid_days = -1;
	optind = 0;	/* GNU: full re-initialisation */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "s:a:i:o:f:H:p:h", long_opts,
	    &idx)) != -1) {
		if (ch == 'h') {
			usage_cmd(stdout, c);
			return EX_OK;
		}
		if (ch == 1018) {	/* global, accepted here too */
			o->json = 1;
			continue;
		}
		bit = opt_bit(ch);
		if (ch == '?' || ch == ':' || bit == 0 || !(c->allowed & bit)) {
			cli_err("%s: unknown or misplaced option %s (see usbpiv %s "
			    "--help)", c->name, argv[optind - 1], c->name);
			return EX_USAGE;
		}
		switch (ch) {
		case 's':
			if (cli_parse_slot(optarg, &o->slot) != 0) {
				cli_err("bad slot '%s' (9a 9c 9d 9e 82-95 f9)", optarg);
				return EX_USAGE;
			}
			break;
		case 'a':
			if (cli_parse_alg(optarg, &o->alg) != 0) {
				cli_err("bad algorithm '%s' (rsa1024 rsa2048 rsa3072 "
				    "rsa4096 p256 p384 ed25519 x25519)", optarg);
				return EX_USAGE;
			}
			break;
		case 1013:
			if (cli_parse_mgm_alg(optarg, &o->mgm_alg) != 0) {
				cli_err("bad key algorithm '%s' (3des aes128 aes192 "
				    "aes256)", optarg);
				return EX_USAGE;
			}
			break;
		case 'P':
			if (cli_parse_pin_policy(optarg, &v) != 0) {
				cli_err("bad PIN policy '%s' (default never once "
				    "always)", optarg);
				return EX_USAGE;
			}
			o->pin_policy = v;
			break;
		case 'T':
			if (cli_parse_touch_policy(optarg, &v) != 0) {
				cli_err("bad touch policy '%s' (default never always "
				    "cached)", optarg);
				return EX_USAGE;
			}
			o->touch_policy = v;
			break;
		case 'i': o->in = optarg; break;
		case 'o': o->out = optarg; break;
		case 'f': o->format = optarg; break;
		case 'H': o->hash = optarg; break;
		case 'p': o->padding = optarg; break;
		case 1000: o->pin_file = optarg; break;
		case 1001: o->puk_file = optarg; break;
		case 1002: o->mgm_file = optarg; break;
		case 1003: o->new_file = optarg; break;
		case 1004: o->comment = optarg; break;
		case 1005: o->force = 1; break;
		case 1006: o->compress = 1; break;
		case 1007: o->protect = 1; break;
		case 1008: o->touch = 1; break;
		case 1009: o->generate = 1; break;
		case 1012: o->peer = optarg; break;
		case 1014: o->subject = optarg; break;
		case 1015:
			if (parse_long(optarg, 1, 36500, &l) != 0) {
				cli_err("bad --valid-days '%s' (1 to 36500)", optarg);
				return EX_USAGE;
			}
			o->valid_days = l;
			break;
		case 1016:
		case 1017:
			if (cli_parse_slot(optarg, ch == 1016 ? &o->from :
			    &o->to) != 0) {
				cli_err("bad slot '%s' (9a 9c 9d 9e 82-95)", optarg);
				return EX_USAGE;
			}
			break;
		case 1010:
		case 1011:
			if (parse_long(optarg, 0, INT_MAX / 1000, &l) != 0) {
				cli_err("bad number '%s'", optarg);
				return EX_USAGE;
			}
			if (ch == 1010)
				o->count = l;
			else
				o->timeout_s = l;
			break;
		default:
			return EX_USAGE;
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < c->min_args || o->nargs > c->max_args) {
		cli_err("%s: wrong number of arguments\nusage: usbpiv %s %s",
		    c->name, c->name, c->synopsis);
		return EX_USAGE;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option gopts[] = {
		{ "reader", required_argument, NULL, 'r' },
		{ "serial", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct globals g;
	struct opts o;
	const struct cmd *c = NULL;
	char lvl[2];
	long l;
	size_t i;
	int ch, r;

	memset(&g, 0, sizeof(g));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+r:vhj", gopts, NULL)) != -1) {
		switch (ch) {
		case 'r': g.reader = optarg; break;
		case 'S':
			if (parse_long(optarg, 0, (long)UINT32_MAX, &l) != 0) {
				cli_err("bad serial '%s'", optarg);
				return EX_USAGE;
			}
			g.serial = (uint32_t)l;
			g.has_serial = 1;
			break;
		case 'j': g.json = 1; break;
		case 'v': g.verbose++; break;
		case 'h': usage_global(stdout); return EX_OK;
		case 'V': printf("usbpiv %s\n", USBPIV_VERSION); return EX_OK;
		default:
			cli_err("unknown or incomplete option %s", argv[optind - 1]);
			usage_global(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage_global(stderr);
		return EX_USAGE;
	}
	for (i = 0; i < UTIL_ARRAY_LEN(cmds); i++)
		if (strcmp(cmds[i].name, argv[optind]) == 0)
			c = &cmds[i];
	if (c == NULL && strcmp(argv[optind], "agent") == 0)
		return cmd_agent_main(&g, argc - optind, argv + optind);
	if (c == NULL) {
		cli_err("unknown command '%s' (see usbpiv --help)", argv[optind]);
		return EX_USAGE;
	}
	if (g.verbose > 0) {
		lvl[0] = (char)('0' + (g.verbose > 2 ? 2 : g.verbose));
		lvl[1] = '\0';
		setenv("USBPIV_DEBUG", lvl, 1);
	}
	if ((r = parse_cmd_opts(c, argc - optind, argv + optind, &o)) >= 0)
		return r;
	if (o.json)
		g.json = 1;
	return c->fn(&g, &o);
}
