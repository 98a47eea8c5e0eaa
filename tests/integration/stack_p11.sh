#!/bin/sh
# SPDX-License-Identifier: MIT
# The PKCS#11 module (dlopen + C_GetFunctionList, tests/integration/
# stack_p11.c) through the real stack on the emulated reader, while things
# happen behind its back:
#  - the card is pulled in a logged-in session and put back: the call in
#    flight fails CKR_DEVICE_REMOVED (or TOKEN_NOT_PRESENT), the old session
#    is CKR_SESSION_HANDLE_INVALID after, C_WaitForSlotEvent reports the
#    slot (CKF_DONT_BLOCK, and blocking for the insertion), C_OpenSession on
#    the empty slot is CKR_TOKEN_NOT_PRESENT, and once the card is back a
#    login and a signature work without C_Finalize;
#  - the same with the whole reader unplugged and plugged back;
#  - another process logs the PIN out (VERIFY P1=FF) or resets the card
#    (a new `usbpiv apdu` powers it on) between our calls: the module says
#    CKR_USER_NOT_LOGGED_IN rather than sign on a stale login.
. tests/lib/common.sh
need_vtoken
need_built "$MODULE" "$USBPIV"

cc_test tests/integration/stack_txn.c "$T/stack_txn"
cc_test tests/integration/stack_p11.c "$T/stack_p11" -pthread
export USBPIV_LOCK_DIR=$T
P="$USBPIV_WRAP $T/stack_p11 $MODULE"
vt $USBPIV_WRAP "$T/stack_txn" setup once || fail "setup"

n=0
run() {
	echo "== $*"
	vt $P "$@" || fail "$1"
	n=$((n + 1))
}
run remove
run unplug
SELECT=00A4040009A00000030800001000
# another process logs the card out (VERIFY P1=FF) / only uses it: the
# module's login follows the token (kept PIN; joining resets nothing)
run relogin "$USBPIV_WRAP $USBPIV apdu $SELECT 0020FF80 >/dev/null"
run relogin "$USBPIV_WRAP $USBPIV apdu $SELECT >/dev/null"
# without re-login the logged-out card is reported, never signed on
echo "== relogin, USBPIV_RELOGIN=0"
USBPIV_RELOGIN=0 vt $P relogin "$USBPIV_WRAP $USBPIV apdu $SELECT 0020FF80 >/dev/null" ||
	fail "relogin off"
n=$((n + 1))
echo "stack_p11: $n passed, 0 failed"
