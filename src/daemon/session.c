/* session.c - an SMTP connection in the daemon (see session.h).
 * Owns: the bufferevent, the smtp_server core, the open transaction (its
 * spool writer and envelope) and the pending commit.
 * Invariant: "250 queued" is given only from the commit's done callback,
 * after spool_writer_commit returned 0 (file and directory fsynced). */
#include "daemon/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <crypt.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <time.h>

#include "auth/sasl.h"
#include "daemon/workq.h"
#include "deliver/remote.h"
#include "net/tls.h"
#include "policy/authlimit.h"
#include "policy/relay.h"
#include "queue/queue.h"
#include "smtp/smtp_server.h"
#include "spool/spool.h"
#include "util/log.h"
#include "util/xalloc.h"

#define OUT_HIGH (64 * 1024)     /* stop reading while this much output waits */
#define IN_HIGH (64 * 1024)      /* libevent stops reading past this */

struct commit;
struct auth_job;

struct session {
	struct session *prev, *next;
	struct session_ctx *ctx;
	unsigned long id;
	struct bufferevent *bev;
	struct smtp_server *smtp;
	struct sockaddr_storage peer;
	char addr[96];               /* "192.0.2.1", or "local uid=N user=NAME" */
	bool local;                  /* a local user on the submission socket */
	const struct config_listener *listener;
	struct event *data_timer;
	struct event *linger;        /* closing: waits for the last reply to leave */
	unsigned linger_ticks;
	int timeout_mode;            /* -1 unset, 0 command, 1 data: what the bev timers hold */
	bool closing;
	bool eof;                    /* the client half-closed: run what it sent, then close */
	uint8_t key[16];             /* client address, IPv4 mapped */

	/* TLS and AUTH */
	bool tls;
	char tls_desc[160];
	struct sasl *sasl;
	struct auth_job *auth;       /* a password check on a worker */
	struct event *auth_timer;    /* delays the reply to a failed attempt */
	char *auth_user;
	char **atrn;                 /* ATRN accepted: these domains; the connection is
	                                handed over at once, its slot with it */
	size_t natrn;

	/* the open transaction */
	struct spool_writer *w;
	struct spool_envelope *env;
	size_t rcpt_cap;
	bool write_failed;
	bool submission;             /* RFC 6409 listener (auth offered): fix Date/Message-ID */
	bool holding;                /* the header section is held back in `hold` */
	struct buf hold;
	struct commit *commit;       /* waiting for the worker */
	unsigned long messages;
};

struct commit {
	struct session *s;           /* NULL once the client went away */
	struct session_ctx *ctx;
	struct spool_writer *w;
	struct spool_envelope *env;
	int result, err;
};

static void process(struct session *s);
static void session_free(struct session *s);
static bool sender_owned(struct session *s, const struct smtp_path *p);
static void flush_output(struct session *s);
static void set_timeouts(struct session *s);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_bev_event(struct bufferevent *bev, short what, void *arg);
static void tls_established(struct session *s);

/* ---- transaction ---- */

static void
tx_drop(struct session *s)
{
	if (s->w) {
		spool_writer_abort(s->w);
		s->w = NULL;
	}
	spool_envelope_free(s->env);
	s->env = NULL;
	s->rcpt_cap = 0;
	s->write_failed = false;
	s->holding = false;
	buf_reset(&s->hold);
}

static const char *
qid(const struct session *s)
{
	return s->env ? s->env->id : "-";
}

/* Is the spool's file system above min_free_space? Measured at most once a
 * second: a busy server sees many MAILs a second. */
static bool
spool_has_room(struct session *s)
{
	struct session_ctx *ctx = s->ctx;
	int64_t now = (int64_t)time(NULL);
	struct statvfs st;

	if (ctx->cfg->limits.min_free_space == 0)
		return true;
	if (now == ctx->space_checked)
		return ctx->space_ok;
	ctx->space_checked = now;
	/* unknown: the write itself will tell */
	ctx->space_ok = statvfs(spool_dir(ctx->spool), &st) < 0 ||
	    (uint64_t)st.f_bavail * st.f_frsize >= ctx->cfg->limits.min_free_space;
	return ctx->space_ok;
}

