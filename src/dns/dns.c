/* dns.c - MX, A and AAAA look-ups through libunbound, on the libevent loop.
 * Owns: the ub_ctx (a worker thread; its answer pipe, ub_fd(), is watched by
 * an EV_READ|EV_PERSIST event that runs ub_process), the queries in flight
 * and their timers, and the reading of answers: strict MX RDATA parsing,
 * RFC 5321 5.1 ordering and implicit MX, RFC 7505 null MX, A/AAAA records.
 * Leaves: what a status means for a message (queue/, deliver/).
 * Invariants: a query is in d->queries exactly while its callback is owed;
 * a sub-query marked pending has an unbound id that ub_cancel stops. */
#include "dns/dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <unbound.h>

#include "config/config.h"
#include "util/log.h"
#include "util/span.h"
#include "util/xalloc.h"

#define RR_A 1 /* RFC 1035 3.2.2 */
#define RR_MX 15
#define RR_AAAA 28 /* RFC 3596 2.1 */
#define CLASS_IN 1
#define RCODE_NXDOMAIN 3  /* RFC 1035 4.1.1 */
#define WIRE_NAME_MAX 255 /* RFC 1035 2.3.4 */
#define LABEL_MAX 63

/* ---- the pure part: MX RDATA into an ordered list ---- */

/* An octet a host name may hold: letter, digit, hyphen (RFC 1123 2.1), and
 * the underscore that real zones use and resolvers answer for. */
static bool
is_host_octet(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static char
lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* The uncompressed wire-format name filling p[0..len) (RFC 1035 3.1) as
 * lower-case text without the trailing dot into out (DNS_NAME_MAX + 1 octets;
 * "" for the root). A length octet over 63 is a compression pointer or a
 * reserved form: never valid here, as unbound decompresses the RDATA it hands
 * over. *host: every octet is one a host name may hold (others are written
 * as '?'). -1 when malformed. */
static int
wire_name(const unsigned char *p, size_t len, char *out, bool *host)
{
	size_t i = 0, o = 0;

	*host = true;
	if (len > WIRE_NAME_MAX)
		return -1;
	while (i < len && p[i] != 0) {
		size_t l = p[i++];

		if (l > LABEL_MAX || l > len - i || o + (o > 0) + l > DNS_NAME_MAX)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (; l > 0; l--, i++) {
			*host = *host && is_host_octet(p[i]);
			out[o++] = is_host_octet(p[i]) ? lower(p[i]) : '?';
		}
	}
	if (i + 1 != len) /* the root label, and nothing after it */
		return -1;
	out[o] = '\0';
	return 0;
}

/* One MX RDATA (RFC 1035 3.3.9): PREFERENCE, then EXCHANGE. *usable: the
 * exchange is a host to connect to: not the root (RFC 7505), only host name
 * octets, not an IPv4 address dressed as a name (RFC 5321 5.1 wants a name).
 * -1 when malformed. */
static int
mx_rdata(const unsigned char *p, size_t len, struct dns_mx *mx, bool *usable)
{
	struct in_addr ip;
	bool host;

	if (len < 3 || wire_name(p + 2, len - 2, mx->host, &host) < 0)
		return -1;
	mx->pref = (unsigned)p[0] << 8 | p[1];
	*usable = host && mx->host[0] != '\0' && inet_pton(AF_INET, mx->host, &ip) != 1;
	return 0;
}

/* Add mx to set[0..n) (room for DNS_MX_MAX); returns the new n. A host
 * already there keeps the better preference. When full, mx replaces the
 * worst entry if it is better: the lowest preferences are the ones tried. */
static size_t
mx_add(struct dns_mx *set, size_t n, const struct dns_mx *mx)
{
	size_t worst = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(set[i].host, mx->host) == 0) {
			if (mx->pref < set[i].pref)
				set[i].pref = mx->pref;
			return n;
		}
		if (set[i].pref > set[worst].pref)
			worst = i;
	}
	if (n < DNS_MX_MAX) {
		set[n] = *mx;
		return n + 1;
	}
	if (mx->pref < set[worst].pref)
		set[worst] = *mx;
	return n;
}

