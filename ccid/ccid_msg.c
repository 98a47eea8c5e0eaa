/* SPDX-License-Identifier: MIT */
/*
 * ccid/ccid_msg.c — CCID 1.1 frames: PC_to_RDR built, RDR_to_PC parsed,
 * bStatus/bError mapped, SetParameters structures, NotifySlotChange.
 * Everything here is pure (bytes in, bytes or a struct out).
 */
#include "ccid_int.h"

#include <string.h>

#include "../util/util.h"

int
ccid_msg_build(uint8_t type, uint8_t slot, uint8_t seq, uint8_t p1,
    uint8_t p2, uint8_t p3, const uint8_t *data, size_t dlen, uint8_t *out,
    size_t cap, size_t *len)
{
	if (len != NULL)
		*len = 0;
	if (out == NULL || len == NULL || (data == NULL && dlen > 0) ||
	    dlen > UINT32_MAX || cap < CCID_HDR_LEN ||
	    dlen > cap - CCID_HDR_LEN)
		return CCID_ERR_ARG;
	out[0] = type;
	out[1] = (uint8_t)dlen;
	out[2] = (uint8_t)(dlen >> 8);
	out[3] = (uint8_t)(dlen >> 16);
	out[4] = (uint8_t)(dlen >> 24);
	out[5] = slot;
	out[6] = seq;
	out[7] = p1;
	out[8] = p2;
	out[9] = p3;
	if (dlen > 0)
		memcpy(out + CCID_HDR_LEN, data, dlen);
	*len = CCID_HDR_LEN + dlen;
	return 0;
}

uint8_t
ccid_msg_reply_type(uint8_t pc_type)
{
	switch (pc_type) {
	case CCID_PC_ICC_POWER_ON:
	case CCID_PC_XFR_BLOCK:
	case CCID_PC_SECURE:
		return CCID_RDR_DATA_BLOCK;
	case CCID_PC_ICC_POWER_OFF:
	case CCID_PC_GET_SLOT_STATUS:
	case CCID_PC_ICC_CLOCK:
	case CCID_PC_T0_APDU:
	case CCID_PC_MECHANICAL:
	case CCID_PC_ABORT:
		return CCID_RDR_SLOT_STATUS;
	case CCID_PC_GET_PARAMETERS:
	case CCID_PC_RESET_PARAMETERS:
	case CCID_PC_SET_PARAMETERS:
		return CCID_RDR_PARAMETERS;
	case CCID_PC_ESCAPE:
		return CCID_RDR_ESCAPE;
	case CCID_PC_SET_RATE_CLOCK:
		return CCID_RDR_RATE_CLOCK;
	default:
		return 0;
	}
}

int
ccid_msg_parse(const uint8_t *buf, size_t len, size_t max_len,
    struct ccid_msg *out)
{
	rbuf_t b;
	size_t body;

	if (out == NULL)
		return CCID_ERR_ARG;
	memset(out, 0, sizeof(*out));
	if (buf == NULL || len < CCID_HDR_LEN)
		return CCID_ERR_PROTO;
	rbuf_init(&b, buf, len);
	rbuf_u8(&b, &out->type);
	rbuf_le32(&b, &out->dwLength);
	rbuf_u8(&b, &out->bSlot);
	rbuf_u8(&b, &out->bSeq);
	rbuf_u8(&b, &out->bStatus);
	rbuf_u8(&b, &out->bError);
	rbuf_u8(&b, &out->bSpecific);
	if (b.err)
		goto bad;
	body = len - CCID_HDR_LEN;
	/* The header's length is never trusted over the bytes received. */
	if ((uint64_t)out->dwLength != (uint64_t)body ||
	    (uint64_t)out->dwLength > (uint64_t)max_len)
		goto bad;
	if (rbuf_ptr(&b, body, &out->data) != 0)
		goto bad;
	out->data_len = body;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return CCID_ERR_PROTO;
}

