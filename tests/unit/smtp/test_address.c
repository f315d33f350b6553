/* test_address.c - table-driven tests of src/smtp/address.c: paths, mailboxes,
 * address literals, quoted strings, UTF-8, every MAIL/RCPT parameter, the
 * length limits at max and max+1, relay tricks as plain data, and
 * format/parse round trips. Every input is copied into a heap buffer of its
 * exact size, so ASan catches a read past arg.len. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/address.h"
#include "util/xalloc.h"

static const char *const result_names[] = {
	"OK", "SYNTAX", "TOO_LONG", "SOURCE_ROUTE", "NULL_NOT_ALLOWED",
	"PARAM_UNKNOWN", "PARAM_BAD", "NEEDS_UTF8",
};

static const char *
rname(enum smtp_arg_result r)
{
	return (size_t)r < sizeof result_names / sizeof result_names[0] ? result_names[r] : "?";
}

static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			print_error(__VA_ARGS__);                                        \
			failures++;                                                      \
		}                                                                        \
	} while (0)

/* An exact-size heap copy of s (no NUL after it). */
static struct span
heap_span(const char *s, size_t len)
{
	char *p = xmalloc(len ? len : 1);

	memcpy(p, s, len);
	return span_make(p, len);
}

static void
heap_free(struct span s)
{
	free((void *)s.p);
}

static char *
repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* A domain of exactly n octets, in labels of at most 63. */
static char *
domain_of(size_t n)
{
	char *s = repeat('d', n);

	for (size_t i = 63; i < n - 1; i += 64)
		s[i] = '.';
	return s;
}

/* ---- MAIL FROM ---------------------------------------------------------- */

struct mail_case {
	const char *name;
	const char *in;
	enum smtp_arg_result want;
	enum smtp_path_kind kind; /* checked on OK */
	const char *local;        /* checked on OK (and SOURCE_ROUTE) when not NULL */
	const char *domain;
	struct smtp_mail_params params; /* checked on OK */
};

#define M_OK(n, i, l, d) { n, i, SMTP_ARG_OK, SMTP_PATH_MAILBOX, l, d, { 0 } }
#define M_NULL(n, i) { n, i, SMTP_ARG_OK, SMTP_PATH_NULL, "", "", { 0 } }
#define M_ERR(n, i, w) { n, i, SMTP_ARG_##w, 0, NULL, NULL, { 0 } }
#define M_P(n, i, ...) { n, i, SMTP_ARG_OK, SMTP_PATH_NULL, "", "", { __VA_ARGS__ } }

