#!/bin/sh
# SPDX-License-Identifier: MIT
# A PIV card in an ordinary TPDU reader, the government/enterprise case
# (issue 14): the SCR3310's dump (TPDU level, dwFeatures 0x000100BA:
# automatic PPS on SetParameters (0x80) but not by its own choice (0x40),
# no data-rate table, 5 V only).  The emulated card stays in the protocol
# its ATR offers first until SetParameters makes the reader switch it, so
# a host that skips SetParameters talks T=1 to a card still in T=0 and
# fails.  For a T=0-first ATR (3B 90 13 80 01 02: TA1 13, T=0 then T=1),
# a T=0-only ATR (3B 90 13 40 0A: TC2 = WI 10; extended APDUs cannot
# travel, command chaining does: an RSA-2048 key and signature by the
# CLI too) and the default T=1 ATR, each plain, with `zlp 2` + `statusfail 1`
# (two zero-length packets before an answer, a failed first
# GetSlotStatus: every process meets them) and with `t1-trailing` (bytes
# after a T=1 I-block): `usbpiv info`, a key generated through the
# PKCS#11 module, and a PKCS#11 ECDSA signature OpenSSL verifies.
# Then the same on ICCD tokens (issue 14 item 10), versions A and B.
. tests/lib/common.sh
need_vtoken
need_built "$MODULE" "$USBPIV"
need pkcs11-tool openssl
dumps=${USBPIV_READERS_DIR:-$PWD/../shared/ccid-readers}
[ -d "$dumps" ] || dumps=/work/shared/ccid-readers
DUMP=$dumps/SCR3310.txt
[ -f "$DUMP" ] || skip "no reader dump $DUMP"

# One case: usbpiv info, a PKCS#11 key generation and ECDSA signature
# OpenSSL verifies, and (rsa=1) an RSA-2048 key and signature by the CLI.
# Reader, ATR and injections come from VTOKEN_READER/ATR/INJECT.
check_case() {
	what=$1 rsa=$2
	rm -f "$T/state"*
	vt $USBPIV_WRAP "$USBPIV" info > "$T/info" 2>&1 ||
	    { cat "$T/info"; fail "$what: usbpiv info"; }
	grep -q '^Serial: *13371337' "$T/info" ||
	    { cat "$T/info"; fail "$what: usbpiv info: no serial"; }
	vt pkcs11-tool --module "$MODULE" --login --login-type so \
	    --so-pin "$MGM_DEFAULT" --keypairgen --key-type EC:prime256v1 \
	    --id 01 > "$T/keygen" 2>&1 ||
	    { cat "$T/keygen"; fail "$what: PKCS#11 key generation"; }
	vt $USBPIV_WRAP "$USBPIV" export-pubkey --slot 9a -o "$T/pub.pem" \
	    > /dev/null 2>&1 || fail "$what: export-pubkey"
	rm -f "$T/sig"
	vt pkcs11-tool --module "$MODULE" --login --pin 123456 --sign \
	    --id 01 -m ECDSA-SHA256 --signature-format openssl \
	    -i "$T/msg" -o "$T/sig" > "$T/sign" 2>&1 ||
	    { cat "$T/sign"; fail "$what: PKCS#11 signature"; }
	openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig" \
	    "$T/msg" > /dev/null || fail "$what: signature does not verify"
	if [ "$rsa" = 1 ]; then
		vt $USBPIV_WRAP "$USBPIV" keygen --slot 9c --alg rsa2048 \
		    -o "$T/rsa.pem" > /dev/null 2>&1 || fail "$what: keygen rsa2048"
		USBPIV_PIN=123456 vt $USBPIV_WRAP "$USBPIV" sign --slot 9c \
		    -i "$T/msg" -o "$T/rsa.sig" > /dev/null 2>&1 ||
		    fail "$what: RSA-2048 signature"
		openssl dgst -sha256 -verify "$T/rsa.pem" -signature \
		    "$T/rsa.sig" "$T/msg" > /dev/null ||
		    fail "$what: RSA signature does not verify"
	fi
	echo "ok: $what"
	n=$((n + 1))
}

export VTOKEN_READER=$DUMP
printf 'signed through an ordinary reader' > "$T/msg"
n=0
for atr in 3B9013800102 3B9013400A default; do
	for inj in none "zlp 2;statusfail 1" t1-trailing; do
		# a T=0 card has no T=1 blocks to add bytes to
		[ "$atr" = 3B9013400A ] && [ "$inj" = t1-trailing ] && continue
		if [ "$atr" = default ]; then unset VTOKEN_ATR; else export VTOKEN_ATR=$atr; fi
		if [ "$inj" = none ]; then unset VTOKEN_INJECT; else export VTOKEN_INJECT=$inj; fi
		rsa=0
		[ "$atr" = 3B9013400A ] && rsa=1
		check_case "SCR3310, ATR $atr, injections: $inj" $rsa
	done
done

# ICCD tokens over the control pipe (no bulk endpoints): version B (G&D
# StarSign CardToken 350, class 0x0B, APDU level; Oberthur CosmoCard,
# class 0xFF) with its polling answers (`wtx 3`: three "poll again"
# before the data), and version A (Schlumberger e-gate, class 0xFF;
# BIFIT iBank2key, class 0x0B: T=0 TPDUs, GET_ICC_STATUS, 61xx and GET
# RESPONSE) with a T=0 card, busy answers (`wtx 3`) and an RSA-2048 key.
for iccd in GnD_StarSignCardToken350:default Oberthur-CosmoCard:default \
    e-gate:3B9013400A BIFIT_iBank2key:3B9013400A; do
	dump=$dumps/${iccd%%:*}.txt
	atr=${iccd#*:}
	[ -f "$dump" ] || fail "no reader dump $dump"
	export VTOKEN_READER=$dump
	if [ "$atr" = default ]; then unset VTOKEN_ATR; else export VTOKEN_ATR=$atr; fi
	rsa=0
	[ "$atr" = 3B9013400A ] && rsa=1
	for inj in none "wtx 3"; do
		if [ "$inj" = none ]; then unset VTOKEN_INJECT; else export VTOKEN_INJECT=$inj; fi
		check_case "ICCD ${iccd%%:*}, ATR $atr, injections: $inj" $rsa
	done
done
echo "reader_classes: $n passed, 0 failed"
