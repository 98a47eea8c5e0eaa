/* SPDX-License-Identifier: MIT */
/*
 * The module's entry points: C_Initialize / C_Finalize with the four
 * locking cases and fork detection, C_GetInfo, the function lists and
 * interfaces, and the functions this module does not offer.  The top of
 * pkcs11/'s order (p11.h): the function lists name every C_* file.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11.h"
#include "../util/util.h"

static const struct p11_backend *p11_backend_override;

/*
 * Serialises C_Initialize / C_Finalize themselves (the module lock does
 * not exist yet when C_Initialize starts).
 */
static pthread_mutex_t p11_init_lock = PTHREAD_MUTEX_INITIALIZER;

void
p11_set_backend(const struct p11_backend *be)
{
	p11_backend_override = be;
}

/* ---- C_Initialize / C_Finalize ------------------------------------------ */

/* The longest pReserved string taken (p11-kit's x-init-reserved). */
#define P11_RESERVED_MAX 256

static int
p11_compat_named(const char *v, size_t n, int *compat)
{
	if (n == 6 && memcmp(v, "ykcs11", 6) == 0)
		*compat = P11_COMPAT_YKCS11;
	else if (n == 6 && memcmp(v, "opensc", 6) == 0)
		*compat = P11_COMPAT_OPENSC;
	else if (n == 6 && memcmp(v, "usbpiv", 6) == 0)
		*compat = P11_COMPAT_USBPIV;
	else
		return -1;
	return 0;
}

/*
 * C_Initialize's pReserved, which p11-kit fills with a module file's
 * "x-init-reserved:" value: a NUL-terminated string of KEY=VALUE words
 * separated by blanks, commas or semicolons, within P11_RESERVED_MAX bytes
 * (else CKR_ARGUMENTS_BAD).  compat=ykcs11|opensc|usbpiv is what
 * USBPIV_COMPAT says (which, when set, wins); anything else is ignored
 * with a trace.
 */
static CK_RV
p11_reserved(const char *s, int *compat)
{
	size_t len, i = 0, w, k;

	if (s == NULL)
		return CKR_OK;
	if ((len = strnlen(s, P11_RESERVED_MAX)) == P11_RESERVED_MAX) {
		util_trace(1, "pkcs11: C_Initialize: pReserved is not a string "
		    "of fewer than %d bytes", P11_RESERVED_MAX);
		return CKR_ARGUMENTS_BAD;
	}
	while (i < len) {
		while (i < len && strchr(" \t\n,;", s[i]) != NULL)
			i++;
		for (w = i; i < len && strchr(" \t\n,;", s[i]) == NULL; i++)
			;
		if (w == i)
			break;
		for (k = w; k < i && s[k] != '='; k++)
			;
		if (k - w == 6 && memcmp(s + w, "compat", 6) == 0 && k < i &&
		    p11_compat_named(s + k + 1, i - k - 1, compat) == 0) {
			util_trace(1, "pkcs11: pReserved: %.*s", (int)(i - w),
			    s + w);
			continue;
		}
		util_trace(1, "pkcs11: pReserved: ignoring '%.*s'",
		    (int)(i - w), s + w);
	}
	return CKR_OK;
}

static void
p11_env(int compat)
{
	const char *e;

	/* USBPIV_COMPAT=ykcs11|opensc: that module's names (else the
	 * pReserved string's compat=); USBPIV_ID_STYLE (the CKA_IDs alone)
	 * stays as an alias */
	p11_mod.compat = compat;
	if ((e = getenv("USBPIV_COMPAT")) != NULL &&
	    p11_compat_named(e, strlen(e), &p11_mod.compat) != 0 && *e != '\0')
		util_trace(1, "pkcs11: USBPIV_COMPAT=%s: unknown, ignored", e);
	p11_mod.id_style = p11_mod.compat == P11_COMPAT_OPENSC;
	if ((e = getenv("USBPIV_ID_STYLE")) != NULL && strcmp(e, "opensc") == 0)
		p11_mod.id_style = 1;
	else if (e != NULL && strcmp(e, "ykcs11") == 0)
		p11_mod.id_style = 0;
	p11_mod.retired_all = (e = getenv("USBPIV_RETIRED")) != NULL &&
	    strcmp(e, "all") == 0;
	p11_mod.attest = (e = getenv("USBPIV_ATTEST")) != NULL &&
	    strcmp(e, "1") == 0;
	p11_mod.relogin = !((e = getenv("USBPIV_RELOGIN")) != NULL &&
	    (strcmp(e, "0") == 0 || strcmp(e, "off") == 0 ||
	    strcmp(e, "no") == 0));
}

