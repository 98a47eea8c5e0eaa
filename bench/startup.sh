#!/bin/sh
# SPDX-License-Identifier: MIT
# Wall time of `ssh-keygen -D` on the module (virtual token; includes the
# emulator's cost), and the instructions the module itself executes for it
# (callgrind: repeatable whatever else the machine does).
set -eu
build=${1:-build}
USBPIV_BUILD=$(cd "$build" && pwd); export USBPIV_BUILD
. tests/lib/common.sh
need_built "$MODULE" "$USBPIV_BUILD/vtoken-reader"
provision_key 01 EC:prime256v1 bench-p256 >/dev/null
runs=10
cat > "$T/loop.sh" <<L
i=0; s=\$(date +%s%N)
while [ \$i -lt $runs ]; do ssh-keygen -D "$MODULE" >/dev/null 2>&1; i=\$((i+1)); done
e=\$(date +%s%N); echo \$(( (e - s) / $runs / 1000 ))
L
us=$(vt sh "$T/loop.sh")
printf '%-40s %s us (mean of %s)\n' "ssh-keygen -D wall time" "$us" "$runs"
if command -v valgrind >/dev/null 2>&1; then
	vt valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" \
	    ssh-keygen -D "$MODULE" >/dev/null 2>&1 || true
	ir=$(grep -m1 '^summary:' "$T/cg.out" 2>/dev/null | awk '{print $2}')
	printf '%-40s %s\n' "ssh-keygen -D instructions (callgrind)" "${ir:-n/a}"
fi
