/* mailboxes.c - who receives mail here: the users and aliases files, and the
 * resolution of one recipient into the mailboxes it reaches.
 * Owns: reading `user@domain:HASH` and `alias@domain: target, ...` into one
 * open-addressing table keyed by the lower-cased mailbox; alias expansion
 * (iterative, depth- and width-bounded, loop-detecting); the postmaster rule.
 * Leaves: checking passwords (auth/), relay permission (policy/), delivery.
 * Invariant: immutable after mailboxes_load, so resolution is thread-safe. */
#include "auth/mailboxes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/xalloc.h"

#define FILE_MAX (64u * 1024u * 1024u) /* a users or aliases file, read whole */
#define ESC_MAX 300                       /* an address quoted in a message */

/* Open-addressing table of NUL-terminated keys; at most half full. */
struct slot {
	const char *key;
	void *val;
};

struct table {
	struct slot *slots;
	size_t cap, n;
};

enum entry_kind { ENTRY_USER, ENTRY_ALIAS };

struct target {
	char *address; /* lookup key when local, as written when remote */
	bool local;
};

struct entry {
	char *key; /* lower-cased mailbox, written as smtp_mailbox_format does */
	enum entry_kind kind;
	unsigned line;
	char *hash;              /* ENTRY_USER */
	struct target *targets;  /* ENTRY_ALIAS */
	size_t ntargets;
};

struct mailboxes {
	struct table table;
	struct entry **list; /* the same entries in file order */
	size_t nlist, caplist;
	bool catch_all;      /* no users file: every local part is a user */
	char postmaster[SMTP_ADDR_TEXT_MAX];
};

/* State while reading one file. */
struct loader {
	struct mailboxes *m;
	const struct config *c;
	struct diag *d;
	const char *file;
	unsigned line;
};

/* FNV-1a */
static uint64_t
hash_str(const char *s)
{
	uint64_t h = 14695981039346656037u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211u;
	}
	return h;
}

static void
table_init(struct table *t)
{
	t->cap = 16;
	t->n = 0;
	t->slots = xcalloc(t->cap, sizeof *t->slots);
}

static void
table_reset(struct table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* The slot holding key, or the empty slot where it would go. */
static struct slot *
table_find(const struct table *t, const char *key)
{
	size_t mask = t->cap - 1;

	for (size_t i = (size_t)hash_str(key) & mask;; i = (i + 1) & mask)
		if (t->slots[i].key == NULL || strcmp(t->slots[i].key, key) == 0)
			return &t->slots[i];
}

static bool
table_has(const struct table *t, const char *key)
{
	return table_find(t, key)->key != NULL;
}

static void *
table_get(const struct table *t, const char *key)
{
	return table_find(t, key)->val;
}

static void
table_grow(struct table *t)
{
	struct table old = *t;

	t->cap *= 2;
	t->slots = xcalloc(t->cap, sizeof *t->slots);
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key != NULL)
			*table_find(t, old.slots[i].key) = old.slots[i];
	free(old.slots);
}

/* Add key (borrowed: it must outlive the table); false if already there. */
static bool
table_put(struct table *t, const char *key, void *val)
{
	struct slot *s;

	if ((t->n + 1) * 2 > t->cap)
		table_grow(t);
	s = table_find(t, key);
	if (s->key != NULL)
		return false;
	s->key = key;
	s->val = val;
	t->n++;
	return true;
}

static void
lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + ('a' - 'A'));
}

static bool
is_postmaster(const char *local)
{
	return span_eq_cstr_nocase(span_cstr(local), "postmaster");
}

/* The lookup key of a mailbox: local part and domain lower-cased (ASCII
 * only), quoted where needed; -1 when it does not fit. */
static int
make_key(const struct smtp_mailbox *mb, char *key, size_t keylen)
{
	struct smtp_mailbox low = *mb;

	lower_ascii(low.local);
	lower_ascii(low.domain);
	return smtp_mailbox_format(&low, key, keylen);
}

/* The key of a decoded local part and a domain; -1 when over the limits. */
static int
key_of(const char *local, const char *domain, char *key, size_t keylen)
{
	struct smtp_mailbox mb;
	size_t ll = strlen(local), dl = strlen(domain);

	if (ll == 0 || ll > SMTP_LOCAL_MAX || dl > SMTP_DOMAIN_MAX)
		return -1;
	memset(&mb, 0, sizeof mb);
	memcpy(mb.local, local, ll + 1);
	memcpy(mb.domain, domain, dl + 1);
	return make_key(&mb, key, keylen);
}

