#include "policy/lexer.h"

#include <string.h>

#include "common/arena.h"

struct lexer {
	struct arena *a;
	const char *file;
	const char *p, *end;
	uint32_t line, col;
	struct token *v;
	size_t n, cap;
	struct diags *d;
};

static struct srcpos here(const struct lexer *lx)
{
	return (struct srcpos){ lx->file, lx->line, lx->col };
}

static int push(struct lexer *lx, enum tok_kind k, const char *text, struct srcpos pos)
{
	if (lx->n == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 256;
		struct token *v = arena_grow(lx->a, lx->v, lx->n, cap, sizeof *v);
		if (!v)
			return -1;
		lx->v = v;
		lx->cap = cap;
	}
	lx->v[lx->n++] = (struct token){ k, text, pos };
	return 0;
}

static void advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->p++;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static int is_bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') ||
	       c == 0x7f;
}

static int is_word_end(char c)
{
	return is_space(c) || c == '\n' || c == '{' || c == '}' || c == '"';
}

static int lex_string(struct lexer *lx)
{
	struct srcpos start = here(lx);
	advance(lx);   /* opening quote */
	char buf[LEX_MAX_TOKEN];
	size_t n = 0;
	int too_long = 0;
	while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
		char c = *lx->p;
		if (c == '\\' && lx->p + 1 < lx->end && (lx->p[1] == '"' || lx->p[1] == '\\')) {
			advance(lx);
			c = *lx->p;
		}
		if (is_bad_byte((unsigned char)c)) {
			diag_error(lx->d, here(lx), NULL, "control character 0x%02x inside a string",
				   (unsigned char)c);
		} else if (n < sizeof buf - 1) {
			buf[n++] = c;
		} else {
			too_long = 1;
		}
		advance(lx);
	}
	if (lx->p >= lx->end || *lx->p != '"') {
		diag_error(lx->d, start, "close it with '\"' on the same line",
			   "string is not closed");
	} else {
		advance(lx);
	}
	if (too_long)
		diag_error(lx->d, start, NULL, "string is longer than %d bytes", LEX_MAX_TOKEN - 1);
	char *text = arena_strndup(lx->a, buf, n);
	return text ? push(lx, TK_STRING, text, start) : -1;
}

static int lex_word(struct lexer *lx)
{
	struct srcpos start = here(lx);
	const char *s = lx->p;
	while (lx->p < lx->end && !is_word_end(*lx->p) && !is_bad_byte((unsigned char)*lx->p))
		advance(lx);
	size_t len = (size_t)(lx->p - s);
	if (len >= LEX_MAX_TOKEN) {
		diag_error(lx->d, start, NULL, "word is longer than %d bytes", LEX_MAX_TOKEN - 1);
		len = LEX_MAX_TOKEN - 1;
	}
	char *text = arena_strndup(lx->a, s, len);
	return text ? push(lx, TK_WORD, text, start) : -1;
}

int lex_buffer(struct arena *a, const char *file, const char *buf, size_t len,
	       struct token **toks, size_t *ntoks, struct diags *d)
{
	struct lexer lx = { .a = a, .file = file, .p = buf, .end = buf + len,
			    .line = 1, .col = 1, .d = d };
	uint32_t bad_line = 0;
	/* A UTF-8 byte order mark from an editor is not content. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		lx.p += 3;
	while (lx.p < lx.end) {
		char c = *lx.p;
		int rc = 0;
		if (is_space(c)) {
			advance(&lx);
		} else if (c == '\n') {
			if (lx.n && lx.v[lx.n - 1].kind != TK_NEWLINE)
				rc = push(&lx, TK_NEWLINE, "\n", here(&lx));
			advance(&lx);
		} else if (c == '#' ) {
			while (lx.p < lx.end && *lx.p != '\n')
				advance(&lx);
		} else if (c == '{' || c == '}') {
			rc = push(&lx, c == '{' ? TK_LBRACE : TK_RBRACE, c == '{' ? "{" : "}",
				  here(&lx));
			advance(&lx);
		} else if (c == '"') {
			rc = lex_string(&lx);
		} else if (is_bad_byte((unsigned char)c)) {
			/* One report per line: binary garbage should not bury real errors. */
			if (bad_line != lx.line)
				diag_error(d, here(&lx), "policy files are text; is this the right file?",
					   "unexpected byte 0x%02x", (unsigned char)c);
			bad_line = lx.line;
			advance(&lx);
		} else {
			rc = lex_word(&lx);
		}
		if (rc)
			return -1;
	}
	if (push(&lx, TK_EOF, "", here(&lx)))
		return -1;
	*toks = lx.v;
	*ntoks = lx.n;
	return 0;
}
