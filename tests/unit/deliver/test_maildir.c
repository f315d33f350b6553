/* test_maildir.c - unit tests of src/deliver/maildir.c: the path pattern and
 * its safety checks, byte-exact delivery, the file name, and failures that
 * must leave nothing in tmp/ or new/. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "util/xalloc.h"

static const struct {
	const char *pattern, *local, *domain, *want;   /* want NULL: refused */
} path_cases[] = {
	{ "/var/mail/%d/%n", "User", "Example.TEST", "/var/mail/example.test/user" },
	{ "/m/%n@%d/Maildir", "a.b", "x.y", "/m/a.b@x.y/Maildir" },
	{ "/m/%%/%n", "u", "d", "/m/%/u" },
	{ "rel/%d/%n", "jos\xc3\xa9", "d", "rel/d/jos\xc3\xa9" },
	{ "/m/%d/%n", "../x", "d", NULL },
	{ "/m/%d/%n", "a/b", "d", NULL },
	{ "/m/%d/%n", ".", "d", NULL },
	{ "/m/%d/%n", "..", "d", NULL },
	{ "/m/%d/%n", ".hidden", "d", NULL },
	{ "/m/%d/%n", "", "d", NULL },
	{ "/m/%d/%n", "a\x01", "d", NULL },
	{ "/m/%d/%n", "a\nb", "d", NULL },
	{ "/m/%d/%n", "a\x7f", "d", NULL },
	{ "/m/%d/%n", "u", "..", NULL },
	{ "/m/%d/%n", "u", "a/b", NULL },
	{ "/m/%d/%n", "u", "", NULL },
	{ "/m/%d/%n", "u", ".d", NULL },
	{ "/m/%x/%n", "u", "d", NULL },
	{ "/m/%n%", "u", "d", NULL },
	{ "%n", "u", "d", "u" },
	{ "", "u", "d", NULL },
};

static void
test_path(void **state)
{
	for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
		char out[128];
		int r = maildir_path(path_cases[i].pattern, path_cases[i].local, path_cases[i].domain,
		    out, sizeof out);
		const char *want = path_cases[i].want;

		if (want == NULL && r != -1)
			fail_msg("case %zu (%s, \"%s\", \"%s\"): got \"%s\", want refusal", i,
			    path_cases[i].pattern, path_cases[i].local, path_cases[i].domain, out);
		if (want != NULL && (r != 0 || strcmp(out, want) != 0))
			fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, r, r == 0 ? out : "", want);
	}
}

static void
test_path_size(void **state)
{
	char out[12];

	/* "/m/d/user" is 9 bytes + NUL: fits in 10, not in 9. */
	assert_int_equal(maildir_path("/m/%d/%n", "user", "d", out, 10), 0);
	assert_string_equal(out, "/m/d/user");
	assert_int_equal(maildir_path("/m/%d/%n", "user", "d", out, 9), -1);
	assert_int_equal(maildir_path("/m/%d/%n", "user", "d", out, 0), -1);
}

struct fx {
	char dir[64];
	char *maildir;
	int content_fd;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/test_maildir.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->maildir = xasprintf("%s/mail/example.test/user", f->dir);
	f->content_fd = -1;
	*state = f;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->content_fd != -1)
		close(f->content_fd);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->maildir);
	free(f);
	return 0;
}

