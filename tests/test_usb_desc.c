/* SPDX-License-Identifier: MIT */
/*
 * tests/test_usb_desc.c — the pure descriptor parsers against short,
 * lying and odd descriptors.  Each truncated input is copied into a buffer
 * of exactly its length, so an over-read shows under ASan / valgrind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../usb/usb.h"

/* ---- building descriptors ---------------------------------------------- */

struct cfg {
	uint8_t b[1024];
	size_t n;
};

static void
add(struct cfg *c, const uint8_t *p, size_t n)
{
	assert_true(c->n + n <= sizeof(c->b));
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

static void
cfg_start(struct cfg *c)
{
	const uint8_t h[9] = { 9, 2, 0, 0, 1, 1, 0, 0x80, 50 };

	memset(c, 0, sizeof(*c));
	add(c, h, sizeof(h));
}

/* Sets wTotalLength to the bytes added so far. */
static void
cfg_total(struct cfg *c)
{
	c->b[2] = (uint8_t)c->n;
	c->b[3] = (uint8_t)(c->n >> 8);
}

static void
iface(struct cfg *c, uint8_t num, uint8_t alt, uint8_t cls, uint8_t nep)
{
	const uint8_t d[9] = { 9, 4, num, alt, nep, cls, 0, 0, 0 };

	add(c, d, sizeof(d));
}

static void
ep(struct cfg *c, uint8_t addr, uint8_t attr, uint16_t mps)
{
	const uint8_t d[7] = { 7, 5, addr, attr, (uint8_t)mps,
	    (uint8_t)(mps >> 8), 0 };

	add(c, d, sizeof(d));
}

/* A CCID class descriptor with recognisable values. */
static void
ccid_bytes(uint8_t d[0x36], uint8_t type)
{
	size_t i;

	for (i = 0; i < 0x36; i++)
		d[i] = (uint8_t)(0x40 + i);
	d[0] = 0x36;
	d[1] = type;
	d[2] = 0x10;		/* bcdCCID 1.10 */
	d[3] = 0x01;
	d[4] = 0x00;		/* bMaxSlotIndex */
	d[5] = 0x07;		/* 5V 3V 1.8V */
	/* dwFeatures at 40: extended APDU */
	d[40] = 0xba;
	d[41] = 0x04;
	d[42] = 0x04;
	d[43] = 0x00;
	/* dwMaxCCIDMessageLength at 44: 3072 */
	d[44] = 0x00;
	d[45] = 0x0c;
	d[46] = 0x00;
	d[47] = 0x00;
	d[52] = 0x02;		/* bPINSupport */
	d[53] = 0x01;		/* bMaxCCIDBusySlots */
}

static void
ccid(struct cfg *c, uint8_t type)
{
	uint8_t d[0x36];

	ccid_bytes(d, type);
	add(c, d, sizeof(d));
}

/* The usual reader: interface 0, CCID, bulk in/out + interrupt. */
static void
std_reader(struct cfg *c)
{
	cfg_start(c);
	iface(c, 0, 0, 0x0b, 3);
	ccid(c, 0x21);
	ep(c, 0x81, 2, 64);
	ep(c, 0x02, 2, 64);
	ep(c, 0x83, 3, 8);
	cfg_total(c);
}

static int
parse_exact(const uint8_t *p, size_t n, struct usb_ccid_iface *out,
    size_t max, size_t *cnt)
{
	uint8_t *copy = malloc(n > 0 ? n : 1);
	int r;

	assert_non_null(copy);
	if (n > 0)
		memcpy(copy, p, n);
	r = usb_parse_config_desc(n > 0 ? copy : NULL, n, out, max, cnt);
	free(copy);
	return r;
}

static int
is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* ---- device descriptor -------------------------------------------------- */

static const uint8_t dev_ok[18] = {
	18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x50, 0x10, 0x07, 0x04, 0x43, 0x05,
	1, 2, 3, 1
};

static void
test_device_ok(void **state)
{
	struct usb_device_desc d;

	(void)state;
	assert_int_equal(usb_parse_device_desc(dev_ok, sizeof(dev_ok), &d),
	    USB_OK);
	assert_int_equal(d.bcdUSB, 0x0200);
	assert_int_equal(d.bMaxPacketSize0, 64);
	assert_int_equal(d.idVendor, 0x1050);
	assert_int_equal(d.idProduct, 0x0407);
	assert_int_equal(d.bcdDevice, 0x0543);
	assert_int_equal(d.iManufacturer, 1);
	assert_int_equal(d.iProduct, 2);
	assert_int_equal(d.iSerialNumber, 3);
	assert_int_equal(d.bNumConfigurations, 1);
}

static void
test_device_truncated_every_byte(void **state)
{
	struct usb_device_desc d;
	uint8_t *copy;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(dev_ok); n++) {
		copy = malloc(n > 0 ? n : 1);
		assert_non_null(copy);
		memcpy(copy, dev_ok, n);
		memset(&d, 0xaa, sizeof(d));
		assert_int_equal(usb_parse_device_desc(copy, n, &d),
		    USB_ERR_PARSE);
		/* output cleared on error, not left half-filled */
		assert_true(is_zero(&d, sizeof(d)));
		free(copy);
	}
	assert_int_equal(usb_parse_device_desc(NULL, 18, &d), USB_ERR_PARSE);
	assert_int_equal(usb_parse_device_desc(dev_ok, 18, NULL), USB_ERR_ARG);
}

