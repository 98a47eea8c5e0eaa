#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual page: generated from tools/usbpiv.1.md at build time, installed
# by `make install` where man(1) finds it, rendered by groff without
# warnings, naming every command `usbpiv --help` lists; removed again by
# `make uninstall`.
set -u
. "${USBPIV_TOP:-.}/tests/lib/common.sh"
B=${USBPIV_BUILD:-build}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
need man groff make
need_built "$B/usbpiv" "$B/usbpiv.1"
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }

# -o all: install what the build made, never rebuild it here
make -s -o all -C "${USBPIV_TOP:-.}" BUILD="$B" DESTDIR="$T" PREFIX=/usr install \
	> "$T/install.log" 2>&1 || { cat "$T/install.log"; fail "make install"; }
page=$T/usr/share/man/man1/usbpiv.1
[ -f "$page" ] || fail "make install put no usbpiv.1 under MANDIR/man1"
[ "$(man -M "$T/usr/share/man" -w usbpiv)" = "$page" ] || fail "man -w does not find the page"
ok "make install puts usbpiv.1 where man finds it"

groff -man -ww -z "$page" 2> "$T/groff.err"
[ -s "$T/groff.err" ] && { cat "$T/groff.err"; fail "groff warns about the page"; }
LC_ALL=C MANWIDTH=80 man -l "$page" > "$T/page.txt" 2> "$T/man.err" || fail "man -l"
[ -s "$T/man.err" ] && { cat "$T/man.err"; fail "man -l warns"; }
grep -q '^NAME' "$T/page.txt" && grep -q 'usbpiv - manage PIV tokens' "$T/page.txt" ||
	fail "NAME section"
head -n1 "$T/page.txt" | grep -q '^USBPIV(1)' || fail "page header"
grep -q "usbpiv $("$B/usbpiv" --version | cut -d' ' -f2)" "$T/page.txt" ||
	fail "the page does not carry the version"
ok "man -l renders it without warnings (NAME, header, version)"

# every command of `usbpiv --help` is documented as a term of its own
"$B/usbpiv" --help | sed -n '/^Commands/,/^$/p' | awk 'NR > 1 && NF { print $1 }' > "$T/cmds"
[ "$(wc -l < "$T/cmds")" -ge 20 ] || fail "cannot read the command list"
while read -r c; do
	grep -q "^       $c\( \|$\)" "$T/page.txt" || fail "command $c missing from the manual"
done < "$T/cmds"
ok "every command of usbpiv --help has its entry in the manual"

make -s -o all -C "${USBPIV_TOP:-.}" BUILD="$B" DESTDIR="$T" PREFIX=/usr uninstall \
	> /dev/null 2>&1
[ -e "$page" ] && fail "make uninstall left the page"
ok "make uninstall removes it"
echo "install_man: $n passed, 0 failed"
