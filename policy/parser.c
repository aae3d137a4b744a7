/* policy/parser — statements and parameter lines from tokens, with recovery so
 * that one run reports every error of a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/arena.h"
#include "common/strutil.h"
#include "policy/lexer.h"
#include "policy/tree.h"

#define MAX_DEPTH 8
#define NAME_MAX_LEN 32

/* Parameters of a statement being parsed, before they move to the arena at
 * its real size (one scratch vector per nesting depth). */
struct scratch {
	struct pparam *v;
	size_t cap;
};

struct parser {
	struct scratch scratch[MAX_DEPTH + 1];
	struct ptree *t;
	struct arena *a;
	const struct token *tok;
	size_t n, i;
	struct diags *d;
	int oom;
};

static const struct token *peek(struct parser *p) { return &p->tok[p->i]; }
static const struct token *next(struct parser *p)
{
	const struct token *t = &p->tok[p->i];
	if (t->kind != TK_EOF)
		p->i++;
	return t;
}

static void skip_newlines(struct parser *p)
{
	while (peek(p)->kind == TK_NEWLINE)
		p->i++;
}

/* A line that starts with the type of a statement that only stands at the top
 * level (TTLSRule, IpDynVpnAction, ...) begins a new statement: a block still
 * open at that point is missing its '}'. */
static bool starts_top_statement(const struct parser *p, size_t i)
{
	const struct token *t = &p->tok[i];
	if (t->kind != TK_WORD || (i > 0 && p->tok[i - 1].kind != TK_NEWLINE))
		return false;
	const struct stmt_schema *ss = schema_stmt(t->text);
	return ss && (ss->flags & SF_GLOBAL) && !(ss->flags & SF_INLINE);
}

/* Skip a balanced { ... } block starting at the current '{'; stop early before
 * a line that clearly starts the next statement. */
static void skip_block(struct parser *p)
{
	int depth = 0;
	do {
		if (depth > 0 && starts_top_statement(p, p->i))
			return;
		const struct token *t = next(p);
		if (t->kind == TK_LBRACE)
			depth++;
		else if (t->kind == TK_RBRACE)
			depth--;
		else if (t->kind == TK_EOF)
			return;
	} while (depth > 0);
}

/* Skip the rest of a line; a block opened on it is skipped whole. */
static void skip_line(struct parser *p)
{
	for (;;) {
		const struct token *t = peek(p);
		if (t->kind == TK_EOF || t->kind == TK_RBRACE)
			return;
		if (t->kind == TK_NEWLINE) {
			p->i++;
			return;
		}
		if (t->kind == TK_LBRACE) {
			skip_block(p);
			return;
		}
		p->i++;
	}
}

/* The value of a parameter runs to the end of the line, a brace, or the next
 * keyword of the statement (several parameters may share a line); returns
 * the index after it. The first word is taken even when it is a keyword when
 * take_first is set: a value is never empty just because it looks like one. */
static size_t value_end(const struct parser *p, const struct pstmt *s, size_t first,
			bool take_first)
{
	size_t i = first;
	while ((p->tok[i].kind == TK_WORD || p->tok[i].kind == TK_STRING) &&
	       !((i > first || !take_first) && p->tok[i].kind == TK_WORD &&
		 schema_param(s->ss, p->tok[i].text)))
		i++;
	return i;
}

/* After a parameter that cannot be used: skip its value, and a block opened
 * right after it, but keep the other parameters of the line. */
static void skip_param_value(struct parser *p, const struct pstmt *s)
{
	p->i = value_end(p, s, p->i, false);
	if (peek(p)->kind == TK_LBRACE)
		skip_block(p);
}

static int add_stmt(struct parser *p, struct pstmt *s)
{
	struct ptree *t = p->t;
	if (t->nstmts == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct pstmt **v = arena_grow(p->a, t->stmts, t->nstmts, cap, sizeof *v);
		if (!v)
			return -1;
		t->stmts = v;
		t->cap = cap;
	}
	t->stmts[t->nstmts++] = s;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > NAME_MAX_LEN || s[0] == '-' || strchr(s, ','))
		return false;
	return true;
}

static int parse_body(struct parser *p, struct pstmt *s, const struct token *open, int depth);

