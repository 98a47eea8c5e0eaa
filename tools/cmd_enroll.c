/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_enroll.c — disk unlock: `usbpiv enroll` wraps a new random
 * passphrase to a slot's public key (no PIN needed), `usbpiv unlock`
 * unwraps it with the token and writes it to stdout, as a cryptsetup
 * keyscript wants.  unlock also reads the "systemd-pkcs11" LUKS2 token
 * that systemd-cryptenroll writes, so such volumes open without pcscd,
 * p11-kit or systemd.
 *
 * The wrapped-key file (documented in tools/usbpiv.1.md) is text, one
 * "name value" per line:
 *
 *   usbpiv-wrapped-key 1
 *   slot 9d
 *   alg ECCP256                (as cli_alg_name() spells it)
 *   serial 12345678            (0 when the token did not tell)
 *   fingerprint <hex SHA-256 of the public key's SubjectPublicKeyInfo>
 *   method rsa-oaep-sha256 | ecdh-hkdf-sha256-aes256gcm
 *   ephemeral <hex point>      (ECDH only: uncompressed point, or X25519 u)
 *   nonce <hex, 12 bytes>      (ECDH only)
 *   data <hex>                 (RSA: the OAEP block; ECDH: ciphertext||tag)
 *
 * For ECDH the AES-GCM additional data is the first five lines exactly as
 * written, so editing slot, serial or fingerprint breaks the tag.  The
 * HKDF info is "usbpiv-wrapped-key 1" and the salt the ephemeral point.
 * The wrapped secret is 32 random bytes; the passphrase is their base64
 * (44 characters, no newline), which is also what systemd derives.
 *
 * The parsing of the file and of the token JSON lives in unlock_parse.c
 * (pure, unit-tested and fuzzed); this file does the I/O and the crypto.
 */
#include "usbpiv.h"
#include "unlock_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#define WRAP_MAGIC	UNLOCK_WRAP_MAGIC
#define WRAP_SECRET	UNLOCK_WRAP_SECRET
#define RSA_BLK_MAX	UNLOCK_RSA_BLK_MAX
#define PASS_MAX	((RSA_BLK_MAX / 3 + 1) * 4 + 1)
#define JSON_MAX	UNLOCK_FILE_MAX

/* ---- small helpers ------------------------------------------------------ */

static int
pub_fingerprint(EVP_PKEY *pk, uint8_t fp[32])
{
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len, r;

	if ((len = i2d_PUBKEY(pk, &der)) <= 0)
		return -1;
	r = EVP_Digest(der, (size_t)len, fp, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32 ? 0 : -1;
	OPENSSL_free(der);
	return r;
}

/* base64 without newlines; out must hold 4 * ceil(n / 3) + 1. */
static void
b64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static int
write_pass(const uint8_t *key, size_t n)
{
	char pass[PASS_MAX];
	size_t len;
	int r;

	if (n > RSA_BLK_MAX)
		return EX_ERR;
	b64(key, n, pass);
	len = strlen(pass);
	r = fwrite(pass, 1, len, stdout) == len && fflush(stdout) == 0;
	util_wipe(pass, sizeof(pass));
	if (!r) {
		cli_err("cannot write the key to stdout: %s", strerror(errno));
		return EX_ERR;
	}
	return EX_OK;
}

/* EME-OAEP (SHA-256, empty label) and EME-PKCS1-v1_5 decoding of the raw
 * RSA output: the constant-time decoders of util/util_rsapad.c. */
static int
oaep_decode(const uint8_t *em, size_t k, uint8_t *out, size_t cap,
    size_t *outlen)
{
	return util_rsa_unpad_oaep(em, k, EVP_sha256(), EVP_sha256(), NULL, 0,
	    out, cap, outlen);
}

static int
pkcs1_decode(const uint8_t *em, size_t k, uint8_t *out, size_t cap,
    size_t *outlen)
{
	return util_rsa_unpad_pkcs1(em, k, out, cap, outlen);
}

static int
hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t *out, size_t outlen)
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *c = NULL;
	OSSL_PARAM p[5];
	int r = -1;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return -1;
	if ((c = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)ikm, ikmlen);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, saltlen);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)(uintptr_t)info, strlen(info));
	p[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(c, out, outlen, p) == 1)
		r = 0;
