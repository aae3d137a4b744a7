/* Proposal selection for both phases, the PFS decision of a responder
 * (AcceptablePfs), lifetimes, and the matching of a responder's answer. */
#include "tests/unit/support.h"
#include "tests/unit/ike_testutil.h"

#include <string.h>

#include "iked/codec.h"
#include "iked/isakmp.h"
#include "iked/proposal.h"
#include "policy/ipsec.h"
#include "policy/schema.h"

static const char *base =
	"IpDataOffer cbc { HowToEncap Tunnel\n HowToEncrypt AES_CBC KeyLength 128\n"
	" HowToAuth ESP HMAC_SHA2_256_128\n RefreshLifetimeProposed 60\n RefreshLifetimeAccepted 30 120\n}\n"
	"IpDataOffer gcm { HowToEncap Tunnel\n HowToEncrypt AES_GCM_16 KeyLength 256\n}\n"
	"IpDataOffer tr { HowToEncap Transport\n HowToEncrypt AES_CBC KeyLength 256\n HowToAuth ESP HMAC_SHA1\n}\n"
	"KeyExchangeOffer k1 { HowToEncrypt AES_CBC KeyLength 256\n HowToAuthMsgs SHA2_384\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group20\n RefreshLifetimeAccepted 60 120\n}\n"
	"KeyExchangeOffer k2 { HowToEncrypt AES_CBC KeyLength 128\n HowToAuthMsgs SHA1\n"
	" HowToAuthPeers PresharedKey\n DHGroup Group2\n}\n"
	"KeyExchangeAction ka { HowToInitiate Main\n KeyExchangeOfferRef k1\n KeyExchangeOfferRef k2\n}\n"
	"KeyExchangeRule kr { LocalSecurityEndpoint { Identity IpAddr 198.18.0.1\n Location 198.18.0.1\n }\n"
	" RemoteSecurityEndpoint { Identity IpAddr 198.18.0.2\n Location 198.18.0.2\n }\n"
	" KeyExchangeActionRef ka\n SharedKey Ascii x\n}\n"
	"KeyExchangePolicy { KeyExchangeRuleRef kr\n}\n"
	"IpGenericFilterAction ps { IpFilterAction IpSec\n}\n"
	"IpFilterRule r { IpSourceAddr 198.19.1.1\n IpDestAddr 198.19.2.1\n"
	" IpGenericFilterActionRef ps\n IpDynVpnActionRef v\n}\n"
	"IpFilterPolicy { IpFilterRuleRef r\n %s}\n"
	"IpDynVpnAction v {\n%s IpDataOfferRef cbc\n IpDataOfferRef gcm\n IpDataOfferRef tr\n}\n";

static struct policy *pol;

static const struct ipsec_policy *load(const char *pfs, const char *fips)
{
	char text[4096];
	/* base has two %s: the IpFilterPolicy extra lines, then the PFS lines */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(text, sizeof text, base, fips, pfs);
#pragma GCC diagnostic pop
	struct diags d;
	diags_init(&d);
	pol = load_text(text, &d);
	if (!pol)
		dump_diags(&d);
	diags_free(&d);
	ck_assert_ptr_nonnull(pol);
	return policy_ipsec(pol);
}

static void unload(void)
{
	policy_unref(pol);
	pol = NULL;
}

/* A phase 2 SA payload offering these transforms. */
static void offer2(struct buf *b, const struct p2_attrs *a, size_t n)
{
	buf_init(b);
	p2_sa_write(b, a, n, 0x01020304);
}

static void decode(const struct buf *b, struct sa_payload *sa)
{
	const char *why = "";
	ck_assert_int_eq(sa_decode(b->d, b->len, sa, &why), 0);
}

static struct p2_attrs cbc(int pfs)
{
	return (struct p2_attrs){ .enc_alg = ENC_AES_CBC, .keylen = 128,
				  .auth_alg = AUTHALG_HMAC_SHA2_256_128, .encap = ENCAP_TUNNEL,
				  .pfs_group = pfs, .life_secs = 3600 };
}

