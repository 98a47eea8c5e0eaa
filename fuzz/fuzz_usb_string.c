/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_usb_string.c — device strings (string descriptors, sysfs
 * attributes) made printable: whatever the bytes and the room, the result
 * is terminated within cap and holds only printable ASCII.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../usb/usb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out;
	size_t cap, i, len;

	if (size < 1)
		return 0;
	cap = data[0];		/* 0..255: room from none to more than the input */
	data++;
	size--;
	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		return 0;
	memset(out, 'X', cap > 0 ? cap : 1);
	usb_string_clean(size > 0 ? data : NULL, size, out, cap);
	if (cap > 0) {
		len = strnlen(out, cap);
		if (len >= cap || len > size)
			__builtin_trap();
		for (i = 0; i < len; i++)
			if (out[i] < 0x20 || out[i] > 0x7e)
				__builtin_trap();
	} else if (out[0] != 'X')
		__builtin_trap();	/* no room: nothing written */
	free(out);
	return 0;
}
