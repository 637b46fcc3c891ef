/* fuzz_scenario.c - libFuzzer harness for the scenario loader.
 *
 * Each input is a scenario file's text, loaded with scn_load_buffer()
 * against tests/fuzz/data/ (so relative trace paths such as
 * traces/small.csv, and trace_bad_row.csv of tests/data/bad/, resolve to
 * copies there).  Besides the sanitizers'
 * own checks (ASan, UBSan, LeakSanitizer) the harness aborts when the
 * loader's contract is broken:
 *   success: n >= 1, v[0] is "base", every scenario has 0 < duration <=
 *            100 years, replications >= 1, counts within the bounds of
 *            scn_load.h, trace rows sorted by time with instance < count,
 *            no error recorded;
 *   failure: a known status, at least one error, each with a message;
 *            *out and *n untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scn_load.h"
#include "status.h"
#include "units.h"

#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "fuzz_scenario: invariant broken: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                       \
			abort();                                                  \
		}                                                                 \
	} while (0)

static void check_scenario(const scenario *s)
{
	CHECK(s->duration_ns > 0 && s->duration_ns <= UNIT_MAX_DURATION_NS);
	CHECK(s->replications >= 1 && s->replications <= SCN_MAX_REPLICATIONS);
	CHECK(s->n_mailboxes <= (size_t)SCN_MAX_MAILBOXES);
	CHECK(s->n_routes >= 1);
	int64_t instances = 0;
	for (size_t i = 0; i < s->n_senders; i++) {
		const scn_sender *d = &s->senders[i];
		CHECK(d->count >= 1 && d->count <= SCN_MAX_INSTANCES);
		instances += d->count;
		CHECK(instances <= SCN_MAX_INSTANCES);
		CHECK((d->mailbox >= 0) != (d->pool >= 0));
		CHECK(d->mailbox < 0 || (size_t)d->mailbox < s->n_mailboxes);
		CHECK(d->pool < 0 || (size_t)d->pool < s->n_pools);
		CHECK(d->route >= 0 && (size_t)d->route < s->n_routes);
		const scn_arrivals *ar = &d->arrivals;
		if (ar->kind == ARR_POISSON || ar->kind == ARR_BURSTS)
			CHECK(ar->rate_per_s > 0 && ar->rate_per_s <= UNIT_MAX_RATE_PER_S);
		if (ar->kind == ARR_PERIODIC)
			CHECK(ar->interval_ns > 0);
		if (ar->kind == ARR_TRACE) {
			CHECK(ar->trace_len >= 1 && ar->trace);
			for (size_t k = 0; k < ar->trace_len; k++) {
				const scn_trace_row *r = &ar->trace[k];
				CHECK(k == 0 || ar->trace[k - 1].time_ns <= r->time_ns);
				CHECK(r->time_ns >= 0 && r->instance >= 0 && r->instance < d->count);
				CHECK(r->recipients >= 1 && r->external >= 0 && r->external <= r->recipients);
				CHECK(r->size_bytes >= 0);
			}
		}
	}
	for (size_t i = 0; i < s->n_pools; i++)
		CHECK(s->pools[i].first + s->pools[i].count <= s->n_mailboxes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scenario **v = (scenario **)(uintptr_t)0x1;
	size_t n = 12345;
	scn_errors errs = { 0 };
	int rc = scn_load_buffer("fuzz.yaml", (const char *)data, size, "tests/fuzz/data",
				 &sim_alloc_std, &v, &n, &errs);
	if (rc == 0) {
		CHECK(n >= 1 && v != (scenario **)(uintptr_t)0x1);
		CHECK(errs.n == 0);
		CHECK(!strcmp(v[0]->variant, "base"));
		for (size_t i = 0; i < n; i++)
			check_scenario(v[i]);
		scn_free_all(v, n, &sim_alloc_std);
	} else {
		CHECK(rc == SIM_ESCENARIO || rc == SIM_EIO || rc == SIM_ENOMEM);
		CHECK(v == (scenario **)(uintptr_t)0x1 && n == 12345);
		CHECK(errs.n >= 1 || rc == SIM_ENOMEM);
		for (size_t i = 0; i < errs.n; i++) {
			CHECK(errs.v[i].message[0] != '\0');
			char buf[2048];
			scn_error_format(&errs.v[i], buf, sizeof buf);
		}
	}
	scn_errors_free(&errs);
	return 0;
}
