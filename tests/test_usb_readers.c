/* SPDX-License-Identifier: MIT */
/*
 * tests/test_usb_readers.c — every real reader dump in ../shared/ccid-readers
 * rebuilt into binary descriptors (tests/vtoken/dump.c) and parsed back by
 * usb_parse_config_desc: the parser must derive what the dump says.  Also
 * the dump reader itself against odd and broken text.
 *
 * The directory is relative to the repository top (tests run from there;
 * CI clones ../shared beside the repository).  A missing directory fails.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../ccid/ccid_int.h"
#include "../usb/usb.h"
#include "vtoken/dump.h"

#define READERS_DIR	"../shared/ccid-readers"
#define MAX_FILES	4096

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Why the parser must not take an interface, or NULL if it must.  Every
 * interface in the dumps is taken today: bulk CCID, ICCD over the control
 * pipe (class 0x0B or 0xFF, protocol 1 or 2, no bulk pair), and the
 * pre-1.0 readers whose 54-byte descriptor is typed 0xFF in a vendor-class
 * interface.  What would still be refused is listed here; a refusal of
 * anything else fails the test, and so does one of these appearing in
 * the dumps without a line in `explained` below (and in the README).
 */
static const char *
expected_reject(const struct ccid_dump *d)
{
	if (d->ccid_desc_type != 0x21 && d->iface_class != 0xff)
		return "class descriptor typed 0xFF in a class-0x0B "
		    "interface";
	if (d->iface_class != 0x0b && d->iface_class != 0xff)
		return "interface class neither 0x0B nor 0xFF";
	if (d->num_endpoints < 2 && d->iface_protocol != 1 &&
	    d->iface_protocol != 2)
		return "no bulk pair, and not ICCD (protocol 1 or 2)";
	return NULL;
}

/* Interfaces the README explains as refused: "file:iface".  None now. */
static const char *const explained[] = { NULL };

/* Taken but unusable, as the README says ("Supported readers"): the
 * character-level bulk readers (O2Micro Oz776, Winbond). */
static const char *const unusable[] = {
	"Oz776S.txt:0", "Oz776_7772.txt:0", "Winbond.txt:0", NULL
};

static int
listed(const char *const *list, const char *file, unsigned iface)
{
	char key[300];
	size_t i;

	snprintf(key, sizeof(key), "%s:%u", file, iface);
	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], key) == 0)
			return 1;
	return 0;
}

static int
no_write(void *h, const uint8_t *buf, size_t len, int *ms)
{
	(void)h; (void)buf; (void)len; (void)ms;
	return CCID_ERR_IO;
}

static int
no_read(void *h, uint8_t *buf, size_t cap, size_t *got, int *ms)
{
	(void)h; (void)buf; (void)cap; (void)ms;
	*got = 0;
	return CCID_ERR_IO;
}

/*
 * Why the ccid layer could not drive an interface the parser took, or
 * NULL: the descriptor it is given (ICCD: the one the ICCD transport
 * presents), a reader built on it, an exchange level it speaks, a
 * protocol (the pre-1.0 0x0300 encoding read as it does).
 */
static const char *
unusable_why(const struct usb_ccid_iface *i)
{
	static const ccid_io_t io = { .write = no_write, .read = no_read };
	struct usb_ccid_desc d = i->ccid;
	const struct usb_ccid_desc *rd;
	ccid_reader_t *r = NULL;
	uint32_t lvl, prot;
	const char *why = NULL;

	if (usb_iface_is_iccd(i) && ccid_iccd_present(i->bInterfaceProtocol,
	    &i->ccid, &d) != 0)
		return "ICCD descriptor refused";
	if (ccid_reader_new(&r, &io, NULL, &d) != 0)
		return "reader refused (slots)";
	rd = ccid_reader_desc(r);
	lvl = rd->dwFeatures & USB_CCID_FEAT_LEVEL_MASK;
	prot = rd->dwProtocols;
	if ((prot & 3) == 0 && (prot & 0x300))
		prot >>= 8;
	if (lvl == USB_CCID_FEAT_LEVEL_CHAR)
		why = "character level";
	else if (lvl != USB_CCID_FEAT_LEVEL_TPDU &&
	    lvl != USB_CCID_FEAT_LEVEL_SHORT_APDU &&
	    lvl != USB_CCID_FEAT_LEVEL_EXT_APDU)
		why = "unknown exchange level";
	else if ((prot & 3) == 0)
		why = "neither T=0 nor T=1";
	ccid_reader_free(&r);
	return why;
}

