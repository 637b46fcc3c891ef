/* alloc.h - the allocator every throttlesim module takes.
 *
 * One function does all three jobs, after Lua's lua_Alloc:
 *   fn(ud, NULL, 0, n)  allocates n bytes;
 *   fn(ud, p, old, n)   resizes p from old to n bytes (n > 0);
 *   fn(ud, p, old, 0)   frees p and returns NULL.
 * A NULL return for n > 0 is an allocation failure; the caller must leave
 * its outputs untouched and report SIM_ENOMEM.  Modules never call malloc
 * directly, so tests can walk every allocation-failure path (fail the 1st,
 * the 2nd, ... allocation) with sim_alloc_failing().
 */
#ifndef SIM_ALLOC_H
#define SIM_ALLOC_H

#include <stddef.h>

typedef void *(*sim_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);

typedef struct sim_alloc {
	sim_alloc_fn fn;
	void *ud;
} sim_alloc;

/* The default allocator: the C library's realloc and free. */
extern const sim_alloc sim_alloc_std;

static inline void *sim_malloc(const sim_alloc *a, size_t n)
{
	return a->fn(a->ud, NULL, 0, n);
}

static inline void *sim_realloc(const sim_alloc *a, void *p, size_t old_size, size_t new_size)
{
	return a->fn(a->ud, p, old_size, new_size);
}

static inline void sim_free(const sim_alloc *a, void *p, size_t size)
{
	if (p)
		a->fn(a->ud, p, size, 0);
}

/* A test allocator that fails the fail_at-th allocation (1-based; 0 never
 * fails) and every one after it, counting allocations and live bytes. */
typedef struct sim_alloc_failing {
	long fail_at;
	long count;   /* allocations and growing reallocations attempted */
	long live;    /* blocks currently allocated */
	size_t bytes; /* bytes currently allocated */
} sim_alloc_failing;

sim_alloc sim_alloc_failing_make(sim_alloc_failing *state);

#endif
