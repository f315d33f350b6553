/* address.c - RFC 5321 4.1.2 paths: the arguments of MAIL FROM: and RCPT TO:.
 * Owns: the Path / Mailbox grammar (widened for UTF-8 by RFC 6531 3.3),
 * address literals, UTF-8 well-formedness, and re-quoting a mailbox.
 * Leaves: the parameters after the path (esmtp_params.c); whether a mailbox
 * exists or may be relayed to (auth/, policy/).
 * Invariants: reads only arg.p[0 .. arg.len), never allocates; '%', '!' and a
 * quoted '@' are plain local-part data here, never routing. */
#include "smtp/address.h"

#include <arpa/inet.h>
#include <string.h>

#include "smtp/esmtp_params.h"
#include "smtp/chars.h"

#define SYNTAX_TEXT "Syntax error in mailbox address"

/* A read position inside a span. */
struct scan {
	const char *p;
	size_t len, i;
};

/* A mailbox as scanned: spans into the input, not yet length-checked. */
struct mbox_scan {
	struct span local;  /* as sent, quotes included */
	struct span domain; /* as sent, brackets included */
	bool quoted, literal, utf8;
};

static enum smtp_arg_result
fail(const char **why, enum smtp_arg_result r, const char *text)
{
	if (why)
		*why = text;
	return r;
}

static int
peek(const struct scan *s)
{
	return s->i < s->len ? (unsigned char)s->p[s->i] : -1;
}

static bool
eat(struct scan *s, char c)
{
	if (peek(s) != (unsigned char)c)
		return false;
	s->i++;
	return true;
}

/* RFC 3629 4 UTF8-2 / UTF8-3 / UTF8-4: the range of the second octet
 * depends on the first, which rules out overlongs, surrogates and > U+10FFFF. */
size_t
smtp_utf8_len(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need;

	if (n == 0 || u[0] < 0xC2 || u[0] > 0xF4)
		return 0;
	need = u[0] <= 0xDF ? 2 : u[0] <= 0xEF ? 3 : 4;
	if (u[0] == 0xE0)
		lo = 0xA0;
	else if (u[0] == 0xED)
		hi = 0x9F;
	else if (u[0] == 0xF0)
		lo = 0x90;
	else if (u[0] == 0xF4)
		hi = 0x8F;
	if (n < need || u[1] < lo || u[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if (u[k] < 0x80 || u[k] > 0xBF)
			return 0;
	return need;
}

/* Step over one UTF8-non-ascii character at the scan position, if any. */
static bool
eat_utf8(struct scan *s, bool *utf8)
{
	size_t n = smtp_utf8_len(s->p + s->i, s->len - s->i);

	if (n == 0)
		return false;
	s->i += n;
	*utf8 = true;
	return true;
}

/* Atom = 1*atext, atext widened by UTF8-non-ascii (RFC 6531 3.3). */
static bool
scan_atom(struct scan *s, bool *utf8)
{
	size_t start = s->i;

	for (;;) {
		int c = peek(s);

		if (c >= 0 && c < 0x80 && is_atext(c))
			s->i++;
		else if (c < 0x80 || !eat_utf8(s, utf8))
			break;
	}
	return s->i > start;
}

/* Dot-string = Atom *("." Atom) */
static bool
scan_dot_string(struct scan *s, bool *utf8)
{
	do {
		if (!scan_atom(s, utf8))
			return false;
	} while (eat(s, '.'));
	return true;
}

/* Quoted-string = DQUOTE *QcontentSMTP DQUOTE; qtextSMTP is %d32-33 / %d35-91
 * / %d93-126 (plus UTF8-non-ascii, RFC 6531), quoted-pairSMTP is "\" %d32-126. */
static bool
scan_quoted(struct scan *s, bool *utf8)
{
	if (!eat(s, '"'))
		return false;
	for (;;) {
		int c = peek(s);

		if (c == '"') {
			s->i++;
			return true;
		}
		if (c == '\\') {
			s->i++;
			c = peek(s);
			if (c < 32 || c > 126)
				return false;
			s->i++;
		} else if (c >= 32 && c <= 126) {
			s->i++;
		} else if (c < 0x80 || !eat_utf8(s, utf8)) {
			return false;
		}
	}
}

/* sub-domain = Let-dig [Ldh-str]: letters, digits and inner hyphens. A
 * U-label (RFC 6531 3.3) is taken as any well-formed UTF-8 in place of
 * letters; IDNA rules are left to whoever resolves the name. */
static bool
scan_subdomain(struct scan *s, bool *utf8)
{
	size_t start = s->i;
	bool hyphen_last = false;

	for (;;) {
		int c = peek(s);

		if (c == '-' && s->i > start) {
			s->i++;
			hyphen_last = true;
			continue;
		}
		if (is_letdig(c))
			s->i++;
		else if (c < 0x80 || !eat_utf8(s, utf8))
			break;
		hyphen_last = false;
	}
	return s->i > start && !hyphen_last;
}

/* Domain = sub-domain *("." sub-domain) */
static bool
scan_domain(struct scan *s, bool *utf8)
{
	do {
		if (!scan_subdomain(s, utf8))
			return false;
	} while (eat(s, '.'));
	return true;
}

/* IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0 to 255. */
static bool
ipv4_ok(struct span in)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t ndigits = 0;

		if (part > 0 && (i >= in.len || in.p[i++] != '.'))
			return false;
		while (i < in.len && is_digit(in.p[i]) && ndigits < 3) {
			v = v * 10 + (unsigned)(in.p[i++] - '0');
			ndigits++;
		}
		if (ndigits == 0 || v > 255)
			return false;
	}
	return i == in.len;
}

