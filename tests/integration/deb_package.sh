#!/bin/sh
# SPDX-License-Identifier: MIT
# Debian packages: dpkg-buildpackage -b -us -uc builds usbpiv and
# usbpiv-pkcs11 from a copy of the tree; lintian reports no error (the
# warnings are printed); dpkg installs them on this machine; the installed
# module (multiarch pkcs11/, registered with p11-kit) lists the virtual
# token's key through ssh-keygen -D, the installed usbpiv runs info on it,
# man and bash completion find their files; then the packages are purged
# and every file they installed is gone, the directories they touched
# listed as before.  Needs root; skipped when usbpiv is already installed
# from a package (never touched), and in the sanitizer runs (the packages
# are built with the distribution's flags, not from the ASan build).
set -u
. tests/lib/common.sh
[ "${USBPIV_TEST_MODE:-plain}" = plain ] ||
	skip "the packages are built from source with Debian's flags: plain runs only"
[ "$(id -u)" -eq 0 ] || skip "needs root (installs the packages with dpkg)"
need dpkg-buildpackage dh lintian dpkg dpkg-architecture git ssh-keygen
need_built "$USBPIV_BUILD/vtoken-reader"
for p in usbpiv usbpiv-pkcs11; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ -z "$s" ] || [ "$s" = not-installed ] || skip "package $p is already on this machine ($s): not touching it"
done
top=${USBPIV_TOP:-$PWD}
n=0
ok() { n=$((n + 1)); echo "ok $n: $*"; }
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# the tracked files (and new ones not ignored) as they are now
mkdir "$T/src"
(cd "$top" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
	tar -xf - -C "$T/src" || fail "copy the tree"
[ -f "$T/src/debian/control" ] || fail "no debian/control in the tree"
t0=$(date +%s)
# not the jobserver or variables of a make that runs this test
(cd "$T/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    nice dpkg-buildpackage -b -us -uc) > "$T/build.log" 2>&1 ||
	{ tail -n 40 "$T/build.log"; fail "dpkg-buildpackage -b -us -uc"; }
debs=$(ls "$T"/usbpiv_*.deb "$T"/usbpiv-pkcs11_*.deb 2>/dev/null)
[ "$(echo "$debs" | wc -w)" -eq 2 ] || { ls "$T"; fail "not two packages"; }
ok "dpkg-buildpackage -b -us -uc builds usbpiv and usbpiv-pkcs11 ($(( $(date +%s) - t0 )) s)"

dpkg-deb -c "$T"/usbpiv-pkcs11_*.deb > "$T/c.pkcs11" && dpkg-deb -c "$T"/usbpiv_*.deb > "$T/c.usbpiv" ||
	fail "dpkg-deb -c"
grep -q " \./usr/lib/$MA/pkcs11/usbpiv-pkcs11\.so$" "$T/c.pkcs11" ||
	fail "the module is not under /usr/lib/$MA/pkcs11"
for f in usr/bin/usbpiv usr/share/man/man1/usbpiv.1.gz \
    usr/share/bash-completion/completions/usbpiv lib/udev/rules.d/70-usbpiv.rules \
    usr/lib/tmpfiles.d/usbpiv.conf usr/share/initramfs-tools/hooks/usbpiv \
    usr/lib/dracut/modules.d/91usbpiv/module-setup.sh lib/systemd/system/usbpiv-token@.service \
    usr/lib/systemd/user/usbpiv-agent.socket; do
	grep -q " \./$f$" "$T/c.usbpiv" || fail "usbpiv has no /$f"
done
if cat "$T/c.usbpiv" "$T/c.pkcs11" | grep -E '/include/|libusbpiv|\.pc$'; then
	fail "the packages ship the library or headers"
fi
ok "contents: module in /usr/lib/$MA/pkcs11, CLI, manual, completion, udev, tmpfiles, units, initramfs-tools hook, dracut module"

lintian --tag-display-limit 0 "$T"/usbpiv_*.changes > "$T/lintian.log" 2>&1
grep -E '^[EWI]: ' "$T/lintian.log" | sed 's/^/   lintian: /'
grep -q '^E: ' "$T/lintian.log" && fail "lintian reports errors"
ok "lintian: $(grep -c '^E: ' "$T/lintian.log") errors, $(grep -c '^W: ' "$T/lintian.log") warnings"

# what the packages' directories hold now, to compare after the purge
dirs="/usr/bin /usr/lib/$MA/pkcs11 /usr/share/p11-kit/modules /usr/lib/usbpiv
/usr/lib/dracut/modules.d /usr/share/initramfs-tools/hooks /lib/udev/rules.d
/lib/systemd/system /usr/lib/systemd/user /usr/lib/tmpfiles.d /usr/share/man/man1
/usr/share/bash-completion/completions /usr/share/doc /etc/systemd/user"
snap() { for d in $dirs; do [ -d "$d" ] && find "$d" -maxdepth 2 -printf '%p %y %s %m\n'; done | sort; }
snap > "$T/before"
cleanup_add "dpkg --purge usbpiv usbpiv-pkcs11 > /dev/null 2>&1"
# shellcheck disable=SC2086
dpkg -i $debs > "$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; fail "dpkg -i"; }
for p in usbpiv usbpiv-pkcs11; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p")" = installed ] || fail "$p not installed"
done
M=/usr/lib/$MA/pkcs11/usbpiv-pkcs11.so
[ -f "$M" ] || fail "no $M"
[ "$(cat /usr/share/p11-kit/modules/usbpiv.module)" = "module: usbpiv-pkcs11.so" ] ||
	fail "usbpiv.module does not name usbpiv-pkcs11.so"
man -w usbpiv | grep -q '^/usr/share/man/man1/usbpiv\.1\.gz$' || fail "man -w usbpiv"
bash -c '. /usr/share/bash-completion/completions/usbpiv && complete -p usbpiv' |
	grep -q '_usbpiv' || fail "the bash completion does not register"
ok "dpkg -i: module at $M, man and bash completion find theirs"

# on the virtual token, with the installed programs only
vt env USBPIV_MGM_KEY="$MGM_DEFAULT" /usr/bin/usbpiv keygen --slot 9a --alg p256 \
    > "$T/pub.pem" 2> "$T/err" || { cat "$T/err"; fail "installed usbpiv keygen"; }
vt ssh-keygen -D "$M" > "$T/ssh" 2> "$T/err" || { cat "$T/err"; fail "ssh-keygen -D $M"; }
grep -q '^ecdsa-sha2-nistp256 ' "$T/ssh" || { cat "$T/ssh" "$T/err"; fail "ssh-keygen -D lists no P-256 key"; }
vt /usr/bin/usbpiv ssh-keys > "$T/ssh2" 2> "$T/err" || { cat "$T/err"; fail "usbpiv ssh-keys"; }
cmp -s "$T/ssh" "$T/ssh2" || { cat "$T/ssh" "$T/ssh2"; fail "ssh-keygen -D and usbpiv ssh-keys differ"; }
vt /usr/bin/usbpiv info > "$T/info" 2> "$T/err" || { cat "$T/err"; fail "installed usbpiv info"; }
grep -qi 'serial' "$T/info" || { cat "$T/info"; fail "usbpiv info shows no serial"; }
# p11-kit loads it by its bare name from its own multiarch directory
if command -v p11-kit > /dev/null; then
	vt p11-kit list-modules > "$T/p11kit" 2>&1
	grep -q '^usbpiv: usbpiv-pkcs11\.so' "$T/p11kit" ||
		{ cat "$T/p11kit"; fail "p11-kit list-modules does not load the usbpiv module"; }
fi
ok "installed module: ssh-keygen -D lists the token's key; installed usbpiv: info, ssh-keys (same line); p11-kit list-modules loads it"

# the packages' files (not their directories), from the .debs themselves
cat "$T/c.usbpiv" "$T/c.pkcs11" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' > "$T/files"
[ "$(wc -l < "$T/files")" -ge 15 ] || fail "cannot read the packages' file lists"
dpkg --purge usbpiv usbpiv-pkcs11 > "$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "dpkg --purge"; }
left=
while read -r f; do
	[ -f "$f" ] || [ -L "$f" ] && left="$left $f"
done < "$T/files"
[ -z "$left" ] || fail "left after the purge:$left"
snap > "$T/after"
diff "$T/before" "$T/after" || fail "the purge did not leave the directories as they were"
ok "dpkg --purge: no file left, the directories as before"
echo "deb_package: $n passed, 0 failed"
