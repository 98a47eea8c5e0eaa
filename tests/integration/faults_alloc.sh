#!/bin/sh
# SPDX-License-Identifier: MIT
# Each allocation failure on its own (faults build only, `make
# check-faults`; skipped elsewhere): `usbpiv info` and `usbpiv list` with
# exactly the Nth malloc, then the Nth calloc, failing (USBPIV_FAULT_ONLY),
# for every N until no call is left.  Each run ends in success or exit 1
# with a message - never "no reader" / "no token" / "removed" (exit 3:
# an allocation failure once made enumeration skip the reader, and
# usb_open call the reader gone), never a crash, a leak or a hang (ASan
# reports, timeout).
. tests/lib/common.sh
need_vtoken
need_built "$USBPIV"
need nm timeout
nm "$USBPIV" 2>/dev/null | grep -q __wrap_malloc ||
    skip "not a faults build (make check-faults)"

export USBPIV_LOCK_DIR=$T
runs=0 failed=0
for fn in malloc calloc; do
	for cmd in info list; do
		n=1
		while [ $n -le 300 ]; do
			rm -f "$T/inj"
			USBPIV_FAULT_ONLY=$fn:$n USBPIV_FAULT_LOG=$T/inj \
			    timeout 60 tests/with-vtoken --state "$T/state" -- \
			    "$USBPIV" $cmd >/dev/null 2>"$T/err"
			rc=$?
			[ -s "$T/inj" ] || break	# no Nth call: done
			runs=$((runs + 1))
			why=
			if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then why="exit $rc"
			elif grep -qE 'Sanitizer|runtime error' "$T/err"; then
				why="sanitizer report"
			elif [ $rc -eq 1 ] && ! grep -q . "$T/err"; then
				why="exit 1 without a message"
			elif grep -qiE 'no token|no reader|no CCID|removed' \
			    "$T/err"; then
				why="an allocation failure reads as no token"
			fi
			if [ -n "$why" ]; then
				failed=$((failed + 1))
				echo "FAIL $cmd, $fn #$n fails: $why"
				cat "$T/inj" "$T/err" | sed 's/^/    /'
			fi
			n=$((n + 1))
		done
		echo "== usbpiv $cmd: $((n - 1)) ${fn} calls, each failed once"
	done
done
echo "faults_alloc: $runs runs, $failed failed"
[ $failed -eq 0 ] || fail "$failed runs"
