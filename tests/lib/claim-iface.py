#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Keeps interface 0 of a USB device claimed, as pcscd or gpg's scdaemon
do with a reader they use.

    claim-iface.py NODE SECONDS READY_FILE

Claims (USBDEVFS_CLAIMINTERFACE), creates READY_FILE, holds SECONDS."""
import fcntl
import os
import struct
import sys
import time

USBDEVFS_CLAIMINTERFACE = 0x8004550F  # _IOR('U', 15, unsigned int)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CLOEXEC)
    fcntl.ioctl(fd, USBDEVFS_CLAIMINTERFACE, struct.pack("I", 0))
    open(sys.argv[3], "w").close()
    time.sleep(float(sys.argv[2]))
    os.close(fd)


if __name__ == "__main__":
    main()
