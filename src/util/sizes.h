/* sizes.h - configuration numbers: sizes with K/M/G (powers of 1024) and
 * durations with s/m/h/d (no suffix: seconds). */
#ifndef POSTINO_UTIL_SIZES_H
#define POSTINO_UTIL_SIZES_H

#include <stdint.h>

/* "25M" -> 26214400. -1 on syntax error or overflow. */
int parse_size(const char *s, uint64_t *out);
/* "5m" -> 300. -1 on syntax error or overflow. */
int parse_duration(const char *s, uint64_t *out);

#endif
