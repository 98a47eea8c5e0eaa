/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_card.h — a card whose every answer comes from the fuzz input,
 * behind a piv_io_t (the lowest seam where a whole response APDU is one
 * unit: everything from piv/ up runs for real).  Shared by the
 * whole-stack targets (fuzz_p11_stack.c, fuzz_cli.c).
 *
 * Input: a few configuration bytes the target reads first (fc_byte),
 * then one record per APDU, in the order the stack sends them:
 *
 *   LEN (2 bytes, big endian)  then LEN bytes: the response APDU (data +
 *                              SW1 SW2), cut to what is left of the
 *                              input and to the caller's buffer;
 *   LEN >= 0xFFF0              no bytes follow: the transport fails
 *                              (FFFF transport error, FFFE card removed,
 *                              FFFD timeout, else transport error).
 *
 * When the input runs out, every further APDU is answered 6F 00 (a card
 * error with no detail).
 *
 * Record mode (seed generation, see fuzz/gen-seeds.sh): with the
 * environment variable FUZZ_RECORD naming a file, a target runs its
 * script once over the software card (tests/vtoken/vcard.c) holding RSA
 * and EC keys and certificates (some gzip-compressed), writes the
 * configuration bytes and every response in this format to the file,
 * and exits.
 */
#ifndef USBPIV_FUZZ_CARD_H
#define USBPIV_FUZZ_CARD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../piv/piv.h"
#include "../tests/vtoken/vcard.h"

struct fc_card {
	const uint8_t *p;	/* input cursor */
	size_t left;
	uint64_t pin_ev;
	unsigned long napdu;
	/* record mode */
	vcard_t *vc;
	FILE *rec;
};

static struct fc_card fc;

static void
fc_start(const uint8_t *data, size_t size)
{
	fc.p = data;
	fc.left = size;
	fc.pin_ev = 0;
	fc.napdu = 0;
}

/* One configuration byte (0 once the input is spent); recorded as is. */
static uint8_t
fc_byte(uint8_t rec_value)
{
	uint8_t b;

	if (fc.rec != NULL) {
		fputc(rec_value, fc.rec);
		return rec_value;
	}
	if (fc.left == 0)
		return 0;
	b = *fc.p++;
	fc.left--;
	return b;
}

static int
fc_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	size_t n;

	(void)h;
	(void)secret;
	(void)ms;
	*rlen = 0;
	fc.napdu++;
	if (fc.rec != NULL) {
		if (vcard_apdu(fc.vc, capdu, clen, rapdu, cap, rlen) != 0 ||
		    *rlen > 0xffef) {
			*rlen = 0;
			fputc(0xff, fc.rec);
			fputc(0xff, fc.rec);
			return PIV_ERR_TRANSPORT;
		}
		if (getenv("FUZZ_RECORD_TRACE") != NULL && clen >= 4 &&
		    *rlen >= 2)
			fprintf(stderr, "> %02x %02x %02x %02x (%zu) < %zu "
			    "%02x%02x\n", capdu[0], capdu[1], capdu[2],
			    capdu[3], clen, *rlen, rapdu[*rlen - 2],
			    rapdu[*rlen - 1]);
		fputc((int)(*rlen >> 8), fc.rec);
		fputc((int)(*rlen & 0xff), fc.rec);
		fwrite(rapdu, 1, *rlen, fc.rec);
		return 0;
	}
	if (fc.left < 2) {
		fc.left = 0;
		if (cap < 2)
			return PIV_ERR_BUFFER;
		rapdu[0] = 0x6f;
		rapdu[1] = 0x00;
		*rlen = 2;
		return 0;
	}
	n = (size_t)fc.p[0] << 8 | fc.p[1];
	fc.p += 2;
	fc.left -= 2;
	if (n >= 0xfff0)
		return n == 0xfffe ? PIV_ERR_REMOVED :
		    n == 0xfffd ? PIV_ERR_TIMEOUT : PIV_ERR_TRANSPORT;
	if (n > fc.left)
		n = fc.left;
	memcpy(rapdu, fc.p, n < cap ? n : cap);
	*rlen = n < cap ? n : cap;
	fc.p += n;
	fc.left -= n;
	return 0;
}

static uint64_t
fc_generation(void *h)
{
	(void)h;
	return 1;
}

static int
fc_note_pin(void *h)
{
	(void)h;
	fc.pin_ev++;
	return 0;
}

static uint64_t
fc_pin_events(void *h)
{
	(void)h;
	return fc.pin_ev;
}

static const piv_io_t fc_io_ext = {
	.transmit = fc_transmit,
	.generation = fc_generation,
	.note_pin = fc_note_pin,
	.pin_events = fc_pin_events,
	.extended = 1,
};

/* Short APDUs only, answers of at most 258 bytes (GET RESPONSE chains). */
static const piv_io_t fc_io_short = {
	.transmit = fc_transmit,
	.generation = fc_generation,
	.note_pin = fc_note_pin,
	.pin_events = fc_pin_events,
	.extended = 0,
	.rx_max = 258,
};

/* ---- record mode: the software card with a realistic content ------------ */

static int
fc_vc_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	(void)ms;
	(void)secret;
	return vcard_apdu(h, capdu, clen, rapdu, cap, rlen) == 0 ? 0 :
	    PIV_ERR_TRANSPORT;
}

static const piv_io_t fc_vc_io = {
	.transmit = fc_vc_transmit,
	.extended = 1,
};

