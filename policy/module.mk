# policy/: the policy language (lexer, parser, schema, validation, models,
# matching, snapshots). Linked into every program and into libattls.so.
POLICY_SRCS := policy/addr.c policy/diag.c policy/lexer.c policy/schema.c policy/values.c \
               policy/parser.c policy/validate.c policy/ciphers.c policy/attls_model.c \
               policy/ruleset.c policy/index.c policy/match.c policy/ipsec_model.c policy/policy.c \
               policy/storeurl.c

CORE_SRCS := $(COMMON_SRCS) $(POLICY_SRCS)

$(OBJ)/libcore.a: $(call objs,$(OBJ),$(CORE_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(SAN)/libcore.a: $(call objs,$(SAN),$(CORE_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(FUZZ)/libcore.a: $(call objs,$(FUZZ),$(CORE_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# docs/policy-reference.md carries `attls policy reference` between markers.
.PHONY: docs
docs: $(BUILD)/bin/attls
	@scripts/gen-policy-reference $(BUILD)/bin/attls
