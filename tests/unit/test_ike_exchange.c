/* Exchanges between two iked instances in one process (tests/unit/ike_harness):
 * Main, Aggressive and Quick Mode, PFS choices, refresh with the SA cache,
 * retransmission, duplicates, deletes, dead peer detection. */
#include "tests/unit/support.h"
#include "tests/unit/ike_harness.h"
#include "tests/unit/ike_testutil.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iked/control.h"
#include "iked/exchange.h"
#include "iked/isakmp.h"
#include "iked/kernel.h"

/* A policy for one side: me/peer security endpoints, my/peer protected host. */
struct side {
	const char *me, *peer, *mynet, *peernet;
	const char *mode;            /* Main | Aggressive */
	const char *ke_offers;       /* "o1" or "o1 o2": KeyExchangeOfferRef order */
	const char *data_offers;     /* "d1" ... */
	const char *pfs;             /* PFS lines of the IpDynVpnAction */
	const char *lid, *rid;       /* identity values ("IpAddr a", "Fqdn x"); default IpAddr */
	const char *kepolicy;        /* more KeyExchangePolicy lines */
	const char *peer_loc;        /* the peer's address as seen here (behind a NAT) */
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
	" HowToAuth ESP HMAC_SHA1\n RefreshLifetimeProposed 60\n RefreshLifetimeAccepted 30 480\n}\n"
	/* d1's algorithms, accepting at most 30 minutes */
	"IpDataOffer d4 {\n HowToEncap Tunnel\n HowToEncrypt AES_CBC KeyLength 128\n"
	" HowToAuth ESP HMAC_SHA2_256_128\n RefreshLifetimeProposed 20\n RefreshLifetimeAccepted 10 30\n}\n"
	/* d1 with a lifesize of 1000K (accepting 500K to 2000K) */
	"IpDataOffer d5 {\n HowToEncap Tunnel\n HowToEncrypt AES_CBC KeyLength 128\n"
	" HowToAuth ESP HMAC_SHA2_256_128\n RefreshLifetimeProposed 60\n RefreshLifetimeAccepted 30 480\n"
	" RefreshLifesizeProposed 1000\n RefreshLifesizeAccepted 500 2000\n}\n"
	/* d5 accepting at most 500K */
	"IpDataOffer d6 {\n HowToEncap Tunnel\n HowToEncrypt AES_CBC KeyLength 128\n"
	" HowToAuth ESP HMAC_SHA2_256_128\n RefreshLifetimeProposed 60\n RefreshLifetimeAccepted 30 480\n"
	" RefreshLifesizeProposed 500\n RefreshLifesizeAccepted 100 500\n}\n";

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
	const char *loc = s->peer_loc ? s->peer_loc : s->peer;
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
		 s->me, s->mynet, s->peernet, loc,
		 s->pfs ? s->pfs : " InitiateWithPfs Group14\n AcceptablePfs Group14\n", dao,
		 s->kepolicy ? s->kepolicy : "", lid, s->me, rid, loc,
		 s->mode ? s->mode : "Main", keo, offers_text);
	return buf;
}

/* An expected log line; the whole log is printed when it is missing. */
#define CHECK_LOG(needle)                                               \
	do {                                                            \
		if (!h_log_has(needle)) {                               \
			h_log_dump();                                   \
			ck_abort_msg("the log lacks: %s", needle);      \
		}                                                       \
	} while (0)

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

/* Node 0 activates the tunnel; both sides end with one phase 1 and one phase 2 SA. */
static void bring_up(struct harness *h)
{
	activate(h, 0);
	h_run(h, 30000);
	expect_up(h);
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
	bring_up(&h);
	expect_same_keys(&h);
	CHECK_LOG("IKE tunnel K1 activated: generation 1");
	CHECK_LOG("Dynamic tunnel Y1 activated: generation 1");
	CHECK_LOG("PFS Group14");
	h_free(&h);
}
END_TEST


START_TEST(aggressive_mode_fqdn)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.mode = b.mode = "Aggressive";
	a.lid = b.rid = "Fqdn a.example";
	a.rid = b.lid = "Fqdn b.example";
	setup2(&h, &a, &b);
	bring_up(&h);
	expect_same_keys(&h);
	struct p1sa *p1 = LIST_FIRST(&h.nodes[1].ike->p1_all);
	ck_assert_int_eq(p1->exch, EXCH_AGGRESSIVE);
	ck_assert_str_eq(p1->peer_id_str, "a.example");
	h_free(&h);
}
END_TEST

START_TEST(wrong_psk_fails_phase1)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	char pa[8192], pb[8192];
	h_init(&h);
	policy(&a, pa, sizeof pa);
	policy(&b, pb, sizeof pb);
	char *k = strstr(pb, "sharedsecret123");
	ck_assert_ptr_nonnull(k);
	memcpy(k, "sharedsecret999", 15);
	h_add(&h, A_ADDR, pa);
	h_add(&h, B_ADDR, pb);
	activate(&h, 0);
	h_run(&h, 60000);
	CHECK_LOG("K1: an encrypted phase 1 message from 198.18.0.1 does not decrypt to a valid "
		  "message (a different pre-shared key?)");
	ck_assert_uint_eq(h_count_p1(&h, 0, true), 0);
	ck_assert_uint_eq(h_count_p1(&h, 1, true), 0);
	ck_assert_uint_eq(h_count_p2(&h, 0, false), 0);
	h_free(&h);
}
END_TEST

START_TEST(identity_not_in_the_rule_fails)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	b.rid = "IpAddr 198.18.0.77";         /* B expects another identity */
	setup2(&h, &a, &b);
	activate(&h, 0);
	h_run(&h, 60000);
	CHECK_LOG("does not match RemoteSecurityEndpoint of KeyExchangeRule kr");
	ck_assert_uint_eq(h_count_p1(&h, 1, true), 0);
	h_free(&h);
}
END_TEST

