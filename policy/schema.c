#include "policy/schema.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* ---- enumerations ------------------------------------------------------ */

const char *const enum_direction[] = { "Inbound", "Outbound", "Both", NULL };
const char *const enum_role[] = { "Client", "Server", "ServerWithClientAuth", NULL };
const char *const enum_client_auth[] = { "PassThru", "Full", "Required", "SAFCheck", NULL };
const char *const enum_fips140[] = { "Off", "On", "Level1", "Level2", "Level3", NULL };
const char *const enum_sni[] = { "Off", "Required", "Optional", NULL };
const char *const enum_filter_action[] = { "Permit", "Deny", "IpSec", NULL };
const char *const enum_encap[] = { "Tunnel", "Transport", NULL };
const char *const enum_initiation[] = { "Either", "LocalOnly", "RemoteOnly", NULL };
const char *const enum_how_to_initiate[] = { "Main", "Aggressive", "IKEv2", "DoNot", NULL };
const char *const enum_how_to_respond[] = { "Either", "Main", "Aggressive", NULL };
const char *const enum_auth_method[] = { "DigitalSignature", "PresharedKey", "RsaSignature",
					 "ECDSA-256", "ECDSA-384", "ECDSA-521", NULL };
const char *const enum_hash[] = { "MD5", "SHA1", "SHA2_256", "SHA2_384", "SHA2_512", NULL };
const char *const enum_backend[] = { "xfrm", "log", "tun", "auto", NULL };
const char *const enum_routing[] = { "Local", "Routed", "Either", NULL };
const char *const enum_authalg[] = { "Null", "HMAC_MD5", "HMAC_SHA1", "HMAC_SHA2_256_128",
				     "HMAC_SHA2_384_192", "HMAC_SHA2_512_256", "AES_GMAC_128",
				     "AES_GMAC_256", "AES128_XCBC_96", NULL };
const char *const enum_encrypt[] = { "DES", "3DES", "AES_CBC", "AES_GCM_16", "DoNot", NULL };
const char *const enum_identity[] = { "IpAddr", "Fqdn", "UserAtFqdn", "X500dn", "KeyID", NULL };

/* VK_DHGROUP: the groups attls implements, by the names policies write. */
static const struct { int group; const char *name; } dh_groups[] = {
	{ 1, "Group1" }, { 2, "Group2" }, { 5, "Group5" }, { 14, "Group14" }, { 15, "Group15" },
	{ 16, "Group16" }, { 19, "Group19" }, { 20, "Group20" }, { 21, "Group21" },
};

const char *dhgroup_name(int group)
{
	if (group == 0)
		return "None";
	for (size_t i = 0; i < sizeof dh_groups / sizeof dh_groups[0]; i++)
		if (dh_groups[i].group == group)
			return dh_groups[i].name;
	return NULL;
}

int dhgroup_parse(const char *word)
{
	if (strcasecmp(word, "None") == 0)
		return 0;
	for (size_t i = 0; i < sizeof dh_groups / sizeof dh_groups[0]; i++)
		if (strcasecmp(dh_groups[i].name, word) == 0)
			return dh_groups[i].group;
	return -1;
}

static const char *const e_suiteb[] = { "Off", "128", "128Min", "192", "192Min", "All", NULL };
static const char *const e_reneg[] = { "Default", "Disabled", "All", "Abbreviated", NULL };
static const char *const e_reneg_ind[] = { "Optional", "Client", "Server", "Both", NULL };
static const char *const e_off_req_opt[] = { "Off", "Required", "Optional", NULL };
static const char *const e_on_off_req[] = { "On", "Off", "Required", NULL };
static const char *const e_req_opt[] = { "Required", "Optional", NULL };
static const char *const e_fraglen[] = { "512", "1024", "2048", "4096", NULL };
static const char *const e_certval[] = { "Any", "RFC2459", "RFC3280", "RFC5280", NULL };
static const char *const e_edh_client[] = { "Legacy", "2048", NULL };
static const char *const e_edh_server[] = { "Legacy", "2048", "Match", NULL };
static const char *const e_certver[] = { "Any", "3", NULL };
static const char *const e_ticket_alg[] = { "AESCBC128", "AESCBC256", NULL };
static const char *const e_revlevel[] = { "Low", "Medium", "High", NULL };
static const char *const e_aiacdp[] = { "Off", "On", NULL };
static const char *const e_predecap[] = { "Permit", "Deny", NULL };
static const char *const e_discard[] = { "Silent", "ICMP", NULL };
static const char *const e_encap_v2[] = { "Either", "Tunnel", "Transport", NULL };
static const char *const e_granularity[] = { "Rule", "Packet", NULL };
static const char *const e_passdf[] = { "Yes", "No", "Clear", "Set", NULL };

/* ---- parameter constructors -------------------------------------------- */

#define ONOFF(n, f, d, dc_) { .name = n, .kind = VK_ONOFF, .flags = f, .dflt = d, .doc = dc_ }
#define YESNO(n, f, d, dc_) { .name = n, .kind = VK_YESNO, .flags = f, .dflt = d, .doc = dc_ }
#define ENUM(n, e, f, d, dc_) { .name = n, .kind = VK_ENUM, .enums = e, .flags = f, .dflt = d, .doc = dc_ }
#define INT(n, lo, hi, f, d, dc_) { .name = n, .kind = VK_INT, .min = lo, .max = hi, .flags = f, .dflt = d, .doc = dc_ }
#define STR(n, lo, hi, f, dc_) { .name = n, .kind = VK_STRING, .min = lo, .max = hi, .flags = f, .doc = dc_ }
#define KIND(n, k, f, d, dc_) { .name = n, .kind = k, .flags = f, .dflt = d, .doc = dc_ }
#define KINDX(n, k, x, f, d, dc_) { .name = n, .kind = k, .excl = x, .flags = f, .dflt = d, .doc = dc_ }
#define REF(n, t, x, f, dc_) { .name = n, .kind = VK_REF, .target = t, .excl = x, .flags = f, .doc = dc_ }
#define INL(n, t, x, f, dc_) { .name = n, .kind = VK_INLINE, .target = t, .excl = x, .flags = f, .doc = dc_ }
#define NOPE(n, k, dc_) { .name = n, .kind = k, .flags = PF_UNSUPPORTED, .doc = dc_ }

