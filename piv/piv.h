/* SPDX-License-Identifier: MIT */
/*
 * piv/ — a PIV client (NIST SP 800-73-4) with the YubiKey extensions, over
 * a "transmit one APDU" I/O table (normally ccid/, in tests the software
 * card directly).
 *
 * It reads nothing the caller did not ask for: the PIV application is
 * selected once and again only when the transport's generation counter
 * says the card may have been reset or used by another process; METADATA
 * is preferred to reading certificates where the card has it.
 *
 * Every response is hostile: BER-TLV is parsed by a pure function
 * (piv_tlv_*), and the GET RESPONSE / command-chaining loops are bounded
 * by the caller's buffer, a count and the time budget.  PIN, PUK and
 * management key are wiped after use and never traced.
 *
 * Errors are 0 or a negative PIV_ERR_*; piv_strerror() names them.
 */
#ifndef USBPIV_PIV_H
#define USBPIV_PIV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

enum piv_err {
	PIV_OK = 0,
	PIV_ERR_ARG = -1,
	PIV_ERR_NOMEM = -2,
	PIV_ERR_TRANSPORT = -3,		/* reader / USB failure */
	PIV_ERR_REMOVED = -4,		/* token removed */
	PIV_ERR_TIMEOUT = -5,
	PIV_ERR_BUSY = -6,		/* used by another program */
	PIV_ERR_PROTO = -7,		/* malformed response */
	PIV_ERR_NO_APP = -8,		/* no PIV application (SELECT failed) */
	PIV_ERR_NOT_FOUND = -9,		/* 6A82: object or key absent */
	PIV_ERR_PIN_WRONG = -10,	/* 63Cx: tries left in *tries */
	PIV_ERR_PIN_BLOCKED = -11,	/* 6983 */
	PIV_ERR_AUTH_REQUIRED = -12,	/* 6982: security status not satisfied */
	PIV_ERR_CONDITIONS = -13,	/* 6985 */
	PIV_ERR_BAD_DATA = -14,		/* 6A80 / 6A86 / 6700 */
	PIV_ERR_NOT_SUPPORTED = -15,	/* 6D00 / 6E00 / 6A81 / 6A88? */
	PIV_ERR_CARD = -16,		/* any other status word */
	PIV_ERR_BUFFER = -17,		/* answer larger than the bound */
	PIV_ERR_CRYPTO = -18,		/* host-side OpenSSL failure */
	PIV_ERR_TOUCH_TIMEOUT = -19,	/* 6985 after waiting for touch? (YK) */
	PIV_ERR_ACCESS = -20,		/* device node permission */
	PIV_ERR_NO_SPACE = -21,		/* 6A84: object too large / no room */
};

const char *piv_strerror(int err);
/*
 * Does a raw command APDU, given by a user (`usbpiv apdu`), carry a
 * secret: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, GENERAL
 * AUTHENTICATE with the management key, YubiKey IMPORT KEY and SET
 * MANAGEMENT KEY, GET/PUT DATA of the printed-information object?  Short
 * and extended encodings, chained parts included.  The stack's own
 * commands do not ask: each says so itself (the transmit's `secret`).
 */
int piv_apdu_is_secret(const uint8_t *apdu, size_t n);

/* ---- I/O table ----------------------------------------------------------
 * transmit: one APDU exchange at the transport level (no 61xx handling);
 * returns 0 or a negative PIV_ERR_*.  begin/end bracket a transaction and
 * may be NULL.  generation changes whenever the card may have lost its
 * state (reset, re-insertion, another process).
 */
typedef struct piv_io {
	/* secret: the command (a PIN, PUK or key; also its answer) must not
	 * appear in a trace — the caller says so, nobody sniffs bytes */
	int (*transmit)(void *h, const uint8_t *capdu, size_t clen,
	    int secret, uint8_t *rapdu, size_t cap, size_t *rlen, int *ms);
	int (*begin)(void *h, int *ms);
	int (*end)(void *h);
	uint64_t (*generation)(void *h);
	/* PIN events shared with other processes: record one (inside a
	 * transaction), and the signature of everybody's (changes whenever
	 * any process recorded one).  Both may be NULL: nothing shared. */
	int (*note_pin)(void *h);
	uint64_t (*pin_events)(void *h);
	int extended;	/* transport carries extended APDUs */
	/* Largest response APDU (data + SW) the transport carries; 0 means
	 * 65538.  Smaller values make piv ask for smaller chunks (Le). */
	size_t rx_max;
	/* May be NULL (then `extended` says): whether extended APDUs can
	 * travel now (a TPDU reader's card may run T=0). */
	int (*extended_now)(void *h);
	/* May be NULL (then a failed transmit counts as sent): whether the
	 * last transmit reached the card, its command (or part of it)
	 * delivered; a failed one that did has an unknown outcome. */
	int (*sent)(void *h);
} piv_io_t;

