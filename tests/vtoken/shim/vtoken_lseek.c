/* SPDX-License-Identifier: MIT */
/*
 * vtoken_lseek.c — build/vtoken-lseek.so, preloaded by tests/with-vtoken
 * after libumockdev-preload.so.
 *
 * libusb_wrap_sys_device() rewinds the usbfs fd it is given with
 * lseek(fd, 0, SEEK_SET) before reading the descriptors from it.  Under
 * umockdev that fd is a socket to the emulated reader, and the preload
 * library does not emulate lseek, so the rewind fails with ESPIPE.  This
 * shim lets exactly that rewind succeed on a socket connected to an
 * umockdev ioctl endpoint under $UMOCKDEV_DIR; the read() that follows is
 * emulated by umockdev and answered by the reader.
 *
 * usbpiv locks the device node itself (F_OFD_SETLK on its own open of
 * /dev/bus/usb/BBB/DDD).  On a real node every open reaches the same
 * inode, so the locks of all processes meet; under umockdev every open is
 * a socket of its own, and locks on it would meet nobody.  So the OFD
 * lock commands on such a socket are carried out on one real file beside
 * the socket ("<socket>.ofdlock"), opened once per socket and closed with
 * it: the processes of one testbed then contend exactly as on a kernel
 * node.  Every other fcntl passes through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

off_t lseek(int, off_t, int);
off64_t lseek64(int, off64_t, int);

/* The peer path of a socket to an emulated usbfs node, or 0. */
static int
vtoken_peer(int fd, struct sockaddr_un *sa)
{
	struct stat st;
	socklen_t len = sizeof(*sa);
	const char *root = getenv("UMOCKDEV_DIR");
	size_t n;

	if (root == NULL || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	memset(sa, 0, sizeof(*sa));
	if (getpeername(fd, (struct sockaddr *)sa, &len) != 0 ||
	    sa->sun_family != AF_UNIX)
		return 0;
	n = strlen(root);
	return strncmp(sa->sun_path, root, n) == 0 &&
	    strncmp(sa->sun_path + n, "/ioctl/dev/bus/usb/", 19) == 0;
}

static int
is_vtoken_socket(int fd)
{
	struct sockaddr_un sa;

	return vtoken_peer(fd, &sa);
}

/* ---- OFD locks on the emulated node ---- */

#define MAX_FDS	4096
static int lockfd[MAX_FDS];	/* socket fd -> lock file fd + 1 */
static pthread_mutex_t lock_mu = PTHREAD_MUTEX_INITIALIZER;

static int
real_fcntl(int fd, int cmd, void *arg)
{
	int (*real)(int, int, ...);

	*(void **)&real = dlsym(RTLD_NEXT, "fcntl");
	return real(fd, cmd, arg);
}

static int
lock_file_of(int fd)
{
	struct sockaddr_un sa;
	char path[sizeof(sa.sun_path) + 16];
	int lfd;

	if (fd < 0 || fd >= MAX_FDS)
		return -1;
	pthread_mutex_lock(&lock_mu);
	lfd = lockfd[fd] - 1;
	if (lfd < 0 && vtoken_peer(fd, &sa)) {
		snprintf(path, sizeof(path), "%s.ofdlock", sa.sun_path);
		lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (lfd >= 0) {
			/* every user of the node meets on it, as on a real
			 * node (the umask would keep them apart) */
			(void)fchmod(lfd, 0666);
			lockfd[fd] = lfd + 1;
		}
	}
	pthread_mutex_unlock(&lock_mu);
	return lfd;
}

static int
ofd_cmd(int cmd)
{
	return cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW || cmd == F_OFD_GETLK;
}

int fcntl(int, int, ...);
int fcntl64(int, int, ...);

/* The lock commands on an emulated node go to its lock file. */
static int
fcntl_common(int fd, int cmd, void *arg)
{
	int lfd;

	if (ofd_cmd(cmd) && (lfd = lock_file_of(fd)) >= 0)
		return real_fcntl(lfd, cmd, arg);
	return real_fcntl(fd, cmd, arg);
}

int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

int close(int);

int
close(int fd)
{
	int (*real)(int);
	int lfd = -1;

	*(void **)&real = dlsym(RTLD_NEXT, "close");
	if (fd >= 0 && fd < MAX_FDS) {
		pthread_mutex_lock(&lock_mu);
		lfd = lockfd[fd] - 1;
		lockfd[fd] = 0;
		pthread_mutex_unlock(&lock_mu);
	}
	if (lfd >= 0)
		real(lfd);
	return real(fd);
}

off_t
lseek(int fd, off_t off, int whence)
{
	off_t (*real)(int, off_t, int);

	if (off == 0 && whence == SEEK_SET && is_vtoken_socket(fd))
		return 0;
	*(void **)&real = dlsym(RTLD_NEXT, "lseek");
	return real(fd, off, whence);
}

off64_t
lseek64(int fd, off64_t off, int whence)
{
	off64_t (*real)(int, off64_t, int);

	if (off == 0 && whence == SEEK_SET && is_vtoken_socket(fd))
		return 0;
	*(void **)&real = dlsym(RTLD_NEXT, "lseek64");
	return real(fd, off, whence);
}
