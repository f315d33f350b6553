/* bounce.h - turning failed (or, when asked, delivered) recipients into a
 * delivery status notification queued from the null sender <>.
 * Owns: the DSN's envelope (from <>, to the original sender or postmaster),
 * writing the report (queue/dsn.c) into a new spool message and committing it.
 * Leaves: who is due a report (queue.c), how it is worded (dsn.c).
 * Blocking: runs on a worker thread. */
#ifndef POSTINO_QUEUE_BOUNCE_H
#define POSTINO_QUEUE_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/dsn.h"
#include "spool/spool.h"

/* The protocol recorded for reports postino writes itself; a report that
 * cannot be delivered goes to postmaster once, marked with the second one,
 * and a failing postmaster report is dropped (SPEC: a message from <> never
 * causes a bounce; a failed bounce goes to postmaster once). */
#define BOUNCE_PROTOCOL "DSN"
#define BOUNCE_PROTOCOL_POSTMASTER "DSN-POSTMASTER"

struct bounce_item {
	size_t idx;                /* recipient of the original */
	enum dsn_action action;
	char status[16];           /* "5.1.1" */
	char remote_mta[256];      /* "" when none */
	char diagnostic[512];      /* the reply, or a local reason */
	bool local_reason;
	int64_t will_retry_until;  /* DSN_DELAYED: unix seconds; 0: not said */
};

/* Write and commit a report on items of env to `to` (local or not). Returns
 * the committed report's envelope (for the queue), or NULL with errno. */
struct spool_envelope *bounce_commit(struct spool *spool, const struct spool_envelope *env,
    const struct bounce_item *items, size_t n, const char *to, bool to_local,
    const char *protocol, const char *hostname, int64_t now);

#endif
