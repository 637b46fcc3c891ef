/* fuzz_trace.c - libFuzzer harness for the trace CSV reader.
 *
 * Each input is a trace file's text, parsed with scn_trace_parse() (the
 * reader scn_load() uses for `arrivals: {trace: FILE}`), with the start
 * 2025-03-03T00:00:00Z so that timestamp rows are exercised too.  Aborts
 * when the reader's contract is broken:
 *   success: 1 <= nrows, rows sorted by time, the same rows again from a
 *            second parse of the same text, 0 <= time <= 100 years, 0 <= instance < nsenders <= nrows,
 *            1 <= recipients, 0 <= external <= recipients, size >= 0;
 *   failure: SIM_ESCENARIO or SIM_ENOMEM, at least one error, each with a
 *            message naming the file; outputs untouched.
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
			fprintf(stderr, "fuzz_trace: invariant broken: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                       \
			abort();                                                  \
		}                                                                 \
	} while (0)

#define START_UNIX_S 1740960000LL /* 2025-03-03T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scn_trace_row *rows = (scn_trace_row *)(uintptr_t)0x1;
	size_t nrows = 12345, nsenders = 54321;
	scn_errors errs = { 0 };
	int rc = scn_trace_parse("fuzz.csv", (const char *)data, size, START_UNIX_S, &sim_alloc_std,
				 &rows, &nrows, &nsenders, &errs);
	if (rc == 0) {
		CHECK(errs.n == 0);
		CHECK(nrows >= 1 && rows != (scn_trace_row *)(uintptr_t)0x1);
		CHECK(nsenders >= 1 && nsenders <= nrows);
		for (size_t k = 0; k < nrows; k++) {
			const scn_trace_row *r = &rows[k];
			CHECK(k == 0 || rows[k - 1].time_ns <= r->time_ns);
			CHECK(r->time_ns >= 0 && r->time_ns <= UNIT_MAX_DURATION_NS);
			CHECK(r->instance >= 0 && (size_t)r->instance < nsenders);
			CHECK(r->recipients >= 1 && r->external >= 0 && r->external <= r->recipients);
			CHECK(r->size_bytes >= 0 && r->size_bytes <= UNIT_MAX_SIZE_BYTES);
		}
		/* deterministic: the same text gives the same rows */
		scn_trace_row *again = NULL;
		size_t n2 = 0;
		CHECK(scn_trace_parse("fuzz.csv", (const char *)data, size, START_UNIX_S, &sim_alloc_std,
				      &again, &n2, NULL, NULL) == 0);
		CHECK(n2 == nrows && !memcmp(again, rows, nrows * sizeof *rows));
		sim_free(&sim_alloc_std, again, n2 * sizeof *again);
		sim_free(&sim_alloc_std, rows, nrows * sizeof *rows);
	} else {
		CHECK(rc == SIM_ESCENARIO || rc == SIM_ENOMEM);
		CHECK(rows == (scn_trace_row *)(uintptr_t)0x1 && nrows == 12345 && nsenders == 54321);
		CHECK(errs.n >= 1 || rc == SIM_ENOMEM);
		for (size_t i = 0; i < errs.n; i++) {
			CHECK(errs.v[i].message[0] != '\0');
			CHECK(!strcmp(errs.v[i].file, "fuzz.csv"));
		}
	}
	scn_errors_free(&errs);
	return 0;
}
