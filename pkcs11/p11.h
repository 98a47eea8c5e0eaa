/* SPDX-License-Identifier: MIT */
/*
 * pkcs11/ private header: the module's state, the transport seam and the
 * helpers shared by the C_* files.
 *
 * The files, in their order: each uses only the lines above its own
 * (tests/integration/layering.sh checks the objects' symbols against it).
 *
 *   p11_pubenc.c p11_backend_usb.c	leaves: DER encodings, the USB backend
 *   p11_module.c	module state, locks, the gate, slot lookup, errors
 *   p11_slot.c		readers and tokens; what a slot owns, freed
 *   p11_session.c	sessions, login
 *   p11_object.c	keys, certificates, attributes; the call prologue
 *   p11_mech.c		mechanisms and the state of an operation
 *   p11_sign.c p11_decrypt.c p11_digest.c p11_derive.c p11_write.c p11_token.c
 *   p11_api.c		C_Initialize, C_Finalize, the function lists
 *
 * Locking: one module lock guards initialisation and the slot table;
 * each slot has its own lock, held around everything that touches its
 * token (card I/O, objects, sessions, login state).  Session handles
 * carry their slot index, so a call takes the module lock only briefly.
 */
#ifndef USBPIV_P11_H
#define USBPIV_P11_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "p11_compat.h"
#include "../piv/piv.h"

#define P11_MAX_SLOTS		16
#define P11_MAX_SESSIONS	64	/* per slot */
#define P11_NKEYS		25	/* 9a 9c 9d 9e 82..95 f9 */
#define P11_NDATA		6
#define P11_OP_MS		30000	/* time budget of one card call */
/* On-card key generation and signatures that wait for a touch: slow
 * cards take minutes (libccid gives the eToken Fusion NFC 5). */
#define P11_SLOW_MS		300000
#define P11_SIG_MAX		1024
#define P11_PRESENCE_MS		1000	/* reader's word on presence kept */
#define P11_PIN_KEPT_MAX	8	/* PIV PINs are 6 to 8 bytes */

/* ---- transport seam ------------------------------------------------------
 * The slot manager sees reader slots and PIV handles only.  The default
 * backend is the real stack (usb -> ccid -> piv); tests install one that
 * talks to in-process software cards.  All return 0 or a PIV_ERR_*.
 */
struct p11_reader_info {
	char id[64];		/* stable across re-plug */
	char desc[64];
	char manuf[32];
};

struct p11_backend {
	int (*init)(void **ctx);
	void (*fini)(void **ctx);
	/* Reader slots attached now. */
	int (*list)(void *ctx, struct p11_reader_info *out, size_t max,
	    size_t *n);
	/* A PIV handle on the card in reader slot `id`; PIV_ERR_REMOVED when
	 * no card is there. */
	int (*connect)(void *ctx, const char *id, piv_card_t **card,
	    void **conn);
	void (*disconnect)(void *ctx, void **conn, piv_card_t **card);
	/* 1 card present, 0 absent, -1 cannot tell now (busy); no APDU.
	 * conn may be NULL.  What the reader said less than max_age_ms ago
	 * is taken as it is (-1: any age will do). */
	int (*present)(void *ctx, const char *id, void *conn, int max_age_ms);
	/* Waits up to *ms for a reader or card change: 1 changed, 0 not. */
	int (*wait)(void *ctx, int *ms);
	/* Changes whenever the card may have lost its state (reset,
	 * another process used it).  */
	uint64_t (*generation)(void *ctx, void *conn);
};

extern const struct p11_backend p11_backend_usb;
/* Test hook (not exported from the .so): the backend C_Initialize uses;
 * NULL restores the default. */
void p11_set_backend(const struct p11_backend *be);

/* ---- locks (pthreads or the application's callbacks) -------------------- */
CK_RV p11_mutex_new(void **m);
void p11_mutex_free(void **m);
void p11_lock(void *m);
void p11_unlock(void *m);

/* ---- objects -------------------------------------------------------------- */
enum { P11_CERT_UNKNOWN = 0, P11_CERT_ABSENT, P11_CERT_PRESENT };

/* A public key's attribute values, built once (p11_pubenc.c). */
struct p11_pubenc {
	uint8_t *spki;		/* DER SubjectPublicKeyInfo; NULL: not built */
	size_t spki_len;
	size_t pt_off, pt_len;	/* in spki: EC point, raw Ed/X25519 key, or
				 * the RSA modulus without its sign octet */
	size_t e_off, e_len;	/* in spki: the RSA public exponent */
	CK_ULONG bits;		/* RSA modulus bits */
	uint8_t alg;
};

