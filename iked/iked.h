/*
 * iked/iked — the daemon's shared types: the daemon itself (struct iked),
 * addresses, the phase 1 SA (ISAKMP SA) and the phase 2 negotiation/SA pair,
 * and the z/OS tunnels they belong to (K<n> IKE tunnels, Y<n> dynamic
 * tunnels, each with its Generation). The code that owns each part:
 *   sa.c        creating, finding, retiring and (at the end of a turn)
 *               freeing SAs and tunnels
 *   state.c     every change of an SA's state
 *   ikev1.c     the message layer on the way in (find, check, decrypt)
 *   xmit.c      the way out (encrypt, send, keep, retransmit)
 *   phase1.c    Main and Aggressive Mode
 *   quick.c     Quick Mode
 *   info.c      Informational exchanges: notify, delete, DPD
 *   lifecycle.c activation, refresh, expiry, deactivation
 */
#ifndef ATTLS_IKED_IKED_H
#define ATTLS_IKED_IKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "iked/codec.h"
#include "iked/keys.h"
#include "iked/proposal.h"
#include "iked/sacache.h"
#include "iked/timer.h"
#include "policy/addr.h"
#include "policy/ipsec.h"

struct policy;
struct kernel;
struct keyring;
struct dh;
struct iked;

enum { IKE_INITIATOR, IKE_RESPONDER };

struct ikeaddr {
	struct ip_addr ip;
	uint16_t port;
};

/* A traffic selector: addresses (single, prefix or range), protocol, port. */
struct selector {
	struct ip_range r;
	uint8_t proto;                    /* 0 = any */
	uint16_t port;                    /* 0 = any */
};

/* The last message of an exchange, kept to retransmit on a timer (while a
 * reply is awaited) and to answer a retransmitted request. */
struct xmit {
	uint8_t *pkt;
	size_t len;
	unsigned tries;
	bool waiting;                     /* a reply is expected: resend on the timer */
	struct timer t;
};

/* Phase 1 states */
enum p1_state {
	P1_NONE,
	P1_MM_I_SA,       /* initiator sent MM1 */
	P1_MM_I_KE,       /* initiator sent MM3 */
	P1_MM_I_AUTH,     /* initiator sent MM5 */
	P1_MM_R_SA,       /* responder sent MM2 */
	P1_MM_R_KE,       /* responder sent MM4 */
	P1_AM_I_SA,       /* initiator sent AM1 */
	P1_AM_R_SA,       /* responder sent AM2 */
	P1_ESTABLISHED,
	P1_DELETED,       /* retired: it lingers a few seconds, answering retransmissions
			     of the peer's last message, then it is freed (sa.c) */
};

#define P1_MAX_IDLE_MIDS 32

struct ktunnel;
struct ytunnel;
struct p2sa;

struct peer_id {
	uint8_t type;                     /* IPSEC_ID_* */
	uint8_t data[256];
	size_t len;
};

struct p1sa {
	LIST_ENTRY(p1sa) by_cookie;
	LIST_ENTRY(p1sa) all;
	struct iked *ike;
	struct ktunnel *kt;
	unsigned generation;
	uint8_t icky[8], rcky[8];
	int role, exch;                   /* IKE_INITIATOR/RESPONDER; EXCH_MAIN/AGGRESSIVE */
	enum p1_state state;
	bool refresh;                     /* a refresh of an existing K tunnel */
	struct policy *pol;               /* snapshot the rule lives in (a reference) */
	const struct ike_rule *rule;
	struct ikeaddr local, remote;

	/* peer capabilities and NAT-T */
	bool peer_natt, peer_dpd;
	bool nat_local, nat_remote;       /* NAT in front of us / of the peer */
	bool natt_port;                   /* talking on the NAT-T port (non-ESP marker) */

	/* negotiation */
	struct p1_attrs offered[MAX_OFFERS];
	size_t noffered;
	struct p1_attrs agreed;
	bool from_cache;                  /* offers ordered by an SA cache entry */
	struct buf sai_b;                 /* initiator's SA payload body */
	struct dh *dh;
	uint8_t *gxi, *gxr, *gxy;
	size_t gx_len, gxy_len;
	uint8_t ni[NONCE_MAX], nr[NONCE_MAX];
	size_t ni_len, nr_len;
	struct buf idi_b, idr_b;          /* ID payload bodies (IDii, IDir) */
	struct p1keys keys;
	bool keys_ready;
	uint8_t iv[16];                   /* running phase 1 IV; after phase 1: the last one */
	struct peer_id peer;              /* the peer's identity */
	char peer_id_str[160];
	char local_id_str[160];
	bool peer_cert_ok;
	bool warned_garbled;              /* said once that a message did not decrypt */