static const struct mail_case mail_cases[] = {
	M_OK("plain", "<a@b.c>", "a", "b.c"),
	M_OK("one SP before path", " <a@b.c>", "a", "b.c"),
	M_ERR("two SP before path", "  <a@b.c>", SYNTAX),
	M_ERR("HTAB before path", "\t<a@b.c>", SYNTAX),
	M_NULL("null path", "<>"),
	M_NULL("null path, SP", " <>"),
	M_NULL("null path, trailing SP", "<>   "),
	M_NULL("null path, trailing HTAB", "<>\t"),
	M_ERR("null path, junk", "<>x", SYNTAX),
	M_ERR("null path with space inside", "< >", SYNTAX),
	M_ERR("postmaster as sender", "<postmaster>", NULL_NOT_ALLOWED),
	M_ERR("Postmaster as sender", "<PostMaster>", NULL_NOT_ALLOWED),
	M_OK("postmaster with domain", "<postmaster@x.y>", "postmaster", "x.y"),
	M_ERR("empty", "", SYNTAX),
	M_ERR("only SP", " ", SYNTAX),
	M_ERR("no brackets", "a@b.c", SYNTAX),
	M_ERR("no closing bracket", "<a@b.c", SYNTAX),
	M_ERR("no opening bracket", "a@b.c>", SYNTAX),
	M_ERR("double brackets", "<<a@b.c>>", SYNTAX),
	M_OK("trailing SP", "<a@b.c>   ", "a", "b.c"),
	M_ERR("junk after path", "<a@b.c>x", SYNTAX),
	M_ERR("HTAB before params", "<a@b.c>\tSIZE=1", SYNTAX),
	M_ERR("no local part", "<@b.c>", SYNTAX),
	M_ERR("no domain", "<a@>", SYNTAX),
	M_ERR("no at", "<ab.c>", SYNTAX),
	M_ERR("two ats", "<a@b@c>", SYNTAX),
	M_ERR("bare word", "<foo>", SYNTAX),
	M_OK("dotted local", "<a.b.c@d>", "a.b.c", "d"),
	M_ERR("double dot local", "<a..b@c>", SYNTAX),
	M_ERR("leading dot local", "<.a@c>", SYNTAX),
	M_ERR("trailing dot local", "<a.@c>", SYNTAX),
	M_OK("atext specials", "<!#$%&'*+-/=?^_`{|}~@c>", "!#$%&'*+-/=?^_`{|}~", "c"),
	M_ERR("space in local", "<a b@c>", SYNTAX),
	M_ERR("comma in local", "<a,b@c>", SYNTAX),
	M_ERR("paren in local", "<a(b)@c>", SYNTAX),
	M_ERR("DEL in local", "<a\x7f@c>", SYNTAX),
	M_ERR("control in local", "<a\x01@c>", SYNTAX),
	M_ERR("double dot domain", "<a@b..c>", SYNTAX),
	M_ERR("leading dot domain", "<a@.b>", SYNTAX),
	M_ERR("trailing dot domain", "<a@b.>", SYNTAX),
	M_ERR("leading hyphen label", "<a@-b.c>", SYNTAX),
	M_ERR("trailing hyphen label", "<a@b-.c>", SYNTAX),
	M_ERR("hyphen-only label", "<a@-.c>", SYNTAX),
	M_OK("inner hyphens", "<a@b--c.d-e>", "a", "b--c.d-e"),
	M_OK("digit labels", "<a@1.2.3.4>", "a", "1.2.3.4"),
	M_OK("single label", "<a@localhost>", "a", "localhost"),
	M_OK("domain case kept", "<A@Example.COM>", "A", "Example.COM"),
	M_ERR("underscore in domain", "<a@b_c.d>", SYNTAX),
	M_ERR("space in domain", "<a@b c>", SYNTAX),
	M_ERR("percent in domain", "<a@b%c>", SYNTAX),
	M_OK("quoted local", "<\"a b\"@c>", "a b", "c"),
	M_OK("quoted escaped quote", "<\"a\\\"b\"@c>", "a\"b", "c"),
	M_OK("quoted escaped backslash", "<\"a\\\\b\"@c>", "a\\b", "c"),
	M_OK("quoted escaped letter", "<\"\\a\"@c>", "a", "c"),
	M_OK("quoted empty", "<\"\"@c>", "", "c"),
	M_OK("quoted with >", "<\"a>b\"@c>", "a>b", "c"),
	M_OK("quoted with <,:;", "<\"<,:;\"@c>", "<,:;", "c"),
	M_ERR("quoted then atom", "<\"a\"b@c>", SYNTAX),
	M_ERR("atom then quoted", "<a\"b\"@c>", SYNTAX),
	M_ERR("quoted dot atom", "<\"a\".b@c>", SYNTAX),
	M_ERR("unterminated quote", "<\"a@c>", SYNTAX),
	M_ERR("HTAB in quotes", "<\"a\tb\"@c>", SYNTAX),
	M_ERR("quoted-pair HTAB", "<\"a\\\tb\"@c>", SYNTAX),
	M_ERR("quoted-pair DEL", "<\"a\\\x7f\"@c>", SYNTAX),
	M_ERR("quoted CR", "<\"a\rb\"@c>", SYNTAX),
	M_ERR("backslash at end", "<\"a\\\"@c>", SYNTAX),
	M_OK("literal v4", "<a@[127.0.0.1]>", "a", "[127.0.0.1]"),
	M_OK("literal v4 zeros", "<a@[0.0.0.0]>", "a", "[0.0.0.0]"),
	M_OK("literal v4 255", "<a@[255.255.255.255]>", "a", "[255.255.255.255]"),
	M_OK("literal v4 leading zeros", "<a@[001.002.003.004]>", "a", "[001.002.003.004]"),
	M_ERR("literal v4 256", "<a@[256.0.0.1]>", SYNTAX),
	M_ERR("literal v4 4 digits", "<a@[0001.2.3.4]>", SYNTAX),
	M_ERR("literal v4 three parts", "<a@[1.2.3]>", SYNTAX),
	M_ERR("literal v4 five parts", "<a@[1.2.3.4.5]>", SYNTAX),
	M_ERR("literal v4 trailing dot", "<a@[1.2.3.4.]>", SYNTAX),
	M_ERR("literal v4 empty part", "<a@[1..3.4]>", SYNTAX),
	M_ERR("literal v4 hex", "<a@[0x1.2.3.4]>", SYNTAX),
	M_ERR("literal v4 sign", "<a@[+1.2.3.4]>", SYNTAX),
	M_OK("literal v6 loopback", "<a@[IPv6:::1]>", "a", "[IPv6:::1]"),
	M_OK("literal v6 tag any case", "<a@[ipv6:::1]>", "a", "[ipv6:::1]"),
	M_OK("literal v6", "<a@[IPv6:2001:db8::1]>", "a", "[IPv6:2001:db8::1]"),
	M_OK("literal v6 full", "<a@[IPv6:1:2:3:4:5:6:7:8]>", "a", "[IPv6:1:2:3:4:5:6:7:8]"),
	M_OK("literal v6v4", "<a@[IPv6:::ffff:1.2.3.4]>", "a", "[IPv6:::ffff:1.2.3.4]"),
	M_ERR("literal v6 with v4 only", "<a@[IPv6:1.2.3.4]>", SYNTAX),
	M_ERR("literal v6 zone", "<a@[IPv6:fe80::1%eth0]>", SYNTAX),
	M_ERR("literal v6 bad hex", "<a@[IPv6:gggg::1]>", SYNTAX),
	M_ERR("literal v6 too many groups", "<a@[IPv6:1:2:3:4:5:6:7:8:9]>", SYNTAX),
	M_ERR("literal v6 two ::", "<a@[IPv6:1::2::3]>", SYNTAX),
	M_ERR("literal v6 empty", "<a@[IPv6:]>", SYNTAX),
	M_ERR("literal v6 without tag", "<a@[::1]>", SYNTAX),
	M_OK("general literal", "<a@[x400:foo]>", "a", "[x400:foo]"),
	M_ERR("general literal bad tag", "<a@[x-:foo]>", SYNTAX),
	M_ERR("general literal empty content", "<a@[tag:]>", SYNTAX),
	M_ERR("general literal tag underscore", "<a@[t_g:x]>", SYNTAX),
	M_ERR("empty literal", "<a@[]>", SYNTAX),
	M_ERR("unclosed literal", "<a@[1.2.3.4>", SYNTAX),
	M_ERR("backslash in literal", "<a@[a\\b:c]>", SYNTAX),
	M_ERR("space in literal", "<a@[1.2.3.4 ]>", SYNTAX),
	M_ERR("literal after name", "<a@b[1.2.3.4]>", SYNTAX),
	M_ERR("name after literal", "<a@[1.2.3.4].b>", SYNTAX),
	M_ERR("quoted domain", "<a@\"b\">", SYNTAX),
	{ "source route", "<@a.b:c@d.e>", SMTP_ARG_SOURCE_ROUTE, 0, "c", "d.e", { 0 } },
	{ "source route two hops", "<@a,@b.c:d@e>", SMTP_ARG_SOURCE_ROUTE, 0, "d", "e", { 0 } },
	M_ERR("source route to bare word", "<@a:b>", SYNTAX),
	M_ERR("source route missing @", "<@a,b:c@d>", SYNTAX),
	M_ERR("source route empty domain", "<@:c@d>", SYNTAX),
	M_ERR("source route semicolon", "<@a;c@d>", SYNTAX),
	M_ERR("source route literal hop", "<@[1.2.3.4]:c@d>", SYNTAX),
	M_ERR("source route trailing comma", "<@a,:c@d>", SYNTAX),
	M_ERR("source route to null", "<@a:>", SYNTAX),
	M_OK("percent hack is data", "<user%remote@local>", "user%remote", "local"),
	M_OK("bang path is data", "<remote!user@local>", "remote!user", "local"),
	M_OK("quoted @ is data", "<\"user@remote\"@local>", "user@remote", "local"),
	M_OK("quoted route is data", "<\"@a:b\"@c>", "@a:b", "c"),
	M_ERR("utf8 local without SMTPUTF8", "<j\xc3\xb6@b>", NEEDS_UTF8),
	M_ERR("utf8 domain without SMTPUTF8", "<a@b\xc3\xbc.de>", NEEDS_UTF8),
	M_ERR("utf8 quoted without SMTPUTF8", "<\"j\xc3\xb6\"@b>", NEEDS_UTF8),
	M_ERR("bad utf8 lone lead", "<j\xc3@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 lone tail", "<j\x80@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 overlong", "<\xc0\xaf@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 overlong 3", "<\xe0\x80\xaf@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 surrogate", "<\xed\xa0\x80@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 past 10FFFF", "<\xf4\x90\x80\x80@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 F5", "<\xf5\x80\x80\x80@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 truncated 4", "<\xf0\x9f\x98@b> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 in domain", "<a@b\xff> SMTPUTF8", SYNTAX),
	M_ERR("bad utf8 in quotes", "<\"\xc3\"@b> SMTPUTF8", SYNTAX),
	M_ERR("quoted-pair of utf8", "<\"\\\xc3\xb6\"@b> SMTPUTF8", SYNTAX),
	M_ERR("utf8 in literal", "<a@[\xc3\xb6:x]> SMTPUTF8", SYNTAX),
	M_ERR("null path, double SP params", "<>  SIZE=1", PARAM_BAD),
	M_ERR("double SP between params", "<> SIZE=1  BODY=7BIT", PARAM_BAD),
	M_ERR("unknown param", "<> FOO=bar", PARAM_UNKNOWN),
	M_ERR("unknown param no value", "<> FOO", PARAM_UNKNOWN),
	M_ERR("unknown x- param", "<> X-FOO=1", PARAM_UNKNOWN),
	M_ERR("RCPT param in MAIL", "<> NOTIFY=NEVER", PARAM_UNKNOWN),
	M_ERR("keyword starts with -", "<> -FOO=1", PARAM_BAD),
	M_ERR("keyword with _", "<> F_O=1", PARAM_BAD),
	M_ERR("empty keyword", "<> =1", PARAM_BAD),
	M_ERR("equals in value", "<> BODY=7BIT=x", PARAM_BAD),
	M_ERR("control in value", "<> FOO=a\x01", PARAM_BAD),
	M_ERR("utf8 value without SMTPUTF8", "<> FOO=\xc3\xb6", PARAM_BAD),
	M_ERR("utf8 value of unknown", "<> FOO=\xc3\xb6 SMTPUTF8", PARAM_UNKNOWN),
	M_ERR("bad param before unknown", "<> SIZE=x FOO", PARAM_BAD),
	M_ERR("unknown before bad param", "<> FOO SIZE=x", PARAM_UNKNOWN),
	M_P("SIZE", "<> SIZE=100", .has_size = true, .size = 100),
	M_P("SIZE zero", "<> SIZE=0", .has_size = true, .size = 0),
	M_P("size lower case", "<> size=5", .has_size = true, .size = 5),
	M_P("SIZE max", "<> SIZE=18446744073709551615", .has_size = true, .size = UINT64_MAX),
	M_ERR("SIZE overflow", "<> SIZE=18446744073709551616", PARAM_BAD),
	M_P("SIZE 20 digits", "<> SIZE=00000000000000000001", .has_size = true, .size = 1),
	M_ERR("SIZE 21 digits", "<> SIZE=000000000000000000001", PARAM_BAD),
	M_ERR("SIZE empty", "<> SIZE=", PARAM_BAD),
	M_ERR("SIZE no value", "<> SIZE", PARAM_BAD),
	M_ERR("SIZE negative", "<> SIZE=-1", PARAM_BAD),
	M_ERR("SIZE junk", "<> SIZE=1x", PARAM_BAD),
	M_ERR("SIZE twice", "<> SIZE=1 SIZE=2", PARAM_BAD),
	M_ERR("SIZE twice, case", "<> SIZE=1 size=1", PARAM_BAD),
	M_P("SIZE trailing SP", "<> SIZE=1 ", .has_size = true, .size = 1),
	M_P("SIZE trailing HTAB", "<> SIZE=1\t", .has_size = true, .size = 1),
	M_P("BODY 7BIT", "<> BODY=7BIT", .body = SMTP_BODY_7BIT),
	M_P("BODY 8BITMIME", "<> BODY=8BITMIME", .body = SMTP_BODY_8BITMIME),
	M_P("BODY lower", "<> body=8bitmime", .body = SMTP_BODY_8BITMIME),
	M_P("BODY BINARYMIME", "<> BODY=BINARYMIME", .body = SMTP_BODY_BINARYMIME),
	M_ERR("BODY 8BIT", "<> BODY=8BIT", PARAM_BAD),
	M_ERR("BODY no value", "<> BODY", PARAM_BAD),
	M_ERR("BODY twice", "<> BODY=7BIT BODY=7BIT", PARAM_BAD),
	M_P("SMTPUTF8", "<> SMTPUTF8", .smtputf8 = true),
	M_P("smtputf8 lower", "<> smtputf8", .smtputf8 = true),
	M_ERR("SMTPUTF8 with value", "<> SMTPUTF8=yes", PARAM_BAD),
	M_ERR("SMTPUTF8 twice", "<> SMTPUTF8 SMTPUTF8", PARAM_BAD),
	M_P("RET FULL", "<> RET=FULL", .ret = SMTP_RET_FULL),
	M_P("RET HDRS", "<> RET=HDRS", .ret = SMTP_RET_HDRS),
	M_P("RET lower", "<> ret=hdrs", .ret = SMTP_RET_HDRS),
	M_ERR("RET NONE", "<> RET=NONE", PARAM_BAD),
	M_ERR("RET no value", "<> RET", PARAM_BAD),
	M_P("ENVID", "<> ENVID=QQ314159", .envid = "QQ314159"),
	M_P("ENVID hexchar", "<> ENVID=abc+2Bdef+3D", .envid = "abc+2Bdef+3D"),
	M_P("ENVID specials", "<> ENVID=!\"#<>~", .envid = "!\"#<>~"),
	M_ERR("ENVID lower hex", "<> ENVID=a+2b", PARAM_BAD),
	M_ERR("ENVID plus at end", "<> ENVID=a+", PARAM_BAD),
	M_ERR("ENVID plus one digit", "<> ENVID=a+2", PARAM_BAD),
	M_ERR("ENVID bad hex", "<> ENVID=a+GG", PARAM_BAD),
	M_ERR("ENVID empty", "<> ENVID=", PARAM_BAD),
	M_ERR("ENVID no value", "<> ENVID", PARAM_BAD),
	M_ERR("ENVID utf8", "<> ENVID=\xc3\xb6 SMTPUTF8", PARAM_BAD),
	M_ERR("ENVID twice", "<> ENVID=a ENVID=b", PARAM_BAD),
	M_P("AUTH null", "<> AUTH=<>", .has_auth = true),
	M_P("AUTH mailbox", "<> AUTH=a@b.c", .has_auth = true),
	M_P("AUTH xtext", "<> AUTH=a+40b", .has_auth = true),
	M_ERR("AUTH bad xtext", "<> AUTH=a+4", PARAM_BAD),
	M_ERR("AUTH empty", "<> AUTH=", PARAM_BAD),
	M_ERR("AUTH no value", "<> AUTH", PARAM_BAD),
	M_P("all parameters", "<> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=x AUTH=<>",
	    .has_size = true, .size = 10, .body = SMTP_BODY_8BITMIME, .smtputf8 = true,
	    .ret = SMTP_RET_FULL, .envid = "x", .has_auth = true),
	M_P("SMTPUTF8 enables utf8 value", "<> SMTPUTF8 BODY=8BITMIME", .smtputf8 = true,
	    .body = SMTP_BODY_8BITMIME),
	{ "utf8 local with SMTPUTF8", "<j\xc3\xb6@b> SMTPUTF8", SMTP_ARG_OK, SMTP_PATH_MAILBOX,
	    "j\xc3\xb6", "b", { .smtputf8 = true } },
	{ "SMTPUTF8 after another param", "<j\xc3\xb6@b> BODY=8BITMIME SMTPUTF8", SMTP_ARG_OK,
	    SMTP_PATH_MAILBOX, "j\xc3\xb6", "b",
	    { .smtputf8 = true, .body = SMTP_BODY_8BITMIME } },
	{ "utf8 domain with SMTPUTF8", "<a@b\xc3\xbc.de> SMTPUTF8", SMTP_ARG_OK, SMTP_PATH_MAILBOX,
	    "a", "b\xc3\xbc.de", { .smtputf8 = true } },
	{ "utf8 4-byte", "<\xf0\x9f\x98\x80@b> SMTPUTF8", SMTP_ARG_OK, SMTP_PATH_MAILBOX,
	    "\xf0\x9f\x98\x80", "b", { .smtputf8 = true } },
	{ "utf8 quoted", "<\"j\xc3\xb6 x\"@b> SMTPUTF8", SMTP_ARG_OK, SMTP_PATH_MAILBOX,
	    "j\xc3\xb6 x", "b", { .smtputf8 = true } },
	{ "utf8 label hyphen", "<a@\xc3\xbc-x.de> SMTPUTF8", SMTP_ARG_OK, SMTP_PATH_MAILBOX,
	    "a", "\xc3\xbc-x.de", { .smtputf8 = true } },
	{ "path and params", "<a@b> SIZE=5 BODY=7BIT", SMTP_ARG_OK, SMTP_PATH_MAILBOX, "a", "b",
	    { .has_size = true, .size = 5 } },
};

