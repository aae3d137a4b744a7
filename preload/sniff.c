#include "preload/sniff.h"

#include <string.h>

struct rd {
	const uint8_t *p;
	size_t left;
};

static int take(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return -1;
	if (out)
		*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int u8(struct rd *r, size_t *v)
{
	const uint8_t *b;
	if (take(r, 1, &b))
		return -1;
	*v = b[0];
	return 0;
}

static int u16(struct rd *r, size_t *v)
{
	const uint8_t *b;
	if (take(r, 2, &b))
		return -1;
	*v = (size_t)b[0] << 8 | b[1];
	return 0;
}

static int u24(struct rd *r, size_t *v)
{
	const uint8_t *b;
	if (take(r, 3, &b))
		return -1;
	*v = (size_t)b[0] << 16 | (size_t)b[1] << 8 | b[2];
	return 0;
}

/* The server_name extension: a list of (type, name); take the first host_name. */
static void read_sni(struct rd ext, char *sni, size_t snilen)
{
	size_t list, type, len;
	const uint8_t *name;
	if (u16(&ext, &list) || list > ext.left)
		return;
	ext.left = list;
	while (ext.left) {
		if (u8(&ext, &type) || u16(&ext, &len) || take(&ext, len, &name))
			return;
		if (type == 0 && len > 0 && len < snilen) {
			for (size_t i = 0; i < len; i++)
				if (name[i] < 0x21 || name[i] > 0x7e)
					return;   /* not a host name: leave it out */
			memcpy(sni, name, len);
			sni[len] = '\0';
			return;
		}
	}
}

static void parse_hello(struct rd r, char *sni, size_t snilen)
{
	size_t v, len;
	if (take(&r, 2 + 32, NULL))                       /* client_version, random */
		return;
	if (u8(&r, &len) || len > 32 || take(&r, len, NULL))   /* session_id */
		return;
	if (u16(&r, &len) || len < 2 || len % 2 || take(&r, len, NULL))   /* cipher_suites */
		return;
	if (u8(&r, &len) || len < 1 || take(&r, len, NULL))    /* compression_methods */
		return;
	if (u16(&r, &len) || len > r.left)                /* extensions */
		return;
	r.left = len;
	while (r.left) {
		size_t type;
		const uint8_t *body;
		if (u16(&r, &type) || u16(&r, &v) || take(&r, v, &body))
			return;
		if (type == 0) {
			read_sni((struct rd){ body, v }, sni, snilen);
			return;
		}
	}
}

enum sniff_result sniff_client_hello(const uint8_t *buf, size_t len, char *sni, size_t snilen)
{
	if (sni && snilen)
		sni[0] = '\0';
	if (len == 0)
		return SNIFF_MORE;
	if (buf[0] != 0x16)
		return SNIFF_NOT_TLS;
	if (len >= 2 && buf[1] != 0x03)
		return SNIFF_NOT_TLS;
	if (len >= 3 && buf[2] > 0x04)
		return SNIFF_NOT_TLS;
	if (len < 6)
		return SNIFF_MORE;
	size_t reclen = (size_t)buf[3] << 8 | buf[4];
	/* A ClientHello needs at least its 4-byte header and 38 bytes of body;
	 * records are at most 2^14 bytes plus expansion. */
	if (reclen < 42 || reclen > 16384 + 2048 || buf[5] != 0x01)
		return SNIFF_NOT_TLS;
	if (sni && snilen && len >= 5 + reclen) {
		struct rd r = { buf + 5, reclen };
		size_t type, hlen;
		if (u8(&r, &type) == 0 && u24(&r, &hlen) == 0 && hlen <= r.left) {
			r.left = hlen;
			parse_hello(r, sni, snilen);
		}
	}
	return SNIFF_TLS;
}
