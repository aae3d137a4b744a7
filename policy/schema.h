/*
 * policy/schema — the policy language as data: every statement, its parameters,
 * their value kinds, defaults, ranges, references and flags. The parser, the
 * validator, the did-you-mean hints and the policy reference are all driven
 * from these tables, so they cannot disagree.
 */
#ifndef ATTLS_POLICY_SCHEMA_H
#define ATTLS_POLICY_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

enum vkind {
	VK_ONOFF,        /* On | Off */
	VK_YESNO,        /* Yes | No */
	VK_ENUM,         /* one of enums[] (case-insensitive) */
	VK_INT,          /* decimal in [min, max] */
	VK_STRING,       /* one word or quoted string, length in [min, max] */
	VK_ADDR,         /* a | a/len | a-b | All */
	VK_HOST,         /* one address, no prefix or range */
	VK_PREFIX,       /* a/len */
	VK_IPRANGE,      /* a-b | a b */
	VK_PORTS,        /* n | n m | n-m (0 = any) */
	VK_REF,          /* name of a global statement of type target */
	VK_INLINE,       /* { ... } block of statement type target */
	VK_CIPHER2,      /* 2-char hex codes (concatenable) or suite names */
	VK_CIPHER4,      /* 4-char hex codes (concatenable) or suite names */
	VK_LIFERANGE,    /* min max */
	VK_LIFESIZE,     /* None | n */
	VK_LIFESIZERANGE,/* None | min max */
	VK_ENCRYPT,      /* DES | 3DES | AES | AES_CBC [KeyLength n] | AES_GCM_16 [KeyLength n] | DoNot */
	VK_AUTH,         /* AH | ESP  then an algorithm */
	VK_SHAREDKEY,    /* Ascii | Ebcdic | Hex  then the key */
	VK_IDENTITY,     /* IpAddr a | Fqdn v | UserAtFqdn v | X500dn v | KeyID Ascii|Ebcdic|Hex v */
	VK_LOCATION,     /* address forms | Any | Any4 | Any6 */
	VK_PROTOCOL,     /* All | TCP | UDP | ICMP | ICMPv6 | ... | 0-255 */
	VK_SVCDIR,       /* Inbound | Outbound | Bidirectional [InboundConnect | OutboundConnect] */
	VK_DHGROUP,      /* None | GroupN */
};

/* parameter flags */
#define PF_REPEAT      0x01   /* may be given more than once (values accumulate) */
#define PF_REQUIRED    0x02   /* this parameter, or one of its exclusion group, is required */
#define PF_NOT_ACTED   0x04   /* parsed and checked, but attls does not act on it yet */
#define PF_UNSUPPORTED 0x08   /* a z/OS parameter attls refuses (error with explanation) */
#define PF_ATTLS       0x10   /* an attls addition, not in z/OS */

/* statement flags */
#define SF_GLOBAL      0x01   /* may stand at the top level (needs a name unless SF_UNNAMED) */
#define SF_INLINE      0x02   /* may appear inline inside another statement */
#define SF_SINGLETON   0x04   /* one per policy; a later one replaces an earlier one */
#define SF_UNNAMED     0x08   /* written without a name */
#define SF_UNSUPPORTED 0x10   /* a z/OS statement attls refuses */

struct param_schema {
	const char *name;
	uint8_t kind;              /* enum vkind */
	uint8_t flags;             /* PF_* */
	const char *const *enums;  /* VK_ENUM: NULL-terminated values */
	int64_t min, max;          /* VK_INT value range; VK_STRING length range */
	const char *target;        /* VK_REF / VK_INLINE: statement type */
	const char *excl;          /* alternatives: at most one of the group (unless
	                            * repeatable); PF_REQUIRED means one is needed */
	const char *dflt;          /* default as written in a policy; NULL = none */
	const char *doc;           /* one line for the reference */
};

struct stmt_schema {
	const char *name;
	uint8_t flags;             /* SF_* */
	const struct param_schema *params;
	size_t nparams;
	const char *doc;
	const char *why_unsupported;
};

extern const struct stmt_schema policy_stmts[];
extern const size_t policy_nstmts;

const struct stmt_schema *schema_stmt(const char *name);      /* case-insensitive */
const struct param_schema *schema_param(const struct stmt_schema *s, const char *name);
/* Names of z/OS parameters that attls does not know at all, with the reason. */
const char *schema_zos_only_param(const char *stmt, const char *param);

