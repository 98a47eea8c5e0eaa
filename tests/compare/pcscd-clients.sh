#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/compare/pcscd-clients.sh — serve the software card (build/vcard)
# through pcscd + vsmartcard's vpcd driver to OpenSC's and Yubico's PKCS#11
# modules, and count the APDUs each module sends for the same jobs.
#
# Usage: tests/compare/pcscd-clients.sh [BUILD]     (default: build)
#   VPCD_PORT   the vpcd port (default 35963)
#   KEEP=1      keep the temporary directory (logs, APDU trace)
#
# Starts its own pcscd in the foreground (root; /run/pcscd) with a
# reader.conf.d of its own holding only the vpcd reader, starts build/vcard
# with a fresh state file and VTOKEN_LOG, makes a key and certificate in
# 9a (yubico-piv-tool), then measures, per module:
#   pkcs11-tool -L,  ssh-keygen -D,  pkcs11-tool --login --sign (one)
# and checks the results (the key is listed, the signature verifies), then
# restarts pcscd and checks that vcard reconnected by itself.
# Everything it started is stopped on every exit path.  Exit 77 (skip)
# with the reason on the last line when a package is missing or pcscd
# cannot run here.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${USBPIV_BUILD:-$top/build}}
case $build in /*) ;; *) build=$top/$build ;; esac
port=${VPCD_PORT:-35963}
pin=123456
tmp=
pcscd_pid=
vcard_pid=
vcard_rc=0

say() { echo "pcscd-clients: $*" >&2; }
skip() { say "skipped"; echo "$*"; exit 77; }
die() { say "FAIL: $*"; exit 1; }

# Stops a child: TERM, up to 5 s, then KILL.  Sets stop_rc.
# shellcheck disable=SC2317  # called from the trap
stop_pid() {
	stop_rc=0
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; stop_rc=$?; return 0; }
	i=0
	while kill -0 "$1" 2>/dev/null && [ "$i" -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	stop_rc=$?
}

# shellcheck disable=SC2317  # called from the trap
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$vcard_pid" ]; then
		stop_pid "$vcard_pid"; vcard_rc=$stop_rc; vcard_pid=
	fi
	if [ -n "$pcscd_pid" ]; then
		stop_pid "$pcscd_pid"; pcscd_pid=
	fi
	if [ -n "$tmp" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			for f in pcscd.log vcard.log out; do
				[ -s "$tmp/$f" ] || continue
				say "---- $f (last lines)"
				tail -n 15 "$tmp/$f" >&2
			done
		fi
		if [ "${KEEP:-0}" = 1 ]; then say "kept $tmp"; else rm -rf "$tmp"; fi
	fi
	# the card program must have ended cleanly (valgrind: no errors)
	if [ "$rc" -eq 0 ] && [ "$vcard_rc" -ne 0 ]; then
		say "FAIL: vcard exited with $vcard_rc"
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- what we need ----------------------------------------------------------
for c in pcscd pkcs11-tool ssh-keygen openssl yubico-piv-tool opensc-tool; do
	command -v "$c" >/dev/null 2>&1 ||
	    skip "$c not installed (scripts/deps.sh test: pcscd opensc openssh-client yubico-piv-tool)"
done
find_lib() {
	for d in /usr/lib/x86_64-linux-gnu /usr/lib/"$(uname -m)"-linux-gnu \
	    /usr/lib64 /usr/lib /usr/local/lib; do
		for n in "$@"; do
			[ -f "$d/$n" ] && { echo "$d/$n"; return 0; }
		done
	done
	return 1
}
opensc=$(find_lib opensc-pkcs11.so pkcs11/opensc-pkcs11.so) ||
    skip "opensc-pkcs11.so not found (package opensc-pkcs11)"
ykcs11=$(find_lib libykcs11.so libykcs11.so.2) ||
    skip "libykcs11.so not found (package ykcs11)"
vpcd_drv=$(find_lib pcsc/drivers/serial/libifdvpcd.so) ||
    skip "libifdvpcd.so not found (package vsmartcard-vpcd)"
[ -x "$build/vcard" ] || skip "$build/vcard not built (make vtoken)"
[ "$(id -u)" -eq 0 ] || skip "pcscd needs root here (/run/pcscd)"
if [ -f /run/pcscd/pcscd.pid ] &&
    kill -0 "$(cat /run/pcscd/pcscd.pid 2>/dev/null)" 2>/dev/null; then
	skip "a pcscd is already running; not touching it"
fi
if pgrep -x pcscd >/dev/null 2>&1; then
	skip "a pcscd is already running; not touching it"
fi

if command -v ss >/dev/null 2>&1 &&
    [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]; then
	skip "TCP port $port is taken; set VPCD_PORT"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pcscd-clients.XXXXXX") || die "mktemp"
mkdir -p "$tmp/reader.conf.d" "$tmp/cache" /run/pcscd || skip "cannot create /run/pcscd"
# The friendly name makes ykcs11 and yubico-piv-tool, which look for
# YubiKey readers, take it; CHANNELID is the TCP port vpcd listens on.
cat >"$tmp/reader.conf.d/vpcd" <<EOF
FRIENDLYNAME "Yubico YubiKey vcard"
DEVICENAME   /dev/null:$port
LIBPATH      $vpcd_drv
CHANNELID    $port
EOF
reader="Yubico YubiKey vcard 00 00"
# OpenSC's file cache lives here: every run starts cold
export XDG_CACHE_HOME="$tmp/cache" HOME="$tmp"

# ---- pcscd ------------------------------------------------------------------
start_pcscd() {
	pcscd -f -c "$tmp/reader.conf.d" >>"$tmp/pcscd.log" 2>&1 &
	pcscd_pid=$!
	i=0
	while [ ! -S /run/pcscd/pcscd.comm ] && [ $i -lt 50 ]; do
		kill -0 "$pcscd_pid" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	kill -0 "$pcscd_pid" 2>/dev/null && [ -S /run/pcscd/pcscd.comm ]
}
if ! start_pcscd; then
	tail -n 5 "$tmp/pcscd.log" >&2
	wait "$pcscd_pid" 2>/dev/null; pcscd_pid=
	skip "pcscd cannot run here (see its log above)"
fi

# ---- the card -----------------------------------------------------------------
log="$tmp/apdu.log"
: >"$log"
VTOKEN_LOG="$log" ${USBPIV_WRAP:-} "$build/vcard" --vpcd "127.0.0.1:$port" \
    --state "$tmp/card.state" >"$tmp/vcard.log" 2>&1 &
vcard_pid=$!
# the card makes its attestation key at start: slow under valgrind
limit=100
[ -n "${USBPIV_WRAP:-}" ] && limit=900
wait_card() {
	i=0
	until opensc-tool -l 2>/dev/null | grep -q "Yes.*$reader"; do
		kill -0 "$vcard_pid" 2>/dev/null || die "vcard exited"
		i=$((i + 1))
		[ $i -lt $limit ] || die "the vpcd reader never showed the card"
		sleep 0.1
	done
}
wait_card
say "pcscd $pcscd_pid, vcard $vcard_pid on vpcd port $port"

apdus() { grep -c '^> ' "$log" 2>/dev/null || true; }

# Runs a command, stores how many APDUs it caused in $n; output in $tmp/out.
measure() {
	before=$(apdus)
	"$@" >"$tmp/out" 2>&1
	mrc=$?
	after=$(apdus)
	n=$((after - before))
	return $mrc
}

# ---- a key and certificate in 9a (not counted) --------------------------------
# The key is made on the card; its certificate is issued by a throwaway CA
# (yubico-piv-tool 2.2's selfsign-certificate fails with OpenSSL 3,
# Yubico/yubico-piv-tool#388), which is all the modules need to find it.
# shellcheck disable=SC2317  # called through measure
piv() { yubico-piv-tool -r "$reader" "$@"; }
measure piv -a generate -s 9a -A RSA2048 -o "$tmp/pub.pem" ||
    die "yubico-piv-tool generate"
openssl req -new -newkey rsa:2048 -nodes -keyout "$tmp/ca.key" \
    -subj "/CN=throwaway CA/" -x509 -days 2 -out "$tmp/ca.pem" \
    >"$tmp/out" 2>&1 || die "openssl: CA"
openssl x509 -new -subj "/CN=vcard pcscd comparison/" \
    -force_pubkey "$tmp/pub.pem" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -days 2 -out "$tmp/cert.pem" >"$tmp/out" 2>&1 || die "openssl: certificate"
measure piv -a import-certificate -s 9a -i "$tmp/cert.pem" ||
    die "yubico-piv-tool import-certificate"
ssh-keygen -i -m PKCS8 -f "$tmp/pub.pem" >"$tmp/pub.ssh" 2>/dev/null ||
    die "ssh-keygen: cannot convert the public key"
sshkey=$(cut -d' ' -f2 "$tmp/pub.ssh")
head -c 1000 /dev/urandom >"$tmp/data" 2>/dev/null ||
    dd if=/dev/urandom of="$tmp/data" bs=1000 count=1 2>/dev/null

# ---- the measurements ------------------------------------------------------------
# Each module: list slots, ssh-keygen -D, login + one RSA signature; one
# line "list ssh sign" per module in $tmp/counts.
run_module() {
	m=$1 mod=$2
	measure pkcs11-tool --module "$mod" -L || die "$m: pkcs11-tool -L"
	grep -q "token label" "$tmp/out" || die "$m: no token listed"
	n_list=$n

	measure ssh-keygen -D "$mod" || die "$m: ssh-keygen -D"
	grep -q "^ssh-rsa $sshkey" "$tmp/out" || die "$m: ssh-keygen -D misses the key"
	n_ssh=$n

	rm -f "$tmp/sig"
	measure pkcs11-tool --module "$mod" --login --pin "$pin" --sign \
	    --id 01 -m SHA256-RSA-PKCS -i "$tmp/data" -o "$tmp/sig" ||
	    die "$m: login + sign"
	openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/sig" \
	    "$tmp/data" >/dev/null 2>&1 || die "$m: the signature does not verify"
	echo "$n_list $n_ssh $n" >>"$tmp/counts"
}
: >"$tmp/counts"
run_module OpenSC "$opensc"
run_module ykcs11 "$ykcs11"
{ read -r o_list o_ssh o_sign; read -r y_list y_ssh y_sign; } <"$tmp/counts"

# pcscd restarts: vcard reconnects by itself, with its state
stop_pid "$pcscd_pid"; pcscd_pid=
start_pcscd || die "pcscd did not come back"
wait_card
measure ssh-keygen -D "$opensc" || die "after a pcscd restart: ssh-keygen -D"
grep -q "^ssh-rsa $sshkey" "$tmp/out" ||
    die "after a pcscd restart: the key is gone"
say "pcscd restarted: vcard reconnected, key still there"

echo
echo "APDUs sent to the card (pcscd + vpcd, counted by vcard's VTOKEN_LOG):"
printf '  %-34s %8s %8s\n' "" "OpenSC" "ykcs11"
printf '  %-34s %8s %8s\n' "pkcs11-tool -L" "$o_list" "$y_list"
printf '  %-34s %8s %8s\n' "ssh-keygen -D" "$o_ssh" "$y_ssh"
printf '  %-34s %8s %8s\n' "pkcs11-tool --login --sign (1 sig)" \
    "$o_sign" "$y_sign"
echo "modules: $opensc $ykcs11"
exit 0
