/* cidr.h - IPv4/IPv6 networks ("127.0.0.0/8", "::1/128", "192.0.2.1") and matching. */
#ifndef POSTINO_UTIL_CIDR_H
#define POSTINO_UTIL_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network address, host bits cleared */
	unsigned prefix;     /* 0..32 or 0..128 */
};

/* Parse "addr" or "addr/prefix"; -1 on any syntax error (host bits set are
 * allowed and cleared). */
int cidr_parse(const char *s, struct cidr *out);
/* True when sa (AF_INET, AF_INET6, or an IPv4-mapped IPv6 address) is inside c. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

#endif
