/* iked/swsa_record — the SWSA record: key, JSON text, strict decoding. */
#include "iked/swsa_record.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/jsonread.h"
#include "common/strutil.h"
#include "iked/crypto.h"
#include "iked/isakmp.h"
#include "policy/schema.h"

/* ---- tunnel id and keys ----------------------------------------------------- */

static void selector_canon(const struct selector *s, char *buf, size_t len)
{
	char r[IP_RANGE_STRLEN];
	ip_range_format(&s->r, r, sizeof r);
	snprintf(buf, len, "%s/%u/%u", r, s->proto, s->port);
}

void swsa_record_set_tunnel(struct swsa_record *r)
{
	char l[IP_RANGE_STRLEN + 16], rs[IP_RANGE_STRLEN + 16], p[IP_STRLEN];
	selector_canon(&r->lsel, l, sizeof l);
	selector_canon(&r->rsel, rs, sizeof rs);
	ip_addr_format(&r->peer, p, sizeof p);
	/* the separators keep "a|bc" and "ab|c" apart */
	struct iov v[] = { { r->filter_rule, strlen(r->filter_rule) }, { "|", 1 }, { l, strlen(l) },
			   { "|", 1 }, { rs, strlen(rs) }, { "|", 1 }, { p, strlen(p) } };
	uint8_t h[HASH_MAX_LEN];
	hash_iov(HASH_SHA2_256, v, sizeof v / sizeof v[0], h);
	for (size_t i = 0; i < SWSA_TUNNEL_HEX / 2; i++)
		snprintf(r->tunnel + 2 * i, 3, "%02x", h[i]);
}

int swsa_identity_set(struct swsa_identity *id, uint8_t ike_id_type, const char *text)
{
	switch (ike_id_type) {
	case IPSEC_ID_IPV4_ADDR:
	case IPSEC_ID_IPV4_ADDR_SUBNET:
	case IPSEC_ID_IPV6_ADDR:
	case IPSEC_ID_IPV6_ADDR_SUBNET:
	case IPSEC_ID_IPV4_ADDR_RANGE:
	case IPSEC_ID_IPV6_ADDR_RANGE: id->type = IDNAME_IPADDR; break;
	case IPSEC_ID_FQDN: id->type = IDNAME_FQDN; break;
	case IPSEC_ID_USER_FQDN: id->type = IDNAME_USER_FQDN; break;
	case IPSEC_ID_DER_ASN1_DN: id->type = IDNAME_X500DN; break;
	case IPSEC_ID_KEY_ID: id->type = IDNAME_KEY_ID; break;
	default: return -1;
	}
	str_copy(id->value, text, sizeof id->value);
	return 0;
}

static bool tunnel_ok(const char *t)
{
	size_t n = 0;
	for (; t[n]; n++)
		if (!isdigit((unsigned char)t[n]) && !(t[n] >= 'a' && t[n] <= 'f'))
			return false;
	return n == SWSA_TUNNEL_HEX;
}

int swsa_key(const struct ip_addr *dvipa, const char *tunnel, char *buf, size_t len)
{
	char a[IP_STRLEN];
	ip_addr_format(dvipa, a, sizeof a);
	int n = snprintf(buf, len, SWSA_KEY_PREFIX "%s:%s", a, tunnel);
	return n < 0 || (size_t)n >= len || !tunnel_ok(tunnel) ? -1 : 0;
}

/* DVIPA and tunnel from "<DVIPA><sep><TUNNEL>" (the tunnel is the fixed-size
 * tail, so an IPv6 DVIPA's colons are no trouble). */
static int split_tail(const char *s, size_t n, char sep, struct ip_addr *dvipa,
		      char tunnel[SWSA_TUNNEL_HEX + 1])
{
	if (n < SWSA_TUNNEL_HEX + 2 || s[n - SWSA_TUNNEL_HEX - 1] != sep)
		return -1;
	char a[IP_STRLEN], t[SWSA_TUNNEL_HEX + 1];
	size_t alen = n - SWSA_TUNNEL_HEX - 1;
	if (alen >= sizeof a)
		return -1;
	memcpy(a, s, alen);
	a[alen] = '\0';
	memcpy(t, s + alen + 1, SWSA_TUNNEL_HEX);
	t[SWSA_TUNNEL_HEX] = '\0';
	struct ip_addr ip;
	char canon[IP_STRLEN];
	if (!tunnel_ok(t) || ip_addr_parse(a, &ip) != 0)
		return -1;
	ip_addr_format(&ip, canon, sizeof canon);
	if (strcmp(canon, a) != 0)        /* one spelling per address, one key per tunnel */
		return -1;
	if (dvipa)
		*dvipa = ip;
	if (tunnel)
		memcpy(tunnel, t, sizeof t);
	return 0;
}

