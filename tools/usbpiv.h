/* SPDX-License-Identifier: MIT */
/*
 * tools/usbpiv.h — private to the `usbpiv` command: options, exit codes,
 * the opened token, and the helpers the subcommands share.
 */
#ifndef USBPIV_TOOLS_H
#define USBPIV_TOOLS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../util/util.h"
#include "../usb/usb.h"
#include "../ccid/ccid.h"
#include "../piv/piv.h"

/* ---- exit codes (documented in tools/usbpiv.1.md) ----------------------- */
enum cli_exit {
	EX_OK = 0,
	EX_ERR = 1,		/* anything else: card, transport, crypto, I/O */
	EX_USAGE = 2,		/* bad command line */
	EX_NOTFOUND = 3,	/* no token, no such reader/serial, empty slot */
	EX_AUTH = 4,		/* PIN/PUK wrong or blocked, mgm key rejected */
	EX_BUSY = 5,		/* token in use by another program */
	EX_ACCESS = 6,		/* permission denied on the device node */
	EX_TIMEOUT = 7,		/* timed out (touch not given, token silent) */
	EX_UNKNOWN = 8,		/* a change's answer was lost: it may or may
				 * not have been made */
};

/* Default time budget of one card operation (RSA 4096 keygen is slow). */
#define CLI_OP_MS	120000
/* On-card key generation: slow cards take minutes (libccid gives the
 * eToken Fusion NFC 5). */
#define CLI_SLOW_MS	300000
/* How long to wait for another program to let go of the token. */
#define CLI_LOCK_MS	10000

#define BUSY_HINT	"in use by another program (another usbpiv user, pcscd " \
	"or gpg's scdaemon?)"

/* ---- options ------------------------------------------------------------ */
struct globals {
	const char *reader;	/* --reader NAME|PATH */
	int has_serial;
	uint32_t serial;	/* --serial N */
	int json;
	int verbose;
};

/* Bits naming the options a subcommand accepts. */
#define O_SLOT		(1u << 0)
#define O_ALG		(1u << 1)
#define O_PINPOL	(1u << 2)
#define O_TOUCHPOL	(1u << 3)
#define O_IN		(1u << 4)
#define O_OUT		(1u << 5)
#define O_FORMAT	(1u << 6)
#define O_HASH		(1u << 7)
#define O_PADDING	(1u << 8)
#define O_PINFILE	(1u << 9)
#define O_PUKFILE	(1u << 10)
#define O_MGMFILE	(1u << 11)
#define O_NEWFILE	(1u << 12)
#define O_COMMENT	(1u << 13)
#define O_FORCE		(1u << 14)
#define O_COMPRESS	(1u << 15)
#define O_PROTECT	(1u << 16)
#define O_TOUCH		(1u << 17)
#define O_GENERATE	(1u << 18)
#define O_COUNT		(1u << 19)
#define O_TIMEOUT	(1u << 20)
#define O_PEER		(1u << 21)
#define O_MGMALG	(1u << 22)
#define O_SUBJECT	(1u << 23)	/* --subject DN */
#define O_DAYS		(1u << 24)	/* --valid-days N */
#define O_MOVE		(1u << 25)	/* --from SLOT --to SLOT */

struct opts {
	int slot;		/* -1 unset */
	int alg;		/* -1 unset */
	int pin_policy;		/* PIV_PINPOLICY_* */
	int touch_policy;
	const char *in;		/* NULL or "-" = stdin */
	const char *out;	/* NULL or "-" = stdout */
	const char *format;
	const char *hash;
	const char *padding;
	const char *pin_file;
	const char *puk_file;
	const char *mgm_file;
	const char *new_file;
	const char *comment;
	const char *peer;
	int mgm_alg;		/* -1 unset */
	int force, compress, protect, touch, generate;
	long count;		/* -1 unset */
	long timeout_s;		/* -1 unset */
	const char *subject;	/* --subject */
	long valid_days;	/* -1 unset */
	int from, to;		/* move-key slots, -1 unset */
	int json;		/* --json given after the command */
	char **args;		/* positional arguments after the options */
	int nargs;
};

struct cmd {
	const char *name;
	int (*fn)(const struct globals *g, struct opts *o);
	unsigned allowed;
	int min_args, max_args;
	const char *synopsis;	/* after "usbpiv NAME " */
	const char *help;	/* body of --help */
};

/* ---- the opened token --------------------------------------------------- */
struct token {
	usb_ctx_t *ctx;
	piv_reader_t *pr;
	ccid_reader_t *rdr;	/* piv_reader_ccid(pr), for raw APDUs */
	size_t slot;
	piv_card_t *piv;
	int in_tx;		/* piv_begin done */
	int pin_ok;		/* PIN verified in this run */
	int mgm_ok;		/* management key authenticated */
	struct usb_dev_info info;
	struct piv_identity id;
	int has_id;
};

