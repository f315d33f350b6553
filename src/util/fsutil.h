/* fsutil.h - small durable file-system steps shared by the spool, Maildir
 * delivery, the maildrop and TLS key creation. */
#ifndef POSTINO_UTIL_FSUTIL_H
#define POSTINO_UTIL_FSUTIL_H

#include <sys/types.h>

/* fsync the directory at path (an entry just made in it becomes durable).
 * 0, or -1 with errno. */
int fsync_dir(const char *path);
/* mkdir -p with mode: every directory that did not exist is created and made
 * durable by an fsync of its parent, so a crash cannot lose a directory that
 * already holds committed files. 0, or -1 with errno. */
int mkdir_p(const char *path, mode_t mode);
/* mkdir_p of the directories above path (path itself is not made). */
int mkdir_parents(const char *path, mode_t mode);
/* write(2) all n bytes of p to a blocking fd, resuming after EINTR and short
 * writes. 0, or -1 with errno. */
int write_full(int fd, const void *p, size_t n);

#endif
