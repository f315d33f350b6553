/* queue.c - delivery scheduling (see queue.h).
 * One entry per message not yet final. An entry is waiting (a timer for its
 * earliest due recipient) or running an attempt, in three phases:
 *   1. local recipients due: delivered into Maildirs on a worker;
 *   2. remote recipients due: one remote_deliver per domain, on the loop;
 *   3. on a worker: expiry, the delivery status notification if one is due
 *      (committed before the state that calls for it is persisted, so a crash
 *      repeats a report rather than losing it), then the recipients' states.
 *      A recipient gets at most one 'delayed' notice (warn_after): its
 *      delay_warned flag is persisted with its state, after the report.
 * While an attempt runs, only its phases touch the entry's envelope. */
#include "queue/queue.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "daemon/workq.h"
#include "deliver/maildir.h"
#include "deliver/remote.h"
#include "queue/bounce.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

struct entry {
	struct entry *prev, *next;
	struct queue *q;
	struct spool_envelope *env;
	struct event *timer;
	bool running;
	bool held;                    /* `postino queue hold`: no attempts until released */
	char *flush_domain;           /* flushed while running: "" all, else this domain */
	int64_t now;                  /* the attempt's time */
	/* copies of the configuration the workers need */
	char *maildir_pattern, *hostname, *postmaster;
	uint64_t retry_min, retry_max, lifetime, warn_after;
	/* phase 2 */
	unsigned groups;              /* remote deliveries in flight */
	struct remote_result *results;   /* per recipient */
	/* phase 3 */
	struct bounce_item *items;
	size_t nitems;
	char *report_to;
	bool report_to_local;
	const char *report_protocol;
	struct spool_envelope *report;   /* committed, for queue_add */
	bool changed[];               /* per recipient: state changed in this attempt */
};

struct group {
	struct entry *e;
	size_t *idx, n;
	struct remote_result *res;
};

struct queue {
	struct event_base *base;
	struct workq *wq;
	struct spool *spool;
	struct remote *remote;
	const struct config *cfg;
	struct entry *head;
	size_t n;
	unsigned running;
};

static void start_attempt(struct entry *e);
static void flush_entry(struct entry *e, const char *domain);
static void remote_phase(struct entry *e);

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
unlink_entry(struct entry *e)
{
	struct queue *q = e->q;

	if (e->prev)
		e->prev->next = e->next;
	else
		q->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	q->n--;
}

static void
clear_attempt(struct entry *e)
{
	free(e->maildir_pattern);
	free(e->hostname);
	free(e->postmaster);
	free(e->results);
	free(e->items);
	free(e->report_to);
	e->maildir_pattern = e->hostname = e->postmaster = e->report_to = NULL;
	e->results = NULL;
	e->items = NULL;
	e->nitems = 0;
	e->report = NULL;
}

static void
free_entry(struct entry *e)
{
	event_free(e->timer);
	spool_envelope_free(e->env);
	clear_attempt(e);
	free(e->flush_domain);
	free(e);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	start_attempt(arg);
}

static bool
is_due(const struct spool_rcpt *r, int64_t now, bool local)
{
	return r->state == SPOOL_RCPT_PENDING && r->local == local && r->next_attempt <= now;
}

/* The earliest due time of a pending recipient; -1 when none (remote ones
 * count only when there is a way to deliver them). */
static int64_t
next_due(const struct queue *q, const struct spool_envelope *env)
{
	int64_t best = -1;

	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		if (r->state == SPOOL_RCPT_PENDING && (r->local || q->remote) &&
		    (best < 0 || r->next_attempt < best))
			best = r->next_attempt;
	}
	return best;
}

static bool
all_final(const struct spool_envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == SPOOL_RCPT_PENDING)
			return false;
	return true;
}

/* Arm the timer for the next due recipient (at once when one is due). */
static void
schedule(struct entry *e)
{
	int64_t due = next_due(e->q, e->env), now = now_s();
	struct timeval tv = { 0, 0 };

	if (due < 0 || e->held)
		return;
	if (due > now)
		tv.tv_sec = (time_t)(due - now);
	evtimer_add(e->timer, &tv);
}

/* ---- trace header, addresses, retry delay ---- */

