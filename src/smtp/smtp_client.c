/* smtp_client.c - client side of one SMTP session, sans I/O (see smtp_client.h).
 * Owns: the session state, the peer's extensions, the current message's
 * command lines (made and checked at smtp_client_send) and outcomes, events.
 * Leaves: reply syntax (reply.c), EHLO keywords (ehlo.c), command syntax
 * (envelope.c), content encoding (dotstuff.c), sockets and clocks (owner).
 * Invariant: replies match commands in the order sent (RFC 2920 3.1); each
 * recipient is decided once before its RESULT; CLOSED or ERROR comes last. */
#include "smtp/smtp_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/dotstuff.h"
#include "smtp/ehlo.h"
#include "smtp/envelope.h"
#include "smtp/outcome.h"
#include "util/log.h"
#include "util/xalloc.h"

enum state {
	C_GREETING,  /* connected, waiting for 220 */
	C_EHLO,      /* EHLO sent */
	C_HELO,      /* HELO sent (EHLO refused with 5xx) */
	C_STARTTLS,  /* STARTTLS sent */
	C_TLS_WAIT,  /* 220 to STARTTLS: the owner does the handshake */
	C_READY,     /* waiting for a message or QUIT from the owner */
	C_RSET,      /* RSET sent before the next message */
	C_MAIL,      /* waiting for the MAIL reply */
	C_RCPT,      /* waiting for the reply to RCPT number tx.ri */
	C_DATA,      /* waiting for the DATA reply */
	C_CONTENT,   /* the owner streams the content */
	C_DOT,       /* final dot sent */
	C_QUIT,      /* QUIT sent; the end is decided */
	C_CLOSED,
};

/* The message being sent: its commands, and the outcomes being gathered. */
struct tx {
	bool active;               /* given, and its RESULT not raised yet */
	bool pipelined;            /* MAIL, every RCPT and DATA went out together */
	bool mail_ok;
	bool dummy_dot;            /* a lone dot answers a 354 nobody needs (RFC 2920 3.1) */
	size_t nrcpt, ri;          /* recipients; the next RCPT reply expected */
	struct buf cmds;           /* "MAIL ...\r\n", each "RCPT ...\r\n", "DATA\r\n" */
	size_t *cmd_end;           /* end of each line in cmds: [0] MAIL, [1..n] RCPT, [n+1] DATA */
	struct smtp_outcomes *out;
	struct smtp_dotstuff enc;  /* the content encoder */
};

#define EVQ_MAX 4

struct smtp_client {
	char *helo_name;
	bool starttls_allowed, tls;
	enum state state;
	bool ready_seen;           /* a READY was raised: next_mx no longer applies */
	bool rset_needed;          /* MAIL accepted and the transaction not ended */
	bool quit_by_owner;
	struct smtp_ehlo ehlo;     /* from the last EHLO; zero after HELO */
	struct smtp_reply_parser *rp;
	struct buf out;
	struct tx tx;
	struct smtp_client_event evq[EVQ_MAX];
	size_t evhead, evcount;
	enum smtp_client_event_type end_type;   /* the final event, once decided */
	struct smtp_outcome end_why;
	char *end_text;
	bool end_next_mx;
};

/* ---- output, events, outcomes ---- */

static void
out_put(struct smtp_client *c, const char *p, size_t n)
{
	if (buf_append(&c->out, p, n) < 0)
		PANIC("client output over its bound");
}

static void
push_event(struct smtp_client *c, enum smtp_client_event_type type)
{
	struct smtp_client_event *ev;

	if (c->evcount == EVQ_MAX)
		PANIC("client event queue full");
	ev = &c->evq[(c->evhead + c->evcount++) % EVQ_MAX];
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	if (type == SMTP_CLIENT_EV_RESULT) {
		ev->nrcpt = c->tx.nrcpt;
		ev->rcpt = smtp_outcomes_list(c->tx.out);
	} else if (type == SMTP_CLIENT_EV_CLOSED || type == SMTP_CLIENT_EV_ERROR) {
		ev->why = c->end_why;
		ev->next_mx = c->end_next_mx;
	}
}

