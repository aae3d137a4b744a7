/* Unit tests for validation: every check of values.c, validate.c,
 * attls_model.c and the parser's reference resolution, each with a policy
 * that passes and one that fails at a known line and token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/support.h"

struct vcase {
	const char *name;
	const char *good;          /* valid (warnings allowed) */
	const char *bad;           /* rejected ... */
	unsigned line;             /* ... with an error at this line */
	const char *tok;           /* ... at this token */
	const char *msg;           /* ... whose message contains this */
	const char *hint;          /* ... and whose hint contains this (NULL: any) */
};

/* Statements the IP security cases share (each one line). */
#define GENERIC_IPSEC "IpGenericFilterAction ipsec { IpFilterAction IpSec }\n"
#define GENERIC_PERMIT "IpGenericFilterAction permit { IpFilterAction Permit }\n"
/* A complete key exchange rule with the given SharedKey value (line 1), and
 * the action it uses (line 2). */
#define KE_RULE(key) \
	"KeyExchangeRule kr { LocalSecurityEndpoint { Identity IpAddr 10.0.0.1 Location 10.0.0.1 } " \
	"RemoteSecurityEndpoint { Identity IpAddr 10.0.0.2 } KeyExchangeActionRef ka SharedKey " key " }\n" \
	"KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n"

