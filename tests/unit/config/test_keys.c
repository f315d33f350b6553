/* test_keys.c - src/config/keys.c and check.c through config_load_string:
 * every key of every section, its default, an empty value, each value error
 * and each check across keys, with the exact message and line.
 * Table-driven; a failure prints what it got and what it wanted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgtest.h"

/* ---- one value at a time ---- */

#define ADDR_ERR(v)                                                                                \
	"t.conf:5: [listener \"mx\"] address: '" v "' is not an IP address and port (e.g. "        \
	"0.0.0.0:25 or [::]:25)\n"
#define ADDR_CASE(v)                                                                               \
	{                                                                                          \
		"address " v, SRV "[listener \"mx\"]\naddress = " v "\ntls = none\n", ADDR_ERR(v)  \
	}
#define SIZE_ERR(line, key, v)                                                                     \
	"t.conf:" line ": " key ": '" v                                                            \
	"' is not a size (bytes, with an optional K, M or G suffix)\n"
#define DUR_ERR(line, key, v)                                                                      \
	"t.conf:" line ": [delivery] " key ": '" v                                                 \
	"' is not a duration (a number with an optional s, m, "                                    \
	"h or d suffix)\n"
#define NET_ERR(v)                                                                                 \
	"t.conf:8: [relay] networks: '" v "' is not an IP network (e.g. 192.0.2.0/24 or "          \
	"2001:db8::/32)\n"
#define SMART_ERR(v)                                                                               \
	"t.conf:8: [relay] smarthost: '" v "' is not host:port (e.g. relay.example.net:587 or "    \
	"[2001:db8::1]:25)\n"
#define RESOLVER_ERR(v)                                                                            \
	"t.conf:8: [dns] resolver: '" v "' is not an IP address and port (e.g. 127.0.0.1:53 or "   \
	"[::1]:53)\n"

