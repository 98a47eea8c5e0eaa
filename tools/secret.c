/* SPDX-License-Identifier: MIT */
/*
 * tools/secret.c — PIN, PUK and management key for the CLI: from a file,
 * the environment, or a prompt on /dev/tty with echo off; every copy is
 * wiped after use.  No secret is ever taken from the command line (it
 * would show in ps(1) and shell history).
 */
#include "usbpiv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

/* The factory management key of PIV tokens (YubiKey and this project's
 * virtual card alike); only used when the token says it still has it. */
static const uint8_t default_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
};

/* Terminal state to restore if a signal arrives while echo is off. */
static volatile sig_atomic_t tty_saved;
static struct termios tty_old;
static int tty_fd = -1;

static void
tty_restore_sig(int sig)
{
	if (tty_saved)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_old);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The vault: every struct secret the CLI uses (PIN, PUK, management key,
 * as typed and as bytes) lives in one page of its own, mlock'ed (never
 * written to swap), MADV_DONTDUMP (left out of core dumps) and
 * MADV_WIPEONFORK (a plymouth or systemd-ask-password child gets zeros).
 * From the first secret until exit the process is also not dumpable
 * (PR_SET_DUMPABLE 0: no core, no ptrace by other users), which covers
 * the short-lived copies on the stack and inside OpenSSL.  At exit the
 * page is wiped, whatever path got there.
 */
#define VAULT_SLOTS	32

static struct secret *vault;
static size_t vault_size;
static unsigned char vault_used[VAULT_SLOTS];

static void
vault_close(void)
{
	if (vault == NULL)
		return;
	util_wipe(vault, vault_size);
	munlock(vault, vault_size);
	munmap(vault, vault_size);
	vault = NULL;
	memset(vault_used, 0, sizeof(vault_used));
	/* nothing secret is left: dumpable again, so that exit-time
	 * tools (LeakSanitizer's ptrace) work for unprivileged users */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

static int
vault_open(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	if (vault != NULL)
		return 0;
	if (pg <= 0)
		pg = 4096;
	vault_size = (VAULT_SLOTS * sizeof(struct secret) + (size_t)pg - 1) &
	    ~((size_t)pg - 1);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		cli_err("cannot make the process non-dumpable: %s",
		    strerror(errno));
		return -1;
	}
	p = mmap(NULL, vault_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		cli_err("cannot map memory for secrets: %s", strerror(errno));
		return -1;
	}
	if (madvise(p, vault_size, MADV_DONTDUMP) != 0) {
		cli_err("cannot keep secrets out of core dumps: %s",
		    strerror(errno));
		munmap(p, vault_size);
		return -1;
	}
#ifdef MADV_WIPEONFORK
	(void)madvise(p, vault_size, MADV_WIPEONFORK);	/* Linux >= 4.14 */
#endif
	/* RLIMIT_MEMLOCK may be 0 (some containers): then unlocked, but
	 * still out of dumps and wiped */
	if (mlock(p, vault_size) != 0)
		util_trace(1, "usbpiv: secrets not locked in memory: %s",
		    strerror(errno));
	vault = p;
	atexit(vault_close);
	return 0;
}

struct secret *
secret_new(void)
{
	size_t i;

	if (vault_open() != 0)
		return NULL;
	for (i = 0; i < VAULT_SLOTS; i++)
		if (!vault_used[i]) {
			vault_used[i] = 1;
			memset(&vault[i], 0, sizeof(vault[i]));
			return &vault[i];
		}
	cli_err("too many secrets held at once");
	return NULL;
}

void
secret_free(struct secret **sp)
{
	size_t i;

	if (*sp == NULL)
		return;
	secret_clear(*sp);
	i = (size_t)(*sp - vault);
	if (vault != NULL && i < VAULT_SLOTS)
		vault_used[i] = 0;
	*sp = NULL;
}

void
secret_clear(struct secret *sec)
{
	util_wipe(sec->s, sizeof(sec->s));
	sec->len = 0;
}

/* Drops a trailing "\n" or "\r\n". */
static void
chomp(struct secret *sec)
{
	while (sec->len > 0 && (sec->s[sec->len - 1] == '\n' ||
	    sec->s[sec->len - 1] == '\r'))
		sec->s[--sec->len] = '\0';
}

static int
secret_from_file(struct secret *sec, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0, i;

	if (cli_read_file(path, 4096, &buf, &len) != 0)
		return -1;
	for (i = 0; i < len && buf[i] != '\n'; i++)
		;
	if (i > SECRET_MAX) {
		cli_err("%s: secret longer than %d characters", path, SECRET_MAX);
		util_freezero(buf, len);
		return -1;
	}
	memcpy(sec->s, buf, i);
	sec->s[i] = '\0';
	sec->len = i;
	util_freezero(buf, len);
	chomp(sec);
	return 0;
}