/* Insertion sort by preference (n <= DNS_MX_MAX). */
static void
mx_sort(struct dns_mx *set, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct dns_mx x = set[i];
		size_t j = i;

		for (; j > 0 && set[j - 1].pref > x.pref; j--)
			set[j] = set[j - 1];
		set[j] = x;
	}
}

/* RFC 5321 5.1: hosts of equal preference are tried in random order.
 * Fisher-Yates over each run of equal preferences of the sorted set. */
static void
mx_shuffle(struct dns_mx *set, size_t n, unsigned (*rnd)(void *, unsigned), void *rnd_arg)
{
	size_t start = 0;

	while (start < n) {
		size_t end = start + 1;

		while (end < n && set[end].pref == set[start].pref)
			end++;
		for (size_t i = end - 1; i > start; i--) {
			unsigned k = (unsigned)(i - start + 1);
			size_t j = start + rnd(rnd_arg, k) % k;
			struct dns_mx t = set[i];

			set[i] = set[j];
			set[j] = t;
		}
		start = end;
	}
}

int
dns_mx_parse(const char *const *rdata, const int *len, size_t count,
             unsigned (*rnd)(void *rnd_arg, unsigned bound), void *rnd_arg, struct dns_mx *out,
             size_t *nout, enum dns_status *st)
{
	size_t n = 0;
	bool null_mx = false, other = false;

	for (size_t i = 0; i < count; i++) {
		struct dns_mx mx;
		bool usable;

		if (rdata[i] == NULL || len[i] < 0 ||
		    mx_rdata((const unsigned char *)rdata[i], (size_t)len[i], &mx, &usable) < 0)
			return -1;
		if (mx.host[0] == '\0' && mx.pref == 0)
			null_mx = true;
		else
			other = true;
		if (usable)
			n = mx_add(out, n, &mx);
	}
	*nout = 0;
	*st = DNS_NO_ADDRESS;
	if (null_mx && !other) {
		*st = DNS_NULL_MX;
		return 0;
	}
	mx_sort(out, n);
	mx_shuffle(out, n, rnd, rnd_arg);
	*nout = n;
	if (n > 0)
		*st = DNS_OK;
	return 0;
}

const char *
dns_status_str(enum dns_status st)
{
	static const char *const names[] = {
	    [DNS_OK] = "ok",
	    [DNS_NXDOMAIN] = "nxdomain",
	    [DNS_NULL_MX] = "null-mx",
	    [DNS_NO_ADDRESS] = "no-address",
	    [DNS_TEMPFAIL] = "tempfail",
	};

	if ((size_t)st >= sizeof names / sizeof names[0])
		return "unknown";
	return names[st];
}

/* ---- the resolver ---- */

/* The shuffle's random source in production. */
static unsigned
random_below(void *arg, unsigned bound)
{
	(void)arg;
	return arc4random_uniform(bound);
}

enum dns_phase {
	PHASE_MX,       /* sub[0]: the MX query */
	PHASE_IMPLICIT, /* no MX records: sub[0] A, sub[1] AAAA of the domain */
	PHASE_ADDR,     /* dns_addr: sub[0] AAAA, sub[1] A */
};

/* One unbound query of a dns_query. */
struct dns_sub {
	struct dns_query *q;
	int rrtype;
	int id; /* unbound's async id, while pending */
	bool pending;
	enum dns_status st; /* its outcome; NODATA is DNS_NO_ADDRESS */
};

struct dns_query {
	struct dns *d;
	struct dns_query *prev, *next;
	enum dns_phase phase;
	char name[DNS_NAME_MAX + 1];
	struct dns_sub sub[2];
	struct event *timer; /* the time limit, or an early result */
	bool early;          /* the timer reports early_st, not a timeout */
	enum dns_status early_st;
	void (*mx_cb)(void *, enum dns_status, const struct dns_mx *, size_t);
	void (*addr_cb)(void *, enum dns_status, const struct sockaddr_storage *, size_t);
	void *arg;
	union {
		struct {
			struct dns_mx list[DNS_MX_MAX];
			size_t n;
		} mx;
		struct {
			struct sockaddr_storage v6[DNS_ADDR_MAX / 2], v4[DNS_ADDR_MAX / 2];
			size_t n6, n4;
		} addr;
	} r;
};

