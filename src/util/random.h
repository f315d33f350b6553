/* random.h - bytes from the kernel's random source (getrandom), for unique
 * names and MIME boundaries. */
#ifndef POSTINO_UTIL_RANDOM_H
#define POSTINO_UTIL_RANDOM_H

#include <stddef.h>

/* Fill p with n random bytes; 0, or -1 with errno. */
int random_bytes(void *p, size_t n);

#endif