/* Append the Received field (RFC 5321 4.4) to b. */
static void
received(struct buf *b, const struct spool_envelope *env, const char *for_rcpt,
    const char *hostname, int64_t now)
{
	char date[64];
	time_t t = (time_t)now;
	struct tm tm;
	const char *addr = env->client_addr ? env->client_addr : "unknown";
	bool v6 = strchr(addr, ':') != NULL;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (strncmp(addr, "local", 5) == 0)   /* the local submission socket or maildrop */
		buf_printf(b, "Received: from localhost (%s)\n", addr);
	else
		buf_printf(b, "Received: from %s ([%s%s])\n", env->helo ? env->helo : "localhost",
		    v6 ? "IPv6:" : "", addr);
	buf_printf(b, "\tby %s (postino) with %s id %s", hostname,
	    env->protocol ? env->protocol : "ESMTP", env->id);
	if (for_rcpt)
		buf_printf(b, "\n\tfor <%s>", for_rcpt);
	buf_printf(b, "; %s\n", date);
}

char *
queue_trace_headers(const struct spool_envelope *env, const struct spool_rcpt *r,
    const char *hostname, int64_t now)
{
	struct buf b;

	buf_init(&b, 1u << 20);
	buf_printf(&b, "Return-Path: <%s>\n", env->sender);
	buf_printf(&b, "Delivered-To: %s\n", r->address);
	received(&b, env, r->orig ? r->orig : r->address, hostname, now);
	return b.data;
}

char *
queue_received_header(const struct spool_envelope *env, const char *for_rcpt,
    const char *hostname, int64_t now)
{
	struct buf b;

	buf_init(&b, 1u << 20);
	received(&b, env, for_rcpt, hostname, now);
	return b.data;
}

/* Split "local@domain" at the last '@' into bounded copies. */
static int
split_address(const char *a, char *local, size_t ll, char *domain, size_t dl)
{
	const char *at = strrchr(a, '@');
	int n;

	if (!at)
		return -1;
	n = snprintf(local, ll, "%.*s", (int)(at - a), a);
	if (n < 0 || (size_t)n >= ll)
		return -1;
	n = snprintf(domain, dl, "%s", at + 1);
	return (n < 0 || (size_t)n >= dl) ? -1 : 0;
}

/* The delay before attempt number n (1-based) is retried. */
static uint64_t
backoff(const struct entry *e, unsigned attempts)
{
	uint64_t d = e->retry_min ? e->retry_min : 1;

	for (unsigned i = 1; i < attempts && d < e->retry_max; i++)
		d *= 2;
	return d < e->retry_max ? d : e->retry_max;
}

/* Record an outcome for recipient i; log it. */
static void
outcome(struct entry *e, size_t i, enum deliver_status st, const char *text, const char *how,
    const char *detail)
{
	struct spool_rcpt *r = &e->env->rcpts[i];

	e->changed[i] = true;
	r->attempts++;
	free(r->last_reply);
	r->last_reply = xstrdup(text);
	if (st == DELIVER_OK) {
		r->state = SPOOL_RCPT_DELIVERED;
		log_info("%s deliver.%s to=<%s> status=sent delay=%llds %s reply=\"%s\"", e->env->id,
		    how, r->address, (long long)(e->now - e->env->received), detail, text);
	} else if (st == DELIVER_TEMPFAIL) {
		r->next_attempt = e->now + (int64_t)backoff(e, r->attempts);
		log_warn("%s deliver.%s to=<%s> status=deferred %s reply=\"%s\" attempts=%u "
			 "delay=%llds next_attempt_in=%llds",
		    e->env->id, how, r->address, detail, text, r->attempts,
		    (long long)(e->now - e->env->received), (long long)(r->next_attempt - e->now));
	} else {
		r->state = SPOOL_RCPT_FAILED;
		log_warn("%s deliver.%s to=<%s> status=bounced %s reply=\"%s\" delay=%llds",
		    e->env->id, how, r->address, detail, text, (long long)(e->now - e->env->received));
	}
}

/* ---- phase 1: local recipients, on a worker ---- */

