/* policy/values — typed values from the tokens of one parameter line. */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/strutil.h"
#include "policy/ciphers.h"
#include "policy/lexer.h"
#include "policy/tree.h"

struct vctx {
	struct arena *a;
	struct pparam *p;
	const struct token *t;
	size_t n;
	struct diags *d;
	size_t used;        /* value tokens the form consumed */
};

static int verr(struct vctx *c, size_t i, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int verr(struct vctx *c, size_t i, const char *hint, const char *fmt, ...)
{
	struct srcpos pos = i < c->n ? c->t[i].pos : c->p->pos;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diag_error(c->d, pos, hint, "%s: %s", c->p->ps->name, msg);
	return 1;
}

/* At least count value words. A missing value is reported at the keyword;
 * a value cut short ("HowToAuth ESP") at its last word. */
static int need(struct vctx *c, size_t count, const char *what)
{
	if (c->n >= count)
		return 0;
	char hint[160];
	snprintf(hint, sizeof hint, "write: %s %s", c->p->ps->name, what);
	if (c->n == 0)
		diag_error(c->d, c->p->pos, hint, "%s needs a value", c->p->ps->name);
	else
		diag_error(c->d, c->t[c->n - 1].pos, hint, "%s: '%s' is incomplete", c->p->ps->name,
			   c->p->text);
	return 1;
}

static const char *list_of(const char *const *e, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int i = 0; e[i]; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? (e[i + 1] ? ", " : " or ") : "", e[i]);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return buf;
}

/* Index of word in e (case-insensitive), or -1 after reporting with a hint. */
static int pick(struct vctx *c, size_t i, const char *const *e, const char *what)
{
	const char *w = c->t[i].text;
	for (int k = 0; e[k]; k++)
		if (strcasecmp(e[k], w) == 0)
			return k;
	size_t n = 0;
	while (e[n])
		n++;
	char all[512], hint[600];
	const char *close = str_closest(w, e, n);
	if (close)
		snprintf(hint, sizeof hint, "did you mean '%s'?", close);
	else
		snprintf(hint, sizeof hint, "%s is one of %s", what, list_of(e, all, sizeof all));
	char msg[256];
	snprintf(msg, sizeof msg, "'%s' is not a valid %s", w, what);
	verr(c, i, hint, "%s", msg);
	return -1;
}

static int parse_int(const char *s, int64_t *out)
{
	if (!*s || !(isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))))
		return -1;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int int_in(struct vctx *c, size_t i, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t v;
	if (parse_int(c->t[i].text, &v) != 0 || v < lo || v > hi) {
		char msg[160];
		snprintf(msg, sizeof msg, "'%s' is not a number from %lld to %lld", c->t[i].text,
			 (long long)lo, (long long)hi);
		return verr(c, i, NULL, "%s", msg);
	}
	*out = v;
	return 0;
}

static int v_onoff(struct vctx *c, const char *const *e)
{
	if (need(c, 1, e[0]))
		return 1;
	int k = pick(c, 0, e, "value");
	if (k < 0)
		return 1;
	c->p->v.b = k == 0;
	return 0;
}

static int v_string(struct vctx *c)
{
	if (need(c, 1, "VALUE"))
		return 1;
	const char *s = c->t[0].text;
	size_t len = strlen(s);
	const struct param_schema *ps = c->p->ps;
	if ((int64_t)len < ps->min || (ps->max && (int64_t)len > ps->max)) {
		char msg[128];
		snprintf(msg, sizeof msg, "value must be %lld to %lld characters long",
			 (long long)ps->min, (long long)ps->max);
		return verr(c, 0, NULL, "%s", msg);
	}
	c->p->v.s = s;
	return 0;
}

static int v_addr(struct vctx *c, int kind)
{
	if (need(c, 1, kind == VK_PREFIX ? "a/len" : "ADDRESS"))
		return 1;
	struct ip_range *r = &c->p->v.range;
	const char *err = ip_range_parse(c->t[0].text, r);
	if (err)
		return verr(c, 0, NULL, "%s", err);
	if (kind == VK_HOST && r->kind != IPR_SINGLE)
		return verr(c, 0, NULL, "expected one address, not '%s'", c->t[0].text);
	if (kind == VK_PREFIX && r->kind != IPR_PREFIX)
		return verr(c, 0, "write it as ADDRESS/LENGTH", "'%s' is not a prefix", c->t[0].text);
	return 0;
}

