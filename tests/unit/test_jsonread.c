/* common/jsonread: what it accepts, how it hands values over, and every way
 * it refuses text (grammar, UTF-8, duplicates, and each limit). */
#include "tests/unit/support.h"

#include <stdio.h>
#include <string.h>

#include "common/jsonread.h"

static const struct jr_limits LIM = { .max_input = 4096, .max_depth = 4, .max_nodes = 64,
				      .max_string = 32 };

static int parse(struct jr_doc *d, const char *text)
{
	return jr_parse(d, text, strlen(text), &LIM);
}

START_TEST(reads_values)
{
	struct jr_doc d;
	ck_assert_int_eq(parse(&d, " {\"a\": 1, \"b\": [true, false, null, -7, 1.5, \"x\"],"
				   " \"c\": {\"d\": \"\\u00e9\\n\\ud83d\\ude00\"}, \"e\": -0} "), 0);
	const struct jr_node *root = jr_root(&d);
	ck_assert_int_eq(root->type, JR_OBJECT);
	const struct jr_node *a = jr_member(&d, root, "a");
	ck_assert_int_eq(a->type, JR_INT);
	ck_assert_int_eq(a->i, 1);
	const struct jr_node *b = jr_member(&d, root, "b");
	ck_assert_int_eq(b->type, JR_ARRAY);
	const struct jr_node *x = jr_first(&d, b);
	ck_assert(x->type == JR_BOOL && x->b);
	x = jr_next(&d, x);
	ck_assert(x->type == JR_BOOL && !x->b);
	x = jr_next(&d, x);
	ck_assert_int_eq(x->type, JR_NULL);
	x = jr_next(&d, x);
	ck_assert(x->type == JR_INT && x->i == -7);
	x = jr_next(&d, x);
	ck_assert_int_eq(x->type, JR_NUMBER);
	x = jr_next(&d, x);
	ck_assert_str_eq(x->s, "x");
	ck_assert_ptr_null(jr_next(&d, x));
	const struct jr_node *s = jr_member(&d, jr_member(&d, root, "c"), "d");
	ck_assert_str_eq(s->s, "\xc3\xa9\n\xf0\x9f\x98\x80");
	ck_assert_uint_eq(s->len, 7);
	ck_assert_int_eq(jr_member(&d, root, "e")->i, 0);
	ck_assert_ptr_null(jr_member(&d, root, "A"));
	ck_assert_ptr_null(jr_member(&d, a, "a"));
	jr_free(&d);
}
END_TEST

START_TEST(integer_range)
{
	struct jr_doc d;
	ck_assert_int_eq(parse(&d, "[9223372036854775807, -9223372036854775808, "
				   "9223372036854775808, 1e3]"), 0);
	const struct jr_node *x = jr_first(&d, jr_root(&d));
	ck_assert(x->type == JR_INT && x->i == INT64_MAX);
	x = jr_next(&d, x);
	ck_assert(x->type == JR_INT && x->i == INT64_MIN);
	x = jr_next(&d, x);
	ck_assert_int_eq(x->type, JR_NUMBER);   /* does not fit: not an integer */
	x = jr_next(&d, x);
	ck_assert_int_eq(x->type, JR_NUMBER);
	jr_free(&d);
}
END_TEST

static void refuses(const char *text, size_t len, const char *why)
{
	struct jr_doc d;
	int rc = jr_parse(&d, text, len, &LIM);
	ck_assert_msg(rc == -1, "accepted: %.*s", (int)len, text);
	ck_assert_msg(strstr(d.err, why), "'%.*s': got '%s', want '%s'", (int)len, text, d.err, why);
	ck_assert_ptr_null(jr_root(&d));
	jr_free(&d);
}
#define REFUSES(text, why) refuses(text, sizeof text - 1, why)

START_TEST(grammar)
{
	REFUSES("", "expected a value, not the end");
	REFUSES("   ", "expected a value");
	REFUSES("{\"a\":1,}", "expected a member name");
	REFUSES("[1,]", "expected a value");
	REFUSES("[1 2]", "expected ',' or ']'");
	REFUSES("{\"a\" 1}", "expected ':'");
	REFUSES("{a:1}", "expected a member name");
	REFUSES("01", "text after the value");
	REFUSES("1.", "bad number");
	REFUSES("-", "bad number");
	REFUSES("1e", "bad number");
	REFUSES("+1", "expected a value");
	REFUSES("tru", "bad literal");
	REFUSES("nul", "bad literal");
	REFUSES("{} {}", "text after the value");
	REFUSES("'a'", "expected a value");
	REFUSES("[\"a]", "unterminated string");
	REFUSES("\"\\", "unterminated string");
	REFUSES("\"\\x\"", "bad escape");
	REFUSES("\"a\tb\"", "control character in a string");
	REFUSES("\"\\u12\"", "short \\u escape");
	REFUSES("\"\\u12x4\"", "bad \\u escape");
	REFUSES("\"\\u0000\"", "NUL in a string");
	REFUSES("\"\\udc00\"", "lone low surrogate");
	REFUSES("\"\\ud800x\"", "lone high surrogate");
	REFUSES("\"\\ud800\\u0041\"", "bad surrogate pair");
	REFUSES("\"\xc0\xaf\"", "invalid UTF-8");     /* overlong '/' */
	REFUSES("\"\xed\xa0\x80\"", "invalid UTF-8");  /* a surrogate in UTF-8 */
	REFUSES("\"\xe2\x82\"", "invalid UTF-8");      /* cut short */
	REFUSES("{\"a\":1,\"a\":2}", "member \"a\" given twice");
	REFUSES("[1]\0", "text after the value");
}
END_TEST

START_TEST(limits)
{
	REFUSES("[[[[1]]]]", "nested deeper than 4");
	struct jr_doc d;
	ck_assert_int_eq(parse(&d, "[[[1]]]"), 0);
	jr_free(&d);
	char many[400] = "[";
	for (int i = 0; i < 64; i++)
		strcat(many, i ? ",1" : "1");
	strcat(many, "]");
	refuses(many, strlen(many), "more than 64 values");
	REFUSES("\"0123456789012345678901234567890123\"", "string longer than 32 bytes");
	REFUSES("{\"0123456789012345678901234567890123\":1}", "string longer than 32 bytes");
	ck_assert_int_eq(parse(&d, "\"01234567890123456789012345678901\""), 0);
	jr_free(&d);
	static char big[5000];
	memset(big, ' ', sizeof big);
	big[0] = '1';
	refuses(big, sizeof big, "text longer than 4096 bytes");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonread");
	TCase *tc = tcase_create("jsonread");
	tcase_add_test(tc, reads_values);
	tcase_add_test(tc, integer_range);
	tcase_add_test(tc, grammar);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
