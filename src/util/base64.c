/* base64.c - strict base64 encoding and decoding (RFC 4648 section 4).
 * Owns: the alphabet, padding and canonical-form checks.
 * Leaves: what the bytes mean (auth/sasl.c), line lengths (the caller).
 * Invariant: decode(encode(x)) == x, and decode accepts only what encode
 * could have produced, so every byte string has exactly one spelling. */
#include "util/base64.h"

#include <stdint.h>

#include "util/log.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Characters encoded per append: whole groups, so chunks join seamlessly. */
#define CHUNK_GROUPS 16

/* The 6-bit value of an alphabet character; -1 for anything else, '=' included. */
static int
value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Encode n (1 to 3) bytes as one 4-character group, padded with '='. */
static void
encode_group(const unsigned char *p, size_t n, char *q)
{
	uint32_t v = (uint32_t)p[0] << 16;

	if (n > 1)
		v |= (uint32_t)p[1] << 8;
	if (n > 2)
		v |= p[2];
	q[0] = alphabet[(v >> 18) & 63];
	q[1] = alphabet[(v >> 12) & 63];
	q[2] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
	q[3] = n > 2 ? alphabet[v & 63] : '=';
}

int
base64_encode(const void *in, size_t n, struct buf *out)
{
	const unsigned char *p = in;
	char chunk[CHUNK_GROUPS * 4];
	size_t i = 0;

	/* (n + 2) / 3 * 4 must not overflow before it is compared with max. */
	if (n > SIZE_MAX / 4 * 3 - 3 || BASE64_ENCODED_LEN(n) > out->max - out->len)
		return -1;
	while (i < n) {
		size_t used = 0;

		for (; i < n && used < sizeof chunk; i += 3, used += 4)
			encode_group(p + i, n - i < 3 ? n - i : 3, chunk + used);
		if (buf_append(out, chunk, used) < 0)
			PANIC("base64: append refused after the size check");
	}
	return 0;
}

/* Decode one 4-character group of which the first k (2 to 4) are data and the
 * rest padding, writing k - 1 bytes. Bits that fall beyond the last byte must
 * be zero (RFC 4648 3.5), or the same bytes would have several spellings. */
static int
decode_group(const char *p, size_t k, unsigned char *o)
{
	uint32_t v = 0;

	for (size_t j = 0; j < 4; j++) {
		int d = j < k ? value(p[j]) : 0;

		if (d < 0)
			return -1;
		v = v << 6 | (uint32_t)d;
	}
	if (k < 4 && (v & ((UINT32_C(1) << (8 * (4 - k))) - 1)) != 0)
		return -1;
	o[0] = (unsigned char)(v >> 16);
	if (k > 2)
		o[1] = (unsigned char)(v >> 8);
	if (k > 3)
		o[2] = (unsigned char)v;
	return 0;
}

/* Number of '=' closing the input: 0, 1 or 2 (more is caught by decode_group). */
static size_t
padding(struct span in)
{
	if (in.len == 0 || in.p[in.len - 1] != '=')
		return 0;
	return in.p[in.len - 2] == '=' ? 2 : 1;
}

int
base64_decode(struct span in, void *out, size_t outcap, size_t *outlen)
{
	unsigned char *o = out;
	size_t pad, n = 0;

	if (in.len % 4 != 0)
		return -1;
	pad = padding(in);
	if (in.len / 4 * 3 - pad > outcap)
		return -1;
	for (size_t i = 0; i < in.len; i += 4) {
		/* Padding may close only the last group. */
		size_t k = i + 4 == in.len ? 4 - pad : 4;

		if (decode_group(in.p + i, k, o + n) < 0)
			return -1;
		n += k - 1;
	}
	*outlen = n;
	return 0;
}
