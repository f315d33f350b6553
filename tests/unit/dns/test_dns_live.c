/* test_dns_live.c - src/dns/dns.c against a real dnsmasq on loopback, on a
 * free port: every kind of answer dns_mx and dns_addr turn into a status
 * (MX order, equal preferences shuffled, duplicates, implicit MX, null MX,
 * NODATA, NXDOMAIN, REFUSED, CNAMEs, AAAA), cancel and free with answers on
 * their way, and DNS_TEMPFAIL from a port where nothing listens and from one
 * that never answers. argv[1] is the dnsmasq binary (meson finds it); without
 * it the test is skipped with exit 77. The test stops dnsmasq itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <event2/event.h>

#include "dns/dns.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define WAIT_MAX_S 20 /* no single wait in this file may take longer */

/* The zone dnsmasq serves; --local=/test/ makes it answer NXDOMAIN for
 * every other name under test. and REFUSED outside it (no upstream). */
static const char *const records[] = {
    "--mx-host=example.test,mx1.example.test,10",
    "--mx-host=example.test,mx2.example.test,20",
    "--host-record=mx1.example.test,127.0.0.11",
    "--host-record=mx2.example.test,127.0.0.12",
    "--mx-host=eq.test,mxa.eq.test,10",
    "--mx-host=eq.test,mxb.eq.test,10",
    "--mx-host=eq.test,mxc.eq.test,10",
    "--mx-host=dup.test,mxa.eq.test,20",
    "--mx-host=dup.test,mxa.eq.test,10",
    "--host-record=aonly.test,127.0.0.9",
    "--host-record=v6only.test,::9",
    "--host-record=v6.test,127.0.0.5,::1",
    "--txt-record=noaddr.test,no address here",
    /* RFC 7505 null MX as raw RDATA: preference 0, the root name */
    "--dns-rr=nullmx.test,15,000000",
    /* an MX target that is a CNAME, and a domain that is one */
    "--mx-host=cname.test,alias.cname.test,5",
    "--cname=alias.cname.test,real.cname.test",
    "--host-record=real.cname.test,127.0.0.13",
    "--cname=mxalias.test,example.test",
    "--local=/test/",
};

static const char *dnsmasq_path;
static pid_t dnsmasq_pid = -1;
static uint16_t dnsmasq_port;
static bool have_ipv6;

/* ---- dnsmasq ---- */

static int
bind_loopback(int family, int type, uint16_t port, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, type, 0), one = 1;

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof *sin6;
	}
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	if (bound != NULL)
		*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* A port free for UDP and TCP on 127.0.0.1 (and ::1 when used). */
static uint16_t
free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		uint16_t port = 0;
		int u = bind_loopback(AF_INET, SOCK_DGRAM, 0, &port);
		int t = u < 0 ? -1 : bind_loopback(AF_INET, SOCK_STREAM, port, NULL);
		int u6 = t < 0 || !have_ipv6 ? -1 : bind_loopback(AF_INET6, SOCK_DGRAM, port, NULL);
		int t6 = u6 < 0 ? -1 : bind_loopback(AF_INET6, SOCK_STREAM, port, NULL);
		const int fds[] = {u, t, u6, t6};
		bool ok = t >= 0 && (!have_ipv6 || t6 >= 0);

		for (size_t i = 0; i < ARRAY_LEN(fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
		if (ok)
			return port;
	}
	fail_msg("no free port");
	return 0;
}

static void
die_with_parent(void)
{
#ifdef __linux__
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
}

static pid_t
spawn_dnsmasq(uint16_t port)
{
	char portarg[32], listen[64];
	const char *argv[64];
	size_t n = 0;
	pid_t pid;

	snprintf(portarg, sizeof portarg, "--port=%u", (unsigned)port);
	snprintf(listen, sizeof listen, "--listen-address=127.0.0.1%s", have_ipv6 ? ",::1" : "");
	argv[n++] = dnsmasq_path;
	argv[n++] = "--no-daemon";
	argv[n++] = "--conf-file=/dev/null";
	argv[n++] = portarg;
	argv[n++] = listen;
	argv[n++] = "--bind-interfaces";
	argv[n++] = "--no-resolv";
	argv[n++] = "--no-hosts";
	argv[n++] = "--log-queries";
	for (size_t i = 0; i < ARRAY_LEN(records); i++)
		argv[n++] = records[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		die_with_parent();
		execv(dnsmasq_path, (char *const *)argv);
		perror(dnsmasq_path);
		_exit(127);
	}
	return pid;
}

