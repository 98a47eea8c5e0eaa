/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_p11_stack.c — the PKCS#11 module end to end over a card whose
 * every answer comes from the input (fuzz/fuzz_card.h: a piv_io_t under
 * the real piv/ layer, installed through the module's backend seam,
 * p11_set_backend).
 *
 * One input is one application's life: C_Initialize, the slot list, slot,
 * token and mechanism information, a session, every object found and
 * every attribute read (length, then value), C_Login, per private key
 * RSA PKCS#1 and PSS signatures, ECDSA (single and multi-part), EdDSA,
 * RSA PKCS#1 and OAEP decryption, ECDH derivation (the derived value
 * read back), C_Logout, C_Finalize.  Attributes are read as applications
 * read them: a template of all of them, lengths first.
 *
 * The first input byte configures the module and transport:
 *   bits 0-1  USBPIV_COMPAT: 0/3 usbpiv, 1 ykcs11, 2 opensc
 *   bit 2     USBPIV_RETIRED=all      bit 3  USBPIV_ATTEST=1
 *   bit 4     short APDUs only        bit 5  USBPIV_RELOGIN=off
 *   bit 6     then an SO session: C_Login(CKU_SO) with the management
 *             key, C_GenerateKeyPair EC P-256 and RSA-2048, the new
 *             objects' attributes
 * then come the card's answers (see fuzz_card.h).
 *
 * Record mode (FUZZ_RECORD=file, FUZZ_RECORD_CFG=byte): the same script
 * over the software card, its answers written as a seed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "../pkcs11/p11.h"
#include "../pkcs11/usbpiv-pkcs11.h"
#include "fuzz_card.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_OBJ	256
#define FZ_ATTR_MAX	(1u << 20)

static const piv_io_t *fz_io = &fc_io_ext;

/* ---- the backend: one reader, the fuzzed card in it ---------------------- */

static int
fz_init(void **ctx)
{
	*ctx = &fc;
	return 0;
}

static void
fz_fini(void **ctx)
{
	*ctx = NULL;
}

static int
fz_list(void *ctx, struct p11_reader_info *out, size_t max, size_t *n)
{
	(void)ctx;
	*n = 0;
	if (max == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "fuzz/0");
	snprintf(out->desc, sizeof(out->desc), "Fuzzed reader");
	snprintf(out->manuf, sizeof(out->manuf), "usbpiv fuzz");
	*n = 1;
	return 0;
}

/* As the USB backend: a token is a card that answers the PIV SELECT. */
static int
fz_connect(void *ctx, const char *id, piv_card_t **card, void **conn)
{
	int r, ms = P11_OP_MS;

	(void)ctx;
	(void)id;
	*conn = NULL;
	*card = NULL;
	if (piv_new(card, fz_io, &fc) != 0)
		return PIV_ERR_NOMEM;
	if ((r = piv_begin(*card, &ms)) == 0) {
		r = piv_select(*card, &ms);
		(void)piv_end(*card);
	}
	if (r != 0) {
		piv_free(card);
		return r;
	}
	*conn = &fc;
	return 0;
}

static void
fz_disconnect(void *ctx, void **conn, piv_card_t **card)
{
	(void)ctx;
	piv_free(card);
	*conn = NULL;
}

static int
fz_present(void *ctx, const char *id, void *conn, int max_age_ms)
{
	(void)ctx;
	(void)id;
	(void)conn;
	(void)max_age_ms;
	return 1;
}

static int
fz_wait(void *ctx, int *ms)
{
	(void)ctx;
	*ms = 0;
	return 0;
}

static uint64_t
fz_gen(void *ctx, void *conn)
{
	(void)ctx;
	return conn != NULL ? 1 : 0;
}

static const struct p11_backend fz_backend = {
	.init = fz_init,
	.fini = fz_fini,
	.list = fz_list,
	.connect = fz_connect,
	.disconnect = fz_disconnect,
	.present = fz_present,
	.wait = fz_wait,
	.generation = fz_gen,
};