static const struct vcase cases[] = {
	/* ---- required parameters ------------------------------------------- */
	{ "TTLSRule needs Direction",
	  RULE("r", "LocalPortRange 1") BASE,
	  "TTLSRule r { LocalPortRange 1 TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n" BASE,
	  1, "TTLSRule", "TTLSRule r is missing Direction", "add: Direction Inbound|Outbound|Both" },
	{ "TTLSRule needs TTLSGroupActionRef",
	  "TTLSRule r { LocalPortRange 1 Direction Inbound TTLSGroupActionRef off }\n" GRP_OFF,
	  "TTLSRule r { LocalPortRange 1 Direction Inbound }\n",
	  1, "TTLSRule", "TTLSRule r is missing TTLSGroupActionRef", "add: TTLSGroupActionRef NAME" },
	{ "TTLSGroupAction needs TTLSEnabled",
	  "TTLSGroupAction g { TTLSEnabled Off Trace 2 }\n",
	  "TTLSGroupAction g { Trace 2 }\n",
	  1, "TTLSGroupAction", "TTLSGroupAction g is missing TTLSEnabled", "add: TTLSEnabled On|Off" },
	{ "TTLSEnvironmentAction needs HandshakeRole",
	  "TTLSEnvironmentAction e { HandshakeRole Client TTLSKeyringParms { Keyring /dev/null } }\n",
	  "TTLSEnvironmentAction e { TTLSKeyringParms { Keyring /dev/null } }\n",
	  1, "TTLSEnvironmentAction", "TTLSEnvironmentAction e is missing HandshakeRole",
	  "add: HandshakeRole Client|Server|ServerWithClientAuth" },
	{ "TTLSEnvironmentAction needs a key ring",
	  "TTLSEnvironmentAction e { HandshakeRole Client TTLSKeyringParmsRef k }\n"
	  "TTLSKeyringParms k { Keyring /dev/null }\n",
	  "TTLSEnvironmentAction e { HandshakeRole Client }\n",
	  1, "TTLSEnvironmentAction", "TTLSEnvironmentAction e needs TTLSKeyringParms or "
	  "TTLSKeyringParmsRef", NULL },
	{ "TTLSKeyringParms needs Keyring",
	  "TTLSKeyringParms k { Keyring /dev/null KeyringPw secret }\n",
	  "TTLSKeyringParms k { KeyringPw secret }\n",
	  1, "TTLSKeyringParms", "TTLSKeyringParms k is missing Keyring", "add: Keyring VALUE" },
	{ "IpAddr needs Addr",
	  "IpAddr a { Addr 10.0.0.1 }\n",
	  "IpAddr a { }\n",
	  1, "IpAddr", "IpAddr a is missing Addr", NULL },
	{ "PortRange needs Port",
	  "PortRange p { Port 80 }\n",
	  "PortRange p { }\n",
	  1, "PortRange", "PortRange p is missing Port", NULL },
	{ "IpGenericFilterAction needs IpFilterAction",
	  GENERIC_PERMIT,
	  "IpGenericFilterAction permit { IpFilterLogging No }\n",
	  1, "IpGenericFilterAction", "IpGenericFilterAction permit is missing IpFilterAction",
	  "add: IpFilterAction Permit|Deny|IpSec" },
	{ "IpFilterRule needs IpGenericFilterActionRef",
	  "IpFilterRule f { IpSourceAddr 10.0.0.1 IpGenericFilterActionRef permit }\n" GENERIC_PERMIT,
	  "IpFilterRule f { IpSourceAddr 10.0.0.1 }\n" GENERIC_PERMIT,
	  1, "IpFilterRule", "IpFilterRule f is missing IpGenericFilterActionRef", NULL },
	{ "IpDynVpnAction needs an offer",
	  "IpDynVpnAction v { IpDataOfferRef o }\nIpDataOffer o { }\n",
	  "IpDynVpnAction v { VpnLife 60 }\n",
	  1, "IpDynVpnAction", "IpDynVpnAction v needs IpDataOffer or IpDataOfferRef", NULL },
	{ "KeyExchangeOffer needs HowToAuthPeers",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey }\n",
	  "KeyExchangeOffer o { DHGroup Group14 }\n",
	  1, "KeyExchangeOffer", "KeyExchangeOffer o is missing HowToAuthPeers", NULL },
	{ "KeyExchangeAction needs an offer",
	  "KeyExchangeAction a { KeyExchangeOfferRef o }\nKeyExchangeOffer o { HowToAuthPeers RsaSignature }\n",
	  "KeyExchangeAction a { HowToInitiate Main }\n",
	  1, "KeyExchangeAction", "KeyExchangeAction a needs KeyExchangeOffer or KeyExchangeOfferRef",
	  NULL },
	{ "KeyExchangeRule needs its endpoints and action",
	  KE_OK,
	  "KeyExchangeRule kr { RemoteSecurityEndpoint { Identity IpAddr 10.0.0.2 } "
	  "KeyExchangeActionRef ka SharedKey Ascii s }\n"
	  "KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  1, "KeyExchangeRule", "KeyExchangeRule kr needs LocalSecurityEndpoint or "
	  "LocalSecurityEndpointRef", NULL },
	{ "LocalSecurityEndpoint needs Location",
	  "LocalSecurityEndpoint l { Identity Fqdn host.example Location 10.0.0.1 }\n",
	  "LocalSecurityEndpoint l { Identity Fqdn host.example }\n",
	  1, "LocalSecurityEndpoint", "LocalSecurityEndpoint l is missing Location", NULL },
	{ "RemoteSecurityEndpoint needs Identity",
	  "RemoteSecurityEndpoint r { Identity IpAddr 10.0.0.0/24 }\n",
	  "RemoteSecurityEndpoint r { Location 10.0.0.2 }\n",
	  1, "RemoteSecurityEndpoint", "RemoteSecurityEndpoint r is missing Identity", NULL },

	/* ---- values: numbers, strings, names ---------------------------------- */
	{ "Priority range",
	  RULE("r", "LocalPortRange 1 Priority 2000000000") BASE,
	  RULE("r", "LocalPortRange 1 Priority 0") BASE,
	  1, "0", "Priority: '0' is not a number from 1 to 2000000000", NULL },
	{ "Priority must be a number",
	  RULE("r", "LocalPortRange 1 Priority 1") BASE,
	  RULE("r", "LocalPortRange 1 Priority high") BASE,
	  1, "high", "Priority: 'high' is not a number from 1 to 2000000000", NULL },
	{ "Trace range",
	  "TTLSGroupAction g { TTLSEnabled Off Trace 255 }\n",
	  "TTLSGroupAction g { TTLSEnabled Off Trace 256 }\n",
	  1, "256", "Trace: '256' is not a number from 0 to 255", NULL },
	{ "HandshakeTimeout range",
	  "TTLSEnvironmentAdvancedParms a { HandshakeTimeout 600 }\n",
	  "TTLSEnvironmentAdvancedParms a { HandshakeTimeout 601 }\n",
	  1, "601", "HandshakeTimeout: '601' is not a number from 0 to 600", NULL },
	{ "Jobname length",
	  RULE("r", "Jobname abcdefghijklmnop") BASE,
	  RULE("r", "Jobname abcdefghijklmnopq") BASE,
	  1, "abcdefghijklmnopq", "Jobname: value must be 1 to 16 characters long", NULL },
	{ "On or Off",
	  "TTLSGroupAction g { TTLSEnabled off }\n",
	  "TTLSGroupAction g { TTLSEnabled Yes }\n",
	  1, "Yes", "TTLSEnabled: 'Yes' is not a valid value", "value is one of On or Off" },
	{ "Yes or No",
	  "IpFilterPolicy { FIPS140 No }\n",
	  "IpFilterPolicy { FIPS140 Off }\n",
	  1, "Off", "FIPS140: 'Off' is not a valid value", "value is one of Yes or No" },
	{ "enum value with a near miss",
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } }\n",
	  "TTLSEnvironmentAction e { HandshakeRole Sever TTLSKeyringParms { Keyring /dev/null } }\n",
	  1, "Sever", "HandshakeRole: 'Sever' is not a valid value", "did you mean 'Server'?" },
	{ "enum value far from any",
	  RULE("r", "LocalPortRange 1") BASE,
	  "TTLSRule r { LocalPortRange 1 Direction Sideways TTLSGroupActionRef g }\n" GRP_ON,
	  1, "Sideways", "Direction: 'Sideways' is not a valid value",
	  "value is one of Inbound, Outbound or Both" },
	{ "missing value",
	  RULE("r", "LocalPortRange 1") BASE,
	  "TTLSRule r { LocalPortRange 1 Direction\n TTLSGroupActionRef g }\n" GRP_ON,
	  1, "Direction", "Direction needs a value", "write: Direction Inbound" },

	/* ---- values: ports and addresses ----------------------------------- */
	{ "port number",
	  RULE("r", "LocalPortRange 65535") BASE,
	  RULE("r", "LocalPortRange 65536") BASE,
	  1, "65536", "LocalPortRange: '65536' is not a port number (0 to 65535)", NULL },
	{ "port range forms",
	  RULE("a", "LocalPortRange 80-443") RULE("b", "LocalPortRange 80 443")
	  RULE("c", "LocalPortRange 80:443") BASE,
	  RULE("r", "LocalPortRange 443-80") BASE,
	  1, "443-80", "LocalPortRange: range 443-80 is backwards", "write the lower port first" },
	{ "port range end",
	  RULE("r", "RemotePortRange 1024 65535") BASE,
	  RULE("r", "RemotePortRange 1024-x") BASE,
	  1, "1024-x", "RemotePortRange: 'x' is not a port number", NULL },
	{ "address",
	  RULE("r", "LocalAddr 10.0.0.255") BASE,
	  RULE("r", "LocalAddr 10.0.0.256") BASE,
	  1, "10.0.0.256", "LocalAddr: not an IP address (expected a, a/len, a-b or All)", NULL },
	{ "IPv4 prefix length",
	  RULE("r", "LocalAddr 10.0.0.0/32") BASE,
	  RULE("r", "LocalAddr 10.0.0.0/33") BASE,
	  1, "10.0.0.0/33", "LocalAddr: IPv4 prefix length must be 0 to 32", NULL },
	{ "IPv6 prefix length",
	  RULE("r", "LocalAddr 2001:db8::/128") BASE,
	  RULE("r", "LocalAddr 2001:db8::/129") BASE,
	  1, "2001:db8::/129", "LocalAddr: IPv6 prefix length must be 0 to 128", NULL },
	{ "prefix with host bits",
	  RULE("r", "RemoteAddr 10.1.0.0/16") BASE,
	  RULE("r", "RemoteAddr 10.1.2.0/16") BASE,
	  1, "10.1.2.0/16", "RemoteAddr: address has bits set beyond the prefix length", NULL },
	{ "range order",
	  RULE("r", "RemoteAddr 10.0.0.1-10.0.0.9") BASE,
	  RULE("r", "RemoteAddr 10.0.0.9-10.0.0.1") BASE,
	  1, "10.0.0.9-10.0.0.1", "the first address of a range must not be above the second", NULL },
	{ "range families",
	  RULE("r", "RemoteAddr 2001:db8::1-2001:db8::9") BASE,
	  RULE("r", "RemoteAddr 10.0.0.1-2001:db8::9") BASE,
	  1, "10.0.0.1-2001:db8::9", "the two ends of a range must both be IPv4 or both IPv6", NULL },
	{ "IpAddrSet Prefix is a prefix",
	  "IpAddrSet s { Prefix 10.0.0.0/8 }\n",
	  "IpAddrSet s { Prefix 10.0.0.1 }\n",
	  1, "10.0.0.1", "Prefix: '10.0.0.1' is not a prefix", "write it as ADDRESS/LENGTH" },
	{ "IpAddrSet Range is a range",
	  "IpAddrSet s { Range 10.0.0.1-10.0.0.5 Range 10.0.1.1 10.0.1.5 }\n",
	  "IpAddrSet s { Range 10.0.0.1 }\n",
	  1, "10.0.0.1", "Range: '10.0.0.1' is not a range", "write it as FIRST-LAST" },
	{ "IpAddrSet Range of two words",
	  "IpAddrSet s { Range 10.0.1.1 10.0.1.5 }\n",
	  "IpAddrSet s { Range 10.0.1.x 10.0.1.5 }\n",
	  1, "10.0.1.x", "Range: '10.0.1.x' is not an IP address", NULL },
	{ "ListenAddr is one address",
	  "IkeConfig { ListenAddr 10.0.0.1 ListenAddr ::1 }\n",
	  "IkeConfig { ListenAddr 10.0.0.0/8 }\n",
	  1, "10.0.0.0/8", "ListenAddr: expected one address, not '10.0.0.0/8'", NULL },
	{ "IPv4-mapped address in a rule",
	  RULE("r", "RemoteAddr ::1 LocalAddr ::/0") RULE("s", "RemoteAddr 2001:db8::/32") BASE,
	  RULE("r", "RemoteAddr ::ffff:10.0.0.1") BASE,
	  1, "::ffff:10.0.0.1", "IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) "
	  "addresses are not allowed in AT-TLS rules", "write IPv4 addresses in dotted form" },
	{ "IPv4-compatible address in a rule",
	  RULE("r", "RemoteAddr ::/95") BASE,
	  RULE("r", "RemoteAddr ::10.0.0.1") BASE,
	  1, "::10.0.0.1", "IPv4-compatible (::a.b.c.d) addresses are not allowed", NULL },
	{ "IPv4-mapped prefix through an IpAddr",
	  RULE("r", "LocalAddrRef a") BASE "IpAddr a { Addr 2001:db8::/64 }\n",
	  RULE("r", "LocalAddrRef a") BASE "IpAddr a { Addr ::ffff:10.0.0.0/104 }\n",
	  4, "::ffff:10.0.0.0/104", "addresses are not allowed in AT-TLS rules", NULL },
	{ "IPv4-mapped range through a group",
	  RULE("r", "LocalAddrGroupRef grp") BASE
	  "IpAddrGroup grp { IpAddrSet { Range 2001:db8::1-2001:db8::9 } }\n",
	  RULE("r", "LocalAddrGroupRef grp") BASE
	  "IpAddrGroup grp { IpAddrSet { Range ::ffff:10.0.0.1-::ffff:10.0.0.9 } }\n",
	  4, "::ffff:10.0.0.1-::ffff:10.0.0.9", "addresses are not allowed in AT-TLS rules", NULL },

	/* ---- IkeConfig: sysplex-wide SAs ---------------------------------------- */
	{ "SwsaStore scheme",
	  "IkeConfig { SwsaStore redis://store.example:6380/2 SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore memcached://store SwsaDvipa 10.0.0.9 }\n",
	  1, "memcached://store", "SwsaStore: 'memcached://store' is not a store URL",
	  "write redis://HOST[:PORT][/DB] or dir:/ABSOLUTE/PATH" },
	{ "SwsaStore dir: path is absolute",
	  "IkeConfig { SwsaStore dir:/var/lib/attls/swsa SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore dir:swsa SwsaDvipa 10.0.0.9 }\n",
	  1, "dir:swsa", "SwsaStore: dir:swsa is a relative path; the store needs an absolute one",
	  "write dir:/var/lib/attls/swsa" },
	{ "SwsaStore port",
	  "IkeConfig { SwsaStore redis://[2001:db8::1]:6379 SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore redis://10.0.0.5:70000 SwsaDvipa 10.0.0.9 }\n",
	  1, "redis://10.0.0.5:70000", "SwsaStore: '70000' is not a port (1 to 65535)", NULL },
	{ "SwsaStore has no password",
	  "IkeConfig { SwsaStore redis://iked@10.0.0.5 SwsaStorePasswordFile /dev/null "
	  "SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore redis://iked:secret@10.0.0.5 SwsaDvipa 10.0.0.9 }\n",
	  1, "redis://iked:secret@10.0.0.5", "SwsaStore: a password does not belong in the URL",
	  "put the password in the file SwsaStorePasswordFile names" },
	{ "SwsaStore database number",
	  "IkeConfig { SwsaStore redis://10.0.0.5/15 SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore redis://10.0.0.5/db1 SwsaDvipa 10.0.0.9 }\n",
	  1, "redis://10.0.0.5/db1", "SwsaStore: 'db1' is not a database number (0 to 65535)", NULL },
	{ "SwsaStore TLS",
	  "IkeConfig { SwsaStore redis://10.0.0.5 SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore rediss://10.0.0.5 SwsaDvipa 10.0.0.9 }\n",
	  1, "rediss://10.0.0.5", "SwsaStore: TLS to Redis (rediss://) is not supported", NULL },
	{ "SwsaDvipa needs SwsaStore",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.9 SwsaDvipa 2001:db8::9 }\n",
	  "IkeConfig { SwsaDvipa 10.0.0.9 }\n",
	  1, "SwsaDvipa", "SwsaDvipa needs SwsaStore: where the records go",
	  "add to IkeConfig: SwsaStore dir:/var/lib/attls/swsa" },
	{ "SwsaDvipa is one address",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.0/24 }\n",
	  1, "10.0.0.0/24", "SwsaDvipa: expected one address, not '10.0.0.0/24'", NULL },
	{ "SwsaNode length",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.9 SwsaNode nodeA }\n",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.9 SwsaNode "
	  "n123456789012345678901234567890123456789012345678901234567890123456789 }\n",
	  1, "n1234", "SwsaNode", NULL },

	/* ---- values: cipher suites --------------------------------------------- */
	{ "2-char cipher codes",
	  "TTLSCipherParms c { V3CipherSuites 352F V3CipherSuites 9C TLS_AES_128_GCM_SHA256 }\n",
	  "TTLSCipherParms c { V3CipherSuites 352 }\n",
	  1, "352", "V3CipherSuites: '352' is not a list of cipher codes",
	  "4-digit codes go in V3CipherSuites4Char" },
	{ "4-char cipher codes",
	  "TTLSCipherParms c { V3CipherSuites4Char 13011302C02F }\n",
	  "TTLSCipherParms c { V3CipherSuites4Char 13011399 }\n",
	  1, "13011399", "cipher code 1399 is not a suite attls knows", NULL },
	{ "cipher names",
	  "TTLSCipherParms c { V3CipherSuites4Char TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 }\n",
	  "TTLSCipherParms c { V3CipherSuites4Char TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265 }\n",
	  1, "TLS_ECDHE", "'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265' is not a cipher suite attls knows",
	  "did you mean 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'?" },
	{ "cipher list leaves a usable suite",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSCipherParms { V3CipherSuites 0A35 } }\n",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSCipherParms { V3CipherSuites 0A } }\n",
	  3, "TTLSCipherParms", "leaves no cipher suite for the enabled TLS versions (its legacy "
	  "suites are ignored)", NULL },
	{ "TLS 1.3 only needs TLS 1.3 suites",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSEnvironmentAdvancedParms { TLSv1.2 Off } TTLSCipherParms { V3CipherSuites4Char 1301 } }\n",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSEnvironmentAdvancedParms { TLSv1.2 Off } TTLSCipherParms { V3CipherSuites 35 } }\n",
	  3, "TTLSCipherParms {", "leaves no cipher suite", "TLS 1.3 needs 4-char codes 1301, 1302 or 1303" },

	/* ---- values: IP security forms ------------------------------------------ */
	{ "lifetime range",
	  "IpDataOffer o { RefreshLifetimeAccepted 120 480 RefreshLifesizeAccepted None "
	  "RefreshLifesizeProposed None }\n",
	  "IpDataOffer o { RefreshLifetimeAccepted 480 120 }\n",
	  1, "120", "RefreshLifetimeAccepted: maximum is below the minimum", "write the minimum first" },
	{ "lifetime range has two ends",
	  "IpDataOffer o { RefreshLifesizeAccepted 1000 2000 }\n",
	  "IpDataOffer o { RefreshLifesizeAccepted 1000 }\n",
	  1, "1000", "RefreshLifesizeAccepted needs a minimum and a maximum", "write: MIN MAX" },
	{ "key length",
	  "IpDataOffer o { HowToEncrypt AES_CBC KeyLength 192 }\n",
	  "IpDataOffer o { HowToEncrypt AES_CBC KeyLength 512 }\n",
	  1, "512", "HowToEncrypt: '512' is not a valid key length", "AES_CBC takes 128, 192 or 256" },
	{ "GCM key length",
	  "IpDataOffer o { HowToEncrypt AES_GCM_16 KeyLength 256 }\n",
	  "IpDataOffer o { HowToEncrypt AES_GCM_16 KeyLength 192 }\n",
	  1, "192", "'192' is not a valid key length", "AES_GCM_16 takes 128 or 256" },
	{ "KeyLength word",
	  "IpDataOffer o { HowToEncrypt AES_CBC }\n",
	  "IpDataOffer o { HowToEncrypt AES_CBC Length 128 }\n",
	  1, "Length", "HowToEncrypt: expected KeyLength, not 'Length'", NULL },
	{ "KeyLength only with AES",
	  "IpDataOffer o { HowToEncrypt AES }\n",
	  "IpDataOffer o { HowToEncrypt AES KeyLength 128 }\n",
	  1, "KeyLength", "KeyLength only goes with AES_CBC and AES_GCM_16", NULL },
	{ "KeyLength needs bits",
	  "IpDataOffer o { HowToEncrypt AES_CBC KeyLength 128 }\n",
	  "IpDataOffer o { HowToEncrypt AES_CBC KeyLength }\n",
	  1, "KeyLength", "KeyLength needs a number of bits", NULL },
	{ "encryption algorithm",
	  "IpDataOffer o { HowToEncrypt aes_cbc }\n",
	  "IpDataOffer o { HowToEncrypt Blowfish }\n",
	  1, "Blowfish", "'Blowfish' is not a valid encryption algorithm", NULL },
	{ "authentication protocol",
	  "IpDataOffer o { HowToAuth ESP HMAC_SHA }\n",
	  "IpDataOffer o { HowToAuth ESX HMAC_SHA1 }\n",
	  1, "ESX", "'ESX' is not a valid authentication protocol", "did you mean 'ESP'?" },
	{ "authentication algorithm",
	  "IpDataOffer o { HowToAuth ESP HMAC_SHA2_512_256 }\n",
	  "IpDataOffer o { HowToAuth ESP SHA3 }\n",
	  1, "SHA3", "'SHA3' is not a valid authentication algorithm", NULL },
	{ "authentication needs two words",
	  "IpDataOffer o { HowToAuth ESP HMAC_SHA1 }\n",
	  "IpDataOffer o { HowToAuth ESP }\n",
	  1, "ESP", "HowToAuth: 'ESP' is incomplete", "write: HowToAuth ESP HMAC_SHA1" },
	{ "shared key form",
	  KE_RULE("Ascii abc"),
	  KE_RULE("Base64 abc"),
	  1, "Base64", "SharedKey: 'Base64' is not a valid key form", NULL },
	{ "shared key hex",
	  KE_RULE("Hex 0xA1b2"),
	  KE_RULE("Hex 0xA1b"),
	  1, "0xA1b", "SharedKey: '0xA1b' is not a hex string", "write an even number of hex digits" },
	{ "shared key needs a value",
	  KE_RULE("Ebcdic \"s e c r e t\""),
	  KE_RULE("Ascii"),
	  1, "Ascii", "SharedKey: expected a form and a value", "write: Ascii|Ebcdic|Hex VALUE" },
	{ "EBCDIC key is printable ASCII",
	  KE_RULE("Ebcdic \"p@ss word\""),
	  KE_RULE("Ebcdic \"caf\xc3\xa9\""),
	  1, "\"caf", "SharedKey: Ebcdic values must be printable ASCII", NULL },
	{ "KeyID identity",
	  "RemoteSecurityEndpoint r { Identity KeyID Ascii peer-1 }\n",
	  "RemoteSecurityEndpoint r { Identity KeyID Hex zz }\n",
	  1, "zz", "Identity: 'zz' is not a hex string", NULL },
	{ "lifesize",
	  "IpDataOffer o { RefreshLifesizeProposed 1 }\n",
	  "IpDataOffer o { RefreshLifesizeProposed 0 }\n",
	  1, "0", "RefreshLifesizeProposed: '0' is not a number from 1 to 2147483647", NULL },
	{ "identity type",
	  "RemoteSecurityEndpoint r { Identity KeyID Hex 0102 }\n",
	  "RemoteSecurityEndpoint r { Identity Email a@b }\n",
	  1, "Email", "Identity: 'Email' is not a valid identity type", NULL },
	{ "IpAddr identity is not All",
	  "RemoteSecurityEndpoint r { Identity IpAddr 10.0.0.1-10.0.0.9 }\n",
	  "RemoteSecurityEndpoint r { Identity IpAddr All }\n",
	  1, "All", "Identity: All is not an identity", "name an address, prefix or range" },
	{ "Fqdn identity",
	  "RemoteSecurityEndpoint r { Identity Fqdn peer.example }\n",
	  "RemoteSecurityEndpoint r { Identity Fqdn me@peer.example }\n",
	  1, "me@peer.example", "'me@peer.example' is not a host name", "use UserAtFqdn" },
	{ "UserAtFqdn identity",
	  "RemoteSecurityEndpoint r { Identity UserAtFqdn me@peer.example }\n",
	  "RemoteSecurityEndpoint r { Identity UserAtFqdn peer.example }\n",
	  1, "peer.example", "'peer.example' has no '@'", NULL },
	{ "X500dn identity",
	  "RemoteSecurityEndpoint r { Identity X500dn \"CN=peer, O=Example\" }\n",
	  "RemoteSecurityEndpoint r { Identity X500dn peer }\n",
	  1, "peer", "'peer' is not a distinguished name", NULL },
	{ "location",
	  "RemoteSecurityEndpoint r { Identity Fqdn p.example Location Any6 }\n",
	  "RemoteSecurityEndpoint r { Identity Fqdn p.example Location Anywhere }\n",
	  1, "Anywhere", "Location: not an IP address", "a location is an address, a/len, a-b, Any" },
	{ "protocol number",
	  "IpService s { Protocol 255 }\n",
	  "IpService s { Protocol 256 }\n",
	  1, "256", "Protocol: protocol number 256 is not 0 to 255", NULL },
	{ "protocol name",
	  "IpService s { Protocol icmpv6 }\n",
	  "IpService s { Protocol SCTP }\n",
	  1, "SCTP", "Protocol: 'SCTP' is not a valid protocol", NULL },
	{ "service direction",
	  "IpService s { Direction Bidirectional InboundConnect }\n",
	  "IpService s { Direction Inbound InboundConnect }\n",
	  1, "InboundConnect", "InboundConnect only goes with Bidirectional", NULL },
	{ "Diffie-Hellman group",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey DHGroup Group21 }\n",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey DHGroup Group24 }\n",
	  1, "Group24", "'Group24' is not a Diffie-Hellman group attls supports",
	  "attls supports None, Group1" },

	/* ---- repeats and alternatives ------------------------------------------ */
	{ "parameter given twice",
	  RULE("r", "LocalPortRange 1 Priority 1") BASE,
	  "TTLSRule r { LocalPortRange 1 Priority 1\n Priority 2 Direction Inbound TTLSGroupActionRef g "
	  "TTLSEnvironmentActionRef e }\n" BASE,
	  2, "Priority", "Priority is given more than once in TTLSRule r",
	  "the first is at line 1; keep one" },
	{ "alternatives conflict",
	  RULE("r", "LocalAddrRef a") BASE "IpAddr a { Addr 10.0.0.1 }\n",
	  RULE("r", "LocalAddr 10.0.0.2 LocalAddrRef a") BASE "IpAddr a { Addr 10.0.0.1 }\n",
	  1, "LocalAddrRef", "LocalAddrRef conflicts with LocalAddr",
	  "LocalAddr (line 1) and LocalAddrRef say the same thing; keep one" },
	{ "inline and Ref of one statement conflict",
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParmsRef k }\n"
	  "TTLSKeyringParms k { Keyring /dev/null }\n",
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParmsRef k\n"
	  " TTLSKeyringParms { Keyring /dev/null } }\n"
	  "TTLSKeyringParms k { Keyring /dev/null }\n",
	  2, "TTLSKeyringParms", "TTLSKeyringParms conflicts with TTLSKeyringParmsRef", NULL },
	{ "repeatable alternatives mix",
	  "IpDynVpnAction v { IpDataOffer { } IpDataOfferRef o IpDataOffer { } }\nIpDataOffer o { }\n",
	  "IpDynVpnAction v { IpDataOfferRef o VpnLife 1 VpnLife 2 }\nIpDataOffer o { }\n",
	  1, "VpnLife 2", "VpnLife is given more than once", NULL },

	/* ---- values attls refuses ---------------------------------------------- */
	{ "SSLv2 refused",
	  "TTLSEnvironmentAdvancedParms a { SSLv2 Off }\n",
	  "TTLSEnvironmentAdvancedParms a { SSLv2 On }\n",
	  1, "On", "SSLv2 On is not supported: attls does not implement SSLv2", "use TLSv1.2 or TLSv1.3" },
	{ "SSLv3 refused, also per connection",
	  "TTLSConnectionAdvancedParms a { SSLv3 Off }\n",
	  "TTLSConnectionAdvancedParms a { SSLv3 On }\n",
	  1, "On", "SSLv3 On is not supported", NULL },
	{ "SAFCheck refused",
	  "TTLSEnvironmentAdvancedParms a { ClientAuthType Full }\n",
	  "TTLSEnvironmentAdvancedParms a { ClientAuthType SAFCheck }\n",
	  1, "SAFCheck", "ClientAuthType SAFCheck is not supported: attls has no SAF user mapping",
	  "use Required" },
	{ "SAFCheck refused under a Server role too",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSEnvironmentAdvancedParms { ClientAuthType PassThru } }\n",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSEnvironmentAdvancedParms { ClientAuthType SAFCheck } }\n",
	  3, "SAFCheck", "ClientAuthType SAFCheck is not supported", NULL },

	/* ---- AT-TLS rules as compiled ------------------------------------------- */
	{ "rule needs a condition",
	  RULE("r", "Userid www") BASE,
	  RULE("r", "") BASE,
	  1, "TTLSRule", "TTLSRule r has no condition: it needs an address, port, Jobname or Userid",
	  "add e.g. LocalPortRange 443" },
	{ "TTLSEnabled On needs an environment action",
	  "TTLSRule r { Jobname x Direction Inbound TTLSGroupActionRef off }\n" GRP_OFF,
	  "TTLSRule r { Jobname x Direction Inbound TTLSGroupActionRef g }\n" GRP_ON,
	  1, "TTLSRule", "TTLSRule r: its group g has TTLSEnabled On, so it needs an environment action",
	  "add: TTLSEnvironmentActionRef NAME" },
	{ "some TLS version",
	  RULE("r", "Jobname x") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSEnvironmentAdvancedParms { TLSv1.2 Off } }\n",
	  RULE("r", "Jobname x") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSEnvironmentAdvancedParms { TLSv1.2 Off TLSv1.3 Off } }\n",
	  1, "TTLSRule", "TTLSRule r enables no TLS version", "turn TLSv1.2 or TLSv1.3 On" },
	{ "no TLS version through a connection action",
	  RULE("r", "Jobname x") BASE,
	  "TTLSRule r { Jobname x Direction Inbound TTLSGroupActionRef g TTLSEnvironmentActionRef e "
	  "TTLSConnectionActionRef c }\n" BASE
	  "TTLSConnectionAction c { TTLSConnectionAdvancedParms { TLSv1.2 Off TLSv1.3 Off } }\n",
	  1, "TTLSRule", "TTLSRule r enables no TLS version", NULL },

	/* ---- IP security: PFS ---------------------------------------------------- */
	{ "InitiateWithPfs among AcceptablePfs",
	  "IpDynVpnAction v { InitiateWithPfs Group14 AcceptablePfs Group19 AcceptablePfs Group14 "
	  "IpDataOffer { } }\n",
	  "IpDynVpnAction v { InitiateWithPfs Group14 AcceptablePfs Group19 IpDataOffer { } }\n",
	  1, "Group14", "InitiateWithPfs Group14 must also be one of the AcceptablePfs values",
	  "add: AcceptablePfs Group14" },
	{ "InitiateWithPfs alone is not accepted",
	  "IpDynVpnAction v { InitiateWithPfs None IpDataOffer { } }\n",
	  "IpDynVpnAction v { InitiateWithPfs Group5 IpDataOffer { } }\n",
	  1, "Group5", "InitiateWithPfs Group5 must also be one of the AcceptablePfs values", NULL },
	{ "Pfs with InitiateWithPfs",
	  "IpDynVpnAction v { Pfs Group14 IpDataOffer { } }\n",
	  "IpDynVpnAction v { Pfs Group14 InitiateWithPfs Group14 AcceptablePfs Group14 "
	  "IpDataOffer { } }\n",
	  1, "Pfs", "Pfs cannot be used together with InitiateWithPfs (line 1)",
	  "use InitiateWithPfs and AcceptablePfs, and remove Pfs" },
	{ "Pfs with AcceptablePfs",
	  "IpDynVpnAction v { AcceptablePfs Group2 AcceptablePfs None IpDataOffer { } }\n",
	  "IpDynVpnAction v {\n AcceptablePfs Group2\n Pfs Group2\n IpDataOffer { } }\n",
	  3, "Pfs", "Pfs cannot be used together with AcceptablePfs (line 2)", NULL },
	{ "Group1 in FIPS mode (AcceptablePfs)",
	  "IpDynVpnAction v { AcceptablePfs Group1 IpDataOffer { } }\nIpFilterPolicy { FIPS140 No }\n",
	  "IpDynVpnAction v { AcceptablePfs Group1 IpDataOffer { } }\nIpFilterPolicy { FIPS140 Yes }\n",
	  1, "Group1", "AcceptablePfs Group1 is not allowed in FIPS 140 mode",
	  "use Group14 or stronger, or set FIPS140 No in IpFilterPolicy" },
	{ "Group1 in FIPS mode (Pfs)",
	  "IpDynVpnAction v { Pfs Group2 IpDataOffer { } }\nIpFilterPolicy { FIPS140 Yes }\n",
	  "IpDynVpnAction v { Pfs Group1 IpDataOffer { } }\nIpFilterPolicy { FIPS140 Yes }\n",
	  1, "Group1", "Pfs Group1 is not allowed in FIPS 140 mode", NULL },
	{ "Group1 in FIPS mode (InitiateWithPfs)",
	  "IpDynVpnAction v { InitiateWithPfs Group1 AcceptablePfs Group1 IpDataOffer { } }\n",
	  "IpDynVpnAction v { InitiateWithPfs Group1 AcceptablePfs Group14 AcceptablePfs Group1 "
	  "IpDataOffer { } }\nIpFilterPolicy { FIPS140 Yes }\n",
	  1, "Group1", "InitiateWithPfs Group1 is not allowed in FIPS 140 mode", NULL },
	{ "Group1 in FIPS mode (phase 1)",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey DHGroup Group1 }\n",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey DHGroup Group1 }\n"
	  "IpFilterPolicy { FIPS140 Yes }\n",
	  1, "Group1", "DHGroup Group1 is not allowed in FIPS 140 mode", NULL },

	/* ---- IP security: algorithms ------------------------------------------------ */
	{ "phase 2 encryption",
	  "IpDataOffer o { HowToEncrypt AES_CBC KeyLength 256 }\n",
	  "IpDataOffer o { HowToEncrypt 3DES }\n",
	  1, "3DES", "HowToEncrypt 3DES is not supported by attls", "use AES_CBC" },
	{ "phase 2 DoNot encrypt",
	  "IpDataOffer o { HowToEncrypt AES_GCM_16 }\n",
	  "IpDataOffer o { HowToEncrypt DoNot }\n",
	  1, "DoNot", "HowToEncrypt DoNot is not supported by attls", NULL },
	{ "AH refused",
	  "IpDataOffer o { HowToAuth ESP HMAC_SHA2_256_128 }\n",
	  "IpDataOffer o { HowToAuth AH HMAC_SHA1 }\n",
	  1, "AH", "AH is not supported by attls", "use ESP" },
	{ "GCM authenticates itself",
	  "IpDataOffer o { HowToEncrypt AES_GCM_16 HowToAuth ESP Null }\n",
	  "IpDataOffer o { HowToEncrypt AES_GCM_16 HowToAuth ESP HMAC_SHA1 }\n",
	  1, "ESP", "AES_GCM_16 authenticates by itself; HowToAuth must be ESP Null", NULL },
	{ "CBC needs integrity",
	  "IpDataOffer o { HowToEncrypt AES_CBC HowToAuth ESP HMAC_SHA1 }\n",
	  "IpDataOffer o { HowToEncrypt AES_CBC HowToAuth ESP Null }\n",
	  1, "ESP", "ESP with AES_CBC needs an integrity algorithm", "use HMAC_SHA1" },
	{ "phase 2 integrity algorithm",
	  "IpDataOffer o { HowToAuth ESP HMAC_SHA2_384_192 }\n",
	  "IpDataOffer o { HowToAuth ESP HMAC_MD5 }\n",
	  1, "ESP", "HowToAuth ESP HMAC_MD5 is not supported by attls", NULL },
	{ "phase 1 encryption",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey HowToEncrypt AES }\n",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey HowToEncrypt AES_GCM_16 }\n",
	  1, "AES_GCM_16", "HowToEncrypt AES_GCM_16 is not supported for phase 1", NULL },
	{ "phase 1 hash",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey HowToAuthMsgs SHA2_512 }\n",
	  "KeyExchangeOffer o { HowToAuthPeers PresharedKey HowToAuthMsgs MD5 }\n",
	  1, "MD5", "HowToAuthMsgs MD5 is not supported by attls", NULL },
	{ "phase 1 authentication method",
	  "KeyExchangeOffer o { HowToAuthPeers DigitalSignature }\n",
	  "KeyExchangeOffer o { HowToAuthPeers ECDSA-256 }\n",
	  1, "ECDSA-256", "HowToAuthPeers ECDSA-256 is not supported by attls", NULL },
	{ "KeyExchangeAction HowToAuthMe",
	  "KeyExchangeAction a { HowToAuthMe PresharedKey KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  "KeyExchangeAction a { HowToAuthMe ECDSA-384 KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  1, "ECDSA-384", "HowToAuthMe ECDSA-384 is not supported by attls", NULL },
	{ "KeyExchangeAction IKEv1 only",
	  "KeyExchangeAction a { HowToInitiate Aggressive KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  "KeyExchangeAction a { HowToInitiate IKEv2 KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  1, "IKEv2", "HowToInitiate IKEv2 is not supported: attls's iked speaks IKEv1 only",
	  "use Main or Aggressive" },
	{ "KeyExchangePolicy IKEv1 only",
	  "KeyExchangePolicy { HowToInitiate DoNot }\n",
	  "KeyExchangePolicy { HowToInitiate IKEv2 }\n",
	  1, "IKEv2", "HowToInitiate IKEv2 is not supported", NULL },
	{ "HowToRespond and HowToRespondIKEv1",
	  "KeyExchangeAction a { HowToRespond Main KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  "KeyExchangeAction a { HowToRespond Main HowToRespondIKEv1 Either "
	  "KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  1, "HowToRespondIKEv1", "HowToRespondIKEv1 conflicts with HowToRespond (line 1)",
	  "keep HowToRespondIKEv1 and remove HowToRespond" },

	/* ---- IP security: rules ---------------------------------------------------------- */
	{ "pre-shared key needs SharedKey",
	  KE_OK,
	  "KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n"
	  "KeyExchangeRule kr { LocalSecurityEndpoint { Identity IpAddr 10.0.0.1 Location 10.0.0.1 } "
	  "RemoteSecurityEndpoint { Identity IpAddr 10.0.0.2 } KeyExchangeActionRef ka }\n",
	  2, "KeyExchangeRule", "KeyExchangeRule kr uses PresharedKey (action ka) but has no SharedKey",
	  "add: SharedKey Ascii SECRET" },
	{ "RSA signatures need a key ring",
	  "KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers RsaSignature } }\n"
	  "KeyExchangeRule kr { LocalSecurityEndpoint { Identity Fqdn me.example Location 10.0.0.1 } "
	  "RemoteSecurityEndpoint { Identity Fqdn peer.example } KeyExchangeActionRef ka }\n"
	  "IkeConfig { Keyring /dev/null }\n",
	  "KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers RsaSignature } }\n"
	  "KeyExchangeRule kr { LocalSecurityEndpoint { Identity Fqdn me.example Location 10.0.0.1 } "
	  "RemoteSecurityEndpoint { Identity Fqdn peer.example } KeyExchangeActionRef ka }\n",
	  2, "KeyExchangeRule", "KeyExchangeRule kr uses RsaSignature, which needs a Keyring in IkeConfig",
	  "add to IkeConfig: Keyring" },
	{ "local identity is one address",
	  "LocalSecurityEndpoint l { Identity IpAddr 10.0.0.1 Location 10.0.0.1 }\n"
	  "KeyExchangeRule kr { LocalSecurityEndpointRef l RemoteSecurityEndpoint { Identity IpAddr "
	  "10.0.0.0/24 } KeyExchangeActionRef ka SharedKey Hex 00 }\n"
	  "KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  "LocalSecurityEndpoint l { Identity IpAddr 10.0.0.0/24 Location 10.0.0.1 }\n"
	  "KeyExchangeRule kr { LocalSecurityEndpointRef l RemoteSecurityEndpoint { Identity IpAddr "
	  "10.0.0.0/24 } KeyExchangeActionRef ka SharedKey Hex 00 }\n"
	  "KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n",
	  1, "IpAddr 10.0.0.0/24", "local Identity IpAddr must be a single address", NULL },
	{ "IpSec action needs a dynamic VPN action",
	  "IpFilterRule f { IpGenericFilterActionRef ipsec IpDynVpnActionRef v }\n" GENERIC_IPSEC DYNVPN_OK,
	  "IpFilterRule f { IpGenericFilterActionRef ipsec }\n" GENERIC_IPSEC,
	  1, "IpFilterRule", "IpFilterRule f has action IpSec (ipsec) but no IpDynVpnActionRef",
	  "add: IpDynVpnActionRef NAME" },
	{ "dynamic VPN action needs IpSec",
	  "IpFilterRule f { IpGenericFilterActionRef permit }\n" GENERIC_PERMIT DYNVPN_OK,
	  "IpFilterRule f { IpGenericFilterActionRef permit IpDynVpnActionRef v }\n" GENERIC_PERMIT DYNVPN_OK,
	  1, "IpDynVpnActionRef", "IpDynVpnActionRef needs an IpSec action, but permit says Permit",
	  "set IpFilterAction IpSec" },
	{ "filter rule address families",
	  "IpFilterRule f { IpSourceAddr 2001:db8::1 IpDestAddr 2001:db8::/64 "
	  "IpGenericFilterActionRef permit }\n" GENERIC_PERMIT,
	  "IpFilterRule f { IpSourceAddr 10.0.0.1 IpDestAddr 2001:db8::/64 "
	  "IpGenericFilterActionRef permit }\n" GENERIC_PERMIT,
	  1, "2001:db8::/64", "IpDestAddr is IPv6 but IpSourceAddr is IPv4; the rule can match nothing",
	  NULL },
	{ "ports need TCP or UDP",
	  "IpService s { Protocol UDP SourcePortRange 500 DestinationPortRange 0 }\n",
	  "IpService s { SourcePortRange 500 }\n",
	  1, "SourcePortRange", "SourcePortRange needs Protocol TCP or UDP", "add: Protocol TCP" },
	{ "IpAddrGroup not empty",
	  "IpAddrGroup grp { IpAddr { Addr 10.0.0.1 } IpAddrSetRef s }\nIpAddrSet s { Prefix 10.1.0.0/16 }\n",
	  "IpAddrGroup grp { }\n",
	  1, "IpAddrGroup", "IpAddrGroup grp is empty: it needs at least one IpAddr or IpAddrSet", NULL },
	{ "IpAddrSet not empty",
	  "IpAddrSet s { Range 10.0.0.1-10.0.0.2 }\n",
	  "IpAddrSet s { }\n",
	  1, "IpAddrSet", "IpAddrSet s is empty: it needs at least one Prefix or Range", NULL },
	{ "PortGroup not empty",
	  "PortGroup pg { PortRange { Port 80 } PortRangeRef p }\nPortRange p { Port 8080-8089 }\n",
	  "PortGroup pg { }\n",
	  1, "PortGroup", "PortGroup pg is empty: it needs at least one PortRange", NULL },
};

#define NCASES (sizeof cases / sizeof cases[0])

START_TEST(validation_rule)
{
	const struct vcase *c = &cases[_i];
	fprintf(stderr, "%s", "");   /* keep stderr quiet unless a check fails */
	struct diags d;
	diags_init(&d);
	struct policy *p = load_text(c->good, &d);
	if (!p || d.nerrors) {
		fprintf(stderr, "--- case '%s': the passing policy fails:\n%s--- got:\n", c->name,
			c->good);
		dump_diags(&d);
	}
	ck_assert_ptr_nonnull(p);
	policy_unref(p);
	diags_free(&d);
	/* must_fail_at prints the policy and what came out when it fails */
	must_fail_at(c->bad, c->line, c->tok, c->msg, c->hint);
}
END_TEST

/* Warnings: the policy loads either way; one of each pair carries it. */
struct wcase {
	const char *name;
	const char *quiet;         /* no such warning */
	const char *noisy;         /* the warning at line/tok */
	unsigned line;
	const char *tok;
	const char *msg;
};

static const struct wcase warnings[] = {
	{ "not acted on yet",
	  "TTLSGroupAction g { TTLSEnabled Off }\n",
	  "TTLSGroupAction g { TTLSEnabled Off CtraceClearText On }\n",
	  1, "CtraceClearText", "CtraceClearText is accepted but attls does not act on it yet" },
	{ "SWSA is not implemented",
	  "IkeConfig { KernelBackend log }\n",
	  "IkeConfig { KernelBackend log SwsaStore dir:/var/lib/attls/swsa }\n",
	  1, "SwsaStore", "SwsaStore is accepted but attls does not act on it yet" },
	{ "unused statement",
	  RULE("r", "LocalPortRange 1") BASE,
	  RULE("r", "LocalPortRange 1") BASE GRP_OFF,
	  4, "TTLSGroupAction", "TTLSGroupAction off is never used: nothing refers to it" },
	{ "filter rule outside the policy",
	  "IpFilterPolicy { IpFilterRuleRef f }\nIpFilterRule f { IpGenericFilterActionRef permit }\n"
	  GENERIC_PERMIT,
	  "IpFilterRule f { IpGenericFilterActionRef permit }\n" GENERIC_PERMIT,
	  1, "IpFilterRule", "IpFilterRule f is never used: it is not listed in IpFilterPolicy" },
	{ "key exchange rule outside the policy",
	  KE_OK,
	  "KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n"
	  "KeyExchangeRule kr { LocalSecurityEndpoint { Identity IpAddr 10.0.0.1 Location 10.0.0.1 } "
	  "RemoteSecurityEndpoint { Identity IpAddr 10.0.0.2 } KeyExchangeActionRef ka SharedKey Ascii s }\n",
	  2, "KeyExchangeRule", "KeyExchangeRule kr is never used: it is not listed in KeyExchangePolicy" },
	{ "AcceptablePfs twice",
	  "IpDynVpnAction v { AcceptablePfs Group14 AcceptablePfs Group19 IpDataOffer { } }\n",
	  "IpDynVpnAction v { AcceptablePfs Group14 AcceptablePfs Group14 IpDataOffer { } }\n",
	  1, "AcceptablePfs Group14 IpDataOffer", "AcceptablePfs Group14 is listed twice" },
	{ "legacy cipher suite",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSCipherParms { V3CipherSuites 35 } }\n",
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } "
	  "TTLSCipherParms { V3CipherSuites 0A35 } }\n",
	  3, "0A35", "V3CipherSuites: TLS_RSA_WITH_3DES_EDE_CBC_SHA is a legacy suite attls never "
	  "enables; it is ignored" },
	{ "key ring that does not exist",
	  RULE("r", "LocalPortRange 1") BASE,
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /nonexistent/k.pem } }\n",
	  3, "/nonexistent/k.pem", "Keyring /nonexistent/k.pem does not exist" },
	{ "stash file that does not exist",
	  RULE("r", "LocalPortRange 1") BASE,
	  RULE("r", "LocalPortRange 1") GRP_ON
	  "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null "
	  "KeyringStashFile /nonexistent/k.sth } }\n",
	  3, "/nonexistent/k.sth", "KeyringStashFile /nonexistent/k.sth does not exist" },
	{ "SwsaStore without SwsaDvipa",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore dir:/tmp }\n",
	  1, "SwsaStore", "SwsaStore is set but no SwsaDvipa: no tunnel is sysplex-wide" },
	{ "password file of a dir: store",
	  "IkeConfig { SwsaStore redis://10.0.0.5 SwsaStorePasswordFile /dev/null SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore dir:/tmp SwsaStorePasswordFile /dev/null SwsaDvipa 10.0.0.9 }\n",
	  1, "SwsaStorePasswordFile", "SwsaStorePasswordFile is ignored: only a redis:// store has a "
	  "password" },
	{ "password file that does not exist",
	  "IkeConfig { SwsaStore redis://10.0.0.5 SwsaStorePasswordFile /dev/null SwsaDvipa 10.0.0.9 }\n",
	  "IkeConfig { SwsaStore redis://10.0.0.5 SwsaStorePasswordFile /nonexistent/pw "
	  "SwsaDvipa 10.0.0.9 }\n",
	  1, "/nonexistent/pw", "SwsaStorePasswordFile /nonexistent/pw does not exist" },
	{ "SwsaDvipa twice",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.9 SwsaDvipa 10.0.0.10 }\n",
	  "IkeConfig { SwsaStore dir:/tmp SwsaDvipa 10.0.0.9 SwsaDvipa 10.0.0.9 }\n",
	  1, "10.0.0.9 }", "SwsaDvipa 10.0.0.9 is listed twice" },
	{ "singleton given twice",
	  "KeyExchangePolicy { AllowNat Yes }\n",
	  "KeyExchangePolicy { AllowNat Yes }\nKeyExchangePolicy { AllowNat No }\n",
	  2, "KeyExchangePolicy", "KeyExchangePolicy appears more than once; the last one is used" },
};

