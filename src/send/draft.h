/* draft.h - the message `postino send` submits: read from stdin, fixed up.
 * Owns: the input as sendmail reads it (CRLF taken as LF; a line holding a
 * lone "." ends it unless -i; a leading mbox "From " line dropped; the size
 * bound); the header section (RFC 5322 2.2: fields, folding, at most
 * SMTP_HEADER_BYTES_MAX octets and SMTP_HEADER_LINES_MAX lines); the -t
 * recipients (To, Cc, Bcc, or Resent-To, -Cc, -Bcc when there are any);
 * removing Bcc and Resent-Bcc fields; adding From, Date and Message-ID when
 * missing (RFC 5322 3.6: Date and From are required, Message-ID should be).
 * Leaves: options and address validity (send.c), the way to the daemon
 * (submit.c, maildrop.c). Does no I/O: the owner feeds bytes, gives the time.
 * Invariant: the finished message holds no CR and no NUL, and ends with LF
 * unless it is empty. */
#ifndef POSTINO_SEND_DRAFT_H
#define POSTINO_SEND_DRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/buf.h"
#include "util/span.h"

#define DRAFT_ERR_MAX 256

struct draft {
	struct buf in;          /* the content as read, LF line ends */
	struct buf line;        /* an input line not yet complete */
	bool ignore_dots;       /* -i: a lone "." is just a line */
	bool at_start;          /* no line taken yet (for the "From " line) */
	bool done;              /* the lone "." was seen: the rest is not read */
	bool too_big, bad_cr, nul;
	struct buf head;        /* after draft_finish: header section and separator */
	size_t body_off;        /* after draft_finish: the body is in.data[body_off ..] */
	char err[DRAFT_ERR_MAX];
};

/* What draft_finish adds and takes. */
struct draft_fix {
	bool extract;           /* -t: give the recipients of the header fields */
	const char *from;       /* the body of a From field to add when there is none */
	const char *hostname;   /* the right side of an added Message-ID */
	time_t now;             /* for Date and Message-ID */
	long pid;
	const char *unique;     /* random text for Message-ID (dot-atom-text) */
	/* -t: called with each addr-spec and the field it came from; -1 stops
	 * the finish, which then fails with the callback's err text. */
	int (*rcpt)(void *arg, const char *addr, const char *field, char *err, size_t errlen);
	void *arg;
};

/* max: the most content octets accepted (the size of the stored message). */
void draft_init(struct draft *d, bool ignore_dots, uint64_t max);
void draft_reset(struct draft *d);
/* Take n input bytes. Returns false when no more input is wanted: the end
 * (a lone ".") was seen or the bound was passed (too_big). */
bool draft_feed(struct draft *d, const char *p, size_t n);
/* The input ended (EOF): take the last line even without its LF. */
void draft_end(struct draft *d);
/* Check the input, then build the header section: fields but Bcc, the
 * missing ones, the separator. 0, or -1 with d->err set (too big, a bare
 * CR or NUL, a header section over its bounds, a malformed address list). */
int draft_finish(struct draft *d, const struct draft_fix *fix);

/* The finished message in two parts: head, then body; borrowed until
 * draft_reset. */
struct span draft_head(const struct draft *d);
struct span draft_body(const struct draft *d);
/* Octets as DATA carries them before dot-stuffing: each LF counts as CRLF. */
uint64_t draft_wire_size(const struct draft *d);
/* True when an octet is over 0x7f (BODY=8BITMIME). */
bool draft_is_8bit(const struct draft *d);

#endif
