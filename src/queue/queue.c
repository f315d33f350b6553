/* queue.c - delivery scheduling (see queue.h).
 * One entry per message not yet final. An entry is either waiting (with a
 * timer for its earliest due recipient) or running (a worker owns its
 * envelope until the done callback): the loop thread never touches a
 * running entry's envelope.
 * Remote delivery arrives with issue 4; until then remote recipients stay
 * pending in the spool (logged once as deferred) and are kept across restarts. */
#include "queue/queue.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/workq.h"
#include "deliver/maildir.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

struct entry {
	struct entry *prev, *next;
	struct queue *q;
	struct spool_envelope *env;
	struct event *timer;
	bool running, remote_logged;
	/* copies of what the worker needs, taken when the attempt starts */
	char *maildir_pattern, *hostname;
	uint64_t retry_min, retry_max, lifetime;
	int64_t now;
	bool changed[];        /* per recipient: state changed in this attempt */
};

struct queue {
	struct event_base *base;
	struct workq *wq;
	struct spool *spool;
	const struct config *cfg;
	struct entry *head;
	size_t n;
	unsigned running;
};

static void start_attempt(struct entry *e);

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
free_entry(struct entry *e)
{
	event_free(e->timer);
	spool_envelope_free(e->env);
	free(e->maildir_pattern);
	free(e->hostname);
	free(e);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	start_attempt(arg);
}

