/* keys.c - every section and key of the configuration file, in one table.
 * Owns: key names, defaults (written as text, run through the same setters
 * as the file's values), and the per-value checks: numbers and their ranges,
 * sizes, durations, enumerations, addresses, domains, networks, the Maildir
 * pattern. Leaves: the order of items and duplicates (config.c), checks
 * across keys (check.c), the syntax of structured values (values.c).
 * Invariant: a setter either stores a checked value (replacing and freeing
 * the old one) or reports "LABEL KEY: message" and leaves the field as it was. */
#include "config/keys.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/values.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/sizes.h"
#include "util/xalloc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(base, k, type) ((type *)(void *)((char *)(base) + (k)->off))
#define LOCAL_DOMAINS_MAX 10000

struct key_def;
typedef bool (*key_setter)(struct loader *L, const struct key_def *k, void *base, struct span v,
                           unsigned line);

/* One key: its setter writes the parsed value at off in the section's struct
 * (struct config, or struct config_listener for [listener]). */
struct key_def {
	const char *name;
	key_setter set;
	size_t off;
	const char *def;   /* the default as it would be written; NULL: stays NULL */
	uint64_t min, max; /* numbers: accepted range ... */
	const char *range; /* ... as the error message says it */
	bool empty_clears; /* an empty value means "none" instead of the default */
};

struct section_def {
	const char *name;
	const struct key_def *keys;
	size_t nkeys;
};

