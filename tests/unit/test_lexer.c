/* Unit tests for policy/lexer: tokens, positions, strings, comments, the
 * byte order mark and bytes that do not belong in a text file. */
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "policy/lexer.h"
#include "tests/unit/support.h"

struct lexed {
	struct arena a;
	struct diags d;
	struct token *t;
	size_t n;
};

static void lex(struct lexed *x, const char *buf, size_t len)
{
	arena_init(&x->a);
	diags_init(&x->d);
	ck_assert_int_eq(lex_buffer(&x->a, "t.conf", buf, len, &x->t, &x->n, &x->d), 0);
	ck_assert_uint_ge(x->n, 1);
	ck_assert_int_eq(x->t[x->n - 1].kind, TK_EOF);
}

static void lex_str(struct lexed *x, const char *s) { lex(x, s, strlen(s)); }

static void done(struct lexed *x)
{
	free(x->t);
	arena_free(&x->a);
	diags_free(&x->d);
}

static void tok_is(const struct lexed *x, size_t i, enum tok_kind k, const char *text,
		   unsigned line, unsigned col)
{
	ck_assert_uint_lt(i, x->n);
	ck_assert_int_eq(x->t[i].kind, k);
	ck_assert_str_eq(x->t[i].text, text);
	ck_assert_uint_eq(x->t[i].pos.line, line);
	ck_assert_uint_eq(x->t[i].pos.col, col);
	ck_assert_str_eq(x->t[i].pos.file, "t.conf");
}

START_TEST(words_braces_and_positions)
{
	struct lexed x;
	lex_str(&x, "TTLSRule r1\n{\n  LocalPortRange  443\t8443\n}\n");
	tok_is(&x, 0, TK_WORD, "TTLSRule", 1, 1);
	tok_is(&x, 1, TK_WORD, "r1", 1, 10);
	tok_is(&x, 2, TK_NEWLINE, "\n", 1, 12);
	tok_is(&x, 3, TK_LBRACE, "{", 2, 1);
	tok_is(&x, 4, TK_NEWLINE, "\n", 2, 2);
	tok_is(&x, 5, TK_WORD, "LocalPortRange", 3, 3);
	tok_is(&x, 6, TK_WORD, "443", 3, 19);
	/* a tab is one column */
	tok_is(&x, 7, TK_WORD, "8443", 3, 23);
	tok_is(&x, 8, TK_NEWLINE, "\n", 3, 27);
	tok_is(&x, 9, TK_RBRACE, "}", 4, 1);
	tok_is(&x, 10, TK_NEWLINE, "\n", 4, 2);
	tok_is(&x, 11, TK_EOF, "", 5, 1);
	ck_assert_uint_eq(x.n, 12);
	ck_assert_uint_eq(x.d.n, 0);
	done(&x);
}
END_TEST

START_TEST(braces_split_words)
{
	struct lexed x;
	lex_str(&x, "a{b}c");
	tok_is(&x, 0, TK_WORD, "a", 1, 1);
	tok_is(&x, 1, TK_LBRACE, "{", 1, 2);
	tok_is(&x, 2, TK_WORD, "b", 1, 3);
	tok_is(&x, 3, TK_RBRACE, "}", 1, 4);
	tok_is(&x, 4, TK_WORD, "c", 1, 5);
	tok_is(&x, 5, TK_EOF, "", 1, 6);
	done(&x);
}
END_TEST

START_TEST(blank_lines_collapse_to_one_newline)
{
	struct lexed x;
	lex_str(&x, "\n\n  \na\n\n\n  b\n");
	/* no newline before the first token; one per run of line ends */
	tok_is(&x, 0, TK_WORD, "a", 4, 1);
	tok_is(&x, 1, TK_NEWLINE, "\n", 4, 2);
	tok_is(&x, 2, TK_WORD, "b", 7, 3);
	tok_is(&x, 3, TK_NEWLINE, "\n", 7, 4);
	tok_is(&x, 4, TK_EOF, "", 8, 1);
	done(&x);
}
END_TEST

START_TEST(crlf_line_ends)
{
	struct lexed x;
	lex_str(&x, "a b\r\nc\r\n");
	tok_is(&x, 0, TK_WORD, "a", 1, 1);
	tok_is(&x, 1, TK_WORD, "b", 1, 3);
	tok_is(&x, 2, TK_NEWLINE, "\n", 1, 5);
	tok_is(&x, 3, TK_WORD, "c", 2, 1);
	ck_assert_uint_eq(x.d.n, 0);
	done(&x);
}
END_TEST

