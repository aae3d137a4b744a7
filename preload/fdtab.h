/*
 * preload/fdtab — what each descriptor number of the process is to the shim:
 * nothing (the common case, checked without a lock), a program descriptor that
 * stands for a covered connection (holding a reference to it), or one of the
 * shim's own descriptors (real sockets, engine ends, epoll...), which the
 * program may not close or overwrite.
 *
 * The shim keeps its own descriptors at or above a base (1024 when the limit
 * allows) so they never take the low numbers programs use with select().
 */
#ifndef ATTLS_PRELOAD_FDTAB_H
#define ATTLS_PRELOAD_FDTAB_H

#include <stdbool.h>

struct conn;

int  fdtab_init(void);                /* 0, or -1 when no table could be mapped */
/* The connection behind a program descriptor, with a reference, or NULL. */
struct conn *fdtab_conn(int fd);
/* Whether fd is known to the table at all (fast, lock-free). */
bool fdtab_known(int fd);
bool fdtab_is_shim(int fd);
/* Record fd as a program descriptor of c (takes a reference to c). */
int  fdtab_set_conn(int fd, struct conn *c);
/* Forget fd; returns the connection it stood for (the caller owns that
 * reference) or NULL. */
struct conn *fdtab_take(int fd);
/* Move fd into the shim's range (close-on-exec) and mark it shim-owned.
 * Returns the new descriptor, or -1 with errno set (fd is then closed). */
int  fdtab_adopt(int fd);
/* A close-on-exec copy of fd in the shim's range, marked shim-owned; fd
 * itself stays open. Returns the copy or -1. */
int  fdtab_dup_shim(int fd);
/* Re-create the lock in a forked child. */
void fdtab_atfork_child(void);
/* Close one of the shim's own descriptors. */
void fdtab_release(int fd);
/* Move the shim descriptor at fd elsewhere so the program can use the number
 * (dup2 onto it). Returns 0 or -1. */
int  fdtab_evict(int fd);
/* After fork, in the child: close every shim descriptor; calls drop(c) for
 * each program descriptor's connection so the caller can mark it foreign. */
void fdtab_after_fork_child(void (*drop)(int fd, struct conn *c));
/* Iterate program descriptors (for close_range): calls fn for each in [lo, hi]. */
void fdtab_each_conn(unsigned lo, unsigned hi, void (*fn)(int fd, void *arg), void *arg);
/* One above the highest descriptor the table has recorded. */
unsigned fdtab_top(void);
/* Lowest descriptor number the shim uses for itself. */
int  fdtab_base(void);
/* Lock protecting descriptor renumbering (dup2 and conversion) against each other. */
void fdtab_lock(void);
void fdtab_unlock(void);

#endif
