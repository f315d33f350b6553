/* draft.c - the message `postino send` submits (see draft.h).
 * Owns: input lines (sendmail's end-of-input rules), the header section
 * scan, -t recipient extraction, the rebuilt header section.
 * Leaves: what an address means (the rcpt callback), I/O (send.c).
 * Invariant: only complete lines reach d->in, each ending in LF; the body
 * is never copied: draft_body points into d->in. */
#include "send/draft.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "send/addrlist.h"
#include "smtp/address.h"
#include "smtp/limits.h"

/* Room for the fields draft_finish adds after a header section at its bound. */
#define DRAFT_ADDED_MAX 4096

/* What the header section scan found. */
struct hdr {
	size_t end;         /* end of the last field (LF included) */
	size_t body_off;    /* where the body starts */
	bool sep;           /* an empty line separates them */
	bool has_from, has_date, has_msgid, has_resent;
};

/* One header field: its name (without the colon and white space before
 * it), its body (after the colon) and the whole field with its LF. */
struct field {
	struct span name, body, whole;
};

void
draft_init(struct draft *d, bool ignore_dots, uint64_t max)
{
	size_t m = max > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)max;

	memset(d, 0, sizeof *d);
	buf_init(&d->in, m);
	buf_init(&d->line, m);
	buf_init(&d->head, SMTP_HEADER_BYTES_MAX + DRAFT_ADDED_MAX);
	d->ignore_dots = ignore_dots;
	d->at_start = true;
}

void
draft_reset(struct draft *d)
{
	buf_reset(&d->in);
	buf_reset(&d->line);
	buf_reset(&d->head);
}

static int
fail(struct draft *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct draft *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(d->err, sizeof d->err, fmt, ap) < 0)
		d->err[0] = '\0';
	va_end(ap);
	return -1;
}

/* One complete input line (its LF, if any, still on it). A CR right before
 * the LF is a CRLF line end; any other CR is flagged, as is a NUL. */
static void
take_line(struct draft *d)
{
	const char *p = d->line.data;
	size_t n = d->line.len;

	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0 && p[n - 1] == '\r' && n < d->line.len)
		n--;
	if (memchr(p, '\r', n))
		d->bad_cr = true;
	if (memchr(p, '\0', n))
		d->nul = true;
	if (d->at_start && n >= 5 && memcmp(p, "From ", 5) == 0) {
		/* an mbox separator, not a header field: sendmail drops it */
		d->at_start = false;
		buf_clear(&d->line);
		return;
	}
	d->at_start = false;
	if (!d->ignore_dots && n == 1 && p[0] == '.')
		d->done = true;   /* sendmail without -i: a lone dot ends the input */
	else if (buf_append(&d->in, p, n) < 0 || buf_append(&d->in, "\n", 1) < 0)
		d->too_big = true;
	buf_clear(&d->line);
}

bool
draft_feed(struct draft *d, const char *p, size_t n)
{
	while (n > 0 && !d->done && !d->too_big) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;

		if (buf_append(&d->line, p, k) < 0) {
			d->too_big = true;
			break;
		}
		p += k;
		n -= k;
		if (nl)
			take_line(d);
	}
	return !d->done && !d->too_big;
}

void
draft_end(struct draft *d)
{
	if (d->line.len > 0 && !d->done && !d->too_big)
		take_line(d);
}

/* RFC 5322 2.2: field-name ":" where field-name is printable US-ASCII but
 * ":" (RFC 5322 4.5 obs-optional allows white space before the colon). */
static bool
is_field_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
		i++;
	if (i == 0)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

/* Where the header section ends: at an empty line, or at the first line
 * that is neither a field nor its continuation (the body then starts
 * there, with no separator). Bounded as the daemon bounds it. */
static int
scan_lines(struct draft *d, struct hdr *h)
{
	const char *p = d->in.data ? d->in.data : "";
	size_t i = 0, len = d->in.len, lines = 0;

	memset(h, 0, sizeof *h);
	h->end = h->body_off = len;
	while (i < len) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t next = (size_t)(nl - p) + 1;   /* every line in d->in ends in LF */

		if (nl == p + i) {
			h->sep = true;
			h->end = i;
			h->body_off = next;
			break;
		}
		bool cont = p[i] == ' ' || p[i] == '\t';

		if (cont ? lines == 0 : !is_field_line(p + i, next - i - 1)) {
			h->end = h->body_off = i;
			break;
		}
		if (next > SMTP_HEADER_BYTES_MAX || ++lines > SMTP_HEADER_LINES_MAX)
			return fail(d, "header section over %u octets or %u lines",
			    SMTP_HEADER_BYTES_MAX, SMTP_HEADER_LINES_MAX);
		i = next;
	}
	return 0;
}

/* The field starting at *i in p[0 .. end), with its continuation lines;
 * false at the end. */
static bool
next_field(const char *p, size_t end, size_t *i, struct field *f)
{
	size_t start = *i, next;
	const char *colon;

	if (start >= end)
		return false;
	next = (size_t)((const char *)memchr(p + start, '\n', end - start) - p) + 1;
	while (next < end && (p[next] == ' ' || p[next] == '\t'))
		next = (size_t)((const char *)memchr(p + next, '\n', end - next) - p) + 1;
	colon = memchr(p + start, ':', next - start);
	f->whole = span_make(p + start, next - start);
	f->name = span_trim(span_make(p + start, (size_t)(colon - (p + start))));
	f->body = span_make(colon + 1, (size_t)(p + next - colon - 1));
	*i = next;
	return true;
}

