/* SPDX-License-Identifier: MIT */
/*
 * tests/vtoken/vcard_state.c — the card's persistent state in a small
 * line-based text file, rewritten atomically (temporary file, rename)
 * after every change.  No fsync: the rename keeps a killed card's state
 * whole, and a test card need not survive a power cut; fsync per PIN try
 * would make every run pay for it.
 *
 *   vcard-state 1
 *   serial DEC
 *   version HEX6
 *   pin HEX16 TRIES MAX
 *   puk HEX16 TRIES MAX
 *   mgm ALG TOUCH HEXKEY
 *   slot SLOT ALG PINPOL TOUCHPOL ORIGIN HEXDER     (private key, DER)
 *   obj TAG HEXDATA
 *   end
 *
 * The loader accepts nothing else: a file it does not fully understand
 * makes vcard_new fail.
 */
#include "vcard_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "vt_util.h"

#define STATE_MAX	(1024 * 1024)
#define MAX_TOKENS	8
#define IOBUF		8192

/* ---- save ------------------------------------------------------------------ */

static int
put_hex(FILE *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fprintf(f, "%02X", p[i]) != 2)
			return -1;
	return 0;
}

static int
write_state(struct vcard *c, FILE *f)
{
	uint8_t *der = NULL;
	size_t i;
	int n = 0, r = -1;

	if (fprintf(f, "vcard-state 1\nserial %lu\nversion ",
	    (unsigned long)c->serial) < 0 || put_hex(f, c->version, 3) != 0 ||
	    fputs("\npin ", f) < 0 || put_hex(f, c->pin, VC_PIN_LEN) != 0 ||
	    fprintf(f, " %u %u\npuk ", c->pin_tries, c->pin_max) < 0 ||
	    put_hex(f, c->puk, VC_PIN_LEN) != 0 ||
	    fprintf(f, " %u %u\nmgm %02X %u ", c->puk_tries, c->puk_max,
	    c->mgm_alg, c->mgm_touch) < 0 ||
	    put_hex(f, c->mgm_key, c->mgm_len) != 0 || fputc('\n', f) == EOF)
		goto out;
	for (i = 0; i < VC_NSLOTS; i++) {
		const struct vslot *s = &c->slots[i];

		if (s->pkey == NULL)
			continue;
		if ((n = i2d_PrivateKey(s->pkey, &der)) <= 0)
			goto out;
		if (fprintf(f, "slot %02X %02X %02X %02X %02X ",
		    vc_slot_id((int)i), s->alg, s->pin_policy,
		    s->touch_policy, s->origin) < 0 ||
		    put_hex(f, der, (size_t)n) != 0 || fputc('\n', f) == EOF)
			goto out;
		OPENSSL_clear_free(der, (size_t)n);
		der = NULL;
		n = 0;
	}
	for (i = 0; i < c->nobjs; i++)
		if (fprintf(f, "obj %06lX ", (unsigned long)c->objs[i].tag) < 0 ||
		    put_hex(f, c->objs[i].data, c->objs[i].len) != 0 ||
		    fputc('\n', f) == EOF)
			goto out;
	if (fputs("end\n", f) < 0)
		goto out;
	r = 0;
out:
	if (der != NULL)
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
	return r;
}

int
vs_save(struct vcard *c)
{
	char *tmp = NULL, *iobuf = NULL;
	size_t n;
	FILE *f = NULL;
	int r = -1;

	if (c->state_path == NULL)
		return 0;
	/* our own stdio buffer, so that the secrets in it can be wiped */
	if ((iobuf = malloc(IOBUF)) == NULL)
		return -1;
	n = strlen(c->state_path) + 5;
	if ((tmp = malloc(n)) == NULL)
		return -1;
	snprintf(tmp, n, "%s.tmp", c->state_path);
	if ((f = fopen(tmp, "we")) == NULL ||
	    setvbuf(f, iobuf, _IOFBF, IOBUF) != 0)
		goto out;
	if (write_state(c, f) != 0 || fflush(f) != 0)
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (rename(tmp, c->state_path) != 0)
		goto out;
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	if (r != 0)
		unlink(tmp);
	free(tmp);
	vt_freezero(iobuf, IOBUF);
	return r;
}

