/* remote.c - delivery to other MTAs for one domain at a time (see remote.h).
 * A job walks the route: the MX hosts in order (or the smarthost), each
 * host's addresses in order, until a server gives the message a verdict.
 * A connection failure, a refused greeting or EHLO moves on to the next
 * address (RFC 5321 5.1); once a server took part in the transaction, its
 * replies are the recipients' outcomes. STARTTLS is used when offered
 * (RFC 7435: the certificate is not checked); when the handshake fails the
 * same address is tried again at once without TLS, and that host is reached
 * in clear until the daemon restarts. A connection that ends a delivery in
 * good order is kept idle for a few seconds, and the next delivery to the
 * same domain sends its message over it (RFC 5321 3.3: several transactions
 * per session) instead of looking up and connecting again. */
#include "deliver/remote.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "smtp/smtp_client.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_ACTIVE 100           /* connections in total */
#define MAX_PER_DOMAIN 10        /* connections to one destination domain */
#define CONNECT_TIMEOUT 30       /* seconds for the TCP handshake */
#define CONTENT_CHUNK 65536
#define OUT_HIGH (256 * 1024)    /* stop reading content while this much waits */
#define NO_TLS_MAX 256           /* hosts remembered as failing STARTTLS */
#define IDLE_SECONDS 5           /* an unused connection is closed after this */
#define IDLE_MAX 50              /* idle connections kept in total */
#define IDLE_PER_DOMAIN MAX_PER_DOMAIN   /* as many as may run at once */
#define NULL_MX_MAX 256          /* domains remembered as publishing a null MX */
#define NULL_MX_TTL 3600         /* seconds they are remembered */
#define ATRN_GRACE 3             /* an ATRN connection with nothing to send ends */

struct job;

/* An ODMR client's connection after ATRN (RFC 2645): the jobs for its
 * domains take turns on it. */
struct atrn {
	struct atrn *next;
	struct remote *r;
	char **domains;
	size_t ndomains;
	char peer[96];
	struct bufferevent *bev;       /* NULL while a job has it */
	struct smtp_client *c;
	struct job *busy;              /* the job using the connection */
	struct job *queue, **tail;     /* jobs waiting for it, in order */
	struct event *grace;
	struct event *kick;            /* the next job's turn, from the loop */
	bool ready, quitting;
	unsigned long messages;
	void (*ended)(void *arg);
	void *ended_arg;
};

/* A connection at READY, waiting for the next message to its domain. */
struct idle {
	struct idle *next;
	struct remote *r;
	char domain[256], host[256], addrtext[INET6_ADDRSTRLEN + 8];
	struct bufferevent *bev;
	struct smtp_client *c;
	struct event *timer;
	bool quitting;
};

struct remote {
	struct event_base *base;
	const struct config *cfg;
	struct dns *dns;
	SSL_CTX *tls;
	unsigned active;
	struct job *waiting;           /* over a cap: started when a slot frees */
	struct job *running;
	char (*no_tls)[256];
	size_t nno_tls;
	struct idle *idle;
	unsigned nidle;
	struct atrn *atrn;
	struct event *kick;            /* starts waiting jobs from the loop */
	struct null_mx {
		char domain[256];
		int64_t until;
	} null_mx[NULL_MX_MAX];
	size_t nnull_mx;
};

struct job {
	struct job *next;
	struct remote *r;
	const struct spool_envelope *env;
	size_t *idx, n;
	char domain[256];
	int fd;
	off_t off;
	uint64_t len, sent;
	char *prepend;                 /* our Received header, sent before the content */
	struct remote_result *results;
	void (*done)(void *arg);
	void *arg;

	struct dns_mx mx[DNS_MX_MAX];
	size_t nmx, imx;
	struct sockaddr_storage addr[DNS_ADDR_MAX];
	size_t naddr, iaddr;
	uint16_t port;
	struct dns_query *q;

	struct bufferevent *bev;
	struct smtp_client *c;
	bool tls_refused;              /* this address: retry without STARTTLS */
	bool reused;                   /* on a connection an earlier delivery left idle */
	bool sent_msg, have_result, streaming;
	char host[256], addrtext[INET6_ADDRSTRLEN + 8];
	char why[512], why_esc[16];    /* the last failure, for recipients left undecided */
	bool why_perm;
	bool unsendable;               /* smtp_client_send refused it: we sent QUIT */
	struct atrn *atrn;             /* routed to an ODMR client's connection */
	struct job *atrn_next;         /* in atrn->queue */
};

static void try_mx(struct job *j);
static void try_addr(struct job *j);
static void drive(struct job *j);

/* ---- bookkeeping ---- */

static unsigned
domain_active(const struct remote *r, const char *domain)
{
	unsigned n = 0;

	for (const struct job *j = r->running; j; j = j->next)
		n += strcasecmp(j->domain, domain) == 0;
	return n;
}