static void
on_mail(struct session *s, const struct smtp_event *ev)
{
	char sender[SMTP_ADDR_TEXT_MAX] = "";
	char id[SPOOL_ID_LEN + 1];

	if (!spool_has_room(s)) {
		log_warn("- smtp.mail session=%lu result=refused reason=\"spool short of "
			 "min_free_space\"", s->id);
		smtp_server_reject(s->smtp, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	if (ev->path->kind == SMTP_PATH_MAILBOX &&
	    smtp_mailbox_format(&ev->path->mbox, sender, sizeof sender) < 0) {
		smtp_server_reject(s->smtp, 501, "5.1.7", "Sender address too long");
		return;
	}
	if (s->auth_user && !sender_owned(s, ev->path)) {
		log_info("- smtp.mail session=%lu from=<%s> user=%s result=refused "
			 "reason=sender_not_owned", s->id, sender, s->auth_user);
		smtp_server_reject(s->smtp, 553, "5.7.1", "Sender address not owned by the "
							  "authenticated user");
		return;
	}
	s->w = spool_writer_new(s->ctx->spool, id);
	if (!s->w) {
		log_error("- spool.open_failed session=%lu error=\"%s\"", s->id, strerror(errno));
		smtp_server_reject(s->smtp, 451, "4.3.0", "Local error: cannot open queue file");
		return;
	}
	s->env = xcalloc(1, sizeof *s->env);
	memcpy(s->env->id, id, sizeof id);
	s->env->sender = xstrdup(sender);
	s->env->envid = ev->mail->envid[0] ? xstrdup(ev->mail->envid) : NULL;
	s->env->ret = ev->mail->ret;
	s->env->body = ev->mail->body;
	s->env->smtputf8 = ev->mail->smtputf8;
	log_info("%s smtp.mail session=%lu from=<%s>", id, s->id, sender);
	smtp_server_accept(s->smtp, NULL);
}

static void
add_rcpt(struct session *s, const struct mailboxes_target *t, const char *orig,
    const struct smtp_rcpt_params *p)
{
	struct spool_envelope *env = s->env;
	struct spool_rcpt *r;

	/* one copy per final address, however often it was named or reached
	 * through aliases (local addresses are lower-cased by resolution) */
	for (size_t i = 0; i < env->nrcpts; i++)
		if (strcasecmp(env->rcpts[i].address, t->address) == 0)
			return;
	if (env->nrcpts == s->rcpt_cap) {
		s->rcpt_cap = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
		env->rcpts = xreallocarray(env->rcpts, s->rcpt_cap, sizeof *env->rcpts);
	}
	r = &env->rcpts[env->nrcpts++];
	memset(r, 0, sizeof *r);
	r->address = xstrdup(t->address);
	r->orig = xstrdup(orig);
	r->orcpt = p->orcpt[0] ? xstrdup(p->orcpt) : NULL;
	r->notify = p->notify;
	r->local = t->local;
	r->state = SPOOL_RCPT_PENDING;
}

/* Decide one recipient: 250, 550 5.1.1 unknown, 554 5.7.1 relay denied. */
static void
on_rcpt(struct session *s, const struct smtp_event *ev)
{
	const struct smtp_mailbox *m = &ev->path->mbox;
	char orig[SMTP_ADDR_TEXT_MAX] = "postmaster";
	struct mailboxes_target *t = NULL, remote;
	size_t nt = 0;
	enum mailboxes_verdict v;

	if (ev->path->kind == SMTP_PATH_MAILBOX && smtp_mailbox_format(m, orig, sizeof orig) < 0) {
		smtp_server_reject(s->smtp, 501, "5.1.3", "Recipient address too long");
		return;
	}
	v = mailboxes_resolve(s->ctx->mb, s->ctx->cfg, m->local,
	    ev->path->kind == SMTP_PATH_POSTMASTER ? "" : m->domain, &t, &nt);
	if (v == MAILBOXES_REMOTE) {
		/* an [odmr] domain takes mail from anyone: postino is its MX */
		bool odmr = ev->path->kind == SMTP_PATH_MAILBOX &&
		    config_is_odmr_domain(s->ctx->cfg, m->domain, strlen(m->domain));

		if (!odmr &&
		    !relay_allowed(s->ctx->cfg, s->local ? NULL : (struct sockaddr *)&s->peer,
			s->auth_user != NULL)) {
			log_info("%s smtp.rcpt session=%lu to=<%s> result=refused code=554 "
				 "reason=relay_denied client=%s",
			    qid(s), s->id, orig, s->addr);
			smtp_server_reject(s->smtp, 554, "5.7.1", "Relay access denied");
			return;
		}
		if (!odmr && s->ctx->remote &&
		    remote_null_mx_known(s->ctx->remote, m->domain, (int64_t)time(NULL))) {
			log_info("%s smtp.rcpt session=%lu to=<%s> result=refused code=556 "
				 "reason=null_mx", qid(s), s->id, orig);
			smtp_server_reject(s->smtp, 556, "5.1.10", "Recipient domain does not "
								   "accept mail (null MX)");
			return;
		}
		snprintf(remote.address, sizeof remote.address, "%s", orig);
		remote.local = false;
		t = &remote;
		nt = 1;
	} else if (v != MAILBOXES_OK) {
		bool loop = v == MAILBOXES_LOOP;

		log_info("%s smtp.rcpt session=%lu to=<%s> result=refused code=550 reason=%s",
		    qid(s), s->id, orig, loop ? "alias_loop" : "unknown_user");
		if (loop)
			smtp_server_reject(s->smtp, 550, "5.4.6", "Alias expansion loop");
		else
			smtp_server_reject(s->smtp, 550, "5.1.1", "Recipient address rejected: user "
								  "unknown");
		free(t);
		return;
	}
	for (size_t i = 0; i < nt; i++)
		add_rcpt(s, &t[i], orig, ev->rcpt);
	log_info("%s smtp.rcpt session=%lu to=<%s> result=accepted targets=%zu", qid(s), s->id, orig,
	    nt);
	if (t != &remote)
		free(t);
	smtp_server_accept(s->smtp, NULL);
}

static int
store(struct session *s, const char *p, size_t n)
{
	if (s->write_failed)
		return -1;
	if (spool_writer_write(s->w, p, n) < 0) {
		log_error("%s spool.write_failed error=\"%s\"", qid(s), strerror(errno));
		s->write_failed = true;
		return -1;
	}
	s->env->size += n;
	return 0;
}

#define HOLD_MAX (64 * 1024)   /* header bytes held back on submission listeners */

/* Is there a header field `name` (with its colon, lower case) in the header
 * section at the start of p? Continuation lines are not field starts. */
static bool
has_field(const char *p, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n;) {
		const char *eol = memchr(p + i, '\n', n - i);
		size_t end = eol ? (size_t)(eol - p) : n;

		if (end == i)
			break;   /* the empty line ends the header section */
		if (end - i >= len && strncasecmp(p + i, name, len) == 0)
			return true;
		i = end + 1;
	}
	return false;
}

/* RFC 6409 8.2, 8.3: a submission server may add Date and Message-ID. Write
 * the missing ones, then the held header section. */
static void
release_hold(struct session *s)
{
	const char *h = s->hold.data ? s->hold.data : "";
	char line[512];
	time_t now = time(NULL);
	struct tm tm;

	s->holding = false;
	if (!has_field(h, s->hold.len, "date:")) {
		gmtime_r(&now, &tm);
		strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S +0000\n", &tm);
		store(s, line, strlen(line));
	}
	if (!has_field(h, s->hold.len, "message-id:")) {
		snprintf(line, sizeof line, "Message-ID: <%s.%lld@%s>\n", s->env->id, (long long)now,
		    s->ctx->cfg->server.hostname);
		store(s, line, strlen(line));
	}
	store(s, h, s->hold.len);
	buf_reset(&s->hold);
}

static int
sink(void *arg, const char *p, size_t n)
{
	struct session *s = arg;
	const char *h;

	if (!s->holding)
		return store(s, p, n);
	if (buf_append(&s->hold, p, n) < 0) {
		release_hold(s);    /* a huge header section: stored as sent */
		return store(s, p, n);
	}
	h = s->hold.data;
	if (h[0] == '\n' || memmem(h, s->hold.len, "\n\n", 2))
		release_hold(s);
	return s->write_failed ? -1 : 0;
}

static void
on_data(struct session *s)
{
	if (!s->w) {
		smtp_server_reject(s->smtp, 451, "4.3.0", "Local error: no queue file");
		return;
	}
	if (s->submission) {
		s->holding = true;
		buf_init(&s->hold, HOLD_MAX);
	}
	smtp_server_accept_data(s->smtp, sink, s);
}

static void
commit_work(void *arg)
{
	struct commit *c = arg;

	c->result = spool_writer_commit(c->w, c->env);
	c->err = errno;
	c->w = NULL;
}

static void
commit_done(void *arg)
{
	struct commit *c = arg;
	struct session *s = c->s;
	char text[64];

	if (c->result == 0) {
		log_info("%s smtp.accepted from=<%s> size=%llu nrcpt=%zu client=%s", c->env->id,
		    c->env->sender, (unsigned long long)c->env->size, c->env->nrcpts,
		    c->env->client_addr);
		snprintf(text, sizeof text, "Ok: queued as %s", c->env->id);
		queue_add(c->ctx->queue, c->env);
	} else {
		log_error("%s spool.commit_failed error=\"%s\"", c->env->id, strerror(c->err));
		spool_envelope_free(c->env);
	}
	if (s) {
		s->commit = NULL;
		if (c->result == 0) {
			s->messages++;
			smtp_server_accept(s->smtp, text);
		} else {
			smtp_server_reject(s->smtp, 451, "4.3.0", "Local error: queue file write "
								  "error");
		}
		process(s);
	}
	free(c);
}

static void
on_data_end(struct session *s, const struct smtp_event *ev)
{
	struct commit *c;

	if (s->holding)
		release_hold(s);
	if (ev->status != SMTP_DATA_OK) {
		log_info("%s smtp.refused session=%lu reason=%s", qid(s), s->id,
		    ev->status == SMTP_DATA_BAD_BYTES ? "bare_cr_or_nul" : "too_large");
		tx_drop(s);
		return;
	}
	if (s->write_failed) {
		tx_drop(s);
		smtp_server_reject(s->smtp, 451, "4.3.0", "Local error: queue file write error");
		return;
	}
	s->env->client_addr = xstrdup(s->addr);
	s->env->helo = smtp_server_helo(s->smtp) ? xstrdup(smtp_server_helo(s->smtp)) : NULL;
	s->env->protocol = s->tls ? xasprintf("%s (%s)", smtp_server_protocol(s->smtp), s->tls_desc)
				  : xstrdup(smtp_server_protocol(s->smtp));
	s->env->auth_user = s->auth_user ? xstrdup(s->auth_user) : NULL;
	s->env->received = (int64_t)time(NULL);
	c = xcalloc(1, sizeof *c);
	c->s = s;
	c->ctx = s->ctx;
	c->w = s->w;
	c->env = s->env;
	s->w = NULL;
	s->env = NULL;
	s->rcpt_cap = 0;
	s->commit = c;
	workq_add(s->ctx->wq, true, commit_work, commit_done, c);
}


/* ---- AUTH (RFC 4954) ---- */

struct auth_job {
	struct session *s;           /* NULL once the client went away */
	char *user, *password, *hash;
	bool ok;
};

/* A hash to check unknown users against, so they cost the same time. */
static const char *
dummy_hash(void)
{
	static char hash[CRYPT_OUTPUT_SIZE];

	if (!hash[0]) {
		const char *h = crypt("postino-dummy", crypt_gensalt("$y$", 0, NULL, 0));

		snprintf(hash, sizeof hash, "%s", h && h[0] != '*' ? h : "$6$x$");
	}
	return hash;
}

static void
auth_work(void *arg)
{
	struct auth_job *j = arg;
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *want = j->hash ? j->hash : dummy_hash();
	const char *got = crypt_r(j->password, want, cd);

	j->ok = j->hash && got && got[0] != '*' && strlen(got) == strlen(want) &&
	    CRYPTO_memcmp(got, want, strlen(want)) == 0;
	explicit_bzero(j->password, strlen(j->password));
	explicit_bzero(cd, sizeof *cd);
	free(cd);
}

static void
auth_job_free(struct auth_job *j)
{
	free(j->user);
	free(j->password);
	free(j->hash);
	free(j);
}

static void
auth_end(struct session *s)
{
	sasl_free(s->sasl);
	s->sasl = NULL;
}

static void
on_auth_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	smtp_server_reject(s->smtp, 535, "5.7.8", "Authentication credentials invalid");
	process(s);
}

