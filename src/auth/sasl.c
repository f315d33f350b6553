/* sasl.c - the server side of the SASL exchanges of SMTP AUTH (RFC 4954).
 * Owns: the PLAIN (RFC 4616) and LOGIN state machines, decoding and checking
 * their messages, and the credentials until sasl_free, which wipes them.
 * Leaves: lines, replies and logging to the SMTP owner; checking the password
 * against the users file to auth/mailboxes.c.
 * Invariant: in state DONE the authcid and password are 1 to SASL_FIELD_MAX
 * octets without NUL; in any other state the fields hold no credential bytes
 * from a failed or cancelled exchange. */
#include "auth/sasl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/log.h"
#include "util/xalloc.h"

enum sasl_mech { SASL_MECH_PLAIN, SASL_MECH_LOGIN };

enum sasl_state {
	SASL_STATE_NEW,        /* before sasl_start */
	SASL_STATE_PLAIN,      /* PLAIN: waiting for the message */
	SASL_STATE_LOGIN_USER, /* LOGIN: waiting for the user name */
	SASL_STATE_LOGIN_PASS, /* LOGIN: waiting for the password */
	SASL_STATE_DONE,       /* credentials complete */
	SASL_STATE_FAILED,     /* BAD or CANCELLED: nothing more to read */
};

struct sasl {
	enum sasl_mech mech;
	enum sasl_state state;
	char authzid[SASL_FIELD_MAX + 1];
	char authcid[SASL_FIELD_MAX + 1];
	char password[SASL_FIELD_MAX + 1];
};

/* RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
#define PLAIN_MESSAGE_MAX (3 * SASL_FIELD_MAX + 2)

static const struct {
	const char *name;
	enum sasl_mech mech;
} mechanisms[] = {
	{ "PLAIN", SASL_MECH_PLAIN },
	{ "LOGIN", SASL_MECH_LOGIN },
};

struct sasl *
sasl_new(struct span mechanism)
{
	for (size_t i = 0; i < sizeof mechanisms / sizeof mechanisms[0]; i++) {
		if (span_eq_cstr_nocase(mechanism, mechanisms[i].name)) {
			struct sasl *s = xcalloc(1, sizeof *s);

			s->mech = mechanisms[i].mech;
			s->state = SASL_STATE_NEW;
			return s;
		}
	}
	return NULL;
}

void
sasl_free(struct sasl *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, sizeof *s);
	free(s);
}

/* Bytes in a sequence led by c beyond the first, and the range of the second
 * byte (RFC 3629 4: this excludes overlong forms, surrogates and code points
 * past U+10FFFF); -1 for a byte that cannot lead. */
static int
utf8_tail(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c >= 0xe0 && c <= 0xef) {
		*lo = c == 0xe0 ? 0xa0 : 0x80;
		*hi = c == 0xed ? 0x9f : 0xbf;
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*lo = c == 0xf0 ? 0x90 : 0x80;
		*hi = c == 0xf4 ? 0x8f : 0xbf;
		return 3;
	}
	return -1;
}

