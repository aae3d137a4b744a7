/* common/jsonread — strict, bounded JSON reader (recursive descent; the
 * depth limit bounds the recursion). */
#include "common/jsonread.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"

struct reader {
	struct jr_doc *doc;
	const struct jr_limits *lim;
	const char *t;
	size_t len, pos;
	size_t slen;                      /* bytes used in doc->strings */
};

static int fail(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct reader *r, const char *fmt, ...)
{
	char msg[96];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!r->doc->err[0])
		snprintf(r->doc->err, sizeof r->doc->err, "%s at offset %zu", msg, r->pos);
	return -1;
}

static void skip_ws(struct reader *r)
{
	while (r->pos < r->len) {
		char c = r->t[r->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		r->pos++;
	}
}

static int peek(const struct reader *r)
{
	return r->pos < r->len ? (unsigned char)r->t[r->pos] : -1;
}

static int32_t new_node(struct reader *r, int type)
{
	if (r->doc->n >= r->lim->max_nodes)
		return fail(r, "more than %zu values", r->lim->max_nodes);
	struct jr_node *n = &r->doc->nodes[r->doc->n];
	memset(n, 0, sizeof *n);
	n->type = (uint8_t)type;
	n->child = n->next = JR_NONE;
	return (int32_t)r->doc->n++;
}

static bool literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);
	if (r->len - r->pos < n || memcmp(r->t + r->pos, word, n) != 0)
		return false;
	r->pos += n;
	return true;
}

