#!/bin/sh
# SPDX-License-Identifier: MIT
# usbpiv agent on the virtual token: `ssh-add -L` prints what `usbpiv
# ssh-keys` prints; `ssh-keygen -Y sign` through the agent with P-256 (9a,
# PIN once), RSA-2048 (9c, PIN always: askpass asked once per signature,
# counted) and Ed25519 (9e), each verified by `ssh-keygen -Y verify`; ssh
# (OpenSSH) and dbclient (dropbear) log in to a real sshd on 127.0.0.1
# through the agent; another process using the token does not cost a PIN
# prompt; `ssh-add -x`/`-X` lock and unlock, `ssh-add -X` gives the PIN;
# garbage and oversized messages get SSH_AGENT_FAILURE and the agent goes
# on; a connection from another uid is refused; the forking mode prints the
# environment, makes a private directory and socket, and `agent -k` stops it.
set -eu
. tests/lib/common.sh
need ssh ssh-keygen ssh-add python3 setpriv
need_built "$USBPIV" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"

start_sshd
# askpass for the agent: counts its calls, answers the PIN
cat > "$T/askpass" <<'AP'
#!/bin/sh
if [ "${SSH_ASKPASS_PROMPT:-}" = confirm ]; then
	echo "$1" >> "$AGENT_TEST_DIR/confirm.log"
	[ -e "$AGENT_TEST_DIR/deny" ] && exit 1
	exit 0
fi
echo "$1" >> "$AGENT_TEST_DIR/askpass.count"
printf '%s\n' "${USBPIV_TEST_PIN:-123456}"
AP
printf '#!/bin/sh\necho lockword\n' > "$T/lockpass"
printf '#!/bin/sh\necho 123456\n' > "$T/pinpass"
printf '#!/bin/sh\necho 999999\n' > "$T/badpin"
chmod +x "$T/askpass" "$T/lockpass" "$T/pinpass" "$T/badpin"
# the test's files are reached by uid 65534 only through the socket
chmod 0711 "$T"
mkdir -m 0755 "$T/ag"

export T USBPIV SSHD_PORT AGENT_TEST_DIR="$T" SSH_OPTS="$(ssh_opts)"

cat > "$T/inner.sh" <<'INNER'
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
U="${USBPIV_WRAP:-} $USBPIV"
count() { if [ -f "$T/askpass.count" ]; then wc -l < "$T/askpass.count"; else echo 0; fi; }

USBPIV_PIN=123456 $U keygen --slot 9a --alg p256 >/dev/null || fail "keygen 9a"
USBPIV_PIN=123456 $U keygen --slot 9c --alg rsa2048 --pin-policy always \
    >/dev/null || fail "keygen 9c"
USBPIV_PIN=123456 $U keygen --slot 9e --alg ed25519 >/dev/null || fail "keygen 9e"
USBPIV_PIN=123456 $U keygen --slot 82 --alg p384 --pin-policy never \
    --touch-policy always >/dev/null || fail "keygen 82"
$U ssh-keys > "$T/keys" || fail "ssh-keys"
[ "$(wc -l < "$T/keys")" -eq 4 ] || { cat "$T/keys"; fail "four keys expected"; }

# the agent, in the foreground (so USBPIV_WRAP covers it)
SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force \
    $U agent -D -a "$T/ag/sock" --confirm 82 \
    --notify "echo \"\$USBPIV_EVENT \$USBPIV_SLOT \$USBPIV_KEY\" >> $T/notify.log" \
    > "$T/agent.env" 2> "$T/agent.log" &
apid=$!
trap 'kill $apid 2>/dev/null || true' EXIT
for _i in $(seq 100); do [ -S "$T/ag/sock" ] && break; sleep 0.1; done
[ -S "$T/ag/sock" ] || { cat "$T/agent.log"; fail "agent did not start"; }
grep -q "^SSH_AUTH_SOCK=$T/ag/sock; export SSH_AUTH_SOCK;" "$T/agent.env" ||
	fail "agent -D: no SSH_AUTH_SOCK line"
grep -q "^SSH_AGENT_PID=$apid; export SSH_AGENT_PID;" "$T/agent.env" ||
	fail "agent -D: no SSH_AGENT_PID line"
[ "$(stat -c %a "$T/ag/sock")" = 600 ] || fail "socket mode not 0600"
export SSH_AUTH_SOCK="$T/ag/sock"

