/* SPDX-License-Identifier: MIT */
/*
 * probe_main.c — build/vtoken-probe: checks the emulated reader with RAW
 * libusb calls (no code of the driver under test), so that what the
 * emulator does is proven against the real libusb before a CCID driver is
 * tested on it.  Also a complete example of a libusb client of the
 * emulator (tests/vtoken/README.md).
 *
 *   vtoken-probe STEP...     (run under tests/with-vtoken)
 *
 * Steps (each prints one "ok ..." line or fails with exit 1):
 *   enum          a CCID device, its 0x21 descriptor; prints vid:pid
 *   expect:VVVV:PPPP   the device found has this vid:pid
 *   strings       manufacturer, product, serial string descriptors
 *   power         claim, IccPowerOn (slot 0), ATR
 *   select        SELECT PIV (at the reader's level; T=1 blocks on t1)
 *   echo:N        the test card's ECHO of N bytes, checked byte for byte
 *   fill:N        the test card's FILL of N bytes (response chaining)
 *   slot:N        later steps address slot N
 *   ctl:LINE      sends LINE to $VTOKEN_CTL and waits for its ack
 *   notify:HEX    the next interrupt-IN message is HEX
 *   wtx:N         the next answer comes after exactly N time extensions
 *   malform:KIND  the next answer is malformed that way
 *   nodev         the next transfer fails LIBUSB_ERROR_NO_DEVICE
 *   errors        error answers: bad slot, Secure, inactive card, Abort,
 *                 parameters, Escape, IccClock, class requests
 *   loop:N        N times: claim (waiting while busy), power on, SELECT,
 *                 release
 *   swtx          (t1) the card's S(WTX) requests are answered
 *   extrefused    an extended-length APDU is refused (short APDU level)
 *   absent        a fresh enumeration finds no CCID device
 *   reopen        closes the device and opens it again (after a replug)
 *   apdu:HEX=SW   sends the APDU HEX, the answer must end in SW (hex)
 *   timeouts      an interrupt-IN and a bulk-IN read with nothing to come
 *                 time out (libusb cancels: DISCARDURB), and nothing is
 *                 lost afterwards
 *   wrap          reopens through open() + libusb_wrap_sys_device()
 *   hold:MS       claims the interface and sleeps MS milliseconds
 *   busy          claiming fails LIBUSB_ERROR_BUSY (another holds it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdint.h>

#include <libusb.h>

#include "vtoken.h"

#define TIMEOUT 5000
#define MAXMSG	(65536 + 200)

static libusb_context *ctx;
static libusb_device_handle *h;
static uint8_t ep_in, ep_out, ep_intr;
static uint32_t features, maxmsg;
static uint8_t max_slot;
static uint16_t vid, pid;
static uint8_t seq;
static uint8_t slot;
static int claimed;
static uint8_t t1_ns;		/* our N(S) */
static uint8_t ifsc = 32;
static int swtx_seen;
static uint8_t frame[MAXMSG];
static size_t framelen;
static int last_wtx;

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vtoken-probe: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void
hexdump(const char *label, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s:", label);
	for (i = 0; i < n && i < 64; i++)
		fprintf(stderr, " %02X", p[i]);
	fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Takes the CCID interface of dev: endpoints and class descriptor. */
static int
use_device(libusb_device *dev)
{
	struct libusb_device_descriptor dd;
	struct libusb_config_descriptor *cfg;
	const struct libusb_interface_descriptor *id;
	int e;

	if (libusb_get_device_descriptor(dev, &dd) != 0 ||
	    libusb_get_active_config_descriptor(dev, &cfg) != 0)
		return -1;
	id = &cfg->interface[0].altsetting[0];
	if (id->extra_length < 54 || id->extra[0] != 54 ||
	    (id->extra[1] != 0x21 && id->extra[1] != 0xFF)) {
		libusb_free_config_descriptor(cfg);
		return -1;
	}
	max_slot = id->extra[4];
	features = le32(id->extra + 40);
	maxmsg = le32(id->extra + 44);
	ep_in = ep_out = ep_intr = 0;
	for (e = 0; e < id->bNumEndpoints; e++) {
		const struct libusb_endpoint_descriptor *ep = &id->endpoint[e];
		int type = ep->bmAttributes & 3;

		if (type == LIBUSB_TRANSFER_TYPE_BULK &&
		    (ep->bEndpointAddress & 0x80))
			ep_in = ep->bEndpointAddress;
		else if (type == LIBUSB_TRANSFER_TYPE_BULK)
			ep_out = ep->bEndpointAddress;
		else if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT)
			ep_intr = ep->bEndpointAddress;
	}
	libusb_free_config_descriptor(cfg);
	vid = dd.idVendor;
	pid = dd.idProduct;
	if (maxmsg < 20 || maxmsg > MAXMSG)
		die("dwMaxCCIDMessageLength %u", maxmsg);
	return 0;
}

