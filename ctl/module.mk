# ctl/: the attls command (run, conns, policy check/show/reference).
ATTLS_SRCS := ctl/attls.c ctl/policy_cmd.c ctl/run_cmd.c ctl/conns_cmd.c ctl/conns_query.c

$(BUILD)/bin/attls: $(call objs,$(OBJ),$(ATTLS_SRCS)) $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ -lpthread

ALL_TARGETS += $(BUILD)/bin/attls
INSTALL_BINS += $(BUILD)/bin/attls