/* Domain literals are never local here: they only ever relay. */
static bool
is_local(const struct config *c, const char *domain)
{
	return domain[0] != '[' && config_is_local_domain(c, domain, strlen(domain));
}

/* postmaster@<first local domain>, or @hostname when there is none. */
static void
set_postmaster(struct mailboxes *m, const struct config *c)
{
	const char *domain = c->nlocal_domains > 0 ? c->local_domains[0] : c->server.hostname;

	if (domain == NULL || key_of("postmaster", domain, m->postmaster,
	    sizeof m->postmaster) < 0)
		memcpy(m->postmaster, "postmaster", sizeof "postmaster");
}

/* Read all of path into b; -1 with errno set. */
static int
read_all(const char *path, struct buf *b)
{
	char chunk[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1, saved = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (buf_append(b, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			goto out;
		}
	}
	rc = 0;
out:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Take the next line off *text, without its CR LF and outer white space. */
static struct span
next_line(struct span *text)
{
	const char *nl = memchr(text->p, '\n', text->len);
	size_t n = nl ? (size_t)(nl - text->p) : text->len;
	struct span l = span_make(text->p, n);

	n += nl ? 1 : 0;
	*text = span_make(text->p + n, text->len - n);
	if (l.len > 0 && l.p[l.len - 1] == '\r')
		l.len--;
	return span_trim(l);
}

/* The first sep in s outside a quoted-string and an address literal, which
 * may both hold ':' and ','; NULL when there is none. */
static const char *
find_sep(struct span s, char sep)
{
	bool quoted = false, bracket = false;

	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (quoted) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (bracket) {
			bracket = c != ']';
		} else if (c == sep) {
			return s.p + i;
		} else {
			quoted = c == '"';
			bracket = c == '[';
		}
	}
	return NULL;
}

static const char *
esc(char *dst, struct span s)
{
	return log_escape(dst, ESC_MAX, s.p, s.len);
}

/* Parse an address from the file, reporting what is wrong with it. */
static bool
parse_address(struct loader *L, struct span s, struct smtp_mailbox *mb)
{
	char e[ESC_MAX];

	switch (smtp_parse_mailbox(s, mb)) {
	case SMTP_ARG_OK:
		return true;
	case SMTP_ARG_TOO_LONG:
		diag_error(L->d, L->file, L->line, "address too long: '%s'", esc(e, s));
		return false;
	default:
		diag_error(L->d, L->file, L->line, "invalid address '%s' (want local@domain)",
		    esc(e, s));
		return false;
	}
}

static void
list_add(struct mailboxes *m, struct entry *e)
{
	if (m->nlist == m->caplist) {
		m->caplist = m->caplist ? m->caplist * 2 : 16;
		m->list = xreallocarray(m->list, m->caplist, sizeof *m->list);
	}
	m->list[m->nlist++] = e;
}

/* Add a user or alias; NULL (and an error) when its name is taken. */
static struct entry *
entry_add(struct loader *L, const struct smtp_mailbox *mb, enum entry_kind kind)
{
	char key[SMTP_ADDR_TEXT_MAX], e[ESC_MAX];
	const struct entry *old;
	struct entry *n;

	if (make_key(mb, key, sizeof key) < 0) {
		diag_error(L->d, L->file, L->line, "address cannot be written back");
		return NULL;
	}
	old = table_get(&L->m->table, key);
	if (old != NULL && old->kind == kind) {
		diag_error(L->d, L->file, L->line, "duplicate %s '%s' (first at line %u)",
		    kind == ENTRY_USER ? "user" : "alias", esc(e, span_cstr(key)), old->line);
		return NULL;
	}
	if (old != NULL) {
		diag_error(L->d, L->file, L->line, "alias '%s' is also a user (users file line %u)",
		    esc(e, span_cstr(key)), old->line);
		return NULL;
	}
	n = xcalloc(1, sizeof *n);
	n->key = xstrdup(key);
	n->kind = kind;
	n->line = L->line;
	table_put(&L->m->table, n->key, n);
	list_add(L->m, n);
	return n;
}

static void
warn_if_remote(struct loader *L, const struct smtp_mailbox *mb, const char *what)
{
	char e[ESC_MAX];

	if (!is_local(L->c, mb->domain) &&
	    !config_is_odmr_domain(L->c, mb->domain, strlen(mb->domain)))
		diag_warn(L->d, L->file, L->line,
		    "%s domain '%s' is not a local domain: it receives no mail here", what,
		    esc(e, span_cstr(mb->domain)));
}

/* `user@domain:CRYPT-HASH`; the hash is kept, not checked. */
static void
user_line(struct loader *L, struct span line)
{
	const char *colon = find_sep(line, ':');
	struct smtp_mailbox mb;
	struct span addr, hash;
	struct entry *n;

	if (colon == NULL) {
		diag_error(L->d, L->file, L->line, "expected user@domain:HASH");
		return;
	}
	addr = span_trim(span_make(line.p, (size_t)(colon - line.p)));
	hash = span_trim(span_make(colon + 1, line.len - (size_t)(colon - line.p) - 1));
	if (!parse_address(L, addr, &mb))
		return;
	if (hash.len == 0 || memchr(hash.p, ' ', hash.len) || memchr(hash.p, '\t', hash.len)) {
		diag_error(L->d, L->file, L->line, "missing or malformed password hash");
		return;
	}
	n = entry_add(L, &mb, ENTRY_USER);
	if (n == NULL)
		return;
	n->hash = xstrndup(hash.p, hash.len);
	warn_if_remote(L, &mb, "user");
}

static void
targets_free(struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].address);
	free(t);
}

