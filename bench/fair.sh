#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/fair.sh — the fair benchmark (issue 9 §6): usbpiv's module against
# OpenSC's and Yubico's, every stack on the same emulated USB reader.
#
#   bench/fair.sh [BUILD] [--rounds N] [--jobs LIST] [--peers LIST]
#                 [--new-state] [--keep]
#
#   BUILD      the build directory (default build; `make bench` passes it)
#   --rounds   paired rounds per job (default 10, or $FAIR_ROUNDS)
#   --jobs     comma-separated, from: keys keys24 list sign1 sign1-24
#              sign100 transport (default: all)
#   --peers    comma-separated, from: opensc ykcs11 (default: both)
#   --new-state  make the card states again (they are kept in BUILD/bench)
#   --keep     keep the scratch directory (pcscd log, APDU logs, job output)
#
# The peers run as users run them: OpenSC's opensc-pkcs11.so and ykcs11's
# libykcs11.so through pcscd + libccid, where pcscd (`pcscd -f -c DIR`, DIR
# holding a reader.conf entry for libccid with DEVICENAME usb:1050/0407)
# runs inside tests/with-vtoken, so libccid's libusb drives the emulated
# reader, and inside `unshare -m` with a tmpfs on /run/pcscd, so it meets
# no other pcscd; their clients enter that mount namespace (nsenter) to
# reach its socket.  pcscd holds the reader's interface, so usbpiv's module
# runs on a second emulated reader at the same time, holding a copy of the
# same card state.  Both readers start from fresh copies of the state.
#
# Jobs (on a card with P-256 in 9A and RSA-2048 in 9C, each with a
# certificate; "24 keys": all of 9A 9C 9D 9E 82..95 with a key and a
# certificate, and the Key History object):
#   keys      ssh-keygen -D MODULE
#   keys24    the same on the 24-key card
#   list      pkcs11-tool --module MODULE -L
#   sign1     pkcs11-tool --login --pin 123456 --sign --id 01 -m ECDSA
#             (a 32-byte hash, the P-256 key)
#   sign1-24  the same on the 24-key card
#   sign100   build/bench/p11-sign-loop: one session, login, 100 ECDSA
#             signatures
#   transport no PKCS#11: 32 SELECTs of the PIV application (each answered
#             61xx, so 64 exchanges) in one process, `usbpiv apdu` against
#             `opensc-tool -s` through pcscd (row "pcscd", paired with the
#             first peer only): what one exchange costs each path on the
#             emulator, the yardstick for the rows above
# Each round runs every job once per peer as a pair, usbpiv then the peer
# (the order flips every round); one round before the first is a warm-up
# that is checked and not counted.  Per job and stack it prints medians
# and [min-max] of: wall time; client CPU (user+sys of the client and the
# children it waited for); daemon CPU (pcscd + the emulated reader for
# the peers, the emulated reader alone for usbpiv, during the job); their
# sum (usbpiv's client pays the emulation's ioctl marshalling that pcscd
# pays for the peers, so the sum is the like-for-like figure); APDUs
# (the card's VTOKEN_LOG); USB transfers completed (the reader's counters:
# control/bulk/interrupt); and the median of the pairs' usbpiv/peer wall
# time ratios.  Every run is also written to BUILD/bench/fair-runs.txt.
#
# Pitfalls.  pcscd 1.9.9 needs no extra flag here (no polkit in Debian's
# build; it warns that a USB driver should not be in reader.conf, and
# works).  The emulator holds an empty usbfs reap for up to VTOKEN_PARK_MS
# (5 ms; later on a loaded machine) and umockdev's preload library holds a
# per-fd lock meanwhile, so pcscd, whose libccid polls the interrupt pipe
# from a second thread, can wait that long per transfer, which a real
# kernel would not make it do; the "transport" row shows what one exchange
# costs each path, and VTOKEN_PARK_MS=1 bench/fair.sh shows how much the
# figures depend on it.  Wall times on a busy machine mean little: look at
# the load printed in the header.
#
# Needs root (unshare, mount), pcscd, libccid, opensc-pkcs11, ykcs11,
# pkcs11-tool (opensc), ssh-keygen, openssl, nsenter, and
# `make all vtoken bench-tools`.  Exit 77 with the reason when it cannot
# run here.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
self=$top/bench/fair.sh

