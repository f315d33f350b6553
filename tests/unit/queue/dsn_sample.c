/* dsn_sample.c - write one sample DSN to stdout (for check_dsn.py).
 * Usage: dsn_sample MODE, MODE one of failed-full, failed-hdrs, delayed,
 * delivered, utf8. The original message is built in a temporary file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/dsn.h"

static const char original[] = "From: Alice <alice@client.example>\n"
			       "To: bob@outbound.test\n"
			       "Subject: Original subject\n"
			       "Message-ID: <orig@client.example>\n"
			       "\n"
			       "Hello Bob,\n"
			       "--a line that looks like a delimiter\n";

static int
to_stdout(void *arg, const char *p, size_t n)
{
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

static int
content(void)
{
	char path[] = "/tmp/dsn_sample.XXXXXX";
	int fd = mkstemp(path);
	ssize_t n = (ssize_t)strlen(original);

	if (fd < 0 || unlink(path) != 0 || write(fd, original, (size_t)n) != n) {
		perror("dsn_sample: temporary file");
		exit(2);
	}
	return fd;
}

/* The report and recipients for mode; false for an unknown mode. */
static bool
setup(const char *mode, struct dsn_report *r, struct dsn_rcpt *rc)
{
	*r = (struct dsn_report){ .reporting_mta = "mx.example.test", .to = "alice@client.example",
		.envid = "QQ+2B314159", .received_from_mta = "client.example",
		.arrival = 1700000000 - 3600, .ret = SMTP_RET_FULL,
		.queue_id = "0123456789ABCDEF" };
	*rc = (struct dsn_rcpt){ .final_rcpt = "bob@outbound.test",
		.orcpt = "rfc822;Bob+2Bx@outbound.test", .action = DSN_FAILED, .status = "5.1.1",
		.remote_mta = "mx.outbound.test",
		.diagnostic =
		    "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
		    "550 5.1.1 Please try double-checking the recipient's email address.",
		.last_attempt = 1700000000 - 60, .will_retry_until = 1700000000 + 86400 };
	if (strcmp(mode, "failed-hdrs") == 0) {
		r->ret = SMTP_RET_HDRS;
	} else if (strcmp(mode, "delayed") == 0) {
		rc->action = DSN_DELAYED;
		rc->status = "4.4.1";
		rc->diagnostic = "connect to mx.outbound.test: Connection refused";
		rc->diagnostic_local = true;
	} else if (strcmp(mode, "delivered") == 0) {
		rc->action = DSN_DELIVERED;
		rc->status = "2.0.0";
		rc->diagnostic = "250 2.0.0 Ok: queued as 1234";
	} else if (strcmp(mode, "utf8") == 0) {
		rc->final_rcpt = "jos\xc3\xa9@outbound.test";
		rc->orcpt = "utf-8;jos\xc3\xa9@outbound.test";
	} else if (strcmp(mode, "failed-full") != 0) {
		return false;
	}
	return true;
}

int
main(int argc, char **argv)
{
	struct dsn_report r;
	struct dsn_rcpt rc;
	int fd;

	if (argc != 2 || !setup(argv[1], &r, &rc)) {
		fputs("usage: dsn_sample failed-full|failed-hdrs|delayed|delivered|utf8\n", stderr);
		return 1;
	}
	fd = content();
	if (dsn_write(&r, &rc, 1, fd, 0, sizeof original - 1, 1700000000, to_stdout, NULL) != 0 ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "dsn_sample: %s\n", strerror(errno));
		return 2;
	}
	close(fd);
	return 0;
}
