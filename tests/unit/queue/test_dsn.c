/* test_dsn.c - unit tests of src/queue/dsn.c: each action and RET mode, the
 * structure of the multipart/report parsed back strictly (boundary, parts,
 * fields with exact values, the returned original byte for byte), cleaning
 * of peer text, xtext and UTF-8 address forms, boundary collisions, errors,
 * and the NOTIFY table (dsnparse.c reads the output back). getrandom is
 * replaced here so that a test can make the boundary collide with the
 * content. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "queue/dsn.h"
#include "dsnparse.h"
#include "util/xalloc.h"

#define NOW 1700000000            /* Tue, 14 Nov 2023 22:13:20 +0000 */
#define NOW_DATE "Tue, 14 Nov 2023 22:13:20 +0000"
#define QID "0123456789ABCDEF"
#define ZERO_BOUNDARY "=_postino_" QID "_000000000000000000000000"
#define SUBJ_FAIL "Undelivered Mail Returned to Sender"
#define SUBJ_DELAY "Delayed Mail (still being retried)"
#define SUBJ_OK "Successful Mail Delivery Report"

static int zero_random;   /* getrandom calls left that return zeros; -1: all */

/* Replaces libc's for this program (dsn.c is linked in statically). */
ssize_t
getrandom(void *p, size_t n, unsigned int flags)
{
	if (zero_random != 0) {
		if (zero_random > 0)
			zero_random--;
		memset(p, 0, n);
		return (ssize_t)n;
	}
	return syscall(SYS_getrandom, p, n, flags);
}

static const char headers[] = "From: Alice <alice@client.example>\n"
			      "To: bob@outbound.test\n"
			      "Subject: Original subject\n"
			      "Message-ID: <orig@client.example>\n";
static const char body[] = "Hello Bob,\n"
			   "--not-a-boundary\n"
			   "\n"
			   "a line after an empty one\n";

/* What dsn_write wrote. */
struct cap {
	char *p;
	size_t len;
	int fail_after;   /* emit calls to allow before failing with EPIPE; -1: never */
};

static int
cap_emit(void *arg, const char *p, size_t n)
{
	struct cap *c = arg;

	if (c->fail_after == 0) {
		errno = EPIPE;
		return -1;
	}
	if (c->fail_after > 0)
		c->fail_after--;
	c->p = xrealloc(c->p, c->len + n + 1);
	memcpy(c->p + c->len, p, n);
	c->len += n;
	c->p[c->len] = '\0';
	return 0;
}

/* A content file holding "JUNK" and then text: the content is at offset 4. */
static int
content_fd(const char *text)
{
	char path[] = "/tmp/test_dsn.XXXXXX";
	int fd = mkstemp(path);
	size_t n = strlen(text);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "JUNK", 4), 4);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	return fd;
}

static char *
message(const char *extra_body)
{
	return xasprintf("%s\n%s%s", headers, body, extra_body);
}

static struct dsn_report
report(enum smtp_ret ret)
{
	return (struct dsn_report){ .reporting_mta = "mx.example.test",
		.to = "alice@client.example", .envid = "QQ+2B314159",
		.received_from_mta = "client.example", .arrival = NOW - 3600, .ret = ret,
		.queue_id = QID };
}

static struct dsn_rcpt
rcpt(enum dsn_action a)
{
	return (struct dsn_rcpt){ .final_rcpt = "bob@outbound.test", .action = a,
		.status = a == DSN_FAILED ? "5.1.1" : a == DSN_DELAYED ? "4.4.1" : "2.0.0",
		.remote_mta = "mx.outbound.test",
		.diagnostic = a == DSN_FAILED ? "550 5.1.1 no such user" : NULL,
		.last_attempt = NOW - 60, .will_retry_until = NOW + 86400 };
}