/* ---- constants ---------------------------------------------------------- */

/* Key references (SP 800-73-4 Table 4b, YubiKey f9). */
#define PIV_SLOT_AUTH		0x9a
#define PIV_SLOT_MGM		0x9b
#define PIV_SLOT_SIGN		0x9c
#define PIV_SLOT_KEYMGMT	0x9d
#define PIV_SLOT_CARDAUTH	0x9e
#define PIV_SLOT_RETIRED1	0x82	/* .. 0x95 */
#define PIV_SLOT_RETIRED20	0x95
#define PIV_SLOT_ATTEST		0xf9
#define PIV_PIN_REF		0x80
#define PIV_PUK_REF		0x81

/* Algorithm identifiers (SP 800-78-4, YubiKey). */
#define PIV_ALG_3DES		0x03
#define PIV_ALG_RSA1024		0x06
#define PIV_ALG_RSA2048		0x07
#define PIV_ALG_AES128		0x08
#define PIV_ALG_AES192		0x0a
#define PIV_ALG_AES256		0x0c
#define PIV_ALG_ECCP256		0x11
#define PIV_ALG_ECCP384		0x14
#define PIV_ALG_RSA3072		0x05
#define PIV_ALG_RSA4096		0x16
#define PIV_ALG_ED25519		0xe0
#define PIV_ALG_X25519		0xe1
/* Modulus bytes of an RSA algorithm, 0 for another. */
size_t piv_rsa_bytes(uint8_t alg);

/* PIN and touch policies (YubiKey). */
#define PIV_PINPOLICY_DEFAULT	0
#define PIV_PINPOLICY_NEVER	1
#define PIV_PINPOLICY_ONCE	2
#define PIV_PINPOLICY_ALWAYS	3
#define PIV_TOUCHPOLICY_DEFAULT	0
#define PIV_TOUCHPOLICY_NEVER	1
#define PIV_TOUCHPOLICY_ALWAYS	2
#define PIV_TOUCHPOLICY_CACHED	3

/* Key origin (METADATA tag 03). */
#define PIV_ORIGIN_UNKNOWN	0
#define PIV_ORIGIN_GENERATED	1
#define PIV_ORIGIN_IMPORTED	2

/* Data objects (SP 800-73-4 Table 3), 3-byte tags. */
#define PIV_OBJ_CCC		0x5fc107
#define PIV_OBJ_CHUID		0x5fc102
#define PIV_OBJ_DISCOVERY	0x7e		/* 1-byte tag */
#define PIV_OBJ_KEY_HISTORY	0x5fc10c
#define PIV_OBJ_PRINTED		0x5fc109
#define PIV_OBJ_SECURITY	0x5fc106
#define PIV_OBJ_FINGERPRINTS	0x5fc103
#define PIV_OBJ_FACE		0x5fc108
#define PIV_OBJ_IRIS		0x5fc121
#define PIV_OBJ_BITGT		0x7f61		/* 2-byte tag */
#define PIV_OBJ_SM_SIGNER	0x5fc122
#define PIV_OBJ_PC_REF		0x5fc123
#define PIV_OBJ_ADMIN		0x5fff00	/* YubiKey admin data */
#define PIV_OBJ_ATTESTATION	0x5fff01	/* YubiKey f9 certificate */

/* ---- BER-TLV (pure) ----------------------------------------------------- */

struct piv_tlv {
	uint32_t tag;		/* up to 3 tag bytes, as they appear */
	size_t len;
	const uint8_t *value;	/* into the parsed buffer */
};
/* Reads one TLV from *p and *left and advances.  Lengths 0..0xFFFFFF in the
 * forms 0x00-0x7F, 81 xx, 82 xx xx, 83 xx xx xx; a length past the end,
 * an indefinite length (80) or a tag of more than 3 bytes is an error. */
int piv_tlv_next(const uint8_t **p, size_t *left, struct piv_tlv *out);
/* Finds the first TLV with `tag` at the top level of buf. */
int piv_tlv_find(const uint8_t *buf, size_t len, uint32_t tag,
    struct piv_tlv *out);