/* The parser's descriptor against the dump's (the emulator's own type). */
static void
same_desc(const struct usb_ccid_desc *u, const struct vt_ccid_desc *v)
{
#define SAME(f) assert_int_equal(u->f, v->f)
	SAME(bcdCCID); SAME(bMaxSlotIndex); SAME(bVoltageSupport);
	SAME(dwProtocols); SAME(dwDefaultClock); SAME(dwMaximumClock);
	SAME(bNumClockSupported); SAME(dwDataRate); SAME(dwMaxDataRate);
	SAME(bNumDataRatesSupported); SAME(dwMaxIFSD);
	SAME(dwSynchProtocols); SAME(dwMechanical); SAME(dwFeatures);
	SAME(dwMaxCCIDMessageLength); SAME(bClassGetResponse);
	SAME(bClassEnvelope); SAME(wLcdLayout); SAME(bPINSupport);
	SAME(bMaxCCIDBusySlots);
#undef SAME
}

static void
test_every_reader_dump(void **state)
{
	char **names = NULL, path[1024], err[256];
	size_t nnames = 0, i, j, walked = 0, ifaces = 0, taken = 0;
	size_t rejected = 0, notdump = 0, iccd_a = 0, iccd_b = 0, vend = 0;
	size_t nousable = 0;
	struct dirent *de;
	DIR *dir;

	(void)state;
	dir = opendir(READERS_DIR);
	if (dir == NULL)
		fail_msg("%s: missing (clone usbpiv-shared beside the repo)",
		    READERS_DIR);
	names = calloc(MAX_FILES, sizeof(*names));
	assert_non_null(names);
	while ((de = readdir(dir)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".txt") != 0)
			continue;
		assert_true(nnames < MAX_FILES);
		names[nnames] = strdup(de->d_name);
		assert_non_null(names[nnames]);
		nnames++;
	}
	closedir(dir);
	qsort(names, nnames, sizeof(*names), cmp_str);

	for (i = 0; i < nnames; i++) {
		struct ccid_dump d[DUMP_MAX_IFACES];
		size_t nd = 0;

		snprintf(path, sizeof(path), "%s/%s", READERS_DIR, names[i]);
		if (dump_load_all(path, d, DUMP_MAX_IFACES, &nd, err,
		    sizeof(err)) != 0) {
			/* listed, not silently skipped; only the index file
			 * is expected here and anything else fails below */
			printf("not a reader dump: %s (%s)\n", names[i], err);
			notdump++;
			if (strcmp(names[i], "supported_readers.txt") != 0)
				fail_msg("%s: %s", names[i], err);
			continue;
		}
		walked++;
		for (j = 0; j < nd; j++) {
			uint8_t dev[18], cfg[512];
			struct usb_ccid_iface out[2];
			struct usb_device_desc dd;
			const char *why = expected_reject(&d[j]);
			size_t cfglen = 0, n = 99;

			ifaces++;
			assert_int_equal(dump_build(&d[j], dev, cfg,
			    sizeof(cfg), &cfglen), 0);
			assert_int_equal(usb_parse_device_desc(dev,
			    sizeof(dev), &dd), USB_OK);
			assert_int_equal(dd.idVendor, d[j].vid);
			assert_int_equal(dd.idProduct, d[j].pid);
			assert_int_equal(dd.bcdDevice, d[j].bcd_device);
			assert_int_equal(usb_parse_config_desc(cfg, cfglen,
			    out, 2, &n), USB_OK);
			if (why != NULL) {
				if (n != 0)
					fail_msg("%s iface %u: parser took an "
					    "interface it must not (%s)",
					    names[i], d[j].iface_number, why);
				printf("not taken: %s iface %u: %s\n",
				    names[i], d[j].iface_number, why);
				if (!listed(explained, names[i], d[j].iface_number))
					fail_msg("%s iface %u: not taken and "
					    "not explained (%s): add it to "
					    "`explained` and the README",
					    names[i], d[j].iface_number, why);
				rejected++;
				continue;
			}
			if (n != 1)
				fail_msg("%s iface %u: parser found %zu "
				    "interfaces", names[i],
				    d[j].iface_number, n);
			taken++;
			assert_int_equal(out[0].bInterfaceNumber,
			    d[j].iface_number);
			assert_int_equal(out[0].bInterfaceClass,
			    d[j].iface_class);
			assert_int_equal(out[0].ccid.dwFeatures &
			    USB_CCID_FEAT_LEVEL_MASK,
			    d[j].ccid.dwFeatures & USB_CCID_FEAT_LEVEL_MASK);
			assert_int_equal(out[0].ccid.dwMaxCCIDMessageLength,
			    d[j].ccid.dwMaxCCIDMessageLength);
			assert_int_equal(out[0].ccid.bMaxSlotIndex + 1,
			    d[j].ccid.bMaxSlotIndex + 1);
			assert_int_equal(out[0].ccid.bVoltageSupport,
			    d[j].ccid.bVoltageSupport);
			/* and every other field, byte order included */
			same_desc(&out[0].ccid, &d[j].ccid);
			assert_int_equal(out[0].ep_intr_in != 0,
			    d[j].has_intr && (d[j].num_endpoints == 3 ||
			    d[j].num_endpoints == 1));
			/* the transport the ccid layer will choose */
			assert_int_equal(usb_iface_is_iccd(&out[0]),
			    d[j].num_endpoints < 2);
			if (usb_iface_is_iccd(&out[0])) {
				printf("ICCD version %c: %s iface %u (class "
				    "%02X)\n", out[0].bInterfaceProtocol ==
				    USB_ICCD_A ? 'A' : 'B', names[i],
				    d[j].iface_number, d[j].iface_class);
				if (out[0].bInterfaceProtocol == USB_ICCD_A)
					iccd_a++;
				else
					iccd_b++;
			}
			why = unusable_why(&out[0]);
			if (why != NULL) {
				printf("taken, not usable: %s iface %u: %s\n",
				    names[i], d[j].iface_number, why);
				if (!listed(unusable, names[i],
				    d[j].iface_number))
					fail_msg("%s iface %u: not usable and "
					    "not explained (%s): add it to "
					    "`unusable` and the README",
					    names[i], d[j].iface_number, why);
				nousable++;
			} else if (listed(unusable, names[i],
			    d[j].iface_number))
				fail_msg("%s iface %u: usable now, drop it "
				    "from `unusable` and the README",
				    names[i], d[j].iface_number);
			if (d[j].ccid_desc_type == 0xff) {
				printf("vendor-typed descriptor: %s iface %u\n",
				    names[i], d[j].iface_number);
				vend++;
			}
		}
	}
	printf("readers walked: %zu dump files, %zu interfaces; %zu parsed "
	    "and agree (ICCD A %zu, ICCD B %zu, descriptor typed 0xFF %zu), "
	    "%zu not taken (listed above), %zu files not dumps; usable: "
	    "%zu, taken but not usable: %zu (listed above)\n", walked,
	    ifaces, taken, iccd_a, iccd_b, vend, rejected, notdump,
	    taken - nousable, nousable);
	/* the set has ~690 dumps: an empty or half-read directory is a
	 * broken checkout, not a pass */
	assert_true(walked >= 600);
	assert_true(taken >= walked * 9 / 10);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
}

