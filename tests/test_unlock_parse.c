/* SPDX-License-Identifier: MIT */
/*
 * tests/test_unlock_parse.c — the pure parsers of `usbpiv unlock`
 * (tools/unlock_parse.c): the wrapped-key file, the systemd-pkcs11 token
 * JSON, its pkcs11: URI and base64.  The valid inputs are real ones,
 * written by `usbpiv enroll` and systemd-cryptenroll on the emulated token
 * (as tests/integration/boot_unlock.sh makes them).  Every malformed input
 * must fail and leave every output cleared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../piv/piv.h"
#include "../tools/unlock_parse.h"

/* Written by usbpiv enroll / systemd-cryptenroll in boot_unlock.sh. */
static const char W_P256[] =
    "usbpiv-wrapped-key 1\n"
    "slot 9a\n"
    "alg ECCP256\n"
    "serial 13371337\n"
    "fingerprint 3D948777EF0F48ED03A7AC5E72EB94198B13B43ECABA13643944"
    "0E46A3531AC7\n"
    "method ecdh-hkdf-sha256-aes256gcm\n"
    "ephemeral 045AD7E21F4AFAC1019189ECF88DD6747AE686762B807330B8F1B4"
    "EB4A216E2954E48201C6A9150AFEFEAE3A36FF1FB67CA0A1B5CBCCC12B6EFA24"
    "CD52B1D69D64\n"
    "nonce C61A191D770D90348CACE572\n"
    "data B60D1E34292F53F2F13D968CFE3B7362BD86F8ADB21D663962D3A8DDB40"
    "C9D431258657882EC507A2056E8B6C245B2E9\n";

static const char W_P384[] =
    "usbpiv-wrapped-key 1\n"
    "slot 9c\n"
    "alg ECCP384\n"
    "serial 13371337\n"
    "fingerprint CEAF8B3F27EE5195ADB2B4A768397200532364F5B48810E0128E"
    "05243F681D3A\n"
    "method ecdh-hkdf-sha256-aes256gcm\n"
    "ephemeral 04115B5FB87CAF2DA7BFC8AB2F801F916D87A67F6766E256D7A45C"
    "65F03E27EC990B358B89CD433B0C76AAB07C2A9E640DD257DD901B7B7384A720"
    "6C982817758B10C76F32D270AC71CCAFC5EE93EB2F90783190EE1B5972C83EC8"
    "99052FBEA094\n"
    "nonce 5B24AB298E55E72A09061750\n"
    "data 5548BEE5F53B54A30579545691A5CB3A7162976C9117BF25DB86004663B"
    "A5701DB393363BDEA43B3D28AB81C9F640553\n";

static const char W_RSA2048[] =
    "usbpiv-wrapped-key 1\n"
    "slot 9d\n"
    "alg RSA2048\n"
    "serial 13371337\n"
    "fingerprint 145A208D0A2A523CE42FE6C733031B690529F9ACCC75936A2643"
    "B3B76DCB4FC5\n"
    "method rsa-oaep-sha256\n"
    "data 109F4C5372CF3B9F57F35ED667DBE2B4E2D45678CB09BFE7EDE467E903D"
    "C43C1EC9484FC0EFE1987AD24DCF8B5260E16D5004C6E72B3660E0B865A45209"
    "B0AA3BF0CCF85AA6FA99ED6DED2E24F4CD9BE71C118C695B9B3291650AD96458"
    "1BC017237CEC3CE3DDC950520B67F3F2FFFE61327DF3CAD016CA88B19951C143"
    "2846EB9EBCD9CC7FAB6F307110DEF65E6CAA3676A42A327958CD93D5CD529B6F"
    "F77A8BE9211994067616C4F6533202B67DF14AB8C577F33AAE022AD0EAC9F753"
    "5B5805988BC24AA166A511343C1BC3A99F924E799B7BFA1369B79EAF893180E7"
    "87DE990354A69557B46464189EFB5E178FCF8DCCEDEFA8872195AC7B2AA0E190"
    "23CFE\n";

static const char W_X25519[] =
    "usbpiv-wrapped-key 1\n"
    "slot 9e\n"
    "alg X25519\n"
    "serial 13371337\n"
    "fingerprint 86240B57CB113D89809C18BCEAAB9A30AD50ADCE9CFF40F22C6E"
    "FBE3E3D5B8B3\n"
    "method ecdh-hkdf-sha256-aes256gcm\n"
    "ephemeral 693FF4AFFFFAC01DCE69E1D48BF02104B659A14C288719003016F2"
    "D129C9EB62\n"
    "nonce C3DCD818875C9C1556E2B68C\n"
    "data EC12522D5F4021C334A345A4F8D96CB66073BA154098F58CD419E70D9A8"
    "533073ABCB877FCF862D9FD56C49F07F59E65\n";

static const char TOKEN[] =
    "{\"type\":\"systemd-pkcs11\",\"keyslots\":[\"5\"],\"pkcs11-uri\""
    ":\"pkcs11:serial=13371337;id=%03;object=X.509%20Certificate%20fo"
    "r%20Key%20Management\",\"pkcs11-key\":\"oYQcx0267Hf71YSbWtTlA99Z"
    "k73nUNqwBZZEU5dCEVYt6gkxDAjHs3MEcWqcdWU/ny19fN01kxLlIF9iTybozkt5"
    "SKxvYKppp/SBUDhSWLS/CswF+WUfzCJN4NVX9XfijFfYTJineTsT3Xzg6K7wk5ZO"
    "/G8E8xcd5NFii+g5F5QMOD0lZIJxI8CgbUZDyJYX531g151NyHxp6t+82hL5twaB"
    "eZC0nuc1LzcH9/GWXsIo2kSpRVOIuIqyY5Q6JLgcOlWOqPmrlOZIgVYJyN+L0+D6"
    "Gdqh7fATY9Eq9FpHSLdHUrRHKRlgyyhPerXAfn93pHAyer6kRNrLDGV/C5CASQ=="
    "\"}";

