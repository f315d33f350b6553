/* control.c - queue inspection and control for administrators (see control.h).
 * Owns: the control socket and the text of its replies. Leaves: what the
 * operations do to the queue (queue/) and the files (spool/). */
#include "daemon/control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"
#include "spool/spool.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define REQUEST_MAX 4096
#define SHOW_CONTENT_MAX (1u << 20)   /* message bytes `show` prints */

struct control {
	struct evconnlistener *lev;
	struct queue *q;
	struct spool *spool;
};

static const char *const state_names[] = { "pending", "delivered", "failed" };

/* Printable ASCII, other octets escaped (peer text in replies). */
static void
put_text(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
			buf_append(b, s, 1);
		else
			buf_printf(b, "\\x%02x", (unsigned char)*s);
}

static void
put_json(struct buf *b, const char *s)
{
	buf_append(b, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else
			buf_append(b, s, 1);
	}
	buf_append(b, "\"", 1);
}

static void
age_text(char *out, size_t len, int64_t secs)
{
	if (secs < 120)
		snprintf(out, len, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(out, len, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(out, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(out, len, "%lldd", (long long)secs / 86400);
}

struct listing {
	struct buf *b;
	bool json;
	int64_t now;
	size_t n;
};

static void
list_table(struct listing *l, const struct spool_envelope *env, bool held, bool running)
{
	char age[32], next[32];

	age_text(age, sizeof age, l->now - env->received);
	buf_printf(l->b, "%-16s %6s %9llu  <", env->id, age, (unsigned long long)env->size);
	put_text(l->b, env->sender);
	buf_printf(l->b, ">%s%s\n", held ? "  (held)" : "", running ? "  (delivering)" : "");
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		buf_append_str(l->b, "                                    ");
		put_text(l->b, r->address);
		buf_printf(l->b, "  %s", state_names[r->state]);
		if (r->state == SPOOL_RCPT_PENDING && r->next_attempt > l->now) {
			age_text(next, sizeof next, r->next_attempt - l->now);
			buf_printf(l->b, "  next in %s", next);
		}
		if (r->attempts)
			buf_printf(l->b, "  attempts=%u", r->attempts);
		if (r->last_reply) {
			buf_append_str(l->b, "  \"");
			put_text(l->b, r->last_reply);
			buf_append_str(l->b, "\"");
		}
		buf_append_str(l->b, "\n");
	}
}

static void
list_json(struct listing *l, const struct spool_envelope *env, bool held, bool running)
{
	buf_printf(l->b, "{\"id\":\"%s\",\"received\":%lld,\"age\":%lld,\"size\":%llu,\"sender\":",
	    env->id, (long long)env->received, (long long)(l->now - env->received),
	    (unsigned long long)env->size);
	put_json(l->b, env->sender);
	buf_printf(l->b, ",\"held\":%s,\"delivering\":%s,\"recipients\":[",
	    held ? "true" : "false", running ? "true" : "false");
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];

		buf_append_str(l->b, i ? ",{\"address\":" : "{\"address\":");
		put_json(l->b, r->address);
		buf_printf(l->b, ",\"state\":\"%s\",\"attempts\":%u,\"next_attempt\":%lld,"
				 "\"last_reply\":",
		    state_names[r->state], r->attempts, (long long)r->next_attempt);
		if (r->last_reply)
			put_json(l->b, r->last_reply);
		else
			buf_append_str(l->b, "null");
		buf_append_str(l->b, "}");
	}
	buf_append_str(l->b, "]}\n");
}

static void
list_one(void *arg, const struct spool_envelope *env, bool held, bool running)
{
	struct listing *l = arg;

	l->n++;
	if (l->json)
		list_json(l, env, held, running);
	else
		list_table(l, env, held, running);
}

static void
cmd_list(struct control *c, struct buf *b, bool json)
{
	struct listing l = { b, json, (int64_t)time(NULL), 0 };

	buf_append_str(b, "OK\n");
	if (!json)
		buf_printf(b, "%-16s %6s %9s  %s\n", "ID", "AGE", "SIZE", "SENDER / RECIPIENTS");
	queue_foreach(c->q, list_one, &l);
	if (!json && l.n == 0)
		buf_append_str(b, "(the queue is empty)\n");
}

/* Envelope, recipients with their last replies, and the message. */
static void
cmd_show(struct control *c, struct buf *b, const char *id)
{
	bool held, running;
	const struct spool_envelope *env = queue_find(c->q, id, &held, &running);
	struct listing l = { b, false, (int64_t)time(NULL), 0 };
	int fd = -1;
	off_t off;
	uint64_t len;

	if (!env) {
		buf_printf(b, "ERR unknown queue ID %s\n", id);
		return;
	}
	buf_append_str(b, "OK\n");
	list_table(&l, env, held, running);
	buf_printf(b, "client: ");
	put_text(b, env->client_addr);
	buf_printf(b, "\nhelo: ");
	put_text(b, env->helo ? env->helo : "-");
	buf_printf(b, "\nprotocol: ");
	put_text(b, env->protocol ? env->protocol : "-");
	buf_printf(b, "\nenvid: ");
	put_text(b, env->envid ? env->envid : "-");
	buf_printf(b, "\n\n");
	if (spool_open_content(c->spool, id, &fd, &off, &len) < 0) {
		buf_printf(b, "(cannot read the message: %s)\n", strerror(errno));
		return;
	}
	for (uint64_t done = 0; done < len && done < SHOW_CONTENT_MAX;) {
		char chunk[16384];
		size_t want = len - done < sizeof chunk ? (size_t)(len - done) : sizeof chunk;
		ssize_t r = pread(fd, chunk, want, off + (off_t)done);

		if (r <= 0)
			break;
		buf_append(b, chunk, (size_t)r);
		done += (uint64_t)r;
	}
	if (len > SHOW_CONTENT_MAX)
		buf_printf(b, "\n(%llu more bytes not shown)\n",
		    (unsigned long long)(len - SHOW_CONTENT_MAX));
	close(fd);
}

