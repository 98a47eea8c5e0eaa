#!/bin/sh
# SPDX-License-Identifier: MIT
# USBPIV_COMPAT=ykcs11|opensc against the real modules on the same card:
# ykcs11's libykcs11.so and OpenSC's opensc-pkcs11.so run as users run
# them, through pcscd + libccid on the emulated USB reader (pcscd -f -c DIR
# with a reader.conf entry for libccid, inside tests/with-vtoken and
# `unshare -m` with a tmpfs on /run/pcscd, as bench/fair.sh does), and
# usbpiv's module on a copy of the same card state.  The card: P-256 keys
# with certificates in 9A and 82 (retired, in the Key History), RSA-2048
# in 9C, an imported RSA-2048 key in 9D, a certificate without a key in
# 9E, a CHUID from `usbpiv set-chuid`.  Compared field by field from `pkcs11-tool -L -O --login`:
# the token's label, manufacturer, model, serial, flags, PIN lengths and
# versions; for each certificate, public and private key: class, CKA_ID,
# CKA_LABEL; data objects: every one usbpiv lists, the peer lists under
# the same label.  Known differences, not compared: the peers list a
# private and a public key for 9E's lone certificate (the card has no key
# there; usbpiv lists the certificate only), and the certificate
# containers as data objects too.  Then ykcs11's token URI (p11tool)
# selects usbpiv's token under USBPIV_COMPAT=ykcs11 and not without it,
# and a LUKS2 image enrolled by systemd-cryptenroll through ykcs11 (its
# token URI;id=%03, 9D's key) opens through usbpiv's module with
# `cryptsetup open --test-passphrase --token-only` under
# USBPIV_COMPAT=ykcs11 and not without it (p11-kit's module directories
# are a tmpfs in the test's own mount namespace, holding only the module
# under test).  Exit 77 when not root or pcscd, libccid or a peer module is missing.
set -eu
. tests/lib/common.sh
[ "$(id -u)" -eq 0 ] || skip "needs root (unshare -m, a tmpfs on /run/pcscd)"
need pkcs11-tool openssl pcscd unshare
need_built "$MODULE" "$USBPIV" tests/with-vtoken
need_vtoken
find_lib() {
	for _d in /usr/lib/x86_64-linux-gnu /usr/lib/"$(uname -m)"-linux-gnu \
	    /usr/lib64 /usr/lib /usr/local/lib; do
		for _n in "$@"; do
			[ -f "$_d/$_n" ] && { echo "$_d/$_n"; return 0; }
		done
	done
	return 1
}
ccid=$(dpkg -L libccid 2>/dev/null | grep -m1 '/libccid\.so$') ||
    ccid=$(find_lib pcsc/drivers/ifd-ccid.bundle/Contents/Linux/libccid.so) ||
    skip "libccid.so not found (package libccid)"
ykcs11=$(find_lib libykcs11.so libykcs11.so.2) ||
    skip "libykcs11.so not found (package ykcs11)"
opensc=$(find_lib opensc-pkcs11.so pkcs11/opensc-pkcs11.so) ||
    skip "opensc-pkcs11.so not found (package opensc-pkcs11)"

echo "== the card: 9A P-256, 9C RSA-2048, 82 P-256 (generated), 9D RSA-2048 (imported), certificates, a lone certificate in 9E, a CHUID"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ca.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/lone.key" 2>/dev/null
openssl pkey -in "$T/lone.key" -pubout -out "$T/pub.9e.pem"
# imported: no attestation certificate shares its CKA_ID 03, so
# systemd-cryptenroll finds one certificate for id=%03
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/9d.key" 2>/dev/null
openssl pkey -in "$T/9d.key" -pubout -out "$T/pub.9d.pem"
cat > "$T/prov.sh" <<P
set -e
$USBPIV_WRAP "$USBPIV" import-key --slot 9d -i "$T/9d.key" >/dev/null
for s in 9a 9c 82 9d 9e; do
	case \$s in 9c) alg=rsa2048 ;; *) alg=p256 ;; esac
	case \$s in 9d|9e) ;; *) $USBPIV_WRAP "$USBPIV" keygen --slot \$s --alg \$alg -o "$T/pub.\$s.pem" >/dev/null ;; esac
	openssl x509 -new -subj "/CN=compat \$s" -key "$T/ca.key" -force_pubkey "$T/pub.\$s.pem" \
	    -days 30 -outform DER -out "$T/cert.\$s.der"
	$USBPIV_WRAP "$USBPIV" import-cert --slot \$s -i "$T/cert.\$s.der" >/dev/null