static void
test_device_bad_header(void **state)
{
	const uint8_t lens[] = { 0, 1, 17, 19, 255 };
	struct usb_device_desc d;
	uint8_t b[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lens); i++) {
		memset(b, 0, sizeof(b));
		memcpy(b, dev_ok, sizeof(dev_ok));
		b[0] = lens[i];
		assert_int_equal(usb_parse_device_desc(b, sizeof(b), &d),
		    USB_ERR_PARSE);
	}
	memcpy(b, dev_ok, sizeof(dev_ok));
	b[1] = 2;	/* a configuration is not a device descriptor */
	assert_int_equal(usb_parse_device_desc(b, sizeof(dev_ok), &d),
	    USB_ERR_PARSE);
}

/* ---- CCID class descriptor ---------------------------------------------- */

static void
test_ccid_ok(void **state)
{
	struct usb_ccid_desc c;
	uint8_t d[0x36];

	(void)state;
	ccid_bytes(d, 0x21);
	assert_int_equal(usb_parse_ccid_desc(d, sizeof(d), &c), USB_OK);
	assert_int_equal(c.bcdCCID, 0x0110);
	assert_int_equal(c.bMaxSlotIndex, 0);
	assert_int_equal(c.bVoltageSupport, 7);
	assert_int_equal(c.dwProtocols, 0x49484746);
	assert_int_equal(c.dwFeatures, 0x000404ba);
	assert_int_equal(c.dwFeatures & USB_CCID_FEAT_LEVEL_MASK,
	    USB_CCID_FEAT_LEVEL_EXT_APDU);
	assert_int_equal(c.dwMaxCCIDMessageLength, 3072);
	assert_int_equal(c.bPINSupport, 2);
	assert_int_equal(c.bMaxCCIDBusySlots, 1);
	/* the byte between the two 32-bit fields lands where CCID says */
	assert_int_equal(c.bNumClockSupported, 0x40 + 18);
	assert_int_equal(c.bNumDataRatesSupported, 0x40 + 27);
	assert_int_equal(c.wLcdLayout, (0x40 + 50) | (0x40 + 51) << 8);
}

static void
test_ccid_truncated_every_byte(void **state)
{
	struct usb_ccid_desc c;
	uint8_t d[0x36], *copy;
	size_t n;

	(void)state;
	ccid_bytes(d, 0x21);
	for (n = 0; n < sizeof(d); n++) {
		copy = malloc(n > 0 ? n : 1);
		assert_non_null(copy);
		memcpy(copy, d, n);
		memset(&c, 0xaa, sizeof(c));
		assert_int_equal(usb_parse_ccid_desc(copy, n, &c),
		    USB_ERR_PARSE);
		assert_true(is_zero(&c, sizeof(c)));
		free(copy);
	}
}