/* Where a certificate's fields are in its DER (whole TLVs; key: the
 * subjectPublicKey bits after the unused-bits octet). */
struct p11_certf {
	size_t serial_off, serial_len;
	size_t issuer_off, issuer_len;
	size_t subject_off, subject_len;
	size_t spki_off, spki_len;
	size_t key_off, key_len;
};

struct p11_key {
	uint8_t ref;		/* PIV key reference */
	int has_key;
	struct piv_metadata md;	/* alg, policies, origin; md.pub may be NULL */
	int md_real;		/* md from METADATA (else guessed from cert) */
	int probed;		/* METADATA asked (has_key is the card's word);
				 * else has_key may be guessed from the cert */
	struct p11_pubenc enc;	/* cached public-key encodings */
	int cert_state;
	uint8_t *cert_der;	/* P11_CERT_PRESENT: the certificate as read */
	size_t cert_der_len;
	struct p11_certf certf;
	X509 *cert;		/* decoded from cert_der when needed; use
				 * p11_key_cert() */
	int attest_state;
	X509 *attest;
};

struct p11_data {
	uint32_t tag;
	int state;		/* P11_CERT_* */
	uint8_t *value;
	size_t len;
};

/* Object handles: kind << 8 | index. */
enum { P11_OBJ_CERT = 1, P11_OBJ_PUB, P11_OBJ_PRIV, P11_OBJ_ATTEST,
    P11_OBJ_DATA, P11_OBJ_SECRET };
#define P11_MAX_SECRETS	8	/* derived session keys per session */

struct p11_secret {
	uint8_t *value;		/* NULL: free entry */
	size_t len;
	CK_KEY_TYPE kt;
};
#define P11_HANDLE(kind, idx)	\
	((CK_OBJECT_HANDLE)(((CK_OBJECT_HANDLE)(kind) << 8) | (CK_OBJECT_HANDLE)(idx)))
#define P11_KIND(h)		((int)(((h) >> 8) & 0xff))
#define P11_INDEX(h)		((size_t)((h) & 0xff))

/* ---- sessions and operations ---------------------------------------------- */
enum p11_op {
	P11_OP_NONE = 0, P11_OP_FIND, P11_OP_SIGN, P11_OP_VERIFY,
	P11_OP_DECRYPT, P11_OP_ENCRYPT, P11_OP_DIGEST, P11_OP_COUNT
};

#define P11_MODE_SINGLE	1	/* C_Sign, C_Digest, ... */
#define P11_MODE_MULTI	2	/* ...Update, ...Final */

struct p11_opstate {
	CK_MECHANISM_TYPE mech;
	CK_OBJECT_HANDLE key;
	int keyidx;
	const EVP_MD *md;	/* hash for *_SHAx mechanisms / PSS / OAEP */
	const EVP_MD *mgf1;
	size_t salt;
	const uint8_t *label;	/* OAEP (copied) */
	uint8_t *label_buf;
	size_t label_len;
	EVP_MD_CTX *mdctx;	/* multi-part hashing */
	uint8_t *buf;		/* multi-part accumulation (raw mechanisms) */
	size_t len;
	uint8_t res[P11_SIG_MAX];	/* decrypted result (wiped) */
	size_t reslen;
	int have_res;
	int active;
	int mode;		/* 0 undecided, P11_MODE_SINGLE or _MULTI */
	int ctx_auth;		/* always-authenticate key, context login done */
};

struct p11_session {
	CK_SESSION_HANDLE h;
	CK_FLAGS flags;
	uint64_t epoch;		/* token epoch at open */
	struct p11_opstate op[P11_OP_COUNT];
	CK_OBJECT_HANDLE *found;
	size_t nfound, foundpos;
	struct p11_secret secrets[P11_MAX_SECRETS];
};

