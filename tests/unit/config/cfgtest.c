/* cfgtest.c - helpers shared by the src/config unit tests (see cfgtest.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"
#include "util/buf.h"

/* Every diag line of d, each with "\n". Caller frees. */
char *
cfgtest_diag_text(const struct diag *d)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < d->n; i++) {
		assert_int_equal(buf_append_str(&b, d->items[i].text), 0);
		assert_int_equal(buf_append_str(&b, "\n"), 0);
	}
	if (b.data == NULL)
		return strdup("");
	return b.data;
}

/* True when want names an error (a line that is not a warning). */
static bool
want_has_error(const char *want)
{
	for (const char *p = want; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 0 && !memmem(p, len, ": warning: ", 11))
			return true;
		p += len + (nl ? 1 : 0);
	}
	return false;
}

/* Load text as "t.conf"; compare all messages with want; return the config. */
struct config *
cfgtest_load_expect(const char *name, const char *text, size_t len, const char *want, int *failed)
{
	struct diag d;
	struct config *c;
	char *got;

	diag_init(&d);
	c = config_load_string("t.conf", text, len, &d);
	got = cfgtest_diag_text(&d);
	if (strcmp(got, want) != 0) {
		print_error("case %s:\n--- got:\n%s--- want:\n%s---\n", name, got, want);
		(*failed)++;
	} else if ((c == NULL) != want_has_error(want)) {
		print_error("case %s: got config %p, want %s\n", name, (void *)c,
		            want_has_error(want) ? "NULL" : "a config");
		(*failed)++;
	}
	free(got);
	diag_reset(&d);
	return c;
}

void
cfgtest_run_load_cases(const struct load_case *cases, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++)
		config_free(cfgtest_load_expect(cases[i].name, cases[i].text, strlen(cases[i].text),
		                                cases[i].want, &failed));
	assert_int_equal(failed, 0);
}
/* text with every from replaced by to. Caller frees. */
char *
cfgtest_replace_all(const char *text, const char *from, const char *to)
{
	struct buf b;
	const char *p;

	buf_init(&b, 1 << 20);
	while ((p = strstr(text, from)) != NULL) {
		assert_int_equal(buf_append(&b, text, (size_t)(p - text)), 0);
		assert_int_equal(buf_append_str(&b, to), 0);
		text = p + strlen(from);
	}
	assert_int_equal(buf_append_str(&b, text), 0);
	return b.data;
}

/* Load text that must be accepted without any message. */
struct config *
cfgtest_load_ok(const char *text)
{
	int failed = 0;
	struct config *c = cfgtest_load_expect("load_ok", text, strlen(text), "", &failed);

	assert_int_equal(failed, 0);
	assert_non_null(c);
	return c;
}

/* A network as "addr/prefix" text. */
static void
net_text(const struct cidr *n, char *out, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(n->family, n->addr, addr, sizeof addr));
	snprintf(out, len, "%s/%u", addr, n->prefix);
}

void
cfgtest_assert_net(const struct config *c, size_t i, const char *want)
{
	char got[64];

	assert_true(i < c->relay.nnetworks);
	net_text(&c->relay.networks[i], got, sizeof got);
	assert_string_equal(got, want);
}

void
cfgtest_assert_file_defaults(const struct config *c)
{
	assert_string_equal(c->server.spool, "/var/spool/postino");
	assert_int_equal(c->server.max_message_size, 25 * 1024 * 1024);
	assert_int_equal(c->server.max_recipients, 100);
	assert_string_equal(c->mailboxes.users, "/etc/postino/users");
	assert_string_equal(c->mailboxes.aliases, "/etc/postino/aliases");
	assert_string_equal(c->mailboxes.maildir, "/var/mail/%d/%n");
	assert_null(c->relay.smarthost);
	assert_null(c->dns.resolver);
	assert_int_equal(c->delivery.remote_port, 25);
	assert_int_equal(c->delivery.retry_min, 300);
	assert_int_equal(c->delivery.retry_max, 3600);
	assert_int_equal(c->delivery.queue_lifetime, 5 * 86400);
	assert_int_equal(c->delivery.warn_after, 4 * 3600);
	assert_int_equal(c->limits.command_timeout, 300);
	assert_int_equal(c->limits.data_timeout, 600);
	assert_int_equal(c->limits.max_connections, 1000);
	assert_int_equal(c->limits.max_connections_per_ip, 20);
	assert_int_equal(c->limits.max_errors, 10);
	assert_int_equal(c->limits.min_free_space, 100 * 1024 * 1024);
}
