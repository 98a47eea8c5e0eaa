#!/bin/sh
# SPDX-License-Identifier: MIT
# The emulated reader, seen by a REAL libusb (build/vtoken-probe makes raw
# libusb calls, no usbpiv code): enumeration, strings, claim, IccPowerOn,
# SELECT PIV in every reader profile (T=1 blocks on the TPDU one), long
# APDUs through each level's chaining, error answers, two and three
# processes at once, card removal and insertion on the interrupt pipe,
# 1000 time extensions, every malformed-answer kind, unplug.
# Run from the repo top with USBPIV_BUILD set (tests/run-tests.sh does).
set -u
build=${USBPIV_BUILD:-build}
probe=$build/vtoken-probe
wv=tests/with-vtoken

if [ ! -x "$build/vtoken-reader" ] || [ ! -x "$probe" ]; then
	echo "vtoken-reader / vtoken-probe not built (make vtoken)"
	exit 77
fi
if ! ldconfig -p 2>/dev/null | grep -q libumockdev-preload; then
	echo "libumockdev-preload.so not installed (scripts/deps.sh test)"
	exit 77
fi

fails=0
n=0
check() {
	name=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "$out" | sed 's/^/    /'
		fails=$((fails + 1))
	fi
}

# Every profile: identity, strings, claim, ATR, SELECT PIV, long APDUs.
check "yubikey5 (builtin card)" $wv -- $probe enum expect:1050:0407 \
	strings power select errors
check "yubikey5 long APDUs (test card)" $wv --card test -- $probe \
	expect:1050:0407 power select echo:3000 fill:3000 echo:9000 \
	fill:20000
check "short-apdu" $wv --reader short-apdu --card test -- $probe \
	expect:1209:0001 strings power select echo:255 fill:256 extrefused \
	errors
check "short-apdu (builtin card)" $wv --reader short-apdu -- $probe \
	power select
check "extended-apdu wLevelParameter chaining" $wv --reader extended-apdu \
	--card test -- $probe expect:1209:0002 power select echo:262 \
	fill:262 echo:1000 fill:1000 echo:65535 fill:65535 errors
check "extended-apdu (builtin card)" $wv --reader extended-apdu -- \
	$probe power select
check "t1 card-side T=1 with chaining, S(IFS), S(WTX)" $wv --reader t1 \
	--card test -- $probe expect:1209:0003 power select echo:31 \
	echo:32 echo:33 fill:300 echo:5000 fill:65535 swtx select errors
check "t1 (builtin card)" $wv --reader t1 -- $probe power select swtx
check "two-slot, independent cards" $wv --reader two-slot -- $probe \
	expect:1209:0004 slot:0 power select slot:1 power select \
	"ctl:remove 1" notify:5009 slot:0 select "ctl:insert 1" notify:500D

# --state: the builtin card keeps its PIN retry counter across runs.
st=$(mktemp -d)
check "builtin card state persists (--state)" sh -c "
	$wv --state $st/card -- $probe power select \
	    apdu:002000800831313131313131FF=63C2 &&
	$wv --state $st/card -- $probe power select apdu:00200080=63C2"
rm -rf "$st"

# A vpcd card: build/vcard connects to the reader's vpcd port.
if [ -x "$build/vcard" ]; then
	port=$((20000 + ($$ * 7) % 20000))
	"$build/vcard" --vpcd "127.0.0.1:$port" >/dev/null 2>&1 &
	vc=$!
	check "vpcd card (build/vcard on port $port)" $wv --card vpcd:$port \
		-- $probe power select errors
	kill "$vc" 2>/dev/null
	wait "$vc" 2>/dev/null
fi

# Two and three processes at once, each claiming in turn.
check "three processes at once" $wv -- sh -c "
	$probe loop:40 & a=\$!
	$probe loop:40 & b=\$!
	$probe loop:40 & c=\$!
	wait \$a && wait \$b && wait \$c"

# A program handed the node's fd: libusb_wrap_sys_device (lseek shim).
if [ -f "$build/vtoken-lseek.so" ]; then
	check "libusb_wrap_sys_device on the node" $wv --card test -- \
		$probe wrap power select echo:3000 strings
fi

# The claim is exclusive, and a killed holder loses it.
check "claim exclusive, released when the holder dies" $wv -- sh -c "
	$probe hold:60000 >\"\$VTOKEN_DIR/hold\" & h=\$!
	i=0
	until grep -q claimed \"\$VTOKEN_DIR/hold\"; do
		i=\$((i + 1)); [ \$i -lt 200 ] || exit 1; sleep 0.05
	done
	$probe busy || exit 1
	kill -9 \$h; wait \$h
	$probe power select"

# Card removal and insertion on the interrupt pipe; cancelled reads.
check "remove/insert -> NotifySlotChange" $wv -- $probe power \
	ctl:remove notify:5002 ctl:insert notify:5003 power select
check "timed-out reads are cancelled, nothing lost" $wv -- $probe \
	timeouts ctl:remove notify:5002 ctl:insert notify:5003 power select

# 1000 time extensions before one answer; forever-mode.
check "1000 time extensions" $wv -- $probe power wtx:1000 select
check "wtx forever" $wv --inject "wtx 3 forever" -- $probe power select \
	select

# Every malformed-answer kind is delivered as asked, then whole again.
check "malformed answers" $wv -- $probe power malform:length \
	malform:length-short malform:seq malform:slot malform:truncated \
	malform:type select

# Unplug: at once, and at a given bulk command.
check "unplug -> LIBUSB_ERROR_NO_DEVICE" $wv -- $probe power ctl:unplug \
	nodev absent
check "unplug-at" $wv -- $probe power "ctl:unplug-at 1" nodev
check "replug: old handle dead, new one works" $wv -- $probe power \
	ctl:unplug nodev ctl:replug nodev reopen power select

# Reader dumps: the dump's identity and exchange level.
dumps=/work/shared/ccid-readers
[ -d "${USBPIV_READER_DUMPS:-}" ] && dumps=$USBPIV_READER_DUMPS
if [ -d "$dumps" ]; then
	# YubiKey 4; extended APDU level, max message 522; TPDU level;
	# short APDU level; two slots, 65554-byte messages; vendor class.
	for f in Yubico_Yubikey_4_CCID.txt ACS_ACR1252_Reader.txt \
	    ACR38U-CCID.txt ACR122U_PICC.txt AF_Care_Two_AFC2.txt \
	    CherrySmartTerminalST2XXX.txt; do
		[ -f "$dumps/$f" ] || continue
		check "dump $f" $wv --card test --reader "$dumps/$f" -- \
			$probe enum power select echo:200
	done
fi

echo "$n checks, $fails failed"
[ "$fails" -eq 0 ]
