#!/bin/sh
# SPDX-License-Identifier: MIT
# The virtual token stands alone (tests/vtoken/README.md, "Layout"): no
# file under tests/vtoken includes anything outside that directory (nothing
# of usbpiv's util/, usb/, ccid/, piv/), its objects neither define nor use
# a util_/usb_/ccid_/piv_/rbuf_/p11_ symbol, the programs it builds link
# none, and its C files compile from a copy of the directory alone.
set -eu
top=${USBPIV_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top"
. tests/lib/common.sh
build=$USBPIV_BUILD
need_built "$build/libvtoken.a" "$build/vcard"
need nm

vt=tests/vtoken
bad=0

# 1. includes: quoted ones name files of tests/vtoken (or its shim/) only
out=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' \
    $vt/*.c $vt/*.h $vt/shim/*.c | grep '\.\./' || true)
if [ -n "$out" ]; then
	echo "includes reaching outside tests/vtoken:" >&2
	echo "$out" >&2
	bad=1
fi

# 2. symbols of the objects, defined or used
syms='(^|[[:space:]])_?(util_|usb_|ccid_|piv_|rbuf_|p11_|UTIL_|USB_|CCID_)[A-Za-z0-9_]*'
objs=$(ls "$build"/obj/tests/vtoken/*.o)
out=$(for o in $objs; do
	nm "$o" | awk '{ print $NF }' | grep -E "$syms" | sed "s|^|$o: |"
done || true)
if [ -n "$out" ]; then
	echo "product symbols in the vtoken objects:" >&2
	echo "$out" >&2
	bad=1
fi

# 3. the programs and the library: nothing of libusbpiv.a linked in
for f in libvtoken.a vcard vtoken-reader vtoken-probe; do
	[ -e "$build/$f" ] || continue
	out=$(nm "$build/$f" 2>/dev/null | awk '{ print $NF }' |
	    grep -E "$syms" || true)
	if [ -n "$out" ]; then
		echo "$f holds product symbols:" >&2
		echo "$out" | head -n 20 >&2
		bad=1
	fi
done

# 4. a copy of tests/vtoken alone compiles (the GLib front only when its
# headers are there)
mkdir "$T/vtoken"
cp $vt/*.c $vt/*.h "$T/vtoken/"
cc=${CC:-cc}
glib=$(pkg-config --cflags umockdev-1.0 glib-2.0 2>/dev/null || echo none)
for c in "$T"/vtoken/*.c; do
	case $(basename "$c") in
	reader_main.c | reader_usbfs.c)
		[ "$glib" != none ] || continue
		# shellcheck disable=SC2086
		flags="$glib" ;;
	probe_main.c)
		flags=$(pkg-config --cflags libusb-1.0) ;;
	*) flags= ;;
	esac
	# shellcheck disable=SC2086
	if ! $cc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror $flags \
	    -fsyntax-only "$c" 2>"$T/cc.log"; then
		echo "$(basename "$c") does not compile alone:" >&2
		head -n 20 "$T/cc.log" >&2
		bad=1
	fi
done

[ $bad -eq 0 ] || fail "the virtual token depends on the product"
echo "vtoken standalone: includes, $(echo $objs | wc -w) objects, programs" \
    "and a lone copy checked"
