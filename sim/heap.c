/* heap.c - binary min-heap of node pointers; see heap.h. */
#include "heap.h"

static inline int before(const evs_node *a, const evs_node *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

void heap_init(heap *h, const sim_alloc *alloc)
{
	h->alloc = alloc;
	h->a = NULL;
	h->n = 0;
	h->cap = 0;
}

void heap_free(heap *h)
{
	sim_free(h->alloc, h->a, h->cap * sizeof *h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}

int heap_insert(heap *h, evs_node *x)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		if (cap > SIZE_MAX / sizeof *h->a)
			return SIM_ENOMEM;
		evs_node **a = sim_realloc(h->alloc, h->a, h->cap * sizeof *h->a,
					   cap * sizeof *h->a);
		if (!a)
			return SIM_ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	evs_node **a = h->a;
	size_t i = h->n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(x, a[p]))
			break;
		a[i] = a[p];
		i = p;
	}
	a[i] = x;
	return 0;
}

evs_node *heap_pop(heap *h)
{
	if (h->n == 0)
		return NULL;
	evs_node **a = h->a;
	evs_node *top = a[0];
	evs_node *x = a[--h->n];
	size_t n = h->n, i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(a[c + 1], a[c]))
			c++;
		if (!before(a[c], x))
			break;
		a[i] = a[c];
		i = c;
	}
	if (n)
		a[i] = x;
	return top;
}
