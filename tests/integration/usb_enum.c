/*
 * tests/integration/usb_enum.c — the usb layer against the emulated reader
 * (built and run by usb_enum.sh under umockdev): usb_enumerate lists it,
 * usb_open / usb_begin / a GetSlotStatus bulk write + read / usb_end work,
 * and the lock's transaction counter moves.
 *
 *   usb_enum [VID:PID]     exits 0 when all is well, 1 with a message
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../usb/usb.h"

static int
fail(const char *what, int r)
{
	fprintf(stderr, "usb_enum: %s: %s\n", what, usb_strerror(r));
	return 1;
}

int
main(int argc, char **argv)
{
	usb_ctx_t *ctx = NULL;
	usb_dev_t *dev = NULL;
	struct usb_dev_info *list = NULL;
	const struct usb_dev_info *info;
	unsigned want_vid = 0, want_pid = 0;
	uint8_t cmd[10] = { 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t rsp[64];
	size_t n = 0, i, got = 0;
	int r, ms, k, rc = 1;

	if (argc > 1 && sscanf(argv[1], "%x:%x", &want_vid, &want_pid) != 2)
		return fail("usage: usb_enum [VID:PID]", USB_ERR_ARG);
	if ((r = usb_ctx_new(&ctx)) != USB_OK)
		return fail("usb_ctx_new", r);
	if ((r = usb_enumerate(ctx, &list, &n)) != USB_OK) {
		fail("usb_enumerate", r);
		goto out;
	}
	for (i = 0; i < n; i++)
		printf("reader %s %04x:%04x '%s' '%s' serial '%s' iface %u "
		    "class %02x eps %02x/%02x/%02x level %05x maxmsg %u "
		    "slots %u\n", list[i].path, list[i].vid, list[i].pid,
		    list[i].manufacturer, list[i].product, list[i].serial,
		    list[i].iface.bInterfaceNumber,
		    list[i].iface.bInterfaceClass, list[i].iface.ep_bulk_in,
		    list[i].iface.ep_bulk_out, list[i].iface.ep_intr_in,
		    list[i].iface.ccid.dwFeatures & USB_CCID_FEAT_LEVEL_MASK,
		    list[i].iface.ccid.dwMaxCCIDMessageLength,
		    list[i].iface.ccid.bMaxSlotIndex + 1);
	if (n == 0) {
		fail("no CCID reader listed", USB_ERR_NOT_FOUND);
		goto out;
	}
	if (want_vid != 0 && (list[0].vid != want_vid ||
	    list[0].pid != want_pid)) {
		fprintf(stderr, "usb_enum: expected %04x:%04x\n", want_vid,
		    want_pid);
		goto out;
	}
	if (list[0].product[0] == '\0' || list[0].path[0] == '\0') {
		fprintf(stderr, "usb_enum: no product string or path\n");
		goto out;
	}
	if ((r = usb_open(ctx, &list[0], &dev)) != USB_OK) {
		fail("usb_open", r);
		goto out;
	}
	info = usb_dev_get_info(dev);
	for (k = 0; k < 3; k++) {
		ms = 5000;
		if ((r = usb_begin(dev, &ms)) != USB_OK) {
			fail("usb_begin", r);
			goto out;
		}
		cmd[6] = (uint8_t)(k + 1);	/* bSeq */
		if ((r = usb_bulk_write(dev, cmd, sizeof(cmd), &ms)) != USB_OK ||
		    (r = usb_bulk_read(dev, rsp, sizeof(rsp), &got, &ms)) !=
		    USB_OK) {
			fail("GetSlotStatus", r);
			goto out;
		}
		if (got != 10 || rsp[0] != 0x81 || rsp[6] != k + 1 ||
		    rsp[1] != 0 || rsp[5] != 0) {
			fprintf(stderr, "usb_enum: bad SlotStatus answer "
			    "(%zu bytes, type %02x seq %02x)\n", got, rsp[0],
			    rsp[6]);
			goto out;
		}
		printf("GetSlotStatus %d: bStatus %02x bError %02x\n", k,
		    rsp[7], rsp[8]);
		if ((r = usb_end(dev)) != USB_OK) {
			fail("usb_end", r);
			goto out;
		}
	}
	/* outside a transaction a transfer is refused */
	ms = 1000;
	if (usb_bulk_write(dev, cmd, sizeof(cmd), &ms) != USB_ERR_ARG) {
		fprintf(stderr, "usb_enum: transfer outside begin/end\n");
		goto out;
	}
	/* alone, only this process used it: no generation bump */
	if ((getenv("USB_ENUM_SHARED") == NULL &&
	    usb_dev_generation(dev) != 0) || usb_dev_removed(dev)) {
		fprintf(stderr, "usb_enum: generation %llu\n",
		    (unsigned long long)usb_dev_generation(dev));
		goto out;
	}
	printf("ok %04x:%04x iface %u: 3 transactions, generation %llu\n",
	    info->vid, info->pid, info->iface.bInterfaceNumber,
	    (unsigned long long)usb_dev_generation(dev));
	rc = 0;
out:
	usb_close(&dev);
	free(list);
	usb_ctx_free(&ctx);
	return rc;
}
