/* fuzz_smtp_server.c - the SMTP server core against arbitrary client bytes.
 * The first input byte chooses the feed size and how the fake owner answers
 * (accept, reject, accept with a failing sink), whether STARTTLS and AUTH
 * are offered, so splits and verdict paths (AUTH, ATRN included) are explored
 * along with the bytes. Checks: no crash or leak (sanitizers), the core
 * always makes progress, output stays bounded, and nothing at all is run
 * after the session closed or turned round (ATRN). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_server.h"
#include "util/log.h"

struct owner {
	struct smtp_server *s;
	unsigned mode;
	unsigned n;
	bool reversed;          /* ATRN accepted */
};

static int
sink(void *arg, const char *p, size_t n)
{
	struct owner *o = arg;

	if (n > 16384 + 1)
		abort();   /* chunks are bounded by SMTP_DATA_CHUNK + 1 */
	return (o->mode & 4) && ++o->n % 3 == 0 ? -1 : 0;
}

static void
decide(struct owner *o, const struct smtp_event *ev)
{
	bool no = (o->mode & 2) && (++o->n % 2 == 0);

	switch (ev->type) {
	case SMTP_EV_MAIL:
	case SMTP_EV_RCPT:
		if (no)
			smtp_server_reject(o->s, 550, "5.1.1", "no");
		else
			smtp_server_accept(o->s, NULL);
		break;
	case SMTP_EV_DATA:
		if (no)
			smtp_server_reject(o->s, 451, "4.3.0", "no");
		else
			smtp_server_accept_data(o->s, sink, o);
		break;
	case SMTP_EV_DATA_END:
		if (ev->status != SMTP_DATA_OK)
			break;
		if (no)
			smtp_server_reject(o->s, 451, "4.3.0", "no");
		else
			smtp_server_accept(o->s, "Ok: queued as FUZZ");
		break;
	case SMTP_EV_STARTTLS:
		smtp_server_tls_started(o->s);
		break;
	case SMTP_EV_AUTH:
	case SMTP_EV_AUTH_RESPONSE:
		if (no) {
			smtp_server_reject(o->s, 535, "5.7.8", "no");
		} else if (ev->type == SMTP_EV_AUTH && ev->initial.len == 0) {
			smtp_server_auth_continue(o->s, "");
		} else {
			smtp_server_set_authenticated(o->s, "u@example.test");
			smtp_server_accept(o->s, NULL);
		}
		break;
	case SMTP_EV_ATRN:
		if (no) {
			smtp_server_reject(o->s, 453, "4.0.0", "You have no mail");
		} else {
			smtp_server_accept(o->s, NULL);
			o->reversed = true;
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_server_conf conf = {
		.hostname = "mx.example.test",
		.max_message_size = 4096,
		.max_recipients = 3,
		.max_errors = 20,
	};
	struct owner o = { 0 };
	size_t off = 1, step;
	int stall = 0;

	if (size < 1)
		return 0;
	o.mode = data[0];
	conf.starttls = o.mode & 8;
	conf.auth = o.mode & 1;
	conf.auth_required = o.mode & 16;
	step = (o.mode >> 5) ? (size_t)(o.mode >> 5) * 3 : size;
	o.s = smtp_server_new(&conf);
	while (stall < 3) {
		size_t want = size - off < step ? size - off : step, used;
		struct smtp_event ev;
		bool got;

		used = smtp_server_feed(o.s, (const char *)data + off, want);
		if (used > want)
			abort();
		off += used;
		got = smtp_server_next(o.s, &ev);
		if (got)
			decide(&o, &ev);
		if (smtp_server_output(o.s)->len > 1u << 20)
			abort();  /* replies must not grow without bound */
		/* the owner sends everything at once */
		buf_clear(smtp_server_output(o.s));
		if (o.reversed) {
			/* after the turn the core runs nothing: no reply, no event */
			buf_clear(smtp_server_output(o.s));
			smtp_server_feed(o.s, "NOOP\r\n", 6);
			if (smtp_server_output(o.s)->len != 0 || smtp_server_next(o.s, &ev))
				abort();
			break;
		}
		if (smtp_server_is_closing(o.s)) {
			/* nothing runs after the end: feeding more yields no reply */
			smtp_server_feed(o.s, "NOOP\r\n", 6);
			if (smtp_server_output(o.s)->len != 0 || smtp_server_next(o.s, &ev))
				abort();
			break;
		}
		stall = (!got && used == 0) ? stall + 1 : 0;
	}
	/* all input is consumed unless the session closed or turned round */
	if (!smtp_server_is_closing(o.s) && !o.reversed && off != size)
		abort();
	smtp_server_free(o.s);
	return 0;
}
