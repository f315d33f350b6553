/* ehlo.h - the extension list of an EHLO reply (RFC 5321 4.1.1.1).
 * Owns: recognising the service extensions the client cares about in the
 * lines after the first ("ehlo-keyword *(SP ehlo-param)", keywords in any
 * case) and the SIZE limit (RFC 1870 4). Unknown keywords are ignored.
 * Leaves: what to do with them (smtp_client). */
#ifndef POSTINO_SMTP_EHLO_H
#define POSTINO_SMTP_EHLO_H

#include <stdint.h>

#include "smtp/reply.h"

#define SMTP_EXT_PIPELINING 0x01u            /* RFC 2920 */
#define SMTP_EXT_SIZE 0x02u                  /* RFC 1870 */
#define SMTP_EXT_8BITMIME 0x04u              /* RFC 6152 */
#define SMTP_EXT_SMTPUTF8 0x08u              /* RFC 6531 */
#define SMTP_EXT_DSN 0x10u                   /* RFC 3461 */
#define SMTP_EXT_STARTTLS 0x20u              /* RFC 3207 */
#define SMTP_EXT_CHUNKING 0x40u              /* RFC 3030 (noted, not used) */
#define SMTP_EXT_ENHANCEDSTATUSCODES 0x80u   /* RFC 2034 */

struct smtp_ehlo {
	unsigned ext;               /* SMTP_EXT_* bits */
	uint64_t size_max;          /* SIZE's value; 0: none given, or "no fixed maximum" */
};

/* Read a 2xx EHLO reply into out (which it overwrites). */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_ehlo *out);

#endif
