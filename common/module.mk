# common/: logging, arena allocator, JSON writer, string helpers.
COMMON_SRCS := common/log.c common/arena.c common/json.c common/strutil.c common/kvline.c