done
$USBPIV_WRAP "$USBPIV" set-chuid >/dev/null
P
vt sh "$T/prov.sh" > "$T/prov.log" 2>&1 || { cat "$T/prov.log"; fail "provision"; }
cp "$T/state" "$T/state.peer"

# LUKS2 through systemd-cryptenroll and cryptsetup's systemd-pkcs11 token
# plugin: p11-kit's module directories that exist, to be hidden by a tmpfs
luks=0 moddirs=
for d in /etc/pkcs11/modules /usr/share/p11-kit/modules; do
	[ -d "$d" ] && moddirs="$moddirs $d"
done
if [ -n "${SAN_PRELOAD:-}" ]; then
	echo "(LUKS2 part: not under ASan, cryptsetup is not ours)"
elif ! command -v systemd-cryptenroll >/dev/null 2>&1 || ! command -v cryptsetup >/dev/null 2>&1; then
	echo "(LUKS2 part skipped: systemd-cryptenroll or cryptsetup missing)"
elif ! ls /usr/lib/*/cryptsetup/libcryptsetup-token-systemd-pkcs11.so >/dev/null 2>&1 &&
    ! ls /usr/lib*/cryptsetup/libcryptsetup-token-systemd-pkcs11.so >/dev/null 2>&1; then
	echo "(LUKS2 part skipped: no systemd-pkcs11 token plugin for cryptsetup)"
elif [ -z "$moddirs" ]; then
	echo "(LUKS2 part skipped: no p11-kit module directory)"
else
	IMG=$T/img
	truncate -s 20M "$IMG"
	printf 'first passphrase' > "$T/pass"
	if cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
	    --pbkdf-force-iterations 1000 --key-file "$T/pass" "$IMG" 2>"$T/fmt.err"; then
		luks=1
	else
		echo "(LUKS2 part skipped: cryptsetup luksFormat cannot format an image file here)"
	fi
fi
# hide.sh, sourced in a private mount namespace with MODDIRS and P11MOD
# set: p11-kit sees the module P11MOD only
cat > "$T/hide.sh" <<'H'
for d in $MODDIRS; do mount -t tmpfs -o mode=0755 tmpfs "$d" || { echo "cannot mount a tmpfs on $d"; return 1; }; done
for d in $MODDIRS; do printf 'module: %s\n' "$P11MOD" > "$d/compat-test.module"; break; done
H

echo "== the peers through pcscd + libccid"
mkdir -p "$T/conf" "$T/home"
cat > "$T/conf/vtoken" <<EOF
FRIENDLYNAME "Yubico YubiKey OTP+FIDO+CCID"
DEVICENAME   usb:1050/0407
LIBPATH      $ccid
EOF
cat > "$T/peer.sh" <<P
set -u
pcscd -f -c "$T/conf" > "$T/pcscd.log" 2>&1 &
pp=\$!
i=0
while [ ! -S /run/pcscd/pcscd.comm ]; do
	kill -0 \$pp 2>/dev/null || { echo "pcscd died"; exit 1; }
	[ \$i -lt 100 ] || { echo "no pcscd socket in 10 s"; kill \$pp; exit 1; }
	sleep 0.1; i=\$((i + 1))
done
# the clients as users run them: no emulation preloaded, a cold HOME
c() { env -u LD_PRELOAD -u UMOCKDEV_DIR HOME="$T/home" XDG_CACHE_HOME="$T/home/.cache" "\$@"; }
rc=0
for m in ykcs11:$ykcs11 opensc:$opensc; do
	n=\${m%%:*} mod=\${m#*:}
	c pkcs11-tool --module "\$mod" -L > "$T/L.\$n" 2>&1 || rc=1
	c pkcs11-tool --module "\$mod" -O --login --pin 123456 > "$T/O.\$n" 2>&1 || rc=1
done
if command -v p11tool >/dev/null 2>&1; then
	c p11tool --provider "$ykcs11" --list-tokens > "$T/tokens.ykcs11" 2>&1 || rc=1
fi
if [ $luks = 1 ]; then
	# ykcs11's own token URI and 9D's CKA_ID, as systemd 252 enrolls
	url=\$(sed -n 's/^[[:space:]]*URL: //p' "$T/tokens.ykcs11" | head -n 1)
	MODDIRS="$moddirs" P11MOD="$ykcs11" . "$T/hide.sh" || rc=1
	c env PASSWORD='first passphrase' PIN=123456 systemd-cryptenroll \
	    --pkcs11-token-uri="\$url;id=%03" "$T/img" > "$T/enroll.log" 2>&1 || rc=1
fi
kill \$pp; wait \$pp 2>/dev/null
exit \$rc
P
VTOKEN_LOG=$T/peer.apdu unshare -m sh -c '
	mkdir -p /run/pcscd && mount -t tmpfs -o mode=0755 tmpfs /run/pcscd &&
	exec tests/with-vtoken --state "$1" -- sh "$2"' compat "$T/state.peer" "$T/peer.sh" \
    > "$T/peer.log" 2>&1 || {
	cat "$T/peer.log" "$T/pcscd.log" "$T"/L.* "$T"/O.* 2>/dev/null | tail -40
	fail "the peers through pcscd"
}

