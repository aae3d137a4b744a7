/*
 * tests/unit/fixtures — pieces of policy text the unit tests build on. Each
 * is one line, so a test that puts the statement under test on line 1 and
 * these after it knows every line number.
 */
#ifndef ATTLS_TESTS_UNIT_FIXTURES_H
#define ATTLS_TESTS_UNIT_FIXTURES_H

/* A group that enables TLS and one that leaves connections alone. */
#define GRP_ON  "TTLSGroupAction g { TTLSEnabled On }\n"
#define GRP_OFF "TTLSGroupAction off { TTLSEnabled Off }\n"
/* A server environment whose key ring exists everywhere. */
#define ENV_SRV "TTLSEnvironmentAction e { HandshakeRole Server TTLSKeyringParms { Keyring /dev/null } }\n"
/* A complete rule using g and e, conditions in between. */
#define RULE(name, conds) \
	"TTLSRule " name " { " conds " Direction Inbound TTLSGroupActionRef g TTLSEnvironmentActionRef e }\n"
/* The same, and both actions. */
#define BASE GRP_ON ENV_SRV

/* IP security: a valid phase 2 action and a complete phase 1 set-up. */
#define DYNVPN_OK "IpDynVpnAction v { IpDataOffer { } }\n"
#define KE_OK \
	"KeyExchangeAction ka { KeyExchangeOffer { HowToAuthPeers PresharedKey } }\n" \
	"KeyExchangeRule kr { LocalSecurityEndpoint { Identity IpAddr 10.0.0.1 Location 10.0.0.1 } " \
	"RemoteSecurityEndpoint { Identity IpAddr 10.0.0.2 } KeyExchangeActionRef ka SharedKey Ascii s }\n" \
	"KeyExchangePolicy { KeyExchangeRuleRef kr }\n"

#endif
