/* test_dsn_text.c - unit tests of src/queue/dsn_text.c: folding of fields
 * and wrapping of paragraphs (bounds, nothing lost), cleaning of peer text,
 * xtext decoding, ORCPT and UTF-8 address forms, dates, filters, and the
 * sticky error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue/dsn_text.h"
#include "util/xalloc.h"

struct cap {
	char *p;
	size_t len;
	unsigned calls;
	bool fail;   /* fail every call with ENOSPC */
};

static int
cap_emit(void *arg, const char *p, size_t n)
{
	struct cap *c = arg;

	c->calls++;
	if (c->fail) {
		errno = ENOSPC;
		return -1;
	}
	c->p = xrealloc(c->p, c->len + n + 1);
	memcpy(c->p + c->len, p, n);
	c->len += n;
	c->p[c->len] = '\0';
	return 0;
}

/* What one use of the value gives: add(o) builds it, then it is written as
 * a field "F" (indent NULL) or a paragraph; returns the output. */
static char *
render(void (*add)(struct dsn_text *o, const void *arg), const void *arg, const char *indent)
{
	struct cap c = { 0 };
	struct dsn_text o;

	dsn_text_init(&o, cap_emit, &c);
	add(&o, arg);
	if (indent == NULL)
		dsn_text_field(&o, "F");
	else
		dsn_text_para(&o, indent);
	dsn_text_flush(&o);
	assert_int_equal(o.err, 0);
	dsn_text_reset(&o);
	return c.p;
}

static void
add_raw(struct dsn_text *o, const void *arg)
{
	dsn_text_add(o, arg);
}

/* Remove every occurrence of pat from s (in place). */
static void
remove_all(char *s, const char *pat)
{
	size_t n = strlen(pat);
	char *p;

	while ((p = strstr(s, pat)) != NULL)
		memmove(p, p + n, strlen(p + n) + 1);
}

static void
want_lines_within(const char *s, size_t max)
{
	for (const char *e; (e = strchr(s, '\n')) != NULL; s = e + 1)
		if ((size_t)(e - s) > max)
			fail_msg("line of %zu octets, want at most %zu: %.40s...", (size_t)(e - s),
			    max, s);
}

/* Folding keeps lines within 78 where there are spaces and loses nothing
 * (RFC 5322 2.2.3: unfolding removes the line ends); a run without spaces
 * is broken at 998 with "\n ". */
static void
test_field_fold(void **state)
{
	char *words = xmalloc(4001), *run_on = xmalloc(3001), *out;

	for (size_t i = 0; i < 4000; i++)
		words[i] = i % 7 == 6 ? ' ' : "abcdef"[i % 7];
	words[4000] = '\0';
	memset(run_on, 'z', 3000);
	run_on[3000] = '\0';
	out = render(add_raw, words, NULL);
	want_lines_within(out, 78);
	remove_all(out, "\n");
	assert_true(strncmp(out, "F: ", 3) == 0);
	assert_string_equal(out + 3, words);
	free(out);
	out = render(add_raw, run_on, NULL);
	want_lines_within(out, 998);
	assert_int_equal(out[998], '\n');
	remove_all(out, "\n ");
	remove_all(out, "\n");
	assert_string_equal(out + 3, run_on);
	free(out);
	out = render(add_raw, "short value", NULL);
	assert_string_equal(out, "F: short value\n");
	free(out);
	out = render(add_raw, "", NULL);
	assert_string_equal(out, "F: \n");
	free(out);
	free(words);
	free(run_on);
}

/* Paragraphs: each line starts with the indent, lines within 72 when words
 * allow, words kept in order. */
static void
test_para(void **state)
{
	char *words = xmalloc(1001), *out, *joined;
	size_t k = 0;

	for (size_t i = 0; i < 1000; i++)
		words[i] = i % 9 == 8 ? ' ' : "word-ish"[i % 9];
	words[1000] = '\0';
	out = render(add_raw, words, "    ");
	want_lines_within(out, 72);
	joined = xmalloc(strlen(out) + 1);
	for (const char *p = out, *e; (e = strchr(p, '\n')) != NULL; p = e + 1) {
		assert_true(strncmp(p, "    ", 4) == 0 && p[4] != ' ');
		if (k > 0)
			joined[k++] = ' ';
		memcpy(joined + k, p + 4, (size_t)(e - p - 4));
		k += (size_t)(e - p - 4);
	}
	joined[k] = '\0';
	assert_string_equal(joined, words);
	free(out);
	free(joined);
	free(words);
}

