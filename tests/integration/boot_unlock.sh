#!/bin/sh
# SPDX-License-Identifier: MIT
# Disk unlock on the emulated token: a LUKS2 image file (pbkdf2, 1000
# iterations: fast), a key slot added with `usbpiv enroll` for RSA-2048,
# P-256, P-384 and X25519, and one added by systemd-cryptenroll through our
# PKCS#11 module; `usbpiv unlock ... | cryptsetup open --test-passphrase
# --key-file=-` must open each.  A wrong PIN is refused (exit 4, tries left
# on stderr); a wrong token key and an edited file are refused.
set -u
. tests/lib/common.sh
need cryptsetup openssl
need_built "$USBPIV" "$MODULE" "$USBPIV_BUILD/vtoken-reader"
[ "$(id -u)" -eq 0 ] || skip "needs root (cryptsetup on an image file)"
U="${USBPIV_WRAP:-} $USBPIV"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }
export USBPIV_PIN=123456
IMG=$T/img
# Our own lock directory: every emulated token is "1-1", and other test
# runs on this machine must not make ours wait (or fail as busy).
mkdir -p "$T/locks" && export USBPIV_LOCK_DIR="$T/locks"

truncate -s 20M "$IMG"
printf 'first passphrase' > "$T/old"
cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --key-file "$T/old" "$IMG" ||
	skip "cryptsetup luksFormat cannot format an image file here"
addkey() {	# addkey NEWKEYFILE
	cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	    --key-file "$T/old" "$IMG" "$1"
}
opens() {	# opens WHAT UNLOCK-ARGS...: unlock | cryptsetup --test-passphrase
	_w=$1; shift
	vt sh -c "$U unlock $* > '$T/pass'" || fail "$_w: usbpiv unlock"
	cryptsetup open --test-passphrase --key-file=- "$IMG" < "$T/pass" ||
		fail "$_w: cryptsetup does not accept the unlocked key"
}

# ---- usbpiv enroll, one slot per algorithm ----
vt sh -c "$U keygen --slot 9d --alg rsa2048 -o '$T/rsa.pem' >/dev/null &&
    $U keygen --slot 9a --alg p256 -o '$T/p256.pem' &&
    $U keygen --slot 9c --alg p384 -o '$T/p384.pem' &&
    $U keygen --slot 9e --alg x25519 -o '$T/x25519.pem'" || fail "keygen"
for s in 9d 9a 9c 9e; do
	# enroll needs no PIN
	vt sh -c "unset USBPIV_PIN; $U enroll --slot $s -o '$T/w$s' > '$T/k$s'" ||
		fail "enroll $s"
	[ "$(wc -c < "$T/k$s")" -eq 44 ] || fail "enroll $s: passphrase is not 44 characters"
	grep -q "^serial 13371337$" "$T/w$s" || fail "enroll $s: serial missing"
	addkey "$T/k$s" || fail "luksAddKey $s"
	opens "slot $s" "'$T/w$s'"
	cmp -s "$T/pass" "$T/k$s" || fail "unlock $s: not the enrolled passphrase"
	ok "enroll + unlock slot $s ($(sed -n 's/^alg //p' "$T/w$s"), $(sed -n 's/^method //p' "$T/w$s")) opens the image"
done

# ---- wrong PIN: refused with the tries left, exit 4 ----
vt sh -c "USBPIV_PIN=654321 $U unlock '$T/w9d' > '$T/out' 2> '$T/err'"
rc=$?
[ $rc -eq 4 ] || fail "wrong PIN: exit $rc, want 4"
grep -q 'wrong PIN, 2 tries left' "$T/err" || { cat "$T/err"; fail "tries left not shown"; }
[ ! -s "$T/out" ] || fail "wrong PIN: something was written to stdout"
ok "wrong PIN refused: $(cat "$T/err")"
# the PIN given from a file also works (and resets the counter)
printf '123456\n' > "$T/pinfile"
vt sh -c "unset USBPIV_PIN; $U unlock --pin-file '$T/pinfile' '$T/w9a' > '$T/pass'" ||
	fail "unlock --pin-file"
cmp -s "$T/pass" "$T/k9a" || fail "unlock --pin-file: wrong passphrase"
ok "--pin-file"

# ---- no terminal (setsid): the PIN from systemd-ask-password ----
if command -v setsid >/dev/null 2>&1; then
	mkdir -p "$T/ask"
	printf '#!/bin/sh\necho 123456\n' > "$T/ask/systemd-ask-password"
	chmod +x "$T/ask/systemd-ask-password"
	vt sh -c "unset USBPIV_PIN; PATH='$T/ask':\$PATH setsid $U unlock '$T/w9a' > '$T/pass' < /dev/null" ||
		fail "unlock with the PIN from systemd-ask-password"
	cmp -s "$T/pass" "$T/k9a" || fail "systemd-ask-password: wrong passphrase"
	# an asker that floods its output: refused at once, not a hang
	printf '#!/bin/sh\nhead -c 1000000 /dev/zero | tr "\\0" 1\n' > "$T/ask/systemd-ask-password"
	vt sh -c "unset USBPIV_PIN; PATH='$T/ask':\$PATH setsid $U unlock '$T/w9a' > '$T/out' 2> '$T/err' < /dev/null"
	rc=$?
	[ $rc -ne 0 ] && [ ! -s "$T/out" ] && grep -q 'no way to ask for the PIN' "$T/err" ||
		{ cat "$T/err"; fail "a flooding systemd-ask-password: exit $rc"; }
	ok "no terminal: PIN from systemd-ask-password; 1 MB of asker output refused"
