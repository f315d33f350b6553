/* test_dns.c - unit tests of src/dns/dns.c without a network: the MX RDATA
 * parser table-driven (good sets, duplicates, null MX, unusable targets,
 * malformed wire names), name length limits, the cap on kept hosts, the
 * equal-preference shuffle with fixed and statistical random sources, and
 * the answers dns_mx/dns_addr give without asking (bad names, IP literals,
 * bad resolver settings, cancel). tests/unit/dns/test_dns_live.c asks dnsmasq. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "dns/dns.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_RECS 6

/* One RDATA: bytes that may hold NUL, with their length. */
struct rec {
	const char *p;
	int len;
};
#define R(s)                                                                                       \
	{                                                                                          \
		(s), (int)sizeof(s) - 1                                                            \
	}

/* Preferences 0, 10, 20 and 5 as the two octets of RDATA. */
#define P0 "\000\000"
#define P5 "\000\005"
#define P10 "\000\012"
#define P20 "\000\024"
/* Wire names. Octal escapes always have three digits, so none eats a digit after it. */
#define MX1 "\003mx1\007example\004test\000"
#define MX2 "\003mx2\007example\004test\000"
#define NA "\001a\004test\000"
#define NB "\001b\004test\000"
#define NC "\001c\004test\000"
#define ND "\001d\004test\000"
#define ROOT "\000"

/* clang-format off */
static const struct mx_case {
	const char *name;
	struct rec recs[MAX_RECS];  /* up to the first { NULL } */
	int ret;
	enum dns_status st;
	const char *want;           /* "host/pref ..." with the identity shuffle */
} mx_cases[] = {
	{ "two preferences", { R(P10 MX1), R(P20 MX2) }, 0, DNS_OK,
	    "mx1.example.test/10 mx2.example.test/20" },
	{ "sorted by preference", { R(P20 MX2), R(P10 MX1) }, 0, DNS_OK,
	    "mx1.example.test/10 mx2.example.test/20" },
	{ "equal preferences keep input order (identity shuffle)", { R(P10 NB), R(P10 NA), R(P5 NC) },
	    0, DNS_OK, "c.test/5 b.test/10 a.test/10" },
	{ "upper case lowered", { R(P10 "\003MX1\007Example\004TEST\000") }, 0,
	    DNS_OK, "mx1.example.test/10" },
	{ "duplicate dropped", { R(P10 NA), R(P10 NA) }, 0, DNS_OK, "a.test/10" },
	{ "duplicate keeps best preference", { R(P20 NA), R(P10 NB), R(P5 NA) }, 0, DNS_OK,
	    "a.test/5 b.test/10" },
	{ "duplicate in other case", { R(P20 NA), R(P10 "\001A\004TeSt\000") }, 0,
	    DNS_OK, "a.test/10" },
	{ "single label", { R(P10 "\011localhost\000") }, 0, DNS_OK, "localhost/10" },
	{ "underscore and hyphen", { R(P10 "\003_m-\001x\000") }, 0, DNS_OK, "_m-.x/10" },
	{ "preference 65535", { R("\377\377" NA) }, 0, DNS_OK, "a.test/65535" },
	{ "no records", { { NULL, 0 } }, 0, DNS_NO_ADDRESS, "" },
	/* RFC 7505 */
	{ "null MX", { R(P0 ROOT) }, 0, DNS_NULL_MX, "" },
	{ "null MX twice", { R(P0 ROOT), R(P0 ROOT) }, 0, DNS_NULL_MX, "" },
	{ "root with preference 10 is no null MX", { R(P10 ROOT) }, 0, DNS_NO_ADDRESS, "" },
	{ "null MX beside a real MX: the real one", { R(P0 ROOT), R(P10 MX1) }, 0, DNS_OK,
	    "mx1.example.test/10" },
	{ "real MX beside a null MX", { R(P10 MX1), R(P0 ROOT) }, 0, DNS_OK,
	    "mx1.example.test/10" },
	/* well formed, but no host to connect to: skipped */
	{ "IPv4 address as target", { R(P10 "\0011\0012\0013\0014\000") }, 0,
	    DNS_NO_ADDRESS, "" },
	{ "IPv4 address beside a name", { R(P10 "\0011\0012\0013\0014\000"),
	    R(P20 NA) }, 0, DNS_OK, "a.test/20" },
	{ "space in a label", { R(P10 "\003a b\004test\000") }, 0, DNS_NO_ADDRESS, "" },
	{ "dot inside a label", { R(P10 "\003a.b\004test\000"), R(P20 NC) }, 0, DNS_OK,
	    "c.test/20" },
	{ "NUL inside a label", { R(P10 "\003a\0b\004test\000") }, 0, DNS_NO_ADDRESS,
	    "" },
	{ "octet over 0x7f", { R(P10 "\002\303\251\004test\000") }, 0, DNS_NO_ADDRESS,
	    "" },
	/* malformed: the whole set is refused */
	{ "empty RDATA", { R("") }, -1, 0, NULL },
	{ "preference only", { R(P10) }, -1, 0, NULL },
	{ "one octet", { R("\000") }, -1, 0, NULL },
	{ "no root label", { R(P10 "\003mx1") }, -1, 0, NULL },
	{ "label past the end", { R(P10 "\005mx1\000") }, -1, 0, NULL },
	{ "length octet last", { R(P10 "\003mx1\004") }, -1, 0, NULL },
	{ "compression pointer", { R(P10 "\300\014") }, -1, 0, NULL },
	{ "pointer after a label", { R(P10 "\003mx1\300\014") }, -1, 0, NULL },
	{ "extended label type 0x40", { R(P10 "\101a\000") }, -1, 0, NULL },
	{ "label type 0x80", { R(P10 "\200\000") }, -1, 0, NULL },
	{ "octets after the root", { R(P10 NA "x") }, -1, 0, NULL },
	{ "root then root", { R(P0 ROOT ROOT) }, -1, 0, NULL },
	{ "bad record among good ones", { R(P10 MX1), R(P20 "\003mx2"), R(P5 NA) }, -1, 0,
	    NULL },
	{ "negative length", { { P10 MX1, -1 } }, -1, 0, NULL },
};

