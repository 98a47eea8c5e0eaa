/* SPDX-License-Identifier: MIT */
/*
 * tools/util_cli.c — messages and exit codes, names of slots, algorithms
 * and policies, files, and certificate / key loading for the CLI.
 */
#include "usbpiv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/* ---- messages and exit codes -------------------------------------------- */

void
cli_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fputs("usbpiv: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void
cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("usbpiv: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int
cli_exit_for_piv(int r)
{
	switch (r) {
	case PIV_OK:
		return EX_OK;
	case PIV_ERR_NOT_FOUND:
	case PIV_ERR_REMOVED:
	case PIV_ERR_NO_APP:
		return EX_NOTFOUND;
	case PIV_ERR_PIN_WRONG:
	case PIV_ERR_PIN_BLOCKED:
	case PIV_ERR_AUTH_REQUIRED:
		return EX_AUTH;
	case PIV_ERR_BUSY:
		return EX_BUSY;
	case PIV_ERR_ACCESS:
		return EX_ACCESS;
	case PIV_ERR_TIMEOUT:
	case PIV_ERR_TOUCH_TIMEOUT:
		return EX_TIMEOUT;
	default:
		return EX_ERR;
	}
}

int
cli_exit_for_ccid(int r)
{
	switch (r) {
	case CCID_OK:
		return EX_OK;
	case CCID_ERR_REMOVED:
	case CCID_ERR_NO_CARD:
		return EX_NOTFOUND;
	case CCID_ERR_BUSY:
	case CCID_ERR_LOCKED:
	case CCID_ERR_SLOT_BUSY:
		return EX_BUSY;
	case CCID_ERR_ACCESS:
		return EX_ACCESS;
	case CCID_ERR_TIMEOUT:
		return EX_TIMEOUT;
	default:
		return EX_ERR;
	}
}

int
cli_exit_for_usb(int r)
{
	switch (r) {
	case USB_OK:
		return EX_OK;
	case USB_ERR_NO_DEVICE:
	case USB_ERR_NOT_FOUND:
		return EX_NOTFOUND;
	case USB_ERR_BUSY:
	case USB_ERR_LOCKED:
		return EX_BUSY;
	case USB_ERR_ACCESS:
		return EX_ACCESS;
	case USB_ERR_TIMEOUT:
		return EX_TIMEOUT;
	default:
		return EX_ERR;
	}
}

/*
 * usb_ctx_new with the CLI's message and exit code.  A USBPIV_DEVICE that
 * names a missing node (or one we may not open) is the user's "not found"
 * (exit 3) or "permission denied" (6), named by its path, not a failure
 * to start libusb.
 */
int
cli_usb_ctx_new(usb_ctx_t **ctx)
{
	const char *dev = getenv("USBPIV_DEVICE");
	int r;

	if ((r = usb_ctx_new(ctx)) == USB_OK)
		return EX_OK;
	if (dev != NULL && *dev != '\0') {
		if (r == USB_ERR_NOT_FOUND) {
			cli_err("USBPIV_DEVICE=%s: no such device node", dev);
			return EX_NOTFOUND;
		}
		if (r == USB_ERR_ACCESS) {
			cli_err("USBPIV_DEVICE=%s: permission denied", dev);
			return EX_ACCESS;
		}
		if (r == USB_ERR_ARG) {
			cli_err("USBPIV_DEVICE=%s: not a device node path or an "
			    "open fd:N", dev);
			return EX_USAGE;
		}
	}
	cli_err("cannot start libusb: %s", usb_strerror(r));
	return EX_ERR;
}

int
cli_piv_fail(const char *what, int r)
{
	const char *cause;

	switch (r) {
	case PIV_ERR_BUSY:
		cli_err("%s: token " BUSY_HINT, what);
		break;
	case PIV_ERR_ACCESS:
		cli_err("%s: permission denied on the USB device (install "
		    "udev/70-usbpiv.rules, or run as a user in its group)", what);
		break;
	case PIV_ERR_AUTH_REQUIRED:
		cli_err("%s: %s (PIN or management key needed)", what,
		    piv_strerror(r));
		break;
	case PIV_ERR_TOUCH_TIMEOUT:
		cli_err("%s: %s (touch the token when it blinks)", what,
		    piv_strerror(r));
		break;
	default:
		cause = token_cause();
		cli_err("%s: %s%s%s%s", what, piv_strerror(r),
		    cause[0] != '\0' ? " (" : "", cause,
		    cause[0] != '\0' ? ")" : "");
		break;
	}
	return cli_exit_for_piv(r);
}

/* ---- lost answers ------------------------------------------------------ */

int
cli_lost(const struct token *t, int r, uint8_t ins)
{
	if (r != PIV_ERR_TRANSPORT && r != PIV_ERR_REMOVED &&
	    r != PIV_ERR_TIMEOUT && r != PIV_ERR_PROTO)
		return 0;
	return t != NULL && t->piv != NULL && piv_lost_ins(t->piv) == ins;
}

int
cli_unknown(const char *what, int r, const char *may, const char *how)
{
	cli_err("%s: %s after the command reached the token: the outcome is "
	    "unknown", what, piv_strerror(r));
	cli_err("%s; %s", may, how);
	return EX_UNKNOWN;
}

int
cli_object_is(struct token *t, uint32_t obj, const uint8_t *want,
    size_t len)
{
	uint8_t *data = NULL;
	size_t n = 0;
	int r, ms = CLI_OP_MS, eq;

	r = piv_get_data(t->piv, obj, &data, &n, &ms);
	if (r == PIV_ERR_NOT_FOUND)
		return len == 0;
	if (r != 0)
		return -1;
	eq = n == len && (len == 0 || memcmp(data, want, len) == 0);
	util_freezero(data, n);
	return eq;
}

int
cli_slot_holds(struct token *t, int slot, const EVP_PKEY *want)
{
	struct piv_metadata md;
	int r, ms = CLI_OP_MS, eq;

	r = piv_metadata(t->piv, (uint8_t)slot, &md, &ms);
	if (r == PIV_ERR_NOT_FOUND)
		return want == NULL;
	if (r != 0)
		return -1;
	eq = want != NULL && md.pub != NULL && EVP_PKEY_eq(md.pub, want) == 1;
	if (md.pub == NULL)
		eq = -1;
	piv_metadata_clear(&md);
	return eq;
}

int
cli_lost_seen(const char *what, int r, int seen, const char *may,
    const char *how)
{
	if (seen == 1) {
		cli_warn("%s: the answer was lost (%s), but the token shows the "
		    "change was made", what, piv_strerror(r));
		return EX_OK;
	}
	if (seen == 0) {
		cli_err("%s: %s; the token shows the change was not made", what,
		    piv_strerror(r));
		return EX_ERR;
	}
	return cli_unknown(what, r, may, how);
}

int
cli_cert_is(struct token *t, int slot, const X509 *cert, int compress)
{
	uint8_t *obj = NULL;
	size_t len = 0;
	int eq;

	if (piv_build_cert_object(cert, compress, &obj, &len) != 0)
		return -1;
	eq = cli_object_is(t, piv_cert_object((uint8_t)slot), obj, len);
	free(obj);
	return eq;
}

/* ---- names -------------------------------------------------------------- */

const uint8_t cli_key_slots[] = {
	0x9a, 0x9c, 0x9d, 0x9e,
	0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b,
	0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
};
const size_t cli_key_slots_n = sizeof(cli_key_slots);

int
cli_parse_slot(const char *s, int *slot)
{
	static const struct { const char *name; int slot; } names[] = {
		{ "auth", 0x9a }, { "authentication", 0x9a },
		{ "sign", 0x9c }, { "signature", 0x9c },
		{ "keymgmt", 0x9d }, { "key-management", 0x9d },
		{ "cardauth", 0x9e }, { "card-authentication", 0x9e },
		{ "attest", 0xf9 }, { "attestation", 0xf9 },
	};
	char *end;
	unsigned long v;
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(names); i++)
		if (strcasecmp(s, names[i].name) == 0) {
			*slot = names[i].slot;
			return 0;
		}
	if (strncasecmp(s, "0x", 2) == 0)
		s += 2;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	if (v == 0x9a || v == 0x9c || v == 0x9d || v == 0x9e || v == 0xf9 ||
	    (v >= PIV_SLOT_RETIRED1 && v <= PIV_SLOT_RETIRED20)) {
		*slot = (int)v;
		return 0;
	}
	return -1;
}

const char *
cli_slot_name(int slot)
{
	static char buf[32];

	switch (slot) {
	case 0x9a: return "PIV Authentication";
	case 0x9c: return "Digital Signature";
	case 0x9d: return "Key Management";
	case 0x9e: return "Card Authentication";
	case 0xf9: return "Attestation";
	default:
		if (slot >= PIV_SLOT_RETIRED1 && slot <= PIV_SLOT_RETIRED20) {
			snprintf(buf, sizeof(buf), "Retired Key Management %d",
			    slot - PIV_SLOT_RETIRED1 + 1);
			return buf;
		}
		return "unknown";
	}
}

static const struct { const char *name; int alg; } alg_names[] = {
	{ "rsa1024", PIV_ALG_RSA1024 }, { "rsa2048", PIV_ALG_RSA2048 },
	{ "rsa3072", PIV_ALG_RSA3072 }, { "rsa4096", PIV_ALG_RSA4096 },
	{ "p256", PIV_ALG_ECCP256 }, { "p384", PIV_ALG_ECCP384 },
	{ "eccp256", PIV_ALG_ECCP256 }, { "eccp384", PIV_ALG_ECCP384 },
	{ "ed25519", PIV_ALG_ED25519 }, { "x25519", PIV_ALG_X25519 },
	{ "3des", PIV_ALG_3DES }, { "tdes", PIV_ALG_3DES },
	{ "aes128", PIV_ALG_AES128 }, { "aes192", PIV_ALG_AES192 },
	{ "aes256", PIV_ALG_AES256 },
};

int
cli_parse_alg(const char *s, int *alg)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(alg_names); i++)
		if (strcasecmp(s, alg_names[i].name) == 0 &&
		    !(alg_names[i].alg == PIV_ALG_3DES ||
		    alg_names[i].alg == PIV_ALG_AES128 ||
		    alg_names[i].alg == PIV_ALG_AES192 ||
		    alg_names[i].alg == PIV_ALG_AES256)) {
			*alg = alg_names[i].alg;
			return 0;
		}
	return -1;
}

