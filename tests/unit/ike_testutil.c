#include "tests/unit/ike_testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t hx_into(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v = nibble(*p);
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		ck_assert_msg(n < cap, "hex string longer than its buffer");
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	ck_assert_msg(hi < 0, "odd number of hex digits");
	return n;
}

const uint8_t *hx(const char *hex, size_t *len)
{
	static uint8_t ring[8][2048];
	static unsigned next;
	uint8_t *b = ring[next++ % 8];
	size_t n = hx_into(hex, b, sizeof ring[0]);
	if (len)
		*len = n;
	return b;
}

void ck_bytes_eq(const uint8_t *got, size_t n, const char *hex, const char *what)
{
	size_t wn;
	const uint8_t *want = hx(hex, &wn);
	if (wn == n && memcmp(got, want, n) == 0)
		return;
	char g[4100];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 3 < sizeof g; i++)
		k += (size_t)snprintf(g + k, sizeof g - k, "%02x", got[i]);
	g[k] = '\0';
	ck_abort_msg("%s differs:\n  got  %s (%zu bytes)\n  want %s (%zu bytes)", what, g, n, hex, wn);
}
