/* bounce.c - queue a delivery status notification (see bounce.h). */
#include "queue/bounce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

static int
emit(void *arg, const char *p, size_t n)
{
	return spool_writer_write(arg, p, n);
}

/* The envelope of the report: from <>, one recipient. */
static struct spool_envelope *
report_envelope(const struct spool_envelope *env, const char *id, const char *to, bool to_local,
    const char *protocol, int64_t now)
{
	struct spool_envelope *b = xcalloc(1, sizeof *b);

	memcpy(b->id, id, SPOOL_ID_LEN + 1);
	b->sender = xstrdup("");
	b->nrcpts = 1;
	b->rcpts = xcalloc(1, sizeof *b->rcpts);
	b->rcpts[0].address = xstrdup(to);
	b->rcpts[0].orig = xstrdup(to);
	b->rcpts[0].local = to_local;
	b->rcpts[0].state = SPOOL_RCPT_PENDING;
	b->ret = 0;
	b->body = env->body;          /* the returned original may be 8-bit */
	b->smtputf8 = env->smtputf8;
	b->client_addr = xstrdup("127.0.0.1");
	b->protocol = xstrdup(protocol);
	b->received = now;
	return b;
}

struct spool_envelope *
bounce_commit(struct spool *spool, const struct spool_envelope *env,
    const struct bounce_item *items, size_t n, const char *to, bool to_local,
    const char *protocol, const char *hostname, int64_t now)
{
	struct dsn_rcpt *r = xcalloc(n, sizeof *r);
	struct dsn_report rep = { 0 };
	struct spool_writer *w = NULL;
	struct spool_envelope *b = NULL;
	char id[SPOOL_ID_LEN + 1];
	int fd = -1, rc, saved;
	off_t off = 0;
	uint64_t len = 0;

	for (size_t i = 0; i < n; i++) {
		const struct spool_rcpt *sr = &env->rcpts[items[i].idx];

		r[i].final_rcpt = sr->address;
		r[i].orcpt = sr->orcpt;
		r[i].action = items[i].action;
		r[i].status = items[i].status;
		r[i].remote_mta = items[i].remote_mta[0] ? items[i].remote_mta : NULL;
		r[i].diagnostic = items[i].diagnostic[0] ? items[i].diagnostic : NULL;
		r[i].diagnostic_local = items[i].local_reason;
		r[i].last_attempt = now;
		r[i].will_retry_until = items[i].will_retry_until;
	}
	rep.reporting_mta = hostname;
	rep.to = to;
	rep.envid = env->envid;
	rep.received_from_mta = env->helo;
	rep.arrival = env->received;
	rep.ret = (enum smtp_ret)env->ret;
	rep.queue_id = env->id;
	if (spool_open_content(spool, env->id, &fd, &off, &len) < 0)
		fd = -1;   /* the report goes without the original */
	if (!(w = spool_writer_new(spool, id)))
		goto out;
	rc = dsn_write(&rep, r, n, fd, off, fd < 0 ? 0 : len, now, emit, w);
	if (rc < 0) {
		saved = errno;
		spool_writer_abort(w);
		errno = saved;
		goto out;
	}
	b = report_envelope(env, id, to, to_local, protocol, now);
	if (spool_writer_commit(w, b) < 0) {
		saved = errno;
		spool_envelope_free(b);
		b = NULL;
		errno = saved;
	}
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(r);
	errno = saved;
	return b;
}
