/* Fuzz target: record-boundary tracking for exact reads (preload/tls).
 * The first byte of each step picks how much GnuTLS asks for; the tracker must
 * never allow a read across a record boundary as an independent walk of the
 * same stream computes them. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "preload/conn.h"
#include "preload/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Offsets where records start or bodies start, from a plain walk. */
static bool is_boundary(const uint8_t *s, size_t n, size_t at)
{
	size_t off = 0;
	while (off < n) {
		if (at == off)
			return true;
		if (off + 5 > n)
			return at == n;
		size_t body = (size_t)s[off + 3] << 8 | s[off + 4];
		if (at == off + 5)
			return true;
		off += 5 + body;
	}
	return at == off || at == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* split: the first half drives request sizes, the rest is the stream */
	size_t nreq = size / 4 + 1;
	const uint8_t *req = data, *stream = data + nreq;
	size_t n = size - nreq;
	struct conn c;
	memset(&c, 0, sizeof c);
	c.exact_reads = true;
	size_t off = 0;
	for (size_t i = 0; off < n; i++) {
		size_t ask = 1 + req[i % nreq] * (1 + i % 7);
		size_t lim = tls_exact_limit(&c, ask);
		if (lim == 0 || lim > ask)
			__builtin_trap();
		if (off + lim > n)
			lim = n - off;
		/* no boundary strictly inside [off, off+lim) */
		for (size_t k = off + 1; k < off + lim; k++)
			if (is_boundary(stream, n, k))
				__builtin_trap();
		tls_exact_consumed(&c, stream + off, lim);
		off += lim;
	}
	return 0;
}