/* One A query for aonly.test; true when anything answers within 200 ms. */
static bool
probe(uint16_t port)
{
	/* id, RD, one question; aonly.test A IN (RFC 1035 4.1) */
	static const char query[] = "\022\064\001\000\000\001\000\000\000\000\000\000"
	                            "\005aonly\004test\000\000\001\000\001";
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	unsigned char answer[512];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return false;
	ok = sendto(fd, query, sizeof query - 1, 0, (struct sockaddr *)&sin, sizeof sin) > 0 &&
	     poll(&pfd, 1, 200) == 1 && recv(fd, answer, sizeof answer, 0) > 12;
	close(fd);
	return ok;
}

static int
start_dnsmasq(void **state)
{
	(void)state;
	for (int attempt = 0; attempt < 5; attempt++) {
		int status;

		dnsmasq_port = free_port();
		dnsmasq_pid = spawn_dnsmasq(dnsmasq_port);
		if (dnsmasq_pid < 0)
			return -1;
		for (int i = 0; i < 25; i++) {
			if (waitpid(dnsmasq_pid, &status, WNOHANG) == dnsmasq_pid) {
				dnsmasq_pid = -1; /* port taken meanwhile? try another */
				break;
			}
			if (probe(dnsmasq_port))
				return 0;
		}
		if (dnsmasq_pid > 0) {
			kill(dnsmasq_pid, SIGKILL);
			waitpid(dnsmasq_pid, &status, 0);
			dnsmasq_pid = -1;
		}
	}
	print_error("dnsmasq did not start\n");
	return -1;
}

static int
stop_dnsmasq(void **state)
{
	int status;

	(void)state;
	if (dnsmasq_pid > 0) {
		kill(dnsmasq_pid, SIGTERM);
		waitpid(dnsmasq_pid, &status, 0);
		dnsmasq_pid = -1;
	}
	return 0;
}

/* ---- driving the loop ---- */

struct got {
	int calls;
	enum dns_status st;
	size_t n;
	char text[1024];     /* "host/pref ..." or "addr addr" */
	struct dns *free_me; /* dns_free this from inside the callback */
};

static void
on_mx(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct got *g = arg;
	size_t o = 0;

	g->calls++;
	g->st = st;
	g->n = n;
	g->text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int r = snprintf(g->text + o, sizeof g->text - o, "%s%s/%u", i ? " " : "",
		                 mx[i].host, mx[i].pref);

		if (r < 0 || (size_t)r >= sizeof g->text - o)
			break;
		o += (size_t)r;
	}
	if (g->free_me != NULL)
		dns_free(g->free_me);
}

static void
on_addr(void *arg, enum dns_status st, const struct sockaddr_storage *a, size_t n)
{
	struct got *g = arg;
	size_t o = 0;

	g->calls++;
	g->st = st;
	g->n = n;
	g->text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char ip[INET6_ADDRSTRLEN] = "?";
		const void *src =
		    a[i].ss_family == AF_INET6
		        ? (const void *)&((const struct sockaddr_in6 *)&a[i])->sin6_addr
		        : (const void *)&((const struct sockaddr_in *)&a[i])->sin_addr;
		int r;

		assert_int_equal(((const struct sockaddr_in *)&a[i])->sin_port, 0);
		inet_ntop(a[i].ss_family, src, ip, sizeof ip);
		r = snprintf(g->text + o, sizeof g->text - o, "%s%s", i ? " " : "", ip);
		if (r < 0 || (size_t)r >= sizeof g->text - o)
			break;
		o += (size_t)r;
	}
	if (g->free_me != NULL)
		dns_free(g->free_me);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

static int
sum_calls(const struct got *g, size_t n)
{
	int sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += g[i].calls;
	return sum;
}

/* Run the loop until the callbacks of g[0..n) were called want times in
 * all; fails after WAIT_MAX_S. */