#define NA PF_NOT_ACTED
#define RQ PF_REQUIRED
#define RP PF_REPEAT

/* ---- AT-TLS ------------------------------------------------------------ */

static const struct param_schema p_ttlsrule[] = {
	KINDX("LocalAddr", VK_ADDR, "LocalAddr", 0, "All", "local address: a, a/len, a-b or All"),
	REF("LocalAddrRef", "IpAddr", "LocalAddr", 0, "local address from an IpAddr statement"),
	REF("LocalAddrSetRef", "IpAddrSet", "LocalAddr", 0, "local addresses from an IpAddrSet"),
	REF("LocalAddrGroupRef", "IpAddrGroup", "LocalAddr", 0, "local addresses from an IpAddrGroup"),
	KINDX("RemoteAddr", VK_ADDR, "RemoteAddr", 0, "All", "remote address: a, a/len, a-b or All"),
	REF("RemoteAddrRef", "IpAddr", "RemoteAddr", 0, "remote address from an IpAddr statement"),
	REF("RemoteAddrSetRef", "IpAddrSet", "RemoteAddr", 0, "remote addresses from an IpAddrSet"),
	REF("RemoteAddrGroupRef", "IpAddrGroup", "RemoteAddr", 0, "remote addresses from an IpAddrGroup"),
	KINDX("LocalPortRange", VK_PORTS, "LocalPort", 0, "0", "local port or range: n, n m, n-m or n:m; 0 = any"),
	REF("LocalPortRangeRef", "PortRange", "LocalPort", 0, "local ports from a PortRange"),
	REF("LocalPortGroupRef", "PortGroup", "LocalPort", 0, "local ports from a PortGroup"),
	KINDX("RemotePortRange", VK_PORTS, "RemotePort", 0, "0", "remote port or range; 0 = any"),
	REF("RemotePortRangeRef", "PortRange", "RemotePort", 0, "remote ports from a PortRange"),
	REF("RemotePortGroupRef", "PortGroup", "RemotePort", 0, "remote ports from a PortGroup"),
	STR("Jobname", 1, 16, 0, "program name (/proc/PID/comm), * and ? wildcards"),
	STR("Userid", 1, 32, 0, "effective user name, * and ? wildcards"),
	ENUM("Direction", enum_direction, RQ, NULL,
	     "Inbound (accepted connections), Outbound (connect), or Both"),
	INT("Priority", 1, 2000000000, 0, NULL,
	    "higher is evaluated first; rules without a priority come after all that have one"),
	REF("TTLSGroupActionRef", "TTLSGroupAction", NULL, RQ, "the group action"),
	REF("TTLSEnvironmentActionRef", "TTLSEnvironmentAction", NULL, 0,
	    "the environment action (required when the group says TTLSEnabled On)"),
	REF("TTLSConnectionActionRef", "TTLSConnectionAction", NULL, 0,
	    "per-connection overrides of the environment action"),
	NOPE("IpTimeConditionRef", VK_REF, "time conditions are not supported"),
};

static const struct param_schema p_group[] = {
	ONOFF("TTLSEnabled", RQ, NULL, "On: connections of this rule get TLS; Off: left in clear text"),
	ONOFF("CtraceClearText", NA, "Off", "z/OS component trace of clear text"),
	INT("Trace", 0, 255, 0, "2", "trace bits: 1 errors to stderr, 2 errors to syslog, "
	    "4 info, 8 events, 16 flow, 32 data; added together"),
	ENUM("FIPS140", enum_fips140, NA, "Off", "FIPS 140 mode of the TLS library"),
	INT("GroupUserInstance", 0, 2147483647, NA, "0", "forces a new group instance when changed"),
	NOPE("TTLSGroupAdvancedParms", VK_INLINE, "TTLSGroupAdvancedParms is not supported"),
	NOPE("TTLSGroupAdvancedParmsRef", VK_REF, "TTLSGroupAdvancedParms is not supported"),
};

static const struct param_schema p_env[] = {
	INL("TTLSKeyringParms", "TTLSKeyringParms", "Keyring", RQ, "the key ring (inline)"),
	REF("TTLSKeyringParmsRef", "TTLSKeyringParms", "Keyring", RQ, "the key ring"),
	ENUM("HandshakeRole", enum_role, RQ, NULL, "Client, Server or ServerWithClientAuth"),
	ENUM("SuiteBProfile", e_suiteb, NA, "Off", "NSA Suite B profile"),
	INL("TTLSCipherParms", "TTLSCipherParms", "Cipher", 0, "cipher suites (inline)"),
	REF("TTLSCipherParmsRef", "TTLSCipherParms", "Cipher", 0, "cipher suites"),
	ONOFF("CtraceClearText", NA, "Off", "z/OS component trace of clear text"),
	INT("Trace", 0, 255, 0, NULL, "trace bits for connections of this environment"),
	INL("TTLSEnvironmentAdvancedParms", "TTLSEnvironmentAdvancedParms", "EnvAdv", 0,
	    "advanced parameters (inline)"),
	REF("TTLSEnvironmentAdvancedParmsRef", "TTLSEnvironmentAdvancedParms", "EnvAdv", 0,
	    "advanced parameters"),
	INL("TTLSGskAdvancedParms", "TTLSGskAdvancedParms", "Gsk", 0, "System SSL settings (inline)"),
	REF("TTLSGskAdvancedParmsRef", "TTLSGskAdvancedParms", "Gsk", 0, "System SSL settings"),
	INT("EnvironmentUserInstance", 0, 2147483647, NA, "0",
	    "forces a new environment when changed"),
	NOPE("TTLSSignatureParms", VK_INLINE, "TTLSSignatureParms is not supported"),
	NOPE("TTLSSignatureParmsRef", VK_REF, "TTLSSignatureParms is not supported"),
};

