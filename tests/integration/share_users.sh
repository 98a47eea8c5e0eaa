#!/bin/sh
# SPDX-License-Identifier: MIT
# Root and an unprivileged user share one token, whoever comes first: the
# lock is on the device node, which both can open; a busy token held by
# one is busy for the other.  Files and links another user plants in the
# shared state directory change nothing and break nothing.  Needs root
# (to be another user) and setpriv.
set -eu
. tests/lib/common.sh
need setpriv
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
need_built "$USBPIV_BUILD/vtoken-reader" tests/with-vtoken
need_vtoken
[ "$(id -u)" -eq 0 ] || skip "needs root to run as another user"
U=65534
chmod 0711 "$T"
SD=$T/shared
mkdir -m 1777 "$SD" "$T/w"
: > "$T/victim"
chmod 0644 "$T/victim"

cat > "$T/in.sh" <<IN
set -u
T=$T SD=$SD
fail() { echo "FAIL: \$*"; exit 1; }
# the emulated node and sysfs as a real system has them for a device user
chmod 0755 "\$VTOKEN_DIR"
chmod -R a+rwX "\$UMOCKDEV_DIR"
export USBPIV_LOCK_DIR=\$SD
as_user() { setpriv --reuid=$U --regid=$U --clear-groups -- "\$@"; }
info() { "\$@" $USBPIV info > /dev/null 2> "\$T/err"; }
for who in "\$1" "\$2"; do
	if [ \$who = root ]; then info env || fail "root: \$(cat "\$T/err")"
	else info as_user env || fail "user: \$(cat "\$T/err")"; fi
done
echo "  \$1 then \$2: both use the token"
# held by one, busy for the other (exit 5 after its 10 s wait)
rm -f "\$T/w/held"
if [ "\$1" = root ]; then
	python3 "$USBPIV_TOP/tests/lib/hold-token.py" /dev/bus/usb/001/002 30 "\$T/w/held" &
else
	as_user /usr/bin/python3 "$USBPIV_TOP/tests/lib/hold-token.py" /dev/bus/usb/001/002 30 "\$T/w/held" &
fi
hp=\$!
i=0; while [ ! -e "\$T/w/held" ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
if [ "\$2" = root ]; then info env; else info as_user env; fi
rc=\$?
kill \$hp 2>/dev/null; wait \$hp 2>/dev/null
[ \$rc -eq 5 ] || fail "\$2 while \$1 holds the token: exit \$rc, want 5"
grep -q "in use by another program" "\$T/err" || fail "busy message: \$(cat "\$T/err")"
echo "  held by \$1, busy for \$2: ok"
# another user plants a link and a file under root's names
ls "\$SD"
IN
vt sh "$T/in.sh" root user || fail "root first"
rm -f "$SD"/*
vt sh "$T/in.sh" user root || fail "user first"

# planted by the user before root comes: a link to a file of root's, a
# file under root's next name, a file under another user's name
rm -f "$SD"/*
setpriv --reuid=$U --regid=$U --clear-groups -- sh -ec "
	ln -s '$T/victim' '$SD/usbpiv-001-002.0'
	echo junk > '$SD/usbpiv-001-002.0.1'
	echo junk > '$SD/usbpiv-001-002.4242'"
vt sh -c "export USBPIV_LOCK_DIR='$SD'; $USBPIV info > /dev/null &&
    $USBPIV info > /dev/null" ||
	fail "root with planted files"
[ ! -s "$T/victim" ] || fail "the planted link was followed"
[ "$(cat "$SD/usbpiv-001-002.0.1")" = junk ] || fail "the planted file was changed"
[ -L "$SD/usbpiv-001-002.0" ] || fail "the planted link was replaced"
[ "$(stat -c %u "$SD/usbpiv-001-002.0.2")" = 0 ] || fail "root's state is not in the next name"
ls -l "$SD" | sed 's/^/  /'
echo "  planted link and files: passed over, nothing changed or broken"
echo "share_users: all passed"