/* Encodes a length; returns bytes written (1..4) or 0 if cap too small. */
size_t piv_tlv_put_len(uint8_t *out, size_t cap, size_t len);

/* ---- card --------------------------------------------------------------- */

typedef struct piv_card piv_card_t;

/* The cause of the last failure on p, as the layers below gave it: the
 * transport's word ("card did not answer", "reader unplugged", ...), or
 * else the card's last status word ("status word 6A80"); "" when there
 * is none.  Valid until the next call on p. */
const char *piv_last_cause(piv_card_t *p);
/* The status word of the card's last answer (0: none yet). */
uint16_t piv_last_sw(const piv_card_t *p);

int piv_new(piv_card_t **p, const piv_io_t *io, void *io_h);
void piv_free(piv_card_t **p);
/* Over a ccid/ reader slot (piv/piv_ccid.c); the card does not own r. */
struct ccid_reader;
int piv_new_ccid(piv_card_t **p, struct ccid_reader *r, size_t slot);

/*
 * The one way up the stack (piv/piv_reader.c): a reader opened once, and
 * PIV handles on its slots.  piv_reader_card joins a card another process
 * powered (never resetting it) or powers up an unpowered one: with probe
 * it asks the reader first (PIV_ERR_REMOVED for an empty slot), without
 * it nothing is sent until the first APDU, which tells.  Lower layers'
 * errors arrive as PIV_ERR_BUSY (another program holds the reader),
 * PIV_ERR_ACCESS (no permission on the device node), PIV_ERR_REMOVED
 * (gone, or no card), PIV_ERR_TRANSPORT; the trace has the detail.
 */
typedef struct piv_reader piv_reader_t;
struct usb_ctx;
struct usb_dev_info;
int piv_reader_open(struct usb_ctx *ctx, const struct usb_dev_info *info,
    piv_reader_t **pr);
void piv_reader_close(piv_reader_t **pr);
size_t piv_reader_slots(const piv_reader_t *pr);
/* The CCID reader under it, for raw APDUs and slot events. */
struct ccid_reader *piv_reader_ccid(piv_reader_t *pr);
int piv_reader_removed(const piv_reader_t *pr);
int piv_reader_card(piv_reader_t *pr, size_t slot, int probe, int *ms,
    piv_card_t **card);
/* The reader's own words on the last failed piv_reader_card, or NULL: the
 * detail a PIV_ERR_* folds away, for the message the user sees. */
const char *piv_reader_why(const piv_reader_t *pr);

/* Transaction bracket around several calls (each call brackets itself if
 * the caller did not). */
int piv_begin(piv_card_t *p, int *ms);
int piv_end(piv_card_t *p);

/*
 * The signature of the PIN events of every process sharing the card (a
 * PIN changed, refused or blocked, reset by the PUK, the card reset): it
 * changes whenever any of them saw one.  This layer records its own
 * (VERIFY refused, CHANGE REFERENCE DATA, RESET RETRY COUNTER, the
 * YubiKey reset and PIN-retries commands).  Where nothing is shared it
 * changes at every transaction: a caller keeping a PIN must then assume
 * the worst.
 */
uint64_t piv_pin_events(piv_card_t *p);

/* SELECT the PIV application (done implicitly when needed). */
int piv_select(piv_card_t *p, int *ms);
/* Application property template from SELECT; not owned by the caller. */
const uint8_t *piv_apt(const piv_card_t *p, size_t *len);
/* Number of APDUs sent so far (for tests and benchmarks). */
uint64_t piv_apdu_count(const piv_card_t *p);
/*
 * After a call failed with a transport error (PIV_ERR_TRANSPORT, _REMOVED,
 * _TIMEOUT, _PROTO): the INS of the command whose answer was lost after
 * it (its last part) reached the card, so that the card may or may not
 * have carried it out; 0 when the failed exchange was not sent (or the
 * last exchange did not fail).  Reset by every command.
 */
uint8_t piv_lost_ins(const piv_card_t *p);

/* YubiKey GET VERSION (INS FD); PIV_ERR_NOT_SUPPORTED on other cards. */
int piv_get_version(piv_card_t *p, uint8_t ver[3], int *ms);
/* YubiKey GET SERIAL (INS F8). */
int piv_get_serial(piv_card_t *p, uint32_t *serial, int *ms);

/* PIN / PUK.  which is PIV_PIN_REF or PIV_PUK_REF.  tries may be NULL.
 * An empty PIN is PIV_ERR_ARG, never a status query. */
int piv_verify(piv_card_t *p, uint8_t which, const char *pin, size_t len,
    int *tries, int *ms);