/* Decide every recipient in state `which` by the reply r. */
static void
decide_by_reply(struct smtp_client *c, enum smtp_rcpt_state which, const struct smtp_reply *r)
{
	char text[SMTP_OUTCOME_TEXT_MAX + 1];
	struct smtp_outcome v = smtp_outcome_of_reply(r, text);

	smtp_outcomes_decide(c->tx.out, which, &v);
}

/* Raise the RESULT of the current message: every recipient is decided. */
static void
tx_result(struct smtp_client *c)
{
	if (!smtp_outcomes_all_decided(c->tx.out))
		PANIC("RESULT with a recipient undecided");
	c->tx.active = false;
	push_event(c, SMTP_CLIENT_EV_RESULT);
}

/* The session ends: whatever is undecided becomes TEMPFAIL with v's
 * reply or reason, and the RESULT goes out. */
static void
tx_fail_rest(struct smtp_client *c, struct smtp_outcome v)
{
	if (!c->tx.active)
		return;
	v.status = SMTP_STATUS_TEMPFAIL;
	smtp_outcomes_decide(c->tx.out, SMTP_RCPT_PENDING, &v);
	smtp_outcomes_decide(c->tx.out, SMTP_RCPT_ACCEPTED, &v);
	tx_result(c);
}

static void
tx_clear(struct tx *t)
{
	smtp_outcomes_free(t->out);
	free(t->cmd_end);
	buf_reset(&t->cmds);
	memset(t, 0, sizeof *t);
}

/* ---- session states ---- */

static void
go_ready(struct smtp_client *c)
{
	c->state = C_READY;
	c->ready_seen = true;
	push_event(c, SMTP_CLIENT_EV_READY);
}

/* The message is complete: RESULT, then READY for the next one. */
static void
tx_done(struct smtp_client *c)
{
	tx_result(c);
	go_ready(c);
}

/* Raise the final event decided earlier. */
static void
finish(struct smtp_client *c)
{
	c->state = C_CLOSED;
	push_event(c, c->end_type);
}

/* Decide how the session ends; with quit, say QUIT first and raise the
 * final event on its reply (RFC 5321 3.1, 4.1.1.10). */
static void
end_session(struct smtp_client *c, enum smtp_client_event_type type,
    const struct smtp_outcome *why, bool quit)
{
	free(c->end_text);
	c->end_text = xstrdup(why->text);
	c->end_why = *why;
	c->end_why.text = c->end_text;
	c->end_type = type;
	c->end_next_mx = !c->ready_seen;
	if (!quit) {
		finish(c);
		return;
	}
	out_put(c, "QUIT\r\n", 6);
	c->state = C_QUIT;
}

/* The peer broke the protocol: the stream cannot be trusted, not even for
 * QUIT. During QUIT the end was decided already. */
static void
protocol_error(struct smtp_client *c, const char *why)
{
	struct smtp_outcome v;
	char *text;

	if (c->state == C_QUIT) {
		finish(c);
		return;
	}
	text = xasprintf("protocol error: %s", why);
	v = smtp_outcome_make(SMTP_STATUS_TEMPFAIL, "4.5.0", text);
	tx_fail_rest(c, v);
	end_session(c, SMTP_CLIENT_EV_ERROR, &v, false);
	free(text);
}

/* A reply that only makes sense as an intermediate one where a final one
 * is due (RFC 5321 4.2.1: 3yz) breaks the protocol. */
static bool
is_final(struct smtp_client *c, const struct smtp_reply *r)
{
	if (r->code / 100 != 3)
		return true;
	protocol_error(c, "unexpected intermediate reply");
	return false;
}

/* The session ends on reply r: 421 (RFC 5321 3.8) ends it at once, the
 * rest (a refused greeting, EHLO, HELO or RSET) with QUIT. Undecided
 * recipients become TEMPFAIL with r. */
