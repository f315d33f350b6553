/* fuzz_mailboxes.c - the users and aliases files, and recipient resolution.
 * Input: one flags byte, then the users file, a NUL, the aliases file (no
 * NUL: the same bytes for both). The files live in memfds, read through
 * /proc/self/fd. Checks: load fails exactly when it reported an error; every
 * name on an aliases or users line resolves without crashing, to a verdict
 * that agrees with its targets (OK: 1..MAILBOXES_MAX_TARGETS non-empty,
 * distinct targets that parse as mailboxes); postmaster is always OK. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "auth/mailboxes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PROBES 32 /* names resolved per input */

static char dom1[] = "example.test", dom2[] = "example.org";
static char *domains[] = { dom1, dom2 };
static char hostname[] = "mx.example.test";

/* A memfd holding bytes; its /proc path in path. -1 on failure. */
static int
memfile(const uint8_t *p, size_t n, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if ((n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    snprintf(path, pathlen, "/proc/self/fd/%d", fd) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
check_targets(const struct mailboxes_target *t, size_t n)
{
	struct smtp_mailbox mb;

	if (n == 0 || n > MAILBOXES_MAX_TARGETS)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (t[i].address[0] == '\0')
			abort();
		if (smtp_parse_mailbox(span_cstr(t[i].address), &mb) != SMTP_ARG_OK &&
		    strncmp(t[i].address, "postmaster", 11) != 0)
			abort();
		for (size_t k = 0; k < i && n < 64; k++)
			if (strcmp(t[i].address, t[k].address) == 0)
				abort();
	}
}

static void
probe(const struct mailboxes *m, const struct config *c, const char *local,
    const char *domain)
{
	struct mailboxes_target *t = NULL;
	size_t n = 0;
	enum mailboxes_verdict v = mailboxes_resolve(m, c, local, domain, &t, &n);

	if (v == MAILBOXES_OK)
		check_targets(t, n);
	else if (t != NULL || n != 0)
		abort();
	if (v != MAILBOXES_OK && span_eq_cstr_nocase(span_cstr(local), "postmaster") &&
	    (domain[0] == '\0' || config_is_local_domain(c, domain, strlen(domain))))
		abort();
	free(t);
}

/* Resolve the name in front of the first ':' of each line of text. */
static void
probe_lines(const struct mailboxes *m, const struct config *c, const uint8_t *p, size_t n)
{
	size_t probes = 0;

	while (n > 0 && probes < MAX_PROBES) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t len = nl ? (size_t)(nl - p) : n;
		const uint8_t *colon = memchr(p, ':', len);
		struct smtp_mailbox mb;

		if (colon && smtp_parse_mailbox(span_trim(span_make((const char *)p,
		    (size_t)(colon - p))), &mb) == SMTP_ARG_OK) {
			probe(m, c, mb.local, mb.domain);
			probes++;
		}
		len += nl ? 1 : 0;
		p += len;
		n -= len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char upath[64], apath[64];
	const uint8_t *nul;
	size_t ulen, errors;
	int ufd = -1, afd = -1;
	struct config c;
	struct diag d;
	struct mailboxes *m;

	if (size < 1)
		return 0;
	nul = memchr(data + 1, '\0', size - 1);
	ulen = nul ? (size_t)(nul - data - 1) : size - 1;
	ufd = memfile(data + 1, ulen, upath, sizeof upath);
	afd = nul ? memfile(nul + 1, size - ulen - 2, apath, sizeof apath)
		  : memfile(data + 1, ulen, apath, sizeof apath);
	if (ufd < 0 || afd < 0)
		goto out;
	memset(&c, 0, sizeof c);
	c.server.hostname = hostname;
	c.local_domains = domains;
	c.nlocal_domains = data[0] & 3u;
	if (c.nlocal_domains > 2)
		c.nlocal_domains = 2;
	c.mailboxes.users = (data[0] & 4u) ? NULL : upath;
	c.mailboxes.aliases = (data[0] & 8u) ? NULL : apath;
	c.mailboxes.aliases_explicit = true;
	diag_init(&d);
	m = mailboxes_load(&c, &d);
	errors = d.nerrors;
	diag_reset(&d);
	if ((m == NULL) != (errors > 0))
		abort();
	if (m != NULL) {
		probe(m, &c, "postmaster", "");
		probe(m, &c, "Postmaster", "example.org");
		probe(m, &c, "nobody", "example.test");
		probe_lines(m, &c, data + 1, size - 1);
		(void)mailboxes_password_hash(m, "alice@example.test");
		mailboxes_free(m);
	}
out:
	if (ufd >= 0)
		close(ufd);
	if (afd >= 0)
		close(afd);
	return 0;
}