/* True when v is well-formed UTF-8 (ASCII included). */
static bool
utf8_is_valid(struct span v)
{
	const unsigned char *p = (const unsigned char *)v.p;
	size_t i = 0;

	while (i < v.len) {
		unsigned char lo, hi;
		int n;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_tail(p[i], &lo, &hi);
		if (n < 0 || v.len - i - 1 < (size_t)n || p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (int k = 2; k <= n; k++)
			if ((p[i + (size_t)k] & 0xc0) != 0x80)
				return false;
		i += (size_t)n + 1;
	}
	return true;
}

/* The one checked copy into a credential field: at most SASL_FIELD_MAX
 * octets, no NUL, and not empty unless may_be_empty. */
static int
field_set(char *dst, struct span v, bool may_be_empty)
{
	if ((v.len == 0 && !may_be_empty) || v.len > SASL_FIELD_MAX)
		return -1;
	if (v.len > 0 && memchr(v.p, '\0', v.len) != NULL)
		return -1;
	if (v.len > 0)
		memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return 0;
}

/* Cut *rest at its first NUL: what precedes goes to *field, *rest keeps what follows. */
static int
cut_at_nul(struct span *rest, struct span *field)
{
	const char *nul = rest->len > 0 ? memchr(rest->p, '\0', rest->len) : NULL;

	if (nul == NULL)
		return -1;
	*field = span_make(rest->p, (size_t)(nul - rest->p));
	*rest = span_make(nul + 1, rest->len - field->len - 1);
	return 0;
}

/* Split a decoded PLAIN message (RFC 4616 2) into the three fields. A NUL
 * in the password is an extra field: refused, as are empty authcid or passwd. */
static int
plain_fields(struct sasl *s, struct span msg)
{
	struct span authzid, authcid, passwd = msg;

	if (cut_at_nul(&passwd, &authzid) < 0 || cut_at_nul(&passwd, &authcid) < 0)
		return -1;
	if (!utf8_is_valid(authzid) || !utf8_is_valid(authcid) || !utf8_is_valid(passwd))
		return -1;
	if (field_set(s->authzid, authzid, true) < 0 || field_set(s->authcid, authcid, false) < 0 ||
	    field_set(s->password, passwd, false) < 0)
		return -1;
	return 0;
}

/* Decode and check the PLAIN message; the decoded copy is wiped on the way out. */
static enum sasl_status
plain_message(struct sasl *s, struct span b64)
{
	char msg[PLAIN_MESSAGE_MAX];
	size_t len = 0;
	int r = -1;

	if (base64_decode(b64, msg, sizeof msg, &len) == 0)
		r = plain_fields(s, span_make(msg, len));
	explicit_bzero(msg, sizeof msg);
	return r == 0 ? SASL_DONE : SASL_BAD;
}

/* Decode one LOGIN answer (user name or password) into dst. */
static int
login_field(char *dst, struct span b64)
{
	char v[SASL_FIELD_MAX];
	size_t len = 0;
	int r = -1;

	if (base64_decode(b64, v, sizeof v, &len) == 0)
		r = field_set(dst, span_make(v, len), false);
	explicit_bzero(v, sizeof v);
	return r;
}

/* Clear challenge (leaving a NUL-terminated string) and put base64(text) in it. */
static void
set_challenge(struct buf *challenge, const char *text)
{
	buf_clear(challenge);
	if (buf_append(challenge, "", 0) < 0 || base64_encode(text, strlen(text), challenge) < 0)
		PANIC("challenge buffer smaller than SASL_CHALLENGE_MAX");
}

/* Enter the state a status leads to; a failed exchange keeps no credentials. */
static enum sasl_status
finish(struct sasl *s, enum sasl_status st)
{
	if (st == SASL_DONE) {
		s->state = SASL_STATE_DONE;
		return st;
	}
	explicit_bzero(s->authzid, sizeof s->authzid);
	explicit_bzero(s->authcid, sizeof s->authcid);
	explicit_bzero(s->password, sizeof s->password);
	s->state = SASL_STATE_FAILED;
	return st;
}

/* Take one piece of client data (base64, "=" already made empty) in the current state. */
static enum sasl_status
feed(struct sasl *s, struct span data, struct buf *challenge)
{
	switch (s->state) {
	case SASL_STATE_PLAIN:
		return finish(s, plain_message(s, data));
	case SASL_STATE_LOGIN_USER:
		if (login_field(s->authcid, data) < 0)
			return finish(s, SASL_BAD);
		s->state = SASL_STATE_LOGIN_PASS;
		set_challenge(challenge, "Password:");
		return SASL_CONTINUE;
	case SASL_STATE_LOGIN_PASS:
		return finish(s, login_field(s->password, data) < 0 ? SASL_BAD : SASL_DONE);
	default:
		PANIC("no response expected in state %d", (int)s->state);
	}
}

enum sasl_status
sasl_start(struct sasl *s, struct span initial, struct buf *challenge)
{
	if (s->state != SASL_STATE_NEW)
		PANIC("sasl_start called twice");
	set_challenge(challenge, "");
	s->state = s->mech == SASL_MECH_PLAIN ? SASL_STATE_PLAIN : SASL_STATE_LOGIN_USER;
	if (initial.len == 0) {
		/* No initial response: PLAIN asks with an empty challenge (RFC 4954 4). */
		if (s->mech == SASL_MECH_LOGIN)
			set_challenge(challenge, "Username:");
		return SASL_CONTINUE;
	}
	/* RFC 4954 4: "=" is an initial response of zero length. */
	if (initial.len == 1 && initial.p[0] == '=')
		initial.len = 0;
	return feed(s, initial, challenge);
}

enum sasl_status
sasl_step(struct sasl *s, struct span response, struct buf *challenge)
{
	if (s->state == SASL_STATE_NEW || s->state == SASL_STATE_DONE ||
	    s->state == SASL_STATE_FAILED)
		PANIC("sasl_step without a pending challenge (state %d)", (int)s->state);
	set_challenge(challenge, "");
	/* RFC 4954 4: a line of a single "*" cancels the exchange. */
	if (response.len == 1 && response.p[0] == '*')
		return finish(s, SASL_CANCELLED);
	return feed(s, response, challenge);
}

/* The getters' guard: credentials exist only after SASL_DONE. */
static const struct sasl *
done(const struct sasl *s, const char *what)
{
	if (s->state != SASL_STATE_DONE)
		PANIC("%s read before SASL_DONE", what);
	return s;
}

const char *
sasl_authcid(const struct sasl *s)
{
	return done(s, "authcid")->authcid;
}

const char *
sasl_password(const struct sasl *s)
{
	return done(s, "password")->password;
}

const char *
sasl_authzid(const struct sasl *s)
{
	return done(s, "authzid")->authzid;
}
