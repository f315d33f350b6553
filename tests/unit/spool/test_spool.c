/* test_spool.c - unit tests of src/spool/: round trips of every envelope
 * field, recovery of damaged files (truncated at every offset, every byte
 * flipped), update records (torn and corrupt, with and without the
 * delay_warned flag), files written before that flag existed, tmp/ cleanup,
 * concurrent commits and the spool lock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/spool.h"
#include "spool/spool_format.h"
#include "util/log.h"
#include "util/xalloc.h"

/* One test's spool in a fresh temporary directory. */
struct fx {
	char dir[64];
	struct spool *s;
};

/* What spool_recover reported. */
struct rec {
	struct spool_envelope *envs[1024];
	size_t n;
	size_t nbad;
	char last_bad[512];
	char last_reason[256];
};

static void
on_msg(void *arg, struct spool_envelope *env)
{
	struct rec *r = arg;

	if (r->n == sizeof r->envs / sizeof r->envs[0])
		fail_msg("too many messages recovered");
	r->envs[r->n++] = env;
}

static void
on_bad(void *arg, const char *path, const char *reason)
{
	struct rec *r = arg;

	r->nbad++;
	snprintf(r->last_bad, sizeof r->last_bad, "%s", path);
	snprintf(r->last_reason, sizeof r->last_reason, "%s", reason);
}

static void
rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		spool_envelope_free(r->envs[i]);
	r->n = r->nbad = 0;
}

