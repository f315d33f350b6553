/* send.c - `postino send` and `sendmail` (see send.h).
 * Owns: option parsing (one table of sendmail's letters), the envelope:
 * sender and recipients validated and qualified (a bare sender gets
 * @server.hostname, a bare recipient the first local domain), duplicates
 * dropped; the way in: the daemon's socket, else the maildrop; the exit status.
 * Leaves: the message (draft.c), SMTP (submit.c), the maildrop file
 * (maildrop.c).
 * Invariant: the message is read and checked completely before anything is
 * sent, and it is either handed over (socket or maildrop) or an error says
 * it was not: exit 0 never means lost. */
#include "send/send.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "send/addrlist.h"
#include "send/draft.h"
#include "send/maildrop.h"
#include "send/submit.h"
#include "smtp/address.h"
#include "smtp/chars.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/random.h"

#define SEND_UNIQUE_BYTES 8      /* random octets in Message-ID and the maildrop name */
#define SEND_WHY_MAX 512
#define SEND_FULLNAME_MAX 256    /* -F: octets of the name in an added From field */

/* ---- options ---- */

typedef int opt_fn(struct send_args *a, const char *arg);

/* One sendmail option letter: whether it takes an argument (attached, as in
 * -fuser, or the next word), and what it does; NULL: taken and ignored, as
 * sendmail ignores it. */
struct opt {
	char letter;
	bool has_arg;
	opt_fn *fn;
};

static int
usage_error(const struct send_args *a, const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s%s%s\n", a->prog, what, detail ? ": " : "", detail ? detail : "");
	return -1;
}

static int
opt_config(struct send_args *a, const char *arg)
{
	a->config = arg;
	return 0;
}

static int
opt_fullname(struct send_args *a, const char *arg)
{
	if (strlen(arg) > SEND_FULLNAME_MAX)
		return usage_error(a, "-F: the name is too long", NULL);
	for (const char *p = arg; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return usage_error(a, "-F: a name may not hold control characters", NULL);
	a->fullname = arg;
	return 0;
}

static int
opt_sender(struct send_args *a, const char *arg)
{
	a->sender = arg;
	return 0;
}

/* -N never | a comma list of success, failure, delay (RFC 3461 4.1). */
static int
opt_notify(struct send_args *a, const char *arg)
{
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = { { "never", SMTP_NOTIFY_NEVER }, { "success", SMTP_NOTIFY_SUCCESS },
		{ "failure", SMTP_NOTIFY_FAILURE }, { "delay", SMTP_NOTIFY_DELAY } };
	struct span s = span_cstr(arg);
	unsigned bits = 0;

	while (s.len > 0) {
		const char *comma = memchr(s.p, ',', s.len);
		struct span w = span_make(s.p, comma ? (size_t)(comma - s.p) : s.len);
		unsigned bit = 0;

		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (span_eq_cstr_nocase(w, words[i].name))
				bit = words[i].bit;
		if (bit == 0)
			return usage_error(a, "-N: want never, or success,failure,delay", arg);
		bits |= bit;
		s = comma ? span_make(comma + 1, s.len - w.len - 1) : span_make(s.p + s.len, 0);
	}
	if (bits == 0 || ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER))
		return usage_error(a, "-N: want never, or success,failure,delay", arg);
	a->notify = bits;
	return 0;
}

/* -b MODE: m (deliver, the default) and s (SMTP on stdin/stdout); i
 * (newaliases) has nothing to build here. */
static int
opt_mode(struct send_args *a, const char *arg)
{
	if (strcmp(arg, "m") == 0)
		return 0;
	if (strcmp(arg, "s") == 0) {
		a->smtp_stdio = true;
		return 0;
	}
	if (strcmp(arg, "i") == 0) {
		a->nothing_to_do = true;
		return 0;
	}
	if (strcmp(arg, "p") == 0)
		return usage_error(a, "-bp: use `postino queue list`", NULL);
	if (strcmp(arg, "d") == 0 || strcmp(arg, "D") == 0)
		return usage_error(a, "-bd: use `postino serve`", NULL);
	return usage_error(a, "this mode is not supported", arg);
}

