/* SPDX-License-Identifier: MIT */
/*
 * bench/fair_run.c — build/bench/fair-run: runs one benchmark job and
 * prints what it cost, for bench/fair.sh.
 *
 *   fair-run [-l LOG] [-t SECONDS] [-p PID]... -- CMD [ARG]...
 *
 * Runs CMD (stdin /dev/null; stdout and stderr to LOG, else /dev/null;
 * killed after -t SECONDS, default 300, status 124) and prints one line
 * on stdout:
 *
 *   WALL_US CLIENT_US DAEMON_US STATUS
 *
 * WALL_US    CMD's wall time (CLOCK_MONOTONIC, fork to reap)
 * CLIENT_US  user + system CPU of CMD and the descendants it waited for
 *            (getrusage RUSAGE_CHILDREN, before and after)
 * DAEMON_US  user + system CPU the processes given by -p (pcscd, the
 *            emulated reader) used meanwhile: their process CPU clocks
 *            (clock_getcpuclockid), which count every thread, ended ones
 *            included, to the nanosecond; a process that is gone counts 0
 * STATUS     CMD's exit status (128+N for signal N)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PIDS	8

static volatile sig_atomic_t timed_out;
static pid_t child = -1;

static void
on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	if (child > 0)
		kill(child, SIGKILL);
}

static long long
ts_us(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000 + t->tv_nsec / 1000;
}

static long long
tv_us(const struct timeval *t)
{
	return (long long)t->tv_sec * 1000000 + t->tv_usec;
}

static long long
children_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
		return 0;
	return tv_us(&ru.ru_utime) + tv_us(&ru.ru_stime);
}

/* The CPU time of process pid so far, -1 when it cannot be read. */
static long long
proc_us(pid_t pid)
{
	clockid_t cid;
	struct timespec t;

	if (clock_getcpuclockid(pid, &cid) != 0 ||
	    clock_gettime(cid, &t) != 0)
		return -1;
	return ts_us(&t);
}

static void
usage(void)
{
	fputs("usage: fair-run [-l LOG] [-t SECONDS] [-p PID]... -- CMD "
	    "[ARG]...\n",
	    stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	pid_t pids[MAX_PIDS];
	struct sigaction sa;
	unsigned timeout = 300;
	long long before[MAX_PIDS], c0, c1, daemon = 0;
	struct timespec t0, t1;
	const char *log = "/dev/null";
	size_t npids = 0, i;
	int a, st;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--") == 0) {
			a++;
			break;
		}
		if (a + 1 >= argc)
			usage();
		if (strcmp(argv[a], "-l") == 0)
			log = argv[++a];
		else if (strcmp(argv[a], "-t") == 0)
			timeout = (unsigned)strtoul(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "-p") == 0) {
			char *end;
			long v = strtol(argv[++a], &end, 10);

			if (*end != '\0' || v <= 0 || npids >= MAX_PIDS)
				usage();
			pids[npids++] = (pid_t)v;
		} else
			usage();
	}
	if (a >= argc)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	for (i = 0; i < npids; i++)
		before[i] = proc_us(pids[i]);
	c0 = children_us();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	child = fork();
	if (child < 0) {
		perror("fair-run: fork");
		return 1;
	}
	if (child == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(out, 2) < 0)
			_exit(126);
		execvp(argv[a], argv + a);
		dprintf(2, "fair-run: %s: %s\n", argv[a], strerror(errno));
		_exit(127);
	}
	alarm(timeout);
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR) {
			perror("fair-run: waitpid");
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	c1 = children_us();
	for (i = 0; i < npids; i++) {
		long long after = proc_us(pids[i]);

		if (before[i] >= 0 && after >= before[i])
			daemon += after - before[i];
	}
	printf("%lld %lld %lld %d\n", ts_us(&t1) - ts_us(&t0), c1 - c0, daemon,
	    timed_out ? 124 : WIFEXITED(st) ? WEXITSTATUS(st) :
	    128 + WTERMSIG(st));
	return 0;
}
