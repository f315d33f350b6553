/* fuzz_ini.c - the configuration parser: INI tokenizer (src/config/ini.c),
 * every key's value check and the checks across keys, through
 * config_load_string. Checks: a NULL result always comes with an error, a
 * config always has a listener and a hostname, messages never carry raw
 * control bytes from the input, and every local domain is found again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every message is one printable line: file text only appears escaped. */
static void
check_messages(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		for (const char *p = d->items[i].text; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				abort();
}

static void
check_config(const struct config *c)
{
	if (c->nlisteners == 0 || c->server.hostname == NULL || c->server.spool == NULL ||
	    c->mailboxes.maildir == NULL || c->nlocal_domains == 0)
		abort();
	for (size_t i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].host == NULL || c->listeners[i].port == 0)
			abort();
	for (size_t i = 0; i < c->nlocal_domains; i++)
		if (!config_is_local_domain(c, c->local_domains[i], strlen(c->local_domains[i])))
			abort();
	if (c->delivery.retry_min > c->delivery.retry_max)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d;
	struct config *c;

	diag_init(&d);
	c = config_load_string("fuzz.conf", (const char *)data, size, &d);
	if (c == NULL && d.nerrors == 0)
		abort();
	if (c != NULL)
		check_config(c);
	check_messages(&d);
	config_free(c);
	diag_reset(&d);
	return 0;
}