/* ---- slots ----------------------------------------------------------------- */
struct p11_slot {
	void *lock;
	int used;
	struct p11_reader_info reader;
	int attached;		/* reader present */
	void *conn;
	piv_card_t *card;
	int token_present;
	int ev_seen;		/* presence last reported by WaitForSlotEvent */
	char why[40];		/* why the last connection failed, or "" */
	uint64_t epoch;		/* bumped at every insertion and removal */
	/* token information, read once per insertion */
	struct piv_identity id;
	int id_loaded;
	int pin_tries, puk_tries;	/* -1 unknown */
	int pin_known;			/* pin_tries read at pin_at, pin_gen */
	uint64_t pin_at, pin_gen;
	int mgm_alg;			/* 0 unknown: 3DES, else from 9B */
	/* objects */
	int keys_loaded;
	uint64_t keys_gen;	/* card generation the caches belong to */
	int md_none;		/* the card has no METADATA (before 5.3) */
	int retired_n;		/* 1 + retired keys per Key History; 0 unknown */
	struct p11_key keys[P11_NKEYS];
	struct p11_data data[P11_NDATA];
	/* login */
	int user_in, so_in;
	uint64_t login_gen;
	uint8_t *pin_kept;	/* the PIN of C_Login (util_secmem), or NULL */
	size_t pin_kept_len;
	uint64_t pin_ev;	/* piv_pin_events() when it was kept */
	int pin_full;		/* most PIN tries the card reported */
	/* sessions */
	struct p11_session *sess[P11_MAX_SESSIONS];
	size_t nsess, nrw;
	uint32_t next_sess;
};

struct p11_module {
	int initialized;
	pid_t pid;
	void *lock;
	const struct p11_backend *be;
	void *be_ctx;
	struct p11_slot slots[P11_MAX_SLOTS];
	size_t nslots;
	int id_style;		/* CKA_IDs: 0 ykcs11, 1 opensc */
	int compat;		/* names (USBPIV_COMPAT): P11_COMPAT_* */
	int relogin;		/* keep the PIN to log in again (USBPIV_RELOGIN) */
	int retired_all;	/* USBPIV_RETIRED=all: probe 82..95 */
	int attest;		/* USBPIV_ATTEST=1: F9 and attestations */
	int finalizing;
	int waiters;		/* threads in C_WaitForSlotEvent */
};

/* Whose names the token and its objects carry (USBPIV_COMPAT). */
enum { P11_COMPAT_USBPIV = 0, P11_COMPAT_YKCS11, P11_COMPAT_OPENSC };

extern struct p11_module p11_mod;
extern struct p11_module p11_abandoned;

/* ---- module (p11_module.c) ------------------------------------------------ */
CK_RV p11_check_init(void);
/* The locks p11_mutex_new makes: the application's callbacks in a (as
 * given to C_Initialize), or pthreads when a is NULL. */
void p11_mutex_use(const CK_C_INITIALIZE_ARGS *a);
/* Holds off C_Finalize's teardown while a call uses the module's state:
 * p11_enter (CKR_OK, or not initialized / being finalized), p11_leave.
 * p11_slot_get enters and p11_slot_release leaves. */
CK_RV p11_enter(void);
void p11_leave(void);
/* C_Finalize: waits for the calls inside (p11_gate_close), frees, opens. */
void p11_gate_close(void);
void p11_gate_open(void);
void p11_slot_release(struct p11_slot *slot);
CK_RV p11_slot_get(CK_SLOT_ID id, struct p11_slot **slot);
CK_RV p11_rv_from_piv(int r);
void p11_padded(CK_UTF8CHAR *dst, size_t n, const char *src);

/* ---- slot / token (p11_slot.c) --------------------------------------------- */
/* What a slot owns, freed: an operation's state, a session, the derived
 * keys of a session, the kept PIN, the login, the key and data caches. */
void p11_op_reset(struct p11_opstate *op);
void p11_session_free(struct p11_session **s);
void p11_secrets_free(struct p11_session *s);
void p11_pin_forget(struct p11_slot *slot);
void p11_logout_all(struct p11_slot *slot);
void p11_keys_clear(struct p11_slot *slot);
void p11_slots_refresh(void);
/* Records the presence at C_Initialize as already reported. */
void p11_events_baseline(void);
/* Checks the card is still there, connects on insertion. Slot locked. */
CK_RV p11_token_check(struct p11_slot *slot);
void p11_token_removed(struct p11_slot *slot);
void p11_sessions_purge(struct p11_slot *slot);
void p11_token_forget(struct p11_slot *slot);
CK_RV p11_token_load_info(struct p11_slot *slot);
/* Slot id locked, args_ok (else CKR_ARGUMENTS_BAD), the token there and
 * its identity read; released on failure. */
