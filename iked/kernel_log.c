/* iked/kernel_log — a backend that installs nothing and logs what it would
 * install: for hosts without XFRM ESP, and for tests that check what iked
 * hands to the data path. Keys are never logged here (see --log-keys). */
#include "iked/kernel.h"

#include "common/log.h"

static int l_add_sa(struct kernel *k, const struct kernel_sa *sa)
{
	/* what a data path would get; this backend counts nothing, so neither
	 * limit is ever reached here */
	char what[3 * IP_RANGE_STRLEN + 256];
	kernel_sa_format(sa, what, sizeof what);
	log_info("kernel(log): add SA %s", what);
	k->installed_sas++;
	return 0;
}

static int l_del_sa(struct kernel *k, const struct ip_addr *src, const struct ip_addr *dst,
		    uint32_t spi, const char *label)
{
	char s[IP_STRLEN], d[IP_STRLEN];
	ip_addr_format(src, s, sizeof s);
	ip_addr_format(dst, d, sizeof d);
	log_info("kernel(log): delete SA %s spi 0x%08x %s -> %s", label ? label : "", spi, s, d);
	if (k->installed_sas)
		k->installed_sas--;
	return 0;
}

static const char *dir_name(int dir)
{
	return dir == KDIR_IN ? "in" : dir == KDIR_OUT ? "out" : "fwd";
}

static int l_add_policy(struct kernel *k, const struct kernel_policy *p)
{
	char sel[2 * IP_RANGE_STRLEN + 64];
	kernel_sel_format(&p->sel, sel, sizeof sel);
	log_info("kernel(log): add policy %s %s %s reqid %u", p->label ? p->label : "",
		 dir_name(p->dir), sel, p->reqid);
	k->installed_policies++;
	return 0;
}

static int l_del_policy(struct kernel *k, const struct kernel_policy *p)
{
	char sel[2 * IP_RANGE_STRLEN + 64];
	kernel_sel_format(&p->sel, sel, sizeof sel);
	log_info("kernel(log): delete policy %s %s %s", p->label ? p->label : "", dir_name(p->dir),
		 sel);
	if (k->installed_policies)
		k->installed_policies--;
	return 0;
}

static void l_close(struct kernel *k)
{
	(void)k;
}

const struct kernel_ops kernel_log_ops = {
	.name = "log",
	.add_sa = l_add_sa,
	.del_sa = l_del_sa,
	.add_policy = l_add_policy,
	.del_policy = l_del_policy,
	.close = l_close,
};