out:
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return r;
}

/* AES-256-GCM; enc = 1 encrypts (tag written after the data), 0 checks. */
static int
gcm(int enc, const uint8_t key[32], const uint8_t nonce[12],
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t inlen,
    uint8_t *out)
{
	EVP_CIPHER_CTX *c;
	int n, r = -1;
	size_t len = enc ? inlen : inlen - 16;

	if (!enc && inlen < 16)
		return -1;
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
	    (void *)(uintptr_t)(in + len)) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
	    out + len) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return r;
}

/* Raw public point of pk as the token's GENERAL AUTHENTICATE wants it. */
static int
raw_point(EVP_PKEY *pk, int alg, uint8_t *pt, size_t cap, size_t *len)
{
	uint8_t *enc = NULL;
	size_t n;

	*len = 0;
	if (alg == PIV_ALG_X25519) {
		n = cap;
		if (EVP_PKEY_get_raw_public_key(pk, pt, &n) != 1)
			return -1;
		*len = n;
		return 0;
	}
	n = EVP_PKEY_get1_encoded_public_key(pk, &enc);
	if (n == 0 || n > cap) {
		OPENSSL_free(enc);
		return -1;
	}
	memcpy(pt, enc, n);
	*len = n;
	OPENSSL_free(enc);
	return 0;
}

/* ---- enroll -------------------------------------------------------------- */

