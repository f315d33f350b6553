/* sizes.c - numbers with unit suffixes for the configuration (see sizes.h).
 * Owns: the syntax DIGITS [SUFFIX] and overflow checks.
 * Leaves: which range a key accepts (config/).
 * Invariant: *out is written only on success; no sign, no space, no fraction. */
#include "util/sizes.h"

#include <stddef.h>

struct unit {
	char suffix;
	uint64_t factor;
};

static const struct unit size_units[] = {
    {'K', 1024ULL},
    {'k', 1024ULL},
    {'M', 1024ULL * 1024},
    {'m', 1024ULL * 1024},
    {'G', 1024ULL * 1024 * 1024},
    {'g', 1024ULL * 1024 * 1024},
};

static const struct unit duration_units[] = {
    {'s', 1},
    {'m', 60},
    {'h', 3600},
    {'d', 86400},
};

/* DIGITS followed by at most one suffix from units; the product must fit. */
static int
parse_scaled(struct span s, const struct unit *units, size_t nunits, uint64_t *out)
{
	uint64_t factor = 1;
	unsigned long long v;

	if (s.len == 0)
		return -1;
	if (s.p[s.len - 1] < '0' || s.p[s.len - 1] > '9') {
		size_t i;

		for (i = 0; i < nunits; i++)
			if (units[i].suffix == s.p[s.len - 1])
				break;
		if (i == nunits)
			return -1;
		factor = units[i].factor;
		s.len--;
	}
	if (span_to_u64(s, UINT64_MAX / factor, &v) < 0)
		return -1;
	*out = (uint64_t)v * factor;
	return 0;
}

int
parse_size_span(struct span s, uint64_t *out)
{
	return parse_scaled(s, size_units, sizeof size_units / sizeof size_units[0], out);
}

int
parse_duration_span(struct span s, uint64_t *out)
{
	return parse_scaled(s, duration_units, sizeof duration_units / sizeof duration_units[0],
	                    out);
}

int
parse_size(const char *s, uint64_t *out)
{
	return parse_size_span(span_cstr(s), out);
}

int
parse_duration(const char *s, uint64_t *out)
{
	return parse_duration_span(span_cstr(s), out);
}