static void
check_mail_params(const char *name, const struct smtp_mail_params *got,
    const struct smtp_mail_params *want)
{
	CHECK(got->has_size == want->has_size && got->size == want->size,
	    "%s: got size %d/%llu, want %d/%llu\n", name, got->has_size,
	    (unsigned long long)got->size, want->has_size, (unsigned long long)want->size);
	CHECK(got->body == want->body, "%s: got body %d, want %d\n", name, got->body, want->body);
	CHECK(got->smtputf8 == want->smtputf8, "%s: got smtputf8 %d, want %d\n", name,
	    got->smtputf8, want->smtputf8);
	CHECK(got->ret == want->ret, "%s: got ret %d, want %d\n", name, got->ret, want->ret);
	CHECK(strcmp(got->envid, want->envid) == 0, "%s: got envid '%s', want '%s'\n", name,
	    got->envid, want->envid);
	CHECK(got->has_auth == want->has_auth, "%s: got has_auth %d, want %d\n", name,
	    got->has_auth, want->has_auth);
}

static void
check_mbox(const char *name, const struct smtp_mailbox *got, const char *local,
    const char *domain)
{
	if (local)
		CHECK(strcmp(got->local, local) == 0, "%s: got local '%s', want '%s'\n", name,
		    got->local, local);
	if (domain)
		CHECK(strcmp(got->domain, domain) == 0, "%s: got domain '%s', want '%s'\n",
		    name, got->domain, domain);
}

