/* esmtp_params.h - the ESMTP parameters after a MAIL or RCPT path
 * (RFC 5321 4.1.2 esmtp-param), for address.c: SIZE, BODY, SMTPUTF8, RET,
 * ENVID, AUTH on MAIL; NOTIFY, ORCPT on RCPT. Callers outside smtp/ use
 * smtp_parse_mail and smtp_parse_rcpt (address.h) instead. */
#ifndef POSTINO_SMTP_ESMTP_PARAMS_H
#define POSTINO_SMTP_ESMTP_PARAMS_H

#include <stdbool.h>

#include "smtp/address.h"
#include "util/span.h"

/* Parse list = esmtp-param *(SP esmtp-param), trailing white space already
 * dropped, into out (which the caller zeroed). utf8: SMTPUTF8 is in effect,
 * so values may hold UTF-8. PARAM_UNKNOWN or PARAM_BAD, with *why, on the
 * first problem. */
enum smtp_arg_result esmtp_params_mail(struct span list, bool utf8, struct smtp_mail_params *out,
    const char **why);
enum smtp_arg_result esmtp_params_rcpt(struct span list, bool utf8, struct smtp_rcpt_params *out,
    const char **why);
/* True when the list names keyword (any case), with or without a value. */
bool esmtp_params_has(struct span list, const char *keyword);

#endif