static void
deliver_local(struct entry *e, size_t i, int fd, off_t off, uint64_t len)
{
	struct spool_rcpt *r = &e->env->rcpts[i];
	char local[256], domain[256], path[4096], name[512], err[256], text[4700];
	enum deliver_status st = DELIVER_PERMFAIL;
	char *hdr = NULL;

	snprintf(err, sizeof err, "unsafe or invalid mailbox name");
	if (split_address(r->address, local, sizeof local, domain, sizeof domain) == 0 &&
	    maildir_path(e->maildir_pattern, local, domain, path, sizeof path) == 0) {
		struct maildir_msg m = { path, NULL, fd, off, len, e->hostname };

		hdr = queue_trace_headers(e->env, r, e->hostname, e->now);
		m.prepend = hdr;
		st = maildir_deliver(&m, name, sizeof name, err, sizeof err);
	}
	snprintf(text, sizeof text, "maildir=%s%s%s", path, st == DELIVER_OK ? " file=" : "",
	    st == DELIVER_OK ? name : "");
	outcome(e, i, st, st == DELIVER_OK ? "delivered" : err, "local", text);
	if (st != DELIVER_OK) {
		e->results[i].status = st;
		snprintf(e->results[i].esc, sizeof e->results[i].esc, "%s",
		    st == DELIVER_TEMPFAIL ? "4.2.0" : "5.1.1");
		snprintf(e->results[i].text, sizeof e->results[i].text, "%s", err);
	}
	free(hdr);
}

static void
local_work(void *arg)
{
	struct entry *e = arg;
	int fd = -1;
	off_t off;
	uint64_t len;

	if (spool_open_content(e->q->spool, e->env->id, &fd, &off, &len) < 0) {
		log_error("%s queue.read_failed error=\"%s\"", e->env->id, strerror(errno));
		return;   /* the recipients stay due; retried below */
	}
	for (size_t i = 0; i < e->env->nrcpts; i++)
		if (is_due(&e->env->rcpts[i], e->now, true))
			deliver_local(e, i, fd, off, len);
	close(fd);
}

static void
local_done(void *arg)
{
	remote_phase(arg);
}

/* ---- phase 3: reports and persistence, on a worker ---- */

static void
finish_work(void *arg)
{
	struct entry *e = arg;
	struct spool_envelope *env = e->env;

	if (e->nitems) {
		e->report = bounce_commit(e->q->spool, env, e->items, e->nitems, e->report_to,
		    e->report_to_local, e->report_protocol, e->hostname, e->now);
		if (!e->report) {
			/* failed recipients wait to be reported by a later attempt */
			log_error("%s bounce.failed error=\"%s\"", env->id, strerror(errno));
			for (size_t k = 0; k < e->nitems; k++) {
				struct spool_rcpt *r = &env->rcpts[e->items[k].idx];

				if (e->items[k].action == DSN_FAILED) {
					r->state = SPOOL_RCPT_PENDING;
					r->next_attempt = e->now + (int64_t)backoff(e, 1);
				} else if (e->items[k].action == DSN_DELAYED) {
					r->delay_warned = false;   /* a later attempt warns */
				} else {
					log_warn("%s bounce.lost to=<%s> action=success", env->id,
					    r->address);
				}
			}
			e->nitems = 0;
		}
	}
	if (all_final(env)) {
		if (spool_remove(e->q->spool, env->id) < 0)
			log_error("%s spool.remove_failed error=\"%s\"", env->id, strerror(errno));
		else
			log_info("%s queue.done", env->id);
		return;
	}
	for (size_t i = 0; i < env->nrcpts; i++)
		if (e->changed[i] && spool_update_rcpt(e->q->spool, env, i) < 0)
			log_error("%s spool.update_failed rcpt=%zu error=\"%s\"", env->id, i,
			    strerror(errno));
}

static void
finish_done(void *arg)
{
	struct entry *e = arg;
	struct queue *q = e->q;

	e->running = false;
	q->running--;
	if (e->report) {
		log_info("%s bounce.queued for=%s to=<%s> items=%zu", e->report->id, e->env->id,
		    e->report_to, e->nitems);
		queue_add(q, e->report);
		e->report = NULL;
	}
	clear_attempt(e);
	if (all_final(e->env)) {
		unlink_entry(e);
		free_entry(e);
		return;
	}
	if (e->flush_domain) {
		/* a flush (ETRN, ATRN, `postino queue flush`) came during the
		 * attempt: it applies now */
		char *dom = e->flush_domain;

		e->flush_domain = NULL;
		flush_entry(e, dom[0] ? dom : NULL);
		free(dom);
		return;
	}
	schedule(e);
}

/* Whether recipient i, handled in this attempt, is due a report, and with
 * which action *a (RFC 3461 4.1). A recipient still pending past warn_after
 * is due one 'delayed' notice (SPEC), never for a message from <>. */
