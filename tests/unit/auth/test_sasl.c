/* test_sasl.c - table-driven tests of src/auth/sasl.c: PLAIN and LOGIN
 * exchanges written as traces of statuses and challenges, the credentials
 * they yield, field bounds (255 octets pass, 256 fail), mechanism names,
 * and the PANIC on calls out of order (run in a child process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/sasl.h"
#include "util/base64.h"
#include "util/buf.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			print_error(__VA_ARGS__);                                        \
			failures++;                                                      \
		}                                                                        \
	} while (0)

/* One piece of client data: sent as is (RAW) or base64-encoded first (ENC). */
struct piece {
	const char *p;
	size_t len;
	bool encode;
};
#define RAW(s) { s, sizeof(s) - 1, false }
#define ENC(s) { s, sizeof(s) - 1, true }
#define NONE { NULL, 0, false }

/* The challenges, base64. */
#define USER "VXNlcm5hbWU6" /* "Username:" */
#define PASS "UGFzc3dvcmQ6" /* "Password:" */

/* Turn a piece into the line the client would send, in line. */
static struct span
piece_line(const struct piece *pc, struct buf *line)
{
	buf_clear(line);
	if (pc->encode) {
		assert_int_equal(base64_encode(pc->p, pc->len, line), 0);
		return span_make(line->data ? line->data : "", line->len);
	}
	return span_make(pc->p ? pc->p : "", pc->len);
}

/* Add one call's outcome to the trace: C[challenge], D[authzid|authcid|password], B or X. */
static void
trace_add(struct buf *trace, const struct sasl *s, enum sasl_status st,
    const struct buf *challenge)
{
	static const char *const letters[] = { "C", "D", "B", "X" };

	assert_non_null(challenge->data);
	if (trace->len > 0)
		assert_int_equal(buf_append_str(trace, " "), 0);
	assert_int_equal(buf_append_str(trace, letters[st]), 0);
	if (st == SASL_CONTINUE)
		assert_int_equal(buf_printf(trace, "[%s]", challenge->data), 0);
	/* Test passwords; printing them here is fine, the module never does. */
	if (st == SASL_DONE)
		assert_int_equal(buf_printf(trace, "[%s|%s|%s]", sasl_authzid(s), sasl_authcid(s),
				     sasl_password(s)),
		    0);
	if (st != SASL_CONTINUE)
		CHECK(challenge->len == 0, "challenge \"%s\" left with a final status\n",
		    challenge->data);
}

/* Run an exchange until it ends or the responses run out (a NONE step ends
 * them early); the trace in *trace. */
static enum sasl_status
run(struct sasl *s, const struct piece *initial, const struct piece *steps, size_t nsteps,
    struct buf *trace)
{
	struct buf line, challenge;
	enum sasl_status st;

	buf_init(&line, 16384);
	buf_init(&challenge, SASL_CHALLENGE_MAX);
	buf_clear(trace);
	st = sasl_start(s, piece_line(initial, &line), &challenge);
	trace_add(trace, s, st, &challenge);
	for (size_t i = 0; i < nsteps && steps[i].p != NULL && st == SASL_CONTINUE; i++) {
		st = sasl_step(s, piece_line(&steps[i], &line), &challenge);
		trace_add(trace, s, st, &challenge);
	}
	buf_reset(&line);
	buf_reset(&challenge);
	return st;
}