/*
 * libusb_init with a few retries.  umockdev binds each process's emulated
 * netlink socket at $UMOCKDEV_DIR/event<fd> after unlinking that path, so
 * two processes starting at once with the same fd number race between
 * unlink and bind, and one libusb_init fails with LIBUSB_ERROR_OTHER.
 * A real bus has no such race; usb_ctx_new() retries the same way.
 */
static int
init_retry(libusb_context **c)
{
	int k, r = LIBUSB_ERROR_OTHER;

	for (k = 0; k < 5; k++) {
		if ((r = libusb_init(c)) == 0)
			return 0;
		usleep(20000u * (unsigned)(k + 1));
	}
	return r;
}

static int
try_open_dev(void)
{
	libusb_device **list;
	ssize_t n, i;
	int r;

	if (h != NULL)
		return 0;
	if (ctx == NULL && init_retry(&ctx) != 0)
		die("libusb_init");
	if ((n = libusb_get_device_list(ctx, &list)) < 0)
		die("get_device_list: %s", libusb_error_name((int)n));
	for (i = 0; i < n && h == NULL; i++) {
		if (use_device(list[i]) != 0)
			continue;
		if ((r = libusb_open(list[i], &h)) != 0)
			die("open %04x:%04x: %s", vid, pid,
			    libusb_error_name(r));
	}
	libusb_free_device_list(list, 1);
	return h != NULL ? 0 : -1;
}

static void
open_dev(void)
{
	if (try_open_dev() != 0)
		die("no CCID device (is UMOCKDEV_DIR set?)");
}

/* Reopens the device from a plain open() of its node, as a program that
 * was handed the fd would (libusb_wrap_sys_device, no enumeration). */
static void
wrap_dev(void)
{
	char path[64];
	int fd, r;

	open_dev();
	snprintf(path, sizeof(path), "/dev/bus/usb/%03u/%03u",
	    libusb_get_bus_number(libusb_get_device(h)),
	    libusb_get_device_address(libusb_get_device(h)));
	if (claimed)
		libusb_release_interface(h, 0);
	claimed = 0;
	libusb_close(h);
	h = NULL;
	libusb_exit(ctx);
	ctx = NULL;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		die("%s: %s", path, strerror(errno));
	if (init_retry(&ctx) != 0)
		die("libusb_init");
	if ((r = libusb_wrap_sys_device(ctx, (intptr_t)fd, &h)) != 0)
		die("wrap_sys_device: %s", libusb_error_name(r));
	if (use_device(libusb_get_device(h)) != 0)
		die("wrapped device has no CCID interface");
}

static void
claim(int wait_busy)
{
	int r, tries = 0;

	open_dev();
	if (claimed)
		return;
	while ((r = libusb_claim_interface(h, 0)) == LIBUSB_ERROR_BUSY &&
	    wait_busy && tries++ < 5000)
		usleep(1000);
	if (r != 0)
		die("claim: %s", libusb_error_name(r));
	claimed = 1;
}

static void
release(void)
{
	if (claimed && libusb_release_interface(h, 0) != 0)
		die("release");
	claimed = 0;
}

/* Sends one PC_to_RDR message. */
static int
send_msg(uint8_t type, uint8_t b7, uint8_t b8, uint8_t b9, const uint8_t *d,
    size_t n)
{
	static uint8_t m[MAXMSG];
	int got = 0, r;

	m[0] = type;
	m[1] = (uint8_t)n;
	m[2] = (uint8_t)(n >> 8);
	m[3] = (uint8_t)(n >> 16);
	m[4] = (uint8_t)(n >> 24);
	m[5] = slot;
	m[6] = ++seq;
	m[7] = b7;
	m[8] = b8;
	m[9] = b9;
	if (n > 0)
		memcpy(m + 10, d, n);
	r = libusb_bulk_transfer(h, ep_out, m, (int)(10 + n), &got, TIMEOUT);
	if (r == 0 && got != (int)(10 + n))
		die("short bulk out %d", got);
	return r;
}