/* Opens the first token matching --reader/--serial and begins a
 * transaction.  Returns an exit code; prints the reason on failure. */
int token_open(const struct globals *g, struct token *t);
/* Opens the reader only (no PIV), for `apdu`. */
int token_open_raw(const struct globals *g, struct token *t);
void token_close(struct token *t);
/* The cause of the open token's last failure (piv_last_cause), or "". */
const char *token_cause(void);
/* "Manufacturer Product" of a reader, or "VID:PID". */
void token_reader_name(const struct usb_dev_info *i, char *buf, size_t cap);
int token_reader_matches(const char *want, const struct usb_dev_info *i);

/* ---- secrets (tools/secret.c) ------------------------------------------- */
#define SECRET_MAX	64
struct secret {
	char s[SECRET_MAX + 1];
	size_t len;
};
/* A secret's storage in the vault (locked, not dumped, wiped; see
 * secret.c), zeroed; NULL (with a message) when there is none.
 * secret_free wipes it and sets *sp to NULL; NULL is fine. */
struct secret *secret_new(void);
void secret_free(struct secret **sp);
/* PIN: --pin-file, USBPIV_PIN, else a prompt on /dev/tty (echo off). */
int secret_get(struct secret *sec, const char *file, const char *env,
    const char *prompt, int confirm);
void secret_clear(struct secret *sec);
/* 0 when sec can be a PIV PIN or PUK (6 to 8 bytes, no NUL), else -1
 * with a message naming what. */
int cli_ref_check(const struct secret *sec, const char *what);
/* Verifies the PIN, with its source from o.  Prints tries left. */
int cli_verify_pin(struct token *t, const struct opts *o);
/* VERIFY with a PIN already read (wiped here): an exit code, tries left
 * or the way out printed on failure. */
int cli_verify_with(struct token *t, struct secret *pin);
/*
 * Authenticates with the management key: --mgm-key-file / USBPIV_MGM_KEY,
 * else the PIN-protected key the card stores, else the factory default
 * when the card says it is still the default (or cannot say).
 */
int cli_auth_mgm(struct token *t, const struct opts *o);
/* The PIN as `unlock` asks for it (tools/cmd_enroll.c): --pin-file /
 * $USBPIV_PIN, else plymouth when it runs, else the terminal, else
 * systemd-ask-password. */
int unlock_pin(const struct opts *o, const char *prompt, struct secret *pin);
/* Does the admin data say the management key is stored under the PIN? */
int cli_mgm_is_protected(struct token *t);

/* ---- helpers (tools/util_cli.c) ------------------------------------------ */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "usbpiv: what: <piv_strerror>" and maps to an exit code. */
int cli_piv_fail(const char *what, int r);
int cli_exit_for_piv(int r);
/* After a state-changing call failed with r: 1 when the answer to its
 * command INS was lost after the command reached the token (the change
 * may or may not have been made), else 0. */
int cli_lost(const struct token *t, int r, uint8_t ins);
/* Says so ("WHAT: <error> after the command reached the token: the
 * outcome is unknown", then "MAY; HOW") and returns EX_UNKNOWN. */
int cli_unknown(const char *what, int r, const char *may, const char *how);
/* Looking after a lost answer, without risk: whether object obj now holds
 * want (len 0: absent or empty), whether key slot `slot` now holds the
 * public key of want (NULL: empty).  1 yes, 0 no, -1 cannot tell. */
int cli_object_is(struct token *t, uint32_t obj, const uint8_t *want,
    size_t len);
int cli_slot_holds(struct token *t, int slot, const EVP_PKEY *want);
/* What was seen (as above) after a lost answer: 1 -> a warning that the
 * change was made and EX_OK; 0 -> an error that it was not, EX_ERR; -1 ->
 * cli_unknown(what, r, may, how). */
int cli_lost_seen(const char *what, int r, int seen, const char *may,
    const char *how);
/* cli_object_is for the certificate object of slot holding cert. */
int cli_cert_is(struct token *t, int slot, const X509 *cert, int compress);
int cli_exit_for_ccid(int r);
int cli_exit_for_usb(int r);
int cli_usb_ctx_new(usb_ctx_t **ctx);

int cli_parse_slot(const char *s, int *slot);
const char *cli_slot_name(int slot);
int cli_parse_alg(const char *s, int *alg);
int cli_parse_mgm_alg(const char *s, int *alg);
const char *cli_alg_name(int alg);
int cli_parse_pin_policy(const char *s, int *v);
int cli_parse_touch_policy(const char *s, int *v);
const char *cli_pin_policy_name(int v);
const char *cli_touch_policy_name(int v);
const char *cli_origin_name(int v);
int cli_alg_is_rsa(int alg);
int cli_alg_is_ec(int alg);
/* Bytes of an RSA key of PIV algorithm alg; 0 for any other. */
int cli_rsa_bytes(int alg);
/* Key-slot list in the order info and ssh-keys walk it. */
extern const uint8_t cli_key_slots[];
extern const size_t cli_key_slots_n;

