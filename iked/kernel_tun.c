/* iked/kernel_tun — the tun backend: iked's own ESP data path, for kernels
 * without XFRM ESP (containers, most cloud hosts). The parts: esp.c (ESP
 * for one SA), offload.c (the device's TSO/GRO), tun.c (the device, routes
 * and rules), dp_table.c (the SA table the data threads read without
 * locks), dp_out.c and dp_in.c (the two data threads), and this file: the
 * kernel_ops the daemon calls, the routes as the tunnels' policies, the
 * sockets, and the limits the data threads report.
 *
 * Threads. The IKE thread (the event loop) installs and removes SAs and
 * routes; two data threads carry the packets, one per direction, so a
 * saturated transfer never delays IKE. An SA belongs to one direction, so
 * to one data thread: its ESP state (sequence numbers, replay window) needs
 * no lock.
 *
 * Port 4500. IKE's NAT-T socket and the data path's ESP socket are bound to
 * the same address and port (SO_REUSEPORT); a classic BPF program on that
 * group steers each datagram by its first four bytes: the non-ESP marker
 * (zero) and keepalives to IKE's socket, everything else (an SPI is never
 * zero) to the data path's. The kernel sorts, so neither thread touches the
 * other's packets and an ESP flood never fills IKE's receive queue.
 *
 * Limits. The bytes of the clear packets drive each SA's soft and hard
 * limits; sequence numbers about to run out count as a soft limit, spent
 * ones as a hard limit. The data thread marks the SA and wakes the IKE
 * thread through an eventfd (k->event_fd); receive() reports each mark once
 * through kernel_report(), after taking an SA at its hard limit out of the
 * table as a kernel would.
 */
#include "iked/kernel.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "iked/datapath.h"
#include "iked/isakmp.h"
#include "policy/schema.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

/* ---- what the data threads call ---------------------------------------------------- */

/* Counted always; logged at debug, at most a few lines a second per thread. */
void dp_drop(struct tunk *t, int why, uint32_t spi)
{
	static _Thread_local time_t second;
	static _Thread_local unsigned lines;
	atomic_fetch_add_explicit(&t->drops[why], 1, memory_order_relaxed);
	time_t now = time(NULL);
	if (now != second) {
		second = now;
		lines = 0;
	}
	if (lines++ < 5)
		log_debug("kernel(tun): dropped a packet (spi %08x): %s", spi, esp_result_name(why));
}

static void wake_ike(struct kernel *k)
{
	uint64_t one = 1;
	if (write(k->event_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_debug("kernel(tun): cannot wake the event loop: %s", strerror(errno));
}

void dp_check_limits(struct kernel *k, struct tsa *sa)
{
	uint64_t bytes = atomic_load_explicit(&sa->esp.st.bytes, memory_order_relaxed);
	uint64_t left = sa->inbound ? UINT64_MAX : esp_seq_left(&sa->esp);
	bool soft = (sa->soft_bytes && bytes >= sa->soft_bytes) || left < SEQ_SOFT_LEFT;
	bool hard = (sa->hard_bytes && bytes >= sa->hard_bytes) || left == 0;
	bool changed = false;
	if (soft && !atomic_load_explicit(&sa->soft_hit, memory_order_relaxed)) {
		atomic_store(&sa->soft_hit, true);
		changed = true;
	}
	if (hard && !atomic_load_explicit(&sa->hard_hit, memory_order_relaxed)) {
		atomic_store(&sa->hard_hit, true);
		changed = true;
	}
	if (changed)
		wake_ike(k);
}

int dp_thread_epoll(struct tunk *t, const int *fds, size_t n)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -1;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = t->wake };
	epoll_ctl(ep, EPOLL_CTL_ADD, t->wake, &ev);
	for (size_t i = 0; i < n; i++) {
		ev.data.fd = fds[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			close(ep);
			return -1;
		}
	}
	return ep;
}

/* ---- kernel_ops: SAs ------------------------------------------------------------------ */

/* Where an outbound SA's packets leave: the ESP-in-UDP socket of its source
 * address and port (or the wildcard one of its family), or the raw socket. */
