/* test_smtp_client.c - the SMTP client core against a scripted fake server.
 * Each case is a script: server bytes to feed, the exact client output
 * expected, the events expected (as text), and the owner's actions. Every
 * script runs with the server's bytes fed whole, one byte at a time and
 * in threes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_client.h"
#include "util/buf.h"

struct step {
	char op;
	const char *text;
	const struct smtp_client_msg *msg;
};

/* S: the server sends; C: the client has sent exactly this since the last C;
 * E: the next event, as format_event writes it; M: give a message; Q: quit;
 * T: TLS handshake done; D: content bytes; Z: content end; A: abort. */
#define S(t) { 'S', (t), NULL }
#define C(t) { 'C', (t), NULL }
#define E(t) { 'E', (t), NULL }
#define M(m) { 'M', NULL, (m) }
#define Q { 'Q', NULL, NULL }
#define T { 'T', NULL, NULL }
#define D(t) { 'D', (t), NULL }
#define Z { 'Z', NULL, NULL }
#define A(t) { 'A', (t), NULL }
#define MAXSTEPS 40

struct ccase {
	const char *name;
	struct smtp_client_conf conf;
	struct step steps[MAXSTEPS];
};

#define PLAIN { "client.example", false, false }
#define TLSOK { "client.example", true, false }
#define GREET "220 mx.example ESMTP\r\n"
#define EHLO "EHLO client.example\r\n"
#define EXT_PIPE "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 ENHANCEDSTATUSCODES\r\n"
#define EXT_PLAIN "250-mx.example\r\n250 HELP\r\n"
#define EXT_ALL                                                                          \
	"250-mx.example\r\n250-PIPELINING\r\n250-SIZE\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n" \
	"250-DSN\r\n250 CHUNKING\r\n"
#define MAIL_AB "MAIL FROM:<s@example.net>"
#define RCPT_A "RCPT TO:<a@example.org>\r\n"
#define RCPT_B "RCPT TO:<b@example.org>\r\n"
#define OK_ALL "250 2.0.0 ok\r\n"
#define BYE S("221 2.0.0 bye\r\n")

static const char *const rcpt_ab[] = { "a@example.org", "b@example.org" };
static const char *const rcpt_utf8[] = { "\xc3\xbc@example.org" };
static const unsigned notify_ab[] = { SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE, SMTP_NOTIFY_NEVER };
static const char *const orcpt_ab[] = { "rfc822;a@example.org", NULL };

static const struct smtp_client_msg msg_ab = {
	.sender = "s@example.net", .nrcpt = 2, .rcpt = rcpt_ab, .size = 100,
};
static const struct smtp_client_msg msg_null_sender = {
	.sender = "", .nrcpt = 1, .rcpt = rcpt_ab, .size = 10,
};
static const struct smtp_client_msg msg_8bit = {
	.sender = "s@example.net", .nrcpt = 2, .rcpt = rcpt_ab, .size = 100, .eightbit = true,
};
static const struct smtp_client_msg msg_utf8 = {
	.sender = "s@example.net", .nrcpt = 1, .rcpt = rcpt_utf8, .size = 100,
};
static const struct smtp_client_msg msg_big = {
	.sender = "s@example.net", .nrcpt = 2, .rcpt = rcpt_ab, .size = 2000000,
};
static const struct smtp_client_msg msg_dsn = {
	.sender = "s@example.net", .nrcpt = 2, .rcpt = rcpt_ab, .size = 100,
	.notify = notify_ab, .orcpt = orcpt_ab, .envid = "QX1+2B", .ret = SMTP_RET_HDRS,
};

#define PIPE_AB MAIL_AB " SIZE=100\r\n" RCPT_A RCPT_B "DATA\r\n"
#define RESULT_OK2 "RESULT OK 250 2.0.0 ok|OK 250 2.0.0 ok"

