/* dsn_text.c - the text primitives of a DSN (see dsn_text.h).
 * Owns: gathering and emitting output, folding fields, wrapping paragraphs,
 * cleaning values, xtext and RFC 6533 address forms, dates.
 * Leaves: the report itself (dsn.c).
 * Invariant: no line written by dsn_text_field or dsn_text_para exceeds 998
 * octets; values added through the dsn_text_add_* cleaners hold no control
 * character, so neither can the lines. */
#include "queue/dsn_text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smtp/address.h"

#define DSN_FOLD_AT 78                /* RFC 5322 2.1.1: lines SHOULD be at most 78 */
#define DSN_LINE_MAX 998              /* RFC 5322 2.1.1: lines MUST be at most 998 */
#define DSN_TEXT_WIDTH 72             /* paragraphs for people */
#define DSN_OUT_FLUSH 16384           /* emit composed text in pieces of about this */
#define DSN_OUT_MAX 65536             /* bound of the composing buffer */
#define DSN_VALUE_MAX 8192            /* bound of one value */
#define DSN_HOST_MAX 255              /* RFC 1035 3.1: a name is at most 255 octets */

static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
	"Sep", "Oct", "Nov", "Dec" };

void
dsn_text_init(struct dsn_text *o, int (*emit)(void *arg, const char *p, size_t len), void *arg)
{
	*o = (struct dsn_text){ .emit = emit, .arg = arg };
	buf_init(&o->b, DSN_OUT_MAX);
	buf_init(&o->v, DSN_VALUE_MAX);
}

void
dsn_text_reset(struct dsn_text *o)
{
	buf_reset(&o->b);
	buf_reset(&o->v);
}

void
dsn_text_flush(struct dsn_text *o)
{
	if (o->err == 0 && o->b.len > 0) {
		errno = 0;
		if (o->emit(o->arg, o->b.data, o->b.len) != 0)
			o->err = errno != 0 ? errno : EIO;
	}
	buf_clear(&o->b);
}

void
dsn_text_put(struct dsn_text *o, const char *p, size_t n)
{
	if (o->err == 0 && o->b.len + n > DSN_OUT_FLUSH)
		dsn_text_flush(o);
	if (o->err == 0 && buf_append(&o->b, p, n) != 0)
		o->err = EOVERFLOW;
}

void
dsn_text_str(struct dsn_text *o, const char *s)
{
	dsn_text_put(o, s, strlen(s));
}

/* Flush, then hand p to emit as it is (the returned original). */
void
dsn_text_raw(struct dsn_text *o, const char *p, size_t n)
{
	dsn_text_flush(o);
	if (o->err != 0)
		return;
	errno = 0;
	if (o->emit(o->arg, p, n) != 0)
		o->err = errno != 0 ? errno : EIO;
}

/* Append to the value. */
void
dsn_text_addn(struct dsn_text *o, const char *p, size_t n)
{
	if (o->err == 0 && buf_append(&o->v, p, n) != 0)
		o->err = EOVERFLOW;
}

void
dsn_text_add(struct dsn_text *o, const char *s)
{
	dsn_text_addn(o, s, strlen(s));
}

static void
vcut(struct dsn_text *o, size_t len)
{
	o->v.len = len;
	if (o->v.data != NULL)
		o->v.data[len] = '\0';
}

void
dsn_text_drop(struct dsn_text *o)
{
	vcut(o, 0);
}

size_t
dsn_text_len(const struct dsn_text *o)
{
	return o->v.len;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Append s as printable ASCII, as RFC 3464 "text" must be: each run of
 * white space and line ends becomes one space (a multi-line reply reads as
 * one line), any other octet outside 0x21..0x7E becomes '?', leading and
 * trailing space goes. At most max octets: a longer text is cut to end in
 * "...". */
void
dsn_text_add_clean(struct dsn_text *o, const char *s, size_t max)
{
	size_t start = o->v.len;
	bool sp = false;

	if (max < 3)
		max = 3;
	for (; *s != '\0' && o->v.len - start <= max; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_space(c)) {
			sp = o->v.len > start;
			continue;
		}
		if (sp)
			dsn_text_addn(o, " ", 1);
		sp = false;
		dsn_text_addn(o, c > 0x20 && c < 0x7f ? s : "?", 1);
	}
	if (o->err == 0 && o->v.len - start > max) {
		vcut(o, start + max - 3);
		dsn_text_addn(o, "...", 3);
	}
}

/* Append an address for people (To:, From:, the human-readable part):
 * printable ASCII and well-formed UTF-8 (RFC 6532) as they are, any other
 * octet as '?'. Addresses come parsed, so this is a safety net. */