START_TEST(pfs_acceptable_set)
{
	const struct ipsec_policy *ip = load(" InitiateWithPfs Group14\n AcceptablePfs Group2\n"
					     " AcceptablePfs Group14\n AcceptablePfs Group19\n", "");
	const struct ipsec_dynvpn *v = ip->filters[0]->vpn;
	struct sa_payload sa;
	struct buf b;
	struct p2_attrs got;
	uint8_t pnum;
	uint32_t spi;
	bool pfs_refused;
	char why[256];
	static const int ok[] = { 2, 14, 19 };
	for (size_t i = 0; i < 3; i++) {
		struct p2_attrs a = cbc(ok[i]);
		offer2(&b, &a, 1);
		decode(&b, &sa);
		ck_assert_int_eq(p2_select(&sa, v, false, true, false, &got, &pnum, &spi, &pfs_refused,
					   why, sizeof why), 0);
		ck_assert_int_eq(got.pfs_group, ok[i]);
		ck_assert_str_eq(got.offer_name, "cbc");
		ck_assert_uint_eq(spi, 0x01020304);
		buf_free(&b);
	}
	struct p2_attrs a = cbc(15);
	offer2(&b, &a, 1);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, v, false, true, false, &got, &pnum, &spi, &pfs_refused, why,
				   sizeof why), N_NO_PROPOSAL_CHOSEN);
	ck_assert(pfs_refused);
	ck_assert_str_eq(why, "offered PFS Group15, acceptable PFS: Group2 Group14 Group19");
	buf_free(&b);
	/* no PFS is not in the set */
	a = cbc(0);
	offer2(&b, &a, 1);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &pfs_refused, why,
				   sizeof why), N_NO_PROPOSAL_CHOSEN);
	ck_assert_str_eq(why, "offered no PFS, acceptable PFS: Group2 Group14 Group19");
	buf_free(&b);
	unload();
}
END_TEST

