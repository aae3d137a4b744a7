/* The XFRM netlink encoding, byte for byte.
 *
 * The expected message bodies are what iproute2 6.1 sends for the same SA or
 * policy (captured with strace -xx on this machine), so they come from an
 * implementation independent of iked:
 *   ip xfrm state add src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x1000 reqid 1
 *      mode tunnel enc 'cbc(aes)' 0x00112233445566778899aabbccddeeff
 *      auth-trunc 'hmac(sha256)' 0x0011..eeff0011..eeff 128 encap espinudp 4500 4500 0.0.0.0
 *   ip xfrm state add src 198.18.0.2 dst 198.18.0.1 proto esp spi 0x2000 reqid 7
 *      mode tunnel replay-window 32 aead 'rfc4106(gcm(aes))' 0x0011..eeff0011..eeff01020304 128
 *   ip xfrm state delete src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x1000
 *   ip xfrm policy add src 198.19.1.1/32 dst 198.19.2.1/32 dir out priority 2000
 *      tmpl src 198.18.0.1 dst 198.18.0.2 proto esp reqid 1 mode tunnel
 *   ip xfrm policy delete src 198.19.1.1/32 dst 198.19.2.1/32 dir out
 * Layout (linux/xfrm.h): xfrm_usersa_info = selector 56 | id 24 (daddr, spi,
 * proto) | saddr 16 | lifetime cfg 64 | cur 32 | stats 12 | seq | reqid |
 * family | mode | replay_window | flags, 224 bytes; then attributes.
 *
 * The kernel case also hands the messages to a real kernel in a private
 * network namespace: policies must be accepted; an SA must be accepted, or
 * refused with the error iproute2 gets for the same SA on this kernel (no ESP
 * type: EPROTONOSUPPORT; no rfc4106(gcm(aes)): ENOSYS), never EINVAL for a
 * malformed message.
 */
#include "tests/unit/support.h"
#include "tests/unit/ike_testutil.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "iked/kernel.h"
#include "policy/schema.h"

static const char NEWSA_CBC[] =
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000c612000200000000"
	"00000000000000000000100032000000c6120001000000000000000000000000"
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000001000000020001000000000000000000"
	"5800020063626328616573290000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000008000000000112233445566778899aabbccddeeff6c001400686d6163"
	"2873686132353629000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000010000"
	"8000000000112233445566778899aabbccddeeff00112233445566778899aabb"
	"ccddeeff1c000400020011941194000000000000000000000000000000000000";
static const char NEWSA_GCM[] =
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000c612000100000000"
	"00000000000000000000200032000000c6120002000000000000000000000000"
	"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000007000000020001200000000000000000"
	"70001200726663343130362867636d2861657329290000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"00000000200100008000000000112233445566778899aabbccddeeff00112233"
	"445566778899aabbccddeeff01020304";
static const char DELSA[] =
	"c6120002000000000000000000000000000010000200320014000d00c6120001"
	"000000000000000000000000";
static const char NEWPOLICY[] =
	"c6130201000000000000000000000000c6130101000000000000000000000000"
	"000000000000000002002020000000000000000000000000ffffffffffffffff"
	"ffffffffffffffffffffffffffffffffffffffffffffffff0000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000d007000000000000"
	"010000000000000044000500c612000200000000000000000000000000000000"
	"3200000002000000c61200010000000000000000000000000100000001000000"
	"ffffffffffffffffffffffff";
static const char DELPOLICY[] =
	"c6130201000000000000000000000000c6130101000000000000000000000000"
	"0000000000000000020020200000000000000000000000000000000001000000";

static struct ip_addr addr(const char *s)
{
	struct ip_addr a;
	ck_assert_int_eq(ip_addr_parse(s, &a), 0);
	return a;
}

static struct ip_range host(const char *s)
{
	struct ip_range r;
	ck_assert_ptr_null(ip_range_parse(s, &r));
	return r;
}

static uint8_t key32[32], key36[36];