# ---- the two serving ends (run inside tests/with-vtoken) --------------------
# fair.sh --serve-peer DIR: pcscd on this emulated reader; writes DIR/env and
# waits for TERM.  Run inside `unshare -m`, after a tmpfs is on /run/pcscd.
if [ "${1:-}" = --serve-peer ]; then
	d=$2 pp='' sp=''
	trap 'kill -TERM $pp $sp 2>/dev/null; wait; exit 0' TERM INT HUP
	pcscd -f -c "$d/conf" >"$d/pcscd.log" 2>&1 &
	pp=$!
	i=0
	while [ ! -S /run/pcscd/pcscd.comm ]; do
		kill -0 "$pp" 2>/dev/null || { echo "pcscd died" >&2; exit 1; }
		[ $i -lt 100 ] || { echo "no pcscd socket in 10 s" >&2; exit 1; }
		sleep 0.1; i=$((i + 1))
	done
	printf 'P_SERVE=%q P_PCSCD=%q P_RPID=%q P_CTL=%q\n' "$$" "$pp" \
	    "$VTOKEN_READER_PID" "$VTOKEN_CTL" >"$d/env.tmp"
	mv "$d/env.tmp" "$d/env"
	sleep infinity &
	sp=$!
	wait
	exit 0
fi
# fair.sh --serve-usbpiv DIR: the environment a usbpiv client needs to see
# this emulated reader, into DIR/env; waits for TERM.
if [ "${1:-}" = --serve-usbpiv ]; then
	d=$2 sp=''
	trap 'kill -TERM $sp 2>/dev/null; wait; exit 0' TERM INT HUP
	printf 'U_SERVE=%q U_RPID=%q U_CTL=%q\nU_ENV=(UMOCKDEV_DIR=%q LD_PRELOAD=%q USBPIV_LOCK_DIR=%q)\n' \
	    "$$" "$VTOKEN_READER_PID" "$VTOKEN_CTL" "$UMOCKDEV_DIR" \
	    "$LD_PRELOAD" "$USBPIV_LOCK_DIR" >"$d/env.tmp"
	mv "$d/env.tmp" "$d/env"
	sleep infinity &
	sp=$!
	wait
	exit 0
fi

# ---- options ----------------------------------------------------------------
build=$top/build
rounds=${FAIR_ROUNDS:-10}
jobs_opt=keys,keys24,list,sign1,sign1-24,sign100,transport
peers_opt=opensc,ykcs11
new_state=0
keep=0
usage() { sed -n '5,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) [ $# -ge 2 ] || usage; rounds=$2; shift 2 ;;
	--jobs) [ $# -ge 2 ] || usage; jobs_opt=$2; shift 2 ;;
	--peers) [ $# -ge 2 ] || usage; peers_opt=$2; shift 2 ;;
	--new-state) new_state=1; shift ;;
	--keep) keep=1; shift ;;
	-h | --help) sed -n '2,68p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fair: unknown option $1" >&2; usage ;;
	*) build=$1; shift ;;
	esac
