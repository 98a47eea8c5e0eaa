# SPDX-License-Identifier: MIT
# usbpiv — build, test, install.  See README.md.
#
# Conventions that let a new file join the build without editing this file:
#   util/ usb/ ccid/ piv/ *.c         -> build/libusbpiv.a (internal, linked in)
#   pkcs11/*.c                        -> build/usbpiv-pkcs11.so
#   tools/*.c                         -> build/usbpiv
#   tests/vtoken/reader*.c            -> build/vtoken-reader (GLib, umockdev)
#   tests/vtoken/vcard_main.c         -> build/vcard
#   tests/vtoken/ other *.c           -> build/libvtoken.a (the software card)
#   tests/test_*.c                    -> build/tests/test_* (cmocka)
#   tests/lib/*.c                     -> build/libtesthelp.a (linked by the tests)
#   tests/integration/*.sh            -> run by `make check` after the units
#   fuzz/fuzz_*.c                     -> build/fuzz/fuzz_* (`make fuzz`)

CC	?= cc
PKG_CONFIG ?= pkg-config
BUILD	?= build
PREFIX	?= /usr/local
LIBDIR	?= $(PREFIX)/lib
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UDEVRULESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/udev/rules.d,/etc/udev/rules.d)
TMPFILESDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/tmpfiles.d,/etc/tmpfiles.d)
P11KITDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/share/p11-kit/modules,/etc/pkcs11/modules)
PKCS11DIR ?= $(LIBDIR)/pkcs11
# What the p11-kit module file names: the full path, or (Debian, multiarch)
# the bare file name p11-kit looks up in its own architecture's pkcs11/.
P11KIT_MODULE ?= $(PKCS11DIR)/usbpiv-pkcs11.so
HOOKDIR ?= $(PREFIX)/lib/usbpiv
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/systemd/system,/etc/systemd/system)
SYSTEMDUSERUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/systemd/user,/etc/systemd/user)
INITRAMFSTOOLSDIR ?= /usr/share/initramfs-tools
DRACUTMODDIR ?= /usr/lib/dracut/modules.d
DESTDIR	?=
USBPIV_GROUP ?= plugdev

VERSION	= 0.1.0

# Strict warnings, after libfido2's set.
WARN	= -Wall -Wextra -Werror -Wshadow -Wcast-qual -Wwrite-strings \
	  -Wmissing-prototypes -Wbad-function-cast -Wimplicit-fallthrough \
	  -Wpointer-arith -Wformat=2 -Wundef -Wstrict-prototypes -pedantic \
	  -Wconversion -Wsign-conversion
OPT	?= -O2 -g
SAN	?=
SAN_LINK ?=
DEPS	= libusb-1.0 libcrypto zlib p11-kit-1
dep_cflags = $(shell $(PKG_CONFIG) --cflags $(DEPS))
dep_libs   = $(shell $(PKG_CONFIG) --libs $(DEPS))
# Hardening, in every build: stack protector, full RELRO with immediate
# binding, a PIE CLI; _FORTIFY_SOURCE only where it works (optimised, no
# sanitizer: ASan and fortify's checked functions do not mix).
HARDEN_CFLAGS = -fstack-protector-strong \
	  $(if $(SAN),,$(if $(filter -O1 -O2 -O3 -Os -Og -Ofast,$(OPT)),-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2))
HARDEN_LDFLAGS = -Wl,-z,relro,-z,now
BASE_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -fPIC -ffile-prefix-map=$(CURDIR)=. \
	  -DUSBPIV_VERSION='"$(VERSION)"' $(WARN) $(OPT) $(HARDEN_CFLAGS) $(SAN)
ALL_CFLAGS = $(BASE_CFLAGS) $(dep_cflags) $(CFLAGS)
LINK	= $(SAN) $(SAN_LINK) $(HARDEN_LDFLAGS) $(LDFLAGS)

