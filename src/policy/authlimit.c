/* authlimit.c - failed-AUTH accounting per client address (see authlimit.h).
 * A flat array searched linearly: lookups happen only on AUTH failures and
 * on AUTH commands, and the array is bounded. */
#include "policy/authlimit.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct entry {
	uint8_t addr[16];
	unsigned failures;
	int64_t last, locked_until;
};

struct authlimit {
	struct entry *e;
	size_t n;
};

struct authlimit *
authlimit_new(void)
{
	struct authlimit *a = xcalloc(1, sizeof *a);

	a->e = xcalloc(AUTHLIMIT_MAX_ENTRIES, sizeof *a->e);
	return a;
}

void
authlimit_free(struct authlimit *a)
{
	if (!a)
		return;
	free(a->e);
	free(a);
}

static struct entry *
find(struct authlimit *a, const uint8_t addr[16])
{
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->e[i].addr, addr, 16) == 0)
			return &a->e[i];
	return NULL;
}

/* A slot for a new address: a free one, else the one unused the longest. */
static struct entry *
take(struct authlimit *a, const uint8_t addr[16])
{
	struct entry *e;

	if (a->n < AUTHLIMIT_MAX_ENTRIES) {
		e = &a->e[a->n++];
	} else {
		e = &a->e[0];
		for (size_t i = 1; i < a->n; i++)
			if (a->e[i].last < e->last && a->e[i].locked_until < e->locked_until + 1)
				e = &a->e[i];
	}
	memset(e, 0, sizeof *e);
	memcpy(e->addr, addr, 16);
	return e;
}

bool
authlimit_locked(struct authlimit *a, const uint8_t addr[16], int64_t now)
{
	struct entry *e = find(a, addr);

	return e && e->locked_until > now;
}

int
authlimit_failed(struct authlimit *a, const uint8_t addr[16], int64_t now)
{
	struct entry *e = find(a, addr);
	int delay = 1;

	if (!e)
		e = take(a, addr);
	if (now - e->last > AUTHLIMIT_WINDOW)
		e->failures = 0;
	e->last = now;
	if (++e->failures >= AUTHLIMIT_LOCK_AFTER) {
		e->locked_until = now + AUTHLIMIT_LOCK_TIME;
		e->failures = 0;
		return -1;
	}
	for (unsigned i = 1; i < e->failures && delay < AUTHLIMIT_MAX_DELAY; i++)
		delay *= 2;
	return delay;
}

void
authlimit_succeeded(struct authlimit *a, const uint8_t addr[16])
{
	struct entry *e = find(a, addr);

	if (e && e->locked_until == 0)
		*e = a->e[--a->n];
}