done
case $rounds in '' | *[!0-9]* | 0) echo "fair: --rounds wants a number > 0" >&2; exit 2 ;; esac
case $build in /*) ;; *) build=$PWD/$build ;; esac
IFS=, read -r -a JOBS <<<"$jobs_opt"
IFS=, read -r -a PEERS <<<"$peers_opt"
for j in "${JOBS[@]}"; do
	case $j in keys | keys24 | list | sign1 | sign1-24 | sign100 | transport) ;;
	*) echo "fair: unknown job $j" >&2; usage ;; esac
done

skip() { echo "fair: skipped: $*" >&2; exit 77; }
die() { echo "fair: FAIL: $*" >&2; exit 1; }

# ---- what it needs ------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "needs root (unshare -m, a tmpfs on /run/pcscd)"
for c in pcscd pkcs11-tool opensc-tool ssh-keygen openssl unshare nsenter; do
	command -v "$c" >/dev/null 2>&1 || skip "$c not installed (scripts/deps.sh test)"
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
ccid=$(dpkg -L libccid 2>/dev/null | grep -m1 '/libccid\.so$') ||
    ccid=$(find_lib pcsc/drivers/ifd-ccid.bundle/Contents/Linux/libccid.so) ||
    skip "libccid.so not found (package libccid)"
declare -A MOD LABEL
MOD[usbpiv]=$build/usbpiv-pkcs11.so
MOD[opensc]=$(find_lib opensc-pkcs11.so pkcs11/opensc-pkcs11.so) ||
    skip "opensc-pkcs11.so not found (package opensc-pkcs11)"
MOD[ykcs11]=$(find_lib libykcs11.so libykcs11.so.2) ||
    skip "libykcs11.so not found (package ykcs11)"
LABEL[usbpiv]=usbpiv LABEL[opensc]=OpenSC LABEL[ykcs11]=ykcs11 LABEL[pcscd]=pcscd
MOD[pcscd]=none
for p in "${PEERS[@]}"; do
	case $p in opensc | ykcs11) ;; *) echo "fair: unknown peer $p" >&2; usage ;; esac
done
FR=$build/bench/fair-run
SIGN_LOOP=$build/bench/p11-sign-loop
for f in "${MOD[usbpiv]}" "$build/usbpiv" "$build/vtoken-reader" "$FR" "$SIGN_LOOP"; do
	[ -x "$f" ] || [ -f "$f" ] ||
	    skip "$f not built (make all vtoken bench-tools)"
done
ldconfig -p 2>/dev/null | grep -q libumockdev-preload ||
    skip "libumockdev-preload.so not installed (scripts/deps.sh test)"
export USBPIV_BUILD=$build

W=$(mktemp -d "${TMPDIR:-/tmp}/usbpiv-fair.XXXXXX") || die mktemp
BG=()	# the with-vtoken instances (background jobs of this shell)
P_SERVE='' U_SERVE=''
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	stop_envs
	if [ "$keep" = 1 ]; then echo "fair: kept $W" >&2; else rm -rf "$W"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- the card states ----------------------------------------------------------
# make_state FILE SLOT...: a fresh card with a key and a certificate (from a
# throwaway CA) in every SLOT: RSA-2048 in 9C, P-256 elsewhere.  usbpiv's
# keygen and import-cert keep the Key History object (retired slots).
make_state() {
	local st=$1
	shift
	rm -f "$st" "$st.tmp"
	cat >"$W/mkstate.sh" <<'EOF'
set -e
st=$1; shift
for s in "$@"; do
	case $s in 9c) alg=rsa2048 ;; *) alg=p256 ;; esac
	"$USBPIV_BUILD/usbpiv" keygen --slot "$s" --alg "$alg" -o "$W/pub.pem"
	openssl x509 -new -subj "/CN=fair $s" -key "$W/ca.key" \
	    -force_pubkey "$W/pub.pem" -days 3650 -outform DER -out "$W/cert.der"
	"$USBPIV_BUILD/usbpiv" import-cert --slot "$s" -i "$W/cert.der"
done
EOF
	[ -f "$W/ca.key" ] || openssl genpkey -algorithm EC \
	    -pkeyopt ec_paramgen_curve:P-256 -out "$W/ca.key" 2>/dev/null ||
	    die "openssl genpkey"
	W=$W USBPIV_BUILD=$build "$top/tests/with-vtoken" --state "$st.tmp" -- \
	    bash "$W/mkstate.sh" "$st" "$@" >"$W/mkstate.log" 2>&1 || {
		cat "$W/mkstate.log" >&2
		die "cannot make the card state $st"
	}
	mv "$st.tmp" "$st"
}
mkdir -p "$build/bench"
STATE2=$build/bench/fair-state-2keys
STATE24=$build/bench/fair-state-24keys
for st in "$STATE2" "$STATE24"; do
	# a new emulator may read the state differently: make it again
	if [ "$new_state" = 1 ] || [ ! -s "$st" ] || [ "$build/vtoken-reader" -nt "$st" ]; then
		case $st in
		"$STATE2") make_state "$st" 9a 9c ;;
		*) make_state "$st" 9a 9c 9d 9e 82 83 84 85 86 87 88 89 8a 8b 8c 8d \
		    8e 8f 90 91 92 93 94 95 ;;
		esac
	fi
done

# ---- the two emulated readers -------------------------------------------------
mkdir -p "$W/conf" "$W/home" "$W/out"
cat >"$W/conf/vtoken" <<EOF
FRIENDLYNAME "Yubico YubiKey OTP+FIDO+CCID"
DEVICENAME   usb:1050/0407
LIBPATH      $ccid
EOF
head -c 32 /dev/urandom >"$W/hash"

# start_envs STATE: a pcscd reader and a usbpiv reader, each on a fresh copy
# of STATE; sets P_* and U_* (see --serve-*).
start_envs() {
	local st=$1 i
	rm -rf "$W/p" "$W/u"
	mkdir -p "$W/p" "$W/u"
	mkdir -p "$W/p/conf"
	cp "$W/conf/vtoken" "$W/p/conf/"
	cp "$st" "$W/p/state"
	cp "$st" "$W/u/state"
	: >"$W/p/apdu.log"
	: >"$W/u/apdu.log"
	VTOKEN_LOG=$W/p/apdu.log unshare -m sh -c '
		mkdir -p /run/pcscd && mount -t tmpfs -o mode=0755 tmpfs /run/pcscd &&
		exec "$1/tests/with-vtoken" --state "$2/state" -- \
		    bash "$3" --serve-peer "$2"' fair "$top" "$W/p" "$self" \
	    >"$W/p/with-vtoken.log" 2>&1 &
	BG+=($!)
	VTOKEN_LOG=$W/u/apdu.log "$top/tests/with-vtoken" --state "$W/u/state" -- \
	    bash "$self" --serve-usbpiv "$W/u" >"$W/u/with-vtoken.log" 2>&1 &
	BG+=($!)
	for i in $(seq 150); do
		[ -s "$W/p/env" ] && [ -s "$W/u/env" ] && break
		sleep 0.1
	done
	[ -s "$W/p/env" ] || { cat "$W/p/with-vtoken.log" "$W/p/pcscd.log" >&2; die "pcscd did not start"; }
	[ -s "$W/u/env" ] || { cat "$W/u/with-vtoken.log" >&2; die "the usbpiv reader did not start"; }
	. "$W/p/env"
	. "$W/u/env"
}

# shellcheck disable=SC2317  # also called from the trap
stop_envs() {
	local i
	[ -n "$P_SERVE" ] && kill -TERM "$P_SERVE" 2>/dev/null
	[ -n "$U_SERVE" ] && kill -TERM "$U_SERVE" 2>/dev/null
	for i in "${BG[@]}"; do wait "$i" 2>/dev/null; done
	BG=() P_SERVE='' U_SERVE=''
}

# counters CTL: "CONTROL BULK INTERRUPT" transfers so far, from the reader.
counters() {
	local n i=0 line
	n=$(wc -l <"$1.ack")
	echo counters >"$1"
	while [ "$(wc -l <"$1.ack")" -le "$n" ]; do
		[ $i -lt 500 ] || die "the reader did not answer 'counters'"
		sleep 0.01; i=$((i + 1))
	done
	line=$(grep '^counters ' "$1.ack" | tail -n 1)
	echo "$line" | sed 's/.*control=\([0-9]*\) bulk-out=\([0-9]*\) bulk-in=\([0-9]*\) interrupt=\([0-9]*\).*/\1 \2 \3 \4/' |
	    awk '{ print $1, $2 + $3, $4 }'
}