# `make check-faults` (FAULTS=1): the CLI, the module and the unit tests
# get tests/faults/faults.o and -Wl,--wrap for every call it can make fail
# (tests/faults/wrapped.h); the test programs' and the software card's own
# calls go to the real functions (objcopy renames them to __real_NAME).
FAULTS	?=
LP	:= (
FAULT_SYMS = $(if $(FAULTS),$(shell sed -n 's/^[AW]$(LP)\([A-Za-z0-9_]*\),.*/\1/p' tests/faults/wrapped.h))
FAULT_OBJ = $(if $(FAULTS),$(BUILD)/obj/tests/faults/faults.o)
FAULT_LINK = $(if $(FAULTS),$(FAULT_OBJ) $(foreach s,$(FAULT_SYMS),-Wl,--wrap=$(s)) -ldl)

LIB_SRC	= $(sort $(wildcard util/*.c usb/*.c ccid/*.c piv/*.c))
P11_SRC	= $(sort $(wildcard pkcs11/*.c))
CLI_SRC	= $(sort $(wildcard tools/*.c))
VT_ALL	= $(sort $(wildcard tests/vtoken/*.c))
VT_READER_SRC = $(filter tests/vtoken/reader%.c,$(VT_ALL))
VT_LIB_SRC = $(filter-out tests/vtoken/reader%.c tests/vtoken/%_main.c,$(VT_ALL))
TEST_SRC = $(sort $(wildcard tests/test_*.c))
TESTLIB_SRC = $(sort $(wildcard tests/lib/*.c))
FUZZ_SRC = $(sort $(wildcard fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ	= $(call obj,$(LIB_SRC))
P11_OBJ	= $(call obj,$(P11_SRC))
CLI_OBJ	= $(call obj,$(CLI_SRC))
VT_LIB_OBJ = $(call obj,$(VT_LIB_SRC))
VT_READER_OBJ = $(call obj,$(VT_READER_SRC))
# the reader's engine without its umockdev/GLib front (reader_main.c,
# reader_usbfs.c): linked by tests/test_vtoken_reader.c
VT_CORE_OBJ = $(call obj,$(filter-out tests/vtoken/reader_main.c tests/vtoken/reader_usbfs.c,$(VT_READER_SRC)))
TESTS	= $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

PROGS	= $(BUILD)/libusbpiv.a \
	  $(if $(P11_SRC),$(BUILD)/usbpiv-pkcs11.so) \
	  $(if $(CLI_SRC),$(BUILD)/usbpiv)
VT_PROGS = $(if $(VT_LIB_SRC),$(BUILD)/libvtoken.a) \
	  $(if $(VT_READER_SRC),$(BUILD)/vtoken-reader) \
	  $(if $(wildcard tests/vtoken/vcard_main.c),$(BUILD)/vcard) \
	  $(if $(wildcard tests/vtoken/probe_main.c),$(BUILD)/vtoken-probe) \
	  $(if $(wildcard tests/vtoken/shim/vtoken_lseek.c),$(BUILD)/vtoken-lseek.so)

# Keep objects make considers intermediate.
.SECONDARY:

.PHONY: all deps demo check check-asan check-valgrind check-faults tests fuzz fuzz-run fuzz-smoke \
	install uninstall clean bench bench-tools

all: $(PROGS) $(BUILD)/usbpiv.1

# The manual page, from its one source tools/usbpiv.1.md.
$(BUILD)/usbpiv.1: tools/usbpiv.1.md scripts/md2man.awk
	@mkdir -p $(dir $@)
	awk -v version=$(VERSION) -f scripts/md2man.awk tools/usbpiv.1.md > $@.tmp
	mv $@.tmp $@

# The README's two commands go through here, so a fresh machine gets its
# packages first; pkg-config runs only in the sub-make, after they exist.
deps:
	@scripts/deps.sh all

demo: deps
	@$(MAKE) --no-print-directory all vtoken
	@tests/demo.sh

check: deps
	@$(MAKE) --no-print-directory tests
	@tests/run-tests.sh $(BUILD)

# One shared ASan runtime for our programs and for the foreign ones that
# load our module (tests preload it into those), so `sh -c "usbpiv ..."`
# under a preloaded runtime is not two runtimes in one process.
ASAN_RT_DIR = $(shell clang -print-file-name=libclang_rt.asan-x86_64.so | xargs dirname)
ASAN_SHARED = -shared-libasan -Wl,-rpath,$(ASAN_RT_DIR)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=clang \
	    SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    SAN_LINK='$(ASAN_SHARED)' tests
	@ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    USBPIV_TEST_MODE=asan tests/run-tests.sh $(BUILD)/asan

# Injected failures: every allocation, libusb and OpenSSL call of the code
# under test may fail (tests/faults/), under ASan+UBSan; the seeds and the
# rate come from USBPIV_FAULT_SEEDS / USBPIV_FAULT_SEED and
# USBPIV_FAULT_RATE (tests/faults/run.sh).
check-faults: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/faults CC=clang FAULTS=1 \
	    SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' \
	    SAN_LINK='$(ASAN_SHARED)' tests
	@USBPIV_TEST_MODE=asan tests/faults/run.sh $(BUILD)/faults

check-valgrind: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/vg OPT='-O1 -g' tests
	@USBPIV_TEST_MODE=valgrind tests/run-tests.sh $(BUILD)/vg

tests: all vtoken $(TESTS)
vtoken: $(VT_PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libusbpiv.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libusbpiv-pkcs11.a: $(P11_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/usbpiv-pkcs11.so: $(P11_OBJ) $(BUILD)/libusbpiv.a pkcs11/pkcs11.map $(FAULT_OBJ)
	$(CC) -shared -Wl,--version-script=pkcs11/pkcs11.map $(if $(SAN),,-Wl,-z,defs) \
	    -o $@ $(P11_OBJ) $(BUILD)/libusbpiv.a $(FAULT_LINK) $(LINK) $(dep_libs) -pthread

# `usbpiv uri` loads the installed module when none is next to it.
$(call obj,tools/cmd_uri.c): ALL_CFLAGS += \
	-DUSBPIV_PKCS11_MODULE='"$(PKCS11DIR)/usbpiv-pkcs11.so"'

$(BUILD)/usbpiv: $(CLI_OBJ) $(BUILD)/libusbpiv.a $(FAULT_OBJ)
	$(CC) -pie -o $@ $(CLI_OBJ) $(BUILD)/libusbpiv.a $(FAULT_LINK) $(LINK) $(dep_libs)

# ---- virtual token (tests only) -------------------------------------------
GLIB_CFLAGS = $(shell $(PKG_CONFIG) --cflags umockdev-1.0 glib-2.0)
GLIB_LIBS = $(shell $(PKG_CONFIG) --libs umockdev-1.0 glib-2.0)

$(BUILD)/libvtoken.a: $(VT_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# GLib's headers are not -pedantic clean; the reader gets the rest.
$(VT_READER_OBJ): $(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -pedantic,$(ALL_CFLAGS)) $(GLIB_CFLAGS) -MMD -MP -c $< -o $@

# The virtual token links nothing of usbpiv (tests/vtoken/README.md;
# tests/integration/vtoken_standalone.sh checks it): libcrypto for the
# card, libusb for the probe, GLib and umockdev for the reader.
VT_LIBS = $(shell $(PKG_CONFIG) --libs libcrypto)

$(BUILD)/vtoken-reader: $(VT_READER_OBJ) $(BUILD)/libvtoken.a
	$(CC) -o $@ $(VT_READER_OBJ) $(BUILD)/libvtoken.a \
	    $(LINK) $(GLIB_LIBS) $(VT_LIBS)

$(BUILD)/vcard: $(BUILD)/obj/tests/vtoken/vcard_main.o $(BUILD)/libvtoken.a
	$(CC) -o $@ $< $(BUILD)/libvtoken.a $(LINK) $(VT_LIBS)

# Raw-libusb checker of the emulated reader (no usbpiv code in the path).
# It takes vtoken_inject() from libvtoken.a.
$(BUILD)/vtoken-probe: $(BUILD)/obj/tests/vtoken/probe_main.o $(BUILD)/libvtoken.a
	$(CC) -o $@ $< $(BUILD)/libvtoken.a $(LINK) $(shell $(PKG_CONFIG) --libs libusb-1.0)

# Preloaded by tests/with-vtoken: lets libusb_wrap_sys_device rewind an
# emulated usbfs fd (tests/vtoken/README.md).  No sanitizer: it is loaded
# into every process under with-vtoken.
$(BUILD)/vtoken-lseek.so: tests/vtoken/shim/vtoken_lseek.c tests/vtoken/shim/vtoken_lseek.map
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -std=c11 $(WARN) $(OPT) \
	    -Wl,--version-script=tests/vtoken/shim/vtoken_lseek.map -o $@ $< -ldl

# ---- unit tests ------------------------------------------------------------
# Tests link the module's objects too (through an archive, so a test pulls
# only what it uses), the software card, and the stack.
P11_TEST_LIB = $(if $(P11_SRC),$(BUILD)/libusbpiv-pkcs11.a)
# tools/ objects free of CLI state (pure parsers) that tests and fuzz
# targets may link.
TOOLS_TEST_OBJ = $(call obj,$(sort $(wildcard tools/unlock_parse.c tools/agent_proto.c)))
$(BUILD)/libvtreader.a: $(VT_CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# tests/lib/*.c: helpers the unit tests share (vcard APDUs, the module's
# test backend)
$(BUILD)/libtesthelp.a: $(call obj,$(TESTLIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

# In the faults build a test links its own object, its helpers, the
# software card and the emulator's engine with their calls renamed to
# __real_NAME: only the code under test fails.
NF = $(if $(FAULTS),$(BUILD)/nofault/$(notdir $(1)),$(1))
VT_TEST_LIB = $(if $(VT_LIB_SRC),$(call NF,$(BUILD)/libvtoken.a))
TESTHELP_LIB = $(call NF,$(BUILD)/libtesthelp.a)
VTREADER_LIB = $(call NF,$(BUILD)/libvtreader.a)
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(if $(FAULTS),$(BUILD)/nofault/tests/%.o $(FAULT_OBJ)) \
	    $(TOOLS_TEST_OBJ) $(BUILD)/libusbpiv.a $(P11_TEST_LIB) $(VT_PROGS) $(BUILD)/libvtreader.a \
	    $(BUILD)/libtesthelp.a $(VT_TEST_LIB) $(TESTHELP_LIB) $(VTREADER_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(if $(FAULTS),$(BUILD)/nofault/tests/$*.o,$<) $(TESTHELP_LIB) $(TOOLS_TEST_OBJ) $(P11_TEST_LIB) \
	    $(VTREADER_LIB) $(VT_TEST_LIB) $(BUILD)/libusbpiv.a \
	    $(FAULT_LINK) $(LINK) $(dep_libs) $(shell $(PKG_CONFIG) --libs cmocka) -pthread

$(BUILD)/faults.syms: tests/faults/wrapped.h
	@mkdir -p $(dir $@)
	sed -n 's/^[AW](\([A-Za-z0-9_]*\),.*/\1 __real_\1/p' $< > $@
# only the names an object calls and does not define itself: one that
# defines its own (a fake libusb) keeps it, and the wrappers' __real_NAME
# then reaches it
NOFAULT_SYMS = nm --defined-only $< | awk '{ print $$3 }' > $@.def; \
	nm -u $< | awk 'FILENAME == ARGV[1] { d[$$1] = 1; next } \
	    FILENAME == ARGV[2] { w[$$1] = $$2; next } \
	    ($$2 in w) && !($$2 in d) { print $$2, w[$$2] }' \
	    $@.def $(BUILD)/faults.syms - | sort -u > $@.syms
$(BUILD)/nofault/tests/%.o: $(BUILD)/obj/tests/%.o $(BUILD)/faults.syms
	@mkdir -p $(dir $@)
	$(NOFAULT_SYMS)
	objcopy --redefine-syms=$@.syms $< $@
$(BUILD)/nofault/%.a: $(BUILD)/%.a $(BUILD)/faults.syms
	@mkdir -p $(dir $@)
	$(NOFAULT_SYMS)
	objcopy --redefine-syms=$@.syms $< $@

# ---- fuzzing (clang libFuzzer + ASan + UBSan) ------------------------------
FUZZ_BUILD ?= $(BUILD)/fuzz
FUZZ_FLAGS ?= -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LINK ?= -fsanitize=fuzzer,address,undefined
FUZZ_RUNS ?= 1000000
fuzz:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang SAN='$(FUZZ_FLAGS)' \
	    $(FUZZ_BUILD)/libusbpiv.a $(if $(VT_LIB_SRC),$(FUZZ_BUILD)/libvtoken.a) \
	    $(patsubst fuzz/%.c,$(FUZZ_BUILD)/bin/%,$(FUZZ_SRC))

$(BUILD)/bin/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(TOOLS_TEST_OBJ) $(BUILD)/libusbpiv.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_LINK) -o $@ $< $(TOOLS_TEST_OBJ) \
	    $(if $(VT_LIB_SRC),$(BUILD)/libvtoken.a) $(BUILD)/libusbpiv.a $(dep_libs)

# The whole-stack targets link more: the PKCS#11 module's objects, and the
# CLI's (all but main.c and token.c: fuzz_cli.c opens the token over the
# fuzzed card itself).
FUZZ_CLI_OBJ = $(call obj,$(filter-out tools/main.c tools/token.c,$(CLI_SRC)))
$(BUILD)/bin/fuzz_p11_stack: $(BUILD)/obj/fuzz/fuzz_p11_stack.o $(BUILD)/libusbpiv-pkcs11.a $(BUILD)/libusbpiv.a $(BUILD)/libvtoken.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_LINK) -o $@ $< \
	    $(BUILD)/libusbpiv-pkcs11.a $(BUILD)/libvtoken.a $(BUILD)/libusbpiv.a \
	    $(dep_libs) -pthread
$(BUILD)/bin/fuzz_p11_der: $(BUILD)/obj/fuzz/fuzz_p11_der.o $(BUILD)/libusbpiv-pkcs11.a $(BUILD)/libusbpiv.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_LINK) -o $@ $< $(BUILD)/libusbpiv-pkcs11.a \
	    $(BUILD)/libusbpiv.a $(dep_libs) -pthread
