/* chars.h - the character classes of the SMTP grammars (RFC 5321 4.1.2,
 * RFC 5322 3.2.3), shared by the address and parameter parsers. */
#ifndef POSTINO_SMTP_CHARS_H
#define POSTINO_SMTP_CHARS_H

#include <stdbool.h>
#include <string.h>

static inline bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Let-dig */
static inline bool
is_letdig(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c);
}

/* RFC 5322 3.2.3 atext, which RFC 5321 uses for Atom (and RFC 3461 for addr-type). */
static inline bool
is_atext(int c)
{
	return is_letdig(c) || (c > 0 && c < 0x80 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

#endif
