/* config.c - the configuration file: INI items -> typed, validated struct config.
 * Owns: walking the file's items in order (sections, listeners, duplicates,
 * unknown names), the embedded default, reading the file, freeing.
 * Leaves: line syntax and comments (ini.c), each key's default and value
 * check (keys.c), checks across keys and against the system (check.c),
 * reading the users and aliases files (auth/mailboxes.c).
 * Invariant: every problem is reported as FILE:LINE and loading goes on, so
 * `postino check` shows them all; a config is returned only when none of the
 * problems was an error. */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/check.h"
#include "config/ini.h"
#include "config/keys.h"
#include "config/loader.h"
#include "config/values.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CONFIG_FILE_MAX (1024 * 1024) /* a configuration is a few KiB */
#define LISTENERS_MAX 64
#define EMBEDDED_NAME "(embedded default)"
#define EMBEDDED_ROOT_USER "nobody" /* the embedded default started as root runs as */

/* The embedded default (SPEC.md: works on a developer's machine without
 * root). What INI cannot say is applied by embedded_extras(): no `user` (no
 * privilege drop) unless started as root, where it is "nobody" (mail is never
 * delivered as root); the users file only when it exists (else every local
 * part of localhost is a mailbox), no aliases file, and tls.self_signed. */
static const char default_text[] =
    "# postino embedded default: used when no configuration file is given.\n"
    "# Unlike a file, it has no user (postino does not change user; started\n"
    "# as root, it runs as nobody, as it never delivers mail as root) and no\n"
    "# aliases, and ./var/users is read only when it exists: until then every\n"
    "# local part of localhost is a mailbox (and nobody can log in).\n"
    "[server]\n"
    "spool = ./var/spool\n"
    "\n"
    "# Only for a listener with TLS: a self-signed pair, made on first run.\n"
    "[tls]\n"
    "cert = ./var/cert.pem\n"
    "key = ./var/key.pem\n"
    "\n"
    "[listener \"smtp\"]\n"
    "address = 127.0.0.1:2525\n"
    "tls = none\n"
    "auth = none\n"
    "\n"
    "# Message submission (RFC 6409) for mail programs: STARTTLS, then AUTH with\n"
    "# a password from ./var/users (lines user@localhost:HASH, from\n"
    "# `postino hash-password`).\n"
    "[listener \"submission\"]\n"
    "address = 127.0.0.1:2587\n"
    "tls = starttls\n"
    "auth = required\n"
    "\n"
    "[domains]\n"
    "local = localhost\n"
    "\n"
    "[mailboxes]\n"
    "users = ./var/users\n"
    "maildir = ./var/mail/%d/%n\n"
    "\n"
    "[relay]\n"
    "networks = 127.0.0.0/8 ::1/128\n";

/* ---- sections and keys ---- */

/* Make sec the current section: its keys write into base. */
static void
enter(struct loader *L, int sec, void *base, struct loader_lines *lines)
{
	L->sec = sec;
	L->base = base;
	L->lines = lines;
	if (sec == SEC_LISTENER)
		loader_listener_label(L->label, sizeof L->label, base);
	else
		snprintf(L->label, sizeof L->label, "[%s]",
		         keys_section_name(sec)); /* short names */
}

/* The name of a new [listener "NAME"] must be present, tidy and unique. */
static void
check_listener_name(struct loader *L, const struct ini_item *it)
{
	const struct config *c = L->c;
	struct loader_quote q;

	if (!it->has_subname) {
		diag_error(L->d, L->file, it->line,
		           "section [listener] needs a name: [listener \"NAME\"]");
		return;
	}
	if (!values_is_listener_name(it->subname)) {
		diag_error(L->d, L->file, it->line,
		           "listener name \"%s\" is not 1 to 64 letters, digits, '.', '_' or '-'",
		           loader_quote(&q, it->subname));
		return;
	}
	for (size_t i = 0; i < c->nlisteners; i++) {
		if (span_eq(it->subname, span_cstr(c->listeners[i].name))) {
			diag_error(L->d, L->file, it->line,
			           "duplicate listener name \"%s\" (first at line %u)",
			           loader_quote(&q, it->subname), c->listeners[i].line);
			return;
		}
	}
}

static void
start_listener(struct loader *L, const struct ini_item *it)
{
	struct config *c = L->c;
	size_t n = c->nlisteners;
	struct config_listener *l;

	check_listener_name(L, it);
	if (n == LISTENERS_MAX) {
		diag_error(L->d, L->file, it->line, "more than %d listeners", LISTENERS_MAX);
		L->sec = SEC_UNKNOWN;
		return;
	}
	c->listeners = xreallocarray(c->listeners, n + 1, sizeof *c->listeners);
	L->llines = xreallocarray(L->llines, n + 1, sizeof *L->llines);
	l = &c->listeners[n];
	memset(l, 0, sizeof *l);
	memset(&L->llines[n], 0, sizeof L->llines[n]);
	l->name = it->has_subname ? xstrndup(it->subname.p, it->subname.len) : xstrdup("");
	l->line = it->line;
	c->nlisteners = n + 1;
	enter(L, SEC_LISTENER, l, &L->llines[n]);
	keys_apply_defaults(L, SEC_LISTENER, l);
}

