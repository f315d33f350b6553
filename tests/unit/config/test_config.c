/* test_config.c - src/config/config.c: the SPEC.md example, the embedded
 * default, loading files, the `user` rule, the default hostname, the small
 * public helpers, and the bad configurations in tests/config/bad (argv[1]:
 * that directory; each NAME.conf must give exactly NAME.expected). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

#include "cfgtest.h"

static const char *bad_dir; /* argv[1] */

/* ---- SPEC.md example, embedded default, files ---- */

/* SPEC.md's example, verbatim (inline comments and all). */
static const char spec_example[] =
    "[server]\n"
    "hostname = mx.example.test        # greeting and EHLO name; default: the host's FQDN\n"
    "spool = /var/spool/postino         # queue directory, created if missing\n"
    "max_message_size = 25M\n"
    "max_recipients = 100               # per transaction; further RCPTs get 452 4.5.3\n"
    "user = postino                     # when started as root: drop to this user after binding;\n"
    "                                   # spool and Maildir directories it creates are owned by "
    "this user\n"
    "\n"
    "[listener \"mx\"]                    # any number of listener sections, each with its own "
    "name\n"
    "address = 0.0.0.0:25               # host:port; [::]:25 for IPv6\n"
    "tls = starttls                     # none | starttls | implicit\n"
    "auth = none                        # none | optional | required\n"
    "# AUTH is never offered on a cleartext connection; a listener with auth = required\n"
    "# refuses MAIL from an unauthenticated client with 530 5.7.0.\n"
    "\n"
    "[tls]\n"
    "cert = /etc/postino/cert.pem\n"
    "key  = /etc/postino/key.pem\n"
    "\n"
    "[domains]\n"
    "local = example.test example.org   # domains whose mail is delivered into Maildirs here\n"
    "\n"
    "[mailboxes]\n"
    "users = /etc/postino/users         # lines `user@domain:CRYPT-HASH`; these users may log in "
    "and receive mail\n"
    "aliases = /etc/postino/aliases     # lines `alias@domain: target[, target...]` (targets local "
    "or remote)\n"
    "maildir = /var/mail/%d/%n          # %d domain, %n local part (both lower-cased and checked: "
    "no '/', no '..')\n"
    "\n"
    "[relay]\n"
    "networks = 127.0.0.0/8 ::1/128     # clients that may relay without AUTH (empty: none); "
    "authenticated clients always may\n"
    "smarthost =                        # host:port to send all remote mail to instead of MX "
    "lookup\n"
    "\n"
    "[dns]\n"
    "resolver =                         # host:port of the DNS server for MX/A/AAAA look-ups; "
    "default: /etc/resolv.conf\n"
    "\n"
    "[delivery]\n"
    "remote_port = 25                   # port used to reach remote MX hosts (tests point it "
    "elsewhere)\n"
    "retry_min = 5m                     # first retry delay; doubles up to retry_max\n"
    "retry_max = 1h\n"
    "queue_lifetime = 5d                # after this a temporarily failing message bounces\n"
    "warn_after = 4h                    # send one 'delayed' DSN; when NOTIFY has DELAY or is "
    "absent\n"
    "\n"
    "[limits]\n"
    "command_timeout = 5m               # RFC 5321 4.5.3.2 server timeout between commands: 421 "
    "4.4.2, close\n"
    "data_timeout = 10m                 # between data chunks, and for the whole DATA phase x 3\n"
    "max_connections = 1000             # in total; over it: 421 4.7.0 and close\n"
    "max_connections_per_ip = 20        # over it: 421 4.7.0 at connect, close\n"
    "max_errors = 10                    # syntax errors, unknown or out-of-sequence commands in a "
    "session;\n"
    "                                   # the next one after this many gets 421 4.7.0 and the "
    "close\n"
    "                                   # (refused recipients do not count)\n"
    "min_free_space = 100M              # below it MAIL gets 452 4.3.1 (kept free for what is "
    "already queued)\n";

