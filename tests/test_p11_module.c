/* SPDX-License-Identifier: MIT */
/*
 * PKCS#11 module: interfaces, C_Initialize / C_Finalize (the four locking
 * cases, fork), slots and tokens (info, flags, PIN counters), sessions,
 * argument checks, slot events, removal and re-insertion.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/p11_test_backend.h"
#include "../util/util.h"

static int
setup1(void **state)
{
	(void)state;
	tb_setup(1);
	return 0;
}

static int
teardown1(void **state)
{
	(void)state;
	(void)C_Finalize(NULL);
	tb_teardown();
	return 0;
}

static void
test_interfaces(void **state)
{
	CK_INTERFACE list[4], *it = NULL;
	CK_ULONG n = 0;
	CK_FUNCTION_LIST *fl = NULL;
	CK_FUNCTION_LIST_3_0 *f3;
	CK_VERSION v2 = { 2, 40 }, v3 = { 3, 0 }, v9 = { 9, 9 };

	(void)state;
	assert_int_equal(C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetFunctionList(&fl), CKR_OK);
	assert_int_equal(fl->version.major, 2);
	assert_ptr_equal(fl->C_Initialize, C_Initialize);
	assert_ptr_equal(fl->C_WaitForSlotEvent, C_WaitForSlotEvent);

	assert_int_equal(C_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInterfaceList(NULL, &n), CKR_OK);
	assert_int_equal(n, 2);
	n = 1;
	assert_int_equal(C_GetInterfaceList(list, &n), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(n, 2);
	n = 4;
	assert_int_equal(C_GetInterfaceList(list, &n), CKR_OK);
	assert_int_equal(n, 2);
	assert_string_equal((char *)list[0].pInterfaceName, "PKCS 11");
	/* not fork safe (a child must C_Initialize again): not advertised */
	assert_false(list[0].flags & CKF_INTERFACE_FORK_SAFE);
	assert_false(list[1].flags & CKF_INTERFACE_FORK_SAFE);

	assert_int_equal(C_GetInterface(NULL, NULL, NULL, 0),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInterface(NULL, NULL, &it, 0), CKR_OK);
	f3 = it->pFunctionList;
	assert_int_equal(f3->version.major, 3);
	/* 3.0 functions after the 2.40 ones, in spec order */
	assert_ptr_equal(f3->C_GetInterfaceList, C_GetInterfaceList);
	assert_ptr_equal(f3->C_GetInterface, C_GetInterface);
	assert_ptr_equal(f3->C_WaitForSlotEvent, C_WaitForSlotEvent);
	assert_non_null(f3->C_MessageVerifyFinal);
	assert_int_equal(C_GetInterface(U("PKCS 11"), &v2, &it,
	    0), CKR_OK);
	assert_int_equal(((CK_VERSION *)it->pFunctionList)->minor, 40);
	assert_int_equal(C_GetInterface(U("PKCS 11"), &v3, &it,
	    0), CKR_OK);
	assert_false(it->flags & CKF_INTERFACE_FORK_SAFE);
	/* asking for a fork-safe interface finds none */
	it = NULL;
	assert_int_equal(C_GetInterface(U("PKCS 11"), &v3, &it,
	    CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
	assert_null(it);
	assert_int_equal(C_GetInterface(NULL, NULL, &it,
	    CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInterface(U("PKCS 11"), &v9, &it,
	    0), CKR_ARGUMENTS_BAD);
	assert_null(it);
	assert_int_equal(C_GetInterface(U("Vendor"), NULL, &it,
	    0), CKR_ARGUMENTS_BAD);
	/* 3.0 message functions exist and check the session */
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(f3->C_MessageSignInit(77, NULL, 0),
	    CKR_SESSION_HANDLE_INVALID);
}

static void
test_not_initialized(void **state)
{
	CK_INFO info;
	CK_ULONG n;
	CK_SESSION_HANDLE h;

	(void)state;
	assert_int_equal(C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(C_GetSlotList(CK_FALSE, NULL, &n),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	assert_int_equal(C_CloseSession(1), CKR_CRYPTOKI_NOT_INITIALIZED);
}

/* Application mutex callbacks, counted. */
static int mtx_created, mtx_locked, mtx_unlocked, mtx_destroyed;

static CK_RV
app_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *pm = malloc(sizeof(*pm));

	if (pm == NULL)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(pm, NULL);
	*m = pm;
	mtx_created++;
	return CKR_OK;
}

static CK_RV
app_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	mtx_destroyed++;
	return CKR_OK;
}

static CK_RV
app_lock(CK_VOID_PTR m)
{
	pthread_mutex_lock(m);
	mtx_locked++;
	return CKR_OK;
}

static CK_RV
app_unlock(CK_VOID_PTR m)
{
	pthread_mutex_unlock(m);
	mtx_unlocked++;
	return CKR_OK;
}

static void
test_initialize_args(void **state)
{
	CK_C_INITIALIZE_ARGS a;
	CK_ULONG n = 0;
	int dummy;
	char junk[300];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(junk, 'x', sizeof(junk));	/* no NUL within the bound */
	a.pReserved = junk;
	assert_int_equal(C_Initialize(&a), CKR_ARGUMENTS_BAD);
	memset(&a, 0, sizeof(a));
	a.CreateMutex = app_create;	/* some callbacks but not all */
	assert_int_equal(C_Initialize(&a), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_Finalize(&dummy), CKR_ARGUMENTS_BAD);

	/* 1: no args */
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	assert_int_equal(C_Finalize(&dummy), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	/* 2: OS locking */
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(C_Initialize(&a), CKR_OK);
	assert_int_equal(C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	/* 3: the application's callbacks only: they must be used */
	mtx_created = mtx_locked = mtx_unlocked = mtx_destroyed = 0;
	a.CreateMutex = app_create;
	a.DestroyMutex = app_destroy;
	a.LockMutex = app_lock;
	a.UnlockMutex = app_unlock;
	a.flags = 0;
	assert_int_equal(C_Initialize(&a), CKR_OK);
	assert_int_equal(C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	assert_true(mtx_created >= 2);
	assert_int_equal(mtx_created, mtx_destroyed);
	assert_true(mtx_locked > 0);
	assert_int_equal(mtx_locked, mtx_unlocked);
	/* 4: both: we may pick (pthreads); callbacks unused */
	mtx_created = 0;
	a.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(C_Initialize(&a), CKR_OK);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
	assert_int_equal(mtx_created, 0);
	/* CKF_LIBRARY_CANT_CREATE_OS_THREADS: we never create any */
	memset(&a, 0, sizeof(a));
	a.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS;
	assert_int_equal(C_Initialize(&a), CKR_OK);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
}

static void
test_fork(void **state)
{
	CK_INFO info;
	pid_t pid;
	int st = 0;

	(void)state;
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		CK_SESSION_HANDLE h;
		CK_ULONG n = 0;
		int bad = 0;

		/* the parent's state is not the child's */
		bad |= C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED;
		bad |= C_GetSlotList(CK_FALSE, NULL, &n) !=
		    CKR_CRYPTOKI_NOT_INITIALIZED;
		bad |= C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) !=
		    CKR_CRYPTOKI_NOT_INITIALIZED;
		bad |= C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED;
		/* its own C_Initialize works */
		bad |= C_Initialize(NULL) != CKR_OK;
		bad |= C_GetInfo(&info) != CKR_OK;
		bad |= C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK || n != 1;
		bad |= C_Finalize(NULL) != CKR_OK;
		_exit(bad ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the parent is untouched */
	assert_int_equal(C_GetInfo(&info), CKR_OK);
	assert_int_equal(info.cryptokiVersion.major, 3);
}

static void
test_slots_tokens(void **state)
{
	CK_SLOT_ID ids[4];
	CK_ULONG n = 0;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_INFO info;

	(void)state;
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetInfo(&info), CKR_OK);
	assert_memory_equal(info.manufacturerID, "usbpiv ", 7);
	assert_int_equal(C_GetSlotList(CK_FALSE, ids, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(C_GetSlotList(CK_TRUE, ids, &n), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(n, 1);
	n = 4;
	assert_int_equal(C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 0);

	assert_int_equal(C_GetSlotInfo(0, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetSlotInfo(7, &si), CKR_SLOT_ID_INVALID);
	assert_int_equal(C_GetSlotInfo(0, &si), CKR_OK);
	assert_int_equal(si.flags, CKF_HW_SLOT | CKF_REMOVABLE_DEVICE |
	    CKF_TOKEN_PRESENT);
	assert_memory_equal(si.slotDescription, "Virtual reader 0 ", 17);

	assert_int_equal(C_GetTokenInfo(0, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetTokenInfo(9, &ti), CKR_SLOT_ID_INVALID);
	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	assert_memory_equal(ti.label, "YubiKey PIV #1000 ", 18);
	assert_memory_equal(ti.manufacturerID, "Yubico ", 7);
	assert_memory_equal(ti.model, "YubiKey 5.7.1 ", 14);
	assert_memory_equal(ti.serialNumber, "1000 ", 5);
	assert_int_equal(ti.firmwareVersion.major, 5);
	assert_int_equal(ti.firmwareVersion.minor, 71);
	assert_int_equal(ti.flags, CKF_RNG | CKF_LOGIN_REQUIRED |
	    CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED);
	assert_int_equal(ti.ulMinPinLen, 6);
	assert_int_equal(ti.ulMaxPinLen, 8);
	assert_int_equal(ti.ulSessionCount, 0);
}

/* init_reserved S: C_Initialize with pReserved S (p11-kit's
 * x-init-reserved), then the token info. */
static void
init_reserved(const char *s, CK_TOKEN_INFO *ti)
{
	CK_C_INITIALIZE_ARGS a;
	char buf[300];

	memset(&a, 0, sizeof(a));
	snprintf(buf, sizeof(buf), "%s", s);
	a.pReserved = buf;
	a.flags = CKF_OS_LOCKING_OK;
	assert_int_equal(C_Initialize(&a), CKR_OK);
	assert_int_equal(C_GetTokenInfo(0, ti), CKR_OK);
	assert_int_equal(C_Finalize(NULL), CKR_OK);
}

/* pReserved: "compat=ykcs11" does what USBPIV_COMPAT=ykcs11 does, among
 * other words (ignored), blanks, commas, semicolons; USBPIV_COMPAT wins;
 * no compat word, an unknown value or an empty string: usbpiv's names. */
static void
test_init_reserved(void **state)
{
	CK_TOKEN_INFO ti;

	(void)state;
	unsetenv("USBPIV_COMPAT");
	init_reserved("compat=ykcs11", &ti);
	assert_memory_equal(ti.manufacturerID, "Yubico (www.yubico.com) ", 24);
	assert_memory_equal(ti.model, "YubiKey YK5 ", 12);
	init_reserved(" debug=1, compat=ykcs11 ;other", &ti);
	assert_memory_equal(ti.model, "YubiKey YK5 ", 12);
	init_reserved("", &ti);
	assert_memory_equal(ti.model, "YubiKey 5.7.1 ", 14);
	init_reserved("compat=ykcs11x compat= compatykcs11 x=compat=ykcs11", &ti);
	assert_memory_equal(ti.model, "YubiKey 5.7.1 ", 14);
	init_reserved("compat=opensc", &ti);
	assert_memory_not_equal(ti.model, "YubiKey 5.7.1 ", 14);
	setenv("USBPIV_COMPAT", "usbpiv", 1);
	init_reserved("compat=ykcs11", &ti);
	assert_memory_equal(ti.model, "YubiKey 5.7.1 ", 14);
	unsetenv("USBPIV_COMPAT");
}

static CK_FLAGS
token_flags(void)
{
	CK_TOKEN_INFO ti;

	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	return ti.flags;
}

static void
test_pin_counters(void **state)
{
	CK_SESSION_HANDLE h = tb_open(CKF_RW_SESSION);
	CK_UTF8CHAR bad[] = "654321", good[] = TB_PIN;
	CK_SESSION_INFO si;

	(void)state;
	assert_int_equal(C_Login(h, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	assert_true(token_flags() & CKF_USER_PIN_COUNT_LOW);
	assert_false(token_flags() & CKF_USER_PIN_FINAL_TRY);
	assert_int_equal(C_Login(h, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	assert_true(token_flags() & CKF_USER_PIN_FINAL_TRY);
	/* the right PIN resets the counter */
	assert_int_equal(C_Login(h, CKU_USER, good, 6), CKR_OK);
	assert_false(token_flags() & (CKF_USER_PIN_COUNT_LOW |
	    CKF_USER_PIN_FINAL_TRY));
	assert_int_equal(C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RW_USER_FUNCTIONS);
	assert_int_equal(C_Login(h, CKU_USER, good, 6),
	    CKR_USER_ALREADY_LOGGED_IN);
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_int_equal(C_Logout(h), CKR_USER_NOT_LOGGED_IN);
	/* three wrong: locked, and the right PIN no longer works */
	assert_int_equal(C_Login(h, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	assert_int_equal(C_Login(h, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	assert_int_equal(C_Login(h, CKU_USER, bad, 6), CKR_PIN_LOCKED);
	assert_true(token_flags() & CKF_USER_PIN_LOCKED);
	assert_int_equal(C_Login(h, CKU_USER, good, 6), CKR_PIN_LOCKED);
	/* lengths and empty PINs are refused before the card */
	assert_int_equal(C_Login(h, CKU_USER, good, 0), CKR_PIN_INCORRECT);
	assert_int_equal(C_Login(h, CKU_USER, good, 5), CKR_PIN_INCORRECT);
	assert_int_equal(C_Login(h, CKU_USER, NULL, 0), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_Login(h, 77, good, 6), CKR_USER_TYPE_INVALID);
	/* SO (management key) unblocks with the PUK via C_InitPIN */
	assert_int_equal(C_Login(h, CKU_SO, U("00"), 2),
	    CKR_PIN_INCORRECT);
	assert_int_equal(C_Login(h, CKU_SO, U(TB_MGM_HEX), 48),
	    CKR_OK);
	assert_int_equal(C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RW_SO_FUNCTIONS);
	assert_int_equal(C_InitPIN(h, U("87654321:111111"), 15),
	    CKR_PIN_INCORRECT);
	assert_true(token_flags() & CKF_SO_PIN_COUNT_LOW);
	assert_int_equal(C_InitPIN(h, U(TB_PUK ":111111"), 15),
	    CKR_OK);
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_int_equal(C_Login(h, CKU_USER, U("111111"), 6),
	    CKR_OK);
	assert_false(token_flags() & CKF_USER_PIN_LOCKED);
	/* C_SetPIN changes the PIN (old, new) */
	assert_int_equal(C_SetPIN(h, U("111111"), 6,
	    U("222222"), 6), CKR_OK);
	assert_int_equal(C_SetPIN(h, U("111111"), 6,
	    U("333333"), 6), CKR_PIN_INCORRECT);
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_int_equal(C_Login(h, CKU_USER, U("222222"), 6),
	    CKR_OK);
	/* "puk:" changes the PUK */
	assert_int_equal(C_SetPIN(h, U("puk:" TB_PUK), 12, U("87654321"), 8),
	    CKR_OK);
	assert_int_equal(C_SetPIN(h, U("puk:" TB_PUK), 12, U("11223344"), 8),
	    CKR_PIN_INCORRECT);
	assert_int_equal(C_Logout(h), CKR_OK);
	/* SO: C_SetPIN changes the management key (same algorithm) */
	assert_int_equal(C_Login(h, CKU_SO, U(TB_MGM_HEX), 48), CKR_OK);
	assert_int_equal(C_SetPIN(h, U(TB_MGM_HEX), 48,
	    U("0102030405060708010203040506070801020304050607FF"), 48), CKR_OK);
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_int_equal(C_Login(h, CKU_SO, U(TB_MGM_HEX), 48),
	    CKR_PIN_INCORRECT);
	assert_int_equal(C_Login(h, CKU_SO,
	    U("0102030405060708010203040506070801020304050607FF"), 48), CKR_OK);
}

/* C_Login with a PIN the card cannot hold: CKR_PIN_INCORRECT, nothing
 * sent (a card that would vanish at the next APDU is still there), no
 * try spent (issue 10, defect 8c). */
static void
test_pin_local_refusal(void **state)
{
	CK_SESSION_HANDLE h = tb_open(CKF_RW_SESSION);
	static const struct {
		const char *pin;
		CK_ULONG len;
	} bad[] = {
		{ "12345", 5 }, { "123456789", 9 }, { "", 0 },
		{ "1234567890123456", 16 }, { "123\0" "56", 6 },
		{ "12345\0", 6 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		tb_cards[0].fail_next = 1;
		assert_int_equal(C_Login(h, CKU_USER, U(bad[i].pin),
		    bad[i].len), CKR_PIN_INCORRECT);
		assert_int_equal(tb_cards[0].fail_next, 1);
		tb_cards[0].fail_next = 0;
	}
	/* still three tries: no COUNT_LOW, and the PIN works */
	assert_false(token_flags() & (CKF_USER_PIN_COUNT_LOW |
	    CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED));
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6), CKR_OK);
	/* C_SetPIN: an old PIN that cannot be is incorrect, a new one out
	 * of range is CKR_PIN_LEN_RANGE, with a NUL CKR_PIN_INVALID */
	tb_cards[0].fail_next = 1;
	assert_int_equal(C_SetPIN(h, U("12345"), 5, U("222222"), 6),
	    CKR_PIN_INCORRECT);
	assert_int_equal(C_SetPIN(h, U(TB_PIN), 6, U("22222"), 5),
	    CKR_PIN_LEN_RANGE);
	assert_int_equal(C_SetPIN(h, U(TB_PIN), 6, U("222\0" "22"), 6),
	    CKR_PIN_INVALID);
	assert_int_equal(tb_cards[0].fail_next, 1);
	tb_cards[0].fail_next = 0;
	assert_int_equal(C_Logout(h), CKR_OK);
	assert_false(token_flags() & CKF_USER_PIN_COUNT_LOW);
}

static void
test_sessions(void **state)
{
	CK_SESSION_HANDLE h = 0, h2 = 0;
	CK_SESSION_INFO si;
	CK_TOKEN_INFO ti;

	(void)state;
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(C_OpenSession(0, 0, NULL, NULL, &h),
	    CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL,
	    NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_OpenSession(5, CKF_SERIAL_SESSION, NULL, NULL, &h),
	    CKR_SLOT_ID_INVALID);
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
	    CKR_OK);
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &h2), CKR_OK);
	assert_int_not_equal(h, h2);
	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	assert_int_equal(ti.ulSessionCount, 2);
	assert_int_equal(ti.ulRwSessionCount, 1);
	assert_int_equal(C_GetSessionInfo(h, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetSessionInfo(h, &si), CKR_OK);
	assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
	assert_int_equal(si.slotID, 0);
	/* SO login needs no read-only session around */
	assert_int_equal(C_Login(h2, CKU_SO, U(TB_MGM_HEX), 48),
	    CKR_SESSION_READ_ONLY_EXISTS);
	assert_int_equal(C_SetPIN(h, U(TB_PIN), 6,
	    U("222222"), 6), CKR_SESSION_READ_ONLY);
	assert_int_equal(C_CloseSession(h), CKR_OK);
	assert_int_equal(C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_GetSessionInfo(0, &si), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_GetSessionInfo(0xdead0001, &si),
	    CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_CloseAllSessions(3), CKR_SLOT_ID_INVALID);
	assert_int_equal(C_CloseAllSessions(0), CKR_OK);
	assert_int_equal(C_GetSessionInfo(h2, &si), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_InitToken(0, NULL, 0, NULL), CKR_ARGUMENTS_BAD);
}

static void
test_arg_checks(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0);
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_ULONG n = 0;
	CK_BYTE buf[64];
	CK_OBJECT_HANDLE o;
	CK_MECHANISM_INFO mi;

	(void)state;
	assert_int_equal(C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_FindObjects(h, &o, 1, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_FindObjectsInit(h, NULL, 0), CKR_OK);
	assert_int_equal(C_FindObjectsInit(h, NULL, 0), CKR_OPERATION_ACTIVE);
	assert_int_equal(C_FindObjects(h, NULL, 1, &n), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_FindObjects(h, &o, 1, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_FindObjectsFinal(h), CKR_OK);
	assert_int_equal(C_GetAttributeValue(h, 0x1234, NULL, 0),
	    CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(C_GetAttributeValue(h, 0x1234, NULL, 2),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetObjectSize(h, 0x1234, &n),
	    CKR_OBJECT_HANDLE_INVALID);
	assert_int_equal(C_SignInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_SignInit(h, &m, 1), CKR_USER_NOT_LOGGED_IN);
	assert_int_equal(C_Sign(h, buf, 1, buf, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_SignUpdate(h, buf, 1),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_SignFinal(h, buf, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_VerifyInit(h, &m, 0x1234), CKR_KEY_HANDLE_INVALID);
	assert_int_equal(C_Verify(h, buf, 1, buf, 1),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_Decrypt(h, buf, 1, buf, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_Encrypt(h, buf, 1, buf, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_Digest(h, buf, 1, buf, &n),
	    CKR_OPERATION_NOT_INITIALIZED);
	assert_int_equal(C_DigestInit(h, NULL), CKR_ARGUMENTS_BAD);
	m.mechanism = CKM_RSA_PKCS;
	assert_int_equal(C_DigestInit(h, &m), CKR_MECHANISM_INVALID);
	assert_int_equal(C_GenerateRandom(h, NULL, 4), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GenerateRandom(h, buf, sizeof(buf)), CKR_OK);
	assert_int_equal(C_SeedRandom(h, buf, 4),
	    CKR_RANDOM_SEED_NOT_SUPPORTED);
	assert_int_equal(C_GenerateRandom(0x77, buf, 4),
	    CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_CreateObject(h, NULL, 0, &o), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_DestroyObject(h, 0x0301), CKR_SESSION_READ_ONLY);
	assert_int_equal(C_GetMechanismList(0, NULL, NULL), CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetMechanismInfo(0, CKM_RSA_PKCS, NULL),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetMechanismInfo(0, CKM_AES_CBC, &mi),
	    CKR_MECHANISM_INVALID);
	assert_int_equal(C_GetMechanismInfo(4, CKM_RSA_PKCS, &mi),
	    CKR_SLOT_ID_INVALID);
	assert_int_equal(C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL),
	    CKR_ARGUMENTS_BAD);
	assert_int_equal(C_GetOperationState(h, NULL, &n),
	    CKR_FUNCTION_NOT_SUPPORTED);
	assert_int_equal(C_GetFunctionStatus(h), CKR_FUNCTION_NOT_PARALLEL);
	assert_int_equal(C_SetAttributeValue(h, 1, NULL, 0),
	    CKR_FUNCTION_NOT_SUPPORTED);
}

static void
test_mechanisms(void **state)
{
	CK_MECHANISM_TYPE list[64];
	CK_ULONG n = 0, i;
	CK_MECHANISM_INFO mi;
	int saw_eddsa = 0, saw_oaep = 0;

	(void)state;
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(C_GetMechanismList(0, NULL, &n), CKR_OK);
	assert_true(n >= 30);
	i = 3;
	assert_int_equal(C_GetMechanismList(0, list, &i), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(i, n);
	i = 64;
	assert_int_equal(C_GetMechanismList(0, list, &i), CKR_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(C_GetMechanismInfo(0, list[i], &mi), CKR_OK);
		saw_eddsa |= list[i] == CKM_EDDSA;
		saw_oaep |= list[i] == CKM_RSA_PKCS_OAEP;
	}
	assert_true(saw_eddsa && saw_oaep);
	assert_int_equal(C_GetMechanismInfo(0, CKM_RSA_PKCS, &mi), CKR_OK);
	assert_int_equal(mi.ulMinKeySize, 1024);
	assert_int_equal(mi.ulMaxKeySize, 4096);
	assert_true(mi.flags & CKF_HW);
	assert_true(mi.flags & CKF_DECRYPT);
	assert_int_equal(C_GetMechanismInfo(0, CKM_ECDSA, &mi), CKR_OK);
	assert_int_equal(mi.ulMinKeySize, 256);
	assert_int_equal(mi.ulMaxKeySize, 384);
	assert_true(mi.flags & CKF_EC_NAMEDCURVE);
	assert_int_equal(C_GetMechanismInfo(0, CKM_RSA_PKCS_OAEP, &mi), CKR_OK);
	assert_false(mi.flags & CKF_SIGN);
	assert_int_equal(C_GetMechanismInfo(0, CKM_SHA256, &mi), CKR_OK);
	assert_int_equal(mi.flags, CKF_DIGEST);
}

struct remover {
	int delay_ms;
	size_t card;
	int value;
};

static void *
flip_presence(void *arg)
{
	struct remover *r = arg;

	util_sleep_ms(r->delay_ms);
	tb_cards[r->card].present = r->value;
	return NULL;
}

static void
test_slot_events(void **state)
{
	CK_SLOT_ID s = 99;
	pthread_t t;
	struct remover r = { 50, 0, 0 };

	(void)state;
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL),
	    CKR_NO_EVENT);
	assert_int_equal(C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, &s),
	    CKR_ARGUMENTS_BAD);
	tb_cards[0].present = 0;
	assert_int_equal(C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL), CKR_OK);
	assert_int_equal(s, 0);
	assert_int_equal(C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, NULL),
	    CKR_NO_EVENT);
	/* blocking: a thread re-inserts the card */
	r.value = 1;
	tb_wait_calls = 0;
	assert_int_equal(pthread_create(&t, NULL, flip_presence, &r), 0);
	s = 99;
	assert_int_equal(C_WaitForSlotEvent(0, &s, NULL), CKR_OK);
	assert_int_equal(s, 0);
	assert_true(tb_wait_calls > 0);
	pthread_join(t, NULL);
}

static void *
finalize_later(void *arg)
{
	(void)arg;
	util_sleep_ms(50);
	(void)C_Finalize(NULL);
	return NULL;
}

static void
test_slot_event_finalize(void **state)
{
	CK_SLOT_ID s;
	pthread_t t;

	(void)state;
	assert_int_equal(C_Initialize(NULL), CKR_OK);
	assert_int_equal(pthread_create(&t, NULL, finalize_later, NULL), 0);
	assert_int_equal(C_WaitForSlotEvent(0, &s, NULL),
	    CKR_CRYPTOKI_NOT_INITIALIZED);
	pthread_join(t, NULL);
}

static void
test_removal(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0), h2;
	CK_SLOT_INFO si;
	CK_SESSION_INFO ss;
	CK_TOKEN_INFO ti;
	CK_ULONG n = 0;

	(void)state;
	assert_int_equal(C_Login(h, CKU_USER, U(TB_PIN), 6),
	    CKR_OK);
	tb_cards[0].present = 0;
	assert_int_equal(C_GetSlotInfo(0, &si), CKR_OK);
	assert_false(si.flags & CKF_TOKEN_PRESENT);
	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_TOKEN_NOT_PRESENT);
	assert_int_equal(C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(C_GetSessionInfo(h, &ss), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h2),
	    CKR_TOKEN_NOT_PRESENT);
	/* re-insertion without C_Finalize; the old session stays dead and
	 * the login does not come back */
	tb_cards[0].present = 1;
	tb_other_process_reset(0);
	assert_int_equal(C_GetTokenInfo(0, &ti), CKR_OK);
	assert_int_equal(C_GetSessionInfo(h, &ss), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h2),
	    CKR_OK);
	assert_int_equal(C_GetSessionInfo(h2, &ss), CKR_OK);
	assert_int_equal(ss.state, CKS_RO_PUBLIC_SESSION);
	assert_int_equal(ti.ulSessionCount, 0);
}

static void
test_removal_in_flight(void **state)
{
	CK_SESSION_HANDLE h = tb_open(0);
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_SESSION_INFO ss;

	(void)state;
	/* the card goes away during the search's card reads */
	tb_cards[0].fail_next = 1;
	assert_int_equal(C_FindObjectsInit(h, &t, 1), CKR_DEVICE_REMOVED);
	assert_int_equal(C_GetSessionInfo(h, &ss), CKR_SESSION_HANDLE_INVALID);
	assert_int_equal(C_FindObjectsInit(h, &t, 1),
	    CKR_SESSION_HANDLE_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_interfaces, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_not_initialized, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_initialize_args, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_init_reserved, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_fork, setup1, teardown1),
		cmocka_unit_test_setup_teardown(test_slots_tokens, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_pin_counters, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_pin_local_refusal,
		    setup1, teardown1),
		cmocka_unit_test_setup_teardown(test_sessions, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_arg_checks, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_mechanisms, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_slot_events, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_slot_event_finalize,
		    setup1, teardown1),
		cmocka_unit_test_setup_teardown(test_removal, setup1,
		    teardown1),
		cmocka_unit_test_setup_teardown(test_removal_in_flight, setup1,
		    teardown1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
