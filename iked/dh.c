/* iked/dh — MODP groups with GMP and ECP groups with nettle. */
#include "iked/dh.h"

#include <gmp.h>
#include <stdlib.h>
#include <string.h>

#if GMP_NAIL_BITS != 0 || GMP_NUMB_BITS % 4 != 0
#error "iked/dh needs GMP limbs without nail bits"
#endif

#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>

#include "iked/crypto.h"

/* The primes, computed from their definition 2^n - 2^(n-64) - 1 +
 * 2^64 * (floor(2^(n-130) * pi) + k) (RFC 2409, RFC 3526) and
 * checked against the values OpenSSL ships for groups 5, 14, 15 and 16. */
static const char modp1[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF";
static const char modp2[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";
static const char modp5[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF";
static const char modp14[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";
static const char modp15[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
	"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
	"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
	"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF";
static const char modp16[] =
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
	"020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
	"4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05"
	"98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
	"9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
	"E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718"
	"3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33"
	"A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
	"ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
	"D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
	"08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7"
	"88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8"
	"DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2"
	"233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
	"93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF";

enum dh_type { DH_MODP, DH_ECP };

struct dh_group_info {
	int id;
	enum dh_type type;
	const char *name;
	const char *prime;                /* MODP */
	unsigned bits;                    /* prime or field size */
	unsigned exp_bits;                /* MODP private exponent size */
	const struct ecc_curve *(*curve)(void);
};

/* Private exponents are twice the group's security strength rounded up
 * (NIST SP 800-56A), never under 256 bits: full-size exponents buy nothing
 * and cost several times the time. */
static const struct dh_group_info groups[] = {
	{ 1, DH_MODP, "MODP_768", modp1, 768, 256, NULL },
	{ 2, DH_MODP, "MODP_1024", modp2, 1024, 256, NULL },
	{ 5, DH_MODP, "MODP_1536", modp5, 1536, 256, NULL },
	{ 14, DH_MODP, "MODP_2048", modp14, 2048, 256, NULL },
	{ 15, DH_MODP, "MODP_3072", modp15, 3072, 320, NULL },
	{ 16, DH_MODP, "MODP_4096", modp16, 4096, 384, NULL },
	{ 19, DH_ECP, "ECP_256", NULL, 256, 0, nettle_get_secp_256r1 },
	{ 20, DH_ECP, "ECP_384", NULL, 384, 0, nettle_get_secp_384r1 },
	{ 21, DH_ECP, "ECP_521", NULL, 521, 0, nettle_get_secp_521r1 },
};

static const struct dh_group_info *group_info(int id)
{
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if (groups[i].id == id)
			return &groups[i];
	return NULL;
}

/* ---- fixed-base exponentiation for our own public values ---------------------
 *
 * Half of a responder's modular exponentiations are g^x with g = 2 and the
 * group's prime: the same base every time. A table per group, built on first
 * use, holds g^(j * 16^i) for every 4-bit digit position i of the private
 * exponent and every digit value j (Montgomery form), so g^x is the product
 * of one entry per digit: exp_bits/4 - 1 multiplications instead of about
 * exp_bits squarings and a fifth as many multiplications (a quarter of the
 * time for MODP-2048). It stays constant-time in x as mpz_powm_sec is: every
 * entry is read with mpn_sec_tabselect (all 16 of a position, always), the
 * products by mpn_sec_mul, the Montgomery reduction by mpn_addmul_1 rows and
 * a conditional subtraction by mpn_cnd_sub_n, as GMP's own mpn_sec_powm does.
 * Values stay below R = 2^(limb bits * n) but not necessarily below p ("almost
 * reduced"), which the last multiplication, by 1, brings below p.
 *
 * The tables are built once per group in iked's one thread (about 1 ms;
 * 256 KiB for MODP-2048) and kept for the life of the process. */

#define FB_BITS  4
#define FB_ENTS  (1 << FB_BITS)

struct fb_table {
	mp_size_t n;                      /* limbs of p */
	mp_limb_t *p;
	mp_limb_t pinv;                   /* -1/p mod 2^limb bits */
	size_t ndigits;                   /* exponent digits the table covers */
	mp_limb_t *tab;                   /* ndigits * FB_ENTS entries of n limbs */
	size_t scratch;                   /* limbs mont_mul needs */
};

static struct fb_table *fb_tables[2 * 8];

/* r = a * b / R mod p, almost reduced; t has f->scratch limbs. r may be a or b. */
static void mont_mul(const struct fb_table *f, mp_limb_t *r, const mp_limb_t *a,
		     const mp_limb_t *b, mp_limb_t *t)
{
	mp_size_t n = f->n;
	mpn_sec_mul(t, a, n, b, n, t + 2 * n);
	/* each row clears one low limb; its carry is kept in that limb and
	 * added in at the end (GMP's redc_1) */
	for (mp_size_t i = 0; i < n; i++)
		t[i] = mpn_addmul_1(t + i, f->p, n, t[i] * f->pinv);
	mp_limb_t cy = mpn_add_n(r, t + n, t, n);
	mpn_cnd_sub_n(cy, r, r, f->p, n);
}

static mp_limb_t limb_inverse(mp_limb_t p0)
{
	mp_limb_t inv = p0;                   /* right to 3 bits for odd p0 */
	for (int i = 0; i < 6; i++)
		inv *= 2 - p0 * inv;          /* Newton: doubles the correct bits */
	return (mp_limb_t)0 - inv;
}

static void mpz_to_limbs(const mpz_t v, mp_limb_t *out, mp_size_t n)
{
	for (mp_size_t i = 0; i < n; i++)
		out[i] = mpz_getlimbn(v, i);
}

static void fb_free(struct fb_table *f)
{
	if (!f)
		return;
	free(f->p);
	free(f->tab);
	free(f);
}

static struct fb_table *fb_build(const struct dh_group_info *g)
{
	mpz_t p, v;
	mpz_init_set_str(p, g->prime, 16);
	mpz_init(v);
	struct fb_table *f = calloc(1, sizeof *f);
	mp_size_t n = (mp_size_t)mpz_size(p);
	if (f) {
		f->n = n;
		f->ndigits = (g->exp_bits + FB_BITS - 1) / FB_BITS;
		f->scratch = 2 * (size_t)n + (size_t)mpn_sec_mul_itch(n, n);
		f->p = malloc((size_t)n * sizeof *f->p);
		f->tab = malloc(f->ndigits * FB_ENTS * (size_t)n * sizeof *f->tab);
	}
	mp_limb_t *t = f ? malloc(f->scratch * sizeof *t) : NULL;
	mp_limb_t *base = malloc((size_t)n * sizeof *base);
	if (!f || !f->p || !f->tab || !t || !base) {
		fb_free(f);
		f = NULL;
		goto out;
	}
	mpz_to_limbs(p, f->p, n);
	f->pinv = limb_inverse(f->p[0]);
	mpz_set_ui(v, 2);                         /* g R mod p */
	mpz_mul_2exp(v, v, (mp_bitcnt_t)n * GMP_NUMB_BITS);
	mpz_mod(v, v, p);
	mpz_to_limbs(v, base, n);
	mpz_set_ui(v, 1);                         /* R mod p: the Montgomery 1 */
	mpz_mul_2exp(v, v, (mp_bitcnt_t)n * GMP_NUMB_BITS);
	mpz_mod(v, v, p);
	for (size_t i = 0; i < f->ndigits; i++) {
		mp_limb_t *row = f->tab + i * FB_ENTS * (size_t)n;
		mpz_to_limbs(v, row, n);
		memcpy(row + n, base, (size_t)n * sizeof *base);
		for (int j = 2; j < FB_ENTS; j++)
			mont_mul(f, row + (size_t)j * (size_t)n, row + (size_t)(j - 1) * (size_t)n,
				 base, t);
		for (int k = 0; k < FB_BITS; k++)  /* next position: base^16 */
			mont_mul(f, base, base, base, t);
	}
out:
	free(t);
	free(base);
	mpz_clear(p);
	mpz_clear(v);
	return f;
}

static const struct fb_table *fb_table(const struct dh_group_info *g)
{
	size_t slot = (size_t)(g - groups);
	if (slot >= sizeof fb_tables / sizeof fb_tables[0])
		return NULL;
	if (!fb_tables[slot])
		fb_tables[slot] = fb_build(g);
	return fb_tables[slot];
}

/* out = g^x mod p as len big-endian bytes; -1 when x is longer than the table
 * covers (dh_set_private with a full-size exponent) or memory runs out. */
static int fb_powm(const struct dh_group_info *g, const mpz_t x, uint8_t *out, size_t len)
{
	const struct fb_table *f = fb_table(g);
	if (!f || mpz_sizeinbase(x, 2) > f->ndigits * FB_BITS)
		return -1;
	mp_size_t n = f->n;
	size_t xl = (f->ndigits * FB_BITS + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
	mp_limb_t *mem = malloc((3 * (size_t)n + f->scratch + xl) * sizeof *mem);
	if (!mem)
		return -1;
	mp_limb_t *acc = mem, *ent = acc + n, *one = ent + n, *t = one + n, *xs = t + f->scratch;
	mpz_to_limbs(x, xs, (mp_size_t)xl);
	for (size_t i = 0; i < f->ndigits; i++) {
		size_t bit = i * FB_BITS;
		mp_limb_t digit = (xs[bit / GMP_NUMB_BITS] >> (bit % GMP_NUMB_BITS)) & (FB_ENTS - 1);
		mpn_sec_tabselect(i ? ent : acc, f->tab + i * FB_ENTS * (size_t)n, n, FB_ENTS,
				  digit);
		if (i)
			mont_mul(f, acc, acc, ent, t);
	}
	memset(one, 0, (size_t)n * sizeof *one);
	one[0] = 1;
	mont_mul(f, acc, acc, one, t);            /* out of Montgomery form, below p */
	size_t nb = (size_t)n * sizeof *acc;
	for (size_t k = 0; k < len; k++)          /* big-endian, left-padded */
		out[len - 1 - k] = k < nb ? (uint8_t)(acc[k / sizeof *acc] >> (8 * (k % sizeof *acc)))
					  : 0;
	mem_wipe(mem, (3 * (size_t)n + f->scratch + xl) * sizeof *mem);
	free(mem);
	return 0;
}

struct dh {
	const struct dh_group_info *g;
	mpz_t p, x;                       /* MODP: prime and private exponent */
	struct ecc_scalar k;              /* ECP: private scalar */
	bool k_init;
	uint8_t pub[DH_MAX_PUBLIC];
	size_t pub_len;
};

bool dh_group_supported(int group)
{
	return group_info(group) != NULL;
}

static size_t coord_len(const struct dh_group_info *g)
{
	return (g->bits + 7) / 8;
}

size_t dh_public_len(int group)
{
	const struct dh_group_info *g = group_info(group);
	if (!g)
		return 0;
	return g->type == DH_MODP ? g->bits / 8 : 2 * coord_len(g);
}

size_t dh_secret_len(int group)
{
	const struct dh_group_info *g = group_info(group);
	if (!g)
		return 0;
	return g->type == DH_MODP ? g->bits / 8 : coord_len(g);
}

const char *dh_group_name(int group)
{
	const struct dh_group_info *g = group_info(group);
	return g ? g->name : "NONE";
}

int dh_group(const struct dh *d)
{
	return d->g->id;
}

const uint8_t *dh_public(const struct dh *d)
{
	return d->pub;
}

/* Big-endian, left-padded with zeros to exactly len bytes. */
static void mpz_to_fixed(const mpz_t v, uint8_t *out, size_t len)
{
	size_t n = (mpz_sizeinbase(v, 2) + 7) / 8;
	memset(out, 0, len);
	if (mpz_sgn(v) == 0 || n > len)
		return;
	mpz_export(out + (len - n), NULL, 1, 1, 1, 0, v);
}

/* A uniformly random scalar in [1, q-1]: draw bits of the curve's size and
 * let nettle refuse values out of range (rarely more than one draw). */
static int ecp_random_scalar(struct dh *d)
{
	size_t bits = d->g->bits, n = (bits + 7) / 8;
	uint8_t r[66];
	mpz_t v;
	mpz_init(v);
	int rc = -1;
	for (int tries = 0; tries < 64 && rc; tries++) {
		if (random_bytes(r, n))
			break;
		if (bits % 8)
			r[0] &= (uint8_t)((1u << (bits % 8)) - 1);
		mpz_import(v, n, 1, 1, 1, 0, r);
		if (ecc_scalar_set(&d->k, v))
			rc = 0;
	}
	mem_wipe(r, sizeof r);
	mpz_clear(v);
	return rc;
}

static int modp_public(struct dh *d)
{
	d->pub_len = d->g->bits / 8;
	if (fb_powm(d->g, d->x, d->pub, d->pub_len) == 0)
		return 0;
	mpz_t y, gen;
	mpz_init(y);
	mpz_init_set_ui(gen, 2);
	mpz_powm_sec(y, gen, d->x, d->p);
	mpz_to_fixed(y, d->pub, d->pub_len);
	mpz_clear(y);
	mpz_clear(gen);
	return 0;
}

static int ecp_public(struct dh *d)
{
	const struct ecc_curve *c = d->g->curve();
	struct ecc_point r;
	mpz_t x, y;
	ecc_point_init(&r, c);
	mpz_init(x);
	mpz_init(y);
	ecc_point_mul_g(&r, &d->k);
	ecc_point_get(&r, x, y);
	size_t cl = coord_len(d->g);
	d->pub_len = 2 * cl;
	mpz_to_fixed(x, d->pub, cl);
	mpz_to_fixed(y, d->pub + cl, cl);
	mpz_clear(x);
	mpz_clear(y);
	ecc_point_clear(&r);
	return 0;
}

struct dh *dh_new(int group)
{
	const struct dh_group_info *g = group_info(group);
	if (!g)
		return NULL;
	struct dh *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->g = g;
	if (g->type == DH_MODP) {
		mpz_init_set_str(d->p, g->prime, 16);
		mpz_init(d->x);
		uint8_t r[64];
		size_t n = g->exp_bits / 8;
		if (random_bytes(r, n)) {
			dh_free(d);
			return NULL;
		}
		mpz_import(d->x, n, 1, 1, 1, 0, r);
		mem_wipe(r, sizeof r);
		mpz_setbit(d->x, g->exp_bits - 1);   /* full-size exponent, never tiny */
		modp_public(d);
	} else {
		ecc_scalar_init(&d->k, g->curve());
		d->k_init = true;
		if (ecp_random_scalar(d)) {
			dh_free(d);
			return NULL;
		}
		ecp_public(d);
	}
	return d;
}

int dh_set_private(struct dh *d, const uint8_t *priv, size_t len)
{
	mpz_t v;
	mpz_init(v);
	mpz_import(v, len, 1, 1, 1, 0, priv);
	int rc = 0;
	if (d->g->type == DH_MODP) {
		if (mpz_sgn(v) <= 0 || mpz_cmp(v, d->p) >= 0)
			rc = -1;
		else {
			mpz_set(d->x, v);
			modp_public(d);
		}
	} else if (!ecc_scalar_set(&d->k, v)) {
		rc = -1;
	} else {
		ecp_public(d);
	}
	mpz_clear(v);
	return rc;
}

static int modp_shared(struct dh *d, const uint8_t *peer, size_t len, uint8_t *out)
{
	if (len != d->g->bits / 8)
		return -1;
	mpz_t y, pm1, s;
	mpz_init(y);
	mpz_init(pm1);
	mpz_init(s);
	mpz_import(y, len, 1, 1, 1, 0, peer);
	mpz_sub_ui(pm1, d->p, 1);
	int rc = -1;
	/* 1 < y < p-1: rejects the values that force a known secret */
	if (mpz_cmp_ui(y, 1) > 0 && mpz_cmp(y, pm1) < 0) {
		mpz_powm_sec(s, y, d->x, d->p);
		mpz_to_fixed(s, out, len);
		rc = 0;
	}
	mpz_clear(y);
	mpz_clear(pm1);
	mpz_clear(s);
	return rc;
}

static int ecp_shared(struct dh *d, const uint8_t *peer, size_t len, uint8_t *out)
{
	size_t cl = coord_len(d->g);
	if (len != 2 * cl)
		return -1;
	const struct ecc_curve *c = d->g->curve();
	struct ecc_point p, r;
	mpz_t x, y;
	ecc_point_init(&p, c);
	ecc_point_init(&r, c);
	mpz_init(x);
	mpz_init(y);
	mpz_import(x, cl, 1, 1, 1, 0, peer);
	mpz_import(y, cl, 1, 1, 1, 0, peer + cl);
	int rc = -1;
	if (ecc_point_set(&p, x, y)) {           /* 0 unless the point is on the curve */
		ecc_point_mul(&r, &d->k, &p);
		ecc_point_get(&r, x, y);
		mpz_to_fixed(x, out, cl);
		rc = 0;
	}
	mpz_clear(x);
	mpz_clear(y);
	ecc_point_clear(&p);
	ecc_point_clear(&r);
	return rc;
}

int dh_shared(struct dh *d, const uint8_t *peer, size_t len, uint8_t *out)
{
	return d->g->type == DH_MODP ? modp_shared(d, peer, len, out)
				     : ecp_shared(d, peer, len, out);
}

void dh_free(struct dh *d)
{
	if (!d)
		return;
	if (d->g->type == DH_MODP) {
		mpz_clear(d->p);
		mpz_clear(d->x);
	} else if (d->k_init) {
		ecc_scalar_clear(&d->k);
	}
	mem_wipe(d, sizeof *d);
	free(d);
}