/* -o OPTION: only -oi (a lone dot is a line) changes anything. */
static int
opt_option(struct send_args *a, const char *arg)
{
	if (strcmp(arg, "i") == 0)
		a->ignore_dots = true;
	return 0;
}

static int
opt_dots(struct send_args *a, const char *arg)
{
	a->ignore_dots = true;
	return 0;
}

static int
opt_extract(struct send_args *a, const char *arg)
{
	a->extract = true;
	return 0;
}

static int
opt_verbose(struct send_args *a, const char *arg)
{
	a->verbose = true;
	return 0;
}

static int
opt_aliases(struct send_args *a, const char *arg)
{
	a->nothing_to_do = true;
	return 0;
}

static int
opt_queue(struct send_args *a, const char *arg)
{
	return usage_error(a, "-q: the daemon runs the queue; use `postino queue flush`", NULL);
}

static const struct opt opts[] = {
	{ 'A', true, NULL },          /* -Am/-Ac: which sendmail.cf */
	{ 'B', true, NULL },          /* body type: 8-bit content is seen anyway */
	{ 'C', true, opt_config },
	{ 'F', true, opt_fullname },
	{ 'G', false, NULL },         /* gateway submission */
	{ 'I', false, opt_aliases },  /* old -bi */
	{ 'L', true, NULL },          /* syslog tag */
	{ 'M', true, NULL },          /* macro */
	{ 'N', true, opt_notify },
	{ 'O', true, NULL },          /* Option=value */
	{ 'R', true, NULL },          /* RET= */
	{ 'U', false, NULL },         /* initial user submission */
	{ 'V', true, NULL },          /* ENVID= */
	{ 'X', true, NULL },          /* traffic log */
	{ 'b', true, opt_mode },
	{ 'c', true, opt_config },    /* postino send only; sendmail's -c is a flag */
	{ 'd', true, NULL },          /* debug flags */
	{ 'e', true, NULL },          /* error mode */
	{ 'f', true, opt_sender },
	{ 'h', true, NULL },          /* hop count */
	{ 'i', false, opt_dots },
	{ 'm', false, NULL },         /* me too */
	{ 'n', false, NULL },         /* no aliasing */
	{ 'o', true, opt_option },
	{ 'p', true, NULL },          /* protocol and host */
	{ 'q', false, opt_queue },
	{ 'r', true, opt_sender },    /* old -f */
	{ 's', false, NULL },         /* save From lines */
	{ 't', false, opt_extract },
	{ 'v', false, opt_verbose },
};

static const struct opt *
find_opt(char letter, bool sendmail_name)
{
	static const struct opt old_c = { 'c', false, NULL };   /* HoldExpensive */

	if (letter == 'c' && sendmail_name)
		return &old_c;
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i].letter == letter)
			return &opts[i];
	return NULL;
}

/* One argument of option letters ("-ti", "-fuser", "-odb"); *i moves past
 * the next argument when an option takes it. */
static int
parse_cluster(int argc, char **argv, int *i, bool sendmail_name, struct send_args *a)
{
	const char *s = argv[*i];
	char bad[3] = { '-', 0, 0 };

	for (size_t j = 1; s[j]; j++) {
		const struct opt *o = find_opt(s[j], sendmail_name);
		const char *arg = NULL;

		bad[1] = s[j];
		if (!o)
			return usage_error(a, "unknown option", bad);
		if (o->has_arg) {
			if (s[j + 1] == '\0' && *i + 1 >= argc)
				return usage_error(a, "this option needs an argument", bad);
			arg = s[j + 1] ? s + j + 1 : argv[++*i];
		}
		if (o->fn && o->fn(a, arg) < 0)
			return -1;
		if (o->has_arg)
			break;
	}
	return 0;
}

int
send_parse_args(int argc, char **argv, bool sendmail_name, struct send_args *a)
{
	int i = 0;

	memset(a, 0, sizeof *a);
	a->prog = sendmail_name ? "sendmail" : "postino send";
	for (; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(s, "--help") == 0) {
			a->help = true;
			return 0;
		}
		if (s[0] != '-' || s[1] == '\0')
			break;
		if (parse_cluster(argc, argv, &i, sendmail_name, a) < 0)
			return -1;
	}
	a->nrcpt = argc - i;
	a->rcpt = argv + i;
	return 0;
}

