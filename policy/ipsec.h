/*
 * policy/ipsec — the compiled IP security policy for iked: filter rules with
 * their dynamic VPN actions and phase 2 offers, key exchange rules with their
 * endpoints, actions and phase 1 offers, and iked's own IkeConfig. Read-only
 * once built; lives in the snapshot's arena.
 */
#ifndef ATTLS_POLICY_IPSEC_H
#define ATTLS_POLICY_IPSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/addr.h"
#include "policy/diag.h"
#include "policy/storeurl.h"
#include "policy/tree.h"

struct policy;

/* Lifetimes: minutes; lifesizes: kilobytes, 0 = none. */
struct ipsec_data_offer {                 /* IpDataOffer: one phase 2 proposal */
	const char *name;
	int encap;                        /* ENCAP_* */
	int enc_alg;                      /* ENC_AES_CBC or ENC_AES_GCM_16 */
	int keylen;                       /* bits */
	int auth_alg;                     /* AUTHALG_*; AUTHALG_NULL with GCM */
	uint32_t life_proposed;
	uint32_t life_acc_min, life_acc_max;
	uint64_t size_proposed;
	uint64_t size_acc_min, size_acc_max; /* 0/0 = None */
};

#define PFS_NONE_BIT 1u                   /* bit 0: "None" is acceptable */
#define PFS_BIT(g) (1u << (g))            /* group g (1..21) */

struct ipsec_dynvpn {                     /* IpDynVpnAction */
	const char *name;
	int initiation;                   /* INITIATION_* */
	uint32_t vpnlife;                 /* minutes */
	int initiate_pfs;                 /* group proposed as initiator; 0 = none */
	uint32_t acceptable_pfs;          /* PFS_NONE_BIT | PFS_BIT(g)... */
	bool legacy_pfs;                  /* written with Pfs */
	const struct ipsec_data_offer **offers;
	size_t noffers;
};

struct ipsec_service {                    /* IpService */
	int proto;                        /* -1 = all */
	struct port_range sport, dport;
	int dir;                          /* SVCDIR_* */
	int conn;                         /* CONNDIR_* */
	int routing;                      /* ROUTING_* */
};

struct ipsec_filter_rule {                /* IpFilterRule, in IpFilterPolicy order */
	const char *name;
	struct srcpos pos;
	struct ip_set src, dst;
	const struct ipsec_service *svc;  /* nsvc == 0: any */
	size_t nsvc;
	const char *action_name;          /* IpGenericFilterAction */
	int action;                       /* FILTER_* */
	bool log;                         /* IpFilterLogging: log what the rule drops */
	int discard;                      /* DISCARD_*: how it drops */
	const struct ipsec_dynvpn *vpn;   /* FILTER_IPSEC only */
	const char *localstart;           /* IpLocalStartAction name or NULL */
	bool has_gateway;                 /* RemoteSecurityEndpointAddr given */
	struct ip_addr gateway;           /* the IKE peer for tunnels started locally */
};

struct ike_identity {
	int type;                         /* IDT_*; IDT_NONE = derived from the address */
	const char *value;                /* FQDN, user@FQDN, DN text */
	const uint8_t *bytes;             /* KeyID */
	size_t len;
	struct ip_range range;            /* IPv4/IPv6 identities (remote may be a range) */
};

struct ike_endpoint {
	struct ike_identity id;
	int any_family;                   /* -1: loc is an address form; else AF_* of Any* */
	struct ip_range loc;
	const char *ca_label;             /* remote only */
};

struct ike_offer {                        /* KeyExchangeOffer: one phase 1 proposal */
	const char *name;
	int enc_alg;                      /* ENC_AES_CBC */
	int keylen;
	int hash;                         /* HASH_* */
	int auth_method;                  /* AUTHMETH_PRESHARED_KEY or AUTHMETH_RSA_SIGNATURE */
	int dh_group;
	uint32_t life_proposed;
	uint32_t life_acc_min, life_acc_max;
	uint64_t size_proposed;
	uint64_t size_acc_min, size_acc_max;
};

struct ike_action {                       /* KeyExchangeAction */
	const char *name;
	int how_to_initiate;              /* HOWINIT_*, policy default applied */
	int how_to_respond;               /* HOWRESP_* */
	bool allow_nat;                   /* policy default applied */
	int auth_me;                      /* AUTHMETH_* or -1 = each offer's HowToAuthPeers */
	const struct ike_offer **offers;
	size_t noffers;
};

struct ike_rule {                         /* KeyExchangeRule, in KeyExchangePolicy order */
	const char *name;
	struct srcpos pos;
	struct ike_endpoint local, remote;
	const struct ike_action *action;
	const uint8_t *psk;
	size_t psk_len;
};

struct ike_config {
	const struct ip_addr *listen;     /* nlisten == 0: 0.0.0.0 */
	size_t nlisten;
	uint16_t ike_port, nat_port;
	int backend;                      /* BACKEND_* */
	const char *tun_device;           /* BACKEND_TUN */
	const char *control_socket, *pid_file, *keyring;
	unsigned syslog_level, retries, init_wait, max_wait;
	/* sysplex-wide SAs: off when swsa_store.kind is STORE_NONE */
	struct store_url swsa_store;
	const char *swsa_password_file;   /* absolute, or NULL */
	const char *swsa_node;            /* NULL: the host name */
	const struct ip_addr *swsa_dvipa;
	size_t nswsa_dvipa;
};

struct ipsec_policy {
	bool present;                     /* the file has IP security statements */
	const struct ipsec_filter_rule **filters;
	size_t nfilters;
	bool allow_on_demand, fips;
	bool filter_logging;              /* FilterLogging: No silences every filter log */
	bool log_implicit;                /* IpFilterLogImplicit */
	const struct ike_rule **ke_rules;
	size_t nke;
	bool allow_nat;
	int how_to_initiate, how_to_respond;
	unsigned liveness, nat_keepalive;  /* seconds */
	struct ike_config ike;
	const struct ipsec_dynvpn **dynvpns;  /* every IpDynVpnAction, file order */
	size_t ndynvpn;
};

const struct ipsec_policy *policy_ipsec(const struct policy *p);

#endif
