/* data.c - DATA/BDAT content decoder (see data.h).
 * States follow the bytes of RFC 5321 4.1.1.4: DATA ends on the five octets
 * CR LF "." CR LF, where the first CR LF may be the one that ended the DATA
 * command itself. Anything else, in any mix of CR, LF and ".", is content. */
#include "smtp/data.h"

#include <string.h>

#include "smtp/limits.h"

enum {
	ST_BOL,     /* just after CRLF (or at the start): a "." here is special */
	ST_DOT,     /* "." at the start of a line */
	ST_DOT_CR,  /* ".\r" at the start of a line: LF ends the data */
	ST_TEXT,    /* inside a line */
	ST_CR,      /* CR seen, waiting for LF */
};

void
smtp_data_init(struct smtp_data *d, bool dot_mode, uint64_t max_size)
{
	d->state = dot_mode ? ST_BOL : ST_TEXT;
	d->dot_mode = dot_mode;
	d->bad_cr = d->nul = d->refuse = false;
	d->in_headers = true;
	d->at_line_start = true;
	d->hdr_lines = 0;
	d->hdr_bytes = 0;
	d->size = 0;
	d->max_size = max_size;
}

enum smtp_data_status
smtp_data_status(const struct smtp_data *d)
{
	if (d->bad_cr || d->nul)
		return SMTP_DATA_BAD_BYTES;
	if (d->hdr_lines > SMTP_HEADER_LINES_MAX || d->hdr_bytes > SMTP_HEADER_BYTES_MAX)
		return SMTP_DATA_HEADERS_TOO_BIG;
	if (d->size > d->max_size)
		return SMTP_DATA_TOO_BIG;
	return SMTP_DATA_OK;
}

/* Account one output byte for the header-section bounds: the section ends
 * at the first empty line (RFC 5322 2.1). */
static inline void
track_header(struct smtp_data *d, char c)
{
	if (!d->in_headers)
		return;
	if (c == '\n') {
		if (d->at_line_start)
			d->in_headers = false;
		else if (++d->hdr_lines > SMTP_HEADER_LINES_MAX)
			d->refuse = true;
		d->at_line_start = true;
	} else {
		d->at_line_start = false;
	}
	if (++d->hdr_bytes > SMTP_HEADER_BYTES_MAX)
		d->refuse = true;
}

/* Emit one content byte (LF for a line end). size counts as sent: extra is 1
 * for a CRLF, whose CR is not stored. */
static inline void
emit(struct smtp_data *d, char c, unsigned extra, char *out, size_t *o)
{
	d->size += 1 + extra;
	if (d->size > d->max_size)
		d->refuse = true;
	track_header(d, c);
	if (!d->refuse)
		out[(*o)++] = c;
}

/* Body bytes that change no state: copy the whole run at once. */
static inline size_t
plain_run(struct smtp_data *d, const char *in, size_t n, char *out, size_t *o)
{
	size_t k = 0;

	while (k < n && in[k] != '\r' && in[k] != '\n' && in[k] != '\0')
		k++;
	d->size += k;
	if (d->size > d->max_size)
		d->refuse = true;
	if (!d->refuse) {
		memcpy(out + *o, in, k);
		*o += k;
	}
	return k;
}

/* Ordinary bytes: the ones that never change state inside a line. */
static inline bool
plain(unsigned char c)
{
	return c != '\r' && c != '\n' && c != '\0';
}

/* One byte in ST_TEXT. */
static inline void
text_byte(struct smtp_data *d, char c, char *out, size_t *o)
{
	if (c == '\r') {
		d->state = ST_CR;
		return;
	}
	if (c == '\0') {
		d->nul = true;
		d->refuse = true;
	}
	emit(d, c, 0, out, o);
}

size_t
smtp_data_decode(struct smtp_data *d, const char *in, size_t n, char *out, size_t *outlen,
    bool *done)
{
	size_t i = 0, o = 0;

	*done = false;
	while (i < n) {
		char c = in[i++];

		switch (d->state) {
		case ST_TEXT:
			text_byte(d, c, out, &o);
			/* fast path: the rest of an ordinary run */
			if (d->state == ST_TEXT && !d->in_headers)
				i += plain_run(d, in + i, n - i, out, &o);
			while (d->state == ST_TEXT && i < n && plain((unsigned char)in[i]))
				emit(d, in[i++], 0, out, &o);
			break;
		case ST_CR:
			if (c == '\n') {
				emit(d, '\n', 1, out, &o);
				d->state = d->dot_mode ? ST_BOL : ST_TEXT;
			} else if (c == '\r') {
				d->bad_cr = d->refuse = true;     /* the first CR was bare */
			} else {
				d->bad_cr = d->refuse = true;
				d->state = ST_TEXT;
				text_byte(d, c, out, &o);
			}
			break;
		case ST_BOL:
			if (c == '.') {
				d->state = ST_DOT;
			} else {
				d->state = ST_TEXT;
				text_byte(d, c, out, &o);
			}
			break;
		case ST_DOT:
			if (c == '\r') {
				d->state = ST_DOT_CR;
			} else if (c == '\n') {
				/* ".<LF>": no other characters on the line; keep the dot */
				emit(d, '.', 0, out, &o);
				d->state = ST_TEXT;
				text_byte(d, c, out, &o);
			} else {
				/* 4.5.2: the first of a leading dot is removed */
				d->state = ST_TEXT;
				text_byte(d, c, out, &o);
			}
			break;
		case ST_DOT_CR:
			if (c == '\n') {
				*done = true;
				*outlen = o;
				return i;
			}
			/* ".<CR>" then something else: a bare CR (and the dot was
			 * a stuffing dot followed by content) */
			d->bad_cr = d->refuse = true;
			d->state = ST_TEXT;
			if (c == '\r')
				d->state = ST_CR;
			else
				text_byte(d, c, out, &o);
			break;
		}
	}
	*outlen = o;
	return i;
}

void
smtp_data_finish(struct smtp_data *d)
{
	if (d->state == ST_CR)
		d->bad_cr = d->refuse = true;
	d->state = ST_TEXT;
}
