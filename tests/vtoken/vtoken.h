/* SPDX-License-Identifier: MIT */
/*
 * vtoken.h — the virtual token's public interface, the one header a
 * program of yours includes (with -I tests/vtoken, linking libvtoken.a and
 * -lcrypto).  README.md in this directory is the manual.
 *
 * The virtual token is an emulated USB CCID (or ICCD) smart-card reader
 * holding a software PIV card, seen by the REAL libusb of any program run
 * under tests/with-vtoken.  Three ways to use it:
 *
 * 1. A whole program against the emulated reader (no C needed):
 *
 *      tests/with-vtoken [--reader PROFILE|FILE] [--card builtin|test|vpcd:PORT]
 *                        [--state FILE] [--atr HEX] [--keep-log]
 *                        [--inject LINE]... -- CMD...
 *
 *    CMD (and its children) see one USB reader, /dev/bus/usb/001/002, and
 *    nothing else.  During the run, $VTOKEN_CTL is the reader's control
 *    FIFO: vtoken_inject() below, or `echo LINE > "$VTOKEN_CTL"` and wait
 *    for the answer line appended to "$VTOKEN_CTL.ack".
 *
 * 2. The software PIV card alone, APDU in, APDU out (vcard.h): vcard_new,
 *    vcard_apdu, vcard_reset, vcard_atr, vcard_set_touch, vcard_free.  No
 *    USB, no reader: for unit tests of PIV code above the transport.
 *
 * 3. The card behind some other reader (backend.h): a card_backend_t is
 *    the in-process card (backend_builtin) or one a vpcd peer serves
 *    (backend_vpcd); vpcd_serve_card serves a vcard to vsmartcard's vpcd
 *    reader driver, so pcscd and every PC/SC program see it (build/vcard
 *    is that as a program).
 *
 * Injections (command-line arguments of vtoken-reader, `with-vtoken
 * --inject LINE`, VTOKEN_INJECT='LINE;LINE', or lines on the FIFO), each
 * described in README.md, "Injections":
 *
 *    remove [SLOT]        insert [SLOT]         unplug          replug
 *    unplug-at N          wtx N [forever]       wtx off         swtx N
 *    zlp [N]              statusfail N          t1-trailing
 *    malform length|length-short|seq|slot|truncated|type
 *    malform-at N length|length-short|seq|slot|truncated|type
 *    counters             (FIFO only: answered "counters control=N ...")
 *
 * Everything else in this directory is internal: reader.h (the emulated
 * reader's pieces), vcard_int.h (the card's), vpcd.h (vpcd framing),
 * dump.h (reader dumps to descriptors), vt_util.h and vt_ccid.h (the
 * emulator's own helpers and CCID definitions).  No file here includes
 * anything of the project it lives in: the emulator shares no code with
 * what it tests.
 */
#ifndef VTOKEN_H
#define VTOKEN_H

#include <stddef.h>

#include "backend.h"
#include "vcard.h"

/* Where the reader's control FIFO is under tests/with-vtoken. */
#define VTOKEN_ENV_CTL		"VTOKEN_CTL"

/*
 * Sends one injection (or "counters") to a running vtoken-reader through
 * its control FIFO (fifo, or $VTOKEN_CTL when NULL) and waits up to
 * timeout_ms for the reader's answer, which is copied (without its
 * newline) to ack when ack is not NULL: "ok LINE", "counters ...", or
 * "err MESSAGE".  Returns 0 once the injection took effect, -1 with errno
 * set otherwise (EINVAL: refused, ack says why; ETIMEDOUT: no answer; or
 * the error of opening the FIFO).  One injector at a time per reader.
 */
int vtoken_inject(const char *fifo, const char *line, char *ack,
    size_t cap, int timeout_ms);

#endif
