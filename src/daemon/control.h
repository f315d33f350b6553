/* control.h - the daemon's control socket <spool>/control (mode 0600: the
 * daemon's user and root), which `postino queue` talks to. One request line
 * per connection; the reply's first line is "OK" or "ERR <reason>", then the
 * body, then the daemon closes the connection.
 *   LIST | LIST JSON | SHOW ID | FLUSH | DELETE ID... | HOLD ID... | RELEASE ID... */
#ifndef POSTINO_DAEMON_CONTROL_H
#define POSTINO_DAEMON_CONTROL_H

#include <stdio.h>

struct event_base;
struct queue;
struct spool;
struct control;

struct control *control_new(struct event_base *base, const char *spool_dir, struct queue *q,
    struct spool *spool);
void control_free(struct control *c);

/* The client side, for `postino queue`: send request to the daemon of
 * spool_dir and copy the reply's body to out (errors to err). Returns 0 for
 * "OK", 1 for "ERR" (a user error: unknown ID...), 2 when the daemon cannot
 * be reached. */
int control_request(const char *spool_dir, const char *request, FILE *out, FILE *err);

#endif
