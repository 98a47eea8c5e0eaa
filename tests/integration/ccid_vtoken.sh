#!/bin/sh
# SPDX-License-Identifier: MIT
# The ccid layer, over usb/, against the emulated reader (vtoken-reader on
# umockdev): every built-in reader profile (YubiKey-like extended APDU,
# short APDU, extended APDU with 271-byte messages, TPDU T=1, two slots),
# with time extensions and T=1 S(WTX) injected, and a reader that asks for
# time forever (must end in a timeout, not hang).
set -eu
top=${USBPIV_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
. tests/lib/common.sh
build=$USBPIV_BUILD
reader=${VTOKEN_READER:-$build/vtoken-reader}
preload=libumockdev-preload.so

need_vtoken "$reader"

tmp=$T
rpid=
stop_reader_at_exit() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	return 0
}
cleanup_add stop_reader_at_exit

cc_test tests/integration/ccid_vtoken.c "$tmp/ccid_vtoken"

start_reader() {
	rm -f "$tmp/ready"
	"$reader" --card test "$@" --ready "$tmp/ready" >"$tmp/reader.log" 2>&1 &
	rpid=$!
	i=0
	while [ ! -s "$tmp/ready" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$rpid" 2>/dev/null; then
			echo "vtoken-reader did not start:"; cat "$tmp/reader.log"
			exit 1
		fi
		sleep 0.1
	done
	root=$(cat "$tmp/ready")
}

stop_reader() {
	kill "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=
}

# USBPIV_WRAP (tests/run-tests.sh) carries tests/valgrind.supp
wrap=${USBPIV_WRAP:-}

client() {
	UMOCKDEV_DIR=$root LD_PRELOAD=$preload USBPIV_LOCK_DIR=$tmp \
	    $wrap "$tmp/ccid_vtoken" "$@"
}

for p in yubikey5 extended-apdu t1 two-slot; do
	echo "== $p"
	start_reader --reader "$p"
	client apdu
	stop_reader
done
echo "== short-apdu"
start_reader --reader short-apdu
client short
stop_reader
echo "== time extensions"
start_reader --reader extended-apdu "wtx 20"
client apdu
stop_reader
echo "== T=1 S(WTX)"
start_reader --reader t1 "swtx 3"
client apdu
stop_reader
echo "== endless time extensions"
start_reader --reader yubikey5 "wtx 100000 forever"
client timeout
stop_reader
echo "ccid_vtoken: all passed"