static int
recover(struct fx *f, struct rec *r)
{
	memset(r, 0, sizeof *r);
	return spool_recover(f->s, on_msg, on_bad, r);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	const char *why = NULL;

	snprintf(f->dir, sizeof f->dir, "/tmp/test_spool.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (spool_open(f->dir, &f->s, &why) == -1)
		fail_msg("spool_open: %s: %s", why, strerror(errno));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	spool_close(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* An envelope using every field, with bytes that need escaping. */
static struct spool_envelope *
make_env(void)
{
	struct spool_envelope *e = xcalloc(1, sizeof *e);

	e->sender = xstrdup("odd % = sender\twith \"quotes\"\r\n\x01\x7f\xff@ex.test");
	e->envid = xstrdup("");
	e->ret = INT_MIN;
	e->body = 2;
	e->smtputf8 = true;
	e->client_addr = xstrdup("2001:db8::1");
	e->helo = NULL;
	e->protocol = xstrdup("ESMTPSA");
	e->auth_user = xstrdup("us\xc3\xa9r");
	e->received = -1;
	e->nrcpts = 3;
	e->rcpts = xcalloc(3, sizeof e->rcpts[0]);
	e->rcpts[0] = (struct spool_rcpt){ .address = xstrdup("a@ex.test"), .orig = xstrdup("A@Ex.Test"),
		.orcpt = xstrdup("rfc822;a+2B@ex.test"), .notify = 14, .local = true,
		.next_attempt = INT64_MAX, .attempts = UINT_MAX, .delay_warned = true };
	e->rcpts[1] = (struct spool_rcpt){ .address = xstrdup("%%%"), .orig = xstrdup("-"),
		.state = SPOOL_RCPT_FAILED, .next_attempt = INT64_MIN,
		.last_reply = xstrdup("550 5.1.1 no such\nuser") };
	e->rcpts[2] = (struct spool_rcpt){ .address = xstrdup("=") };
	return e;
}

static void
check_str(const char *what, const char *got, const char *want)
{
	if ((got == NULL) != (want == NULL) || (got != NULL && strcmp(got, want) != 0))
		fail_msg("%s: got \"%s\", want \"%s\"", what, got ? got : "(null)",
		    want ? want : "(null)");
}

static void
check_num(const char *what, long long got, long long want)
{
	if (got != want)
		fail_msg("%s: got %lld, want %lld", what, got, want);
}

static void
check_env(const struct spool_envelope *g, const struct spool_envelope *w)
{
	check_str("id", g->id, w->id);
	check_str("sender", g->sender, w->sender);
	check_str("envid", g->envid, w->envid);
	check_num("ret", g->ret, w->ret);
	check_num("body", g->body, w->body);
	check_num("smtputf8", g->smtputf8, w->smtputf8);
	check_str("client_addr", g->client_addr, w->client_addr);
	check_str("helo", g->helo, w->helo);
	check_str("protocol", g->protocol, w->protocol);
	check_str("auth_user", g->auth_user, w->auth_user);
	check_num("received", g->received, w->received);
	check_num("size", (long long)g->size, (long long)w->size);
	check_num("nrcpts", (long long)g->nrcpts, (long long)w->nrcpts);
	for (size_t i = 0; i < w->nrcpts; i++) {
		const struct spool_rcpt *a = &g->rcpts[i], *b = &w->rcpts[i];

		check_str("rcpt.address", a->address, b->address);
		check_str("rcpt.orig", a->orig, b->orig);
		check_str("rcpt.orcpt", a->orcpt, b->orcpt);
		check_num("rcpt.notify", a->notify, b->notify);
		check_num("rcpt.local", a->local, b->local);
		check_num("rcpt.state", a->state, b->state);
		check_num("rcpt.attempts", a->attempts, b->attempts);
		check_num("rcpt.next_attempt", a->next_attempt, b->next_attempt);
		check_str("rcpt.last_reply", a->last_reply, b->last_reply);
		check_num("rcpt.delay_warned", a->delay_warned, b->delay_warned);
	}
}

/* Commit env with content (written in pieces of step bytes). */
static void
commit(struct fx *f, struct spool_envelope *env, const char *content, size_t len, size_t step)
{
	struct spool_writer *w = spool_writer_new(f->s, env->id);

	assert_non_null(w);
	for (size_t o = 0; o < len; o += step)
		assert_int_equal(spool_writer_write(w, content + o, len - o < step ? len - o : step), 0);
	env->size = len;
	if (spool_writer_commit(w, env) != 0)
		fail_msg("commit: %s", strerror(errno));
}

static char *
msg_path(struct fx *f, const char *sub, const char *id)
{
	return xasprintf("%s/%s/%s", f->dir, sub, id);
}

static char *
slurp(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *p = xmalloc(1 << 20);

	assert_non_null(fp);
	*n = fread(p, 1, 1 << 20, fp);
	fclose(fp);
	return p;
}

static void
spew(const char *path, const char *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static size_t
count_dir(struct fx *f, const char *sub)
{
	char *d = xasprintf("%s/%s", f->dir, sub);
	DIR *dp = opendir(d);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	free(d);
	return n;
}

static void
test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	size_t len = 200000;
	char *content = xmalloc(len), *back = xmalloc(len);
	static const size_t steps[] = { 1, 7, 65536, 100000, 200000 };
	struct rec r;

	for (size_t i = 0; i < len; i++)
		content[i] = (char)(i * 31 + (i >> 8));
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		int fd = -1;
		off_t off;
		uint64_t clen;

		commit(f, env, content, k == 0 ? 3000 : len, steps[k]);
		assert_int_equal(recover(f, &r), 1);
		check_env(r.envs[0], env);
		assert_int_equal(spool_open_content(f->s, env->id, &fd, &off, &clen), 0);
		assert_int_equal(clen, env->size);
		assert_int_equal(pread(fd, back, clen, off), (ssize_t)clen);
		assert_memory_equal(back, content, clen);
		close(fd);
		assert_int_equal(spool_remove(f->s, env->id), 0);
		rec_free(&r);
	}
	assert_int_equal(recover(f, &r), 0);
	spool_envelope_free(env);
	free(content);
	free(back);
}

static void
test_dup(void **state)
{
	struct spool_envelope *env = make_env(), *d;

	memcpy(env->id, "0123456789ABCDEF", 17);
	d = spool_envelope_dup(env);
	check_env(d, env);
	assert_ptr_not_equal(d->rcpts, env->rcpts);
	assert_ptr_not_equal(d->sender, env->sender);
	spool_envelope_free(env);
	spool_envelope_free(d);
	spool_envelope_free(NULL);
}

/* A committed file's bytes, the message then removed from the spool. */
static char *
committed_bytes(struct fx *f, struct spool_envelope *env, size_t *n)
{
	char *p, *path;

	commit(f, env, "Subject: x\n\nbody\n", 17, 5);
	path = msg_path(f, "msg", env->id);
	p = slurp(path, n);
	free(path);
	assert_int_equal(spool_remove(f->s, env->id), 0);
	return p;
}

/* Put bytes at msg/<id> and expect recovery to move it to corrupt/. */
static void
expect_corrupt(struct fx *f, const char *id, const char *p, size_t n, const char *what)
{
	char *path = msg_path(f, "msg", id);
	struct rec r;
	int got;

	spew(path, p, n);
	got = recover(f, &r);
	if (got != 0 || r.nbad != 1)
		fail_msg("%s: got %d messages and %zu bad, want 0 and 1", what, got, r.nbad);
	if (strstr(r.last_bad, "/corrupt/") == NULL)
		fail_msg("%s: bad path %s, want one in corrupt/", what, r.last_bad);
	assert_int_equal(unlink(r.last_bad), 0);
	rec_free(&r);
	free(path);
}

/* Put bytes at msg/<id> and expect recovery to remove the file quietly:
 * a write that never committed. */
static void
expect_incomplete(struct fx *f, const char *id, const char *p, size_t n, const char *what)
{
	char *path = msg_path(f, "msg", id);
	struct rec r;
	int got;

	spew(path, p, n);
	got = recover(f, &r);
	if (got != 0 || r.nbad != 0)
		fail_msg("%s: got %d messages and %zu bad, want 0 and 0", what, got, r.nbad);
	if (access(path, F_OK) == 0)
		fail_msg("%s: %s not removed", what, path);
	rec_free(&r);
	free(path);
}

/* A crash during a transaction leaves msg/<id> with its header still zeros
 * (the commit writes it last), whatever content came before: removed. */
static void
test_uncommitted_removed(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	size_t n;
	char *p = committed_bytes(f, env, &n);

	memset(p, 0, 64);
	for (size_t len = 0; len <= n; len += 7)
		expect_incomplete(f, env->id, p, len, "zero header");
	/* one byte of header is enough to make it a damaged commit */
	p[5] = 1;
	expect_corrupt(f, env->id, p, n, "header with one byte set");
	free(p);
	spool_envelope_free(env);
}

static void
test_truncated_everywhere(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	size_t n;
	char *p = committed_bytes(f, env, &n);
	char *tmp = msg_path(f, "tmp", "ZZZZZZZZZZZZZZZZ");
	char what[128];

	assert_true(n > 0 && p[0] != 0);   /* the header starts with its magic */
	for (size_t len = 0; len < n; len++) {
		spew(tmp, p, len);   /* a leftover of an earlier version's commit */
		snprintf(what, sizeof what, "truncated to %zu of %zu bytes", len, n);
		if (len == 0)
			expect_incomplete(f, env->id, p, len, what);   /* nothing of a header */
		else
			expect_corrupt(f, env->id, p, len, what);
		if (access(tmp, F_OK) == 0)
			fail_msg("%s: tmp/ leftover not removed", what);
	}
	free(tmp);
	free(p);
	spool_envelope_free(env);
}

static void
test_flipped_everywhere(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	size_t n;
	char *p = committed_bytes(f, env, &n);
	char what[128], *path;
	struct rec r;

	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			p[i] ^= (char)(1 << bit);
			snprintf(what, sizeof what, "byte %zu of %zu, bit %d flipped", i, n, bit);
			expect_corrupt(f, env->id, p, n, what);
			p[i] ^= (char)(1 << bit);
		}
	}
	/* The intact bytes still load. */
	path = msg_path(f, "msg", env->id);
	spew(path, p, n);
	assert_int_equal(recover(f, &r), 1);
	rec_free(&r);
	free(path);
	free(p);
	spool_envelope_free(env);
}