static bool
tls_refused_before(const struct remote *r, const char *host)
{
	for (size_t i = 0; i < r->nno_tls; i++)
		if (strcasecmp(r->no_tls[i], host) == 0)
			return true;
	return false;
}

static void
remember_no_tls(struct remote *r, const char *host)
{
	if (tls_refused_before(r, host))
		return;
	if (r->nno_tls == NO_TLS_MAX)
		r->nno_tls = 0;     /* forget the oldest: they are retried with TLS */
	snprintf(r->no_tls[r->nno_tls++], 256, "%s", host);
}

static void
set_why(struct job *j, bool perm, const char *esc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_why(struct job *j, bool perm, const char *esc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof j->why, fmt, ap);
	va_end(ap);
	snprintf(j->why_esc, sizeof j->why_esc, "%s", esc);
	j->why_perm = perm;
}

static void atrn_lost(struct atrn *a, const char *why);

static void
drop_connection(struct job *j)
{
	struct atrn *a = j->atrn;
	bool carried = a && a->busy == j;   /* the ODMR client's connection ends here */

	if (a && !carried) {
		/* still waiting for its turn: leave the line */
		struct job **pp;

		for (pp = &a->queue; *pp && *pp != j; pp = &(*pp)->atrn_next)
			;
		if (*pp) {
			*pp = j->atrn_next;
			if (!*pp)
				a->tail = pp;
		}
	}
	j->atrn = NULL;
	if (carried)
		a->busy = NULL;
	if (j->bev)
		bufferevent_free(j->bev);
	j->bev = NULL;
	smtp_client_free(j->c);
	j->c = NULL;
	j->streaming = false;
	if (carried)
		atrn_lost(a, j->why[0] ? j->why : "connection lost");
}

static void start_job(struct job *j);

/* Every recipient without an outcome gets the last failure; report. */
static void
finish(struct job *j)
{
	struct remote *r = j->r;
	struct job **pp;

	if (j->q)
		dns_cancel(j->q);
	drop_connection(j);
	for (size_t i = 0; i < j->n; i++) {
		struct remote_result *res = &j->results[i];

		if (res->text[0])
			continue;
		res->status = j->why_perm ? DELIVER_PERMFAIL : DELIVER_TEMPFAIL;
		snprintf(res->esc, sizeof res->esc, "%s", j->why_esc);
		snprintf(res->text, sizeof res->text, "%s", j->why[0] ? j->why : "delivery failed");
	}
	for (pp = &r->running; *pp && *pp != j; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = j->next;
	r->active--;
	close(j->fd);
	j->done(j->arg);
	free(j->idx);
	free(j->prepend);
	free(j);
	/* a slot is free: what waited for it starts from the loop, never from
	 * here (a job may finish at once and would start the next one inside
	 * this call, as deep as the waiting list is long) */
	if (r->waiting && r->kick)
		event_active(r->kick, EV_TIMEOUT, 0);
}

#define KICK_BATCH 64            /* jobs started per turn of the loop */

static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct remote *r = arg;
	unsigned started = 0;
	struct job **pp = &r->waiting;

	while (*pp && started < KICK_BATCH) {
		struct job *w = *pp;

		if (r->active >= MAX_ACTIVE)
			break;
		if (domain_active(r, w->domain) >= MAX_PER_DOMAIN) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		started++;
		start_job(w);       /* may finish it at once, and change the list */
		pp = &r->waiting;
	}
	if (started == KICK_BATCH && r->waiting)
		event_active(r->kick, EV_TIMEOUT, 0);
}

/* ---- idle connections ---- */

static void
idle_free(struct idle *c)
{
	struct idle **pp;

	for (pp = &c->r->idle; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = c->next;
		c->r->nidle--;
	}
	event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);
	smtp_client_free(c->c);
	free(c);
}

/* Feed what an idle connection received (a 421, the 221 to our QUIT). */
static void
idle_read(struct bufferevent *bev, void *arg)
{
	struct idle *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct smtp_client_event ev;
	struct evbuffer_iovec v;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
		size_t used = smtp_client_feed(c->c, v.iov_base, v.iov_len);

		evbuffer_drain(in, used);
		if (used == 0)
			break;
	}
	while (smtp_client_next(c->c, &ev))
		if (ev.type == SMTP_CLIENT_EV_CLOSED || ev.type == SMTP_CLIENT_EV_ERROR) {
			idle_free(c);
			return;
		}
}

static void
idle_event(struct bufferevent *bev, short what, void *arg)
{
	idle_free(arg);
}

