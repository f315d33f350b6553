/* esmtp_params.c - the ESMTP parameters of MAIL and RCPT, for address.c.
 * Owns: the esmtp-param list grammar (RFC 5321 4.1.2) and each parameter
 * postino knows: SIZE (RFC 1870), BODY (RFC 6152, 3030), SMTPUTF8 (RFC 6531),
 * RET, ENVID, NOTIFY, ORCPT (RFC 3461), AUTH (RFC 4954).
 * Leaves: the path in front of the list (address.c); acting on the values.
 * Invariants: reads only the list span, never allocates; a parameter given
 * twice is refused; the first problem in the list decides the answer. */
#include "smtp/esmtp_params.h"
#include "smtp/chars.h"

#include <string.h>

#define PARAM_SYNTAX_TEXT "Syntax error in parameters"

/* One esmtp-param, split. */
struct param {
	struct span key, value;
	bool has_value;
	bool utf8; /* UTF-8 is allowed in the value (SMTPUTF8 in effect) */
};

static enum smtp_arg_result
fail(const char **why, enum smtp_arg_result r, const char *text)
{
	if (why)
		*why = text;
	return r;
}

/* Take the next SP-separated parameter off *rest. */
static bool
next_token(struct span *rest, struct span *tok)
{
	const char *sp;
	size_t n;

	if (rest->len == 0)
		return false;
	sp = memchr(rest->p, ' ', rest->len);
	n = sp ? (size_t)(sp - rest->p) : rest->len;
	*tok = span_make(rest->p, n);
	n += sp ? 1 : 0;
	*rest = span_make(rest->p + n, rest->len - n);
	return true;
}

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool
keyword_ok(struct span k)
{
	if (k.len == 0 || !is_letdig((unsigned char)k.p[0]))
		return false;
	for (size_t i = 1; i < k.len; i++)
		if (!is_letdig((unsigned char)k.p[i]) && k.p[i] != '-')
			return false;
	return true;
}

/* esmtp-value = 1*(%d33-60 / %d62-126), UTF8-non-ascii too under SMTPUTF8
 * (RFC 6531 3.3). */
static bool
value_ok(struct span v, bool utf8)
{
	size_t i = 0;

	if (v.len == 0)
		return false;
	while (i < v.len) {
		unsigned char c = (unsigned char)v.p[i];
		size_t n = 1;

		if ((c < 33 || c > 126 || c == '=') &&
		    (!utf8 || (n = smtp_utf8_len(v.p + i, v.len - i)) == 0))
			return false;
		i += n;
	}
	return true;
}

/* Split "KEY[=VALUE]" and check both against the generic grammar. */
static enum smtp_arg_result
split_param(struct span tok, bool utf8, struct param *p, const char **why)
{
	const char *eq = tok.len ? memchr(tok.p, '=', tok.len) : NULL;

	p->utf8 = utf8;
	p->has_value = eq != NULL;
	p->key = span_make(tok.p, eq ? (size_t)(eq - tok.p) : tok.len);
	p->value = eq ? span_make(eq + 1, tok.len - p->key.len - 1) : span_make(tok.p, 0);
	if (!keyword_ok(p->key) || (p->has_value && !value_ok(p->value, utf8)))
		return fail(why, SMTP_ARG_PARAM_BAD, PARAM_SYNTAX_TEXT);
	return SMTP_ARG_OK;
}

