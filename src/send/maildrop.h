/* maildrop.h - leaving a message in <spool>/maildrop while the daemon is
 * down; the daemon imports it when it starts (daemon/local.c).
 * The file format, written here and parsed there:
 *     postino-maildrop 1\n
 *     uid <getuid() in decimal>\n
 *     sender <address; empty for the null sender>\n
 *     rcpt <address>\n            (one per recipient, at least one)
 *     \n
 *     <the message, LF line ends>
 * Addresses are as smtp_mailbox_format writes them (no angle brackets).
 * The file is written as <unixtime>.<pid>.<16 hex>.tmp (O_EXCL, 0600),
 * fsynced, then renamed without ".tmp": the daemon ignores *.tmp, so it
 * never sees a partial file. */
#ifndef POSTINO_SEND_MAILDROP_H
#define POSTINO_SEND_MAILDROP_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util/span.h"

struct maildrop_msg {
	uid_t uid;
	time_t now;                        /* for the file name */
	long pid;
	const char *unique;                /* 16 hex digits of randomness */
	const char *sender;                /* "" for the null sender */
	size_t nrcpt;                      /* at least 1 */
	const char *const *rcpt;
	struct span head, body;            /* the content, in two parts */
};

/* Write m into spool_dir/maildrop. 0 with the final file's path in path
 * (pathlen octets), or -1 with errno (nothing is left behind then). */
int maildrop_write(const char *spool_dir, const struct maildrop_msg *m, char *path, size_t pathlen);

#endif
