#!/bin/bash
# dracut module: usbpiv's disk unlock in the initramfs - the usbpiv CLI
# (inst_binary pulls in libusb, libcrypto and the rest), the PKCS#11
# module, the udev rule, the keyscript and /etc/usbpiv/keys/.  No pcscd.
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