static void
end_by_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	char text[SMTP_OUTCOME_TEXT_MAX + 1];
	struct smtp_outcome v = smtp_outcome_of_reply(r, text);

	tx_fail_rest(c, v);
	end_session(c, SMTP_CLIENT_EV_CLOSED, &v, r->code != 421);
}

/* ---- greeting, EHLO, STARTTLS ---- */

static void
send_hello(struct smtp_client *c, const char *verb)
{
	if (buf_printf(&c->out, "%s %s\r\n", verb, c->helo_name) < 0)
		PANIC("client output over its bound");
	c->state = verb[0] == 'E' ? C_EHLO : C_HELO;
}

/* The greeting is in; an error greeting (4xx, 554) means try elsewhere. */
static void
on_greeting(struct smtp_client *c, const struct smtp_reply *r)
{
	if (r->code == 220)
		send_hello(c, "EHLO");
	else if (r->code >= 400)
		end_by_reply(c, r);
	else
		protocol_error(c, "greeting is not 220");
}

/* After EHLO or HELO succeeded: STARTTLS when offered and wanted. */
static void
greeted(struct smtp_client *c)
{
	if ((c->ehlo.ext & SMTP_EXT_STARTTLS) && c->starttls_allowed && !c->tls) {
		out_put(c, "STARTTLS\r\n", 10);
		c->state = C_STARTTLS;
		return;
	}
	go_ready(c);
}

/* EHLO: 2xx lists the extensions; 5xx means the peer wants HELO (RFC 5321
 * 3.2); a 4xx ends the session. */
static void
on_ehlo(struct smtp_client *c, const struct smtp_reply *r)
{
	if (!is_final(c, r))
		return;
	if (r->code >= 500) {
		send_hello(c, "HELO");
		return;
	}
	if (r->code >= 400) {
		end_by_reply(c, r);
		return;
	}
	smtp_ehlo_parse(r, &c->ehlo);
	greeted(c);
}

static void
on_helo(struct smtp_client *c, const struct smtp_reply *r)
{
	if (!is_final(c, r))
		return;
	if (r->code >= 400) {
		end_by_reply(c, r);
		return;
	}
	memset(&c->ehlo, 0, sizeof c->ehlo);
	go_ready(c);
}

/* 220: the handshake is the owner's. Anything else: go on in clear
 * (opportunistic TLS, RFC 7435), the EHLO extensions still hold. */
static void
on_starttls(struct smtp_client *c, const struct smtp_reply *r)
{
	if (!is_final(c, r))
		return;
	if (r->code == 220) {
		c->state = C_TLS_WAIT;
		push_event(c, SMTP_CLIENT_EV_STARTTLS);
		return;
	}
	go_ready(c);
}

/* ---- the transaction ---- */

/* Put command line k of the message (0 MAIL, 1..n RCPT, n+1 DATA) out. */
static void
send_line(struct smtp_client *c, size_t k)
{
	size_t start = k == 0 ? 0 : c->tx.cmd_end[k - 1];

	out_put(c, c->tx.cmds.data + start, c->tx.cmd_end[k] - start);
}

/* MAIL, and with PIPELINING every RCPT and DATA too (RFC 2920 3.1: DATA
 * may end a group). */
static void
start_commands(struct smtp_client *c)
{
	struct tx *t = &c->tx;

	t->pipelined = (c->ehlo.ext & SMTP_EXT_PIPELINING) != 0;
	if (t->pipelined)
		out_put(c, t->cmds.data, t->cmds.len);
	else
		send_line(c, 0);
	c->state = C_MAIL;
}

/* RSET before a message that follows an unfinished transaction. A refusal
 * leaves the server in a state we cannot know: end the session. */
static void
on_rset(struct smtp_client *c, const struct smtp_reply *r)
{
	if (!is_final(c, r))
		return;
	if (r->code >= 300) {
		end_by_reply(c, r);
		return;
	}
	c->rset_needed = false;
	start_commands(c);
}

