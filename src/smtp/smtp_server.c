/* smtp_server.c - server side of one SMTP session, sans I/O (see smtp_server.h).
 * Owns: the input line buffer, the command table, the session and
 * transaction states, replies and the error budget.
 * Leaves: every decision that needs the world (owner, through events).
 * Invariant: only a CRLF ends a command line; a line over its limit is never
 * run, in part or whole; at most one event is outstanding at a time. */
#include "smtp/smtp_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/chars.h"
#include "smtp/limits.h"
#include "util/log.h"
#include "util/xalloc.h"

enum state {
	S_INIT,      /* no HELO/EHLO yet */
	S_READY,     /* greeted, no transaction */
	S_MAIL,      /* MAIL accepted, no recipient yet */
	S_RCPT,      /* at least one recipient accepted */
	S_DATA,      /* inside DATA content */
	S_BDAT,      /* inside a BDAT chunk */
	S_TLS_WAIT,  /* 220 to STARTTLS sent: input is discarded until the handshake */
	S_AUTH,      /* a SASL exchange: lines are responses, not commands */
	S_REVERSED,  /* 250 to ATRN sent: the owner is the SMTP client now */
	S_CLOSED,
};

struct smtp_server {
	struct smtp_server_conf conf;
	enum state state;
	bool esmtp, tls, utf8_tx, bdat_tx, rcpt_tried;
	char *helo, *auth_user;
	unsigned errors, nrcpt;

	struct buf line;           /* a partial command line */
	bool discarding;           /* current line is over its limit: drop to CRLF */
	bool secret_line;          /* the buffered line may hold credentials: wipe it */

	struct smtp_event ev;      /* the event being offered or waiting for a verdict */
	struct buf evarg;          /* owned copies of ev.arg and ev.initial */
	bool ev_ready, verdict_wait;
	struct smtp_path path;
	struct smtp_mail_params mail;
	struct smtp_rcpt_params rcpt;

	struct smtp_data data;
	smtp_data_sink sink;
	void *sink_arg;
	char *dbuf;                /* decoded content, SMTP_DATA_CHUNK + 1 bytes */
	uint64_t bdat_left, bdat_size;
	bool bdat_last, bdat_discard;
	bool data_is_bdat;         /* the pending SMTP_EV_DATA came from BDAT */

	struct buf out;
};

/* ---- replies ---- */

