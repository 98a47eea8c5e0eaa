#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every unit test binary in BUILD/tests, then every integration script
# in tests/integration, and prints one closing line "N passed, N failed".
# USBPIV_TEST_MODE=valgrind runs the unit tests and usbpiv's own programs in
# the integration scripts under valgrind; =asan only changes the build used.
# An integration script that exits 77 is skipped (with its reason).
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
mode=${USBPIV_TEST_MODE:-plain}
export USBPIV_BUILD="$top/$build" USBPIV_TOP="$top"

wrap=
if [ "$mode" = valgrind ]; then
	# one suppression file for the whole suite (umockdev's preload library)
	wrap="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no --suppressions=$top/tests/valgrind.supp"
fi
export USBPIV_WRAP="$wrap"

# No test may hang the run: each gets a time limit (seconds), after which it
# and everything it started are killed and it counts as failed.
limit=${USBPIV_TEST_TIMEOUT:-300}
[ "$mode" = valgrind ] && limit=${USBPIV_TEST_TIMEOUT:-2400}
run_limited() { timeout -k 10 "$limit" "$@"; }

pass=0 fail=0 skip=0 failed=
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

for t in "$top/$build"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	echo "== $n"
	# cmocka prints its own summary lines; keep them visible.
	(cd "$top" && run_limited $wrap "$t")
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
	else
		[ $rc -eq 124 ] && echo "   TIMEOUT: $n ran longer than ${limit}s"
		fail=$((fail + 1)); failed="$failed $n"
	fi
done

for s in "$top"/tests/integration/*.sh; do
	[ -f "$s" ] || continue
	n=$(basename "$s" .sh)
	echo "== integration/$n"
	t0=$(date +%s)
	(cd "$top" && run_limited sh "$s") >"$log/$n" 2>&1
	rc=$?
	[ $rc -eq 124 ] && echo "TIMEOUT: killed after ${limit}s" >>"$log/$n"
	echo "   ($(( $(date +%s) - t0 ))s)"
	if [ $rc -eq 0 ]; then
		tail -n 3 "$log/$n" | sed 's/^/   /'
		pass=$((pass + 1))
	elif [ $rc -eq 77 ]; then
		echo "   skipped: $(tail -n 1 "$log/$n")"
		skip=$((skip + 1))
	else
		tail -n 40 "$log/$n" | sed 's/^/   /'
		fail=$((fail + 1)); failed="$failed integration/$n"
	fi
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$mode: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
