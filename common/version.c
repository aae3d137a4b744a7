#include "common/version.h"

#ifndef ATTLS_VERSION
#error "ATTLS_VERSION comes from the top-level VERSION file (see the Makefile)"
#endif

const char *attls_version(void)
{
	return ATTLS_VERSION;
}
