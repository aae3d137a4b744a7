# examples/: controlling applications — programs that start, stop and query
# TLS on their own connections with the SIOCTTLSCTL ioctl (include/ezbztlsc.h).
# Plain C11; they share examples/util.c (sockets, line reads, names).
EXAMPLES := starttls_server ftp_server mixed_server query_client

EXTRA_CFLAGS_examples := -std=c11

$(BUILD)/examples/%: $(OBJ)/examples/%.o $(OBJ)/examples/util.o
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT) -o $@ $^ -lpthread

ALL_TARGETS += $(addprefix $(BUILD)/examples/,$(EXAMPLES))

# The example policies name their key rings in policy/examples/certs: `make`
# makes throwaway certificates there once (scripts/mkcerts; not in git), so
# the README's examples work after `make` alone. client.pem is written last.
EXAMPLE_CERTS := policy/examples/certs/client.pem
$(EXAMPLE_CERTS):
	scripts/mkcerts $(@D)

ALL_TARGETS += $(EXAMPLE_CERTS)
