/* session.h - one SMTP connection in the daemon: glue between the socket
 * (libevent), the protocol core (smtp/), recipients (auth/, policy/), the
 * spool and the queue. */
#ifndef POSTINO_DAEMON_SESSION_H
#define POSTINO_DAEMON_SESSION_H

#include <event2/util.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "auth/mailboxes.h"
#include "config/config.h"

struct event_base;
struct ssl_ctx_st;
struct authlimit;
struct spool;
struct workq;
struct queue;
struct remote;
struct session;

/* What every session shares; owned by the daemon. */
struct session_ctx {
	struct event_base *base;
	const struct config *cfg;
	const struct mailboxes *mb;
	struct spool *spool;
	struct workq *wq;
	struct queue *queue;
	struct remote *remote;       /* knows domains with a null MX */
	struct ssl_ctx_st *tls;      /* NULL when no certificate is loaded */
	struct authlimit *authlimit;
	struct session *sessions;    /* all open sessions */
	unsigned nsessions;
	unsigned nturned;            /* connections that went on for ATRN (count as sessions
	                                for max_connections until they end) */
	unsigned long next_id;
	int64_t space_checked;       /* when min_free_space was last measured */
	bool space_ok;
	bool stopping;
	/* called when a session ends (connection accounting) */
	void (*on_close)(void *arg, const struct sockaddr *peer);
	void *on_close_arg;
};

/* Take the accepted socket fd and run an SMTP session on it. */
void session_start(struct session_ctx *ctx, const struct config_listener *l, evutil_socket_t fd,
    const struct sockaddr *peer, int peerlen);
/* Shutdown: idle sessions get 421 and close; those inside DATA may finish. */
void session_shutdown_idle(struct session_ctx *ctx);
/* Close every session at once (no 250 is lost: open transactions were not
 * answered yet, and a commit in flight is completed by the queue). */
void session_close_all(struct session_ctx *ctx);

#endif
