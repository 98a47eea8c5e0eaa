/* SPDX-License-Identifier: MIT */
/* tests/test_ccid_msg.c — the pure parts of ccid/: PC_to_RDR frames,
 * RDR_to_PC parsing, bStatus/bError mapping, SetParameters structures,
 * NotifySlotChange bitmaps, the ATR parser and T=1 block coding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../ccid/ccid_int.h"
#include "../util/util.h"

static void
hexin(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	assert_int_equal(util_unhex(s, out, cap, n), 0);
}

/* Every PC_to_RDR message: type, dwLength LE, bSlot, bSeq, 3 specific
 * bytes (CCID 1.1 §6.1), and which RDR_to_PC message answers it. */
static void
test_build_every_message(void **state)
{
	static const struct {
		uint8_t type, p1, p2, p3, reply;
		const char *hdr;
	} m[] = {
		{ CCID_PC_ICC_POWER_ON, 0x01, 0, 0, CCID_RDR_DATA_BLOCK,
		    "62 00000000 01 07 010000" },	/* bPowerSelect 5 V */
		{ CCID_PC_ICC_POWER_OFF, 0, 0, 0, CCID_RDR_SLOT_STATUS,
		    "63 00000000 01 07 000000" },
		{ CCID_PC_GET_SLOT_STATUS, 0, 0, 0, CCID_RDR_SLOT_STATUS,
		    "65 00000000 01 07 000000" },
		{ CCID_PC_XFR_BLOCK, 0x05, 0x10, 0x00, CCID_RDR_DATA_BLOCK,
		    "6F 00000000 01 07 051000" },	/* bBWI 5, wLevel 0x0010 */
		{ CCID_PC_GET_PARAMETERS, 0, 0, 0, CCID_RDR_PARAMETERS,
		    "6C 00000000 01 07 000000" },
		{ CCID_PC_RESET_PARAMETERS, 0, 0, 0, CCID_RDR_PARAMETERS,
		    "6D 00000000 01 07 000000" },
		{ CCID_PC_SET_PARAMETERS, 0x01, 0, 0, CCID_RDR_PARAMETERS,
		    "61 00000000 01 07 010000" },
		{ CCID_PC_ESCAPE, 0, 0, 0, CCID_RDR_ESCAPE,
		    "6B 00000000 01 07 000000" },
		{ CCID_PC_ICC_CLOCK, 0x01, 0, 0, CCID_RDR_SLOT_STATUS,
		    "6E 00000000 01 07 010000" },	/* stop clock */
		{ CCID_PC_T0_APDU, 0x03, 0xC0, 0xC2, CCID_RDR_SLOT_STATUS,
		    "6A 00000000 01 07 03C0C2" },
		{ CCID_PC_SECURE, 0x00, 0x00, 0x00, CCID_RDR_DATA_BLOCK,
		    "69 00000000 01 07 000000" },
		{ CCID_PC_MECHANICAL, 0x04, 0, 0, CCID_RDR_SLOT_STATUS,
		    "71 00000000 01 07 040000" },	/* unlock */
		{ CCID_PC_ABORT, 0, 0, 0, CCID_RDR_SLOT_STATUS,
		    "72 00000000 01 07 000000" },
		{ CCID_PC_SET_RATE_CLOCK, 0, 0, 0, CCID_RDR_RATE_CLOCK,
		    "73 00000000 01 07 000000" },
	};
	uint8_t out[64], want[16];
	size_t i, n, wn;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(m); i++) {
		assert_int_equal(ccid_msg_build(m[i].type, 1, 7, m[i].p1,
		    m[i].p2, m[i].p3, NULL, 0, out, sizeof(out), &n), 0);
		hexin(m[i].hdr, want, sizeof(want), &wn);
		assert_int_equal(n, wn);
		assert_memory_equal(out, want, n);
		assert_int_equal(ccid_msg_reply_type(m[i].type), m[i].reply);
	}
	assert_int_equal(ccid_msg_reply_type(0x00), 0);
}

