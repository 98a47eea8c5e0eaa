#!/bin/sh
# SPDX-License-Identifier: MIT
# udev integration on the emulated reader: `usbpiv udev-info` (the
# IMPORT{program} helper) for every reader profile, from the emulated
# device's sysfs; the same from a plain copy of those sysfs files (so it
# needs nothing but them: no USB transfer, no card); hostile descriptors;
# the hook runner (detached, time-bounded, properties in the environment);
# and `udevadm test` of udev/70-usbpiv.rules.in against the emulated device.
set -u
. tests/lib/common.sh
need_built "$USBPIV" "$USBPIV_BUILD/vtoken-reader"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }
dev=/sys/devices/usb1/1-1

# ---- udev-info for each profile ----
for p in yubikey5 short-apdu extended-apdu t1 two-slot; do
	tests/with-vtoken --reader "$p" --state "$T/st.$p" -- sh -c \
	    "$USBPIV udev-info \"\$UMOCKDEV_DIR$dev\" > '$T/info.$p' &&
	     mkdir -p '$T/copy.$p' &&
	     for a in descriptors manufacturer product serial; do
	         cp \"\$UMOCKDEV_DIR$dev/\$a\" '$T/copy.$p/'; done" ||
		fail "udev-info $p"
	grep -qx 'ID_USBPIV=1' "$T/info.$p" || fail "$p: no ID_USBPIV=1"
	case $p in
	yubikey5) want='ID_USBPIV_READER=Yubico_YubiKey_OTP_FIDO_CCID
ID_USBPIV_SERIAL=13371337
ID_USBPIV_VID=1050
ID_USBPIV_PID=0407
ID_USBPIV_SLOTS=1' ;;
	two-slot) want="ID_USBPIV_READER=usbpiv_Virtual_two-slot_reader
ID_USBPIV_SLOTS=2" ;;
	*) want="ID_USBPIV_READER=usbpiv_Virtual_${p}_reader
ID_USBPIV_VID=1209
ID_USBPIV_SLOTS=1" ;;
	esac
	printf '%s\n' "$want" | while read -r l; do
		grep -qx "$l" "$T/info.$p" || { cat "$T/info.$p"; fail "$p: no $l"; }
	done || exit 1
	# A plain directory holding only those sysfs files, outside the
	# emulation (no device to talk to at all): the same answer.
	$USBPIV udev-info "$T/copy.$p" > "$T/copy.$p.out" || fail "$p: copy"
	cmp -s "$T/info.$p" "$T/copy.$p.out" || fail "$p: sysfs copy differs"
	ok "udev-info $p: $(tr '\n' ' ' < "$T/info.$p")"
done

# ---- hostile or foreign descriptors: exit 1, nothing printed ----
c=$T/copy.yubikey5
mkdir -p "$T/bad"
for case in trunc9 trunc40 zero nonccid empty; do
	rm -f "$T/bad/descriptors"
	case $case in
	trunc9) head -c 9 "$c/descriptors" > "$T/bad/descriptors" ;;
	trunc40) head -c 40 "$c/descriptors" > "$T/bad/descriptors" ;;
	zero) head -c 200 /dev/zero > "$T/bad/descriptors" ;;
	nonccid)	# interface class 0x0b -> 0x03 (HID)
		od -An -v -tx1 "$c/descriptors" | tr -s ' \n' '  ' |
		    sed 's/09 04 00 00 \(..\) 0b/09 04 00 00 \1 03/' |
		    xxd -r -p > "$T/bad/descriptors"
		cmp -s "$c/descriptors" "$T/bad/descriptors" &&
			fail "could not make the non-CCID descriptors" ;;
	empty) : > "$T/bad/descriptors" ;;
	esac
	$USBPIV udev-info "$T/bad" > "$T/bad.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] && [ ! -s "$T/bad.out" ] ||
		{ cat "$T/bad.out"; fail "udev-info on $case descriptors: exit $rc"; }
done
$USBPIV udev-info "$T/does-not-exist" > "$T/bad.out" 2>&1
[ $? -eq 1 ] || fail "udev-info on a missing path"
ok "truncated, zeroed, non-CCID, empty and missing descriptors: exit 1, no output"

