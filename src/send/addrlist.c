/* addrlist.c - the addresses in an RFC 5322 address list (see addrlist.h).
 * Owns: one left-to-right scan per list element (RFC 5322 3.4: mailbox or
 * group, separated by ","), with the group state carried between calls.
 * Leaves: address validity (smtp/address.h).
 * Invariant: each byte is looked at once; comments nest by a counter, not
 * by recursion (RFC 5322 3.2.2); output never exceeds outlen. */
#include "send/addrlist.h"

#include <string.h>

#include "smtp/chars.h"

/* One list element being scanned: what it has seen, and its output. */
struct elem {
	char *out;
	size_t cap, len;
	bool in_angle;      /* between "<" and ">" */
	bool had_angle;     /* "<...>" is complete: only CFWS may follow */
	bool last_word;     /* the last token was a word (atom, quoted, literal) */
	bool phrase;        /* two words with no "." or "@" between: a display name */
	bool overflow;
};

void
addrlist_init(struct addrlist *a, const char *p, size_t len)
{
	memset(a, 0, sizeof *a);
	a->p = p;
	a->len = len;
}

static void
put(struct elem *e, const char *p, size_t n)
{
	if (e->overflow || n >= e->cap - e->len) {
		e->overflow = true;
		return;
	}
	memcpy(e->out + e->len, p, n);
	e->len += n;
	e->out[e->len] = '\0';
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* atext, or any octet of UTF-8 text (RFC 6532 3.2). */
static bool
is_atom_char(char c)
{
	return is_atext((unsigned char)c) || (unsigned char)c >= 0x80;
}

/* Skip a comment, nested ones included; a->i is at "(". false when it
 * does not end. */
static bool
skip_comment(struct addrlist *a)
{
	size_t depth = 0;

	for (; a->i < a->len; a->i++) {
		char c = a->p[a->i];

		if (c == '\\')
			a->i++;   /* quoted-pair: the next octet is taken as is */
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0) {
			a->i++;
			return true;
		}
	}
	return false;
}

/* Copy a quoted-string or domain-literal (a->i at its opening `open`) up to
 * and including `close`; folding inside is unfolded (RFC 5322 3.2.2). */
static bool
copy_delimited(struct addrlist *a, struct elem *e, char close)
{
	put(e, a->p + a->i++, 1);
	while (a->i < a->len) {
		char c = a->p[a->i];

		if (c == '\r' || c == '\n') {
			a->i++;
			continue;
		}
		if (c == '\\' && a->i + 1 < a->len) {
			put(e, a->p + a->i, 2);
			a->i += 2;
			continue;
		}
		put(e, a->p + a->i++, 1);
		if (c == close)
			return true;
	}
	return false;
}

/* A word starts: it may not follow "<...>", and right after another word
 * it makes a phrase (a display name), which is no address. */
static const char *
start_word(struct elem *e)
{
	if (e->had_angle)
		return "text after '>'";
	if (e->last_word) {
		if (e->in_angle)
			return "white space inside <...>";
		e->phrase = true;
	}
	e->last_word = true;
	return NULL;
}

/* RFC 5322 4.4 obs-route: "<@a,@b:user@c>" is taken as "<user@c>". a->i
 * is at the "@" right after "<". */
static const char *
skip_route(struct addrlist *a)
{
	while (a->i < a->len && a->p[a->i] != ':') {
		if (a->p[a->i] == '>')
			return "malformed route in <...>";
		a->i++;
	}
	if (a->i == a->len)
		return "malformed route in <...>";
	a->i++;
	return NULL;
}

/* "<": the words before it were a display name. */
static const char *
open_angle(struct addrlist *a, struct elem *e)
{
	if (e->in_angle || e->had_angle)
		return "unexpected '<'";
	e->in_angle = true;
	e->len = 0;
	e->phrase = e->last_word = false;
	a->i++;
	while (a->i < a->len && is_wsp(a->p[a->i]))
		a->i++;
	if (a->i < a->len && a->p[a->i] == '@')
		return skip_route(a);
	return NULL;
}

/* ":" outside <...>: the words before it name a group. */
static const char *
open_group(struct addrlist *a, struct elem *e)
{
	if (e->in_angle || e->had_angle || a->in_group)
		return "unexpected ':'";
	a->in_group = true;
	e->len = 0;
	e->phrase = e->last_word = false;
	a->i++;
	return NULL;
}

/* One token at a->i. *done when it ended the element (a separator). */
static const char *
token(struct addrlist *a, struct elem *e, bool *done)
{
	char c = a->p[a->i];
	const char *why = NULL;

	switch (c) {
	case '(':
		return skip_comment(a) ? NULL : "unterminated comment";
	case '"':
	case '[':
		if ((why = start_word(e)) != NULL)
			return why;
		return copy_delimited(a, e, c == '"' ? '"' : ']') ? NULL : "unterminated quote";
	case '<':
		return open_angle(a, e);
	case '>':
		if (!e->in_angle)
			return "unexpected '>'";
		e->in_angle = false;
		e->had_angle = true;
		a->i++;
		return NULL;
	case ':':
		return open_group(a, e);
	case ';':
		if (e->in_angle || !a->in_group)
			return "unexpected ';'";
		a->in_group = false;
		a->i++;
		*done = true;
		return NULL;
	case ',':
		if (e->in_angle)
			return "unexpected ',' inside <...>";
		a->i++;
		*done = true;
		return NULL;
	case '@':
	case '.':
		if (e->had_angle)
			return "text after '>'";
		put(e, &c, 1);
		e->last_word = false;
		a->i++;
		return NULL;
	default:
		break;
	}
	if (is_wsp(c)) {
		a->i++;
		return NULL;
	}
	if (!is_atom_char(c))
		return "unexpected character";
	if ((why = start_word(e)) != NULL)
		return why;
	size_t start = a->i;
	while (a->i < a->len && is_atom_char(a->p[a->i]))
		a->i++;
	put(e, a->p + start, a->i - start);
	return NULL;
}

/* Scan one element up to its separator or the end of the input. */
static const char *
scan_element(struct addrlist *a, struct elem *e)
{
	bool done = false;
	const char *why;

	while (!done && a->i < a->len)
		if ((why = token(a, e, &done)) != NULL)
			return why;
	if (e->overflow)
		return "address too long";
	if (e->in_angle)
		return "missing '>'";
	if (e->had_angle && e->len == 0)
		return "empty <>";
	if (!e->had_angle && e->phrase)
		return "a name without <address> (or a missing comma)";
	return NULL;
}

enum addrlist_result
addrlist_next(struct addrlist *a, char *out, size_t outlen, const char **why)
{
	struct elem e;

	if (a->failed || outlen == 0)
		return ADDRLIST_END;
	for (;;) {
		memset(&e, 0, sizeof e);
		e.out = out;
		e.cap = outlen;
		out[0] = '\0';
		*why = scan_element(a, &e);
		if (*why) {
			a->failed = true;
			out[0] = '\0';
			return ADDRLIST_ERROR;
		}
		if (e.len > 0)
			return ADDRLIST_ADDR;
		if (a->i >= a->len)
			break;
	}
	if (a->in_group) {
		a->failed = true;
		*why = "group not ended with ';'";
		return ADDRLIST_ERROR;
	}
	return ADDRLIST_END;
}
