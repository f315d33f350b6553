/* ini.c - tokenizer for the configuration file syntax (see ini.h).
 * Owns: lines (LF or CRLF), comments, `[section "name"]` headers, `key = value`,
 * the optional double quotes around a value, line numbers.
 * Leaves: which sections and keys exist and what values mean (config.c).
 * Invariant: never reads outside [p, end), never allocates; every line is
 * consumed exactly once, so errors carry the right line number.
 *
 * Comments (SPEC.md): a line whose first non-blank byte is '#' or ';', or the
 * rest of a line from a '#' or ';' that follows a blank (SP or HTAB). So
 * `key = a#b` has the value "a#b", and `key = a #b` the value "a". A value may
 * be written in double quotes to keep " #" or leading blanks: `key = "a #b"`;
 * there are no escapes inside quotes, and only blanks or a comment may follow. */
#include "config/ini.h"

#include <string.h>

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

void
ini_init(struct ini *r, const char *text, size_t len)
{
	/* A UTF-8 byte order mark, as some editors write, is not part of line 1. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	r->p = text;
	r->end = text + len;
	r->line = 0;
}

/* The next line without its LF or CRLF; advances r. */
static struct span
next_line(struct ini *r)
{
	const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	struct span l = span_make(r->p, (size_t)((nl ? nl : r->end) - r->p));

	r->p = nl ? nl + 1 : r->end;
	r->line++;
	if (l.len > 0 && l.p[l.len - 1] == '\r')
		l.len--;
	return l;
}

/* True when the line holds a control byte (other than HTAB) or DEL: no
 * configuration value needs one, and a NUL or CR would cut or forge text. */
static bool
has_control(struct span l)
{
	for (size_t i = 0; i < l.len; i++) {
		unsigned char c = (unsigned char)l.p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

/* Offset of the comment in s: the first '#' or ';' right after a blank, or
 * s.len when there is none. s begins just after some non-blank text. */
static size_t
comment_start(struct span s)
{
	for (size_t i = 1; i < s.len; i++)
		if ((s.p[i] == '#' || s.p[i] == ';') && is_blank(s.p[i - 1]))
			return i;
	return s.len;
}

/* True when s (the text after a ']' or a closing quote) is blank, or blank
 * followed by a comment. */
static bool
rest_is_empty(struct span s)
{
	return span_trim(span_make(s.p, comment_start(s))).len == 0;
}

static enum ini_kind
fail(struct ini_item *it, const char *msg)
{
	it->kind = INI_ERROR;
	it->error = msg;
	return INI_ERROR;
}

static size_t
skip_blanks(struct span t, size_t i)
{
	while (i < t.len && is_blank(t.p[i]))
		i++;
	return i;
}

/* `[name]` or `[name "subname"]`, blanks allowed around the parts; t is
 * trimmed and starts with '['. */
static enum ini_kind
parse_section(struct span t, struct ini_item *it)
{
	size_t i = skip_blanks(t, 1), start = i;

	it->in_header = true;

	while (i < t.len && !is_blank(t.p[i]) && t.p[i] != ']' && t.p[i] != '"' && t.p[i] != '[')
		i++;
	it->name = span_make(t.p + start, i - start);
	i = skip_blanks(t, i);
	if (i < t.len && t.p[i] == '"') {
		const char *close = memchr(t.p + i + 1, '"', t.len - i - 1);

		if (close == NULL)
			return fail(it, "unterminated quoted name in section header");
		it->subname = span_make(t.p + i + 1, (size_t)(close - t.p) - i - 1);
		it->has_subname = true;
		i = skip_blanks(t, (size_t)(close - t.p) + 1);
	}
	if (i >= t.len || t.p[i] != ']')
		return fail(it, "expected ']' to end the section header");
	if (!rest_is_empty(span_make(t.p + i + 1, t.len - i - 1)))
		return fail(it, "unexpected text after ']'");
	if (it->name.len == 0)
		return fail(it, "empty section name");
	it->kind = INI_SECTION;
	return INI_SECTION;
}

/* The value after '=': quoted, or up to a comment; raw starts right after '='. */
static enum ini_kind
parse_value(struct span raw, struct ini_item *it)
{
	size_t i = skip_blanks(raw, 0);

	if (i < raw.len && raw.p[i] == '"') {
		const char *close = memchr(raw.p + i + 1, '"', raw.len - i - 1);
		size_t after;

		if (close == NULL)
			return fail(it, "unterminated quoted value");
		it->value = span_make(raw.p + i + 1, (size_t)(close - raw.p) - i - 1);
		after = (size_t)(close - raw.p) + 1;
		if (!rest_is_empty(span_make(raw.p + after, raw.len - after)))
			return fail(it, "unexpected text after the closing quote");
	} else {
		it->value = span_trim(span_make(raw.p, comment_start(raw)));
	}
	it->kind = INI_KEY;
	return INI_KEY;
}

/* `key = value`; t is trimmed, not blank, and no comment line. */
static enum ini_kind
parse_key(struct span t, struct ini_item *it)
{
	const char *eq = memchr(t.p, '=', t.len);
	size_t klen;

	if (eq == NULL)
		return fail(it, "expected '[section]', 'key = value' or a comment");
	klen = (size_t)(eq - t.p);
	it->name = span_trim(span_make(t.p, klen));
	if (it->name.len == 0)
		return fail(it, "missing key before '='");
	return parse_value(span_make(eq + 1, t.len - klen - 1), it);
}

enum ini_kind
ini_next(struct ini *r, struct ini_item *it)
{
	memset(it, 0, sizeof *it);
	while (r->p < r->end) {
		struct span l = next_line(r), t = span_trim(l);

		it->line = r->line;
		if (has_control(l))
			return fail(it, "control character in line");
		if (t.len == 0 || t.p[0] == '#' || t.p[0] == ';')
			continue;
		if (t.p[0] == '[')
			return parse_section(t, it);
		return parse_key(t, it);
	}
	it->line = r->line;
	it->kind = INI_END;
	return INI_END;
}
