/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/share_soak.c — one token, several processes, several
 * threads each, no daemon.  Built and run by share_soak.sh.
 *
 *   share_soak MODULE PUBKEY.pem THREADS COUNT [PIN]
 *
 * dlopens the module, C_Initialize with CKF_OS_LOCKING_OK, then THREADS
 * threads, each with its own session (the first logs in: the login is the
 * token's, shared by the sessions), make COUNT ECDSA P-256 signatures of
 * distinct hashes with the key whose CKA_ID is 01, and verify every one
 * with OpenSSL against PUBKEY.pem.  A call that fails is counted (by its
 * return value); a session that is lost (CKR_SESSION_HANDLE_INVALID,
 * CKR_DEVICE_REMOVED, CKR_USER_NOT_LOGGED_IN) is counted apart.  Prints
 * one line: "soak: pid P ok N failed F lost L bad B ms T busy K"; exit 0
 * only when every signature was made and verified.
 *
 *   share_soak pinchange MODULE READY GO NEWPIN
 *
 * Logs in with 123456 and signs; creates READY; waits (up to 60 s) for GO
 * to exist (another program changes the PIN meanwhile); signs again,
 * which must work or say CKR_USER_NOT_LOGGED_IN — never cost a PIN try —
 * then logs in with NEWPIN if needed and signs.  Prints what it saw.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slot;
static EVP_PKEY *pub;
static long count;
static const char *pin = "123456";
static long n_ok, n_fail, n_lost, n_bad, n_busy;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
add(long *c)
{
	pthread_mutex_lock(&mu);
	(*c)++;
	pthread_mutex_unlock(&mu);
}

/* r || s (32 + 32) against the public key, with OpenSSL. */
static int
verify(const CK_BYTE *hash, const CK_BYTE *sig, CK_ULONG len)
{
	ECDSA_SIG *es = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char *der = NULL;
	BIGNUM *r, *s;
	int dlen, ok = 0;

	if (len != 64)
		return 0;
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if ((es = ECDSA_SIG_new()) == NULL || r == NULL || s == NULL ||
	    !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	if ((dlen = i2d_ECDSA_SIG(es, &der)) <= 0 ||
	    (ctx = EVP_PKEY_CTX_new(pub, NULL)) == NULL ||
	    EVP_PKEY_verify_init(ctx) <= 0)
		goto out;
	ok = EVP_PKEY_verify(ctx, der, (size_t)dlen, hash, 32) == 1;
out:
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok;
}

static int
lost(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_DEVICE_REMOVED ||
	    rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_SESSION_CLOSED ||
	    rv == CKR_TOKEN_NOT_PRESENT;
}

static void *
worker(void *arg)
{
	long id = (long)(intptr_t)arg, i;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BYTE kid[] = { 0x01 }, hash[32], sig[128];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, kid, sizeof(kid) },
	};
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_ULONG found = 0, sl;
	CK_RV rv;

	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) !=
	    CKR_OK) {
		pthread_mutex_lock(&mu);
		n_fail += count;
		pthread_mutex_unlock(&mu);
		return NULL;
	}
	if (f->C_FindObjectsInit(s, t, 2) != CKR_OK ||
	    f->C_FindObjects(s, &key, 1, &found) != CKR_OK || found != 1) {
		fprintf(stderr, "soak: thread %ld: no key\n", id);
		pthread_mutex_lock(&mu);
		n_fail += count;
		pthread_mutex_unlock(&mu);
		return NULL;
	}
	(void)f->C_FindObjectsFinal(s);
	for (i = 0; i < count; i++) {
		memset(hash, 0, sizeof(hash));
		memcpy(hash, &id, sizeof(id));
		memcpy(hash + 8, &i, sizeof(i));
		hash[31] = (CK_BYTE)getpid();
		sl = sizeof(sig);
		if ((rv = f->C_SignInit(s, &m, key)) == CKR_OK)
			rv = f->C_Sign(s, hash, sizeof(hash), sig, &sl);
		if (rv == CKR_OK && verify(hash, sig, sl))
			add(&n_ok);
		else if (rv == CKR_OK)
			add(&n_bad);
		else if (lost(rv)) {
			fprintf(stderr, "soak: thread %ld: lost (0x%lx)\n", id,
			    (unsigned long)rv);
			add(&n_lost);
		} else {
			if (rv == CKR_DEVICE_ERROR)
				add(&n_busy);	/* waited too long: busy */
			add(&n_fail);
		}
	}
	(void)f->C_CloseSession(s);
	return NULL;
}

