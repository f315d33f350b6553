/* spool_recover.c - bringing the spool back after a restart or crash.
 * Owns: removing never-committed writes (msg/ files whose header is still
 * zeros, and anything in tmp/, where earlier versions wrote), the strict load
 * of every msg/ file, moving unreadable files to corrupt/, and cutting a torn
 * last update record off its file.
 * Leaves: the byte format (spool_format.c); what happens to the messages
 * (the caller's callback: the queue schedules them).
 * Also: spool_load, the same strict load for one message.
 * Invariant: a file reaches the callback only when its header, content,
 * envelope and every update record but a torn last one check out. A bad
 * file never stops recovery of the others. */
#include "spool/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/crc32c.h"
#include "spool/spool_format.h"
#include "spool/spool_internal.h"
#include "util/log.h"
#include "util/xalloc.h"

#define READ_CHUNK 65536
#define CORRUPT_TRIES 1000  /* corrupt/<id>.<n> names tried when <id> is taken */

enum load_result {
	LOAD_OK,
	LOAD_GONE,
	LOAD_INCOMPLETE,   /* header still zeros: a write that never committed */
	LOAD_CORRUPT,
	LOAD_IOERR
};

/* One file being loaded. */
struct load {
	const char *name;
	int fd;
	off_t size;
	struct spool_format_hdr h;
	struct spool_envelope *env;
	const char *why;       /* LOAD_CORRUPT: what is wrong */
	int err;               /* LOAD_IOERR: errno */
};

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory dirfd (without . and ..), sorted; NULL with errno. */
static char **
list_names(int dirfd, size_t *n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd == -1 ? NULL : fdopendir(fd);
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;

	if (d == NULL) {
		if (fd != -1)
			(void)close(fd);
		return NULL;
	}
	*n = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xreallocarray(names, cap, sizeof names[0]);
		}
		names[(*n)++] = xstrdup(de->d_name);
	}
	(void)closedir(d);
	if (names == NULL)
		names = xcalloc(1, sizeof names[0]);
	qsort(names, *n, sizeof names[0], cmp_names);
	return names;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Delete everything in tmp/, unless a writer is open (its file lives there).
 * s->mu is held throughout so no writer starts meanwhile. */
