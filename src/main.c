/* main.c - the command line: serve, send, queue, check, hash-password.
 * Only argument handling and dispatch live here (SPEC.md "Command line").
 * `-c FILE` may stand before or after the subcommand; without it the file
 * named by $POSTINO_CONFIG, else /etc/postino/postino.conf, else the
 * embedded default is used. Exit codes: 0 ok, 1 user error, 2 failure;
 * `send` (and the binary under the name `sendmail`) uses sysexits.h. */
#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/mailboxes.h"
#include "config/config.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "send/send.h"
#include "util/log.h"
#include "version.h"

#define SYSTEM_CONFIG "/etc/postino/postino.conf"

static const char usage[] =
    "usage: postino [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  serve            run the daemon in the foreground (logs to stderr)\n"
    "  check            validate the configuration; FILE:LINE: message per problem\n"
    "  send             sendmail-compatible submission of a message on stdin\n"
    "  queue            inspect and act on the running daemon's queue\n"
    "  hash-password    read a password on stdin, print a crypt(3) hash\n"
    "\n"
    "options:\n"
    "  -c FILE          configuration file (default: $POSTINO_CONFIG, then\n"
    "                   " SYSTEM_CONFIG ", then the embedded default)\n"
    "  -v               with serve: log protocol details (debug)\n"
    "  --version        print the version\n"
    "  --help           this text; `postino COMMAND --help` for one command\n";

struct cmd_help {
	const char *name, *text;
};

static const struct cmd_help helps[] = {
	{ "serve", "usage: postino serve [-c FILE] [-v]\n"
		   "Run the MTA in the foreground, logging one line per event to stderr.\n"
		   "SIGTERM/SIGINT stop it cleanly. Without a configuration file it runs on\n"
		   "the embedded default: 127.0.0.1:2525, spool and Maildirs under ./var,\n"
		   "local domain localhost. `postino serve --print-default` shows it.\n" },
	{ "check", "usage: postino check [-c FILE]\n"
		   "Validate the configuration and the users and aliases files it names.\n"
		   "Prints FILE:LINE: message for each problem; exit 0 when usable, else 1.\n" },
	{ "hash-password", "usage: postino hash-password < password\n"
			   "Read one line from stdin and print a crypt(3) hash (yescrypt where\n"
			   "libcrypt has it) for the users file.\n" },
	{ "queue", "usage: postino queue [-c FILE] list [--json] | show ID | flush |\n"
		   "                     delete ID... | hold ID... | release ID...\n"
		   "Inspect and act on the running daemon's queue (through <spool>/control;\n"
		   "run it as root or as the daemon's user). list: every message with its\n"
		   "recipients, their state, attempts, next attempt and last reply (--json:\n"
		   "one JSON object per line). show: the envelope and the message. flush:\n"
		   "every waiting message is due now. hold: no delivery until released.\n"
		   "Exit 0 done, 1 unknown ID or bad arguments, 2 the daemon is not running.\n" },
};

struct args {
	const char *config;
	const char *cmd;
	bool verbose, help, print_default;
	int sub;           /* send: where its own arguments start in argv */
	int nrest;
	char **rest;
};

static int
parse_args(int argc, char **argv, struct args *a)
{
	char **rest = calloc((size_t)argc + 1, sizeof *rest);

	if (!rest)
		return -1;
	a->rest = rest;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (strcmp(s, "-c") == 0) {
			if (++i == argc) {
				fprintf(stderr, "postino: -c needs a file name\n");
				return -1;
			}
			a->config = argv[i];
		} else if (strncmp(s, "-c", 2) == 0 && s[2]) {
			a->config = s + 2;
		} else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
			a->help = true;
		} else if (strcmp(s, "-v") == 0) {
			a->verbose = true;
		} else if (strcmp(s, "--print-default") == 0) {
			a->print_default = true;
		} else if (!a->cmd && s[0] != '-') {
			a->cmd = s;
			if (strcmp(s, "send") == 0) {
				a->sub = i + 1;   /* sendmail's options are send's own */
				break;
			}
		} else {
			rest[a->nrest++] = argv[i];
		}
	}
	return 0;
}

