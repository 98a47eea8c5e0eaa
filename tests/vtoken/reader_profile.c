/*
 * reader_profile.c — the emulated reader's identities: built-in profiles,
 * or a descriptor dump from ../shared/ccid-readers/ (libccid's parse
 * tool output), turned into binary USB descriptors.
 */
#define _GNU_SOURCE
#include "reader.h"

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
rd_ccid_desc_write(const struct usb_ccid_desc *d, uint8_t o[54])
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
	uint8_t neps = p->has_intr ? 3 : 2;
	uint16_t mp = p->max_packet ? p->max_packet : 64;

	p->ep_out = 0x02;
	p->ep_in = 0x81;
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
	c[n++] = 0; c[n++] = 0;
	rd_ccid_desc_write(&p->ccid, c + n);
	n += 54;
	c[n++] = 7; c[n++] = 5; c[n++] = p->ep_out; c[n++] = 2;
	put16(c + n, mp); n += 2; c[n++] = 0;
	c[n++] = 7; c[n++] = 5; c[n++] = p->ep_in; c[n++] = 2;
	put16(c + n, mp); n += 2; c[n++] = 0;
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

/* ---- dumps ----------------------------------------------------------------
 * "key: value" lines; the first CCID class descriptor counts.  Numbers are
 * hex (0x...), decimal, "4.000 MHz" (kHz kept), "1.10" (BCD) or
 * "0x0000 0x0003" (two 16-bit halves).
 */

static int
parse_num(const char *v, uint32_t *out)
{
	unsigned a, b;
	double f;
	char *end;

	while (*v == ' ')
		v++;
	if (sscanf(v, "0x%x 0x%x", &a, &b) == 2) {
		*out = (uint32_t)(a << 16 | (b & 0xffff));
		return 0;
	}
	if (strncmp(v, "0x", 2) == 0) {
		errno = 0;
		*out = (uint32_t)strtoul(v + 2, &end, 16);
		return errno != 0 || end == v + 2 ? -1 : 0;
	}
	if (strstr(v, "MHz") != NULL) {
		if (sscanf(v, "%lf", &f) != 1 || f < 0 || f > 1000)
			return -1;
		*out = (uint32_t)(f * 1000 + 0.5);
		return 0;
	}
	if (strchr(v, '.') != NULL && sscanf(v, "%u.%x", &a, &b) == 2 &&
	    a < 100 && b < 0x100) {
		/* "1.10" -> 0x0110 */
		*out = (uint32_t)((a / 10) << 12 | (a % 10) << 8 | b);
		return 0;
	}
	errno = 0;
	*out = (uint32_t)strtoul(v, &end, 10);
	return errno != 0 || end == v ? -1 : 0;
}

