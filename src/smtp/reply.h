/* reply.h - strict parser for SMTP server replies (RFC 5321 4.2).
 * Owns: splitting the peer's bytes into complete replies (one or more lines
 * of the same three-digit code, "DDD-text" CRLF continuing, "DDD text" CRLF
 * or "DDD" CRLF ending), the enhanced status code of RFC 2034 / RFC 3463,
 * and the bounds that keep a hostile server from making us buffer without
 * limit (the CVE-2020-8794 class).
 * Leaves: what a reply means (smtp_client), sockets and timeouts (owner).
 *
 * Use: feed bytes; the parser stops consuming right after the CRLF that
 * completes a reply, which smtp_reply_parser_next then gives out once. The
 * next feed forgets it. Errors are sticky: after one, nothing more is
 * consumed and the connection is unusable (the owner treats it as a
 * temporary failure).
 *
 * Strictness: only CRLF ends a line (a bare CR or LF is an error); every line
 * carries the same code; the code is %x32-35 %x30-35 %x30-39 (RFC 5321 4.2);
 * control characters other than HTAB are an error. Two tolerances, both
 * unambiguous: "DDD " CRLF (SP with no text) is an empty text, and octets
 * from 0x80 up are kept as text (servers speaking RFC 6531 send UTF-8). */
#ifndef POSTINO_SMTP_REPLY_H
#define POSTINO_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/span.h"

/* A reply line, CRLF included. RFC 5321 4.5.3.1.5 says 512; real servers
 * send longer texts, so we allow four times that and no more. */
#define SMTP_REPLY_LINE_MAX 2048
/* Lines in one reply: an EHLO reply lists perhaps 20 extensions. */
#define SMTP_REPLY_LINES_MAX 200
/* Octets in one reply, all lines and their CRLFs. */
#define SMTP_REPLY_BYTES_MAX (64u * 1024u)
/* "class.subject.detail" (RFC 3463 2: 1 + 1..3 + 1..3 digits, two dots) and NUL. */
#define SMTP_REPLY_ESC_SIZE 10

enum smtp_reply_error {
	SMTP_REPLY_OK,
	SMTP_REPLY_BAD_LINE_END,     /* a bare LF, or a CR not followed by LF */
	SMTP_REPLY_BAD_CHAR,         /* NUL or another control character in a line */
	SMTP_REPLY_BAD_CODE,         /* not a reply code: three digits 2-5, 0-5, 0-9 */
	SMTP_REPLY_BAD_SEPARATOR,    /* the code is followed by neither "-", SP nor CRLF */
	SMTP_REPLY_CODE_MISMATCH,    /* a line of a multi-line reply changes the code */
	SMTP_REPLY_LINE_TOO_LONG,    /* over SMTP_REPLY_LINE_MAX */
	SMTP_REPLY_TOO_MANY_LINES,   /* over SMTP_REPLY_LINES_MAX */
	SMTP_REPLY_TOO_BIG,          /* over SMTP_REPLY_BYTES_MAX */
};

struct smtp_reply {
	int code;                       /* 200 .. 559 */
	/* The enhanced status code when the first line's text starts with one
	 * whose class is the code's first digit, followed by SP or the line
	 * end; "" otherwise (RFC 3463 2, RFC 2034 4). */
	char esc[SMTP_REPLY_ESC_SIZE];
	size_t nlines;                  /* 1 .. SMTP_REPLY_LINES_MAX */
	/* The text of each line after "DDD-" or "DDD " (CRLF excluded), with
	 * the enhanced status code and its SP removed from every line that
	 * starts with the same code as the first. Borrowed: valid until the
	 * next smtp_reply_parser_feed or smtp_reply_parser_free. */
	const struct span *lines;
};

struct smtp_reply_parser;

struct smtp_reply_parser *smtp_reply_parser_new(void);
void smtp_reply_parser_free(struct smtp_reply_parser *p);

/* Consume bytes up to and including the CRLF that completes a reply, or all
 * n when none completes. Returns the bytes consumed: 0 while a complete
 * reply waits to be taken, and after an error. */
size_t smtp_reply_parser_feed(struct smtp_reply_parser *p, const char *in, size_t n);
/* Take the completed reply; false when there is none (yet). */
bool smtp_reply_parser_next(struct smtp_reply_parser *p, struct smtp_reply *r);
/* SMTP_REPLY_OK, or the error that made the stream unusable. */
enum smtp_reply_error smtp_reply_parser_error(const struct smtp_reply_parser *p);
/* True while part of a reply is buffered (bytes fed, no complete reply). */
bool smtp_reply_parser_is_partial(const struct smtp_reply_parser *p);
/* A short static text for an error, fit for a log line or a reason. */
const char *smtp_reply_error_text(enum smtp_reply_error e);

#endif
