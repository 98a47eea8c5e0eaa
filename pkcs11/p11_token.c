/* SPDX-License-Identifier: MIT */
/*
 * C_GetTokenInfo: the token as clients see it.  Its identity (GET
 * VERSION, GET SERIAL), the PIN flags from the module's own VERIFYs and,
 * under USBPIV_COMPAT, the names another module gives it: OpenSC's come
 * from the token's objects, so this file sits above p11_object.c.
 */
#include <stdio.h>
#include <string.h>

#include "p11.h"
#include "../util/util.h"

static CK_FLAGS
p11_tries_flags(int tries, CK_FLAGS low, CK_FLAGS final, CK_FLAGS locked)
{
	if (tries < 0)
		return 0;
	if (tries == 0)
		return locked;
	if (tries == 1)
		return final | low;
	if (tries < 3)
		return low;
	return 0;
}

/* USBPIV_COMPAT=opensc: label, manufacturer, model and serial as
 * OpenSC's PIV emulation has them (versions 0.0).  Reads the
 * certificates and the CHUID, once per card generation. */
static CK_RV
p11_token_info_opensc(struct p11_slot *slot, CK_TOKEN_INFO *pInfo)
{
	char buf[40];
	CK_RV rv;

	if ((rv = p11_keys_load(slot)) != CKR_OK ||
	    (rv = p11_opensc_label(slot, buf, sizeof(buf))) != CKR_OK)
		return rv;
	p11_padded(pInfo->label, sizeof(pInfo->label), buf);
	p11_padded(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
	    "piv_II");
	p11_padded(pInfo->model, sizeof(pInfo->model), "PKCS#15 emulated");
	if ((rv = p11_opensc_serial(slot, buf, sizeof(buf))) != CKR_OK)
		return rv;
	p11_padded(pInfo->serialNumber, sizeof(pInfo->serialNumber), buf);
	return CKR_OK;
}

CK_RV
C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	struct p11_slot *slot;
	char buf[64];
	CK_RV rv;

	if ((rv = p11_token_begin(slotID, pInfo != NULL, &slot)) != CKR_OK)
		return rv;
	/* The PIN flags from the answers to our own VERIFYs only: asking
	 * the card here costs a VERIFY before nearly every C_Login. */
	if (!slot->token_present) {
		rv = CKR_DEVICE_REMOVED;
		goto out;
	}
	memset(pInfo, 0, sizeof(*pInfo));
	if (p11_mod.compat == P11_COMPAT_OPENSC) {
		if ((rv = p11_token_info_opensc(slot, pInfo)) != CKR_OK)
			goto out;
	} else if (p11_mod.compat == P11_COMPAT_YKCS11 &&
	    slot->id.has_version) {
		/* ykcs11 2.x: its label, manufacturer and the model by the
		 * major version; hardware version 1.0 */
		snprintf(buf, sizeof(buf), "YubiKey PIV #%u",
		    (unsigned)slot->id.serial);
		p11_padded(pInfo->label, sizeof(pInfo->label), buf);
		p11_padded(pInfo->manufacturerID,
		    sizeof(pInfo->manufacturerID), "Yubico (www.yubico.com)");
		p11_padded(pInfo->model, sizeof(pInfo->model),
		    slot->id.version[0] < 4 ? "YubiKey NEO" :
		    slot->id.version[0] == 4 ? "YubiKey YK4" : "YubiKey YK5");
		pInfo->hardwareVersion.major = 1;
		pInfo->firmwareVersion.major = slot->id.version[0];
		pInfo->firmwareVersion.minor = (CK_BYTE)(slot->id.version[1] *
		    10 + slot->id.version[2]);
	} else if (slot->id.has_version) {
		snprintf(buf, sizeof(buf), "YubiKey PIV #%u",
		    (unsigned)slot->id.serial);
		p11_padded(pInfo->label, sizeof(pInfo->label), buf);
		p11_padded(pInfo->manufacturerID,
		    sizeof(pInfo->manufacturerID), "Yubico");
		snprintf(buf, sizeof(buf), "YubiKey %u.%u.%u",
		    slot->id.version[0], slot->id.version[1],
		    slot->id.version[2]);
		p11_padded(pInfo->model, sizeof(pInfo->model), buf);
		pInfo->firmwareVersion.major = slot->id.version[0];
		pInfo->firmwareVersion.minor = (CK_BYTE)(slot->id.version[1] *
		    10 + slot->id.version[2]);
	} else {
		if (slot->id.has_serial)
			snprintf(buf, sizeof(buf), "PIV Card #%u",
			    (unsigned)slot->id.serial);
		else
			snprintf(buf, sizeof(buf), "PIV Card");
		p11_padded(pInfo->label, sizeof(pInfo->label), buf);
		p11_padded(pInfo->manufacturerID,
		    sizeof(pInfo->manufacturerID), slot->reader.manuf);
		p11_padded(pInfo->model, sizeof(pInfo->model), "PIV");
	}
	if (p11_mod.compat == P11_COMPAT_OPENSC)
		;	/* done above */
	else if (slot->id.has_serial)
		snprintf(buf, sizeof(buf), "%u", (unsigned)slot->id.serial);
	else if (slot->id.has_guid)
		util_hex(slot->id.guid, 8, buf);
	else
		buf[0] = '\0';
	if (p11_mod.compat != P11_COMPAT_OPENSC)
		p11_padded(pInfo->serialNumber, sizeof(pInfo->serialNumber),
		    buf);
	pInfo->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED |
	    CKF_TOKEN_INITIALIZED;
	pInfo->flags |= p11_tries_flags(slot->pin_tries, CKF_USER_PIN_COUNT_LOW,
	    CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_LOCKED);
	pInfo->flags |= p11_tries_flags(slot->puk_tries, CKF_SO_PIN_COUNT_LOW,
	    CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_LOCKED);
	pInfo->ulMaxSessionCount = P11_MAX_SESSIONS;
	pInfo->ulSessionCount = slot->nsess;
	pInfo->ulMaxRwSessionCount = P11_MAX_SESSIONS;
	pInfo->ulRwSessionCount = slot->nrw;
	/* as that module says (ykcs11: 48, OpenSC: 4) */
	pInfo->ulMaxPinLen = p11_mod.compat == P11_COMPAT_YKCS11 ? 48 : 8;
	pInfo->ulMinPinLen = p11_mod.compat == P11_COMPAT_OPENSC ? 4 : 6;
	pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime));
out:
	p11_slot_release(slot);
	return rv;
}
