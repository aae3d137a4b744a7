/* Known-answer tests for iked/crypto, iked/dh and iked/keys.
 *
 * Where the vectors come from:
 *  - HMAC: RFC 2202 (SHA-1) and RFC 4231 (SHA-2) test cases 1 and 2.
 *  - AES-CBC: RFC 3602 cases 1 and 2 (AES-128), NIST SP 800-38A F.2.3/F.2.5.
 *  - DH: fixed private keys; the public values and shared secrets were
 *    computed with Python's pow() (MODP) and the cryptography package over
 *    OpenSSL (ECP), i.e. by implementations independent of nettle and GMP.
 *  - IKEv1 derivation: one Main Mode + Quick Mode negotiation between two
 *    strongSwan 5.9.8 charons (PSK, AES-128, SHA2-256, MODP_2048, PFS
 *    MODP_2048), values taken from charon's level-4 log dumps.
 */
#include "tests/unit/support.h"
#include "tests/unit/ike_testutil.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "iked/crypto.h"
#include "iked/dh.h"
#include "iked/keys.h"
#include "policy/schema.h"

static void hmac_case(int hash, const char *key, size_t klen, const char *data, const char *want)
{
	uint8_t out[HASH_MAX_LEN];
	ck_assert_int_eq(prf1(hash, (const uint8_t *)key, klen, data, strlen(data), out), 0);
	ck_bytes_eq(out, hash_size(hash), want, hash_name(hash));
}

