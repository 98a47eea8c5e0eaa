/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_tlv.c — BER-TLV walking, and the pure parsers built on it
 * (CHUID identity, METADATA, Key History). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../piv/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
walk(const uint8_t *buf, size_t len, int depth)
{
	const uint8_t *p = buf;
	size_t left = len, n = 0;
	struct piv_tlv t;
	uint8_t hdr[8];

	while (left > 0 && n++ < 100000) {
		if (piv_tlv_next(&p, &left, &t) != 0)
			break;
		/* the value lies inside the buffer, the cursor after it */
		if (t.value < buf || t.value + t.len > buf + len ||
		    p != t.value + t.len || left != (size_t)(buf + len - p))
			__builtin_trap();
		if (piv_tlv_put_len(hdr, sizeof(hdr), t.len) == 0)
			__builtin_trap();
		if (depth < 4 && (t.tag & 0x20 || (t.tag >> 8) & 0x20))
			walk(t.value, t.len, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct piv_tlv t;
	struct piv_metadata md;
	uint8_t guid[16], on = 0, off = 0;

	walk(data, size, 0);
	(void)piv_tlv_find(data, size, 0x53, &t);
	(void)piv_chuid_guid(data, size, guid);
	if (piv_parse_metadata(data, size, &md) == 0)
		piv_metadata_clear(&md);
	else if (md.pub != NULL)
		__builtin_trap();
	/* at most the 20 retired slots; nothing on error */
	if (piv_key_history_parse(data, size, &on, &off) == 0) {
		if (on + off > 20)
			__builtin_trap();
	} else if (on != 0 || off != 0)
		__builtin_trap();
	return 0;
}
