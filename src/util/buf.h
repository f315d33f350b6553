/* buf.h - bounded, growable byte buffers.
 * A buf never grows past its max: an append that would is refused with -1
 * and leaves the buffer unchanged. Nothing is silently truncated. The data is
 * always followed by a NUL byte (not counted in len) so it can be logged. */
#ifndef POSTINO_UTIL_BUF_H
#define POSTINO_UTIL_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap, max;
};

/* Embed: no allocation until the first append. */
void buf_init(struct buf *b, size_t max);
/* Free the storage; the buf may be reused after buf_init. */
void buf_reset(struct buf *b);
/* Drop the contents, keep the storage. */
static inline void
buf_clear(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remove the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Release storage beyond what the contents need (idle sessions stay small). */
void buf_shrink(struct buf *b);

#endif
