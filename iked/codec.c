/* iked/codec — ISAKMP decoding (validate, then parse) and message building. */
#include "iked/codec.h"

#include <stdlib.h>
#include <string.h>

/* ---- header ------------------------------------------------------------ */

static bool exch_known(uint8_t x)
{
	switch (x) {
	case EXCH_BASE: case EXCH_MAIN: case EXCH_AUTH_ONLY: case EXCH_AGGRESSIVE:
	case EXCH_INFO: case EXCH_QUICK: case EXCH_NEW_GROUP:
		return true;
	default:
		return false;
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int isakmp_hdr_decode(const uint8_t *buf, size_t len, struct isakmp_hdr *h, const char **why)
{
	if (len < ISAKMP_HDR_LEN) {
		*why = "shorter than an ISAKMP header";
		return N_PAYLOAD_MALFORMED;
	}
	memcpy(h->icookie, buf, ISAKMP_COOKIE_LEN);
	memcpy(h->rcookie, buf + 8, ISAKMP_COOKIE_LEN);
	h->np = buf[16];
	h->version = buf[17];
	h->exch = buf[18];
	h->flags = buf[19];
	h->msgid = get32(buf + 20);
	h->len = get32(buf + 24);
	if (h->version >> 4 != 1) {
		*why = "not ISAKMP major version 1";
		return N_INVALID_MAJOR_VERSION;
	}
	if ((h->version & 0x0f) != 0) {
		*why = "unknown minor version";
		return N_INVALID_MINOR_VERSION;
	}
	if (h->len != len) {
		*why = "header length differs from the datagram length";
		return N_UNEQUAL_PAYLOAD_LENGTHS;
	}
	if (!exch_known(h->exch)) {
		*why = "unknown exchange type";
		return N_INVALID_EXCHANGE_TYPE;
	}
	if (h->flags & ~(ISAKMP_FLAG_ENC | ISAKMP_FLAG_COMMIT | ISAKMP_FLAG_AUTHONLY)) {
		*why = "undefined header flags set";
		return N_INVALID_FLAGS;
	}
	if (all_zero(h->icookie, ISAKMP_COOKIE_LEN)) {
		*why = "initiator cookie is zero";
		return N_INVALID_COOKIE;
	}
	return 0;
}

/* ---- payload chain ----------------------------------------------------- */

/* Per-type minimum and maximum body sizes, and the deeper checks that need
 * only the payload itself. */
static int payload_validate(uint8_t type, const uint8_t *b, size_t n, const char **why)
{
	switch (type) {
	case PL_SA:
		if (n < 8)
			goto short_body;
		return 0;
	case PL_KE:
		if (n < 1 || n > 1024)
			goto bad_size;
		return 0;
	case PL_ID: {
		struct id_payload id;
		return id_decode(b, n, &id, why);
	}
	case PL_CERT:
		if (n < 2)
			goto short_body;
		return 0;
	case PL_CR:
		if (n < 1)
			goto short_body;
		return 0;
	case PL_HASH:
		if (n < 1 || n > 64)
			goto bad_size;
		return 0;
	case PL_SIG:
		if (n < 1 || n > 2048)
			goto bad_size;
		return 0;
	case PL_NONCE:
		if (n < NONCE_MIN || n > NONCE_MAX)
			goto bad_size;
		return 0;
	case PL_N: {
		struct notify_payload np;
		return notify_decode(b, n, &np, why);
	}
	case PL_D: {
		struct delete_payload d;
		return delete_decode(b, n, &d, why);
	}
	case PL_VID:
		if (n < 1 || n > 512)
			goto bad_size;
		return 0;
	case PL_NAT_D:
	case PL_NAT_D_DRAFT:
		if (n < 1 || n > 64)
			goto bad_size;
		return 0;
	case PL_NAT_OA:
	case PL_NAT_OA_DRAFT: {
		struct natoa_payload oa;
		return natoa_decode(b, n, &oa, why);
	}
	default:
		*why = "payload type not allowed here";
		return N_INVALID_PAYLOAD_TYPE;
	}
short_body:
	*why = "payload body too short";
	return N_PAYLOAD_MALFORMED;
bad_size:
	*why = "payload body size out of range";
	return N_PAYLOAD_MALFORMED;
}

int payloads_decode(uint8_t first, const uint8_t *buf, size_t len, bool trailing,
		    struct msg *m, const char **why)
{
	uint8_t type = first;
	size_t off = 0;
	m->npl = 0;
	while (type != PL_NONE) {
		if (m->npl == MSG_MAX_PAYLOADS) {
			*why = "too many payloads";
			return N_PAYLOAD_MALFORMED;
		}
		if (len - off < ISAKMP_GEN_LEN) {
			*why = "payload header runs past the message";
			return N_PAYLOAD_MALFORMED;
		}
		const uint8_t *p = buf + off;
		size_t plen = get16(p + 2);
		if (plen < ISAKMP_GEN_LEN || plen > len - off) {
			*why = "payload length runs past the message";
			return N_PAYLOAD_MALFORMED;
		}
		if (p[1] != 0) {
			*why = "reserved byte of a payload header is not zero";
			return N_PAYLOAD_MALFORMED;
		}
		int rc = payload_validate(type, p + ISAKMP_GEN_LEN, plen - ISAKMP_GEN_LEN, why);
		if (rc)
			return rc;
		struct payload *pl = &m->pl[m->npl++];
		pl->type = type;
		pl->hdr = p;
		pl->len = plen;
		pl->body = p + ISAKMP_GEN_LEN;
		pl->body_len = plen - ISAKMP_GEN_LEN;
		type = p[0];
		off += plen;
	}
	if (off != len && !trailing) {
		*why = "bytes after the last payload";
		return N_PAYLOAD_MALFORMED;
	}
	return 0;
}

const struct payload *msg_find_nth(const struct msg *m, uint8_t type, size_t nth)
{
	for (size_t i = 0; i < m->npl; i++)
		if (m->pl[i].type == type && nth-- == 0)
			return &m->pl[i];
	return NULL;
}

const struct payload *msg_find(const struct msg *m, uint8_t type)
{
	return msg_find_nth(m, type, 0);
}

size_t msg_count(const struct msg *m, uint8_t type)
{
	size_t n = 0;
	for (size_t i = 0; i < m->npl; i++)
		n += m->pl[i].type == type;
	return n;
}

/* ---- attributes ---------------------------------------------------------- */

int attr_next(const uint8_t **p, size_t *left, struct attr *a, const char **why)
{
	if (*left == 0)
		return 0;
	if (*left < 4) {
		*why = "attribute header runs past its transform";
		return -N_BAD_PROPOSAL_SYNTAX;
	}
	const uint8_t *q = *p;
	uint16_t t = get16(q);
	a->type = t & ~ATTR_AF;
	a->tv = (t & ATTR_AF) != 0;
	if (a->tv) {
		a->val = q + 2;
		a->len = 2;
		a->num = get16(q + 2);
		a->num_ok = true;
		*p += 4;
		*left -= 4;
		return 1;
	}
	uint16_t l = get16(q + 2);
	if ((size_t)l > *left - 4) {
		*why = "attribute value runs past its transform";
		return -N_BAD_PROPOSAL_SYNTAX;
	}
	a->val = q + 4;
	a->len = l;
	a->num = 0;
	a->num_ok = l >= 1 && l <= 8;
	for (uint16_t i = 0; a->num_ok && i < l; i++)
		a->num = a->num << 8 | a->val[i];
	*p += 4 + (size_t)l;
	*left -= 4 + (size_t)l;
	return 1;
}

int attrs_validate(const uint8_t *p, size_t len, const char **why)
{
	struct attr a;
	int rc;
	unsigned n = 0;
	while ((rc = attr_next(&p, &len, &a, why)) > 0)
		if (++n > 64) {
			*why = "too many attributes";
			return N_BAD_PROPOSAL_SYNTAX;
		}
	return rc < 0 ? -rc : 0;
}

/* ---- SA payload ---------------------------------------------------------- */

static int xform_decode(const uint8_t *p, size_t len, struct xform *t, uint8_t *np,
			const char **why)
{
	/* generic header + transform number, id, two reserved bytes */
	if (len < 8) {
		*why = "transform shorter than its header";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	*np = p[0];
	if (*np != PL_T && *np != PL_NONE) {
		*why = "transform followed by something other than a transform";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	t->num = p[4];
	t->id = p[5];
	t->attrs = p + 8;
	t->attrs_len = len - 8;
	return attrs_validate(t->attrs, t->attrs_len, why);
}

static int proposal_decode(const uint8_t *p, size_t len, struct proposal *pr, uint8_t *np,
			   const char **why)
{
	/* generic header + number, protocol, SPI size, transform count */
	if (len < 8) {
		*why = "proposal shorter than its header";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	*np = p[0];
	if (*np != PL_P && *np != PL_NONE) {
		*why = "proposal followed by something other than a proposal";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	pr->num = p[4];
	pr->proto = p[5];
	pr->spi_size = p[6];
	pr->ntr_declared = p[7];
	if (pr->spi_size > 16 || (size_t)pr->spi_size > len - 8) {
		*why = "SPI size out of range";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	pr->spi = p + 8;
	size_t off = 8 + pr->spi_size;
	pr->ntr = 0;
	uint8_t tnp = PL_T;
	while (off < len) {
		if (tnp != PL_T) {
			*why = "bytes after the last transform";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		if (len - off < ISAKMP_GEN_LEN) {
			*why = "transform header runs past its proposal";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		size_t tlen = get16(p + off + 2);
		if (tlen < ISAKMP_GEN_LEN || tlen > len - off) {
			*why = "transform length runs past its proposal";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		if (pr->ntr == SA_MAX_XFORMS) {
			*why = "too many transforms";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		int rc = xform_decode(p + off, tlen, &pr->tr[pr->ntr], &tnp, why);
		if (rc)
			return rc;
		pr->ntr++;
		off += tlen;
	}
	if (pr->ntr == 0 || pr->ntr != pr->ntr_declared || tnp != PL_NONE) {
		*why = "transform count differs from the transforms present";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	return 0;
}

int sa_decode(const uint8_t *b, size_t len, struct sa_payload *sa, const char **why)
{
	if (len < 8) {
		*why = "SA payload too short";
		return N_PAYLOAD_MALFORMED;
	}
	sa->doi = get32(b);
	sa->situation = get32(b + 4);
	sa->np = 0;
	if (sa->doi != DOI_IPSEC) {
		*why = "not the IPsec DOI";
		return N_DOI_NOT_SUPPORTED;
	}
	if (sa->situation != SIT_IDENTITY_ONLY) {
		*why = "situation other than identity only";
		return N_SITUATION_NOT_SUPPORTED;
	}
	size_t off = 8;
	uint8_t np = PL_P;
	while (off < len) {
		if (np != PL_P) {
			*why = "bytes after the last proposal";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		if (len - off < ISAKMP_GEN_LEN) {
			*why = "proposal header runs past the SA payload";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		size_t plen = get16(b + off + 2);
		if (plen < ISAKMP_GEN_LEN || plen > len - off) {
			*why = "proposal length runs past the SA payload";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		if (sa->np == SA_MAX_PROPOSALS) {
			*why = "too many proposals";
			return N_BAD_PROPOSAL_SYNTAX;
		}
		int rc = proposal_decode(b + off, plen, &sa->p[sa->np], &np, why);
		if (rc)
			return rc;
		sa->np++;
		off += plen;
	}
	if (sa->np == 0 || np != PL_NONE) {
		*why = "SA payload without a complete proposal list";
		return N_BAD_PROPOSAL_SYNTAX;
	}
	return 0;
}

/* ---- other payloads ---------------------------------------------------- */

int id_decode(const uint8_t *b, size_t len, struct id_payload *id, const char **why)
{
	if (len < 5) {
		*why = "ID payload too short";
		return N_PAYLOAD_MALFORMED;
	}
	id->type = b[0];
	id->proto = b[1];
	id->port = get16(b + 2);
	id->data = b + 4;
	id->len = len - 4;
	size_t want = 0;
	switch (id->type) {
	case IPSEC_ID_IPV4_ADDR: want = 4; break;
	case IPSEC_ID_IPV4_ADDR_SUBNET: case IPSEC_ID_IPV4_ADDR_RANGE: want = 8; break;
	case IPSEC_ID_IPV6_ADDR: want = 16; break;
	case IPSEC_ID_IPV6_ADDR_SUBNET: case IPSEC_ID_IPV6_ADDR_RANGE: want = 32; break;
	case IPSEC_ID_FQDN: case IPSEC_ID_USER_FQDN:
		if (id->len > 255) {
			*why = "name identity longer than 255 bytes";
			return N_INVALID_ID_INFORMATION;
		}
		return 0;
	case IPSEC_ID_DER_ASN1_DN: case IPSEC_ID_DER_ASN1_GN: case IPSEC_ID_KEY_ID:
		if (id->len > 1024) {
			*why = "identity longer than 1024 bytes";
			return N_INVALID_ID_INFORMATION;
		}
		return 0;
	default:
		*why = "unknown identification type";
		return N_INVALID_ID_INFORMATION;
	}
	if (id->len != want) {
		*why = "address identity of the wrong size";
		return N_INVALID_ID_INFORMATION;
	}
	return 0;
}

int notify_decode(const uint8_t *b, size_t len, struct notify_payload *n, const char **why)
{
	if (len < 8) {
		*why = "notify payload too short";
		return N_PAYLOAD_MALFORMED;
	}
	n->doi = get32(b);
	n->proto = b[4];
	n->spi_size = b[5];
	n->type = get16(b + 6);
	if ((size_t)n->spi_size > len - 8) {
		*why = "notify SPI runs past the payload";
		return N_PAYLOAD_MALFORMED;
	}
	n->spi = b + 8;
	n->data = b + 8 + n->spi_size;
	n->data_len = len - 8 - n->spi_size;
	return 0;
}

int delete_decode(const uint8_t *b, size_t len, struct delete_payload *d, const char **why)
{
	if (len < 8) {
		*why = "delete payload too short";
		return N_PAYLOAD_MALFORMED;
	}
	d->doi = get32(b);
	d->proto = b[4];
	d->spi_size = b[5];
	d->nspi = get16(b + 6);
	d->spis = b + 8;
	if (d->nspi == 0 || (d->spi_size != 4 && d->spi_size != 16)) {
		*why = "delete payload with no SPI or an SPI size other than 4 or 16";
		return N_PAYLOAD_MALFORMED;
	}
	if ((size_t)d->nspi * d->spi_size != len - 8) {
		*why = "delete payload SPIs do not fill the payload";
		return N_PAYLOAD_MALFORMED;
	}
	return 0;
}

int cert_decode(const uint8_t *b, size_t len, struct cert_payload *c, const char **why)
{
	if (len < 1) {
		*why = "certificate payload without an encoding";
		return N_PAYLOAD_MALFORMED;
	}
	c->encoding = b[0];
	c->data = b + 1;
	c->len = len - 1;
	return 0;
}

int natoa_decode(const uint8_t *b, size_t len, struct natoa_payload *n, const char **why)
{
	if (len < 4) {
		*why = "NAT-OA payload too short";
		return N_PAYLOAD_MALFORMED;
	}
	n->idtype = b[0];
	n->addr = b + 4;
	n->alen = len - 4;
	if ((n->idtype == IPSEC_ID_IPV4_ADDR && n->alen == 4) ||
	    (n->idtype == IPSEC_ID_IPV6_ADDR && n->alen == 16))
		return 0;
	*why = "NAT-OA address of the wrong type or size";
	return N_PAYLOAD_MALFORMED;
}

void isakmp_spi(uint8_t spi[ISAKMP_SPI_LEN], const uint8_t *icookie, const uint8_t *rcookie)
{
	memcpy(spi, icookie, ISAKMP_COOKIE_LEN);
	memcpy(spi + ISAKMP_COOKIE_LEN, rcookie, ISAKMP_COOKIE_LEN);
}

/* ---- names for the log --------------------------------------------------- */

const char *exch_name(uint8_t x)
{
	switch (x) {
	case EXCH_BASE: return "Base";
	case EXCH_MAIN: return "Main";
	case EXCH_AUTH_ONLY: return "AuthOnly";
	case EXCH_AGGRESSIVE: return "Aggressive";
	case EXCH_INFO: return "Informational";
	case EXCH_QUICK: return "Quick";
	case EXCH_NEW_GROUP: return "NewGroup";
	default: return "unknown";
	}
}

const char *payload_name(uint8_t t)
{
	static const char *const names[] = {
		[PL_SA] = "SA", [PL_P] = "P", [PL_T] = "T", [PL_KE] = "KE", [PL_ID] = "ID",
		[PL_CERT] = "CERT", [PL_CR] = "CR", [PL_HASH] = "HASH", [PL_SIG] = "SIG",
		[PL_NONCE] = "NONCE", [PL_N] = "N", [PL_D] = "D", [PL_VID] = "VID",
		[PL_NAT_D] = "NAT-D", [PL_NAT_OA] = "NAT-OA",
	};
	if (t < sizeof names / sizeof names[0] && names[t])
		return names[t];
	if (t == PL_NAT_D_DRAFT)
		return "NAT-D(draft)";
	if (t == PL_NAT_OA_DRAFT)
		return "NAT-OA(draft)";
	return "unknown";
}

const char *notify_name(uint16_t t)
{
	static const char *const names[] = {
		[N_INVALID_PAYLOAD_TYPE] = "INVALID-PAYLOAD-TYPE",
		[N_DOI_NOT_SUPPORTED] = "DOI-NOT-SUPPORTED",
		[N_SITUATION_NOT_SUPPORTED] = "SITUATION-NOT-SUPPORTED",
		[N_INVALID_COOKIE] = "INVALID-COOKIE",
		[N_INVALID_MAJOR_VERSION] = "INVALID-MAJOR-VERSION",
		[N_INVALID_MINOR_VERSION] = "INVALID-MINOR-VERSION",
		[N_INVALID_EXCHANGE_TYPE] = "INVALID-EXCHANGE-TYPE",
		[N_INVALID_FLAGS] = "INVALID-FLAGS",
		[N_INVALID_MESSAGE_ID] = "INVALID-MESSAGE-ID",
		[N_INVALID_PROTOCOL_ID] = "INVALID-PROTOCOL-ID",
		[N_INVALID_SPI] = "INVALID-SPI",
		[N_INVALID_TRANSFORM_ID] = "INVALID-TRANSFORM-ID",
		[N_ATTRIBUTES_NOT_SUPPORTED] = "ATTRIBUTES-NOT-SUPPORTED",
		[N_NO_PROPOSAL_CHOSEN] = "NO-PROPOSAL-CHOSEN",
		[N_BAD_PROPOSAL_SYNTAX] = "BAD-PROPOSAL-SYNTAX",
		[N_PAYLOAD_MALFORMED] = "PAYLOAD-MALFORMED",
		[N_INVALID_KEY_INFORMATION] = "INVALID-KEY-INFORMATION",
		[N_INVALID_ID_INFORMATION] = "INVALID-ID-INFORMATION",
		[N_INVALID_CERT_ENCODING] = "INVALID-CERT-ENCODING",
		[N_INVALID_CERTIFICATE] = "INVALID-CERTIFICATE",
		[N_CERT_TYPE_UNSUPPORTED] = "CERT-TYPE-UNSUPPORTED",
		[N_INVALID_CERT_AUTHORITY] = "INVALID-CERT-AUTHORITY",
		[N_INVALID_HASH_INFORMATION] = "INVALID-HASH-INFORMATION",
		[N_AUTHENTICATION_FAILED] = "AUTHENTICATION-FAILED",
		[N_INVALID_SIGNATURE] = "INVALID-SIGNATURE",
		[N_ADDRESS_NOTIFICATION] = "ADDRESS-NOTIFICATION",
		[N_NOTIFY_SA_LIFETIME] = "NOTIFY-SA-LIFETIME",
		[N_CERTIFICATE_UNAVAILABLE] = "CERTIFICATE-UNAVAILABLE",
		[N_UNSUPPORTED_EXCHANGE_TYPE] = "UNSUPPORTED-EXCHANGE-TYPE",
		[N_UNEQUAL_PAYLOAD_LENGTHS] = "UNEQUAL-PAYLOAD-LENGTHS",
	};
	if (t < sizeof names / sizeof names[0] && names[t])
		return names[t];
	switch (t) {
	case N_RESPONDER_LIFETIME: return "RESPONDER-LIFETIME";
	case N_REPLAY_STATUS: return "REPLAY-STATUS";
	case N_INITIAL_CONTACT: return "INITIAL-CONTACT";
	case N_DPD_R_U_THERE: return "R-U-THERE";
	case N_DPD_R_U_THERE_ACK: return "R-U-THERE-ACK";
	default: return "unknown";
	}
}

/* ---- buffers ------------------------------------------------------------- */

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof *b);
}

void buf_free(struct buf *b)
{
	free(b->d);
	memset(b, 0, sizeof *b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->err = false;
}

uint8_t *buf_room(struct buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n > ISAKMP_MAX_MSG * 4 || b->len + n > ISAKMP_MAX_MSG * 4) {
		b->err = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->d, cap);
		if (!d) {
			b->err = true;
			return NULL;
		}
		b->d = d;
		b->cap = cap;
	}
	uint8_t *p = b->d + b->len;
	b->len += n;
	return p;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	uint8_t *q = buf_room(b, n);
	if (q && n)
		memcpy(q, p, n);
}

void buf_u8(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

void buf_u16(struct buf *b, uint16_t v)
{
	uint8_t *q = buf_room(b, 2);
	if (q)
		put16(q, v);
}

void buf_u32(struct buf *b, uint32_t v)
{
	uint8_t *q = buf_room(b, 4);
	if (q)
		put32(q, v);
}

void buf_zero(struct buf *b, size_t n)
{
	uint8_t *q = buf_room(b, n);
	if (q && n)
		memset(q, 0, n);
}

void attr_tv(struct buf *b, uint16_t type, uint16_t val)
{
	buf_u16(b, type | ATTR_AF);
	buf_u16(b, val);
}

void attr_tlv_num(struct buf *b, uint16_t type, uint64_t val)
{
	size_t n = 4;
	while (n < 8 && (val >> (n * 8)) != 0)
		n++;
	buf_u16(b, type & ~ATTR_AF);
	buf_u16(b, (uint16_t)n);
	for (size_t i = n; i-- > 0;)
		buf_u8(b, (uint8_t)(val >> (i * 8)));
}

void attr_life(struct buf *b, uint16_t type, uint64_t val)
{
	if (val <= 0xffff)
		attr_tv(b, type, (uint16_t)val);
	else
		attr_tlv_num(b, type, val);
}

/* ---- payload bodies ------------------------------------------------------ */

void id_encode(struct buf *b, const struct id_payload *id)
{
	buf_u8(b, id->type);
	buf_u8(b, id->proto);
	buf_u16(b, id->port);
	buf_add(b, id->data, id->len);
}

void notify_encode(struct buf *b, const struct notify_payload *n)
{
	buf_u32(b, n->doi);
	buf_u8(b, n->proto);
	buf_u8(b, n->spi_size);
	buf_u16(b, n->type);
	buf_add(b, n->spi, n->spi_size);
	buf_add(b, n->data, n->data_len);
}

void delete_encode(struct buf *b, const struct delete_payload *d)
{
	buf_u32(b, d->doi);
	buf_u8(b, d->proto);
	buf_u8(b, d->spi_size);
	buf_u16(b, d->nspi);
	buf_add(b, d->spis, (size_t)d->nspi * d->spi_size);
}

void cert_encode(struct buf *b, const struct cert_payload *c)
{
	buf_u8(b, c->encoding);
	buf_add(b, c->data, c->len);
}

void natoa_encode(struct buf *b, const struct natoa_payload *n)
{
	buf_u8(b, n->idtype);
	buf_zero(b, 3);
	buf_add(b, n->addr, n->alen);
}

void sa_encode_header(struct buf *b, uint32_t doi, uint32_t situation)
{
	buf_u32(b, doi);
	buf_u32(b, situation);
}

/* Proposals and transforms start with a generic header whose length is
 * filled in by sa_part_end. */
static size_t part_begin(struct buf *b, uint8_t next)
{
	size_t start = b->len;
	buf_u8(b, next);
	buf_u8(b, 0);
	buf_u16(b, 0);
	return start;
}

size_t proposal_encode_begin(struct buf *b, const struct proposal *p, bool last)
{
	size_t start = part_begin(b, last ? PL_NONE : PL_P);
	buf_u8(b, p->num);
	buf_u8(b, p->proto);
	buf_u8(b, p->spi_size);
	buf_u8(b, p->ntr_declared);
	buf_add(b, p->spi, p->spi_size);
	return start;
}

size_t xform_encode_begin(struct buf *b, const struct xform *t, bool last)
{
	size_t start = part_begin(b, last ? PL_NONE : PL_T);
	buf_u8(b, t->num);
	buf_u8(b, t->id);
	buf_u16(b, 0);
	return start;
}

void sa_part_end(struct buf *b, size_t start)
{
	if (!b->err && b->len - start <= 0xffff)
		put16(b->d + start + 2, (uint16_t)(b->len - start));
	else
		b->err = true;
}

/* ---- message builder ----------------------------------------------------- */

#define NP_FIRST ((size_t)-1)

void msgb_begin(struct msgb *m, const uint8_t *icookie, const uint8_t *rcookie, uint8_t exch,
		uint8_t flags, uint32_t msgid)
{
	buf_init(&m->b);
	buf_add(&m->b, icookie, ISAKMP_COOKIE_LEN);
	if (rcookie)
		buf_add(&m->b, rcookie, ISAKMP_COOKIE_LEN);
	else
		buf_zero(&m->b, ISAKMP_COOKIE_LEN);
	buf_u8(&m->b, PL_NONE);
	buf_u8(&m->b, ISAKMP_VERSION);
	buf_u8(&m->b, exch);
	buf_u8(&m->b, flags);
	buf_u32(&m->b, msgid);
	buf_u32(&m->b, 0);
	m->np_off = 16;
	m->pl_off = 0;
	m->body_off = ISAKMP_HDR_LEN;
	m->first = PL_NONE;
}

void msgb_begin_body(struct msgb *m)
{
	buf_init(&m->b);
	m->np_off = NP_FIRST;
	m->pl_off = 0;
	m->body_off = 0;
	m->first = PL_NONE;
}

void msgb_pl_begin(struct msgb *m, uint8_t type)
{
	if (m->np_off == NP_FIRST)
		m->first = type;
	else if (!m->b.err)
		m->b.d[m->np_off] = type;
	m->pl_off = m->b.len;
	m->np_off = m->b.len;
	buf_u8(&m->b, PL_NONE);
	buf_u8(&m->b, 0);
	buf_u16(&m->b, 0);
}

void msgb_pl_end(struct msgb *m)
{
	if (m->b.err)
		return;
	size_t len = m->b.len - m->pl_off;
	if (len > 0xffff) {
		m->b.err = true;
		return;
	}
	put16(m->b.d + m->pl_off + 2, (uint16_t)len);
}

void msgb_pl(struct msgb *m, uint8_t type, const void *body, size_t len)
{
	msgb_pl_begin(m, type);
	buf_add(&m->b, body, len);
	msgb_pl_end(m);
}

int msgb_finish(struct msgb *m)
{
	if (m->b.err)
		return -1;
	if (m->body_off == ISAKMP_HDR_LEN)
		put32(m->b.d + 24, (uint32_t)m->b.len);
	return 0;
}

void msgb_free(struct msgb *m)
{
	buf_free(&m->b);
}
