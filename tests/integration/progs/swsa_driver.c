/*
 * swsa_driver — iked's SWSA store (iked/swsa_store.c) in a small event loop
 * of its own, driven line by line from stdin, for tests/integration/
 * test_swsa_store.py. It polls stdin and the store's eventfd the way iked's
 * loop does, so a command answered while the store hangs shows that the
 * loop never waits for the store.
 *
 *   swsa_driver URL NODE PASSWORD_FILE|- TIMEOUT_MS RETRY_MAX_MS
 *
 * Commands (one JSON line answers each; reads answer twice, at once with
 * their id and later with the result):
 *   put DVIPA RULE GENERATION     delete DVIPA TUNNEL     forget DVIPA
 *   state DVIPA TUNNEL            pending                 ping
 *   get DVIPA|all TIMEOUT_MS      inspect DVIPA|all TIMEOUT_MS
 *   close FLUSH_MS
 * The store logs to stderr at debug level.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "iked/isakmp.h"
#include "iked/swsa_inspect.h"
#include "iked/swsa_store.h"
#include "policy/schema.h"

static struct swsa_store *store;

static void answer_begin(struct json *j, const char *cmd)
{
	json_init(j, stdout, 0);
	json_obj_begin(j);
	json_kstr(j, "cmd", cmd);
}

static void answer_end(struct json *j)
{
	json_obj_end(j);
	json_end(j);
}

static void simple(const char *cmd, int rc)
{
	struct json j;
	answer_begin(&j, cmd);
	json_kint(&j, "rc", rc);
	answer_end(&j);
}

/* A record as iked would write for a Main Mode tunnel of rule RULE. */
static int make_record(const char *dvipa, const char *rule, unsigned gen, struct swsa_record *r)
{
	memset(r, 0, sizeof *r);
	if (ip_addr_parse(dvipa, &r->dvipa) || ip_addr_parse("198.18.0.2", &r->peer))
		return -1;
	snprintf(r->filter_rule, sizeof r->filter_rule, "%s", rule);
	strcpy(r->vpn_action, "vpn");
	strcpy(r->ke_rule, "kr");
	strcpy(r->ke_action, "ka");
	ip_range_parse("198.19.1.0/24", &r->lsel.r);
	ip_range_parse("198.19.2.0/24", &r->rsel.r);
	swsa_identity_set(&r->local_id, IPSEC_ID_IPV4_ADDR, dvipa);
	swsa_identity_set(&r->remote_id, IPSEC_ID_IPV4_ADDR, "198.18.0.2");
	r->exch = EXCH_MAIN;
	r->p1 = (struct p1_attrs){ .enc_alg = ENC_AES_CBC, .keylen = 256, .hash = HASH_SHA2_256,
				   .auth = AUTHMETH_PRESHARED_KEY, .group = 19, .life_secs = 28800,
				   .offer_name = "ke2" };
	r->p2 = (struct p2_attrs){ .enc_alg = ENC_AES_CBC, .keylen = 128,
				   .auth_alg = AUTHALG_HMAC_SHA2_256_128, .encap = ENCAP_TUNNEL,
				   .pfs_group = 14, .life_secs = 3600, .offer_name = "data2" };
	r->generation = gen;
	r->established = r->refreshed = time(NULL);
	swsa_record_set_tunnel(r);
	return 0;
}

static void on_records(void *arg, int err, const struct swsa_record *recs, size_t n,
		       size_t unreadable)
{
	struct json j;
	answer_begin(&j, "records");
	json_kint(&j, "id", (long)(intptr_t)arg);
	json_kint(&j, "err", err);
	json_kuint(&j, "unreadable", unreadable);
	json_key(&j, "records");
	json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		char a[IP_STRLEN];
		ip_addr_format(&recs[i].dvipa, a, sizeof a);
		json_obj_begin(&j);
		json_kstr(&j, "dvipa", a);
		json_kstr(&j, "tunnel", recs[i].tunnel);
		json_kstr(&j, "rule", recs[i].filter_rule);
		json_kstr(&j, "owner", recs[i].owner);
		json_kuint(&j, "generation", recs[i].generation);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	answer_end(&j);
}

static void on_rows(void *arg, int err, const struct swsa_row *rows, size_t n, size_t unreadable)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f) {
		swsa_rows_text(f, rows, n, unreadable);
		fclose(f);
	}
	struct json j;
	answer_begin(&j, "rows");
	json_kint(&j, "id", (long)(intptr_t)arg);
	json_kint(&j, "err", err);
	swsa_rows_json(&j, rows, n, unreadable);
	json_kstr(&j, "text", text ? text : "");
	answer_end(&j);
	free(text);
}