static void
on_section(struct loader *L, const struct ini_item *it)
{
	struct loader_quote q;
	int sec = keys_section(it->name);

	if (sec < 0) {
		diag_error(L->d, L->file, it->line, "unknown section [%s]",
		           loader_quote(&q, it->name));
		L->sec = SEC_UNKNOWN;
		return;
	}
	if (sec == SEC_LISTENER) {
		start_listener(L, it);
		return;
	}
	if (it->has_subname)
		diag_error(L->d, L->file, it->line, "section [%s] takes no name",
		           keys_section_name(sec));
	if (L->sec_line[sec])
		diag_error(L->d, L->file, it->line, "section [%s] repeated (first at line %u)",
		           keys_section_name(sec), L->sec_line[sec]);
	else
		L->sec_line[sec] = it->line;
	enter(L, sec, L->c, &L->fixed[sec]);
}

static void
on_key(struct loader *L, const struct ini_item *it)
{
	struct loader_quote q;
	int k;

	if (L->sec == SEC_UNKNOWN)
		return; /* already reported at the section header */
	if (L->sec == SEC_NONE) {
		diag_error(L->d, L->file, it->line, "key '%s' outside of any section",
		           loader_quote(&q, it->name));
		return;
	}
	k = keys_key(L->sec, it->name);
	if (k < 0) {
		diag_error(L->d, L->file, it->line, "unknown key '%s' in %s",
		           loader_quote(&q, it->name), L->label);
		return;
	}
	if (L->lines->seen[k]) {
		diag_error(L->d, L->file, it->line, "duplicate key '%s' in %s (first at line %u)",
		           keys_key_name(L->sec, k), L->label, L->lines->seen[k]);
		return;
	}
	L->lines->seen[k] = it->line;
	if (it->value.len == 0 && !keys_empty_clears(L->sec, k))
		return; /* SPEC: an empty value takes the default */
	L->lines->set[k] = it->line;
	if (!keys_set(L, L->sec, k, L->base, it->value, it->line))
		L->lines->bad[k] = true;
}

static void
on_error(struct loader *L, const struct ini_item *it)
{
	diag_error(L->d, L->file, it->line, "%s", it->error);
	/* After a broken header, do not let its keys land in the previous section. */
	if (it->in_header)
		L->sec = SEC_UNKNOWN;
}

/* ---- loading ---- */

static void
loader_init(struct loader *L, struct config *c, const char *name, struct diag *d, bool embedded)
{
	memset(L, 0, sizeof *L);
	L->c = c;
	L->d = d;
	L->file = name;
	L->embedded = embedded;
	L->nerrors0 = d->nerrors;
	for (int sec = 0; sec < SEC_COUNT; sec++) {
		if (sec == SEC_LISTENER)
			continue;
		enter(L, sec, c, &L->fixed[sec]);
		keys_apply_defaults(L, sec, c);
	}
	L->sec = SEC_NONE;
	L->label[0] = '\0';
}

/* What the embedded default cannot say in INI (see default_text): no user,
 * the users file only if it exists, no aliases file, and a development
 * certificate the daemon may make itself. */
static void
embedded_extras(struct config *c)
{
	c->embedded = true;
	c->tls.self_signed = true;
	free(c->server.user);
	c->server.user = geteuid() == 0 ? xstrdup(EMBEDDED_ROOT_USER) : NULL;
	if (c->mailboxes.users && access(c->mailboxes.users, F_OK) != 0) {
		free(c->mailboxes.users);
		c->mailboxes.users = NULL;
	}
	free(c->mailboxes.aliases);
	c->mailboxes.aliases = NULL;
}

