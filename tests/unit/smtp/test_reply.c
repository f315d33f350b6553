/* test_reply.c - the SMTP reply parser, table-driven, whole and in every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/reply.h"

struct rcase {
	const char *name;
	const char *in;
	size_t inlen;                 /* 0: strlen(in) */
	enum smtp_reply_error err;
	int code;
	const char *esc;
	const char *lines;            /* line texts joined by "|" */
	size_t consumed;              /* 0: all input */
};

#define ALL 0
static const struct rcase cases[] = {
	{ "single", "250 ok\r\n", ALL, SMTP_REPLY_OK, 250, "", "ok", ALL },
	{ "no text", "250\r\n", ALL, SMTP_REPLY_OK, 250, "", "", ALL },
	{ "SP, no text", "250 \r\n", ALL, SMTP_REPLY_OK, 250, "", "", ALL },
	{ "multi-line", "250-a\r\n250-b c\r\n250 d\r\n", ALL, SMTP_REPLY_OK, 250, "", "a|b c|d",
	    ALL },
	{ "empty continuation", "250-\r\n250 c\r\n", ALL, SMTP_REPLY_OK, 250, "", "|c", ALL },
	{ "final without text", "220-a\r\n220\r\n", ALL, SMTP_REPLY_OK, 220, "", "a|", ALL },
	{ "stops after one reply", "250 a\r\n251 b\r\n", ALL, SMTP_REPLY_OK, 250, "", "a", 7 },
	{ "esc", "550 5.1.1 user unknown\r\n", ALL, SMTP_REPLY_OK, 550, "5.1.1", "user unknown",
	    ALL },
	{ "esc alone", "250 2.0.0\r\n", ALL, SMTP_REPLY_OK, 250, "2.0.0", "", ALL },
	{ "esc three digits", "452 4.123.456 x\r\n", ALL, SMTP_REPLY_OK, 452, "4.123.456", "x",
	    ALL },
	{ "esc on every line", "550-5.7.1 a\r\n550 5.7.1 b\r\n", ALL, SMTP_REPLY_OK, 550, "5.7.1",
	    "a|b", ALL },
	{ "esc on first line only", "550-5.7.1 a\r\n550 b\r\n", ALL, SMTP_REPLY_OK, 550, "5.7.1",
	    "a|b", ALL },
	{ "other esc later kept", "550-5.7.1 a\r\n550 5.7.2 b\r\n", ALL, SMTP_REPLY_OK, 550,
	    "5.7.1", "a|5.7.2 b", ALL },
	{ "esc class mismatch", "550 4.1.1 x\r\n", ALL, SMTP_REPLY_OK, 550, "", "4.1.1 x", ALL },
	{ "esc two parts", "550 5.1 x\r\n", ALL, SMTP_REPLY_OK, 550, "", "5.1 x", ALL },
	{ "esc four digits", "550 5.1234.1 x\r\n", ALL, SMTP_REPLY_OK, 550, "", "5.1234.1 x", ALL },
	{ "esc glued to text", "550 5.1.1x\r\n", ALL, SMTP_REPLY_OK, 550, "", "5.1.1x", ALL },
	{ "esc trailing dot", "550 5.1.1. x\r\n", ALL, SMTP_REPLY_OK, 550, "", "5.1.1. x", ALL },
	{ "esc not at start", "550 x 5.1.1\r\n", ALL, SMTP_REPLY_OK, 550, "", "x 5.1.1", ALL },
	{ "HTAB in text", "250 a\tb\r\n", ALL, SMTP_REPLY_OK, 250, "", "a\tb", ALL },
	{ "8-bit text kept", "250 caf\xc3\xa9\r\n", ALL, SMTP_REPLY_OK, 250, "", "caf\xc3\xa9", ALL },
	{ "559 highest", "559 x\r\n", ALL, SMTP_REPLY_OK, 559, "", "x", ALL },
	{ "bare LF", "250 ok\n", ALL, SMTP_REPLY_BAD_LINE_END, 0, NULL, NULL, ALL },
	{ "bare LF in multi-line", "250-a\n250 b\r\n", ALL, SMTP_REPLY_BAD_LINE_END, 0, NULL, NULL,
	    6 },
	{ "bare CR", "250 o\rk\r\n", ALL, SMTP_REPLY_BAD_LINE_END, 0, NULL, NULL, ALL },
	{ "NUL", "250 o\0k\r\n", 9, SMTP_REPLY_BAD_CHAR, 0, NULL, NULL, ALL },
	{ "control character", "250 o\x01k\r\n", ALL, SMTP_REPLY_BAD_CHAR, 0, NULL, NULL, ALL },
	{ "DEL", "250 o\x7fk\r\n", ALL, SMTP_REPLY_BAD_CHAR, 0, NULL, NULL, ALL },
	{ "empty line", "\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "letters", "abc\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "two digits", "25\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "1yz", "150 x\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "6yz", "650 x\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "x6z", "260 x\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "digit letter", "2x0 x\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "leading SP", " 250 x\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL, ALL },
	{ "four digits", "2500 x\r\n", ALL, SMTP_REPLY_BAD_SEPARATOR, 0, NULL, NULL, ALL },
	{ "bad separator", "250_x\r\n", ALL, SMTP_REPLY_BAD_SEPARATOR, 0, NULL, NULL, ALL },
	{ "code changes", "250-a\r\n251 b\r\n", ALL, SMTP_REPLY_CODE_MISMATCH, 0, NULL, NULL, ALL },
	{ "class changes", "250-a\r\n550 b\r\n", ALL, SMTP_REPLY_CODE_MISMATCH, 0, NULL, NULL,
	    ALL },
	{ "code changes mid", "450-a\r\n450-b\r\n451-c\r\n450 d\r\n", ALL,
	    SMTP_REPLY_CODE_MISMATCH, 0, NULL, NULL, 21 },
	{ "bad line in multi-line", "250-a\r\nxyz\r\n", ALL, SMTP_REPLY_BAD_CODE, 0, NULL, NULL,
	    ALL },
};

