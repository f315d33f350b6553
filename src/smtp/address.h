/* address.h - RFC 5321 path grammar and the MAIL/RCPT parameters.
 * Owns: parsing the argument of MAIL FROM: and RCPT TO: into a path and its
 * ESMTP parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH; NOTIFY, ORCPT).
 * Leaves: whether a mailbox exists or may be relayed to (auth/, policy/).
 * Invariant: never allocates, never reads past arg.len; every output string is
 * NUL-terminated and bounded by the RFC limits below. */
#ifndef POSTINO_SMTP_ADDRESS_H
#define POSTINO_SMTP_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/span.h"

#define SMTP_LOCAL_MAX 64    /* RFC 5321 4.5.3.1.1 local-part octets */
#define SMTP_DOMAIN_MAX 255  /* RFC 5321 4.5.3.1.2 domain octets */
#define SMTP_PATH_MAX 256    /* RFC 5321 4.5.3.1.3 path octets, brackets included */
#define SMTP_ENVID_MAX 100   /* RFC 3461 4.4 */
#define SMTP_ORCPT_MAX 500   /* RFC 3461 4.2: addr-type ";" xtext, as sent */
#define SMTP_ADDR_TEXT_MAX 512 /* a formatted mailbox: re-quoted local part, "@", domain, NUL */

struct smtp_mailbox {
	char local[SMTP_LOCAL_MAX + 1];    /* decoded: quotes and quoted-pairs removed */
	char domain[SMTP_DOMAIN_MAX + 1];  /* as sent (brackets kept for literals) */
	bool quoted;                       /* local part was a quoted-string */
	bool literal;                      /* domain is an address literal [...] */
	bool utf8;                         /* non-ASCII octets (valid UTF-8) somewhere */
};

enum smtp_path_kind {
	SMTP_PATH_NULL,        /* <> (MAIL only) */
	SMTP_PATH_POSTMASTER,  /* <postmaster> without domain, any case (RCPT only) */
	SMTP_PATH_MAILBOX,
};

struct smtp_path {
	enum smtp_path_kind kind;
	struct smtp_mailbox mbox;          /* for POSTMASTER: local "postmaster", domain "" */
};

enum smtp_body { SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };
enum smtp_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_mail_params {
	bool has_size;
	uint64_t size;
	enum smtp_body body;                 /* BODY=; 7BIT when absent */
	bool smtputf8;
	enum smtp_ret ret;                   /* DSN RET= */
	char envid[SMTP_ENVID_MAX + 1];      /* DSN ENVID= as sent (xtext, validated); "" when absent */
	bool has_auth;                       /* AUTH=<mailbox> (RFC 4954 5), value not kept */
};

#define SMTP_NOTIFY_NEVER 1u
#define SMTP_NOTIFY_SUCCESS 2u
#define SMTP_NOTIFY_FAILURE 4u
#define SMTP_NOTIFY_DELAY 8u

struct smtp_rcpt_params {
	unsigned notify;                     /* SMTP_NOTIFY_* bits; 0 when absent */
	char orcpt[SMTP_ORCPT_MAX + 1];      /* DSN ORCPT= as sent (addr-type;xtext, validated); "" when absent */
};

enum smtp_arg_result {
	SMTP_ARG_OK,
	SMTP_ARG_SYNTAX,         /* bad path syntax: 501 5.1.7 (MAIL) / 501 5.1.3 (RCPT) */
	SMTP_ARG_TOO_LONG,       /* local part, domain or path over its limit: 501 5.1.3 / 5.1.7 */
	SMTP_ARG_SOURCE_ROUTE,   /* <@a,@b:user@c>: refused, 550 5.7.1 (no relaying through us) */
	SMTP_ARG_NULL_NOT_ALLOWED, /* <> in RCPT, <postmaster> in MAIL: 501 */
	SMTP_ARG_PARAM_UNKNOWN,  /* unrecognised parameter: 555 5.5.4 */
	SMTP_ARG_PARAM_BAD,      /* bad or repeated parameter value: 501 5.5.4 */
	SMTP_ARG_NEEDS_UTF8,     /* non-ASCII address without SMTPUTF8: 553 5.6.7 */
};

/* Parse what follows "MAIL FROM:" (one optional SP is tolerated before '<',
 * as every common MTA does). On failure *why (if not NULL) names the problem
 * in a short static text fit for a reply. */
enum smtp_arg_result smtp_parse_mail(struct span arg, struct smtp_path *path,
    struct smtp_mail_params *params, const char **why);
/* Parse what follows "RCPT TO:". utf8_ok: the transaction's MAIL had SMTPUTF8. */
enum smtp_arg_result smtp_parse_rcpt(struct span arg, bool utf8_ok, struct smtp_path *path,
    struct smtp_rcpt_params *params, const char **why);

/* Write "local@domain" into out, the local part re-quoted when it is not a
 * dot-string; "" for the null path (local and domain both ""), just the local
 * part when the domain is "" (<postmaster>). -1 when out is too small, or
 * when the local part holds an octet no quoted-string can carry (a control
 * character, malformed UTF-8); out is then "". */
int smtp_mailbox_format(const struct smtp_mailbox *m, char *out, size_t outlen);
/* Length of the well-formed UTF8-non-ascii character at p[0 .. n) (RFC 3629
 * 4: no overlong forms, no surrogates, nothing past U+10FFFF), 0 if none. */
size_t smtp_utf8_len(const char *p, size_t n);

/* Parse a bare mailbox "local@domain" (no brackets) as in users/aliases files
 * and sendmail arguments. UTF-8 is accepted (out->utf8 tells); the whole must
 * fit in a path (SMTP_PATH_MAX - 2 octets). SYNTAX or TOO_LONG on failure. */
enum smtp_arg_result smtp_parse_mailbox(struct span s, struct smtp_mailbox *out);

#endif