/* ---- the script ----------------------------------------------------------- */

static CK_UTF8CHAR fz_pin[] = "123456";

/* ECDH peers: the generators of P-256 and P-384, the X25519 base point. */
static uint8_t fz_p256[65], fz_p384[97], fz_x25519[32];
static size_t fz_p256_len, fz_p384_len;

static size_t
fz_generator(int nid, uint8_t *out, size_t cap)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
	size_t n;

	if (g == NULL)
		abort();
	n = EC_POINT_point2oct(g, EC_GROUP_get0_generator(g),
	    POINT_CONVERSION_UNCOMPRESSED, out, cap, NULL);
	EC_GROUP_free(g);
	if (n == 0)
		abort();
	return n;
}

/* Every attribute the module knows, and a few it does not. */
static const CK_ATTRIBUTE_TYPE fz_attrs[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_APPLICATION,
	CKA_VALUE, CKA_OBJECT_ID, CKA_CERTIFICATE_TYPE, CKA_ISSUER,
	CKA_SERIAL_NUMBER, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY,
	CKA_KEY_TYPE, CKA_SUBJECT, CKA_ID, CKA_SENSITIVE, CKA_ENCRYPT,
	CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_SIGN_RECOVER,
	CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_DERIVE, CKA_START_DATE,
	CKA_END_DATE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
	CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1,
	CKA_EXPONENT_2, CKA_COEFFICIENT, CKA_PUBLIC_KEY_INFO, CKA_VALUE_LEN,
	CKA_EXTRACTABLE, CKA_LOCAL, CKA_NEVER_EXTRACTABLE,
	CKA_ALWAYS_SENSITIVE, CKA_KEY_GEN_MECHANISM, CKA_MODIFIABLE,
	CKA_COPYABLE, CKA_DESTROYABLE, CKA_EC_PARAMS, CKA_EC_POINT,
	CKA_ALWAYS_AUTHENTICATE, CKA_WRAP_WITH_TRUSTED, CKA_URL,
	CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_HASH_OF_ISSUER_PUBLIC_KEY,
	CKA_USBPIV_SLOT, CKA_USBPIV_PIN_POLICY, CKA_USBPIV_TOUCH_POLICY,
	CKA_CHECK_VALUE, CKA_VENDOR_DEFINED,
};

#define FZ_NATTRS	(sizeof(fz_attrs) / sizeof(fz_attrs[0]))

/*
 * Every attribute of o: one call for the lengths, one for the values (a
 * template, as applications read objects; the module answers each
 * attribute on its own, CKR_ATTRIBUTE_TYPE_INVALID or not).
 */
