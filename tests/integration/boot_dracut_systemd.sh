#!/bin/sh
# SPDX-License-Identifier: MIT
# dracut with systemd in the image (dracut's systemd and crypt modules, the
# real dracut): usbpiv's module wires `usbpiv enroll` volumes into
# systemd-cryptsetup and gives systemd-cryptsetup's own PKCS#11 support the
# module through p11-kit.  Checked on the image: usbpiv-unlock@.service, a
# drop-in per wrapped-key file /etc/usbpiv/keys/NAME.key for
# systemd-cryptsetup@NAME.service, libp11-kit and a p11-kit module file
# naming the module in the image (with the installed file's
# x-init-reserved); the image's own systemd-cryptsetup-generator makes the
# units of a crypttab, and `systemd-analyze verify --root` on the image's
# units finds them valid and orders usbpiv-unlock@NAME before
# systemd-cryptsetup@NAME (a probe unit ordered the other way round makes
# an ordering cycle that verify reports, and the right way round none);
# usbpiv-unlock-key, run in a chroot of the image with a stand-in usbpiv,
# writes /run/cryptsetup-keys.d/NAME.key mode 0400, and nothing on failure.
set -u
. tests/lib/common.sh
need dracut cpio gzip chroot systemd-analyze
need_built "$USBPIV" "$MODULE"
[ "$(id -u)" -eq 0 ] || skip "needs root (dracut builds the image as root)"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }

cp -a /usr/lib/dracut "$T/dracut" 2>/dev/null || skip "no /usr/lib/dracut"
[ -d "$T/dracut/modules.d/00systemd" ] || skip "dracut has no systemd module"
[ -x /lib/systemd/systemd-cryptsetup ] || [ -x /usr/lib/systemd/systemd-cryptsetup ] ||
	skip "no systemd-cryptsetup (package systemd-cryptsetup or systemd 252)"
cp -r initramfs/dracut/91usbpiv "$T/dracut/modules.d/" || fail "copy the module"
mkdir -p "$T/conf.d" "$T/rules" "$T/keys" "$T/tmp"
sed "s|@GROUP@|plugdev|; s|@BINDIR@|/usr/bin|; s|@HOOKDIR@|/usr/lib/usbpiv|" \
    udev/70-usbpiv.rules.in > "$T/rules/70-usbpiv.rules"
printf 'usbpiv-wrapped-key 1\n' > "$T/keys/root.key"
printf 'usbpiv-wrapped-key 1\n' > "$T/keys/luks-home.key"
export dracutbasedir="$T/dracut"
export USBPIV_BIN="$USBPIV" USBPIV_MODULE="$MODULE"
export USBPIV_RULES="$T/rules/70-usbpiv.rules" USBPIV_KEYS_DIR="$T/keys"
export USBPIV_KEYSCRIPT="$PWD/initramfs/dracut/91usbpiv/usbpiv-keyscript"
nice dracut --conf /dev/null --confdir "$T/conf.d" --tmpdir "$T/tmp" \
    --no-kernel --no-hostonly --no-early-microcode --gzip --force \
    -m "base systemd crypt usbpiv" "$T/sd.img" 0.0.0-usbpiv-test > "$T/sd.log" 2>&1 ||
	{ tail -n 20 "$T/sd.log"; fail "dracut with systemd, crypt and usbpiv"; }
grep -q 'Including module: usbpiv' "$T/sd.log" || { cat "$T/sd.log"; fail "usbpiv not included"; }
r=$T/sd
mkdir -p "$r" && (cd "$r" && gzip -dc "$T/sd.img" | cpio -id --quiet) || fail "unpack the image"
(cd "$r" && find . -mindepth 1 | sed 's|^\./||' | sort) > "$T/sd.lst"
ok "dracut builds an image with systemd, crypt and usbpiv"

U=usr/lib/systemd/system
has() { grep -Eq "$1" "$T/sd.lst" || fail "not in the image: $1"; }
has "^$U/usbpiv-unlock@\\.service\$"
has '^usr/lib/usbpiv/usbpiv-unlock-key$'
has '^usr/lib/usbpiv/usbpiv-keyscript$'
has "^$U/systemd-cryptsetup@root\\.service\\.d/usbpiv\\.conf\$"
has "^$U/systemd-cryptsetup@luks\\\\x2dhome\\.service\\.d/usbpiv\\.conf\$"
has "^$U/usbpiv-unlock@root\\.service\\.d/key\\.conf\$"
has '^usr/lib/systemd/systemd-cryptsetup$'
has '^usr/lib/systemd/system-generators/systemd-cryptsetup-generator$'
has 'libp11-kit\.so\.0$'
has '^usr/lib/pkcs11/usbpiv-pkcs11\.so$'
has '^usr/share/p11-kit/modules/usbpiv\.module$'
grep -qx 'module: /usr/lib/pkcs11/usbpiv-pkcs11.so' "$r/usr/share/p11-kit/modules/usbpiv.module" ||
	fail "the image's p11-kit module file does not name the image's module"
grep -qx "Environment=USBPIV_WRAPPED_KEY=$T/keys/root.key" "$r/$U/usbpiv-unlock@root.service.d/key.conf" ||
	fail "usbpiv-unlock@root is not given its wrapped key"
if grep -Eq 'pcscd|libpcsclite|libccid' "$T/sd.lst"; then fail "pcscd or libccid in the image"; fi
ok "image: usbpiv-unlock@.service, drop-ins for root and luks-home, libp11-kit, the module and its p11-kit file; no pcscd"