const char *
ccid_berror_name(uint8_t e)
{
	switch (e) {
	case CCID_BERR_CMD_ABORTED: return "CMD_ABORTED";
	case CCID_BERR_ICC_MUTE: return "ICC_MUTE";
	case CCID_BERR_XFR_PARITY_ERROR: return "XFR_PARITY_ERROR";
	case CCID_BERR_XFR_OVERRUN: return "XFR_OVERRUN";
	case CCID_BERR_HW_ERROR: return "HW_ERROR";
	case CCID_BERR_BAD_ATR_TS: return "BAD_ATR_TS";
	case CCID_BERR_BAD_ATR_TCK: return "BAD_ATR_TCK";
	case CCID_BERR_ICC_PROTOCOL_NOT_SUPPORTED:
		return "ICC_PROTOCOL_NOT_SUPPORTED";
	case CCID_BERR_ICC_CLASS_NOT_SUPPORTED:
		return "ICC_CLASS_NOT_SUPPORTED";
	case CCID_BERR_PROCEDURE_BYTE_CONFLICT:
		return "PROCEDURE_BYTE_CONFLICT";
	case CCID_BERR_DEACTIVATED_PROTOCOL: return "DEACTIVATED_PROTOCOL";
	case CCID_BERR_BUSY_WITH_AUTO_SEQUENCE:
		return "BUSY_WITH_AUTO_SEQUENCE";
	case CCID_BERR_PIN_TIMEOUT: return "PIN_TIMEOUT";
	case CCID_BERR_PIN_CANCELLED: return "PIN_CANCELLED";
	case CCID_BERR_CMD_SLOT_BUSY: return "CMD_SLOT_BUSY";
	case CCID_BERR_CMD_NOT_SUPPORTED: return "CMD_NOT_SUPPORTED";
	default:
		if (e < 0x80)
			return "bad parameter at offset";
		return "vendor error";
	}
}

int
ccid_msg_error(uint8_t bStatus, uint8_t bError)
{
	uint8_t icc = bStatus & CCID_ICC_MASK;

	switch (bError) {
	case CCID_BERR_CMD_ABORTED: return CCID_ERR_ABORTED;
	case CCID_BERR_ICC_MUTE:
		/* the ICC status says why the card did not answer */
		if (icc == CCID_SLOT_ABSENT)
			return CCID_ERR_NO_CARD;
		if (icc == CCID_SLOT_INACTIVE)
			return CCID_ERR_CARD_INACTIVE;
		return CCID_ERR_CARD_MUTE;
	case CCID_BERR_XFR_PARITY_ERROR:
	case CCID_BERR_XFR_OVERRUN:
	case CCID_BERR_HW_ERROR:
		return CCID_ERR_HW;
	case CCID_BERR_BAD_ATR_TS:
	case CCID_BERR_BAD_ATR_TCK:
		return CCID_ERR_BAD_ATR;
	case CCID_BERR_ICC_PROTOCOL_NOT_SUPPORTED: return CCID_ERR_ICC_PROTOCOL;
	case CCID_BERR_ICC_CLASS_NOT_SUPPORTED: return CCID_ERR_ICC_CLASS;
	case CCID_BERR_PROCEDURE_BYTE_CONFLICT: return CCID_ERR_PROCEDURE_BYTE;
	case CCID_BERR_DEACTIVATED_PROTOCOL: return CCID_ERR_DEACTIVATED;
	case CCID_BERR_BUSY_WITH_AUTO_SEQUENCE: return CCID_ERR_AUTO_SEQUENCE;
	case CCID_BERR_PIN_TIMEOUT: return CCID_ERR_PIN_TIMEOUT;
	case CCID_BERR_PIN_CANCELLED: return CCID_ERR_PIN_CANCELLED;
	case CCID_BERR_CMD_SLOT_BUSY: return CCID_ERR_SLOT_BUSY;
	case CCID_BERR_CMD_NOT_SUPPORTED: return CCID_ERR_CMD_UNSUPPORTED;
	default:
		if (bError < 0x80)
			return CCID_ERR_BAD_PARAM;
		if (icc == CCID_SLOT_ABSENT)
			return CCID_ERR_NO_CARD;
		return CCID_ERR_HW;	/* vendor-defined failure */
	}
}

