/*
 * iked/swsa_record — what a node stores about a sysplex-wide tunnel (a
 * dynamic tunnel whose local security endpoint is a DVIPA) so that the node
 * that takes the DVIPA over can re-establish it with the offers the two sides
 * agreed: rule and action names, security and data endpoints, identities, the
 * agreed phase 1 and phase 2 offers, the generation, the owning node and the
 * times. Never a key: no SKEYID, no shared key, no KEYMAT.
 *
 * The text form is one JSON object with a format version, naming algorithms,
 * groups and modes as a policy writes them (AES_CBC, SHA2_256, Group19,
 * Aggressive), so an operator can read the store with cat or redis-cli.
 * Decoding is strict and bounded: the store is shared and may hold anything.
 *
 * Each record lives under a key: "attls:swsa:<DVIPA>:<TUNNEL>" in Redis,
 * "<DVIPA>_<TUNNEL>.json" in a dir: store. TUNNEL is 32 hex digits of
 * SHA-256 over the IpFilterRule name, the selectors and the remote security
 * endpoint: the same tunnel on every node, whatever its local Y number.
 */
#ifndef ATTLS_IKED_SWSA_RECORD_H
#define ATTLS_IKED_SWSA_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "iked/iked.h"

#define SWSA_FORMAT 1
#define SWSA_RECORD_MAX 8192              /* bytes of record text accepted */
#define SWSA_TUNNEL_HEX 32
#define SWSA_NAME_MAX 49                  /* policy names, as struct ytunnel */
#define SWSA_NODE_MAX 65
#define SWSA_ID_MAX 160                   /* as p1sa's identity strings */
#define SWSA_KEY_PREFIX "attls:swsa:"
#define SWSA_KEY_MAX 128
#define SWSA_FILE_SUFFIX ".json"

struct swsa_identity {
	int type;                         /* IDNAME_* (policy/schema.h) */
	char value[SWSA_ID_MAX];          /* as iked prints it (id_format) */
};

struct swsa_record {
	char tunnel[SWSA_TUNNEL_HEX + 1];
	struct ip_addr dvipa;             /* the local security endpoint */
	struct ip_addr peer;              /* the remote security endpoint */
	char filter_rule[SWSA_NAME_MAX], vpn_action[SWSA_NAME_MAX];
	char ke_rule[SWSA_NAME_MAX], ke_action[SWSA_NAME_MAX];
	struct selector lsel, rsel;       /* local and remote data endpoints */
	struct swsa_identity local_id, remote_id;
	int exch;                         /* EXCH_MAIN or EXCH_AGGRESSIVE */
	struct p1_attrs p1;               /* offer index -1 when decoded: names travel */
	struct p2_attrs p2;
	unsigned generation;
	char owner[SWSA_NODE_MAX];
	time_t established, refreshed;    /* wall clock, whole seconds */
};

/* The tunnel id of r's rule, selectors and peer into r->tunnel. */
void swsa_record_set_tunnel(struct swsa_record *r);
/* An identity from the IKE ID type (IPSEC_ID_*) and its printed form.
 * Returns 0, or -1 for an ID type a policy cannot name. */
int swsa_identity_set(struct swsa_identity *id, uint8_t ike_id_type, const char *text);

/* "attls:swsa:<DVIPA>:<TUNNEL>"; returns 0, or -1 when it does not fit. */
int swsa_key(const struct ip_addr *dvipa, const char *tunnel, char *buf, size_t len);
/* The inverse; returns 0 or -1. */
int swsa_key_parse(const char *key, struct ip_addr *dvipa, char tunnel[SWSA_TUNNEL_HEX + 1]);
/* The dir: store's file name of a key, and back ("" / -1 when not one). */
int swsa_key_to_file(const char *key, char *buf, size_t len);
int swsa_file_to_key(const char *name, char *buf, size_t len);

/* The JSON text of r (ending in a newline), malloc'd; returns 0 or -1. */
int swsa_record_encode(const struct swsa_record *r, char **text, size_t *len);
/* Decode text into r. Returns 0, or -1 with err saying why (the first
 * problem found: limits, grammar, version, a missing or mistyped field, a
 * name no policy uses, values that do not go together). Fields this version
 * does not know are ignored. */
int swsa_record_decode(const char *text, size_t len, struct swsa_record *r, char *err,
		       size_t errlen);

#endif
