/*
 * policy/storeurl — the value of IkeConfig SwsaStore: where iked keeps the
 * sysplex-wide SA records. Two forms:
 *   redis://[USER@]HOST[:PORT][/DB]   a Redis server (HOST a name, an IPv4
 *                                     address or [IPv6]; PORT 6379; DB 0)
 *   dir:/ABSOLUTE/PATH                a directory of files, one per tunnel
 * A password never appears in the URL (it would end up in logs and in
 * `policy show`): it lives in the file SwsaStorePasswordFile names.
 */
#ifndef ATTLS_POLICY_STOREURL_H
#define ATTLS_POLICY_STOREURL_H

#include <stddef.h>
#include <stdint.h>

enum { STORE_NONE, STORE_DIR, STORE_REDIS };

#define STORE_HOST_MAX 256
#define STORE_USER_MAX 65
#define STORE_PATH_MAX 1024
#define STORE_DB_MAX 65535
#define STORE_REDIS_PORT 6379

struct store_url {
	int kind;                         /* STORE_* */
	char host[STORE_HOST_MAX];        /* redis: a name or an address, no brackets */
	uint16_t port;
	unsigned db;
	char user[STORE_USER_MAX];        /* redis: ACL user, "" = none */
	char path[STORE_PATH_MAX];        /* dir: absolute, no trailing slash */
};

/* Parse text. Returns 0, or -1 with err saying what is wrong and hint (may be
 * "") what to write instead. */
int store_url_parse(const char *text, struct store_url *u, char *err, size_t errlen,
		    char *hint, size_t hintlen);
/* The URL for messages: canonical, never a password. */
void store_url_format(const struct store_url *u, char *buf, size_t len);

#endif