/* Which statements take this word as a parameter, for "X is a parameter of Y". */
static const char *owner_of(const char *param)
{
	for (size_t i = 0; i < policy_nstmts; i++)
		if (schema_param(&policy_stmts[i], param))
			return policy_stmts[i].name;
	return NULL;
}

static void unknown_param(struct parser *p, const struct pstmt *s, const struct token *kw)
{
	const char *why = schema_zos_only_param(s->ss->name, kw->text);
	if (why) {
		diag_error(p->d, kw->pos, NULL, "%s: '%s' is a z/OS parameter attls does not support: %s",
			   s->ss->name, kw->text, why);
		return;
	}
	const char *close = str_closest_in(kw->text, s->ss->params, s->ss->nparams,
					   sizeof s->ss->params[0]);
	char hint[256];
	if (close) {
		snprintf(hint, sizeof hint, "did you mean '%s'?", close);
	} else {
		const char *owner = owner_of(kw->text);
		const struct stmt_schema *as_stmt = schema_stmt(kw->text);
		if (owner)
			snprintf(hint, sizeof hint, "'%s' belongs in %s", kw->text, owner);
		else if (as_stmt)
			snprintf(hint, sizeof hint, "%s statements cannot appear inside %s",
				 as_stmt->name, s->ss->name);
		else
			snprintf(hint, sizeof hint, "see docs/policy-reference.md for the parameters of %s",
				 s->ss->name);
	}
	diag_error(p->d, kw->pos, hint, "unknown parameter '%s' in %s", kw->text, s->ss->name);
}

/* After the keyword of an inline statement: optional name, then '{' on the
 * same line or the next. Without a block the parameter stays, marked
 * invalid, so the statement is not also reported as missing it. */
static int parse_inline(struct parser *p, struct pstmt *parent, struct pparam *pp,
			const struct token *kw, int depth)
{
	const struct stmt_schema *ss = schema_stmt(pp->ps->target);
	struct pstmt *s = arena_alloc(p->a, sizeof *s);
	if (!s)
		return -1;
	s->ss = ss;
	s->pos = kw->pos;
	s->parent = parent;
	const struct token *nm = NULL;
	if (peek(p)->kind == TK_WORD || peek(p)->kind == TK_STRING) {
		nm = next(p);
		s->name = nm->text;
		s->named = true;
	} else {
		size_t k = 0;
		for (size_t i = 0; i < parent->nparams; i++)
			if (parent->params[i].ps == pp->ps)
				k++;
		/* pp is already among the parent's parameters, so k counts it. */
		char num[24], *d = num + sizeof num;
		*--d = '\0';
		do
			*--d = (char)('0' + k % 10);
		while ((k /= 10) != 0);
		s->name = arena_concat(p->a, pstmt_name(parent), ".", ss->name, "#", d, NULL);
		if (!s->name)
			return -1;
	}
	pp->text = s->name;
	size_t after = p->i;
	skip_newlines(p);
	const struct token *open = peek(p);
	if (open->kind != TK_LBRACE) {
		/* "TTLSKeyringParms kr" is nearly always a forgotten "Ref". */
		char hint[160];
		if (nm)
			snprintf(hint, sizeof hint, "to use the %s named %s, write: %sRef %s",
				 ss->name, nm->text, ss->name, nm->text);
		else
			snprintf(hint, sizeof hint, "write: %s { ... }, or %sRef NAME", ss->name, ss->name);
		diag_error(p->d, kw->pos, hint, "%s%s%s needs a '{ ... }' block", ss->name,
			   nm ? " " : "", nm ? nm->text : "");
		/* Resume on the keyword's own line; a later line is the next parameter. */
		p->i = after;
		skip_param_value(p, parent);
		pp->invalid = true;
		return 1;
	}
	if (nm && !valid_name(nm->text))
		diag_error(p->d, nm->pos, "names are 1 to 32 characters, not starting with '-', "
			   "without ','", "'%s' is not a valid name", nm->text);
	next(p);
	if (add_stmt(p, s))
		return -1;
	pp->v.inl = s;
	return parse_body(p, s, open, depth + 1);
}

