/* config.h - the typed, validated configuration (SPEC.md "Configuration file").
 * A struct config is immutable once loaded; SIGHUP builds a new one and swaps
 * the pointer. Durations are seconds, sizes bytes. Strings are owned by the
 * struct and freed by config_free. */
#ifndef POSTINO_CONFIG_CONFIG_H
#define POSTINO_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cidr.h"
#include "util/diag.h"
#include "util/span.h"

enum config_tls { CONFIG_TLS_NONE, CONFIG_TLS_STARTTLS, CONFIG_TLS_IMPLICIT };
enum config_auth { CONFIG_AUTH_NONE, CONFIG_AUTH_OPTIONAL, CONFIG_AUTH_REQUIRED };

struct config_listener {
	char *name;        /* from [listener "name"] */
	char *host;        /* "0.0.0.0", "::", "127.0.0.1" (brackets removed) */
	uint16_t port;
	enum config_tls tls;
	enum config_auth auth;
	unsigned line;     /* line of the section header, for messages */
};

struct config {
	char *file;        /* path it was read from; "(embedded default)" for the default */
	bool embedded;     /* this is the embedded default */

	struct {
		char *hostname;            /* default: the host's FQDN */
		char *spool;               /* default /var/spool/postino */
		uint64_t max_message_size; /* default 25M */
		unsigned max_recipients;   /* default 100 */
		char *user;                /* default "postino"; in the embedded default NULL,
		                              or "nobody" when started as root */
	} server;

	struct config_listener *listeners;
	size_t nlisteners;

	struct {
		char *cert, *key;          /* default /etc/postino/cert.pem, key.pem */
		bool self_signed;          /* embedded default only (./var/cert.pem, key.pem):
		                              the daemon may make a self-signed pair there
		                              for development; never set from a file */
	} tls;

	char **local_domains;          /* lower-cased */
	size_t nlocal_domains;

	struct {
		char *users;     /* NULL: no users file; every local part of a local domain
		                    is a mailbox (only the embedded default does this) */
		bool users_explicit;   /* the key was set in the file */
		char *aliases;
		bool aliases_explicit;
		char *maildir;   /* pattern with %d and %n */
	} mailboxes;

	struct {
		struct cidr *networks;
		size_t nnetworks;
		char *smarthost;           /* NULL when empty */
	} relay;

	struct {
		char *resolver;            /* NULL: /etc/resolv.conf */
	} dns;

	/* postino extension: mail for these domains is accepted from anyone and
	 * kept until their ODMR client (RFC 2645) logs in and sends ATRN */
	struct {
		char **domains;            /* lower-cased */
		size_t ndomains;
		/* logins that may send ATRN, each with the domains it may take */
		struct config_odmr_client {
			char *login;           /* as written; compared without case */
			char **domains;        /* lower-cased */
			size_t ndomains;
		} *clients;
		size_t nclients;
	} odmr;

	struct {
		uint16_t remote_port;      /* default 25 */
		uint64_t retry_min, retry_max, queue_lifetime, warn_after; /* seconds */
	} delivery;

	struct {
		uint64_t command_timeout, data_timeout;  /* seconds */
		unsigned max_connections, max_connections_per_ip, max_errors;
		uint64_t min_free_space;                 /* bytes */
	} limits;
};

/* Parse and validate FILE. Every problem goes into d as "FILE:LINE: message";
 * returns NULL when there was any error (d->nerrors grew during this call;
 * warnings alone do not count), else the config.
 * Checks that need the system (a `user` that does not exist) are included. */
struct config *config_load_file(const char *path, struct diag *d);
/* For the client commands (`send`, `queue`), run by users who cannot read
 * the TLS key or need the daemon's account: those checks are skipped. */
struct config *config_load_file_client(const char *path, struct diag *d);
/* The same for text in memory; name is used in messages. */
struct config *config_load_string(const char *name, const char *text, size_t len, struct diag *d);
/* The embedded default: 127.0.0.1:2525, ./var spool and Maildirs, local domain
 * localhost, relay from loopback, no users file. Never fails. */
struct config *config_default(void);
/* The INI text of the embedded default, for `postino serve --print-default`. */
const char *config_default_text(void);
void config_free(struct config *c);
/* Internal to the loader: drop [odmr] clients. */
void config_free_odmr_clients(struct config *c);

/* The [odmr] clients entry of login (any case), or NULL. */
const struct config_odmr_client *config_odmr_client(const struct config *c, const char *login);
/* True when domain (any case) is one of [odmr] domains. */
bool config_is_odmr_domain(const struct config *c, const char *domain, size_t len);
/* True when domain (any case) is one of the local domains. */
bool config_is_local_domain(const struct config *c, const char *domain, size_t len);

/* Split a "host:port" or "[IPv6]:port" value (relay.smarthost, dns.resolver,
 * as validated by the loader) into host, a span into s without the brackets,
 * and port. -1 when s is malformed. */
int config_split_hostport(const char *s, struct span *host, uint16_t *port);

#endif
