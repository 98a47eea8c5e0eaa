/* SPDX-License-Identifier: MIT */
/*
 * bench/p11_sign_loop.c — build/bench/p11-sign-loop: a PKCS#11 client that
 * does one thing, for bench/fair.sh: on the first slot with a token, open
 * one session, log in, and make N ECDSA signatures of a 32-byte hash with
 * the private key whose CKA_ID is 01 (PIV slot 9A).  Prints nothing on
 * success; exit 1 with a message on the first failure.
 *
 *   p11-sign-loop MODULE [N [PIN]]      (N default 100, PIN 123456)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR f;

static void
check(CK_RV rv, const char *what)
{
	if (rv != CKR_OK) {
		fprintf(stderr, "p11-sign-loop: %s: 0x%08lx\n", what,
		    (unsigned long)rv);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	CK_SLOT_ID slots[16];
	CK_ULONG nslots = 16, found = 0, siglen;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_BYTE id[] = { 0x01 }, hash[32], sig[512];
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, id, sizeof(id) },
	};
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	const char *pin = argc > 3 ? argv[3] : "123456";
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 100, i;
	void *h;

	if (argc < 2 || n < 1) {
		fputs("usage: p11-sign-loop MODULE [N [PIN]]\n", stderr);
		return 2;
	}
	if ((h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "p11-sign-loop: %s\n", dlerror());
		return 1;
	}
	*(void **)&get = dlsym(h, "C_GetFunctionList");
	if (get == NULL) {
		fprintf(stderr, "p11-sign-loop: no C_GetFunctionList\n");
		return 1;
	}
	check(get(&f), "C_GetFunctionList");
	check(f->C_Initialize(NULL), "C_Initialize");
	check(f->C_GetSlotList(CK_TRUE, slots, &nslots), "C_GetSlotList");
	if (nslots == 0) {
		fprintf(stderr, "p11-sign-loop: no token\n");
		return 1;
	}
	check(f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s), "C_OpenSession");
	check(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)pin,
	    strlen(pin)), "C_Login");
	check(f->C_FindObjectsInit(s, tmpl, 2), "C_FindObjectsInit");
	check(f->C_FindObjects(s, &key, 1, &found), "C_FindObjects");
	check(f->C_FindObjectsFinal(s), "C_FindObjectsFinal");
	if (found != 1) {
		fprintf(stderr, "p11-sign-loop: no private key with ID 01\n");
		return 1;
	}
	for (i = 0; i < (long)sizeof(hash); i++)
		hash[i] = (CK_BYTE)(i * 7 + 1);
	for (i = 0; i < n; i++) {
		siglen = sizeof(sig);
		check(f->C_SignInit(s, &mech, key), "C_SignInit");
		check(f->C_Sign(s, hash, sizeof(hash), sig, &siglen), "C_Sign");
	}
	check(f->C_Logout(s), "C_Logout");
	check(f->C_CloseSession(s), "C_CloseSession");
	check(f->C_Finalize(NULL), "C_Finalize");
	dlclose(h);
	return 0;
}