static int
secret_prompt(struct secret *sec, const char *prompt)
{
	struct termios t;
	struct sigaction sa, old_int, old_term;
	ssize_t got;
	char c;
	int fd, r = -1, over = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		cli_err("no terminal to ask for the %s (set it in the "
		    "environment or use a --*-file option)", prompt);
		return -1;
	}
	if (tcgetattr(fd, &tty_old) != 0) {
		cli_err("cannot set up the terminal: %s", strerror(errno));
		close(fd);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_restore_sig;
	sigemptyset(&sa.sa_mask);
	tty_fd = fd;
	tty_saved = 1;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	t = tty_old;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &t) != 0)
		goto out;
	if (write(fd, prompt, strlen(prompt)) < 0 || write(fd, ": ", 2) < 0)
		goto out;
	sec->len = 0;
	for (;;) {
		got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || c == '\n')
			break;
		if (sec->len < SECRET_MAX)
			sec->s[sec->len++] = c;
		else
			over = 1;
	}
	c = 0;
	sec->s[sec->len] = '\0';
	chomp(sec);
	if (write(fd, "\n", 1) < 0)
		goto out;
	if (over) {
		cli_err("%s longer than %d characters", prompt, SECRET_MAX);
		goto out;
	}
	r = 0;
out:
	tcsetattr(fd, TCSAFLUSH, &tty_old);
	tty_saved = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(fd);
	tty_fd = -1;
	if (r != 0)
		secret_clear(sec);
	return r;
}

int
secret_get(struct secret *sec, const char *file, const char *env,
    const char *prompt, int confirm)
{
	struct secret *again = NULL;
	const char *e;
	size_t n;
	int r;

	secret_clear(sec);
	if (file != NULL)
		r = secret_from_file(sec, file);
	else if (env != NULL && (e = getenv(env)) != NULL) {
		if ((n = strlen(e)) > SECRET_MAX) {
			cli_err("$%s longer than %d characters", env, SECRET_MAX);
			return -1;
		}
		memcpy(sec->s, e, n + 1);
		sec->len = n;
		r = 0;
	} else {
		if ((r = secret_prompt(sec, prompt)) == 0 && confirm) {
			if ((again = secret_new()) == NULL)
				r = -1;
			else if ((r = secret_prompt(again,
			    "Repeat to confirm")) == 0 &&
			    (again->len != sec->len ||
			    memcmp(again->s, sec->s, sec->len) != 0)) {
				cli_err("the two entries differ");
				r = -1;
			}
			secret_free(&again);
		}
	}
	if (r == 0 && sec->len == 0) {
		cli_err("empty %s", prompt);
		r = -1;
	}
	if (r != 0)
		secret_clear(sec);
	return r;
}

int
cli_ref_check(const struct secret *sec, const char *what)
{
	/* PIV PINs and PUKs are 6 to 8 bytes (SP 800-73-4 §2.4.3), padded
	 * with FF on the card: nothing else fits, and a NUL would be sent
	 * as part of it.  Refused here, before a try is spent. */
	if (sec->len < 6 || sec->len > 8) {
		cli_err("the %s must have 6 to 8 characters (it has %zu): "
		    "nothing sent to the token", what, sec->len);
		return -1;
	}
	if (memchr(sec->s, '\0', sec->len) != NULL) {
		cli_err("the %s contains a NUL byte: nothing sent to the "
		    "token", what);
		return -1;
	}
	return 0;
}

int
cli_verify_pin(struct token *t, const struct opts *o)
{
	struct secret *pin;
	int ex;

	if (t->pin_ok)
		return EX_OK;
	if ((pin = secret_new()) == NULL)
		return EX_ERR;
	if (secret_get(pin, o->pin_file, "USBPIV_PIN", "PIN", 0) != 0)
		ex = EX_USAGE;
	else
		ex = cli_verify_with(t, pin);
	secret_free(&pin);
	return ex;
}

int
cli_verify_with(struct token *t, struct secret *pin)
{
	int r, tries = -1, ms = CLI_OP_MS;

	if (cli_ref_check(pin, "PIN") != 0) {
		secret_clear(pin);
		return EX_USAGE;
	}
	r = piv_verify(t->piv, PIV_PIN_REF, pin->s, pin->len, &tries, &ms);
	secret_clear(pin);
	switch (r) {
	case 0:
		t->pin_ok = 1;
		return EX_OK;
	case PIV_ERR_PIN_WRONG:
		if (tries == 0)
			cli_err("wrong PIN, now blocked");
		else
			cli_err("wrong PIN, %d %s left", tries, tries == 1 ?
			    "try" : "tries");
		return EX_AUTH;
	case PIV_ERR_PIN_BLOCKED:
		cli_err("PIN blocked: unblock it with `usbpiv pin unblock` (PUK), "
		    "or `usbpiv reset` once the PUK is blocked too");
		return EX_AUTH;
	case PIV_ERR_BAD_DATA:
	case PIV_ERR_ARG:
		cli_err("PIN rejected: %s (a PIN has 6 to 8 characters)",
		    piv_strerror(r));
		return EX_AUTH;
	default:
		return cli_piv_fail("verify PIN", r);
	}
}

/* Bit in the YubiKey admin data (5FFF00, tag 80/81): the management key
 * is stored on the token under the PIN. */
