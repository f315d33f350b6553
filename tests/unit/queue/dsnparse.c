/* dsnparse.c - a strict reader of DSNs for the tests (see dsnparse.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dsnparse.h"
#include "util/xalloc.h"

/* Where the line after the one at i starts (len when none). */
static size_t
next_line(const char *s, size_t len, size_t i)
{
	const char *nl = memchr(s + i, '\n', len - i);

	return nl != NULL ? (size_t)(nl - s) + 1 : len;
}

/* Field name's value in a header section, unfolded, leading space
 * removed; NULL when absent. Fails the test when it occurs twice. */
char *
field(const char *hdr, size_t len, const char *name)
{
	size_t nl = strlen(name);
	char *val = NULL;

	for (size_t i = 0; i < len; i = next_line(hdr, len, i)) {
		size_t j = i + nl + 1, k = 0;

		if (len - i <= nl || strncasecmp(hdr + i, name, nl) != 0 || hdr[i + nl] != ':')
			continue;
		if (val != NULL)
			fail_msg("field %s occurs twice", name);
		val = xmalloc(len - i);
		while (j < len && hdr[j] == ' ')
			j++;
		for (; j < len && !(hdr[j] == '\n' && (j + 1 >= len || hdr[j + 1] != ' ')); j++)
			if (hdr[j] != '\n')
				val[k++] = hdr[j];
		val[k] = '\0';
	}
	return val;
}

void
want_field(const char *hdr, size_t len, const char *name, const char *want)
{
	char *got = field(hdr, len, name);

	if (want == NULL && got != NULL)
		fail_msg("%s: got \"%s\", want none", name, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("%s: got \"%s\", want \"%s\"", name, got ? got : "(none)", want);
	free(got);
}

/* Split out into header, boundary and parts; fail the test on any deviation
 * from: header, empty line, preamble, "--B" parts, "--B--" at the very end. */
void
parse(const char *out, struct parsed *ps)
{
	const char *end = strstr(out, "\n\n"), *p, *close;
	char *ct, *b, delim[160];

	memset(ps, 0, sizeof *ps);
	assert_non_null(end);
	ps->hdr = out;
	ps->hdr_len = (size_t)(end - out) + 1;
	ct = field(ps->hdr, ps->hdr_len, "Content-Type");
	assert_non_null(ct);
	assert_non_null(b = strstr(ct, "; boundary=\""));
	assert_true(strncmp(ct, "multipart/report; report-type=delivery-status;", 46) == 0);
	b += 12;
	assert_non_null(strchr(b, '"'));
	snprintf(ps->boundary, sizeof ps->boundary, "%.*s", (int)(strchr(b, '"') - b), b);
	free(ct);
	snprintf(delim, sizeof delim, "\n--%s", ps->boundary);
	p = strstr(end, delim);
	assert_non_null(p);
	close = out + strlen(out) - strlen(delim) - 3;
	assert_true(close > p && strncmp(close, delim, strlen(delim)) == 0);
	assert_string_equal(close + strlen(delim), "--\n");
	while (p < close) {
		struct part *pt = &ps->parts[ps->nparts++];
		const char *next = strstr(p + 1, delim), *blank;

		assert_true(ps->nparts <= 3 && next != NULL && p[strlen(delim)] == '\n');
		pt->hdr = p + strlen(delim) + 1;
		blank = strstr(pt->hdr, "\n\n");
		assert_true(blank != NULL && blank < next);
		pt->hdr_len = (size_t)(blank - pt->hdr) + 1;
		pt->body = blank + 2;
		pt->body_len = (size_t)(next - pt->body);
		p = next;
	}
}

bool
part_has(const struct part *p, const char *s)
{
	if (memmem(p->body, p->body_len, s, strlen(s)) != NULL)
		return true;
	print_error("part does not contain \"%s\":\n%.*s\n", s, (int)p->body_len, p->body);
	return false;
}

/* Composed text: no CR, NUL or control octet but LF, lines within 998. */
void
want_clean(const char *p, size_t len, const char *what)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n') {
			col = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			fail_msg("%s: control octet 0x%02x at %zu", what, c, i);
		if (++col > 998)
			fail_msg("%s: line longer than 998 at %zu", what, i);
	}
}

/* The i-th empty-line-separated group of the delivery-status part. */
struct part
group(const struct parsed *ps, size_t i)
{
	const char *p = ps->parts[1].body, *end = p + ps->parts[1].body_len;

	for (; i > 0; i--) {
		p = strstr(p, "\n\n");
		assert_true(p != NULL && p < end);
		p += 2;
	}
	const char *e = strstr(p, "\n\n");

	if (e == NULL || e > end)
		e = end;
	return (struct part){ .hdr = p, .hdr_len = (size_t)(e - p) + 1 };
}

