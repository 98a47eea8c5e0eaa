/* SPDX-License-Identifier: MIT */
/*
 * reader_profile.c — the emulated reader's identities: built-in profiles,
 * or a descriptor dump from ../shared/ccid-readers/ (libccid's parse
 * tool output), turned into binary USB descriptors.
 */
#define _GNU_SOURCE
#include "reader.h"
#include "dump.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void
rd_ccid_desc_write(const struct vt_ccid_desc *d, uint8_t o[54])
{
	o[0] = 54;
	o[1] = 0x21;
	put16(o + 2, d->bcdCCID);
	o[4] = d->bMaxSlotIndex;
	o[5] = d->bVoltageSupport;
	put32(o + 6, d->dwProtocols);
	put32(o + 10, d->dwDefaultClock);
	put32(o + 14, d->dwMaximumClock);
	o[18] = d->bNumClockSupported;
	put32(o + 19, d->dwDataRate);
	put32(o + 23, d->dwMaxDataRate);
	o[27] = d->bNumDataRatesSupported;
	put32(o + 28, d->dwMaxIFSD);
	put32(o + 32, d->dwSynchProtocols);
	put32(o + 36, d->dwMechanical);
	put32(o + 40, d->dwFeatures);
	put32(o + 44, d->dwMaxCCIDMessageLength);
	o[48] = d->bClassGetResponse;
	o[49] = d->bClassEnvelope;
	put16(o + 50, d->wLcdLayout);
	o[52] = d->bPINSupport;
	o[53] = d->bMaxCCIDBusySlots;
}

int
rd_profile_build(struct rd_profile *p)
{
	uint8_t *c = p->cfg;
	size_t n = 0;
	uint8_t neps = (uint8_t)((p->iccd ? 0 : 2) + (p->has_intr ? 1 : 0));
	uint16_t mp = p->max_packet ? p->max_packet : 64;

	/* ICCD: the control pipe, and (version B) an interrupt-IN */
	p->ep_out = p->iccd ? 0 : 0x02;
	p->ep_in = p->iccd ? 0 : 0x81;
	p->ep_intr = p->has_intr ? 0x83 : 0;
	p->max_packet = mp;

	/* Device descriptor: USB 2.0 full speed, three strings. */
	memset(p->dev, 0, sizeof(p->dev));
	p->dev[0] = 18;
	p->dev[1] = 1;
	put16(p->dev + 2, 0x0200);
	p->dev[7] = 64;
	put16(p->dev + 8, p->vid);
	put16(p->dev + 10, p->pid);
	put16(p->dev + 12, p->bcd_device);
	p->dev[14] = p->manufacturer[0] ? 1 : 0;
	p->dev[15] = p->product[0] ? 2 : 0;
	p->dev[16] = p->serial[0] ? 3 : 0;
	p->dev[17] = 1;

	/* Configuration, interface, CCID class descriptor, endpoints. */
	c[n++] = 9; c[n++] = 2; n += 2; c[n++] = 1; c[n++] = 1; c[n++] = 0;
	c[n++] = 0x80; c[n++] = 50;
	c[n++] = 9; c[n++] = 4; c[n++] = 0; c[n++] = 0; c[n++] = neps;
	c[n++] = p->iface_class ? p->iface_class : 0x0B; c[n++] = 0;
	c[n++] = p->iface_protocol; c[n++] = 0;
	rd_ccid_desc_write(&p->ccid, c + n);
	if (p->iccd && p->desc_maxmsg != 0)
		put32(c + n + 44, p->desc_maxmsg);
	if (p->desc_protocols != 0)
		put32(c + n + 6, p->desc_protocols);
	c[n + 1] = p->ccid_desc_type ? p->ccid_desc_type : 0x21;
	n += 54;
	if (!p->iccd) {
		c[n++] = 7; c[n++] = 5; c[n++] = p->ep_out; c[n++] = 2;
		put16(c + n, mp); n += 2; c[n++] = 0;
		c[n++] = 7; c[n++] = 5; c[n++] = p->ep_in; c[n++] = 2;
		put16(c + n, mp); n += 2; c[n++] = 0;
	}
	if (p->has_intr) {
		c[n++] = 7; c[n++] = 5; c[n++] = p->ep_intr; c[n++] = 3;
		put16(c + n, 8); n += 2; c[n++] = 32;
	}
	put16(c + 2, (uint32_t)n);
	p->cfglen = n;
	return 0;
}

