/* iked/swsa_store — the store front: a table of pending writes per key, a
 * queue of reads, one worker thread that does the I/O, and an eventfd that
 * brings read results back to the event loop.
 *
 * Threads: the loop's thread calls every public function; the worker runs
 * worker(). Both touch the table, the queues and the flags only under mu,
 * and the worker never holds mu while it talks to the store, so the loop
 * waits at most for a few memory operations. The backend and the retry
 * state belong to the worker alone. Callbacks run on the loop's thread. */
#include "iked/swsa_store.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strutil.h"
#include "iked/swsa_backend.h"

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_RETRY_MIN_MS 250
#define DEFAULT_RETRY_MAX_MS 10000
#define DEFAULT_MAX_RECORDS 16384
#define DEFAULT_MAX_READS 64
#define SLOT_BUCKETS 1024
#define READ_MAX_RECORDS 100000           /* records one read hands back */
#define UNREADABLE_LOGGED 5               /* per read; the rest are counted */

enum { OP_PUT, OP_DEL };

/* One record key this node wrote or means to write or delete. */
struct slot {
	LIST_ENTRY(slot) bucket;
	TAILQ_ENTRY(slot) dirty;          /* on s->dirty while it needs I/O */
	char key[SWSA_KEY_MAX];
	struct ip_addr dvipa;
	int op;                           /* OP_PUT, OP_DEL */
	char *text;                       /* OP_PUT: the record */
	size_t len;
	uint64_t seq;                     /* bumped by every change */
	bool queued, in_flight, written;
	bool restore;                     /* write only where the key is missing */
	bool forgotten;                   /* dropped while in flight: free when it ends */
};

struct read_req {
	TAILQ_ENTRY(read_req) link;
	long id;
	bool all;
	struct ip_addr dvipa;
	uint64_t deadline;                /* monotonic ms */
	swsa_records_fn *fn;
	void (*release)(void *arg);
	void *arg;
	bool cancelled;
	/* results */
	int err;
	struct swsa_record *recs;
	size_t n, cap, unreadable;
};

TAILQ_HEAD(slot_q, slot);
TAILQ_HEAD(read_q, read_req);

struct swsa_store {
	/* fixed at open */
	struct swsa_backend *be;
	char node[SWSA_NODE_MAX];
	char url[STORE_PATH_MAX + 16];
	unsigned retry_min, retry_max;
	size_t max_records, max_reads;
	int efd;
	pthread_t thr;
	bool thr_started;

	/* shared, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;                /* the worker waits here (CLOCK_MONOTONIC) */
	pthread_cond_t flushed;           /* close waits here for the table to drain */
	LIST_HEAD(, slot) buckets[SLOT_BUCKETS];
	size_t nslots, npending;
	struct slot_q dirty;
	struct read_q reads, done, in_flight_reads;
	size_t nreads;
	long next_id;
	bool stop;
	atomic_bool up;

