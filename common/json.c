#include "common/json.h"

#include <inttypes.h>
#include <string.h>

#include "common/strutil.h"

void json_init(struct json *j, FILE *out, int indent)
{
	memset(j, 0, sizeof *j);
	j->out = out;
	j->indent = indent;
}

static void newline(struct json *j)
{
	if (!j->indent)
		return;
	fputc('\n', j->out);
	for (int i = 0; i < j->depth * j->indent; i++)
		fputc(' ', j->out);
}

/* Called before every value or key: separator and indentation. */
static void pre_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (j->need_comma[j->depth])
			fputc(',', j->out);
		newline(j);
		j->need_comma[j->depth] = true;
	}
}

static void open(struct json *j, char c)
{
	pre_value(j);
	fputc(c, j->out);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(struct json *j, char c)
{
	bool had = j->need_comma[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (had)
		newline(j);
	fputc(c, j->out);
}

void json_obj_begin(struct json *j) { open(j, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j) { open(j, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

static void write_escaped(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			/* JSON text is UTF-8: a byte that starts no valid sequence (a
			 * Latin-1 policy file, say) becomes U+FFFD. */
			size_t len = str_utf8_len((const unsigned char *)s + i, n - i);
			if (str_utf8_is_c1((const unsigned char *)s + i, len)) {
				/* a control character a terminal would act on */
				fprintf(out, "\\u%04x", (unsigned)((s[i] & 0x03) << 6 | (s[i + 1] & 0x3f)));
				i += len - 1;
			} else if (len) {
				fwrite(s + i, 1, len, out);
				i += len - 1;
			} else {
				fputs("\\ufffd", out);
			}
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out);
		}
	}
	fputc('"', out);
}

void json_key(struct json *j, const char *key)
{
	pre_value(j);
	write_escaped(j->out, key, strlen(key));
	fputs(j->indent ? ": " : ":", j->out);
	j->after_key = true;
}

void json_strn(struct json *j, const char *s, size_t n)
{
	pre_value(j);
	write_escaped(j->out, s, n);
}

void json_str(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_strn(j, s, strlen(s));
}

void json_int(struct json *j, int64_t v) { pre_value(j); fprintf(j->out, "%" PRId64, v); }
void json_uint(struct json *j, uint64_t v) { pre_value(j); fprintf(j->out, "%" PRIu64, v); }
void json_bool(struct json *j, bool v) { pre_value(j); fputs(v ? "true" : "false", j->out); }
void json_null(struct json *j) { pre_value(j); fputs("null", j->out); }

void json_kstr(struct json *j, const char *k, const char *v) { json_key(j, k); json_str(j, v); }
void json_kint(struct json *j, const char *k, int64_t v) { json_key(j, k); json_int(j, v); }
void json_kuint(struct json *j, const char *k, uint64_t v) { json_key(j, k); json_uint(j, v); }
void json_kbool(struct json *j, const char *k, bool v) { json_key(j, k); json_bool(j, v); }

void json_end(struct json *j) { fputc('\n', j->out); fflush(j->out); }