static const char *const wrapped_all[] = { W_P256, W_P384, W_RSA2048,
    W_X25519 };

/* ---- helpers ------------------------------------------------------------ */

static void
assert_wrapped_clear(const struct unlock_wrapped *w)
{
	struct unlock_wrapped z;

	memset(&z, 0, sizeof(z));
	z.slot = -1;
	assert_memory_equal(w, &z, sizeof(z));
}

static void
assert_systemd_clear(const struct unlock_systemd *s)
{
	struct unlock_systemd z;

	memset(&z, 0, sizeof(z));
	z.slot = -1;
	assert_memory_equal(s, &z, sizeof(z));
}

/* Parses txt[0..len) and expects error r (0: any error). */
static void
wrapped_fails(const char *txt, size_t len, int r)
{
	struct unlock_wrapped w;
	int got;

	memset(&w, 0xa5, sizeof(w));
	got = unlock_parse_wrapped(txt, len, &w);
	if (got == 0)
		fprintf(stderr, "parsed (%zu bytes): [%.*s]\n", len, (int)len,
		    txt);
	assert_true(got < 0);
	if (r != 0)
		assert_int_equal(got, r);
	assert_wrapped_clear(&w);
}

/* buf = src with its first `from` replaced by `to` (which must exist). */
static size_t
subst(const char *src, const char *from, const char *to, char *buf,
    size_t cap)
{
	const char *p = strstr(src, from);
	size_t a, n;

	assert_non_null(p);
	a = (size_t)(p - src);
	n = a + strlen(to) + strlen(p + strlen(from));
	assert_true(n < cap);
	memcpy(buf, src, a);
	memcpy(buf + a, to, strlen(to));
	memcpy(buf + a + strlen(to), p + strlen(from),
	    strlen(p + strlen(from)) + 1);
	return n;
}

/* Offsets of the starts of src's lines (and of its end); their count. */
static size_t
lines(const char *src, size_t *start, size_t max)
{
	size_t n = 0, i, len = strlen(src);

	start[n++] = 0;
	for (i = 0; i < len; i++)
		if (src[i] == '\n' && i + 1 < len) {
			assert_true(n < max);
			start[n++] = i + 1;
		}
	start[n] = len;
	return n;
}

/* ---- the wrapped-key file: valid ---------------------------------------- */

static void
test_wrapped_valid(void **state)
{
	static const struct {
		const char *txt;
		int slot, alg, ecdh;
		size_t ephlen, datalen;
		uint8_t fp0, data0;
	} v[] = {
		{ W_P256, 0x9a, PIV_ALG_ECCP256, 1, 65, 48, 0x3d, 0xb6 },
		{ W_P384, 0x9c, PIV_ALG_ECCP384, 1, 97, 48, 0xce, 0x55 },
		{ W_RSA2048, 0x9d, PIV_ALG_RSA2048, 0, 0, 256, 0x14, 0x10 },
		{ W_X25519, 0x9e, PIV_ALG_X25519, 1, 32, 48, 0, 0 },
	};
	struct unlock_wrapped w;
	const char *p;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&w, 0xa5, sizeof(w));
		assert_int_equal(unlock_parse_wrapped(v[i].txt,
		    strlen(v[i].txt), &w), 0);
		assert_int_equal(w.slot, v[i].slot);
		assert_int_equal(w.alg, v[i].alg);
		assert_int_equal(w.ecdh, v[i].ecdh);
		assert_int_equal(w.serial, 13371337);
		assert_int_equal(w.ephlen, v[i].ephlen);
		assert_int_equal(w.datalen, v[i].datalen);
		if (v[i].fp0 != 0 || v[i].data0 != 0) {
			assert_int_equal(w.fp[0], v[i].fp0);
			assert_int_equal(w.data[0], v[i].data0);
		}
		if (v[i].ephlen > 32)
			assert_int_equal(w.eph[0], 0x04);
		/* the GCM additional data: exactly the first five lines */
		for (p = v[i].txt, k = 0; k < 5; k++)
			p = strchr(p, '\n') + 1;
		assert_int_equal(w.hdrlen, (size_t)(p - v[i].txt));
		/* no byte past the lengths is left from before */
		for (k = w.datalen; k < sizeof(w.data); k++)
			assert_int_equal(w.data[k], 0);
		unlock_wrapped_clear(&w);
		assert_wrapped_clear(&w);
	}
}

/* Forms the writer never makes but the old parser took, and still fine. */
static void
test_wrapped_variants(void **state)
{
	struct unlock_wrapped w;
	char buf[4096];
	size_t n;

	(void)state;
	/* alg names as cli_parse_alg spells them, any case */
	n = subst(W_P256, "alg ECCP256", "alg p256", buf, sizeof(buf));
	assert_int_equal(unlock_parse_wrapped(buf, n, &w), 0);
	assert_int_equal(w.alg, PIV_ALG_ECCP256);
	n = subst(W_RSA2048, "alg RSA2048", "alg rsa2048", buf, sizeof(buf));
	assert_int_equal(unlock_parse_wrapped(buf, n, &w), 0);
	/* slot in upper case; serial 0 and the largest */
	n = subst(W_P256, "slot 9a", "slot 9A", buf, sizeof(buf));
	assert_int_equal(unlock_parse_wrapped(buf, n, &w), 0);
	assert_int_equal(w.slot, 0x9a);
	n = subst(W_P256, "serial 13371337", "serial 0", buf, sizeof(buf));
	assert_int_equal(unlock_parse_wrapped(buf, n, &w), 0);
	assert_int_equal(w.serial, 0);
	n = subst(W_P256, "serial 13371337", "serial 4294967295", buf,
	    sizeof(buf));
	assert_int_equal(unlock_parse_wrapped(buf, n, &w), 0);
	assert_int_equal(w.serial, 4294967295u);
	/* a retired slot and the attestation slot are slots */
	n = subst(W_P256, "slot 9a", "slot 82", buf, sizeof(buf));
	assert_int_equal(unlock_parse_wrapped(buf, n, &w), 0);
	assert_int_equal(w.slot, 0x82);
	/* slot/alg edited to name another key (boot_unlock.sh's "wrong key"
	 * case): still a file, the fingerprint check refuses it later */
	n = subst(W_P256, "alg ECCP256", "alg ECCP384", buf, sizeof(buf));
	assert_int_equal(unlock_parse_wrapped(buf, n, &w), 0);
	assert_int_equal(w.alg, PIV_ALG_ECCP384);
	/* trailing empty lines */
	n = strlen(W_P256);
	memcpy(buf, W_P256, n);
	memcpy(buf + n, "\n\n", 2);
	assert_int_equal(unlock_parse_wrapped(buf, n + 2, &w), 0);
}

