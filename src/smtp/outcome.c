/* outcome.c - per-recipient outcomes of one outgoing message (see outcome.h).
 * Owns: three arrays of nrcpt (state, outcome, kept text).
 * Invariant: texts[k] is freed with the set; an outcome's text points into
 * texts or is NULL while undecided. A text is kept only when it decides
 * someone, so there are never more texts than recipients. */
#include "smtp/outcome.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

struct smtp_outcomes {
	size_t nrcpt, naccepted, ntexts;
	unsigned char *state;        /* enum smtp_rcpt_state */
	struct smtp_outcome *res;
	char **texts;
};

struct smtp_outcomes *
smtp_outcomes_new(size_t nrcpt)
{
	struct smtp_outcomes *o = xcalloc(1, sizeof *o);

	o->nrcpt = nrcpt;
	o->state = xcalloc(nrcpt ? nrcpt : 1, sizeof *o->state);
	o->res = xcalloc(nrcpt ? nrcpt : 1, sizeof *o->res);
	o->texts = xcalloc(nrcpt ? nrcpt : 1, sizeof *o->texts);
	return o;
}

void
smtp_outcomes_free(struct smtp_outcomes *o)
{
	if (o == NULL)
		return;
	for (size_t k = 0; k < o->ntexts; k++)
		free(o->texts[k]);
	free(o->texts);
	free(o->res);
	free(o->state);
	free(o);
}

enum smtp_rcpt_state
smtp_outcomes_state(const struct smtp_outcomes *o, size_t i)
{
	return (enum smtp_rcpt_state)o->state[i];
}

void
smtp_outcomes_accept(struct smtp_outcomes *o, size_t i)
{
	if (o->state[i] != SMTP_RCPT_PENDING)
		PANIC("recipient %zu accepted twice", i);
	o->state[i] = SMTP_RCPT_ACCEPTED;
	o->naccepted++;
}

size_t
smtp_outcomes_naccepted(const struct smtp_outcomes *o)
{
	return o->naccepted;
}

/* Keep a copy of text: one per decision that decides someone. */
static const char *
keep(struct smtp_outcomes *o, const char *text)
{
	if (o->ntexts == o->nrcpt)
		PANIC("more texts than recipients");
	o->texts[o->ntexts] = xstrdup(text ? text : "");
	return o->texts[o->ntexts++];
}

static void
set(struct smtp_outcomes *o, size_t i, const struct smtp_outcome *v, const char *text)
{
	o->res[i] = *v;
	o->res[i].text = text;
	o->state[i] = SMTP_RCPT_DONE;
}

void
smtp_outcomes_decide(struct smtp_outcomes *o, enum smtp_rcpt_state which,
    const struct smtp_outcome *v)
{
	const char *text = NULL;

	if (which == SMTP_RCPT_DONE)
		return;
	for (size_t i = 0; i < o->nrcpt; i++)
		if (o->state[i] == which) {
			if (text == NULL)
				text = keep(o, v->text);
			set(o, i, v, text);
		}
}

void
smtp_outcomes_decide_one(struct smtp_outcomes *o, size_t i, const struct smtp_outcome *v)
{
	if (o->state[i] != SMTP_RCPT_DONE)
		set(o, i, v, keep(o, v->text));
}

bool
smtp_outcomes_all_decided(const struct smtp_outcomes *o)
{
	for (size_t i = 0; i < o->nrcpt; i++)
		if (o->state[i] != SMTP_RCPT_DONE)
			return false;
	return true;
}

const struct smtp_outcome *
smtp_outcomes_list(const struct smtp_outcomes *o)
{
	return o->res;
}

enum smtp_status
smtp_status_of(int code)
{
	return code >= 200 && code < 300 ? SMTP_STATUS_OK
	    : code >= 400 && code < 500  ? SMTP_STATUS_TEMPFAIL
					 : SMTP_STATUS_PERMFAIL;
}

struct smtp_outcome
smtp_outcome_make(enum smtp_status st, const char *esc, const char *text)
{
	struct smtp_outcome v;
	size_t n = esc ? strlen(esc) : 0;

	memset(&v, 0, sizeof v);
	v.status = st;
	if (n < sizeof v.esc)
		memcpy(v.esc, esc ? esc : "", n + 1);
	v.text = text;
	return v;
}

/* The reply's lines joined by one SP into out (SMTP_OUTCOME_TEXT_MAX + 1
 * octets); a text that does not fit is cut and ends in "...". */
static void
join_text(const struct smtp_reply *r, char *out)
{
	size_t o = 0;
	bool cut = false;

	for (size_t i = 0; i < r->nlines && !cut; i++) {
		struct span l = r->lines[i];
		size_t room;

		if (l.len == 0)
			continue;
		if (o > 0 && o < SMTP_OUTCOME_TEXT_MAX)
			out[o++] = ' ';
		room = SMTP_OUTCOME_TEXT_MAX - o;
		cut = l.len > room;
		memcpy(out + o, l.p, cut ? room : l.len);
		o += cut ? room : l.len;
	}
	if (cut)
		memcpy(out + SMTP_OUTCOME_TEXT_MAX - 3, "...", 3);
	out[o] = '\0';
}

struct smtp_outcome
smtp_outcome_of_reply(const struct smtp_reply *r, char *buf)
{
	struct smtp_outcome v = smtp_outcome_make(smtp_status_of(r->code), r->esc, buf);

	join_text(r, buf);
	v.code = r->code;
	return v;
}