#define NWARNINGS (sizeof warnings / sizeof warnings[0])

START_TEST(warning_rule)
{
	const struct wcase *c = &warnings[_i];
	struct diags d;
	diags_init(&d);
	struct policy *p = must_load(c->quiet, &d);
	if (has_warning(&d, c->msg)) {
		fprintf(stderr, "--- case '%s': unexpected warning:\n", c->name);
		dump_diags(&d);
	}
	ck_assert(!has_warning(&d, c->msg));
	policy_unref(p);
	diags_free(&d);
	must_warn_at(c->noisy, c->line, c->tok, c->msg);
}
END_TEST

/* The same with one parameter per line: the repeat's own line. */
START_TEST(acceptable_pfs_twice_position)
{
	static const char text[] =
		"IpDynVpnAction v {\n AcceptablePfs Group14\n AcceptablePfs Group14\n IpDataOffer { }\n}\n";
	must_warn_at(text, 3, "AcceptablePfs", "AcceptablePfs Group14 is listed twice");
}
END_TEST

/* An IpAddr used by several rules is reported once, at its own line. */
START_TEST(shared_bad_address_reported_once)
{
	static const char text[] =
		RULE("r1", "LocalAddrRef a") RULE("r2", "LocalAddrRef a") BASE
		"IpAddr a { Addr ::ffff:10.0.0.1 }\n";
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text(text, &d));
	ck_assert_uint_eq(d.nerrors, 1);
	ck_assert(has_error_at(&d, 5, col_of(text, 5, "::ffff:10.0.0.1"), "IPv4-mapped"));
	diags_free(&d);
}
END_TEST