static int v_iprange(struct vctx *c)
{
	if (need(c, 1, "FIRST-LAST"))
		return 1;
	struct ip_range *r = &c->p->v.range;
	struct ip_addr lo, hi;
	/* "a b"; a second word that is no address is not part of the value */
	if (c->n >= 2 && ip_addr_parse(c->t[1].text, &hi) == 0) {
		if (ip_addr_parse(c->t[0].text, &lo) != 0)
			return verr(c, 0, NULL, "'%s' is not an IP address", c->t[0].text);
		c->used = 2;
		const char *err = ip_range_from_pair(&lo, &hi, r);
		return err ? verr(c, 0, NULL, "%s", err) : 0;
	}
	const char *err = ip_range_parse(c->t[0].text, r);
	if (err)
		return verr(c, 0, NULL, "%s", err);
	if (r->kind != IPR_RANGE)
		return verr(c, 0, "write it as FIRST-LAST", "'%s' is not a range", c->t[0].text);
	return 0;
}

static int port_num(struct vctx *c, size_t i, const char *s, uint16_t *out)
{
	int64_t v;
	if (parse_int(s, &v) != 0 || v < 0 || v > 65535)
		return verr(c, i, NULL, "'%s' is not a port number (0 to 65535)", s);
	*out = (uint16_t)v;
	return 0;
}

static int v_ports(struct vctx *c)
{
	if (need(c, 1, "PORT or FIRST LAST"))
		return 1;
	struct port_range *pr = &c->p->v.ports;
	const char *a = c->t[0].text;
	char buf[32];
	const char *b = NULL;
	size_t used = 1;
	const char *dash = strchr(a, '-');
	const char *colon = strchr(a, ':');
	const char *sep = dash ? dash : colon;
	if (sep && sep != a) {
		size_t l = (size_t)(sep - a);
		if (l >= sizeof buf)
			return verr(c, 0, NULL, "'%s' is not a port range", a);
		memcpy(buf, a, l);
		buf[l] = '\0';
		b = sep + 1;
		a = buf;
	} else if (c->n >= 2 && isdigit((unsigned char)c->t[1].text[0])) {
		/* "n m"; a second word that is no number is not part of the value */
		b = c->t[1].text;
		used = 2;
	}
	c->used = used;
	uint16_t lo = 0, hi = 0;
	if (port_num(c, 0, a, &lo))
		return 1;
	hi = lo;
	if (b && port_num(c, used - 1, b, &hi))
		return 1;
	if (!b && lo == 0) {
		pr->lo = 0;
		pr->hi = 65535;
		return 0;
	}
	if (hi < lo)
		return verr(c, 0, "write the lower port first", "range %s is backwards", c->p->text);
	pr->lo = lo;
	pr->hi = hi;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9') return ch - '0';
	if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
	return -1;
}

static bool all_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (hexval((unsigned char)*s) < 0)
			return false;
	return true;
}

