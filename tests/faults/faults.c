/* SPDX-License-Identifier: MIT */
/*
 * tests/faults/faults.c — injected failures for `make check-faults`.
 *
 * Linked (with -Wl,--wrap=NAME for every name in wrapped.h) into the
 * usbpiv CLI, the PKCS#11 module and the unit tests of the faults build
 * only: each call our own objects make to one of those functions comes
 * here first and fails, at random, with probability 1/USBPIV_FAULT_RATE,
 * else goes on to the real function.  Calls made inside libusb, OpenSSL,
 * GLib or umockdev never come here (--wrap renames only the references of
 * the objects being linked), nor do those of the test programs and the
 * software card: the faults build renames theirs to __real_NAME (objcopy
 * --redefine-syms), which the linker sends straight to the real function.
 *
 *   USBPIV_FAULT_RATE  N: one call in N fails (unset or 0: none)
 *   USBPIV_FAULT_SEED  the seed; a program draws the same sequence again
 *                      for the same seed and the same program name and
 *                      subcommand (argv[0]'s base name and argv[1])
 *   USBPIV_FAULT_ONLY  NAME:N: instead, exactly the Nth call to NAME
 *                      fails, or with NAME "*" the Nth wrapped call of
 *                      any name (a test walking N over every call)
 *   USBPIV_FAULT_LOG   a file each injected failure is appended to:
 *                      "fault PID PROG NAME call#N caller OBJ+OFF"
 *                      (addr2line -f -e OBJ OFF names the caller)
 *
 * The wrappers of the libusb and OpenSSL functions are written in x86-64
 * assembly, so that none needs the function's prototype: they save the
 * argument registers, ask usbpiv_fault_hit(), and either jump on to the
 * real function with everything as it was, or return the failure value
 * wrapped.h gives.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "tests/faults: the wrappers are written for x86-64"
#endif

int usbpiv_fault_hit(const char *name, const void *caller);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int inited;
static uint64_t rate, rng, calls, hits, only_n, only_calls;
static char only[64];
static int logfd = -1;
static char prog[64];

static uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

static void
init(void)
{
	const char *s, *a0, *a1 = "", *base;
	char buf[4096];
	uint64_t seed = 0, h = 1469598103934665603ull;
	ssize_t n = -1;
	int fd;

	inited = 1;
	if ((s = getenv("USBPIV_FAULT_RATE")) != NULL)
		rate = strtoull(s, NULL, 10);
	if ((s = getenv("USBPIV_FAULT_SEED")) != NULL)
		seed = strtoull(s, NULL, 0);
	/* argv[0]'s base name and argv[1]: the same program and subcommand
	 * draw the same sequence on a replay (paths of temporary files in
	 * later arguments would not be the same) */
	if ((fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 2);
		close(fd);
	}
	if (n > 0) {
		buf[n] = buf[n + 1] = '\0';
		a0 = buf;
		if (strlen(a0) + 1 < (size_t)n)
			a1 = a0 + strlen(a0) + 1;
		base = strrchr(a0, '/') != NULL ? strrchr(a0, '/') + 1 : a0;
		h = fnv(h, base, strlen(base) + 1);
		h = fnv(h, a1, strlen(a1));
		snprintf(prog, sizeof(prog), "%.32s%s%.24s", base, *a1 ? "/" : "",
		    a1);
	}
	rng = seed ^ h;
	if (rng == 0)
		rng = 0x9e3779b97f4a7c15ull;
	if ((s = getenv("USBPIV_FAULT_ONLY")) != NULL && strchr(s, ':') &&
	    (size_t)(strchr(s, ':') - s) < sizeof(only)) {
		memcpy(only, s, (size_t)(strchr(s, ':') - s));
		only_n = strtoull(strchr(s, ':') + 1, NULL, 10);
	}
	if ((s = getenv("USBPIV_FAULT_LOG")) != NULL && *s != '\0')
		logfd = open(s, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
}

