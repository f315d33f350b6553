/* reply.c - strict SMTP reply parser (see reply.h).
 * Owns: the bytes of the one reply being read (a buf bounded by
 * SMTP_REPLY_BYTES_MAX) and the positions of its lines.
 * Leaves: the meaning of replies (smtp_client).
 * Invariant: a byte is appended only after the line and reply bounds were
 * checked for it; a line is judged only once its CRLF is in; after an error
 * nothing more is consumed. */
#include "smtp/reply.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

/* Where a line's text lies in buf; spans are made only once the reply is
 * complete, since buf may move while it grows. */
struct text_pos {
	size_t off, len;
};

struct smtp_reply_parser {
	struct buf buf;             /* the reply being read, CRLFs included */
	size_t line_start;          /* offset in buf of the incomplete line */
	struct text_pos pos[SMTP_REPLY_LINES_MAX];
	struct span lines[SMTP_REPLY_LINES_MAX];
	size_t nlines;
	int code;
	char esc[SMTP_REPLY_ESC_SIZE];
	bool complete;              /* a reply waits to be taken */
	bool taken;                 /* it was taken: the next feed starts afresh */
	enum smtp_reply_error err;
};

struct smtp_reply_parser *
smtp_reply_parser_new(void)
{
	struct smtp_reply_parser *p = xcalloc(1, sizeof *p);

	buf_init(&p->buf, SMTP_REPLY_BYTES_MAX);
	return p;
}

void
smtp_reply_parser_free(struct smtp_reply_parser *p)
{
	if (p == NULL)
		return;
	buf_reset(&p->buf);
	free(p);
}

enum smtp_reply_error
smtp_reply_parser_error(const struct smtp_reply_parser *p)
{
	return p->err;
}

bool
smtp_reply_parser_is_partial(const struct smtp_reply_parser *p)
{
	return !p->complete && !p->taken && p->buf.len > 0;
}

const char *
smtp_reply_error_text(enum smtp_reply_error e)
{
	static const char *const text[] = {
		[SMTP_REPLY_OK] = "no error",
		[SMTP_REPLY_BAD_LINE_END] = "reply line not ended by CRLF",
		[SMTP_REPLY_BAD_CHAR] = "control character in reply",
		[SMTP_REPLY_BAD_CODE] = "malformed reply code",
		[SMTP_REPLY_BAD_SEPARATOR] = "malformed reply line",
		[SMTP_REPLY_CODE_MISMATCH] = "reply code changes within a multi-line reply",
		[SMTP_REPLY_LINE_TOO_LONG] = "reply line too long",
		[SMTP_REPLY_TOO_MANY_LINES] = "too many lines in reply",
		[SMTP_REPLY_TOO_BIG] = "reply too large",
	};

	if ((unsigned)e >= sizeof text / sizeof text[0] || text[e] == NULL)
		return "unknown reply error";
	return text[e];
}

/* Forget the reply that was taken. */
static void
start_reply(struct smtp_reply_parser *p)
{
	buf_clear(&p->buf);
	p->line_start = 0;
	p->nlines = 0;
	p->code = 0;
	p->esc[0] = '\0';
	p->taken = false;
}

/* Length of a run of 1 to 3 digits at s[0 .. n), 0 if none or too long. */
static size_t
digits_1_3(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i <= 3 ? i : 0;
}

/* Length of the enhanced status code that starts t, or 0. RFC 3463 2:
 * class "." 1*3digit "." 1*3digit, the class being the reply code's first
 * digit (RFC 2034 4); it must be followed by SP or end the text. */
static size_t
esc_len(struct span t, char cls)
{
	size_t i = 2, k;

	if (t.len < 5 || t.p[0] != cls || t.p[1] != '.')
		return 0;
	if ((k = digits_1_3(t.p + i, t.len - i)) == 0)
		return 0;
	i += k;
	if (i >= t.len || t.p[i] != '.')
		return 0;
	i++;
	if ((k = digits_1_3(t.p + i, t.len - i)) == 0)
		return 0;
	i += k;
	return i == t.len || t.p[i] == ' ' ? i : 0;
}