static int route_sa(struct tunk *t, struct tsa *sa, const struct kernel_sa *ks, char *err,
		    size_t errlen)
{
	if (!ks->udp_encap) {
		sa->fd = ks->src.family == AF_INET6 ? t->raw6 : t->raw4;
		sa->set_src = true;
		sa->tolen = net_sockaddr(&ks->dst, 0, &sa->to);
		if (sa->fd < 0) {
			snprintf(err, errlen, "no raw ESP socket for this address family");
			return -1;
		}
		return 0;
	}
	struct dsock *wild = NULL;
	for (size_t i = 0; i < t->nudp; i++) {
		struct dsock *d = &t->udp[i];
		if (d->port != ks->encap_sport || d->local.family != ks->src.family)
			continue;
		if (dp_same_addr(&d->local, &ks->src)) {
			sa->fd = d->fd;
			sa->tolen = net_sockaddr(&ks->dst, ks->encap_dport, &sa->to);
			return 0;
		}
		if (d->wildcard)
			wild = d;
	}
	if (!wild) {
		snprintf(err, errlen, "no ESP socket for source port %u", ks->encap_sport);
		return -1;
	}
	sa->fd = wild->fd;
	sa->set_src = true;
	sa->tolen = net_sockaddr(&ks->dst, ks->encap_dport, &sa->to);
	return 0;
}

static int t_add_sa(struct kernel *k, const struct kernel_sa *ks)
{
	struct tunk *t = k->priv;
	dp_reclaim(t);
	if (ks->inbound && dp_find_in(dp_current(t), ks->spi)) {
		snprintf(k->err, sizeof k->err, "an inbound SA with SPI %08x is installed", ks->spi);
		return -1;
	}
	struct tsa *sa = calloc(1, sizeof *sa);
	if (!sa) {
		snprintf(k->err, sizeof k->err, "out of memory");
		return -1;
	}
	char why[128];
	if (esp_sa_init(&sa->esp, ks, why, sizeof why)) {
		snprintf(k->err, sizeof k->err, "unsupported: %s", why);
		free(sa);
		return -1;
	}
	sa->sel = ks->sel;
	sa->src = ks->src;
	sa->dst = ks->dst;
	sa->inbound = ks->inbound;
	sa->udp_encap = ks->udp_encap;
	sa->soft_bytes = ks->soft_bytes;
	sa->hard_bytes = ks->hard_bytes;
	sa->fd = -1;
	snprintf(sa->label, sizeof sa->label, "%s", ks->label ? ks->label : "");
	if (!ks->inbound && route_sa(t, sa, ks, k->err, sizeof k->err)) {
		dp_free_sa(sa);
		return -1;
	}
	if (dp_add(t, sa)) {
		snprintf(k->err, sizeof k->err, "out of memory");
		dp_free_sa(sa);
		return -1;
	}
	k->installed_sas++;
	char what[3 * IP_RANGE_STRLEN + 256];
	kernel_sa_format(ks, what, sizeof what);
	log_info("kernel(tun): add SA %s", what);
	return 0;
}

static void log_counts(const struct tsa *sa, const char *what)
{
	const struct esp_stats *s = &sa->esp.st;
	log_info("kernel(tun): %s SA %s spi 0x%08x: %" PRIu64 " packets, %" PRIu64 " bytes; dropped "
		 "%" PRIu64 " replayed, %" PRIu64 " failing integrity, %" PRIu64 " malformed",
		 what, sa->label, sa->esp.spi, (uint64_t)s->packets, (uint64_t)s->bytes,
		 (uint64_t)s->replay, (uint64_t)s->integrity, (uint64_t)s->malformed);
}

static void log_left(const struct tsa *sa)
{
	log_counts(sa, "removed at exit:");
}

static void remove_sa(struct tunk *t, struct tsa *sa, const char *what)
{
	log_counts(sa, what);
	if (dp_remove(t, sa)) {
		/* keep it in the table, unusable, rather than free it under a reader */
		atomic_store(&sa->hard_hit, true);
		log_warn("kernel(tun): out of memory removing SA %s", sa->label);
	}
}

static int t_del_sa(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		    uint32_t spi, const char *label)
{
	struct tunk *t = k->priv;
	dp_reclaim(t);
	struct tsa *sa = dp_lookup(t, dst, spi);
	if (!sa || !dp_same_addr(&sa->src, src)) {
		snprintf(k->err, sizeof k->err, "No such process");   /* as the kernel says it */
		return -1;
	}
	remove_sa(t, sa, "removed");
	if (k->installed_sas)
		k->installed_sas--;
	return 0;
}

static struct tsa *lookup_from(struct tunk *t, const struct ip_addr *src, const struct ip_addr *dst,
			       uint32_t spi)
{
	struct tsa *sa = dp_lookup(t, dst, spi);
	return sa && dp_same_addr(&sa->src, src) ? sa : NULL;
}

