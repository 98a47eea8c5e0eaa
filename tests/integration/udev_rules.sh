#!/bin/sh
# SPDX-License-Identifier: MIT
# The udev rules are generated from the sorted vendor-class list, match it,
# and never make a device world-writable.
set -eu
list=udev/vendor-ccid.txt
rules=udev/70-usbpiv.rules.in
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

grep -v '^#' "$list" > "$tmp/entries"
LC_ALL=C sort -c -u "$tmp/entries" || { echo "FAIL: $list is not sorted/unique"; exit 1; }
n=$(wc -l < "$tmp/entries")

cp -r udev "$tmp/udev"
"$tmp/udev/gen-rules.sh"
cmp -s "$tmp/udev/70-usbpiv.rules.in" "$rules" ||
	{ echo "FAIL: $rules is stale; run udev/gen-rules.sh"; exit 1; }

m=$(grep -c '^ATTR{idVendor}' "$rules")
[ "$m" -eq "$n" ] || { echo "FAIL: $n listed, $m in rules"; exit 1; }
if grep -Eq 'MODE="0?[0-7][0-7][2367]"' "$rules"; then
	echo "FAIL: world-writable MODE in $rules"; exit 1
fi
grep -q 'ID_USB_INTERFACES}=="\*:0b????:\*"' "$rules" ||
	{ echo "FAIL: class 0x0B match missing"; exit 1; }
echo "udev rules: class 0x0B + $n vendor-class devices, mode 0660"