static void
auth_done(void *arg)
{
	struct auth_job *j = arg;
	struct session *s = j->s;
	char user[300];
	int delay;

	if (!s) {
		auth_job_free(j);
		return;
	}
	s->auth = NULL;
	log_escape(user, sizeof user, j->user, strlen(j->user));
	if (j->ok) {
		authlimit_succeeded(s->ctx->authlimit, s->key);
		free(s->auth_user);
		s->auth_user = xstrdup(j->user);
		smtp_server_set_authenticated(s->smtp, j->user);
		log_info("- auth.ok session=%lu client=%s user=\"%s\"", s->id, s->addr, user);
		smtp_server_accept(s->smtp, NULL);
	} else if ((delay = authlimit_failed(s->ctx->authlimit, s->key, (int64_t)time(NULL))) < 0) {
		log_warn("- auth.failed session=%lu client=%s user=\"%s\" action=locked", s->id,
		    s->addr, user);
		smtp_server_reject(s->smtp, 421, "4.7.0", "Too many failed authentications");
	} else {
		struct timeval tv = { delay, 0 };

		log_warn("- auth.failed session=%lu client=%s user=\"%s\" delay=%ds", s->id, s->addr,
		    user, delay);
		evtimer_add(s->auth_timer, &tv);   /* answered later: see on_auth_timer */
	}
	auth_job_free(j);
	process(s);
}

