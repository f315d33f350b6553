/* test_smtp_server.c - the SMTP server core: the dialog corpus (whole input,
 * one byte at a time, odd splits) and cases the corpus cannot express. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dialog_driver.h"
#include "util/xalloc.h"
#include "smtp/smtp_server.h"

static const char *dialog_dir = "tests/dialog";

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	return p;
}

static void
test_dialogs(void **state)
{
	static const size_t splits[] = { 0, 1, 2, 7, 513 };
	DIR *d = opendir(dialog_dir);
	struct dirent *e;
	int played = 0, failed = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		char *text;
		size_t len = strlen(e->d_name);

		if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dialog_dir, e->d_name);
		text = slurp(path);
		for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
			char *err = dialog_play(text, splits[i]);

			if (err) {
				print_error("%s (split %zu): %s\n", e->d_name, splits[i], err);
				free(err);
				failed++;
			}
		}
		free(text);
		played++;
	}
	closedir(d);
	assert_true(played >= 8);
	assert_int_equal(failed, 0);
}

static const struct smtp_server_conf base_conf = {
	.hostname = "mx.example.test",
	.max_message_size = 10000,
	.max_recipients = 5,
	.max_errors = 10,
};

/* Feed a string fully, failing the test if the core stalls. */
static void
feed_all(struct smtp_server *s, const char *p)
{
	size_t n = strlen(p);

	while (n) {
		size_t used = smtp_server_feed(s, p, n);

		if (used == 0)
		fail_msg("core stalled on: %s", p);
		p += used;
		n -= used;
	}
}

static void
test_starttls_discards_pipelined(void **state)
{
	struct smtp_server_conf c = base_conf;
	struct smtp_server *s;
	struct smtp_event ev;
	const char *in = "EHLO x\r\nSTARTTLS\r\nRSET\r\nMAIL FROM:<a@b.example>\r\n";

	c.starttls = true;
	s = smtp_server_new(&c);
	assert_int_equal(smtp_server_feed(s, in, strlen(in)), strlen(in));
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_STARTTLS);
	assert_non_null(strstr(smtp_server_output(s)->data, "250-STARTTLS\r\n"));
	/* the last reply is the 220; RSET and MAIL were never run */
	assert_non_null(strstr(smtp_server_output(s)->data, "\r\n220 2.0.0"));
	assert_null(strstr(strstr(smtp_server_output(s)->data, "\r\n220 2.0.0"), "250 2.0.0"));
	buf_clear(smtp_server_output(s));
	smtp_server_tls_started(s);
	feed_all(s, "MAIL FROM:<a@b.example>\r\n");
	assert_non_null(strstr(smtp_server_output(s)->data, "503 5.5.1"));
	feed_all(s, "EHLO x\r\n");
	assert_null(strstr(smtp_server_output(s)->data, "STARTTLS"));
	assert_string_equal(smtp_server_protocol(s), "ESMTPS");
	smtp_server_free(s);
}

static void
test_auth_required(void **state)
{
	struct smtp_server_conf c = base_conf;
	struct smtp_server *s;

	c.auth_required = true;
	s = smtp_server_new(&c);
	feed_all(s, "EHLO x\r\nMAIL FROM:<a@b.example>\r\n");
	assert_non_null(strstr(smtp_server_output(s)->data, "530 5.7.0"));
	smtp_server_free(s);
}

static int
null_sink(void *arg, const char *p, size_t n)
{
	return 0;
}

static void
test_async_verdict_holds_input(void **state)
{
	struct smtp_server *s = smtp_server_new(&base_conf);
	struct smtp_event ev;
	const char *in = "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
			 "hi\r\n.\r\nQUIT\r\n";
	size_t off = 0, n;

	/* MAIL: verdict pending, nothing more consumed */
	n = smtp_server_feed(s, in, strlen(in));
	off += n;
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_MAIL);
	assert_int_equal(smtp_server_feed(s, in + off, strlen(in) - off), 0);
	smtp_server_accept(s, NULL);
	off += smtp_server_feed(s, in + off, strlen(in) - off);
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_RCPT);
	assert_string_equal(ev.path->mbox.local, "c");
	smtp_server_accept(s, NULL);
	off += smtp_server_feed(s, in + off, strlen(in) - off);
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_DATA);
	smtp_server_accept_data(s, null_sink, NULL);
	off += smtp_server_feed(s, in + off, strlen(in) - off);
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_DATA_END);
	assert_int_equal(ev.status, SMTP_DATA_OK);
	/* the commit is still running: QUIT waits */
	assert_string_equal(in + off, "QUIT\r\n");
	assert_int_equal(smtp_server_feed(s, in + off, strlen(in) - off), 0);
	assert_null(strstr(smtp_server_output(s)->data, "221"));
	smtp_server_reject(s, 451, "4.3.0", "Local error");
	off += smtp_server_feed(s, in + off, strlen(in) - off);
	assert_int_equal(off, strlen(in));
	assert_non_null(strstr(smtp_server_output(s)->data, "451 4.3.0 Local error\r\n221 2.0.0"));
	assert_true(smtp_server_is_closing(s));
	smtp_server_free(s);
}

static void
test_timeout(void **state)
{
	struct smtp_server *s = smtp_server_new(&base_conf);

	smtp_server_timeout(s);
	assert_non_null(strstr(smtp_server_output(s)->data, "421 4.4.2 mx.example.test"));
	assert_true(smtp_server_is_closing(s));
	assert_int_equal(smtp_server_feed(s, "NOOP\r\n", 6), 6);
	assert_null(strstr(smtp_server_output(s)->data, "250"));
	smtp_server_free(s);
}

