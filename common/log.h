/*
 * common/log — the one logging module of attls.
 *
 * Owns where messages go: syslog (its own datagram socket to /dev/log or
 * journald's socket, so it never touches the host program's openlog() state),
 * stderr, and an optional file. A line meant for syslog that neither syslog
 * nor the file took goes to stderr. stderr never gets a line when fd 2 is a
 * network connection or a socket pair, and a full pipe drops it rather than
 * block the thread (nor raise SIGPIPE). Every destination gets one write()
 * per line, so lines from threads and processes never interleave. Uses raw system calls: inside
 * libattls.so a call to socket() or connect() would re-enter the shim's own
 * hooks.
 */
#ifndef ATTLS_COMMON_LOG_H
#define ATTLS_COMMON_LOG_H

#include <stdarg.h>
#include <syslog.h>

#define LOG_TO_STDERR 0x1
#define LOG_TO_SYSLOG 0x2
#define LOG_TO_FILE   0x4   /* the file set by log_set_file, when there is one */

/* ident: program tag for syslog and stderr; dests: LOG_TO_* flags. */
void log_init(const char *ident, unsigned dests);
/* Messages above this syslog priority (LOG_ERR..LOG_DEBUG) are dropped. */
void log_set_level(int maxprio);
int log_get_level(void);
/* Also append every line to PATH (NULL closes it). Returns 0 or -errno. */
int log_set_file(const char *path);
/* Called with each descriptor the module opens, so a host can move it out of
 * the program's way; returns the descriptor to use. */
void log_set_fd_hook(int (*hook)(int fd));
/* Whether fd is one of the module's own descriptors. */
int log_owns_fd(int fd);
/* The module's descriptor oldfd now lives at newfd. */
void log_renumber(int oldfd, int newfd);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Emit to exactly these destinations, whatever the level and default dests. */
void log_emit(unsigned dests, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vemit(unsigned dests, int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* The same, labelled in the file with label instead of the priority's name. */
void log_vemit_as(unsigned dests, int prio, const char *label, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
void log_vmsg(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
