/* SPDX-License-Identifier: MIT */
/*
 * fuzz/fuzz_vcard_state.c — the software card's state-file loader: the
 * input is the file.  A file the loader accepts must give a working card
 * (SELECT, METADATA of every slot, ATTEST, GET DATA of the f9
 * certificate answer with a status word); a damaged one must fail
 * cleanly with the output pointer NULL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../tests/vtoken/vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
send(vcard_t *c, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap)
{
	size_t rlen = 0;

	if (vcard_apdu(c, cmd, n, rsp, cap, &rlen) != 0 || rlen < 2 ||
	    rlen > cap)
		__builtin_trap();
	return rlen;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t slots[] = { 0x9a, 0x9c, 0x9d, 0x9e, 0x82, 0x95,
	    0xf9, 0x9b, 0x80, 0x81 };
	static const uint8_t select[] = { 0x00, 0xa4, 0x04, 0x00, 0x05, 0xa0,
	    0x00, 0x00, 0x03, 0x08 };
	static const uint8_t getatt[] = { 0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c,
	    0x03, 0x5f, 0xff, 0x01, 0x00 };
	static uint8_t rsp[70000];
	struct vcard_opts o;
	vcard_t *c = (vcard_t *)&o;
	uint8_t cmd[5] = { 0x00, 0xf7, 0x00, 0x00, 0x00 };
	char path[64];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "/tmp/fuzz_vcard_state.%ld",
	    (long)getpid());
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	memset(&o, 0, sizeof(o));
	o.state_path = path;
	if (vcard_new(&c, &o) != 0) {
		if (c != NULL)
			__builtin_trap();
		unlink(path);
		return 0;
	}
	send(c, select, sizeof(select), rsp, sizeof(rsp));
	send(c, getatt, sizeof(getatt), rsp, sizeof(rsp));
	for (i = 0; i < sizeof(slots); i++) {
		cmd[1] = 0xf7;
		cmd[2] = 0x00;
		cmd[3] = slots[i];
		send(c, cmd, sizeof(cmd), rsp, sizeof(rsp));
		cmd[1] = 0xf9;
		cmd[2] = slots[i];
		cmd[3] = 0x00;
		send(c, cmd, sizeof(cmd), rsp, sizeof(rsp));
	}
	vcard_free(&c);
	unlink(path);
	return 0;
}
