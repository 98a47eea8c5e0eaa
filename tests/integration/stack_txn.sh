#!/bin/sh
# SPDX-License-Identifier: MIT
# Two processes share one emulated token through usb/ccid/piv, each doing
# 200 transactions (piv_begin; VERIFY PIN; GENERAL AUTHENTICATE with a
# PIN-ALWAYS key; piv_end).  Both must finish without error, and the card's
# APDU log must show every VERIFY immediately followed by its GENERAL
# AUTHENTICATE: nothing of the other process inside a transaction.  Prints
# how long the 2 x N transactions took.
. tests/lib/common.sh
need_vtoken
N=${STACK_TXN_N:-200}

cc_test tests/integration/stack_txn.c "$T/stack_txn"
P="$USBPIV_WRAP $T/stack_txn"
export USBPIV_LOCK_DIR=$T VTOKEN_LOG=$T/apdu.log

vt $P setup || fail "setup"
: > "$VTOKEN_LOG"
start=$(date +%s.%N)
vt sh -c "
	$P run $N >$T/a 2>&1 & a=\$!
	$P run $N >$T/b 2>&1; rb=\$?
	wait \$a; ra=\$?
	echo \"exit codes \$ra \$rb\"
	[ \$ra -eq 0 ] && [ \$rb -eq 0 ]" || { cat "$T/a" "$T/b"; fail "a process failed"; }
end=$(date +%s.%N)
cat "$T/a" "$T/b"

# The log: "> HEX" commands, "< HEX" answers.  VERIFY of the PIN with data
# is 00 20 00 80 08 ...; GENERAL AUTHENTICATE with 9C is 00 87 11 9C.
awk -v n="$N" '
	/^> / { cmd = substr($2, 1, 8)
		if (want && cmd != "0087119C") { bad++; print "interleaved at line " NR ": " $0 }
		want = 0
		if (cmd == "00200080" && length($2) > 10) { verify++; want = 1 }
		if (cmd == "0087119C") sign++
	}
	/^< / && want && $2 !~ /9000$/ { bad++; print "VERIFY failed at line " NR }
	END {
		printf "log: %d VERIFY, %d GENERAL AUTHENTICATE, %d interleaved\n", verify, sign, bad
		exit (bad == 0 && verify == 2 * n && sign == 2 * n) ? 0 : 1
	}' "$VTOKEN_LOG" || fail "APDU log: transactions interleaved or missing"
echo "stack_txn: 2 x $N transactions in $(awk "BEGIN { printf \"%.2f\", $end - $start }") s"
echo "stack_txn: all passed"
