/* test_mailboxes.c - table-driven tests of src/auth/mailboxes.c: loading the
 * users and aliases files (every FILE:LINE problem), password hashes, and
 * resolution: aliases, loops, depth and width bounds, the postmaster rule,
 * the catch-all mode and relay tricks that must stay local data. Files are
 * written to a fresh mkdtemp directory; the config is built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/mailboxes.h"
#include "util/buf.h"
#include "util/xalloc.h"

static int failures;

#define CHECK(cond, ...)                                                                 \
	do {                                                                             \
		if (!(cond)) {                                                           \
			print_error(__VA_ARGS__);                                        \
			failures++;                                                      \
		}                                                                        \
	} while (0)

#define MISSING "\001missing" /* file text: the key is set but the file absent */

static char dir[64];
static char dom1[] = "example.test", dom2[] = "example.org";
static char *two_domains[] = { dom1, dom2 };
static char hostname[] = "mx.example.test";

static const char *const verdict_names[] = { "OK", "UNKNOWN", "REMOTE", "LOOP" };

/* Write text (len 0: strlen) to dir/name; the path, or NULL for text NULL. */
static char *
put_file(const char *name, const char *text, size_t len)
{
	char *path;
	FILE *f;

	if (text == NULL)
		return NULL;
	path = xasprintf("%s/%s", dir, name);
	unlink(path);
	if (strcmp(text, MISSING) == 0)
		return path;
	f = fopen(path, "w");
	assert_non_null(f);
	len = len ? len : strlen(text);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
config_make(struct config *c, char *users, char *aliases, bool aliases_explicit)
{
	memset(c, 0, sizeof *c);
	c->server.hostname = hostname;
	c->local_domains = two_domains;
	c->nlocal_domains = 2;
	c->mailboxes.users = users;
	c->mailboxes.users_explicit = users != NULL;
	c->mailboxes.aliases = aliases;
	c->mailboxes.aliases_explicit = aliases_explicit;
}

/* Every diag item, one a line, the directory prefix removed. */
static void
render_diag(const struct diag *d, struct buf *b)
{
	size_t dl = strlen(dir);

	buf_clear(b);
	assert_int_equal(buf_append(b, "", 0), 0);
	for (size_t i = 0; i < d->n; i++) {
		const char *t = d->items[i].text;

		if (strncmp(t, dir, dl) == 0 && t[dl] == '/')
			t += dl + 1;
		assert_int_equal(buf_printf(b, "%s%s", i ? "\n" : "", t), 0);
	}
}

/* "L:addr | R:addr" */
static void
render_targets(const struct mailboxes_target *t, size_t n, struct buf *b)
{
	buf_clear(b);
	assert_int_equal(buf_append(b, "", 0), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_printf(b, "%s%c:%s", i ? " | " : "", t[i].local ? 'L' : 'R',
		    t[i].address), 0);
}

/* ---- loading: every problem, with its file and line ----------------------- */

struct load_case {
	const char *name;
	const char *users;   /* NULL: no users key; MISSING: key set, no file */
	size_t users_len;    /* 0: strlen */
	const char *aliases; /* NULL: no aliases key */
	bool aliases_explicit;
	bool want_loaded;
	const char *want_diag; /* items joined by newlines */
};

#define PM "postmaster@example.test:$6$pm\n"
#define NUL_USERS PM "a@exa\0mple.test:h\nb@example.test:h\n"
#define NO_PM "users: warning: 'postmaster@example.test' is neither a user nor an alias"

static const struct load_case load_cases[] = {
	{ "empty files", PM, 0, "", true, true, "" },
	{ "comments and blanks", "# users\n\n  # indented\n\t\n" PM, 0, "#\n\n", true, true, "" },
	{ "CRLF lines", "postmaster@example.test:$6$pm\r\na@example.test:h\r\n", 0,
	    "b@example.test: a@example.test\r\n", true, true, "" },
	{ "no final newline", "postmaster@example.test:$6$pm", 0, "b@example.test: postmaster@example.test",
	    true, true, "" },
	{ "white space around fields", " postmaster@example.test :\t$6$pm \n", 0,
	    "\tb@example.test :  postmaster@example.test ,  x@remote.test \n", true, true, "" },
	{ "users missing", MISSING, 0, NULL, false, false,
	    "users: cannot read: No such file or directory\n" NO_PM },
	{ "aliases missing, explicit", PM, 0, MISSING, true, false,
	    "aliases: cannot read: No such file or directory" },
	{ "aliases missing, default", PM, 0, MISSING, false, true, "" },
	{ "no postmaster", "a@example.test:h\n", 0, NULL, false, true, NO_PM },
	{ "postmaster as alias", "a@example.test:h\n", 0, "postmaster@example.test: a@example.test\n",
	    true, true, "" },
	{ "users no colon", PM "alice@example.test\n", 0, NULL, false, false,
	    "users:2: expected user@domain:HASH" },
	{ "users bad address", PM "alice:h\n", 0, NULL, false, false,
	    "users:2: invalid address 'alice' (want local@domain)" },
	{ "users empty hash", PM "a@example.test:\n", 0, NULL, false, false,
	    "users:2: missing or malformed password hash" },
	{ "users hash with space", PM "a@example.test:ab cd\n", 0, NULL, false, false,
	    "users:2: missing or malformed password hash" },
	{ "users duplicate", PM "a@example.test:h\n# x\nA@EXAMPLE.TEST:h\n", 0, NULL, false, false,
	    "users:4: duplicate user 'a@example.test' (first at line 2)" },
	{ "users NUL byte", NUL_USERS, sizeof NUL_USERS - 1, NULL, false, false,
	    "users:2: NUL byte in line" },
	{ "users local too long",
	    PM "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test:h\n",
	    0, NULL, false, false,
	    "users:2: address too long: "
	    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test'" },
	{ "users bracketed", PM "<a@example.test>:h\n", 0, NULL, false, false,
	    "users:2: invalid address '<a@example.test>' (want local@domain)" },
	{ "user in remote domain", PM "a@elsewhere.test:h\n", 0, NULL, false, true,
	    "users:2: warning: user domain 'elsewhere.test' is not a local domain: it receives "
	    "no mail here" },
	{ "user in a literal", PM "a@[127.0.0.1]:h\n", 0, NULL, false, true,
	    "users:2: warning: user domain '[127.0.0.1]' is not a local domain: it receives "
	    "no mail here" },
	{ "user in an IPv6 literal", PM "a@[IPv6:::1]:h\n", 0, NULL, false, true,
	    "users:2: warning: user domain '[IPv6:::1]' is not a local domain: it receives "
	    "no mail here" },
	{ "quoted user with colon", PM "\"a:b\"@example.test:h\n", 0, NULL, false, true, "" },
	{ "aliases no colon", PM, 0, "a@example.test\n", true, false,
	    "aliases:1: expected alias@domain: target, ..." },
	{ "aliases bad name", PM, 0, "a: postmaster@example.test\n", true, false,
	    "aliases:1: invalid address 'a' (want local@domain)" },
	{ "aliases no targets", PM, 0, "a@example.test:\n", true, false,
	    "aliases:1: alias has no targets" },
	{ "aliases empty target", PM, 0, "a@example.test: x@r.test,,y@r.test\n", true, false,
	    "aliases:1: empty alias target" },
	{ "aliases trailing comma", PM, 0, "a@example.test: x@r.test,\n", true, false,
	    "aliases:1: empty alias target" },
	{ "aliases bad target", PM, 0, "a@example.test: x@r.test, y@, z\n", true, false,
	    "aliases:1: invalid address 'y@' (want local@domain)\n"
	    "aliases:1: invalid address 'z' (want local@domain)" },
	{ "aliases bare postmaster target", PM, 0, "a@example.test: postmaster\n", true, false,
	    "aliases:1: invalid address 'postmaster' (want local@domain)" },
	{ "aliases duplicate", PM, 0,
	    "a@example.test: x@r.test\nA@Example.Test: y@r.test\n", true, false,
	    "aliases:2: duplicate alias 'a@example.test' (first at line 1)" },
	{ "alias that is a user", PM "bob@example.test:h\n", 0, "Bob@example.test: x@r.test\n",
	    true, false, "aliases:1: alias 'bob@example.test' is also a user (users file line 2)" },
	{ "alias in remote domain", PM, 0, "a@remote.test: postmaster@example.test\n", true, true,
	    "aliases:1: warning: alias domain 'remote.test' is not a local domain: it receives no "
	    "mail here" },
	{ "alias unknown targets", PM, 0,
	    "a@example.test: ghost@example.test, x@r.test, Ghost2@Example.Org\n", true, true,
	    "aliases:1: warning: alias target 'ghost@example.test' is neither a user nor an "
	    "alias\n"
	    "aliases:1: warning: alias target 'ghost2@example.org' is neither a user nor an alias" },
	{ "alias target postmaster elsewhere", "a@example.test:h\n", 0,
	    "b@example.test: postmaster@example.org\n", true, true, NO_PM },
	{ "alias quoted targets", PM, 0,
	    "a@example.test: \"x,y\"@r.test, \"p:q\"@r.test, u@[IPv6:::1]\n", true, true, "" },
	{ "errors in both files", PM "bad\n", 0, "bad\n", true, false,
	    "users:2: expected user@domain:HASH\naliases:1: expected alias@domain: target, ..." },
};

static void
run_load(const struct load_case *c, struct buf *b)
{
	char *users = put_file("users", c->users, c->users_len);
	char *aliases = put_file("aliases", c->aliases, 0);
	struct config cfg;
	struct diag d;
	struct mailboxes *m;

	config_make(&cfg, users, aliases, c->aliases_explicit);
	diag_init(&d);
	m = mailboxes_load(&cfg, &d);
	CHECK((m != NULL) == c->want_loaded, "%s: got loaded %d, want %d\n", c->name, m != NULL,
	    c->want_loaded);
	render_diag(&d, b);
	CHECK(strcmp(b->data, c->want_diag) == 0, "%s: got diag\n%s\nwant\n%s\n", c->name, b->data,
	    c->want_diag);
	mailboxes_free(m);
	diag_reset(&d);
	free(users);
	free(aliases);
}

static void
test_load(void **state)
{
	struct buf b;

	(void)state;
	failures = 0;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_append(&b, "", 0), 0);
	for (size_t i = 0; i < sizeof load_cases / sizeof load_cases[0]; i++)
		run_load(&load_cases[i], &b);
	buf_reset(&b);
	assert_int_equal(failures, 0);
}

/* ---- resolution over one realistic pair of files -------------------------- */

static const char fixture_users[] = "# users of the test\n"
				    "alice@example.test:$6$salt$hashA\n"
				    "\n"
				    "Bob@Example.TEST:$6$salt$hashB\n"
				    "carol@example.org:$y$j9T$hashC\r\n"
				    "\"john smith\"@example.test:$6$x$hashJ\n"
				    "remoteuser@elsewhere.test:$6$r$hashR\n";

static const char fixture_aliases[] =
    "postmaster@example.test: alice@example.test\n"
    "team@example.test: alice@example.test, bob@example.test, friend@remote.test\n"
    "nested@example.test: team@example.test, carol@example.org\n"
    "diamond@example.test: team@example.test, nested@example.test\n"
    "loop1@example.test: loop2@example.test\n"
    "loop2@example.test: loop1@example.test\n"
    "self@example.test: self@example.test\n"
    "toloop@example.test: alice@example.test, loop1@example.test\n"
    "partial@example.test: ghost@example.test, alice@example.test\n"
    "allghost@example.test: ghost@example.test, ghost2@example.org\n"
    "dup@example.test: alice@example.test, ALICE@example.test, alice@EXAMPLE.test\n"
    "remoteonly@example.test: x@remote.test\n"
    "quoted@example.test: \"john smith\"@example.test, \"x y\"@remote.test\n"
    "tricky@example.test:\"a,b\"@remote.test , \"c:d\"@remote.test\n"
    "lit@example.test: user@[192.0.2.1]\n"
    "pm2@example.test: postmaster@example.org\n"
    "Mixed@Example.Org: Bob@Example.Test, Friend@Remote.Test\n"
    "# a comment\n"
    "pct@example.test: user%remote@example.test\n"
    "viapm@example.test: postmaster@example.test, bob@example.test\n";

static const char fixture_diag[] =
    "users:7: warning: user domain 'elsewhere.test' is not a local domain: it receives no "
    "mail here\n"
    "aliases:9: warning: alias target 'ghost@example.test' is neither a user nor an alias\n"
    "aliases:10: warning: alias target 'ghost@example.test' is neither a user nor an alias\n"
    "aliases:10: warning: alias target 'ghost2@example.org' is neither a user nor an alias\n"
    "aliases:19: warning: alias target 'user%remote@example.test' is neither a user nor an "
    "alias";

struct resolve_case {
	const char *name;
	const char *local, *domain;
	enum mailboxes_verdict want;
	const char *targets; /* on OK */
};

#define A "L:alice@example.test"
#define B "L:bob@example.test"
#define TEAM A " | " B " | R:friend@remote.test"

static const struct resolve_case fixture_cases[] = {
	{ "user", "alice", "example.test", MAILBOXES_OK, A },
	{ "user any case", "ALICE", "EXAMPLE.TEST", MAILBOXES_OK, A },
	{ "user defined in mixed case", "bob", "example.test", MAILBOXES_OK, B },
	{ "user in second domain", "carol", "Example.Org", MAILBOXES_OK, "L:carol@example.org" },
	{ "quoted user", "john smith", "example.test", MAILBOXES_OK,
	    "L:\"john smith\"@example.test" },
	{ "unknown", "nobody", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "remote domain", "alice", "remote.test", MAILBOXES_REMOTE, NULL },
	{ "literal", "alice", "[127.0.0.1]", MAILBOXES_REMOTE, NULL },
	{ "user of a remote domain", "remoteuser", "elsewhere.test", MAILBOXES_REMOTE, NULL },
	{ "alias", "team", "example.test", MAILBOXES_OK, TEAM },
	{ "nested alias", "nested", "example.test", MAILBOXES_OK, TEAM " | L:carol@example.org" },
	{ "diamond is no loop", "diamond", "example.test", MAILBOXES_OK,
	    TEAM " | L:carol@example.org" },
	{ "loop of two", "loop1", "example.test", MAILBOXES_LOOP, NULL },
	{ "loop of one", "self", "example.test", MAILBOXES_LOOP, NULL },
	{ "reaches a loop", "toloop", "example.test", MAILBOXES_LOOP, NULL },
	{ "unknown target dropped", "partial", "example.test", MAILBOXES_OK, A },
	{ "all targets unknown", "allghost", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "duplicates removed", "dup", "example.test", MAILBOXES_OK, A },
	{ "remote only", "remoteonly", "example.test", MAILBOXES_OK, "R:x@remote.test" },
	{ "quoted targets", "quoted", "example.test", MAILBOXES_OK,
	    "L:\"john smith\"@example.test | R:\"x y\"@remote.test" },
	{ "separators inside quotes", "tricky", "example.test", MAILBOXES_OK,
	    "R:\"a,b\"@remote.test | R:\"c:d\"@remote.test" },
	{ "literal target", "lit", "example.test", MAILBOXES_OK, "R:user@[192.0.2.1]" },
	{ "remote target kept as written", "mixed", "example.org", MAILBOXES_OK,
	    B " | R:Friend@Remote.Test" },
	{ "bare postmaster", "postmaster", "", MAILBOXES_OK, A },
	{ "bare Postmaster", "PostMaster", "", MAILBOXES_OK, A },
	{ "postmaster@first", "postmaster", "example.test", MAILBOXES_OK, A },
	{ "postmaster@second", "POSTMASTER", "example.org", MAILBOXES_OK, A },
	{ "postmaster@remote", "postmaster", "remote.test", MAILBOXES_REMOTE, NULL },
	{ "postmaster@literal", "postmaster", "[127.0.0.1]", MAILBOXES_REMOTE, NULL },
	{ "alias to postmaster elsewhere", "pm2", "example.test", MAILBOXES_OK, A },
	{ "alias via postmaster", "viapm", "example.test", MAILBOXES_OK, A " | " B },
	{ "no domain, not postmaster", "alice", "", MAILBOXES_UNKNOWN, NULL },
	{ "percent hack stays local", "user%remote", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "percent alias drops target", "pct", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "bang path stays local", "remote!user", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "quoted at stays local", "alice@remote.test", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "quoted at of a user", "alice@example.test", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "empty local part", "", "example.test", MAILBOXES_UNKNOWN, NULL },
	{ "local part too long",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "example.test",
	    MAILBOXES_UNKNOWN, NULL },
};

static void
run_resolve(const struct mailboxes *m, const struct config *c, const struct resolve_case *rc,
    struct buf *b)
{
	struct mailboxes_target *t = (void *)1;
	size_t n = 99;
	enum mailboxes_verdict v = mailboxes_resolve(m, c, rc->local, rc->domain, &t, &n);

	CHECK(v == rc->want, "%s: got %s, want %s\n", rc->name, verdict_names[v],
	    verdict_names[rc->want]);
	if (v == MAILBOXES_OK && rc->want == MAILBOXES_OK) {
		render_targets(t, n, b);
		CHECK(strcmp(b->data, rc->targets) == 0, "%s: got %s, want %s\n", rc->name,
		    b->data, rc->targets);
	}
	if (v != MAILBOXES_OK)
		CHECK(t == NULL && n == 0, "%s: got targets %p/%zu, want NULL/0\n", rc->name,
		    (void *)t, n);
	free(v == MAILBOXES_OK ? t : NULL);
}

/* Load users and aliases text; checks the diag when want_diag is not NULL. */
static struct mailboxes *
load_pair(struct config *cfg, const char *users, const char *aliases, const char *want_diag,
    struct buf *b)
{
	struct diag d;
	struct mailboxes *m;

	config_make(cfg, put_file("users", users, 0), put_file("aliases", aliases, 0), true);
	diag_init(&d);
	m = mailboxes_load(cfg, &d);
	render_diag(&d, b);
	if (want_diag)
		CHECK(strcmp(b->data, want_diag) == 0, "load: got diag\n%s\nwant\n%s\n", b->data,
		    want_diag);
	diag_reset(&d);
	assert_non_null(m);
	return m;
}

static void
unload(struct mailboxes *m, struct config *cfg)
{
	mailboxes_free(m);
	free(cfg->mailboxes.users);
	free(cfg->mailboxes.aliases);
}

static void
test_resolve(void **state)
{
	struct config cfg;
	struct mailboxes *m;
	struct buf b;

	(void)state;
	failures = 0;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_append(&b, "", 0), 0);
	m = load_pair(&cfg, fixture_users, fixture_aliases, fixture_diag, &b);
	for (size_t i = 0; i < sizeof fixture_cases / sizeof fixture_cases[0]; i++)
		run_resolve(m, &cfg, &fixture_cases[i], &b);
	unload(m, &cfg);
	buf_reset(&b);
	assert_int_equal(failures, 0);
}