START_TEST(pfs_refused_by_the_responder)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.pfs = " InitiateWithPfs Group19\n AcceptablePfs Group19\n";
	b.pfs = " InitiateWithPfs Group14\n AcceptablePfs Group14\n AcceptablePfs Group2\n";
	setup2(&h, &a, &b);
	activate(&h, 0);
	h_run(&h, 30000);
	CHECK_LOG("EZD1022I no proposal chosen for IpDynVpnAction vpn (IpFilterRule r) "
			    "from 198.18.0.1, 198.19.2.1 <-> 198.19.1.1: offered PFS Group19, "
			    "acceptable PFS: Group2 Group14");
	CHECK_LOG("Quick Mode refused by 198.18.0.2: NO-PROPOSAL-CHOSEN");
	ck_assert_uint_eq(h_count_p1(&h, 0, true), 1);      /* phase 1 stays */
	ck_assert_uint_eq(h_count_p2(&h, 0, false), 0);
	ck_assert_uint_eq(h_count_p2(&h, 1, false), 0);
	h_free(&h);
}
END_TEST

static int seen, drop_nth;
static bool drop_one(struct harness *h, const struct h_packet *p, void *ctx)
{
	(void)h;
	(void)p;
	(void)ctx;
	return ++seen != drop_nth;
}

START_TEST(lost_packets_are_retransmitted)
{
	/* lose each message of the negotiation in turn (MM1-6, QM1-3) */
	for (int n = 1; n <= 9; n++) {
		struct harness h;
		struct side a = side_a(), b = side_b();
		setup2(&h, &a, &b);
		h.filter = drop_one;
		seen = 0;
		drop_nth = n;
		activate(&h, 0);
		h_run(&h, 60000);
		expect_up(&h);
		expect_same_keys(&h);
		ck_assert_uint_eq(h.dropped, 1);
		h_free(&h);
	}
}
END_TEST

START_TEST(duplicated_packets_change_nothing)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	h.duplicate = true;
	bring_up(&h);
	expect_same_keys(&h);
	ck_assert_uint_eq(h_log_count("Dynamic tunnel Y1 activated"), 2);
	h_free(&h);
}
END_TEST

START_TEST(silent_peer_gives_up_after_the_retries)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	h.nodes[1].down = true;
	activate(&h, 0);
	h_run(&h, 120000);
	CHECK_LOG("failed (initiator, state MM_SA_SENT): no answer after 3 retransmissions");
	ck_assert_uint_eq(h_count_p1(&h, 0, false), 0);
	ck_assert_ptr_null(TAILQ_FIRST(&h.nodes[0].ike->ytunnels));
	ck_assert_ptr_null(TAILQ_FIRST(&h.nodes[0].ike->ktunnels));
	/* IkeRetries 3 with IkeInitWait 1 and IkeMaxWait 4: 1 + 3 retransmissions */
	ck_assert_uint_eq(h.dropped, 4);
	h_free(&h);
}
END_TEST

START_TEST(refresh_before_expiry_and_generations)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	bring_up(&h);
	/* phase 2 lives 60 minutes; the initiator refreshes at 83-85% */
	h_advance(&h, 52 * 60 * 1000);
	CHECK_LOG("Dynamic tunnel Y1 refreshed: generation 2");
	CHECK_LOG("Y1.2: refresh offering IpDataOffer d1 first with PFS Group14 (SA cache: "
			    "agreed at generation 1)");
	CHECK_LOG("dynamic tunnel Y1 generation 1 deleted: replaced by a newer generation");
	ck_assert_uint_eq(h_count_p2(&h, 0, true), 1);
	ck_assert_uint_eq(h_count_p2(&h, 1, true), 1);
	expect_same_keys(&h);
	/* phase 1 lives 8 hours: refreshed once, the tunnels keep going */
	h_advance(&h, 7 * 3600 * 1000);
	CHECK_LOG("IKE tunnel K1 refreshed: generation 2");
	CHECK_LOG("K1: refresh offering KeyExchangeOffer o1 first (SA cache: agreed at "
			    "generation 1)");
	CHECK_LOG("IKE tunnel K1 generation 1 deleted: replaced by a newer generation");
	ck_assert_uint_eq(h_count_p1(&h, 0, true), 1);
	ck_assert_uint_eq(h_count_p1(&h, 1, true), 1);
	ck_assert_uint_eq(h_count_p2(&h, 0, true), 1);
	ck_assert_uint_eq(h_count_p2(&h, 1, true), 1);
	struct ytunnel *y = h_ytunnel(&h, 0, 1);
	ck_assert_ptr_nonnull(y);
	ck_assert_uint_ge(y->generation, 8);
	ck_assert_uint_eq(h_ktunnel(&h, 0, 1)->generation, 2);
	expect_same_keys(&h);
	h_free(&h);
}
END_TEST

START_TEST(expiry_when_the_peer_is_gone)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	bring_up(&h);
	h.nodes[1].down = true;
	h_advance(&h, 61 * 60 * 1000);
	CHECK_LOG("Quick Mode refresh failed (initiator): no answer after 3 retransmissions");
	CHECK_LOG("EZD0813I dynamic tunnel Y1 generation 1 expired");
	ck_assert_uint_eq(h_count_p2(&h, 0, false), 0);
	h_advance(&h, 8 * 3600 * 1000);
	CHECK_LOG("EZD0995I IKE tunnel K1 generation 1 expired");
	ck_assert_uint_eq(h_count_p1(&h, 0, false), 0);
	h_free(&h);
}
END_TEST

START_TEST(dead_peer_detection)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.kepolicy = b.kepolicy = " LivenessInterval 10\n";
	setup2(&h, &a, &b);
	bring_up(&h);
	/* while both live, idle periods bring probes, they are answered and
	 * nothing else happens */
	h_advance(&h, 120 * 1000);
	struct p1sa *p1 = LIST_FIRST(&h.nodes[0].ike->p1_all);
	ck_assert_uint_ge(p1->dpd_seq, 5);
	ck_assert(!p1->dpd_outstanding);
	expect_up(&h);
	h.nodes[1].down = true;
	h_advance(&h, 120 * 1000);
	CHECK_LOG("dead peer detection: 198.18.0.2 did not answer");
	ck_assert_uint_eq(h_count_p1(&h, 0, false), 0);
	ck_assert_uint_eq(h_count_p2(&h, 0, false), 0);
	h_free(&h);
}
END_TEST