static void
reply(struct smtp_server *s, int code, const char *esc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reply(struct smtp_server *s, int code, const char *esc, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	/* out has no fixed bound beyond SIZE_MAX: feed stops reading at
	 * SMTP_OUTPUT_HIGH, so a reply can always be added */
	if (esc)
		buf_printf(&s->out, "%d %s %s\r\n", code, esc, text);
	else
		buf_printf(&s->out, "%d %s\r\n", code, text);
}

static void
close_with(struct smtp_server *s, const char *esc, const char *text)
{
	reply(s, 421, esc, "%s %s", s->conf.hostname, text);
	s->state = S_CLOSED;
}

/* A syntax error, unknown or out-of-sequence command: counts against the
 * budget; past max_errors the reply is 421 and the session ends. */
static void
reply_error(struct smtp_server *s, int code, const char *esc, const char *text)
{
	if (++s->errors > s->conf.max_errors) {
		close_with(s, "4.7.0", "Error: too many errors");
		return;
	}
	reply(s, code, esc, "%s", text);
}

/* ---- events and transaction ---- */

static void
raise_event(struct smtp_server *s, enum smtp_event_type type, bool verdict)
{
	memset(&s->ev, 0, sizeof s->ev);
	s->ev.type = type;
	s->ev_ready = true;
	s->verdict_wait = verdict;
}

/* Give the pending event its text arguments, copied: the line they come from
 * is gone (or back in the owner's buffer) by the time the owner looks. */
static void
set_event_args(struct smtp_server *s, struct span arg, struct span initial)
{
	buf_clear(&s->evarg);
	if (buf_append(&s->evarg, arg.p, arg.len) < 0 || buf_append(&s->evarg, "", 1) < 0 ||
	    buf_append(&s->evarg, initial.p, initial.len) < 0)
		PANIC("event argument over its bound");
	s->ev.arg = span_make(s->evarg.data, arg.len);
	s->ev.initial = span_make(s->evarg.data + arg.len + 1, initial.len);
}

/* Forget event arguments; they may have held credentials. */
static void
wipe_event_args(struct smtp_server *s)
{
	if (s->evarg.data)
		explicit_bzero(s->evarg.data, s->evarg.cap);
	buf_clear(&s->evarg);
}

static bool
in_transaction(const struct smtp_server *s)
{
	return s->state == S_MAIL || s->state == S_RCPT || s->state == S_DATA ||
	    s->state == S_BDAT || s->bdat_tx;
}

static void
end_data_phase(struct smtp_server *s)
{
	free(s->dbuf);
	s->dbuf = NULL;
	s->sink = NULL;
	s->sink_arg = NULL;
}

/* Forget the transaction (after its end, RSET, HELO or STARTTLS). */
static void
tx_clear(struct smtp_server *s)
{
	end_data_phase(s);
	s->utf8_tx = s->bdat_tx = s->rcpt_tried = false;
	s->bdat_discard = false;
	s->nrcpt = 0;
	s->state = s->helo ? S_READY : S_INIT;
}

/* Clear the transaction and tell the owner, if there was one. */
static void
tx_reset(struct smtp_server *s)
{
	bool had = in_transaction(s);

	tx_clear(s);
	if (had)
		raise_event(s, SMTP_EV_TX_RESET, false);
}

/* ---- commands ---- */

static bool
arg_empty(struct span arg)
{
	return span_trim(arg).len == 0;
}

static void
cmd_helo_common(struct smtp_server *s, struct span arg, bool esmtp)
{
	arg = span_trim(arg);
	if (arg.len == 0 || memchr(arg.p, ' ', arg.len) || memchr(arg.p, '\t', arg.len)) {
		reply_error(s, 501, "5.5.4", esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
		return;
	}
	for (size_t i = 0; i < arg.len; i++)
		if ((unsigned char)arg.p[i] < 33 || arg.p[i] == 127) {
			reply_error(s, 501, "5.5.4", "Invalid domain name");
			return;
		}
	tx_reset(s);
	free(s->helo);
	s->helo = xstrndup(arg.p, arg.len);
	s->esmtp = esmtp;
	s->state = S_READY;
	if (!esmtp) {
		reply(s, 250, NULL, "%s", s->conf.hostname);
		return;
	}
	buf_printf(&s->out, "250-%s\r\n", s->conf.hostname);
	buf_append_str(&s->out, "250-PIPELINING\r\n");
	buf_printf(&s->out, "250-SIZE %llu\r\n", (unsigned long long)s->conf.max_message_size);
	if (s->conf.starttls && !s->tls)
		buf_append_str(&s->out, "250-STARTTLS\r\n");
	if (s->conf.auth && s->tls)
		buf_append_str(&s->out, "250-AUTH PLAIN LOGIN\r\n250-ATRN\r\n");
	buf_append_str(&s->out, "250-ETRN\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
				"250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
}

static void
cmd_helo(struct smtp_server *s, struct span arg)
{
	cmd_helo_common(s, arg, false);
}

static void
cmd_ehlo(struct smtp_server *s, struct span arg)
{
	cmd_helo_common(s, arg, true);
}

/* Reply for a MAIL/RCPT argument that did not parse. */
static void
reply_arg_error(struct smtp_server *s, enum smtp_arg_result r, bool mail, const char *why)
{
	const char *addr_esc = mail ? "5.1.7" : "5.1.3";

	if (!why)
		why = "Syntax error";
	switch (r) {
	case SMTP_ARG_SOURCE_ROUTE:
		reply(s, 550, "5.7.1", "%s", why);
		return;
	case SMTP_ARG_PARAM_UNKNOWN:
		reply_error(s, 555, "5.5.4", why);
		return;
	case SMTP_ARG_PARAM_BAD:
		reply_error(s, 501, "5.5.4", why);
		return;
	case SMTP_ARG_NEEDS_UTF8:
		reply(s, 553, "5.6.7", "%s", why);
		return;
	default:
		reply_error(s, 501, addr_esc, why);
		return;
	}
}

/* The text after "FROM:" / "TO:", or false when the keyword is missing. */
static bool
split_keyword(struct span arg, const char *kw, struct span *rest)
{
	size_t n = strlen(kw);

	if (!span_has_prefix_nocase(arg, kw))
		return false;
	*rest = span_make(arg.p + n, arg.len - n);
	return true;
}

static void
cmd_mail(struct smtp_server *s, struct span arg)
{
	enum smtp_arg_result r;
	struct span rest;
	const char *why = NULL;

	if (s->state == S_INIT) {
		reply_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (in_transaction(s)) {
		reply_error(s, 503, "5.5.1", "Error: nested MAIL command");
		return;
	}
	if (s->conf.auth_required && !s->auth_user) {
		reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if (!split_keyword(arg, "FROM:", &rest)) {
		reply_error(s, 501, "5.5.4", "Syntax: MAIL FROM:<address>");
		return;
	}
	r = smtp_parse_mail(rest, &s->path, &s->mail, &why);
	if (r != SMTP_ARG_OK) {
		reply_arg_error(s, r, true, why);
		return;
	}
	if (s->mail.body == SMTP_BODY_BINARYMIME) {
		reply(s, 555, "5.5.4", "BODY=BINARYMIME is not supported");
		return;
	}
	if (s->mail.has_size && s->mail.size > s->conf.max_message_size) {
		reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	raise_event(s, SMTP_EV_MAIL, true);
	s->ev.path = &s->path;
	s->ev.mail = &s->mail;
}

static void
cmd_rcpt(struct smtp_server *s, struct span arg)
{
	enum smtp_arg_result r;
	struct span rest;
	const char *why = NULL;

	if (s->state != S_MAIL && s->state != S_RCPT) {
		reply_error(s, 503, "5.5.1", "Error: need MAIL command");
		return;
	}
	if (s->bdat_tx) {
		reply_error(s, 503, "5.5.1", "Error: RCPT after BDAT");
		return;
	}
	if (!split_keyword(arg, "TO:", &rest)) {
		reply_error(s, 501, "5.5.4", "Syntax: RCPT TO:<address>");
		return;
	}
	r = smtp_parse_rcpt(rest, s->utf8_tx, &s->path, &s->rcpt, &why);
	if (r != SMTP_ARG_OK) {
		reply_arg_error(s, r, false, why);
		return;
	}
	s->rcpt_tried = true;
	if (s->nrcpt >= s->conf.max_recipients) {
		reply(s, 452, "4.5.3", "Error: too many recipients");
		return;
	}
	raise_event(s, SMTP_EV_RCPT, true);
	s->ev.path = &s->path;
	s->ev.rcpt = &s->rcpt;
}

/* DATA or a first BDAT: is there a transaction with recipients? */
static bool
check_content_allowed(struct smtp_server *s)
{
	if (s->state == S_RCPT)
		return true;
	if (s->state == S_MAIL && s->rcpt_tried)
		reply_error(s, 554, "5.5.1", "Error: no valid recipients");
	else if (s->state == S_MAIL)
		reply_error(s, 503, "5.5.1", "Error: need RCPT command");
	else if (s->state == S_INIT)
		reply_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
	else
		reply_error(s, 503, "5.5.1", "Error: need MAIL command");
	return false;
}

static void
cmd_data(struct smtp_server *s, struct span arg)
{
	if (!arg_empty(arg)) {
		reply_error(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (s->bdat_tx) {
		reply_error(s, 503, "5.5.1", "Error: DATA after BDAT");
		return;
	}
	if (!check_content_allowed(s))
		return;
	s->data_is_bdat = false;
	raise_event(s, SMTP_EV_DATA, true);
}

/* "BDAT" SP chunk-size [ SP "LAST" ] (RFC 3030 2). */
static bool
parse_bdat(struct span arg, uint64_t *size, bool *last)
{
	size_t i = 0;
	unsigned long long v;
	struct span rest;

	while (i < arg.len && arg.p[i] >= '0' && arg.p[i] <= '9')
		i++;
	if (i == 0 || i > SMTP_BDAT_DIGITS_MAX ||
	    span_to_u64(span_make(arg.p, i), UINT64_MAX, &v) < 0)
		return false;
	*size = v;
	rest = span_make(arg.p + i, arg.len - i);
	*last = false;
	if (rest.len == 0)
		return true;
	if (span_eq_cstr_nocase(span_trim(rest), "LAST") && rest.p[0] == ' ') {
		*last = true;
		return true;
	}
	return false;
}

static void
start_chunk(struct smtp_server *s, bool discard)
{
	s->bdat_left = s->bdat_size;
	s->bdat_discard = discard;
	s->state = S_BDAT;
}

static void
cmd_bdat(struct smtp_server *s, struct span arg)
{
	if (!parse_bdat(arg, &s->bdat_size, &s->bdat_last)) {
		reply_error(s, 501, "5.5.4", "Syntax: BDAT size [LAST]");
		return;
	}
	if (s->bdat_tx) {
		start_chunk(s, false);
		return;
	}
	if (!check_content_allowed(s)) {
		start_chunk(s, true);  /* the chunk's octets are still coming: drop them */
		return;
	}
	s->data_is_bdat = true;
	raise_event(s, SMTP_EV_DATA, true);
}

static void
cmd_rset(struct smtp_server *s, struct span arg)
{
	if (!arg_empty(arg)) {
		reply_error(s, 501, "5.5.4", "Syntax: RSET");
		return;
	}
	tx_reset(s);
	reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct smtp_server *s, struct span arg)
{
	reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct smtp_server *s, struct span arg)
{
	if (!arg_empty(arg)) {
		reply_error(s, 501, "5.5.4", "Syntax: QUIT");
		return;
	}
	reply(s, 221, "2.0.0", "Bye");
	s->state = S_CLOSED;
	raise_event(s, SMTP_EV_QUIT, false);
}

static void
cmd_vrfy(struct smtp_server *s, struct span arg)
{
	if (arg_empty(arg)) {
		reply_error(s, 501, "5.5.4", "Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: 252 when the server will not verify */
	reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

static void
cmd_expn(struct smtp_server *s, struct span arg)
{
	reply(s, 502, "5.5.1", "Error: EXPN is not supported");
}

static void
cmd_help(struct smtp_server *s, struct span arg)
{
	reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY "
			       "HELP ETRN STARTTLS; see RFC 5321");
}

static void
cmd_turn(struct smtp_server *s, struct span arg)
{
	/* RFC 2821 4.1.1.10 / RFC 5321 retired TURN: role reversal without
	 * authentication would hand a client someone else's mail */
	reply(s, 502, "5.5.1", "Error: TURN is not supported");
}

static void
cmd_etrn(struct smtp_server *s, struct span arg)
{
	arg = span_trim(arg);
	if (s->state == S_INIT) {
		reply_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
		return;
	}
	if (in_transaction(s)) {
		reply_error(s, 503, "5.5.1", "Error: ETRN inside a mail transaction");
		return;
	}
	if (arg.len == 0 || arg.len > SMTP_DOMAIN_MAX + 1 || memchr(arg.p, ' ', arg.len)) {
		reply_error(s, 501, "5.5.4", "Syntax: ETRN domain");
		return;
	}
	/* RFC 1985 5.1 */
	reply(s, 250, "2.0.0", "Queuing for node %.*s started", (int)arg.len, arg.p);
	raise_event(s, SMTP_EV_ETRN, false);
	set_event_args(s, arg, span_make("", 0));
}

/* RFC 2645 5.2.1: domain = sub-domain 1*("." sub-domain), letters, digits
 * and inner hyphens. */
static bool
atrn_domain_ok(struct span d)
{
	size_t labels = 0, len = 0;

	if (d.len == 0 || d.len > SMTP_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= d.len; i++) {
		if (i == d.len || d.p[i] == '.') {
			if (len == 0 || len > 63 || d.p[i - 1] == '-' || d.p[i - len] == '-')
				return false;
			labels++;
			len = 0;
		} else if (is_letdig((unsigned char)d.p[i]) || d.p[i] == '-') {
			len++;
		} else {
			return false;
		}
	}
	return labels >= 2;
}

/* RFC 2645: "ATRN" [SP domain *("," domain)], only once authenticated. */
static void
cmd_atrn(struct smtp_server *s, struct span arg)
{
	size_t start = 0, n = 0;

	arg = span_trim(arg);
	if (!s->conf.auth) {
		reply_error(s, 502, "5.5.1", "Error: ATRN is not offered here");
		return;
	}
	if (s->state == S_INIT) {
		reply_error(s, 503, "5.5.1", "Error: send EHLO first");
		return;
	}
	if (in_transaction(s)) {
		reply_error(s, 503, "5.5.1", "Error: ATRN inside a mail transaction");
		return;
	}
	if (!s->auth_user) {
		reply_error(s, 530, "5.7.0", "Authentication required");
		return;
	}
	for (size_t i = 0; i <= arg.len && arg.len; i++) {
		if (i < arg.len && arg.p[i] != ',')
			continue;
		if (!atrn_domain_ok(span_make(arg.p + start, i - start)) || ++n > SMTP_ATRN_DOMAINS_MAX) {
			reply_error(s, 501, "5.5.4", "Syntax: ATRN [domain[,domain...]]");
			return;
		}
		start = i + 1;
	}
	raise_event(s, SMTP_EV_ATRN, true);
	set_event_args(s, arg, span_make("", 0));
}

static void
cmd_starttls(struct smtp_server *s, struct span arg)
{
	if (!s->conf.starttls) {
		reply_error(s, 502, "5.5.1", "Error: STARTTLS is not offered here");
		return;
	}
	if (s->tls) {
		reply_error(s, 503, "5.5.1", "Error: TLS is already active");
		return;
	}
	if (!arg_empty(arg)) {
		reply_error(s, 501, "5.5.4", "Syntax: STARTTLS");
		return;
	}
	reply(s, 220, "2.0.0", "Ready to start TLS");
	s->state = S_TLS_WAIT;
	raise_event(s, SMTP_EV_STARTTLS, false);
}

static void
cmd_auth(struct smtp_server *s, struct span arg)
{
	struct span mech = span_trim(arg), initial = { NULL, 0 };
	const char *sp;

	if (!s->conf.auth || !s->tls) {
		reply_error(s, 503, "5.5.1", "Error: authentication not enabled");
		return;
	}
	if (s->state == S_INIT) {
		reply_error(s, 503, "5.5.1", "Error: send EHLO first");
		return;
	}
	if (s->auth_user) {
		reply_error(s, 503, "5.5.1", "Error: already authenticated");
		return;
	}
	if (in_transaction(s)) {
		reply_error(s, 503, "5.5.1", "Error: AUTH not permitted during a mail transaction");
		return;
	}
	if (mech.len && (sp = memchr(mech.p, ' ', mech.len)) != NULL) {
		initial = span_trim(span_make(sp + 1, mech.len - (size_t)(sp + 1 - mech.p)));
		mech.len = (size_t)(sp - mech.p);
		if (initial.len == 0 || memchr(initial.p, ' ', initial.len)) {
			reply_error(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
			return;
		}
	}
	if (mech.len == 0) {
		reply_error(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	raise_event(s, SMTP_EV_AUTH, true);
	set_event_args(s, mech, initial);
}

/* A line inside a SASL exchange goes to the owner as a response. */
static void
auth_response(struct smtp_server *s, const char *p, size_t len)
{
	raise_event(s, SMTP_EV_AUTH_RESPONSE, true);
	set_event_args(s, span_make(p, len), span_make("", 0));
}

struct command {
	const char *verb;
	void (*run)(struct smtp_server *s, struct span arg);
};

static const struct command commands[] = {
	{ "HELO", cmd_helo }, { "EHLO", cmd_ehlo }, { "MAIL", cmd_mail },
	{ "RCPT", cmd_rcpt }, { "DATA", cmd_data }, { "BDAT", cmd_bdat },
	{ "RSET", cmd_rset }, { "NOOP", cmd_noop }, { "QUIT", cmd_quit },
	{ "VRFY", cmd_vrfy }, { "EXPN", cmd_expn }, { "HELP", cmd_help },
	{ "TURN", cmd_turn }, { "ETRN", cmd_etrn }, { "STARTTLS", cmd_starttls },
	{ "AUTH", cmd_auth }, { "ATRN", cmd_atrn },
};

/* Run one complete command line (CRLF removed). */
static void
run_line(struct smtp_server *s, const char *p, size_t len)
{
	struct span verb, arg = { p, 0 };
	size_t i;

	if (s->state == S_AUTH) {
		auth_response(s, p, len);
		return;
	}
	for (i = 0; i < len; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0') {
			reply_error(s, 500, "5.5.2", "Error: bare CR, LF or NUL in command");
			return;
		}
	for (i = 0; i < len && p[i] != ' '; i++)
		;
	verb = span_make(p, i);
	if (i < len)
		arg = span_make(p + i + 1, len - i - 1);
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (span_eq_cstr_nocase(verb, commands[i].verb)) {
			commands[i].run(s, arg);
			return;
		}
	reply_error(s, 500, "5.5.2", "Error: command not recognized");
}

/* The longest line this command may have, CRLF included (limits.h). */
static size_t
line_limit(const struct smtp_server *s, const char *p, size_t len)
{
	struct span l = span_make(p, len);

	if (s->state == S_AUTH)
		return SMTP_AUTH_LINE_MAX;
	if (span_has_prefix_nocase(l, "MAIL ") || span_has_prefix_nocase(l, "RCPT "))
		return SMTP_MAILRCPT_LINE_MAX;
	if (span_has_prefix_nocase(l, "AUTH "))
		return SMTP_AUTH_LINE_MAX;
	return SMTP_CMD_LINE_MAX;
}

/* Find the CRLF that ends the line: index of its LF in p, or -1. The CR may
 * be the last byte already buffered. */
static long
find_crlf(const struct smtp_server *s, const char *p, size_t n)
{
	const char *q = p, *end = p + n;

	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (q > p ? q[-1] == '\r'
			  : (s->line.len > 0 && s->line.data[s->line.len - 1] == '\r'))
			return q - p;
		q++;
	}
	return -1;
}

/* Empty the partial-line buffer, wiping it when it may hold credentials
 * (an AUTH line or a SASL response). */
static void
line_clear(struct smtp_server *s)
{
	if (s->line.data && (s->state == S_AUTH || s->secret_line ||
				span_has_prefix_nocase(span_make(s->line.data, s->line.len), "AUTH ")))
		explicit_bzero(s->line.data, s->line.len);
	s->secret_line = false;
	buf_clear(&s->line);
}

/* Command-line input: run complete lines, keep a partial one (bounded). */
static size_t
line_input(struct smtp_server *s, const char *p, size_t n)
{
	long k = find_crlf(s, p, n);

	if (k < 0) {
		bool cr_last = p[n - 1] == '\r';

		if (!s->discarding && buf_append(&s->line, p, n) == 0 &&
		    s->line.len < line_limit(s, s->line.data, s->line.len))
			return n;
		/* over the limit: drop it all, but remember a trailing CR */
		s->discarding = true;
		line_clear(s);
		if (cr_last)
			buf_append(&s->line, "\r", 1);
		return n;
	}
	size_t used = (size_t)k + 1;
	if (s->discarding) {
		s->discarding = false;
		line_clear(s);
		reply_error(s, 500, "5.5.2", "Error: line too long");
		return used;
	}
	if (s->line.len == 0) {
		if (used > line_limit(s, p, used))
			reply_error(s, 500, "5.5.2", "Error: line too long");
		else
			run_line(s, p, used - 2);
		return used;
	}
	s->secret_line = s->state == S_AUTH ||
	    span_has_prefix_nocase(span_make(s->line.data, s->line.len), "AUTH ");
	if (buf_append(&s->line, p, used) < 0 ||
	    s->line.len > line_limit(s, s->line.data, s->line.len))
		reply_error(s, 500, "5.5.2", "Error: line too long");
	else
		run_line(s, s->line.data, s->line.len - 2);
	line_clear(s);
	return used;
}

/* ---- content ---- */

static void
finish_content(struct smtp_server *s)
{
	enum smtp_data_status st = smtp_data_status(&s->data);

	end_data_phase(s);
	if (st == SMTP_DATA_OK) {
		raise_event(s, SMTP_EV_DATA_END, true);
		s->ev.status = st;
		return;
	}
	if (st == SMTP_DATA_BAD_BYTES)
		reply(s, 550, "5.6.0", "Message contains bare CR or NUL characters; refused");
	else if (st == SMTP_DATA_HEADERS_TOO_BIG)
		reply(s, 552, "5.3.4", "Message header section too large");
	else
		reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
	tx_clear(s);
	raise_event(s, SMTP_EV_DATA_END, false);
	s->ev.status = st;
}

/* Decode content bytes and give them to the sink. */
static size_t
content_input(struct smtp_server *s, const char *p, size_t n, bool *done)
{
	size_t m = n < SMTP_DATA_CHUNK ? n : SMTP_DATA_CHUNK, used, outlen = 0;

	used = smtp_data_decode(&s->data, p, m, s->dbuf, &outlen, done);
	if (outlen > 0 && s->sink && s->sink(s->sink_arg, s->dbuf, outlen) < 0)
		s->sink = NULL;  /* the owner knows; it refuses at the end */
	return used;
}

static size_t
data_input(struct smtp_server *s, const char *p, size_t n)
{
	bool done = false;
	size_t used = content_input(s, p, n, &done);

	if (done)
		finish_content(s);
	return used;
}

static void
chunk_done(struct smtp_server *s)
{
	if (s->bdat_discard) {
		s->bdat_discard = false;
		s->state = s->bdat_tx ? S_RCPT : (s->helo ? S_READY : S_INIT);
		if (s->bdat_tx)
			tx_reset(s);
		return;
	}
	if (!s->bdat_last) {
		s->state = S_RCPT;
		reply(s, 250, "2.0.0", "%llu octets received", (unsigned long long)s->bdat_size);
		return;
	}
	smtp_data_finish(&s->data);
	finish_content(s);
}

static size_t
bdat_input(struct smtp_server *s, const char *p, size_t n)
{
	size_t m = n, used;
	bool done;

	if (m > s->bdat_left)
		m = (size_t)s->bdat_left;
	used = s->bdat_discard ? m : content_input(s, p, m, &done);
	s->bdat_left -= used;
	if (s->bdat_left == 0)
		chunk_done(s);
	return used;
}

/* ---- public ---- */

struct smtp_server *
smtp_server_new(const struct smtp_server_conf *conf)
{
	struct smtp_server *s = xcalloc(1, sizeof *s);

	s->conf = *conf;
	s->state = S_INIT;
	buf_init(&s->line, SMTP_AUTH_LINE_MAX);
	buf_init(&s->out, (size_t)-2);
	buf_init(&s->evarg, SMTP_AUTH_LINE_MAX + SMTP_CMD_LINE_MAX);
	s->tls = conf->implicit_tls;
	reply(s, 220, NULL, "%s ESMTP postino", s->conf.hostname);
	return s;
}

void
smtp_server_free(struct smtp_server *s)
{
	if (s == NULL)
		return;
	end_data_phase(s);
	line_clear(s);
	wipe_event_args(s);
	buf_reset(&s->line);
	buf_reset(&s->out);
	buf_reset(&s->evarg);
	free(s->helo);
	free(s->auth_user);
	free(s);
}

static bool
blocked(const struct smtp_server *s)
{
	return s->ev_ready || s->verdict_wait || s->out.len > SMTP_OUTPUT_HIGH;
}

size_t
smtp_server_feed(struct smtp_server *s, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && !blocked(s)) {
		switch (s->state) {
		case S_CLOSED:
		case S_TLS_WAIT:
		case S_REVERSED:
			return n;  /* nothing after QUIT/421/STARTTLS/ATRN is ever run */
		case S_DATA:
			i += data_input(s, p + i, n - i);
			break;
		case S_BDAT:
			i += bdat_input(s, p + i, n - i);
			break;
		default:
			i += line_input(s, p + i, n - i);
			break;
		}
	}
	/* a zero-length chunk completes without input */
	if (s->state == S_BDAT && s->bdat_left == 0 && !blocked(s))
		chunk_done(s);
	if (s->state == S_TLS_WAIT || s->state == S_CLOSED || s->state == S_REVERSED)
		return n;
	return i;
}

bool
smtp_server_next(struct smtp_server *s, struct smtp_event *ev)
{
	if (!s->ev_ready)
		return false;
	*ev = s->ev;
	s->ev_ready = false;
	return true;
}

/* Apply the owner's yes to the waiting verdict. */
static void
accept_verdict(struct smtp_server *s, const char *text)
{
	switch (s->ev.type) {
	case SMTP_EV_MAIL:
		s->state = S_MAIL;
		s->utf8_tx = s->mail.smtputf8;
		s->nrcpt = 0;
		reply(s, 250, "2.1.0", "%s", text ? text : "Ok");
		break;
	case SMTP_EV_RCPT:
		s->nrcpt++;
		s->state = S_RCPT;
		reply(s, 250, "2.1.5", "%s", text ? text : "Ok");
		break;
	case SMTP_EV_DATA_END:
		reply(s, 250, "2.0.0", "%s", text ? text : "Ok");
		tx_clear(s);
		break;
	case SMTP_EV_ATRN:
		reply(s, 250, "2.0.0", "%s", text ? text : "OK now reversing the connection");
		s->state = S_REVERSED;
		break;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_RESPONSE:
		if (!s->auth_user)
			PANIC("AUTH accepted without smtp_server_set_authenticated");
		wipe_event_args(s);
		s->state = S_READY;
		reply(s, 235, "2.7.0", "%s", text ? text : "Authentication successful");
		break;
	default:
		PANIC("no verdict for event %d", (int)s->ev.type);
	}
}

void
smtp_server_accept(struct smtp_server *s, const char *text)
{
	if (!s->verdict_wait || s->ev.type == SMTP_EV_DATA)
		PANIC("accept without a pending verdict");
	s->verdict_wait = false;
	s->ev_ready = false;
	accept_verdict(s, text);
}

void
smtp_server_accept_data(struct smtp_server *s, smtp_data_sink sink, void *arg)
{
	if (!s->verdict_wait || s->ev.type != SMTP_EV_DATA)
		PANIC("accept_data without a pending DATA");
	s->verdict_wait = false;
	s->ev_ready = false;
	s->sink = sink;
	s->sink_arg = arg;
	s->dbuf = xmalloc(SMTP_DATA_CHUNK + 1);
	if (s->data_is_bdat) {
		s->bdat_tx = true;
		smtp_data_init(&s->data, false, s->conf.max_message_size);
		start_chunk(s, false);
		return;
	}
	smtp_data_init(&s->data, true, s->conf.max_message_size);
	s->state = S_DATA;
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

void
smtp_server_reject(struct smtp_server *s, int code, const char *esc, const char *text)
{
	enum smtp_event_type t = s->ev.type;

	if (!s->verdict_wait)
		PANIC("reject without a pending verdict");
	s->verdict_wait = false;
	s->ev_ready = false;
	reply(s, code, esc, "%s", text);
	if (code == 421) {
		/* RFC 5321 3.8: 421 closes the transmission channel */
		wipe_event_args(s);
		s->state = S_CLOSED;
	} else if (t == SMTP_EV_AUTH || t == SMTP_EV_AUTH_RESPONSE) {
		wipe_event_args(s);
		s->state = S_READY;
	} else if (t == SMTP_EV_DATA_END) {
		tx_clear(s);
	} else if (t == SMTP_EV_DATA && s->data_is_bdat) {
		start_chunk(s, true);  /* drop the refused chunk's octets */
		s->bdat_tx = false;
	}
}

void
smtp_server_auth_continue(struct smtp_server *s, const char *challenge)
{
	if (!s->verdict_wait || (s->ev.type != SMTP_EV_AUTH && s->ev.type != SMTP_EV_AUTH_RESPONSE))
		PANIC("auth_continue without a pending AUTH");
	s->verdict_wait = false;
	s->ev_ready = false;
	wipe_event_args(s);
	s->state = S_AUTH;
	reply(s, 334, NULL, "%s", challenge);
}

void
smtp_server_timeout(struct smtp_server *s)
{
	close_with(s, "4.4.2", "Error: timeout exceeded");
}

void
smtp_server_shutdown(struct smtp_server *s)
{
	close_with(s, "4.3.2", "Service shutting down, closing connection");
}

void
smtp_server_tls_started(struct smtp_server *s)
{
	tx_clear(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	s->tls = true;
	s->state = S_INIT;
	line_clear(s);
	s->discarding = false;
	s->ev_ready = s->verdict_wait = false;
}

void
smtp_server_set_authenticated(struct smtp_server *s, const char *user)
{
	free(s->auth_user);
	s->auth_user = user ? xstrdup(user) : NULL;
}

struct buf *
smtp_server_output(struct smtp_server *s)
{
	return &s->out;
}

bool
smtp_server_is_closing(const struct smtp_server *s)
{
	return s->state == S_CLOSED;
}

bool
smtp_server_in_data(const struct smtp_server *s)
{
	return s->state == S_DATA || s->state == S_BDAT || s->bdat_tx;
}

const char *
smtp_server_helo(const struct smtp_server *s)
{
	return s->helo;
}

const char *
smtp_server_protocol(const struct smtp_server *s)
{
	static const char *const names[2][2][2][2] = {
		/* [utf8][esmtp][tls][auth] */
		{ { { "SMTP", "SMTP" }, { "SMTP", "SMTP" } },
		    { { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } } },
		{ { { "SMTP", "SMTP" }, { "SMTP", "SMTP" } },
		    { { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } } },
	};

	return names[s->utf8_tx][s->esmtp][s->tls][s->auth_user != NULL];
}

void
smtp_server_shrink(struct smtp_server *s)
{
	if (s->line.len == 0)
		buf_reset(&s->line);
	if (!s->ev_ready && !s->verdict_wait)
		buf_reset(&s->evarg);
	buf_shrink(&s->out);
}
