/* test_data.c - the DATA/BDAT decoder, table-driven, in every split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/data.h"
#include "smtp/limits.h"

struct dcase {
	const char *name;
	bool dot;
	const char *in;
	size_t inlen;             /* 0: strlen(in) */
	const char *want;         /* output */
	bool done;                /* dot mode: terminator found */
	size_t consumed;          /* 0: all input */
	enum smtp_data_status status;
	uint64_t size;            /* as sent; (uint64_t)-1: don't check */
};

#define ALL 0
static const struct dcase cases[] = {
	{ "empty message", true, ".\r\n", ALL, "", true, ALL, SMTP_DATA_OK, 0 },
	{ "one line", true, "a\r\n.\r\n", ALL, "a\n", true, ALL, SMTP_DATA_OK, 3 },
	{ "stops after terminator", true, "a\r\n.\r\nQUIT\r\n", ALL, "a\n", true, 6, SMTP_DATA_OK, 3 },
	{ "unstuff", true, "..a\r\n.\r\n", ALL, ".a\n", true, ALL, SMTP_DATA_OK, 4 },
	{ "unstuff only first", true, "...\r\n.\r\n", ALL, "..\n", true, ALL, SMTP_DATA_OK, 4 },
	{ "dot mid line", true, "a.b\r\n.\r\n", ALL, "a.b\n", true, ALL, SMTP_DATA_OK, 5 },
	{ "LF.LF is content", true, "a\n.\nb\r\n.\r\n", ALL, "a\n.\nb\n", true, ALL, SMTP_DATA_OK,
	    (uint64_t)-1 },
	{ "LF.CRLF is content", true, "a\n.\r\nb", ALL, "a\n.\nb", false, ALL, SMTP_DATA_OK,
	    (uint64_t)-1 },
	{ "CRLF.LF is content", true, "a\r\n.\nb\r\n.\r\n", ALL, "a\n.\nb\n", true, ALL,
	    SMTP_DATA_OK, (uint64_t)-1 },
	{ "CR.CR is bad", true, "a\r.\rb\r\n.\r\n", ALL, NULL, true, ALL, SMTP_DATA_BAD_BYTES,
	    (uint64_t)-1 },
	{ "CR.LF is bad", true, "a\r.\nb\r\n.\r\n", ALL, NULL, true, ALL, SMTP_DATA_BAD_BYTES,
	    (uint64_t)-1 },
	{ "CRLF.CR is bad", true, "a\r\n.\rb\r\n.\r\n", ALL, NULL, true, ALL, SMTP_DATA_BAD_BYTES,
	    (uint64_t)-1 },
	{ "NUL is bad", true, "a\0b\r\n.\r\n", 8, NULL, true, ALL, SMTP_DATA_BAD_BYTES, (uint64_t)-1 },
	{ "CR CR LF is bad", true, "a\r\r\n.\r\n", ALL, NULL, true, ALL, SMTP_DATA_BAD_BYTES,
	    (uint64_t)-1 },
	{ "no terminator yet", true, "a\r\n.", ALL, "a\n", false, ALL, SMTP_DATA_OK, 3 },
	{ "bdat raw", false, "a\r\n.\r\nb", ALL, "a\n.\nb", false, ALL, SMTP_DATA_OK, 7 },
	{ "bdat bare LF", false, "a\nb", ALL, "a\nb", false, ALL, SMTP_DATA_OK, 3 },
	{ "bdat bare CR", false, "a\rb", ALL, NULL, false, ALL, SMTP_DATA_BAD_BYTES, (uint64_t)-1 },
};

/* Run one case with input split every `split` bytes (0: whole). */
static void
run_case(const struct dcase *c, size_t split)
{
	size_t inlen = c->inlen ? c->inlen : strlen(c->in), off = 0, o = 0;
	char out[256];
	struct smtp_data d;
	bool done = false;

	smtp_data_init(&d, c->dot, 100000);
	while (off < inlen && !done) {
		size_t want = split && inlen - off > split ? split : inlen - off, outlen = 0;

		off += smtp_data_decode(&d, c->in + off, want, out + o, &outlen, &done);
		o += outlen;
	}
	if (!c->dot)
		smtp_data_finish(&d);
	if (done != c->done || off != (c->consumed ? c->consumed : inlen) ||
	    smtp_data_status(&d) != c->status) {
		print_error("%s (split %zu): got done=%d consumed=%zu status=%d, want done=%d "
			    "status=%d\n",
		    c->name, split, done, off, smtp_data_status(&d), c->done, c->status);
		fail();
	}
	if (c->want && (o != strlen(c->want) || memcmp(out, c->want, o) != 0)) {
		print_error("%s (split %zu): got '%.*s', want '%s'\n", c->name, split, (int)o, out,
		    c->want);
		fail();
	}
	if (c->size != (uint64_t)-1 && d.size != c->size) {
		print_error("%s: size got %llu, want %llu\n", c->name, (unsigned long long)d.size,
		    (unsigned long long)c->size);
		fail();
	}
}

static void
test_table(void **state)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (size_t split = 0; split < 4; split++)
			run_case(&cases[i], split);
}

static void
test_size_limit(void **state)
{
	struct smtp_data d;
	char in[64], out[64];
	size_t outlen;
	bool done;

	/* max 10: "0123456789\r\n" is 12 octets as sent */
	smtp_data_init(&d, true, 10);
	memcpy(in, "01234567\r\n.\r\n", 13);
	smtp_data_decode(&d, in, 13, out, &outlen, &done);
	assert_true(done);
	assert_int_equal(smtp_data_status(&d), SMTP_DATA_OK);
	smtp_data_init(&d, true, 10);
	memcpy(in, "012345678\r\n.\r\n", 14);
	smtp_data_decode(&d, in, 14, out, &outlen, &done);
	assert_true(done);
	assert_int_equal(smtp_data_status(&d), SMTP_DATA_TOO_BIG);
}

static void
test_header_limits(void **state)
{
	static char in[SMTP_HEADER_LINES_MAX * 4 + 16], out[sizeof in];
	struct smtp_data d;
	size_t n = 0, outlen;
	bool done;

	for (unsigned i = 0; i <= SMTP_HEADER_LINES_MAX; i++) {
		memcpy(in + n, "a:\r\n", 4);
		n += 4;
	}
	smtp_data_init(&d, false, UINT64_MAX);
	smtp_data_decode(&d, in, n, out, &outlen, &done);
	assert_int_equal(smtp_data_status(&d), SMTP_DATA_HEADERS_TOO_BIG);
	/* the same count of lines after the blank line is body, not header */
	smtp_data_init(&d, false, UINT64_MAX);
	smtp_data_decode(&d, "\r\n", 2, out, &outlen, &done);
	smtp_data_decode(&d, in, n, out, &outlen, &done);
	assert_int_equal(smtp_data_status(&d), SMTP_DATA_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_header_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
