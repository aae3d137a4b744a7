/*
 * ctl/reference — the policy language reference, printed from the schema
 * (policy/schema.c): as Markdown, the generated part of
 * docs/policy-reference.md, and as mdoc, the STATEMENTS section of
 * attls.conf(5). One walk of the tables feeds both, so the two documents say
 * the same thing and neither can drift from what the parser accepts.
 */
#ifndef ATTLS_CTL_REFERENCE_H
#define ATTLS_CTL_REFERENCE_H

#include <stdio.h>

enum ref_format { REF_MARKDOWN, REF_MDOC };

void reference_print(FILE *out, enum ref_format fmt);

#endif
