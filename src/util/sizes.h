/* sizes.h - configuration numbers: sizes with K/M/G (powers of 1024) and
 * durations with s/m/h/d (no suffix: seconds). */
#ifndef POSTINO_UTIL_SIZES_H
#define POSTINO_UTIL_SIZES_H

#include <stdint.h>

#include "util/span.h"

/* "25M" -> 26214400. -1 on syntax error or overflow. */
int parse_size(const char *s, uint64_t *out);
/* "5m" -> 300. -1 on syntax error or overflow. */
int parse_duration(const char *s, uint64_t *out);

/* The same over a span (the whole span must be the number and its suffix).
 * Sizes take K, M, G in either case; durations take s, m, h, d in lower case
 * only (so "5M" is never read as minutes or months by mistake). */
int parse_size_span(struct span s, uint64_t *out);
int parse_duration_span(struct span s, uint64_t *out);

#endif
