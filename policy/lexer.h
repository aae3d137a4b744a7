/*
 * policy/lexer — splits a policy file into words, quoted strings, braces and
 * line ends, with the line and column of each. '#' at the start of a word
 * begins a comment that runs to the end of the line.
 */
#ifndef ATTLS_POLICY_LEXER_H
#define ATTLS_POLICY_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "policy/diag.h"

struct arena;

enum tok_kind { TK_WORD, TK_STRING, TK_LBRACE, TK_RBRACE, TK_NEWLINE, TK_EOF };

struct token {
	enum tok_kind kind;
	const char *text;      /* NUL-terminated; quotes removed for TK_STRING */
	struct srcpos pos;
};

#define LEX_MAX_TOKEN 4096

/* Tokenises buf. The array ends with one TK_EOF; it is malloc'd (free it when
 * parsing is done), the texts it points to live in a. Lexical errors go to d;
 * the offending bytes are skipped so parsing can go on. Returns 0, or -1 on
 * ENOMEM. */
int lex_buffer(struct arena *a, const char *file, const char *buf, size_t len,
	       struct token **toks, size_t *ntoks, struct diags *d);

#endif
