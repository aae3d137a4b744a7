/*
 * preload/uaccess — the program's memory read and written through the kernel,
 * never dereferenced: a bad pointer in an ioctl argument becomes EFAULT for
 * the caller, as copy_from_user/copy_to_user make it for the kernel's own
 * ioctls, instead of a crash inside the library. process_vm_readv/writev on
 * the own process; where a sandbox refuses them (seccomp: containers' default
 * profiles), a pipe carries the bytes, which faults just as safely.
 */
#ifndef ATTLS_PRELOAD_UACCESS_H
#define ATTLS_PRELOAD_UACCESS_H

#include <stddef.h>

/* Copy n bytes from the program's src into our dst. 0, or -1 with EFAULT when
 * any of src cannot be read (other errno values only for a failing kernel). */
int uaccess_read(void *dst, const void *src, size_t n);
/* Copy n bytes of our src into the program's dst. 0, or -1 with EFAULT when
 * any of dst cannot be written; bytes before the fault may have been. */
int uaccess_write(void *dst, const void *src, size_t n);

#endif