/* ---- load ------------------------------------------------------------------ */

static int
num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *v <= max ? 0 : -1;
}

static int
hexnum(const char *s, size_t digits, unsigned long *v)
{
	uint8_t b[4];
	size_t n, i;

	if (strlen(s) != digits || digits > 8 ||
	    vt_unhex(s, b, sizeof(b), &n) != 0 || n * 2 != digits)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | b[i];
	return 0;
}

/* Does the key really have the algorithm the file claims? */
static int
key_matches(const EVP_PKEY *k, uint8_t alg)
{
	int id = EVP_PKEY_get_base_id(k), bits = EVP_PKEY_get_bits(k);

	switch (alg) {
	case ALG_RSA1024:
		return id == EVP_PKEY_RSA && bits == 1024;
	case ALG_RSA2048:
		return id == EVP_PKEY_RSA && bits == 2048;
	case ALG_RSA3072:
		return id == EVP_PKEY_RSA && bits == 3072;
	case ALG_RSA4096:
		return id == EVP_PKEY_RSA && bits == 4096;
	case ALG_P256:
		return id == EVP_PKEY_EC && bits == 256;
	case ALG_P384:
		return id == EVP_PKEY_EC && bits == 384;
	case ALG_ED25519:
		return id == EVP_PKEY_ED25519;
	case ALG_X25519:
		return id == EVP_PKEY_X25519;
	default:
		return 0;
	}
}

static int
load_secret(char **t, int nt, uint8_t *ref, uint8_t *tries, uint8_t *max)
{
	unsigned long a, b;
	size_t n;

	if (nt != 4 || vt_unhex(t[1], ref, VC_PIN_LEN, &n) != 0 ||
	    n != VC_PIN_LEN || num(t[2], 255, &a) != 0 ||
	    num(t[3], 255, &b) != 0 || b == 0 || a > b)
		return -1;
	*tries = (uint8_t)a;
	*max = (uint8_t)b;
	return 0;
}

static int
load_slot(struct vcard *c, char **t, int nt, uint8_t *buf, size_t cap)
{
	unsigned long id, alg, pin, touch, origin;
	const uint8_t *p = buf;
	EVP_PKEY *k = NULL;
	size_t n;
	int idx;

	if (nt != 7 || hexnum(t[1], 2, &id) != 0 ||
	    (idx = vc_slot_index((uint8_t)id)) < 0 ||
	    c->slots[idx].pkey != NULL || hexnum(t[2], 2, &alg) != 0 ||
	    hexnum(t[3], 2, &pin) != 0 || pin < PIN_POL_NEVER ||
	    pin > PIN_POL_ALWAYS || hexnum(t[4], 2, &touch) != 0 ||
	    touch < TOUCH_POL_NEVER || touch > TOUCH_POL_CACHED ||
	    hexnum(t[5], 2, &origin) != 0 ||
	    (origin != ORIGIN_GENERATED && origin != ORIGIN_IMPORTED) ||
	    vt_unhex(t[6], buf, cap, &n) != 0 || n == 0)
		return -1;
	if ((k = d2i_AutoPrivateKey(NULL, &p, (long)n)) == NULL ||
	    p != buf + n || !key_matches(k, (uint8_t)alg)) {
		EVP_PKEY_free(k);
		return -1;
	}
	c->slots[idx].pkey = k;
	c->slots[idx].alg = (uint8_t)alg;
	c->slots[idx].pin_policy = (uint8_t)pin;
	c->slots[idx].touch_policy = (uint8_t)touch;
	c->slots[idx].origin = (uint8_t)origin;
	return 0;
}

