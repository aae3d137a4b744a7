/*
 * iked/filter_nft — the IP filter policy in the kernel: installs the script
 * filter.c writes through libnftables (one transaction, so a reload replaces
 * the table atomically and a failed one leaves the old table in place),
 * removes the table when the policy has no IpFilterRules and when iked
 * stops, and reads the NFLOG group the log statements use, turning each
 * record into a z/OS line (filter_log.c) under the rule names of the
 * generation that logged it.
 *
 * Everything here needs CAP_NET_ADMIN. Without it the log is simply off;
 * installing a policy that has IpFilterRules fails, and iked does not start
 * (z/OS keeps denying everything when it cannot install the filter either).
 */
#ifndef ATTLS_IKED_FILTER_NFT_H
#define ATTLS_IKED_FILTER_NFT_H

#include <stddef.h>

#include "iked/filter.h"

/* NFLOG group of the log statements ("AT"); one listener per group and
 * network namespace. */
#define FILTER_NFLOG_GROUP 0x4154

struct filter;

/* The data path a kernel backend (its kernel_ops name) stands for. */
enum filter_datapath filter_datapath_of(const char *backend);

/* log_dests: where the z/OS lines go (LOG_TO_*), whatever IkeSyslogLevel
 * says: the policy asked for them with IpFilterLogging. env->log_group is
 * ignored: the group is FILTER_NFLOG_GROUP when it could be bound. */
struct filter *filter_open(const struct filter_env *env, unsigned log_dests);
/* Install the policy's filter, or remove ours when it has no IpFilterRules.
 * 0, or -1 with the reason in err (the table as it was). */
int filter_apply(struct filter *f, const struct ipsec_policy *ip, char *err, size_t errlen);
/* The NFLOG socket for the event loop; -1 when logging is off. */
int filter_fd(const struct filter *f);
/* Read what is waiting (bounded) and log it. */
void filter_receive(struct filter *f);
/* Remove the table and close everything. */
void filter_close(struct filter *f);

#endif
