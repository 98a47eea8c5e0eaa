/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_agent.c — `usbpiv agent`: an SSH agent (draft-miller-ssh-agent)
 * on a UNIX socket that signs with the token's keys through the piv/
 * layer, with no PKCS#11 and no daemon underneath.
 *
 * One token connection, opened on the first request and kept, but the
 * transaction (lock file + interface claim) is held only while a request
 * is served, so other usbpiv processes and the PKCS#11 module share the
 * token while the agent runs.  A request that finds the token gone (or a
 * token with another serial) drops the connection and the PIN.
 *
 * The PIN lives in one mlock'ed page excluded from core dumps, and is
 * wiped on exit, on `ssh-add -x`, on removal, on a wrong-PIN answer, when
 * -t LIFE runs out, and before being re-sent to a card that reports fewer
 * than its full tries.  It comes from SSH_ASKPASS, the agent's terminal,
 * or `ssh-add -X` (the protocol's UNLOCK carries it).  PIN-policy
 * "always" keys ask for it before every signature and never keep it.
 */
#define _GNU_SOURCE	/* accept4, pipe2, ppoll, struct ucred */
#include "usbpiv.h"
#include "agent_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define AGENT_CLIENTS	16
#define AGENT_SIG_MAX	1024
/* PBKDF2 of the lock passphrase (ssh-agent keeps a bcrypt hash). */
#define LOCK_ITER	10000

extern char **environ;

/* Secrets: one page, mlock'ed, MADV_DONTDUMP, wiped before unmapping. */
struct agent_secrets {
	char pin[SECRET_MAX + 1];
	size_t pinlen;
	int has_pin;
	int locked;
	uint8_t lock_salt[16];
	uint8_t lock_hash[32];
};

struct client {
	int fd;
	uint8_t hdr[4];
	size_t hdrlen;
	uint8_t *msg;
	size_t msglen, got;
};

/* -c FILE: an OpenSSH certificate offered beside its key. */
#define AGENT_CERTS	8
struct agent_cert {
	uint8_t *blob;
	size_t len;
	struct agent_buf key;	/* the plain key blob it certifies */
	char comment[128];
};

struct agent {
	struct globals g;
	struct agent_cert certs[AGENT_CERTS];
	size_t ncerts;
	struct token tok;
	int tok_open;
	struct agent_secrets *sec;
	size_t sec_size;
	/* whose PIN is kept: the token's serial or GUID */
	struct piv_identity pin_id;
	int pin_has_id;
	int pin_full;		/* tries the card reported after it took the PIN */
	uint64_t pin_expire;	/* util_now_ms() deadline, 0 = none */
	long life_s;
	const char *notify;
	uint8_t confirm[256];
	int listen_fd;
	char sockpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char sockdir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client cl[AGENT_CLIENTS];
};

static volatile sig_atomic_t agent_stop;

static void
on_signal(int sig)
{
	(void)sig;
	agent_stop = 1;
}

static void alog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
alog(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "usbpiv agent: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* ---- secrets ------------------------------------------------------------- */

static int
secrets_new(struct agent *a)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p;

	a->sec_size = pg > 0 && (size_t)pg >= sizeof(struct agent_secrets) ?
	    (size_t)pg : sizeof(struct agent_secrets);
	p = mmap(NULL, a->sec_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	if (mlock(p, a->sec_size) != 0)
		alog("warning: cannot lock the PIN's memory: %s",
		    strerror(errno));
#ifdef MADV_DONTDUMP
	(void)madvise(p, a->sec_size, MADV_DONTDUMP);
#endif
	memset(p, 0, a->sec_size);
	a->sec = p;
	return 0;
}

static void
secrets_free(struct agent *a)
{
	if (a->sec == NULL)
		return;
	util_wipe(a->sec, a->sec_size);
	munlock(a->sec, a->sec_size);
	munmap(a->sec, a->sec_size);
	a->sec = NULL;
}

static void
forget_pin(struct agent *a, const char *why)
{
	if (a->sec->has_pin && why != NULL)
		alog("PIN forgotten (%s)", why);
	util_wipe(a->sec->pin, sizeof(a->sec->pin));
	a->sec->pinlen = 0;
	a->sec->has_pin = 0;
	a->pin_has_id = 0;
	a->pin_full = -1;
	a->pin_expire = 0;
}

/* Keeps a PIN the card just accepted; tries = its count right after. */
static void
keep_pin(struct agent *a, const struct secret *pin, int tries)
{
	memcpy(a->sec->pin, pin->s, pin->len);
	a->sec->pin[pin->len] = '\0';
	a->sec->pinlen = pin->len;
	a->sec->has_pin = 1;
	a->pin_full = tries;
	a->pin_has_id = a->tok.has_id;
	a->pin_id = a->tok.id;
	a->pin_expire = a->life_s > 0 ?
	    util_now_ms() + (uint64_t)a->life_s * 1000u : 0;
}

/* Is the open token the one whose PIN is kept? */
static int
same_token(const struct agent *a)
{
	const struct piv_identity *x = &a->pin_id, *y = &a->tok.id;

	if (!a->pin_has_id || !a->tok.has_id)
		return 0;
	if (x->has_serial || y->has_serial)
		return x->has_serial && y->has_serial && x->serial == y->serial;
	if (x->has_guid || y->has_guid)
		return x->has_guid && y->has_guid &&
		    memcmp(x->guid, y->guid, sizeof(x->guid)) == 0;
	return 0;
}

/* ---- the token ----------------------------------------------------------- */

static int
is_gone(int r)
{
	return r == PIV_ERR_REMOVED || r == PIV_ERR_TRANSPORT ||
	    r == PIV_ERR_NO_APP;
}

static void
drop_token(struct agent *a, const char *why)
{
	if (a->tok_open)
		token_close(&a->tok);
	a->tok_open = 0;
	forget_pin(a, why);
}

/* Opens the token if needed and begins a transaction: 0 or PIV_ERR_*. */
static int
tx_begin(struct agent *a)
{
	int r, attempt, ms;

	for (attempt = 0; attempt < 2; attempt++) {
		if (!a->tok_open) {
			if (token_open(&a->g, &a->tok) != EX_OK) {
				forget_pin(a, "no token");
				return PIV_ERR_NOT_FOUND;
			}
			a->tok_open = 1;	/* token_open began it */
			if (a->sec->has_pin && !same_token(a))
				forget_pin(a, "another token");
			return 0;
		}
		ms = CLI_LOCK_MS;
		if ((r = piv_begin(a->tok.piv, &ms)) == 0) {
			a->tok.in_tx = 1;
			return 0;
		}
		if (!is_gone(r))
			return r;
		drop_token(a, "token removed");
	}
	return PIV_ERR_REMOVED;
}

static void
tx_end(struct agent *a)
{
	if (a->tok_open && a->tok.in_tx) {
		piv_end(a->tok.piv);
		a->tok.in_tx = 0;
	}
}

/* After a failed card operation. */
static void
tx_fail(struct agent *a, int r)
{
	if (is_gone(r)) {
		tx_end(a);
		drop_token(a, "token removed");
	}
}

/* ---- asking the user ------------------------------------------------------ */

/* environ plus the extra "NAME=value" strings (NULL-terminated list). */
static char **
env_with(char *const *extra)
{
	size_t n = 0, m = 0, i;
	char **e;

	while (environ != NULL && environ[n] != NULL)
		n++;
	while (extra != NULL && extra[m] != NULL)
		m++;
	if ((e = calloc(n + m + 1, sizeof(*e))) == NULL)
		return NULL;
	for (i = 0; i < m; i++)
		e[i] = extra[i];
	for (i = 0; i < n; i++)
		e[m + i] = environ[i];
	return e;
}

/*
 * Runs argv[0] with its standard output in a pipe; 0 when it exits 0.
 * With out set, its output (one line, at most SECRET_MAX) is the answer.
 */
static int
run_prog(char *const *argv, char *const *extra, struct secret *out)
{
	char **envp, buf[SECRET_MAX + 3];
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int p[2], st, devnull, r = -1;

	if (out != NULL)
		secret_clear(out);
	if ((envp = env_with(extra)) == NULL)
		return -1;
	if (pipe2(p, O_CLOEXEC) != 0) {
		free(envp);
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		free(envp);
		return -1;
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(p[1], 1);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	free(envp);
	close(p[1]);
	for (;;) {
		n = read(p[0], buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			break;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		goto out;
	if (out != NULL) {
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
			got--;
		if (got == 0 || got > SECRET_MAX || memchr(buf, '\n', got))
			goto out;
		memcpy(out->s, buf, got);
		out->s[got] = '\0';
		out->len = got;
	}
	r = 0;
out:
	util_wipe(buf, sizeof(buf));
	return r;
}

/* SSH_ASKPASS, as ssh(1) uses it: SSH_ASKPASS_REQUIRE=never never,
 * force/prefer always, else when there is a display to show it on. */
static const char *
askpass_prog(void)
{
	const char *ap = getenv("SSH_ASKPASS"), *req = getenv("SSH_ASKPASS_REQUIRE");

	if (ap == NULL || *ap == '\0')
		return NULL;
	if (req != NULL && strcmp(req, "never") == 0)
		return NULL;
	if (req != NULL && (strcmp(req, "force") == 0 ||
	    strcmp(req, "prefer") == 0))
		return ap;
	if (getenv("DISPLAY") != NULL || getenv("WAYLAND_DISPLAY") != NULL)
		return ap;
	return NULL;
}

/* The PIN: SSH_ASKPASS, else plymouth, the agent's terminal or
 * systemd-ask-password. */
static int
ask_pin(const char *prompt, struct secret *pin)
{
	const char *ap = askpass_prog();
	struct opts o;
	char *argv[3];

	if (ap != NULL) {
		argv[0] = (char *)(uintptr_t)ap;
		argv[1] = (char *)(uintptr_t)prompt;
		argv[2] = NULL;
		if (run_prog(argv, NULL, pin) != 0) {
			alog("%s: no PIN from %s", prompt, ap);
			return -1;
		}
		return 0;
	}
	/* plymouth, the terminal, systemd-ask-password: as `unlock` asks
	 * (never $USBPIV_PIN: the agent unset it at start) */
	memset(&o, 0, sizeof(o));
	if (unlock_pin(&o, prompt, pin) != 0) {
		alog("no way to ask for the PIN: set SSH_ASKPASS, run the "
		    "agent on a terminal (-D), or give it with `ssh-add -X`");
		return -1;
	}
	return 0;
}

/* ssh-add -c style confirmation (SSH_ASKPASS_PROMPT=confirm). */
static int
ask_confirm(const char *what)
{
	const char *ap = askpass_prog();
	char *argv[3], *extra[2];

	if (ap == NULL) {
		alog("--confirm: no SSH_ASKPASS to ask with; refused");
		return -1;
	}
	argv[0] = (char *)(uintptr_t)ap;
	argv[1] = (char *)(uintptr_t)what;
	argv[2] = NULL;
	extra[0] = (char *)(uintptr_t)"SSH_ASKPASS_PROMPT=confirm";
	extra[1] = NULL;
	return run_prog(argv, extra, NULL);
}

/* "touch your token", and --notify CMD in the background (detached). */
static void
touch_notice(struct agent *a, const struct ssh_key_ent *k)
{
	char slot[32], *key = NULL, *extra[4], *argv[4], **envp;
	size_t kl;
	pid_t pid;
	int st;

	alog("touch your token (slot %02x, %s)", k->slot, k->comment);
	if (a->notify == NULL)
		return;
	snprintf(slot, sizeof(slot), "USBPIV_SLOT=%02x", k->slot);
	kl = strlen(k->line) + sizeof("USBPIV_KEY=");
	if ((key = malloc(kl)) == NULL)
		return;
	snprintf(key, kl, "USBPIV_KEY=%s", k->line);
	extra[0] = slot;
	extra[1] = key;
	extra[2] = (char *)(uintptr_t)"USBPIV_EVENT=touch";
	extra[3] = NULL;
	argv[0] = (char *)(uintptr_t)"/bin/sh";
	argv[1] = (char *)(uintptr_t)"-c";
	argv[2] = (char *)(uintptr_t)a->notify;
	argv[3] = NULL;
	if ((envp = env_with(extra)) == NULL) {
		free(key);
		return;
	}
	/* double fork: the command runs on while the card waits */
	if ((pid = fork()) == 0) {
		if (fork() == 0) {
			int fd = open("/dev/null", O_RDWR);

			if (fd >= 0) {
				dup2(fd, 0);
				dup2(fd, 1);
			}
			execve(argv[0], argv, envp);
			_exit(127);
		}
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	free(envp);
	free(key);
}

/* ---- requests ------------------------------------------------------------ */

/* The token's keys, in the order `usbpiv ssh-keys` prints them. */
static int
list_keys(struct agent *a, struct ssh_key_ent **keys, size_t *n)
{
	int r;

	if ((r = ssh_token_keys(&a->tok, keys, n)) != 0)
		tx_fail(a, r);
	return r;
}

static int
do_identities(struct agent *a, struct agent_buf *out)
{
	struct ssh_key_ent *keys = NULL;
	const struct agent_cert *c;
	uint8_t *blob;
	size_t n = 0, i, j, bl, cnt = 0;
	int r;

	if (a->sec->locked)
		goto answer;
	if ((r = tx_begin(a)) != 0)
		return r;
	r = list_keys(a, &keys, &n);
	tx_end(a);
	if (r != 0)
		return r;
answer:
	agent_msg_begin(out);
	agent_put_u8(out, AGENT_IDENTITIES_ANSWER);
	agent_put_u32(out, 0);	/* the count, set below */
	for (i = 0; i < n; i++) {
		if (ssh_pubkey_blob(keys[i].pub, &blob, &bl, NULL) != 0)
			continue;
		agent_put_string(out, blob, bl);
		agent_put_string(out, keys[i].comment, strlen(keys[i].comment));
		cnt++;
		for (j = 0; j < a->ncerts; j++) {
			c = &a->certs[j];
			if (c->key.len != bl || memcmp(c->key.p, blob, bl) != 0)
				continue;
			agent_put_string(out, c->blob, c->len);
			agent_put_string(out, c->comment, strlen(c->comment));
			cnt++;
		}
		free(blob);
	}
	ssh_keys_free(keys, n);
	if (!out->err && out->len >= 9) {
		out->p[5] = (uint8_t)(cnt >> 24);
		out->p[6] = (uint8_t)(cnt >> 16);
		out->p[7] = (uint8_t)(cnt >> 8);
		out->p[8] = (uint8_t)cnt;
	}
	return agent_msg_end(out) == 0 ? 0 : PIV_ERR_NOMEM;
}

/* VERIFY with pin; keeps it when keep; a wrong PIN drops the kept one. */
static int
verify_pin(struct agent *a, struct secret *pin, int keep)
{
	struct piv_metadata md;
	int r, tries = -1, ms = CLI_OP_MS;

	r = piv_verify(a->tok.piv, PIV_PIN_REF, pin->s, pin->len, &tries, &ms);
	if (r == PIV_ERR_PIN_WRONG) {
		alog("wrong PIN (%d tries left)", tries);
		forget_pin(a, "wrong PIN");
		return r;
	}
	if (r == PIV_ERR_PIN_BLOCKED) {
		alog("the PIN is blocked (usbpiv pin unblock)");
		forget_pin(a, "PIN blocked");
		return r;
	}
	if (r != 0) {
		alog("VERIFY: %s", piv_strerror(r));
		tx_fail(a, r);
		return r;
	}
	if (keep) {
		/* the full count, to compare with before re-sending: METADATA's
		 * total (a verified PIN's status has no count); a card without
		 * METADATA never gets the kept PIN re-sent */
		ms = CLI_OP_MS;
		memset(&md, 0, sizeof(md));
		tries = -1;
		if (piv_metadata(a->tok.piv, PIV_PIN_REF, &md, &ms) == 0)
			tries = md.retries_total;
		piv_metadata_clear(&md);
		keep_pin(a, pin, tries);
	}
	return 0;
}

/* The kept PIN, if the card still has all its tries. */
static int
kept_pin_usable(struct agent *a, int tries)
{
	if (!a->sec->has_pin)
		return 0;
	if (a->pin_full < 0 || tries != a->pin_full) {
		forget_pin(a, "the card reports fewer than all tries; not "
		    "re-sent");
		return 0;
	}
	return 1;
}

static int
verify_kept(struct agent *a)
{
	struct secret pin;
	int r;

	memcpy(pin.s, a->sec->pin, a->sec->pinlen + 1);
	pin.len = a->sec->pinlen;
	r = verify_pin(a, &pin, 0);
	secret_clear(&pin);
	return r;
}

static int
effective_pin_policy(int slot, int pol)
{
	if (pol != PIV_PINPOLICY_DEFAULT)
		return pol;
	/* YubiKey defaults */
	if (slot == PIV_SLOT_SIGN)
		return PIV_PINPOLICY_ALWAYS;
	if (slot == PIV_SLOT_CARDAUTH)
		return PIV_PINPOLICY_NEVER;
	return PIV_PINPOLICY_ONCE;
}

/* The signature blob's inner part for key k over data. */
static int
card_sign(struct agent *a, const struct ssh_key_ent *k, const uint8_t *data,
    size_t datalen, uint32_t flags, struct agent_buf *sig)
{
	uint8_t h[64], em[512], out[AGENT_SIG_MAX];
	const EVP_MD *md = NULL;
	const char *type;
	unsigned int hl = 0;
	size_t outlen = 0, klen, fl = 0;
	int r, ms = CLI_OP_MS;

	switch (k->alg) {
	case PIV_ALG_ECCP256:
	case PIV_ALG_ECCP384:
		if (k->alg == PIV_ALG_ECCP256) {
			md = EVP_sha256();
			type = "ecdsa-sha2-nistp256";
			fl = 32;
		} else {
			md = EVP_sha384();
			type = "ecdsa-sha2-nistp384";
			fl = 48;
		}
		if (EVP_Digest(data, datalen, h, &hl, md, NULL) != 1)
			return PIV_ERR_CRYPTO;
		r = piv_sign(a->tok.piv, (uint8_t)k->slot, (uint8_t)k->alg, h, hl,
		    out, sizeof(out), &outlen, &ms);
		if (r != 0)
			return r;
		agent_put_string(sig, type, strlen(type));
		{
			struct agent_buf inner;

			memset(&inner, 0, sizeof(inner));
			if (agent_ecdsa_sig(out, outlen, fl, &inner) != 0) {
				agent_buf_free(&inner);
				return PIV_ERR_PROTO;
			}
			agent_put_string(sig, inner.p, inner.len);
			agent_buf_free(&inner);
		}
		return sig->err ? PIV_ERR_NOMEM : 0;
	case PIV_ALG_ED25519:
		r = piv_sign(a->tok.piv, (uint8_t)k->slot, (uint8_t)k->alg, data,
		    datalen, out, sizeof(out), &outlen, &ms);
		if (r != 0)
			return r;
		if (outlen != 64)
			return PIV_ERR_PROTO;
		agent_put_string(sig, "ssh-ed25519", 11);
		agent_put_string(sig, out, outlen);
		return sig->err ? PIV_ERR_NOMEM : 0;
	case PIV_ALG_RSA1024:
	case PIV_ALG_RSA2048:
	case PIV_ALG_RSA3072:
	case PIV_ALG_RSA4096:
		if (flags & AGENT_RSA_SHA2_256) {
			md = EVP_sha256();
			type = "rsa-sha2-256";
		} else if (flags & AGENT_RSA_SHA2_512) {
			md = EVP_sha512();
			type = "rsa-sha2-512";
		} else {
			alog("refused an ssh-rsa (SHA-1) signature; the client "
			    "must ask for rsa-sha2-256 or rsa-sha2-512");
			return PIV_ERR_NOT_SUPPORTED;
		}
		klen = (size_t)EVP_PKEY_get_size(k->pub);
		if (klen < 128 || klen > sizeof(em))
			return PIV_ERR_NOT_SUPPORTED;
		if (EVP_Digest(data, datalen, h, &hl, md, NULL) != 1 ||
		    agent_pkcs1_pad(h, hl, em, klen) != 0)
			return PIV_ERR_CRYPTO;
		r = piv_sign(a->tok.piv, (uint8_t)k->slot, (uint8_t)k->alg, em,
		    klen, out, sizeof(out), &outlen, &ms);
		if (r != 0)
			return r;
		if (outlen == 0 || outlen > klen)
			return PIV_ERR_PROTO;
		/* the signature is as long as the modulus (RFC 8332 §3) */
		memmove(out + (klen - outlen), out, outlen);
		memset(out, 0, klen - outlen);
		agent_put_string(sig, type, strlen(type));
		agent_put_string(sig, out, klen);
		return sig->err ? PIV_ERR_NOMEM : 0;
	default:
		return PIV_ERR_NOT_SUPPORTED;
	}
}

static int
do_sign(struct agent *a, const struct agent_req *req, struct agent_buf *out)
{
	struct ssh_key_ent *keys = NULL, *k = NULL;
	struct piv_metadata md;
	struct agent_buf sig;
	struct secret pin;
	char prompt[96];
	const uint8_t *want;
	uint8_t *blob;
	size_t n = 0, i, bl, wantlen;
	int r, pol = PIV_PINPOLICY_DEFAULT, touch = PIV_TOUCHPOLICY_DEFAULT;
	int asked = 0, verified = 0, tries = -1, ms;

	memset(&sig, 0, sizeof(sig));
	memset(&pin, 0, sizeof(pin));
	if (a->sec->locked) {
		alog("locked: signature refused (ssh-add -X to unlock)");
		return PIV_ERR_CONDITIONS;
	}
	/* 1: which key, its policies, and whether the PIN must be asked */
	if ((r = tx_begin(a)) != 0)
		return r;
	if ((r = list_keys(a, &keys, &n)) != 0)
		goto out;
	/* a certificate given with -c signs with the key it certifies */
	want = req->key;
	wantlen = req->keylen;
	for (i = 0; i < a->ncerts; i++)
		if (a->certs[i].len == req->keylen &&
		    memcmp(a->certs[i].blob, req->key, req->keylen) == 0) {
			want = a->certs[i].key.p;
			wantlen = a->certs[i].key.len;
		}
	for (i = 0; i < n && k == NULL; i++) {
		if (ssh_pubkey_blob(keys[i].pub, &blob, &bl, NULL) != 0)
			continue;
		if (bl == wantlen && memcmp(blob, want, bl) == 0)
			k = &keys[i];
		free(blob);
	}
	if (k == NULL) {
		alog("sign: no such key on the token");
		r = PIV_ERR_NOT_FOUND;
		goto out;
	}
	ms = CLI_OP_MS;
	if (piv_metadata(a->tok.piv, (uint8_t)k->slot, &md, &ms) == 0) {
		pol = md.pin_policy;
		touch = md.touch_policy;
		piv_metadata_clear(&md);
	}
	pol = effective_pin_policy(k->slot, pol);
	if (pol == PIV_PINPOLICY_ONCE) {
		ms = CLI_OP_MS;
		if ((r = piv_pin_status(a->tok.piv, PIV_PIN_REF, &verified,
		    &tries, &ms)) != 0) {
			tx_fail(a, r);
			goto out;
		}
		if (!verified && tries == 0) {
			alog("the PIN is blocked (usbpiv pin unblock)");
			forget_pin(a, "PIN blocked");
			r = PIV_ERR_PIN_BLOCKED;
			goto out;
		}
		asked = !verified && !kept_pin_usable(a, tries);
	} else if (pol == PIV_PINPOLICY_ALWAYS)
		asked = 1;
	tx_end(a);
	/* 2: the user, with no lock held */
	if (a->confirm[k->slot]) {
		snprintf(prompt, sizeof(prompt), "Allow use of the key in slot "
		    "%02x (%s)?", k->slot, k->comment);
		if (ask_confirm(prompt) != 0) {
			alog("slot %02x: use not confirmed", k->slot);
			r = PIV_ERR_CONDITIONS;
			goto out;
		}
	}
	if (asked) {
		snprintf(prompt, sizeof(prompt), "PIN for the key in slot %02x "
		    "(%s)", k->slot, k->comment);
		if (ask_pin(prompt, &pin) != 0) {
			r = PIV_ERR_AUTH_REQUIRED;
			goto out;
		}
	}
	/* 3: log in as needed and sign, in one transaction */
	if ((r = tx_begin(a)) != 0)
		goto out;
	if (pol == PIV_PINPOLICY_ALWAYS) {
		if ((r = verify_pin(a, &pin, 0)) != 0)
			goto out;
	} else if (pol == PIV_PINPOLICY_ONCE) {
		ms = CLI_OP_MS;
		if ((r = piv_pin_status(a->tok.piv, PIV_PIN_REF, &verified,
		    &tries, &ms)) != 0) {
			tx_fail(a, r);
			goto out;
		}
		if (!verified) {
			if (asked)
				r = verify_pin(a, &pin, 1);
			else if (kept_pin_usable(a, tries))
				r = verify_kept(a);
			else {
				alog("the token lost its login; try again");
				r = PIV_ERR_AUTH_REQUIRED;
			}
			if (r != 0)
				goto out;
		}
	}
	if (touch == PIV_TOUCHPOLICY_ALWAYS || touch == PIV_TOUCHPOLICY_CACHED)
		touch_notice(a, k);
	if ((r = card_sign(a, k, req->data, req->datalen, req->flags,
	    &sig)) != 0) {
		alog("sign with slot %02x: %s", k->slot, piv_strerror(r));
		tx_fail(a, r);
		if (r == PIV_ERR_AUTH_REQUIRED)
			forget_pin(a, "the card refused the login");
		goto out;
	}
	agent_msg_begin(out);
	agent_put_u8(out, AGENT_SIGN_RESPONSE);
	agent_put_string(out, sig.p, sig.len);
	r = agent_msg_end(out) == 0 ? 0 : PIV_ERR_NOMEM;
out:
	tx_end(a);
	secret_clear(&pin);
	agent_buf_free(&sig);
	ssh_keys_free(keys, n);
	return r;
}

static int
lock_hash(const uint8_t *pass, size_t len, const uint8_t salt[16],
    uint8_t hash[32])
{
	return PKCS5_PBKDF2_HMAC((const char *)pass, (int)len, salt, 16,
	    LOCK_ITER, EVP_sha256(), 32, hash) == 1 ? 0 : -1;
}

/* ssh-add -x: lock with a passphrase, forget the PIN, log the card out. */
static int
do_lock(struct agent *a, const struct agent_req *req)
{
	int ms;

	if (a->sec->locked)
		return PIV_ERR_CONDITIONS;
	if (RAND_bytes(a->sec->lock_salt, sizeof(a->sec->lock_salt)) != 1 ||
	    lock_hash(req->pass, req->passlen, a->sec->lock_salt,
	    a->sec->lock_hash) != 0)
		return PIV_ERR_CRYPTO;
	a->sec->locked = 1;
	forget_pin(a, "agent locked");
	if (a->tok_open && tx_begin(a) == 0) {
		ms = CLI_OP_MS;
		(void)piv_logout(a->tok.piv, PIV_PIN_REF, &ms);
		tx_end(a);
	}
	alog("locked");
	return 0;
}

/*
 * ssh-add -X: on a locked agent, the lock passphrase unlocks it; on an
 * unlocked one, the "passphrase" is the token's PIN, verified now and
 * kept for the keys whose PIN policy is "once".
 */
static int
do_unlock(struct agent *a, const struct agent_req *req)
{
	struct secret pin;
	uint8_t h[32];
	int r, ok;

	if (a->sec->locked) {
		if (lock_hash(req->pass, req->passlen, a->sec->lock_salt, h) != 0)
			return PIV_ERR_CRYPTO;
		ok = agent_ct_equal(h, sizeof(h), a->sec->lock_hash,
		    sizeof(a->sec->lock_hash));
		util_wipe(h, sizeof(h));
		if (!ok) {
			alog("unlock: wrong passphrase");
			sleep(1);	/* as ssh-agent, slows guessing */
			return PIV_ERR_PIN_WRONG;
		}
		a->sec->locked = 0;
		util_wipe(a->sec->lock_hash, sizeof(a->sec->lock_hash));
		alog("unlocked");
		return 0;
	}
	if (req->passlen == 0 || req->passlen > SECRET_MAX) {
		alog("ssh-add -X: a PIN is 1 to %d characters", SECRET_MAX);
		return PIV_ERR_ARG;
	}
	memset(&pin, 0, sizeof(pin));
	memcpy(pin.s, req->pass, req->passlen);
	pin.len = req->passlen;
	if ((r = tx_begin(a)) == 0) {
		r = verify_pin(a, &pin, 1);
		tx_end(a);
	}
	secret_clear(&pin);
	if (r == 0)
		alog("PIN accepted by the token and kept");
	return r;
}

/* One message in, one answer out. */
static void
handle(struct agent *a, const uint8_t *msg, size_t len, struct agent_buf *out)
{
	struct agent_req req;
	int r, attempt;

	r = agent_parse(msg, len, &req);
	if (r == AGENT_ERR_UNSUPPORTED) {
		if (a->g.verbose)
			alog("message type %u not supported", req.type);
		goto fail;
	}
	if (r != 0) {
		alog("malformed message (type %u, %zu bytes): failure",
		    req.type, len);
		goto fail;
	}
	switch (req.type) {
	case AGENTC_REQUEST_IDENTITIES:
	case AGENTC_SIGN_REQUEST:
		/* a token found gone was dropped with its PIN: once more, on
		 * whatever token is there now (a signature asks again) */
		for (attempt = 0; attempt < 2; attempt++) {
			agent_buf_free(out);
			r = req.type == AGENTC_SIGN_REQUEST ?
			    do_sign(a, &req, out) : do_identities(a, out);
			if (!is_gone(r))
				break;
		}
		break;
	case AGENTC_LOCK:
		r = do_lock(a, &req);
		if (r == 0)
			r = agent_msg_simple(out, AGENT_SUCCESS);
		break;
	case AGENTC_UNLOCK:
		r = do_unlock(a, &req);
		if (r == 0)
			r = agent_msg_simple(out, AGENT_SUCCESS);
		break;
	default:
		r = -1;
		break;
	}
	if (r == 0)
		return;
fail:
	agent_buf_free(out);
	(void)agent_msg_simple(out, AGENT_FAILURE);
}

/* ---- connections ---------------------------------------------------------- */

static void
client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->msg != NULL)
		util_freezero(c->msg, c->msglen);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
client_failure_close(struct client *c)
{
	static const uint8_t fail[5] = { 0, 0, 0, 1, AGENT_FAILURE };

	(void)write_all(c->fd, fail, sizeof(fail));
	client_close(c);
}

static void
client_read(struct agent *a, struct client *c)
{
	struct agent_buf out;
	ssize_t n;

	if (c->hdrlen < 4) {
		n = read(c->fd, c->hdr + c->hdrlen, 4 - c->hdrlen);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->hdrlen += (size_t)n;
		if (c->hdrlen < 4)
			return;
		if (agent_frame_len(c->hdr, &c->msglen) != 0) {
			/* cannot resynchronise: answer, and end this one */
			alog("oversized or empty message: failure, connection "
			    "closed");
			client_failure_close(c);
			return;
		}
		if ((c->msg = malloc(c->msglen)) == NULL) {
			client_failure_close(c);
			return;
		}
		c->got = 0;
		return;
	}
	n = read(c->fd, c->msg + c->got, c->msglen - c->got);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->got += (size_t)n;
	if (c->got < c->msglen)
		return;
	memset(&out, 0, sizeof(out));
	handle(a, c->msg, c->msglen, &out);
	util_freezero(c->msg, c->msglen);
	c->msg = NULL;
	c->msglen = c->got = c->hdrlen = 0;
	if (out.err || out.len == 0 || write_all(c->fd, out.p, out.len) != 0)
		client_close(c);
	agent_buf_free(&out);
}

static void
client_accept(struct agent *a)
{
	struct ucred cr;
	struct timeval tv;
	socklen_t cl = sizeof(cr);
	size_t i;
	int fd;

	if ((fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 ||
	    cl != sizeof(cr)) {
		alog("cannot read the peer's credentials: refused");
		close(fd);
		return;
	}
	if (cr.uid != geteuid() && cr.uid != 0) {
		alog("refused a connection from uid %u (pid %d)",
		    (unsigned)cr.uid, (int)cr.pid);
		close(fd);
		return;
	}
	/* a client that stops reading cannot stall the agent for long */
	tv.tv_sec = 10;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (i = 0; i < AGENT_CLIENTS; i++)
		if (a->cl[i].fd < 0) {
			a->cl[i].fd = fd;
			return;
		}
	alog("too many connections: refused");
	close(fd);
}

/* -c FILE: "TYPE-cert-v01@openssh.com BASE64 [COMMENT]", as ssh-keygen -s
 * writes it. */
static int
load_cert(struct agent *a, const char *path)
{
	struct agent_cert *c;
	uint8_t *buf = NULL;
	char *line = NULL, *b64, *cm, *sp;
	size_t len = 0, n, pad;
	int dl, r = -1;

	if (a->ncerts == AGENT_CERTS) {
		cli_err("agent: at most %d certificates", AGENT_CERTS);
		return -1;
	}
	c = &a->certs[a->ncerts];
	memset(c, 0, sizeof(*c));
	if (cli_read_file(path, 16384, &buf, &len) != 0)
		return -1;
	if ((line = malloc(len + 1)) == NULL)
		goto out;
	memcpy(line, buf, len);
	line[len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if ((sp = strchr(line, ' ')) == NULL)
		goto bad;
	b64 = sp + 1;
	cm = strchr(b64, ' ');
	if (cm != NULL)
		*cm++ = '\0';
	n = strlen(b64);
	if (n == 0 || n % 4 != 0 || n > 16000)
		goto bad;
	pad = (size_t)(b64[n - 1] == '=') + (size_t)(b64[n - 2] == '=');
	if ((c->blob = malloc(n / 4 * 3)) == NULL)
		goto bad;
	dl = EVP_DecodeBlock(c->blob, (const unsigned char *)b64, (int)n);
	if (dl < 0 || (size_t)dl != n / 4 * 3 || (size_t)dl < pad)
		goto bad;
	c->len = (size_t)dl - pad;
	if (agent_cert_pubkey(c->blob, c->len, &c->key) != 0)
		goto bad;
	snprintf(c->comment, sizeof(c->comment), "%s", cm != NULL ? cm : path);
	a->ncerts++;
	r = 0;
	goto out;
bad:
	cli_err("agent: %s: not an OpenSSH certificate of an RSA, ECDSA or "
	    "Ed25519 key", path);
	free(c->blob);
	agent_buf_free(&c->key);
	memset(c, 0, sizeof(*c));
out:
	free(line);
	free(buf);
	return r;
}

/* ---- the socket and the process -------------------------------------------- */

static int
make_socket(struct agent *a, const char *path)
{
	struct sockaddr_un sa;
	const char *tmp;
	mode_t old;
	int fd;

	if (path == NULL) {
		tmp = getenv("TMPDIR");
		if (tmp == NULL || *tmp == '\0')
			tmp = "/tmp";
		if ((size_t)snprintf(a->sockdir, sizeof(a->sockdir),
		    "%s/usbpiv-agent.XXXXXX", tmp) >= sizeof(a->sockdir) - 20) {
			cli_err("agent: $TMPDIR too long for a socket path");
			return -1;
		}
		if (mkdtemp(a->sockdir) == NULL) {	/* mode 0700 */
			cli_err("agent: mkdtemp %s: %s", a->sockdir,
			    strerror(errno));
			a->sockdir[0] = '\0';
			return -1;
		}
		{
			char tmpp[sizeof(a->sockdir) + 32];
			int l = snprintf(tmpp, sizeof(tmpp), "%s/agent.%ld",
			    a->sockdir, (long)getpid());

			if (l < 0 || (size_t)l >= sizeof(a->sockpath)) {
				cli_err("agent: socket path too long");
				return -1;
			}
			memcpy(a->sockpath, tmpp, (size_t)l + 1);
		}
	} else if ((size_t)snprintf(a->sockpath, sizeof(a->sockpath), "%s",
	    path) >= sizeof(a->sockpath)) {
		cli_err("agent: socket path too long: %s", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, a->sockpath, strlen(a->sockpath) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		cli_err("agent: socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		cli_err("agent: bind %s: %s", a->sockpath, strerror(errno));
		a->sockpath[0] = '\0';
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(a->sockpath, 0600) != 0 || listen(fd, 16) != 0) {
		cli_err("agent: %s: %s", a->sockpath, strerror(errno));
		close(fd);
		return -1;
	}
	a->listen_fd = fd;
	return 0;
}

/* systemd socket activation: one inherited listening socket (fd 3). */
static int
inherited_socket(struct agent *a)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0;
	socklen_t tl = sizeof(type);

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1") != 0 || getsockopt(3, SOL_SOCKET, SO_TYPE, &type,
	    &tl) != 0 || type != SOCK_STREAM) {
		cli_err("agent: expected one inherited stream socket "
		    "(LISTEN_FDS=1)");
		return -1;
	}
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	a->listen_fd = 3;
	return 1;
}

static void
agent_cleanup(struct agent *a)
{
	size_t i;

	for (i = 0; i < AGENT_CLIENTS; i++)
		if (a->cl[i].fd >= 0)
			client_close(&a->cl[i]);
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
	if (a->sockpath[0] != '\0')
		unlink(a->sockpath);
	if (a->sockdir[0] != '\0')
		rmdir(a->sockdir);
	if (a->tok_open) {
		tx_end(a);
		token_close(&a->tok);
		a->tok_open = 0;
	}
	if (a->sec != NULL)
		forget_pin(a, NULL);
	secrets_free(a);
	for (i = 0; i < a->ncerts; i++) {
		free(a->certs[i].blob);
		agent_buf_free(&a->certs[i].key);
	}
	a->ncerts = 0;
}

static int
agent_loop(struct agent *a, const sigset_t *waitmask)
{
	struct pollfd pf[1 + AGENT_CLIENTS];
	struct client *who[1 + AGENT_CLIENTS];
	struct timespec ts, *tsp;
	uint64_t now;
	size_t i, n;
	int r;

	while (!agent_stop) {
		now = util_now_ms();
		if (a->pin_expire != 0 && now >= a->pin_expire)
			forget_pin(a, "lifetime (-t) over");
		tsp = NULL;
		if (a->pin_expire != 0) {
			ts.tv_sec = (time_t)((a->pin_expire - now) / 1000);
			ts.tv_nsec = (long)((a->pin_expire - now) % 1000) *
			    1000000L;
			tsp = &ts;
		}
		pf[0].fd = a->listen_fd;
		pf[0].events = POLLIN;
		pf[0].revents = 0;
		for (i = 0, n = 1; i < AGENT_CLIENTS; i++)
			if (a->cl[i].fd >= 0) {
				pf[n].fd = a->cl[i].fd;
				pf[n].events = POLLIN;
				pf[n].revents = 0;
				who[n++] = &a->cl[i];
			}
		r = ppoll(pf, n, tsp, waitmask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			alog("poll: %s", strerror(errno));
			return EX_ERR;
		}
		for (i = 1; i < n; i++)
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(a, who[i]);
		if (pf[0].revents & POLLIN)
			client_accept(a);
	}
	return EX_OK;
}

/* ssh-agent -k */
static int
agent_kill(void)
{
	const char *e = getenv("SSH_AGENT_PID");
	char *end;
	long pid;

	if (e == NULL) {
		cli_err("agent -k: SSH_AGENT_PID is not set");
		return EX_USAGE;
	}
	errno = 0;
	pid = strtol(e, &end, 10);
	if (errno != 0 || end == e || *end != '\0' || pid < 2 ||
	    pid > INT_MAX) {
		cli_err("agent -k: bad SSH_AGENT_PID '%s'", e);
		return EX_USAGE;
	}
	if (kill((pid_t)pid, SIGTERM) != 0) {
		cli_err("agent -k: pid %ld: %s", pid, strerror(errno));
		return EX_NOTFOUND;
	}
	printf("unset SSH_AUTH_SOCK;\nunset SSH_AGENT_PID;\n"
	    "echo Agent pid %ld killed;\n", pid);
	return EX_OK;
}

/* -t LIFE: seconds, or with a suffix s m h d. */
static int
parse_life(const char *s, long *v)
{
	char *end;
	long n, mul = 1;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || n <= 0)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (n > LONG_MAX / mul / 1000)
		return -1;
	*v = n * mul;
	return 0;
}

static void
agent_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: usbpiv [global options] agent [-D] [-a SOCKET] [-c CERT.pub]\n"
	    "           [-t LIFE] [--notify CMD] [--confirm SLOT]...\n"
	    "       usbpiv agent -k\n\n"
	    "An SSH agent for the token's keys (9a 9c 9d 9e and the retired\n"
	    "slots): `ssh-add -L` lists them as `usbpiv ssh-keys` does.  Prints\n"
	    "SSH_AUTH_SOCK and SSH_AGENT_PID for eval and forks, unless -D.\n"
	    "Options:\n"
	    "  -a SOCKET        bind SOCKET (default: a new private directory\n"
	    "                   in $TMPDIR); mode 0600, same uid or root only\n"
	    "  -c CERT.pub      offer this OpenSSH certificate beside its key\n"
	    "  -D               stay in the foreground (PIN prompts on its tty)\n"
	    "  -t LIFE          forget a kept PIN after LIFE (seconds, or 10m, 1h)\n"
	    "  -k               stop the agent named by $SSH_AGENT_PID\n"
	    "  --notify CMD     run CMD (sh -c) when a key waits for a touch,\n"
	    "                   with USBPIV_SLOT, USBPIV_KEY, USBPIV_EVENT=touch\n"
	    "  --confirm SLOT   ask through SSH_ASKPASS before each use of SLOT\n"
	    "  -h, --help       this help\n"
	    "PIN: SSH_ASKPASS (SSH_ASKPASS_REQUIRE honoured), else plymouth, the\n"
	    "agent's terminal or systemd-ask-password; or `ssh-add -X` gives it\n"
	    "once (kept in locked memory).  USBPIV_PIN is ignored.\n"
	    "`ssh-add -x` locks the agent and forgets the PIN; `ssh-add -X` with\n"
	    "the lock passphrase unlocks it.\n");
}

int
cmd_agent_main(const struct globals *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "notify", required_argument, NULL, 1 },
		{ "confirm", required_argument, NULL, 2 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent a;
	struct sigaction sa;
	sigset_t block, waitmask;
	const char *sock = NULL;
	int ch, fg = 0, kill_it = 0, slot, ex, inh;
	pid_t pid;
	size_t i;

	memset(&a, 0, sizeof(a));
	a.g = *g;
	a.listen_fd = -1;
	a.pin_full = -1;
	for (i = 0; i < AGENT_CLIENTS; i++)
		a.cl[i].fd = -1;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "a:c:Dt:kh", lo, NULL)) != -1) {
		switch (ch) {
		case 'a': sock = optarg; break;
		case 'c':
			if (load_cert(&a, optarg) != 0) {
				agent_cleanup(&a);
				return EX_USAGE;
			}
			break;
		case 'D': fg = 1; break;
		case 'k': kill_it = 1; break;
		case 't':
			if (parse_life(optarg, &a.life_s) != 0) {
				cli_err("agent: bad lifetime '%s'", optarg);
				agent_cleanup(&a);
				return EX_USAGE;
			}
			break;
		case 1: a.notify = optarg; break;
		case 2:
			if (cli_parse_slot(optarg, &slot) != 0) {
				cli_err("agent: bad slot '%s'", optarg);
				agent_cleanup(&a);
				return EX_USAGE;
			}
			a.confirm[slot & 0xff] = 1;
			break;
		case 'h':
			agent_cleanup(&a);
			agent_usage(stdout);
			return EX_OK;
		default:
			cli_err("agent: unknown or incomplete option %s",
			    argv[optind - 1]);
			agent_cleanup(&a);
			agent_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc || kill_it) {
		agent_cleanup(&a);
		if (kill_it && optind == argc)
			return agent_kill();
		cli_err("agent: unexpected argument '%s'", argv[optind]);
		return EX_USAGE;
	}

	/* a PIN from the environment would be sent again and again, right
	 * or wrong: the agent asks, or takes ssh-add -X */
	if (getenv("USBPIV_PIN") != NULL) {
		alog("USBPIV_PIN is ignored (use SSH_ASKPASS or ssh-add -X)");
		unsetenv("USBPIV_PIN");
	}
	/* no core dumps, no ptrace by the same uid: the PIN is in here */
	(void)prctl(PR_SET_DUMPABLE, 0);
	if (secrets_new(&a) != 0) {
		cli_err("agent: cannot allocate memory for the PIN");
		agent_cleanup(&a);
		return EX_ERR;
	}
	if ((inh = inherited_socket(&a)) < 0) {
		agent_cleanup(&a);
		return EX_USAGE;
	}
	if (inh)
		fg = 1;
	else if (make_socket(&a, sock) != 0) {
		agent_cleanup(&a);
		return EX_ERR;
	}
	fflush(stdout);
	pid = fg ? getpid() : fork();
	if (pid < 0) {
		cli_err("agent: fork: %s", strerror(errno));
		agent_cleanup(&a);
		return EX_ERR;
	}
	if (pid != 0 || fg) {
		if (!inh)
			printf("SSH_AUTH_SOCK=%s; export SSH_AUTH_SOCK;\n"
			    "SSH_AGENT_PID=%ld; export SSH_AGENT_PID;\n"
			    "echo Agent pid %ld;\n", a.sockpath, (long)pid,
			    (long)pid);
		fflush(stdout);
		if (!fg)
			_exit(EX_OK);	/* the child owns socket and directory */
	}
	if (!fg) {
		int fd = open("/dev/null", O_RDWR);

		(void)setsid();
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			if (fd > 2)
				close(fd);
		}
		if (chdir("/") != 0)
			cli_warn("agent: cannot change to /");
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	ex = agent_loop(&a, &waitmask);
	agent_cleanup(&a);
	return ex;
}
