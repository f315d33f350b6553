/* outcome.h - the per-recipient outcomes of one outgoing message.
 * Owns: each recipient's state (waiting for its RCPT reply, accepted and
 * waiting for the message's verdict, decided) and, once decided, its
 * verdict (OK / TEMPFAIL / PERMFAIL) with the reply code, enhanced status
 * code and text behind it; the texts themselves, copied and bounded.
 * Leaves: which reply decides whom (smtp_client).
 * Invariant: a recipient is decided once; a decided one never changes; at
 * most one text per recipient is ever kept. */
#ifndef POSTINO_SMTP_OUTCOME_H
#define POSTINO_SMTP_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "smtp/reply.h"

/* Texts kept: the reply's lines joined by one SP, cut to this many octets
 * (a cut text ends in "..."). */
#define SMTP_OUTCOME_TEXT_MAX 1024

enum smtp_status { SMTP_STATUS_OK, SMTP_STATUS_TEMPFAIL, SMTP_STATUS_PERMFAIL };

struct smtp_outcome {
	enum smtp_status status;
	int code;                       /* the peer's reply code; 0: decided without one */
	char esc[SMTP_REPLY_ESC_SIZE];  /* "5.1.1"; "" when the reply had none */
	const char *text;               /* never NULL once decided */
};

enum smtp_rcpt_state { SMTP_RCPT_PENDING, SMTP_RCPT_ACCEPTED, SMTP_RCPT_DONE };

struct smtp_outcomes;

/* nrcpt recipients, all PENDING. */
struct smtp_outcomes *smtp_outcomes_new(size_t nrcpt);
void smtp_outcomes_free(struct smtp_outcomes *o);

enum smtp_rcpt_state smtp_outcomes_state(const struct smtp_outcomes *o, size_t i);
/* Recipient i, PENDING, was accepted at RCPT; its verdict comes later. */
void smtp_outcomes_accept(struct smtp_outcomes *o, size_t i);
size_t smtp_outcomes_naccepted(const struct smtp_outcomes *o);
/* Decide every recipient in state `which` (PENDING or ACCEPTED) with v; v's
 * text is copied once for all of them. */
void smtp_outcomes_decide(struct smtp_outcomes *o, enum smtp_rcpt_state which,
    const struct smtp_outcome *v);
/* Decide recipient i, when not decided yet, with v (text copied). */
void smtp_outcomes_decide_one(struct smtp_outcomes *o, size_t i, const struct smtp_outcome *v);
bool smtp_outcomes_all_decided(const struct smtp_outcomes *o);
/* The outcomes in recipient order; borrowed, valid until smtp_outcomes_free. */
const struct smtp_outcome *smtp_outcomes_list(const struct smtp_outcomes *o);

/* An outcome: OK for 2xx, TEMPFAIL for 4xx, PERMFAIL otherwise. */
enum smtp_status smtp_status_of(int code);
/* The outcome a reply gives; its text goes to buf (SMTP_OUTCOME_TEXT_MAX + 1
 * octets), which must outlive the use of the result. */
struct smtp_outcome smtp_outcome_of_reply(const struct smtp_reply *r, char *buf);
/* An outcome without a reply (code 0); esc and text are borrowed. */
struct smtp_outcome smtp_outcome_make(enum smtp_status st, const char *esc, const char *text);

#endif
