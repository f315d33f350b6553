/* test_ini.c - src/config/ini.c through config_load_string: lines, CRLF,
 * byte order mark, comments (whole-line and inline), section headers with
 * and without a quoted name, quoted values, and every syntax error with its
 * line. Table-driven; a failure prints what it got and what it wanted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"

/* ---- the INI syntax ---- */

static const struct load_case syntax_cases[] = {
    {"minimal", SRV LST, ""},
    {"comment lines", "# top\n; also\n" SRV "   # indented\n\t; tab\n\n" LST "#end", ""},
    {"comment after header", "[server] # c\nuser = nobody\nhostname = mx.test ; c\n" LST, ""},
    {"blanks in headers",
     "[ server ]\nuser = nobody\nhostname = mx.test\n"
     "[ listener   \"mx\" ]\naddress = 127.0.0.1:2525\ntls = none\n",
     ""},
    {"no blank before name", SRV "[listener\"mx\"]\naddress = 127.0.0.1:2525\ntls = none\n", ""},
    {"crlf",
     "[server]\r\nuser = nobody\r\nhostname = mx.test\r\n"
     "[listener \"mx\"]\r\naddress = 127.0.0.1:2525\r\ntls = none\r\n",
     ""},
    {"bom", "\xef\xbb\xbf" SRV LST, ""},
    {"no final newline", SRV LST "[domains]\nlocal = a.test", ""},
    {"control character",
     SRV LST "[domains]\nlocal = a\x01"
             "b.test\n",
     "t.conf:8: control character in line\n"},
    {"bare cr", SRV LST "[domains]\nlocal = a.test\rb.test\n",
     "t.conf:8: control character in line\n"},
    {"del", SRV LST "[domains]\nlocal = a.test\x7f\n", "t.conf:8: control character in line\n"},
    {"unterminated name", SRV LST "[listener \"x]\naddress = bad\n",
     "t.conf:7: unterminated quoted name in section header\n"},
    {"missing bracket", SRV LST "[domains\nlocal = bad_domain\n",
     "t.conf:7: expected ']' to end the section header\n"},
    {"text after bracket", SRV LST "[domains] local = a.test\n",
     "t.conf:7: unexpected text after ']'\n"},
    {"comment without blank after bracket", SRV LST "[domains]#c\n",
     "t.conf:7: unexpected text after ']'\n"},
    {"empty section name", SRV LST "[]\nx = 1\n", "t.conf:7: empty section name\n"},
    {"only quoted name", SRV LST "[\"mx\"]\n", "t.conf:7: empty section name\n"},
    {"nested bracket", SRV LST "[[domains]]\n",
     "t.conf:7: expected ']' to end the section header\n"},
    {"no equals", SRV LST "address 127.0.0.1:25\n",
     "t.conf:7: expected '[section]', 'key = value' or a comment\n"},
    {"missing key", SRV LST "= 127.0.0.1:25\n", "t.conf:7: missing key before '='\n"},
    {"unterminated quoted value", "[server]\nuser = nobody\nhostname = \"mx.test\n" LST,
     "t.conf:3: unterminated quoted value\n"},
    {"text after closing quote", SRV LST "[domains]\nlocal = \"a.test\" b.test\n",
     "t.conf:8: unexpected text after the closing quote\n"},
    {"quote then comment", SRV LST "[domains]\nlocal = \"a.test\" # c\n", ""},
    {"quote then comment no blank", SRV LST "[domains]\nlocal = \"a.test\"# c\n",
     "t.conf:8: unexpected text after the closing quote\n"},
    {"key outside section", "spool = /x\n" SRV LST,
     "t.conf:1: key 'spool' outside of any section\n"},
    {"unknown section skips its keys", SRV LST "[foo]\nbar = 1\nbaz = 2\n",
     "t.conf:7: unknown section [foo]\n"},
    {"sections are lower case", SRV LST "[Domains]\nlocal = a.test\n",
     "t.conf:7: unknown section [Domains]\n"},
    {"unknown key", SRV LST "[delivery]\nretry = 5m\n",
     "t.conf:8: unknown key 'retry' in [delivery]\n"},
    {"unknown listener key", SRV LST "port = 25\n",
     "t.conf:7: unknown key 'port' in [listener \"mx\"]\n"},
    {"keys are lower case", SRV LST "[domains]\nLocal = a.test\n",
     "t.conf:8: unknown key 'Local' in [domains]\n"},
    {"key with blank", SRV LST "[limits]\nmax errors = 3\n",
     "t.conf:8: unknown key 'max errors' in [limits]\n"},
    {"unknown key escaped", SRV LST "[limits]\nk\xc3\xa9y = 3\n",
     "t.conf:8: unknown key 'k\\xc3\\xa9y' in [limits]\n"},
    {"duplicate key", "[server]\nuser = nobody\nhostname = mx.test\nuser = nobody\n" LST,
     "t.conf:4: duplicate key 'user' in [server] (first at line 2)\n"},
    {"duplicate empty key", "[server]\nuser = nobody\nhostname = mx.test\nspool =\nspool = /x\n" LST,
     "t.conf:5: duplicate key 'spool' in [server] (first at line 4)\n"},
    {"duplicate listener key", SRV LST "tls = starttls\n",
     "t.conf:7: duplicate key 'tls' in [listener \"mx\"] (first at line 6)\n"},
    {"repeated section", SRV LST "[server]\nspool = /x\n",
     "t.conf:7: section [server] repeated (first at line 1)\n"},
    {"repeated section duplicate key", SRV LST "[server]\nuser = nobody\n",
     "t.conf:7: section [server] repeated (first at line 1)\n"
     "t.conf:8: duplicate key 'user' in [server] (first at line 2)\n"},
    {"section takes no name", "[server \"a\"]\nuser = nobody\nhostname = mx.test\n" LST,
     "t.conf:1: section [server] takes no name\n"},
    {"listener without name", SRV "[listener]\naddress = 127.0.0.1:25\ntls = none\n",
     "t.conf:4: section [listener] needs a name: [listener \"NAME\"]\n"},
    {"listener empty name", SRV "[listener \"\"]\naddress = 127.0.0.1:25\ntls = none\n",
     "t.conf:4: listener name \"\" is not 1 to 64 letters, digits, '.', '_' or '-'\n"},
    {"listener name with blank", SRV "[listener \"a b\"]\naddress = 127.0.0.1:25\ntls = none\n",
     "t.conf:4: listener name \"a b\" is not 1 to 64 letters, digits, '.', '_' or '-'\n"},
    {"listener name chars",
     SRV "[listener \"Sub-mission_1.x\"]\naddress = 127.0.0.1:25\n"
         "tls = none\n",
     ""},
    {"duplicate listener name", SRV LST "[listener \"mx\"]\naddress = 127.0.0.1:2526\ntls = none\n",
     "t.conf:7: duplicate listener name \"mx\" (first at line 4)\n"},
    {"no listener", SRV,
     "t.conf:1: no listener: add a [listener \"NAME\"] section with an address\n"},
    {"all problems reported",
     "[server]\nuser = nobody\nhostname = mx.test\nmax_message_size = big\nbogus = 1\n"
     "[listener \"mx\"]\naddress = nowhere\ntls = none\nauth = required\n"
     "[delivery]\nretry_min = 2h\nretry_max = 1h\n[relay]\nnetworks = 10.0.0.0/8 x 10.0.0.0/99\n",
     "t.conf:4: [server] max_message_size: 'big' is not a size (bytes, with an optional K, "
     "M or G suffix)\n"
     "t.conf:5: unknown key 'bogus' in [server]\n"
     "t.conf:7: [listener \"mx\"] address: 'nowhere' is not an IP address and port (e.g. "
     "0.0.0.0:25 or [::]:25)\n"
     "t.conf:14: [relay] networks: 'x' is not an IP network (e.g. 192.0.2.0/24 or "
     "2001:db8::/32)\n"
     "t.conf:14: [relay] networks: '10.0.0.0/99' is not an IP network (e.g. 192.0.2.0/24 or "
     "2001:db8::/32)\n"
     "t.conf:9: [listener \"mx\"] auth = required needs tls = starttls or implicit: AUTH is "
     "never offered on a cleartext connection\n"
     "t.conf:11: [delivery] retry_min (7200s) is greater than retry_max (3600s)\n"},
};

