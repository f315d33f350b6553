/* spool_internal.h - what spool.c shares with spool_recover.c (nothing else
 * includes this). The layout of struct spool is private to src/spool/. */
#ifndef POSTINO_SPOOL_SPOOL_INTERNAL_H
#define POSTINO_SPOOL_SPOOL_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPOOL_STRIPES 64   /* locks serialising work on one message file */

struct spool {
	char *dir;
	int dirfd, lockfd;     /* <spool>/ and the flock()ed <spool>/lock */
	int tmpfd;             /* tmp/: where earlier versions wrote; emptied at start */
	int msgfd;             /* msg/: committed messages, one file each */
	int corruptfd;         /* corrupt/: files recovery could not read */
	int holdfd;            /* hold/: an empty file per message put on hold */
	pthread_mutex_t mu;    /* guards the fields below */
	uint64_t last_us;      /* time stamp of the last queue ID handed out */
	unsigned nwriters;     /* writers between _new and commit/abort */
	/* Updates, recovery and removal of one message take the stripe its ID
	 * hashes to, so a record append never races a recovery truncate. */
	pthread_mutex_t stripes[SPOOL_STRIPES];
};

/* The lock for message id. */
pthread_mutex_t *spool_stripe(struct spool *s, const char *id);
/* pread until n bytes or end of file: the count read, -1 with errno. */
ssize_t spool_pread_full(int fd, void *p, size_t n, off_t off);
/* pwrite all n bytes: 0, or -1 with errno. */
int spool_pwrite_all(int fd, const void *p, size_t n, off_t off);
/* Rename that never replaces an existing target (EEXIST instead). */
int spool_rename_noreplace(int fromfd, const char *from, int tofd, const char *to);

#endif