	/* the worker's own */
	bool connected, logged_down;
	bool retried;                     /* the quiet reconnection was used */
	bool wrote;                       /* the last turn was a write */
	unsigned delay;
	uint64_t next_try;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned bucket_of(const char *key)
{
	uint32_t h = 2166136261u;                 /* FNV-1a */
	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 16777619u;
	return h % SLOT_BUCKETS;
}

static struct slot *slot_find(const struct swsa_store *s, const char *key)
{
	struct slot *x;
	LIST_FOREACH(x, &s->buckets[bucket_of(key)], bucket)
		if (strcmp(x->key, key) == 0)
			return x;
	return NULL;
}

static void slot_free(struct slot *x)
{
	free(x->text);
	free(x);
}

static bool slot_pending(const struct slot *x)
{
	return x->queued || x->in_flight;
}

/* Every change of a slot's place goes through here: the worker's queue and
 * the count of pending writes (what close waits for) stay in step. */
static void slot_set(struct swsa_store *s, struct slot *x, bool queued, bool in_flight,
		     bool front)
{
	bool was = slot_pending(x);
	if (x->queued && !queued)
		TAILQ_REMOVE(&s->dirty, x, dirty);
	if (!x->queued && queued) {
		if (front)
			TAILQ_INSERT_HEAD(&s->dirty, x, dirty);
		else
			TAILQ_INSERT_TAIL(&s->dirty, x, dirty);
		pthread_cond_signal(&s->cv);
	}
	x->queued = queued;
	x->in_flight = in_flight;
	bool now = slot_pending(x);
	if (now && !was)
		s->npending++;
	if (was && !now && --s->npending == 0)
		pthread_cond_broadcast(&s->flushed);
}

/* x leaves the table; one in flight is freed by the worker when it ends. */
static void slot_drop(struct swsa_store *s, struct slot *x)
{
	LIST_REMOVE(x, bucket);
	s->nslots--;
	slot_set(s, x, false, x->in_flight, false);
	if (x->in_flight) {
		x->forgotten = true;
		return;
	}
	slot_free(x);
}

bool swsa_text_owned_by(const char *text, size_t len, const char *owner)
{
	struct swsa_record r;
	char err[160];
	return swsa_record_decode(text, len, &r, err, sizeof err) != 0 || strcmp(r.owner, owner) == 0;
}

/* ---- the worker ------------------------------------------------------------------ */

static void disconnect(struct swsa_store *s)
{
	if (s->connected) {
		s->be->ops->disconnect(s->be);
		s->connected = false;
	}
}

/* The store failed. A connection that failed after working (the server
 * restarted, or closed an idle connection) gets one immediate, quiet
 * reconnection; anything else is an outage, logged once. */
static void note_down(struct swsa_store *s, const char *what, const char *err, bool io)
{
	bool quiet = io && s->connected && s->delay == 0 && !s->retried;
	disconnect(s);
	if (quiet) {
		s->retried = true;
		s->next_try = 0;
		log_debug("SWSA store %s: %s: %s; reconnecting", s->url, what, err);
		return;
	}
	atomic_store(&s->up, false);
	if (!s->logged_down) {
		s->logged_down = true;
		log_warn("SWSA store %s cannot be used (%s: %s): tunnels work without it, and "
			 "records are written when it is back", s->url, what, err);
	} else {
		log_debug("SWSA store %s: %s: %s", s->url, what, err);
	}
	s->delay = s->delay ? s->delay * 2 : s->retry_min;
	if (s->delay > s->retry_max)
		s->delay = s->retry_max;
	s->next_try = now_ms() + s->delay;
}

static void note_up(struct swsa_store *s, size_t pending)
{
	atomic_store(&s->up, true);
	s->delay = 0;
	if (s->logged_down) {
		s->logged_down = false;
		log_info("SWSA store %s is back; %zu record writes pending", s->url, pending);
	} else {
		log_debug("SWSA store %s connected", s->url);
	}
}

/* After a reconnection the store may have lost what it had (a Redis without
 * persistence restarted): every record this node wrote goes again, but only
 * where the key is missing, so a record another node wrote meanwhile (it
 * took the DVIPA over) stays. Queued behind the writes already waiting. */
static void queue_restores(struct swsa_store *s)
{
	for (size_t i = 0; i < SLOT_BUCKETS; i++) {
		struct slot *x;
		LIST_FOREACH(x, &s->buckets[i], bucket)
			if (x->op == OP_PUT && x->written && !slot_pending(x)) {
				x->written = false;
				x->restore = true;
				slot_set(s, x, true, false, false);
			}
	}
}

/* Called with mu held; returns with it held. */
static void try_connect(struct swsa_store *s)
{
	char err[256] = "";
	pthread_mutex_unlock(&s->mu);
	int rc = s->be->ops->connect(s->be, err, sizeof err);
	pthread_mutex_lock(&s->mu);
	if (rc) {
		note_down(s, "connect", err, false);
		return;
	}
	s->connected = true;
	note_up(s, s->npending);
	queue_restores(s);
}

/* The first pending write, mu held on entry and exit. The record text goes
 * with the worker and comes back unless a newer put brought its own. */
static void write_one(struct swsa_store *s)
{
	struct slot *x = TAILQ_FIRST(&s->dirty);
	slot_set(s, x, false, true, false);
	char key[SWSA_KEY_MAX];
	memcpy(key, x->key, sizeof key);
	int op = x->op;
	bool restore = x->restore;
	uint64_t seq = x->seq;
	char *text = x->text;
	size_t len = x->len;
	x->text = NULL;
	pthread_mutex_unlock(&s->mu);

	char err[256] = "";
	bool kept = false;
	int rc = op == OP_PUT ? s->be->ops->put(s->be, key, text, len, restore, err, sizeof err)
			      : s->be->ops->del(s->be, key, s->node, &kept, err, sizeof err);
	if (kept)
		log_info("SWSA record %s names another owner now; it stays", key);

	pthread_mutex_lock(&s->mu);
	if (x->forgotten) {
		free(text);
		slot_set(s, x, false, false, false);
		slot_free(x);
		return;
	}
	bool current = x->seq == seq;
	if (current && op == OP_PUT) {
		x->text = text;
		text = NULL;
	}
	free(text);
	if (rc) {
		slot_set(s, x, true, false, true);
		note_down(s, op == OP_PUT ? "write" : "delete", err, true);
		return;
	}
	s->retried = false;
	slot_set(s, x, x->queued, false, false);
	if (current && op == OP_DEL) {
		slot_drop(s, x);
	} else if (current) {
		x->written = true;
		x->restore = false;
	}
}

struct collect {
	struct read_req *r;
	const char *url;
	size_t logged;
};

/* A record the scan found: decoded, checked against its key, kept. */
static void collect_one(void *arg, const char *key, const char *text, size_t len)
{
	struct collect *c = arg;
	struct read_req *r = c->r;
	struct swsa_record rec;
	char err[200] = "";
	struct ip_addr kd;
	char kt[SWSA_TUNNEL_HEX + 1];
	int bad = swsa_key_parse(key, &kd, kt) ? -1 : swsa_record_decode(text, len, &rec, err, sizeof err);
	if (bad && !*err)
		snprintf(err, sizeof err, "not a record key");
	if (!bad && (memcmp(&kd, &rec.dvipa, sizeof kd) != 0 || strcmp(kt, rec.tunnel) != 0)) {
		bad = -1;
		snprintf(err, sizeof err, "the record is not about the tunnel its key names");
	}
	if (!bad && r->n >= READ_MAX_RECORDS) {
		bad = -1;
		snprintf(err, sizeof err, "more than %d records", READ_MAX_RECORDS);
	}
	if (!bad && r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct swsa_record *v = realloc(r->recs, cap * sizeof *v);
		if (!v) {
			bad = -1;
			snprintf(err, sizeof err, "out of memory");
		} else {
			r->recs = v;
			r->cap = cap;
		}
	}
	if (!bad) {
		r->recs[r->n++] = rec;
		return;
	}
	r->unreadable++;
	if (c->logged++ < UNREADABLE_LOGGED)
		log_warn("SWSA store %s: record %.*s is unreadable and ignored: %s", c->url,
			 SWSA_KEY_MAX, key, err);
}

static void read_done(struct swsa_store *s, struct read_req *r, int err)
{
	r->err = err;
	TAILQ_INSERT_TAIL(&s->done, r, link);
	uint64_t one = 1;
	if (write(s->efd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_err("SWSA store: cannot signal the event loop: %s", strerror(errno));
}

/* The first queued read, mu held on entry and exit. */
static void read_one(struct swsa_store *s)
{
	struct read_req *r = TAILQ_FIRST(&s->reads);
	TAILQ_REMOVE(&s->reads, r, link);
	TAILQ_INSERT_TAIL(&s->in_flight_reads, r, link);
	pthread_mutex_unlock(&s->mu);

	char err[256] = "";
	struct collect c = { .r = r, .url = s->url };
	int rc = s->be->ops->scan(s->be, r->all ? NULL : &r->dvipa, collect_one, &c, err, sizeof err);

	pthread_mutex_lock(&s->mu);
	TAILQ_REMOVE(&s->in_flight_reads, r, link);
	if (rc) {
		/* try again when the store is back; whatever came so far goes */
		free(r->recs);
		r->recs = NULL;
		r->n = r->cap = r->unreadable = 0;
		TAILQ_INSERT_HEAD(&s->reads, r, link);
		note_down(s, "read", err, true);
		return;
	}
	s->retried = false;
	read_done(s, r, 0);
}

/* Reads the store could not answer in time; mu held. Returns the earliest
 * deadline still ahead (UINT64_MAX: none). */
static uint64_t expire_reads(struct swsa_store *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	struct read_req *r = TAILQ_FIRST(&s->reads), *nx;
	for (; r; r = nx) {
		nx = TAILQ_NEXT(r, link);
		if (r->deadline <= now) {
			TAILQ_REMOVE(&s->reads, r, link);
			read_done(s, r, ETIMEDOUT);
		} else if (r->deadline < next) {
			next = r->deadline;
		}
	}
	return next;
}

static void wait_until(struct swsa_store *s, uint64_t when)
{
	if (when == UINT64_MAX) {
		pthread_cond_wait(&s->cv, &s->mu);
		return;
	}
	struct timespec ts = { .tv_sec = (time_t)(when / 1000),
			       .tv_nsec = (long)(when % 1000) * 1000000 };
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void *worker(void *arg)
{
	struct swsa_store *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		uint64_t now = now_ms();
		uint64_t next = expire_reads(s, now);
		bool work = !TAILQ_EMPTY(&s->dirty) || !TAILQ_EMPTY(&s->reads);
		if (work && !s->connected && now >= s->next_try) {
			try_connect(s);
			continue;
		}
		if (work && s->connected) {
			/* writes and reads take turns, so neither waits for the other's backlog */
			bool write = !TAILQ_EMPTY(&s->dirty) && (TAILQ_EMPTY(&s->reads) || !s->wrote);
			s->wrote = write;
			if (write)
				write_one(s);
			else
				read_one(s);
			continue;
		}
		if (work && s->next_try < next)
			next = s->next_try;
		wait_until(s, next);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- the loop's side ----------------------------------------------------------------- */

static struct swsa_backend *backend_for(const struct swsa_store_config *c, unsigned timeout,
					char *err, size_t errlen)
{
	struct swsa_backend *b = NULL;
	switch (c->url.kind) {
	case STORE_DIR:
		b = swsa_dir_new(&c->url);
		break;
	case STORE_REDIS:
		b = swsa_redis_new(&c->url, c->password_file, timeout);
		break;
	default:
		snprintf(err, errlen, "no SwsaStore");
		return NULL;
	}
	if (!b)
		snprintf(err, errlen, "out of memory");
	return b;
}

bool swsa_config_from_policy(const struct ike_config *ic, struct swsa_store_config *c)
{
	memset(c, 0, sizeof *c);
	if (ic->swsa_store.kind == STORE_NONE)
		return false;
	c->url = ic->swsa_store;
	c->password_file = ic->swsa_password_file;
	c->node = ic->swsa_node;
	return true;
}

bool swsa_is_dvipa(const struct ike_config *ic, const struct ip_addr *a)
{
	for (size_t i = 0; i < ic->nswsa_dvipa; i++)
		if (ic->swsa_dvipa[i].family == a->family &&
		    memcmp(ic->swsa_dvipa[i].b, a->b, a->family == AF_INET ? 4 : 16) == 0)
			return true;
	return false;
}

static int start_worker(struct swsa_store *s)
{
	/* the worker takes no signal: iked's loop reads them from a signalfd */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->thr, NULL, worker, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

struct swsa_store *swsa_store_open(const struct swsa_store_config *c, char *err, size_t errlen)
{
	struct swsa_store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->efd = -1;
	unsigned timeout = c->timeout_ms ? c->timeout_ms : DEFAULT_TIMEOUT_MS;
	s->retry_min = c->retry_min_ms ? c->retry_min_ms : DEFAULT_RETRY_MIN_MS;
	s->retry_max = c->retry_max_ms ? c->retry_max_ms : DEFAULT_RETRY_MAX_MS;
	if (s->retry_max < s->retry_min)
		s->retry_max = s->retry_min;
	s->max_records = c->max_records ? c->max_records : DEFAULT_MAX_RECORDS;
	s->max_reads = c->max_reads ? c->max_reads : DEFAULT_MAX_READS;
	store_url_format(&c->url, s->url, sizeof s->url);
	if (c->node) {
		str_copy(s->node, c->node, sizeof s->node);
	} else if (gethostname(s->node, sizeof s->node - 1) != 0 || !*s->node) {
		snprintf(err, errlen, "no SwsaNode and no host name: %s", strerror(errno));
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < SLOT_BUCKETS; i++)
		LIST_INIT(&s->buckets[i]);
	TAILQ_INIT(&s->dirty);
	TAILQ_INIT(&s->reads);
	TAILQ_INIT(&s->done);
	TAILQ_INIT(&s->in_flight_reads);
	s->next_id = 1;
	atomic_init(&s->up, false);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, &ca);
	pthread_cond_init(&s->flushed, &ca);
	pthread_condattr_destroy(&ca);
	if (!(s->be = backend_for(c, timeout, err, errlen))) {
		swsa_store_close(s, 0);
		return NULL;
	}
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0 || start_worker(s) != 0) {
		snprintf(err, errlen, "cannot start the store's worker: %s", strerror(errno));
		swsa_store_close(s, 0);
		return NULL;
	}
	s->thr_started = true;
	return s;
}

/* The request's memory, and what its caller handed over when the callback
 * is not going to run. */
static void free_read(struct read_req *r, bool release)
{
	if (release && r->release)
		r->release(r->arg);
	free(r->recs);
	free(r);
}

void swsa_store_close(struct swsa_store *s, unsigned flush_ms)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->thr_started && flush_ms) {
		uint64_t until = now_ms() + flush_ms;
		while (s->npending && now_ms() < until) {
			struct timespec ts = { .tv_sec = (time_t)(until / 1000),
					       .tv_nsec = (long)(until % 1000) * 1000000 };
			pthread_cond_timedwait(&s->flushed, &s->mu, &ts);
		}
		if (s->npending)
			log_warn("SWSA store %s: %zu record writes not done at shutdown", s->url,
				 s->npending);
	}
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->thr_started)
		pthread_join(s->thr, NULL);
	if (s->be) {
		disconnect(s);
		s->be->ops->free(s->be);
	}
	for (size_t i = 0; i < SLOT_BUCKETS; i++)
		while (!LIST_EMPTY(&s->buckets[i])) {
			struct slot *x = LIST_FIRST(&s->buckets[i]);
			LIST_REMOVE(x, bucket);
			slot_free(x);
		}
	struct read_q *qs[] = { &s->reads, &s->done };
	for (size_t i = 0; i < 2; i++)
		while (!TAILQ_EMPTY(qs[i])) {
			struct read_req *r = TAILQ_FIRST(qs[i]);
			TAILQ_REMOVE(qs[i], r, link);
			free_read(r, true);
		}
	if (s->efd >= 0)
		close(s->efd);
	pthread_cond_destroy(&s->cv);
	pthread_cond_destroy(&s->flushed);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

const char *swsa_store_node(const struct swsa_store *s)
{
	return s->node;
}

const char *swsa_store_url(const struct swsa_store *s)
{
	return s->url;
}

bool swsa_store_up(const struct swsa_store *s)
{
	return atomic_load(&((struct swsa_store *)s)->up);
}

int swsa_store_event_fd(const struct swsa_store *s)
{
	return s->efd;
}

void swsa_store_dispatch(struct swsa_store *s)
{
	uint64_t v;
	while (read(s->efd, &v, sizeof v) > 0)
		;
	pthread_mutex_lock(&s->mu);
	struct read_q done = TAILQ_HEAD_INITIALIZER(done);
	TAILQ_CONCAT(&done, &s->done, link);
	pthread_mutex_unlock(&s->mu);
	while (!TAILQ_EMPTY(&done)) {
		struct read_req *r = TAILQ_FIRST(&done);
		TAILQ_REMOVE(&done, r, link);
		pthread_mutex_lock(&s->mu);
		s->nreads--;
		bool cancelled = r->cancelled;
		pthread_mutex_unlock(&s->mu);
		if (!cancelled)
			r->fn(r->arg, r->err, r->recs, r->n, r->unreadable);
		free_read(r, cancelled);
	}
}

/* Find or make the slot of key; mu held. NULL when the table is full. */
static struct slot *slot_get(struct swsa_store *s, const char *key, const struct ip_addr *dvipa)
{
	struct slot *x = slot_find(s, key);
	if (x)
		return x;
	if (s->nslots >= s->max_records || !(x = calloc(1, sizeof *x)))
		return NULL;
	str_copy(x->key, key, sizeof x->key);
	x->dvipa = *dvipa;
	LIST_INSERT_HEAD(&s->buckets[bucket_of(key)], x, bucket);
	s->nslots++;
	return x;
}

/* The next write of key is op (with text, which the table takes). */
static int slot_change(struct swsa_store *s, const char *key, const struct ip_addr *dvipa, int op,
		       char *text, size_t len)
{
	pthread_mutex_lock(&s->mu);
	struct slot *x = slot_get(s, key, dvipa);
	if (!x) {
		pthread_mutex_unlock(&s->mu);
		free(text);
		log_warn("SWSA store %s: %zu tunnels tracked already; record %s not %s", s->url,
			 s->max_records, key, op == OP_PUT ? "written" : "deleted");
		return -1;
	}
	free(x->text);
	x->text = text;
	x->len = len;
	x->op = op;
	x->restore = false;
	x->seq++;
	x->written = false;
	slot_set(s, x, true, x->in_flight, false);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* The key and text of r as this node writes it. What this node's decoder
 * refuses, no other node could read either: such a record is not written. */
static int encode_checked(const struct swsa_store *s, const struct swsa_record *r, char *key,
			  char **text, size_t *len)
{
	char why[200] = "it does not fit a key";
	struct swsa_record back;
	*text = NULL;
	if (swsa_key(&r->dvipa, r->tunnel, key, SWSA_KEY_MAX) == 0 &&
	    swsa_record_encode(r, text, len) == 0 &&
	    swsa_record_decode(*text, *len, &back, why, sizeof why) == 0)
		return 0;
	log_warn("SWSA store %s: the record of tunnel %s cannot be written: %s", s->url,
		 r->tunnel, *text ? why : "out of memory");
	free(*text);
	*text = NULL;
	return -1;
}

int swsa_store_put(struct swsa_store *s, const struct swsa_record *r)
{
	struct swsa_record mine = *r;
	str_copy(mine.owner, s->node, sizeof mine.owner);
	char key[SWSA_KEY_MAX], *text;
	size_t len;
	if (encode_checked(s, &mine, key, &text, &len))
		return -1;
	return slot_change(s, key, &mine.dvipa, OP_PUT, text, len);
}

int swsa_store_delete(struct swsa_store *s, const struct ip_addr *dvipa, const char *tunnel)
{
	char key[SWSA_KEY_MAX];
	if (swsa_key(dvipa, tunnel, key, sizeof key))
		return -1;
	return slot_change(s, key, dvipa, OP_DEL, NULL, 0);
}

void swsa_store_forget(struct swsa_store *s, const struct ip_addr *dvipa)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < SLOT_BUCKETS; i++) {
		struct slot *x = LIST_FIRST(&s->buckets[i]), *nx;
		for (; x; x = nx) {
			nx = LIST_NEXT(x, bucket);
			if (memcmp(&x->dvipa, dvipa, sizeof *dvipa) == 0)
				slot_drop(s, x);
		}
	}
	pthread_mutex_unlock(&s->mu);
}

enum swsa_state swsa_store_state(const struct swsa_store *s, const struct ip_addr *dvipa,
				 const char *tunnel)
{
	char key[SWSA_KEY_MAX];
	if (swsa_key(dvipa, tunnel, key, sizeof key))
		return SWSA_NONE;
	struct swsa_store *m = (struct swsa_store *)s;
	pthread_mutex_lock(&m->mu);
	const struct slot *x = slot_find(s, key);
	enum swsa_state st = !x || x->op == OP_DEL ? SWSA_NONE
			     : slot_pending(x) || !x->written ? SWSA_PENDING : SWSA_WRITTEN;
	pthread_mutex_unlock(&m->mu);
	return st;
}

const char *swsa_state_name(enum swsa_state st)
{
	return st == SWSA_WRITTEN ? "written" : st == SWSA_PENDING ? "pending" : "none";
}

size_t swsa_store_pending(const struct swsa_store *s)
{
	struct swsa_store *m = (struct swsa_store *)s;
	pthread_mutex_lock(&m->mu);
	size_t n = s->npending;
	pthread_mutex_unlock(&m->mu);
	return n;
}

long swsa_store_get(struct swsa_store *s, const struct ip_addr *dvipa, unsigned timeout_ms,
		    swsa_records_fn *fn, void (*release)(void *arg), void *arg)
{
	struct read_req *r = calloc(1, sizeof *r);
	if (!r)
		return -1;
	r->all = !dvipa;
	if (dvipa)
		r->dvipa = *dvipa;
	r->deadline = now_ms() + timeout_ms;
	r->fn = fn;
	r->release = release;
	r->arg = arg;
	pthread_mutex_lock(&s->mu);
	if (s->nreads >= s->max_reads) {
		pthread_mutex_unlock(&s->mu);
		free(r);
		return -1;
	}
	s->nreads++;
	r->id = s->next_id++;
	long id = r->id;
	TAILQ_INSERT_TAIL(&s->reads, r, link);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return id;
}

void swsa_store_cancel(struct swsa_store *s, long id)
{
	pthread_mutex_lock(&s->mu);
	struct read_q *qs[] = { &s->reads, &s->in_flight_reads, &s->done };
	for (size_t i = 0; i < 3; i++) {
		struct read_req *r;
		TAILQ_FOREACH(r, qs[i], link)
			if (r->id == id)
				r->cancelled = true;
	}
	pthread_mutex_unlock(&s->mu);
}
