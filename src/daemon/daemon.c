/* daemon.c - the serve command (see daemon.h).
 * Owns: the event base, listening sockets, connection accounting (total and
 * per client address), signals, start-up recovery and orderly shutdown.
 * Shutdown: stop accepting; idle sessions get 421; sessions inside DATA may
 * finish for a bounded time; commits in flight complete (their 250 is sent or
 * the message is queued anyway); deliveries in flight finish; exit 0. */
#include "daemon/daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <grp.h>
#include <pwd.h>
#include <ftw.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/mailboxes.h"
#include "daemon/control.h"
#include "daemon/local.h"
#include "daemon/session.h"
#include "daemon/workq.h"
#include "deliver/remote.h"
#include "net/tls.h"
#include "policy/authlimit.h"
#include "queue/queue.h"
#include "spool/spool.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Commits (a client waits for its 250) and deliveries have pools of their own,
 * so neither starves the other; both are mostly waiting on fsync, so several
 * threads keep several journal commits' worth of work in flight. */
#define COMMIT_WORKERS 16
#define DELIVERY_WORKERS 8
#define SHUTDOWN_GRACE 10   /* seconds sessions inside DATA get to finish */
#define MAILDROP_SCAN 5     /* seconds between looks into the maildrop */

/* Connections per client address: a small chained hash table. */
struct ipcount {
	struct ipcount *next;
	uint8_t addr[16];
	unsigned n;
};
#define IPBUCKETS 1024

struct daemon;

struct listener {
	struct daemon *d;
	const struct config_listener *conf;
	struct evconnlistener *lev;
};

struct daemon {
	struct event_base *base;
	struct config *cfg;
	struct mailboxes *mb;
	struct spool *spool;
	struct workq *wq;            /* commits and password checks */
	struct workq *dq;            /* deliveries */
	struct remote *remote;
	struct queue *queue;
	struct session_ctx ctx;
	struct listener **listeners;
	size_t nlisteners;
	struct event *sigterm, *sigint, *sighup, *grace, *poll;
	struct listener local;       /* <spool>/submit, for `postino send` */
	struct config_listener local_conf;
	struct event *maildrop;
	struct control *control;     /* <spool>/control, for `postino queue` */
	struct config **old_cfgs;    /* replaced by reloads; sessions may still borrow from them */
	size_t nold;
	struct ipcount *ips[IPBUCKETS];
};

/* The address bytes of a peer (IPv4-mapped IPv6 counts as IPv4). */
static void
addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		key[10] = key[11] = 0xff;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	}
}

static struct ipcount **
ip_slot(struct daemon *d, const uint8_t key[16])
{
	uint32_t h = 2166136261u;
	struct ipcount **pp;

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	pp = &d->ips[h % IPBUCKETS];
	while (*pp && memcmp((*pp)->addr, key, 16) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void
ip_release(void *arg, const struct sockaddr *peer)
{
	struct daemon *d = arg;
	uint8_t key[16];
	struct ipcount **pp, *e;

	addr_key(peer, key);
	pp = ip_slot(d, key);
	if (!(e = *pp))
		return;
	if (--e->n == 0) {
		*pp = e->next;
		free(e);
	}
}

/* Refuse a connection over a cap with 421 (best effort, never blocks). */
static void
refuse(evutil_socket_t fd, const struct config *cfg, const char *why)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "421 4.7.0 %s %s, try again later\r\n",
	    cfg->server.hostname, why);

	if (n > 0)
		(void)!send(fd, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	evutil_closesocket(fd);
}


static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct listener *l = arg;
	struct daemon *d = l->d;
	const struct config *cfg = d->cfg;
	uint8_t key[16];
	struct ipcount **pp;

	if (d->ctx.stopping) {
		refuse(fd, cfg, "Service shutting down");
		return;
	}
	if (d->ctx.nsessions + d->ctx.nturned >= cfg->limits.max_connections) {
		log_warn("- smtp.refused reason=max_connections limit=%u",
		    cfg->limits.max_connections);
		refuse(fd, cfg, "Too many connections");
		return;
	}
	addr_key(sa, key);
	pp = ip_slot(d, key);
	if (*pp && (*pp)->n >= cfg->limits.max_connections_per_ip) {
		log_warn("- smtp.refused reason=max_connections_per_ip limit=%u",
		    cfg->limits.max_connections_per_ip);
		refuse(fd, cfg, "Too many connections from your address");
		return;
	}
	if (!*pp) {
		*pp = xcalloc(1, sizeof **pp);
		memcpy((*pp)->addr, key, 16);
	}
	(*pp)->n++;
	session_start(&d->ctx, l->conf, fd, sa, salen);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: keep running; libevent retries on the next event */
	log_error("- smtp.accept_failed error=\"%s\"", evutil_socket_error_to_string(err));
}