# identities: exactly ssh-keys' lines, Ed25519 included
ssh-add -L > "$T/agentkeys" || fail "ssh-add -L"
cmp "$T/keys" "$T/agentkeys" || { diff "$T/keys" "$T/agentkeys"; fail "ssh-add -L differs from ssh-keys"; }
grep -q '^ssh-ed25519 ' "$T/agentkeys" || fail "no Ed25519 key from the agent"
echo "ok: ssh-add -L = usbpiv ssh-keys"

# signatures through the agent, verified by ssh-keygen
sign_verify() {	# NAME PATTERN
	grep "$2" "$T/keys" > "$T/$1.pub"
	printf 'signed by %s\n' "$1" > "$T/$1.msg"
	rm -f "$T/$1.msg.sig"
	ssh-keygen -Y sign -f "$T/$1.pub" -n file "$T/$1.msg" 2>"$T/$1.err" ||
		{ cat "$T/$1.err" "$T/agent.log"; fail "sign $1"; }
	printf 'tester %s\n' "$(cut -d' ' -f1,2 "$T/$1.pub")" > "$T/$1.allowed"
	ssh-keygen -Y verify -f "$T/$1.allowed" -I tester -n file \
	    -s "$T/$1.msg.sig" < "$T/$1.msg" >/dev/null || fail "verify $1"
	# and not for another message
	echo tampered | ssh-keygen -Y verify -f "$T/$1.allowed" -I tester \
	    -n file -s "$T/$1.msg.sig" >/dev/null 2>&1 && fail "$1 verifies a tampered message"
	true
}
sign_verify p256 '^ecdsa-sha2-nistp256 '
[ "$(count)" -eq 1 ] || fail "P-256 (PIN once): askpass asked $(count) times, not 1"
sign_verify p256 '^ecdsa-sha2-nistp256 '
[ "$(count)" -eq 1 ] || fail "P-256 again: the PIN was asked again"
echo "ok: P-256 in 9a signed twice, PIN asked once"
sign_verify rsa '^ssh-rsa '
[ "$(count)" -eq 2 ] || fail "RSA (PIN always): askpass count $(count), not 2"
sign_verify rsa '^ssh-rsa '
[ "$(count)" -eq 3 ] || fail "RSA (PIN always) again: askpass count $(count), not 3"
grep -q 'slot 9c' "$T/askpass.count" || fail "the askpass prompt does not name slot 9c"
echo "ok: RSA-2048 in 9c (PIN always) signed twice, askpass asked once per signature"
sign_verify ed25519 '^ssh-ed25519 '
echo "ok: Ed25519 in 9e signed"

# P-384 in 82, touch policy always, marked --confirm: confirmed through
# askpass, "touch your token" said and --notify run; no PIN (policy never)
n0=$(count)
sign_verify p384 '^ecdsa-sha2-nistp384 '
[ "$(count)" -eq "$n0" ] || fail "P-384 (PIN never): a PIN was asked"
[ "$(wc -l < "$T/confirm.log")" -eq 1 ] && grep -q 'slot 82' "$T/confirm.log" ||
	fail "--confirm 82: no confirmation asked"
grep -q 'touch your token (slot 82' "$T/agent.log" || fail "no touch notice"
for _i in $(seq 50); do [ -s "$T/notify.log" ] && break; sleep 0.1; done
grep -q "^touch 82 $(cut -d' ' -f1,2 "$T/p384.pub")\$" "$T/notify.log" ||
	{ cat "$T/notify.log"; fail "--notify not run with slot and key"; }
touch "$T/deny"
ssh-keygen -Y sign -f "$T/p384.pub" -n file "$T/p384.msg" </dev/null >/dev/null 2>&1 &&
	fail "signed although the confirmation was denied"
rm -f "$T/deny"
[ "$(wc -l < "$T/confirm.log")" -eq 2 ] || fail "no second confirmation"
grep -q 'slot 9a' "$T/confirm.log" && fail "confirmation asked for 9a"
echo "ok: P-384 in 82 signed; --confirm asked (a denial refuses); touch notice and --notify"

# another process uses the token (and resets its login): no new prompt
$U info >/dev/null || fail "usbpiv info while the agent runs"
n0=$(count)
sign_verify p256 '^ecdsa-sha2-nistp256 '
[ "$(count)" -eq "$n0" ] || { cat "$T/agent.log"; fail "the PIN was asked again after another process used the token"; }
echo "ok: usbpiv info while the agent runs; the next signature asked nothing"

# OpenSSH logs in through the agent with the Ed25519 key
grep '^ssh-ed25519 ' "$T/keys" > "$T/authorized_keys"
# shellcheck disable=SC2086
ssh $SSH_OPTS root@127.0.0.1 echo hello-ed25519 </dev/null > "$T/ssh.out" 2>"$T/ssh.err" ||
	{ cat "$T/ssh.err" "$T/agent.log"; tail -5 "$T/sshd/log"; fail "ssh through the agent"; }
