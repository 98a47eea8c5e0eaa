#!/bin/sh
# SPDX-License-Identifier: MIT
# The commands yubico-piv-tool and ykman piv users expect, on the emulated
# token: selfsign-cert (RSA, P-256, P-384, Ed25519; openssl verify, the
# certificate's key is the slot's), request-cert (openssl req -verify),
# delete-cert, move-key / delete-key (a moved key signs from its new slot,
# a deleted key is gone; refused before firmware 5.7), read-object /
# write-object, set-chuid / set-ccc (fresh random IDs), pin verify
# (--json, tries left), --json after the command, --version, uri, and
# reset blocking the PIN and PUK itself after confirmation.
set -u
. "${USBPIV_TOP:-.}/tests/lib/cli.sh"
if [ -z "${CLI_INNER:-}" ]; then
	cli_need_vtoken
	T=$(mktemp -d) || exit 1
	CLI_INNER=1 T=$T tests/with-vtoken --state "$T/state" -- sh "$0"
	rc=$?
	if [ $rc -eq 0 ]; then
		# a YubiKey before 5.7: no MOVE KEY
		CLI_INNER=old T=$T VTOKEN_FIRMWARE=5.4.3 tests/with-vtoken \
			--state "$T/state-old" -- sh "$0"
		rc=$?
	fi
	if [ $rc -eq 0 ]; then
		CLI_INNER=aes T=$T VTOKEN_FIRMWARE=5.3.0 tests/with-vtoken \
			--state "$T/state-aes" -- sh "$0"
		rc=$?
	fi
	rm -rf "$T"
	exit $rc
fi
# jget FILE EXPR: a Python expression over d = the JSON in FILE.
jget() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }
# haskey SLOT: does the token report a key (METADATA) in SLOT?
haskey() {
	$U --json info > hk.json || fail "info --json"
	[ "$(jget hk.json "any(x['slot'] == '$1' and 'origin' in x for x in d['slots'])")" = True ]
}
unset USBPIV_PUK USBPIV_MGM_KEY
export USBPIV_PIN=123456
cd "$T" || exit 1
if [ "$CLI_INNER" = old ]; then
	$U info | grep -q 'Firmware: *5.4.3' || fail "VTOKEN_FIRMWARE not taken"
	$U keygen --slot 9a --alg p256 > /dev/null || fail "keygen on 5.4.3"
	expect 1 "needs YubiKey firmware 5.7 or later (this token has 5.4.3)" \
		$U move-key --from 9a --to 9c
	expect 1 "needs YubiKey firmware 5.7 or later" $U delete-key --slot 9a
	haskey 9a || fail "the key went away on 5.4.3"
	echo "ok: move-key and delete-key refused on firmware 5.4.3"
	echo "cli_parity ($VTOKEN_FIRMWARE): 1 passed, 0 failed"
	exit 0
fi
if [ "$CLI_INNER" = aes ]; then
	# 5.3: METADATA, but only 3DES management keys
	expect 1 "choose another with --key-alg" $U mgm-key set --generate --key-alg aes128
	$U info | grep -q 'Management key: *3DES (factory default' ||
		fail "the key changed although the token refused"
	$U mgm-key set --generate > mgm.hex || fail "mgm-key set, default on 5.3"
	$U info | grep -q 'Management key: *3DES$' || fail "not 3DES on 5.3"
	echo "ok: 5.3.0 refuses AES (hint at --key-alg); the default stays 3DES"
	echo "cli_parity ($VTOKEN_FIRMWARE): 1 passed, 0 failed"
	exit 0
fi
printf 'parity\n' > msg

# ---- --version, --json after the command, --help of the new commands ----
$U --version | grep -q '^usbpiv [0-9]' || fail "--version"
$U info --json > info.json || fail "info --json (after the command)"
[ "$(jget info.json 'd["pin"]["tries_left"]')" = 3 ] || fail "info --json after the command"
for c in selfsign-cert request-cert delete-cert delete-key move-key read-object \
    write-object set-chuid set-ccc uri; do
	$U $c --help | grep -q "^usage: usbpiv .*$c" || fail "$c --help"
done
ok "--version, --json after the command, --help"

