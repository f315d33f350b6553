/* keys.h - the sections and keys of the configuration file (SPEC.md), in one
 * table with each key's default and the setter that checks and stores its
 * value. Internal to src/config: config.c drives it, check.c reads lines. */
#ifndef POSTINO_CONFIG_KEYS_H
#define POSTINO_CONFIG_KEYS_H

#include <stdbool.h>

#include "config/loader.h"
#include "util/span.h"

/* SEC_* for a section name (exact, lower case), or -1. */
int keys_section(struct span name);
const char *keys_section_name(int sec);
/* Index of key name in section sec, or -1. */
int keys_key(int sec, struct span name);
const char *keys_key_name(int sec, int key);
/* True when an empty value means "none" rather than the default. */
bool keys_empty_clears(int sec, int key);
/* Store every default of section sec into base (struct config, or a
 * struct config_listener for SEC_LISTENER). */
void keys_apply_defaults(struct loader *L, int sec, void *base);
/* Check v and store it into base; false after reporting to L->d (with
 * L->label) when v is not acceptable. */
bool keys_set(struct loader *L, int sec, int key, void *base, struct span v, unsigned line);

#endif
