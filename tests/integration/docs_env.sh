#!/bin/sh
# SPDX-License-Identifier: MIT
# The documentation agrees with itself and with the install: the README's
# environment table and the manual's ENVIRONMENT section name the same
# variables, and every crypttab keyscript= path in README and manual is
# the one make install uses by default ($(HOOKDIR)).
set -u
. tests/lib/common.sh
need make awk
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }
R=README.md M=tools/usbpiv.1.md

# README: the first column of the table under "### Environment"
awk '/^### Environment/ { on = 1; next } on && /^##/ { on = 0 }
    on && /^\| `/ { split($0, c, "|"); print c[2] }' "$R" |
	grep -o '`[A-Z][A-Z0-9_]*`' | tr -d '`' | sort -u > "$T/readme"
# manual: every variable named in the ENVIRONMENT section
awk '/^## ENVIRONMENT/ { on = 1; next } on && /^## / { on = 0 } on' "$M" |
	grep -o '`[A-Z][A-Z0-9_]*[`=]' | tr -d '`=' | grep -v '^CK[A-Z]_' | sort -u > "$T/manual"
[ "$(wc -l < "$T/readme")" -ge 15 ] || fail "cannot read the README's environment table"
[ "$(wc -l < "$T/manual")" -ge 15 ] || fail "cannot read the manual's ENVIRONMENT"
if ! diff "$T/readme" "$T/manual" > "$T/diff"; then
	sed -n 's/^< /only in README: /p; s/^> /only in the manual: /p' "$T/diff"
	fail "README and manual name different environment variables"
fi
ok "README and manual name the same $(wc -l < "$T/readme") environment variables"

hookdir=$(make -s --no-print-directory -C "${USBPIV_TOP:-.}" \
    --eval 'usbpiv-print-%: ; @echo $($*)' usbpiv-print-HOOKDIR)
[ -n "$hookdir" ] || fail "cannot read HOOKDIR from the Makefile"
grep -ho 'keyscript=/[^ ,`]*' "$R" "$M" | sort -u > "$T/ks"
[ -s "$T/ks" ] || fail "no crypttab keyscript= example found"
while read -r k; do
	[ "$k" = "keyscript=$hookdir/usbpiv-keyscript" ] ||
		fail "crypttab example $k: make install puts it at $hookdir/usbpiv-keyscript"
done < "$T/ks"
ok "crypttab examples name $hookdir/usbpiv-keyscript, where make install puts it"
echo "docs_env: $n passed, 0 failed"