/* ---- password hashes ----------------------------------------------------- */

struct hash_case {
	const char *name;
	const char *address;
	const char *want; /* NULL: no hash */
};

static const struct hash_case hash_cases[] = {
	{ "user", "alice@example.test", "$6$salt$hashA" },
	{ "any case", "ALICE@Example.Test", "$6$salt$hashA" },
	{ "defined in mixed case", "bob@example.test", "$6$salt$hashB" },
	{ "CRLF line", "carol@example.org", "$y$j9T$hashC" },
	{ "quoted", "\"john smith\"@example.test", "$6$x$hashJ" },
	{ "quoted any case", "\"John Smith\"@EXAMPLE.test", "$6$x$hashJ" },
	{ "unquoted dot-string as quoted", "\"alice\"@example.test", "$6$salt$hashA" },
	{ "remote domain user may log in", "remoteuser@elsewhere.test", "$6$r$hashR" },
	{ "alias has none", "team@example.test", NULL },
	{ "unknown", "nobody@example.test", NULL },
	{ "no domain", "alice", NULL },
	{ "brackets", "<alice@example.test>", NULL },
	{ "empty", "", NULL },
};

static void
test_password_hash(void **state)
{
	struct config cfg;
	struct mailboxes *m;
	struct buf b;

	(void)state;
	failures = 0;
	buf_init(&b, 1 << 20);
	m = load_pair(&cfg, fixture_users, fixture_aliases, NULL, &b);
	for (size_t i = 0; i < sizeof hash_cases / sizeof hash_cases[0]; i++) {
		const struct hash_case *c = &hash_cases[i];
		const char *got = mailboxes_password_hash(m, c->address);

		CHECK((got == NULL && c->want == NULL) ||
		    (got && c->want && strcmp(got, c->want) == 0), "%s: got %s, want %s\n",
		    c->name, got ? got : "NULL", c->want ? c->want : "NULL");
	}
	unload(m, &cfg);
	buf_reset(&b);
	assert_int_equal(failures, 0);
}

