/* loader.h - the state of one configuration load, shared inside src/config:
 * config.c feeds it item by item, keys.c checks and stores each value,
 * check.c checks across keys at the end. Not for use outside src/config.
 * The line numbers kept here let every later message point at the line that
 * set the key (or at the section header when the default was used). */
#ifndef POSTINO_CONFIG_LOADER_H
#define POSTINO_CONFIG_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "util/diag.h"
#include "util/span.h"

enum {
	SEC_UNKNOWN = -2, /* inside an unknown section: its keys are skipped */
	SEC_NONE = -1,    /* before the first section header */
	SEC_SERVER,
	SEC_LISTENER,
	SEC_TLS,
	SEC_DOMAINS,
	SEC_MAILBOXES,
	SEC_RELAY,
	SEC_DNS,
	SEC_DELIVERY,
	SEC_LIMITS,
	SEC_ODMR,         /* postino extension: On-Demand Mail Relay, RFC 2645 */
	SEC_COUNT
};

/* Key indexes within their section (the order of keys.c's tables). */
enum {
	K_SERVER_HOSTNAME,
	K_SERVER_SPOOL,
	K_SERVER_MAX_MESSAGE_SIZE,
	K_SERVER_MAX_RECIPIENTS,
	K_SERVER_USER
};
enum { K_LISTENER_ADDRESS, K_LISTENER_TLS, K_LISTENER_AUTH };
enum { K_TLS_CERT, K_TLS_KEY };
enum { K_DOMAINS_LOCAL };
enum { K_MAILBOXES_USERS, K_MAILBOXES_ALIASES, K_MAILBOXES_MAILDIR };
enum { K_RELAY_NETWORKS, K_RELAY_SMARTHOST };
enum { K_DNS_RESOLVER };
enum {
	K_DELIVERY_REMOTE_PORT,
	K_DELIVERY_RETRY_MIN,
	K_DELIVERY_RETRY_MAX,
	K_DELIVERY_QUEUE_LIFETIME,
	K_DELIVERY_WARN_AFTER
};
enum {
	K_LIMITS_COMMAND_TIMEOUT,
	K_LIMITS_DATA_TIMEOUT,
	K_LIMITS_MAX_CONNECTIONS,
	K_LIMITS_MAX_CONNECTIONS_PER_IP,
	K_LIMITS_MAX_ERRORS,
	K_LIMITS_MIN_FREE_SPACE
};
enum { K_ODMR_DOMAINS, K_ODMR_CLIENTS };

#define LOADER_MAX_KEYS 8

/* Per section instance: the line where each key first appeared (seen) and
 * where it was given a non-empty value (set), 0 for never; and whether that
 * value was refused (bad), so checks across keys do not pile a second,
 * misleading message onto the default that stayed in its place. */
struct loader_lines {
	unsigned seen[LOADER_MAX_KEYS];
	unsigned set[LOADER_MAX_KEYS];
	bool bad[LOADER_MAX_KEYS];
};

struct loader {
	struct config *c; /* being filled; owned by the caller of the load */
	struct diag *d;
	const char *file; /* name used in messages */
	bool embedded;    /* loading the embedded default */
	bool client;      /* for `send`/`queue`: skip what only the daemon needs (TLS
	                     files readable, the `user` account) */
	bool in_defaults; /* applying defaults: a rejected value is a bug */
	size_t nerrors0;  /* d->nerrors before the load */
	int sec;          /* SEC_* of the current section */
	void *base;       /* struct the current section's keys write into */
	struct loader_lines *lines;
	char label[128];                      /* "[server]" or "[listener \"mx\"]", for messages */
	unsigned sec_line[SEC_COUNT];         /* header line of each section, 0: absent */
	struct loader_lines fixed[SEC_COUNT]; /* every section but [listener] */
	struct loader_lines *llines;          /* one per c->listeners[i] */
};

/* A value as quoted in a message: escaped (log_escape) and cut. */
struct loader_quote {
	char s[96];
};

/* v escaped into q; the result lives as long as q. */
const char *loader_quote(struct loader_quote *q, struct span v);
/* "[listener \"NAME\"]" for l into buf (n bytes). */
void loader_listener_label(char *buf, size_t n, const struct config_listener *l);

#endif