static struct kernel_sa sa_cbc(void)
{
	hx_into("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", key32,
		sizeof key32);
	struct kernel_sa sa = {
		.inbound = false, .src = addr("198.18.0.1"), .dst = addr("198.18.0.2"),
		.spi = 0x1000, .mode = ENCAP_TUNNEL, .udp_encap = true, .encap_sport = 4500,
		.encap_dport = 4500, .enc_alg = ENC_AES_CBC, .enc_key = key32, .enc_key_len = 16,
		.auth_alg = AUTHALG_HMAC_SHA2_256_128, .auth_key = key32, .auth_key_len = 32,
		.icv_bits = 128, .reqid = 1,
	};
	sa.sel.src = host("198.19.1.1");
	sa.sel.dst = host("198.19.2.1");
	return sa;
}

static struct kernel_sa sa_gcm(void)
{
	hx_into("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff01020304", key36,
		sizeof key36);
	struct kernel_sa sa = {
		.inbound = true, .src = addr("198.18.0.2"), .dst = addr("198.18.0.1"),
		.spi = 0x2000, .mode = ENCAP_TUNNEL, .enc_alg = ENC_AES_GCM_16, .enc_key = key36,
		.enc_key_len = 36, .auth_alg = AUTHALG_NULL, .icv_bits = 128, .reqid = 7,
	};
	sa.sel.src = host("198.19.2.1");
	sa.sel.dst = host("198.19.1.1");
	return sa;
}

static struct kernel_policy policy_out(void)
{
	struct kernel_policy p = {
		.dir = KDIR_OUT, .mode = ENCAP_TUNNEL, .tsrc = addr("198.18.0.1"),
		.tdst = addr("198.18.0.2"), .reqid = 1, .priority = 2000,
	};
	p.sel.src = host("198.19.1.1");
	p.sel.dst = host("198.19.2.1");
	return p;
}