/* A YubiKey 5 NFC, as its real descriptors read. */
static void
base_yubikey5(struct rd_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "yubikey5");
	p->vid = 0x1050;
	p->pid = 0x0407;
	p->bcd_device = 0x0571;
	snprintf(p->manufacturer, sizeof(p->manufacturer), "Yubico");
	snprintf(p->product, sizeof(p->product), "YubiKey OTP+FIDO+CCID");
	snprintf(p->serial, sizeof(p->serial), "13371337");
	p->iface_class = 0x0B;
	p->has_intr = 1;
	p->ccid.bcdCCID = 0x0100;
	p->ccid.bMaxSlotIndex = 0;
	p->ccid.bVoltageSupport = 0x07;
	p->ccid.dwProtocols = 0x02;
	p->ccid.dwDefaultClock = 4000;
	p->ccid.dwMaximumClock = 4000;
	p->ccid.bNumClockSupported = 0;
	p->ccid.dwDataRate = 307200;
	p->ccid.dwMaxDataRate = 307200;
	p->ccid.bNumDataRatesSupported = 0;
	p->ccid.dwMaxIFSD = 3062;
	p->ccid.dwFeatures = 0x000400FE;
	p->ccid.dwMaxCCIDMessageLength = 3072;
	p->ccid.bClassGetResponse = 0xFF;
	p->ccid.bClassEnvelope = 0xFF;
	p->ccid.bMaxCCIDBusySlots = 1;
}

static int
builtin_profile(const char *name, struct rd_profile *p)
{
	base_yubikey5(p);
	if (strcmp(name, "yubikey5") == 0)
		return 0;
	/* The others: a generic reader from the pid.codes test range. */
	p->vid = 0x1209;
	p->bcd_device = 0x0100;
	snprintf(p->manufacturer, sizeof(p->manufacturer), "usbpiv");
	p->ccid.bcdCCID = 0x0110;
	p->ccid.dwProtocols = 0x03;
	p->ccid.bNumClockSupported = 1;
	p->ccid.bNumDataRatesSupported = 1;
	if (strcmp(name, "short-apdu") == 0) {
		p->pid = 0x0001;
		p->ccid.dwFeatures = 0x000200FE;
		p->ccid.dwMaxCCIDMessageLength = 271;
		p->ccid.dwMaxIFSD = 254;
	} else if (strcmp(name, "extended-apdu") == 0) {
		p->pid = 0x0002;
		p->ccid.dwFeatures = 0x000400FE;
		p->ccid.dwMaxCCIDMessageLength = 271;
		p->ccid.dwMaxIFSD = 254;
	} else if (strcmp(name, "t1") == 0) {
		p->pid = 0x0003;
		p->ccid.dwProtocols = 0x02;
		p->ccid.dwFeatures = 0x000100BA;
		p->ccid.dwMaxCCIDMessageLength = 271;
		p->ccid.dwMaxIFSD = 254;
		p->t1_card = 1;
	} else if (strcmp(name, "two-slot") == 0) {
		p->pid = 0x0004;
		p->ccid.bMaxSlotIndex = 1;
		p->ccid.bMaxCCIDBusySlots = 1;
	} else
		return -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->product, sizeof(p->product), "Virtual %s reader", name);
	snprintf(p->serial, sizeof(p->serial), "VT%04X", p->pid);
	return 0;
}

const char *
rd_profile_names(void)
{
	return "yubikey5 short-apdu extended-apdu t1 two-slot";
}

/* ---- dumps: tests/vtoken/dump.h reads them ------------------------------ */

