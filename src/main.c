/* main.c - command line: serve, send, queue, check, hash-password. */
#include <stdio.h>

#include "version.h"

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("postino %s\n", POSTINO_VERSION);
	return 0;
}
