/* maildir.c - delivery into a Maildir (tmp/, fsync, rename into new/).
 * Owns: the Maildir path from the pattern and its checks, creating the
 * Maildir (tmp/ new/ cur/, mode 0700), unique file names in Dovecot's
 * format, and the durable write: tmp/<name> with O_EXCL, fsync, rename into
 * new/<name>, fsync of new/.
 * Leaves: the header lines to prepend and when to retry (queue/).
 * Invariant: new/ only ever gains complete, fsynced files; a failed delivery
 * leaves nothing behind in tmp/ or new/. tmp/, new/ and the file itself are
 * opened with O_NOFOLLOW, so a planted symbolic link cannot redirect them. */
#include "deliver/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define COPY_CHUNK 65536
#define NAME_TRIES 10        /* fresh names tried when tmp/<name> exists */

/* The Q<n> part of file names: deliveries made by this process. It is the
 * per-process counter the Maildir naming scheme itself calls for. */
static atomic_ulong deliveries;

/* One part (%d or %n) is safe when it names exactly one directory level
 * below its parent: not empty, not "." or "..", no leading dot (no hidden
 * files, no "..x" games), no '/', no control characters. */
static bool
part_is_safe(const char *s)
{
	if (s[0] == '\0' || s[0] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int
put(char *out, size_t outlen, size_t *o, const char *s, bool lower)
{
	for (; *s != '\0'; s++) {
		char c = *s;

		if (*o + 1 >= outlen)
			return -1;
		if (lower && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[(*o)++] = c;
	}
	return 0;
}

int
maildir_path(const char *pattern, const char *local, const char *domain, char *out,
    size_t outlen)
{
	size_t o = 0;

	if (outlen == 0 || !part_is_safe(local) || !part_is_safe(domain))
		return -1;
	for (const char *p = pattern; *p != '\0'; p++) {
		char lit[2] = { *p, '\0' };
		int r;

		if (*p != '%')
			r = put(out, outlen, &o, lit, false);
		else if (p[1] == 'd')
			r = put(out, outlen, &o, domain, true);
		else if (p[1] == 'n')
			r = put(out, outlen, &o, local, true);
		else if (p[1] == '%')
			r = put(out, outlen, &o, "%", false);
		else
			r = -1;   /* unknown escape, or a '%' at the end */
		if (r == -1)
			return -1;
		if (*p == '%')
			p++;
	}
	out[o] = '\0';
	return o == 0 ? -1 : 0;
}

/* errno to outcome: a path that cannot work is permanent; anything else
 * (disk full, quota, I/O error, permissions an admin may fix) is retried. */
static enum deliver_status
status_of(int e)
{
	return e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG ? DELIVER_PERMFAIL
							      : DELIVER_TEMPFAIL;
}

static enum deliver_status
fail(char *err, size_t errlen, const char *what, const char *path, int e)
{
	char ebuf[128];

	if (snprintf(err, errlen, "maildir: cannot %s %s: %s", what, path,
		strerror_r(e, ebuf, sizeof ebuf)) < 0 && errlen > 0)
		err[0] = '\0';
	return status_of(e);
}

/* Create the Maildir and its tmp/ new/ cur/ as needed. */
static int
create_maildir(const char *path)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	bool created = false;
	int fd, rc = -1;

	if (mkdir_p(path, 0700) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (mkdirat(fd, subs[i], 0700) == 0)
			created = true;
		else if (errno != EEXIST)
			goto out;
	}
	if (created && fsync(fd) == -1)
		goto out;
	rc = 0;
out:
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/* Open tmp/ and new/ of the Maildir at path (never through symlinks). */
static int
open_dirs(const char *path, int *tmpfd, int *newfd)
{
	int root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int saved;

	if (root == -1)
		return -1;
	*tmpfd = openat(root, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	*newfd = *tmpfd == -1 ? -1
			      : openat(root, "new", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	(void)close(root);
	if (*newfd == -1) {
		if (*tmpfd != -1)
			(void)close(*tmpfd);
		*tmpfd = -1;
		errno = saved;
		return -1;
	}
	return 0;
}

/* The Dovecot-style unique name
 * "<sec>.M<usec>P<pid>Q<n>.<host>,S=<size>", with '/' and ':' in the host
 * written as "\057" and "\072" (they would break the path or the ":2,"
 * flag suffix). -1 when it does not fit in namelen. */
static int
make_name(const char *host, uint64_t size, char *name, size_t namelen)
{
	struct timeval tv;
	unsigned long q = atomic_fetch_add(&deliveries, 1) + 1;
	int k;
	size_t o;

	gettimeofday(&tv, NULL);
	k = snprintf(name, namelen, "%lld.M%ldP%ldQ%lu.", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), q);
	if (k < 0 || (size_t)k >= namelen)
		return -1;
	o = (size_t)k;
	for (const char *h = host; *h != '\0'; h++) {
		const char *esc = *h == '/' ? "\\057" : *h == ':' ? "\\072" : NULL;
		size_t n = esc ? 4 : 1;

		if (o + n >= namelen)
			return -1;
		memcpy(name + o, esc ? esc : h, n);
		o += n;
	}
	k = snprintf(name + o, namelen - o, ",S=%llu", (unsigned long long)size);
	return k < 0 || (size_t)k >= namelen - o ? -1 : 0;
}

/* Copy len bytes at off of in to out through a 64 KiB buffer (pread: in's
 * file position is not moved). copy_file_range was measured slower here: on
 * ext4 and tmpfs without reflinks it splices page by page, about twice the
 * CPU time of this loop for a 1 MB message. */
static int
copy_content(int in, off_t off, uint64_t len, int out)
{
	char *chunk = xmalloc(COPY_CHUNK);
	int rc = -1;

	while (len > 0) {
		size_t k = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		ssize_t r = pread(in, chunk, k, off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0)
			errno = EIO;   /* content shorter than the spool said */
		if (r <= 0 || write_full(out, chunk, (size_t)r) == -1)
			goto out;
		off += r;
		len -= (uint64_t)r;
	}
	rc = 0;
out:
	free(chunk);
	return rc;
}

/* Create tmp/<name> exclusively, with a fresh name if one is taken. */
static int
create_file(int tmpfd, const struct maildir_msg *m, uint64_t size, char *name, size_t namelen)
{
	const char *host = m->hostname != NULL && m->hostname[0] != '\0' ? m->hostname : "localhost";

	for (int i = 0; i < NAME_TRIES; i++) {
		int fd;

		if (make_name(host, size, name, namelen) == -1) {
			errno = ERANGE;
			return -1;
		}
		fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Write prepend and content into fd, fsync and close it (fd is consumed). */
static int
fill_file(int fd, const struct maildir_msg *m, size_t plen, const char **step)
{
	int saved;

	*step = "write to";
	if (write_full(fd, m->prepend ? m->prepend : "", plen) == -1 ||
	    copy_content(m->content_fd, m->offset, m->length, fd) == -1)
		goto fail;
	*step = "fsync a file in";
	if (fsync(fd) == -1)
		goto fail;
	*step = "close a file in";
	return close(fd);
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

/* Write tmp/<base>, rename it into new/ and fsync new/. On failure nothing
 * is left in either directory. */
static enum deliver_status
deliver_into(const struct maildir_msg *m, int tmpfd, int newfd, char *base, size_t baselen,
    char *err, size_t errlen)
{
	size_t plen = m->prepend ? strlen(m->prepend) : 0;
	const char *step;
	int fd, e;

	fd = create_file(tmpfd, m, plen + m->length, base, baselen);
	if (fd == -1 && errno == ERANGE) {
		if (snprintf(err, errlen, "maildir: file name too long for %s (hostname?)",
			m->path) < 0 && errlen > 0)
			err[0] = '\0';
		return DELIVER_TEMPFAIL;
	}
	if (fd == -1)
		return fail(err, errlen, "create a file in", m->path, errno);
	if (fill_file(fd, m, plen, &step) == -1)
		goto unlink_tmp;
	step = "rename into new/ of";
	if (renameat(tmpfd, base, newfd, base) == -1)
		goto unlink_tmp;
	if (fsync(newfd) == -1) {
		e = errno;
		(void)unlinkat(newfd, base, 0);
		return fail(err, errlen, "fsync new/ of", m->path, e);
	}
	return DELIVER_OK;
unlink_tmp:
	e = errno;
	(void)unlinkat(tmpfd, base, 0);
	return fail(err, errlen, step, m->path, e);
}

enum deliver_status
maildir_deliver(const struct maildir_msg *m, char *name, size_t namelen, char *err, size_t errlen)
{
	char base[256];   /* NAME_MAX + 1 */
	int tmpfd = -1, newfd = -1, k;
	enum deliver_status st;

	if (m->path == NULL || m->path[0] == '\0') {
		(void)fail(err, errlen, "use", "an empty Maildir path", EINVAL);
		return DELIVER_PERMFAIL;
	}
	if (namelen <= 5) {
		(void)fail(err, errlen, "return the name of a file in", m->path, ERANGE);
		return DELIVER_TEMPFAIL;
	}
	if (open_dirs(m->path, &tmpfd, &newfd) == -1) {
		if (errno != ENOENT || create_maildir(m->path) == -1 ||
		    open_dirs(m->path, &tmpfd, &newfd) == -1)
			return fail(err, errlen, "open the Maildir", m->path, errno);
	}
	/* Leave room for "new/" so the name handed back always fits. */
	st = deliver_into(m, tmpfd, newfd, base, namelen - 4 < sizeof base ? namelen - 4 : sizeof base,
	    err, errlen);
	(void)close(tmpfd);
	(void)close(newfd);
	if (st == DELIVER_OK) {
		k = snprintf(name, namelen, "new/%s", base);
		if (k < 0 || (size_t)k >= namelen)
			PANIC("maildir file name does not fit although its length was checked");
	}
	return st;
}
