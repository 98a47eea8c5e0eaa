#!/bin/bash
# dracut module: usbpiv's disk unlock in the initramfs - the usbpiv CLI
# (inst_binary pulls in libusb, libcrypto and the rest), the PKCS#11
# module, the udev rule, the keyscript and /etc/usbpiv/keys/.  No pcscd.

check() {
	require_binaries usbpiv || return 1
	# only when asked for (dracut --add usbpiv) or a LUKS volume is set up
	return 255
}

depends() {
	echo udev-rules
	return 0
}

install() {
	local f
	inst_binary usbpiv
	for f in /usr/lib/pkcs11/usbpiv-pkcs11.so /usr/local/lib/pkcs11/usbpiv-pkcs11.so; do
		[ -f "$f" ] && inst_library "$f" /usr/lib/pkcs11/usbpiv-pkcs11.so && break
	done
	inst_rules 70-usbpiv.rules
	inst_script "$moddir/usbpiv-keyscript" /usr/lib/usbpiv/usbpiv-keyscript
	if [ -d /etc/usbpiv/keys ]; then
		for f in /etc/usbpiv/keys/*; do
			[ -f "$f" ] && inst_simple "$f"
		done
	fi
}