static const struct ccase cases[] = {
	{ "pipelining: one group, content, quit", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n"), E("SEND_CONTENT"),
		D("Subject: x\n\n.hello\n..\nlast"), Z, C("Subject: x\r\n\r\n..hello\r\n...\r\nlast\r\n.\r\n"),
		S(OK_ALL), E(RESULT_OK2), E("READY"), Q, C("QUIT\r\n"), BYE,
		E("CLOSED OK 221 2.0.0 QUIT") } },
	{ "no pipelining: one command at a time", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PLAIN), E("READY"), M(&msg_ab), C(MAIL_AB "\r\n"),
		S("250 ok\r\n"), C(RCPT_A), S("250 ok\r\n"), C(RCPT_B), S("250 ok\r\n"), C("DATA\r\n"),
		S("354 go\r\n"), E("SEND_CONTENT"), D("x\n"), Z, C("x\r\n.\r\n"), S(OK_ALL),
		E(RESULT_OK2), E("READY") } },
	{ "EHLO refused: HELO", PLAIN, {
		S(GREET), C(EHLO), S("502 5.5.2 what\r\n"), C("HELO client.example\r\n"),
		S("250 mx.example\r\n"), E("READY"), M(&msg_null_sender), C("MAIL FROM:<>\r\n") } },
	{ "EHLO 4xx: quit, next MX", PLAIN, {
		S(GREET), C(EHLO), S("450 busy\r\n"), C("QUIT\r\n"), BYE,
		E("CLOSED TEMPFAIL 450 - busy next_mx") } },
	{ "HELO refused too", PLAIN, {
		S(GREET), C(EHLO), S("500 no\r\n"), C("HELO client.example\r\n"), S("550 no\r\n"),
		C("QUIT\r\n"), BYE, E("CLOSED PERMFAIL 550 - no next_mx") } },
	{ "greeting 554: quit, next MX", PLAIN, {
		S("554 5.7.1 go away\r\n"), C("QUIT\r\n"), BYE,
		E("CLOSED PERMFAIL 554 5.7.1 go away next_mx") } },
	{ "greeting 421: no quit", PLAIN, {
		S("421-4.3.2 busy\r\n421 4.3.2 later\r\n"), C(""),
		E("CLOSED TEMPFAIL 421 4.3.2 busy later next_mx") } },
	{ "greeting not 220", PLAIN, {
		S("250 hello\r\n"), E("ERROR TEMPFAIL 0 4.5.0 protocol error: greeting is not 220 next_mx") } },
	{ "STARTTLS, then EHLO again", TLSOK, {
		S(GREET), C(EHLO), S("250-mx.example\r\n250-STARTTLS\r\n250 SIZE 10\r\n"),
		C("STARTTLS\r\n"), S("220 2.0.0 go ahead\r\n"), E("STARTTLS"), T, C(EHLO),
		S("250-mx.example\r\n250-STARTTLS\r\n250 PIPELINING\r\n"), E("READY"), M(&msg_ab),
		C(MAIL_AB "\r\n" RCPT_A RCPT_B "DATA\r\n") } },
	{ "STARTTLS offered, not allowed", PLAIN, {
		S(GREET), C(EHLO), S("250-mx.example\r\n250 STARTTLS\r\n"), C(""), E("READY") } },
	{ "STARTTLS offered, TLS already on", { "client.example", true, true }, {
		S(GREET), C(EHLO), S("250-mx.example\r\n250 STARTTLS\r\n"), C(""), E("READY") } },
	{ "STARTTLS refused: go on in clear", TLSOK, {
		S(GREET), C(EHLO), S("250-mx.example\r\n250-STARTTLS\r\n250 PIPELINING\r\n"),
		C("STARTTLS\r\n"), S("454 4.7.0 no TLS\r\n"), E("READY"), M(&msg_ab),
		C(MAIL_AB "\r\n" RCPT_A RCPT_B "DATA\r\n") } },
	{ "STARTTLS: bytes after the 220", TLSOK, {
		S(GREET), C(EHLO), S("250-mx.example\r\n250 STARTTLS\r\n"), C("STARTTLS\r\n"),
		S("220 go\r\n250-mx\r\n250 PIPELINING\r\n"), E("STARTTLS"),
		E("ERROR TEMPFAIL 0 4.5.0 protocol error: data after the 220 to STARTTLS next_mx") } },
	{ "partial RCPT failure", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n250 ok\r\n354 go\r\n"),
		E("SEND_CONTENT"), Z, C(".\r\n"), S("250 2.0.0 queued\r\n"),
		E("RESULT PERMFAIL 550 5.1.1 no such user|OK 250 2.0.0 queued"), E("READY"), Q,
		C("QUIT\r\n") } },
	{ "all RCPT refused, DATA refused: RSET before the next", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n550 5.1.1 no a\r\n450 4.2.1 later b\r\n554 5.5.1 no valid recipients\r\n"),
		E("RESULT PERMFAIL 550 5.1.1 no a|TEMPFAIL 450 4.2.1 later b"), E("READY"), C(""),
		M(&msg_ab), C("RSET\r\n"), S("250 ok\r\n"), C(PIPE_AB) } },
	{ "all RCPT refused, DATA 354: a lone dot", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n550 5.1.1 no a\r\n550 5.1.1 no b\r\n354 go\r\n"), C(".\r\n"),
		S("554 5.5.1 no recipients\r\n"),
		E("RESULT PERMFAIL 550 5.1.1 no a|PERMFAIL 550 5.1.1 no b"), E("READY"), M(&msg_ab),
		C(PIPE_AB) } },
	{ "all RCPT refused, no pipelining: no DATA", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PLAIN), E("READY"), M(&msg_ab), C(MAIL_AB "\r\n"),
		S("250 ok\r\n"), C(RCPT_A), S("550 no\r\n"), C(RCPT_B), S("551 no\r\n"),
		E("RESULT PERMFAIL 550 - no|PERMFAIL 551 - no"), E("READY"), C(""), Q,
		C("QUIT\r\n") } },
	{ "MAIL refused, pipelined", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("550 5.7.1 sender refused\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n"
		  "503 5.5.1 no valid recipients\r\n"),
		E("RESULT PERMFAIL 550 5.7.1 sender refused|PERMFAIL 550 5.7.1 sender refused"),
		E("READY"), M(&msg_ab), C(PIPE_AB) } },
	{ "MAIL 4xx, no pipelining: no RCPT", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PLAIN), E("READY"), M(&msg_ab), C(MAIL_AB "\r\n"),
		S("451 4.3.0 try later\r\n"),
		E("RESULT TEMPFAIL 451 4.3.0 try later|TEMPFAIL 451 4.3.0 try later"), E("READY"),
		C(""), M(&msg_ab), C(MAIL_AB "\r\n") } },
	{ "SIZE: too big for the peer", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_big), C(""),
		E("RESULT PERMFAIL 0 5.3.4 message size 2000000 exceeds the peer's limit of 1000000 "
		  "(SIZE)|PERMFAIL 0 5.3.4 message size 2000000 exceeds the peer's limit of 1000000 "
		  "(SIZE)"), E("READY"), M(&msg_ab), C(PIPE_AB) } },
	{ "SIZE without a limit", PLAIN, {
		S(GREET), C(EHLO), S(EXT_ALL), E("READY"), M(&msg_big),
		C(MAIL_AB " SIZE=2000000\r\n" RCPT_A RCPT_B "DATA\r\n") } },
	{ "8BITMIME missing", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_8bit), C(""),
		E("RESULT PERMFAIL 0 5.6.3 the peer does not accept 8-bit content (8BITMIME)|"
		  "PERMFAIL 0 5.6.3 the peer does not accept 8-bit content (8BITMIME)"),
		E("READY") } },
	{ "8BITMIME offered", PLAIN, {
		S(GREET), C(EHLO), S(EXT_ALL), E("READY"), M(&msg_8bit),
		C(MAIL_AB " SIZE=100 BODY=8BITMIME\r\n" RCPT_A RCPT_B "DATA\r\n") } },
	{ "8-bit message after HELO", PLAIN, {
		S(GREET), C(EHLO), S("500 no\r\n"), C("HELO client.example\r\n"), S("250 mx\r\n"),
		E("READY"), M(&msg_8bit), C(""),
		E("RESULT PERMFAIL 0 5.6.3 the peer does not accept 8-bit content (8BITMIME)|"
		  "PERMFAIL 0 5.6.3 the peer does not accept 8-bit content (8BITMIME)"),
		E("READY") } },
	{ "SMTPUTF8 missing", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_utf8), C(""),
		E("RESULT PERMFAIL 0 5.6.7 the peer does not accept internationalized mail (SMTPUTF8)"),
		E("READY") } },
	{ "SMTPUTF8 offered", PLAIN, {
		S(GREET), C(EHLO), S(EXT_ALL), E("READY"), M(&msg_utf8),
		C(MAIL_AB " SIZE=100 SMTPUTF8\r\nRCPT TO:<\xc3\xbc@example.org>\r\nDATA\r\n") } },
	{ "DSN parameters when offered", PLAIN, {
		S(GREET), C(EHLO), S(EXT_ALL), E("READY"), M(&msg_dsn),
		C(MAIL_AB " SIZE=100 RET=HDRS ENVID=QX1+2B\r\n"
		  "RCPT TO:<a@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.org\r\n"
		  "RCPT TO:<b@example.org> NOTIFY=NEVER\r\nDATA\r\n") } },
	{ "DSN parameters only when offered", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_dsn), C(PIPE_AB) } },
	{ "content: LF to CRLF, dot-stuffing, last line end", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), E("SEND_CONTENT"),
		D(".\n"), D("a\n."), D("\n.."), D(".b\nc.d\n\n.\r\n"), D("x\ry\r"), D("\nz"), Z,
		C("..\r\na\r\n..\r\n....b\r\nc.d\r\n\r\n..\r\nx\r\ny\r\nz\r\n.\r\n"), S(OK_ALL),
		E(RESULT_OK2), E("READY") } },
	{ "content: empty", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), E("SEND_CONTENT"), Z, C(".\r\n") } },
	{ "two messages, one connection", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), E("SEND_CONTENT"), D("1\n"), Z,
		C("1\r\n.\r\n"), S(OK_ALL), E(RESULT_OK2), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), E("SEND_CONTENT"), D("2\n"), Z,
		C("2\r\n.\r\n"), S("550 5.7.1 spam\r\n"),
		E("RESULT PERMFAIL 550 5.7.1 spam|PERMFAIL 550 5.7.1 spam"), E("READY"), M(&msg_ab),
		C(PIPE_AB) } },
	{ "final dot 4xx", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"), E("SEND_CONTENT"), Z, C(".\r\n"),
		S("452 4.3.1 full\r\n"), E("RESULT TEMPFAIL 452 4.3.1 full|TEMPFAIL 452 4.3.1 full"), E("READY") } },
	{ "DATA refused with accepted recipients", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n550 5.1.1 no a\r\n250 ok\r\n451 4.3.0 not now\r\n"),
		E("RESULT PERMFAIL 550 5.1.1 no a|TEMPFAIL 451 4.3.0 not now"), E("READY"),
		M(&msg_ab), C("RSET\r\n") } },
	{ "421 mid-transaction", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250 ok\r\n421 4.4.2 closing\r\n"),
		E("RESULT TEMPFAIL 421 4.4.2 closing|TEMPFAIL 421 4.4.2 closing"),
		E("CLOSED TEMPFAIL 421 4.4.2 closing"), C("") } },
	{ "421 to the final dot", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n550 no\r\n250 ok\r\n354 go\r\n"), E("SEND_CONTENT"), Z, C(".\r\n"),
		S("421 shutting down\r\n"),
		E("RESULT PERMFAIL 550 - no|TEMPFAIL 421 - shutting down"),
		E("CLOSED TEMPFAIL 421 - shutting down") } },
	{ "421 while idle", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), S("421 4.4.2 idle timeout\r\n"),
		E("CLOSED TEMPFAIL 421 4.4.2 idle timeout") } },
	{ "unsolicited reply while idle", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), S("250 surprise\r\n"),
		E("ERROR TEMPFAIL 0 4.5.0 protocol error: unexpected reply") } },
	{ "bad reply mid-transaction", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250-ok\r\n251 ok\r\n"),
		E("RESULT TEMPFAIL 0 4.5.0 protocol error: reply code changes within a multi-line "
		  "reply|TEMPFAIL 0 4.5.0 protocol error: reply code changes within a multi-line reply"),
		E("ERROR TEMPFAIL 0 4.5.0 protocol error: reply code changes within a multi-line reply") } },
	{ "354 to MAIL", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PLAIN), E("READY"), M(&msg_ab), C(MAIL_AB "\r\n"),
		S("354 what\r\n"),
		E("RESULT TEMPFAIL 0 4.5.0 protocol error: unexpected intermediate reply|TEMPFAIL 0 "
		  "4.5.0 protocol error: unexpected intermediate reply"),
		E("ERROR TEMPFAIL 0 4.5.0 protocol error: unexpected intermediate reply") } },
	{ "250 to DATA", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n"),
		E("RESULT TEMPFAIL 0 4.5.0 protocol error: DATA accepted without 354|TEMPFAIL 0 "
		  "4.5.0 protocol error: DATA accepted without 354"),
		E("ERROR TEMPFAIL 0 4.5.0 protocol error: DATA accepted without 354") } },
	{ "RSET refused", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n550 no\r\n550 no\r\n554 no\r\n"), E("RESULT PERMFAIL 550 - no|PERMFAIL 550 - no"),
		E("READY"), M(&msg_ab), C("RSET\r\n"), S("500 5.5.1 what\r\n"),
		E("RESULT TEMPFAIL 500 5.5.1 what|TEMPFAIL 500 5.5.1 what"), C("QUIT\r\n"), BYE,
		E("CLOSED PERMFAIL 500 5.5.1 what") } },
	{ "connection lost during content", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), M(&msg_ab), C(PIPE_AB),
		S("250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n"), E("SEND_CONTENT"), D("abc"),
		A("timeout"), E("RESULT PERMFAIL 550 5.1.1 no|TEMPFAIL 0 4.4.2 timeout"),
		E("CLOSED TEMPFAIL 0 4.4.2 timeout"), C("abc") } },
	{ "connection lost before the greeting", PLAIN, {
		A("connection refused"), E("CLOSED TEMPFAIL 0 4.4.2 connection refused next_mx") } },
	{ "QUIT, connection closed without 221", PLAIN, {
		S(GREET), C(EHLO), S(EXT_PIPE), E("READY"), Q, C("QUIT\r\n"), A("eof"),
		E("CLOSED OK 0 - QUIT") } },
	{ "extensions in any case, SIZE value", PLAIN, {
		S(GREET), C(EHLO), S("250-mx.example\r\n250-pipelining\r\n250-size  50\r\n250 8bitmime\r\n"),
		E("READY"), M(&msg_8bit), C(""),
		E("RESULT PERMFAIL 0 5.3.4 message size 100 exceeds the peer's limit of 50 (SIZE)|"
		  "PERMFAIL 0 5.3.4 message size 100 exceeds the peer's limit of 50 (SIZE)"),
		E("READY") } },
};