static struct evconnlistener *
bind_listener(struct daemon *d, struct listener *l)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char port[8];
	struct evconnlistener *lev = NULL;
	int fd = -1, one = 1, r;

	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%u", (unsigned)l->conf->port);
	if ((r = getaddrinfo(l->conf->host, port, &hints, &ai)) != 0) {
		log_error("- listen.failed listener=%s address=%s error=\"%s\"", l->conf->name,
		    l->conf->host, gai_strerror(r));
		return NULL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (ai->ai_family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
		log_error("- listen.failed listener=%s address=%s port=%u error=\"%s\"",
		    l->conf->name, l->conf->host, (unsigned)l->conf->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return NULL;
	}
	freeaddrinfo(ai);
	lev = evconnlistener_new(d->base, on_accept, l, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	evconnlistener_set_error_cb(lev, on_accept_error);
	log_info("- listen listener=%s address=%s port=%u", l->conf->name, l->conf->host,
	    (unsigned)l->conf->port);
	return lev;
}

/* ---- recovery ---- */

static void
recovered(void *arg, struct spool_envelope *env)
{
	struct daemon *d = arg;

	log_info("%s queue.recovered from=<%s> nrcpt=%zu", env->id, env->sender, env->nrcpts);
	queue_add(d->queue, env);
}

static void
recover_bad(void *arg, const char *path, const char *reason)
{
	log_error("- spool.corrupt file=%s reason=\"%s\" (moved aside)", path, reason);
}

/* ---- local submission ---- */

static void
maildrop_queued(void *arg, struct spool_envelope *env)
{
	queue_add(((struct daemon *)arg)->queue, env);
}

static void
on_maildrop(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	maildrop_import(d->cfg->server.spool, d->spool, d->ctx.cfg, d->ctx.mb, maildrop_queued, d);
}

/* The socket `postino send` speaks SMTP on, and the maildrop timer. */
static int
start_local(struct daemon *d)
{
	int fd = local_listen(d->cfg->server.spool);
	struct timeval tv = { MAILDROP_SCAN, 0 };

	if (fd < 0) {
		log_error("- local.listen_failed spool=%s error=\"%s\"", d->cfg->server.spool,
		    strerror(errno));
		return -1;
	}
	d->local_conf = (struct config_listener){ .name = (char *)"local", .host = (char *)"local" };
	d->local.d = d;
	d->local.conf = &d->local_conf;
	d->local.lev = evconnlistener_new(d->base, on_accept, &d->local, LEV_OPT_CLOSE_ON_FREE, -1,
	    fd);
	evconnlistener_set_error_cb(d->local.lev, on_accept_error);
	d->maildrop = event_new(d->base, -1, EV_PERSIST, on_maildrop, d);
	event_add(d->maildrop, &tv);
	log_info("- listen listener=local socket=%s/submit", d->cfg->server.spool);
	return 0;
}

/* ---- signals and shutdown ---- */

static void
stop_listeners(struct daemon *d)
{
	for (size_t i = 0; i < d->nlisteners; i++)
		if (d->listeners[i])
			evconnlistener_disable(d->listeners[i]->lev);
	if (d->local.lev)
		evconnlistener_disable(d->local.lev);
}

static void
check_stopped(struct daemon *d)
{
	if (d->ctx.nsessions == 0)
		event_base_loopexit(d->base, NULL);
}

static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->ctx.nsessions)
		log_info("- daemon.stopping closing=%u sessions (grace period over)",
		    d->ctx.nsessions);
	session_close_all(&d->ctx);
	event_base_loopexit(d->base, NULL);
}

static void
on_poll_stop(evutil_socket_t fd, short what, void *arg)
{
	check_stopped(arg);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval grace = { SHUTDOWN_GRACE, 0 }, poll = { 0, 100000 };

	if (d->ctx.stopping)
		return;
	log_info("- daemon.stopping signal=%d sessions=%u", (int)sig, d->ctx.nsessions);
	d->ctx.stopping = true;
	stop_listeners(d);
	session_shutdown_idle(&d->ctx);
	d->grace = evtimer_new(d->base, on_grace, d);
	evtimer_add(d->grace, &grace);
	d->poll = event_new(d->base, -1, EV_PERSIST, on_poll_stop, d);
	event_add(d->poll, &poll);
}

static int open_tls(struct daemon *d);

