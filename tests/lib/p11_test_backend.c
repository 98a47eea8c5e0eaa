/* SPDX-License-Identifier: MIT */
/* tests/lib/p11_test_backend.c — see p11_test_backend.h. */
#include "p11_test_backend.h"

/* String literals as PKCS#11 byte strings. */
CK_UTF8CHAR_PTR
U(const char *s)
{
	return (CK_UTF8CHAR_PTR)(uintptr_t)s;
}

struct tb_card tb_cards[TB_MAX];
size_t tb_ncards;
/* The largest time budget an APDU with this INS was sent with. */
int tb_ins_ms[256];
int tb_wait_calls;

static int
tb_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct tb_card *c = h;

	(void)secret;
	*rlen = 0;
	if (clen >= 2 && *ms > tb_ins_ms[capdu[1]])
		tb_ins_ms[capdu[1]] = *ms;
	if (c->fail_next) {
		c->fail_next = 0;
		c->present = 0;
	}
	if (!c->present || c->vc == NULL)
		return PIV_ERR_REMOVED;
	return vcard_apdu(c->vc, capdu, clen, rapdu, cap, rlen) == 0 ? 0 :
	    PIV_ERR_TRANSPORT;
}

static uint64_t
tb_io_gen(void *h)
{
	return ((struct tb_card *)h)->gen;
}

static int
tb_note_pin(void *h)
{
	((struct tb_card *)h)->pin_ev++;
	return 0;
}

static uint64_t
tb_pin_events(void *h)
{
	return ((struct tb_card *)h)->pin_ev;
}

static const piv_io_t tb_io = {
	.transmit = tb_transmit,
	.generation = tb_io_gen,
	.note_pin = tb_note_pin,
	.pin_events = tb_pin_events,
	.extended = 1,
};

static int
tb_init(void **ctx)
{
	*ctx = tb_cards;
	return 0;
}

static void
tb_fini(void **ctx)
{
	*ctx = NULL;
}

static int
tb_list(void *ctx, struct p11_reader_info *out, size_t max, size_t *n)
{
	size_t i;

	(void)ctx;
	*n = 0;
	for (i = 0; i < tb_ncards && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].id, sizeof(out[i].id), "vcard%zu", i);
		snprintf(out[i].desc, sizeof(out[i].desc), "Virtual reader %zu",
		    i);
		snprintf(out[i].manuf, sizeof(out[i].manuf), "usbpiv tests");
		(*n)++;
	}
	return 0;
}

static struct tb_card *
tb_by_id(const char *id)
{
	size_t i;
	char buf[32];

	for (i = 0; i < tb_ncards; i++) {
		snprintf(buf, sizeof(buf), "vcard%zu", i);
		if (strcmp(buf, id) == 0)
			return &tb_cards[i];
	}
	return NULL;
}

static int
tb_connect(void *ctx, const char *id, piv_card_t **card, void **conn)
{
	struct tb_card *c = tb_by_id(id);

	(void)ctx;
	*card = NULL;
	*conn = NULL;
	if (c == NULL || !c->present)
		return PIV_ERR_REMOVED;
	if (piv_new(card, &tb_io, c) != 0)
		return PIV_ERR_NOMEM;
	*conn = c;
	return 0;
}

static void
tb_disconnect(void *ctx, void **conn, piv_card_t **card)
{
	(void)ctx;
	piv_free(card);
	*conn = NULL;
}

static int
tb_present(void *ctx, const char *id, void *conn, int max_age_ms)
{
	struct tb_card *c = tb_by_id(id);

	(void)ctx;
	(void)conn;
	(void)max_age_ms;
	return c != NULL && c->present;
}

static int
tb_wait(void *ctx, int *ms)
{
	(void)ctx;
	tb_wait_calls++;
	util_sleep_ms(*ms > 20 ? 20 : *ms);
	*ms = 0;
	return 0;
}

static uint64_t
tb_gen(void *ctx, void *conn)
{
	(void)ctx;
	return conn != NULL ? ((struct tb_card *)conn)->gen : 0;
}

static const struct p11_backend tb_backend = {
	.init = tb_init,
	.fini = tb_fini,
	.list = tb_list,
	.connect = tb_connect,
	.disconnect = tb_disconnect,
	.present = tb_present,
	.wait = tb_wait,
	.generation = tb_gen,
};

