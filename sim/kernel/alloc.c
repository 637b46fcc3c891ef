/* alloc.c - the standard allocator and the failing test allocator. */
#include "alloc.h"

#include <stdlib.h>

static void *std_fn(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	(void)ud;
	(void)old_size;
	if (new_size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, new_size);
}

const sim_alloc sim_alloc_std = { std_fn, NULL };

static void *failing_fn(void *ud, void *ptr, size_t old_size, size_t new_size)
{
	sim_alloc_failing *s = ud;
	if (new_size == 0) {
		if (ptr) {
			s->live--;
			s->bytes -= old_size;
		}
		free(ptr);
		return NULL;
	}
	if (ptr == NULL || new_size > old_size) {
		s->count++;
		if (s->fail_at > 0 && s->count >= s->fail_at)
			return NULL;
	}
	void *q = realloc(ptr, new_size);
	if (q) {
		if (ptr == NULL)
			s->live++;
		s->bytes += new_size - old_size;
	}
	return q;
}

sim_alloc sim_alloc_failing_make(sim_alloc_failing *state)
{
	sim_alloc a = { failing_fn, state };
	return a;
}