static void
test_syntax(void **state)
{
	(void)state;
	cfgtest_run_load_cases(syntax_cases, ARRAY_LEN(syntax_cases));
}

/* A NUL byte inside the text is refused, not taken as its end. */
static void
test_nul_byte(void **state)
{
	static const char text[] = SRV LST "[domains]\nlocal = a.test\0b\n";
	int failed = 0;

	(void)state;
	config_free(cfgtest_load_expect("nul", text, sizeof text - 1,
	                                "t.conf:8: control character in line\n", &failed));
	assert_int_equal(failed, 0);
}

static void
test_long_value_in_message(void **state)
{
	char text[1024], value[301];
	struct diag d;

	(void)state;
	memset(value, 'a', 300);
	value[0] = '_';
	value[300] = '\0';
	snprintf(text, sizeof text, "[server]\nuser = nobody\nhostname = %s\xff\n" LST, value);
	diag_init(&d);
	assert_null(config_load_string("t.conf", text, strlen(text), &d));
	assert_int_equal(d.n, 1);
	assert_true(strlen(d.items[0].text) < 200);
	assert_non_null(strstr(d.items[0].text, "t.conf:3: [server] hostname: '_aaaa"));
	assert_non_null(strstr(d.items[0].text, "...' is not a host name"));
	diag_reset(&d);

	snprintf(text, sizeof text, "[server]\nuser = nobody\nhostname = a\xff\n" LST);
	assert_null(config_load_string("t.conf", text, strlen(text), &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].text, "t.conf:3: [server] hostname: 'a\\xff' is not a host "
	                                     "name (letters, digits, '-', dots)");
	diag_reset(&d);
}

