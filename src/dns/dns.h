/* dns.h - asynchronous MX, A and AAAA look-ups on the event loop (libunbound).
 * Owns: the resolver context, queries in flight, RFC 5321 5.1 MX selection
 * (preference order, equal preferences shuffled, implicit MX) and RFC 7505
 * null MX detection.
 * Leaves: what a status means for a message (queue/, deliver/), the port to
 * connect to, IDN conversion (names are ASCII: A-labels).
 * Invariant: a query that is not cancelled gets exactly one callback, from the
 * event loop, never from inside the call that started it. */
#ifndef POSTINO_DNS_DNS_H
#define POSTINO_DNS_DNS_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct dns;
struct dns_query;

enum dns_status {
	DNS_OK,
	DNS_NXDOMAIN,   /* the name does not exist, or cannot (bad syntax): permanent */
	DNS_NULL_MX,    /* RFC 7505 null MX: the domain takes no mail; permanent, 556 5.1.10 */
	DNS_NO_ADDRESS, /* the name exists but has no usable MX and no A/AAAA: permanent */
	DNS_TEMPFAIL,   /* SERVFAIL, REFUSED, timeout, network, malformed answer: retry later */
};

#define DNS_NAME_MAX 253     /* text form of a name: 255 octets in wire form (RFC 1035 2.3.4) */
#define DNS_MX_MAX 32        /* MX hosts kept per domain: those of the lowest preferences */
#define DNS_ADDR_MAX 32      /* addresses per host name, at most half of them per family */
#define DNS_TIMEOUT_MS 30000 /* default bound on one dns_mx or dns_addr, answers or not */

struct dns_mx {
	char host[256]; /* lower case, no trailing dot: at most DNS_NAME_MAX octets */
	unsigned pref;
};

/* A resolver on base. resolver is "host:port" or "[IPv6]:port" with an IP
 * address for host ([dns] resolver): every query goes there, /etc/hosts is not
 * read. NULL: the name servers of /etc/resolv.conf (127.0.0.1 when it has none
 * or is missing) and /etc/hosts. DNSSEC is not validated (no trust anchor).
 * NULL with a message in err when the resolver is unusable. */
struct dns *dns_new(struct event_base *base, const char *resolver, char *err, size_t errlen);
/* Cancels every query in flight without calling back. May be called from a
 * callback. dns_free(NULL) is a no-op. */
void dns_free(struct dns *d);
/* Bound each later query to ms milliseconds (DNS_TIMEOUT_MS by default); a
 * query over it is reported as DNS_TEMPFAIL. */
void dns_set_timeout(struct dns *d, unsigned ms);
/* "ok", "nxdomain", "null-mx", "no-address", "tempfail": for log lines. */
const char *dns_status_str(enum dns_status st);

/* The mail exchangers of domain (RFC 5321 5.1): sorted by preference, equal
 * preferences shuffled, duplicates removed (a host keeps its best preference).
 * No MX records: the implicit MX, domain itself with preference 0, when it
 * has an A or AAAA record, else DNS_NO_ADDRESS. A lone MX "0 ." is
 * DNS_NULL_MX. CNAMEs are followed. On DNS_OK the callback gets n >= 1
 * entries; mx is borrowed, valid during the call only. The handle is valid
 * until the callback is called; it is never NULL. */
struct dns_query *
dns_mx(struct dns *d, const char *domain,
       void (*cb)(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n), void *arg);

/* The A and AAAA addresses of host (CNAMEs followed), as sockaddr_in6 and
 * sockaddr_in with port 0 (the caller sets it). Order: the families
 * interleaved, IPv6 first (RFC 8305 4), so that a host without IPv6
 * connectivity reaches an IPv4 address at the second try; each family in the
 * order of the answer. A host that is an IP address literal gives just that
 * address. DNS_OK when either family has an address (the other may have
 * failed). addrs is borrowed, valid during the call only. Handle as for dns_mx. */
struct dns_query *dns_addr(struct dns *d, const char *host,
                           void (*cb)(void *arg, enum dns_status st,
                                      const struct sockaddr_storage *addrs, size_t n),
                           void *arg);

/* Stop a query before its callback: no callback afterwards, q is freed. */
void dns_cancel(struct dns_query *q);

/* The pure part of dns_mx, exposed for tests and the fuzzer. Turns the RDATA
 * of count MX records (RFC 1035 3.3.9: rdata[i], len[i] octets, as
 * ub_result's data and len) into out (room for DNS_MX_MAX), *nout entries,
 * with *st DNS_OK (*nout >= 1), DNS_NULL_MX (only "0 ." records), or
 * DNS_NO_ADDRESS (no record names a usable host: "." or an IPv4 literal, or
 * octets no host name has; such records are skipped, RFC 7505 4). rnd(rnd_arg,
 * bound) returns a number below bound, for the shuffle. -1 when any record is
 * malformed (short, a label over 63 octets or a compression pointer, a name
 * over 255 octets or not ending at the end of the RDATA); nothing is allocated. */
int dns_mx_parse(const char *const *rdata, const int *len, size_t count,
                 unsigned (*rnd)(void *rnd_arg, unsigned bound), void *rnd_arg, struct dns_mx *out,
                 size_t *nout, enum dns_status *st);

#endif
