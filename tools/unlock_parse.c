/* SPDX-License-Identifier: MIT */
/*
 * tools/unlock_parse.c — pure parsers for `usbpiv unlock` (see
 * unlock_parse.h): the wrapped-key file, the systemd-pkcs11 token JSON,
 * its pkcs11: URI and base64.  All input is hostile: every read is
 * checked against the bytes remaining, every length against a ceiling,
 * and every output is zeroed on every error path.
 */
#include "unlock_parse.h"

#include <string.h>

#include "../util/util.h"
#include "../piv/piv.h"

/* ---- small helpers ------------------------------------------------------ */

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* s (slen bytes, not terminated) equals the C string w, ignoring case. */
static int
eq_nocase(const char *s, size_t slen, const char *w)
{
	size_t i;

	if (slen != strlen(w))
		return 0;
	for (i = 0; i < slen; i++)
		if (lower((unsigned char)s[i]) != lower((unsigned char)w[i]))
			return 0;
	return 1;
}

/* Exactly 2 * n hex digits -> n bytes. */
static int
unhex_exact(const char *s, size_t slen, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (slen != 2 * n)
		return UNLOCK_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if ((hi = util_hexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = util_hexval((unsigned char)s[2 * i + 1])) < 0) {
			util_wipe(out, n);
			return UNLOCK_ERR_FORMAT;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- base64 ------------------------------------------------------------- */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
unlock_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap,
    size_t *outlen)
{
	size_t i, j, n = 0, pad = 0;
	uint32_t acc;
	int v[4], k;

	if (outlen == NULL)
		return UNLOCK_ERR_ARG;
	*outlen = 0;
	if (s == NULL || (out == NULL && cap != 0))
		return UNLOCK_ERR_ARG;
	if (len == 0 || len % 4 != 0)
		return UNLOCK_ERR_FORMAT;
	/* padding: only the last one or two characters of the last quantum */
	if (s[len - 1] == '=')
		pad++;
	if (pad == 1 && s[len - 2] == '=')
		pad++;
	if (len / 4 * 3 - pad > cap)
		return UNLOCK_ERR_TOO_LONG;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (i + 4 == len && k >= 4 - (int)pad)
				v[k] = 0;
			else if ((v[k] = b64val((unsigned char)s[i +
			    (size_t)k])) < 0)
				goto fail;
		}
		acc = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* the bits the padding drops must be zero (canonical) */
		if ((pad == 1 && i + 4 == len && (acc & 0xff) != 0) ||
		    (pad == 2 && i + 4 == len && (acc & 0xffff) != 0))
			goto fail;
		for (j = 0; j < 3 - (i + 4 == len ? pad : 0); j++)
			out[n++] = (uint8_t)(acc >> (16 - 8 * j));
	}
	*outlen = n;
	return 0;
fail:
	util_wipe(out, cap);
	return UNLOCK_ERR_FORMAT;
}

/* ---- the wrapped-key file ----------------------------------------------- */

static const struct {
	const char *name;
	int alg;
	int ecdh;
} wrap_algs[] = {
	{ "rsa1024", PIV_ALG_RSA1024, 0 }, { "rsa2048", PIV_ALG_RSA2048, 0 },
	{ "rsa3072", PIV_ALG_RSA3072, 0 }, { "rsa4096", PIV_ALG_RSA4096, 0 },
	{ "eccp256", PIV_ALG_ECCP256, 1 }, { "p256", PIV_ALG_ECCP256, 1 },
	{ "eccp384", PIV_ALG_ECCP384, 1 }, { "p384", PIV_ALG_ECCP384, 1 },
	{ "x25519", PIV_ALG_X25519, 1 },
};

/*
 * The lengths are checked against the set the writer can produce, not
 * against the alg line: a file whose slot/alg lines were edited to name
 * another key must still parse, so that unlock can say "wrong key" (the
 * fingerprint check) instead of "not a wrapped-key file".
 */
