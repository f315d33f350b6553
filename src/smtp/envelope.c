/* envelope.c - MAIL and RCPT command lines for outgoing mail (see envelope.h).
 * Owns: nothing beyond the call; each function appends to the caller's buf.
 * Invariant: a line is appended whole and parses with smtp_parse_mail or
 * smtp_parse_rcpt, or out is left as it was. */
#include "smtp/envelope.h"

#include <string.h>

#include "smtp/limits.h"

/* Undo a partial append. */
static void
truncate_to(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
}

/* End the line started at start (verb and colon: skip octets) once it
 * parses as our own server would parse it, and fits. */
static int
end_line(struct buf *b, size_t start, size_t skip, bool mail, bool utf8)
{
	struct span arg = span_make(b->data + start + skip, b->len - start - skip);
	struct smtp_path path;
	struct smtp_mail_params mp;
	struct smtp_rcpt_params rp;
	enum smtp_arg_result res;

	memset(&mp, 0, sizeof mp);
	memset(&rp, 0, sizeof rp);
	res = mail ? smtp_parse_mail(arg, &path, &mp, NULL)
		   : smtp_parse_rcpt(arg, utf8, &path, &rp, NULL);
	if (res != SMTP_ARG_OK || (!mail && path.kind != SMTP_PATH_MAILBOX) ||
	    buf_append(b, "\r\n", 2) < 0 || b->len - start > SMTP_MAILRCPT_LINE_MAX) {
		truncate_to(b, start);
		return -1;
	}
	return 0;
}

int
smtp_envelope_mail(struct buf *out, const struct smtp_envelope_mail *m)
{
	static const char *const ret[] = { [SMTP_RET_FULL] = "FULL", [SMTP_RET_HDRS] = "HDRS" };
	size_t start = out->len;
	int e = 0;

	if (m->sender == NULL)
		return -1;
	e |= buf_printf(out, "MAIL FROM:<%s>", m->sender);
	if (m->has_size)
		e |= buf_printf(out, " SIZE=%llu", (unsigned long long)m->size);
	if (m->body_8bitmime)
		e |= buf_append_str(out, " BODY=8BITMIME");
	if (m->smtputf8)
		e |= buf_append_str(out, " SMTPUTF8");
	if ((size_t)m->ret < sizeof ret / sizeof ret[0] && ret[m->ret])
		e |= buf_printf(out, " RET=%s", ret[m->ret]);
	if (m->envid && m->envid[0])
		e |= buf_printf(out, " ENVID=%s", m->envid);
	if (e != 0) {
		truncate_to(out, start);
		return -1;
	}
	return end_line(out, start, strlen("MAIL FROM:"), true, m->smtputf8);
}

/* NOTIFY= as RFC 3461 4.1 spells it: NEVER alone, or a list. */
static int
put_notify(struct buf *b, unsigned notify)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = { { SMTP_NOTIFY_SUCCESS, "SUCCESS" }, { SMTP_NOTIFY_FAILURE, "FAILURE" },
		{ SMTP_NOTIFY_DELAY, "DELAY" } };
	const char *sep = " NOTIFY=";
	int e = 0;

	if (notify & SMTP_NOTIFY_NEVER)
		return buf_append_str(b, " NOTIFY=NEVER");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (notify & names[i].bit) {
			e |= buf_printf(b, "%s%s", sep, names[i].name);
			sep = ",";
		}
	return e;
}

int
smtp_envelope_rcpt(struct buf *out, const char *rcpt, unsigned notify, const char *orcpt,
    bool smtputf8)
{
	size_t start = out->len;
	int e = 0;

	if (rcpt == NULL)
		return -1;
	e |= buf_printf(out, "RCPT TO:<%s>", rcpt);
	if (notify)
		e |= put_notify(out, notify);
	if (orcpt && orcpt[0])
		e |= buf_printf(out, " ORCPT=%s", orcpt);
	if (e != 0) {
		truncate_to(out, start);
		return -1;
	}
	return end_line(out, start, strlen("RCPT TO:"), false, smtputf8);
}