static CK_RV
sign_once(CK_SESSION_HANDLE s)
{
	CK_OBJECT_HANDLE key;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BYTE kid[] = { 0x01 }, hash[32] = { 7 }, sig[128];
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, kid, sizeof(kid) },
	};
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_ULONG found = 0, sl = sizeof(sig);
	CK_RV rv;

	if ((rv = f->C_FindObjectsInit(s, t, 2)) != CKR_OK)
		return rv;
	rv = f->C_FindObjects(s, &key, 1, &found);
	(void)f->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		return rv;
	if (found != 1)
		return CKR_USER_NOT_LOGGED_IN;	/* private key not visible */
	if ((rv = f->C_SignInit(s, &m, key)) != CKR_OK)
		return rv;
	return f->C_Sign(s, hash, sizeof(hash), sig, &sl);
}

static int
pinchange(int argc, char **argv)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	CK_SLOT_ID slots[16];
	CK_ULONG nslots = 16;
	CK_SESSION_HANDLE s;
	CK_RV rv, after;
	FILE *fp;
	void *h;
	int i;

	if (argc < 6)
		return 2;
	if ((h = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL)) == NULL)
		return 1;
	*(void **)&get = dlsym(h, "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK || f->C_Initialize(NULL) !=
	    CKR_OK || f->C_GetSlotList(CK_TRUE, slots, &nslots) != CKR_OK ||
	    nslots == 0 || f->C_OpenSession(slots[0], CKF_SERIAL_SESSION,
	    NULL, NULL, &s) != CKR_OK)
		return 1;
	if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"123456", 6)) !=
	    CKR_OK || (rv = sign_once(s)) != CKR_OK) {
		fprintf(stderr, "pinchange: before: 0x%lx\n",
		    (unsigned long)rv);
		return 1;
	}
	if ((fp = fopen(argv[3], "w")) == NULL)
		return 1;
	fclose(fp);
	for (i = 0; i < 6000 && access(argv[4], F_OK) != 0; i++)
		usleep(10000);
	after = sign_once(s);
	printf("pinchange: pid %ld: sign after the change: 0x%lx\n",
	    (long)getpid(), (unsigned long)after);
	if (after != CKR_OK && after != CKR_USER_NOT_LOGGED_IN)
		return 1;
	if (after != CKR_OK && (rv = f->C_Login(s, CKU_USER,
	    (CK_UTF8CHAR_PTR)argv[5], strlen(argv[5]))) != CKR_OK) {
		fprintf(stderr, "pinchange: login with the new PIN: 0x%lx\n",
		    (unsigned long)rv);
		return 1;
	}
	if ((rv = sign_once(s)) != CKR_OK) {
		fprintf(stderr, "pinchange: sign with the new PIN: 0x%lx\n",
		    (unsigned long)rv);
		return 1;
	}
	(void)f->C_Finalize(NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	CK_C_INITIALIZE_ARGS ia;
	CK_SLOT_ID slots[16];
	CK_ULONG nslots = 16;
	CK_SESSION_HANDLE s0;
	pthread_t th[64];
	long nth, i, t0;
	FILE *fp;
	void *h;

	if (argc > 1 && strcmp(argv[1], "pinchange") == 0)
		return pinchange(argc, argv);
	if (argc < 5 || (nth = strtol(argv[3], NULL, 10)) < 1 || nth > 64 ||
	    (count = strtol(argv[4], NULL, 10)) < 1) {
		fputs("usage: share_soak MODULE PUB.pem THREADS COUNT [PIN]\n",
		    stderr);
		return 2;
	}
	if (argc > 5)
		pin = argv[5];
	if ((fp = fopen(argv[2], "r")) == NULL ||
	    (pub = PEM_read_PUBKEY(fp, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "soak: cannot read %s\n", argv[2]);
		return 1;
	}
	fclose(fp);
	if ((h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "soak: %s\n", dlerror());
		return 1;
	}
	*(void **)&get = dlsym(h, "C_GetFunctionList");
	if (get == NULL || get(&f) != CKR_OK)
		return 1;
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	if (f->C_Initialize(&ia) != CKR_OK ||
	    f->C_GetSlotList(CK_TRUE, slots, &nslots) != CKR_OK ||
	    nslots == 0) {
		fprintf(stderr, "soak: no token\n");
		return 1;
	}
	slot = slots[0];
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s0) !=
	    CKR_OK || f->C_Login(s0, CKU_USER,
	    (CK_UTF8CHAR_PTR)(uintptr_t)pin, strlen(pin)) != CKR_OK) {
		fprintf(stderr, "soak: login failed\n");
		return 1;
	}
	t0 = now_ms();
	for (i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker,
		    (void *)(intptr_t)i) != 0)
			return 1;
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	printf("soak: pid %ld ok %ld failed %ld lost %ld bad %ld ms %ld "
	    "busy %ld\n", (long)getpid(), n_ok, n_fail, n_lost, n_bad,
	    now_ms() - t0, n_busy);
	(void)f->C_CloseSession(s0);
	(void)f->C_Finalize(NULL);
	EVP_PKEY_free(pub);
	return n_ok == nth * count ? 0 : 1;
}
