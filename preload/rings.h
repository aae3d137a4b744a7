/*
 * preload/rings — the shim's key rings: a rule's Keyring (and stash file) into
 * GnuTLS credentials (common/ring), read through copies of the files that the
 * process keeps. A process that read a ring while it could (as root, before
 * dropping privileges) goes on using that copy once the file cannot be read
 * any more, so a policy reload after the drop keeps its connections working;
 * one log line says so, and whether the file changed since. Callers
 * serialize (preload/tls calls these under its context lock).
 */
#ifndef ATTLS_PRELOAD_RINGS_H
#define ATTLS_PRELOAD_RINGS_H

#include <gnutls/gnutls.h>

#include "common/ring.h"

struct attls_settings;
struct policy;

/* s's key ring as an endpoint in role needs it, into cred. Returns 0, or -1
 * with err set. */
int rings_load(gnutls_certificate_credentials_t cred, const struct attls_settings *s, int role,
	       struct ring_info *info, char *err, size_t errlen);
/* Forget the copies of files no rule of p names. */
void rings_keep_named(const struct policy *p);
/* Forget every copy (tests). */
void rings_forget_all(void);

#endif