$(BUILD)/bin/fuzz_cli: $(BUILD)/obj/fuzz/fuzz_cli.o $(FUZZ_CLI_OBJ) $(BUILD)/libusbpiv.a $(BUILD)/libvtoken.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_LINK) -o $@ $< $(FUZZ_CLI_OBJ) \
	    $(BUILD)/libvtoken.a $(BUILD)/libusbpiv.a $(dep_libs) -pthread

fuzz-run: fuzz
	@for f in $(FUZZ_BUILD)/bin/fuzz_*; do \
	    n=$$(basename $$f); mkdir -p fuzz/corpus-$$n; \
	    echo "== $$n: $(FUZZ_RUNS) runs"; t0=$$(date +%s); \
	    $$f -runs=$(FUZZ_RUNS) -print_final_stats=1 fuzz/corpus-$$n \
	        $$( [ -d fuzz/seeds/$$n ] && echo fuzz/seeds/$$n ) \
	        > $(FUZZ_BUILD)/$$n.log 2>&1; rc=$$?; \
	    grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY' \
	        $(FUZZ_BUILD)/$$n.log; \
	    echo "   $$(( $$(date +%s) - t0 )) s, exit $$rc"; \
	    [ $$rc -eq 0 ] || { tail -n 40 $(FUZZ_BUILD)/$$n.log; exit 1; }; \
	done

