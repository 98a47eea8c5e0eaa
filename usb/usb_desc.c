/* SPDX-License-Identifier: MIT */
/*
 * usb/usb_desc.c — pure parsers for the device, configuration and CCID
 * class descriptors.  Bytes in, struct or USB_ERR_PARSE out; no I/O.
 *
 * Nothing in the bytes is trusted: wTotalLength is checked against the
 * bytes present, every bLength against the bytes left of the configuration
 * (and against the minimum its type needs), and a bLength below 2 stops
 * the walk (it would never advance).  The walk is bounded by the bytes:
 * each step consumes at least two.
 */
#include "usb.h"

#include <string.h>

#include "../util/util.h"

#define DT_DEVICE	0x01
#define DT_CONFIG	0x02
#define DT_INTERFACE	0x04
#define DT_ENDPOINT	0x05
#define DT_CCID		0x21
#define DT_VENDOR_CCID	0xff

#define CCID_DESC_LEN	0x36
#define CLASS_CCID	0x0b
#define CLASS_VENDOR	0xff

int
usb_parse_device_desc(const uint8_t *buf, size_t len,
    struct usb_device_desc *out)
{
	struct usb_device_desc d;
	uint8_t blen = 0, type = 0, sub, proto;
	rbuf_t b;

	if (out == NULL)
		return USB_ERR_ARG;
	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	rbuf_init(&b, buf, len);
	rbuf_u8(&b, &blen);
	rbuf_u8(&b, &type);
	if (b.err || blen != 18 || type != DT_DEVICE || len < 18)
		return USB_ERR_PARSE;
	rbuf_le16(&b, &d.bcdUSB);
	rbuf_u8(&b, &d.bDeviceClass);
	rbuf_u8(&b, &sub);
	rbuf_u8(&b, &proto);
	rbuf_u8(&b, &d.bMaxPacketSize0);
	rbuf_le16(&b, &d.idVendor);
	rbuf_le16(&b, &d.idProduct);
	rbuf_le16(&b, &d.bcdDevice);
	rbuf_u8(&b, &d.iManufacturer);
	rbuf_u8(&b, &d.iProduct);
	rbuf_u8(&b, &d.iSerialNumber);
	rbuf_u8(&b, &d.bNumConfigurations);
	if (b.err)
		return USB_ERR_PARSE;
	*out = d;
	return USB_OK;
}

/* The 54 bytes of a class descriptor whatever its type byte says. */
static int
parse_ccid_body(const uint8_t *buf, size_t len, struct usb_ccid_desc *out)
{
	struct usb_ccid_desc c;
	uint8_t blen = 0, type = 0;
	rbuf_t b;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	rbuf_init(&b, buf, len);
	rbuf_u8(&b, &blen);
	rbuf_u8(&b, &type);
	/* a longer descriptor is tolerated (its tail ignored); a shorter
	 * one, or one longer than the bytes present, is not */
	if (b.err || blen < CCID_DESC_LEN || blen > len)
		return USB_ERR_PARSE;
	rbuf_le16(&b, &c.bcdCCID);
	rbuf_u8(&b, &c.bMaxSlotIndex);
	rbuf_u8(&b, &c.bVoltageSupport);
	rbuf_le32(&b, &c.dwProtocols);
	rbuf_le32(&b, &c.dwDefaultClock);
	rbuf_le32(&b, &c.dwMaximumClock);
	rbuf_u8(&b, &c.bNumClockSupported);
	rbuf_le32(&b, &c.dwDataRate);
	rbuf_le32(&b, &c.dwMaxDataRate);
	rbuf_u8(&b, &c.bNumDataRatesSupported);
	rbuf_le32(&b, &c.dwMaxIFSD);
	rbuf_le32(&b, &c.dwSynchProtocols);
	rbuf_le32(&b, &c.dwMechanical);
	rbuf_le32(&b, &c.dwFeatures);
	rbuf_le32(&b, &c.dwMaxCCIDMessageLength);
	rbuf_u8(&b, &c.bClassGetResponse);
	rbuf_u8(&b, &c.bClassEnvelope);
	rbuf_le16(&b, &c.wLcdLayout);
	rbuf_u8(&b, &c.bPINSupport);
	rbuf_u8(&b, &c.bMaxCCIDBusySlots);
	if (b.err)
		return USB_ERR_PARSE;
	*out = c;
	return USB_OK;
}

int
usb_parse_ccid_desc(const uint8_t *buf, size_t len, struct usb_ccid_desc *out)
{
	if (out == NULL)
		return USB_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < 2 || buf[1] != DT_CCID)
		return USB_ERR_PARSE;
	return parse_ccid_body(buf, len, out);
}

/* The interface being collected while walking a configuration. */
struct cand {
	int open;		/* inside an interface descriptor's scope */
	int want;		/* class 0x0B or 0xFF, alternate setting 0 */
	int have_ccid;		/* a well-formed 0x21 descriptor was seen */
	struct usb_ccid_iface i;
};

int
usb_iface_is_iccd(const struct usb_ccid_iface *i)
{
	return i != NULL && (i->bInterfaceClass == CLASS_CCID ||
	    i->bInterfaceClass == CLASS_VENDOR) &&
	    (i->bInterfaceProtocol == USB_ICCD_A ||
	    i->bInterfaceProtocol == USB_ICCD_B) &&
	    (i->ep_bulk_in == 0 || i->ep_bulk_out == 0);
}

