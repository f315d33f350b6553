/* values.c - syntax of the structured configuration values (see values.h).
 * Owns: what a domain, host:port, IP:port, listener name and Maildir pattern
 * look like. Leaves: which key takes which (config.c), and whether a host
 * resolves or a port is free (the daemon, at start).
 * Invariant: pure functions; they read only the span they are given. */
#include "config/values.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define DOMAIN_MAX 253 /* RFC 1035 2.3.4: 255 octets on the wire, 253 as text */
#define LABEL_MAX 63
#define LISTENER_NAME_MAX 64

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* One label: 1 to 63 of [A-Za-z0-9-], no '-' at either end. */
static bool
is_label(struct span l)
{
	if (l.len == 0 || l.len > LABEL_MAX || l.p[0] == '-' || l.p[l.len - 1] == '-')
		return false;
	for (size_t i = 0; i < l.len; i++)
		if (!is_alnum(l.p[i]) && l.p[i] != '-')
			return false;
	return true;
}

static bool
all_digits(struct span l)
{
	for (size_t i = 0; i < l.len; i++)
		if (l.p[i] < '0' || l.p[i] > '9')
			return false;
	return true;
}

bool
values_is_domain(struct span s)
{
	struct span label = {s.p, 0};

	if (s.len == 0 || s.len > DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= s.len; i++) {
		if (i < s.len && s.p[i] != '.') {
			label.len++;
			continue;
		}
		if (!is_label(label))
			return false;
		if (i == s.len)
			break;
		label = span_make(s.p + i + 1, 0);
	}
	/* RFC 3696 2: a top-level domain is never all-numeric, so "192.0.2.1"
	 * is an address, not a domain. */
	return !all_digits(label);
}

/* Decimal 1-65535, 1 to 5 digits. */
static int
parse_port(struct span s, uint16_t *port)
{
	unsigned v = 0;

	if (s.len == 0 || s.len > 5)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s.p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
values_split_hostport(struct span s, struct span *host, uint16_t *port, bool *bracketed)
{
	const char *colon;

	if (s.len > 0 && s.p[0] == '[') {
		const char *close = memchr(s.p, ']', s.len);

		if (close == NULL || (size_t)(close - s.p) + 1 >= s.len || close[1] != ':')
			return -1;
		*host = span_make(s.p + 1, (size_t)(close - s.p) - 1);
		colon = close + 1;
		*bracketed = true;
	} else {
		colon = s.len ? memchr(s.p, ':', s.len) : NULL;
		if (colon == NULL || memchr(colon + 1, ':', s.len - (size_t)(colon - s.p) - 1))
			return -1;
		*host = span_make(s.p, (size_t)(colon - s.p));
		*bracketed = false;
	}
	if (host->len == 0)
		return -1;
	return parse_port(span_make(colon + 1, s.len - (size_t)(colon - s.p) - 1), port);
}

/* inet_pton over a span, for the family the caller expects. */
static bool
parse_ip(struct span s, int family, uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN];

	if (s.len >= sizeof text)
		return false;
	memcpy(text, s.p, s.len);
	text[s.len] = '\0';
	return inet_pton(family, text, addr) == 1;
}

int
values_parse_ip_port(struct span s, struct values_ip *out)
{
	struct values_ip ip;
	bool bracketed;

	memset(&ip, 0, sizeof ip);
	if (values_split_hostport(s, &ip.host, &ip.port, &bracketed) < 0)
		return -1;
	ip.family = bracketed ? AF_INET6 : AF_INET;
	if (!parse_ip(ip.host, ip.family, ip.addr))
		return -1;
	*out = ip;
	return 0;
}

bool
values_is_host_port(struct span s)
{
	struct span host;
	uint16_t port;
	bool bracketed;
	uint8_t addr[16];

	if (values_split_hostport(s, &host, &port, &bracketed) < 0)
		return false;
	if (bracketed)
		return parse_ip(host, AF_INET6, addr);
	return values_is_domain(host) || parse_ip(host, AF_INET, addr);
}

bool
values_is_listener_name(struct span s)
{
	if (s.len == 0 || s.len > LISTENER_NAME_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!is_alnum(s.p[i]) && s.p[i] != '.' && s.p[i] != '_' && s.p[i] != '-')
			return false;
	return true;
}

const char *
values_maildir_problem(struct span s)
{
	bool has_n = false;

	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] != '%')
			continue;
		if (i + 1 == s.len || (s.p[i + 1] != 'd' && s.p[i + 1] != 'n' && s.p[i + 1] != '%'))
			return "unknown escape: '%' must start %d, %n or %%";
		if (s.p[i + 1] == 'n')
			has_n = true;
		i++;
	}
	if (!has_n)
		return "no %n (the local part): every user would share one Maildir";
	return NULL;
}
