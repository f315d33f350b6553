/* smtp_client.h - the client side of one SMTP session, without I/O.
 * Owns: the conversation with one server: greeting, EHLO (HELO when EHLO is
 * refused with 5xx), the extension list, STARTTLS when offered and allowed,
 * per message the checks the peer's extensions call for (SIZE, 8BITMIME,
 * SMTPUTF8), MAIL and RCPT with their parameters (pipelined per RFC 2920
 * when offered), DATA with LF -> CRLF and dot-stuffing of the content, RSET
 * between messages only after an unfinished transaction, QUIT; and from all
 * that, one outcome per recipient.
 * Leaves: DNS, connecting, the TLS handshake, timers, reading the spool,
 * retries and bounces (the owner).
 *
 * Use: create the session when the TCP connection is up; feed the server's
 * bytes with smtp_client_feed and, after each feed and each call below,
 * take events with smtp_client_next until it returns false; send what
 * smtp_client_output holds (removing what was sent with buf_consume).
 *  - READY: give a message with smtp_client_send, or end with smtp_client_quit.
 *  - STARTTLS: the server said 220: send any output, do the handshake on the
 *    socket, then call smtp_client_tls_started (EHLO is sent again). The
 *    server may send nothing between its 220 and the handshake: input still
 *    unread then is an injection attempt (CVE-2011-0411); never carry it into
 *    TLS (feeding it makes an ERROR). When the handshake fails, call
 *    smtp_client_abort.
 *  - SEND_CONTENT: stream the stored content (LF line ends) with
 *    smtp_client_content, then smtp_client_content_end. The output grows
 *    with each call: send it between calls. No reply is read meanwhile
 *    (smtp_client_feed consumes nothing until the final dot is out).
 *  - RESULT: ev.nrcpt outcomes of the last message, in the order of its
 *    recipients, each given exactly once. READY or a final event follows.
 *  - CLOSED or ERROR: the session is over (exactly one of them, always last);
 *    close the connection once the output is sent. ERROR is a protocol
 *    violation by the peer; CLOSED is everything else. ev.why says why.
 *    ev.next_mx is true when the session ended before its first READY (a
 *    refused greeting, EHLO/HELO refused, lost early): the owner then tries
 *    the next MX for all its messages, none of which were attempted here.
 * The owner reports a lost connection, a timeout or a failed TLS handshake
 * with smtp_client_abort: recipients not yet decided become TEMPFAIL.
 * Any 421 reply ends the session likewise (RFC 5321 3.8), with no QUIT.
 *
 * Outcomes: OK for 2xx, TEMPFAIL for 4xx, PERMFAIL for 5xx. A recipient
 * refused at RCPT keeps its RCPT reply; one refused because MAIL was keeps
 * the MAIL reply; an accepted one gets the DATA reply when DATA fails, else
 * the reply to the final dot. Failures the client decides itself (the peer
 * lacks SIZE room, 8BITMIME or SMTPUTF8; lost connection) have code 0. */
#ifndef POSTINO_SMTP_SMTP_CLIENT_H
#define POSTINO_SMTP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/address.h"
#include "smtp/ehlo.h"
#include "smtp/outcome.h"
#include "util/buf.h"

/* RFC 5321 4.5.3.2 timeouts, in seconds, for smtp_client_timeout. */
#define SMTP_CLIENT_TIMEOUT_INITIAL 300   /* 4.5.3.2.1: the 220 greeting */
#define SMTP_CLIENT_TIMEOUT_MAIL 300      /* 4.5.3.2.2 (also EHLO, STARTTLS, RSET, QUIT) */
#define SMTP_CLIENT_TIMEOUT_RCPT 300      /* 4.5.3.2.3 */
#define SMTP_CLIENT_TIMEOUT_DATA 120      /* 4.5.3.2.4: the 354 */
#define SMTP_CLIENT_TIMEOUT_BLOCK 180     /* 4.5.3.2.5: each send of content */
#define SMTP_CLIENT_TIMEOUT_DOT 600       /* 4.5.3.2.6: the reply to the final dot */

struct smtp_client_conf {
	const char *helo_name;      /* our name for EHLO/HELO (no SP or controls); copied */
	bool starttls_allowed;      /* use STARTTLS when offered */
	bool tls_active;            /* the connection is TLS already (implicit TLS) */
};

/* One message for smtp_client_send; everything is copied. Addresses are
 * formatted mailboxes ("local@domain", smtp_mailbox_format), without the
 * angle brackets; sender "" is the null path. They and envid and orcpt
 * must hold no control characters (and envid, orcpt no SP). */
struct smtp_client_msg {
	const char *sender;
	size_t nrcpt;                   /* at least 1 */
	const char *const *rcpt;
	const unsigned *notify;         /* SMTP_NOTIFY_* bits per recipient; NULL: none */
	const char *const *orcpt;       /* ORCPT= values as stored (addr-type;xtext);
	                                   NULL, or NULL entries: none */
	const char *envid;              /* ENVID= xtext; NULL or "": none */
	enum smtp_ret ret;              /* RET=; SMTP_RET_NONE: none */
	uint64_t size;                  /* content octets as sent (CRLF line ends) */
	bool eightbit;                  /* content has 8-bit octets: needs 8BITMIME */
	bool smtputf8;                  /* needs SMTPUTF8 (implied by a non-ASCII address) */
};

