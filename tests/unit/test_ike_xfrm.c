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
 *   ip xfrm state get src 198.18.0.1 dst 198.18.0.2 proto esp spi 0x1000
 *      (the DELSA body, flags REQUEST only)
 * Layout (linux/xfrm.h): xfrm_usersa_info = selector 56 | id 24 (daddr, spi,
 * proto) | saddr 16 | lifetime cfg 64 | cur 32 | stats 12 | seq | reqid |
 * family | mode | replay_window | flags, 224 bytes; then attributes.
 * xfrm_user_expire = xfrm_usersa_info | hard (1 byte), padded to 232. The
 * expire messages below are built by hand at those offsets: this kernel has
 * no XFRM type (ESP, AH, IPComp) to expire an SA of its own.
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
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "iked/install.h"
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

START_TEST(getsa)
{
	uint8_t m[256];
	struct ip_addr s = addr("198.18.0.1"), d = addr("198.18.0.2");
	size_t n = xfrm_encode_getsa(&s, &d, 0x1000, 9, m, sizeof m);
	const struct nlmsghdr *h = (const struct nlmsghdr *)m;
	ck_assert_uint_eq(h->nlmsg_len, n);
	ck_assert_uint_eq(h->nlmsg_type, 18 /* XFRM_MSG_GETSA */);
	ck_assert_uint_eq(h->nlmsg_flags, NLM_F_REQUEST);
	ck_assert_uint_eq(h->nlmsg_seq, 9);
	ck_bytes_eq(m + NLMSG_HDRLEN, n - NLMSG_HDRLEN, DELSA, "GETSA");
}
END_TEST

/* ---- expire messages, by hand ------------------------------------------------ */

#define EXP_LEN (16 + 232)             /* nlmsghdr + xfrm_user_expire */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32h(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* One message of type at p (host byte order, as netlink is): an SA to dst
 * (4 or 16 bytes, family from its size) with spi (network order on the
 * wire), byte count and limits. Returns its length. */
static size_t put_msg(uint8_t *p, uint16_t type, uint32_t seq, const char *src, const char *dst,
		      uint32_t spi, uint8_t proto, bool hard, uint64_t bytes, uint64_t soft_limit,
		      uint64_t hard_limit)
{
	memset(p, 0, EXP_LEN);
	put32h(p, EXP_LEN);                              /* nlmsg_len */
	put16(p + 4, type);
	put32h(p + 8, seq);
	uint8_t *u = p + 16;
	struct ip_addr s = addr(src), d = addr(dst);
	size_t alen = d.family == AF_INET6 ? 16 : 4;
	memcpy(u + 56, d.b, alen);                       /* id.daddr */
	u[72] = (uint8_t)(spi >> 24);                    /* id.spi, network order */
	u[73] = (uint8_t)(spi >> 16);
	u[74] = (uint8_t)(spi >> 8);
	u[75] = (uint8_t)spi;
	u[76] = proto;                                   /* id.proto */
	memcpy(u + 80, s.b, alen);                       /* saddr */
	put64(u + 96, soft_limit);                       /* lft.soft_byte_limit */
	put64(u + 104, hard_limit);                      /* lft.hard_byte_limit */
	put64(u + 112, ~0ull);                           /* packet limits: none */
	put64(u + 120, ~0ull);
	put64(u + 160, bytes);                           /* curlft.bytes */
	put16(u + 212, d.family);                        /* family */
	u[214] = 1;                                      /* mode tunnel */
	u[224] = hard;
	return EXP_LEN;
}

static size_t put_expire(uint8_t *p, const char *dst, uint32_t spi, bool hard, uint64_t bytes)
{
	return put_msg(p, 24 /* XFRM_MSG_EXPIRE */, 0, "198.18.0.2", dst, spi, IPPROTO_ESP, hard,
		       bytes, 870400, 1024000);
}