/* ---- special configurations ---------------------------------------------- */

/* A scenario: files, config tweaks and what resolves how. */
struct scenario {
	const char *name;
	const char *users;   /* NULL: catch-all */
	const char *aliases; /* NULL: none */
	bool no_local_domains;
	const char *want_diag;
	struct resolve_case cases[6];
};

static const struct scenario scenarios[] = {
	{ "catch-all", NULL, "sales@example.test: Bob@example.test, x@remote.test\n"
			     "deep@example.test: sales@example.test, ghost@example.org\n",
	    false, "",
	    {
		{ "anyone", "Anyone", "example.test", MAILBOXES_OK, "L:anyone@example.test" },
		{ "alias", "sales", "example.test", MAILBOXES_OK,
		    "L:bob@example.test | R:x@remote.test" },
		{ "unknown targets are users", "deep", "example.test", MAILBOXES_OK,
		    "L:bob@example.test | R:x@remote.test | L:ghost@example.org" },
		{ "postmaster", "postmaster", "", MAILBOXES_OK, "L:postmaster@example.test" },
		{ "remote", "a", "remote.test", MAILBOXES_REMOTE, NULL },
		{ "empty local", "", "example.test", MAILBOXES_UNKNOWN, NULL },
	    } },
	{ "postmaster neither user nor alias", "alice@example.test:h\n", NULL, false, NO_PM,
	    {
		{ "bare", "postmaster", "", MAILBOXES_OK, "L:postmaster@example.test" },
		{ "second domain", "Postmaster", "example.org", MAILBOXES_OK,
		    "L:postmaster@example.test" },
		{ "user", "alice", "example.test", MAILBOXES_OK, "L:alice@example.test" },
	    } },
	{ "postmaster alias loops", "alice@example.test:h\n",
	    "postmaster@example.test: l1@example.test\nl1@example.test: postmaster@example.org\n",
	    false, "",
	    {
		{ "bare", "postmaster", "", MAILBOXES_OK, "L:postmaster@example.test" },
		{ "into the loop", "l1", "example.test", MAILBOXES_LOOP, NULL },
	    } },
	{ "postmaster alias all unknown", "alice@example.test:h\n",
	    "postmaster@example.test: ghost@example.test\n",
	    false,
	    "aliases:1: warning: alias target 'ghost@example.test' is neither a user nor an alias",
	    {
		{ "bare", "postmaster", "", MAILBOXES_OK, "L:postmaster@example.test" },
	    } },
	{ "postmaster is a user", "Postmaster@Example.Test:h\n", NULL, false, "",
	    {
		{ "bare", "postmaster", "", MAILBOXES_OK, "L:postmaster@example.test" },
	    } },
	{ "no local domains", "alice@example.test:h\n", NULL, true,
	    "users:1: warning: user domain 'example.test' is not a local domain: it receives no "
	    "mail here",
	    {
		{ "bare postmaster", "postmaster", "", MAILBOXES_OK,
		    "L:postmaster@mx.example.test" },
		{ "postmaster@hostname", "postmaster", "mx.example.test", MAILBOXES_REMOTE, NULL },
		{ "user", "alice", "example.test", MAILBOXES_REMOTE, NULL },
	    } },
};