/* Ends the current interface: keeps it if it is a usable CCID one (a
 * bulk pair) or ICCD one (protocol 1 or 2: the control pipe, and for
 * version B an optional interrupt-IN; class 0x0B, or 0xFF as the
 * Oberthur CosmoCard and Schlumberger e-gate have it). */
static void
cand_close(struct cand *c, struct usb_ccid_iface *out, size_t max, size_t *n)
{
	if (c->open && c->want && c->have_ccid && *n < max &&
	    ((c->i.ep_bulk_in != 0 && c->i.ep_bulk_out != 0) ||
	    usb_iface_is_iccd(&c->i)))
		out[(*n)++] = c->i;
	memset(c, 0, sizeof(*c));
}

static void
cand_interface(struct cand *c, const uint8_t *d)
{
	c->open = 1;
	c->i.bInterfaceNumber = d[2];
	c->i.bAlternateSetting = d[3];
	/* d[4] bNumEndpoints is not trusted: endpoints are counted as seen */
	c->i.bInterfaceClass = d[5];
	c->i.bInterfaceSubClass = d[6];
	c->i.bInterfaceProtocol = d[7];
	c->i.iInterface = d[8];
	c->want = d[3] == 0 && (d[5] == CLASS_CCID || d[5] == CLASS_VENDOR);
}

static void
cand_endpoint(struct cand *c, const uint8_t *d)
{
	uint8_t addr = d[2], type = d[3] & 0x03;
	uint16_t mps = (uint16_t)((d[4] | d[5] << 8) & 0x07ff);

	if (!c->open || (addr & 0x0f) == 0)
		return;
	if (type == 2 && (addr & 0x80) && c->i.ep_bulk_in == 0) {
		c->i.ep_bulk_in = addr;
		c->i.bulk_in_max_packet = mps;
	} else if (type == 2 && !(addr & 0x80) && c->i.ep_bulk_out == 0) {
		c->i.ep_bulk_out = addr;
		c->i.bulk_out_max_packet = mps;
	} else if (type == 3 && (addr & 0x80) && c->i.ep_intr_in == 0) {
		c->i.ep_intr_in = addr;
		c->i.intr_max_packet = mps;
	}
}

int
usb_parse_config_desc(const uint8_t *buf, size_t len,
    struct usb_ccid_iface *out, size_t max, size_t *n)
{
	struct cand c;
	uint16_t total = 0;
	uint8_t blen = 0, type = 0;
	const uint8_t *d;
	size_t found = 0;
	rbuf_t b;

	if (n != NULL)
		*n = 0;
	if (n == NULL || (out == NULL && max != 0))
		return USB_ERR_ARG;
	if (max != 0)
		memset(out, 0, max * sizeof(*out));
	rbuf_init(&b, buf, len);
	rbuf_u8(&b, &blen);
	rbuf_u8(&b, &type);
	rbuf_le16(&b, &total);
	/* wTotalLength counts the 9-byte header itself; more than we hold is
	 * a truncated descriptor, less than we hold leaves a tail we ignore */
	if (b.err || type != DT_CONFIG || blen < 9 || total < 9 ||
	    total > len || blen > total)
		return USB_ERR_PARSE;
	rbuf_init(&b, buf, total);
	if (rbuf_skip(&b, blen) != 0)
		return USB_ERR_PARSE;

	memset(&c, 0, sizeof(c));
	while (b.left > 0) {
		/* each descriptor: at least bLength and bDescriptorType, and
		 * no more than what is left */
		if (b.left < 2 || b.p[0] < 2 || b.p[0] > b.left)
			goto bad;
		blen = b.p[0];
		type = b.p[1];
		if (rbuf_ptr(&b, blen, &d) != 0)
			goto bad;
		switch (type) {
		case DT_INTERFACE:
			if (blen < 9)
				goto bad;
			cand_close(&c, out, max, &found);
			cand_interface(&c, d);
			break;
		case DT_ENDPOINT:
			if (blen < 7)
				goto bad;
			cand_endpoint(&c, d);
			break;
		case DT_CCID:
			/* a short or malformed class descriptor makes only its
			 * interface unusable; a second one is ignored */
			if (c.open && !c.have_ccid &&
			    usb_parse_ccid_desc(d, blen, &c.i.ccid) == USB_OK)
				c.have_ccid = 1;
			break;
		case DT_VENDOR_CCID:
			/* readers made before CCID 1.0 was final (GemPC
			 * era: Gem e-Seal Pro, Dell SK-3106, the VeriSign
			 * GEM tokens) carry the same 54 bytes typed 0xFF in
			 * a vendor-class interface; libccid takes them by
			 * their length, so do we (exactly 54 bytes, vendor
			 * class only) */
			if (c.open && !c.have_ccid &&
			    c.i.bInterfaceClass == CLASS_VENDOR &&
			    blen == CCID_DESC_LEN &&
			    parse_ccid_body(d, blen, &c.i.ccid) == USB_OK)
				c.have_ccid = 1;
			break;
		default:
			/* interface association, HID, vendor: not ours */
			break;
		}
	}
	cand_close(&c, out, max, &found);
	*n = found;
	return USB_OK;
bad:
	if (max != 0)
		memset(out, 0, max * sizeof(*out));
	return USB_ERR_PARSE;
}