/* ---- the wrapped-key file: hostile -------------------------------------- */

/* Every prefix is refused: a cut file never parses. */
static void
test_wrapped_truncated(void **state)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(wrapped_all) / sizeof(wrapped_all[0]); i++)
		for (n = 0; n < strlen(wrapped_all[i]); n++)
			wrapped_fails(wrapped_all[i], n, 0);
}

/* Each line left out, each line twice, two lines swapped. */
static void
test_wrapped_missing_dup_order(void **state)
{
	size_t st[16], nl, i, k, len, a;
	char buf[4096];
	const char *src;

	(void)state;
	for (i = 0; i < sizeof(wrapped_all) / sizeof(wrapped_all[0]); i++) {
		src = wrapped_all[i];
		len = strlen(src);
		nl = lines(src, st, 15);
		assert_true(nl == 7 || nl == 9);
		for (k = 0; k < nl; k++) {
			/* without line k */
			memcpy(buf, src, st[k]);
			memcpy(buf + st[k], src + st[k + 1], len - st[k + 1]);
			wrapped_fails(buf, len - (st[k + 1] - st[k]), 0);
			/* line k twice */
			a = st[k + 1] - st[k];
			memcpy(buf, src, st[k + 1]);
			memcpy(buf + st[k + 1], src + st[k], a);
			memcpy(buf + st[k + 1] + a, src + st[k + 1],
			    len - st[k + 1]);
			wrapped_fails(buf, len + a, 0);
			/* line k swapped with line k + 1 */
			if (k + 1 < nl) {
				memcpy(buf, src, st[k]);
				memcpy(buf + st[k], src + st[k + 1],
				    st[k + 2] - st[k + 1]);
				memcpy(buf + st[k] + st[k + 2] - st[k + 1],
				    src + st[k], st[k + 1] - st[k]);
				memcpy(buf + st[k + 2], src + st[k + 2],
				    len - st[k + 2]);
				wrapped_fails(buf, len, 0);
			}
		}
	}
}

/* Each value one byte / one hex byte too long, and far too long. */
static void
test_wrapped_too_long(void **state)
{
	size_t st[16], nl, i, k, len, e, n;
	static char buf[UNLOCK_FILE_MAX + 16];
	const char *src;

	(void)state;
	for (i = 0; i < sizeof(wrapped_all) / sizeof(wrapped_all[0]); i++) {
		src = wrapped_all[i];
		len = strlen(src);
		nl = lines(src, st, 15);
		for (k = 0; k < nl; k++) {
			e = st[k + 1] - 1;	/* the line's '\n' */
			memcpy(buf, src, e);
			if (k == 3) {
				/* the serial: 11 digits are too many */
				memcpy(buf + e, "000", 3);
				memcpy(buf + e + 3, src + e, len - e);
				wrapped_fails(buf, len + 3, 0);
				continue;
			}
			memcpy(buf + e, "00", 2);
			memcpy(buf + e + 2, src + e, len - e);
			wrapped_fails(buf, len + 2, 0);
			memcpy(buf + e, "0", 1);
			memcpy(buf + e + 1, src + e, len - e);
			wrapped_fails(buf, len + 1, 0);
		}
	}
	/* a data line of 60000 hex digits; a file over the ceiling */
	n = subst(W_RSA2048, "data ", "data ", buf, sizeof(buf));
	n = (size_t)(strstr(buf, "data ") - buf) + 5;
	memset(buf + n, 'A', 60000);
	buf[n + 60000] = '\n';
	wrapped_fails(buf, n + 60001, 0);
	memcpy(buf, W_P256, strlen(W_P256));
	memset(buf + strlen(W_P256), '\n', sizeof(buf) - strlen(W_P256));
	wrapped_fails(buf, UNLOCK_FILE_MAX + 1, UNLOCK_ERR_TOO_LONG);
	/* but trailing newlines up to the ceiling are harmless */
	{
		struct unlock_wrapped w;

		assert_int_equal(unlock_parse_wrapped(buf, UNLOCK_FILE_MAX,
		    &w), 0);
	}
}