static const struct load_case value_cases[] = {
    /* [server] */
    {"hostname underscore", "[server]\nuser = nobody\nhostname = mx_1.test\n" LST,
     "t.conf:3: [server] hostname: 'mx_1.test' is not a host name (letters, digits, '-', "
     "dots)\n"},
    {"hostname trailing dot", "[server]\nuser = nobody\nhostname = mx.test.\n" LST,
     "t.conf:3: [server] hostname: 'mx.test.' is not a host name (letters, digits, '-', "
     "dots)\n"},
    {"hostname address", "[server]\nuser = nobody\nhostname = 192.0.2.1\n" LST,
     "t.conf:3: [server] hostname: '192.0.2.1' is not a host name (letters, digits, '-', "
     "dots)\n"},
    {"hostname blank inside", "[server]\nuser = nobody\nhostname = mx test\n" LST,
     "t.conf:3: [server] hostname: 'mx test' is not a host name (letters, digits, '-', "
     "dots)\n"},
    {"hostname label too long",
     "[server]\nuser = nobody\nhostname = "
     "a123456789012345678901234567890123456789012345678901234567890123.test\n" LST,
     "t.conf:3: [server] hostname: 'a123456789012345678901234567890123456789012345678901234"
     "567890123.test' is not a host name (letters, digits, '-', dots)\n"},
    {"size suffix", SRV "max_message_size = 25X\n" LST,
     SIZE_ERR("4", "[server] max_message_size", "25X")},
    {"size fraction", SRV "max_message_size = 1.5M\n" LST,
     SIZE_ERR("4", "[server] max_message_size", "1.5M")},
    {"size space", SRV "max_message_size = 25 M\n" LST,
     SIZE_ERR("4", "[server] max_message_size", "25 M")},
    {"size zero", SRV "max_message_size = 0\n" LST,
     "t.conf:4: [server] max_message_size: '0' is out of range (1 to 1024G)\n"},
    {"size too big", SRV "max_message_size = 1025G\n" LST,
     "t.conf:4: [server] max_message_size: '1025G' is out of range (1 to 1024G)\n"},
    {"size overflow", SRV "max_message_size = 99999999999999999999\n" LST,
     SIZE_ERR("4", "[server] max_message_size", "99999999999999999999")},
    {"recipients zero", SRV "max_recipients = 0\n" LST,
     "t.conf:4: [server] max_recipients: '0' is out of range (1 to 1000000)\n"},
    {"recipients negative", SRV "max_recipients = -1\n" LST,
     "t.conf:4: [server] max_recipients: '-1' is not a whole number (1 to 1000000)\n"},
    {"recipients word", SRV "max_recipients = many\n" LST,
     "t.conf:4: [server] max_recipients: 'many' is not a whole number (1 to 1000000)\n"},
    {"recipients too many", SRV "max_recipients = 1000001\n" LST,
     "t.conf:4: [server] max_recipients: '1000001' is out of range (1 to 1000000)\n"},
    {"user unknown", "[server]\nuser = no-such-user-xyzzy\nhostname = mx.test\n" LST,
     "t.conf:2: [server] user: no such user 'no-such-user-xyzzy'\n"},
    /* [listener] */
    ADDR_CASE("127.0.0.1"),
    ADDR_CASE("localhost:25"),
    ADDR_CASE("mx.test:25"),
    ADDR_CASE("::1:25"),
    ADDR_CASE(":::25"),
    ADDR_CASE("[127.0.0.1]:25"),
    ADDR_CASE("127.0.0.1:0"),
    ADDR_CASE("127.0.0.1:65536"),
    ADDR_CASE("127.0.0.1:-1"),
    ADDR_CASE("127.0.0.1:smtp"),
    ADDR_CASE("127.0.0.1:"),
    ADDR_CASE(":25"),
    ADDR_CASE("[::1]25"),
    ADDR_CASE("[::1]:"),
    ADDR_CASE("[::1"),
    ADDR_CASE("[]:25"),
    ADDR_CASE("[::1]:25x"),
    ADDR_CASE("*:25"),
    ADDR_CASE("256.0.0.1:25"),
    ADDR_CASE("[fe80::1%eth0]:25"),
    {"tls unknown", SRV "[listener \"mx\"]\naddress = 127.0.0.1:25\ntls = ssl\n",
     "t.conf:6: [listener \"mx\"] tls: 'ssl' is not one of none, starttls, implicit\n"},
    {"tls upper case", SRV "[listener \"mx\"]\naddress = 127.0.0.1:25\ntls = NONE\n",
     "t.conf:6: [listener \"mx\"] tls: 'NONE' is not one of none, starttls, implicit\n"},
    {"auth unknown", SRV LST "auth = yes\n",
     "t.conf:7: [listener \"mx\"] auth: 'yes' is not one of none, optional, required\n"},
    {"auth required without tls", SRV LST "auth = required\n",
     "t.conf:7: [listener \"mx\"] auth = required needs tls = starttls or implicit: AUTH is "
     "never offered on a cleartext connection\n"},
    {"auth optional without tls", SRV LST "auth = optional\n",
     "t.conf:7: [listener \"mx\"] auth = optional needs tls = starttls or implicit: AUTH is "
     "never offered on a cleartext connection\n"},
    {"auth none without tls", SRV LST "auth = none\n", ""},
    {"same address", SRV LST "[listener \"b\"]\naddress = 127.0.0.1:2525\ntls = none\n",
     "t.conf:8: [listener \"b\"] address 127.0.0.1:2525 is already used by [listener \"mx\"] "
     "(line 4)\n"},
    {"same v6 address, other spelling",
     SRV "[listener \"a\"]\naddress = [::]:25\ntls = none\n"
         "[listener \"b\"]\ntls = none\naddress = [0::0]:25\n",
     "t.conf:9: [listener \"b\"] address [0::0]:25 is already used by [listener \"a\"] "
     "(line 4)\n"},
    {"same default address", SRV "[listener \"a\"]\ntls = none\n[listener \"b\"]\ntls = none\n",
     "t.conf:6: [listener \"b\"] address 0.0.0.0:25 is already used by [listener \"a\"] "
     "(line 4)\n"},
    {"other port, other family",
     SRV LST "[listener \"b\"]\naddress = 127.0.0.1:2526\ntls = none\n"
             "[listener \"c\"]\naddress = [::]:2525\ntls = none\n"
             "[listener \"d\"]\naddress = 0.0.0.0:2525\ntls = none\n",
     ""},
    {"bad address is not also a duplicate",
     SRV "[listener \"a\"]\ntls = none\n[listener \"b\"]\naddress = x\ntls = none\n",
     "t.conf:7: [listener \"b\"] address: 'x' is not an IP address and port (e.g. "
     "0.0.0.0:25 or [::]:25)\n"},
    {"bad tls asks for no certificate",
     SRV "[listener \"mx\"]\naddress = 127.0.0.1:25\n"
         "tls = tls\nauth = required\n",
     "t.conf:6: [listener \"mx\"] tls: 'tls' is not one of none, starttls, implicit\n"},
    /* [domains] */
    {"domain underscore", SRV LST "[domains]\nlocal = a.test ex_ample.test\n",
     "t.conf:8: [domains] local: 'ex_ample.test' is not a domain name\n"},
    {"domain hyphen", SRV LST "[domains]\nlocal = -a.test a-.test a--b.test\n",
     "t.conf:8: [domains] local: '-a.test' is not a domain name\n"
     "t.conf:8: [domains] local: 'a-.test' is not a domain name\n"},
    {"domain empty label", SRV LST "[domains]\nlocal = a..test .test test.\n",
     "t.conf:8: [domains] local: 'a..test' is not a domain name\n"
     "t.conf:8: [domains] local: '.test' is not a domain name\n"
     "t.conf:8: [domains] local: 'test.' is not a domain name\n"},
    {"domain address", SRV LST "[domains]\nlocal = 192.0.2.1 [192.0.2.1]\n",
     "t.conf:8: [domains] local: '192.0.2.1' is not a domain name\n"
     "t.conf:8: [domains] local: '[192.0.2.1]' is not a domain name\n"},
    {"domain comma", SRV LST "[domains]\nlocal = a.test, b.test\n",
     "t.conf:8: [domains] local: 'a.test,' is not a domain name\n"},
    {"domain twice", SRV LST "[domains]\nlocal = a.test A.Test\n",
     "t.conf:8: warning: [domains] local: 'A.Test' is listed twice\n"},
    /* [mailboxes] */
    {"maildir without %n", SRV LST "[mailboxes]\nmaildir = /var/mail/%d\n",
     "t.conf:8: [mailboxes] maildir: '/var/mail/%d': no %n (the local part): every user "
     "would share one Maildir\n"},
    {"maildir unknown escape", SRV LST "[mailboxes]\nmaildir = /var/mail/%u/%n\n",
     "t.conf:8: [mailboxes] maildir: '/var/mail/%u/%n': unknown escape: '%' must start %d, "
     "%n or %%\n"},
    {"maildir lone percent", SRV LST "[mailboxes]\nmaildir = /var/mail/%n/%\n",
     "t.conf:8: [mailboxes] maildir: '/var/mail/%n/%': unknown escape: '%' must start %d, "
     "%n or %%\n"},
    {"maildir %%n is not %n", SRV LST "[mailboxes]\nmaildir = /var/mail/%%n\n",
     "t.conf:8: [mailboxes] maildir: '/var/mail/%%n': no %n (the local part): every user "
     "would share one Maildir\n"},
    {"maildir ok", SRV LST "[mailboxes]\nmaildir = /srv/100%%/%d/%n/Maildir\n", ""},
    /* [relay] */
    {"network prefix", SRV LST "[relay]\nnetworks = 10.0.0.0/33\n", NET_ERR("10.0.0.0/33")},
    {"network comma", SRV LST "[relay]\nnetworks = 127.0.0.0/8, ::1/128\n",
     NET_ERR("127.0.0.0/8,")},
    {"network name", SRV LST "[relay]\nnetworks = localhost\n", NET_ERR("localhost")},
    {"network v6 prefix", SRV LST "[relay]\nnetworks = ::1/129\n", NET_ERR("::1/129")},
    {"smarthost without port", SRV LST "[relay]\nsmarthost = relay.test\n",
     SMART_ERR("relay.test")},
    {"smarthost bad host", SRV LST "[relay]\nsmarthost = re_lay.test:25\n",
     SMART_ERR("re_lay.test:25")},
    {"smarthost bracketed v4", SRV LST "[relay]\nsmarthost = [192.0.2.1]:25\n",
     SMART_ERR("[192.0.2.1]:25")},
    {"smarthost bracketed name", SRV LST "[relay]\nsmarthost = [relay.test]:25\n",
     SMART_ERR("[relay.test]:25")},
    {"smarthost port 0", SRV LST "[relay]\nsmarthost = relay.test:0\n", SMART_ERR("relay.test:0")},
    {"smarthost forms", SRV LST "[relay]\nsmarthost = relay.test:587\n", ""},
    /* [dns] */
    {"resolver name", SRV LST "[dns]\nresolver = dns.test:53\n", RESOLVER_ERR("dns.test:53")},
    {"resolver without port", SRV LST "[dns]\nresolver = 127.0.0.1\n", RESOLVER_ERR("127.0.0.1")},
    {"resolver v6 unbracketed", SRV LST "[dns]\nresolver = ::1:53\n", RESOLVER_ERR("::1:53")},
    /* [delivery] */
    {"remote_port zero", SRV LST "[delivery]\nremote_port = 0\n",
     "t.conf:8: [delivery] remote_port: '0' is not a port number (1 to 65535)\n"},
    {"remote_port big", SRV LST "[delivery]\nremote_port = 65536\n",
     "t.conf:8: [delivery] remote_port: '65536' is not a port number (1 to 65535)\n"},
    {"remote_port name", SRV LST "[delivery]\nremote_port = smtp\n",
     "t.conf:8: [delivery] remote_port: 'smtp' is not a port number (1 to 65535)\n"},
    {"duration suffix", SRV LST "[delivery]\nretry_min = 5x\n", DUR_ERR("8", "retry_min", "5x")},
    {"duration upper case", SRV LST "[delivery]\nretry_max = 1H\n",
     DUR_ERR("8", "retry_max", "1H")},
    {"duration combined", SRV LST "[delivery]\nqueue_lifetime = 1d12h\n",
     DUR_ERR("8", "queue_lifetime", "1d12h")},
    {"duration week", SRV LST "[delivery]\nwarn_after = 1w\n", DUR_ERR("8", "warn_after", "1w")},
    {"duration zero", SRV LST "[delivery]\nretry_min = 0\n",
     "t.conf:8: [delivery] retry_min: '0' is out of range (1s to 3650d)\n"},
    {"duration too long", SRV LST "[delivery]\nqueue_lifetime = 3651d\n",
     "t.conf:8: [delivery] queue_lifetime: '3651d' is out of range (1s to 3650d)\n"},
    {"retry_min over default max", SRV LST "[delivery]\nretry_min = 2h\n",
     "t.conf:8: [delivery] retry_min (7200s) is greater than retry_max (3600s)\n"},
    {"retry_max under default min", SRV LST "[delivery]\nretry_max = 1m\n",
     "t.conf:8: [delivery] retry_min (300s) is greater than retry_max (60s)\n"},
    {"bad retry_max is not compared", SRV LST "[delivery]\nretry_min = 2h\nretry_max = 1x\n",
     DUR_ERR("9", "retry_max", "1x")},
    {"retry equal", SRV LST "[delivery]\nretry_min = 10m\nretry_max = 600\n", ""},
    {"warn_after not shorter", SRV LST "[delivery]\nwarn_after = 5d\n",
     "t.conf:8: warning: [delivery] warn_after (432000s) is not shorter than queue_lifetime "
     "(432000s): no 'delayed' DSN will be sent\n"},
    {"queue_lifetime short", SRV LST "[delivery]\nqueue_lifetime = 1h\n",
     "t.conf:8: warning: [delivery] warn_after (14400s) is not shorter than queue_lifetime "
     "(3600s): no 'delayed' DSN will be sent\n"},
    /* [limits] */
    {"command_timeout", SRV LST "[limits]\ncommand_timeout = soon\n",
     "t.conf:8: [limits] command_timeout: 'soon' is not a duration (a number with an "
     "optional s, m, h or d suffix)\n"},
    {"data_timeout zero", SRV LST "[limits]\ndata_timeout = 0s\n",
     "t.conf:8: [limits] data_timeout: '0s' is out of range (1s to 3650d)\n"},
    {"max_connections zero", SRV LST "[limits]\nmax_connections = 0\n",
     "t.conf:8: [limits] max_connections: '0' is out of range (1 to 1000000)\n"},
    {"per ip zero", SRV LST "[limits]\nmax_connections_per_ip = 0\n",
     "t.conf:8: [limits] max_connections_per_ip: '0' is out of range (1 to 1000000)\n"},
    {"per ip over total", SRV LST "[limits]\nmax_connections = 10\n",
     "t.conf:8: warning: [limits] max_connections_per_ip (20) is greater than "
     "max_connections (10)\n"},
    {"max_errors zero", SRV LST "[limits]\nmax_errors = 0\n", ""},
    {"max_errors big", SRV LST "[limits]\nmax_errors = 1000001\n",
     "t.conf:8: [limits] max_errors: '1000001' is out of range (0 to 1000000)\n"},
    {"min_free_space", SRV LST "[limits]\nmin_free_space = 1T\n",
     SIZE_ERR("8", "[limits] min_free_space", "1T")},
    {"min_free_space zero", SRV LST "[limits]\nmin_free_space = 0\n", ""},
    /* [tls] files: a directory is not a certificate */
    {"cert is a directory",
     SRV "[listener \"mx\"]\naddress = 127.0.0.1:2525\ntls = implicit\n[tls]\ncert = /\n"
         "key = /nonexistent/key.pem\n",
     "t.conf:8: [tls] cert: cannot read '/': not a regular file (needed by [listener \"mx\"] "
     "with tls = implicit)\n"
     "t.conf:9: [tls] key: cannot read '/nonexistent/key.pem': No such file or directory "
     "(needed by [listener \"mx\"] with tls = implicit)\n"},
    {"cert needed by default tls",
     SRV "[listener \"mx\"]\naddress = 127.0.0.1:2525\n[tls]\ncert = /nonexistent/c\n"
         "key = /nonexistent/k\n",
     "t.conf:7: [tls] cert: cannot read '/nonexistent/c': No such file or directory "
     "(needed by [listener \"mx\"] with tls = starttls)\n"
     "t.conf:8: [tls] key: cannot read '/nonexistent/k': No such file or directory "
     "(needed by [listener \"mx\"] with tls = starttls)\n"},
    {"cert not needed without tls", SRV LST "[tls]\ncert = /nonexistent/c\n", ""},
};

