/* test_engine.c - the engine's contract, on both event sets: FIFO ties,
 * a clock that never goes backwards, O(1) cancellation through handles
 * that stay safe, errors returned as errors, run boundaries, allocation
 * failure, and two engines running in two threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"

static evs_kind kind_of_state(void **state)
{
	return (evs_kind)(intptr_t)*state;
}

typedef struct trace {
	int64_t time[4096];
	uint64_t arg[4096];
	size_t n;
	int64_t last;
	int backwards;
} trace;

static void record(sim_engine *e, void *ctx, uint64_t arg)
{
	trace *t = ctx;
	if (sim_now(e) < t->last)
		t->backwards = 1;
	t->last = sim_now(e);
	if (t->n < 4096) {
		t->time[t->n] = sim_now(e);
		t->arg[t->n] = arg;
		t->n++;
	}
}

static void test_fifo_ties(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	assert_non_null(e);
	trace t = { .last = 0 };
	/* 300 events at three times, interleaved: each time's events must run
	 * in the order they were scheduled. */
	for (uint64_t i = 0; i < 300; i++)
		assert_int_equal(sim_schedule_at(e, (int64_t)(i % 3) * 1000, record, &t, i, NULL), SIM_OK);
	assert_int_equal(sim_run(e, SIM_TIME_MAX), SIM_OK);
	assert_int_equal(t.n, 300);
	size_t k = 0;
	for (int64_t tm = 0; tm < 3; tm++)
		for (uint64_t i = (uint64_t)tm; i < 300; i += 3, k++) {
			assert_int_equal(t.time[k], tm * 1000);
			assert_int_equal(t.arg[k], i);
		}
	assert_false(t.backwards);
	sim_engine_free(e);
}

/* A handler that schedules at its own time: the new event runs after every
 * event already scheduled for that time (FIFO), never before. */
static void chain(sim_engine *e, void *ctx, uint64_t arg)
{
	record(e, ctx, arg);
	if (arg < 100)
		assert_int_equal(sim_schedule_in(e, 0, chain, ctx, arg + 100, NULL), SIM_OK);
}

static void test_same_time_from_handler(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	trace t = { .last = 0 };
	for (uint64_t i = 0; i < 5; i++)
		sim_schedule_at(e, 7, chain, &t, i, NULL);
	sim_run(e, SIM_TIME_MAX);
	/* 0..4 first, then their children 100..104 in the same order. */
	uint64_t want[10] = { 0, 1, 2, 3, 4, 100, 101, 102, 103, 104 };
	assert_int_equal(t.n, 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(t.arg[i], want[i]);
		assert_int_equal(t.time[i], 7);
	}
	sim_engine_free(e);
}

static void test_cancel(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	trace t = { .last = 0 };
	sim_handle h[10];
	for (uint64_t i = 0; i < 10; i++)
		assert_int_equal(sim_schedule_at(e, (int64_t)i * 10, record, &t, i, &h[i]), SIM_OK);
	assert_int_equal(sim_events_pending(e), 10);
	assert_true(sim_cancel(e, h[3]));
	assert_false(sim_cancel(e, h[3])); /* twice: no-op */
	assert_false(sim_pending(e, h[3]));
	assert_true(sim_pending(e, h[4]));
	assert_int_equal(sim_events_pending(e), 9);
	assert_false(sim_cancel(e, SIM_HANDLE_NONE));
	assert_int_equal(sim_run(e, 45), SIM_OK); /* runs 0,1,2,4 */
	assert_int_equal(t.n, 4);
	assert_int_equal(t.arg[3], 4);
	assert_false(sim_cancel(e, h[4])); /* already ran */
	/* Reuse the pool slots many times: old handles must stay dead. */
	for (uint64_t i = 0; i < 5000; i++)
		sim_schedule_in(e, 1000 + (int64_t)i, record, &t, 1000 + i, NULL);
	for (int i = 0; i < 5; i++)
		assert_false(sim_cancel(e, h[i]));
	assert_true(sim_cancel(e, h[9]));
	sim_run(e, SIM_TIME_MAX);
	for (size_t i = 0; i < t.n && i < 4096; i++) {
		assert_int_not_equal(t.arg[i], 3);
		assert_int_not_equal(t.arg[i], 9);
	}
	assert_int_equal(sim_events_run(e), 4 + 4 + 5000);
	assert_int_equal(sim_events_pending(e), 0);
	sim_engine_free(e);
}

static void test_errors(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	trace t = { .last = 0 };
	sim_schedule_at(e, 100, record, &t, 0, NULL);
	sim_run(e, 200);
	assert_int_equal(sim_now(e), 200);
	sim_handle h = SIM_HANDLE_NONE;
	assert_int_equal(sim_schedule_at(e, 199, record, &t, 0, &h), SIM_EPAST);
	assert_int_equal(h.seq, 0); /* untouched on failure */
	assert_int_equal(sim_schedule_at(e, -5, record, &t, 0, NULL), SIM_EPAST);
	assert_int_equal(sim_schedule_in(e, -1, record, &t, 0, NULL), SIM_EPAST);
	assert_int_equal(sim_schedule_in(e, INT64_MAX - 100, record, &t, 0, NULL), SIM_ERANGE);
	assert_int_equal(sim_schedule_at(e, SIM_TIME_MAX, record, &t, 0, NULL), SIM_ERANGE);
	assert_int_equal(sim_schedule_at(e, 300, NULL, &t, 0, NULL), SIM_EINVAL);
	assert_int_equal(sim_events_pending(e), 0);
	/* The largest schedulable time works. */
	assert_int_equal(sim_schedule_at(e, SIM_TIME_MAX - 1, record, &t, 77, NULL), SIM_OK);
	assert_int_equal(sim_run(e, SIM_TIME_MAX), SIM_OK);
	assert_int_equal(t.arg[t.n - 1], 77);
	assert_int_equal(t.time[t.n - 1], SIM_TIME_MAX - 1);
	assert_string_not_equal(sim_strerror(SIM_EPAST), sim_strerror(SIM_ERANGE));
	sim_engine_free(e);
}