static const size_t eph_lens[] = { 32, 65, 97 };	/* X25519, P-256/384 */
static const size_t rsa_lens[] = { 128, 256, 384, 512 };

/* Hex of one of the n lengths in lens (bytes) into out. */
static int
unhex_oneof(const char *s, size_t slen, const size_t *lens, size_t n,
    uint8_t *out, size_t *outlen)
{
	size_t i;
	int r;

	*outlen = 0;
	for (i = 0; i < n; i++)
		if (slen == 2 * lens[i]) {
			if ((r = unhex_exact(s, slen, out, lens[i])) != 0)
				return r;
			*outlen = lens[i];
			return 0;
		}
	return UNLOCK_ERR_FORMAT;
}

/* The next line: "name value\n"; *val, *vlen the value; cursor advanced. */
static int
next_line(const char *txt, size_t len, size_t *pos, const char *name,
    const char **val, size_t *vlen)
{
	size_t n = strlen(name), start = *pos, i;

	*val = NULL;
	*vlen = 0;
	if (len - start < n + 1 || memcmp(txt + start, name, n) != 0 ||
	    txt[start + n] != ' ')
		return UNLOCK_ERR_FORMAT;
	for (i = start + n + 1; i < len && txt[i] != '\n'; i++)
		if (txt[i] == '\0' || txt[i] == '\r')
			return UNLOCK_ERR_FORMAT;
	if (i == len)			/* no '\n': a cut file */
		return UNLOCK_ERR_FORMAT;
	*val = txt + start + n + 1;
	*vlen = i - (start + n + 1);
	*pos = i + 1;
	return 0;
}

static int
parse_slot(const char *v, size_t vlen, int *slot)
{
	int hi, lo, s;

	*slot = -1;
	if (vlen != 2 || (hi = util_hexval((unsigned char)v[0])) < 0 ||
	    (lo = util_hexval((unsigned char)v[1])) < 0)
		return UNLOCK_ERR_FORMAT;
	s = hi << 4 | lo;
	if (s != 0x9a && s != 0x9c && s != 0x9d && s != 0x9e && s != 0xf9 &&
	    !(s >= PIV_SLOT_RETIRED1 && s <= PIV_SLOT_RETIRED20))
		return UNLOCK_ERR_FORMAT;
	*slot = s;
	return 0;
}

/* Decimal, digits only, at most 10 of them, <= UINT32_MAX. */
static int
parse_u32(const char *v, size_t vlen, uint32_t *out)
{
	uint64_t x = 0;
	size_t i;

	*out = 0;
	if (vlen == 0 || vlen > 10)
		return UNLOCK_ERR_FORMAT;
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return UNLOCK_ERR_FORMAT;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (x > UINT32_MAX)
		return UNLOCK_ERR_FORMAT;
	*out = (uint32_t)x;
	return 0;
}

void
unlock_wrapped_clear(struct unlock_wrapped *w)
{
	if (w == NULL)
		return;
	util_wipe(w, sizeof(*w));
	w->slot = -1;
}

