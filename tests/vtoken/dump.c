/* SPDX-License-Identifier: MIT */
/*
 * tests/vtoken/dump.c — libccid "parse" dumps back into binary descriptors.
 *
 * A dump is text, one "key: value" per line, indented: one space for the
 * device and interface fields, two for the CCID class descriptor fields,
 * three for the explanations parse prints under a value.  A device with
 * several CCID interfaces is listed once per interface, each record
 * starting again at "idVendor".  The files come from many hands: some
 * have CRLF line ends, strings that could not be read ("Can't get
 * iProduct string"), vendor-class interfaces whose class descriptor has
 * type 0xFF, ICCD interfaces without bulk endpoints.  Every number is
 * parsed strictly (a value that does not parse is an error naming the
 * line); the explanation lines are ignored except the one under
 * bNumEndpoints, which says whether there is an interrupt-IN endpoint.
 */
#include "dump.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_MAX_LINE	512	/* longest line we accept */
#define DUMP_MAX_LINES	4096	/* the longest dump has a few hundred */

/* Which fields of one interface record were seen. */
enum {
	F_VID, F_PID, F_BCDDEV, F_CLASS, F_SUBCLASS, F_PROTO, F_NEP, F_IFNUM,
	F_BLEN, F_DTYPE, F_BCDCCID, F_SLOT, F_VOLT, F_PROTOS, F_DEFCLK,
	F_MAXCLK, F_NCLK, F_RATE, F_MAXRATE, F_NRATE, F_IFSD, F_SYNCH,
	F_MECH, F_FEAT, F_MSGLEN, F_GETRESP, F_ENV, F_LCD, F_PIN, F_BUSY,
	F_COUNT
};

static const char *const field_name[F_COUNT] = {
	"idVendor", "idProduct", "bcdDevice", "bInterfaceClass",
	"bInterfaceSubClass", "bInterfaceProtocol", "bNumEndpoints",
	"bInterfaceNumber", "bLength", "bDescriptorType", "bcdCCID",
	"bMaxSlotIndex", "bVoltageSupport", "dwProtocols", "dwDefaultClock",
	"dwMaximumClock", "bNumClockSupported", "dwDataRate",
	"dwMaxDataRate", "bNumDataRatesSupported", "dwMaxIFSD",
	"dwSynchProtocols", "dwMechanical", "dwFeatures",
	"dwMaxCCIDMessageLength", "bClassGetResponse", "bClassEnvelope",
	"wLcdLayout", "bPINSupport", "bMaxCCIDBusySlots",
};

struct rec {
	struct ccid_dump d;
	uint32_t seen;		/* bit per F_* */
	int in_ccid;		/* past the "CCID Class Descriptor" line */
	int after_nep;		/* the previous key line was bNumEndpoints */
	int nep_said;		/* and an explanation followed it */
};

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Unsigned number in base 16 (with 0x) or 10, no sign, <= max; the rest
 * of the value must be empty or start with a space. */
static int
num(const char *s, int base, unsigned long max, unsigned long *out,
    const char **end)
{
	char *e = NULL;
	unsigned long v;

	if (base == 16) {
		if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
			return -1;
		s += 2;
		/* strtoul would take a second "0x" */
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			return -1;
	}
	if (*s < '0' || (*s > '9' && base == 10) ||
	    (base == 16 && strchr("0123456789abcdefABCDEF", *s) == NULL))
		return -1;
	errno = 0;
	v = strtoul(s, &e, base);
	if (errno != 0 || e == s || v > max)
		return -1;
	*out = v;
	if (end != NULL)
		*end = e;
	else if (*e != '\0' && *e != ' ')
		return -1;
	return 0;
}

/* "1.10" / "F0.F0" / "1.0": BCD as parse prints it ("%X.%02X"). */
static int
bcd(const char *s, uint16_t *out)
{
	char *e = NULL;
	unsigned long hi, lo;

	if (strchr("0123456789abcdefABCDEF", *s) == NULL || *s == '\0')
		return -1;
	hi = strtoul(s, &e, 16);
	if (*e != '.' || hi > 0xff)
		return -1;
	s = e + 1;
	if (*s == '\0' || strchr("0123456789abcdefABCDEF", *s) == NULL)
		return -1;
	lo = strtoul(s, &e, 16);
	if (lo > 0xff || (*e != '\0' && *e != ' '))
		return -1;
	*out = (uint16_t)(hi << 8 | lo);
	return 0;
}

