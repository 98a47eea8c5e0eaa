#!/bin/sh
# SPDX-License-Identifier: MIT
# APDUs on the wire (counted from the virtual card's VTOKEN_LOG) for the
# two jobs users do most: list the SSH keys, and log in + sign once.
# The token: P-256 key in 9a and RSA-2048 in 9c, each with a certificate.
set -eu
build=${1:-build}
USBPIV_BUILD=$(cd "$build" && pwd); export USBPIV_BUILD
. tests/lib/common.sh
need_built "$MODULE" "$USBPIV_BUILD/vtoken-reader"
provision_key 01 EC:prime256v1 bench-p256 >/dev/null
provision_key 02 rsa:2048 bench-rsa >/dev/null
printf 'bench' > "$T/msg"
VTOKEN_LOG=$T/a.log vt ssh-keygen -D "$MODULE" >/dev/null 2>&1
VTOKEN_LOG=$T/b.log vt pkcs11-tool --module "$MODULE" --login --pin 123456 \
    --sign --id 01 -m ECDSA-SHA256 -i "$T/msg" -o "$T/sig" >/dev/null 2>&1
printf '%-40s %s\n' "usbpiv: ssh-keygen -D" "$(apdus "$T/a.log") APDUs"
printf '%-40s %s\n' "usbpiv: login + one ECDSA signature" "$(apdus "$T/b.log") APDUs"
if [ -x tests/compare/pcscd-clients.sh ]; then
	echo "(OpenSC and ykcs11 on the same card through pcscd + vpcd: tests/compare/pcscd-clients.sh)"
fi