START_TEST(deletes_reach_the_peer)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	bring_up(&h);
	ytunnel_deactivate(h.nodes[0].ike, h_ytunnel(&h, 0, 1), "test");
	h_run(&h, 1000);
	ck_assert_uint_eq(h_count_p2(&h, 1, false), 0);
	CHECK_LOG("dynamic tunnel Y1 generation 1 deleted: deleted by the peer");
	ktunnel_deactivate(h.nodes[1].ike, h_ktunnel(&h, 1, 1), "test");
	h_run(&h, 1000);
	ck_assert_uint_eq(h_count_p1(&h, 0, false), 0);
	CHECK_LOG("IKE tunnel K1 generation 1 deleted: deleted by the peer");
	h_free(&h);
}
END_TEST

/* B accepts only A's second offers: A's refreshes work from the SA cache and
 * fail after the cache is cleared. */
START_TEST(sa_cache_refresh)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.mode = b.mode = "Aggressive";
	a.ke_offers = "o1 o2";
	b.ke_offers = "o2";
	a.data_offers = "d2 d1";
	b.data_offers = "d1";
	a.pfs = " InitiateWithPfs Group14\n AcceptablePfs Group14\n AcceptablePfs Group19\n";
	b.pfs = " InitiateWithPfs Group19\n AcceptablePfs Group19\n";
	setup2(&h, &a, &b);
	activate(&h, 1);                      /* B starts */
	h_run(&h, 30000);
	expect_up(&h);
	char err[200];
	struct ktunnel *k = h_ktunnel(&h, 0, 1);
	ck_assert_str_eq(k->cur->agreed.offer_name, "o2");
	ck_assert_int_eq(ktunnel_refresh(h.nodes[0].ike, k, true, err, sizeof err), 0);
	h_run(&h, 30000);
	CHECK_LOG("K1: refresh offering KeyExchangeOffer o2 first (SA cache");
	ck_assert_uint_eq(h_ktunnel(&h, 0, 1)->generation, 2);
	struct ytunnel *y = h_ytunnel(&h, 0, 1);
	ck_assert_int_eq(ytunnel_refresh(h.nodes[0].ike, y, true, err, sizeof err), 0);
	h_run(&h, 30000);
	CHECK_LOG("Y1.2: refresh offering IpDataOffer d1 first with PFS Group19 (SA cache");
	ck_assert_uint_eq(h_ytunnel(&h, 0, 1)->generation, 2);
	ck_assert_uint_eq(sacache_clear(&h.nodes[0].ike->cache, NULL), 2);
	y = h_ytunnel(&h, 0, 1);
	ck_assert_int_eq(ytunnel_refresh(h.nodes[0].ike, y, true, err, sizeof err), 0);
	h_run(&h, 30000);
	CHECK_LOG("Y1.3: refresh offering IpDataOffer d2 first with PFS Group14 (no SA cache entry)");
	CHECK_LOG("Quick Mode refresh failed (initiator): the peer answered NO-PROPOSAL-CHOSEN");
	k = h_ktunnel(&h, 0, 1);
	ck_assert_int_eq(ktunnel_refresh(h.nodes[0].ike, k, true, err, sizeof err), 0);
	h_run(&h, 30000);
	CHECK_LOG("K1: refresh offering KeyExchangeOffer o1 first (no SA cache entry)");
	CHECK_LOG("EZD1021I no proposal chosen for Aggressive Mode from 198.18.0.1");
	ck_assert_uint_eq(h_ktunnel(&h, 0, 1)->generation, 2);
	ck_assert_uint_eq(h_ytunnel(&h, 0, 1)->generation, 2);
	h_free(&h);
}
END_TEST

/* Keeps a copy of the drop_nth packet delivered (nothing is dropped). */
static struct h_packet nth_seen;
static bool keep_nth(struct harness *h, const struct h_packet *p, void *ctx)
{
	(void)h;
	(void)ctx;
	if (++seen == drop_nth)
		nth_seen = *p;
	return true;
}

START_TEST(half_open_limit)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	seen = 0;
	drop_nth = 1;
	memset(&nth_seen, 0, sizeof nth_seen);
	h.filter = keep_nth;
	h.nodes[0].ike->limits.half_open_per_peer = 4;
	activate(&h, 1);
	h_run(&h, 30000);
	expect_up(&h);
	ck_assert_uint_eq(nth_seen.data[18], EXCH_MAIN);
	/* replay B's first message with fresh cookies, twenty times */
	for (int i = 0; i < 20; i++) {
		nth_seen.data[0] = (uint8_t)(0xa0 + i);
		h_inject(&h, 0, B_ADDR, 500, nth_seen.data, nth_seen.len);
	}
	ck_assert_uint_eq(h.nodes[0].ike->half_open, 4);
	CHECK_LOG("half-open ISAKMP SA limit reached");
	/* they expire; the established SA is untouched */
	h_advance(&h, 120 * 1000);
	ck_assert_uint_eq(h.nodes[0].ike->half_open, 0);
	ck_assert_uint_eq(h_count_p1(&h, 0, false), 1);
	expect_up(&h);
	h_free(&h);
}
END_TEST

static struct h_packet quick1, info1;
static uint8_t exch_of(const struct h_packet *p)
{
	size_t off = p->to.port == 4500 ? 4 : 0;
	return p->len > off + 28 ? p->data[off + 18] : 0;
}

static bool keep_first_quick_and_info(struct harness *h, const struct h_packet *p, void *ctx)
{
	(void)h;
	(void)ctx;
	if (!quick1.len && exch_of(p) == EXCH_QUICK)
		quick1 = *p;
	if (!info1.len && exch_of(p) == EXCH_INFO)
		info1 = *p;
	return true;
}

