#!/bin/sh
# SPDX-License-Identifier: MIT
# APDUs at the floor, counted from the software card's log (VTOKEN_LOG):
# login + one signature (pkcs11-tool --login --sign --id 01) and
# `ssh-keygen -D`, with keys in 9A and 9C and with all 24 key slots full,
# every key with a certificate.  Counts of protocol messages, not times:
# they are the same on every run.
#
#   login + sign: SELECT, GET VERSION, GET SERIAL (token info), VERIFY
#     (one, no PIN-status VERIFY before it), METADATA 9A (nothing about
#     the other slots), GENERAL AUTHENTICATE: at most 6.
#   ssh-keygen -D: the floor the README documents, SELECT + GET VERSION +
#     GET SERIAL + Key History + one METADATA and one GET DATA (a
#     certificate, with or without a key) per candidate slot; at most one
#     APDU above it.
set -eu
. tests/lib/common.sh
need ssh-keygen pkcs11-tool openssl
need_built "$MODULE" "$USBPIV" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"

# provision NKEYS: keys (P-256; RSA-2048 in 9C) and certificates in the
# first NKEYS of 9A 9C 9D 9E 82..95, through the CLI, into $T/state.
provision() {
	rm -f "$T/state"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$T/ca.key" 2>/dev/null
	cat > "$T/prov.sh" <<P
set -e
i=0
for s in 9a 9c 9d 9e 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f 90 91 92 93 94 95; do
	[ \$i -lt $1 ] || break
	alg=p256; [ \$s = 9c ] && alg=rsa2048
	$USBPIV_WRAP "$USBPIV" keygen --slot \$s --alg \$alg -o "$T/pub.\$s.pem" >/dev/null
	openssl x509 -new -subj "/CN=k\$s" -key "$T/ca.key" -force_pubkey "$T/pub.\$s.pem" \
	    -days 30 -outform DER -out "$T/cert.\$s.der"
	$USBPIV_WRAP "$USBPIV" import-cert --slot \$s -i "$T/cert.\$s.der" >/dev/null
	i=\$((i+1))
done
P
	vt sh "$T/prov.sh" > "$T/prov.log" 2>&1 || { cat "$T/prov.log"; fail "provision $1 keys"; }
}

# cmds FILE HEXPREFIX: command APDUs in FILE starting with HEXPREFIX
cmds() { grep -c "^> $2" "$1" || true; }

printf '%032d' 0 | head -c 32 > "$T/hash"
for n in 2 24; do
	provision $n
	# login + one signature
	VTOKEN_LOG=$T/sign.$n.log vt_host pkcs11-tool --module "$MODULE" --login \
	    --pin 123456 --sign --id 01 -m ECDSA -i "$T/hash" -o "$T/sig" \
	    >"$T/sign.out" 2>&1 || { cat "$T/sign.out"; fail "$n keys: pkcs11-tool --sign"; }
	sign=$(apdus "$T/sign.$n.log")
	verifies=$(cmds "$T/sign.$n.log" 00200080)
	mds=$(cmds "$T/sign.$n.log" 00F7)
	md9a=$(cmds "$T/sign.$n.log" 00F7009A)
	echo "$n keys: login + one signature: $sign APDUs ($verifies VERIFY, $mds METADATA)"
	[ "$sign" -le 6 ] || { cat "$T/sign.$n.log"; fail "$n keys: login + sign took $sign APDUs (> 6)"; }
	[ "$verifies" -eq 1 ] || { cat "$T/sign.$n.log"; fail "$n keys: $verifies VERIFYs for one login"; }
	[ "$mds" -eq 1 ] && [ "$md9a" -eq 1 ] ||
	    { cat "$T/sign.$n.log"; fail "$n keys: METADATA beyond 9A's for --id 01"; }
	[ "$(cmds "$T/sign.$n.log" 00CB3FFF0000055C035FC10C)" -eq 0 ] ||
	    fail "$n keys: Key History read for --id 01"

	# ssh-keygen -D
	VTOKEN_LOG=$T/list.$n.log vt_host ssh-keygen -D "$MODULE" >"$T/keys.$n" 2>"$T/keygen.err" ||
	    { cat "$T/keygen.err"; fail "$n keys: ssh-keygen -D"; }
	[ "$(grep -c '^ecdsa-sha2-nistp256 \|^ssh-rsa ' "$T/keys.$n")" -eq "$n" ] ||
	    { cat "$T/keys.$n"; fail "$n keys: ssh-keygen -D does not list $n keys"; }
	list=$(apdus "$T/list.$n.log")
	# the floor: SELECT, GET VERSION, GET SERIAL, Key History, METADATA
	# and a certificate for 9A 9C 9D 9E and the retired slots Key
	# History names
	retired=$(( n > 4 ? n - 4 : 0 ))
	floor=$(( 4 + 2 * (4 + retired) ))
	echo "$n keys: ssh-keygen -D: $list APDUs (floor $floor)"
	[ "$list" -le $((floor + 1)) ] ||
	    { grep '^> ' "$T/list.$n.log" | cut -c1-40; fail "$n keys: ssh-keygen -D took $list APDUs, floor $floor"; }
	[ "$(cmds "$T/list.$n.log" 002000)" -eq 0 ] || fail "$n keys: ssh-keygen -D sent a VERIFY"
done
echo "p11_apdus: ok"
