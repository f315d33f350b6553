/* test_faultshim.c - tests the fault shim, and with it two promises:
 * when a write, fdatasync or fsync fails during a commit (which renames
 * nothing: the file is written in msg/ with its header last),
 * spool_writer_commit returns -1 and spool_recover finds no message; when
 * one fails during a Maildir delivery, it is a TEMPFAIL and tmp/ and new/
 * stay empty. The parent prepares a directory, then runs itself as a child
 * under LD_PRELOAD=$FAULTSHIM with FAULT_* set; the child commits (or
 * delivers) one message and reports through its exit status; the parent
 * then checks, without the shim, what is on disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deliver/maildir.h"
#include "spool/spool.h"
#include "util/xalloc.h"

enum child_exit {
	CHILD_COMMITTED = 10, CHILD_COMMIT_FAILED, CHILD_WRITE_FAILED, CHILD_SETUP_FAILED,
	CHILD_DELIVERED = 20, CHILD_TEMPFAIL, CHILD_PERMFAIL,
};

static const struct {
	const char *op, *nth;    /* op NULL: no fault configured */
	const char *err;         /* FAULT_ERRNO, or NULL for the default (EIO) */
	enum child_exit want;
	const char *want_log;    /* expected on the child's stderr, or NULL */
} cases[] = {
	{ NULL, NULL, NULL, CHILD_COMMITTED, NULL },
	{ "fdatasync", "1", NULL, CHILD_COMMIT_FAILED, "faultshim: injected fdatasync #1" },
	{ "fsync", "1", NULL, CHILD_COMMIT_FAILED, "faultshim: injected fsync #1" },
	{ "rename", "1", NULL, CHILD_COMMITTED, NULL },   /* a commit renames nothing */
	{ "write", "1", NULL, CHILD_WRITE_FAILED, "faultshim: injected write #1" },
	{ "write", "2", NULL, CHILD_COMMIT_FAILED, "faultshim: injected write #2" },
	{ "write", "3", NULL, CHILD_COMMIT_FAILED, "faultshim: injected write #3" },
	{ "open", "1", NULL, CHILD_SETUP_FAILED, "faultshim: injected open #1" },
	{ "fsync", "2", NULL, CHILD_COMMITTED, NULL },   /* only one fsync: nothing fails */
	/* Maildir cases (exit codes from CHILD_DELIVERED on). */
	{ NULL, NULL, NULL, CHILD_DELIVERED, NULL },
	{ "fsync", "1", NULL, CHILD_TEMPFAIL, "faultshim: injected fsync #1" },     /* the file */
	{ "fsync", "2", NULL, CHILD_TEMPFAIL, "faultshim: injected fsync #2" },     /* new/ */
	{ "rename", "1", NULL, CHILD_TEMPFAIL, "faultshim: injected rename #1" },
	{ "write", "1", NULL, CHILD_TEMPFAIL, "faultshim: injected write #1" },
	{ "write", "3", NULL, CHILD_TEMPFAIL, "faultshim: injected write #3" },
	{ "write", "3", "ENOSPC", CHILD_TEMPFAIL, "No space left on device" },
	{ "fsync", "3", NULL, CHILD_DELIVERED, NULL },
};

static bool
is_maildir_case(size_t i)
{
	return cases[i].want >= CHILD_DELIVERED;
}

/* The Maildir child: deliver 100 KiB from the content file into dir. */
static int
child_maildir(const char *dir, const char *content)
{
	int fd = open(content, O_RDONLY);
	struct maildir_msg m = { .path = dir, .prepend = "X-Test: 1\n", .content_fd = fd,
		.offset = 0, .length = 100 * 1024, .hostname = "test" };
	char name[256], err[256];

	switch (maildir_deliver(&m, name, sizeof name, err, sizeof err)) {
	case DELIVER_OK:
		return CHILD_DELIVERED;
	case DELIVER_TEMPFAIL:
		fprintf(stderr, "%s\n", err);
		return CHILD_TEMPFAIL;
	case DELIVER_PERMFAIL:
		break;
	}
	fprintf(stderr, "%s\n", err);
	return CHILD_PERMFAIL;
}

/* The child: one message of 100 KiB (two content writes), then commit. */
static int
child(const char *dir)
{
	struct spool *s = NULL;
	const char *why = NULL;
	struct spool_rcpt r = { .address = "u@example.test", .orig = "u@example.test" };
	struct spool_envelope env = { .sender = "", .rcpts = &r, .nrcpts = 1 };
	struct spool_writer *w;
	static char body[100 * 1024];

	memset(body, 'b', sizeof body);
	if (spool_open(dir, &s, &why) == -1 || (w = spool_writer_new(s, env.id)) == NULL)
		return CHILD_SETUP_FAILED;
	if (spool_writer_write(w, body, sizeof body) == -1) {
		spool_writer_abort(w);
		spool_close(s);
		return CHILD_WRITE_FAILED;
	}
	if (spool_writer_commit(w, &env) == -1) {
		fprintf(stderr, "commit failed as expected: %s\n", strerror(errno));
		spool_close(s);
		return CHILD_COMMIT_FAILED;
	}
	spool_close(s);
	return CHILD_COMMITTED;
}

static void
drop(void *arg, struct spool_envelope *env)
{
	spool_envelope_free(env);
}

static void
on_bad(void *arg, const char *path, const char *reason)
{
	fprintf(stderr, "unexpected bad file %s: %s\n", path, reason);
	(*(int *)arg)++;
}

