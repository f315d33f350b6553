/* daemon.h - `postino serve`: wire config, spool, queue, workers and
 * listeners together and run the event loop until SIGTERM/SIGINT. */
#ifndef POSTINO_DAEMON_DAEMON_H
#define POSTINO_DAEMON_DAEMON_H

#include "config/config.h"

/* Runs until stopped; takes cfg. Returns the process exit code. */
int daemon_run(struct config *cfg);

#endif
