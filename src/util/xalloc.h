/* xalloc.h - allocation that never returns NULL.
 * Out of memory aborts: safe, because "250" means fsynced, so a crash loses
 * nothing accepted. All heap allocation in postino goes through these. */
#ifndef POSTINO_UTIL_XALLOC_H
#define POSTINO_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted allocation; aborts on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
