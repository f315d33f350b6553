/* smtp_server.h - the server side of one SMTP session, without I/O.
 * Owns: command lines (CRLF only, length limits), the command table and its
 * state rules, replies with enhanced status codes, the error budget, DATA and
 * BDAT content through the decoder, STARTTLS state reset.
 * Leaves: sockets, TLS and timers (net/), whether a sender or recipient is
 * acceptable and where content goes (the owner, through events), the disk.
 *
 * Use: feed input bytes; after each feed, take the event (if any) with
 * smtp_server_next. Events marked VERDICT must be answered with
 * smtp_server_accept or smtp_server_reject (now or later) before more input is
 * consumed; the others are information. Reply bytes collect in the output
 * buffer, which the owner sends and drains. */
#ifndef POSTINO_SMTP_SMTP_SERVER_H
#define POSTINO_SMTP_SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/address.h"
#include "smtp/data.h"
#include "util/buf.h"
#include "util/span.h"

struct smtp_server_conf {
	const char *hostname;       /* greeting and EHLO */
	uint64_t max_message_size;
	unsigned max_recipients;
	unsigned max_errors;
	bool starttls;              /* offer STARTTLS (until TLS is on) */
	bool implicit_tls;          /* the connection is TLS from the start (RFC 8314) */
	bool auth;                  /* offer AUTH once TLS is on */
	bool auth_required;         /* MAIL needs AUTH first: 530 5.7.0 */
};

enum smtp_event_type {
	SMTP_EV_NONE,
	SMTP_EV_MAIL,        /* VERDICT: ev.path, ev.mail */
	SMTP_EV_RCPT,        /* VERDICT: ev.path, ev.rcpt */
	SMTP_EV_DATA,        /* VERDICT: open the store; accept with smtp_server_accept_data */
	SMTP_EV_DATA_END,    /* ev.status OK: VERDICT (commit, then accept with the queue ID
	                        text or reject); otherwise information: the core has refused
	                        the message already, drop the store */
	SMTP_EV_TX_RESET,    /* a transaction without a committed message ended: drop any store */
	SMTP_EV_STARTTLS,    /* the 220 is in the output: send it, discard unread input,
	                        start TLS, then call smtp_server_tls_started */
	SMTP_EV_ETRN,        /* ev.arg: the node ("example.org", "@example.org", "#queue") */
	SMTP_EV_AUTH,        /* VERDICT: ev.arg the mechanism, ev.initial the initial response
	                        (len 0: none; "=" means empty, RFC 4954 4). Answer with
	                        smtp_server_auth_continue, or accept (235) after
	                        smtp_server_set_authenticated, or reject (e.g. 535 5.7.8) */
	SMTP_EV_AUTH_RESPONSE, /* VERDICT: ev.arg one response line to the last challenge;
	                        answered as SMTP_EV_AUTH */
	SMTP_EV_ATRN,        /* VERDICT (RFC 2645), only once authenticated: ev.arg the
	                        domains ("a.example,b.example", checked; empty: none named).
	                        Accept: "250 OK now reversing the connection" goes out and
	                        the core takes no more input (what was pipelined behind ATRN
	                        is discarded): send the output, drop unread input, then run
	                        the SMTP client on the connection. Or reject (450, 451, 453) */
	SMTP_EV_QUIT,        /* the 221 (or 421) is in the output: send it, then close */
};

struct smtp_event {
	enum smtp_event_type type;
	const struct smtp_path *path;
	const struct smtp_mail_params *mail;
	const struct smtp_rcpt_params *rcpt;
	struct span arg;
	struct span initial;
	enum smtp_data_status status;
};

/* The owner's content writer: takes decoded bytes (LF line ends); 0 or -1. */
typedef int (*smtp_data_sink)(void *arg, const char *p, size_t n);

struct smtp_server;

/* A new session; the 220 greeting is already in the output. conf is copied
 * but conf->hostname is borrowed and must outlive the session. */
struct smtp_server *smtp_server_new(const struct smtp_server_conf *conf);
void smtp_server_free(struct smtp_server *s);

/* Consume input; returns how many bytes were taken (fewer than n while an
 * event waits, a verdict is pending, or the output is over its high mark). */
size_t smtp_server_feed(struct smtp_server *s, const char *p, size_t n);
/* Take the pending event; false when there is none. Pointers in ev stay valid
 * until the next call to smtp_server_feed or an answer. */
bool smtp_server_next(struct smtp_server *s, struct smtp_event *ev);

/* Answer the pending VERDICT: accept with the default reply, or with text
 * (e.g. "Ok: queued as ID" for DATA_END) when text is not NULL. */
void smtp_server_accept(struct smtp_server *s, const char *text);
/* Accept SMTP_EV_DATA: content will go to sink(arg, ...). */
void smtp_server_accept_data(struct smtp_server *s, smtp_data_sink sink, void *arg);
/* Refuse the pending VERDICT with this reply (esc like "4.3.0"); a 421
 * also ends the session (RFC 5321 3.8). */
void smtp_server_reject(struct smtp_server *s, int code, const char *esc, const char *text);

/* Answer SMTP_EV_AUTH or SMTP_EV_AUTH_RESPONSE with "334 challenge"; the next
 * line is the client's response (up to 12,288 octets, RFC 4954 4). */
void smtp_server_auth_continue(struct smtp_server *s, const char *challenge);

/* The command or data timer ran out: 421 4.4.2 and close. */
void smtp_server_timeout(struct smtp_server *s);
/* The owner is shutting down: 421 4.3.2 and close. */
void smtp_server_shutdown(struct smtp_server *s);
/* After a successful handshake: every earlier state is forgotten (RFC 3207 4.2). */
void smtp_server_tls_started(struct smtp_server *s);
void smtp_server_set_authenticated(struct smtp_server *s, const char *user);

/* Reply bytes to send; the owner removes what it sent with buf_consume. */
struct buf *smtp_server_output(struct smtp_server *s);
/* True once QUIT, a 421 or the error budget ended the session: send the
 * output, then close. */
bool smtp_server_is_closing(const struct smtp_server *s);
/* True while the session is inside DATA or BDAT content (data_timeout applies). */
bool smtp_server_in_data(const struct smtp_server *s);
/* The HELO/EHLO argument, or NULL before one. */
const char *smtp_server_helo(const struct smtp_server *s);
/* "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", or "UTF8SMTP..." forms (RFC 3848, 6531). */
const char *smtp_server_protocol(const struct smtp_server *s);
/* Release buffers an idle session does not need. */
void smtp_server_shrink(struct smtp_server *s);

#endif