static void
test_build_with_data(void **state)
{
	/* SetDataRateAndClockFrequency: dwClockFrequency, dwDataRate */
	const uint8_t rate[8] = { 0x40, 0x1f, 0, 0, 0x80, 0x25, 0, 0 };
	uint8_t out[32], big[300];
	size_t n = 99;

	(void)state;
	assert_int_equal(ccid_msg_build(CCID_PC_SET_RATE_CLOCK, 0, 0x42, 0, 0,
	    0, rate, sizeof(rate), out, sizeof(out), &n), 0);
	assert_int_equal(n, 18);
	assert_memory_equal(out, "\x73\x08\x00\x00\x00\x00\x42\x00\x00\x00",
	    10);
	assert_memory_equal(out + 10, rate, 8);
	/* too small an output: error, length 0 */
	memset(big, 0, sizeof(big));
	n = 99;
	assert_int_equal(ccid_msg_build(CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 0, big,
	    sizeof(big), out, sizeof(out), &n), CCID_ERR_ARG);
	assert_int_equal(n, 0);
	assert_int_equal(ccid_msg_build(CCID_PC_XFR_BLOCK, 0, 0, 0, 0, 0, NULL,
	    1, out, sizeof(out), &n), CCID_ERR_ARG);
}

static void
test_params(void **state)
{
	struct ccid_params p;
	struct ccid_atr a;
	uint8_t atr[40], out[8];
	size_t n, alen;

	(void)state;
	hexin("3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59 75 62 69 4B"
	    " 65 79 40", atr, sizeof(atr), &alen);
	assert_int_equal(ccid_atr_parse(atr, alen, &a), 0);
	ccid_params_from_atr(&a, 1, a.ta1, &p);
	assert_int_equal(ccid_params_encode(&p, out, sizeof(out), &n), 0);
	/* bmFindexDindex 13, bmTCCKST1 10 (LRC, direct), guard 00,
	 * BWI 1 / CWI 5, clock stop 0, IFSC FE, NAD 0 */
	assert_int_equal(n, 7);
	assert_memory_equal(out, "\x13\x10\x00\x15\x00\xfe\x00", 7);
	a.edc_crc = 1;
	a.ts = 0x3f;
	ccid_params_from_atr(&a, 1, 0x11, &p);
	assert_int_equal(ccid_params_encode(&p, out, sizeof(out), &n), 0);
	assert_int_equal(out[0], 0x11);
	assert_int_equal(out[1], 0x13);		/* CRC + inverse */
	ccid_params_from_atr(&a, 0, 0x11, &p);
	assert_int_equal(ccid_params_encode(&p, out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "\x11\x02\x00\x0a\x00", 5);
	assert_int_equal(ccid_params_encode(&p, out, 4, &n), CCID_ERR_ARG);
	assert_int_equal(n, 0);
}

static void
test_parse_ok(void **state)
{
	uint8_t f[] = { 0x80, 3, 0, 0, 0, 0, 9, 0x00, 0x00, 0x00, 0x90, 0x00,
	    0x55 };
	struct ccid_msg m;

	(void)state;
	assert_int_equal(ccid_msg_parse(f, sizeof(f), 300, &m), 0);
	assert_int_equal(m.type, 0x80);
	assert_int_equal(m.dwLength, 3);
	assert_int_equal(m.bSeq, 9);
	assert_int_equal(m.data_len, 3);
	assert_ptr_equal(m.data, f + 10);
}

static void
test_parse_rejects(void **state)
{
	uint8_t f[16] = { 0x80, 3, 0, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3 };
	struct ccid_msg m;
	size_t n;

	(void)state;
	/* shorter than a header, each length */
	for (n = 0; n < 10; n++)
		assert_int_equal(ccid_msg_parse(f, n, 300, &m),
		    CCID_ERR_PROTO);
	/* dwLength claims more than received */
	assert_int_equal(ccid_msg_parse(f, 12, 300, &m), CCID_ERR_PROTO);
	assert_int_equal(m.data_len, 0);
	assert_null(m.data);
	/* and fewer than received */
	assert_int_equal(ccid_msg_parse(f, 14, 300, &m), CCID_ERR_PROTO);
	/* over the maximum */
	assert_int_equal(ccid_msg_parse(f, 13, 2, &m), CCID_ERR_PROTO);
	/* a huge dwLength (sign/overflow games) */
	f[1] = 0xff; f[2] = 0xff; f[3] = 0xff; f[4] = 0xff;
	assert_int_equal(ccid_msg_parse(f, 13, SIZE_MAX, &m), CCID_ERR_PROTO);
	assert_int_equal(ccid_msg_parse(NULL, 13, 300, &m), CCID_ERR_PROTO);
	assert_int_equal(ccid_msg_parse(f, 13, 300, NULL), CCID_ERR_ARG);
}

static void
test_error_map(void **state)
{
	static const struct { uint8_t st, e; int want; } t[] = {
		{ 0x40, 0xff, CCID_ERR_ABORTED },
		{ 0x40, 0xfe, CCID_ERR_CARD_MUTE },
		{ 0x41, 0xfe, CCID_ERR_CARD_INACTIVE },
		{ 0x42, 0xfe, CCID_ERR_NO_CARD },
		{ 0x40, 0xfd, CCID_ERR_HW },	/* XFR_PARITY_ERROR */
		{ 0x40, 0xfc, CCID_ERR_HW },	/* XFR_OVERRUN */
		{ 0x40, 0xfb, CCID_ERR_HW },	/* HW_ERROR */
		{ 0x40, 0xf8, CCID_ERR_BAD_ATR },	/* BAD_ATR_TS */
		{ 0x40, 0xf7, CCID_ERR_BAD_ATR },	/* BAD_ATR_TCK */
		{ 0x40, 0xf6, CCID_ERR_ICC_PROTOCOL },
		{ 0x40, 0xf5, CCID_ERR_ICC_CLASS },
		{ 0x40, 0xf4, CCID_ERR_PROCEDURE_BYTE },
		{ 0x40, 0xf3, CCID_ERR_DEACTIVATED },
		{ 0x40, 0xf2, CCID_ERR_AUTO_SEQUENCE },
		{ 0x40, 0xf0, CCID_ERR_PIN_TIMEOUT },
		{ 0x40, 0xef, CCID_ERR_PIN_CANCELLED },
		{ 0x40, 0xe0, CCID_ERR_SLOT_BUSY },
		{ 0x40, 0x00, CCID_ERR_CMD_UNSUPPORTED },
		{ 0x40, 0x01, CCID_ERR_BAD_PARAM },	/* offset: bMessageType */
		{ 0x40, 0x05, CCID_ERR_BAD_PARAM },	/* offset: bSlot */
		{ 0x40, 0x07, CCID_ERR_BAD_PARAM },	/* offset: bPowerSelect */
		{ 0x40, 0x7f, CCID_ERR_BAD_PARAM },
		{ 0x40, 0xc0, CCID_ERR_HW },		/* vendor */
		{ 0x42, 0x90, CCID_ERR_NO_CARD },
	};
	size_t i;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(t); i++) {
		assert_int_equal(ccid_msg_error(t[i].st, t[i].e), t[i].want);
		assert_non_null(ccid_berror_name(t[i].e));
	}
	assert_string_equal(ccid_berror_name(0xfe), "ICC_MUTE");
	assert_string_equal(ccid_berror_name(0xfd), "XFR_PARITY_ERROR");
	assert_string_equal(ccid_berror_name(0xe0), "CMD_SLOT_BUSY");
}

