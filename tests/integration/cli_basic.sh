#!/bin/sh
# SPDX-License-Identifier: MIT
# usbpiv's command line on its own and on the emulated token: --help for
# every subcommand (exit 0), --version, usage errors (exit 2), "no token"
# (exit 3) outside the emulation, list/info (text and --json, parsed with
# python3 -m json.tool), --reader and --serial selection, apdu, watch.
set -u
. "${USBPIV_TOP:-.}/tests/lib/cli.sh"
CMDS="list info keygen import-key import-cert export-cert export-pubkey ssh-keys
attest sign decrypt pin puk pin-retries mgm-key reset apdu watch"

if [ -z "${CLI_INNER:-}" ]; then
	[ -x "$B/usbpiv" ] || { echo "skip: $B/usbpiv not built"; exit 77; }
	# ---- no token needed ----
	$U --help > /dev/null || fail "--help"
	$U --version | grep -q '^usbpiv [0-9]' || fail "--version"
	for c in $CMDS; do
		$U $c --help > h.$$ 2>&1 || { rm -f h.$$; fail "$c --help exits non-zero"; }
		grep -q "^usage: usbpiv .*$c" h.$$ || { rm -f h.$$; fail "$c --help: no usage"; }
		$U --help | grep -q "^  $c " || { rm -f h.$$; fail "$c not in --help"; }
	done
	rm -f h.$$
	ok "--help for every subcommand, --version"
	for bad in "" "frobnicate" "--bogus list" "keygen --slot 9a --alg rsa999" \
	    "keygen --slot 77 --alg p256" "sign --slot 9a --hash md4" \
	    "info extra" "pin-retries 5" "pin-retries 0 3" "reset" "sign --bogus" \
	    "--serial x list" "apdu" "export-cert --slot 9a --format xml"; do
		$U $bad > /dev/null 2>&1
		rc=$?
		[ $rc -eq 2 ] || fail "'usbpiv $bad': exit $rc, want 2"
	done
	ok "usage errors exit 2"
	if [ -z "${UMOCKDEV_DIR:-}" ] && ! $U list > /dev/null 2>&1; then
		$U info > /dev/null 2>&1
		rc=$?
		[ $rc -eq 3 ] || fail "info with no token: exit $rc, want 3"
		ok "no token: exit 3"
	fi
	if [ ! -x "$B/vtoken-reader" ] || [ ! -x tests/with-vtoken ]; then
		echo "cli_basic: $n passed, 0 failed (the emulated token is missing)"
		echo "skip: emulated token missing (build/vtoken-reader, tests/with-vtoken)"
		exit 77
	fi
	T=$(mktemp -d) || exit 1
	CLI_INNER=1 T=$T TOP=$(pwd) tests/with-vtoken --state "$T/state" -- sh "$0"
	rc=$?
	rm -rf "$T"
	exit $rc
fi

cd "$T" || exit 1
# ---- list ----
$U list > list.txt || fail "list"
grep -q "serial 13371337" list.txt || fail "list: no serial: $(cat list.txt)"
grep -q "firmware [0-9]*\.[0-9]*\.[0-9]*" list.txt || fail "list: no firmware"
$U --json list > list.json || fail "list --json"
python3 -m json.tool list.json > /dev/null || fail "list --json does not parse"
python3 -c 'import json; d = json.load(open("list.json")); assert d[0]["serial"] == 13371337 and d[0]["card"]' ||
	fail "list --json content"
path=$(python3 -c 'import json; print(json.load(open("list.json"))[0]["path"])')
ok "list, list --json"

# ---- info ----
$U info > info.txt || fail "info"
for f in 'Serial: *13371337' 'Firmware:' 'PIN tries left: *3/3' 'PUK tries left: *3/3' \
    'Management key: .*factory default'; do
	grep -q "$f" info.txt || fail "info: no '$f'"
done
$U keygen --slot 9c --alg p256 --pin-policy never --touch-policy never > /dev/null || fail "keygen"
$U --json info > info.json || fail "info --json"
python3 -m json.tool info.json > /dev/null || fail "info --json does not parse"
python3 -c '
import json
d = json.load(open("info.json"))
assert d["serial"] == 13371337
assert d["pin"]["tries_left"] == 3 and d["puk"]["tries_total"] == 3
assert d["management_key"]["default"] is True
s = d["slots"][0]
assert s["slot"] == "9c" and s["algorithm"] == "ECCP256"
assert s["pin_policy"] == "never" and s["origin"] == "generated"
' || fail "info --json content"
ok "info, info --json (slot algorithm, policies, origin)"

# ---- selection ----
$U --serial 13371337 info > /dev/null || fail "--serial of the token"
$U --serial 42 info > /dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "--serial 42: exit $rc, want 3"
$U --reader yubikey info > /dev/null || fail "--reader by name"
$U --reader "$path" info > /dev/null || fail "--reader by path"
$U --reader "no such reader" info > /dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "--reader unknown: exit $rc, want 3"
ok "--serial and --reader select the token, else exit 3"

# ---- apdu ----
$U apdu 00A4040009A0000003080000100000 00FD000000 > apdu.txt || fail "apdu"
[ "$(wc -l < apdu.txt)" -eq 2 ] || fail "apdu: want 2 lines: $(cat apdu.txt)"
tail -n 1 apdu.txt | grep -q '9000$' || fail "apdu: GET VERSION not 9000"
$U --json apdu 00CB3FFF055C035FC102 | python3 -m json.tool > /dev/null || fail "apdu --json"
$U apdu 00zz > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] || fail "apdu bad hex: exit $rc, want 2"
ok "apdu (SELECT + GET VERSION), --json"

# ---- watch ----
$U watch --timeout 1 > watch.txt || fail "watch"
grep -q "^present $path " watch.txt || fail "watch: no 'present' line: $(cat watch.txt)"
$U --json watch --timeout 0 | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' ||
	fail "watch --json lines"
ok "watch lists the present reader (text and JSON lines)"

# ---- busy: another process holds the token's lock ----
# The lock is on the device node itself: hold it as another process would.
rm -f held
python3 "$TOP/tests/lib/hold-token.py" /dev/bus/usb/001/002 60 held &
fpid=$!
i=0
while [ ! -e held ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e held ] || fail "the holder did not take the lock"
$U info > /dev/null 2> busy.err
rc=$?
kill $fpid 2> /dev/null
wait $fpid 2> /dev/null
[ $rc -eq 5 ] || fail "info on a locked token: exit $rc, want 5"
grep -q "in use by another program" busy.err || fail "busy message: $(cat busy.err)"
ok "a locked token: exit 5, 'in use by another program'"

if [ -n "${VTOKEN_CTL:-}" ] && [ -p "$VTOKEN_CTL" ]; then
	$U watch --count 3 --timeout 60 > events.txt &
	wpid=$!
	i=0	# until watch is up (slow under valgrind)
	while ! grep -q '^present' events.txt 2> /dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.5
	echo remove > "$VTOKEN_CTL"
	sleep 1
	echo insert > "$VTOKEN_CTL"
	sleep 1
	echo unplug > "$VTOKEN_CTL"
	wait $wpid || fail "watch with events"
	grep -q "^card-removed $path 0 " events.txt || fail "no card-removed: $(cat events.txt)"
	grep -q "^card-inserted $path 0 " events.txt || fail "no card-inserted: $(cat events.txt)"
	grep -q "^removed $path " events.txt || fail "no removed: $(cat events.txt)"
	ok "watch reports card removal, insertion and unplug"
fi

echo "cli_basic: $n passed, 0 failed"
