/* send.h - `postino send`, and the binary under the name `sendmail`:
 * sendmail-compatible submission of a message read from stdin.
 * Owns: the sendmail options (the ones programs pass; the rest of sendmail's
 * letters are taken and ignored as sendmail ignores them), the envelope
 * (sender, recipients from the arguments and with -t from the header),
 * the choice between the daemon's socket and the maildrop, and the exit
 * status, from sysexits.h as sendmail's (SPEC.md "Command line").
 * Leaves: reading and fixing the message (draft.c), address lists
 * (addrlist.c), the SMTP session and -bs relay (submit.c), the maildrop
 * file (maildrop.c), finding the configuration file (main.c). */
#ifndef POSTINO_SEND_SEND_H
#define POSTINO_SEND_SEND_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"

struct send_args {
	const char *prog;         /* "postino send" or "sendmail": starts every message */
	const char *config;       /* -c FILE (postino send only) or -C FILE; NULL: not given */
	const char *sender;       /* -f or -r; NULL: the user at server.hostname */
	const char *fullname;     /* -F: the name in an added From field */
	unsigned notify;          /* -N: SMTP_NOTIFY_* bits; 0: not given */
	bool extract;             /* -t */
	bool ignore_dots;         /* -i, -oi */
	bool smtp_stdio;          /* -bs */
	bool verbose;             /* -v */
	bool help;                /* --help: print send_usage, exit 0 */
	bool nothing_to_do;       /* -bi: nothing to build; exit 0 */
	int nrcpt;
	char **rcpt;              /* the arguments after the options; borrowed from argv */
};

/* Parse the arguments after `send` (sendmail_name: after `sendmail`;
 * then -c is sendmail's old flag and takes no file). Options end at the
 * first argument that is not one, or at "--". 0, or -1 after printing why
 * (the caller exits EX_USAGE). */
int send_parse_args(int argc, char **argv, bool sendmail_name, struct send_args *a);
void send_usage(FILE *out, const char *prog);
/* Read the message on stdin and submit it (or, with -bs, relay the SMTP
 * session on stdin and stdout). Returns a sysexits.h status. */
int send_run(const struct send_args *a, const struct config *c);

#endif
