/* span.h - a borrowed, non-NUL-terminated run of bytes.
 * Parsers return spans into their input instead of allocating. A span is
 * valid as long as the bytes it points into. */
#ifndef POSTINO_UTIL_SPAN_H
#define POSTINO_UTIL_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct span {
	const char *p;
	size_t len;
};

#define SPAN_LIT(s) ((struct span){ (s), sizeof(s) - 1 })

static inline struct span
span_make(const char *p, size_t len)
{
	return (struct span){ p, len };
}

static inline struct span
span_cstr(const char *s)
{
	return (struct span){ s, strlen(s) };
}

bool span_eq(struct span a, struct span b);
bool span_eq_nocase(struct span a, struct span b);
bool span_eq_cstr_nocase(struct span a, const char *s);
/* True when a starts with prefix, ASCII case ignored. */
bool span_has_prefix_nocase(struct span a, const char *prefix);
/* Strip leading and trailing SP and HTAB. */
struct span span_trim(struct span a);
/* Parse a decimal unsigned integer that fills the whole span; -1 on
 * empty input, non-digits or overflow past max. */
int span_to_u64(struct span a, unsigned long long max, unsigned long long *out);

#endif