static const struct param_schema p_conn[] = {
	ENUM("HandshakeRole", enum_role, 0, NULL, "overrides the environment's role"),
	INL("TTLSCipherParms", "TTLSCipherParms", "Cipher", 0, "cipher suites (inline)"),
	REF("TTLSCipherParmsRef", "TTLSCipherParms", "Cipher", 0, "cipher suites"),
	ONOFF("CtraceClearText", NA, NULL, "z/OS component trace of clear text"),
	INT("Trace", 0, 255, 0, NULL, "trace bits for these connections"),
	INL("TTLSConnectionAdvancedParms", "TTLSConnectionAdvancedParms", "ConnAdv", 0,
	    "advanced per-connection parameters (inline)"),
	REF("TTLSConnectionAdvancedParmsRef", "TTLSConnectionAdvancedParms", "ConnAdv", 0,
	    "advanced per-connection parameters"),
	INT("ConnectionUserInstance", 0, 2147483647, NA, "0", "z/OS instance counter"),
	NOPE("TTLSSignatureParms", VK_INLINE, "TTLSSignatureParms is not supported"),
	NOPE("TTLSSignatureParmsRef", VK_REF, "TTLSSignatureParms is not supported"),
};

static const struct param_schema p_keyring[] = {
	STR("Keyring", 1, 1023, RQ, "PEM bundle or PKCS#12 file (key, chain, trusted CAs)"),
	STR("KeyringPw", 1, 128, 0, "password of a PKCS#12 keyring"),
	STR("KeyringStashFile", 1, 1023, 0, "file whose first line is the PKCS#12 password"),
};

static const struct param_schema p_cipher[] = {
	{ .name = "V2CipherSuites", .kind = VK_STRING, .min = 1, .max = 64, .flags = RP | NA,
	  .doc = "SSLv2 ciphers (SSLv2 is never enabled)" },
	{ .name = "V3CipherSuites", .kind = VK_CIPHER2, .flags = RP, .doc =
	  "suites in preference order: 2-char codes (concatenable) or names; repeats add" },
	{ .name = "V3CipherSuites4Char", .kind = VK_CIPHER4, .flags = RP, .doc =
	  "suites in preference order: 4-char codes (concatenable) or names; repeats add" },
};

/* Parameters shared by the environment and connection advanced parms. The
 * environment's have defaults; the connection's inherit when unset. */
#define ADV_COMMON(D)                                                              \
	ONOFF("SSLv2", 0, D("Off"), "SSL 2.0 (attls refuses On)"),                        \
	ONOFF("SSLv3", 0, D("Off"), "SSL 3.0 (attls refuses On)"),                        \
	ONOFF("TLSv1", 0, D("Off"), "TLS 1.0"),                                           \
	ONOFF("TLSv1.1", 0, D("Off"), "TLS 1.1"),                                         \
	ONOFF("TLSv1.2", 0, D("On"), "TLS 1.2"),                                          \
	ONOFF("TLSv1.3", 0, D("On"), "TLS 1.3"),                                          \
	ONOFF("MiddleBoxCompatMode", 0, D("Off"), "TLS 1.3 middlebox compatibility mode"), \
	ONOFF("ApplicationControlled", 0, D("Off"),                                       \
	      "On: the program starts and stops TLS with the SIOCTTLSCTL ioctl"),         \
	INT("HandshakeTimeout", 0, 600, 0, D("10"),                                       \
	    "seconds to wait for the peer's hello (5x on the connecting side); 0 = none"), \
	INT("ResetCipherTimer", 0, 1440, NA, D("0"), "minutes between automatic key refreshes"), \
	STR("CertificateLabel", 1, 64, 0,                                                 \
	    "the key to use: PKCS#12 friendly name or certificate subject CN"),          \
	ONOFF("SecondaryMap", 0, D("Off"),                                                \
	      "later connections of the process between the same addresses inherit this policy"), \
	ENUM("TruncatedHMAC", e_off_req_opt, NA, D("Off"), "RFC 6066 truncated HMAC"),    \
	ENUM("ClientMaxSSLFragment", e_off_req_opt, NA, D("Off"), "RFC 6066 max fragment (client)"), \
	ENUM("ClientMaxSSLFragmentLength", e_fraglen, NA, NULL, "fragment length requested"), \
	ENUM("ServerMaxSSLFragment", e_off_req_opt, NA, D("Off"), "RFC 6066 max fragment (server)"), \
	ENUM("ClientHandshakeSNI", e_off_req_opt, 0, D("Optional"),                       \
	     "send the server name: Optional when known, Required (refuse when unknown), Off"), \
	{ .name = "ClientHandshakeSNIList", .kind = VK_STRING, .min = 1, .max = 255,      \
	  .flags = NA | RP, .doc = "server names a client may send" },                    \
	ENUM("ServerHandshakeSNI", e_off_req_opt, NA, D("Off"), "server-side SNI handling"), \
	ENUM("ServerHandshakeSNIMatch", e_req_opt, NA, D("Optional"), "server SNI matching"), \
	{ .name = "ServerHandshakeSNIList", .kind = VK_STRING, .min = 1, .max = 255,      \
	  .flags = NA | RP, .doc = "server names and their certificate labels" },         \
	STR("HostReferenceIdDNS", 1, 255, 0,                                              \
	    "the DNS name the server's certificate must carry (client role)"),           \
	STR("HostReferenceIdCN", 1, 255, NA, "the common name the server's certificate must carry")

#define WITH_DEFAULT(x) x
#define NO_DEFAULT(x) NULL

