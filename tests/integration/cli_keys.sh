#!/bin/sh
# SPDX-License-Identifier: MIT
# usbpiv keys and certificates on the emulated token: keygen for every
# algorithm, sign + verify with openssl (ECDSA, RSA PKCS#1 v1.5 and PSS,
# Ed25519), export-pubkey PEM/DER/SSH (SSH compared with ssh-keygen),
# ssh-keys, import-key, import-cert/export-cert round trip, attest
# (verified against the f9 certificate), decrypt (RSA and ECDH).
set -u
. "${USBPIV_TOP:-.}/tests/lib/cli.sh"
cli_once "$0"
export USBPIV_PIN=123456
cd "$T" || exit 1
printf 'the quick brown fox\n' > msg

# ---- keygen + sign + verify, every signing algorithm ----
$U keygen --slot 9a --alg p256 -o p256.pem 2> kg9a.err || { cat kg9a.err; fail "keygen p256"; }
grep -q 'ssh-agent' kg9a.err && fail "keygen 9a warns about ssh-agent"
openssl pkey -pubin -in p256.pem -noout -text | grep -q 'prime256v1\|P-256' ||
	fail "p256 public key"
$U sign --slot 9a -i msg -o p256.sig || fail "sign p256"
openssl dgst -sha256 -verify p256.pem -signature p256.sig msg >/dev/null ||
	fail "ECDSA P-256 signature does not verify"
ok "keygen p256, sign, openssl verifies"

$U keygen --slot 9c --alg p384 --pin-policy always -o p384.pem 2> kg9c.err ||
	{ cat kg9c.err; fail "keygen p384"; }
# 9c's "always" (its default too): keygen says ssh-agent cannot use it
grep -q 'PIN policy "always"' kg9c.err && grep -q "ssh-agent (ssh-add -s) cannot use it" kg9c.err ||
	{ cat kg9c.err; fail "keygen 9c does not say ssh-agent cannot use the key"; }
$U sign --slot 9c --hash sha384 < msg > p384.sig || fail "sign p384 (stdin/stdout)"
openssl dgst -sha384 -verify p384.pem -signature p384.sig msg >/dev/null ||
	fail "ECDSA P-384 signature does not verify"
$U sign --slot 9c --hash sha256 -i msg -o p384b.sig || fail "sign p384 sha256"
openssl dgst -sha256 -verify p384.pem -signature p384b.sig msg >/dev/null ||
	fail "ECDSA P-384/SHA-256 signature does not verify"
ok "keygen p384 (PIN policy always, keygen says ssh-agent cannot use it), sign sha384 and sha256"

$U keygen --slot 9d --alg rsa2048 -o rsa.pem || fail "keygen rsa2048"
$U sign --slot 9d -i msg -o rsa.sig || fail "sign rsa pkcs1"
openssl dgst -sha256 -verify rsa.pem -signature rsa.sig msg >/dev/null ||
	fail "RSA PKCS#1 v1.5 signature does not verify"
$U sign --slot 9d --padding pss --hash sha512 -i msg -o pss.sig || fail "sign pss"
openssl dgst -sha512 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 \
	-verify rsa.pem -signature pss.sig msg >/dev/null ||
	fail "RSA-PSS signature does not verify"
ok "keygen rsa2048, PKCS#1 v1.5 and PSS signatures verify"

$U keygen --slot 9e --alg ed25519 -o ed.pem || fail "keygen ed25519"
$U sign --slot 9e -i msg -o ed.sig || fail "sign ed25519"
openssl pkeyutl -verify -pubin -inkey ed.pem -rawin -in msg -sigfile ed.sig \
	>/dev/null || fail "Ed25519 signature does not verify"
ok "keygen ed25519, signature verifies"

# ---- public keys in every format ----
$U export-pubkey --slot 9a -o p256.exp || fail "export-pubkey pem"
cmp -s p256.pem p256.exp || fail "exported public key differs from keygen's"
$U export-pubkey --slot 9a --format der -o p256.der || fail "export der"
openssl pkey -pubin -inform der -in p256.der -out p256.der.pem || fail "der parse"
cmp -s p256.pem p256.der.pem || fail "DER export differs"
for s in 9a 9c 9d; do
	f=$(case $s in 9a) echo p256;; 9c) echo p384;; 9d) echo rsa;; esac)
	$U export-pubkey --slot $s --format ssh --comment c > $s.ssh || fail "ssh $s"
	want=$(ssh-keygen -i -m PKCS8 -f $f.pem) || fail "ssh-keygen $f"
	[ "$(cat $s.ssh)" = "$want c" ] || fail "ssh line for $s differs from ssh-keygen's"
