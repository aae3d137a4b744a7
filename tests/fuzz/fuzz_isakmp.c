/*
 * libFuzzer target for everything iked reads from the network.
 *
 * Each input is used twice:
 *  1. as an ISAKMP message for the decoder: header, payload chain (as clear
 *     text and as a decrypted body with padding), and every payload's own
 *     decoder down to proposals, transforms, attributes, identities as
 *     selectors, notifications, deletes, certificates and NAT-OA;
 *  2. as a datagram from a peer, through the daemon's whole input path
 *     (ike_input) on the IKE port and on the NAT-T port, against a daemon
 *     whose policy accepts that peer, so first messages can create
 *     responder SAs, be answered and be retransmitted to.
 * The daemon is recreated every few thousand inputs so half-open SAs do not
 * pile up.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/log.h"
#include "iked/codec.h"
#include "iked/iked.h"
#include "iked/isakmp.h"
#include "iked/kernel.h"
#include "iked/match.h"
#include "iked/proposal.h"
#include "policy/policy.h"

static const char policy_text[] =
	"IkeConfig { ListenAddr 198.18.0.1\n KernelBackend log\n IkeRetries 2\n }\n"
	"IpFilterPolicy { IpFilterRuleRef r\n }\n"
	"IpFilterRule r { IpSourceAddr 198.19.1.0/24\n IpDestAddr 198.19.2.0/24\n"
	" IpGenericFilterActionRef p\n IpDynVpnActionRef v\n }\n"
	"IpGenericFilterAction p { IpFilterAction IpSec\n }\n"
	"IpDynVpnAction v { InitiateWithPfs Group14\n AcceptablePfs Group14\n AcceptablePfs None\n"
	" IpDataOfferRef d\n }\n"
	"IpDataOffer d { HowToEncrypt AES_CBC KeyLength 128\n HowToAuth ESP HMAC_SHA1\n }\n"
	"KeyExchangePolicy { KeyExchangeRuleRef k\n KeyExchangeRuleRef k2\n AllowNat Yes\n }\n"
	/* the harness's first messages (tests/fuzz/seeds) fit these rules */
	"KeyExchangeRule k2 { LocalSecurityEndpoint { Identity Fqdn b.example\n"
	" Location 198.18.0.1\n }\n RemoteSecurityEndpoint { Identity Fqdn a.example\n"
	" Location 198.18.0.2\n }\n KeyExchangeActionRef a\n SharedKey Ascii sharedsecret123\n }\n"
	"KeyExchangeRule k { LocalSecurityEndpoint { Identity IpAddr 198.18.0.1\n"
	" Location 198.18.0.1\n }\n RemoteSecurityEndpoint { Identity IpAddr 198.18.0.2\n"
	" Location 198.18.0.2\n }\n KeyExchangeActionRef a\n SharedKey Ascii fuzz\n }\n"
	"KeyExchangeAction a { KeyExchangeOfferRef o\n KeyExchangeOfferRef o2\n"
	" KeyExchangeOfferRef o3\n }\n"
	"KeyExchangeOffer o3 { HowToEncrypt AES_CBC KeyLength 128\n HowToAuthMsgs SHA2_256\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group14\n }\n"
	"KeyExchangeOffer o { HowToEncrypt AES_CBC KeyLength 128\n HowToAuthMsgs SHA1\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group2\n }\n"
	"KeyExchangeOffer o2 { HowToEncrypt AES_CBC KeyLength 256\n HowToAuthMsgs SHA2_256\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group19\n }\n";

static int discard(void *ctx, const struct ikeaddr *from, const struct ikeaddr *to,
		   const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)from;
	(void)to;
	(void)pkt;
	(void)len;
	return 0;
}

static struct iked *daemon_;
static struct kernel *kernel_;
static unsigned uses;

static struct iked *daemon_get(void)
{
	if (daemon_ && ++uses < 4096)
		return daemon_;
	if (daemon_)
		iked_free(daemon_);
	if (!kernel_) {
		char err[64];
		log_init("fuzz", 0);
		log_set_level(LOG_EMERG);
		kernel_ = kernel_open(1 /* BACKEND_LOG */, NULL, err, sizeof err);
	}
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_buffer("fuzz.conf", policy_text, sizeof policy_text - 1, &d);
	diags_free(&d);
	if (!p || !kernel_)
		__builtin_trap();        /* the harness itself is broken */
	struct net_ops net = { discard, NULL };
	daemon_ = iked_new(p, kernel_, &net);
	uses = 0;
	return daemon_;
}