grep -q hello-ed25519 "$T/ssh.out" || fail "ssh: no output"
echo "ok: ssh logs in through the agent (Ed25519)"

# dropbear's dbclient, with the P-256 key
if command -v dbclient >/dev/null 2>&1; then
	grep '^ecdsa-sha2-nistp256 ' "$T/keys" > "$T/authorized_keys"
	mkdir -p "$T/home/.ssh"
	HOME=$T/home dbclient -y -p "$SSHD_PORT" root@127.0.0.1 echo hello-dbclient \
	    </dev/null > "$T/db.out" 2>"$T/db.err" ||
		{ cat "$T/db.err" "$T/agent.log"; tail -5 "$T/sshd/log"; fail "dbclient through the agent"; }
	grep -q hello-dbclient "$T/db.out" || fail "dbclient: no output"
	echo "ok: dbclient logs in through the agent (P-256)"
else
	echo "note: no dbclient (dropbear-bin), not tried"
fi

# hostile messages: failure, and the agent goes on
python3 - "$T/ag/sock" <<'PY' || fail "hostile messages"
import socket, struct, sys
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(sys.argv[1])
    return s
def recv_msg(s):
    h = b''
    while len(h) < 4:
        d = s.recv(4 - len(h))
        if not d: raise SystemExit("EOF instead of an answer")
        h += d
    n = struct.unpack('>I', h)[0]
    b = b''
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d: raise SystemExit("short answer")
        b += d
    return b
s = conn()
for garbage in (b'\xff\x01\x02\x03',                       # unknown type
                b'\x0d\x00\x00\x10\x00abc',                # SIGN, lengths lie
                b'\x0b\x00',                               # trailing byte
                b'\x16\xff\xff\xff\xff'):                  # LOCK, huge string
    s.sendall(struct.pack('>I', len(garbage)) + garbage)
    if recv_msg(s) != b'\x05': raise SystemExit("no failure for %r" % garbage)
# the same connection still works
s.sendall(struct.pack('>IB', 1, 11))
a = recv_msg(s)
if a[0] != 12 or struct.unpack('>I', a[1:5])[0] != 4: raise SystemExit("identities after garbage")
s.close()
# oversized: failure, then the connection ends
s = conn()
s.sendall(struct.pack('>I', 16 * 1024 * 1024) + b'\x0b' * 1000)
if recv_msg(s) != b'\x05': raise SystemExit("no failure for an oversized message")
try:
    if s.recv(1) != b'': raise SystemExit("connection kept after an oversized message")
except ConnectionResetError:
    pass	# closed with our unread bytes in it: ended all the same
PY
ssh-add -l >/dev/null || fail "agent gone after hostile messages"
kill -0 $apid || fail "agent died"
grep -q 'oversized' "$T/agent.log" || fail "no log of the oversized message"
echo "ok: garbage and oversized messages answered with failure; agent goes on"

# lock: no identities, no signatures; a wrong passphrase keeps it locked
SSH_ASKPASS=$T/lockpass SSH_ASKPASS_REQUIRE=force ssh-add -x </dev/null ||
	fail "ssh-add -x"
ssh-add -L >/dev/null 2>&1 && fail "a locked agent lists keys"
ssh-keygen -Y sign -f "$T/p256.pub" -n file "$T/p256.msg" </dev/null >/dev/null 2>&1 &&
	fail "a locked agent signs"
SSH_ASKPASS=$T/pinpass SSH_ASKPASS_REQUIRE=force ssh-add -X </dev/null 2>/dev/null &&
	fail "unlocked with a wrong passphrase"
SSH_ASKPASS=$T/lockpass SSH_ASKPASS_REQUIRE=force ssh-add -X </dev/null ||
	fail "ssh-add -X (unlock)"
ssh-add -L > "$T/agentkeys2" && cmp "$T/keys" "$T/agentkeys2" || fail "keys after unlock"
echo "ok: ssh-add -x locks, -X unlocks (a wrong passphrase does not)"

# the lock logged the card out and forgot the PIN: ssh-add -X gives it
SSH_ASKPASS=$T/badpin SSH_ASKPASS_REQUIRE=force ssh-add -X </dev/null 2>/dev/null &&
	fail "ssh-add -X took a wrong PIN"
grep -q 'wrong PIN' "$T/agent.log" || fail "no log of the wrong PIN"
SSH_ASKPASS=$T/pinpass SSH_ASKPASS_REQUIRE=force ssh-add -X </dev/null ||
	fail "ssh-add -X with the PIN"