static void
wait_calls(struct event_base *base, const struct got *g, size_t n, int want)
{
	bool expired = false;
	struct timeval tv = {WAIT_MAX_S, 0};
	struct event *guard = evtimer_new(base, on_guard, &expired);

	evtimer_add(guard, &tv);
	while (sum_calls(g, n) < want && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	if (expired)
		fail_msg("%d callbacks within %d s, want %d", sum_calls(g, n), WAIT_MAX_S, want);
}

/* Run the loop for ms milliseconds. */
static void
run_for(struct event_base *base, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct dns *
resolver(struct event_base *base, const char *host, uint16_t port)
{
	char addr[64], err[256];
	struct dns *d;

	snprintf(addr, sizeof addr, "%s:%u", host, (unsigned)port);
	d = dns_new(base, addr, err, sizeof err);
	if (d == NULL)
		fail_msg("dns_new(%s): %s", addr, err);
	return d;
}

static void
check(const char *what, const struct got *g, enum dns_status st, const char *text)
{
	if (g->calls != 1 || g->st != st || (text != NULL && strcmp(g->text, text) != 0))
		fail_msg("%s: got %d calls, %s \"%s\"; want 1, %s \"%s\"", what, g->calls,
		         dns_status_str(g->st), g->text, dns_status_str(st), text ? text : "*");
}

/* ---- the cases ---- */

static const struct {
	const char *domain;
	enum dns_status st;
	const char *want;
} mx_cases[] = {
    {"example.test", DNS_OK, "mx1.example.test/10 mx2.example.test/20"},
    {"EXAMPLE.Test.", DNS_OK, "mx1.example.test/10 mx2.example.test/20"},
    {"dup.test", DNS_OK, "mxa.eq.test/10"},
    {"aonly.test", DNS_OK, "aonly.test/0"},   /* implicit MX, A */
    {"v6only.test", DNS_OK, "v6only.test/0"}, /* implicit MX, AAAA */
    {"noaddr.test", DNS_NO_ADDRESS, ""},      /* TXT only */
    {"nullmx.test", DNS_NULL_MX, ""},
    {"nx.test", DNS_NXDOMAIN, ""},
    {"cname.test", DNS_OK, "alias.cname.test/5"},
    {"mxalias.test", DNS_OK, "mx1.example.test/10 mx2.example.test/20"},
    {"nothere.example", DNS_TEMPFAIL, ""}, /* dnsmasq: REFUSED */
    {"bad..name.test", DNS_NXDOMAIN, ""},
};

static const struct {
	const char *host;
	enum dns_status st;
	const char *want;
} addr_cases[] = {
    {"v6.test", DNS_OK, "::1 127.0.0.5"}, /* IPv6 first */
    {"aonly.test", DNS_OK, "127.0.0.9"},
    {"v6only.test", DNS_OK, "::9"},
    {"mx2.example.test", DNS_OK, "127.0.0.12"},
    {"alias.cname.test", DNS_OK, "127.0.0.13"}, /* CNAME followed */
    {"noaddr.test", DNS_NO_ADDRESS, ""},
    {"nx.test", DNS_NXDOMAIN, ""},
    {"nothere.example", DNS_TEMPFAIL, ""},
    {"127.0.0.77", DNS_OK, "127.0.0.77"},
};

/* All cases at once, on one resolver, as the queue would ask. */
static void
run_cases(const char *host)
{
	struct event_base *base = event_base_new();
	struct dns *d = resolver(base, host, dnsmasq_port);
	struct got gm[ARRAY_LEN(mx_cases)], ga[ARRAY_LEN(addr_cases)];

	memset(gm, 0, sizeof gm);
	memset(ga, 0, sizeof ga);
	for (size_t i = 0; i < ARRAY_LEN(mx_cases); i++)
		dns_mx(d, mx_cases[i].domain, on_mx, &gm[i]);
	for (size_t i = 0; i < ARRAY_LEN(addr_cases); i++)
		dns_addr(d, addr_cases[i].host, on_addr, &ga[i]);
	wait_calls(base, gm, ARRAY_LEN(gm), (int)ARRAY_LEN(gm));
	wait_calls(base, ga, ARRAY_LEN(ga), (int)ARRAY_LEN(ga));
	for (size_t i = 0; i < ARRAY_LEN(mx_cases); i++)
		check(mx_cases[i].domain, &gm[i], mx_cases[i].st, mx_cases[i].want);
	for (size_t i = 0; i < ARRAY_LEN(addr_cases); i++)
		check(addr_cases[i].host, &ga[i], addr_cases[i].st, addr_cases[i].want);
	dns_free(d);
	event_base_free(base);
}

static void
test_cases(void **state)
{
	(void)state;
	run_cases("127.0.0.1");
}

static void
test_cases_ipv6_resolver(void **state)
{
	(void)state;
	if (!have_ipv6)
		skip();
	run_cases("[::1]");
}

/* RFC 5321 5.1: the three hosts of preference 10 come in every order; each
 * is first now and then. */
static void
test_shuffle(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = resolver(base, "127.0.0.1", dnsmasq_port);
	int first[3] = {0};

	(void)state;
	for (int i = 0; i < 30; i++) {
		struct got g = {0};

		dns_mx(d, "eq.test", on_mx, &g);
		wait_calls(base, &g, 1, 1);
		if (g.st != DNS_OK || g.n != 3 || strstr(g.text, "mxa.eq.test/10") == NULL ||
		    strstr(g.text, "mxb.eq.test/10") == NULL ||
		    strstr(g.text, "mxc.eq.test/10") == NULL)
			fail_msg("eq.test: got %s \"%s\"", dns_status_str(g.st), g.text);
		first[g.text[2] - 'a']++;
	}
	for (int i = 0; i < 3; i++)
		if (first[i] == 0)
			fail_msg("mx%c.eq.test never came first in 30 look-ups", 'a' + i);
	dns_free(d);
	event_base_free(base);
}

/* Cancelled queries never call back, even when their answers arrive; the
 * others do. */
static void
test_cancel(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = resolver(base, "127.0.0.1", dnsmasq_port);
	struct got g[10];

	(void)state;
	memset(g, 0, sizeof g);
	for (int i = 0; i < 10; i++) {
		struct dns_query *q = i % 2 ? dns_addr(d, "v6.test", on_addr, &g[i])
		                            : dns_mx(d, "example.test", on_mx, &g[i]);

		if (i % 3 == 0)
			dns_cancel(q);
	}
	wait_calls(base, g, 10, 6);
	run_for(base, 300);
	for (int i = 0; i < 10; i++)
		if (g[i].calls != (i % 3 == 0 ? 0 : 1))
			fail_msg("query %d: %d calls", i, g[i].calls);
	dns_free(d);
	event_base_free(base);
}

/* dns_free from inside a callback, other answers on their way: no more
 * callbacks, no use after free (ASan watches). */
static void
test_free_in_callback(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = resolver(base, "127.0.0.1", dnsmasq_port);
	struct got g[8];

	(void)state;
	memset(g, 0, sizeof g);
	for (int i = 0; i < 8; i++) {
		g[i].free_me = d;
		if (i % 2)
			dns_addr(d, "mx1.example.test", on_addr, &g[i]);
		else
			dns_mx(d, "eq.test", on_mx, &g[i]);
	}
	wait_calls(base, g, 8, 1);
	run_for(base, 300);
	assert_int_equal(sum_calls(g, 8), 1);
	event_base_free(base);
}

/* Nothing listens on the resolver's port: unbound gives up within seconds. */
static void
test_tempfail_closed_port(void **state)
{
	struct event_base *base = event_base_new();
	struct dns *d = resolver(base, "127.0.0.1", free_port());
	struct got gm = {0}, ga = {0};
	double start = now_s(), took;

	(void)state;
	dns_mx(d, "example.test", on_mx, &gm);
	dns_addr(d, "mx1.example.test", on_addr, &ga);
	wait_calls(base, &gm, 1, 1);
	wait_calls(base, &ga, 1, 1);
	took = now_s() - start;
	check("closed port, MX", &gm, DNS_TEMPFAIL, "");
	check("closed port, A/AAAA", &ga, DNS_TEMPFAIL, "");
	if (took > 10)
		fail_msg("TEMPFAIL took %.1f s, want at most 10", took);
	dns_free(d);
	event_base_free(base);
}

/* The resolver takes the queries and never answers: dns_set_timeout bounds
 * the wait. */
static void
test_timeout(void **state)
{
	uint16_t port;
	int sink = bind_loopback(AF_INET, SOCK_DGRAM, 0, &port);
	struct event_base *base = event_base_new();
	struct dns *d = resolver(base, "127.0.0.1", port);
	struct got g = {0};
	double start = now_s(), took;

	(void)state;
	assert_true(sink >= 0);
	dns_set_timeout(d, 500);
	dns_mx(d, "example.test", on_mx, &g);
	wait_calls(base, &g, 1, 1);
	took = now_s() - start;
	check("silent resolver", &g, DNS_TEMPFAIL, "");
	if (took < 0.4 || took > 3)
		fail_msg("timeout after %.2f s, want about 0.5", took);
	dns_free(d);
	event_base_free(base);
	close(sink);
}

static bool
ipv6_loopback(void)
{
	int fd = bind_loopback(AF_INET6, SOCK_DGRAM, 0, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_cases_ipv6_resolver),
	    cmocka_unit_test(test_shuffle),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_free_in_callback),
	    cmocka_unit_test(test_tempfail_closed_port),
	    cmocka_unit_test(test_timeout),
	};

	if (argc < 2 || access(argv[1], X_OK) != 0) {
		printf("SKIP: dnsmasq is not installed (apt-get install dnsmasq-base)\n");
		return 77;
	}
	dnsmasq_path = argv[1];
	have_ipv6 = ipv6_loopback();
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, start_dnsmasq, stop_dnsmasq);
}
