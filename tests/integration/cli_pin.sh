#!/bin/sh
# SPDX-License-Identifier: MIT
# usbpiv PIN, PUK, management key and reset on the emulated token: wrong
# PIN shows the tries left with exit 4, PIN change then use of the new PIN,
# PIN from a file, unblock with the PUK, PUK change, pin-retries, mgm-key
# set (explicit key, then PIN-protected), reset once PIN and PUK are
# blocked, and that no secret shows in the -v trace.
set -u
. "${USBPIV_TOP:-.}/tests/lib/cli.sh"
cli_once "$0"
unset USBPIV_PIN USBPIV_PUK USBPIV_MGM_KEY
cd "$T" || exit 1
printf 'hello\n' > msg
DEFKEY=010203040506070801020304050607080102030405060708

$U keygen --slot 9a --alg p256 -o pub.pem > /dev/null || fail "keygen with the factory key"
ok "keygen with the factory management key (token says it is the default)"

# ---- wrong PIN ----
expect 4 "wrong PIN, 2 tries left" env USBPIV_PIN=000000 $U sign --slot 9a -i msg
$U --json info > info.json || fail "info --json"
python3 -m json.tool info.json > /dev/null || fail "info --json does not parse"
python3 -c 'import json,sys; d=json.load(open("info.json")); sys.exit(d["pin"]["tries_left"] != 2)' ||
	fail "info does not show 2 PIN tries left"
USBPIV_PIN=123456 $U sign --slot 9a -i msg -o s || fail "right PIN"
$U info | grep -q 'PIN tries left: *3/3' || fail "tries not back to 3 after a right PIN"
ok "wrong PIN: exit 4 and tries left; right PIN restores them"

# ---- PINs and PUKs the card cannot hold: usage error, nothing sent ----
printf '12345\n' > short.pin
printf '123\000456\n' > nul.pin
printf '123456789\n' > long.pin
expect 2 "6 to 8" env USBPIV_PIN=12345 $U sign --slot 9a -i msg
expect 2 "6 to 8" env USBPIV_PIN=123456789 $U sign --slot 9a -i msg
expect 2 "6 to 8" $U sign --slot 9a --pin-file short.pin -i msg
expect 2 "6 to 8" $U sign --slot 9a --pin-file long.pin -i msg
expect 2 "NUL" $U sign --slot 9a --pin-file nul.pin -i msg
expect 2 "6 to 8" env USBPIV_PIN=12345 USBPIV_NEW_PIN=654321 $U pin change
expect 2 "NUL" env USBPIV_NEW_PIN=654321 $U pin change --pin-file nul.pin
expect 2 "6 to 8" env USBPIV_PUK=12345 USBPIV_NEW_PIN=654321 $U pin unblock
expect 2 "6 to 8" env USBPIV_PUK=123456789 USBPIV_NEW_PUK=11223344 $U puk change
expect 2 "6 to 8" env USBPIV_PUK=12345678 USBPIV_NEW_PUK=123456789 $U puk change
$U --json info > info2.json || fail "info --json"
python3 -c 'import json,sys; d=json.load(open("info2.json")); sys.exit(d["pin"]["tries_left"] != 3 or d["puk"]["tries_left"] != 3)' ||
	fail "a PIN or PUK the card cannot hold cost a try: $(cat info2.json)"
ok "PINs/PUKs of 5 or 9 characters or with a NUL: exit 2, PIN and PUK tries unchanged (3/3)"

# ---- change, file, unblock ----
USBPIV_PIN=123456 USBPIV_NEW_PIN=24681357 $U pin change || fail "pin change"
expect 4 "wrong PIN" env USBPIV_PIN=123456 $U sign --slot 9a -i msg
USBPIV_PIN=24681357 $U sign --slot 9a -i msg -o s2 || fail "sign with the new PIN"
openssl dgst -sha256 -verify pub.pem -signature s2 msg > /dev/null || fail "verify"
printf '24681357\n' > pin.txt
$U sign --slot 9a --pin-file pin.txt -i msg -o s3 || fail "--pin-file"
expect 2 "6 to 8" env USBPIV_PIN=24681357 USBPIV_NEW_PIN=123 $U pin change
ok "pin change, then the new PIN works and the old fails; --pin-file"