static void
test_strerror(void **state)
{
	int e;

	(void)state;
	for (e = 0; e >= CCID_ERR_BAD_PARAM; e--)
		assert_string_not_equal(ccid_strerror(e), "unknown ccid error");
	assert_string_equal(ccid_strerror(-1000), "unknown ccid error");
}

static void
test_notify(void **state)
{
	uint32_t ch, pr;
	/* 5 slots: 1 + ceil(10 / 8) = 3 bytes.  slot0 present+changed (11),
	 * slot1 absent (00), slot2 changed to absent (10), slot3 present
	 * (01); slot4 present+changed (11) in the next byte. */
	const uint8_t five[] = { 0x50, 0x63, 0x03 };

	(void)state;
	assert_int_equal(ccid_notify_parse((const uint8_t *)"\x50\x03", 2, 1,
	    &ch, &pr), 0);
	assert_int_equal(ch, 1);
	assert_int_equal(pr, 1);
	assert_int_equal(ccid_notify_parse((const uint8_t *)"\x50\x02", 2, 1,
	    &ch, &pr), 0);
	assert_int_equal(ch, 1);
	assert_int_equal(pr, 0);
	assert_int_equal(ccid_notify_parse(five, 3, 5, &ch, &pr), 0);
	assert_int_equal(ch, 0x15);
	assert_int_equal(pr, 0x19);
	/* short for its slot count: rejected, outputs zero */
	assert_int_equal(ccid_notify_parse(five, 2, 5, &ch, &pr),
	    CCID_ERR_PROTO);
	assert_int_equal(ch, 0);
	assert_int_equal(pr, 0);
	assert_int_equal(ccid_notify_parse(five, 1, 1, &ch, &pr),
	    CCID_ERR_PROTO);
	assert_int_equal(ccid_notify_parse((const uint8_t *)"\x51\x03", 2, 1,
	    &ch, &pr), CCID_ERR_PROTO);
	assert_int_equal(ccid_notify_parse(five, 3, 33, &ch, &pr),
	    CCID_ERR_ARG);
}

