#!/bin/sh
# SPDX-License-Identifier: MIT
# dracut: the real dracut builds two images from a private copy of its base
# dir (dracutbasedir) holding initramfs/dracut/91usbpiv, with no kernel and
# not host-only - one with the modules "base udev-rules", one with usbpiv
# added - taking the build's files through USBPIV_* (no make install).  The
# image with usbpiv must hold the CLI, the PKCS#11 module (its libraries
# all there), libusb, libcrypto, the udev rule (its group known), the
# keyscript and a wrapped-key file, nothing of pcscd, and its usbpiv must
# run in a chroot.  Prints the bytes the module adds.
set -u
. tests/lib/common.sh
need dracut cpio gzip chroot
need_built "$USBPIV" "$MODULE"
[ "$(id -u)" -eq 0 ] || skip "needs root (dracut builds the image as root)"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }

# dracut and its modules, plus ours; no system configuration.
cp -a /usr/lib/dracut "$T/dracut" 2>/dev/null || skip "no /usr/lib/dracut"
[ -x "$T/dracut/dracut-install" ] || skip "dracut-install missing in /usr/lib/dracut"
cp -r initramfs/dracut/91usbpiv "$T/dracut/modules.d/" || fail "copy the module"
mkdir -p "$T/conf.d" "$T/rules" "$T/keys" "$T/tmp"
# The rule as make install writes it for the default PREFIX (/usr/local):
# the module must keep its /usr/local/bin/usbpiv working in the image.
sed "s|@GROUP@|plugdev|; s|@BINDIR@|/usr/local/bin|; s|@HOOKDIR@|/usr/local/lib/usbpiv|" \
    udev/70-usbpiv.rules.in > "$T/rules/70-usbpiv.rules"
printf 'usbpiv-wrapped-key 1\n' > "$T/keys/root.key"
export dracutbasedir="$T/dracut"
export USBPIV_BIN="$USBPIV" USBPIV_MODULE="$MODULE"
export USBPIV_RULES="$T/rules/70-usbpiv.rules" USBPIV_KEYS_DIR="$T/keys"
export USBPIV_KEYSCRIPT="$PWD/initramfs/dracut/91usbpiv/usbpiv-keyscript"

# mk NAME MODULES: $T/NAME.img from those dracut modules, unpacked in $T/NAME/
mk() {
	dracut --conf /dev/null --confdir "$T/conf.d" --tmpdir "$T/tmp" \
	    --no-kernel --no-hostonly --no-early-microcode --gzip --force \
	    -m "$2" "$T/$1.img" 0.0.0-usbpiv-test > "$T/$1.log" 2>&1 || return 1
	mkdir -p "$T/$1" &&
	(cd "$T/$1" && gzip -dc "$T/$1.img" | cpio -id --quiet) || return 1
	(cd "$T/$1" && find . -mindepth 1 | sed 's|^\./||' | sort) > "$T/$1.lst"
}
mk base "base udev-rules" ||
	{ tail -5 "$T/base.log"; skip "dracut cannot build an image here"; }
mk with "base udev-rules usbpiv" ||
	{ cat "$T/with.log"; fail "dracut with the usbpiv module"; }
grep -q 'Including module: usbpiv' "$T/with.log" ||
	{ cat "$T/with.log"; fail "dracut did not include the usbpiv module"; }
ok "dracut builds images with and without the usbpiv module"

r=$T/with
has() { grep -Eq "$1" "$T/with.lst" || fail "not in the image: $1"; }
has '^usr/bin/usbpiv$'
has '^usr/lib/pkcs11/usbpiv-pkcs11\.so$'
has 'libusb-1\.0\.so'
has 'libcrypto\.so'
has '^(etc|usr/lib)/udev/rules\.d/70-usbpiv\.rules$'
has '^usr/lib/usbpiv/usbpiv-keyscript$'
has "^${T#/}/keys/root\\.key\$"
ok "image holds usbpiv, the module, libusb, libcrypto, the udev rule, the keyscript, the key file"

rule=
for f in "$r"/etc/udev/rules.d/70-usbpiv.rules "$r"/usr/lib/udev/rules.d/70-usbpiv.rules; do
	[ -f "$f" ] && rule=$f && break
