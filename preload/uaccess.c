#include "preload/uaccess.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload/real.h"

/* Set once process_vm_* has been refused: every later copy takes the pipe. */
static atomic_bool vm_refused;

/* One transfer between our memory and the program's (the same address space:
 * process_vm_* on the own pid, which needs no ptrace permission). Returns 0,
 * 1 when the calls are refused here, or -1 with errno. */
static int vm_copy(bool to_program, void *ours, void *theirs, size_t n)
{
	struct iovec local = { ours, n }, remote = { theirs, n };
	pid_t self = getpid();
	ssize_t done = to_program ? process_vm_writev(self, &local, 1, &remote, 1, 0)
				  : process_vm_readv(self, &local, 1, &remote, 1, 0);
	if (done < 0 && (errno == ENOSYS || errno == EPERM))
		return 1;
	if (done < 0)
		return -1;
	if ((size_t)done != n) {
		errno = EFAULT;   /* a partial transfer stops at the first bad page */
		return -1;
	}
	return 0;
}

/* The same through a pipe: write() reads the source and read() writes the
 * destination, and either answers EFAULT for memory it cannot touch. The pipe
 * lives for this call only. */
static int pipe_copy(void *dst, const void *src, size_t n)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	const uint8_t *s = src;
	uint8_t *d = dst;
	int rc = 0;
	while (n) {
		ssize_t w = write(p[1], s, n);
		if (w <= 0) {
			rc = -1;
			break;
		}
		ssize_t r = read(p[0], d, (size_t)w);
		if (r != w) {
			if (r >= 0)
				errno = EFAULT;
			rc = -1;
			break;
		}
		s += w;
		d += w;
		n -= (size_t)w;
	}
	int e = errno;
	sys_close(p[0]);
	sys_close(p[1]);
	errno = e;
	return rc;
}

static int copy(bool to_program, void *dst, const void *src, size_t n)
{
	if (!n)
		return 0;
	if (!atomic_load_explicit(&vm_refused, memory_order_relaxed)) {
		int rc = to_program ? vm_copy(true, (void *)src, dst, n)
				    : vm_copy(false, dst, (void *)src, n);
		if (rc <= 0)
			return rc;
		atomic_store_explicit(&vm_refused, true, memory_order_relaxed);
	}
	return pipe_copy(dst, src, n);
}

int uaccess_read(void *dst, const void *src, size_t n)
{
	return copy(false, dst, src, n);
}

int uaccess_write(void *dst, const void *src, size_t n)
{
	return copy(true, dst, src, n);
}
