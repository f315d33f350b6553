/* dsn.c - delivery status notifications (see dsn.h).
 * Owns: the DSN as one multipart/report (RFC 6522): header, human-readable
 * part, message/delivery-status (RFC 3464), the returned original (RFC 3461
 * 4.3), a boundary that no returned line starts with; the NOTIFY rules.
 * Leaves: folding, cleaning and encoding text (dsn_text.c); deciding when a
 * DSN is due and queuing it (queue.c).
 * Invariant: composed text goes through dsn_text_field or dsn_text_para, and
 * every value through a dsn_text cleaner (peer text is never trusted); the
 * text from peers in the human-readable part is indented, so only the
 * delimiters start a composed line with "--". */
#include "queue/dsn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "queue/dsn_text.h"
#include "spool/spool.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/random.h"

#define DSN_DIAG_MAX 1000             /* octets of a diagnostic kept (peer text) */
#define DSN_NAME_MAX 255              /* a host name (RFC 1035 3.1 limits it to 255) */
#define DSN_FULL_MAX (1024 * 1024)    /* no RET: whole message up to this, else headers */
#define DSN_READ_CHUNK 65536          /* pread size for the original */
#define DSN_RAND_LEN 12               /* random octets in the boundary and Message-ID */
#define DSN_BOUNDARY_TRIES 4          /* fresh boundaries tried against the content */
#define DSN_BOUNDARY_SIZE 72          /* RFC 2046 5.1.1: at most 70 characters, and NUL */
#define NO_MATCH ((size_t)-1)

enum kind { KIND_FAILURE, KIND_DELAY, KIND_SUCCESS };

static const struct {
	const char *subject, *intro;
} kinds[] = {
	[KIND_FAILURE] = { "Undelivered Mail Returned to Sender",
	    "Your message could not be delivered to one or more of its recipients. "
	    "The reasons are given below. Delivery will not be tried again." },
	[KIND_DELAY] = { "Delayed Mail (still being retried)",
	    "Your message has not yet been delivered to one or more of its recipients. "
	    "The mail system keeps trying; you need not send it again. You will be told "
	    "if delivery finally fails." },
	[KIND_SUCCESS] = { "Successful Mail Delivery Report",
	    "Your message was delivered as reported below. You asked for this report "
	    "when you sent the message." },
};

/* RFC 3464 2.3.3 action names, words for people, the status when none is given. */
static const struct {
	const char *name, *phrase, *status;
} actions[] = {
	[DSN_FAILED] = { "failed", "delivery failed", "5.0.0" },
	[DSN_DELAYED] = { "delayed", "not delivered yet, still trying", "4.0.0" },
	[DSN_DELIVERED] = { "delivered", "delivered", "2.0.0" },
	[DSN_RELAYED] = { "relayed",
	    "relayed to a mail system that sends no delivery reports", "2.0.0" },
	[DSN_EXPANDED] = { "expanded",
	    "delivered to an alias or list and passed on to its members", "2.0.0" },
};

/* The returned original and what a scan found in it. */
struct content {
	int fd;
	off_t offset;
	uint64_t length;     /* of the whole content */
	bool headers_only;   /* return the header section only */
	char *rbuf;          /* DSN_READ_CHUNK octets */
	uint64_t len;        /* octets returned: length, or the header section's */
	bool eightbit;       /* the returned octets include one over 0x7F */
	bool has_boundary;   /* a line starts with "--" and the boundary */
};

struct ids {
	char token[2 * DSN_RAND_LEN + 1];   /* random, in hex */
	char boundary[DSN_BOUNDARY_SIZE];   /* RFC 2046 5.1.1: 1 to 70 characters */
};

static bool
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Fresh random token; the boundary is "=_postino_" QUEUEID "_" TOKEN (at most
 * 51 characters, all RFC 2046 bchars). 96 random bits: nobody can put the
 * boundary in a message before it exists. */
static int
make_ids(const struct dsn_report *r, struct ids *id)
{
	unsigned char rnd[DSN_RAND_LEN];
	size_t k = 0;

	if (random_bytes(rnd, sizeof rnd) < 0)
		return -1;
	for (size_t i = 0; i < sizeof rnd; i++) {
		id->token[2 * i] = "0123456789ABCDEF"[rnd[i] >> 4];
		id->token[2 * i + 1] = "0123456789ABCDEF"[rnd[i] & 15];
	}
	id->token[2 * DSN_RAND_LEN] = '\0';
	memcpy(id->boundary, "=_postino_", 10);
	k = 10;
	for (const char *q = r->queue_id; *q != '\0' && k < 10 + SPOOL_ID_LEN; q++)
		if (is_alnum(*q))
			id->boundary[k++] = *q;
	id->boundary[k++] = '_';
	memcpy(id->boundary + k, id->token, sizeof id->token);
	return 0;
}