int
cli_parse_mgm_alg(const char *s, int *alg)
{
	size_t i;

	for (i = 0; i < UTIL_ARRAY_LEN(alg_names); i++)
		if (strcasecmp(s, alg_names[i].name) == 0 &&
		    (alg_names[i].alg == PIV_ALG_3DES ||
		    alg_names[i].alg == PIV_ALG_AES128 ||
		    alg_names[i].alg == PIV_ALG_AES192 ||
		    alg_names[i].alg == PIV_ALG_AES256)) {
			*alg = alg_names[i].alg;
			return 0;
		}
	return -1;
}

const char *
cli_alg_name(int alg)
{
	switch (alg) {
	case PIV_ALG_3DES: return "3DES";
	case PIV_ALG_AES128: return "AES128";
	case PIV_ALG_AES192: return "AES192";
	case PIV_ALG_AES256: return "AES256";
	case PIV_ALG_RSA1024: return "RSA1024";
	case PIV_ALG_RSA2048: return "RSA2048";
	case PIV_ALG_RSA3072: return "RSA3072";
	case PIV_ALG_RSA4096: return "RSA4096";
	case PIV_ALG_ECCP256: return "ECCP256";
	case PIV_ALG_ECCP384: return "ECCP384";
	case PIV_ALG_ED25519: return "ED25519";
	case PIV_ALG_X25519: return "X25519";
	default: return "unknown";
	}
}

