# preload/: libattls.so, the LD_PRELOAD shim.
PRELOAD_SRCS := preload/real.c preload/fdtab.c preload/conn.c preload/rt.c preload/rings.c \
                preload/tls.c preload/engine.c preload/secure.c preload/clear.c preload/ttlsctl.c \
                preload/secmap.c preload/export.c preload/sniff.c preload/names.c \
                preload/convert.c preload/turns.c preload/uaccess.c preload/loglimit.c \
                preload/hooks.c preload/shim.c

EXTRA_CFLAGS_preload := $(GNUTLS_CFLAGS)

$(BUILD)/lib/libattls.so: $(call objs,$(OBJ),$(PRELOAD_SRCS)) $(OBJ)/libcore.a preload/exports.map
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(call objs,$(OBJ),$(PRELOAD_SRCS)) $(OBJ)/libcore.a \
	    -Wl,--version-script=preload/exports.map -Wl,-z,now -Wl,-z,relro \
	    $(GNUTLS_LIBS) -lpthread -ldl

ALL_TARGETS += $(BUILD)/lib/libattls.so
INSTALL_LIBS += $(BUILD)/lib/libattls.so

# Unit tests and fuzz targets that need shim objects link all of them except
# the hooks and the constructor (a test binary must not interpose libc).
PRELOAD_LIB_SRCS := $(filter-out preload/hooks.c preload/shim.c,$(PRELOAD_SRCS))
PRELOAD_UNIT_TESTS := $(patsubst tests/unit/%.c,$(SAN)/tests/unit/%,$(wildcard tests/unit/test_preload_*.c))

$(PRELOAD_UNIT_TESTS): $(SAN)/tests/unit/%: $(SAN)/tests/unit/%.o $(SAN)/tests/unit/support.o \
		$(call objs,$(SAN),$(PRELOAD_LIB_SRCS)) $(SAN)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(CHECK_LIBS) $(GNUTLS_LIBS) -lpthread -ldl

$(FUZZ)/tests/fuzz/fuzz_sniff: $(FUZZ)/tests/fuzz/fuzz_sniff.o $(FUZZ)/preload/sniff.o $(FUZZ)/libcore.a
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ -lpthread

$(FUZZ)/tests/fuzz/fuzz_tls_records: $(FUZZ)/tests/fuzz/fuzz_tls_records.o \
		$(call objs,$(FUZZ),$(PRELOAD_LIB_SRCS)) $(FUZZ)/libcore.a
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(GNUTLS_LIBS) -lpthread -ldl
