/* SPDX-License-Identifier: MIT */
/*
 * The module's state and what every call stands on: the locks
 * (pthreads or the application's callbacks), the gate that holds off
 * C_Finalize, fork detection, slot lookup and the PIV error mapping.
 * The bottom of pkcs11/'s order (p11.h): it uses no other p11_ file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11.h"
#include "../util/util.h"

struct p11_module p11_mod;
struct p11_module p11_abandoned;	/* a forked child's parent state */

static CK_C_INITIALIZE_ARGS p11_app_mutex;	/* app callbacks, if used */
static int p11_use_app_mutex;

/* ---- locks ---------------------------------------------------------------- */

void
p11_mutex_use(const CK_C_INITIALIZE_ARGS *a)
{
	p11_use_app_mutex = 0;
	if (a != NULL) {
		p11_app_mutex = *a;
		p11_use_app_mutex = 1;
	}
}

CK_RV
p11_mutex_new(void **m)
{
	pthread_mutex_t *pm;

	*m = NULL;
	if (p11_use_app_mutex)
		return p11_app_mutex.CreateMutex(m);
	if ((pm = calloc(1, sizeof(*pm))) == NULL)
		return CKR_HOST_MEMORY;
	if (pthread_mutex_init(pm, NULL) != 0) {
		free(pm);
		return CKR_CANT_LOCK;
	}
	*m = pm;
	return CKR_OK;
}

void
p11_mutex_free(void **m)
{
	if (*m == NULL)
		return;
	if (p11_use_app_mutex)
		p11_app_mutex.DestroyMutex(*m);
	else {
		pthread_mutex_destroy(*m);
		free(*m);
	}
	*m = NULL;
}

void
p11_lock(void *m)
{
	if (m == NULL)
		return;
	if (p11_use_app_mutex)
		(void)p11_app_mutex.LockMutex(m);
	else
		pthread_mutex_lock(m);
}

void
p11_unlock(void *m)
{
	if (m == NULL)
		return;
	if (p11_use_app_mutex)
		(void)p11_app_mutex.UnlockMutex(m);
	else
		pthread_mutex_unlock(m);
}

/*
 * The gate: every call that uses the module's state (slots, cards, the
 * backend) holds it for reading from p11_enter to p11_leave; C_Finalize
 * takes it for writing before it frees anything, so calls in flight
 * finish first and later ones find the module finalized.  Static, so it
 * outlives teardown.  glibc's default rwlock prefers readers, so a call
 * that enters twice (C_GetSlotList, then p11_slot_get) does not deadlock
 * against a waiting C_Finalize.
 */
static pthread_rwlock_t p11_gate = PTHREAD_RWLOCK_INITIALIZER;

CK_RV
p11_enter(void)
{
	CK_RV rv;

	if (pthread_rwlock_rdlock(&p11_gate) != 0)
		return CKR_CANT_LOCK;
	if ((rv = p11_check_init()) != CKR_OK ||
	    __atomic_load_n(&p11_mod.finalizing, __ATOMIC_SEQ_CST)) {
		pthread_rwlock_unlock(&p11_gate);
		return rv != CKR_OK ? rv : CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	return CKR_OK;
}

void
p11_leave(void)
{
	pthread_rwlock_unlock(&p11_gate);
}

void
p11_gate_close(void)
{
	pthread_rwlock_wrlock(&p11_gate);
}

void
p11_gate_open(void)
{
	pthread_rwlock_unlock(&p11_gate);
}

/* ---- helpers ---------------------------------------------------------------- */

CK_RV
p11_check_init(void)
{
	/* In a forked child the parent's state is not ours: every call
	 * before the child's own C_Initialize is refused. */
	if (!p11_mod.initialized || p11_mod.pid != getpid())
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	return CKR_OK;
}

void
p11_padded(CK_UTF8CHAR *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	memset(dst, ' ', n);
	memcpy(dst, src, l < n ? l : n);
}

CK_RV
p11_rv_from_piv(int r)
{
	switch (r) {
	case PIV_OK:
		return CKR_OK;
	case PIV_ERR_ARG:
		return CKR_ARGUMENTS_BAD;
	case PIV_ERR_NOMEM:
		return CKR_HOST_MEMORY;
	case PIV_ERR_REMOVED:
		return CKR_DEVICE_REMOVED;
	case PIV_ERR_PIN_WRONG:
		return CKR_PIN_INCORRECT;
	case PIV_ERR_PIN_BLOCKED:
		return CKR_PIN_LOCKED;
	case PIV_ERR_AUTH_REQUIRED:
		return CKR_USER_NOT_LOGGED_IN;
	case PIV_ERR_NOT_FOUND:
		return CKR_OBJECT_HANDLE_INVALID;
	case PIV_ERR_BAD_DATA:
		return CKR_DATA_INVALID;
	case PIV_ERR_NOT_SUPPORTED:
		return CKR_FUNCTION_NOT_SUPPORTED;
	case PIV_ERR_CONDITIONS:
	case PIV_ERR_TOUCH_TIMEOUT:
		return CKR_FUNCTION_REJECTED;
	case PIV_ERR_BUFFER:
	case PIV_ERR_NO_SPACE:
		return CKR_DEVICE_MEMORY;
	case PIV_ERR_CRYPTO:
		return CKR_FUNCTION_FAILED;
	default:
		return CKR_DEVICE_ERROR;
	}
}

CK_RV
p11_slot_get(CK_SLOT_ID id, struct p11_slot **slot)
{
	CK_RV rv;

	*slot = NULL;
	if ((rv = p11_enter()) != CKR_OK)
		return rv;
	p11_lock(p11_mod.lock);
	if (id >= p11_mod.nslots || !p11_mod.slots[id].used) {
		p11_unlock(p11_mod.lock);
		p11_leave();
		return CKR_SLOT_ID_INVALID;
	}
	*slot = &p11_mod.slots[id];
	p11_unlock(p11_mod.lock);
	p11_lock((*slot)->lock);
	return CKR_OK;
}

/* Ends what p11_slot_get began: the slot's lock, then the gate. */
void
p11_slot_release(struct p11_slot *slot)
{
	if (slot != NULL) {
		p11_unlock(slot->lock);
		p11_leave();
	}
}
