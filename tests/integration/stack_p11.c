/* SPDX-License-Identifier: MIT */
/*
 * tests/integration/stack_p11.c — the PKCS#11 module (dlopen'ed, through
 * C_GetFunctionList) on the emulated reader, while the reader or another
 * process does things behind its back; built and run by stack_p11.sh.
 * The token needs a P-256 key in 9A with PIN policy ONCE (stack_txn setup
 * once).  PIN 123456.
 *
 *   stack_p11 MODULE remove    card pulled in a logged-in session and put
 *                              back (`remove` / `insert` on $VTOKEN_CTL)
 *   stack_p11 MODULE unplug    the whole reader (`unplug` / `replug`)
 *   stack_p11 MODULE relogin CMD
 *                              CMD (sh -c) resets the card's login state
 *                              between our calls: the module must say
 *                              CKR_USER_NOT_LOGGED_IN, then log in again
 *   stack_p11 MODULE fault LINE
 *                              LINE (`malform KIND`, `wtx 1000`) injected
 *                              before C_GetTokenInfo and before C_Sign:
 *                              an error in bounded time, then recovery
 *
 * Exits 0 when all is well, 1 with a message on stderr.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR f;
static const char *mode = "?";

#define PIN	"123456"
/* Upper bound on one call, whatever the reader does (the time extension
 * and stale-frame bounds are a few seconds). */
#define CALL_MAX_MS	20000

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
die(const char *what, CK_RV rv)
{
	fprintf(stderr, "stack_p11 %s: %s: rv 0x%lx\n", mode, what,
	    (unsigned long)rv);
	exit(1);
}

static void
expect(const char *what, CK_RV rv, CK_RV want)
{
	if (rv != want)
		die(what, rv);
	printf("  %s: 0x%lx ok\n", what, (unsigned long)rv);
}

/* Writes one line to the emulator's control FIFO and waits for its ack. */
static void
inject(const char *line)
{
	const char *ctl = getenv("VTOKEN_CTL");
	char ack[4096], buf[4096];
	struct stat st;
	off_t before = 0;
	FILE *fp;
	int i;

	if (ctl == NULL)
		die("VTOKEN_CTL not set", 0);
	snprintf(ack, sizeof(ack), "%s.ack", ctl);
	if (stat(ack, &st) == 0)
		before = st.st_size;
	if ((fp = fopen(ctl, "w")) == NULL || fprintf(fp, "%s\n", line) < 0 ||
	    fclose(fp) != 0)
		die("write VTOKEN_CTL", (CK_RV)errno);
	for (i = 0; i < 500; i++) {
		if ((fp = fopen(ack, "r")) != NULL) {
			if (fseeko(fp, before, SEEK_SET) == 0 &&
			    fgets(buf, sizeof(buf), fp) != NULL &&
			    strchr(buf, '\n') != NULL) {
				fclose(fp);
				if (strncmp(buf, "ok ", 3) != 0) {
					fprintf(stderr, "inject %s: %s", line,
					    buf);
					exit(1);
				}
				printf("  injected: %s\n", line);
				return;
			}
			fclose(fp);
		}
		usleep(10000);
	}
	die("no ack from the emulator", 0);
}

static CK_SLOT_ID
first_token(void)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_RV rv;
	int i;

	/* the emulator's netlink socket may not be there at once */
	for (i = 0; i < 50; i++) {
		n = 16;
		if ((rv = f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
			die("C_GetSlotList(NULL)", rv);
		if (n > 0)
			break;
		usleep(100000);
	}
	n = 16;
	if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
		die("C_GetSlotList", rv);
	if (n == 0)
		die("no token", 0);
	return slots[0];
}

static CK_RV
find_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *key)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ULONG n = 0;
	CK_RV rv;

	*key = CK_INVALID_HANDLE;
	if ((rv = f->C_FindObjectsInit(s, t, 1)) != CKR_OK)
		return rv;
	rv = f->C_FindObjects(s, key, 1, &n);
	(void)f->C_FindObjectsFinal(s);
	if (rv == CKR_OK && n != 1)
		rv = CKR_KEY_HANDLE_INVALID;
	return rv;
}

/* C_SignInit + C_Sign of a made-up hash with CKM_ECDSA (the key found
 * at login: a private key may not be listed while logged out). */
static CK_OBJECT_HANDLE key_found = CK_INVALID_HANDLE;

static CK_RV
sign_once(CK_SESSION_HANDLE s)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_BYTE h[32], sig[128];
	CK_ULONG siglen = sizeof(sig);
	CK_RV rv;

	memset(h, 0x5a, sizeof(h));
	if ((rv = f->C_SignInit(s, &m, key_found)) != CKR_OK ||
	    (rv = f->C_Sign(s, h, sizeof(h), sig, &siglen)) != CKR_OK)
		return rv;
	return siglen == 64 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_SESSION_HANDLE