static bool
is_named(const struct field *f, const char *name)
{
	return span_eq_cstr_nocase(f->name, name);
}

/* The fields that are there, and whether Resent- recipients replace the
 * others for -t (RFC 5322 3.6.6; sendmail and Postfix do so). */
static void
scan_fields(const struct draft *d, struct hdr *h)
{
	struct field f;
	size_t i = 0;

	while (next_field(d->in.data, h->end, &i, &f)) {
		h->has_from |= is_named(&f, "From");
		h->has_date |= is_named(&f, "Date");
		h->has_msgid |= is_named(&f, "Message-ID");
		h->has_resent |= is_named(&f, "Resent-To") || is_named(&f, "Resent-Cc") ||
		    is_named(&f, "Resent-Bcc");
	}
}

static bool
is_recipient_field(const struct field *f, bool resent)
{
	if (resent)
		return is_named(f, "Resent-To") || is_named(f, "Resent-Cc") ||
		    is_named(f, "Resent-Bcc");
	return is_named(f, "To") || is_named(f, "Cc") || is_named(f, "Bcc");
}

/* -t: every address of the recipient fields goes to the callback. */
static int
extract(struct draft *d, const struct hdr *h, const struct draft_fix *fix)
{
	char addr[SMTP_PATH_MAX], name[64], err[DRAFT_ERR_MAX];
	struct addrlist al;
	struct field f;
	const char *why = NULL;
	size_t i = 0;
	enum addrlist_result r;

	while (next_field(d->in.data, h->end, &i, &f)) {
		if (!is_recipient_field(&f, h->has_resent))
			continue;
		snprintf(name, sizeof name, "%.*s", (int)f.name.len, f.name.p);
		addrlist_init(&al, f.body.p, f.body.len);
		while ((r = addrlist_next(&al, addr, sizeof addr, &why)) == ADDRLIST_ADDR) {
			err[0] = '\0';
			if (fix->rcpt(fix->arg, addr, name, err, sizeof err) < 0)
				return fail(d, "%s", err);
		}
		if (r == ADDRLIST_ERROR)
			return fail(d, "malformed %s field: %s", name, why);
	}
	return 0;
}

/* The fields added when missing, after the message's own (as RFC 6409 8
 * lets a submission server do). */
static int
add_missing(struct draft *d, const struct hdr *h, const struct draft_fix *fix)
{
	char date[64];
	struct tm tm;
	int rc = 0;

	if (!h->has_from)
		rc |= buf_printf(&d->head, "From: %s\n", fix->from);
	if (!h->has_date) {
		/* RFC 5322 3.3 date-time, local time with its numeric zone */
		if (localtime_r(&fix->now, &tm) == NULL ||
		    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
			return fail(d, "cannot format the date");
		rc |= buf_printf(&d->head, "Date: %s\n", date);
	}
	if (!h->has_msgid)
		rc |= buf_printf(&d->head, "Message-ID: <%lld.%ld.%s@%s>\n", (long long)fix->now,
		    fix->pid, fix->unique, fix->hostname);
	return rc < 0 ? fail(d, "header section too large") : 0;
}

/* The header section without Bcc, the missing fields, the separator. */
static int
build_head(struct draft *d, const struct hdr *h, const struct draft_fix *fix)
{
	struct field f;
	size_t i = 0;

	buf_clear(&d->head);
	while (next_field(d->in.data, h->end, &i, &f)) {
		if (is_named(&f, "Bcc") || is_named(&f, "Resent-Bcc"))
			continue;   /* blind copies stay blind (RFC 5322 3.6.3) */
		if (buf_append(&d->head, f.whole.p, f.whole.len) < 0)
			return fail(d, "header section too large");
	}
	if (add_missing(d, h, fix) < 0)
		return -1;
	if ((h->sep || h->body_off < d->in.len) && buf_append(&d->head, "\n", 1) < 0)
		return fail(d, "header section too large");
	d->body_off = h->body_off;
	return 0;
}

int
draft_finish(struct draft *d, const struct draft_fix *fix)
{
	struct hdr h;

	if (d->too_big)
		return fail(d, "message larger than the limit of %zu octets", d->in.max);
	if (d->nul)
		return fail(d, "the message holds a NUL octet");
	if (d->bad_cr)
		return fail(d, "the message holds a CR that does not end a line");
	if (scan_lines(d, &h) < 0)
		return -1;
	scan_fields(d, &h);
	if (fix->extract && extract(d, &h, fix) < 0)
		return -1;
	if (build_head(d, &h, fix) < 0)
		return -1;
	if (draft_wire_size(d) > d->in.max)
		return fail(d, "message larger than the limit of %zu octets", d->in.max);
	return 0;
}

struct span
draft_head(const struct draft *d)
{
	return span_make(d->head.data ? d->head.data : "", d->head.len);
}

struct span
draft_body(const struct draft *d)
{
	if (!d->in.data)
		return span_make("", 0);
	return span_make(d->in.data + d->body_off, d->in.len - d->body_off);
}

static uint64_t
count_lf(struct span s)
{
	uint64_t n = 0;
	const char *p = s.p, *end = s.p + s.len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

uint64_t
draft_wire_size(const struct draft *d)
{
	struct span h = draft_head(d), b = draft_body(d);

	return h.len + count_lf(h) + b.len + count_lf(b);
}

bool
draft_is_8bit(const struct draft *d)
{
	struct span parts[2] = { draft_head(d), draft_body(d) };

	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < parts[k].len; i++)
			if ((unsigned char)parts[k].p[i] >= 0x80)
				return true;
	return false;
}
