/* spool.c - the durable message store.
 * Owns: the spool layout (lock, tmp/, msg/, corrupt/), queue IDs, the durable
 * write (msg/ file with its header last, fdatasync, fsync of msg/),
 * per-recipient update records, removal, and envelope copies. Byte layout:
 * spool_format.c; recovery after a restart: spool_recover.c.
 * Leaves: when to deliver or retry (queue/), delivery itself (deliver/).
 * Invariant: commit reports success only after the whole file, header
 * included, was fdatasynced and msg/ fsynced. Until its commit a file's
 * header is zeros: recovery removes such a file as never acknowledged. */
#include "spool/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool/crc32c.h"
#include "spool/spool_format.h"
#include "spool/spool_internal.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#define WRITER_BUF 65536   /* content is written to disk in chunks this large */
#define ID_TRIES 100       /* new IDs to try when one is taken */

struct spool_writer {
	struct spool *s;
	int fd;                /* msg/<id>, O_WRONLY */
	char id[SPOOL_ID_LEN + 1];
	uint64_t off;          /* content bytes already written to the file */
	uint32_t crc;          /* CRC-32C of those bytes */
	size_t len;            /* bytes waiting in buf */
	char buf[WRITER_BUF];
};

bool
spool_id_is_valid(const char *id)
{
	for (size_t i = 0; i < SPOOL_ID_LEN; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return id[SPOOL_ID_LEN] == '\0';
}

pthread_mutex_t *
spool_stripe(struct spool *s, const char *id)
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (size_t i = 0; id[i] != '\0'; i++)
		h = (h ^ (unsigned char)id[i]) * 16777619u;
	return &s->stripes[h % SPOOL_STRIPES];
}

ssize_t
spool_pread_full(int fd, void *p, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, off + (off_t)got);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
spool_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)p + done, n - done, off + (off_t)done);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int
spool_rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* The file system lacks RENAME_NOREPLACE: link() never replaces. If we
	 * crash between the two calls, tmp/ holds a second name of the same
	 * inode, which recovery unlinks without harm. */
	if (linkat(fromfd, from, tofd, to, 0) == -1)
		return -1;
	(void)unlinkat(fromfd, from, 0);
	return 0;
}

/* flock the lock file: a second daemon on the same spool fails here. */
static int
take_lock(struct spool *s, const char **why)
{
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd == -1) {
		*why = "cannot open the spool lock file";
		return -1;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		*why = errno == EWOULDBLOCK ? "spool is in use by another postino"
					    : "cannot lock the spool";
		return -1;
	}
	return 0;
}

/* Open (creating) one subdirectory; *created is set when it was made. */
static int
open_subdir(struct spool *s, const char *name, bool *created)
{
	if (mkdirat(s->dirfd, name, 0700) == 0)
		*created = true;
	else if (errno != EEXIST)
		return -1;
	return openat(s->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static int
open_subdirs(struct spool *s, const char **why)
{
	bool created = false;

	*why = "cannot create or open a spool subdirectory (tmp, msg, corrupt, hold)";
	if ((s->tmpfd = open_subdir(s, "tmp", &created)) == -1 ||
	    (s->msgfd = open_subdir(s, "msg", &created)) == -1 ||
	    (s->corruptfd = open_subdir(s, "corrupt", &created)) == -1 ||
	    (s->holdfd = open_subdir(s, "hold", &created)) == -1)
		return -1;
	if (created && fsync(s->dirfd) == -1) {
		*why = "cannot fsync the spool directory";
		return -1;
	}
	return 0;
}

int
spool_open(const char *dir, struct spool **out, const char **why)
{
	struct spool *s = xcalloc(1, sizeof *s);
	int saved;

	s->dir = xstrdup(dir);
	s->dirfd = s->lockfd = s->tmpfd = s->msgfd = s->corruptfd = s->holdfd = -1;
	pthread_mutex_init(&s->mu, NULL);
	for (size_t i = 0; i < SPOOL_STRIPES; i++)
		pthread_mutex_init(&s->stripes[i], NULL);
	if (dir[0] == '\0' || mkdir_p(dir, 0700) == -1) {
		*why = "cannot create the spool directory";
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd == -1) {
		*why = "cannot open the spool directory";
		goto fail;
	}
	if (take_lock(s, why) == -1 || open_subdirs(s, why) == -1)
		goto fail;
	*out = s;
	return 0;
fail:
	saved = errno;
	spool_close(s);
	errno = saved;
	return -1;
}

void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;

	/* Closing lockfd releases the flock. Errors on read-only or directory
	 * fds carry no data to lose. */
	int fds[] = { s->dirfd, s->lockfd, s->tmpfd, s->msgfd, s->corruptfd, s->holdfd };

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] != -1)
			(void)close(fds[i]);
	pthread_mutex_destroy(&s->mu);
	for (size_t i = 0; i < SPOOL_STRIPES; i++)
		pthread_mutex_destroy(&s->stripes[i]);
	free(s->dir);
	free(s);
}

