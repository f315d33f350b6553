/* queue.h - the schedule of delivery attempts.
 * Owns: which committed messages have recipients due, the retry schedule
 * (retry_min doubling to retry_max), expiry after queue_lifetime, attempts
 * (local recipients on a worker, then remote ones per domain through
 * deliver/remote), persisting their outcomes through spool/, and which
 * outcomes call for a delivery status notification (queue/bounce).
 * Leaves: how to deliver (deliver/), the files (spool/), DSN text (dsn.c).
 * Every message in the spool that is not final is in the queue. */
#ifndef POSTINO_QUEUE_QUEUE_H
#define POSTINO_QUEUE_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "spool/spool.h"

struct event_base;
struct workq;
struct queue;

struct remote;

/* cfg is borrowed; queue_set_config replaces it (reload). remote delivers to
 * other domains (NULL: remote recipients wait in the queue). */
struct queue *queue_new(struct event_base *base, struct workq *wq, struct spool *spool,
    struct remote *remote, const struct config *cfg);
void queue_free(struct queue *q);
void queue_set_config(struct queue *q, const struct config *cfg);
/* A committed message: takes env and schedules its pending recipients. */
void queue_add(struct queue *q, struct spool_envelope *env);
/* Make every waiting recipient for domain (NULL: all) due now (ETRN, flush). */
void queue_flush(struct queue *q, const char *domain);
/* Recipients still to deliver (pending, in a message not on hold) whose
 * domain is domain (any case). */
size_t queue_waiting_for(const struct queue *q, const char *domain);
/* Each message, in no particular order (for `postino queue list`). */
void queue_foreach(const struct queue *q,
    void (*cb)(void *arg, const struct spool_envelope *env, bool held, bool running), void *arg);
/* The message with this ID, or NULL. */
const struct spool_envelope *queue_find(const struct queue *q, const char *id, bool *held,
    bool *running);
/* Hold (no attempts) or release (pending recipients due at once) a message;
 * the hold survives restarts. -1 with errno ENOENT (no such message). */
int queue_hold(struct queue *q, const char *id, bool held);
/* Delete a message from the queue and the spool: -1 with errno ENOENT, or
 * EBUSY while a delivery attempt for it runs (try again). */
int queue_delete(struct queue *q, const char *id);

/* Messages held in memory / attempts running. */
size_t queue_size(const struct queue *q);
unsigned queue_running(const struct queue *q);

/* The header block put before the content of a delivered copy: Return-Path,
 * Delivered-To and Received (RFC 5321 4.4), LF line ends. Exposed for tests.
 * Returns a new string. */
char *queue_trace_headers(const struct spool_envelope *env, const struct spool_rcpt *r,
    const char *hostname, int64_t now);
/* Only the Received field, for a copy relayed to another MTA; `for` names the
 * recipient when the copy has exactly one (RFC 5321 4.4), else NULL. */
char *queue_received_header(const struct spool_envelope *env, const char *for_rcpt,
    const char *hostname, int64_t now);

#endif
