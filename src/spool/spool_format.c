/* spool_format.c - encoding and strict parsing of spool file parts.
 * Owns: the header layout, the envelope text, the update records, the value
 * escaping and the checksums that tie them together (see spool_format.h).
 * Leaves: files, fsync and renames (spool.c), what to do with a bad file
 * (spool_recover.c).
 * Invariant: put then get gives back every field exactly; get accepts only
 * what put can produce (one spelling per value), so a damaged file is never
 * half-understood. */
#include "spool/spool_format.h"

#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "spool/crc32c.h"
#include "util/span.h"
#include "util/xalloc.h"

/*
 * The header is one line of exactly 64 bytes, readable with head -c 64:
 *   "postino-v1 CCCCCCCCCCCCCCCC EEEEEEEE XXXXXXXX YYYYYYYY HHHHHHHH\n"
 * C content length, E envelope length, X content CRC, Y envelope CRC, H CRC
 * of the 55 bytes before it; all upper-case hexadecimal, fixed width.
 */
#define HDR_MAGIC "postino-v1 "
#define HDR_MAGIC_LEN 11
#define HDR_CLEN_AT 11
#define HDR_ELEN_AT 28
#define HDR_CCRC_AT 37
#define HDR_ECRC_AT 46
#define HDR_HCRC_AT 55

static const char hexdigits[] = "0123456789ABCDEF";

static void
put_hex(char *dst, uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		dst[i] = hexdigits[v & 15];
		v >>= 4;
	}
}

/* Upper-case hex only: one spelling per value. */
static int
get_hex(const char *p, int digits, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < digits; i++) {
		char c = p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint64_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

void
spool_format_hdr_put(const struct spool_format_hdr *h, char out[SPOOL_FORMAT_HDR_LEN])
{
	memset(out, ' ', SPOOL_FORMAT_HDR_LEN);
	memcpy(out, HDR_MAGIC, HDR_MAGIC_LEN);
	put_hex(out + HDR_CLEN_AT, h->content_len, 16);
	put_hex(out + HDR_ELEN_AT, h->env_len, 8);
	put_hex(out + HDR_CCRC_AT, h->content_crc, 8);
	put_hex(out + HDR_ECRC_AT, h->env_crc, 8);
	put_hex(out + HDR_HCRC_AT, crc32c(0, out, HDR_HCRC_AT), 8);
	out[SPOOL_FORMAT_HDR_LEN - 1] = '\n';
}

int
spool_format_hdr_get(const char in[SPOOL_FORMAT_HDR_LEN], struct spool_format_hdr *h)
{
	static const int spaces[] = { HDR_ELEN_AT - 1, HDR_CCRC_AT - 1, HDR_ECRC_AT - 1,
		HDR_HCRC_AT - 1 };
	uint64_t clen, elen, ccrc, ecrc, hcrc;

	if (memcmp(in, HDR_MAGIC, HDR_MAGIC_LEN) != 0 || in[SPOOL_FORMAT_HDR_LEN - 1] != '\n')
		return -1;
	for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
		if (in[spaces[i]] != ' ')
			return -1;
	if (get_hex(in + HDR_CLEN_AT, 16, &clen) == -1 || get_hex(in + HDR_ELEN_AT, 8, &elen) == -1 ||
	    get_hex(in + HDR_CCRC_AT, 8, &ccrc) == -1 || get_hex(in + HDR_ECRC_AT, 8, &ecrc) == -1 ||
	    get_hex(in + HDR_HCRC_AT, 8, &hcrc) == -1)
		return -1;
	if (hcrc != crc32c(0, in, HDR_HCRC_AT))
		return -1;
	h->content_len = clen;
	h->env_len = elen;
	h->content_crc = (uint32_t)ccrc;
	h->env_crc = (uint32_t)ecrc;
	return 0;
}

/*
 * Values are written with every byte outside '!'..'~', and '%' itself, as
 * %HH (upper-case hex). So a value never holds a space, '=' is harmless after
 * the key, and a line is always exactly "key=value\n".
 */
static bool
is_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%';
}

