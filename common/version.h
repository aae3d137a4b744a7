/*
 * common/version — the one version of attls, from the top-level VERSION file
 * (the Makefile passes it to common/version.c alone): what every program's
 * --version prints.
 */
#ifndef ATTLS_COMMON_VERSION_H
#define ATTLS_COMMON_VERSION_H

const char *attls_version(void);

#endif
