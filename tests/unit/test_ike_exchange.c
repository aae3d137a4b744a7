/* Exchanges between two iked instances in one process (tests/unit/ike_harness):
 * Main, Aggressive and Quick Mode, PFS choices, refresh with the SA cache,
 * retransmission, duplicates, deletes, dead peer detection. */
#include "tests/unit/support.h"
#include "tests/unit/ike_harness.h"
#include "tests/unit/ike_testutil.h"

#include <stdio.h>
#include <string.h>

#include "iked/exchange.h"
#include "iked/isakmp.h"

/* A policy for one side: me/peer security endpoints, my/peer protected host. */
struct side {
	const char *me, *peer, *mynet, *peernet;
	const char *mode;            /* Main | Aggressive */
	const char *ke_offers;       /* "o1" or "o1 o2": KeyExchangeOfferRef order */
	const char *data_offers;     /* "d1" ... */
	const char *pfs;             /* PFS lines of the IpDynVpnAction */
	const char *lid, *rid;       /* identity values ("IpAddr a", "Fqdn x"); default IpAddr */
	const char *kepolicy;        /* more KeyExchangePolicy lines */
};

static const char *offers_text =
	"KeyExchangeOffer o1 {\n HowToEncrypt AES_CBC KeyLength 128\n HowToAuthMsgs SHA2_256\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group14\n}\n"
	"KeyExchangeOffer o2 {\n HowToEncrypt AES_CBC KeyLength 256\n HowToAuthMsgs SHA2_512\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group19\n}\n"
	"KeyExchangeOffer o3 {\n HowToEncrypt AES_CBC KeyLength 256\n HowToAuthMsgs SHA1\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group2\n}\n"
	"IpDataOffer d1 {\n HowToEncap Tunnel\n HowToEncrypt AES_CBC KeyLength 128\n"
	" HowToAuth ESP HMAC_SHA2_256_128\n RefreshLifetimeProposed 60\n RefreshLifetimeAccepted 30 480\n}\n"
	"IpDataOffer d2 {\n HowToEncap Tunnel\n HowToEncrypt AES_GCM_16 KeyLength 256\n"
	" RefreshLifetimeProposed 60\n RefreshLifetimeAccepted 30 480\n}\n"
	"IpDataOffer d3 {\n HowToEncap Transport\n HowToEncrypt AES_CBC KeyLength 256\n"
	" HowToAuth ESP HMAC_SHA1\n RefreshLifetimeProposed 60\n RefreshLifetimeAccepted 30 480\n}\n";

static void refs(char *out, size_t len, const char *kw, const char *names)
{
	out[0] = '\0';
	for (const char *p = names; *p;) {
		size_t n = strcspn(p, " ");
		size_t k = strlen(out);
		snprintf(out + k, len - k, " %s %.*s\n", kw, (int)n, p);
		p += n;
		p += strspn(p, " ");
	}
}

static const char *policy(const struct side *s, char *buf, size_t len)
{
	char keo[256], dao[256], lid[128], rid[128];
	refs(keo, sizeof keo, "KeyExchangeOfferRef", s->ke_offers ? s->ke_offers : "o1");
	refs(dao, sizeof dao, "IpDataOfferRef", s->data_offers ? s->data_offers : "d1");
	snprintf(lid, sizeof lid, "%s", s->lid ? s->lid : "");
	snprintf(rid, sizeof rid, "%s", s->rid ? s->rid : "");
	if (!s->lid)
		snprintf(lid, sizeof lid, "IpAddr %s", s->me);
	if (!s->rid)
		snprintf(rid, sizeof rid, "IpAddr %s", s->peer);
	snprintf(buf, len,
		 "IkeConfig {\n ListenAddr %s\n KernelBackend log\n IkeRetries 3\n IkeInitWait 1\n"
		 " IkeMaxWait 4\n}\n"
		 "IpFilterPolicy {\n IpFilterRuleRef r\n}\n"
		 "IpFilterRule r {\n IpSourceAddr %s\n IpDestAddr %s\n IpGenericFilterActionRef prot\n"
		 " IpDynVpnActionRef vpn\n RemoteSecurityEndpointAddr %s\n}\n"
		 "IpGenericFilterAction prot {\n IpFilterAction IpSec\n}\n"
		 "IpDynVpnAction vpn {\n%s%s}\n"
		 "KeyExchangePolicy {\n KeyExchangeRuleRef kr\n AllowNat Yes\n%s}\n"
		 "KeyExchangeRule kr {\n LocalSecurityEndpoint {\n  Identity %s\n  Location %s\n }\n"
		 " RemoteSecurityEndpoint {\n  Identity %s\n  Location %s\n }\n"
		 " KeyExchangeActionRef ka\n SharedKey Ascii sharedsecret123\n}\n"
		 "KeyExchangeAction ka {\n HowToInitiate %s\n%s}\n%s",
		 s->me, s->mynet, s->peernet, s->peer,
		 s->pfs ? s->pfs : " InitiateWithPfs Group14\n AcceptablePfs Group14\n", dao,
		 s->kepolicy ? s->kepolicy : "", lid, s->me, rid, s->peer,
		 s->mode ? s->mode : "Main", keo, offers_text);
	return buf;
}