struct clean_case {
	const char *in;
	size_t max;
	const char *want;
};

static void
add_clean(struct dsn_text *o, const void *arg)
{
	const struct clean_case *c = arg;

	dsn_text_add_clean(o, c->in, c->max);
}

static void
test_clean(void **state)
{
	static const struct clean_case cases[] = {
		{ "550 5.1.1 ok", 100, "F: 550 5.1.1 ok\n" },
		{ "a\r\nb\nc\rd\te", 100, "F: a b c d e\n" },
		{ "  lead  and  trail  ", 100, "F: lead and trail\n" },
		{ "nul\x01" "del\x7f" "hi\x80\xff", 100, "F: nul?del?hi??\n" },
		{ "\r\n\t ", 100, "F: \n" },
		{ "0123456789", 10, "F: 0123456789\n" },
		{ "0123456789A", 10, "F: 0123456...\n" },
		{ "0123 56789A", 10, "F: 0123 56...\n" },
		{ "abcdef", 1, "F: ...\n" },   /* max under 3 counts as 3 */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = render(add_clean, &cases[i], NULL);

		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
		free(out);
	}
}

/* One value-adding function under test and the value it should give. */
struct add_case {
	void (*add)(struct dsn_text *o, const char *s);
	const char *in, *want;
};

static void
add_xtext_or_fail(struct dsn_text *o, const char *s)
{
	if (!dsn_text_add_xtext(o, s))
		dsn_text_add(o, "(refused)");
}

static void
add_alnum8(struct dsn_text *o, const char *s)
{
	dsn_text_add_alnum(o, s, 8);
}

static void
add_case(struct dsn_text *o, const void *arg)
{
	const struct add_case *c = arg;

	c->add(o, c->in);
}

static const struct add_case add_cases[] = {
	/* xtext (RFC 3461 4): decoded when printable ASCII */
	{ add_xtext_or_fail, "QQ+2B314159", "QQ+314159" },
	{ add_xtext_or_fail, "+41+42+20+3D", "AB =" },
	{ add_xtext_or_fail, "A+0AB", "(refused)" },
	{ add_xtext_or_fail, "A+7F", "(refused)" },
	{ add_xtext_or_fail, "caf+C3+A9", "(refused)" },
	{ add_xtext_or_fail, "bad+4", "(refused)" },
	{ add_xtext_or_fail, "bad+4g", "(refused)" },
	{ add_xtext_or_fail, "low+2b", "(refused)" },
	{ add_xtext_or_fail, "", "" },
	/* ORCPT: "type; decoded", else as received */
	{ dsn_text_add_orcpt, "rfc822;Alias+2Bx@Client.example", "rfc822; Alias+x@Client.example" },
	{ dsn_text_add_orcpt, "RFC822;+41@x", "RFC822; A@x" },
	{ dsn_text_add_orcpt, "rfc822;a+0Db@x", "rfc822; a+0Db@x" },
	{ dsn_text_add_orcpt, "rfc822;bad+zz@x", "rfc822; bad+zz@x" },
	{ dsn_text_add_orcpt, "rfc822;", "rfc822;" },
	{ dsn_text_add_orcpt, "noSemicolon", "unknown; noSemicolon" },
	{ dsn_text_add_orcpt, ";a@x", "unknown; ;a@x" },
	{ dsn_text_add_orcpt, "x\x01y;a@x", "unknown; a@x" },
	{ dsn_text_add_orcpt, "utf-8;j\xc3\xa9r\xc3\xb4me@x", "utf-8; j\\x{E9}r\\x{F4}me@x" },
	{ dsn_text_add_orcpt, "UTF-8;a\\x{E9}@x", "UTF-8; a\\x{E9}@x" },
	{ dsn_text_add_orcpt, "utf-8;\xe4\xb8\xad\xf0\x9f\x98\x80@x",
	    "utf-8; \\x{4E2D}\\x{1F600}@x" },
	/* Final-Recipient: rfc822 when printable ASCII, else utf-8 (RFC 6533 3) */
	{ dsn_text_add_typed_addr, "b@x", "rfc822; b@x" },
	{ dsn_text_add_typed_addr, "\"a b\"@x", "rfc822; \"a b\"@x" },
	{ dsn_text_add_typed_addr, "a+\xc3\xa9=\\ @x",
	    "utf-8; a\\x{2B}\\x{E9}\\x{3D}\\x{5C}\\x{20}@x" },
	{ dsn_text_add_typed_addr, "bad\xff@x", "utf-8; bad?@x" },
	{ dsn_text_add_typed_addr, "ctl\x01\xc3\xa9@x", "utf-8; ctl?\\x{E9}@x" },
	/* addresses for people: UTF-8 kept, controls and broken UTF-8 '?' */
	{ dsn_text_add_addr, "jos\xc3\xa9@x", "jos\xc3\xa9@x" },
	{ dsn_text_add_addr, "a\nb\r\x7f\xc3@x", "a?b???@x" },
	/* filters */
	{ dsn_text_add_host, "mx-1.Example.test", "mx-1.Example.test" },
	{ dsn_text_add_host, "evil host>\n.x", "evilhost.x" },
	{ add_alnum8, "0123-4567-89AB", "01234567" },
};