static int t_sa_stats(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, struct kernel_sa_stats *st)
{
	struct tsa *sa = lookup_from(k->priv, src, dst, spi);
	if (!sa) {
		snprintf(k->err, sizeof k->err, "No such process");
		return -1;
	}
	const struct esp_stats *s = &sa->esp.st;
	st->bytes = s->bytes;
	st->packets = s->packets;
	st->replay = s->replay;
	st->integrity = s->integrity;
	st->malformed = s->malformed;
	return 0;
}

static int t_sa_bytes(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		      uint32_t spi, uint64_t *bytes)
{
	struct kernel_sa_stats st;
	if (t_sa_stats(k, src, dst, spi, &st))
		return -1;
	*bytes = st.bytes;
	return 0;
}

/* The limits the data threads marked, reported once each; an SA at its hard
 * limit leaves the table first (the daemon then removes the pair and does
 * not ask us to delete this one). */
static void t_receive(struct kernel *k)
{
	struct tunk *t = k->priv;
	uint64_t v;
	if (read(k->event_fd, &v, sizeof v) < 0 && errno != EAGAIN)
		log_debug("kernel(tun): reading the event counter: %s", strerror(errno));
	dp_reclaim(t);
	const struct table *tb = dp_current(t);
	size_t n = tb->nin + tb->nout, nev = 0;
	struct kernel_event *ev = calloc(n ? 2 * n : 1, sizeof *ev);
	if (!ev) {
		wake_ike(k);                       /* try again on the next turn */
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct tsa *sa = tb->v[i];
		bool soft = atomic_load(&sa->soft_hit) && !sa->soft_told;
		bool hard = atomic_load(&sa->hard_hit) && !sa->hard_told;
		for (int h = 0; h < 2; h++) {
			if (!(h ? hard : soft))
				continue;
			struct kernel_event *e = &ev[nev++];
			e->src = sa->src;
			e->dst = sa->dst;
			e->spi = sa->esp.spi;
			e->proto = IPPROTO_ESP;
			e->hard = h;
			e->bytes = sa->esp.st.bytes;
			uint64_t limit = h ? sa->hard_bytes : sa->soft_bytes;
			e->lifesize = limit && e->bytes >= limit;
		}
		sa->soft_told |= soft;
		sa->hard_told |= hard;
		if (hard)
			remove_sa(t, sa, "hard limit reached,");
	}
	for (size_t i = 0; i < nev; i++)
		kernel_report(k, &ev[i]);
	free(ev);
}

/* ---- kernel_ops: policies are routes ---------------------------------------------------- */

static int route_family(const struct kernel_policy *p)
{
	if (p->sel.dst.kind != IPR_ALL && p->sel.dst.family != AF_UNSPEC)
		return p->sel.dst.family;
	if (p->sel.src.kind != IPR_ALL && p->sel.src.family != AF_UNSPEC)
		return p->sel.src.family;
	return p->tdst.family;
}

static struct route *find_route(struct tunk *t, const struct tun_prefix *p)
{
	for (size_t i = 0; i < t->nroutes; i++)
		if (t->routes[i].p.len == p->len && dp_same_addr(&t->routes[i].p.base, &p->base))
			return &t->routes[i];
	return NULL;
}

static int route_ref(struct kernel *k, const struct tun_prefix *p, const struct ip_addr *src,
		     const char *label)
{
	struct tunk *t = k->priv;
	struct route *r = find_route(t, p);
	if (r) {
		r->refs++;
		return 0;
	}
	r = realloc(t->routes, (t->nroutes + 1) * sizeof *r);
	if (!r) {
		snprintf(k->err, sizeof k->err, "out of memory");
		return -1;
	}
	t->routes = r;
	if (tun_route(&t->tun, true, p, src, k->err, sizeof k->err))
		return -1;
	r = &t->routes[t->nroutes++];
	memset(r, 0, sizeof *r);
	r->p = *p;
	r->refs = 1;
	if (src) {
		r->src = *src;
		r->have_src = true;
	}
	char a[IP_STRLEN], s[IP_STRLEN] = "none";
	ip_addr_format(&p->base, a, sizeof a);
	if (src)
		ip_addr_format(src, s, sizeof s);
	log_info("kernel(tun): route %s/%u dev %s src %s table %d (%s)", a, p->len, t->tun.name, s,
		 TUN_ROUTE_TABLE, label ? label : "");
	return 0;
}