int
cli_alg_is_rsa(int alg)
{
	return alg == PIV_ALG_RSA1024 || alg == PIV_ALG_RSA2048 ||
	    alg == PIV_ALG_RSA3072 || alg == PIV_ALG_RSA4096;
}

int
cli_alg_is_ec(int alg)
{
	return alg == PIV_ALG_ECCP256 || alg == PIV_ALG_ECCP384;
}

static const char *const pin_pol[] = { "default", "never", "once", "always" };
static const char *const touch_pol[] = { "default", "never", "always",
    "cached" };

static int
parse_word(const char *s, const char *const *w, int n, int *v)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(s, w[i]) == 0) {
			*v = i;
			return 0;
		}
	return -1;
}

int
cli_parse_pin_policy(const char *s, int *v)
{
	return parse_word(s, pin_pol, 4, v);
}

int
cli_parse_touch_policy(const char *s, int *v)
{
	return parse_word(s, touch_pol, 4, v);
}

const char *
cli_pin_policy_name(int v)
{
	return v >= 0 && v < 4 ? pin_pol[v] : "unknown";
}

const char *
cli_touch_policy_name(int v)
{
	return v >= 0 && v < 4 ? touch_pol[v] : "unknown";
}

const char *
cli_origin_name(int v)
{
	switch (v) {
	case PIV_ORIGIN_GENERATED: return "generated";
	case PIV_ORIGIN_IMPORTED: return "imported";
	default: return "unknown";
	}
}

