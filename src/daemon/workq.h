/* workq.h - a small pool of threads for blocking work (fsync, Maildir writes).
 * Owns: the worker threads, the job queues and the wake-up of the event loop.
 * Jobs run `work` on a worker, then `done` on the event-loop thread, in the
 * order they finish. Urgent jobs (a client waits for its 250) go first. */
#ifndef POSTINO_DAEMON_WORKQ_H
#define POSTINO_DAEMON_WORKQ_H

#include <stdbool.h>

struct event_base;
struct workq;

struct workq *workq_new(struct event_base *base, unsigned nthreads);
/* Finish every queued job (running its done on the calling thread), stop the
 * threads, free. */
void workq_free(struct workq *q);
/* Queue a job. work(arg) runs on a worker; done(arg) later on the loop. */
void workq_add(struct workq *q, bool urgent, void (*work)(void *arg), void (*done)(void *arg),
    void *arg);
/* Jobs queued or running. */
unsigned workq_pending(const struct workq *q);

#endif