/* ---- the dump reader on made-up text ---------------------------------- */

static const char good[] =
    " idVendor: 0x1050\n"
    "  iManufacturer: Yubico\n"
    " idProduct: 0x0407\n"
    "  iProduct: YubiKey OTP+FIDO+CCID\n"
    " bcdDevice: 5.43 (firmware release?)\n"
    " bLength: 9\n"
    " bDescriptorType: 4\n"
    " bInterfaceNumber: 2\n"
    " bAlternateSetting: 0\n"
    " bNumEndpoints: 2\n"
    "  bulk-IN and bulk-OUT\n"
    " bInterfaceClass: 0x0B [Chip Card Interface Device Class (CCID)]\n"
    " bInterfaceSubClass: 0\n"
    " bInterfaceProtocol: 0\n"
    "  bulk transfer, optional interrupt-IN (CCID)\n"
    " iInterface: 0\n"
    " CCID Class Descriptor\n"
    "  bLength: 0x36\n"
    "  bDescriptorType: 0x21\n"
    "  bcdCCID: 1.00\n"
    "  bMaxSlotIndex: 0x00\n"
    "  bVoltageSupport: 0x07\n"
    "   5.0V\n"
    "  dwProtocols: 0x0000 0x0002\n"
    "   T=1\n"
    "  dwDefaultClock: 4.000 MHz\n"
    "  dwMaximumClock: 13.560 MHz\n"
    "  bNumClockSupported: 0 (will use whatever is returned)\n"
    "   IFD does not support GET CLOCK FREQUENCIES request: x\n"
    "  dwDataRate: 10752 bps\n"
    "  dwMaxDataRate: 250000 bps\n"
    "  bNumDataRatesSupported: 0 (will use whatever is returned)\n"
    "  dwMaxIFSD: 254\n"
    "  dwSynchProtocols: 0x00000000\n"
    "  dwMechanical: 0x00000000\n"
    "   No special characteristics\n"
    "  dwFeatures: 0x000400FE\n"
    "   04.... Short and Extended APDU level exchange\n"
    "  dwMaxCCIDMessageLength: 3072 bytes\n"
    "  bClassGetResponse: 0xFF\n"
    "   echoes the APDU class\n"
    "  bClassEnvelope: 0xFF\n"
    "  wLcdLayout: 0x0000\n"
    "  bPINSupport: 0x00\n"
    "  bMaxCCIDBusySlots: 1\n";

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/usbpiv-dump-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/d.txt", tmpdir);
	unlink(p);
	return rmdir(tmpdir);
}