/* All RCPT replies are in: without pipelining, DATA when someone was
 * accepted, else the message is done; with it, DATA is on its way. */
static void
after_rcpts(struct smtp_client *c)
{
	c->state = C_DATA;
	if (c->tx.pipelined)
		return;
	if (smtp_outcomes_naccepted(c->tx.out) == 0)
		tx_done(c);
	else
		send_line(c, c->tx.nrcpt + 1);
}

static void
on_mail(struct smtp_client *c, const struct smtp_reply *r)
{
	if (!is_final(c, r))
		return;
	if (r->code < 300) {
		c->tx.mail_ok = true;
		c->rset_needed = true;
	} else {
		/* every recipient shares the MAIL refusal; pipelined RCPT
		 * replies (503 most likely) are then only consumed */
		decide_by_reply(c, SMTP_RCPT_PENDING, r);
	}
	c->state = C_RCPT;
	if (c->tx.pipelined)
		return;
	if (!c->tx.mail_ok)
		tx_done(c);
	else
		send_line(c, 1);
}

static void
on_rcpt(struct smtp_client *c, const struct smtp_reply *r)
{
	struct tx *t = &c->tx;
	size_t i = t->ri++;
	char text[SMTP_OUTCOME_TEXT_MAX + 1];
	struct smtp_outcome v;

	if (!is_final(c, r))
		return;
	if (smtp_outcomes_state(t->out, i) == SMTP_RCPT_PENDING && r->code < 300) {
		smtp_outcomes_accept(t->out, i);
	} else {
		v = smtp_outcome_of_reply(r, text);
		smtp_outcomes_decide_one(t->out, i, &v);  /* no-op after a MAIL refusal */
	}
	if (t->ri == t->nrcpt)
		after_rcpts(c);
	else if (!t->pipelined)
		send_line(c, t->ri + 1);
}

/* DATA: 354 starts the content, unless nobody was accepted (possible only
 * when pipelining): then a lone dot ends it (RFC 2920 3.1). */
static void
on_data(struct smtp_client *c, const struct smtp_reply *r)
{
	if (r->code == 354 && smtp_outcomes_naccepted(c->tx.out) == 0) {
		out_put(c, ".\r\n", 3);
		c->tx.dummy_dot = true;
		c->state = C_DOT;
		return;
	}
	if (r->code == 354) {
		smtp_dotstuff_init(&c->tx.enc);
		c->state = C_CONTENT;
		push_event(c, SMTP_CLIENT_EV_SEND_CONTENT);
		return;
	}
	if (!is_final(c, r))
		return;
	if (r->code < 300) {
		protocol_error(c, "DATA accepted without 354");
		return;
	}
	decide_by_reply(c, SMTP_RCPT_ACCEPTED, r);
	tx_done(c);
}

/* The reply to the final dot decides every recipient accepted at RCPT;
 * after it the transaction is over, whatever the code (RFC 5321 4.1.1.4). */
static void
on_dot(struct smtp_client *c, const struct smtp_reply *r)
{
	if (!is_final(c, r))
		return;
	c->rset_needed = false;
	if (!c->tx.dummy_dot)
		decide_by_reply(c, SMTP_RCPT_ACCEPTED, r);
	tx_done(c);
}

static void
on_quit(struct smtp_client *c, const struct smtp_reply *r)
{
	if (c->quit_by_owner) {
		c->end_why.code = r->code;
		memcpy(c->end_why.esc, r->esc, sizeof c->end_why.esc);
	}
	finish(c);
}

typedef void reply_fn(struct smtp_client *c, const struct smtp_reply *r);

static reply_fn *const on_reply[] = {
	[C_GREETING] = on_greeting, [C_EHLO] = on_ehlo, [C_HELO] = on_helo,
	[C_STARTTLS] = on_starttls, [C_RSET] = on_rset, [C_MAIL] = on_mail,
	[C_RCPT] = on_rcpt, [C_DATA] = on_data, [C_DOT] = on_dot, [C_QUIT] = on_quit,
	[C_CLOSED] = NULL,
};