static void
test_add(void **state)
{
	for (size_t i = 0; i < sizeof add_cases / sizeof add_cases[0]; i++) {
		char *out = render(add_case, &add_cases[i], NULL), *want;

		want = xasprintf("F: %s\n", add_cases[i].want);
		if (strcmp(out, want) != 0)
			fail_msg("case %zu (%s): got \"%s\", want \"%s\"", i, add_cases[i].in, out,
			    want);
		free(want);
		free(out);
	}
}

static void
add_date(struct dsn_text *o, const void *arg)
{
	dsn_text_add_date(o, *(const int64_t *)arg);
}

/* RFC 5322 3.3 dates in UTC, English names whatever the locale. */
static void
test_date(void **state)
{
	static const struct {
		int64_t t;
		const char *want;
	} cases[] = {
		{ 0, "F: Thu, 01 Jan 1970 00:00:00 +0000\n" },
		{ 951782400, "F: Tue, 29 Feb 2000 00:00:00 +0000\n" },
		{ 1700000000, "F: Tue, 14 Nov 2023 22:13:20 +0000\n" },
		{ 4102444799, "F: Thu, 31 Dec 2099 23:59:59 +0000\n" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = render(add_date, &cases[i].t, NULL);

		assert_string_equal(out, cases[i].want);
		free(out);
	}
}

/* The first failure sticks: later output is not emitted, and raw content
 * is not handed on. */
static void
test_sticky_error(void **state)
{
	struct cap c = { .fail = true };
	struct dsn_text o;

	dsn_text_init(&o, cap_emit, &c);
	dsn_text_add(&o, "x");
	dsn_text_field(&o, "F");
	dsn_text_flush(&o);
	assert_int_equal(o.err, ENOSPC);
	assert_int_equal(c.calls, 1);
	dsn_text_str(&o, "more");
	dsn_text_raw(&o, "raw", 3);
	dsn_text_flush(&o);
	assert_int_equal(c.calls, 1);
	assert_int_equal(o.err, ENOSPC);
	dsn_text_reset(&o);
}

/* Large output goes out in pieces, in order. */
static void
test_pieces(void **state)
{
	struct cap c = { 0 };
	struct dsn_text o;
	size_t total = 0;

	dsn_text_init(&o, cap_emit, &c);
	for (int i = 0; i < 2000; i++) {
		dsn_text_add(&o, "0123456789012345678901234567890123456789");
		dsn_text_field(&o, "Field");
		total += 48;
	}
	dsn_text_raw(&o, "raw\n", 4);
	dsn_text_flush(&o);
	assert_int_equal(o.err, 0);
	assert_true(c.calls > 2);
	assert_int_equal(c.len, total + 4);
	assert_string_equal(c.p + c.len - 52,
	    "Field: 0123456789012345678901234567890123456789\nraw\n");
	dsn_text_reset(&o);
	free(c.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_fold),
		cmocka_unit_test(test_para),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