/* DELETE / HOLD / RELEASE on each ID; ERR if any failed. */
static void
cmd_each(struct control *c, struct buf *b, const char *verb, char *ids)
{
	struct buf out;
	int failed = 0;

	buf_init(&out, 1u << 20);
	for (char *id = ids, *next; *id; id = next) {
		int r;

		next = id + strcspn(id, " ");
		if (*next)
			*next++ = '\0';
		if (!*id)
			continue;
		r = strcmp(verb, "DELETE") == 0 ? queue_delete(c->q, id)
		    : queue_hold(c->q, id, strcmp(verb, "HOLD") == 0);

		if (r == 0) {
			buf_printf(&out, "%s: %s\n", id, strcmp(verb, "DELETE") == 0 ? "deleted"
				: strcmp(verb, "HOLD") == 0 ? "held" : "released");
			continue;
		}
		failed++;
		buf_printf(&out, "%s: %s\n", id, errno == ENOENT ? "unknown queue ID"
			: errno == EBUSY ? "being delivered right now; try again" : strerror(errno));
	}
	buf_printf(b, failed ? "ERR %d of the IDs failed\n" : "OK\n", failed);
	buf_append(b, out.data ? out.data : "", out.len);
	buf_reset(&out);
}

static void
run(struct control *c, char *line, struct buf *b)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	if (strcmp(line, "LIST") == 0)
		cmd_list(c, b, arg && strcmp(arg, "JSON") == 0);
	else if (strcmp(line, "SHOW") == 0 && arg)
		cmd_show(c, b, arg);
	else if (strcmp(line, "FLUSH") == 0) {
		queue_flush(c->q, NULL);
		buf_append_str(b, "OK\nevery waiting message is due now\n");
	} else if ((strcmp(line, "DELETE") == 0 || strcmp(line, "HOLD") == 0 ||
		       strcmp(line, "RELEASE") == 0) && arg)
		cmd_each(c, b, line, arg);
	else
		buf_append_str(b, "ERR unknown request\n");
}

static void
on_done(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	bufferevent_free(bev);
}

static void
on_request(struct bufferevent *bev, void *arg)
{
	struct control *c = arg;
	size_t n;
	char *line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_CRLF);
	struct buf b;

	if (!line) {
		if (evbuffer_get_length(bufferevent_get_input(bev)) > REQUEST_MAX)
			bufferevent_free(bev);
		return;
	}
	buf_init(&b, (size_t)-2);
	log_info("- control.request %s", line);
	run(c, line, &b);
	free(line);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, on_done, on_event, c);
	bufferevent_write(bev, b.data, b.len);
	buf_reset(&b);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(lev), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	struct timeval tv = { 30, 0 };

	bufferevent_setcb(bev, on_request, NULL, on_event, arg);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct control *
control_new(struct event_base *base, const char *spool_dir, struct queue *q,
    struct spool *spool)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *c;
	int fd, n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s/control", spool_dir);

	if (n < 0 || (size_t)n >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	(void)unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    chmod(sun.sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->q = q;
	c->spool = spool;
	c->lev = evconnlistener_new(base, on_accept, c, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	return c;
}

void
control_free(struct control *c)
{
	if (!c)
		return;
	evconnlistener_free(c->lev);
	free(c);
}

int
control_request(const char *spool_dir, const char *request, FILE *out, FILE *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[65536];
	int fd, rc = 2;
	ssize_t n;
	size_t have = 0;
	bool header = true;

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/control", spool_dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		fprintf(err, "postino queue: the daemon is not running (cannot reach %s: %s); "
			     "start it with `postino serve`\n",
		    sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if (write(fd, request, strlen(request)) < 0 || write(fd, "\n", 1) < 0) {
		fprintf(err, "postino queue: %s\n", strerror(errno));
		close(fd);
		return 2;
	}
	while ((n = read(fd, buf + have, sizeof buf - have - 1)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		if (header) {
			char *eol = strchr(buf, '\n');

			if (!eol && have < sizeof buf - 1)
				continue;
			header = false;
			rc = strncmp(buf, "OK", 2) == 0 ? 0 : 1;
			if (rc)
				fprintf(err, "postino queue: %.*s\n", (int)(eol ? eol - buf : 200), buf + 4);
			fwrite(eol ? eol + 1 : buf, 1, eol ? have - (size_t)(eol + 1 - buf) : have,
			    rc ? err : out);
		} else {
			fwrite(buf, 1, have, rc ? err : out);
		}
		have = 0;
	}
	close(fd);
	if (header)
		fprintf(err, "postino queue: the daemon closed the connection without a reply\n");
	return header ? 2 : rc;
}
