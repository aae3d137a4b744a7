# tests/bench/: measurements, built from the release objects; never part of
# `make check`. scripts/bench-policy runs bench_policy and prints its numbers.
BENCH_POLICY := $(BUILD)/bench/bench_policy

$(BENCH_POLICY): $(OBJ)/tests/bench/bench_policy.o $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ -lpthread

EXTRA_CFLAGS_tests/bench := -Wno-missing-prototypes

.PHONY: bench-policy
bench-policy: $(BENCH_POLICY)
