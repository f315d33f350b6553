/* tls-source.c - SMTP load generator with STARTTLS on every session (not a
 * test, not part of the meson build; bench/accept TLS=1 builds and runs it).
 *
 * smtp-source cannot do STARTTLS, so this does what `smtp-source -s S -m M`
 * does, with TLS: S threads share M messages; each message is one connection:
 *
 *   connect, 220, EHLO, STARTTLS, 220, TLS handshake (no certificate check),
 *   EHLO, MAIL FROM, RCPT TO, DATA, 354, headers + LENGTH bytes of body, ".",
 *   250, QUIT, 221, close_notify, close
 *
 * one command at a time (no pipelining), like smtp-source. A full handshake
 * every time: no session is resumed.
 *
 * Usage: tls-source [-S] [-w] [-V 1.2|1.3] [-s SESSIONS] [-m MESSAGES]
 *                   [-l LENGTH] [-f FROM] [-t TO] [-T SECONDS] HOST:PORT
 *   -S  no STARTTLS (cleartext, to compare the client with smtp-source)
 *   -V  highest TLS version offered (default 1.3; 1.2 is the lowest)
 *   -w  with TLS 1.3, after the handshake wait (up to 1 s) until the server's
 *       first post-handshake record (its session tickets) has arrived, and
 *       only then send EHLO. Without -w, EHLO goes right after our Finished,
 *       as mail clients do, and may reach the server in the same read as the
 *       Finished. (A server that drops input until it has seen the end of the
 *       handshake loses that EHLO: postino did, see docs/benchmarks.md.)
 *   -T  timeout of each read and write (default 60)
 *
 * Prints one line on stdout:
 *   messages=M sessions=S seconds=T msgs_per_s=R errors=E tls=VERSION/CIPHER
 *   greeting_ms=.. handshake_ms=.. dot_ms=.. session_ms=.. wait_timeouts=N
 * the last four being means over the messages: connect to the 220, STARTTLS
 * sent to the handshake done, "." sent to its 250, connect to close.
 * Errors go to stderr (the first few), and the exit status is 1 if any
 * message failed.
 *
 * Build: cc -O2 -Wall -o tls-source bench/tls-source.c -lssl -lcrypto -lpthread */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <poll.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage peer;
static socklen_t peer_len;
static SSL_CTX *ctx;
static int use_tls = 1;
static int wait_tickets;
static int max_version = TLS1_3_VERSION;
static atomic_long wait_timeouts;
static int io_timeout = 60;
static const char *mail_from = "sender@bench.test";
static const char *rcpt_to = "user@bench.test";
static char *body;               /* headers + body, CRLF lines, ends with CRLF */
static size_t body_len;

static atomic_long next_msg, done_msgs, failed_msgs, reported;
static long total_msgs;
static pthread_mutex_t stat_lock = PTHREAD_MUTEX_INITIALIZER;
static double sum_greeting, sum_handshake, sum_dot, sum_session;
static char tls_desc[128] = "none";

struct conn {
	int fd;
	SSL *ssl;
	char buf[8192];
	size_t len, off;
	char err[256];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w;

		if (c->ssl) {
			int r = SSL_write(c->ssl, p, (int)n);

			if (r <= 0)
				return fail(c, "SSL_write: error %d", SSL_get_error(c->ssl, r));
			w = r;
		} else {
			w = write(c->fd, p, n);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return fail(c, "write: %s", strerror(errno));
			}
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
conn_fill(struct conn *c)
{
	ssize_t r;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->len == sizeof c->buf)
		return fail(c, "reply line too long");
	if (c->ssl) {
		int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len));

		if (n <= 0 && SSL_get_error(c->ssl, n) == SSL_ERROR_WANT_READ)
			return fail(c, "no reply within %d s", io_timeout);   /* SO_RCVTIMEO */
		if (n <= 0)
			return fail(c, "SSL_read: error %d", SSL_get_error(c->ssl, n));
		r = n;
	} else {
		do
			r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return fail(c, "no reply within %d s", io_timeout);
		if (r < 0)
			return fail(c, "read: %s", strerror(errno));
		if (r == 0)
			return fail(c, "connection closed by the server");
	}
	c->len += (size_t)r;
	return 0;
}

/* Read one reply, multi-line or not; return its code, or -1. */
static int
read_reply(struct conn *c, char *first, size_t firstlen)
{
	int code = -1;
	int nline = 0;

	for (;;) {
		char *start = c->buf + c->off;
		char *nl = memchr(start, '\n', c->len - c->off);
		size_t ll;

		if (!nl) {
			if (conn_fill(c) < 0)
				return -1;
			continue;
		}
		ll = (size_t)(nl - start) + 1;
		if (ll < 4 || start[0] < '2' || start[0] > '5')
			return fail(c, "bad reply line '%.*s'", (int)(ll > 60 ? 60 : ll), start);
		if (nline++ == 0) {
			code = (start[0] - '0') * 100 + (start[1] - '0') * 10 + (start[2] - '0');
			if (first)
				snprintf(first, firstlen, "%.*s", (int)(ll > 2 ? ll - 2 : ll), start);
		}
		c->off += ll;
		if (start[3] == ' ' || start[3] == '\r' || start[3] == '\n')
			return code;
	}
}

