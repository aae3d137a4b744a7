/*
 * iked/exchange — the interface between the parts of the IKEv1 engine (not
 * used outside iked/): the states (state.c), the SA database (sa.c), the
 * message layer (ikev1.c in, xmit.c out), the exchanges (phase1.c, quick.c,
 * info.c) and the SA lifecycle (lifecycle.c). Every function that can fail
 * returns 0 or -1 after logging.
 */
#ifndef ATTLS_IKED_EXCHANGE_H
#define ATTLS_IKED_EXCHANGE_H

#include "iked/iked.h"

/* The K tunnel number of a phase 1 SA for the log (0 before it has one). */
static inline unsigned kid(const struct p1sa *p1)
{
	return p1->kt ? p1->kt->id : 0;
}

/* ---- state.c ------------------------------------------------------------------ */

/* The one way an SA's state changes: the transition must be a step of its
 * machine (any state may end in DELETED; DELETED is final). Each change is
 * logged at debug level ("K3: MM_SA_SENT -> MM_KE_SENT"); an illegal one is
 * refused (logged too, the state unchanged) with -1. */
int p1_set_state(struct p1sa *p1, enum p1_state s);
int p2_set_state(struct p2sa *p2, enum p2_state s);
const char *p1_state_name(enum p1_state s);
const char *p2_state_name(enum p2_state s);

/* ---- sa.c ------------------------------------------------------------------ */

/* The store's constructors; the exchanges use p1_create and p2_create
 * (lifecycle.c), which give the new SA its timers. */
struct p1sa *p1_new(struct iked *ike, int role, int exch, const struct ikeaddr *local,
		    const struct ikeaddr *remote);
/* Take a phase 1 SA out of every list and lookup but its cookies, detach its
 * negotiations (established SA pairs outlive it), stop its timers. With a
 * last message to answer retransmissions with, it lingers linger_ms before
 * it goes on the reap list; otherwise it goes there at once. */
void p1_retire(struct p1sa *p1, uint64_t linger_ms);
struct p1sa *p1_find(struct iked *ike, const uint8_t *icky, const uint8_t *rcky);
/* An initiator SA still waiting for the responder cookie. */
struct p1sa *p1_find_initiating(struct iked *ike, const uint8_t *icky,
				const struct ikeaddr *remote);
/* A responder SA created by this initiator cookie from this peer (MM1/AM1
 * retransmissions). */
struct p1sa *p1_find_responder(struct iked *ike, const uint8_t *icky,
			       const struct ikeaddr *remote);
/* The newest established phase 1 SA with a peer address, or one in progress
 * (*negotiating set) when none is established. */
struct p1sa *p1_find_peer(struct iked *ike, const struct ip_addr *local,
			  const struct ip_addr *remote, bool *negotiating);
unsigned half_open_for_peer(struct iked *ike, const struct ip_addr *remote);
/* Hash an initiator SA by its own cookie; a responder SA by the peer's. */
void p1_hash_initiator(struct p1sa *p1);
void p1_set_icky(struct p1sa *p1, const uint8_t *icky);

struct ktunnel *ktunnel_get(struct iked *ike, const char *rule, const char *action,
			    const struct ikeaddr *local, const struct ikeaddr *remote);
struct ktunnel *ktunnel_by_id(struct iked *ike, unsigned id);
/* Unlink a tunnel (no SA left in it) onto the reap list; once only. */
void ktunnel_retire(struct iked *ike, struct ktunnel *kt);

struct ytunnel *ytunnel_get(struct iked *ike, const char *rule, const char *action,
			    const struct selector *lsel, const struct selector *rsel,
			    const struct ip_addr *local_ep, const struct ip_addr *peer);
struct ytunnel *ytunnel_by_id(struct iked *ike, unsigned id);
void ytunnel_retire(struct iked *ike, struct ytunnel *yt);

struct p2sa *p2_new(struct iked *ike, struct ytunnel *yt, struct p1sa *p1, int role);
/* Take an SA pair out of its phase 1 SA, its tunnel and the lookups, stop
 * its timers, put it on the reap list. */
void p2_retire(struct p2sa *p2);
struct p2sa *p2_find_msgid(struct p1sa *p1, uint32_t msgid);
/* An SA pair by the SPI the peer uses to send to us (our inbound SPI) or by
 * the SPI we send with (its inbound). */