START_TEST(comments)
{
	struct lexed x;
	lex_str(&x, "# whole line { }\na # trailing \"quote\n b#c # d\n");
	tok_is(&x, 0, TK_WORD, "a", 2, 1);
	tok_is(&x, 1, TK_NEWLINE, "\n", 2, 20);
	/* '#' inside a word is part of it; only a word starting with '#' comments */
	tok_is(&x, 2, TK_WORD, "b#c", 3, 2);
	tok_is(&x, 3, TK_NEWLINE, "\n", 3, 9);
	tok_is(&x, 4, TK_EOF, "", 4, 1);
	ck_assert_uint_eq(x.d.n, 0);
	done(&x);
}
END_TEST

START_TEST(comment_at_end_of_file)
{
	struct lexed x;
	lex_str(&x, "a # no newline after this");
	tok_is(&x, 0, TK_WORD, "a", 1, 1);
	tok_is(&x, 1, TK_EOF, "", 1, 26);
	done(&x);
}
END_TEST

START_TEST(quoted_strings)
{
	struct lexed x;
	lex_str(&x, "k \"two words\" \"a\\\"b\\\\c\" \"# not a comment\" \"\" \"x{y}\"\n");
	tok_is(&x, 0, TK_WORD, "k", 1, 1);
	tok_is(&x, 1, TK_STRING, "two words", 1, 3);
	tok_is(&x, 2, TK_STRING, "a\"b\\c", 1, 15);
	tok_is(&x, 3, TK_STRING, "# not a comment", 1, 25);
	tok_is(&x, 4, TK_STRING, "", 1, 43);
	tok_is(&x, 5, TK_STRING, "x{y}", 1, 46);
	ck_assert_uint_eq(x.d.n, 0);
	done(&x);
}
END_TEST

START_TEST(quote_ends_a_word)
{
	struct lexed x;
	lex_str(&x, "ab\"c d\"");
	tok_is(&x, 0, TK_WORD, "ab", 1, 1);
	tok_is(&x, 1, TK_STRING, "c d", 1, 3);
	done(&x);
}
END_TEST

START_TEST(backslash_other_than_escape_is_kept)
{
	struct lexed x;
	lex_str(&x, "\"C:\\dir\\n\"");
	tok_is(&x, 0, TK_STRING, "C:\\dir\\n", 1, 1);
	done(&x);
}
END_TEST

START_TEST(unclosed_string)
{
	struct lexed x;
	lex_str(&x, "k \"open\nnext");
	/* reported at the opening quote; the token keeps what was read and the
	 * line end still ends the line */
	ck_assert(has_error_at(&x.d, 1, 3, "string is not closed"));
	ck_assert_str_eq(x.d.v[0].hint, "close it with '\"' on the same line");
	tok_is(&x, 1, TK_STRING, "open", 1, 3);
	tok_is(&x, 2, TK_NEWLINE, "\n", 1, 8);
	tok_is(&x, 3, TK_WORD, "next", 2, 1);
	ck_assert_uint_eq(x.d.nerrors, 1);
	done(&x);
}
END_TEST

START_TEST(unclosed_string_at_eof)
{
	struct lexed x;
	lex_str(&x, "  \"abc");
	ck_assert(has_error_at(&x.d, 1, 3, "string is not closed"));
	tok_is(&x, 0, TK_STRING, "abc", 1, 3);
	done(&x);
}
END_TEST

START_TEST(byte_order_mark_is_skipped)
{
	struct lexed x;
	lex_str(&x, "\xef\xbb\xbfTTLSRule x\n");
	/* the BOM takes no column: the first word is at 1:1 */
	tok_is(&x, 0, TK_WORD, "TTLSRule", 1, 1);
	tok_is(&x, 1, TK_WORD, "x", 1, 10);
	ck_assert_uint_eq(x.d.n, 0);
	done(&x);
}
END_TEST

START_TEST(byte_order_mark_only_at_start)
{
	struct lexed x;
	lex_str(&x, "a \xef\xbb\xbf");
	/* elsewhere it is just bytes of a word (UTF-8 text is allowed) */
	ck_assert_uint_eq(x.d.n, 0);
	tok_is(&x, 1, TK_WORD, "\xef\xbb\xbf", 1, 3);
	done(&x);
}
END_TEST