/* Write a DSN into c (content: text or NULL for none); the dsn_write result. */
static int
run(struct cap *c, const struct dsn_report *r, const struct dsn_rcpt *rc, size_t n,
    const char *text)
{
	int fd = text != NULL ? content_fd(text) : -1;
	int ret;

	*c = (struct cap){ .fail_after = -1 };
	ret = dsn_write(r, rc, n, fd, 4, text != NULL ? strlen(text) : 0, NOW, cap_emit, c);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Parse out into ps and check what every DSN must have. */
static void
check_common(const char *out, struct parsed *ps, size_t want_parts, const char *subject)
{
	char *msgid;

	parse(out, ps);
	assert_int_equal(ps->nparts, want_parts);
	want_clean(out, want_parts == 3 ? (size_t)(ps->parts[2].body - out) : strlen(out),
	    "composed text");
	want_field(ps->hdr, ps->hdr_len, "From",
	    "Mail Delivery System <MAILER-DAEMON@mx.example.test>");
	want_field(ps->hdr, ps->hdr_len, "To", "<alice@client.example>");
	want_field(ps->hdr, ps->hdr_len, "Subject", subject);
	want_field(ps->hdr, ps->hdr_len, "Date", NOW_DATE);
	want_field(ps->hdr, ps->hdr_len, "Auto-Submitted", "auto-replied");
	want_field(ps->hdr, ps->hdr_len, "MIME-Version", "1.0");
	msgid = field(ps->hdr, ps->hdr_len, "Message-ID");
	assert_true(msgid != NULL && msgid[0] == '<' && msgid[strlen(msgid) - 1] == '>');
	free(msgid);
	assert_true(strncmp(ps->boundary, "=_postino_" QID "_", 27) == 0);
	assert_int_equal(strlen(ps->boundary), 51);
	want_field(ps->parts[0].hdr, ps->parts[0].hdr_len, "Content-Type",
	    "text/plain; charset=us-ascii");
	want_field(ps->parts[1].hdr, ps->parts[1].hdr_len, "Content-Type",
	    "message/delivery-status");
	want_clean(ps->parts[1].body, ps->parts[1].body_len, "delivery-status");
	assert_null(strchr(out, '\r'));
}

static const char *const action_names[] = { "failed", "delayed", "delivered", "relayed",
	"expanded" };

/* n octets of 99-character lines. */
static char *
padding(size_t n)
{
	char *p = xmalloc(n + 100);
	size_t i = 0;

	for (; i < n; i += 100) {
		memset(p + i, 'x', 99);
		p[i + 99] = '\n';
	}
	p[i] = '\0';
	return p;
}

static const struct {
	const char *name;
	enum dsn_action action;
	enum smtp_ret ret;
	size_t pad;        /* body octets added, to pass 1 MiB */
	bool full;         /* want message/rfc822 with everything, else the header section */
	const char *subject;
} ret_cases[] = {
	{ "failed, no RET", DSN_FAILED, SMTP_RET_NONE, 0, true, SUBJ_FAIL },
	{ "failed, RET=FULL", DSN_FAILED, SMTP_RET_FULL, 0, true, SUBJ_FAIL },
	{ "failed, RET=HDRS", DSN_FAILED, SMTP_RET_HDRS, 0, false, SUBJ_FAIL },
	{ "failed, no RET, over 1 MiB", DSN_FAILED, SMTP_RET_NONE, 1 << 20, false, SUBJ_FAIL },
	{ "failed, RET=FULL, over 1 MiB", DSN_FAILED, SMTP_RET_FULL, 1 << 20, true, SUBJ_FAIL },
	{ "delayed, RET=FULL", DSN_DELAYED, SMTP_RET_FULL, 0, false, SUBJ_DELAY },
	{ "delayed, no RET", DSN_DELAYED, SMTP_RET_NONE, 0, false, SUBJ_DELAY },
	{ "delivered, RET=FULL", DSN_DELIVERED, SMTP_RET_FULL, 0, false, SUBJ_OK },
	{ "relayed, no RET", DSN_RELAYED, SMTP_RET_NONE, 0, false, SUBJ_OK },
	{ "expanded, RET=HDRS", DSN_EXPANDED, SMTP_RET_HDRS, 0, false, SUBJ_OK },
};

/* Each action and RET mode: three parts, the third the original or its
 * header section byte for byte. */
static void
test_ret_modes(void **state)
{
	for (size_t i = 0; i < sizeof ret_cases / sizeof ret_cases[0]; i++) {
		struct dsn_report r = report(ret_cases[i].ret);
		struct dsn_rcpt rc = rcpt(ret_cases[i].action);
		char *pad = padding(ret_cases[i].pad), *text = message(pad);
		struct parsed ps;
		struct part g, *p3 = &ps.parts[2];
		struct cap c;

		print_message("case %s\n", ret_cases[i].name);
		assert_int_equal(run(&c, &r, &rc, 1, text), 0);
		check_common(c.p, &ps, 3, ret_cases[i].subject);
		g = group(&ps, 1);
		want_field(g.hdr, g.hdr_len, "Action", action_names[ret_cases[i].action]);
		want_field(p3->hdr, p3->hdr_len, "Content-Type",
		    ret_cases[i].full ? "message/rfc822" : "text/rfc822-headers");
		want_field(p3->hdr, p3->hdr_len, "Content-Transfer-Encoding", NULL);
		want_field(ps.hdr, ps.hdr_len, "Content-Transfer-Encoding", NULL);
		if (ret_cases[i].full) {
			assert_int_equal(p3->body_len, strlen(text));
			assert_memory_equal(p3->body, text, strlen(text));
		} else {
			assert_int_equal(p3->body_len, strlen(headers));
			assert_memory_equal(p3->body, headers, strlen(headers));
		}
		assert_null(strstr(text, ps.boundary));
		free(pad);
		free(text);
		free(c.p);
	}
}

/* The per-message and per-recipient fields, exactly (RFC 3464 2.2, 2.3). */
static void
test_fields(void **state)
{
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc[2] = { rcpt(DSN_FAILED), rcpt(DSN_FAILED) };
	struct parsed ps;
	struct part g;
	struct cap c;

	rc[0].orcpt = "rfc822;Alias+2Bx@Client.example";
	rc[1] = (struct dsn_rcpt){ .final_rcpt = "carol@example.test", .action = DSN_FAILED,
		.status = "5.2.2", .diagnostic = "mailbox full", .diagnostic_local = true,
		.will_retry_until = NOW };
	assert_int_equal(run(&c, &r, rc, 2, headers), 0);
	check_common(c.p, &ps, 3, SUBJ_FAIL);
	g = group(&ps, 0);
	want_field(g.hdr, g.hdr_len, "Original-Envelope-Id", "QQ+314159");
	want_field(g.hdr, g.hdr_len, "Reporting-MTA", "dns; mx.example.test");
	want_field(g.hdr, g.hdr_len, "Received-From-MTA", "dns; client.example");
	want_field(g.hdr, g.hdr_len, "Arrival-Date", "Tue, 14 Nov 2023 21:13:20 +0000");
	want_field(g.hdr, g.hdr_len, "X-Postino-Queue-ID", QID);
	want_field(g.hdr, g.hdr_len, "Final-Recipient", NULL);
	g = group(&ps, 1);
	want_field(g.hdr, g.hdr_len, "Original-Recipient", "rfc822; Alias+x@Client.example");
	want_field(g.hdr, g.hdr_len, "Final-Recipient", "rfc822; bob@outbound.test");
	want_field(g.hdr, g.hdr_len, "Action", "failed");
	want_field(g.hdr, g.hdr_len, "Status", "5.1.1");
	want_field(g.hdr, g.hdr_len, "Remote-MTA", "dns; mx.outbound.test");
	want_field(g.hdr, g.hdr_len, "Diagnostic-Code", "smtp; 550 5.1.1 no such user");
	want_field(g.hdr, g.hdr_len, "Last-Attempt-Date", "Tue, 14 Nov 2023 22:12:20 +0000");
	want_field(g.hdr, g.hdr_len, "Will-Retry-Until", NULL);
	g = group(&ps, 2);
	want_field(g.hdr, g.hdr_len, "Original-Recipient", NULL);
	want_field(g.hdr, g.hdr_len, "Final-Recipient", "rfc822; carol@example.test");
	want_field(g.hdr, g.hdr_len, "Status", "5.2.2");
	want_field(g.hdr, g.hdr_len, "Remote-MTA", NULL);
	want_field(g.hdr, g.hdr_len, "Diagnostic-Code", "X-Postino; mailbox full");
	want_field(g.hdr, g.hdr_len, "Last-Attempt-Date", NULL);
	want_field(g.hdr, g.hdr_len, "Will-Retry-Until", NULL);
	assert_true(part_has(&ps.parts[1], "\n\nFinal-Recipient: rfc822; carol@example.test\n"));
	assert_true(part_has(&ps.parts[0], "<bob@outbound.test>: delivery failed (5.1.1)\n"
	    "    Remote server mx.outbound.test said: 550 5.1.1 no such user\n"));
	assert_true(part_has(&ps.parts[0],
	    "<carol@example.test>: delivery failed (5.2.2)\n    Reason: mailbox full\n"));
	free(c.p);
}

/* A delay report: Will-Retry-Until, no diagnostic, the header section only. */
static void
test_delayed(void **state)
{
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc = rcpt(DSN_DELAYED);
	struct parsed ps;
	struct part g;
	struct cap c;

	r.envid = NULL;
	r.received_from_mta = NULL;
	r.arrival = 0;
	assert_int_equal(run(&c, &r, &rc, 1, headers), 0);
	check_common(c.p, &ps, 3, SUBJ_DELAY);
	g = group(&ps, 0);
	want_field(g.hdr, g.hdr_len, "Original-Envelope-Id", NULL);
	want_field(g.hdr, g.hdr_len, "Received-From-MTA", NULL);
	want_field(g.hdr, g.hdr_len, "Arrival-Date", NULL);
	g = group(&ps, 1);
	want_field(g.hdr, g.hdr_len, "Action", "delayed");
	want_field(g.hdr, g.hdr_len, "Status", "4.4.1");
	want_field(g.hdr, g.hdr_len, "Diagnostic-Code", NULL);
	want_field(g.hdr, g.hdr_len, "Will-Retry-Until", "Wed, 15 Nov 2023 22:13:20 +0000");
	assert_true(part_has(&ps.parts[0],
	    "    Delivery will be tried until Wed, 15 Nov 2023 22:13:20 +0000.\n"));
	free(c.p);
}

/* Failed and delivered in one report: a failure report; no content: two parts. */
static void
test_mixed_and_no_content(void **state)
{
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc[3] = { rcpt(DSN_DELIVERED), rcpt(DSN_DELAYED), rcpt(DSN_FAILED) };
	struct parsed ps;
	struct cap c;

	assert_int_equal(run(&c, &r, rc, 3, NULL), 0);
	check_common(c.p, &ps, 2, SUBJ_FAIL);
	want_field(group(&ps, 1).hdr, group(&ps, 1).hdr_len, "Action", "delivered");
	want_field(group(&ps, 2).hdr, group(&ps, 2).hdr_len, "Action", "delayed");
	want_field(group(&ps, 3).hdr, group(&ps, 3).hdr_len, "Action", "failed");
	free(c.p);
	assert_int_equal(run(&c, &r, rc, 2, ""), 0);   /* length 0: no third part either */
	check_common(c.p, &ps, 2, SUBJ_DELAY);
	free(c.p);
}

/* Peer text: line ends and controls go, 1000 octets at most, folded. */
static void
test_diagnostic_cleaned(void **state)
{
	static const struct {
		const char *diag, *want;   /* want NULL: check the bounds only */
	} cases[] = {
		{ "550-5.1.1 first\r\n550 5.1.1 second\x01\x7f\xff",
		    "smtp; 550-5.1.1 first 550 5.1.1 second???" },
		{ "  \t550 \r\n\r\n  spaced  \n", "smtp; 550 spaced" },
		{ "Status: 2.0.0\n\nFinal-Recipient: rfc822; evil@x",
		    "smtp; Status: 2.0.0 Final-Recipient: rfc822; evil@x" },
		{ " \r\n ", NULL },
		{ "", NULL },
	};
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	struct parsed ps;
	struct part g;
	struct cap c;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rc.diagnostic = cases[i].diag;
		assert_int_equal(run(&c, &r, &rc, 1, NULL), 0);
		check_common(c.p, &ps, 2, SUBJ_FAIL);
		g = group(&ps, 1);
		want_field(g.hdr, g.hdr_len, "Diagnostic-Code", cases[i].want);
		free(c.p);
	}
}

