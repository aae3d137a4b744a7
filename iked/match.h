/*
 * iked/match — IKE's questions to the policy: which KeyExchangeRule fits a
 * peer (addresses first, then the identity once it is known), which
 * IpFilterRule (and so which IpDynVpnAction) fits the selectors a peer
 * proposes in Quick Mode, and what a locally started tunnel looks like.
 * Also the identities and selectors in their ID payload form.
 */
#ifndef ATTLS_IKED_MATCH_H
#define ATTLS_IKED_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "iked/iked.h"

struct keyring;

/* First KeyExchangeRule (policy order) whose local and remote locations
 * contain the addresses and, when peer is given, whose remote identity
 * matches it. */
const struct ike_rule *match_ke_rule(const struct ipsec_policy *ip, const struct ip_addr *local,
				     const struct ip_addr *remote, const struct peer_id *peer);
bool match_location(const struct ike_endpoint *e, const struct ip_addr *a);
/* Does the peer's ID payload satisfy the rule's RemoteSecurityEndpoint? */
bool match_remote_identity(const struct ike_rule *r, const struct peer_id *id,
			   const struct ip_addr *remote);
/* Our ID payload for a rule (X500dn comes from the keyring's certificate). */
int local_identity(const struct ike_rule *r, const struct ip_addr *local,
		   const struct keyring *kr, struct peer_id *out, char *err, size_t errlen);

/* ID payload bodies (type, protocol, port, data) */
void id_body_write(struct buf *b, const struct peer_id *id);
int id_from_payload(const struct id_payload *p, struct peer_id *id);
void id_format(const struct peer_id *id, char *buf, size_t len);
const char *id_type_name(uint8_t type);     /* "ID_IPV4_ADDR" ... */

/* Filter rules */
const struct ipsec_filter_rule *find_filter_rule(const struct ipsec_policy *ip, const char *name);
/* The IpSec filter rule (first in order) covering the selectors, seen from
 * this host: local selector within the rule's source, remote within its
 * destination. */
const struct ipsec_filter_rule *match_filter_rule(const struct ipsec_policy *ip,
						  const struct selector *local,
						  const struct selector *remote);
/* Selectors of a locally started tunnel: the rule's first source and
 * destination, protocol and ports of its first IpService. */
int filter_rule_selectors(const struct ipsec_filter_rule *r, struct selector *local,
			  struct selector *remote, char *err, size_t errlen);
/* The IKE peer of a locally started tunnel. */
int filter_rule_peer(const struct ipsec_filter_rule *r, const struct selector *remote,
		     struct ip_addr *peer, char *err, size_t errlen);

/* Selectors as phase 2 ID payload bodies, and back. */
void selector_id_write(struct buf *b, const struct selector *s);
int selector_from_id(const struct id_payload *id, struct selector *s);
void selector_format(const struct selector *s, char *buf, size_t len);
bool selector_equal(const struct selector *a, const struct selector *b);
/* A selector for exactly one address. */
void selector_host(struct selector *s, const struct ip_addr *a);

#endif