START_TEST(replays_are_ignored)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	memset(&quick1, 0, sizeof quick1);
	memset(&info1, 0, sizeof info1);
	h.filter = keep_first_quick_and_info;
	bring_up(&h);
	ck_assert_uint_gt(quick1.len, 0);
	/* the first Quick Mode message again, as an attacker would replay it:
	 * no new SA, no answer */
	uint64_t sent = h.nodes[1].ike->tx_packets;
	h_inject(&h, 1, A_ADDR, quick1.to.port, quick1.data, quick1.len);
	ck_assert_uint_eq(h.nodes[1].ike->tx_packets, sent);
	ck_assert_uint_eq(h_count_p2(&h, 1, false), 1);
	/* a Delete, replayed after the tunnel was set up again, deletes nothing */
	ytunnel_deactivate(h.nodes[0].ike, h_ytunnel(&h, 0, 1), "test");
	h_run(&h, 1000);
	ck_assert_uint_gt(info1.len, 0);
	activate(&h, 0);
	h_run(&h, 30000);
	ck_assert_uint_eq(h_count_p2(&h, 1, true), 1);
	h_log_clear();
	h_inject(&h, 1, A_ADDR, info1.to.port, info1.data, info1.len);
	CHECK_LOG("message ID already used (replay)");
	ck_assert_uint_eq(h_count_p2(&h, 1, true), 1);
	h_free(&h);
}
END_TEST

START_TEST(initial_contact_after_a_reboot)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	char pb[8192];
	setup2(&h, &a, &b);
	bring_up(&h);
	h_restart(&h, 1, policy(&b, pb, sizeof pb));
	activate(&h, 1);
	h_run(&h, 30000);
	CHECK_LOG("K1: INITIAL-CONTACT from 198.18.0.2");
	CHECK_LOG("deleted: the peer sent INITIAL-CONTACT");
	/* only the new SAs are left on A */
	ck_assert_uint_eq(h_count_p1(&h, 0, false), 1);
	ck_assert_uint_eq(h_count_p2(&h, 0, false), 1);
	expect_same_keys(&h);
	h_free(&h);
}
END_TEST

START_TEST(gcm_and_transport)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = b.data_offers = "d2";
	setup2(&h, &a, &b);
	bring_up(&h);
	expect_same_keys(&h);
	struct p2sa *p2 = LIST_FIRST(&h.nodes[0].ike->p2_all);
	ck_assert_int_eq(p2->agreed.enc_alg, ENC_AES_GCM_16);
	CHECK_LOG("ESP AES_GCM_16-256");
	h_free(&h);
	/* host to host in transport mode */
	a = side_a();
	b = side_b();
	a.mynet = b.peernet = A_ADDR;
	a.peernet = b.mynet = B_ADDR;
	a.data_offers = b.data_offers = "d3";
	setup2(&h, &a, &b);
	bring_up(&h);
	CHECK_LOG("transport, PFS Group14");
	h_free(&h);
}
END_TEST

START_TEST(nat_in_front_of_the_initiator)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	b.peer_loc = "198.18.7.7";           /* A's public address, beyond its NAT */
	a.kepolicy = b.kepolicy = " NatKeepAliveInterval 20\n";
	setup2(&h, &a, &b);
	h.nat_node = 0;
	ck_assert_int_eq(ip_addr_parse("198.18.7.7", &h.nat_public), 0);
	h.nat_port_base = 20000;
	bring_up(&h);
	expect_same_keys(&h);
	struct p1sa *pa = LIST_FIRST(&h.nodes[0].ike->p1_all), *pb = LIST_FIRST(&h.nodes[1].ike->p1_all);
	ck_assert(pa->nat_local && !pa->nat_remote);
	ck_assert(pb->nat_remote && !pb->nat_local);
	ck_assert(pa->natt_port && pb->natt_port);
	ck_assert_uint_eq(pb->remote.port, 24500);       /* floated, through the NAT */
	ck_assert(LIST_FIRST(&h.nodes[0].ike->p2_all)->agreed.udp);
	CHECK_LOG("K1: NAT detected in front of this host");
	CHECK_LOG("udp-encap 4500->24500");
	/* the host behind the NAT keeps its mapping alive */
	h_advance(&h, 61 * 1000);
	ck_assert_uint_ge(h.keepalives, 3);
	/* the NAT forgets and maps anew: the next authenticated message moves
	 * the peer's port, and the answers follow it */
	h.nat_port_base = 30000;
	char err[100];
	ck_assert_int_eq(ytunnel_refresh(h.nodes[0].ike, h_ytunnel(&h, 0, 1), true, err, sizeof err), 0);
	h_run(&h, 30000);
	CHECK_LOG("K1: the peer's NAT-T port changed from 24500 to 34500");
	CHECK_LOG("Dynamic tunnel Y1 refreshed: generation 2");
	ck_assert_uint_eq(pb->remote.port, 34500);
	h_free(&h);
}
END_TEST

START_TEST(ipv6_endpoints_and_selectors)
{
	struct harness h;
	struct side a = { .me = "2001:2::1", .peer = "2001:2::2", .mynet = "2001:2:0:1::/64",
			  .peernet = "2001:2:0:2::/64" };
	struct side b = { .me = "2001:2::2", .peer = "2001:2::1", .mynet = "2001:2:0:2::/64",
			  .peernet = "2001:2:0:1::/64" };
	char pa[8192], pb[8192];
	h_init(&h);
	ck_assert_int_eq(h_add(&h, "2001:2::1", policy(&a, pa, sizeof pa)), 0);
	ck_assert_int_eq(h_add(&h, "2001:2::2", policy(&b, pb, sizeof pb)), 1);
	bring_up(&h);
	expect_same_keys(&h);
	CHECK_LOG("2001:2:0:1::/64 <-> 2001:2:0:2::/64 via 2001:2::2");
	CHECK_LOG("[2001:2::1] <-> 2001:2::2[2001:2::2]");
	h_free(&h);
}
END_TEST

START_TEST(user_fqdn_and_key_id_identities)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.lid = b.rid = "UserAtFqdn ike@a.example";
	a.rid = b.lid = "KeyID Hex 0a0b0c0d0e0f";
	setup2(&h, &a, &b);
	bring_up(&h);
	struct p1sa *pb = LIST_FIRST(&h.nodes[1].ike->p1_all), *pa = LIST_FIRST(&h.nodes[0].ike->p1_all);
	ck_assert_str_eq(pb->peer_id_str, "ike@a.example");
	ck_assert_str_eq(pa->peer_id_str, "0a0b0c0d0e0f");
	h_free(&h);
	/* a wildcard remote identity */
	a = side_a();
	b = side_b();
	a.lid = "UserAtFqdn ike@a.example";
	b.rid = "UserAtFqdn *@a.example";
	setup2(&h, &a, &b);
	bring_up(&h);
	h_free(&h);
}
END_TEST