static void
p11_teardown(void)
{
	size_t i;

	for (i = 0; i < p11_mod.nslots; i++) {
		struct p11_slot *slot = &p11_mod.slots[i];

		p11_token_forget(slot);
		p11_mutex_free(&slot->lock);
	}
	if (p11_mod.be != NULL && p11_mod.be->fini != NULL)
		p11_mod.be->fini(&p11_mod.be_ctx);
	p11_mutex_free(&p11_mod.lock);
	memset(&p11_mod, 0, sizeof(p11_mod));
}

CK_RV
C_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_C_INITIALIZE_ARGS *a = pInitArgs;
	int have_cb = 0, all_cb = 0, compat = P11_COMPAT_USBPIV;
	CK_RV rv = CKR_OK;
	int r;

	if (a != NULL) {
		if ((rv = p11_reserved(a->pReserved, &compat)) != CKR_OK)
			return rv;
		have_cb = a->CreateMutex != NULL || a->DestroyMutex != NULL ||
		    a->LockMutex != NULL || a->UnlockMutex != NULL;
		all_cb = a->CreateMutex != NULL && a->DestroyMutex != NULL &&
		    a->LockMutex != NULL && a->UnlockMutex != NULL;
		if (have_cb && !all_cb)
			return CKR_ARGUMENTS_BAD;
	}
	pthread_mutex_lock(&p11_init_lock);
	if (p11_mod.initialized && p11_mod.pid == getpid()) {
		pthread_mutex_unlock(&p11_init_lock);
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	}
	if (p11_mod.initialized) {
		/* Forked child: abandon the parent's state without touching
		 * it (its libusb context and handles belong to the parent);
		 * kept, reachable, in a copy. */
		p11_abandoned = p11_mod;
		memset(&p11_mod, 0, sizeof(p11_mod));
	}
	/*
	 * The four cases of PKCS#11 §5.4: no arguments or no callbacks and
	 * no CKF_OS_LOCKING_OK -> the application is single-threaded (we
	 * lock with pthreads anyway, harmless); CKF_OS_LOCKING_OK -> pthreads;
	 * callbacks only -> the application's; both -> we may pick: pthreads.
	 * We never create threads, so CKF_LIBRARY_CANT_CREATE_OS_THREADS
	 * needs nothing.
	 */
	p11_mutex_use(a != NULL && all_cb && !(a->flags & CKF_OS_LOCKING_OK) ?
	    a : NULL);
	p11_env(compat);
	p11_mod.be = p11_backend_override != NULL ? p11_backend_override :
	    &p11_backend_usb;
	if ((rv = p11_mutex_new(&p11_mod.lock)) != CKR_OK)
		goto fail;
	if ((r = p11_mod.be->init(&p11_mod.be_ctx)) != 0) {
		rv = r == PIV_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_GENERAL_ERROR;
		goto fail;
	}
	p11_mod.pid = getpid();
	p11_mod.initialized = 1;
	p11_slots_refresh();
	p11_events_baseline();
	pthread_mutex_unlock(&p11_init_lock);
	return CKR_OK;
fail:
	p11_teardown();
	pthread_mutex_unlock(&p11_init_lock);
	return rv;
}

CK_RV
C_Finalize(CK_VOID_PTR pReserved)
{
	CK_RV rv;
	int i;

	if (pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&p11_init_lock);
	if ((rv = p11_check_init()) != CKR_OK) {
		pthread_mutex_unlock(&p11_init_lock);
		return rv;
	}
	/* No new call gets in; C_WaitForSlotEvent callers see it within
	 * one short wait and leave. */
	__atomic_store_n(&p11_mod.finalizing, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 200 && __atomic_load_n(&p11_mod.waiters,
	    __ATOMIC_SEQ_CST) > 0; i++)
		util_sleep_ms(10);
	/* Calls in flight (a C_Sign on another thread) finish before
	 * anything is freed. */
	p11_gate_close();
	p11_teardown();
	p11_gate_open();
	pthread_mutex_unlock(&p11_init_lock);
	return CKR_OK;
}