/* Commit env, then persist updates to recipients 0 and 1. */
static void
commit_and_update(struct fx *f, struct spool_envelope *env)
{
	commit(f, env, "x\n", 2, 2);
	env->rcpts[1].state = SPOOL_RCPT_DELIVERED;
	env->rcpts[1].attempts = 1;
	free(env->rcpts[1].last_reply);
	env->rcpts[1].last_reply = xstrdup("250 2.0.0 ok: queued as  X%");
	assert_int_equal(spool_update_rcpt(f->s, env, 1), 0);
	env->rcpts[0].attempts = 7;
	env->rcpts[0].next_attempt = 1700000000;
	free(env->rcpts[0].last_reply);
	env->rcpts[0].last_reply = xstrdup("");
	assert_int_equal(spool_update_rcpt(f->s, env, 0), 0);
}

static void
test_update_survives(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	struct rec r;

	commit_and_update(f, env);
	env->rcpts[0].state = SPOOL_RCPT_FAILED;
	free(env->rcpts[0].last_reply);
	env->rcpts[0].last_reply = NULL;
	assert_int_equal(spool_update_rcpt(f->s, env, 0), 0);
	assert_int_equal(recover(f, &r), 1);
	check_env(r.envs[0], env);
	rec_free(&r);
	/* A second recovery sees the same state. */
	assert_int_equal(recover(f, &r), 1);
	check_env(r.envs[0], env);
	rec_free(&r);
	assert_int_equal(spool_update_rcpt(f->s, env, 3), -1);
	assert_int_equal(errno, EINVAL);
	spool_envelope_free(env);
}

