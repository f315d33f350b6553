/* cidr.h - IPv4/IPv6 networks ("127.0.0.0/8", "::1/128", "192.0.2.1") and matching. */
#ifndef POSTINO_UTIL_CIDR_H
#define POSTINO_UTIL_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/span.h"

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network address, host bits cleared */
	unsigned prefix;     /* 0..32 or 0..128 */
};

/* Parse "addr" or "addr/prefix"; -1 on any syntax error (host bits set are
 * allowed and cleared). */
int cidr_parse(const char *s, struct cidr *out);
/* The same over a span that holds exactly the network, nothing around it. */
int cidr_parse_span(struct span s, struct cidr *out);
/* True when sa (AF_INET, AF_INET6, or an IPv4-mapped IPv6 address) is inside c.
 * An IPv4 client also matches an IPv6 network written as ::ffff:a.b.c.d/n. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);
/* The same for raw address bytes (4 for AF_INET, 16 for AF_INET6). */
bool cidr_match_addr(const struct cidr *c, int family, const uint8_t *addr);

#endif
