/* SPDX-License-Identifier: MIT */
/*
 * usb/usb_lock.c — sharing one device between processes without a daemon.
 *
 * The lock.  An open file description lock (F_OFD_SETLK) on byte 0 of the
 * device node itself: every process that can use the device can open its
 * node, nobody else can, so nobody else can hold, plant or break the lock;
 * root and users meet on the same inode whoever comes first; the kernel
 * drops it when a holder dies.  OFD locks belong to the open file
 * description, so two handles in one process exclude each other too, and
 * a forked child holds nothing of its parent's.
 *
 * Fair waiting.  A waiter holds a shared lock on byte 1 while it waits.
 * A holder that finds a waiter there when it releases does not take the
 * lock again until somebody else has had it (or YIELD_MS passed), so two
 * busy processes alternate instead of one starving the other.
 *
 * Shared state.  What one process must learn from the others — "somebody
 * else used the device since you did", "a PIN was changed or refused",
 * "this slot was powered up afresh" — lives in small files, one per user
 * id and device: DIR/usbpiv-BUS-ADDR.UID, in the first usable DIR of
 * $USBPIV_LOCK_DIR, /run/usbpiv (a sticky, world-writable directory that
 * `make install` sets up through tmpfiles.d) and $XDG_RUNTIME_DIR.  Each
 * process writes only its own user's file and reads all of them, under
 * the lock.  A file is read only when its owner is the user its name
 * says, and written only when that is us: in a sticky directory no user
 * can alter another's file, so a planted file or symlink can at worst
 * make usbpiv see a change that did not happen (one more SELECT, a kept
 * PIN forgotten), never hide one that did.  Where no directory is usable
 * the state is private, and then every transaction is taken as following
 * someone else's and every PIN event as unknown (the safe side).
 */
#define _GNU_SOURCE
#include "usb.h"
#include "usb_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"

#define STATE_MAGIC	0x31657461747370ULL	/* "pstate1" */
#define STATE_FILES_MAX	32	/* user files read per device */
#define YIELD_MS	50	/* a releaser lets a waiter in first */
#define POLL_MS		1	/* a waiter's retry interval */
#define ALT_NAMES	4	/* .UID, .UID.1 .. .UID.3 if squatted */

/* One user's file: magic, transactions, then the event counters. */
struct state_rec {
	uint64_t magic;
	uint64_t txn;
	uint64_t ev[USB_SHARED_KINDS];
};

struct usb_lock {
	int fd;			/* the device node (borrowed) */
	pid_t pid;		/* the process that took `held` */
	int held;
	int yield;		/* a waiter was there at our last release */
	int dirfd;		/* state directory, -1: private state */
	char prefix[48];	/* "usbpiv-BUS-ADDR." */
	int sfd;		/* our user's file */
	struct state_rec mine;
	int have_last;
	uint64_t last_txn;	/* combined txn signature we left behind */
	uint64_t seen_txn;	/* ... found at the last acquire */
	uint64_t ev_sig[USB_SHARED_KINDS];
	uint64_t private_gen;	/* private state: bumped per acquire */
};

/* ---- the lock on the node ------------------------------------------------ */

static int
ofd(int fd, int cmd, short type, off_t start)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = 1;
	return fcntl(fd, cmd, &fl);
}

/* Does another open file description hold a lock on byte `at`? */
static int
held_by_other(int fd, off_t at)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;	/* conflicts with any lock */
	fl.l_whence = SEEK_SET;
	fl.l_start = at;
	fl.l_len = 1;
	return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

static int
lock_errno(void)
{
	return errno == EACCES || errno == EPERM ? USB_ERR_ACCESS : USB_ERR_IO;
}

/* ---- the shared state files ---------------------------------------------- */