CK_RV
C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv;

	if ((rv = p11_check_init()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->cryptokiVersion.major = 3;
	pInfo->cryptokiVersion.minor = 0;
	p11_padded(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	    "usbpiv");
	pInfo->flags = 0;
	p11_padded(pInfo->libraryDescription,
	    sizeof(pInfo->libraryDescription), "usbpiv PIV PKCS#11 module");
	pInfo->libraryVersion.major = 0;
	pInfo->libraryVersion.minor = 1;
	return CKR_OK;
}

/* ---- functions this module does not offer ------------------------------ */

/* Session-bound unsupported functions still validate the handle. */
static CK_RV
p11_unsupported_session(CK_SESSION_HANDLE h)
{
	CK_RV rv = p11_session_valid(h);

	return rv == CKR_OK ? CKR_FUNCTION_NOT_SUPPORTED : rv;
}

#define P11_UNSUPPORTED_S(name, args, sess)		\
CK_RV name args						\
{							\
	return p11_unsupported_session(sess);		\
}

/* These only validate the session; their other arguments go unused. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
P11_UNSUPPORTED_S(C_GetOperationState, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pOperationState, CK_ULONG_PTR pulOperationStateLen), hSession)
P11_UNSUPPORTED_S(C_SetOperationState, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pOperationState, CK_ULONG ulOperationStateLen,
    CK_OBJECT_HANDLE hEncryptionKey, CK_OBJECT_HANDLE hAuthenticationKey),
    hSession)
P11_UNSUPPORTED_S(C_CopyObject, (CK_SESSION_HANDLE hSession,
    CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
    CK_OBJECT_HANDLE_PTR phNewObject), hSession)
P11_UNSUPPORTED_S(C_SetAttributeValue, (CK_SESSION_HANDLE hSession,
    CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount),
    hSession)
P11_UNSUPPORTED_S(C_DigestKey, (CK_SESSION_HANDLE hSession,
    CK_OBJECT_HANDLE hKey), hSession)
P11_UNSUPPORTED_S(C_SignRecoverInit, (CK_SESSION_HANDLE hSession,
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), hSession)
P11_UNSUPPORTED_S(C_SignRecover, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
    CK_ULONG_PTR pulSignatureLen), hSession)
P11_UNSUPPORTED_S(C_VerifyRecoverInit, (CK_SESSION_HANDLE hSession,
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), hSession)
P11_UNSUPPORTED_S(C_VerifyRecover, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen, CK_BYTE_PTR pData,
    CK_ULONG_PTR pulDataLen), hSession)
P11_UNSUPPORTED_S(C_DigestEncryptUpdate, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
    CK_ULONG_PTR pulEncryptedPartLen), hSession)
P11_UNSUPPORTED_S(C_DecryptDigestUpdate, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
    CK_ULONG_PTR pulPartLen), hSession)
P11_UNSUPPORTED_S(C_SignEncryptUpdate, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
    CK_ULONG_PTR pulEncryptedPartLen), hSession)
P11_UNSUPPORTED_S(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE hSession,
    CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
    CK_ULONG_PTR pulPartLen), hSession)
P11_UNSUPPORTED_S(C_GenerateKey, (CK_SESSION_HANDLE hSession,
    CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
    CK_OBJECT_HANDLE_PTR phKey), hSession)
P11_UNSUPPORTED_S(C_WrapKey, (CK_SESSION_HANDLE hSession,
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hWrappingKey,
    CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
    CK_ULONG_PTR pulWrappedKeyLen), hSession)
P11_UNSUPPORTED_S(C_UnwrapKey, (CK_SESSION_HANDLE hSession,
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hUnwrappingKey,
    CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen,
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
    CK_OBJECT_HANDLE_PTR phKey), hSession)
#pragma GCC diagnostic pop

CK_RV
C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = p11_unsupported_session(hSession);

	return rv == CKR_FUNCTION_NOT_SUPPORTED ? CKR_FUNCTION_NOT_PARALLEL :
	    rv;
}

CK_RV
C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = p11_unsupported_session(hSession);

	return rv == CKR_FUNCTION_NOT_SUPPORTED ? CKR_FUNCTION_NOT_PARALLEL :
	    rv;
}

/* PKCS#11 3.0 message-based API: no AEAD or message signing here. */
static CK_RV p11_login_user(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR_PTR,
    CK_ULONG, CK_UTF8CHAR_PTR, CK_ULONG);
static CK_RV p11_session_cancel(CK_SESSION_HANDLE, CK_FLAGS);
static CK_RV p11_msg_init(CK_SESSION_HANDLE, CK_MECHANISM_PTR,
    CK_OBJECT_HANDLE);
static CK_RV p11_msg_crypt(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
static CK_RV p11_msg_begin5(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG);
static CK_RV p11_msg_next(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR, CK_FLAGS);
static CK_RV p11_msg_final(CK_SESSION_HANDLE);
static CK_RV p11_msg_sign(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
static CK_RV p11_msg_begin3(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG);
static CK_RV p11_msg_verify(CK_SESSION_HANDLE, CK_VOID_PTR, CK_ULONG,
    CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG);

static CK_RV
p11_login_user(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
    CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
    CK_ULONG ulUsernameLen)
{
	/* PIV has no user names: a name is ignored (§5.6 allows it only
	 * for tokens that do not support names, so C_Login semantics). */
	(void)pUsername;
	(void)ulUsernameLen;
	return C_Login(hSession, userType, pPin, ulPinLen);
}

static CK_RV
p11_session_cancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	(void)flags;
	return p11_unsupported_session(hSession);
}

static CK_RV
p11_msg_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)m;
	(void)k;
	return p11_unsupported_session(h);
}

