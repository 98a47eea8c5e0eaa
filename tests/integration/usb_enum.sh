#!/bin/sh
# The usb layer against the emulated reader (build/vtoken-reader on
# umockdev): usb_enumerate lists it with its strings and CCID interface,
# usb_open + usb_begin + a GetSlotStatus bulk write/read + usb_end work,
# for the default profile, a reader built from a real dump, and a
# vendor-class (0xFF) reader; two processes share one reader through the
# lock without a daemon.
set -eu
top=${USBPIV_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${USBPIV_BUILD:-$top/build}
cc=${CC:-cc}
reader=${VTOKEN_READER:-$build/vtoken-reader}
preload=libumockdev-preload.so

[ -x "$reader" ] || { echo "no $reader (make vtoken)"; exit 77; }
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
	[ -e "$d/$preload" ] && found=1 && break
done
[ "${found:-}" = 1 ] || { echo "umockdev preload library not installed"; exit 77; }

tmp=$(mktemp -d)
rpid=
cleanup() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# the client: usbpiv's own usb layer, nothing else
# (an instrumented library needs the same sanitizers at link time)
san=
if nm "$build/libusbpiv.a" 2>/dev/null | grep -q __asan_; then
	cc=clang san="-fsanitize=address,undefined"
fi
$cc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -pedantic $san \
    $(pkg-config --cflags libusb-1.0) \
    -o "$tmp/usb_enum" "$top/tests/integration/usb_enum.c" \
    "$build/libusbpiv.a" $(pkg-config --libs libusb-1.0 libcrypto zlib) \
    2>"$tmp/cc.log" || { cat "$tmp/cc.log"; exit 1; }

start_reader() {
	rm -f "$tmp/ready"
	"$reader" "$@" --ready "$tmp/ready" >"$tmp/reader.log" 2>&1 &
	rpid=$!
	i=0
	while [ ! -s "$tmp/ready" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$rpid" 2>/dev/null; then
			echo "vtoken-reader did not start:"; cat "$tmp/reader.log"
			exit 1
		fi
		sleep 0.1
	done
	root=$(cat "$tmp/ready")
}

stop_reader() {
	kill "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=
}

wrap=${USBPIV_WRAP:-}
case "$wrap" in
valgrind*) wrap="$wrap --suppressions=$top/tests/integration/umockdev.supp" ;;
esac

client() {
	UMOCKDEV_DIR=$root LD_PRELOAD=$preload USBPIV_LOCK_DIR=$tmp \
	    $wrap "$tmp/usb_enum" "$@"
}

echo "== default profile"
start_reader
client 1050:0407
echo "== two processes at once"
USB_ENUM_SHARED=1 client 1050:0407 >"$tmp/a" 2>&1 &
a=$!
USB_ENUM_SHARED=1 client 1050:0407 >"$tmp/b" 2>&1 || { cat "$tmp/b"; exit 1; }
wait $a || { cat "$tmp/a"; exit 1; }
tail -n 1 "$tmp/a" "$tmp/b"
stop_reader

echo "== interface held by another program"
start_reader --ctl "$tmp/ctl"
client --busy
echo "== usb_open_fd on the device node, no bus discovery (a container)"
node=$(cd "$root" && ls dev/bus/usb/*/* | head -n 1)
if USBPIV_USB_NO_DISCOVERY=1 client --fd "/$node"; then
	:
elif ! grep -q 'handle-read' "$top/tests/vtoken/reader_usbfs.c"; then
	# libusb_wrap_sys_device reads the descriptors with read() on the
	# fd; the emulator does not serve read() on its node yet
	echo "usb_open_fd NOT CHECKED: the emulator's node serves no read()"
else
	exit 1
fi
echo "== unplugged mid-transaction"
client --unplug "$tmp/ctl"
stop_reader

dumps=$top/../shared/ccid-readers
if [ -d "$dumps" ]; then
	echo "== reader from a dump: ACR122U (072f:90cc)"
	start_reader --reader "$dumps/ACR122U.txt"
	client 072f:90cc
	stop_reader
	echo "== vendor-class reader: Oberthur CosmoCard (class 0xFF + 0x21)"
	start_reader --reader "$dumps/Oberthur-CosmoCard.txt"
	client
	stop_reader
fi
echo "usb_enum: all passed"
