/*
 * tests/bench/bench_ike_floor — the floor under iked's cost per negotiation:
 * the cryptography a responder cannot skip for one negotiation of the
 * load scripts/bench-ike runs (Main Mode with a pre-shared key, Quick Mode
 * with PFS in the same group, Deletes for both SAs), done with iked's own
 * code and nothing else: no packets, no state, no logging.
 *
 *   DH      two key pairs (phase 1, PFS) and two shared secrets
 *   PRF     SKEYID, SKEYID_d/_a/_e, HASH_I and HASH_R, HASH(1) to HASH(3),
 *           KEYMAT for both directions, the HASHes of the two Deletes, and
 *           the hashes of the IVs and of NAT-D
 *   AES     the CBC work on the encrypted messages (shown, not in the floor)
 *
 * CPU time (CLOCK_PROCESS_CPUTIME_ID), so that it compares with the
 * responder's CPU time per negotiation that bench-ike reads from /proc; the
 * fastest of RUNS runs, since on a shared machine other work only ever adds
 * time (cache misses, preemption), and a floor is what the work costs when
 * nothing interferes. Prints one line of key=value pairs per group.
 *
 *   bench_ike_floor [GROUP...]      (default: 19 14)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/isakmp.h"
#include "iked/keys.h"
#include "policy/schema.h"

#define RUNS 7

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* The inputs of one negotiation, as the responder holds them. */
struct inputs {
	int group;
	const uint8_t *peer_pub;          /* the initiator's KE (both exchanges) */
	size_t pub_len;
	uint8_t ni[32], nr[32], icky[8], rcky[8];
	uint8_t sai[56], idi[8], idr[8];
	uint8_t qm1_rest[512], qm2_rest[512];  /* what HASH(1) and HASH(2) cover */
	size_t qm1_len, qm2_len;
	uint8_t msg[128];                 /* an encrypted message's body */
};

static volatile uint8_t sink;

static int dh_pair(const struct inputs *in)
{
	uint8_t secret[DH_MAX_SECRET];
	struct dh *d = dh_new(in->group);
	if (!d || dh_shared(d, in->peer_pub, in->pub_len, secret)) {
		dh_free(d);
		return -1;
	}
	sink ^= secret[0] ^ dh_public(d)[0];
	dh_free(d);
	return 0;
}

static int dh_keygen_only(const struct inputs *in)
{
	struct dh *d = dh_new(in->group);
	if (!d)
		return -1;
	sink ^= dh_public(d)[0];
	dh_free(d);
	return 0;
}

/* Every PRF and hash of one negotiation, in the order the responder does them. */
static int prf_work(const struct inputs *in, const uint8_t *gxy, size_t gxy_len,
		    const uint8_t *gxr)
{
	struct p1keys k;
	uint8_t h[HASH_MAX_LEN], iv[AES_BLOCK], keymat[48];
	memset(&k, 0, sizeof k);
	k.hash = HASH_SHA2_256;
	for (int i = 0; i < 4; i++) {             /* NAT-D: two checked, two sent */
		struct iov v[] = { { in->icky, 8 }, { in->rcky, 8 }, { in->idi + 4, 4 }, { h, 2 } };
		hash_iov(HASH_SHA2_256, v, 4, h);
	}
	if (ike_skeyid_psk(&k, (const uint8_t *)"loadtest-secret", 15, in->ni, 32, in->nr, 32) ||
	    ike_derive_p1(&k, gxy, gxy_len, in->icky, in->rcky, 16) ||
	    ike_p1_iv(HASH_SHA2_256, in->peer_pub, in->pub_len, gxr, in->pub_len, iv) ||
	    ike_auth_hash(&k, in->peer_pub, gxr, in->pub_len, in->icky, in->rcky, in->sai,
			  sizeof in->sai, in->idi, sizeof in->idi, h) ||
	    ike_auth_hash(&k, gxr, in->peer_pub, in->pub_len, in->rcky, in->icky, in->sai,
			  sizeof in->sai, in->idr, sizeof in->idr, h))
		return -1;
	uint8_t mid[4] = { 1, 2, 3, 4 };
	struct iov h1[] = { { mid, 4 }, { in->qm1_rest, in->qm1_len } };
	struct iov h2[] = { { mid, 4 }, { in->ni, 32 }, { in->qm2_rest, in->qm2_len } };
	uint8_t zero = 0;
	struct iov h3[] = { { &zero, 1 }, { mid, 4 }, { in->ni, 32 }, { in->nr, 32 } };
	struct iov del[] = { { mid, 4 }, { in->msg, 28 } };
	if (ike_p2_iv(HASH_SHA2_256, iv, 0x01020304, iv) ||
	    prf_iov(k.hash, k.skeyid_a, k.prf_len, h1, 2, h) ||
	    ike_keymat(&k, gxy, gxy_len, PROTO_IPSEC_ESP, 0x1000, in->ni, 32, in->nr, 32, keymat,
		       sizeof keymat) ||
	    ike_keymat(&k, gxy, gxy_len, PROTO_IPSEC_ESP, 0x2000, in->ni, 32, in->nr, 32, keymat,
		       sizeof keymat) ||
	    prf_iov(k.hash, k.skeyid_a, k.prf_len, h2, 3, h) ||
	    prf_iov(k.hash, k.skeyid_a, k.prf_len, h3, 4, h))
		return -1;
	for (int i = 0; i < 2; i++)               /* the two Deletes */
		if (ike_p2_iv(HASH_SHA2_256, iv, 0x05060708u + (uint32_t)i, iv) ||
		    prf_iov(k.hash, k.skeyid_a, k.prf_len, del, 2, h))
			return -1;
	sink ^= h[0] ^ keymat[0] ^ iv[0];
	mem_wipe(&k, sizeof k);
	return 0;
}