/* Reads a whole file ("-" or NULL = stdin), at most max bytes. */
int cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);
/* Opens the output ("-" or NULL = stdout); cli_close_out checks errors. */
FILE *cli_open_out(const char *path, int binary);
int cli_close_out(FILE *fp, const char *path);

/* Certificates and keys. */
int cli_load_cert(const char *path, X509 **cert);
int cli_load_privkey(const char *path, EVP_PKEY **key);
int cli_load_pubkey(const char *path, EVP_PKEY **key);
/* The slot's public key: METADATA, else the certificate's.  *alg set. */
int cli_slot_pubkey(struct token *t, int slot, EVP_PKEY **pub, int *alg);
/* The same for a command WHAT: an exit code, the error already printed
 * ("WHAT: slot 9a holds no key" -> EX_NOTFOUND). */
int cli_slot_key(struct token *t, const char *what, int slot, EVP_PKEY **pub,
    int *alg);
int cli_alg_of_pkey(const EVP_PKEY *pk, int *alg);
/* "CN=..., O=..." one line; returns buf. */
const char *cli_name_line(const X509_NAME *n, char *buf, size_t cap);
/* "2027-01-31 12:00:00 UTC" */
const char *cli_time_line(const ASN1_TIME *t, char *buf, size_t cap);

/* SSH (tools/sshkey.c): "ssh-ed25519 AAAA..." without comment/newline.
 * *line is malloc'd.  Returns 0, or -1 if the key has no SSH form. */
int ssh_pubkey_line(const EVP_PKEY *pk, char **line);
/* The label ssh-keygen -D shows for a slot (the PKCS#11 module's). */
const char *ssh_slot_comment(int slot);
/* The key blob (RFC 4253 §6.6) of the line above; *blob malloc'd;
 * *typename (may be NULL) the static key type name. */
int ssh_pubkey_blob(const EVP_PKEY *pk, uint8_t **blob, size_t *bloblen,
    const char **typename);
/* The token's SSH-capable keys, in the order and with the comments
 * `usbpiv ssh-keys` prints them (duplicates dropped).  *keys malloc'd
 * (ssh_keys_free); a PIV_ERR_* when the token failed as a whole. */
#define SSH_KEYS_MAX	64
struct ssh_key_ent {
	int slot;
	int alg;
	EVP_PKEY *pub;
	char *line;		/* "TYPE BASE64", no comment */
	char comment[48];
};
int ssh_token_keys(struct token *t, struct ssh_key_ent **keys, size_t *n);
void ssh_keys_free(struct ssh_key_ent *keys, size_t n);

/* JSON (tools/util_cli.c): writes a quoted, escaped string. */
void json_str(FILE *fp, const char *s);

/* ---- subcommands ----------------------------------------------------- */
int cmd_list(const struct globals *, struct opts *);
int cmd_info(const struct globals *, struct opts *);
int cmd_keygen(const struct globals *, struct opts *);
int cmd_import_key(const struct globals *, struct opts *);
int cmd_import_cert(const struct globals *, struct opts *);
int cmd_export_cert(const struct globals *, struct opts *);
int cmd_export_pubkey(const struct globals *, struct opts *);
int cmd_ssh_keys(const struct globals *, struct opts *);
int cmd_attest(const struct globals *, struct opts *);
int cmd_sign(const struct globals *, struct opts *);
int cmd_decrypt(const struct globals *, struct opts *);
int cmd_pin(const struct globals *, struct opts *);
int cmd_puk(const struct globals *, struct opts *);
int cmd_pin_retries(const struct globals *, struct opts *);
int cmd_mgm_key(const struct globals *, struct opts *);
int cmd_reset(const struct globals *, struct opts *);
int cmd_apdu(const struct globals *, struct opts *);
int cmd_watch(const struct globals *, struct opts *);
int cmd_enroll(const struct globals *, struct opts *);
int cmd_unlock(const struct globals *, struct opts *);
int cmd_udev_info(const struct globals *, struct opts *);
/* tools/cmd_cert.c */
int cmd_selfsign_cert(const struct globals *, struct opts *);
int cmd_request_cert(const struct globals *, struct opts *);
int cmd_delete_cert(const struct globals *, struct opts *);
/* tools/cmd_object.c */
int cmd_delete_key(const struct globals *, struct opts *);
int cmd_move_key(const struct globals *, struct opts *);
int cmd_read_object(const struct globals *, struct opts *);
int cmd_write_object(const struct globals *, struct opts *);
int cmd_set_chuid(const struct globals *, struct opts *);
int cmd_set_ccc(const struct globals *, struct opts *);
int cmd_uri(const struct globals *, struct opts *);
/* `agent` parses its own options (ssh-agent's): argv[0] is "agent". */
int cmd_agent_main(const struct globals *g, int argc, char **argv);

#endif