static void
test_ccid_bad_lengths(void **state)
{
	struct usb_ccid_desc c;
	uint8_t d[0x40];

	(void)state;
	memset(d, 0, sizeof(d));
	ccid_bytes(d, 0x21);
	/* short class descriptor, though the bytes are there */
	d[0] = 0x35;
	assert_int_equal(usb_parse_ccid_desc(d, sizeof(d), &c), USB_ERR_PARSE);
	d[0] = 0;
	assert_int_equal(usb_parse_ccid_desc(d, sizeof(d), &c), USB_ERR_PARSE);
	d[0] = 1;
	assert_int_equal(usb_parse_ccid_desc(d, sizeof(d), &c), USB_ERR_PARSE);
	/* claims more than is present */
	d[0] = 0x37;
	assert_int_equal(usb_parse_ccid_desc(d, 0x36, &c), USB_ERR_PARSE);
	/* longer than 0x36 and present: tail ignored */
	d[0] = 0x40;
	assert_int_equal(usb_parse_ccid_desc(d, 0x40, &c), USB_OK);
	assert_int_equal(c.dwMaxCCIDMessageLength, 3072);
	/* proprietary type 0xFF is not a CCID class descriptor */
	d[0] = 0x36;
	d[1] = 0xff;
	assert_int_equal(usb_parse_ccid_desc(d, 0x36, &c), USB_ERR_PARSE);
}

/* ---- configuration descriptor ------------------------------------------- */

static void
test_config_ok(void **state)
{
	struct usb_ccid_iface out[4];
	struct cfg c;
	size_t n = 99;

	(void)state;
	std_reader(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 4, &n), USB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].bInterfaceNumber, 0);
	assert_int_equal(out[0].bInterfaceClass, 0x0b);
	assert_int_equal(out[0].ep_bulk_in, 0x81);
	assert_int_equal(out[0].ep_bulk_out, 0x02);
	assert_int_equal(out[0].ep_intr_in, 0x83);
	assert_int_equal(out[0].bulk_in_max_packet, 64);
	assert_int_equal(out[0].intr_max_packet, 8);
	assert_int_equal(out[0].ccid.dwMaxCCIDMessageLength, 3072);
}

/* Cut at every byte with wTotalLength left as it was: each is a lie
 * about the bytes present and must fail, with n = 0 and out cleared. */
static void
test_config_truncated_every_byte(void **state)
{
	struct usb_ccid_iface out[2];
	struct cfg c;
	size_t cut, n;

	(void)state;
	std_reader(&c);
	for (cut = 0; cut < c.n; cut++) {
		n = 99;
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(parse_exact(c.b, cut, out, 2, &n),
		    USB_ERR_PARSE);
		assert_int_equal(n, 0);
		assert_true(is_zero(out, sizeof(out)));
	}
}

/* Cut at every byte with wTotalLength matching the cut (the device lies
 * consistently): never an over-read, never an interface without its
 * bulk endpoints. */
static void
test_config_short_total_every_byte(void **state)
{
	struct usb_ccid_iface out[2];
	struct cfg c, t;
	size_t cut, n;
	int r;

	(void)state;
	std_reader(&c);
	for (cut = 9; cut < c.n; cut++) {
		t = c;
		t.n = cut;
		cfg_total(&t);
		n = 99;
		r = parse_exact(t.b, t.n, out, 2, &n);
		if (r == USB_OK) {
			/* cut on a descriptor boundary: before both bulk
			 * endpoints are in, nothing is usable */
			assert_true(cut == 9 || cut == 18 || cut == 18 + 0x36 ||
			    cut == 18 + 0x36 + 7 || cut == 18 + 0x36 + 14);
			assert_int_equal(n, cut == 18 + 0x36 + 14 ? 1 : 0);
			if (n == 1)
				assert_int_equal(out[0].ep_intr_in, 0);
		} else {
			assert_int_equal(r, USB_ERR_PARSE);
			assert_int_equal(n, 0);
		}
	}
}

