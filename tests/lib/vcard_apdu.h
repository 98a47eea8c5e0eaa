/* SPDX-License-Identifier: MIT */
/* tests/lib/vcard_apdu.h — driving the software card (vcard) with APDUs
 * in its own tests: select, raw and chained commands with GET RESPONSE,
 * VERIFY, management-key authentication.  Failures end the cmocka test.
 * Linked from build/libtesthelp.a. */
#ifndef USBPIV_TEST_VCARD_APDU_H
#define USBPIV_TEST_VCARD_APDU_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "../vtoken/vcard.h"

/* the factory management key (3DES) */
extern const uint8_t tv_default_mgm[24];

vcard_t *tv_card_opts(const struct vcard_opts *o);
vcard_t *tv_card(void);
int tv_raw(vcard_t *c, const uint8_t *cmd, size_t n, uint8_t *out,
    size_t cap, size_t *outlen);
int tv_hex(vcard_t *c, const char *hex, uint8_t *out, size_t cap,
    size_t *outlen);
int tv_cmd(vcard_t *c, uint8_t ins, uint8_t p1, uint8_t p2,
    const uint8_t *data, size_t n, uint8_t *out, size_t cap, size_t *outlen);
int tv_verify(vcard_t *c, const char *pin);
int tv_auth_key(vcard_t *c, uint8_t alg, const uint8_t *key, size_t klen);
int tv_auth(vcard_t *c);
void tv_ecb(const EVP_CIPHER *ciph, const uint8_t *key, const uint8_t *in,
    size_t n, uint8_t *out, int enc);

#endif
