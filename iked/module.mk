# iked/: the IKE daemon, and the ipsec command (ctl/ipsec.c) that talks to it.
# Every rule of both lives here; iked's own unit tests and fuzz targets get
# explicit link rules below because they need the daemon's objects too.

IKED_LIB_SRCS := iked/codec.c iked/crypto.c iked/dh.c iked/keys.c iked/timer.c iked/sacache.c \
                 iked/proposal.c iked/match.c iked/cert.c iked/natt.c iked/state.c iked/sa.c iked/ikev1.c iked/xmit.c \
                 iked/phase1.c iked/quick.c iked/info.c iked/lifecycle.c iked/daemon.c \
                 iked/install.c iked/kernel.c iked/kernel_fmt.c iked/kernel_xfrm.c iked/kernel_log.c iked/net.c \
                 iked/control.c iked/display.c \
                 iked/swsa_record.c iked/swsa_store.c iked/swsa_dir.c iked/swsa_redis.c \
                 iked/swsa_inspect.c
# The userspace data path (KernelBackend tun).
IKED_LIB_SRCS += iked/esp.c iked/ippkt.c iked/offload.c iked/netlink.c iked/tun.c iked/kernel_tun.c \
                 iked/dp_table.c iked/dp_out.c iked/dp_in.c
IKED_MAIN_SRCS := iked/main.c
# What iked tells systemd (sd_notify's protocol, without libsystemd).
IKED_MAIN_SRCS += iked/service.c
IPSEC_SRCS := ctl/ipsec.c

IKED_LIBS := $(shell $(PKG_CONFIG) --libs hogweed nettle gnutls hiredis 2>/dev/null) -lgmp
EXTRA_CFLAGS_iked := $(GNUTLS_CFLAGS)

# The IP filter policy: nftables text, installing it, and reading its log.
IKED_LIB_SRCS += iked/filter.c iked/filter_log.c iked/filter_nft.c
IKED_LIBS += $(shell $(PKG_CONFIG) --libs libnftables libnetfilter_log 2>/dev/null)

$(BUILD)/bin/iked: $(call objs,$(OBJ),$(IKED_MAIN_SRCS) $(IKED_LIB_SRCS)) $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ $(IKED_LIBS) -lpthread

$(BUILD)/bin/ipsec: $(call objs,$(OBJ),$(IPSEC_SRCS)) $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ -lpthread

# Unit tests of iked (tests/unit/test_ike_*.c, test_isakmp*.c) link the
# sanitizer build of the daemon's modules.
IKED_UNIT_BINS := $(patsubst tests/unit/%.c,$(SAN)/tests/unit/%,\
                    $(wildcard tests/unit/test_ike_*.c tests/unit/test_isakmp*.c))
$(IKED_UNIT_BINS): $(SAN)/tests/unit/%: $(SAN)/tests/unit/%.o $(SAN)/tests/unit/support.o \
                   $(SAN)/tests/unit/ike_testutil.o $(SAN)/tests/unit/ike_harness.o \
                   $(call objs,$(SAN),$(IKED_LIB_SRCS)) $(SAN)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(CHECK_LIBS) $(IKED_LIBS) -lpthread

# Fuzz targets of iked (tests/fuzz/fuzz_isakmp*.c, fuzz_swsa*.c, fuzz_esp*.c).
IKED_FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ)/tests/fuzz/%,\
                    $(wildcard tests/fuzz/fuzz_isakmp*.c tests/fuzz/fuzz_swsa*.c tests/fuzz/fuzz_esp*.c))
$(IKED_FUZZ_BINS): $(FUZZ)/tests/fuzz/%: $(FUZZ)/tests/fuzz/%.o \
                   $(call objs,$(FUZZ),$(IKED_LIB_SRCS)) $(FUZZ)/libcore.a
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(IKED_LIBS) -lpthread

# The IP filter log's packet decoder reads the sender's headers.
$(FUZZ)/tests/fuzz/fuzz_filter_log: $(FUZZ)/tests/fuzz/fuzz_filter_log.o $(FUZZ)/iked/filter_log.o \
                                    $(FUZZ)/libcore.a
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ -lpthread

ALL_TARGETS += $(BUILD)/bin/iked $(BUILD)/bin/ipsec
INSTALL_BINS += $(BUILD)/bin/iked $(BUILD)/bin/ipsec

# Longer runs than make check affords: the fuzz target for ten minutes and a
# five-minute refresh soak against charon (root, network namespaces).
.PHONY: soak-iked
soak-iked: all $(IKED_FUZZ_BINS)
	@scripts/run-fuzz 600 $(IKED_FUZZ_BINS)
	$(PYTEST) -q -s tests/integration/soak_iked.py