static int dvipa_arg(const char *w, struct ip_addr *a, const struct ip_addr **out)
{
	if (strcmp(w, "all") == 0) {
		*out = NULL;
		return 0;
	}
	*out = a;
	return ip_addr_parse(w, a);
}

/* One command; returns false when the driver should stop. */
static bool command(char *line)
{
	char *argv[8] = { 0 };
	int argc = 0;
	for (char *t = strtok(line, " \t"); t && argc < 8; t = strtok(NULL, " \t"))
		argv[argc++] = t;
	if (argc == 0)
		return true;
	const char *c = argv[0];
	struct ip_addr a;
	const struct ip_addr *ap;
	struct json j;
	if (strcmp(c, "put") == 0 && argc == 4) {
		struct swsa_record r;
		int rc = make_record(argv[1], argv[2], (unsigned)atoi(argv[3]), &r);
		if (!rc)
			rc = swsa_store_put(store, &r);
		char key[SWSA_KEY_MAX] = "";
		swsa_key(&r.dvipa, r.tunnel, key, sizeof key);
		answer_begin(&j, "put");
		json_kint(&j, "rc", rc);
		json_kstr(&j, "tunnel", r.tunnel);
		json_kstr(&j, "key", key);
		answer_end(&j);
	} else if (strcmp(c, "delete") == 0 && argc == 3) {
		simple(c, ip_addr_parse(argv[1], &a) ? -1 : swsa_store_delete(store, &a, argv[2]));
	} else if (strcmp(c, "forget") == 0 && argc == 2) {
		if (ip_addr_parse(argv[1], &a) == 0)
			swsa_store_forget(store, &a);
		simple(c, 0);
	} else if (strcmp(c, "state") == 0 && argc == 3) {
		answer_begin(&j, "state");
		json_kstr(&j, "state", ip_addr_parse(argv[1], &a) ? "bad address" :
			  swsa_state_name(swsa_store_state(store, &a, argv[2])));
		answer_end(&j);
	} else if (strcmp(c, "pending") == 0) {
		answer_begin(&j, "pending");
		json_kuint(&j, "pending", swsa_store_pending(store));
		json_kbool(&j, "up", swsa_store_up(store));
		answer_end(&j);
	} else if (strcmp(c, "ping") == 0) {
		simple("pong", 0);
	} else if ((strcmp(c, "get") == 0 || strcmp(c, "inspect") == 0) && argc == 3) {
		static long next = 1;
		long id = next++, rc = -1;
		unsigned timeout = (unsigned)atoi(argv[2]);
		if (dvipa_arg(argv[1], &a, &ap) == 0)
			rc = c[0] == 'g' ? swsa_store_get(store, ap, timeout, on_records, NULL,
							 (void *)(intptr_t)id)
					 : swsa_inspect(store, ap, timeout, on_rows, (void *)(intptr_t)id);
		answer_begin(&j, c);
		json_kint(&j, "id", rc < 0 ? -1 : id);
		answer_end(&j);
	} else if (strcmp(c, "close") == 0 && argc == 2) {
		swsa_store_close(store, (unsigned)atoi(argv[1]));
		store = NULL;
		simple("closed", 0);
		return false;
	} else {
		simple("unknown", -1);
	}
	return true;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: swsa_driver URL NODE PASSWORD_FILE|- TIMEOUT_MS RETRY_MAX_MS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("swsa_driver", LOG_TO_STDERR);
	log_set_level(LOG_DEBUG);
	struct swsa_store_config c = {
		.node = argv[2],
		.password_file = strcmp(argv[3], "-") ? argv[3] : NULL,
		.timeout_ms = (unsigned)atoi(argv[4]),
		.retry_min_ms = 50,
		.retry_max_ms = (unsigned)atoi(argv[5]),
	};
	char err[256], hint[128];
	if (store_url_parse(argv[1], &c.url, err, sizeof err, hint, sizeof hint)) {
		fprintf(stderr, "swsa_driver: %s\n", err);
		return 2;
	}
	if (!(store = swsa_store_open(&c, err, sizeof err))) {
		fprintf(stderr, "swsa_driver: %s\n", err);
		return 1;
	}
	char buf[4096];
	size_t have = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
				       { .fd = swsa_store_event_fd(store), .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN)
			swsa_store_dispatch(store);
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		ssize_t n = read(0, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		char *nl;
		while ((nl = memchr(buf, '\n', have))) {
			*nl = '\0';
			bool go_on = command(buf);
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, have - used);
			have -= used;
			if (!go_on)
				return 0;
		}
		if (have == sizeof buf - 1)
			have = 0;         /* a line that long is no command */
	}
	swsa_store_close(store, 0);
	return 0;
}