static void
test_values(void **state)
{
	(void)state;
	cfgtest_run_load_cases(value_cases, ARRAY_LEN(value_cases));
}

/* ---- what lands in the struct ---- */

/* Every key of every section set to a value other than its default. */
static const char every_key_text[] =
    "[server]\nhostname = MX.Example.test\nspool = /srv/spool\nmax_message_size = 10M\n"
    "max_recipients = 50\nuser = nobody\n"
    "[listener \"mx\"]\naddress = [::1]:2525\ntls = starttls\nauth = none\n"
    "[listener \"sub\"]\naddress = 127.0.0.1:587\ntls = implicit\nauth = required\n"
    "[listener \"opt\"]\naddress = 127.0.0.1:588\ntls = starttls\nauth = optional\n"
    "[tls]\ncert = /dev/null\nkey = /dev/null\n"
    "[domains]\nlocal = Example.TEST example.org\n"
    "[mailboxes]\nusers = /srv/users\naliases = /srv/aliases\nmaildir = /srv/mail/%d/%n\n"
    "[relay]\nnetworks = 192.0.2.0/24 2001:db8::/32\nsmarthost = [2001:db8::1]:587\n"
    "[dns]\nresolver = 127.0.0.1:5353\n"
    "[delivery]\nremote_port = 2526\nretry_min = 30s\nretry_max = 2h\n"
    "queue_lifetime = 2d\nwarn_after = 30m\n"
    "[limits]\ncommand_timeout = 1m\ndata_timeout = 2m\nmax_connections = 50\n"
    "max_connections_per_ip = 5\nmax_errors = 3\nmin_free_space = 1G\n";