static void test_run_boundary(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	trace t = { .last = 0 };
	sim_schedule_at(e, 999, record, &t, 1, NULL);
	sim_schedule_at(e, 1000, record, &t, 2, NULL);
	assert_int_equal(sim_run(e, 1000), SIM_OK);
	assert_int_equal(t.n, 1); /* nothing at exactly the end runs */
	assert_int_equal(sim_now(e), 1000);
	assert_int_equal(sim_events_pending(e), 1);
	assert_int_equal(sim_run(e, 500), SIM_OK); /* an end in the past: clock stays */
	assert_int_equal(sim_now(e), 1000);
	assert_int_equal(sim_run(e, 1001), SIM_OK);
	assert_int_equal(t.n, 2);
	sim_engine_free(e);
}

static void stopper(sim_engine *e, void *ctx, uint64_t arg)
{
	record(e, ctx, arg);
	if (arg == 2)
		sim_stop(e);
}

static void test_stop(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	trace t = { .last = 0 };
	for (uint64_t i = 0; i < 5; i++)
		sim_schedule_at(e, (int64_t)i, stopper, &t, i, NULL);
	assert_int_equal(sim_run(e, 100), SIM_EINTR);
	assert_int_equal(t.n, 3);
	assert_int_equal(sim_now(e), 2);
	assert_int_equal(sim_run(e, 100), SIM_OK);
	assert_int_equal(t.n, 5);
	sim_engine_free(e);
}

/* Fail the 1st, 2nd, ... allocation until a whole run succeeds: every
 * failure is an error, nothing leaks, nothing crashes. */
static void test_alloc_failures(void **state)
{
	int completed = 0;
	for (long k = 1; k < 200 && !completed; k++) {
		sim_alloc_failing f = { .fail_at = k };
		sim_alloc a = sim_alloc_failing_make(&f);
		sim_engine *e = sim_engine_new(kind_of_state(state), &a);
		if (e != NULL) {
			trace t = { .last = 0 };
			int rc = SIM_OK;
			for (uint64_t i = 0; i < 3000 && rc == SIM_OK; i++)
				rc = sim_schedule_at(e, (int64_t)((i * 7919) % 3001), record, &t, i, NULL);
			if (rc == SIM_OK) {
				assert_int_equal(sim_run(e, SIM_TIME_MAX), SIM_OK);
				assert_false(t.backwards);
				completed = 1;
			} else {
				assert_int_equal(rc, SIM_ENOMEM);
				/* the engine stays usable: what was scheduled still runs in order */
				assert_int_equal(sim_run(e, SIM_TIME_MAX), SIM_OK);
				assert_false(t.backwards);
			}
			sim_engine_free(e);
		}
		assert_int_equal(f.live, 0);
		assert_int_equal(f.bytes, 0);
	}
	assert_true(completed);
}

/* Two engines in two threads: no shared state, same results as one. */
typedef struct job {
	evs_kind kind;
	uint64_t checksum;
} job;

static void churn(sim_engine *e, void *ctx, uint64_t arg)
{
	uint64_t *sum = ctx;
	*sum = (*sum ^ (uint64_t)sim_now(e) ^ arg) * 0x100000001b3ULL;
	if (sim_now(e) < 50000000)
		sim_schedule_in(e, (int64_t)((arg * 2654435761u) % 100000), churn, ctx, arg * 31 + 7, NULL);
}

static void *run_job(void *p)
{
	job *j = p;
	sim_engine *e = sim_engine_new(j->kind, NULL);
	j->checksum = 0xcbf29ce484222325ULL;
	for (uint64_t i = 0; i < 1000; i++)
		sim_schedule_at(e, (int64_t)i * 13, churn, &j->checksum, i, NULL);
	sim_run(e, SIM_TIME_MAX);
	sim_engine_free(e);
	return NULL;
}

static void test_threads(void **state)
{
	job a = { .kind = kind_of_state(state) }, b = a, c = a;
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, run_job, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, run_job, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	run_job(&c);
	assert_int_equal(a.checksum, c.checksum);
	assert_int_equal(b.checksum, c.checksum);
	/* and the other event set agrees */
	job d = { .kind = kind_of_state(state) == EVS_HEAP ? EVS_CALENDAR : EVS_HEAP };
	run_job(&d);
	assert_int_equal(d.checksum, c.checksum);
}

/* Every test runs on both event sets, named after each. */
#define BOTH(f) \
	{ #f "/calendar", f, NULL, NULL, (void *)(intptr_t)EVS_CALENDAR }, \
	{ #f "/heap", f, NULL, NULL, (void *)(intptr_t)EVS_HEAP }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_fifo_ties),
		BOTH(test_same_time_from_handler),
		BOTH(test_cancel),
		BOTH(test_errors),
		BOTH(test_run_boundary),
		BOTH(test_stop),
		BOTH(test_alloc_failures),
		BOTH(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