/* "4.000 MHz" -> 4000 (kHz): parse prints the kHz value / 1000, "%.3f". */
static int
clock_khz(const char *s, uint32_t *out)
{
	const char *e;
	unsigned long mhz, frac;

	if (num(s, 10, UINT32_MAX / 1000, &mhz, &e) != 0 || *e != '.')
		return -1;
	s = e + 1;
	if (strlen(s) < 3 || s[0] < '0' || s[0] > '9' || s[1] < '0' ||
	    s[1] > '9' || s[2] < '0' || s[2] > '9')
		return -1;
	frac = (unsigned long)(s[0] - '0') * 100 +
	    (unsigned long)(s[1] - '0') * 10 + (unsigned long)(s[2] - '0');
	if (strcmp(s + 3, " MHz") != 0 || mhz * 1000 > UINT32_MAX - frac)
		return -1;
	*out = (uint32_t)(mhz * 1000 + frac);
	return 0;
}

/* "<n> <unit>" */
static int
with_unit(const char *s, const char *unit, unsigned long max, uint32_t *out)
{
	const char *e;
	unsigned long v;

	if (num(s, 10, max, &v, &e) != 0 || *e != ' ' ||
	    strcmp(e + 1, unit) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
hex8(const char *s, uint8_t *out)
{
	unsigned long v;

	if (num(s, 16, 0xff, &v, NULL) != 0)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

static int
dec8(const char *s, uint8_t *out)
{
	unsigned long v;

	if (num(s, 10, 0xff, &v, NULL) != 0)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

static int
hex32(const char *s, uint32_t *out)
{
	unsigned long v;

	if (num(s, 16, UINT32_MAX, &v, NULL) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A device string; an empty or unreadable one stays "". */
static void
str(const char *s, char *dst, size_t cap)
{
	size_t n = strlen(s);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Parses one "key: value" line of an interface record. */
static int
field(struct rec *r, int f, const char *v)
{
	struct ccid_dump *d = &r->d;
	struct vt_ccid_desc *c = &d->ccid;
	unsigned long hi, lo;
	const char *e;
	uint8_t b;

	switch (f) {
	case F_VID:
		if (num(v, 16, 0xffff, &lo, NULL) != 0)
			return -1;
		d->vid = (uint16_t)lo;
		return 0;
	case F_PID:
		if (num(v, 16, 0xffff, &lo, NULL) != 0)
			return -1;
		d->pid = (uint16_t)lo;
		return 0;
	case F_BCDDEV:
		return bcd(v, &d->bcd_device);
	case F_CLASS:
		return hex8(v, &d->iface_class);
	case F_SUBCLASS:
		return dec8(v, &d->iface_subclass);
	case F_PROTO:
		return dec8(v, &d->iface_protocol);
	case F_NEP:
		return dec8(v, &d->num_endpoints);
	case F_IFNUM:
		return dec8(v, &d->iface_number);
	case F_BLEN:
		/* the interface's "bLength: 9" and the class descriptor's
		 * "bLength: 0x36" share the key; only the latter is kept */
		if (!r->in_ccid)
			return dec8(v, &b);
		if (hex8(v, &b) != 0 || b != 0x36)
			return -1;
		return 0;
	case F_DTYPE:
		if (!r->in_ccid)
			return dec8(v, &b) != 0 || b != 4 ? -1 : 0;
		if (hex8(v, &d->ccid_desc_type) != 0 ||
		    (d->ccid_desc_type != 0x21 && d->ccid_desc_type != 0xff))
			return -1;
		return 0;
	case F_BCDCCID:
		return bcd(v, &c->bcdCCID);
	case F_SLOT:
		return hex8(v, &c->bMaxSlotIndex);
	case F_VOLT:
		return hex8(v, &c->bVoltageSupport);
	case F_PROTOS:
		/* "0x0000 0x0003": high word, low word */
		if (num(v, 16, 0xffff, &hi, &e) != 0 || *e != ' ' ||
		    num(e + 1, 16, 0xffff, &lo, NULL) != 0)
			return -1;
		c->dwProtocols = (uint32_t)(hi << 16 | lo);
		return 0;
	case F_DEFCLK:
		return clock_khz(v, &c->dwDefaultClock);
	case F_MAXCLK:
		return clock_khz(v, &c->dwMaximumClock);
	case F_NCLK:
		return num(v, 10, 0xff, &lo, &e) != 0 ? -1 :
		    (c->bNumClockSupported = (uint8_t)lo, 0);
	case F_RATE:
		return with_unit(v, "bps", UINT32_MAX, &c->dwDataRate);
	case F_MAXRATE:
		return with_unit(v, "bps", UINT32_MAX, &c->dwMaxDataRate);
	case F_NRATE:
		return num(v, 10, 0xff, &lo, &e) != 0 ? -1 :
		    (c->bNumDataRatesSupported = (uint8_t)lo, 0);
	case F_IFSD:
		if (num(v, 10, UINT32_MAX, &lo, NULL) != 0)
			return -1;
		c->dwMaxIFSD = (uint32_t)lo;
		return 0;
	case F_SYNCH:
		return hex32(v, &c->dwSynchProtocols);
	case F_MECH:
		return hex32(v, &c->dwMechanical);
	case F_FEAT:
		return hex32(v, &c->dwFeatures);
	case F_MSGLEN:
		return with_unit(v, "bytes", UINT32_MAX,
		    &c->dwMaxCCIDMessageLength);
	case F_GETRESP:
		return hex8(v, &c->bClassGetResponse);
	case F_ENV:
		return hex8(v, &c->bClassEnvelope);
	case F_LCD:
		if (num(v, 16, 0xffff, &lo, NULL) != 0)
			return -1;
		c->wLcdLayout = (uint16_t)lo;
		return 0;
	case F_PIN:
		return hex8(v, &c->bPINSupport);
	case F_BUSY:
		return dec8(v, &c->bMaxCCIDBusySlots);
	}
	return -1;
}

/* Strips the line end (LF, CRLF) and trailing blanks. */
static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* A finished record must have every field. */
static int
rec_done(struct rec *r, char *err, size_t errlen, size_t idx)
{
	int f;

	/* CCID §5.2: three endpoints are bulk-IN, bulk-OUT, interrupt-IN;
	 * some dumps omit the line that says so */
	if (r->d.num_endpoints == 3 && !r->nep_said)
		r->d.has_intr = 1;
	for (f = 0; f < F_COUNT; f++) {
		if ((r->seen & (1u << f)) == 0) {
			seterr(err, errlen, "interface %zu: no %s", idx,
			    field_name[f]);
			return -1;
		}
	}
	if (!r->in_ccid) {
		seterr(err, errlen, "interface %zu: no CCID class descriptor",
		    idx);
		return -1;
	}
	return 0;
}

int
dump_load_all(const char *path, struct ccid_dump *out, size_t max,
    size_t *n, char *err, size_t errlen)
{
	FILE *fp = NULL;
	char line[DUMP_MAX_LINE];
	struct rec r;
	size_t count = 0, lineno = 0;
	int have = 0, r_ = -1, f;

	if (n != NULL)
		*n = 0;
	seterr(err, errlen, "ok");
	if (path == NULL || out == NULL || max == 0 || n == NULL) {
		seterr(err, errlen, "bad argument");
		return -1;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&r, 0, sizeof(r));
	while (fgets(line, sizeof(line), fp) != NULL) {
		const char *k, *colon, *v;
		size_t indent, klen;

		if (++lineno > DUMP_MAX_LINES) {
			seterr(err, errlen, "line %zu: too many lines", lineno);
			goto out;
		}
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			seterr(err, errlen, "line %zu: too long", lineno);
			goto out;
		}
		chomp(line);
		for (indent = 0; line[indent] == ' '; indent++)
			;
		k = line + indent;
		if (*k == '\0')
			continue;
		if (indent == 1 && strcmp(k, "CCID Class Descriptor") == 0) {
			if (!have || r.in_ccid) {
				seterr(err, errlen, "line %zu: stray CCID "
				    "Class Descriptor", lineno);
				goto out;
			}
			r.in_ccid = 1;
			continue;
		}
		/* explanations under a value */
		if (indent >= 3 || (indent == 2 && !r.in_ccid)) {
			if (have && r.after_nep && indent == 2) {
				r.nep_said = 1;
				if (strstr(k, "Interrupt-IN") != NULL)
					r.d.has_intr = 1;
			}
			if (indent == 2 && strncmp(k, "iManufacturer:", 14) == 0)
				str(k[14] == ' ' ? k + 15 : k + 14,
				    r.d.manufacturer, sizeof(r.d.manufacturer));
			if (indent == 2 && strncmp(k, "iProduct:", 9) == 0)
				str(k[9] == ' ' ? k + 10 : k + 9,
				    r.d.product, sizeof(r.d.product));
			continue;
		}
		if ((colon = strchr(k, ':')) == NULL)
			continue;	/* " Can't get iInterface string" */
		klen = (size_t)(colon - k);
		v = colon[1] == ' ' ? colon + 2 : colon + 1;
		for (f = 0; f < F_COUNT; f++)
			if (strlen(field_name[f]) == klen &&
			    strncmp(field_name[f], k, klen) == 0)
				break;
		if (f == F_VID) {
			if (have) {
				if (rec_done(&r, err, errlen, count) != 0)
					goto out;
				if (count < max)
					out[count] = r.d;
				count++;
			}
			memset(&r, 0, sizeof(r));
			have = 1;
		}
		r.after_nep = f == F_NEP;
		if (f == F_COUNT) {
			/* iInterface and the like: not needed */
			continue;
		}
		if (!have) {
			seterr(err, errlen, "line %zu: %s before idVendor",
			    lineno, field_name[f]);
			goto out;
		}
		/* CCID fields only inside the class descriptor, and the other
		 * way round (bLength / bDescriptorType appear in both) */
		if (f >= F_BCDCCID && !r.in_ccid) {
			seterr(err, errlen, "line %zu: %s outside the class "
			    "descriptor", lineno, field_name[f]);
			goto out;
		}
		if (f != F_BLEN && f != F_DTYPE && (r.seen & (1u << f)) != 0) {
			seterr(err, errlen, "line %zu: %s twice", lineno,
			    field_name[f]);
			goto out;
		}
		if (field(&r, f, v) != 0) {
			seterr(err, errlen, "line %zu: bad %s value '%.40s'",
			    lineno, field_name[f], v);
			goto out;
		}
		if ((f != F_BLEN && f != F_DTYPE) || r.in_ccid)
			r.seen |= 1u << f;
	}
	if (ferror(fp)) {
		seterr(err, errlen, "%s: read error", path);
		goto out;
	}
	if (!have) {
		seterr(err, errlen, "no interface (no idVendor line)");
		goto out;
	}
	if (rec_done(&r, err, errlen, count) != 0)
		goto out;
	if (count < max)
		out[count] = r.d;
	count++;
	if (count > max) {
		seterr(err, errlen, "%zu interfaces, more than %zu", count, max);
		goto out;
	}
	*n = count;
	r_ = 0;
out:
	fclose(fp);
	if (r_ != 0)
		memset(out, 0, max * sizeof(*out));
	return r_;
}

int
dump_load(const char *path, struct ccid_dump *out, char *err, size_t errlen)
{
	struct ccid_dump all[DUMP_MAX_IFACES];
	size_t n = 0;

	if (out == NULL) {
		seterr(err, errlen, "bad argument");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (dump_load_all(path, all, DUMP_MAX_IFACES, &n, err,
	    errlen) != 0)
		return -1;
	*out = all[0];
	return 0;
}

static uint8_t *
le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *
le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return p + 4;
}

/* Endpoint layout the dump implies (it does not list addresses):
 * bulk-OUT 0x01, bulk-IN 0x82, interrupt-IN 0x83. */
static uint8_t *
endpoint(uint8_t *p, uint8_t addr, uint8_t attr, uint16_t mps,
    uint8_t interval)
{
	*p++ = 7;
	*p++ = 5;
	*p++ = addr;
	*p++ = attr;
	p = le16(p, mps);
	*p++ = interval;
	return p;
}

int
dump_build(const struct ccid_dump *d, uint8_t dev[18], uint8_t *cfg,
    size_t cap, size_t *cfglen)
{
	const struct vt_ccid_desc *c;
	uint8_t *p;
	size_t need;

	if (cfglen != NULL)
		*cfglen = 0;
	if (d == NULL || dev == NULL || cfg == NULL || cfglen == NULL ||
	    d->num_endpoints > 3 || (d->num_endpoints == 3 && !d->has_intr))
		return -1;
	c = &d->ccid;
	need = 9 + 9 + 0x36 + 7 * (size_t)d->num_endpoints;
	if (cap < need)
		return -1;

	p = dev;
	*p++ = 18;
	*p++ = 1;			/* DEVICE */
	p = le16(p, 0x0200);		/* bcdUSB */
	*p++ = 0;			/* class per interface */
	*p++ = 0;
	*p++ = 0;
	*p++ = 64;			/* bMaxPacketSize0 */
	p = le16(p, d->vid);
	p = le16(p, d->pid);
	p = le16(p, d->bcd_device);
	*p++ = d->manufacturer[0] != '\0' ? 1 : 0;
	*p++ = d->product[0] != '\0' ? 2 : 0;
	*p++ = 0;			/* no serial in the dump */
	*p++ = 1;			/* bNumConfigurations */

	p = cfg;
	*p++ = 9;
	*p++ = 2;			/* CONFIGURATION */
	p = le16(p, (uint16_t)need);
	*p++ = 1;			/* bNumInterfaces */
	*p++ = 1;			/* bConfigurationValue */
	*p++ = 0;
	*p++ = 0x80;			/* bus powered */
	*p++ = 50;			/* 100 mA */

	*p++ = 9;
	*p++ = 4;			/* INTERFACE */
	*p++ = d->iface_number;
	*p++ = 0;			/* bAlternateSetting */
	*p++ = d->num_endpoints;
	*p++ = d->iface_class;
	*p++ = d->iface_subclass;
	*p++ = d->iface_protocol;
	*p++ = 0;			/* iInterface */

	*p++ = 0x36;
	*p++ = d->ccid_desc_type != 0 ? d->ccid_desc_type : 0x21;
	p = le16(p, c->bcdCCID);
	*p++ = c->bMaxSlotIndex;
	*p++ = c->bVoltageSupport;
	p = le32(p, c->dwProtocols);
	p = le32(p, c->dwDefaultClock);
	p = le32(p, c->dwMaximumClock);
	*p++ = c->bNumClockSupported;
	p = le32(p, c->dwDataRate);
	p = le32(p, c->dwMaxDataRate);
	*p++ = c->bNumDataRatesSupported;
	p = le32(p, c->dwMaxIFSD);
	p = le32(p, c->dwSynchProtocols);
	p = le32(p, c->dwMechanical);
	p = le32(p, c->dwFeatures);
	p = le32(p, c->dwMaxCCIDMessageLength);
	*p++ = c->bClassGetResponse;
	*p++ = c->bClassEnvelope;
	p = le16(p, c->wLcdLayout);
	*p++ = c->bPINSupport;
	*p++ = c->bMaxCCIDBusySlots;

	if (d->num_endpoints == 1) {
		if (d->has_intr)
			p = endpoint(p, 0x83, 3, 8, 16);
		else
			p = endpoint(p, 0x82, 2, 64, 0);
	} else if (d->num_endpoints >= 2) {
		p = endpoint(p, 0x82, 2, 64, 0);
		p = endpoint(p, 0x01, 2, 64, 0);
		if (d->num_endpoints == 3)
			p = endpoint(p, 0x83, 3, 8, 16);
	}
	*cfglen = (size_t)(p - cfg);
	return 0;
}