/* Load the configuration the arguments name; NULL (after printing why) on
 * error. client: for `send` and `queue`, without the daemon-only checks. */
static struct config *
load_config_as(const struct args *a, struct diag *d, bool client)
{
	const char *path = a->config;

	if (!path)
		path = getenv("POSTINO_CONFIG");
	if (path && !*path)
		path = NULL;
	if (!path && access(SYSTEM_CONFIG, F_OK) == 0)
		path = SYSTEM_CONFIG;
	if (!path)
		return config_default();
	return client ? config_load_file_client(path, d) : config_load_file(path, d);
}

static struct config *
load_config(const struct args *a, struct diag *d)
{
	return load_config_as(a, d, false);
}

static int
cmd_check(const struct args *a)
{
	struct diag d;
	struct config *c;
	struct mailboxes *m = NULL;
	int rc;

	diag_init(&d);
	c = load_config(a, &d);
	if (c)
		m = mailboxes_load(c, &d);
	diag_print(&d, stderr);
	rc = (c && m && d.nerrors == 0) ? 0 : 1;
	if (rc == 0)
		printf("%s: ok\n", c->file);
	if (m)
		mailboxes_free(m);
	config_free(c);
	diag_reset(&d);
	return rc;
}

static int
cmd_serve(const struct args *a)
{
	struct diag d;
	struct config *c;

	if (a->print_default) {
		fputs(config_default_text(), stdout);
		return 0;
	}
	if (a->nrest) {
		fprintf(stderr, "postino serve: unexpected argument '%s'\n", a->rest[0]);
		return 1;
	}
	if (a->verbose)
		log_set_level(LOG_DEBUG);
	diag_init(&d);
	c = load_config(a, &d);
	diag_print(&d, stderr);
	diag_reset(&d);
	if (!c)
		return 1;
	return daemon_run(c);
}

static int
cmd_hash_password(void)
{
	char line[1024];
	const char *setting, *hash;
	size_t n;

	if (!fgets(line, sizeof line, stdin)) {
		fprintf(stderr, "postino hash-password: no password on stdin\n");
		return 1;
	}
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "postino hash-password: empty password\n");
		return 1;
	}
	setting = crypt_gensalt("$y$", 0, NULL, 0);
	if (!setting)
		setting = crypt_gensalt("$6$", 0, NULL, 0);
	hash = setting ? crypt(line, setting) : NULL;
	explicit_bzero(line, sizeof line);
	if (!hash || hash[0] == '*') {
		fprintf(stderr, "postino hash-password: crypt failed: %s\n", strerror(errno));
		return 2;
	}
	printf("%s\n", hash);
	return 0;
}

