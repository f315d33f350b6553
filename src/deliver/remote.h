/* remote.h - delivery to other mail servers: MX look-up, connections, TLS
 * when offered, and the SMTP client, for the recipients of one domain.
 * Owns: the DNS resolver, the client TLS context, connections and their
 * timeouts, the per-destination and total concurrency caps, the hosts whose
 * STARTTLS failed (tried in clear next time, SPEC: opportunistic TLS).
 * Leaves: which recipients are due and what their outcomes mean for the
 * queue (queue/), the files (spool/). Runs on the event loop; never blocks
 * it but for reading the message content from the page cache. */
#ifndef POSTINO_DELIVER_REMOTE_H
#define POSTINO_DELIVER_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "deliver/maildir.h"
#include "spool/spool.h"

struct bufferevent;
struct event_base;
struct remote;

/* The outcome for one recipient. */
struct remote_result {
	enum deliver_status status;
	char esc[16];            /* enhanced status code "5.1.1" ("" when unknown) */
	char text[512];          /* the reply or a local reason, printable ASCII */
	char mx[256];            /* the host that answered, "" when none did */
	char addr[64];           /* its address, "" when none */
	bool peer_dsn;           /* the host took NOTIFY/ORCPT (it reports successes itself) */
};

struct remote *remote_new(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen);
void remote_free(struct remote *r);
/* Reload: the resolver and smarthost come from cfg from now on. */
int remote_set_config(struct remote *r, const struct config *cfg, char *err, size_t errlen);

/* Deliver env's recipients idx[0..n), all of `domain`: first the trace
 * header `prepend` (LF line ends; copied; may be NULL), then the content at
 * content_fd (taken: closed when done) offset/length. results[i] gets the
 * outcome of idx[i]; then done(arg) is called on the loop. */
void remote_deliver(struct remote *r, const struct spool_envelope *env, const size_t *idx,
    size_t n, const char *domain, const char *prepend, int content_fd, off_t offset,
    uint64_t length, struct remote_result *results, void (*done)(void *arg), void *arg);

/* True when a look-up found that domain publishes a null MX (RFC 7505) in
 * the last hour: RCPT can refuse it at once with 556 5.1.10. */
bool remote_null_mx_known(const struct remote *r, const char *domain, int64_t now);

/* On-Demand Mail Relay (RFC 2645). bev is a connection on which ATRN was
 * just accepted (TLS on it already when tls); it is taken. Remote delivery
 * waits for the client's 220, then sends it every message routed to
 * domains[0..n) (copied), one after another, and ends with QUIT once none
 * has come for a few seconds. Until then mail for those domains goes
 * nowhere else. peer names the client in logs. Mail for an [odmr] domain
 * with no such connection fails temporarily ("waiting for ATRN"). When the
 * connection is over (or remote_free ends it), ended(arg) is called once. */
void remote_atrn_start(struct remote *r, struct bufferevent *bev, bool tls,
    const char *const *domains, size_t n, const char *peer, void (*ended)(void *arg),
    void *arg);
/* True while an ATRN connection carries domain's mail. */
bool remote_atrn_busy(const struct remote *r, const char *domain);

/* Deliveries in flight. */
unsigned remote_active(const struct remote *r);

#endif
