/* check.h - the checks that need the whole configuration file or the system,
 * run once every line is read. Internal to src/config. */
#ifndef POSTINO_CONFIG_CHECK_H
#define POSTINO_CONFIG_CHECK_H

#include "config/loader.h"

/* Report every problem into L->d; when there was none, fill in the default
 * hostname (the host's FQDN). */
void check_config(struct loader *L);

#endif