static const char *const status_names[] = { "OK", "TEMPFAIL", "PERMFAIL" };

static void
put_outcome(struct buf *b, const struct smtp_outcome *o)
{
	buf_printf(b, "%s %d %s %s", status_names[o->status], o->code, o->esc[0] ? o->esc : "-",
	    o->text);
}

/* An event as the scripts spell it. */
static void
format_event(const struct smtp_client_event *ev, struct buf *b)
{
	static const char *const names[] = { "NONE", "READY", "STARTTLS", "SEND_CONTENT", "RESULT",
		"CLOSED", "ERROR" };

	buf_clear(b);
	buf_append_str(b, names[ev->type]);
	if (ev->type == SMTP_CLIENT_EV_RESULT) {
		for (size_t i = 0; i < ev->nrcpt; i++) {
			buf_append_str(b, i ? "|" : " ");
			put_outcome(b, &ev->rcpt[i]);
		}
	} else if (ev->type == SMTP_CLIENT_EV_CLOSED || ev->type == SMTP_CLIENT_EV_ERROR) {
		buf_append_str(b, " ");
		put_outcome(b, &ev->why);
		if (ev->next_mx)
			buf_append_str(b, " next_mx");
	}
}

struct run {
	const struct ccase *c;
	size_t split, stepno;
	struct smtp_client *cl;
	struct buf in;            /* server bytes not consumed yet */
	struct buf ev;
};