# CI's share (well under a minute): every target replays its seeds (the
# recorded sessions and the inputs that once failed), and the whole-stack
# targets mutate for FUZZ_SMOKE_S seconds each.  Long runs are `fuzz-run`.
FUZZ_SMOKE_S ?= 10
FUZZ_SMOKE = fuzz_p11_stack fuzz_cli
fuzz-smoke: fuzz
	@for f in $(FUZZ_BUILD)/bin/fuzz_*; do \
	    n=$$(basename $$f); [ -d fuzz/seeds/$$n ] || continue; \
	    $$f -runs=0 -close_fd_mask=3 fuzz/seeds/$$n \
	        > $(FUZZ_BUILD)/$$n.smoke.log 2>&1 || \
	        { echo "== $$n: a seed fails"; tail -n 40 $(FUZZ_BUILD)/$$n.smoke.log; exit 1; }; \
	done; echo "== fuzz seeds replayed"
	@for n in $(FUZZ_SMOKE); do \
	    rm -rf $(FUZZ_BUILD)/smoke-$$n; mkdir -p $(FUZZ_BUILD)/smoke-$$n; \
	    $(FUZZ_BUILD)/bin/$$n -max_total_time=$(FUZZ_SMOKE_S) -close_fd_mask=3 \
	        -timeout=25 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/smoke-$$n- \
	        $(FUZZ_BUILD)/smoke-$$n fuzz/seeds/$$n > $(FUZZ_BUILD)/$$n.smoke.log 2>&1 || \
	        { echo "== $$n: failed"; tail -n 60 $(FUZZ_BUILD)/$$n.smoke.log; exit 1; }; \
	    echo "== $$n: $$(grep -o 'number_of_executed_units: [0-9]*' \
	        $(FUZZ_BUILD)/$$n.smoke.log | cut -d' ' -f2) runs in $(FUZZ_SMOKE_S) s, clean"; \
	done