struct p2sa *p2_find_spi_in(struct iked *ike, uint32_t spi);
struct p2sa *p2_find_spi_out(struct iked *ike, const struct ip_addr *peer, uint32_t spi);
/* A fresh inbound SPI not in use (>= 256). */
uint32_t spi_alloc(struct iked *ike);
/* Attach / detach a negotiating phase 2 to its phase 1 SA's list. */
void p2_attach(struct p2sa *p2, struct p1sa *p1);
void p2_detach(struct p2sa *p2);

/* Message IDs of exchanges under p1: used ones are remembered (a replay is
 * recognised), new ones are random and unused. */
bool mid_seen(struct p1sa *p1, uint32_t msgid);
void mid_remember(struct p1sa *p1, uint32_t msgid);
uint32_t msgid_new(struct p1sa *p1);

/* A turn: handling one input, timer run, kernel event or command. What it
 * retires is freed when the outermost turn ends, never under a caller. */
void sa_turn_begin(struct iked *ike);
void sa_turn_end(struct iked *ike);
/* Free every SA and tunnel, live, lingering or retired (iked_free). */
void sa_free_all(struct iked *ike);

/* SA cache keys */
void cache_key_k(char *buf, size_t len, const char *rule, const struct ip_addr *local,
		 const struct ip_addr *remote);
void cache_key_y(char *buf, size_t len, const char *rule, const struct selector *l,
		 const struct selector *r, const struct ip_addr *peer);

/* ---- xmit.c: the way out ------------------------------------------------------- */

void ike_send_raw(struct iked *ike, const struct ikeaddr *from, const struct ikeaddr *to,
		  bool natt, const uint8_t *pkt, size_t len);
/* Finish m (header length), send it from/to the SA's addresses and keep it in
 * x for retransmission (waiting: resend on a timer until a reply comes). */
int p1_send(struct p1sa *p1, struct msgb *m, struct xmit *x, bool waiting);
/* Build an encrypted message: header from hdr (already begun), body payloads
 * from body, encrypted with iv (updated to the last ciphertext block). The
 * finished packet is left in hdr. */
int ike_encrypt_into(struct p1sa *p1, struct msgb *hdr, struct msgb *body, uint8_t iv[16]);
void xmit_init(struct xmit *x, timer_fn *fn, void *arg);
void xmit_clear(struct iked *ike, struct xmit *x);
/* Retransmit after a timeout; returns false when the retries are used up. */
bool xmit_retry(struct p1sa *p1, struct xmit *x);
void xmit_resend(struct p1sa *p1, struct xmit *x);
/* Backoff of the n-th retransmission (ms). */
uint64_t xmit_backoff(struct iked *ike, unsigned tries);
/* How long a peer may take for all its retransmissions of one message (ms):
 * a bound for waiting on a peer that does not retransmit by our clock. */
uint64_t xmit_patience(struct iked *ike);
/* Protected phase 2 and informational bodies start with a HASH payload,
 * filled when the body is complete (HASH(1), or HASH(2) when ni is given:
 * ike_msg_hash). */
void hashed_body_begin(struct p1sa *p1, struct msgb *body);
int hashed_send(struct p1sa *p1, uint8_t exch, uint32_t msgid, uint8_t iv[16],
		struct msgb *body, const uint8_t *ni, size_t ni_len, struct xmit *x, bool waiting);

/* ---- ikev1.c: the way in ---------------------------------------------------------- */

bool hashed_verify(struct p1sa *p1, const struct msg *m, uint32_t msgid, const uint8_t *ni,
		   size_t ni_len);
/* The hash of a received packet, for duplicate detection. */
void packet_digest(const uint8_t *pkt, size_t len, uint8_t out[20]);
/* The message being processed proved to come from the peer: follow a NAT
 * mapping change to its source port (only after authentication:
 * docs/iked.md, NAT traversal) and count it as a sign of life for DPD. */
void p1_message_verified(struct p1sa *p1);

/* ---- phase1.c ----------------------------------------------------------------- */

/* What became of an input message: processed; ignored because it did not
 * verify (the SA is as before); or the SA is gone. */
enum { IN_OK, IN_IGNORED, IN_GONE };

/* Start Main or Aggressive Mode for a rule to a peer (refresh: a new
 * generation of kt). */
struct p1sa *p1_initiate(struct iked *ike, const struct ike_rule *rule, const struct ikeaddr *local,
			 const struct ikeaddr *remote, bool refresh, bool use_cache);
/* First message of a new exchange from a peer (MM1 or AM1). */
void p1_respond(struct iked *ike, const struct isakmp_hdr *h, const struct msg *m,
		const uint8_t *pkt, size_t len, const struct ikeaddr *local,
		const struct ikeaddr *remote, bool natt);