/* Listener changes need the sockets rebound: a reload keeps the old ones. */
static bool
same_listeners(const struct config *a, const struct config *b)
{
	if (a->nlisteners != b->nlisteners)
		return false;
	for (size_t i = 0; i < a->nlisteners; i++) {
		const struct config_listener *x = &a->listeners[i], *y = &b->listeners[i];

		if (strcmp(x->host, y->host) != 0 || x->port != y->port || x->tls != y->tls ||
		    x->auth != y->auth)
			return false;
	}
	return true;
}

/* SIGHUP: read the configuration, users and aliases again and switch to
 * them; anything broken keeps the old ones. Sessions go on; new commands use
 * the new tables. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct diag dg;
	struct config *nc;
	struct mailboxes *nm = NULL;
	struct ssl_ctx_st *old_tls = d->ctx.tls;
	struct config *oc = d->cfg;

	if (strcmp(d->cfg->file, "(embedded default)") == 0) {
		log_info("- daemon.reload status=skipped reason=\"the embedded default has no "
			 "files\"");
		return;
	}
	diag_init(&dg);
	nc = config_load_file(d->cfg->file, &dg);
	if (nc)
		nm = mailboxes_load(nc, &dg);
	diag_print(&dg, stderr);
	diag_reset(&dg);
	if (!nc || !nm) {
		log_error("- daemon.reload status=refused reason=\"configuration has errors; the "
			  "running one stays\" config=%s", d->cfg->file);
		if (nm)
			mailboxes_free(nm);
		config_free(nc);
		return;
	}
	d->ctx.tls = NULL;
	d->cfg = nc;
	if (open_tls(d) < 0) {
		log_error("- daemon.reload status=refused reason=\"TLS certificate\"");
		d->ctx.tls = old_tls;
		d->cfg = oc;
		mailboxes_free(nm);
		config_free(nc);
		return;
	}
	tls_ctx_free(old_tls);   /* open TLS sessions hold their own reference */
	if (!same_listeners(oc, nc) || strcmp(oc->server.spool, nc->server.spool) != 0)
		log_warn("- daemon.reload note=\"listener and spool changes take effect at the "
			 "next restart\"");
	d->old_cfgs = xreallocarray(d->old_cfgs, d->nold + 1, sizeof *d->old_cfgs);
	d->old_cfgs[d->nold++] = oc;
	mailboxes_free(d->mb);
	d->mb = nm;
	d->ctx.mb = nm;
	d->ctx.cfg = nc;
	queue_set_config(d->queue, nc);
	{
		char err[512];

		if (remote_set_config(d->remote, nc, err, sizeof err) < 0)
			log_error("- daemon.reload resolver=unchanged error=\"%s\"", err);
	}
	log_info("- daemon.reload status=ok config=%s", nc->file);
}

/* ---- run ---- */

static int
open_mailboxes(struct daemon *d)
{
	struct diag dg;

	diag_init(&dg);
	d->mb = mailboxes_load(d->cfg, &dg);
	diag_print(&dg, stderr);
	diag_reset(&dg);
	return d->mb ? 0 : -1;
}

/* The spool belongs to postino alone: whatever in it is not the daemon user's
 * yet (left by an earlier run as another account) is handed over. */
static uid_t takeover_uid;
static gid_t takeover_gid;

static int
takeover_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)type;
	(void)ftw;
	if ((st->st_uid != takeover_uid || st->st_gid != takeover_gid) &&
	    lchown(path, takeover_uid, takeover_gid) < 0)
		return -1;
	return 0;
}

/* The spool directory (0700) and, when missing, its parents (0755, so that
 * the daemon user can reach it). 0, or -1 with errno. */
static int
make_spool_dir(const char *spool)
{
	if (mkdir_parents(spool, 0755) < 0 || (mkdir(spool, 0700) < 0 && errno != EEXIST))
		return -1;
	return 0;
}

/* The directory part of the Maildir pattern before its first %: the place the
 * daemon user must be able to create Maildirs in ("./var/mail" for
 * "./var/mail/%d/%n"). NULL when the pattern starts with a %. */
static char *
maildir_base(const char *pattern)
{
	const char *pct = strchr(pattern, '%');
	size_t n = pct ? (size_t)(pct - pattern) : strlen(pattern);

	while (n > 0 && pattern[n - 1] != '/')
		n--;
	while (n > 1 && pattern[n - 1] == '/')
		n--;
	return n ? xstrndup(pattern, n) : NULL;
}

/* Started as root: the ports are bound and the files only root may read are
 * read; from here on run as [server] user, never as root (SPEC: "user ... when
 * started as root: drop to this user"; mail is not delivered with uid 0). The
 * spool, and the Maildir base when it does not exist yet, are made for that
 * user first. */