# ---- selfsign-cert, every signing algorithm ----
for spec in "9a p256" "9c rsa2048" "9d p384" "9e ed25519"; do
	set -- $spec
	s=$1 alg=$2
	$U keygen --slot $s --alg $alg -o $s.pub > /dev/null || fail "keygen $s $alg"
	$U selfsign-cert --slot $s --subject "CN=parity $alg,O=usbpiv" --valid-days 30 \
		-o $s.crt 2> ss.err || { cat ss.err; fail "selfsign-cert $s $alg"; }
	openssl verify -CAfile $s.crt $s.crt > /dev/null 2>&1 ||
		fail "openssl verify of the $alg self-signed certificate"
	openssl x509 -in $s.crt -noout -pubkey > $s.crtpub || fail "certificate key $s"
	cmp -s $s.pub $s.crtpub || fail "$alg: the certificate's key is not the slot's"
	$U export-cert --slot $s -o $s.stored || fail "export-cert $s"
	cmp -s $s.crt $s.stored || fail "$alg: the stored certificate differs from -o's"
	subj=$(openssl x509 -in $s.crt -noout -subject -nameopt RFC2253)
	[ "$subj" = "subject=CN=parity $alg,O=usbpiv" ] || fail "$alg subject: $subj"
	issuer=$(openssl x509 -in $s.crt -noout -issuer -nameopt RFC2253)
	[ "$issuer" = "issuer=CN=parity $alg,O=usbpiv" ] || fail "$alg issuer: $issuer"
done
openssl x509 -in 9c.crt -noout -text | grep -q 'sha256WithRSAEncryption' ||
	fail "RSA certificate not sha256WithRSAEncryption"
openssl x509 -in 9d.crt -noout -text | grep -q 'ecdsa-with-SHA384' ||
	fail "P-384 certificate not ecdsa-with-SHA384"
openssl x509 -in 9e.crt -noout -text | grep -q 'ED25519' ||
	fail "Ed25519 certificate algorithm"
# valid 30 days
end=$(openssl x509 -in 9a.crt -noout -enddate | cut -d= -f2)
d=$(( ($(date -d "$end" +%s) - $(date +%s)) / 86400 ))
[ $d -ge 29 ] && [ $d -le 30 ] || fail "--valid-days 30 gave $d days"
# the OpenSSL-style DN and --hash
$U selfsign-cert --slot 9a --subject /CN=slash/O=form/ --hash sha512 -o sl.crt 2> /dev/null ||
	fail "selfsign-cert /CN=.../ --hash sha512"
[ "$(openssl x509 -in sl.crt -noout -subject -nameopt RFC2253)" = "subject=O=form,CN=slash" ] ||
	fail "slash-form DN order"
openssl x509 -in sl.crt -noout -text | grep -q 'ecdsa-with-SHA512' || fail "--hash sha512"
openssl verify -CAfile sl.crt sl.crt > /dev/null 2>&1 || fail "verify sha512 cert"
ok "selfsign-cert RSA-2048, P-256, P-384, Ed25519: verify, key = slot's, stored"

expect 2 "--subject is required" $U selfsign-cert --slot 9a
expect 2 "not TYPE=VALUE" $U selfsign-cert --slot 9a --subject "CN"
expect 2 "unknown attribute" $U selfsign-cert --slot 9a --subject "XX=1"
expect 2 "bad value in 'C=USA'" $U selfsign-cert --slot 9a --subject "CN=x,C=USA"
$U request-cert --slot 9a --subject 'CN=a\,b,O=x' -o esc.csr || fail "escaped comma"
[ "$(openssl req -in esc.csr -noout -subject -nameopt RFC2253)" = 'subject=CN=a\,b,O=x' ] ||
	fail "escaped comma in the DN"
expect 3 "holds no key" $U selfsign-cert --slot 82 --subject CN=x
expect 4 "wrong PIN" env USBPIV_PIN=000000 $U selfsign-cert --slot 9a --subject CN=x
$U pin verify > /dev/null || fail "PIN tries not restored"
ok "selfsign-cert: usage errors exit 2, empty slot 3, wrong PIN 4; escaped DN"

# ---- request-cert ----
for s in 9a 9c 9d 9e; do
	$U request-cert --slot $s --subject "CN=req $s,O=usbpiv" -o $s.csr ||
		fail "request-cert $s"
	openssl req -in $s.csr -verify -noout 2>&1 | grep -q 'verify OK' ||
		fail "openssl req -verify ($s)"
	openssl req -in $s.csr -noout -pubkey > $s.csrpub || fail "csr key $s"
	cmp -s $s.pub $s.csrpub || fail "the CSR's key is not slot $s's"
done
$U request-cert --slot 9c --subject CN=der --format der > r.der || fail "request-cert der"
openssl req -inform der -in r.der -verify -noout 2>&1 | grep -q 'verify OK' ||
	fail "DER CSR does not verify"