/* A long reply is cut to 1000 octets; lines stay within 78 octets. */
static void
test_diagnostic_long(void **state)
{
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	char *words = xmalloc(5001), *got;
	struct parsed ps;
	struct part g;
	struct cap c;

	for (size_t i = 0; i < 5000; i++)
		words[i] = i % 5 == 4 ? ' ' : "abcd"[i % 5];
	words[5000] = '\0';
	rc.diagnostic = words;
	assert_int_equal(run(&c, &r, &rc, 1, NULL), 0);
	check_common(c.p, &ps, 2, SUBJ_FAIL);
	g = group(&ps, 1);
	got = field(g.hdr, g.hdr_len, "Diagnostic-Code");
	assert_int_equal(strlen(got), 6 + 1000);
	assert_string_equal(got + 6 + 997, "...");
	assert_memory_equal(got + 6, words, 997);
	for (const char *p = g.hdr, *e; (e = strchr(p, '\n')) != NULL && e < g.hdr + g.hdr_len;
	     p = e + 1)
		assert_true(e - p <= 78);
	free(got);
	free(c.p);
	free(words);
}

/* ENVID and ORCPT decoded when printable (RFC 3461 4.2, 4.4), else as
 * received; UTF-8 addresses in the RFC 6533 7-bit form; the delivery-status
 * part stays 7-bit (more cases in test_dsn_text.c). */
