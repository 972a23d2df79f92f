/* tests/helper.c — exposes orch internals to the command-line tests, the way git's
 * test-tool does: `helper duration 1h30m`, `helper mask URL`. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "duration") == 0) {
		printf("%lld\n", (long long)parse_duration(argv[2]));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "mask") == 0) {
		char *m = mask_password(argv[2]);

		puts(m);
		free(m);
		return 0;
	}
	fprintf(stderr, "usage: helper duration D | mask CONNINFO\n");
	return 2;
}
