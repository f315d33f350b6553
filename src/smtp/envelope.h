/* envelope.h - MAIL FROM and RCPT TO command lines for outgoing mail.
 * Owns: formatting the two commands with their ESMTP parameters (SIZE,
 * BODY, SMTPUTF8, RET, ENVID; NOTIFY, ORCPT) and checking every line with
 * the server's own grammar (address.h) before it can be sent. An address or
 * value that would not parse, or a line over SMTP_MAILRCPT_LINE_MAX, is
 * refused: nothing read from the spool can inject a command.
 * Leaves: which parameters the peer offers (smtp_client). */
#ifndef POSTINO_SMTP_ENVELOPE_H
#define POSTINO_SMTP_ENVELOPE_H

#include <stdbool.h>
#include <stdint.h>

#include "smtp/address.h"
#include "util/buf.h"

struct smtp_envelope_mail {
	const char *sender;         /* "local@domain" (smtp_mailbox_format); "" is <> */
	bool has_size;              /* SIZE= (RFC 1870) */
	uint64_t size;
	bool body_8bitmime;         /* BODY=8BITMIME (RFC 6152) */
	bool smtputf8;              /* SMTPUTF8 (RFC 6531) */
	enum smtp_ret ret;          /* RET= (RFC 3461 4.3); SMTP_RET_NONE: none */
	const char *envid;          /* ENVID= xtext (RFC 3461 4.4); NULL or "": none */
};

/* Append "MAIL FROM:<sender> params" CRLF to out. -1 (out unchanged) when
 * the line would not parse as a MAIL command or is too long. */
int smtp_envelope_mail(struct buf *out, const struct smtp_envelope_mail *m);
/* Append "RCPT TO:<rcpt> params" CRLF: NOTIFY= when notify (SMTP_NOTIFY_*
 * bits) is not 0, ORCPT= when orcpt is neither NULL nor "" (addr-type;xtext
 * as stored). smtputf8: the MAIL carries SMTPUTF8. -1 (out unchanged) as
 * for smtp_envelope_mail; rcpt must be a mailbox with a domain. */
int smtp_envelope_rcpt(struct buf *out, const char *rcpt, unsigned notify, const char *orcpt,
    bool smtputf8);

#endif