#define A_ADDR "198.18.0.1"
#define B_ADDR "198.18.0.2"
#define A_NET "198.19.1.1"
#define B_NET "198.19.2.1"

static struct side side_a(void)
{
	return (struct side){ .me = A_ADDR, .peer = B_ADDR, .mynet = A_NET, .peernet = B_NET };
}

static struct side side_b(void)
{
	return (struct side){ .me = B_ADDR, .peer = A_ADDR, .mynet = B_NET, .peernet = A_NET };
}

static void setup2(struct harness *h, const struct side *a, const struct side *b)
{
	char pa[8192], pb[8192];
	h_init(h);
	ck_assert_int_eq(h_add(h, A_ADDR, policy(a, pa, sizeof pa)), 0);
	ck_assert_int_eq(h_add(h, B_ADDR, policy(b, pb, sizeof pb)), 1);
}

static void activate(struct harness *h, int i)
{
	char out[256];
	int rc = ytunnel_activate(h->nodes[i].ike, "r", out, sizeof out);
	if (rc)
		fprintf(stderr, "activate: %s\n", out);
	ck_assert_int_eq(rc, 0);
}

static void expect_up(struct harness *h)
{
	if (h_count_p2(h, 0, true) != 1 || h_count_p2(h, 1, true) != 1)
		h_log_dump();
	ck_assert_uint_eq(h_count_p1(h, 0, true), 1);
	ck_assert_uint_eq(h_count_p1(h, 1, true), 1);
	ck_assert_uint_eq(h_count_p2(h, 0, true), 1);
	ck_assert_uint_eq(h_count_p2(h, 1, true), 1);
}

/* Both sides installed mirror images: our inbound SPI is the peer's outbound
 * and the keys of each direction agree. */
static void expect_same_keys(struct harness *h)
{
	struct p2sa *a = LIST_FIRST(&h->nodes[0].ike->p2_all), *b = LIST_FIRST(&h->nodes[1].ike->p2_all);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(a->spi_in, b->spi_out);
	ck_assert_uint_eq(a->spi_out, b->spi_in);
	size_t n = p2_enc_key_len(&a->agreed) + p2_auth_key_len(&a->agreed);
	ck_assert_mem_eq(a->key_in, b->key_out, n);
	ck_assert_mem_eq(a->key_out, b->key_in, n);
	ck_assert_mem_ne(a->key_in, a->key_out, n);
}

START_TEST(main_mode_psk_and_quick_mode)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	activate(&h, 0);
	h_run(&h, 30000);
	expect_up(&h);
	expect_same_keys(&h);
	ck_assert(h_log_has("IKE tunnel K1 activated: generation 1"));
	ck_assert(h_log_has("Dynamic tunnel Y1 activated: generation 1"));
	ck_assert(h_log_has("PFS Group14"));
	h_free(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_exchange");
	TCase *tc = tcase_create("exchange");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, main_mode_psk_and_quick_mode);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