static void
test_xtext_and_utf8(void **state)
{
	static const struct {
		const char *envid, *orcpt, *final, *want_envid, *want_orcpt, *want_final;
	} cases[] = {
		{ "A+0AB", "rfc822;a+0Db@x", "b@x", "A+0AB", "rfc822; a+0Db@x", "rfc822; b@x" },
		{ "+41+42", "RFC822;+41@x", "b@x", "AB", "RFC822; A@x", "rfc822; b@x" },
		{ "x", "utf-8;j\xc3\xa9r\xc3\xb4me@x", "j\xc3\xa9r\xc3\xb4me@x", "x",
		    "utf-8; j\\x{E9}r\\x{F4}me@x", "utf-8; j\\x{E9}r\\x{F4}me@x" },
	};
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	struct parsed ps;
	struct cap c;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		r.envid = cases[i].envid;
		rc.orcpt = cases[i].orcpt;
		rc.final_rcpt = cases[i].final;
		assert_int_equal(run(&c, &r, &rc, 1, NULL), 0);
		parse(c.p, &ps);
		want_clean(ps.parts[1].body, ps.parts[1].body_len, "delivery-status");
		for (size_t k = 0; k < ps.parts[1].body_len; k++)
			assert_true((unsigned char)ps.parts[1].body[k] < 0x80);
		want_field(group(&ps, 0).hdr, group(&ps, 0).hdr_len, "Original-Envelope-Id",
		    cases[i].want_envid);
		want_field(group(&ps, 1).hdr, group(&ps, 1).hdr_len, "Original-Recipient",
		    cases[i].want_orcpt);
		want_field(group(&ps, 1).hdr, group(&ps, 1).hdr_len, "Final-Recipient",
		    cases[i].want_final);
		free(c.p);
	}
}