static void
handle_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	reply_fn *fn = on_reply[c->state];

	if (r->code == 421 && c->state != C_QUIT)
		end_by_reply(c, r);
	else if (fn == NULL)
		protocol_error(c, "unexpected reply");
	else
		fn(c, r);
}

/* ---- formatting a message ---- */

static bool
has_8bit(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* SMTPUTF8 is needed when asked for, or when an address is not ASCII. */
static bool
needs_utf8(const struct smtp_client_msg *m)
{
	if (m->smtputf8 || has_8bit(m->sender))
		return true;
	for (size_t i = 0; i < m->nrcpt; i++)
		if (has_8bit(m->rcpt[i]))
			return true;
	return false;
}

static void
tx_alloc(struct tx *t, size_t nrcpt)
{
	t->nrcpt = nrcpt;
	buf_init(&t->cmds, (size_t)-2);
	t->cmd_end = xcalloc(nrcpt + 2, sizeof *t->cmd_end);
	t->out = smtp_outcomes_new(nrcpt);
}

/* Every command line of the message, formatted and checked now (RFC 3461
 * parameters only when the peer offers DSN). BODY and SMTPUTF8 go in
 * whenever needed: a peer without them gets nothing (refuse_unfit). */
static int
format_commands(struct smtp_client *c, const struct smtp_client_msg *m, bool utf8)
{
	struct tx *t = &c->tx;
	bool dsn = (c->ehlo.ext & SMTP_EXT_DSN) != 0;
	struct smtp_envelope_mail em = {
		.sender = m->sender,
		.has_size = (c->ehlo.ext & SMTP_EXT_SIZE) != 0,
		.size = m->size,
		.body_8bitmime = m->eightbit,
		.smtputf8 = utf8,
		.ret = dsn ? m->ret : SMTP_RET_NONE,
		.envid = dsn ? m->envid : NULL,
	};

	if (smtp_envelope_mail(&t->cmds, &em) < 0)
		return -1;
	t->cmd_end[0] = t->cmds.len;
	for (size_t i = 0; i < m->nrcpt; i++) {
		unsigned notify = dsn && m->notify ? m->notify[i] : 0;
		const char *orcpt = dsn && m->orcpt ? m->orcpt[i] : NULL;

		if (smtp_envelope_rcpt(&t->cmds, m->rcpt[i], notify, orcpt, utf8) < 0)
			return -1;
		t->cmd_end[i + 1] = t->cmds.len;
	}
	if (buf_append_str(&t->cmds, "DATA\r\n") < 0)
		return -1;
	t->cmd_end[m->nrcpt + 1] = t->cmds.len;
	return 0;
}

/* A message the peer cannot take as it is fails for good, with a clear
 * reason, rather than being sent mangled. True when it was refused. */
static bool
refuse_unfit(struct smtp_client *c, const struct smtp_client_msg *m, bool utf8)
{
	struct smtp_outcome v;
	const char *esc;
	char *text;

	if ((c->ehlo.ext & SMTP_EXT_SIZE) && c->ehlo.size_max > 0 && m->size > c->ehlo.size_max) {
		esc = "5.3.4";   /* RFC 3463 3.4: message too big for system */
		text = xasprintf("message size %llu exceeds the peer's limit of %llu (SIZE)",
		    (unsigned long long)m->size, (unsigned long long)c->ehlo.size_max);
	} else if (m->eightbit && !(c->ehlo.ext & SMTP_EXT_8BITMIME)) {
		esc = "5.6.3";   /* RFC 3463 3.7: conversion required but not supported */
		text = xstrdup("the peer does not accept 8-bit content (8BITMIME)");
	} else if (utf8 && !(c->ehlo.ext & SMTP_EXT_SMTPUTF8)) {
		esc = "5.6.7";   /* RFC 6531: non-ASCII addresses not permitted */
		text = xstrdup("the peer does not accept internationalized mail (SMTPUTF8)");
	} else {
		return false;
	}
	v = smtp_outcome_make(SMTP_STATUS_PERMFAIL, esc, text);
	smtp_outcomes_decide(c->tx.out, SMTP_RCPT_PENDING, &v);
	free(text);
	tx_done(c);
	return true;
}

/* ---- public ---- */

struct smtp_client *
smtp_client_new(const struct smtp_client_conf *conf)
{
	struct smtp_client *c = xcalloc(1, sizeof *c);

	/* a checked configuration gives a domain; anything else could inject */
	if (conf->helo_name == NULL || conf->helo_name[0] == '\0' ||
	    strpbrk(conf->helo_name, " \t\r\n") != NULL)
		PANIC("bad HELO name");
	c->helo_name = xstrdup(conf->helo_name);
	c->starttls_allowed = conf->starttls_allowed;
	c->tls = conf->tls_active;
	c->state = C_GREETING;
	c->rp = smtp_reply_parser_new();
	buf_init(&c->out, (size_t)-2);
	return c;
}

void
smtp_client_free(struct smtp_client *c)
{
	if (c == NULL)
		return;
	tx_clear(&c->tx);
	smtp_reply_parser_free(c->rp);
	buf_reset(&c->out);
	free(c->helo_name);
	free(c->end_text);
	free(c);
}

size_t
smtp_client_feed(struct smtp_client *c, const char *p, size_t n)
{
	struct smtp_reply r;
	size_t used = 0;

	while (used < n && c->evcount == 0 && c->state != C_CLOSED && c->state != C_CONTENT) {
		if (c->state == C_TLS_WAIT) {
			/* CVE-2011-0411: nothing may come between the 220 and the
			 * handshake; bytes here would be read as if protected */
			protocol_error(c, "data after the 220 to STARTTLS");
			break;
		}
		used += smtp_reply_parser_feed(c->rp, p + used, n - used);
		if (smtp_reply_parser_error(c->rp) != SMTP_REPLY_OK) {
			protocol_error(c, smtp_reply_error_text(smtp_reply_parser_error(c->rp)));
			break;
		}
		if (smtp_reply_parser_next(c->rp, &r))
			handle_reply(c, &r);
	}
	return used;
}

bool
smtp_client_next(struct smtp_client *c, struct smtp_client_event *ev)
{
	if (c->evcount == 0)
		return false;
	*ev = c->evq[c->evhead];
	c->evhead = (c->evhead + 1) % EVQ_MAX;
	c->evcount--;
	return true;
}

struct buf *
smtp_client_output(struct smtp_client *c)
{
	return &c->out;
}

int
smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m)
{
	bool utf8;

	if (c->state != C_READY || c->evcount != 0)
		PANIC("message given outside READY");
	if (m->nrcpt == 0 || m->sender == NULL || m->rcpt == NULL) {
		errno = EINVAL;
		return -1;
	}
	utf8 = needs_utf8(m);
	tx_clear(&c->tx);
	tx_alloc(&c->tx, m->nrcpt);
	if (format_commands(c, m, utf8) < 0) {
		tx_clear(&c->tx);
		errno = EINVAL;
		return -1;
	}
	c->tx.active = true;
	if (refuse_unfit(c, m, utf8))
		return 0;
	if (c->rset_needed) {
		out_put(c, "RSET\r\n", 6);
		c->state = C_RSET;
		return 0;
	}
	start_commands(c);
	return 0;
}