CK_RV p11_token_begin(CK_SLOT_ID id, int args_ok, struct p11_slot **slot);
/* PIN tries for C_GetTokenInfo's flags: one VERIFY without data, reused
 * for P11_PIN_INFO_MS within the same card generation. */
#define P11_PIN_INFO_MS	2000
void p11_token_pin_info(struct p11_slot *slot);
/* After a card call failed with r: a removal tears the token down. */
CK_RV p11_card_rv(struct p11_slot *slot, int r);

/* ---- objects (p11_object.c) --------------------------------------------- */
extern const uint8_t p11_key_refs[P11_NKEYS];
CK_RV p11_keys_load(struct p11_slot *slot);
int p11_key_index(uint8_t ref);
uint8_t p11_key_id(int idx);
int p11_key_from_id(const uint8_t *id, size_t len);
CK_KEY_TYPE p11_keytype(uint8_t alg);
/* The PIV algorithm of an OpenSSL key, 0 for one PIV does not have. */
uint8_t p11_alg_of(EVP_PKEY *pk);
int p11_object_exists(struct p11_slot *slot, CK_OBJECT_HANDLE h);
CK_RV p11_cert_load(struct p11_slot *slot, int idx);
int p11_key_always_auth(const struct p11_key *k);
/* Reads slot idx's METADATA unless known for this card generation. */
CK_RV p11_key_probe(struct p11_slot *slot, int idx);
/* The key or its certificate changed: its cached encodings are stale. */
void p11_key_pub_forget(struct p11_key *k);
/* Slot idx's public key as an OpenSSL key (NULL: none known). */
EVP_PKEY *p11_key_pkey(struct p11_slot *slot, int idx);
/* Slot idx's certificate, decoded (NULL: none, or undecodable). */
X509 *p11_key_cert(struct p11_key *k);
/* The certificate now in the slot (NULL: none); takes x over. */
CK_RV p11_key_cert_set(struct p11_key *k, X509 *x);
/* USBPIV_COMPAT=opensc token info as OpenSC's PIV emulation makes it:
 * the CN of the first certificate (9A 9C 9D 9E, retired) else "PIV_II";
 * the serial from the CHUID (FASC-N, or a non-zero GUID with an agency
 * code 9999 FASC-N), hex, its last 16 digits, else "00000000". */
CK_RV p11_opensc_label(struct p11_slot *slot, char *buf, size_t cap);
CK_RV p11_opensc_serial(struct p11_slot *slot, char *buf, size_t cap);
/* In a client's template: the attribute of that type (NULL: none); its
 * value as a CK_ULONG or a byte (1, 0 absent, -1 of another size). */
const CK_ATTRIBUTE *p11_find_attr(const CK_ATTRIBUTE *t, CK_ULONG n,
    CK_ATTRIBUTE_TYPE type);
int p11_attr_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    CK_ULONG *v);
int p11_attr_byte(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
    uint8_t *v);
/* The attributes of a derived session key (P11_OBJ_SECRET handle h). */
CK_RV p11_secret_attrs(struct p11_session *s, CK_OBJECT_HANDLE h,
    CK_ATTRIBUTE_PTR t, CK_ULONG n);

/* ---- the call prologue (p11_object.c) ------------------------------------ */
/* What a call needs before its own work; on CKR_OK the slot is locked
 * until p11_call_end. */
#define P11_NEED_TOKEN	 0x01	/* token there, login current, keys listed */
#define P11_NEED_WRITE	 0x02	/* ...and a read-write SO session; a token
				 * check that fails ends the session */
#define P11_GONE_REMOVED 0x04	/* a token gone: CKR_DEVICE_REMOVED */
#define P11_GONE_INVALID 0x08	/* a token gone: CKR_SESSION_HANDLE_INVALID */
#define P11_CALL_SESSION 0	/* the session alone (digest, random) */
#define P11_CALL_OBJECT	(P11_NEED_TOKEN | P11_GONE_INVALID)
#define P11_CALL_OP	(P11_NEED_TOKEN | P11_GONE_REMOVED)
#define P11_CALL_WRITE	(P11_NEED_TOKEN | P11_NEED_WRITE)
CK_RV p11_call_begin(CK_SESSION_HANDLE h, int need, struct p11_slot **slot,
    struct p11_session **s);