/* A UTF-8 address makes the human-readable part (and the whole) 8bit. */
static void
test_utf8_text(void **state)
{
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	struct parsed ps;
	struct cap c;

	rc.final_rcpt = "jos\xc3\xa9@outbound.test";
	assert_int_equal(run(&c, &r, &rc, 1, NULL), 0);
	parse(c.p, &ps);
	want_field(ps.hdr, ps.hdr_len, "Content-Transfer-Encoding", "8bit");
	want_field(ps.parts[0].hdr, ps.parts[0].hdr_len, "Content-Type",
	    "text/plain; charset=utf-8");
	want_field(ps.parts[0].hdr, ps.parts[0].hdr_len, "Content-Transfer-Encoding", "8bit");
	assert_true(part_has(&ps.parts[0], "<jos\xc3\xa9@outbound.test>: delivery failed"));
	free(c.p);
}

/* 8-bit content: its part and the whole are marked 8bit (RFC 2046 5.2.1). */
static void
test_8bit_content(void **state)
{
	struct dsn_report r = report(SMTP_RET_FULL);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	char *text = message("Gr\xc3\xbc\xc3\x9f" "e\n");
	struct parsed ps;
	struct cap c;

	assert_int_equal(run(&c, &r, &rc, 1, text), 0);
	check_common(c.p, &ps, 3, SUBJ_FAIL);
	want_field(ps.hdr, ps.hdr_len, "Content-Transfer-Encoding", "8bit");
	want_field(ps.parts[2].hdr, ps.parts[2].hdr_len, "Content-Transfer-Encoding", "8bit");
	assert_memory_equal(ps.parts[2].body, text, strlen(text));
	free(c.p);
	r.ret = SMTP_RET_HDRS;   /* the 8-bit octets are in the body: headers are 7bit */
	assert_int_equal(run(&c, &r, &rc, 1, text), 0);
	check_common(c.p, &ps, 3, SUBJ_FAIL);
	want_field(ps.hdr, ps.hdr_len, "Content-Transfer-Encoding", NULL);
	want_field(ps.parts[2].hdr, ps.parts[2].hdr_len, "Content-Transfer-Encoding", NULL);
	free(c.p);
	free(text);
}

