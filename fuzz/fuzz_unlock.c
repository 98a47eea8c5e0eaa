/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_unlock.c — the parsers of `usbpiv unlock` (tools/unlock_parse.c):
 * the wrapped-key file, the systemd-pkcs11 token JSON, JSON strings, the
 * pkcs11: URI and base64.  Traps when an output breaks its contract: set on
 * error, or out of its bounds on success. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../piv/piv.h"
#include "../tools/unlock_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void
wrapped(const char *s, size_t n)
{
	struct unlock_wrapped w, z;
	size_t i;

	memset(&z, 0, sizeof(z));
	z.slot = -1;
	memset(&w, 0xa5, sizeof(w));
	if (unlock_parse_wrapped(s, n, &w) != 0) {
		if (memcmp(&w, &z, sizeof(w)) != 0)
			__builtin_trap();
		return;
	}
	if (w.hdrlen == 0 || w.hdrlen > n ||
	    memcmp(s, UNLOCK_WRAP_MAGIC "\n", strlen(UNLOCK_WRAP_MAGIC) + 1)
	    != 0 || w.datalen == 0 || w.datalen > sizeof(w.data) ||
	    w.ephlen > sizeof(w.eph) || (w.ecdh && (w.ephlen == 0 ||
	    w.datalen != UNLOCK_WRAP_SECRET + 16)) ||
	    (!w.ecdh && w.ephlen != 0) || w.slot < 0x82 || w.slot > 0xf9)
		__builtin_trap();
	/* the header is five whole lines */
	for (i = 0; i < w.hdrlen; i++)
		if (s[i] == '\0')
			__builtin_trap();
	if (s[w.hdrlen - 1] != '\n')
		__builtin_trap();
	unlock_wrapped_clear(&w);
}

static void
systemd(const char *s, size_t n)
{
	struct unlock_systemd st, z;

	memset(&z, 0, sizeof(z));
	z.slot = -1;
	memset(&st, 0xa5, sizeof(st));
	if (unlock_parse_systemd(s, n, &st) != 0) {
		if (memcmp(&st, &z, sizeof(st)) != 0)
			__builtin_trap();
		return;
	}
	if (st.keylen == 0 || st.keylen > sizeof(st.key) ||
	    !all_zero(st.key + st.keylen, sizeof(st.key) - st.keylen) ||
	    (st.slot != -1 && (st.slot < 0x82 || st.slot > 0xf9)))
		__builtin_trap();
}

static void
json(const char *s, size_t n, const char *key)
{
	char val[64];
	size_t vlen = 99;

	memset(val, 0xa5, sizeof(val));
	if (unlock_json_string(s, n, key, val, sizeof(val), &vlen) != 0) {
		if (vlen != 0 || !all_zero(val, sizeof(val)))
			__builtin_trap();
		return;
	}
	if (vlen >= sizeof(val) || val[vlen] != '\0' ||
	    memchr(val, '\0', vlen) != NULL)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint8_t out[64];
	size_t olen = 99, i;
	int slot = 12345;

	wrapped(s, size);
	systemd(s, size);
	json(s, size, "type");
	json(s, size, "k");
	/* URI */
	if (unlock_uri_slot(s, size, &slot) != 0) {
		if (slot != -1)
			__builtin_trap();
	} else if (slot != -1 && slot != 0x9a && slot != 0x9c &&
	    slot != 0x9d && slot != 0x9e && slot != 0xf9 &&
	    !(slot >= 0x82 && slot <= 0x95))
		__builtin_trap();
	/* base64: output within its capacity, and it round-trips in length */
	if (unlock_b64_decode(s, size, out, sizeof(out), &olen) != 0) {
		if (olen != 0)
			__builtin_trap();
	} else {
		if (olen > sizeof(out) || size % 4 != 0 ||
		    olen != size / 4 * 3 - (s[size - 1] == '=') -
		    (s[size - 2] == '='))
			__builtin_trap();
		for (i = 0; i < size; i++)
			if (s[i] == '\n' || s[i] == ' ' || s[i] == '\0')
				__builtin_trap();
	}
	return 0;
}