static struct pparam *new_param(struct parser *p, struct pstmt *s, int depth)
{
	struct scratch *sc = &p->scratch[depth];
	if (s->nparams == sc->cap) {
		size_t c = sc->cap ? sc->cap * 2 : 16;
		struct pparam *v = c <= SIZE_MAX / sizeof *v ? realloc(sc->v, c * sizeof *v) : NULL;
		if (!v)
			return NULL;
		sc->v = v;
		sc->cap = c;
	}
	s->params = sc->v;
	struct pparam *pp = &s->params[s->nparams];
	memset(pp, 0, sizeof *pp);
	return pp;
}

static int parse_params(struct parser *p, struct pstmt *s, const struct token *open, int depth);

/* Parameter lines until the closing brace, kept in the arena at their count
 * (growing them there by doubling would leave every smaller copy behind). */
static int parse_body(struct parser *p, struct pstmt *s, const struct token *open, int depth)
{
	int rc = parse_params(p, s, open, depth);
	if (s->nparams) {
		struct pparam *v = arena_array(p->a, s->nparams, sizeof *v);
		if (!v) {
			s->params = NULL;
			s->nparams = 0;
			return -1;
		}
		memcpy(v, s->params, s->nparams * sizeof *v);
		s->params = v;
	} else {
		s->params = NULL;
	}
	return rc;
}

static int parse_params(struct parser *p, struct pstmt *s, const struct token *open, int depth)
{
	if (depth > MAX_DEPTH) {
		diag_error(p->d, open->pos, NULL, "statements are nested too deeply");
		p->i--;
		skip_block(p);
		return 1;
	}
	int bad = 0;
	for (;;) {
		skip_newlines(p);
		const struct token *kw = peek(p);
		if (kw->kind == TK_RBRACE) {
			next(p);
			return bad;
		}
		if (kw->kind == TK_EOF) {
			char hint[128];
			snprintf(hint, sizeof hint, "add '}' to close the '{' at line %u", open->pos.line);
			diag_error(p->d, s->pos, hint, "%s %s is not closed", s->ss->name,
				   pstmt_name(s));
			return 1;
		}
		if (kw->kind != TK_WORD) {
			diag_error(p->d, kw->pos, "each line holds one parameter: KEYWORD VALUE",
				   "expected a parameter of %s, found '%s'", s->ss->name, kw->text);
			if (kw->kind == TK_LBRACE)
				skip_block(p);
			else
				next(p);
			bad = 1;
			continue;
		}
		const struct param_schema *ps = schema_param(s->ss, kw->text);
		if (!ps && starts_top_statement(p, p->i)) {
			char hint[128];
			snprintf(hint, sizeof hint, "add '}' before line %u to close the '{' at line %u",
				 kw->pos.line, open->pos.line);
			diag_error(p->d, s->pos, hint, "%s %s is not closed", s->ss->name,
				   pstmt_name(s));
			return 1;   /* the caller resumes at this statement */
		}
		next(p);
		if (!ps) {
			unknown_param(p, s, kw);
			skip_param_value(p, s);
			bad = 1;
			continue;
		}
		if (ps->flags & PF_UNSUPPORTED) {
			diag_error(p->d, kw->pos, NULL, "%s: %s in attls", ps->name, ps->doc);
			skip_param_value(p, s);
			bad = 1;
			continue;
		}
		struct pparam *pp = new_param(p, s, depth);
		if (!pp)
			return -1;
		pp->ps = ps;
		pp->pos = kw->pos;
		if (ps->kind == VK_INLINE) {
			s->nparams++;
			int rc = parse_inline(p, s, pp, kw, depth);
			if (rc < 0)
				return -1;
			bad |= rc;
			continue;
		}
		size_t first = p->i;
		p->i = value_end(p, s, first, true);
		size_t nvals = p->i - first, used = 0;
		int rc = pvalue_parse(p->a, pp, &p->tok[first], nvals, &used, p->d);
		if (rc < 0)
			return -1;
		if (rc == 0 && used < nvals) {
			const struct token *extra = &p->tok[first + used];
			if (extra->kind == TK_WORD && (owner_of(extra->text) || schema_stmt(extra->text) ||
						       schema_zos_only_param(s->ss->name, extra->text))) {
				/* A keyword of another statement after a value is a
				 * misplaced parameter, not a comment. */
				unknown_param(p, s, extra);
				bad = 1;
			} else {
				/* z/OS ignores words after the value; say so, since it
				 * is usually a slip. */
				diag_warn(p->d, extra->pos, "start comments with '#'",
					  "%s: ignoring '%s' after the value (z/OS ignores it too)",
					  ps->name, extra->text);
			}
		}
		pp->invalid = rc != 0;
		bad |= rc;
		s->nparams++;
		if (peek(p)->kind == TK_LBRACE) {
			char hint[128];
			snprintf(hint, sizeof hint, "%s takes a value, not a block", ps->name);
			diag_error(p->d, peek(p)->pos, hint, "unexpected '{' after %s", ps->name);
			skip_block(p);
			bad = 1;
		}
	}
}