/* [server] and the listeners of every_key_text. */
static void
assert_every_key_server(const struct config *c)
{
	assert_string_equal(c->file, "t.conf");
	assert_string_equal(c->server.hostname, "MX.Example.test");
	assert_string_equal(c->server.spool, "/srv/spool");
	assert_int_equal(c->server.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(c->server.max_recipients, 50);
	assert_string_equal(c->server.user, "nobody");
	assert_int_equal(c->nlisteners, 3);
	assert_string_equal(c->listeners[0].name, "mx");
	assert_string_equal(c->listeners[0].host, "::1");
	assert_int_equal(c->listeners[0].port, 2525);
	assert_int_equal(c->listeners[0].tls, CONFIG_TLS_STARTTLS);
	assert_int_equal(c->listeners[0].auth, CONFIG_AUTH_NONE);
	assert_int_equal(c->listeners[0].line, 7);
	assert_string_equal(c->listeners[1].name, "sub");
	assert_string_equal(c->listeners[1].host, "127.0.0.1");
	assert_int_equal(c->listeners[1].port, 587);
	assert_int_equal(c->listeners[1].tls, CONFIG_TLS_IMPLICIT);
	assert_int_equal(c->listeners[1].auth, CONFIG_AUTH_REQUIRED);
	assert_int_equal(c->listeners[1].line, 11);
	assert_int_equal(c->listeners[2].auth, CONFIG_AUTH_OPTIONAL);
}

/* The other sections of every_key_text. */
static void
assert_every_key_rest(const struct config *c)
{
	assert_int_equal(c->nlocal_domains, 2);
	assert_string_equal(c->local_domains[0], "example.test");
	assert_string_equal(c->local_domains[1], "example.org");
	assert_string_equal(c->mailboxes.users, "/srv/users");
	assert_true(c->mailboxes.users_explicit);
	assert_string_equal(c->mailboxes.aliases, "/srv/aliases");
	assert_true(c->mailboxes.aliases_explicit);
	assert_string_equal(c->mailboxes.maildir, "/srv/mail/%d/%n");
	assert_int_equal(c->relay.nnetworks, 2);
	cfgtest_assert_net(c, 0, "192.0.2.0/24");
	cfgtest_assert_net(c, 1, "2001:db8::/32");
	assert_string_equal(c->relay.smarthost, "[2001:db8::1]:587");
	assert_string_equal(c->dns.resolver, "127.0.0.1:5353");
	assert_int_equal(c->delivery.remote_port, 2526);
	assert_int_equal(c->delivery.retry_min, 30);
	assert_int_equal(c->delivery.retry_max, 7200);
	assert_int_equal(c->delivery.queue_lifetime, 2 * 86400);
	assert_int_equal(c->delivery.warn_after, 1800);
	assert_int_equal(c->limits.command_timeout, 60);
	assert_int_equal(c->limits.data_timeout, 120);
	assert_int_equal(c->limits.max_connections, 50);
	assert_int_equal(c->limits.max_connections_per_ip, 5);
	assert_int_equal(c->limits.max_errors, 3);
	assert_int_equal(c->limits.min_free_space, 1024ULL * 1024 * 1024);
}

static void
test_every_key(void **state)
{
	struct config *c;

	(void)state;
	/* /dev/null is no regular file: use the check's view of it as a probe
	 * that cert and key are read; a real file is tested below. */
	{
		int failed = 0;

		config_free(cfgtest_load_expect(
		    "every key", every_key_text, strlen(every_key_text),
		    "t.conf:20: [tls] cert: cannot read '/dev/null': not a regular file (needed by "
		    "[listener \"mx\"] with tls = starttls)\n"
		    "t.conf:21: [tls] key: cannot read '/dev/null': not a regular file (needed by "
		    "[listener \"mx\"] with tls = starttls)\n",
		    &failed));
		assert_int_equal(failed, 0);
	}
	{
		char path[] = "/tmp/postino-test-cert-XXXXXX";
		int fd = mkstemp(path);
		char *t2;

		assert_true(fd >= 0);
		close(fd);
		t2 = cfgtest_replace_all(every_key_text, "/dev/null", path);
		c = cfgtest_load_ok(t2);
		assert_string_equal(c->tls.cert, path);
		assert_string_equal(c->tls.key, path);
		free(t2);
		unlink(path);
	}
	assert_every_key_server(c);
	assert_every_key_rest(c);
	config_free(c);
}

static void
test_defaults(void **state)
{
	struct config *c;

	(void)state;
	c = cfgtest_load_ok(SRV LST);
	assert_string_equal(c->server.hostname, "mx.test");
	assert_string_equal(c->server.user, "nobody");
	cfgtest_assert_file_defaults(c);
	assert_string_equal(c->tls.cert, "/etc/postino/cert.pem");
	assert_string_equal(c->tls.key, "/etc/postino/key.pem");
	assert_false(c->tls.self_signed);
	assert_int_equal(c->nlocal_domains, 1);
	assert_string_equal(c->local_domains[0], "localhost");
	assert_false(c->mailboxes.users_explicit);
	assert_false(c->mailboxes.aliases_explicit);
	assert_int_equal(c->relay.nnetworks, 2);
	cfgtest_assert_net(c, 0, "127.0.0.0/8");
	cfgtest_assert_net(c, 1, "::1/128");
	config_free(c);

	/* Listener defaults: 0.0.0.0:25, auth none (tls default starttls: below). */
	c = cfgtest_load_ok(SRV "[listener \"x\"]\ntls = none\n");
	assert_string_equal(c->listeners[0].host, "0.0.0.0");
	assert_int_equal(c->listeners[0].port, 25);
	assert_int_equal(c->listeners[0].auth, CONFIG_AUTH_NONE);
	assert_int_equal(c->listeners[0].line, 4);
	config_free(c);
}

/* An empty value is the default, except relay.networks where it is "none". */
static void
test_empty_values(void **state)
{
	static const char text[] =
	    "[server]\nhostname = mx.test\nspool =\nmax_message_size =\nmax_recipients =  \n"
	    "user = nobody\n"
	    "[listener \"mx\"]\naddress =\ntls = none\nauth =\n"
	    "[tls]\ncert =\nkey = \"\"\n"
	    "[domains]\nlocal =\n"
	    "[mailboxes]\nusers =\naliases = # none given\nmaildir =\n"
	    "[relay]\nnetworks =\nsmarthost =                        # comment\n"
	    "[dns]\nresolver =\n"
	    "[delivery]\nremote_port =\nretry_min =\nretry_max =\nqueue_lifetime =\nwarn_after =\n"
	    "[limits]\ncommand_timeout =\ndata_timeout =\nmax_connections =\n"
	    "max_connections_per_ip =\nmax_errors =\nmin_free_space =\n";
	struct config *c;

	(void)state;
	c = cfgtest_load_ok(text);
	assert_string_equal(c->listeners[0].host, "0.0.0.0");
	assert_int_equal(c->listeners[0].port, 25);
	assert_int_equal(c->listeners[0].auth, CONFIG_AUTH_NONE);
	cfgtest_assert_file_defaults(c);
	assert_string_equal(c->tls.cert, "/etc/postino/cert.pem");
	assert_string_equal(c->tls.key, "/etc/postino/key.pem");
	assert_false(c->tls.self_signed);
	assert_int_equal(c->nlocal_domains, 1);
	assert_string_equal(c->local_domains[0], "localhost");
	assert_false(c->mailboxes.users_explicit);
	assert_false(c->mailboxes.aliases_explicit);
	assert_int_equal(c->relay.nnetworks, 0);
	config_free(c);
}

/* [odmr] (postino extension): domains lower-cased, clients with their
 * domains; an empty section is none of either; a repeated domain warns. */
static void
test_odmr(void **state)
{
	const struct config_odmr_client *cl;
	struct config *c;
	int failed = 0;

	(void)state;
	c = cfgtest_load_ok(SRV LST);
	assert_int_equal(c->odmr.ndomains, 0);
	assert_int_equal(c->odmr.nclients, 0);
	assert_null(config_odmr_client(c, "a@b.example"));
	config_free(c);

#define NOAUTH "t.conf:8: warning: [odmr] domains: no listener has auth, so no client can log " \
	"in and send ATRN; their mail waits until it expires\n"
#define ODMR_TEXT SRV LST "[odmr]\ndomains = A.example b.example\n" \
	"clients = Odmr@A.example:a.example,B.EXAMPLE x@b.example:b.example\n"
	c = cfgtest_load_expect("odmr", ODMR_TEXT, strlen(ODMR_TEXT), NOAUTH, &failed);
	assert_int_equal(failed, 0);
	assert_int_equal(c->odmr.ndomains, 2);
	assert_string_equal(c->odmr.domains[0], "a.example");
	assert_true(config_is_odmr_domain(c, "B.Example", 9));
	assert_false(config_is_odmr_domain(c, "c.example", 9));
	assert_int_equal(c->odmr.nclients, 2);
	cl = config_odmr_client(c, "odmr@a.example");
	assert_non_null(cl);
	assert_string_equal(cl->login, "Odmr@A.example");
	assert_int_equal(cl->ndomains, 2);
	assert_string_equal(cl->domains[0], "a.example");
	assert_string_equal(cl->domains[1], "b.example");
	cl = config_odmr_client(c, "X@B.EXAMPLE");
	assert_non_null(cl);
	assert_int_equal(cl->ndomains, 1);
	config_free(c);

#define REPEAT_TEXT SRV LST "[odmr]\ndomains = a.example a.example\nclients = o@a.example:a.example\n"
	config_free(cfgtest_load_expect("odmr repeats", REPEAT_TEXT, strlen(REPEAT_TEXT),
	    "t.conf:8: warning: [odmr] domains: 'a.example' is listed twice\n" NOAUTH, &failed));
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_empty_values),
	    cmocka_unit_test(test_odmr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
