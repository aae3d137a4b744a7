# tests/bench/: measurements, built from the release objects; never part of
# `make check`. scripts/bench-policy runs bench_policy and prints its numbers.
BENCH_POLICY := $(BUILD)/bench/bench_policy

$(BENCH_POLICY): $(OBJ)/tests/bench/bench_policy.o $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ -lpthread

EXTRA_CFLAGS_tests/bench := -Wno-missing-prototypes

.PHONY: bench-policy
bench-policy: $(BENCH_POLICY)

# The IKE load generator: an initiator made of iked's codec, crypto, DH and key
# derivation; scripts/bench-ike drives it against iked and charon.
IKE_LOAD := $(BUILD)/bench/ike_load
IKE_LOAD_OBJS := $(call objs,$(OBJ),tests/bench/ike_load.c iked/codec.c iked/crypto.c \
                   iked/dh.c iked/keys.c) $(OBJ)/libcore.a

$(IKE_LOAD): $(IKE_LOAD_OBJS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ $(IKED_LIBS) -lpthread

# The floor under iked's cost per negotiation: its DH and PRF work alone.
BENCH_IKE_FLOOR := $(BUILD)/bench/bench_ike_floor
$(BENCH_IKE_FLOOR): $(call objs,$(OBJ),tests/bench/bench_ike_floor.c iked/crypto.c iked/dh.c \
                      iked/keys.c) $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ $(IKED_LIBS) -lpthread

ALL_TARGETS += $(IKE_LOAD) $(BENCH_IKE_FLOOR)
