/* SPDX-License-Identifier: MIT */
/*
 * util/util_secmem.c — memory for secrets a process keeps for a while (a
 * PIN kept to log in again): whole pages of their own, locked in RAM (never
 * swapped), left out of core dumps, wiped and unmapped when freed.
 */
#define _GNU_SOURCE
#include "util.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t
secmem_span(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;

	return (n + page - 1) / page * page;
}

void *
util_secmem_alloc(size_t n)
{
	size_t span;
	void *p;

	if (n == 0 || n > 65536)
		return NULL;
	span = secmem_span(n);
	p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* never in a core dump; never swapped where the limit allows (a
	 * failed mlock is not fatal: RLIMIT_MEMLOCK may be 0 in a
	 * container, and the page is still out of dumps) */
	if (madvise(p, span, MADV_DONTDUMP) != 0) {
		munmap(p, span);
		return NULL;
	}
	if (mlock(p, span) != 0)
		util_trace(2, "util: mlock refused (RLIMIT_MEMLOCK); the "
		    "secret may be swapped");
	(void)madvise(p, span, MADV_WIPEONFORK);
	return p;
}

void
util_secmem_free(void *p, size_t n)
{
	size_t span;

	if (p == NULL)
		return;
	span = secmem_span(n);
	util_wipe(p, span);
	(void)munlock(p, span);
	munmap(p, span);
}
