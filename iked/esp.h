/*
 * iked/esp — ESP (RFC 4303) for the userspace data path: one SA's keys and
 * state, and sealing or opening one packet in place. No I/O, and nothing
 * is allocated after esp_sa_init.
 *
 * Transforms: AES-CBC 128/256 (RFC 3602) with HMAC-SHA1-96 (RFC 2404) or
 * HMAC-SHA2-256-128/384-192/512-256 (RFC 4868), and AES-GCM 128/256 with a
 * 16-byte ICV (RFC 4106), all from nettle. Keys come as the xfrm backend
 * gets them (struct kernel_sa): enc_key is the AES key, for GCM followed by
 * the 4-byte salt; auth_key is the HMAC key. Tunnel and transport mode
 * differ only in what the payload is (an IP packet, next header 4 or 41;
 * or an upper-layer payload) and are the caller's business beyond that.
 *
 * Outbound: sequence numbers start at 1 and never wrap; once 2^32-1 has
 * been used the SA refuses to seal (ESP_DROP_SEQ_EXHAUSTED) and
 * esp_seq_left() lets the caller ask for a new SA in time. CBC IVs are
 * AES, under a random key of the SA's own, of the sequence number: unique
 * and unpredictable without a system call per packet. GCM's explicit IV is
 * the sequence number.
 *
 * Inbound: the anti-replay window (RFC 4303 3.4.3, ESP_REPLAY_WINDOW
 * packets) is checked before the ICV and moved only after it matches; the
 * ICV is checked before anything is decrypted (GCM: in nettle's one pass,
 * and nothing decrypted is used unless the tag matches); padding must be
 * 1, 2, 3, ... and the next header possible. A packet that fails is
 * counted against the SA and its reason returned.
 *
 * An SA is used by one thread at a time (the data path's inbound thread
 * or its outbound thread); its counters may be read from any thread.
 */
#ifndef ATTLS_IKED_ESP_H
#define ATTLS_IKED_ESP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/aes.h>
#include <nettle/gcm.h>
#include <nettle/hmac.h>
#include <nettle/nettle-meta.h>

#include "iked/kernel.h"

#define ESP_HDR_LEN        8           /* SPI, sequence number */
#define ESP_MAX_IV         16
#define ESP_MAX_ICV        32
#define ESP_MAX_PAD        15
/* Room a caller leaves before and after a payload it seals. */
#define ESP_HEADROOM       (ESP_HDR_LEN + ESP_MAX_IV)
#define ESP_TAILROOM       (ESP_MAX_PAD + 2 + ESP_MAX_ICV)
#define ESP_REPLAY_WINDOW  1024        /* packets; a multiple of 64 */

/* Why a packet was not sealed or opened; the data path counts each. */
enum esp_result {
	ESP_OK,
	ESP_DROP_MALFORMED,       /* lengths that do not fit, inner packet not IP */
	ESP_DROP_PADDING,         /* padding not 1, 2, 3...; next header impossible */
	ESP_DROP_REPLAY,          /* seen already, or older than the window */
	ESP_DROP_INTEGRITY,       /* ICV mismatch */
	ESP_DROP_UNKNOWN_SPI,     /* no inbound SA with that SPI (caller) */
	ESP_DROP_SELECTOR,        /* opened, but outside the SA's selectors (caller) */
	ESP_DROP_NO_SA,           /* outbound: no SA covers the packet (caller) */
	ESP_DROP_SEQ_EXHAUSTED,   /* outbound: every sequence number used */
	ESP_DROP_EXPIRED,         /* the SA reached its hard limit (caller) */
	ESP_DROP_IO,              /* the packet could not be sent or written (caller) */
	ESP_NRESULTS
};

const char *esp_result_name(int r);

/* Counters of one SA (its direction's traffic). Written by the one thread
 * that uses the SA, read anywhere. */
struct esp_stats {
	_Atomic uint64_t bytes;           /* payload bytes (the clear packets) */
	_Atomic uint64_t packets;
	_Atomic uint64_t replay;          /* inbound drops by reason */
	_Atomic uint64_t integrity;
	_Atomic uint64_t malformed;       /* malformed and padding */
};

enum { ESP_ENC_CBC, ESP_ENC_GCM };

struct esp_sa {
	uint32_t spi;
	bool inbound;
	int mode;                         /* ENCAP_TUNNEL or ENCAP_TRANSPORT */
	int enc;                          /* ESP_ENC_* */
	size_t iv_len, icv_len, align;    /* payload+trailer multiple of align */
	union {
		struct aes128_ctx a128;
		struct aes256_ctx a256;
	} aes;                            /* the key schedule: decrypting for an inbound
					   * CBC SA, else encrypting */
	nettle_cipher_func *aes_fn;       /* what uses it */
	bool aes256;
	struct aes128_ctx ivgen;          /* CBC outbound: IV = AES(ivgen, seq) */
	struct gcm_key gkey;              /* GCM: the hash key */
	struct gcm_ctx gctx;              /* GCM: one packet's state */
	uint8_t salt[4];
	const struct nettle_mac *mac;     /* CBC: the HMAC */
	union {
		struct hmac_sha1_ctx sha1;
		struct hmac_sha256_ctx sha256;
		struct hmac_sha512_ctx sha512;  /* also SHA-384 */
	} hmac;
	uint64_t seq;                     /* outbound: the last number used */
	uint32_t top;                     /* inbound: highest number accepted */
	uint64_t window[ESP_REPLAY_WINDOW / 64];   /* bit (n % WINDOW): n seen */
	struct esp_stats st;
};

/* Set up sa from what iked negotiated. 0, or -1 with err filled (an
 * algorithm or a key length this module does not do). */
int esp_sa_init(struct esp_sa *sa, const struct kernel_sa *ks, char *err, size_t errlen);
/* Wipe the keys. */
void esp_sa_wipe(struct esp_sa *sa);

/* Bytes ESP adds around a payload of len bytes (header, IV, padding,
 * trailer, ICV). */
size_t esp_overhead(const struct esp_sa *sa, size_t len);
/* Outbound: sequence numbers still unused. */
uint64_t esp_seq_left(const struct esp_sa *sa);

/* Seal the len bytes at p, of protocol next_header, into an ESP packet in
 * place: ESP_HEADROOM bytes before p and ESP_TAILROOM after p + len are the
 * caller's to give. ESP_OK with *out and *outlen (the packet starts at or
 * after p - ESP_HEADROOM), or ESP_DROP_SEQ_EXHAUSTED. */
int esp_seal(struct esp_sa *sa, uint8_t *p, size_t len, uint8_t next_header, uint8_t **out,
	     size_t *outlen);

/* What esp_seal does after writing the trailer: encrypt and authenticate
 * the clen bytes at p (payload, padding, pad length, next header; a
 * multiple of the block size) as they are. For tests and fuzzing, which
 * need authentic packets with any trailer. */
int esp_encrypt(struct esp_sa *sa, uint8_t *p, size_t clen, uint8_t **out, size_t *outlen);

/* The SPI of the ESP packet at p (len >= 4). */
uint32_t esp_spi(const uint8_t *p);

/* Open the ESP packet p[0..len) (from the SPI on) in place: ESP_OK with
 * *payload, *plen and *next_header (tunnel: the inner packet, trimmed to
 * its own IP length), or the reason it was dropped. */
int esp_open(struct esp_sa *sa, uint8_t *p, size_t len, uint8_t **payload, size_t *plen,
	     uint8_t *next_header);

#endif