echo "== usbpiv's module, USBPIV_COMPAT=ykcs11 (with USBPIV_ATTEST=1: ykcs11 lists F9 and the attestations) and =opensc"
for n in ykcs11 opensc; do
	cp "$T/state.peer" "$T/state"
	attest=0; [ $n = ykcs11 ] && attest=1
	USBPIV_COMPAT=$n USBPIV_ATTEST=$attest vt pkcs11-tool --module "$MODULE" -L \
	    > "$T/L.usbpiv.$n" 2>&1 || { cat "$T/L.usbpiv.$n"; fail "usbpiv $n -L"; }
	USBPIV_COMPAT=$n USBPIV_ATTEST=$attest vt pkcs11-tool --module "$MODULE" -O \
	    --login --pin 123456 > "$T/O.usbpiv.$n" 2>&1 ||
	    { cat "$T/O.usbpiv.$n"; fail "usbpiv $n -O"; }
done

# token FILE: the token fields of pkcs11-tool -L, one "name: value" a line
token() {
	sed -n 's/^  \(token label\|token manufacturer\|token model\|token flags\|hardware version\|firmware version\|serial num\|pin min\/max\) *: \(.*\)$/\1: \2/p' "$1"
}
# objects FILE: "class|CKA_ID|CKA_LABEL" for the certificates and keys of
# pkcs11-tool -O (not ID 04's keys: see above), sorted
objects() {
	awk '
	/^Certificate Object/ { c = "cert" } /^Public Key Object/ { c = "pub" }
	/^Private Key Object/ { c = "priv" } /^Data object/ || /^Profile object/ { c = "" }
	c != "" && /^  label: / { sub(/^  label: +/, ""); l = $0 }
	c != "" && /^  ID: / { if (!(c != "cert" && $2 == "04")) print c "|" $2 "|" l; c = "" }
	' "$1" | sort
}
# datalabels FILE: the labels of the data objects, sorted
datalabels() {
	awk '/^Data object/ { d = 1 } /^(Certificate|Public Key|Private Key|Profile) / { d = 0 }
	d && /^  label: / { sub(/^  label: +/, ""); gsub(/^'\''|'\''$/, ""); print; d = 0 }' "$1" | sort -u
}

bad=0
for n in ykcs11 opensc; do
	echo "== $n: token"
	token "$T/L.$n" > "$T/tok.$n"
	token "$T/L.usbpiv.$n" > "$T/tok.usbpiv.$n"
	[ "$(wc -l < "$T/tok.$n")" -ge 8 ] || { cat "$T/L.$n"; fail "$n: no token in its -L"; }
	sed 's/^/   /' "$T/tok.$n"
	if ! diff -u "$T/tok.$n" "$T/tok.usbpiv.$n" > "$T/tok.diff"; then
		echo "   differs ($n -, usbpiv +):"; sed 's/^/     /' "$T/tok.diff"; bad=1
	fi
	echo "== $n: objects (class|CKA_ID|CKA_LABEL)"
	objects "$T/O.$n" > "$T/obj.$n"
	objects "$T/O.usbpiv.$n" > "$T/obj.usbpiv.$n"
	[ "$(wc -l < "$T/obj.$n")" -ge 9 ] || { cat "$T/O.$n"; fail "$n: its -O lists too little"; }
	sed 's/^/   /' "$T/obj.$n"
	if ! diff -u "$T/obj.$n" "$T/obj.usbpiv.$n" > "$T/obj.diff"; then
		echo "   differs ($n -, usbpiv +):"; sed 's/^/     /' "$T/obj.diff"; bad=1
	fi
	datalabels "$T/O.$n" > "$T/data.$n"
	datalabels "$T/O.usbpiv.$n" > "$T/data.usbpiv.$n"
	[ -s "$T/data.usbpiv.$n" ] || fail "usbpiv $n: no data object listed"
	missing=$(comm -13 "$T/data.$n" "$T/data.usbpiv.$n")
	if [ -n "$missing" ]; then
		echo "   data objects usbpiv lists that $n does not: $missing"; bad=1
	else
		echo "   data objects: $(tr '\n' ',' < "$T/data.usbpiv.$n" | sed 's/,$//'), as $n names them"
	fi
done
[ "$bad" = 0 ] || fail "usbpiv's USBPIV_COMPAT names differ from the real modules'"

