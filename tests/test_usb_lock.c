/* SPDX-License-Identifier: MIT */
/*
 * tests/test_usb_lock.c — the per-device lock and the shared state
 * (usb/usb_int.h), which usb_begin/usb_end wrap around the claim: mutual
 * exclusion between processes on one node (a plain file stands in for the
 * usbfs node: OFD locks work alike on both), the "someone else used it"
 * signal, events one process records and another sees, fair waiting, the
 * bounded wait, fork, and files or links another user plants.
 */
#define _GNU_SOURCE
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../usb/usb.h"
#include "../usb/usb_int.h"
#include "../util/util.h"

#define CYCLES	400

static char dir[64];
static char node[96];

static int
setup(void **state)
{
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/usbpiv-lock-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(node, sizeof(node), "%s/node", dir);
	if ((fd = open(node, O_RDWR | O_CREAT, 0600)) < 0)
		return -1;
	close(fd);
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

/* A handle as a process has it: its own open of the node. */
static usb_lock_t *
lock_open(int *fd)
{
	usb_lock_t *lk = NULL;

	*fd = open(node, O_RDWR | O_CLOEXEC);
	assert_true(*fd >= 0);
	assert_int_equal(usb_lock_new(*fd, "001-002", &lk), USB_OK);
	return lk;
}

static void
lock_close(usb_lock_t **lk, int fd)
{
	usb_lock_free(lk);
	assert_null(*lk);
	close(fd);
}

static uint64_t
file_u64(const char *path)
{
	uint64_t v = 0;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = 0;
	close(fd);
	return v;
}

static void
file_put_u64(const char *path, uint64_t v)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &v, sizeof(v)), sizeof(v));
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
	int i, ms, other, fd;
	char c;

	if (read(go_fd, &c, 1) != 1)	/* start together */
		_exit(2);
	if ((fd = open(node, O_RDWR | O_CLOEXEC)) < 0 ||
	    usb_lock_new(fd, "001-002", &lk) != USB_OK)
		_exit(2);
	for (i = 0; i < CYCLES; i++) {
		ms = 20000;
		if (usb_lock_acquire(lk, &ms, &other) != USB_OK)
			_exit(2);
		v = file_u64(count_path);
		if (mine != UINT64_MAX && other != (v != mine))
			_exit(1);
		bumps += (unsigned)other;
		if (i % 7 == 0)
			usleep(100);	/* widen the window */
		file_put_u64(count_path, v + 1);
		mine = v + 1;
		if (usb_lock_release(lk, 1) != USB_OK)
			_exit(2);
	}
	usb_lock_free(&lk);
	close(fd);
	if (write(report_fd, &bumps, sizeof(bumps)) != sizeof(bumps))
		_exit(2);
	_exit(0);
}

/* Two processes hammering one node: no lost update, an exact "other"
 * signal, and (fair waiting) each sees the other come in between. */
static void
test_two_processes_no_lost_updates(void **state)
{
	char count_path[128];
	int rep[2], go[2], st, k;
	unsigned bumps[2] = { 0, 0 };
	pid_t pid[2];

	(void)state;
	snprintf(count_path, sizeof(count_path), "%s/count", dir);
	assert_int_equal(pipe(rep), 0);
	assert_int_equal(pipe(go), 0);
	for (k = 0; k < 2; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0)
			child(count_path, rep[1], go[0]);
	}
	assert_int_equal(write(go[1], "gg", 2), 2);
	for (k = 0; k < 2; k++) {
		assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	for (k = 0; k < 2; k++)
		assert_int_equal(read(rep[0], &bumps[k], sizeof(bumps[k])),
		    sizeof(bumps[k]));
	assert_int_equal(file_u64(count_path), 2 * CYCLES);
	/* both busy without pause: fair waiting makes them alternate, so
	 * each sees the other most of the time (polling back-off let one
	 * run alone for long stretches) */
	printf("   'other' seen: %u and %u of %d\n", bumps[0], bumps[1],
	    CYCLES);
	assert_true(bumps[0] > CYCLES / 4 && bumps[1] > CYCLES / 4);
	close(rep[0]);
	close(rep[1]);
	close(go[0]);
	close(go[1]);
}

static void
test_other_signal_sequence(void **state)
{
	usb_lock_t *a, *b;
	uint64_t t0;
	int fa, fb, ms = 50, other = 9;

	(void)state;
	a = lock_open(&fa);
	b = lock_open(&fb);
	assert_true(usb_lock_shared(a));
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 0);		/* first: nothing to compare */
	t0 = usb_lock_txn(a);
	ms = 30;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_ERR_LOCKED);
	assert_int_equal(ms, 0);
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	ms = 50;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_OK);
	assert_int_equal(other, 0);
	assert_int_equal(usb_lock_release(b, 1), USB_OK);
	ms = 50;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 1);		/* b was in between */
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	ms = 50;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 0);		/* nobody in between */
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_ERR_ARG);
	assert_int_equal(usb_lock_release(a, 0), USB_OK);	/* aborted */
	ms = 50;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_OK);
	assert_int_equal(other, 1);
	assert_int_equal(usb_lock_release(b, 0), USB_OK);
	ms = 50;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 0);	/* an aborted begin changes nothing */
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	assert_int_equal(usb_lock_txn(a) - t0, 4);	/* 4 used, 2 not */
	assert_int_equal(usb_lock_release(a, 1), USB_ERR_ARG);
	lock_close(&a, fa);
	lock_close(&b, fb);
	usb_lock_free(&b);	/* NULL: fine */
}

