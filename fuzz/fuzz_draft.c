/* fuzz_draft.c - the message `postino send` reads (src/send/draft.c):
 * input lines, the header section, -t extraction, Bcc removal, the added
 * fields. The first byte chooses -i, -t and the feed size. Checks: the
 * finished message holds no CR or NUL, ends with LF unless empty, has no
 * Bcc field in its header, and its wire size is what DATA would carry. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "send/draft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
any(void *arg, const char *addr, const char *field, char *err, size_t errlen)
{
	if (addr[0] == '\0' || field[0] == '\0')
		abort();
	return 0;
}

static void
check(const struct draft *d)
{
	struct span h = draft_head(d), b = draft_body(d);
	uint64_t lf = 0;

	for (size_t k = 0; k < 2; k++) {
		struct span s = k ? b : h;

		if (memchr(s.p, '\r', s.len) || memchr(s.p, '\0', s.len))
			abort();
		for (size_t i = 0; i < s.len; i++)
			lf += s.p[i] == '\n';
	}
	if (b.len > 0 && b.p[b.len - 1] != '\n')
		abort();
	if (h.len > 0 && h.p[h.len - 1] != '\n')
		abort();
	for (size_t i = 0; i + 4 <= h.len; i++)
		if ((i == 0 || h.p[i - 1] == '\n') && strncasecmp(h.p + i, "bcc:", 4) == 0)
			abort();
	if (draft_wire_size(d) != h.len + b.len + lf)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct draft d;
	struct draft_fix fix = { .from = "a@b", .hostname = "h", .now = 0, .pid = 1,
		.unique = "u", .rcpt = any };
	size_t step;

	if (size < 1)
		return 0;
	fix.extract = data[0] & 2;
	step = (data[0] >> 2) + 1;
	draft_init(&d, data[0] & 1, 1u << 20);
	for (size_t i = 1; i < size; i += step)
		if (!draft_feed(&d, (const char *)data + i, size - i < step ? size - i : step))
			break;
	draft_end(&d);
	if (draft_finish(&d, &fix) == 0)
		check(&d);
	else if (d.err[0] == '\0')
		abort();
	draft_reset(&d);
	return 0;
}