static const struct {
	const char *name;
	const char *mech;
	struct piece initial;
	struct piece steps[3];
	const char *want; /* the trace */
} cases[] = {
	/* PLAIN (RFC 4616) */
	{ "plain initial", "PLAIN", ENC("\0alice\0secret"), { NONE }, "D[|alice|secret]" },
	{ "plain initial authzid", "PLAIN", ENC("admin\0alice\0secret"), { NONE },
	    "D[admin|alice|secret]" },
	{ "plain no initial", "PLAIN", NONE, { ENC("\0alice\0secret") }, "C[] D[|alice|secret]" },
	{ "plain no initial authzid", "PLAIN", NONE, { ENC("bob\0alice\0s p a c e") },
	    "C[] D[bob|alice|s p a c e]" },
	{ "plain utf-8", "plain", ENC("\0j\xc3\xbcrgen\0\xe2\x82\xac\xf0\x9f\x94\x91"), { NONE },
	    "D[|j\xc3\xbcrgen|\xe2\x82\xac\xf0\x9f\x94\x91]" },
	{ "plain raw initial", "PLAIN", RAW("AGFsaWNlAHNlY3JldA=="), { NONE }, "D[|alice|secret]" },
	{ "plain = initial", "PLAIN", RAW("="), { NONE }, "B" },
	{ "plain = as response", "PLAIN", NONE, { RAW("=") }, "C[] B" },
	{ "plain empty response", "PLAIN", NONE, { RAW("") }, "C[] B" },
	{ "plain cancel", "PLAIN", NONE, { RAW("*") }, "C[] X" },
	{ "plain * initial", "PLAIN", RAW("*"), { NONE }, "B" },
	{ "plain ** response", "PLAIN", NONE, { RAW("**") }, "C[] B" },
	{ "plain unpadded", "PLAIN", RAW("AGFsaWNlAHNlY3JldA"), { NONE }, "B" },
	{ "plain unpadded response", "PLAIN", NONE, { RAW("AGFsaWNlAHNlY3JldA") }, "C[] B" },
	{ "plain space in base64", "PLAIN", RAW("AGFsaWNl AHNlY3JldA=="), { NONE }, "B" },
	{ "plain trailing space", "PLAIN", NONE, { RAW("AGFsaWNlAHNlY3JldA== ") }, "C[] B" },
	{ "plain url-safe alphabet", "PLAIN", RAW("AGFsaWNlAHNlY3JldA_-"), { NONE }, "B" },
	{ "plain trailing bits", "PLAIN", RAW("AGFsaWNlAHNlY3JldB=="), { NONE }, "B" },
	{ "plain no NUL", "PLAIN", ENC("alice"), { NONE }, "B" },
	{ "plain one NUL", "PLAIN", ENC("alice\0secret"), { NONE }, "B" },
	{ "plain one leading NUL", "PLAIN", ENC("\0alicesecret"), { NONE }, "B" },
	{ "plain extra NUL in passwd", "PLAIN", ENC("\0alice\0sec\0ret"), { NONE }, "B" },
	{ "plain trailing NUL", "PLAIN", ENC("z\0alice\0secret\0"), { NONE }, "B" },
	{ "plain empty authcid", "PLAIN", ENC("\0\0secret"), { NONE }, "B" },
	{ "plain empty passwd", "PLAIN", ENC("\0alice\0"), { NONE }, "B" },
	{ "plain only NULs", "PLAIN", ENC("\0\0"), { NONE }, "B" },
	{ "plain bad utf-8 authcid", "PLAIN", ENC("\0al\xffice\0secret"), { NONE }, "B" },
	{ "plain bad utf-8 passwd", "PLAIN", ENC("\0alice\0s\xe9" "cret"), { NONE }, "B" },
	{ "plain bad utf-8 authzid", "PLAIN", ENC("\x80\0alice\0secret"), { NONE }, "B" },
	{ "plain overlong utf-8", "PLAIN", ENC("\0\xc0\xaf\0secret"), { NONE }, "B" },
	{ "plain utf-8 surrogate", "PLAIN", ENC("\0a\xed\xa0\x80\0secret"), { NONE }, "B" },
	{ "plain utf-8 past U+10FFFF", "PLAIN", ENC("\0a\xf4\x90\x80\x80\0secret"), { NONE }, "B" },
	{ "plain utf-8 lead F5", "PLAIN", ENC("\0a\xf5\x80\x80\x80\0secret"), { NONE }, "B" },
	{ "plain utf-8 lead F8", "PLAIN", ENC("\0a\xf8\x88\x80\x80\x80\0secret"), { NONE }, "B" },
	{ "plain utf-8 U+10FFFF", "PLAIN", ENC("\0a\xf4\x8f\xbf\xbf\0secret"), { NONE },
	    "D[|a\xf4\x8f\xbf\xbf|secret]" },
	{ "plain utf-8 lone continuation", "PLAIN", ENC("\0a\xbf\0secret"), { NONE }, "B" },
	{ "plain truncated utf-8", "PLAIN", ENC("\0alice\0secret\xe2\x82"), { NONE }, "B" },
	/* LOGIN (draft-murchison-sasl-login) */
	{ "login", "LOGIN", NONE, { ENC("alice"), ENC("secret") },
	    "C[" USER "] C[" PASS "] D[|alice|secret]" },
	{ "login initial user", "LOGIN", ENC("alice"), { ENC("secret") },
	    "C[" PASS "] D[|alice|secret]" },
	{ "login lower case", "login", NONE, { ENC("a@example.test"), ENC("pw") },
	    "C[" USER "] C[" PASS "] D[|a@example.test|pw]" },
	{ "login latin-1 password", "LOGIN", NONE, { ENC("alice"), ENC("s\xe9") },
	    "C[" USER "] C[" PASS "] D[|alice|s\xe9]" },
	{ "login cancel user", "LOGIN", NONE, { RAW("*") }, "C[" USER "] X" },
	{ "login cancel password", "LOGIN", NONE, { ENC("alice"), RAW("*") },
	    "C[" USER "] C[" PASS "] X" },
	{ "login cancel password after initial", "LOGIN", ENC("alice"), { RAW("*") },
	    "C[" PASS "] X" },
	{ "login = initial", "LOGIN", RAW("="), { NONE }, "B" },
	{ "login * initial", "LOGIN", RAW("*"), { NONE }, "B" },
	{ "login bad base64 initial", "LOGIN", RAW("YWxpY2U"), { NONE }, "B" },
	{ "login bad base64 user", "LOGIN", NONE, { RAW("YWxp Y2U=") }, "C[" USER "] B" },
	{ "login bad base64 password", "LOGIN", NONE, { ENC("alice"), RAW("c2VjcmV0=") },
	    "C[" USER "] C[" PASS "] B" },
	{ "login empty user", "LOGIN", NONE, { RAW("") }, "C[" USER "] B" },
	{ "login empty password", "LOGIN", NONE, { ENC("alice"), RAW("") },
	    "C[" USER "] C[" PASS "] B" },
	{ "login NUL in user", "LOGIN", NONE, { ENC("al\0ice") }, "C[" USER "] B" },
	{ "login NUL in password", "LOGIN", ENC("alice"), { ENC("sec\0ret") }, "C[" PASS "] B" },
	{ "login PLAIN message as user", "LOGIN", ENC("\0alice\0secret"), { NONE }, "B" },
	{ "login = as password", "LOGIN", ENC("alice"), { RAW("=") }, "C[" PASS "] B" },
};

