/* fsutil.c - durable directory creation and directory fsync (see fsutil.h). */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

int
fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r, saved;

	if (fd == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	if (close(fd) == -1 && r == 0)
		return -1;
	errno = saved;
	return r;
}

/* fsync the parent of p, a directory just created (p is left as it was). */
static int
fsync_parent(char *p)
{
	char *slash = strrchr(p, '/');
	int r;

	if (slash == NULL)
		return fsync_dir(".");
	if (slash == p)
		return fsync_dir("/");
	*slash = '\0';
	r = fsync_dir(p);
	*slash = '/';
	return r;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = -1, saved;

	for (char *q = p + 1;; q++) {
		bool last = *q == '\0';

		if (*q != '/' && !last)
			continue;
		*q = '\0';
		if (mkdir(p, mode) == 0) {
			if (fsync_parent(p) == -1)
				goto out;
		} else if (errno != EEXIST) {
			goto out;
		}
		if (last)
			break;
		*q = '/';
	}
	rc = 0;
out:
	saved = errno;
	free(p);
	errno = saved;
	return rc;
}

int
mkdir_parents(const char *path, mode_t mode)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int rc, saved;

	if (!slash || slash == path)
		return 0;
	dir = xstrndup(path, (size_t)(slash - path));
	rc = mkdir_p(dir, mode);
	saved = errno;
	free(dir);
	errno = saved;
	return rc;
}

int
write_full(int fd, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}
