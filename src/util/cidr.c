/* cidr.c - IP networks in CIDR notation (RFC 4632, RFC 4291 2.3) and matching.
 * Owns: parsing "addr[/prefix]", clearing host bits, prefix comparison, and the
 * IPv4-mapped IPv6 form (::ffff:a.b.c.d, RFC 4291 2.5.5.2) of IPv4 clients.
 * Leaves: which networks may relay (policy/).
 * Invariant: a parsed cidr has its host bits cleared, so matching is a plain
 * prefix compare. */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Zero every bit of addr after the first prefix bits. */
static void
clear_host_bits(uint8_t *addr, size_t nbytes, unsigned prefix)
{
	for (size_t i = 0; i < nbytes; i++) {
		unsigned first = (unsigned)i * 8;

		if (first >= prefix)
			addr[i] = 0;
		else if (prefix - first < 8)
			addr[i] &= (uint8_t)(0xff << (8 - (prefix - first)));
	}
}

/* The prefix after '/': 1 to 3 digits, at most max. */
static int
parse_prefix(struct span s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (s.len == 0 || s.len > 3)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s.p[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
cidr_parse_span(struct span s, struct cidr *out)
{
	char text[INET6_ADDRSTRLEN];
	struct span addr = s, prefix = {NULL, 0};
	const char *slash = s.len ? memchr(s.p, '/', s.len) : NULL;
	struct cidr c;
	unsigned maxbits;

	memset(&c, 0, sizeof c);
	if (slash) {
		addr.len = (size_t)(slash - s.p);
		prefix = span_make(slash + 1, s.len - addr.len - 1);
	}
	if (addr.len == 0 || addr.len >= sizeof text)
		return -1;
	memcpy(text, addr.p, addr.len);
	text[addr.len] = '\0';
	c.family = memchr(addr.p, ':', addr.len) ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, text, c.addr) != 1)
		return -1;
	maxbits = c.family == AF_INET ? 32 : 128;
	c.prefix = maxbits;
	if (slash && parse_prefix(prefix, maxbits, &c.prefix) < 0)
		return -1;
	clear_host_bits(c.addr, maxbits / 8, c.prefix);
	*out = c;
	return 0;
}

int
cidr_parse(const char *s, struct cidr *out)
{
	return cidr_parse_span(span_cstr(s), out);
}

/* True when the first bits bits of a and b agree. */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	size_t whole = bits / 8;
	unsigned rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

bool
cidr_match_addr(const struct cidr *c, int family, const uint8_t *addr)
{
	uint8_t mapped[16];

	if (family == AF_INET6 && c->family == AF_INET &&
	    memcmp(addr, v4mapped_prefix, sizeof v4mapped_prefix) == 0)
		return prefix_equal(addr + 12, c->addr, c->prefix);
	if (family == AF_INET && c->family == AF_INET6) {
		memcpy(mapped, v4mapped_prefix, sizeof v4mapped_prefix);
		memcpy(mapped + 12, addr, 4);
		return prefix_equal(mapped, c->addr, c->prefix);
	}
	if (family != c->family)
		return false;
	return prefix_equal(addr, c->addr, c->prefix);
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	/* Copy out: the caller's sockaddr need not be aligned for the cast. */
	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof sin);
		return cidr_match_addr(c, AF_INET, (const uint8_t *)&sin.sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof sin6);
		return cidr_match_addr(c, AF_INET6, sin6.sin6_addr.s6_addr);
	}
	return false;
}