struct got {
	enum smtp_reply_error err;
	bool complete;
	size_t consumed;
	int code;
	char esc[SMTP_REPLY_ESC_SIZE];
	char lines[SMTP_REPLY_BYTES_MAX + SMTP_REPLY_LINES_MAX + 1];
};

/* Join a reply's line texts with "|". */
static void
join_lines(const struct smtp_reply *r, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->nlines; i++) {
		int n = snprintf(out + o, outlen - o, "%s%.*s", i ? "|" : "", (int)r->lines[i].len,
		    r->lines[i].p);

		assert_true(n >= 0 && (size_t)n < outlen - o);
		o += (size_t)n;
	}
}

/* Feed in[0 .. len) in pieces: first `first` bytes, then `step` at a time
 * (0: the rest at once), until a reply or an error. */
static void
run(const char *in, size_t len, size_t first, size_t step, struct got *g)
{
	struct smtp_reply_parser *p = smtp_reply_parser_new();
	struct smtp_reply r;
	size_t off = 0;

	memset(g, 0, sizeof *g);
	while (off < len) {
		size_t want = off == 0 && first ? first : step ? step : len - off, used;

		if (want > len - off)
			want = len - off;
		used = smtp_reply_parser_feed(p, in + off, want);
		off += used;
		if (smtp_reply_parser_next(p, &r)) {
			g->complete = true;
			g->code = r.code;
			memcpy(g->esc, r.esc, sizeof g->esc);
			join_lines(&r, g->lines, sizeof g->lines);
			break;
		}
		if (smtp_reply_parser_error(p) != SMTP_REPLY_OK || used < want)
			break;
	}
	g->err = smtp_reply_parser_error(p);
	g->consumed = off;
	/* sticky: nothing more is taken after an error */
	if (g->err != SMTP_REPLY_OK)
		assert_int_equal(smtp_reply_parser_feed(p, "250 ok\r\n", 8), 0);
	smtp_reply_parser_free(p);
}

static void
check(const struct rcase *c, size_t first, size_t step)
{
	size_t len = c->inlen ? c->inlen : strlen(c->in);
	struct got g;

	run(c->in, len, first, step, &g);
	if (g.err != c->err) {
		print_error("%s (first %zu, step %zu): got error %d (%s), want %d (%s)\n", c->name,
		    first, step, g.err, smtp_reply_error_text(g.err), c->err,
		    smtp_reply_error_text(c->err));
		fail();
	}
	if (c->err != SMTP_REPLY_OK) {
		if (g.complete) {
			print_error("%s: got a reply, want none\n", c->name);
			fail();
		}
		return;
	}
	if (!g.complete || g.code != c->code || strcmp(g.esc, c->esc) != 0 ||
	    strcmp(g.lines, c->lines) != 0 || g.consumed != (c->consumed ? c->consumed : len)) {
		print_error("%s (first %zu, step %zu): got complete=%d code=%d esc='%s' lines='%s' "
			    "consumed=%zu, want code=%d esc='%s' lines='%s' consumed=%zu\n",
		    c->name, first, step, g.complete, g.code, g.esc, g.lines, g.consumed, c->code,
		    c->esc, c->lines, c->consumed ? c->consumed : len);
		fail();
	}
}

/* Every case whole, one byte at a time, a few odd steps, and cut in two at
 * every byte. */
static void
test_table(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct rcase *c = &cases[i];
		size_t len = c->inlen ? c->inlen : strlen(c->in);

		for (size_t step = 0; step < 8; step++)
			check(c, 0, step);
		for (size_t cut = 1; cut < len; cut++)
			check(c, cut, 0);
	}
}

struct lcase {
	const char *name;
	size_t nlines;                /* lines in the reply */
	size_t linelen;               /* octets per line, CRLF included */
	size_t lastlen;               /* octets of the last line; 0: linelen */
	enum smtp_reply_error err;
};