apdus() { grep -c '^> ' "$1" 2>/dev/null; true; }

SELECT_PIV=00A4040009A0000003080000100000
# job_cmd JOB MODULE OUT: sets CMD, the job's command line.
job_cmd() {
	local i
	case $1 in
	transport)
		if [ "$2" = "${MOD[usbpiv]}" ]; then
			CMD=("$build/usbpiv" apdu)
			for i in $(seq 32); do CMD+=("$SELECT_PIV"); done
		else
			CMD=(opensc-tool -r 0 -c default)
			for i in $(seq 32); do CMD+=(-s "$SELECT_PIV"); done
		fi ;;
	keys | keys24) CMD=(ssh-keygen -D "$2") ;;
	list) CMD=(pkcs11-tool --module "$2" -L) ;;
	sign1 | sign1-24) CMD=(pkcs11-tool --module "$2" --login --pin 123456 \
	    --sign --id 01 -m ECDSA -i "$W/hash" -o "$3.sig") ;;
	sign100) CMD=("$SIGN_LOOP" "$2" 100) ;;
	esac
}

# run STACK JOB ROUND PEER: one run, appended to $RUNS:
#   job stack round peer wall_us client_us daemon_us apdus ctrl bulk intr status
run() {
	local stack=$1 job=$2 round=$3 peer=$4 out a0 a1 c0 c1 r log ctl
	out=$W/out/$job.$stack.$round.$peer
	job_cmd "$job" "${MOD[$stack]}" "$out"
	if [ "$stack" = usbpiv ]; then
		log=$W/u/apdu.log ctl=$U_CTL
	else
		log=$W/p/apdu.log ctl=$P_CTL
	fi
	a0=$(apdus "$log")
	c0=$(counters "$ctl")
	if [ "$stack" = usbpiv ]; then
		r=$(env "${U_ENV[@]}" "$FR" -t 600 -l "$out" -p "$U_RPID" -- "${CMD[@]}")
	else
		# the client as users run it: no emulation preloaded, pcscd's
		# socket in the namespace, a cold HOME (OpenSC's file cache)
		rm -rf "${W:?}/home" && mkdir -p "$W/home"
		r=$(nsenter -m -t "$P_PCSCD" -- env -u LD_PRELOAD -u UMOCKDEV_DIR \
		    HOME="$W/home" XDG_CACHE_HOME="$W/home/.cache" \
		    "$FR" -t 600 -l "$out" -p "$P_PCSCD" -p "$P_RPID" -- "${CMD[@]}")
	fi
	a1=$(apdus "$log")
	c1=$(counters "$ctl")
	local wall cpu dcpu st c0a c0b c0c c1a c1b c1c
	read -r wall cpu dcpu st <<<"$r"
	read -r c0a c0b c0c <<<"$c0"
	read -r c1a c1b c1c <<<"$c1"
	echo "$job $stack $round $peer $wall $cpu $dcpu $((a1 - a0)) $((c1a - c0a)) $((c1b - c0b)) $((c1c - c0c)) ${st:-1}" >>"$RUNS"
	LAST_STATUS=${st:-1} LAST_OUT=$out
}