#define ADMIN_FLAG_PROTECTED_MGM	0x02

int
cli_mgm_is_protected(struct token *t)
{
	uint8_t *data = NULL;
	size_t len = 0;
	struct piv_tlv outer, flags;
	int ms = CLI_OP_MS, prot = 0;

	if (piv_get_data(t->piv, PIV_OBJ_ADMIN, &data, &len, &ms) != 0)
		return 0;
	if (piv_tlv_find(data, len, 0x80, &outer) == 0 &&
	    piv_tlv_find(outer.value, outer.len, 0x81, &flags) == 0 &&
	    flags.len >= 1 && (flags.value[0] & ADMIN_FLAG_PROTECTED_MGM))
		prot = 1;
	free(data);
	return prot;
}

static int
alg_for_len(size_t len)
{
	switch (len) {
	case 16: return PIV_ALG_AES128;
	case 24: return PIV_ALG_3DES;
	case 32: return PIV_ALG_AES256;
	default: return -1;
	}
}

static int
mgm_auth(struct token *t, int alg, const uint8_t *key, size_t len,
    const char *what)
{
	int ms = CLI_OP_MS, r;

	if (alg < 0) {
		cli_err("%s: a key of %zu bytes fits no algorithm", what, len);
		return EX_USAGE;
	}
	r = piv_auth_mgm(t->piv, (uint8_t)alg, key, len, &ms);
	if (r == 0) {
		t->mgm_ok = 1;
		return EX_OK;
	}
	if (r == PIV_ERR_AUTH_REQUIRED || r == PIV_ERR_BAD_DATA ||
	    r == PIV_ERR_CONDITIONS || r == PIV_ERR_CRYPTO) {
		cli_err("%s: management key rejected (%s)", what,
		    piv_strerror(r));
		return EX_AUTH;
	}
	return cli_piv_fail(what, r);
}

/* cli_auth_mgm with key, a KEY_CAP-byte buffer in the vault. */
#define KEY_CAP	32

static int
auth_mgm(struct token *t, const struct opts *o, uint8_t *key)
{
	struct secret *hex;
	struct piv_metadata md;
	size_t len = 0;
	int ms = CLI_OP_MS, r, ex, md_ok, md_alg, md_default, alg;

	memset(&md, 0, sizeof(md));
	r = piv_metadata(t->piv, PIV_SLOT_MGM, &md, &ms);
	md_ok = r == 0;
	md_alg = md.alg;
	md_default = md.is_default;
	piv_metadata_clear(&md);
	if (r != 0 && r != PIV_ERR_NOT_SUPPORTED && r != PIV_ERR_NOT_FOUND)
		return cli_piv_fail("management key metadata", r);

	/* 1. Given explicitly. */
	if (o->mgm_file != NULL || getenv("USBPIV_MGM_KEY") != NULL) {
		if ((hex = secret_new()) == NULL)
			return EX_ERR;
		if (secret_get(hex, o->mgm_file, "USBPIV_MGM_KEY",
		    "management key", 0) != 0) {
			secret_free(&hex);
			return EX_USAGE;
		}
		r = util_unhex(hex->s, key, KEY_CAP, &len);
		secret_free(&hex);
		if (r != 0) {
			cli_err("the management key must be 16, 24 or 32 bytes "
			    "in hex");
			return EX_USAGE;
		}
		alg = md_ok ? md_alg : alg_for_len(len);
		return mgm_auth(t, alg, key, len, "management key");
	}

	/* 2. PIN-protected: stored on the token, readable after the PIN. */
	if (cli_mgm_is_protected(t)) {
		if ((ex = cli_verify_pin(t, o)) != EX_OK)
			return ex;
		ms = CLI_OP_MS;
		r = piv_read_protected_mgm(t->piv, key, KEY_CAP, &len, &ms);
		if (r != 0)
			return cli_piv_fail("PIN-protected management key", r);
		alg = md_ok ? md_alg : alg_for_len(len);
		return mgm_auth(t, alg, key, len,
		    "PIN-protected management key");
	}

	/* 3. The factory default, if the token says it still has it (or
	 * cannot say: older firmware, other PIV cards). */
	if (md_ok && !md_default) {
		cli_err("the management key is not the factory default: give it "
		    "with --mgm-key-file FILE or $USBPIV_MGM_KEY");
		return EX_AUTH;
	}
	alg = md_ok ? md_alg : PIV_ALG_3DES;
	ex = mgm_auth(t, alg, default_mgm, sizeof(default_mgm),
	    "default management key");
	if (ex == EX_AUTH && !md_ok)
		cli_err("give the management key with --mgm-key-file FILE or "
		    "$USBPIV_MGM_KEY");
	return ex;
}

int
cli_auth_mgm(struct token *t, const struct opts *o)
{
	struct secret *kb;
	int ex;

	if (t->mgm_ok)
		return EX_OK;
	/* the key's bytes live in the vault too; wiped on every path */
	if ((kb = secret_new()) == NULL)
		return EX_ERR;
	ex = auth_mgm(t, o, (uint8_t *)kb->s);
	secret_free(&kb);
	return ex;
}
