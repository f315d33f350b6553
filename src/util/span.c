/* span.c - comparisons and small parses over borrowed byte runs. */
#include "util/span.h"

static inline unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool
span_eq(struct span a, struct span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
span_eq_nocase(struct span a, struct span b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
			return false;
	return true;
}

bool
span_eq_cstr_nocase(struct span a, const char *s)
{
	return span_eq_nocase(a, span_cstr(s));
}

bool
span_has_prefix_nocase(struct span a, const char *prefix)
{
	size_t n = strlen(prefix);

	return a.len >= n && span_eq_nocase(span_make(a.p, n), span_make(prefix, n));
}

struct span
span_trim(struct span a)
{
	while (a.len > 0 && (a.p[0] == ' ' || a.p[0] == '\t')) {
		a.p++;
		a.len--;
	}
	while (a.len > 0 && (a.p[a.len - 1] == ' ' || a.p[a.len - 1] == '\t'))
		a.len--;
	return a;
}

int
span_to_u64(struct span a, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (a.len == 0)
		return -1;
	for (size_t i = 0; i < a.len; i++) {
		unsigned d;

		if (a.p[i] < '0' || a.p[i] > '9')
			return -1;
		d = (unsigned)(a.p[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