/* Run the child with the shim and case i's settings; its exit status. */
static int
run_child(const char *self, const char *dir, const char *content, const char *shim, size_t i,
    const char *log)
{
	pid_t pid = fork();
	int st, fd;

	if (pid == -1)
		return -1;
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || dup2(fd, 2) == -1)
			_exit(99);
		setenv("LD_PRELOAD", shim, 1);
		setenv("FAULT_DIR", dir, 1);
		/* The shim comes before the ASan run time in a sanitized build. */
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
		if (cases[i].op != NULL) {
			setenv("FAULT_OP", cases[i].op, 1);
			setenv("FAULT_NTH", cases[i].nth, 1);
		}
		if (cases[i].err != NULL)
			setenv("FAULT_ERRNO", cases[i].err, 1);
		execl(self, self, is_maildir_case(i) ? "maildir" : "child", dir, content,
		    (char *)NULL);
		_exit(98);
	}
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static bool
log_has(const char *log, const char *want)
{
	char buf[4096];
	FILE *fp = fopen(log, "r");
	size_t n;

	if (fp == NULL)
		return false;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, want) != NULL;
}

static size_t
count_files(const char *dir, const char *sub)
{
	char *d = xasprintf("%s/%s", dir, sub);
	DIR *dp = opendir(d);
	struct dirent *de;
	size_t n = 0;

	free(d);
	if (dp == NULL)
		return 1000;
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dp);
	return n;
}

/* Before the child: a spool or a Maildir that already exists, so the
 * child's counted calls are only those of the commit or delivery. */
static int
prepare(const char *dir, size_t i)
{
	struct spool *s = NULL;
	const char *why = NULL;
	char *sub;
	int r = 0;

	if (!is_maildir_case(i)) {
		if (spool_open(dir, &s, &why) == -1)
			return -1;
		spool_close(s);
		return 0;
	}
	if (mkdir(dir, 0700) == -1)
		return -1;
	for (const char *const *p = (const char *const[]){ "tmp", "new", "cur", NULL }; *p; p++) {
		sub = xasprintf("%s/%s", dir, *p);
		r |= mkdir(sub, 0700);
		free(sub);
	}
	return r;
}

/* After the child: what is on disk must match its outcome. */
static int
check_disk(const char *dir, size_t i)
{
	struct spool *s = NULL;
	const char *why = NULL;
	int n, nbad = 0;
	bool ok = cases[i].want == CHILD_COMMITTED || cases[i].want == CHILD_DELIVERED;

	if (is_maildir_case(i)) {
		if (count_files(dir, "tmp") == 0 && count_files(dir, "new") == (ok ? 1 : 0))
			return 0;
		fprintf(stderr, "case %zu: %zu in tmp/, %zu in new/; want 0 and %d\n", i,
		    count_files(dir, "tmp"), count_files(dir, "new"), ok ? 1 : 0);
		return 1;
	}
	if (spool_open(dir, &s, &why) == -1)
		return 1;
	n = spool_recover(s, drop, on_bad, &nbad);
	spool_close(s);
	if (n == (ok ? 1 : 0) && nbad == 0)
		return 0;
	fprintf(stderr, "case %zu: recovered %d messages (%d bad), want %d\n", i, n, nbad,
	    ok ? 1 : 0);
	return 1;
}

/* One case: prepare, run the child under the shim, check the disk. */
static int
run_case(const char *self, const char *shim, const char *top, size_t i)
{
	char *dir = xasprintf("%s/dir%zu", top, i), *log = xasprintf("%s/log%zu", top, i);
	char *content = xasprintf("%s/content", top);
	int got, fails = 0;

	if (prepare(dir, i) == -1)
		return 1;
	got = run_child(self, dir, content, shim, i, log);
	if (got != (int)cases[i].want) {
		fprintf(stderr, "case %zu (%s #%s): child exit got %d, want %d\n", i,
		    cases[i].op ? cases[i].op : "-", cases[i].nth ? cases[i].nth : "-", got,
		    cases[i].want);
		fails++;
	}
	if (cases[i].want_log != NULL && !log_has(log, cases[i].want_log)) {
		fprintf(stderr, "case %zu: child stderr lacks \"%s\"\n", i, cases[i].want_log);
		fails++;
	}
	fails += check_disk(dir, i);
	free(dir);
	free(log);
	free(content);
	return fails;
}

/* The content file the Maildir children copy from (outside FAULT_DIR). */
static int
make_content(const char *top)
{
	char *path = xasprintf("%s/content", top);
	static char body[100 * 1024];
	FILE *fp = fopen(path, "wb");
	int r = fp != NULL && fwrite(body, 1, sizeof body, fp) == sizeof body ? 0 : -1;

	if (fp != NULL && fclose(fp) != 0)
		r = -1;
	free(path);
	return r;
}

int
main(int argc, char **argv)
{
	const char *shim = getenv("FAULTSHIM");
	char top[] = "/tmp/test_faultshim.XXXXXX";
	int fails = 0;
	char *cmd;

	if (argc == 4 && strcmp(argv[1], "child") == 0)
		return child(argv[2]);
	if (argc == 4 && strcmp(argv[1], "maildir") == 0)
		return child_maildir(argv[2], argv[3]);
	if (shim == NULL || access(shim, R_OK) == -1) {
		fprintf(stderr, "set FAULTSHIM to the path of faultshim.so\n");
		return 1;
	}
	if (mkdtemp(top) == NULL || make_content(top) == -1)
		return 1;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		fails += run_case("/proc/self/exe", shim, top, i);
	cmd = xasprintf("rm -rf '%s'", top);
	if (fails == 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	free(cmd);
	printf("%zu cases, %d failures\n", sizeof cases / sizeof cases[0], fails);
	return fails == 0 ? 0 : 1;
}