static void
test_wrapped_bad_values(void **state)
{
	static const struct { const char *src, *from, *to; int r; } v[] = {
		/* version and magic */
		{ W_P256, "wrapped-key 1", "wrapped-key 2", UNLOCK_ERR_VERSION },
		{ W_P256, "wrapped-key 1", "wrapped-key 10", UNLOCK_ERR_VERSION },
		{ W_P256, "wrapped-key 1", "wrapped-key 0", UNLOCK_ERR_VERSION },
		{ W_P256, "usbpiv-wrapped-key", "usbpiv-wrapped-kez", 0 },
		{ W_P256, "usbpiv-wrapped-key 1", " usbpiv-wrapped-key 1", 0 },
		/* slot */
		{ W_P256, "slot 9a", "slot 9b", 0 },
		{ W_P256, "slot 9a", "slot 0x9a", 0 },
		{ W_P256, "slot 9a", "slot 9", 0 },
		{ W_P256, "slot 9a", "slot auth", 0 },
		{ W_P256, "slot 9a", "slot 9g", 0 },
		{ W_P256, "slot 9a", "slot  9a", 0 },
		{ W_P256, "slot 9a", "slot\t9a", 0 },
		{ W_P256, "slot 9a", "slota 9a", 0 },
		{ W_P256, "slot 9a", "Slot 9a", 0 },
		/* alg: unknown, no decryption, method mismatch */
		{ W_P256, "alg ECCP256", "alg ED25519", 0 },
		{ W_P256, "alg ECCP256", "alg AES256", 0 },
		{ W_P256, "alg ECCP256", "alg RSA2048", 0 },
		{ W_RSA2048, "alg RSA2048", "alg ECCP256", 0 },
		{ W_P256, "alg ECCP256", "alg ECCP2566", 0 },
		{ W_P256, "alg ECCP256", "alg ", 0 },
		/* serial: sign, space, overflow, not decimal */
		{ W_P256, "serial 13371337", "serial -1", 0 },
		{ W_P256, "serial 13371337", "serial +1", 0 },
		{ W_P256, "serial 13371337", "serial  1", 0 },
		{ W_P256, "serial 13371337", "serial 1 ", 0 },
		{ W_P256, "serial 13371337", "serial 4294967296", 0 },
		{ W_P256, "serial 13371337", "serial 18446744073709551617", 0 },
		{ W_P256, "serial 13371337", "serial 0x10", 0 },
		{ W_P256, "serial 13371337", "serial ", 0 },
		/* fingerprint: short, not hex, separators */
		{ W_P256, "fingerprint 3D", "fingerprint 3G", 0 },
		{ W_P256, "fingerprint 3D", "fingerprint 3:D", 0 },
		{ W_P256, "fingerprint 3D9487", "fingerprint 3D 9487", 0 },
		{ W_P256, "fingerprint 3D", "fingerprint ", 0 },
		/* method */
		{ W_P256, "method ecdh", "method ECDH", 0 },
		{ W_P256, "aes256gcm", "aes128gcm", 0 },
		{ W_RSA2048, "rsa-oaep-sha256", "rsa-pkcs1", 0 },
		/* ephemeral: compressed point, odd, wrong length */
		{ W_P256, "ephemeral 04", "ephemeral 02", 0 },
		{ W_P256, "ephemeral 04", "ephemeral 4", 0 },
		{ W_P256, "ephemeral 045A", "ephemeral 045", 0 },
		{ W_P256, "ephemeral 045AD7", "ephemeral 04 5AD7", 0 },
		/* nonce: 11 and 13 bytes */
		{ W_P256, "nonce C61A", "nonce ", 0 },
		{ W_P256, "nonce C61A", "nonce C61AC6", 0 },
		/* data: a bad digit, whitespace */
		{ W_P256, "data B60D", "data B6XD", 0 },
		{ W_P256, "data B60D", "data B60D ", 0 },
		{ W_RSA2048, "data 109F", "data 10 9F", 0 },
		/* line endings, NUL, an unknown line, garbage after */
		{ W_P256, "slot 9a\n", "slot 9a\r\n", 0 },
		{ W_P256, "slot 9a\n", "slot 9a\nfoo bar\n", 0 },
		{ W_P256, "method ", "comment x\nmethod ", 0 },
		{ W_P256, "\ndata ", "\n\ndata ", 0 },
		/* RSA file carrying ECDH lines */
		{ W_RSA2048, "\ndata ", "\nnonce C61A191D770D90348CACE572\ndata ",
		    0 },
	};
	char buf[4096];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = subst(v[i].src, v[i].from, v[i].to, buf, sizeof(buf));
		wrapped_fails(buf, n, v[i].r);
	}
	/* garbage after the last line */
	n = strlen(W_P256);
	memcpy(buf, W_P256, n);
	memcpy(buf + n, "x", 1);
	wrapped_fails(buf, n + 1, 0);
	memcpy(buf + n, "data 00\n", 8);
	wrapped_fails(buf, n + 8, 0);
	/* a NUL byte anywhere in a line */
	n = strlen(W_P256);
	for (i = 0; i < n; i++) {
		if (W_P256[i] == '\n')
			continue;
		memcpy(buf, W_P256, n);
		buf[i] = '\0';
		wrapped_fails(buf, n, 0);
	}
}

static void
test_wrapped_args(void **state)
{
	struct unlock_wrapped w;

	(void)state;
	memset(&w, 0xa5, sizeof(w));
	assert_int_equal(unlock_parse_wrapped(NULL, 10, &w), UNLOCK_ERR_ARG);
	assert_wrapped_clear(&w);
	assert_int_equal(unlock_parse_wrapped(W_P256, strlen(W_P256), NULL),
	    UNLOCK_ERR_ARG);
	wrapped_fails("", 0, 0);
	unlock_wrapped_clear(NULL);
}

/* ---- base64 ------------------------------------------------------------- */