void
send_usage(FILE *out, const char *prog)
{
	fprintf(out,
	    "usage: %s [-t] [-i] [-f SENDER] [-F NAME] [-N DSN] [-v] [-C FILE] [RCPT...]\n"
	    "       %s -bs\n"
	    "Submit the message on stdin to the postino daemon (sendmail-compatible).\n"
	    "  -t          also send to the To, Cc and Bcc addresses of the message\n"
	    "              (Resent-To, -Cc, -Bcc when it has them); Bcc fields are removed\n"
	    "  -i, -oi     a line holding a single \".\" does not end the message\n"
	    "  -f SENDER   the envelope sender (default: you at the configured hostname;\n"
	    "              -f '' or -f '<>' for the null sender); -r is the same\n"
	    "  -F NAME     your full name, for the From field added when the message has none\n"
	    "  -N DSN      never, or any of success,failure,delay: when to report delivery\n"
	    "  -v          show the SMTP conversation with the daemon on stderr\n"
	    "  -bm         deliver the message (the default)\n"
	    "  -bs         speak SMTP on stdin and stdout (relayed to the daemon)\n"
	    "  -C FILE     the configuration file (postino send: -c FILE too)\n"
	    "Other sendmail options (-o..., -R, -V, -B, -U, -m, ...) are accepted and ignored.\n"
	    "A recipient without a domain gets the first local domain. Missing From, Date\n"
	    "and Message-ID fields are added. When the daemon is not running the message is\n"
	    "left in the maildrop, and the daemon takes it from there when it starts.\n"
	    "Exit status (sysexits.h): 0 sent or queued, 64 usage, 65 bad address or message\n"
	    "(too big), 67 unknown recipient, 69 refused, 71 local error, 75 try again later,\n"
	    "78 bad configuration.\n",
	    prog, prog);
}

/* ---- the envelope ---- */

/* What one run of send builds and how it is going. */
struct job {
	const struct send_args *a;
	const struct config *c;
	char sender[SMTP_ADDR_TEXT_MAX];
	char from[SMTP_ADDR_TEXT_MAX];     /* the address for an added From field */
	char **rcpt;
	size_t nrcpt, cap;
	char unique[2 * SEND_UNIQUE_BYTES + 1];
	time_t now;
	struct draft d;
	int status;                        /* worst recipient outcome so far */
	size_t nsent;
};

/* Is there an "@" outside quoted strings? */
static bool
has_domain(const char *spec)
{
	bool quoted = false;

	for (const char *p = spec; *p; p++) {
		if (*p == '\\' && quoted && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '@' && !quoted)
			return true;
	}
	return false;
}

/* An addr-spec as smtp_mailbox_format writes it. A bare local part gets
 * `domain` (a user here: see the callers). */
static int
canon_address(const char *spec, const char *domain, char *out, size_t outlen)
{
	char full[SMTP_ADDR_TEXT_MAX];
	struct smtp_mailbox m;
	int n;

	if (!has_domain(spec)) {
		n = snprintf(full, sizeof full, "%s@%s", spec, domain);
		if (n < 0 || (size_t)n >= sizeof full)
			return -1;
		spec = full;
	}
	if (smtp_parse_mailbox(span_cstr(spec), &m) != SMTP_ARG_OK)
		return -1;
	return smtp_mailbox_format(&m, out, outlen);
}

/* A recipient: a bare local part is a user of this system, so it gets the
 * first local domain (where postmaster@ always is, RFC 5321 4.5.1), or the
 * hostname when there is none. */
static int
canon_rcpt(const struct config *c, const char *spec, char *out, size_t outlen)
{
	const char *domain = c->nlocal_domains > 0 ? c->local_domains[0] : c->server.hostname;

	return canon_address(spec, domain, out, outlen);
}

/* Add a recipient unless it is there already (any case, as the daemon
 * compares them). */
static void
add_rcpt(struct job *j, const char *addr)
{
	for (size_t i = 0; i < j->nrcpt; i++)
		if (strcasecmp(j->rcpt[i], addr) == 0)
			return;
	if (j->nrcpt == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 8;
		j->rcpt = xreallocarray(j->rcpt, j->cap, sizeof *j->rcpt);
	}
	j->rcpt[j->nrcpt++] = xstrdup(addr);
}

