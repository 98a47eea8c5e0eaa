#!/bin/sh
# SPDX-License-Identifier: MIT
# USBPIV_DEVICE: a container handed one device node uses it without
# scanning the bus - through the CLI and through the PKCS#11 module.
# (fd:N cannot be shown here: umockdev's preload tracks emulated fds per
# process, so an inherited one is not recognised; a real usbfs fd is.)
set -eu
. tests/lib/common.sh
need_built "$USBPIV" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"
cat > "$T/run.sh" <<'RUN'
set -eu
node=$(ls /dev/bus/usb/*/* | head -n 1)
echo "node: $node"
USBPIV_DEVICE=$node $USBPIV_WRAP "$USBPIV" list > "$T/list"
grep -q 'serial 13371337' "$T/list" || { cat "$T/list"; exit 1; }
USBPIV_DEVICE=$node $USBPIV_WRAP "$USBPIV" info | grep -q 'Firmware: *5\.7\.1'
if [ -e "$MODULE" ]; then
	# (under check-asan a foreign program needs the sanitizer runtime first)
	# a factory card: F9's key is the only one (an object with
	# USBPIV_ATTEST=1)
	USBPIV_DEVICE=$node USBPIV_ATTEST=1 LD_PRELOAD="${SAN_PRELOAD:+$SAN_PRELOAD:}$LD_PRELOAD" \
	    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
	    ssh-keygen -D "$MODULE" > "$T/keys" 2>&1 ||
		{ cat "$T/keys"; exit 1; }
	grep -q 'Public key for PIV Attestation' "$T/keys"
fi
# a node that is not there, an fd that is not open: clear errors; the
# missing node is "not found" (exit 3) and named, for every command kind
for c in list info watch; do
	rc=0
	USBPIV_DEVICE=/dev/bus/usb/009/099 "$USBPIV" $c > "$T/err" 2>&1 || rc=$?
	[ $rc -eq 3 ] || { cat "$T/err"; echo "$c, missing node: exit $rc, want 3"; exit 1; }
	grep -q 'USBPIV_DEVICE=/dev/bus/usb/009/099: no such device node' "$T/err" ||
		{ cat "$T/err"; echo "$c: the missing node is not named"; exit 1; }
done
if USBPIV_DEVICE=fd:99 "$USBPIV" list > "$T/err2" 2>&1; then
	echo "a closed fd was accepted"; exit 1
fi
cat "$T/err" "$T/err2"
RUN
export T USBPIV MODULE USBPIV_WRAP
tests/with-vtoken -- sh "$T/run.sh" || fail "USBPIV_DEVICE mode"
echo "usb_device_env: CLI and module work on a single handed-in node"
