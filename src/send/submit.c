/* submit.c - handing a message to the running daemon (see submit.h).
 * Owns: the socket I/O around smtp_client: flush its output, read with the
 * timeout of its phase, feed the replies, act on its events; the batches of
 * recipients; the -v trace; the -bs relay.
 * Leaves: the protocol (smtp_client), exit statuses (send.c).
 * Invariant: output is written before any read, so a reply is never awaited
 * for a command still in our buffer; every recipient gets exactly one
 * outcome once the session was ready, even when it breaks off. */
#include "send/submit.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "smtp/address.h"
#include "smtp/smtp_client.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define SUBMIT_HELO "localhost"
#define SUBMIT_CHUNK 65536          /* content handed to the client at a time */
#define SUBMIT_TRACE_LINE 4096      /* a reply line shown by -v */
#define SUBMIT_RELAY_LINGER 10      /* -bs: seconds of quiet after stdin's EOF before
                                       the daemon is told (half-close) */

/* One session: the client, where the batches are, how it ended. */
struct session {
	const struct submit_msg *m;
	struct smtp_client *c;
	int fd;
	size_t next;              /* first recipient not yet given to the client */
	size_t cur;               /* first recipient of the transaction under way */
	bool ready_seen, over, quiet;
	enum submit_end end;
	char *why;
	size_t whylen;
	struct buf trace;         /* a reply line not yet complete (-v) */
};

int
submit_connect(const char *spool_dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s/%s", spool_dir, SUBMIT_SOCKET);
	int fd, saved;

	if (n < 0 || (size_t)n >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* non-blocking: a daemon whose backlog is full gives EAGAIN at once
	 * (AF_UNIX never answers EINPROGRESS) instead of hanging us */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Wait until fd is ready for `events`; 0, or -1 with errno (ETIMEDOUT). */
static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pf = { .fd = fd, .events = events };
	int r;

	while ((r = poll(&pf, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* Write all of p to fd (blocking or not), each wait bounded by timeout_ms. */
static int
write_all(int fd, const char *p, size_t n, int timeout_ms)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, timeout_ms) < 0)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* -v: each line of p (CRLF removed) after prefix. */
static void
trace_lines(const char *prefix, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n, shown = k;

		if (shown > 0 && p[shown - 1] == '\r')
			shown--;
		fprintf(stderr, "%s%.*s\n", prefix, (int)shown, p);
		k += nl ? 1 : 0;
		p += k;
		n -= k;
	}
}

/* -v: replies as they arrive, one whole line at a time. */
static void
trace_in(struct session *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' || buf_append(&s->trace, p + i, 1) < 0) {
			trace_lines("<<< ", s->trace.data ? s->trace.data : "", s->trace.len);
			buf_clear(&s->trace);
		}
	}
}

/* Send what the client has for the daemon. */
static int
flush(struct session *s)
{
	struct buf *out = smtp_client_output(s->c);
	int rc;

	if (out->len == 0)
		return 0;
	if (s->m->verbose && !s->quiet)
		trace_lines(">>> ", out->data, out->len);
	rc = write_all(s->fd, out->data, out->len, SMTP_CLIENT_TIMEOUT_BLOCK * 1000);
	buf_consume(out, out->len);
	return rc;
}

static void
set_why(struct session *s, const char *text)
{
	snprintf(s->why, s->whylen, "%s", text);
}

/* Give the client the next transaction: up to m->batch recipients. 0, or
 * -1 when it refused to format them (validated addresses never are): they
 * failed for good, and READY still holds. */
static int
give_batch(struct session *s)
{
	const struct submit_msg *m = s->m;
	size_t n = m->nrcpt - s->next < m->batch ? m->nrcpt - s->next : m->batch;
	unsigned *notify = m->notify ? xcalloc(n, sizeof *notify) : NULL;
	struct smtp_client_msg msg = {
		.sender = m->sender, .nrcpt = n, .rcpt = m->rcpt + s->next, .notify = notify,
		.size = m->size, .eightbit = m->eightbit,
	};
	struct smtp_outcome bad;
	int rc;

	for (size_t i = 0; notify && i < n; i++)
		notify[i] = m->notify;
	s->cur = s->next;
	s->next += n;
	rc = smtp_client_send(s->c, &msg);
	free(notify);
	if (rc < 0) {
		bad = smtp_outcome_make(SMTP_STATUS_PERMFAIL, "5.1.3", "address cannot be sent");
		for (size_t i = 0; i < n; i++)
			m->result(m->arg, s->cur + i, &bad);
	}
	return rc;
}

/* READY: the next batch, or QUIT when every recipient was given. */
static void
on_ready(struct session *s)
{
	s->ready_seen = true;
	while (s->next < s->m->nrcpt)
		if (give_batch(s) == 0)
			return;
	smtp_client_quit(s->c);
}

/* SEND_CONTENT: the message in chunks, flushed as it goes (bounded memory). */
static void
send_content(struct session *s)
{
	struct span parts[2] = { s->m->head, s->m->body };
	char msg[64];

	s->quiet = true;
	for (size_t k = 0; k < 2; k++)
		for (size_t off = 0; off < parts[k].len; off += SUBMIT_CHUNK) {
			size_t left = parts[k].len - off;
			size_t n = left < SUBMIT_CHUNK ? left : SUBMIT_CHUNK;

			if (smtp_client_content(s->c, parts[k].p + off, n) < 0 || flush(s) < 0)
				goto lost;
		}
	if (smtp_client_content_end(s->c) < 0 || flush(s) < 0)
		goto lost;
	s->quiet = false;
	if (s->m->verbose) {
		snprintf(msg, sizeof msg, "(%llu octets of content)",
		    (unsigned long long)s->m->size);
		trace_lines(">>> ", msg, strlen(msg));
		trace_lines(">>> ", ".", 1);
	}
	return;
lost:
	s->quiet = false;
	smtp_client_abort(s->c, strerror(errno));
}