static const struct lcase limits[] = {
	{ "line at its limit", 1, SMTP_REPLY_LINE_MAX, 0, SMTP_REPLY_OK },
	{ "line over its limit", 1, SMTP_REPLY_LINE_MAX + 1, 0, SMTP_REPLY_LINE_TOO_LONG },
	{ "long line later", 3, 10, SMTP_REPLY_LINE_MAX + 1, SMTP_REPLY_LINE_TOO_LONG },
	{ "huge line", 1, 1000000, 0, SMTP_REPLY_LINE_TOO_LONG },
	{ "lines at their limit", SMTP_REPLY_LINES_MAX, 8, 0, SMTP_REPLY_OK },
	{ "one line too many", SMTP_REPLY_LINES_MAX + 1, 8, 0, SMTP_REPLY_TOO_MANY_LINES },
	{ "bytes at their limit", 64, SMTP_REPLY_BYTES_MAX / 64, 0, SMTP_REPLY_OK },
	{ "one byte too many", 64, SMTP_REPLY_BYTES_MAX / 64, SMTP_REPLY_BYTES_MAX / 64 + 1,
	    SMTP_REPLY_TOO_BIG },
	{ "many long lines", 150, 2000, 0, SMTP_REPLY_TOO_BIG },
};

/* A reply of n lines "250-xxx" ... "250 xxx", each len octets (CRLF included). */
static char *
make_reply(const struct lcase *c, size_t *outlen)
{
	size_t last = c->lastlen ? c->lastlen : c->linelen;
	size_t total = (c->nlines - 1) * c->linelen + last, o = 0;
	char *s = malloc(total);

	assert_non_null(s);
	for (size_t i = 0; i < c->nlines; i++) {
		size_t len = i + 1 == c->nlines ? last : c->linelen;

		memset(s + o, 'x', len);
		memcpy(s + o, i + 1 == c->nlines ? "250 " : "250-", 4);
		memcpy(s + o + len - 2, "\r\n", 2);
		o += len;
	}
	*outlen = total;
	return s;
}

static void
test_limits(void **state)
{
	static const size_t steps[] = { 0, 1, 7, 4096 };

	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		const struct lcase *c = &limits[i];
		size_t len;
		char *s = make_reply(c, &len);

		for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
			struct got g;

			if (steps[k] == 1 && len > 100000)
				continue;
			run(s, len, 0, steps[k], &g);
			if (g.err != c->err || g.complete != (c->err == SMTP_REPLY_OK)) {
				print_error("%s (step %zu): got error %d complete %d, want error %d\n",
				    c->name, steps[k], g.err, g.complete, c->err);
				fail();
			}
			/* an oversized line is refused before it is buffered */
			if (c->err == SMTP_REPLY_LINE_TOO_LONG && g.consumed > len - 1) {
				print_error("%s: consumed %zu of %zu\n", c->name, g.consumed, len);
				fail();
			}
		}
		free(s);
	}
}

/* Pipelined replies in one buffer come out one by one, each reply's spans
 * valid until the next feed. */
static void
test_sequence(void **state)
{
	static const char in[] = "250-mx\r\n250 PIPELINING\r\n250 2.1.0 ok\r\n550 5.1.1 no\r\n"
				 "354 go\r\n";
	static const int want[] = { 250, 250, 550, 354 };
	struct smtp_reply_parser *p = smtp_reply_parser_new();
	struct smtp_reply r;
	size_t off = 0, n = 0;

	assert_false(smtp_reply_parser_next(p, &r));
	while (off < sizeof in - 1) {
		size_t used = smtp_reply_parser_feed(p, in + off, sizeof in - 1 - off);

		off += used;
		assert_true(smtp_reply_parser_next(p, &r));
		assert_false(smtp_reply_parser_next(p, &r));
		assert_int_equal(smtp_reply_parser_feed(p, in + off, 0), 0);
		assert_true(n < 4);
		if (r.code != want[n]) {
			print_error("reply %zu: got %d, want %d\n", n, r.code, want[n]);
			fail();
		}
		n++;
	}
	assert_int_equal(n, 4);
	assert_false(smtp_reply_parser_is_partial(p));
	assert_int_equal(smtp_reply_parser_feed(p, "25", 2), 2);
	assert_true(smtp_reply_parser_is_partial(p));
	smtp_reply_parser_free(p);
}

/* A complete reply waiting to be taken blocks further input. */
static void
test_blocks_until_taken(void **state)
{
	struct smtp_reply_parser *p = smtp_reply_parser_new();
	struct smtp_reply r;

	assert_int_equal(smtp_reply_parser_feed(p, "250 a\r\n250 b\r\n", 14), 7);
	assert_int_equal(smtp_reply_parser_feed(p, "250 b\r\n", 7), 0);
	assert_true(smtp_reply_parser_next(p, &r));
	assert_int_equal(smtp_reply_parser_feed(p, "250 b\r\n", 7), 7);
	assert_true(smtp_reply_parser_next(p, &r));
	assert_int_equal(r.lines[0].len, 1);
	assert_memory_equal(r.lines[0].p, "b", 1);
	smtp_reply_parser_free(p);
	smtp_reply_parser_free(NULL);
	assert_string_equal(smtp_reply_error_text(SMTP_REPLY_TOO_BIG), "reply too large");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_blocks_until_taken),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
