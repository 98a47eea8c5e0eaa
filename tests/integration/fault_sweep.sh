#!/bin/sh
# SPDX-License-Identifier: MIT
# Faults at every step (issue 10, item 13).  Three operations - `usbpiv
# sign` (with its PIN), `usbpiv pin change` and `usbpiv import-key` - are
# first run once cleanly to count their bulk commands (the emulator's
# counters) and to find the step that carries the state-changing APDU.
# Then each is run again from the same card state with a fault at step N:
# `unplug-at N`, or `malform-at N KIND` for every malform kind.  Each run
# must end in bounded time with an exit status 0..8 (no crash, no hang, no
# sanitizer report), and afterwards the card must be what the message
# said:
#   sign        exit 0: the signature verifies; the PIN tries stay 3 and
#               the PIN verifies (a right PIN never costs a try)
#   pin change  exit 0: the new PIN verifies; exit 8 (outcome unknown):
#               the new or the old one does; any other: the old one does;
#               the tries are 3 before anything is checked
#   import-key  exit 0: slot 9d holds the imported key; exit 8: the
#               imported or the old one; any other: the old one
#
# Coverage: USBPIV_SWEEP=full runs every kind at every step (26 steps x 7
# faults = 182 runs, some 9 minutes: the seq/slot kinds wait out the 5 s
# stale-frame bound).  The default (CI) runs every other step once, the
# fault rotating over unplug, length, length-short, truncated and type (so
# each meets steps all along each operation), and all 7 faults (seq and
# slot too, 5 s each) at the step carrying each operation's state-changing
# command (GENERAL AUTHENTICATE, CHANGE REFERENCE DATA, IMPORT KEY):
# 23 + 3 x 7 = 44 runs, 72 s here (2 cores, under load).
. tests/lib/common.sh
need_vtoken
need_built "$USBPIV"
need openssl timeout

U="$USBPIV_WRAP $USBPIV"
MODE=${USBPIV_SWEEP:-ci}
KINDS="unplug length length-short seq slot truncated type"
# seconds one faulty run may take (the stale-frame wait is 5 s)
limit=20
[ -n "$USBPIV_WRAP" ] && limit=90
export USBPIV_LOCK_DIR=$T

# ---- the card everything starts from ---------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/new.pem" 2>/dev/null || fail "openssl genpkey"
openssl pkey -in "$T/new.pem" -pubout -out "$T/newpub.pem" || fail "pubout"
echo "a message to sign" > "$T/msg"
tests/with-vtoken --state "$T/base" -- sh -c '
    $1 keygen --slot 9a --alg p256 -o "$2/pub9a.pem" &&
    $1 keygen --slot 9d --alg p256 -o "$2/pub9d.pem"' sh "$U" "$T" \
    >/dev/null 2>"$T/err" || { cat "$T/err"; fail "setup"; }
openssl pkey -pubin -in "$T/pub9d.pem" -outform DER | od -An -tx1 |
    tr -d ' \n' > "$T/old9d"
openssl pkey -pubin -in "$T/newpub.pem" -outform DER | od -An -tx1 |
    tr -d ' \n' > "$T/new9d"

# op_cmd OP: the command of an operation
op_cmd() {
	case $1 in
	sign) echo "$U sign --slot 9a -i $T/msg -o $T/sig" ;;
	pin) echo "$U pin change" ;;
	import) echo "$U import-key --slot 9d -i $T/new.pem" ;;
	esac
}
# op_ins OP: the INS (and CLA) of its state-changing APDU in the card's log
op_ins() {
	case $1 in
	sign) echo "0087" ;;
	pin) echo "0024" ;;
	import) echo "00FE" ;;
	esac
}

export USBPIV_PIN=123456 USBPIV_NEW_PIN=654321
export USBPIV_MGM_KEY=$MGM_DEFAULT

# ---- count the steps of each operation, cleanly ------------------------------
for op in sign pin import; do
	cp "$T/base" "$T/state"
	rm -f "$T/sig"
	tests/with-vtoken --state "$T/state" --keep-log -- $(op_cmd $op) \
	    >/dev/null 2>"$T/err" || { cat "$T/err"; fail "$op: clean run"; }
	d=$(sed -n 's/^with-vtoken: logs kept in //p' "$T/err")
	[ -d "$d" ] || fail "$op: no kept log"
	steps=$(sed -n 's/.*transfers: .*bulk-out=\([0-9]*\).*/\1/p' \
	    "$d/reader.log")
	napdu=$(grep -c '^> ' "$d/apdu.log")
	# the APDU log starts at the card's first APDU; the bulk commands
	# before it (power-up) come first
	k=$(grep '^> ' "$d/apdu.log" | grep -n "^> $(op_ins $op)" |
	    tail -n 1 | cut -d: -f1)
	rm -rf "$d"
	[ -n "$steps" ] && [ -n "$k" ] || fail "$op: cannot count its steps"
	key=$((steps - napdu + k))
	eval "steps_$op=$steps key_$op=$key"
	echo "== $op: $steps bulk commands ($napdu APDUs), the" \
	    "state-changing one is step $key"
done

# ---- the checks after a faulty run -------------------------------------------
# pins OP RC: the PINs to try, the one the message implies first (a
# refused one costs a try, but the tries were read before)
pins() {
	if [ $1 = pin ] && [ $2 -eq 0 -o $2 -eq 8 ]; then echo "654321 123456"
	else echo "123456 654321"; fi
}