	/* messages */
	struct ikeaddr rx_from, rx_to;    /* where the message being processed came from */
	bool rx_natt;
	struct xmit xmit;
	uint8_t last_in[20];              /* hash of the last message received */
	bool have_last_in;
	uint32_t done_mids[P1_MAX_IDLE_MIDS]; /* message IDs already used (replay) */
	size_t ndone_mids;

	/* lifetime, refresh, DPD */
	struct timer t_refresh, t_expire, t_dpd, t_keepalive;
	struct timer t_neg;               /* responder: gives up a negotiation that stalls */
	struct timer t_linger;            /* retired: when it is freed (the store's own) */
	uint64_t created_ms, established_ms;
	time_t established_wall;
	uint64_t last_heard_ms;
	uint32_t dpd_seq;
	uint64_t dpd_sent_ms;             /* when the first unanswered R-U-THERE went */
	unsigned dpd_missed;
	bool dpd_outstanding;
	uint64_t bytes;                   /* IKE bytes through this SA */
	bool initial_contact_sent;
	bool replaced;                    /* a newer generation took over */
	LIST_HEAD(, p2sa) p2s;            /* quick modes negotiating under this SA */
};

enum p2_state {
	P2_NONE,
	P2_WAIT_P1,       /* initiator: waiting for phase 1 */
	P2_I_SENT,        /* initiator sent QM1 */
	P2_R_SENT,        /* responder sent QM2 */
	P2_ESTABLISHED,
	P2_DELETED,
};

struct p2sa {
	LIST_ENTRY(p2sa) by_p1;           /* on p1->p2s while negotiating */
	LIST_ENTRY(p2sa) in_tunnel;       /* on yt->sas */
	LIST_ENTRY(p2sa) all;
	struct iked *ike;
	struct ytunnel *yt;
	struct p1sa *p1;                  /* the phase 1 SA it was negotiated under */
	unsigned parent_kid;              /* its K tunnel id (survives the phase 1 SA) */
	unsigned generation;
	int role;
	enum p2_state state;
	uint32_t msgid;
	uint8_t iv[16];
	bool refresh;

	struct p2_attrs offered[MAX_OFFERS];
	size_t noffered;
	struct p2_attrs agreed;
	bool from_cache;
	bool no_cache;                    /* offer the policy's order, ignoring the SA cache */
	uint8_t ni[NONCE_MAX], nr[NONCE_MAX];
	size_t ni_len, nr_len;
	struct dh *dh;
	uint8_t *gxy;
	size_t gxy_len;
	struct selector lsel, rsel;       /* our side, the peer's side */
	bool send_ids;                    /* IDci/IDcr on the wire */
	struct ip_addr natoa_i, natoa_r;  /* original addresses (transport mode, NAT) */
	bool have_natoa;

	uint32_t spi_in, spi_out;
	uint8_t key_in[96], key_out[96];  /* encryption key (+salt) then integrity key */
	bool installed;
	bool gone_in, gone_out;           /* the data path removed it (hard limit reached) */
	bool replaced;                    /* a newer generation took over; deleted soon */
	bool lifesize_reached;            /* a soft byte limit was reported (once per pair) */

	struct xmit xmit;
	uint8_t last_in[20];
	bool have_last_in;
	struct timer t_refresh, t_expire, t_neg;
	uint64_t created_ms, established_ms;
	time_t established_wall;
};

/* K<n>: an IKE tunnel between two security endpoints under one
 * KeyExchangeRule; each phase 1 SA negotiated for it is one generation. */
struct ktunnel {
	TAILQ_ENTRY(ktunnel) all;
	unsigned id;
	unsigned generation;              /* of the newest SA */
	char rule[49], action[49];
	struct ikeaddr local, remote;     /* endpoints (remote port as first contacted) */
	struct p1sa *cur;                 /* newest established, or the one negotiating */
	uint64_t created_ms;
	bool retired;                     /* on the reap list */
};