static int
put_escaped(struct buf *out, const char *s)
{
	const char *run = s;

	for (;; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[3];

		if (c != '\0' && is_plain(c))
			continue;
		if (buf_append(out, run, (size_t)(s - run)) == -1)
			return -1;
		if (c == '\0')
			return 0;
		esc[0] = '%';
		esc[1] = hexdigits[c >> 4];
		esc[2] = hexdigits[c & 15];
		if (buf_append(out, esc, 3) == -1)
			return -1;
		run = s + 1;
	}
}

/* Decode an escaped value into a new string; NULL on a raw byte outside the
 * plain set, a bad or lower-case %HH, %00, or a %HH that needed no escape. */
static char *
get_escaped(struct span v)
{
	char *s = xmalloc(v.len + 1);
	size_t o = 0;

	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		uint64_t x;

		if (c != '%') {
			if (!is_plain(c))
				goto bad;
			s[o++] = (char)c;
			continue;
		}
		if (v.len - i < 3 || get_hex(v.p + i + 1, 2, &x) == -1 || x == 0 ||
		    is_plain((unsigned char)x))
			goto bad;
		s[o++] = (char)x;
		i += 2;
	}
	s[o] = '\0';
	return s;
bad:
	free(s);
	return NULL;
}

/* A decimal integer in [min, max], spelled canonically: no '+', no leading
 * zeros, no "-0". */
