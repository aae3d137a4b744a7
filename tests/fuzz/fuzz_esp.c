/* libFuzzer target: the ESP decoder (iked/esp) and what the data path reads
 * in an opened packet (iked/ippkt, and iked/offload's coalescing, which
 * parses what a peer sent once it is authentic), and the TSO splitting of
 * what the TUN device hands over.
 *
 * Input: one control byte, then up to eight packets, each a 2-byte length
 * and its bytes. The control byte picks the transform (low 3 bits), the
 * mode (bit 3) and how packets are made (bit 4): as they are (forged
 * packets: lengths, SPI, replay and ICV checks) or, as clear text with any
 * trailer, encrypted and authenticated first under the same keys, so that
 * padding, next header and the inner packet are reached with anything in
 * them. All packets go to one inbound SA, so the replay window moves.
 * With bit 5, each packet is instead a virtio_net_hdr and a packet from the
 * device, split into segments. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iked/esp.h"
#include "iked/ippkt.h"
#include "iked/offload.h"
#include "policy/schema.h"

struct xform {
	int enc;
	size_t key_len;
	int auth;
	size_t auth_len;
	unsigned icv_bits;
};

static const struct xform xforms[8] = {
	{ ENC_AES_CBC, 16, AUTHALG_HMAC_SHA1, 20, 96 },
	{ ENC_AES_CBC, 16, AUTHALG_HMAC_SHA2_256_128, 32, 128 },
	{ ENC_AES_CBC, 32, AUTHALG_HMAC_SHA2_256_128, 32, 128 },
	{ ENC_AES_CBC, 16, AUTHALG_HMAC_SHA2_384_192, 48, 192 },
	{ ENC_AES_CBC, 32, AUTHALG_HMAC_SHA2_512_256, 64, 256 },
	{ ENC_AES_GCM_16, 16, AUTHALG_NULL, 0, 128 },
	{ ENC_AES_GCM_16, 32, AUTHALG_NULL, 0, 128 },
	{ ENC_AES_GCM_16, 16, AUTHALG_NULL, 0, 128 },
};

static int setup(struct esp_sa *sa, const struct xform *x, bool inbound, int mode)
{
	static const uint8_t key[36] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
					 31, 32, 33, 34, 35, 36 };
	static uint8_t akey[64];
	memset(akey, 0x5a, sizeof akey);
	struct kernel_sa ks;
	memset(&ks, 0, sizeof ks);
	ks.inbound = inbound;
	ks.spi = 0x4242;
	ks.mode = mode;
	ks.enc_alg = x->enc;
	ks.enc_key = key;
	ks.enc_key_len = x->key_len + (x->enc == ENC_AES_GCM_16 ? 4 : 0);
	ks.auth_alg = x->auth;
	ks.auth_key = akey;
	ks.auth_key_len = x->auth_len;
	ks.icv_bits = x->icv_bits;
	char err[128];
	return esp_sa_init(sa, &ks, err, sizeof err);
}

/* What the device hands over: a header the kernel wrote, then the packet. */
static void split(const uint8_t *p, size_t len)
{
	static uint8_t seg[2048];
	if (len < VNET_HDR_LEN)
		return;
	struct virtio_net_hdr h;
	vnet_hdr_read(p, &h);
	struct tso s;
	if (tso_init(&s, p + VNET_HDR_LEN, len - VNET_HDR_LEN, &h))
		return;
	for (int i = 0; i < 64 && tso_next(&s, seg, sizeof seg); i++)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct esp_sa in, out;
	static uint8_t buf[ESP_HEADROOM + 4096 + ESP_TAILROOM];
	static uint8_t grobuf[VNET_HDR_LEN + GSO_MAX_LEN];
	struct gro g = { .buf = grobuf };
	uint8_t *taken;
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	const struct xform *x = &xforms[ctl & 7];
	int mode = ctl & 8 ? ENCAP_TRANSPORT : ENCAP_TUNNEL;
	bool authentic = ctl & 0x10;
	if (setup(&in, x, true, mode) || setup(&out, x, false, mode))
		__builtin_trap();                    /* the setups above are valid */
	size_t off = 1;
	for (int n = 0; n < 8 && off + 2 <= size; n++) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		if (len > 4096)
			len = 4096;
		uint8_t *p = buf + ESP_HEADROOM, *pkt = p, *payload, nh;
		size_t plen, pktlen = len;
		memcpy(p, data + off, len);
		off += len;
		if (ctl & 0x20) {
			split(p, len);
			continue;
		}
		if (authentic) {
			len -= len % in.align;
			if (esp_encrypt(&out, p, len, &pkt, &pktlen) != ESP_OK)
				continue;
		}
		if (esp_open(&in, pkt, pktlen, &payload, &plen, &nh) != ESP_OK)
			continue;
		struct ip_flow f;
		if (mode == ENCAP_TUNNEL && ip_flow_parse(payload, plen, &f) == 0) {
			struct kernel_sel s;
			memset(&s, 0, sizeof s);
			(void)ip_flow_matches(&s, &f);
			if (!gro_add(&g, payload, f.total)) {
				gro_take(&g, &taken);
				gro_add(&g, payload, f.total);
			}
		}
	}
	gro_take(&g, &taken);
	esp_sa_wipe(&in);
	esp_sa_wipe(&out);
	return 0;
}
