#!/bin/sh
# SPDX-License-Identifier: MIT
# The virtual token stands alone (tests/vtoken/README.md, "Layout"): no
# file under tests/vtoken includes anything outside that directory (nothing
# of usbpiv's util/, usb/, ccid/, piv/), its objects neither define nor use
# a util_/usb_/ccid_/piv_/rbuf_/p11_ symbol, the programs it builds link
# none, and a copy of the directory alone builds (vtoken.mk) and runs.
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

# 4. a copy of tests/vtoken alone builds with its own vtoken.mk (the
# reader only when GLib and umockdev are there), and the probe it built
# drives the reader it built
cp -r $vt "$T/vtoken"
if ! make -s -C "$T/vtoken" -f vtoken.mk O=out CFLAGS='-O0' \
    ${CC:+CC="$CC"} >"$T/make.log" 2>&1; then
	echo "a lone copy of tests/vtoken does not build:" >&2
	tail -n 30 "$T/make.log" >&2
	bad=1
elif [ -x "$T/vtoken/out/vtoken-reader" ] &&
    ldconfig -p 2>/dev/null | grep -q libumockdev-preload; then
	if ! VTOKEN_BUILD=$T/vtoken/out tests/with-vtoken --card test -- \
	    "$T/vtoken/out/vtoken-probe" enum power select echo:300 \
	    ctl:remove notify:5002 >"$T/probe.log" 2>&1; then
		echo "the lone copy's reader and probe:" >&2
		cat "$T/probe.log" >&2
		bad=1
	fi
fi

[ $bad -eq 0 ] || fail "the virtual token depends on the product"
echo "vtoken standalone: includes, $(echo $objs | wc -w) objects, programs" \
    "and a lone copy (built, run) checked"