static void walk_attrs(const uint8_t *p, size_t n)
{
	const char *why;
	struct attr a;
	if (attrs_validate(p, n, &why))
		return;
	while (attr_next(&p, &n, &a, &why) > 0)
		;
}

/* What an encoder writes from a decoded payload must be the payload again
 * (NAT-OA's reserved bytes aside, which the encoder zeroes). */
static void same_again(const struct payload *pl, const struct buf *b, size_t skip_from,
		       size_t skip_len)
{
	if (b->err || b->len != pl->body_len)
		__builtin_trap();
	for (size_t i = 0; i < b->len; i++)
		if ((i < skip_from || i >= skip_from + skip_len) && b->d[i] != pl->body[i])
			__builtin_trap();
}

static void decode_one(const struct payload *pl, struct buf *again);

static void decode_payload(const struct payload *pl)
{
	struct buf again;
	buf_init(&again);
	decode_one(pl, &again);
	buf_free(&again);
}

static void decode_one(const struct payload *pl, struct buf *again)
{
	const char *why = "";
	switch (pl->type) {
	case PL_SA: {
		static struct sa_payload sa;
		if (sa_decode(pl->body, pl->body_len, &sa, &why))
			return;
		for (size_t i = 0; i < sa.np; i++)
			for (size_t t = 0; t < sa.p[i].ntr; t++) {
				struct p1_attrs a1;
				struct p2_attrs a2;
				p1_xform_read(&sa.p[i].tr[t], &a1, &why);
				p2_xform_read(&sa.p[i], &sa.p[i].tr[t], &a2, &why);
			}
		return;
	}
	case PL_ID: {
		struct id_payload id;
		struct selector s;
		struct peer_id pid;
		char buf[200];
		if (id_decode(pl->body, pl->body_len, &id, &why))
			return;
		id_encode(again, &id);
		same_again(pl, again, 0, 0);
		selector_from_id(&id, &s);
		if (!id_from_payload(&id, &pid))
			id_format(&pid, buf, sizeof buf);
		return;
	}
	case PL_N: {
		struct notify_payload n;
		if (notify_decode(pl->body, pl->body_len, &n, &why))
			return;
		notify_encode(again, &n);
		same_again(pl, again, 0, 0);
		walk_attrs(n.data, n.data_len);
		return;
	}
	case PL_D: {
		struct delete_payload d;
		if (delete_decode(pl->body, pl->body_len, &d, &why))
			return;
		delete_encode(again, &d);
		same_again(pl, again, 0, 0);
		return;
	}
	case PL_CERT:
	case PL_CR: {
		struct cert_payload c;
		if (cert_decode(pl->body, pl->body_len, &c, &why))
			return;
		cert_encode(again, &c);
		same_again(pl, again, 0, 0);
		return;
	}
	case PL_NAT_OA:
	case PL_NAT_OA_DRAFT: {
		struct natoa_payload oa;
		if (natoa_decode(pl->body, pl->body_len, &oa, &why))
			return;
		natoa_encode(again, &oa);
		same_again(pl, again, 1, 3);
		return;
	}
	default:
		return;
	}
}

static void decoder(const uint8_t *data, size_t size)
{
	struct isakmp_hdr h;
	static struct msg m;
	const char *why = "";
	uint8_t first = size ? data[0] % 32 : PL_SA;
	if (!isakmp_hdr_decode(data, size, &h, &why))
		first = h.np;
	const uint8_t *body = size >= ISAKMP_HDR_LEN ? data + ISAKMP_HDR_LEN : data;
	size_t blen = size >= ISAKMP_HDR_LEN ? size - ISAKMP_HDR_LEN : size;
	for (int trailing = 0; trailing < 2; trailing++) {
		if (payloads_decode(first, body, blen, trailing, &m, &why))
			continue;
		for (size_t i = 0; i < m.npl; i++)
			decode_payload(&m.pl[i]);
	}
	/* the raw bytes as the inside of an SA payload and as attributes */
	static struct sa_payload sa;
	sa_decode(data, size, &sa, &why);
	walk_attrs(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > ISAKMP_MAX_MSG)
		return 0;
	decoder(data, size);
	struct iked *ike = daemon_get();
	struct ikeaddr from = { .ip = { .family = 2, .b = { 198, 18, 0, 2 } }, .port = 500 };
	struct ikeaddr to = { .ip = { .family = 2, .b = { 198, 18, 0, 1 } }, .port = 500 };
	ike_input(ike, data, size, &from, &to, false);
	from.port = to.port = 4500;
	ike_input(ike, data, size, &from, &to, true);
	return 0;
}
