/* maildrop.c - writing a message into the maildrop (format in maildrop.h).
 * Owns: the file name, the envelope lines, the durable write and rename.
 * Leaves: importing (daemon/local.c), deciding to use the maildrop (send.c).
 * Invariant: only a complete, fsynced file ever carries the final name; on
 * any failure the temporary file is removed. */
#include "send/maildrop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"

/* The contract with daemon/local.c: only the submitter may read the file. */
#define MAILDROP_FILE_MODE 0644   /* read by the daemon after it dropped privileges; the 1733 directory hides the random names */

/* The envelope lines: version, uid, sender, recipients, the empty line. */
static int
format_envelope(struct buf *b, const struct maildrop_msg *m)
{
	int rc = 0;

	rc |= buf_printf(b, "postino-maildrop 1\nuid %lu\nsender %s\n", (unsigned long)m->uid,
	    m->sender);
	for (size_t i = 0; i < m->nrcpt; i++)
		rc |= buf_printf(b, "rcpt %s\n", m->rcpt[i]);
	rc |= buf_append(b, "\n", 1);
	return rc < 0 ? -1 : 0;
}

/* Write and fsync the temporary file. */
static int
write_file(const char *tmp, const struct maildrop_msg *m)
{
	struct buf env;
	int fd = -1, rc = -1, saved = 0;

	buf_init(&env, (size_t)-2);
	if (format_envelope(&env, m) < 0) {
		errno = ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, MAILDROP_FILE_MODE);
	if (fd < 0)
		goto out;
	if (write_full(fd, env.data, env.len) < 0 || write_full(fd, m->head.p, m->head.len) < 0 ||
	    write_full(fd, m->body.p, m->body.len) < 0 || fsync(fd) < 0)
		goto out;
	rc = 0;
out:
	saved = errno;
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	if (rc < 0 && fd >= 0)
		(void)unlink(tmp);
	buf_reset(&env);
	errno = saved;
	return rc;
}

int
maildrop_write(const char *spool_dir, const struct maildrop_msg *m, char *path, size_t pathlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int n, k, saved;

	if (m->nrcpt == 0) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(dir, sizeof dir, "%s/maildrop", spool_dir);
	k = snprintf(tmp, sizeof tmp, "%s/%lld.%ld.%s.tmp", dir, (long long)m->now, m->pid,
	    m->unique);
	if (n < 0 || (size_t)n >= sizeof dir || k < 0 || (size_t)k >= sizeof tmp ||
	    (size_t)k - 4 >= pathlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, tmp, (size_t)k - 4);
	path[k - 4] = '\0';
	if (write_file(tmp, m) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		saved = errno;
		(void)unlink(tmp);
		errno = saved;
		return -1;
	}
	/* Best effort: the maildrop (mode 1733) cannot be opened for reading
	 * by other users, so they cannot fsync it. The file itself is on disk;
	 * only its name could be lost in a crash right now. */
	(void)fsync_dir(dir);
	return 0;
}