session_login(CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE s;
	CK_RV rv;

	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s)) != CKR_OK)
		die("C_OpenSession", rv);
	if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)PIN,
	    strlen(PIN))) != CKR_OK)
		die("C_Login", rv);
	if ((rv = find_key(s, &key_found)) != CKR_OK)
		die("find the private key", rv);
	if ((rv = sign_once(s)) != CKR_OK)
		die("sign after login", rv);
	printf("  session, login, sign: ok\n");
	return s;
}

/* ---- remove / unplug ---------------------------------------------------- */

struct waiter {
	CK_SLOT_ID slot;
	CK_RV rv;
	volatile int done;
};

static void *
wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->rv = f->C_WaitForSlotEvent(0, &w->slot, NULL);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
do_remove(int unplug)
{
	CK_SESSION_HANDLE s, s2;
	CK_SESSION_INFO si;
	CK_SLOT_ID slot, ev = 999;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_OBJECT_HANDLE key;
	CK_BYTE h[32], sig[128];
	CK_ULONG siglen = sizeof(sig);
	struct waiter w;
	pthread_t th;
	CK_RV rv;
	long t0;
	int i;

	memset(h, 1, sizeof(h));
	slot = first_token();
	s = session_login(slot);
	if ((rv = find_key(s, &key)) != CKR_OK ||
	    (rv = f->C_SignInit(s, &m, key)) != CKR_OK)
		die("C_SignInit before the removal", rv);

	inject(unplug ? "unplug" : "remove");
	/* the operation under way fails as the token is gone */
	rv = f->C_Sign(s, h, sizeof(h), sig, &siglen);
	if (rv != CKR_DEVICE_REMOVED && rv != CKR_TOKEN_NOT_PRESENT)
		die("C_Sign after the removal", rv);
	printf("  C_Sign after the removal: 0x%lx ok\n", (unsigned long)rv);
	/* and the session is gone with it */
	expect("C_GetSessionInfo on the old session",
	    f->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID);
	expect("C_SignInit on the old session", f->C_SignInit(s, &m, key),
	    CKR_SESSION_HANDLE_INVALID);
	expect("C_Logout on the old session", f->C_Logout(s),
	    CKR_SESSION_HANDLE_INVALID);
	/* the event, without blocking; then no more */
	expect("C_WaitForSlotEvent(DONT_BLOCK)",
	    f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_OK);
	if (ev != slot)
		die("C_WaitForSlotEvent: another slot", ev);
	expect("C_WaitForSlotEvent(DONT_BLOCK) again",
	    f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
	expect("C_OpenSession on the empty slot", f->C_OpenSession(slot,
	    CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_TOKEN_NOT_PRESENT);
	expect("C_CloseSession on the old session", f->C_CloseSession(s),
	    CKR_SESSION_HANDLE_INVALID);

	/* a blocking wait sees the token come back */
	memset(&w, 0, sizeof(w));
	w.slot = 999;
	if (pthread_create(&th, NULL, wait_thread, &w) != 0)
		die("pthread_create", 0);
	usleep(300000);
	if (__atomic_load_n(&w.done, __ATOMIC_SEQ_CST))
		die("C_WaitForSlotEvent returned before the insertion", w.rv);
	inject(unplug ? "replug" : "insert");
	t0 = now_ms();
	for (i = 0; i < 1000 && !__atomic_load_n(&w.done, __ATOMIC_SEQ_CST);
	    i++)
		usleep(10000);
	if (!__atomic_load_n(&w.done, __ATOMIC_SEQ_CST))
		die("C_WaitForSlotEvent (blocking) did not return in 10 s", 0);
	pthread_join(th, NULL);
	if (w.rv != CKR_OK || w.slot != slot)
		die("C_WaitForSlotEvent (blocking)", w.rv != CKR_OK ? w.rv :
		    w.slot);
	printf("  C_WaitForSlotEvent (blocking): slot %lu after %ld ms ok\n",
	    (unsigned long)w.slot, now_ms() - t0);

	/* the token is back, without C_Finalize */
	if (first_token() != slot)
		die("the token came back in another slot", 0);
	s2 = session_login(slot);
	expect("C_CloseSession", f->C_CloseSession(s2), CKR_OK);
}

/* ---- login state reset by another process ------------------------------- */

static void
do_relogin(const char *cmd)
{
	CK_SESSION_HANDLE s;
	CK_SESSION_INFO si;
	CK_RV rv;
	int st;

	s = session_login(first_token());
	printf("  running: %s\n", cmd);
	if ((st = system(cmd)) != 0) {
		fprintf(stderr, "stack_p11 relogin: '%s' failed (%d)\n", cmd,
		    st);
		exit(1);
	}
	rv = sign_once(s);
	/* the login follows the token: another process using it (joining,
	 * not resetting) leaves it; one that logs the card out is undone
	 * with the kept PIN; only with USBPIV_RELOGIN=0 is it lost */
	if (getenv("USBPIV_RELOGIN") == NULL) {
		expect("sign after the other process, no PIN asked", rv,
		    CKR_OK);
		expect("C_GetSessionInfo", f->C_GetSessionInfo(s, &si),
		    CKR_OK);
		if (si.state != CKS_RO_USER_FUNCTIONS)
			die("session state after the other process",
			    si.state);
		printf("  still logged in: ok\n");
		expect("C_CloseSession", f->C_CloseSession(s), CKR_OK);
		return;
	}
	expect("sign after the other process", rv, CKR_USER_NOT_LOGGED_IN);
	expect("C_GetSessionInfo", f->C_GetSessionInfo(s, &si), CKR_OK);
	if (si.state != CKS_RO_PUBLIC_SESSION)
		die("session state after the reset", si.state);
	printf("  session state public: ok\n");
	expect("C_Login again", f->C_Login(s, CKU_USER,
	    (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_OK);
	expect("sign after logging in again", sign_once(s), CKR_OK);
	expect("C_CloseSession", f->C_CloseSession(s), CKR_OK);
}

/* ---- a reader that misbehaves ------------------------------------------- */

static void
bounded(const char *what, CK_RV rv, long t0)
{
	long dt = now_ms() - t0;

	if (dt > CALL_MAX_MS) {
		fprintf(stderr, "stack_p11 fault: %s took %ld ms\n", what, dt);
		exit(1);
	}
	if (rv == CKR_OK)
		die(what, rv);
	printf("  %s: error 0x%lx in %ld ms ok\n", what, (unsigned long)rv, dt);
}

/* The token works again within a few calls (no C_Finalize). */
static CK_SESSION_HANDLE
recover(CK_SLOT_ID slot)
{
	CK_TOKEN_INFO ti;
	CK_RV rv = CKR_GENERAL_ERROR;
	int i;

	CK_SESSION_HANDLE s = 0;

	/* calls that talk to the card: the first may still meet what the
	 * fault left in the reader */
	for (i = 0; i < 5 && rv != CKR_OK; i++) {
		if ((rv = f->C_GetTokenInfo(slot, &ti)) != CKR_OK)
			continue;
		if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL,
		    NULL, &s)) != CKR_OK)
			continue;
		if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)PIN,
		    strlen(PIN))) != CKR_OK)
			(void)f->C_CloseSession(s);
	}
	if (rv != CKR_OK)
		die("logging in after the fault", rv);
	(void)f->C_CloseSession(s);
	return session_login(slot);
}

