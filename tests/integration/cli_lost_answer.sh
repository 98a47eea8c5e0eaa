#!/bin/sh
# SPDX-License-Identifier: MIT
# A lost answer to a state-changing command (issue 10, item 4).  The step
# carrying the command is found in a clean run (the reader's bulk
# commands, the card's APDU log); then the same command runs again from
# the same card with that answer broken (`malform-at N truncated`: the
# card did it) or the reader unplugged there (`unplug-at N`: it did not).
#   pin change    exit 8, "the PIN may or may not have been changed" and
#                 how to find out; then the new PIN verifies (malform) or
#                 the old one (unplug), the tries still 3
#   import-key    malform: usbpiv reads METADATA, sees the new key: exit 0
#                 with a warning; unplug: exit 8
#   write-object  malform: reads the object back, exit 0; unplug: exit 8
#   mgm-key set   malform: authenticates with the new key, exit 0
# and a fault one step before the command (it never reached the card) is
# an ordinary error, not "outcome unknown".
. tests/lib/common.sh
need_vtoken
need_built "$USBPIV"
need openssl

U="$USBPIV_WRAP $USBPIV"
export USBPIV_LOCK_DIR=$T USBPIV_PIN=123456 USBPIV_NEW_PIN=654321
export USBPIV_MGM_KEY=$MGM_DEFAULT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/new.pem" 2>/dev/null || fail "openssl genpkey"
openssl pkey -in "$T/new.pem" -pubout -out "$T/newpub.pem" || fail "pubout"
printf 'lost answers' > "$T/obj"
tests/with-vtoken --state "$T/base" -- $U keygen --slot 9d --alg p256 \
    -o "$T/old9d.pem" >/dev/null 2>"$T/err" || { cat "$T/err"; fail setup; }

# step INS CMD...: the bulk command that carries the last APDU INS in a
# clean run of CMD from the base card
step() {
	_ins=$1
	shift
	cp "$T/base" "$T/state"
	tests/with-vtoken --state "$T/state" --keep-log -- "$@" \
	    >/dev/null 2>"$T/err" || { cat "$T/err"; fail "clean $*"; }
	_d=$(sed -n 's/^with-vtoken: logs kept in //p' "$T/err")
	_steps=$(sed -n 's/.*bulk-out=\([0-9]*\).*/\1/p' "$_d/reader.log")
	_n=$(grep -c '^> ' "$_d/apdu.log")
	_k=$(grep '^> ' "$_d/apdu.log" | grep -n "^> $_ins" | tail -n 1 |
	    cut -d: -f1)
	rm -rf "$_d"
	[ -n "$_k" ] || fail "no $_ins APDU in a clean $*"
	echo $((_steps - _n + _k))
}

# faulty INJECTION CMD...: CMD from the base card with the injection;
# sets rc, the messages in $T/err
faulty() {
	_inj=$1
	shift
	cp "$T/base" "$T/state"
	timeout 60 tests/with-vtoken --state "$T/state" --inject "$_inj" -- \
	    "$@" >"$T/out" 2>"$T/err"
	rc=$?
	sed 's/^/    /' "$T/err"
}
after() { tests/with-vtoken --state "$T/state" -- "$@"; }
pin_ok() { USBPIV_PIN=$1 after $U pin verify >/dev/null 2>&1; }
tries() {
	after $U info --json 2>/dev/null |
	    sed -n 's/.*"pin": {"tries_left": \([0-9]*\).*/\1/p'
}
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }

# ---- pin change -------------------------------------------------------------
k=$(step 0024 $U pin change) || exit 1
echo "== pin change: CHANGE REFERENCE DATA is bulk command $k"
faulty "malform-at $k truncated" $U pin change
[ $rc -eq 8 ] || fail "pin change, answer lost: exit $rc, want 8"
grep -q 'after the command reached the token: the outcome is unknown' \
    "$T/err" || fail "no 'outcome is unknown'"
grep -q 'the PIN may or may not have been changed' "$T/err" ||
    fail "does not say the PIN may or may not have been changed"
grep -q 'usbpiv info' "$T/err" && grep -q 'usbpiv pin verify' "$T/err" ||
    fail "does not say how to find out"
[ "$(tries)" = 3 ] || fail "tries $(tries) after a lost change"
pin_ok 654321 || fail "the card changed the PIN, the new one is refused"
ok "pin change, answer broken: exit 8, the message, the new PIN works"

