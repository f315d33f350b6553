/* dotstuff.c - DATA content encoder (see dotstuff.h).
 * Owns: two bits of state between calls: at a line start, after a CR.
 * Leaves: where the content comes from and goes (smtp_client, its owner). */
#include "smtp/dotstuff.h"

void
smtp_dotstuff_init(struct smtp_dotstuff *d)
{
	d->at_bol = true;
	d->cr_pending = false;
}

/* A run of line bytes (no CR, no LF): stuff a leading dot. */
static int
put_text(struct smtp_dotstuff *d, const char *p, size_t n, struct buf *out)
{
	int e = 0;

	if (n == 0)
		return 0;
	if (d->at_bol && p[0] == '.')
		e |= buf_append(out, ".", 1);
	d->at_bol = false;
	return e | buf_append(out, p, n);
}

int
smtp_dotstuff_encode(struct smtp_dotstuff *d, const char *p, size_t n, struct buf *out)
{
	size_t i = 0, k;

	while (i < n) {
		if (d->cr_pending && p[i] == '\n') {
			d->cr_pending = false;  /* the LF of a CRLF: one line end */
			i++;
			continue;
		}
		d->cr_pending = false;
		if (p[i] == '\r' || p[i] == '\n') {
			if (buf_append(out, "\r\n", 2) < 0)
				return -1;
			d->cr_pending = p[i++] == '\r';
			d->at_bol = true;
			continue;
		}
		for (k = i; k < n && p[k] != '\r' && p[k] != '\n'; k++)
			;
		if (put_text(d, p + i, k - i, out) < 0)
			return -1;
		i = k;
	}
	return 0;
}

int
smtp_dotstuff_end(struct smtp_dotstuff *d, struct buf *out)
{
	if (!d->at_bol && buf_append(out, "\r\n", 2) < 0)
		return -1;
	d->at_bol = true;
	d->cr_pending = false;
	return buf_append(out, ".\r\n", 3);
}
