/* sasl.h - the server side of SMTP AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN.
 * Sans-I/O: the owner reads the AUTH line and each response line, sends
 * "334 " + the challenge while SASL_CONTINUE, and checks the credentials
 * itself once SASL_DONE. This module knows no users and logs nothing. */
#ifndef POSTINO_AUTH_SASL_H
#define POSTINO_AUTH_SASL_H

#include "util/buf.h"
#include "util/span.h"

/* RFC 4616 2: authzid, authcid and passwd are at most 255 UTF-8 characters.
 * postino counts octets, which is stricter for non-ASCII names; the same
 * bound applies to the LOGIN user name and password. */
#define SASL_FIELD_MAX 255
/* The longest challenge, base64("Password:"); the challenge buf must take it. */
#define SASL_CHALLENGE_MAX 12
/* The mechanisms sasl_new accepts, as EHLO lists them after "AUTH". */
#define SASL_MECHANISMS "PLAIN LOGIN"

enum sasl_status {
	/* send "334 " + the challenge (base64, possibly empty) and read a response line */
	SASL_CONTINUE,
	SASL_DONE,      /* credentials complete: sasl_authcid/sasl_password/sasl_authzid */
	SASL_BAD,       /* malformed base64 or message: reply 501 5.5.2 */
	SASL_CANCELLED, /* the client answered "*": reply 501 5.7.0 */
};

struct sasl;

/* NULL when the mechanism (case-insensitive) is not PLAIN or LOGIN: 504 5.5.4 */
struct sasl *sasl_new(struct span mechanism);
/* initial: the optional initial response from the AUTH line (RFC 4954 4: "=" means empty),
 * .len == 0 when absent. Called once, first. challenge is cleared, and on
 * SASL_CONTINUE holds the base64 challenge (PLAIN: empty); either way
 * challenge->data is a NUL-terminated string afterwards. */
enum sasl_status sasl_start(struct sasl *s, struct span initial, struct buf *challenge);
/* one response line (CRLF removed); only after SASL_CONTINUE, else PANIC.
 * "*" cancels (RFC 4954 4). challenge as for sasl_start. Responses carry the
 * password in base64: the owner wipes its line buffer after the call. */
enum sasl_status sasl_step(struct sasl *s, struct span response, struct buf *challenge);

/* Valid after SASL_DONE (PANIC otherwise); NUL-terminated, without NUL
 * inside, at most SASL_FIELD_MAX octets. Borrowed until sasl_free. The
 * authcid and password are never empty. Never log the password. */
const char *sasl_authcid(const struct sasl *s); /* valid after SASL_DONE */
const char *sasl_password(const struct sasl *s);
const char *sasl_authzid(const struct sasl *s); /* "" when none given */

/* zeroes the password (explicit_bzero) and frees; NULL is a no-op */
void sasl_free(struct sasl *s);

#endif
