#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Holds a token the way another usbpiv process does while it works: an
open file description lock (F_OFD_SETLK) on byte 0 of the device node.

    hold-token.py NODE SECONDS [READY_FILE]

Takes the lock (waiting for it), creates READY_FILE when it has it, holds
it SECONDS, exits.  Run under tests/with-vtoken, whose preload carries the
lock on the emulated node as the kernel would on a real one."""
import fcntl
import os
import struct
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    node, secs = sys.argv[1], float(sys.argv[2])
    fd = os.open(node, os.O_RDWR | os.O_CLOEXEC)
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD)
    lk = struct.pack("hhxxxxqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0)
    deadline = time.monotonic() + 30
    while True:
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, lk)
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("hold-token: lock not obtained in 30 s")
            time.sleep(0.005)
    if len(sys.argv) > 3:
        open(sys.argv[3], "w").close()
    time.sleep(secs)
    os.close(fd)


if __name__ == "__main__":
    main()
