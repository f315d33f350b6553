/* test_addrlist.c - table-driven tests of src/send/addrlist.c: plain and
 * named mailboxes, groups, comments (nested, with quoted-pairs), quoted
 * strings, domain literals, folding, the obsolete forms of RFC 5322 4.4, and
 * every error. Each input is copied into a heap buffer of its exact size
 * (no NUL after it), so ASan catches a read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "send/addrlist.h"
#include "util/buf.h"
#include "util/xalloc.h"

/* want: the addresses joined by "|"; a trailing "!" when the list ends in
 * an error (the addresses before it are still given). */
struct list_case {
	const char *name;
	const char *in;
	const char *want;
};

static const struct list_case cases[] = {
	{ "one", "a@b.c", "a@b.c" },
	{ "two", "a@b.c, d@e.f", "a@b.c|d@e.f" },
	{ "no space after comma", "a@b.c,d@e.f", "a@b.c|d@e.f" },
	{ "angle only", "<a@b.c>", "a@b.c" },
	{ "display name", "Alice Smith <a@b.c>", "a@b.c" },
	{ "quoted display name", "\"Smith, Alice\" <a@b.c>, d@e", "a@b.c|d@e" },
	{ "quoted name with escapes", "\"a \\\"b\\\" <c@d>\" <a@b.c>", "a@b.c" },
	{ "obs-phrase with dot", "John Q. Public <jqp@x.y>", "jqp@x.y" },
	{ "utf-8 name", "J\xc3\xbcrgen <j@x.y>", "j@x.y" },
	{ "utf-8 address", "j\xc3\xbc@x.y", "j\xc3\xbc@x.y" },
	{ "comment after", "a@b.c (Alice)", "a@b.c" },
	{ "comment inside", "a(x)@(y)b.c", "a@b.c" },
	{ "nested comment", "a@b.c (x (y) z), d@e", "a@b.c|d@e" },
	{ "comment with parens escaped", "a@b.c (x \\( y), d@e", "a@b.c|d@e" },
	{ "comment with comma", "a@b.c (x, y), d@e", "a@b.c|d@e" },
	{ "folded", "a@b.c,\r\n d@e.f,\n\tg@h", "a@b.c|d@e.f|g@h" },
	{ "folded inside quoted name", "\"Al\r\n ice\" <a@b>", "a@b" },
	{ "quoted local part", "\"a b\"@c.d", "\"a b\"@c.d" },
	{ "quoted local in angle", "X <\"a@b\"@c.d>", "\"a@b\"@c.d" },
	{ "domain literal", "a@[192.0.2.1]", "a@[192.0.2.1]" },
	{ "obs CFWS around dots", "john . doe @ example . com", "john.doe@example.com" },
	{ "obs route", "<@r1.x,@r2.y:a@b.c>", "a@b.c" },
	{ "obs route with space", "< @r1.x:a@b.c>", "a@b.c" },
	{ "empty elements", ", a@b,, ,c@d,", "a@b|c@d" },
	{ "empty", "", "" },
	{ "blanks", " \t\r\n ", "" },
	{ "only comments", "(nobody)", "" },
	{ "empty group", "undisclosed-recipients:;", "" },
	{ "empty group, space", "undisclosed-recipients: ;", "" },
	{ "group", "friends: a@b, \"C\" <c@d>;", "a@b|c@d" },
	{ "group then mailbox", "g: a@b; , c@d", "a@b|c@d" },
	{ "two groups", "g: a@b;, h: c@d;", "a@b|c@d" },
	{ "bare local part", "alice", "alice" },
	{ "bare local parts", "alice, bob", "alice|bob" },
	{ "name without address", "Alice Smith", "!" },
	{ "missing comma", "a@b c@d", "!" },
	{ "mailbox, then missing comma", "x@y, a@b c@d", "x@y|!" },
	{ "unterminated comment", "a@b (x", "!" },
	{ "unterminated nested comment", "a@b (x (y)", "!" },
	{ "unterminated quote", "\"abc <a@b>", "!" },
	{ "unterminated literal", "a@[1.2.3", "!" },
	{ "missing >", "A <a@b", "!" },
	{ "stray >", "a@b>", "!" },
	{ "two <", "<<a@b>>", "!" },
	{ "empty angle", "A <>", "!" },
	{ "text after >", "<a@b> x", "!" },
	{ "dot after >", "<a@b>.c", "!" },
	{ "comment after > is fine", "<a@b> (x)", "a@b" },
	{ "space in angle", "<a b@c>", "!" },
	{ "comma in angle", "<a@b, c@d>", "!" },
	{ "semicolon outside group", "a@b;", "!" },
	{ "nested group", "g: h: a@b;;", "!" },
	{ "group not closed", "g: a@b", "a@b|!" },
	{ "control character", "a\x01@b", "!" },
	{ "backslash outside quotes", "a\\b@c", "!" },
	{ "route without colon", "<@a.b>", "!" },
};

/* The addresses of in, as the table writes them; the caller frees it. */
static char *
run(const char *in, size_t outlen)
{
	size_t len = strlen(in);
	char *copy = xmalloc(len ? len : 1), *out = xmalloc(outlen ? outlen : 1);
	struct buf got;
	struct addrlist a;
	const char *why = NULL;
	enum addrlist_result r;

	buf_init(&got, 4096);
	buf_append(&got, "", 0);
	memcpy(copy, in, len);
	addrlist_init(&a, copy, len);
	while ((r = addrlist_next(&a, out, outlen, &why)) == ADDRLIST_ADDR)
		buf_printf(&got, "%s%s", got.len ? "|" : "", out);
	if (r == ADDRLIST_ERROR) {
		if (why == NULL || why[0] == '\0')
			buf_append_str(&got, "(no why)");
		buf_append_str(&got, got.len ? "|!" : "!");
		/* an error is final */
		if (addrlist_next(&a, out, outlen, &why) != ADDRLIST_END)
			buf_append_str(&got, "(not final)");
	}
	free(copy);
	free(out);
	return got.data ? got.data : xstrdup("");
}

static void
test_cases(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = run(cases[i].in, 256);

		if (strcmp(got, cases[i].want) != 0) {
			print_error("%s: got \"%s\", want \"%s\"\n", cases[i].name, got,
			    cases[i].want);
			failures++;
		}
		free(got);
	}
	assert_int_equal(failures, 0);
}

/* An address that does not fit is an error, never a truncation: at the
 * limit it fits (with its NUL), one octet more does not. */
static void
test_too_long(void **state)
{
	char in[64];
	char *got;

	(void)state;
	memset(in, 'a', 10);
	memcpy(in + 10, "@b.c", 5);   /* 14 octets */
	got = run(in, 15);
	assert_string_equal(got, "aaaaaaaaaa@b.c");
	free(got);
	got = run(in, 14);
	assert_string_equal(got, "!");
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