int
usbpiv_fault_hit(const char *name, const void *caller)
{
	char line[256];
	uint64_t x, call;
	int hit = 0, n;

	pthread_mutex_lock(&mu);
	if (!inited)
		init();
	call = ++calls;
	if (only_n > 0) {
		if ((strcmp(only, "*") == 0 || strcmp(name, only) == 0) &&
		    ++only_calls == only_n) {
			hit = 1;
			hits++;
		}
	} else if (rate > 0) {
		/* xorshift64* */
		x = rng;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		rng = x;
		if ((x * 0x2545f4914f6cdd1dull >> 11) % rate == 0) {
			hit = 1;
			hits++;
		}
	}
	pthread_mutex_unlock(&mu);
	if (hit && logfd >= 0) {
		Dl_info di;
		const char *obj = "?";
		uintptr_t off = (uintptr_t)caller;

		/* the caller as OBJECT+OFFSET, for addr2line -e OBJECT */
		if (dladdr(caller, &di) != 0 && di.dli_fname != NULL) {
			obj = di.dli_fname;
			off -= (uintptr_t)di.dli_fbase;
		}
		n = snprintf(line, sizeof(line), "fault %ld %s %s call#%llu "
		    "caller %s+0x%lx\n", (long)getpid(), prog, name,
		    (unsigned long long)call, obj, (unsigned long)off);
		if (n > 0)
			(void)!write(logfd, line, (size_t)n);
	}
	return hit;
}

/* A sanitizer report ends the process: say so in the log too, since the
 * report itself may go where nobody looks (the stderr of a program a test
 * script runs). */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static void
on_death(void)
{
	char line[128];
	int n;

	if (logfd < 0)
		return;
	n = snprintf(line, sizeof(line), "sanitizer-death %ld %s\n",
	    (long)getpid(), prog);
	if (n > 0)
		(void)!write(logfd, line, (size_t)n);
}

__attribute__((constructor)) static void
fault_ctor(void)
{
	pthread_mutex_lock(&mu);
	if (!inited)
		init();
	pthread_mutex_unlock(&mu);
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(on_death);
}

/* ---- allocation ---------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

void *
__wrap_malloc(size_t n)
{
	if (usbpiv_fault_hit("malloc", __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	if (usbpiv_fault_hit("calloc", __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (usbpiv_fault_hit("realloc", __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	if (usbpiv_fault_hit("strdup", __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_strdup(s);
}

/* ---- libusb and OpenSSL ----------------------------------------------------- */

/*
 * __wrap_NAME: at entry %rsp is 8 mod 16; seven pushes and 128 bytes of
 * XMM registers make it 0 mod 16 for the call, and put the return address
 * (the caller, for the log) at 184(%rsp).  %r11 (no argument register)
 * carries the verdict past the restores.
 */
#define W(name, fail) \
	__asm__(".text\n" \
	    ".globl __wrap_" #name "\n" \
	    ".type __wrap_" #name ", @function\n" \
	    "__wrap_" #name ":\n" \
	    "\tpushq %rdi\n\tpushq %rsi\n\tpushq %rdx\n\tpushq %rcx\n" \
	    "\tpushq %r8\n\tpushq %r9\n\tpushq %rax\n" \
	    "\tsubq $128, %rsp\n" \
	    "\tmovdqu %xmm0, 0(%rsp)\n\tmovdqu %xmm1, 16(%rsp)\n" \
	    "\tmovdqu %xmm2, 32(%rsp)\n\tmovdqu %xmm3, 48(%rsp)\n" \
	    "\tmovdqu %xmm4, 64(%rsp)\n\tmovdqu %xmm5, 80(%rsp)\n" \
	    "\tmovdqu %xmm6, 96(%rsp)\n\tmovdqu %xmm7, 112(%rsp)\n" \
	    "\tleaq .Lfault_name_" #name "(%rip), %rdi\n" \
	    "\tmovq 184(%rsp), %rsi\n" \
	    "\tcall usbpiv_fault_hit@PLT\n" \
	    "\tmovl %eax, %r11d\n" \
	    "\tmovdqu 0(%rsp), %xmm0\n\tmovdqu 16(%rsp), %xmm1\n" \
	    "\tmovdqu 32(%rsp), %xmm2\n\tmovdqu 48(%rsp), %xmm3\n" \
	    "\tmovdqu 64(%rsp), %xmm4\n\tmovdqu 80(%rsp), %xmm5\n" \
	    "\tmovdqu 96(%rsp), %xmm6\n\tmovdqu 112(%rsp), %xmm7\n" \
	    "\taddq $128, %rsp\n" \
	    "\tpopq %rax\n\tpopq %r9\n\tpopq %r8\n\tpopq %rcx\n" \
	    "\tpopq %rdx\n\tpopq %rsi\n\tpopq %rdi\n" \
	    "\ttestl %r11d, %r11d\n" \
	    "\tjnz 1f\n" \
	    "\tjmp __real_" #name "@PLT\n" \
	    "1:\tmovq $" #fail ", %rax\n" \
	    "\tret\n" \
	    ".size __wrap_" #name ", .-__wrap_" #name "\n" \
	    ".section .rodata\n" \
	    ".Lfault_name_" #name ":\n\t.asciz \"" #name "\"\n" \
	    ".text\n");
#define A(name, fail)

#include "wrapped.h"