/* pread the content from pos, up to end, into rbuf: octets read, or -1 with
 * errno (EIO: the content is shorter than it should be). */
static ssize_t
read_at(const struct content *c, uint64_t pos, uint64_t end)
{
	size_t want = end - pos < DSN_READ_CHUNK ? (size_t)(end - pos) : DSN_READ_CHUNK;
	ssize_t got;

	do
		got = pread(c->fd, c->rbuf, want, c->offset + (off_t)pos);
	while (got < 0 && errno == EINTR);
	if (got == 0)
		errno = EIO;
	return got > 0 ? got : -1;
}

/* Read the original: what part of it returns (the header section ends at
 * the first empty line, RFC 5322 2.1), whether that part has 8-bit octets,
 * and whether a line of it starts with "--" boundary (RFC 2046 5.1.1
 * forbids that). */
static int
scan_content(struct content *c, const char *boundary)
{
	char pat[DSN_BOUNDARY_SIZE + 2];
	int plen = snprintf(pat, sizeof pat, "--%s", boundary);
	size_t m = 0;
	char prev = '\n';

	if (plen < 0 || plen >= (int)sizeof pat)
		PANIC("boundary too long: %s", boundary);

	c->len = c->length;
	c->eightbit = c->has_boundary = false;
	for (uint64_t pos = 0; pos < c->length;) {
		ssize_t got = read_at(c, pos, c->length);

		if (got < 0)
			return -1;
		for (size_t i = 0; i < (size_t)got; i++) {
			char ch = c->rbuf[i];

			if (c->headers_only && ch == '\n' && prev == '\n') {
				c->len = pos + i;
				return 0;
			}
			c->eightbit |= (unsigned char)ch >= 0x80;
			/* m: octets of pat matched since the line began;
			 * NO_MATCH: this line differs */
			if (m != NO_MATCH)
				m = ch == pat[m] ? m + 1 : NO_MATCH;
			if (m == (size_t)plen) {
				c->has_boundary = true;
				m = NO_MATCH;
			}
			if (ch == '\n')
				m = 0;
			prev = ch;
		}
		pos += (uint64_t)got;
	}
	return 0;
}

/* Pick the boundary and token; check the boundary against the returned
 * content and draw again in the (random) case that it occurs. */
static int
pick_ids(const struct dsn_report *r, struct content *c, struct ids *id)
{
	for (int i = 0; i < DSN_BOUNDARY_TRIES; i++) {
		if (make_ids(r, id) != 0)
			return -1;
		if (c->fd < 0)
			return 0;
		if (scan_content(c, id->boundary) != 0)
			return -1;
		if (!c->has_boundary)
			return 0;
	}
	errno = EEXIST;
	return -1;
}

/* Copy the returned octets of the original to the output. */
static void
copy_content(struct dsn_text *o, struct content *c)
{
	for (uint64_t pos = 0; pos < c->len && o->err == 0;) {
		ssize_t got = read_at(c, pos, c->len);

		if (got < 0) {
			o->err = errno;
			return;
		}
		dsn_text_raw(o, c->rbuf, (size_t)got);
		pos += (uint64_t)got;
	}
}

