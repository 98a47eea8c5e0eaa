#!/bin/sh
# SPDX-License-Identifier: MIT
# A reader that misbehaves, through the whole stack: 1000 time extensions
# before an answer end in a clear timeout, and each kind of malformed frame
# the emulator makes (`malform KIND`) in a clear error, never a crash or a
# hang - through `usbpiv info` (exit status and message) and through the
# PKCS#11 module (C_GetTokenInfo and C_Sign fail in bounded time, then the
# token works again without C_Finalize).
. tests/lib/common.sh
need_vtoken
need_built "$MODULE" "$USBPIV"

cc_test tests/integration/stack_txn.c "$T/stack_txn"
cc_test tests/integration/stack_p11.c "$T/stack_p11" -pthread
export USBPIV_LOCK_DIR=$T
vt $USBPIV_WRAP "$T/stack_txn" setup once || fail "setup"

# Seconds a faulty exchange may take end to end (the stale-frame wait is
# 5 s; valgrind slows the rest).
limit=15
[ -n "$USBPIV_WRAP" ] && limit=40

n=0
for line in "wtx 1000" "malform length" "malform length-short" \
    "malform seq" "malform slot" "malform truncated" "malform type"; do
	echo "== $line: usbpiv info"
	s=$(date +%s)
	# the emulator breaks the first answer: IccPowerOn's
	timeout $((limit * 2)) tests/with-vtoken --state "$T/state" \
	    --inject "$line" -- $USBPIV_WRAP "$USBPIV" info \
	    >"$T/out" 2>"$T/err"
	rc=$?
	dt=$(($(date +%s) - s))
	cat "$T/err"
	[ $rc -eq 124 ] && fail "$line: usbpiv info hangs"
	[ $rc -ge 1 ] && [ $rc -lt 100 ] || fail "$line: usbpiv info exit $rc"
	[ $dt -le $limit ] || fail "$line: usbpiv info took $dt s"
	case $line in
	wtx*) want="timed out" ;;
	*) want="malformed or unexpected CCID message" ;;
	esac
	grep -q "$want" "$T/err" || fail "$line: no '$want' message"
	# capped time extensions: not blamed on the time budget
	case $line in
	wtx*) grep -q "time extensions" "$T/err" ||
		fail "$line: the message does not name the time extensions"
	      grep -q "budget spent" "$T/err" &&
		fail "$line: says the time budget was spent" ;;
	esac
	echo "   exit $rc in ${dt}s"

	echo "== $line: PKCS#11 module"
	timeout $((limit * 6)) tests/with-vtoken --state "$T/state" -- \
	    $USBPIV_WRAP "$T/stack_p11" "$MODULE" fault "$line" ||
	    fail "$line: module"
	n=$((n + 1))
done
echo "stack_fault: $n passed, 0 failed"