/* Reads one raw bulk-IN transfer into frame. */
static int
read_raw(void)
{
	int got = 0, r;

	r = libusb_bulk_transfer(h, ep_in, frame, (int)maxmsg, &got, TIMEOUT);
	framelen = (size_t)got;
	return r;
}

/* Reads the answer to our last message, skipping time extensions, and
 * checks the header. */
static void
read_answer(uint8_t want_type)
{
	int r;

	last_wtx = 0;
	for (;;) {
		if ((r = read_raw()) != 0)
			die("bulk in: %s", libusb_error_name(r));
		if (framelen < 10)
			die("runt frame %zu", framelen);
		if (le32(frame + 1) != framelen - 10)
			die("dwLength %u but %zu bytes", le32(frame + 1),
			    framelen - 10);
		if (frame[6] != seq || frame[5] != slot)
			die("seq/slot %u/%u, want %u/%u", frame[6], frame[5],
			    seq, slot);
		if ((frame[7] & 0xC0) == 0x80) {
			if (++last_wtx > 200000)
				die("endless time extensions");
			continue;
		}
		break;
	}
	if (frame[0] != want_type)
		die("message type %02X, want %02X", frame[0], want_type);
}

static void
power_on(void)
{
	claim(1);
	if (send_msg(0x62, 0, 0, 0, NULL, 0) != 0)
		die("send IccPowerOn");
	read_answer(0x80);
	if (frame[7] != 0 || framelen < 12 || frame[10] != 0x3B)
		die("IccPowerOn status %02X error %02X", frame[7], frame[8]);
	/* IFSC: the first TA in a group after a TD saying T=1. */
	if ((features & 0x70000) == 0x10000) {
		const uint8_t *a = frame + 10;
		size_t alen = framelen - 10, i = 2;
		uint8_t y = a[1] >> 4;
		int n = 1, proto = 0, found = 0;

		ifsc = 32;
		while (i <= alen) {
			if ((y & 1) && i < alen && n >= 3 && proto == 1 &&
			    !found) {
				ifsc = a[i];
				found = 1;
			}
			i += (size_t)((y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1));
			if (!(y & 8) || i >= alen)
				break;
			proto = a[i] & 0x0F;
			y = a[i] >> 4;
			i++;
			n++;
		}
	}
	t1_ns = 0;
}

/* ---- T=1, host side (small, for checking the card side) --------------- */

static size_t
t1_block(uint8_t *b, uint8_t pcb, const uint8_t *inf, size_t n)
{
	uint8_t lrc = 0;
	size_t i;

	b[0] = 0;
	b[1] = pcb;
	b[2] = (uint8_t)n;
	if (n)
		memcpy(b + 3, inf, n);
	for (i = 0; i < 3 + n; i++)
		lrc ^= b[i];
	b[3 + n] = lrc;
	return 4 + n;
}

/* Sends a block, returns the card's block in frame+10. */
static const uint8_t *
t1_xchg(const uint8_t *blk, size_t n, size_t *rlen)
{
	uint8_t lrc = 0;
	size_t i;

	if (send_msg(0x6F, 0, 0, 0, blk, n) != 0)
		die("send XfrBlock");
	read_answer(0x80);
	if (frame[7] & 0x40)
		die("XfrBlock failed, bError %02X", frame[8]);
	*rlen = framelen - 10;
	if (*rlen < 4 || frame[12] != *rlen - 4)
		die("bad T=1 block length");
	for (i = 0; i < *rlen; i++)
		lrc ^= frame[10 + i];
	if (lrc != 0)
		die("bad LRC from card");
	return frame + 10;
}