static int
parse_line(struct vcard *c, char *line, uint8_t *buf, size_t cap,
    unsigned *seen)
{
	char *t[MAX_TOKENS], *save = NULL, *tok;
	unsigned long v;
	size_t n;
	int nt = 0;

	for (tok = strtok_r(line, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (nt == MAX_TOKENS)
			return -1;
		t[nt++] = tok;
	}
	if (nt == 0)
		return -1;
	if (strcmp(t[0], "serial") == 0) {
		if (nt != 2 || num(t[1], 0xffffffffUL, &v) != 0)
			return -1;
		c->serial = (uint32_t)v;
		*seen |= 1;
	} else if (strcmp(t[0], "version") == 0) {
		if (nt != 2 || vt_unhex(t[1], c->version, 3, &n) != 0 ||
		    n != 3)
			return -1;
		*seen |= 2;
	} else if (strcmp(t[0], "pin") == 0) {
		if (load_secret(t, nt, c->pin, &c->pin_tries,
		    &c->pin_max) != 0)
			return -1;
		*seen |= 4;
	} else if (strcmp(t[0], "puk") == 0) {
		if (load_secret(t, nt, c->puk, &c->puk_tries,
		    &c->puk_max) != 0)
			return -1;
		*seen |= 8;
	} else if (strcmp(t[0], "mgm") == 0) {
		if (nt != 4 || hexnum(t[1], 2, &v) != 0 ||
		    vk_mgm_keylen((uint8_t)v) == 0)
			return -1;
		c->mgm_alg = (uint8_t)v;
		if (num(t[2], 1, &v) != 0)
			return -1;
		c->mgm_touch = (uint8_t)v;
		vt_wipe(c->mgm_key, sizeof(c->mgm_key));
		if (vt_unhex(t[3], c->mgm_key, sizeof(c->mgm_key),
		    &c->mgm_len) != 0 || c->mgm_len != vk_mgm_keylen(c->mgm_alg))
			return -1;
		*seen |= 16;
	} else if (strcmp(t[0], "slot") == 0) {
		if (load_slot(c, t, nt, buf, cap) != 0)
			return -1;
	} else if (strcmp(t[0], "obj") == 0) {
		if (nt != 3 || hexnum(t[1], 6, &v) != 0 ||
		    vc_obj_get(c, (uint32_t)v) != NULL ||
		    vt_unhex(t[2], buf, cap, &n) != 0 || n == 0 ||
		    vc_obj_set(c, (uint32_t)v, buf, n) != 0)
			return -1;
	} else if (strcmp(t[0], "end") == 0) {
		if (nt != 1)
			return -1;
		*seen |= 32;
	} else
		return -1;
	return 0;
}

int
vs_load(struct vcard *c)
{
	char *text = NULL, *line, *nl;
	uint8_t *buf = NULL;
	unsigned seen = 0;
	size_t len;
	FILE *f = NULL;
	int r = -1;

	/* unbuffered: no copy of the secrets left in a stdio buffer */
	if ((f = fopen(c->state_path, "re")) == NULL ||
	    setvbuf(f, NULL, _IONBF, 0) != 0 ||
	    (text = malloc(STATE_MAX + 1)) == NULL ||
	    (buf = malloc(STATE_MAX / 2)) == NULL)
		goto out;
	len = fread(text, 1, STATE_MAX + 1, f);
	if (ferror(f) || len == 0 || len > STATE_MAX)
		goto out;
	text[len] = '\0';
	if (strlen(text) != len)
		goto out;	/* NUL inside */
	line = text;
	if ((nl = strchr(line, '\n')) == NULL)
		goto out;
	*nl = '\0';
	if (strcmp(line, "vcard-state 1") != 0)
		goto out;
	for (line = nl + 1; *line != '\0'; line = nl + 1) {
		if (seen & 32)
			goto out;	/* nothing after "end" */
		if ((nl = strchr(line, '\n')) == NULL)
			goto out;
		*nl = '\0';
		if (parse_line(c, line, buf, STATE_MAX / 2, &seen) != 0)
			goto out;
	}
	if (seen != 63)
		goto out;
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	vt_freezero(text, STATE_MAX + 1);
	vt_freezero(buf, STATE_MAX / 2);
	return r;
}