static void
test_load(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env(), *got = NULL;
	const char *why = NULL;
	char *path;
	size_t n;
	char *p;

	commit_and_update(f, env);
	assert_int_equal(spool_load(f->s, env->id, &got, &why), 0);
	check_env(got, env);
	spool_envelope_free(got);
	assert_int_equal(spool_load(f->s, "0000000000000000", &got, &why), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(spool_load(f->s, "../x", &got, &why), -1);
	assert_int_equal(errno, EINVAL);
	path = msg_path(f, "msg", env->id);
	p = slurp(path, &n);
	p[SPOOL_FORMAT_HDR_LEN] ^= 1;   /* the first content byte */
	spew(path, p, n);
	assert_int_equal(spool_load(f->s, env->id, &got, &why), -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(why, "content checksum mismatch");
	assert_int_equal(access(path, F_OK), 0);   /* left in place */
	free(p);
	free(path);
	spool_envelope_free(env);
}

/* The last record cut at every length, or with a byte flipped, is a torn
 * write: ignored, cut off, and later updates still work. */
static void
test_torn_last_record(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env(), *before;
	char *path, *p, *full, what[128];
	size_t n, nfull;
	struct rec r;

	commit_and_update(f, env);
	path = msg_path(f, "msg", env->id);
	p = slurp(path, &n);
	before = spool_envelope_dup(env);
	env->rcpts[2].attempts = 3;
	free(env->rcpts[2].last_reply);
	env->rcpts[2].last_reply = xstrdup("421 4.4.2 timeout");
	assert_int_equal(spool_update_rcpt(f->s, env, 2), 0);
	full = slurp(path, &nfull);
	for (size_t len = n; len <= nfull; len++) {
		bool whole = len == nfull;

		if (whole)
			full[nfull - 5] ^= 1;   /* complete, but its checksum fails */
		spew(path, full, len);
		snprintf(what, sizeof what, "last record cut to %zu of %zu", len - n, nfull - n);
		if (recover(f, &r) != 1 || r.nbad != 0)
			fail_msg("%s: got %zu messages, %zu bad; want 1, 0", what, r.n, r.nbad);
		check_env(r.envs[0], before);
		rec_free(&r);
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		if ((size_t)st.st_size != n)
			fail_msg("%s: file is %lld bytes, want the torn tail cut to %zu", what,
			    (long long)st.st_size, n);
	}
	assert_int_equal(spool_update_rcpt(f->s, env, 2), 0);
	assert_int_equal(recover(f, &r), 1);
	check_env(r.envs[0], env);
	rec_free(&r);
	free(full);
	free(p);
	free(path);
	spool_envelope_free(before);
	spool_envelope_free(env);
}

static void
test_bad_middle_record(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	char *path, *p;
	size_t n, hdrend;
	struct rec r;

	commit_and_update(f, env);
	path = msg_path(f, "msg", env->id);
	p = slurp(path, &n);
	/* The first record starts after "\nu " ... find it and damage it. */
	hdrend = (size_t)(strstr(p + 64, "\nu 1 ") - p) + 3;
	p[hdrend] = '2';
	spew(path, p, n);
	assert_int_equal(recover(f, &r), 0);
	assert_int_equal(r.nbad, 1);
	assert_non_null(strstr(r.last_reason, "record"));
	free(p);
	free(path);
	spool_envelope_free(env);
}

/* The 'delayed' DSN flag goes into update records ("w" in place of "u")
 * and back out; an update without it clears it. */
static void
test_delay_warned_records(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	char *path, *p;
	size_t n;
	struct rec r;

	env->rcpts[0].delay_warned = false;
	commit(f, env, "x\n", 2, 2);
	path = msg_path(f, "msg", env->id);
	p = slurp(path, &n);
	assert_null(strstr(p + SPOOL_FORMAT_HDR_LEN, "delaywarned="));   /* false: not written */
	free(p);
	env->rcpts[2].delay_warned = true;
	env->rcpts[2].attempts = 2;
	assert_int_equal(spool_update_rcpt(f->s, env, 2), 0);
	p = slurp(path, &n);
	assert_non_null(strstr(p + SPOOL_FORMAT_HDR_LEN, "\nw 2 0 2 0 - "));
	free(p);
	assert_int_equal(recover(f, &r), 1);
	check_env(r.envs[0], env);
	rec_free(&r);
	env->rcpts[2].delay_warned = false;
	assert_int_equal(spool_update_rcpt(f->s, env, 2), 0);
	assert_int_equal(recover(f, &r), 1);
	check_env(r.envs[0], env);
	rec_free(&r);
	free(path);
	spool_envelope_free(env);
}

/* A file exactly as postino wrote it before delay_warned existed (no
 * "delaywarned" field, a "u" record) still loads, the flag false. */
static const char old_file_id[] = "1J0SOJJ4PIP001A5";
static const char old_file[] =
    "postino-v1 0000000000000010 00000138 1A9CA554 3D9698A4 B0B5F539\n"
    "Subject: old\n\nx\n"
    "version=1\nid=1J0SOJJ4PIP001A5\nsender=old@example.test\nret=0\nbody=0\n"
    "smtputf8=0\nclient=127.0.0.1\nprotocol=ESMTP\nreceived=1700000000\n"
    "rcpt=0\naddress=a@remote.test\norig=a@remote.test\nnotify=0\nlocal=0\nstate=0\n"
    "attempts=0\nnext=0\n"
    "rcpt=1\naddress=b@remote.test\norig=b@remote.test\nnotify=4\nlocal=0\nstate=0\n"
    "attempts=0\nnext=0\n"
    "u 0 0 2 1700000120 =451%204.3.0%20try%20later 0408E1F4\n";

static void
test_old_format(void **state)
{
	struct fx *f = *state;
	char *path = msg_path(f, "msg", old_file_id);
	struct spool_envelope *env;
	struct rec r;

	spew(path, old_file, sizeof old_file - 1);
	assert_int_equal(recover(f, &r), 1);
	assert_int_equal(r.nbad, 0);
	env = r.envs[0];
	check_num("nrcpts", (long long)env->nrcpts, 2);
	check_num("rcpt 0 attempts", env->rcpts[0].attempts, 2);
	check_num("rcpt 0 next", env->rcpts[0].next_attempt, 1700000120);
	check_str("rcpt 0 reply", env->rcpts[0].last_reply, "451 4.3.0 try later");
	check_num("rcpt 0 delay_warned", env->rcpts[0].delay_warned, false);
	check_num("rcpt 1 delay_warned", env->rcpts[1].delay_warned, false);
	/* the flag set by this version lands in a record after the old ones */
	env->rcpts[1].delay_warned = true;
	assert_int_equal(spool_update_rcpt(f->s, env, 1), 0);
	rec_free(&r);
	assert_int_equal(recover(f, &r), 1);
	check_num("rcpt 0 delay_warned", r.envs[0]->rcpts[0].delay_warned, false);
	check_num("rcpt 1 delay_warned", r.envs[0]->rcpts[1].delay_warned, true);
	check_num("rcpt 0 attempts", r.envs[0]->rcpts[0].attempts, 2);
	rec_free(&r);
	free(path);
}

static void
test_tmp_cleanup(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	char id[SPOOL_ID_LEN + 1], *junk = msg_path(f, "tmp", "junk");
	struct spool_writer *w;
	struct rec r;

	spew(junk, "x", 1);
	/* While a writer is open its msg/ file (header still zeros) and the
	 * rest stay. */
	w = spool_writer_new(f->s, id);
	assert_non_null(w);
	assert_int_equal(spool_writer_write(w, "x", 1), 0);
	assert_int_equal(recover(f, &r), 0);
	assert_int_equal(r.nbad, 0);
	assert_int_equal(count_dir(f, "tmp"), 1);
	assert_int_equal(count_dir(f, "msg"), 1);
	spool_writer_abort(w);
	assert_int_equal(count_dir(f, "msg"), 0);
	assert_int_equal(count_dir(f, "tmp"), 1);
	assert_int_equal(recover(f, &r), 0);
	assert_int_equal(count_dir(f, "tmp"), 0);
	/* A commit that fails (ID mismatch) leaves nothing either. */
	w = spool_writer_new(f->s, id);
	assert_non_null(w);
	memcpy(env->id, "0000000000000000", 17);
	assert_int_equal(spool_writer_commit(w, env), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(count_dir(f, "tmp"), 0);
	assert_int_equal(count_dir(f, "msg"), 0);
	free(junk);
	spool_envelope_free(env);
}

static void
test_bad_names(void **state)
{
	struct fx *f = *state;
	struct spool_envelope *env = make_env();
	char *junk = msg_path(f, "msg", "junk"), *link = msg_path(f, "msg", "0123456789ABCDEF");
	struct rec r;

	commit(f, env, "y\n", 2, 2);
	spew(junk, "x", 1);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(recover(f, &r), 1);
	assert_int_equal(r.nbad, 2);
	assert_int_equal(count_dir(f, "corrupt"), 2);
	assert_int_equal(count_dir(f, "msg"), 1);
	rec_free(&r);
	/* A name taken in corrupt/ gets a suffix. */
	spew(junk, "x", 1);
	assert_int_equal(recover(f, &r), 1);
	assert_non_null(strstr(r.last_bad, "/corrupt/junk.1"));
	rec_free(&r);
	free(junk);
	free(link);
	spool_envelope_free(env);
}

#define NTHREADS 8
#define PER_THREAD 50

struct worker {
	struct fx *f;
	int failures;
};

static void *
committer(void *arg)
{
	struct worker *wk = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct spool_envelope *env = make_env();
		struct spool_writer *w = spool_writer_new(wk->f->s, env->id);
		char body[64];
		int k = snprintf(body, sizeof body, "body of %s\n", env->id);

		if (w == NULL || spool_writer_write(w, body, (size_t)k) != 0 ||
		    spool_writer_commit(w, env) != 0)
			wk->failures++;
		spool_envelope_free(env);
	}
	return NULL;
}

static void
test_concurrent_commits(void **state)
{
	struct fx *f = *state;
	pthread_t t[NTHREADS];
	struct worker wk[NTHREADS];
	struct rec *r = xmalloc(sizeof *r);

	for (int i = 0; i < NTHREADS; i++) {
		wk[i] = (struct worker){ f, 0 };
		assert_int_equal(pthread_create(&t[i], NULL, committer, &wk[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(wk[i].failures, 0);
	}
	assert_int_equal(recover(f, r), NTHREADS * PER_THREAD);
	for (size_t i = 0; i < r->n; i++) {
		char want[64];
		int fd = -1, k = snprintf(want, sizeof want, "body of %s\n", r->envs[i]->id);
		off_t off;
		uint64_t len;
		char got[64];

		assert_true(spool_id_is_valid(r->envs[i]->id));
		if (i > 0 && strcmp(r->envs[i - 1]->id, r->envs[i]->id) >= 0)
			fail_msg("IDs not unique and sorted: %s then %s", r->envs[i - 1]->id,
			    r->envs[i]->id);
		assert_int_equal(spool_open_content(f->s, r->envs[i]->id, &fd, &off, &len), 0);
		assert_int_equal(len, (uint64_t)k);
		assert_int_equal(pread(fd, got, len, off), k);
		assert_memory_equal(got, want, len);
		close(fd);
	}
	rec_free(r);
	free(r);
}

static void
test_lock(void **state)
{
	struct fx *f = *state;
	struct spool *s2 = NULL;
	const char *why = NULL;
	char *sub = xasprintf("%s/sub/dir", f->dir);

	assert_int_equal(spool_open(f->dir, &s2, &why), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_string_equal(why, "spool is in use by another postino");
	spool_close(f->s);
	f->s = NULL;
	assert_int_equal(spool_open(f->dir, &f->s, &why), 0);
	/* Missing parents are created. */
	assert_int_equal(spool_open(sub, &s2, &why), 0);
	spool_close(s2);
	free(sub);
}

static void
test_ids(void **state)
{
	struct fx *f = *state;
	char prev[SPOOL_ID_LEN + 1] = "", id[SPOOL_ID_LEN + 1];
	static const char *const invalid[] = { "", "0123456789abcdef", "0123456789ABCDE",
		"0123456789ABCDEF0", "0123456789ABCDE/", "../3456789ABCDEF" };

	for (int i = 0; i < 1000; i++) {
		struct spool_writer *w = spool_writer_new(f->s, id);

		assert_non_null(w);
		spool_writer_abort(w);
		assert_true(spool_id_is_valid(id));
		if (strcmp(prev, id) >= 0)
			fail_msg("ID %s after %s: want strictly increasing", id, prev);
		memcpy(prev, id, sizeof id);
	}
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		if (spool_id_is_valid(invalid[i]))
			fail_msg("\"%s\": got valid, want invalid", invalid[i]);
	assert_int_equal(spool_remove(f->s, "../../etc/passwd"), -1);
	assert_int_equal(errno, EINVAL);
}

/* Envelope texts: every one but the first must be refused. */
static const struct {
	const char *name, *text;
	bool ok;
} env_cases[] = {
	{ "minimal", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n"
		     "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", true },
	{ "no version", "id=0123456789ABCDEF\nret=0\n", false },
	{ "version 2", "version=2\nid=0123456789ABCDEF\n", false },
	{ "lower-case id", "version=1\nid=0123456789abcdef\n", false },
	{ "no recipients", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n",
	    false },
	{ "missing body", "version=1\nid=0123456789ABCDEF\nret=0\nsmtputf8=0\nreceived=0\n"
			  "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "out of order", "version=1\nid=0123456789ABCDEF\nbody=0\nret=0\nsmtputf8=0\nreceived=0\n"
			  "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "duplicate", "version=1\nid=0123456789ABCDEF\nret=0\nret=0\nbody=0\nsmtputf8=0\n"
		       "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "unknown key", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n"
			 "x=1\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "rcpt 1 first", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n"
			  "rcpt=1\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "state 3", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n"
		     "rcpt=0\nnotify=0\nlocal=0\nstate=3\nattempts=0\nnext=0\n", false },
	{ "leading zero", "version=1\nid=0123456789ABCDEF\nret=00\nbody=0\nsmtputf8=0\nreceived=0\n"
			  "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "minus zero", "version=1\nid=0123456789ABCDEF\nret=-0\nbody=0\nsmtputf8=0\nreceived=0\n"
			"rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "bool 2", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=2\nreceived=0\n"
		    "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "lower hex", "version=1\nid=0123456789ABCDEF\nsender=%0a\nret=0\nbody=0\nsmtputf8=0\n"
		       "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "%00", "version=1\nid=0123456789ABCDEF\nsender=%00\nret=0\nbody=0\nsmtputf8=0\n"
		 "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "needless %41", "version=1\nid=0123456789ABCDEF\nsender=%41\nret=0\nbody=0\nsmtputf8=0\n"
			  "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "raw space", "version=1\nid=0123456789ABCDEF\nsender=a b\nret=0\nbody=0\nsmtputf8=0\n"
		       "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "no final newline", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n"
			      "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0", false },
	{ "int overflow", "version=1\nid=0123456789ABCDEF\nret=2147483648\nbody=0\nsmtputf8=0\n"
			  "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n", false },
	{ "delaywarned=0", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n"
			   "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\ndelaywarned=0\n",
	    false },
	{ "delaywarned=2", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\nreceived=0\n"
			   "rcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\ndelaywarned=2\n",
	    false },
	{ "delaywarned before reply", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\n"
				      "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\n"
				      "next=0\ndelaywarned=1\nreply=x\n", false },
	{ "delaywarned twice", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\n"
			       "received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n"
			       "delaywarned=1\ndelaywarned=1\n", false },
	{ "delaywarned on the message", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\n"
					"smtputf8=0\nreceived=0\ndelaywarned=1\nrcpt=0\nnotify=0\n"
					"local=0\nstate=0\nattempts=0\nnext=0\n", false },
};

/* Envelope texts that must load, and the delay_warned flags they give. */
static const struct {
	const char *name, *text;
	bool warned0, warned1;
} env_flag_cases[] = {
	{ "older file: no delaywarned", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\n"
					"smtputf8=0\nreceived=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\n"
					"attempts=0\nnext=0\nreply=x\nrcpt=1\nnotify=0\nlocal=0\n"
					"state=0\nattempts=0\nnext=0\n", false, false },
	{ "delaywarned=1 after reply", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\n"
				       "smtputf8=0\nreceived=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\n"
				       "attempts=0\nnext=0\nreply=x\ndelaywarned=1\nrcpt=1\nnotify=0\n"
				       "local=0\nstate=0\nattempts=0\nnext=0\n", true, false },
	{ "delaywarned=1 last", "version=1\nid=0123456789ABCDEF\nret=0\nbody=0\nsmtputf8=0\n"
				"received=0\nrcpt=0\nnotify=0\nlocal=0\nstate=0\nattempts=0\n"
				"next=0\nrcpt=1\nnotify=0\nlocal=0\nstate=0\nattempts=0\nnext=0\n"
				"delaywarned=1\n", false, true },
};

static void
test_env_format(void **state)
{
	for (size_t i = 0; i < sizeof env_cases / sizeof env_cases[0]; i++) {
		struct spool_envelope *env = NULL;
		const char *why = NULL;
		int r = spool_format_env_get(env_cases[i].text, strlen(env_cases[i].text), &env, &why);

		if ((r == 0) != env_cases[i].ok)
			fail_msg("%s: got %s (%s), want %s", env_cases[i].name, r == 0 ? "ok" : "error",
			    why ? why : "", env_cases[i].ok ? "ok" : "error");
		spool_envelope_free(env);
	}
	for (size_t i = 0; i < sizeof env_flag_cases / sizeof env_flag_cases[0]; i++) {
		struct spool_envelope *env = NULL;
		const char *why = NULL;

		if (spool_format_env_get(env_flag_cases[i].text, strlen(env_flag_cases[i].text), &env,
			&why) != 0)
			fail_msg("%s: got error (%s), want ok", env_flag_cases[i].name, why ? why : "");
		check_num(env_flag_cases[i].name, env->rcpts[0].delay_warned,
		    env_flag_cases[i].warned0);
		check_num(env_flag_cases[i].name, env->rcpts[1].delay_warned,
		    env_flag_cases[i].warned1);
		spool_envelope_free(env);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test(test_dup),
		cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncommitted_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_survives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_middle_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_warned_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_cleanup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
		cmocka_unit_test(test_env_format),
	};

	log_set_level(LOG_ERROR);   /* torn-record warnings are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