static bool forged_sent;
static bool forge_mm2_first(struct harness *h, const struct h_packet *p, void *ctx)
{
	(void)ctx;
	if (forged_sent || exch_of(p) != EXCH_MAIN || p->data[8] == 0)
		return true;
	/* the responder's first answer: let a forgery with another responder
	 * cookie and a mangled SA payload arrive first */
	struct h_packet f = *p;
	f.data[8] ^= 0xff;
	f.data[f.len - 1] ^= 0xff;
	f.data[ISAKMP_HDR_LEN + 4 + 8 + 8 + 5] = 99;      /* transform id */
	forged_sent = true;
	h_inject(h, 0, B_ADDR, 500, f.data, f.len);
	return true;
}

START_TEST(forged_first_answer_does_not_lock_out_the_real_one)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	forged_sent = false;
	h.filter = forge_mm2_first;
	activate(&h, 0);
	h_run(&h, 30000);
	ck_assert(forged_sent);
	expect_up(&h);
	expect_same_keys(&h);
	h_free(&h);
}
END_TEST

START_TEST(responder_lifetime_shortens_the_sa)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	b.data_offers = "d4";
	setup2(&h, &a, &b);
	bring_up(&h);
	CHECK_LOG("Y1: RESPONDER-LIFETIME: lifetime 1800s");
	ck_assert_uint_eq(LIST_FIRST(&h.nodes[0].ike->p2_all)->agreed.life_secs, 1800);
	ck_assert_uint_eq(LIST_FIRST(&h.nodes[1].ike->p2_all)->agreed.life_secs, 1800);
	h_free(&h);
}
END_TEST

START_TEST(renegotiation_after_a_tunnel_went_down_uses_the_cache)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = "d2 d1";
	b.data_offers = "d1";
	setup2(&h, &a, &b);
	bring_up(&h);
	CHECK_LOG("Y1.1: negotiation offering IpDataOffer d2 first with PFS Group14 (no SA cache entry)");
	ytunnel_deactivate(h.nodes[0].ike, h_ytunnel(&h, 0, 1), "test");
	h_run(&h, 1000);
	activate(&h, 0);
	h_run(&h, 30000);
	CHECK_LOG("Y2.1: negotiation offering IpDataOffer d1 first with PFS Group14 (SA cache: "
		  "agreed at generation 1)");
	ck_assert_uint_eq(h_count_p2(&h, 0, true), 1);
	h_free(&h);
}
END_TEST

/* ---- lifesize ------------------------------------------------------------------ */

static struct p2sa *cur_p2(struct harness *h, int i)
{
	struct ytunnel *yt = h_ytunnel(h, i, 1);
	ck_assert_ptr_nonnull(yt);
	ck_assert_ptr_nonnull(yt->cur);
	return yt->cur;
}

/* The byte limits node i's data path was given for both SAs of p2. */
static void expect_limits(struct harness *h, int i, const struct p2sa *p2, uint64_t soft,
			  uint64_t hard)
{
	uint32_t spis[2] = { p2->spi_in, p2->spi_out };
	for (int d = 0; d < 2; d++) {
		const struct h_sa *s = h_kernel_sa(h, i, spis[d]);
		ck_assert_ptr_nonnull(s);
		ck_assert_uint_eq(s->sa.soft_bytes, soft);
		ck_assert_uint_eq(s->sa.hard_bytes, hard);
	}
}

START_TEST(lifesize_limits_handed_to_the_kernel)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = b.data_offers = "d5";
	setup2(&h, &a, &b);
	bring_up(&h);
	ck_assert_uint_eq(cur_p2(&h, 0)->agreed.life_kb, 1000);
	ck_assert_uint_eq(cur_p2(&h, 1)->agreed.life_kb, 1000);
	/* 1024000 bytes; the initiator refreshes at 85%, the responder at 92% */
	expect_limits(&h, 0, cur_p2(&h, 0), 870400, 1024000);
	expect_limits(&h, 1, cur_p2(&h, 1), 942080, 1024000);
	CHECK_LOG("lifesize 870400/1024000 bytes");
	h_free(&h);
	/* B accepts at most 500K: it answers with 500K and says so, and both
	 * sides give their data paths the shorter lifesize */
	a = side_a();
	b = side_b();
	a.data_offers = "d5";
	b.data_offers = "d6";
	setup2(&h, &a, &b);
	bring_up(&h);
	CHECK_LOG("Y1: RESPONDER-LIFETIME: lifetime 3600s, lifesize 500K");
	ck_assert_uint_eq(cur_p2(&h, 0)->agreed.life_kb, 500);
	ck_assert_uint_eq(cur_p2(&h, 1)->agreed.life_kb, 500);
	expect_limits(&h, 0, cur_p2(&h, 0), 435200, 512000);
	expect_limits(&h, 1, cur_p2(&h, 1), 471040, 512000);
	h_free(&h);
}
END_TEST

