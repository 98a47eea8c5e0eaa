/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/usb_enum.c — the usb layer against the emulated reader
 * (built and run by usb_enum.sh under umockdev): usb_enumerate lists it,
 * usb_open / usb_begin / a GetSlotStatus bulk write + read / usb_end work,
 * and the lock's transaction counter moves.
 *
 *   usb_enum [VID:PID]     exits 0 when all is well, 1 with a message
 *   usb_enum --fd NODE     usb_open_fd on an opened usbfs node (run with
 *                          USBPIV_USB_NO_DISCOVERY=1: a container's view)
 *   usb_enum --busy        another program holds the interface: BUSY
 *   usb_enum --unplug CTL  the reader is unplugged mid-transaction (through
 *                          the emulator's control FIFO): NO_DEVICE, removed,
 *                          generation bumped, hot-plug poll reports it
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libusb.h>

#include "../../usb/usb.h"

static int
fail(const char *what, int r)
{
	fprintf(stderr, "usb_enum: %s: %s\n", what, usb_strerror(r));
	return 1;
}

/* One GetSlotStatus exchange inside the current transaction. */
static int
slot_status(usb_dev_t *dev, uint8_t seq, int *ms)
{
	uint8_t cmd[10] = { 0x65, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t rsp[64];
	size_t got = 0;
	int r;

	cmd[6] = seq;
	if ((r = usb_bulk_write(dev, cmd, sizeof(cmd), ms)) != USB_OK ||
	    (r = usb_bulk_read(dev, rsp, sizeof(rsp), &got, ms)) != USB_OK)
		return r;
	if (got != 10 || rsp[0] != 0x81 || rsp[6] != seq)
		return USB_ERR_IO;
	return USB_OK;
}

static int
open_first(usb_ctx_t **ctx, usb_dev_t **dev)
{
	struct usb_dev_info *list = NULL;
	size_t n = 0;
	int r;

	if ((r = usb_ctx_new(ctx)) != USB_OK)
		return fail("usb_ctx_new", r);
	if ((r = usb_enumerate(*ctx, &list, &n)) != USB_OK || n == 0) {
		free(list);
		return fail("usb_enumerate", r != USB_OK ? r :
		    USB_ERR_NOT_FOUND);
	}
	r = usb_open(*ctx, &list[0], dev);
	free(list);
	return r != USB_OK ? fail("usb_open", r) : 0;
}

/* The container case: one device node, no bus to scan. */
static int
mode_fd(const char *node)
{
	usb_ctx_t *ctx = NULL;
	usb_dev_t *dev = NULL;
	struct usb_dev_info *list = NULL;
	size_t n = 99;
	int fd, r, ms = 5000, rc = 1;

	if ((fd = open(node, O_RDWR | O_CLOEXEC)) < 0) {
		perror(node);
		return 1;
	}
	if ((r = usb_ctx_new(&ctx)) != USB_OK) {
		fail("usb_ctx_new", r);
		goto out;
	}
	/* no discovery: enumeration is empty, not an error */
	if ((r = usb_enumerate(ctx, &list, &n)) != USB_OK || n != 0) {
		fprintf(stderr, "usb_enum: enumerate in fd-only mode: %d %zu\n",
		    r, n);
		goto out;
	}
	if ((r = usb_open_fd(ctx, fd, &dev)) != USB_OK) {
		fail("usb_open_fd", r);
		goto out;
	}
	if ((r = usb_begin(dev, &ms)) != USB_OK ||
	    (r = slot_status(dev, 7, &ms)) != USB_OK ||
	    (r = usb_end(dev)) != USB_OK) {
		fail("transaction through the fd", r);
		goto out;
	}
	printf("ok fd: %04x:%04x iface %u '%s' serial '%s'\n",
	    usb_dev_get_info(dev)->vid, usb_dev_get_info(dev)->pid,
	    usb_dev_get_info(dev)->iface.bInterfaceNumber,
	    usb_dev_get_info(dev)->product, usb_dev_get_info(dev)->serial);
	rc = 0;
out:
	usb_close(&dev);
	usb_ctx_free(&ctx);
	close(fd);		/* still ours after usb_close */
	return rc;
}

/* A raw libusb program (think pcscd) holds the interface. */
static int
mode_busy(void)
{
	usb_ctx_t *ctx = NULL;
	usb_dev_t *dev = NULL;
	int up[2], down[2], r, ms, st, rc = 1;
	pid_t pid;
	char c;

	if (open_first(&ctx, &dev) != 0)
		goto out;
	if (pipe(up) != 0 || pipe(down) != 0)
		goto out;
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		libusb_context *lu = NULL;
		libusb_device_handle *h;
		const struct usb_dev_info *i = usb_dev_get_info(dev);

		if (libusb_init(&lu) != 0 ||
		    (h = libusb_open_device_with_vid_pid(lu, i->vid,
		    i->pid)) == NULL ||
		    libusb_claim_interface(h, i->iface.bInterfaceNumber) != 0)
			_exit(1);
		if (write(up[1], "c", 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(1);
		libusb_release_interface(h, i->iface.bInterfaceNumber);
		libusb_close(h);
		libusb_exit(lu);
		_exit(0);
	}
	if (read(up[0], &c, 1) != 1) {
		fprintf(stderr, "usb_enum: the other program did not claim\n");
		goto out;
	}
	ms = 2000;
	r = usb_begin(dev, &ms);
	printf("while held elsewhere: %s\n", usb_strerror(r));
	if (r != USB_ERR_BUSY || strstr(usb_strerror(r), "pcscd") == NULL)
		goto out;
	/* and the lock was not left held: once free, it works */
	if (write(down[1], "x", 1) != 1 || waitpid(pid, &st, 0) != pid ||
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		goto out;
	ms = 5000;
	if ((r = usb_begin(dev, &ms)) != USB_OK ||
	    (r = slot_status(dev, 9, &ms)) != USB_OK ||
	    (r = usb_end(dev)) != USB_OK) {
		fail("after release", r);
		goto out;
	}
	printf("ok busy\n");
	rc = 0;
out:
	usb_close(&dev);
	usb_ctx_free(&ctx);
	return rc;
}

/* Sends one injection line to the emulator and waits for its ack. */
static int
inject(const char *ctl, const char *line)
{
	char ack[512], buf[256];
	FILE *f;
	int fd, i;

	snprintf(ack, sizeof(ack), "%s.ack", ctl);
	if ((fd = open(ctl, O_WRONLY)) < 0)
		return -1;
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	close(fd);
	for (i = 0; i < 100; i++) {
		if ((f = fopen(ack, "r")) != NULL) {
			while (fgets(buf, sizeof(buf), f) != NULL) {
				if (strncmp(buf, "ok ", 3) == 0 &&
				    strstr(buf, line) != NULL) {
					fclose(f);
					return 0;
				}
			}
			fclose(f);
		}
		usleep(50000);
	}
	return -1;
}

static int
mode_unplug(const char *ctl)
{
	usb_ctx_t *ctx = NULL;
	usb_dev_t *dev = NULL;
	struct usb_dev_info *list = NULL;
	size_t n = 99;
	uint64_t g0;
	int r, ms, rc = 1;

	if (open_first(&ctx, &dev) != 0)
		goto out;
	ms = 0;
	if ((r = usb_poll_hotplug(ctx, &ms)) != 0) {
		fprintf(stderr, "usb_enum: change reported before any: %d\n",
		    r);
		goto out;
	}
	g0 = usb_ctx_generation(ctx);
	/* card pulled: a NotifySlotChange on the interrupt pipe, read
	 * outside any transaction (the read brackets itself) */
	if (inject(ctl, "remove") != 0) {
		fprintf(stderr, "usb_enum: remove injection not acked\n");
		goto out;
	}
	{
		uint8_t msg[8];
		size_t got = 0;

		ms = 3000;
		r = usb_intr_read(dev, msg, sizeof(msg), &got, &ms);
		printf("interrupt after card removal: %s, %zu bytes %02x %02x\n",
		    usb_strerror(r), got, got > 0 ? msg[0] : 0,
		    got > 1 ? msg[1] : 0);
		if (r != USB_OK || got < 2 || msg[0] != 0x50 ||
		    (msg[1] & 0x03) != 0x02)
			goto out;
	}
	if (inject(ctl, "insert") != 0)
		goto out;
	ms = 5000;
	if ((r = usb_begin(dev, &ms)) != USB_OK ||
	    (r = slot_status(dev, 1, &ms)) != USB_OK) {
		fail("before unplug", r);
		goto out;
	}
	if (inject(ctl, "unplug") != 0) {
		fprintf(stderr, "usb_enum: unplug injection not acked\n");
		goto out;
	}
	r = slot_status(dev, 2, &ms);
	printf("transfer after unplug: %s; removed %d generation %llu\n",
	    usb_strerror(r), usb_dev_removed(dev),
	    (unsigned long long)usb_dev_generation(dev));
	if (r != USB_ERR_NO_DEVICE || !usb_dev_removed(dev) ||
	    usb_dev_generation(dev) != 1)
		goto out;
	usb_end(dev);
	ms = 1000;
	if ((r = usb_begin(dev, &ms)) != USB_ERR_NO_DEVICE) {
		fail("begin after unplug", r);
		goto out;
	}
	/*
	 * The hot-plug poll is shown, not asserted: under umockdev libusb's
	 * udev monitor gets no "remove" event (not even when the emulator
	 * sends one with umockdev_testbed_uevent, tried), so the context's
	 * cached device list cannot change.  A fresh context rescans sysfs.
	 */
	ms = 1500;
	r = usb_poll_hotplug(ctx, &ms);
	printf("hot-plug poll (informational): %d, context generation "
	    "%llu -> %llu\n", r, (unsigned long long)g0,
	    (unsigned long long)usb_ctx_generation(ctx));
	usb_close(&dev);
	usb_ctx_free(&ctx);
	if ((r = usb_ctx_new(&ctx)) != USB_OK ||
	    (r = usb_enumerate(ctx, &list, &n)) != USB_OK || n != 0) {
		fprintf(stderr, "usb_enum: still listed after unplug (%d)\n",
		    r);
		goto out;
	}
	printf("ok unplug\n");
	rc = 0;
out:
	free(list);
	usb_close(&dev);
	usb_ctx_free(&ctx);
	return rc;
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

	if (argc > 2 && strcmp(argv[1], "--fd") == 0)
		return mode_fd(argv[2]);
	if (argc > 1 && strcmp(argv[1], "--busy") == 0)
		return mode_busy();
	if (argc > 2 && strcmp(argv[1], "--unplug") == 0)
		return mode_unplug(argv[2]);
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
		if (usb_iface_is_iccd(&info->iface)) {
			/* ICCD: the control pipe (B: SLOT_STATUS, 3 bytes;
			 * A: GET_ICC_STATUS, 1 byte) */
			int b = info->iface.bInterfaceProtocol == USB_ICCD_B;

			if ((r = usb_control(dev, 0xA1, b ? 0x81 : 0xA0, 0,
			    rsp, b ? 3 : 1, &got, &ms)) != USB_OK) {
				fail("ICCD status", r);
				goto out;
			}
			if (got != (b ? 3u : 1u)) {
				fprintf(stderr, "usb_enum: ICCD status: %zu "
				    "bytes\n", got);
				goto out;
			}
			if (b)
				printf("ICCD SLOT_STATUS %d: %02x %02x %02x\n",
				    k, rsp[0], rsp[1], rsp[2]);
			else
				printf("ICCD GET_ICC_STATUS %d: %02x\n", k,
				    rsp[0]);
			if ((r = usb_end(dev)) != USB_OK) {
				fail("usb_end", r);
				goto out;
			}
			continue;
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
