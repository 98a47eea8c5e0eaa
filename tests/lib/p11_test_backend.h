/* SPDX-License-Identifier: MIT */
/*
 * tests/lib/p11_test_backend.h — the PKCS#11 module's tests run it over
 * in-process software cards (vcard) behind a piv_io_t, through the
 * module's transport seam (p11_set_backend).  Linked from
 * build/libtesthelp.a.
 *
 * Each card can be "removed" (present = 0: the I/O fails with
 * PIV_ERR_REMOVED, as a pulled token would) and re-inserted; its
 * generation counter is bumped by tb_other_process_reset(), which also
 * resets the card (as another program's session would).
 */
#ifndef USBPIV_TEST_P11_BACKEND_H
#define USBPIV_TEST_P11_BACKEND_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../pkcs11/p11.h"
#include "../../piv/piv.h"
#include "../vtoken/vcard.h"
#include "../../util/util.h"

#define TB_MAX 2

struct tb_card {
	vcard_t *vc;
	int present;
	uint64_t gen;
	uint64_t pin_ev;	/* PIN events "all processes" recorded */
	int fail_next;		/* remove the card at the next APDU */
};

extern struct tb_card tb_cards[TB_MAX];
extern size_t tb_ncards;
/* The largest time budget an APDU with this INS was sent with. */
extern int tb_ins_ms[256];
/* How often the module waited for a slot event. */
extern int tb_wait_calls;
/* The factory management key (3DES), PIN and PUK. */
extern const uint8_t tb_mgm[24];
#define TB_MGM_HEX "010203040506070801020304050607080102030405060708"
#define TB_PIN "123456"
#define TB_PUK "12345678"

CK_UTF8CHAR_PTR U(const char *s);
void tb_setup(size_t n);
void tb_teardown(void);
piv_card_t *tb_other(size_t i);
void tb_other_process_reset(size_t i);
void tb_other_process_pin_event(size_t i);
EVP_PKEY *tb_genkey(size_t i, uint8_t slot, uint8_t alg, uint8_t pinpol);
X509 *tb_cert_for(EVP_PKEY *pub, const char *cn);
void tb_putcert(size_t i, uint8_t slot, X509 *x);
CK_SESSION_HANDLE tb_open(CK_FLAGS extra);
CK_OBJECT_HANDLE tb_find1(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
    uint8_t id);
CK_ULONG tb_count(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG tn);

#endif
