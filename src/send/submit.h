/* submit.h - handing a message to the running daemon over <spool>/submit.
 * Owns: the UNIX socket, one SMTP session driven by smtp_client ("EHLO
 * localhost", the recipients in transactions of at most `batch`, QUIT),
 * blocking I/O with the RFC 5321 4.5.3.2 timeouts, the -v trace; and for
 * -bs, relaying stdin and stdout to the socket byte for byte.
 * Leaves: SMTP itself (smtp/smtp_client.h), what outcomes mean for the exit
 * status (send.c), the maildrop (maildrop.c). The daemon learns who we
 * are from the socket (SO_PEERCRED): nothing here claims an identity. */
#ifndef POSTINO_SEND_SUBMIT_H
#define POSTINO_SEND_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/outcome.h"
#include "util/span.h"

#define SUBMIT_SOCKET "submit"   /* its name in the spool directory */

struct submit_msg {
	const char *sender;           /* formatted mailbox; "" for <> */
	size_t nrcpt;
	const char *const *rcpt;      /* formatted mailboxes with a domain */
	unsigned notify;              /* SMTP_NOTIFY_* for every recipient; 0: none */
	struct span head, body;       /* the content in two parts, LF line ends */
	uint64_t size;                /* octets as DATA carries them (SIZE=) */
	bool eightbit;
	size_t batch;                 /* the most recipients per transaction (>= 1) */
	bool verbose;                 /* trace the conversation on stderr */
	/* Called once per recipient i (0 .. nrcpt) with its outcome; o is
	 * borrowed for the call. */
	void (*result)(void *arg, size_t i, const struct smtp_outcome *o);
	void *arg;
};

enum submit_end {
	SUBMIT_DONE,          /* every recipient's outcome was given */
	SUBMIT_NOT_READY,     /* the daemon ended the session before it was ready
	                         for a message: nothing was given (no outcome) */
};

/* A connection to spool_dir/submit: the fd (non-blocking), or -1 with errno. */
int submit_connect(const char *spool_dir);
/* Run one session on fd (not closed here). With SUBMIT_NOT_READY, why
 * (whylen octets) says what happened. */
enum submit_end submit_session(int fd, const struct submit_msg *m, char *why, size_t whylen);
/* -bs: copy in to fd and fd to out until the daemon closes the connection
 * (after in's EOF, once the daemon has been quiet for a few seconds, the
 * socket is half-closed so the daemon sees the end). 0, or -1 with errno. */
int submit_relay(int fd, int in, int out);

#endif
