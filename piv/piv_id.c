/* SPDX-License-Identifier: MIT */
/*
 * piv/piv_id.c — a stable identity for a token: the YubiKey serial when
 * the card has GET SERIAL, else the CHUID's GUID (or, with an all-zero
 * GUID, a digest of the FASC-N).  The CHUID is read only when needed.
 */
#include "piv_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../util/util.h"

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Pure: CHUID content -> guid[16]; PIV_ERR_NOT_FOUND when it has none. */
int
piv_chuid_guid(const uint8_t *chuid, size_t len, uint8_t guid[16])
{
	struct piv_tlv t, guidt = { 0, 0, NULL }, fascn = { 0, 0, NULL };
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const uint8_t *q = chuid;
	size_t left = len;

	if (guid == NULL)
		return PIV_ERR_ARG;
	memset(guid, 0, 16);
	if (chuid == NULL)
		return PIV_ERR_NOT_FOUND;
	/* walk it all: a malformed CHUID is not half-trusted */
	while (left > 0) {
		if (piv_tlv_next(&q, &left, &t) != 0)
			return PIV_ERR_PROTO;
		if (t.tag == 0x34 && guidt.value == NULL)
			guidt = t;
		else if (t.tag == 0x30 && fascn.value == NULL)
			fascn = t;
	}
	if (guidt.value != NULL && guidt.len == 16 &&
	    !all_zero(guidt.value, 16)) {
		memcpy(guid, guidt.value, 16);
		return 0;
	}
	/* FASC-N (tag 30, 25 bytes): hashed down to the GUID's size */
	if (fascn.value != NULL && fascn.len == 25 &&
	    !all_zero(fascn.value, fascn.len)) {
		if (EVP_Digest(fascn.value, fascn.len, md, &mdlen,
		    EVP_sha256(), NULL) != 1 || mdlen < 16)
			return PIV_ERR_CRYPTO;
		memcpy(guid, md, 16);
		return 0;
	}
	return PIV_ERR_NOT_FOUND;
}

int
piv_identity(piv_card_t *p, struct piv_identity *id, int *ms)
{
	uint8_t *chuid = NULL;
	size_t len = 0;
	int r;

	if (id != NULL)
		memset(id, 0, sizeof(*id));
	if (p == NULL || id == NULL)
		return PIV_ERR_ARG;
	if ((r = piv_enter(p, ms)) != 0)
		return r;
	r = piv_get_version(p, id->version, ms);
	if (r == 0)
		id->has_version = 1;
	else if (r != PIV_ERR_NOT_SUPPORTED)
		goto out;
	r = piv_get_serial(p, &id->serial, ms);
	if (r == 0) {
		id->has_serial = 1;
		goto out;
	}
	if (r != PIV_ERR_NOT_SUPPORTED && r != PIV_ERR_AUTH_REQUIRED)
		goto out;
	/* no serial: fall back to the CHUID */
	r = piv_get_data(p, PIV_OBJ_CHUID, &chuid, &len, ms);
	if (r == 0) {
		if ((r = piv_chuid_guid(chuid, len, id->guid)) == 0)
			id->has_guid = 1;
	}
	if (r == PIV_ERR_NOT_FOUND)
		r = 0;		/* an anonymous card is still a card */
out:
	piv_leave(p);
	free(chuid);
	if (r != 0)
		memset(id, 0, sizeof(*id));
	return r;
}