static CK_RV
p11_msg_crypt(CK_SESSION_HANDLE h, CK_VOID_PTR a, CK_ULONG b, CK_BYTE_PTR c,
    CK_ULONG d, CK_BYTE_PTR e, CK_ULONG f, CK_BYTE_PTR g, CK_ULONG_PTR i)
{
	(void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g;
	(void)i;
	return p11_unsupported_session(h);
}

static CK_RV
p11_msg_begin5(CK_SESSION_HANDLE h, CK_VOID_PTR a, CK_ULONG b, CK_BYTE_PTR c,
    CK_ULONG d)
{
	(void)a; (void)b; (void)c; (void)d;
	return p11_unsupported_session(h);
}

static CK_RV
p11_msg_next(CK_SESSION_HANDLE h, CK_VOID_PTR a, CK_ULONG b, CK_BYTE_PTR c,
    CK_ULONG d, CK_BYTE_PTR e, CK_ULONG_PTR f, CK_FLAGS g)
{
	(void)a; (void)b; (void)c; (void)d; (void)e; (void)f; (void)g;
	return p11_unsupported_session(h);
}

static CK_RV
p11_msg_final(CK_SESSION_HANDLE h)
{
	return p11_unsupported_session(h);
}

static CK_RV
p11_msg_sign(CK_SESSION_HANDLE h, CK_VOID_PTR a, CK_ULONG b, CK_BYTE_PTR c,
    CK_ULONG d, CK_BYTE_PTR e, CK_ULONG_PTR f)
{
	(void)a; (void)b; (void)c; (void)d; (void)e; (void)f;
	return p11_unsupported_session(h);
}

static CK_RV
p11_msg_begin3(CK_SESSION_HANDLE h, CK_VOID_PTR a, CK_ULONG b)
{
	(void)a; (void)b;
	return p11_unsupported_session(h);
}

static CK_RV
p11_msg_verify(CK_SESSION_HANDLE h, CK_VOID_PTR a, CK_ULONG b, CK_BYTE_PTR c,
    CK_ULONG d, CK_BYTE_PTR e, CK_ULONG f)
{
	(void)a; (void)b; (void)c; (void)d; (void)e; (void)f;
	return p11_unsupported_session(h);
}

/* ---- function lists and interfaces -------------------------------------- */

#define P11_FUNCS_240 \
	C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList,	\
	C_GetSlotList, C_GetSlotInfo, C_GetTokenInfo,			\
	C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN, \
	C_SetPIN, C_OpenSession, C_CloseSession, C_CloseAllSessions,	\
	C_GetSessionInfo, C_GetOperationState, C_SetOperationState,	\
	C_Login, C_Logout, C_CreateObject, C_CopyObject, C_DestroyObject, \
	C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue,	\
	C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal,		\
	C_EncryptInit, C_Encrypt, C_EncryptUpdate, C_EncryptFinal,	\
	C_DecryptInit, C_Decrypt, C_DecryptUpdate, C_DecryptFinal,	\
	C_DigestInit, C_Digest, C_DigestUpdate, C_DigestKey,		\
	C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate, C_SignFinal,	\
	C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify,	\
	C_VerifyUpdate, C_VerifyFinal, C_VerifyRecoverInit,		\
	C_VerifyRecover, C_DigestEncryptUpdate, C_DecryptDigestUpdate,	\
	C_SignEncryptUpdate, C_DecryptVerifyUpdate, C_GenerateKey,	\
	C_GenerateKeyPair, C_WrapKey, C_UnwrapKey, C_DeriveKey,		\
	C_SeedRandom, C_GenerateRandom, C_GetFunctionStatus,		\
	C_CancelFunction, C_WaitForSlotEvent

static CK_FUNCTION_LIST p11_list_240 = {
	{ 2, 40 }, P11_FUNCS_240
};

static CK_FUNCTION_LIST_3_0 p11_list_30 = {
	{ 3, 0 }, P11_FUNCS_240,
	C_GetInterfaceList, C_GetInterface, p11_login_user, p11_session_cancel,
	p11_msg_init, p11_msg_crypt, p11_msg_begin5, p11_msg_next,
	p11_msg_final,
	p11_msg_init, p11_msg_crypt, p11_msg_begin5, p11_msg_next,
	p11_msg_final,
	p11_msg_init, p11_msg_sign, p11_msg_begin3, p11_msg_sign,
	p11_msg_final,
	p11_msg_init, p11_msg_verify, p11_msg_begin3, p11_msg_verify,
	p11_msg_final,
};

static CK_CHAR p11_iface_name[] = "PKCS 11";

/*
 * 3.0 first: C_GetInterface(NULL, NULL) returns the newest.  No
 * CKF_INTERFACE_FORK_SAFE: that flag promises a forked child keeps its
 * sessions and login, and it does not (the USB handles are the parent's);
 * a child gets CKR_CRYPTOKI_NOT_INITIALIZED until its own C_Initialize.
 */
static CK_INTERFACE p11_interfaces[] = {
	{ p11_iface_name, &p11_list_30, 0 },
	{ p11_iface_name, &p11_list_240, 0 },
};

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (ppFunctionList == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &p11_list_240;
	return CKR_OK;
}

CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	CK_ULONG n = UTIL_ARRAY_LEN(p11_interfaces);

	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pInterfacesList == NULL) {
		*pulCount = n;
		return CKR_OK;
	}
	if (*pulCount < n) {
		*pulCount = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(pInterfacesList, p11_interfaces, sizeof(p11_interfaces));
	*pulCount = n;
	return CKR_OK;
}

CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
    CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	size_t i;

	if (ppInterface == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppInterface = NULL;
	for (i = 0; i < UTIL_ARRAY_LEN(p11_interfaces); i++) {
		CK_INTERFACE *it = &p11_interfaces[i];
		CK_VERSION *v = it->pFunctionList;

		if (pInterfaceName != NULL && strcmp((const char *)
		    pInterfaceName, (const char *)it->pInterfaceName) != 0)
			continue;
		if (pVersion != NULL && (pVersion->major != v->major ||
		    pVersion->minor != v->minor))
			continue;
		if ((it->flags & flags) != flags)
			continue;
		*ppInterface = it;
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
