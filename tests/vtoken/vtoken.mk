# SPDX-License-Identifier: MIT
# vtoken.mk — builds the virtual token from this directory alone (a copy of
# tests/vtoken taken into another project, say), without the rest of the
# tree it came from:
#
#   make -f vtoken.mk [O=DIR] [CC=clang] [CFLAGS='-O0 -g'] [SAN=-fsanitize=...]
#
# gives DIR/ (default out/) libvtoken.a, vcard, vtoken-probe and, when
# pkg-config finds umockdev-1.0 and glib-2.0, vtoken-reader and
# vtoken-lseek.so.  Packages: README.md, "Build".
O	?= out
CC	?= cc
PKG_CONFIG ?= pkg-config
CFLAGS	?= -O2 -g
SAN	?=
VT_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -fPIC -Wall -Wextra $(CFLAGS) $(SAN)

SRC	= $(sort $(wildcard *.c))
READER_SRC = $(filter reader%.c,$(SRC))
LIB_SRC	= $(filter-out reader%.c %_main.c,$(SRC))
GLIB_OK	:= $(shell $(PKG_CONFIG) --exists umockdev-1.0 glib-2.0 && echo yes)
GLIB_CFLAGS = $(shell $(PKG_CONFIG) --cflags umockdev-1.0 glib-2.0)
GLIB_LIBS = $(shell $(PKG_CONFIG) --libs umockdev-1.0 glib-2.0)
CRYPTO_LIBS = $(shell $(PKG_CONFIG) --libs libcrypto)
USB_CFLAGS = $(shell $(PKG_CONFIG) --cflags libusb-1.0)
USB_LIBS = $(shell $(PKG_CONFIG) --libs libusb-1.0)

obj	= $(patsubst %.c,$(O)/%.o,$(1))
PROGS	= $(O)/libvtoken.a $(O)/vcard $(O)/vtoken-probe \
	  $(if $(GLIB_OK),$(O)/vtoken-reader $(O)/vtoken-lseek.so)

all: $(PROGS)

$(O)/%.o: %.c
	@mkdir -p $(O)
	$(CC) $(VT_CFLAGS) -MMD -MP -c $< -o $@

$(call obj,$(READER_SRC)): $(O)/%.o: %.c
	@mkdir -p $(O)
	$(CC) $(VT_CFLAGS) $(GLIB_CFLAGS) -MMD -MP -c $< -o $@

$(O)/probe_main.o: probe_main.c
	@mkdir -p $(O)
	$(CC) $(VT_CFLAGS) $(USB_CFLAGS) -MMD -MP -c $< -o $@

$(O)/libvtoken.a: $(call obj,$(LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/vtoken-reader: $(call obj,$(READER_SRC)) $(O)/libvtoken.a
	$(CC) $(SAN) -o $@ $^ $(GLIB_LIBS) $(CRYPTO_LIBS)

$(O)/vcard: $(O)/vcard_main.o $(O)/libvtoken.a
	$(CC) $(SAN) -o $@ $^ $(CRYPTO_LIBS)

$(O)/vtoken-probe: $(O)/probe_main.o $(O)/libvtoken.a
	$(CC) $(SAN) -o $@ $^ $(USB_LIBS)

# no sanitizer: preloaded into every program under with-vtoken
$(O)/vtoken-lseek.so: shim/vtoken_lseek.c shim/vtoken_lseek.map
	@mkdir -p $(O)
	$(CC) -shared -fPIC -std=c11 -Wall -Wextra $(CFLAGS) \
	    -Wl,--version-script=shim/vtoken_lseek.map -o $@ $< -ldl

clean:
	rm -rf $(O)

.PHONY: all clean
-include $(wildcard $(O)/*.d)