/* nlmsghdr: length, type, flags REQUEST|ACK, sequence, pid 0 */
static void expect_msg(const uint8_t *m, size_t n, uint16_t type, uint32_t seq, const char *body,
		       const char *what)
{
	const struct nlmsghdr *h = (const struct nlmsghdr *)m;
	ck_assert_uint_eq(h->nlmsg_len, n);
	ck_assert_uint_eq(h->nlmsg_type, type);
	ck_assert_uint_eq(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_uint_eq(h->nlmsg_seq, seq);
	ck_assert_uint_eq(h->nlmsg_pid, 0);
	ck_bytes_eq(m + NLMSG_HDRLEN, n - NLMSG_HDRLEN, body, what);
}

START_TEST(newsa_cbc_hmac_udp_encap)
{
	uint8_t m[1024];
	struct kernel_sa sa = sa_cbc();
	size_t n = xfrm_encode_newsa(&sa, 42, m, sizeof m);
	expect_msg(m, n, 16 /* XFRM_MSG_NEWSA */, 42, NEWSA_CBC, "NEWSA AES-CBC/HMAC-SHA256");
}
END_TEST

START_TEST(newsa_gcm_inbound)
{
	uint8_t m[1024];
	struct kernel_sa sa = sa_gcm();
	size_t n = xfrm_encode_newsa(&sa, 7, m, sizeof m);
	expect_msg(m, n, 16, 7, NEWSA_GCM, "NEWSA AES-GCM-16");
}
END_TEST

START_TEST(delsa)
{
	uint8_t m[256];
	struct ip_addr s = addr("198.18.0.1"), d = addr("198.18.0.2");
	size_t n = xfrm_encode_delsa(&s, &d, 0x1000, 3, m, sizeof m);
	expect_msg(m, n, 17 /* XFRM_MSG_DELSA */, 3, DELSA, "DELSA");
}
END_TEST

START_TEST(policies)
{
	uint8_t m[512];
	struct kernel_policy p = policy_out();
	size_t n = xfrm_encode_policy(&p, true, 5, m, sizeof m);
	expect_msg(m, n, 19 /* XFRM_MSG_NEWPOLICY */, 5, NEWPOLICY, "NEWPOLICY");
	n = xfrm_encode_policy(&p, false, 6, m, sizeof m);
	expect_msg(m, n, 20 /* XFRM_MSG_DELPOLICY */, 6, DELPOLICY, "DELPOLICY");
}
END_TEST

START_TEST(too_small_buffers_are_refused)
{
	uint8_t m[100];
	struct kernel_sa sa = sa_cbc();
	struct kernel_policy p = policy_out();
	ck_assert_uint_eq(xfrm_encode_newsa(&sa, 1, m, sizeof m), 0);
	ck_assert_uint_eq(xfrm_encode_policy(&p, true, 1, m, sizeof m), 0);
	/* an algorithm the kernel has no name for is not encoded at all */
	sa.auth_alg = AUTHALG_HMAC_MD5;
	uint8_t big[1024];
	ck_assert_uint_eq(xfrm_encode_newsa(&sa, 1, big, sizeof big), 0);
}
END_TEST

START_TEST(ranges_become_covering_prefixes)
{
	uint8_t m[512];
	struct kernel_policy p = policy_out();
	ck_assert_ptr_null(ip_range_parse("10.1.2.0-10.1.2.255", &p.sel.src));
	size_t n = xfrm_encode_policy(&p, true, 1, m, sizeof m);
	ck_assert_uint_gt(n, 0);
	const uint8_t *sel = m + NLMSG_HDRLEN;
	/* saddr at 16, prefixlen_d at 42, prefixlen_s at 43 */
	ck_assert_uint_eq(sel[16], 10);
	ck_assert_uint_eq(sel[18], 2);
	ck_assert_uint_eq(sel[19], 0);
	ck_assert_uint_eq(sel[42], 32);
	ck_assert_uint_eq(sel[43], 24);
}
END_TEST

/* A real kernel, in a network namespace of our own. */
START_TEST(kernel_accepts_the_messages)
{
	ck_assert_msg(geteuid() == 0, "this test needs root (network namespaces), as CI has");
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	char err[160];
	struct kernel *k = kernel_open(BACKEND_XFRM, err, sizeof err);
	ck_assert_msg(k != NULL, "%s", err);
	struct kernel_policy p = policy_out();
	ck_assert_msg(k->ops->add_policy(k, &p) == 0, "NEWPOLICY refused: %s", k->err);
	/* a second identical policy is refused by the kernel: it was installed */
	ck_assert_int_ne(k->ops->add_policy(k, &p), 0);
	ck_assert_msg(k->ops->del_policy(k, &p) == 0, "DELPOLICY refused: %s", k->err);
	struct kernel_sa sas[2] = { sa_cbc(), sa_gcm() };
	int missing[2] = { EPROTONOSUPPORT, ENOSYS };
	for (int i = 0; i < 2; i++) {
		int rc = k->ops->add_sa(k, &sas[i]);
		/* where the kernel has ESP the SA goes in; here it does not */
		ck_assert_msg(rc == 0 || strstr(k->err, strerror(missing[i])),
			      "NEWSA %d refused for another reason than a missing kernel "
			      "feature: %s", i, k->err);
		if (rc == 0)
			ck_assert_int_eq(k->ops->del_sa(k, &sas[i].src, &sas[i].dst, sas[i].spi, NULL), 0);
	}
	kernel_close(k);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_xfrm");
	TCase *tc = tcase_create("encoding");
	tcase_add_test(tc, newsa_cbc_hmac_udp_encap);
	tcase_add_test(tc, newsa_gcm_inbound);
	tcase_add_test(tc, delsa);
	tcase_add_test(tc, policies);
	tcase_add_test(tc, too_small_buffers_are_refused);
	tcase_add_test(tc, ranges_become_covering_prefixes);
	suite_add_tcase(s, tc);
	TCase *kc = tcase_create("kernel");
	tcase_add_test(kc, kernel_accepts_the_messages);
	suite_add_tcase(s, kc);
	return run_suite(s);
}