int
ccid_params_encode(const struct ccid_params *p, uint8_t *out, size_t cap,
    size_t *len)
{
	size_t n;

	if (len != NULL)
		*len = 0;
	if (p == NULL || out == NULL || len == NULL || p->protocol > 1)
		return CCID_ERR_ARG;
	n = p->protocol == 0 ? 5 : 7;
	if (cap < n)
		return CCID_ERR_ARG;
	out[0] = p->fidi;
	out[1] = p->tcck;
	out[2] = p->guard;
	out[3] = p->wi;
	out[4] = p->clock_stop;
	if (p->protocol == 1) {
		out[5] = p->ifsc;
		out[6] = p->nad;
	}
	*len = n;
	return 0;
}

int
ccid_params_decode(uint8_t protocol, const uint8_t *buf, size_t len,
    struct ccid_params *p)
{
	size_t need;

	if (p != NULL)
		memset(p, 0, sizeof(*p));
	if (p == NULL || (buf == NULL && len != 0))
		return CCID_ERR_ARG;
	if (protocol > 1)
		return CCID_ERR_PROTO;
	need = protocol == 0 ? 5 : 7;
	if (len != need)
		return CCID_ERR_PROTO;
	p->protocol = protocol;
	p->fidi = buf[0];
	p->tcck = buf[1];
	p->guard = buf[2];
	p->wi = buf[3];
	p->clock_stop = buf[4];
	if (protocol == 1) {
		p->ifsc = buf[5];
		p->nad = buf[6];
	}
	return 0;
}

void
ccid_params_from_atr(const struct ccid_atr *atr, int t, uint8_t fidi,
    struct ccid_params *p)
{
	int inverse = atr->ts == 0x3f;

	memset(p, 0, sizeof(*p));
	p->protocol = t == 1 ? 1 : 0;
	p->fidi = fidi;
	p->guard = atr->has_tc1 ? atr->tc1 : 0;
	if (t == 1) {
		/* bmTCCKST1: 0x10 | convention (bit 1) | CRC (bit 0) */
		p->tcck = (uint8_t)(0x10 | (inverse ? 0x02 : 0) |
		    (atr->edc_crc ? 0x01 : 0));
		p->wi = (uint8_t)((atr->bwi & 0x0f) << 4 | (atr->cwi & 0x0f));
		p->ifsc = atr->ifsc;
		p->nad = 0;
	} else {
		p->tcck = inverse ? 0x02 : 0x00;
		/* WI: TC2 when the card gives one (00 is RFU), else 10 */
		p->wi = atr->has_tc2 && atr->tc2 != 0 ? atr->tc2 : 10;
	}
}

int
ccid_notify_parse(const uint8_t *buf, size_t len, size_t nslots,
    uint32_t *changed, uint32_t *present)
{
	size_t need, i;
	uint8_t bits;

	if (changed != NULL)
		*changed = 0;
	if (present != NULL)
		*present = 0;
	if (buf == NULL || changed == NULL || present == NULL ||
	    nslots == 0 || nslots > 32)
		return CCID_ERR_ARG;
	need = 1 + (nslots * 2 + 7) / 8;
	if (len < need || buf[0] != CCID_RDR_NOTIFY_SLOT_CHANGE)
		return CCID_ERR_PROTO;
	for (i = 0; i < nslots; i++) {
		bits = (uint8_t)(buf[1 + i / 4] >> ((i % 4) * 2));
		if (bits & 0x01)
			*present |= 1u << i;
		if (bits & 0x02)
			*changed |= 1u << i;
	}
	return 0;
}
