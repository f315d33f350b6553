/* test_sizes_cidr.c - src/util/sizes.c (sizes, durations) and src/util/cidr.c
 * (CIDR parsing and matching, IPv4-mapped IPv6 clients). Table-driven. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>

#include "util/cidr.h"
#include "util/sizes.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct num_case {
	const char *in;
	int rc;
	uint64_t want;
};

static const struct num_case size_cases[] = {
    {"0", 0, 0},
    {"1", 0, 1},
    {"512", 0, 512},
    {"1K", 0, 1024},
    {"1k", 0, 1024},
    {"25M", 0, 26214400},
    {"25m", 0, 26214400},
    {"100M", 0, 104857600},
    {"2G", 0, 2147483648ULL},
    {"2g", 0, 2147483648ULL},
    {"007", 0, 7},
    {"18446744073709551615", 0, UINT64_MAX},
    {"17179869183G", 0, 17179869183ULL * 1073741824ULL},
    {"17179869184G", -1, 0}, /* 2^64: overflow */
    {"18446744073709551616", -1, 0},
    {"", -1, 0},
    {"K", -1, 0},
    {"M", -1, 0},
    {"-1", -1, 0},
    {"+1", -1, 0},
    {"1.5M", -1, 0},
    {"25 M", -1, 0},
    {" 25M", -1, 0},
    {"25M ", -1, 0},
    {"25MB", -1, 0},
    {"25T", -1, 0},
    {"25s", -1, 0},
    {"0x10", -1, 0},
};

static const struct num_case duration_cases[] = {
    {"0", 0, 0},
    {"30", 0, 30},
    {"30s", 0, 30},
    {"5m", 0, 300},
    {"10m", 0, 600},
    {"1h", 0, 3600},
    {"4h", 0, 14400},
    {"5d", 0, 432000},
    {"18446744073709551615s", 0, UINT64_MAX},
    {"307445734561825860m", 0, 307445734561825860ULL * 60},
    {"307445734561825861m", -1, 0},
    {"", -1, 0},
    {"m", -1, 0},
    {"5M", -1, 0}, /* minutes or months? lower case only */
    {"5H", -1, 0},
    {"5w", -1, 0},
    {"1h30m", -1, 0},
    {"-5m", -1, 0},
    {"5 m", -1, 0},
    {"5K", -1, 0},
};