# check STACK JOB: the warm-up run worked and did the job.
check() {
	local n
	[ "$LAST_STATUS" = 0 ] || { sed 's/^/  /' "$LAST_OUT" >&2; die "$2 on ${LABEL[$1]}: exit $LAST_STATUS"; }
	case $2 in
	transport)
		n=$(grep -c -E '9000$|SW1=0x90, SW2=0x00' "$LAST_OUT")
		[ "$n" -ge 32 ] || { cat "$LAST_OUT" >&2; die "transport on ${LABEL[$1]}: $n answers 9000"; } ;;
	keys | keys24)
		n=$(grep -c -E '^(ecdsa-sha2-nistp256|ssh-rsa) ' "$LAST_OUT")
		NKEYS[$2.$1]=$n
		[ "$n" -ge 2 ] || { cat "$LAST_OUT" >&2; die "$2 on ${LABEL[$1]}: $n keys listed"; } ;;
	sign1 | sign1-24)
		[ -s "$LAST_OUT.sig" ] || die "$2 on ${LABEL[$1]}: no signature" ;;
	esac
}

# idle STACK: the daemons' CPU in one second with no job (ms).
idle() {
	local r
	if [ "$1" = usbpiv ]; then
		r=$("$FR" -p "$U_RPID" -- sleep 1)
	else
		r=$("$FR" -p "$P_PCSCD" -p "$P_RPID" -- sleep 1)
	fi
	read -r _ _ r _ <<<"$r"
	awk -v d="$r" 'BEGIN { printf "%.1f", d / 1000 }'
}