static int
drop_privileges(const struct config *c)
{
	struct passwd *pw;
	char *base;

	if (geteuid() != 0)
		return 0;
	if (!c->server.user) {
		log_error("- daemon.user_failed error=\"started as root without [server] user: "
		    "postino does not deliver mail as root\"");
		return -1;
	}
	if (!(pw = getpwnam(c->server.user))) {
		log_error("- daemon.user_failed user=%s error=\"no such user\"", c->server.user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_error("- daemon.user_failed user=%s error=\"uid 0: postino does not deliver "
		    "mail as root; set [server] user to an unprivileged account\"", c->server.user);
		return -1;
	}
	takeover_uid = pw->pw_uid;
	takeover_gid = pw->pw_gid;
	if (make_spool_dir(c->server.spool) < 0 ||
	    nftw(c->server.spool, takeover_one, 16, FTW_PHYS) != 0) {
		log_error("- daemon.user_failed user=%s spool=%s error=\"cannot hand the spool "
		    "over: %s\"", c->server.user, c->server.spool, strerror(errno));
		return -1;
	}
	/* An administrator's Maildir tree is left as it is; the embedded
	 * default's ./var/mail is postino's own, like its spool. */
	base = maildir_base(c->mailboxes.maildir);
	if (base && ((access(base, F_OK) != 0 &&
	                 (mkdir_p(base, 0755) < 0 || chown(base, pw->pw_uid, pw->pw_gid) < 0)) ||
	                (c->embedded && nftw(base, takeover_one, 16, FTW_PHYS) != 0))) {
		log_error("- daemon.user_failed user=%s maildir=%s error=\"%s\"", c->server.user,
		    base, strerror(errno));
		goto fail;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_error("- daemon.user_failed user=%s error=\"%s\"", c->server.user,
		    strerror(errno));
		goto fail;
	}
	if (setuid(0) == 0)
		PANIC("could set uid 0 again after dropping privileges");
	log_info("- daemon.user user=%s uid=%u gid=%u", pw->pw_name, (unsigned)pw->pw_uid,
	    (unsigned)pw->pw_gid);
	if (access(c->server.spool, R_OK | W_OK | X_OK) < 0) {
		log_error("- daemon.user_failed user=%s spool=%s error=\"%s\" note=\"every "
		    "directory on the way to the spool (for a relative path: the working "
		    "directory) must be searchable by this user\"", pw->pw_name, c->server.spool,
		    strerror(errno));
		goto fail;
	}
	if (base && access(base, W_OK | X_OK) != 0)
		log_warn("- daemon.maildir_base dir=%s user=%s error=\"%s\" note=\"Maildirs "
		    "that do not exist yet cannot be made there\"", base, pw->pw_name,
		    strerror(errno));
	free(base);
	return 0;
fail:
	free(base);
	return -1;
}

static int
open_spool(struct daemon *d)
{
	const char *why = NULL;

	if (spool_open(d->cfg->server.spool, &d->spool, &why) < 0) {
		log_error("- spool.open_failed dir=%s step=\"%s\" error=\"%s\"", d->cfg->server.spool,
		    why ? why : "open", strerror(errno));
		return -1;
	}
	return 0;
}

/* Load the certificate when a listener needs TLS. The embedded default has
 * no certificate of its own: a self-signed one is made under its spool's
 * parent directory on first run, for development only. */
static int
open_tls(struct daemon *d)
{
	const struct config *c = d->cfg;
	char err[512];
	bool need = false;
	int made;

	for (size_t i = 0; i < c->nlisteners; i++)
		need |= c->listeners[i].tls != CONFIG_TLS_NONE;
	if (!need)
		return 0;
	if (c->tls.self_signed) {
		made = tls_ensure_self_signed(c->tls.cert, c->tls.key, c->server.hostname, err,
		    sizeof err);
		if (made < 0) {
			log_error("- tls.failed error=\"%s\"", err);
			return -1;
		}
		log_warn("- tls.self_signed cert=%s key=%s%s (development only: clients cannot "
			 "verify it)", c->tls.cert, c->tls.key, made ? " created" : "");
	}
	d->ctx.tls = tls_server_ctx_new(c->tls.cert, c->tls.key, err, sizeof err);
	if (!d->ctx.tls) {
		log_error("- tls.failed error=\"%s\"", err);
		return -1;
	}
	return 0;
}

static int
start_listeners(struct daemon *d)
{
	d->nlisteners = d->cfg->nlisteners;
	d->listeners = xcalloc(d->nlisteners, sizeof *d->listeners);
	for (size_t i = 0; i < d->nlisteners; i++) {
		struct listener *l = xcalloc(1, sizeof *l);

		l->d = d;
		l->conf = &d->cfg->listeners[i];
		d->listeners[i] = l;
		l->lev = bind_listener(d, l);
		if (!l->lev)
			return -1;
	}
	return 0;
}

static void
teardown(struct daemon *d)
{
	for (size_t i = 0; i < d->nlisteners; i++)
		if (d->listeners[i]) {
			if (d->listeners[i]->lev)
				evconnlistener_free(d->listeners[i]->lev);
			free(d->listeners[i]);
		}
	free(d->listeners);
	if (d->ctx.base)
		session_close_all(&d->ctx);
	control_free(d->control);
	remote_free(d->remote); /* connections end; their recipients wait for a retry */
	workq_free(d->wq);     /* runs every done callback: commits are queued */
	workq_free(d->dq);     /* deliveries in flight finish */
	tls_ctx_free(d->ctx.tls);
	authlimit_free(d->ctx.authlimit);
	queue_free(d->queue);
	if (d->spool)
		spool_close(d->spool);
	if (d->mb)
		mailboxes_free(d->mb);
	for (size_t i = 0; i < IPBUCKETS; i++)
		while (d->ips[i]) {
			struct ipcount *e = d->ips[i];

			d->ips[i] = e->next;
			free(e);
		}
	if (d->grace)
		event_free(d->grace);
	if (d->poll)
		event_free(d->poll);
	if (d->maildrop)
		event_free(d->maildrop);
	if (d->local.lev)
		evconnlistener_free(d->local.lev);
	if (d->sigterm)
		event_free(d->sigterm);
	if (d->sigint)
		event_free(d->sigint);
	if (d->sighup)
		event_free(d->sighup);
	if (d->base)
		event_base_free(d->base);
	config_free(d->cfg);
	for (size_t i = 0; i < d->nold; i++)
		config_free(d->old_cfgs[i]);
	free(d->old_cfgs);
}

int
daemon_run(struct config *cfg)
{
	struct daemon d = { 0 };
	int rc = 2, n;

	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	d.cfg = cfg;
	d.base = event_base_new();
	if (!d.base || open_mailboxes(&d) < 0)
		goto out;
	d.ctx = (struct session_ctx){ .base = d.base, .cfg = cfg, .mb = d.mb,
		.on_close = ip_release, .on_close_arg = &d, .authlimit = authlimit_new() };
	/* as root, if started so: the key, the ports */
	if (open_tls(&d) < 0 || start_listeners(&d) < 0 || drop_privileges(cfg) < 0 ||
	    open_spool(&d) < 0)
		goto out;
	d.wq = workq_new(d.base, COMMIT_WORKERS);
	d.dq = workq_new(d.base, DELIVERY_WORKERS);
	{
		char err[512];

		if (!(d.remote = remote_new(d.base, cfg, err, sizeof err))) {
			log_error("- remote.failed error=\"%s\"", err);
			goto out;
		}
	}
	d.queue = queue_new(d.base, d.dq, d.spool, d.remote, cfg);
	d.ctx.spool = d.spool;
	d.ctx.wq = d.wq;
	d.ctx.queue = d.queue;
	d.ctx.remote = d.remote;
	if ((n = spool_recover(d.spool, recovered, recover_bad, &d)) < 0) {
		log_error("- spool.recover_failed error=\"%s\"", strerror(errno));
		goto out;
	}
	log_info("- spool.recovered messages=%d", n);
	if (start_local(&d) < 0)
		goto out;
	if (!(d.control = control_new(d.base, cfg->server.spool, d.queue, d.spool))) {
		log_error("- control.listen_failed spool=%s error=\"%s\"", cfg->server.spool,
		    strerror(errno));
		goto out;
	}
	if ((n = maildrop_import(cfg->server.spool, d.spool, cfg, d.mb, maildrop_queued, &d)) > 0)
		log_info("- maildrop.imported messages=%d", n);
	d.sigterm = evsignal_new(d.base, SIGTERM, on_stop, &d);
	d.sigint = evsignal_new(d.base, SIGINT, on_stop, &d);
	d.sighup = evsignal_new(d.base, SIGHUP, on_hup, &d);
	evsignal_add(d.sigterm, NULL);
	evsignal_add(d.sigint, NULL);
	evsignal_add(d.sighup, NULL);
	log_info("- daemon.started hostname=%s spool=%s config=%s", cfg->server.hostname,
	    cfg->server.spool, cfg->file);
	event_base_dispatch(d.base);
	rc = 0;
out:
	teardown(&d);
	log_info("- daemon.stopped status=%d", rc);
	return rc;
}
