# attls — one entry point for building, testing, benchmarking and the demo.
#
#   make            build everything into build/
#   make check      unit tests (ASan+UBSan), fuzz smoke runs, integration tests
#   make demo       the main job, end to end
#   make bench      benchmarks (never part of check)
#   make install PREFIX=/usr/local
#   make man        the manual pages into build/man (make does it too)
#   make deb        build/attls_VERSION_ARCH.deb (debhelper, from this build)
#
# Each directory describes its own targets in a module.mk fragment; this file
# holds the toolchain, the three build variants and the generic rules.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

BUILD      ?= build
PREFIX     ?= /usr/local
CC         ?= cc
CLANG      ?= clang
PKG_CONFIG ?= pkg-config
PYTEST     ?= /usr/bin/python3 -m pytest

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CSTD     := -std=gnu11
OPT      ?= -O2 -g
CPPFLAGS += -I. -Iinclude -D_GNU_SOURCE
# Everything is position independent and hidden by default: the same objects go
# into executables and into libattls.so, which must export nothing but its hooks.
BASE_CFLAGS := $(CSTD) $(WARN) -fPIC -fvisibility=hidden -fno-strict-aliasing \
               -fstack-protector-strong -D_FORTIFY_SOURCE=2

GNUTLS_CFLAGS := $(shell $(PKG_CONFIG) --cflags gnutls 2>/dev/null)
GNUTLS_LIBS   := $(shell $(PKG_CONFIG) --libs gnutls 2>/dev/null)
CHECK_CFLAGS  := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS    := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

# Variant 1: release objects.
OBJ := $(BUILD)/obj
# Variant 2: AddressSanitizer + UndefinedBehaviorSanitizer, for unit tests.
SAN := $(BUILD)/san
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
# Variant 3: clang + libFuzzer (+ ASan/UBSan), for fuzz targets.
FUZZ := $(BUILD)/fuzz
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=all

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(OPT) $(EXTRA_CFLAGS_$(<D)) -MMD -MP -c $< -o $@

$(SAN)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(SAN_FLAGS) $(EXTRA_CFLAGS_$(<D)) -MMD -MP -c $< -o $@

# -Wno-unused-command-line-argument: clang warns about -fstack-protector with fuzzer.
$(FUZZ)/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(BASE_CFLAGS) $(FUZZ_FLAGS) $(EXTRA_CFLAGS_$(<D)) -MMD -MP -c $< -o $@

# The programs get full RELRO as libattls.so does: iked runs as root.
# (private: the objects they are linked from are compiled as before)
$(BUILD)/bin/%: private BASE_CFLAGS += -Wl,-z,relro,-z,now

# objs VARIANT, SOURCES -> object paths in that variant
objs = $(patsubst %.c,$(1)/%.o,$(2))

# Filled by the fragments.
ALL_TARGETS  :=
UNIT_TESTS   :=
FUZZ_TARGETS :=
INSTALL_BINS :=
INSTALL_LIBS :=

include common/module.mk
include policy/module.mk
include preload/module.mk
include ctl/module.mk
include iked/module.mk
include examples/module.mk
include python/module.mk
include tests/integration/progs/module.mk
include tests/unit/module.mk
include tests/fuzz/module.mk
include tests/bench/module.mk
include docs/man/module.mk
include systemd/module.mk

.PHONY: all check check-unit check-fuzz check-integration demo bench install deb clean deps

all: $(ALL_TARGETS)

# Fresh machines: install what is missing first (prints nothing when all is there).
deps:
	@scripts/deps

check: deps
	$(MAKE) all
	$(MAKE) check-unit
	$(MAKE) check-fuzz
	$(MAKE) check-integration

check-unit: $(UNIT_TESTS)
	@scripts/run-unit $(UNIT_TESTS)

# FUZZ_SECONDS bounds each target's smoke run; `make fuzz-long` runs longer.
FUZZ_SECONDS ?= 20
check-fuzz: $(FUZZ_TARGETS)
	@scripts/run-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-long: $(FUZZ_TARGETS)
	@scripts/run-fuzz 600 $(FUZZ_TARGETS)

check-integration: all
	$(PYTEST) -q tests/integration

demo: deps
	$(MAKE) all
	@scripts/demo

bench: deps
	$(MAKE) all
	@scripts/bench

# The example policies name their key rings relative to themselves
# (certs/server.pem): `attls-mkcerts PREFIX/share/attls/examples/certs` makes
# the throwaway certificates they use.
install: all install-man install-systemd
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/attls \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/attls/examples \
	    $(DESTDIR)$(PREFIX)/share/doc/attls
	install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 scripts/mkcerts $(DESTDIR)$(PREFIX)/bin/attls-mkcerts
	$(if $(INSTALL_LIBS),install -m 0755 $(INSTALL_LIBS) $(DESTDIR)$(PREFIX)/lib/attls/)
	install -m 0644 include/ezbztlsc.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 policy/examples/*.conf $(DESTDIR)$(PREFIX)/share/attls/examples/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/attls/
	install -d $(DESTDIR)$(PREFIX)/share/doc/attls/examples
	ln -sfn ../../../attls/examples $(DESTDIR)$(PREFIX)/share/doc/attls/examples/policies

# build/attls_VERSION_ARCH.deb: `make install` of this build, packaged with
# debhelper (debian/).
deb: all
	@scripts/build-deb $(BUILD)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
