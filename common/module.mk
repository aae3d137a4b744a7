# common/: logging, arena allocator, JSON writer and reader, string helpers, X.509 helpers,
# key rings, the version.
COMMON_SRCS := common/log.c common/arena.c common/json.c common/jsonread.c common/strutil.c \
               common/kvline.c common/x509.c common/ring.c common/version.c

# The one version: VERSION, compiled into common/version.c alone, which is
# rebuilt when the file changes.
VERSION := $(shell cat VERSION)
VERSION_OBJS := $(foreach v,$(OBJ) $(SAN) $(FUZZ),$(v)/common/version.o)
$(VERSION_OBJS): VERSION
$(VERSION_OBJS): CPPFLAGS += -DATTLS_VERSION='"$(VERSION)"'
