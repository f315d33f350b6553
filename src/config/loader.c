/* loader.c - small helpers over the load state (see loader.h).
 * Owns: how values and listener names are quoted in messages.
 * Invariant: text from the file reaches a message only escaped and cut, so a
 * hostile file cannot forge lines in `postino check` output. */
#include "config/loader.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

const char *
loader_quote(struct loader_quote *q, struct span v)
{
	return log_escape(q->s, sizeof q->s, v.p, v.len);
}

void
loader_listener_label(char *buf, size_t n, const struct config_listener *l)
{
	struct loader_quote q;
	int r;

	r = snprintf(buf, n, "[listener \"%s\"]",
	             loader_quote(&q, span_cstr(l->name ? l->name : "")));
	if (r < 0 || (size_t)r >= n)
		PANIC("listener label does not fit in %zu bytes", n);
}
