/* spool_micro.c - micro-benchmark of spool commits (not a test).
 * Usage: spool_micro DIR THREADS SECONDS [SIZE]
 * Each thread writes SIZE-byte messages (default 4096) with one recipient
 * and commits them for SECONDS; prints commits/s, then the time one
 * spool_recover of everything written takes. Run it on the file system the
 * spool will live on: its fsync cost is what is being measured.
 * Build (after ninja -C build):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -I. bench/spool_micro.c build/libpostino.a \
 *       -lpthread -o spool_micro */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spool/spool.h"
#include "util/span.h"

static struct spool *sp;
static double seconds;
static size_t msg_size;
static atomic_long total, errors;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
	char *body = malloc(msg_size);
	struct spool_rcpt rc = { .address = "u@example.test", .orig = "u@example.test" };
	struct spool_envelope env = { .sender = "s@example.test", .rcpts = &rc, .nrcpts = 1,
		.client_addr = "127.0.0.1", .protocol = "ESMTP", .received = 1 };
	double end = now() + seconds;

	memset(body, 'x', msg_size);
	while (now() < end) {
		struct spool_writer *w = spool_writer_new(sp, env.id);

		if (w == NULL || spool_writer_write(w, body, msg_size) != 0 ||
		    spool_writer_commit(w, &env) != 0) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		atomic_fetch_add(&total, 1);
	}
	free(body);
	return arg;
}

static void
drop(void *arg, struct spool_envelope *env)
{
	spool_envelope_free(env);
}

int
main(int argc, char **argv)
{
	unsigned long long nthreads, secs, size = 4096;
	const char *why = NULL;
	pthread_t t[64];
	double t0;
	int n;

	if (argc < 4 || span_to_u64(span_cstr(argv[2]), 64, &nthreads) == -1 || nthreads == 0 ||
	    span_to_u64(span_cstr(argv[3]), 3600, &secs) == -1 ||
	    (argc > 4 && span_to_u64(span_cstr(argv[4]), 1u << 30, &size) == -1)) {
		fprintf(stderr, "usage: spool_micro DIR THREADS SECONDS [SIZE]\n");
		return 1;
	}
	seconds = (double)secs;
	msg_size = (size_t)size;
	if (spool_open(argv[1], &sp, &why) == -1) {
		fprintf(stderr, "spool_open: %s: %s\n", why, strerror(errno));
		return 2;
	}
	for (unsigned long long i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (unsigned long long i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("threads=%llu size=%zu commits=%ld errors=%ld rate=%.0f/s\n", nthreads, msg_size,
	    atomic_load(&total), atomic_load(&errors), (double)atomic_load(&total) / seconds);
	t0 = now();
	n = spool_recover(sp, drop, NULL, NULL);
	printf("recover: %d messages in %.3f s\n", n, now() - t0);
	spool_close(sp);
	return 0;
}