START_TEST(control_bytes_reported_once_per_line)
{
	struct lexed x;
	static const char buf[] = "ab\x01\x02 cd\x7f\nx\0y\n";
	lex(&x, buf, sizeof buf - 1);
	/* the bad byte ends the word; one report per line */
	ck_assert(has_error_at(&x.d, 1, 3, "unexpected byte 0x01"));
	ck_assert(has_error_at(&x.d, 2, 2, "unexpected byte 0x00"));
	ck_assert_uint_eq(x.d.nerrors, 2);
	ck_assert_str_eq(x.d.v[0].hint, "policy files are text; is this the right file?");
	tok_is(&x, 0, TK_WORD, "ab", 1, 1);
	tok_is(&x, 1, TK_WORD, "cd", 1, 6);
	tok_is(&x, 2, TK_NEWLINE, "\n", 1, 9);
	tok_is(&x, 3, TK_WORD, "x", 2, 1);
	tok_is(&x, 4, TK_WORD, "y", 2, 3);
	done(&x);
}
END_TEST

START_TEST(control_byte_inside_string)
{
	struct lexed x;
	lex_str(&x, "\"a\x01" "b\"");
	ck_assert(has_error_at(&x.d, 1, 3, "control character 0x01 inside a string"));
	tok_is(&x, 0, TK_STRING, "ab", 1, 1);
	done(&x);
}
END_TEST

START_TEST(tab_vtab_formfeed_are_spaces)
{
	struct lexed x;
	lex_str(&x, "a\tb\vc\fd");
	ck_assert_uint_eq(x.d.n, 0);
	tok_is(&x, 3, TK_WORD, "d", 1, 7);
	done(&x);
}
END_TEST

START_TEST(too_long_word_and_string)
{
	struct lexed x;
	size_t n = LEX_MAX_TOKEN + 10;
	char *buf = malloc(2 * n + 8);
	memset(buf, 'w', n);
	buf[n] = ' ';
	buf[n + 1] = '"';
	memset(buf + n + 2, 's', n);
	buf[2 * n + 2] = '"';
	lex(&x, buf, 2 * n + 3);
	ck_assert(has_error_at(&x.d, 1, 1, "word is longer than 4095 bytes"));
	ck_assert(has_error_at(&x.d, 1, (unsigned)n + 2, "string is longer than 4095 bytes"));
	ck_assert_uint_eq(strlen(x.t[0].text), LEX_MAX_TOKEN - 1);
	ck_assert_uint_eq(strlen(x.t[1].text), LEX_MAX_TOKEN - 1);
	free(buf);
	done(&x);
}
END_TEST

START_TEST(empty_input)
{
	struct lexed x;
	lex(&x, "", 0);
	ck_assert_uint_eq(x.n, 1);
	tok_is(&x, 0, TK_EOF, "", 1, 1);
	done(&x);
}
END_TEST

/* The same lexer errors come out of a whole load, with the file's name. */
START_TEST(errors_reach_the_loader)
{
	static const char text[] = "TTLSGroupAction g { TTLSEnabled \"On }\n";
	must_fail_at(text, 1, "\"On", "string is not closed", "on the same line");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lexer");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, words_braces_and_positions);
	tcase_add_test(tc, braces_split_words);
	tcase_add_test(tc, blank_lines_collapse_to_one_newline);
	tcase_add_test(tc, crlf_line_ends);
	tcase_add_test(tc, comments);
	tcase_add_test(tc, comment_at_end_of_file);
	tcase_add_test(tc, quoted_strings);
	tcase_add_test(tc, quote_ends_a_word);
	tcase_add_test(tc, backslash_other_than_escape_is_kept);
	tcase_add_test(tc, unclosed_string);
	tcase_add_test(tc, unclosed_string_at_eof);
	tcase_add_test(tc, byte_order_mark_is_skipped);
	tcase_add_test(tc, byte_order_mark_only_at_start);
	tcase_add_test(tc, control_bytes_reported_once_per_line);
	tcase_add_test(tc, control_byte_inside_string);
	tcase_add_test(tc, tab_vtab_formfeed_are_spaces);
	tcase_add_test(tc, too_long_word_and_string);
	tcase_add_test(tc, empty_input);
	tcase_add_test(tc, errors_reach_the_loader);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
