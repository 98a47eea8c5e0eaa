/* SPDX-License-Identifier: MIT */
/*
 * vcard internals shared by vcard.c (APDU layer and dispatch),
 * vcard_cmd.c (PIV commands), vcard_keys.c (crypto), vcard_state.c
 * (persistence) and vcard_log.c (VTOKEN_LOG).  Not a contract.
 */
#ifndef VTOKEN_VCARD_INT_H
#define VTOKEN_VCARD_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "vcard.h"

/* Status words. */
#define SW_OK		0x9000
#define SW_WRONG_LENGTH	0x6700
#define SW_SECURITY	0x6982	/* security status not satisfied */
#define SW_BLOCKED	0x6983	/* authentication method blocked */
#define SW_CONDITIONS	0x6985	/* conditions of use not satisfied */
#define SW_WRONG_DATA	0x6a80
#define SW_FUNC_NOT_SUPP 0x6a81
#define SW_NOT_FOUND	0x6a82
#define SW_NO_SPACE	0x6a84
#define SW_WRONG_P1P2	0x6a86
#define SW_REF_NOT_FOUND 0x6a88
#define SW_CHAIN_LAST	0x6883	/* last command of the chain expected */
#define SW_WRONG_P1P2_B	0x6b00
#define SW_INS		0x6d00
#define SW_CLA		0x6e00
#define SW_UNKNOWN	0x6f00

/* Algorithms (SP 800-78 / Yubico). */
#define ALG_3DES	0x03
#define ALG_AES128	0x08
#define ALG_AES192	0x0a
#define ALG_AES256	0x0c
#define ALG_RSA1024	0x06
#define ALG_RSA2048	0x07
#define ALG_RSA3072	0x05
#define ALG_RSA4096	0x16
#define ALG_P256	0x11
#define ALG_P384	0x14
#define ALG_ED25519	0xe0
#define ALG_X25519	0xe1

/* PIN and touch policies (as on the wire). */
#define PIN_POL_DEFAULT	0x00
#define PIN_POL_NEVER	0x01
#define PIN_POL_ONCE	0x02
#define PIN_POL_ALWAYS	0x03
#define TOUCH_POL_DEFAULT 0x00
#define TOUCH_POL_NEVER	0x01
#define TOUCH_POL_ALWAYS 0x02
#define TOUCH_POL_CACHED 0x03

#define ORIGIN_GENERATED 1
#define ORIGIN_IMPORTED	2

#define VC_NSLOTS	25	/* 9A 9C 9D 9E 82..95 F9 */
#define VC_MAX_OBJS	64
#define VC_OBJ_MAX	3063	/* one object's 53 TLV, as ykpiv's CB_OBJ_MAX */
#define VC_OBJ_TOTAL	51200	/* all objects together */
#define VC_CHAIN_MAX	16384
#define VC_RSP_MAX	8192
#define VC_PIN_LEN	8

struct vslot {
	EVP_PKEY *pkey;		/* NULL: empty */
	uint8_t alg;
	uint8_t pin_policy;	/* resolved, never DEFAULT */
	uint8_t touch_policy;	/* resolved, never DEFAULT */
	uint8_t origin;
};

struct vobj {
	uint32_t tag;
	uint8_t *data;		/* the whole 53 TLV as stored */
	size_t len;
};

struct vcard {
	/* identity */
	char *state_path;
	uint32_t serial;
	uint8_t version[3];
	int no_extended;

	/* persistent secrets and counters */
	uint8_t pin[VC_PIN_LEN], puk[VC_PIN_LEN];	/* 0xFF padded */
	uint8_t pin_tries, pin_max, puk_tries, puk_max;
	uint8_t mgm_key[32];
	size_t mgm_len;
	uint8_t mgm_alg;
	uint8_t mgm_touch;	/* 1: authentication needs touch */

	struct vslot slots[VC_NSLOTS];
	struct vobj objs[VC_MAX_OBJS];
	size_t nobjs;

	/* session (forgotten at reset) */
	int selected;
	int pin_ok;		/* verified in this session */
	int pin_fresh;		/* verified by the command just before */
	int mgm_ok;
	int auth_state;		/* 0, AUTH_WITNESS or AUTH_CHALLENGE */
	uint8_t auth_buf[16];	/* witness or challenge plaintext */
	size_t auth_len;
	int touched;

	/* command chaining */
	int chaining;
	uint8_t chain_hdr[4];
	int chain_secret;	/* logged data of the chain is redacted */
	uint8_t *chain;
	size_t chain_len;

	/* pending response for GET RESPONSE */
	uint8_t *out;
	size_t out_len, out_off;
	int out_secret;

	/* VTOKEN_LOG */
	FILE *log;
};

#define AUTH_WITNESS	1
#define AUTH_CHALLENGE	2

/* A command after APDU-level decoding (chains already joined). */
struct vapdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	int extended;
};

/* Response under construction (data part only). */
struct vrsp {
	uint8_t *p;
	size_t len, cap;
	int secret;		/* data is redacted in the log */
};

/* vcard.c */
int vc_slot_index(uint8_t slot);
uint8_t vc_slot_id(int idx);
int vrsp_put(struct vrsp *r, const void *p, size_t n);
int vrsp_tl(struct vrsp *r, uint32_t tag, size_t len);
int vrsp_tlv(struct vrsp *r, uint32_t tag, const void *p, size_t n);
size_t vc_tl_len(uint32_t tag, size_t len);
/* Reads one BER-TLV with a 1-3 byte tag (from the rbuf); 0 or -1. */
struct vt_rbuf;
int vc_tlv(struct vt_rbuf *b, uint32_t *tag, const uint8_t **v, size_t *len);
void vc_factory(struct vcard *c, int keep_attestation);
void vc_factory_pins(struct vcard *c);
int vc_is_default_pin(const struct vcard *c);
int vc_is_default_puk(const struct vcard *c);
int vc_is_default_mgm(const struct vcard *c);
void vc_forget_session(struct vcard *c);
int vc_obj_set(struct vcard *c, uint32_t tag, const uint8_t *p, size_t n);
const struct vobj *vc_obj_get(const struct vcard *c, uint32_t tag);

/* vcard_cmd.c: dispatch of one whole command; returns the SW. */
int vc_dispatch(struct vcard *c, const struct vapdu *a, struct vrsp *r);

/* vcard_keys.c */
int vk_generate(uint8_t alg, EVP_PKEY **out);
int vk_pubkey(const EVP_PKEY *k, uint8_t alg, struct vrsp *r);
int vk_sign(const struct vslot *s, const uint8_t *in, size_t n,
    struct vrsp *r);
int vk_ecdh(const struct vslot *s, const uint8_t *peer, size_t n,
    struct vrsp *r);
int vk_import(uint8_t alg, const uint8_t *p, size_t n, EVP_PKEY **out);
int vk_attest(struct vcard *c, uint8_t slot, struct vrsp *r);
int vk_attestation_init(struct vcard *c);
int vk_mgm_block(uint8_t alg, const uint8_t *key, size_t klen,
    const uint8_t *in, size_t n, uint8_t *out, int enc);
size_t vk_mgm_keylen(uint8_t alg);
size_t vk_mgm_blocklen(uint8_t alg);

/* vcard_state.c */
int vs_load(struct vcard *c);
int vs_save(struct vcard *c);

/* vcard_log.c */
void vl_open(struct vcard *c);
void vl_close(struct vcard *c);
void vl_line(struct vcard *c, char dir, const uint8_t *p, size_t n,
    size_t red_off, size_t red_len);

#endif