static void unknown_statement(struct parser *p, const struct token *kw)
{
	const char *owner = owner_of(kw->text);
	char hint[256];
	const char *close = str_closest_in(kw->text, policy_stmts, policy_nstmts,
					   sizeof policy_stmts[0]);
	if (close)
		snprintf(hint, sizeof hint, "did you mean '%s'?", close);
	else if (owner)
		snprintf(hint, sizeof hint, "'%s' is a parameter: put it inside a %s { } block",
			 kw->text, owner);
	else
		snprintf(hint, sizeof hint, "see docs/policy-reference.md for the statements");
	if (owner && !close)
		diag_error(p->d, kw->pos, hint, "'%s' cannot stand outside a statement", kw->text);
	else
		diag_error(p->d, kw->pos, hint, "unknown statement '%s'", kw->text);
}

/* Skip the rest of a bad top-level statement: its name and its block. */
static void skip_statement(struct parser *p)
{
	while (peek(p)->kind == TK_WORD || peek(p)->kind == TK_STRING)
		next(p);
	skip_newlines(p);
	if (peek(p)->kind == TK_LBRACE)
		skip_block(p);
	else
		skip_line(p);
}

static int parse_statement(struct parser *p)
{
	const struct token *kw = next(p);
	if (kw->kind != TK_WORD) {
		diag_error(p->d, kw->pos, "a statement starts with its type, e.g. TTLSRule NAME {",
			   "expected a statement, found '%s'", kw->text);
		if (kw->kind == TK_LBRACE) {
			p->i--;
			skip_block(p);
		}
		return 1;
	}
	const struct stmt_schema *ss = schema_stmt(kw->text);
	if (!ss) {
		unknown_statement(p, kw);
		skip_statement(p);
		return 1;
	}
	if (ss->flags & SF_UNSUPPORTED) {
		diag_error(p->d, kw->pos, NULL, "%s is a z/OS statement attls does not support: %s",
			   ss->name, ss->why_unsupported);
		skip_statement(p);
		return 1;
	}
	if (!(ss->flags & SF_GLOBAL)) {
		diag_error(p->d, kw->pos, NULL, "%s can only appear inside another statement", ss->name);
		skip_statement(p);
		return 1;
	}
	struct pstmt *s = arena_alloc(p->a, sizeof *s);
	if (!s)
		return -1;
	s->ss = ss;
	s->pos = kw->pos;
	const struct token *t = peek(p);
	int bad = 0;
	if (ss->flags & SF_UNNAMED) {
		s->name = ss->name;
		if (t->kind == TK_WORD || t->kind == TK_STRING) {
			diag_error(p->d, t->pos, "remove the name", "%s takes no name", ss->name);
			next(p);
			bad = 1;
		}
	} else if (t->kind == TK_WORD || t->kind == TK_STRING) {
		next(p);
		if (!valid_name(t->text)) {
			diag_error(p->d, t->pos, "names are 1 to 32 characters, not starting with '-', "
				   "without ','", "'%s' is not a valid name", t->text);
			bad = 1;
		}
		s->name = t->text;
		s->named = true;
	} else {
		char hint[128];
		snprintf(hint, sizeof hint, "write: %s NAME {", ss->name);
		diag_error(p->d, t->pos, hint, "%s needs a name", ss->name);
		s->name = arena_printf(p->a, "%s@%u", ss->name, kw->pos.line);
		if (!s->name)
			return -1;
		bad = 1;
	}
	skip_newlines(p);
	const struct token *open = peek(p);
	if (open->kind != TK_LBRACE) {
		diag_error(p->d, open->pos, "the parameters go between '{' and '}'",
			   "expected '{' after %s %s, found '%s'", ss->name, s->name,
			   open->kind == TK_EOF ? "end of file" : open->text);
		skip_line(p);
		return 1;
	}
	next(p);
	if (add_stmt(p, s))
		return -1;
	int rc = parse_body(p, s, open, 1);
	if (rc < 0)
		return -1;
	return bad | rc;
}

