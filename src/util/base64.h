/* base64.h - strict base64 (RFC 4648 section 4), the encoding of SASL data.
 * Decoding accepts exactly one spelling of every byte string: padding is
 * required, whitespace and characters outside the alphabet are refused, and
 * so are non-zero bits after the last byte (RFC 4648 3.5). */
#ifndef POSTINO_UTIL_BASE64_H
#define POSTINO_UTIL_BASE64_H

#include <stddef.h>

#include "util/buf.h"
#include "util/span.h"

/* Encoded size of n bytes: 4 characters per started 3-byte group. */
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
/* Largest decoded size of n characters (the exact size is smaller by the padding). */
#define BASE64_DECODED_MAX(n) (((n) / 4) * 3)

/* Append the encoding of in[0..n) to out (no line breaks, no NUL counted).
 * -1 when out would grow past its max; out is then unchanged. */
int base64_encode(const void *in, size_t n, struct buf *out);

/* Decode in into out (capacity outcap) and set *outlen. -1 on any invalid
 * input or when the decoded bytes do not fit; *outlen is then unchanged and
 * out may have been partly written. Empty input decodes to 0 bytes. */
int base64_decode(struct span in, void *out, size_t outcap, size_t *outlen);

#endif
