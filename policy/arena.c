/* SPDX-License-Identifier: Apache-2.0 */
/*
 * arena.c - one allocation pool per compiled document: the compiled form
 * is a web of small arrays, freed together.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "policy/internal.h"

#define CHUNK_SIZE	16384

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 used, cap;
	max_align_t		 data[];
};

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t cap;
	void *p;

	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (n == 0)
		n = alignof(max_align_t);
	if (c == NULL || c->cap - c->used < n) {
		cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
		if (cap > POLICY_ARENA_MAX || a->total > POLICY_ARENA_MAX - cap)
			return NULL;
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
		a->total += cap;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if ((p = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->total = 0;
}