/* An event one process notes, every other sees at its next acquire; its
 * own note changes its own view at once. */
static void
test_events_shared(void **state)
{
	usb_lock_t *a, *b;
	uint64_t pa, pb, ra;
	int fa, fb, ms = 50, other;

	(void)state;
	a = lock_open(&fa);
	b = lock_open(&fb);
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_OK);
	assert_int_equal(usb_lock_release(b, 0), USB_OK);
	pb = usb_lock_events(b, USB_SHARED_PIN0);
	ms = 50;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	pa = usb_lock_events(a, USB_SHARED_PIN0);
	ra = usb_lock_events(a, USB_SHARED_RESET0);
	assert_int_equal(usb_lock_note(a, USB_SHARED_PIN0), USB_OK);
	assert_true(usb_lock_events(a, USB_SHARED_PIN0) != pa);
	assert_true(usb_lock_events(a, USB_SHARED_RESET0) == ra);
	assert_int_equal(usb_lock_note(a, USB_SHARED_KINDS), USB_ERR_ARG);
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	assert_int_equal(usb_lock_note(a, USB_SHARED_PIN0), USB_ERR_ARG);
	ms = 50;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_OK);
	assert_int_equal(other, 1);
	assert_true(usb_lock_events(b, USB_SHARED_PIN0) != pb);
	assert_true(usb_lock_events(b, USB_SHARED_PIN0) ==
	    usb_lock_events(a, USB_SHARED_PIN0));
	assert_true(usb_lock_events(b, USB_SHARED_RESET0) == ra);
	assert_int_equal(usb_lock_release(b, 0), USB_OK);
	lock_close(&a, fa);
	lock_close(&b, fb);
}

/* A forked child's open file description is its parent's: the lock the
 * parent holds is not a lock against the child, which is why usb_begin
 * refuses a handle opened by another process.  A child with its own open
 * of the node waits like anyone. */