/* The same at scale: hundreds of bad IpAddr statements, each used by three
 * rules, give one error each (the set of reported positions grows). */
START_TEST(many_shared_bad_addresses_reported_once_each)
{
	enum { NADDR = 700 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	for (int i = 0; i < NADDR; i++) {
		for (int k = 0; k < 3; k++)
			fprintf(f, "TTLSRule r%d_%d { LocalAddrRef a%d Direction Both "
				"TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n", i, k, i);
		fprintf(f, "IpAddr a%d { Addr ::ffff:10.0.%d.%d }\n", i, i / 256, i % 256);
	}
	fprintf(f, "%s", BASE);
	fclose(f);
	struct diags d;
	diags_init(&d);
	ck_assert_ptr_null(load_text(text, &d));
	ck_assert_uint_eq(d.nerrors, NADDR);
	/* sorted by position: one error per IpAddr line, at its address */
	int i = 0;
	for (size_t k = 0; k < d.n; k++) {
		if (d.v[k].sev != DIAG_ERROR)
			continue;
		char head[32];
		int col = snprintf(head, sizeof head, "IpAddr a%d { Addr ", i) + 1;
		ck_assert_uint_eq(d.v[k].line, (unsigned)(4 * i + 4));
		ck_assert_uint_eq(d.v[k].col, (unsigned)col);
		ck_assert_ptr_nonnull(strstr(d.v[k].msg, "IPv4-mapped"));
		i++;
	}
	ck_assert_int_eq(i, NADDR);
	diags_free(&d);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_validate");
	TCase *tc = tcase_create("errors");
	tcase_add_loop_test(tc, validation_rule, 0, (int)NCASES);
	suite_add_tcase(s, tc);
	TCase *tw = tcase_create("warnings");
	tcase_add_loop_test(tw, warning_rule, 0, (int)NWARNINGS);
	tcase_add_test(tw, acceptable_pfs_twice_position);
	tcase_add_test(tw, shared_bad_address_reported_once);
	tcase_add_test(tw, many_shared_bad_addresses_reported_once_each);
	suite_add_tcase(s, tw);
	return run_suite(s);
}
