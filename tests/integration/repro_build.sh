#!/bin/sh
# SPDX-License-Identifier: MIT
# Reproducible build: the tree built in two directories of different names
# and depths gives byte-identical CLI and module (sorted source lists,
# -ffile-prefix-map, deterministic ar).
set -u
. "${USBPIV_TOP:-.}/tests/lib/common.sh"
TOP=$(cd "${USBPIV_TOP:-.}" && pwd)
need make tar cmp
# one plain build pair is enough; the sanitizer passes rebuild nothing here
[ "${USBPIV_TEST_MODE:-plain}" = plain ] || skip "plain mode only"

copy() {
	mkdir -p "$1" && (cd "$TOP" && tar --exclude='./build*' --exclude=./.git \
		-cf - .) | tar -C "$1" -xf - || fail "copy the tree to $1"
}
copy "$T/a"
copy "$T/deeper/src-b"
for d in "$T/a" "$T/deeper/src-b"; do
	env -u CFLAGS -u LDFLAGS make -s -C "$d" BUILD=build \
		build/usbpiv build/usbpiv-pkcs11.so > "$d.log" 2>&1 ||
		{ cat "$d.log"; fail "build in $d"; }
done
n=0
for f in usbpiv usbpiv-pkcs11.so; do
	cmp "$T/a/build/$f" "$T/deeper/src-b/build/$f" ||
		fail "$f differs between the two builds"
	n=$((n + 1))
	echo "ok $n: $f identical ($(wc -c < "$T/a/build/$f") bytes) in both directories"
done