static size_t
t1_apdu(const uint8_t *c, size_t clen, uint8_t *rsp, size_t cap)
{
	uint8_t blk[260], inf = 254;
	const uint8_t *r;
	size_t rl, off = 0, out = 0;
	static int ifs_done;

	if (!ifs_done) {
		r = t1_xchg(blk, t1_block(blk, 0xC1, &inf, 1), &rl);
		if (r[1] != 0xE1 || r[3] != 254)
			die("S(IFS response) missing");
		ifs_done = 1;
	}
	for (;;) {		/* command chain */
		size_t n = clen - off;
		int more = n > ifsc;

		if (more)
			n = ifsc;
		r = t1_xchg(blk, t1_block(blk, (uint8_t)(t1_ns << 6 |
		    more << 5), c + off, n), &rl);
		t1_ns ^= 1;
		off += n;
		if (!more)
			break;
		if ((r[1] & 0xC0) != 0x80 || ((r[1] >> 4) & 1) != t1_ns)
			die("no R-block acking our chain (PCB %02X)", r[1]);
	}
	for (;;) {		/* response chain, S(WTX) */
		if (r[1] == 0xC3) {
			swtx_seen++;
			r = t1_xchg(blk, t1_block(blk, 0xE3, r + 3, 1), &rl);
			continue;
		}
		if (r[1] & 0x80)
			die("expected an I-block, PCB %02X", r[1]);
		if (out + r[2] > cap)
			die("response too long");
		memcpy(rsp + out, r + 3, r[2]);
		out += r[2];
		if (!(r[1] & 0x20))
			break;
		r = t1_xchg(blk, t1_block(blk, (uint8_t)(0x80 |
		    (((r[1] >> 6) & 1) ^ 1) << 4), NULL, 0), &rl);
	}
	return out;
}

/* One APDU at whatever level the reader works. */
static size_t
apdu(const uint8_t *c, size_t clen, uint8_t *rsp, size_t cap)
{
	size_t maxd = maxmsg - 10, off = 0, out = 0;
	uint32_t level = features & 0x70000;

	if (level == 0x10000)
		return t1_apdu(c, clen, rsp, cap);
	if (level != 0x40000 || clen <= maxd) {
		if (send_msg(0x6F, 0, 0, 0, c, clen) != 0)
			die("send XfrBlock");
		read_answer(0x80);
		if (frame[7] & 0x40)
			die("XfrBlock failed, bError %02X", frame[8]);
	} else {
		while (off < clen) {	/* wLevelParameter 1, 3, 3.., 2 */
			size_t n = clen - off;
			uint16_t lv;

			if (n > maxd)
				n = maxd;
			lv = off == 0 ? 1 : (off + n < clen ? 3 : 2);
			if (send_msg(0x6F, 0, (uint8_t)lv, 0, c + off, n) != 0)
				die("send XfrBlock");
			read_answer(0x80);
			if (frame[7] & 0x40)
				die("XfrBlock part failed, bError %02X",
				    frame[8]);
			off += n;
			if (off < clen && (frame[9] != 0x10 || framelen != 10))
				die("no 0x10 continuation, bChain %02X",
				    frame[9]);
		}
	}
	for (;;) {
		size_t n = framelen - 10;
		uint8_t ch = frame[9];

		if (out + n > cap)
			die("response too long");
		memcpy(rsp + out, frame + 10, n);
		out += n;
		if (level != 0x40000 || ch == 0 || ch == 2)
			break;
		if (ch != 1 && ch != 3)
			die("bad bChainParameter %02X", ch);
		if (send_msg(0x6F, 0, 0x10, 0, NULL, 0) != 0)
			die("send XfrBlock 0x10");
		read_answer(0x80);
		if (frame[7] & 0x40)
			die("continuation failed, bError %02X", frame[8]);
	}
	return out;
}

static void
step_select(void)
{
	static const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0,
	    0x00, 0x00, 0x03, 0x08 };
	static uint8_t r[300];
	size_t n;

	n = apdu(sel, sizeof(sel), r, sizeof(r));
	if (n < 2 || r[n - 2] != 0x90 || r[n - 1] != 0x00) {
		hexdump("response", r, n);
		die("SELECT PIV did not answer 9000");
	}
}

