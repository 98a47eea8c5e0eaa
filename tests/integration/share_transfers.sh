#!/bin/sh
# SPDX-License-Identifier: MIT
# USB traffic at the floor, counted by the emulated reader (its `counters`
# injection: completed control, bulk and interrupt transfers).  With a card
# already powered (the usual case: any earlier use powers it), a job costs
# exactly one CCID exchange (two bulk transfers) per APDU: no control
# transfer (the strings come from sysfs), no GetSlotStatus, no power-up.
# The first use after plug-in adds one power-up.  An extra signature in a
# session is one exchange.
set -eu
. tests/lib/common.sh
need ssh-keygen pkcs11-tool openssl
need_built "$MODULE" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"
need_vtoken
cc_test bench/p11_sign_loop.c "$T/sign-loop" -ldl

provision_key 01 EC:prime256v1 xfer-p256 >/dev/null
provision_key 02 rsa:2048 xfer-rsa >/dev/null
echo 0123456789abcdef0123456789abcdef > "$T/hash"

cat > "$T/in.sh" <<IN
set -eu
T=$T; MODULE=$MODULE
n=0
count() {	# total transfers "control bulk" so far
	n=\$((n + 1))
	: > "\$VTOKEN_CTL.ack"
	echo counters > "\$VTOKEN_CTL"
	i=0
	while ! grep -q '^counters' "\$VTOKEN_CTL.ack" && [ \$i -lt 100 ]; do
		sleep 0.05; i=\$((i + 1)); done
	sed -n 's/^counters control=\([0-9]*\) bulk-out=\([0-9]*\) bulk-in=\([0-9]*\).*/\1 \2 \3/p' \
	    "\$VTOKEN_CTL.ack"
}
job() {	# NAME CMD...: prints NAME control bulk apdus
	name=\$1; shift
	set -- \$(count) "\$@"
	c0=\$1 o0=\$2 i0=\$3; shift 3
	a0=\$(grep -c '^> ' "\$T/apdu.log" || true)
	"\$@" > /dev/null 2>&1
	set -- \$(count)
	a1=\$(grep -c '^> ' "\$T/apdu.log" || true)
	echo "\$name \$((\$1 - c0)) \$((\$2 - o0 + \$3 - i0)) \$((a1 - a0))"
}
job cold ssh-keygen -D "\$MODULE"
job keys ssh-keygen -D "\$MODULE"
job sign pkcs11-tool --module "\$MODULE" --login --pin 123456 --sign \
    --id 01 -m ECDSA -i "\$T/hash" -o "\$T/sig"
job sign1 "\$T/sign-loop" "\$MODULE" 1
job sign11 "\$T/sign-loop" "\$MODULE" 11
IN
: > "$T/apdu.log"
VTOKEN_LOG=$T/apdu.log vt sh "$T/in.sh" > "$T/counts" || { cat "$T/counts"; fail "jobs"; }
cat "$T/counts" | while read -r name ctl bulk apdus; do
	echo "  $name: $apdus APDUs, $bulk bulk and $ctl control transfers"
done
get() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$T/counts"; }
for j in cold keys sign sign1 sign11; do
	[ "$(get $j 2)" = 0 ] || fail "$j: $(get $j 2) control transfers"
	[ "$(get $j 4)" -gt 0 ] || fail "$j: no APDU logged"
done
for j in keys sign; do
	a=$(get $j 4) b=$(get $j 3)
	[ "$b" -le $((2 * a + 2)) ] || fail "$j: $b bulk transfers for $a APDUs"
done
a=$(get cold 4) b=$(get cold 3)
[ "$b" -le $((2 * a + 4)) ] || fail "cold: $b bulk transfers for $a APDUs"
# ten more signatures in one session: ten more exchanges, nothing else
d=$(( $(get sign11 3) - $(get sign1 3) ))
[ "$d" -eq 20 ] || fail "10 extra signatures cost $d bulk transfers, want 20"
echo "share_transfers: all passed"