/* Credentials are complete: check them on a worker. */
static void
auth_check(struct session *s)
{
	struct auth_job *j = xcalloc(1, sizeof *j);
	const char *hash = mailboxes_password_hash(s->ctx->mb, sasl_authcid(s->sasl));

	j->s = s;
	j->user = xstrdup(sasl_authcid(s->sasl));
	j->password = xstrdup(sasl_password(s->sasl));
	/* proxy authorization (an authzid naming someone else) is not offered */
	j->hash = hash && (!*sasl_authzid(s->sasl) ||
			      strcasecmp(sasl_authzid(s->sasl), j->user) == 0)
	    ? xstrdup(hash)
	    : NULL;
	auth_end(s);
	s->auth = j;
	workq_add(s->ctx->wq, true, auth_work, auth_done, j);
}

/* Act on what the SASL mechanism said. */
static void
auth_status(struct session *s, enum sasl_status st, struct buf *chal)
{
	switch (st) {
	case SASL_CONTINUE:
		smtp_server_auth_continue(s->smtp, chal->data ? chal->data : "");
		return;
	case SASL_DONE:
		auth_check(s);
		return;
	case SASL_BAD:
		auth_end(s);
		smtp_server_reject(s->smtp, 501, "5.5.2", "Invalid authentication data");
		return;
	case SASL_CANCELLED:
		auth_end(s);
		smtp_server_reject(s->smtp, 501, "5.7.0", "Authentication cancelled");
		return;
	}
}

