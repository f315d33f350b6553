/* fuzz_dns_mx.c - the MX RDATA parser (dns_mx_parse), as a malicious or
 * broken DNS server could feed it through unbound.
 * Input: records, each a length octet (255: plus the next octet, so names
 * past the 255-octet limit can be tried) then that many octets, the last one
 * cut short by the end of input; at most 64. Checks: on success the list
 * is sorted by preference, without duplicates, of well-formed lower-case
 * host names, at most DNS_MX_MAX, and the status agrees with the count; two
 * different random sources give the same set and status. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

#define MAX_RECS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned
rnd_zero(void *arg, unsigned bound)
{
	(void)arg;
	(void)bound;
	return 0;
}

static unsigned
rnd_lcg(void *arg, unsigned bound)
{
	uint32_t *s = arg;

	*s = *s * 1103515245u + 12345u;
	return (*s >> 16) % bound;
}

/* Labels of 1..63 octets from [a-z0-9_-], dot-separated, 1..253 octets. */
static bool
host_ok(const char *h)
{
	size_t len = strnlen(h, 256), label = 0;

	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		           c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static void
check_set(const struct dns_mx *mx, size_t n, enum dns_status st)
{
	if (n > DNS_MX_MAX || (st == DNS_OK) != (n > 0))
		abort();
	if (st != DNS_OK && st != DNS_NULL_MX && st != DNS_NO_ADDRESS)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (!host_ok(mx[i].host) || mx[i].pref > 65535)
			abort();
		if (i > 0 && mx[i - 1].pref > mx[i].pref)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(mx[i].host, mx[j].host) == 0)
				abort();
	}
}

/* Same hosts with the same preferences, in any order within a preference. */
static bool
same_set(const struct dns_mx *a, const struct dns_mx *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < n && !found; j++)
			found = strcmp(a[i].host, b[j].host) == 0 && a[i].pref == b[j].pref;
		if (!found)
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rdata[MAX_RECS];
	int len[MAX_RECS];
	size_t count = 0, i = 0, n1 = 0, n2 = 0;
	struct dns_mx a[DNS_MX_MAX], b[DNS_MX_MAX];
	enum dns_status st1 = DNS_TEMPFAIL, st2 = DNS_TEMPFAIL;
	uint32_t seed = (uint32_t)size;
	int r1, r2;

	while (i < size && count < MAX_RECS) {
		size_t l = data[i++];

		if (l == 255 && i < size)
			l += data[i++];
		if (l > size - i)
			l = size - i;
		rdata[count] = (const char *)data + i;
		len[count++] = (int)l;
		i += l;
	}
	r1 = dns_mx_parse(rdata, len, count, rnd_zero, NULL, a, &n1, &st1);
	r2 = dns_mx_parse(rdata, len, count, rnd_lcg, &seed, b, &n2, &st2);
	if (r1 != r2 || (r1 != 0 && r1 != -1))
		abort();
	if (r1 < 0)
		return 0;
	check_set(a, n1, st1);
	check_set(b, n2, st2);
	if (st1 != st2 || n1 != n2 || !same_set(a, b, n1))
		abort();
	return 0;
}