static void
test_b64(void **state)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" }, { "Zm9vYmE=", "fooba" },
		{ "Zm9vYmFy", "foobar" }, { "+/+/", "\xfb\xff\xbf" },
	};
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "====", "Zh==", "Zm9=", "Zg==Zg==",
		"Zm=v", "=m9v", "Zm9v\n", " Zm9v", "Zm9v ", "Zm-v", "Zm_v",
		"Zm9\x80", "Zm\0v",
	};
	uint8_t out[16];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = 99;
		assert_int_equal(unlock_b64_decode(ok[i].in, strlen(ok[i].in),
		    out, sizeof(out), &n), 0);
		assert_int_equal(n, strlen(ok[i].out));
		assert_memory_equal(out, ok[i].out, n);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		memset(out, 0xa5, sizeof(out));
		assert_true(unlock_b64_decode(bad[i], i == 15 ? 4 :
		    strlen(bad[i]), out, sizeof(out), &n) < 0);
		assert_int_equal(n, 0);
	}
	/* exactly the capacity, one over; empty; NULL */
	n = 99;
	assert_int_equal(unlock_b64_decode("Zm9v", 4, out, 3, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(unlock_b64_decode("Zm9vYg==", 8, out, 3, &n),
	    UNLOCK_ERR_TOO_LONG);
	assert_int_equal(n, 0);
	assert_int_equal(unlock_b64_decode("", 0, out, 3, &n),
	    UNLOCK_ERR_FORMAT);
	assert_int_equal(unlock_b64_decode(NULL, 4, out, 3, &n),
	    UNLOCK_ERR_ARG);
	assert_int_equal(n, 0);
	assert_int_equal(unlock_b64_decode("Zm9v", 4, out, 3, NULL),
	    UNLOCK_ERR_ARG);
}

/* ---- JSON --------------------------------------------------------------- */

static int
jget(const char *js, const char *key, char *val, size_t cap, size_t *n)
{
	return unlock_json_string(js, strlen(js), key, val, cap, n);
}

static void
test_json_strings(void **state)
{
	static const struct { const char *js, *val; } ok[] = {
		{ "{\"k\":\"v\"}", "v" },
		{ " \n{ \"a\" : 1 , \"k\" : \"v\" }\r\n\t", "v" },
		{ "{\"k\":\"\"}", "" },
		{ "{\"k\":\"a\\\"b\\\\c\\/d\"}", "a\"b\\c/d" },
		{ "{\"k\":\"\\b\\f\\n\\r\\t\"}", "\b\f\n\r\t" },
		{ "{\"k\":\"sys\\u0074emd\"}", "systemd" },
		{ "{\"k\":\"\\u00e9\\u20ac\"}", "\xc3\xa9\xe2\x82\xac" },
		{ "{\"k\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80" },
		{ "{\"k\":\"\xc3\xa9\"}", "\xc3\xa9" },
		/* the key named as a value, or inside a nested object, first */
		{ "{\"a\":\"k\",\"k\":\"v\"}", "v" },
		{ "{\"a\":{\"k\":\"x\"},\"k\":\"v\"}", "v" },
		{ "{\"a\":[{\"k\":\"x\"},\"k\"],\"k\":\"v\"}", "v" },
		{ "{\"a\":\"\\\"k\\\":\\\"x\\\"\",\"k\":\"v\"}", "v" },
		{ "{\"\\u006b\":\"v\"}", "v" },	/* escaped key */
		{ "{\"a\":[1,-2.5e+3,0,true,false,null,{},[]],\"k\":\"v\"}",
		    "v" },
	};
	static const struct { const char *js; int r; } bad[] = {
		{ "", UNLOCK_ERR_FORMAT },
		{ "[\"k\",\"v\"]", UNLOCK_ERR_FORMAT },
		{ "\"k\"", UNLOCK_ERR_FORMAT },
		{ "{}", UNLOCK_ERR_NOT_FOUND },
		{ "{\"K\":\"v\"}", UNLOCK_ERR_NOT_FOUND },
		{ "{\"a\":{\"k\":\"v\"}}", UNLOCK_ERR_NOT_FOUND },
		{ "{\"k\":1}", UNLOCK_ERR_TYPE },
		{ "{\"k\":null}", UNLOCK_ERR_TYPE },
		{ "{\"k\":[\"v\"]}", UNLOCK_ERR_TYPE },
		{ "{\"k\":{\"k\":\"v\"}}", UNLOCK_ERR_TYPE },
		{ "{\"k\":\"v\",\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v\",\"k\":\"w\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v\",\"\\u006b\":\"w\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v\"}x", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v\"}{}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v\",}", UNLOCK_ERR_FORMAT },
		{ "{\"k\" \"v\"}", UNLOCK_ERR_FORMAT },
		{ "{'k':'v'}", UNLOCK_ERR_FORMAT },
		{ "{k:\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v\"", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"v\\", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"\\u00\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"\\u0000\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"\\x41\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"\\ud83d\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"\\ude00\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"\\ud83d\\u0041\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"a\nb\"}", UNLOCK_ERR_FORMAT },
		{ "{\"k\":\"a\tb\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":01,\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":-,\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":1.,\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":1e,\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":tru,\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":[1,],\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":[1 2],\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":{\"b\"},\"k\":\"v\"}", UNLOCK_ERR_FORMAT },
		{ "{\"a\":\"x\"", UNLOCK_ERR_FORMAT },
	};
	char val[64];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = 99;
		assert_int_equal(jget(ok[i].js, "k", val, sizeof(val), &n), 0);
		assert_int_equal(n, strlen(ok[i].val));
		assert_string_equal(val, ok[i].val);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		memset(val, 'x', sizeof(val));
		if (jget(bad[i].js, "k", val, sizeof(val), &n) != bad[i].r)
			fail_msg("%s: not %d", bad[i].js, bad[i].r);
		assert_int_equal(n, 0);
		assert_int_equal(val[0], '\0');
	}
	/* a NUL byte inside the text */
	n = 99;
	assert_int_equal(unlock_json_string("{\"k\":\"a\0b\"}", 11, "k", val,
	    sizeof(val), &n), UNLOCK_ERR_FORMAT);
	assert_int_equal(unlock_json_string("{\"k\":\"v\"}\0", 10, "k", val,
	    sizeof(val), &n), UNLOCK_ERR_FORMAT);
	assert_int_equal(n, 0);
	/* arguments */
	assert_int_equal(unlock_json_string(NULL, 0, "k", val, sizeof(val),
	    &n), UNLOCK_ERR_ARG);
	assert_int_equal(unlock_json_string("{}", 2, "k", NULL, 0, &n),
	    UNLOCK_ERR_ARG);
	assert_int_equal(unlock_json_string("{}", 2, "k", val, sizeof(val),
	    NULL), UNLOCK_ERR_ARG);
}

