/* fuzz_addrlist.c - RFC 5322 address lists (src/send/addrlist.c).
 * Checks: every address is non-empty, NUL-terminated inside the buffer and
 * holds no white space, CR or LF outside a quoted string or literal; an
 * error has a why and is final; and with a buffer as large as the input
 * nothing is ever too long. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "send/addrlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addr(const char *out, size_t outlen)
{
	size_t n = strnlen(out, outlen);
	char delim = 0;   /* inside a quoted string ('"') or a literal (']') */

	if (n == 0 || n >= outlen)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = out[i];

		if (delim) {
			if (c == '\\')
				i++;
			else if (c == delim)
				delim = 0;
		} else if (c == '"' || c == '[') {
			delim = c == '"' ? '"' : ']';
		} else if (strchr(" \t\r\n(),<>:;\\", c)) {
			abort();
		}
	}
}

static void
run(const char *p, size_t n, size_t outlen)
{
	char *out = malloc(outlen);
	struct addrlist a;
	const char *why = NULL;
	enum addrlist_result r;

	addrlist_init(&a, p, n);
	while ((r = addrlist_next(&a, out, outlen, &why)) == ADDRLIST_ADDR)
		check_addr(out, outlen);
	if (r == ADDRLIST_ERROR) {
		if (why == NULL || why[0] == '\0')
			abort();
		/* an address is made of input octets only: it always fits here */
		if (outlen > n && strcmp(why, "address too long") == 0)
			abort();
		if (addrlist_next(&a, out, outlen, &why) != ADDRLIST_END)
			abort();
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run((const char *)data, size, size + 1);
	run((const char *)data, size, 16);
	return 0;
}