/* The earliest due time of a pending local recipient; -1 when none. */
static int64_t
next_due(const struct spool_envelope *env)
{
	int64_t best = -1;

	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		if (r->state == SPOOL_RCPT_PENDING && r->local &&
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

/* Arm the timer for the next due recipient, or start now. */
static void
schedule(struct entry *e)
{
	int64_t due = next_due(e->env), now = now_s();
	struct timeval tv = { 0, 0 };

	if (!e->remote_logged) {
		for (size_t i = 0; i < e->env->nrcpts; i++) {
			const struct spool_rcpt *r = &e->env->rcpts[i];

			if (r->state == SPOOL_RCPT_PENDING && !r->local)
				log_info("%s queue.deferred to=<%s> reason=\"remote delivery is not "
					 "implemented yet; kept in the queue\"",
				    e->env->id, r->address);
		}
		e->remote_logged = true;
	}
	if (due < 0)
		return;
	if (due > now)
		tv.tv_sec = (time_t)(due - now);
	evtimer_add(e->timer, &tv);
}

/* ---- the attempt, on a worker ---- */

char *
queue_trace_headers(const struct spool_envelope *env, const struct spool_rcpt *r,
    const char *hostname, int64_t now)
{
	struct buf b;
	char date[64];
	time_t t = (time_t)now;
	struct tm tm;
	const char *addr = env->client_addr ? env->client_addr : "unknown";
	bool v6 = strchr(addr, ':') != NULL;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_init(&b, 1u << 20);
	buf_printf(&b, "Return-Path: <%s>\n", env->sender);
	buf_printf(&b, "Delivered-To: %s\n", r->address);
	buf_printf(&b, "Received: from %s ([%s%s])\n", env->helo ? env->helo : "unknown",
	    v6 ? "IPv6:" : "", addr);
	buf_printf(&b, "\tby %s (postino) with %s id %s\n", hostname,
	    env->protocol ? env->protocol : "ESMTP", env->id);
	buf_printf(&b, "\tfor <%s>; %s\n", r->orig ? r->orig : r->address, date);
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

static void
deliver_one(struct entry *e, struct spool_rcpt *r, int fd, off_t off, uint64_t len)
{
	char local[256], domain[256], path[4096], name[512], err[256];
	enum deliver_status st = DELIVER_PERMFAIL;
	char *hdr = NULL;

	r->attempts++;
	if (split_address(r->address, local, sizeof local, domain, sizeof domain) < 0 ||
	    maildir_path(e->maildir_pattern, local, domain, path, sizeof path) < 0) {
		snprintf(err, sizeof err, "unsafe or invalid mailbox name");
	} else {
		struct maildir_msg m = { path, NULL, fd, off, len, e->hostname };

		hdr = queue_trace_headers(e->env, r, e->hostname, e->now);
		m.prepend = hdr;
		st = maildir_deliver(&m, name, sizeof name, err, sizeof err);
	}
	free(r->last_reply);
	if (st == DELIVER_OK) {
		r->state = SPOOL_RCPT_DELIVERED;
		r->last_reply = xasprintf("delivered to maildir %s", path);
		log_info("%s deliver.local to=<%s> status=sent delay=%llds maildir=%s file=%s",
		    e->env->id, r->address, (long long)(e->now - e->env->received), path, name);
	} else if (st == DELIVER_TEMPFAIL && e->now - e->env->received < (int64_t)e->lifetime) {
		r->next_attempt = e->now + (int64_t)backoff(e, r->attempts);
		r->last_reply = xstrdup(err);
		log_warn("%s deliver.local to=<%s> status=deferred reason=\"%s\" attempts=%u "
			 "next_attempt_in=%llds",
		    e->env->id, r->address, err, r->attempts, (long long)(r->next_attempt - e->now));
	} else {
		r->state = SPOOL_RCPT_FAILED;
		r->last_reply = xstrdup(err);
		log_warn("%s deliver.local to=<%s> status=failed reason=\"%s\" (bounces arrive "
			 "with issue 4)",
		    e->env->id, r->address, err);
	}
	free(hdr);
}

static void
attempt_work(void *arg)
{
	struct entry *e = arg;
	struct spool_envelope *env = e->env;
	int fd = -1;
	off_t off;
	uint64_t len;

	if (spool_open_content(e->q->spool, env->id, &fd, &off, &len) < 0) {
		log_error("%s queue.read_failed error=\"%s\"", env->id, strerror(errno));
		return;  /* retried on the schedule: the next_attempt stays */
	}
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct spool_rcpt *r = &env->rcpts[i];

		e->changed[i] = false;
		if (r->state != SPOOL_RCPT_PENDING || !r->local || r->next_attempt > e->now)
			continue;
		deliver_one(e, r, fd, off, len);
		e->changed[i] = true;
	}
	close(fd);
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
attempt_done(void *arg)
{
	struct entry *e = arg;
	struct queue *q = e->q;

	e->running = false;
	q->running--;
	if (all_final(e->env)) {
		unlink_entry(e);
		free_entry(e);
		return;
	}
	/* a read failure leaves next_attempt unchanged: try again later */
	for (size_t i = 0; i < e->env->nrcpts; i++) {
		struct spool_rcpt *r = &e->env->rcpts[i];

		if (r->state == SPOOL_RCPT_PENDING && r->local && r->next_attempt <= e->now)
			r->next_attempt = e->now + (int64_t)backoff(e, r->attempts + 1);
	}
	schedule(e);
}

static void
start_attempt(struct entry *e)
{
	struct queue *q = e->q;

	if (e->running || next_due(e->env) < 0)
		return;
	free(e->maildir_pattern);
	free(e->hostname);
	e->maildir_pattern = xstrdup(q->cfg->mailboxes.maildir);
	e->hostname = xstrdup(q->cfg->server.hostname);
	e->retry_min = q->cfg->delivery.retry_min;
	e->retry_max = q->cfg->delivery.retry_max;
	e->lifetime = q->cfg->delivery.queue_lifetime;
	e->now = now_s();
	if (next_due(e->env) > e->now) {
		schedule(e);
		return;
	}
	e->running = true;
	q->running++;
	workq_add(q->wq, false, attempt_work, attempt_done, e);
}

/* ---- public ---- */

struct queue *
queue_new(struct event_base *base, struct workq *wq, struct spool *spool,
    const struct config *cfg)
{
	struct queue *q = xcalloc(1, sizeof *q);

	q->base = base;
	q->wq = wq;
	q->spool = spool;
	q->cfg = cfg;
	return q;
}

void
queue_free(struct queue *q)
{
	if (!q)
		return;
	/* running entries belong to their jobs: the caller drained the workq */
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
	e->timer = evtimer_new(q->base, on_timer, e);
	e->next = q->head;
	if (q->head)
		q->head->prev = e;
	q->head = e;
	q->n++;
	schedule(e);  /* a due recipient fires the timer at once */
}

void
queue_flush(struct queue *q, const char *domain)
{
	for (struct entry *e = q->head; e; e = e->next) {
		if (e->running)
			continue;
		for (size_t i = 0; i < e->env->nrcpts; i++) {
			struct spool_rcpt *r = &e->env->rcpts[i];
			const char *at = strrchr(r->address, '@');

			if (r->state == SPOOL_RCPT_PENDING &&
			    (!domain || (at && strcasecmp(at + 1, domain) == 0)))
				r->next_attempt = 0;
		}
		start_attempt(e);
	}
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
