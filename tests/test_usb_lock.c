/*
 * tests/test_usb_lock.c — the per-device lock and its transaction counter
 * (usb/usb_int.h), which usb_begin/usb_end wrap around the claim: mutual
 * exclusion between processes, the "someone else used it" signal, the
 * bounded wait, fork and exec hygiene, the directory fallback.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../usb/usb.h"
#include "../usb/usb_int.h"

#define CYCLES	400

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/usbpiv-lock-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return setenv("USBPIV_LOCK_DIR", dir, 1);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static uint64_t
file_u64(const char *path)
{
	uint8_t b[8];
	uint64_t v = 0;
	int fd, i;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (read(fd, b, sizeof(b)) == (ssize_t)sizeof(b))
		for (i = 7; i >= 0; i--)
			v = v << 8 | b[i];
	close(fd);
	return v;
}

static void
file_put_u64(const char *path, uint64_t v)
{
	uint8_t b[8];
	int fd, i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, sizeof(b)), sizeof(b));
	close(fd);
}

/*
 * One child: CYCLES lock / read-modify-write / unlock rounds on a shared
 * counter file.  Checks inside that the "other" signal is exactly right:
 * set iff the shared count moved since this process last left it.
 * Exit status: 0 ok, 1 wrong signal, 2 lock error; bumps seen on fd.
 */
static void
child(const char *count_path, int report_fd, int go_fd)
{
	usb_lock_t *lk = NULL;
	uint64_t v, mine = UINT64_MAX;
	unsigned bumps = 0;
	int i, ms, other;
	char c;

	if (read(go_fd, &c, 1) != 1)	/* start together */
		_exit(2);
	if (usb_lock_new("two-procs", &lk) != USB_OK)
		_exit(2);
	for (i = 0; i < CYCLES; i++) {
		ms = 20000;
		if (usb_lock_acquire(lk, &ms, &other) != USB_OK)
			_exit(2);
		v = file_u64(count_path);
		if (mine != UINT64_MAX && other != (v != mine))
			_exit(1);
		bumps += other;
		if (i % 7 == 0)
			usleep(100);	/* widen the window */
		file_put_u64(count_path, v + 1);
		mine = v + 1;
		if (usb_lock_release(lk, 1) != USB_OK)
			_exit(2);
		if (i % 3 == 0)
			usleep(2000);	/* let the other one in */
	}
	usb_lock_free(&lk);
	if (write(report_fd, &bumps, sizeof(bumps)) != sizeof(bumps))
		_exit(2);
	_exit(0);
}

static void
test_two_processes_no_lost_updates(void **state)
{
	char count_path[128];
	int rep[2], go[2], st, k;
	unsigned bumps[2];
	pid_t pid[2];
	usb_lock_t *lk = NULL;

	(void)state;
	snprintf(count_path, sizeof(count_path), "%s/count", dir);
	file_put_u64(count_path, 0);
	assert_int_equal(pipe(rep), 0);
	assert_int_equal(pipe(go), 0);
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			close(rep[0]);
			close(go[1]);
			child(count_path, rep[1], go[0]);
		}
	}
	close(rep[1]);
	close(go[0]);
	assert_int_equal(write(go[1], "gg", 2), 2);
	close(go[1]);
	for (k = 0; k < 2; k++) {
		assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 1)
			fail_msg("child %d: wrong 'other process' signal", k);
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	for (k = 0; k < 2; k++)
		assert_int_equal(read(rep[0], &bumps[k], sizeof(bumps[k])),
		    sizeof(bumps[k]));
	close(rep[0]);
	/* no lost updates */
	assert_int_equal(file_u64(count_path), 2 * CYCLES);
	/* the lock's own counter counted every transaction */
	assert_int_equal(usb_lock_new("two-procs", &lk), USB_OK);
	assert_int_equal(file_u64(usb_lock_path(lk)), 2 * CYCLES);
	usb_lock_free(&lk);
	print_message("generation bumps seen: %u and %u of %d cycles each\n",
	    bumps[0], bumps[1], CYCLES);
	/* with the pauses outside the lock the two interleave; the exact
	 * count is the scheduler's, the signal's correctness was checked
	 * at every cycle in the children */
	assert_true(bumps[0] + bumps[1] > 0);
}

/* Two holders in one process: flock locks belong to the open file, so
 * they exclude each other too.  The signal, step by step. */