/* Every address of an address list given as an argument. */
static int
add_list(struct job *j, const char *list, char *err, size_t errlen)
{
	char spec[SMTP_PATH_MAX], addr[SMTP_ADDR_TEXT_MAX];
	const char *why = NULL;
	struct addrlist al;
	enum addrlist_result r;

	addrlist_init(&al, list, strlen(list));
	while ((r = addrlist_next(&al, spec, sizeof spec, &why)) == ADDRLIST_ADDR) {
		if (canon_rcpt(j->c, spec, addr, sizeof addr) < 0) {
			snprintf(err, errlen, "bad recipient address '%.300s'", spec);
			return -1;
		}
		add_rcpt(j, addr);
	}
	if (r == ADDRLIST_ERROR) {
		snprintf(err, errlen, "bad recipient list '%.300s': %s", list, why);
		return -1;
	}
	return 0;
}

/* draft.c's callback for -t. */
static int
header_rcpt(void *arg, const char *spec, const char *field, char *err, size_t errlen)
{
	struct job *j = arg;
	char addr[SMTP_ADDR_TEXT_MAX];

	if (canon_rcpt(j->c, spec, addr, sizeof addr) < 0) {
		snprintf(err, errlen, "bad address in the %s field: '%.300s'", field, spec);
		return -1;
	}
	add_rcpt(j, addr);
	return 0;
}

/* -f: "", "<>" or "< >" is the null sender; else one address (a name and
 * angle brackets are allowed, as sendmail allows them). */
static int
parse_sender(struct job *j, const char *arg)
{
	char spec[SMTP_PATH_MAX], more[SMTP_PATH_MAX];
	const char *why = NULL;
	struct addrlist al;
	struct span t = span_trim(span_cstr(arg));

	if (t.len == 0 || (t.len >= 2 && t.p[0] == '<' && t.p[t.len - 1] == '>' &&
			      span_trim(span_make(t.p + 1, t.len - 2)).len == 0)) {
		j->sender[0] = '\0';
		return 0;
	}
	addrlist_init(&al, arg, strlen(arg));
	if (addrlist_next(&al, spec, sizeof spec, &why) != ADDRLIST_ADDR ||
	    addrlist_next(&al, more, sizeof more, &why) != ADDRLIST_END)
		return -1;
	return canon_address(spec, j->c->server.hostname, j->sender, sizeof j->sender);
}

/* The name for an added From field as an RFC 5322 3.2.5 phrase: atoms and
 * spaces as they are (UTF-8 too, RFC 6532), anything else quoted. */
static int
put_phrase(struct buf *b, const char *name)
{
	bool plain = name[0] != ' ' && name[strlen(name) - 1] != ' ';
	int rc = 0;

	for (const char *p = name; *p && plain; p++)
		plain = *p == ' ' || is_atext((unsigned char)*p) || (unsigned char)*p >= 0x80;
	if (plain)
		return buf_append_str(b, name);
	rc |= buf_append(b, "\"", 1);
	for (const char *p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			rc |= buf_append(b, "\\", 1);
		rc |= buf_append(b, p, 1);
	}
	rc |= buf_append(b, "\"", 1);
	return rc < 0 ? -1 : 0;
}

/* The body of a From field to add: "Name <address>" with -F, else the
 * address; the sender's, or the user's when the sender is <>. */
static int
from_value(const struct job *j, struct buf *b)
{
	const char *addr = j->sender[0] ? j->sender : j->from;
	const char *name = j->a->fullname;

	if (name == NULL || name[0] == '\0')
		return buf_append_str(b, addr);
	if (put_phrase(b, name) < 0)
		return -1;
	return buf_printf(b, " <%s>", addr);
}

