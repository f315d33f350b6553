/* fuzz_smtp_client.c - the SMTP client core against arbitrary server bytes.
 * The first two input bytes choose the feed size, the configuration
 * (STARTTLS allowed, TLS on) and the message (8-bit, SMTPUTF8, DSN, size);
 * the rest is what the server says. The fake owner sends up to three
 * 2-recipient messages, streams a short content, does the TLS handshake
 * when asked, quits when done and reports the end of input as a lost
 * connection. Checks: no crash or leak (sanitizers); the output stays
 * bounded; every message given gets exactly one RESULT with an outcome for
 * each of its 2 recipients; exactly one final event (CLOSED or ERROR), the
 * last; the core always makes progress. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_BOUND 65536

struct owner {
	struct smtp_client *c;
	unsigned mode;
	unsigned sent, results, finals;
	bool waiting;            /* a message was given and its RESULT is due */
};

static const char *const rcpt_ascii[] = { "a@example.org", "b@example.org" };
static const char *const rcpt_utf8[] = { "\xc3\xbc@example.org", "b@example.org" };
static const unsigned notify[] = { SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_DELAY, SMTP_NOTIFY_NEVER };
static const char *const orcpt[] = { "rfc822;a@example.org", NULL };

static void
give_message(struct owner *o)
{
	struct smtp_client_msg m = {
		.sender = (o->mode & 0x100) ? "" : "s@example.net",
		.nrcpt = 2,
		.rcpt = (o->mode & 0x200) ? rcpt_utf8 : rcpt_ascii,
		.notify = (o->mode & 0x400) ? notify : NULL,
		.orcpt = (o->mode & 0x400) ? orcpt : NULL,
		.envid = (o->mode & 0x400) ? "ENV1" : NULL,
		.ret = (o->mode & 0x400) ? SMTP_RET_FULL : SMTP_RET_NONE,
		.size = (o->mode & 0x800) ? 5000000 : 200,
		.eightbit = (o->mode & 0x1000) != 0,
	};

	if (smtp_client_send(o->c, &m) != 0)
		abort();
	o->sent++;
	o->waiting = true;
}

static void
on_event(struct owner *o, const struct smtp_client_event *ev)
{
	static const char content[] = "Subject: fuzz\n\n.line\n..\nno end";

	if (o->finals > 0)
		abort();     /* nothing after the final event */
	switch (ev->type) {
	case SMTP_CLIENT_EV_READY:
		if (o->waiting)
			abort();
		if (o->sent < 3)
			give_message(o);
		else
			smtp_client_quit(o->c);
		break;
	case SMTP_CLIENT_EV_STARTTLS:
		smtp_client_tls_started(o->c);
		break;
	case SMTP_CLIENT_EV_SEND_CONTENT:
		if (smtp_client_content(o->c, content, sizeof content - 1) != 0 ||
		    smtp_client_content_end(o->c) != 0)
			abort();
		break;
	case SMTP_CLIENT_EV_RESULT:
		if (!o->waiting || ev->nrcpt != 2)
			abort();
		for (size_t i = 0; i < 2; i++)
			if (ev->rcpt[i].text == NULL || (unsigned)ev->rcpt[i].status > 2)
				abort();
		o->waiting = false;
		o->results++;
		break;
	case SMTP_CLIENT_EV_CLOSED:
	case SMTP_CLIENT_EV_ERROR:
		if (o->waiting || ev->why.text == NULL)
			abort();
		o->finals++;
		break;
	default:
		abort();
	}
}

/* Take every event, and send (drop) the output. */
static void
drain(struct owner *o)
{
	struct smtp_client_event ev;
	struct buf *out = smtp_client_output(o->c);

	while (smtp_client_next(o->c, &ev)) {
		on_event(o, &ev);
		if (out->len > OUT_BOUND)
			abort();
		buf_clear(out);
	}
	if (out->len > OUT_BOUND)
		abort();
	buf_clear(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_client_conf conf = { .helo_name = "client.example" };
	struct owner o = { 0 };
	const char *in;
	size_t n, off = 0, step;

	if (size < 2)
		return 0;
	o.mode = (unsigned)data[0] | (unsigned)data[1] << 8;
	conf.starttls_allowed = (o.mode & 0x2000) != 0;
	conf.tls_active = (o.mode & 0x4000) != 0;
	step = data[0] & 0x3f ? (size_t)(data[0] & 0x3f) : size;
	in = (const char *)data + 2;
	n = size - 2;
	o.c = smtp_client_new(&conf);
	while (off < n && !smtp_client_is_closed(o.c)) {
		size_t want = n - off < step ? n - off : step;
		size_t used = smtp_client_feed(o.c, in + off, want);

		off += used;
		drain(&o);
		if (used == 0 && !smtp_client_is_closed(o.c))
			abort();     /* no event pending and nothing taken: stalled */
	}
	if (!smtp_client_is_closed(o.c))
		smtp_client_abort(o.c, "end of input");
	drain(&o);
	if (o.finals != 1 || o.results != o.sent || o.waiting)
		abort();
	smtp_client_free(o.c);
	return 0;
}