if [ -n "${SAN_PRELOAD:-}" ]; then
	echo "== ykcs11's token URI: not under ASan (p11-kit deadlocks at exit there)"
elif [ -s "$T/tokens.ykcs11" ]; then
	url=$(sed -n 's/^[[:space:]]*URL: //p' "$T/tokens.ykcs11" | head -n 1)
	case $url in *manufacturer=Yubico%20%28www.yubico.com%29*model=YubiKey%20YK5*|\
	    *model=YubiKey%20YK5*manufacturer=Yubico%20%28www.yubico.com%29*) ;;
	*) cat "$T/tokens.ykcs11"; fail "ykcs11's token URI: $url" ;; esac
	echo "== ykcs11's token URI selects usbpiv's token under USBPIV_COMPAT=ykcs11: $url"
	cp "$T/state.peer" "$T/state"
	USBPIV_COMPAT=ykcs11 vt p11tool --provider "$MODULE" --list-all-certs "$url" \
	    > "$T/uri.ykcs11" 2>&1 || { cat "$T/uri.ykcs11"; fail "p11tool with ykcs11's URI"; }
	grep -q 'Label: X.509 Certificate for PIV Authentication' "$T/uri.ykcs11" ||
	    { cat "$T/uri.ykcs11"; fail "ykcs11's URI does not select the token under USBPIV_COMPAT=ykcs11"; }
	vt p11tool --provider "$MODULE" --list-all-certs "$url" > "$T/uri.default" 2>&1 || true
	if grep -q 'Label:' "$T/uri.default"; then
		cat "$T/uri.default"; fail "ykcs11's URI selects the token without USBPIV_COMPAT"
	fi
	echo "   (and not without it)"
	USBPIV_COMPAT=ykcs11 vt $USBPIV_WRAP "$USBPIV" uri --slot 9a > "$T/usbpiv-uri" 2>&1 ||
	    { cat "$T/usbpiv-uri"; fail "usbpiv uri under USBPIV_COMPAT=ykcs11"; }
	grep -q 'manufacturer=Yubico%20%28www.yubico.com%29' "$T/usbpiv-uri" ||
	    { cat "$T/usbpiv-uri"; fail "usbpiv uri does not carry ykcs11's names"; }
	echo "   usbpiv uri --slot 9a: $(head -n 1 "$T/usbpiv-uri")"
fi
if [ $luks = 1 ]; then
	cryptsetup token export --token-id 0 "$IMG" > "$T/token.json" 2>&1 ||
	    { cat "$T/enroll.log"; fail "no LUKS2 token after systemd-cryptenroll through ykcs11"; }
	grep -q '"pkcs11-uri":"pkcs11:.*manufacturer=Yubico%20%28www.yubico.com%29.*;id=%03"' "$T/token.json" ||
	    { cat "$T/token.json"; fail "the token's URI is not ykcs11's"; }
	echo "== a LUKS2 image enrolled through ykcs11: $(sed 's/.*"pkcs11-uri":"\([^"]*\)".*/\1/' "$T/token.json")"
	cat > "$T/open.sh" <<O
printf '123456\\n' | USBPIV_COMPAT=ykcs11 cryptsetup open --test-passphrase --token-only "$IMG" > "$T/open.ykcs11" 2>&1
echo \$? > "$T/open.ykcs11.rc"
printf '123456\\n' | cryptsetup open --test-passphrase --token-only "$IMG" > "$T/open.default" 2>&1
echo \$? > "$T/open.default.rc"
O
	cp "$T/state.peer" "$T/state.open"
	MODDIRS=$moddirs P11MOD=$MODULE unshare -m sh -c '. "$1" && exec tests/with-vtoken --state "$2" -- sh "$3"' \
	    compat "$T/hide.sh" "$T/state.open" "$T/open.sh" > "$T/open.log" 2>&1 ||
	    { cat "$T/open.log"; fail "cryptsetup through usbpiv's module"; }
	[ "$(cat "$T/open.ykcs11.rc")" = 0 ] ||
	    { cat "$T/open.ykcs11"; fail "cryptsetup open --token-only under USBPIV_COMPAT=ykcs11"; }
	echo "   opens through usbpiv's module under USBPIV_COMPAT=ykcs11 (cryptsetup open --test-passphrase --token-only):"
	sed 's/^/     /' "$T/open.ykcs11"
	[ "$(cat "$T/open.default.rc")" != 0 ] ||
	    fail "the ykcs11-enrolled image opens without USBPIV_COMPAT"
	echo "   and not without it (cryptsetup exits $(cat "$T/open.default.rc"))"
fi
echo "p11_compat: all passed"
