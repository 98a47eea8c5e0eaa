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
 * emulated by umockdev and answered by the reader.  Nothing else changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

off_t lseek(int, off_t, int);
off64_t lseek64(int, off64_t, int);

static int
is_vtoken_socket(int fd)
{
	struct stat st;
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	const char *root = getenv("UMOCKDEV_DIR");
	size_t n;

	if (root == NULL || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return 0;
	memset(&sa, 0, sizeof(sa));
	if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0 ||
	    sa.sun_family != AF_UNIX)
		return 0;
	n = strlen(root);
	return strncmp(sa.sun_path, root, n) == 0 &&
	    strncmp(sa.sun_path + n, "/ioctl/dev/bus/usb/", 19) == 0;
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
