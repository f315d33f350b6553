/* fuzz_address.c - the path grammar and the MAIL/RCPT parameters.
 * Drives smtp_parse_mail, smtp_parse_rcpt (without and with SMTPUTF8) and
 * smtp_parse_mailbox on the same bytes. Checks: a failure always has a why;
 * allowing UTF-8 never turns an accepted RCPT into a refused one; a mailbox
 * without utf8 holds no octet over 0x7f; and every mailbox that parses
 * formats to text that parses back to the same mailbox. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
has_high_octet(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* format, parse again, compare */
static void
roundtrip(const struct smtp_mailbox *mb)
{
	char text[SMTP_ADDR_TEXT_MAX];
	struct smtp_mailbox again;

	if (strlen(mb->local) > SMTP_LOCAL_MAX || strlen(mb->domain) > SMTP_DOMAIN_MAX)
		abort();
	if (!mb->utf8 && (has_high_octet(mb->local) || has_high_octet(mb->domain)))
		abort();
	if (smtp_mailbox_format(mb, text, sizeof text) < 0)
		abort();
	if (smtp_parse_mailbox(span_cstr(text), &again) != SMTP_ARG_OK)
		abort();
	if (strcmp(again.local, mb->local) != 0 || strcmp(again.domain, mb->domain) != 0 ||
	    again.literal != mb->literal || again.utf8 != mb->utf8)
		abort();
}

static void
check_path(enum smtp_arg_result r, const struct smtp_path *path, const char *why)
{
	if (r != SMTP_ARG_OK && (why == NULL || why[0] == '\0'))
		abort();
	if (r == SMTP_ARG_OK && why != NULL)
		abort();
	if ((r == SMTP_ARG_OK || r == SMTP_ARG_SOURCE_ROUTE) && path->kind == SMTP_PATH_MAILBOX)
		roundtrip(&path->mbox);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span in = span_make((const char *)data, size);
	struct smtp_path path;
	struct smtp_mail_params mp;
	struct smtp_rcpt_params rp;
	struct smtp_mailbox mb;
	const char *why = NULL;
	enum smtp_arg_result r, r8;

	r = smtp_parse_mail(in, &path, &mp, &why);
	check_path(r, &path, why);
	if (r == SMTP_ARG_OK && path.mbox.utf8 && !mp.smtputf8)
		abort();

	r = smtp_parse_rcpt(in, false, &path, &rp, &why);
	check_path(r, &path, why);
	if (r == SMTP_ARG_OK && path.mbox.utf8)
		abort();
	r8 = smtp_parse_rcpt(in, true, &path, &rp, &why);
	check_path(r8, &path, why);
	if (r8 == SMTP_ARG_NEEDS_UTF8 || (r == SMTP_ARG_OK && r8 != SMTP_ARG_OK))
		abort();

	if (smtp_parse_mailbox(in, &mb) == SMTP_ARG_OK)
		roundtrip(&mb);
	return 0;
}