static void
test_other_signal_sequence(void **state)
{
	usb_lock_t *a = NULL, *b = NULL;
	int ms, other;

	(void)state;
	assert_int_equal(usb_lock_new("seq", &a), USB_OK);
	assert_int_equal(usb_lock_new("seq", &b), USB_OK);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 0);		/* first: nothing cached */
	/* b waits its budget out while a holds it */
	ms = 30;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_ERR_LOCKED);
	assert_int_equal(ms, 0);
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_OK);
	assert_int_equal(other, 0);		/* b's first */
	assert_int_equal(usb_lock_release(b, 1), USB_OK);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 1);		/* b ran since */
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 0);		/* nobody ran since */
	/* not recursive */
	ms = 10;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_ERR_ARG);
	/* an aborted transaction does not count as a use */
	assert_int_equal(usb_lock_release(a, 0), USB_OK);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_OK);
	assert_int_equal(other, 1);		/* a's used one, before */
	assert_int_equal(usb_lock_release(b, 0), USB_OK);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 0);		/* b's was aborted */
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	assert_int_equal(usb_lock_counter(a), 4);	/* 4 used, 2 aborted */
	/* release without holding */
	assert_int_equal(usb_lock_release(a, 1), USB_ERR_ARG);
	usb_lock_free(&a);
	assert_null(a);
	usb_lock_free(&b);
	usb_lock_free(&b);	/* NULL: fine */
}

/* A forked child inherits the holder's fd; it must not share the hold. */
static void
test_fork_does_not_share_the_hold(void **state)
{
	usb_lock_t *lk = NULL;
	int ms, other, st;
	pid_t pid;

	(void)state;
	assert_int_equal(usb_lock_new("fork", &lk), USB_OK);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cms = 50, cother;

		/* same object, other process: reopens, then must wait */
		_exit(usb_lock_acquire(lk, &cms, &cother) == USB_ERR_LOCKED ?
		    0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the child's exit did not drop our hold either */
	assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	usb_lock_free(&lk);
}

/* The lock fd must not leak into programs we exec. */
static void
test_fd_is_cloexec(void **state)
{
	usb_lock_t *lk = NULL;
	char link[64], target[PATH_MAX];
	int fd, found = 0, ms = 1000, other;
	ssize_t n;

	(void)state;
	assert_int_equal(usb_lock_new("cloexec", &lk), USB_OK);
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
	for (fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, usb_lock_path(lk)) != 0)
			continue;
		found = 1;
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	}
	assert_true(found);
	assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	usb_lock_free(&lk);
}

static void
test_counter_garbage_tolerated(void **state)
{
	usb_lock_t *lk = NULL;
	int fd, ms = 1000, other;

	(void)state;
	assert_int_equal(usb_lock_new("garbage", &lk), USB_OK);
	/* a short file (3 bytes) reads as 0 */
	fd = open(usb_lock_path(lk), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
	assert_int_equal(usb_lock_counter(lk), 0);
	assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	assert_int_equal(file_u64(usb_lock_path(lk)), 1);
	/* someone scribbles a value: seen as another user */
	file_put_u64(usb_lock_path(lk), UINT64_MAX);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
	assert_int_equal(other, 1);
	/* and the counter wraps rather than misbehaves */
	assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	assert_int_equal(file_u64(usb_lock_path(lk)), 0);
	usb_lock_free(&lk);
}

/* A symlink planted at the lock path is not followed. */
static void
test_symlink_refused(void **state)
{
	usb_lock_t *lk = NULL;
	char victim[128];
	int ms = 1000, other;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_int_equal(usb_lock_new("symlink", &lk), USB_OK);
	assert_int_equal(symlink(victim, usb_lock_path(lk)), 0);
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_ERR_ACCESS);
	assert_int_equal(access(victim, F_OK), -1);
	usb_lock_free(&lk);
}