static void
run_fail(struct run *r, const char *what, const char *got, const char *want)
{
	print_error("%s (split %zu, step %zu): %s: got '%s', want '%s'\n", r->c->name, r->split,
	    r->stepno, what, got, want);
	fail();
}

/* Feed what the client takes, r->split bytes at a time (0: all at once). */
static void
pump(struct run *r)
{
	while (r->in.len > 0) {
		size_t want = r->split && r->split < r->in.len ? r->split : r->in.len;
		size_t used = smtp_client_feed(r->cl, r->in.data, want);

		assert_true(used <= want);
		buf_consume(&r->in, used);
		if (used < want)
			break;
	}
}

static void
expect_output(struct run *r, const char *want)
{
	struct buf *out = smtp_client_output(r->cl);

	if (out->len != strlen(want) || memcmp(out->data ? out->data : "", want, out->len) != 0)
		run_fail(r, "output", out->data ? out->data : "", want);
	buf_clear(out);
}

static void
expect_event(struct run *r, const char *want)
{
	struct smtp_client_event ev;

	if (!smtp_client_next(r->cl, &ev))
		run_fail(r, "event", "(none)", want);
	format_event(&ev, &r->ev);
	if (strcmp(r->ev.data, want) != 0)
		run_fail(r, "event", r->ev.data, want);
}