# job_peers JOB: the stacks usbpiv is paired with for JOB.
job_peers() {
	if [ "$1" = transport ]; then echo pcscd; else echo "${PEERS[@]}"; fi
}
RUNS_OUT=$build/bench/fair-runs.txt
: >"$W/runs"
declare -A NKEYS IDLE
phase() { # phase STATE JOB...: warm-up and the rounds of these jobs
	local st=$1 job peer r
	shift
	[ $# -gt 0 ] || return 0
	start_envs "$st"
	RUNS=$W/warmup
	for job in "$@"; do
		for peer in $(job_peers "$job"); do
			run usbpiv "$job" 0 "$peer"; check usbpiv "$job"
			run "$peer" "$job" 0 "$peer"; check "$peer" "$job"
		done
	done
	IDLE[usbpiv]=$(idle usbpiv) IDLE[peer]=$(idle "${PEERS[0]}")
	RUNS=$W/runs
	for r in $(seq "$rounds"); do
		for job in "$@"; do
			for peer in $(job_peers "$job"); do
				if [ $((r % 2)) = 1 ]; then
					run usbpiv "$job" "$r" "$peer"; run "$peer" "$job" "$r" "$peer"
				else
					run "$peer" "$job" "$r" "$peer"; run usbpiv "$job" "$r" "$peer"
				fi
			done
		done
		echo "fair: round $r of $rounds ($*) done" >&2
	done
	stop_envs
}

j2=() j24=()
for j in "${JOBS[@]}"; do
	case $j in *24) j24+=("$j") ;; *) j2+=("$j") ;; esac
done
t0=$(date +%s)
phase "$STATE2" "${j2[@]}"
idle2="usbpiv's reader ${IDLE[usbpiv]:-?} ms/s, pcscd + its reader ${IDLE[peer]:-?} ms/s"
phase "$STATE24" "${j24[@]}"
cp "$W/runs" "$RUNS_OUT"
RUNS=$RUNS_OUT