/* clang-format on */

/* The identity shuffle: Fisher-Yates with j == i never swaps. */
static unsigned
rnd_identity(void *arg, unsigned bound)
{
	(void)arg;
	return bound - 1;
}

static unsigned
rnd_zero(void *arg, unsigned bound)
{
	(void)arg;
	(void)bound;
	return 0;
}

/* A source that breaks its contract: the parser must stay in bounds. */
static unsigned
rnd_huge(void *arg, unsigned bound)
{
	(void)arg;
	(void)bound;
	return UINT_MAX;
}

/* xorshift32, for the statistical test. */
static unsigned
rnd_xorshift(void *arg, unsigned bound)
{
	uint32_t *s = arg;

	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s % bound;
}

/* "host/pref host/pref" */
static void
format_set(const struct dns_mx *mx, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int r = snprintf(out + o, cap - o, "%s%s/%u", i ? " " : "", mx[i].host, mx[i].pref);

		assert_true(r >= 0 && (size_t)r < cap - o);
		o += (size_t)r;
	}
}

static int
parse_recs(const struct rec *recs, size_t count, unsigned (*rnd)(void *, unsigned), void *arg,
           struct dns_mx *out, size_t *n, enum dns_status *st)
{
	const char *data[64];
	int len[64];

	assert_true(count <= ARRAY_LEN(data));
	for (size_t i = 0; i < count; i++) {
		data[i] = recs[i].p;
		len[i] = recs[i].len;
	}
	return dns_mx_parse(data, len, count, rnd, arg, out, n, st);
}

static size_t
rec_count(const struct rec *recs)
{
	size_t n = 0;

	while (n < MAX_RECS && recs[n].p != NULL)
		n++;
	return n;
}