static void
do_step(struct run *r, const struct step *s)
{
	switch (s->op) {
	case 'S':
		assert_int_equal(buf_append_str(&r->in, s->text), 0);
		break;
	case 'C':
		expect_output(r, s->text);
		break;
	case 'E':
		expect_event(r, s->text);
		break;
	case 'M':
		assert_int_equal(smtp_client_send(r->cl, s->msg), 0);
		break;
	case 'Q':
		smtp_client_quit(r->cl);
		break;
	case 'T':
		smtp_client_tls_started(r->cl);
		break;
	case 'D':
		assert_int_equal(smtp_client_content(r->cl, s->text, strlen(s->text)), 0);
		break;
	case 'Z':
		assert_int_equal(smtp_client_content_end(r->cl), 0);
		break;
	case 'A':
		smtp_client_abort(r->cl, s->text);
		break;
	}
	pump(r);
}

static void
run_case(const struct ccase *c, size_t split)
{
	struct run r = { .c = c, .split = split };
	struct smtp_client_event ev;

	r.cl = smtp_client_new(&c->conf);
	buf_init(&r.in, 1u << 20);
	buf_init(&r.ev, 1u << 16);
	for (r.stepno = 0; r.stepno < MAXSTEPS && c->steps[r.stepno].op; r.stepno++)
		do_step(&r, &c->steps[r.stepno]);
	if (smtp_client_next(r.cl, &ev)) {
		format_event(&ev, &r.ev);
		run_fail(&r, "event left at the end", r.ev.data, "(none)");
	}
	expect_output(&r, "");
	if (r.in.len > 0 && !smtp_client_is_closed(r.cl))
		run_fail(&r, "server bytes left", r.in.data, "");
	buf_reset(&r.in);
	buf_reset(&r.ev);
	smtp_client_free(r.cl);
}

