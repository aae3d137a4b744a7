/* Fuzz target: the filter log's packet decoder (iked/filter_log) on
 * arbitrary headers. The first byte picks the family, the hook and the kind
 * of drop; the rest is the packet as NFLOG would have copied it. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "iked/filter_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum filter_log_kind kinds[] = { FLOG_DENY, FLOG_CLEAR, FLOG_IMPLICIT };
	uint8_t sel = data[0];
	struct filter_prefix p = { 1, 1, 1, kinds[(sel >> 2) % 3] };
	struct filter_log_rec rec = {
		.family = sel & 1 ? AF_INET6 : AF_INET,
		.pkt = data + 1,
		.len = size - 1,
		.indev = sel & 2 ? "eth0" : NULL,
		.outdev = sel & 0x10 ? "eth1" : NULL,
	};
	char out[1024];
	filter_log_line(&p, "rule", "vpn", &rec, out, sizeof out);
	if (strlen(out) >= sizeof out)
		__builtin_trap();
	/* a small buffer is never overrun either */
	char small[8];
	filter_log_line(&p, "rule", "vpn", &rec, small, sizeof small);
	if (strlen(small) >= sizeof small)
		__builtin_trap();
	return 0;
}