static bool
has_8bit(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* RFC 3463 2 status-code: class "." subject "." detail, 1 to 3 digits each. */
static bool
status_ok(const char *s)
{
	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;

		while (d < 4 && s[d] >= '0' && s[d] <= '9')
			d++;
		if (d == 0 || d > 3)
			return false;
		s += d;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

static void
put_delimiter(struct dsn_text *o, const struct ids *id, bool close)
{
	dsn_text_str(o, "\n--");
	dsn_text_str(o, id->boundary);
	dsn_text_str(o, close ? "--\n" : "\n");
}

/* Message-ID (RFC 5322 3.6.4): token, time and queue ID, at our host. */
static void
put_msgid(struct dsn_text *o, const struct dsn_report *r, const struct ids *id, int64_t now)
{
	char t[32];
	size_t at;

	if (snprintf(t, sizeof t, ".%" PRId64 ".", now) >= (int)sizeof t)
		t[0] = '\0';   /* cannot happen: 20 digits at most */
	dsn_text_add(o, "<");
	dsn_text_add(o, id->token);
	dsn_text_add(o, t);
	dsn_text_add_alnum(o, r->queue_id, SPOOL_ID_LEN);
	dsn_text_add(o, "@");
	at = dsn_text_len(o);
	dsn_text_add_host(o, r->reporting_mta);
	if (dsn_text_len(o) == at)
		dsn_text_add(o, "localhost");
	dsn_text_add(o, ">");
	dsn_text_field(o, "Message-ID");
}

/* The message header (RFC 5322 3.6), MIME (RFC 2045, RFC 6522 3) and the preamble. */
static void
put_header(struct dsn_text *o, const struct dsn_report *r, enum kind k, const struct ids *id,
    int64_t now, bool eightbit)
{
	dsn_text_add(o, "Mail Delivery System <");
	if (r->from != NULL && r->from[0] != '\0') {
		dsn_text_add_addr(o, r->from);
	} else {
		dsn_text_add(o, "MAILER-DAEMON@");
		dsn_text_add_host(o, r->reporting_mta);
	}
	dsn_text_add(o, ">");
	dsn_text_field(o, "From");
	dsn_text_add(o, "<");
	dsn_text_add_addr(o, r->to);
	dsn_text_add(o, ">");
	dsn_text_field(o, "To");
	dsn_text_add(o, kinds[k].subject);
	dsn_text_field(o, "Subject");
	dsn_text_date_field(o, "Date", now);
	put_msgid(o, r, id, now);
	dsn_text_add(o, "auto-replied");   /* RFC 3834 5.1: a response to a message */
	dsn_text_field(o, "Auto-Submitted");
	dsn_text_add(o, "1.0");
	dsn_text_field(o, "MIME-Version");
	dsn_text_add(o, "multipart/report; report-type=delivery-status; boundary=\"");
	dsn_text_add(o, id->boundary);
	dsn_text_add(o, "\"");
	dsn_text_field(o, "Content-Type");
	if (eightbit) {
		dsn_text_add(o, "8bit");
		dsn_text_field(o, "Content-Transfer-Encoding");
	}
	dsn_text_str(o, "\nThis is a MIME-encapsulated message.\n");
}

/* One recipient for people: address, outcome, then, indented, what the
 * other side said (peer text is indented, so no line of it starts "--"). */
static void
put_human_rcpt(struct dsn_text *o, const struct dsn_rcpt *rc)
{
	bool diag = rc->diagnostic != NULL && rc->diagnostic[0] != '\0';
	bool remote = rc->remote_mta != NULL && rc->remote_mta[0] != '\0';

	dsn_text_add(o, "<");
	dsn_text_add_addr(o, rc->final_rcpt);
	dsn_text_add(o, ">: ");
	dsn_text_add(o, actions[rc->action].phrase);
	dsn_text_add(o, " (");
	dsn_text_add(o, status_ok(rc->status) ? rc->status : actions[rc->action].status);
	dsn_text_add(o, ")");
	dsn_text_para(o, "");
	if (remote && diag && !rc->diagnostic_local) {
		dsn_text_add(o, "Remote server ");
		dsn_text_add_clean(o, rc->remote_mta, DSN_NAME_MAX);
		dsn_text_add(o, " said: ");
		dsn_text_add_clean(o, rc->diagnostic, DSN_DIAG_MAX);
		dsn_text_para(o, "    ");
	} else {
		if (remote) {
			dsn_text_add(o, "Remote server: ");
			dsn_text_add_clean(o, rc->remote_mta, DSN_NAME_MAX);
			dsn_text_para(o, "    ");
		}
		if (diag) {
			dsn_text_add(o, rc->diagnostic_local ? "Reason: " : "Reply: ");
			dsn_text_add_clean(o, rc->diagnostic, DSN_DIAG_MAX);
			dsn_text_para(o, "    ");
		}
	}
	if (rc->action == DSN_DELAYED && rc->will_retry_until != 0) {
		dsn_text_add(o, "Delivery will be tried until ");
		dsn_text_add_date(o, rc->will_retry_until);
		dsn_text_add(o, ".");
		dsn_text_para(o, "    ");
	}
}

/* Part 1 (RFC 6522 3): the human-readable explanation. */
static void
put_human(struct dsn_text *o, const struct dsn_report *r, const struct dsn_rcpt *rcpts, size_t n,
    enum kind k, const struct content *c, const struct ids *id, bool utf8)
{
	put_delimiter(o, id, false);
	dsn_text_add(o, "Notification");
	dsn_text_field(o, "Content-Description");
	dsn_text_add(o, utf8 ? "text/plain; charset=utf-8" : "text/plain; charset=us-ascii");
	dsn_text_field(o, "Content-Type");
	if (utf8) {
		dsn_text_add(o, "8bit");
		dsn_text_field(o, "Content-Transfer-Encoding");
	}
	dsn_text_add(o, "This is the mail system at host ");
	dsn_text_add_clean(o, r->reporting_mta, DSN_NAME_MAX);
	dsn_text_add(o, ".");
	dsn_text_put(o, "\n", 1);   /* ends the part's header section */
	dsn_text_para(o, "");
	dsn_text_put(o, "\n", 1);
	dsn_text_add(o, kinds[k].intro);
	if (c->fd >= 0)
		dsn_text_add(o, c->headers_only ? " The header of your message is attached."
					: " Your message is attached.");
	dsn_text_para(o, "");
	for (size_t i = 0; i < n; i++) {
		dsn_text_put(o, "\n", 1);
		put_human_rcpt(o, &rcpts[i]);
	}
}

/* One per-recipient group of the delivery-status part (RFC 3464 2.3). */
static void
put_status_rcpt(struct dsn_text *o, const struct dsn_rcpt *rc)
{
	if (rc->orcpt != NULL && rc->orcpt[0] != '\0') {   /* RFC 3461 6.3 (d): only then */
		dsn_text_add_orcpt(o, rc->orcpt);
		dsn_text_field(o, "Original-Recipient");
	}
	dsn_text_add_typed_addr(o, rc->final_rcpt);
	dsn_text_field(o, "Final-Recipient");
	dsn_text_add(o, actions[rc->action].name);
	dsn_text_field(o, "Action");
	dsn_text_add(o, status_ok(rc->status) ? rc->status : actions[rc->action].status);
	dsn_text_field(o, "Status");
	if (rc->remote_mta != NULL && rc->remote_mta[0] != '\0') {
		dsn_text_add(o, "dns; ");
		dsn_text_add_clean(o, rc->remote_mta, DSN_NAME_MAX);
		dsn_text_field(o, "Remote-MTA");
	}
	if (rc->diagnostic != NULL) {
		size_t before;

		dsn_text_add(o, rc->diagnostic_local ? "X-Postino; " : "smtp; ");
		before = dsn_text_len(o);
		dsn_text_add_clean(o, rc->diagnostic, DSN_DIAG_MAX);
		if (dsn_text_len(o) > before)
			dsn_text_field(o, "Diagnostic-Code");
		dsn_text_drop(o);   /* nothing printable: no field */
	}
	if (rc->last_attempt != 0)
		dsn_text_date_field(o, "Last-Attempt-Date", rc->last_attempt);
	if (rc->action == DSN_DELAYED && rc->will_retry_until != 0)
		dsn_text_date_field(o, "Will-Retry-Until", rc->will_retry_until);
}

/* Part 2: message/delivery-status, per-message fields (RFC 3464 2.2), then
 * each recipient's group after an empty line. */
static void
put_status(struct dsn_text *o, const struct dsn_report *r, const struct dsn_rcpt *rcpts, size_t n,
    const struct ids *id)
{
	put_delimiter(o, id, false);
	dsn_text_add(o, "Delivery report");
	dsn_text_field(o, "Content-Description");
	dsn_text_add(o, "message/delivery-status");
	dsn_text_field(o, "Content-Type");
	dsn_text_put(o, "\n", 1);
	if (r->envid != NULL && r->envid[0] != '\0') {   /* RFC 3461 6.3 (a), RFC 3464 2.2.1 */
		if (!dsn_text_add_xtext(o, r->envid))
			dsn_text_add_clean(o, r->envid, 3 * SMTP_ENVID_MAX);
		dsn_text_field(o, "Original-Envelope-Id");
	}
	dsn_text_add(o, "dns; ");
	dsn_text_add_clean(o, r->reporting_mta, DSN_NAME_MAX);
	dsn_text_field(o, "Reporting-MTA");
	if (r->received_from_mta != NULL && r->received_from_mta[0] != '\0') {
		dsn_text_add(o, "dns; ");
		dsn_text_add_clean(o, r->received_from_mta, DSN_NAME_MAX);
		dsn_text_field(o, "Received-From-MTA");
	}
	if (r->arrival != 0)
		dsn_text_date_field(o, "Arrival-Date", r->arrival);
	dsn_text_add_clean(o, r->queue_id, SPOOL_ID_LEN);
	dsn_text_field(o, "X-Postino-Queue-ID");
	for (size_t i = 0; i < n; i++) {
		dsn_text_put(o, "\n", 1);
		put_status_rcpt(o, &rcpts[i]);
	}
}

/* Part 3: the original, whole (message/rfc822) or its header section
 * (text/rfc822-headers, RFC 6522 4), marked 8bit when it has such octets
 * (RFC 2046 5.2.1 allows 7bit, 8bit or binary only). */
static void
put_original(struct dsn_text *o, struct content *c, const struct ids *id, enum kind k)
{
	put_delimiter(o, id, false);
	dsn_text_add(o, k == KIND_SUCCESS ? "" : "Undelivered ");
	dsn_text_add(o, c->headers_only ? "Message Headers" : "Message");
	dsn_text_field(o, "Content-Description");
	dsn_text_add(o, c->headers_only ? "text/rfc822-headers" : "message/rfc822");
	dsn_text_field(o, "Content-Type");
	if (c->eightbit) {
		dsn_text_add(o, "8bit");
		dsn_text_field(o, "Content-Transfer-Encoding");
	}
	dsn_text_put(o, "\n", 1);
	copy_content(o, c);
}

/* RFC 3461 4.3: RET applies to failure reports only; a report without a
 * failure returns the header section. No RET leaves it to us: the whole
 * message up to DSN_FULL_MAX. */
static bool
return_full(enum smtp_ret ret, enum kind k, uint64_t length)
{
	if (k != KIND_FAILURE)
		return false;
	if (ret == SMTP_RET_FULL)
		return true;
	if (ret == SMTP_RET_HDRS)
		return false;
	return length <= DSN_FULL_MAX;
}

static enum kind
report_kind(const struct dsn_rcpt *rcpts, size_t n)
{
	enum kind k = KIND_SUCCESS;

	for (size_t i = 0; i < n; i++) {
		if (rcpts[i].action == DSN_FAILED)
			return KIND_FAILURE;
		if (rcpts[i].action == DSN_DELAYED)
			k = KIND_DELAY;
	}
	return k;
}

static bool
args_ok(const struct dsn_report *r, const struct dsn_rcpt *rcpts, size_t n)
{
	if (r == NULL || rcpts == NULL || n == 0 || r->to == NULL || r->to[0] == '\0' ||
	    r->reporting_mta == NULL || r->reporting_mta[0] == '\0' || r->queue_id == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (rcpts[i].final_rcpt == NULL || rcpts[i].final_rcpt[0] == '\0' ||
		    (unsigned)rcpts[i].action > (unsigned)DSN_EXPANDED)
			return false;
	return true;
}

int
dsn_write(const struct dsn_report *r, const struct dsn_rcpt *rcpts, size_t n, int content_fd,
    off_t offset, uint64_t length, int64_t now,
    int (*emit)(void *arg, const char *p, size_t len), void *arg)
{
	struct dsn_text o;
	struct content c = { .fd = -1 };
	struct ids id;
	enum kind k;
	bool utf8;   /* an address for people is UTF-8: the text part is 8bit */
	int err;

	if (emit == NULL || !args_ok(r, rcpts, n)) {
		errno = EINVAL;
		return -1;
	}
	k = report_kind(rcpts, n);
	utf8 = has_8bit(r->to) || has_8bit(r->from);
	if (content_fd >= 0 && length > 0) {
		c = (struct content){ .fd = content_fd, .offset = offset, .length = length,
			.headers_only = !return_full(r->ret, k, length) };
		c.rbuf = xmalloc(DSN_READ_CHUNK);
	}
	dsn_text_init(&o, emit, arg);
	for (size_t i = 0; i < n; i++)
		utf8 = utf8 || has_8bit(rcpts[i].final_rcpt);
	if (pick_ids(r, &c, &id) != 0) {
		o.err = errno;
	} else {
		put_header(&o, r, k, &id, now, c.eightbit || utf8);
		put_human(&o, r, rcpts, n, k, &c, &id, utf8);
		put_status(&o, r, rcpts, n, &id);
		if (c.fd >= 0)
			put_original(&o, &c, &id, k);
		put_delimiter(&o, &id, true);
		dsn_text_flush(&o);
	}
	err = o.err;
	dsn_text_reset(&o);
	free(c.rbuf);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

bool
dsn_wanted(unsigned notify, enum dsn_action a)
{
	if (notify & SMTP_NOTIFY_NEVER)
		return false;
	if (notify == 0)   /* RFC 3461 4.1: absent NOTIFY means FAILURE,DELAY (SPEC: warn_after) */
		notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY;
	switch (a) {
	case DSN_FAILED:
		return (notify & SMTP_NOTIFY_FAILURE) != 0;
	case DSN_DELAYED:
		return (notify & SMTP_NOTIFY_DELAY) != 0;
	case DSN_DELIVERED:
	case DSN_RELAYED:
	case DSN_EXPANDED:
		return (notify & SMTP_NOTIFY_SUCCESS) != 0;
	}
	return false;
}
