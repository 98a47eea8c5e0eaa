#!/bin/sh
# SPDX-License-Identifier: MIT
# A reader that is present but unusable says why where PKCS#11 clients
# show it: with another program keeping the interface claimed (as pcscd
# does), `pkcs11-tool -L` lists the slot as "... (in use by another
# program)", `usbpiv info` exits 5 saying so, and once the claim is let go
# the token is there again.
set -eu
. tests/lib/common.sh
need pkcs11-tool python3
need_built "$MODULE" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"
need_vtoken

cat > "$T/in.sh" <<IN
set -u
T=$T
fail() { echo "FAIL: \$*"; exit 1; }
python3 "$USBPIV_TOP/tests/lib/claim-iface.py" /dev/bus/usb/001/002 20 "\$T/claimed" &
cp=\$!
i=0; while [ ! -e "\$T/claimed" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
[ -e "\$T/claimed" ] || fail "could not claim the interface"
pkcs11-tool --module "$MODULE" -L > "\$T/list" 2>&1
cat "\$T/list"
grep -q "in use by another program" "\$T/list" || fail "no reason in the slot list"
${USBPIV_WRAP:-} $USBPIV info > /dev/null 2> "\$T/err"; rc=\$?
[ \$rc -eq 5 ] || fail "usbpiv info: exit \$rc, want 5"
grep -q "in use by another program" "\$T/err" || fail "usbpiv info: \$(cat "\$T/err")"
kill \$cp; wait \$cp 2>/dev/null
pkcs11-tool --module "$MODULE" -L > "\$T/list2" 2>&1
grep -q "token label" "\$T/list2" || { cat "\$T/list2"; fail "the token did not come back"; }
IN
vt sh "$T/in.sh" || fail "busy reader"
echo "p11_busy_reason: all passed"