/* VERIFY with no data: *verified 1/0, *tries left (-1 if unknown).  A
 * blocked reference is a status too: 0 with *verified 0 and *tries 0. */
int piv_pin_status(piv_card_t *p, uint8_t which, int *verified, int *tries,
    int *ms);
/* VERIFY with P1=FF: the card forgets that `which` was verified. */
int piv_logout(piv_card_t *p, uint8_t which, int *ms);
int piv_change_ref(piv_card_t *p, uint8_t which, const char *old,
    size_t oldlen, const char *new_, size_t newlen, int *tries, int *ms);
int piv_unblock_pin(piv_card_t *p, const char *puk, size_t puklen,
    const char *newpin, size_t newlen, int *tries, int *ms);
/* Blocks the PIN or the PUK with wrong values until the card says blocked
 * (for a reset).  0 once blocked. */
int piv_block_ref(piv_card_t *p, uint8_t which, int *ms);

/* GET DATA: *data (malloc'd, caller frees) is the content of tag 0x53. */
int piv_get_data(piv_card_t *p, uint32_t obj, uint8_t **data, size_t *len,
    int *ms);
/* PUT DATA: data is the content to put inside 0x53. */
int piv_put_data(piv_card_t *p, uint32_t obj, const uint8_t *data,
    size_t len, int *ms);
/* An EVP_PKEY_fromdata context for key type name ("RSA", "EC"), or by its
 * OID when an application's default ENGINE claims the name. */
EVP_PKEY_CTX *piv_fromdata_ctx(const char *name, const char *oid);
/* Key History object (SP 800-73-4, 5FC10C): the retired slots in use are
 * 82 .. 82+on+off-1.  An absent object gives 0/0 and returns 0;
 * piv_key_history_parse is the pure part (content of 0x53). */
int piv_key_history(piv_card_t *p, uint8_t *on, uint8_t *off, int *ms);
int piv_key_history_parse(const uint8_t *buf, size_t len, uint8_t *on,
    uint8_t *off);
/* After putting a key or certificate into retired slot `slot`: raises the
 * count so the slot is covered (PUT DATA: needs the management key).  A
 * no-op for other slots and when already covered. */
int piv_key_history_note(piv_card_t *p, uint8_t slot, int *ms);
/* Object tag of the certificate container of a key slot, 0 if none. */
uint32_t piv_cert_object(uint8_t slot);

/* Management key (slot 9B): mutual authentication. */
int piv_auth_mgm(piv_card_t *p, uint8_t alg, const uint8_t *key,
    size_t keylen, int *ms);
/* Single (card-to-host challenge) authentication, for cards without the
 * mutual form. */
int piv_auth_mgm_single(piv_card_t *p, uint8_t alg, const uint8_t *key,
    size_t keylen, int *ms);
int piv_set_mgm(piv_card_t *p, uint8_t alg, const uint8_t *key,
    size_t keylen, int require_touch, int *ms);

/*
 * Private-key operations (GENERAL AUTHENTICATE).  For RSA `in` is the
 * whole modulus-sized block (padding is the caller's); for ECDSA the
 * hash (truncated/padded to the field size by the caller or here); for
 * Ed25519 the message.  out/cap/outlen as usual; *outlen set to 0 on
 * every error.
 */
int piv_sign(piv_card_t *p, uint8_t slot, uint8_t alg, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap, size_t *outlen, int *ms);
int piv_decipher(piv_card_t *p, uint8_t slot, uint8_t alg,
    const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen, int *ms);
/* ECDH: peer's public point (uncompressed EC point, or 32-byte X25519). */
int piv_ecdh(piv_card_t *p, uint8_t slot, uint8_t alg, const uint8_t *peer,
    size_t peerlen, uint8_t *out, size_t cap, size_t *outlen, int *ms);

/* Keys.  The public key comes back as an OpenSSL EVP_PKEY (caller frees). */
int piv_generate(piv_card_t *p, uint8_t slot, uint8_t alg, uint8_t pin_policy,
    uint8_t touch_policy, EVP_PKEY **pub, int *ms);
int piv_import_key(piv_card_t *p, uint8_t slot, const EVP_PKEY *key,
    uint8_t pin_policy, uint8_t touch_policy, int *ms);
int piv_move_key(piv_card_t *p, uint8_t from, uint8_t to, int *ms);
int piv_delete_key(piv_card_t *p, uint8_t slot, int *ms);
/* Parses a public-key template (7F49 …) for alg into an EVP_PKEY. Pure. */
int piv_parse_pubkey(uint8_t alg, const uint8_t *buf, size_t len,
    EVP_PKEY **pub);