static void
on_auth(struct session *s, const struct smtp_event *ev)
{
	struct buf chal;

	buf_init(&chal, 64);
	if (authlimit_locked(s->ctx->authlimit, s->key, (int64_t)time(NULL))) {
		smtp_server_reject(s->smtp, 421, "4.7.0", "Too many failed authentications, try "
							  "again later");
		return;
	}
	if (ev->type == SMTP_EV_AUTH) {
		s->sasl = sasl_new(ev->arg);
		if (!s->sasl) {
			smtp_server_reject(s->smtp, 504, "5.5.4", "Unrecognized authentication type");
			return;
		}
		auth_status(s, sasl_start(s->sasl, ev->initial, &chal), &chal);
	} else {
		auth_status(s, sasl_step(s->sasl, ev->arg, &chal), &chal);
	}
	buf_reset(&chal);
}

/* RFC 6409 / SPEC: an authenticated client sends as itself or as one of the
 * aliases that deliver to it. */
static bool
sender_owned(struct session *s, const struct smtp_path *p)
{
	struct mailboxes_target *t = NULL;
	size_t nt = 0;
	bool ok = false;
	char sender[SMTP_ADDR_TEXT_MAX];

	if (p->kind == SMTP_PATH_NULL)
		return true;
	if (smtp_mailbox_format(&p->mbox, sender, sizeof sender) == 0 &&
	    strcasecmp(sender, s->auth_user) == 0)
		return true;
	if (mailboxes_resolve(s->ctx->mb, s->ctx->cfg, p->mbox.local, p->mbox.domain, &t, &nt) ==
	    MAILBOXES_OK)
		for (size_t i = 0; i < nt && !ok; i++)
			ok = t[i].local && strcasecmp(t[i].address, s->auth_user) == 0;
	free(t);
	return ok;
}

/* ---- ATRN (RFC 2645, On-Demand Mail Relay) ---- */

static void
free_domains(char **d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i]);
	free(d);
}

static bool
atrn_granted(const struct config_odmr_client *cl, const char *domain)
{
	for (size_t i = 0; cl && i < cl->ndomains; i++)
		if (strcasecmp(cl->domains[i], domain) == 0)
			return true;
	return false;
}

static void
atrn_refuse(struct session *s, char **dom, size_t n, const char *domain, int code,
    const char *esc, const char *text, const char *reason)
{
	log_info("- smtp.atrn session=%lu user=%s%s%s result=refused code=%d reason=%s", s->id,
	    s->auth_user, domain ? " domain=" : "", domain ? domain : "", code, reason);
	smtp_server_reject(s->smtp, code, esc, text);
	free_domains(dom, n);
}

/* The authenticated user may take the mail of the domains [odmr] clients
 * grants its login (the configuration checks those are [odmr] domains);
 * the request is all or nothing (450 when one domain is not granted). No
 * domain named: all it is granted. 451 while another ATRN has one of them,
 * 453 when nothing waits. */
static void
on_atrn(struct session *s, const struct smtp_event *ev)
{
	const struct config_odmr_client *cl =
	    s->auth_user ? config_odmr_client(s->ctx->cfg, s->auth_user) : NULL;
	char **dom = NULL;
	size_t n = 0, waiting = 0, start = 0;
	struct span a = ev->arg;

	if (a.len == 0 && cl) {
		dom = xcalloc(cl->ndomains, sizeof *dom);
		for (size_t i = 0; i < cl->ndomains; i++)
			dom[n++] = xstrdup(cl->domains[i]);
	}
	for (size_t i = 0; a.len && i <= a.len; i++)
		if (i == a.len || a.p[i] == ',') {
			dom = xreallocarray(dom, n + 1, sizeof *dom);
			dom[n++] = xstrndup(a.p + start, i - start);
			start = i + 1;
		}
	if (n == 0) {
		atrn_refuse(s, dom, n, NULL, 450, "4.7.1", "ATRN request refused",
		    "not_an_odmr_client");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!atrn_granted(cl, dom[i])) {
			atrn_refuse(s, dom, n, dom[i], 450, "4.7.1", "ATRN request refused",
			    "not_authorized");
			return;
		}
	for (size_t i = 0; i < n; i++)
		if (!s->ctx->remote || remote_atrn_busy(s->ctx->remote, dom[i])) {
			atrn_refuse(s, dom, n, dom[i], 451, "4.3.0",
			    "Unable to process ATRN request now", "busy");
			return;
		}
	for (size_t i = 0; i < n; i++)
		waiting += queue_waiting_for(s->ctx->queue, dom[i]);
	if (waiting == 0) {
		atrn_refuse(s, dom, n, NULL, 453, "4.0.0", "You have no mail", "no_mail");
		return;
	}
	smtp_server_accept(s->smtp, NULL);
	s->atrn = dom;
	s->natrn = n;
	log_info("- smtp.atrn session=%lu user=%s domains=%zu recipients=%zu result=reversed",
	    s->id, s->auth_user, n, waiting);
}

