/* heap.c - binary min-heap of entries; see heap.h. */
#include "heap.h"

static inline int before(const evs_entry *a, const evs_entry *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

void heap_init(heap *h, const sim_alloc *alloc)
{
	h->alloc = alloc;
	h->a = NULL;
	h->n = 0;
	h->cap = 0;
	h->check_ops = 0;
}

void heap_free(heap *h)
{
	sim_free(h->alloc, h->a, h->cap * sizeof *h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}

int heap_insert(heap *h, int64_t time, uint64_t seq, void *item)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		if (cap > SIZE_MAX / sizeof *h->a)
			return SIM_ENOMEM;
		evs_entry *a = sim_realloc(h->alloc, h->a, h->cap * sizeof *h->a,
					   cap * sizeof *h->a);
		if (!a)
			return SIM_ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	evs_entry x = { time, seq, item };
	evs_entry *a = h->a;
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(&x, &a[p]))
			break;
		a[i] = a[p];
		i = p;
	}
	a[i] = x;
	return 0;
}

bool heap_pop(heap *h, evs_entry *out)
{
	if (h->n == 0)
		return false;
	evs_entry *a = h->a;
	*out = a[0];
	size_t n = --h->n, i = 0;
	if (n == 0)
		return true;
	evs_entry x = a[n];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(&a[c + 1], &a[c]))
			c++;
		if (!before(&a[c], &x))
			break;
		a[i] = a[c];
		i = c;
	}
	a[i] = x;
	return true;
}

bool heap_check(const heap *h)
{
	if (h->n > h->cap)
		return false;
	for (size_t i = 1; i < h->n; i++)
		if (before(&h->a[i], &h->a[(i - 1) / 2]))
			return false;
	return true;
}