static void
run_mail(const struct mail_case *c)
{
	struct span in = heap_span(c->in, strlen(c->in));
	struct smtp_path path;
	struct smtp_mail_params params;
	const char *why = "unset";
	enum smtp_arg_result r = smtp_parse_mail(in, &path, &params, &why);

	CHECK(r == c->want, "%s: got %s, want %s (why: %s)\n", c->name, rname(r), rname(c->want),
	    why ? why : "NULL");
	if (r != SMTP_ARG_OK)
		CHECK(why != NULL && why[0] != '\0', "%s: got why NULL, want a text\n", c->name);
	else
		CHECK(why == NULL, "%s: got why '%s', want NULL\n", c->name, why);
	if (r == c->want && (r == SMTP_ARG_OK || r == SMTP_ARG_SOURCE_ROUTE))
		check_mbox(c->name, &path.mbox, c->local, c->domain);
	if (r == c->want && r == SMTP_ARG_OK) {
		CHECK(path.kind == c->kind, "%s: got kind %d, want %d\n", c->name, path.kind,
		    c->kind);
		check_mail_params(c->name, &params, &c->params);
	}
	heap_free(in);
}

static void
test_mail(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof mail_cases / sizeof mail_cases[0]; i++)
		run_mail(&mail_cases[i]);
	assert_int_equal(failures, 0);
}

/* ---- RCPT TO ------------------------------------------------------------ */

struct rcpt_case {
	const char *name;
	const char *in;
	bool utf8_ok;
	enum smtp_arg_result want;
	enum smtp_path_kind kind;
	const char *local, *domain;
	unsigned notify;
	const char *orcpt;
};

#define R_OK(n, i, l, d) { n, i, false, SMTP_ARG_OK, SMTP_PATH_MAILBOX, l, d, 0, "" }
#define R_ERR(n, i, w) { n, i, false, SMTP_ARG_##w, 0, NULL, NULL, 0, "" }
#define R_N(n, i, bits) { n, "<a@b> NOTIFY=" i, false, SMTP_ARG_OK, SMTP_PATH_MAILBOX, "a", "b", bits, "" }
#define R_O(n, i, u, o) { n, "<a@b> ORCPT=" i, u, SMTP_ARG_OK, SMTP_PATH_MAILBOX, "a", "b", 0, o }