static int
wrap_ecdh(EVP_PKEY *pub, int alg, const uint8_t *hdr, size_t hdrlen,
    const uint8_t secret[WRAP_SECRET], FILE *fp)
{
	EVP_PKEY_CTX *kc = NULL, *dc = NULL;
	EVP_PKEY *eph = NULL;
	uint8_t pt[160], z[64], kek[32], nonce[12], ct[WRAP_SECRET + 16];
	char hex[2 * 160 + 1];
	size_t ptlen, zlen = sizeof(z);
	int r = -1;

	if ((kc = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(kc) != 1)
		goto out;
	/* EC: the public key's parameters give the curve. */
	if (alg != PIV_ALG_X25519) {
		EVP_PKEY_CTX_free(kc);
		if ((kc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
		    EVP_PKEY_keygen_init(kc) != 1 ||
		    EVP_PKEY_CTX_set_group_name(kc, alg == PIV_ALG_ECCP256 ?
		    "P-256" : "P-384") != 1)
			goto out;
	}
	if (EVP_PKEY_keygen(kc, &eph) != 1 ||
	    (dc = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) == NULL ||
	    EVP_PKEY_derive_init(dc) != 1 ||
	    EVP_PKEY_derive_set_peer(dc, pub) != 1 ||
	    EVP_PKEY_derive(dc, z, &zlen) != 1)
		goto out;
	if (raw_point(eph, alg, pt, sizeof(pt), &ptlen) != 0 ||
	    hkdf_sha256(z, zlen, pt, ptlen, WRAP_MAGIC, kek, sizeof(kek)) != 0 ||
	    RAND_bytes(nonce, sizeof(nonce)) != 1 ||
	    gcm(1, kek, nonce, hdr, hdrlen, secret, WRAP_SECRET, ct) != 0)
		goto out;
	fprintf(fp, "method ecdh-hkdf-sha256-aes256gcm\n");
	util_hex(pt, ptlen, hex);
	fprintf(fp, "ephemeral %s\n", hex);
	util_hex(nonce, sizeof(nonce), hex);
	fprintf(fp, "nonce %s\n", hex);
	util_hex(ct, sizeof(ct), hex);
	fprintf(fp, "data %s\n", hex);
	r = 0;
out:
	util_wipe(z, sizeof(z));
	util_wipe(kek, sizeof(kek));
	EVP_PKEY_free(eph);
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_CTX_free(kc);
	return r;
}

static int
wrap_rsa(EVP_PKEY *pub, const uint8_t secret[WRAP_SECRET], FILE *fp)
{
	EVP_PKEY_CTX *c;
	uint8_t ct[RSA_BLK_MAX];
	char hex[2 * RSA_BLK_MAX + 1];
	size_t ctlen = sizeof(ct);
	int r = -1;

	if ((c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_encrypt_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1 &&
	    EVP_PKEY_encrypt(c, ct, &ctlen, secret, WRAP_SECRET) == 1) {
		fprintf(fp, "method rsa-oaep-sha256\n");
		util_hex(ct, ctlen, hex);
		fprintf(fp, "data %s\n", hex);
		r = 0;
	}
	EVP_PKEY_CTX_free(c);
	return r;
}

int
cmd_enroll(const struct globals *g, struct opts *o)
{
	struct token t;
	EVP_PKEY *pub = NULL;
	uint8_t secret[WRAP_SECRET], fp32[32];
	char hdr[512], fphex[65];
	int ex, r, alg, n;
	FILE *fp = NULL;

	if (o->slot < 0)
		o->slot = 0x9d;
	if (o->out == NULL || strcmp(o->out, "-") == 0) {
		cli_err("enroll: give the wrapped-key file with -o FILE (the "
		    "new passphrase goes to stdout)");
		return EX_USAGE;
	}
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	if ((ex = cli_slot_key(&t, "enroll", o->slot, &pub, &alg)) != EX_OK)
		goto out;
	ex = EX_ERR;
	if (!cli_alg_is_rsa(alg) && !cli_alg_is_ec(alg) &&
	    alg != PIV_ALG_X25519) {
		cli_err("enroll: slot %02x holds a %s key, which cannot "
		    "decrypt (use RSA, P-256, P-384 or X25519)", o->slot,
		    cli_alg_name(alg));
		goto out;
	}
	if (pub_fingerprint(pub, fp32) != 0) {
		cli_err("enroll: cannot encode the public key");
		goto out;
	}
	util_hex(fp32, sizeof(fp32), fphex);
	n = snprintf(hdr, sizeof(hdr), "%s\nslot %02x\nalg %s\nserial %lu\n"
	    "fingerprint %s\n", WRAP_MAGIC, o->slot, cli_alg_name(alg),
	    (unsigned long)(t.has_id && t.id.has_serial ? t.id.serial : 0),
	    fphex);
	if (n < 0 || (size_t)n >= sizeof(hdr) ||
	    RAND_bytes(secret, sizeof(secret)) != 1)
		goto out;
	if ((fp = cli_open_out(o->out, 0)) == NULL)
		goto out;
	fchmod(fileno(fp), 0600);
	fputs(hdr, fp);
	r = cli_alg_is_rsa(alg) ? wrap_rsa(pub, secret, fp) :
	    wrap_ecdh(pub, alg, (const uint8_t *)hdr, (size_t)n, secret, fp);
	if (cli_close_out(fp, o->out) != 0 || r != 0) {
		if (r != 0)
			cli_err("enroll: wrapping the key failed");
		unlink(o->out);
		goto out;
	}
	ex = write_pass(secret, sizeof(secret));
out:
	util_wipe(secret, sizeof(secret));
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

/* ---- the PIN at boot ----------------------------------------------------- */

/*
 * Runs argv (no shell) with stdin from /dev/null, and stderr too when
 * quiet; keeps at most cap bytes of its stdout in buf (*len) and drains
 * the rest, so a chatty child can never block us in waitpid.  Returns its
 * exit status (128 + the signal when it was killed), or -1 when no child
 * could be started.
 */
static int
run_read(char *const argv[], int quiet, char *buf, size_t cap, size_t *len)
{
	int pfd[2], st, fd;
	pid_t pid;
	ssize_t got;
	char junk[256];

	*len = 0;
	if (pipe(pfd) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			if (quiet)
				dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		if (*len < cap)
			got = read(pfd[0], buf + *len, cap - *len);
		else
			got = read(pfd[0], junk, sizeof(junk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (*len < cap)
			*len += (size_t)got;
	}
	close(pfd[0]);
	util_wipe(junk, sizeof(junk));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 128;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv, its stdout read into sec (first line).  0 or -1. */
static int
run_ask(char *const argv[], struct secret *sec)
{
	char buf[SECRET_MAX + 2];
	size_t len = 0;

	secret_clear(sec);
	/* a full buffer is too long to be a PIN */
	if (run_read(argv, 0, buf, sizeof(buf), &len) != 0 ||
	    len == sizeof(buf)) {
		util_wipe(buf, sizeof(buf));
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len > SECRET_MAX) {
		util_wipe(buf, sizeof(buf));
		return -1;
	}
	memcpy(sec->s, buf, len);
	sec->s[len] = '\0';
	sec->len = len;
	util_wipe(buf, sizeof(buf));
	return 0;
}

static int
in_path(const char *name)
{
	const char *p = getenv("PATH"), *e;
	char buf[512];

	if (p == NULL)
		p = "/usr/bin:/bin:/usr/sbin:/sbin";
	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p), p,
		    name) < sizeof(buf) && access(buf, X_OK) == 0)
			return 1;
	}
	return 0;
}

/*
 * The PIN: --pin-file / $USBPIV_PIN; else plymouth when it runs; else the
 * terminal; else systemd-ask-password.
 */
int
unlock_pin(const struct opts *o, const char *prompt, struct secret *pin)
{
	char *ping[] = { (char *)(uintptr_t)"plymouth", (char *)(uintptr_t)"--ping", NULL };
	char parg[256];
	char *ply[] = { (char *)(uintptr_t)"plymouth",
	    (char *)(uintptr_t)"ask-for-password", parg, NULL };
	char *sap[] = { (char *)(uintptr_t)"systemd-ask-password",
	    (char *)(uintptr_t)prompt, NULL };
	struct secret junk;
	int fd;

	if (o->pin_file != NULL || getenv("USBPIV_PIN") != NULL)
		return secret_get(pin, o->pin_file, "USBPIV_PIN", "PIN", 0);
	memset(&junk, 0, sizeof(junk));
	if (in_path("plymouth") && run_ask(ping, &junk) == 0) {
		secret_clear(&junk);
		snprintf(parg, sizeof(parg), "--prompt=%s", prompt);
		if (run_ask(ply, pin) == 0 && pin->len > 0)
			return 0;
	}
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0) {
		close(fd);
		return secret_get(pin, NULL, NULL, prompt, 0);
	}
	if (in_path("systemd-ask-password")) {
		if (run_ask(sap, pin) == 0 && pin->len > 0)
			return 0;
		secret_clear(pin);
	}
	cli_err("unlock: no way to ask for the PIN (no terminal, plymouth or "
	    "systemd-ask-password; or set $USBPIV_PIN / --pin-file)");
	return -1;
}

static int
unlock_verify(struct token *t, const struct opts *o, const char *prompt)
{
	struct secret *pin;
	int ex;

	if (t->pin_ok)
		return EX_OK;
	if ((pin = secret_new()) == NULL)
		return EX_ERR;
	if (unlock_pin(o, prompt, pin) != 0)
		ex = EX_USAGE;
	else
		ex = cli_verify_with(t, pin);
	secret_free(&pin);
	return ex;
}

/* Runs the private-key operation, asking for the PIN when the card wants it. */
static int
card_op(struct token *t, const struct opts *o, int slot, int alg,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t cap, size_t *outlen,
    const char *prompt, int *ex)
{
	int r = PIV_ERR_AUTH_REQUIRED, pass, ms;

	*ex = EX_OK;
	for (pass = 0; pass < 2; pass++) {
		ms = CLI_OP_MS;
		r = cli_alg_is_rsa(alg) ?
		    piv_decipher(t->piv, (uint8_t)slot, (uint8_t)alg, in, inlen,
		    out, cap, outlen, &ms) :
		    piv_ecdh(t->piv, (uint8_t)slot, (uint8_t)alg, in, inlen, out,
		    cap, outlen, &ms);
		if (r != PIV_ERR_AUTH_REQUIRED || pass > 0 || t->pin_ok)
			break;
		if ((*ex = unlock_verify(t, o, prompt)) != EX_OK)
			return r;
	}
	if (r != 0)
		*ex = cli_piv_fail("unlock", r);
	return r;
}

/* ---- unlock: our file ------------------------------------------------------ */

static int
unlock_wrapped(const struct globals *g, struct opts *o, const char *txt,
    size_t len)
{
	struct unlock_wrapped w;
	struct token t;
	EVP_PKEY *pub = NULL;
	uint8_t fp32[32], out[RSA_BLK_MAX], z[64], kek[32],
	    secret[WRAP_SECRET];
	size_t outlen = 0, slen = 0, k;
	int ex, r, alg;

	if ((r = unlock_parse_wrapped(txt, len, &w)) != 0) {
		cli_err("unlock: %s is not a valid usbpiv wrapped-key file "
		    "(version 1%s)", o->args[0], r == UNLOCK_ERR_VERSION ?
		    "; this one is another version" : "");
		return EX_ERR;
	}
	if ((ex = token_open(g, &t)) != EX_OK) {
		unlock_wrapped_clear(&w);
		return ex;
	}
	ex = EX_ERR;
	if (w.serial != 0 && t.has_id && t.id.has_serial &&
	    t.id.serial != w.serial) {
		cli_err("unlock: wrong token: the key was enrolled on token "
		    "serial %lu, this one is %lu", (unsigned long)w.serial,
		    (unsigned long)t.id.serial);
		ex = EX_NOTFOUND;
		goto out;
	}
	r = cli_slot_pubkey(&t, w.slot, &pub, &alg);
	if (r != 0 || alg != w.alg || pub_fingerprint(pub, fp32) != 0 ||
	    memcmp(fp32, w.fp, 32) != 0) {
		cli_err("unlock: wrong token or key: slot %02x does not hold "
		    "the %s key this file was enrolled with", w.slot,
		    cli_alg_name(w.alg));
		ex = EX_NOTFOUND;
		goto out;
	}
	if (!w.ecdh) {
		k = (size_t)EVP_PKEY_get_size(pub);
		if (w.datalen != k || k > sizeof(out)) {
			cli_err("unlock: the wrapped key does not fit the RSA key");
			goto out;
		}
		if (card_op(&t, o, w.slot, alg, w.data, k, out, sizeof(out),
		    &outlen, "PIN to unlock the disk", &ex) != 0)
			goto out;
		ex = EX_ERR;
		if (outlen != k || oaep_decode(out, k, secret, sizeof(secret),
		    &slen) != 0 || slen != WRAP_SECRET) {
			cli_err("unlock: decryption error (wrong key?)");
			goto out;
		}
	} else {
		if (card_op(&t, o, w.slot, alg, w.eph, w.ephlen, z, sizeof(z),
		    &outlen, "PIN to unlock the disk", &ex) != 0)
			goto out;
		ex = EX_ERR;
		if (hkdf_sha256(z, outlen, w.eph, w.ephlen, WRAP_MAGIC, kek,
		    sizeof(kek)) != 0 || gcm(0, kek, w.nonce,
		    (const uint8_t *)txt, w.hdrlen, w.data, w.datalen,
		    secret) != 0) {
			cli_err("unlock: the wrapped key does not authenticate "
			    "(file damaged or edited?)");
			goto out;
		}
	}
	ex = write_pass(secret, WRAP_SECRET);
out:
	unlock_wrapped_clear(&w);
	util_wipe(out, sizeof(out));
	util_wipe(z, sizeof(z));
	util_wipe(kek, sizeof(kek));
	util_wipe(secret, sizeof(secret));
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

/* ---- unlock: systemd-cryptenroll's token ---------------------------------- */

static int
unlock_systemd(const struct globals *g, struct opts *o, const char *js,
    size_t len)
{
	struct unlock_systemd st;
	struct token t;
	EVP_PKEY *pub = NULL;
	uint8_t out[RSA_BLK_MAX], key[RSA_BLK_MAX];
	size_t outlen = 0, keylen = 0;
	int ex, r, alg, slot = o->slot;

	if ((r = unlock_parse_systemd(js, len, &st)) != 0) {
		cli_err("unlock: not a systemd-pkcs11 token (%s)",
		    r == UNLOCK_ERR_NOT_FOUND ? "no \"type\" or \"pkcs11-key\"" :
		    r == UNLOCK_ERR_TOO_LONG ? "a value too long" :
		    "malformed JSON, \"pkcs11-key\" or \"pkcs11-uri\"");
		return EX_ERR;
	}
	if (slot < 0)
		slot = st.slot;
	if (slot < 0)
		slot = 0x9d;
	if ((ex = token_open(g, &t)) != EX_OK) {
		unlock_systemd_clear(&st);
		return ex;
	}
	ex = EX_ERR;
	if ((r = cli_slot_pubkey(&t, slot, &pub, &alg)) != 0) {
		cli_err("unlock: slot %02x holds no key (%s)", slot,
		    piv_strerror(r));
		ex = EX_NOTFOUND;
		goto out;
	}
	if (!cli_alg_is_rsa(alg) ||
	    (size_t)EVP_PKEY_get_size(pub) != st.keylen) {
		cli_err("unlock: the systemd token's key is not for the %s key "
		    "in slot %02x (systemd 252 enrolls RSA keys only)",
		    cli_alg_name(alg), slot);
		ex = EX_NOTFOUND;
		goto out;
	}
	if (card_op(&t, o, slot, alg, st.key, st.keylen, out, sizeof(out),
	    &outlen, "PIN to unlock the disk", &ex) != 0)
		goto out;
	ex = EX_ERR;
	if (pkcs1_decode(out, outlen, key, sizeof(key), &keylen) != 0 ||
	    keylen == 0) {
		cli_err("unlock: decryption error (wrong token or key?)");
		goto out;
	}
	ex = write_pass(key, keylen);
out:
	unlock_systemd_clear(&st);
	util_wipe(out, sizeof(out));
	util_wipe(key, sizeof(key));
	EVP_PKEY_free(pub);
	token_close(&t);
	return ex;
}

/* A LUKS2 header: asks cryptsetup for its systemd-pkcs11 token. */
static int
luks_token(const char *dev, uint8_t **buf, size_t *len)
{
	char id[8];
	char *argv[] = { (char *)(uintptr_t)"cryptsetup",
	    (char *)(uintptr_t)"token", (char *)(uintptr_t)"export",
	    (char *)(uintptr_t)"--token-id", id, (char *)(uintptr_t)dev, NULL };
	int st, i;
	uint8_t *b;
	size_t n, tlen;
	char type[32];

	*buf = NULL;
	*len = 0;
	for (i = 0; i < 32; i++) {
		snprintf(id, sizeof(id), "%d", i);
		if ((b = malloc(JSON_MAX + 1)) == NULL)
			return -1;
		if ((st = run_read(argv, 1, (char *)b, JSON_MAX, &n)) < 0) {
			free(b);
			return -1;
		}
		b[n] = '\0';
		/* the token's own "type", not the string anywhere in it */
		if (st == 0 && unlock_json_string((char *)b, n, "type", type,
		    sizeof(type), &tlen) == 0 &&
		    strcmp(type, "systemd-pkcs11") == 0) {
			*buf = b;
			*len = n;
			return 0;
		}
		free(b);
		if (st == 127) {
			cli_err("unlock: %s is a LUKS header but cryptsetup is "
			    "not there to read its tokens", dev);
			return -1;
		}
	}
	cli_err("unlock: %s has no systemd-pkcs11 token", dev);
	return -1;
}

int
cmd_unlock(const struct globals *g, struct opts *o)
{
	uint8_t *buf = NULL, *tok = NULL;
	size_t len = 0, i;
	uint8_t m[6];
	ssize_t got;
	int ex, fd;

	if (isatty(1))
		cli_warn("unlock: writing the disk key to a terminal");
	/* A LUKS2 device or image: its systemd-pkcs11 token. */
	if ((fd = open(o->args[0], O_RDONLY | O_CLOEXEC)) >= 0) {
		got = read(fd, m, sizeof(m));
		close(fd);
		if (got == (ssize_t)sizeof(m) &&
		    memcmp(m, "LUKS\xba\xbe", 6) == 0) {
			if (luks_token(o->args[0], &tok, &len) != 0)
				return EX_NOTFOUND;
			ex = unlock_systemd(g, o, (char *)tok, len);
			free(tok);
			return ex;
		}
	}
	if (cli_read_file(o->args[0], JSON_MAX, &buf, &len) != 0)
		return EX_ERR;
	/* text: NUL-terminate (cli_read_file gives no terminator) */
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			break;
	if (i != len || (tok = realloc(buf, len + 1)) == NULL) {
		cli_err("unlock: %s: not a wrapped-key file or token JSON",
		    o->args[0]);
		free(buf);
		return EX_ERR;
	}
	buf = tok;
	buf[len] = '\0';
	for (i = 0; i < len && (buf[i] == ' ' || buf[i] == '\n' ||
	    buf[i] == '\t' || buf[i] == '\r'); i++)
		;
	ex = i < len && buf[i] == '{' ?
	    unlock_systemd(g, o, (char *)buf, len) :
	    unlock_wrapped(g, o, (char *)buf, len);
	free(buf);
	return ex;
}