fi

# ---- a file for another key, or edited, is refused ----
sed 's/^slot 9a$/slot 9c/; s/^alg ECCP256$/alg ECCP384/' "$T/w9a" > "$T/wrongkey"
vt sh -c "$U unlock '$T/wrongkey' > /dev/null 2> '$T/err'"
rc=$?
[ $rc -eq 3 ] && grep -q 'wrong token or key' "$T/err" ||
	{ cat "$T/err"; fail "wrong key: exit $rc"; }
sed 's/^serial 13371337$/serial 42/' "$T/w9a" > "$T/wrongserial"
vt sh -c "$U unlock '$T/wrongserial' > /dev/null 2> '$T/err'"
rc=$?
[ $rc -eq 3 ] && grep -q 'serial 42' "$T/err" ||
	{ cat "$T/err"; fail "wrong serial: exit $rc"; }
ok "wrong key / wrong token serial refused with a clear error"
# damaged files: a flipped ciphertext byte, a cut file, a future version,
# JSON that is no systemd token
awk '/^data /{ $2 = substr($2, 1, length($2) - 2) ((substr($2, length($2) - 1) == "00") ? "01" : "00") } { print }' \
    "$T/w9a" > "$T/flip"
cmp -s "$T/flip" "$T/w9a" && fail "could not damage the file"
head -n 4 "$T/w9a" > "$T/cut"
sed '1s/ 1$/ 2/' "$T/w9a" > "$T/v2"
printf '{"type":"systemd-tpm2","keyslots":["1"]}' > "$T/other.json"
for f in flip cut v2 other.json; do
	vt sh -c "$U unlock '$T/$f' > '$T/out' 2> '$T/err'"
	rc=$?
	[ $rc -ne 0 ] && [ ! -s "$T/out" ] && [ -s "$T/err" ] ||
		{ cat "$T/err"; fail "damaged file $f: exit $rc"; }
	[ $f != flip ] || grep -q 'does not authenticate' "$T/err" ||
		{ cat "$T/err"; fail "damaged tag: wrong message"; }
done
ok "damaged, cut, unknown-version and foreign files refused, nothing on stdout"

# ---- systemd-cryptenroll (RSA PKCS#1 v1.5 in systemd 252) ----
if ! command -v systemd-cryptenroll >/dev/null 2>&1; then
	echo "skip part: systemd-cryptenroll not installed (package systemd)"
	echo "boot_unlock: $n checks ok"
	exit 0
fi
# systemd loads PKCS#11 modules through p11-kit, which reads no per-user
# configuration as root: register our module system-wide for this test.
mod=/etc/pkcs11/modules/usbpiv-test-$$.module
# and leave /etc as it was: the directories this test makes go again
for d in /etc/pkcs11 /etc/pkcs11/modules; do
	[ -d "$d" ] || cleanup_add "rmdir '$d' 2>/dev/null"
done
mkdir -p /etc/pkcs11/modules
printf 'module: %s\n' "$MODULE" > "$mod"
cleanup_add "rm -f '$mod'"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$T/ca.key" 2>/dev/null
openssl x509 -new -subj /CN=disk -key "$T/ca.key" -force_pubkey "$T/rsa.pem" \
    -days 30 -out "$T/rsa.crt" || fail "certificate"
vt $U import-cert --slot 9d -i "$T/rsa.crt" || fail "import-cert"
# The attestation certificates share CKA_IDs with the slots (as ykcs11's
# do): name the certificate by its label too.
uri='pkcs11:serial=13371337;id=%03;object=X.509%20Certificate%20for%20Key%20Management'
vt sh -c "PASSWORD='first passphrase' PIN=123456 systemd-cryptenroll \
    --pkcs11-token-uri='$uri' '$IMG'" > "$T/enroll.log" 2>&1 ||
	{ cat "$T/enroll.log"; fail "systemd-cryptenroll"; }
cryptsetup token export --token-id 0 "$IMG" > "$T/token.json" ||
	fail "no LUKS2 token after systemd-cryptenroll"
grep -q '"systemd-pkcs11"' "$T/token.json" || fail "token type"
ok "systemd-cryptenroll enrolled through build/usbpiv-pkcs11.so"
opens "systemd token JSON" "'$T/token.json'"
ok "unlock of the exported systemd-pkcs11 token JSON opens the image"
opens "LUKS2 header" "'$IMG'"
ok "unlock of the LUKS2 image itself (token read with cryptsetup) opens it"
echo "boot_unlock: $n checks ok"