static int
get_ll(struct span v, long long min, long long max, long long *out)
{
	bool neg = v.len > 0 && v.p[0] == '-';
	struct span mag = neg ? span_make(v.p + 1, v.len - 1) : v;
	unsigned long long lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	unsigned long long u;
	long long x;

	if (mag.len == 0 || (mag.len > 1 && mag.p[0] == '0') || span_to_u64(mag, lim, &u) == -1)
		return -1;
	if (neg && u == 0)
		return -1;
	if (neg)
		x = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)u;
	else
		x = (long long)u;
	if (x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

/*
 * The envelope fields, in the order they are written. A string field whose
 * value is NULL is left out (so NULL and "" stay apart); a flag is written
 * only when true, as "key=1" (so files from before the flag existed, which
 * lack it, read as false, and "key=0" is refused: one spelling per value);
 * every other numeric field is required. The parser walks the same table, so
 * order, duplicates and missing fields are all checked in one place.
 */
enum field_kind { F_STR, F_BOOL, F_INT, F_UINT, F_I64, F_STATE, F_FLAG };

struct field {
	const char *key;
	enum field_kind kind;
	size_t off;
};

#define ENV_FIELD(k, kind, m) { k, kind, offsetof(struct spool_envelope, m) }
#define RCPT_FIELD(k, kind, m) { k, kind, offsetof(struct spool_rcpt, m) }

static const struct field env_fields[] = {
	ENV_FIELD("sender", F_STR, sender),
	ENV_FIELD("envid", F_STR, envid),
	ENV_FIELD("ret", F_INT, ret),
	ENV_FIELD("body", F_INT, body),
	ENV_FIELD("smtputf8", F_BOOL, smtputf8),
	ENV_FIELD("client", F_STR, client_addr),
	ENV_FIELD("helo", F_STR, helo),
	ENV_FIELD("protocol", F_STR, protocol),
	ENV_FIELD("auth", F_STR, auth_user),
	ENV_FIELD("received", F_I64, received),
};

static const struct field rcpt_fields[] = {
	RCPT_FIELD("address", F_STR, address),
	RCPT_FIELD("orig", F_STR, orig),
	RCPT_FIELD("orcpt", F_STR, orcpt),
	RCPT_FIELD("notify", F_UINT, notify),
	RCPT_FIELD("local", F_BOOL, local),
	RCPT_FIELD("state", F_STATE, state),
	RCPT_FIELD("attempts", F_UINT, attempts),
	RCPT_FIELD("next", F_I64, next_attempt),
	RCPT_FIELD("reply", F_STR, last_reply),
	RCPT_FIELD("delaywarned", F_FLAG, delay_warned),   /* a flag: older files lack it */
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

static long long
num_get(const struct field *f, const void *obj)
{
	const char *base = (const char *)obj + f->off;

	switch (f->kind) {
	case F_BOOL:
	case F_FLAG:
		return *(const bool *)(const void *)base;
	case F_INT:
		return *(const int *)(const void *)base;
	case F_UINT:
		return *(const unsigned *)(const void *)base;
	case F_I64:
		return *(const int64_t *)(const void *)base;
	case F_STATE:
		return *(const enum spool_rcpt_state *)(const void *)base;
	case F_STR:
		break;
	}
	return 0;
}

/* Store v into a numeric field; -1 when v is out of the field's range. */
static int
num_set(const struct field *f, void *obj, struct span v)
{
	static const long long lo[] = { [F_BOOL] = 0, [F_INT] = INT_MIN, [F_UINT] = 0,
		[F_I64] = INT64_MIN, [F_STATE] = SPOOL_RCPT_PENDING, [F_FLAG] = 1 };
	static const long long hi[] = { [F_BOOL] = 1, [F_INT] = INT_MAX, [F_UINT] = UINT_MAX,
		[F_I64] = INT64_MAX, [F_STATE] = SPOOL_RCPT_FAILED, [F_FLAG] = 1 };
	char *base = (char *)obj + f->off;
	long long x;

	if (get_ll(v, lo[f->kind], hi[f->kind], &x) == -1)
		return -1;
	if (f->kind == F_BOOL || f->kind == F_FLAG)
		*(bool *)(void *)base = x != 0;
	else if (f->kind == F_INT)
		*(int *)(void *)base = (int)x;
	else if (f->kind == F_UINT)
		*(unsigned *)(void *)base = (unsigned)x;
	else if (f->kind == F_I64)
		*(int64_t *)(void *)base = (int64_t)x;
	else
		*(enum spool_rcpt_state *)(void *)base = (enum spool_rcpt_state)x;
	return 0;
}

/* A field that may be absent: a NULL string, a false flag. */
static bool
is_optional(const struct field *f)
{
	return f->kind == F_STR || f->kind == F_FLAG;
}

static int
put_fields(const struct field *t, size_t nt, const void *obj, struct buf *out)
{
	for (size_t i = 0; i < nt; i++) {
		const char *s;

		if (t[i].kind == F_FLAG && num_get(&t[i], obj) == 0)
			continue;
		if (t[i].kind != F_STR) {
			if (buf_printf(out, "%s=%lld\n", t[i].key, num_get(&t[i], obj)) == -1)
				return -1;
			continue;
		}
		s = *(char *const *)(const void *)((const char *)obj + t[i].off);
		if (s == NULL)
			continue;
		if (buf_printf(out, "%s=", t[i].key) == -1 || put_escaped(out, s) == -1 ||
		    buf_append(out, "\n", 1) == -1)
			return -1;
	}
	return 0;
}

int
spool_format_env_put(const struct spool_envelope *env, struct buf *out)
{
	if (buf_printf(out, "version=1\nid=%s\n", env->id) == -1 ||
	    put_fields(env_fields, NFIELDS(env_fields), env, out) == -1)
		return -1;
	for (size_t i = 0; i < env->nrcpts; i++)
		if (buf_printf(out, "rcpt=%zu\n", i) == -1 ||
		    put_fields(rcpt_fields, NFIELDS(rcpt_fields), &env->rcpts[i], out) == -1)
			return -1;
	return 0;
}

struct line {
	struct span key, val;
};

/* Next "key=value\n" line: 1, 0 at the end, -1 when malformed (no newline,
 * no '=', or a key outside [a-z0-9]). */
static int
read_line(const char **cur, const char *end, struct line *l)
{
	const char *p = *cur, *nl, *eq;

	if (p == end)
		return 0;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return -1;
	eq = memchr(p, '=', (size_t)(nl - p));
	if (eq == NULL || eq == p)
		return -1;
	for (const char *k = p; k < eq; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9')))
			return -1;
	l->key = span_make(p, (size_t)(eq - p));
	l->val = span_make(eq + 1, (size_t)(nl - eq - 1));
	*cur = nl + 1;
	return 1;
}

static bool
key_is(struct span key, const char *s)
{
	return span_eq(key, span_cstr(s));
}

/* Set the field named by l, which must come at or after table position *fi
 * with only optional fields (strings, flags) skipped on the way. */
static int
set_field(const struct field *t, size_t nt, size_t *fi, void *obj, const struct line *l,
    const char **why)
{
	char **sp;

	while (*fi < nt && !key_is(l->key, t[*fi].key)) {
		if (!is_optional(&t[*fi])) {
			*why = "envelope: a required field is missing";
			return -1;
		}
		(*fi)++;
	}
	if (*fi == nt) {
		*why = "envelope: unknown, repeated or misplaced field";
		return -1;
	}
	if (t[*fi].kind != F_STR) {
		if (num_set(&t[*fi], obj, l->val) == -1) {
			*why = "envelope: bad number";
			return -1;
		}
	} else {
		sp = (char **)(void *)((char *)obj + t[*fi].off);
		if ((*sp = get_escaped(l->val)) == NULL) {
			*why = "envelope: bad value";
			return -1;
		}
	}
	(*fi)++;
	return 0;
}

/* The rest of the table from fi on may be absent only if all optional. */
static int
finish_block(const struct field *t, size_t nt, size_t fi, const char **why)
{
	for (; fi < nt; fi++)
		if (!is_optional(&t[fi])) {
			*why = "envelope: a required field is missing";
			return -1;
		}
	return 0;
}

/* Open recipient block "rcpt=N": N must be the next index. */
static int
start_rcpt(struct spool_envelope *env, size_t *cap, struct span val, const char **why)
{
	long long idx;

	if (get_ll(val, 0, LLONG_MAX, &idx) == -1 || (unsigned long long)idx != env->nrcpts) {
		*why = "envelope: recipients out of order";
		return -1;
	}
	if (env->nrcpts == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		env->rcpts = xreallocarray(env->rcpts, *cap, sizeof env->rcpts[0]);
	}
	memset(&env->rcpts[env->nrcpts], 0, sizeof env->rcpts[0]);
	env->nrcpts++;
	return 0;
}

/* "version=1" then "id=<ID>". */
static int
get_preamble(const char **cur, const char *end, struct spool_envelope *env, const char **why)
{
	struct line l;

	if (read_line(cur, end, &l) != 1 || !key_is(l.key, "version") ||
	    !span_eq(l.val, SPAN_LIT("1"))) {
		*why = "envelope: unknown version";
		return -1;
	}
	if (read_line(cur, end, &l) != 1 || !key_is(l.key, "id") || l.val.len != SPOOL_ID_LEN) {
		*why = "envelope: bad id";
		return -1;
	}
	memcpy(env->id, l.val.p, SPOOL_ID_LEN);
	env->id[SPOOL_ID_LEN] = '\0';
	if (!spool_id_is_valid(env->id)) {
		*why = "envelope: bad id";
		return -1;
	}
	return 0;
}

int
spool_format_env_get(const char *p, size_t n, struct spool_envelope **out, const char **why)
{
	struct spool_envelope *env = xcalloc(1, sizeof *env);
	const char *cur = p, *end = p + n;
	const struct field *t = env_fields;
	size_t nt = NFIELDS(env_fields), fi = 0, cap = 0;
	void *obj = env;
	struct line l;
	int r;

	if (get_preamble(&cur, end, env, why) == -1)
		goto bad;
	while ((r = read_line(&cur, end, &l)) == 1) {
		if (!key_is(l.key, "rcpt")) {
			if (set_field(t, nt, &fi, obj, &l, why) == -1)
				goto bad;
			continue;
		}
		if (finish_block(t, nt, fi, why) == -1 || start_rcpt(env, &cap, l.val, why) == -1)
			goto bad;
		t = rcpt_fields;
		nt = NFIELDS(rcpt_fields);
		fi = 0;
		obj = &env->rcpts[env->nrcpts - 1];
	}
	if (r == -1) {
		*why = "envelope: malformed line";
		goto bad;
	}
	if (finish_block(t, nt, fi, why) == -1)
		goto bad;
	if (env->nrcpts == 0) {
		*why = "envelope: no recipients";
		goto bad;
	}
	*out = env;
	return 0;
bad:
	spool_envelope_free(env);
	return -1;
}

/*
 * An update record is one line:
 *   "u IDX STATE ATTEMPTS NEXT REPLY CRC\n"
 * REPLY is "-" for NULL or "=" followed by the escaped text; CRC is the
 * CRC-32C (8 upper-case hex digits) of every byte before the space before it.
 * A recipient whose 'delayed' DSN was sent (delay_warned) is recorded with
 * "w" in place of "u". That tag came after version 1 shipped: older files
 * hold only "u" records, which (as before) mean not warned, so no version
 * bump was needed; only a postino that knows "w" reads a file that has one.
 */
#define REC_CRC_LEN 8
#define REC_TAG "u"
#define REC_TAG_WARNED "w"

int
spool_format_rec_put(const struct spool_envelope *env, size_t idx, struct buf *out)
{
	const struct spool_rcpt *r = &env->rcpts[idx];
	size_t start = out->len;
	char crc[REC_CRC_LEN + 2];

	if (buf_printf(out, "%s %zu %d %u %" PRId64 " ", r->delay_warned ? REC_TAG_WARNED : REC_TAG,
		idx, (int)r->state, r->attempts, r->next_attempt) == -1)
		return -1;
	if (r->last_reply == NULL) {
		if (buf_append(out, "-", 1) == -1)
			return -1;
	} else if (buf_append(out, "=", 1) == -1 || put_escaped(out, r->last_reply) == -1) {
		return -1;
	}
	crc[0] = ' ';
	put_hex(crc + 1, crc32c(0, out->data + start, out->len - start), REC_CRC_LEN);
	crc[REC_CRC_LEN + 1] = '\n';
	return buf_append(out, crc, sizeof crc);
}

/* Split line (without its newline) at spaces into exactly n fields. */
static int
split_fields(struct span line, struct span *f, size_t n)
{
	size_t k = 0, start = 0;

	for (size_t i = 0; i <= line.len; i++) {
		if (i < line.len && line.p[i] != ' ')
			continue;
		if (k == n || i == start)
			return -1;
		f[k++] = span_make(line.p + start, i - start);
		start = i + 1;
	}
	return k == n ? 0 : -1;
}

/* Check one record (len bytes, newline included) and apply it to env. env is
 * changed only when the whole record is good. */
static int
rec_apply(struct spool_envelope *env, const char *p, size_t len)
{
	static const struct field fs = RCPT_FIELD("state", F_STATE, state);
	static const struct field fa = RCPT_FIELD("attempts", F_UINT, attempts);
	static const struct field fn = RCPT_FIELD("next", F_I64, next_attempt);
	struct span f[7];
	struct spool_rcpt tmp = { 0 }, *r;
	long long idx;
	uint64_t crc;
	char *reply = NULL;
	bool warned;

	if (len < REC_CRC_LEN + 2 || split_fields(span_make(p, len - 1), f, 7) == -1)
		return -1;
	warned = span_eq(f[0], SPAN_LIT(REC_TAG_WARNED));
	if ((!warned && !span_eq(f[0], SPAN_LIT(REC_TAG))) || f[6].len != REC_CRC_LEN ||
	    get_hex(f[6].p, REC_CRC_LEN, &crc) == -1 ||
	    crc != crc32c(0, p, len - REC_CRC_LEN - 2))
		return -1;
	if (get_ll(f[1], 0, LLONG_MAX, &idx) == -1 || (unsigned long long)idx >= env->nrcpts ||
	    num_set(&fs, &tmp, f[2]) == -1 || num_set(&fa, &tmp, f[3]) == -1 ||
	    num_set(&fn, &tmp, f[4]) == -1)
		return -1;
	if (!span_eq(f[5], SPAN_LIT("-"))) {
		if (f[5].p[0] != '=' ||
		    (reply = get_escaped(span_make(f[5].p + 1, f[5].len - 1))) == NULL)
			return -1;
	}
	r = &env->rcpts[idx];
	r->state = tmp.state;
	r->attempts = tmp.attempts;
	r->next_attempt = tmp.next_attempt;
	r->delay_warned = warned;
	free(r->last_reply);
	r->last_reply = reply;
	return 0;
}

int
spool_format_recs_apply(struct spool_envelope *env, const char *p, size_t n, size_t *valid,
    const char **why)
{
	size_t off = 0;

	while (off < n) {
		const char *nl = memchr(p + off, '\n', n - off);
		size_t len;

		if (nl == NULL)
			break;  /* torn: the last record never got its newline */
		len = (size_t)(nl - (p + off)) + 1;
		if (rec_apply(env, p + off, len) == -1) {
			if (off + len == n)
				break;  /* torn: the last record is incomplete */
			*why = "bad update record before the last one";
			return -1;
		}
		off += len;
	}
	*valid = off;
	return 0;
}
