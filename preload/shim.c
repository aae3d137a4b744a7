/*
 * preload/shim — the library's start: bind the real symbols before anything
 * else runs, and keep the shim consistent across fork(). The policy itself is
 * read on first use (the first TCP connect or accept), not at load time, so
 * programs that never use TCP never read it.
 *
 * fork(): the parent's engine goes on serving every connection it owns; a
 * child that inherited a covered descriptor talks to it through the parent's
 * engine, and starts its own engine for connections it makes itself. exec()
 * without fork() ends the process image and with it the engine: the shim's
 * descriptors are close-on-exec, so live TLS connections of that process end
 * (the peer sees the TCP connection close). exit() waits (boundedly) until
 * every covered connection has sent what the program wrote.
 */
#include <pthread.h>
#include <unistd.h>

#include "preload/conn.h"
#include "preload/engine.h"
#include "preload/fdtab.h"
#include "preload/real.h"
#include "preload/rt.h"

static void mark_foreign(int fd, struct conn *c)
{
	(void)fd;
	c->foreign = true;
}

static void prepare(void)
{
	fdtab_lock();
	engine_atfork_prepare();
}

static void parent(void)
{
	engine_atfork_parent();
	fdtab_unlock();
}

static void child(void)
{
	fdtab_atfork_child();
	engine_atfork_child();
	fdtab_after_fork_child(mark_foreign);
	rt_atfork_child();
}

/* exit(): bytes the program wrote but the engine has not yet sent live in
 * this process (the socketpair, the engine), not in the kernel; without this
 * they would vanish with the process. _exit() and fatal signals still lose
 * them. */
__attribute__((destructor)) static void shim_dtor(void)
{
	engine_flush_at_exit();
	rt_log_flush();   /* counts of error lines held back */
}

__attribute__((constructor(102))) static void shim_ctor(void)
{
	real_init();
	rt_capture_env();
	/* A process running as root may drop privileges before its first
	 * connection (nginx workers run as nobody): read the policy and key rings
	 * now, while it still can, so its children inherit them. Unprivileged
	 * processes read them on first use. */
	if (geteuid() == 0)
		rt_preload();
	pthread_atfork(prepare, parent, child);
}
