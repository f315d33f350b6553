/* diag.h - a list of problems found in an input file, each "FILE:LINE: message".
 * Checkers add to it and keep going, so an administrator sees every problem at
 * once (as `postino check` prints them). */
#ifndef POSTINO_UTIL_DIAG_H
#define POSTINO_UTIL_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct diag_item {
	bool warning;  /* warnings are printed but do not make the input unusable */
	char *text;    /* complete line, e.g. "postino.conf:12: unknown key 'foo'" */
};

struct diag {
	struct diag_item *items;
	size_t n, cap;
	size_t nerrors;
};

void diag_init(struct diag *d);
void diag_reset(struct diag *d);
/* file may be NULL (then "postino: message"); line 0 omits the line number. */
void diag_error(struct diag *d, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_warn(struct diag *d, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Print every item, one per line (warnings read "FILE:LINE: warning: ..."). */
void diag_print(const struct diag *d, FILE *f);

#endif