static void
fc_die(const char *what)
{
	fprintf(stderr, "fuzz record: %s failed\n", what);
	exit(1);
}

static X509 *
fc_cert_for(EVP_PKEY *pub, const char *cn, long serial)
{
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();

	if (ca == NULL || x == NULL || nm == NULL)
		fc_die("certificate");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
	    (const unsigned char *)"usbpiv fuzz seeds", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, pub);
	if (X509_sign(x, ca, EVP_sha256()) <= 0)
		fc_die("X509_sign");
	X509_NAME_free(nm);
	EVP_PKEY_free(ca);
	return x;
}

static void
fc_key(piv_card_t *p, uint8_t slot, uint8_t alg, uint8_t pinpol,
    const char *cn, int cert, int compress)
{
	EVP_PKEY *pub = NULL;
	X509 *x;
	int ms = 60000;

	if (piv_generate(p, slot, alg, pinpol, 0, &pub, &ms) != 0)
		fc_die("piv_generate");
	ms = 60000;
	if (piv_key_history_note(p, slot, &ms) != 0)
		fc_die("piv_key_history_note");
	if (cert) {
		x = fc_cert_for(pub, cn, slot);
		ms = 60000;
		if (piv_write_cert(p, slot, x, compress, &ms) != 0)
			fc_die("piv_write_cert");
		X509_free(x);
	}
	EVP_PKEY_free(pub);
}

/*
 * The recorded token: 9A RSA-2048 + certificate, 9C P-256 + compressed
 * certificate, 9D RSA-2048 + compressed certificate, 9E P-256 + certificate
 * (PIN never), 82 P-384 + compressed certificate, 83 P-256 without one;
 * a CHUID; the management key stored PIN-protected (admin data and
 * printed information).  The card is left reset (as a new session finds
 * it).
 */
static vcard_t *
fc_make_card(void)
{
	static const uint8_t mgm[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
	    5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t chuid[64];
	size_t n = 0;
	vcard_t *vc = NULL;
	piv_card_t *p = NULL;
	int ms = 60000;

	if (vcard_new(&vc, NULL) != 0)
		fc_die("vcard_new");
	if (piv_new(&p, &fc_vc_io, vc) != 0)
		fc_die("piv_new");
	if (piv_auth_mgm(p, PIV_ALG_3DES, mgm, sizeof(mgm), &ms) != 0)
		fc_die("piv_auth_mgm");
	fc_key(p, PIV_SLOT_AUTH, PIV_ALG_RSA2048, PIV_PINPOLICY_DEFAULT,
	    "RSA auth", 1, 0);
	fc_key(p, PIV_SLOT_SIGN, PIV_ALG_ECCP256, PIV_PINPOLICY_DEFAULT,
	    "EC sign", 1, 1);
	fc_key(p, PIV_SLOT_KEYMGMT, PIV_ALG_RSA2048, PIV_PINPOLICY_DEFAULT,
	    "RSA key management", 1, 1);
	fc_key(p, PIV_SLOT_CARDAUTH, PIV_ALG_ECCP256, PIV_PINPOLICY_NEVER,
	    "EC card auth", 1, 0);
	fc_key(p, 0x82, PIV_ALG_ECCP384, PIV_PINPOLICY_DEFAULT,
	    "EC retired", 1, 1);
	fc_key(p, 0x83, PIV_ALG_ECCP256, PIV_PINPOLICY_DEFAULT, "", 0, 0);
	/* CHUID: FASC-N (30), GUID (34), expiry (35), signature (3E), LRC */
	chuid[n++] = 0x30;
	chuid[n++] = 25;
	memset(chuid + n, 0xd4, 25);
	n += 25;
	chuid[n++] = 0x34;
	chuid[n++] = 16;
	memcpy(chuid + n, "usbpiv-fuzz-guid", 16);
	n += 16;
	chuid[n++] = 0x35;
	chuid[n++] = 8;
	memcpy(chuid + n, "20301231", 8);
	n += 8;
	chuid[n++] = 0x3e;
	chuid[n++] = 0;
	chuid[n++] = 0xfe;
	chuid[n++] = 0;
	ms = 60000;
	if (piv_put_data(p, PIV_OBJ_CHUID, chuid, n, &ms) != 0)
		fc_die("piv_put_data CHUID");
	ms = 60000;
	if (piv_verify(p, PIV_PIN_REF, "123456", 6, NULL, &ms) != 0)
		fc_die("piv_verify");
	ms = 60000;
	if (piv_write_protected_mgm(p, mgm, sizeof(mgm), &ms) != 0)
		fc_die("piv_write_protected_mgm");
	piv_free(&p);
	vcard_reset(vc);
	return vc;
}

/* Record mode: the card made, the file opened; 0 when not recording. */
static int
fc_record_begin(void)
{
	const char *path = getenv("FUZZ_RECORD");

	if (path == NULL || *path == '\0')
		return 0;
	fc.vc = fc_make_card();
	if ((fc.rec = fopen(path, "wb")) == NULL)
		fc_die(path);
	return 1;
}

static void
fc_record_end(void)
{
	fprintf(stderr, "fuzz record: %lu APDUs, %ld bytes\n", fc.napdu,
	    ftell(fc.rec));
	if (fclose(fc.rec) != 0)
		fc_die("fclose");
	fc.rec = NULL;
	vcard_free(&fc.vc);
}

#endif