faulty "unplug-at $k" $U pin change
[ $rc -eq 8 ] || fail "pin change, unplugged at it: exit $rc, want 8"
[ "$(tries)" = 3 ] || fail "tries $(tries) after an unplug"
pin_ok 123456 || fail "the change never reached the card: old PIN refused"
ok "pin change, unplugged at it: exit 8, the old PIN works"

faulty "unplug-at $((k - 1))" $U pin change
[ $rc -ne 8 ] && [ $rc -ne 0 ] ||
    fail "unplugged before the change: exit $rc (not sent: not unknown)"
grep -q 'may or may not' "$T/err" && fail "not sent, yet 'may or may not'"
pin_ok 123456 || fail "old PIN refused"
ok "pin change, unplugged one step before: exit $rc, no 'unknown'"

# ---- import-key -------------------------------------------------------------
k=$(step 00FE $U import-key --slot 9d -i "$T/new.pem") || exit 1
echo "== import-key: IMPORT KEY is bulk command $k"
faulty "malform-at $k truncated" $U import-key --slot 9d -i "$T/new.pem"
[ $rc -eq 0 ] || fail "import-key, answer lost: exit $rc, want 0 (seen)"
grep -q 'the answer was lost' "$T/err" && grep -q 'shows the change was made' \
    "$T/err" || fail "import-key: no 'answer lost, change made' warning"
after $U export-pubkey --slot 9d -o "$T/cur.pem" 2>/dev/null
cmp -s "$T/cur.pem" "$T/newpub.pem" || fail "import-key: slot not the new key"
ok "import-key, answer broken: METADATA shows the new key, exit 0"

faulty "unplug-at $k" $U import-key --slot 9d -i "$T/new.pem"
[ $rc -eq 8 ] || fail "import-key, unplugged at it: exit $rc, want 8"
grep -q 'the key may or may not have been imported' "$T/err" ||
    fail "import-key: no 'may or may not have been imported'"
after $U export-pubkey --slot 9d -o "$T/cur.pem" 2>/dev/null
cmp -s "$T/cur.pem" "$T/old9d.pem" || fail "import-key: slot changed"
ok "import-key, unplugged at it: exit 8, the old key stays"

# ---- write-object (PUT DATA) ------------------------------------------------
k=$(step 00DB $U write-object 5fc10d -i "$T/obj") || exit 1
echo "== write-object: PUT DATA is bulk command $k"
faulty "malform-at $k truncated" $U write-object 5fc10d -i "$T/obj"
[ $rc -eq 0 ] || fail "write-object, answer lost: exit $rc, want 0 (seen)"
grep -q 'shows the change was made' "$T/err" ||
    fail "write-object: no 'change was made' warning"
after $U read-object 5fc10d -o "$T/back" 2>/dev/null
cmp -s "$T/back" "$T/obj" || fail "write-object: object not written"
ok "write-object, answer broken: read back, exit 0"

faulty "unplug-at $k" $U write-object 5fc10d -i "$T/obj"
[ $rc -eq 8 ] || fail "write-object, unplugged at it: exit $rc, want 8"
grep -q 'the object may or may not have been written' "$T/err" ||
    fail "write-object: no 'may or may not have been written'"
ok "write-object, unplugged at it: exit 8"

# ---- mgm-key set ------------------------------------------------------------
NEWKEY=0102030405060708010203040506070801020304050607FF
k=$(step 00FF env USBPIV_NEW_MGM_KEY=$NEWKEY $U mgm-key set) || exit 1
echo "== mgm-key set: SET MANAGEMENT KEY is bulk command $k"
faulty "malform-at $k truncated" env USBPIV_NEW_MGM_KEY=$NEWKEY \
    $U mgm-key set
[ $rc -eq 0 ] || fail "mgm-key set, answer lost: exit $rc, want 0 (seen)"
grep -q 'takes the new key' "$T/err" || fail "mgm-key set: no warning"
USBPIV_MGM_KEY=$NEWKEY after $U write-object 5fc10d -i "$T/obj" \
    >/dev/null 2>&1 || fail "mgm-key set: the new key is refused"
ok "mgm-key set, answer broken: the new key authenticates, exit 0"

echo "cli_lost_answer: $n passed"