static void
test_scenarios(void **state)
{
	struct buf b;

	(void)state;
	failures = 0;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_append(&b, "", 0), 0);
	for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		const struct scenario *s = &scenarios[i];
		struct config cfg;
		struct diag d;
		struct mailboxes *m;

		config_make(&cfg, put_file("users", s->users, 0), put_file("aliases", s->aliases, 0),
		    s->aliases != NULL);
		if (s->no_local_domains)
			cfg.nlocal_domains = 0;
		diag_init(&d);
		m = mailboxes_load(&cfg, &d);
		render_diag(&d, &b);
		CHECK(strcmp(b.data, s->want_diag) == 0, "%s: got diag\n%s\nwant\n%s\n", s->name,
		    b.data, s->want_diag);
		diag_reset(&d);
		assert_non_null(m);
		for (size_t k = 0; k < 6 && s->cases[k].name; k++)
			run_resolve(m, &cfg, &s->cases[k], &b);
		unload(m, &cfg);
	}
	buf_reset(&b);
	assert_int_equal(failures, 0);
}

/* ---- bounds: depth, width, and a graph that would explode without memo ---- */

/* n nested aliases a1 -> a2 -> ... -> an -> alice */
static char *
chain(size_t n)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(buf_printf(&b, "a%zu@example.test: a%zu@example.test\n", i, i + 1), 0);
	assert_int_equal(buf_printf(&b, "a%zu@example.test: alice@example.test\n", n), 0);
	return b.data;
}

