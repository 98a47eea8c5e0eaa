/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_agent.c — the SSH agent's message parser (tools/agent_proto.c)
 * on client bytes: the length prefix, then the body as agent_parse reads
 * it; the ECDSA signature conversion on card bytes; and the certificate
 * parser of -c on file bytes.  Traps when an
 * output breaks its contract: pointers outside the message, lengths over
 * their bounds, fields left set on an error. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../tools/agent_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	if (n == 0)
		return 1;
	return p != NULL && p >= base && n <= len &&
	    (size_t)(p - base) <= len - n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_req req;
	struct agent_buf out;
	size_t len;
	int r;

	/* framing: the first four bytes are a length */
	if (size >= 4) {
		r = agent_frame_len(data, &len);
		if (r == 0 && (len == 0 || len > AGENT_MSG_MAX))
			__builtin_trap();
		if (r != 0 && len != 0)
			__builtin_trap();
	}
	r = agent_parse(data, size, &req);
	if (r == 0) {
		if (size == 0 || req.type != data[0])
			__builtin_trap();
		if (!inside(req.key, req.keylen, data, size) ||
		    !inside(req.data, req.datalen, data, size) ||
		    !inside(req.pass, req.passlen, data, size) ||
		    req.keylen > AGENT_KEYBLOB_MAX ||
		    req.datalen > AGENT_SIGDATA_MAX ||
		    req.passlen > AGENT_PASS_MAX)
			__builtin_trap();
		/* SIGN: the data as if a card had answered it (DER ECDSA) */
		if (req.type == AGENTC_SIGN_REQUEST) {
			memset(&out, 0, sizeof(out));
			if (agent_ecdsa_sig(req.data, req.datalen,
			    (req.flags & 1) ? 48 : 32, &out) == 0 &&
			    (out.err || out.len < 8))
				__builtin_trap();
			agent_buf_free(&out);
		}
	} else if (req.key != NULL || req.data != NULL || req.pass != NULL ||
	    req.keylen || req.datalen || req.passlen || req.flags)
		__builtin_trap();
	/* the input as a -c certificate */
	memset(&out, 0, sizeof(out));
	r = agent_cert_pubkey(data, size, &out);
	if (r == 0 && (out.err || out.len < 8 || out.len > size))
		__builtin_trap();
	if (r != 0 && out.len != 0)
		__builtin_trap();
	agent_buf_free(&out);
	/* whole messages as answers would carry them back */
	memset(&out, 0, sizeof(out));
	agent_msg_begin(&out);
	agent_put_u8(&out, AGENT_SIGN_RESPONSE);
	agent_put_string(&out, data, size);
	if (agent_msg_end(&out) == 0 && (out.len != size + 9 ||
	    memcmp(out.p + 9, data, size) != 0))
		__builtin_trap();
	agent_buf_free(&out);
	return 0;
}
