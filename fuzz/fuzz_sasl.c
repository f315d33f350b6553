/* fuzz_sasl.c - the SASL server exchanges (auth/sasl.c) and strict base64 (util/base64.c).
 * The first byte picks the mechanism, whether the first piece is an initial
 * response, whether pieces are sent as they are or base64-encoded first (to
 * reach the message checks), and how the rest is cut into pieces: at LF, or
 * each led by a length byte. Checks: challenges are the documented ones; DONE
 * means non-empty, NUL-free, bounded credentials that encode back to exactly
 * the lines sent; PLAIN fields are UTF-8; CANCELLED follows only a "*" line;
 * and base64 round-trips: encode then decode gives the data back, and any
 * input that decodes re-encodes to itself (one spelling per byte string). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "util/base64.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODE_LOGIN 0x01   /* else PLAIN */
#define MODE_INITIAL 0x02 /* the first piece is the AUTH line's initial response */
#define MODE_ENCODE 0x04  /* base64-encode each piece (except "*") before sending */
#define MODE_LENGTH 0x08  /* pieces are led by a length byte, else cut at LF */
#define MODE_LOWER 0x10   /* spell the mechanism in lower case */

/* Lines longer than this are cut off by the SMTP core (RFC 4954 4). */
#define LINE_MAX_OCTETS 12288

/* Next piece of *in, or false when none is left. */
static bool
next_piece(struct span *in, unsigned mode, struct span *piece)
{
	size_t n;

	if (in->len == 0)
		return false;
	if (mode & MODE_LENGTH) {
		n = (unsigned char)in->p[0];
		in->p++;
		in->len--;
		n = n < in->len ? n : in->len;
		*piece = span_make(in->p, n);
		in->p += n;
		in->len -= n;
		return true;
	}
	for (n = 0; n < in->len && in->p[n] != '\n'; n++)
		;
	*piece = span_make(in->p, n);
	in->p += n < in->len ? n + 1 : n;
	in->len -= n < in->len ? n + 1 : n;
	return true;
}

/* The line the client sends for a piece: as it is, or its base64. */
static struct span
piece_line(struct span piece, unsigned mode, struct buf *line)
{
	buf_clear(line);
	if (!(mode & MODE_ENCODE) || (piece.len == 1 && piece.p[0] == '*'))
		return piece;
	if (base64_encode(piece.p, piece.len, line) < 0)
		abort();
	return span_make(line->data ? line->data : "", line->len);
}