static int hex4(struct reader *r, unsigned *out)
{
	if (r->len - r->pos < 4)
		return fail(r, "short \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = r->t[r->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return fail(r, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \u escape (the backslash and u already read), surrogate pairs joined. */
static int unicode_escape(struct reader *r, unsigned *cp)
{
	unsigned hi;
	if (hex4(r, &hi))
		return -1;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(r, "lone low surrogate");
	if (hi < 0xd800 || hi > 0xdbff) {
		*cp = hi;
		return 0;
	}
	unsigned lo;
	if (r->len - r->pos < 2 || r->t[r->pos] != '\\' || r->t[r->pos + 1] != 'u')
		return fail(r, "lone high surrogate");
	r->pos += 2;
	if (hex4(r, &lo))
		return -1;
	if (lo < 0xdc00 || lo > 0xdfff)
		return fail(r, "bad surrogate pair");
	*cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

/* A string (at its opening quote) unescaped into doc->strings. The output
 * never outgrows the input, which sized the buffer. */
static int string(struct reader *r, const char **out, size_t *outlen)
{
	r->pos++;
	char *o = r->doc->strings + r->slen;
	size_t k = 0;
	for (;;) {
		if (r->pos >= r->len)
			return fail(r, "unterminated string");
		unsigned char c = (unsigned char)r->t[r->pos];
		if (c == '"') {
			r->pos++;
			break;
		}
		if (c < 0x20)
			return fail(r, "control character in a string");
		if (c == '\\') {
			if (++r->pos >= r->len)
				return fail(r, "unterminated string");
			char e = r->t[r->pos++];
			unsigned cp = 0;
			switch (e) {
			case '"': o[k++] = '"'; break;
			case '\\': o[k++] = '\\'; break;
			case '/': o[k++] = '/'; break;
			case 'b': o[k++] = '\b'; break;
			case 'f': o[k++] = '\f'; break;
			case 'n': o[k++] = '\n'; break;
			case 'r': o[k++] = '\r'; break;
			case 't': o[k++] = '\t'; break;
			case 'u':
				if (unicode_escape(r, &cp))
					return -1;
				if (cp == 0)
					return fail(r, "NUL in a string");
				k += put_utf8(o + k, cp);
				break;
			default:
				r->pos--;
				return fail(r, "bad escape");
			}
		} else if (c >= 0x80) {
			size_t n = str_utf8_len((const unsigned char *)r->t + r->pos, r->len - r->pos);
			if (!n)
				return fail(r, "invalid UTF-8");
			memcpy(o + k, r->t + r->pos, n);
			k += n;
			r->pos += n;
		} else {
			o[k++] = (char)c;
			r->pos++;
		}
		if (k > r->lim->max_string)
			return fail(r, "string longer than %zu bytes", r->lim->max_string);
	}
	o[k] = '\0';
	r->slen += k + 1;
	*out = o;
	*outlen = k;
	return 0;
}

static bool digit(int c)
{
	return c >= '0' && c <= '9';
}

static int number(struct reader *r, int32_t id)
{
	size_t start = r->pos;
	bool neg = peek(r) == '-';
	if (neg)
		r->pos++;
	if (peek(r) == '0') {
		r->pos++;
	} else if (digit(peek(r))) {
		while (digit(peek(r)))
			r->pos++;
	} else {
		return fail(r, "bad number");
	}
	bool integer = true;
	if (peek(r) == '.') {
		integer = false;
		r->pos++;
		if (!digit(peek(r)))
			return fail(r, "bad number");
		while (digit(peek(r)))
			r->pos++;
	}
	if (peek(r) == 'e' || peek(r) == 'E') {
		integer = false;
		r->pos++;
		if (peek(r) == '+' || peek(r) == '-')
			r->pos++;
		if (!digit(peek(r)))
			return fail(r, "bad number");
		while (digit(peek(r)))
			r->pos++;
	}
	struct jr_node *n = &r->doc->nodes[id];
	if (!integer)
		return 0;
	/* magnitude in unsigned arithmetic; what does not fit stays "a number" */
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t i = start + neg; i < r->pos; i++) {
		uint64_t d = (uint64_t)(r->t[i] - '0');
		if (v > (limit - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	n->type = JR_INT;
	n->i = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return 0;
}

static int value(struct reader *r, unsigned depth, int32_t *out);

static bool key_seen(const struct reader *r, int32_t first, const char *key, size_t len)
{
	for (int32_t i = first; i != JR_NONE; i = r->doc->nodes[i].next) {
		const struct jr_node *m = &r->doc->nodes[i];
		if (strlen(m->key) == len && memcmp(m->key, key, len) == 0)
			return true;
	}
	return false;
}

/* An array or an object (at its opening bracket). */
static int container(struct reader *r, unsigned depth, int32_t id, bool object)
{
	char close = object ? '}' : ']';
	r->pos++;
	skip_ws(r);
	if (peek(r) == close) {
		r->pos++;
		return 0;
	}
	int32_t last = JR_NONE;
	for (;;) {
		const char *key = NULL;
		size_t klen = 0;
		if (object) {
			skip_ws(r);
			if (peek(r) != '"')
				return fail(r, "expected a member name");
			if (string(r, &key, &klen))
				return -1;
			if (key_seen(r, r->doc->nodes[id].child, key, klen))
				return fail(r, "member \"%.40s\" given twice", key);
			skip_ws(r);
			if (peek(r) != ':')
				return fail(r, "expected ':'");
			r->pos++;
		}
		int32_t v;
		if (value(r, depth + 1, &v))
			return -1;
		r->doc->nodes[v].key = key;
		if (last == JR_NONE)
			r->doc->nodes[id].child = v;
		else
			r->doc->nodes[last].next = v;
		last = v;
		skip_ws(r);
		int c = peek(r);
		r->pos++;
		if (c == close)
			return 0;
		if (c != ',') {
			r->pos--;
			return fail(r, "expected ',' or '%c'", close);
		}
	}
}

static int value(struct reader *r, unsigned depth, int32_t *out)
{
	if (depth > r->lim->max_depth)
		return fail(r, "nested deeper than %u", r->lim->max_depth);
	skip_ws(r);
	int c = peek(r);
	int32_t id = new_node(r, JR_NULL);
	if (id < 0)
		return -1;
	*out = id;
	struct jr_node *n = &r->doc->nodes[id];
	switch (c) {
	case '{':
		n->type = JR_OBJECT;
		return container(r, depth, id, true);
	case '[':
		n->type = JR_ARRAY;
		return container(r, depth, id, false);
	case '"':
		n->type = JR_STRING;
		return string(r, &n->s, &n->len);
	case 't':
	case 'f':
		n->type = JR_BOOL;
		n->b = c == 't';
		return literal(r, c == 't' ? "true" : "false") ? 0 : fail(r, "bad literal");
	case 'n':
		return literal(r, "null") ? 0 : fail(r, "bad literal");
	default:
		if (c != '-' && !digit(c))
			return fail(r, c < 0 ? "expected a value, not the end" : "expected a value");
		n->type = JR_NUMBER;
		return number(r, id);
	}
}

int jr_parse(struct jr_doc *doc, const char *text, size_t len, const struct jr_limits *lim)
{
	memset(doc, 0, sizeof *doc);
	struct reader r = { .doc = doc, .lim = lim, .t = text, .len = len };
	if (len > lim->max_input)
		return fail(&r, "text longer than %zu bytes", lim->max_input);
	if (lim->max_nodes == 0)
		return fail(&r, "no room for a value");
	doc->nodes = calloc(lim->max_nodes, sizeof *doc->nodes);
	doc->strings = malloc(len + 1);
	if (!doc->nodes || !doc->strings)
		return fail(&r, "out of memory");
	int32_t root;
	if (value(&r, 1, &root))
		return -1;
	skip_ws(&r);
	if (r.pos != r.len)
		return fail(&r, "text after the value");
	return 0;
}

void jr_free(struct jr_doc *doc)
{
	free(doc->nodes);
	free(doc->strings);
	doc->nodes = NULL;
	doc->strings = NULL;
	doc->n = 0;
}

const struct jr_node *jr_root(const struct jr_doc *doc)
{
	return doc->n && !doc->err[0] ? &doc->nodes[0] : NULL;
}

const struct jr_node *jr_first(const struct jr_doc *doc, const struct jr_node *n)
{
	return n && n->child != JR_NONE ? &doc->nodes[n->child] : NULL;
}

const struct jr_node *jr_next(const struct jr_doc *doc, const struct jr_node *n)
{
	return n && n->next != JR_NONE ? &doc->nodes[n->next] : NULL;
}

const struct jr_node *jr_member(const struct jr_doc *doc, const struct jr_node *obj,
				const char *key)
{
	if (!obj || obj->type != JR_OBJECT)
		return NULL;
	for (const struct jr_node *m = jr_first(doc, obj); m; m = jr_next(doc, m))
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

const char *jr_type_name(int type)
{
	static const char *const names[] = { "null", "a boolean", "an integer", "a number",
					     "a string", "an array", "an object" };
	return type >= 0 && type <= JR_OBJECT ? names[type] : "?";
}
