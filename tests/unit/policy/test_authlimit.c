/* test_authlimit.c - delays double, the lock comes at the tenth failure and
 * lasts its time, successes and the window forget failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/authlimit.h"

static const uint8_t a1[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };
static const uint8_t a2[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 2 };

static void
test_doubling_then_lock(void **state)
{
	struct authlimit *a = authlimit_new();
	static const int want[] = { 1, 2, 4, 8, 16, 16, 16, 16, 16, -1 };

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		int got = authlimit_failed(a, a1, 1000 + (int64_t)i);

		if (got != want[i])
			fail_msg("failure %zu: got %d, want %d", i + 1, got, want[i]);
	}
	assert_true(authlimit_locked(a, a1, 1010));
	assert_false(authlimit_locked(a, a2, 1010));
	assert_true(authlimit_locked(a, a1, 1009 + AUTHLIMIT_LOCK_TIME - 1));
	assert_false(authlimit_locked(a, a1, 1009 + AUTHLIMIT_LOCK_TIME));
	authlimit_free(a);
}

static void
test_success_and_window_forget(void **state)
{
	struct authlimit *a = authlimit_new();

	assert_int_equal(authlimit_failed(a, a1, 100), 1);
	assert_int_equal(authlimit_failed(a, a1, 101), 2);
	authlimit_succeeded(a, a1);
	assert_int_equal(authlimit_failed(a, a1, 102), 1);
	assert_int_equal(authlimit_failed(a, a1, 102 + AUTHLIMIT_WINDOW + 1), 1);
	authlimit_free(a);
}

static void
test_bounded_entries(void **state)
{
	struct authlimit *a = authlimit_new();
	uint8_t addr[16] = { 0 };

	for (uint32_t i = 0; i < AUTHLIMIT_MAX_ENTRIES * 2; i++) {
		memcpy(addr, &i, sizeof i);
		assert_int_equal(authlimit_failed(a, addr, i), 1);
	}
	authlimit_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling_then_lock),
		cmocka_unit_test(test_success_and_window_forget),
		cmocka_unit_test(test_bounded_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