/* Value lengths against the capacity, nesting depth, document size. */
static void
test_json_lengths(void **state)
{
	static char js[UNLOCK_FILE_MAX + 64];
	char val[8];
	size_t n, i, d;

	(void)state;
	/* 7 bytes fit a cap of 8, 8 do not; an escape counts decoded */
	assert_int_equal(jget("{\"k\":\"1234567\"}", "k", val, 8, &n), 0);
	assert_int_equal(n, 7);
	n = 99;
	assert_int_equal(jget("{\"k\":\"12345678\"}", "k", val, 8, &n),
	    UNLOCK_ERR_TOO_LONG);
	assert_int_equal(n, 0);
	assert_int_equal(val[0], '\0');
	assert_int_equal(jget("{\"k\":\"123456\\u00e9\"}", "k", val, 8, &n),
	    UNLOCK_ERR_TOO_LONG);
	/* a very long key that starts like ours is another key */
	n = (size_t)snprintf(js, sizeof(js), "{\"");
	memset(js + n, 'k', 1000);
	n += 1000;
	n += (size_t)snprintf(js + n, sizeof(js) - n, "\":\"x\",\"k\":\"v\"}");
	assert_int_equal(unlock_json_string(js, n, "k", val, 8, &n), 0);
	assert_string_equal(val, "v");
	/* nesting: depth 16 (the object and 15 arrays) is fine, 17 not */
	for (d = 14; d <= 16; d++) {
		n = (size_t)snprintf(js, sizeof(js), "{\"a\":");
		for (i = 0; i < d; i++)
			js[n++] = '[';
		for (i = 0; i < d; i++)
			js[n++] = ']';
		n += (size_t)snprintf(js + n, sizeof(js) - n, ",\"k\":\"v\"}");
		assert_int_equal(unlock_json_string(js, n, "k", val, 8, &n),
		    d < 16 ? 0 : UNLOCK_ERR_TOO_LONG);
	}
	/* 60000 open brackets: refused, without a deep recursion */
	n = (size_t)snprintf(js, sizeof(js), "{\"a\":");
	memset(js + n, '[', 60000);
	n += 60000;
	assert_int_equal(unlock_json_string(js, n, "k", val, 8, &n),
	    UNLOCK_ERR_TOO_LONG);
	/* a 60000-digit number is just a number */
	n = (size_t)snprintf(js, sizeof(js), "{\"a\":");
	memset(js + n, '9', 60000);
	n += 60000;
	n += (size_t)snprintf(js + n, sizeof(js) - n, ",\"k\":\"v\"}");
	assert_int_equal(unlock_json_string(js, n, "k", val, 8, &n), 0);
	/* a document over the ceiling, even if valid */
	n = (size_t)snprintf(js, sizeof(js), "{\"k\":\"v\"}");
	memset(js + n, ' ', sizeof(js) - n);
	assert_int_equal(unlock_json_string(js, UNLOCK_FILE_MAX, "k", val,
	    8, &n), 0);
	assert_int_equal(unlock_json_string(js, UNLOCK_FILE_MAX + 1, "k",
	    val, 8, &n), UNLOCK_ERR_TOO_LONG);
}

/* ---- the pkcs11: URI ---------------------------------------------------- */

static int
uslot(const char *uri, int *slot)
{
	*slot = 12345;
	return unlock_uri_slot(uri, strlen(uri), slot);
}

