/* dialog_driver.c - the unit driver of the dialog corpus (see dialog_driver.h). */
#include "dialog_driver.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_server.h"
#include "util/buf.h"
#include "util/xalloc.h"

struct expect_n {
	size_t after_s;   /* number of S: lines before it */
	unsigned n;
};

struct script {
	struct buf input;
	char **s;          /* expected reply prefixes */
	size_t ns;
	struct buf *m;     /* expected messages */
	size_t nm;
	struct expect_n *nn;
	size_t nnn;
};

struct owner {
	struct smtp_server *smtp;
	struct buf out;        /* all replies */
	struct buf cur;        /* content of the open message */
	struct buf *msgs;      /* accepted messages */
	size_t *msg_at;        /* output length when each was accepted */
	size_t nmsgs;
};

/* Decode \r \n \0 \t \\ \xHH. */
static void
unescape(struct buf *b, const char *p)
{
	while (*p) {
		char c = *p++;

		if (c == '\\' && *p) {
			char e = *p++;

			if (e == 'r')
				c = '\r';
			else if (e == 'n')
				c = '\n';
			else if (e == '0')
				c = '\0';
			else if (e == 't')
				c = '\t';
			else if (e == 'x' && p[0] && p[1]) {
				char h[3] = { p[0], p[1], 0 };

				c = (char)strtol(h, NULL, 16);
				p += 2;
			} else
				c = e;
		}
		buf_append(b, &c, 1);
	}
}

static void
parse_script(const char *text, struct script *sc)
{
	const char *p = text;

	memset(sc, 0, sizeof *sc);
	buf_init(&sc->input, 1u << 26);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char *line = xstrndup(p, len);
		const char *v = len >= 3 ? line + 3 : "";

		if (strncmp(line, "C: ", 3) == 0 || strcmp(line, "C:") == 0) {
			buf_append_str(&sc->input, v);
			buf_append(&sc->input, "\r\n", 2);
		} else if (strncmp(line, "R: ", 3) == 0) {
			unescape(&sc->input, v);
		} else if (strncmp(line, "S: ", 3) == 0) {
			sc->s = xreallocarray(sc->s, sc->ns + 1, sizeof *sc->s);
			sc->s[sc->ns++] = xstrdup(v);
		} else if (strncmp(line, "M: ", 3) == 0 || strcmp(line, "M:") == 0) {
			sc->m = xreallocarray(sc->m, sc->nm + 1, sizeof *sc->m);
			buf_init(&sc->m[sc->nm], 1u << 26);
			unescape(&sc->m[sc->nm++], v);
		} else if (strncmp(line, "N: ", 3) == 0) {
			sc->nn = xreallocarray(sc->nn, sc->nnn + 1, sizeof *sc->nn);
			sc->nn[sc->nnn].after_s = sc->ns;
			sc->nn[sc->nnn++].n = (unsigned)strtoul(v, NULL, 10);
		}
		free(line);
		p += len + (eol ? 1 : 0);
	}
}

static void
free_script(struct script *sc)
{
	buf_reset(&sc->input);
	for (size_t i = 0; i < sc->ns; i++)
		free(sc->s[i]);
	for (size_t i = 0; i < sc->nm; i++)
		buf_reset(&sc->m[i]);
	free(sc->s);
	free(sc->m);
	free(sc->nn);
}

static int
sink(void *arg, const char *p, size_t n)
{
	return buf_append(&((struct owner *)arg)->cur, p, n);
}

static void
decide_rcpt(struct owner *o, const struct smtp_path *path)
{
	static const char *const users[] = { "alice", "bob", "postmaster" };

	if (path->kind == SMTP_PATH_POSTMASTER) {
		smtp_server_accept(o->smtp, NULL);
		return;
	}
	if (strcasecmp(path->mbox.domain, "example.test") != 0) {
		smtp_server_reject(o->smtp, 554, "5.7.1", "Relay access denied");
		return;
	}
	for (size_t i = 0; i < 3; i++)
		if (strcasecmp(path->mbox.local, users[i]) == 0) {
			smtp_server_accept(o->smtp, NULL);
			return;
		}
	smtp_server_reject(o->smtp, 550, "5.1.1", "User unknown");
}

static void
collect_output(struct owner *o)
{
	struct buf *b = smtp_server_output(o->smtp);

	buf_append(&o->out, b->data, b->len);
	buf_clear(b);
}