const char *
spool_dir(const struct spool *s)
{
	return s->dir;
}

/*
 * Queue IDs: 11 base-32 digits of the time in microseconds (55 bits, good
 * until the year 3111), then 5 digits of the process ID (25 bits; Linux pids
 * stay below 2^22). Within one spool the time is bumped past the last one
 * handed out, so IDs of one process are strictly increasing even when many
 * come in the same microsecond or the clock steps back; across processes
 * the pid keeps them apart. They sort in time order (as strings).
 */
static void
make_id(struct spool *s, char *id)
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
	struct timespec ts;
	uint64_t us, pid = (uint64_t)getpid();

	clock_gettime(CLOCK_REALTIME, &ts);
	us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	pthread_mutex_lock(&s->mu);
	if (us <= s->last_us)
		us = s->last_us + 1;
	s->last_us = us;
	pthread_mutex_unlock(&s->mu);
	for (int i = 10; i >= 0; i--, us >>= 5)
		id[i] = digits[us & 31];
	for (int i = 15; i >= 11; i--, pid >>= 5)
		id[i] = digits[pid & 31];
	id[SPOOL_ID_LEN] = '\0';
}

/* Create msg/<new ID>, skipping IDs taken (O_EXCL). Its header stays zeros
 * until the commit writes it. */
