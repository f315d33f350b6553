/* dsnparse.h - a strict reader of DSNs for the tests: splits what dsn_write
 * wrote into header and MIME parts and reads fields; any deviation from the
 * expected shape fails the running cmocka test. */
#ifndef POSTINO_TESTS_DSNPARSE_H
#define POSTINO_TESTS_DSNPARSE_H

#include <stdbool.h>
#include <stddef.h>

struct part {
	const char *hdr, *body;
	size_t hdr_len, body_len;
};

struct parsed {
	const char *hdr;
	size_t hdr_len;
	char boundary[128];
	struct part parts[4];
	size_t nparts;
};

/* Field name's value in a header section, unfolded, leading space removed;
 * a new string, NULL when absent. Fails the test when it occurs twice. */
char *field(const char *hdr, size_t len, const char *name);
/* Fail unless field name has the value want (NULL: is absent). */
void want_field(const char *hdr, size_t len, const char *name, const char *want);
/* Split out: header, empty line, preamble, "--B" parts, "--B--" at the very
 * end; the boundary B from the Content-Type. */
void parse(const char *out, struct parsed *ps);
/* Whether part p's body holds s (printing the body when not). */
bool part_has(const struct part *p, const char *s);
/* Fail unless p has no CR, NUL or control octet but LF, and no line over 998. */
void want_clean(const char *p, size_t len, const char *what);
/* The i-th empty-line-separated group of the delivery-status part (2nd part). */
struct part group(const struct parsed *ps, size_t i);

#endif