/* n fresh factory cards, installed as the module's backend. */
void
tb_setup(size_t n)
{
	size_t i;

	assert_true(n <= TB_MAX);
	for (i = 0; i < n; i++) {
		struct vcard_opts o;

		memset(&o, 0, sizeof(o));
		o.serial = 1000 + (uint32_t)i;
		memset(&tb_cards[i], 0, sizeof(tb_cards[i]));
		assert_int_equal(vcard_new(&tb_cards[i].vc, &o), 0);
		tb_cards[i].present = 1;
		tb_cards[i].gen = 1;
	}
	tb_ncards = n;
	p11_set_backend(&tb_backend);
}

void
tb_teardown(void)
{
	size_t i;

	for (i = 0; i < tb_ncards; i++)
		vcard_free(&tb_cards[i].vc);
	tb_ncards = 0;
	p11_set_backend(NULL);
}

/* A second PIV handle on card i ("another process"). */
piv_card_t *
tb_other(size_t i)
{
	piv_card_t *p = NULL;

	assert_int_equal(piv_new(&p, &tb_io, &tb_cards[i]), 0);
	return p;
}

/* Another program used the card and reset it: login state is gone. */
void
tb_other_process_reset(size_t i)
{
	vcard_reset(tb_cards[i].vc);
	tb_cards[i].gen++;
}

/* Another usbpiv process changed the PIN: it recorded the event. */
void
tb_other_process_pin_event(size_t i)
{
	tb_cards[i].pin_ev++;
	tb_cards[i].gen++;
}

const uint8_t tb_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

/* Generates a key straight on card i (through its own PIV handle). */
EVP_PKEY *
tb_genkey(size_t i, uint8_t slot, uint8_t alg, uint8_t pinpol)
{
	piv_card_t *p = tb_other(i);
	EVP_PKEY *pub = NULL;
	int ms = 30000;

	assert_int_equal(piv_auth_mgm(p, PIV_ALG_3DES, tb_mgm, sizeof(tb_mgm),
	    &ms), 0);
	assert_int_equal(piv_generate(p, slot, alg, pinpol, 0, &pub, &ms), 0);
	/* as usbpiv keygen does: retired slots are found through the Key
	 * History object */
	assert_int_equal(piv_key_history_note(p, slot, &ms), 0);
	piv_free(&p);
	return pub;
}

/* A self-signed certificate for pub (signed by a throwaway key). */
X509 *
tb_cert_for(EVP_PKEY *pub, const char *cn)
{
	EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *nm = X509_NAME_new();

	assert_non_null(ca);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, nm);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pub);
	assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
	X509_NAME_free(nm);
	EVP_PKEY_free(ca);
	return x;
}

void
tb_putcert(size_t i, uint8_t slot, X509 *x)
{
	piv_card_t *p = tb_other(i);
	int ms = 30000;

	assert_int_equal(piv_auth_mgm(p, PIV_ALG_3DES, tb_mgm, sizeof(tb_mgm),
	    &ms), 0);
	assert_int_equal(piv_write_cert(p, slot, x, 0, &ms), 0);
	piv_free(&p);
}

/* C_Initialize + the first slot + a session. */
CK_SESSION_HANDLE
tb_open(CK_FLAGS extra)
{
	CK_SESSION_HANDLE h = 0;

	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION | extra, NULL,
	    NULL, &h), CKR_OK);
	return h;
}

CK_OBJECT_HANDLE
tb_find1(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, uint8_t id)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, &id, 1 },
	};
	CK_OBJECT_HANDLE o[4];
	CK_ULONG n = 0;

	assert_int_equal(C_FindObjectsInit(h, t, 2), CKR_OK);
	assert_int_equal(C_FindObjects(h, o, 4, &n), CKR_OK);
	assert_int_equal(C_FindObjectsFinal(h), CKR_OK);
	assert_int_equal(n, 1);
	return o[0];
}

CK_ULONG
tb_count(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG tn)
{
	CK_OBJECT_HANDLE o[128];
	CK_ULONG n = 0;

	assert_int_equal(C_FindObjectsInit(h, t, tn), CKR_OK);
	assert_int_equal(C_FindObjects(h, o, 128, &n), CKR_OK);
	assert_int_equal(C_FindObjectsFinal(h), CKR_OK);
	return n;
}