static void
check_case(size_t i, struct buf *trace)
{
	struct sasl *s = sasl_new(span_cstr(cases[i].mech));

	assert_non_null(s);
	run(s, &cases[i].initial, cases[i].steps, 3, trace);
	CHECK(strcmp(trace->data, cases[i].want) == 0, "%s: got \"%s\", want \"%s\"\n",
	    cases[i].name, trace->data, cases[i].want);
	sasl_free(s);
}

static void
test_exchanges(void **state)
{
	struct buf trace;

	(void)state;
	failures = 0;
	buf_init(&trace, 1024);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(i, &trace);
	buf_reset(&trace);
	assert_int_equal(failures, 0);
}

/* Field lengths at and past SASL_FIELD_MAX; 0 for authzid means none. */
static const struct {
	const char *name;
	const char *mech;
	size_t zid, cid, pw;
	enum sasl_status want;
} bounds[] = {
	{ "plain authcid 255", "PLAIN", 0, 255, 6, SASL_DONE },
	{ "plain authcid 256", "PLAIN", 0, 256, 6, SASL_BAD },
	{ "plain passwd 255", "PLAIN", 0, 5, 255, SASL_DONE },
	{ "plain passwd 256", "PLAIN", 0, 5, 256, SASL_BAD },
	{ "plain authzid 255", "PLAIN", 255, 5, 6, SASL_DONE },
	{ "plain authzid 256", "PLAIN", 256, 5, 6, SASL_BAD },
	{ "plain all 255", "PLAIN", 255, 255, 255, SASL_DONE },
	{ "plain all 256", "PLAIN", 256, 256, 256, SASL_BAD },
	{ "plain huge passwd", "PLAIN", 0, 5, 9000, SASL_BAD },
	{ "login user 255", "LOGIN", 0, 255, 6, SASL_DONE },
	{ "login user 256", "LOGIN", 0, 256, 6, SASL_BAD },
	{ "login password 255", "LOGIN", 0, 5, 255, SASL_DONE },
	{ "login password 256", "LOGIN", 0, 5, 256, SASL_BAD },
	{ "login huge password", "LOGIN", 0, 5, 9000, SASL_BAD },
};

static const char *const status_names[] = { "CONTINUE", "DONE", "BAD", "CANCELLED" };

/* Run one bounds case; raw holds the decoded message(s) built from 'a', 'b' and 'c'. */
static enum sasl_status
run_bounds(size_t i, char *raw, struct buf *trace)
{
	struct sasl *s = sasl_new(span_cstr(bounds[i].mech));
	struct piece initial = NONE, steps[2];
	size_t zid = bounds[i].zid, cid = bounds[i].cid, pw = bounds[i].pw;
	enum sasl_status st;

	assert_non_null(s);
	memset(raw, 'a', zid);
	memset(raw + zid + 1, 'b', cid);
	memset(raw + zid + 1 + cid + 1, 'c', pw);
	raw[zid] = raw[zid + 1 + cid] = '\0';
	if (strcmp(bounds[i].mech, "PLAIN") == 0) {
		steps[0] = (struct piece){ raw, zid + 1 + cid + 1 + pw, true };
		st = run(s, &initial, steps, 1, trace);
	} else {
		steps[0] = (struct piece){ raw + zid + 1, cid, true };
		steps[1] = (struct piece){ raw + zid + 1 + cid + 1, pw, true };
		st = run(s, &initial, steps, 2, trace);
	}
	if (st == SASL_DONE)
		CHECK(strlen(sasl_authzid(s)) == (strcmp(bounds[i].mech, "PLAIN") == 0 ? zid : 0) &&
			  strlen(sasl_authcid(s)) == cid && strlen(sasl_password(s)) == pw,
		    "%s: field lengths %zu/%zu/%zu\n", bounds[i].name, strlen(sasl_authzid(s)),
		    strlen(sasl_authcid(s)), strlen(sasl_password(s)));
	sasl_free(s);
	return st;
}

