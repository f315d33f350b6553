/* cfgtest.h - helpers shared by the src/config unit tests (test_ini.c,
 * test_keys.c, test_config.c): load text, compare every message, and build
 * test inputs. Failures print "got" and "want" and fail the cmocka test. */
#ifndef POSTINO_TESTS_CFGTEST_H
#define POSTINO_TESTS_CFGTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Lines 1-3 and 4-6 of most cases: an explicit user (root exists everywhere,
 * so the result does not depend on who runs the test), a hostname (no name
 * look-up) and one cleartext listener. */
#define SRV "[server]\nuser = nobody\nhostname = mx.test\n"
#define LST "[listener \"mx\"]\naddress = 127.0.0.1:2525\ntls = none\n"

struct load_case {
	const char *name;
	const char *text; /* loaded as "t.conf" */
	const char *want; /* every message, each line ending in "\n"; "" for none */
};

/* Every diag line of d, each with "\n". Caller frees. */
char *cfgtest_diag_text(const struct diag *d);
/* Load text as "t.conf"; compare all messages with want (and whether a config
 * came back with whether want has an error); count a mismatch in *failed.
 * Returns the config (caller frees). */
struct config *cfgtest_load_expect(const char *name, const char *text, size_t len, const char *want,
                                   int *failed);
/* Run every case; fail when any mismatched. */
void cfgtest_run_load_cases(const struct load_case *cases, size_t n);
/* Load text that must be accepted without any message. */
struct config *cfgtest_load_ok(const char *text);
/* text with every from replaced by to. Caller frees. */
char *cfgtest_replace_all(const char *text, const char *from, const char *to);
/* relay.networks[i] is want ("addr/prefix"). */
void cfgtest_assert_net(const struct config *c, size_t i, const char *want);
/* Every file default of SPEC.md except those a test varies: tls cert/key,
 * local domains, the *_explicit flags and relay.networks. */
void cfgtest_assert_file_defaults(const struct config *c);

#endif