/* Writes text to the temp file and loads it. */
static int
load_text(const char *text, struct ccid_dump *d, size_t max, size_t *n,
    char *err, size_t errlen)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/d.txt", tmpdir);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return dump_load_all(p, d, max, n, err, errlen);
}

/* Replaces the first occurrence of `from` in good[] by `to`. */
static char *
edit(const char *from, const char *to)
{
	const char *at = strstr(good, from);
	char *s;
	size_t pre;

	assert_non_null(at);
	pre = (size_t)(at - good);
	s = malloc(sizeof(good) + strlen(to));
	assert_non_null(s);
	memcpy(s, good, pre);
	strcpy(s + pre, to);
	strcat(s, at + strlen(from));
	return s;
}

static void
test_dump_good(void **state)
{
	struct ccid_dump d[2];
	char err[128];
	size_t n = 0;

	(void)state;
	assert_int_equal(load_text(good, d, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].vid, 0x1050);
	assert_int_equal(d[0].pid, 0x0407);
	assert_int_equal(d[0].bcd_device, 0x0543);
	assert_string_equal(d[0].manufacturer, "Yubico");
	assert_string_equal(d[0].product, "YubiKey OTP+FIDO+CCID");
	assert_int_equal(d[0].iface_number, 2);
	assert_int_equal(d[0].num_endpoints, 2);
	assert_int_equal(d[0].has_intr, 0);
	assert_int_equal(d[0].ccid_desc_type, 0x21);
	assert_int_equal(d[0].ccid.bcdCCID, 0x0100);
	assert_int_equal(d[0].ccid.dwProtocols, 2);
	assert_int_equal(d[0].ccid.dwDefaultClock, 4000);
	assert_int_equal(d[0].ccid.dwMaximumClock, 13560);
	assert_int_equal(d[0].ccid.dwMaxDataRate, 250000);
	assert_int_equal(d[0].ccid.dwMaxIFSD, 254);
	assert_int_equal(d[0].ccid.dwFeatures, 0x000400fe);
	assert_int_equal(d[0].ccid.dwMaxCCIDMessageLength, 3072);
	assert_int_equal(d[0].ccid.bClassGetResponse, 0xff);
	assert_int_equal(d[0].ccid.bMaxCCIDBusySlots, 1);
}