static void
test_fork_own_open_waits(void **state)
{
	usb_lock_t *lk;
	int fd, ms = 50, other, st;
	pid_t pid;

	(void)state;
	lk = lock_open(&fd);
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usb_lock_t *c = NULL;
		int cfd = open(node, O_RDWR), cms = 30, co;

		if (cfd < 0 || usb_lock_new(cfd, "001-002", &c) != USB_OK)
			_exit(3);
		_exit(usb_lock_acquire(c, &cms, &co) == USB_ERR_LOCKED ?
		    0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	lock_close(&lk, fd);
}

/* The lock dies with its holder: a killed process frees the device. */
static void
test_holder_killed(void **state)
{
	usb_lock_t *lk;
	int fd, ms, other, st, p[2];
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		usb_lock_t *c2 = NULL;
		int cfd = open(node, O_RDWR), cms = 50, co;

		if (cfd < 0 || usb_lock_new(cfd, "001-002", &c2) != USB_OK ||
		    usb_lock_acquire(c2, &cms, &co) != USB_OK)
			_exit(3);
		if (write(p[1], "x", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	lk = lock_open(&fd);
	ms = 30;
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_ERR_LOCKED);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	ms = 1000;
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
	assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	lock_close(&lk, fd);
	close(p[0]);
	close(p[1]);
}

static void
my_state_name(char *buf, size_t cap, const char *suffix)
{
	snprintf(buf, cap, "%s/usbpiv-001-002.%u%s", dir, (unsigned)geteuid(),
	    suffix);
}

/* Garbage in our own state file reads as a fresh one. */
static void
test_state_garbage_tolerated(void **state)
{
	char path[160];
	usb_lock_t *lk;
	int fd, sfd, ms = 50, other;

	(void)state;
	my_state_name(path, sizeof(path), "");
	unlink(path);
	sfd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(sfd >= 0);
	assert_int_equal(write(sfd, "junk", 4), 4);
	close(sfd);
	lk = lock_open(&fd);
	assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
	assert_int_equal(usb_lock_txn(lk), 0);
	assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	assert_int_equal(usb_lock_txn(lk), 1);
	lock_close(&lk, fd);
	unlink(path);
}

/*
 * What another user can plant.  A symlink or a file of another owner
 * under our own name is passed over (the next name is used, and others
 * still find ours); a file under another user's name whose owner is not
 * that user is not read.  Needs root to own files as others; skipped
 * (passes trivially on the symlink part only) otherwise.
 */
static void
test_planted_files(void **state)
{
	char mine[160], alt[160], fake[200], target[160];
	usb_lock_t *a, *b;
	uint64_t sig;
	int fa, fb, ms = 50, other, pfd;

	(void)state;
	my_state_name(mine, sizeof(mine), "");
	my_state_name(alt, sizeof(alt), ".1");
	unlink(mine);
	unlink(alt);
	snprintf(target, sizeof(target), "%s/target", dir);
	assert_int_equal(symlink(target, mine), 0);
	a = lock_open(&fa);
	assert_true(usb_lock_shared(a));
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(usb_lock_release(a, 1), USB_OK);
	assert_int_equal(access(target, F_OK), -1);	/* never followed */
	assert_int_equal(access(alt, F_OK), 0);		/* moved over */
	b = lock_open(&fb);
	ms = 50;
	assert_int_equal(usb_lock_acquire(b, &ms, &other), USB_OK);
	assert_int_equal(usb_lock_release(b, 1), USB_OK);
	ms = 50;
	assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
	assert_int_equal(other, 1);	/* b's use is seen through .1 */
	sig = usb_lock_events(a, USB_SHARED_PIN0);
	assert_int_equal(usb_lock_release(a, 0), USB_OK);
	if (geteuid() == 0) {
		/* user 4242's name, but owned by 4343: ignored */
		snprintf(fake, sizeof(fake), "%s/usbpiv-001-002.4242", dir);
		pfd = open(fake, O_RDWR | O_CREAT | O_TRUNC, 0666);
		assert_true(pfd >= 0);
		assert_int_equal(write(pfd, "0123456789abcdef0123456789abcdef"
		    "0123456789abcdef", 48), 48);
		assert_int_equal(fchown(pfd, 4343, 4343), 0);
		close(pfd);
		ms = 50;
		assert_int_equal(usb_lock_acquire(a, &ms, &other), USB_OK);
		assert_int_equal(other, 0);
		assert_true(usb_lock_events(a, USB_SHARED_PIN0) == sig);
		assert_int_equal(usb_lock_release(a, 0), USB_OK);
		unlink(fake);
	}
	lock_close(&a, fa);
	lock_close(&b, fb);
	unlink(mine);
	unlink(alt);
}

/* No usable directory: private state, every transaction "after someone
 * else", PIN events always unknown, RESET never. */
static void
test_private_state(void **state)
{
	usb_lock_t *lk;
	uint64_t p1, r1;
	int fd, ms = 50, other;
	char wdir[96];

	(void)state;
	snprintf(wdir, sizeof(wdir), "%s/open", dir);
	assert_int_equal(mkdir(wdir, 0777), 0);
	assert_int_equal(chmod(wdir, 0777), 0);	/* no sticky bit */
	setenv("USBPIV_LOCK_DIR", wdir, 1);
	unsetenv("XDG_RUNTIME_DIR");
	lk = lock_open(&fd);
	if (access("/run/usbpiv", W_OK) != 0)
		assert_false(usb_lock_shared(lk));
	if (!usb_lock_shared(lk)) {
		assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
		assert_int_equal(other, 0);
		p1 = usb_lock_events(lk, USB_SHARED_PIN0);
		r1 = usb_lock_events(lk, USB_SHARED_RESET0);
		assert_int_equal(usb_lock_release(lk, 1), USB_OK);
		ms = 50;
		assert_int_equal(usb_lock_acquire(lk, &ms, &other), USB_OK);
		assert_int_equal(other, 1);
		assert_true(usb_lock_events(lk, USB_SHARED_PIN0) != p1);
		assert_true(usb_lock_events(lk, USB_SHARED_RESET0) == r1);
		assert_int_equal(usb_lock_release(lk, 1), USB_OK);
	}
	lock_close(&lk, fd);
	setenv("USBPIV_LOCK_DIR", dir, 1);
}

static void
test_lock_args(void **state)
{
	usb_lock_t *lk = (usb_lock_t *)&lk;
	int ms = 10, other = 5;

	(void)state;
	assert_int_equal(usb_lock_new(-1, "x", &lk), USB_ERR_ARG);
	assert_null(lk);
	assert_int_equal(usb_lock_new(0, "", &lk), USB_ERR_ARG);
	assert_int_equal(usb_lock_acquire(NULL, &ms, &other), USB_ERR_ARG);
	assert_int_equal(other, 0);
	assert_int_equal(usb_lock_release(NULL, 1), USB_ERR_ARG);
	assert_int_equal(usb_lock_events(NULL, 0), 0);
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
		cmocka_unit_test(test_events_shared),
		cmocka_unit_test(test_fork_own_open_waits),
		cmocka_unit_test(test_holder_killed),
		cmocka_unit_test(test_state_garbage_tolerated),
		cmocka_unit_test(test_planted_files),
		cmocka_unit_test(test_private_state),
		cmocka_unit_test(test_lock_args),
		cmocka_unit_test(test_begin_end_args),
		cmocka_unit_test(test_ctx_enumerate_poll),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