/* one alias with n remote targets */
static char *
wide(size_t n)
{
	struct buf b;

	buf_init(&b, 1 << 22);
	assert_int_equal(buf_append_str(&b, "a1@example.test: r0@remote.test"), 0);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(buf_printf(&b, ", r%zu@remote.test", i), 0);
	assert_int_equal(buf_append_str(&b, "\n"), 0);
	return b.data;
}

/* a1 -> n aliases f1..fn, each -> alice */
static char *
fan(size_t n)
{
	struct buf b;

	buf_init(&b, 1 << 22);
	assert_int_equal(buf_append_str(&b, "a1@example.test: f1@example.test"), 0);
	for (size_t i = 2; i <= n; i++)
		assert_int_equal(buf_printf(&b, ", f%zu@example.test", i), 0);
	assert_int_equal(buf_append_str(&b, "\n"), 0);
	for (size_t i = 1; i <= n; i++)
		assert_int_equal(buf_printf(&b, "f%zu@example.test: alice@example.test\n", i), 0);
	return b.data;
}

/* 19 layers of two aliases, each pointing at both of the next layer: 2^19
 * paths, 38 aliases. a1 is the top. */
static char *
lattice(size_t layers)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	assert_int_equal(buf_append_str(&b, "a1@example.test: x1@example.test, y1@example.test\n"), 0);
	for (size_t i = 1; i < layers; i++)
		for (int k = 0; k < 2; k++)
			assert_int_equal(buf_printf(&b,
			    "%c%zu@example.test: x%zu@example.test, y%zu@example.test, r%zu@remote.test\n",
			    k ? 'y' : 'x', i, i + 1, i + 1, i), 0);
	assert_int_equal(buf_printf(&b, "x%zu@example.test: alice@example.test\n"
	    "y%zu@example.test: alice@example.test\n", layers, layers), 0);
	return b.data;
}

