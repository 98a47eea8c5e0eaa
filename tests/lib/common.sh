# SPDX-License-Identifier: MIT
# Shared helpers for tests/integration/*.sh (sourced, not run).
# Scripts run from the repo top; tests/run-tests.sh exports USBPIV_BUILD and
# USBPIV_WRAP (valgrind, or empty).  Exit 77 = skipped, with a reason last.

: "${USBPIV_BUILD:=$PWD/build}"
export USBPIV_BUILD
: "${USBPIV_WRAP:=}"
MODULE=$USBPIV_BUILD/usbpiv-pkcs11.so
USBPIV=$USBPIV_BUILD/usbpiv
MGM_DEFAULT=010203040506070801020304050607080102030405060708
T=$(mktemp -d "${TMPDIR:-/tmp}/usbpiv-it.XXXXXX")
_cleanups=
cleanup_add() { _cleanups="$1; $_cleanups"; }
trap 'eval "$_cleanups"; rm -rf "$T"' EXIT

skip() { echo "$*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done; }
need_built() { for f in "$@"; do [ -e "$f" ] || skip "needs $f (not built yet)"; done; }

# Under `make check-asan` the module is built with ASan+UBSan; programs
# that are not ours (ssh-keygen, pkcs11-tool, p11tool ...) can load it only
# with the sanitizer runtime preloaded first.  Their own leaks are not ours.
SAN_PRELOAD=
if [ "${USBPIV_TEST_MODE:-}" = asan ]; then
	SAN_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
	[ -f "$SAN_PRELOAD" ] || skip "no ASan runtime for foreign programs"
fi
export SAN_PRELOAD

# foreign CMD...: run a program that is not ours but may load our module.
foreign() {
	if [ -n "$SAN_PRELOAD" ]; then
		LD_PRELOAD="$SAN_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0:verify_asan_link_order=0" "$@"
	else
		"$@"
	fi
}

# vt CMD...: run CMD on the virtual token whose state lives in $T/state
# (with the sanitizer runtime first when CMD is a foreign program).
vt() {
	tests/with-vtoken --state "$T/state" -- sh -c '
	    # ours (under USBPIV_BUILD) carry their sanitizer runtime already
	    case $(command -v "$1" 2>/dev/null) in "$USBPIV_BUILD"/*) exec "$@" ;; esac
	    if [ -n "$SAN_PRELOAD" ]; then
		export LD_PRELOAD="$SAN_PRELOAD:$LD_PRELOAD"
		export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0:verify_asan_link_order=0"
	    fi
	    exec "$@"' vt "$@"
}

# vt_host CMD...: vt for a program not ours that loads the module (ssh,
# pkcs11-tool...); vt already gives such programs the sanitizer runtime.
vt_host() { vt "$@"; }

# chroot_proc DIR: before running our programs in a chroot of an unpacked
# initramfs.  An ASan build (make check-asan) reads its options and runs
# LeakSanitizer through /proc, as init has it in a real initramfs: mount it
# there (unmounted on exit), or skip the test where that is not allowed.
chroot_proc() {
	[ -n "${SAN_PRELOAD:-}" ] || return 0
	mkdir -p "$1/proc"
	mount -t proc proc "$1/proc" 2>/dev/null ||
		skip "ASan build: cannot mount /proc in the unpacked image here"
	cleanup_add "umount '$1/proc'"
}

# apdus FILE: number of command APDUs in a VTOKEN_LOG file.
apdus() { grep -c '^> ' "$1" 2>/dev/null || echo 0; }

# p11tool_ ARGS...: OpenSC's pkcs11-tool on our module.
p11() { pkcs11-tool --module "$MODULE" "$@"; }

# provision_key ID ALG CN: generate a key through our module (SO login with
# the factory management key) and store a certificate for it.  ALG is a
# pkcs11-tool --key-type (EC:prime256v1, rsa:2048, ...).
provision_key() {
	_id=$1 _alg=$2 _cn=$3
	vt pkcs11-tool --module "$MODULE" --login --login-type so \
	    --so-pin "$MGM_DEFAULT" --keypairgen --key-type "$_alg" --id "$_id" \
	    >"$T/keygen.$_id.log" 2>&1 || { cat "$T/keygen.$_id.log"; fail "keypairgen $_id"; }
	# The public key from our CLI: OpenSC 0.23's `pkcs11-tool --read-object
	# --type pubkey` reads freed memory on EC keys with OpenSSL 3 (ASan
	# shows it inside pkcs11-tool), so it is no reference here.
	case $_id in 01) _slot=9a ;; 02) _slot=9c ;; 03) _slot=9d ;; 04) _slot=9e ;;
	    *) fail "provision_key: no slot for id $_id" ;; esac
	vt $USBPIV_WRAP "$USBPIV" export-pubkey --slot "$_slot" -o "$T/pub.$_id.pem" \
	    >/dev/null 2>&1 || fail "export pubkey $_id"
	openssl pkey -pubin -in "$T/pub.$_id.pem" -noout ||
	    fail "pubkey $_id not parseable by OpenSSL"
	[ -f "$T/ca.key" ] || openssl genpkey -algorithm EC \
	    -pkeyopt ec_paramgen_curve:P-256 -out "$T/ca.key" 2>/dev/null
	openssl x509 -new -subj "/CN=$_cn" -key "$T/ca.key" \
	    -force_pubkey "$T/pub.$_id.pem" -days 30 -outform DER \
	    -out "$T/cert.$_id.der" || fail "make cert $_id"
	vt pkcs11-tool --module "$MODULE" --login --login-type so \
	    --so-pin "$MGM_DEFAULT" --write-object "$T/cert.$_id.der" --type cert \
	    --id "$_id" --label "$_cn" >/dev/null 2>&1 || fail "write cert $_id"
}

# start_sshd: an sshd on 127.0.0.1:$SSHD_PORT that accepts the keys in
# $T/authorized_keys for the current user.  Not inside with-vtoken: sshd
# must not see the emulated device.
start_sshd() {
	need /usr/sbin/sshd
	mkdir -p /run/sshd "$T/sshd"
	chmod 0755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/host" >/dev/null
	SSHD_PORT=$(( 20000 + $$ % 20000 ))
	cat > "$T/sshd/config" <<CFG
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $T/sshd/host
PidFile $T/sshd/pid
AuthorizedKeysFile $T/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
LogLevel VERBOSE
CFG
	env -u LD_PRELOAD /usr/sbin/sshd -f "$T/sshd/config" -E "$T/sshd/log"
	for _i in $(seq 50); do [ -s "$T/sshd/pid" ] && break; sleep 0.1; done
	[ -s "$T/sshd/pid" ] || { cat "$T/sshd/log"; fail "sshd did not start"; }
	cleanup_add 'kill $(cat "$T/sshd/pid") 2>/dev/null'
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cat "$T/sshd/host.pub")" > "$T/known_hosts"
}

# An askpass program that answers with $USBPIV_TEST_PIN.
make_askpass() {
	cat > "$T/askpass" <<'AP'
#!/bin/sh
printf '%s\n' "${USBPIV_TEST_PIN:-123456}"
AP
	chmod +x "$T/askpass"
}

ssh_opts() {
	echo "-F /dev/null -o UserKnownHostsFile=$T/known_hosts -o StrictHostKeyChecking=yes -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o ConnectTimeout=10 -p $SSHD_PORT"
}

# need_vtoken [READER]: skip unless the emulated reader (by default the
# build's) can run here.
need_vtoken() {
	need_built "${1:-$USBPIV_BUILD/vtoken-reader}"
	ldconfig -p 2>/dev/null | grep -q libumockdev-preload ||
	    skip "libumockdev-preload.so not installed (scripts/deps.sh test)"
}

# cc_test SRC OUT [LIBS...]: compiles a C test program of tests/integration
# against the build's libusbpiv.a, with the sanitizers the build has.
cc_test() {
	_src=$1 _out=$2
	shift 2
	_cc=${CC:-cc} _san=
	if nm "$USBPIV_BUILD/libusbpiv.a" 2>/dev/null | grep -q __asan_; then
		# the shared runtime, as make check-asan links ours (see Makefile)
		_rt=$(dirname "$(clang -print-file-name=libclang_rt.asan-x86_64.so)")
		_cc=clang _san="-fsanitize=address,undefined -shared-libasan -Wl,-rpath,$_rt"
	fi
	# shellcheck disable=SC2046,SC2086
	$_cc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic -g \
	    $_san $(pkg-config --cflags libusb-1.0 p11-kit-1) -o "$_out" "$_src" \
	    "$USBPIV_BUILD/libusbpiv.a" \
	    $(pkg-config --libs libusb-1.0 libcrypto zlib) -ldl "$@" \
	    2>"$T/cc.log" || { cat "$T/cc.log"; fail "cannot build $_src"; }
}