/* A turned connection keeps its place in the connection limits until it
 * ends (remote delivery calls this). */
struct turned {
	struct session_ctx *ctx;
	struct sockaddr_storage peer;
};

static void
turned_end(void *arg)
{
	struct turned *t = arg;

	t->ctx->nturned--;
	if (t->ctx->on_close)
		t->ctx->on_close(t->ctx->on_close_arg, (struct sockaddr *)&t->peer);
	free(t);
}

/* After the 250 to ATRN: the connection goes to remote delivery, which waits
 * for the client's 220 and sends it the waiting mail; the session ends here.
 * Anything the client pipelined behind ATRN is dropped. */
static void
atrn_hand_over(struct session *s)
{
	struct bufferevent *bev = s->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct turned *t = xcalloc(1, sizeof *t);

	flush_output(s);
	evbuffer_drain(in, evbuffer_get_length(in));
	s->bev = NULL;
	t->ctx = s->ctx;
	t->peer = s->peer;
	s->ctx->nturned++;
	remote_atrn_start(s->ctx->remote, bev, s->tls, (const char *const *)s->atrn, s->natrn,
	    s->addr, turned_end, t);
	for (size_t i = 0; i < s->natrn; i++)
		queue_flush(s->ctx->queue, s->atrn[i]);
	session_free(s);
}

/* ---- STARTTLS (RFC 3207) ---- */

/* The 220 is queued: put a TLS filter over the socket. Whatever the client
 * sent after STARTTLS is dropped, never run (CVE-2011-0411). */
