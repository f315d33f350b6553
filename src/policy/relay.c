/* relay.c - the relay decision (see relay.h). Never an open relay: with no
 * networks configured and no authentication, nothing is relayed. */
#include "policy/relay.h"

bool
relay_allowed(const struct config *c, const struct sockaddr *client, bool authenticated)
{
	if (authenticated || client == NULL)
		return true;
	for (size_t i = 0; i < c->relay.nnetworks; i++)
		if (cidr_match(&c->relay.networks[i], client))
			return true;
	return false;
}