# ---- the hook runner ----
mkdir -p "$T/hooks"
cat > "$T/hooks/10-env" <<EOF
#!/bin/sh
env | grep -E '^(USBPIV_ACTION|ID_USBPIV)' | sort > "$T/hook.\$1"
EOF
cat > "$T/hooks/20-slow" <<EOF
#!/bin/sh
echo \$\$ > '$T/slow.pid'
sleep 60
echo finished > '$T/slow.done'
EOF
printf '#!/bin/sh\ntouch %s/nx.ran\n' "$T" > "$T/hooks/30-not-executable"
chmod +x "$T/hooks/10-env" "$T/hooks/20-slow"
start=$(date +%s)
USBPIV_HOOKS_DIR=$T/hooks USBPIV_HOOK_TIMEOUT=2 ID_USBPIV=1 \
    ID_USBPIV_READER=Test_Reader ID_USBPIV_SERIAL=42 udev/usbpiv-hook add ||
	fail "usbpiv-hook add"
[ $(( $(date +%s) - start )) -le 1 ] || fail "usbpiv-hook waited for its hooks"
i=0
while [ ! -s "$T/hook.add" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -qx 'ID_USBPIV_READER=Test_Reader' "$T/hook.add" &&
    grep -qx 'USBPIV_ACTION=add' "$T/hook.add" ||
	{ cat "$T/hook.add"; fail "hook environment"; }
[ ! -e "$T/nx.ran" ] || fail "a non-executable hook ran"
sleep 3
[ ! -e "$T/slow.done" ] || fail "the slow hook was not stopped"
if [ -s "$T/slow.pid" ] && kill -0 "$(cat "$T/slow.pid")" 2>/dev/null; then
	fail "the slow hook still runs after its time limit"
fi
udev/usbpiv-hook bogus 2>/dev/null && fail "usbpiv-hook accepted a bad action"
ok "usbpiv-hook: returns at once, hooks get the properties, a slow hook is killed at the time limit"

# ---- udevadm test of the rules against the emulated device ----
need udevadm
[ "$(id -u)" -eq 0 ] || skip "udevadm test part needs root (rules in /run/udev/rules.d)"
# udev runs IMPORT{program} with a clean environment, so the emulated
# /sys (umockdev's preload) is not seen by the helper: the test's BINDIR
# holds a wrapper that maps /sys to the testbed.
mkdir -p "$T/bin"
rules=/run/udev/rules.d/70-usbpiv-test-$$.rules
mkdir -p /run/udev/rules.d
sed "s|@GROUP@|plugdev|; s|@BINDIR@|$T/bin|; s|@HOOKDIR@|$PWD/udev|" \
    udev/70-usbpiv.rules.in > "$rules"
cleanup_add "rm -f '$rules'"
vt sh -c "printf '#!/bin/sh\nexec %s udev-info \"%s\${2#/}\"\n' '$USBPIV' \"\$UMOCKDEV_DIR/\" > '$T/bin/usbpiv' &&
    chmod +x '$T/bin/usbpiv' &&
    udevadm test --action=add $dev > '$T/udevadm.out' 2>&1" ||
	{ tail -5 "$T/udevadm.out"; skip "udevadm test cannot run here"; }
grep "$rules" "$T/udevadm.out" | grep -qi 'invalid' &&
	{ grep "$rules" "$T/udevadm.out"; fail "udev rejects lines of the rules"; }
for l in ID_USBPIV=1 ID_USBPIV_READER=Yubico_YubiKey_OTP_FIDO_CCID \
    ID_USBPIV_SERIAL=13371337 ID_USBPIV_SLOTS=1; do
	grep -qx "$l" "$T/udevadm.out" || { tail -40 "$T/udevadm.out"; fail "udevadm test: no $l"; }
done
grep -q "$(basename "$rules"):[0-9]* MODE 0660" "$T/udevadm.out" ||
	fail "udevadm test: MODE 0660 not applied"
if [ -d /run/systemd/system ]; then
	grep -q 'SYSTEMD_WANTS=.*usbpiv-token@1-1.service' "$T/udevadm.out" ||
		fail "udevadm test: no usbpiv-token@ unit wanted"
	ok "udevadm test: properties imported, mode 0660, usbpiv-token@1-1.service wanted"
else
	grep -q "run: '$PWD/udev/usbpiv-hook add'" "$T/udevadm.out" ||
		fail "udevadm test: the hook is not run (no systemd here)"
	ok "udevadm test: properties imported, mode 0660, usbpiv-hook run (no systemd running here)"
fi
echo "boot_udev: $n checks ok"