/* ---- ATR ---------------------------------------------------------------- */

static int
atr(const char *hex, struct ccid_atr *a)
{
	uint8_t b[64];
	size_t n;

	hexin(hex, b, sizeof(b), &n);
	return ccid_atr_parse(b, n, a);
}

static void
test_atr_yubikey(void **state)
{
	struct ccid_atr a;

	(void)state;
	assert_int_equal(atr("3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59"
	    " 75 62 69 4B 65 79 40", &a), 0);
	assert_int_equal(a.len, 23);
	assert_int_equal(a.ts, 0x3b);
	assert_int_equal(a.protocols, 0x2);
	assert_int_equal(a.first_protocol, 1);
	assert_true(a.has_ta1);
	assert_int_equal(a.ta1, 0x13);
	assert_true(a.has_tc1);
	assert_int_equal(a.tc1, 0);
	assert_false(a.has_ta2);
	assert_int_equal(a.ifsc, 0xfe);
	assert_int_equal(a.bwi, 1);
	assert_int_equal(a.cwi, 5);
	assert_int_equal(a.edc_crc, 0);
	assert_int_equal(a.hist_len, 13);
	assert_memory_equal(a.hist, "\x80\x73\xc0\x21\xc0" "WYubiKey", 13);
	assert_true(a.has_tck);
	assert_true(a.tck_ok);
}

static void
test_atr_others(void **state)
{
	struct ccid_atr a;

	(void)state;
	/* T=0 only, no TD1, no TCK */
	assert_int_equal(atr("3B 65 00 00 9C 11 01 01 03", &a), 0);
	assert_int_equal(a.protocols, 0x1);
	assert_int_equal(a.first_protocol, 0);
	assert_false(a.has_tck);
	assert_int_equal(a.hist_len, 5);
	assert_false(a.has_ta1);
	assert_true(a.has_tc1);		/* T0 65: TB1 and TC1 */
	/* PC/SC contactless-style ATR: T=1 via TD2, historical 15 bytes */
	assert_int_equal(atr("3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00"
	    " 00 00 00 6A", &a), 0);
	assert_int_equal(a.protocols, 0x3);
	assert_int_equal(a.hist_len, 15);
	assert_true(a.tck_ok);
	assert_int_equal(a.ifsc, 32);	/* defaults */
	assert_int_equal(a.bwi, 4);
	assert_int_equal(a.cwi, 13);
	/* TA2 specific mode, T=1 with CRC from TC3, inverse convention */
	assert_int_equal(atr("3F 90 96 91 81 71 FE 45 01 DD", &a), 0);
	assert_int_equal(a.ts, 0x3f);
	assert_true(a.has_ta2);
	assert_int_equal(a.ta2, 0x81);
	assert_int_equal(a.ifsc, 0xfe);
	assert_int_equal(a.bwi, 4);
	assert_int_equal(a.cwi, 5);
	assert_int_equal(a.edc_crc, 1);
	assert_true(a.tck_ok);
}