static void
fz_read_attrs(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
	CK_ATTRIBUTE a[FZ_NATTRS];
	CK_ULONG want[FZ_NATTRS];
	CK_RV rv;
	size_t i;

	for (i = 0; i < FZ_NATTRS; i++) {
		a[i].type = fz_attrs[i];
		a[i].pValue = NULL;
		a[i].ulValueLen = 0;
	}
	rv = C_GetAttributeValue(h, o, a, FZ_NATTRS);
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID &&
	    rv != CKR_ATTRIBUTE_SENSITIVE)
		return;
	for (i = 0; i < FZ_NATTRS; i++) {
		want[i] = a[i].ulValueLen;
		if (want[i] == CK_UNAVAILABLE_INFORMATION)
			continue;
		if (want[i] > FZ_ATTR_MAX)
			__builtin_trap();	/* no attribute is that large */
		if ((a[i].pValue = malloc(want[i] > 0 ? want[i] : 1)) == NULL)
			abort();
	}
	rv = C_GetAttributeValue(h, o, a, FZ_NATTRS);
	for (i = 0; i < FZ_NATTRS; i++) {
		/* what it said it would give, or nothing */
		if ((rv == CKR_OK || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
		    rv == CKR_ATTRIBUTE_SENSITIVE) && a[i].pValue != NULL &&
		    a[i].ulValueLen != want[i] &&
		    a[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
			__builtin_trap();
		free(a[i].pValue);
	}
}

/* Finds every object; returns how many (in objs). */
static CK_ULONG
fz_find_all(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *objs)
{
	CK_ULONG n = 0, got;

	if (C_FindObjectsInit(h, NULL, 0) != CKR_OK)
		return 0;
	while (n < FZ_MAX_OBJ) {
		got = 0;
		if (C_FindObjects(h, objs + n, FZ_MAX_OBJ - n > 7 ? 7 :
		    FZ_MAX_OBJ - n, &got) != CKR_OK || got == 0)
			break;
		if (got > 7)
			__builtin_trap();
		n += got;
	}
	(void)C_FindObjectsFinal(h);
	return n;
}

/* Single-part signature: length, then value. */
static void
fz_sign(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, CK_MECHANISM *m,
    const uint8_t *in, size_t inlen)
{
	uint8_t sig[P11_SIG_MAX];
	CK_ULONG len = 0, want;

	if (C_SignInit(h, m, k) != CKR_OK)
		return;
	(void)C_Login(h, CKU_CONTEXT_SPECIFIC, fz_pin, 6);
	if (C_Sign(h, (CK_BYTE_PTR)(uintptr_t)in, inlen, NULL, &len) !=
	    CKR_OK)
		return;
	if (len > sizeof(sig))
		__builtin_trap();
	want = len;
	if (C_Sign(h, (CK_BYTE_PTR)(uintptr_t)in, inlen, sig, &len) ==
	    CKR_OK && len > want)
		__builtin_trap();
}

/* Multi-part signature. */
static void
fz_sign_parts(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, CK_MECHANISM *m,
    const uint8_t *in, size_t inlen)
{
	uint8_t sig[P11_SIG_MAX];
	CK_ULONG len = sizeof(sig);

	if (C_SignInit(h, m, k) != CKR_OK)
		return;
	(void)C_Login(h, CKU_CONTEXT_SPECIFIC, fz_pin, 6);
	if (C_SignUpdate(h, (CK_BYTE_PTR)(uintptr_t)in, inlen / 2) !=
	    CKR_OK || C_SignUpdate(h, (CK_BYTE_PTR)(uintptr_t)in + inlen / 2,
	    inlen - inlen / 2) != CKR_OK)
		return;
	if (C_SignFinal(h, sig, &len) == CKR_OK && len > sizeof(sig))
		__builtin_trap();
}

static void
fz_decrypt(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, CK_MECHANISM *m)
{
	uint8_t ct[512], pt[512];
	CK_ULONG len = 0, want, bits = 0;
	CK_ATTRIBUTE a = { CKA_MODULUS_BITS, &bits, sizeof(bits) };

	if (C_GetAttributeValue(h, k, &a, 1) != CKR_OK || bits < 512 ||
	    bits > 4096)
		bits = 2048;
	memset(ct, 0x42, sizeof(ct));
	if (C_DecryptInit(h, m, k) != CKR_OK)
		return;
	(void)C_Login(h, CKU_CONTEXT_SPECIFIC, fz_pin, 6);
	if (C_Decrypt(h, ct, (bits + 7) / 8, NULL, &len) != CKR_OK)
		return;
	if (len > sizeof(pt))
		__builtin_trap();
	want = len;
	if (C_Decrypt(h, ct, (bits + 7) / 8, pt, &len) == CKR_OK &&
	    len > want)
		__builtin_trap();
}

static void
fz_derive(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, const uint8_t *peer,
    size_t peerlen)
{
	CK_ECDH1_DERIVE_PARAMS p;
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
	};
	CK_OBJECT_HANDLE dk = CK_INVALID_HANDLE;

	memset(&p, 0, sizeof(p));
	p.kdf = CKD_NULL;
	p.pPublicData = (CK_BYTE_PTR)(uintptr_t)peer;
	p.ulPublicDataLen = peerlen;
	if (C_DeriveKey(h, &m, k, t, 2, &dk) != CKR_OK)
		return;
	fz_read_attrs(h, dk);
	if (C_DestroyObject(h, dk) != CKR_OK)
		__builtin_trap();
}

