/* SPDX-License-Identifier: MIT */
/* usb/usb_err.c — names of the usb layer's errors. */
#include "usb.h"

const char *
usb_strerror(int err)
{
	switch (err) {
	case USB_OK:
		return "success";
	case USB_ERR_ARG:
		return "invalid argument";
	case USB_ERR_NOMEM:
		return "out of memory";
	case USB_ERR_IO:
		return "USB transfer failed";
	case USB_ERR_TIMEOUT:
		return "USB transfer timed out";
	case USB_ERR_NO_DEVICE:
		return "device unplugged";
	case USB_ERR_BUSY:
		return "reader interface in use by another program "
		    "(pcscd or gpg's scdaemon?)";
	case USB_ERR_ACCESS:
		return "permission denied on the USB device node: install "
		    "the udev rule udev/70-usbpiv.rules (`make install`), "
		    "then replug the token";
	case USB_ERR_NOT_FOUND:
		return "no such device or CCID interface";
	case USB_ERR_PARSE:
		return "malformed USB descriptor";
	case USB_ERR_LOCKED:
		return "reader busy: another usbpiv process holds its lock";
	case USB_ERR_OVERFLOW:
		return "device sent more data than the buffer holds";
	case USB_ERR_PIPE:
		return "endpoint stalled (and stalled again after clearing)";
	}
	return "unknown usb error";
}