static bool
report_due(const struct entry *e, size_t i, enum dsn_action *a)
{
	const struct spool_envelope *env = e->env;
	const struct spool_rcpt *r = &env->rcpts[i];

	if (!e->changed[i])
		return false;
	if (r->state == SPOOL_RCPT_PENDING) {
		if (r->delay_warned || env->sender[0] == '\0' ||
		    e->now - env->received < (int64_t)e->warn_after)
			return false;
		*a = DSN_DELAYED;
	} else if (r->state == SPOOL_RCPT_FAILED) {
		*a = DSN_FAILED;
	} else if (!r->local && e->results[i].peer_dsn) {
		return false;   /* the next hop reports success itself */
	} else {
		*a = r->local ? DSN_DELIVERED : DSN_RELAYED;
	}
	return dsn_wanted(r->notify, *a);
}

/* The status a report gives: the reply's enhanced code when it fits the
 * action's class (a delay is 4.x.x, RFC 3464 2.3.4), else X.0.0. */
static const char *
report_status(const struct remote_result *res, enum dsn_action a)
{
	if (a == DSN_DELAYED)
		return res->esc[0] == '4' ? res->esc : "4.0.0";
	return res->esc[0] ? res->esc : a == DSN_FAILED ? "5.0.0" : "2.0.0";
}

/* Which recipients call for a report, and to whom (RFC 3461, SPEC). A
 * recipient due a 'delayed' notice is marked delay_warned here; finish_work
 * clears the mark again when the report cannot be written. */
static void
plan_report(struct entry *e)
{
	struct spool_envelope *env = e->env;
	const struct config *c = e->q->cfg;

	e->items = xcalloc(env->nrcpts, sizeof *e->items);
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];
		struct remote_result *res = &e->results[i];
		struct bounce_item *it = &e->items[e->nitems];
		enum dsn_action a;

		if (!report_due(e, i, &a))
			continue;
		it->idx = i;
		it->action = a;
		snprintf(it->status, sizeof it->status, "%s", report_status(res, a));
		snprintf(it->remote_mta, sizeof it->remote_mta, "%s", res->mx);
		snprintf(it->diagnostic, sizeof it->diagnostic, "%s",
		    res->text[0] ? res->text : r->last_reply ? r->last_reply : "");
		it->local_reason = res->mx[0] == '\0';
		if (a == DSN_DELAYED) {
			it->will_retry_until = env->received + (int64_t)e->lifetime;
			r->delay_warned = true;
		}
		e->nitems++;
	}
	if (!e->nitems)
		return;
	if (env->sender[0]) {
		const char *at = strrchr(env->sender, '@');

		e->report_to = xstrdup(env->sender);
		e->report_to_local = at && config_is_local_domain(c, at + 1, strlen(at + 1));
		e->report_protocol = BOUNCE_PROTOCOL;
	} else if (!env->protocol || strcmp(env->protocol, BOUNCE_PROTOCOL_POSTMASTER) != 0) {
		/* a message from <> never bounces; its failure goes to postmaster once */
		e->report_to = xstrdup(e->postmaster);
		e->report_to_local = true;
		e->report_protocol = BOUNCE_PROTOCOL_POSTMASTER;
	} else {
		log_warn("%s bounce.dropped reason=\"a report to postmaster failed\"", env->id);
		e->nitems = 0;
	}
}

/* Temporary failures past queue_lifetime become final. */
static void
expire(struct entry *e)
{
	for (size_t i = 0; i < e->env->nrcpts; i++) {
		struct spool_rcpt *r = &e->env->rcpts[i];

		if (!e->changed[i] || r->state != SPOOL_RCPT_PENDING ||
		    e->now - e->env->received < (int64_t)e->lifetime)
			continue;
		r->state = SPOOL_RCPT_FAILED;
		snprintf(e->results[i].esc, sizeof e->results[i].esc, "4.4.7");
		log_warn("%s queue.expired to=<%s> last_reply=\"%s\"", e->env->id, r->address,
		    r->last_reply ? r->last_reply : "");
	}
}

/* A due recipient this attempt could not try (its content could not be
 * read) waits like a temporary failure instead of being retried at once. */
static void
postpone_untried(struct entry *e)
{
	for (size_t i = 0; i < e->env->nrcpts; i++) {
		struct spool_rcpt *r = &e->env->rcpts[i];

		if (!e->changed[i] && r->state == SPOOL_RCPT_PENDING && r->next_attempt <= e->now &&
		    (r->local || e->q->remote)) {
			r->next_attempt = e->now + (int64_t)backoff(e, r->attempts + 1);
			e->changed[i] = true;
		}
	}
}

static void
finish_phase(struct entry *e)
{
	postpone_untried(e);
	expire(e);
	plan_report(e);
	workq_add(e->q->wq, false, finish_work, finish_done, e);
}

