/* policy/policy — loading files into snapshots and swapping them in a store. */
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy_internal.h"

static void policy_free(struct policy *p)
{
	arena_free(&p->arena);
	free(p);
}

/* dir: where relative file names in the policy start (NULL: the working
 * directory). */
static struct policy *load(const char *name, const char *dir, const char *buf, size_t len,
			   struct diags *d)
{
	struct policy *p = calloc(1, sizeof *p);
	struct srcpos top = { name, 1, 1 };
	if (!p) {
		diag_error(d, top, NULL, "out of memory");
		return NULL;
	}
	atomic_init(&p->refs, 1);
	arena_init(&p->arena);
	size_t errors_before = d->nerrors;
	int rc = ptree_parse(&p->tree, &p->arena, name, buf, len, d);
	if (rc == 0 && dir && !(p->tree.dir = arena_strdup(&p->arena, dir)))
		rc = -1;
	if (rc == 0) {
		ptree_resolve(&p->tree, d);
		policy_validate(&p->tree, d);
		rc = attls_compile(p, d);
	}
	if (rc == 0)
		rc = ipsec_compile(p, d);
	if (rc == 0 && d->nerrors == errors_before)
		rc = attls_index_build(p);
	if (rc < 0)
		diag_error(d, top, NULL, "out of memory while loading the policy");
	p->path = p->tree.file;
	diags_sort(d);
	if (rc < 0 || d->nerrors != errors_before) {
		policy_free(p);
		return NULL;
	}
	return p;
}

/* The directory part of a file name, or NULL when it has none. */
static char *dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	if (!slash)
		return NULL;
	return slash == name ? strdup("/") : strndup(name, (size_t)(slash - name));
}

struct policy *policy_load_buffer(const char *name, const char *buf, size_t len, struct diags *d)
{
	char *dir = dir_of(name);
	struct policy *p = load(name, dir, buf, len, d);
	free(dir);
	return p;
}

/* The policy file's directory as an absolute path, so key rings named
 * relative to it still resolve after the program changes its working
 * directory (the shim loads the policy at start, TLS may begin much later). */
static char *abs_dir_of(const char *path)
{
	char *dir = dir_of(path);
	char *abs = realpath(dir ? dir : ".", NULL);
	if (abs) {
		free(dir);
		return abs;
	}
	return dir;
}

static void stamp_from(const struct stat *st, struct file_stamp *s)
{
	s->dev = (uint64_t)st->st_dev;
	s->ino = (uint64_t)st->st_ino;
	s->size = (uint64_t)st->st_size;
	s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	s->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	default: return "not a file";
	}
}

static void not_regular(mode_t mode, char *err, size_t errlen)
{
	snprintf(err, errlen, "the policy is not a regular file (%s)", file_kind(mode));
}

/* The whole file, and the stamp of what was read. On failure returns NULL
 * with the reason in err. Opened without blocking: a FIFO or a device at the
 * path must be refused, not waited on (a program's accept() may be asking). */