/* True when path opens as a regular file (as the TLS check wants it). */
static bool
readable_file(const char *path)
{
	FILE *f = fopen(path, "r");
	bool ok = f != NULL;

	if (f)
		fclose(f);
	return ok;
}

/* The example parses; the only messages allowed are the checks that depend
 * on this machine: no account "postino", no certificate in /etc/postino. */
static void
test_spec_example(void **state)
{
	struct diag d;
	struct config *c;
	bool want_user = getpwnam("postino") == NULL;
	bool want_cert = !readable_file("/etc/postino/cert.pem");
	bool want_key = !readable_file("/etc/postino/key.pem");
	size_t want_n = (size_t)want_user + want_cert + want_key;

	(void)state;
	diag_init(&d);
	c = config_load_string("spec.conf", spec_example, sizeof spec_example - 1, &d);
	for (size_t i = 0; i < d.n; i++) {
		const char *t = d.items[i].text;
		bool ok = (want_user && strcmp(t, "spec.conf:6: [server] user: no such user "
		                                  "'postino'") == 0) ||
		          (want_cert && strncmp(t,
		                                "spec.conf:17: [tls] cert: cannot read "
		                                "'/etc/postino/cert.pem': ",
		                                55) == 0) ||
		          (want_key && strncmp(t,
		                               "spec.conf:18: [tls] key: cannot read "
		                               "'/etc/postino/key.pem': ",
		                               53) == 0);

		if (!ok)
			print_error("spec example: got unexpected '%s'\n", t);
		assert_true(ok);
	}
	assert_int_equal(d.n, want_n);
	config_free(c);
	diag_reset(&d);
}

/* The same example with an existing user and certificate: every value. */
static void
test_spec_example_values(void **state)
{
	char path[] = "/tmp/postino-test-cert-XXXXXX";
	int fd = mkstemp(path);
	char *t1, *t2, *t3;
	struct config *c;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	t1 = cfgtest_replace_all(spec_example, "user = postino", "user = nobody ");
	t2 = cfgtest_replace_all(t1, "/etc/postino/cert.pem", path);
	t3 = cfgtest_replace_all(t2, "/etc/postino/key.pem", path);
	c = cfgtest_load_ok(t3);
	assert_string_equal(c->server.hostname, "mx.example.test");
	assert_string_equal(c->server.spool, "/var/spool/postino");
	assert_int_equal(c->server.max_message_size, 25 * 1024 * 1024);
	assert_int_equal(c->server.max_recipients, 100);
	assert_int_equal(c->nlisteners, 1);
	assert_string_equal(c->listeners[0].name, "mx");
	assert_string_equal(c->listeners[0].host, "0.0.0.0");
	assert_int_equal(c->listeners[0].port, 25);
	assert_int_equal(c->listeners[0].tls, CONFIG_TLS_STARTTLS);
	assert_int_equal(c->listeners[0].auth, CONFIG_AUTH_NONE);
	assert_int_equal(c->nlocal_domains, 2);
	assert_string_equal(c->local_domains[0], "example.test");
	assert_string_equal(c->local_domains[1], "example.org");
	assert_true(c->mailboxes.users_explicit);
	assert_true(c->mailboxes.aliases_explicit);
	cfgtest_assert_file_defaults(c); /* the example's values are the defaults */
	assert_string_equal(c->tls.cert, path);
	assert_string_equal(c->tls.key, path);
	assert_int_equal(c->relay.nnetworks, 2);
	cfgtest_assert_net(c, 0, "127.0.0.0/8");
	cfgtest_assert_net(c, 1, "::1/128");
	config_free(c);
	free(t1);
	free(t2);
	free(t3);
	unlink(path);
}

