/* data.h - the message content decoder for DATA and BDAT.
 * Owns: finding the end of DATA (only CRLF "." CRLF, RFC 5321 4.1.1.4),
 * dot-unstuffing (4.5.2), CRLF -> LF, detecting what may not be stored
 * (bare CR, NUL: SPEC.md, no smuggling), counting the size as sent, and the
 * header-section bounds. No I/O, no allocation.
 * A bare LF is a line end for storage (kept as LF) but never for the end of
 * DATA nor for dot-unstuffing: only a line that follows CRLF can be stuffed. */
#ifndef POSTINO_SMTP_DATA_H
#define POSTINO_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smtp_data_status {
	SMTP_DATA_OK,
	SMTP_DATA_BAD_BYTES,     /* bare CR or NUL: 550 5.6.0 */
	SMTP_DATA_TOO_BIG,       /* over max_message_size: 552 5.3.4 */
	SMTP_DATA_HEADERS_TOO_BIG, /* header section over its bounds: 552 5.3.4 */
};

struct smtp_data {
	int state;
	bool dot_mode;           /* DATA (dot-stuffed, ends on CRLF.CRLF) vs BDAT (raw) */
	bool bad_cr, nul;
	bool refuse;             /* the message cannot be accepted: stop output */
	bool in_headers, at_line_start;
	uint32_t hdr_lines;
	uint64_t hdr_bytes;
	uint64_t size;           /* as sent after unstuffing: CRLF counts two */
	uint64_t max_size;
};

void smtp_data_init(struct smtp_data *d, bool dot_mode, uint64_t max_size);
/* Decode up to n input bytes into out, which needs room for n + 1 bytes (a
 * leading dot held back from an earlier call may come out with this one).
 * Returns the bytes consumed; *outlen gets the bytes written. In dot
 * mode, *done becomes true when the terminating CRLF.CRLF was consumed (the
 * terminator itself is not output and consumption stops right after it).
 * Once the message can no longer be accepted nothing more is output, but
 * input is still consumed so the end can be found. */
size_t smtp_data_decode(struct smtp_data *d, const char *in, size_t n, char *out, size_t *outlen,
    bool *done);
/* BDAT LAST: a CR still waiting for its LF is a bare CR. */
void smtp_data_finish(struct smtp_data *d);
enum smtp_data_status smtp_data_status(const struct smtp_data *d);

#endif