void
dsn_text_add_addr(struct dsn_text *o, const char *s)
{
	size_t n = strlen(s);

	if (n > SMTP_ADDR_TEXT_MAX)
		n = SMTP_ADDR_TEXT_MAX;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t u = c >= 0x80 ? smtp_utf8_len(s + i, n - i) : 0;

		if (u > 0) {
			dsn_text_addn(o, s + i, u);
			i += u;
			continue;
		}
		dsn_text_addn(o, c >= 0x20 && c < 0x7f ? s + i : "?", 1);
		i++;
	}
}

static bool
is_printable_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* The code point of the well-formed UTF-8 sequence p[0 .. n). */
static unsigned long
utf8_decode(const char *p, size_t n)
{
	static const unsigned char lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	unsigned long cp = (unsigned char)p[0] & lead_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | ((unsigned char)p[i] & 0x3f);
	return cp;
}

/* RFC 6533 3 QCHAR: printable ASCII but "+", "=" and "\". */
static bool
is_qchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '+' && c != '=' && c != '\\';
}

/* Whether the 7-bit form writes octet c (or the UTF-8 character of u
 * octets it starts) as \x{HEX} (RFC 6533 3 EmbeddedUnicodeChar). */
static bool
is_escaped(unsigned char c, size_t u)
{
	return (c >= 0x80 && u > 0) || c == ' ' || c == '+' || c == '=' || c == '\\';
}

/* Append s in the 7-bit utf-8-addr-xtext form (RFC 6533 3): QCHARs as they
 * are; a non-ASCII character, space, "+", "=", "\" as \x{HEX}. keep_ascii:
 * s is already in that form but for raw UTF-8 (utf-8-addr-unitext, as an
 * ORCPT may be under SMTPUTF8): convert only the non-ASCII characters.
 * Control characters and malformed UTF-8 (never in a parsed address) become
 * '?'. */
static void
put_utf8_xtext(struct dsn_text *o, const char *s, bool keep_ascii)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t u = c >= 0x80 ? smtp_utf8_len(s + i, n - i) : 1;
		char hex[16];
		int hn;

		if (c < 0x80 && (is_qchar(c) || (keep_ascii && c > 0x20 && c < 0x7f))) {
			dsn_text_addn(o, s + i, 1);
		} else if (is_escaped(c, u) &&
		    (hn = snprintf(hex, sizeof hex, "\\x{%lX}", utf8_decode(s + i, u))) > 0 &&
		    hn < (int)sizeof hex) {
			dsn_text_add(o, hex);
		} else {
			dsn_text_addn(o, "?", 1);
			u = 1;
		}
		i += u;
	}
}

/* Append an address with its RFC 3464 address-type: "rfc822; " when it is
 * printable ASCII, else "utf-8; " in the 7-bit form (RFC 6533 3). */
