/* hold.c - the hold-model benchmark of the event set
 * (../shared/reference/hold-model.md).
 *
 * bench_hold --impl calendar|heap --n N --dist NAME --reps R [--holds H]
 *
 * Pre-fills N events (times = increments from 0, seq = insertion counter
 * from 0), warms up with max(N, 100000) holds, then times R segments of H
 * holds.  Prints one line per segment:
 *     IMPL N DIST ns_per_hold CHECKSUM
 * where CHECKSUM (hex) is FNV-style over the popped (time, seq) of the timed
 * segments so far, the same definition as the ns-3 harness:
 *     h = 0xcbf29ce484222325; per pop: h ^= time; h *= P; h ^= seq; h *= P
 * with P = 0x100000001b3.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evset.h"
#include "incr.h"

#define NINCR 1024000 /* a multiple of 4000, see incr.h */
#define FNV_PRIME 0x100000001b3ULL

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_hold --impl calendar|heap --n N --dist NAME "
			"--reps R [--holds H]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *impl = NULL, *dist_name = NULL;
	long long n = -1, reps = -1, holds = -1;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--impl") == 0)
			impl = argv[++i];
		else if (strcmp(argv[i], "--n") == 0)
			n = atoll(argv[++i]);
		else if (strcmp(argv[i], "--dist") == 0)
			dist_name = argv[++i];
		else if (strcmp(argv[i], "--reps") == 0)
			reps = atoll(argv[++i]);
		else if (strcmp(argv[i], "--holds") == 0)
			holds = atoll(argv[++i]);
		else
			usage();
	}
	if (!impl || !dist_name || n < 1 || reps < 1)
		usage();
	evs_kind kind;
	if (strcmp(impl, "calendar") == 0)
		kind = EVS_CALENDAR;
	else if (strcmp(impl, "heap") == 0)
		kind = EVS_HEAP;
	else
		usage();
	int dist = incr_parse(dist_name);
	if (dist < 0) {
		fprintf(stderr, "bench_hold: unknown distribution '%s'\n", dist_name);
		return 2;
	}
	if (holds < 1) {
		holds = 10 * n;
		if (holds < 1000000)
			holds = 1000000;
		if (holds > 5000000)
			holds = 5000000;
	}

	int64_t *inc = malloc(NINCR * sizeof *inc);
	evs *s = evs_new(kind, &sim_alloc_std);
	if (!inc || !s) {
		fprintf(stderr, "bench_hold: out of memory\n");
		return 1;
	}
	incr_fill(dist, inc, NINCR, 1);

	/* Keys are inline: like ns-3's PriorityQueueScheduler the benchmark
	 * never touches an event's memory, so item is just the event's id. */
	size_t k = 0;
	uint64_t seq = 0;
	for (long long i = 0; i < n; i++) {
		if (evs_insert(s, inc[k], seq, (void *)(uintptr_t)seq) != 0) {
			fprintf(stderr, "bench_hold: out of memory\n");
			return 1;
		}
		seq++;
		if (++k == NINCR)
			k = 0;
	}
	long long warm = n > 100000 ? n : 100000;
	evs_entry e;
	for (long long i = 0; i < warm; i++) {
		evs_pop(s, &e);
		evs_insert(s, e.time + inc[k], seq, (void *)(uintptr_t)seq);
		seq++;
		if (++k == NINCR)
			k = 0;
	}

	uint64_t h = 0xcbf29ce484222325ULL;
	for (long long r = 0; r < reps; r++) {
		double t0 = now_ns();
		for (long long i = 0; i < holds; i++) {
			evs_pop(s, &e);
			h ^= (uint64_t)e.time;
			h *= FNV_PRIME;
			h ^= e.seq;
			h *= FNV_PRIME;
			/* cannot fail: the count is back to n */
			evs_insert(s, e.time + inc[k], seq, (void *)(uintptr_t)seq);
			seq++;
			if (++k == NINCR)
				k = 0;
		}
		double t1 = now_ns();
		printf("%s %lld %s %.2f %016" PRIx64 "\n", impl, n, dist_name,
		       (t1 - t0) / (double)holds, h);
		fflush(stdout);
	}
	if (getenv("BENCH_HOLD_STATS")) {
		evs_stats st;
		evs_get_stats(s, &st);
		fprintf(stderr, "resizes %" PRIu64 " retunes %" PRIu64
				" buckets %zu width %" PRId64 "\n",
			st.resizes, st.retunes, st.buckets, st.width);
	}
	evs_free(s);
	free(inc);
	return 0;
}