/* ---- phase 2: remote recipients, on the loop ---- */

static void
group_done(void *arg)
{
	struct group *g = arg;
	struct entry *e = g->e;

	for (size_t k = 0; k < g->n; k++) {
		size_t i = g->idx[k];
		char detail[400];

		e->results[i] = g->res[k];
		snprintf(detail, sizeof detail, "mx=%s addr=%s", g->res[k].mx[0] ? g->res[k].mx : "-",
		    g->res[k].addr[0] ? g->res[k].addr : "-");
		outcome(e, i, g->res[k].status, g->res[k].text, "remote", detail);
	}
	free(g->idx);
	free(g->res);
	free(g);
	if (--e->groups == 0)
		finish_phase(e);
}

/* One remote_deliver for the due recipients of each domain. */
static void
remote_phase(struct entry *e)
{
	struct spool_envelope *env = e->env;
	bool *taken = xcalloc(env->nrcpts, sizeof *taken);

	e->groups = 1;   /* held while groups start */
	for (size_t i = 0; e->q->remote && i < env->nrcpts; i++) {
		const char *dom, *at = strrchr(env->rcpts[i].address, '@');
		struct group *g;
		int fd;
		off_t off;
		uint64_t len;

		if (taken[i] || !is_due(&env->rcpts[i], e->now, false) || !at)
			continue;
		dom = at + 1;
		if (spool_open_content(e->q->spool, env->id, &fd, &off, &len) < 0) {
			log_error("%s queue.read_failed error=\"%s\"", env->id, strerror(errno));
			break;
		}
		g = xcalloc(1, sizeof *g);
		g->e = e;
		g->idx = xcalloc(env->nrcpts, sizeof *g->idx);
		for (size_t k = i; k < env->nrcpts; k++) {
			const char *a2 = strrchr(env->rcpts[k].address, '@');

			if (!taken[k] && is_due(&env->rcpts[k], e->now, false) && a2 &&
			    strcasecmp(a2 + 1, dom) == 0) {
				taken[k] = true;
				g->idx[g->n++] = k;
			}
		}
		g->res = xcalloc(g->n, sizeof *g->res);
		e->groups++;
		{
			char *rcv = queue_received_header(env,
			    g->n == 1 ? env->rcpts[g->idx[0]].address : NULL, e->hostname, e->now);

			remote_deliver(e->q->remote, env, g->idx, g->n, dom, rcv, fd, off, len,
			    g->res, group_done, g);
			free(rcv);
		}
	}
	free(taken);
	if (--e->groups == 0)
		finish_phase(e);
}

static void
start_attempt(struct entry *e)
{
	struct queue *q = e->q;
	const struct config *c = q->cfg;
	bool local = false;

	if (e->running || e->held || next_due(q, e->env) < 0)
		return;
	e->now = now_s();
	if (next_due(q, e->env) > e->now) {
		schedule(e);
		return;
	}
	clear_attempt(e);
	e->maildir_pattern = xstrdup(c->mailboxes.maildir);
	e->hostname = xstrdup(c->server.hostname);
	e->postmaster = xasprintf("postmaster@%s",
	    c->nlocal_domains ? c->local_domains[0] : c->server.hostname);
	e->retry_min = c->delivery.retry_min;
	e->retry_max = c->delivery.retry_max;
	e->lifetime = c->delivery.queue_lifetime;
	e->warn_after = c->delivery.warn_after;
	e->results = xcalloc(e->env->nrcpts, sizeof *e->results);
	memset(e->changed, 0, e->env->nrcpts * sizeof(bool));
	e->running = true;
	q->running++;
	for (size_t i = 0; i < e->env->nrcpts; i++)
		local |= is_due(&e->env->rcpts[i], e->now, true);
	if (local)
		workq_add(q->wq, false, local_work, local_done, e);
	else
		remote_phase(e);
}

/* ---- public ---- */

struct queue *
queue_new(struct event_base *base, struct workq *wq, struct spool *spool, struct remote *remote,
    const struct config *cfg)
{
	struct queue *q = xcalloc(1, sizeof *q);

	q->base = base;
	q->wq = wq;
	q->spool = spool;
	q->remote = remote;
	q->cfg = cfg;
	return q;
}

void
queue_free(struct queue *q)
{
	if (!q)
		return;
	/* the caller drained the workers and the remote deliveries first */
	while (q->head) {
		struct entry *e = q->head;

		unlink_entry(e);
		free_entry(e);
	}
	free(q);
}

