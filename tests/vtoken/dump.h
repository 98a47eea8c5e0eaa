/* SPDX-License-Identifier: MIT */
/*
 * Reader descriptor dumps (../shared/ccid-readers/NAME.txt, the format of
 * libccid's parse tool) turned back into binary USB descriptors, for the
 * emulated reader's `--reader FILE` and for the descriptor-parser test that
 * walks every dump.  Internal to tests/vtoken.
 */
#ifndef VTOKEN_DUMP_H
#define VTOKEN_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "vt_ccid.h"

struct ccid_dump {
	uint16_t vid, pid, bcd_device;
	char manufacturer[128];
	char product[128];
	uint8_t iface_class, iface_subclass, iface_protocol;
	uint8_t num_endpoints;
	int has_intr;			/* lists an interrupt-IN endpoint */
	struct vt_ccid_desc ccid;	/* as the dump lists it */
	uint8_t iface_number;		/* bInterfaceNumber */
	uint8_t ccid_desc_type;		/* 0x21, or 0xFF ("PROPRIETARY") */
};

/* Most interfaces one dump file lists (the largest in the set has 5). */
#define DUMP_MAX_IFACES 8

/* Parses one dump file.  Returns 0, or -1 with a message in err. */
int dump_load(const char *path, struct ccid_dump *out, char *err,
    size_t errlen);
/*
 * Parses every interface a dump lists (a dump of a device
 * with several CCID interfaces repeats the device fields for each).  Writes
 * up to max to out and their count to *n; 0, or -1 with a message in err
 * and *n = 0.  dump_load() is this keeping the first interface.
 */
int dump_load_all(const char *path, struct ccid_dump *out, size_t max,
    size_t *n, char *err, size_t errlen);
/* Builds the 18-byte device descriptor and a configuration descriptor
 * (config + interface + 0x21 class descriptor + endpoints) from d. */
int dump_build(const struct ccid_dump *d, uint8_t dev[18], uint8_t *cfg,
    size_t cap, size_t *cfglen);

#endif
