/* dsn_text.h - the text primitives of a DSN (used by dsn.c).
 * Owns: an output that gathers composed text and emits it in pieces through
 * a callback, with a sticky first error; header fields folded within 998
 * octets (78 where spaces allow, RFC 5322 2.1.1, 2.2.3); paragraphs wrapped
 * for people; field values cleaned to printable ASCII; xtext decoding
 * (RFC 3461 4) and the 7-bit form of UTF-8 addresses (RFC 6533 3); dates
 * (RFC 5322 3.3).
 * Leaves: what a DSN says and its MIME structure (dsn.c).
 * Use: build a value with dsn_text_add* (the "value"), then write it with
 * dsn_text_field or dsn_text_para, which also empty the value. After the
 * first failure (err set) everything is a no-op; check err at the end. */
#ifndef POSTINO_QUEUE_DSN_TEXT_H
#define POSTINO_QUEUE_DSN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct dsn_text {
	int (*emit)(void *arg, const char *p, size_t len);
	void *arg;
	struct buf b;   /* composed, not yet emitted */
	struct buf v;   /* the value being built */
	int err;        /* errno of the first failure; 0 while none */
};

/* Embed: emit gets the output (0, or -1 with errno set). */
void dsn_text_init(struct dsn_text *o, int (*emit)(void *arg, const char *p, size_t len),
    void *arg);
/* Free the buffers (pending text is dropped: flush first). */
void dsn_text_reset(struct dsn_text *o);
/* Emit what is pending. */
void dsn_text_flush(struct dsn_text *o);
/* Composed text as it is (LF line ends, no value involved). */
void dsn_text_put(struct dsn_text *o, const char *p, size_t n);
void dsn_text_str(struct dsn_text *o, const char *s);
/* Flush, then emit p[0 .. n) directly (returned content). */
void dsn_text_raw(struct dsn_text *o, const char *p, size_t n);

/* Write "name: value" and LF, folded before spaces to stay within 78
 * octets; a run of over 998 octets without a space is broken by a fold
 * (which adds a space when unfolded). The value should be cleaned ASCII. */
void dsn_text_field(struct dsn_text *o, const char *name);
/* Write the value as a paragraph: lines starting with indent, wrapped at
 * spaces near 72 octets, each ending in LF. */
void dsn_text_para(struct dsn_text *o, const char *indent);
/* Write "name: " and the RFC 5322 date of t (UTC). */
void dsn_text_date_field(struct dsn_text *o, const char *name, int64_t t);

/* Append to the value: as it is / a C string. */
void dsn_text_addn(struct dsn_text *o, const char *p, size_t n);
void dsn_text_add(struct dsn_text *o, const char *s);
/* Empty the value. */
void dsn_text_drop(struct dsn_text *o);
/* Bytes in the value so far. */
size_t dsn_text_len(const struct dsn_text *o);
/* s as printable ASCII (RFC 3464 "text"): each run of white space and line
 * ends becomes one space, other octets outside 0x21..0x7E '?', no leading or
 * trailing space; over max octets it is cut to end in "...". Nothing when s
 * has nothing printable. */
void dsn_text_add_clean(struct dsn_text *o, const char *s, size_t max);
/* An address for people (To:, text): printable ASCII and well-formed UTF-8
 * kept, any other octet '?'. */
void dsn_text_add_addr(struct dsn_text *o, const char *s);
/* "rfc822; addr" for a printable ASCII address, else "utf-8; " and the
 * 7-bit utf-8-addr-xtext form (RFC 6533 3: \x{E9}). */
void dsn_text_add_typed_addr(struct dsn_text *o, const char *addr);
/* ORCPT "type;xtext" as an Original-Recipient value: "type; " and the
 * address decoded when it decodes to printable ASCII, else as received;
 * a "utf-8" address with raw UTF-8 in its 7-bit form; no ";": "unknown; ". */
void dsn_text_add_orcpt(struct dsn_text *o, const char *orcpt);
/* xtext s decoded ("+" and two upper-case hex digits: one octet). False,
 * appending nothing, when s is not xtext or decodes to anything but
 * printable ASCII. */
bool dsn_text_add_xtext(struct dsn_text *o, const char *s);
/* The octets of s that may stand in a host name ([A-Za-z0-9.-]), at most 255. */
void dsn_text_add_host(struct dsn_text *o, const char *s);
/* The ASCII letters and digits of s, at most max. */
void dsn_text_add_alnum(struct dsn_text *o, const char *s, size_t max);
/* "Tue, 14 Nov 2023 22:13:20 +0000": t in UTC, RFC 5322 3.3, no locale. */
void dsn_text_add_date(struct dsn_text *o, int64_t t);

#endif