static int
create_file(struct spool *s, char *id)
{
	for (int i = 0; i < ID_TRIES; i++) {
		int fd;

		make_id(s, id);
		fd = openat(s->msgfd, id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

struct spool_writer *
spool_writer_new(struct spool *s, char *id)
{
	struct spool_writer *w;
	int fd = create_file(s, id);

	if (fd == -1)
		return NULL;
	w = xmalloc(sizeof *w);
	w->s = s;
	w->fd = fd;
	memcpy(w->id, id, sizeof w->id);
	w->off = 0;
	w->crc = 0;
	w->len = 0;
	pthread_mutex_lock(&s->mu);
	s->nwriters++;
	pthread_mutex_unlock(&s->mu);
	return w;
}

/* Write n content bytes at the current end of the content. */
static int
write_content(struct spool_writer *w, const void *p, size_t n)
{
	if (spool_pwrite_all(w->fd, p, n, (off_t)(SPOOL_FORMAT_HDR_LEN + w->off)) == -1)
		return -1;
	w->crc = crc32c(w->crc, p, n);
	w->off += n;
	return 0;
}

static int
flush(struct spool_writer *w)
{
	if (w->len == 0)
		return 0;
	if (write_content(w, w->buf, w->len) == -1)
		return -1;
	w->len = 0;
	return 0;
}

int
spool_writer_write(struct spool_writer *w, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		size_t k;

		/* A large write with nothing buffered skips the copy. */
		if (w->len == 0 && n >= WRITER_BUF) {
			k = n - n % WRITER_BUF;
			if (write_content(w, q, k) == -1)
				return -1;
		} else {
			k = WRITER_BUF - w->len < n ? WRITER_BUF - w->len : n;
			memcpy(w->buf + w->len, q, k);
			w->len += k;
			if (w->len == WRITER_BUF && flush(w) == -1)
				return -1;
		}
		q += k;
		n -= k;
	}
	return 0;
}

/* Close (if open), unlink msg/<id> when asked, and free w. */
static void
writer_free(struct spool_writer *w, bool unlink_file)
{
	struct spool *s = w->s;

	if (w->fd != -1)
		(void)close(w->fd);
	if (unlink_file)
		(void)unlinkat(s->msgfd, w->id, 0);
	pthread_mutex_lock(&s->mu);
	s->nwriters--;
	pthread_mutex_unlock(&s->mu);
	free(w);
}

void
spool_writer_abort(struct spool_writer *w)
{
	if (w != NULL)
		writer_free(w, true);
}

/* Everything after the content: envelope, then the header at offset 0. */
static int
write_envelope(struct spool_writer *w, const struct spool_envelope *env)
{
	struct spool_format_hdr h;
	char hdr[SPOOL_FORMAT_HDR_LEN];
	struct buf eb;
	int rc = -1;

	buf_init(&eb, SPOOL_FORMAT_ENV_MAX);
	if (spool_format_env_put(env, &eb) == -1) {
		errno = EFBIG;
		goto out;
	}
	h.content_len = w->off;
	h.content_crc = w->crc;
	h.env_len = eb.len;
	h.env_crc = crc32c(0, eb.data, eb.len);
	spool_format_hdr_put(&h, hdr);
	if (spool_pwrite_all(w->fd, eb.data, eb.len, (off_t)(SPOOL_FORMAT_HDR_LEN + w->off)) == -1 ||
	    spool_pwrite_all(w->fd, hdr, sizeof hdr, 0) == -1)
		goto out;
	rc = 0;
out:
	buf_reset(&eb);
	return rc;
}

/*
 * The file was created in msg/ when the transaction began, with a header of
 * zeros; the commit writes the envelope, then the header, and makes both
 * durable. One fdatasync commits the file and, in the same ext4 journal
 * transaction, its directory entry made earlier, so the fsync of msg/ that
 * SPEC asks for finds nothing left to write (a tmp/ file renamed into msg/
 * after its fdatasync cost a second journal commit per message). A crash
 * before the commit leaves a file whose header is zeros, or whose checksums
 * fail: recovery removes the first and moves the second aside; neither was
 * acknowledged.
 */
int
spool_writer_commit(struct spool_writer *w, const struct spool_envelope *env)
{
	struct spool *s = w->s;
	int rc = -1, saved, fd;

	if (strcmp(env->id, w->id) != 0 || env->nrcpts == 0) {
		errno = EINVAL;
		goto out;
	}
	if (flush(w) == -1 || write_envelope(w, env) == -1 || fdatasync(w->fd) == -1)
		goto out;
	fd = w->fd;
	w->fd = -1;
	if (close(fd) == -1 || fsync(s->msgfd) == -1)
		goto out;
	rc = 0;
out:
	saved = errno;
	/* Not committed: remove the file, so no message appears later. (If
	 * only the fsync of msg/ failed, the message may survive a crash and be
	 * delivered although the client was told to retry: a duplicate, never
	 * a loss.) */
	writer_free(w, rc == -1);
	errno = saved;
	return rc;
}

/* Append one record at the end of the message file and fdatasync it. On
 * failure the file is cut back, so a later record never lands after a
 * partial one. */
static int
append_record(struct spool *s, const char *id, const struct buf *rec)
{
	int fd = openat(s->msgfd, id, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int rc = -1, saved;

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto out;
	if (spool_pwrite_all(fd, rec->data, rec->len, st.st_size) == -1 || fdatasync(fd) == -1) {
		saved = errno;
		(void)ftruncate(fd, st.st_size);
		errno = saved;
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	if (close(fd) == -1 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	errno = saved;
	return rc;
}

int
spool_update_rcpt(struct spool *s, const struct spool_envelope *env, size_t idx)
{
	pthread_mutex_t *stripe;
	struct buf rec;
	int rc;

	if (idx >= env->nrcpts || !spool_id_is_valid(env->id)) {
		errno = EINVAL;
		return -1;
	}
	buf_init(&rec, SPOOL_FORMAT_REC_MAX);
	if (spool_format_rec_put(env, idx, &rec) == -1) {
		buf_reset(&rec);
		errno = EFBIG;
		return -1;
	}
	stripe = spool_stripe(s, env->id);
	pthread_mutex_lock(stripe);
	rc = append_record(s, env->id, &rec);
	pthread_mutex_unlock(stripe);
	buf_reset(&rec);
	return rc;
}

int
spool_remove(struct spool *s, const char *id)
{
	if (!spool_id_is_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	(void)unlinkat(s->holdfd, id, 0);   /* a marker left behind is harmless */
	return unlinkat(s->msgfd, id, 0);
}

int
spool_set_held(struct spool *s, const char *id, bool held)
{
	int fd;

	if (!spool_id_is_valid(id) || faccessat(s->msgfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == -1) {
		errno = spool_id_is_valid(id) ? ENOENT : EINVAL;
		return -1;
	}
	if (held) {
		fd = openat(s->holdfd, id, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1 || close(fd) == -1)
			return -1;
	} else if (unlinkat(s->holdfd, id, 0) == -1 && errno != ENOENT) {
		return -1;
	}
	return fsync(s->holdfd);
}

bool
spool_is_held(struct spool *s, const char *id)
{
	return spool_id_is_valid(id) && faccessat(s->holdfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
spool_open_content(struct spool *s, const char *id, int *fd, off_t *offset, uint64_t *length)
{
	char hdr[SPOOL_FORMAT_HDR_LEN];
	struct spool_format_hdr h;
	int f, saved;

	if (!spool_id_is_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	f = openat(s->msgfd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f == -1)
		return -1;
	if (spool_pread_full(f, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
	    spool_format_hdr_get(hdr, &h) == -1) {
		saved = errno;
		(void)close(f);
		errno = saved == 0 ? EIO : saved;
		return -1;
	}
	*fd = f;
	*offset = SPOOL_FORMAT_HDR_LEN;
	*length = h.content_len;
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

void
spool_envelope_free(struct spool_envelope *env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].address);
		free(env->rcpts[i].orig);
		free(env->rcpts[i].orcpt);
		free(env->rcpts[i].last_reply);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->envid);
	free(env->client_addr);
	free(env->helo);
	free(env->protocol);
	free(env->auth_user);
	free(env);
}

struct spool_envelope *
spool_envelope_dup(const struct spool_envelope *env)
{
	struct spool_envelope *d = xmalloc(sizeof *d);

	*d = *env;
	d->sender = dup_or_null(env->sender);
	d->envid = dup_or_null(env->envid);
	d->client_addr = dup_or_null(env->client_addr);
	d->helo = dup_or_null(env->helo);
	d->protocol = dup_or_null(env->protocol);
	d->auth_user = dup_or_null(env->auth_user);
	d->rcpts = env->nrcpts ? xcalloc(env->nrcpts, sizeof d->rcpts[0]) : NULL;
	for (size_t i = 0; i < env->nrcpts; i++) {
		d->rcpts[i] = env->rcpts[i];
		d->rcpts[i].address = dup_or_null(env->rcpts[i].address);
		d->rcpts[i].orig = dup_or_null(env->rcpts[i].orig);
		d->rcpts[i].orcpt = dup_or_null(env->rcpts[i].orcpt);
		d->rcpts[i].last_reply = dup_or_null(env->rcpts[i].last_reply);
	}
	return d;
}
