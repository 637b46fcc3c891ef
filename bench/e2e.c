/* e2e.c - the end-to-end benchmark: load a scenario, run one replication
 * several times, report wall time (median), events and simulated messages
 * per second, and the peak resident memory of the process.
 *
 *   bench_e2e FILE [--reps R] [--engine calendar|heap]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "run.h"
#include "scn_load.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_e2e FILE [--reps R] [--engine calendar|heap]\n");
		return 2;
	}
	int reps = 3;
	evs_kind kind = EVS_CALENDAR;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--reps") == 0)
			reps = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--engine") == 0)
			kind = strcmp(argv[i + 1], "heap") == 0 ? EVS_HEAP : EVS_CALENDAR;
	}
	if (reps < 1 || reps > 100)
		reps = 3;
	scenario **v;
	size_t n;
	scn_errors errs = { 0 };
	if (scn_load(argv[1], &sim_alloc_std, &v, &n, &errs) != SIM_OK) {
		char line[2048];
		for (size_t i = 0; i < errs.n; i++) {
			scn_error_format(&errs.v[i], line, sizeof line);
			fprintf(stderr, "%s\n", line);
		}
		scn_errors_free(&errs);
		return 2;
	}
	scn_errors_free(&errs);
	double wall[100];
	uint64_t events = 0;
	double generated = 0, accepted = 0;
	for (int r = 0; r < reps; r++) {
		res_rep rep;
		char err[256];
		double t0 = now_s();
		if (run_replication(v[0], 0, kind, &sim_alloc_std, &rep, err, sizeof err) != SIM_OK) {
			fprintf(stderr, "bench_e2e: %s\n", err);
			return 1;
		}
		wall[r] = now_s() - t0;
		events = rep.events;
		generated = rep.total.fig[FIG_GENERATED];
		accepted = rep.total.fig[FIG_ACCEPTED];
		res_rep_free(&rep);
	}
	qsort(wall, (size_t)reps, sizeof wall[0], cmp_double);
	double med = wall[reps / 2];
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("scenario %s, engine %s, %d runs\n", v[0]->name, evs_kind_name(kind), reps);
	printf("  messages generated  %.0f (accepted %.0f)\n", generated, accepted);
	printf("  events              %" PRIu64 "\n", events);
	printf("  wall time           %.3f s median (min %.3f, max %.3f)\n", med, wall[0], wall[reps - 1]);
	printf("  events per second   %.3g\n", (double)events / med);
	printf("  messages per second %.3g\n", generated / med);
	printf("  peak memory (RSS)   %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
	scn_free_all(v, n, &sim_alloc_std);
	return 0;
}