#define NS SMTP_NOTIFY_SUCCESS
#define NF SMTP_NOTIFY_FAILURE
#define ND SMTP_NOTIFY_DELAY

static const struct rcpt_case rcpt_cases[] = {
	R_OK("plain", "<a@b.c>", "a", "b.c"),
	R_OK("one SP", " <a@b.c>", "a", "b.c"),
	R_ERR("two SP", "  <a@b.c>", SYNTAX),
	R_ERR("null path", "<>", NULL_NOT_ALLOWED),
	R_ERR("null path with params", "<> NOTIFY=NEVER", NULL_NOT_ALLOWED),
	{ "postmaster", "<postmaster>", false, SMTP_ARG_OK, SMTP_PATH_POSTMASTER, "postmaster",
	    "", 0, "" },
	{ "POSTMASTER", "<POSTMASTER>", false, SMTP_ARG_OK, SMTP_PATH_POSTMASTER, "postmaster",
	    "", 0, "" },
	{ "PostMaster params", " <PostMaster> NOTIFY=NEVER", false, SMTP_ARG_OK,
	    SMTP_PATH_POSTMASTER, "postmaster", "", SMTP_NOTIFY_NEVER, "" },
	R_OK("postmaster with domain", "<Postmaster@Example.com>", "Postmaster", "Example.com"),
	R_ERR("postmaster with space", "<postmaster >", SYNTAX),
	R_ERR("postmasterx", "<postmasterx>", SYNTAX),
	R_ERR("postmaster junk after", "<postmaster>x", SYNTAX),
	R_ERR("bare user", "<user>", SYNTAX),
	R_ERR("source route", "<@a:b@c>", SOURCE_ROUTE),
	R_ERR("source route to postmaster", "<@a:postmaster>", SYNTAX),
	R_OK("percent hack", "<user%remote@local>", "user%remote", "local"),
	R_OK("bang path", "<remote!user@local>", "remote!user", "local"),
	R_OK("quoted at", "<\"user@remote\"@local>", "user@remote", "local"),
	R_OK("quoted percent", "<\"user%remote\"@local>", "user%remote", "local"),
	R_ERR("utf8 without SMTPUTF8", "<j\xc3\xb6@b>", NEEDS_UTF8),
	{ "utf8 with SMTPUTF8", "<j\xc3\xb6@b>", true, SMTP_ARG_OK, SMTP_PATH_MAILBOX,
	    "j\xc3\xb6", "b", 0, "" },
	{ "bad utf8 with SMTPUTF8", "<j\xc3(@b>", true, SMTP_ARG_SYNTAX, 0, NULL, NULL, 0, "" },
	R_ERR("bad utf8 without SMTPUTF8", "<j\xc3(@b>", SYNTAX),
	R_ERR("MAIL param in RCPT", "<a@b> SIZE=1", PARAM_UNKNOWN),
	R_ERR("unknown param", "<a@b> FOO=1", PARAM_UNKNOWN),
	R_N("NOTIFY NEVER", "NEVER", SMTP_NOTIFY_NEVER),
	R_N("NOTIFY SUCCESS", "SUCCESS", NS),
	R_N("NOTIFY FAILURE", "FAILURE", NF),
	R_N("NOTIFY DELAY", "DELAY", ND),
	R_N("NOTIFY all three", "SUCCESS,FAILURE,DELAY", NS | NF | ND),
	R_N("NOTIFY lower", "success,delay", NS | ND),
	R_N("NOTIFY reordered", "DELAY,FAILURE", NF | ND),
	R_ERR("NOTIFY NEVER and more", "<a@b> NOTIFY=NEVER,SUCCESS", PARAM_BAD),
	R_ERR("NOTIFY more and NEVER", "<a@b> NOTIFY=DELAY,NEVER", PARAM_BAD),
	R_ERR("NOTIFY repeated keyword", "<a@b> NOTIFY=SUCCESS,SUCCESS", PARAM_BAD),
	R_ERR("NOTIFY trailing comma", "<a@b> NOTIFY=SUCCESS,", PARAM_BAD),
	R_ERR("NOTIFY leading comma", "<a@b> NOTIFY=,SUCCESS", PARAM_BAD),
	R_ERR("NOTIFY empty", "<a@b> NOTIFY=", PARAM_BAD),
	R_ERR("NOTIFY no value", "<a@b> NOTIFY", PARAM_BAD),
	R_ERR("NOTIFY unknown", "<a@b> NOTIFY=ALWAYS", PARAM_BAD),
	R_ERR("NOTIFY twice", "<a@b> NOTIFY=NEVER NOTIFY=NEVER", PARAM_BAD),
	R_O("ORCPT rfc822", "rfc822;a@b", false, "rfc822;a@b"),
	R_O("ORCPT xtext", "rfc822;a+40b+2Bc", false, "rfc822;a+40b+2Bc"),
	R_O("ORCPT semicolon in address", "rfc822;a;b", false, "rfc822;a;b"),
	R_O("ORCPT utf-8 type ascii", "utf-8;a\\x{E9}@b", false, "utf-8;a\\x{E9}@b"),
	R_O("ORCPT utf-8 raw", "utf-8;j\xc3\xb6@b", true, "utf-8;j\xc3\xb6@b"),
	R_O("ORCPT UTF-8 type any case", "UTF-8;j\xc3\xb6@b", true, "UTF-8;j\xc3\xb6@b"),
	R_ERR("ORCPT raw utf8 without SMTPUTF8", "<a@b> ORCPT=utf-8;j\xc3\xb6@b", PARAM_BAD),
	{ "ORCPT raw utf8 in rfc822", "<a@b> ORCPT=rfc822;j\xc3\xb6@b", true,
	    SMTP_ARG_PARAM_BAD, 0, NULL, NULL, 0, "" },
	R_ERR("ORCPT no address", "<a@b> ORCPT=rfc822;", PARAM_BAD),
	R_ERR("ORCPT no type", "<a@b> ORCPT=;a@b", PARAM_BAD),
	R_ERR("ORCPT no semicolon", "<a@b> ORCPT=rfc822", PARAM_BAD),
	R_ERR("ORCPT bad type", "<a@b> ORCPT=rfc(822;a@b", PARAM_BAD),
	R_ERR("ORCPT bad xtext", "<a@b> ORCPT=rfc822;a+4", PARAM_BAD),
	R_ERR("ORCPT lower hex", "<a@b> ORCPT=rfc822;a+4a", PARAM_BAD),
	R_ERR("ORCPT no value", "<a@b> ORCPT", PARAM_BAD),
	R_ERR("ORCPT twice", "<a@b> ORCPT=rfc822;a ORCPT=rfc822;a", PARAM_BAD),
	{ "NOTIFY and ORCPT", "<a@b> NOTIFY=FAILURE ORCPT=rfc822;a@b  ", false, SMTP_ARG_OK,
	    SMTP_PATH_MAILBOX, "a", "b", NF, "rfc822;a@b" },
	R_ERR("double SP", "<a@b>  NOTIFY=NEVER", PARAM_BAD),
	R_ERR("junk after path", "<a@b>NOTIFY=NEVER", SYNTAX),
	R_OK("literal", "<a@[IPv6:::1]>", "a", "[IPv6:::1]"),
};

