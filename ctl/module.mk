# ctl/: the attls command (run, conns, policy check/show/reference).
ATTLS_SRCS := ctl/attls.c ctl/policy_cmd.c ctl/reference.c ctl/run_cmd.c ctl/conns_cmd.c ctl/conns_query.c

# `attls policy check` loads key rings as the shim does (common/ring).
EXTRA_CFLAGS_ctl := $(GNUTLS_CFLAGS)

$(BUILD)/bin/attls: $(call objs,$(OBJ),$(ATTLS_SRCS)) $(OBJ)/libcore.a
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ $(GNUTLS_LIBS) -lpthread

ALL_TARGETS += $(BUILD)/bin/attls
INSTALL_BINS += $(BUILD)/bin/attls