/* Fill one target: local ones by key (postmaster@ any local domain being
 * postmaster@ the first), remote ones as written. */
static bool
target_fill(struct loader *L, struct span text, const struct smtp_mailbox *mb,
    struct target *t)
{
	char key[SMTP_ADDR_TEXT_MAX];

	t->local = is_local(L->c, mb->domain);
	if (!t->local) {
		t->address = xstrndup(text.p, text.len);
		return true;
	}
	if (is_postmaster(mb->local)) {
		t->address = xstrdup(L->m->postmaster);
		return true;
	}
	if (make_key(mb, key, sizeof key) < 0) {
		diag_error(L->d, L->file, L->line, "address cannot be written back");
		return false;
	}
	t->address = xstrdup(key);
	return true;
}

/* target *( "," target ); NULL (errors reported) unless all are valid. */
static struct target *
parse_targets(struct loader *L, struct span list, size_t *ntargets)
{
	struct target *t = NULL;
	size_t n = 0, cap = 0;
	bool ok = true;

	for (;;) {
		const char *comma = find_sep(list, ',');
		size_t len = comma ? (size_t)(comma - list.p) : list.len;
		struct span one = span_trim(span_make(list.p, len));
		struct smtp_mailbox mb;

		if (one.len == 0) {
			diag_error(L->d, L->file, L->line, "empty alias target");
			ok = false;
		} else if (parse_address(L, one, &mb)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4;
				t = xreallocarray(t, cap, sizeof *t);
			}
			if (target_fill(L, one, &mb, &t[n]))
				n++;
			else
				ok = false;
		} else {
			ok = false;
		}
		if (comma == NULL)
			break;
		list = span_make(comma + 1, list.len - len - 1);
	}
	if (!ok) {
		targets_free(t, n);
		return NULL;
	}
	*ntargets = n;
	return t;
}

/* `alias@domain: target[, target...]` */
static void
alias_line(struct loader *L, struct span line)
{
	const char *colon = find_sep(line, ':');
	struct smtp_mailbox mb;
	struct span name, list;
	struct target *t;
	struct entry *n;
	size_t nt = 0;

	if (colon == NULL) {
		diag_error(L->d, L->file, L->line, "expected alias@domain: target, ...");
		return;
	}
	name = span_trim(span_make(line.p, (size_t)(colon - line.p)));
	list = span_trim(span_make(colon + 1, line.len - (size_t)(colon - line.p) - 1));
	if (!parse_address(L, name, &mb))
		return;
	if (list.len == 0) {
		diag_error(L->d, L->file, L->line, "alias has no targets");
		return;
	}
	t = parse_targets(L, list, &nt);
	if (t == NULL)
		return;
	n = entry_add(L, &mb, ENTRY_ALIAS);
	if (n == NULL) {
		targets_free(t, nt);
		return;
	}
	n->targets = t;
	n->ntargets = nt;
	warn_if_remote(L, &mb, "alias");
}

