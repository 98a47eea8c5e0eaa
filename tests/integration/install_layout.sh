#!/bin/sh
# SPDX-License-Identifier: MIT
# make install / make uninstall into a DESTDIR: the files a user gets (the
# module, the CLI, its manual page and bash completion, the p11-kit module
# file, udev rule, tmpfiles entry, hooks, units, initramfs-tools hook and
# dracut module) and not the library or its headers (no public API yet);
# uninstall leaves exactly the directories that were there before: it
# removes /etc/pkcs11/modules when install created it and it is empty, and
# keeps it when it was there before.
set -u
. tests/lib/common.sh
need make
need_built "$USBPIV" "$MODULE" "$USBPIV_BUILD/usbpiv.1"
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }
mk() { make -s -o all -C "${USBPIV_TOP:-.}" BUILD="$USBPIV_BUILD" "$@" > "$T/make.log" 2>&1 ||
	{ cat "$T/make.log"; fail "make $*"; }; }
tree() { (cd "$1" && find . | sort); }

D=$T/root
mkdir -p "$D/etc/pkcs11" "$D/usr/share"
tree "$D" > "$T/before"
mk DESTDIR="$D" install
for f in usr/local/lib/pkcs11/usbpiv-pkcs11.so usr/local/bin/usbpiv \
    usr/local/share/man/man1/usbpiv.1 usr/local/share/bash-completion/completions/usbpiv \
    etc/pkcs11/modules/usbpiv.module etc/udev/rules.d/70-usbpiv.rules \
    etc/tmpfiles.d/usbpiv.conf usr/local/lib/usbpiv/usbpiv-hook \
    usr/local/lib/usbpiv/usbpiv-keyscript etc/systemd/system/usbpiv-token@.service \
    etc/systemd/user/usbpiv-agent.socket etc/systemd/user/usbpiv-agent.service \
    usr/share/initramfs-tools/hooks/usbpiv usr/lib/dracut/modules.d/91usbpiv/module-setup.sh; do
	[ -f "$D/$f" ] || fail "make install did not install /$f"
done
[ "$(cat "$D/etc/pkcs11/modules/usbpiv.module")" = "module: /usr/local/lib/pkcs11/usbpiv-pkcs11.so" ] ||
	fail "the p11-kit module file does not name the installed module"
cmp -s "$D/usr/local/share/bash-completion/completions/usbpiv" tools/usbpiv.bash ||
	fail "the completion differs from tools/usbpiv.bash"
if tree "$D" | grep -E '/include|libusbpiv\.(a|so)|\.pc$'; then
	fail "make install installs the library or its headers"
fi
ok "make install: module, CLI, manual, bash completion, p11-kit file, udev, tmpfiles, units, hooks; no library, no headers"

mk DESTDIR="$D" install	# twice: the list of created directories stays right
mk DESTDIR="$D" uninstall
tree "$D" > "$T/after"
diff "$T/before" "$T/after" || fail "make uninstall left something behind (or removed more)"
ok "make uninstall removes every file and the directories install created (/etc/pkcs11/modules too)"

# a p11-kit directory that was there before stays, with its other files
mkdir -p "$D/etc/pkcs11/modules" "$D/usr/local/share/man"
: > "$D/etc/pkcs11/modules/other.module"
tree "$D" > "$T/before"
mk DESTDIR="$D" install
mk DESTDIR="$D" uninstall
tree "$D" > "$T/after"
diff "$T/before" "$T/after" || fail "uninstall touched directories that were there before"
rm "$D/etc/pkcs11/modules/other.module"
tree "$D" > "$T/before"
mk DESTDIR="$D" install
mk DESTDIR="$D" uninstall
[ -d "$D/etc/pkcs11/modules" ] || fail "uninstall removed an empty /etc/pkcs11/modules it did not create"
ok "directories that were there before install stay (empty or not)"

mk DESTDIR="$T/pkg" PREFIX=/usr RECORD_DIRS=0 install
[ -f "$T/pkg/usr/share/p11-kit/modules/usbpiv.module" ] &&
	[ -f "$T/pkg/usr/share/bash-completion/completions/usbpiv" ] &&
	[ -f "$T/pkg/usr/lib/udev/rules.d/70-usbpiv.rules" ] || fail "PREFIX=/usr layout"
[ -e "$T/pkg/usr/lib/usbpiv/installed-dirs" ] && fail "RECORD_DIRS=0 still recorded directories"
ok "PREFIX=/usr: p11-kit's /usr/share/p11-kit/modules, /usr/lib/udev; RECORD_DIRS=0 records nothing"
echo "install_layout: $n passed, 0 failed"