/* `postino queue SUB [ARGS]`: a request to the daemon's control socket. */
static int
cmd_queue(const struct args *a)
{
	struct diag d;
	struct config *c;
	char req[4096];
	const char *sub = a->nrest ? a->rest[0] : "";
	bool json = false, ids = false;
	size_t n = 0;
	int rc;

	if (!strcmp(sub, "list") || !strcmp(sub, "flush"))
		n = (size_t)snprintf(req, sizeof req, "%s", !strcmp(sub, "list") ? "LIST" : "FLUSH");
	else if (!strcmp(sub, "show") && a->nrest == 2)
		n = (size_t)snprintf(req, sizeof req, "SHOW %s", a->rest[1]);
	else if ((ids = !strcmp(sub, "delete") || !strcmp(sub, "hold") || !strcmp(sub, "release")))
		n = (size_t)snprintf(req, sizeof req, "%s", !strcmp(sub, "delete") ? "DELETE"
			: !strcmp(sub, "hold") ? "HOLD" : "RELEASE");
	else {
		fprintf(stderr, "postino queue: expected list, show ID, flush, delete ID..., hold "
				"ID... or release ID...\n");
		return 1;
	}
	for (int i = 1; i < a->nrest; i++) {
		if (!strcmp(a->rest[i], "--json") && !strcmp(sub, "list"))
			json = true;
		else if (ids && strspn(a->rest[i], "0123456789ABCDEFGHIJKLMNOPQRSTUV") ==
				    strlen(a->rest[i]) && n + strlen(a->rest[i]) + 2 < sizeof req)
			n += (size_t)snprintf(req + n, sizeof req - n, " %s", a->rest[i]);
		else if (strcmp(sub, "show") != 0) {
			fprintf(stderr, "postino queue %s: unexpected argument '%s'\n", sub,
			    a->rest[i]);
			return 1;
		}
	}
	if ((ids && a->nrest < 2) || n >= sizeof req) {
		fprintf(stderr, "postino queue %s: give one or more queue IDs\n", sub);
		return 1;
	}
	if (json)
		snprintf(req + n, sizeof req - n, " JSON");
	diag_init(&d);
	c = load_config_as(a, &d, true);
	diag_print(&d, stderr);
	diag_reset(&d);
	if (!c)
		return 1;
	rc = control_request(c->server.spool, req, stdout, stderr);
	config_free(c);
	return rc;
}

/* send, also as `sendmail`: the configuration as for the other commands,
 * or send's -c/-C; the status is from sysexits.h, as sendmail's. */
static int
cmd_send(const struct args *a, int argc, char **argv, bool sendmail_name)
{
	struct send_args sa;
	struct args la = *a;
	struct diag d;
	struct config *c;
	int rc;

	if (send_parse_args(argc, argv, sendmail_name, &sa) < 0)
		return EX_USAGE;
	if (sa.help) {
		send_usage(stdout, sa.prog);
		return EX_OK;
	}
	sa.verbose |= a->verbose;
	if (sa.config)
		la.config = sa.config;
	diag_init(&d);
	c = load_config_as(&la, &d, true);
	if (!c)
		diag_print(&d, stderr);   /* warnings stay quiet: cron mails stderr */
	diag_reset(&d);
	if (!c)
		return EX_CONFIG;
	rc = send_run(&sa, c);
	config_free(c);
	return rc;
}

/* True when the binary runs under the name sendmail (a symlink). */
static bool
is_sendmail_name(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	return argv0 && strcmp(slash ? slash + 1 : argv0, "sendmail") == 0;
}

static void
print_cmd_help(const char *cmd)
{
	if (strcmp(cmd, "send") == 0) {
		send_usage(stdout, "postino send");
		return;
	}
	for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
		if (strcmp(helps[i].name, cmd) == 0) {
			fputs(helps[i].text, stdout);
			return;
		}
	fputs(usage, stdout);
}

int
main(int argc, char **argv)
{
	struct args a = { 0 };
	int rc;

	if (argc > 0 && is_sendmail_name(argv[0]))
		return cmd_send(&a, argc - 1, argv + 1, true);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("postino %s\n", POSTINO_VERSION);
		return 0;
	}
	if (parse_args(argc, argv, &a) < 0)
		return 1;
	if (a.help) {
		print_cmd_help(a.cmd ? a.cmd : "");
		rc = 0;
	} else if (!a.cmd) {
		fputs(usage, stderr);
		rc = 1;
	} else if (strcmp(a.cmd, "serve") == 0) {
		rc = cmd_serve(&a);
	} else if (strcmp(a.cmd, "check") == 0) {
		rc = cmd_check(&a);
	} else if (strcmp(a.cmd, "hash-password") == 0) {
		rc = cmd_hash_password();
	} else if (strcmp(a.cmd, "queue") == 0) {
		rc = cmd_queue(&a);
	} else if (strcmp(a.cmd, "send") == 0) {
		rc = cmd_send(&a, argc - a.sub, argv + a.sub, false);
	} else {
		fprintf(stderr, "postino: unknown command '%s'\n%s", a.cmd, usage);
		rc = 1;
	}
	free(a.rest);
	return rc;
}
