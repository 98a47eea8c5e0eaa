#!/bin/sh
# SPDX-License-Identifier: MIT
# The SPDX-License-Identifier line of every tracked source file (LICENSE is
# MIT).  Usage (from the top of a git checkout):
#   scripts/spdx.sh --check   lists the source files without one; exit 1 if any
#   scripts/spdx.sh --add     adds "SPDX-License-Identifier: MIT" where missing,
#                             as a comment of the file's kind, after a #! line
# Source files: C (.c .h), shell (.sh .bash), Python, awk, Makefile, linker
# version scripts (.map), systemd units, udev rules, tmpfiles and other
# .conf, debian/rules, and every tracked file that starts with #!.  Data
# (fuzz seeds, vendor lists), documentation and debian/'s control files
# are not source.
set -eu
mode=${1:-}
case $mode in --check | --add) ;; *) echo "usage: $0 --check|--add" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
git rev-parse --is-inside-work-tree > /dev/null 2>&1 || { echo "$0: not a git checkout" >&2; exit 2; }
TAG='SPDX-License-Identifier: MIT'

is_source() {
	case $1 in
	fuzz/seeds/* | LICENSE | *.md | *.txt | *.supp) return 1 ;;
	debian/control | debian/changelog | debian/copyright | debian/source/* | debian/*.install) return 1 ;;
	*.c | *.h | *.sh | *.bash | *.py | *.awk | *.map | Makefile | *.service | *.socket | \
	    *.rules | *.rules.in | *.conf | debian/rules) return 0 ;;
	esac
	[ -f "$1" ] && [ "$(head -c 2 "$1")" = '#!' ]
}

missing=0
git ls-files | while IFS= read -r f; do
	[ -f "$f" ] || continue
	is_source "$f" || continue
	head -n 5 "$f" | grep -q "SPDX-License-Identifier:" && continue
	if [ "$mode" = --check ]; then
		echo "no SPDX-License-Identifier: $f"
		echo x >> "${TMPDIR:-/tmp}/spdx.$$"
		continue
	fi
	case $f in
	*.c | *.h | *.map) line="/* $TAG */" ;;
	*) line="# $TAG" ;;
	esac
	if [ "$(head -c 2 "$f")" = '#!' ]; then
		{ head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } > "$f.spdx"
	else
		{ echo "$line"; cat "$f"; } > "$f.spdx"
	fi
	chmod --reference="$f" "$f.spdx"
	mv "$f.spdx" "$f"
	echo "added: $f"
done
if [ -f "${TMPDIR:-/tmp}/spdx.$$" ]; then
	n=$(wc -l < "${TMPDIR:-/tmp}/spdx.$$")
	rm -f "${TMPDIR:-/tmp}/spdx.$$"
	echo "$n source files without an SPDX-License-Identifier line (scripts/spdx.sh --add)"
	exit 1
fi
exit $missing
