/* maildir.h - delivery into a Maildir (tmp/, fsync, rename into new/).
 * Owns: the Maildir path from the pattern, creating tmp/ new/ cur/, unique
 * file names (Dovecot-compatible, with ,S=<size>), the durable write.
 * Leaves: which headers to prepend (queue/), retries (queue/).
 * Invariant: a file appears in new/ only complete and fsynced; nothing is
 * ever written outside the Maildir root the pattern names.
 * Blocking: run on a worker thread. */
#ifndef POSTINO_DELIVER_MAILDIR_H
#define POSTINO_DELIVER_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum deliver_status { DELIVER_OK, DELIVER_TEMPFAIL, DELIVER_PERMFAIL };

/* Expand pattern (%d domain, %n local part, %% a percent; both lower-cased)
 * into out. -1 when either part could escape the root (contains '/', is "."
 * or "..", starts with '.', holds NUL or control characters) or out is too small. */
int maildir_path(const char *pattern, const char *local, const char *domain, char *out,
    size_t outlen);

struct maildir_msg {
	const char *path;        /* the Maildir (from maildir_path) */
	const char *prepend;     /* header lines to write first (LF line ends), may be NULL */
	int content_fd;          /* content: length bytes at offset (pread; fd not moved) */
	off_t offset;
	uint64_t length;
	const char *hostname;    /* for the unique file name */
};

/* Deliver; on success the new file's name (relative to path) is written into
 * name (namelen bytes), e.g. "new/1700000000.M12345P678Q1.mx.example,S=812".
 * On failure err gets a reason and the result says
 * whether to retry (disk full, I/O error: TEMPFAIL) or not (PERMFAIL). */
enum deliver_status maildir_deliver(const struct maildir_msg *m, char *name, size_t namelen,
    char *err, size_t errlen);

#endif