/* Where the header section ends (RFC 5322 2.1: at the first empty line). */
static void
test_header_section(void **state)
{
	static const struct {
		const char *content, *want;
	} cases[] = {
		{ "A: 1\nB: 2\n", "A: 1\nB: 2\n" },              /* no body at all */
		{ "A: 1\nB: 2", "A: 1\nB: 2" },                  /* nor a last line end */
		{ "\nbody\n", "" },                               /* empty header section */
		{ "A: 1\n folded\n\n\nbody\n", "A: 1\n folded\n" },
	};
	struct dsn_report r = report(SMTP_RET_HDRS);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	struct parsed ps;
	struct cap c;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(run(&c, &r, &rc, 1, cases[i].content), 0);
		parse(c.p, &ps);
		assert_int_equal(ps.nparts, 3);
		assert_int_equal(ps.parts[2].body_len, strlen(cases[i].want));
		assert_memory_equal(ps.parts[2].body, cases[i].want, strlen(cases[i].want));
		free(c.p);
	}
}

/* Status: kept when well-formed (RFC 3463), else X.0.0 of the action. */
static void
test_status(void **state)
{
	static const struct {
		enum dsn_action a;
		const char *status, *want;
	} cases[] = {
		{ DSN_FAILED, "5.1.10", "5.1.10" }, { DSN_FAILED, "4.4.7", "4.4.7" },
		{ DSN_FAILED, NULL, "5.0.0" }, { DSN_FAILED, "5.1", "5.0.0" },
		{ DSN_FAILED, "5.1.1 x", "5.0.0" }, { DSN_FAILED, "3.1.1", "5.0.0" },
		{ DSN_FAILED, "5.1234.1", "5.0.0" }, { DSN_FAILED, "5..1", "5.0.0" },
		{ DSN_FAILED, "5.1.1\n", "5.0.0" }, { DSN_DELAYED, "", "4.0.0" },
		{ DSN_DELIVERED, NULL, "2.0.0" }, { DSN_RELAYED, "x", "2.0.0" },
		{ DSN_EXPANDED, "2.1.5", "2.1.5" },
	};
	struct dsn_report r = report(SMTP_RET_NONE);
	struct parsed ps;
	struct cap c;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dsn_rcpt rc = rcpt(cases[i].a);

		rc.status = cases[i].status;
		assert_int_equal(run(&c, &r, &rc, 1, NULL), 0);
		parse(c.p, &ps);
		want_field(group(&ps, 1).hdr, group(&ps, 1).hdr_len, "Status", cases[i].want);
		free(c.p);
	}
}

