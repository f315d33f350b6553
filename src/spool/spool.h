/* spool.h - the durable message store.
 * Owns: everything under the spool directory: message files, their
 * per-recipient state, recovery after a crash, moving corrupt files aside.
 * Leaves: when to deliver or retry (queue/), how to deliver (deliver/).
 * Invariant: a message exists (spool_recover sees it) only after
 * spool_writer_commit returned 0, which happens only after fsync of the file
 * and of its directory. A crash at any earlier point leaves no message.
 *
 * Threads: spool_writer_new/write/abort run on the event loop; commit,
 * update, remove, open_content and recover may run on worker threads, at the
 * same time for different messages. */
#ifndef POSTINO_SPOOL_SPOOL_H
#define POSTINO_SPOOL_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPOOL_ID_LEN 16   /* queue IDs are 16 characters [0-9A-Z] */

enum spool_rcpt_state {
	SPOOL_RCPT_PENDING,    /* to be delivered (or retried at next_attempt) */
	SPOOL_RCPT_DELIVERED,  /* final: delivered */
	SPOOL_RCPT_FAILED,     /* final: permanently failed (bounce due or sent) */
};

struct spool_rcpt {
	char *address;         /* final destination "local@domain" (after alias expansion) */
	char *orig;            /* the RCPT TO mailbox as the client sent it */
	char *orcpt;           /* DSN ORCPT= as sent, or NULL */
	unsigned notify;       /* SMTP_NOTIFY_* bits, 0 when absent */
	bool local;            /* delivered into a Maildir here */
	enum spool_rcpt_state state;
	unsigned attempts;
	int64_t next_attempt;  /* unix seconds; 0: now */
	char *last_reply;      /* last delivery status text, or NULL */
	bool delay_warned;     /* the one 'delayed' DSN (warn_after) was sent */
};

struct spool_envelope {
	char id[SPOOL_ID_LEN + 1];
	char *sender;          /* "" for the null reverse-path <> */
	struct spool_rcpt *rcpts;
	size_t nrcpts;
	char *envid;           /* DSN ENVID= (xtext as sent) or NULL */
	int ret;               /* SMTP_RET_* */
	int body;              /* SMTP_BODY_* */
	bool smtputf8;
	char *client_addr;     /* "192.0.2.1" or "2001:db8::1" or "local" */
	char *helo;            /* HELO/EHLO argument, or NULL */
	char *protocol;        /* "SMTP", "ESMTP", "ESMTPS", "ESMTPSA", ... */
	char *auth_user;       /* authenticated user, or NULL */
	int64_t received;      /* unix seconds */
	uint64_t size;         /* content bytes as stored (LF line ends) */
};

struct spool;
struct spool_writer;

/* Open (creating if missing, mode 0700) the spool directory and its
 * subdirectories. -1 with errno on failure; *why names the failing step. */
int spool_open(const char *dir, struct spool **out, const char **why);
void spool_close(struct spool *s);
const char *spool_dir(const struct spool *s);

/* Start a new message; its queue ID is written to id (SPOOL_ID_LEN + 1).
 * NULL with errno on failure. */
struct spool_writer *spool_writer_new(struct spool *s, char *id);
/* Append content bytes (LF line ends). -1 with errno; the writer must then be
 * aborted. */
int spool_writer_write(struct spool_writer *w, const void *p, size_t n);
/* Make the message durable: envelope (env->id must equal the writer's ID)
 * and content, fsync of the file and of its directory. Takes and frees w
 * whatever the outcome. 0 when committed; -1 with errno when not (then
 * nothing of the message remains). Blocking: run it on a worker.
 * env->size is not consulted: the spool records the bytes actually written,
 * and spool_recover reports that as size. EINVAL: ID mismatch or no
 * recipients; EFBIG: envelope text over 16 MiB. */
int spool_writer_commit(struct spool_writer *w, const struct spool_envelope *env);
/* Drop an uncommitted message. Takes and frees w. */
void spool_writer_abort(struct spool_writer *w);

/* Persist recipient idx's state, attempts, next_attempt, last_reply and
 * delay_warned (durably: fsync before return). -1 with errno (EINVAL: idx
 * out of range; EFBIG: last_reply over 64 KiB escaped). */
int spool_update_rcpt(struct spool *s, const struct spool_envelope *env, size_t idx);
/* Remove a message whose recipients are all final. -1 with errno.
 * The directory is not fsynced: a removal lost in a crash only brings the
 * message back with its recipients final (or, at worst, repeats a delivery,
 * which at-least-once allows). */
int spool_remove(struct spool *s, const char *id);

/* Put message id on hold (no delivery until released) or release it; the
 * mark survives restarts. -1 with errno (ENOENT: no such message). */
int spool_set_held(struct spool *s, const char *id, bool held);
bool spool_is_held(struct spool *s, const char *id);

/* Open the content of message id for reading: *fd (caller closes), content
 * starts at *offset and is *length bytes. -1 with errno. */
int spool_open_content(struct spool *s, const char *id, int *fd, off_t *offset, uint64_t *length);

/* Every committed message, with recipient states as last persisted, is passed
 * to cb, which takes env (free with spool_envelope_free). Leftovers of
 * uncommitted writes are deleted; a file that cannot be parsed is moved to
 * <spool>/corrupt/ and reported through bad(arg, path, reason). Returns the
 * number of messages, -1 with errno when the spool cannot be read at all.
 * Messages come in queue ID order (oldest first). Call it at start-up,
 * before any writer exists: files whose header is still zeros (uncommitted
 * writes) are deleted, and tmp/ emptied, only while no writer is open,
 * and a message committed while it runs may or may not be passed to cb. A
 * last update record torn by a crash is dropped (the state before it
 * stands) and cut off the file. A file that cannot be read for a reason
 * other than its contents (EIO, EACCES) is reported through bad but left in
 * place. */
int spool_recover(struct spool *s, void (*cb)(void *arg, struct spool_envelope *env),
    void (*bad)(void *arg, const char *path, const char *reason), void *arg);

/* Load one committed message (as spool_recover would pass it to cb) into
 * *out, a new envelope (free with spool_envelope_free). -1 with errno:
 * ENOENT when there is no such message, EINVAL for a malformed ID, EBADMSG
 * when the file does not check out (then *why says how; the file is left
 * where it is), or the error of the failing read. */
int spool_load(struct spool *s, const char *id, struct spool_envelope **out, const char **why);

/* True when id is SPOOL_ID_LEN characters of [0-9A-Z] and nothing more. */
bool spool_id_is_valid(const char *id);

void spool_envelope_free(struct spool_envelope *env);
/* Deep copy (for handing an envelope to another thread). */
struct spool_envelope *spool_envelope_dup(const struct spool_envelope *env);

#endif
