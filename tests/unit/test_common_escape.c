/* common/strutil str_term_safe and common/json strings: text that comes from
 * another process (attls conns) or a policy file must never reach a terminal
 * as a control sequence: C0, DEL, C1 (raw or UTF-8 encoded) and bytes of no
 * UTF-8 sequence are escaped, well-formed UTF-8 text is kept. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strutil.h"
#include "tests/unit/support.h"

START_TEST(controls_and_stray_bytes_are_escaped)
{
	char out[256];
	str_term_safe(out, sizeof out, "a\x1b]0;x\x07" "b\x7f\x9b" "c\xc2\x9b" "d\xff\\");
	ck_assert_str_eq(out, "a\\x1B]0;x\\x07b\\x7F\\x9Bc\\xC2\\x9Bd\\xFF\\\\");
}
END_TEST

START_TEST(well_formed_utf8_is_kept)
{
	char out[64];
	str_term_safe(out, sizeof out, "CN=J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x94\x92");
	ck_assert_str_eq(out, "CN=J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x94\x92");
	/* overlong and surrogate forms are not well formed */
	str_term_safe(out, sizeof out, "\xc0\x9b\xed\xa0\x80");
	ck_assert_str_eq(out, "\\xC0\\x9B\\xED\\xA0\\x80");
}
END_TEST

START_TEST(truncation_never_splits_an_escape)
{
	char out[7];
	str_term_safe(out, sizeof out, "ab\x1b\x1b");
	ck_assert_str_eq(out, "ab\\x1B");
	char one[1] = { 'x' };
	str_term_safe(one, sizeof one, "abc");
	ck_assert_str_eq(one, "");
}
END_TEST

static char *json_of(const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct json j;
	json_init(&j, f, 0);
	json_str(&j, s);
	fclose(f);
	return text;
}

START_TEST(json_escapes_c1_controls_too)
{
	char *t = json_of("a\x1b\xc2\x9b" "b\xc2\xa0\x9b");
	ck_assert_str_eq(t, "\"a\\u001b\\u009bb\xc2\xa0\\ufffd\"");
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("common_escape");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, controls_and_stray_bytes_are_escaped);
	tcase_add_test(tc, well_formed_utf8_is_kept);
	tcase_add_test(tc, truncation_never_splits_an_escape);
	tcase_add_test(tc, json_escapes_c1_controls_too);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
