#!/bin/sh
# SPDX-License-Identifier: MIT
# The same card through pcscd + vpcd to OpenSC and ykcs11: runs
# tests/compare/pcscd-clients.sh, which checks that both modules list the
# key, ssh-keygen -D finds it and a signature verifies, and prints the APDU
# counts.  Exit 77 (skip) when packages are missing or pcscd cannot run.
top=${USBPIV_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
exec sh "$top/tests/compare/pcscd-clients.sh" "${USBPIV_BUILD:-$top/build}"