static char *read_file(const char *path, size_t *len, struct file_stamp *stamp, char *err,
		       size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			not_regular(st.st_mode, err, errlen);   /* a socket: ENXIO */
		else
			snprintf(err, errlen, "cannot open the policy: %s", strerror(e));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot read the policy: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		not_regular(st.st_mode, err, errlen);
		close(fd);
		return NULL;
	}
	stamp_from(&st, stamp);
	if ((uint64_t)st.st_size > POLICY_MAX_BYTES) {
		snprintf(err, errlen, "the policy is larger than %u MiB", POLICY_MAX_BYTES >> 20);
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "out of memory reading the policy");
		close(fd);
		return NULL;
	}
	/* The file may grow while being read (an editor writing it): read to EOF. */
	for (;;) {
		if (n == cap) {
			char *nb = cap > POLICY_MAX_BYTES ? NULL : realloc(buf, cap * 2);
			if (!nb) {
				if (cap > POLICY_MAX_BYTES)
					snprintf(err, errlen, "the policy is larger than %u MiB",
						 POLICY_MAX_BYTES >> 20);
				else
					snprintf(err, errlen, "out of memory reading the policy");
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read the policy: %s", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return buf;
}

static struct policy *load_read(const char *path, const char *buf, size_t len,
				struct diags *d)
{
	char *dir = abs_dir_of(path);
	struct policy *p = load(path, dir, buf, len, d);
	free(dir);
	return p;
}

struct policy *policy_load_file(const char *path, struct diags *d)
{
	size_t len;
	struct file_stamp stamp;
	char err[256];
	char *buf = read_file(path, &len, &stamp, err, sizeof err);
	if (!buf) {
		diag_error(d, ((struct srcpos){ path, 1, 1 }), NULL, "%s", err);
		return NULL;
	}
	struct policy *p = load_read(path, buf, len, d);
	free(buf);
	return p;
}

struct policy *policy_ref(struct policy *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void policy_unref(struct policy *p)
{
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		policy_free(p);
}

const char *policy_path(const struct policy *p) { return p->path; }
void policy_counts(const struct policy *p, struct policy_counts *c) { *c = p->counts; }
const struct ptree *policy_tree(const struct policy *p) { return &p->tree; }

/* ---- store ----------------------------------------------------------------- */

void policy_store_init(struct policy_store *st, const char *path)
{
	memset(st, 0, sizeof *st);
	pthread_mutex_init(&st->lock, NULL);
	st->path = strdup(path ? path : "");
}

void policy_store_guard_rules(struct policy_store *st,
			      size_t (*count_rules)(const struct policy *p))
{
	st->count_rules = count_rules;
}

static void drop_pending(struct policy_store *st)
{
	free(st->pending);
	st->pending = NULL;
	st->pending_len = 0;
}

void policy_store_destroy(struct policy_store *st)
{
	policy_unref(st->cur);
	drop_pending(st);
	free(st->path);
	pthread_mutex_destroy(&st->lock);
	memset(st, 0, sizeof *st);
}

static int stamp_of(const char *path, struct file_stamp *s)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	stamp_from(&st, s);
	return 0;
}

static bool same_stamp(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* FNV-1a: enough to tell an edit from the same bytes read again. */
static uint64_t content_hash(const char *buf, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ull;
	return h ^ len;
}

/* A file modified within the last two seconds may be modified again with
 * no visible change to its stamp (FAT keeps 2 s, others a clock tick). */
static bool stamp_is_recent(const struct file_stamp *s)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return now - s->mtime_ns < 2000000000ll;
}

/* Whether the file as just read has been the same bytes with the same stamp
 * since a check at least POLICY_STABLE_MS ago (buf stays the caller's).
 * Otherwise it becomes (or stays) the pending content, and *buf is taken
 * over or freed. */
static bool settled(struct policy_store *st, char **buf, size_t len,
		    const struct file_stamp *stamp, int64_t now_ms)
{
	if (st->pending && st->pending_len == len && same_stamp(&st->pending_stamp, stamp) &&
	    memcmp(st->pending, *buf, len) == 0) {
		if (now_ms - st->pending_since_ms >= POLICY_STABLE_MS)
			return true;
		free(*buf);
		*buf = NULL;
		return false;
	}
	drop_pending(st);
	st->pending = *buf;
	st->pending_len = len;
	st->pending_stamp = *stamp;
	st->pending_since_ms = now_ms;
	*buf = NULL;
	return false;
}

static size_t rules_of(const struct policy_store *st, const struct policy *p)
{
	return st->count_rules && p ? st->count_rules(p) : 0;
}

/* Validate buf as the whole file and install it unless the guard refuses it. */
static int decide(struct policy_store *st, const char *buf, size_t len, uint64_t h,
		  struct diags *d)
{
	st->decided_hash = h;
	st->have_decided = true;
	struct policy *p = load_read(st->path, buf, len, d);
	if (!p)
		return POLICY_INVALID;
	if (st->count_rules && rules_of(st, p) == 0 && rules_of(st, st->cur) > 0) {
		policy_unref(p);
		return POLICY_NO_RULES;
	}
	pthread_mutex_lock(&st->lock);
	struct policy *old = st->cur;
	st->cur = p;
	pthread_mutex_unlock(&st->lock);
	policy_unref(old);
	st->cur_hash = h;
	st->have_cur_hash = true;
	return POLICY_INSTALLED;
}

int policy_store_reload(struct policy_store *st, bool force, int64_t now_ms, struct diags *d)
{
	struct file_stamp now;
	if (!force && !st->pending && st->have_stamp && !st->racy && stamp_of(st->path, &now) == 0 &&
	    same_stamp(&now, &st->stamp))
		return POLICY_UNCHANGED;

	/* Read and parse outside the snapshot's lock: lookups go on against the
	 * current snapshot meanwhile. */
	size_t len;
	char err[sizeof st->read_failure];
	char *buf = read_file(st->path, &len, &now, err, sizeof err);
	if (!buf) {
		drop_pending(st);
		st->have_stamp = st->have_decided = false;
		if (!force && strcmp(err, st->read_failure) == 0)
			return POLICY_UNCHANGED;
		snprintf(st->read_failure, sizeof st->read_failure, "%s", err);
		diag_error(d, ((struct srcpos){ st->path, 1, 1 }), NULL, "%s", err);
		return POLICY_INVALID;
	}
	st->read_failure[0] = '\0';
	st->stamp = now;
	st->have_stamp = true;
	st->racy = stamp_is_recent(&now);
	uint64_t h = content_hash(buf, len);
	if (!force && ((st->have_decided && h == st->decided_hash) ||
		       (st->have_cur_hash && h == st->cur_hash))) {
		/* Decided on already, or back to what is in force. */
		st->decided_hash = h;
		st->have_decided = true;
		drop_pending(st);
		free(buf);
		return POLICY_UNCHANGED;
	}
	if (!force && !settled(st, &buf, len, &now, now_ms))
		return POLICY_UNCHANGED;
	drop_pending(st);
	int rc = decide(st, buf, len, h, d);
	free(buf);
	return rc;
}

struct policy *policy_store_get(struct policy_store *st)
{
	pthread_mutex_lock(&st->lock);
	struct policy *p = policy_ref(st->cur);
	pthread_mutex_unlock(&st->lock);
	return p;
}