struct dns {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct event *ev;          /* ub_fd() readable: answers to collect */
	struct dns_query *queries; /* those owed a callback */
	unsigned timeout_ms;
	bool in_process; /* inside ub_process: the context must live on */
	bool dying;      /* dns_free came meanwhile: delete after it */
};

static int seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0 && errlen > 0)
		err[0] = '\0';
	va_end(ap);
	return -1;
}

/* [dns] resolver, "host:port" with an IP address for host, as unbound's
 * forwarder "addr@port" (unbound cannot forward to a name). */
static int
set_forwarder(struct ub_ctx *ctx, const char *resolver, char *err, size_t errlen)
{
	struct span host;
	uint16_t port;
	char ip[INET6_ADDRSTRLEN], fwd[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	int r;

	if (config_split_hostport(resolver, &host, &port) < 0 || host.len >= sizeof ip)
		return seterr(err, errlen, "dns: resolver '%s' is not host:port", resolver);
	memcpy(ip, host.p, host.len);
	ip[host.len] = '\0';
	if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1)
		return seterr(err, errlen, "dns: resolver '%s': '%s' is not an IP address",
		              resolver, ip);
	r = snprintf(fwd, sizeof fwd, "%s@%u", ip, (unsigned)port);
	if (r < 0 || (size_t)r >= sizeof fwd)
		return seterr(err, errlen, "dns: resolver '%s' is too long", resolver);
	if ((r = ub_ctx_set_fwd(ctx, fwd)) != 0)
		return seterr(err, errlen, "dns: resolver '%s': %s", resolver, ub_strerror(r));
	return 0;
}

/* The system's resolver as the C library uses it: the name servers of
 * /etc/resolv.conf (127.0.0.1 when it names none or is missing, as
 * resolv.conf(5) says) and /etc/hosts when it can be read. */
static int
use_system(struct ub_ctx *ctx, char *err, size_t errlen)
{
	int r = ub_ctx_resolvconf(ctx, NULL);

	if (r == UB_READFILE)
		r = ub_ctx_set_fwd(ctx, "127.0.0.1");
	if (r != 0)
		return seterr(err, errlen, "dns: /etc/resolv.conf: %s", ub_strerror(r));
	r = ub_ctx_hosts(ctx, NULL);
	if (r != 0 && r != UB_READFILE)
		log_warn("- dns.hosts file=/etc/hosts error=\"%s\"", ub_strerror(r));
	return 0;
}

/* Settings, in the order unbound needs: all options before the context is
 * finalized (ub_ctx_zone_remove does that). */
static int
configure(struct ub_ctx *ctx, const char *resolver, char *err, size_t errlen)
{
	/* module-config: no validator, as no trust anchor is configured.
	 * do-not-query-localhost: the resolver is often on loopback (127.0.0.53,
	 * a local cache, the tests' dnsmasq). infra-cache-max-rtt: a resolver
	 * that does not answer is reported after about 5 s, not 17 s. */
	static const char *const opts[][2] = {
	    {"module-config:", "iterator"},
	    {"do-not-query-localhost:", "no"},
	    {"infra-cache-max-rtt:", "3000"},
	};
	/* Special-use names a site's resolver may serve (RFC 6761 6.2, RFC 8375):
	 * ask it, rather than let unbound answer NXDOMAIN by itself. */
	static const char *const zones[] = {"test.", "home.arpa."};
	int r;

	if ((r = ub_ctx_async(ctx, 1)) != 0)
		return seterr(err, errlen, "dns: worker thread: %s", ub_strerror(r));
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if ((r = ub_ctx_set_option(ctx, opts[i][0], opts[i][1])) != 0)
			return seterr(err, errlen, "dns: %s %s", opts[i][0], ub_strerror(r));
	if (resolver != NULL ? set_forwarder(ctx, resolver, err, errlen) < 0
	                     : use_system(ctx, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
		if ((r = ub_ctx_zone_remove(ctx, zones[i])) != 0)
			return seterr(err, errlen, "dns: zone %s: %s", zones[i], ub_strerror(r));
	return 0;
}

static void
teardown(struct dns *d)
{
	if (d->ev != NULL)
		event_free(d->ev);
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);
	free(d);
}

/* The worker has answers: ub_process runs their callbacks (on_answer). */
static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	int r;

	(void)fd;
	(void)what;
	d->in_process = true;
	r = ub_process(d->ctx);
	d->in_process = false;
	if (d->dying) {
		teardown(d);
		return;
	}
	if (r != 0) {
		/* The pipe to the worker broke: stop watching it rather than
		 * spin; queries end by their timers. */
		log_error("- dns.error what=process error=\"%s\"", ub_strerror(r));
		event_del(d->ev);
	}
}