static void
start_tls(struct session *s)
{
	struct bufferevent *under = s->bev, *f;
	SSL *ssl = SSL_new(s->ctx->tls);

	flush_output(s);
	evbuffer_drain(bufferevent_get_input(under), evbuffer_get_length(bufferevent_get_input(under)));
	f = bufferevent_openssl_filter_new(s->ctx->base, under, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	s->bev = f;
	bufferevent_setcb(f, on_read, on_write, on_bev_event, s);
	bufferevent_setwatermark(f, EV_READ, 0, IN_HIGH);
	s->timeout_mode = -1;
	set_timeouts(s);
	bufferevent_enable(f, EV_READ | EV_WRITE);
}

static void
tls_established(struct session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	if (!ssl || s->tls)
		return;
	s->tls = true;
	tls_describe(ssl, s->tls_desc, sizeof s->tls_desc);
	log_info("- tls.established session=%lu client=%s %s", s->id, s->addr, s->tls_desc);
	if (!smtp_server_in_data(s->smtp))
		smtp_server_tls_started(s->smtp);
}

static void
on_event(struct session *s, const struct smtp_event *ev)
{
	switch (ev->type) {
	case SMTP_EV_MAIL:
		on_mail(s, ev);
		break;
	case SMTP_EV_RCPT:
		on_rcpt(s, ev);
		break;
	case SMTP_EV_DATA:
		on_data(s);
		break;
	case SMTP_EV_DATA_END:
		on_data_end(s, ev);
		break;
	case SMTP_EV_TX_RESET:
		tx_drop(s);
		break;
	case SMTP_EV_ETRN: {
		char dom[SMTP_DOMAIN_MAX + 2];
		struct span a = ev->arg;

		if (a.len && (a.p[0] == '@' || a.p[0] == '#'))
			a = span_make(a.p + 1, a.len - 1);
		snprintf(dom, sizeof dom, "%.*s", (int)a.len, a.p);
		log_info("- smtp.etrn session=%lu node=%s", s->id, dom);
		queue_flush(s->ctx->queue, dom);
		break;
	}
	case SMTP_EV_STARTTLS:
		start_tls(s);
		break;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_RESPONSE:
		on_auth(s, ev);
		break;
	case SMTP_EV_ATRN:
		on_atrn(s, ev);
		break;
	case SMTP_EV_QUIT:
	case SMTP_EV_NONE:
		break;
	}
}

/* ---- connection ---- */

static void
session_free(struct session *s)
{
	struct session_ctx *ctx = s->ctx;

	if (s->atrn)
		log_info("- smtp.turned session=%lu client=%s messages=%lu note=\"the connection "
			 "goes on for ATRN\"", s->id, s->addr, s->messages);
	else
		log_info("- smtp.disconnect session=%lu client=%s messages=%lu", s->id, s->addr,
		    s->messages);
	if (s->commit)
		s->commit->s = NULL;   /* the commit completes and queues without us */
	if (s->auth)
		s->auth->s = NULL;
	auth_end(s);
	free(s->auth_user);
	free_domains(s->atrn, s->natrn);
	if (s->auth_timer)
		event_free(s->auth_timer);
	tx_drop(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		ctx->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	ctx->nsessions--;
	if (ctx->on_close && !s->atrn)
		ctx->on_close(ctx->on_close_arg, (struct sockaddr *)&s->peer);
	if (s->data_timer)
		event_free(s->data_timer);
	if (s->linger)
		event_free(s->linger);
	if (s->bev)
		bufferevent_free(s->bev);
	smtp_server_free(s->smtp);
	free(s);
}

/* RFC 5321 4.5.3.2: command_timeout between commands, data_timeout between
 * content chunks and three times that for the whole DATA phase. libevent
 * restarts the read timer on every read, so they are set only on a change. */
static void
set_timeouts(struct session *s)
{
	const struct config *c = s->ctx->cfg;
	int data = smtp_server_in_data(s->smtp);
	struct timeval rd = { (time_t)(data ? c->limits.data_timeout : c->limits.command_timeout), 0 };
	struct timeval wr = { (time_t)c->limits.command_timeout, 0 };
	struct timeval all = { (time_t)(3 * c->limits.data_timeout), 0 };

	if (data == s->timeout_mode)
		return;
	s->timeout_mode = data;
	bufferevent_set_timeouts(s->bev, &rd, &wr);
	if (data)
		evtimer_add(s->data_timer, &all);
	else
		evtimer_del(s->data_timer);
}

static void
flush_output(struct session *s)
{
	struct buf *out = smtp_server_output(s->smtp);

	if (out->len) {
		bufferevent_write(s->bev, out->data, out->len);
		buf_clear(out);
	}
}

#define LINGER_TICK_MS 20
#define LINGER_MAX_TICKS 500          /* 10 s for the last reply to leave */

/* Output not yet handed to the kernel: with STARTTLS a filter sits over the
 * socket's bufferevent, and both must be empty. */
static bool
output_pending(struct session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);

	return evbuffer_get_length(bufferevent_get_output(s->bev)) > 0 ||
	    (under && evbuffer_get_length(bufferevent_get_output(under)) > 0);
}

static void
on_linger(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval tick = { 0, LINGER_TICK_MS * 1000 };

	if (!output_pending(s) || ++s->linger_ticks >= LINGER_MAX_TICKS) {
		session_free(s);
		return;
	}
	evtimer_add(s->linger, &tick);
}

/* The session is over: free it once its last reply has left. */
static void
close_when_flushed(struct session *s)
{
	bufferevent_disable(s->bev, EV_READ);
	if (!output_pending(s)) {
		session_free(s);
		return;
	}
	if (!evtimer_pending(s->linger, NULL))
		on_linger(-1, 0, s);
}

/* Run the core over buffered input until it blocks or input runs out. */
static void
process(struct session *s)
{
	struct evbuffer *in, *outb;

	/* libevent may run the read callback before BEV_EVENT_CONNECTED: a
	 * client's EHLO right behind its TLS Finished must find TLS on, not be
	 * discarded as input pipelined behind STARTTLS */
	if (!s->tls && bufferevent_openssl_get_ssl(s->bev) &&
	    SSL_is_init_finished(bufferevent_openssl_get_ssl(s->bev)))
		tls_established(s);
	while (!s->commit && !s->closing) {
		struct evbuffer_iovec v;
		struct smtp_event ev;
		size_t used = 0;
		bool got;

		/* refetched each time: STARTTLS replaces the bufferevent */
		in = bufferevent_get_input(s->bev);
		outb = bufferevent_get_output(s->bev);
		if (evbuffer_get_length(outb) > OUT_HIGH)
			break;   /* the write callback resumes */
		if (evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
			used = smtp_server_feed(s->smtp, v.iov_base, v.iov_len);
			evbuffer_drain(in, used);
		} else {
			used = smtp_server_feed(s->smtp, "", 0);
		}
		got = smtp_server_next(s->smtp, &ev);
		if (got)
			on_event(s, &ev);
		if (s->atrn) {
			atrn_hand_over(s);
			return;
		}
		flush_output(s);
		if (smtp_server_is_closing(s->smtp))
			s->closing = true;
		if (!got && used == 0)
			break;
	}
	/* half-closed and nothing left to wait for: done */
	if (s->eof && !s->closing && !s->commit && !s->auth && !evtimer_pending(s->auth_timer, NULL))
		s->closing = true;
	/* shutting down: a session between transactions or commands gets 421 */
	if (s->ctx->stopping && !s->closing && !s->commit && !smtp_server_in_data(s->smtp)) {
		smtp_server_shutdown(s->smtp);
		s->closing = true;
	}
	flush_output(s);
	in = bufferevent_get_input(s->bev);
	outb = bufferevent_get_output(s->bev);
	if (s->closing) {
		close_when_flushed(s);
		return;
	}
	set_timeouts(s);
	if (!s->commit && evbuffer_get_length(in) == 0)
		smtp_server_shrink(s->smtp);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	process(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closing)
		close_when_flushed(s);
	else
		process(s);
}

static void
on_bev_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		log_info("%s smtp.timeout session=%lu client=%s", qid(s), s->id, s->addr);
		smtp_server_timeout(s->smtp);
		s->closing = true;
		flush_output(s);
		bufferevent_enable(s->bev, EV_WRITE);
		close_when_flushed(s);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		tls_established(s);
		process(s);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && !s->tls && bufferevent_openssl_get_ssl(bev)) {
		unsigned long e = bufferevent_get_openssl_error(bev);
		char why[256] = "connection closed during the handshake";

		if (e)
			ERR_error_string_n(e, why, sizeof why);
		log_info("- tls.handshake_failed session=%lu client=%s error=\"%s\"", s->id, s->addr,
		    why);
		session_free(s);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !s->eof &&
	    (evbuffer_get_length(bufferevent_get_input(bev)) > 0 || s->commit || s->auth ||
		evtimer_pending(s->auth_timer, NULL))) {
		/* a client that pipelined everything and shut down its side still
		 * gets its commands run and its replies sent */
		s->eof = true;
		process(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (s->env)
			log_info("%s smtp.lost session=%lu client=%s reason=\"connection closed "
				 "during transaction\"",
			    qid(s), s->id, s->addr);
		session_free(s);
	}
}