/* Cipher lists: each token is concatenated hex codes of width 2 or 4, or a name. */
static int v_ciphers(struct vctx *c, int width)
{
	if (need(c, 1, width == 2 ? "CODES or NAME" : "CODES4 or NAME"))
		return 1;
	size_t cap = 0;
	for (size_t i = 0; i < c->n; i++)
		cap += strlen(c->t[i].text) / (size_t)width + 1;
	uint16_t *codes = arena_array(c->a, cap, sizeof *codes);
	if (!codes)
		return -1;
	size_t n = 0;
	int bad = 0;
	for (size_t i = 0; i < c->n; i++) {
		const char *w = c->t[i].text;
		if (all_hex(w)) {
			size_t len = strlen(w);
			if (len % (size_t)width) {
				char hint[128];
				snprintf(hint, sizeof hint, "%s takes codes of %d hex digits each%s",
					 c->p->ps->name, width,
					 width == 2 ? "; 4-digit codes go in V3CipherSuites4Char" : "");
				bad |= verr(c, i, hint, "'%s' is not a list of cipher codes", w);
				continue;
			}
			for (size_t k = 0; k < len; k += (size_t)width) {
				uint16_t code = 0;
				for (int j = 0; j < width; j++)
					code = (uint16_t)(code << 4 | hexval((unsigned char)w[k + (size_t)j]));
				if (!cipher_by_code(code)) {
					char msg[96];
					snprintf(msg, sizeof msg, "cipher code %.*s is not a suite attls knows",
						 width, w + k);
					bad |= verr(c, i, "see docs/policy-reference.md for the suites",
						    "%s", msg);
					continue;
				}
				codes[n++] = code;
			}
		} else {
			const struct cipher_suite *cs = cipher_by_name(w);
			if (!cs) {
				const char *close = cipher_closest(w);
				char hint[160];
				if (close)
					snprintf(hint, sizeof hint, "did you mean '%s'?", close);
				bad |= verr(c, i, close ? hint : "see docs/policy-reference.md for the suites",
					    "'%s' is not a cipher suite attls knows", w);
				continue;
			}
			codes[n++] = cs->code;
		}
	}
	c->used = c->n;
	c->p->v.ciphers.codes = codes;
	c->p->v.ciphers.n = n;
	return bad;
}

static int v_life(struct vctx *c, int kind)
{
	if (need(c, 1, kind == VK_LIFESIZE ? "None or N" : "MIN MAX"))
		return 1;
	if (kind != VK_LIFERANGE && strcasecmp(c->t[0].text, "None") == 0) {
		c->p->v.life.none = true;
		return 0;
	}
	int64_t lo, hi;
	if (int_in(c, 0, 1, 2147483647, &lo))
		return 1;
	if (kind == VK_LIFESIZE) {
		c->p->v.life.lo = c->p->v.life.hi = lo;
		return 0;
	}
	if (c->n < 2)
		return verr(c, 0, "write: MIN MAX", "%s needs a minimum and a maximum", c->p->ps->name);
	c->used = 2;
	if (int_in(c, 1, 1, 2147483647, &hi))
		return 1;
	if (hi < lo)
		return verr(c, 1, "write the minimum first", "maximum is below the minimum");
	c->p->v.life.lo = lo;
	c->p->v.life.hi = hi;
	return 0;
}

static int v_encrypt(struct vctx *c)
{
	if (need(c, 1, "AES_CBC KeyLength 128"))
		return 1;
	/* "AES" is z/OS's old name of AES_CBC 128 */
	bool old_aes = strcasecmp(c->t[0].text, "AES") == 0;
	int k = old_aes ? ENC_AES_CBC : pick(c, 0, enum_encrypt, "encryption algorithm");
	if (k < 0)
		return 1;
	int alg = k;
	int keylen = (alg == ENC_AES_CBC || alg == ENC_AES_GCM_16) ? 128 : 0;
	if (c->n >= 2) {
		if (strcasecmp(c->t[1].text, "KeyLength") != 0)
			return verr(c, 1, "write: AES_CBC KeyLength 256", "expected KeyLength, not '%s'",
				    c->t[1].text);
		if ((alg != ENC_AES_CBC && alg != ENC_AES_GCM_16) || old_aes)
			return verr(c, 1, NULL, "KeyLength only goes with AES_CBC and AES_GCM_16");
		if (c->n < 3)
			return verr(c, 1, NULL, "KeyLength needs a number of bits");
		int64_t v;
		if (parse_int(c->t[2].text, &v) != 0 ||
		    !(v == 128 || v == 256 || (v == 192 && alg == ENC_AES_CBC)))
			return verr(c, 2, alg == ENC_AES_CBC ? "AES_CBC takes 128, 192 or 256"
							       : "AES_GCM_16 takes 128 or 256",
				    "'%s' is not a valid key length", c->t[2].text);
		keylen = (int)v;
		c->used = 3;
	}
	c->p->v.enc.alg = alg;
	c->p->v.enc.keylen = keylen;
	return 0;
}