static int
load_dump(const char *path, struct rd_profile *p, char *err, size_t errlen)
{
	FILE *f;
	char line[512];
	int in_ccid = 0, done = 0, have_vid = 0, have_ccid = 0;
	int last = 0;	/* 1 after idVendor, 2 after idProduct */
	struct usb_ccid_desc *d = &p->ccid;

	memset(p, 0, sizeof(*p));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!done && fgets(line, sizeof(line), f) != NULL) {
		char *k = line, *v, *nl;
		uint32_t x = 0;

		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		while (*k == ' ')
			k++;
		if (strcmp(k, "CCID Class Descriptor") == 0) {
			in_ccid = 1;
			continue;
		}
		if ((v = strchr(k, ':')) == NULL)
			continue;
		*v++ = '\0';
		while (*v == ' ')
			v++;
		if (strcmp(k, "idVendor") == 0 && !have_vid) {
			if (parse_num(v, &x) == 0)
				p->vid = (uint16_t)x;
			have_vid = 1;
			last = 1;
			continue;
		}
		if (strcmp(k, "iManufacturer") == 0 && last == 1)
			snprintf(p->manufacturer, sizeof(p->manufacturer), "%s", v);
		else if (strcmp(k, "idProduct") == 0 && p->pid == 0) {
			if (parse_num(v, &x) == 0)
				p->pid = (uint16_t)x;
			last = 2;
			continue;
		} else if (strcmp(k, "iProduct") == 0 && last == 2)
			snprintf(p->product, sizeof(p->product), "%s", v);
		else if (strcmp(k, "bcdDevice") == 0 && p->bcd_device == 0 &&
		    parse_num(v, &x) == 0)
			p->bcd_device = (uint16_t)x;
		else if (strcmp(k, "bInterfaceClass") == 0 && !have_ccid &&
		    parse_num(v, &x) == 0)
			p->iface_class = (uint8_t)x;
		else if (strcmp(k, "bNumEndpoints") == 0 && !have_ccid &&
		    parse_num(v, &x) == 0)
			p->has_intr = x >= 3;
		last = 0;
		if (!in_ccid || parse_num(v, &x) != 0)
			continue;
		have_ccid = 1;
		if (strcmp(k, "bcdCCID") == 0) d->bcdCCID = (uint16_t)x;
		else if (strcmp(k, "bMaxSlotIndex") == 0) d->bMaxSlotIndex = (uint8_t)x;
		else if (strcmp(k, "bVoltageSupport") == 0) d->bVoltageSupport = (uint8_t)x;
		else if (strcmp(k, "dwProtocols") == 0) d->dwProtocols = x;
		else if (strcmp(k, "dwDefaultClock") == 0) d->dwDefaultClock = x;
		else if (strcmp(k, "dwMaximumClock") == 0) d->dwMaximumClock = x;
		else if (strcmp(k, "bNumClockSupported") == 0) d->bNumClockSupported = (uint8_t)x;
		else if (strcmp(k, "dwDataRate") == 0) d->dwDataRate = x;
		else if (strcmp(k, "dwMaxDataRate") == 0) d->dwMaxDataRate = x;
		else if (strcmp(k, "bNumDataRatesSupported") == 0) d->bNumDataRatesSupported = (uint8_t)x;
		else if (strcmp(k, "dwMaxIFSD") == 0) d->dwMaxIFSD = x;
		else if (strcmp(k, "dwSynchProtocols") == 0) d->dwSynchProtocols = x;
		else if (strcmp(k, "dwMechanical") == 0) d->dwMechanical = x;
		else if (strcmp(k, "dwFeatures") == 0) d->dwFeatures = x;
		else if (strcmp(k, "dwMaxCCIDMessageLength") == 0) d->dwMaxCCIDMessageLength = x;
		else if (strcmp(k, "bClassGetResponse") == 0) d->bClassGetResponse = (uint8_t)x;
		else if (strcmp(k, "bClassEnvelope") == 0) d->bClassEnvelope = (uint8_t)x;
		else if (strcmp(k, "wLcdLayout") == 0) d->wLcdLayout = (uint16_t)x;
		else if (strcmp(k, "bPINSupport") == 0) d->bPINSupport = (uint8_t)x;
		else if (strcmp(k, "bMaxCCIDBusySlots") == 0) {
			d->bMaxCCIDBusySlots = (uint8_t)x;
			done = 1;
		}
	}
	fclose(f);
	if (!have_vid || !have_ccid || d->dwMaxCCIDMessageLength < 20) {
		snprintf(err, errlen, "%s: not a CCID reader dump", path);
		return -1;
	}
	if (d->bMaxSlotIndex >= RD_MAX_SLOTS) {
		/* More slots than we emulate: offer the first two. */
		d->bMaxSlotIndex = RD_MAX_SLOTS - 1;
	}
	if (d->dwMaxCCIDMessageLength > 65544)
		d->dwMaxCCIDMessageLength = 65544;
	switch (d->dwFeatures & USB_CCID_FEAT_LEVEL_MASK) {
	case USB_CCID_FEAT_LEVEL_SHORT_APDU:
	case USB_CCID_FEAT_LEVEL_EXT_APDU:
		break;
	default:
		/* TPDU and character level: we are a T=1 card if it can be. */
		p->t1_card = (d->dwProtocols & 2) != 0;
		break;
	}
	{
		const char *b = strrchr(path, '/');

		snprintf(p->name, sizeof(p->name), "%s", b ? b + 1 : path);
	}
	if (p->iface_class == 0)
		p->iface_class = 0x0B;
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
