/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_usb_desc.c — the descriptor parsers on arbitrary bytes.
 *
 * Each parser gets the input in a buffer of exactly its size (ASan sees
 * any over-read).  Whatever the result, the outputs must be consistent:
 * *n within max, every interface reported has both bulk endpoints or is
 * ICCD (protocol 1 or 2, driven over the control pipe), a class of 0x0B
 * or 0xFF, and on error *n is 0.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../usb/usb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usb_ccid_iface out[4];
	struct usb_device_desc dd;
	struct usb_ccid_desc cd;
	uint8_t *copy;
	size_t n = 99, max, i;
	int r;

	copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);

	(void)usb_parse_device_desc(copy, size, &dd);
	(void)usb_parse_ccid_desc(copy, size, &cd);

	/* the first byte picks how much room the caller gives */
	max = size > 0 ? copy[0] % 5 : 0;
	r = usb_parse_config_desc(copy, size, max ? out : NULL, max, &n);
	if (r != USB_OK && n != 0)
		abort();
	if (n > max)
		abort();
	for (i = 0; i < n; i++) {
		if (usb_iface_is_iccd(&out[i])) {
			if (out[i].bInterfaceProtocol != USB_ICCD_A &&
			    out[i].bInterfaceProtocol != USB_ICCD_B)
				abort();
		} else if (out[i].ep_bulk_in == 0 ||
		    out[i].ep_bulk_out == 0 ||
		    (out[i].ep_bulk_in & 0x80) == 0 ||
		    (out[i].ep_bulk_out & 0x80) != 0)
			abort();
		if (out[i].bInterfaceClass != 0x0b &&
		    out[i].bInterfaceClass != 0xff)
			abort();
		if (out[i].bAlternateSetting != 0)
			abort();
	}
	free(copy);
	return 0;
}
