# common/: logging, arena allocator, JSON writer, string helpers, X.509 helpers.
COMMON_SRCS := common/log.c common/arena.c common/json.c common/strutil.c common/kvline.c common/x509.c