static void
test_embedded_default(void **state)
{
	struct config *c = config_default();
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	bool v4 = false, v6 = false, other = false;

	(void)state;
	assert_string_equal(c->file, "(embedded default)");
	assert_non_null(c->server.hostname);
	assert_true(strlen(c->server.hostname) > 0);
	assert_string_equal(c->server.spool, "./var/spool");
	/* started as root it runs as nobody: mail is never delivered as root */
	if (geteuid() == 0)
		assert_string_equal(c->server.user, "nobody");
	else
		assert_null(c->server.user);
	assert_true(c->embedded);
	assert_int_equal(c->server.max_message_size, 25 * 1024 * 1024);
	assert_int_equal(c->nlisteners, 2);
	assert_string_equal(c->listeners[0].name, "smtp");
	assert_string_equal(c->listeners[0].host, "127.0.0.1");
	assert_int_equal(c->listeners[0].port, 2525);
	assert_int_equal(c->listeners[0].tls, CONFIG_TLS_NONE);
	assert_int_equal(c->listeners[0].auth, CONFIG_AUTH_NONE);
	/* issue 3: a submission listener for mail programs */
	assert_string_equal(c->listeners[1].name, "submission");
	assert_string_equal(c->listeners[1].host, "127.0.0.1");
	assert_int_equal(c->listeners[1].port, 2587);
	assert_int_equal(c->listeners[1].tls, CONFIG_TLS_STARTTLS);
	assert_int_equal(c->listeners[1].auth, CONFIG_AUTH_REQUIRED);
	assert_int_equal(c->nlocal_domains, 1);
	assert_string_equal(c->local_domains[0], "localhost");
	/* ./var/users does not exist where the tests run: every local part is a mailbox */
	assert_null(c->mailboxes.users);
	assert_null(c->mailboxes.aliases);
	assert_false(c->mailboxes.aliases_explicit);
	assert_string_equal(c->mailboxes.maildir, "./var/mail/%d/%n");
	assert_string_equal(c->tls.cert, "./var/cert.pem");
	assert_string_equal(c->tls.key, "./var/key.pem");
	assert_true(c->tls.self_signed);
	assert_null(c->relay.smarthost);
	assert_null(c->dns.resolver);
	/* Relay from loopback only. */
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	for (size_t i = 0; i < c->relay.nnetworks; i++) {
		inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
		v4 |= cidr_match(&c->relay.networks[i], (struct sockaddr *)&sin);
		v6 |= cidr_match(&c->relay.networks[i], (struct sockaddr *)&sin6);
		inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
		other |= cidr_match(&c->relay.networks[i], (struct sockaddr *)&sin);
	}
	assert_true(v4);
	assert_true(v6);
	assert_false(other);
	assert_int_equal(c->delivery.retry_min, 300);
	config_free(c);
}

static void
test_default_text(void **state)
{
	const char *t = config_default_text();
	struct diag d;
	struct config *c;

	(void)state;
	assert_non_null(strstr(t, "[listener \"smtp\"]\n"));
	assert_non_null(strstr(t, "address = 127.0.0.1:2525\n"));
	assert_non_null(strstr(t, "local = localhost\n"));
	assert_non_null(strstr(t, "networks = 127.0.0.0/8 ::1/128\n"));
	assert_non_null(strstr(t, "[listener \"submission\"]\n"));
	assert_non_null(strstr(t, "address = 127.0.0.1:2587\n"));
	/* As a file it is valid too, up to the development certificate (made by
	 * the daemon, not there yet) and the `user` rule when run as root. */
	diag_init(&d);
	c = config_load_string("default.conf", t, strlen(t), &d);
	assert_null(c);
	assert_true(d.n >= 2);
	assert_string_equal(d.items[0].text,
	    "default.conf:11: [tls] cert: cannot read './var/cert.pem': No such file or directory "
	    "(needed by [listener \"submission\"] with tls = starttls)");
	assert_string_equal(d.items[1].text,
	    "default.conf:12: [tls] key: cannot read './var/key.pem': No such file or directory "
	    "(needed by [listener \"submission\"] with tls = starttls)");
	if (getuid() != 0 || getpwnam("postino") != NULL) {
		assert_int_equal(d.n, 2);
	} else {
		assert_int_equal(d.n, 3);
		assert_string_equal(d.items[2].text, "default.conf:6: [server] user: no such user "
		                                     "'postino' (the default when started as root; "
		                                     "set user to an existing account)");
	}
	config_free(c);
	diag_reset(&d);
}