struct value_case {
	const char *name;
	const char *line; /* a [server] line setting spool */
	const char *want; /* the spool it gives */
};

static const struct value_case spool_cases[] = {
    {"plain", "spool = /a/b", "/a/b"},
    {"hash after blank", "spool = /a/b # comment", "/a/b"},
    {"semicolon after blank", "spool = /a/b ; comment", "/a/b"},
    {"hash after tab", "spool = /a/b\t# comment", "/a/b"},
    {"hash inside", "spool = /a#b", "/a#b"},
    {"semicolon inside", "spool = /a;b", "/a;b"},
    {"hash right after equals", "spool =#x", "#x"},
    {"blanks around", "  spool\t=\t /a/b \t", "/a/b"},
    {"blank inside", "spool = /a b/c", "/a b/c"},
    {"equals in value", "spool = /a=b", "/a=b"},
    {"quoted", "spool = \"/a/b\"", "/a/b"},
    {"quoted hash", "spool = \"/a #b\" # real comment", "/a #b"},
    {"quoted semicolon", "spool = \"/a ;b\"", "/a ;b"},
    {"quoted blanks kept", "spool = \" /a \"", " /a "},
    {"quote inside unquoted", "spool = /a\"b\"", "/a\"b\""},
    {"single quotes are literal", "spool = '/a'", "'/a'"},
    {"no blanks", "spool=/a", "/a"},
    {"utf-8",
     "spool = /var/sp\xc3\xb6"
     "l",
     "/var/sp\xc3\xb6"
     "l"},
};

static void
test_comments_and_quotes(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(spool_cases); i++) {
		char text[512];
		struct config *c;

		snprintf(text, sizeof text, "[server]\nuser = nobody\nhostname = mx.test\n%s\n" LST,
		         spool_cases[i].line);
		c = cfgtest_load_expect(spool_cases[i].name, text, strlen(text), "", &failed);
		if (c && strcmp(c->server.spool, spool_cases[i].want) != 0) {
			print_error("case %s: got spool '%s', want '%s'\n", spool_cases[i].name,
			            c->server.spool, spool_cases[i].want);
			failed++;
		}
		config_free(c);
	}
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_comments_and_quotes),
	    cmocka_unit_test(test_long_value_in_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