START_TEST(expire_soft)
{
	uint8_t b[EXP_LEN];
	size_t n = put_expire(b, "198.18.0.1", 0x12345678, false, 870500);
	struct kernel_event ev[4];
	size_t bad = 99;
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 4, &bad), 1);
	ck_assert_uint_eq(bad, 0);
	struct ip_addr d = addr("198.18.0.1"), s = addr("198.18.0.2");
	ck_assert_mem_eq(&ev[0].dst, &d, sizeof d);
	ck_assert_mem_eq(&ev[0].src, &s, sizeof s);
	ck_assert_uint_eq(ev[0].spi, 0x12345678);
	ck_assert_uint_eq(ev[0].proto, IPPROTO_ESP);
	ck_assert(!ev[0].hard);
	ck_assert(ev[0].lifesize);
	ck_assert_uint_eq(ev[0].bytes, 870500);
}
END_TEST

START_TEST(expire_hard)
{
	uint8_t b[EXP_LEN];
	struct kernel_event ev[1];
	size_t bad;
	size_t n = put_expire(b, "198.18.0.1", 0x1000, true, 1024000);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 1, &bad), 1);
	ck_assert(ev[0].hard);
	ck_assert(ev[0].lifesize);
	/* the lifetime ran out before the bytes did: a hard expiry, not lifesize */
	n = put_expire(b, "198.18.0.1", 0x1000, true, 5000);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 1, &bad), 1);
	ck_assert(ev[0].hard);
	ck_assert(!ev[0].lifesize);
	/* no byte limit at all (XFRM_INF) */
	n = put_msg(b, 24, 0, "198.18.0.2", "198.18.0.1", 0x1000, IPPROTO_ESP, true, ~0ull, ~0ull,
		    ~0ull);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 1, &bad), 1);
	ck_assert(!ev[0].lifesize);
	/* IPv6 */
	n = put_msg(b, 24, 0, "2001:db8::2", "2001:db8::1", 0xabcdef01, IPPROTO_ESP, false, 10, 9,
		    20);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 1, &bad), 1);
	struct ip_addr d = addr("2001:db8::1");
	ck_assert_mem_eq(&ev[0].dst, &d, sizeof d);
	ck_assert_uint_eq(ev[0].spi, 0xabcdef01);
	ck_assert(ev[0].lifesize);
}
END_TEST

START_TEST(expire_truncated)
{
	uint8_t b[EXP_LEN];
	struct kernel_event ev[1];
	size_t bad;
	size_t n = put_expire(b, "198.18.0.1", 0x1000, false, 900000);
	/* fewer bytes read than the header says */
	for (size_t cut = 0; cut < n; cut += 7) {
		ck_assert_uint_eq(xfrm_parse_expire(b, cut, ev, 1, &bad), 0);
		ck_assert_uint_eq(bad, cut ? 1 : 0);
	}
	ck_assert_uint_eq(xfrm_parse_expire(b, n - 1, ev, 1, &bad), 0);
	ck_assert_uint_eq(bad, 1);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 1, NULL), 1);
}
END_TEST

START_TEST(expire_wrong_length)
{
	uint8_t b[2 * EXP_LEN];
	struct kernel_event ev[2];
	size_t bad;
	size_t n = put_expire(b, "198.18.0.1", 0x1000, false, 900000);
	/* a header length below the header itself ends the walk */
	put32h(b, 15);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 2, &bad), 0);
	ck_assert_uint_eq(bad, 1);
	put32h(b, 0);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 2, &bad), 0);
	ck_assert_uint_eq(bad, 1);
	/* more than was read */
	put32h(b, EXP_LEN + 8);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 2, &bad), 0);
	ck_assert_uint_eq(bad, 1);
	/* a consistent length with too short a payload (the struct of an older
	 * or newer kernel): that message is skipped, the next one is read */
	put_expire(b, "198.18.0.1", 0x1000, false, 900000);
	put32h(b, 16 + 224);
	put_expire(b + 16 + 224, "198.18.0.1", 0x2000, false, 900000);
	ck_assert_uint_eq(xfrm_parse_expire(b, 16 + 224 + EXP_LEN, ev, 2, &bad), 1);
	ck_assert_uint_eq(bad, 1);
	ck_assert_uint_eq(ev[0].spi, 0x2000);
	/* a family that is neither IPv4 nor IPv6 */
	n = put_expire(b, "198.18.0.1", 0x1000, false, 900000);
	put16(b + 16 + 212, 99);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 2, &bad), 0);
	ck_assert_uint_eq(bad, 1);
}
END_TEST