BENCH_PROGS = $(BUILD)/bench/fair-run $(BUILD)/bench/p11-sign-loop

bench: all vtoken $(BENCH_PROGS)
	@for b in bench/*.sh; do [ -x "$$b" ] && "$$b" $(BUILD); done; true

# bench/fair.sh's helpers: the job runner and a 100-signature client.
bench-tools: $(BENCH_PROGS)
$(BUILD)/bench/fair-run: bench/fair_run.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LINK)
$(BUILD)/bench/p11-sign-loop: bench/p11_sign_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LINK) -ldl

# ---- install ---------------------------------------------------------------
# The library (libusbpiv.a/.so) and its headers are built for the module,
# the CLI and the tests, but not installed: they are no public API yet (no
# stable ABI, no pkg-config file); see README.md.
INSTALLED = $(DESTDIR)$(PKCS11DIR)/usbpiv-pkcs11.so \
	    $(DESTDIR)$(BINDIR)/usbpiv \
	    $(DESTDIR)$(MANDIR)/man1/usbpiv.1 \
	    $(DESTDIR)$(BASHCOMPDIR)/usbpiv \
	    $(DESTDIR)$(P11KITDIR)/usbpiv.module \
	    $(DESTDIR)$(UDEVRULESDIR)/70-usbpiv.rules \
	    $(DESTDIR)$(TMPFILESDIR)/usbpiv.conf \
	    $(DESTDIR)$(HOOKDIR)/usbpiv-hook \
	    $(DESTDIR)$(HOOKDIR)/usbpiv-keyscript \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/usbpiv-token@.service \
	    $(DESTDIR)$(SYSTEMDUSERUNITDIR)/usbpiv-agent.socket \
	    $(DESTDIR)$(SYSTEMDUSERUNITDIR)/usbpiv-agent.service \
	    $(DESTDIR)$(INITRAMFSTOOLSDIR)/hooks/usbpiv \
	    $(addprefix $(DESTDIR)$(DRACUTMODDIR)/91usbpiv/,$(DRACUT_FILES))
DRACUT_FILES = module-setup.sh usbpiv-keyscript usbpiv-unlock-key \
	    usbpiv-unlock@.service
# Every directory install puts a file in.  Those it has to create (and
# their parents it creates) are listed in $(HOOKDIR)/installed-dirs, so
# uninstall removes them again when they are empty, and no directory that
# was there before (RECORD_DIRS=0: record nothing, as for a package).
INSTALL_DIRS = $(PKCS11DIR) $(BINDIR) $(MANDIR)/man1 $(BASHCOMPDIR) \
	    $(P11KITDIR) $(UDEVRULESDIR) $(TMPFILESDIR) $(HOOKDIR) \
	    $(SYSTEMDUNITDIR) $(SYSTEMDUSERUNITDIR) $(INITRAMFSTOOLSDIR)/hooks \
	    $(DRACUTMODDIR)/91usbpiv
RECORD_DIRS ?= 1
DIRS_LIST = $(DESTDIR)$(HOOKDIR)/installed-dirs
# Placeholders in the udev rule, unit and initramfs hook.
SUBST	= sed -e 's|@GROUP@|$(USBPIV_GROUP)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	    -e 's|@HOOKDIR@|$(HOOKDIR)|g' -e 's|@PKCS11DIR@|$(PKCS11DIR)|g' \
	    -e 's|@UDEVRULESDIR@|$(UDEVRULESDIR)|g'

install: all
	@new=; for d in $(INSTALL_DIRS); do x=$$d; \
	    while [ -n "$$x" ] && [ "$$x" != / ] && [ ! -d "$(DESTDIR)$$x" ]; do \
	        new="$$new $$x"; x=$$(dirname "$$x"); done; done; \
	    install -d $(addprefix $(DESTDIR),$(INSTALL_DIRS)); \
	    if [ "$(RECORD_DIRS)" = 1 ] && [ -n "$$new" ]; then \
	        { [ -f $(DIRS_LIST) ] && cat $(DIRS_LIST); printf '%s\n' $$new; } | \
	        sort -u > $(DIRS_LIST).tmp && mv $(DIRS_LIST).tmp $(DIRS_LIST); fi
	install -m 0755 $(BUILD)/usbpiv-pkcs11.so $(DESTDIR)$(PKCS11DIR)/usbpiv-pkcs11.so
	install -m 0755 $(BUILD)/usbpiv $(DESTDIR)$(BINDIR)/usbpiv
	install -m 0644 $(BUILD)/usbpiv.1 $(DESTDIR)$(MANDIR)/man1/usbpiv.1
	install -m 0644 tools/usbpiv.bash $(DESTDIR)$(BASHCOMPDIR)/usbpiv
	printf 'module: %s\n' $(P11KIT_MODULE) > $(DESTDIR)$(P11KITDIR)/usbpiv.module
	chmod 0644 $(DESTDIR)$(P11KITDIR)/usbpiv.module
	$(SUBST) udev/70-usbpiv.rules.in > $(DESTDIR)$(UDEVRULESDIR)/70-usbpiv.rules
	chmod 0644 $(DESTDIR)$(UDEVRULESDIR)/70-usbpiv.rules
	install -m 0644 udev/usbpiv-tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/usbpiv.conf
	@# the shared state directory now, as tmpfiles.d makes it at boot
	@if [ -z "$(DESTDIR)" ] && [ -d /run ] && [ ! -e /run/usbpiv ]; then \
	    install -d -m 1777 /run/usbpiv; fi
	install -m 0755 udev/usbpiv-hook $(DESTDIR)$(HOOKDIR)/usbpiv-hook
	install -m 0755 initramfs/initramfs-tools/scripts/usbpiv-keyscript \
	    $(DESTDIR)$(HOOKDIR)/usbpiv-keyscript
	$(SUBST) 'udev/usbpiv-token@.service' > '$(DESTDIR)$(SYSTEMDUNITDIR)/usbpiv-token@.service'
	chmod 0644 '$(DESTDIR)$(SYSTEMDUNITDIR)/usbpiv-token@.service'
	install -m 0644 systemd/usbpiv-agent.socket $(DESTDIR)$(SYSTEMDUSERUNITDIR)/usbpiv-agent.socket
	$(SUBST) systemd/usbpiv-agent.service > $(DESTDIR)$(SYSTEMDUSERUNITDIR)/usbpiv-agent.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUSERUNITDIR)/usbpiv-agent.service
	$(SUBST) initramfs/initramfs-tools/hooks/usbpiv > $(DESTDIR)$(INITRAMFSTOOLSDIR)/hooks/usbpiv
	chmod 0755 $(DESTDIR)$(INITRAMFSTOOLSDIR)/hooks/usbpiv
	for f in $(DRACUT_FILES); do \
	    case $$f in *.service) m=0644 ;; *) m=0755 ;; esac; \
	    $(SUBST) "initramfs/dracut/91usbpiv/$$f" > "$(DESTDIR)$(DRACUTMODDIR)/91usbpiv/$$f" && \
	    chmod $$m "$(DESTDIR)$(DRACUTMODDIR)/91usbpiv/$$f" || exit 1; done

uninstall:
	rm -f $(INSTALLED)
	-rmdir $(DESTDIR)$(DRACUTMODDIR)/91usbpiv 2>/dev/null
	@# the directories install created, deepest first, if empty now
	@if [ -f $(DIRS_LIST) ]; then \
	    dirs=$$(sort -r $(DIRS_LIST)); rm -f $(DIRS_LIST); \
	    for d in $$dirs; do rmdir "$(DESTDIR)$$d" 2>/dev/null || true; done; fi
	-rmdir $(DESTDIR)$(HOOKDIR) 2>/dev/null

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