void
smtp_client_quit(struct smtp_client *c)
{
	struct smtp_outcome v = smtp_outcome_make(SMTP_STATUS_OK, "", "QUIT");

	if (c->state != C_READY || c->evcount != 0)
		PANIC("QUIT given outside READY");
	c->quit_by_owner = true;
	end_session(c, SMTP_CLIENT_EV_CLOSED, &v, true);
}

void
smtp_client_tls_started(struct smtp_client *c)
{
	if (c->state != C_TLS_WAIT)
		PANIC("TLS started outside STARTTLS");
	c->tls = true;
	memset(&c->ehlo, 0, sizeof c->ehlo);   /* RFC 3207 4.2: forget it all */
	send_hello(c, "EHLO");
}

int
smtp_client_content(struct smtp_client *c, const char *p, size_t n)
{
	if (c->state != C_CONTENT) {
		errno = EPIPE;
		return -1;
	}
	if (smtp_dotstuff_encode(&c->tx.enc, p, n, &c->out) < 0)
		PANIC("client output over its bound");
	return 0;
}

int
smtp_client_content_end(struct smtp_client *c)
{
	if (c->state != C_CONTENT) {
		errno = EPIPE;
		return -1;
	}
	if (smtp_dotstuff_end(&c->tx.enc, &c->out) < 0)
		PANIC("client output over its bound");
	c->state = C_DOT;
	return 0;
}

