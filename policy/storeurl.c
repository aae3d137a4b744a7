/* policy/storeurl — parsing and printing the SwsaStore URL. */
#include "policy/storeurl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define URL_FORMS "write redis://HOST[:PORT][/DB] or dir:/ABSOLUTE/PATH"

static int fail(char *err, size_t errlen, char *hint, size_t hintlen, const char *h,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int fail(char *err, size_t errlen, char *hint, size_t hintlen, const char *h,
		const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	snprintf(hint, hintlen, "%s", h ? h : "");
	return -1;
}

/* Decimal digits only, no sign, value at most max. */
static bool decimal(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	if (n == 0 || n > 10)
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool host_name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= STORE_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

static int parse_dir(const char *p, struct store_url *u, char *err, size_t errlen, char *hint,
		     size_t hintlen)
{
	size_t n = strlen(p);
	if (n == 0)
		return fail(err, errlen, hint, hintlen, "write dir:/var/lib/attls/swsa",
			    "dir: needs a directory");
	if (p[0] != '/')
		return fail(err, errlen, hint, hintlen, "write dir:/var/lib/attls/swsa",
			    "dir:%s is a relative path; the store needs an absolute one", p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n >= STORE_PATH_MAX - 64)        /* room for the record file names */
		return fail(err, errlen, hint, hintlen, NULL, "the dir: path is too long");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return fail(err, errlen, hint, hintlen, NULL,
				    "the dir: path has a control character");
	u->kind = STORE_DIR;
	memcpy(u->path, p, n);
	u->path[n] = '\0';
	return 0;
}

static int parse_host_port(const char *s, size_t n, struct store_url *u, char *err, size_t errlen,
			   char *hint, size_t hintlen)
{
	const char *port = NULL;
	size_t hlen;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close)
			return fail(err, errlen, hint, hintlen, "write redis://[2001:db8::1]:6379",
				    "the IPv6 address has no closing ']'");
		hlen = (size_t)(close - s - 1);
		char a[INET6_ADDRSTRLEN];
		struct in6_addr in6;
		if (hlen == 0 || hlen >= sizeof a)
			return fail(err, errlen, hint, hintlen, NULL, "'%.*s' is not an IPv6 address",
				    (int)n, s);
		memcpy(a, s + 1, hlen);
		a[hlen] = '\0';
		if (inet_pton(AF_INET6, a, &in6) != 1)
			return fail(err, errlen, hint, hintlen, NULL, "'%s' is not an IPv6 address", a);
		memcpy(u->host, a, hlen + 1);
		const char *rest = close + 1;
		size_t rlen = n - (size_t)(rest - s);
		if (rlen && rest[0] != ':')
			return fail(err, errlen, hint, hintlen, URL_FORMS,
				    "unexpected '%.*s' after the address", (int)rlen, rest);
		if (rlen)
			port = rest + 1;
	} else {
		const char *colon = memchr(s, ':', n);
		hlen = colon ? (size_t)(colon - s) : n;
		if (colon && memchr(colon + 1, ':', n - hlen - 1))
			return fail(err, errlen, hint, hintlen, "write redis://[2001:db8::1]:6379",
				    "an IPv6 address goes in brackets");
		if (!host_name_ok(s, hlen))
			return fail(err, errlen, hint, hintlen, URL_FORMS,
				    "'%.*s' is not a host name or address", (int)hlen, s);
		memcpy(u->host, s, hlen);
		u->host[hlen] = '\0';
		if (colon)
			port = colon + 1;
	}
	u->port = STORE_REDIS_PORT;
	if (port) {
		size_t plen = n - (size_t)(port - s);
		unsigned long v;
		if (!decimal(port, plen, 65535, &v) || v == 0)
			return fail(err, errlen, hint, hintlen, NULL,
				    "'%.*s' is not a port (1 to 65535)", (int)plen, port);
		u->port = (uint16_t)v;
	}
	return 0;
}

static int parse_redis(const char *p, struct store_url *u, char *err, size_t errlen, char *hint,
		       size_t hintlen)
{
	size_t n = strcspn(p, "/?#");
	if (p[n] == '?' || p[n] == '#' || strpbrk(p + n, "?#"))
		return fail(err, errlen, hint, hintlen, URL_FORMS,
			    "a Redis URL takes no query or fragment");
	const char *at = memchr(p, '@', n);
	if (at) {
		size_t ulen = (size_t)(at - p);
		if (memchr(p, ':', ulen))
			return fail(err, errlen, hint, hintlen,
				    "put the password in the file SwsaStorePasswordFile names",
				    "a password does not belong in the URL");
		if (ulen == 0 || ulen >= STORE_USER_MAX || !host_name_ok(p, ulen))
			return fail(err, errlen, hint, hintlen, NULL, "'%.*s' is not a Redis user name",
				    (int)ulen, p);
		memcpy(u->user, p, ulen);
		u->user[ulen] = '\0';
		n -= ulen + 1;
		p = at + 1;
	}
	if (parse_host_port(p, n, u, err, errlen, hint, hintlen))
		return -1;
	if (p[n] == '/') {
		const char *db = p + n + 1;
		unsigned long v = 0;
		if (*db && !decimal(db, strlen(db), STORE_DB_MAX, &v))
			return fail(err, errlen, hint, hintlen, NULL,
				    "'%s' is not a database number (0 to %d)", db, STORE_DB_MAX);
		u->db = (unsigned)v;
	}
	u->kind = STORE_REDIS;
	return 0;
}

int store_url_parse(const char *text, struct store_url *u, char *err, size_t errlen, char *hint,
		    size_t hintlen)
{
	memset(u, 0, sizeof *u);
	if (strncasecmp(text, "dir:", 4) == 0)
		return parse_dir(text + 4, u, err, errlen, hint, hintlen);
	if (strncasecmp(text, "redis://", 8) == 0)
		return parse_redis(text + 8, u, err, errlen, hint, hintlen);
	if (strncasecmp(text, "rediss://", 9) == 0)
		return fail(err, errlen, hint, hintlen, "use redis:// (on a trusted network or a tunnel)",
			    "TLS to Redis (rediss://) is not supported");
	return fail(err, errlen, hint, hintlen, URL_FORMS, "'%s' is not a store URL", text);
}

void store_url_format(const struct store_url *u, char *buf, size_t len)
{
	switch (u->kind) {
	case STORE_DIR:
		snprintf(buf, len, "dir:%s", u->path);
		return;
	case STORE_REDIS: {
		bool v6 = strchr(u->host, ':') != NULL;
		snprintf(buf, len, "redis://%s%s%s%s%s:%u/%u", u->user, *u->user ? "@" : "",
			 v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, u->db);
		return;
	}
	default:
		snprintf(buf, len, "none");
	}
}
