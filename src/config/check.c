/* check.c - checks across keys and against the system (see check.h).
 * Owns: at least one listener, one listener per address:port, AUTH only with
 * TLS, a readable certificate and key when a listener uses TLS, retry_min <=
 * retry_max, the `user` account, the default hostname.
 * Leaves: the check of each single value (keys.c).
 * Invariant: each message points at the line that set the key involved, else
 * at its section header, else at line 1.
 *
 * `user` (SPEC: the account postino drops to when started as root) is looked
 * up with getpwnam when the key is set, or when running as root, where the
 * default "postino" must then exist. A developer's file without `user`,
 * checked as non-root, does not need that account. An account with uid 0 is
 * an error: the daemon runs delivery as this user and never as root. */
#include "config/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/keys.h"
#include "config/values.h"
#include "util/xalloc.h"

#define HOSTNAME_MAX 256

/* Where to blame key of a fixed section: its line, its header, or line 1. */
static unsigned
fixed_line(const struct loader *L, int sec, int key)
{
	if (L->fixed[sec].seen[key])
		return L->fixed[sec].seen[key];
	return L->sec_line[sec] ? L->sec_line[sec] : 1;
}

/* Where to blame key of listener i: its line, else the section header. */
static unsigned
listener_line(const struct loader *L, size_t i, int key)
{
	return L->llines[i].seen[key] ? L->llines[i].seen[key] : L->c->listeners[i].line;
}

static void
check_auth_tls(struct loader *L, size_t i)
{
	const struct config_listener *l = &L->c->listeners[i];
	char label[128];

	if (l->auth == CONFIG_AUTH_NONE || l->tls != CONFIG_TLS_NONE ||
	    L->llines[i].bad[K_LISTENER_TLS])
		return;
	loader_listener_label(label, sizeof label, l);
	diag_error(L->d, L->file, listener_line(L, i, K_LISTENER_AUTH),
	           "%s auth = %s needs tls = starttls or implicit: AUTH is never offered on a "
	           "cleartext connection",
	           label, l->auth == CONFIG_AUTH_REQUIRED ? "required" : "optional");
}

/* The binary form of a listener's host (validated by keys.c). */
static bool
listener_addr(const struct config_listener *l, int *family, uint8_t addr[16])
{
	if (l->host == NULL)
		return false;
	*family = strchr(l->host, ':') ? AF_INET6 : AF_INET;
	memset(addr, 0, 16);
	return inet_pton(*family, l->host, addr) == 1;
}

/* Two listeners cannot bind the same address and port. */
static void
check_address_unique(struct loader *L, size_t i)
{
	const struct config_listener *l = &L->c->listeners[i];
	uint8_t a[16], b[16];
	int fa, fb;

	if (L->llines[i].bad[K_LISTENER_ADDRESS] || !listener_addr(l, &fa, a))
		return;
	for (size_t j = 0; j < i; j++) {
		const struct config_listener *o = &L->c->listeners[j];
		char label[128], other[128];

		if (L->llines[j].bad[K_LISTENER_ADDRESS] || o->port != l->port ||
		    !listener_addr(o, &fb, b) || fa != fb || memcmp(a, b, 16) != 0)
			continue;
		loader_listener_label(label, sizeof label, l);
		loader_listener_label(other, sizeof other, o);
		diag_error(L->d, L->file, listener_line(L, i, K_LISTENER_ADDRESS),
		           fa == AF_INET6 ? "%s address [%s]:%u is already used by %s (line %u)"
		                          : "%s address %s:%u is already used by %s (line %u)",
		           label, l->host, (unsigned)l->port, other, o->line);
		return;
	}
}

static void
check_listeners(struct loader *L)
{
	if (L->c->nlisteners == 0) {
		diag_error(L->d, L->file, 1,
		           "no listener: add a [listener \"NAME\"] section with an address");
		return;
	}
	for (size_t i = 0; i < L->c->nlisteners; i++) {
		check_auth_tls(L, i);
		check_address_unique(L, i);
	}
}