/* The idle time is over: QUIT, and close once it is answered (or soon). */
static void
idle_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct idle *c = arg;
	struct buf *out;
	struct timeval tv = { 10, 0 };

	if (c->quitting) {
		idle_free(c);
		return;
	}
	c->quitting = true;
	smtp_client_quit(c->c);
	out = smtp_client_output(c->c);
	bufferevent_write(c->bev, out->data, out->len);
	buf_clear(out);
	evtimer_add(c->timer, &tv);
}

/* Keep j's connection for the next message to its domain; false when the
 * cache is full (then the caller ends the session). */
static bool
idle_put(struct job *j)
{
	struct remote *r = j->r;
	struct idle *c;
	unsigned same = 0;
	struct timeval tv = { IDLE_SECONDS, 0 };

	for (c = r->idle; c; c = c->next)
		same += strcasecmp(c->domain, j->domain) == 0;
	if (r->nidle >= IDLE_MAX || same >= IDLE_PER_DOMAIN)
		return false;
	c = xcalloc(1, sizeof *c);
	c->r = r;
	snprintf(c->domain, sizeof c->domain, "%s", j->domain);
	snprintf(c->host, sizeof c->host, "%s", j->host);
	snprintf(c->addrtext, sizeof c->addrtext, "%s", j->addrtext);
	c->bev = j->bev;
	c->c = j->c;
	j->bev = NULL;
	j->c = NULL;
	c->timer = evtimer_new(r->base, idle_timeout, c);
	bufferevent_setcb(c->bev, idle_read, NULL, idle_event, c);
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	evtimer_add(c->timer, &tv);
	c->next = r->idle;
	r->idle = c;
	r->nidle++;
	return true;
}

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);
static void send_message(struct job *j);
static void atrn_put(struct job *j);
static bool atrn_route(struct job *j);

/* Give j an idle connection to its domain, if there is one. */
static bool
idle_take(struct job *j)
{
	struct remote *r = j->r;

	for (struct idle *c = r->idle; c; c = c->next) {
		if (c->quitting || strcasecmp(c->domain, j->domain) != 0)
			continue;
		j->bev = c->bev;
		j->c = c->c;
		snprintf(j->host, sizeof j->host, "%s", c->host);
		snprintf(j->addrtext, sizeof j->addrtext, "%s", c->addrtext);
		c->bev = NULL;
		c->c = NULL;
		idle_free(c);
		bufferevent_setcb(j->bev, on_read, on_write, on_event, j);
		log_info("%s remote.reuse mx=%s addr=%s", j->env->id, j->host, j->addrtext);
		j->reused = true;
		send_message(j);
		drive(j);
		return true;
	}
	return false;
}

/* ---- the SMTP conversation ---- */

/* Hand what the client session has to say to the connection. */
static void
send_output(struct bufferevent *bev, struct smtp_client *c)
{
	struct buf *out = smtp_client_output(c);

	if (out->len) {
		bufferevent_write(bev, out->data, out->len);
		buf_clear(out);
	}
}

static void
flush(struct job *j)
{
	send_output(j->bev, j->c);
}

static void
send_message(struct job *j)
{
	const struct spool_envelope *env = j->env;
	const char **rcpt = xcalloc(j->n, sizeof *rcpt), **orcpt = xcalloc(j->n, sizeof *orcpt);
	unsigned *notify = xcalloc(j->n, sizeof *notify);
	struct smtp_client_msg m = { 0 };

	for (size_t i = 0; i < j->n; i++) {
		const struct spool_rcpt *sr = &env->rcpts[j->idx[i]];

		rcpt[i] = sr->address;
		orcpt[i] = sr->orcpt;
		notify[i] = sr->notify;
	}
	m.sender = env->sender;
	m.nrcpt = j->n;
	m.rcpt = rcpt;
	m.notify = notify;
	m.orcpt = orcpt;
	m.envid = env->envid;
	m.ret = (enum smtp_ret)env->ret;
	m.size = j->len + (j->prepend ? strlen(j->prepend) : 0);
	m.eightbit = env->body == SMTP_BODY_8BITMIME;
	m.smtputf8 = env->smtputf8;
	if (smtp_client_send(j->c, &m) < 0) {
		set_why(j, true, "5.6.0", "message cannot be expressed in SMTP (bad address)");
		j->unsendable = true;
		smtp_client_quit(j->c);
	}
	j->sent_msg = true;
	free(rcpt);
	free(orcpt);
	free(notify);
}

/* Push content while the socket keeps up; content_end after the last byte. */
static void
stream_content(struct job *j)
{
	char buf[CONTENT_CHUNK];

	if (j->streaming && j->sent == 0 && j->prepend)
		smtp_client_content(j->c, j->prepend, strlen(j->prepend));
	while (j->streaming &&
	       evbuffer_get_length(bufferevent_get_output(j->bev)) < OUT_HIGH) {
		uint64_t left = j->len - j->sent;
		size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
		ssize_t got = want ? pread(j->fd, buf, want, j->off + (off_t)j->sent) : 0;

		if (want && got <= 0) {
			smtp_client_abort(j->c, "cannot read the queued message");
			j->streaming = false;
			break;
		}
		if (want) {
			smtp_client_content(j->c, buf, (size_t)got);
			j->sent += (uint64_t)got;
		} else {
			smtp_client_content_end(j->c);
			j->streaming = false;
		}
		flush(j);
	}
}

