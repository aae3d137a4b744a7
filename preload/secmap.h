/*
 * preload/secmap — SecondaryMap On (spec 3.7): a connection whose rule says so
 * is remembered by its pair of IP addresses while it lives; a later connection
 * of this process between the same two addresses that no rule covers, or only
 * a rule of lower priority, takes the primary connection's rule (an FTP data
 * connection follows its control connection).
 */
#ifndef ATTLS_PRELOAD_SECMAP_H
#define ATTLS_PRELOAD_SECMAP_H

#include "policy/addr.h"
#include "policy/attls.h"

struct conn;
struct policy;

void secmap_add(struct conn *c);
void secmap_forget(struct conn *c);
/* The primary's rule for a new connection between a and b (either way round),
 * when it beats mine; *pol then holds a reference to that rule's policy. */
const struct attls_rule *secmap_find(const struct ip_addr *a, const struct ip_addr *b,
				     const struct attls_rule *mine, struct policy **pol);
/* Whether a live primary has address a at either end (before connect() the
 * local end is not known, so a new connection to a might become its secondary). */
bool secmap_involves(const struct ip_addr *a);

#endif
