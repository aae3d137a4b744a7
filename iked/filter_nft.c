/* iked/filter_nft — the IP filter policy in the kernel (see filter_nft.h). */
#include "iked/filter_nft.h"

#include <errno.h>
#include <fcntl.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "iked/filter_log.h"

/* The rule names a generation's log prefixes refer to (copies: the policy
 * snapshot they came from may be gone when a late record arrives). */
struct gen_names {
	unsigned gen;
	size_t n;
	char **rule, **vpn;               /* [i]: IpFilterRule i+1; vpn may be NULL */
};

struct filter {
	struct filter_env env;
	unsigned log_dests;
	struct nflog_handle *nflog;
	struct nflog_g_handle *group;
	int fd;
	char nflog_err[128];              /* why there is no log, when there is none */
	bool installed;                   /* our table is in the kernel */
	unsigned gen;                     /* of the installed table */
	struct gen_names names[2];        /* the installed generation and the one before */
	unsigned long lost;               /* log records the kernel could not queue */
	uint8_t buf[65536];
};

/* ---- nftables ------------------------------------------------------------------ */

/* One run of libnftables: the whole text is one transaction. */
static int nft_run(const char *text, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		snprintf(err, errlen, "libnftables: out of memory");
		return -1;
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	int rc = nft_run_cmd_from_buffer(ctx, text);
	if (rc) {
		/* nft's message is several lines (the error, the offending line, a
		 * marker): keep the first, which names the problem */
		const char *e = nft_ctx_get_error_buffer(ctx);
		if (!e || !*e || *e == '\n')
			e = "failed";
		snprintf(err, errlen, "nft: %.*s", (int)strcspn(e, "\n"), e);
	}
	nft_ctx_free(ctx);
	return rc ? -1 : 0;
}

static void names_free(struct gen_names *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->rule[i]);
		free(g->vpn[i]);
	}
	free(g->rule);
	free(g->vpn);
	memset(g, 0, sizeof *g);
}

static int names_copy(struct gen_names *g, const struct ipsec_policy *ip, unsigned gen)
{
	memset(g, 0, sizeof *g);
	g->gen = gen;
	g->rule = calloc(ip->nfilters + 1, sizeof *g->rule);
	g->vpn = calloc(ip->nfilters + 1, sizeof *g->vpn);
	if (!g->rule || !g->vpn)
		goto fail;
	for (size_t i = 0; i < ip->nfilters; i++) {
		const struct ipsec_filter_rule *r = ip->filters[i];
		bool has_vpn = r->vpn && r->vpn->name;
		g->rule[i] = strdup(r->name ? r->name : "");
		g->vpn[i] = has_vpn ? strdup(r->vpn->name) : NULL;
		g->n = i + 1;
		if (!g->rule[i] || (has_vpn && !g->vpn[i]))
			goto fail;
	}
	return 0;
fail:
	names_free(g);
	return -1;
}

static int remove_table(struct filter *f, char *err, size_t errlen)
{
	char why[300];
	if (nft_run(filter_remove_script(), why, sizeof why)) {
		if (!f->installed) {
			/* nothing of ours is there (and without CAP_NET_ADMIN we could
			 * not even look): not an error */
			log_debug("IP filter: no table to remove (%s)", why);
			return 0;
		}
		snprintf(err, errlen, "removing table " FILTER_TABLE ": %s", why);
		return -1;
	}
	if (f->installed)
		log_info("IP filter: table " FILTER_TABLE " removed");
	f->installed = false;
	return 0;
}

int filter_apply(struct filter *f, const struct ipsec_policy *ip, char *err, size_t errlen)
{
	if (!filter_wanted(ip))
		return remove_table(f, err, errlen);
	struct filter_env env = f->env;
	env.log_group = f->group ? FILTER_NFLOG_GROUP : -1;
	if (filter_logs(ip) && !f->group)
		log_warn("IP filter: the policy asks for filter logging, but %s: denied packets "
			 "are dropped without a log line", f->nflog_err);
	unsigned gen = f->gen + 1;
	struct gen_names names;
	char *text = filter_script(ip, &env, gen);
	if (!text || names_copy(&names, ip, gen)) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char why[300];
	int rc = nft_run(text, why, sizeof why);
	free(text);
	if (rc) {
		names_free(&names);
		snprintf(err, errlen, "installing table " FILTER_TABLE ": %s", why);
		return -1;
	}
	f->gen = gen;
	names_free(&f->names[gen & 1]);
	f->names[gen & 1] = names;
	f->installed = true;
	log_info("IP filter: %zu IpFilterRule(s) installed as table " FILTER_TABLE
		 " (generation %u)", ip->nfilters, gen);
	return 0;
}

/* ---- the log -------------------------------------------------------------------- */

static const struct gen_names *names_of(const struct filter *f, unsigned gen)
{
	const struct gen_names *g = &f->names[gen & 1];
	return g->rule && g->gen == gen ? g : NULL;
}