static struct config *
load(const char *name, const char *text, size_t len, struct diag *d, bool embedded, bool client)
{
	struct config *c = xcalloc(1, sizeof *c);
	struct loader L;
	struct ini r;
	struct ini_item it;

	c->file = xstrdup(name);
	loader_init(&L, c, name, d, embedded);
	L.client = client;
	ini_init(&r, text, len);
	while (ini_next(&r, &it) != INI_END) {
		if (it.kind == INI_SECTION)
			on_section(&L, &it);
		else if (it.kind == INI_KEY)
			on_key(&L, &it);
		else
			on_error(&L, &it);
	}
	c->mailboxes.users_explicit = L.fixed[SEC_MAILBOXES].set[K_MAILBOXES_USERS] != 0;
	c->mailboxes.aliases_explicit = L.fixed[SEC_MAILBOXES].set[K_MAILBOXES_ALIASES] != 0;
	if (embedded)
		embedded_extras(c);
	check_config(&L);
	free(L.llines);
	if (d->nerrors > L.nerrors0) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* Read all of path into b (at most CONFIG_FILE_MAX bytes). */
static int
read_file(const char *path, struct buf *b, struct diag *d)
{
	char chunk[8192];
	FILE *f = fopen(path, "rbe");
	size_t n;
	int rc = 0;

	if (f == NULL) {
		diag_error(d, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (buf_append(b, chunk, n) < 0) {
			diag_error(d, path, 0, "larger than %d bytes: not a configuration file",
			           CONFIG_FILE_MAX);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		diag_error(d, path, 0, "cannot read: %s", strerror(errno));
		rc = -1;
	}
	fclose(f);
	return rc;
}

struct config *
config_load_file(const char *path, struct diag *d)
{
	struct buf b;
	struct config *c = NULL;

	buf_init(&b, CONFIG_FILE_MAX);
	if (read_file(path, &b, d) == 0)
		c = load(path, b.data ? b.data : "", b.len, d, false, false);
	buf_reset(&b);
	return c;
}

struct config *
config_load_file_client(const char *path, struct diag *d)
{
	struct buf b;
	struct config *c = NULL;

	buf_init(&b, CONFIG_FILE_MAX);
	if (read_file(path, &b, d) == 0)
		c = load(path, b.data ? b.data : "", b.len, d, false, true);
	buf_reset(&b);
	return c;
}

struct config *
config_load_string(const char *name, const char *text, size_t len, struct diag *d)
{
	return load(name, text && len ? text : "", text ? len : 0, d, false, false);
}

struct config *
config_default(void)
{
	struct diag d;
	struct config *c;

	diag_init(&d);
	c = load(EMBEDDED_NAME, default_text, sizeof default_text - 1, &d, true, false);
	if (c == NULL)
		PANIC("embedded default rejected: %s", d.n ? d.items[0].text : "?");
	diag_reset(&d);
	return c;
}

const char *
config_default_text(void)
{
	return default_text;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->server.hostname);
	free(c->server.spool);
	free(c->server.user);
	for (size_t i = 0; i < c->nlisteners; i++) {
		free(c->listeners[i].name);
		free(c->listeners[i].host);
	}
	free(c->listeners);
	free(c->tls.cert);
	free(c->tls.key);
	for (size_t i = 0; i < c->nlocal_domains; i++)
		free(c->local_domains[i]);
	free(c->local_domains);
	for (size_t i = 0; i < c->odmr.ndomains; i++)
		free(c->odmr.domains[i]);
	free(c->odmr.domains);
	config_free_odmr_clients(c);
	free(c->mailboxes.users);
	free(c->mailboxes.aliases);
	free(c->mailboxes.maildir);
	free(c->relay.networks);
	free(c->relay.smarthost);
	free(c->dns.resolver);
	free(c);
}

bool
config_is_local_domain(const struct config *c, const char *domain, size_t len)
{
	struct span want = span_make(domain, len);

	for (size_t i = 0; i < c->nlocal_domains; i++)
		if (span_eq_nocase(want, span_cstr(c->local_domains[i])))
			return true;
	return false;
}

const struct config_odmr_client *
config_odmr_client(const struct config *c, const char *login)
{
	for (size_t i = 0; i < c->odmr.nclients; i++)
		if (strcasecmp(c->odmr.clients[i].login, login) == 0)
			return &c->odmr.clients[i];
	return NULL;
}

void
config_free_odmr_clients(struct config *c)
{
	for (size_t i = 0; i < c->odmr.nclients; i++) {
		struct config_odmr_client *cl = &c->odmr.clients[i];

		free(cl->login);
		for (size_t k = 0; k < cl->ndomains; k++)
			free(cl->domains[k]);
		free(cl->domains);
	}
	free(c->odmr.clients);
	c->odmr.clients = NULL;
	c->odmr.nclients = 0;
}

bool
config_is_odmr_domain(const struct config *c, const char *domain, size_t len)
{
	struct span want = span_make(domain, len);

	for (size_t i = 0; i < c->odmr.ndomains; i++)
		if (span_eq_nocase(want, span_cstr(c->odmr.domains[i])))
			return true;
	return false;
}

int
config_split_hostport(const char *s, struct span *host, uint16_t *port)
{
	bool bracketed;

	return values_split_hostport(span_cstr(s), host, port, &bracketed);
}
