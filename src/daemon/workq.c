/* workq.c - worker threads for blocking work (see workq.h).
 * Workers take jobs from two FIFO lists under one mutex, urgent first; a
 * finished job moves to the done list and an eventfd wakes the loop, which
 * runs the done callbacks. No job state is shared beyond its arg. */
#include "daemon/workq.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

struct job {
	struct job *next;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

struct list {
	struct job *head, *tail;
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct list urgent, normal, finished;
	bool stopping;
	unsigned pending;
	int efd;
	struct event *ev;
	pthread_t *threads;
	unsigned nthreads;
};

static void
push(struct list *l, struct job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct job *
pop(struct list *l)
{
	struct job *j = l->head;

	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
	}
	return j;
}

static void *
worker(void *arg)
{
	struct workq *q = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct job *j = pop(&q->urgent);

		if (!j)
			j = pop(&q->normal);
		if (!j) {
			if (q->stopping)
				break;
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		pthread_mutex_unlock(&q->mu);
		j->work(j->arg);
		pthread_mutex_lock(&q->mu);
		push(&q->finished, j);
		if (write(q->efd, &one, sizeof one) != sizeof one && errno != EAGAIN)
			PANIC("eventfd write: %d", errno);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Run the done callbacks of finished jobs on the loop thread. */
static void
run_finished(struct workq *q)
{
	struct list l;
	struct job *j;

	pthread_mutex_lock(&q->mu);
	l = q->finished;
	q->finished.head = q->finished.tail = NULL;
	pthread_mutex_unlock(&q->mu);
	while ((j = pop(&l)) != NULL) {
		pthread_mutex_lock(&q->mu);
		q->pending--;
		pthread_mutex_unlock(&q->mu);
		if (j->done)
			j->done(j->arg);
		free(j);
	}
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof n);
	run_finished(arg);
}

struct workq *
workq_new(struct event_base *base, unsigned nthreads)
{
	struct workq *q = xcalloc(1, sizeof *q);

	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0)
		PANIC("eventfd: %d", errno);
	q->ev = event_new(base, q->efd, EV_READ | EV_PERSIST, on_wake, q);
	event_add(q->ev, NULL);
	q->nthreads = nthreads;
	q->threads = xcalloc(nthreads, sizeof *q->threads);
	for (unsigned i = 0; i < nthreads; i++)
		if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
			PANIC("pthread_create failed");
	return q;
}

void
workq_free(struct workq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	run_finished(q);
	event_free(q->ev);
	close(q->efd);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->threads);
	free(q);
}

void
workq_add(struct workq *q, bool urgent, void (*work)(void *arg), void (*done)(void *arg),
    void *arg)
{
	struct job *j = xmalloc(sizeof *j);

	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->mu);
	push(urgent ? &q->urgent : &q->normal, j);
	q->pending++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

unsigned
workq_pending(const struct workq *q)
{
	return q->pending;
}
