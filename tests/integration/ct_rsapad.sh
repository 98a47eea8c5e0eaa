#!/bin/sh
# SPDX-License-Identifier: MIT
# Constant time of the RSA decoders (util/util_rsapad.c), the "ctgrind"
# way: build/tests/test_util_rsapad ct hands every block to the decoders
# marked undefined for valgrind's memcheck, which then reports each
# conditional jump or memory index that depends on it.  Passes when
# memcheck reports nothing and the answers are right; and, so that the
# check is known to bite, an early-return decoder run the same way must be
# caught.
set -u
. tests/lib/common.sh
[ "${USBPIV_TEST_MODE:-}" = asan ] && skip "valgrind does not run the ASan build"
need valgrind
bin=$USBPIV_BUILD/tests/test_util_rsapad
need_built "$bin"
vg="valgrind -q --error-exitcode=99 --num-callers=8"

$vg "$bin" ct > "$T/ct.log" 2>&1
rc=$?
# valgrind 3.19 cannot read clang 14's DWARF 5 (make CC=clang)
grep -q "can't recover" "$T/ct.log" && skip "valgrind cannot read this build's debug information"
if [ $rc -ne 0 ] || grep -q 'uninitialised' "$T/ct.log"; then
	cat "$T/ct.log"
	fail "memcheck: a branch or index depends on the secret block (exit $rc)"
fi
grep 'decoder runs' "$T/ct.log"
echo "ok 1: util_rsapad.c: no branch or index on the secret block"

$vg "$bin" ct-leaky > "$T/leaky.log" 2>&1
rc=$?
n=$(grep -c 'Conditional jump or move depends on uninitialised' "$T/leaky.log")
[ $rc -eq 99 ] && [ "$n" -gt 0 ] ||
	{ cat "$T/leaky.log"; fail "the early-return decoder was not caught (exit $rc)"; }
echo "ok 2: an early-return decoder is caught ($n conditional jumps reported)"
echo "ct_rsapad: 2 passed, 0 failed"
