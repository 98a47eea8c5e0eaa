#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/coverage.sh TARGET CORPUS_DIR... — line coverage a corpus reaches:
# builds the coverage variant of the fuzz targets (build/fuzz-cov: clang
# source-based coverage, no sanitizers), replays the corpus once, and prints
# llvm-cov's line percentages per directory: $DIRS, default piv/ and
# pkcs11/ (each file's too with -v as the first argument).
#   make fuzz-run ... ; fuzz/coverage.sh fuzz_p11_stack fuzz/corpus-fuzz_p11_stack
set -eu
verbose=0
[ "${1:-}" = -v ] && { verbose=1; shift; }
t=$1; shift
LLVM=${LLVM:-$( [ -x /usr/lib/llvm-14/bin/llvm-cov ] && echo /usr/lib/llvm-14/bin || dirname "$(command -v llvm-cov)")}
B=build/fuzz-cov
COV='-fprofile-instr-generate -fcoverage-mapping'
make --no-print-directory fuzz FUZZ_BUILD=$B \
    FUZZ_FLAGS="-fsanitize=fuzzer-no-link $COV" FUZZ_LINK="-fsanitize=fuzzer $COV" \
    >$B.log 2>&1 || { tail -20 $B.log; exit 1; }
rm -f $B/$t.*.profraw
LLVM_PROFILE_FILE="$B/$t.%p.profraw" $B/bin/$t -runs=0 -close_fd_mask=3 "$@" \
    >$B/$t.replay.log 2>&1 || { tail -20 $B/$t.replay.log; exit 1; }
$LLVM/llvm-profdata merge -sparse $B/$t.*.profraw -o $B/$t.profdata
for d in ${DIRS:-piv pkcs11}; do
	$LLVM/llvm-cov report $B/bin/$t -instr-profile=$B/$t.profdata $d/ \
	    >$B/$t.$d.txt 2>/dev/null || continue
	# TOTAL: regions missed cover functions missed executed lines missed cover
	awk -v t=$t -v d=$d '$1 == "TOTAL" && $8 > 0 {
	    printf "%s %s/: lines %d of %d (%s)\n", t, d, $8 - $9, $8, $10 }' \
	    $B/$t.$d.txt
	[ $verbose = 1 ] && awk 'NR > 2 && $1 != "TOTAL" && NF > 10 {
	    printf "    %-22s lines %5d missed %5d  %s\n", $1, $8, $9, $10 }' \
	    $B/$t.$d.txt || true
done