static int
fail(const struct job *j, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print "PROG: message" and return status. */
static int
fail(const struct job *j, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", j->a->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/* 16 hex digits from the kernel's random source. */
static int
make_unique(char *out)
{
	unsigned char rnd[SEND_UNIQUE_BYTES];

	if (random_bytes(rnd, sizeof rnd) < 0)
		return -1;
	for (size_t i = 0; i < sizeof rnd; i++) {
		out[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	}
	out[2 * sizeof rnd] = '\0';
	return 0;
}

/* The sender, the user's own address, the recipients of the arguments. */
static int
prepare(struct job *j)
{
	const struct send_args *a = j->a;
	struct passwd *pw = getpwuid(getuid());
	char err[SEND_WHY_MAX];

	if (!a->extract && a->nrcpt == 0)
		return fail(j, EX_USAGE, "no recipients (give addresses, or -t to read them from "
					 "the message)");
	if (!pw)
		return fail(j, EX_OSERR, "no user name for uid %lu", (unsigned long)getuid());
	if (canon_address(pw->pw_name, j->c->server.hostname, j->from, sizeof j->from) < 0)
		return fail(j, EX_DATAERR, "user name '%s' is no valid address", pw->pw_name);
	if (a->sender == NULL)
		memcpy(j->sender, j->from, sizeof j->sender);
	else if (parse_sender(j, a->sender) < 0)
		return fail(j, EX_DATAERR, "bad sender address '%s'", a->sender);
	for (int i = 0; i < a->nrcpt; i++)
		if (add_list(j, a->rcpt[i], err, sizeof err) < 0)
			return fail(j, EX_DATAERR, "%s", err);
	if (make_unique(j->unique) < 0)
		return fail(j, EX_OSERR, "no random numbers: %s", strerror(errno));
	j->now = time(NULL);
	return EX_OK;
}

/* The whole message from stdin, before anything is sent. */
static int
read_message(struct job *j)
{
	char b[65536];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, b, sizeof b);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(j, EX_TEMPFAIL, "cannot read the message: %s", strerror(errno));
		if (n == 0) {
			draft_end(&j->d);
			return EX_OK;
		}
		if (!draft_feed(&j->d, b, (size_t)n))
			return EX_OK;
	}
}

/* The header fixed, -t's recipients taken. */
static int
finish_message(struct job *j)
{
	struct buf from;
	struct draft_fix fix = {
		.extract = j->a->extract, .hostname = j->c->server.hostname, .now = j->now,
		.pid = (long)getpid(), .unique = j->unique, .rcpt = header_rcpt, .arg = j,
	};
	int rc = EX_OK;

	buf_init(&from, 4 * SMTP_ADDR_TEXT_MAX);
	if (from_value(j, &from) < 0)
		rc = fail(j, EX_USAGE, "-F: name too long");
	fix.from = from.data;
	if (rc == EX_OK && draft_finish(&j->d, &fix) < 0)
		rc = fail(j, EX_DATAERR, "%s", j->d.err);
	if (rc == EX_OK && j->nrcpt == 0)
		rc = fail(j, EX_USAGE, "no recipients (none in the arguments or the message)");
	buf_reset(&from);
	return rc;
}

/* ---- outcomes ---- */

/* The exit status for a refused recipient (sysexits.h, as sendmail). */
static int
status_of(const struct smtp_outcome *o)
{
	if (o->status == SMTP_STATUS_TEMPFAIL)
		return EX_TEMPFAIL;
	if (o->code == 550 && strcmp(o->esc, "5.1.1") == 0)
		return EX_NOUSER;
	if (strcmp(o->esc, "5.1.3") == 0 || strcmp(o->esc, "5.3.4") == 0 ||
	    strncmp(o->esc, "5.6.", 4) == 0)
		return EX_DATAERR;   /* bad address syntax, too big, bad content */
	return EX_UNAVAILABLE;
}

/* The worse of two statuses: a retry may help most, an unknown user least. */
static int
worse(int a, int b)
{
	static const int order[] = { EX_OK, EX_NOUSER, EX_DATAERR, EX_UNAVAILABLE, EX_TEMPFAIL };
	size_t ra = 0, rb = 0;

	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		ra = order[i] == a ? i : ra;
		rb = order[i] == b ? i : rb;
	}
	return rb > ra ? b : a;
}