static void
test_uri(void **state)
{
	static const struct { const char *uri; int slot; } ok[] = {
		{ "pkcs11:serial=13371337;id=%03;object=X.509%20Certificate"
		    "%20for%20Key%20Management", 0x9d },
		{ "pkcs11:id=%01", 0x9a }, { "pkcs11:id=%02", 0x9c },
		{ "pkcs11:id=%03", 0x9d }, { "pkcs11:id=%04", 0x9e },
		{ "pkcs11:id=%05", 0x82 }, { "pkcs11:id=%10", 0x8d },
		{ "pkcs11:id=%18", 0x95 }, { "pkcs11:id=%19", 0xf9 },
		{ "PKCS11:id=%1A", -1 }, { "pkcs11:id=%1a", -1 },
		{ "pkcs11:id=%00", -1 }, { "pkcs11:id=%ff", -1 },
		{ "pkcs11:id=%9d", -1 },
		/* several bytes: not one of our CKA_IDs */
		{ "pkcs11:id=%01%02", -1 }, { "pkcs11:id=", -1 },
		/* a literal byte is a byte: "1" is 0x31 */
		{ "pkcs11:id=1", -1 },
		/* id decides over the label */
		{ "pkcs11:id=%02;object=Key%20Management", 0x9c },
		{ "pkcs11:object=PIV%20Authentication", 0x9a },
		{ "pkcs11:object=Private%20key%20for%20Digital%20Signature",
		    0x9c },
		{ "pkcs11:object=Key Management", 0x9d },
		{ "pkcs11:token=x;object=Card%20Authentication;type=private",
		    0x9e },
		{ "pkcs11:object=Retired%20Key%201", -1 },
		{ "pkcs11:", -1 }, { "pkcs11:;;", -1 },
		/* things the old strstr()/sscanf() took for an id */
		{ "pkcs11:xid=%01", -1 },
		{ "pkcs11:object=a%3Bid=%01", -1 },
		{ "pkcs11:object=x?id=%01", -1 },
		{ "pkcs11:model=id=%01", -1 },
		{ "pkcs11:token=PIV%20Authentication", -1 },
	};
	static const struct { const char *uri; int r; } bad[] = {
		{ "", UNLOCK_ERR_FORMAT },
		{ "pkcs11", UNLOCK_ERR_FORMAT },
		{ "pkcs12:id=%01", UNLOCK_ERR_FORMAT },
		{ "id=%01", UNLOCK_ERR_FORMAT },
		{ " pkcs11:id=%01", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%1", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%zz", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=% 1", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%+1", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%01;id=%01", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%01;id=%02", UNLOCK_ERR_FORMAT },
		{ "pkcs11:object=a;object=b", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%01;token", UNLOCK_ERR_FORMAT },
		{ "pkcs11:object=a%00b", UNLOCK_ERR_FORMAT },
		{ "pkcs11:id=%01%02%03%04%05%06%07%08%09", UNLOCK_ERR_TOO_LONG },
	};
	static char big[UNLOCK_URI_MAX + 16];
	int slot;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (uslot(ok[i].uri, &slot) != 0 || slot != ok[i].slot)
			fail_msg("%s: slot %d, not %d", ok[i].uri, slot,
			    ok[i].slot);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (uslot(bad[i].uri, &slot) != bad[i].r)
			fail_msg("%s: not %d", bad[i].uri, bad[i].r);
		assert_int_equal(slot, -1);
	}
	/* NUL inside, a long label, over the ceiling */
	slot = 0;
	assert_int_equal(unlock_uri_slot("pkcs11:id=%01\0", 14, &slot),
	    UNLOCK_ERR_FORMAT);
	assert_int_equal(slot, -1);
	n = (size_t)snprintf(big, sizeof(big), "pkcs11:object=");
	memset(big + n, 'a', 300);
	big[n + 300] = '\0';
	assert_int_equal(uslot(big, &slot), UNLOCK_ERR_TOO_LONG);
	n = (size_t)snprintf(big, sizeof(big), "pkcs11:id=%%01;x=");
	memset(big + n, 'a', sizeof(big) - n);
	assert_int_equal(unlock_uri_slot(big, UNLOCK_URI_MAX, &slot), 0);
	assert_int_equal(slot, 0x9a);
	assert_int_equal(unlock_uri_slot(big, UNLOCK_URI_MAX + 1, &slot),
	    UNLOCK_ERR_TOO_LONG);
	assert_int_equal(slot, -1);
	assert_int_equal(unlock_uri_slot(NULL, 0, &slot), UNLOCK_ERR_ARG);
	assert_int_equal(unlock_uri_slot("pkcs11:", 7, NULL), UNLOCK_ERR_ARG);
}

/* ---- the systemd-pkcs11 token ------------------------------------------- */

static void
systemd_fails(const char *js, size_t len, int r)
{
	struct unlock_systemd s;
	int got;

	memset(&s, 0xa5, sizeof(s));
	got = unlock_parse_systemd(js, len, &s);
	if (got >= 0 || (r != 0 && got != r))
		fail_msg("[%.*s]: %d, not %d", (int)len, js, got, r);
	assert_systemd_clear(&s);
}

static void
test_systemd_valid(void **state)
{
	struct unlock_systemd s;
	char buf[4096];
	size_t n;

	(void)state;
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(unlock_parse_systemd(TOKEN, strlen(TOKEN), &s), 0);
	assert_int_equal(s.slot, 0x9d);
	assert_int_equal(s.keylen, 256);	/* RSA-2048 */
	assert_int_equal(s.key[0], 0xa1);	/* "oYQc" */
	assert_int_equal(s.key[1], 0x84);
	assert_int_equal(s.key[2], 0x1c);
	assert_int_equal(s.key[255], 0x49);	/* "SQ==" */
	unlock_systemd_clear(&s);
	assert_systemd_clear(&s);
	/* no URI: the caller picks the slot */
	n = subst(TOKEN, "\"pkcs11-uri\"", "\"pkcs11-uri-old\"", buf,
	    sizeof(buf));
	assert_int_equal(unlock_parse_systemd(buf, n, &s), 0);
	assert_int_equal(s.slot, -1);
	assert_int_equal(s.keylen, 256);
	/* a URI naming no slot of ours */
	n = subst(TOKEN, "id=%03", "id=%42", buf, sizeof(buf));
	assert_int_equal(unlock_parse_systemd(buf, n, &s), 0);
	assert_int_equal(s.slot, -1);
	/* the label when there is no id */
	n = subst(TOKEN, "id=%03;", "", buf, sizeof(buf));
	assert_int_equal(unlock_parse_systemd(buf, n, &s), 0);
	assert_int_equal(s.slot, 0x9d);
	/* escaped "/" in the base64, pretty-printed, keys reordered */
	n = subst(TOKEN, "dWU/ny19", "dWU\\/ny19", buf, sizeof(buf));
	assert_int_equal(unlock_parse_systemd(buf, n, &s), 0);
	assert_int_equal(s.keylen, 256);
	n = subst(TOKEN, "{\"type\":\"systemd-pkcs11\",",
	    "{\n  \"keyslots\" : [ \"5\" ],\n  \"type\" : \"systemd-pkcs11\",\n",
	    buf, sizeof(buf));
	assert_int_equal(unlock_parse_systemd(buf, n, &s), 0);
	assert_int_equal(s.slot, 0x9d);
}

