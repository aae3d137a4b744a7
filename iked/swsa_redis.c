/* iked/swsa_redis — the redis:// store through hiredis's blocking API, on
 * the store's worker thread only: every connect and every call is bounded by
 * the timeout (hiredis resolves host names with getaddrinfo, which is one
 * more reason this is not done on the event loop).
 *
 * A record is one string key. Values are read with GETRANGE 0..MAX, so a
 * huge value under one of our keys costs at most a record's size; replies are
 * checked for their type before use (the server, or whoever wrote the key,
 * decides what comes back). A delete is WATCH, read, check the owner, then
 * MULTI/DEL/EXEC, retried when another node changed the key in between.
 * The password is read from its file at each connection and wiped after;
 * it never appears in a message. */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/strutil.h"
#include "iked/crypto.h"
#include "iked/swsa_backend.h"
#include "iked/swsa_record.h"

#define PASSWORD_MAX 512
#define SCAN_COUNT "500"
#define SCAN_MAX_KEYS 100000              /* keys one scan collects */
#define SCAN_MAX_ROUNDS 100000
#define GET_BATCH 64                      /* pipelined GETRANGEs */
#define DEL_TRIES 5

struct redis_backend {
	struct swsa_backend b;
	struct store_url url;
	char *password_file;
	struct timeval tv;
	redisContext *c;
};

static struct redis_backend *R(struct swsa_backend *b)
{
	return (struct redis_backend *)b;
}

/* The connection failed (hiredis said why), or the server answered a reply
 * we did not ask for; either way the connection is not used again. */
static int conn_err(struct redis_backend *r, const char *what, const redisReply *rep,
		    char *err, size_t errlen)
{
	if (r->c && r->c->err)
		snprintf(err, errlen, "%s: %s", what, r->c->errstr);
	else if (rep && rep->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "%s: %.*s", what, (int)(rep->len > 200 ? 200 : rep->len),
			 rep->str);
	else
		snprintf(err, errlen, "%s: unexpected reply", what);
	return -1;
}

static bool is_status(const redisReply *rep, const char *want)
{
	return rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, want) == 0;
}

/* The first line of the password file into buf. Returns 0 or -1 with err. */
static int read_password(const char *path, char *buf, size_t size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "password file %s: %s", path, strerror(errno));
		return -1;
	}
	bool ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	buf[ok ? strcspn(buf, "\r\n") : 0] = '\0';
	if (!*buf) {
		snprintf(err, errlen, "password file %s: no password on its first line", path);
		return -1;
	}
	return 0;
}

static int authenticate(struct redis_backend *r, char *err, size_t errlen)
{
	char pw[PASSWORD_MAX + 2];
	if (read_password(r->password_file, pw, sizeof pw, err, errlen))
		return -1;
	redisReply *rep = *r->url.user
		? redisCommand(r->c, "AUTH %s %s", r->url.user, pw)
		: redisCommand(r->c, "AUTH %s", pw);
	mem_wipe(pw, sizeof pw);
	int rc = is_status(rep, "OK") ? 0 : conn_err(r, "AUTH", rep, err, errlen);
	freeReplyObject(rep);
	return rc;
}

static void redis_disconnect(struct swsa_backend *b)
{
	struct redis_backend *r = R(b);
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
}