START_TEST(lifesize_soft_limit_refreshes_once)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = b.data_offers = "d5";
	setup2(&h, &a, &b);
	bring_up(&h);
	struct p2sa *old = cur_p2(&h, 0);
	uint32_t in1 = old->spi_in, out1 = old->spi_out;
	struct p2_attrs agreed1 = old->agreed;
	struct kernel_sel sel_out1 = h_kernel_sa(&h, 0, out1)->sa.sel;
	h_log_clear();
	/* A's outbound SA reaches its soft limit, then its inbound one: one refresh */
	h_traffic(&h, 0, out1, 870400);
	h_traffic(&h, 0, in1, 900000);
	CHECK_LOG("Dynamic tunnel Y1: lifesize reached, refreshing (generation 1, outbound SA spi");
	ck_assert_uint_eq(h_log_count("lifesize reached, refreshing"), 1);
	CHECK_LOG("lifesize reached on the inbound SA");
	CHECK_LOG("the pair's other SA reached it first");
	/* the refresh itself needs no timer; the old pair lives on for 5 s */
	h_run(&h, 1000);
	CHECK_LOG("Y1.2: refresh offering IpDataOffer d5 first with PFS Group14 (SA cache: agreed "
		  "at generation 1)");
	ck_assert_uint_eq(h_log_count("Dynamic tunnel Y1 refreshed: generation 2"), 2);
	ck_assert_uint_eq(h_log_count("generation 3"), 0);
	ck_assert_uint_eq(h_ytunnel(&h, 0, 1)->generation, 2);
	ck_assert_uint_eq(h_ytunnel(&h, 1, 1)->generation, 2);
	/* the new pair: the agreed offer again, new SPIs, the same selectors */
	struct p2sa *now = cur_p2(&h, 0);
	ck_assert_uint_eq(now->generation, 2);
	ck_assert(now->from_cache);
	ck_assert(p2_attrs_same(&now->agreed, &agreed1));
	ck_assert_uint_eq(now->agreed.life_kb, 1000);
	ck_assert_uint_ne(now->spi_in, in1);
	ck_assert_uint_ne(now->spi_out, out1);
	const struct h_sa *s = h_kernel_sa(&h, 0, now->spi_out);
	ck_assert_ptr_nonnull(s);
	ck_assert_mem_eq(&s->sa.sel, &sel_out1, sizeof sel_out1);
	ck_assert_uint_eq(s->bytes, 0);
	expect_limits(&h, 0, now, 870400, 1024000);
	/* the replaced pair reaching more limits on either side refreshes nothing */
	h_traffic(&h, 1, out1, 950000);                 /* B's inbound: A's outbound */
	h_traffic(&h, 1, in1, 950000);
	h_run(&h, 1000);
	ck_assert_uint_eq(h_log_count("lifesize reached, refreshing"), 1);
	ck_assert_uint_eq(h_ytunnel(&h, 0, 1)->generation, 2);
	/* an event for an SA iked does not have changes nothing */
	struct kernel_event ev = { .dst = now->p1->local.ip, .spi = 0x4242, .proto = IPPROTO_ESP };
	kernel_report(h.nodes[0].ike->kernel, &ev);
	CHECK_LOG("soft limit of SA spi 00004242 to 198.18.0.1 proto 50: not an installed SA");
	/* after the grace period the old pair is gone from both data paths,
	 * without an attempt to remove what was not there */
	h_advance(&h, 6000);
	CHECK_LOG("dynamic tunnel Y1 generation 1 deleted: replaced by a newer generation");
	ck_assert_uint_eq(h_kernel_sa_count(&h, 0), 2);
	ck_assert_uint_eq(h_kernel_sa_count(&h, 1), 2);
	ck_assert(!h_log_has("removing SA"));
	expect_up(&h);
	expect_same_keys(&h);
	h_free(&h);
}
END_TEST

/* A soft limit while a refresh of the tunnel is already under way (the
 * timer's, or the operator's) starts no second one. */
START_TEST(lifesize_soft_limit_during_a_refresh)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = b.data_offers = "d5";
	setup2(&h, &a, &b);
	bring_up(&h);
	struct p2sa *pa = cur_p2(&h, 0);
	char err[200];
	ck_assert_int_eq(ytunnel_refresh(h.nodes[0].ike, h_ytunnel(&h, 0, 1), true, err, sizeof err),
			 0);
	h_traffic(&h, 0, pa->spi_out, 870400);
	CHECK_LOG("Y1.1: lifesize reached on the outbound SA");
	CHECK_LOG("already being replaced");
	ck_assert(!h_log_has("lifesize reached, refreshing"));
	h_run(&h, 1000);
	ck_assert_uint_eq(h_ytunnel(&h, 0, 1)->generation, 2);
	ck_assert_uint_eq(h_ytunnel(&h, 1, 1)->generation, 2);
	ck_assert(!h_log_has("refresh not started"));
	h_free(&h);
}
END_TEST

/* The responder refreshes on its own soft limit as it does on its timer,
 * unless its IpDynVpnAction leaves refreshing to the peer. */
START_TEST(lifesize_soft_limit_on_the_responder)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = b.data_offers = "d5";
	setup2(&h, &a, &b);
	bring_up(&h);
	struct p2sa *pb = cur_p2(&h, 1);
	ck_assert_int_eq(pb->role, IKE_RESPONDER);
	h_traffic(&h, 1, pb->spi_out, 942080);
	CHECK_LOG("Dynamic tunnel Y1: lifesize reached, refreshing (generation 1, outbound SA");
	h_run(&h, 30000);
	ck_assert_uint_eq(h_ytunnel(&h, 1, 1)->generation, 2);
	ck_assert_int_eq(cur_p2(&h, 1)->role, IKE_INITIATOR);
	h_free(&h);

	a = side_a();
	b = side_b();
	a.data_offers = b.data_offers = "d5";
	b.pfs = " InitiateWithPfs Group14\n AcceptablePfs Group14\n Initiation RemoteOnly\n";
	setup2(&h, &a, &b);
	bring_up(&h);
	pb = cur_p2(&h, 1);
	h_traffic(&h, 1, pb->spi_out, 942080);
	h_traffic(&h, 1, pb->spi_in, 942080);
	CHECK_LOG("Dynamic tunnel Y1: lifesize reached, the peer refreshes");
	ck_assert_uint_eq(h_log_count("the peer refreshes"), 1);
	ck_assert(!h_log_has("lifesize reached, refreshing"));
	h_run(&h, 30000);
	ck_assert_uint_eq(h_ytunnel(&h, 1, 1)->generation, 1);
	ck_assert_uint_eq(h_count_p2(&h, 1, false), 1);
	/* the peer, the initiator, does when its own limit comes */
	struct p2sa *pa = cur_p2(&h, 0);
	h_traffic(&h, 0, pa->spi_in, 870400);
	h_run(&h, 30000);
	ck_assert_uint_eq(h_ytunnel(&h, 1, 1)->generation, 2);
	h_free(&h);
}
END_TEST