/* A content file under dir holding junk, then content at offset 100. */
static int
content_file(const char *dir, const char *content, size_t len)
{
	char *path = xasprintf("%s/content", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	char junk[100];

	assert_true(fd >= 0);
	memset(junk, '#', sizeof junk);
	assert_int_equal(pwrite(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
	assert_int_equal(pwrite(fd, content, len, 100), (ssize_t)len);
	assert_int_equal(pwrite(fd, junk, sizeof junk, 100 + (off_t)len), (ssize_t)sizeof junk);
	unlink(path);
	free(path);
	return fd;
}

static size_t
count(const char *maildir, const char *sub)
{
	char *d = xasprintf("%s/%s", maildir, sub);
	DIR *dp = opendir(d);
	struct dirent *de;
	size_t n = 0;

	free(d);
	if (dp == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *p = xmalloc(4 << 20);

	assert_non_null(fp);
	*n = fread(p, 1, 4 << 20, fp);
	fclose(fp);
	return p;
}

/* Check name is "new/<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>". */
static void
check_name(const char *name, const char *host, size_t size)
{
	char want_tail[256];
	unsigned long long sec, usec, pid, q;
	int used = 0;

	if (sscanf(name, "new/%llu.M%lluP%lluQ%llu.%n", &sec, &usec, &pid, &q, &used) != 4 ||
	    used == 0)
		fail_msg("name \"%s\": want new/<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>", name);
	snprintf(want_tail, sizeof want_tail, "%s,S=%zu", host, size);
	if (strcmp(name + used, want_tail) != 0)
		fail_msg("name \"%s\": got tail \"%s\", want \"%s\"", name, name + used, want_tail);
	if (pid != (unsigned long long)getpid() || usec > 999999)
		fail_msg("name \"%s\": bad pid or usec", name);
}

static enum deliver_status
deliver(struct fx *f, const char *prepend, size_t len, const char *host, char *name, char *err)
{
	struct maildir_msg m = { .path = f->maildir, .prepend = prepend, .content_fd = f->content_fd,
		.offset = 100, .length = len, .hostname = host };

	err[0] = '\0';
	return maildir_deliver(&m, name, 256, err, 256);
}

static void
test_deliver_exact(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 1000003 };
	const char *prepend = "Return-Path: <a@b>\nDelivered-To: user@example.test\n";
	char name[256], err[256];

	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t len = sizes[k], plen = strlen(prepend), got_n;
		char *content = xmalloc(len + 1), *want = xmalloc(plen + len + 1), *got, *path;
		struct stat st;

		for (size_t i = 0; i < len; i++)
			content[i] = (char)(i % 251);
		f->content_fd = content_file(f->dir, content, len);
		if (deliver(f, prepend, len, "mx/a:b", name, err) != DELIVER_OK)
			fail_msg("size %zu: %s", len, err);
		check_name(name, "mx\\057a\\072b", plen + len);
		path = xasprintf("%s/%s", f->maildir, name);
		got = slurp(path, &got_n);
		memcpy(want, prepend, plen);
		memcpy(want + plen, content, len);
		if (got_n != plen + len || memcmp(got, want, got_n) != 0)
			fail_msg("size %zu: file differs (got %zu bytes, want %zu)", len, got_n,
			    plen + len);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(count(f->maildir, "tmp"), 0);
		assert_int_equal(count(f->maildir, "new"), k + 1);
		close(f->content_fd);
		f->content_fd = -1;
		free(path);
		free(got);
		free(content);
		free(want);
	}
}

static void
test_dirs_created(void **state)
{
	struct fx *f = *state;
	static const char *const subs[] = { "", "/tmp", "/new", "/cur", "/.." };
	char name[256], name2[256], err[256];

	f->content_fd = content_file(f->dir, "hi\n", 3);
	assert_int_equal(deliver(f, NULL, 3, NULL, name, err), DELIVER_OK);
	check_name(name, "localhost", 3);
	assert_int_equal(deliver(f, NULL, 3, "", name2, err), DELIVER_OK);
	if (strcmp(name, name2) == 0)
		fail_msg("two deliveries got the same name %s", name);
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		char *p = xasprintf("%s%s", f->maildir, subs[i]);
		struct stat st;

		assert_int_equal(stat(p, &st), 0);
		if ((st.st_mode & 0777) != 0700)
			fail_msg("%s: got mode %o, want 700", p, st.st_mode & 0777);
		free(p);
	}
}

/* Every failure: the expected status, and nothing left in tmp/ or new/. */
static void
expect_fail(struct fx *f, size_t len, enum deliver_status want, const char *what)
{
	char name[256], err[256];
	enum deliver_status got = deliver(f, "X-Pre: 1\n", len, "h", name, err);

	if (got != want)
		fail_msg("%s: got status %d (%s), want %d", what, got, err, want);
	if (err[0] == '\0')
		fail_msg("%s: no error text", what);
	if (f->maildir[0] != '\0' && (count(f->maildir, "tmp") != 0 || count(f->maildir, "new") != 0))
		fail_msg("%s: files left behind in tmp/ or new/", what);
}

static void
test_failures(void **state)
{
	struct fx *f = *state;
	struct rlimit old, small;
	char *tmp = xasprintf("%s/tmp", f->maildir), *outside = xasprintf("%s/outside", f->dir);
	char *newdir = xasprintf("%s/new", f->maildir), *content = xmalloc(100000);
	struct stat st;

	memset(content, 'c', 100000);
	f->content_fd = content_file(f->dir, content, 100000);
	expect_fail(f, 200000, DELIVER_TEMPFAIL, "content shorter than its length");
	/* A file size limit stands in for a full disk (EFBIG instead of ENOSPC). */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = (struct rlimit){ 4096, old.rlim_max };   /* the hard limit stays */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	expect_fail(f, 100000, DELIVER_TEMPFAIL, "disk full");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	close(f->content_fd);
	f->content_fd = -1;
	expect_fail(f, 10, DELIVER_TEMPFAIL, "bad content fd");
	/* tmp/ replaced by a symbolic link out of the Maildir. */
	assert_int_equal(mkdir(outside, 0700), 0);
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(symlink(outside, tmp), 0);
	f->content_fd = content_file(f->dir, "x", 1);
	expect_fail(f, 1, DELIVER_PERMFAIL, "tmp/ is a symlink");
	assert_int_equal(stat(outside, &st), 0);
	assert_int_equal(st.st_nlink, 2);   /* nothing was created in it */
	/* new/ is a regular file. */
	assert_int_equal(unlink(tmp), 0);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(rmdir(newdir), 0);
	assert_int_equal(close(open(newdir, O_CREAT | O_WRONLY, 0600)), 0);
	expect_fail(f, 1, DELIVER_PERMFAIL, "new/ is a file");
	/* A component of the path is a regular file. */
	free(f->maildir);
	f->maildir = xasprintf("%s/Maildir", newdir);
	expect_fail(f, 1, DELIVER_PERMFAIL, "path through a regular file");
	free(f->maildir);
	f->maildir = xstrdup("");
	expect_fail(f, 1, DELIVER_PERMFAIL, "empty path");
	free(newdir);
	free(tmp);
	free(outside);
	free(content);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_path_size),
		cmocka_unit_test_setup_teardown(test_deliver_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirs_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