static int redis_connect(struct swsa_backend *b, char *err, size_t errlen)
{
	struct redis_backend *r = R(b);
	r->c = redisConnectWithTimeout(r->url.host, r->url.port, r->tv);
	if (!r->c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (r->c->err) {
		conn_err(r, "connect", NULL, err, errlen);
		goto fail;
	}
	if (redisSetTimeout(r->c, r->tv) != REDIS_OK || redisEnableKeepAlive(r->c) != REDIS_OK) {
		conn_err(r, "socket options", NULL, err, errlen);
		goto fail;
	}
	if (r->password_file && authenticate(r, err, errlen))
		goto fail;
	redisReply *rep = r->url.db ? redisCommand(r->c, "SELECT %u", r->url.db)
				    : redisCommand(r->c, "PING");
	bool ok = is_status(rep, r->url.db ? "OK" : "PONG");
	if (!ok)
		conn_err(r, r->url.db ? "SELECT" : "PING", rep, err, errlen);
	freeReplyObject(rep);
	if (ok)
		return 0;
fail:
	redis_disconnect(b);
	return -1;
}

static int redis_put(struct swsa_backend *b, const char *key, const char *text, size_t len,
		     bool only_if_absent, char *err, size_t errlen)
{
	struct redis_backend *r = R(b);
	redisReply *rep = only_if_absent ? redisCommand(r->c, "SET %s %b NX", key, text, len)
					 : redisCommand(r->c, "SET %s %b", key, text, len);
	/* NX answers nil when the key exists: that is fine too */
	bool ok = is_status(rep, "OK") || (only_if_absent && rep && rep->type == REDIS_REPLY_NIL);
	int rc = ok ? 0 : conn_err(r, "SET", rep, err, errlen);
	freeReplyObject(rep);
	return rc;
}

/* A record's text from a GETRANGE reply; an error reply (a key of another
 * type) is an unreadable record, not a failure of the store. */
static bool value_of(const redisReply *rep, const char **text, size_t *len)
{
	if (rep && rep->type == REDIS_REPLY_STRING) {
		*text = rep->str;
		*len = rep->len;
		return true;
	}
	*text = "";
	*len = 0;
	return rep && rep->type == REDIS_REPLY_ERROR;
}

static int redis_del(struct swsa_backend *b, const char *key, const char *owner, bool *kept,
		     char *err, size_t errlen)
{
	struct redis_backend *r = R(b);
	*kept = false;
	for (int tries = 0; tries < DEL_TRIES; tries++) {
		redisReply *rep = redisCommand(r->c, "WATCH %s", key);
		bool ok = is_status(rep, "OK");
		if (!ok)
			conn_err(r, "WATCH", rep, err, errlen);
		freeReplyObject(rep);
		if (!ok)
			return -1;
		rep = redisCommand(r->c, "GETRANGE %s 0 %d", key, SWSA_RECORD_MAX);
		const char *text;
		size_t len;
		if (!value_of(rep, &text, &len)) {
			conn_err(r, "GETRANGE", rep, err, errlen);
			freeReplyObject(rep);
			return -1;
		}
		bool mine = swsa_text_owned_by(text, len, owner);
		freeReplyObject(rep);
		if (!mine) {
			*kept = true;
			rep = redisCommand(r->c, "UNWATCH");
			ok = is_status(rep, "OK");
			if (!ok)
				conn_err(r, "UNWATCH", rep, err, errlen);
			freeReplyObject(rep);
			return ok ? 0 : -1;
		}
		redisAppendCommand(r->c, "MULTI");
		redisAppendCommand(r->c, "DEL %s", key);
		redisAppendCommand(r->c, "EXEC");
		redisReply *multi = NULL, *queued = NULL, *exec = NULL;
		ok = redisGetReply(r->c, (void **)&multi) == REDIS_OK &&
		     redisGetReply(r->c, (void **)&queued) == REDIS_OK &&
		     redisGetReply(r->c, (void **)&exec) == REDIS_OK && is_status(multi, "OK") &&
		     is_status(queued, "QUEUED") && exec &&
		     (exec->type == REDIS_REPLY_ARRAY || exec->type == REDIS_REPLY_NIL);
		bool raced = ok && exec->type == REDIS_REPLY_NIL;   /* the key changed meanwhile */
		if (!ok)
			conn_err(r, "MULTI/DEL/EXEC", exec && exec->type == REDIS_REPLY_ERROR ? exec
						     : queued && queued->type == REDIS_REPLY_ERROR ? queued
						     : multi, err, errlen);
		freeReplyObject(multi);
		freeReplyObject(queued);
		freeReplyObject(exec);
		if (!ok)
			return -1;
		if (!raced)
			return 0;
	}
	snprintf(err, errlen, "%s kept changing while it was being deleted", key);
	return -1;
}

struct keys {
	char **v;
	size_t n, cap;
};

static void keys_free(struct keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

/* A key as a C string: NUL bytes and other unprintables become '?', too
 * long ones are cut (neither can be a record key; the decoder says so). */
static int keys_add(struct keys *k, const char *p, size_t len)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		char **v = realloc(k->v, cap * sizeof *v);
		if (!v)
			return -1;
		k->v = v;
		k->cap = cap;
	}
	size_t n = len < SWSA_KEY_MAX - 1 ? len : SWSA_KEY_MAX - 1;
	char *s = malloc(n + 1);
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++)
		s[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
	s[n] = '\0';
	k->v[k->n++] = s;
	return 0;
}