int
unlock_parse_wrapped(const char *txt, size_t len, struct unlock_wrapped *w)
{
	const char *v;
	size_t vlen, pos = 0, ml = strlen(UNLOCK_WRAP_MAGIC), i, ai;
	int r;

	if (w == NULL)
		return UNLOCK_ERR_ARG;
	unlock_wrapped_clear(w);
	if (txt == NULL)
		return UNLOCK_ERR_ARG;
	if (len > UNLOCK_FILE_MAX)
		return UNLOCK_ERR_TOO_LONG;
	/* line 1: the magic and version */
	if (len < ml + 1 || memcmp(txt, UNLOCK_WRAP_MAGIC, ml - 1) != 0)
		return UNLOCK_ERR_FORMAT;
	if (txt[ml - 1] != '1' || txt[ml] != '\n')
		return UNLOCK_ERR_VERSION;
	pos = ml + 1;
	/* lines 2..5, in this order: the header the GCM tag covers */
	if ((r = next_line(txt, len, &pos, "slot", &v, &vlen)) != 0 ||
	    (r = parse_slot(v, vlen, &w->slot)) != 0 ||
	    (r = next_line(txt, len, &pos, "alg", &v, &vlen)) != 0)
		goto fail;
	for (ai = 0; ai < UTIL_ARRAY_LEN(wrap_algs); ai++)
		if (eq_nocase(v, vlen, wrap_algs[ai].name))
			break;
	if (ai == UTIL_ARRAY_LEN(wrap_algs)) {
		r = UNLOCK_ERR_FORMAT;
		goto fail;
	}
	w->alg = wrap_algs[ai].alg;
	w->ecdh = wrap_algs[ai].ecdh;
	if ((r = next_line(txt, len, &pos, "serial", &v, &vlen)) != 0 ||
	    (r = parse_u32(v, vlen, &w->serial)) != 0 ||
	    (r = next_line(txt, len, &pos, "fingerprint", &v, &vlen)) != 0 ||
	    (r = unhex_exact(v, vlen, w->fp, sizeof(w->fp))) != 0)
		goto fail;
	w->hdrlen = pos;
	/* the method must fit the key's algorithm */
	if ((r = next_line(txt, len, &pos, "method", &v, &vlen)) != 0)
		goto fail;
	if (!(w->ecdh ? vlen == strlen("ecdh-hkdf-sha256-aes256gcm") &&
	    memcmp(v, "ecdh-hkdf-sha256-aes256gcm", vlen) == 0 :
	    vlen == strlen("rsa-oaep-sha256") &&
	    memcmp(v, "rsa-oaep-sha256", vlen) == 0)) {
		r = UNLOCK_ERR_FORMAT;
		goto fail;
	}
	if (w->ecdh) {
		if ((r = next_line(txt, len, &pos, "ephemeral", &v,
		    &vlen)) != 0 ||
		    (r = unhex_oneof(v, vlen, eph_lens,
		    UTIL_ARRAY_LEN(eph_lens), w->eph, &w->ephlen)) != 0 ||
		    (r = next_line(txt, len, &pos, "nonce", &v, &vlen)) != 0 ||
		    (r = unhex_exact(v, vlen, w->nonce,
		    sizeof(w->nonce))) != 0)
			goto fail;
		/* an EC point is uncompressed */
		if (w->ephlen != 32 && w->eph[0] != 0x04) {
			r = UNLOCK_ERR_FORMAT;
			goto fail;
		}
		if ((r = next_line(txt, len, &pos, "data", &v, &vlen)) != 0 ||
		    (r = unhex_exact(v, vlen, w->data,
		    UNLOCK_WRAP_SECRET + 16)) != 0)
			goto fail;
		w->datalen = UNLOCK_WRAP_SECRET + 16;
	} else if ((r = next_line(txt, len, &pos, "data", &v, &vlen)) != 0 ||
	    (r = unhex_oneof(v, vlen, rsa_lens, UTIL_ARRAY_LEN(rsa_lens),
	    w->data, &w->datalen)) != 0)
		goto fail;
	/* nothing after the data line (no second copy of any field) */
	for (i = pos; i < len; i++)
		if (txt[i] != '\n') {
			r = UNLOCK_ERR_FORMAT;
			goto fail;
		}
	return 0;
fail:
	unlock_wrapped_clear(w);
	return r;
}

/* ---- JSON --------------------------------------------------------------- */

struct jp {
	const char *s;
	size_t len, pos;
};

static void
j_ws(struct jp *j)
{
	while (j->pos < j->len && (j->s[j->pos] == ' ' ||
	    j->s[j->pos] == '\t' || j->s[j->pos] == '\n' ||
	    j->s[j->pos] == '\r'))
		j->pos++;
}

static int
j_hex4(struct jp *j, uint32_t *u)
{
	size_t i;
	int v;

	*u = 0;
	if (j->len - j->pos < 4)
		return UNLOCK_ERR_FORMAT;
	for (i = 0; i < 4; i++) {
		if ((v = util_hexval((unsigned char)j->s[j->pos + i])) < 0)
			return UNLOCK_ERR_FORMAT;
		*u = *u << 4 | (uint32_t)v;
	}
	j->pos += 4;
	return 0;
}

