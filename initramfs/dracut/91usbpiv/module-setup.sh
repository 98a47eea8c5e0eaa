#!/bin/bash
# SPDX-License-Identifier: MIT
# dracut module: usbpiv's disk unlock in the initramfs - the usbpiv CLI
# (inst_binary pulls in libusb, libcrypto and the rest), the PKCS#11
# module, the udev rule, the keyscript and /etc/usbpiv/keys/.  No pcscd.
# With systemd in the image: usbpiv-unlock@NAME.service per wrapped key
# (before systemd-cryptsetup@NAME.service), libp11-kit and a p11-kit
# module file for systemd-cryptsetup's own PKCS#11 support.
# The installed files are found where `make install` puts them (any
# PREFIX); USBPIV_BIN, USBPIV_MODULE, USBPIV_RULES, USBPIV_KEYSCRIPT and
# USBPIV_KEYS_DIR in the environment override them (tests, a build tree),
# as for the initramfs-tools hook.

# usbpiv_files: sets bin, module, rules, keyscript, keys (empty when absent).
usbpiv_files() {
	local f
	bin=${USBPIV_BIN:-}
	# dracut's find_binary looks in /sbin /bin /usr/sbin /usr/bin only;
	# make install's default PREFIX is /usr/local.
	[[ -n $bin ]] || bin=$(find_binary usbpiv 2> /dev/null)
	[[ -n $bin ]] || bin=$(find_binary /usr/local/bin/usbpiv 2> /dev/null)
	module=${USBPIV_MODULE:-}
	if [[ -z $module ]]; then
		# @PKCS11DIR@: set by make install (a Debian package: the
		# multiarch /usr/lib/<triplet>/pkcs11)
		for f in "@PKCS11DIR@/usbpiv-pkcs11.so" /usr/lib/pkcs11/usbpiv-pkcs11.so \
		    /usr/lib/*/pkcs11/usbpiv-pkcs11.so /usr/local/lib/pkcs11/usbpiv-pkcs11.so; do
			[[ -f $f ]] && module=$f && break
		done
	fi
	rules=${USBPIV_RULES:-}
	if [[ -z $rules ]]; then
		# UDEVRULESDIR of make install: /usr/lib/... for PREFIX=/usr, else /etc
		for f in "@UDEVRULESDIR@/70-usbpiv.rules" /usr/lib/udev/rules.d/70-usbpiv.rules \
		    /lib/udev/rules.d/70-usbpiv.rules /etc/udev/rules.d/70-usbpiv.rules; do
			[[ -f $f ]] && rules=$f && break
		done
	fi
	keyscript=${USBPIV_KEYSCRIPT:-$moddir/usbpiv-keyscript}
	keys=${USBPIV_KEYS_DIR:-/etc/usbpiv/keys}
}

# usbpiv_systemd: for `usbpiv enroll` volumes, usbpiv-unlock@.service and,
# per wrapped-key file KEYS_DIR/NAME.key, the wiring for the crypttab volume
# NAME (whose key file must be "none" or "-"): systemd-cryptsetup@NAME
# wants usbpiv-unlock@NAME and comes after it, and removes the key file
# /run/cryptsetup-keys.d/NAME.key when it has run or failed; the unlock
# instance is told where its wrapped key is.
usbpiv_systemd() {
	local f name esc d
	inst_script "$moddir/usbpiv-unlock-key" /usr/lib/usbpiv/usbpiv-unlock-key || return 1
	inst_simple "$moddir/usbpiv-unlock@.service" \
	    "$systemdsystemunitdir/usbpiv-unlock@.service" || return 1
	inst_multiple -o systemd-ask-password systemd-escape
	[[ -d $keys ]] || return 0
	for f in "$keys"/*.key; do
		[[ -f $f ]] || continue
		name=${f##*/}
		name=${name%.key}
		# names and paths that need no quoting in a unit file
		if [[ ! $name =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ || ! $f =~ ^[A-Za-z0-9_./-]+$ ]]; then
			dwarn "usbpiv: $f: volume name or path not wired into systemd (use [A-Za-z0-9_.-])"
			continue
		fi
		esc=$(systemd-escape -- "$name") || return 1
		d=$initdir$systemdsystemunitdir/systemd-cryptsetup@$esc.service.d
		mkdir -p "$d" || return 1
		cat > "$d/usbpiv.conf" << EOF
# usbpiv: the key of $name comes from the token (usbpiv-unlock@$esc.service)
[Unit]
Wants=usbpiv-unlock@$esc.service
After=usbpiv-unlock@$esc.service

