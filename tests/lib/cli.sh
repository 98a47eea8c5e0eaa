# SPDX-License-Identifier: MIT
# tests/lib/cli.sh — what the CLI scripts (tests/integration/cli_*.sh)
# share; sourced.  Such a script runs twice: outside, it checks that the
# CLI and the emulated token are built and runs itself again inside
# tests/with-vtoken (CLI_INNER set, a fresh $T, the card's state in
# $T/state); inside, it drives the card with $U.  Exit 77 = skipped.

B=${USBPIV_BUILD:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
U="${USBPIV_WRAP:-} $B/usbpiv"
n=0
fail() { echo "FAIL: $*"; exit 1; }
ok() { n=$((n + 1)); echo "ok $n: $*"; }

# expect CODE STDERR-PATTERN command...: exit code and message checked
# (output in ./out and ./err; nothing on stdin).
expect() {
	want=$1 pat=$2
	shift 2
	"$@" > out 2> err < /dev/null
	got=$?
	[ $got -eq "$want" ] || { cat err; fail "exit $got, want $want: $*"; }
	[ -z "$pat" ] || grep -q -- "$pat" err || { cat err; fail "no '$pat' from: $*"; }
}

# cli_need_vtoken: skip unless the CLI and the emulated token are built.
cli_need_vtoken() {
	[ -x "$B/usbpiv" ] || { echo "skip: $B/usbpiv not built"; exit 77; }
	if [ ! -x "$B/vtoken-reader" ] || [ ! -x tests/with-vtoken ]; then
		echo "skip: emulated token missing (build/vtoken-reader, tests/with-vtoken)"
		exit 77
	fi
}

# cli_once SCRIPT: outside, run SCRIPT once inside a fresh virtual token and
# exit with its status; inside, return.
cli_once() {
	[ -n "${CLI_INNER:-}" ] && return 0
	cli_need_vtoken
	T=$(mktemp -d) || exit 1
	CLI_INNER=1 T=$T tests/with-vtoken --state "$T/state" -- sh "$1"
	_rc=$?
	rm -rf "$T"
	exit $_rc
}