struct dns *
dns_new(struct event_base *base, const char *resolver, char *err, size_t errlen)
{
	struct dns *d = xcalloc(1, sizeof *d);
	int fd;

	d->base = base;
	d->timeout_ms = DNS_TIMEOUT_MS;
	d->ctx = ub_ctx_create();
	if (d->ctx == NULL) {
		seterr(err, errlen, "dns: cannot create the resolver context");
		goto fail;
	}
	if (configure(d->ctx, resolver, err, errlen) < 0)
		goto fail;
	fd = ub_fd(d->ctx);
	if (fd >= 0)
		d->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, d);
	if (d->ev == NULL || event_add(d->ev, NULL) < 0) {
		seterr(err, errlen, "dns: cannot watch the resolver's answers");
		goto fail;
	}
	return d;
fail:
	dns_free(d);
	return NULL;
}

void
dns_set_timeout(struct dns *d, unsigned ms)
{
	d->timeout_ms = ms;
}

/* ---- queries ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_answer(void *mydata, int err, struct ub_result *res);

static struct dns_query *
query_new(struct dns *d, enum dns_phase phase, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof *q);
	struct timeval tv = {(time_t)(d->timeout_ms / 1000),
	                     (suseconds_t)(d->timeout_ms % 1000) * 1000};

	q->d = d;
	q->phase = phase;
	q->arg = arg;
	q->timer = evtimer_new(d->base, on_timer, q);
	if (q->timer == NULL || evtimer_add(q->timer, &tv) < 0)
		PANIC("cannot arm a timer");
	q->next = d->queries;
	if (d->queries != NULL)
		d->queries->prev = q;
	d->queries = q;
	return q;
}

/* Stop q's unbound queries: their callbacks will not come. */
static void
subs_cancel(struct dns_query *q)
{
	for (size_t i = 0; i < 2; i++)
		if (q->sub[i].pending) {
			q->sub[i].pending = false;
			(void)ub_cancel(q->d->ctx, q->sub[i].id);
		}
}

/* Stop q's unbound queries and take it off d's list: no callback is owed. */
static void
query_detach(struct dns_query *q)
{
	struct dns *d = q->d;

	subs_cancel(q);
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		d->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
}

static void
query_free(struct dns_query *q)
{
	event_free(q->timer);
	free(q);
}

/* A result known without asking (bad name, IP literal, unbound refused the
 * query): reported from the loop, as promised, never from inside the call. */
static void
query_early(struct dns_query *q, enum dns_status st)
{
	static const struct timeval now = {0, 0};

	subs_cancel(q);
	q->early = true;
	q->early_st = st;
	if (evtimer_add(q->timer, &now) < 0)
		PANIC("cannot arm a timer");
}

/* The addresses of a dns_addr query into out, the families interleaved,
 * IPv6 first (RFC 8305 4). */
static size_t
interleave(const struct dns_query *q, struct sockaddr_storage *out)
{
	size_t n = 0;

	for (size_t i = 0; i < q->r.addr.n6 || i < q->r.addr.n4; i++) {
		if (i < q->r.addr.n6)
			out[n++] = q->r.addr.v6[i];
		if (i < q->r.addr.n4)
			out[n++] = q->r.addr.v4[i];
	}
	return n;
}

/* Report st to the owner and free q. q leaves d's list first, so the
 * callback may cancel other queries, start new ones, or free d. */