static void
step_echo(size_t n, int fill)
{
	static uint8_t c[70000], r[70000];
	size_t clen, rl, i;

	if (n > 65535)
		die("echo too long");
	c[0] = 0x00;
	c[1] = fill ? 0xEF : 0xEE;
	c[2] = fill ? (uint8_t)(n >> 8) : 0;
	c[3] = fill ? (uint8_t)n : 0;
	if (fill) {
		c[4] = 0; c[5] = 0; c[6] = 0;	/* extended Le */
		clen = n <= 256 ? 5 : 7;
		if (n <= 256)
			c[4] = (uint8_t)n;
	} else if (n <= 255 && n > 0) {
		c[4] = (uint8_t)n;
		for (i = 0; i < n; i++)
			c[5 + i] = (uint8_t)(i * 7 + 3);
		clen = 5 + n;
		c[clen++] = 0;
	} else {
		c[4] = 0;
		c[5] = (uint8_t)(n >> 8);
		c[6] = (uint8_t)n;
		for (i = 0; i < n; i++)
			c[7 + i] = (uint8_t)(i * 7 + 3);
		clen = 7 + n;
		c[clen++] = 0;
		c[clen++] = 0;
	}
	rl = apdu(c, clen, r, sizeof(r));
	if (rl != n + 2 || r[n] != 0x90 || r[n + 1] != 0)
		die("%s %zu: got %zu bytes", fill ? "fill" : "echo", n, rl);
	for (i = 0; i < n; i++)
		if (r[i] != (fill ? (uint8_t)i : (uint8_t)(i * 7 + 3)))
			die("%s %zu: byte %zu differs", fill ? "fill" :
			    "echo", n, i);
}

static void
step_ctl(const char *line)
{
	char ack[600];

	if (getenv(VTOKEN_ENV_CTL) == NULL)
		die("VTOKEN_CTL is not set");
	if (vtoken_inject(NULL, line, ack, sizeof(ack), 5000) != 0)
		die("ctl '%s': %s", line, ack[0] ? ack : strerror(errno));
}

static void
step_notify(const char *hex)
{
	uint8_t want[16], got[16];
	size_t n = 0;
	int r, len = 0;

	while (hex[0] && hex[1] && n < sizeof(want)) {
		unsigned v;

		if (sscanf(hex, "%2x", &v) != 1)
			die("bad hex %s", hex);
		want[n++] = (uint8_t)v;
		hex += 2;
	}
	if (ep_intr == 0)
		die("no interrupt endpoint");
	r = libusb_interrupt_transfer(h, ep_intr, got, sizeof(got), &len,
	    TIMEOUT);
	if (r != 0)
		die("interrupt in: %s", libusb_error_name(r));
	if ((size_t)len != n || memcmp(got, want, n) != 0) {
		hexdump("notify", got, (size_t)len);
		die("unexpected NotifySlotChange");
	}
}

static void
expect_error(uint8_t type, uint8_t b7, const uint8_t *d, size_t n,
    uint8_t rtype, uint8_t status, uint8_t error, const char *what)
{
	if (send_msg(type, b7, 0, 0, d, n) != 0)
		die("send %s", what);
	read_answer(rtype);
	if (frame[7] != status || frame[8] != error)
		die("%s: bStatus %02X bError %02X, want %02X %02X", what,
		    frame[7], frame[8], status, error);
}