/* The same checks when the session is already held (slot locked). */
CK_RV p11_call_check(struct p11_slot *slot, struct p11_session *s, int need);
void p11_call_end(struct p11_slot *slot);

/* ---- mechanisms and operations (p11_mech.c) ------------------------------ */
enum { P11_FAM_RSA_PKCS, P11_FAM_RSA_X509, P11_FAM_RSA_PSS, P11_FAM_OAEP,
    P11_FAM_ECDSA, P11_FAM_EDDSA };
/* The mechanism's family (P11_FAM_*), -1 for one this module lacks. */
int p11_family(CK_MECHANISM_TYPE m);
/* The digest of a CKM_SHA* mechanism, NULL for another. */
const EVP_MD *p11_md_of_hashalg(CK_MECHANISM_TYPE h);
size_t p11_ec_bytes(uint8_t alg);
/* C_*Init of P11_OP_SIGN, _VERIFY, _DECRYPT or _ENCRYPT. */
CK_RV p11_op_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
    CK_OBJECT_HANDLE hKey, int which);
/* The calls after *Init: the operation `which` active, in `mode`
 * (P11_MODE_*; a mix ends it); slot locked on CKR_OK. */
CK_RV p11_op_begin(CK_SESSION_HANDLE h, int need, int which, int mode,
    struct p11_slot **slot, struct p11_opstate **op);
CK_RV p11_op_mode(struct p11_opstate *op, int mode);
/* Does a call that ended with rv keep the operation (a size query with
 * no output buffer, or a short buffer)? */
int p11_op_kept(CK_RV rv, const CK_BYTE *out);
/* The last step of an operation: out (NULL: size query) and its length. */
typedef CK_RV p11_final_fn(struct p11_slot *slot, struct p11_opstate *op,
    CK_BYTE_PTR out, CK_ULONG_PTR outlen);
/* C_*Final: fn, then the operation ends unless p11_op_kept. */
CK_RV p11_op_final(CK_SESSION_HANDLE h, int need, int which,
    p11_final_fn *fn, CK_BYTE_PTR out, CK_ULONG_PTR outlen);
/* One more part of the input (hashed, or collected up to a bound). */
CK_RV p11_op_update(struct p11_opstate *op, const uint8_t *p, size_t n);
/* The input to sign or verify: the digest, or what was collected. */
CK_RV p11_op_input(struct p11_opstate *op, uint8_t *dig, size_t cap,
    const uint8_t **in, size_t *inlen);
size_t p11_sig_len(struct p11_slot *slot, struct p11_opstate *op);
/* The time budget of a private-key operation with k. */
int p11_key_ms(const struct p11_key *k);

/* ---- public-key encodings (p11_pubenc.c): 0 or -1 ---------------------- */
/* key: EC point 04||X||Y, Ed25519/X25519 raw key, or RSA modulus (leading
 * zero octets allowed); e: RSA exponent.  Checked against alg. */
int p11_pubenc_build(uint8_t alg, const uint8_t *key, size_t keylen,
    const uint8_t *e, size_t elen, struct p11_pubenc *out);
/* From a public-key template's body (81 82, or 86). */
int p11_pubenc_from_tpl(uint8_t alg, const uint8_t *tpl, size_t len,
    struct p11_pubenc *out);
/* From the subjectPublicKey BIT STRING's content of an SPKI. */
int p11_pubenc_from_spki_key(uint8_t alg, const uint8_t *key, size_t len,
    struct p11_pubenc *out);
void p11_pubenc_clear(struct p11_pubenc *e);
/* The fields of a DER certificate (a structural walk, no decoding). */
int p11_cert_fields(const uint8_t *der, size_t len, struct p11_certf *f);

/* ---- sessions / login (p11_session.c) ------------------------------------- */
/* Locks the slot of hSession and finds the session; *slot locked on CKR_OK. */
CK_RV p11_session_get(CK_SESSION_HANDLE h, struct p11_slot **slot,
    struct p11_session **s);
CK_RV p11_session_valid(CK_SESSION_HANDLE h);
/* A login-only key was refused for want of the PIN: 0 when logged in
 * again with the kept PIN (retry once), -1 when logged out. */
int p11_login_lost(struct p11_slot *slot);
/* Before a private-key operation: re-checks login if the card's state may
 * have changed.  Slot locked. */
CK_RV p11_login_check(struct p11_slot *slot);

#endif