static int v_auth(struct vctx *c)
{
	static const char *const protos[] = { "AH", "ESP", NULL };
	if (need(c, 2, "ESP HMAC_SHA1"))
		return 1;
	int pr = pick(c, 0, protos, "authentication protocol");
	if (pr < 0)
		return 1;
	c->used = 2;
	/* z/OS accepts HMAC_SHA as another name of HMAC_SHA1. */
	if (strcasecmp(c->t[1].text, "HMAC_SHA") == 0) {
		c->p->v.auth.proto = pr;
		c->p->v.auth.alg = AUTHALG_HMAC_SHA1;
		return 0;
	}
	int alg = pick(c, 1, enum_authalg, "authentication algorithm");
	if (alg < 0)
		return 1;
	c->p->v.auth.proto = pr;
	c->p->v.auth.alg = alg;
	return 0;
}

/* IBM-1047 for printable ASCII (0x20-0x7e), for "Ebcdic" keys and identities. */
static const uint8_t ascii_to_1047[95] = {
	0x40, 0x5A, 0x7F, 0x7B, 0x5B, 0x6C, 0x50, 0x7D, 0x4D, 0x5D, 0x5C, 0x4E, 0x6B, 0x60, 0x4B, 0x61,
	0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0x7A, 0x5E, 0x4C, 0x7E, 0x6E, 0x6F,
	0x7C, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6,
	0xD7, 0xD8, 0xD9, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xAD, 0xE0, 0xBD, 0x5F, 0x6D,
	0x79, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96,
	0x97, 0x98, 0x99, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xC0, 0x4F, 0xD0, 0xA1,
};

/* Bytes of "Ascii|Ebcdic|Hex VALUE" starting at token i. */
static int key_bytes(struct vctx *c, size_t i, int *form, const uint8_t **out, size_t *outlen)
{
	static const char *const forms[] = { "Ascii", "Ebcdic", "Hex", NULL };
	if (c->n < i + 2)
		return verr(c, i < c->n ? i : 0, "write: Ascii|Ebcdic|Hex VALUE",
			    "expected a form and a value");
	int f = pick(c, i, forms, "key form");
	if (f < 0)
		return 1;
	const char *v = c->t[i + 1].text;
	size_t len = strlen(v);
	uint8_t *b;
	if (f == KEYFORM_HEX) {
		const char *h = v;
		if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X'))
			h += 2;
		size_t hl = strlen(h);
		if (hl == 0 || hl % 2 || !all_hex(h))
			return verr(c, i + 1, "write an even number of hex digits",
				    "'%s' is not a hex string", v);
		b = arena_alloc(c->a, hl / 2);
		if (!b)
			return -1;
		for (size_t k = 0; k < hl / 2; k++)
			b[k] = (uint8_t)(hexval((unsigned char)h[2 * k]) << 4 |
					 hexval((unsigned char)h[2 * k + 1]));
		len = hl / 2;
	} else {
		b = arena_alloc(c->a, len + 1);
		if (!b)
			return -1;
		for (size_t k = 0; k < len; k++) {
			unsigned char ch = (unsigned char)v[k];
			if (f == KEYFORM_EBCDIC) {
				if (ch < 0x20 || ch > 0x7e)
					return verr(c, i + 1, NULL,
						    "Ebcdic values must be printable ASCII");
				b[k] = ascii_to_1047[ch - 0x20];
			} else {
				b[k] = ch;
			}
		}
	}
	*form = f;
	*out = b;
	*outlen = len;
	c->used = i + 2;
	return 0;
}

static int v_sharedkey(struct vctx *c)
{
	return key_bytes(c, 0, &c->p->v.key.form, &c->p->v.key.bytes, &c->p->v.key.len);
}

