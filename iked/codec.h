/*
 * iked/codec — the ISAKMP message codec. Owns every read of bytes that came
 * from the network: the fixed header, the generic payload chain, the inside
 * of SA payloads (proposals, transforms, attributes), ID, notify, delete and
 * NAT-OA payloads. Each decoder first validates a length against what is left
 * of the buffer and only then reads (validate, then parse); a decoder returns
 * 0, or the notify type (N_*) that describes what is wrong, with a reason in
 * *why for the log. Decoded structures point into the caller's buffer.
 *
 * Also the writer side: a growable byte buffer and a message builder that
 * chains payloads (each payload's "next payload" byte is patched when the
 * next one starts) so no caller computes offsets by hand.
 */
#ifndef ATTLS_IKED_CODEC_H
#define ATTLS_IKED_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iked/isakmp.h"

/* ---- decoding ------------------------------------------------------------ */

struct isakmp_hdr {
	uint8_t icookie[ISAKMP_COOKIE_LEN];
	uint8_t rcookie[ISAKMP_COOKIE_LEN];
	uint8_t np;                       /* first payload */
	uint8_t version;
	uint8_t exch;
	uint8_t flags;
	uint32_t msgid;
	uint32_t len;
};

struct payload {
	uint8_t type;
	const uint8_t *hdr;               /* the generic header */
	size_t len;                       /* whole payload, generic header included */
	const uint8_t *body;              /* after the generic header */
	size_t body_len;
};

#define MSG_MAX_PAYLOADS 32

struct msg {
	struct isakmp_hdr hdr;
	const uint8_t *raw;               /* the datagram (after any non-ESP marker) */
	size_t raw_len;
	struct payload pl[MSG_MAX_PAYLOADS];
	size_t npl;
};

/* Header checks: length, version, known exchange, flags. len is what arrived;
 * the header's length must equal it. */
int isakmp_hdr_decode(const uint8_t *buf, size_t len, struct isakmp_hdr *h, const char **why);
/* The chain of payloads starting with type first in buf[0..len). Bytes after
 * the last payload are allowed only when trailing is set (the padding of an
 * encrypted body). Every payload's own minimum is checked here. */
int payloads_decode(uint8_t first, const uint8_t *buf, size_t len, bool trailing,
		    struct msg *m, const char **why);
/* First payload of a type, or NULL; the n-th (0-based) of a type. */
const struct payload *msg_find(const struct msg *m, uint8_t type);
const struct payload *msg_find_nth(const struct msg *m, uint8_t type, size_t nth);
size_t msg_count(const struct msg *m, uint8_t type);

/* SA payload */
#define SA_MAX_PROPOSALS 16
#define SA_MAX_XFORMS    32

struct xform {
	uint8_t num, id;
	const uint8_t *attrs;
	size_t attrs_len;
};

struct proposal {
	uint8_t num, proto, spi_size, ntr_declared;
	const uint8_t *spi;
	struct xform tr[SA_MAX_XFORMS];
	size_t ntr;
};

struct sa_payload {
	uint32_t doi, situation;
	struct proposal p[SA_MAX_PROPOSALS];
	size_t np;
};

int sa_decode(const uint8_t *body, size_t len, struct sa_payload *sa, const char **why);

/* Data attributes (TV or TLV). */
struct attr {
	uint16_t type;                    /* without the AF bit */
	bool tv;
	const uint8_t *val;               /* TLV value */
	uint16_t len;                     /* TLV length (2 for TV) */
	uint64_t num;                     /* the value as a number when it fits in 8 bytes */
	bool num_ok;
};

/* Walk attributes: returns 1 with *a filled, 0 at the end, or -N_* on error. */
int attr_next(const uint8_t **p, size_t *left, struct attr *a, const char **why);
/* Validate a whole attribute list (used before any walk). */
int attrs_validate(const uint8_t *p, size_t len, const char **why);

/* ID payload body (phase 1 and phase 2) */
struct id_payload {
	uint8_t type, proto;
	uint16_t port;
	const uint8_t *data;
	size_t len;
};
int id_decode(const uint8_t *body, size_t len, struct id_payload *id, const char **why);

/* Notify */
struct notify_payload {
	uint32_t doi;
	uint8_t proto, spi_size;
	uint16_t type;
	const uint8_t *spi;
	const uint8_t *data;
	size_t data_len;
};
int notify_decode(const uint8_t *body, size_t len, struct notify_payload *n, const char **why);

/* Delete */
struct delete_payload {
	uint32_t doi;
	uint8_t proto, spi_size;
	uint16_t nspi;
	const uint8_t *spis;              /* nspi * spi_size bytes */
};
int delete_decode(const uint8_t *body, size_t len, struct delete_payload *d, const char **why);

