/* values.h - the syntax of configuration values that are more than a number:
 * host names and domains, host:port, IP:port, listener names, the Maildir
 * pattern. Pure functions over spans: no allocation, no system look-ups. */
#ifndef POSTINO_CONFIG_VALUES_H
#define POSTINO_CONFIG_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#include "util/span.h"

/* An address with a port, as a listener or the resolver is written. */
struct values_ip {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* 4 or 16 bytes used */
	struct span host; /* the address text, brackets removed */
	uint16_t port;
};

/* A DNS name (RFC 1123 2.1): dot-separated labels of 1 to 63 letters, digits
 * and '-' (not first or last), at most 253 octets, no trailing dot, the last
 * label not all digits. Any case. */
bool values_is_domain(struct span s);
/* Split "host:port" or "[IPv6]:port"; host is a span into s without the
 * brackets, and *bracketed says whether they were there. The port is 1-65535
 * in decimal. -1 when malformed (no port, empty host, a ':' in an unbracketed
 * host, text after ']'). */
int values_split_hostport(struct span s, struct span *host, uint16_t *port, bool *bracketed);
/* "a.b.c.d:port" or "[IPv6]:port", numeric only. -1 otherwise. */
int values_parse_ip_port(struct span s, struct values_ip *out);
/* A smarthost: host:port where host is a domain, an IPv4 address or [IPv6]. */
bool values_is_host_port(struct span s);
/* 1 to 64 of letters, digits, '.', '_', '-': safe in logs and messages. */
bool values_is_listener_name(struct span s);
/* NULL when the Maildir pattern is usable, else what is wrong with it: every
 * '%' must start %d, %n or %%, and %n must be there. */
const char *values_maildir_problem(struct span s);

#endif
