/*
 * usb/usb_lock.c — the per-device lock file and its transaction counter.
 *
 * flock() rather than fcntl() locks: they belong to the open file
 * description, so two usb_dev_t in one process exclude each other too.
 * The fd is opened O_CLOEXEC (no leak into exec'd programs) and reopened
 * when the pid changed (a forked child must not share the parent's open
 * file description, or both would "hold" the lock at once).  O_NOFOLLOW:
 * in /tmp a planted symlink must not redirect our writes.
 */
#include "usb.h"
#include "usb_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/util.h"

#define LOCK_PATH_MAX	512
#define BACKOFF_MIN_MS	1
#define BACKOFF_MAX_MS	10

struct usb_lock {
	char path[LOCK_PATH_MAX];
	int fd;			/* -1 until first acquire */
	pid_t pid;		/* the process that opened fd */
	int held;
	int have_last;		/* last is valid */
	uint64_t last;		/* counter as this process last left it */
	uint64_t seen;		/* counter as read at the last acquire */
};

static int
dir_ok(const char *d)
{
	struct stat st;

	return d != NULL && d[0] == '/' && stat(d, &st) == 0 &&
	    S_ISDIR(st.st_mode) && access(d, W_OK | X_OK) == 0;
}

int
usb_lock_dir(char *dir, size_t cap)
{
	const char *cand[4];
	size_t i;
	int w;

	if (dir == NULL || cap == 0)
		return USB_ERR_ARG;
	dir[0] = '\0';
	cand[0] = getenv("USBPIV_LOCK_DIR");
	cand[1] = "/run/usbpiv";
	cand[2] = getenv("XDG_RUNTIME_DIR");
	cand[3] = "/tmp";
	for (i = 0; i < UTIL_ARRAY_LEN(cand); i++) {
		if (!dir_ok(cand[i]))
			continue;
		w = snprintf(dir, cap, "%s", cand[i]);
		if (w < 0 || (size_t)w >= cap) {
			dir[0] = '\0';
			continue;
		}
		return USB_OK;
	}
	return USB_ERR_ACCESS;
}

int
usb_lock_name(const char *path, uint16_t vid, uint16_t pid,
    const char *serial, char *out, size_t cap)
{
	size_t i, n;
	int w;

	if (out == NULL || cap == 0)
		return USB_ERR_ARG;
	out[0] = '\0';
	if (path != NULL && path[0] != '\0' && strchr(path, '-') != NULL) {
		n = strcspn(path, ":");
		if (n >= cap)
			return USB_ERR_ARG;
		memcpy(out, path, n);
		out[n] = '\0';
	} else {
		w = snprintf(out, cap, "%04x:%04x:%s", vid, pid,
		    serial != NULL ? serial : "");
		if (w < 0 || (size_t)w >= cap) {
			out[0] = '\0';
			return USB_ERR_ARG;
		}
	}
	for (i = 0; out[i] != '\0'; i++) {
		char ch = out[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		    ch == '_' || ch == ':'))
			out[i] = '_';
	}
	return USB_OK;
}

int
usb_lock_new(const char *name, usb_lock_t **lkp)
{
	usb_lock_t *lk = NULL;
	char dir[LOCK_PATH_MAX];
	size_t i;
	int r, w;

	if (lkp != NULL)
		*lkp = NULL;
	if (name == NULL || name[0] == '\0' || lkp == NULL)
		return USB_ERR_ARG;
	if ((r = usb_lock_dir(dir, sizeof(dir))) != USB_OK)
		return r;
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return USB_ERR_NOMEM;
	lk->fd = -1;
	w = snprintf(lk->path, sizeof(lk->path), "%s/usbpiv-%s.lock", dir,
	    name);
	if (w < 0 || (size_t)w >= sizeof(lk->path)) {
		free(lk);
		return USB_ERR_ARG;
	}
	/* the name part must not climb out of the directory */
	for (i = strlen(dir) + 1; lk->path[i] != '\0'; i++)
		if (lk->path[i] == '/')
			lk->path[i] = '_';
	*lkp = lk;
	return USB_OK;
}

void
usb_lock_free(usb_lock_t **lkp)
{
	usb_lock_t *lk;

	if (lkp == NULL || (lk = *lkp) == NULL)
		return;
	if (lk->fd >= 0) {
		if (lk->held && lk->pid == getpid())
			flock(lk->fd, LOCK_UN);
		close(lk->fd);
	}
	free(lk);
	*lkp = NULL;
}

const char *
usb_lock_path(const usb_lock_t *lk)
{
	return lk != NULL ? lk->path : "";
}

uint64_t
usb_lock_counter(const usb_lock_t *lk)
{
	return lk != NULL ? lk->seen : 0;
}

/* Opens (or after a fork, reopens) the lock file. */
static int
lock_open(usb_lock_t *lk)
{
	if (lk->fd >= 0 && lk->pid == getpid())
		return USB_OK;
	if (lk->fd >= 0) {
		/* inherited across fork: the parent's lock, not ours */
		close(lk->fd);
		lk->fd = -1;
		lk->held = 0;
		lk->have_last = 0;
	}
	lk->fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0666);
	if (lk->fd < 0)
		return errno == EACCES || errno == EPERM || errno == ELOOP ?
		    USB_ERR_ACCESS : USB_ERR_IO;
	lk->pid = getpid();
	return USB_OK;
}

static uint64_t
counter_read(int fd)
{
	uint8_t b[8];
	uint64_t v = 0;
	ssize_t got;
	int i;

	got = pread(fd, b, sizeof(b), 0);
	if (got != (ssize_t)sizeof(b))
		return 0;	/* new (empty) file: no transaction yet */
	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

int
usb_lock_acquire(usb_lock_t *lk, int *ms, int *other)
{
	uint64_t start;
	int r, wait = BACKOFF_MIN_MS;

	if (other != NULL)
		*other = 0;
	if (lk == NULL || ms == NULL || other == NULL)
		return USB_ERR_ARG;
	if (lk->held && lk->pid == getpid())
		return USB_ERR_ARG;	/* not recursive */
	if ((r = lock_open(lk)) != USB_OK)
		return r;
	for (;;) {
		if (flock(lk->fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return USB_ERR_IO;
		if (*ms <= 0)
			return USB_ERR_LOCKED;
		start = util_now_ms();
		util_sleep_ms(wait < *ms ? wait : *ms);
		util_charge(ms, start);
		wait = wait * 2 < BACKOFF_MAX_MS ? wait * 2 : BACKOFF_MAX_MS;
	}
	lk->held = 1;
	lk->seen = counter_read(lk->fd);
	if (lk->have_last && lk->seen != lk->last)
		*other = 1;
	return USB_OK;
}

int
usb_lock_release(usb_lock_t *lk, int used)
{
	uint8_t b[8];
	uint64_t v;
	int i, r = USB_OK;

	if (lk == NULL || !lk->held || lk->fd < 0 || lk->pid != getpid())
		return USB_ERR_ARG;
	if (used) {
		v = lk->seen + 1;
		for (i = 0; i < 8; i++)
			b[i] = (uint8_t)(v >> (8 * i));
		if (pwrite(lk->fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
			r = USB_ERR_IO;		/* still unlock below */
		lk->seen = v;
	}
	/* what we leave behind is what we expect to find next time */
	lk->last = lk->seen;
	lk->have_last = r == USB_OK;
	if (flock(lk->fd, LOCK_UN) != 0 && r == USB_OK)
		r = USB_ERR_IO;
	lk->held = 0;
	return r;
}