static void
test_scripts(void **state)
{
	static const size_t splits[] = { 0, 1, 3 };

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++)
			run_case(&cases[i], splits[k]);
}

/* Feed s fully (no events expected in between but the last). */
static void
feed_all(struct smtp_client *c, const char *s)
{
	assert_int_equal(smtp_client_feed(c, s, strlen(s)), strlen(s));
}

static struct smtp_client *
ready_client(const char *ext)
{
	static const struct smtp_client_conf conf = PLAIN;
	struct smtp_client *c = smtp_client_new(&conf);
	struct smtp_client_event ev;

	feed_all(c, GREET);
	feed_all(c, ext);
	assert_true(smtp_client_next(c, &ev));
	assert_int_equal(ev.type, SMTP_CLIENT_EV_READY);
	buf_clear(smtp_client_output(c));
	return c;
}

struct badmsg {
	const char *name;
	const char *sender;
	const char *rcpt;
	const char *envid;
	const char *orcpt;
};

static const struct badmsg badmsgs[] = {
	{ "CRLF in sender", "a@b.example>\r\nRSET", "r@example.org", NULL, NULL },
	{ "parameter in sender", "a@b.example> SIZE=1", "r@example.org", NULL, NULL },
	{ "LF in recipient", "s@example.net", "r@example.org>\nDATA", NULL, NULL },
	{ "recipient without domain", "s@example.net", "postmaster", NULL, NULL },
	{ "empty recipient", "s@example.net", "", NULL, NULL },
	{ "NULL recipient", "s@example.net", NULL, NULL, NULL },
	{ "SP in ENVID", "s@example.net", "r@example.org", "a b", NULL },
	{ "CR in ORCPT", "s@example.net", "r@example.org", NULL, "rfc822;a\r@b" },
	{ "ORCPT without type", "s@example.net", "r@example.org", NULL, "a@b.example" },
};

