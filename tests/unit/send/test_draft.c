/* test_draft.c - table-driven tests of src/send/draft.c: sendmail's input
 * rules (CRLF, the lone dot with and without -i, the mbox "From " line),
 * the header section (folding, its end with and without an empty line),
 * -t extraction (To, Cc, Bcc, the Resent- set), Bcc removal, the From,
 * Date and Message-ID added when missing, the bounds, and bad octets. Each
 * case is fed whole and one byte at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "send/draft.h"
#include "smtp/limits.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define NOW 1700000000   /* Tue, 14 Nov 2023 22:13:20 +0000 */
#define ADDED_DATE "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
#define ADDED_ID "Message-ID: <1700000000.42.u1@h.test>\n"
#define ADDED_FROM "From: Me <me@h.test>\n"
#define ADDED ADDED_FROM ADDED_DATE ADDED_ID

struct draft_case {
	const char *name;
	bool ignore_dots, extract;
	const char *in;
	const char *want;     /* head, then "#", then body; or "ERR:" and a part of the error */
	const char *rcpts;    /* with extract: the callback's calls, "field=addr;" each */
};

static const struct draft_case cases[] = {
	{ "plain", false, false, "Subject: x\n\nbody\n", "Subject: x\n" ADDED "\n#body\n", "" },
	{ "CRLF", false, false, "Subject: x\r\n\r\nbody\r\n", "Subject: x\n" ADDED "\n#body\n",
	    "" },
	{ "no last LF", false, false, "Subject: x\n\nbody", "Subject: x\n" ADDED "\n#body\n", "" },
	{ "lone dot ends", false, false, "Subject: x\n\na\n.\nb\n", "Subject: x\n" ADDED "\n#a\n",
	    "" },
	{ "lone dot CRLF ends", false, false, "S: x\r\n\r\na\r\n.\r\nb\r\n",
	    "S: x\n" ADDED "\n#a\n", "" },
	{ "-i keeps the dot", true, false, "S: x\n\na\n.\nb\n", "S: x\n" ADDED "\n#a\n.\nb\n", "" },
	{ "dot with text is a line", false, false, "S: x\n\n..\n.a\n", "S: x\n" ADDED "\n#..\n.a\n",
	    "" },
	{ "dot at EOF", false, false, "S: x\n\na\n.", "S: x\n" ADDED "\n#a\n", "" },
	{ "empty input", false, false, "", ADDED "#", "" },
	{ "only headers", false, false, "S: x\n", "S: x\n" ADDED "#", "" },
	{ "no header", false, false, "hello\nworld\n", ADDED "\n#hello\nworld\n", "" },
	{ "body starts without separator", false, false, "S: x\nhello there\n",
	    "S: x\n" ADDED "\n#hello there\n", "" },
	{ "leading continuation is body", false, false, " x\n", ADDED "\n# x\n", "" },
	{ "mbox From line dropped", false, false, "From me@x Tue Nov 14 2023\nS: x\n\nb\n",
	    "S: x\n" ADDED "\n#b\n", "" },
	{ "From line later stays", false, false, "S: x\n\nFrom here\n",
	    "S: x\n" ADDED "\n#From here\n", "" },
	{ "all present", false, false, "From: a@b\nDate: x\nMessage-ID: <y@z>\n\nb\n",
	    "From: a@b\nDate: x\nMessage-ID: <y@z>\n\n#b\n", "" },
	{ "any case, space before colon", false, false, "FROM : a@b\ndate:x\nmessage-id:\n\n",
	    "FROM : a@b\ndate:x\nmessage-id:\n\n#", "" },
	{ "folded field kept", false, false, "Subject: a\n b\n\tc\n\nx\n",
	    "Subject: a\n b\n\tc\n" ADDED "\n#x\n", "" },
	{ "Bcc removed", false, false, "To: a@b\nBcc: c@d,\n e@f\nSubject: s\n\nx\n",
	    "To: a@b\nSubject: s\n" ADDED "\n#x\n", "" },
	{ "Bcc in body stays", false, false, "S: x\n\nBcc: c@d\n", "S: x\n" ADDED "\n#Bcc: c@d\n",
	    "" },
	{ "-t", false, true, "To: A <a@b>, c@d\nCc: e@f\nBcc: g@h\nSubject: s\n\nx\n",
	    "To: A <a@b>, c@d\nCc: e@f\nSubject: s\n" ADDED "\n#x\n",
	    "To=a@b;To=c@d;Cc=e@f;Bcc=g@h;" },
	{ "-t folded", false, true, "To: a@b,\r\n c@d\r\n\r\n", "To: a@b,\n c@d\n" ADDED "\n#",
	    "To=a@b;To=c@d;" },
	{ "-t group", false, true, "To: undisclosed-recipients:;\nBcc: x@y\n\n",
	    "To: undisclosed-recipients:;\n" ADDED "\n#", "Bcc=x@y;" },
	{ "-t field names any case", false, true, "TO: a@b\ncc: c@d\nbCC: e@f\n\n",
	    "TO: a@b\ncc: c@d\n" ADDED "\n#", "TO=a@b;cc=c@d;bCC=e@f;" },
	{ "-t ignores body", false, true, "To: a@b\n\nTo: c@d\n", "To: a@b\n" ADDED "\n#To: c@d\n",
	    "To=a@b;" },
	{ "-t Resent- replaces", false, true,
	    "To: a@b\nResent-To: c@d\nResent-Bcc: e@f\n\n", "To: a@b\nResent-To: c@d\n" ADDED "\n#",
	    "Resent-To=c@d;Resent-Bcc=e@f;" },
	{ "-t no recipients", false, true, "Subject: s\n\n", "Subject: s\n" ADDED "\n#", "" },
	{ "-t malformed", false, true, "To: a@b, <c@d\n\n", "ERR:malformed To field", NULL },
	{ "-t callback refuses", false, true, "To: bad\n\n", "ERR:refused bad", NULL },
	{ "bare CR", false, false, "S: x\n\na\rb\n", "ERR:CR", NULL },
	{ "CR at EOF", false, false, "S: x\n\na\r", "ERR:CR", NULL },
	{ "NUL", false, false, "S: x\n\na\0b\n", "ERR:NUL", NULL },
};

