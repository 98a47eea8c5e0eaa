#!/bin/sh
# SPDX-License-Identifier: MIT
# Footprint: what usbpiv installs against what the alternatives need
# (stripped sizes in bytes, libraries shared with usbpiv excluded).
set -eu
build=${1:-build}
st() { # stripped size of a file
	[ -e "$1" ] || { echo 0; return; }
	t=$(mktemp); strip -o "$t" "$1" 2>/dev/null || cp "$1" "$t"
	wc -c < "$t"; rm -f "$t"
}
lib() { # first match of a library name under the multiarch dir
	for d in /usr/lib/x86_64-linux-gnu /usr/lib /lib/x86_64-linux-gnu; do
		for f in "$d"/$1; do [ -e "$f" ] && { readlink -f "$f"; return; }; done
	done
	echo /nonexistent
}
m=$(st "$build/usbpiv-pkcs11.so"); c=$(st "$build/usbpiv")
printf '%-44s %10s\n' "usbpiv-pkcs11.so (whole driver stack)" "$m"
printf '%-44s %10s\n' "usbpiv (CLI, static stack)" "$c"
o=$(( $(st "$(lib 'opensc-pkcs11.so')") + $(st "$(lib 'libopensc.so.*')") ))
p=$(( $(st /usr/sbin/pcscd) + $(st "$(lib 'libpcsclite.so.1')") ))
d=$(st "$(lib 'pcsc/drivers/ifd-ccid.bundle/Contents/Linux/libccid.so')")
[ "$d" -gt 0 ] || d=$(st /usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Linux/libccid.so)
y=$(( $(st "$(lib 'libykcs11.so.*')") + $(st "$(lib 'libykpiv.so.*')") ))
printf '%-44s %10s\n' "OpenSC module + libopensc" "$o"
printf '%-44s %10s\n' "ykcs11 + libykpiv" "$y"
printf '%-44s %10s\n' "pcscd + libpcsclite + libccid (both need)" "$((p + d))"
[ "$m" -gt 0 ] && printf 'usbpiv module vs OpenSC stack: %s%%; vs ykcs11 stack: %s%%\n' \
    "$(( 100 * m / (o + p + d) ))" "$(( 100 * m / (y + p + d) ))"
