/* test_span_buf.c - span comparisons and numbers, bounded buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/span.h"

struct u64case {
	const char *in;
	unsigned long long max;
	int want_rc;
	unsigned long long want;
};

static void
test_span_to_u64(void **state)
{
	static const struct u64case cases[] = {
		{ "0", 5, 0, 0 },
		{ "5", 5, 0, 5 },
		{ "6", 5, -1, 0 },
		{ "7", 5, -1, 0 },   /* max < 9 must not wrap */
		{ "10", 9, -1, 0 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, -1, 0 },
		{ "", 10, -1, 0 },
		{ "1a", 100, -1, 0 },
		{ "-1", 100, -1, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned long long v = 0;
		int rc = span_to_u64(span_cstr(cases[i].in), cases[i].max, &v);

		if (rc != cases[i].want_rc || (rc == 0 && v != cases[i].want))
			fail_msg("'%s' max %llu: got rc %d value %llu, want rc %d value %llu",
			    cases[i].in, cases[i].max, rc, v, cases[i].want_rc, cases[i].want);
	}
}

static void
test_span_compare(void **state)
{
	assert_true(span_eq_cstr_nocase(SPAN_LIT("MaIl"), "mail"));
	assert_false(span_eq_cstr_nocase(SPAN_LIT("mail "), "mail"));
	assert_true(span_has_prefix_nocase(SPAN_LIT("RCPT TO:<a>"), "rcpt "));
	assert_false(span_has_prefix_nocase(SPAN_LIT("RCP"), "rcpt"));
	struct span t = span_trim(SPAN_LIT(" \tx y\t "));
	assert_int_equal(t.len, 3);
	assert_memory_equal(t.p, "x y", 3);
}

static void
test_buf_bounds(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "12345678", 8), 0);
	assert_int_equal(buf_append(&b, "9", 1), -1);   /* refused, not truncated */
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_consume(&b, 3);
	assert_string_equal(b.data, "45678");
	assert_int_equal(buf_printf(&b, "%s", "abcd"), -1);
	assert_int_equal(buf_printf(&b, "%d", 12), 0);
	assert_string_equal(b.data, "4567812");
	buf_reset(&b);
	buf_init(&b, 1000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(buf_printf(&b, "%08d|", i), 0);
	assert_int_equal(b.len, 900);
	assert_int_equal(buf_printf(&b, "%0300d", 1), -1);
	buf_reset(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_span_to_u64),
		cmocka_unit_test(test_span_compare),
		cmocka_unit_test(test_buf_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
