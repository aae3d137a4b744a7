# tests/integration/progs/: plain TCP programs the integration tests run under attls.
PROGS := echo_server echo_client

$(BUILD)/tests/progs/%: tests/integration/progs/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(BASE_CFLAGS) $(OPT) -Wno-missing-prototypes -o $@ $<

ALL_TARGETS += $(addprefix $(BUILD)/tests/progs/,$(PROGS))