static void
fz_private_ops(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
	static const uint8_t msg[64] = "usbpiv fuzz: a message to sign, "
	    "32 bytes hash-sized and more.";
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA256, CKG_MGF1_SHA256,
	    CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM m;

	m.pParameter = NULL;
	m.ulParameterLen = 0;
	m.mechanism = CKM_RSA_PKCS;
	fz_sign(h, k, &m, msg, 51);
	m.mechanism = CKM_SHA256_RSA_PKCS_PSS;
	m.pParameter = &pss;
	m.ulParameterLen = sizeof(pss);
	fz_sign_parts(h, k, &m, msg, sizeof(msg));
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	m.mechanism = CKM_ECDSA;
	fz_sign(h, k, &m, msg, 32);
	m.mechanism = CKM_ECDSA_SHA384;
	fz_sign_parts(h, k, &m, msg, sizeof(msg));
	m.mechanism = CKM_EDDSA;
	fz_sign(h, k, &m, msg, sizeof(msg));
	m.mechanism = CKM_RSA_PKCS;
	fz_decrypt(h, k, &m);
	m.mechanism = CKM_RSA_PKCS_OAEP;
	m.pParameter = &oaep;
	m.ulParameterLen = sizeof(oaep);
	fz_decrypt(h, k, &m);
	fz_derive(h, k, fz_p256, fz_p256_len);
	fz_derive(h, k, fz_p384, fz_p384_len);
	fz_derive(h, k, fz_x25519, sizeof(fz_x25519));
}

/* The SO (management key) generates an EC and an RSA key pair: the
 * card's public-key templates parsed into objects, read back. */
static void
fz_so(CK_SESSION_HANDLE h)
{
	static CK_UTF8CHAR mgm[] =
	    "010203040506070801020304050607080102030405060708";
	static const uint8_t p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	    0x3d, 0x03, 0x01, 0x07 };
	CK_MECHANISM ecm = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM rsam = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG bits = 2048;
	uint8_t ecid = 7, rsaid = 8;
	CK_ATTRIBUTE ect[] = {
		{ CKA_EC_PARAMS, (CK_VOID_PTR)(uintptr_t)p256, sizeof(p256) },
		{ CKA_ID, &ecid, 1 },
	};
	CK_ATTRIBUTE rsat[] = {
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_ID, &rsaid, 1 },
	};
	CK_OBJECT_HANDLE hp, hk;

	if (C_Login(h, CKU_SO, mgm, 48) != CKR_OK)
		return;
	hp = hk = CK_INVALID_HANDLE;
	if (C_GenerateKeyPair(h, &ecm, ect, 2, NULL, 0, &hp, &hk) == CKR_OK) {
		fz_read_attrs(h, hp);
		fz_read_attrs(h, hk);
	}
	hp = hk = CK_INVALID_HANDLE;
	if (C_GenerateKeyPair(h, &rsam, rsat, 2, NULL, 0, &hp, &hk) ==
	    CKR_OK) {
		fz_read_attrs(h, hp);
		fz_read_attrs(h, hk);
	}
	(void)C_Logout(h);
}

