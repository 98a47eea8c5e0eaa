/* SPDX-License-Identifier: MIT */
/*
 * vtoken_ctl.c — vtoken_inject(): one line to a running reader's control
 * FIFO, and its acknowledgement back (vtoken.h).
 */
#include "vtoken.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vt_util.h"

/* Lines of the .ack file so far; with n > 0, the nth line (1-based) into
 * line when the file has it. */
static size_t
ack_lines(const char *path, size_t nth, char *line, size_t cap, int *found)
{
	char buf[1024];
	size_t lines = 0, len;
	int at_start = 1;
	FILE *f;

	*found = 0;
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		len = strlen(buf);
		if (at_start)
			lines++;
		at_start = len > 0 && buf[len - 1] == '\n';
		if (lines == nth && at_start && !*found) {
			/* only a complete line counts */
			buf[len - 1] = '\0';
			if (line != NULL && cap > 0)
				snprintf(line, cap, "%s", buf);
			*found = 1;
		}
	}
	fclose(f);
	if (!at_start)
		lines--;		/* a line still being written */
	return lines;
}

int
vtoken_inject(const char *fifo, const char *line, char *ack, size_t cap,
    int timeout_ms)
{
	char path[4096], msg[600];
	size_t before, n;
	uint64_t t0;
	int fd, found = 0, ms = timeout_ms;
	ssize_t w;

	if (ack != NULL && cap > 0)
		ack[0] = '\0';
	if (fifo == NULL)
		fifo = getenv("VTOKEN_CTL");
	if (fifo == NULL || line == NULL || strchr(line, '\n') != NULL ||
	    (n = strlen(line)) == 0 || n > 510 ||
	    (size_t)snprintf(path, sizeof(path), "%s.ack", fifo) >=
	    sizeof(path)) {
		errno = EINVAL;
		return -1;
	}
	before = ack_lines(path, 0, NULL, 0, &found);
	if ((fd = open(fifo, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	snprintf(msg, sizeof(msg), "%s\n", line);
	do
		w = write(fd, msg, n + 1);
	while (w < 0 && errno == EINTR);
	close(fd);
	if (w != (ssize_t)(n + 1)) {
		errno = EIO;
		return -1;
	}
	for (;;) {
		ack_lines(path, before + 1, ack, cap, &found);
		if (found)
			break;
		if (ms <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		t0 = vt_now_ms();
		vt_sleep_ms(ms < 2 ? ms : 2);
		vt_charge(&ms, t0);
	}
	if (ack != NULL && strncmp(ack, "err", 3) == 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
