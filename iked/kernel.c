/* iked/kernel — the registry of kernel backends. A backend is its
 * kernel_ops table; adding one is one line in the table below. */
#include "iked/kernel.h"

#include <stdio.h>
#include <stdlib.h>

#include "policy/schema.h"

static const struct {
	int backend;                      /* BACKEND_*, as KernelBackend names it */
	const struct kernel_ops *ops;
} backends[] = {
	{ BACKEND_XFRM, &kernel_xfrm_ops },
	{ BACKEND_LOG, &kernel_log_ops },
	{ BACKEND_TUN, &kernel_tun_ops },
};

static const struct kernel_ops *backend_ops(int backend)
{
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (backends[i].backend == backend)
			return backends[i].ops;
	return NULL;
}

const char *kernel_backend_name(int backend)
{
	const struct kernel_ops *ops = backend_ops(backend);
	return ops ? ops->name : "unknown";
}

int kernel_resolve_auto(char *why, size_t whylen)
{
	return kernel_xfrm_probe(why, whylen) ? BACKEND_XFRM : BACKEND_TUN;
}

struct kernel *kernel_open(int backend, const struct kernel_args *a, char *err, size_t errlen)
{
	const struct kernel_ops *ops = backend_ops(backend);
	if (!ops) {
		snprintf(err, errlen, "no kernel backend %d", backend);
		return NULL;
	}
	struct kernel *k = calloc(1, sizeof *k);
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->ops = ops;
	k->fd = -1;
	k->event_fd = -1;
	if (ops->open && ops->open(k, a, err, errlen)) {
		free(k);
		return NULL;
	}
	return k;
}

void kernel_close(struct kernel *k)
{
	if (!k)
		return;
	k->ops->close(k);
	free(k);
}

void kernel_receive(struct kernel *k)
{
	if (k->ops->receive)
		k->ops->receive(k);
}