static const struct param_schema p_envadv[] = {
	ADV_COMMON(WITH_DEFAULT),
	ENUM("ClientAuthType", enum_client_auth, 0, "Required",
	     "server with client auth: PassThru, Full, Required (SAFCheck refused)"),
	ENUM("Renegotiation", e_reneg, NA, "Default", "TLS 1.2 renegotiation policy"),
	ENUM("RenegotiationIndicator", e_reneg_ind, NA, "Optional", "RFC 5746 indicator"),
	ONOFF("RenegotiationCertCheck", NA, "Off", "certificate check on renegotiation"),
	{ .name = "ServerCertificateLabel", .kind = VK_STRING, .min = 1, .max = 64,
	  .flags = NA | RP, .doc = "additional server certificates" },
	ENUM("CertValidationMode", e_certval, NA, "Any", "certificate validation rule set"),
	ONOFF("3DesKeyCheck", NA, "Off", "3DES key part check"),
	ENUM("ClientEDHGroupSize", e_edh_client, NA, "Legacy", "finite-field DH group size (client)"),
	ENUM("ServerEDHGroupSize", e_edh_server, NA, "Legacy", "finite-field DH group size (server)"),
	ENUM("PeerMinCertVersion", e_certver, NA, "Any", "minimum X.509 version of the peer"),
	INT("PeerMinDHKeySize", 0, 8192, NA, "1024", "minimum peer DH key size"),
	INT("PeerMinDsaKeySize", 0, 8192, NA, "1024", "minimum peer DSA key size"),
	INT("PeerMinECCKeySize", 0, 1024, NA, "192", "minimum peer ECC key size"),
	INT("PeerMinRsaKeySize", 0, 16384, NA, "1024", "minimum peer RSA key size"),
	ONOFF("ServerScsv", NA, "Off", "TLS_FALLBACK_SCSV handling"),
	ENUM("ClientExtendedMasterSecret", e_on_off_req, NA, "On", "RFC 7627 (client)"),
	ENUM("ServerExtendedMasterSecret", e_on_off_req, NA, "On", "RFC 7627 (server)"),
	ONOFF("HostRefWildcardValidation", NA, "On", "wildcards in host reference checks"),
};

static const struct param_schema p_connadv[] = {
	ADV_COMMON(NO_DEFAULT),
};

static const struct param_schema p_gsk[] = {
	ONOFF("GSK_SYSPLEX_SIDCACHE", NA, "Off", "sysplex session cache"),
	INT("GSK_V2_SESSION_TIMEOUT", 0, 100, NA, "100", "SSLv2 session timeout (s)"),
	INT("GSK_V2_SIDCACHE_SIZE", 0, 32000, NA, "256", "SSLv2 session cache size"),
	INT("GSK_V3_SESSION_TIMEOUT", 0, 86400, 0, "86400",
	    "seconds a TLS 1.2 session or TLS 1.3 ticket may be resumed"),
	INT("GSK_V3_SIDCACHE_SIZE", 0, 64000, 0, "512", "server session cache entries"),
	ONOFF("GSK_SESSION_TICKET_CLIENT_ENABLE", 0, "On", "client accepts session tickets"),
	INT("GSK_SESSION_TICKET_CLIENT_MAXSIZE", 0, 65535, NA, "8192", "largest ticket kept"),
	ONOFF("GSK_SESSION_TICKET_SERVER_ENABLE", 0, "On", "server issues session tickets"),
	ENUM("GSK_SESSION_TICKET_SERVER_ALGORITHM", e_ticket_alg, NA, "AESCBC128", "ticket cipher"),
	INT("GSK_SESSION_TICKET_SERVER_COUNT", 1, 1000, NA, "2", "tickets per handshake"),
	INT("GSK_SESSION_TICKET_SERVER_KEY_REFRESH", 0, 86400, NA, "300", "ticket key lifetime (s)"),
	INT("GSK_SESSION_TICKET_SERVER_TIMEOUT", 0, 86400, NA, "300", "ticket lifetime (s)"),
	ENUM("AIACDPPriority", e_aiacdp, NA, "Off", "AIA before CDP for revocation"),
	INT("MaxSrcRevExtLocValues", 0, 256, NA, "0", "revocation source limit"),
	INT("MaxValidRevExtLocValues", 0, 256, NA, "0", "revocation validation limit"),
	ENUM("RevocationSecurityLevel", e_revlevel, NA, "Medium", "revocation checking strictness"),
};

static const struct param_schema p_ipaddr[] = {
	KIND("Addr", VK_ADDR, RQ, NULL, "an address, a/len or a-b"),
};

static const struct param_schema p_ipaddrset[] = {
	KIND("Prefix", VK_PREFIX, RP, NULL, "a/len"),
	KIND("Range", VK_IPRANGE, RP, NULL, "a-b or a b"),
};

static const struct param_schema p_ipaddrgroup[] = {
	INL("IpAddr", "IpAddr", NULL, RP, "an address (inline)"),
	REF("IpAddrRef", "IpAddr", NULL, RP, "an address"),
	INL("IpAddrSet", "IpAddrSet", NULL, RP, "prefixes and ranges (inline)"),
	REF("IpAddrSetRef", "IpAddrSet", NULL, RP, "prefixes and ranges"),
};

static const struct param_schema p_portrange[] = {
	KIND("Port", VK_PORTS, RQ, NULL, "n, n m or n-m"),
};

static const struct param_schema p_portgroup[] = {
	INL("PortRange", "PortRange", NULL, RP, "a port range (inline)"),
	REF("PortRangeRef", "PortRange", NULL, RP, "a port range"),
};

/* ---- IP security --------------------------------------------------------- */

static const struct param_schema p_filterpolicy[] = {
	INL("IpFilterRule", "IpFilterRule", NULL, RP, "a filter rule (inline); order matters"),
	REF("IpFilterRuleRef", "IpFilterRule", NULL, RP, "a filter rule; order matters"),
	YESNO("AllowOnDemand", 0, "Yes", "start tunnels when traffic needs one"),
	YESNO("FIPS140", 0, "No", "FIPS 140 mode: Group1 is refused"),
	ENUM("PreDecap", e_predecap, NA, "Permit", "filter before decapsulation"),
	YESNO("FilterLogging", 0, "Yes",
	      "No turns off every filter log message, whatever the rules' IpFilterLogging says"),
	YESNO("IpFilterLogImplicit", 0, "No",
	      "log packets the implicit deny at the end of the rules drops (EZD0815I)"),
	NOPE("IpFilterGroupRef", VK_REF, "IpFilterGroup is not supported"),
};

