/* store_blob.c - the encoding of schema 3's blobs (varints and values);
 * the format is described in store_int.h and docs/RESULTS.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* 2^53: every whole number up to it is a double exactly. */
#define WHOLE_MAX 9007199254740992.0

static bool reserve(store__buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->n + more <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + more)
		cap *= 2;
	unsigned char *p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void store__put_uint(store__buf *b, uint64_t x)
{
	if (!reserve(b, 10))
		return;
	while (x >= 0x80) {
		b->p[b->n++] = (unsigned char)(x | 0x80);
		x >>= 7;
	}
	b->p[b->n++] = (unsigned char)x;
}

void store__put_value(store__buf *b, double x)
{
	if (!isfinite(x)) {
		store__put_uint(b, 0);
		return;
	}
	if (x == trunc(x) && fabs(x) <= WHOLE_MAX && !(x == 0 && signbit(x))) {
		int64_t i = (int64_t)x;
		uint64_t zz = ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
		store__put_uint(b, zz + 2);
		return;
	}
	uint64_t bits;
	memcpy(&bits, &x, sizeof bits);
	store__put_uint(b, 1);
	if (!reserve(b, 8))
		return;
	for (int k = 0; k < 8; k++)
		b->p[b->n++] = (unsigned char)(bits >> (8 * k));
}

void store__buf_free(store__buf *b)
{
	free(b->p);
	*b = (store__buf){ 0 };
}

uint64_t store__get_uint(store__cur *c)
{
	uint64_t x = 0;
	for (int shift = 0; !c->bad; shift += 7) {
		if (c->at >= c->n || shift > 63) {
			c->bad = true;
			break;
		}
		unsigned char byte = c->p[c->at++];
		/* the 10th byte holds bit 63 alone */
		if (shift == 63 && byte > 1) {
			c->bad = true;
			break;
		}
		x |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return x;
	}
	return 0;
}

uint64_t store__get_count(store__cur *c, uint64_t max)
{
	uint64_t x = store__get_uint(c);
	if (x > max)
		c->bad = true;
	return c->bad ? 0 : x;
}

double store__get_value(store__cur *c)
{
	uint64_t u = store__get_uint(c);
	if (c->bad || u == 0)
		return NAN;
	if (u >= 2) {
		uint64_t zz = u - 2;
		int64_t i = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
		if (i > (INT64_C(1) << 53) || i < -(INT64_C(1) << 53)) {
			c->bad = true;
			return NAN;
		}
		return (double)i;
	}
	if (c->n - c->at < 8) {
		c->bad = true;
		return NAN;
	}
	uint64_t bits = 0;
	for (int k = 0; k < 8; k++)
		bits |= (uint64_t)c->p[c->at++] << (8 * k);
	double x;
	memcpy(&x, &bits, sizeof x);
	if (!isfinite(x)) {
		c->bad = true;
		return NAN;
	}
	return x;
}