done
cmp -s "$rule" "$USBPIV_RULES" || fail "the udev rule in the image differs from the built one"
cmp -s "$r/usr/lib/usbpiv/usbpiv-keyscript" "$USBPIV_KEYSCRIPT" ||
	fail "the keyscript in the image differs"
[ -x "$r/usr/lib/usbpiv/usbpiv-keyscript" ] || fail "the keyscript is not executable"
cmp -s "$r/${T#/}/keys/root.key" "$T/keys/root.key" || fail "the key file differs"
grep -q '^plugdev:' "$r/etc/group" ||
	fail "the rule's group plugdev is not in the image's /etc/group"
ok "rule, keyscript and key file are the built ones; the rule's group is known"

if grep -Eq 'pcscd|pcsc-lite|libpcsclite|libccid' "$T/with.lst"; then
	grep -E 'pcscd|pcsc-lite|libpcsclite|libccid' "$T/with.lst"
	fail "pcscd/pcsc-lite/libccid in the image"
fi
ok "nothing of pcscd, pcsc-lite or libccid"

chroot_proc "$r"
chroot "$r" /usr/bin/usbpiv --version > "$T/ver" 2>&1 ||
	{ cat "$T/ver"; fail "usbpiv does not run inside the image (missing library?)"; }
grep -q '^usbpiv ' "$T/ver" || { cat "$T/ver"; fail "usbpiv --version in the image"; }
# the path the udev rule calls (BINDIR of make install)
chroot "$r" /usr/local/bin/usbpiv --version > "$T/ver" 2>&1 ||
	{ cat "$T/ver"; fail "the rule's /usr/local/bin/usbpiv does not run in the image"; }
# the module's libraries, through the image's own dynamic loader
ld=
for f in "$r"/lib64/ld-linux-*.so.* "$r"/usr/lib64/ld-linux-*.so.* "$r"/lib/ld-linux*.so.*; do
	[ -e "$f" ] && ld=${f#"$r"} && break
done
[ -n "$ld" ] || fail "no dynamic loader in the image"
if ! chroot "$r" "$ld" --list /usr/lib/pkcs11/usbpiv-pkcs11.so > "$T/ldd" 2>&1 ||
    grep -q 'not found' "$T/ldd"; then
	cat "$T/ldd"
	fail "the PKCS#11 module misses a library in the image"
fi
ok "usbpiv runs in a chroot of the image (also as the rule's /usr/local/bin/usbpiv); the module's libraries are there"

# The SSH agent is in it (`usbpiv agent`); USBPIV_AGENT=1 adds dbclient.
chroot "$r" /usr/bin/usbpiv agent --help > "$T/agent.help" 2>&1 &&
	grep -q 'SSH agent' "$T/agent.help" ||
	{ cat "$T/agent.help"; fail "usbpiv agent does not run inside the image"; }
grep -Eq '(^|/)dbclient$' "$T/with.lst" && fail "dbclient without USBPIV_AGENT=1"
agent_bytes=
if command -v dbclient >/dev/null 2>&1; then
	USBPIV_AGENT=1 mk agent "base udev-rules usbpiv" ||
		{ cat "$T/agent.log"; fail "dracut, USBPIV_AGENT=1"; }
	grep -Eq '^usr/(s?bin|local/bin)/dbclient$' "$T/agent.lst" ||
		fail "USBPIV_AGENT=1: no dbclient in the image"
	chroot "$T/agent" dbclient -V > "$T/db.ver" 2>&1 ||
		{ cat "$T/db.ver"; fail "dbclient does not run inside the image"; }
	agent_bytes=$(( $(wc -c < "$T/agent.img") - $(wc -c < "$T/with.img") ))
fi
ok "usbpiv agent runs in the image; USBPIV_AGENT=1 adds a dbclient that runs"

b=$(wc -c < "$T/base.img") w=$(wc -c < "$T/with.img")
fb=$(wc -l < "$T/base.lst") fw=$(wc -l < "$T/with.lst")
echo "dracut: without usbpiv $b bytes ($fb entries), with usbpiv $w bytes ($fw entries): the module adds $((w - b)) bytes (gzip), $((fw - fb)) entries"
[ -n "$agent_bytes" ] && echo "dracut: USBPIV_AGENT=1 (dbclient) adds $agent_bytes bytes (gzip)"
echo "boot_dracut: $n checks ok"