static bool set_str(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_hostname(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_size(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_duration(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_count(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_port(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_address(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_tls(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_auth(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_domains(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_odmr_domains(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_odmr_clients(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_maildir(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_networks(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_smarthost(struct loader *, const struct key_def *, void *, struct span, unsigned);
static bool set_resolver(struct loader *, const struct key_def *, void *, struct span, unsigned);

#define CFG(field) offsetof(struct config, field)
#define LST(field) offsetof(struct config_listener, field)
#define GIB (1024ULL * 1024 * 1024)
#define DAYS_MAX (3650ULL * 86400)
#define DURATION_RANGE .min = 1, .max = DAYS_MAX, .range = "1s to 3650d"
#define COUNT_RANGE .min = 1, .max = 1000000, .range = "1 to 1000000"

/* Designated initializers throughout: a field not named is 0/NULL/false. */
#define KEY(n, fn, o, d, ...)                                                                      \
	{                                                                                          \
		.name = (n), .set = (fn), .off = (o), .def = (d), __VA_ARGS__                      \
	}

/* SPEC.md "Configuration file": the keys, in the order SPEC lists them. */
static const struct key_def server_keys[] = {
    [K_SERVER_HOSTNAME] = KEY("hostname", set_hostname, CFG(server.hostname), NULL),
    [K_SERVER_SPOOL] = KEY("spool", set_str, CFG(server.spool), "/var/spool/postino"),
    [K_SERVER_MAX_MESSAGE_SIZE] = KEY("max_message_size", set_size, CFG(server.max_message_size),
                                      "25M", .min = 1, .max = 1024 * GIB, .range = "1 to 1024G"),
    [K_SERVER_MAX_RECIPIENTS] =
        KEY("max_recipients", set_count, CFG(server.max_recipients), "100", COUNT_RANGE),
    [K_SERVER_USER] = KEY("user", set_str, CFG(server.user), "postino"),
};
static const struct key_def listener_keys[] = {
    [K_LISTENER_ADDRESS] = KEY("address", set_address, LST(host), "0.0.0.0:25"),
    [K_LISTENER_TLS] = KEY("tls", set_tls, LST(tls), "starttls"),
    [K_LISTENER_AUTH] = KEY("auth", set_auth, LST(auth), "none"),
};
static const struct key_def tls_keys[] = {
    [K_TLS_CERT] = KEY("cert", set_str, CFG(tls.cert), "/etc/postino/cert.pem"),
    [K_TLS_KEY] = KEY("key", set_str, CFG(tls.key), "/etc/postino/key.pem"),
};
static const struct key_def domains_keys[] = {
    [K_DOMAINS_LOCAL] = KEY("local", set_domains, CFG(local_domains), "localhost"),
};
static const struct key_def mailboxes_keys[] = {
    [K_MAILBOXES_USERS] = KEY("users", set_str, CFG(mailboxes.users), "/etc/postino/users"),
    [K_MAILBOXES_ALIASES] = KEY("aliases", set_str, CFG(mailboxes.aliases), "/etc/postino/aliases"),
    [K_MAILBOXES_MAILDIR] = KEY("maildir", set_maildir, CFG(mailboxes.maildir), "/var/mail/%d/%n"),
};
static const struct key_def relay_keys[] = {
    /* SPEC: "(empty: none)" - the one key where empty is not the default. */
    [K_RELAY_NETWORKS] = KEY("networks", set_networks, CFG(relay.networks), "127.0.0.0/8 ::1/128",
                             .empty_clears = true),
    [K_RELAY_SMARTHOST] = KEY("smarthost", set_smarthost, CFG(relay.smarthost), NULL),
};
static const struct key_def dns_keys[] = {
    [K_DNS_RESOLVER] = KEY("resolver", set_resolver, CFG(dns.resolver), NULL),
};
static const struct key_def delivery_keys[] = {
    [K_DELIVERY_REMOTE_PORT] = KEY("remote_port", set_port, CFG(delivery.remote_port), "25"),
    [K_DELIVERY_RETRY_MIN] =
        KEY("retry_min", set_duration, CFG(delivery.retry_min), "5m", DURATION_RANGE),
    [K_DELIVERY_RETRY_MAX] =
        KEY("retry_max", set_duration, CFG(delivery.retry_max), "1h", DURATION_RANGE),
    [K_DELIVERY_QUEUE_LIFETIME] =
        KEY("queue_lifetime", set_duration, CFG(delivery.queue_lifetime), "5d", DURATION_RANGE),
    [K_DELIVERY_WARN_AFTER] =
        KEY("warn_after", set_duration, CFG(delivery.warn_after), "4h", DURATION_RANGE),
};
static const struct key_def limits_keys[] = {
    [K_LIMITS_COMMAND_TIMEOUT] =
        KEY("command_timeout", set_duration, CFG(limits.command_timeout), "5m", DURATION_RANGE),
    [K_LIMITS_DATA_TIMEOUT] =
        KEY("data_timeout", set_duration, CFG(limits.data_timeout), "10m", DURATION_RANGE),
    [K_LIMITS_MAX_CONNECTIONS] =
        KEY("max_connections", set_count, CFG(limits.max_connections), "1000", COUNT_RANGE),
    [K_LIMITS_MAX_CONNECTIONS_PER_IP] = KEY("max_connections_per_ip", set_count,
                                            CFG(limits.max_connections_per_ip), "20", COUNT_RANGE),
    [K_LIMITS_MAX_ERRORS] = KEY("max_errors", set_count, CFG(limits.max_errors), "10", .min = 0,
                                .max = 1000000, .range = "0 to 1000000"),
    [K_LIMITS_MIN_FREE_SPACE] = KEY("min_free_space", set_size, CFG(limits.min_free_space), "100M",
                                    .min = 0, .max = UINT64_MAX, .range = "any size"),
};

/* postino extension: domains whose mail waits here for their ODMR client
 * (RFC 2645 ATRN). */
static const struct key_def odmr_keys[] = {
    [K_ODMR_DOMAINS] = KEY("domains", set_odmr_domains, CFG(odmr.domains), NULL),
    [K_ODMR_CLIENTS] = KEY("clients", set_odmr_clients, CFG(odmr.clients), NULL),
};

#define SECTION(n, k)                                                                              \
	{                                                                                          \
		.name = (n), .keys = (k), .nkeys = ARRAY_LEN(k)                                    \
	}
static const struct section_def sections[SEC_COUNT] = {
    [SEC_SERVER] = SECTION("server", server_keys),
    [SEC_LISTENER] = SECTION("listener", listener_keys),
    [SEC_TLS] = SECTION("tls", tls_keys),
    [SEC_DOMAINS] = SECTION("domains", domains_keys),
    [SEC_MAILBOXES] = SECTION("mailboxes", mailboxes_keys),
    [SEC_RELAY] = SECTION("relay", relay_keys),
    [SEC_DNS] = SECTION("dns", dns_keys),
    [SEC_DELIVERY] = SECTION("delivery", delivery_keys),
    [SEC_LIMITS] = SECTION("limits", limits_keys),
    [SEC_ODMR] = SECTION("odmr", odmr_keys),
};

_Static_assert(ARRAY_LEN(limits_keys) <= LOADER_MAX_KEYS, "raise LOADER_MAX_KEYS");
_Static_assert(ARRAY_LEN(delivery_keys) <= LOADER_MAX_KEYS, "raise LOADER_MAX_KEYS");
_Static_assert(ARRAY_LEN(server_keys) <= LOADER_MAX_KEYS, "raise LOADER_MAX_KEYS");

/* Report "LABEL KEY: message" at line; always false, for `return key_error(...)`. */
__attribute__((format(printf, 4, 5))) static bool
key_error(struct loader *L, const struct key_def *k, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (L->in_defaults)
		PANIC("default of %s %s rejected: %s", L->label, k->name, msg);
	diag_error(L->d, L->file, line, "%s %s: %s", L->label, k->name, msg);
	return false;
}

/* ---- setters: check one value and store it ---- */

static void
replace_str(char **field, struct span v)
{
	free(*field);
	*field = xstrndup(v.p, v.len);
}

static bool
set_str(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	replace_str(FIELD(base, k, char *), v);
	return true;
}

static bool
set_hostname(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;

	if (!values_is_domain(v))
		return key_error(L, k, line, "'%s' is not a host name (letters, digits, '-', dots)",
		                 loader_quote(&q, v));
	return set_str(L, k, base, v, line);
}

static bool
in_range(struct loader *L, const struct key_def *k, unsigned line, struct span v, uint64_t n)
{
	struct loader_quote q;

	if (n >= k->min && n <= k->max)
		return true;
	return key_error(L, k, line, "'%s' is out of range (%s)", loader_quote(&q, v), k->range);
}

static bool
set_size(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	uint64_t n;

	if (parse_size_span(v, &n) < 0)
		return key_error(L, k, line,
		                 "'%s' is not a size (bytes, with an optional K, M or G suffix)",
		                 loader_quote(&q, v));
	if (!in_range(L, k, line, v, n))
		return false;
	*FIELD(base, k, uint64_t) = n;
	return true;
}

static bool
set_duration(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	uint64_t n;

	if (parse_duration_span(v, &n) < 0)
		return key_error(
		    L, k, line,
		    "'%s' is not a duration (a number with an optional s, m, h or d suffix)",
		    loader_quote(&q, v));
	if (!in_range(L, k, line, v, n))
		return false;
	*FIELD(base, k, uint64_t) = n;
	return true;
}

static bool
set_count(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	unsigned long long n;

	if (span_to_u64(v, ULLONG_MAX, &n) < 0)
		return key_error(L, k, line, "'%s' is not a whole number (%s)", loader_quote(&q, v),
		                 k->range);
	if (!in_range(L, k, line, v, n))
		return false;
	*FIELD(base, k, unsigned) = (unsigned)n;
	return true;
}

static bool
set_port(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	unsigned long long n;

	if (span_to_u64(v, ULLONG_MAX, &n) < 0 || n < 1 || n > 65535)
		return key_error(L, k, line, "'%s' is not a port number (1 to 65535)",
		                 loader_quote(&q, v));
	*FIELD(base, k, uint16_t) = (uint16_t)n;
	return true;
}

static bool
set_address(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct config_listener *l = base;
	struct loader_quote q;
	struct values_ip ip;

	if (values_parse_ip_port(v, &ip) < 0)
		return key_error(L, k, line,
		                 "'%s' is not an IP address and port (e.g. 0.0.0.0:25 or [::]:25)",
		                 loader_quote(&q, v));
	replace_str(&l->host, ip.host);
	l->port = ip.port;
	return true;
}

/* Index of v in words (exact, lower case), or -1. */
static int
word_index(struct span v, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (span_eq(v, span_cstr(words[i])))
			return (int)i;
	return -1;
}

static const char *const tls_words[] = {
    [CONFIG_TLS_NONE] = "none",
    [CONFIG_TLS_STARTTLS] = "starttls",
    [CONFIG_TLS_IMPLICIT] = "implicit",
};
static const char *const auth_words[] = {
    [CONFIG_AUTH_NONE] = "none",
    [CONFIG_AUTH_OPTIONAL] = "optional",
    [CONFIG_AUTH_REQUIRED] = "required",
};

static bool
set_tls(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	int i = word_index(v, tls_words, ARRAY_LEN(tls_words));

	if (i < 0)
		return key_error(L, k, line, "'%s' is not one of none, starttls, implicit",
		                 loader_quote(&q, v));
	((struct config_listener *)base)->tls = (enum config_tls)i;
	return true;
}

static bool
set_auth(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	int i = word_index(v, auth_words, ARRAY_LEN(auth_words));

	if (i < 0)
		return key_error(L, k, line, "'%s' is not one of none, optional, required",
		                 loader_quote(&q, v));
	((struct config_listener *)base)->auth = (enum config_auth)i;
	return true;
}

/* The next blank-separated word of v from *pos; false at the end. */
static bool
next_word(struct span v, size_t *pos, struct span *w)
{
	size_t i = *pos, start;

	while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
		i++;
	start = i;
	while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t')
		i++;
	*pos = i;
	*w = span_make(v.p + start, i - start);
	return w->len > 0;
}

static void
free_list(char ***list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*n = 0;
}

static bool
in_list(char *const *list, size_t n, struct span w)
{
	for (size_t i = 0; i < n; i++)
		if (span_eq_nocase(w, span_cstr(list[i])))
			return true;
	return false;
}

/* Add one checked domain to list, lower-cased; a repeat is only worth a
 * warning. */
static bool
add_domain(struct loader *L, const struct key_def *k, struct span w, unsigned line,
    char ***list, size_t *n)
{
	struct loader_quote q;
	char *lower;

	if (!values_is_domain(w))
		return key_error(L, k, line, "'%s' is not a domain name", loader_quote(&q, w));
	if (in_list(*list, *n, w)) {
		diag_warn(L->d, L->file, line, "%s %s: '%s' is listed twice", L->label, k->name,
		          loader_quote(&q, w));
		return true;
	}
	if (*n == LOCAL_DOMAINS_MAX)
		return key_error(L, k, line, "more than %d domains", LOCAL_DOMAINS_MAX);
	lower = xstrndup(w.p, w.len);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = lower;
	return true;
}

static bool
set_domain_list(struct loader *L, const struct key_def *k, struct span v, unsigned line,
    char ***list, size_t *n)
{
	size_t pos = 0;
	struct span w;
	bool ok = true;

	free_list(list, n);
	while (next_word(v, &pos, &w))
		if (!add_domain(L, k, w, line, list, n))
			ok = false;
	return ok;
}

static bool
set_domains(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct config *c = base;

	return set_domain_list(L, k, v, line, &c->local_domains, &c->nlocal_domains);
}

static bool
set_odmr_domains(struct loader *L, const struct key_def *k, void *base, struct span v,
    unsigned line)
{
	struct config *c = base;

	return set_domain_list(L, k, v, line, &c->odmr.domains, &c->odmr.ndomains);
}

/* LOGIN:DOMAIN[,DOMAIN...] words: the login may send ATRN for those domains
 * (check.c checks that each is one of [odmr] domains). */
static bool
set_odmr_clients(struct loader *L, const struct key_def *k, void *base, struct span v,
    unsigned line)
{
	struct config *c = base;
	struct loader_quote q;
	size_t pos = 0;
	struct span w;
	bool ok = true;

	config_free_odmr_clients(c);
	while (next_word(v, &pos, &w)) {
		const char *colon = memchr(w.p, ':', w.len), *at;
		struct config_odmr_client cl = { 0 };
		struct span login, list;
		size_t start = 0;
		bool good = true;

		if (!colon) {
			ok = key_error(L, k, line, "'%s' is not LOGIN:DOMAIN[,DOMAIN...]",
			    loader_quote(&q, w));
			continue;
		}
		login = span_make(w.p, (size_t)(colon - w.p));
		list = span_make(colon + 1, w.len - login.len - 1);
		at = memchr(login.p, '@', login.len);
		if (!at || at == login.p || !values_is_domain(span_make(at + 1,
			login.len - (size_t)(at + 1 - login.p)))) {
			ok = key_error(L, k, line, "'%s': the login is not user@domain",
			    loader_quote(&q, login));
			continue;
		}
		cl.login = xstrndup(login.p, login.len);
		for (size_t i = 0; i <= list.len; i++) {
			struct span d;

			if (i < list.len && list.p[i] != ',')
				continue;
			d = span_make(list.p + start, i - start);
			start = i + 1;
			if (!values_is_domain(d)) {
				good = key_error(L, k, line, "'%s' is not a domain name",
				    loader_quote(&q, d));
				break;
			}
			if (!add_domain(L, k, d, line, &cl.domains, &cl.ndomains)) {
				good = false;
				break;
			}
		}
		if (good && config_odmr_client(c, cl.login)) {
			good = key_error(L, k, line, "'%s' is listed twice",
			    loader_quote(&q, span_cstr(cl.login)));
		}
		if (!good) {
			ok = false;
			free(cl.login);
			free_list(&cl.domains, &cl.ndomains);
			continue;
		}
		c->odmr.clients = xreallocarray(c->odmr.clients, c->odmr.nclients + 1,
		    sizeof *c->odmr.clients);
		c->odmr.clients[c->odmr.nclients++] = cl;
	}
	return ok;
}

static bool
set_maildir(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	const char *problem = values_maildir_problem(v);

	if (problem)
		return key_error(L, k, line, "'%s': %s", loader_quote(&q, v), problem);
	return set_str(L, k, base, v, line);
}

/* Space-separated CIDRs; an empty value means no network may relay. */
static bool
set_networks(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct config *c = base;
	size_t pos = 0, n = 0;
	struct span w;
	bool ok = true;

	free(c->relay.networks);
	c->relay.networks = NULL;
	c->relay.nnetworks = 0;
	while (next_word(v, &pos, &w)) {
		struct loader_quote q;
		struct cidr net;

		if (cidr_parse_span(w, &net) < 0) {
			ok = key_error(
			    L, k, line,
			    "'%s' is not an IP network (e.g. 192.0.2.0/24 or 2001:db8::/32)",
			    loader_quote(&q, w));
			continue;
		}
		c->relay.networks = xreallocarray(c->relay.networks, n + 1, sizeof net);
		c->relay.networks[n++] = net;
		c->relay.nnetworks = n;
	}
	return ok;
}

static bool
set_smarthost(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;

	if (!values_is_host_port(v))
		return key_error(
		    L, k, line,
		    "'%s' is not host:port (e.g. relay.example.net:587 or [2001:db8::1]:25)",
		    loader_quote(&q, v));
	return set_str(L, k, base, v, line);
}

static bool
set_resolver(struct loader *L, const struct key_def *k, void *base, struct span v, unsigned line)
{
	struct loader_quote q;
	struct values_ip ip;

	if (values_parse_ip_port(v, &ip) < 0)
		return key_error(
		    L, k, line,
		    "'%s' is not an IP address and port (e.g. 127.0.0.1:53 or [::1]:53)",
		    loader_quote(&q, v));
	return set_str(L, k, base, v, line);
}

/* ---- the table, for config.c and check.c ---- */

int
keys_section(struct span name)
{
	for (int i = 0; i < SEC_COUNT; i++)
		if (span_eq(name, span_cstr(sections[i].name)))
			return i;
	return -1;
}

const char *
keys_section_name(int sec)
{
	return sections[sec].name;
}

int
keys_key(int sec, struct span name)
{
	for (size_t i = 0; i < sections[sec].nkeys; i++)
		if (span_eq(name, span_cstr(sections[sec].keys[i].name)))
			return (int)i;
	return -1;
}

const char *
keys_key_name(int sec, int key)
{
	return sections[sec].keys[key].name;
}

bool
keys_empty_clears(int sec, int key)
{
	return sections[sec].keys[key].empty_clears;
}

void
keys_apply_defaults(struct loader *L, int sec, void *base)
{
	const struct section_def *s = &sections[sec];

	L->in_defaults = true;
	for (size_t i = 0; i < s->nkeys; i++)
		if (s->keys[i].def)
			s->keys[i].set(L, &s->keys[i], base, span_cstr(s->keys[i].def), 0);
	L->in_defaults = false;
}

bool
keys_set(struct loader *L, int sec, int key, void *base, struct span v, unsigned line)
{
	const struct key_def *k = &sections[sec].keys[key];

	return k->set(L, k, base, v, line);
}