static void
test_systemd_hostile(void **state)
{
	static const struct { const char *from, *to; int r; } v[] = {
		{ "systemd-pkcs11", "systemd-tpm2", UNLOCK_ERR_FORMAT },
		{ "systemd-pkcs11", "systemd-pkcs11 ", UNLOCK_ERR_FORMAT },
		{ "systemd-pkcs11", "Systemd-pkcs11", UNLOCK_ERR_FORMAT },
		{ "\"type\"", "\"Type\"", UNLOCK_ERR_NOT_FOUND },
		{ "\"pkcs11-key\"", "\"pkcs11-kex\"", UNLOCK_ERR_NOT_FOUND },
		{ "\"type\":\"systemd-pkcs11\"", "\"type\":7", UNLOCK_ERR_TYPE },
		{ "\"pkcs11-key\":\"", "\"pkcs11-key\":[\"", 0 },
		{ "\"pkcs11-uri\":\"pkcs11:serial=13371337;",
		    "\"pkcs11-uri\":null,\"x\":\"", UNLOCK_ERR_TYPE },
		{ "{\"type\"", "{\"type\":\"systemd-pkcs11\",\"type\"",
		    UNLOCK_ERR_FORMAT },
		{ "{\"type\"", "{\"pkcs11-key\":\"AAAA\",\"type\"",
		    UNLOCK_ERR_FORMAT },
		{ "{\"type\"", "{\"pkcs11-uri\":\"pkcs11:id=%01\",\"type\"",
		    UNLOCK_ERR_FORMAT },
		/* nested: the real member must be at the top */
		{ "{\"type\":\"systemd-pkcs11\",",
		    "{\"x\":{\"type\":\"systemd-pkcs11\"},", UNLOCK_ERR_NOT_FOUND },
		/* bad base64, bad URIs */
		{ "oYQc", "oYQ", UNLOCK_ERR_FORMAT },
		{ "oYQc", "oY c", UNLOCK_ERR_FORMAT },
		{ "SQ==", "SQ=", UNLOCK_ERR_FORMAT },
		{ "SQ==", "SR==", UNLOCK_ERR_FORMAT },
		{ "pkcs11:serial", "pkcs12:serial", UNLOCK_ERR_FORMAT },
		{ "id=%03", "id=%3", UNLOCK_ERR_FORMAT },
		{ "id=%03", "id=%03;id=%01", UNLOCK_ERR_FORMAT },
		/* trailing garbage */
		{ "==\"}", "==\"}}", UNLOCK_ERR_FORMAT },
		{ "==\"}", "==\"},", UNLOCK_ERR_FORMAT },
	};
	static char buf[UNLOCK_FILE_MAX + 64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = subst(TOKEN, v[i].from, v[i].to, buf, sizeof(buf));
		systemd_fails(buf, n, v[i].r);
	}
	/* every prefix of the real token */
	for (n = 0; n < strlen(TOKEN); n++)
		systemd_fails(TOKEN, n, 0);
	/* an empty key; a key over 512 bytes (684 base64 characters) */
	n = (size_t)snprintf(buf, sizeof(buf),
	    "{\"type\":\"systemd-pkcs11\",\"pkcs11-key\":\"\"}");
	systemd_fails(buf, n, UNLOCK_ERR_FORMAT);
	n = (size_t)snprintf(buf, sizeof(buf),
	    "{\"type\":\"systemd-pkcs11\",\"pkcs11-key\":\"");
	memset(buf + n, 'A', 688);
	n += 688;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"}");
	systemd_fails(buf, n, UNLOCK_ERR_TOO_LONG);
	/* 512 bytes exactly fit */
	{
		struct unlock_systemd s;

		n = (size_t)snprintf(buf, sizeof(buf),
		    "{\"type\":\"systemd-pkcs11\",\"pkcs11-key\":\"");
		memset(buf + n, 'A', 684);
		n += 684;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "AA==\"}");
		/* 684 + 4 characters: 513 bytes, one too many */
		systemd_fails(buf, n, UNLOCK_ERR_TOO_LONG);
		n = (size_t)snprintf(buf, sizeof(buf),
		    "{\"type\":\"systemd-pkcs11\",\"pkcs11-key\":\"");
		memset(buf + n, 'A', 680);
		n += 680;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "AAA=\"}");
		assert_int_equal(unlock_parse_systemd(buf, n, &s), 0);
		assert_int_equal(s.keylen, 512);
	}
	/* a URI of 5000 characters; a document over the ceiling */
	n = subst(TOKEN, "pkcs11:serial", "pkcs11:serial", buf, sizeof(buf));
	n = (size_t)(strstr(buf, "pkcs11:serial") - buf) + 7;
	memmove(buf + n + 5000, buf + n, strlen(buf + n) + 1);
	memset(buf + n, 'x', 5000);
	buf[n + 4] = '=';
	systemd_fails(buf, strlen(buf), UNLOCK_ERR_TOO_LONG);
	memcpy(buf, TOKEN, strlen(TOKEN));
	memset(buf + strlen(TOKEN), ' ', sizeof(buf) - strlen(TOKEN));
	systemd_fails(buf, UNLOCK_FILE_MAX + 1, UNLOCK_ERR_TOO_LONG);
	/* a NUL byte anywhere */
	for (i = 0; i < strlen(TOKEN); i++) {
		memcpy(buf, TOKEN, strlen(TOKEN));
		buf[i] = '\0';
		systemd_fails(buf, strlen(TOKEN), 0);
	}
	/* arguments */
	systemd_fails(NULL, 10, UNLOCK_ERR_ARG);
	assert_int_equal(unlock_parse_systemd(TOKEN, strlen(TOKEN), NULL),
	    UNLOCK_ERR_ARG);
	unlock_systemd_clear(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrapped_valid),
		cmocka_unit_test(test_wrapped_variants),
		cmocka_unit_test(test_wrapped_truncated),
		cmocka_unit_test(test_wrapped_missing_dup_order),
		cmocka_unit_test(test_wrapped_too_long),
		cmocka_unit_test(test_wrapped_bad_values),
		cmocka_unit_test(test_wrapped_args),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_lengths),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_systemd_valid),
		cmocka_unit_test(test_systemd_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
