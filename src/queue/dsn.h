/* dsn.h - delivery status notifications (bounces) as RFC 3464 reports.
 * Owns: the text of a DSN: its header, the multipart/report (RFC 6522) with a
 * human-readable part, the message/delivery-status part (RFC 3464) and the
 * returned original (RFC 3461 4.3); and which recipients asked for which
 * notification (NOTIFY, RFC 3461 4.1).
 * Leaves: when a DSN is due and to whom (queue/), queuing it from the null
 * sender <> and never bouncing a message from <> (queue/), CRLF on the wire
 * (the SMTP client): a DSN is written with LF line ends, as the spool keeps it.
 * Invariant: every line dsn_write composes is at most 998 octets and holds no
 * CR, NUL or other control character; peer-supplied text (replies, host names)
 * is cleaned to printable ASCII first. Only the returned original is copied
 * as it is. */
#ifndef POSTINO_QUEUE_DSN_H
#define POSTINO_QUEUE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smtp/address.h"

/* RFC 3464 2.3.3 action-value. */
enum dsn_action {
	DSN_FAILED,     /* permanent failure, or expiry: a bounce */
	DSN_DELAYED,    /* still being retried (a warning after warn_after) */
	DSN_DELIVERED,  /* delivered into a mailbox here */
	DSN_RELAYED,    /* handed to an MTA that does not speak DSN */
	DSN_EXPANDED,   /* delivered to an alias, forwarded to its members */
};

/* One recipient's line in the report. Strings are borrowed for the call. */
struct dsn_rcpt {
	const char *final_rcpt;   /* the address tried, "local@domain" (UTF-8 allowed) */
	const char *orcpt;        /* ORCPT= as received ("rfc822;a+2Bb@c", xtext), or NULL */
	enum dsn_action action;
	const char *status;       /* RFC 3463 "5.1.1"; NULL or malformed: X.0.0 of the action */
	const char *remote_mta;   /* host name of the MTA that answered, or NULL */
	const char *diagnostic;   /* the remote reply ("550 5.1.1 no such user"; a multi-line
	                           * reply may keep its line ends) or a local reason; NULL: none */
	bool diagnostic_local;    /* diagnostic is a local reason ("X-Postino;"), not an SMTP
	                           * reply ("smtp;") */
	int64_t last_attempt;     /* unix seconds; 0: not written */
	int64_t will_retry_until; /* unix seconds, DSN_DELAYED only; 0: not written */
};

/* What the report says about the message. Strings are borrowed for the call. */
struct dsn_report {
	const char *reporting_mta;     /* our host name (Reporting-MTA, From:, Message-ID) */
	const char *from;              /* From: address; NULL: MAILER-DAEMON@reporting_mta */
	const char *to;                /* the original envelope sender; never "" */
	const char *envid;             /* ENVID= as received (xtext), or NULL */
	const char *received_from_mta; /* the client's HELO name, or NULL (local submission) */
	int64_t arrival;               /* unix seconds the message was received; 0: unknown */
	enum smtp_ret ret;             /* the MAIL command's RET= */
	const char *queue_id;          /* the original's queue ID */
};

/* Whether a recipient whose RCPT had these SMTP_NOTIFY_* bits (0: NOTIFY
 * absent) wants a DSN with action a (RFC 3461 4.1): NEVER wants none; an
 * absent NOTIFY means FAILURE,DELAY; delivered, relayed and expanded reports
 * need SUCCESS (RFC 3461 4.1). */
bool dsn_wanted(unsigned notify, enum dsn_action a);

/* Write the DSN for n (>= 1) recipients of one message, a whole message
 * starting with its header (From:, To:, Subject:, Date:, Message-ID:,
 * Auto-Submitted: auto-replied, MIME), through emit, in pieces; emit returns
 * 0, or -1 with errno set to stop. now dates it (Date:).
 *
 * The kind of report follows the recipients: "failed" if any failed, else
 * "delayed" if any is delayed, else a success report. The original, content_fd
 * read with pread from offset for length bytes (LF line ends; content_fd -1
 * or length 0: no third part), is returned (RFC 3461 4.3):
 *  - a failure report with RET=FULL: the whole message (message/rfc822);
 *  - with RET=HDRS: its header section (text/rfc822-headers);
 *  - with no RET: the whole message up to 1 MiB, its header section above;
 *  - a report without a failure: the header section only, whatever RET says.
 * Original-Envelope-Id and Original-Recipient carry ENVID and ORCPT xtext-
 * decoded (RFC 3461 4.2, 4.4: the decoded value must be printable ASCII, as
 * the DSN carries it), or as received when the decoded text is not printable.
 * A non-ASCII address is written as a "utf-8" address in the RFC 6533 7-bit
 * form (\x{E9}). Diagnostics are cleaned (line ends become spaces, other
 * non-printable octets '?') and cut to 1000 octets, and long fields are folded.
 *
 * The DSN holds 8-bit octets only where the returned original does (its part
 * is then marked 8bit) or where an address is UTF-8 (To:, the human-readable
 * part): send it with the original's BODY and SMTPUTF8.
 * Returns 0, or -1 with errno: EINVAL (no emit, n == 0, no to, reporting_mta,
 * queue_id or final_rcpt, a bad action), a read error (EIO for content
 * shorter than length), EEXIST (four random boundaries all found in the
 * content: never by chance), or emit's. The content is read (once, to check
 * the boundary) before anything is emitted; output may have been emitted
 * before a later failure. Reentrant: may run on worker threads. */
int dsn_write(const struct dsn_report *r, const struct dsn_rcpt *rcpts, size_t n, int content_fd,
    off_t offset, uint64_t length, int64_t now,
    int (*emit)(void *arg, const char *p, size_t len), void *arg);

#endif