static void
do_fault(const char *line)
{
	CK_SESSION_HANDLE s;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_OBJECT_HANDLE key;
	CK_BYTE h[32], sig[128];
	CK_ULONG siglen = sizeof(sig);
	CK_RV rv;
	long t0;

	memset(h, 2, sizeof(h));
	slot = first_token();
	expect("C_GetTokenInfo", f->C_GetTokenInfo(slot, &ti), CKR_OK);
	/* a call that must talk to the card (C_GetTokenInfo may answer
	 * from what the module knows, with no traffic to break) */
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL,
	    &s)) != CKR_OK)
		die("C_OpenSession", rv);
	inject(line);
	t0 = now_ms();
	bounded("C_Login", f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)PIN,
	    strlen(PIN)), t0);
	(void)f->C_CloseSession(s);
	s = recover(slot);
	if ((rv = find_key(s, &key)) != CKR_OK ||
	    (rv = f->C_SignInit(s, &m, key)) != CKR_OK)
		die("C_SignInit", rv);
	inject(line);
	t0 = now_ms();
	bounded("C_Sign", f->C_Sign(s, h, sizeof(h), sig, &siglen), t0);
	(void)f->C_CloseSession(s);
	s = recover(slot);
	expect("C_CloseSession", f->C_CloseSession(s), CKR_OK);
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList gfl;
	void *lib;
	CK_RV rv;

	if (argc < 3) {
		fprintf(stderr, "usage: stack_p11 MODULE remove | unplug | "
		    "relogin CMD | fault LINE\n");
		return 2;
	}
	mode = argv[2];
	if ((lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "stack_p11: %s\n", dlerror());
		return 1;
	}
	*(void **)&gfl = dlsym(lib, "C_GetFunctionList");
	if (gfl == NULL || (rv = gfl(&f)) != CKR_OK)
		die("C_GetFunctionList", gfl == NULL ? 0 : rv);
	if ((rv = f->C_Initialize(NULL)) != CKR_OK)
		die("C_Initialize", rv);
	if (strcmp(mode, "remove") == 0 && argc == 3)
		do_remove(0);
	else if (strcmp(mode, "unplug") == 0 && argc == 3)
		do_remove(1);
	else if (strcmp(mode, "relogin") == 0 && argc == 4)
		do_relogin(argv[3]);
	else if (strcmp(mode, "fault") == 0 && argc == 4)
		do_fault(argv[3]);
	else
		die("bad arguments", 0);
	if ((rv = f->C_Finalize(NULL)) != CKR_OK)
		die("C_Finalize", rv);
	dlclose(lib);
	printf("stack_p11 %s: ok\n", mode);
	return 0;
}