/* A boundary found at the start of a content line is drawn again
 * (RFC 2046 5.1.1); if every draw collides, EEXIST. */
static void
test_boundary_collision(void **state)
{
	struct dsn_report r = report(SMTP_RET_FULL);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	char *text = message("--" ZERO_BOUNDARY "\n--" ZERO_BOUNDARY "--\n");
	struct parsed ps;
	struct cap c;

	zero_random = 1;
	assert_int_equal(run(&c, &r, &rc, 1, text), 0);
	assert_int_equal(zero_random, 0);
	check_common(c.p, &ps, 3, SUBJ_FAIL);
	assert_string_not_equal(ps.boundary, ZERO_BOUNDARY);
	assert_memory_equal(ps.parts[2].body, text, strlen(text));
	free(c.p);
	zero_random = -1;   /* only in the body: RET=HDRS does not return it, no collision */
	r.ret = SMTP_RET_HDRS;
	assert_int_equal(run(&c, &r, &rc, 1, text), 0);
	parse(c.p, &ps);
	assert_string_equal(ps.boundary, ZERO_BOUNDARY);
	free(c.p);
	r.ret = SMTP_RET_FULL;
	assert_int_equal(run(&c, &r, &rc, 1, text), -1);
	assert_int_equal(errno, EEXIST);
	free(c.p);
	zero_random = 0;
	free(text);
}

/* Two reports on the same message at the same second differ in
 * Message-ID and boundary. */
static void
test_unique(void **state)
{
	struct dsn_report r = report(SMTP_RET_NONE);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	struct parsed a, b;
	struct cap c1, c2;
	char *id1, *id2;

	assert_int_equal(run(&c1, &r, &rc, 1, NULL), 0);
	assert_int_equal(run(&c2, &r, &rc, 1, NULL), 0);
	parse(c1.p, &a);
	parse(c2.p, &b);
	id1 = field(a.hdr, a.hdr_len, "Message-ID");
	id2 = field(b.hdr, b.hdr_len, "Message-ID");
	assert_non_null(id1);
	assert_non_null(id2);
	assert_true(id1[0] == '<' && strstr(id1, "." QID "@mx.example.test>") != NULL);
	assert_string_not_equal(id1, id2);
	assert_string_not_equal(a.boundary, b.boundary);
	free(id1);
	free(id2);
	free(c1.p);
	free(c2.p);
}

static int
fail_emit(void *arg, const char *p, size_t n)
{
	errno = ENOSPC;
	return -1;
}