/* Read one file and hand each line that is not blank or a comment to fn. */
static void
load_file(struct loader *L, const char *file, bool must_exist,
    void (*fn)(struct loader *, struct span))
{
	struct buf b;
	struct span text;

	buf_init(&b, FILE_MAX);
	L->file = file;
	L->line = 0;
	if (read_all(file, &b) < 0) {
		if (errno != ENOENT || must_exist)
			diag_error(L->d, file, 0, "cannot read: %s", strerror(errno));
		buf_reset(&b);
		return;
	}
	text = span_make(b.data ? b.data : "", b.len);
	while (text.len > 0) {
		struct span line = next_line(&text);

		L->line++;
		if (line.len == 0 || line.p[0] == '#')
			continue;
		if (memchr(line.p, '\0', line.len) != NULL)
			diag_error(L->d, file, L->line, "NUL byte in line");
		else
			fn(L, line);
	}
	buf_reset(&b);
}

/* Warn about local alias targets that are neither users nor aliases:
 * resolution will drop them. */
static void
check_targets(struct loader *L)
{
	char e[ESC_MAX];

	for (size_t i = 0; i < L->m->nlist; i++) {
		const struct entry *a = L->m->list[i];

		for (size_t k = 0; a->kind == ENTRY_ALIAS && k < a->ntargets; k++) {
			const struct target *t = &a->targets[k];

			if (!t->local || table_has(&L->m->table, t->address) ||
			    strcmp(t->address, L->m->postmaster) == 0)
				continue;
			diag_warn(L->d, L->file, a->line,
			    "alias target '%s' is neither a user nor an alias",
			    esc(e, span_cstr(t->address)));
		}
	}
}

struct mailboxes *
mailboxes_load(const struct config *c, struct diag *d)
{
	struct mailboxes *m = xcalloc(1, sizeof *m);
	struct loader L = { m, c, d, NULL, 0 };
	size_t errors = d->nerrors;
	char e[ESC_MAX];

	table_init(&m->table);
	m->catch_all = c->mailboxes.users == NULL;
	set_postmaster(m, c);
	if (c->mailboxes.users != NULL)
		load_file(&L, c->mailboxes.users, true, user_line);
	if (c->mailboxes.aliases != NULL) {
		load_file(&L, c->mailboxes.aliases, c->mailboxes.aliases_explicit, alias_line);
		if (!m->catch_all)
			check_targets(&L);
	}
	if (!m->catch_all && c->nlocal_domains > 0 && !table_has(&m->table, m->postmaster))
		diag_warn(d, c->mailboxes.users, 0, "'%s' is neither a user nor an alias",
		    esc(e, span_cstr(m->postmaster)));
	if (d->nerrors > errors) {
		mailboxes_free(m);
		return NULL;
	}
	return m;
}

void
mailboxes_free(struct mailboxes *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nlist; i++) {
		struct entry *n = m->list[i];

		free(n->key);
		free(n->hash);
		targets_free(n->targets, n->ntargets);
		free(n);
	}
	free(m->list);
	table_reset(&m->table);
	free(m);
}

const char *
mailboxes_password_hash(const struct mailboxes *m, const char *address)
{
	struct smtp_mailbox mb;
	char key[SMTP_ADDR_TEXT_MAX];
	const struct entry *n;

	if (smtp_parse_mailbox(span_cstr(address), &mb) != SMTP_ARG_OK ||
	    make_key(&mb, key, sizeof key) < 0)
		return NULL;
	n = table_get(&m->table, key);
	return n != NULL && n->kind == ENTRY_USER ? n->hash : NULL;
}

/* One resolution in progress: a depth-first walk with an explicit stack. */
struct expansion {
	const struct mailboxes *m;
	const struct entry *stack[MAILBOXES_MAX_DEPTH];
	size_t next[MAILBOXES_MAX_DEPTH]; /* next target of stack[i] to visit */
	size_t depth;
	size_t nexpanded;                 /* aliases opened so far */
	struct table done;                /* aliases fully expanded */
	struct table seen;                /* addresses already in out */
	struct mailboxes_target *out;
	size_t n, cap;
};

/* Append one target unless it is there already. */
static enum mailboxes_verdict
add_target(struct expansion *x, const char *address, bool local)
{
	size_t len = strlen(address);

	if (table_has(&x->seen, address))
		return MAILBOXES_OK;
	if (x->n == MAILBOXES_MAX_TARGETS)
		return MAILBOXES_LOOP;
	if (len >= sizeof x->out->address)
		PANIC("target too long: %zu", len);
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 4;
		x->out = xreallocarray(x->out, x->cap, sizeof *x->out);
	}
	memcpy(x->out[x->n].address, address, len + 1);
	x->out[x->n].local = local;
	x->n++;
	table_put(&x->seen, address, NULL);
	return MAILBOXES_OK;
}