static void
on_data_timer(evutil_socket_t fd, short what, void *arg)
{
	on_bev_event(((struct session *)arg)->bev, BEV_EVENT_TIMEOUT, arg);
}

/* The client address as 16 bytes (IPv4 mapped), for per-address limits. */
static void
addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	}
}

/* A local user on the UNIX socket: who, from the kernel (SO_PEERCRED). */
static void
format_local(int fd, char *out, size_t len)
{
	struct ucred cred;
	socklen_t cl = sizeof cred;
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		snprintf(out, len, "local uid=unknown");
		return;
	}
	getpwuid_r(cred.uid, &pw, pwbuf, sizeof pwbuf, &res);
	snprintf(out, len, "local uid=%u user=%.32s", (unsigned)cred.uid,
	    res ? res->pw_name : "unknown");
}

static void
format_peer(const struct sockaddr *sa, char *out, size_t len)
{
	const void *a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)len))
		snprintf(out, len, "unknown");
}

void
session_start(struct session_ctx *ctx, const struct config_listener *l, evutil_socket_t fd,
    const struct sockaddr *peer, int peerlen)
{
	struct session *s = xcalloc(1, sizeof *s);
	struct smtp_server_conf sc = {
		.hostname = ctx->cfg->server.hostname,
		.max_message_size = ctx->cfg->server.max_message_size,
		.max_recipients = ctx->cfg->server.max_recipients,
		.max_errors = ctx->cfg->limits.max_errors,
		.starttls = l->tls == CONFIG_TLS_STARTTLS && ctx->tls,
		.implicit_tls = l->tls == CONFIG_TLS_IMPLICIT && ctx->tls,
		.auth = l->auth != CONFIG_AUTH_NONE,
		.auth_required = l->auth == CONFIG_AUTH_REQUIRED,
	};

	s->ctx = ctx;
	s->id = ++ctx->next_id;
	s->listener = l;
	s->submission = l->auth != CONFIG_AUTH_NONE;
	memcpy(&s->peer, peer, (size_t)peerlen < sizeof s->peer ? (size_t)peerlen : sizeof s->peer);
	s->local = peer->sa_family == AF_UNIX;
	if (s->local)
		format_local(fd, s->addr, sizeof s->addr);
	else
		format_peer(peer, s->addr, sizeof s->addr);
	addr_key(peer, s->key);
	if (sc.implicit_tls) {
		s->bev = bufferevent_openssl_socket_new(ctx->base, fd, SSL_new(ctx->tls),
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	} else {
		s->bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	s->auth_timer = evtimer_new(ctx->base, on_auth_timer, s);
	s->smtp = smtp_server_new(&sc);
	s->data_timer = evtimer_new(ctx->base, on_data_timer, s);
	s->linger = evtimer_new(ctx->base, on_linger, s);
	s->timeout_mode = -1;
	bufferevent_setcb(s->bev, on_read, on_write, on_bev_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, IN_HIGH);
	s->next = ctx->sessions;
	if (ctx->sessions)
		ctx->sessions->prev = s;
	ctx->sessions = s;
	ctx->nsessions++;
	log_info("- smtp.connect session=%lu client=%s listener=%s", s->id, s->addr, l->name);
	flush_output(s);
	set_timeouts(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void
session_shutdown_idle(struct session_ctx *ctx)
{
	struct session *s = ctx->sessions, *next;

	for (; s; s = next) {
		next = s->next;
		if (!s->closing)
			process(s);   /* it sends 421 unless a message is in flight */
	}
}

void
session_close_all(struct session_ctx *ctx)
{
	while (ctx->sessions)
		session_free(ctx->sessions);
}
