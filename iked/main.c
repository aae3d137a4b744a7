/*
 * iked/main — the iked program: options, configuration check (-n),
 * daemonizing with a pid file, the kernel backend (KernelBackend auto
 * probes the kernel for ESP), and the one event loop (epoll over the UDP
 * sockets, the control socket, the kernel backend's event socket and a
 * signalfd; timers set the wait). The tun backend's data threads are its
 * own (kernel_tun.c).
 *
 *   iked [-f FILE] [-F] [-n] [-d] [--log-keys]
 *
 * Under systemd (Type=notify, iked -F) it says READY=1 once it listens,
 * RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1 (iked/service).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/version.h"
#include "iked/cert.h"
#include "iked/control.h"
#include "iked/filter_nft.h"
#include "iked/iked.h"
#include "iked/kernel.h"
#include "iked/net.h"
#include "iked/service.h"
#include "policy/policy.h"
#include "policy/schema.h"

#define DEFAULT_POLICY "/etc/attls/iked.conf"

struct options {
	const char *file;
	bool foreground, check, debug, log_keys;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: iked [-f FILE] [-F] [-n] [-d] [--log-keys]\n"
		   "       iked --help | --version\n"
		   "  -f FILE     policy file (default %s)\n"
		   "  -F          stay in the foreground, log to stderr too\n"
		   "  -n          check the configuration and exit\n"
		   "  -d          debug logging\n"
		   "  --log-keys  log every derived key (for interoperability tests only)\n"
		   "  --version   this program's version\n",
		DEFAULT_POLICY);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "log-keys", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof *o);
	o->file = DEFAULT_POLICY;
	int c;
	while ((c = getopt_long(argc, argv, "f:Fndh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 'F': o->foreground = true; break;
		case 'n': o->check = true; break;
		case 'd': o->debug = true; break;
		case 'K': o->log_keys = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("iked (attls) %s\n", attls_version()); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* IkeSyslogLevel (z/OS): 1 errors, 2 warnings, 4 events, 8 debug, 16 packets. */
static int log_level(unsigned bits, const struct options *o)
{
	if (o->debug || (bits & (8 | 16)))
		return LOG_DEBUG;
	if ((bits & 4) || o->log_keys)
		return LOG_INFO;
	if (bits & 2)
		return LOG_WARNING;
	return LOG_ERR;
}

static struct policy *load_policy(const char *file)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = policy_load_file(file, &d);
	diags_sort(&d);
	diags_print(&d, stderr, 1);
	char first[300];
	if (!p)
		log_err("policy %s not loaded: %s", file, diags_first_error(&d, first, sizeof first));
	diags_free(&d);
	return p;
}

static int check_config(struct policy *p, const char *file, struct keyring **kr)
{
	const struct ipsec_policy *ip = policy_ipsec(p);
	if (!ip->present || ip->nke == 0) {
		fprintf(stderr, "iked: %s has no KeyExchangePolicy with a KeyExchangeRule\n", file);
		return -1;
	}
	if (ip->ike.keyring) {
		char err[256];
		if (!(*kr = keyring_load(ip->ike.keyring, err, sizeof err))) {
			fprintf(stderr, "iked: Keyring %s: %s\n", ip->ike.keyring, err);
			return -1;
		}
	}
	return 0;
}