/* Y<n>: a dynamic tunnel for one IpFilterRule and one pair of selectors;
 * each Quick Mode negotiated for it is one generation. */
struct ytunnel {
	TAILQ_ENTRY(ytunnel) all;
	unsigned id;
	unsigned generation;
	char rule[49], action[49];        /* IpFilterRule, IpDynVpnAction */
	struct ip_addr peer, local_ep;    /* security endpoints */
	struct selector lsel, rsel;
	int role;                         /* who started the first generation */
	bool activation_pending;          /* started locally, waiting for phase 1 */
	bool policies;                    /* kernel policies installed */
	uint64_t created_ms, vpnlife_ms;
	LIST_HEAD(, p2sa) sas;
	struct p2sa *cur;
	bool retired;                     /* on the reap list */
};

/* How packets leave: the real sockets, or a test harness. */
struct net_ops {
	int (*send)(void *ctx, const struct ikeaddr *from, const struct ikeaddr *to,
		    const uint8_t *pkt, size_t len);
	void *ctx;
};

#define P1_HASH_BUCKETS 1024

struct iked_limits {
	unsigned half_open_total;         /* responder SAs not yet established */
	unsigned half_open_per_peer;
};

struct iked {
	struct policy *pol;               /* current snapshot (a reference) */
	const struct ipsec_policy *ip;
	struct timers timers;
	uint64_t (*clock_ms)(void *ctx); /* monotonic milliseconds */
	void *clock_ctx;
	struct net_ops net;
	struct kernel *kernel;
	struct keyring *keyring;
	struct sacache cache;
	struct iked_limits limits;
	bool log_keys;
	bool stopping;

	LIST_HEAD(, p1sa) p1_by_cookie[P1_HASH_BUCKETS];
	LIST_HEAD(, p1sa) p1_all;
	LIST_HEAD(, p2sa) p2_all;
	TAILQ_HEAD(, ktunnel) ktunnels;    /* oldest first */
	TAILQ_HEAD(, ytunnel) ytunnels;    /* oldest first */
	unsigned next_kid, next_yid;
	unsigned half_open;

	/* retired, freed when the outermost turn ends (sa.c); phase 1 SAs that
	 * answer retransmissions of their last message linger first */
	LIST_HEAD(, p1sa) p1_lingering;
	LIST_HEAD(, p1sa) p1_dead;
	LIST_HEAD(, p2sa) p2_dead;
	TAILQ_HEAD(, ktunnel) kt_dead;
	TAILQ_HEAD(, ytunnel) yt_dead;
	unsigned turn_depth;

	/* counters for the display */
	uint64_t rx_packets, rx_dropped, tx_packets;

	/* the message layer's room: a decrypted body (ikev1.c) and a message
	 * framed for the NAT-T port (xmit.c), each used within one call */
	uint8_t rx_plain[ISAKMP_MAX_MSG];
	uint8_t tx_framed[ISAKMP_MAX_MSG + NON_ESP_MARKER_LEN];
};

/* ---- daemon object (daemon.c) ------------------------------------------- */

/* A daemon without sockets: the caller provides the network and kernel. */
struct iked *iked_new(struct policy *pol, struct kernel *kernel, const struct net_ops *net);
void iked_free(struct iked *ike);
/* Swap in a new policy snapshot (takes the reference). Existing SAs keep the
 * snapshot they were negotiated with. */
void iked_set_policy(struct iked *ike, struct policy *pol);
/* The daemon's clock: monotonic milliseconds (simulated in the unit tests). */
static inline uint64_t iked_now(const struct iked *ike)
{
	return ike->clock_ms(ike->clock_ctx);
}
/* Run due timers. */
void iked_tick(struct iked *ike);
/* Delete every SA, telling the peers (lifecycle.c). */
void iked_shutdown(struct iked *ike);

/* ---- message layer (ikev1.c) -------------------------------------------- */

/* One datagram for IKE (the non-ESP marker already removed when natt). */
void ike_input(struct iked *ike, const uint8_t *pkt, size_t len, const struct ikeaddr *from,
	       const struct ikeaddr *to, bool natt);

#endif
