/* diag.c - collected FILE:LINE problems (see diag.h). */
#include "util/diag.h"

#include <stdarg.h>
#include <stdlib.h>

#include "util/buf.h"
#include "util/xalloc.h"

void
diag_init(struct diag *d)
{
	d->items = NULL;
	d->n = d->cap = d->nerrors = 0;
}

void
diag_reset(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->items[i].text);
	free(d->items);
	diag_init(d);
}

static void vadd(struct diag *d, bool warning, const char *file, unsigned line, const char *fmt,
    va_list ap) __attribute__((format(printf, 5, 0)));

static void
vadd(struct diag *d, bool warning, const char *file, unsigned line, const char *fmt, va_list ap)
{
	char msg[1024];
	char *text;

	const char *kind = warning ? "warning: " : "";

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (file && line)
		text = xasprintf("%s:%u: %s%s", file, line, kind, msg);
	else if (file)
		text = xasprintf("%s: %s%s", file, kind, msg);
	else
		text = xasprintf("postino: %s%s", kind, msg);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->items = xreallocarray(d->items, d->cap, sizeof *d->items);
	}
	d->items[d->n].warning = warning;
	d->items[d->n].text = text;
	d->n++;
	if (!warning)
		d->nerrors++;
}

void
diag_error(struct diag *d, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(d, false, file, line, fmt, ap);
	va_end(ap);
}

void
diag_warn(struct diag *d, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(d, true, file, line, fmt, ap);
	va_end(ap);
}

void
diag_print(const struct diag *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s\n", d->items[i].text);
}
