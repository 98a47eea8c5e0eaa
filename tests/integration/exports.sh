#!/bin/sh
# SPDX-License-Identifier: MIT
# Every shared object the build makes exports exactly the symbols its
# linker version script lists by name: nothing internal leaks into the ABI,
# nothing listed goes missing.  A new shared object needs an entry below.
set -u
. "${USBPIV_TOP:-.}/tests/lib/common.sh"
TOP=${USBPIV_TOP:-.}
B=$USBPIV_BUILD
need nm awk
need_built "$B/usbpiv-pkcs11.so"

# shared object (under the build) -> its version script (under the tree)
maps="usbpiv-pkcs11.so:pkcs11/pkcs11.map vtoken-lseek.so:tests/vtoken/shim/vtoken_lseek.map"
n=0
for so in "$B"/*.so; do
	base=${so##*/}
	map=
	for m in $maps; do
		[ "${m%%:*}" = "$base" ] && map=$TOP/${m#*:}
	done
	[ -n "$map" ] || fail "$base: no export list (add it to tests/integration/exports.sh)"
	# names in the global: block, one per line, no wildcards allowed
	awk '/global:/ { g = 1; next } /local:/ { g = 0 } g' "$map" |
		tr -d ' \t;' | grep -v '^$' | grep -v '^/\*' | sort > "$T/want" ||
		fail "$map: cannot read"
	grep -q '[*?]' "$T/want" && fail "$map: wildcard in the export list"
	nm -D --defined-only "$so" | awk '{ print $3 }' | sed 's/@.*//' |
		grep -v '^$' | sort > "$T/got"
	diff -u "$T/want" "$T/got" > "$T/diff" ||
		{ cat "$T/diff"; fail "$base exports differ from $map"; }
	n=$((n + 1))
	echo "ok $n: $base exports the $(wc -l < "$T/want") symbols of $map"
done
[ "$n" -ge 1 ] || fail "no shared object checked"