static void
run_rcpt(const struct rcpt_case *c)
{
	struct span in = heap_span(c->in, strlen(c->in));
	struct smtp_path path;
	struct smtp_rcpt_params params;
	const char *why = "unset";
	enum smtp_arg_result r = smtp_parse_rcpt(in, c->utf8_ok, &path, &params, &why);

	CHECK(r == c->want, "%s: got %s, want %s (why: %s)\n", c->name, rname(r), rname(c->want),
	    why ? why : "NULL");
	if (r != SMTP_ARG_OK)
		CHECK(why != NULL && why[0] != '\0', "%s: got why NULL, want a text\n", c->name);
	if (r == c->want && r == SMTP_ARG_OK) {
		CHECK(why == NULL, "%s: got why '%s', want NULL\n", c->name, why);
		CHECK(path.kind == c->kind, "%s: got kind %d, want %d\n", c->name, path.kind,
		    c->kind);
		check_mbox(c->name, &path.mbox, c->local, c->domain);
		CHECK(params.notify == c->notify, "%s: got notify %u, want %u\n", c->name,
		    params.notify, c->notify);
		CHECK(strcmp(params.orcpt, c->orcpt) == 0, "%s: got orcpt '%s', want '%s'\n",
		    c->name, params.orcpt, c->orcpt);
	}
	heap_free(in);
}

static void
test_rcpt(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof rcpt_cases / sizeof rcpt_cases[0]; i++)
		run_rcpt(&rcpt_cases[i]);
	assert_int_equal(failures, 0);
}

/* ---- bare mailboxes ----------------------------------------------------- */

struct mbox_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum smtp_arg_result want;
	const char *local, *domain;
	bool quoted, literal, utf8;
};

static const struct mbox_case mbox_cases[] = {
	{ "plain", "a@b", 0, SMTP_ARG_OK, "a", "b", false, false, false },
	{ "case kept", "Alice@Example.COM", 0, SMTP_ARG_OK, "Alice", "Example.COM", 0, 0, 0 },
	{ "quoted", "\"x y\"@b", 0, SMTP_ARG_OK, "x y", "b", true, false, false },
	{ "quoted plain", "\"abc\"@b", 0, SMTP_ARG_OK, "abc", "b", true, false, false },
	{ "literal", "a@[192.0.2.1]", 0, SMTP_ARG_OK, "a", "[192.0.2.1]", false, true, false },
	{ "utf8", "j\xc3\xb6@b\xc3\xbc", 0, SMTP_ARG_OK, "j\xc3\xb6", "b\xc3\xbc", 0, 0, true },
	{ "utf8 domain only", "a@b\xc3\xbc", 0, SMTP_ARG_OK, "a", "b\xc3\xbc", 0, 0, true },
	{ "percent", "user%remote@local", 0, SMTP_ARG_OK, "user%remote", "local", 0, 0, 0 },
	{ "bang", "remote!user@local", 0, SMTP_ARG_OK, "remote!user", "local", 0, 0, 0 },
	{ "quoted at", "\"user@remote\"@local", 0, SMTP_ARG_OK, "user@remote", "local", 1, 0,
	    0 },
	{ "brackets", "<a@b>", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "trailing SP", "a@b ", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "leading SP", " a@b", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "no domain", "a", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "bare postmaster", "postmaster", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "empty", "", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "only at", "@", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "no local", "@b", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "empty domain", "a@", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "route", "@a:b@c", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "NUL inside", "a@b\0c", 5, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "NUL in quotes", "\"a\0\"@b", 6, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "comma list", "a@b,c@d", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
	{ "CR LF", "a@b\r\n", 0, SMTP_ARG_SYNTAX, NULL, NULL, 0, 0, 0 },
};

static void
run_mbox(const struct mbox_case *c)
{
	struct span in = heap_span(c->in, c->len ? c->len : strlen(c->in));
	struct smtp_mailbox mb;
	enum smtp_arg_result r = smtp_parse_mailbox(in, &mb);

	CHECK(r == c->want, "%s: got %s, want %s\n", c->name, rname(r), rname(c->want));
	if (r == c->want && r == SMTP_ARG_OK) {
		check_mbox(c->name, &mb, c->local, c->domain);
		CHECK(mb.quoted == c->quoted && mb.literal == c->literal && mb.utf8 == c->utf8,
		    "%s: got quoted/literal/utf8 %d%d%d, want %d%d%d\n", c->name, mb.quoted,
		    mb.literal, mb.utf8, c->quoted, c->literal, c->utf8);
	}
	heap_free(in);
}

static void
test_mailbox(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof mbox_cases / sizeof mbox_cases[0]; i++)
		run_mbox(&mbox_cases[i]);
	assert_int_equal(failures, 0);
}

/* ---- limits, at max and max + 1 ----------------------------------------- */

enum limit_kind { LIM_MAIL, LIM_RCPT, LIM_MBOX, LIM_ENVID, LIM_ORCPT };

struct limit_case {
	const char *name;
	enum limit_kind kind;
	size_t local, domain; /* lengths; quoted: local includes the two quotes */
	bool quoted;
	const char *route;    /* prefix inside the path, e.g. "@a:" */
	enum smtp_arg_result want;
	const char *why;
};