/* ---- name table ---------------------------------------------------------- */

struct name_slot {
	const struct stmt_schema *ss;
	const char *name;
	struct pstmt *s;
};

static size_t name_hash(const struct stmt_schema *ss, const char *name)
{
	size_t h = (size_t)(ss - policy_stmts) * 0x9e3779b97f4a7c15ull;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = (h ^ *c) * 0x100000001b3ull;
	return h;
}

static int names_build(struct ptree *t, struct diags *d)
{
	size_t want = 64;
	while (want < t->nstmts * 2)
		want *= 2;
	t->names = arena_array(t->a, want, sizeof *t->names);
	if (!t->names)
		return -1;
	t->nslots = want;
	struct pstmt *singleton[64] = { 0 };
	for (size_t i = 0; i < t->nstmts; i++) {
		struct pstmt *s = t->stmts[i];
		if (s->parent)
			continue;
		if (s->ss->flags & SF_SINGLETON) {
			size_t k = (size_t)(s->ss - policy_stmts);
			if (k < 64 && singleton[k]) {
				char hint[96];
				snprintf(hint, sizeof hint, "the %s at line %u is ignored", s->ss->name,
					 singleton[k]->pos.line);
				diag_warn(d, s->pos, hint, "%s appears more than once; the last one is used "
					  "(as on z/OS)", s->ss->name);
				singleton[k]->replaced = true;
			}
			if (k < 64)
				singleton[k] = s;
			continue;
		}
		if (!s->named)
			continue;
		size_t h = name_hash(s->ss, s->name) & (t->nslots - 1);
		for (;;) {
			struct name_slot *sl = &t->names[h];
			if (!sl->s) {
				*sl = (struct name_slot){ s->ss, s->name, s };
				t->nnames++;
				break;
			}
			if (sl->ss == s->ss && strcmp(sl->name, s->name) == 0) {
				char hint[96];
				snprintf(hint, sizeof hint, "the first %s %s is at line %u", s->ss->name,
					 s->name, sl->s->pos.line);
				diag_error(d, s->pos, hint, "duplicate %s name '%s'", s->ss->name, s->name);
				break;
			}
			h = (h + 1) & (t->nslots - 1);
		}
	}
	return 0;
}

struct pstmt *ptree_find(const struct ptree *t, const struct stmt_schema *ss, const char *name)
{
	if (!t->nslots)
		return NULL;
	size_t h = name_hash(ss, name) & (t->nslots - 1);
	for (;;) {
		const struct name_slot *sl = &t->names[h];
		if (!sl->s)
			return NULL;
		if (sl->ss == ss && strcmp(sl->name, name) == 0)
			return sl->s;
		h = (h + 1) & (t->nslots - 1);
	}
}

/* "a" or "an" before a statement type: an IpAddrSet, a TTLSRule. */
static const char *article(const char *type)
{
	return strchr("AEIOUaeiou", type[0]) ? "an" : "a";
}