static void
step_errors(void)
{
	static const uint8_t esc[] = { 1, 2, 3 };
	static const uint8_t t1p[] = { 0x11, 0x10, 0x00, 0x45, 0x00, 0xFE,
	    0x00 };
	uint8_t buf[16];
	int r;

	power_on();
	/* unknown slot: bError 5, ICC absent */
	slot = (uint8_t)(max_slot + 1);
	expect_error(0x65, 0, NULL, 0, 0x81, 0x42, 0x05, "bad slot");
	slot = 0;
	expect_error(0x69, 0, NULL, 0, 0x80, 0x40, 0x00, "Secure");
	expect_error(0x71, 0, NULL, 0, 0x81, 0x40, 0x00, "Mechanical");
	expect_error(0x6B, 0, esc, sizeof(esc), 0x83, 0x00, 0x00, "Escape");
	if (framelen != 13 || memcmp(frame + 10, esc, 3) != 0)
		die("Escape did not echo");
	expect_error(0x6C, 0, NULL, 0, 0x82, 0x00, 0x00, "GetParameters");
	if (frame[9] != 1 || framelen != 17)
		die("GetParameters: protocol %u len %zu", frame[9], framelen);
	expect_error(0x61, 1, t1p, sizeof(t1p), 0x82, 0x00, 0x00,
	    "SetParameters");
	expect_error(0x61, 1, t1p, 5, 0x82, 0x40, 0x01, "SetParameters len");
	expect_error(0x6D, 0, NULL, 0, 0x82, 0x00, 0x00, "ResetParameters");
	expect_error(0x6E, 1, NULL, 0, 0x81, 0x00, 0x00, "IccClock stop");
	if (frame[9] != 1)
		die("bClockStatus %u after stop", frame[9]);
	expect_error(0x6E, 0, NULL, 0, 0x81, 0x00, 0x00, "IccClock restart");
	expect_error(0x62, 4, NULL, 0, 0x80, 0x40, 0x07, "bad voltage");
	/* Abort: PC_to_RDR_Abort alone fails; with the class request ok. */
	expect_error(0x72, 0, NULL, 0, 0x81, 0x40, 0xFF, "lone Abort");
	r = libusb_control_transfer(h, 0x21, 0x01,
	    (uint16_t)((uint8_t)(seq + 1) << 8 | slot), 0, NULL, 0, TIMEOUT);
	if (r != 0)
		die("ABORT class request: %s", libusb_error_name(r));
	expect_error(0x72, 0, NULL, 0, 0x81, 0x00, 0x00, "Abort");
	r = libusb_control_transfer(h, 0xA1, 0x02, 0, 0, buf, sizeof(buf),
	    TIMEOUT);
	if (r < 4)
		die("GET_CLOCK_FREQUENCIES: %d", r);
	r = libusb_control_transfer(h, 0xA1, 0x03, 0, 0, buf, sizeof(buf),
	    TIMEOUT);
	if (r < 4)
		die("GET_DATA_RATES: %d", r);
	r = libusb_control_transfer(h, 0xA1, 0x7F, 0, 0, buf, sizeof(buf),
	    TIMEOUT);
	if (r != LIBUSB_ERROR_PIPE)
		die("unknown class request not stalled: %d", r);
	/* bad dwLength: says 5 bytes, carries none */
	{
		uint8_t m[10] = { 0x65, 5, 0, 0, 0, 0, 0, 0, 0, 0 };
		int got;

		m[6] = ++seq;
		if (libusb_bulk_transfer(h, ep_out, m, 10, &got, TIMEOUT) != 0)
			die("send bad dwLength");
		read_answer(0x81);
		if (frame[7] != 0x40 || frame[8] != 0x01)
			die("bad dwLength: %02X %02X", frame[7], frame[8]);
	}
	/* power off: XfrBlock fails with the card inactive */
	expect_error(0x63, 0, NULL, 0, 0x81, 0x01, 0x00, "IccPowerOff");
	expect_error(0x6F, 0, esc, sizeof(esc), 0x80, 0x41, 0xFE,
	    "XfrBlock unpowered");
	expect_error(0x65, 0, NULL, 0, 0x81, 0x01, 0x00, "GetSlotStatus");
	power_on();
}

static void
step_malform(const char *kind)
{
	char line[64];
	int r;

	snprintf(line, sizeof(line), "malform %s", kind);
	step_ctl(line);
	if (send_msg(0x65, 0, 0, 0, NULL, 0) != 0)
		die("send");
	if ((r = read_raw()) != 0)
		die("bulk in: %s", libusb_error_name(r));
	if (strcmp(kind, "truncated") == 0) {
		if (framelen >= 10)
			die("truncated: %zu bytes", framelen);
	} else if (strcmp(kind, "length") == 0) {
		if (framelen != 10 || le32(frame + 1) <= framelen - 10)
			die("length: dwLength %u, %zu bytes", le32(frame + 1),
			    framelen);
	} else if (strcmp(kind, "length-short") == 0) {
		if (framelen < 10 || le32(frame + 1) >= framelen - 10)
			die("length-short: dwLength %u, %zu bytes",
			    le32(frame + 1), framelen);
	} else if (strcmp(kind, "seq") == 0) {
		if (framelen != 10 || frame[6] == seq)
			die("seq: bSeq %u", frame[6]);
	} else if (strcmp(kind, "slot") == 0) {
		if (framelen != 10 || frame[5] == slot)
			die("slot: bSlot %u", frame[5]);
	} else if (strcmp(kind, "type") == 0) {
		if (framelen != 10 || frame[0] == 0x81)
			die("type: %02X", frame[0]);
	} else
		die("unknown malform kind %s", kind);
	/* The next answer is whole again. */
	if (send_msg(0x65, 0, 0, 0, NULL, 0) != 0)
		die("send");
	read_answer(0x81);
}

