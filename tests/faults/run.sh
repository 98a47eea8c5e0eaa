#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/faults/run.sh BUILD — `make check-faults`: the unit tests and the
# integration scripts below, on the faults build (tests/faults/faults.c),
# once per seed, with one call in USBPIV_FAULT_RATE of the code under test
# failing.  Every run is classified:
#
#   pass         passed (injections or not)
#   injected     failed with injections logged, and passes again with the
#                same seed and no injections: the failures ended in a clean
#                error (an exit status, a CKR_*, a failed assertion of the
#                test), which is what is wanted
#   REAL         a sanitizer report (crash, leak, undefined behaviour), a
#                hang (the time limit), a signal, or a failure that stays
#                without injections
#
# Environment: USBPIV_FAULT_SEEDS (several, space separated) or
# USBPIV_FAULT_SEED (one; default: the time), USBPIV_FAULT_RATE (default
# 40; the integration scripts get USBPIV_FAULT_RATE_IT, default ten times
# that), USBPIV_FAULT_TESTS (names of unit tests test_* and integration
# scripts; default: every unit test and the integration scripts listed
# below), USBPIV_FAULT_LIMIT (seconds per run, default 300).
# Replay one run:  USBPIV_FAULT_SEED=S USBPIV_FAULT_RATE=R
#                  USBPIV_FAULT_TESTS=NAME tests/faults/run.sh BUILD
# and USBPIV_FAULT_LOG=FILE lists each injection (program, call, caller).
set -u
build=${1:-build/faults}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
export USBPIV_BUILD="$build" USBPIV_TOP="$top" USBPIV_WRAP=
export USBPIV_TEST_MODE=${USBPIV_TEST_MODE:-asan}
rate=${USBPIV_FAULT_RATE:-40}
# the integration scripts make many processes and give up at the first
# failure of their setup: a lower rate lets them reach further
itrate=${USBPIV_FAULT_RATE_IT:-$((rate * 10))}
seeds=${USBPIV_FAULT_SEEDS:-${USBPIV_FAULT_SEED:-$(date +%s)}}
limit=${USBPIV_FAULT_LIMIT:-300}
# The integration scripts that drive the CLI and the module over the
# emulated token (the slow boot, packaging and comparison ones are left
# out; USBPIV_FAULT_TESTS can name any).
IT_DEFAULT="cli_basic cli_keys cli_pin cli_readers p11_apdus p11_clients
    stack_fault share_users faults_alloc faults_walk"
# These walk every failure point themselves (USBPIV_FAULT_ONLY), whatever
# the seed: run with the first seed only.
ONCE="faults_alloc faults_walk"
tests=${USBPIV_FAULT_TESTS:-}
if [ -z "$tests" ]; then
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] && tests="$tests $(basename "$t")"
	done
	tests="$tests $IT_DEFAULT"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/usbpiv-faults.XXXXXX")
trap 'rm -rf "$work"' EXIT

# run1 NAME SEED RATE DIR: one run, its output in DIR/out; returns its status
run1() {
	_n=$1 _dir=$4
	rm -rf "$_dir"; mkdir -p "$_dir"
	(
	cd "$top" || exit 1
	export USBPIV_FAULT_SEED=$2 USBPIV_FAULT_RATE=$3
	export USBPIV_FAULT_LOG=$_dir/injections
	# (no log_path: ASan's log file open under umockdev's preload
	# crashes; faults.c logs "sanitizer-death" instead)
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	case $_n in
	test_*) exec timeout -k 10 "$limit" "$build/tests/$_n" ;;
	*) exec timeout -k 10 "$limit" sh "tests/integration/$_n.sh" ;;
	esac
	) > "$_dir/out" 2>&1
}

pass=0 inj=0 real=0 runs=0 faults=0 skipped=0 reals=
for seed in $seeds; do
	echo "== seed $seed, rate 1/$rate, integration 1/$itrate (replay:" \
	    "USBPIV_FAULT_SEED=$seed USBPIV_FAULT_RATE=$rate" \
	    "USBPIV_FAULT_RATE_IT=$itrate USBPIV_FAULT_TESTS=NAME $0 $1)"
	for n in $tests; do
		case " $ONCE " in
		*" $n "*) [ "$seed" = "${seeds%% *}" ] || continue ;;
		esac
		d=$work/$seed-$n
		t0=$(date +%s)
		r=$rate
		case $n in test_*) ;; *) r=$itrate ;; esac
		run1 "$n" "$seed" "$r" "$d"
		rc=$?
		dt=$(($(date +%s) - t0))
		k=0 san= tleak=
		touch "$d/injections"
		k=$(grep -c '^fault ' "$d/injections")
		grep -q '^sanitizer-death' "$d/injections" && san="sanitizer report"
		grep -qE 'ERROR: AddressSanitizer|runtime error:|Test failed with exception' \
		    "$d/out" && san="sanitizer report or crash"
		if grep -q 'ERROR: LeakSanitizer' "$d/out"; then
			# a unit test that failed an assertion leaves what it
			# held (cmocka jumps out of it): the test's leak
			case $n in
			test_*) grep -q '^\[  FAILED  \]' "$d/out" &&
			    [ $k -gt 0 ] && [ "$san" != "sanitizer report or crash" ] &&
			    tleak=1 san= ;;
			esac
			[ -z "$tleak" ] && san="leak"
		fi
		if [ $rc -eq 77 ]; then
			skipped=$((skipped + 1))
			echo "   $n: skipped ($(tail -n 1 "$d/out"))"
			continue
		fi
		runs=$((runs + 1))
		faults=$((faults + k))
		why=
		if [ -n "$san" ]; then why="$san"
		elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="hang (${dt}s)"
		elif [ $rc -gt 128 ] && [ -z "$tleak" ]; then
			why="signal $((rc - 128))"
		elif [ $rc -ne 0 ]; then
			# again, same seed, no injections
			run1 "$n" "$seed" 0 "$d.again"
			rc2=$?
			if [ $k -eq 0 ]; then why="failed with no injection"
			elif [ $rc2 -ne 0 ]; then
				why="fails without injections too (exit $rc2)"
			fi
		fi
		if [ -n "$why" ]; then
			real=$((real + 1))
			reals="$reals $seed:$n"
			echo "   $n: REAL: $why; $k injections, exit $rc, ${dt}s"
			grep -A 30 -E 'ERROR: |runtime error|exception' \
			    "$d/out" | head -n 40 | sed 's/^/      /'
			[ -f "$d/injections" ] && tail -n 3 "$d/injections" |
			    sed 's/^/      last: /'
			tail -n 15 "$d/out" | sed 's/^/      /'
			mkdir -p "$build/faults-failed"
			cp -r "$d" "$build/faults-failed/"
		elif [ $rc -eq 0 ]; then
			pass=$((pass + 1))
			echo "   $n: pass, $k injections, ${dt}s"
		else
			inj=$((inj + 1))
			echo "   $n: failed by injection (passes without), $k" \
			    "injections, ${dt}s; first: $(head -n 1 \
			    "$d/injections" | cut -d' ' -f3-5)${tleak:+; the}" \
			    "${tleak:+test's own leak after its failed assertion}"
		fi
	done
done
echo "check-faults: seeds $seeds, rate 1/$rate (integration 1/$itrate):" \
    "$runs runs, $faults" \
    "injected failures; $pass passed, $inj failed by injection (clean)," \
    "$real REAL, $skipped skipped"
[ -n "$reals" ] && echo "REAL failures:$reals (kept in $build/faults-failed)"
[ $real -eq 0 ]
