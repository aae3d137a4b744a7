#include "preload/fdtab.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "common/log.h"
#include "preload/conn.h"
#include "preload/real.h"

#define SHIM_TAG ((uintptr_t)1)
#define MAX_TRACKED (1u << 22)

static _Atomic(uintptr_t) *tab;
static unsigned tab_size;
static atomic_uint high_water;     /* 1 + highest descriptor ever recorded */

static void note_fd(int fd)
{
	unsigned want = (unsigned)fd + 1, cur = atomic_load_explicit(&high_water, memory_order_relaxed);
	while (cur < want && !atomic_compare_exchange_weak(&high_water, &cur, want))
		;
}
static int base = 1024;
/* Guards reference handover: a reader may not take a reference while a closer
 * drops the last one. Renumbering takes it too. Never held across blocking. */
static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void fdtab_lock(void) { pthread_mutex_lock(&lock); }
void fdtab_unlock(void) { pthread_mutex_unlock(&lock); }

static void pick_base(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	/* Room above 1024 for the shim: raise the soft limit when the hard limit
	 * allows. Programs that use select() keep their descriptors below 1024. */
	if (rl.rlim_cur < 1024 + 4096 && rl.rlim_max > rl.rlim_cur) {
		rlim_t want = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		if (want > rl.rlim_cur) {
			struct rlimit nr = { want, rl.rlim_max };
			if (setrlimit(RLIMIT_NOFILE, &nr) == 0)
				rl.rlim_cur = want;
		}
	}
	base = rl.rlim_cur > 2048 ? 1024 : (int)(rl.rlim_cur / 2);
}

int fdtab_init(void)
{
	if (tab)
		return 0;
	pick_base();
	struct rlimit rl;
	rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_max : 65536;
	if (n == RLIM_INFINITY || n > MAX_TRACKED)
		n = MAX_TRACKED;
	if (n < 1024)
		n = 1024;
	/* Pages are only committed where descriptors are used. */
	void *m = mmap(NULL, n * sizeof *tab, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	tab_size = (unsigned)n;
	tab = m;
	return 0;
}

int fdtab_base(void) { return base; }
unsigned fdtab_top(void) { return atomic_load(&high_water); }

static uintptr_t load(int fd)
{
	if (!tab || fd < 0 || (unsigned)fd >= tab_size)
		return 0;
	return atomic_load_explicit(&tab[fd], memory_order_acquire);
}

bool fdtab_known(int fd) { return load(fd) != 0; }
bool fdtab_is_shim(int fd) { return load(fd) == SHIM_TAG; }

struct conn *fdtab_conn(int fd)
{
	if (load(fd) <= SHIM_TAG)
		return NULL;
	pthread_mutex_lock(&lock);
	uintptr_t v = load(fd);
	struct conn *c = v > SHIM_TAG ? (struct conn *)v : NULL;
	if (c)
		conn_ref(c);
	pthread_mutex_unlock(&lock);
	return c;
}

int fdtab_set_conn(int fd, struct conn *c)
{
	if (!tab || fd < 0 || (unsigned)fd >= tab_size) {
		errno = EMFILE;
		return -1;
	}
	conn_ref(c);
	note_fd(fd);
	pthread_mutex_lock(&lock);
	uintptr_t old = atomic_exchange_explicit(&tab[fd], (uintptr_t)c, memory_order_acq_rel);
	pthread_mutex_unlock(&lock);
	if (old > SHIM_TAG)
		conn_unref((struct conn *)old);   /* a stale entry: the fd was closed behind us */
	return 0;
}

struct conn *fdtab_take(int fd)
{
	if (load(fd) <= SHIM_TAG)
		return NULL;
	pthread_mutex_lock(&lock);
	uintptr_t v = load(fd);
	if (v > SHIM_TAG)
		atomic_store_explicit(&tab[fd], 0, memory_order_release);
	pthread_mutex_unlock(&lock);
	return v > SHIM_TAG ? (struct conn *)v : NULL;
}

int fdtab_adopt(int fd)
{
	int nfd = sys_fcntl(fd, F_DUPFD_CLOEXEC, base);
	int saved = errno;
	sys_close(fd);
	if (nfd < 0) {
		errno = saved;
		return -1;
	}
	if ((unsigned)nfd < tab_size) {
		note_fd(nfd);
		atomic_store_explicit(&tab[nfd], SHIM_TAG, memory_order_release);
	}
	return nfd;
}

int fdtab_dup_shim(int fd)
{
	int nfd = sys_fcntl(fd, F_DUPFD_CLOEXEC, base);
	if (nfd >= 0 && (unsigned)nfd < tab_size) {
		note_fd(nfd);
		atomic_store_explicit(&tab[nfd], SHIM_TAG, memory_order_release);
	}
	return nfd;
}

void fdtab_atfork_child(void)
{
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&lock, &at);
	pthread_mutexattr_destroy(&at);
}

void fdtab_release(int fd)
{
	if (fd < 0)
		return;
	if ((unsigned)fd < tab_size && load(fd) == SHIM_TAG)
		atomic_store_explicit(&tab[fd], 0, memory_order_release);
	sys_close(fd);
}

int fdtab_evict(int fd)
{
	int nfd = sys_fcntl(fd, F_DUPFD_CLOEXEC, base);
	if (nfd < 0)
		return -1;
	note_fd(nfd);
	atomic_store_explicit(&tab[nfd], SHIM_TAG, memory_order_release);
	if (!conn_renumber(fd, nfd)) {
		/* nobody knew it: not ours after all */
		atomic_store_explicit(&tab[nfd], 0, memory_order_release);
		sys_close(nfd);
		return -1;
	}
	atomic_store_explicit(&tab[fd], 0, memory_order_release);
	sys_close(fd);
	return 0;
}

void fdtab_after_fork_child(void (*drop)(int fd, struct conn *c))
{
	unsigned top = atomic_load(&high_water);
	for (unsigned fd = 0; tab && fd < top && fd < tab_size; fd++) {
		uintptr_t v = atomic_load_explicit(&tab[fd], memory_order_relaxed);
		if (v == SHIM_TAG) {
			/* The log's descriptors serve the child as they served the parent. */
			if (log_owns_fd((int)fd))
				continue;
			atomic_store_explicit(&tab[fd], 0, memory_order_relaxed);
			sys_close((int)fd);
		} else if (v > SHIM_TAG && drop) {
			drop((int)fd, (struct conn *)v);
		}
	}
}

void fdtab_each_conn(unsigned lo, unsigned hi, void (*fn)(int fd, void *arg), void *arg)
{
	if (!tab)
		return;
	unsigned top = atomic_load(&high_water);
	if (hi >= top)
		hi = top ? top - 1 : 0;
	if (hi >= tab_size)
		hi = tab_size - 1;
	for (unsigned fd = lo; fd <= hi; fd++)
		if (atomic_load_explicit(&tab[fd], memory_order_acquire) > SHIM_TAG)
			fn((int)fd, arg);
}