static int
command(struct conn *c, const char *cmd, int want, const char *what)
{
	char first[200];
	int code;

	if (cmd && conn_write(c, cmd, strlen(cmd)) < 0)
		return -1;
	code = read_reply(c, first, sizeof first);
	if (code < 0) {
		char why[sizeof c->err];

		snprintf(why, sizeof why, "%s", c->err);
		return fail(c, "%s: %s", what, why);
	}
	if (code / 100 != want / 100 || (want % 100 && code != want))
		return fail(c, "%s: %s", what, first);
	return 0;
}

static int
one_message(long seq, double *t_greet, double *t_hs, double *t_dot)
{
	struct conn c = { .fd = -1 };
	struct timeval tv = { io_timeout, 0 };
	char line[1100];
	double t0, t1;
	int rc = -1, one = 1;

	c.fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0) {
		fail(&c, "socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	t0 = now();
	if (connect(c.fd, (struct sockaddr *)&peer, peer_len) < 0) {
		fail(&c, "connect: %s", strerror(errno));
		goto out;
	}
	if (command(&c, NULL, 220, "greeting") < 0)
		goto out;
	t1 = now();
	*t_greet = t1 - t0;
	if (command(&c, "EHLO tls-source.bench.test\r\n", 250, "EHLO") < 0)
		goto out;
	if (use_tls) {
		t0 = now();
		if (command(&c, "STARTTLS\r\n", 220, "STARTTLS") < 0)
			goto out;
		if (c.off != c.len) {
			fail(&c, "bytes after the 220 to STARTTLS");
			goto out;
		}
		c.off = c.len = 0;
		c.ssl = SSL_new(ctx);
		if (!c.ssl || !SSL_set_fd(c.ssl, c.fd)) {
			fail(&c, "SSL_new failed");
			goto out;
		}
		if (SSL_connect(c.ssl) != 1) {
			unsigned long e = ERR_get_error();
			char eb[160];

			ERR_error_string_n(e, eb, sizeof eb);
			fail(&c, "TLS handshake failed: %s", e ? eb : "connection closed");
			SSL_free(c.ssl);
			c.ssl = NULL;
			goto out;
		}
		if (wait_tickets && SSL_version(c.ssl) == TLS1_3_VERSION) {
			/* let the server's tickets arrive (and be read) before EHLO */
			struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
			int fl = fcntl(c.fd, F_GETFL);
			char peek;

			if (poll(&pfd, 1, 1000) == 1) {
				fcntl(c.fd, F_SETFL, fl | O_NONBLOCK);
				if (SSL_peek(c.ssl, &peek, 1) > 0) {
					fcntl(c.fd, F_SETFL, fl);
					fail(&c, "the server sent data before EHLO");
					goto out;
				}
				ERR_clear_error();
				fcntl(c.fd, F_SETFL, fl);
			} else {
				atomic_fetch_add(&wait_timeouts, 1);
			}
		}
		*t_hs = now() - t0;
		if (atomic_fetch_add(&reported, 1) == 0) {
			pthread_mutex_lock(&stat_lock);
			snprintf(tls_desc, sizeof tls_desc, "%s/%s", SSL_get_version(c.ssl),
			    SSL_get_cipher_name(c.ssl));
			pthread_mutex_unlock(&stat_lock);
		}
		if (command(&c, "EHLO tls-source.bench.test\r\n", 250, "EHLO after STARTTLS") < 0)
			goto out;
	}
	snprintf(line, sizeof line, "MAIL FROM:<%s>\r\n", mail_from);
	if (command(&c, line, 250, "MAIL") < 0)
		goto out;
	snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", rcpt_to);
	if (command(&c, line, 250, "RCPT") < 0)
		goto out;
	if (command(&c, "DATA\r\n", 354, "DATA") < 0)
		goto out;
	snprintf(line, sizeof line,
	    "From: <%s>\r\nTo: <%s>\r\nSubject: tls-source message %ld\r\n"
	    "Message-ID: <%ld.%ld@tls-source.bench.test>\r\n\r\n",
	    mail_from, rcpt_to, seq, (long)getpid(), seq);
	if (conn_write(&c, line, strlen(line)) < 0 || conn_write(&c, body, body_len) < 0)
		goto out;
	t0 = now();
	if (command(&c, ".\r\n", 250, "end of data") < 0)
		goto out;
	*t_dot = now() - t0;
	if (command(&c, "QUIT\r\n", 221, "QUIT") < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0 && atomic_fetch_add(&failed_msgs, 1) < 5)
		fprintf(stderr, "tls-source: message %ld: %s\n", seq, c.err);
	if (c.ssl) {
		if (rc == 0)
			SSL_shutdown(c.ssl);   /* send close_notify; do not wait for the peer's */
		SSL_free(c.ssl);
	}
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}

static void *
session(void *arg)
{
	double g = 0, h = 0, d = 0, s = 0;
	long n;

	(void)arg;

	while ((n = atomic_fetch_add(&next_msg, 1)) < total_msgs) {
		double tg = 0, th = 0, td = 0, t0 = now();

		if (one_message(n, &tg, &th, &td) == 0) {
			atomic_fetch_add(&done_msgs, 1);
			g += tg;
			h += th;
			d += td;
			s += now() - t0;
		}
	}
	pthread_mutex_lock(&stat_lock);
	sum_greeting += g;
	sum_handshake += h;
	sum_dot += d;
	sum_session += s;
	pthread_mutex_unlock(&stat_lock);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tls-source [-S] [-w] [-V 1.2|1.3] [-s SESSIONS] [-m MESSAGES] "
			"[-l LENGTH] [-f FROM] [-t TO] [-T SECONDS] HOST:PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	long sessions = 1, length = 5120;
	struct addrinfo hints = { 0 }, *ai;
	char *host, *port;
	pthread_t *th;
	double t0, t;
	int opt, e;

	total_msgs = 100;
	while ((opt = getopt(argc, argv, "SwV:s:m:l:f:t:T:")) != -1) {
		switch (opt) {
		case 'S': use_tls = 0; break;
		case 'w': wait_tickets = 1; break;
		case 'V':
			if (strcmp(optarg, "1.2") == 0)
				max_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				max_version = TLS1_3_VERSION;
			else
				usage();
			break;
		case 's': sessions = atol(optarg); break;
		case 'm': total_msgs = atol(optarg); break;
		case 'l': length = atol(optarg); break;
		case 'f': mail_from = optarg; break;
		case 't': rcpt_to = optarg; break;
		case 'T': io_timeout = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || sessions < 1 || total_msgs < 1 || length < 0)
		usage();
	host = strdup(argv[optind]);
	port = strrchr(host, ':');
	if (!port)
		usage();
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		host++;
	}
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "tls-source: %s: %s\n", argv[optind], gai_strerror(e));
		return 2;
	}
	memcpy(&peer, ai->ai_addr, ai->ai_addrlen);
	peer_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	signal(SIGPIPE, SIG_IGN);

	/* the body: lines of 78 characters and CRLF, LENGTH bytes in all */
	body = malloc((size_t)length + 3);
	for (long i = 0; i < length;) {
		long line = length - i < 80 ? length - i : 80;

		for (long k = 0; k < line; k++)
			body[i + k] = (char)('a' + (i / 80 + k) % 26);
		if (line >= 3) {
			body[i + line - 2] = '\r';
			body[i + line - 1] = '\n';
		}
		i += line;
	}
	body_len = (size_t)length;
	if (body_len < 2 || memcmp(body + body_len - 2, "\r\n", 2) != 0) {
		/* the final dot needs a CRLF before it */
		memcpy(body + body_len, "\r\n", 2);
		body_len += 2;
	}

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		fprintf(stderr, "tls-source: SSL_CTX_new failed\n");
		return 2;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, max_version);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);

	th = calloc((size_t)sessions, sizeof *th);
	t0 = now();
	for (long i = 0; i < sessions; i++)
		if ((e = pthread_create(&th[i], NULL, session, NULL)) != 0) {
			fprintf(stderr, "tls-source: pthread_create: %s\n", strerror(e));
			return 2;
		}
	for (long i = 0; i < sessions; i++)
		pthread_join(th[i], NULL);
	t = now() - t0;
	{
		long ok = atomic_load(&done_msgs), bad = atomic_load(&failed_msgs);
		double n = ok ? (double)ok : 1;

		printf("messages=%ld sessions=%ld seconds=%.3f msgs_per_s=%.1f errors=%ld tls=%s "
		       "greeting_ms=%.3f handshake_ms=%.3f dot_ms=%.3f session_ms=%.3f "
		       "wait_timeouts=%ld\n",
		    ok, sessions, t, ok / t, bad, use_tls ? tls_desc : "none",
		    1000 * sum_greeting / n, 1000 * sum_handshake / n, 1000 * sum_dot / n,
		    1000 * sum_session / n, atomic_load(&wait_timeouts));
		return bad ? 1 : 0;
	}
}