for i in 1 2 3; do env USBPIV_PIN=11111111 $U sign --slot 9a -i msg > /dev/null 2>&1; done
expect 4 "blocked" env USBPIV_PIN=24681357 $U sign --slot 9a -i msg
expect 4 "wrong PUK, 2 tries left" env USBPIV_PUK=87654321 USBPIV_NEW_PIN=654321 $U pin unblock
USBPIV_PUK=12345678 USBPIV_NEW_PIN=654321 $U pin unblock || fail "unblock"
USBPIV_PIN=654321 $U sign --slot 9a -i msg -o s4 || fail "sign after unblock"
ok "blocked PIN: exit 4; unblock with the PUK (wrong PUK: exit 4)"

USBPIV_PUK=12345678 USBPIV_NEW_PUK=11223344 $U puk change || fail "puk change"
expect 4 "wrong PUK" env USBPIV_PUK=12345678 USBPIV_NEW_PUK=11223344 $U puk change
ok "puk change"

# ---- management key ----
printf '%s\n' 00112233445566778899aabbccddeeff0011223344556677 > mgm.hex
USBPIV_NEW_MGM_KEY=$(cat mgm.hex) $U mgm-key set --key-alg aes192 || fail "mgm-key set"
expect 4 "not the factory default" $U keygen --slot 9c --alg p256
expect 4 "rejected" env USBPIV_MGM_KEY=$DEFKEY $U keygen --slot 9c --alg p256
$U keygen --slot 9c --alg p256 --mgm-key-file mgm.hex > /dev/null || fail "keygen, key file"
USBPIV_MGM_KEY=$(cat mgm.hex) $U keygen --slot 9c --alg p256 > /dev/null || fail "keygen, key env"
$U info | grep -q 'Management key: *AES192$' || fail "info: mgm key type"
ok "mgm-key set AES192; wrong or missing key: exit 4; --mgm-key-file, \$USBPIV_MGM_KEY"

USBPIV_MGM_KEY=$(cat mgm.hex) USBPIV_PIN=654321 $U mgm-key set --generate --protect \
	--key-alg aes256 > gen.out || fail "mgm-key set --protect"
[ -s gen.out ] && fail "a protected generated key was printed"
$U info | grep -q 'AES256, PIN-protected' || fail "info: not PIN-protected"
USBPIV_PIN=654321 $U keygen --slot 9d --alg p256 > /dev/null || fail "keygen with the PIN only"
ok "PIN-protected management key: later commands need only the PIN"

USBPIV_PIN=654321 USBPIV_NEW_MGM_KEY=$DEFKEY $U mgm-key set --protect --key-alg 3des ||
	fail "back to 3DES"
USBPIV_PIN=654321 $U pin-retries 5 4 || fail "pin-retries"
$U info | grep -q 'PIN tries left: *5/5' || fail "PIN tries not 5"
$U info | grep -q 'PUK tries left: *4/4' || fail "PUK tries not 4"
USBPIV_PIN=123456 $U sign --slot 9a -i msg > /dev/null || fail "PIN not reset by pin-retries"
ok "pin-retries 5 4 (PIN and PUK back to factory values)"

# ---- reset ----
expect 2 "--force" $U reset < /dev/null
# reset blocks the PIN (5 tries) and the PUK (4 tries) itself, as ykman
for i in 1 2; do env USBPIV_PIN=00000000 $U sign --slot 9a -i msg > /dev/null 2>&1; done
$U reset --force || fail "reset --force (it blocks PIN and PUK itself)"
$U info > info.txt || fail "info after reset"
grep -q 'PIN tries left: *3/3 (factory default PIN)' info.txt || fail "PIN not default after reset"
grep -q '3DES (factory default' info.txt || grep -q 'AES192 (factory default' info.txt ||
	fail "mgm key not default after reset"
grep -q '^Slot' info.txt && fail "keys left after reset"
ok "reset: --force needed without a terminal; blocks PIN and PUK, factory state"