static void
finish(struct dns_query *q, enum dns_status st)
{
	struct sockaddr_storage addrs[DNS_ADDR_MAX];
	size_t n = 0;

	query_detach(q);
	if (q->mx_cb != NULL) {
		if (st == DNS_OK)
			n = q->r.mx.n;
		q->mx_cb(q->arg, st, n > 0 ? q->r.mx.list : NULL, n);
	} else {
		if (st == DNS_OK)
			n = interleave(q, addrs);
		q->addr_cb(q->arg, st, n > 0 ? addrs : NULL, n);
	}
	query_free(q);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	if (!q->early)
		log_warn("- dns.timeout name=%s", q->name);
	finish(q, q->early ? q->early_st : DNS_TEMPFAIL);
}

void
dns_cancel(struct dns_query *q)
{
	query_detach(q);
	query_free(q);
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	while (d->queries != NULL)
		dns_cancel(d->queries);
	if (d->in_process)
		d->dying = true; /* on_readable deletes d once ub_process returns */
	else
		teardown(d);
}

static int
sub_start(struct dns_query *q, size_t i, int rrtype)
{
	struct dns_sub *s = &q->sub[i];
	int r;

	s->q = q;
	s->rrtype = rrtype;
	s->st = DNS_TEMPFAIL;
	r = ub_resolve_async(q->d->ctx, q->name, rrtype, CLASS_IN, s, on_answer, &s->id);
	if (r != 0) {
		log_warn("- dns.error name=%s error=\"%s\"", q->name, ub_strerror(r));
		return -1;
	}
	s->pending = true;
	return 0;
}

/* What an answer says before its records are read. NODATA (the name exists
 * but has no record of this type) is DNS_NO_ADDRESS. */
static enum dns_status
outcome(int err, const struct ub_result *res)
{
	if (err != 0 || res == NULL) {
		log_warn("- dns.error error=\"%s\"", ub_strerror(err));
		return DNS_TEMPFAIL;
	}
	if (res->rcode == RCODE_NXDOMAIN || res->nxdomain)
		return DNS_NXDOMAIN;
	if (res->rcode != 0 || res->bogus)
		return DNS_TEMPFAIL;
	if (res->havedata && res->data != NULL && res->data[0] != NULL)
		return DNS_OK;
	return DNS_NO_ADDRESS;
}

/* Two sub-queries that are both done, as one status: an address wins, then
 * a failure that may pass, then NODATA (the name exists), then NXDOMAIN. */
static enum dns_status
combine(enum dns_status a, enum dns_status b)
{
	static const enum dns_status order[] = {DNS_OK, DNS_TEMPFAIL, DNS_NO_ADDRESS};

	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return DNS_NXDOMAIN;
}

static void
mx_answer(struct dns_query *q, const struct ub_result *res)
{
	enum dns_status st = q->sub[0].st;
	size_t count = 0;

	if (st == DNS_NO_ADDRESS) {
		/* No MX records: the domain itself is the implicit MX when it
		 * has an address (RFC 5321 5.1). */
		q->phase = PHASE_IMPLICIT;
		if (sub_start(q, 0, RR_A) < 0 || sub_start(q, 1, RR_AAAA) < 0)
			finish(q, DNS_TEMPFAIL);
		return;
	}
	if (st == DNS_OK) {
		while (res->data[count] != NULL)
			count++;
		if (dns_mx_parse((const char *const *)res->data, res->len, count, random_below,
		                 NULL, q->r.mx.list, &q->r.mx.n, &st) < 0) {
			log_warn("- dns.malformed name=%s type=MX", q->name);
			st = DNS_TEMPFAIL;
		}
	}
	finish(q, st);
}

static void
implicit_answer(struct dns_query *q, const struct dns_sub *s)
{
	if (s->st == DNS_OK) {
		memcpy(q->r.mx.list[0].host, q->name, strlen(q->name) + 1);
		q->r.mx.list[0].pref = 0;
		q->r.mx.n = 1;
		finish(q, DNS_OK);
	} else if (!q->sub[0].pending && !q->sub[1].pending) {
		finish(q, combine(q->sub[0].st, q->sub[1].st));
	}
}

