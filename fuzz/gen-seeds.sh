#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/gen-seeds.sh [BUILD] — the whole-stack targets' seeds, recorded from
# the software card: each target runs its script once in record mode
# (FUZZ_RECORD, see fuzz/fuzz_card.h) over a vcard holding RSA and EC keys,
# plain and gzip-compressed certificates, a CHUID and a PIN-protected
# management key, and writes the card's answers in its input format.
# Usage: make fuzz && fuzz/gen-seeds.sh   (replaces the seeds it makes)
set -eu
B=${1:-build/fuzz}/bin
S=fuzz/seeds
rec() {	# target seed-name config
	FUZZ_RECORD=$S/$1/$2 FUZZ_RECORD_CFG=$3 "$B/$1" >/dev/null 2>&1 ||
	    { echo "gen-seeds: $1 $2 failed" >&2; exit 1; }
}
mkdir -p $S/fuzz_p11_stack $S/fuzz_cli
rm -f $S/fuzz_p11_stack/rec-* $S/fuzz_cli/rec-*
# fuzz_p11_stack: one byte, compat (1 ykcs11, 2 opensc), 4 retired=all,
# 8 attest, 16 short APDUs, 32 relogin off, 64 SO session (key generation)
for c in 0 1 2 4 8 12 16 18 32 64 80; do
	rec fuzz_p11_stack rec-cfg$c $c
done
# fuzz_cli: 0xMMMMSSOO, command mask, slot index, object index
# commands without a slot, one at a time
for i in 0 1 2 8 9; do
	rec fuzz_cli rec-cmd$i $(printf '0x%04x0000' $((1 << i)))
done
# commands with --slot, over 9a (RSA), 9c (EC, compressed certificate),
# 82 (P-384 retired), 83 (no certificate)
for i in 3 4 5 6 10 11 12 13 14 15; do
	for s in 0 1 4 5; do
		rec fuzz_cli rec-cmd$i-slot$s $(printf '0x%04x%02x00' $((1 << i)) $s)
	done
done
# read-object, every object name
for o in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
	rec fuzz_cli rec-obj$o $(printf '0x00800%03x' $o)
done
# everything at once
for s in 0 1 2 3 4; do
	rec fuzz_cli rec-all-slot$s $(printf '0xffff%02x04' $s)
done
echo "gen-seeds: $(ls $S/fuzz_p11_stack | wc -l) + $(ls $S/fuzz_cli | wc -l) seeds"