START_TEST(hmac_rfc_vectors)
{
	char k1[20];
	memset(k1, 0x0b, sizeof k1);
	hmac_case(HASH_SHA1, k1, 20, "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00");
	hmac_case(HASH_SHA1, "Jefe", 4, "what do ya want for nothing?",
		  "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	hmac_case(HASH_SHA2_256, k1, 20, "Hi There",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_case(HASH_SHA2_256, "Jefe", 4, "what do ya want for nothing?",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	hmac_case(HASH_SHA2_384, k1, 20, "Hi There",
		  "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
		  "faea9ea9076ede7f4af152e8b2fa9cb6");
	hmac_case(HASH_SHA2_384, "Jefe", 4, "what do ya want for nothing?",
		  "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
		  "8e2240ca5e69e2c78b3239ecfab21649");
	hmac_case(HASH_SHA2_512, k1, 20, "Hi There",
		  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
	hmac_case(HASH_SHA2_512, "Jefe", 4, "what do ya want for nothing?",
		  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}
END_TEST

START_TEST(hmac_split_input_equals_whole)
{
	/* The PRF takes its input in pieces; the split must not matter. */
	uint8_t a[HASH_MAX_LEN], b[HASH_MAX_LEN];
	const char *msg = "what do ya want for nothing?";
	struct iov v[] = { { msg, 4 }, { NULL, 0 }, { msg + 4, strlen(msg) - 4 } };
	prf_iov(HASH_SHA2_256, (const uint8_t *)"Jefe", 4, v, 3, a);
	prf1(HASH_SHA2_256, (const uint8_t *)"Jefe", 4, msg, strlen(msg), b);
	ck_assert_mem_eq(a, b, 32);
	ck_assert_int_eq(hash_size(HASH_MD5), 0);
	ck_assert_int_ne(prf1(HASH_MD5, b, 4, msg, 4, a), 0);
}
END_TEST

static void cbc_case(const char *key, const char *iv, const char *pt, const char *ct)
{
	uint8_t k[32], v[16], buf[64], v2[16];
	size_t kl = hx_into(key, k, sizeof k);
	hx_into(iv, v, sizeof v);
	memcpy(v2, v, 16);
	size_t n = hx_into(pt, buf, sizeof buf);
	ck_assert_int_eq(aes_cbc_encrypt(k, kl, v, buf, n), 0);
	ck_bytes_eq(buf, n, ct, "AES-CBC ciphertext");
	/* the IV left behind is the last ciphertext block */
	ck_assert_mem_eq(v, buf + n - 16, 16);
	ck_assert_int_eq(aes_cbc_decrypt(k, kl, v2, buf, n), 0);
	ck_bytes_eq(buf, n, pt, "AES-CBC plaintext");
	ck_assert_mem_eq(v2, v, 16);
}

START_TEST(aes_cbc_vectors)
{
	cbc_case("06a9214036b8a15b512e03d534120006", "3dafba429d9eb430b422da802c9fac41",
		 "53696e676c6520626c6f636b206d7367", "e353779c1079aeb82708942dbe77181a");
	cbc_case("c286696d887c9aa0611bbb3e2025a45a", "562e17996d093d28ddb3ba695a2e6f58",
		 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		 "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1");
	cbc_case("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
		 "000102030405060708090a0b0c0d0e0f", "6bc1bee22e409f96e93d7e117393172a",
		 "4f021db243bc633d7178183a9fa071e8");
	cbc_case("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
		 "000102030405060708090a0b0c0d0e0f", "6bc1bee22e409f96e93d7e117393172a",
		 "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
	uint8_t k[16] = { 0 }, iv[16] = { 0 }, b[20] = { 0 };
	ck_assert_int_ne(aes_cbc_encrypt(k, 16, iv, b, 20), 0);    /* not whole blocks */
	ck_assert_int_ne(aes_cbc_encrypt(k, 20, iv, b, 16), 0);    /* no such key size */
}
END_TEST

struct dh_vec {
	int group;
	const char *a, *A, *b, *B, *S;
};

static const struct dh_vec dh_vecs[] = {
	{ 2,
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
		"457120764f3a1e6fd58103e41a4093a6c8bc1d97cb8759de41c21afdd2d3048a"
		"5ef3d88ce24aa6ba4fe30bcfb0b0f75abf1a8aeaff3723f1bf53740c902005e1"
		"199fabad7c538e94a7034fd585339a02f3634893f748929d2a7257643e398130"
		"541ae64124c17d4507a97f1cbebeb7b933642b8df479eb59e36cfeffbf1671dd",
		"4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60",
		"8853dd51c0d37f784abba9e9e25f340745592c83a507ca0c52932c413a4d4850"
		"f6583a04f91820d9032042547d53737924e31e161f3b8c5b77174c6807ef5d9b"
		"f246a4c1c09c59da32b3f736ecfc44022a7646523228979d603b73eb8a607628"
		"43de92b56a62b3bc3d882be9bacf88a032386ec4c955573fd1ceba7efd0c4a0f",
		"8cf59e0f7b3dd19b8704b3760d7fe18be4216b554e83b61c29e8434762e1c724"
		"0fb5e28627ee6803191ccff83b2ac03dd26af6d77429d4bb33b7584fccfb93b2"
		"3cbb35ca0e5d75660ac9342c5409d25a5cab82c92c195e36ba14302ceb0b9008"
		"166093a01b41fc91fca9e28cde9c0e3c65ea0820fcc960a4ee9e4b386477ff85" },
	{ 14,
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
		"ce8736a3ad7c8260e0c5e5a457931ad19966d693e5c32414496b73d7f4e8bdaf"
		"51763d49d07a56b0a188048d61d52bd2a06e706a7a46664113e794057474d04c"
		"96b5bb151a50b27818a513cd8d6ecf037fc638b3b2f1084c58d4419735ba12c9"
		"a4391e2b3133bd660785e468569be85c7ad4f904d98a13f5e8695ff8cc5e2283"
		"4228a8ea2c082ff49a07607e8e5c1278ce8091725678fde112491091bf4cf3b1"
		"759ccb32c1de0b90a074b1e3ffe179d71a292ff29ce9580c3a978793598c0e00"
		"8289e7ab7783b2b75caf9152267e8c981dbb28fde07f2e11ffe1e3984097d160"
		"2c61ffd0714d9523455377c177df3be6b3c81e69f762c04be910a225f323882d",
		"4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60",
		"19ac2b0268dfc42db67b83f69dafdbb1aec685adc6519fe0ab9287a3fe5aa8f1"
		"ca6033b0d966a4fa6c9ba7bbe24947085a9a4f0118656e49cdbcbea98acf5ddb"
		"0c1cbe4a2d59b4889c5f9ad2e86f2aef3c4c0910d6047d84e723941cca8432f8"
		"d634a2d3835daf44ebc6e4a4bc19bfa477673ad317e393508073b9b95cff52a5"
		"945c9c45c2b72fdc9bc14a23a7522c4d5d61cef670864396bbac0e717ad4a948"
		"eee4e6cbbd2eb13e819615a25e4b63030a5c0a14dba00e0573934acb5ab20960"
		"425bd643a914b501f8a66be55ca66eb0df408180ae9a967554d90a05fe8ffc0f"
		"debe55188df8f91456bfd08bec82c1892e5350695a200a18405f81d0abd3c4a3",
		"1d091c89554262052900d0ab9f49c801e034a04b9db6de06efa60314e1cef81e"
		"f07e49bef94a825e7ed5773d354dc56075dc45b08e6bdb23e8c65c79bd4cd9b7"
		"038d05e3a5a08a0551a52f4dc54cb0a8fcbba08f9008d7e07559177f3affeccc"
		"c04fd26612b813d1268aee13b39c1346bfad03c9e3fdb67c0564003071464cdf"
		"4a8c9afceaa20bc57888eed275a1c40b6c3eef4f561948de3b3158bbd22648ed"
		"c728265f14e83a3ae1f7b4a6d6be24d76b37de0c427d7e35f64c1e812c5a9baa"
		"92b9614dcf2c8a908c43ddd73ee90044d74b2466fe213b501e64ad05fa8a98cf"
		"72a92cc59c30db5a760e008e676b1ad9427f99d34e71ede23ed0a5bdafa85ffd" },
	{ 19,
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
		"515c3d6eb9e396b904d3feca7f54fdcd0cc1e997bf375dca515ad0a6c3b4035f"
		"4536be3a50f318fbf9a5475902a221502bef0d57e08c53b2cc0a56f17d9f9354",
		"4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60",
		"261efbd3550cf068ef013ed7366ba32f5d6fe557b4b2abce8ade58cba168a55e"
		"1788a0b29a56a6abec4084c0c96bd3dcbca6b507f35dbea9e985708479d8bdc9",
		"7434f2c52e0d08dc73394aae3d2d55d5b88bc570f21cc2b8f8b80b273ddbf76f" },
	{ 20,
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
		"2122232425262728292a2b2c2d2e2f30",
		"c76f2283dda95cd49b0ed9e733d2904474e37216f124e13d2c9ab4cf01021c49"
		"ad9cabb3d0b97499aef2f0ab313fa02826bc1f83451b5c8962a75caff73588d4"
		"400a6296436154fb343c393e91048a6c7bcbadc83cd8a5f26feae883156f92a1",
		"4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60"
		"6162636465666768696a6b6c6d6e6f70",
		"dcd1d3e36f25e675bda55b28b3cfbe3d284287e1f9d16ac575b76c3c7036df30"
		"fe2a8f9be472194323e98b7441fd8eab4f8c2842a047ff97feeb592f6c00f252"
		"d07c5089eff7b3dd47498178e64989c5fa1257dc00dbc644bbc864ba5616aae4",
		"4506b6844fec66eacaafa353f344ef68e64416f9ab4051a4c54c7c13c7d3f92d"
		"f2449d0783dce977257e1029e3b0bcc7" },
	{ 21,
		"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
		"2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"
		"4142",
		"000366c8c3b22dfb87d0922163cd4b53cd43a24a29f79292fa4ef1288d69ed13"
		"9a7fc0552120ea1bdb4f88ca0da4eb91de9b077018d5885dbff0e91a66639a9b"
		"72a500bd5e44e3a526e1051a4371c9bae5c7611ed489582ecdcc1ea277fe2379"
		"286a3a1c0c7224c7b1ebb0a8b6e5fbda5cead23f47c300917d4f98f2d2d4dc79"
		"d0109826",
		"0142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60"
		"6162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80"
		"8182",
		"003a96e55b83fd6b5a03c591138d646ee0e49f6e2ebbc9ab9ccbca4c0ff49671"
		"18f8811caff67d5ced61fcbc9e0a7d41c03fa0e4dfde8ad125ca0bf7c566f87e"
		"dfab00ec3a8c7a40dfe6dd0eadb9f7ebf9d52b1650a37d0de87adbfae697673d"
		"1194cbb61ae479d890401a64bd022936513aafb670b8cdeca7523a3247778748"
		"6cbd70df",
		"0000846c53d25ff62a74f2aae46d842334ddddce75082c84dda2d9e879711db8"
		"f8ed08713feb66080c96f6af6d59e2c13a7feaacc974bb4734aa8480fb329282"
		"8f61" },
};

START_TEST(dh_known_answers)
{
	const struct dh_vec *v = &dh_vecs[_i];
	uint8_t priv[128], secret[DH_MAX_SECRET];
	size_t pub_len, sec_len;
	const uint8_t *B;
	struct dh *d = dh_new(v->group);
	ck_assert_ptr_nonnull(d);
	size_t n = hx_into(v->a, priv, sizeof priv);
	ck_assert_int_eq(dh_set_private(d, priv, n), 0);
	ck_bytes_eq(dh_public(d), dh_public_len(v->group), v->A, "our public value");
	B = hx(v->B, &pub_len);
	ck_assert_uint_eq(pub_len, dh_public_len(v->group));
	ck_assert_int_eq(dh_shared(d, B, pub_len, secret), 0);
	hx(v->S, &sec_len);
	ck_assert_uint_eq(sec_len, dh_secret_len(v->group));
	ck_bytes_eq(secret, sec_len, v->S, "shared secret");
	dh_free(d);
}
END_TEST

START_TEST(dh_random_pairs_agree)
{
	static const int groups[] = { 1, 2, 5, 14, 15, 16, 19, 20, 21 };
	int g = groups[_i];
	struct dh *a = dh_new(g), *b = dh_new(g);
	uint8_t s1[DH_MAX_SECRET], s2[DH_MAX_SECRET];
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(dh_shared(a, dh_public(b), dh_public_len(g), s1), 0);
	ck_assert_int_eq(dh_shared(b, dh_public(a), dh_public_len(g), s2), 0);
	ck_assert_mem_eq(s1, s2, dh_secret_len(g));
	ck_assert_mem_ne(dh_public(a), dh_public(b), dh_public_len(g));
	dh_free(a);
	dh_free(b);
}
END_TEST

START_TEST(dh_rejects_bad_peer_values)
{
	uint8_t bad[DH_MAX_PUBLIC] = { 0 }, s[DH_MAX_SECRET];
	struct dh *m = dh_new(14);
	size_t n = dh_public_len(14);
	ck_assert_int_ne(dh_shared(m, bad, n, s), 0);          /* 0 */
	bad[n - 1] = 1;
	ck_assert_int_ne(dh_shared(m, bad, n, s), 0);          /* 1 */
	memset(bad, 0xff, n);
	ck_assert_int_ne(dh_shared(m, bad, n, s), 0);          /* > p */
	ck_assert_int_ne(dh_shared(m, dh_public(m), n - 1, s), 0);   /* short */
	dh_free(m);
	struct dh *e = dh_new(19);
	memcpy(bad, dh_public(e), 64);
	bad[63] ^= 1;                                          /* off the curve */
	ck_assert_int_ne(dh_shared(e, bad, 64, s), 0);
	ck_assert_int_ne(dh_shared(e, dh_public(e), 63, s), 0);
	dh_free(e);
	ck_assert_ptr_null(dh_new(24));
	ck_assert(!dh_group_supported(3));
}
END_TEST

/* Our public value comes from a precomputed table (fixed base 2) when the
 * private exponent fits it; the shared secret from mpz_powm_sec. Both must
 * give 2^x: with the peer's value 2 (private key 1) the shared secret is
 * 2^x too. Exponents that stress the table: every digit 0 or 15, a single
 * top bit, 1, random ones, and one longer than the table covers. */
START_TEST(dh_fixed_base_matches_powm)
{
	static const int groups[] = { 1, 2, 5, 14, 15, 16 };
	static const size_t exp_bytes[] = { 32, 32, 32, 32, 40, 48 };  /* dh.c's exp_bits */
	int g = groups[_i];
	size_t plen = dh_public_len(g);
	uint8_t one[1] = { 1 }, two[DH_MAX_PUBLIC], s[DH_MAX_SECRET], x[DH_MAX_PUBLIC];
	struct dh *d = dh_new(g);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dh_set_private(d, one, 1), 0);
	memcpy(two, dh_public(d), plen);
	for (size_t i = 0; i + 1 < plen; i++)
		ck_assert_uint_eq(two[i], 0);
	ck_assert_uint_eq(two[plen - 1], 2);
	for (int k = 0; k < 8; k++) {
		size_t xl = exp_bytes[_i];
		memset(x, 0, sizeof x);
		switch (k) {
		case 0: memset(x, 0xff, xl); break;
		case 1: x[0] = 0x80; break;
		case 2: for (size_t i = 0; i < xl; i++) x[i] = i % 2 ? 0x0f : 0xf0; break;
		case 3: x[xl - 1] = 0x10; break;
		case 4: xl = plen - 1; memset(x, 0x5a, xl); break;   /* beyond the table */
		default: random_bytes(x, xl); x[0] |= 1; break;
		}
		ck_assert_int_eq(dh_set_private(d, x, xl), 0);
		ck_assert_int_eq(dh_shared(d, two, plen, s), 0);
		ck_assert_mem_eq(dh_public(d), s, plen);
	}
	dh_free(d);
}
END_TEST

/* Random bytes come from a pool refilled from getrandom: no two requests
 * get the same bytes, large requests work, and a forked child never hands
 * out what its parent had left in the pool. */
START_TEST(random_bytes_are_fresh_after_fork)
{
	uint8_t a[32], b[32], big[4096];
	ck_assert_int_eq(random_bytes(a, sizeof a), 0);     /* the pool is filled */
	ck_assert_int_eq(random_bytes(b, sizeof b), 0);
	ck_assert_mem_ne(a, b, sizeof a);
	ck_assert_int_eq(random_bytes(big, sizeof big), 0);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		uint8_t c[32];
		ssize_t w = random_bytes(c, sizeof c) ? -1 : write(fds[1], c, sizeof c);
		_exit(w == (ssize_t)sizeof c ? 0 : 1);
	}
	uint8_t mine[32], childs[32];
	ck_assert_int_eq(random_bytes(mine, sizeof mine), 0);
	ck_assert_int_eq(read(fds[0], childs, sizeof childs), (ssize_t)sizeof childs);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_mem_ne(mine, childs, sizeof mine);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* One negotiation between two charons (see the top of the file). */
static const char CH_GXY[] =
	"9043d3560ff56bd648299574a74a260b277a49bbb2451fcb9772cb77e4900d26"
	"18755f8f9b0bee2f942a280867f50a526376c645d64e5647fd057c681623030d"
	"49e3d722c3f94a124130f8a9311c0c71224b3212c13ef19531f9320a5860982b"
	"6431196d00c8f2b2e060780bc02fd713208fee5a57208ff925dae5dbd8b6a5af"
	"fd85e58c6d7853e14a7f6e37c08ac0c5f6c35110c3b9fc2553715894d1364347"
	"3877e5f2f16e86a244cafa8ea6d168f30b890cb29e7ecbc852e155e72c9fa12d"
	"8e91bd7b32f879a815bb56fe65ffc7b45cd8c412c01d1d52faa86a3ffb8554d9"
	"3f6a297349d2f64be4e36f72dcb0a99743ab53f3856b652d85340150856adb43";
static const char CH_COOKIES[] = "1fefa3a6900c4a5fe8e1d37c797a2766";
static const char CH_SKEYID[] = "dbb75aa61995a750d34cbdfc0b6f62d84f42dce9a5a45de1ace0c46f6c0d9902";
static const char CH_HASH_I_DATA[] =
	"0bece1ff8f9dfe2e88eafe5845b42546225e3d8d6e55f6b6a2851a47a5619efc"
	"ab1a9b5105af1b8adbea5c4c2243c9091cf8b896fced6f755fa7a6f44a10b586"
	"912860278a6ca70831f5c73304cd38111977591e365290c916256f5735b159f8"
	"4ad03d80729f6a552b749c2b6510d84169b6ec8c1a6cb87e2028efbe6ba6f462"
	"2972e382cf4624fbb94db02eca8991c947a5cbf4f95674418809e7c018c3bd16"
	"08b0cc0ad9d61205a4aee07dd94b6fd30159194c4f9caf3fd6dcfaf57b1e2239"
	"81dcfccf761fc9ea77d1ac4ab38ea616d3e781752641d8b55fe2cea3179401c6"
	"1ff833de4df3a945fbfc88ee232f9e1c1fb3feaad2c0f7d97ecd7d044c4fe593"
	"85ac3cd756dca7b6fe36d65c5cfe2df3c66e9d0c4755727a121dba0497be5a03"
	"d077b8eb862df7b9bc5959d38e73045c29b1dce452e2d498fd82f55baf6598a4"
	"b8c98c8305cfa541426ffeb02ef1f6844b83f2bf9a761733ff2fb67fb86ba5bb"
	"c7ddc57527b5ea5f2f5c6829dc2828e0c4fb7cfa429a31f415e647fd1d1db6aa"
	"e505c0976c99384d1fd12d5a8e68a7937c203030d15b0384d9df557249a02042"
	"7ebb491a13daa099f5eb078a36a27f6d96f75b059bee8604ba9484e8acfafd17"
	"e3465d1b4ee7c6b324c6da945df668d7490b455c60a16e7d4c5cbcfcad168baa"
	"7b51c39da487c7d458a08ef8a9acfeebbcaaa027940d38a3e8d151ad819645d2"
	"1fefa3a6900c4a5fe8e1d37c797a276600000001000000010000002c01010001"
	"000000240101000080010007800e0080800200048004000e80030001800b0001"
	"800c3de001000000c6120001";

START_TEST(ikev1_phase1_derivation_matches_charon)
{
	struct p1keys k = { .hash = HASH_SHA2_256, .prf_len = 32 };
	size_t gl, cl, hl;
	const uint8_t *gxy = hx(CH_GXY, &gl), *ck = hx(CH_COOKIES, &cl);
	hx_into(CH_SKEYID, k.skeyid, sizeof k.skeyid);
	ck_assert_int_eq(ike_derive_p1(&k, gxy, gl, ck, ck + 8, 16), 0);
	ck_bytes_eq(k.skeyid_d, 32, "22bc46379ac0be8e959c2f3f8b91315fd60e9ec439173be4bdcd6d8421de5a54", "SKEYID_d");
	ck_bytes_eq(k.skeyid_a, 32, "2dd4551c74c0bf99c1441990694a9414f1f4d849e55d3d158ae26195d7d749d6", "SKEYID_a");
	ck_bytes_eq(k.skeyid_e, 32, "c54138535f9ce766504aa165833278ceaf3a0911bccbe295d05722793a2a42d6", "SKEYID_e");
	ck_bytes_eq(k.enc, 16, "c54138535f9ce766504aa165833278ce", "Ka");

	/* HASH_I data = g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b */
	const uint8_t *hd = hx(CH_HASH_I_DATA, &hl);
	uint8_t iv[16], h[HASH_MAX_LEN];
	ck_assert_int_eq(ike_p1_iv(HASH_SHA2_256, hd, 256, hd + 256, 256, iv), 0);
	ck_bytes_eq(iv, 16, "b61cd6a2d7ac11196a46df81f7e896ff", "initial IV");
	ck_assert_int_eq(ike_auth_hash(&k, hd, hd + 256, 256, hd + 512, hd + 520, hd + 528,
				       hl - 528 - 8, hd + hl - 8, 8, h), 0);
	ck_bytes_eq(h, 32, "9faf22662e4452f05f94ea555e0e6b7497bbae787807719cbcf4d10510be9218", "HASH_I");
}
END_TEST

START_TEST(ikev1_phase2_derivation_matches_charon)
{
	struct p1keys k = { .hash = HASH_SHA2_256, .prf_len = 32 };
	hx_into("22bc46379ac0be8e959c2f3f8b91315fd60e9ec439173be4bdcd6d8421de5a54", k.skeyid_d, sizeof k.skeyid_d);
	uint8_t iv[16], last[16], km[48];
	hx_into("a81b06bf3ddba45570455d596676186d", last, sizeof last);
	ck_assert_int_eq(ike_p2_iv(HASH_SHA2_256, last, 3174890315u, iv), 0);
	ck_bytes_eq(iv, 16, "d41db774cc5d4ac23efd96e19fd8109c", "quick mode IV");
	/* initiator SA seed = g(qm)^xy | protocol | SPI | Ni_b | Nr_b */
	size_t sl;
	const uint8_t *seed = hx(
		"cfa4348c65e5cba75c8741820f005b70bec1f4d7cd57518b0bf5b8bc92cd6e91"
		"b75dd239c42419bd8e99831e44b823e7d5f5b89a5dac7e5577b0ba018ce47b02"
		"d694c62c9dfb0cd6210537f8d3051f59b07143d8d5f6217409dc440f8ca4993e"
		"8e8790305e284b399eb1611e5da1efbe38887df6b8f1db6a9c8b86b12cdc56c5"
		"42a9b52a941e6c8036eeb7320fc79b6dd65aea275d29ecfa23e1976d1e256e36"
		"228217d34abdf4b4b5ea521ab8e579dc253ba32f3e6eab9e1a8838b7dc7a00e3"
		"b307c85d860e585c89994e9c4c2b185fc8e338e62751a48937fe052dfc9ee5b0"
		"870709f1593c69a9d6704860f09d8bb67f5c5f58cec0bfb7d5cab1c88a51442f"
		"03f6a253d300c53c3f51e840a59c90b07944c72de1c8a7d780aa5ee723f2c974"
		"0af0c842cf9d2e3d910d1d21a00f2ce5a1571cc8fa6c90f01ab25b4c4220575c"
		"297ee17599", &sl);
	ck_assert_uint_eq(sl, 256 + 1 + 4 + 32 + 32);
	uint32_t spi = (uint32_t)seed[257] << 24 | (uint32_t)seed[258] << 16 |
		       (uint32_t)seed[259] << 8 | seed[260];
	ck_assert_int_eq(ike_keymat(&k, seed, 256, seed[256], spi, seed + 261, 32, seed + 293, 32,
				    km, sizeof km), 0);
	ck_bytes_eq(km, 16, "532ae42d5784188bb89ddfbdd5877475", "ESP encryption key");
	ck_bytes_eq(km + 16, 32, "b8c80967e3c695955b02d614b97b91b63283a18395ef2251c715ff181fcb5723", "ESP integrity key");
}
END_TEST

START_TEST(encryption_key_is_expanded_when_skeyid_e_is_short)
{
	/* SHA-1 gives 20 bytes; AES-256 needs 32: Ka = K1 | K2, each a prf of SKEYID_e. */
	struct p1keys k = { .hash = HASH_SHA1, .prf_len = 20 };
	memset(k.skeyid, 0x11, 20);
	uint8_t gxy[16] = { 1 }, ck[16] = { 2 }, k1[20], k2[20];
	ck_assert_int_eq(ike_derive_p1(&k, gxy, sizeof gxy, ck, ck + 8, 32), 0);
	uint8_t zero = 0;
	prf1(HASH_SHA1, k.skeyid_e, 20, &zero, 1, k1);
	prf1(HASH_SHA1, k.skeyid_e, 20, k1, 20, k2);
	ck_assert_mem_eq(k.enc, k1, 20);
	ck_assert_mem_eq(k.enc + 20, k2, 12);
	/* and not expanded when long enough */
	ck_assert_int_eq(ike_derive_p1(&k, gxy, sizeof gxy, ck, ck + 8, 16), 0);
	ck_assert_mem_eq(k.enc, k.skeyid_e, 16);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ike_crypto");
	TCase *tc = tcase_create("crypto");
	tcase_add_test(tc, hmac_rfc_vectors);
	tcase_add_test(tc, hmac_split_input_equals_whole);
	tcase_add_test(tc, aes_cbc_vectors);
	tcase_add_loop_test(tc, dh_known_answers, 0, sizeof dh_vecs / sizeof dh_vecs[0]);
	tcase_add_loop_test(tc, dh_random_pairs_agree, 0, 9);
	tcase_add_test(tc, dh_rejects_bad_peer_values);
	tcase_add_loop_test(tc, dh_fixed_base_matches_powm, 0, 6);
	tcase_add_test(tc, random_bytes_are_fresh_after_fork);
	tcase_add_test(tc, ikev1_phase1_derivation_matches_charon);
	tcase_add_test(tc, ikev1_phase2_derivation_matches_charon);
	tcase_add_test(tc, encryption_key_is_expanded_when_skeyid_e_is_short);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