/* A message that would not parse is refused, nothing sent, READY holds. */
static void
test_bad_message(void **state)
{
	for (size_t i = 0; i < sizeof badmsgs / sizeof badmsgs[0]; i++) {
		const struct badmsg *b = &badmsgs[i];
		struct smtp_client *c = ready_client(EXT_ALL);
		const char *rcpt[1] = { b->rcpt };
		const char *orcpt[1] = { b->orcpt };
		struct smtp_client_msg m = { .sender = b->sender, .nrcpt = 1, .rcpt = rcpt,
			.orcpt = orcpt, .envid = b->envid };
		struct smtp_client_event ev;

		errno = 0;
		if (smtp_client_send(c, &m) != -1 || errno != EINVAL ||
		    smtp_client_output(c)->len != 0 || smtp_client_next(c, &ev)) {
			print_error("%s: got accepted or output '%s', want -1 EINVAL and nothing\n",
			    b->name, smtp_client_output(c)->data ? smtp_client_output(c)->data : "");
			fail();
		}
		assert_int_equal(smtp_client_send(c, &msg_ab), 0);
		assert_true(smtp_client_output(c)->len > 0);
		smtp_client_free(c);
	}
	struct smtp_client *c = ready_client(EXT_ALL);
	struct smtp_client_msg none = { .sender = "s@example.net", .nrcpt = 0, .rcpt = rcpt_ab };

	assert_int_equal(smtp_client_send(c, &none), -1);
	smtp_client_free(c);
}

struct phase_step {
	const char *server;          /* fed before the check; NULL: the action */
	char action;                 /* 'M' send, 'Z' content end, 0 none */
	enum smtp_client_phase phase;
	unsigned timeout;
};