static bool
is_upper_hex(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

/* xtext = *( xchar / hexchar ) (RFC 3461 4): xchar is "!".."~" but "+" and
 * "="; hexchar is "+" and two upper-case hex digits. With utf8, well-formed
 * UTF-8 is let through too (RFC 6533 utf-8-addr-unitext). */
static bool
xtext_ok(struct span v, bool utf8)
{
	size_t i = 0;

	while (i < v.len) {
		unsigned char c = (unsigned char)v.p[i];
		size_t n = 1;

		if (c == '+') {
			if (v.len - i < 3 || !is_upper_hex(v.p[i + 1]) || !is_upper_hex(v.p[i + 2]))
				return false;
			n = 3;
		} else if ((c < 33 || c > 126 || c == '=') &&
		    (!utf8 || (n = smtp_utf8_len(v.p + i, v.len - i)) == 0)) {
			return false;
		}
		i += n;
	}
	return true;
}

/* A keyword value and what it stands for. */
struct word {
	const char *name;
	unsigned value;
};

/* The value of the word w names (any case); 0 when none does. */
static unsigned
word_value(const struct word *words, struct span w)
{
	for (; words->name != NULL; words++)
		if (span_eq_cstr_nocase(w, words->name))
			return words->value;
	return 0;
}

/* SIZE=1*20DIGIT (RFC 1870 3) */
static enum smtp_arg_result
mail_size(const struct param *p, void *out, const char **why)
{
	struct smtp_mail_params *mp = out;
	unsigned long long v;

	if (!p->has_value || p->value.len > 20 || span_to_u64(p->value, UINT64_MAX, &v) < 0)
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid SIZE value");
	mp->has_size = true;
	mp->size = (uint64_t)v;
	return SMTP_ARG_OK;
}

/* BODY=7BIT / 8BITMIME (RFC 6152 2) / BINARYMIME (RFC 3030 3); the values
 * are offset by one so that 0 can mean "no such word". */
static enum smtp_arg_result
mail_body(const struct param *p, void *out, const char **why)
{
	static const struct word bodies[] = {
		{ "7BIT", SMTP_BODY_7BIT + 1 },
		{ "8BITMIME", SMTP_BODY_8BITMIME + 1 },
		{ "BINARYMIME", SMTP_BODY_BINARYMIME + 1 },
		{ NULL, 0 },
	};
	struct smtp_mail_params *mp = out;
	unsigned v = word_value(bodies, p->value);

	if (v == 0)
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid BODY value");
	mp->body = (enum smtp_body)(v - 1);
	return SMTP_ARG_OK;
}

/* SMTPUTF8, without a value (RFC 6531 3.4) */
static enum smtp_arg_result
mail_smtputf8(const struct param *p, void *out, const char **why)
{
	struct smtp_mail_params *mp = out;

	if (p->has_value)
		return fail(why, SMTP_ARG_PARAM_BAD, "SMTPUTF8 takes no value");
	mp->smtputf8 = true;
	return SMTP_ARG_OK;
}

/* RET=FULL / HDRS (RFC 3461 4.3) */
static enum smtp_arg_result
mail_ret(const struct param *p, void *out, const char **why)
{
	static const struct word rets[] = {
		{ "FULL", SMTP_RET_FULL },
		{ "HDRS", SMTP_RET_HDRS },
		{ NULL, 0 },
	};
	struct smtp_mail_params *mp = out;
	unsigned v = word_value(rets, p->value);

	if (v == 0)
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid RET value");
	mp->ret = (enum smtp_ret)v;
	return SMTP_ARG_OK;
}

/* ENVID=xtext, at most 100 characters (RFC 3461 4.4) */
static enum smtp_arg_result
mail_envid(const struct param *p, void *out, const char **why)
{
	struct smtp_mail_params *mp = out;

	if (!p->has_value || p->value.len > SMTP_ENVID_MAX || !xtext_ok(p->value, false))
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid ENVID value");
	memcpy(mp->envid, p->value.p, p->value.len);
	mp->envid[p->value.len] = '\0';
	return SMTP_ARG_OK;
}

/* AUTH=xtext, a mailbox or "<>" once decoded (RFC 4954 5) */
static enum smtp_arg_result
mail_auth(const struct param *p, void *out, const char **why)
{
	struct smtp_mail_params *mp = out;

	if (!p->has_value || !xtext_ok(p->value, false))
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid AUTH value");
	mp->has_auth = true;
	return SMTP_ARG_OK;
}

static const struct word notify_words[] = {
	{ "NEVER", SMTP_NOTIFY_NEVER },
	{ "SUCCESS", SMTP_NOTIFY_SUCCESS },
	{ "FAILURE", SMTP_NOTIFY_FAILURE },
	{ "DELAY", SMTP_NOTIFY_DELAY },
	{ NULL, 0 },
};

/* NOTIFY="NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) (RFC 3461 4.1);
 * a keyword given twice is refused. */
static enum smtp_arg_result
rcpt_notify(const struct param *p, void *out, const char **why)
{
	struct smtp_rcpt_params *rp = out;
	struct span rest = p->value;
	unsigned bits = 0;

	if (!p->has_value)
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid NOTIFY value");
	for (;;) {
		const char *comma = rest.len ? memchr(rest.p, ',', rest.len) : NULL;
		size_t n = comma ? (size_t)(comma - rest.p) : rest.len;
		unsigned bit = word_value(notify_words, span_make(rest.p, n));

		if (bit == 0 || (bits & bit) != 0)
			return fail(why, SMTP_ARG_PARAM_BAD, "Invalid NOTIFY value");
		bits |= bit;
		if (comma == NULL)
			break;
		rest = span_make(comma + 1, rest.len - n - 1);
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return fail(why, SMTP_ARG_PARAM_BAD, "NOTIFY=NEVER must stand alone");
	rp->notify = bits;
	return SMTP_ARG_OK;
}

/* ORCPT=addr-type ";" xtext (RFC 3461 4.2); addr-type is an atom, and
 * "utf-8" (RFC 6533 3) may carry raw UTF-8 under SMTPUTF8. */
static enum smtp_arg_result
rcpt_orcpt(const struct param *p, void *out, const char **why)
{
	struct smtp_rcpt_params *rp = out;
	struct span v = p->value, type, addr;
	const char *semi = v.len ? memchr(v.p, ';', v.len) : NULL;
	bool utf8;

	if (!p->has_value || v.len > SMTP_ORCPT_MAX || semi == NULL)
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid ORCPT value");
	type = span_make(v.p, (size_t)(semi - v.p));
	addr = span_make(semi + 1, v.len - type.len - 1);
	if (type.len == 0 || addr.len == 0)
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid ORCPT value");
	for (size_t i = 0; i < type.len; i++)
		if (!is_atext((unsigned char)type.p[i]))
			return fail(why, SMTP_ARG_PARAM_BAD, "Invalid ORCPT value");
	utf8 = p->utf8 && span_eq_cstr_nocase(type, "utf-8");
	if (!xtext_ok(addr, utf8))
		return fail(why, SMTP_ARG_PARAM_BAD, "Invalid ORCPT value");
	memcpy(rp->orcpt, v.p, v.len);
	rp->orcpt[v.len] = '\0';
	return SMTP_ARG_OK;
}

/* One known parameter: its keyword and the handler that checks its value. */
struct param_rule {
	const char *name;
	enum smtp_arg_result (*parse)(const struct param *p, void *out, const char **why);
};

static const struct param_rule mail_rules[] = {
	{ "SIZE", mail_size },
	{ "BODY", mail_body },
	{ "SMTPUTF8", mail_smtputf8 },
	{ "RET", mail_ret },
	{ "ENVID", mail_envid },
	{ "AUTH", mail_auth },
};

static const struct param_rule rcpt_rules[] = {
	{ "NOTIFY", rcpt_notify },
	{ "ORCPT", rcpt_orcpt },
};

#define NRULES(a) (sizeof(a) / sizeof((a)[0]))

/* Run every parameter in rest through its rule; the first problem wins. */
static enum smtp_arg_result
parse_params(struct span rest, bool utf8, const struct param_rule *rules, size_t nrules,
    void *out, const char **why)
{
	unsigned seen = 0;
	struct span tok;

	while (next_token(&rest, &tok)) {
		struct param p;
		enum smtp_arg_result r = split_param(tok, utf8, &p, why);
		size_t k = 0;

		if (r != SMTP_ARG_OK)
			return r;
		while (k < nrules && !span_eq_cstr_nocase(p.key, rules[k].name))
			k++;
		if (k == nrules)
			return fail(why, SMTP_ARG_PARAM_UNKNOWN, "Unsupported parameter");
		if (seen & (1u << k))
			return fail(why, SMTP_ARG_PARAM_BAD, "Duplicate parameter");
		seen |= 1u << k;
		r = rules[k].parse(&p, out, why);
		if (r != SMTP_ARG_OK)
			return r;
	}
	return SMTP_ARG_OK;
}

enum smtp_arg_result
esmtp_params_mail(struct span list, bool utf8, struct smtp_mail_params *out, const char **why)
{
	return parse_params(list, utf8, mail_rules, NRULES(mail_rules), out, why);
}

enum smtp_arg_result
esmtp_params_rcpt(struct span list, bool utf8, struct smtp_rcpt_params *out, const char **why)
{
	return parse_params(list, utf8, rcpt_rules, NRULES(rcpt_rules), out, why);
}

bool
esmtp_params_has(struct span rest, const char *keyword)
{
	struct span tok;

	while (next_token(&rest, &tok)) {
		const char *eq = tok.len ? memchr(tok.p, '=', tok.len) : NULL;
		struct span key = span_make(tok.p, eq ? (size_t)(eq - tok.p) : tok.len);

		if (span_eq_cstr_nocase(key, keyword))
			return true;
	}
	return false;
}

