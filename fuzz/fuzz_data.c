/* fuzz_data.c - the DATA/BDAT decoder: arbitrary bytes in arbitrary splits.
 * Checks: output exceeds the input of a call by one byte at most (a held-back
 * dot), the end of DATA is reported only right
 * after CR LF "." CR LF, and the decoded output holds no CR and no NUL when
 * the status is OK. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_data d;
	char *out;
	size_t off = 1, o = 0, step;
	bool done = false, dot;

	if (size < 1)
		return 0;
	dot = data[0] & 1;
	step = (data[0] >> 1) ? (size_t)(data[0] >> 1) : size;
	out = malloc(size + 1);
	smtp_data_init(&d, dot, 1u << 20);
	while (off < size && !done) {
		size_t want = size - off < step ? size - off : step, outlen = 0, used;

		used = smtp_data_decode(&d, (const char *)data + off, want, out + o, &outlen, &done);
		if (used > want || outlen > used + 1)
			abort();
		o += outlen;
		off += used;
		if (done && (off < 5 + 1 ? off != 4 || memcmp(data + 1, ".\r\n", 3) != 0
					   : memcmp(data + off - 5, "\r\n.\r\n", 5) != 0))
			abort();
	}
	if (!dot)
		smtp_data_finish(&d);
	if (smtp_data_status(&d) == SMTP_DATA_OK &&
	    (memchr(out, '\r', o) != NULL || memchr(out, '\0', o) != NULL))
		abort();
	free(out);
	return 0;
}
