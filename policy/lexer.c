#include "policy/lexer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"

struct lexer {
	struct arena *a;
	const char *file;
	const char *p, *end;
	uint32_t line;
	const char *line_start;    /* column = bytes since it, plus one */
	struct token *v;           /* malloc'd: the parser's, not the snapshot's */
	size_t n, cap;
	struct diags *d;
};

static struct srcpos here(const struct lexer *lx)
{
	return (struct srcpos){ lx->file, lx->line, (uint32_t)(lx->p - lx->line_start) + 1 };
}

static int push(struct lexer *lx, enum tok_kind k, const char *text, struct srcpos pos)
{
	if (lx->n == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 256;
		struct token *v = cap <= SIZE_MAX / sizeof *v ? realloc(lx->v, cap * sizeof *v) : NULL;
		if (!v)
			return -1;
		lx->v = v;
		lx->cap = cap;
	}
	lx->v[lx->n++] = (struct token){ k, text, pos };
	return 0;
}

static void newline(struct lexer *lx)
{
	lx->p++;
	lx->line++;
	lx->line_start = lx->p;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static int is_bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') ||
	       c == 0x7f;
}

/* What each byte starts: a policy is mostly words and indentation, so the
 * main loop dispatches on a table. A word runs over C_WORD bytes (and '#'
 * inside it). */
enum cclass { C_WORD, C_SPACE, C_NEWLINE, C_HASH, C_BRACE, C_QUOTE, C_BAD };
static uint8_t cclass[256];
static bool word_byte[256];
static pthread_once_t cclass_once = PTHREAD_ONCE_INIT;

static void init_cclass(void)
{
	for (int c = 0; c < 256; c++) {
		cclass[c] = is_space((char)c) ? C_SPACE : c == '\n' ? C_NEWLINE : c == '#' ? C_HASH :
			    c == '{' || c == '}' ? C_BRACE : c == '"' ? C_QUOTE :
			    is_bad_byte((unsigned char)c) ? C_BAD : C_WORD;
		word_byte[c] = cclass[c] == C_WORD || cclass[c] == C_HASH;
	}
}

static int lex_string(struct lexer *lx)
{
	struct srcpos start = here(lx);
	lx->p++;   /* opening quote */
	char buf[LEX_MAX_TOKEN];
	size_t n = 0;
	int too_long = 0;
	while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
		char c = *lx->p;
		if (c == '\\' && lx->p + 1 < lx->end && (lx->p[1] == '"' || lx->p[1] == '\\')) {
			lx->p++;
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
		lx->p++;
	}
	if (lx->p >= lx->end || *lx->p != '"') {
		diag_error(lx->d, start, "close it with '\"' on the same line",
			   "string is not closed");
	} else {
		lx->p++;
	}
	if (too_long)
		diag_error(lx->d, start, NULL, "string is longer than %d bytes", LEX_MAX_TOKEN - 1);
	char *text = arena_strndup(lx->a, buf, n);
	return text ? push(lx, TK_STRING, text, start) : -1;
}

static int lex_word(struct lexer *lx)
{
	struct srcpos start = here(lx);
	const char *s = lx->p, *e = lx->p, *end = lx->end;
	while (e < end && word_byte[(unsigned char)*e])
		e++;
	lx->p = e;
	size_t len = (size_t)(e - s);
	if (len >= LEX_MAX_TOKEN) {
		diag_error(lx->d, start, NULL, "word is longer than %d bytes", LEX_MAX_TOKEN - 1);
		len = LEX_MAX_TOKEN - 1;
	}
	char *text = arena_strndup(lx->a, s, len);
	return text ? push(lx, TK_WORD, text, start) : -1;
}

static int lex_all(struct lexer *lx)
{
	uint32_t bad_line = 0;
	while (lx->p < lx->end) {
		unsigned char c = (unsigned char)*lx->p;
		int rc = 0;
		switch (cclass[c]) {
		case C_SPACE:
			do
				lx->p++;
			while (lx->p < lx->end && cclass[(unsigned char)*lx->p] == C_SPACE);
			break;
		case C_NEWLINE:
			if (lx->n && lx->v[lx->n - 1].kind != TK_NEWLINE)
				rc = push(lx, TK_NEWLINE, "\n", here(lx));
			newline(lx);
			break;
		case C_HASH: {
			const char *nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
			lx->p = nl ? nl : lx->end;
			break;
		}
		case C_BRACE:
			rc = push(lx, c == '{' ? TK_LBRACE : TK_RBRACE, c == '{' ? "{" : "}", here(lx));
			lx->p++;
			break;
		case C_QUOTE:
			rc = lex_string(lx);
			break;
		case C_BAD:
			/* One report per line: binary garbage should not bury real errors. */
			if (bad_line != lx->line)
				diag_error(lx->d, here(lx), "policy files are text; is this the right file?",
					   "unexpected byte 0x%02x", c);
			bad_line = lx->line;
			lx->p++;
			break;
		default:
			rc = lex_word(lx);
		}
		if (rc)
			return -1;
	}
	return push(lx, TK_EOF, "", here(lx));
}

int lex_buffer(struct arena *a, const char *file, const char *buf, size_t len,
	       struct token **toks, size_t *ntoks, struct diags *d)
{
	pthread_once(&cclass_once, init_cclass);
	struct lexer lx = { .a = a, .file = file, .p = buf, .end = buf + len, .line = 1,
			    .line_start = buf, .d = d };
	/* A UTF-8 byte order mark from an editor is not content. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		lx.p = lx.line_start = buf + 3;
	if (lex_all(&lx)) {
		free(lx.v);
		return -1;
	}
	*toks = lx.v;
	*ntoks = lx.n;
	return 0;
}