static void
test_config_total_lies(void **state)
{
	struct usb_ccid_iface out[2];
	uint8_t junk[3] = { 0, 0, 0 };
	struct cfg c, t;
	size_t n;

	(void)state;
	std_reader(&c);
	/* longer than the bytes */
	t = c;
	t.b[2] = (uint8_t)(c.n + 1);
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
	t.b[2] = 0xff;
	t.b[3] = 0xff;
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
	/* shorter than the bytes: the tail (here a bLength-0 descriptor that
	 * would stop the walk) is not looked at */
	t = c;
	add(&t, junk, sizeof(junk));
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 1);
	/* and counted in, the same tail is an error */
	cfg_total(&t);
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
	assert_int_equal(n, 0);
	/* below the header's own size */
	t = c;
	t.b[2] = 8;
	t.b[3] = 0;
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
	/* header bLength larger than wTotalLength / shorter than 9 */
	t = c;
	t.b[0] = 0xff;
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
	t.b[0] = 8;
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
	/* not a configuration */
	t = c;
	t.b[1] = 1;
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
}

/* bLength 0 and 1 would never advance: a classic infinite loop. */
static void
test_config_blength_0_1_and_too_big(void **state)
{
	const uint8_t bad[] = { 0, 1, 0xff };
	struct usb_ccid_iface out[2];
	struct cfg c, t;
	size_t i, off, n;

	(void)state;
	std_reader(&c);
	/* at every descriptor after the header */
	for (i = 0; i < sizeof(bad); i++) {
		for (off = 9; off < c.n;) {
			size_t next = off + c.b[off];

			t = c;
			t.b[off] = bad[i];
			n = 99;
			assert_int_equal(parse_exact(t.b, t.n, out, 2, &n),
			    USB_ERR_PARSE);
			assert_int_equal(n, 0);
			off = next;
		}
	}
	/* a lone byte left over after the last descriptor */
	t = c;
	add(&t, bad, 1);
	t.b[t.n - 1] = 5;
	cfg_total(&t);
	assert_int_equal(parse_exact(t.b, t.n, out, 2, &n), USB_ERR_PARSE);
}

static void
test_config_short_interface_or_endpoint(void **state)
{
	struct usb_ccid_iface out[2];
	struct cfg c;
	const uint8_t short_if[8] = { 8, 4, 0, 0, 3, 0x0b, 0, 0 };
	const uint8_t short_ep[6] = { 6, 5, 0x81, 2, 64, 0 };
	size_t n;

	(void)state;
	cfg_start(&c);
	add(&c, short_if, sizeof(short_if));
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_ERR_PARSE);
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 3);
	ccid(&c, 0x21);
	add(&c, short_ep, sizeof(short_ep));
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_ERR_PARSE);
}

static void
test_config_endpoints_missing(void **state)
{
	struct usb_ccid_iface out[2];
	struct cfg c;
	size_t n;

	(void)state;
	/* ICCD-style: no endpoints at all */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 0);
	ccid(&c, 0x21);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* bNumEndpoints says 3 but only bulk-in follows */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 3);
	ccid(&c, 0x21);
	ep(&c, 0x81, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* interrupt only */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 1);
	ccid(&c, 0x21);
	ep(&c, 0x83, 3, 8);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* two bulk-OUT, no bulk-IN; and an endpoint 0 address */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 3);
	ccid(&c, 0x21);
	ep(&c, 0x01, 2, 64);
	ep(&c, 0x02, 2, 64);
	ep(&c, 0x80, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* bulk pair without interrupt: usable, ep_intr_in 0 */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 2);
	ccid(&c, 0x21);
	ep(&c, 0x81, 2, 0x1840);	/* high-bandwidth bits masked */
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].ep_intr_in, 0);
	assert_int_equal(out[0].bulk_in_max_packet, 0x040);
}

static void
test_config_class_desc_short_or_missing(void **state)
{
	struct usb_ccid_iface out[2];
	uint8_t d[0x36];
	struct cfg c;
	size_t n;

	(void)state;
	/* a 0x21 descriptor of 0x20 bytes: that interface is unusable, the
	 * configuration itself is well-formed */
	ccid_bytes(d, 0x21);
	d[0] = 0x20;
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 2);
	add(&c, d, 0x20);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* class 0x0B without any class descriptor */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 2);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* class descriptor after the endpoints (seen in the wild): fine */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 2);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	ccid(&c, 0x21);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 1);
	/* a class descriptor before any interface belongs to none */
	cfg_start(&c);
	ccid(&c, 0x21);
	iface(&c, 0, 0, 0x0b, 2);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
}

