/*
 * policy/tree — the parsed form of a policy file: statements with their
 * parameters and typed values, references resolved to their targets, and the
 * name table. Built by the parser, checked by validate, read by the models.
 * Everything lives in the snapshot's arena.
 */
#ifndef ATTLS_POLICY_TREE_H
#define ATTLS_POLICY_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/addr.h"
#include "policy/diag.h"
#include "policy/schema.h"

struct arena;
struct pstmt;

struct port_range {
	uint16_t lo, hi;      /* 0-65535 = any */
};

/* The typed value of one parameter line. Which member is valid follows the
 * parameter's schema kind. */
union pvalue {
	bool b;                                   /* VK_ONOFF, VK_YESNO */
	int e;                                    /* VK_ENUM: index into enums */
	int64_t i;                                /* VK_INT */
	const char *s;                            /* VK_STRING */
	struct ip_range range;                    /* VK_ADDR, VK_HOST, VK_PREFIX, VK_IPRANGE */
	struct port_range ports;                  /* VK_PORTS */
	struct { const char *name; struct pstmt *target; } ref;   /* VK_REF */
	struct pstmt *inl;                        /* VK_INLINE */
	struct { uint16_t *codes; size_t n; } ciphers;            /* VK_CIPHER2/4 */
	struct { bool none; int64_t lo, hi; } life;               /* VK_LIFE* */
	struct { int alg; int keylen; } enc;                      /* VK_ENCRYPT */
	struct { int proto; int alg; } auth;                      /* VK_AUTH */
	struct { int form; const uint8_t *bytes; size_t len; } key; /* VK_SHAREDKEY */
	struct {                                  /* VK_IDENTITY */
		int type;                         /* IDT_* */
		const char *value;                /* text form (FQDN, DN, ...) */
		const uint8_t *bytes;             /* KeyID bytes, DN DER is built by iked */
		size_t len;
		struct ip_range range;            /* IpAddr identities */
	} ident;
	struct { int any_family; struct ip_range range; } loc;   /* VK_LOCATION: AF_UNSPEC/AF_INET/AF_INET6 for Any* */
	int proto;                                /* VK_PROTOCOL: 0-255, -1 = All */
	struct { int dir; int conn; } svcdir;     /* VK_SVCDIR */
	int group;                                /* VK_DHGROUP: 0 = None */
};

struct pparam {
	const struct param_schema *ps;
	struct srcpos pos;        /* the keyword */
	struct srcpos vpos;       /* the first value */
	const char *text;         /* the value as written (tokens joined by one space) */
	bool invalid;             /* the value did not parse: counts as given, has no value */
	union pvalue v;
};

struct pstmt {
	const struct stmt_schema *ss;
	const char *name;         /* for unnamed inline statements: "PARENT.Keyword#N" */
	bool named;               /* written with a name */
	struct srcpos pos;        /* the statement keyword */
	struct pstmt *parent;     /* enclosing statement of an inline one */
	struct pparam *params;
	size_t nparams;
	unsigned uses;            /* references to it */
	bool replaced;            /* a singleton replaced by a later one */
	void *model;              /* the typed object built from it */
};

struct name_slot;

struct ptree {
	struct arena *a;
	const char *file;
	const char *dir;          /* base of relative file names in the policy (see
	                           * policy_resolve_path); NULL = the working directory */
	struct pstmt **stmts;     /* every statement, inline ones too, in file order */
	size_t nstmts, cap;
	struct name_slot *names;  /* (type, name) -> global statement */
	size_t nslots, nnames;
};

/* Parse one policy buffer into t (allocated from a). Errors go to d. Returns 0,
 * or -1 when memory ran out (d then says so). */
int ptree_parse(struct ptree *t, struct arena *a, const char *file, const char *buf,
		size_t len, struct diags *d);

/* Look up a global statement by type and exact (case-sensitive) name. */
struct pstmt *ptree_find(const struct ptree *t, const struct stmt_schema *ss, const char *name);
/* Resolve every VK_REF, reporting unknown names and wrong types. */
void ptree_resolve(struct ptree *t, struct diags *d);

/* Parameter access for validation and model building; invalid values are
 * skipped, except by pstmt_given. */
const struct pparam *pstmt_param(const struct pstmt *s, const char *name);
const struct pparam *pstmt_given(const struct pstmt *s, const char *name);
size_t pstmt_count(const struct pstmt *s, const char *name);
/* The statement named by an inline or Ref parameter pair, e.g. ("TTLSKeyringParms")
 * finds either "TTLSKeyringParms { }" or "TTLSKeyringParmsRef x". */
const struct pstmt *pstmt_sub(const struct pstmt *s, const char *stmt_type);
/* A display name: the statement's name, or its generated name. */
const char *pstmt_name(const struct pstmt *s);

/* Value parsing (values.c): fill p->v from the value tokens. *used is set to
 * how many tokens the value's form took. Returns 0, 1 on a reported error, or
 * -1 on ENOMEM. */
struct token;
int pvalue_parse(struct arena *a, struct pparam *p, const struct token *toks, size_t n,
		 size_t *used, struct diags *d);

#endif
