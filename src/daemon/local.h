/* local.h - mail from users of this machine (`postino send`, sendmail):
 * the UNIX socket <spool>/submit, where they speak SMTP to the daemon, and
 * the maildrop <spool>/maildrop, where `postino send` leaves messages while
 * the daemon is down. The maildrop format is written by src/send/send.c:
 *   postino-maildrop 1\n uid N\n sender ADDR\n rcpt ADDR\n ... \n\n content (LF) */
#ifndef POSTINO_DAEMON_LOCAL_H
#define POSTINO_DAEMON_LOCAL_H

#include "auth/mailboxes.h"
#include "config/config.h"
#include "spool/spool.h"

/* Make the spool reachable by local users (0711), the maildrop (1733) and
 * the socket (0666), and listen on it. The fd, or -1 with errno. */
int local_listen(const char *spool_dir);

/* Import every complete message in the maildrop into the spool: each is
 * committed, then its file removed, and queued(arg, env) takes the envelope.
 * A message none of whose recipients can be taken is renamed *.refused and
 * logged, never lost. Returns how many were imported. Blocking (fsync): run
 * at start and, rarely, from a timer. */
int maildrop_import(const char *spool_dir, struct spool *spool, const struct config *cfg,
    const struct mailboxes *mb, void (*queued)(void *arg, struct spool_envelope *env),
    void *arg);

#endif