# the module's libraries resolve in the image, p11-kit's too
ld=
for f in "$r"/lib64/ld-linux-*.so.* "$r"/usr/lib64/ld-linux-*.so.*; do
	[ -e "$f" ] && ld=${f#"$r"} && break
done
chroot_proc "$r"
if [ -n "$ld" ]; then
	for so in /usr/lib/pkcs11/usbpiv-pkcs11.so; do
		chroot "$r" "$ld" --list "$so" > "$T/ldd" 2>&1 && ! grep -q 'not found' "$T/ldd" ||
			{ cat "$T/ldd"; fail "$so misses a library in the image"; }
	done
fi

# the units systemd makes of a crypttab, by the image's own generator
printf 'root /dev/disk/by-uuid/00000000-0000-0000-0000-000000000000 none luks\nluks-home /dev/disk/by-uuid/11111111-1111-1111-1111-111111111111 -\n' > "$T/crypttab"
mkdir -p "$T/gen/n" "$T/gen/e" "$T/gen/l"
SYSTEMD_CRYPTTAB=$T/crypttab "$r/usr/lib/systemd/system-generators/systemd-cryptsetup-generator" \
    "$T/gen/n" "$T/gen/e" "$T/gen/l" || fail "systemd-cryptsetup-generator"
[ -f "$T/gen/n/systemd-cryptsetup@root.service" ] || fail "the generator made no systemd-cryptsetup@root.service"
# verify --root reads /etc/systemd/system and /usr/lib/systemd/system under
# the root: the generated units go to the former
mkdir -p "$r/etc/systemd/system" && cp -a "$T/gen/n/." "$r/etc/systemd/system/"
verify() { systemd-analyze verify --man=no --root="$r" "$@" > "$T/verify" 2>&1; }
verify 'systemd-cryptsetup@root.service' 'systemd-cryptsetup@luks\x2dhome.service' \
    'usbpiv-unlock@root.service' 'usbpiv-unlock@luks\x2dhome.service' ||
	{ cat "$T/verify"; fail "systemd-analyze verify on the image's units"; }
[ -s "$T/verify" ] && { cat "$T/verify"; fail "systemd-analyze verify complains"; }
ok "systemd-analyze verify --root=IMAGE: systemd-cryptsetup@root, @luks\\x2dhome and their usbpiv-unlock@ are valid"

# probe NAME AFTER BEFORE: a unit that wants only systemd-cryptsetup@NAME,
# ordered after AFTER and before BEFORE; verify's output
probe() {
	cat > "$r/etc/systemd/system/usbpiv-probe.service" <<EOF
[Unit]
DefaultDependencies=no
Wants=systemd-cryptsetup@$1.service
After=$2
Before=$3
[Service]
Type=oneshot
ExecStart=/bin/true
EOF
	verify usbpiv-probe.service
}
for v in root 'luks\x2dhome'; do
	# after the volume is open, before its key is unwrapped: impossible
	probe "$v" "systemd-cryptsetup@$v.service" "usbpiv-unlock@$v.service"
	grep -q 'Found ordering cycle' "$T/verify" ||
		{ cat "$T/verify"; fail "$v: usbpiv-unlock@ is not ordered before systemd-cryptsetup@ (or not pulled in)"; }
	# the other way round: fine
	probe "$v" "usbpiv-unlock@$v.service" "systemd-cryptsetup@$v.service"
	grep -q 'ordering cycle' "$T/verify" && { cat "$T/verify"; fail "$v: a cycle the right way round"; }
done
rm -f "$r/etc/systemd/system/usbpiv-probe.service"
ok "systemd-cryptsetup@NAME pulls in usbpiv-unlock@NAME and runs after it (a reversed probe is an ordering cycle; root, luks-home)"

# usbpiv-unlock-key in the image, with a stand-in usbpiv
mv "$r/usr/bin/usbpiv" "$r/usr/bin/usbpiv.real"
cat > "$r/usr/bin/usbpiv" <<'EOF'
#!/bin/sh
[ "$1" = unlock ] && [ -f "$2" ] || exit 9
[ -n "${STANDIN_FAIL:-}" ] && { printf 'partial'; exit 4; }
printf 'passphrase-of-%s' "${2##*/}"
EOF
chmod 0755 "$r/usr/bin/usbpiv"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin USBPIV_WRAPPED_KEY="$T/keys/root.key" \
    chroot "$r" /usr/lib/usbpiv/usbpiv-unlock-key root || fail "usbpiv-unlock-key root"
k=$r/run/cryptsetup-keys.d/root.key
[ "$(cat "$k")" = "passphrase-of-root.key" ] || fail "the key file does not hold the passphrase"
[ "$(stat -c %a "$k")" = 400 ] || fail "the key file is mode $(stat -c %a "$k"), not 0400"
[ "$(stat -c %a "$r/run/cryptsetup-keys.d")" = 700 ] || fail "/run/cryptsetup-keys.d is not 0700"
rm -f "$k"
if env -i PATH=/usr/bin:/bin STANDIN_FAIL=1 USBPIV_WAIT=0 USBPIV_WRAPPED_KEY="$T/keys/root.key" \
    chroot "$r" /usr/lib/usbpiv/usbpiv-unlock-key root 2> /dev/null; then
	fail "usbpiv-unlock-key succeeded although usbpiv unlock failed"
fi
[ -z "$(ls -A "$r/run/cryptsetup-keys.d")" ] || { ls -la "$r/run/cryptsetup-keys.d"; fail "a failed unlock left a file"; }
mv "$r/usr/bin/usbpiv.real" "$r/usr/bin/usbpiv"
ok "usbpiv-unlock-key writes /run/cryptsetup-keys.d/root.key mode 0400 (directory 0700), nothing when unlock fails"
echo "boot_dracut_systemd: $n passed, 0 failed"
