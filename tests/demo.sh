#!/bin/sh
# SPDX-License-Identifier: MIT
# `make demo`: shows usbpiv working.  With a real token plugged in (found by
# `usbpiv list` without any emulation) it only reads: list, info, ssh-keys.
# Otherwise it runs on the virtual token (tests/with-vtoken, a fresh state):
# list, info, keygen 9a P-256 with the factory management key, ssh-keys,
# sign a message with USBPIV_PIN and verify the signature with
# `openssl dgst -verify`, and `ssh-keygen -D` on the PKCS#11 module when it
# is built and works.  Ends with "demo: OK".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
B=${USBPIV_BUILD:-build}
case $B in /*) ;; *) B=$top/$B ;; esac
U=$B/usbpiv

if [ ! -x "$U" ]; then
	echo "demo: $U is not built (run make)" >&2
	exit 1
fi

# ---- a real token: read-only ----
if [ -z "${UMOCKDEV_DIR:-}" ] && "$U" list 2>/dev/null | grep -q 'serial\|firmware'; then
	echo "demo: a real token is present; read-only commands only"
	for c in list info ssh-keys; do
		printf '\n$ usbpiv %s\n' "$c"
		"$U" $c
		rc=$?
		# ssh-keys exits 3 when the token holds no SSH key.
		[ $rc -eq 0 ] || { [ "$c" = ssh-keys ] && [ $rc -eq 3 ]; } ||
			{ echo "demo: usbpiv $c failed (exit $rc)"; exit 1; }
	done
	echo
	echo "demo: OK"
	exit 0
fi

# ---- the virtual token ----
if [ ! -x "$B/vtoken-reader" ] || [ ! -x tests/with-vtoken ]; then
	echo "demo: no real token, and the virtual token is missing" \
	    "($B/vtoken-reader, tests/with-vtoken)" >&2
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
echo "demo: no real token found; using the virtual token (state in $tmp)"

cat > "$tmp/demo-inner.sh" <<'INNER'
set -u
step() { printf '\n== %s\n$ %s\n' "$1" "$2"; }
die() { echo "demo: FAILED: $*"; exit 1; }
cd "$DEMO_TMP" || exit 1
U=$DEMO_U

step "readers and tokens" "usbpiv list"
$U list || die "list"

step "the token" "usbpiv info"
$U info || die "info"

step "a P-256 key in slot 9a (factory management key)" \
    "usbpiv keygen --slot 9a --alg p256 -o pub.pem"
$U keygen --slot 9a --alg p256 -o pub.pem || die "keygen"
cat pub.pem

step "its SSH public key, as ssh-keygen -D lists it" "usbpiv ssh-keys"
$U ssh-keys > ssh-keys.txt || die "ssh-keys"
cat ssh-keys.txt

printf 'usbpiv demo message\n' > message.txt
step "sign a message (PIN from USBPIV_PIN)" \
    "USBPIV_PIN=123456 usbpiv sign --slot 9a -i message.txt -o message.sig"
USBPIV_PIN=123456 $U sign --slot 9a -i message.txt -o message.sig || die "sign"
echo "signature: $(wc -c < message.sig) bytes (DER ECDSA)"

step "verify it with OpenSSL" \
    "openssl dgst -sha256 -verify pub.pem -signature message.sig message.txt"
openssl dgst -sha256 -verify pub.pem -signature message.sig message.txt ||
	die "the signature does not verify"

P11=$DEMO_B/usbpiv-pkcs11.so
if [ -f "$P11" ] && command -v ssh-keygen > /dev/null; then
	step "the same key through the PKCS#11 module" "ssh-keygen -D $P11"
	if timeout 60 ssh-keygen -D "$P11" > p11-keys.txt 2> p11-err.txt &&
	    [ -s p11-keys.txt ]; then
		cat p11-keys.txt
		if cmp -s p11-keys.txt ssh-keys.txt; then
			echo "(identical to usbpiv ssh-keys)"
		else
			diff ssh-keys.txt p11-keys.txt >&2 || true
			die "usbpiv ssh-keys and ssh-keygen -D disagree"
		fi
	else
		echo "(the PKCS#11 module did not list keys yet; skipped)"
	fi
fi
echo
echo "demo: OK"
INNER

DEMO_TMP=$tmp DEMO_U=$U DEMO_B=$B \
    tests/with-vtoken --state "$tmp/state" -- sh "$tmp/demo-inner.sh"