# ---- the table ------------------------------------------------------------------
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed 's/-[^-]*$//'; }
echo
echo "Fair benchmark: $rounds paired rounds, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(( $(date +%s) - t0 )) s"
echo "Same emulated USB reader (tests/with-vtoken, yubikey5) for every stack; peers through pcscd $(ver pcscd) + libccid $(ver libccid): OpenSC $(ver opensc-pkcs11), ykcs11 $(ver ykcs11)"
keys=
for k in "${!NKEYS[@]}"; do keys="$keys ${k%%.*}/${LABEL[${k#*.}]}=${NKEYS[$k]}"; done
[ -n "$keys" ] && echo "SSH keys listed (warm-up):$(echo "$keys" | tr ' ' '\n' | sort | tr '\n' ' ')"
echo "Idle cost, no job running: $idle2 (emulator: VTOKEN_PARK_MS=${VTOKEN_PARK_MS:-5})"
echo "usbpiv's client CPU includes the emulation's share (umockdev's preload marshals every usbfs ioctl); the peers pay it in pcscd: compare client+daemon"
echo "Medians [min-max]; ms; USB = transfers completed: total (control/bulk/interrupt)"
echo
jlabel() {
	case $1 in
	keys) echo "ssh-keygen -D" ;; keys24) echo "ssh-keygen -D, 24 keys" ;;
	list) echo "pkcs11-tool -L" ;; sign1) echo "login + 1 signature" ;;
	sign1-24) echo "login + 1 sig, 24 keys" ;; sign100) echo "login + 100 signatures" ;;
	transport) echo "32 SELECTs, no PKCS#11" ;;
	esac
}
printf '%-24s %-7s %-22s %-20s %-22s %-22s %-9s %-24s %s\n' job stack "wall" "client CPU" \
    "daemon CPU" "client+daemon CPU" APDUs "USB" "usbpiv/peer wall"
for job in "${JOBS[@]}"; do
	first=1
	for stack in usbpiv $(job_peers "$job"); do
		l=$([ $first = 1 ] && jlabel "$job")
		first=0
		awk -v job="$job" -v stack="$stack" -v label="$l" -v name="${LABEL[$stack]}" '
		function sort(a, n,   i, j, t) {
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
					t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
				}
		}
		function med(a, n) {
			sort(a, n)
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		function ms(a, n,   m) {	# "median [min-max]" in ms
			m = med(a, n)
			return sprintf("%.1f [%.1f-%.1f]", m / 1000, a[1] / 1000, a[n] / 1000)
		}
		function cnt(a, n,   m) {
			m = med(a, n)
			return a[1] == a[n] ? sprintf("%d", m) : sprintf("%d [%d-%d]", m, a[1], a[n])
		}
		$1 == job && $2 == stack && $12 == 0 {
			n++; w[n] = $5; c[n] = $6; d[n] = $7; ap[n] = $8; cd[n] = $6 + $7
			ct[n] = $9; bk[n] = $10; it[n] = $11; tot[n] = $9 + $10 + $11
		}
		$1 == job && $12 != 0 && $2 == stack { bad++ }
		# the pairs: usbpiv and this peer in the same round
		$1 == job && $2 == "usbpiv" && $4 == stack { u[$3] = $5 }
		$1 == job && $2 == stack && stack != "usbpiv" { p[$3] = $5 }
		END {
			if (n == 0) { printf "%-24s %-7s (no successful run)\n", label, name; exit }
			cc = med(ct, n); bb = med(bk, n); ii = med(it, n)
			usb = sprintf("%s (%d/%d/%d)", cnt(tot, n), cc, bb, ii)
			ratio = ""
			if (stack != "usbpiv") {
				k = 0
				for (r in p) if ((r in u) && p[r] > 0) { k++; q[k] = u[r] / p[r] }
				if (k > 0) {
					m = med(q, k)
					ratio = sprintf("%.2f [%.2f-%.2f]", m, q[1], q[k])
				}
			}
			printf "%-24s %-7s %-22s %-20s %-22s %-22s %-9s %-24s %s%s\n", label, name,
			    ms(w, n), ms(c, n), ms(d, n), ms(cd, n), cnt(ap, n), usb, ratio,
			    bad ? sprintf("  (%d failed runs)", bad) : ""
		}' "$RUNS"
	done
done
echo
echo "(every run: $RUNS — job stack round peer wall_us client_us daemon_us apdus control bulk interrupt status)"