static void
handle(struct owner *o, const struct smtp_event *ev)
{
	switch (ev->type) {
	case SMTP_EV_MAIL:
		buf_clear(&o->cur);
		smtp_server_accept(o->smtp, NULL);
		break;
	case SMTP_EV_RCPT:
		decide_rcpt(o, ev->path);
		break;
	case SMTP_EV_DATA:
		buf_clear(&o->cur);
		smtp_server_accept_data(o->smtp, sink, o);
		break;
	case SMTP_EV_DATA_END:
		if (ev->status != SMTP_DATA_OK)
			break;
		smtp_server_accept(o->smtp, "Ok: queued as TEST");
		collect_output(o);
		o->msgs = xreallocarray(o->msgs, o->nmsgs + 1, sizeof *o->msgs);
		o->msg_at = xreallocarray(o->msg_at, o->nmsgs + 1, sizeof *o->msg_at);
		buf_init(&o->msgs[o->nmsgs], 1u << 26);
		buf_append(&o->msgs[o->nmsgs], o->cur.data ? o->cur.data : "", o->cur.len);
		o->msg_at[o->nmsgs++] = o->out.len;
		break;
	default:
		break;
	}
}

/* Feed everything; returns false when the core stalls. */
static bool
run(struct owner *o, const struct buf *in, size_t split)
{
	size_t off = 0;

	for (int idle = 0; idle < 3;) {
		size_t want = in->len - off, n;
		struct smtp_event ev;
		bool got;

		if (split && want > split)
			want = split;
		n = smtp_server_feed(o->smtp, in->data + off, want);
		off += n;
		got = smtp_server_next(o->smtp, &ev);
		if (got)
			handle(o, &ev);
		collect_output(o);
		if (smtp_server_is_closing(o->smtp))
			return true;
		if (!got && n == 0)
			idle++;
		else
			idle = 0;
	}
	return off == in->len;
}

static char *
check(struct owner *o, const struct script *sc)
{
	const char *p = o->out.data ? o->out.data : "";
	size_t si = 0, pos = 0;

	for (; si < sc->ns; si++) {
		const char *eol = strstr(p + pos, "\r\n");
		size_t len;

		for (size_t k = 0; k < sc->nnn; k++) {
			unsigned have = 0;

			if (sc->nn[k].after_s != si)
				continue;
			for (size_t j = 0; j < o->nmsgs; j++)
				have += o->msg_at[j] <= pos;
			if (have != sc->nn[k].n)
				return xasprintf("before S line %zu: %u messages, want %u", si + 1,
				    have, sc->nn[k].n);
		}
		if (!eol)
			return xasprintf("S line %zu: got end of output, want '%s'", si + 1, sc->s[si]);
		len = (size_t)(eol - (p + pos));
		if (strncmp(p + pos, sc->s[si], strlen(sc->s[si])) != 0 || strlen(sc->s[si]) > len)
			return xasprintf("S line %zu: got '%.*s', want prefix '%s'", si + 1, (int)len,
			    p + pos, sc->s[si]);
		pos += len + 2;
	}
	for (size_t k = 0; k < sc->nnn; k++)
		if (sc->nn[k].after_s == sc->ns && o->nmsgs != sc->nn[k].n)
			return xasprintf("at the end: %zu messages, want %u", o->nmsgs, sc->nn[k].n);
	if (pos != o->out.len)
		return xasprintf("unexpected output after the last S line: '%s'", p + pos);
	if (sc->nm > o->nmsgs)
		return xasprintf("%zu messages stored, want at least %zu", o->nmsgs, sc->nm);
	for (size_t i = 0; i < sc->nm; i++)
		if (sc->m[i].len != o->msgs[i].len ||
		    memcmp(sc->m[i].data ? sc->m[i].data : "", o->msgs[i].data ? o->msgs[i].data : "",
			sc->m[i].len) != 0)
			return xasprintf("message %zu: got '%.*s', want '%.*s'", i + 1,
			    (int)o->msgs[i].len, o->msgs[i].data ? o->msgs[i].data : "",
			    (int)sc->m[i].len, sc->m[i].data ? sc->m[i].data : "");
	return NULL;
}

char *
dialog_play(const char *text, size_t split)
{
	struct smtp_server_conf conf = {
		.hostname = "mx.example.test",
		.max_message_size = 10000,
		.max_recipients = 5,
		.max_errors = 10,
	};
	struct script sc;
	struct owner o = { 0 };
	char *err;

	parse_script(text, &sc);
	o.smtp = smtp_server_new(&conf);
	buf_init(&o.out, 1u << 26);
	buf_init(&o.cur, 1u << 26);
	if (!run(&o, &sc.input, split))
		err = xasprintf("the core stopped consuming input (output so far: '%s')",
		    o.out.data ? o.out.data : "");
	else
		err = check(&o, &sc);
	smtp_server_free(o.smtp);
	buf_reset(&o.out);
	buf_reset(&o.cur);
	for (size_t i = 0; i < o.nmsgs; i++)
		buf_reset(&o.msgs[i]);
	free(o.msgs);
	free(o.msg_at);
	free_script(&sc);
	return err;
}