# post OP RC PINS: the card as the message of the run said it would be
post() {
	_op=$1 _rc=$2
	tests/with-vtoken --state "$T/state" -- sh -c '
	    U=$1 T=$2
	    $U info --json > "$T/info" 2>/dev/null
	    sed -n "s/.*\"pin\": {\"tries_left\": \([0-9]*\).*/tries=\1/p" "$T/info"
	    $U export-pubkey --slot 9d -o "$T/cur9d.pem" 2>/dev/null &&
	    openssl pkey -pubin -in "$T/cur9d.pem" -outform DER |
	        od -An -tx1 | tr -d " \n" > "$T/cur9d"
	    for p in $3; do
		if USBPIV_PIN=$p $U pin verify >/dev/null 2>&1; then
		    echo "pin=$p"; break
		fi
	    done' sh "$U" "$T" "$3" > "$T/post" 2>"$T/post.err" ||
	    { cat "$T/post.err"; return 1; }
	tries=$(sed -n 's/^tries=//p' "$T/post")
	pin=$(sed -n 's/^pin=//p' "$T/post")
	[ "$tries" = 3 ] || { echo "PIN tries $tries, want 3"; return 1; }
	case $_op in
	sign)
		[ "$pin" = 123456 ] || { echo "PIN 123456 refused"; return 1; }
		if [ "$_rc" = 0 ]; then
			openssl dgst -sha256 -verify "$T/pub9a.pem" \
			    -signature "$T/sig" "$T/msg" >/dev/null 2>&1 ||
			    { echo "exit 0 with a signature that does not" \
			    "verify"; return 1; }
		fi ;;
	pin)
		case $_rc in
		0) [ "$pin" = 654321 ] ||
			{ echo "said changed, new PIN refused"; return 1; } ;;
		8) [ -n "$pin" ] || { echo "neither PIN verifies"; return 1; } ;;
		*) [ "$pin" = 123456 ] ||
			{ echo "said failed, old PIN refused"; return 1; } ;;
		esac ;;
	import)
		cmp -s "$T/cur9d" "$T/new9d" && now=new
		cmp -s "$T/cur9d" "$T/old9d" && now=old
		case $_rc in
		0) [ "${now:-}" = new ] ||
			{ echo "said imported, slot holds ${now:-?}"; return 1; } ;;
		8) [ -n "${now:-}" ] ||
			{ echo "slot holds neither key"; return 1; } ;;
		*) [ "${now:-}" = old ] ||
			{ echo "said failed, slot holds ${now:-?}"; return 1; } ;;
		esac
		now= ;;
	esac
	return 0
}

# ---- the sweep ---------------------------------------------------------------
runs=0 unknown=0 okr=0 errs=0 bad=0 worst=0
one() {
	op=$1 n=$2 kind=$3
	if [ "$kind" = unplug ]; then inj="unplug-at $n"
	else inj="malform-at $n $kind"; fi
	cp "$T/base" "$T/state"
	rm -f "$T/sig"
	s=$(date +%s)
	timeout -k 5 $((limit * 3)) tests/with-vtoken --state "$T/state" \
	    --inject "$inj" -- $(op_cmd $op) >"$T/out" 2>"$T/err"
	rc=$?
	dt=$(($(date +%s) - s))
	[ $dt -gt $worst ] && worst=$dt
	runs=$((runs + 1))
	why=
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="hangs"
	elif [ $rc -gt 8 ]; then why="exit $rc (crash?)"
	elif grep -qE 'Sanitizer|runtime error|reader died' "$T/err"; then
		why="sanitizer or reader report"
	elif [ $dt -gt $limit ]; then why="took $dt s"
	elif [ $rc -ne 0 ] && ! grep -q '^usbpiv: ' "$T/err"; then
		why="exit $rc without a message"
	elif [ $rc -eq 8 ] && ! grep -q 'may or may not' "$T/err"; then
		why="exit 8 without saying what may have happened"
	elif ! msg=$(post $op $rc "$(pins $op $rc)"); then
		why="card state: $msg"
	fi
	case $rc in 0) okr=$((okr + 1)) ;; 8) unknown=$((unknown + 1)) ;;
	*) errs=$((errs + 1)) ;; esac
	if [ -n "$why" ]; then
		bad=$((bad + 1))
		echo "FAIL $op step $n $inj: exit $rc: $why"
		sed 's/^/    /' "$T/err"
	else
		echo "ok $op step $n $inj: exit $rc ($(tail -n 1 "$T/err" |
		    cut -c1-90))"
	fi
}

i=0
for op in sign pin import; do
	eval "steps=\$steps_$op key=\$key_$op"
	n=1
	while [ $n -le $steps ]; do
		if [ "$MODE" = full ] || [ $n -eq $key ]; then
			for kind in $KINDS; do one $op $n $kind; done
		else
			# rotate the quick kinds over the steps
			set -- unplug length length-short truncated type
			shift $((i % 5))
			one $op $n $1
			i=$((i + 1))
		fi
		n=$((n + 1))
	done
done

echo "fault_sweep ($MODE): $runs runs over $((steps_sign + steps_pin + steps_import)) steps: $okr exit 0, $unknown exit 8 (outcome unknown), $errs clean errors; slowest ${worst}s; $bad failed"
[ $bad -eq 0 ] || fail "$bad runs failed"
[ $unknown -gt 0 ] || fail "no run reported an unknown outcome"