# ---- the PIN prompt: on the terminal, echo off ----
if command -v script > /dev/null; then
	$U keygen --slot 9e --alg p256 --pin-policy once -o 9e.pem > /dev/null ||
		fail "keygen 9e"
	# Type only once the prompt is up: TCSAFLUSH drops earlier input.
	delay=2
	[ -n "${USBPIV_WRAP:-}" ] && delay=12
	(sleep $delay; printf '123456\n') | timeout 120 script -qec \
	    "$U sign --slot 9e -i msg -o 9e.sig" /dev/null > tty.out 2>&1 ||
		fail "sign with the PIN typed at the prompt: $(cat tty.out)"
	grep -q 'PIN: ' tty.out || fail "no PIN prompt on the terminal"
	grep -q 123456 tty.out && fail "the typed PIN was echoed"
	openssl dgst -sha256 -verify 9e.pem -signature 9e.sig msg > /dev/null ||
		fail "verify after the prompt"
	ok "PIN prompt on the terminal with echo off"

	# While it waits for the PIN, the CLI holds its secrets in a page
	# that is left out of core dumps (VmFlags dd), locked (lo) and
	# zeroed in a forked child (wf).
	if [ -z "${USBPIV_WRAP:-}" ]; then
		# the PIN is typed only once the page has been looked at
		mkfifo pin.fifo
		timeout 120 script -qec "$U sign --slot 9e -i msg -o vault.sig" \
		    /dev/null < pin.fifo > tty2.out 2>&1 &
		bg=$!
		exec 3> pin.fifo
		flags=
		for i in $(seq 1 150); do
			for p in $(pgrep -f 'sign --slot 9e -i msg -o vault.sig'); do
				[ "$(readlink /proc/$p/exe 2>/dev/null)" = "$B/usbpiv" ] || continue
				flags=$(python3 - "$p" <<'PY'
import sys
try:
    for line in open("/proc/%s/smaps" % sys.argv[1]):
        if line.startswith("VmFlags:"):
            f = line.split(":", 1)[1].split()
            # writable, not dumped, zeroed in a child: the vault
            if "wr" in f and "dd" in f and "wf" in f:
                print(" ".join(f))
except OSError:
    pass
PY
)
			done
			[ -n "$flags" ] && break
			sleep 0.2
		done
		# type once the prompt is up (TCSAFLUSH drops earlier input)
		for i in $(seq 1 150); do
			grep -q 'PIN: ' tty2.out 2>/dev/null && break
			sleep 0.2
		done
		sleep 0.5
		printf '123456\n' >&3
		exec 3>&-
		wait $bg || fail "sign after the prompt (vault check): $(cat tty2.out)"
		echo "vault VmFlags: $flags"
		case " $flags " in
		*" dd "*) ;;
		*) fail "no page of the CLI is kept out of core dumps" ;;
		esac
		case " $flags " in
		*" lo "*) ;;
		*) # ASan makes mlock a no-op
		   [ "$(id -u)" = 0 ] && [ "${USBPIV_TEST_MODE:-}" != asan ] &&
			fail "the secrets' page is not locked" ;;
		esac
		ok "secrets held in a page out of core dumps and locked ($flags)"
	fi
fi

# ---- no secret in the trace ----
$U keygen --slot 9a --alg p256 > /dev/null || fail "keygen after reset"
USBPIV_DEBUG_FILE=$T/trace USBPIV_PIN=123456 USBPIV_NEW_PIN=76543210 $U -v pin change 2> /dev/null ||
	fail "pin change -v"
USBPIV_DEBUG_FILE=$T/trace USBPIV_PIN=76543210 $U -v sign --slot 9a -i msg \
	2> /dev/null > /dev/null || fail "sign -v"
# a raw VERIFY typed by the user, traced down to the USB frames
USBPIV_DEBUG=2 USBPIV_DEBUG_FILE=$T/trace $U apdu 00a4040005a000000308 \
	00200080083736353433323130 > /dev/null 2>&1 || fail "raw VERIFY"
grep -q 'A000000308' trace || fail "the raw SELECT is not in the trace"
grep -q '9000' trace || fail "the -v trace shows no APDU"
for secret in 313233343536 3736353433323130 37363534333231 123456 76543210; do
	grep -qi "$secret" trace && fail "secret $secret in the -v trace"
done
ok "no PIN in the -v trace"

echo "cli_pin: $n passed, 0 failed"