static int v_identity(struct vctx *c)
{
	if (need(c, 2, "IpAddr ADDRESS | Fqdn NAME | UserAtFqdn USER@NAME | X500dn DN | KeyID FORM VALUE"))
		return 1;
	int k = pick(c, 0, enum_identity, "identity type");
	if (k < 0)
		return 1;
	typeof(c->p->v.ident) *id = &c->p->v.ident;
	const char *v = c->t[1].text;
	id->value = v;
	c->used = 2;
	switch (k) {
	case IDNAME_IPADDR: {
		const char *err = ip_range_parse(v, &id->range);
		if (err)
			return verr(c, 1, NULL, "%s", err);
		if (id->range.kind == IPR_ALL)
			return verr(c, 1, "name an address, prefix or range", "All is not an identity");
		id->type = id->range.family == AF_INET ? IDT_IPV4 : IDT_IPV6;
		return 0;
	}
	case IDNAME_FQDN:
		if (strchr(v, '@'))
			return verr(c, 1, "use UserAtFqdn for user@host", "'%s' is not a host name", v);
		id->type = IDT_FQDN;
		return 0;
	case IDNAME_USER_FQDN:
		if (!strchr(v, '@'))
			return verr(c, 1, "write: UserAtFqdn user@example.com", "'%s' has no '@'", v);
		id->type = IDT_USER_FQDN;
		return 0;
	case IDNAME_X500DN:
		if (!strchr(v, '='))
			return verr(c, 1, "write: X500dn \"CN=host,O=Example,C=US\"",
				    "'%s' is not a distinguished name", v);
		id->type = IDT_DER_ASN1_DN;
		return 0;
	default: {
		int form;
		id->type = IDT_KEY_ID;
		int rc = key_bytes(c, 1, &form, &id->bytes, &id->len);
		if (!rc)
			id->value = c->n > 2 ? c->t[2].text : "";
		return rc;
	}
	}
}

static int v_location(struct vctx *c)
{
	static const char *const any[] = { "Any", "Any4", "Any6", NULL };
	if (need(c, 1, "ADDRESS | Any | Any4 | Any6"))
		return 1;
	for (int k = 0; any[k]; k++)
		if (strcasecmp(c->t[0].text, any[k]) == 0) {
			c->p->v.loc.any_family = k == 0 ? AF_UNSPEC : k == 1 ? AF_INET : AF_INET6;
			c->p->v.loc.range.kind = IPR_ALL;
			return 0;
		}
	c->p->v.loc.any_family = -1;
	const char *err = ip_range_parse(c->t[0].text, &c->p->v.loc.range);
	if (err)
		return verr(c, 0, "a location is an address, a/len, a-b, Any, Any4 or Any6", "%s", err);
	return 0;
}

static int v_protocol(struct vctx *c)
{
	static const char *const names[] = { "All", "TCP", "UDP", "ICMP", "ICMPv6", "ESP", "AH",
					     "OSPF", "IPIP", "GRE", NULL };
	static const int nums[] = { -1, 6, 17, 1, 58, 50, 51, 89, 4, 47 };
	if (need(c, 1, "TCP"))
		return 1;
	int64_t v;
	if (parse_int(c->t[0].text, &v) == 0) {
		if (v < 0 || v > 255)
			return verr(c, 0, NULL, "protocol number %s is not 0 to 255", c->t[0].text);
		c->p->v.proto = (int)v;
		return 0;
	}
	int k = pick(c, 0, names, "protocol");
	if (k < 0)
		return 1;
	c->p->v.proto = nums[k];
	return 0;
}

static int v_svcdir(struct vctx *c)
{
	static const char *const dirs[] = { "Bidirectional", "Inbound", "Outbound", NULL };
	static const char *const conns[] = { "InboundConnect", "OutboundConnect", NULL };
	if (need(c, 1, "Bidirectional"))
		return 1;
	int k = pick(c, 0, dirs, "direction");
	if (k < 0)
		return 1;
	c->p->v.svcdir.dir = k;
	c->p->v.svcdir.conn = CONNDIR_ANY;
	if (c->n >= 2) {
		int m = pick(c, 1, conns, "connection direction");
		if (m < 0)
			return 1;
		if (k != SVCDIR_BIDIRECTIONAL)
			return verr(c, 1, NULL, "%s only goes with Bidirectional", conns[m]);
		c->p->v.svcdir.conn = m + 1;
		c->used = 2;
	}
	return 0;
}