struct piv_metadata {
	uint8_t alg;
	uint8_t pin_policy;	/* 0 if the card did not say */
	uint8_t touch_policy;
	uint8_t origin;
	int is_default;		/* PIN/PUK/mgm key still the factory value */
	int retries_total;	/* -1 if absent */
	int retries_left;
	EVP_PKEY *pub;		/* NULL if absent; owned by the struct */
	uint8_t *pub_tpl;	/* the public-key template's body as the card
				 * sent it (tags 81 82 or 86), with pub */
	size_t pub_tpl_len;
};
/* YubiKey METADATA (INS F7) for a key slot, 9B, or PIN/PUK (80/81).
 * PIV_ERR_NOT_FOUND for an empty slot; PIV_ERR_NOT_SUPPORTED before 5.3.
 * md need not be initialised; after success piv_metadata_clear() it. */
int piv_metadata(piv_card_t *p, uint8_t slot, struct piv_metadata *md,
    int *ms);
void piv_metadata_clear(struct piv_metadata *md);
/* The same without making md->pub (an OpenSSL key costs some 200,000
 * instructions): the template's bytes are in pub_tpl, unchecked until
 * piv_metadata_pub() makes the key from them. */
int piv_metadata_nokey(piv_card_t *p, uint8_t slot, struct piv_metadata *md,
    int *ms);
int piv_metadata_pub(struct piv_metadata *md);
/* Parses a METADATA answer (tags 01-06). Pure. */
int piv_parse_metadata(const uint8_t *buf, size_t len,
    struct piv_metadata *md);

int piv_attest(piv_card_t *p, uint8_t slot, X509 **cert, int *ms);

/* Certificates: the 0x70/0x71/0xFE container; gzip handled. */
int piv_read_cert(piv_card_t *p, uint8_t slot, X509 **cert, int *ms);
int piv_write_cert(piv_card_t *p, uint8_t slot, const X509 *cert,
    int compress, int *ms);
int piv_delete_cert(piv_card_t *p, uint8_t slot, int *ms);
/* Parses the content of a certificate object (inside 0x53). Pure. */
int piv_parse_cert_object(const uint8_t *buf, size_t len, X509 **cert);
/* The same, to the certificate's DER (unzipped; *der malloc'd), without
 * decoding it.  Pure. */
int piv_parse_cert_der(const uint8_t *buf, size_t len, uint8_t **der,
    size_t *derlen);
/* The certificate of a key slot as DER (*der malloc'd). */
int piv_read_cert_der(piv_card_t *p, uint8_t slot, uint8_t **der,
    size_t *len, int *ms);
/* Builds the content of a certificate object (70/71/FE); *out malloc'd.
 * Pure. */
int piv_build_cert_object(const X509 *cert, int compress, uint8_t **out,
    size_t *outlen);

/* YubiKey administration. */
int piv_set_pin_retries(piv_card_t *p, uint8_t pin_tries, uint8_t puk_tries,
    int *ms);
int piv_reset(piv_card_t *p, int *ms);	/* only once PIN and PUK blocked */

/* PIN-protected management key (Yubico's scheme: admin data 5FFF00 flag,
 * key in printed-information 5FC109 under 88/89). */
int piv_read_protected_mgm(piv_card_t *p, uint8_t *key, size_t cap,
    size_t *keylen, int *ms);
int piv_write_protected_mgm(piv_card_t *p, const uint8_t *key, size_t keylen,
    int *ms);
/* Whether piv_write_protected_mgm can work (admin data parses, the printed
 * object is readable: PIN verified), writing nothing. */
int piv_check_protected_mgm(piv_card_t *p, int *ms);

/* Identity: serial from GET SERIAL, else from the CHUID; a stable label. */
struct piv_identity {
	uint32_t serial;	/* 0 when unknown */
	int has_serial;
	uint8_t guid[16];	/* from the CHUID; all zero when absent */
	int has_guid;
	uint8_t version[3];	/* firmware, YubiKey only */
	int has_version;
};
int piv_identity(piv_card_t *p, struct piv_identity *id, int *ms);
/* CHUID content -> GUID (tag 34), or a SHA-256 of the FASC-N (tag 30)
 * when the GUID is absent or zero; PIV_ERR_NOT_FOUND if neither. Pure. */
int piv_chuid_guid(const uint8_t *chuid, size_t len, uint8_t guid[16]);

#endif
