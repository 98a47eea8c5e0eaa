#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages usbpiv needs to build and test, only those
# missing.  Usage: scripts/deps.sh [build|test|all]   (default: all)
set -eu

build="gcc clang make pkg-config libusb-1.0-0-dev libssl-dev zlib1g-dev
libp11-kit-dev libcmocka-dev openssl"
test="umockdev libumockdev-dev libglib2.0-dev valgrind libclang-rt-14-dev
openssh-client openssh-server opensc pcscd libccid vsmartcard-vpcd ykcs11 yubico-piv-tool
gnutls-bin libnss3-tools libengine-pkcs11-openssl openvpn cryptsetup-bin
p11-kit udev python3 systemd initramfs-tools dracut-core xxd dropbear-bin
git dpkg-dev debhelper lintian"

case "${1:-all}" in
build) want=$build ;;
test | all) want="$build $test" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "usbpiv: installing Debian packages:$missing" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