static void
clean_tmp(struct spool *s)
{
	char **names;
	size_t n;

	pthread_mutex_lock(&s->mu);
	if (s->nwriters == 0 && (names = list_names(s->tmpfd, &n)) != NULL) {
		for (size_t i = 0; i < n; i++)
			if (unlinkat(s->tmpfd, names[i], 0) == -1 && errno != ENOENT)
				log_warn("- spool.tmp_unlink_failed file=tmp/%s errno=%d", names[i],
				    errno);
		free_names(names, n);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Open msg/<name> and read its header. */
static enum load_result
load_header(struct spool *s, struct load *ld)
{
	char hdr[SPOOL_FORMAT_HDR_LEN];
	struct stat st;
	ssize_t r;

	if (!spool_id_is_valid(ld->name)) {
		ld->why = "file name is not a queue ID";
		return LOAD_CORRUPT;
	}
	ld->fd = openat(s->msgfd, ld->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (ld->fd == -1) {
		ld->err = errno;
		if (errno == ELOOP)
			ld->why = "is a symbolic link";
		return errno == ENOENT ? LOAD_GONE : errno == ELOOP ? LOAD_CORRUPT : LOAD_IOERR;
	}
	if (fstat(ld->fd, &st) == -1) {
		ld->err = errno;
		return LOAD_IOERR;
	}
	if (!S_ISREG(st.st_mode)) {
		ld->why = "not a regular file";
		return LOAD_CORRUPT;
	}
	ld->size = st.st_size;
	if ((r = spool_pread_full(ld->fd, hdr, sizeof hdr, 0)) == -1) {
		ld->err = errno;
		return LOAD_IOERR;
	}
	/* the commit writes the header last: zeros (or nothing) there means
	 * the client never had its 250 */
	for (ssize_t i = 0;; i++)
		if (i == r)
			return LOAD_INCOMPLETE;
		else if (hdr[i] != 0)
			break;
	if (r != (ssize_t)sizeof hdr || spool_format_hdr_get(hdr, &ld->h) == -1) {
		ld->why = "bad header";
		return LOAD_CORRUPT;
	}
	if (ld->size < SPOOL_FORMAT_HDR_LEN || ld->h.env_len > SPOOL_FORMAT_ENV_MAX ||
	    ld->h.env_len > (uint64_t)ld->size - SPOOL_FORMAT_HDR_LEN ||
	    ld->h.content_len > (uint64_t)ld->size - SPOOL_FORMAT_HDR_LEN - ld->h.env_len) {
		ld->why = "file shorter than its header says";
		return LOAD_CORRUPT;
	}
	return LOAD_OK;
}

/* Read n bytes at off into p: LOAD_OK, or what went wrong. */
static enum load_result
read_exact(struct load *ld, void *p, size_t n, off_t off)
{
	ssize_t r = spool_pread_full(ld->fd, p, n, off);

	if (r == -1) {
		ld->err = errno;
		return LOAD_IOERR;
	}
	if ((size_t)r != n) {
		ld->why = "file shorter than its header says";
		return LOAD_CORRUPT;
	}
	return LOAD_OK;
}

/* Check the content checksum, reading it in chunks. */
static enum load_result
check_content(struct load *ld)
{
	char *chunk = xmalloc(READ_CHUNK);
	uint64_t done = 0;
	uint32_t crc = 0;
	enum load_result r = LOAD_OK;

	while (done < ld->h.content_len && r == LOAD_OK) {
		uint64_t left = ld->h.content_len - done;
		size_t k = left < READ_CHUNK ? (size_t)left : READ_CHUNK;

		r = read_exact(ld, chunk, k, (off_t)(SPOOL_FORMAT_HDR_LEN + done));
		crc = crc32c(crc, chunk, k);
		done += k;
	}
	free(chunk);
	if (r == LOAD_OK && crc != ld->h.content_crc) {
		ld->why = "content checksum mismatch";
		r = LOAD_CORRUPT;
	}
	return r;
}

static enum load_result
load_envelope(struct load *ld)
{
	size_t n = (size_t)ld->h.env_len;
	char *text = xmalloc(n + 1);
	enum load_result r;

	r = read_exact(ld, text, n, (off_t)(SPOOL_FORMAT_HDR_LEN + ld->h.content_len));
	if (r == LOAD_OK && crc32c(0, text, n) != ld->h.env_crc) {
		ld->why = "envelope checksum mismatch";
		r = LOAD_CORRUPT;
	}
	if (r == LOAD_OK && spool_format_env_get(text, n, &ld->env, &ld->why) == -1)
		r = LOAD_CORRUPT;
	if (r == LOAD_OK && strcmp(ld->env->id, ld->name) != 0) {
		ld->why = "envelope ID differs from the file name";
		r = LOAD_CORRUPT;
	}
	if (r == LOAD_OK)
		ld->env->size = ld->h.content_len;
	free(text);
	return r;
}

/* Cut a torn last record off (so the next update appends after good data). */
static void
cut_torn_tail(struct spool *s, struct load *ld, off_t keep)
{
	int fd = openat(s->msgfd, ld->name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	int ok = fd != -1 && ftruncate(fd, keep) == 0 && fdatasync(fd) == 0;

	if (fd != -1 && close(fd) == -1)
		ok = 0;
	log_warn("%s spool.torn_record dropped=%lld cut=%s", ld->name,
	    (long long)(ld->size - keep), ok ? "yes" : "failed");
}

static enum load_result
load_records(struct spool *s, struct load *ld)
{
	off_t start = (off_t)(SPOOL_FORMAT_HDR_LEN + ld->h.content_len + ld->h.env_len);
	size_t n = (size_t)(ld->size - start), valid;
	char *recs;
	enum load_result r;

	if (n > SPOOL_FORMAT_RECS_MAX) {
		ld->why = "too many update records";
		return LOAD_CORRUPT;
	}
	recs = xmalloc(n + 1);
	r = read_exact(ld, recs, n, start);
	if (r == LOAD_OK && spool_format_recs_apply(ld->env, recs, n, &valid, &ld->why) == -1)
		r = LOAD_CORRUPT;
	free(recs);
	if (r == LOAD_OK && valid < n)
		cut_torn_tail(s, ld, start + (off_t)valid);
	return r;
}

/* Load msg/<name> into ld->env; under the message's stripe lock, so no
 * update appends while a torn tail is being cut. */
static enum load_result
load_file(struct spool *s, struct load *ld)
{
	pthread_mutex_t *stripe = spool_stripe(s, ld->name);
	enum load_result r;

	pthread_mutex_lock(stripe);
	r = load_header(s, ld);
	if (r == LOAD_OK)
		r = check_content(ld);
	if (r == LOAD_OK)
		r = load_envelope(ld);
	if (r == LOAD_OK)
		r = load_records(s, ld);
	pthread_mutex_unlock(stripe);
	if (ld->fd != -1)
		(void)close(ld->fd);
	if (r != LOAD_OK) {
		spool_envelope_free(ld->env);
		ld->env = NULL;
	}
	return r;
}

/* Move msg/<name> to corrupt/<name> (or corrupt/<name>.<n> when taken);
 * returns the new path, or NULL (errno set) when it stays where it is. */
static char *
move_aside(struct spool *s, const char *name)
{
	char to[300];

	for (int i = 0; i < CORRUPT_TRIES; i++) {
		int k = i == 0 ? snprintf(to, sizeof to, "%s", name)
			       : snprintf(to, sizeof to, "%s.%d", name, i);

		if (k < 0 || (size_t)k >= sizeof to) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		if (spool_rename_noreplace(s->msgfd, name, s->corruptfd, to) == 0)
			return xasprintf("%s/corrupt/%s", s->dir, to);
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

/* A write that never committed (its client was never told 250): gone,
 * unless a writer started meanwhile may own it. */
static void
remove_incomplete(struct spool *s, const char *name)
{
	pthread_mutex_lock(&s->mu);
	if (s->nwriters == 0) {
		if (unlinkat(s->msgfd, name, 0) == 0)
			log_info("%s spool.incomplete_removed note=\"never committed, never "
				 "acknowledged\"", name);
		else if (errno != ENOENT)
			log_warn("%s spool.incomplete_unlink_failed errno=%d", name, errno);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Report one file that was not loaded, moving it aside when it is bad. */
static void
report_bad(struct spool *s, const struct load *ld, enum load_result r,
    void (*bad)(void *, const char *, const char *), void *arg)
{
	char reason[256], ebuf[128];
	char *path = NULL;
	int k;

	if (r == LOAD_CORRUPT && (path = move_aside(s, ld->name)) != NULL) {
		k = snprintf(reason, sizeof reason, "%s", ld->why);
	} else if (r == LOAD_CORRUPT) {
		k = snprintf(reason, sizeof reason, "%s (could not move it aside: %s)", ld->why,
		    strerror_r(errno, ebuf, sizeof ebuf));
	} else {
		k = snprintf(reason, sizeof reason, "cannot read it: %s",
		    strerror_r(ld->err, ebuf, sizeof ebuf));
	}
	if (k < 0)
		reason[0] = '\0';   /* truncation is fine: reason always ends in NUL */
	if (path == NULL)
		path = xasprintf("%s/msg/%s", s->dir, ld->name);
	if (bad != NULL)
		bad(arg, path, reason);
	free(path);
}

int
spool_load(struct spool *s, const char *id, struct spool_envelope **out, const char **why)
{
	struct load ld = { .name = id, .fd = -1 };
	enum load_result r;

	*why = NULL;
	if (!spool_id_is_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	r = load_file(s, &ld);
	if (r == LOAD_OK) {
		*out = ld.env;
		return 0;
	}
	if (r == LOAD_CORRUPT)
		*why = ld.why;
	errno = r == LOAD_GONE || r == LOAD_INCOMPLETE ? ENOENT : r == LOAD_CORRUPT ? EBADMSG : ld.err;
	return -1;
}

int
spool_recover(struct spool *s, void (*cb)(void *arg, struct spool_envelope *env),
    void (*bad)(void *arg, const char *path, const char *reason), void *arg)
{
	char **names;
	size_t n;
	int count = 0;

	clean_tmp(s);
	if ((names = list_names(s->msgfd, &n)) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct load ld = { .name = names[i], .fd = -1 };
		enum load_result r = load_file(s, &ld);

		if (r == LOAD_OK) {
			cb(arg, ld.env);
			count++;
		} else if (r == LOAD_INCOMPLETE) {
			remove_incomplete(s, ld.name);
		} else if (r != LOAD_GONE) {
			report_bad(s, &ld, r, bad, arg);
		}
	}
	free_names(names, n);
	return count;
}
