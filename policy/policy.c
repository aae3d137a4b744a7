/* policy/policy — loading files into snapshots and swapping them in a store. */
#include "policy/policy.h"

#include <errno.h>
#include <fcntl.h>
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

static char *read_file(const char *path, size_t *len, struct diags *d)
{
	struct srcpos top = { path, 1, 1 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_error(d, top, NULL, "cannot open the policy: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		diag_error(d, top, NULL, "the policy is not a regular file");
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > POLICY_MAX_BYTES) {
		diag_error(d, top, NULL, "the policy is larger than %u MiB", POLICY_MAX_BYTES >> 20);
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		diag_error(d, top, NULL, "out of memory reading the policy");
		close(fd);
		return NULL;
	}
	/* The file may grow while being read (an editor writing it): read to EOF. */
	for (;;) {
		if (n == cap) {
			if (cap > POLICY_MAX_BYTES) {
				diag_error(d, top, NULL, "the policy is larger than %u MiB",
					   POLICY_MAX_BYTES >> 20);
				free(buf);
				close(fd);
				return NULL;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				diag_error(d, top, NULL, "out of memory reading the policy");
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diag_error(d, top, NULL, "cannot read the policy: %s", strerror(errno));
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

struct policy *policy_load_file(const char *path, struct diags *d)
{
	size_t len;
	char *buf = read_file(path, &len, d);
	if (!buf)
		return NULL;
	char *dir = abs_dir_of(path);
	struct policy *p = load(path, dir, buf, len, d);
	free(dir);
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

void policy_store_destroy(struct policy_store *st)
{
	policy_unref(st->cur);
	free(st->path);
	pthread_mutex_destroy(&st->lock);
	memset(st, 0, sizeof *st);
}

static int stamp_of(const char *path, struct file_stamp *s)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->size = (uint64_t)st.st_size;
	s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	s->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return 0;
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

int policy_store_reload(struct policy_store *st, bool force, struct diags *d)
{
	struct file_stamp now;
	bool have = stamp_of(st->path, &now) == 0;
	pthread_mutex_lock(&st->lock);
	bool same = have && st->have_stamp && memcmp(&now, &st->stamp, sizeof now) == 0;
	if (!force && same && !st->racy) {
		pthread_mutex_unlock(&st->lock);
		return 0;
	}
	pthread_mutex_unlock(&st->lock);

	/* Read and parse outside the lock: lookups go on against the current
	 * snapshot meanwhile. */
	size_t len;
	char *buf = read_file(st->path, &len, d);
	uint64_t h = buf ? content_hash(buf, len) : 0;
	pthread_mutex_lock(&st->lock);
	st->stamp = now;
	st->have_stamp = have;
	st->racy = have && stamp_is_recent(&now);
	bool unchanged = buf && st->have_hash && st->hash == h;
	st->hash = h;
	st->have_hash = buf != NULL;
	pthread_mutex_unlock(&st->lock);
	if (!buf)
		return -1;
	if (unchanged && !force) {
		free(buf);
		return 0;
	}
	char *dir = abs_dir_of(st->path);
	struct policy *p = load(st->path, dir, buf, len, d);
	free(dir);
	free(buf);
	if (!p)
		return -1;
	pthread_mutex_lock(&st->lock);
	struct policy *old = st->cur;
	st->cur = p;
	pthread_mutex_unlock(&st->lock);
	policy_unref(old);
	return 1;
}

struct policy *policy_store_get(struct policy_store *st)
{
	pthread_mutex_lock(&st->lock);
	struct policy *p = policy_ref(st->cur);
	pthread_mutex_unlock(&st->lock);
	return p;
}