/* Open an alias: met again while on the stack, it loops; met again after
 * it was expanded (a diamond, no loop), it has nothing more to give. */
static enum mailboxes_verdict
push_alias(struct expansion *x, const struct entry *a)
{
	for (size_t i = 0; i < x->depth; i++)
		if (x->stack[i] == a)
			return MAILBOXES_LOOP;
	if (table_has(&x->done, a->key))
		return MAILBOXES_OK;
	if (x->depth == MAILBOXES_MAX_DEPTH || ++x->nexpanded > MAILBOXES_MAX_TARGETS)
		return MAILBOXES_LOOP;
	x->stack[x->depth] = a;
	x->next[x->depth] = 0;
	x->depth++;
	return MAILBOXES_OK;
}

/* One target of an alias: a remote address or a user ends there, an alias
 * is opened, an unknown local address is dropped (mailboxes_load warned). */
static enum mailboxes_verdict
visit(struct expansion *x, const struct target *t)
{
	const struct entry *n;

	if (!t->local)
		return add_target(x, t->address, false);
	n = table_get(&x->m->table, t->address);
	if (n == NULL) {
		if (x->m->catch_all || strcmp(t->address, x->m->postmaster) == 0)
			return add_target(x, t->address, true);
		return MAILBOXES_OK;
	}
	if (n->kind == ENTRY_USER)
		return add_target(x, n->key, true);
	return push_alias(x, n);
}

/* Expand an alias; no recursion, the alias graph comes from a file. */
static enum mailboxes_verdict
walk(struct expansion *x, const struct entry *root)
{
	enum mailboxes_verdict v = push_alias(x, root);

	while (v == MAILBOXES_OK && x->depth > 0) {
		size_t top = x->depth - 1;
		const struct entry *a = x->stack[top];

		if (x->next[top] == a->ntargets) {
			table_put(&x->done, a->key, NULL);
			x->depth--;
			continue;
		}
		v = visit(x, &a->targets[x->next[top]++]);
	}
	if (v == MAILBOXES_OK && x->n == 0)
		v = MAILBOXES_UNKNOWN;
	return v;
}

/* Resolve a lookup key of a local domain. */
static enum mailboxes_verdict
expand(const struct mailboxes *m, const char *key, struct mailboxes_target **targets,
    size_t *ntargets)
{
	const struct entry *n = table_get(&m->table, key);
	struct expansion x;
	enum mailboxes_verdict v;

	if (n == NULL && !m->catch_all)
		return MAILBOXES_UNKNOWN;
	memset(&x, 0, sizeof x);
	x.m = m;
	table_init(&x.done);
	table_init(&x.seen);
	if (n == NULL || n->kind == ENTRY_USER)
		v = add_target(&x, key, true);
	else
		v = walk(&x, n);
	table_reset(&x.done);
	table_reset(&x.seen);
	if (v != MAILBOXES_OK) {
		free(x.out);
		return v;
	}
	*targets = x.out;
	*ntargets = x.n;
	return MAILBOXES_OK;
}

enum mailboxes_verdict
mailboxes_resolve(const struct mailboxes *m, const struct config *c, const char *local,
    const char *domain, struct mailboxes_target **targets, size_t *ntargets)
{
	char key[SMTP_ADDR_TEXT_MAX];
	enum mailboxes_verdict v;

	*targets = NULL;
	*ntargets = 0;
	if (is_postmaster(local) && (domain[0] == '\0' || is_local(c, domain))) {
		/* RFC 5321 4.5.1: postmaster is always accepted */
		v = expand(m, m->postmaster, targets, ntargets);
		if (v == MAILBOXES_OK)
			return v;
		*targets = xcalloc(1, sizeof **targets);
		memcpy((*targets)->address, m->postmaster, strlen(m->postmaster) + 1);
		(*targets)->local = true;
		*ntargets = 1;
		return MAILBOXES_OK;
	}
	if (domain[0] == '\0')
		return MAILBOXES_UNKNOWN;
	if (!is_local(c, domain))
		return MAILBOXES_REMOTE;
	if (key_of(local, domain, key, sizeof key) < 0)
		return MAILBOXES_UNKNOWN;
	return expand(m, key, targets, ntargets);
}
