/* preload/fdtab: which descriptors are the shim's, which stand for covered
 * connections, and what fork, close_range and renumbering do to them. */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/conn.h"
#include "preload/fdtab.h"
#include "tests/unit/support.h"

static int open_pipe_end(void)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	close(p[1]);
	return p[0];
}

START_TEST(adopt_moves_into_the_shim_range)
{
	ck_assert_int_eq(fdtab_init(), 0);
	int fd = open_pipe_end();
	int s = fdtab_adopt(fd);
	ck_assert_int_ge(s, fdtab_base());
	ck_assert(fdtab_is_shim(s));
	ck_assert(fdtab_known(s));
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);             /* the original is closed */
	ck_assert_int_eq(fcntl(s, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_uint_gt(fdtab_top(), (unsigned)s);
	fdtab_release(s);
	ck_assert(!fdtab_known(s));
	ck_assert_int_eq(fcntl(s, F_GETFD), -1);
}
END_TEST

START_TEST(dup_shim_keeps_the_original)
{
	ck_assert_int_eq(fdtab_init(), 0);
	int fd = open_pipe_end();
	int s = fdtab_dup_shim(fd);
	ck_assert(fdtab_is_shim(s));
	ck_assert(!fdtab_known(fd));
	ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
	fdtab_release(s);
	close(fd);
}
END_TEST

START_TEST(connections_are_reference_counted)
{
	ck_assert_int_eq(fdtab_init(), 0);
	struct conn *c = conn_new();
	int fd = open_pipe_end();
	ck_assert_int_eq(fdtab_set_conn(fd, c), 0);
	ck_assert_uint_eq(atomic_load(&c->refs), 2);
	struct conn *got = fdtab_conn(fd);
	ck_assert_ptr_eq(got, c);
	ck_assert_uint_eq(atomic_load(&c->refs), 3);
	conn_unref(got);
	ck_assert(!fdtab_is_shim(fd));
	struct conn *taken = fdtab_take(fd);
	ck_assert_ptr_eq(taken, c);
	ck_assert(!fdtab_known(fd));
	ck_assert_ptr_null(fdtab_conn(fd));
	conn_unref(taken);
	ck_assert_uint_eq(atomic_load(&c->refs), 1);
	conn_unref(c);
	close(fd);
}
END_TEST

START_TEST(a_stale_entry_is_replaced)
{
	ck_assert_int_eq(fdtab_init(), 0);
	struct conn *a = conn_new(), *b = conn_new();
	int fd = open_pipe_end();
	fdtab_set_conn(fd, a);
	/* the number was closed behind the table's back and reused */
	fdtab_set_conn(fd, b);
	ck_assert_uint_eq(atomic_load(&a->refs), 1);
	struct conn *t = fdtab_take(fd);
	ck_assert_ptr_eq(t, b);
	conn_unref(t);
	conn_unref(a);
	conn_unref(b);
	close(fd);
}
END_TEST

static int seen[8];
static size_t nseen;

static void collect(int fd, void *arg)
{
	(void)arg;
	if (nseen < 8)
		seen[nseen++] = fd;
}

START_TEST(each_conn_visits_a_range)
{
	ck_assert_int_eq(fdtab_init(), 0);
	struct conn *c = conn_new();
	int f1 = open_pipe_end(), f2 = open_pipe_end(), f3 = open_pipe_end();
	fdtab_set_conn(f1, c);
	fdtab_set_conn(f3, c);
	nseen = 0;
	fdtab_each_conn((unsigned)f1, (unsigned)f2, collect, NULL);
	ck_assert_uint_eq(nseen, 1);
	ck_assert_int_eq(seen[0], f1);
	nseen = 0;
	fdtab_each_conn(0, ~0u, collect, NULL);
	ck_assert_uint_eq(nseen, 2);
	conn_unref(fdtab_take(f1));
	conn_unref(fdtab_take(f3));
	conn_unref(c);
	close(f1);
	close(f2);
	close(f3);
}
END_TEST

static int dropped;

static void on_drop(int fd, struct conn *c)
{
	(void)fd;
	c->foreign = true;
	dropped++;
}

START_TEST(fork_child_closes_shim_descriptors_and_keeps_program_ones)
{
	ck_assert_int_eq(fdtab_init(), 0);
	int s = fdtab_adopt(open_pipe_end());
	int fd = open_pipe_end();
	struct conn *c = conn_new();
	fdtab_set_conn(fd, c);
	pid_t pid = fork();
	if (pid == 0) {
		fdtab_atfork_child();
		dropped = 0;
		fdtab_after_fork_child(on_drop);
		int ok = fcntl(s, F_GETFD) == -1 && !fdtab_known(s) && fcntl(fd, F_GETFD) != -1 &&
			 dropped == 1 && c->foreign;
		_exit(ok ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_ne(fcntl(s, F_GETFD), -1);   /* the parent's stay */
	conn_unref(fdtab_take(fd));
	conn_unref(c);
	fdtab_release(s);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preload_fdtab");
	TCase *tc = tcase_create("fdtab");
	tcase_add_test(tc, adopt_moves_into_the_shim_range);
	tcase_add_test(tc, dup_shim_keeps_the_original);
	tcase_add_test(tc, connections_are_reference_counted);
	tcase_add_test(tc, a_stale_entry_is_replaced);
	tcase_add_test(tc, each_conn_visits_a_range);
	tcase_add_test(tc, fork_child_closes_shim_descriptors_and_keeps_program_ones);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