static void
test_atr_malformed(void **state)
{
	static const char *bad[] = {
		"",					/* empty */
		"3B",					/* no T0 */
		"3A 00",				/* bad TS */
		"3B 65 00 00 9C 11 01",			/* hist truncated */
		"3B 80 01",				/* TCK missing */
		"3B 80 81 11",				/* TA for T=1 truncated */
		/* TD chain that never ends, past 33 bytes */
		("3B 80 80 80 80 80 80 80 80 80 80 80 80 80 80 80 80 80 80 80 80"
		    " 80 80 80 80 80 80 80 80 80 80 80 80 80 80"),
		/* TD chain beyond 8 groups inside 33 bytes */
		"3B 80 80 80 80 80 80 80 80 80 80 00",
	};
	struct ccid_atr a;
	size_t i;

	(void)state;
	for (i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		print_message("bad ATR %zu\n", i);
		assert_int_equal(atr(bad[i], &a), CCID_ERR_BAD_ATR);
	}
	/* what real cards get wrong is kept, clamped, and noted */
	assert_int_equal(atr("3B 80 01 80", &a), 0);
	assert_true(a.has_tck);
	assert_false(a.tck_ok);
	assert_int_equal(a.fixes, CCID_ATR_FIX_TCK);
	/* YubiKey with a wrong TCK */
	assert_int_equal(atr("3B FD 13 00 00 81 31 FE 15 80 73 C0 21 C0 57 59"
	    " 75 62 69 4B 65 79 41", &a), 0);
	assert_int_equal(a.fixes, CCID_ATR_FIX_TCK);
	assert_int_equal(a.hist_len, 13);
	/* IFSC 00 and FF are RFU: 32 and 254 */
	assert_int_equal(atr("3B 80 81 11 00 10", &a), 0);
	assert_int_equal(a.ifsc, 32);
	assert_int_equal(a.fixes, CCID_ATR_FIX_IFSC);
	assert_int_equal(atr("3B 80 81 11 FF EF", &a), 0);
	assert_int_equal(a.ifsc, 254);
	assert_int_equal(a.fixes, CCID_ATR_FIX_IFSC);
	/* trailing bytes: the ATR is its own length, TCK checked on it */
	assert_int_equal(atr("3B 65 00 00 9C 11 01 01 03 00", &a), 0);
	assert_int_equal(a.len, 9);
	assert_int_equal(a.fixes, CCID_ATR_FIX_TRAILING);
	assert_int_equal(atr("3B 80 01 81 55 66", &a), 0);
	assert_int_equal(a.len, 4);
	assert_true(a.tck_ok);
	assert_int_equal(a.fixes, CCID_ATR_FIX_TRAILING);
	/* TC2: the T=0 waiting integer */
	assert_int_equal(atr("3B 80 40 20", &a), 0);
	assert_true(a.has_tc2);
	assert_int_equal(a.tc2, 0x20);
	assert_int_equal(a.fixes, 0);
	assert_int_equal(ccid_atr_parse(NULL, 3, &a), CCID_ERR_BAD_ATR);
	assert_int_equal(ccid_atr_parse((const uint8_t *)"\x3b\x00", 2, NULL),
	    CCID_ERR_ARG);
}

/* ---- T=1 block coding ------------------------------------------------- */

