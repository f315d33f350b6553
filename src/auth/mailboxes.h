/* mailboxes.h - who receives mail here: the users file, the aliases file and
 * recipient resolution (SPEC.md [mailboxes], RFC 5321 4.5.1 postmaster).
 * Owns: parsing `user@domain:CRYPT-HASH` and `alias@domain: target, ...`
 * lines, alias expansion with loop detection, the postmaster rule.
 * Leaves: relay permission (policy/), delivery (deliver/).
 * A struct mailboxes is immutable after load (reload builds a new one). */
#ifndef POSTINO_AUTH_MAILBOXES_H
#define POSTINO_AUTH_MAILBOXES_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "smtp/address.h"
#include "util/diag.h"

struct mailboxes;

/* Read c->mailboxes.users and .aliases. Problems go into d as FILE:LINE;
 * NULL when there was an error. A users file that is missing is an error;
 * an aliases file that is missing is an error only when the key was set.
 * Warns when postmaster@<first local domain> is neither user nor alias. */
struct mailboxes *mailboxes_load(const struct config *c, struct diag *d);
void mailboxes_free(struct mailboxes *m);

/* The crypt(3) hash of user@domain (any case), or NULL. */
const char *mailboxes_password_hash(const struct mailboxes *m, const char *address);

enum mailboxes_verdict {
	MAILBOXES_OK,        /* targets filled (at least one) */
	MAILBOXES_UNKNOWN,   /* local domain, no such user or alias: 550 5.1.1 */
	MAILBOXES_REMOTE,    /* not a local domain: relay policy decides */
	MAILBOXES_LOOP,      /* alias expansion loops or exceeds its depth/width bounds: 550 5.4.6 */
};

struct mailboxes_target {
	char address[SMTP_ADDR_TEXT_MAX]; /* lower-cased "local@domain" for local,
	                                     as written in the aliases file for remote;
	                                     either parses with smtp_parse_mailbox (a
	                                     local one is quoted when not a dot-string) */
	bool local;
};

#define MAILBOXES_MAX_TARGETS 1000   /* bound on one recipient's expansion */
#define MAILBOXES_MAX_DEPTH 20       /* aliases nested in one expansion, the first included */

/* Resolve one recipient (local part decoded, domain as sent; domain "" means
 * the bare <postmaster>). Aliases expand recursively; a target that is a user
 * stops there. Postmaster (any case, bare or @ any local domain) resolves as
 * postmaster@<first local domain> does, and is always OK. With no users file
 * (c->mailboxes.users == NULL) every local part of a local domain is a user.
 * On MAILBOXES_OK, *targets is a new array of *ntargets entries (caller frees
 * with free()). */
enum mailboxes_verdict mailboxes_resolve(const struct mailboxes *m, const struct config *c,
    const char *local, const char *domain, struct mailboxes_target **targets, size_t *ntargets);

#endif
