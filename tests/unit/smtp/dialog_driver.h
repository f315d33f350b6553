/* dialog_driver.h - plays the tests/dialog files against the SMTP core with a
 * fake owner (rules in tests/dialog/README.md). */
#ifndef POSTINO_TEST_DIALOG_DRIVER_H
#define POSTINO_TEST_DIALOG_DRIVER_H

#include <stddef.h>

/* Play the dialog text; split = 0: all input in one feed, else at most split
 * bytes per feed. Returns NULL when it passed, else a malloc'ed failure text. */
char *dialog_play(const char *text, size_t split);

#endif
