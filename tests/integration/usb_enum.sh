#!/bin/sh
# SPDX-License-Identifier: MIT
# The usb layer against the emulated reader (tests/with-vtoken): usb_enumerate
# lists it with its strings and CCID interface, usb_open + usb_begin + a
# GetSlotStatus bulk write/read + usb_end work, for the default profile, a
# reader built from a real dump, a vendor-class (0xFF) reader and ICCD
# tokens (versions A and B: status over the control pipe instead); two
# processes share one reader through the lock, without a daemon; another
# program holding the interface gives BUSY; usb_open_fd on the node with
# no bus discovery (a container); a card pulled shows on the interrupt
# pipe; an unplug mid-transaction gives NO_DEVICE.
set -eu
top=${USBPIV_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
. tests/lib/common.sh
build=$USBPIV_BUILD
wv=$top/tests/with-vtoken

need_vtoken

tmp=$T

# The client: usbpiv's own usb layer and nothing else.
cc_test tests/integration/usb_enum.c "$tmp/usb_enum"

# USBPIV_WRAP (tests/run-tests.sh) carries tests/valgrind.supp
wrap=${USBPIV_WRAP:-}
# run under with-vtoken; the lock files go to its scratch directory
c="env USBPIV_LOCK_DIR=$tmp $wrap $tmp/usb_enum"

echo "== default profile"
$wv -- $c 1050:0407

echo "== two processes at once"
$wv -- sh -c "
	USB_ENUM_SHARED=1 $c 1050:0407 >$tmp/a 2>&1 & a=\$!
	USB_ENUM_SHARED=1 $c 1050:0407 >$tmp/b 2>&1 || { cat $tmp/b; exit 1; }
	wait \$a || { cat $tmp/a; exit 1; }"
tail -n 1 "$tmp/a" "$tmp/b"

echo "== interface held by another program"
$wv -- $c --busy

echo "== usb_open_fd on the device node, no bus discovery (a container)"
if [ -f "$build/vtoken-lseek.so" ]; then
	$wv --card test -- sh -c "
		node=\$(cd \"\$UMOCKDEV_DIR\" && ls dev/bus/usb/*/* | head -n 1)
		USBPIV_USB_NO_DISCOVERY=1 $c --fd \"/\$node\""
else
	# libusb_wrap_sys_device rewinds the fd with lseek(), which umockdev
	# does not pass to the emulator without its shim
	echo "usb_open_fd NOT CHECKED: no $build/vtoken-lseek.so"
fi

echo "== card pulled, then unplugged mid-transaction"
$wv -- sh -c "$c --unplug \"\$VTOKEN_CTL\""

dumps=$top/../shared/ccid-readers
if [ -d "$dumps" ]; then
	echo "== reader from a dump: ACR122U (072f:90cc)"
	$wv --reader "$dumps/ACR122U.txt" --card test -- $c 072f:90cc
	echo "== vendor-class reader: SCM SCL010 (class 0xFF + 0x21, bulk)"
	$wv --reader "$dumps/SCL010.txt" --card test -- $c 04e6:5291
	echo "== ICCD version B, no bulk pair: G&D StarSign CardToken 350"
	$wv --reader "$dumps/GnD_StarSignCardToken350.txt" --card test -- $c 1059:000c
	echo "== ICCD version B, vendor class: Oberthur CosmoCard (0xFF + 0x21)"
	$wv --reader "$dumps/Oberthur-CosmoCard.txt" --card test -- $c 1a74:6354
	echo "== ICCD version A, vendor class: Schlumberger e-gate"
	$wv --reader "$dumps/e-gate.txt" --card test -- $c 0973:0003
fi
echo "usb_enum: all passed"
