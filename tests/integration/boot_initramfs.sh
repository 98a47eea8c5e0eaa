#!/bin/sh
# SPDX-License-Identifier: MIT
# initramfs-tools: mkinitramfs with and without initramfs/initramfs-tools/
# hooks/usbpiv (from a private config dir, -d), for a made-up kernel
# version; the image with the hook must hold the CLI, the PKCS#11 module,
# libusb, the udev rule, the keyscript and a wrapped-key file, and nothing
# of pcscd.  Prints the bytes the hook adds.  Also checks the keyscript's
# and the dracut module's shell syntax (boot_dracut.sh runs dracut).
set -u
. tests/lib/common.sh
need mkinitramfs lsinitramfs
need_built "$USBPIV" "$MODULE"
[ "$(id -u)" -eq 0 ] || skip "needs root (mkinitramfs wants /lib/modules/VER and /boot/config-VER)"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }

# mkinitramfs insists on /lib/modules/VER and on /boot/config-VER saying
# the compressor is supported: a made-up version, removed afterwards.
ver=0.0.0-usbpiv-test-$$
mkdir -p "/lib/modules/$ver" /boot || skip "cannot create /lib/modules/$ver"
cleanup_add "rm -rf '/lib/modules/$ver' '/boot/config-$ver'"
: > "/lib/modules/$ver/modules.order"
: > "/lib/modules/$ver/modules.builtin"
printf 'CONFIG_RD_GZIP=y\nCONFIG_RD_ZSTD=y\n' > "/boot/config-$ver"

# Two private configurations: the system's, and the same plus our hook.
for c in base with; do
	mkdir -p "$T/$c"
	cp -r /etc/initramfs-tools/. "$T/$c/"
	sed -i 's/^MODULES=.*/MODULES=list/; s/^COMPRESS=.*/COMPRESS=gzip/' \
	    "$T/$c/initramfs.conf"
done
sed -e "s|@BINDIR@|$USBPIV_BUILD|g" -e "s|@PKCS11DIR@|$USBPIV_BUILD|g" \
    -e "s|@UDEVRULESDIR@|$T/rules|g" -e "s|@HOOKDIR@|$PWD/initramfs/initramfs-tools/scripts|g" \
    initramfs/initramfs-tools/hooks/usbpiv > "$T/with/hooks/usbpiv"
chmod +x "$T/with/hooks/usbpiv"
mkdir -p "$T/rules" "$T/keys"
sed "s|@GROUP@|plugdev|; s|@BINDIR@|/usr/bin|; s|@HOOKDIR@|/usr/lib/usbpiv|" \
    udev/70-usbpiv.rules.in > "$T/rules/70-usbpiv.rules"
printf 'usbpiv-wrapped-key 1\n' > "$T/keys/root.key"

export USBPIV_KEYS_DIR="$T/keys"
mkinitramfs -d "$T/base" -o "$T/base.img" "$ver" > "$T/base.log" 2>&1 ||
	{ tail -5 "$T/base.log"; skip "mkinitramfs cannot build an image here"; }
mkinitramfs -d "$T/with" -o "$T/with.img" "$ver" > "$T/with.log" 2>&1 ||
	{ cat "$T/with.log"; fail "mkinitramfs with the usbpiv hook"; }
ok "mkinitramfs with and without the hook"

lsinitramfs "$T/with.img" > "$T/with.lst" || fail "lsinitramfs"
lsinitramfs "$T/base.img" > "$T/base.lst" || fail "lsinitramfs base"
has() { grep -Eq "$1" "$T/with.lst" || fail "not in the image: $1"; }
has '^usr/bin/usbpiv$'
has '^usr/lib/pkcs11/usbpiv-pkcs11\.so$'
has 'libusb-1\.0\.so'
has 'libcrypto\.so'
has '^usr/lib/udev/rules\.d/70-usbpiv\.rules$'
has '^usr/lib/usbpiv/usbpiv-keyscript$'
has "^${T#/}/keys/root\.key\$"
ok "image holds usbpiv, the module, libusb, libcrypto, the udev rule, the keyscript, the key file"
if grep -Eq 'pcscd|libpcsclite|libccid' "$T/with.lst" &&
    ! grep -Eq 'pcscd|libpcsclite|libccid' "$T/base.lst"; then
	grep -E 'pcscd|libpcsclite|libccid' "$T/with.lst"
	fail "the hook brought pcscd/pcsc-lite/libccid in"
fi
ok "nothing of pcscd, pcsc-lite or libccid added"
# The usbpiv in the image runs (its libraries are all there): chroot.
mkdir -p "$T/root"
(cd "$T/root" && unmkinitramfs "$T/with.img" . >/dev/null 2>&1) ||
	fail "unmkinitramfs"
r=$T/root; [ -d "$r/main" ] && r=$r/main
chroot_proc "$r"
chroot "$r" /usr/bin/usbpiv --version > "$T/ver" 2>&1 ||
	chroot "$r" /usr/bin/usbpiv --help > "$T/ver" 2>&1 ||
	{ cat "$T/ver"; fail "usbpiv does not run inside the image (missing library?)"; }
ok "usbpiv runs in a chroot of the unpacked image"
# The SSH agent is in it: `usbpiv agent`.
chroot "$r" /usr/bin/usbpiv agent --help > "$T/agent.help" 2>&1 ||
	{ cat "$T/agent.help"; fail "usbpiv agent does not run inside the image"; }
grep -q 'SSH agent' "$T/agent.help" || fail "usbpiv agent --help in the image"
ok "usbpiv agent runs inside the image"
# USBPIV_AGENT=1 adds dropbear's dbclient, for a boot script to log in with
# the agent's keys.
agent_bytes=
if command -v dbclient >/dev/null 2>&1; then
	USBPIV_AGENT=1 mkinitramfs -d "$T/with" -o "$T/agent.img" "$ver" \
	    > "$T/agent.log" 2>&1 || { cat "$T/agent.log"; fail "mkinitramfs, USBPIV_AGENT=1"; }
	lsinitramfs "$T/agent.img" | grep -q '^usr/bin/dbclient$' ||
		fail "USBPIV_AGENT=1: no dbclient in the image"
	grep -q '^usr/bin/dbclient$' "$T/with.lst" && fail "dbclient without USBPIV_AGENT=1"
	agent_bytes=$(( $(wc -c < "$T/agent.img") - $(wc -c < "$T/with.img") ))
	ok "USBPIV_AGENT=1 puts dbclient into the image"
fi

b=$(wc -c < "$T/base.img") w=$(wc -c < "$T/with.img")
fb=$(wc -l < "$T/base.lst") fw=$(wc -l < "$T/with.lst")
echo "initramfs: without hook $b bytes ($fb entries), with hook $w bytes ($fw entries): the hook adds $((w - b)) bytes (gzip), $((fw - fb)) entries"
[ -n "$agent_bytes" ] && echo "initramfs: USBPIV_AGENT=1 (dbclient) adds $agent_bytes bytes (gzip); the agent itself is part of the usbpiv binary"

bash -n initramfs/dracut/91usbpiv/module-setup.sh || fail "dracut module-setup.sh syntax"
sh -n initramfs/initramfs-tools/scripts/usbpiv-keyscript || fail "keyscript syntax"
ok "the keyscript and dracut module-setup.sh parse"
echo "boot_initramfs: $n checks ok"
