/* relay.h - who may send mail to domains that are not local (SPEC.md [relay]). */
#ifndef POSTINO_POLICY_RELAY_H
#define POSTINO_POLICY_RELAY_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config/config.h"

/* Authenticated clients always may; others when their address is inside one
 * of [relay] networks. A NULL address (local submission) may. */
bool relay_allowed(const struct config *c, const struct sockaddr *client, bool authenticated);

#endif