/* `user` unset: looked up only when running as root (see docs). */
static void
test_user_default(void **state)
{
	static const char text[] = "[server]\nhostname = mx.test\n" LST;
	struct diag d;
	struct config *c;

	(void)state;
	diag_init(&d);
	c = config_load_string("t.conf", text, sizeof text - 1, &d);
	if (getuid() == 0 && getpwnam("postino") == NULL) {
		assert_null(c);
		assert_int_equal(d.n, 1);
		assert_string_equal(
		    d.items[0].text,
		    "t.conf:1: [server] user: no such user 'postino' (the default when started as "
		    "root; set user to an existing account)");
	} else {
		assert_non_null(c);
		assert_int_equal(d.n, 0);
		assert_string_equal(c->server.user, "postino");
	}
	config_free(c);
	diag_reset(&d);
}

/* No hostname: the host's name, fully qualified when the resolver knows it. */
static void
test_hostname_default(void **state)
{
	struct config *c;
	char host[256];

	(void)state;
	c = cfgtest_load_ok("[server]\nuser = nobody\n" LST);
	assert_non_null(c->server.hostname);
	assert_true(strlen(c->server.hostname) > 0);
	assert_null(strchr(c->server.hostname, ' '));
	assert_int_equal(gethostname(host, sizeof host), 0);
	host[sizeof host - 1] = '\0';
	/* Either the short name itself or a name that starts with it. */
	if (strcmp(c->server.hostname, "localhost") != 0)
		assert_int_equal(strncasecmp(c->server.hostname, host, strcspn(host, ".")), 0);
	config_free(c);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/postino-test-conf-XXXXXX";
	int fd = mkstemp(path);
	static const char text[] = SRV LST "[domains]\nlocal = bad_domain\n";
	struct diag d;
	struct config *c;
	char want[256];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	diag_init(&d);
	assert_null(config_load_file(path, &d));
	assert_int_equal(d.n, 1);
	snprintf(want, sizeof want, "%s:8: [domains] local: 'bad_domain' is not a domain name",
	         path);
	assert_string_equal(d.items[0].text, want);
	diag_reset(&d);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, SRV LST, strlen(SRV LST)), (ssize_t)strlen(SRV LST));
	close(fd);
	c = config_load_file(path, &d);
	assert_non_null(c);
	assert_string_equal(c->file, path);
	config_free(c);
	unlink(path);

	assert_null(config_load_file("/nonexistent/postino.conf", &d));
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].text,
	                    "/nonexistent/postino.conf: cannot open: No such file or directory");
	diag_reset(&d);
}

/* Errors already in d (from an earlier check) do not fail this load. */
static void
test_prior_errors(void **state)
{
	struct diag d;
	struct config *c;

	(void)state;
	diag_init(&d);
	diag_error(&d, "other", 1, "earlier");
	c = config_load_string("t.conf", SRV LST, strlen(SRV LST), &d);
	assert_non_null(c);
	assert_int_equal(d.nerrors, 1);
	config_free(c);
	diag_reset(&d);
	config_free(NULL);
}

static void
test_is_local_domain(void **state)
{
	struct config *c = cfgtest_load_ok(SRV LST "[domains]\nlocal = Example.test b.test\n");

	(void)state;
	assert_true(config_is_local_domain(c, "example.test", 12));
	assert_true(config_is_local_domain(c, "EXAMPLE.TEST", 12));
	assert_true(config_is_local_domain(c, "b.test", 6));
	assert_true(config_is_local_domain(c, "b.testXYZ", 6));
	assert_false(config_is_local_domain(c, "b.tes", 5));
	assert_false(config_is_local_domain(c, "b.test.", 7));
	assert_false(config_is_local_domain(c, "a.b.test", 8));
	assert_false(config_is_local_domain(c, "", 0));
	config_free(c);
}

struct hostport_case {
	const char *in;
	int rc;
	const char *host;
	unsigned port;
};

