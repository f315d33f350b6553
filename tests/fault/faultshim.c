/* faultshim.c - LD_PRELOAD library that makes one file-system call fail.
 * For durability tests (STYLE.md section 9: "fault wrappers make the Nth
 * write/fsync/rename fail"). Configured by the environment:
 *   FAULT_DIR    only calls on paths under this directory (or on fds opened
 *                from such paths) are counted and may fail; required
 *   FAULT_OP     write | fsync | fdatasync | rename | open; unset: no faults
 *   FAULT_NTH    fail the Nth counted call of FAULT_OP (default 1)
 *   FAULT_COUNT  how many calls fail from the Nth on (default 1; 0: all)
 *   FAULT_ERRNO  errno of the failure: a number or EIO, ENOSPC, EDQUOT,
 *                EROFS, EACCES, EPERM, ENOMEM, EINTR, EAGAIN (default EIO)
 * Each injected failure is reported on stderr as
 *   "faultshim: injected <op> #<n> errno=<e> (<path or fd>)".
 * "write" covers write, pwrite, writev, pwritev and copy_file_range into a
 * tracked fd; "open" covers open, openat, creat (and their 64 and fortify
 * variants); "rename" covers rename, renameat and renameat2 when either path
 * is under FAULT_DIR. Paths are compared as spelled, made absolute with the
 * working directory or the directory fd (via /proc/self/fd); "..", symbolic
 * links, and fds made by dup() are not followed. Keep the daemon's log
 * (stderr) outside FAULT_DIR, or its writes are counted too. Not part of
 * postino. */

/* Define open and open64 (and friends) as the two symbols they are in
 * glibc, rather than have the headers rename one into the other. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_TRACKED 65536

enum op { OP_NONE, OP_WRITE, OP_FSYNC, OP_FDATASYNC, OP_RENAME, OP_OPEN };

static const char *const op_names[] = { "none", "write", "fsync", "fdatasync", "rename", "open" };

static struct {
	enum op op;
	unsigned long nth, count;
	int err;
	char dir[PATH_MAX];
	size_t dirlen;
} cfg;

static atomic_ulong calls;                      /* counted calls of cfg.op */
static atomic_uchar tracked[MAX_TRACKED];       /* fd opened under cfg.dir */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The real functions, found with dlsym(RTLD_NEXT). */
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_cfr)(int, off_t *, int, off_t *, size_t, unsigned);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);

static int
parse_errno(const char *s)
{
	static const struct {
		const char *name;
		int value;
	} names[] = { { "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
		{ "EROFS", EROFS }, { "EACCES", EACCES }, { "EPERM", EPERM }, { "ENOMEM", ENOMEM },
		{ "EINTR", EINTR }, { "EAGAIN", EAGAIN } };
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return EIO;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].value;
	v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 && v < 4096 ? (int)v : EIO;
}

static unsigned long
parse_ulong(const char *s, unsigned long dflt)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtoul(s, &end, 10);
	return *end == '\0' ? v : dflt;
}

static void
init(void)
{
	const char *op = getenv("FAULT_OP"), *dir = getenv("FAULT_DIR");

	real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	real_openat = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
	real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	real_pwritev = (ssize_t(*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "pwritev");
	real_cfr = (ssize_t(*)(int, off_t *, int, off_t *, size_t, unsigned))dlsym(RTLD_NEXT,
	    "copy_file_range");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_renameat2 = (int (*)(int, const char *, int, const char *, unsigned))dlsym(RTLD_NEXT,
	    "renameat2");
	for (int i = OP_WRITE; op != NULL && i <= OP_OPEN; i++)
		if (strcmp(op, op_names[i]) == 0)
			cfg.op = (enum op)i;
	if (dir == NULL || dir[0] != '/' || strlen(dir) >= sizeof cfg.dir)
		cfg.op = OP_NONE;
	else
		memcpy(cfg.dir, dir, strlen(dir) + 1);
	cfg.dirlen = strlen(cfg.dir);
	while (cfg.dirlen > 1 && cfg.dir[cfg.dirlen - 1] == '/')
		cfg.dir[--cfg.dirlen] = '\0';
	cfg.nth = parse_ulong(getenv("FAULT_NTH"), 1);
	cfg.count = parse_ulong(getenv("FAULT_COUNT"), 1);
	cfg.err = parse_errno(getenv("FAULT_ERRNO"));
}

static void
setup(void)
{
	pthread_once(&once, init);
}

/* Is the absolute path p inside cfg.dir (or cfg.dir itself)? */
static bool
abs_under(const char *p)
{
	return strncmp(p, cfg.dir, cfg.dirlen) == 0 &&
	    (p[cfg.dirlen] == '\0' || p[cfg.dirlen] == '/' || cfg.dirlen == 1);
}

/* Is path, relative to dirfd, under cfg.dir? */
static bool
path_under(int dirfd, const char *path)
{
	char base[PATH_MAX], full[PATH_MAX * 2], link[64];
	ssize_t n;

	if (cfg.op == OP_NONE || path == NULL)
		return false;
	if (path[0] == '/')
		return abs_under(path);
	if (dirfd >= 0 && dirfd < MAX_TRACKED && atomic_load(&tracked[dirfd]))
		return true;
	if (dirfd == AT_FDCWD) {
		if (getcwd(base, sizeof base) == NULL)
			return false;
	} else {
		snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
		n = readlink(link, base, sizeof base - 1);
		if (n <= 0)
			return false;
		base[n] = '\0';
	}
	snprintf(full, sizeof full, "%s/%s", base, path);
	return abs_under(full);
}

static bool
fd_under(int fd)
{
	return cfg.op != OP_NONE && fd >= 0 && fd < MAX_TRACKED && atomic_load(&tracked[fd]);
}

/* Count a call of op on something under cfg.dir; true when it must fail
 * (errno is then set). */
static bool
inject(enum op op, bool under, const char *what)
{
	unsigned long n;
	char line[PATH_MAX + 128];
	int k;

	if (op != cfg.op || !under)
		return false;
	n = atomic_fetch_add(&calls, 1) + 1;
	if (n < cfg.nth || (cfg.count != 0 && n >= cfg.nth + cfg.count))
		return false;
	k = snprintf(line, sizeof line, "faultshim: injected %s #%lu errno=%d (%s)\n",
	    op_names[op], n, cfg.err, what);
	if (k > 0)
		(void)!real_write(2, line, (size_t)k < sizeof line ? (size_t)k : sizeof line - 1);
	errno = cfg.err;
	return true;
}

static void
track(int fd, bool under)
{
	if (fd >= 0 && fd < MAX_TRACKED)
		atomic_store(&tracked[fd], under);
}

static int
do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	bool under;
	int fd;

	setup();
	under = path_under(dirfd, path);
	if (inject(OP_OPEN, under, path))
		return -1;
	fd = real_openat(dirfd, path, flags, mode);
	track(fd, under);
	return fd;
}

