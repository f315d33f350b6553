/* local.c - local submission socket and maildrop import (see local.h).
 * The socket is only the way in: sessions on it are ordinary SMTP sessions
 * (session.c), identified by the kernel's account of the peer. The maildrop
 * is imported with the owner of each file, not what the file claims, taken
 * as the submitting user. */
#include "daemon/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "smtp/address.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAILDROP_HEADER_MAX 65536   /* the envelope lines of one maildrop file */

int
local_listen(const char *spool_dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char drop[4096];
	int fd = -1, n;

	n = snprintf(sun.sun_path, sizeof sun.sun_path, "%s/submit", spool_dir);
	if (n < 0 || (size_t)n >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(drop, sizeof drop, "%s/maildrop", spool_dir);
	if (chmod(spool_dir, 0711) < 0 || (mkdir(drop, 01733) < 0 && errno != EEXIST) ||
	    chmod(drop, 01733) < 0)
		return -1;
	(void)unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    chmod(sun.sun_path, 0666) < 0 || listen(fd, 128) < 0) {
		int saved = errno;

		if (fd >= 0)
			close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Read a whole maildrop file (bounded); NULL with errno. */
static char *
slurp(int dirfd, const char *name, uint64_t max, size_t *len, uid_t *owner)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *p = NULL;
	ssize_t r;
	size_t off = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	*owner = st.st_uid;
	p = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size && (r = read(fd, p + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)r;
	close(fd);
	p[off] = '\0';
	*len = off;
	return p;
}

/* The next envelope line of a maildrop file: "key value"; false at the
 * empty line that ends the envelope or on a malformed line. */
static bool
next_line(const char **p, const char *end, struct span *key, struct span *val, bool *blank)
{
	const char *eol = memchr(*p, '\n', (size_t)(end - *p)), *sp;

	*blank = false;
	if (!eol || eol - *p > MAILDROP_HEADER_MAX)
		return false;
	if (eol == *p) {
		*blank = true;
		*p = eol + 1;
		return false;
	}
	sp = memchr(*p, ' ', (size_t)(eol - *p));
	*key = span_make(*p, sp ? (size_t)(sp - *p) : (size_t)(eol - *p));
	*val = sp ? span_make(sp + 1, (size_t)(eol - sp - 1)) : span_make(eol, 0);
	*p = eol + 1;
	return true;
}

static void
add_target(struct spool_envelope *env, const char *address, const char *orig, bool local)
{
	for (size_t i = 0; i < env->nrcpts; i++)
		if (strcasecmp(env->rcpts[i].address, address) == 0)
			return;
	env->rcpts = xreallocarray(env->rcpts, env->nrcpts + 1, sizeof *env->rcpts);
	memset(&env->rcpts[env->nrcpts], 0, sizeof *env->rcpts);
	env->rcpts[env->nrcpts].address = xstrdup(address);
	env->rcpts[env->nrcpts].orig = xstrdup(orig);
	env->rcpts[env->nrcpts].local = local;
	env->nrcpts++;
}

/* One "rcpt" line: resolved as at RCPT (local users may send anywhere). */
static void
add_rcpt(struct spool_envelope *env, struct span v, const struct config *cfg,
    const struct mailboxes *mb, const char *name)
{
	struct smtp_mailbox m;
	struct mailboxes_target *t = NULL;
	size_t nt = 0;
	char text[SMTP_ADDR_TEXT_MAX];

	if (smtp_parse_mailbox(v, &m) != SMTP_ARG_OK ||
	    smtp_mailbox_format(&m, text, sizeof text) < 0) {
		log_warn("- maildrop.rcpt_refused file=%s reason=\"bad address\"", name);
		return;
	}
	switch (mailboxes_resolve(mb, cfg, m.local, m.domain, &t, &nt)) {
	case MAILBOXES_OK:
		for (size_t i = 0; i < nt; i++)
			add_target(env, t[i].address, text, t[i].local);
		break;
	case MAILBOXES_REMOTE:
		add_target(env, text, text, false);
		break;
	default:
		log_warn("- maildrop.rcpt_refused file=%s to=<%s> reason=\"unknown recipient\"", name,
		    text);
		break;
	}
	free(t);
}

/* Parse the envelope of a maildrop file; *content points at the message. */
static struct spool_envelope *
parse_envelope(const char *p, size_t len, const struct config *cfg, const struct mailboxes *mb,
    const char *name, const char **content)
{
	const char *end = p + len;
	struct span k, v;
	bool blank = false, have_sender = false;
	struct spool_envelope *env;

	if (!next_line(&p, end, &k, &v, &blank) || !span_eq(k, SPAN_LIT("postino-maildrop")) ||
	    !span_eq(v, SPAN_LIT("1")))
		return NULL;
	env = xcalloc(1, sizeof *env);
	while (next_line(&p, end, &k, &v, &blank)) {
		if (span_eq(k, SPAN_LIT("sender"))) {
			free(env->sender);
			env->sender = xstrndup(v.p, v.len);
			have_sender = true;
		} else if (span_eq(k, SPAN_LIT("rcpt"))) {
			add_rcpt(env, v, cfg, mb, name);
		} else if (!span_eq(k, SPAN_LIT("uid"))) {
			break;   /* unknown line: malformed */
		}
	}
	if (!blank || !have_sender) {
		spool_envelope_free(env);
		return NULL;
	}
	*content = p;
	return env;
}

/* Commit one parsed maildrop message; 0 or -1 with errno. */
static int
commit(struct spool *spool, struct spool_envelope *env, const char *content, size_t len)
{
	char id[SPOOL_ID_LEN + 1];
	struct spool_writer *w = spool_writer_new(spool, id);

	if (!w)
		return -1;
	memcpy(env->id, id, sizeof id);
	for (size_t i = 0; i < len && env->body == SMTP_BODY_7BIT; i++)
		if ((unsigned char)content[i] >= 0x80)
			env->body = SMTP_BODY_8BITMIME;
	if (spool_writer_write(w, content, len) < 0) {
		spool_writer_abort(w);
		return -1;
	}
	env->size = len;
	return spool_writer_commit(w, env);
}

/* Import one file; true when it left the maildrop. */
static bool
import_one(int dirfd, const char *name, struct spool *spool, const struct config *cfg,
    const struct mailboxes *mb, void (*queued)(void *, struct spool_envelope *), void *arg)
{
	size_t len = 0;
	uid_t owner = 0;
	const char *content = NULL;
	char *data = slurp(dirfd, name, cfg->server.max_message_size + MAILDROP_HEADER_MAX, &len,
	    &owner);
	struct spool_envelope *env = data ? parse_envelope(data, len, cfg, mb, name, &content) : NULL;
	struct passwd *pw = getpwuid(owner);
	char refused[300];

	if (!env || env->nrcpts == 0) {
		log_error("- maildrop.refused file=%s reason=\"%s\" (kept as %s.refused)", name,
		    !data ? strerror(errno) : !env ? "malformed" : "no deliverable recipient", name);
		snprintf(refused, sizeof refused, "%s.refused", name);
		(void)renameat(dirfd, name, dirfd, refused);
		spool_envelope_free(env);
		free(data);
		return false;
	}
	env->client_addr = xasprintf("local uid=%u user=%.32s", (unsigned)owner,
	    pw ? pw->pw_name : "unknown");
	env->protocol = xstrdup("local");
	env->received = (int64_t)time(NULL);
	if (commit(spool, env, content, len - (size_t)(content - data)) < 0) {
		log_error("- maildrop.import_failed file=%s error=\"%s\"", name, strerror(errno));
		spool_envelope_free(env);
		free(data);
		return false;
	}
	(void)unlinkat(dirfd, name, 0);
	log_info("%s maildrop.imported file=%s from=<%s> nrcpt=%zu client=\"%s\"", env->id, name,
	    env->sender, env->nrcpts, env->client_addr);
	free(data);
	queued(arg, env);
	return true;
}

int
maildrop_import(const char *spool_dir, struct spool *spool, const struct config *cfg,
    const struct mailboxes *mb, void (*queued)(void *arg, struct spool_envelope *env),
    void *arg)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int n = 0;
	size_t nl;

	snprintf(path, sizeof path, "%s/maildrop", spool_dir);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)) != NULL) {
		nl = strlen(e->d_name);
		if (e->d_name[0] == '.' || (nl > 4 && strcmp(e->d_name + nl - 4, ".tmp") == 0) ||
		    (nl > 8 && strcmp(e->d_name + nl - 8, ".refused") == 0))
			continue;
		n += import_one(dirfd(d), e->d_name, spool, cfg, mb, queued, arg);
	}
	closedir(d);
	return n;
}