static int write_pid_file(const char *path)
{
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	bool ok = write(fd, buf, (size_t)n) == n;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The parent waits for the child's word that it is ready, so a failing start
 * shows in the exit status of the command that started iked. */
static int daemonize(int *ready_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char c = 1;
		ssize_t r = read(p[0], &c, 1);
		_exit(r == 1 && c == 0 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		return -1;
	if (chdir("/") < 0)
		return -1;
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	*ready_fd = p[1];
	return 0;
}

static void make_parent_dir(const char *path)
{
	char d[1024];
	snprintf(d, sizeof d, "%s", path);
	char *slash = strrchr(d, '/');
	if (slash && slash != d) {
		*slash = '\0';
		mkdir(d, 0755);                  /* usually /run/attls; fine when it exists */
	}
}

/* KernelBackend auto: the kernel's ESP when it has it, else iked's own. */
static int choose_backend(int configured)
{
	if (configured != BACKEND_AUTO)
		return configured;
	char why[200];
	int backend = kernel_resolve_auto(why, sizeof why);
	log_info("KernelBackend auto: %s (%s)", kernel_backend_name(backend), why);
	return backend;
}

struct loop {
	struct iked *ike;
	struct filter *filter;
	struct net net;
	struct control ctl;
	int ep, sig;
	const char *file;
	bool stop;
};

static int epoll_add(int ep, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

#define TAG_SIG  1000
#define TAG_KERNEL 1001
#define TAG_FILTER 1002
#define TAG_CTL  2000                     /* and the CTL_MAX_CLIENTS after it */

/* True when the new policy is in use. */
static bool reload(struct loop *l)
{
	struct policy *p = load_policy(l->file);
	if (!p) {
		log_err("policy reload failed; the previous policy stays in effect");
		return false;
	}
	if (!policy_ipsec(p)->present) {
		log_err("policy reload: no IP security statements; the previous policy stays");
		policy_unref(p);
		return false;
	}
	char err[400];
	if (filter_apply(l->filter, policy_ipsec(p), err, sizeof err)) {
		log_err("policy reload: IP filter: %s; the previous policy stays", err);
		policy_unref(p);
		return false;
	}
	iked_set_policy(l->ike, p);
	log_info("policy %s reloaded (listen addresses, ports and backend change at restart only)",
		 l->file);
	return true;
}

/* systemd (Type=notify) hears when iked is ready, reloads and stops. One
 * that cannot be told gives up on the start or the reload, so it is an
 * error for the log, though not one to stop for. */
static void tell_service(int rc, const char *what)
{
	if (rc)
		log_err("cannot tell the service manager %s: %s", what, strerror(errno));
}

static void tell_ready(const struct loop *l, bool refused)
{
	if (refused)
		tell_service(service_notify("READY=1\nSTATUS=policy %.300s refused (see the log); "
					    "the previous policy stays", l->file), "READY=1");
	else
		tell_service(service_notify("READY=1\nSTATUS=policy %.300s: %zu KeyExchangeRule(s), "
					    "%zu IpFilterRule(s)", l->file, l->ike->ip->nke,
					    l->ike->ip->nfilters), "READY=1");
}

static void handle_signal(struct loop *l)
{
	struct signalfd_siginfo si;
	while (read(l->sig, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGHUP) {
			tell_service(service_notify_reloading(), "RELOADING=1");
			tell_ready(l, !reload(l));
		} else {
			l->stop = true;
		}
	}
}

static int run_loop(struct loop *l)
{
	struct epoll_event evs[32];
	while (!l->stop) {
		uint64_t next = timers_next(&l->ike->timers), now = iked_now(l->ike);
		int timeout = next == UINT64_MAX ? 60000 : next <= now ? 0
			      : next - now > 60000 ? 60000 : (int)(next - now);
		int n = epoll_wait(l->ep, evs, 32, timeout);
		if (n < 0 && errno != EINTR) {
			log_err("epoll_wait: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (control_owns(&l->ctl, tag))
				control_event(&l->ctl, tag, evs[i].events);
			else if (tag == TAG_SIG)
				handle_signal(l);
			else if (tag == TAG_KERNEL)
				kernel_receive(l->ike->kernel);
			else if (tag == TAG_FILTER)
				filter_receive(l->filter);
			else if (tag < l->net.n)
				net_receive(l->ike, &l->net, &l->net.s[tag]);
		}
		iked_tick(l->ike);
	}
	return 0;
}

/* The IP filter goes in before iked says it is ready, and a policy whose
 * filter cannot be installed does not start: z/OS too keeps denying rather
 * than run without the filter it was given. */
static int start_filter(struct loop *l, const struct ipsec_policy *ip, const struct kernel *k,
			unsigned log_dests)
{
	struct filter_env env = {
		.datapath = filter_datapath_of(k->ops->name),
		.tun_device = ip->ike.tun_device,
	};
	char err[400];
	if (!(l->filter = filter_open(&env, log_dests))) {
		log_err("IP filter: out of memory");
		return -1;
	}
	if (filter_fd(l->filter) >= 0 && epoll_add(l->ep, filter_fd(l->filter), TAG_FILTER)) {
		log_err("event loop setup: %s", strerror(errno));
		return -1;
	}
	/* last: a start that fails leaves no table behind */
	if (filter_apply(l->filter, ip, err, sizeof err)) {
		log_err("IP filter: %s", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	if (parse_options(argc, argv, &o))
		return 2;
	log_init("iked", LOG_TO_STDERR);
	struct policy *pol = load_policy(o.file);
	struct keyring *kr = NULL;
	if (!pol)
		return 1;
	if (check_config(pol, o.file, &kr)) {
		policy_unref(pol);
		return 1;
	}
	const struct ike_config *cfg = &policy_ipsec(pol)->ike;
	if (o.check) {
		printf("iked: %s: configuration OK\n", o.file);
		keyring_free(kr);
		policy_unref(pol);
		return 0;
	}
	/* starting and stopping are said whatever the level: an operator
	 * running iked -F sees that it runs and where it listens; under systemd,
	 * syslog already goes to the journal */
	bool to_stderr = o.foreground && !service_stderr_is_journal();
	const unsigned log_dests = LOG_TO_SYSLOG | (to_stderr ? LOG_TO_STDERR : 0);
	log_init("iked", log_dests);
	log_set_level(log_level(cfg->syslog_level, &o));
	signal(SIGPIPE, SIG_IGN);

	int ready = -1;
	if (!o.foreground && daemonize(&ready)) {
		fprintf(stderr, "iked: cannot daemonize: %s\n", strerror(errno));
		return 1;
	}
	char err[300];
	struct loop l = { .file = o.file, .sig = -1 };
	int backend = choose_backend(cfg->backend);
	unsigned net_flags = backend == BACKEND_XFRM ? NET_UDP_ENCAP
			     : backend == BACKEND_TUN ? NET_REUSEPORT : 0;
	if (net_open(&l.net, cfg, net_flags, err, sizeof err)) {
		log_err("%s", err);
		return 1;
	}
	struct kernel_args kargs = { .tun_device = cfg->tun_device, .net = &l.net };
	struct kernel *k = kernel_open(backend, &kargs, err, sizeof err);
	if (!k) {
		log_err("kernel backend %s: %s", kernel_backend_name(backend), err);
		return 1;
	}
	make_parent_dir(cfg->control_socket);
	if (control_open(&l.ctl, cfg->control_socket, err, sizeof err)) {
		log_err("%s", err);
		return 1;
	}
	struct net_ops ops = { net_send, &l.net };
	l.ike = iked_new(pol, k, &ops);
	if (!l.ike)
		return 1;
	l.ike->keyring = kr;
	l.ike->log_keys = o.log_keys;
	if (o.log_keys)
		log_warn("--log-keys: every derived key goes to the log; for tests only");

	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	l.sig = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.sig < 0 || l.ep < 0 || control_start(&l.ctl, l.ike, l.ep, TAG_CTL) ||
	    epoll_add(l.ep, l.sig, TAG_SIG)) {
		log_err("event loop setup: %s", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < l.net.n; i++)
		if (epoll_add(l.ep, l.net.s[i].fd, i)) {
			log_err("event loop setup: %s", strerror(errno));
			return 1;
		}
	/* SAs that reach their soft byte limit (xfrm: the kernel's expire messages) */
	if (k->event_fd >= 0 && epoll_add(l.ep, k->event_fd, TAG_KERNEL)) {
		log_err("event loop setup: %s", strerror(errno));
		return 1;
	}
	if (start_filter(&l, policy_ipsec(pol), k, log_dests))
		return 1;
	/* remembered now: a reload may name other paths, but these are the ones in use */
	char pidf[1024], ctlp[256];
	snprintf(pidf, sizeof pidf, "%s", cfg->pid_file);
	snprintf(ctlp, sizeof ctlp, "%s", cfg->control_socket);
	if (!o.foreground) {
		make_parent_dir(cfg->pid_file);
		if (write_pid_file(cfg->pid_file))
			log_warn("pid file %s: %s", cfg->pid_file, strerror(errno));
	}
	char where[512];
	net_describe(&l.net, where, sizeof where);
	log_emit(log_dests, LOG_NOTICE, "iked started: version %s, listening on %s, control socket %s; "
		 "policy %s, %zu KeyExchangeRule(s), %zu IpFilterRule(s), kernel backend %s",
		 attls_version(), where, cfg->control_socket, o.file, l.ike->ip->nke,
		 l.ike->ip->nfilters, k->ops->name);
	if (ready >= 0) {
		char zero = 0;
		if (write(ready, &zero, 1) != 1)
			log_warn("could not tell the starting process that iked is ready");
		close(ready);
	}
	tell_ready(&l, false);
	int rc = run_loop(&l) ? 1 : 0;
	tell_service(service_notify("STOPPING=1"), "STOPPING=1");
	log_info("iked stopping: deleting SAs");
	iked_shutdown(l.ike);
	filter_close(l.filter);
	control_close(&l.ctl);
	iked_free(l.ike);
	keyring_free(kr);
	kernel_close(k);
	net_close(&l.net);
	unlink(ctlp);
	if (!o.foreground)
		unlink(pidf);
	log_emit(log_dests, LOG_NOTICE, "iked stopped");
	return rc;
}