static const struct limit_case limit_cases[] = {
	{ "local 64", LIM_MAIL, 64, 10, false, "", SMTP_ARG_OK, NULL },
	{ "local 65", LIM_MAIL, 65, 10, false, "", SMTP_ARG_TOO_LONG, "Local part too long" },
	{ "local 65 rcpt", LIM_RCPT, 65, 10, false, "", SMTP_ARG_TOO_LONG, "Local part too long" },
	{ "quoted local 64", LIM_MAIL, 64, 10, true, "", SMTP_ARG_OK, NULL },
	{ "quoted local 65", LIM_MAIL, 65, 10, true, "", SMTP_ARG_TOO_LONG, "Local part too long" },
	{ "path 256", LIM_MAIL, 64, 189, false, "", SMTP_ARG_OK, NULL },
	{ "path 257", LIM_MAIL, 64, 190, false, "", SMTP_ARG_TOO_LONG, "Path too long" },
	{ "path 256 rcpt", LIM_RCPT, 64, 189, false, "", SMTP_ARG_OK, NULL },
	{ "path 257 rcpt", LIM_RCPT, 64, 190, false, "", SMTP_ARG_TOO_LONG, "Path too long" },
	{ "domain 255 is over path", LIM_MAIL, 1, 255, false, "", SMTP_ARG_TOO_LONG,
	    "Path too long" },
	{ "domain 256", LIM_MAIL, 1, 256, false, "", SMTP_ARG_TOO_LONG, "Domain too long" },
	{ "route path 257", LIM_MAIL, 60, 190, false, "@ab:", SMTP_ARG_TOO_LONG,
	    "Path too long" },
	{ "route path 256", LIM_MAIL, 60, 189, false, "@ab:", SMTP_ARG_SOURCE_ROUTE,
	    "Source routes are not accepted" },
	{ "mailbox 254", LIM_MBOX, 64, 189, false, "", SMTP_ARG_OK, NULL },
	{ "mailbox 255", LIM_MBOX, 64, 190, false, "", SMTP_ARG_TOO_LONG, NULL },
	{ "mailbox local 65", LIM_MBOX, 65, 10, false, "", SMTP_ARG_TOO_LONG, NULL },
	{ "mailbox domain 256", LIM_MBOX, 1, 256, false, "", SMTP_ARG_TOO_LONG, NULL },
	{ "ENVID 100", LIM_ENVID, 100, 0, false, "", SMTP_ARG_OK, NULL },
	{ "ENVID 101", LIM_ENVID, 101, 0, false, "", SMTP_ARG_PARAM_BAD, "Invalid ENVID value" },
	{ "ORCPT 500", LIM_ORCPT, 500, 0, false, "", SMTP_ARG_OK, NULL },
	{ "ORCPT 501", LIM_ORCPT, 501, 0, false, "", SMTP_ARG_PARAM_BAD, "Invalid ORCPT value" },
};

/* The text of one limit case, heap-allocated. */
static char *
limit_input(const struct limit_case *c)
{
	char *local = repeat('l', c->local);
	char *domain = c->domain ? domain_of(c->domain) : xstrdup("");
	char *s;

	if (c->quoted) {
		local[0] = '"';
		local[c->local - 1] = '"';
	}
	if (c->kind == LIM_ENVID)
		s = xasprintf("<> ENVID=%s", local);
	else if (c->kind == LIM_ORCPT)
		s = xasprintf("<a@b> ORCPT=rfc822;%s", local + 7);
	else if (c->kind == LIM_MBOX)
		s = xasprintf("%s@%s", local, domain);
	else
		s = xasprintf("<%s%s@%s>", c->route, local, domain);
	free(local);
	free(domain);
	return s;
}

static void
test_limits(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++) {
		const struct limit_case *c = &limit_cases[i];
		char *text = limit_input(c);
		struct span in = heap_span(text, strlen(text));
		struct smtp_path path;
		struct smtp_mail_params mp;
		struct smtp_rcpt_params rp;
		struct smtp_mailbox mb;
		const char *why = NULL;
		enum smtp_arg_result r;

		if (c->kind == LIM_RCPT || c->kind == LIM_ORCPT)
			r = smtp_parse_rcpt(in, false, &path, &rp, &why);
		else if (c->kind == LIM_MBOX)
			r = smtp_parse_mailbox(in, &mb);
		else
			r = smtp_parse_mail(in, &path, &mp, &why);
		CHECK(r == c->want, "%s: got %s, want %s\n", c->name, rname(r), rname(c->want));
		if (c->why)
			CHECK(why && strcmp(why, c->why) == 0, "%s: got why '%s', want '%s'\n",
			    c->name, why ? why : "NULL", c->why);
		if (c->kind == LIM_ENVID && r == SMTP_ARG_OK)
			CHECK(strlen(mp.envid) == c->local, "%s: got envid length %zu, want %zu\n",
			    c->name, strlen(mp.envid), c->local);
		if (c->kind == LIM_ORCPT && r == SMTP_ARG_OK)
			CHECK(strlen(rp.orcpt) == c->local, "%s: got orcpt length %zu, want %zu\n",
			    c->name, strlen(rp.orcpt), c->local);
		heap_free(in);
		free(text);
	}
	assert_int_equal(failures, 0);
}

/* ---- parsers stay inside the span --------------------------------------- */

struct bound_case {
	const char *name;
	const char *text; /* the span is the first len bytes */
	size_t len;
	enum smtp_arg_result want;
};

static const struct bound_case bound_cases[] = {
	{ "path then junk outside", "<a@b.c>XYZ", 7, SMTP_ARG_OK },
	{ "cut before >", "<a@b.c>", 6, SMTP_ARG_SYNTAX },
	{ "cut inside quotes", "<\"a b\"@c>", 3, SMTP_ARG_SYNTAX },
	{ "cut after backslash", "<\"a\\\"@c>", 4, SMTP_ARG_SYNTAX },
	{ "cut inside literal", "<a@[1.2.3.4]>", 8, SMTP_ARG_SYNTAX },
	{ "cut inside utf8", "<j\xc3\xb6@b> SMTPUTF8", 3, SMTP_ARG_SYNTAX },
	{ "cut inside param", "<> SIZE=123", 8, SMTP_ARG_PARAM_BAD },
	{ "cut inside hexchar", "<> ENVID=a+2B", 11, SMTP_ARG_PARAM_BAD },
	{ "cut inside <>", "<>", 1, SMTP_ARG_SYNTAX },
	{ "empty span", "", 0, SMTP_ARG_SYNTAX },
};

static void
test_bounds(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof bound_cases / sizeof bound_cases[0]; i++) {
		const struct bound_case *c = &bound_cases[i];
		struct span in = heap_span(c->text, c->len);
		struct smtp_path path;
		struct smtp_mail_params mp;
		enum smtp_arg_result r = smtp_parse_mail(in, &path, &mp, NULL);

		CHECK(r == c->want, "%s: got %s, want %s\n", c->name, rname(r), rname(c->want));
		heap_free(in);
	}
	/* A NULL span is an empty one. */
	{
		struct smtp_path path;
		struct smtp_rcpt_params rp;
		struct smtp_mailbox mb;

		CHECK(smtp_parse_rcpt(span_make(NULL, 0), false, &path, &rp, NULL) ==
		    SMTP_ARG_SYNTAX, "NULL span rcpt: want SYNTAX\n");
		CHECK(smtp_parse_mailbox(span_make(NULL, 0), &mb) == SMTP_ARG_SYNTAX,
		    "NULL span mailbox: want SYNTAX\n");
	}
	assert_int_equal(failures, 0);
}