/* Every key matching pattern (SCAN, which may repeat a key; the caller does
 * not mind: a record read twice is the same record). */
static int scan_keys(struct redis_backend *r, const char *pattern, struct keys *k, char *err,
		     size_t errlen)
{
	char cursor[32] = "0";
	for (int round = 0; round < SCAN_MAX_ROUNDS; round++) {
		redisReply *rep = redisCommand(r->c, "SCAN %s MATCH %s COUNT " SCAN_COUNT, cursor,
					       pattern);
		if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING || rep->element[0]->len == 0 ||
		    rep->element[0]->len >= sizeof cursor ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			conn_err(r, "SCAN", rep, err, errlen);
			freeReplyObject(rep);
			return -1;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
		cursor[rep->element[0]->len] = '\0';
		const redisReply *list = rep->element[1];
		for (size_t i = 0; i < list->elements; i++) {
			const redisReply *e = list->element[i];
			if (e->type != REDIS_REPLY_STRING)
				continue;
			if (k->n >= SCAN_MAX_KEYS || keys_add(k, e->str, e->len)) {
				snprintf(err, errlen, "SCAN: more than %d keys, or out of memory",
					 SCAN_MAX_KEYS);
				freeReplyObject(rep);
				return -1;
			}
		}
		freeReplyObject(rep);
		if (strcmp(cursor, "0") == 0)
			return 0;
	}
	snprintf(err, errlen, "SCAN did not end");
	return -1;
}

static int redis_scan(struct swsa_backend *b, const struct ip_addr *dvipa, swsa_scan_fn *fn,
		      void *arg, char *err, size_t errlen)
{
	struct redis_backend *r = R(b);
	char pattern[SWSA_KEY_MAX] = SWSA_KEY_PREFIX "*";
	if (dvipa) {
		/* canonical addresses hold no glob characters */
		char a[IP_STRLEN];
		ip_addr_format(dvipa, a, sizeof a);
		snprintf(pattern, sizeof pattern, SWSA_KEY_PREFIX "%s:*", a);
	}
	struct keys k = { 0 };
	int rc = scan_keys(r, pattern, &k, err, errlen);
	for (size_t i = 0; rc == 0 && i < k.n; i += GET_BATCH) {
		size_t n = k.n - i < GET_BATCH ? k.n - i : GET_BATCH;
		for (size_t j = 0; j < n; j++)
			redisAppendCommand(r->c, "GETRANGE %s 0 %d", k.v[i + j], SWSA_RECORD_MAX);
		for (size_t j = 0; j < n; j++) {
			redisReply *rep = NULL;
			const char *text;
			size_t len;
			if (rc == 0 && (redisGetReply(r->c, (void **)&rep) != REDIS_OK ||
					!value_of(rep, &text, &len)))
				rc = conn_err(r, "GETRANGE", rep, err, errlen);
			else if (rc == 0 && rep->type == REDIS_REPLY_STRING && len == 0)
				;                 /* deleted after SCAN saw it */
			else if (rc == 0)
				fn(arg, k.v[i + j], text, len);
			freeReplyObject(rep);
		}
	}
	keys_free(&k);
	return rc;
}

static void redis_free(struct swsa_backend *b)
{
	struct redis_backend *r = R(b);
	redis_disconnect(b);
	free(r->password_file);
	free(r);
}

static const struct swsa_backend_ops redis_ops = {
	.connect = redis_connect,
	.disconnect = redis_disconnect,
	.put = redis_put,
	.del = redis_del,
	.scan = redis_scan,
	.free = redis_free,
};

struct swsa_backend *swsa_redis_new(const struct store_url *u, const char *password_file,
				    unsigned timeout_ms)
{
	struct redis_backend *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->b.ops = &redis_ops;
	r->url = *u;
	r->tv.tv_sec = timeout_ms / 1000;
	r->tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	if (password_file && !(r->password_file = strdup(password_file))) {
		free(r);
		return NULL;
	}
	return &r->b;
}