static void
take_result(struct job *j, const struct smtp_client_event *ev)
{
	bool dsn = smtp_client_extensions(j->c) & SMTP_EXT_DSN;

	for (size_t i = 0; i < ev->nrcpt && i < j->n; i++) {
		const struct smtp_outcome *o = &ev->rcpt[i];
		struct remote_result *res = &j->results[i];

		res->status = o->status == SMTP_STATUS_OK ? DELIVER_OK
		    : o->status == SMTP_STATUS_TEMPFAIL ? DELIVER_TEMPFAIL
							  : DELIVER_PERMFAIL;
		snprintf(res->esc, sizeof res->esc, "%s", o->esc);
		if (o->code)
			snprintf(res->text, sizeof res->text, "%d %s%s%s", o->code, o->esc,
			    o->esc[0] ? " " : "", o->text);
		else
			snprintf(res->text, sizeof res->text, "%s", o->text);
		snprintf(res->mx, sizeof res->mx, "%s", j->host);
		snprintf(res->addr, sizeof res->addr, "%s", j->addrtext);
		res->peer_dsn = dsn;
	}
	j->have_result = true;
}

static void start_tls(struct job *j);
static void remember_null_mx(struct remote *r, const char *domain);
static void on_mx(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n);
static bool use_smarthost(struct job *j);

/* Handle one client event; false when the job is over or moved on. */
static bool
on_client_event(struct job *j, const struct smtp_client_event *ev)
{
	switch (ev->type) {
	case SMTP_CLIENT_EV_READY:
		if (!j->sent_msg) {
			send_message(j);
		} else if (j->have_result && j->atrn) {
			atrn_put(j);
			finish(j);
			return false;
		} else if (j->have_result && idle_put(j)) {
			finish(j);
			return false;
		} else {
			smtp_client_quit(j->c);
		}
		return true;
	case SMTP_CLIENT_EV_STARTTLS:
		flush(j);
		start_tls(j);
		return true;
	case SMTP_CLIENT_EV_SEND_CONTENT:
		j->streaming = true;
		stream_content(j);
		return true;
	case SMTP_CLIENT_EV_RESULT:
		take_result(j, ev);
		return true;
	case SMTP_CLIENT_EV_CLOSED:
	case SMTP_CLIENT_EV_ERROR:
		if (j->have_result) {
			finish(j);
			return false;
		}
		if (j->unsendable) {
			/* we ended it ourselves over a message that cannot be sent */
			drop_connection(j);
			finish(j);
			return false;
		}
		if (j->atrn) {
			set_why(j, false, ev->why.esc[0] ? ev->why.esc : "4.4.2",
			    "the ODMR client %s ended the session: %s", j->host,
			    ev->why.text ? ev->why.text : "");
			finish(j);
			return false;
		}
		if (j->reused) {
			/* the server closed the idle connection meanwhile: a fresh route */
			drop_connection(j);
			j->reused = j->sent_msg = false;
			j->q = use_smarthost(j) ? NULL : dns_mx(j->r->dns, j->domain, on_mx, j);
			if (!j->q)
				try_mx(j);
			return false;
		}
		set_why(j, ev->why.status == SMTP_STATUS_PERMFAIL && !ev->next_mx, ev->why.esc,
		    "%s said: %s", j->host, ev->why.text ? ev->why.text : "");
		log_info("%s remote.failed mx=%s addr=%s reason=\"%s\"", j->env->id, j->host,
		    j->addrtext, j->why);
		drop_connection(j);
		if (ev->next_mx) {
			j->iaddr++;
			try_addr(j);
		} else {
			finish(j);
		}
		return false;
	case SMTP_CLIENT_EV_NONE:
		break;
	}
	return true;
}

/* Feed the client session what bev received until it has an event; false
 * when it has none and takes no more input. */
static bool
next_event(struct bufferevent *bev, struct smtp_client *c, struct smtp_client_event *ev)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_iovec v;
		size_t used = 0;

		if (evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
			used = smtp_client_feed(c, v.iov_base, v.iov_len);
			evbuffer_drain(in, used);
		}
		if (smtp_client_next(c, ev))
			return true;
		if (used == 0)
			return false;
	}
}