static void
run_num_cases(const char *what, const struct num_case *cases, size_t n,
              int (*parse)(const char *, uint64_t *))
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t got = 12345;
		int rc = parse(cases[i].in, &got);

		if (rc != cases[i].rc || (rc == 0 && got != cases[i].want)) {
			print_error("%s(\"%s\"): got rc=%d value=%" PRIu64
			            ", want rc=%d value=%" PRIu64 "\n",
			            what, cases[i].in, rc, got, cases[i].rc, cases[i].want);
			failed++;
		} else if (rc != 0 && got != 12345) {
			print_error("%s(\"%s\"): wrote *out on failure\n", what, cases[i].in);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void
test_parse_size(void **state)
{
	(void)state;
	run_num_cases("parse_size", size_cases, ARRAY_LEN(size_cases), parse_size);
}

static void
test_parse_duration(void **state)
{
	(void)state;
	run_num_cases("parse_duration", duration_cases, ARRAY_LEN(duration_cases), parse_duration);
}

static void
test_span_variants(void **state)
{
	uint64_t v = 0;

	(void)state;
	/* Only the span's bytes count, not what follows them. */
	assert_int_equal(parse_size_span(span_make("25Mxyz", 3), &v), 0);
	assert_int_equal(v, 26214400);
	assert_int_equal(parse_duration_span(span_make("5m0", 2), &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(parse_size_span(span_make("", 0), &v), -1);
}

struct cidr_parse_case {
	const char *in;
	int rc;
	int family;
	const char *net; /* network address as inet_ntop prints it */
	unsigned prefix;
};

static const struct cidr_parse_case cidr_parse_cases[] = {
    {"127.0.0.0/8", 0, AF_INET, "127.0.0.0", 8},
    {"127.1.2.3/8", 0, AF_INET, "127.0.0.0", 8}, /* host bits cleared */
    {"192.0.2.1", 0, AF_INET, "192.0.2.1", 32},
    {"192.0.2.255/25", 0, AF_INET, "192.0.2.128", 25},
    {"10.1.2.3/0", 0, AF_INET, "0.0.0.0", 0},
    {"10.1.2.3/32", 0, AF_INET, "10.1.2.3", 32},
    {"10.1.2.3/31", 0, AF_INET, "10.1.2.2", 31},
    {"::1/128", 0, AF_INET6, "::1", 128},
    {"::1", 0, AF_INET6, "::1", 128},
    {"2001:db8::ff/32", 0, AF_INET6, "2001:db8::", 32},
    {"2001:db8:ffff::/33", 0, AF_INET6, "2001:db8:8000::", 33},
    {"::/0", 0, AF_INET6, "::", 0},
    {"::ffff:10.0.0.0/104", 0, AF_INET6, "::ffff:10.0.0.0", 104},
    {"", -1, 0, NULL, 0},
    {"/8", -1, 0, NULL, 0},
    {"127.0.0.0/", -1, 0, NULL, 0},
    {"127.0.0.0/33", -1, 0, NULL, 0},
    {"127.0.0.0/-1", -1, 0, NULL, 0},
    {"127.0.0.0/+8", -1, 0, NULL, 0},
    {"127.0.0.0/0008", -1, 0, NULL, 0},
    {"127.0.0.0/8/8", -1, 0, NULL, 0},
    {"127.0.0/8", -1, 0, NULL, 0},
    {"127.0.0.256", -1, 0, NULL, 0},
    {"127.0.0.1 ", -1, 0, NULL, 0},
    {" 127.0.0.1", -1, 0, NULL, 0},
    {"::1/129", -1, 0, NULL, 0},
    {"fe80::1%eth0/64", -1, 0, NULL, 0},
    {"[::1]/128", -1, 0, NULL, 0},
    {"localhost", -1, 0, NULL, 0},
    {"1:2:3:4:5:6:7:8:9", -1, 0, NULL, 0},
    {"0123456789012345678901234567890123456789012345678901234567890", -1, 0, NULL, 0},
};

static void
test_cidr_parse(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cidr_parse_cases); i++) {
		const struct cidr_parse_case *t = &cidr_parse_cases[i];
		struct cidr c;
		char text[INET6_ADDRSTRLEN] = "";
		int rc;

		memset(&c, 0, sizeof c);
		rc = cidr_parse(t->in, &c);
		if (rc == 0)
			inet_ntop(c.family, c.addr, text, sizeof text);
		if (rc != t->rc || (rc == 0 && (c.family != t->family || c.prefix != t->prefix ||
		                                strcmp(text, t->net) != 0))) {
			print_error("cidr_parse(\"%s\"): got rc=%d %s/%u family %d, want rc=%d "
			            "%s/%u family %d\n",
			            t->in, rc, text, c.prefix, c.family, t->rc,
			            t->net ? t->net : "-", t->prefix, t->family);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

struct cidr_match_case {
	const char *net;
	const char *client; /* an IPv4 or IPv6 address */
	bool want;
};

static const struct cidr_match_case cidr_match_cases[] = {
    {"127.0.0.0/8", "127.0.0.1", true},
    {"127.0.0.0/8", "127.255.255.255", true},
    {"127.0.0.0/8", "128.0.0.1", false},
    {"127.0.0.0/8", "::ffff:127.0.0.1", true}, /* IPv4-mapped client */
    {"127.0.0.0/8", "::ffff:10.0.0.1", false},
    {"127.0.0.0/8", "::1", false},
    {"127.0.0.0/8", "::127.0.0.1", false}, /* compatible, not mapped */
    {"127.0.0.0/8", "64:ff9b::127.0.0.1", false},
    {"192.0.2.128/25", "192.0.2.128", true},
    {"192.0.2.128/25", "192.0.2.127", false},
    {"192.0.2.1", "192.0.2.1", true},
    {"192.0.2.1", "192.0.2.2", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"0.0.0.0/0", "::ffff:203.0.113.9", true},
    {"0.0.0.0/0", "2001:db8::1", false},
    {"::1/128", "::1", true},
    {"::1/128", "127.0.0.1", false},
    {"::1/128", "::2", false},
    {"2001:db8::/32", "2001:db8:1234::1", true},
    {"2001:db8::/32", "2001:db9::1", false},
    {"2001:db8:8000::/33", "2001:db8:8000::1", true},
    {"2001:db8:8000::/33", "2001:db8:7fff::1", false},
    {"::/0", "2001:db8::1", true},
    {"::/0", "192.0.2.1", true},               /* as ::ffff:192.0.2.1 */
    {"::ffff:10.0.0.0/104", "10.1.2.3", true}, /* IPv4 client, mapped network */
    {"::ffff:10.0.0.0/104", "11.1.2.3", false},
    {"::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true},
};

/* A sockaddr for text, in the family its syntax says. */
static void
make_sockaddr(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
}

static void
test_cidr_match(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cidr_match_cases); i++) {
		const struct cidr_match_case *t = &cidr_match_cases[i];
		struct sockaddr_storage ss;
		struct cidr c;
		bool got;

		assert_int_equal(cidr_parse(t->net, &c), 0);
		make_sockaddr(t->client, &ss);
		got = cidr_match(&c, (const struct sockaddr *)&ss);
		if (got != t->want) {
			print_error("cidr_match(%s, %s): got %d, want %d\n", t->net, t->client, got,
			            t->want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

static void
test_cidr_other_family(void **state)
{
	struct sockaddr_storage ss;
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNIX;
	assert_false(cidr_match(&c, (const struct sockaddr *)&ss));
	assert_int_equal(cidr_parse_span(span_make("10.0.0.0/8 junk", 10), &c), 0);
	assert_int_equal(c.prefix, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),    cmocka_unit_test(test_parse_duration),
	    cmocka_unit_test(test_span_variants), cmocka_unit_test(test_cidr_parse),
	    cmocka_unit_test(test_cidr_match),    cmocka_unit_test(test_cidr_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
