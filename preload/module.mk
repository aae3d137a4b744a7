# preload/: libattls.so, the LD_PRELOAD shim.
PRELOAD_SRCS := preload/real.c preload/fdtab.c preload/conn.c preload/rt.c preload/keyring.c \
                preload/tls.c preload/engine.c preload/export.c preload/sniff.c preload/names.c \
                preload/convert.c preload/hooks.c preload/shim.c

EXTRA_CFLAGS_preload := $(GNUTLS_CFLAGS)

$(BUILD)/lib/libattls.so: $(call objs,$(OBJ),$(PRELOAD_SRCS)) $(OBJ)/libcore.a preload/exports.map
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(call objs,$(OBJ),$(PRELOAD_SRCS)) $(OBJ)/libcore.a \
	    -Wl,--version-script=preload/exports.map -Wl,-z,now -Wl,-z,relro \
	    $(GNUTLS_LIBS) -lpthread -ldl

ALL_TARGETS += $(BUILD)/lib/libattls.so
INSTALL_LIBS += $(BUILD)/lib/libattls.so
