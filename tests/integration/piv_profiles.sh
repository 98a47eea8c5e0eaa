#!/bin/sh
# SPDX-License-Identifier: MIT
# The PIV command set through the reader profiles that force the other
# paths: `t1` (TPDU level, T=1 with IFSC 32: every APDU a chain of
# I-blocks) and `short-apdu` (no extended APDUs: command chaining with CLA
# 0x10 and 61xx GET RESPONSE).  The CLI scripts exercise nearly every PIV
# command (key generation for every algorithm, import, certificates incl.
# compressed, attestation, sign, decipher, ECDH, PIN, PUK, retries,
# management key, reset), so they run again on each profile.
set -eu
[ -x "${USBPIV_BUILD:-build}/vtoken-reader" ] || { echo "needs vtoken-reader"; exit 77; }
for reader in t1 short-apdu; do
	for t in cli_keys cli_pin; do
		out=$(VTOKEN_READER=$reader sh "tests/integration/$t.sh" 2>&1) || {
			echo "$out" | tail -20
			echo "FAIL: $t on the $reader profile"; exit 1; }
		echo "$reader: $(echo "$out" | tail -n 1)"
	done
done