/* The phase and its RFC 5321 4.5.3.2 timeout follow the conversation. */
static void
test_phases(void **state)
{
	static const struct phase_step steps[] = {
		{ NULL, 0, SMTP_CLIENT_PHASE_GREETING, 300 },
		{ GREET, 0, SMTP_CLIENT_PHASE_HELO, 300 },
		{ EXT_PLAIN, 0, SMTP_CLIENT_PHASE_IDLE, 0 },
		{ NULL, 'M', SMTP_CLIENT_PHASE_MAIL, 300 },
		{ "250 ok\r\n", 0, SMTP_CLIENT_PHASE_RCPT, 300 },
		{ "250 ok\r\n", 0, SMTP_CLIENT_PHASE_RCPT, 300 },
		{ "250 ok\r\n", 0, SMTP_CLIENT_PHASE_DATA, 120 },
		{ "354 go\r\n", 0, SMTP_CLIENT_PHASE_CONTENT, 180 },
		{ NULL, 'Z', SMTP_CLIENT_PHASE_DOT, 600 },
		{ "250 ok\r\n", 0, SMTP_CLIENT_PHASE_IDLE, 0 },
		{ NULL, 'Q', SMTP_CLIENT_PHASE_QUIT, 300 },
		{ "221 bye\r\n", 0, SMTP_CLIENT_PHASE_CLOSED, 0 },
	};
	static const struct smtp_client_conf conf = PLAIN;
	struct smtp_client *c = smtp_client_new(&conf);
	struct smtp_client_event ev;

	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct phase_step *s = &steps[i];

		if (s->server)
			feed_all(c, s->server);
		while (smtp_client_next(c, &ev))
			;
		if (s->action == 'M')
			assert_int_equal(smtp_client_send(c, &msg_ab), 0);
		else if (s->action == 'Z')
			assert_int_equal(smtp_client_content_end(c), 0);
		else if (s->action == 'Q')
			smtp_client_quit(c);
		if (smtp_client_phase(c) != s->phase || smtp_client_timeout(c) != s->timeout) {
			print_error("step %zu: got phase %d timeout %u, want %d %u\n", i,
			    smtp_client_phase(c), smtp_client_timeout(c), s->phase, s->timeout);
			fail();
		}
	}
	assert_true(smtp_client_is_closed(c));
	/* nothing is consumed after the end, content is refused */
	assert_int_equal(smtp_client_feed(c, "250 x\r\n", 7), 0);
	assert_int_equal(smtp_client_content(c, "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(smtp_client_content_end(c), -1);
	smtp_client_abort(c, "late");
	assert_false(smtp_client_next(c, &ev));
	smtp_client_free(c);
	smtp_client_free(NULL);
}

/* The extension list and SIZE, after EHLO and again after STARTTLS. */
static void
test_extensions(void **state)
{
	struct smtp_client *c = ready_client(EXT_ALL);

	assert_int_equal(smtp_client_extensions(c),
	    SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 |
		SMTP_EXT_DSN | SMTP_EXT_CHUNKING);
	assert_int_equal(smtp_client_size_limit(c), 0);
	smtp_client_free(c);
	c = ready_client(EXT_PIPE);
	assert_int_equal(smtp_client_extensions(c),
	    SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_ENHANCEDSTATUSCODES);
	assert_int_equal(smtp_client_size_limit(c), 1000000);
	smtp_client_free(c);
}

/* A long reply text is cut for the outcome, and says so. */
static void
test_long_text(void **state)
{
	struct smtp_client *c = ready_client(EXT_PIPE);
	struct smtp_client_event ev;
	struct buf in;

	buf_init(&in, 1u << 20);
	assert_int_equal(smtp_client_send(c, &msg_ab), 0);
	buf_append_str(&in, "250 ok\r\n");
	for (int i = 0; i < 100; i++)
		buf_printf(&in, "550-5.1.1 line %d of a long reply text, padded out to be long\r\n", i);
	buf_append_str(&in, "550 5.1.1 end\r\n250 ok\r\n554 no\r\n");
	assert_int_equal(smtp_client_feed(c, in.data, in.len), in.len);
	assert_true(smtp_client_next(c, &ev));
	assert_int_equal(ev.type, SMTP_CLIENT_EV_RESULT);
	assert_int_equal(strlen(ev.rcpt[0].text), SMTP_OUTCOME_TEXT_MAX);
	assert_memory_equal(ev.rcpt[0].text, "line 0 of", 9);
	assert_string_equal(ev.rcpt[0].text + SMTP_OUTCOME_TEXT_MAX - 3, "...");
	assert_string_equal(ev.rcpt[0].esc, "5.1.1");
	/* b was accepted at RCPT, so the DATA refusal decides it */
	assert_int_equal(ev.rcpt[1].status, SMTP_STATUS_PERMFAIL);
	assert_int_equal(ev.rcpt[1].code, 554);
	buf_reset(&in);
	smtp_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_bad_message),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_long_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