static const char *ifname(uint32_t index, char *buf)
{
	return index && if_indextoname(index, buf) ? buf : NULL;
}

static int on_record(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg, struct nflog_data *nfd,
		     void *data)
{
	(void)gh;
	struct filter *f = data;
	const char *prefix = nflog_get_prefix(nfd);
	struct filter_prefix p;
	if (!prefix || filter_prefix_parse(prefix, &p))
		return 0;                 /* someone else's log statement */
	char *payload = NULL;
	int plen = nflog_get_payload(nfd, &payload);
	char in[IF_NAMESIZE], out[IF_NAMESIZE];
	struct filter_log_rec rec = {
		.family = nfmsg->nfgen_family == NFPROTO_IPV6 ? AF_INET6 : AF_INET,
		.pkt = (const uint8_t *)payload,
		.len = plen > 0 && payload ? (size_t)plen : 0,
		.indev = ifname(nflog_get_indev(nfd), in),
		.outdev = ifname(nflog_get_outdev(nfd), out),
	};
	struct timeval tv;
	if (nflog_get_timestamp(nfd, &tv) == 0) {
		rec.when.tv_sec = tv.tv_sec;
		rec.when.tv_nsec = tv.tv_usec * 1000L;
	} else {
		clock_gettime(CLOCK_REALTIME, &rec.when);
	}
	const struct gen_names *g = names_of(f, p.gen);
	const char *rule = NULL, *vpn = NULL;
	if (g && p.rule >= 1 && p.rule <= g->n) {
		rule = g->rule[p.rule - 1];
		vpn = g->vpn[p.rule - 1];
	}
	char line[1024];
	filter_log_line(&p, rule, vpn, &rec, line, sizeof line);
	log_emit(f->log_dests, LOG_INFO, "%s", line);
	return 0;
}

/* Records come only from the kernel; a datagram another process addressed
 * to our socket is dropped unread. */
#define RECEIVE_BATCH 64

void filter_receive(struct filter *f)
{
	for (int i = 0; f->fd >= 0 && i < RECEIVE_BATCH; i++) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(f->fd, f->buf, sizeof f->buf, MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
		if (n < 0 && errno == ENOBUFS) {
			/* the kernel dropped records: say so once in a while */
			if (f->lost++ % 1000 == 0)
				log_warn("IP filter log: records lost (socket buffer full)");
			continue;
		}
		if (n <= 0)
			return;
		if (fl < sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;
		nflog_handle_packet(f->nflog, (char *)f->buf, (int)n);
	}
}

static void nflog_off(struct filter *f, const char *what)
{
	snprintf(f->nflog_err, sizeof f->nflog_err, "NFLOG group %u: %s: %s", FILTER_NFLOG_GROUP,
		 what, strerror(errno));
	if (f->group)
		nflog_unbind_group(f->group);
	if (f->nflog)
		nflog_close(f->nflog);
	f->group = NULL;
	f->nflog = NULL;
	f->fd = -1;
	log_debug("IP filter log off: %s", f->nflog_err);
}

/* The packet's headers are enough for the line; at most one record a
 * millisecond or so reaches us (FILTER_LOG_RATE), so no batching delay. */
static void nflog_on(struct filter *f)
{
	if (!(f->nflog = nflog_open()))
		return nflog_off(f, "open");
	if (!(f->group = nflog_bind_group(f->nflog, FILTER_NFLOG_GROUP)))
		return nflog_off(f, "bind");
	if (nflog_set_mode(f->group, NFULNL_COPY_PACKET, 128) < 0 ||
	    nflog_set_qthresh(f->group, 1) < 0 || nflog_set_timeout(f->group, 0) < 0 ||
	    nflog_callback_register(f->group, on_record, f) < 0)
		return nflog_off(f, "configure");
	f->fd = nflog_fd(f->nflog);
	int fl = fcntl(f->fd, F_GETFL);
	if (fl < 0 || fcntl(f->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(f->fd, F_SETFD, FD_CLOEXEC) < 0)
		return nflog_off(f, "configure");
	int rcv = 256 * 1024;
	setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
}

struct filter *filter_open(const struct filter_env *env, unsigned log_dests)
{
	struct filter *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->env = *env;
	f->log_dests = log_dests;
	f->fd = -1;
	nflog_on(f);
	return f;
}

enum filter_datapath filter_datapath_of(const char *backend)
{
	if (strcmp(backend, "xfrm") == 0)
		return FILTER_DP_XFRM;
	if (strcmp(backend, "tun") == 0)
		return FILTER_DP_TUN;
	return FILTER_DP_NONE;
}

int filter_fd(const struct filter *f)
{
	return f->fd;
}

void filter_close(struct filter *f)
{
	if (!f)
		return;
	char err[400];
	if (f->installed && remove_table(f, err, sizeof err))
		log_err("IP filter: %s", err);
	if (f->group)
		nflog_unbind_group(f->group);
	if (f->nflog)
		nflog_close(f->nflog);
	names_free(&f->names[0]);
	names_free(&f->names[1]);
	free(f);
}