n0=$(count)
sign_verify p256 '^ecdsa-sha2-nistp256 '
[ "$(count)" -eq "$n0" ] || fail "PIN asked although given with ssh-add -X"
echo "ok: ssh-add -X gives the PIN (a wrong one refused)"

# the card pulled: signatures fail; put back: the next one asks for the PIN
inject() {
	_n=$(cat "$VTOKEN_CTL.ack" 2>/dev/null | wc -l)
	echo "$1" > "$VTOKEN_CTL"
	for _i in $(seq 50); do
		[ "$(cat "$VTOKEN_CTL.ack" 2>/dev/null | wc -l)" -gt "$_n" ] && break
		sleep 0.1
	done
	tail -n 1 "$VTOKEN_CTL.ack" | grep -q '^ok' || fail "inject $1"
}
inject remove
ssh-keygen -Y sign -f "$T/p256.pub" -n file "$T/p256.msg" </dev/null >/dev/null 2>&1 &&
	fail "signed with the card pulled"
inject insert
n0=$(count)
sign_verify p256 '^ecdsa-sha2-nistp256 '
[ "$(count)" -eq $((n0 + 1)) ] || fail "no PIN asked after the card came back"
# pulled and put back between two requests: asked again too
inject remove
inject insert
sign_verify p256 '^ecdsa-sha2-nistp256 '
[ "$(count)" -eq $((n0 + 2)) ] || { cat "$T/agent.log"; fail "no PIN asked after remove + insert"; }
grep -q 'PIN forgotten (token removed)' "$T/agent.log" || fail "no log of the removal"
echo "ok: card removal: signatures fail; after re-insertion the PIN is asked again"

# another uid is refused (the socket opened up for this check)
chmod 0666 "$T/ag/sock"
setpriv --reuid=65534 --regid=65534 --clear-groups env SSH_AUTH_SOCK="$T/ag/sock" \
    ssh-add -l >/dev/null 2>&1 && fail "uid 65534 talked to the agent"
grep -q 'refused a connection from uid 65534' "$T/agent.log" ||
	{ cat "$T/agent.log"; fail "no refusal logged for uid 65534"; }
chmod 0600 "$T/ag/sock"
ssh-add -l >/dev/null || fail "agent gone after the refusal"
echo "ok: uid 65534 refused"

kill $apid
wait $apid || true
trap - EXIT
[ -e "$T/ag/sock" ] && fail "socket left after SIGTERM"

# no SSH_ASKPASS (SSH_ASKPASS_REQUIRE=never) and no terminal (setsid): the
# PIN comes from systemd-ask-password, as in an initramfs (a stand-in here)
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "$*" >> "%s/sap.log"\necho 123456\n' "$T" > "$T/bin/systemd-ask-password"
chmod +x "$T/bin/systemd-ask-password"
SSH_ASKPASS_REQUIRE=never PATH=$T/bin:$PATH USBPIV_PIN=654321 setsid $U agent -D \
    -a "$T/ag/sock2" > "$T/sap.env" 2> "$T/sap.agent.log" < /dev/null &