void
queue_set_config(struct queue *q, const struct config *cfg)
{
	q->cfg = cfg;
}

void
queue_add(struct queue *q, struct spool_envelope *env)
{
	struct entry *e = xcalloc(1, sizeof *e + env->nrcpts * sizeof(bool));

	e->q = q;
	e->env = env;
	e->held = spool_is_held(q->spool, env->id);
	e->timer = evtimer_new(q->base, on_timer, e);
	e->next = q->head;
	if (q->head)
		q->head->prev = e;
	q->head = e;
	q->n++;
	if (!q->remote)
		for (size_t i = 0; i < env->nrcpts; i++)
			if (env->rcpts[i].state == SPOOL_RCPT_PENDING && !env->rcpts[i].local)
				log_info("%s queue.deferred to=<%s> reason=\"no remote delivery "
					 "configured\"",
				    env->id, env->rcpts[i].address);
	schedule(e);  /* a due recipient fires the timer at once */
}

/* Make e's waiting recipients for domain (NULL: all) due, and start. */
static void
flush_entry(struct entry *e, const char *domain)
{
	for (size_t i = 0; i < e->env->nrcpts; i++) {
		struct spool_rcpt *r = &e->env->rcpts[i];
		const char *at = strrchr(r->address, '@');

		if (r->state == SPOOL_RCPT_PENDING &&
		    (!domain || (at && strcasecmp(at + 1, domain) == 0)))
			r->next_attempt = 0;
	}
	start_attempt(e);
}

void
queue_flush(struct queue *q, const char *domain)
{
	for (struct entry *e = q->head; e; e = e->next) {
		if (e->running) {
			/* once this attempt ends; two different flushes: all */
			if (!e->flush_domain)
				e->flush_domain = xstrdup(domain ? domain : "");
			else if (!domain || strcasecmp(e->flush_domain, domain) != 0)
				e->flush_domain[0] = '\0';
			continue;
		}
		flush_entry(e, domain);
	}
}

size_t
queue_waiting_for(const struct queue *q, const char *domain)
{
	size_t n = 0;

	for (const struct entry *e = q->head; e; e = e->next) {
		if (e->held)
			continue;
		for (size_t i = 0; i < e->env->nrcpts; i++) {
			const struct spool_rcpt *r = &e->env->rcpts[i];
			const char *at = strrchr(r->address, '@');

			n += r->state == SPOOL_RCPT_PENDING && at && strcasecmp(at + 1, domain) == 0;
		}
	}
	return n;
}

static struct entry *
find(const struct queue *q, const char *id)
{
	for (struct entry *e = q->head; e; e = e->next)
		if (strcmp(e->env->id, id) == 0)
			return e;
	return NULL;
}

void
queue_foreach(const struct queue *q,
    void (*cb)(void *arg, const struct spool_envelope *env, bool held, bool running), void *arg)
{
	for (const struct entry *e = q->head; e; e = e->next)
		cb(arg, e->env, e->held, e->running);
}

const struct spool_envelope *
queue_find(const struct queue *q, const char *id, bool *held, bool *running)
{
	struct entry *e = find(q, id);

	if (!e)
		return NULL;
	*held = e->held;
	*running = e->running;
	return e->env;
}

int
queue_hold(struct queue *q, const char *id, bool held)
{
	struct entry *e = find(q, id);

	if (!e) {
		errno = ENOENT;
		return -1;
	}
	if (spool_set_held(q->spool, id, held) < 0)
		return -1;
	e->held = held;
	log_info("%s queue.%s", id, held ? "held" : "released");
	if (held) {
		evtimer_del(e->timer);
		return 0;
	}
	for (size_t i = 0; i < e->env->nrcpts; i++)
		if (e->env->rcpts[i].state == SPOOL_RCPT_PENDING)
			e->env->rcpts[i].next_attempt = 0;
	schedule(e);
	return 0;
}

int
queue_delete(struct queue *q, const char *id)
{
	struct entry *e = find(q, id);

	if (!e) {
		errno = ENOENT;
		return -1;
	}
	if (e->running) {
		errno = EBUSY;
		return -1;
	}
	if (spool_remove(q->spool, id) < 0)
		return -1;
	log_info("%s queue.deleted nrcpt=%zu", id, e->env->nrcpts);
	unlink_entry(e);
	free_entry(e);
	return 0;
}

size_t
queue_size(const struct queue *q)
{
	return q->n;
}

unsigned
queue_running(const struct queue *q)
{
	return q->running;
}
