#!/bin/sh
# SPDX-License-Identifier: MIT
# usbpiv over every emulated reader profile (short APDUs with chaining,
# extended APDUs, a TPDU-level T=1 reader, a two-slot reader): list, an
# RSA-4096 key (long commands and answers), a signature openssl verifies,
# and a 4096-bit certificate that round-trips.
set -u
B=${USBPIV_BUILD:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
if [ -z "${CLI_INNER:-}" ]; then
	[ -x "$B/usbpiv" ] || { echo "skip: $B/usbpiv not built"; exit 77; }
	if [ ! -x "$B/vtoken-reader" ] || [ ! -x tests/with-vtoken ]; then
		echo "skip: emulated token missing (build/vtoken-reader, tests/with-vtoken)"
		exit 77
	fi
	T=$(mktemp -d) || exit 1
	openssl req -x509 -newkey rsa:4096 -nodes -keyout "$T/big.key" \
	    -subj /CN=big-cert -days 10 -out "$T/big.crt" 2> /dev/null ||
		{ echo "FAIL: openssl req"; exit 1; }
	n=0
	for r in short-apdu extended-apdu t1 two-slot; do
		rm -f "$T/state"*
		CLI_INNER=1 T=$T R=$r tests/with-vtoken --reader $r \
		    --state "$T/state" -- sh "$0" || { rm -rf "$T"; exit 1; }
		n=$((n + 1))
	done
	rm -rf "$T"
	echo "cli_readers: $n passed, 0 failed"
	exit 0
fi
U="${USBPIV_WRAP:-} $B/usbpiv"
fail() { echo "FAIL ($R): $*"; exit 1; }
cd "$T" || exit 1
export USBPIV_PIN=123456
printf 'message\n' > msg
$U list > list.txt || fail "list"
grep -q "serial 13371337" list.txt || fail "list: $(cat list.txt)"
$U keygen --slot 9c --alg rsa4096 -o rsa.pem 2> /dev/null || fail "keygen rsa4096"
$U sign --slot 9c --hash sha512 -i msg -o sig || fail "sign"
openssl dgst -sha512 -verify rsa.pem -signature sig msg > /dev/null || fail "verify"
$U import-cert --slot 9c -i big.crt || fail "import-cert"
$U export-cert --slot 9c -o out.crt || fail "export-cert"
cmp -s big.crt out.crt || fail "certificate differs"
$U info | grep -q 'CN *= *big-cert' || fail "info: no subject"
echo "ok: $R reader"