static int
dir_usable(int dfd)
{
	struct stat st;

	if (fstat(dfd, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	/* writable by others: only with the sticky bit (no one may replace
	 * another user's file) */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return 0;
	return 1;
}

static int
open_state_dir(void)
{
	const char *cand[3];
	size_t i;
	int dfd;

	cand[0] = getenv("USBPIV_LOCK_DIR");
	cand[1] = "/run/usbpiv";
	cand[2] = getenv("XDG_RUNTIME_DIR");
	for (i = 0; i < UTIL_ARRAY_LEN(cand); i++) {
		if (cand[i] == NULL || cand[i][0] != '/')
			continue;
		dfd = open(cand[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		if (dir_usable(dfd) && faccessat(dfd, ".", W_OK | X_OK,
		    AT_EACCESS) == 0)
			return dfd;
		close(dfd);
	}
	return -1;
}

static void
rec_read(int fd, struct state_rec *r)
{
	memset(r, 0, sizeof(*r));
	if (pread(fd, r, sizeof(*r), 0) != (ssize_t)sizeof(*r) ||
	    r->magic != STATE_MAGIC)
		memset(r, 0, sizeof(*r));	/* new or garbage: all zero */
}

/* Opens (creating) our user's file; a name someone else squats is passed
 * over for the next. */
static int
open_mine(usb_lock_t *lk)
{
	char name[96];
	struct stat st;
	uid_t uid = geteuid();
	int k, fd, w;

	for (k = 0; k < ALT_NAMES; k++) {
		w = k == 0 ? snprintf(name, sizeof(name), "%s%u", lk->prefix,
		    (unsigned)uid) : snprintf(name, sizeof(name), "%s%u.%d",
		    lk->prefix, (unsigned)uid, k);
		if (w < 0 || (size_t)w >= sizeof(name))
			return -1;
		fd = openat(lk->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC | O_NONBLOCK, 0644);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == uid && st.st_nlink == 1)
			return fd;
		util_trace(1, "usb: state file %s is not ours, passing over",
		    name);
		close(fd);
	}
	return -1;
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
	size_t i;

	for (i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Reads every user's file of this device and folds each counter into an
 * order-free signature (XOR of per-file hashes).  Files whose owner is not
 * the user their name says are skipped.
 */
static void
state_scan(usb_lock_t *lk, uint64_t *txn, uint64_t ev[USB_SHARED_KINDS])
{
	struct state_rec r;
	struct dirent *de;
	struct stat st;
	DIR *d;
	size_t plen = strlen(lk->prefix), files = 0, k;
	char *end;
	unsigned long uid;
	int dfd, fd;

	*txn = 0;
	memset(ev, 0, sizeof(uint64_t) * USB_SHARED_KINDS);
	if ((dfd = dup(lk->dirfd)) < 0)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, lk->prefix, plen) != 0)
			continue;
		errno = 0;
		uid = strtoul(de->d_name + plen, &end, 10);
		if (errno != 0 || end == de->d_name + plen ||
		    (*end != '\0' && *end != '.'))
			continue;
		if (++files > STATE_FILES_MAX) {
			/* flooded: report a change every time */
			*txn ^= util_now_ms() | 1;
			break;
		}
		fd = openat(lk->dirfd, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (unsigned long)st.st_uid != uid) {
			close(fd);
			continue;
		}
		rec_read(fd, &r);
		close(fd);
		*txn ^= mix(mix(0xcbf29ce484222325ULL, uid), r.txn);
		for (k = 0; k < USB_SHARED_KINDS; k++)
			ev[k] ^= mix(mix(0xcbf29ce484222325ULL + k, uid),
			    r.ev[k]);
	}
	closedir(d);
}

static int
state_write(usb_lock_t *lk)
{
	lk->mine.magic = STATE_MAGIC;
	if (pwrite(lk->sfd, &lk->mine, sizeof(lk->mine), 0) !=
	    (ssize_t)sizeof(lk->mine))
		return USB_ERR_IO;
	return USB_OK;
}

/* ---- the object ------------------------------------------------------------ */

int
usb_lock_new(int fd, const char *name, usb_lock_t **lkp)
{
	usb_lock_t *lk = NULL;
	size_t i;
	int w;

	if (lkp != NULL)
		*lkp = NULL;
	if (fd < 0 || name == NULL || name[0] == '\0' || lkp == NULL)
		return USB_ERR_ARG;
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return USB_ERR_NOMEM;
	lk->fd = fd;
	lk->sfd = -1;
	w = snprintf(lk->prefix, sizeof(lk->prefix), "usbpiv-%s.", name);
	if (w < 0 || (size_t)w >= sizeof(lk->prefix)) {
		free(lk);
		return USB_ERR_ARG;
	}
	for (i = 0; lk->prefix[i] != '\0'; i++) {
		char ch = lk->prefix[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			lk->prefix[i] = '_';
	}
	lk->dirfd = open_state_dir();
	if (lk->dirfd >= 0 && (lk->sfd = open_mine(lk)) < 0) {
		close(lk->dirfd);
		lk->dirfd = -1;
	}
	if (lk->dirfd < 0)
		util_trace(1, "usb: no shared state directory: every "
		    "transaction re-checks the card");
	else
		rec_read(lk->sfd, &lk->mine);
	*lkp = lk;
	return USB_OK;
}

void
usb_lock_free(usb_lock_t **lkp)
{
	usb_lock_t *lk;

	if (lkp == NULL || (lk = *lkp) == NULL)
		return;
	if (lk->held && lk->pid == getpid())
		(void)ofd(lk->fd, F_OFD_SETLK, F_UNLCK, 0);
	if (lk->sfd >= 0)
		close(lk->sfd);
	if (lk->dirfd >= 0)
		close(lk->dirfd);
	free(lk);
	*lkp = NULL;
}

int
usb_lock_shared(const usb_lock_t *lk)
{
	return lk != NULL && lk->dirfd >= 0;
}

/* A forked child shares its parent's open file description of the node,
 * and so its OFD locks: the child must open the device anew (usb_begin
 * refuses a handle opened by another process). */
int
usb_lock_acquire(usb_lock_t *lk, int *ms, int *other)
{
	uint64_t start, t0, txn;
	int waiting = 0, r = USB_OK, slept;

	if (other != NULL)
		*other = 0;
	if (lk == NULL || ms == NULL || other == NULL)
		return USB_ERR_ARG;
	if (lk->held)
		return USB_ERR_ARG;	/* not recursive */
	start = util_now_ms();
	/* we had it last with someone waiting: let them in first */
	if (lk->yield) {
		lk->yield = 0;
		for (slept = 0; slept < YIELD_MS && *ms > 0; slept += POLL_MS) {
			if (held_by_other(lk->fd, 0) ||
			    !held_by_other(lk->fd, 1))
				break;
			t0 = util_now_ms();
			util_sleep_ms(POLL_MS);
			util_charge(ms, t0);
		}
	}
	for (;;) {
		if (ofd(lk->fd, F_OFD_SETLK, F_WRLCK, 0) == 0)
			break;
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			r = lock_errno();
			goto out;
		}
		if (*ms <= 0) {
			r = USB_ERR_LOCKED;
			goto out;
		}
		if (!waiting && ofd(lk->fd, F_OFD_SETLK, F_RDLCK, 1) == 0)
			waiting = 1;
		t0 = util_now_ms();
		util_sleep_ms(POLL_MS);
		util_charge(ms, t0);
	}
	lk->held = 1;
	lk->pid = getpid();
out:
	if (waiting)
		(void)ofd(lk->fd, F_OFD_SETLK, F_UNLCK, 1);
	if (r != USB_OK)
		return r;
	if (util_now_ms() - start > 100)
		util_trace(2, "usb: waited %llu ms for the device",
		    (unsigned long long)(util_now_ms() - start));
	if (lk->dirfd < 0) {
		lk->private_gen++;
		*other = lk->have_last;
		for (size_t k = 0; k < USB_SHARED_KINDS; k++)
			lk->ev_sig[k] = k < USB_SHARED_RESET0 ?
			    lk->private_gen : 0;
		return USB_OK;
	}
	state_scan(lk, &txn, lk->ev_sig);
	rec_read(lk->sfd, &lk->mine);
	lk->seen_txn = txn;
	if (lk->have_last && txn != lk->last_txn)
		*other = 1;
	return USB_OK;
}

int
usb_lock_release(usb_lock_t *lk, int used)
{
	uint64_t ev[USB_SHARED_KINDS];
	int r = USB_OK;

	if (lk == NULL || !lk->held || lk->pid != getpid())
		return USB_ERR_ARG;
	if (lk->dirfd >= 0) {
		if (used) {
			lk->mine.txn++;
			r = state_write(lk);
		}
		/* what we leave behind is what we expect to find next time */
		state_scan(lk, &lk->last_txn, ev);
		memcpy(lk->ev_sig, ev, sizeof(ev));
	}
	lk->have_last = r == USB_OK;
	lk->yield = held_by_other(lk->fd, 1);
	if (ofd(lk->fd, F_OFD_SETLK, F_UNLCK, 0) != 0 && r == USB_OK)
		r = lock_errno();
	lk->held = 0;
	return r;
}

int
usb_lock_note(usb_lock_t *lk, int kind)
{
	int r;

	if (lk == NULL || kind < 0 || kind >= USB_SHARED_KINDS || !lk->held)
		return USB_ERR_ARG;
	if (lk->dirfd < 0)
		return USB_OK;
	lk->mine.ev[kind]++;
	if ((r = state_write(lk)) != USB_OK)
		return r;
	state_scan(lk, &lk->seen_txn, lk->ev_sig);
	return USB_OK;
}

uint64_t
usb_lock_events(const usb_lock_t *lk, int kind)
{
	if (lk == NULL || kind < 0 || kind >= USB_SHARED_KINDS)
		return 0;
	return lk->ev_sig[kind];
}

uint64_t
usb_lock_txn(const usb_lock_t *lk)
{
	return lk != NULL ? lk->mine.txn : 0;
}