static void
test_protocol_names(void **state)
{
	struct smtp_server *s = smtp_server_new(&base_conf);

	feed_all(s, "HELO x\r\n");
	assert_string_equal(smtp_server_protocol(s), "SMTP");
	assert_string_equal(smtp_server_helo(s), "x");
	feed_all(s, "EHLO y\r\n");
	assert_string_equal(smtp_server_protocol(s), "ESMTP");
	smtp_server_set_authenticated(s, "u@example.test");
	assert_string_equal(smtp_server_protocol(s), "ESMTPA");
	smtp_server_free(s);
}

/* The last reply line in the output starts with want. */
static void
assert_last_reply(struct smtp_server *s, const char *want)
{
	struct buf *out = smtp_server_output(s);
	char *text = xstrndup(out->data, out->len);
	char *last = text;

	for (char *p = text; *p; p++)
		if (p[0] == '\n' && p[1])
			last = p + 1;
	if (strncmp(last, want, strlen(want)) != 0)
		fail_msg("last reply '%s', want '%s...'", last, want);
	free(text);
	buf_clear(out);
}

/* RFC 2645: ATRN only after AUTH, outside a transaction, with domains of at
 * least two labels separated by commas; accepted, the core runs nothing more
 * (what was pipelined behind it is dropped). */
static void
test_atrn(void **state)
{
	struct smtp_server_conf c = base_conf;
	struct smtp_server *s;
	struct smtp_event ev;
	const char *in = "ATRN a.example,b.example\r\nMAIL FROM:<x@y.example>\r\n";

	s = smtp_server_new(&c);
	feed_all(s, "EHLO x\r\n");
	assert_null(strstr(smtp_server_output(s)->data, "ATRN"));
	buf_clear(smtp_server_output(s));
	feed_all(s, "ATRN a.example\r\n");
	assert_last_reply(s, "502 5.5.1");
	smtp_server_free(s);

	c.auth = true;
	c.starttls = true;
	s = smtp_server_new(&c);
	smtp_server_tls_started(s);
	feed_all(s, "EHLO x\r\n");
	assert_non_null(strstr(smtp_server_output(s)->data, "250-ATRN\r\n"));
	buf_clear(smtp_server_output(s));
	feed_all(s, "ATRN a.example\r\n");
	assert_last_reply(s, "530 5.7.0");
	smtp_server_set_authenticated(s, "odmr@a.example");
	for (const char *const *bad = (const char *const[]){ "ATRN a\r\n", "ATRN a.example,\r\n",
		 "ATRN ,a.example\r\n", "ATRN a.example, b.example\r\n", "ATRN -a.example\r\n",
		 "ATRN a-.example\r\n", "ATRN a..example\r\n", "ATRN a_b.example\r\n", NULL };
	     *bad; bad++) {
		feed_all(s, *bad);
		assert_last_reply(s, "501 5.5.4");
	}
	smtp_server_feed(s, "MAIL FROM:<x@y.example>\r\n", 25);
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_MAIL);
	smtp_server_accept(s, NULL);
	feed_all(s, "ATRN a.example\r\n");
	assert_last_reply(s, "503 5.5.1");
	feed_all(s, "RSET\r\n");
	while (smtp_server_next(s, &ev))
		;
	buf_clear(smtp_server_output(s));
	/* refused by the owner: the session goes on */
	feed_all(s, "ATRN\r\n");
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_ATRN);
	assert_int_equal(ev.arg.len, 0);
	smtp_server_reject(s, 453, "4.0.0", "You have no mail");
	assert_last_reply(s, "453 4.0.0 You have no mail");
	feed_all(s, "NOOP\r\n");
	assert_last_reply(s, "250");
	/* accepted: the pipelined MAIL is never run */
	assert_int_equal(smtp_server_feed(s, in, strlen(in)), strlen("ATRN a.example,b.example\r\n"));
	assert_true(smtp_server_next(s, &ev));
	assert_int_equal(ev.type, SMTP_EV_ATRN);
	assert_int_equal(ev.arg.len, strlen("a.example,b.example"));
	assert_memory_equal(ev.arg.p, "a.example,b.example", ev.arg.len);
	smtp_server_accept(s, NULL);
	assert_false(smtp_server_next(s, &ev));
	assert_last_reply(s, "250 2.0.0 OK now reversing the connection");
	in += strlen("ATRN a.example,b.example\r\n");
	assert_int_equal(smtp_server_feed(s, in, strlen(in)), strlen(in));
	assert_int_equal(smtp_server_feed(s, "220 hi\r\n", 8), 8);
	assert_false(smtp_server_next(s, &ev));
	assert_int_equal(smtp_server_output(s)->len, 0);
	assert_false(smtp_server_is_closing(s));
	smtp_server_free(s);
}

static void
test_output_backpressure(void **state)
{
	struct smtp_server *s = smtp_server_new(&base_conf);
	size_t total = 0;

	/* thousands of pipelined NOOPs: the core stops once replies pile up */
	for (int i = 0; i < 5000; i++)
		total += smtp_server_feed(s, "NOOP\r\n", 6);
	assert_true(total < 5000 * 6);
	assert_true(smtp_server_output(s)->len < 20000);
	smtp_server_free(s);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialogs),
		cmocka_unit_test(test_starttls_discards_pipelined),
		cmocka_unit_test(test_auth_required),
		cmocka_unit_test(test_async_verdict_holds_input),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_protocol_names),
		cmocka_unit_test(test_output_backpressure),
		cmocka_unit_test(test_atrn),
	};

	if (argc > 1)
		dialog_dir = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