/* ---- files -------------------------------------------------------------- */

int
cli_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	FILE *fp;
	uint8_t *b = NULL, *nb;
	size_t cap = 0, n = 0, got;
	int stdin_ = path == NULL || strcmp(path, "-") == 0;

	*buf = NULL;
	*len = 0;
	if (stdin_)
		fp = stdin;
	else if ((fp = fopen(path, "rbe")) == NULL) {
		cli_err("%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			if (cap >= max + 1)
				break;
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if ((nb = realloc(b, cap)) == NULL) {
				cli_err("%s: out of memory", stdin_ ? "stdin" :
				    path);
				goto fail;
			}
			b = nb;
		}
		got = fread(b + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		cli_err("%s: read error", stdin_ ? "stdin" : path);
		goto fail;
	}
	if (n > max) {
		cli_err("%s: larger than %zu bytes", stdin_ ? "stdin" : path, max);
		goto fail;
	}
	if (!stdin_)
		fclose(fp);
	*buf = b;
	*len = n;
	return 0;
fail:
	if (!stdin_)
		fclose(fp);
	util_freezero(b, cap);
	return -1;
}

FILE *
cli_open_out(const char *path, int binary)
{
	FILE *fp;

	(void)binary;
	if (path == NULL || strcmp(path, "-") == 0)
		return stdout;
	if ((fp = fopen(path, "we")) == NULL)
		cli_err("%s: %s", path, strerror(errno));
	return fp;
}

int
cli_close_out(FILE *fp, const char *path)
{
	int bad;

	if (fp == NULL)
		return -1;
	bad = fflush(fp) != 0 || ferror(fp);
	if (fp != stdout && fclose(fp) != 0)
		bad = 1;
	if (bad) {
		cli_err("%s: write error", path != NULL ? path : "stdout");
		return -1;
	}
	return 0;
}

/* ---- certificates and keys ---------------------------------------------- */

#define CLI_FILE_MAX	(1024 * 1024)

int
cli_load_cert(const char *path, X509 **cert)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const unsigned char *p;
	BIO *bio = NULL;
	int r = -1;

	*cert = NULL;
	if (cli_read_file(path, CLI_FILE_MAX, &buf, &len) != 0)
		return -1;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		cli_err("out of memory");
		goto out;
	}
	if ((*cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		p = buf;
		*cert = d2i_X509(NULL, &p, (long)len);
	}
	if (*cert == NULL) {
		cli_err("%s: not a PEM or DER certificate",
		    path != NULL ? path : "stdin");
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	free(buf);
	return r;
}

int
cli_load_privkey(const char *path, EVP_PKEY **key)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const unsigned char *p;
	BIO *bio = NULL;
	int r = -1;

	*key = NULL;
	if (cli_read_file(path, CLI_FILE_MAX, &buf, &len) != 0)
		return -1;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		cli_err("out of memory");
		goto out;
	}
	if ((*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		p = buf;
		*key = d2i_AutoPrivateKey(NULL, &p, (long)len);
	}
	if (*key == NULL) {
		cli_err("%s: not a PEM or DER private key (or wrong passphrase)",
		    path != NULL ? path : "stdin");
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	util_freezero(buf, len);
	return r;
}

int
cli_load_pubkey(const char *path, EVP_PKEY **key)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const unsigned char *p;
	BIO *bio = NULL;
	X509 *x = NULL;
	int r = -1;

	*key = NULL;
	if (cli_read_file(path, CLI_FILE_MAX, &buf, &len) != 0)
		return -1;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		cli_err("out of memory");
		goto out;
	}
	if ((*key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		p = buf;
		*key = d2i_PUBKEY(NULL, &p, (long)len);
	}
	if (*key == NULL) {
		/* A certificate will do too. */
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL &&
		    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
			*key = X509_get_pubkey(x);
	}
	if (*key == NULL) {
		cli_err("%s: not a PEM or DER public key", path);
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	X509_free(x);
	BIO_free(bio);
	free(buf);
	return r;
}

int
cli_alg_of_pkey(const EVP_PKEY *pk, int *alg)
{
	char group[32];
	size_t glen = 0;
	int bits;

	*alg = -1;
	if (EVP_PKEY_is_a(pk, "RSA")) {
		bits = EVP_PKEY_get_bits(pk);
		if (bits == 1024)
			*alg = PIV_ALG_RSA1024;
		else if (bits == 2048)
			*alg = PIV_ALG_RSA2048;
		else if (bits == 3072)
			*alg = PIV_ALG_RSA3072;
		else if (bits == 4096)
			*alg = PIV_ALG_RSA4096;
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) != 1)
			return -1;
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			*alg = PIV_ALG_ECCP256;
		else if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0)
			*alg = PIV_ALG_ECCP384;
	} else if (EVP_PKEY_is_a(pk, "ED25519"))
		*alg = PIV_ALG_ED25519;
	else if (EVP_PKEY_is_a(pk, "X25519"))
		*alg = PIV_ALG_X25519;
	return *alg < 0 ? -1 : 0;
}

