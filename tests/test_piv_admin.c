/* SPDX-License-Identifier: MIT */
/*
 * tests/test_piv_admin.c — the piv/ calls behind `usbpiv reset`,
 * `move-key`, `delete-key` and `mgm-key set --protect`, against the
 * software card: piv_block_ref, piv_move_key, piv_delete_key,
 * piv_check_protected_mgm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../piv/piv.h"
#include "../util/util.h"
#include "vtoken/vcard.h"

static const uint8_t def_mgm[24] = {
	1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8
};

struct env {
	vcard_t *c;
	piv_io_t io;
	piv_card_t *p;
	int ms;
};

static int
v_transmit(void *h, const uint8_t *capdu, size_t clen, int secret,
    uint8_t *rapdu, size_t cap, size_t *rlen, int *ms)
{
	struct env *e = h;

	(void)secret;
	(void)ms;
	if (vcard_apdu(e->c, capdu, clen, rapdu, cap, rlen) != 0)
		return PIV_ERR_TRANSPORT;
	return 0;
}

static uint64_t
v_generation(void *h)
{
	(void)h;
	return 1;
}

static void
env_open(struct env *e, const uint8_t *version)
{
	struct vcard_opts o;

	memset(e, 0, sizeof(*e));
	memset(&o, 0, sizeof(o));
	if (version != NULL)
		memcpy(o.version, version, 3);
	e->ms = 600000;
	assert_int_equal(vcard_new(&e->c, &o), 0);
	e->io.transmit = v_transmit;
	e->io.generation = v_generation;
	e->io.extended = 1;
	assert_int_equal(piv_new(&e->p, &e->io, e), 0);
}

static void
env_close(struct env *e)
{
	piv_free(&e->p);
	vcard_free(&e->c);
}

static void
test_block_and_reset(void **state)
{
	struct env e;
	int verified = 1, tries = -1;

	(void)state;
	env_open(&e, NULL);
	/* a reset is refused while PIN and PUK work */
	assert_int_not_equal(piv_reset(e.p, &e.ms), 0);
	assert_int_equal(piv_block_ref(e.p, PIV_PIN_REF, &e.ms), 0);
	assert_int_equal(piv_pin_status(e.p, PIV_PIN_REF, &verified, &tries,
	    &e.ms), 0);
	assert_int_equal(verified, 0);
	assert_int_equal(tries, 0);
	assert_int_not_equal(piv_reset(e.p, &e.ms), 0);	/* PUK still works */
	assert_int_equal(piv_block_ref(e.p, PIV_PUK_REF, &e.ms), 0);
	/* blocking what is blocked is done at once */
	assert_int_equal(piv_block_ref(e.p, PIV_PUK_REF, &e.ms), 0);
	assert_int_equal(piv_block_ref(e.p, PIV_PIN_REF, &e.ms), 0);
	assert_int_equal(piv_reset(e.p, &e.ms), 0);
	assert_int_equal(piv_verify(e.p, PIV_PIN_REF, "123456", 6, &tries,
	    &e.ms), 0);
	assert_int_equal(piv_block_ref(e.p, 0x9a, &e.ms), PIV_ERR_ARG);
	assert_int_equal(piv_block_ref(NULL, PIV_PIN_REF, &e.ms), PIV_ERR_ARG);
	env_close(&e);
}

static void
test_move_delete(void **state)
{
	struct env e;
	struct piv_metadata md;
	EVP_PKEY *pub = NULL;
	static const uint8_t v56[3] = { 5, 6, 0 };

	(void)state;
	env_open(&e, NULL);
	/* the management key first */
	assert_int_equal(piv_move_key(e.p, 0x9a, 0x9c, &e.ms),
	    PIV_ERR_AUTH_REQUIRED);
	assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_3DES, def_mgm,
	    sizeof(def_mgm), &e.ms), 0);
	assert_int_equal(piv_generate(e.p, 0x9a, PIV_ALG_ECCP256, 0, 0, &pub,
	    &e.ms), 0);
	assert_int_equal(piv_move_key(e.p, 0x9a, 0x85, &e.ms), 0);
	assert_int_equal(piv_metadata(e.p, 0x9a, &md, &e.ms),
	    PIV_ERR_NOT_FOUND);
	assert_int_equal(piv_metadata(e.p, 0x85, &md, &e.ms), 0);
	assert_non_null(md.pub);
	assert_int_equal(EVP_PKEY_eq(md.pub, pub), 1);
	piv_metadata_clear(&md);
	assert_int_equal(piv_move_key(e.p, 0x85, 0x85, &e.ms), PIV_ERR_ARG);
	assert_int_equal(piv_move_key(e.p, 0x85, PIV_SLOT_ATTEST, &e.ms),
	    PIV_ERR_ARG);
	assert_int_equal(piv_delete_key(e.p, 0x85, &e.ms), 0);
	assert_int_equal(piv_metadata(e.p, 0x85, &md, &e.ms),
	    PIV_ERR_NOT_FOUND);
	assert_int_equal(piv_delete_key(e.p, PIV_SLOT_ATTEST, &e.ms),
	    PIV_ERR_ARG);
	EVP_PKEY_free(pub);
	env_close(&e);

	/* before 5.7 the card does not know the instruction */
	env_open(&e, v56);
	assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_3DES, def_mgm,
	    sizeof(def_mgm), &e.ms), 0);
	assert_int_equal(piv_delete_key(e.p, 0x9a, &e.ms),
	    PIV_ERR_NOT_SUPPORTED);
	env_close(&e);
}

static void
test_check_protected(void **state)
{
	struct env e;
	/* 80 7E { 82 7C <124 bytes> }: an 82 field too long to carry over */
	uint8_t bad[128];
	int tries = -1;

	(void)state;
	env_open(&e, NULL);
	assert_int_equal(piv_check_protected_mgm(NULL, &e.ms), PIV_ERR_ARG);
	/* the printed-information object needs the PIN */
	assert_int_equal(piv_check_protected_mgm(e.p, &e.ms),
	    PIV_ERR_AUTH_REQUIRED);
	assert_int_equal(piv_verify(e.p, PIV_PIN_REF, "123456", 6, &tries,
	    &e.ms), 0);
	assert_int_equal(piv_check_protected_mgm(e.p, &e.ms), 0);
	assert_int_equal(piv_auth_mgm(e.p, PIV_ALG_3DES, def_mgm,
	    sizeof(def_mgm), &e.ms), 0);
	memset(bad, 0, sizeof(bad));
	bad[0] = 0x80;
	bad[1] = 0x7e;
	bad[2] = 0x82;
	bad[3] = 0x7c;
	assert_int_equal(piv_put_data(e.p, PIV_OBJ_ADMIN, bad, sizeof(bad),
	    &e.ms), 0);
	assert_int_equal(piv_check_protected_mgm(e.p, &e.ms), PIV_ERR_PROTO);
	/* and the write it stands for fails the same way */
	assert_int_equal(piv_write_protected_mgm(e.p, def_mgm,
	    sizeof(def_mgm), &e.ms), PIV_ERR_PROTO);
	env_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_and_reset),
		cmocka_unit_test(test_move_delete),
		cmocka_unit_test(test_check_protected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
