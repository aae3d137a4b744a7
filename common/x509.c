/* common/x509 — see x509.h. */
#include "common/x509.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int x509_read_file(const char *path, gnutls_datum_t *out, char *err, size_t errlen)
{
	struct stat st;
	return x509_read_file_st(path, out, &st, err, errlen);
}

int x509_read_file_st(const char *path, gnutls_datum_t *out, struct stat *stp, char *err,
		      size_t errlen)
{
	/* O_NONBLOCK: a FIFO at the path must not hang the reader; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open keyring %s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > X509_FILE_MAX_BYTES) {
		snprintf(err, errlen, "keyring %s is not a regular file of at most 4 MiB", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	*stp = st;
	out->data = gnutls_malloc((size_t)st.st_size + 1);
	if (!out->data) {
		close(fd);
		snprintf(err, errlen, "out of memory reading %s", path);
		return -1;
	}
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, out->data + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	out->data[n] = 0;
	out->size = (unsigned)n;
	return 0;
}

bool x509_is_ca(gnutls_x509_crt_t crt)
{
	unsigned critical = 0;
	return gnutls_x509_crt_get_ca_status(crt, &critical) > 0;
}

bool x509_cert_matches_key(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	unsigned char a[64], b[64];
	size_t al = sizeof a, bl = sizeof b;
	if (gnutls_x509_crt_get_key_id(crt, 0, a, &al) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, 0, b, &bl) < 0)
		return false;
	return al == bl && memcmp(a, b, al) == 0;
}