/* The reply is complete: make the line spans, find the enhanced status code
 * on the first line and strip it from every line that repeats it. */
static void
finish_reply(struct smtp_reply_parser *p)
{
	char cls = (char)('0' + p->code / 100);
	size_t n;

	for (size_t i = 0; i < p->nlines; i++)
		p->lines[i] = span_make(p->buf.data + p->pos[i].off, p->pos[i].len);
	n = esc_len(p->lines[0], cls);
	memcpy(p->esc, p->lines[0].p, n);
	p->esc[n] = '\0';
	for (size_t i = 0; n > 0 && i < p->nlines; i++) {
		struct span *l = &p->lines[i];

		if (esc_len(*l, cls) != n || memcmp(l->p, p->esc, n) != 0)
			continue;
		l->p += n;
		l->len -= n;
		if (l->len > 0) {     /* the SP after the code */
			l->p++;
			l->len--;
		}
	}
	p->complete = true;
}

/* The three octets of a reply code (RFC 5321 4.2: %x32-35 %x30-35 %x30-39). */
static int
parse_code(const char *s)
{
	if (s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' || s[2] < '0' || s[2] > '9')
		return -1;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* Check the octets of a line body (CRLF removed). */
static enum smtp_reply_error
check_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n')
			return SMTP_REPLY_BAD_LINE_END;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return SMTP_REPLY_BAD_CHAR;
	}
	return SMTP_REPLY_OK;
}

/* Judge the line that just got its LF: buf[line_start .. len). */
static enum smtp_reply_error
end_line(struct smtp_reply_parser *p)
{
	const char *s = p->buf.data + p->line_start;
	size_t len = p->buf.len - p->line_start, body = len - 2;
	enum smtp_reply_error e;
	int code;

	if (len < 2 || s[len - 2] != '\r')
		return SMTP_REPLY_BAD_LINE_END;
	if ((e = check_chars(s, body)) != SMTP_REPLY_OK)
		return e;
	if (body < 3 || (code = parse_code(s)) < 0)
		return SMTP_REPLY_BAD_CODE;
	if (body > 3 && s[3] != '-' && s[3] != ' ')
		return SMTP_REPLY_BAD_SEPARATOR;
	if (p->nlines > 0 && code != p->code)
		return SMTP_REPLY_CODE_MISMATCH;
	if (p->nlines == SMTP_REPLY_LINES_MAX)
		return SMTP_REPLY_TOO_MANY_LINES;
	p->code = code;
	p->pos[p->nlines].off = p->line_start + (body > 3 ? 4 : 3);
	p->pos[p->nlines].len = body > 3 ? body - 4 : 0;
	p->nlines++;
	p->line_start = p->buf.len;
	if (body == 3 || s[3] == ' ')
		finish_reply(p);
	return SMTP_REPLY_OK;
}

size_t
smtp_reply_parser_feed(struct smtp_reply_parser *p, const char *in, size_t n)
{
	size_t used = 0;

	if (p->err != SMTP_REPLY_OK || p->complete)
		return 0;
	if (p->taken)
		start_reply(p);
	while (used < n && p->err == SMTP_REPLY_OK && !p->complete) {
		const char *lf = memchr(in + used, '\n', n - used);
		size_t take = lf ? (size_t)(lf - (in + used)) + 1 : n - used;

		if (p->buf.len - p->line_start + take > SMTP_REPLY_LINE_MAX) {
			p->err = SMTP_REPLY_LINE_TOO_LONG;
			break;
		}
		if (buf_append(&p->buf, in + used, take) < 0) {
			p->err = SMTP_REPLY_TOO_BIG;
			break;
		}
		used += take;
		if (lf)
			p->err = end_line(p);
	}
	return used;
}

bool
smtp_reply_parser_next(struct smtp_reply_parser *p, struct smtp_reply *r)
{
	if (!p->complete)
		return false;
	r->code = p->code;
	memcpy(r->esc, p->esc, sizeof r->esc);
	r->nlines = p->nlines;
	r->lines = p->lines;
	p->complete = false;
	p->taken = true;
	return true;
}
