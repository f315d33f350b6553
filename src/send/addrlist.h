/* addrlist.h - the addresses in an RFC 5322 address list (To, Cc, Bcc field
 * bodies, and sendmail's command-line arguments, which take the same form).
 * Owns: finding the addr-spec of each mailbox: display names, angle
 * brackets, groups ("undisclosed-recipients:;"), comments (nested, RFC 5322
 * 3.2.2), quoted strings, folding white space, and the obsolete forms of
 * RFC 5322 4.4 (routes in angle brackets, empty list elements, CFWS around
 * the dots of a local part).
 * Leaves: whether an addr-spec is a valid SMTP mailbox (smtp/address.h),
 * qualifying a bare local part (send.c).
 * Invariant: never allocates, never recurses, never reads past the input;
 * the addr-spec is written NUL-terminated into the caller's buffer or
 * refused as too long, never truncated. */
#ifndef POSTINO_SEND_ADDRLIST_H
#define POSTINO_SEND_ADDRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct addrlist {
	const char *p;
	size_t len, i;
	bool in_group;       /* between "name:" and ";" */
	bool failed;         /* an error was reported: nothing more follows */
};

enum addrlist_result {
	ADDRLIST_ADDR,       /* out holds the next addr-spec, CFWS removed */
	ADDRLIST_END,        /* no more addresses */
	ADDRLIST_ERROR,      /* malformed list; *why says what; END follows */
};

/* Iterate over the addresses in p[0 .. len). p is borrowed and must stay
 * valid while the iteration runs. */
void addrlist_init(struct addrlist *a, const char *p, size_t len);
/* The next address. An addr-spec is the local part and domain exactly as
 * written (a quoted local part keeps its quotes) without comments or white
 * space; a mailbox with no "@" gives the local part alone. Display names and
 * group names are skipped; an empty group gives nothing. *why is a static
 * text fit for an error message. */
enum addrlist_result addrlist_next(struct addrlist *a, char *out, size_t outlen, const char **why);

#endif