START_TEST(pfs_none_in_the_set)
{
	const struct ipsec_policy *ip = load(" InitiateWithPfs None\n AcceptablePfs None\n"
					     " AcceptablePfs Group5\n", "");
	const struct ipsec_dynvpn *v = ip->filters[0]->vpn;
	ck_assert_int_eq(v->initiate_pfs, 0);
	ck_assert_uint_eq(v->acceptable_pfs, PFS_NONE_BIT | PFS_BIT(5));
	struct sa_payload sa;
	struct buf b;
	struct p2_attrs got, a = cbc(0);
	uint8_t pnum;
	uint32_t spi;
	bool refused;
	char why[256];
	offer2(&b, &a, 1);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_int_eq(got.pfs_group, 0);
	buf_free(&b);
	/* a group attribute without a KE payload (or the reverse) is not taken */
	a = cbc(5);
	offer2(&b, &a, 1);
	decode(&b, &sa);
	ck_assert_int_ne(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_int_eq(p2_select(&sa, v, false, true, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	buf_free(&b);
	unload();
}
END_TEST

START_TEST(legacy_pfs_is_both)
{
	const struct ipsec_policy *ip = load(" Pfs Group5\n", "");
	const struct ipsec_dynvpn *v = ip->filters[0]->vpn;
	ck_assert(v->legacy_pfs);
	ck_assert_int_eq(v->initiate_pfs, 5);
	ck_assert_uint_eq(v->acceptable_pfs, PFS_BIT(5));
	unload();
}
END_TEST

START_TEST(fips_refuses_group1)
{
	const struct ipsec_policy *ip = load(" InitiateWithPfs Group14\n AcceptablePfs Group14\n", "");
	const struct ipsec_dynvpn *v = ip->filters[0]->vpn;
	/* even if it were in the set (it cannot be written in FIPS mode) */
	struct ipsec_dynvpn hack = *v;
	hack.acceptable_pfs |= PFS_BIT(1);
	struct sa_payload sa;
	struct buf b;
	struct p2_attrs got, a = cbc(1);
	uint8_t pnum;
	uint32_t spi;
	bool refused;
	char why[256];
	offer2(&b, &a, 1);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, &hack, false, true, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_int_ne(p2_select(&sa, &hack, false, true, true, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	buf_free(&b);
	unload();
}
END_TEST

START_TEST(phase2_choice_follows_the_initiator_and_checks_everything)
{
	const struct ipsec_policy *ip = load(" InitiateWithPfs None\n AcceptablePfs None\n", "");
	const struct ipsec_dynvpn *v = ip->filters[0]->vpn;
	struct sa_payload sa;
	struct buf b;
	struct p2_attrs got;
	uint8_t pnum;
	uint32_t spi;
	bool refused;
	char why[256];
	/* 3DES-like unknown offer first, then GCM-256, then CBC: GCM is chosen */
	struct p2_attrs a[3] = { cbc(0), cbc(0), cbc(0) };
	a[0].keylen = 192;             /* no IpDataOffer with AES-CBC-192 */
	a[1].enc_alg = ENC_AES_GCM_16;
	a[1].keylen = 256;
	a[1].auth_alg = AUTHALG_NULL;
	a[1].life_secs = 3 * 3600;     /* gcm accepts the default 120..480 minutes */
	offer2(&b, a, 3);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_str_eq(got.offer_name, "gcm");
	ck_assert_uint_eq(pnum, 2);
	buf_free(&b);
	/* NAT detected: only UDP-encapsulated modes will do */
	struct p2_attrs c = cbc(0);
	offer2(&b, &c, 1);
	decode(&b, &sa);
	ck_assert_int_ne(p2_select(&sa, v, true, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_str_eq(why, "NAT detected but the proposal is not UDP-encapsulated");
	buf_free(&b);
	c.udp = true;
	offer2(&b, &c, 1);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, v, true, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert(got.udp);
	buf_free(&b);
	/* transport mode matches the transport offer only */
	c = cbc(0);
	c.encap = ENCAP_TRANSPORT;
	offer2(&b, &c, 1);
	decode(&b, &sa);
	ck_assert_int_ne(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	buf_free(&b);
	c.keylen = 256;
	c.auth_alg = AUTHALG_HMAC_SHA1;
	c.life_secs = 3 * 3600;
	offer2(&b, &c, 1);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_str_eq(got.offer_name, "tr");
	buf_free(&b);
	unload();
}
END_TEST

START_TEST(phase2_lifetimes)
{
	const struct ipsec_policy *ip = load(" InitiateWithPfs None\n AcceptablePfs None\n", "");
	const struct ipsec_dynvpn *v = ip->filters[0]->vpn;
	struct sa_payload sa;
	struct buf b;
	struct p2_attrs got, c = cbc(0);
	uint8_t pnum;
	uint32_t spi;
	bool refused;
	char why[256];
	/* offer cbc accepts 30..120 minutes: 10 minutes is refused */
	c.life_secs = 600;
	offer2(&b, &c, 1);
	decode(&b, &sa);
	ck_assert_int_ne(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_str_eq(why, "proposed lifetime below RefreshLifetimeAccepted");
	buf_free(&b);
	/* 10 hours is cut to the 2 hour maximum */
	c.life_secs = 36000;
	offer2(&b, &c, 1);
	decode(&b, &sa);
	ck_assert_int_eq(p2_select(&sa, v, false, false, false, &got, &pnum, &spi, &refused, why,
				   sizeof why), 0);
	ck_assert_uint_eq(got.life_secs, 7200);
	buf_free(&b);
	unload();
}
END_TEST

static void offer1(struct buf *b, const struct p1_attrs *a, size_t n)
{
	buf_init(b);
	p1_sa_write(b, a, n);
}

START_TEST(phase1_choice)
{
	const struct ipsec_policy *ip = load(" InitiateWithPfs None\n AcceptablePfs None\n", "");
	const struct ike_action *act = ip->ke_rules[0]->action;
	struct p1_attrs peer[3] = {
		{ .enc_alg = ENC_AES_CBC, .keylen = 128, .hash = HASH_SHA2_256,
		  .auth = AUTHMETH_PRESHARED_KEY, .group = 14, .life_secs = 3600 },  /* not ours */
		{ .enc_alg = ENC_AES_CBC, .keylen = 128, .hash = HASH_SHA1,
		  .auth = AUTHMETH_PRESHARED_KEY, .group = 2, .life_secs = 100000 }, /* k2 */
		{ .enc_alg = ENC_AES_CBC, .keylen = 256, .hash = HASH_SHA2_384,
		  .auth = AUTHMETH_PRESHARED_KEY, .group = 20, .life_secs = 4000 },  /* k1 */
	};
	struct buf b;
	struct sa_payload sa;
	struct p1_attrs got;
	uint8_t tnum;
	char why[200];
	offer1(&b, peer, 3);
	decode(&b, &sa);
	/* the peer's order decides: its second transform (our k2) */
	ck_assert_int_eq(p1_select(&sa, act, false, &got, &tnum, why, sizeof why), 0);
	ck_assert_str_eq(got.offer_name, "k2");
	ck_assert_uint_eq(tnum, 2);
	ck_assert_uint_eq(got.life_secs, 86400);    /* cut to the default maximum, 1440 min */
	buf_free(&b);
	/* k1 accepts 60..120 minutes: 4000 s is fine, 3000 s is not */
	offer1(&b, &peer[2], 1);
	decode(&b, &sa);
	ck_assert_int_eq(p1_select(&sa, act, false, &got, &tnum, why, sizeof why), 0);
	ck_assert_str_eq(got.offer_name, "k1");
	buf_free(&b);
	peer[2].life_secs = 3000;
	offer1(&b, &peer[2], 1);
	decode(&b, &sa);
	ck_assert_int_eq(p1_select(&sa, act, false, &got, &tnum, why, sizeof why),
			 N_NO_PROPOSAL_CHOSEN);
	ck_assert_str_eq(why, "proposed lifetime below RefreshLifetimeAccepted");
	buf_free(&b);
	unload();
}
END_TEST

START_TEST(replies_are_matched_to_our_offers)
{
	struct p2_attrs ours[2] = { cbc(14), cbc(14) };
	ours[1].keylen = 256;
	ours[1].offer = 1;
	struct p2_attrs chosen = ours[1];
	chosen.life_secs = 1800;            /* the responder may shorten it */
	struct buf b;
	buf_init(&b);
	p2_sa_write_chosen(&b, &chosen, 2, 0xcafe0001);
	struct sa_payload sa;
	decode(&b, &sa);
	struct p2_attrs agreed;
	uint32_t spi;
	ck_assert_int_eq(p2_match_reply(&sa, ours, 2, &agreed, &spi), 1);
	ck_assert_uint_eq(spi, 0xcafe0001);
	ck_assert_uint_eq(agreed.life_secs, 1800);
	buf_free(&b);
	/* something we never offered */
	chosen.pfs_group = 19;
	buf_init(&b);
	p2_sa_write_chosen(&b, &chosen, 2, 0xcafe0001);
	decode(&b, &sa);
	ck_assert_int_eq(p2_match_reply(&sa, ours, 2, &agreed, &spi), -1);
	buf_free(&b);
}
END_TEST

START_TEST(formats)
{
	char b[100];
	pfs_set_format(PFS_NONE_BIT | PFS_BIT(2) | PFS_BIT(21), b, sizeof b);
	ck_assert_str_eq(b, "None Group2 Group21");
	struct p2_attrs g = { .enc_alg = ENC_AES_GCM_16, .keylen = 128, .auth_alg = AUTHALG_NULL };
	ck_assert_uint_eq(p2_enc_key_len(&g), 20);
	ck_assert_uint_eq(p2_auth_key_len(&g), 0);
	ck_assert_uint_eq(p2_icv_bits(&g), 128);
	struct p2_attrs c = cbc(0);
	c.auth_alg = AUTHALG_HMAC_SHA2_384_192;
	ck_assert_uint_eq(p2_auth_key_len(&c), 48);
	ck_assert_uint_eq(p2_icv_bits(&c), 192);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_proposal");
	TCase *tc = tcase_create("proposal");
	tcase_add_test(tc, pfs_acceptable_set);
	tcase_add_test(tc, pfs_none_in_the_set);
	tcase_add_test(tc, legacy_pfs_is_both);
	tcase_add_test(tc, fips_refuses_group1);
	tcase_add_test(tc, phase2_choice_follows_the_initiator_and_checks_everything);
	tcase_add_test(tc, phase2_lifetimes);
	tcase_add_test(tc, phase1_choice);
	tcase_add_test(tc, replies_are_matched_to_our_offers);
	tcase_add_test(tc, formats);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