static void
test_config_vendor_class(void **state)
{
	struct usb_ccid_iface out[2];
	struct cfg c;
	size_t n;

	(void)state;
	/* 0xFF with a CCID descriptor: a CCID interface */
	cfg_start(&c);
	iface(&c, 1, 0, 0xff, 3);
	ccid(&c, 0x21);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	ep(&c, 0x82, 3, 8);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].bInterfaceClass, 0xff);
	assert_int_equal(out[0].bInterfaceNumber, 1);
	/* 0xFF without: some vendor interface, not ours */
	cfg_start(&c);
	iface(&c, 1, 0, 0xff, 2);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* 0xFF with a 54-byte descriptor of proprietary type 0xFF (pre-1.0
	 * Gemplus readers): taken by its length, as libccid does */
	cfg_start(&c);
	iface(&c, 1, 0, 0xff, 2);
	ccid(&c, 0xff);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].ccid.bcdCCID, 0x0110);
	/* ... but typed 0xFF in a class-0x0B interface: not a CCID one */
	cfg_start(&c);
	iface(&c, 1, 0, 0x0b, 2);
	ccid(&c, 0xff);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	/* another class (HID, 3) with a CCID-shaped descriptor: not ours */
	cfg_start(&c);
	iface(&c, 0, 0, 0x03, 2);
	ccid(&c, 0x21);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
}

/* ICCD (protocol 1 or 2): the control pipe, no bulk pair needed. */
static void
test_config_iccd(void **state)
{
	struct usb_ccid_iface out[2];
	struct cfg c;
	size_t n;
	uint8_t proto, cls;

	(void)state;
	for (proto = 0; proto <= 3; proto++) {
		for (cls = 0; cls < 2; cls++) {
			/* no endpoint at all (version A / B) */
			cfg_start(&c);
			iface(&c, 0, 0, cls ? 0xff : 0x0b, 0);
			c.b[c.n - 2] = proto;
			ccid(&c, 0x21);
			cfg_total(&c);
			assert_int_equal(parse_exact(c.b, c.n, out, 2, &n),
			    USB_OK);
			assert_int_equal(n, proto == 1 || proto == 2);
			if (n == 1) {
				assert_true(usb_iface_is_iccd(&out[0]));
				assert_int_equal(out[0].bInterfaceProtocol,
				    proto);
			}
		}
		/* an interrupt-IN only (version B) */
		cfg_start(&c);
		iface(&c, 0, 0, 0x0b, 1);
		c.b[c.n - 2] = proto;
		ccid(&c, 0x21);
		ep(&c, 0x83, 3, 8);
		cfg_total(&c);
		assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
		assert_int_equal(n, proto == 1 || proto == 2);
		if (n == 1)
			assert_int_equal(out[0].ep_intr_in, 0x83);
		/* one bulk endpoint only: still the control pipe */
		cfg_start(&c);
		iface(&c, 0, 0, 0x0b, 1);
		c.b[c.n - 2] = proto;
		ccid(&c, 0x21);
		ep(&c, 0x81, 2, 64);
		cfg_total(&c);
		assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
		assert_int_equal(n, proto == 1 || proto == 2);
	}
	/* protocol 1 with a bulk pair (ActivCard V2): CCID over bulk */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 2);
	c.b[c.n - 2] = 1;
	ccid(&c, 0x21);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 1);
	assert_false(usb_iface_is_iccd(&out[0]));
	/* ICCD still needs its class descriptor; another class is not ours */
	cfg_start(&c);
	iface(&c, 0, 0, 0x0b, 0);
	c.b[c.n - 2] = 2;
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	cfg_start(&c);
	iface(&c, 0, 0, 0x03, 0);
	c.b[c.n - 2] = 2;
	ccid(&c, 0x21);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 2, &n), USB_OK);
	assert_int_equal(n, 0);
	assert_false(usb_iface_is_iccd(NULL));
}

