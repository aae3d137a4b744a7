/* iked/swsa_dir — the dir: store: one file per tunnel record, named after
 * its key ("<DVIPA>_<TUNNEL>.json"). A write goes to a temporary file in the
 * same directory, is flushed (fsync), renamed over the record (or linked,
 * when only a missing record may be written) and the directory is flushed
 * too, so a reader sees the old record or the new one,
 * never part of one, also after a crash. Writers and deleters on every node
 * that shares the directory take an flock on ".attls-swsa.lock" first, so a
 * delete's "is it still mine?" and its unlink are one step. The directory
 * is never created: a shared mount that is missing must look like an
 * outage, not like an empty local directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/strutil.h"
#include "iked/crypto.h"
#include "iked/swsa_backend.h"
#include "iked/swsa_record.h"

#define LOCK_NAME ".attls-swsa.lock"
#define TMP_PREFIX ".tmp."
#define TMP_STALE_SECS 600                /* a writer's leftover after a crash */
#define FILE_MODE 0640

struct dir_backend {
	struct swsa_backend b;
	char path[STORE_PATH_MAX];
	int dfd;                          /* the directory, while connected */
};

static struct dir_backend *D(struct swsa_backend *b)
{
	return (struct dir_backend *)b;
}

static int errf(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

/* Temporary files older than TMP_STALE_SECS: left by a writer that died. */
static void remove_stale(struct dir_backend *d)
{
	int fd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return;
	}
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(dir))) {
		struct stat st;
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
		    fstatat(d->dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && now - st.st_mtime > TMP_STALE_SECS)
			unlinkat(d->dfd, e->d_name, 0);
	}
	closedir(dir);
}

static int dir_connect(struct swsa_backend *b, char *err, size_t errlen)
{
	struct dir_backend *d = D(b);
	d->dfd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dfd < 0)
		return errf(err, errlen, "directory", d->path);
	if (faccessat(d->dfd, ".", W_OK, AT_EACCESS) != 0) {
		errf(err, errlen, "cannot write to", d->path);
		close(d->dfd);
		d->dfd = -1;
		return -1;
	}
	remove_stale(d);
	return 0;
}

static void dir_disconnect(struct swsa_backend *b)
{
	struct dir_backend *d = D(b);
	if (d->dfd >= 0)
		close(d->dfd);
	d->dfd = -1;
}