int
cli_slot_pubkey(struct token *t, int slot, EVP_PKEY **pub, int *alg)
{
	struct piv_metadata md;
	X509 *cert = NULL;
	int ms = CLI_OP_MS, r;

	*pub = NULL;
	*alg = -1;
	memset(&md, 0, sizeof(md));
	r = piv_metadata(t->piv, (uint8_t)slot, &md, &ms);
	if (r == 0 && md.pub != NULL) {
		*pub = md.pub;
		*alg = md.alg;
		md.pub = NULL;
		piv_metadata_clear(&md);
		return 0;
	}
	if (r == 0)
		*alg = md.alg;
	piv_metadata_clear(&md);
	if (r != 0 && r != PIV_ERR_NOT_SUPPORTED && r != PIV_ERR_NOT_FOUND)
		return r;
	ms = CLI_OP_MS;
	if ((r = piv_read_cert(t->piv, (uint8_t)slot, &cert, &ms)) != 0)
		return r;
	*pub = X509_get_pubkey(cert);
	X509_free(cert);
	if (*pub == NULL)
		return PIV_ERR_CRYPTO;
	if (*alg < 0 && cli_alg_of_pkey(*pub, alg) != 0) {
		EVP_PKEY_free(*pub);
		*pub = NULL;
		return PIV_ERR_NOT_SUPPORTED;
	}
	return 0;
}

int
cli_slot_key(struct token *t, const char *what, int slot, EVP_PKEY **pub,
    int *alg)
{
	int r;

	if ((r = cli_slot_pubkey(t, slot, pub, alg)) == 0)
		return EX_OK;
	if (r != PIV_ERR_NOT_FOUND)
		return cli_piv_fail(what, r);
	cli_err("%s: slot %02x holds no key", what, slot);
	return EX_NOTFOUND;
}

const char *
cli_name_line(const X509_NAME *n, char *buf, size_t cap)
{
	BIO *bio;
	int len;

	buf[0] = '\0';
	if (n == NULL || (bio = BIO_new(BIO_s_mem())) == NULL)
		return buf;
	if (X509_NAME_print_ex(bio, n, 0, XN_FLAG_ONELINE) >= 0 &&
	    (len = BIO_read(bio, buf, (int)cap - 1)) > 0)
		buf[len] = '\0';
	BIO_free(bio);
	return buf;
}

const char *
cli_time_line(const ASN1_TIME *t, char *buf, size_t cap)
{
	struct tm tm;

	buf[0] = '\0';
	if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

/* ---- JSON ---------------------------------------------------------------- */

void
json_str(FILE *fp, const char *s)
{
	const unsigned char *p;

	fputc('"', fp);
	for (p = (const unsigned char *)s; p != NULL && *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", fp);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

int
cli_rsa_bytes(int alg)
{
	return alg < 0 || alg > 0xff ? 0 : (int)piv_rsa_bytes((uint8_t)alg);
}