static const struct param_schema p_filterrule[] = {
	KINDX("IpSourceAddr", VK_ADDR, "Src", 0, "All", "source address"),
	REF("IpSourceAddrRef", "IpAddr", "Src", 0, "source address"),
	REF("IpSourceAddrSetRef", "IpAddrSet", "Src", 0, "source addresses"),
	REF("IpSourceAddrGroupRef", "IpAddrGroup", "Src", 0, "source addresses"),
	KINDX("IpDestAddr", VK_ADDR, "Dst", 0, "All", "destination address"),
	REF("IpDestAddrRef", "IpAddr", "Dst", 0, "destination address"),
	REF("IpDestAddrSetRef", "IpAddrSet", "Dst", 0, "destination addresses"),
	REF("IpDestAddrGroupRef", "IpAddrGroup", "Dst", 0, "destination addresses"),
	INL("IpService", "IpService", NULL, RP, "protocol, ports and direction (inline)"),
	REF("IpServiceRef", "IpService", NULL, RP, "protocol, ports and direction"),
	REF("IpGenericFilterActionRef", "IpGenericFilterAction", NULL, RQ, "Permit, Deny or IpSec"),
	REF("IpDynVpnActionRef", "IpDynVpnAction", NULL, 0, "how to protect (IpSec only)"),
	REF("IpLocalStartActionRef", "IpLocalStartAction", NULL, 0, "how tunnels are started"),
	{ .name = "RemoteSecurityEndpointAddr", .kind = VK_HOST, .flags = PF_ATTLS,
	  .doc = "IKE peer (security gateway) for tunnels iked starts from this rule; "
		 "default: the remote data endpoint when it is one address" },
	NOPE("IpManVpnActionRef", VK_REF, "manual tunnels are not supported"),
	NOPE("IpTimeConditionRef", VK_REF, "time conditions are not supported"),
	NOPE("IpServiceGroupRef", VK_REF, "IpServiceGroup is not supported"),
};

static const struct param_schema p_service[] = {
	KIND("SourcePortRange", VK_PORTS, 0, "0", "source ports; 0 = any"),
	KIND("DestinationPortRange", VK_PORTS, 0, "0", "destination ports; 0 = any"),
	KIND("Protocol", VK_PROTOCOL, 0, "All", "All, TCP, UDP, ICMP, ICMPv6, ESP, AH or a number"),
	KIND("Direction", VK_SVCDIR, 0, "Bidirectional", "Inbound, Outbound or Bidirectional"),
	ENUM("Routing", enum_routing, 0, "Local",
	     "Local: traffic to or from this host; Routed: traffic it forwards; Either: both"),
	INT("SecurityClass", 0, 255, NA, "0", "interface security class"),
};

static const struct param_schema p_genaction[] = {
	ENUM("IpFilterAction", enum_filter_action, RQ, NULL, "Permit, Deny or IpSec"),
	YESNO("IpFilterLogging", 0, "No",
	      "log the packets the rule drops (EZD0815I; EZD0822I for clear text an IpSec rule drops)"),
	ENUM("DiscardAction", e_discard, 0, "Silent",
	     "Silent drops; ICMP also answers destination unreachable, administratively prohibited"),
};

static const struct param_schema p_dynvpn[] = {
	KIND("Pfs", VK_DHGROUP, 0, NULL,
	     "legacy: one group for both InitiateWithPfs and AcceptablePfs"),
	ENUM("Initiation", enum_initiation, 0, "Either", "which side may start the tunnel"),
	INT("VpnLife", 1, 2147483647, 0, "1440", "minutes a tunnel lives before it is renegotiated"),
	KIND("InitiateWithPfs", VK_DHGROUP, 0, "None", "PFS group proposed when initiating"),
	{ .name = "AcceptablePfs", .kind = VK_DHGROUP, .flags = RP, .dflt = "None",
	  .doc = "a PFS group accepted when responding (repeat for several; None = no PFS)" },
	ENUM("HowToEncapIKEv2", e_encap_v2, NA, "Either", "IKEv2 encapsulation"),
	ENUM("PassthroughDF", e_passdf, NA, "Yes", "copy the DF bit"),
	YESNO("PassthroughDSCP", NA, "Yes", "copy DSCP"),
	INL("IpDataOffer", "IpDataOffer", "DataOffer", RP | RQ, "a phase 2 offer (inline), preference order"),
	REF("IpDataOfferRef", "IpDataOffer", "DataOffer", RP | RQ, "a phase 2 offer, preference order"),
};

static const struct param_schema p_dataoffer[] = {
	ENUM("HowToEncap", enum_encap, 0, "Tunnel", "Tunnel or Transport"),
	KIND("HowToEncrypt", VK_ENCRYPT, 0, "AES_CBC KeyLength 128",
	     "AES_CBC KeyLength 128|192|256 or AES_GCM_16 KeyLength 128|256"),
	KIND("HowToAuth", VK_AUTH, 0, "ESP HMAC_SHA1",
	     "ESP with HMAC_SHA1, HMAC_SHA2_256_128, HMAC_SHA2_384_192 or HMAC_SHA2_512_256; "
	     "ESP Null (the default there) with AES_GCM_16"),
	INT("RefreshLifetimeProposed", 1, 2147483647, 0, "240", "minutes proposed as initiator"),
	KIND("RefreshLifetimeAccepted", VK_LIFERANGE, 0, "120 480",
	     "minutes accepted as responder: min max"),
	KIND("RefreshLifesizeProposed", VK_LIFESIZE, 0, "None", "kilobytes proposed, or None"),
	KIND("RefreshLifesizeAccepted", VK_LIFESIZERANGE, 0, "None",
	     "kilobytes accepted: min max, or None"),
};

static const struct param_schema p_kepolicy[] = {
	INL("KeyExchangeRule", "KeyExchangeRule", NULL, RP, "a rule (inline); order matters"),
	REF("KeyExchangeRuleRef", "KeyExchangeRule", NULL, RP, "a rule; order matters"),
	YESNO("AllowNat", 0, "No", "allow NAT traversal"),
	ENUM("HowToInitiate", enum_how_to_initiate, 0, "Main", "default exchange when initiating"),
	ENUM("HowToRespondIKEv1", enum_how_to_respond, 0, "Either", "exchanges accepted as responder"),
	INT("LivenessInterval", 0, 86400, 0, "0",
	    "seconds of silence before a dead peer detection (RFC 3706) probe; 0 = off"),
	INT("NatKeepAliveInterval", 0, 86400, 0, "20", "seconds between NAT-T keepalives"),
	NOPE("KeyExchangeGroupRef", VK_REF, "KeyExchangeGroup is not supported"),
};

