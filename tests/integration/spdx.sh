#!/bin/sh
# SPDX-License-Identifier: MIT
# Every tracked source file carries an SPDX-License-Identifier line
# (scripts/spdx.sh --check; scripts/spdx.sh --add adds the missing ones).
set -u
. tests/lib/common.sh
need git
git -C "${USBPIV_TOP:-.}" rev-parse --is-inside-work-tree > /dev/null 2>&1 ||
	skip "not a git checkout (the check lists tracked files)"
"${USBPIV_TOP:-.}/scripts/spdx.sh" --check || fail "source files without an SPDX-License-Identifier line"
echo "spdx: every tracked source file has its SPDX-License-Identifier line"