void
dsn_text_add_typed_addr(struct dsn_text *o, const char *addr)
{
	if (is_printable_n(addr, strlen(addr))) {
		dsn_text_add(o, "rfc822; ");
		dsn_text_add(o, addr);
	} else {
		dsn_text_add(o, "utf-8; ");
		put_utf8_xtext(o, addr, false);
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append xtext s[0 .. n) decoded (RFC 3461 4: "+" and two upper-case hex
 * digits stand for one octet). False, with nothing appended, when s is not
 * xtext or decodes to anything but printable ASCII: RFC 3461 4.2 and 4.4
 * require ORCPT and ENVID to be printable before encoding, because the DSN
 * carries them decoded. */
static bool
put_xtext_decoded(struct dsn_text *o, const char *s, size_t n)
{
	size_t start = o->v.len;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		char ch;

		if (c == '+') {
			int hi = n - i >= 3 ? hexval(s[i + 1]) : -1;
			int lo = n - i >= 3 ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				goto bad;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c > 0x7e)
			goto bad;
		ch = (char)c;
		dsn_text_addn(o, &ch, 1);
	}
	return true;
bad:
	vcut(o, start);
	return false;
}

bool
dsn_text_add_xtext(struct dsn_text *o, const char *s)
{
	return put_xtext_decoded(o, s, strlen(s));
}

/* Original-Recipient value from ORCPT "addr-type;xtext" (RFC 3461 6.3 (d),
 * RFC 3464 2.3.1): the type as sent, the address decoded; as received when
 * it does not decode to printable text. A "utf-8" address (RFC 6533 3) is
 * not "+"-encoded; raw UTF-8 in it is turned into its 7-bit form. */
void
dsn_text_add_orcpt(struct dsn_text *o, const char *orcpt)
{
	const char *semi = strchr(orcpt, ';');

	if (semi == NULL || semi == orcpt) {
		dsn_text_add(o, "unknown; ");   /* RFC 3464 2.3.1: type not known */
		dsn_text_add_clean(o, orcpt, SMTP_ORCPT_MAX);
		return;
	}
	if (is_printable_n(orcpt, (size_t)(semi - orcpt)))
		dsn_text_addn(o, orcpt, (size_t)(semi - orcpt));
	else
		dsn_text_add(o, "unknown");
	dsn_text_add(o, semi[1] != '\0' ? "; " : ";");
	if (strncasecmp(orcpt, "utf-8;", 6) == 0)
		put_utf8_xtext(o, semi + 1, true);
	else if (!put_xtext_decoded(o, semi + 1, strlen(semi + 1)))
		dsn_text_add_clean(o, semi + 1, SMTP_ORCPT_MAX);
}

/* Write "name: value" and a line end (value: the scratch buffer, cleaned
 * ASCII), folded before a space (RFC 5322 2.2.3) to keep lines within 78
 * octets where the value has spaces. A run of more than 998 octets without a
 * space (a pathological address) is broken with a fold too: the only fold
 * that adds a space when unfolded. */
void
dsn_text_field(struct dsn_text *o, const char *name)
{
	const char *v = o->v.data != NULL ? o->v.data : "";
	size_t len = o->v.len, col = strlen(name) + 2, i = 0;

	dsn_text_str(o, name);
	dsn_text_put(o, ": ", 2);
	while (i < len) {
		size_t j = i;

		while (j < len && v[j] == ' ')
			j++;
		while (j < len && v[j] != ' ')
			j++;
		if (v[i] == ' ' && v[j - 1] != ' ' && col + (j - i) > DSN_FOLD_AT) {
			dsn_text_put(o, "\n", 1);
			col = 0;
		}
		while (col + (j - i) > DSN_LINE_MAX) {
			size_t room = DSN_LINE_MAX - col;

			dsn_text_put(o, v + i, room);
			dsn_text_put(o, "\n ", 2);
			col = 1;
			i += room;
		}
		dsn_text_put(o, v + i, j - i);
		col += j - i;
		i = j;
	}
	dsn_text_put(o, "\n", 1);
	vcut(o, 0);
}

/* Write the scratch value as lines of text for people, each starting with
 * indent, wrapped at spaces near DSN_TEXT_WIDTH (cut at DSN_LINE_MAX if a
 * word is longer). Lines never start with "--" unless indent is "". */
void
dsn_text_para(struct dsn_text *o, const char *indent)
{
	const char *v = o->v.data != NULL ? o->v.data : "";
	size_t len = o->v.len, ilen = strlen(indent), col = ilen, i = 0;

	dsn_text_str(o, indent);
	while (i < len) {
		size_t j = i;

		while (j < len && v[j] == ' ')
			j++;
		while (j < len && v[j] != ' ')
			j++;
		if (col > ilen && col + (j - i) > DSN_TEXT_WIDTH) {
			dsn_text_put(o, "\n", 1);
			dsn_text_str(o, indent);
			col = ilen;
			while (i < j && v[i] == ' ')
				i++;
		}
		while (col + (j - i) > DSN_LINE_MAX) {
			dsn_text_put(o, v + i, DSN_LINE_MAX - col);
			i += DSN_LINE_MAX - col;
			dsn_text_put(o, "\n", 1);
			dsn_text_str(o, indent);
			col = ilen;
		}
		dsn_text_put(o, v + i, j - i);
		col += j - i;
		i = j;
	}
	dsn_text_put(o, "\n", 1);
	vcut(o, 0);
}

/* RFC 5322 3.3 date-time in UTC, without locale: "Tue, 14 Nov 2023 22:13:20 +0000". */
static void
fmt_date(char *out, size_t outlen, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		tt = 0;
		gmtime_r(&tt, &tm);
	}
	if (snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec) >= (int)outlen)
		out[0] = '\0';
}

void
dsn_text_add_date(struct dsn_text *o, int64_t t)
{
	char date[64];

	fmt_date(date, sizeof date, t);
	dsn_text_add(o, date);
}

void
dsn_text_date_field(struct dsn_text *o, const char *name, int64_t t)
{
	dsn_text_add_date(o, t);
	dsn_text_field(o, name);
}

/* Append s keeping only the octets keep() accepts, at most max of them. */
static void
put_filtered(struct dsn_text *o, const char *s, size_t max, bool (*keep)(unsigned char c))
{
	for (size_t n = 0; *s != '\0' && n < max; s++)
		if (keep((unsigned char)*s)) {
			dsn_text_addn(o, s, 1);
			n++;
		}
}

static bool
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_host_char(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '-';
}

void
dsn_text_add_host(struct dsn_text *o, const char *s)
{
	put_filtered(o, s, DSN_HOST_MAX, is_host_char);
}

void
dsn_text_add_alnum(struct dsn_text *o, const char *s, size_t max)
{
	put_filtered(o, s, max, is_alnum);
}
