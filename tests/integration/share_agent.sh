#!/bin/sh
# SPDX-License-Identifier: MIT
# One token, many processes, no daemon (issue: sharing).  ssh-agent holds
# the module (ssh-add -s, the PIN given once); then usbpiv info, usbpiv
# ssh-keys, pkcs11-tool -L and ssh-keygen -D run in other processes, and
# the agent still signs (ssh-keygen -Y sign) with no PIN asked — nobody
# resets the card, nobody logs the agent out.  A card pulled and put back
# ends the agent's login for good: its next signature fails until the PIN
# is given again.  Then a second process signs in a loop through the agent
# while the others come and go: every signature verifies.
set -eu
. tests/lib/common.sh
need ssh-keygen ssh-agent ssh-add pkcs11-tool openssl
need_built "$MODULE" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"
need_vtoken

provision_key 01 EC:prime256v1 share-p256
# askpass counts how often it was asked
cat > "$T/askpass" <<AP
#!/bin/sh
echo x >> "$T/asked"
printf '%s\n' 123456
AP
chmod +x "$T/askpass"
: > "$T/asked"
ssh-keygen -i -m PKCS8 -f "$T/pub.01.pem" > "$T/id.pub"
echo "data to sign" > "$T/msg"
printf 'share@test %s\n' "$(cat "$T/id.pub")" > "$T/allowed"

cat > "$T/inner.sh" <<INNER
set -u
T=$T; MODULE=$MODULE; USBPIV="${USBPIV_WRAP:-} $USBPIV"
export SSH_ASKPASS=\$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0
fail() { echo "FAIL: \$*"; exit 1; }
asked() { wc -l < "\$T/asked" | tr -d ' '; }
sign() {	# through the agent; 0 if the signature verifies
	rm -f "\$T/msg.sig"
	ssh-keygen -Y sign -f "\$T/id.pub" -n file "\$T/msg" >/dev/null 2>&1 &&
	ssh-keygen -Y verify -f "\$T/allowed" -I share@test -n file \
	    -s "\$T/msg.sig" < "\$T/msg" >/dev/null 2>&1
}
ctl() {	# one injection into the emulated reader, acknowledged
	: > "\$VTOKEN_CTL.ack"
	echo "\$1" > "\$VTOKEN_CTL"
	i=0
	while ! grep -q "\$1" "\$VTOKEN_CTL.ack" 2>/dev/null && [ \$i -lt 100 ]; do
		sleep 0.05; i=\$((i + 1)); done
}
ssh-add -s "\$MODULE" < /dev/null > /dev/null 2>&1 || fail "ssh-add -s"
[ "\$(asked)" = 1 ] || fail "PIN asked \$(asked) times for ssh-add -s"
sign || fail "first signature through the agent"

# others come and go
\$USBPIV info > /dev/null || fail "usbpiv info"
\$USBPIV ssh-keys > /dev/null || fail "usbpiv ssh-keys"
pkcs11-tool --module "\$MODULE" -L > /dev/null 2>&1 || fail "pkcs11-tool -L"
ssh-keygen -D "\$MODULE" > /dev/null 2>&1 || fail "ssh-keygen -D"
sign || fail "the agent lost its login to other processes"
[ "\$(asked)" = 1 ] || fail "PIN asked again (\$(asked))"
echo "  agent signs after info, ssh-keys, pkcs11-tool -L, ssh-keygen -D: ok"

# a second signer in a loop while others come and go
( ok=0; for i in \$(seq 15); do sign && ok=\$((ok + 1)); done
  echo \$ok > "\$T/loop.ok" ) &
lp=\$!
for i in 1 2 3; do
	\$USBPIV info > /dev/null || fail "usbpiv info during the loop"
	\$USBPIV ssh-keys > /dev/null || fail "usbpiv ssh-keys during the loop"
	ssh-keygen -D "\$MODULE" > /dev/null 2>&1 || fail "ssh-keygen -D during the loop"
done
wait \$lp
[ "\$(cat "\$T/loop.ok")" = 15 ] || fail "loop: \$(cat "\$T/loop.ok") of 15 signatures"
[ "\$(asked)" = 1 ] || fail "PIN asked again during the loop (\$(asked))"
echo "  15 of 15 signatures in a loop beside info, ssh-keys, ssh-keygen -D: ok"

# the card pulled and put back: the login ends for good
ctl remove
sleep 0.3
ctl insert
sleep 0.3
\$USBPIV info > /dev/null || fail "usbpiv info after re-insertion"
if sign; then fail "the agent signed after the card was pulled"; fi
[ "\$(asked)" = 1 ] || fail "the agent asked for the PIN by itself"
echo "  after removal and insertion the agent no longer signs: ok"
ssh-add -e "\$MODULE" > /dev/null 2>&1 || true
ssh-add -s "\$MODULE" < /dev/null > /dev/null 2>&1 || fail "ssh-add -s again"
sign || fail "signature after the PIN was given again"
[ "\$(asked)" = 2 ] || fail "PIN asked \$(asked) times in all, want 2"
echo "  with the PIN given again it signs: ok"
INNER

# Debian's ssh-agent is setgid: a copy keeps LD_PRELOAD (the emulated USB)
cp /usr/bin/ssh-agent "$T/ssh-agent"
unset USBPIV_PIN_CACHE
vt_host "$T/ssh-agent" -P "$(dirname "$MODULE")/*" sh "$T/inner.sh" \
    > "$T/out" 2>&1 || { cat "$T/out"; fail "sharing with the agent"; }
cat "$T/out"
echo "share_agent: all passed"