/* Certificate / certificate request: encoding byte then data */
struct cert_payload {
	uint8_t encoding;
	const uint8_t *data;
	size_t len;
};
int cert_decode(const uint8_t *body, size_t len, struct cert_payload *c, const char **why);

/* NAT-OA: the original address of a peer behind a NAT (ID type IPv4 or
 * IPv6, three reserved bytes, the address) */
struct natoa_payload {
	uint8_t idtype;                   /* IPSEC_ID_IPV4_ADDR or IPSEC_ID_IPV6_ADDR */
	const uint8_t *addr;
	size_t alen;                      /* 4 or 16 */
};
int natoa_decode(const uint8_t *body, size_t len, struct natoa_payload *n, const char **why);

/* The SPI that names an ISAKMP SA in notify and delete payloads: both
 * cookies, initiator's first. */
#define ISAKMP_SPI_LEN 16
void isakmp_spi(uint8_t spi[ISAKMP_SPI_LEN], const uint8_t *icookie, const uint8_t *rcookie);

/* Big-endian readers for already validated bytes. */
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *exch_name(uint8_t exch);
const char *payload_name(uint8_t type);
const char *notify_name(uint16_t type);

/* ---- encoding ------------------------------------------------------------ */

/* A growable byte buffer. Allocation failure sets err and later appends are
 * ignored, so a builder checks once at the end. */
struct buf {
	uint8_t *d;
	size_t len, cap;
	bool err;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Room for n more bytes at the end; returns their start (NULL on failure). */
uint8_t *buf_room(struct buf *b, size_t n);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_u8(struct buf *b, uint8_t v);
void buf_u16(struct buf *b, uint16_t v);
void buf_u32(struct buf *b, uint32_t v);
void buf_zero(struct buf *b, size_t n);
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Attributes: TV when the value fits in 16 bits and the class allows it,
 * otherwise TLV with the shortest big-endian value (at least 4 bytes for
 * durations, as most implementations send them). */
void attr_tv(struct buf *b, uint16_t type, uint16_t val);
void attr_tlv_num(struct buf *b, uint16_t type, uint64_t val);
/* Life duration: TV if it fits, else 4-byte TLV. */
void attr_life(struct buf *b, uint16_t type, uint64_t val);

/* Payload bodies: one encoder per decoder above, writing what it reads
 * back. A message adds one between msgb_pl_begin and msgb_pl_end. */
void id_encode(struct buf *b, const struct id_payload *id);
void notify_encode(struct buf *b, const struct notify_payload *n);
void delete_encode(struct buf *b, const struct delete_payload *d);
void cert_encode(struct buf *b, const struct cert_payload *c);   /* CERT and CR */
void natoa_encode(struct buf *b, const struct natoa_payload *n);
/* The SA payload body: its header, then each proposal and within it each
 * transform opened by *_encode_begin (numbers, protocol, SPI and count from
 * the struct; a transform's attributes follow from the caller) and closed by
 * sa_part_end, which fills in the length of what it closes. */
void sa_encode_header(struct buf *b, uint32_t doi, uint32_t situation);
size_t proposal_encode_begin(struct buf *b, const struct proposal *p, bool last);
size_t xform_encode_begin(struct buf *b, const struct xform *t, bool last);
void sa_part_end(struct buf *b, size_t start);

/* Message builder. The header is written by msgb_begin; each payload starts
 * with msgb_pl_begin (which patches the previous payload's next-payload byte,
 * or the header's) and ends with msgb_pl_end (which patches its length). */
struct msgb {
	struct buf b;
	size_t np_off;                    /* where the next payload type goes */
	size_t pl_off;                    /* start of the open payload */
	size_t body_off;                  /* first byte after the header */
	uint8_t first;                    /* first payload type of a header-less body */
};

void msgb_begin(struct msgb *m, const uint8_t *icookie, const uint8_t *rcookie, uint8_t exch,
		uint8_t flags, uint32_t msgid);
void msgb_pl_begin(struct msgb *m, uint8_t type);
void msgb_pl_end(struct msgb *m);
/* Whole payload in one call. */
void msgb_pl(struct msgb *m, uint8_t type, const void *body, size_t len);
/* Patch the header length; returns 0, or -1 if any allocation failed. */
int msgb_finish(struct msgb *m);
void msgb_free(struct msgb *m);

/* Start a builder for payloads only (no ISAKMP header), as used for the
 * plaintext of an encrypted message and for hash inputs; m->first receives
 * the first payload's type. */
void msgb_begin_body(struct msgb *m);

#endif