/* Enumerations whose order the model relies on (index = value). */
enum { DIR_INBOUND, DIR_OUTBOUND, DIR_BOTH };
extern const char *const enum_direction[];
enum { ROLE_CLIENT, ROLE_SERVER, ROLE_SERVER_CLIENT_AUTH };
extern const char *const enum_role[];
enum { CAUTH_PASSTHRU, CAUTH_FULL, CAUTH_REQUIRED, CAUTH_SAFCHECK };
extern const char *const enum_client_auth[];
enum { FIPS_OFF, FIPS_ON, FIPS_LEVEL1, FIPS_LEVEL2, FIPS_LEVEL3 };
extern const char *const enum_fips140[];
enum { SNI_OFF, SNI_REQUIRED, SNI_OPTIONAL };
extern const char *const enum_sni[];
enum { FILTER_PERMIT, FILTER_DENY, FILTER_IPSEC };
extern const char *const enum_filter_action[];
enum { ENCAP_TUNNEL, ENCAP_TRANSPORT };
extern const char *const enum_encap[];
enum { INITIATION_EITHER, INITIATION_LOCAL_ONLY, INITIATION_REMOTE_ONLY };
extern const char *const enum_initiation[];
enum { HOWINIT_MAIN, HOWINIT_AGGRESSIVE, HOWINIT_IKEV2, HOWINIT_DONOT };
extern const char *const enum_how_to_initiate[];
enum { HOWRESP_EITHER, HOWRESP_MAIN, HOWRESP_AGGRESSIVE };
extern const char *const enum_how_to_respond[];
enum { AUTHMETH_DIGITAL_SIGNATURE, AUTHMETH_PRESHARED_KEY, AUTHMETH_RSA_SIGNATURE,
       AUTHMETH_ECDSA256, AUTHMETH_ECDSA384, AUTHMETH_ECDSA521 };
extern const char *const enum_auth_method[];
enum { HASH_MD5, HASH_SHA1, HASH_SHA2_256, HASH_SHA2_384, HASH_SHA2_512 };
extern const char *const enum_hash[];
enum { BACKEND_XFRM, BACKEND_LOG, BACKEND_TUN, BACKEND_AUTO };
extern const char *const enum_backend[];
enum { ROUTING_LOCAL, ROUTING_ROUTED, ROUTING_EITHER };
extern const char *const enum_routing[];
enum { DISCARD_SILENT, DISCARD_ICMP };

/* VK_ENCRYPT algorithms */
enum { ENC_DES, ENC_3DES, ENC_AES_CBC, ENC_AES_GCM_16, ENC_DONOT };
extern const char *const enum_encrypt[];
/* VK_AUTH */
enum { AUTHPROTO_AH, AUTHPROTO_ESP };
enum { AUTHALG_NULL, AUTHALG_HMAC_MD5, AUTHALG_HMAC_SHA1, AUTHALG_HMAC_SHA2_256_128,
       AUTHALG_HMAC_SHA2_384_192, AUTHALG_HMAC_SHA2_512_256, AUTHALG_AES_GMAC_128,
       AUTHALG_AES_GMAC_256, AUTHALG_AES128_XCBC_96 };
extern const char *const enum_authalg[];
/* VK_SHAREDKEY and KeyID forms */
enum { KEYFORM_ASCII, KEYFORM_EBCDIC, KEYFORM_HEX };
/* VK_IDENTITY types (values are the IKEv1 ID types where one exists) */
enum { IDT_NONE = 0, IDT_IPV4 = 1, IDT_FQDN = 2, IDT_USER_FQDN = 3, IDT_IPV6 = 5,
       IDT_DER_ASN1_DN = 9, IDT_KEY_ID = 11 };
/* The identity types by the names policies write (IpAddr covers both families). */
enum { IDNAME_IPADDR, IDNAME_FQDN, IDNAME_USER_FQDN, IDNAME_X500DN, IDNAME_KEY_ID };
extern const char *const enum_identity[];
/* VK_SVCDIR */
enum { SVCDIR_BIDIRECTIONAL, SVCDIR_INBOUND, SVCDIR_OUTBOUND };
enum { CONNDIR_ANY, CONNDIR_INBOUND_CONNECT, CONNDIR_OUTBOUND_CONNECT };
/* VK_DHGROUP: the group number itself; 0 = None. Supported groups: */
#define DH_SUPPORTED_LIST "Group1, Group2, Group5, Group14, Group15, Group16, Group19, Group20, Group21"
/* "None" for 0, "GroupN" for a supported group, else NULL. */
const char *dhgroup_name(int group);
/* The inverse, case-insensitive: 0 for None, the group, or -1. */
int dhgroup_parse(const char *word);

#endif
