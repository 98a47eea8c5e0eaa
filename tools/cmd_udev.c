/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_udev.c — `usbpiv udev-info SYSPATH`, the udev helper run with
 * IMPORT{program} (udev/70-usbpiv.rules).  It reads only what the kernel
 * already has in sysfs: the device's cached descriptors (the `descriptors`
 * attribute), `manufacturer`, `product` and `serial`.  No USB transfer,
 * no card traffic: udev runs it on every hotplug and must not wait.
 *
 * Prints udev properties, one KEY=value a line:
 *   ID_USBPIV=1
 *   ID_USBPIV_READER=Yubico_YubiKey_OTP+FIDO+CCID  (manufacturer + product)
 *   ID_USBPIV_SERIAL=...                            (USB iSerialNumber, if any)
 *   ID_USBPIV_VID=1050  ID_USBPIV_PID=0407
 *   ID_USBPIV_SLOTS=1                               (bMaxSlotIndex + 1)
 *   ID_USBPIV_INTERFACE=0                           (the CCID interface)
 * Exit 0 for a CCID device; 1 (nothing printed) for anything else.
 */
#include "usbpiv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DESC_MAX	65536
#define ATTR_MAX	256

/* Reads a whole sysfs attribute (at most cap bytes) into buf. */
static int
read_attr(const char *dir, const char *name, uint8_t *buf, size_t cap,
    size_t *len)
{
	char path[4096];
	ssize_t got;
	int fd;

	*len = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (*len < cap) {
		got = read(fd, buf + *len, cap - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		*len += (size_t)got;
	}
	close(fd);
	return 0;
}

/* A string attribute, reduced to what is safe in a udev property value:
 * [A-Za-z0-9.-] kept, anything else '_' (as udev's ID_* helpers do). */
static void
attr_str(const char *dir, const char *name, char *out, size_t cap)
{
	uint8_t b[ATTR_MAX];
	size_t len = 0, i, o = 0;

	out[0] = '\0';
	if (read_attr(dir, name, b, sizeof(b), &len) != 0)
		return;
	while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == ' '))
		len--;
	for (i = 0; i < len && o + 1 < cap; i++) {
		uint8_t c = b[i];

		out[o++] = ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-') ? (char)c :
		    '_';
	}
	out[o] = '\0';
}

int
cmd_udev_info(const struct globals *g, struct opts *o)
{
	struct usb_device_desc dd;
	struct usb_ccid_iface ifs[4];
	uint8_t *buf = NULL;
	char mf[ATTR_MAX], prod[ATTR_MAX], ser[ATTR_MAX];
	size_t len = 0, n = 0;
	const char *dir = o->args[0];
	int ex = 1;

	(void)g;
	if ((buf = malloc(DESC_MAX)) == NULL)
		return EX_ERR;
	/* descriptors: the 18-byte device descriptor, then the active
	 * configuration's descriptor as the device sent it. */
	if (read_attr(dir, "descriptors", buf, DESC_MAX, &len) != 0 ||
	    len < 18 || usb_parse_device_desc(buf, 18, &dd) != 0 ||
	    usb_parse_config_desc(buf + 18, len - 18, ifs, 4, &n) != 0 ||
	    n == 0)
		goto out;
	attr_str(dir, "manufacturer", mf, sizeof(mf));
	attr_str(dir, "product", prod, sizeof(prod));
	attr_str(dir, "serial", ser, sizeof(ser));
	printf("ID_USBPIV=1\n");
	if (mf[0] != '\0' || prod[0] != '\0')
		printf("ID_USBPIV_READER=%s%s%s\n", mf, mf[0] != '\0' &&
		    prod[0] != '\0' ? "_" : "", prod);
	else
		printf("ID_USBPIV_READER=%04x_%04x\n", dd.idVendor,
		    dd.idProduct);
	if (ser[0] != '\0')
		printf("ID_USBPIV_SERIAL=%s\n", ser);
	printf("ID_USBPIV_VID=%04x\nID_USBPIV_PID=%04x\n", dd.idVendor,
	    dd.idProduct);
	printf("ID_USBPIV_SLOTS=%u\n", (unsigned)ifs[0].ccid.bMaxSlotIndex + 1);
	printf("ID_USBPIV_INTERFACE=%u\n", (unsigned)ifs[0].bInterfaceNumber);
	ex = fflush(stdout) == 0 ? EX_OK : EX_ERR;
out:
	free(buf);
	return ex;
}