static void
test_t1_coding(void **state)
{
	uint8_t out[CCID_T1_MAX_BLOCK + 4], inf[254];
	struct t1_block b;
	size_t n;

	(void)state;
	assert_int_equal(ccid_t1_encode(0, 0x00, (const uint8_t *)"\x00\xa4",
	    2, 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "\x00\x00\x02\x00\xa4\xa6", 6);
	assert_int_equal(ccid_t1_decode(out, n, 0, &b), 0);
	assert_int_equal(b.len, 2);
	/* S(IFS request) FE: 00 C1 01 FE 3E */
	assert_int_equal(ccid_t1_encode(0, 0xc1, (const uint8_t *)"\xfe", 1, 0,
	    out, sizeof(out), &n), 0);
	assert_memory_equal(out, "\x00\xc1\x01\xfe\x3e", 5);
	/* LRC error -> CCID_ERR_T1; length errors -> PROTO */
	out[4] ^= 1;
	assert_int_equal(ccid_t1_decode(out, 5, 0, &b), CCID_ERR_T1);
	assert_int_equal(ccid_t1_decode(out, 4, 0, &b), CCID_ERR_PROTO);
	/* bytes after the block (TPDU readers send them): cut to LEN */
	assert_int_equal(ccid_t1_decode(out, 6, 0, &b), CCID_ERR_T1);
	out[4] ^= 1;
	out[5] = 0x99;
	assert_int_equal(ccid_t1_decode(out, 6, 0, &b), 0);
	assert_int_equal(b.len, 1);
	assert_int_equal(b.inf[0], 0xfe);
	assert_int_equal(ccid_t1_decode(out, 3, 0, &b), CCID_ERR_PROTO);
	/* CRC round trip, and a CRC check value */
	assert_int_equal(ccid_t1_crc((const uint8_t *)"123456789", 9), 0x6f91);
	memset(inf, 0x5a, sizeof(inf));
	assert_int_equal(ccid_t1_encode(0, 0x40, inf, sizeof(inf), 1, out,
	    sizeof(out), &n), 0);
	assert_int_equal(n, 3 + 254 + 2);
	assert_int_equal(ccid_t1_decode(out, n, 1, &b), 0);
	assert_int_equal(b.pcb, 0x40);
	out[100] ^= 0x80;
	assert_int_equal(ccid_t1_decode(out, n, 1, &b), CCID_ERR_T1);
	/* INF over 254 refused both ways */
	assert_int_equal(ccid_t1_encode(0, 0, out, 255, 0, out, sizeof(out),
	    &n), CCID_ERR_ARG);
	assert_int_equal(n, 0);
	/* bad PCBs: R with INF, R type 3, S(VPP), S(WTX) without INF,
	 * NAD != 0 */
	assert_int_equal(ccid_t1_encode(0, 0x80, inf, 1, 0, out, sizeof(out),
	    &n), 0);
	assert_int_equal(ccid_t1_decode(out, n, 0, &b), CCID_ERR_PROTO);
	assert_int_equal(ccid_t1_encode(0, 0x83, NULL, 0, 0, out, sizeof(out),
	    &n), 0);
	assert_int_equal(ccid_t1_decode(out, n, 0, &b), CCID_ERR_PROTO);
	assert_int_equal(ccid_t1_encode(0, 0xe4, NULL, 0, 0, out, sizeof(out),
	    &n), 0);
	assert_int_equal(ccid_t1_decode(out, n, 0, &b), CCID_ERR_PROTO);
	assert_int_equal(ccid_t1_encode(0, 0xc3, NULL, 0, 0, out, sizeof(out),
	    &n), 0);
	assert_int_equal(ccid_t1_decode(out, n, 0, &b), CCID_ERR_PROTO);
	assert_int_equal(ccid_t1_encode(0x21, 0x00, NULL, 0, 0, out,
	    sizeof(out), &n), 0);
	assert_int_equal(ccid_t1_decode(out, n, 0, &b), CCID_ERR_PROTO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_every_message),
		cmocka_unit_test(test_build_with_data),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_error_map),
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_atr_yubikey),
		cmocka_unit_test(test_atr_others),
		cmocka_unit_test(test_atr_malformed),
		cmocka_unit_test(test_t1_coding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