/* The callback: records "field=addr;"; refuses "bad". */
static int
record(void *arg, const char *addr, const char *field, char *err, size_t errlen)
{
	struct buf *b = arg;

	if (strcmp(addr, "bad") == 0) {
		snprintf(err, errlen, "refused %s", addr);
		return -1;
	}
	return buf_printf(b, "%s=%s;", field, addr);
}

static void
fix_init(struct draft_fix *f, bool extract, struct buf *rcpts)
{
	*f = (struct draft_fix){
		.extract = extract, .from = "Me <me@h.test>", .hostname = "h.test", .now = NOW,
		.pid = 42, .unique = "u1", .rcpt = record, .arg = rcpts,
	};
}

/* Feed in (len octets) in pieces of `step`; the result as the table writes it. */
static char *
run(const struct draft_case *c, size_t len, size_t step, uint64_t max, struct buf *rcpts)
{
	struct draft d;
	struct draft_fix fix;
	struct buf out;
	char *copy = xmalloc(len ? len : 1);
	struct span h, b;

	memcpy(copy, c->in, len);
	buf_init(&out, (size_t)-2);
	draft_init(&d, c->ignore_dots, max);
	for (size_t i = 0; i < len; i += step)
		if (!draft_feed(&d, copy + i, len - i < step ? len - i : step))
			break;
	draft_end(&d);
	fix_init(&fix, c->extract, rcpts);
	if (draft_finish(&d, &fix) < 0) {
		buf_printf(&out, "ERR:%s", d.err);
	} else {
		h = draft_head(&d);
		b = draft_body(&d);
		buf_printf(&out, "%.*s#%.*s", (int)h.len, h.p, (int)b.len, b.p);
	}
	draft_reset(&d);
	free(copy);
	return out.data ? out.data : xstrdup("");
}

static size_t
case_len(const struct draft_case *c)
{
	/* the NUL case holds a NUL: its length is up to the final "\n" */
	if (strcmp(c->name, "NUL") == 0)
		return 10;
	return strlen(c->in);
}

