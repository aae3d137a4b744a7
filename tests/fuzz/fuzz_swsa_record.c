/*
 * libFuzzer target for the SWSA record decoder: the text every node reads
 * back from the shared store, where anyone with access may have written
 * anything. A record that decodes must encode again, and that text must
 * decode to the same record and encode to the same text (the form is
 * canonical), so nothing a decoder accepts is lost or changed on the way
 * through a node.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iked/swsa_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct swsa_record r, again;
	char err[200];
	if (swsa_record_decode((const char *)data, size, &r, err, sizeof err))
		return 0;
	char *t1, *t2;
	size_t n1, n2;
	if (swsa_record_encode(&r, &t1, &n1))
		abort();
	if (swsa_record_decode(t1, n1, &again, err, sizeof err))
		abort();
	if (swsa_record_encode(&again, &t2, &n2))
		abort();
	if (n1 != n2 || memcmp(t1, t2, n1) != 0)
		abort();
	free(t1);
	free(t2);
	return 0;
}
