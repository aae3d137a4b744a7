#include "preload/real.h"

#include <dlfcn.h>
#include <pthread.h>

struct real_fns real;

static void bind_all(void)
{
#define BIND(name) real.name = (typeof(real.name))dlsym(RTLD_NEXT, #name)
	BIND(connect);
	BIND(accept);
	BIND(accept4);
	BIND(close);
	BIND(close_range);
	BIND(dup);
	BIND(dup2);
	BIND(dup3);
	BIND(fcntl);
	BIND(fcntl64);
	BIND(getsockopt);
	BIND(setsockopt);
	BIND(getpeername);
	BIND(getsockname);
	BIND(ioctl);
	BIND(getaddrinfo);
	BIND(gethostbyname);
	BIND(gethostbyname2);
	BIND(gethostbyname_r);
	BIND(gethostbyname2_r);
#undef BIND
	if (!real.fcntl64)
		real.fcntl64 = real.fcntl;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void real_init(void)
{
	pthread_once(&once, bind_all);
}

/* Bind before main() and before any other constructor can open a socket. */
__attribute__((constructor(101))) static void real_ctor(void)
{
	real_init();
}
