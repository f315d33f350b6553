/* ehlo.c - EHLO reply extensions (see ehlo.h).
 * Owns: the keyword table. Invariant: reads only the reply's line spans. */
#include "smtp/ehlo.h"

#include <string.h>

#include "util/span.h"

static const struct {
	const char *keyword;
	unsigned bit;
} extensions[] = {
	{ "PIPELINING", SMTP_EXT_PIPELINING }, { "SIZE", SMTP_EXT_SIZE },
	{ "8BITMIME", SMTP_EXT_8BITMIME }, { "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
	{ "DSN", SMTP_EXT_DSN }, { "STARTTLS", SMTP_EXT_STARTTLS },
	{ "CHUNKING", SMTP_EXT_CHUNKING },
	{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES },
};

/* One line: keyword, then parameters after the first SP. A SIZE value that
 * is missing or not a number announces no limit. */
static void
parse_line(struct span line, struct smtp_ehlo *out)
{
	struct span kw = line, arg = { line.p, 0 };
	const char *sp = memchr(line.p, ' ', line.len);
	unsigned long long v;

	if (sp) {
		kw.len = (size_t)(sp - line.p);
		arg = span_trim(span_make(sp + 1, line.len - kw.len - 1));
	}
	for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
		if (!span_eq_cstr_nocase(kw, extensions[i].keyword))
			continue;
		out->ext |= extensions[i].bit;
		if (extensions[i].bit == SMTP_EXT_SIZE)
			out->size_max = span_to_u64(arg, UINT64_MAX, &v) == 0 ? v : 0;
	}
}

void
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out)
{
	out->ext = 0;
	out->size_max = 0;
	/* the first line is the server's name and greeting */
	for (size_t i = 1; i < r->nlines; i++)
		parse_line(r->lines[i], out);
}