static const struct param_schema p_kerule[] = {
	INL("LocalSecurityEndpoint", "LocalSecurityEndpoint", "Lse", RQ, "local identity and location"),
	REF("LocalSecurityEndpointRef", "LocalSecurityEndpoint", "Lse", RQ, "local identity and location"),
	INL("RemoteSecurityEndpoint", "RemoteSecurityEndpoint", "Rse", RQ, "remote identity and location"),
	REF("RemoteSecurityEndpointRef", "RemoteSecurityEndpoint", "Rse", RQ, "remote identity and location"),
	REF("KeyExchangeActionRef", "KeyExchangeAction", NULL, RQ, "how to negotiate phase 1"),
	KIND("SharedKey", VK_SHAREDKEY, 0, NULL, "pre-shared key: Ascii|Ebcdic|Hex VALUE"),
};

static const struct param_schema p_keaction[] = {
	ENUM("HowToInitiate", enum_how_to_initiate, 0, NULL,
	     "Main, Aggressive or DoNot; taken from KeyExchangePolicy when omitted"),
	ENUM("HowToRespond", enum_how_to_respond, 0, NULL, "older name of HowToRespondIKEv1"),
	ENUM("HowToRespondIKEv1", enum_how_to_respond, 0, NULL, "Either, Main or Aggressive"),
	YESNO("AllowNat", 0, NULL, "overrides KeyExchangePolicy AllowNat"),
	ENUM("HowToAuthMe", enum_auth_method, 0, NULL,
	     "how this side proves itself; defaults to the offer's HowToAuthPeers"),
	INL("KeyExchangeOffer", "KeyExchangeOffer", "KeOffer", RP | RQ, "a phase 1 offer (inline), preference order"),
	REF("KeyExchangeOfferRef", "KeyExchangeOffer", "KeOffer", RP | RQ, "a phase 1 offer, preference order"),
	INT("ReauthInterval", 0, 2147483647, NA, "0", "IKEv2 reauthentication"),
	YESNO("FilterByIdentity", NA, "No", "filter by identity"),
};

static const struct param_schema p_keoffer[] = {
	KIND("HowToEncrypt", VK_ENCRYPT, 0, "AES_CBC KeyLength 128", "AES_CBC KeyLength 128|192|256"),
	ENUM("HowToAuthMsgs", enum_hash, 0, "SHA1", "hash: SHA1, SHA2_256, SHA2_384 or SHA2_512"),
	ENUM("HowToVerifyMsgs", enum_authalg, NA, "HMAC_SHA1", "IKEv2 integrity"),
	ENUM("PseudoRandomFunction", enum_authalg, NA, "HMAC_SHA1", "IKEv2 PRF"),
	ENUM("HowToAuthPeers", enum_auth_method, RQ, NULL,
	     "PresharedKey, or RsaSignature/DigitalSignature (certificates)"),
	KIND("DHGroup", VK_DHGROUP, 0, "Group14", "phase 1 Diffie-Hellman group"),
	INT("RefreshLifetimeProposed", 1, 2147483647, 0, "480", "minutes proposed as initiator"),
	KIND("RefreshLifetimeAccepted", VK_LIFERANGE, 0, "240 1440", "minutes accepted: min max"),
	KIND("RefreshLifesizeProposed", VK_LIFESIZE, 0, "None", "kilobytes proposed, or None"),
	KIND("RefreshLifesizeAccepted", VK_LIFESIZERANGE, 0, "None", "kilobytes accepted, or None"),
};

static const struct param_schema p_lse[] = {
	KIND("Identity", VK_IDENTITY, RQ, NULL,
	     "IpAddr a | Fqdn name | UserAtFqdn u@name | X500dn dn | KeyID Ascii|Hex v"),
	KIND("Location", VK_LOCATION, RQ, NULL, "this host's address for IKE"),
};

static const struct param_schema p_rse[] = {
	KIND("Identity", VK_IDENTITY, RQ, NULL, "the peer's identity; IpAddr takes prefixes and ranges"),
	KIND("Location", VK_LOCATION, 0, "Any4", "peer address(es): a, a/len, a-b, Any, Any4, Any6"),
	STR("CaLabel", 1, 64, 0, "trusted CA (subject CN or file label) for RSA signatures"),
};

static const struct param_schema p_localstart[] = {
	ENUM("LocalAddrGranularity", e_granularity, NA, "Rule", "selector width"),
	ENUM("RemoteAddrGranularity", e_granularity, NA, "Rule", "selector width"),
	ENUM("LocalPortGranularity", e_granularity, NA, "Rule", "selector width"),
	ENUM("RemotePortGranularity", e_granularity, NA, "Rule", "selector width"),
	ENUM("ProtocolGranularity", e_granularity, NA, "Rule", "selector width"),
	INT("ShortTermVpnLife", 0, 2147483647, NA, "0", "minutes for on-demand tunnels"),
};