START_TEST(expire_wrong_type)
{
	uint8_t b[EXP_LEN];
	struct kernel_event ev[1];
	size_t bad;
	/* POLEXPIRE, NEWSA, an error: not expire messages, and not malformed */
	uint16_t types[] = { 27 /* XFRM_MSG_POLEXPIRE */, 16 /* NEWSA */, NLMSG_ERROR, NLMSG_DONE };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t n = put_msg(b, types[i], 0, "198.18.0.2", "198.18.0.1", 0x1000, IPPROTO_ESP,
				   true, 2000000, 870400, 1024000);
		ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 1, &bad), 0);
		ck_assert_uint_eq(bad, 0);
	}
}
END_TEST

START_TEST(expire_several_in_one_buffer)
{
	uint8_t b[4 * EXP_LEN];
	struct kernel_event ev[4];
	size_t bad, n = 0;
	n += put_expire(b + n, "198.18.0.1", 0x1001, false, 870400);
	n += put_msg(b + n, 27, 0, "198.18.0.2", "198.18.0.1", 0x1000, IPPROTO_ESP, true, 0, 0, 0);
	n += put_expire(b + n, "198.18.0.2", 0x1002, true, 1024000);
	n += put_msg(b + n, 24, 0, "198.18.0.2", "198.18.0.1", 0x1003, 51 /* AH */, false, 1, 1, 2);
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 4, &bad), 3);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(ev[0].spi, 0x1001);
	ck_assert(!ev[0].hard);
	ck_assert_uint_eq(ev[1].spi, 0x1002);
	ck_assert(ev[1].hard);
	ck_assert_uint_eq(ev[2].spi, 0x1003);
	ck_assert_uint_eq(ev[2].proto, 51);   /* reported; the daemon ignores it */
	/* no more events than room */
	ck_assert_uint_eq(xfrm_parse_expire(b, n, ev, 1, &bad), 1);
	ck_assert_uint_eq(ev[0].spi, 0x1001);
	/* the last message without its padding is still whole */
	uint8_t c[2 * EXP_LEN];
	size_t m = put_expire(c, "198.18.0.1", 0x1001, false, 870400);
	m += put_expire(c + m, "198.18.0.1", 0x1002, false, 870400);
	ck_assert_uint_eq(xfrm_parse_expire(c, m, ev, 4, &bad), 2);
	ck_assert_uint_eq(bad, 0);
}
END_TEST

START_TEST(getsa_reply)
{
	uint8_t b[2 * EXP_LEN];
	uint64_t bytes = 0;
	int error = 0;
	/* the SA (a NEWSA message: xfrm_usersa_info, here with the expire
	 * message's layout, whose first 224 bytes are the same) */
	size_t n = put_msg(b, 16, 77, "198.18.0.1", "198.18.0.2", 0x1000, IPPROTO_ESP, false, 123456,
			   0, 0);
	ck_assert_int_eq(xfrm_parse_getsa_reply(b, n, 77, &bytes, &error), 1);
	ck_assert_uint_eq(bytes, 123456);
	/* another request's answer is not ours */
	ck_assert_int_eq(xfrm_parse_getsa_reply(b, n, 78, &bytes, &error), 0);
	/* cut short */
	ck_assert_int_eq(xfrm_parse_getsa_reply(b, n - 1, 77, &bytes, &error), 0);
	put32h(b, 16 + 100);
	ck_assert_int_eq(xfrm_parse_getsa_reply(b, n, 77, &bytes, &error), 0);
	/* what this kernel answers for an SA it does not have (strace of
	 * ip xfrm state get): NLMSG_ERROR, -ESRCH, the request echoed */
	static const char ESRCH_REPLY[] =
		"50000000020000009513096bfc2c0000fdffffff3c0000001200010095130"
		"96b00000000c6120002000000000000000000000000000010000200320014"
		"000d00c6120001000000000000000000000000";
	uint8_t r[80];
	ck_assert_uint_eq(hx_into(ESRCH_REPLY, r, sizeof r), 80);
	ck_assert_int_eq(xfrm_parse_getsa_reply(r, 80, 0x6b091395, &bytes, &error), -1);
	ck_assert_int_eq(error, ESRCH);
}
END_TEST