/* Independent UTF-8 check by decoding code points (RFC 3629 3, 4). */
static bool
utf8_ok(const char *str)
{
	const unsigned char *p = (const unsigned char *)str;

	while (*p) {
		unsigned long cp;
		size_t n = *p < 0x80 ? 0 : *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 9;
		static const unsigned long min[] = { 0, 0x80, 0x800, 0x10000 };

		if (n == 9 || *p >= 0xf8)
			return false;
		cp = n == 0 ? *p : (unsigned long)(*p & (0x3f >> n));
		for (size_t k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[k] & 0x3f);
		}
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* base64 of text equals line: a credential is exactly what was sent. */
static void
check_encodes_to(const void *text, size_t n, struct span line)
{
	struct buf b;

	buf_init(&b, BASE64_ENCODED_LEN(n));
	if (base64_encode(text, n, &b) < 0 ||
	    !span_eq(span_make(b.data ? b.data : "", b.len), line))
		abort();
	buf_reset(&b);
}

/* The invariants of SASL_DONE; sent holds the lines that carried data. */
static void
check_done(const struct sasl *s, unsigned mode, const struct span *sent, size_t nsent)
{
	const char *zid = sasl_authzid(s), *cid = sasl_authcid(s), *pw = sasl_password(s);
	size_t zl = strlen(zid), cl = strlen(cid), pl = strlen(pw);

	if (cl == 0 || pl == 0 || zl > SASL_FIELD_MAX || cl > SASL_FIELD_MAX || pl > SASL_FIELD_MAX)
		abort();
	if (mode & MODE_LOGIN) {
		if (nsent != 2 || zl != 0)
			abort();
		check_encodes_to(cid, cl, sent[0]);
		check_encodes_to(pw, pl, sent[1]);
	} else {
		char msg[3 * SASL_FIELD_MAX + 2];

		if (nsent != 1 || !utf8_ok(zid) || !utf8_ok(cid) || !utf8_ok(pw))
			abort();
		memcpy(msg, zid, zl + 1);
		memcpy(msg + zl + 1, cid, cl + 1);
		memcpy(msg + zl + 1 + cl + 1, pw, pl);
		check_encodes_to(msg, zl + 1 + cl + 1 + pl, sent[0]);
	}
}

/* The challenge after a call: empty unless CONTINUE, then the one the state calls for. */
static void
check_challenge(enum sasl_status st, const struct buf *c, unsigned mode, size_t nsent)
{
	const char *want = "";

	if (c->data == NULL)
		abort();
	if (st == SASL_CONTINUE && (mode & MODE_LOGIN))
		want = nsent == 0 ? "VXNlcm5hbWU6" : "UGFzc3dvcmQ6";
	if (strcmp(c->data, want) != 0 || c->len > SASL_CHALLENGE_MAX)
		abort();
}

/* Keep a copy of a line that carried data: the first two, or the first and the latest. */
static void
keep_line(struct buf *kept, size_t *nkept, struct span l)
{
	size_t i = *nkept < 2 ? (*nkept)++ : 1;

	buf_clear(&kept[i]);
	if (buf_append(&kept[i], l.p, l.len) < 0)
		abort();
}

/* Drive one exchange over the pieces of in. */
static void
exchange(unsigned mode, struct span in)
{
	static const char *const names[] = { "PLAIN", "LOGIN", "plain", "login" };
	size_t name = (mode & MODE_LOGIN) + (mode & MODE_LOWER ? 2 : 0);
	struct sasl *s = sasl_new(span_cstr(names[name]));
	struct buf line, challenge, kept[2];
	struct span piece, l = { "", 0 }, sent[2];
	size_t nsent = 0;
	enum sasl_status st;

	if (s == NULL)
		abort();
	buf_init(&line, LINE_MAX_OCTETS);
	buf_init(&challenge, SASL_CHALLENGE_MAX);
	buf_init(&kept[0], LINE_MAX_OCTETS);
	buf_init(&kept[1], LINE_MAX_OCTETS);
	if ((mode & MODE_INITIAL) && next_piece(&in, mode, &piece))
		l = piece_line(piece, mode, &line);
	if (l.len > LINE_MAX_OCTETS)
		l.len = 0;
	if (l.len > 0)
		keep_line(kept, &nsent, l);
	st = sasl_start(s, l, &challenge);
	check_challenge(st, &challenge, mode, nsent);
	while (st == SASL_CONTINUE && next_piece(&in, mode, &piece)) {
		l = piece_line(piece, mode, &line);
		if (l.len > LINE_MAX_OCTETS)
			break;
		st = sasl_step(s, l, &challenge);
		if (st == SASL_CANCELLED && !(l.len == 1 && l.p[0] == '*'))
			abort();
		keep_line(kept, &nsent, l);
		check_challenge(st, &challenge, mode, nsent);
	}
	for (size_t i = 0; i < nsent; i++)
		sent[i] = span_make(kept[i].data ? kept[i].data : "", kept[i].len);
	if (st == SASL_DONE)
		check_done(s, mode, sent, nsent);
	buf_reset(&line);
	buf_reset(&challenge);
	buf_reset(&kept[0]);
	buf_reset(&kept[1]);
	sasl_free(s);
}

/* encode -> decode gives data back; decode -> encode gives the text back. */
static void
base64_roundtrips(struct span in)
{
	struct buf b;
	char *out = malloc(in.len + 1);
	size_t n = 0;

	if (out == NULL)
		return;
	buf_init(&b, BASE64_ENCODED_LEN(in.len));
	if (base64_encode(in.p, in.len, &b) < 0 || b.len != BASE64_ENCODED_LEN(in.len))
		abort();
	if (base64_decode(span_make(b.data ? b.data : "", b.len), out, in.len, &n) < 0 ||
	    n != in.len || (n > 0 && memcmp(out, in.p, n) != 0))
		abort();
	if (in.len > 0 && base64_decode(span_make(b.data, b.len), out, in.len - 1, &n) == 0)
		abort();
	if (base64_decode(in, out, in.len, &n) == 0) {
		buf_clear(&b);
		if (base64_encode(out, n, &b) < 0 ||
		    !span_eq(span_make(b.data ? b.data : "", b.len), in))
			abort();
	}
	buf_reset(&b);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span rest;

	if (size == 0)
		return 0;
	rest = span_make((const char *)data + 1, size - 1);
	exchange(data[0], rest);
	base64_roundtrips(rest);
	return 0;
}
