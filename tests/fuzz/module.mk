# tests/fuzz/: libFuzzer targets (clang), one per parser of untrusted input.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

$(FUZZ)/tests/fuzz/%: $(FUZZ)/tests/fuzz/%.o $(FUZZ)/libcore.a
	@mkdir -p $(@D)
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ -lpthread

EXTRA_CFLAGS_tests/fuzz := -Wno-missing-prototypes
FUZZ_TARGETS += $(patsubst tests/fuzz/%.c,$(FUZZ)/tests/fuzz/%,$(FUZZ_SRCS))