START_TEST(soft_byte_limits)
{
	/* 1000K: the side that negotiated the SA refreshes at 85%, the other at
	 * 92%, as for the lifetime */
	ck_assert_uint_eq(kernel_hard_bytes(1000), 1024000);
	ck_assert_uint_eq(kernel_soft_bytes(1024000, 0 /* IKE_INITIATOR */), 870400);
	ck_assert_uint_eq(kernel_soft_bytes(1024000, 1 /* IKE_RESPONDER */), 942080);
	ck_assert_uint_eq(kernel_hard_bytes(0), 0);
	ck_assert_uint_eq(kernel_soft_bytes(0, 0), 0);
	/* the smallest lifesize still has its soft limit below the hard one */
	ck_assert_uint_eq(kernel_soft_bytes(kernel_hard_bytes(1), 0), 870);
	/* a peer's 64-bit lifesize: too large for bytes is no limit; the
	 * largest one that fits does not overflow */
	ck_assert_uint_eq(kernel_hard_bytes(UINT64_MAX / 1024 + 1), 0);
	uint64_t big = kernel_hard_bytes(UINT64_MAX / 1024);
	ck_assert_uint_eq(big, UINT64_MAX / 1024 * 1024);
	uint64_t soft = kernel_soft_bytes(big, 1);
	ck_assert_uint_lt(soft, big);
	ck_assert_uint_gt(soft, big / 100 * 91);
}
END_TEST

/* A real kernel, in a network namespace of our own. */
START_TEST(kernel_accepts_the_messages)
{
	ck_assert_msg(geteuid() == 0, "this test needs root (network namespaces), as CI has");
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	char err[160];
	struct kernel *k = kernel_open(BACKEND_XFRM, NULL, err, sizeof err);
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

static int reported;
static void count_report(void *ctx, const struct kernel_event *ev)
{
	(void)ctx;
	(void)ev;
	reported++;
}

/* The expire group can be joined, an empty one reports nothing, and the
 * byte count of an SA the kernel does not have is an error, not a count. */
START_TEST(kernel_expire_group_and_getsa)
{
	ck_assert_msg(geteuid() == 0, "this test needs root (network namespaces), as CI has");
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	char err[160];
	struct kernel *k = kernel_open(BACKEND_XFRM, NULL, err, sizeof err);
	ck_assert_msg(k != NULL, "%s", err);
	ck_assert_int_ge(k->event_fd, 0);
	ck_assert_int_ne(k->event_fd, k->fd);
	k->report = count_report;
	reported = 0;
	kernel_receive(k);
	ck_assert_int_eq(reported, 0);
	struct ip_addr s = addr("198.18.0.1"), d = addr("198.18.0.2");
	uint64_t bytes = 42;
	ck_assert_int_ne(k->ops->sa_bytes(k, &s, &d, 0x1000, &bytes), 0);
	ck_assert_str_eq(k->err, strerror(ESRCH));
	ck_assert_uint_eq(bytes, 42);
	/* requests still get their acknowledgements with the group joined */
	struct kernel_policy p = policy_out();
	ck_assert_msg(k->ops->add_policy(k, &p) == 0, "NEWPOLICY refused: %s", k->err);
	ck_assert_msg(k->ops->del_policy(k, &p) == 0, "DELPOLICY refused: %s", k->err);
	kernel_receive(k);
	ck_assert_int_eq(reported, 0);
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
	tcase_add_test(tc, getsa);
	suite_add_tcase(s, tc);
	TCase *dc = tcase_create("decoding");
	tcase_add_test(dc, expire_soft);
	tcase_add_test(dc, expire_hard);
	tcase_add_test(dc, expire_truncated);
	tcase_add_test(dc, expire_wrong_length);
	tcase_add_test(dc, expire_wrong_type);
	tcase_add_test(dc, expire_several_in_one_buffer);
	tcase_add_test(dc, getsa_reply);
	tcase_add_test(dc, soft_byte_limits);
	suite_add_tcase(s, dc);
	TCase *kc = tcase_create("kernel");
	tcase_add_test(kc, kernel_accepts_the_messages);
	tcase_add_test(kc, kernel_expire_group_and_getsa);
	suite_add_tcase(s, kc);
	return run_suite(s);
}