static void
test_bounds(void **state)
{
	static char raw[3 * 9000 + 2];
	struct buf trace;

	(void)state;
	failures = 0;
	buf_init(&trace, 1024);
	for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
		enum sasl_status st = run_bounds(i, raw, &trace);

		CHECK(st == bounds[i].want, "%s: got %s, want %s\n", bounds[i].name,
		    status_names[st], status_names[bounds[i].want]);
	}
	buf_reset(&trace);
	assert_int_equal(failures, 0);
}

static void
test_mechanisms(void **state)
{
	static const struct {
		const char *name;
		bool want;
	} names[] = {
		{ "PLAIN", true },     { "plain", true },     { "PlAiN", true },
		{ "LOGIN", true },     { "login", true },     { "Login", true },
		{ "", false },         { "PLAI", false },     { "PLAINX", false },
		{ " PLAIN", false },   { "PLAIN ", false },   { "CRAM-MD5", false },
		{ "DIGEST-MD5", false }, { "XOAUTH2", false }, { "ANONYMOUS", false },
		{ "EXTERNAL", false }, { "LOGIN\r", false }, { "SCRAM-SHA-256", false },
	};

	(void)state;
	failures = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct sasl *s = sasl_new(span_cstr(names[i].name));

		CHECK((s != NULL) == names[i].want, "\"%s\": got %s, want %s\n", names[i].name,
		    s ? "a session" : "NULL", names[i].want ? "a session" : "NULL");
		sasl_free(s);
	}
	/* "PLAIN" followed by a NUL inside the span is not PLAIN */
	assert_null(sasl_new(span_make("PLAIN\0", 6)));
	sasl_free(NULL);
	assert_int_equal(failures, 0);
}

/* Calls out of order, each made in a child that must die by PANIC (abort). */
enum misuse { STEP_BEFORE_START, START_TWICE, STEP_AFTER_DONE, STEP_AFTER_BAD,
	STEP_AFTER_CANCEL, AUTHCID_BEFORE_DONE, PASSWORD_AFTER_BAD, SMALL_CHALLENGE_BUF };

static void
misuse_child(enum misuse m)
{
	struct sasl *s = sasl_new(SPAN_LIT("LOGIN"));
	struct buf c, tiny;
	int fd = open("/dev/null", O_WRONLY);

	if (fd >= 0)
		dup2(fd, STDERR_FILENO);
	buf_init(&c, 64);
	buf_init(&tiny, SASL_CHALLENGE_MAX - 1);
	if (m != STEP_BEFORE_START && m != SMALL_CHALLENGE_BUF)
		sasl_start(s, SPAN_LIT(""), &c);
	if (m == SMALL_CHALLENGE_BUF)
		sasl_start(s, SPAN_LIT(""), &tiny);
	if (m == STEP_AFTER_DONE) {
		sasl_step(s, SPAN_LIT("YQ=="), &c);
		sasl_step(s, SPAN_LIT("YQ=="), &c);
	}
	if (m == STEP_AFTER_BAD || m == PASSWORD_AFTER_BAD)
		sasl_step(s, SPAN_LIT("!"), &c);
	if (m == STEP_AFTER_CANCEL)
		sasl_step(s, SPAN_LIT("*"), &c);
	if (m == START_TWICE)
		sasl_start(s, SPAN_LIT(""), &c);
	else if (m == AUTHCID_BEFORE_DONE)
		(void)sasl_authcid(s);
	else if (m == PASSWORD_AFTER_BAD)
		(void)sasl_password(s);
	else
		sasl_step(s, SPAN_LIT("YQ=="), &c);
	_exit(0); /* not reached when the module panics */
}

static void
test_misuse_panics(void **state)
{
	static const char *const names[] = { "step before start", "start twice", "step after done",
		"step after bad", "step after cancel", "authcid before done", "password after bad",
		"challenge buf too small" };

	(void)state;
	failures = 0;
	for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
		int status = 0;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			misuse_child((enum misuse)m);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		    "%s: got %s %d, want SIGABRT\n", names[m],
		    WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	assert_int_equal(failures, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchanges),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_misuse_panics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
