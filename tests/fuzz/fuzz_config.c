/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c - libFuzzer target for the daemon configuration parser
 * (daemon/config.c), libyaml underneath.
 *
 * Properties checked on every input:
 *  - a failure comes with a message "fuzz: ..." and leaves the defaults;
 *  - whatever parses prints, the printed text parses back to the very same
 *    struct, and prints to the very same text.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ihsm \
 *     -I/usr/include/p11-kit-1 tests/fuzz/fuzz_config.c daemon/config.c \
 *     hsm/uri.c -lyaml
 * Run:   ./a.out -max_len=8192 tests/fuzz/corpus/config
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large: static rather than on the stack. */
static struct av_config defaults, a, b;
static bool have_defaults;

/* Print c into a malloc'd text; abort if that fails. */
static char *
print(const struct av_config *c, size_t *len)
{
	char *text = NULL;
	FILE *f;

	*len = 0;
	if ((f = open_memstream(&text, len)) == NULL)
		abort();
	av_config_print(c, f);
	if (ferror(f) || fclose(f) != 0)
		abort();
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[AV_CONFIG_ERR_SIZE];
	char *t1, *t2;
	size_t n1, n2;

	if (!have_defaults) {
		av_config_defaults(&defaults);
		have_defaults = true;
	}

	if (av_config_parse("fuzz", (const char *)data, size, &a, err,
	    sizeof(err)) != 0) {
		if (strncmp(err, "fuzz:", 5) != 0 ||
		    memcmp(&a, &defaults, sizeof(a)) != 0)
			abort();
		return 0;
	}
	if (err[0] != '\0')
		abort();

	t1 = print(&a, &n1);
	if (av_config_parse("printed", t1, n1, &b, err, sizeof(err)) != 0) {
		fprintf(stderr, "printed config does not parse: %s\n%s\n", err,
		    t1);
		abort();
	}
	if (memcmp(&a, &b, sizeof(a)) != 0) {
		fprintf(stderr, "round trip changed the config:\n%s\n", t1);
		abort();
	}
	t2 = print(&b, &n2);
	if (n1 != n2 || memcmp(t1, t2, n1) != 0)
		abort();
	free(t1);
	free(t2);
	return 0;
}