/* A phase 1 message for an existing SA, decrypted if it was encrypted. */
int p1_input(struct p1sa *p1, const struct msg *m, bool encrypted);
void p1_xmit_timeout(void *arg);

/* ---- quick.c ------------------------------------------------------------------- */

int qm_initiate(struct p2sa *p2);
void qm_input(struct p1sa *p1, struct p2sa *p2, const struct msg *m, uint32_t msgid,
	      const uint8_t iv_next[16]);
void qm_xmit_timeout(void *arg);
/* The quick mode IV for a new exchange under p1. */
int qm_iv(struct p1sa *p1, uint32_t msgid, uint8_t iv[16]);

/* ---- info.c ------------------------------------------------------------------- */

/* An informational message (encrypted: hash verified inside). */
void info_input(struct p1sa *p1, const struct msg *m, uint32_t msgid, bool encrypted);
/* Unprotected notify for phase 1 errors before keys exist. */
void notify_plain(struct iked *ike, const struct isakmp_hdr *h, const struct ikeaddr *local,
		  const struct ikeaddr *remote, bool natt, uint16_t type);
/* Add an N payload to m: about p1 itself (proto PROTO_ISAKMP, spi NULL: the
 * SPI is its cookies) or about the SA spi of protocol proto. */
void notify_add(struct msgb *m, const struct p1sa *p1, uint16_t type, uint8_t proto,
		const uint8_t *spi, size_t spi_size, const uint8_t *data, size_t dlen);
/* Protected notify under an established phase 1 SA. */
void notify_send(struct p1sa *p1, uint16_t type, uint8_t proto, const uint8_t *spi,
		 size_t spi_size, const uint8_t *data, size_t dlen);
void delete_send_p1(struct p1sa *p1);
void delete_send_p2(struct p1sa *p1, const struct p2sa *p2);
void dpd_arm(struct p1sa *p1);
void dpd_timeout(void *arg);
void keepalive_timeout(void *arg);

/* ---- lifecycle.c -------------------------------------------------------------- */

/* A new SA in the store with its timers and retransmission wired to the
 * exchanges and the lifecycle (NULL without memory). */
struct p1sa *p1_create(struct iked *ike, int role, int exch, const struct ikeaddr *local,
		       const struct ikeaddr *remote);
struct p2sa *p2_create(struct iked *ike, struct ytunnel *yt, struct p1sa *p1, int role);
void p1_established(struct p1sa *p1);
void p1_failed(struct p1sa *p1, const char *why);
void p1_delete(struct p1sa *p1, bool tell_peer, const char *why);
void p2_established(struct p2sa *p2);
void p2_failed(struct p2sa *p2, const char *why);
void p2_delete(struct p2sa *p2, bool tell_peer, const char *why);
/* Phase 1 to this peer is up: start the quick modes that waited for it. */
void start_waiting_quick_modes(struct iked *ike, struct p1sa *p1);
/* Remove every SA with a peer (DPD found it dead; or INITIAL-CONTACT). */
void peer_gone(struct iked *ike, const struct ip_addr *peer, struct p1sa *except,
	       const char *why);
/* The data path says an SA reached a limit (struct kernel_event; ctx is the
 * daemon): soft, refresh its tunnel as the timer would; hard, it expired. */
struct kernel_event;
void p2_kernel_event(void *ctx, const struct kernel_event *ev);
/* Where refreshes are placed: this percentage of the lifetime (and of the
 * lifesize), the side that negotiated the SA first. */
unsigned refresh_percent(int role);
void p1_refresh_timeout(void *arg);
void p1_expire_timeout(void *arg);
void p1_neg_timeout(void *arg);
void p2_refresh_timeout(void *arg);
void p2_expire_timeout(void *arg);
void p2_neg_timeout(void *arg);
/* Refresh a dynamic tunnel with a new quick mode (automatic or commanded). */
int ytunnel_refresh(struct iked *ike, struct ytunnel *yt, bool use_cache, char *err,
		    size_t errlen);
int ktunnel_refresh(struct iked *ike, struct ktunnel *kt, bool use_cache, char *err,
		    size_t errlen);
int ytunnel_activate(struct iked *ike, const char *rule, char *out, size_t outlen);
void ktunnel_deactivate(struct iked *ike, struct ktunnel *kt, const char *why);
void ytunnel_deactivate(struct iked *ike, struct ytunnel *yt, const char *why);

#endif
