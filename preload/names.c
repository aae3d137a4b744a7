#include "preload/names.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "policy/addr.h"

#define NAMES 512

struct entry {
	struct ip_addr addr;
	char name[256];
	uint64_t seq;
};

static struct entry table[NAMES];
static uint64_t seq;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool is_name(const char *name)
{
	/* Numeric hosts are not names to check a certificate against. */
	struct ip_addr a;
	return name && *name && ip_addr_parse(name, &a) != 0 && strlen(name) < sizeof table[0].name;
}

static void remember(const char *name, const struct ip_addr *a)
{
	pthread_mutex_lock(&lock);
	struct entry *slot = &table[0];
	for (size_t i = 0; i < NAMES; i++) {
		if (table[i].seq && memcmp(&table[i].addr, a, sizeof *a) == 0) {
			slot = &table[i];
			break;
		}
		if (table[i].seq < slot->seq)
			slot = &table[i];
	}
	slot->addr = *a;
	snprintf(slot->name, sizeof slot->name, "%s", name);
	slot->seq = ++seq;
	pthread_mutex_unlock(&lock);
}

void names_remember_ai(const char *name, const struct addrinfo *ai)
{
	if (!is_name(name))
		return;
	for (; ai; ai = ai->ai_next) {
		struct ip_addr a;
		if (ai->ai_addr && ip_addr_from_sockaddr(ai->ai_addr, &a, NULL) == 0)
			remember(name, &a);
	}
}

void names_remember_hostent(const char *name, const struct hostent *he)
{
	if (!he || !is_name(name))
		return;
	for (char **p = he->h_addr_list; p && *p; p++) {
		struct ip_addr a = { .family = (uint8_t)he->h_addrtype };
		if (he->h_addrtype != AF_INET && he->h_addrtype != AF_INET6)
			continue;
		memcpy(a.b, *p, he->h_addrtype == AF_INET ? 4 : 16);
		remember(name, &a);
	}
}

int names_lookup(const struct sockaddr *sa, char *name, size_t len)
{
	struct ip_addr a;
	if (ip_addr_from_sockaddr(sa, &a, NULL) != 0)
		return 0;
	int found = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < NAMES; i++)
		if (table[i].seq && memcmp(&table[i].addr, &a, sizeof a) == 0) {
			snprintf(name, len, "%s", table[i].name);
			found = 1;
			break;
		}
	pthread_mutex_unlock(&lock);
	return found;
}