static int
load_dump(const char *path, struct rd_profile *p, char *err, size_t errlen)
{
	struct ccid_dump d;
	struct vt_ccid_desc *c = &p->ccid;
	const char *b;

	memset(p, 0, sizeof(*p));
	if (dump_load(path, &d, err, errlen) != 0)
		return -1;
	p->vid = d.vid;
	p->pid = d.pid;
	p->bcd_device = d.bcd_device;
	snprintf(p->manufacturer, sizeof(p->manufacturer), "%s",
	    d.manufacturer);
	snprintf(p->product, sizeof(p->product), "%s", d.product);
	p->iface_class = d.iface_class ? d.iface_class : 0x0B;
	p->ccid_desc_type = d.ccid_desc_type ? d.ccid_desc_type : 0x21;
	p->has_intr = d.has_intr;
	p->iface_protocol = d.iface_protocol;
	/* ICCD (class 0x0B or 0xFF, protocol 1 or 2) without a bulk pair:
	 * emulated
	 * over the control pipe (reader_iccd.c); one that has a bulk pair
	 * (ActivCard V2) stays a bulk CCID reader, as hosts drive it */
	if ((p->iface_class == 0x0B || p->iface_class == 0xFF) &&
	    (d.iface_protocol == VT_ICCD_A ||
	    d.iface_protocol == VT_ICCD_B) && d.num_endpoints < 2) {
		p->iccd = d.iface_protocol;
		p->has_intr = d.iface_protocol == VT_ICCD_B && d.has_intr;
	}
	*c = d.ccid;
	if (c->dwMaxCCIDMessageLength < 20) {
		snprintf(err, errlen, "%s: dwMaxCCIDMessageLength %u is too "
		    "small to emulate", path, c->dwMaxCCIDMessageLength);
		return -1;
	}
	if ((c->dwProtocols & 3) == 0 && (c->dwProtocols & 0x300)) {
		/* pre-1.0 (MySmartPad): T=0/T=1 in bits 8 and 9 */
		p->desc_protocols = c->dwProtocols;
		c->dwProtocols = (c->dwProtocols >> 8) & 3;
	}
	if (p->iccd) {
		/* ICCD counts abData only: the CCID side here adds the
		 * 10-byte header, and takes a whole short APDU answer */
		p->desc_maxmsg = c->dwMaxCCIDMessageLength;
		c->dwMaxCCIDMessageLength += 10;
		if (c->dwMaxCCIDMessageLength < 271)
			c->dwMaxCCIDMessageLength = 271;
	}
	/* More slots than we emulate: the first two are offered. */
	if (c->bMaxSlotIndex >= RD_MAX_SLOTS)
		c->bMaxSlotIndex = RD_MAX_SLOTS - 1;
	/* Beyond the longest extended APDU and header nothing changes;
	 * the few dumps above keep RD_MSG_MAX. */
	if (c->dwMaxCCIDMessageLength > RD_MSG_MAX)
		c->dwMaxCCIDMessageLength = RD_MSG_MAX;
	switch (c->dwFeatures & VT_CCID_FEAT_LEVEL_MASK) {
	case VT_CCID_FEAT_LEVEL_SHORT_APDU:
	case VT_CCID_FEAT_LEVEL_EXT_APDU:
		break;
	default:
		/* TPDU and character level: we are a T=1 card if the
		 * reader speaks T=1 (README.md: what the others get). */
		p->t1_card = (c->dwProtocols & 2) != 0;
		break;
	}
	b = strrchr(path, '/');
	snprintf(p->name, sizeof(p->name), "%s", b ? b + 1 : path);
	snprintf(p->serial, sizeof(p->serial), "DUMP%04X", p->pid);
	return 0;
}

int
rd_profile_load(const char *name, struct rd_profile *p, char *err,
    size_t errlen)
{
	if (name == NULL)
		name = "yubikey5";
	if (strchr(name, '/') == NULL && strstr(name, ".txt") == NULL) {
		if (builtin_profile(name, p) != 0) {
			snprintf(err, errlen, "unknown reader profile '%s' "
			    "(one of: %s, or a dump file)", name,
			    rd_profile_names());
			return -1;
		}
	} else if (load_dump(name, p, err, errlen) != 0)
		return -1;
	return rd_profile_build(p);
}
