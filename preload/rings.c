/* preload/rings — see rings.h.
 *
 * A copy is the bytes of a key ring or stash file as this process last read
 * them, with the file's status at that moment. Every load tries the file
 * first: what can be read is what is used (and becomes the copy). Only when
 * the file cannot be read is the copy used, and the file's status now
 * (stat needs no read permission) says whether it is the same file unchanged
 * (device, inode, size, mtime, ctime) or was replaced since — a rotation
 * root did after this process dropped privileges, which the process then
 * cannot follow until it is restarted. Each such state is logged once. */
#include "preload/rings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/x509.h"
#include "policy/attls.h"
#include "policy/policy.h"

struct copy {
	struct copy *next;
	char *path;
	gnutls_datum_t data;
	struct stat st;              /* of the file the bytes came from */
	time_t read_at;
	char said[320];              /* the last read failure logged for this copy */
	bool said_exposed;           /* the world-readable warning was logged */
};

static struct copy *copies;

static struct copy *copy_find(const char *path)
{
	for (struct copy *c = copies; c; c = c->next)
		if (strcmp(c->path, path) == 0)
			return c;
	return NULL;
}

static void copy_free(struct copy *c)
{
	gnutls_memset(c->data.data, 0, c->data.size);
	gnutls_free(c->data.data);
	free(c->path);
	free(c);
}

static bool dup_datum(const gnutls_datum_t *in, gnutls_datum_t *out)
{
	out->data = gnutls_malloc((size_t)in->size + 1);
	if (!out->data)
		return false;
	memcpy(out->data, in->data, in->size);
	out->data[in->size] = 0;
	out->size = in->size;
	return true;
}

/* The bytes just read become path's copy. Failing to keep them (out of
 * memory) only means no copy to fall back on later. */
static void copy_keep(const char *path, const gnutls_datum_t *d, const struct stat *st)
{
	struct copy *c = copy_find(path);
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c || !(c->path = strdup(path))) {
			free(c);
			return;
		}
		c->next = copies;
		copies = c;
	}
	gnutls_datum_t nd;
	if (!dup_datum(d, &nd))
		return;
	bool same_bytes = c->data.size == d->size && memcmp(c->data.data, d->data, d->size) == 0;
	gnutls_memset(c->data.data, 0, c->data.size);
	gnutls_free(c->data.data);
	c->data = nd;
	c->st = *st;
	c->read_at = time(NULL);
	c->said[0] = '\0';
	if (!same_bytes)
		c->said_exposed = false;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* One line, once per state, on why the copy stands in for the file. */
static void say_using_copy(struct copy *c, const char *why)
{
	struct stat now;
	int prio = LOG_WARNING;
	char state[200];
	if (stat(c->path, &now) != 0) {
		snprintf(state, sizeof state, "whether the file changed since cannot be seen (%s)",
			 strerror(errno));
	} else if (same_file(&now, &c->st)) {
		prio = LOG_INFO;
		snprintf(state, sizeof state, "the file has not changed since");
	} else {
		snprintf(state, sizeof state, "the file CHANGED since and this process cannot read "
			 "the new one: restart the program to use it");
	}
	char line[sizeof c->said];
	snprintf(line, sizeof line, "%s; %s", why, state);
	if (strcmp(line, c->said) == 0)
		return;
	snprintf(c->said, sizeof c->said, "%s", line);
	char when[32];
	struct tm tm;
	gmtime_r(&c->read_at, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	log_emit(LOG_TO_SYSLOG | LOG_TO_FILE, prio,
		 "%s (uid %u); new connections use the copy this process read at %s; %s", why,
		 (unsigned)geteuid(), when, state);
}

/* ring_reader: the file if it can be read, else this process's copy of it. */
static int read_through(void *arg, const char *path, gnutls_datum_t *out, struct stat *st,
			char *err, size_t errlen)
{
	(void)arg;
	if (x509_read_file_st(path, out, st, err, errlen) == 0) {
		copy_keep(path, out, st);
		return 0;
	}
	struct copy *c = copy_find(path);
	if (!c || !dup_datum(&c->data, out))
		return -1;
	*st = c->st;
	say_using_copy(c, err);
	return 0;
}

/* As ssh says of an unprotected private key: once per copy's content. */
static void warn_exposed(const char *path, const char *what)
{
	struct copy *c = copy_find(path);
	if (c && c->said_exposed)
		return;
	if (c)
		c->said_exposed = true;
	log_emit(LOG_TO_SYSLOG | LOG_TO_FILE, LOG_WARNING,
		 "%s %s can be read by every user on this host; it should be readable by the "
		 "program's user (or root) only: chmod o-r %s", what, path, path);
}

int rings_load(gnutls_certificate_credentials_t cred, const struct attls_settings *s, int role,
	       struct ring_info *info, char *err, size_t errlen)
{
	struct ring_want w = {
		.path = s->keyring, .pw = s->keyring_pw, .stash = s->keyring_stash,
		.label = s->cert_label,
		.need_key = attls_needs_key(s, role), .need_cas = attls_verifies_peer(s, role),
	};
	int rc = ring_load(cred, &w, read_through, NULL, info, err, errlen);
	if (info->key_exposed)
		warn_exposed(s->keyring, "keyring (it holds a private key)");
	if (info->stash_exposed)
		warn_exposed(s->keyring_stash, "KeyringStashFile (the key ring's password)");
	return rc;
}

static bool named_by(const struct policy *p, const char *path)
{
	size_t n = attls_rule_count(p);
	for (size_t i = 0; i < n; i++) {
		const struct attls_settings *s = attls_rule_at(p, i)->s;
		if ((s->keyring && strcmp(s->keyring, path) == 0) ||
		    (s->keyring_stash && strcmp(s->keyring_stash, path) == 0))
			return true;
	}
	return false;
}

void rings_keep_named(const struct policy *p)
{
	for (struct copy **pp = &copies; *pp;) {
		struct copy *c = *pp;
		if (p && named_by(p, c->path)) {
			pp = &c->next;
		} else {
			*pp = c->next;
			copy_free(c);
		}
	}
}

void rings_forget_all(void)
{
	rings_keep_named(NULL);
}
