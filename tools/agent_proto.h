/* SPDX-License-Identifier: MIT */
/*
 * tools/agent_proto.h — the SSH agent protocol (draft-miller-ssh-agent)
 * for `usbpiv agent`: a pure parser of client messages over the
 * fail-closed read cursor, and the builders of the answers.  No I/O, no
 * CLI state: unit-tested and fuzzed alone (fuzz/fuzz_agent.c).
 */
#ifndef USBPIV_AGENT_PROTO_H
#define USBPIV_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Largest message body (type byte + contents) the agent reads. */
#define AGENT_MSG_MAX		(256u * 1024u)

/* Message numbers (draft-miller-ssh-agent §5.1). */
#define AGENT_FAILURE			5
#define AGENT_SUCCESS			6
#define AGENTC_REQUEST_IDENTITIES	11
#define AGENT_IDENTITIES_ANSWER		12
#define AGENTC_SIGN_REQUEST		13
#define AGENT_SIGN_RESPONSE		14
#define AGENTC_LOCK			22
#define AGENTC_UNLOCK			23

/* Signature flags (§5.3). */
#define AGENT_RSA_SHA2_256	0x02u
#define AGENT_RSA_SHA2_512	0x04u

/* Errors of the parser. */
#define AGENT_ERR_MALFORMED	(-1)	/* lengths or trailing bytes wrong */
#define AGENT_ERR_UNSUPPORTED	(-2)	/* a message this agent does not do */
#define AGENT_ERR_NOMEM		(-3)

/* Largest passphrase/PIN carried by LOCK/UNLOCK that is accepted. */
#define AGENT_PASS_MAX		256
/* Largest key blob and data to sign accepted in SIGN_REQUEST. */
#define AGENT_KEYBLOB_MAX	4096
#define AGENT_SIGDATA_MAX	(64u * 1024u)

/* A parsed request; the pointers point into the message. */
struct agent_req {
	uint8_t type;
	const uint8_t *key;	/* SIGN_REQUEST: key blob */
	size_t keylen;
	const uint8_t *data;	/* SIGN_REQUEST: data to sign */
	size_t datalen;
	uint32_t flags;		/* SIGN_REQUEST */
	const uint8_t *pass;	/* LOCK / UNLOCK */
	size_t passlen;
};

/* The 4-byte big-endian length before each message: 0 and *len when it
 * is 1 .. AGENT_MSG_MAX, else AGENT_ERR_MALFORMED. */
int agent_frame_len(const uint8_t hdr[4], size_t *len);
/* Parses one message body (type + contents, without the length).  req is
 * zeroed first; 0, AGENT_ERR_MALFORMED or AGENT_ERR_UNSUPPORTED (req->type
 * is set whenever there was a type byte). */
int agent_parse(const uint8_t *msg, size_t len, struct agent_req *req);

/* An output buffer that fails closed (err set, nothing more written). */
struct agent_buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};
void agent_buf_free(struct agent_buf *b);	/* wipes, frees, zeroes */
void agent_put_u8(struct agent_buf *b, uint8_t v);
void agent_put_u32(struct agent_buf *b, uint32_t v);
void agent_put_bytes(struct agent_buf *b, const void *p, size_t n);
void agent_put_string(struct agent_buf *b, const void *p, size_t n);
/* An unsigned big-endian integer as an SSH mpint. */
void agent_put_mpint(struct agent_buf *b, const uint8_t *p, size_t n);
/* Message framing: begin reserves the length, end fills it in; end
 * returns 0 or AGENT_ERR_MALFORMED (buffer failed or too long). */
void agent_msg_begin(struct agent_buf *b);
int agent_msg_end(struct agent_buf *b);
/* The one-byte answers, framed: FAILURE / SUCCESS. */
int agent_msg_simple(struct agent_buf *b, uint8_t type);

/* A DER ECDSA-Sig-Value (from the card) as the SSH signature blob's
 * inner part "mpint r, mpint s" appended to out.  r and s must be at most
 * fieldlen bytes.  0 or AGENT_ERR_MALFORMED. */
int agent_ecdsa_sig(const uint8_t *der, size_t derlen, size_t fieldlen,
    struct agent_buf *out);
/* EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of a SHA-1/256/384/512 digest
 * (hlen 20/32/48/64 picks the DigestInfo) into em of k bytes. */
int agent_pkcs1_pad(const uint8_t *h, size_t hlen, uint8_t *em, size_t k);

/* An OpenSSH certificate (PROTOCOL.certkeys) of an ssh-rsa, ecdsa-sha2-
 * nistp256/384 or ssh-ed25519 key: checks its whole structure and writes
 * the plain public-key blob it certifies to key.  0 or
 * AGENT_ERR_MALFORMED / AGENT_ERR_UNSUPPORTED (another key type). */
int agent_cert_pubkey(const uint8_t *cert, size_t len, struct agent_buf *key);

/* Constant-time equality of two byte strings (lengths compared too). */
int agent_ct_equal(const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen);

#endif
