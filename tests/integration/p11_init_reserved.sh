#!/bin/sh
# SPDX-License-Identifier: MIT
# A p11-kit module file sets the module's names: p11-kit hands its
# "x-init-reserved:" value to C_Initialize as pReserved, and
# "compat=ykcs11" there does what USBPIV_COMPAT=ykcs11 does (the token as
# ykcs11 names it), which an environment variable cannot do for programs
# that load modules through p11-kit.  As root, p11-kit reads no user
# configuration: its module directories are then a tmpfs in the test's own
# mount namespace holding only our file; otherwise ~/.config/pkcs11 in a
# temporary HOME, with "user-config: only".
set -u
. tests/lib/common.sh
need p11-kit
need_built "$MODULE" "$USBPIV_BUILD/vtoken-reader"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }

# list RESERVED: p11-kit list-modules with a usbpiv.module carrying
# "x-init-reserved: RESERVED" (none when empty), on the virtual token
list() {
	mkdir -p "$T/cfg" "$T/home/.config/pkcs11/modules"
	{ echo "module: $MODULE"; [ -n "$1" ] && echo "x-init-reserved: $1"; } > "$T/cfg/usbpiv.module"
	cp "$T/cfg/usbpiv.module" "$T/home/.config/pkcs11/modules/"
	# (not root) our module only, not the system's (opensc waits for pcscd)
	echo 'user-config: only' > "$T/home/.config/pkcs11/pkcs11.conf"
	if [ "$(id -u)" -eq 0 ]; then
		command -v unshare > /dev/null || skip "needs unshare as root"
		unshare -m sh -c '
		    for d in /etc/pkcs11/modules /usr/share/p11-kit/modules; do
			[ -d "$d" ] || continue
			mount -t tmpfs -o mode=0755 tmpfs "$d" || exit 99
			cp "$1/usbpiv.module" "$d/"
		    done
		    shift; exec "$@"' sh "$T/cfg" \
		    tests/with-vtoken --state "$T/state" -- sh -c '
		    [ -n "$SAN_PRELOAD" ] && export LD_PRELOAD="$SAN_PRELOAD:$LD_PRELOAD" \
			ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0:verify_asan_link_order=0"
		    exec p11-kit list-modules'
	else
		HOME=$T/home vt p11-kit list-modules
	fi > "$T/list" 2> "$T/err"
	rc=$?
	[ $rc -eq 99 ] && skip "cannot mount a tmpfs on p11-kit's module directory"
	[ $rc -eq 0 ] || { cat "$T/err"; fail "p11-kit list-modules"; }
	# our module's block only
	awk '/^[^ ]/ { on = ($1 == "usbpiv:") } on' "$T/list" > "$T/ours"
	[ -s "$T/ours" ] || { cat "$T/list" "$T/err"; fail "p11-kit did not load usbpiv.module"; }
}

list ""
grep -q 'manufacturer: Yubico$' "$T/ours" && grep -q 'model: YubiKey 5.7.1$' "$T/ours" ||
	{ cat "$T/ours"; fail "without x-init-reserved: not usbpiv's own names"; }
ok "no x-init-reserved: usbpiv's names (Yubico, YubiKey 5.7.1)"

list "compat=ykcs11"
grep -q 'manufacturer: Yubico (www.yubico.com)$' "$T/ours" &&
	grep -q 'model: YubiKey YK5$' "$T/ours" && grep -q 'token: YubiKey PIV #' "$T/ours" ||
	{ cat "$T/ours"; fail "x-init-reserved: compat=ykcs11 did not give ykcs11's names"; }
ok "x-init-reserved: compat=ykcs11 gives ykcs11's names (Yubico (www.yubico.com), YubiKey YK5)"

list "foo=1, compat=ykcs11; bar"
grep -q 'model: YubiKey YK5$' "$T/ours" || { cat "$T/ours"; fail "unknown words beside compat="; }
USBPIV_COMPAT=usbpiv list "compat=ykcs11"
grep -q 'model: YubiKey 5.7.1$' "$T/ours" || { cat "$T/ours"; fail "USBPIV_COMPAT does not win"; }
ok "unknown words are ignored; USBPIV_COMPAT in the environment wins"
echo "p11_init_reserved: $n passed, 0 failed"