/* Bad arguments, a failing emit, a short or unreadable content. */
static void
test_errors(void **state)
{
	struct dsn_report r = report(SMTP_RET_FULL);
	struct dsn_rcpt rc = rcpt(DSN_FAILED);
	char *text = message("");
	struct cap c = { .fail_after = 1 };
	int fd = content_fd(text);

	assert_int_equal(dsn_write(&r, &rc, 0, -1, 0, 0, NOW, cap_emit, &c), -1);
	assert_int_equal(errno, EINVAL);
	r.to = "";
	assert_int_equal(dsn_write(&r, &rc, 1, -1, 0, 0, NOW, cap_emit, &c), -1);
	assert_int_equal(errno, EINVAL);
	r = report(SMTP_RET_FULL);
	rc.action = (enum dsn_action)99;
	assert_int_equal(dsn_write(&r, &rc, 1, -1, 0, 0, NOW, cap_emit, &c), -1);
	assert_int_equal(errno, EINVAL);
	rc = rcpt(DSN_FAILED);
	assert_int_equal(dsn_write(&r, &rc, 1, fd, 4, strlen(text), NOW, fail_emit, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	c.fail_after = 1;   /* the header goes, then EPIPE */
	assert_int_equal(dsn_write(&r, &rc, 1, fd, 4, strlen(text), NOW, cap_emit, &c), -1);
	assert_int_equal(errno, EPIPE);
	free(c.p);
	c = (struct cap){ .fail_after = -1 };
	assert_int_equal(dsn_write(&r, &rc, 1, fd, 4, strlen(text) + 1, NOW, cap_emit, &c), -1);
	assert_int_equal(errno, EIO);
	assert_null(c.p);   /* the content is read before anything is written */
	close(fd);
	assert_int_equal(dsn_write(&r, &rc, 1, fd, 4, strlen(text), NOW, cap_emit, &c), -1);
	assert_int_equal(errno, EBADF);
	free(text);
}

/* RFC 3461 4.1: every NOTIFY combination against every action. */
static void
test_wanted(void **state)
{
	static const struct {
		unsigned notify;
		bool want[5];   /* failed, delayed, delivered, relayed, expanded */
	} rows[] = {
		{ 0, { true, true, false, false, false } },
		{ SMTP_NOTIFY_NEVER, { false, false, false, false, false } },
		{ SMTP_NOTIFY_SUCCESS, { false, false, true, true, true } },
		{ SMTP_NOTIFY_FAILURE, { true, false, false, false, false } },
		{ SMTP_NOTIFY_DELAY, { false, true, false, false, false } },
		{ SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE, { true, false, true, true, true } },
		{ SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, { true, true, false, false, false } },
		{ SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY, { false, true, true, true, true } },
		{ SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY,
		    { true, true, true, true, true } },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		for (int a = DSN_FAILED; a <= DSN_EXPANDED; a++)
			if (dsn_wanted(rows[i].notify, (enum dsn_action)a) != rows[i].want[a])
				fail_msg("notify 0x%x %s: got %d, want %d", rows[i].notify,
				    action_names[a], !rows[i].want[a], rows[i].want[a]);
	/* NEVER with anything else (refused at RCPT) still means none. */
	for (unsigned m = SMTP_NOTIFY_NEVER; m < 16; m += 2)
		for (int a = DSN_FAILED; a <= DSN_EXPANDED; a++)
			assert_false(dsn_wanted(m, (enum dsn_action)a));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ret_modes),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_delayed),
		cmocka_unit_test(test_mixed_and_no_content),
		cmocka_unit_test(test_diagnostic_cleaned),
		cmocka_unit_test(test_diagnostic_long),
		cmocka_unit_test(test_xtext_and_utf8),
		cmocka_unit_test(test_utf8_text),
		cmocka_unit_test(test_8bit_content),
		cmocka_unit_test(test_header_section),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_boundary_collision),
		cmocka_unit_test(test_unique),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_wanted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