static void route_unref(struct kernel *k, const struct tun_prefix *p)
{
	struct tunk *t = k->priv;
	struct route *r = find_route(t, p);
	if (!r || --r->refs)
		return;
	char why[160];
	if (tun_route(&t->tun, false, &r->p, r->have_src ? &r->src : NULL, why, sizeof why))
		log_warn("kernel(tun): removing a route: %s", why);
	*r = t->routes[--t->nroutes];
}

#define MAX_ROUTE_PREFIXES 256

/* The outbound policy of a tunnel is its routes: each prefix of the remote
 * selector, through the device, with a local address inside the local
 * selector as source when this host has one (traffic this host starts
 * then leaves from inside the tunnel's selectors; a gateway forwards
 * traffic from behind it without one). Inbound and forward policies have
 * nothing to install: every opened packet is checked against its SA. */
static int t_policy(struct kernel *k, const struct kernel_policy *p, bool add)
{
	if (p->dir != KDIR_OUT)
		return 0;
	struct tunk *t = k->priv;
	struct tun_prefix pfx[MAX_ROUTE_PREFIXES];
	size_t n = tun_range_prefixes(&p->sel.dst, route_family(p), pfx, MAX_ROUTE_PREFIXES);
	if (!n) {
		snprintf(k->err, sizeof k->err, "the remote selector needs more than %d routes",
			 MAX_ROUTE_PREFIXES);
		return -1;
	}
	struct ip_addr src;
	bool have_src = tun_local_addr(&p->sel.src, &src);
	for (size_t i = 0; i < n; i++) {
		if (!add) {
			route_unref(k, &pfx[i]);
			continue;
		}
		if (route_ref(k, &pfx[i], have_src ? &src : NULL, p->label)) {
			while (i-- > 0)
				route_unref(k, &pfx[i]);
			return -1;
		}
	}
	(void)t;
	return 0;
}

static int t_add_policy(struct kernel *k, const struct kernel_policy *p)
{
	return t_policy(k, p, true);
}

static int t_del_policy(struct kernel *k, const struct kernel_policy *p)
{
	return t_policy(k, p, false);
}

/* ---- opening and closing ---------------------------------------------------------------- */

static void stop_threads(struct tunk *t)
{
	atomic_store(&t->stop, true);
	uint64_t one = 1;
	if (t->wake >= 0 && write(t->wake, &one, sizeof one) < 0)
		log_warn("kernel(tun): cannot wake the data threads: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (t->started[i])
			pthread_join(t->th[i], NULL);
	t->started[0] = t->started[1] = false;
}

static void log_drops(struct tunk *t)
{
	char line[512];
	size_t len = 0;
	for (int r = 1; r < ESP_NRESULTS; r++) {
		uint64_t n = atomic_load(&t->drops[r]);
		if (n && len < sizeof line)
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%" PRIu64 " %s",
						len ? ", " : "", n, esp_result_name(r));
	}
	log_info("kernel(tun): data path stopped; packets dropped: %s", len ? line : "none");
}

static void t_close(struct kernel *k)
{
	struct tunk *t = k->priv;
	if (!t)
		return;
	stop_threads(t);
	dp_free_all(t, log_left);
	free(t->routes);
	log_drops(t);
	tun_close(&t->tun);
	for (size_t i = 0; i < t->nudp; i++)
		close(t->udp[i].fd);
	if (t->raw4 >= 0)
		close(t->raw4);
	if (t->raw6 >= 0)
		close(t->raw6);
	if (t->wake >= 0)
		close(t->wake);
	if (t->published >= 0)
		close(t->published);
	if (k->event_fd >= 0)
		close(k->event_fd);
	k->event_fd = -1;
	free(t);
	k->priv = NULL;
}

/* The NAT-T port's steering (see the top): IKE's socket joined the group
 * first (index 0), ours second (index 1). Reads are at the UDP payload. */