/* submit.c's callback: one recipient's outcome. */
static void
on_result(void *arg, size_t i, const struct smtp_outcome *o)
{
	struct job *j = arg;
	char code[8] = "";

	if (o->code)
		snprintf(code, sizeof code, "%d ", o->code);
	if (o->status == SMTP_STATUS_OK) {
		j->nsent++;
		if (j->a->verbose)
			fprintf(stderr, "%s: <%s>: sent (%s%s%s%s)\n", j->a->prog, j->rcpt[i], code,
			    o->esc, o->esc[0] ? " " : "", o->text);
		return;
	}
	fprintf(stderr, "%s: <%s>: %s: %s%s%s%s\n", j->a->prog, j->rcpt[i],
	    o->status == SMTP_STATUS_TEMPFAIL ? "not sent, try again later" : "refused", code,
	    o->esc, o->esc[0] ? " " : "", o->text);
	j->status = worse(j->status, status_of(o));
}

/* ---- the way in ---- */

/* The daemon is not there: leave the message in the maildrop. */
static int
to_maildrop(struct job *j, const char *why)
{
	char path[4096];
	struct maildrop_msg m = {
		.uid = getuid(), .now = j->now, .pid = (long)getpid(), .unique = j->unique,
		.sender = j->sender, .nrcpt = j->nrcpt, .rcpt = (const char *const *)j->rcpt,
		.head = draft_head(&j->d), .body = draft_body(&j->d),
	};

	if (maildrop_write(j->c->server.spool, &m, path, sizeof path) < 0)
		return fail(j, EX_TEMPFAIL, "the mail system is not running (%s) and the maildrop "
					   "%s/maildrop cannot be written (%s): the message was "
					   "NOT sent",
		    why, j->c->server.spool, strerror(errno));
	if (j->a->verbose)
		fprintf(stderr, "%s: %s: left in %s\n", j->a->prog, why, path);
	return fail(j, EX_OK, "the mail system is not running; your message was queued for it "
			      "(maildrop)");
}

/* Through the daemon's socket when it answers, else the maildrop. */
static int
deliver(struct job *j)
{
	size_t batch = j->c->server.max_recipients ? j->c->server.max_recipients : 1;
	struct submit_msg m = {
		.sender = j->sender, .nrcpt = j->nrcpt, .rcpt = (const char *const *)j->rcpt,
		.notify = j->a->notify, .head = draft_head(&j->d), .body = draft_body(&j->d),
		.size = draft_wire_size(&j->d), .eightbit = draft_is_8bit(&j->d), .batch = batch,
		.verbose = j->a->verbose, .result = on_result, .arg = j,
	};
	char why[SEND_WHY_MAX];
	int fd = submit_connect(j->c->server.spool);
	enum submit_end end;

	if (fd < 0) {
		snprintf(why, sizeof why, "%s/%s: %s", j->c->server.spool, SUBMIT_SOCKET,
		    strerror(errno));
		return to_maildrop(j, why);
	}
	end = submit_session(fd, &m, why, sizeof why);
	close(fd);
	if (end == SUBMIT_NOT_READY)
		return to_maildrop(j, why);
	return j->status;
}

/* -bs: the user's SMTP session, relayed to the daemon. */
static int
relay_stdio(struct job *j)
{
	int fd = submit_connect(j->c->server.spool);
	int rc;

	if (fd < 0)
		return fail(j, EX_TEMPFAIL, "the mail system is not running (%s/%s: %s)",
		    j->c->server.spool, SUBMIT_SOCKET, strerror(errno));
	rc = submit_relay(fd, STDIN_FILENO, STDOUT_FILENO);
	close(fd);
	if (rc < 0)
		return fail(j, EX_TEMPFAIL, "SMTP relay to the daemon failed: %s", strerror(errno));
	return EX_OK;
}

int
send_run(const struct send_args *a, const struct config *c)
{
	struct job j = { .a = a, .c = c, .status = EX_OK };
	int rc;

	(void)signal(SIGPIPE, SIG_IGN);   /* a closed peer is an error to report */
	if (a->nothing_to_do)
		return EX_OK;
	if (a->smtp_stdio)
		return relay_stdio(&j);
	draft_init(&j.d, a->ignore_dots, c->server.max_message_size);
	rc = prepare(&j);
	if (rc == EX_OK)
		rc = read_message(&j);
	if (rc == EX_OK)
		rc = finish_message(&j);
	if (rc == EX_OK)
		rc = deliver(&j);
	draft_reset(&j.d);
	for (size_t i = 0; i < j.nrcpt; i++)
		free(j.rcpt[i]);
	free(j.rcpt);
	return rc;
}
