/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_vpcd.c — vpcd framing from a hostile peer: whatever bytes
 * arrive on the socket, vpcd_recv returns whole messages within bounds or
 * an error, and never reads past its buffer or blocks (the writer end is
 * shut down, so a short message ends in EOF, not a wait).
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../tests/vtoken/vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1024];	/* small: long messages must be refused */
	size_t len, cap;
	int sv[2], ms, i, r;

	if (size < 1 || size > 60000)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	/* the first byte picks the reader's buffer size */
	cap = 1 + (size_t)data[0] * 4;
	if (send(sv[0], data + 1, size - 1, MSG_NOSIGNAL) != (ssize_t)(size - 1))
		goto out;
	shutdown(sv[0], SHUT_WR);
	for (i = 0; i < 1000; i++) {
		ms = 100;
		len = 12345;
		r = vpcd_recv(sv[1], buf, cap, &len, &ms, 100);
		if (r != VPCD_OK) {
			if (len != 0)
				__builtin_trap();
			break;
		}
		if (len == 0 || len > cap)
			__builtin_trap();
	}
out:
	close(sv[0]);
	close(sv[1]);
	return 0;
}
