/* SPDX-License-Identifier: MIT */
/*
 * vt_ccid.h — what the virtual token knows of USB CCID 1.1 and ICCD 1.0:
 * the class descriptor, its feature bits and the message types, from the
 * specifications (the emulator's own copy, see vt_util.h for why).
 */
#ifndef VTOKEN_VT_CCID_H
#define VTOKEN_VT_CCID_H

#include <stdint.h>

/* The CCID class descriptor (CCID 1.1 §5.1), host byte order. */
struct vt_ccid_desc {
	uint16_t bcdCCID;
	uint8_t bMaxSlotIndex;
	uint8_t bVoltageSupport;	/* bit0 5V, bit1 3V, bit2 1.8V */
	uint32_t dwProtocols;		/* bit0 T=0, bit1 T=1 */
	uint32_t dwDefaultClock;
	uint32_t dwMaximumClock;
	uint8_t bNumClockSupported;
	uint32_t dwDataRate;
	uint32_t dwMaxDataRate;
	uint8_t bNumDataRatesSupported;
	uint32_t dwMaxIFSD;
	uint32_t dwSynchProtocols;
	uint32_t dwMechanical;
	uint32_t dwFeatures;
	uint32_t dwMaxCCIDMessageLength;
	uint8_t bClassGetResponse;
	uint8_t bClassEnvelope;
	uint16_t wLcdLayout;
	uint8_t bPINSupport;
	uint8_t bMaxCCIDBusySlots;
};

#define VT_CCID_DESC_LEN		54	/* bLength of the descriptor */

/* dwFeatures (CCID 1.1 §5.1) */
#define VT_CCID_FEAT_AUTO_CONF_ATR	0x00000002u
#define VT_CCID_FEAT_AUTO_ACTIVATION	0x00000004u
#define VT_CCID_FEAT_AUTO_VOLTAGE	0x00000008u
#define VT_CCID_FEAT_AUTO_CLOCK		0x00000010u
#define VT_CCID_FEAT_AUTO_BAUD		0x00000020u
#define VT_CCID_FEAT_AUTO_PPS_PROP	0x00000040u
#define VT_CCID_FEAT_AUTO_PPS_CUR	0x00000080u
#define VT_CCID_FEAT_AUTO_IFSD		0x00000400u
#define VT_CCID_FEAT_LEVEL_MASK		0x00070000u
#define VT_CCID_FEAT_LEVEL_CHAR		0x00000000u
#define VT_CCID_FEAT_LEVEL_TPDU		0x00010000u
#define VT_CCID_FEAT_LEVEL_SHORT_APDU	0x00020000u
#define VT_CCID_FEAT_LEVEL_EXT_APDU	0x00040000u

/* bInterfaceProtocol of a class 0x0B interface (ICCD 1.0 §4.2): 0 CCID
 * over bulk, 1 ICCD version A, 2 ICCD version B (both on the control
 * pipe). */
#define VT_ICCD_A			1
#define VT_ICCD_B			2

/* Message types (CCID 1.1 §6): host to reader ... */
#define VT_CCID_PC_SET_PARAMETERS	0x61
#define VT_CCID_PC_ICC_POWER_ON		0x62
#define VT_CCID_PC_ICC_POWER_OFF	0x63
#define VT_CCID_PC_GET_SLOT_STATUS	0x65
#define VT_CCID_PC_SECURE		0x69
#define VT_CCID_PC_T0_APDU		0x6A
#define VT_CCID_PC_ESCAPE		0x6B
#define VT_CCID_PC_GET_PARAMETERS	0x6C
#define VT_CCID_PC_RESET_PARAMETERS	0x6D
#define VT_CCID_PC_ICC_CLOCK		0x6E
#define VT_CCID_PC_XFR_BLOCK		0x6F
#define VT_CCID_PC_MECHANICAL		0x71
#define VT_CCID_PC_ABORT		0x72
#define VT_CCID_PC_SET_RATE_CLOCK	0x73
/* ... reader to host (bulk-IN), and on the interrupt pipe */
#define VT_CCID_RDR_DATA_BLOCK		0x80
#define VT_CCID_RDR_SLOT_STATUS		0x81
#define VT_CCID_RDR_PARAMETERS		0x82
#define VT_CCID_RDR_ESCAPE		0x83
#define VT_CCID_RDR_RATE_CLOCK		0x84
#define VT_CCID_RDR_NOTIFY_SLOT_CHANGE	0x50
#define VT_CCID_RDR_HARDWARE_ERROR	0x51

#define VT_CCID_HDR_LEN			10	/* every message's header */

#endif
