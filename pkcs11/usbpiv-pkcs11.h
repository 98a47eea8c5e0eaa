/* SPDX-License-Identifier: MIT */
/*
 * usbpiv-pkcs11.so: vendor-defined attributes (public).
 *
 * On C_GenerateKeyPair / C_CreateObject (private key import) the PIV
 * slot is chosen by CKA_ID (01 = 9A, 02 = 9C, 03 = 9D, 04 = 9E, then the
 * retired slots per USBPIV_COMPAT or USBPIV_ID_STYLE), and the YubiKey PIN
 * and touch policies by the two attributes below (a CK_BYTE; PIV_PINPOLICY_* /
 * PIV_TOUCHPOLICY_* values: 0 default, 1 never, 2 once / always,
 * 3 always / cached).  Both are also readable on private keys when the
 * card reported them.
 */
#ifndef USBPIV_PKCS11_H
#define USBPIV_PKCS11_H

#define CKA_USBPIV_BASE		(0x80000000UL | 0x55504900UL)	/* "UPI" */
#define CKA_USBPIV_PIN_POLICY	(CKA_USBPIV_BASE + 1)
#define CKA_USBPIV_TOUCH_POLICY	(CKA_USBPIV_BASE + 2)
#define CKA_USBPIV_SLOT		(CKA_USBPIV_BASE + 3)	/* CK_BYTE, read-only */

#endif