/* IPv6-addr, checked by inet_pton on a bounded, NUL-terminated copy. */
static bool
ipv6_ok(struct span in)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr addr;

	if (in.len == 0 || in.len >= sizeof text)
		return false;
	memcpy(text, in.p, in.len);
	text[in.len] = '\0';
	return inet_pton(AF_INET6, text, &addr) == 1;
}

/* Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig */
static bool
ldh_str_ok(struct span in)
{
	if (in.len == 0 || !is_letdig((unsigned char)in.p[in.len - 1]))
		return false;
	for (size_t i = 0; i < in.len; i++)
		if (!is_letdig((unsigned char)in.p[i]) && in.p[i] != '-')
			return false;
	return true;
}

/* dcontent = %d33-90 / %d94-126 */
static bool
is_dcontent(int c)
{
	return (c >= 33 && c <= 90) || (c >= 94 && c <= 126);
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]"; the tag "IPv6" (any case, as ABNF strings
 * are) always means an IPv6 address. */
static bool
scan_literal(struct scan *s)
{
	size_t start;
	struct span in, tag;
	const char *colon;

	if (!eat(s, '['))
		return false;
	start = s->i;
	while (is_dcontent(peek(s)))
		s->i++;
	in = span_make(s->p + start, s->i - start);
	if (!eat(s, ']'))
		return false;
	colon = in.len ? memchr(in.p, ':', in.len) : NULL;
	if (colon == NULL)
		return ipv4_ok(in);
	tag = span_make(in.p, (size_t)(colon - in.p));
	in = span_make(colon + 1, in.len - tag.len - 1);
	if (span_eq_cstr_nocase(tag, "IPv6"))
		return ipv6_ok(in);
	return ldh_str_ok(tag) && in.len > 0;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static bool
scan_mailbox(struct scan *s, struct mbox_scan *m)
{
	size_t start = s->i;

	memset(m, 0, sizeof *m);
	m->quoted = peek(s) == '"';
	if (!(m->quoted ? scan_quoted(s, &m->utf8) : scan_dot_string(s, &m->utf8)))
		return false;
	m->local = span_make(s->p + start, s->i - start);
	if (!eat(s, '@'))
		return false;
	start = s->i;
	m->literal = peek(s) == '[';
	if (!(m->literal ? scan_literal(s) : scan_domain(s, &m->utf8)))
		return false;
	m->domain = span_make(s->p + start, s->i - start);
	return true;
}

/* Check the RFC 5321 4.5.3.1 limits (local part as sent, quotes included)
 * and copy the mailbox out, the local part's quoting removed. */
static enum smtp_arg_result
mbox_fill(const struct mbox_scan *m, struct smtp_mailbox *out, const char **why)
{
	struct span l = m->local;
	size_t n = 0;

	if (l.len > SMTP_LOCAL_MAX)
		return fail(why, SMTP_ARG_TOO_LONG, "Local part too long");
	if (m->domain.len > SMTP_DOMAIN_MAX)
		return fail(why, SMTP_ARG_TOO_LONG, "Domain too long");
	if (m->quoted)
		l = span_make(l.p + 1, l.len - 2);
	for (size_t i = 0; i < l.len; i++) {
		if (m->quoted && l.p[i] == '\\')
			i++;
		out->local[n++] = l.p[i];
	}
	out->local[n] = '\0';
	memcpy(out->domain, m->domain.p, m->domain.len);
	out->domain[m->domain.len] = '\0';
	out->quoted = m->quoted;
	out->literal = m->literal;
	out->utf8 = m->utf8;
	return SMTP_ARG_OK;
}

/* A-d-l = At-domain *( "," At-domain ) ":" ; At-domain = "@" Domain */
static bool
scan_adl(struct scan *s)
{
	bool utf8 = false;

	do {
		if (!eat(s, '@') || !scan_domain(s, &utf8))
			return false;
	} while (eat(s, ','));
	return eat(s, ':');
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">". A source route is checked for
 * syntax, then refused: we relay for nobody through a route (RFC 5321 3.6.1). */
static enum smtp_arg_result
scan_path(struct scan *s, struct smtp_mailbox *mbox, const char **why)
{
	size_t start = s->i;
	bool routed = false;
	struct mbox_scan m;
	enum smtp_arg_result r;

	if (!eat(s, '<'))
		return fail(why, SMTP_ARG_SYNTAX, SYNTAX_TEXT);
	if (peek(s) == '@') {
		if (!scan_adl(s))
			return fail(why, SMTP_ARG_SYNTAX, SYNTAX_TEXT);
		routed = true;
	}
	if (!scan_mailbox(s, &m) || !eat(s, '>'))
		return fail(why, SMTP_ARG_SYNTAX, SYNTAX_TEXT);
	r = mbox_fill(&m, mbox, why);
	if (r != SMTP_ARG_OK)
		return r;
	if (s->i - start > SMTP_PATH_MAX)
		return fail(why, SMTP_ARG_TOO_LONG, "Path too long");
	if (routed)
		return fail(why, SMTP_ARG_SOURCE_ROUTE, "Source routes are not accepted");
	return SMTP_ARG_OK;
}

/* Start on the argument: trailing white space dropped, one leading SP skipped. */
static void
scan_init(struct scan *s, struct span arg)
{
	if (arg.p == NULL)
		arg = span_make("", 0);
	while (arg.len > 0 && (arg.p[arg.len - 1] == ' ' || arg.p[arg.len - 1] == '\t'))
		arg.len--;
	s->p = arg.p;
	s->len = arg.len;
	s->i = 0;
	(void)eat(s, ' ');
}

/* True (and stepped over) when the input continues with text, any case. */
static bool
eat_text_nocase(struct scan *s, const char *text)
{
	size_t n = strlen(text);

	if (s->len - s->i < n || !span_eq_cstr_nocase(span_make(s->p + s->i, n), text))
		return false;
	s->i += n;
	return true;
}

/* After the path: the end, or one SP and the parameters. */
static enum smtp_arg_result
params_start(struct scan *s, struct span *rest, const char **why)
{
	if (s->i < s->len && !eat(s, ' '))
		return fail(why, SMTP_ARG_SYNTAX, SYNTAX_TEXT);
	*rest = span_make(s->p + s->i, s->len - s->i);
	return SMTP_ARG_OK;
}

enum smtp_arg_result
smtp_parse_mail(struct span arg, struct smtp_path *path, struct smtp_mail_params *params,
    const char **why)
{
	struct scan s;
	struct span rest;
	enum smtp_arg_result r;

	memset(path, 0, sizeof *path);
	memset(params, 0, sizeof *params);
	if (why)
		*why = NULL;
	scan_init(&s, arg);
	if (eat_text_nocase(&s, "<>")) {
		path->kind = SMTP_PATH_NULL;
	} else if (eat_text_nocase(&s, "<postmaster>")) {
		return fail(why, SMTP_ARG_NULL_NOT_ALLOWED, "A sender needs a domain");
	} else {
		path->kind = SMTP_PATH_MAILBOX;
		r = scan_path(&s, &path->mbox, why);
		if (r != SMTP_ARG_OK)
			return r;
	}
	r = params_start(&s, &rest, why);
	/* RFC 6531 3.4: SMTPUTF8 anywhere in the list allows UTF-8 in all of it */
	if (r == SMTP_ARG_OK)
		r = esmtp_params_mail(rest, esmtp_params_has(rest, "SMTPUTF8"), params, why);
	if (r != SMTP_ARG_OK)
		return r;
	if (path->mbox.utf8 && !params->smtputf8)
		return fail(why, SMTP_ARG_NEEDS_UTF8, "Non-ASCII address needs SMTPUTF8");
	return SMTP_ARG_OK;
}

enum smtp_arg_result
smtp_parse_rcpt(struct span arg, bool utf8_ok, struct smtp_path *path,
    struct smtp_rcpt_params *params, const char **why)
{
	struct scan s;
	struct span rest;
	enum smtp_arg_result r;

	memset(path, 0, sizeof *path);
	memset(params, 0, sizeof *params);
	if (why)
		*why = NULL;
	scan_init(&s, arg);
	if (eat_text_nocase(&s, "<>"))
		return fail(why, SMTP_ARG_NULL_NOT_ALLOWED, "The null path is not a recipient");
	if (eat_text_nocase(&s, "<postmaster>")) {
		/* RFC 5321 4.1.1.3: the one path without a domain */
		path->kind = SMTP_PATH_POSTMASTER;
		memcpy(path->mbox.local, "postmaster", sizeof "postmaster");
	} else {
		path->kind = SMTP_PATH_MAILBOX;
		r = scan_path(&s, &path->mbox, why);
		if (r != SMTP_ARG_OK)
			return r;
	}
	r = params_start(&s, &rest, why);
	if (r == SMTP_ARG_OK)
		r = esmtp_params_rcpt(rest, utf8_ok, params, why);
	if (r != SMTP_ARG_OK)
		return r;
	if (path->mbox.utf8 && !utf8_ok)
		return fail(why, SMTP_ARG_NEEDS_UTF8, "Non-ASCII address needs SMTPUTF8");
	return SMTP_ARG_OK;
}

enum smtp_arg_result
smtp_parse_mailbox(struct span str, struct smtp_mailbox *out)
{
	struct scan s = { str.p ? str.p : "", str.p ? str.len : 0, 0 };
	struct mbox_scan m;
	enum smtp_arg_result r;

	memset(out, 0, sizeof *out);
	if (!scan_mailbox(&s, &m) || s.i != s.len)
		return SMTP_ARG_SYNTAX;
	r = mbox_fill(&m, out, NULL);
	if (r != SMTP_ARG_OK)
		return r;
	/* it must fit in a path: "<" mailbox ">" (RFC 5321 4.5.3.1.3) */
	if (s.len > SMTP_PATH_MAX - 2)
		return SMTP_ARG_TOO_LONG;
	return SMTP_ARG_OK;
}

/* Bounded output for smtp_mailbox_format. */
struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void
put(struct out *o, const char *p, size_t n)
{
	if (o->full || n >= o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static bool
is_dot_string(const char *local)
{
	struct scan s = { local, strlen(local), 0 };
	bool utf8 = false;

	return scan_dot_string(&s, &utf8) && s.i == s.len;
}

/* Write local as a Quoted-string; false when it holds an octet that no
 * quoted-string can carry (a control, or malformed UTF-8). */
static bool
put_quoted(struct out *o, const char *local)
{
	size_t len = strlen(local);

	put(o, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)local[i];
		size_t n = c >= 0x80 ? smtp_utf8_len(local + i, len - i) : 1;

		if ((c < 32 || c == 127) || n == 0)
			return false;
		if (c == '"' || c == '\\')
			put(o, "\\", 1);
		put(o, local + i, n);
		i += n;
	}
	put(o, "\"", 1);
	return true;
}

int
smtp_mailbox_format(const struct smtp_mailbox *m, char *out, size_t outlen)
{
	struct out o = { out, 0, outlen, false };

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (m->local[0] == '\0' && m->domain[0] == '\0')
		return 0;
	if (is_dot_string(m->local))
		put(&o, m->local, strlen(m->local));
	else if (!put_quoted(&o, m->local))
		o.full = true;
	if (m->domain[0] != '\0') {
		put(&o, "@", 1);
		put(&o, m->domain, strlen(m->domain));
	}
	if (o.full) {
		out[0] = '\0';
		return -1;
	}
	out[o.len] = '\0';
	return 0;
}