int
main(int argc, char **argv)
{
	int a;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (a = 1; a < argc; a++) {
		const char *s = argv[a];

		if (strcmp(s, "enum") == 0) {
			open_dev();
			printf("ok enum %04x:%04x features %08x maxmsg %u "
			    "slots %u\n", vid, pid, features, maxmsg,
			    max_slot + 1);
		} else if (strncmp(s, "expect:", 7) == 0) {
			unsigned v, p;

			open_dev();
			if (sscanf(s + 7, "%x:%x", &v, &p) != 2)
				die("bad %s", s);
			if (v != vid || p != pid)
				die("found %04x:%04x, want %04x:%04x", vid,
				    pid, v, p);
			printf("ok %s\n", s);
		} else if (strcmp(s, "strings") == 0) {
			struct libusb_device_descriptor dd;
			unsigned char m[128], p[128], sn[128];

			open_dev();
			libusb_get_device_descriptor(libusb_get_device(h),
			    &dd);
			if (libusb_get_string_descriptor_ascii(h,
			    dd.iManufacturer, m, sizeof(m)) <= 0 ||
			    libusb_get_string_descriptor_ascii(h, dd.iProduct,
			    p, sizeof(p)) <= 0 ||
			    libusb_get_string_descriptor_ascii(h,
			    dd.iSerialNumber, sn, sizeof(sn)) <= 0)
				die("string descriptors");
			printf("ok strings '%s' '%s' '%s'\n", m, p, sn);
		} else if (strcmp(s, "power") == 0) {
			power_on();
			printf("ok power atr %zu bytes\n", framelen - 10);
		} else if (strcmp(s, "select") == 0) {
			step_select();
			printf("ok select 9000\n");
		} else if (strncmp(s, "echo:", 5) == 0) {
			step_echo((size_t)atoi(s + 5), 0);
			printf("ok %s\n", s);
		} else if (strncmp(s, "fill:", 5) == 0) {
			step_echo((size_t)atoi(s + 5), 1);
			printf("ok %s\n", s);
		} else if (strncmp(s, "slot:", 5) == 0) {
			slot = (uint8_t)atoi(s + 5);
			printf("ok %s\n", s);
		} else if (strncmp(s, "ctl:", 4) == 0) {
			step_ctl(s + 4);
			printf("ok %s\n", s);
		} else if (strncmp(s, "notify:", 7) == 0) {
			open_dev();
			step_notify(s + 7);
			printf("ok %s\n", s);
		} else if (strncmp(s, "wtx:", 4) == 0) {
			int n = atoi(s + 4);
			char line[64];

			snprintf(line, sizeof(line), "wtx %d", n);
			step_ctl(line);
			step_select();
			if (last_wtx != n)
				die("%d time extensions, want %d", last_wtx,
				    n);
			printf("ok %s\n", s);
		} else if (strncmp(s, "malform:", 8) == 0) {
			claim(1);
			step_malform(s + 8);
			printf("ok %s\n", s);
		} else if (strcmp(s, "nodev") == 0) {
			int r;

			open_dev();
			r = send_msg(0x65, 0, 0, 0, NULL, 0);
			if (r == 0)
				r = read_raw();
			if (r != LIBUSB_ERROR_NO_DEVICE)
				die("after unplug: %s, want NO_DEVICE",
				    libusb_error_name(r));
			printf("ok nodev\n");
		} else if (strcmp(s, "errors") == 0) {
			step_errors();
			printf("ok errors\n");
		} else if (strncmp(s, "loop:", 5) == 0) {
			int i, n = atoi(s + 5);

			for (i = 0; i < n; i++) {
				claim(1);
				power_on();
				step_select();
				release();
			}
			printf("ok %s\n", s);
		} else if (strcmp(s, "swtx") == 0) {
			swtx_seen = 0;
			step_ctl("swtx 3");
			step_select();
			if (swtx_seen != 3)
				die("%d S(WTX) requests, want 3", swtx_seen);
			printf("ok swtx\n");
		} else if (strncmp(s, "apdu:", 5) == 0) {
			static uint8_t c[600], r[70000];
			const char *x = s + 5, *eq = strchr(s, '=');
			size_t clen = 0, rl;
			unsigned v, sw;

			if (eq == NULL || sscanf(eq + 1, "%4x", &sw) != 1)
				die("bad %s", s);
			while (x + 1 < eq && clen < sizeof(c)) {
				if (sscanf(x, "%2x", &v) != 1)
					die("bad hex in %s", s);
				c[clen++] = (uint8_t)v;
				x += 2;
			}
			rl = apdu(c, clen, r, sizeof(r));
			if (rl < 2 || (unsigned)(r[rl - 2] << 8 | r[rl - 1]) != sw)
				die("%s: SW %02X%02X", s, rl >= 2 ? r[rl - 2] : 0,
				    rl >= 2 ? r[rl - 1] : 0);
			printf("ok %s\n", s);
		} else if (strcmp(s, "timeouts") == 0) {
			uint8_t buf[64];
			int r, got = 0;

			claim(1);
			r = libusb_interrupt_transfer(h, ep_intr, buf,
			    sizeof(buf), &got, 200);
			if (r != LIBUSB_ERROR_TIMEOUT)
				die("interrupt with nothing: %s",
				    libusb_error_name(r));
			r = libusb_bulk_transfer(h, ep_in, buf, sizeof(buf),
			    &got, 200);
			if (r != LIBUSB_ERROR_TIMEOUT)
				die("bulk in with nothing: %s",
				    libusb_error_name(r));
			power_on();
			step_select();
			printf("ok timeouts\n");
		} else if (strcmp(s, "wrap") == 0) {
			wrap_dev();
			printf("ok wrap %04x:%04x\n", vid, pid);
		} else if (strncmp(s, "hold:", 5) == 0) {
			claim(0);
			printf("ok claimed\n");
			usleep((useconds_t)atoi(s + 5) * 1000);
			printf("ok %s\n", s);
		} else if (strcmp(s, "busy") == 0) {
			int r;

			open_dev();
			r = libusb_claim_interface(h, 0);
			if (r != LIBUSB_ERROR_BUSY)
				die("claim: %s, want BUSY", libusb_error_name(r));
			printf("ok busy\n");
		} else if (strcmp(s, "reopen") == 0) {
			int i;

			if (h != NULL)
				libusb_close(h);
			h = NULL;
			claimed = 0;
			libusb_exit(ctx);
			ctx = NULL;
			/* A replugged device takes a moment to show, as on
			 * a bus: up to 5 s. */
			for (i = 0; i < 100 && try_open_dev() != 0; i++) {
				libusb_exit(ctx);
				ctx = NULL;
				usleep(50000);
			}
			open_dev();
			printf("ok reopen\n");
		} else if (strcmp(s, "extrefused") == 0) {
			static const uint8_t ext[] = { 0x00, 0xEE, 0x00, 0x00,
			    0x00, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00 };

			claim(1);
			expect_error(0x6F, 0, ext, sizeof(ext), 0x80, 0x40,
			    0x01, "extended APDU");
			printf("ok extrefused\n");
		} else if (strcmp(s, "absent") == 0) {
			libusb_context *c2;
			libusb_device **list;
			ssize_t n, i, found = 0;

			if (init_retry(&c2) != 0)
				die("libusb_init");
			if ((n = libusb_get_device_list(c2, &list)) < 0)
				die("get_device_list");
			for (i = 0; i < n; i++) {
				struct libusb_device_descriptor dd;

				if (libusb_get_device_descriptor(list[i],
				    &dd) == 0 && dd.idVendor == vid &&
				    dd.idProduct == pid)
					found++;
			}
			libusb_free_device_list(list, 1);
			libusb_exit(c2);
			if (found)
				die("device still listed after unplug");
			printf("ok absent\n");
		} else
			die("unknown step %s", s);
	}
	if (h != NULL) {
		if (claimed)
			libusb_release_interface(h, 0);
		libusb_close(h);
	}
	if (ctx != NULL)
		libusb_exit(ctx);
	return 0;
}
