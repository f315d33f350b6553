/* dotstuff.h - the DATA content encoder, the inverse of data.h.
 * Owns: turning stored content (LF line ends) into what DATA sends: every
 * line end as CRLF (a CRLF or a lone CR in the input is taken as one line
 * end too), a "." doubled at the start of a line (RFC 5321 4.5.2), a
 * missing last line end added, then the final "." CRLF.
 * Invariant: the output never holds a bare CR or LF, nor CRLF "." CRLF
 * before smtp_dotstuff_end: content cannot end the DATA early or smuggle. */
#ifndef POSTINO_SMTP_DOTSTUFF_H
#define POSTINO_SMTP_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

struct smtp_dotstuff {
	bool at_bol;                /* the next byte starts a line */
	bool cr_pending;            /* the last input byte was a CR (already sent as CRLF) */
};

void smtp_dotstuff_init(struct smtp_dotstuff *d);
/* Encode n bytes onto out; -1 when out reached its max (out then holds part
 * of the encoding: the stream is unusable). */
int smtp_dotstuff_encode(struct smtp_dotstuff *d, const char *p, size_t n, struct buf *out);
/* The content is complete: the last line end if missing, and ".\r\n". */
int smtp_dotstuff_end(struct smtp_dotstuff *d, struct buf *out);

#endif