START_TEST(lifesize_hard_limit_removes_the_sa)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = b.data_offers = "d5";
	setup2(&h, &a, &b);
	bring_up(&h);
	/* B is gone: the refresh at the soft limit gets no answer, and the
	 * hard limit ends the SA pair */
	h.nodes[1].down = true;
	struct p2sa *pa = cur_p2(&h, 0);
	h_traffic(&h, 0, pa->spi_out, 1024000);
	CHECK_LOG("Dynamic tunnel Y1: lifesize reached, refreshing");
	CHECK_LOG("EZD0813I dynamic tunnel Y1 generation 1 expired: lifesize 1000K reached");
	CHECK_LOG("EZD0812I dynamic tunnel Y1 generation 1 deleted: lifesize reached");
	ck_assert_uint_eq(h_count_p2(&h, 0, true), 0);
	ck_assert_uint_eq(h_kernel_sa_count(&h, 0), 0);
	ck_assert(!h_log_has("removing SA"));
	h_advance(&h, 120 * 1000);
	CHECK_LOG("Quick Mode refresh failed (initiator): no answer after 3 retransmissions");
	ck_assert_uint_eq(h_count_p2(&h, 0, false), 0);
	ck_assert_ptr_null(TAILQ_FIRST(&h.nodes[0].ike->ytunnels));
	h_free(&h);

	/* a hard expiry the data path reports before iked's own timer (its
	 * time limit): the pair goes as at the end of its lifetime, and the
	 * peer is told */
	a = side_a();
	b = side_b();
	a.data_offers = b.data_offers = "d5";
	setup2(&h, &a, &b);
	bring_up(&h);
	h_kernel_expire(&h, 0, cur_p2(&h, 0)->spi_in, true);
	CHECK_LOG("EZD0813I dynamic tunnel Y1 generation 1 expired");
	CHECK_LOG("EZD0812I dynamic tunnel Y1 generation 1 deleted: lifetime expired");
	h_run(&h, 1000);
	CHECK_LOG("dynamic tunnel Y1 generation 1 deleted: deleted by the peer");
	ck_assert_uint_eq(h_count_p2(&h, 0, false), 0);
	ck_assert_uint_eq(h_count_p2(&h, 1, false), 0);
	ck_assert_uint_eq(h_kernel_sa_count(&h, 0), 0);
	ck_assert_uint_eq(h_kernel_sa_count(&h, 1), 0);
	ck_assert(!h_log_has("removing SA"));
	h_free(&h);
}
END_TEST

/* The value of a "Name: value" line of a report. */
static void report_field(const char *report, const char *name, char *out, size_t len)
{
	const char *p = strstr(report, name);
	ck_assert_msg(p != NULL, "no %s in the report:\n%s", name, report);
	p += strlen(name);
	p += strspn(p, " ");
	size_t n = strcspn(p, "\n");
	snprintf(out, len, "%.*s", (int)n, p);
}

static char *dyn_report(struct iked *ike)
{
	struct ctl_req r = { .primary = 'y', .verb = "display", .format = FMT_DETAIL };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	display_dyn_tunnels(ike, &r, f);
	fclose(f);
	return buf;
}

START_TEST(display_shows_byte_counts)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	a.data_offers = b.data_offers = "d5";
	setup2(&h, &a, &b);
	bring_up(&h);
	struct p2sa *pa = cur_p2(&h, 0);
	h_traffic(&h, 0, pa->spi_out, 5000);
	h_traffic(&h, 0, pa->spi_in, 7000);
	char *rep = dyn_report(h.nodes[0].ike), v[64];
	report_field(rep, "Lifesize:", v, sizeof v);
	ck_assert_str_eq(v, "1000K");
	report_field(rep, "LifesizeRefresh:", v, sizeof v);
	ck_assert_str_eq(v, "850K");
	report_field(rep, "CurrentByteCount:", v, sizeof v);
	ck_assert_str_eq(v, "7000b");
	free(rep);
	/* a backend without counters (the log backend) */
	struct kernel *k = h.nodes[0].ike->kernel;
	const struct kernel_ops *sim = k->ops;
	k->ops = &kernel_log_ops;
	rep = dyn_report(h.nodes[0].ike);
	report_field(rep, "LifesizeRefresh:", v, sizeof v);
	ck_assert_str_eq(v, "n/a");
	report_field(rep, "CurrentByteCount:", v, sizeof v);
	ck_assert_str_eq(v, "n/a");
	free(rep);
	k->ops = sim;
	h_free(&h);
}
END_TEST

/* Each change of state is one debug line; a change that is not a step of
 * the machine is refused and says so. */
START_TEST(state_changes_are_logged_and_checked)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	bring_up(&h);
	static const char *const path[] = {
		"K1: NONE -> MM_SA_SENT", "K1: MM_SA_SENT -> MM_KE_SENT",
		"K1: MM_KE_SENT -> MM_AUTH_SENT", "K1: MM_AUTH_SENT -> DONE",
		"K1: NONE -> MM_SA_REPLIED", "K1: MM_SA_REPLIED -> MM_KE_REPLIED",
		"K1: MM_KE_REPLIED -> DONE", "Y1: NONE -> WAIT_P1", "Y1.1: WAIT_P1 -> QM_SENT",
		"Y1.1: QM_SENT -> DONE", "Y1.1: NONE -> QM_REPLIED", "Y1.1: QM_REPLIED -> DONE",
	};
	for (size_t i = 0; i < sizeof path / sizeof path[0]; i++)
		CHECK_LOG(path[i]);
	struct p1sa *p1 = TAILQ_FIRST(&h.nodes[0].ike->ktunnels)->cur;
	struct p2sa *p2 = TAILQ_FIRST(&h.nodes[0].ike->ytunnels)->cur;
	ck_assert_int_eq(p1_set_state(p1, P1_MM_I_KE), -1);
	ck_assert_int_eq(p1->state, P1_ESTABLISHED);
	CHECK_LOG("K1: DONE -> MM_KE_SENT refused: not a step of phase 1");
	ck_assert_int_eq(p2_set_state(p2, P2_I_SENT), -1);
	ck_assert_int_eq(p2->state, P2_ESTABLISHED);
	CHECK_LOG("Y1.1: DONE -> QM_SENT refused: not a step of phase 2");
	/* deleting is always a step, and the last one */
	ytunnel_deactivate(h.nodes[0].ike, h_ytunnel(&h, 0, 1), "test");
	ck_assert_uint_eq(h_log_count("Y1.1: DONE -> DELETED"), 1);
	h_run(&h, 1000);                  /* and the peer's, deleted by its Delete */
	ck_assert_uint_eq(h_log_count("Y1.1: DONE -> DELETED"), 2);
	h_free(&h);
}
END_TEST

