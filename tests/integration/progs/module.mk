# tests/integration/progs/: plain TCP programs the integration tests run under attls.
PROGS := echo_server echo_client nbconnect

$(BUILD)/tests/progs/%: tests/integration/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(OPT) -Wno-missing-prototypes -o $@ $<

ALL_TARGETS += $(addprefix $(BUILD)/tests/progs/,$(PROGS))

# SIOCTTLSCTL test programs: they print with the examples' names for the
# ioctl's values (examples/util).
IOCTL_PROGS := $(addprefix $(BUILD)/tests/progs/,ttls_driver ttls_errors)

$(IOCTL_PROGS): $(BUILD)/tests/progs/%: tests/integration/progs/%.c $(OBJ)/examples/util.o
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Iexamples $(BASE_CFLAGS) $(OPT) -std=c11 -Wno-missing-prototypes \
	    -o $@ $^ -lpthread

ALL_TARGETS += $(IOCTL_PROGS)

# swsa_driver: iked's SWSA store in a loop of its own, driven from stdin
# (test_swsa_store.py); it links the daemon's objects.
SWSA_DRIVER := $(BUILD)/tests/progs/swsa_driver
$(SWSA_DRIVER): tests/integration/progs/swsa_driver.c $(call objs,$(OBJ),$(IKED_LIB_SRCS)) \
                $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(OPT) -Wno-missing-prototypes -o $@ $^ $(IKED_LIBS) -lpthread

ALL_TARGETS += $(SWSA_DRIVER)