/* ---- formatting --------------------------------------------------------- */

struct format_case {
	const char *name;
	const char *local, *domain;
	size_t outlen; /* 0: SMTP_ADDR_TEXT_MAX */
	int want_rc;
	const char *want;
};

static const struct format_case format_cases[] = {
	{ "plain", "a", "b", 0, 0, "a@b" },
	{ "dotted", "a.b", "c.d", 0, 0, "a.b@c.d" },
	{ "space quoted", "a b", "c", 0, 0, "\"a b\"@c" },
	{ "quote escaped", "a\"b", "c", 0, 0, "\"a\\\"b\"@c" },
	{ "backslash escaped", "a\\b", "c", 0, 0, "\"a\\\\b\"@c" },
	{ "leading dot quoted", ".a", "c", 0, 0, "\".a\"@c" },
	{ "double dot quoted", "a..b", "c", 0, 0, "\"a..b\"@c" },
	{ "at quoted", "user@remote", "local", 0, 0, "\"user@remote\"@local" },
	{ "percent not quoted", "user%remote", "local", 0, 0, "user%remote@local" },
	{ "empty local", "", "c", 0, 0, "\"\"@c" },
	{ "null path", "", "", 0, 0, "" },
	{ "postmaster", "postmaster", "", 0, 0, "postmaster" },
	{ "utf8 atom", "j\xc3\xb6", "b", 0, 0, "j\xc3\xb6@b" },
	{ "utf8 quoted", "j\xc3\xb6 x", "b", 0, 0, "\"j\xc3\xb6 x\"@b" },
	{ "literal", "a", "[127.0.0.1]", 0, 0, "a@[127.0.0.1]" },
	{ "control refused", "a\x01", "b", 0, -1, "" },
	{ "DEL refused", "a\x7f", "b", 0, -1, "" },
	{ "bad utf8 refused", "a\xc3", "b", 0, -1, "" },
	{ "exact fit", "a", "b", 4, 0, "a@b" },
	{ "one short", "a", "b", 3, -1, "" },
	{ "quoted one short", "a b", "c", 7, -1, "" },
	{ "quoted exact", "a b", "c", 8, 0, "\"a b\"@c" },
	{ "null path in 1", "", "", 1, 0, "" },
};

static void
test_format(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof format_cases / sizeof format_cases[0]; i++) {
		const struct format_case *c = &format_cases[i];
		struct smtp_mailbox mb;
		size_t outlen = c->outlen ? c->outlen : SMTP_ADDR_TEXT_MAX;
		char *out = xmalloc(outlen);
		int rc;

		memset(&mb, 0, sizeof mb);
		memcpy(mb.local, c->local, strlen(c->local) + 1);
		memcpy(mb.domain, c->domain, strlen(c->domain) + 1);
		rc = smtp_mailbox_format(&mb, out, outlen);
		CHECK(rc == c->want_rc, "%s: got rc %d, want %d\n", c->name, rc, c->want_rc);
		CHECK(strcmp(out, c->want) == 0, "%s: got '%s', want '%s'\n", c->name, out,
		    c->want);
		free(out);
	}
	{
		char one[1];
		struct smtp_mailbox mb;

		memset(&mb, 0, sizeof mb);
		mb.local[0] = 'a';
		mb.domain[0] = 'b';
		CHECK(smtp_mailbox_format(&mb, one, 0) == -1, "outlen 0: want -1\n");
	}
	assert_int_equal(failures, 0);
}

/* Every mailbox that parses formats to text that parses to the same mailbox. */
static void
roundtrip(const char *name, const struct smtp_mailbox *mb)
{
	char text[SMTP_ADDR_TEXT_MAX];
	struct smtp_mailbox again;
	enum smtp_arg_result r;

	if (smtp_mailbox_format(mb, text, sizeof text) < 0) {
		CHECK(0, "%s: got format -1, want 0\n", name);
		return;
	}
	r = smtp_parse_mailbox(span_cstr(text), &again);
	CHECK(r == SMTP_ARG_OK, "%s: reparse '%s': got %s, want OK\n", name, text, rname(r));
	if (r != SMTP_ARG_OK)
		return;
	CHECK(strcmp(again.local, mb->local) == 0 && strcmp(again.domain, mb->domain) == 0 &&
	    again.literal == mb->literal && again.utf8 == mb->utf8,
	    "%s: got '%s'@'%s' after round trip, want '%s'@'%s'\n", name, again.local,
	    again.domain, mb->local, mb->domain);
}

static void
test_roundtrip(void **state)
{
	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof mail_cases / sizeof mail_cases[0]; i++) {
		const struct mail_case *c = &mail_cases[i];
		struct smtp_path path;
		struct smtp_mail_params mp;

		if (smtp_parse_mail(span_cstr(c->in), &path, &mp, NULL) == SMTP_ARG_OK &&
		    path.kind == SMTP_PATH_MAILBOX)
			roundtrip(c->name, &path.mbox);
	}
	for (size_t i = 0; i < sizeof mbox_cases / sizeof mbox_cases[0]; i++) {
		const struct mbox_case *c = &mbox_cases[i];
		struct smtp_mailbox mb;

		if (c->want == SMTP_ARG_OK &&
		    smtp_parse_mailbox(span_cstr(c->in), &mb) == SMTP_ARG_OK)
			roundtrip(c->name, &mb);
	}
	{
		/* the longest quoted local part, full of escapes */
		char text[80];
		struct smtp_mailbox mb;
		size_t n = 0;

		text[n++] = '"';
		for (size_t k = 0; k < 31; k++) {
			text[n++] = '\\';
			text[n++] = (k % 2) ? '"' : '\\';
		}
		text[n++] = '"';
		memcpy(text + n, "@b", 3);
		CHECK(smtp_parse_mailbox(span_cstr(text), &mb) == SMTP_ARG_OK,
		    "escapes: want OK for %s\n", text);
		roundtrip("escapes", &mb);
	}
	assert_int_equal(failures, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mail),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_mailbox),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