static void
test_dump_crlf_and_missing_strings(void **state)
{
	struct ccid_dump d[2];
	char err[128], *s, *t, *u, *crlf, *q;
	const char *p;
	size_t n = 0;

	(void)state;
	s = edit("  iManufacturer: Yubico\n",
	    "  Can't get iManufacturer string\n");
	t = edit("  iProduct: YubiKey OTP+FIDO+CCID\n", "  iProduct:    \n");
	/* CRLF throughout */
	crlf = malloc(2 * sizeof(good));
	assert_non_null(crlf);
	for (p = good, q = crlf; *p != '\0'; p++) {
		if (*p == '\n')
			*q++ = '\r';
		*q++ = *p;
	}
	*q = '\0';
	assert_int_equal(load_text(s, d, 2, &n, err, sizeof(err)), 0);
	assert_string_equal(d[0].manufacturer, "");
	assert_int_equal(load_text(t, d, 2, &n, err, sizeof(err)), 0);
	assert_string_equal(d[0].product, "");
	assert_int_equal(load_text(crlf, d, 2, &n, err, sizeof(err)), 0);
	assert_string_equal(d[0].product, "YubiKey OTP+FIDO+CCID");
	assert_int_equal(d[0].ccid.dwMaxCCIDMessageLength, 3072);
	/* three endpoints and no line saying which: the third is the
	 * interrupt-IN (CCID §5.2) */
	u = edit(" bNumEndpoints: 2\n  bulk-IN and bulk-OUT\n",
	    " bNumEndpoints: 3\n");
	assert_int_equal(load_text(u, d, 2, &n, err, sizeof(err)), 0);
	assert_int_equal(d[0].has_intr, 1);
	free(s);
	free(t);
	free(u);
	free(crlf);
}