for _i in $(seq 100); do [ -S "$T/ag/sock2" ] && break; sleep 0.1; done
sapid=$(sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p' "$T/sap.env")
[ -n "$sapid" ] || { cat "$T/sap.agent.log"; fail "agent (setsid) did not start"; }
n0=$(count)
SSH_AUTH_SOCK=$T/ag/sock2 sign_verify rsa '^ssh-rsa '
grep -q 'slot 9c' "$T/sap.log" || fail "systemd-ask-password not asked"
[ "$(count)" -eq "$n0" ] || fail "askpass asked with SSH_ASKPASS_REQUIRE=never"
grep -q 'USBPIV_PIN is ignored' "$T/sap.agent.log" || fail "USBPIV_PIN taken by the agent"
kill "$sapid"
echo "ok: no askpass, no terminal: systemd-ask-password; USBPIV_PIN ignored"

# socket activation (as usbpiv-agent.socket does it): systemd's
# systemd-socket-activate hands the agent a listening socket in LISTEN_FDS
if command -v systemd-socket-activate >/dev/null 2>&1; then
	mkdir -m 0700 "$T/sa"
	set --
	for v in UMOCKDEV_DIR LD_PRELOAD VTOKEN_CTL ASAN_OPTIONS UBSAN_OPTIONS \
	    USBPIV_LOCK_DIR PATH; do
		eval "[ -n \"\${$v:-}\" ]" && set -- "$@" -E "$v"
	done
	# shellcheck disable=SC2086
	systemd-socket-activate -l "$T/sa/sock" "$@" $U agent -D \
	    > "$T/sa.out" 2> "$T/sa.log" &
	sapid=$!
	trap 'kill $sapid 2>/dev/null || true' EXIT
	for _i in $(seq 100); do [ -S "$T/sa/sock" ] && break; sleep 0.1; done
	SSH_AUTH_SOCK=$T/sa/sock ssh-add -L > "$T/agentkeys4" 2>>"$T/sa.log" &&
	    cmp "$T/keys" "$T/agentkeys4" || { cat "$T/sa.log"; fail "socket-activated agent: keys"; }
	SSH_AUTH_SOCK=$T/sa/sock sign_verify ed25519 '^ssh-ed25519 '
	[ -s "$T/sa.out" ] && fail "socket-activated agent printed an environment"
	kill $sapid
	wait $sapid || true
	trap - EXIT
	echo "ok: socket activation (LISTEN_FDS)"
else
	echo "note: no systemd-socket-activate, socket activation not tried"
fi

# forking mode: private directory, environment for eval, -k stops it; an
# OpenSSH certificate of the Ed25519 key (-c) offered beside it, and sshd
# accepting it through a cert-authority line
ssh-keygen -q -t ed25519 -N '' -f "$T/ca" >/dev/null
grep '^ssh-ed25519 ' "$T/keys" > "$T/edkey.pub"
ssh-keygen -q -s "$T/ca" -I usbpiv-agent-test -n root "$T/edkey.pub" 2>/dev/null ||
	fail "cannot certify the Ed25519 key"
unset SSH_AUTH_SOCK
TMPDIR=$T eval "$($U agent -t 1 -c "$T/edkey-cert.pub" 2>"$T/fork.log")" > /dev/null
[ -S "$SSH_AUTH_SOCK" ] || fail "agent: no socket $SSH_AUTH_SOCK"
d=$(dirname "$SSH_AUTH_SOCK")
[ "$(stat -c %a "$d")" = 700 ] || fail "socket directory not 0700"
[ "$(stat -c %a "$SSH_AUTH_SOCK")" = 600 ] || fail "socket not 0600"
ssh-add -L > "$T/agentkeys3" || fail "forked agent: ssh-add -L"
grep -v -- '-cert-v01@openssh.com ' "$T/agentkeys3" | cmp "$T/keys" - ||
	fail "forked agent: keys"
grep -q "^$(cut -d' ' -f1,2 "$T/edkey-cert.pub") " "$T/agentkeys3" ||
	fail "the certificate is not offered"
printf 'cert-authority %s\n' "$(cat "$T/ca.pub")" > "$T/authorized_keys"
# shellcheck disable=SC2086
ssh $SSH_OPTS root@127.0.0.1 echo hello-cert </dev/null > "$T/ssh.out" 2>"$T/ssh.err" ||
	{ cat "$T/ssh.err"; tail -5 "$T/sshd/log"; fail "ssh with the certificate"; }
grep -q hello-cert "$T/ssh.out" || fail "ssh (certificate): no output"
grep -q 'Accepted publickey for root .* ED25519-CERT' "$T/sshd/log" ||
	fail "sshd did not take the certificate"
echo "ok: -c: the certificate is offered and ssh logs in with it"
# -t 1: a PIN given with ssh-add -X is forgotten a second later
SSH_ASKPASS=$T/pinpass SSH_ASKPASS_REQUIRE=force ssh-add -X </dev/null >/dev/null 2>&1 ||
	{ cat "$T/fork.log"; fail "forked agent: ssh-add -X"; }
for _i in $(seq 50); do
	grep -q 'PIN forgotten (lifetime (-t) over)' "$T/fork.log" && break
	sleep 0.1
done
grep -q 'PIN forgotten (lifetime (-t) over)' "$T/fork.log" ||
	{ cat "$T/fork.log"; fail "-t 1: the PIN was not forgotten"; }
echo "ok: -t: the kept PIN is forgotten when its lifetime is over"
eval "$($U agent -k)" > /dev/null || fail "agent -k"
for _i in $(seq 50); do [ -e "$d" ] || break; sleep 0.1; done
[ -e "$d" ] && fail "agent -k: directory $d left"
[ -z "${SSH_AGENT_PID:-}" ] || fail "agent -k: SSH_AGENT_PID still set"
echo "ok: forking agent, private directory, agent -k"
INNER

vt sh "$T/inner.sh"
echo "askpass asked $(wc -l < "$T/askpass.count") times in all"
