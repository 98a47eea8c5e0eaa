#!/bin/sh
# SPDX-License-Identifier: MIT
# One token, many processes, no daemon, under load: processes with 8
# threads each sign (ECDSA P-256, every signature verified with OpenSSL),
# alone, beside `usbpiv info` in a loop, and while another process holds
# the token for 5 s: no failure, no bad signature, no lost session, and
# fair waiting (neither finishes more than twice as late as the other).
# Then three module processes stay logged in while another program changes
# the PIN: none sends the old PIN (tries stay 3 of 3), the new one works.
# SHARE_SOAK_N signatures per thread (default 20; the full run: 1000).
set -eu
. tests/lib/common.sh
need openssl python3
need_built "$MODULE" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"
need_vtoken
N=${SHARE_SOAK_N:-20}
cc_test tests/integration/share_soak.c "$T/soak" -ldl -lcrypto -pthread

provision_key 01 EC:prime256v1 soak-p256 >/dev/null
S="${USBPIV_WRAP:-} $T/soak $MODULE $T/pub.01.pem 8 $N"

cat > "$T/in.sh" <<IN
set -u
T=$T
fail() { echo "FAIL: \$*"; exit 1; }
pair() {	# two soak processes at once
	$S > "\$T/a" 2>"\$T/a.err" & a=\$!
	$S > "\$T/b" 2>"\$T/b.err"; rb=\$?
	wait \$a; ra=\$?
	cat "\$T/a" "\$T/b"
	[ \$ra -eq 0 ] && [ \$rb -eq 0 ] || { cat "\$T/a.err" "\$T/b.err"; fail "\$1"; }
	ta=\$(awk '{print \$13}' "\$T/a") tb=\$(awk '{print \$13}' "\$T/b")
	echo "  \$1: both processes done in \$ta and \$tb ms"
	[ "\$ta" -le \$((2 * tb + 500)) ] && [ "\$tb" -le \$((2 * ta + 500)) ] ||
	    fail "\$1: one process finished more than twice as late"
}
pair "two processes"
( while [ ! -e "\$T/stop" ]; do ${USBPIV_WRAP:-} $USBPIV info > /dev/null 2>&1 || echo x >> "\$T/infofail"; done ) &
ip=\$!
pair "beside usbpiv info in a loop"
: > "\$T/stop"; wait \$ip
[ ! -e "\$T/infofail" ] || echo "  (usbpiv info failed \$(wc -l < "\$T/infofail") times: busy)"
( sleep 0.5; python3 "$USBPIV_TOP/tests/lib/hold-token.py" /dev/bus/usb/001/002 5 ) &
hp=\$!
pair "while another process holds the token for 5 s"
wait \$hp
IN
vt sh "$T/in.sh" || fail "soak"

# three logged-in processes, the PIN changed by another program
cat > "$T/pin.sh" <<IN
set -u
T=$T
for i in 1 2 3; do
	${USBPIV_WRAP:-} $T/soak pinchange $MODULE "\$T/ready\$i" "\$T/go" 24681357 > "\$T/p\$i" 2>&1 &
	eval p\$i=\\\$!
done
for i in 1 2 3; do
	j=0; while [ ! -e "\$T/ready\$i" ] && [ \$j -lt 600 ]; do sleep 0.05; j=\$((j + 1)); done
done
USBPIV_PIN=123456 USBPIV_NEW_PIN=24681357 ${USBPIV_WRAP:-} $USBPIV pin change || exit 1
: > "\$T/go"
rc=0
for i in 1 2 3; do eval wait \\\$p\$i || rc=1; cat "\$T/p\$i"; done
${USBPIV_WRAP:-} $USBPIV --json info > "\$T/info.json" || exit 1
exit \$rc
IN
vt sh "$T/pin.sh" || fail "three processes across a PIN change"
tries=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pin"]["tries_left"])' "$T/info.json")
[ "$tries" = 3 ] || fail "PIN tries after the change: $tries, want 3"
echo "  three logged-in processes across a PIN change: tries 3 of 3, the new PIN works"
echo "share_soak: all passed"