static mode_t
mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* Fortified variants (glibc, _FORTIFY_SOURCE) have no public prototypes. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#define OPEN_VARIADIC(name)                                                                \
	int name(const char *path, int flags, ...)                                         \
	{                                                                                  \
		va_list ap;                                                                \
		mode_t mode;                                                               \
		va_start(ap, flags);                                                       \
		mode = mode_arg(flags, ap);                                                \
		va_end(ap);                                                                \
		return do_openat(AT_FDCWD, path, flags, mode);                             \
	}
#define OPENAT_VARIADIC(name)                                                              \
	int name(int dirfd, const char *path, int flags, ...)                              \
	{                                                                                  \
		va_list ap;                                                                \
		mode_t mode;                                                               \
		va_start(ap, flags);                                                       \
		mode = mode_arg(flags, ap);                                                \
		va_end(ap);                                                                \
		return do_openat(dirfd, path, flags, mode);                                \
	}

OPEN_VARIADIC(open)
OPEN_VARIADIC(open64)
OPENAT_VARIADIC(openat)
OPENAT_VARIADIC(openat64)

int
__open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int
__open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int
__openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

int
__openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

int
creat(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int
creat64(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int
close(int fd)
{
	setup();
	track(fd, false);
	return real_close(fd);
}

static const char *
fdname(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "fd %d", fd);
	return buf;
}

ssize_t
write(int fd, const void *p, size_t n)
{
	char b[32];

	setup();
	if (inject(OP_WRITE, fd_under(fd), fdname(fd, b, sizeof b)))
		return -1;
	return real_write(fd, p, n);
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	char b[32];

	setup();
	if (inject(OP_WRITE, fd_under(fd), fdname(fd, b, sizeof b)))
		return -1;
	return real_pwrite(fd, p, n, off);
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off_t off)
{
	return pwrite(fd, p, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	char b[32];

	setup();
	if (inject(OP_WRITE, fd_under(fd), fdname(fd, b, sizeof b)))
		return -1;
	return real_writev(fd, iov, cnt);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	char b[32];

	setup();
	if (inject(OP_WRITE, fd_under(fd), fdname(fd, b, sizeof b)))
		return -1;
	return real_pwritev(fd, iov, cnt, off);
}

ssize_t
copy_file_range(int in, off_t *inoff, int out, off_t *outoff, size_t n, unsigned flags)
{
	char b[32];

	setup();
	if (inject(OP_WRITE, fd_under(out), fdname(out, b, sizeof b)))
		return -1;
	return real_cfr(in, inoff, out, outoff, n, flags);
}

int
fsync(int fd)
{
	char b[32];

	setup();
	if (inject(OP_FSYNC, fd_under(fd), fdname(fd, b, sizeof b)))
		return -1;
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	char b[32];

	setup();
	if (inject(OP_FDATASYNC, fd_under(fd), fdname(fd, b, sizeof b)))
		return -1;
	return real_fdatasync(fd);
}

int
renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
	setup();
	if (inject(OP_RENAME, path_under(fromfd, from) || path_under(tofd, to), to))
		return -1;
	return real_renameat2(fromfd, from, tofd, to, flags);
}

int
renameat(int fromfd, const char *from, int tofd, const char *to)
{
	return renameat2(fromfd, from, tofd, to, 0);
}

int
rename(const char *from, const char *to)
{
	return renameat2(AT_FDCWD, from, AT_FDCWD, to, 0);
}