/* The lock every writer and deleter of the directory takes; -1 on failure. */
static int lock_dir(struct dir_backend *d, char *err, size_t errlen)
{
	int fd = openat(d->dfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, FILE_MODE);
	if (fd < 0)
		return errf(err, errlen, "lock file in", d->path);
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			errf(err, errlen, "lock file in", d->path);
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void unlock_dir(int fd)
{
	close(fd);                        /* releases the flock */
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A new temporary file; its name in tmp. */
static int create_tmp(struct dir_backend *d, const char *file, char *tmp, size_t tmplen)
{
	for (int tries = 0; tries < 8; tries++) {
		snprintf(tmp, tmplen, TMP_PREFIX "%08x.%s", random_u32(), file);
		int fd = openat(d->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int dir_put(struct swsa_backend *b, const char *key, const char *text, size_t len,
		   bool only_if_absent, char *err, size_t errlen)
{
	struct dir_backend *d = D(b);
	char file[SWSA_KEY_MAX], tmp[SWSA_KEY_MAX + 32];
	if (swsa_key_to_file(key, file, sizeof file)) {
		snprintf(err, errlen, "%s is not a record key", key);
		return -1;
	}
	int lock = lock_dir(d, err, errlen);
	if (lock < 0)
		return -1;
	int rc = -1;
	int fd = create_tmp(d, file, tmp, sizeof tmp);
	if (fd < 0) {
		errf(err, errlen, "temporary file in", d->path);
		goto out;
	}
	if (write_all(fd, text, len) || fsync(fd)) {
		errf(err, errlen, "writing a record to", d->path);
		close(fd);
		unlinkat(d->dfd, tmp, 0);
		goto out;
	}
	close(fd);
	if (only_if_absent) {
		/* a link never replaces: an existing record stays */
		if (linkat(d->dfd, tmp, d->dfd, file, 0) && errno != EEXIST) {
			errf(err, errlen, "linking a record in", d->path);
			unlinkat(d->dfd, tmp, 0);
			goto out;
		}
		unlinkat(d->dfd, tmp, 0);
	} else if (renameat(d->dfd, tmp, d->dfd, file)) {
		errf(err, errlen, "renaming a record in", d->path);
		unlinkat(d->dfd, tmp, 0);
		goto out;
	}
	if (fsync(d->dfd)) {
		errf(err, errlen, "flushing", d->path);
		goto out;
	}
	rc = 0;
out:
	unlock_dir(lock);
	return rc;
}

/* Up to SWSA_RECORD_MAX + 1 bytes of a regular file (more means "too big",
 * which the decoder says). Returns the length, or -1 with errno (ENOENT:
 * gone). */
static ssize_t read_record(int dfd, const char *name, char *buf)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	size_t n = 0;
	while (n < SWSA_RECORD_MAX + 1) {
		ssize_t r = read(fd, buf + n, SWSA_RECORD_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return (ssize_t)n;
}

static int dir_del(struct swsa_backend *b, const char *key, const char *owner, bool *kept,
		   char *err, size_t errlen)
{
	struct dir_backend *d = D(b);
	char file[SWSA_KEY_MAX];
	*kept = false;
	if (swsa_key_to_file(key, file, sizeof file)) {
		snprintf(err, errlen, "%s is not a record key", key);
		return -1;
	}
	char *buf = malloc(SWSA_RECORD_MAX + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int lock = lock_dir(d, err, errlen);
	int rc = -1;
	if (lock < 0)
		goto out;
	ssize_t n = read_record(d->dfd, file, buf);
	if (n < 0 && errno == ENOENT) {
		rc = 0;
	} else if (n >= 0 && !swsa_text_owned_by(buf, (size_t)n, owner)) {
		*kept = true;
		rc = 0;
	} else if ((n < 0 && errno != EINVAL) ||
		   (unlinkat(d->dfd, file, 0) && errno != ENOENT) || fsync(d->dfd)) {
		errf(err, errlen, "removing a record from", d->path);
	} else {
		rc = 0;
	}
	unlock_dir(lock);
out:
	free(buf);
	return rc;
}

static int dir_scan(struct swsa_backend *b, const struct ip_addr *dvipa, swsa_scan_fn *fn,
		    void *arg, char *err, size_t errlen)
{
	struct dir_backend *d = D(b);
	int fd = openat(d->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	char *buf = malloc(SWSA_RECORD_MAX + 1);
	int rc = -1;
	if (!dir || !buf) {
		errf(err, errlen, "listing", d->path);
		if (!dir && fd >= 0)
			close(fd);
		goto out;
	}
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(dir);
		if (!e)
			break;
		char key[SWSA_KEY_MAX];
		struct ip_addr kd;
		if (swsa_file_to_key(e->d_name, key, sizeof key) ||
		    swsa_key_parse(key, &kd, NULL) ||
		    (dvipa && memcmp(&kd, dvipa, sizeof kd) != 0))
			continue;
		ssize_t n = read_record(d->dfd, e->d_name, buf);
		if (n < 0 && errno == ENOENT)
			continue;                 /* deleted while we looked */
		if (n < 0 && errno != EINVAL) {
			errf(err, errlen, "reading a record in", d->path);
			goto out;
		}
		/* not a regular file: an empty text, which does not decode */
		fn(arg, key, buf, n < 0 ? 0 : (size_t)n);
	}
	if (errno) {
		errf(err, errlen, "listing", d->path);
		goto out;
	}
	rc = 0;
out:
	if (dir)
		closedir(dir);
	free(buf);
	return rc;
}

static void dir_free(struct swsa_backend *b)
{
	dir_disconnect(b);
	free(b);
}

static const struct swsa_backend_ops dir_ops = {
	.connect = dir_connect,
	.disconnect = dir_disconnect,
	.put = dir_put,
	.del = dir_del,
	.scan = dir_scan,
	.free = dir_free,
};

struct swsa_backend *swsa_dir_new(const struct store_url *u)
{
	struct dir_backend *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->b.ops = &dir_ops;
	str_copy(d->path, u->path, sizeof d->path);
	d->dfd = -1;
	return &d->b;
}