/* The A or AAAA records of res into q's list for that family (the first
 * DNS_ADDR_MAX / 2). -1 when one has the wrong length. */
static int
read_addrs(struct dns_query *q, int rrtype, const struct ub_result *res)
{
	size_t want = rrtype == RR_A ? 4 : 16, n = 0;

	for (size_t i = 0; res->data[i] != NULL; i++) {
		if (res->len[i] < 0 || (size_t)res->len[i] != want)
			return -1;
		if (n == DNS_ADDR_MAX / 2)
			continue;
		if (rrtype == RR_A) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&q->r.addr.v4[n];

			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, res->data[i], want);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&q->r.addr.v6[n];

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, res->data[i], want);
		}
		n++;
	}
	if (rrtype == RR_A)
		q->r.addr.n4 = n;
	else
		q->r.addr.n6 = n;
	return 0;
}

static void
addr_answer(struct dns_query *q, struct dns_sub *s, const struct ub_result *res)
{
	if (s->st == DNS_OK && read_addrs(q, s->rrtype, res) < 0) {
		log_warn("- dns.malformed name=%s type=%s", q->name,
		         s->rrtype == RR_A ? "A" : "AAAA");
		s->st = DNS_TEMPFAIL;
	}
	if (!q->sub[0].pending && !q->sub[1].pending)
		finish(q, combine(q->sub[0].st, q->sub[1].st));
}

/* Called by ub_process for each answer; cancelled queries never come here. */
static void
on_answer(void *mydata, int err, struct ub_result *res)
{
	struct dns_sub *s = mydata;
	struct dns_query *q = s->q;

	s->pending = false;
	s->st = outcome(err, res);
	if (q->phase == PHASE_MX)
		mx_answer(q, res);
	else if (q->phase == PHASE_IMPLICIT)
		implicit_answer(q, s);
	else
		addr_answer(q, s, res);
	ub_resolve_free(res);
}

/* Copy name into out (DNS_NAME_MAX + 1) lower-cased, without a trailing
 * dot. -1 unless it is a name a host could have: labels of 1..63 letters,
 * digits, '-' or '_', 253 octets in all (RFC 1035 2.3.4, RFC 1123 2.1). */
static int
name_copy(const char *name, char *out)
{
	size_t len = strnlen(name, DNS_NAME_MAX + 2), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' && label == 0)
			return -1;
		if (c == '.')
			label = 0;
		else if (!is_host_octet(c) || ++label > LABEL_MAX)
			return -1;
		out[i] = lower(c);
	}
	out[len] = '\0';
	return label > 0 ? 0 : -1;
}

struct dns_query *
dns_mx(struct dns *d, const char *domain,
       void (*cb)(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n), void *arg)
{
	struct dns_query *q = query_new(d, PHASE_MX, arg);

	q->mx_cb = cb;
	if (name_copy(domain, q->name) < 0)
		query_early(q, DNS_NXDOMAIN);
	else if (sub_start(q, 0, RR_MX) < 0)
		query_early(q, DNS_TEMPFAIL);
	return q;
}

/* host as an IPv4 or IPv6 address: true, and q holds it. */
static bool
addr_literal(struct dns_query *q, const char *host)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&q->r.addr.v4[0];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&q->r.addr.v6[0];

	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		q->r.addr.n4 = 1;
		return true;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		q->r.addr.n6 = 1;
		return true;
	}
	return false;
}

struct dns_query *
dns_addr(struct dns *d, const char *host,
         void (*cb)(void *arg, enum dns_status st, const struct sockaddr_storage *addrs, size_t n),
         void *arg)
{
	struct dns_query *q = query_new(d, PHASE_ADDR, arg);

	q->addr_cb = cb;
	if (addr_literal(q, host))
		query_early(q, DNS_OK);
	else if (name_copy(host, q->name) < 0)
		query_early(q, DNS_NXDOMAIN);
	else if (sub_start(q, 0, RR_AAAA) < 0 || sub_start(q, 1, RR_A) < 0)
		query_early(q, DNS_TEMPFAIL);
	return q;
}
