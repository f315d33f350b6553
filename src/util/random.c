/* random.c - the kernel's random bytes (see random.h). */
#include "util/random.h"

#include <errno.h>
#include <sys/random.h>

int
random_bytes(void *p, size_t n)
{
	unsigned char *b = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(b + got, n - got, 0);

		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			got += (size_t)r;
	}
	return 0;
}