static const struct param_schema p_ikeconfig[] = {
	{ .name = "ListenAddr", .kind = VK_HOST, .flags = RP | PF_ATTLS, .dflt = "0.0.0.0",
	  .doc = "address iked listens on (repeatable)" },
	INT("IkePort", 1, 65535, PF_ATTLS, "500", "IKE port"),
	INT("NatPort", 1, 65535, PF_ATTLS, "4500", "NAT-T port"),
	ENUM("KernelBackend", enum_backend, PF_ATTLS, "auto",
	     "xfrm (kernel ESP), tun (iked's own ESP behind a TUN device), log (record only), "
	     "or auto (xfrm when the kernel takes an ESP SA, else tun)"),
	{ .name = "TunDevice", .kind = VK_STRING, .min = 1, .max = 15, .flags = PF_ATTLS,
	  .dflt = "attls0", .doc = "TUN device of the tun backend (created and removed by iked)" },
	{ .name = "ControlSocket", .kind = VK_STRING, .min = 1, .max = 107, .flags = PF_ATTLS,
	  .dflt = "/run/attls/iked.sock", .doc = "unix socket for the ipsec command" },
	{ .name = "PidFile", .kind = VK_STRING, .min = 1, .max = 1023, .flags = PF_ATTLS,
	  .dflt = "/run/attls/iked.pid", .doc = "pid file when iked daemonizes" },
	/* Not acted on until iked's exchanges write and read the records. */
	{ .name = "SwsaStore", .kind = VK_STRING, .min = 1, .max = 1023, .flags = PF_ATTLS | NA,
	  .doc = "where sysplex-wide SA records live: redis://[USER@]HOST[:PORT][/DB] or "
		 "dir:/ABSOLUTE/PATH; without it SWSA is off" },
	{ .name = "SwsaStorePasswordFile", .kind = VK_STRING, .min = 1, .max = 1023,
	  .flags = PF_ATTLS | NA, .doc = "file whose first line is the Redis password (read at each "
				    "connection, never logged)" },
	{ .name = "SwsaDvipa", .kind = VK_HOST, .flags = RP | PF_ATTLS | NA,
	  .doc = "an address whose tunnels are sysplex-wide" },
	{ .name = "SwsaNode", .kind = VK_STRING, .min = 1, .max = 64, .flags = PF_ATTLS | NA,
	  .doc = "this node's name in the SWSA records; default: the host name" },
	STR("Keyring", 1, 1023, 0, "PEM bundle with iked's key, certificate and trusted CAs"),
	INT("IkeSyslogLevel", 0, 255, 0, "1", "1 errors, 2 warnings, 4 events, 8 debug, 16 packets"),
	INT("IkeRetries", 1, 20, 0, "10", "retransmissions before giving up"),
	INT("IkeInitWait", 1, 60, 0, "2", "seconds before the first retransmission"),
	INT("IkeMaxWait", 1, 300, 0, "8", "longest wait between retransmissions"),
};

/* z/OS statements attls knows of but does not support, so a ported policy gets
 * a clear explanation instead of "unknown statement". */
static const struct param_schema p_none[] = { { 0 } };

#define STMT(n, f, p, dc_) { n, f, p, sizeof p / sizeof p[0], dc_, NULL }
#define UNSUP(n, why) { n, SF_GLOBAL | SF_UNSUPPORTED, p_none, 0, NULL, why }

const struct stmt_schema policy_stmts[] = {
	STMT("TTLSRule", SF_GLOBAL, p_ttlsrule, "which connections get which AT-TLS actions"),
	STMT("TTLSGroupAction", SF_GLOBAL, p_group, "enables AT-TLS for a group of rules"),
	STMT("TTLSEnvironmentAction", SF_GLOBAL, p_env, "role, key ring and TLS settings"),
	STMT("TTLSConnectionAction", SF_GLOBAL, p_conn, "per-connection overrides"),
	STMT("TTLSKeyringParms", SF_GLOBAL | SF_INLINE, p_keyring, "the key ring file"),
	STMT("TTLSCipherParms", SF_GLOBAL | SF_INLINE, p_cipher, "cipher suites"),
	STMT("TTLSEnvironmentAdvancedParms", SF_GLOBAL | SF_INLINE, p_envadv,
	     "protocol versions, timeouts, client authentication, application control"),
	STMT("TTLSConnectionAdvancedParms", SF_GLOBAL | SF_INLINE, p_connadv,
	     "per-connection overrides of the advanced parameters"),
	STMT("TTLSGskAdvancedParms", SF_GLOBAL | SF_INLINE, p_gsk, "session cache and tickets"),
	STMT("IpAddr", SF_GLOBAL | SF_INLINE, p_ipaddr, "one address, prefix or range"),
	STMT("IpAddrSet", SF_GLOBAL | SF_INLINE, p_ipaddrset, "prefixes and ranges"),
	STMT("IpAddrGroup", SF_GLOBAL, p_ipaddrgroup, "a group of addresses and sets"),
	STMT("PortRange", SF_GLOBAL | SF_INLINE, p_portrange, "a port or port range"),
	STMT("PortGroup", SF_GLOBAL, p_portgroup, "a group of port ranges"),
	STMT("IpFilterPolicy", SF_GLOBAL | SF_SINGLETON | SF_UNNAMED, p_filterpolicy,
	     "the ordered IP filter rules"),
	STMT("IpFilterRule", SF_GLOBAL | SF_INLINE, p_filterrule, "traffic selectors and action"),
	STMT("IpService", SF_GLOBAL | SF_INLINE, p_service, "protocol, ports, direction"),
	STMT("IpGenericFilterAction", SF_GLOBAL, p_genaction, "Permit, Deny or IpSec"),
	STMT("IpDynVpnAction", SF_GLOBAL, p_dynvpn, "phase 2: offers, PFS, lifetime"),
	STMT("IpDataOffer", SF_GLOBAL | SF_INLINE, p_dataoffer, "one phase 2 proposal"),
	STMT("KeyExchangePolicy", SF_GLOBAL | SF_SINGLETON | SF_UNNAMED, p_kepolicy,
	     "the ordered key exchange rules and IKE defaults"),
	STMT("KeyExchangeRule", SF_GLOBAL | SF_INLINE, p_kerule, "phase 1 endpoints, action, key"),
	STMT("KeyExchangeAction", SF_GLOBAL, p_keaction, "phase 1 mode and offers"),
	STMT("KeyExchangeOffer", SF_GLOBAL | SF_INLINE, p_keoffer, "one phase 1 proposal"),
	STMT("LocalSecurityEndpoint", SF_GLOBAL | SF_INLINE, p_lse, "this side of phase 1"),
	STMT("RemoteSecurityEndpoint", SF_GLOBAL | SF_INLINE, p_rse, "the peer side of phase 1"),
	STMT("IpLocalStartAction", SF_GLOBAL, p_localstart, "how locally started tunnels are shaped"),
	STMT("IkeConfig", SF_GLOBAL | SF_SINGLETON | SF_UNNAMED, p_ikeconfig, "iked's own settings"),
	UNSUP("TTLSConfig", "TTLSConfig belongs in the z/OS Policy Agent main file; "
	      "give attls the policy file itself"),
	UNSUP("TTLSSignatureParms", "signature algorithm lists are not supported"),
	UNSUP("TTLSGroupAdvancedParms", "TTLSGroupAdvancedParms is not supported"),
	UNSUP("IpTimeCondition", "time conditions are not supported"),
	UNSUP("IpManVpnAction", "manual tunnels are not supported"),
	UNSUP("LocalDynVpnPolicy", "autoactivated tunnels are not supported; use ipsec -y activate"),
	UNSUP("LocalDynVpnRule", "autoactivated tunnels are not supported; use ipsec -y activate"),
	UNSUP("KeyExchangeGroup", "KeyExchangeGroup is not supported; list rules in KeyExchangePolicy"),
	UNSUP("IpFilterGroup", "IpFilterGroup is not supported; list rules in IpFilterPolicy"),
	UNSUP("IpServiceGroup", "IpServiceGroup is not supported; repeat IpService in the rule"),
	UNSUP("RemoteIdentity", "RemoteIdentity is not supported; use Identity in RemoteSecurityEndpoint"),
	UNSUP("TcpImage", "TcpImage belongs in the z/OS Policy Agent main file"),
};
const size_t policy_nstmts = sizeof policy_stmts / sizeof policy_stmts[0];