struct bound_case {
	const char *name;
	char *(*make)(size_t n);
	size_t n;
	enum mailboxes_verdict want;
	size_t want_targets;
};

static const struct bound_case bound_cases[] = {
	{ "depth 20", chain, MAILBOXES_MAX_DEPTH, MAILBOXES_OK, 1 },
	{ "depth 21", chain, MAILBOXES_MAX_DEPTH + 1, MAILBOXES_LOOP, 0 },
	{ "width 1000", wide, MAILBOXES_MAX_TARGETS, MAILBOXES_OK, MAILBOXES_MAX_TARGETS },
	{ "width 1001", wide, MAILBOXES_MAX_TARGETS + 1, MAILBOXES_LOOP, 0 },
	{ "fan of 999 aliases", fan, MAILBOXES_MAX_TARGETS - 1, MAILBOXES_OK, 1 },
	{ "fan of 1000 aliases", fan, MAILBOXES_MAX_TARGETS, MAILBOXES_LOOP, 0 },
	{ "lattice", lattice, 19, MAILBOXES_OK, 19 },
};

static void
test_bounds(void **state)
{
	struct buf b;

	(void)state;
	failures = 0;
	buf_init(&b, 1 << 20);
	for (size_t i = 0; i < sizeof bound_cases / sizeof bound_cases[0]; i++) {
		const struct bound_case *c = &bound_cases[i];
		char *aliases = c->make(c->n);
		struct config cfg;
		struct mailboxes *m = load_pair(&cfg, PM "alice@example.test:h\n", aliases, "", &b);
		struct mailboxes_target *t = NULL;
		size_t n = 0;
		enum mailboxes_verdict v = mailboxes_resolve(m, &cfg, "a1", "example.test", &t, &n);

		CHECK(v == c->want, "%s: got %s, want %s\n", c->name, verdict_names[v],
		    verdict_names[c->want]);
		CHECK(n == c->want_targets, "%s: got %zu targets, want %zu\n", c->name, n,
		    c->want_targets);
		free(t);
		unload(m, &cfg);
		free(aliases);
	}
	buf_reset(&b);
	assert_int_equal(failures, 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_mailboxes.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char *p;

	(void)state;
	p = xasprintf("%s/users", dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/aliases", dir);
	unlink(p);
	free(p);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_password_hash),
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