/* Feed what the server sent, take the client's events, send its output. */
static void
drive(struct job *j)
{
	struct smtp_client_event ev;

	while (next_event(j->bev, j->c, &ev)) {
		if (!on_client_event(j, &ev))
			return;
		flush(j);
	}
	flush(j);
	{
		struct timeval tv = { (time_t)smtp_client_timeout(j->c), 0 };

		if (tv.tv_sec)
			bufferevent_set_timeouts(j->bev, &tv, &tv);
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	drive(arg);
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct job *j = arg;

	if (j->streaming) {
		stream_content(j);
		drive(j);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct job *j = arg;

	if (what & BEV_EVENT_CONNECTED) {
		if (!j->c) {
			struct smtp_client_conf cc = { j->r->cfg->server.hostname,
				!j->tls_refused && !tls_refused_before(j->r, j->host), false };

			log_info("%s remote.connected mx=%s addr=%s", j->env->id, j->host, j->addrtext);
			j->c = smtp_client_new(&cc);
			drive(j);
		} else {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);

			log_info("%s remote.tls mx=%s %s %s", j->env->id, j->host,
			    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
			smtp_client_tls_started(j->c);
			drive(j);
		}
		return;
	}
	if (j->c && smtp_client_phase(j->c) == SMTP_CLIENT_PHASE_IDLE && !j->sent_msg &&
	    bufferevent_openssl_get_ssl(bev) && (what & BEV_EVENT_ERROR)) {
		/* the TLS handshake failed: this address again, in clear */
		log_info("%s remote.tls_failed mx=%s addr=%s (retrying without TLS)", j->env->id,
		    j->host, j->addrtext);
		remember_no_tls(j->r, j->host);
		drop_connection(j);
		j->tls_refused = true;
		try_addr(j);
		return;
	}
	if (!j->c) {
		set_why(j, false, "4.4.1", "connect to %s[%s] failed: %s", j->host, j->addrtext,
		    (what & BEV_EVENT_TIMEOUT) ? "timed out"
					       : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		log_info("%s remote.connect_failed mx=%s addr=%s reason=\"%s\"", j->env->id, j->host,
		    j->addrtext, j->why);
		drop_connection(j);
		j->iaddr++;
		try_addr(j);
		return;
	}
	smtp_client_abort(j->c, (what & BEV_EVENT_TIMEOUT) ? "timeout" : "connection lost");
	drive(j);
}

static void
start_tls(struct job *j)
{
	SSL *ssl = SSL_new(j->r->tls);
	struct bufferevent *f;

	SSL_set_tlsext_host_name(ssl, j->host);
	f = bufferevent_openssl_filter_new(j->r->base, j->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	j->bev = f;
	bufferevent_setcb(f, on_read, on_write, on_event, j);
	bufferevent_enable(f, EV_READ | EV_WRITE);
}

/* ---- the route ---- */

static void
try_addr(struct job *j)
{
	const struct sockaddr *sa;
	socklen_t len;
	struct timeval tv = { CONNECT_TIMEOUT, 0 };

	if (j->iaddr >= j->naddr) {
		j->imx++;
		try_mx(j);
		return;
	}
	sa = (const struct sockaddr *)&j->addr[j->iaddr];
	if (sa->sa_family == AF_INET6) {
		((struct sockaddr_in6 *)&j->addr[j->iaddr])->sin6_port = htons(j->port);
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&j->addr[j->iaddr])->sin6_addr,
		    j->addrtext, sizeof j->addrtext);
		len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&j->addr[j->iaddr])->sin_port = htons(j->port);
		inet_ntop(AF_INET, &((struct sockaddr_in *)&j->addr[j->iaddr])->sin_addr, j->addrtext,
		    sizeof j->addrtext);
		len = sizeof(struct sockaddr_in);
	}
	j->sent_msg = j->have_result = false;
	j->sent = 0;
	j->bev = bufferevent_socket_new(j->r->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(j->bev, on_read, on_write, on_event, j);
	bufferevent_set_timeouts(j->bev, &tv, &tv);
	bufferevent_enable(j->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(j->bev, sa, (int)len) < 0) {
		set_why(j, false, "4.4.1", "connect to %s[%s] failed", j->host, j->addrtext);
		drop_connection(j);
		j->iaddr++;
		try_addr(j);
	}
}

static void
on_addr(void *arg, enum dns_status st, const struct sockaddr_storage *addrs, size_t n)
{
	struct job *j = arg;

	j->q = NULL;
	if (st != DNS_OK || n == 0) {
		set_why(j, false, "4.4.3", "cannot find the address of %s: %s", j->host,
		    dns_status_str(st));
		j->imx++;
		try_mx(j);
		return;
	}
	j->naddr = n < DNS_ADDR_MAX ? n : DNS_ADDR_MAX;
	memcpy(j->addr, addrs, j->naddr * sizeof *addrs);
	j->iaddr = 0;
	j->tls_refused = false;
	try_addr(j);
}

static void
try_mx(struct job *j)
{
	if (j->imx >= j->nmx) {
		if (!j->why[0])
			set_why(j, false, "4.4.1", "no mail exchanger of %s could be reached",
			    j->domain);
		finish(j);
		return;
	}
	/* both are char[256], NUL-terminated by dns.c (memcpy: gcc -O3 misjudges
	 * the bound of an snprintf here) */
	memcpy(j->host, j->mx[j->imx].host, sizeof j->host);
	j->host[sizeof j->host - 1] = '\0';
	j->q = dns_addr(j->r->dns, j->host, on_addr, j);
}

static void
on_mx(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct job *j = arg;

	j->q = NULL;
	switch (st) {
	case DNS_OK:
		j->nmx = n < DNS_MX_MAX ? n : DNS_MX_MAX;
		memcpy(j->mx, mx, j->nmx * sizeof *mx);
		j->imx = 0;
		try_mx(j);
		return;
	case DNS_NULL_MX:
		set_why(j, true, "5.1.10", "%s does not accept mail (null MX, RFC 7505)", j->domain);
		remember_null_mx(j->r, j->domain);
		break;
	case DNS_NXDOMAIN:
		set_why(j, true, "5.1.2", "domain %s does not exist", j->domain);
		break;
	case DNS_NO_ADDRESS:
		set_why(j, true, "5.1.2", "domain %s has no mail exchanger and no address",
		    j->domain);
		break;
	case DNS_TEMPFAIL:
		set_why(j, false, "4.4.3", "DNS look-up of %s failed for now", j->domain);
		break;
	}
	finish(j);
}

/* Remember a null-MX domain for RCPT (a ring: the oldest goes first). */
static void
remember_null_mx(struct remote *r, const char *domain)
{
	size_t i = r->nnull_mx % NULL_MX_MAX;

	snprintf(r->null_mx[i].domain, sizeof r->null_mx[i].domain, "%s", domain);
	r->null_mx[i].until = (int64_t)time(NULL) + NULL_MX_TTL;
	r->nnull_mx++;
}

bool
remote_null_mx_known(const struct remote *r, const char *domain, int64_t now)
{
	size_t n = r->nnull_mx < NULL_MX_MAX ? r->nnull_mx : NULL_MX_MAX;

	for (size_t i = 0; i < n; i++)
		if (r->null_mx[i].until > now && strcasecmp(r->null_mx[i].domain, domain) == 0)
			return true;
	return false;
}

/* The smarthost ("host:port" or "[v6]:port") replaces the MX look-up. */
static bool
use_smarthost(struct job *j)
{
	const char *sh = j->r->cfg->relay.smarthost, *colon;
	size_t hl;

	if (!sh || !*sh)
		return false;
	colon = strrchr(sh, ':');
	hl = colon ? (size_t)(colon - sh) : strlen(sh);
	if (hl >= 2 && sh[0] == '[' && sh[hl - 1] == ']') {
		sh++;
		hl -= 2;
	}
	j->nmx = 1;
	snprintf(j->mx[0].host, sizeof j->mx[0].host, "%.*s", (int)hl, sh);
	j->port = colon ? (uint16_t)strtoul(colon + 1, NULL, 10) : 25;
	return true;
}

static void
start_job(struct job *j)
{
	struct remote *r = j->r;

	r->active++;
	j->next = r->running;
	r->running = j;
	j->port = r->cfg->delivery.remote_port;
	if (atrn_route(j))
		return;
	if (idle_take(j))
		return;
	if (use_smarthost(j)) {
		try_mx(j);
		return;
	}
	j->q = dns_mx(r->dns, j->domain, on_mx, j);
}

/* ---- ODMR: delivery over a client's connection after ATRN (RFC 2645) ---- */

static struct atrn *
atrn_for(const struct remote *r, const char *domain)
{
	for (struct atrn *a = r->atrn; a; a = a->next)
		for (size_t i = 0; !a->quitting && i < a->ndomains; i++)
			if (strcasecmp(a->domains[i], domain) == 0)
				return a;
	return NULL;
}

static void
atrn_flush(struct atrn *a)
{
	send_output(a->bev, a->c);
}

/* The connection is over (or never to be used again): the jobs waiting for
 * it fail for now; their mail waits for the next ATRN. No job has it. */
static void
atrn_lost(struct atrn *a, const char *why)
{
	struct remote *r = a->r;
	struct atrn **pp;

	for (pp = &r->atrn; *pp && *pp != a; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = a->next;
	log_info("- remote.atrn_end client=%s messages=%lu reason=\"%s\"", a->peer, a->messages,
	    why);
	while (a->queue) {
		struct job *j = a->queue;

		a->queue = j->atrn_next;
		j->atrn = NULL;
		set_why(j, false, "4.4.2", "the ODMR client's connection ended before this message");
		finish(j);
	}
	event_free(a->grace);
	event_free(a->kick);
	if (a->bev)
		bufferevent_free(a->bev);
	smtp_client_free(a->c);
	for (size_t i = 0; i < a->ndomains; i++)
		free(a->domains[i]);
	free(a->domains);
	if (a->ended)
		a->ended(a->ended_arg);
	free(a);
}

/* Give the connection to j, at READY: its message goes out now. */
static void
atrn_take(struct atrn *a, struct job *j)
{
	evtimer_del(a->grace);
	a->busy = j;
	j->bev = a->bev;
	j->c = a->c;
	a->bev = NULL;
	a->c = NULL;
	bufferevent_setcb(j->bev, on_read, on_write, on_event, j);
	log_info("%s remote.atrn client=%s", j->env->id, a->peer);
	send_message(j);
	drive(j);
}

/* The next waiting job, or a few seconds' grace before QUIT. */
static void
atrn_next(struct atrn *a)
{
	struct timeval tv = { ATRN_GRACE, 0 };
	struct job *j = a->queue;

	if (a->busy || !a->ready || a->quitting)
		return;
	if (!j) {
		evtimer_add(a->grace, &tv);
		return;
	}
	a->queue = j->atrn_next;
	if (!a->queue)
		a->tail = &a->queue;
	atrn_take(a, j);
}

static void atrn_read(struct bufferevent *bev, void *arg);
static void atrn_event(struct bufferevent *bev, short what, void *arg);

/* j's message is done and the session is at READY: back to the line. */
static void
atrn_put(struct job *j)
{
	struct atrn *a = j->atrn;

	a->bev = j->bev;
	a->c = j->c;
	j->bev = NULL;
	j->c = NULL;
	j->atrn = NULL;
	a->busy = NULL;
	a->messages++;
	bufferevent_setcb(a->bev, atrn_read, NULL, atrn_event, a);
	bufferevent_set_timeouts(a->bev, NULL, NULL);
	/* from the loop: a message refused before anything is sent comes back
	 * here at once, and the next would recurse */
	event_active(a->kick, EV_TIMEOUT, 0);
}

static void
atrn_kick(evutil_socket_t fd, short what, void *arg)
{
	atrn_next(arg);
}

/* start_job: a job for a domain an ATRN connection carries waits for it;
 * one for an [odmr] domain without one fails for now. */
static bool
atrn_route(struct job *j)
{
	struct remote *r = j->r;
	struct atrn *a = atrn_for(r, j->domain);

	if (!a) {
		if (!config_is_odmr_domain(r->cfg, j->domain, strlen(j->domain)))
			return false;
		set_why(j, false, "4.4.1", "waiting for the ODMR client of %s to connect and send ATRN",
		    j->domain);
		finish(j);
		return true;
	}
	j->atrn = a;
	snprintf(j->host, sizeof j->host, "%s", a->peer);
	snprintf(j->addrtext, sizeof j->addrtext, "%.*s", (int)sizeof j->addrtext - 1, a->peer);
	if (a->ready && !a->busy && !a->quitting) {
		atrn_take(a, j);
		return true;
	}
	j->atrn_next = NULL;
	*a->tail = j;
	a->tail = &j->atrn_next;
	return true;
}

static void
atrn_grace(evutil_socket_t fd, short what, void *arg)
{
	struct atrn *a = arg;
	struct timeval tv = { 10, 0 };

	if (a->quitting) {
		atrn_lost(a, "no reply to QUIT");
		return;
	}
	if (a->busy || a->queue)
		return;
	a->quitting = true;   /* new mail for its domains waits for the next ATRN */
	smtp_client_quit(a->c);
	atrn_flush(a);
	evtimer_add(a->grace, &tv);
}

/* The client's greeting and EHLO reply, or what it says while the
 * connection waits: drive the client session. */
static void
atrn_read(struct bufferevent *bev, void *arg)
{
	struct atrn *a = arg;
	struct smtp_client_event ev;

	while (next_event(bev, a->c, &ev)) {
		if (ev.type == SMTP_CLIENT_EV_READY) {
			atrn_flush(a);
			bufferevent_set_timeouts(a->bev, NULL, NULL);
			a->ready = true;
			atrn_next(a);
			return;
		}
		if (ev.type == SMTP_CLIENT_EV_CLOSED || ev.type == SMTP_CLIENT_EV_ERROR) {
			atrn_lost(a, a->quitting && ev.why.status == SMTP_STATUS_OK ? "done"
			    : ev.why.text                                          ? ev.why.text
										    : "closed");
			return;
		}
	}
	atrn_flush(a);
	{
		struct timeval tv = { (time_t)smtp_client_timeout(a->c), 0 };

		if (tv.tv_sec)
			bufferevent_set_timeouts(a->bev, &tv, &tv);
	}
}

static void
atrn_event(struct bufferevent *bev, short what, void *arg)
{
	atrn_lost(arg, (what & BEV_EVENT_TIMEOUT) ? "timeout" : "connection lost");
}

void
remote_atrn_start(struct remote *r, struct bufferevent *bev, bool tls,
    const char *const *domains, size_t n, const char *peer, void (*ended)(void *arg),
    void *arg)
{
	struct atrn *a = xcalloc(1, sizeof *a);
	struct smtp_client_conf cc = { r->cfg->server.hostname, false, tls };
	struct timeval tv = { SMTP_CLIENT_TIMEOUT_INITIAL, 0 };

	a->r = r;
	a->ended = ended;
	a->ended_arg = arg;
	a->domains = xcalloc(n, sizeof *a->domains);
	for (size_t i = 0; i < n; i++)
		a->domains[a->ndomains++] = xstrdup(domains[i]);
	snprintf(a->peer, sizeof a->peer, "%s", peer);
	a->bev = bev;
	a->c = smtp_client_new(&cc);
	a->tail = &a->queue;
	a->grace = evtimer_new(r->base, atrn_grace, a);
	a->kick = evtimer_new(r->base, atrn_kick, a);
	a->next = r->atrn;
	r->atrn = a;
	log_info("- remote.atrn_start client=%s domain=%s%s", a->peer, a->domains[0],
	    n > 1 ? " (and more)" : "");
	bufferevent_setcb(bev, atrn_read, NULL, atrn_event, a);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

bool
remote_atrn_busy(const struct remote *r, const char *domain)
{
	return atrn_for(r, domain) != NULL;
}

/* ---- public ---- */

void
remote_deliver(struct remote *r, const struct spool_envelope *env, const size_t *idx, size_t n,
    const char *domain, const char *prepend, int content_fd, off_t offset, uint64_t length,
    struct remote_result *results, void (*done)(void *arg), void *arg)
{
	struct job *j = xcalloc(1, sizeof *j);

	j->prepend = prepend ? xstrdup(prepend) : NULL;
	j->r = r;
	j->env = env;
	j->idx = xcalloc(n, sizeof *j->idx);
	memcpy(j->idx, idx, n * sizeof *idx);
	j->n = n;
	snprintf(j->domain, sizeof j->domain, "%s", domain);
	j->fd = content_fd;
	j->off = offset;
	j->len = length;
	j->results = results;
	memset(results, 0, n * sizeof *results);
	j->done = done;
	j->arg = arg;
	if (r->active >= MAX_ACTIVE || domain_active(r, domain) >= MAX_PER_DOMAIN) {
		j->next = r->waiting;
		r->waiting = j;
		return;
	}
	start_job(j);
}

static SSL_CTX *
client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);  /* opportunistic: RFC 7435 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

struct remote *
remote_new(struct event_base *base, const struct config *cfg, char *err, size_t errlen)
{
	struct remote *r = xcalloc(1, sizeof *r);

	r->base = base;
	r->kick = evtimer_new(base, on_kick, r);
	r->no_tls = xcalloc(NO_TLS_MAX, sizeof *r->no_tls);
	if (!(r->tls = client_ctx()) || remote_set_config(r, cfg, err, errlen) < 0) {
		if (!r->tls)
			snprintf(err, errlen, "cannot create the client TLS context");
		remote_free(r);
		return NULL;
	}
	return r;
}

int
remote_set_config(struct remote *r, const struct config *cfg, char *err, size_t errlen)
{
	struct dns *d = dns_new(r->base, cfg->dns.resolver, err, errlen);

	if (!d)
		return -1;
	/* queries in flight belong to jobs; keep the old resolver until they end */
	if (r->dns && r->active == 0) {
		dns_free(r->dns);
		r->dns = d;
	} else if (!r->dns) {
		r->dns = d;
	} else {
		dns_free(d);   /* busy: the next reload with an idle queue applies it */
	}
	r->cfg = cfg;
	return 0;
}

void
remote_free(struct remote *r)
{
	if (!r)
		return;
	for (struct job *j = r->running; j; j = j->next)
		if (!j->why[0])
			set_why(j, false, "4.3.2", "shutting down");
	while (r->running)
		finish(r->running);
	while (r->waiting) {
		struct job *j = r->waiting;

		r->waiting = j->next;
		r->active++;   /* finish() counts it down */
		j->next = r->running;
		r->running = j;
		set_why(j, false, "4.3.2", "shutting down");
		finish(j);
	}
	while (r->idle)
		idle_free(r->idle);
	while (r->atrn)
		atrn_lost(r->atrn, "shutting down");
	if (r->kick)
		event_free(r->kick);
	dns_free(r->dns);
	SSL_CTX_free(r->tls);
	free(r->no_tls);
	free(r);
}

unsigned
remote_active(const struct remote *r)
{
	return r->active;
}