static void
test_config_multiple_interfaces(void **state)
{
	const uint8_t hid[9] = { 9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x40, 0 };
	struct usb_ccid_iface out[4];
	struct cfg c;
	size_t n;

	(void)state;
	cfg_start(&c);
	/* 0: HID (its own 0x21 descriptor, 9 bytes) */
	iface(&c, 0, 0, 0x03, 1);
	add(&c, hid, sizeof(hid));
	ep(&c, 0x84, 3, 64);
	/* 1: CCID */
	iface(&c, 1, 0, 0x0b, 3);
	ccid(&c, 0x21);
	ep(&c, 0x81, 2, 64);
	ep(&c, 0x01, 2, 64);
	ep(&c, 0x82, 3, 8);
	/* 1 alt 1: ignored (we never select it) */
	iface(&c, 1, 1, 0x0b, 2);
	ccid(&c, 0x21);
	ep(&c, 0x85, 2, 512);
	ep(&c, 0x05, 2, 512);
	/* 2: a second CCID slot interface */
	iface(&c, 2, 0, 0x0b, 2);
	ccid(&c, 0x21);
	ep(&c, 0x83, 2, 64);
	ep(&c, 0x03, 2, 64);
	cfg_total(&c);
	assert_int_equal(parse_exact(c.b, c.n, out, 4, &n), USB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].bInterfaceNumber, 1);
	assert_int_equal(out[0].ep_bulk_in, 0x81);
	assert_int_equal(out[0].ep_intr_in, 0x82);
	assert_int_equal(out[1].bInterfaceNumber, 2);
	assert_int_equal(out[1].ep_bulk_in, 0x83);
	assert_int_equal(out[1].ep_bulk_out, 0x03);
	assert_int_equal(out[1].ep_intr_in, 0);
	/* room for one: the first, and n says one */
	assert_int_equal(parse_exact(c.b, c.n, out, 1, &n), USB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].bInterfaceNumber, 1);
	/* room for none */
	assert_int_equal(usb_parse_config_desc(c.b, c.n, NULL, 0, &n), USB_OK);
	assert_int_equal(n, 0);
}

static void
test_config_args(void **state)
{
	struct usb_ccid_iface out[1];
	struct cfg c;
	size_t n = 5;

	(void)state;
	std_reader(&c);
	assert_int_equal(usb_parse_config_desc(c.b, c.n, out, 1, NULL),
	    USB_ERR_ARG);
	assert_int_equal(usb_parse_config_desc(c.b, c.n, NULL, 1, &n),
	    USB_ERR_ARG);
	assert_int_equal(n, 0);
	assert_int_equal(usb_parse_config_desc(NULL, 100, out, 1, &n),
	    USB_ERR_PARSE);
}

static void
test_strerror_every_code(void **state)
{
	const char *seen[16];
	int e, i;

	(void)state;
	for (e = USB_OK; e >= USB_ERR_PIPE; e--) {
		const char *s = usb_strerror(e);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_not_equal(s, usb_strerror(-1000));
		for (i = 0; i < -e; i++)
			assert_string_not_equal(s, seen[i]);
		seen[-e] = s;
	}
	assert_non_null(strstr(usb_strerror(USB_ERR_ACCESS),
	    "udev/70-usbpiv.rules"));
	assert_non_null(strstr(usb_strerror(USB_ERR_ACCESS), "make install"));
	assert_non_null(strstr(usb_strerror(USB_ERR_BUSY), "pcscd"));
	assert_non_null(strstr(usb_strerror(USB_ERR_BUSY), "scdaemon"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_ok),
		cmocka_unit_test(test_device_truncated_every_byte),
		cmocka_unit_test(test_device_bad_header),
		cmocka_unit_test(test_ccid_ok),
		cmocka_unit_test(test_ccid_truncated_every_byte),
		cmocka_unit_test(test_ccid_bad_lengths),
		cmocka_unit_test(test_config_ok),
		cmocka_unit_test(test_config_truncated_every_byte),
		cmocka_unit_test(test_config_short_total_every_byte),
		cmocka_unit_test(test_config_total_lies),
		cmocka_unit_test(test_config_blength_0_1_and_too_big),
		cmocka_unit_test(test_config_short_interface_or_endpoint),
		cmocka_unit_test(test_config_endpoints_missing),
		cmocka_unit_test(test_config_class_desc_short_or_missing),
		cmocka_unit_test(test_config_vendor_class),
		cmocka_unit_test(test_config_iccd),
		cmocka_unit_test(test_config_multiple_interfaces),
		cmocka_unit_test(test_config_args),
		cmocka_unit_test(test_strerror_every_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
