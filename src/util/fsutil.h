/* fsutil.h - small durable file-system steps shared by the spool, Maildir
 * delivery and TLS key creation. */
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

#endif
