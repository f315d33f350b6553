/* ini.h - the line syntax of postino's configuration file (SPEC.md
 * "Configuration file"): `[section]`, `[section "name"]`, `key = value`,
 * comments. A small tokenizer of our own; what the sections and keys mean is
 * config.c's business.
 * It does not allocate: every item is spans into the caller's text, valid as
 * long as that text is. */
#ifndef POSTINO_CONFIG_INI_H
#define POSTINO_CONFIG_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "util/span.h"

enum ini_kind {
	INI_END,     /* no more lines */
	INI_SECTION, /* name, and subname when has_subname */
	INI_KEY,     /* name = value */
	INI_ERROR,   /* a line that is none of the above; error says why */
};

struct ini_item {
	enum ini_kind kind;
	unsigned line;       /* 1-based line number of the item */
	struct span name;    /* section name or key, trimmed */
	struct span subname; /* INI_SECTION: the text between the quotes */
	bool has_subname;
	struct span value; /* INI_KEY: trimmed, comment and quotes removed; may be empty */
	const char *error; /* INI_ERROR: a static message */
	bool in_header;    /* INI_ERROR: the line was meant as a [section] header */
};

struct ini {
	const char *p, *end;
	unsigned line;
};

void ini_init(struct ini *r, const char *text, size_t len);
/* Fill it with the next section header, key or error, skipping blank and
 * comment lines, and return its kind. An error consumes its line only, so the
 * caller can report it and go on. After the last line, INI_END forever. */
enum ini_kind ini_next(struct ini *r, struct ini_item *it);

#endif