enum smtp_client_event_type {
	SMTP_CLIENT_EV_NONE,
	SMTP_CLIENT_EV_READY,           /* call smtp_client_send or smtp_client_quit */
	SMTP_CLIENT_EV_STARTTLS,        /* do the handshake, then smtp_client_tls_started */
	SMTP_CLIENT_EV_SEND_CONTENT,    /* stream the content, then smtp_client_content_end */
	SMTP_CLIENT_EV_RESULT,          /* ev.nrcpt, ev.rcpt */
	SMTP_CLIENT_EV_CLOSED,          /* ev.why, ev.next_mx; final */
	SMTP_CLIENT_EV_ERROR,           /* ev.why (a protocol error), ev.next_mx; final */
};

struct smtp_client_event {
	enum smtp_client_event_type type;
	size_t nrcpt;
	const struct smtp_outcome *rcpt;   /* nrcpt, in the message's recipient order */
	/* CLOSED: status OK after a QUIT the owner asked for; otherwise the
	 * reply or reason that ended the session. */
	struct smtp_outcome why;
	bool next_mx;
};

/* Phases, for the owner's timer (smtp_client_timeout gives the RFC value). */
enum smtp_client_phase {
	SMTP_CLIENT_PHASE_GREETING,
	SMTP_CLIENT_PHASE_HELO,         /* EHLO or HELO sent */
	SMTP_CLIENT_PHASE_STARTTLS,     /* STARTTLS sent */
	SMTP_CLIENT_PHASE_IDLE,         /* waiting for the owner (READY, handshake) */
	SMTP_CLIENT_PHASE_RSET,
	SMTP_CLIENT_PHASE_MAIL,
	SMTP_CLIENT_PHASE_RCPT,
	SMTP_CLIENT_PHASE_DATA,         /* DATA sent, waiting for 354 */
	SMTP_CLIENT_PHASE_CONTENT,      /* the owner streams content */
	SMTP_CLIENT_PHASE_DOT,          /* final dot sent */
	SMTP_CLIENT_PHASE_QUIT,
	SMTP_CLIENT_PHASE_CLOSED,
};

struct smtp_client;

/* A new session on a fresh connection: it waits for the greeting. */
struct smtp_client *smtp_client_new(const struct smtp_client_conf *conf);
void smtp_client_free(struct smtp_client *c);

/* Consume server bytes; returns how many were taken: fewer than n while an
 * event waits to be taken, during SEND_CONTENT, or once the session is over
 * (then nothing more is ever consumed). */
size_t smtp_client_feed(struct smtp_client *c, const char *p, size_t n);
/* Take the next event; false when there is none. Pointers in ev stay valid
 * until the next smtp_client_send, smtp_client_quit or smtp_client_free. */
bool smtp_client_next(struct smtp_client *c, struct smtp_client_event *ev);
/* Bytes to send; the owner removes what it sent with buf_consume. */
struct buf *smtp_client_output(struct smtp_client *c);

/* After READY: send one message. A message the peer cannot take (SIZE,
 * 8BITMIME, SMTPUTF8) gets a RESULT of PERMFAIL for every recipient at once,
 * with nothing sent. -1 with errno EINVAL when msg is malformed (no
 * recipient, a control character, a command line over its limit): nothing
 * changed, READY still holds. Calling it in any other state is a bug. */
int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *msg);
/* After READY: end the session with QUIT; CLOSED follows its reply. */
void smtp_client_quit(struct smtp_client *c);
/* After STARTTLS: the handshake succeeded; the extensions are forgotten
 * and EHLO goes out again (RFC 3207 4.2). */
void smtp_client_tls_started(struct smtp_client *c);
/* During SEND_CONTENT: n content bytes, LF line ends (CRLF and a lone CR
 * are taken as line ends too: the peer never sees a bare CR or LF). -1
 * with errno EPIPE when the session is not taking content. */
int smtp_client_content(struct smtp_client *c, const char *p, size_t n);
/* During SEND_CONTENT: the content is complete; a missing last line end is
 * added, then the final dot. -1 with errno EPIPE as above. */
int smtp_client_content_end(struct smtp_client *c);
/* The connection is gone (EOF, I/O error, timeout, TLS failure): undecided
 * recipients get TEMPFAIL 4.4.2 with reason; RESULT and CLOSED follow. A
 * no-op once the session is over. */
void smtp_client_abort(struct smtp_client *c, const char *reason);

enum smtp_client_phase smtp_client_phase(const struct smtp_client *c);
/* The RFC 5321 4.5.3.2 timeout for the current phase in seconds; 0 while
 * the client waits for the owner or is closed. */
unsigned smtp_client_timeout(const struct smtp_client *c);
/* SMTP_EXT_* bits of the last EHLO reply (0 after HELO). */
unsigned smtp_client_extensions(const struct smtp_client *c);
/* The SIZE the peer announced; 0 when none or no fixed limit. */
uint64_t smtp_client_size_limit(const struct smtp_client *c);
bool smtp_client_is_closed(const struct smtp_client *c);

#endif