void
smtp_client_abort(struct smtp_client *c, const char *reason)
{
	struct smtp_outcome v;

	if (c->state == C_CLOSED)
		return;
	if (c->state == C_QUIT) {
		finish(c);
		return;
	}
	v = smtp_outcome_make(SMTP_STATUS_TEMPFAIL, "4.4.2", reason ? reason : "connection lost");
	tx_fail_rest(c, v);
	end_session(c, SMTP_CLIENT_EV_CLOSED, &v, false);
}

static const struct {
	enum smtp_client_phase phase;
	unsigned timeout;
} phases[] = {
	[C_GREETING] = { SMTP_CLIENT_PHASE_GREETING, SMTP_CLIENT_TIMEOUT_INITIAL },
	[C_EHLO] = { SMTP_CLIENT_PHASE_HELO, SMTP_CLIENT_TIMEOUT_MAIL },
	[C_HELO] = { SMTP_CLIENT_PHASE_HELO, SMTP_CLIENT_TIMEOUT_MAIL },
	[C_STARTTLS] = { SMTP_CLIENT_PHASE_STARTTLS, SMTP_CLIENT_TIMEOUT_MAIL },
	[C_TLS_WAIT] = { SMTP_CLIENT_PHASE_IDLE, 0 },
	[C_READY] = { SMTP_CLIENT_PHASE_IDLE, 0 },
	[C_RSET] = { SMTP_CLIENT_PHASE_RSET, SMTP_CLIENT_TIMEOUT_MAIL },
	[C_MAIL] = { SMTP_CLIENT_PHASE_MAIL, SMTP_CLIENT_TIMEOUT_MAIL },
	[C_RCPT] = { SMTP_CLIENT_PHASE_RCPT, SMTP_CLIENT_TIMEOUT_RCPT },
	[C_DATA] = { SMTP_CLIENT_PHASE_DATA, SMTP_CLIENT_TIMEOUT_DATA },
	[C_CONTENT] = { SMTP_CLIENT_PHASE_CONTENT, SMTP_CLIENT_TIMEOUT_BLOCK },
	[C_DOT] = { SMTP_CLIENT_PHASE_DOT, SMTP_CLIENT_TIMEOUT_DOT },
	[C_QUIT] = { SMTP_CLIENT_PHASE_QUIT, SMTP_CLIENT_TIMEOUT_MAIL },
	[C_CLOSED] = { SMTP_CLIENT_PHASE_CLOSED, 0 },
};

enum smtp_client_phase
smtp_client_phase(const struct smtp_client *c)
{
	return phases[c->state].phase;
}

unsigned
smtp_client_timeout(const struct smtp_client *c)
{
	return phases[c->state].timeout;
}

unsigned
smtp_client_extensions(const struct smtp_client *c)
{
	return c->ehlo.ext;
}

uint64_t
smtp_client_size_limit(const struct smtp_client *c)
{
	return (c->ehlo.ext & SMTP_EXT_SIZE) ? c->ehlo.size_max : 0;
}

bool
smtp_client_is_closed(const struct smtp_client *c)
{
	return c->state == C_CLOSED;
}
