/* Fuzz target: ClientHello sniffing (preload/sniff) on arbitrary first bytes. */
#include <stdint.h>
#include <string.h>

#include "preload/sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sni[256];
	enum sniff_result r = sniff_client_hello(data, size, sni, sizeof sni);
	if (r != SNIFF_MORE && r != SNIFF_NOT_TLS && r != SNIFF_TLS)
		__builtin_trap();
	if (strlen(sni) >= sizeof sni)
		__builtin_trap();
	/* A smaller name buffer must never be overrun either. */
	char small[4];
	sniff_client_hello(data, size, small, sizeof small);
	if (strlen(small) >= sizeof small)
		__builtin_trap();
	return 0;
}