ok "request-cert: PKCS#10 requests verify (openssl req -verify), keys are the slots'"

# ---- delete-cert ----
$U delete-cert --slot 9e || fail "delete-cert"
expect 3 "no certificate" $U export-cert --slot 9e
expect 3 "no certificate" $U delete-cert --slot 9e
ok "delete-cert: the certificate is gone, a second delete exits 3"

# ---- move-key, delete-key (firmware 5.7) ----
$U move-key --from 9a --to 82 || fail "move-key 9a -> 82"
$U sign --slot 82 -i msg -o 82.sig || fail "sign with the moved key"
openssl dgst -sha256 -verify 9a.pub -signature 82.sig msg > /dev/null ||
	fail "the moved key's signature does not verify with the old public key"
$U export-pubkey --slot 82 | cmp -s - 9a.pub || fail "slot 82's key is not 9a's"
haskey 9a && fail "slot 9a still holds a key after the move"
haskey 82 || fail "slot 82 holds no key after the move"
$U read-object history | od -An -tx1 | tr -d ' \n' | grep -q '^c10101' ||
	fail "the key history does not count slot 82"
expect 2 "already holds a key" $U move-key --from 82 --to 9c
expect 2 "same slot" $U move-key --from 82 --to 82
expect 2 "f9" $U move-key --from f9 --to 83
$U move-key --from 82 --to 9c --force || fail "move-key --force"
$U sign --slot 9c -i msg -o 9c.sig || fail "sign 9c after the move"
openssl dgst -sha256 -verify 9a.pub -signature 9c.sig msg > /dev/null ||
	fail "9c does not sign with the moved key"
ok "move-key: the key signs from its new slot; occupied destination needs --force"

haskey 9c || fail "no key in 9c"
$U delete-cert --slot 9c || fail "delete-cert 9c"
$U delete-key --slot 9c || fail "delete-key"
haskey 9c && fail "slot 9c still holds a key after delete-key"
expect 3 "holds no key" $U sign --slot 9c -i msg
expect 3 "holds no key" $U delete-key --slot 9c
ok "delete-key: the key is gone (sign exits 3)"

# ---- read-object / write-object ----
head -c 200 /dev/urandom > blob
$U write-object 5fc10d -i blob || fail "write-object"
$U read-object 0x5fc10d -o blob.back || fail "read-object"
cmp -s blob blob.back || fail "object content differs"
: > empty
$U write-object 5fc10d -i empty || fail "write-object empty"
expect 3 "empty or absent" $U read-object 5fc10d
expect 2 "bad object ID" $U read-object 9a
$U read-object discovery > disc || fail "read-object discovery"
[ "$(od -An -tx1 -N1 disc | tr -d ' ')" = 4f ] || fail "discovery object content"
ok "write-object / read-object round trip; empty input deletes"

