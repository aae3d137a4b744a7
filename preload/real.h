/*
 * preload/real — the libc functions the shim interposes, bound once with
 * dlsym(RTLD_NEXT) before any hook can run, so the shim never recurses into its
 * own hooks. Internal work that needs no libc behaviour uses raw system calls
 * (sys_* below) instead.
 */
#ifndef ATTLS_PRELOAD_REAL_H
#define ATTLS_PRELOAD_REAL_H

#include <netdb.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

struct real_fns {
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*ioctl)(int, unsigned long, ...);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct hostent *(*gethostbyname)(const char *);
	struct hostent *(*gethostbyname2)(const char *, int);
	int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **, int *);
	int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t,
				struct hostent **, int *);
};

extern struct real_fns real;
/* Binds every symbol; safe to call from any hook, any number of times. */
void real_init(void);

/* Raw system calls: no hooks, no libc state, errno set as usual. */
static inline int sys_close(int fd) { return (int)syscall(SYS_close, fd); }
static inline int sys_dup3(int o, int n, int f) { return (int)syscall(SYS_dup3, o, n, f); }
static inline int sys_fcntl(int fd, int cmd, long arg) { return (int)syscall(SYS_fcntl, fd, cmd, arg); }
static inline int sys_getsockopt(int fd, int l, int o, void *v, socklen_t *n)
{ return (int)syscall(SYS_getsockopt, fd, l, o, v, n); }
static inline int sys_setsockopt(int fd, int l, int o, const void *v, socklen_t n)
{ return (int)syscall(SYS_setsockopt, fd, l, o, v, n); }
static inline int sys_getsockname(int fd, struct sockaddr *a, socklen_t *n)
{ return (int)syscall(SYS_getsockname, fd, a, n); }
static inline int sys_getpeername(int fd, struct sockaddr *a, socklen_t *n)
{ return (int)syscall(SYS_getpeername, fd, a, n); }
static inline int sys_shutdown(int fd, int how) { return (int)syscall(SYS_shutdown, fd, how); }

#endif