static void
test_lock_dir_fallback(void **state)
{
	char got[256], xdg[128], file[128], expect[256];
	struct stat st;
	int fd;

	(void)state;
	snprintf(xdg, sizeof(xdg), "%s/xdg", dir);
	assert_int_equal(mkdir(xdg, 0700), 0);
	snprintf(file, sizeof(file), "%s/plainfile", dir);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);

	/* $USBPIV_LOCK_DIR first */
	assert_int_equal(usb_lock_dir(got, sizeof(got)), USB_OK);
	assert_string_equal(got, dir);
	/* missing, a file, relative: each skipped */
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	if (stat("/run/usbpiv", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/run/usbpiv", W_OK | X_OK) == 0)
		snprintf(expect, sizeof(expect), "/run/usbpiv");
	else
		snprintf(expect, sizeof(expect), "%s", xdg);
	setenv("USBPIV_LOCK_DIR", "/nonexistent/usbpiv", 1);
	assert_int_equal(usb_lock_dir(got, sizeof(got)), USB_OK);
	assert_string_equal(got, expect);
	setenv("USBPIV_LOCK_DIR", file, 1);
	assert_int_equal(usb_lock_dir(got, sizeof(got)), USB_OK);
	assert_string_equal(got, expect);
	setenv("USBPIV_LOCK_DIR", "relative/dir", 1);
	assert_int_equal(usb_lock_dir(got, sizeof(got)), USB_OK);
	assert_string_equal(got, expect);
	/* and past $XDG_RUNTIME_DIR to /tmp */
	if (strcmp(expect, xdg) == 0) {
		setenv("XDG_RUNTIME_DIR", file, 1);
		assert_int_equal(usb_lock_dir(got, sizeof(got)), USB_OK);
		assert_string_equal(got, "/tmp");
		unsetenv("XDG_RUNTIME_DIR");
		assert_int_equal(usb_lock_dir(got, sizeof(got)), USB_OK);
		assert_string_equal(got, "/tmp");
	}
	/* too small an output for any candidate: none, and "" */
	assert_int_equal(usb_lock_dir(got, 3), USB_ERR_ACCESS);
	assert_string_equal(got, "");
	setenv("USBPIV_LOCK_DIR", dir, 1);
	unsetenv("XDG_RUNTIME_DIR");
}

static void
test_lock_names(void **state)
{
	usb_lock_t *lk = NULL;
	char name[64];
	const char *p;

	(void)state;
	assert_int_equal(usb_lock_name("1-2.3:0", 0x1050, 0x407, "X", name,
	    sizeof(name)), USB_OK);
	assert_string_equal(name, "1-2.3");	/* per device, not iface */
	assert_int_equal(usb_lock_name("", 0x1050, 0x407, "12345", name,
	    sizeof(name)), USB_OK);
	assert_string_equal(name, "1050:0407:12345");
	/* a hostile serial cannot climb out of the directory */
	assert_int_equal(usb_lock_name(NULL, 0x1050, 0x407, "../../etc/x",
	    name, sizeof(name)), USB_OK);
	assert_null(strchr(name, '/'));
	assert_int_equal(usb_lock_new(name, &lk), USB_OK);
	p = usb_lock_path(lk);
	assert_int_equal(strncmp(p, dir, strlen(dir)), 0);
	assert_null(strchr(p + strlen(dir) + 1, '/'));
	usb_lock_free(&lk);
	/* and usb_lock_new sanitises what it is given directly */
	assert_int_equal(usb_lock_new("a/../../b", &lk), USB_OK);
	assert_null(strchr(usb_lock_path(lk) + strlen(dir) + 1, '/'));
	usb_lock_free(&lk);
	assert_int_equal(usb_lock_name("1-2", 0, 0, NULL, name, 3),
	    USB_ERR_ARG);
	assert_int_equal(usb_lock_new("", &lk), USB_ERR_ARG);
	assert_null(lk);
}

/* The device-level wrappers refuse what they cannot do without a device. */
static void
test_begin_end_args(void **state)
{
	uint8_t b[4];
	size_t got = 7;
	int ms = 100;

	(void)state;
	assert_int_equal(usb_begin(NULL, &ms), USB_ERR_ARG);
	assert_int_equal(usb_end(NULL), USB_ERR_ARG);
	assert_int_equal(usb_bulk_write(NULL, b, sizeof(b), &ms), USB_ERR_ARG);
	assert_int_equal(usb_bulk_read(NULL, b, sizeof(b), &got, &ms),
	    USB_ERR_ARG);
	assert_int_equal(got, 0);
	got = 7;
	assert_int_equal(usb_intr_read(NULL, b, sizeof(b), &got, &ms),
	    USB_ERR_ARG);
	assert_int_equal(got, 0);
	got = 7;
	assert_int_equal(usb_control(NULL, 0xa1, 2, 0, b, sizeof(b), &got,
	    &ms), USB_ERR_ARG);
	assert_int_equal(got, 0);
	assert_true(usb_dev_removed(NULL));
	assert_null(usb_dev_get_info(NULL));
}

/* A context comes up on any machine (no USB at all included), lists what
 * is there and polls without error. */
static void
test_ctx_enumerate_poll(void **state)
{
	usb_ctx_t *ctx = NULL;
	struct usb_dev_info *list = NULL;
	size_t n = 99, i;
	int ms = 0, r;

	(void)state;
	assert_int_equal(usb_ctx_new(&ctx), USB_OK);
	assert_int_equal(usb_enumerate(ctx, &list, &n), USB_OK);
	assert_true((list == NULL) == (n == 0));
	for (i = 0; i < n; i++) {
		assert_true(list[i].iface.ep_bulk_in != 0);
		assert_true(list[i].iface.ep_bulk_out != 0);
		assert_true(memchr(list[i].path, '\0',
		    sizeof(list[i].path)) != NULL);
	}
	free(list);
	r = usb_poll_hotplug(ctx, &ms);
	assert_true(r == 0 || r == 1);
	assert_int_equal(usb_enumerate(NULL, &list, &n), USB_ERR_ARG);
	assert_null(list);
	assert_int_equal(n, 0);
	assert_int_equal(usb_poll_hotplug(NULL, &ms), USB_ERR_ARG);
	usb_ctx_free(&ctx);
	assert_null(ctx);
	usb_ctx_free(&ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_processes_no_lost_updates),
		cmocka_unit_test(test_other_signal_sequence),
		cmocka_unit_test(test_fork_does_not_share_the_hold),
		cmocka_unit_test(test_fd_is_cloexec),
		cmocka_unit_test(test_counter_garbage_tolerated),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_lock_dir_fallback),
		cmocka_unit_test(test_lock_names),
		cmocka_unit_test(test_begin_end_args),
		cmocka_unit_test(test_ctx_enumerate_poll),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