static int v_dhgroup(struct vctx *c)
{
	if (need(c, 1, "None | GroupN"))
		return 1;
	const char *w = c->t[0].text;
	int g = dhgroup_parse(w);
	if (g >= 0) {
		c->p->v.group = g;
		return 0;
	}
	return verr(c, 0, "attls supports None, " DH_SUPPORTED_LIST,
		    "'%s' is not a Diffie-Hellman group attls supports", w);
}

static int v_enum(struct vctx *c)
{
	if (need(c, 1, c->p->ps->enums[0]))
		return 1;
	int k = pick(c, 0, c->p->ps->enums, "value");
	if (k < 0)
		return 1;
	c->p->v.e = k;
	return 0;
}

static int v_int(struct vctx *c)
{
	if (need(c, 1, "NUMBER"))
		return 1;
	return int_in(c, 0, c->p->ps->min, c->p->ps->max, &c->p->v.i);
}

static int parse_kind(struct vctx *c);

int pvalue_parse(struct arena *a, struct pparam *p, const struct token *toks, size_t n,
		 size_t *used, struct diags *d)
{
	/* Keep the text as written, for show and for messages. A single word is
	 * its own text (the lexer's copy, in the same arena). */
	char *text = NULL;
	if (n > 1) {
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			len += strlen(toks[i].text) + 1;
		text = arena_alloc(a, len + 1);
		if (!text)
			return -1;
		for (size_t i = 0, off = 0; i < n; i++) {
			if (i)
				text[off++] = ' ';
			size_t l = strlen(toks[i].text);
			memcpy(text + off, toks[i].text, l);
			off += l;
		}
	}
	p->text = n == 0 ? "" : n == 1 ? toks[0].text : text;
	p->vpos = n ? toks[0].pos : p->pos;

	struct vctx c = { a, p, toks, n, d, n ? 1 : 0 };
	int rc = parse_kind(&c);
	*used = c.used;
	if (rc == 0 && c.used < n) {
		/* Keep the text to what the value really is. */
		size_t l = 0;
		for (size_t i = 0; i < c.used; i++)
			l += strlen(toks[i].text) + (i ? 1 : 0);
		if (text)
			text[l] = '\0';
		else
			p->text = "";
	}
	return rc;
}

static int parse_kind(struct vctx *c)
{
	struct pparam *p = c->p;
	const struct token *toks = c->t;
	switch (p->ps->kind) {
	case VK_ONOFF: { static const char *const e[] = { "On", "Off", NULL }; return v_onoff(c, e); }
	case VK_YESNO: { static const char *const e[] = { "Yes", "No", NULL }; return v_onoff(c, e); }
	case VK_ENUM: return v_enum(c);
	case VK_INT: return v_int(c);
	case VK_STRING: return v_string(c);
	case VK_ADDR: case VK_HOST: case VK_PREFIX: return v_addr(c, p->ps->kind);
	case VK_IPRANGE: return v_iprange(c);
	case VK_PORTS: return v_ports(c);
	case VK_REF:
		if (need(c, 1, "NAME"))
			return 1;
		p->v.ref.name = toks[0].text;
		return 0;
	case VK_CIPHER2: return v_ciphers(c, 2);
	case VK_CIPHER4: return v_ciphers(c, 4);
	case VK_LIFERANGE: case VK_LIFESIZE: case VK_LIFESIZERANGE: return v_life(c, p->ps->kind);
	case VK_ENCRYPT: return v_encrypt(c);
	case VK_AUTH: return v_auth(c);
	case VK_SHAREDKEY: return v_sharedkey(c);
	case VK_IDENTITY: return v_identity(c);
	case VK_LOCATION: return v_location(c);
	case VK_PROTOCOL: return v_protocol(c);
	case VK_SVCDIR: return v_svcdir(c);
	case VK_DHGROUP: return v_dhgroup(c);
	default:
		diag_error(c->d, p->pos, NULL, "%s: internal error: no parser for this kind", p->ps->name);
		return 1;
	}
}
