/*
 * Reader descriptor dumps (../shared/ccid-readers/*.txt, the format of
 * libccid's parse tool) turned back into binary USB descriptors, for the
 * emulated reader's `--reader FILE` and for the descriptor-parser test that
 * walks every dump.
 */
#ifndef USBPIV_VTOKEN_DUMP_H
#define USBPIV_VTOKEN_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "../../usb/usb.h"

struct ccid_dump {
	uint16_t vid, pid, bcd_device;
	char manufacturer[128];
	char product[128];
	uint8_t iface_class, iface_subclass, iface_protocol;
	uint8_t num_endpoints;
	int has_intr;			/* lists an interrupt-IN endpoint */
	struct usb_ccid_desc ccid;	/* as the dump lists it */
};

/* Parses one dump file.  Returns 0, or -1 with a message in err. */
int dump_load(const char *path, struct ccid_dump *out, char *err,
    size_t errlen);
/* Builds the 18-byte device descriptor and a configuration descriptor
 * (config + interface + 0x21 class descriptor + endpoints) from d. */
int dump_build(const struct ccid_dump *d, uint8_t dev[18], uint8_t *cfg,
    size_t cap, size_t *cfglen);

#endif