[Service]
ExecStartPost=-/bin/rm -f /run/cryptsetup-keys.d/$name.key
ExecStopPost=-/bin/rm -f /run/cryptsetup-keys.d/$name.key
EOF
		d=$initdir$systemdsystemunitdir/usbpiv-unlock@$esc.service.d
		mkdir -p "$d" || return 1
		printf '[Service]\nEnvironment=USBPIV_WRAPPED_KEY=%s\n' "$f" > "$d/key.conf"
	done
}

# usbpiv_p11kit: for systemd-cryptenroll volumes, systemd-cryptsetup opens
# the token through p11-kit (dlopen'ed: dracut does not see it), which
# loads the modules its module files name: libp11-kit and a file naming
# the module in the image, with the installed file's x-init-reserved line
# (compat=...) when it has one.  No pcscd.
usbpiv_p11kit() {
	local f line=
	[[ -f $module ]] || return 0
	inst_libdir_file "libp11-kit.so.*" || return 1
	for f in /etc/pkcs11/modules/usbpiv.module /usr/share/p11-kit/modules/usbpiv.module; do
		[[ -f $f ]] || continue
		line=$(grep '^x-init-reserved:' "$f" | tail -n 1)
		break
	done
	mkdir -p "$initdir/usr/share/p11-kit/modules" || return 1
	{
		echo "# usbpiv's PKCS#11 module (dracut 91usbpiv)"
		echo "module: /usr/lib/pkcs11/usbpiv-pkcs11.so"
		if [[ -n $line ]]; then echo "$line"; fi
	} > "$initdir/usr/share/p11-kit/modules/usbpiv.module"
}

check() {
	local bin module rules keyscript keys
	usbpiv_files
	if [[ ! -x $bin ]]; then
		dinfo "dracut module 'usbpiv' will not be installed, because command 'usbpiv' could not be found!"
		return 1
	fi
	# only when asked for (dracut --add usbpiv)
	return 255
}

depends() {
	echo udev-rules
	return 0
}

install() {
	local bin module rules keyscript keys f rulebin
	usbpiv_files
	# In /usr/bin whatever the PREFIX: dracut's PATH has no /usr/local/bin,
	# and the keyscript calls plain "usbpiv".
	inst_binary "$bin" /usr/bin/usbpiv || return 1
	if [[ -f $module ]]; then
		inst_library "$module" /usr/lib/pkcs11/usbpiv-pkcs11.so || return 1
	else
		dwarn "usbpiv: no PKCS#11 module (usbpiv-pkcs11.so) found"
	fi
	if [[ -f $rules ]]; then
		# The rule runs "BINDIR/usbpiv udev-info": keep that path working
		# (before inst_rules, which would copy the binary there again).
		rulebin=$(sed -n 's/.*IMPORT{program}="\([^" ]*\/usbpiv\) udev-info.*/\1/p' "$rules" | head -n 1)
		if [[ -n $rulebin && $rulebin != /usr/bin/usbpiv ]]; then
			inst_dir "${rulebin%/*}"
			ln_r /usr/bin/usbpiv "$rulebin"
		fi
		inst_rules "$rules"
	else
		dwarn "usbpiv: no udev rule 70-usbpiv.rules found"
	fi
	inst_script "$keyscript" /usr/lib/usbpiv/usbpiv-keyscript || return 1
	# Wrapped-key files: public data, they open nothing without the token.
	if [[ -d $keys ]]; then
		for f in "$keys"/*; do
			[[ -f $f ]] && inst_simple "$f"
		done
	fi
	# A systemd initramfs (dracut's systemd module) ignores keyscript=:
	# units unwrap the keys, and systemd-cryptsetup's own PKCS#11 support
	# finds the module through p11-kit.
	if dracut_module_included "systemd"; then
		usbpiv_systemd || return 1
		usbpiv_p11kit || return 1
	fi
	# The SSH agent is `usbpiv agent`, in the CLI.  USBPIV_AGENT=1 (in
	# the environment, or a line of /etc/usbpiv/initramfs.conf) also
	# brings dropbear's dbclient, the client a boot script runs with it.
	local agent=${USBPIV_AGENT:-}
	[[ -n $agent ]] || agent=$(sed -n 's/^USBPIV_AGENT=//p' \
	    /etc/usbpiv/initramfs.conf 2> /dev/null | tail -n 1)
	if [[ $agent == 1 ]]; then
		if find_binary dbclient > /dev/null 2>&1; then
			inst_multiple dbclient || return 1
		else
			dwarn "usbpiv: USBPIV_AGENT=1 but no dbclient (dropbear-bin) to add"
		fi
	fi
	return 0
}