static void
test_cases(void **state)
{
	int failures = 0;
	const size_t steps[] = { (size_t)-1 / 2, 1 };

	(void)state;
	setenv("TZ", "UTC", 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct draft_case *c = &cases[i];

		for (size_t k = 0; k < 2; k++) {
			struct buf rcpts;
			char *got;
			bool ok;

			buf_init(&rcpts, 4096);
			got = run(c, case_len(c), steps[k], 1u << 20, &rcpts);
			if (strncmp(c->want, "ERR:", 4) == 0)
				ok = strncmp(got, "ERR:", 4) == 0 &&
				    strstr(got, c->want + 4) != NULL;
			else
				ok = strcmp(got, c->want) == 0;
			if (!ok) {
				print_error("%s (step %zu): got \"%s\", want \"%s\"\n", c->name,
				    steps[k], got, c->want);
				failures++;
			}
			if (c->rcpts && strcmp(rcpts.data ? rcpts.data : "", c->rcpts) != 0) {
				print_error("%s (step %zu): recipients \"%s\", want \"%s\"\n",
				    c->name, steps[k], rcpts.data ? rcpts.data : "", c->rcpts);
				failures++;
			}
			buf_reset(&rcpts);
			free(got);
		}
	}
	assert_int_equal(failures, 0);
}

/* The size bound: content at the limit passes, one octet more does not
 * (counted as DATA carries it: each LF as CRLF, added fields included). */
static void
test_size(void **state)
{
	const struct draft_case c = { "size", true, false,
		"From: a\nDate: b\nMessage-ID: c\n\n0123456789\n", NULL, NULL };
	size_t len = strlen(c.in);
	uint64_t wire = len + 5;   /* five LFs */
	char *got;
	struct buf rcpts;

	(void)state;
	buf_init(&rcpts, 64);
	got = run(&c, len, 7, wire, &rcpts);
	assert_string_equal(got, "From: a\nDate: b\nMessage-ID: c\n\n#0123456789\n");
	free(got);
	got = run(&c, len, 7, wire - 1, &rcpts);
	assert_non_null(strstr(got, "ERR:message larger"));
	free(got);
	got = run(&c, len, 7, 10, &rcpts);   /* over the bound while reading */
	assert_non_null(strstr(got, "ERR:message larger"));
	free(got);
	buf_reset(&rcpts);
}

/* The header section's bounds (SPEC.md: 1 MiB, 10,000 lines). */
static void
test_header_bounds(void **state)
{
	struct buf in, rcpts;
	struct draft_case c = { "lines", false, false, NULL, NULL, NULL };
	char *got;

	(void)state;
	buf_init(&in, (size_t)-2);
	buf_init(&rcpts, 64);
	for (unsigned i = 0; i < SMTP_HEADER_LINES_MAX; i++)
		buf_append_str(&in, "X: y\n");
	c.in = in.data;
	got = run(&c, in.len, 4096, 64u << 20, &rcpts);
	assert_null(strstr(got, "ERR:"));   /* at the limit */
	free(got);
	buf_append_str(&in, "X: y\n");
	c.in = in.data;
	got = run(&c, in.len, 4096, 64u << 20, &rcpts);
	assert_non_null(strstr(got, "ERR:header section over"));
	free(got);
	buf_clear(&in);
	buf_append_str(&in, "X: ");
	while (in.len < SMTP_HEADER_BYTES_MAX)
		buf_append_str(&in, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
	buf_append_str(&in, "\n\nbody\n");
	c.in = in.data;
	got = run(&c, in.len, 65536, 64u << 20, &rcpts);
	assert_non_null(strstr(got, "ERR:header section over"));
	free(got);
	buf_reset(&in);
	buf_reset(&rcpts);
}

/* 8-bit detection and the wire size. */
static void
test_sizes(void **state)
{
	struct draft d;
	struct draft_fix fix;
	struct buf rcpts;
	const char *in = "From: a\nDate: b\nMessage-ID: c\n\nx\xc3\xa9\n";

	(void)state;
	buf_init(&rcpts, 64);
	draft_init(&d, false, 1000);
	draft_feed(&d, in, strlen(in));
	draft_end(&d);
	fix_init(&fix, false, &rcpts);
	assert_int_equal(draft_finish(&d, &fix), 0);
	assert_true(draft_is_8bit(&d));
	assert_int_equal(draft_wire_size(&d), strlen(in) + 5);
	draft_reset(&d);
	buf_reset(&rcpts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_header_bounds),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
