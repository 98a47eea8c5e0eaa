#!/bin/sh
# SPDX-License-Identifier: MIT
# OpenSSH with the module on the virtual token: ssh-keygen -D lists every
# SSH-capable key; ssh -I logs in to a real sshd on 127.0.0.1 (PIN through
# SSH_ASKPASS); ssh-agent + ssh-add -s, then a login through the agent.
# Prints the APDU counts of `ssh-keygen -D` and of login + one signature.
set -eu
. tests/lib/common.sh
need ssh ssh-keygen ssh-agent ssh-add pkcs11-tool openssl
need_built "$MODULE" tests/with-vtoken "$USBPIV_BUILD/vtoken-reader"

provision_key 01 EC:prime256v1 ssh-p256
provision_key 02 rsa:2048 ssh-rsa2048

VTOKEN_LOG=$T/list.log vt_host ssh-keygen -D "$MODULE" > "$T/keys" 2>"$T/keygen.err" ||
	{ cat "$T/keygen.err"; fail "ssh-keygen -D"; }
cat "$T/keys"
grep -q '^ecdsa-sha2-nistp256 ' "$T/keys" || fail "no P-256 key listed"
grep -q '^ssh-rsa ' "$T/keys" || fail "no RSA key listed"
# the listed keys are the token's keys
for id in 01 02; do
	ssh-keygen -i -m PKCS8 -f "$T/pub.$id.pem" | cut -d' ' -f2 > "$T/want.$id"
	grep -qF "$(cat "$T/want.$id")" "$T/keys" || fail "key $id not listed as itself"
done
list_apdus=$(apdus "$T/list.log")

cp "$T/keys" "$T/authorized_keys"
start_sshd
make_askpass
export SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0

# ssh -I: the PIN comes from askpass; only the P-256 key is authorised so the
# signature is made by slot 9a.
grep '^ecdsa' "$T/keys" > "$T/authorized_keys"
# shellcheck disable=SC2046
VTOKEN_LOG=$T/login.log vt_host ssh $(ssh_opts) -I "$MODULE" \
    root@127.0.0.1 echo hello-from-sshd </dev/null > "$T/out" 2>"$T/ssh.err" ||
	{ cat "$T/ssh.err"; tail -20 "$T/sshd/log"; fail "ssh -I login"; }
grep -q hello-from-sshd "$T/out" || fail "ssh -I: no output"
login_apdus=$(apdus "$T/login.log")

# ssh-agent, ssh-add -s, login through the agent.  ssh-agent only loads
# providers from its allow-list: allow the build directory.
cat > "$T/agent.sh" <<AGENT
set -e
ssh-add -s "$MODULE" </dev/null
ssh-add -l
ssh $(ssh_opts) -o IdentitiesOnly=no root@127.0.0.1 echo hello-through-agent </dev/null
AGENT
# Debian's ssh-agent is setgid _ssh, so the loader strips LD_PRELOAD, and
# with it the umockdev preload that shows the emulated device to the agent's
# ssh-pkcs11-helper.  A plain copy of the same binary keeps it (a real token
# needs no preload, so this is only the test's concern).
cp /usr/bin/ssh-agent "$T/ssh-agent"
vt_host "$T/ssh-agent" -P "$(dirname "$MODULE")/*" sh "$T/agent.sh" > "$T/agent.out" 2>&1 ||
	{ cat "$T/agent.out"; tail -20 "$T/sshd/log"; fail "ssh-agent"; }
grep -q hello-through-agent "$T/agent.out" || { cat "$T/agent.out"; fail "agent login"; }

# a wrong PIN is refused
USBPIV_TEST_PIN=654321 vt_host ssh $(ssh_opts) -I "$MODULE" \
    root@127.0.0.1 true </dev/null >/dev/null 2>&1 && fail "login with a wrong PIN"

echo "ssh-keygen -D: $list_apdus APDUs; ssh -I login + one signature: $login_apdus APDUs"
