/* SPDX-License-Identifier: MIT */
/* ccid/ccid_err.c — names for CCID_ERR_* codes. */
#include "ccid.h"

const char *
ccid_strerror(int err)
{
	switch (err) {
	case CCID_OK: return "success";
	case CCID_ERR_ARG: return "invalid argument";
	case CCID_ERR_NOMEM: return "out of memory";
	case CCID_ERR_IO: return "reader I/O failure";
	case CCID_ERR_TIMEOUT:
		return "timed out (no answer in time, or the reader sent more "
		    "time extensions than one command may take)";
	case CCID_ERR_REMOVED: return "reader removed";
	case CCID_ERR_BUSY: return "reader in use by another program";
	case CCID_ERR_ACCESS: return "permission denied on the reader";
	case CCID_ERR_NO_CARD: return "no card in the slot";
	case CCID_ERR_CARD_INACTIVE: return "card present but not powered";
	case CCID_ERR_CARD_MUTE: return "card did not answer (ICC_MUTE)";
	case CCID_ERR_PROTO: return "malformed or unexpected CCID message";
	case CCID_ERR_HW: return "reader hardware or transmission error";
	case CCID_ERR_UNSUPPORTED: return "not supported by this reader";
	case CCID_ERR_SLOT_BUSY: return "slot busy (CMD_SLOT_BUSY)";
	case CCID_ERR_ABORTED: return "command aborted (CMD_ABORTED)";
	case CCID_ERR_T1: return "T=1 protocol failure";
	case CCID_ERR_BUFFER: return "response larger than the buffer";
	case CCID_ERR_CARD_CHANGED: return "card changed since power on";
	case CCID_ERR_LOCKED: return "reader lock not obtained in time";
	case CCID_ERR_BAD_ATR: return "bad ATR (BAD_ATR_TS / BAD_ATR_TCK)";
	case CCID_ERR_ICC_PROTOCOL:
		return "card protocol not supported (ICC_PROTOCOL_NOT_SUPPORTED)";
	case CCID_ERR_ICC_CLASS:
		return "card voltage class not supported (ICC_CLASS_NOT_SUPPORTED)";
	case CCID_ERR_PROCEDURE_BYTE:
		return "procedure byte conflict (PROCEDURE_BYTE_CONFLICT)";
	case CCID_ERR_DEACTIVATED:
		return "protocol deactivated (DEACTIVATED_PROTOCOL)";
	case CCID_ERR_AUTO_SEQUENCE:
		return "reader busy with automatic sequence";
	case CCID_ERR_PIN_TIMEOUT: return "PIN entry timed out (PIN_TIMEOUT)";
	case CCID_ERR_PIN_CANCELLED: return "PIN entry cancelled (PIN_CANCELLED)";
	case CCID_ERR_CMD_UNSUPPORTED: return "command not supported by reader";
	case CCID_ERR_BAD_PARAM: return "reader rejected a message field";
	default: return "unknown ccid error";
	}
}
