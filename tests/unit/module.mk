# tests/unit/: Check tests, one file per module, built with ASan + UBSan.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

$(SAN)/tests/unit/%: $(SAN)/tests/unit/%.o $(SAN)/tests/unit/support.o $(SAN)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(CHECK_LIBS) -lpthread

EXTRA_CFLAGS_tests/unit := $(CHECK_CFLAGS) $(GNUTLS_CFLAGS) -Wno-missing-prototypes
UNIT_TESTS += $(patsubst tests/unit/%.c,$(SAN)/tests/unit/%,$(UNIT_SRCS))
