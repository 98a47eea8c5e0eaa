#!/bin/sh
# SPDX-License-Identifier: MIT
# Every failure point, one at a time (faults build only, `make
# check-faults`; skipped elsewhere).  For each command below, run from the
# same card, the Nth call usbpiv makes to any wrapped function (an
# allocation, libusb, OpenSSL: tests/faults/wrapped.h) fails and nothing
# else (USBPIV_FAULT_ONLY='*:N'), for N = 1, 2, ... until the command
# makes no Nth call.  Each run must end within 60 s with exit 0..8, a
# message when it fails, no sanitizer report; and what it says it did must
# hold: a signature written with exit 0 verifies, a key generated with
# exit 0 is a valid public key, a PIN changed with exit 0 verifies.
# USBPIV_WALK_MAX (default 400) bounds N per command.
. tests/lib/common.sh
need_vtoken
need_built "$USBPIV"
need nm openssl timeout
nm "$USBPIV" 2>/dev/null | grep -q __wrap_malloc ||
    skip "not a faults build (make check-faults)"

U=$USBPIV
max=${USBPIV_WALK_MAX:-400}
export USBPIV_LOCK_DIR=$T USBPIV_PIN=123456 USBPIV_NEW_PIN=654321
export USBPIV_MGM_KEY=$MGM_DEFAULT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/new.pem" 2>/dev/null || fail "openssl genpkey"
echo "sign me" > "$T/msg"
tests/with-vtoken --state "$T/base" -- sh -c '
    $1 keygen --slot 9a --alg p256 -o "$2/pub9a.pem" &&
    $1 selfsign-cert --slot 9a --subject CN=walk -o "$2/cert.pem"' \
    sh "$U" "$T" \
    >/dev/null 2>"$T/err" || { cat "$T/err"; fail "setup"; }

runs=0 failed=0 total=0
walk() {
	name=$1
	shift
	n=1
	while [ $n -le $max ]; do
		cp "$T/base" "$T/state"
		rm -f "$T/inj" "$T/sig" "$T/pub.pem"
		USBPIV_FAULT_ONLY="*:$n" USBPIV_FAULT_LOG=$T/inj \
		    timeout -k 5 60 tests/with-vtoken --state "$T/state" -- \
		    "$@" >"$T/out" 2>"$T/err"
		rc=$?
		[ -s "$T/inj" ] || break
		runs=$((runs + 1))
		why=
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="hangs"
		elif [ $rc -gt 8 ]; then why="exit $rc"
		elif grep -q '^sanitizer-death' "$T/inj" ||
		    grep -qE 'Sanitizer|runtime error' "$T/err"; then
			why="sanitizer report"
		elif [ $rc -ne 0 ] && ! grep -q . "$T/err"; then
			why="exit $rc without a message"
		elif [ $rc -eq 0 ]; then
			case $name in
			sign) openssl dgst -sha256 -verify "$T/pub9a.pem" \
			    -signature "$T/sig" "$T/msg" >/dev/null 2>&1 ||
			    why="exit 0, the signature does not verify" ;;
			keygen) openssl pkey -pubin -in "$T/pub.pem" -noout \
			    2>/dev/null || why="exit 0, no public key" ;;
			write-object) tests/with-vtoken --state "$T/state" -- \
			    "$U" read-object 5fc10d -o "$T/back" \
			    >/dev/null 2>&1 && cmp -s "$T/back" "$T/msg" ||
			    why="exit 0, the object is not what was written" ;;
			pin-change) USBPIV_PIN=654321 tests/with-vtoken \
			    --state "$T/state" -- "$U" pin verify \
			    >/dev/null 2>&1 ||
			    why="exit 0, the new PIN is refused" ;;
			esac
		fi
		if [ -n "$why" ]; then
			failed=$((failed + 1))
			echo "FAIL $name, failure point $n: $why"
			sed 's/^/    /' "$T/inj" "$T/err" | head -n 30
		fi
		n=$((n + 1))
	done
	total=$((total + n - 1))
	echo "== $name: $((n - 1)) failure points, each failed once"
}

walk info $U info
walk list $U list
walk sign $U sign --slot 9a -i "$T/msg" -o "$T/sig"
walk keygen $U keygen --slot 9c --alg p256 -o "$T/pub.pem"
walk import-key $U import-key --slot 9d -i "$T/new.pem"
walk pin-change $U pin change
walk ssh-keys $U ssh-keys
walk export-cert $U export-cert --slot 9a -o "$T/exported.pem"
walk pin-verify $U pin verify
walk write-object $U write-object 5fc10d -i "$T/msg"
walk import-cert $U import-cert --slot 9a -i "$T/cert.pem"
echo "faults_walk: $total failure points, $runs runs, $failed failed"
[ $failed -eq 0 ] || fail "$failed runs"
