#!/bin/sh
# SPDX-License-Identifier: MIT
# The order of the code, checked on the sources and on the built objects:
#  - the layers util < usb < ccid < piv < (pkcs11, tools): no file
#    includes the header of a layer above its own, and no object uses a
#    symbol defined in a layer above its own;
#  - pkcs11/'s internal order, as pkcs11/p11.h lists it ("The files, in
#    their order"): each object uses only symbols of the files on the
#    lines above its own.
set -u
top=${USBPIV_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${USBPIV_BUILD:-$top/build}
obj=$build/obj
[ -d "$obj/pkcs11" ] && [ -d "$obj/piv" ] || { echo "no objects in $obj (make first)"; exit 77; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }

rank() {
	case $1 in
	util) echo 0 ;; usb) echo 1 ;; ccid) echo 2 ;; piv) echo 3 ;;
	pkcs11|tools) echo 4 ;; *) echo 9 ;;
	esac
}

# ---- layers: includes ------------------------------------------------------
for d in util usb ccid piv pkcs11 tools; do
	r=$(rank $d)
	for f in "$top/$d"/*.c "$top/$d"/*.h; do
		[ -f "$f" ] || continue
		for inc in $(sed -n 's|^#[[:space:]]*include[[:space:]]*"\.\./\([a-z0-9]*\)/.*|\1|p' "$f"); do
			[ "$inc" = "$d" ] && continue
			ri=$(rank "$inc")
			[ "$ri" -lt "$r" ] || bad "$d/$(basename "$f") includes a header of $inc/"
		done
	done
done

# ---- layers: symbols -------------------------------------------------------
defs=$(mktemp) && trap 'rm -f "$defs"' EXIT
for d in util usb ccid piv pkcs11 tools; do
	for o in "$obj/$d"/*.o; do
		# objects of sources that are gone do not count
		[ -f "$top/$d/$(basename "$o" .o).c" ] || continue
		nm -g --defined-only "$o" | awk -v d="$d" -v f="$(basename "$o" .o)" \
		    'NF >= 3 { print $3, d, f }'
	done
done | sort -u > "$defs"

for d in util usb ccid piv pkcs11 tools; do
	r=$(rank $d)
	for o in "$obj/$d"/*.o; do
		[ -f "$top/$d/$(basename "$o" .o).c" ] || continue
		nm -u "$o" | awk '{ print $NF }' | sort -u | join - "$defs" |
		while read -r sym dd ff; do
			[ "$dd" = "$d" ] && continue
			[ "$(rank "$dd")" -lt "$r" ] ||
			    echo "FAIL: $d/$(basename "$o" .o) uses $sym of $dd/$ff"
		done
	done
done > "$defs.out"
if [ -s "$defs.out" ]; then cat "$defs.out"; fail=1; fi
rm -f "$defs.out"

# ---- pkcs11/: the files' order ------------------------------------------------
# One level a line of the list in p11.h, lowest first.
levels=$(awk '/The files, in their order/ { on = 1; next }
	on && /^ \*[[:space:]]*$/ { if (n) exit; next }
	on && /^ \*[[:space:]]+p11_/ {
		n++
		for (i = 2; i <= NF; i++) if ($i ~ /^p11_.*\.c$/) print n, $i
	}' "$top/pkcs11/p11.h")
[ -n "$levels" ] || bad "pkcs11/p11.h lists no order"
# every file of pkcs11/ has its place
for f in "$top"/pkcs11/*.c; do
	b=$(basename "$f")
	echo "$levels" | awk -v b="$b" '$2 == b { found = 1 } END { exit !found }' ||
	    bad "pkcs11/$b has no place in p11.h's order"
done
level_of() { echo "$levels" | awk -v b="$1.c" '$2 == b { print $1 }'; }

for o in "$obj"/pkcs11/*.o; do
	f=$(basename "$o" .o)
	[ -f "$top/pkcs11/$f.c" ] || continue
	lf=$(level_of "$f")
	[ -n "$lf" ] || continue
	nm -u "$o" | awk '{ print $NF }' | sort -u | join - "$defs" |
	while read -r sym dd ff; do
		[ "$dd" = pkcs11 ] && [ "$ff" != "$f" ] || continue
		lt=$(level_of "$ff")
		[ -n "$lt" ] && [ "$lt" -lt "$lf" ] ||
		    echo "FAIL: pkcs11/$f.c (level $lf) uses $sym of $ff.c (level ${lt:-?})"
	done
done > "$defs.p11"
if [ -s "$defs.p11" ]; then cat "$defs.p11"; fail=1; fi
rm -f "$defs.p11"

[ $fail -eq 0 ] || exit 1
echo "layering: layers and pkcs11/'s order hold ($(echo "$levels" | wc -l) pkcs11 files)"