/* A [tls] file that a listener needs: it must open and be a regular file. */
static void
check_readable(struct loader *L, int key, const char *path, size_t li)
{
	static const char *const tls_words[] = {"none", "starttls", "implicit"};
	const struct config_listener *l = &L->c->listeners[li];
	struct loader_quote q;
	char label[128];
	const char *why = NULL;
	struct stat st;
	unsigned line;
	int fd = -1;

	/* stat first: a device or FIFO named here is never opened. */
	if (stat(path, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		why = strerror(errno);
	else
		close(fd);
	if (why == NULL)
		return;
	line = L->fixed[SEC_TLS].seen[key] ? L->fixed[SEC_TLS].seen[key]
	                                   : listener_line(L, li, K_LISTENER_TLS);
	loader_listener_label(label, sizeof label, l);
	diag_error(L->d, L->file, line,
	           "[tls] %s: cannot read '%s': %s (needed by %s with tls = %s)",
	           keys_key_name(SEC_TLS, key), loader_quote(&q, span_cstr(path)), why, label,
	           tls_words[l->tls]);
}

static void
check_tls_files(struct loader *L)
{
	const struct config *c = L->c;

	if (c->tls.self_signed)
		return; /* the embedded default's pair is made at start when missing */

	for (size_t i = 0; i < c->nlisteners; i++) {
		if (c->listeners[i].tls == CONFIG_TLS_NONE || L->llines[i].bad[K_LISTENER_TLS])
			continue;
		check_readable(L, K_TLS_CERT, c->tls.cert, i);
		check_readable(L, K_TLS_KEY, c->tls.key, i);
		return; /* once, for the first listener that needs them */
	}
}

static void
check_delivery(struct loader *L)
{
	const struct config *c = L->c;
	const struct loader_lines *ln = &L->fixed[SEC_DELIVERY];
	unsigned line;

	if (c->delivery.retry_min > c->delivery.retry_max && !ln->bad[K_DELIVERY_RETRY_MIN] &&
	    !ln->bad[K_DELIVERY_RETRY_MAX]) {
		line = ln->seen[K_DELIVERY_RETRY_MIN]
		           ? ln->seen[K_DELIVERY_RETRY_MIN]
		           : fixed_line(L, SEC_DELIVERY, K_DELIVERY_RETRY_MAX);
		diag_error(L->d, L->file, line,
		           "[delivery] retry_min (%" PRIu64 "s) is greater than retry_max (%" PRIu64
		           "s)",
		           c->delivery.retry_min, c->delivery.retry_max);
	}
	if (c->delivery.warn_after >= c->delivery.queue_lifetime &&
	    !ln->bad[K_DELIVERY_WARN_AFTER] && !ln->bad[K_DELIVERY_QUEUE_LIFETIME]) {
		line = ln->seen[K_DELIVERY_WARN_AFTER]
		           ? ln->seen[K_DELIVERY_WARN_AFTER]
		           : fixed_line(L, SEC_DELIVERY, K_DELIVERY_QUEUE_LIFETIME);
		diag_warn(L->d, L->file, line,
		          "[delivery] warn_after (%" PRIu64
		          "s) is not shorter than queue_lifetime (%" PRIu64
		          "s): no 'delayed' DSN will be sent",
		          c->delivery.warn_after, c->delivery.queue_lifetime);
	}
}

/* A domain is delivered here or kept for its ODMR client, not both; and
 * ATRN needs a listener where clients can log in. */
static void
check_odmr(struct loader *L)
{
	const struct config *c = L->c;
	unsigned line = fixed_line(L, SEC_ODMR, K_ODMR_DOMAINS);
	bool auth = false;
	struct loader_quote q;

	for (size_t i = 0; i < c->odmr.ndomains; i++)
		if (config_is_local_domain(c, c->odmr.domains[i], strlen(c->odmr.domains[i])))
			diag_error(L->d, L->file, line,
			           "[odmr] domains: '%s' is also a local domain; a domain is either "
			           "delivered here or kept for ATRN",
			           loader_quote(&q, span_cstr(c->odmr.domains[i])));
	for (size_t i = 0; i < c->odmr.nclients; i++)
		for (size_t k = 0; k < c->odmr.clients[i].ndomains; k++) {
			const char *d = c->odmr.clients[i].domains[k];

			if (!config_is_odmr_domain(c, d, strlen(d)))
				diag_error(L->d, L->file, fixed_line(L, SEC_ODMR, K_ODMR_CLIENTS),
				           "[odmr] clients: '%s' is not one of [odmr] domains",
				           loader_quote(&q, span_cstr(d)));
		}
	if (c->odmr.ndomains && !c->odmr.nclients)
		diag_warn(L->d, L->file, line,
		          "[odmr] domains: no [odmr] clients may send ATRN; their mail waits "
		          "until it expires");
	for (size_t i = 0; i < c->nlisteners; i++)
		auth |= c->listeners[i].auth != CONFIG_AUTH_NONE;
	if (c->odmr.ndomains && !auth)
		diag_warn(L->d, L->file, line,
		          "[odmr] domains: no listener has auth, so no client can log in and send "
		          "ATRN; their mail waits until it expires");
}

static void
check_limits(struct loader *L)
{
	const struct config *c = L->c;
	const struct loader_lines *ln = &L->fixed[SEC_LIMITS];

	if (c->limits.max_connections_per_ip <= c->limits.max_connections ||
	    ln->bad[K_LIMITS_MAX_CONNECTIONS] || ln->bad[K_LIMITS_MAX_CONNECTIONS_PER_IP])
		return;
	diag_warn(L->d, L->file,
	          ln->seen[K_LIMITS_MAX_CONNECTIONS_PER_IP]
	              ? ln->seen[K_LIMITS_MAX_CONNECTIONS_PER_IP]
	              : fixed_line(L, SEC_LIMITS, K_LIMITS_MAX_CONNECTIONS),
	          "[limits] max_connections_per_ip (%u) is greater than max_connections (%u)",
	          c->limits.max_connections_per_ip, c->limits.max_connections);
}

/* See the header comment: explicit, or root with the default. */
static void
check_user(struct loader *L)
{
	const char *user = L->c->server.user;
	unsigned set = L->fixed[SEC_SERVER].set[K_SERVER_USER];
	unsigned line = fixed_line(L, SEC_SERVER, K_SERVER_USER);
	struct loader_quote q;
	struct passwd *pw;

	if (L->embedded || user == NULL || (!set && getuid() != 0))
		return;
	errno = 0;
	pw = getpwnam(user);
	loader_quote(&q, span_cstr(user));
	if (pw != NULL) {
		if (pw->pw_uid == 0)
			diag_error(L->d, L->file, line,
			           "[server] user: '%s' has uid 0, and postino does not deliver mail as "
			           "root; name an unprivileged account (e.g. postino)",
			           q.s);
		return;
	}
	if (errno != 0 && errno != ENOENT && errno != ESRCH && errno != EBADF && errno != EPERM)
		diag_error(L->d, L->file, line, "[server] user: cannot look up '%s': %s", q.s,
		           strerror(errno));
	else if (set)
		diag_error(L->d, L->file, line, "[server] user: no such user '%s'", q.s);
	else
		diag_error(
		    L->d, L->file, line,
		    "[server] user: no such user '%s' (the default when started as root; set "
		    "user to an existing account)",
		    q.s);
}

/* The host's FQDN: gethostname, made canonical by getaddrinfo (AI_CANONNAME),
 * else gethostname's answer as it is, else "localhost". */
static char *
host_fqdn(void)
{
	char name[HOSTNAME_MAX];
	struct addrinfo hints, *res = NULL;
	char *fqdn = NULL;

	if (gethostname(name, sizeof name) != 0)
		return xstrdup("localhost");
	name[sizeof name - 1] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_CANONNAME;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) == 0 && res->ai_canonname &&
	    values_is_domain(span_cstr(res->ai_canonname)))
		fqdn = xstrdup(res->ai_canonname);
	if (res)
		freeaddrinfo(res);
	if (fqdn == NULL)
		fqdn = xstrdup(values_is_domain(span_cstr(name)) ? name : "localhost");
	return fqdn;
}

void
check_config(struct loader *L)
{
	check_listeners(L);
	if (!L->client)
		check_tls_files(L);
	check_delivery(L);
	check_limits(L);
	check_odmr(L);
	if (!L->client)
		check_user(L);
	/* Only for a config that will be used: no name look-up for a bad file. */
	if (L->c->server.hostname == NULL && L->d->nerrors == L->nerrors0)
		L->c->server.hostname = host_fqdn();
}
