/*
 * common/jsonread — a strict, bounded JSON reader for text attls does not
 * control (the shared SWSA store: any node, or anyone with access, may have
 * written it). The text is parsed whole into a small tree; the caller's
 * limits on input size, nesting depth, node count and string length are
 * checked as it goes. Strict: RFC 8259 grammar only, well-formed UTF-8, no
 * NUL in strings, no key twice in one object, nothing after the value.
 * Numbers without fraction or exponent that fit in 64 bits are integers;
 * other numbers are kept only as "a number".
 */
#ifndef ATTLS_COMMON_JSONREAD_H
#define ATTLS_COMMON_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jr_type { JR_NULL, JR_BOOL, JR_INT, JR_NUMBER, JR_STRING, JR_ARRAY, JR_OBJECT };

#define JR_NONE (-1)

struct jr_node {
	uint8_t type;                     /* enum jr_type */
	bool b;                           /* JR_BOOL */
	int64_t i;                        /* JR_INT */
	const char *s;                    /* JR_STRING: unescaped, NUL-terminated */
	size_t len;                       /* its length */
	const char *key;                  /* member of an object: the member's name */
	int32_t child, next;              /* first member/element; next sibling (JR_NONE) */
};

struct jr_limits {
	size_t max_input;                 /* bytes of text */
	unsigned max_depth;               /* nested arrays and objects */
	size_t max_nodes;
	size_t max_string;                /* bytes of one string or key, unescaped */
};

struct jr_doc {
	struct jr_node *nodes;
	size_t n;
	char *strings;                    /* every string and key, unescaped */
	char err[128];                    /* why jr_parse failed, with the offset */
};

/* Parse text[0..len). Returns 0, or -1 with doc->err set; either way the
 * caller calls jr_free. */
int jr_parse(struct jr_doc *doc, const char *text, size_t len, const struct jr_limits *lim);
void jr_free(struct jr_doc *doc);

/* The top-level value (NULL when parsing failed). */
const struct jr_node *jr_root(const struct jr_doc *doc);
/* The member named key of an object (exact, case-sensitive), or NULL. */
const struct jr_node *jr_member(const struct jr_doc *doc, const struct jr_node *obj,
				const char *key);
/* Children of an array or object in order: first, then next until NULL. */
const struct jr_node *jr_first(const struct jr_doc *doc, const struct jr_node *n);
const struct jr_node *jr_next(const struct jr_doc *doc, const struct jr_node *n);
const char *jr_type_name(int type);   /* "a string", "an integer", ... for messages */

#endif
