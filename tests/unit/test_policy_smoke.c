/* A first smoke test of the policy loader; the full suites live beside it. */
#include "tests/unit/support.h"

START_TEST(loads_minimal_rule)
{
	struct diags d;
	diags_init(&d);
	struct policy *p = load_text(
		"TTLSRule r { LocalPortRange 443\n Direction Inbound\n TTLSGroupActionRef g }\n"
		"TTLSGroupAction g { TTLSEnabled Off }\n", &d);
	if (!p)
		dump_diags(&d);
	ck_assert_ptr_nonnull(p);
	policy_unref(p);
	diags_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy_smoke");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, loads_minimal_rule);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
