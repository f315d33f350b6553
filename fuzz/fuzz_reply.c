/* fuzz_reply.c - the SMTP reply parser against arbitrary server bytes.
 * The first input byte chooses the feed size, so splits are explored along
 * with the bytes. Checks: no crash or leak (sanitizers); a feed never takes
 * more than offered and takes nothing while a reply waits or after an error;
 * every reply is well-formed (code 200-559, 1 to SMTP_REPLY_LINES_MAX lines
 * within the input that made it, an enhanced code of the code's class);
 * the parser always makes progress. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The enhanced status code, when there is one: class.1*3digit.1*3digit. */
static void
check_esc(const struct smtp_reply *r)
{
	size_t n = strlen(r->esc), dots = 0;

	if (n == 0)
		return;
	if (n < 5 || r->esc[0] != '0' + r->code / 100 || r->esc[1] != '.')
		abort();
	for (size_t i = 2; i < n; i++)
		if (r->esc[i] == '.')
			dots++;
		else if (r->esc[i] < '0' || r->esc[i] > '9')
			abort();
	if (dots != 1)
		abort();
}

static void
check_reply(const struct smtp_reply *r, const char *start, size_t len)
{
	size_t total = 0;

	if (r->code < 200 || r->code > 559 || r->nlines < 1 || r->nlines > SMTP_REPLY_LINES_MAX)
		abort();
	if (len > SMTP_REPLY_BYTES_MAX || len < 5 || memcmp(start + len - 2, "\r\n", 2) != 0)
		abort();
	check_esc(r);
	for (size_t i = 0; i < r->nlines; i++) {
		if (r->lines[i].len > SMTP_REPLY_LINE_MAX || memchr(r->lines[i].p, '\n', r->lines[i].len) ||
		    memchr(r->lines[i].p, '\r', r->lines[i].len))
			abort();
		total += r->lines[i].len;
	}
	if (total > len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply_parser *p;
	struct smtp_reply r;
	const char *in = (const char *)data + 1;
	size_t n, step, off = 0, start = 0;

	if (size < 1)
		return 0;
	n = size - 1;
	step = data[0] ? data[0] : n;
	p = smtp_reply_parser_new();
	while (off < n) {
		size_t want = n - off < step ? n - off : step;
		size_t used = smtp_reply_parser_feed(p, in + off, want);

		if (used > want)
			abort();
		off += used;
		if (smtp_reply_parser_next(p, &r)) {
			check_reply(&r, in + start, off - start);
			if (smtp_reply_parser_next(p, &r))
				abort();
			start = off;
			continue;
		}
		if (smtp_reply_parser_error(p) != SMTP_REPLY_OK) {
			if (smtp_reply_parser_feed(p, in + off, n - off) != 0)
				abort();
			break;
		}
		if (used < want)
			abort();     /* stalled without a reply or an error */
	}
	smtp_reply_parser_free(p);
	return 0;
}
