#include "common/kvline.h"

#include <string.h>

static int needs_escape(unsigned char c)
{
	return c < 0x20 || c == '%' || c == '=' || c == 0x7f;
}

void kv_put(FILE *out, const char *key, const char *value)
{
	fprintf(out, "\t%s=", key);
	for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
		if (needs_escape(*p))
			fprintf(out, "%%%02X", *p);
		else
			fputc(*p, out);
	}
}

void kv_putu(FILE *out, const char *key, unsigned long long value)
{
	fprintf(out, "\t%s=%llu", key, value);
}

static int hexv(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		int h, l;
		if (*r == '%' && (h = hexv((unsigned char)r[1])) >= 0 && (l = hexv((unsigned char)r[2])) >= 0) {
			*w++ = (char)(h << 4 | l);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

int kv_parse(const char *line, struct kvline *kv)
{
	memset(kv, 0, sizeof *kv);
	size_t len = strcspn(line, "\n");
	if (len >= sizeof kv->buf)
		return -1;
	memcpy(kv->buf, line, len);
	kv->buf[len] = '\0';
	char *save = NULL;
	char *tok = strtok_r(kv->buf, "\t", &save);
	if (!tok || strlen(tok) >= sizeof kv->kind)
		return -1;
	strcpy(kv->kind, tok);
	while ((tok = strtok_r(NULL, "\t", &save)) && kv->n < KV_MAX_FIELDS) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return -1;
		*eq = '\0';
		unescape(eq + 1);
		kv->key[kv->n] = tok;
		kv->val[kv->n] = eq + 1;
		kv->n++;
	}
	return 0;
}

const char *kv_get(const struct kvline *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->key[i], key) == 0)
			return kv->val[i];
	return NULL;
}
