/* preload/uaccess: the program's memory through the kernel. Good memory is
 * copied both ways; NULL, 1, an unmapped page, an inaccessible page and a
 * read-only page (for writes) are EFAULT, never a crash. The same again in a
 * process where seccomp refuses process_vm_readv/writev with EPERM, as
 * containers' default profiles do: the pipe takes over. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload/uaccess.h"
#include "tests/unit/support.h"

static size_t pg;

static void *map(int prot, size_t n)
{
	void *p = mmap(NULL, n, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

#define EXPECT(cond, what) do { if (!(cond)) return what; } while (0)

static bool efault(int rc)
{
	return rc == -1 && errno == EFAULT;
}

/* Every case; NULL when all held, else which one did not. */
static const char *all_cases(void)
{
	static char big[200000];
	char small[64];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(i * 7 + 3);
	uint8_t *rw = map(PROT_READ | PROT_WRITE, 3 * pg);
	EXPECT(rw, "mmap");
	memset(rw, 'r', 3 * pg);

	/* Good memory, both ways, larger than a pipe holds. */
	uint8_t *dst = map(PROT_READ | PROT_WRITE, sizeof big);
	EXPECT(dst, "mmap");
	EXPECT(uaccess_read(dst, big, sizeof big) == 0 && !memcmp(dst, big, sizeof big), "read");
	memset(dst, 0, sizeof big);
	EXPECT(uaccess_write(dst, big, sizeof big) == 0 && !memcmp(dst, big, sizeof big), "write");
	EXPECT(uaccess_read(small, NULL, 0) == 0, "zero bytes from NULL");
	munmap(dst, sizeof big);

	/* Memory that is not there or not readable. */
	EXPECT(efault(uaccess_read(small, NULL, sizeof small)), "read NULL");
	EXPECT(efault(uaccess_read(small, (void *)1, sizeof small)), "read 1");
	EXPECT(efault(uaccess_write(NULL, small, sizeof small)), "write NULL");
	EXPECT(efault(uaccess_write((void *)1, small, sizeof small)), "write 1");
	munmap(rw + pg, pg);                                /* a hole in the middle */
	EXPECT(efault(uaccess_read(small, rw + pg, sizeof small)), "read unmapped");
	EXPECT(efault(uaccess_write(rw + pg, small, sizeof small)), "write unmapped");
	EXPECT(efault(uaccess_read(small, rw + pg - 8, sizeof small)), "read across into a hole");
	EXPECT(efault(uaccess_write(rw + pg - 8, small, sizeof small)), "write across into a hole");
	mprotect(rw + 2 * pg, pg, PROT_NONE);
	EXPECT(efault(uaccess_read(small, rw + 2 * pg, sizeof small)), "read PROT_NONE");
	mprotect(rw + 2 * pg, pg, PROT_READ);
	EXPECT(uaccess_read(small, rw + 2 * pg, sizeof small) == 0 && small[0] == 'r',
	       "read read-only");
	EXPECT(efault(uaccess_write(rw + 2 * pg, small, sizeof small)), "write read-only");
	EXPECT(rw[2 * pg] == 'r', "read-only page changed");
	munmap(rw, pg);
	munmap(rw + 2 * pg, pg);
	return NULL;
}

START_TEST(bad_memory_is_efault)
{
	pg = (size_t)sysconf(_SC_PAGESIZE);
	const char *bad = all_cases();
	ck_assert_msg(!bad, "%s", bad);
}
END_TEST

static int refuse_process_vm(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_writev, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

START_TEST(bad_memory_is_efault_where_process_vm_is_refused)
{
	pg = (size_t)sysconf(_SC_PAGESIZE);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char msg[128] = "";
		struct iovec l = { msg, 1 }, r = { msg + 1, 1 };
		const char *bad = NULL;
		if (refuse_process_vm() != 0)
			bad = "cannot install the seccomp filter";
		else if (syscall(__NR_process_vm_readv, getpid(), &l, 1, &r, 1, 0) != -1 ||
			 errno != EPERM)
			bad = "the filter does not refuse process_vm_readv";
		else
			bad = all_cases();
		snprintf(msg, sizeof msg, "%s", bad ? bad : "ok");
		ssize_t w = write(p[1], msg, strlen(msg));
		_exit(w > 0 ? 0 : 1);
	}
	close(p[1]);
	char got[128] = "";
	ssize_t n = read(p[0], got, sizeof got - 1);
	close(p[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child died (status %d)", status);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(got, "ok");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("preload_uaccess");
	TCase *tc = tcase_create("uaccess");
	tcase_add_test(tc, bad_memory_is_efault);
	tcase_add_test(tc, bad_memory_is_efault_where_process_vm_is_refused);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