/* ---- lookup by name ---------------------------------------------------- */

/* The parser looks up the statement type of every line start and the
 * parameter of every keyword, so name lookups are hashed: one table of
 * statements and one of (statement, parameter) pairs, built once. Names
 * compare without case, in ASCII (the schema's names are ASCII; a locale's
 * case rules must not change what a policy means). A slot keeps its name's
 * hash, so only a real hit compares characters. */
#define STMT_SLOTS 256
#define PARAM_SLOTS 2048

struct slot {
	const void *entry;                 /* stmt_schema or param_schema; NULL = free */
	const struct stmt_schema *owner;   /* a parameter's statement */
	uint32_t hash;
};

static struct slot stmt_slot[STMT_SLOTS];
static struct slot param_slot[PARAM_SLOTS];
static bool hashed = true;             /* false: a table overflowed, search linearly */
/* Bytes (folded) that start some parameter name: most value words the
 * parser asks about ("443", "10.0.0.0/8") are rejected without hashing. */
static bool param_first[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static bool ascii_ieq(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)          /* names are mostly written as the schema spells them */
		return true;
	while (*a && fold((unsigned char)*a) == fold((unsigned char)*b)) {
		a++;
		b++;
	}
	return fold((unsigned char)*a) == fold((unsigned char)*b);
}

static const struct param_schema *schema_param_slow(const struct stmt_schema *s, const char *name)
{
	for (size_t i = 0; i < s->nparams; i++)
		if (ascii_ieq(s->params[i].name, name))
			return &s->params[i];
	return NULL;
}

/* Case is folded by setting bit 5 of every byte: that also pairs a few
 * non-letters ('@' and '`'), which only costs a compare. */
static uint32_t name_hash(const void *scope, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uintptr_t)scope * 0x9e3779b97f4a7c15ull);
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ (*c | 0x20u)) * 0x100000001b3ull;
	return (uint32_t)(h ^ (h >> 32));
}

static bool put(struct slot *slots, size_t nslots, uint32_t hash, const void *entry,
		const struct stmt_schema *owner)
{
	size_t h = hash % nslots;
	for (size_t n = 0; n < nslots; n++, h = (h + 1) % nslots)
		if (!slots[h].entry) {
			slots[h] = (struct slot){ entry, owner, hash };
			return true;
		}
	return false;
}

static void build_tables(void)
{
	for (size_t i = 0; i < policy_nstmts; i++) {
		const struct stmt_schema *ss = &policy_stmts[i];
		hashed &= put(stmt_slot, STMT_SLOTS, name_hash(NULL, ss->name), ss, NULL);
		for (size_t k = 0; k < ss->nparams; k++) {
			/* the first of two equal names wins, as a linear search would */
			const struct param_schema *ps = &ss->params[k];
			if (schema_param_slow(ss, ps->name) == ps)
				hashed &= put(param_slot, PARAM_SLOTS, name_hash(ss, ps->name), ps, ss);
			param_first[fold((unsigned char)ps->name[0])] = true;
		}
	}
}

/* The entry named name (the first member of every entry is its name). */
static const void *find(const struct slot *slots, size_t nslots, const void *owner,
			const char *name)
{
	uint32_t hash = name_hash(owner, name);
	size_t h = hash % nslots;
	for (size_t n = 0; n < nslots && slots[h].entry; n++, h = (h + 1) % nslots)
		if (slots[h].hash == hash && slots[h].owner == owner &&
		    ascii_ieq(*(const char *const *)slots[h].entry, name))
			return slots[h].entry;
	return NULL;
}

const struct stmt_schema *schema_stmt(const char *name)
{
	pthread_once(&tables_once, build_tables);
	if (hashed)
		return find(stmt_slot, STMT_SLOTS, NULL, name);
	for (size_t i = 0; i < policy_nstmts; i++)
		if (ascii_ieq(policy_stmts[i].name, name))
			return &policy_stmts[i];
	return NULL;
}

const struct param_schema *schema_param(const struct stmt_schema *s, const char *name)
{
	pthread_once(&tables_once, build_tables);
	if (!hashed)
		return schema_param_slow(s, name);
	return param_first[fold((unsigned char)name[0])] ? find(param_slot, PARAM_SLOTS, s, name) : NULL;
}

/* z/OS parameters with no place in attls at all, so users porting a policy
 * learn why instead of being told the keyword is unknown. */
static const struct { const char *stmt, *param, *why; } zos_only[] = {
	{ "TTLSGroupAction", "Envfile", "attls has no LE environment file" },
	{ "TTLSEnvironmentAdvancedParms", "SecondaryMapSAF", "attls has no SAF" },
	{ "TTLSKeyringParms", "KeyringToken", "PKCS#11 tokens are not supported" },
};

const char *schema_zos_only_param(const char *stmt, const char *param)
{
	for (size_t i = 0; i < sizeof zos_only / sizeof zos_only[0]; i++)
		if (strcasecmp(zos_only[i].stmt, stmt) == 0 &&
		    strcasecmp(zos_only[i].param, param) == 0)
			return zos_only[i].why;
	return NULL;
}