static void resolve_one(struct ptree *t, struct pparam *pp, struct diags *d)
{
	const struct stmt_schema *target = schema_stmt(pp->ps->target);
	struct pstmt *s = ptree_find(t, target, pp->v.ref.name);
	if (s) {
		pp->v.ref.target = s;
		s->uses++;
		return;
	}
	/* Wrong type, wrong case, or a near miss among names of the right type. */
	for (size_t i = 0; i < t->nstmts; i++) {
		const struct pstmt *o = t->stmts[i];
		if (!o->named || o->parent)
			continue;
		if (strcmp(o->name, pp->v.ref.name) == 0) {
			char hint[160];
			snprintf(hint, sizeof hint, "%s is %s %s (line %u); %s needs %s %s", o->name,
				 article(o->ss->name), o->ss->name, o->pos.line, pp->ps->name,
				 article(target->name), target->name);
			diag_error(d, pp->vpos, hint, "%s '%s' is not %s %s", pp->ps->name,
				   pp->v.ref.name, article(target->name), target->name);
			return;
		}
	}
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < t->nstmts; i++) {
		const struct pstmt *o = t->stmts[i];
		if (o->ss != target || !o->named || o->parent)
			continue;
		size_t dist = strcasecmp(o->name, pp->v.ref.name) == 0 ? 0 :
			      str_edit_distance(o->name, pp->v.ref.name, 2) + 1;
		if (dist < best_d) {
			best_d = dist;
			best = o->name;
		}
	}
	char hint[160];
	if (best)
		snprintf(hint, sizeof hint, "did you mean '%s'? (names are case-sensitive)", best);
	else
		snprintf(hint, sizeof hint, "define it: %s %s { ... }", target->name, pp->v.ref.name);
	diag_error(d, pp->vpos, hint, "%s '%s' is not defined", target->name, pp->v.ref.name);
}

void ptree_resolve(struct ptree *t, struct diags *d)
{
	for (size_t i = 0; i < t->nstmts; i++) {
		struct pstmt *s = t->stmts[i];
		for (size_t k = 0; k < s->nparams; k++)
			if (s->params[k].ps->kind == VK_REF && !s->params[k].invalid)
				resolve_one(t, &s->params[k], d);
	}
}

int ptree_parse(struct ptree *t, struct arena *a, const char *file, const char *buf,
		size_t len, struct diags *d)
{
	memset(t, 0, sizeof *t);
	t->a = a;
	t->file = arena_strdup(a, file);
	if (!t->file)
		return -1;
	struct token *toks;
	size_t ntoks;
	if (lex_buffer(a, t->file, buf, len, &toks, &ntoks, d))
		return -1;
	struct parser p = { .t = t, .a = a, .tok = toks, .n = ntoks, .d = d };
	int rc = 0;
	for (;;) {
		skip_newlines(&p);
		const struct token *tk = peek(&p);
		if (tk->kind == TK_EOF)
			break;
		if (tk->kind == TK_RBRACE) {
			diag_error(d, tk->pos, "remove it, or check the '{' above",
				   "'}' without a matching '{'");
			next(&p);
			continue;
		}
		if (parse_statement(&p) < 0) {
			rc = -1;
			break;
		}
	}
	free(toks);
	for (int i = 0; i <= MAX_DEPTH; i++)
		free(p.scratch[i].v);
	return rc ? rc : names_build(t, d);
}

/* ---- access -------------------------------------------------------------- */

/* Keyword equality without case, in ASCII as schema_param compares; most
 * pairs differ in their first bytes, so the loop is the fast path. */
static bool keyword_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x != y) {
			if (x >= 'A' && x <= 'Z')
				x |= 0x20;
			if (y >= 'A' && y <= 'Z')
				y |= 0x20;
			if (x != y)
				return false;
		}
		if (!x)
			return true;
	}
}

const struct pparam *pstmt_given(const struct pstmt *s, const char *name)
{
	for (size_t i = 0; s && i < s->nparams; i++)
		if (keyword_eq(s->params[i].ps->name, name))
			return &s->params[i];
	return NULL;
}

const struct pparam *pstmt_param(const struct pstmt *s, const char *name)
{
	for (size_t i = 0; s && i < s->nparams; i++)
		if (!s->params[i].invalid && keyword_eq(s->params[i].ps->name, name))
			return &s->params[i];
	return NULL;
}

size_t pstmt_count(const struct pstmt *s, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; s && i < s->nparams; i++)
		if (!s->params[i].invalid && keyword_eq(s->params[i].ps->name, name))
			n++;
	return n;
}

const struct pstmt *pstmt_sub(const struct pstmt *s, const char *stmt_type)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->nparams; i++) {
		const struct pparam *pp = &s->params[i];
		if (pp->invalid || !pp->ps->target || !keyword_eq(pp->ps->target, stmt_type))
			continue;
		if (pp->ps->kind == VK_INLINE)
			return pp->v.inl;
		if (pp->ps->kind == VK_REF && pp->v.ref.target)
			return pp->v.ref.target;
	}
	return NULL;
}

const char *pstmt_name(const struct pstmt *s)
{
	return s->name ? s->name : s->ss->name;
}