/* The CBC work: MM5 and MM6, the three Quick Mode messages, two Deletes. */
static int aes_work(const struct inputs *in)
{
	static const uint8_t key[16] = { 1 };
	uint8_t iv[AES_BLOCK] = { 0 }, buf[512];
	size_t sizes[] = { 64, 64, in->qm1_len + 48, in->qm2_len + 48, 48, 64, 64 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = (sizes[i] + 15) / 16 * 16;
		if (n > sizeof buf)
			n = sizeof buf;
		memset(buf, (int)i, n);
		if ((i % 2 ? aes_cbc_encrypt : aes_cbc_decrypt)(key, 16, iv, buf, n))
			return -1;
	}
	sink ^= buf[0];
	return 0;
}

/* CPU seconds per call of fn: the fastest of RUNS runs of n calls. */
static double per_call(int (*fn)(const void *), const void *arg, int n)
{
	double best = 0;
	for (int r = 0; r < RUNS; r++) {
		double t = cpu_now();
		for (int i = 0; i < n; i++)
			if (fn(arg)) {
				fprintf(stderr, "bench_ike_floor: a crypto call failed\n");
				exit(1);
			}
		double v = (cpu_now() - t) / n;
		if (r == 0 || v < best)
			best = v;
	}
	return best;
}

struct prf_arg {
	const struct inputs *in;
	uint8_t gxy[DH_MAX_SECRET], gxr[DH_MAX_PUBLIC];
	size_t gxy_len;
};

static int call_pair(const void *a) { return dh_pair(a); }
static int call_keygen(const void *a) { return dh_keygen_only(a); }
static int call_aes(const void *a) { return aes_work(a); }

static int call_prf(const void *a)
{
	const struct prf_arg *p = a;
	return prf_work(p->in, p->gxy, p->gxy_len, p->gxr);
}

static int measure(int group)
{
	struct inputs in;
	memset(&in, 0, sizeof in);
	in.group = group;
	struct dh *peer = dh_new(group), *mine = dh_new(group);
	if (!peer || !mine) {
		fprintf(stderr, "bench_ike_floor: group %d is not available\n", group);
		return -1;
	}
	in.peer_pub = dh_public(peer);
	in.pub_len = dh_public_len(group);
	for (size_t i = 0; i < sizeof in.ni; i++)
		in.ni[i] = (uint8_t)i, in.nr[i] = (uint8_t)(i * 7);
	memset(in.icky, 0x11, 8);
	memset(in.rcky, 0x22, 8);
	memset(in.sai, 0x33, sizeof in.sai);
	memcpy(in.idi, "\x01\0\0\0\xc6\x12\x40\x01", 8);
	memcpy(in.idr, "\x01\0\0\0\xc6\x12\x00\x02", 8);
	/* SA (60) + nonce (36) + KE + two IDs (12 each) */
	in.qm1_len = in.qm2_len = 60 + 36 + 4 + in.pub_len + 24;
	if (in.qm1_len > sizeof in.qm1_rest)
		in.qm1_len = in.qm2_len = sizeof in.qm1_rest;
	memset(in.qm1_rest, 0x44, sizeof in.qm1_rest);
	memset(in.qm2_rest, 0x55, sizeof in.qm2_rest);

	struct prf_arg pa = { .in = &in, .gxy_len = dh_secret_len(group) };
	memcpy(pa.gxr, dh_public(mine), in.pub_len);
	if (dh_shared(mine, in.peer_pub, in.pub_len, pa.gxy))
		return -1;

	int n = dh_public_len(group) > 128 ? 100 : 1000;     /* MODP is slower */
	double pair = per_call(call_pair, &in, n);
	double keygen = per_call(call_keygen, &in, n);
	double prf = per_call(call_prf, &pa, 2000);
	double aes = per_call(call_aes, &in, 20000);
	double dh = 2 * pair;
	printf("group=%d name=%s keygen_us=%.1f shared_us=%.1f dh_us=%.1f prf_us=%.1f "
	       "aes_us=%.1f floor_ms=%.4f\n", group, dh_group_name(group), keygen * 1e6,
	       (pair - keygen) * 1e6, dh * 1e6, prf * 1e6, aes * 1e6, (dh + prf) * 1e3);
	dh_free(peer);
	dh_free(mine);
	return 0;
}

int main(int argc, char **argv)
{
	static const int deflt[] = { 19, 14 };
	int rc = 0;
	if (argc < 2) {
		for (size_t i = 0; i < sizeof deflt / sizeof deflt[0]; i++)
			rc |= measure(deflt[i]);
	} else {
		for (int i = 1; i < argc; i++)
			rc |= measure(atoi(argv[i]));
	}
	return rc ? 1 : 0;
}