static void
fz_run(int so)
{
	static CK_OBJECT_HANDLE objs[FZ_MAX_OBJ];
	CK_SLOT_ID slots[8];
	CK_MECHANISM_TYPE mechs[64];
	CK_ULONG ns = 8, nm, n, i;
	CK_INFO info;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_MECHANISM_INFO mi;
	CK_SESSION_INFO ssi;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a;

	p11_set_backend(&fz_backend);
	if (C_Initialize(NULL) != CKR_OK)
		__builtin_trap();
	(void)C_GetInfo(&info);
	(void)C_GetSlotList(CK_TRUE, NULL, &ns);
	ns = 8;
	if (C_GetSlotList(CK_FALSE, slots, &ns) != CKR_OK || ns > 8)
		ns = 0;
	for (i = 0; i < ns; i++) {
		(void)C_GetSlotInfo(slots[i], &si);
		(void)C_GetTokenInfo(slots[i], &ti);
		nm = 64;
		if (C_GetMechanismList(slots[i], mechs, &nm) == CKR_OK &&
		    nm <= 64)
			for (n = 0; n < nm; n++)
				(void)C_GetMechanismInfo(slots[i], mechs[n],
				    &mi);
	}
	if (ns == 0 || C_OpenSession(slots[0], CKF_SERIAL_SESSION |
	    CKF_RW_SESSION, NULL, NULL, &h) != CKR_OK)
		goto fini;
	(void)C_GetSessionInfo(h, &ssi);
	n = fz_find_all(h, objs);
	for (i = 0; i < n; i++)
		fz_read_attrs(h, objs[i]);
	(void)C_Login(h, CKU_USER, fz_pin, 6);
	(void)C_GetTokenInfo(slots[0], &ti);
	n = fz_find_all(h, objs);
	for (i = 0; i < n; i++) {
		fz_read_attrs(h, objs[i]);
		a.type = CKA_CLASS;
		a.pValue = &cls;
		a.ulValueLen = sizeof(cls);
		if (C_GetAttributeValue(h, objs[i], &a, 1) == CKR_OK &&
		    cls == CKO_PRIVATE_KEY)
			fz_private_ops(h, objs[i]);
	}
	(void)C_Logout(h);
	if (so)
		fz_so(h);
	(void)C_CloseSession(h);
fini:
	if (C_Finalize(NULL) != CKR_OK)
		__builtin_trap();
}

/* Sets the environment and transport; returns the SO phase's bit. */
static int
fz_config(uint8_t cfg)
{
	static const char *compat[] = { NULL, "ykcs11", "opensc", NULL };

	if (compat[cfg & 3] != NULL)
		setenv("USBPIV_COMPAT", compat[cfg & 3], 1);
	else
		unsetenv("USBPIV_COMPAT");
	if (cfg & 4)
		setenv("USBPIV_RETIRED", "all", 1);
	else
		unsetenv("USBPIV_RETIRED");
	if (cfg & 8)
		setenv("USBPIV_ATTEST", "1", 1);
	else
		unsetenv("USBPIV_ATTEST");
	fz_io = cfg & 16 ? &fc_io_short : &fc_io_ext;
	if (cfg & 32)
		setenv("USBPIV_RELOGIN", "off", 1);
	else
		unsetenv("USBPIV_RELOGIN");
	return (cfg & 64) != 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e;

	(void)argc;
	(void)argv;
	unsetenv("USBPIV_DEBUG");
	unsetenv("USBPIV_ID_STYLE");
	fz_p256_len = fz_generator(NID_X9_62_prime256v1, fz_p256,
	    sizeof(fz_p256));
	fz_p384_len = fz_generator(NID_secp384r1, fz_p384, sizeof(fz_p384));
	memset(fz_x25519, 0, sizeof(fz_x25519));
	fz_x25519[0] = 9;
	if (fc_record_begin()) {
		e = getenv("FUZZ_RECORD_CFG");
		fz_run(fz_config(fc_byte((uint8_t)(e != NULL ?
		    strtoul(e, NULL, 0) : 0))));
		fc_record_end();
		exit(0);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fc_start(data, size);
	fz_run(fz_config(fc_byte(0)));
	return 0;
}