/* The session is over: recipients never given to the client are decided
 * with the reason it ended. */
static void
on_end(struct session *s, const struct smtp_client_event *ev)
{
	struct smtp_outcome v = ev->why;

	s->over = true;
	if (!s->ready_seen) {
		s->end = SUBMIT_NOT_READY;
		set_why(s, ev->why.text ? ev->why.text : "session refused");
		return;
	}
	if (v.status == SMTP_STATUS_OK)
		v.status = SMTP_STATUS_TEMPFAIL;   /* QUIT came before all were sent */
	for (; s->next < s->m->nrcpt; s->next++)
		s->m->result(s->m->arg, s->next, &v);
}

static void
on_event(struct session *s, const struct smtp_client_event *ev)
{
	switch (ev->type) {
	case SMTP_CLIENT_EV_READY:
		on_ready(s);
		break;
	case SMTP_CLIENT_EV_STARTTLS:
		smtp_client_abort(s->c, "STARTTLS on a local socket");   /* not allowed by conf */
		break;
	case SMTP_CLIENT_EV_SEND_CONTENT:
		send_content(s);
		break;
	case SMTP_CLIENT_EV_RESULT:
		for (size_t i = 0; i < ev->nrcpt; i++)
			s->m->result(s->m->arg, s->cur + i, &ev->rcpt[i]);
		break;
	case SMTP_CLIENT_EV_CLOSED:
	case SMTP_CLIENT_EV_ERROR:
		on_end(s, ev);
		break;
	case SMTP_CLIENT_EV_NONE:
		break;
	}
}

static void
drain(struct session *s)
{
	struct smtp_client_event ev;

	while (smtp_client_next(s->c, &ev))
		on_event(s, &ev);
}

/* Read the daemon's next bytes (within the phase's timeout) and feed them. */
static void
read_replies(struct session *s)
{
	char b[16384];
	unsigned t = smtp_client_timeout(s->c);
	ssize_t n;
	size_t off = 0;

	if (wait_fd(s->fd, POLLIN, (int)(t ? t : SMTP_CLIENT_TIMEOUT_MAIL) * 1000) < 0) {
		smtp_client_abort(s->c, errno == ETIMEDOUT ? "timeout" : strerror(errno));
		return;
	}
	n = read(s->fd, b, sizeof b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		smtp_client_abort(s->c, n == 0 ? "connection lost" : strerror(errno));
		return;
	}
	if (s->m->verbose)
		trace_in(s, b, (size_t)n);
	while (off < (size_t)n && !s->over) {
		size_t used = smtp_client_feed(s->c, b + off, (size_t)n - off);
		struct smtp_client_event ev;

		off += used;
		if (!smtp_client_next(s->c, &ev)) {
			if (used == 0)
				break;   /* closed: nothing more is taken */
			continue;
		}
		on_event(s, &ev);
		drain(s);
		if (flush(s) < 0)
			smtp_client_abort(s->c, strerror(errno));
	}
}

enum submit_end
submit_session(int fd, const struct submit_msg *m, char *why, size_t whylen)
{
	struct smtp_client_conf conf = { .helo_name = SUBMIT_HELO };
	struct session s = { .m = m, .fd = fd, .end = SUBMIT_DONE, .why = why, .whylen = whylen };

	if (whylen > 0)
		why[0] = '\0';
	buf_init(&s.trace, SUBMIT_TRACE_LINE);
	s.c = smtp_client_new(&conf);
	while (!s.over) {
		drain(&s);
		if (s.over)
			break;
		if (flush(&s) < 0) {
			smtp_client_abort(s.c, strerror(errno));
			continue;
		}
		read_replies(&s);
	}
	smtp_client_free(s.c);
	buf_reset(&s.trace);
	return s.end;
}

/* -bs: move one read's worth of bytes. 1 moved, 0 at EOF, -1 on an error
 * (errno; EPIPE when the other side no longer reads). */
static int
relay_once(int from, int to, int timeout_ms)
{
	char b[16384];
	ssize_t n = read(from, b, sizeof b);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	return write_all(to, b, (size_t)n, timeout_ms) == 0 ? 1 : -1;
}

int
submit_relay(int fd, int in, int out)
{
	struct pollfd pf[2];
	bool in_open = true, half_closed = false;
	int r, wait_ms, block_ms = SMTP_CLIENT_TIMEOUT_BLOCK * 1000;

	for (;;) {
		pf[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = in_open ? in : -1, .events = POLLIN };
		/* While the user's side is open, the daemon's own timeouts bound
		 * the session. After its EOF the replies to what it sent last
		 * (a whole pipelined session, say) are still due: the socket is
		 * half-closed only once the daemon has been quiet for a while,
		 * then its close is awaited. */
		wait_ms = in_open ? -1
		    : half_closed ? SMTP_CLIENT_TIMEOUT_MAIL * 1000
				  : SUBMIT_RELAY_LINGER * 1000;
		r = poll(pf, 2, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 && !half_closed) {
			half_closed = true;
			(void)shutdown(fd, SHUT_WR);
			continue;
		}
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (pf[0].revents && (r = relay_once(fd, out, block_ms)) <= 0)
			return r == 0 || errno == ECONNRESET ? 0 : -1;   /* the daemon closed */
		if (in_open && pf[1].revents && relay_once(in, fd, block_ms) <= 0)
			in_open = false;   /* the user is done, or the daemon no longer reads */
	}
}