static const struct hostport_case hostport_cases[] = {
    {"relay.test:25", 0, "relay.test", 25},
    {"192.0.2.1:587", 0, "192.0.2.1", 587},
    {"[2001:db8::1]:2525", 0, "2001:db8::1", 2525},
    {"[::]:65535", 0, "::", 65535},
    {"relay.test", -1, NULL, 0},
    {"relay.test:", -1, NULL, 0},
    {":25", -1, NULL, 0},
    {"relay.test:0", -1, NULL, 0},
    {"relay.test:65536", -1, NULL, 0},
    {"relay.test:025x", -1, NULL, 0},
    {"::1:25", -1, NULL, 0},
    {"[::1]25", -1, NULL, 0},
    {"[::1]", -1, NULL, 0},
    {"[]:25", -1, NULL, 0},
    {"", -1, NULL, 0},
};

static void
test_split_hostport(void **state)
{
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(hostport_cases); i++) {
		const struct hostport_case *t = &hostport_cases[i];
		struct span host = {NULL, 0};
		uint16_t port = 0;
		int rc = config_split_hostport(t->in, &host, &port);

		if (rc != t->rc ||
		    (rc == 0 && (!span_eq(host, span_cstr(t->host)) || port != t->port))) {
			print_error(
			    "config_split_hostport(\"%s\"): got rc=%d '%.*s' %u, want rc=%d "
			    "'%s' %u\n",
			    t->in, rc, (int)host.len, host.p ? host.p : "", port, t->rc,
			    t->host ? t->host : "", t->port);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* ---- tests/config/bad: one file per case, the exact `postino check` lines ---- */

/* All of path into a new string; NULL when it cannot be read. */
static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), 0);
	fclose(f);
	return b.data ? b.data : strdup("");
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One bad case: NAME.conf must give exactly NAME.expected, and no config. */
static int
run_bad_case(const char *name)
{
	char conf[512], expected[512];
	struct diag d;
	struct config *c;
	char *got, *want;
	int failed = 0;

	snprintf(conf, sizeof conf, "tests/config/bad/%s.conf", name);
	snprintf(expected, sizeof expected, "tests/config/bad/%s.expected", name);
	want = read_all(expected);
	if (want == NULL) {
		print_error("%s: missing %s\n", conf, expected);
		return 1;
	}
	diag_init(&d);
	c = config_load_file(conf, &d);
	got = cfgtest_diag_text(&d);
	if (strcmp(got, want) != 0) {
		print_error("%s:\n--- got:\n%s--- want:\n%s---\n", conf, got, want);
		failed = 1;
	} else if (c != NULL) {
		print_error("%s: got a config, want NULL\n", conf);
		failed = 1;
	}
	config_free(c);
	diag_reset(&d);
	free(got);
	free(want);
	return failed;
}

static void
test_bad_configs(void **state)
{
	DIR *dir;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int failed = 0;

	(void)state;
	if (bad_dir == NULL)
		skip();
	/* Messages name the file as `postino check -c tests/config/bad/X.conf`
	 * run from the top of the source tree would. */
	assert_int_equal(chdir(bad_dir), 0);
	assert_int_equal(chdir("../../.."), 0);
	dir = opendir("tests/config/bad");
	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		assert_non_null(names);
		names[n++] = strndup(e->d_name, len - 5);
	}
	closedir(dir);
	assert_true(n >= 15);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		failed += run_bad_case(names[i]);
		free(names[i]);
	}
	free(names);
	assert_int_equal(failed, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_example),     cmocka_unit_test(test_spec_example_values),
	    cmocka_unit_test(test_embedded_default), cmocka_unit_test(test_default_text),
	    cmocka_unit_test(test_user_default),     cmocka_unit_test(test_hostname_default),
	    cmocka_unit_test(test_load_file),        cmocka_unit_test(test_prior_errors),
	    cmocka_unit_test(test_is_local_domain),  cmocka_unit_test(test_split_hostport),
	    cmocka_unit_test(test_bad_configs),
	};

	bad_dir = argc > 1 ? argv[1] : NULL;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