# ---- set-chuid / set-ccc ----
$U --json set-chuid > g1.json || fail "set-chuid"
$U set-chuid > g2.txt || fail "set-chuid 2"
g1=$(jget g1.json 'd["guid"]')
g2=$(cut -d' ' -f2 g2.txt)
[ ${#g1} -eq 32 ] && [ "$g1" != "$g2" ] || fail "set-chuid GUIDs '$g1' '$g2'"
$U read-object chuid | od -An -tx1 | tr -d ' \n' > chuid.hex
lg=$(echo "$g2" | tr 'A-F' 'a-f')
grep -q "3410$lg" chuid.hex || fail "the CHUID does not hold the new GUID"
grep -q '^3019d4e739da739ced39ce739d836858210842108421c84210c3eb' chuid.hex ||
	fail "CHUID FASC-N"
$U set-ccc > c1.txt && $U set-ccc > c2.txt || fail "set-ccc"
c1=$(cut -d' ' -f2 c1.txt)
[ ${#c1} -eq 42 ] && [ "$c1" != "$(cut -d' ' -f2 c2.txt)" ] || fail "set-ccc card IDs"
$U read-object ccc | od -An -tx1 | tr -d ' \n' | grep -q "^f015$(echo "$(cut -d' ' -f2 c2.txt)" | tr 'A-F' 'a-f')f10121" ||
	fail "CCC content"
ok "set-chuid / set-ccc write fresh random IDs"

# ---- pin verify ----
$U pin verify --json > pv.json || fail "pin verify"
[ "$(jget pv.json 'd["verified"], d["tries_left"]')" = "True 3" ] || fail "pin verify json: $(cat pv.json)"
USBPIV_PIN=000000 $U pin verify --json > pv.json 2> err
[ $? -eq 4 ] || fail "wrong PIN: exit 4"
[ "$(jget pv.json 'd["verified"], d["tries_left"]')" = "False 2" ] || fail "wrong PIN json: $(cat pv.json)"
grep -q "2 tries left" err || fail "wrong PIN message"
$U pin verify | grep -q 'PIN verified, 3 tries left' || fail "pin verify text"
ok "pin verify: tries left, --json, exit 4 on a wrong PIN"

# ---- uri ----
$U selfsign-cert --slot 9d --subject CN=uri > /dev/null 2>&1 || fail "cert 9d"
uri=$($U uri --slot 9d) || fail "uri --slot 9d"
case $uri in
pkcs11:*model=*manufacturer=*serial=*token=*\;id=%03) ;;
*) fail "uri: $uri" ;;
esac
command -v p11tool > /dev/null && {
	GNUTLS_PIN=123456 p11tool --provider "$B/usbpiv-pkcs11.so" --list-all-certs "$uri" \
		2> /dev/null | grep -q 'ID: 03' || fail "p11tool finds no certificate with $uri"
}
$U uri --json > u.json || fail "uri --json"
jget u.json 'd["uri"]' | grep -q '^pkcs11:.*token=' || fail "uri --json"
ok "uri: the token URI plus ;id= of the slot, found by p11tool"

# ---- reset: confirmation, then it blocks PIN and PUK itself ----
expect 2 "--force" $U reset
$U export-cert --slot 9d > /dev/null || fail "reset without --force changed something"
if command -v script > /dev/null; then
	(sleep 2; printf 'no\n') | timeout 60 script -qec "$U reset" /dev/null > tty.out 2>&1 &&
		fail "reset went on without confirmation"
	grep -q 'not confirmed' tty.out || fail "no refusal: $(cat tty.out)"
	$U export-cert --slot 9d > /dev/null || fail "an unconfirmed reset changed something"
	(sleep 2; printf 'reset\n') | timeout 60 script -qec "$U reset" /dev/null > tty.out 2>&1 ||
		fail "confirmed reset: $(cat tty.out)"
	grep -q 'Type "reset"' tty.out || fail "no confirmation question"
else
	$U reset --force || fail "reset --force"
fi
$U info > info.txt || fail "info after reset"
grep -q 'PIN tries left: *3/3 (factory default PIN)' info.txt || fail "PIN not default after reset"
expect 3 "no certificate" $U export-cert --slot 9d
$U keygen --slot 9a --alg p256 > /dev/null || fail "factory management key after reset"
$U reset --force 2> err || fail "reset --force"
grep -q 'PIV application reset' err || fail "reset --force message"
ok "reset: asks (or --force), blocks PIN and PUK itself, factory state"

# ---- mgm-key set: default algorithm from the token, --protect checked first ----
$U info | grep -q 'Management key: *3DES' || fail "factory key not 3DES"
USBPIV_PIN=123456 $U mgm-key set --generate > mgm.hex || fail "mgm-key set --generate"
$U info | grep -q 'Management key: *3DES$' ||
	fail "the new key's algorithm is not the current key's (3DES, from METADATA)"
[ "$(tr -d '\n' < mgm.hex | wc -c)" -eq 48 ] || fail "generated 3DES key length"
export USBPIV_MGM_KEY=$(cat mgm.hex)
# admin data that cannot take the flag (an 82 field too long to keep):
# --protect refuses before the change
{ printf '\200\176\202\174'; head -c 124 /dev/zero; } > badadmin
$U write-object admindata -i badadmin || fail "write bad admin data"
expect 1 "management key was not changed" $U mgm-key set --generate --protect
$U keygen --slot 9e --alg p256 > /dev/null || fail "the key changed although --protect failed"
: > empty
$U write-object admindata -i empty || fail "delete admin data"
$U mgm-key set --generate --protect --key-alg aes256 > /dev/null || fail "mgm-key set --protect"
unset USBPIV_MGM_KEY
$U keygen --slot 9e --alg p256 > /dev/null || fail "keygen with the PIN-protected key"
$U info | grep -q 'AES256, PIN-protected' || fail "not AES256 PIN-protected"
ok "mgm-key set: default algorithm from METADATA; --protect checks before changing"

echo "cli_parity: $n passed, 0 failed"