/* A deleted phase 1 SA lingers: the peer's last message, sent again, gets
 * our last message again (our answer may be what was lost), anything else
 * is dropped, and after the linger the SA is gone. */
START_TEST(deleted_phase1_sa_lingers_for_retransmissions)
{
	struct harness h;
	struct side a = side_a(), b = side_b();
	setup2(&h, &a, &b);
	seen = 0;
	drop_nth = 5;                     /* Main Mode message 5, A to B */
	memset(&nth_seen, 0, sizeof nth_seen);
	h.filter = keep_nth;
	bring_up(&h);
	ck_assert_uint_eq(exch_of(&nth_seen), EXCH_MAIN);
	ck_assert(nth_seen.data[19] & ISAKMP_FLAG_ENC);
	h.filter = NULL;
	ktunnel_deactivate(h.nodes[1].ike, h_ktunnel(&h, 1, 1), "test");
	h_run(&h, 1000);
	ck_assert_uint_eq(h_count_p1(&h, 1, false), 0);
	ck_assert_uint_eq(h_count_p1(&h, 0, false), 0);
	/* within the linger: answered once per retransmission */
	h_advance(&h, 2000);
	uint64_t sent = h.nodes[1].ike->tx_packets;
	h_inject(&h, 1, A_ADDR, nth_seen.to.port, nth_seen.data, nth_seen.len);
	ck_assert_uint_eq(h.nodes[1].ike->tx_packets, sent + 1);
	h_inject(&h, 1, A_ADDR, nth_seen.to.port, nth_seen.data, nth_seen.len);
	ck_assert_uint_eq(h.nodes[1].ike->tx_packets, sent + 2);
	/* anything else under it is not */
	struct h_packet other = nth_seen;
	other.data[other.len - 1] ^= 1;
	h_log_clear();
	h_inject(&h, 1, A_ADDR, other.to.port, other.data, other.len);
	ck_assert_uint_eq(h.nodes[1].ike->tx_packets, sent + 2);
	CHECK_LOG("message for a deleted ISAKMP SA");
	/* after the linger it is gone */
	h_advance(&h, 10000);
	h_log_clear();
	h_inject(&h, 1, A_ADDR, nth_seen.to.port, nth_seen.data, nth_seen.len);
	ck_assert_uint_eq(h.nodes[1].ike->tx_packets, sent + 2);
	CHECK_LOG("no ISAKMP SA with these cookies");
	h_free(&h);
}
END_TEST

/* Every tunnel is shown, oldest first, however many there are. */
START_TEST(display_shows_every_tunnel)
{
	struct harness h;
	struct side a = side_a();
	char pa[8192];
	h_init(&h);
	h_add(&h, A_ADDR, policy(&a, pa, sizeof pa));
	struct iked *ike = h.nodes[0].ike;
	struct ikeaddr local = { .port = 500 }, remote = { .port = 500 };
	ck_assert_int_eq(ip_addr_parse(A_ADDR, &local.ip), 0);
	ck_assert_int_eq(ip_addr_parse("198.18.0.0", &remote.ip), 0);
	enum { N = 5000 };
	for (unsigned i = 0; i < N; i++) {
		remote.ip.b[2] = (uint8_t)(i >> 8);
		remote.ip.b[3] = (uint8_t)i;
		ck_assert_ptr_nonnull(ktunnel_get(ike, "kr", "ka", &local, &remote));
	}
	struct ctl_req r = { .primary = 'k', .verb = "display", .format = FMT_SHORT };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	display_ike_tunnels(ike, &r, f);
	fclose(f);
	ck_assert_msg(strstr(buf, "\n5000 entries selected\n") != NULL, "%s", buf + len - 80);
	const char *k1 = strstr(buf, "\nK1 "), *k2 = strstr(buf, "\nK2 "), *kn = strstr(buf, "\nK5000 ");
	ck_assert(k1 && k2 && kn && k1 < k2 && k2 < kn);
	free(buf);
	h_free(&h);
}
END_TEST

/* One test case per test, so CK_RUN_CASE=name runs just one. */
#define ADD(s, name)                                   \
	do {                                           \
		TCase *tc_ = tcase_create(#name);      \
		tcase_set_timeout(tc_, 120);           \
		tcase_add_test(tc_, name);             \
		suite_add_tcase(s, tc_);               \
	} while (0)

int main(void)
{
	Suite *s = suite_create("ike_exchange");
	ADD(s, main_mode_psk_and_quick_mode);
	ADD(s, aggressive_mode_fqdn);
	ADD(s, wrong_psk_fails_phase1);
	ADD(s, identity_not_in_the_rule_fails);
	ADD(s, pfs_refused_by_the_responder);
	ADD(s, lost_packets_are_retransmitted);
	ADD(s, duplicated_packets_change_nothing);
	ADD(s, silent_peer_gives_up_after_the_retries);
	ADD(s, refresh_before_expiry_and_generations);
	ADD(s, expiry_when_the_peer_is_gone);
	ADD(s, dead_peer_detection);
	ADD(s, deletes_reach_the_peer);
	ADD(s, sa_cache_refresh);
	ADD(s, half_open_limit);
	ADD(s, replays_are_ignored);
	ADD(s, initial_contact_after_a_reboot);
	ADD(s, gcm_and_transport);
	ADD(s, nat_in_front_of_the_initiator);
	ADD(s, ipv6_endpoints_and_selectors);
	ADD(s, user_fqdn_and_key_id_identities);
	ADD(s, forged_first_answer_does_not_lock_out_the_real_one);
	ADD(s, responder_lifetime_shortens_the_sa);
	ADD(s, renegotiation_after_a_tunnel_went_down_uses_the_cache);
	ADD(s, lifesize_limits_handed_to_the_kernel);
	ADD(s, lifesize_soft_limit_refreshes_once);
	ADD(s, lifesize_soft_limit_during_a_refresh);
	ADD(s, lifesize_soft_limit_on_the_responder);
	ADD(s, lifesize_hard_limit_removes_the_sa);
	ADD(s, display_shows_byte_counts);
	ADD(s, display_shows_every_tunnel);
	ADD(s, state_changes_are_logged_and_checked);
	ADD(s, deleted_phase1_sa_lingers_for_retransmissions);
	return run_suite(s);
}