done
ok "export-pubkey pem/der, SSH lines equal ssh-keygen's"

$U ssh-keys > keys.txt || fail "ssh-keys"
# The 4 keys, labelled as the module labels its public-key objects - which
# is what ssh-keygen -D prints; F9's key only with USBPIV_ATTEST=1, as in
# the module.
[ "$(grep -c ' Public key for ' keys.txt)" -eq 4 ] ||
	fail "ssh-keys: want 4 'Public key for' lines, got $(cat keys.txt)"
grep -q ' Public key for PIV Attestation$' keys.txt &&
	fail "ssh-keys: attestation key without USBPIV_ATTEST"
USBPIV_ATTEST=1 $U ssh-keys > keys.att || fail "ssh-keys (attest)"
[ "$(grep -c ' Public key for ' keys.att)" -eq 5 ] ||
	fail "ssh-keys: want 5 lines with USBPIV_ATTEST=1, got $(cat keys.att)"
grep -q ' Public key for PIV Attestation$' keys.att ||
	fail "ssh-keys: no attestation key with USBPIV_ATTEST=1"
grep -v ' Public key for ' keys.txt && fail "ssh-keys: unexpected lines"
grep -q '^ecdsa-sha2-nistp256 AAAA[^ ]* ' keys.txt || fail "no nistp256 line"
grep -q '^ecdsa-sha2-nistp384 AAAA' keys.txt || fail "no nistp384 line"
grep -q '^ssh-rsa AAAA' keys.txt || fail "no ssh-rsa line"
grep -q '^ssh-ed25519 AAAA' keys.txt || fail "no ssh-ed25519 line"
$U --json ssh-keys | python3 -m json.tool >/dev/null || fail "ssh-keys --json"
ok "ssh-keys lists the 4 SSH-capable keys"