static void
test_parse_table(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(mx_cases); i++) {
		const struct mx_case *c = &mx_cases[i];
		struct dns_mx out[DNS_MX_MAX];
		size_t n = 99;
		enum dns_status st = DNS_TEMPFAIL;
		char got[2048];
		int ret = parse_recs(c->recs, rec_count(c->recs), rnd_identity, NULL, out, &n, &st);

		if (ret != c->ret) {
			print_error("%s: got return %d, want %d\n", c->name, ret, c->ret);
			failures++;
			continue;
		}
		if (ret < 0)
			continue;
		format_set(out, n, got, sizeof got);
		if (st != c->st || strcmp(got, c->want) != 0) {
			print_error("%s: got %s \"%s\", want %s \"%s\"\n", c->name,
			            dns_status_str(st), got, dns_status_str(c->st), c->want);
			failures++;
		}
		if ((st == DNS_OK) != (n > 0)) {
			print_error("%s: status %s with %zu hosts\n", c->name, dns_status_str(st),
			            n);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* A name of nlabels labels of len octets each (the last one shorter to hit
 * total exactly when total != 0), as MX RDATA into buf; returns its length. */
static int
make_name_rdata(unsigned char *buf, size_t cap, size_t total_wire, size_t label_len)
{
	size_t o = 2, left = total_wire - 1; /* the root octet */

	buf[0] = 0;
	buf[1] = 10;
	while (left > 0) {
		size_t l = left - 1 < label_len ? left - 1 : label_len;

		assert_true(l > 0 && o + 1 + l < cap);
		buf[o++] = (unsigned char)l;
		memset(buf + o, 'a' + (int)(o % 26), l);
		o += l;
		left -= l + 1;
	}
	buf[o++] = 0;
	return (int)o;
}

static void
test_name_limits(void **state)
{
	static const struct {
		size_t wire, label;
		int ret;
		size_t text;
	} cases[] = {
	    {255, 63, 0, 253}, /* the longest name: 63+63+63+61 */
	    {256, 63, -1, 0},
	    {255, 1, 0, 253}, /* 127 one-octet labels */
	    {65, 63, 0, 63},  /* the longest label */
	};
	unsigned char buf[600];
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct dns_mx out[DNS_MX_MAX];
		size_t n = 0;
		enum dns_status st;
		int len = make_name_rdata(buf, sizeof buf, cases[i].wire, cases[i].label);
		const char *data[1] = {(const char *)buf};
		int ret = dns_mx_parse(data, &len, 1, rnd_identity, NULL, out, &n, &st);

		if (ret != cases[i].ret ||
		    (ret == 0 && (n != 1 || strlen(out[0].host) != cases[i].text))) {
			print_error("wire %zu label %zu: got %d n=%zu len=%zu, want %d len=%zu\n",
			            cases[i].wire, cases[i].label, ret, n,
			            n ? strlen(out[0].host) : 0, cases[i].ret, cases[i].text);
			failures++;
		}
	}
	/* a 64-octet label: the length octet 0x40 is the reserved extended type */
	buf[0] = 0;
	buf[1] = 10;
	buf[2] = 64;
	memset(buf + 3, 'a', 64);
	buf[67] = 0;
	{
		struct dns_mx out[DNS_MX_MAX];
		size_t n;
		enum dns_status st;
		int len = 68;
		const char *data[1] = {(const char *)buf};

		if (dns_mx_parse(data, &len, 1, rnd_identity, NULL, out, &n, &st) != -1) {
			print_error("64-octet label: got accepted, want -1\n");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* 40 hosts with preferences 40..1: the 32 best are kept, in order. */
static void
test_cap(void **state)
{
	unsigned char bufs[40][16];
	const char *data[40];
	int len[40];
	struct dns_mx out[DNS_MX_MAX];
	size_t n;
	enum dns_status st;

	(void)state;
	for (size_t i = 0; i < 40; i++) {
		unsigned pref = (unsigned)(40 - i);
		int l = snprintf((char *)bufs[i] + 3, sizeof bufs[i] - 3, "h%02u", pref);

		assert_int_equal(l, 3);
		bufs[i][0] = 0;
		bufs[i][1] = (unsigned char)pref;
		bufs[i][2] = 3;
		bufs[i][6] = 0;
		data[i] = (const char *)bufs[i];
		len[i] = 7;
	}
	assert_int_equal(dns_mx_parse(data, len, 40, rnd_identity, NULL, out, &n, &st), 0);
	assert_int_equal(st, DNS_OK);
	assert_int_equal(n, DNS_MX_MAX);
	for (size_t i = 0; i < n; i++) {
		char want[8];

		assert_int_equal(out[i].pref, i + 1);
		assert_true(snprintf(want, sizeof want, "h%02zu", i + 1) == 3);
		assert_string_equal(out[i].host, want);
	}
}

/* Fixed sources give fixed orders; shuffling never crosses preferences. */
static void
test_shuffle_fixed(void **state)
{
	static const struct rec recs[] = {R(P20 ND), R(P10 NA), R(P10 NB), R(P10 NC)};
	static const struct {
		const char *name;
		unsigned (*rnd)(void *, unsigned);
		const char *want;
	} cases[] = {
	    {"identity", rnd_identity, "a.test/10 b.test/10 c.test/10 d.test/20"},
	    /* i=2 swaps with 0: c b a; i=1 swaps with 0: b c a */
	    {"always 0", rnd_zero, "b.test/10 c.test/10 a.test/10 d.test/20"},
	    {"out of contract", rnd_huge, NULL},
	};
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct dns_mx out[DNS_MX_MAX];
		size_t n;
		enum dns_status st;
		char got[256];

		assert_int_equal(
		    parse_recs(recs, ARRAY_LEN(recs), cases[i].rnd, NULL, out, &n, &st), 0);
		format_set(out, n, got, sizeof got);
		if (n != 4 || out[3].pref != 20 ||
		    (cases[i].want != NULL && strcmp(got, cases[i].want) != 0)) {
			print_error("%s: got \"%s\", want \"%s\"\n", cases[i].name, got,
			            cases[i].want ? cases[i].want : "d.test/20 last");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* Every order of three equal hosts comes up about as often as the others. */
static void
test_shuffle_uniform(void **state)
{
	static const struct rec recs[] = {R(P10 NA), R(P10 NB), R(P10 NC), R(P20 ND)};
	static const char *const perms[] = {"abc", "acb", "bac", "bca", "cab", "cba"};
	unsigned counts[6] = {0};
	uint32_t seed = 2463534242u;
	const unsigned runs = 6000;

	(void)state;
	for (unsigned r = 0; r < runs; r++) {
		struct dns_mx out[DNS_MX_MAX];
		size_t n;
		enum dns_status st;
		char order[4];

		assert_int_equal(parse_recs(recs, 4, rnd_xorshift, &seed, out, &n, &st), 0);
		assert_int_equal(n, 4);
		assert_string_equal(out[3].host, "d.test");
		for (size_t i = 0; i < 3; i++)
			order[i] = out[i].host[0];
		order[3] = '\0';
		for (size_t p = 0; p < 6; p++)
			if (strcmp(order, perms[p]) == 0)
				counts[p]++;
	}
	for (size_t p = 0; p < 6; p++)
		if (counts[p] < 800 || counts[p] > 1200)
			fail_msg("order %s came %u times of %u, want about %u", perms[p], counts[p],
			         runs, runs / 6);
}

static void
test_status_str(void **state)
{
	(void)state;
	assert_string_equal(dns_status_str(DNS_OK), "ok");
	assert_string_equal(dns_status_str(DNS_NXDOMAIN), "nxdomain");
	assert_string_equal(dns_status_str(DNS_NULL_MX), "null-mx");
	assert_string_equal(dns_status_str(DNS_NO_ADDRESS), "no-address");
	assert_string_equal(dns_status_str(DNS_TEMPFAIL), "tempfail");
	assert_string_equal(dns_status_str((enum dns_status)42), "unknown");
}

static void
test_bad_resolver(void **state)
{
	static const char *const bad[] = {"nonsense",
	                                  "127.0.0.1",
	                                  "127.0.0.1:0",
	                                  "127.0.0.1:70000",
	                                  "mx.example.test:53",
	                                  "::1:53",
	                                  "[::1]53",
	                                  ":53",
	                                  "[]:53"};
	struct event_base *base = event_base_new();
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct dns *d = dns_new(base, bad[i], err, sizeof err);

		if (d != NULL)
			fail_msg("resolver %s: got accepted, want refused", bad[i]);
		if (strncmp(err, "dns: resolver", 13) != 0)
			fail_msg("resolver %s: got message \"%s\"", bad[i], err);
	}
	event_base_free(base);
}

/* Results of the callbacks below. */
struct got {
	int calls;
	enum dns_status st;
	size_t n;
	char text[256];
};

static void
on_mx(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct got *g = arg;

	g->calls++;
	g->st = st;
	g->n = n;
	format_set(mx, n, g->text, sizeof g->text);
}

static void
on_addr(void *arg, enum dns_status st, const struct sockaddr_storage *a, size_t n)
{
	struct got *g = arg;

	g->calls++;
	g->st = st;
	g->n = n;
	g->text[0] = '\0';
	if (n == 1 && a[0].ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a[0])->sin_addr, g->text,
		          sizeof g->text);
	if (n == 1 && a[0].ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a[0])->sin6_addr, g->text,
		          sizeof g->text);
}

/* Answers known without asking: never from inside the call, always one
 * callback from the loop; a cancelled query gets none. The resolver address
 * is a discard port that is never sent anything. */
static void
test_no_network(void **state)
{
	static const char *const bad_names[] = {
	    "",
	    ".",
	    "a..b",
	    ".a",
	    "a b",
	    "a/b",
	    "a\\065",
	    "x.-\303\251.test",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test"};
	struct event_base *base = event_base_new();
	char err[256];
	struct dns *d = dns_new(base, "127.0.0.1:9", err, sizeof err);
	struct got g4 = {0}, g6 = {0}, gc = {0}, gbad[ARRAY_LEN(bad_names)];

	(void)state;
	assert_non_null(d);
	memset(gbad, 0, sizeof gbad);
	for (size_t i = 0; i < ARRAY_LEN(bad_names); i++)
		dns_mx(d, bad_names[i], on_mx, &gbad[i]);
	dns_addr(d, "192.0.2.7", on_addr, &g4);
	dns_addr(d, "2001:db8::7", on_addr, &g6);
	dns_cancel(dns_addr(d, "192.0.2.8", on_addr, &gc));
	assert_int_equal(g4.calls + g6.calls, 0);
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	for (size_t i = 0; i < ARRAY_LEN(bad_names); i++)
		if (gbad[i].calls != 1 || gbad[i].st != DNS_NXDOMAIN)
			fail_msg("name \"%s\": got %d calls, %s; want 1, nxdomain", bad_names[i],
			         gbad[i].calls, dns_status_str(gbad[i].st));
	assert_int_equal(g4.calls, 1);
	assert_int_equal(g4.st, DNS_OK);
	assert_string_equal(g4.text, "192.0.2.7");
	assert_int_equal(g6.calls, 1);
	assert_string_equal(g6.text, "2001:db8::7");
	assert_int_equal(gc.calls, 0);
	dns_free(d);
	event_base_free(base);
}

/* dns_free with queries waiting: no callback, nothing leaks. */
static void
test_free_outstanding(void **state)
{
	struct event_base *base = event_base_new();
	char err[256];
	struct dns *d = dns_new(base, "[::1]:9", err, sizeof err);
	struct got g = {0};

	(void)state;
	assert_non_null(d);
	dns_addr(d, "192.0.2.9", on_addr, &g);
	dns_mx(d, "bad..name", on_mx, &g);
	dns_free(d);
	assert_int_equal(event_base_loop(base, EVLOOP_NONBLOCK), 1); /* nothing left */
	assert_int_equal(g.calls, 0);
	dns_free(NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_name_limits),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_shuffle_fixed),
	    cmocka_unit_test(test_shuffle_uniform),
	    cmocka_unit_test(test_status_str),
	    cmocka_unit_test(test_bad_resolver),
	    cmocka_unit_test(test_no_network),
	    cmocka_unit_test(test_free_outstanding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