static int attach_steering(int fd, char *err, size_t errlen)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, NON_ESP_MARKER_LEN, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 1),             /* an SPI: the data path */
		BPF_STMT(BPF_RET | BPF_K, 0),             /* a marker or a keepalive: IKE */
	};
	struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0) {
		snprintf(err, errlen, "steering ESP away from IKE (SO_ATTACH_REUSEPORT_CBPF): %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int mark(int fd, char *err, size_t errlen)
{
	uint32_t m = TUN_FWMARK;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof m) < 0) {
		snprintf(err, errlen, "SO_MARK: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The data path's twin of one of IKE's NAT-T sockets. */
static int open_udp(struct tunk *t, const struct net_socket *ns, char *err, size_t errlen)
{
	int af = ns->local.ip.family == AF_INET6 ? AF_INET6 : AF_INET, on = 1;
	int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "ESP socket: %s", strerror(errno));
		return -1;
	}
	struct dsock *d = &t->udp[t->nudp++];
	d->fd = fd;
	d->local = ns->local.ip;
	d->port = ns->local.port;
	d->wildcard = net_is_wildcard(&d->local);
	int pmtu = af == AF_INET6 ? IPV6_PMTUDISC_DONT : IP_PMTUDISC_DONT;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	/* the kernel may join ESP datagrams of one flow: one receive for many */
	setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on);
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
	} else {
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
	}
	net_buffers(fd, 4 << 20, 4 << 20);
	struct sockaddr_storage ss;
	socklen_t sl = net_sockaddr(&d->local, d->port, &ss);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0 || mark(fd, err, errlen) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (!*err)
			snprintf(err, errlen, "ESP socket on port %u: %s", d->port, strerror(errno));
		return -1;
	}
	return attach_steering(fd, err, errlen);
}

static int open_raw(int af, char *err, size_t errlen)
{
	int fd = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ESP);
	if (fd < 0) {
		snprintf(err, errlen, "raw ESP socket: %s", strerror(errno));
		return -1;
	}
	net_buffers(fd, 4 << 20, 4 << 20);
	if (mark(fd, err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_sockets(struct tunk *t, struct net *net, char *err, size_t errlen)
{
	bool fam[2] = { false, false };
	for (size_t i = 0; i < net->n; i++) {
		struct net_socket *ns = &net->s[i];
		/* IKE's own packets go around the tunnel's routes */
		if (mark(ns->fd, err, errlen))
			return -1;
		fam[ns->local.ip.family == AF_INET6] = true;
		if (ns->natt && open_udp(t, ns, err, errlen))
			return -1;
	}
	if (fam[0] && (t->raw4 = open_raw(AF_INET, err, errlen)) < 0)
		return -1;
	if (fam[1] && (t->raw6 = open_raw(AF_INET6, err, errlen)) < 0)
		return -1;
	return 0;
}

static int start_threads(struct kernel *k, char *err, size_t errlen)
{
	struct tunk *t = k->priv;
	static const char *const names[2] = { "iked-esp-in", "iked-esp-out" };
	void *(*mains[2])(void *) = { dp_inbound_main, dp_outbound_main };
	/* every signal stays with the event loop's signalfd */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (int i = 0; i < 2 && !rc; i++) {
		rc = pthread_create(&t->th[i], NULL, mains[i], k);
		if (rc) {
			snprintf(err, errlen, "data thread: %s", strerror(rc));
			break;
		}
		t->started[i] = true;
		pthread_setname_np(t->th[i], names[i]);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc ? -1 : 0;
}

static int t_open(struct kernel *k, const struct kernel_args *a, char *err, size_t errlen)
{
	if (!a || !a->net || !a->tun_device) {
		snprintf(err, errlen, "the tun backend needs iked's sockets and a device name");
		return -1;
	}
	struct tunk *t = calloc(1, sizeof *t);
	struct table *empty = dp_table_new(0, 0);
	if (!t || !empty) {
		snprintf(err, errlen, "out of memory");
		free(t);
		free(empty);
		return -1;
	}
	err[0] = '\0';
	k->priv = t;
	t->raw4 = t->raw6 = -1;
	t->tun.fd = t->tun.nl = -1;
	atomic_store(&t->table, empty);
	k->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->published = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (k->event_fd < 0 || t->wake < 0 || t->published < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (tun_open(&t->tun, a->tun_device, TUN_MTU, true, err, errlen) ||
	    open_sockets(t, a->net, err, errlen) || start_threads(k, err, errlen))
		goto fail;
	log_info("kernel(tun): ESP data path on %s (MTU %d%s), routes in table %d for packets "
		 "without mark 0x%x", t->tun.name, TUN_MTU,
		 t->tun.vnet ? ", TCP segmentation offload" : "", TUN_ROUTE_TABLE, TUN_FWMARK);
	return 0;
fail:
	t_close(k);
	return -1;
}

const struct kernel_ops kernel_tun_ops = {
	.name = "tun",
	.open = t_open,
	.add_sa = t_add_sa,
	.del_sa = t_del_sa,
	.add_policy = t_add_policy,
	.del_policy = t_del_policy,
	.close = t_close,
	.receive = t_receive,
	.sa_bytes = t_sa_bytes,
	.sa_stats = t_sa_stats,
};
