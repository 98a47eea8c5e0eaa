/* SPDX-License-Identifier: MIT */
/*
 * tools/cmd_uri.c — `usbpiv uri`: the pkcs11: URI of the token, and of a
 * slot's key, exactly as usbpiv's PKCS#11 module reports them.
 *
 * The module itself is asked (loaded with p11-kit, as systemd does), so
 * the URI carries what it shows under any USBPIV_COMPAT / USBPIV_ID_STYLE
 * setting.  The slot's CKA_ID is found by matching the slot's public key
 * (read from the token first) against the module's public-key objects.
 * systemd-cryptenroll 252 takes "token URI;id=%NN" and later finds the
 * certificate with that CKA_ID.
 */
#include "usbpiv.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#ifndef USBPIV_PKCS11_MODULE
#define USBPIV_PKCS11_MODULE	"/usr/local/lib/pkcs11/usbpiv-pkcs11.so"
#endif

#define MAX_SLOTS	16
#define MAX_OBJS	64

/* $USBPIV_MODULE, else the module next to this program (a build tree),
 * else the installed one. */
static const char *
module_path(char *buf, size_t cap)
{
	const char *e = getenv("USBPIV_MODULE");
	char *slash;
	ssize_t n;

	if (e != NULL && *e != '\0')
		return e;
	n = readlink("/proc/self/exe", buf, cap - 1);
	if (n > 0 && (size_t)n < cap - 1) {
		buf[n] = '\0';
		if ((slash = strrchr(buf, '/')) != NULL &&
		    (size_t)(slash - buf) + sizeof("/usbpiv-pkcs11.so") <= cap) {
			strcpy(slash, "/usbpiv-pkcs11.so");
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	return USBPIV_PKCS11_MODULE;
}

/* The CKA_ID of the public-key object whose SubjectPublicKeyInfo is spki;
 * *has_cert set when a certificate with that CKA_ID exists too. */
static int
find_id(CK_FUNCTION_LIST *f, CK_SLOT_ID sid, const uint8_t *spki,
    size_t spkilen, uint8_t *id, size_t cap, size_t *idlen, int *has_cert)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY, ccls = CKO_CERTIFICATE;
	CK_ATTRIBUTE tmpl[2] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_OBJECT_HANDLE objs[MAX_OBJS], c;
	CK_SESSION_HANDLE s;
	CK_ULONG n = 0, i, nc = 0;
	CK_ATTRIBUTE a[2];
	uint8_t info[2048], oid[64];
	int found = 0;

	*idlen = 0;
	*has_cert = 0;
	if (f->C_OpenSession(sid, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
		return -1;
	if (f->C_FindObjectsInit(s, tmpl, 1) == CKR_OK) {
		if (f->C_FindObjects(s, objs, MAX_OBJS, &n) != CKR_OK)
			n = 0;
		f->C_FindObjectsFinal(s);
	}
	for (i = 0; i < n && !found; i++) {
		a[0].type = CKA_PUBLIC_KEY_INFO;
		a[0].pValue = info;
		a[0].ulValueLen = sizeof(info);
		a[1].type = CKA_ID;
		a[1].pValue = oid;
		a[1].ulValueLen = sizeof(oid);
		if (f->C_GetAttributeValue(s, objs[i], a, 2) != CKR_OK ||
		    a[0].ulValueLen != spkilen || a[1].ulValueLen == 0 ||
		    a[1].ulValueLen > cap ||
		    memcmp(info, spki, spkilen) != 0)
			continue;
		memcpy(id, oid, a[1].ulValueLen);
		*idlen = a[1].ulValueLen;
		found = 1;
	}
	if (found) {
		tmpl[0].pValue = &ccls;
		tmpl[1].type = CKA_ID;
		tmpl[1].pValue = id;
		tmpl[1].ulValueLen = *idlen;
		if (f->C_FindObjectsInit(s, tmpl, 2) == CKR_OK) {
			if (f->C_FindObjects(s, &c, 1, &nc) == CKR_OK && nc == 1)
				*has_cert = 1;
			f->C_FindObjectsFinal(s);
		}
	}
	f->C_CloseSession(s);
	return found ? 0 : -1;
}

/* The slot's public key as DER SubjectPublicKeyInfo, read with the CLI's
 * own stack; the token is closed again before the module opens it. */
static int
slot_spki(const struct globals *g, int slot, uint8_t **spki, size_t *len)
{
	struct token t;
	EVP_PKEY *pub = NULL;
	unsigned char *der = NULL;
	int ex, alg, n;

	*spki = NULL;
	*len = 0;
	if ((ex = token_open(g, &t)) != EX_OK)
		return ex;
	ex = cli_slot_key(&t, "uri", slot, &pub, &alg);
	token_close(&t);
	if (ex != EX_OK)
		return ex;
	n = i2d_PUBKEY(pub, &der);
	EVP_PKEY_free(pub);
	if (n <= 0) {
		cli_err("uri: cannot encode the slot's public key");
		return EX_ERR;
	}
	*spki = der;
	*len = (size_t)n;
	return EX_OK;
}

int
cmd_uri(const struct globals *g, struct opts *o)
{
	CK_FUNCTION_LIST *f = NULL;
	CK_SLOT_ID slots[MAX_SLOTS], sid = 0;
	CK_ULONG ns = MAX_SLOTS, i;
	CK_TOKEN_INFO ti, *uti;
	P11KitUri *uri = NULL;
	char path[PATH_MAX], want[16], serial[17], *str = NULL, *full = NULL;
	const char *mod;
	uint8_t *spki = NULL, id[64];
	size_t spkilen = 0, idlen = 0, k;
	int ex, found = 0, has_cert = 0, inited = 0;

	if (o->slot == PIV_SLOT_ATTEST) {
		cli_err("uri: the attestation key (f9) is not for unlocking");
		return EX_USAGE;
	}
	if (o->slot >= 0 && (ex = slot_spki(g, o->slot, &spki,
	    &spkilen)) != EX_OK)
		return ex;
	mod = module_path(path, sizeof(path));
	ex = EX_ERR;
	if ((f = p11_kit_module_load(mod, 0)) == NULL) {
		cli_err("uri: cannot load the PKCS#11 module %s: %s (set "
		    "USBPIV_MODULE)", mod, p11_kit_message());
		goto out;
	}
	if (p11_kit_module_initialize(f) != CKR_OK) {
		cli_err("uri: the module %s does not initialise: %s", mod,
		    p11_kit_message());
		goto out;
	}
	inited = 1;
	if (f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK)
		ns = 0;
	snprintf(want, sizeof(want), "%u", (unsigned)g->serial);
	for (i = 0; i < ns; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (g->has_serial) {
			/* the module's serial field, blank-padded */
			memcpy(serial, ti.serialNumber, 16);
			serial[16] = '\0';
			for (k = 16; k > 0 && serial[k - 1] == ' '; k--)
				serial[k - 1] = '\0';
			if (strstr(serial, want) == NULL)
				continue;
		}
		if (found++ == 0)
			sid = slots[i];
	}
	if (found == 0) {
		cli_err("uri: the module (%s) shows no token%s", mod,
		    g->has_serial ? " with that serial number" : "");
		ex = EX_NOTFOUND;
		goto out;
	}
	if (found > 1) {
		cli_err("uri: the module shows %d tokens: choose one with "
		    "--serial N", found);
		ex = EX_USAGE;
		goto out;
	}
	if (f->C_GetTokenInfo(sid, &ti) != CKR_OK ||
	    (uri = p11_kit_uri_new()) == NULL ||
	    (uti = p11_kit_uri_get_token_info(uri)) == NULL)
		goto out;
	memcpy(uti, &ti, sizeof(ti));
	if (o->slot >= 0) {
		if (find_id(f, sid, spki, spkilen, id, sizeof(id), &idlen,
		    &has_cert) != 0) {
			cli_err("uri: the module shows no public key object for "
			    "slot %02x", (unsigned)o->slot);
			ex = EX_NOTFOUND;
			goto out;
		}
		if (!has_cert)
			cli_warn("slot %02x has no certificate; "
			    "systemd-cryptenroll needs one (usbpiv selfsign-cert "
			    "--slot %02x --subject CN=...)", (unsigned)o->slot,
			    (unsigned)o->slot);
	}
	if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_TOKEN, &str) !=
	    P11_KIT_URI_OK) {
		cli_err("uri: cannot format the URI");
		goto out;
	}
	/* ";id=%01%02...": every byte percent-encoded, as systemd does */
	if ((full = malloc(strlen(str) + 4 + 3 * idlen + 1)) == NULL)
		goto out;
	strcpy(full, str);
	for (k = 0; k < idlen; k++)
		snprintf(full + strlen(full), 8, "%s%%%02X", k == 0 ? ";id=" : "",
		    id[k]);
	if (g->json) {
		printf("{\"uri\": ");
		json_str(stdout, full);
		printf(", \"certificate\": %s}\n", o->slot < 0 ? "null" :
		    has_cert ? "true" : "false");
	} else
		printf("%s\n", full);
	ex = EX_OK;
out:
	free(full);
	free(str);
	if (uri != NULL)
		p11_kit_uri_free(uri);
	if (inited)
		p11_kit_module_finalize(f);
	if (f != NULL)
		p11_kit_module_release(f);
	OPENSSL_free(spki);
	return ex;
}