/* Appends n bytes to out (cap includes the NUL); *over once it is full. */
static void
j_put(char *out, size_t cap, size_t *olen, int *over, const char *b,
    size_t n)
{
	if (out == NULL || *over)
		return;
	if (cap == 0 || n > cap - 1 - *olen) {
		*over = 1;
		return;
	}
	memcpy(out + *olen, b, n);
	*olen += n;
}

/*
 * A string at j->pos (the opening quote), escapes decoded into out (NULL:
 * skip).  Control characters and \u0000 refused; surrogates must pair.
 * *over when it did not fit cap - 1 bytes (the parse still completes).
 */
static int
j_string(struct jp *j, char *out, size_t cap, size_t *olen, int *over)
{
	uint32_t u, lo;
	char b[4];
	size_t n;
	unsigned char c;

	*olen = 0;
	*over = 0;
	if (j->pos >= j->len || j->s[j->pos] != '"')
		return UNLOCK_ERR_FORMAT;
	j->pos++;
	for (;;) {
		if (j->pos >= j->len)
			return UNLOCK_ERR_FORMAT;
		c = (unsigned char)j->s[j->pos++];
		if (c == '"')
			break;
		if (c < 0x20)
			return UNLOCK_ERR_FORMAT;
		if (c != '\\') {
			b[0] = (char)c;
			j_put(out, cap, olen, over, b, 1);
			continue;
		}
		if (j->pos >= j->len)
			return UNLOCK_ERR_FORMAT;
		c = (unsigned char)j->s[j->pos++];
		switch (c) {
		case '"': case '\\': case '/':
			b[0] = (char)c;
			break;
		case 'b': b[0] = '\b'; break;
		case 'f': b[0] = '\f'; break;
		case 'n': b[0] = '\n'; break;
		case 'r': b[0] = '\r'; break;
		case 't': b[0] = '\t'; break;
		case 'u':
			if (j_hex4(j, &u) != 0 || u == 0 ||
			    (u >= 0xdc00 && u <= 0xdfff))
				return UNLOCK_ERR_FORMAT;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (j->len - j->pos < 2 ||
				    j->s[j->pos] != '\\' ||
				    j->s[j->pos + 1] != 'u')
					return UNLOCK_ERR_FORMAT;
				j->pos += 2;
				if (j_hex4(j, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return UNLOCK_ERR_FORMAT;
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			/* UTF-8 */
			if (u < 0x80) {
				b[0] = (char)u;
				n = 1;
			} else if (u < 0x800) {
				b[0] = (char)(0xc0 | u >> 6);
				b[1] = (char)(0x80 | (u & 0x3f));
				n = 2;
			} else if (u < 0x10000) {
				b[0] = (char)(0xe0 | u >> 12);
				b[1] = (char)(0x80 | ((u >> 6) & 0x3f));
				b[2] = (char)(0x80 | (u & 0x3f));
				n = 3;
			} else {
				b[0] = (char)(0xf0 | u >> 18);
				b[1] = (char)(0x80 | ((u >> 12) & 0x3f));
				b[2] = (char)(0x80 | ((u >> 6) & 0x3f));
				b[3] = (char)(0x80 | (u & 0x3f));
				n = 4;
			}
			j_put(out, cap, olen, over, b, n);
			continue;
		default:
			return UNLOCK_ERR_FORMAT;
		}
		j_put(out, cap, olen, over, b, 1);
	}
	if (out != NULL && cap > 0)
		out[*olen] = '\0';
	return 0;
}

static int
j_digits(struct jp *j)
{
	size_t start = j->pos;

	while (j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
		j->pos++;
	return j->pos > start ? 0 : UNLOCK_ERR_FORMAT;
}

static int
j_number(struct jp *j)
{
	if (j->pos < j->len && j->s[j->pos] == '-')
		j->pos++;
	if (j->pos < j->len && j->s[j->pos] == '0')
		j->pos++;
	else if (j_digits(j) != 0)
		return UNLOCK_ERR_FORMAT;
	if (j->pos < j->len && j->s[j->pos] == '.') {
		j->pos++;
		if (j_digits(j) != 0)
			return UNLOCK_ERR_FORMAT;
	}
	if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->len && (j->s[j->pos] == '+' ||
		    j->s[j->pos] == '-'))
			j->pos++;
		if (j_digits(j) != 0)
			return UNLOCK_ERR_FORMAT;
	}
	return 0;
}

static int
j_literal(struct jp *j, const char *w)
{
	size_t n = strlen(w);

	if (j->len - j->pos < n || memcmp(j->s + j->pos, w, n) != 0)
		return UNLOCK_ERR_FORMAT;
	j->pos += n;
	return 0;
}

static int j_value(struct jp *, int);

/*
 * An object at j->pos.  With key != NULL (the top level only) the string
 * value of member `key` goes to val; *found counts the members so named.
 */
static int
j_object(struct jp *j, int depth, const char *key, char *val, size_t cap,
    size_t *vlen, int *found, int *over)
{
	char kb[64];
	size_t klen;
	int kover, r;

	if (depth > UNLOCK_JSON_DEPTH)
		return UNLOCK_ERR_TOO_LONG;
	j->pos++;			/* '{' */
	j_ws(j);
	if (j->pos < j->len && j->s[j->pos] == '}') {
		j->pos++;
		return 0;
	}
	for (;;) {
		j_ws(j);
		if ((r = j_string(j, kb, sizeof(kb), &klen, &kover)) != 0)
			return r;
		j_ws(j);
		if (j->pos >= j->len || j->s[j->pos] != ':')
			return UNLOCK_ERR_FORMAT;
		j->pos++;
		j_ws(j);
		if (key != NULL && !kover && klen == strlen(key) &&
		    memcmp(kb, key, klen) == 0) {
			if (++*found > 1)
				return UNLOCK_ERR_FORMAT;   /* duplicate */
			if (j->pos >= j->len)
				return UNLOCK_ERR_FORMAT;
			if (j->s[j->pos] != '"') {
				/* still check the syntax, then say type */
				if ((r = j_value(j, depth + 1)) != 0)
					return r;
				*found = -1000;
			} else if ((r = j_string(j, val, cap, vlen,
			    over)) != 0)
				return r;
		} else if ((r = j_value(j, depth + 1)) != 0)
			return r;
		j_ws(j);
		if (j->pos >= j->len)
			return UNLOCK_ERR_FORMAT;
		if (j->s[j->pos] == '}') {
			j->pos++;
			return 0;
		}
		if (j->s[j->pos++] != ',')
			return UNLOCK_ERR_FORMAT;
	}
}

static int
j_array(struct jp *j, int depth)
{
	int r;

	if (depth > UNLOCK_JSON_DEPTH)
		return UNLOCK_ERR_TOO_LONG;
	j->pos++;			/* '[' */
	j_ws(j);
	if (j->pos < j->len && j->s[j->pos] == ']') {
		j->pos++;
		return 0;
	}
	for (;;) {
		if ((r = j_value(j, depth + 1)) != 0)
			return r;
		j_ws(j);
		if (j->pos >= j->len)
			return UNLOCK_ERR_FORMAT;
		if (j->s[j->pos] == ']') {
			j->pos++;
			return 0;
		}
		if (j->s[j->pos++] != ',')
			return UNLOCK_ERR_FORMAT;
	}
}

/* Any value (leading whitespace skipped); recursion bounded by depth. */
static int
j_value(struct jp *j, int depth)
{
	size_t olen;
	int over, found = 0;

	j_ws(j);
	if (j->pos >= j->len)
		return UNLOCK_ERR_FORMAT;
	switch (j->s[j->pos]) {
	case '{':
		return j_object(j, depth, NULL, NULL, 0, &olen, &found, &over);
	case '[':
		return j_array(j, depth);
	case '"':
		return j_string(j, NULL, 0, &olen, &over);
	case 't':
		return j_literal(j, "true");
	case 'f':
		return j_literal(j, "false");
	case 'n':
		return j_literal(j, "null");
	default:
		if (j->s[j->pos] == '-' ||
		    (j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
			return j_number(j);
		return UNLOCK_ERR_FORMAT;
	}
}

int
unlock_json_string(const char *js, size_t len, const char *key, char *val,
    size_t cap, size_t *vallen)
{
	struct jp j;
	int r, found = 0, over = 0;
	size_t vl = 0;

	if (vallen == NULL)
		return UNLOCK_ERR_ARG;
	*vallen = 0;
	if (val == NULL || cap == 0)
		return UNLOCK_ERR_ARG;
	util_wipe(val, cap);
	if (js == NULL || key == NULL)
		return UNLOCK_ERR_ARG;
	if (len > UNLOCK_FILE_MAX)
		return UNLOCK_ERR_TOO_LONG;
	j.s = js;
	j.len = len;
	j.pos = 0;
	j_ws(&j);
	if (j.pos >= j.len || js[j.pos] != '{')
		return UNLOCK_ERR_FORMAT;
	r = j_object(&j, 1, key, val, cap, &vl, &found, &over);
	if (r == 0) {
		j_ws(&j);
		if (j.pos != j.len)
			r = UNLOCK_ERR_FORMAT;	/* trailing bytes */
		else if (found < 0)
			r = UNLOCK_ERR_TYPE;
		else if (found == 0)
			r = UNLOCK_ERR_NOT_FOUND;
		else if (over)
			r = UNLOCK_ERR_TOO_LONG;
		/* a C string: an embedded NUL cannot come from \u0000 or a
		 * raw byte, but check anyway */
		else if (memchr(val, '\0', vl) != NULL)
			r = UNLOCK_ERR_FORMAT;
	}
	if (r != 0) {
		util_wipe(val, cap);
		return r;
	}
	*vallen = vl;
	return 0;
}

/* ---- the pkcs11: URI ---------------------------------------------------- */

/* Percent-decodes s[0..n) into out (cap bytes); NUL bytes refused
 * unless nul_ok (a CKA_ID is binary, a label is text). */
static int
pct_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *olen,
    int nul_ok)
{
	size_t i, k = 0;
	int hi, lo;

	*olen = 0;
	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '%') {
			if (n - i < 3 ||
			    (hi = util_hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = util_hexval((unsigned char)s[i + 2])) < 0)
				return UNLOCK_ERR_FORMAT;
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		if (c == 0 && (!nul_ok || s[i] != '0'))
			return UNLOCK_ERR_FORMAT;
		if (k >= cap)
			return UNLOCK_ERR_TOO_LONG;
		out[k++] = c;
	}
	*olen = k;
	return 0;
}

static int
mem_has(const uint8_t *p, size_t n, const char *w)
{
	size_t wl = strlen(w), i;

	for (i = 0; wl <= n && i <= n - wl; i++)
		if (memcmp(p + i, w, wl) == 0)
			return 1;
	return 0;
}

int
unlock_uri_slot(const char *uri, size_t len, int *slot)
{
	static const uint8_t map[] = { 0x9a, 0x9c, 0x9d, 0x9e };
	static const struct { const char *label; int slot; } labels[] = {
		{ "PIV Authentication", 0x9a },
		{ "Digital Signature", 0x9c },
		{ "Key Management", 0x9d },
		{ "Card Authentication", 0x9e },
	};
	uint8_t id[8], obj[256];
	size_t pend, a, e, eq, idlen = 0, objlen = 0, i;
	int has_id = 0, has_obj = 0, r;

	if (slot == NULL)
		return UNLOCK_ERR_ARG;
	*slot = -1;
	if (uri == NULL)
		return UNLOCK_ERR_ARG;
	if (len > UNLOCK_URI_MAX)
		return UNLOCK_ERR_TOO_LONG;
	if (len < 7 || !eq_nocase(uri, 7, "pkcs11:"))
		return UNLOCK_ERR_FORMAT;
	for (i = 0; i < len; i++)
		if (uri[i] == '\0')
			return UNLOCK_ERR_FORMAT;
	/* the path: up to the query or fragment */
	for (pend = 7; pend < len && uri[pend] != '?' && uri[pend] != '#';
	    pend++)
		;
	for (a = 7; a < pend; a = e + 1) {
		for (e = a; e < pend && uri[e] != ';'; e++)
			;
		for (eq = a; eq < e && uri[eq] != '='; eq++)
			;
		if (e == a)			/* empty attribute: ";;" */
			continue;
		if (eq == e)
			return UNLOCK_ERR_FORMAT;	/* no '=' */
		if (eq - a == 2 && memcmp(uri + a, "id", 2) == 0) {
			if (has_id++ ||
			    (r = pct_decode(uri + eq + 1, e - eq - 1, id,
			    sizeof(id), &idlen, 1)) != 0)
				return has_id > 1 ? UNLOCK_ERR_FORMAT : r;
		} else if (eq - a == 6 && memcmp(uri + a, "object", 6) == 0) {
			if (has_obj++ ||
			    (r = pct_decode(uri + eq + 1, e - eq - 1, obj,
			    sizeof(obj), &objlen, 0)) != 0)
				return has_obj > 1 ? UNLOCK_ERR_FORMAT : r;
		}
	}
	if (has_id) {
		/* our module's CKA_ID is one byte */
		if (idlen != 1)
			return 0;
		if (id[0] >= 1 && id[0] <= 4)
			*slot = map[id[0] - 1];
		else if (id[0] >= 5 && id[0] <= 0x18)
			*slot = 0x82 + id[0] - 5;
		else if (id[0] == 0x19)
			*slot = 0xf9;
		return 0;
	}
	if (has_obj)
		for (i = 0; i < UTIL_ARRAY_LEN(labels); i++)
			if (mem_has(obj, objlen, labels[i].label)) {
				*slot = labels[i].slot;
				break;
			}
	return 0;
}

/* ---- the systemd-pkcs11 token ------------------------------------------- */

void
unlock_systemd_clear(struct unlock_systemd *s)
{
	if (s == NULL)
		return;
	util_wipe(s, sizeof(*s));
	s->slot = -1;
}

int
unlock_parse_systemd(const char *js, size_t len, struct unlock_systemd *s)
{
	/* base64 of 512 bytes is 684 characters; the URI is bounded */
	char v[UNLOCK_URI_MAX + 1];
	size_t vlen;
	int r;

	if (s == NULL)
		return UNLOCK_ERR_ARG;
	unlock_systemd_clear(s);
	if (js == NULL)
		return UNLOCK_ERR_ARG;
	if ((r = unlock_json_string(js, len, "type", v, sizeof(v),
	    &vlen)) != 0)
		goto out;
	if (vlen != strlen("systemd-pkcs11") ||
	    memcmp(v, "systemd-pkcs11", vlen) != 0) {
		r = UNLOCK_ERR_FORMAT;
		goto out;
	}
	if ((r = unlock_json_string(js, len, "pkcs11-key", v, sizeof(v),
	    &vlen)) != 0 ||
	    (r = unlock_b64_decode(v, vlen, s->key, sizeof(s->key),
	    &s->keylen)) != 0)
		goto out;
	if (s->keylen == 0) {
		r = UNLOCK_ERR_FORMAT;
		goto out;
	}
	r = unlock_json_string(js, len, "pkcs11-uri", v, sizeof(v), &vlen);
	if (r == UNLOCK_ERR_NOT_FOUND)
		r = 0;			/* no URI: the caller's default */
	else if (r == 0)
		r = unlock_uri_slot(v, vlen, &s->slot);
out:
	util_wipe(v, sizeof(v));
	if (r != 0)
		unlock_systemd_clear(s);
	return r;
}