int swsa_key_parse(const char *key, struct ip_addr *dvipa, char tunnel[SWSA_TUNNEL_HEX + 1])
{
	size_t plen = strlen(SWSA_KEY_PREFIX);
	if (strncmp(key, SWSA_KEY_PREFIX, plen) != 0)
		return -1;
	return split_tail(key + plen, strlen(key + plen), ':', dvipa, tunnel);
}

int swsa_key_to_file(const char *key, char *buf, size_t len)
{
	struct ip_addr ip;
	char t[SWSA_TUNNEL_HEX + 1], a[IP_STRLEN];
	if (swsa_key_parse(key, &ip, t))
		return -1;
	ip_addr_format(&ip, a, sizeof a);
	int n = snprintf(buf, len, "%s_%s" SWSA_FILE_SUFFIX, a, t);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int swsa_file_to_key(const char *name, char *buf, size_t len)
{
	size_t n = strlen(name), slen = strlen(SWSA_FILE_SUFFIX);
	struct ip_addr ip;
	char t[SWSA_TUNNEL_HEX + 1];
	if (n <= slen || strcmp(name + n - slen, SWSA_FILE_SUFFIX) != 0 ||
	    split_tail(name, n - slen, '_', &ip, t))
		return -1;
	return swsa_key(&ip, t, buf, len);
}

/* ---- encoding ------------------------------------------------------------------ */

static const char *enum_at(const char *const *table, int i)
{
	for (int k = 0; table[k]; k++)
		if (k == i)
			return table[k];
	return "?";
}

/* Years 1970 to 9999: four digits, as the decoder wants them. */
#define TIME_MAX ((time_t)253402300799)   /* 9999-12-31T23:59:59Z */

static void time_text(time_t t, char buf[64])
{
	struct tm tm;
	t = t < 0 ? 0 : t > TIME_MAX ? TIME_MAX : t;
	gmtime_r(&t, &tm);
	snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void put_addr(struct json *j, const char *k, const struct ip_addr *a)
{
	char s[IP_STRLEN];
	ip_addr_format(a, s, sizeof s);
	json_kstr(j, k, s);
}

static void put_selector(struct json *j, const char *k, const struct selector *s)
{
	char r[IP_RANGE_STRLEN];
	ip_range_format(&s->r, r, sizeof r);
	json_key(j, k);
	json_obj_begin(j);
	json_kstr(j, "Addr", r);
	json_kuint(j, "Protocol", s->proto);
	json_kuint(j, "Port", s->port);
	json_obj_end(j);
}

static void put_identity(struct json *j, const char *k, const struct swsa_identity *id)
{
	json_key(j, k);
	json_obj_begin(j);
	json_kstr(j, "Type", enum_at(enum_identity, id->type));
	json_kstr(j, "Value", id->value);
	json_obj_end(j);
}

static void put_group(struct json *j, const char *k, int g)
{
	const char *name = dhgroup_name(g);
	json_kstr(j, k, name ? name : "?");
}

static void put_phase1(struct json *j, int exch, const struct p1_attrs *a)
{
	json_key(j, "Phase1");
	json_obj_begin(j);
	json_kstr(j, "Mode", enum_at(enum_how_to_initiate,
				     exch == EXCH_AGGRESSIVE ? HOWINIT_AGGRESSIVE : HOWINIT_MAIN));
	json_kstr(j, "KeyExchangeOffer", a->offer_name);
	json_kstr(j, "HowToEncrypt", enum_at(enum_encrypt, a->enc_alg));
	json_kint(j, "KeyLength", a->keylen);
	json_kstr(j, "HowToAuthMsgs", enum_at(enum_hash, a->hash));
	put_group(j, "DHGroup", a->group);
	json_kstr(j, "HowToAuthPeers", enum_at(enum_auth_method, a->auth));
	json_kuint(j, "LifetimeSeconds", a->life_secs);
	json_kuint(j, "LifesizeKB", a->life_kb);
	json_obj_end(j);
}

static void put_phase2(struct json *j, const struct p2_attrs *a)
{
	json_key(j, "Phase2");
	json_obj_begin(j);
	json_kstr(j, "IpDataOffer", a->offer_name);
	json_kstr(j, "HowToEncap", enum_at(enum_encap, a->encap));
	json_kbool(j, "UdpEncapsulation", a->udp);
	json_kstr(j, "HowToEncrypt", enum_at(enum_encrypt, a->enc_alg));
	json_kint(j, "KeyLength", a->keylen);
	json_kstr(j, "HowToAuth", enum_at(enum_authalg, a->auth_alg));
	put_group(j, "Pfs", a->pfs_group);
	json_kuint(j, "LifetimeSeconds", a->life_secs);
	json_kuint(j, "LifesizeKB", a->life_kb);
	json_obj_end(j);
}

int swsa_record_encode(const struct swsa_record *r, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	FILE *f = open_memstream(text, len);
	if (!f)
		return -1;
	struct json j;
	json_init(&j, f, 0);
	char t1[64], t2[64];
	time_text(r->established, t1);
	time_text(r->refreshed, t2);
	json_obj_begin(&j);
	json_kint(&j, "Format", SWSA_FORMAT);
	json_kstr(&j, "Tunnel", r->tunnel);
	put_addr(&j, "LocalSecurityEndpoint", &r->dvipa);
	put_addr(&j, "RemoteSecurityEndpoint", &r->peer);
	json_kstr(&j, "IpFilterRule", r->filter_rule);
	json_kstr(&j, "IpDynVpnAction", r->vpn_action);
	json_kstr(&j, "KeyExchangeRule", r->ke_rule);
	json_kstr(&j, "KeyExchangeAction", r->ke_action);
	put_selector(&j, "LocalDataEndpoint", &r->lsel);
	put_selector(&j, "RemoteDataEndpoint", &r->rsel);
	put_identity(&j, "LocalIdentity", &r->local_id);
	put_identity(&j, "RemoteIdentity", &r->remote_id);
	put_phase1(&j, r->exch, &r->p1);
	put_phase2(&j, &r->p2);
	json_kuint(&j, "Generation", r->generation);
	json_kstr(&j, "Owner", r->owner);
	json_kstr(&j, "Established", t1);
	json_kstr(&j, "Refreshed", t2);
	json_obj_end(&j);
	json_end(&j);
	if (fclose(f) != 0 || !*text) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

/* ---- decoding ------------------------------------------------------------------ */

static const struct jr_limits record_limits = {
	.max_input = SWSA_RECORD_MAX, .max_depth = 4, .max_nodes = 160, .max_string = 512,
};

struct dec {
	const struct jr_doc *doc;
	const char *where;                /* "" or "Phase1." for messages */
	char *err;
	size_t errlen;
};

static int bad(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct dec *d, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(d->err, d->errlen, "%s%s", d->where, msg);
	return -1;
}

static const struct jr_node *field(struct dec *d, const struct jr_node *obj, const char *name,
				   int type)
{
	const struct jr_node *n = jr_member(d->doc, obj, name);
	if (!n)
		bad(d, "%s is missing", name);
	else if (n->type != type)
		bad(d, "%s is %s, not %s", name, jr_type_name(n->type), jr_type_name(type));
	else
		return n;
	return NULL;
}

static int get_str(struct dec *d, const struct jr_node *obj, const char *name, bool empty_ok,
		   char *buf, size_t size)
{
	const struct jr_node *n = field(d, obj, name, JR_STRING);
	if (!n)
		return -1;
	if (n->len >= size)
		return bad(d, "%s is longer than %zu bytes", name, size - 1);
	if (!n->len && !empty_ok)
		return bad(d, "%s is empty", name);
	for (size_t i = 0; i < n->len; i++)
		if ((unsigned char)n->s[i] < 0x20 || n->s[i] == 0x7f)
			return bad(d, "%s has a control character", name);
	memcpy(buf, n->s, n->len + 1);
	return 0;
}

static int get_int(struct dec *d, const struct jr_node *obj, const char *name, int64_t lo,
		   int64_t hi, int64_t *out)
{
	const struct jr_node *n = field(d, obj, name, JR_INT);
	if (!n)
		return -1;
	if (n->i < lo || n->i > hi)
		return bad(d, "%s %lld is not from %lld to %lld", name, (long long)n->i,
			   (long long)lo, (long long)hi);
	*out = n->i;
	return 0;
}

static int get_bool(struct dec *d, const struct jr_node *obj, const char *name, bool *out)
{
	const struct jr_node *n = field(d, obj, name, JR_BOOL);
	if (!n)
		return -1;
	*out = n->b;
	return 0;
}

/* A name from one of the policy's tables, as a policy accepts it (any case). */
static int get_enum(struct dec *d, const struct jr_node *obj, const char *name,
		    const char *const *table, int *out)
{
	const struct jr_node *n = field(d, obj, name, JR_STRING);
	if (!n)
		return -1;
	for (int k = 0; table[k]; k++)
		if (strcasecmp(table[k], n->s) == 0) {
			*out = k;
			return 0;
		}
	return bad(d, "%s \"%.40s\" is not a name a policy uses", name, n->s);
}

static int get_group(struct dec *d, const struct jr_node *obj, const char *name, bool none_ok,
		     int *out)
{
	const struct jr_node *n = field(d, obj, name, JR_STRING);
	if (!n)
		return -1;
	int g = dhgroup_parse(n->s);
	if (g < 0 || (g == 0 && !none_ok))
		return bad(d, "%s \"%.40s\" is not %sa group attls supports (%s)", name, n->s,
			   none_ok ? "None or " : "", DH_SUPPORTED_LIST);
	*out = g;
	return 0;
}

static int get_addr(struct dec *d, const struct jr_node *obj, const char *name,
		    struct ip_addr *out)
{
	char s[IP_STRLEN];
	if (get_str(d, obj, name, false, s, sizeof s))
		return -1;
	if (ip_addr_parse(s, out) != 0)
		return bad(d, "%s \"%s\" is not an IP address", name, s);
	return 0;
}

static int get_selector(struct dec *d, const struct jr_node *obj, const char *name,
			struct selector *out)
{
	const struct jr_node *o = field(d, obj, name, JR_OBJECT);
	if (!o)
		return -1;
	char r[IP_RANGE_STRLEN];
	int64_t proto = 0, port = 0;
	if (get_str(d, o, "Addr", false, r, sizeof r) ||
	    get_int(d, o, "Protocol", 0, 255, &proto) || get_int(d, o, "Port", 0, 65535, &port))
		return -1;
	const char *why = ip_range_parse(r, &out->r);
	if (why)
		return bad(d, "%s.Addr: %s", name, why);
	out->proto = (uint8_t)proto;
	out->port = (uint16_t)port;
	return 0;
}

static int get_identity(struct dec *d, const struct jr_node *obj, const char *name,
			struct swsa_identity *out)
{
	const struct jr_node *o = field(d, obj, name, JR_OBJECT);
	if (!o)
		return -1;
	return get_enum(d, o, "Type", enum_identity, &out->type) ||
	       get_str(d, o, "Value", false, out->value, sizeof out->value) ? -1 : 0;
}

/* Exactly YYYY-MM-DDTHH:MM:SSZ, a date and time that exist, 1970 to 9999. */
static int get_time(struct dec *d, const struct jr_node *obj, const char *name, time_t *out)
{
	char s[32];
	if (get_str(d, obj, name, false, s, sizeof s))
		return -1;
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	bool ok = strlen(s) == sizeof shape - 1;
	for (size_t i = 0; ok && shape[i]; i++)
		ok = shape[i] == 'd' ? isdigit((unsigned char)s[i]) : s[i] == shape[i];
	struct tm tm = { 0 };
	if (ok) {
		sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		       &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		struct tm want = tm, back;
		time_t t = timegm(&tm);
		ok = t >= 0 && t <= TIME_MAX && gmtime_r(&t, &back) && back.tm_year == want.tm_year &&
		     back.tm_mon == want.tm_mon && back.tm_mday == want.tm_mday &&
		     back.tm_hour == want.tm_hour && back.tm_min == want.tm_min &&
		     back.tm_sec == want.tm_sec;
		*out = t;
	}
	return ok ? 0 : bad(d, "%s \"%s\" is not a time like 2026-12-04T10:00:00Z", name, s);
}

static bool hash_supported(int h)
{
	return h == HASH_SHA1 || h == HASH_SHA2_256 || h == HASH_SHA2_384 || h == HASH_SHA2_512;
}

static bool keylen_ok(int alg, int64_t bits)
{
	return bits == 128 || bits == 256 || (bits == 192 && alg == ENC_AES_CBC);
}

static int get_phase1(struct dec *d, const struct jr_node *root, struct swsa_record *r)
{
	const struct jr_node *o = field(d, root, "Phase1", JR_OBJECT);
	if (!o)
		return -1;
	d->where = "Phase1.";
	struct p1_attrs *a = &r->p1;
	int mode;
	int64_t keylen = 0, life = 0, size = 0;
	if (get_enum(d, o, "Mode", enum_how_to_initiate, &mode) ||
	    get_str(d, o, "KeyExchangeOffer", true, a->offer_name, sizeof a->offer_name) ||
	    get_enum(d, o, "HowToEncrypt", enum_encrypt, &a->enc_alg) ||
	    get_int(d, o, "KeyLength", 0, 256, &keylen) ||
	    get_enum(d, o, "HowToAuthMsgs", enum_hash, &a->hash) ||
	    get_group(d, o, "DHGroup", false, &a->group) ||
	    get_enum(d, o, "HowToAuthPeers", enum_auth_method, &a->auth) ||
	    get_int(d, o, "LifetimeSeconds", 0, UINT32_MAX, &life) ||
	    get_int(d, o, "LifesizeKB", 0, INT64_MAX, &size))
		return -1;
	if (mode != HOWINIT_MAIN && mode != HOWINIT_AGGRESSIVE)
		return bad(d, "Mode %s is not Main or Aggressive", enum_how_to_initiate[mode]);
	if (a->enc_alg != ENC_AES_CBC)
		return bad(d, "HowToEncrypt %s: phase 1 uses AES_CBC", enum_encrypt[a->enc_alg]);
	if (!keylen_ok(a->enc_alg, keylen))
		return bad(d, "KeyLength %lld does not go with AES_CBC", (long long)keylen);
	if (!hash_supported(a->hash))
		return bad(d, "HowToAuthMsgs %s is not supported", enum_hash[a->hash]);
	if (a->auth != AUTHMETH_PRESHARED_KEY && a->auth != AUTHMETH_RSA_SIGNATURE)
		return bad(d, "HowToAuthPeers %s is not PresharedKey or RsaSignature",
			   enum_auth_method[a->auth]);
	r->exch = mode == HOWINIT_AGGRESSIVE ? EXCH_AGGRESSIVE : EXCH_MAIN;
	a->keylen = (int)keylen;
	a->life_secs = (uint32_t)life;
	a->life_kb = (uint64_t)size;
	a->offer = -1;
	d->where = "";
	return 0;
}

static int p2_auth_ok(const struct p2_attrs *a)
{
	if (a->enc_alg == ENC_AES_GCM_16)
		return a->auth_alg == AUTHALG_NULL;
	return a->auth_alg == AUTHALG_HMAC_SHA1 || a->auth_alg == AUTHALG_HMAC_SHA2_256_128 ||
	       a->auth_alg == AUTHALG_HMAC_SHA2_384_192 || a->auth_alg == AUTHALG_HMAC_SHA2_512_256;
}

static int get_phase2(struct dec *d, const struct jr_node *root, struct swsa_record *r)
{
	const struct jr_node *o = field(d, root, "Phase2", JR_OBJECT);
	if (!o)
		return -1;
	d->where = "Phase2.";
	struct p2_attrs *a = &r->p2;
	int64_t keylen = 0, life = 0, size = 0;
	if (get_str(d, o, "IpDataOffer", true, a->offer_name, sizeof a->offer_name) ||
	    get_enum(d, o, "HowToEncap", enum_encap, &a->encap) ||
	    get_bool(d, o, "UdpEncapsulation", &a->udp) ||
	    get_enum(d, o, "HowToEncrypt", enum_encrypt, &a->enc_alg) ||
	    get_int(d, o, "KeyLength", 0, 256, &keylen) ||
	    get_enum(d, o, "HowToAuth", enum_authalg, &a->auth_alg) ||
	    get_group(d, o, "Pfs", true, &a->pfs_group) ||
	    get_int(d, o, "LifetimeSeconds", 0, UINT32_MAX, &life) ||
	    get_int(d, o, "LifesizeKB", 0, INT64_MAX, &size))
		return -1;
	if (a->enc_alg != ENC_AES_CBC && a->enc_alg != ENC_AES_GCM_16)
		return bad(d, "HowToEncrypt %s is not AES_CBC or AES_GCM_16",
			   enum_encrypt[a->enc_alg]);
	if (!keylen_ok(a->enc_alg, keylen))
		return bad(d, "KeyLength %lld does not go with %s", (long long)keylen,
			   enum_encrypt[a->enc_alg]);
	if (!p2_auth_ok(a))
		return bad(d, "HowToAuth %s does not go with %s", enum_authalg[a->auth_alg],
			   enum_encrypt[a->enc_alg]);
	a->keylen = (int)keylen;
	a->life_secs = (uint32_t)life;
	a->life_kb = (uint64_t)size;
	a->offer = -1;
	d->where = "";
	return 0;
}

int swsa_record_decode(const char *text, size_t len, struct swsa_record *r, char *err,
		       size_t errlen)
{
	memset(r, 0, sizeof *r);
	struct jr_doc doc;
	struct dec d = { .doc = &doc, .where = "", .err = err, .errlen = errlen };
	int rc = -1;
	if (jr_parse(&doc, text, len, &record_limits)) {
		snprintf(err, errlen, "not JSON: %s", doc.err);
		goto out;
	}
	const struct jr_node *root = jr_root(&doc);
	if (root->type != JR_OBJECT) {
		bad(&d, "the record is %s, not an object", jr_type_name(root->type));
		goto out;
	}
	int64_t format = 0, gen = 0;
	if (get_int(&d, root, "Format", INT64_MIN, INT64_MAX, &format))
		goto out;
	if (format != SWSA_FORMAT) {
		bad(&d, "format %lld is not the one this iked reads (%d)", (long long)format,
		    SWSA_FORMAT);
		goto out;
	}
	if (get_str(&d, root, "Tunnel", false, r->tunnel, sizeof r->tunnel) ||
	    get_addr(&d, root, "LocalSecurityEndpoint", &r->dvipa) ||
	    get_addr(&d, root, "RemoteSecurityEndpoint", &r->peer) ||
	    get_str(&d, root, "IpFilterRule", false, r->filter_rule, sizeof r->filter_rule) ||
	    get_str(&d, root, "IpDynVpnAction", false, r->vpn_action, sizeof r->vpn_action) ||
	    get_str(&d, root, "KeyExchangeRule", false, r->ke_rule, sizeof r->ke_rule) ||
	    get_str(&d, root, "KeyExchangeAction", false, r->ke_action, sizeof r->ke_action) ||
	    get_selector(&d, root, "LocalDataEndpoint", &r->lsel) ||
	    get_selector(&d, root, "RemoteDataEndpoint", &r->rsel) ||
	    get_identity(&d, root, "LocalIdentity", &r->local_id) ||
	    get_identity(&d, root, "RemoteIdentity", &r->remote_id) ||
	    get_phase1(&d, root, r) || get_phase2(&d, root, r) ||
	    get_int(&d, root, "Generation", 0, UINT32_MAX, &gen) ||
	    get_str(&d, root, "Owner", false, r->owner, sizeof r->owner) ||
	    get_time(&d, root, "Established", &r->established) ||
	    get_time(&d, root, "Refreshed", &r->refreshed))
		goto out;
	if (!tunnel_ok(r->tunnel)) {
		bad(&d, "Tunnel \"%s\" is not %d hex digits", r->tunnel, SWSA_TUNNEL_HEX);
		goto out;
	}
	r->generation = (unsigned)gen;
	rc = 0;
out:
	jr_free(&doc);
	return rc;
}