static void
test_dump_garbled(void **state)
{
	static const char *const bad[][2] = {
		{ "dwMaxCCIDMessageLength: 3072 bytes",
		  "dwMaxCCIDMessageLength: 3O72 bytes" },
		{ "dwMaxCCIDMessageLength: 3072 bytes",
		  "dwMaxCCIDMessageLength: 99999999999 bytes" },
		{ "dwMaxCCIDMessageLength: 3072 bytes",
		  "dwMaxCCIDMessageLength: -1 bytes" },
		{ "dwFeatures: 0x000400FE", "dwFeatures: 000400FE" },
		{ "dwFeatures: 0x000400FE", "dwFeatures: 0x1000400FE" },
		{ "dwFeatures: 0x000400FE", "dwFeatures: 0x" },
		{ "dwFeatures: 0x000400FE", "dwFeatures: 0x0x400FE" },
		{ "dwFeatures: 0x000400FE", "dwFeatures: 0x -400FE" },
		{ "dwFeatures: 0x000400FE", "dwFeatures: 0x000400FEg" },
		{ "bMaxSlotIndex: 0x00", "bMaxSlotIndex: 0x100" },
		{ "dwDefaultClock: 4.000 MHz", "dwDefaultClock: 4 MHz" },
		{ "dwDefaultClock: 4.000 MHz", "dwDefaultClock: 4.0 MHz" },
		{ "dwDefaultClock: 4.000 MHz", "dwDefaultClock: 4.000 kHz" },
		{ "dwDefaultClock: 4.000 MHz",
		  "dwDefaultClock: 99999999.000 MHz" },
		{ "dwProtocols: 0x0000 0x0002", "dwProtocols: 0x0002" },
		{ "bcdCCID: 1.00", "bcdCCID: 1" },
		{ "bcdCCID: 1.00", "bcdCCID: 100.00" },
		{ "  bLength: 0x36", "  bLength: 0x35" },
		{ "  bDescriptorType: 0x21", "  bDescriptorType: 0x24" },
		{ "idVendor: 0x1050", "idVendor: 0x10500" },
		{ "bNumEndpoints: 2", "bNumEndpoints: two" },
		/* a field missing */
		{ "  dwMaxIFSD: 254\n", "" },
		{ " idProduct: 0x0407\n", "" },
		/* the class descriptor missing altogether */
		{ " CCID Class Descriptor\n", "" },
		/* twice */
		{ "  wLcdLayout: 0x0000\n",
		  "  wLcdLayout: 0x0000\n  wLcdLayout: 0x0000\n" },
		/* a CCID field among the interface fields */
		{ " iInterface: 0\n", " iInterface: 0\n dwFeatures: 0x0\n" },
	};
	struct ccid_dump d[2];
	char err[128], *s;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = edit(bad[i][0], bad[i][1]);
		n = 99;
		memset(d, 0xaa, sizeof(d));
		if (load_text(s, d, 2, &n, err, sizeof(err)) == 0)
			fail_msg("accepted: '%s' -> '%s'", bad[i][0],
			    bad[i][1]);
		assert_int_equal(n, 0);
		assert_int_equal(d[0].vid, 0);	/* cleared */
		assert_true(strlen(err) > 0);
		free(s);
	}
	/* empty, not there, fields before idVendor */
	assert_int_equal(load_text("", d, 2, &n, err, sizeof(err)), -1);
	assert_int_equal(load_text("  bMaxSlotIndex: 0x00\n", d, 2, &n, err,
	    sizeof(err)), -1);
	assert_int_equal(dump_load_all("/nonexistent/x.txt", d, 2, &n, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.txt"));
}

static void
test_dump_long_line(void **state)
{
	struct ccid_dump d[1];
	char err[128], *s;
	size_t n;

	(void)state;
	s = malloc(sizeof(good) + 2000);
	assert_non_null(s);
	strcpy(s, good);
	strcat(s, "  iSomething: ");
	memset(s + strlen(s), 'A', 1000);
	s[sizeof(good) - 1 + 14 + 1000] = '\0';
	strcat(s, "\n");
	assert_int_equal(load_text(s, d, 1, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	free(s);
}

static void
test_dump_multiple_interfaces(void **state)
{
	struct ccid_dump d[3], one;
	char err[128], *s, *t, path[128];
	size_t n = 0;

	(void)state;
	t = edit(" bInterfaceNumber: 2", " bInterfaceNumber: 3");
	s = malloc(strlen(good) + strlen(t) + 1);
	assert_non_null(s);
	strcpy(s, good);
	strcat(s, t);
	assert_int_equal(load_text(s, d, 3, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].iface_number, 2);
	assert_int_equal(d[1].iface_number, 3);
	/* more than the caller has room for: an error, not a silent cut */
	assert_int_equal(load_text(s, d, 1, &n, err, sizeof(err)), -1);
	assert_int_equal(n, 0);
	/* dump_load keeps the first */
	snprintf(path, sizeof(path), "%s/d.txt", tmpdir);
	assert_int_equal(dump_load(path, &one, err, sizeof(err)), 0);
	assert_int_equal(one.iface_number, 2);
	/* the second record incomplete: the error names it */
	strcpy(s, good);
	strcat(s, " idVendor: 0x1050\n");
	assert_int_equal(load_text(s, d, 3, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "interface 1"));
	free(s);
	free(t);
}

static void
test_dump_build_shapes(void **state)
{
	struct ccid_dump d[1];
	struct usb_ccid_iface out[1];
	uint8_t dev[18], cfg[256];
	char err[128];
	size_t n, len = 99;

	(void)state;
	assert_int_equal(load_text(good, d, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(dump_build(d, dev, cfg, sizeof(cfg), &len), 0);
	assert_int_equal(len, 9 + 9 + 0x36 + 2 * 7);
	assert_int_equal(cfg[2] | cfg[3] << 8, len);
	assert_int_equal(dev[0], 18);
	assert_int_equal(dev[14], 1);	/* iManufacturer present */
	/* too small a buffer: error and length 0 */
	assert_int_equal(dump_build(d, dev, cfg, len - 1, &len), -1);
	assert_int_equal(len, 0);
	/* an interrupt endpoint when the dump says so */
	d[0].num_endpoints = 3;
	d[0].has_intr = 1;
	assert_int_equal(dump_build(d, dev, cfg, sizeof(cfg), &len), 0);
	assert_int_equal(usb_parse_config_desc(cfg, len, out, 1, &n), USB_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].ep_intr_in, 0x83);
	/* impossible endpoint counts */
	d[0].num_endpoints = 4;
	assert_int_equal(dump_build(d, dev, cfg, sizeof(cfg), &len), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_reader_dump),
		cmocka_unit_test(test_dump_good),
		cmocka_unit_test(test_dump_crlf_and_missing_strings),
		cmocka_unit_test(test_dump_garbled),
		cmocka_unit_test(test_dump_long_line),
		cmocka_unit_test(test_dump_multiple_interfaces),
		cmocka_unit_test(test_dump_build_shapes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