for a in rsa1024 rsa3072 rsa4096; do
	$U keygen --slot 85 --alg $a -o $a.pem || fail "keygen $a"
	bits=$(openssl pkey -pubin -in $a.pem -noout -text | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p')
	[ "$bits" = "${a#rsa}" ] || fail "keygen $a gave a $bits-bit key"
	$U sign --slot 85 --padding pss -i msg -o $a.sig || fail "sign $a"
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 \
		-verify $a.pem -signature $a.sig msg >/dev/null || fail "$a PSS signature"
done
ok "keygen rsa1024, rsa3072, rsa4096 (extended APDUs), PSS signatures verify"

# ---- X25519 and ECDH ----
$U keygen --slot 83 --alg x25519 -o x.pem || fail "keygen x25519"
openssl genpkey -algorithm X25519 -out peer.key 2>/dev/null
openssl pkey -in peer.key -pubout -out peer.pub
$U decrypt --slot 83 --peer peer.pub -o shared1 || fail "ecdh x25519"
openssl pkeyutl -derive -inkey peer.key -peerkey x.pem -out shared2 || fail "derive"
cmp -s shared1 shared2 || fail "X25519 shared secrets differ"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer2.key 2>/dev/null
openssl pkey -in peer2.key -pubout -out peer2.pub
$U decrypt --slot 9a --peer peer2.pub -o s3 || fail "ecdh p256"
openssl pkeyutl -derive -inkey peer2.key -peerkey p256.pem -out s4 || fail "derive"
cmp -s s3 s4 || fail "P-256 shared secrets differ"
ok "ECDH (X25519, P-256) agrees with openssl"

openssl pkeyutl -encrypt -pubin -inkey rsa.pem -in msg -out ct || fail "encrypt"
$U decrypt --slot 9d -i ct -o pt || fail "decrypt rsa"
cmp -s pt msg || fail "RSA decrypt gave other bytes"
ok "RSA decrypt"
# a ciphertext whose block is not PKCS#1 type 2 (a raw block 00 05 ...,
# below every modulus, so the card decrypts it and unpadding fails): exit 1,
# a message, no output (issue 10, defect 3)
{ printf '\000\005'; head -c 254 /dev/zero | tr '\000' 'A'; } > raw2
openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:none \
	-in raw2 -out ct2 || fail "encrypt (raw block)"
rm -f pt2
$U decrypt --slot 9d -i ct2 -o pt2 2>err; rc=$?
[ $rc -eq 1 ] || fail "decrypt of a wrong ciphertext exited $rc, not 1"
grep -q 'decryption error' err || fail "no 'decryption error' message: $(cat err)"
[ ! -s pt2 ] || fail "decrypt of a wrong ciphertext wrote output"
ok "RSA decrypt of a wrong ciphertext: exit 1, nothing written"

# ---- import-key, import-cert, export-cert ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out imp.key 2>/dev/null
$U import-key --slot 82 -i imp.key --pin-policy once || fail "import-key"
openssl pkey -in imp.key -pubout -out imp.pub
$U export-pubkey --slot 82 -o imp.exp || fail "export imported"
cmp -s imp.pub imp.exp || fail "imported key's public part differs"
$U sign --slot 82 -i msg -o imp.sig || fail "sign imported"
openssl dgst -sha256 -verify imp.pub -signature imp.sig msg >/dev/null ||
	fail "signature of imported key does not verify"
openssl req -x509 -key imp.key -subj /CN=usbpiv-test -days 30 -out imp.crt 2>/dev/null
$U import-cert --slot 82 -i imp.crt || fail "import-cert"
$U export-cert --slot 82 -o imp.out || fail "export-cert"
cmp -s imp.crt imp.out || fail "exported certificate differs"
openssl x509 -in imp.crt -outform der -out imp.der
$U import-cert --slot 9a -i imp.der --compress || fail "import-cert der compressed"
$U export-cert --slot 9a --format der -o 9a.der || fail "export-cert der"
cmp -s imp.der 9a.der || fail "compressed certificate round trip differs"
# too large for its object (6A84): the message says to use --compress
openssl req -x509 -key imp.key -subj /CN=usbpiv-big -days 30 -out big.crt \
	-addext "nsComment=$(printf '%04000d' 0)" 2>/dev/null || fail "big certificate"
$U import-cert --slot 82 -i big.crt 2>err; rc=$?
[ $rc -eq 1 ] || fail "import-cert of an oversized certificate exited $rc"
grep -q -- '--compress' err || fail "no --compress hint on 6A84: $(cat err)"
$U import-cert --slot 82 -i big.crt --compress || fail "import-cert --compress (big)"
ok "6A84 on import-cert hints at --compress, which then works"
$U info | grep -q 'CN *= *usbpiv-test' || fail "info shows no certificate subject"
$U ssh-keys > keys2.txt || fail "ssh-keys with certificates"
grep -q "^$(ssh-keygen -i -m PKCS8 -f imp.pub) Public key for Retired Key 1\$" keys2.txt ||
	fail "ssh-keys: the imported key in slot 82 is not listed"
if [ -f "$B/usbpiv-pkcs11.so" ]; then
	# ASan build: a foreign program loads the module only with the
	# sanitizer runtime preloaded first.
	san=
	[ "${USBPIV_TEST_MODE:-}" = asan ] &&
		san=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
	LD_PRELOAD="${san:+$san:}${LD_PRELOAD:-}" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0:verify_asan_link_order=0" \
	    ssh-keygen -D "$B/usbpiv-pkcs11.so" > keys3.txt 2>/dev/null ||
		fail "ssh-keygen -D"
	# OpenSSH 9.2 skips Ed25519 keys over PKCS#11 (later versions take
	# them); usbpiv lists them, so compare the rest.
	grep -v '^ssh-ed25519 ' keys2.txt > keys2-no25519.txt || true
	cmp -s keys2-no25519.txt keys3.txt || { diff keys2-no25519.txt keys3.txt;
		fail "ssh-keys differs from ssh-keygen -D on the module"; }
fi
ok "import-key, import-cert (PEM, DER, gzip), export-cert round trip"

# ---- attestation ----
$U attest --slot 9a -o att.pem || fail "attest"
openssl x509 -in att.pem -noout -pubkey > att.pub
cmp -s att.pub p256.pem || fail "the attested key is not the slot's key"
if $U export-cert --slot f9 -o f9.pem 2>/dev/null; then
	openssl verify -partial_chain -CAfile f9.pem att.pem >/dev/null ||
		fail "attestation certificate not signed by the f9 certificate"
fi
$U attest --slot 82 >/dev/null 2>&1 && fail "attest of an imported key worked"
ok "attest"

# ---- errors ----
$U export-cert --slot 9e >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "export-cert of an empty object: exit $rc, want 3"
$U sign --slot 84 -i msg >/dev/null 2>&1; rc=$?
[ $rc -eq 3 ] || fail "sign with an empty slot: exit $rc, want 3"
ok "empty slot and object give exit 3"

echo "cli_keys: $n passed, 0 failed"
