/* test_engine_node.c - events through caller-owned nodes (engine.h,
 * sim_node), on both event sets: they keep the one (time, scheduling
 * order) with pool events, a node holds one pending event, a handler may
 * reschedule its own node, counters count them, and the run's end and
 * errors behave as for sim_schedule_in; sim_drop_pending empties the set. */
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

typedef struct evlog {
	int64_t time[64];
	uint64_t arg[64];
	size_t n;
} evlog;

static void record(sim_engine *e, void *ctx, uint64_t arg)
{
	evlog *l = ctx;
	if (l->n < 64) {
		l->time[l->n] = sim_now(e);
		l->arg[l->n] = arg;
		l->n++;
	}
}

/* Node and pool events at equal times run in scheduling order: at t = 10
 * the order of scheduling is pool 1, node 2, pool 3; at t = 5 node 4
 * then pool 5 (scheduled later, but earlier in time). */
static void test_order_with_pool_events(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	assert_non_null(e);
	evlog l = { .n = 0 };
	sim_node a = SIM_NODE_INIT, b = SIM_NODE_INIT;
	assert_int_equal(sim_schedule_in(e, 10, record, &l, 1, NULL), SIM_OK);
	assert_int_equal(sim_schedule_node_in(e, &a, 10, record, &l, 2), SIM_OK);
	assert_int_equal(sim_schedule_in(e, 10, record, &l, 3, NULL), SIM_OK);
	assert_int_equal(sim_schedule_node_in(e, &b, 5, record, &l, 4), SIM_OK);
	assert_int_equal(sim_schedule_in(e, 5, record, &l, 5, NULL), SIM_OK);
	assert_int_equal(sim_events_pending(e), 5);
	assert_int_equal(sim_run(e, SIM_TIME_MAX), SIM_OK);
	const int64_t t[] = { 5, 5, 10, 10, 10 };
	const uint64_t g[] = { 4, 5, 1, 2, 3 };
	assert_int_equal(l.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(l.time[i], t[i]);
		assert_int_equal(l.arg[i], g[i]);
	}
	assert_int_equal(sim_events_run(e), 5);
	assert_int_equal(sim_events_pending(e), 0);
	assert_int_equal(a.seq, 0);
	assert_int_equal(b.seq, 0);
	sim_engine_free(e);
}

/* A node with an event pending refuses a second one (nothing scheduled,
 * the first one still runs); bad delays are refused as by sim_schedule_in. */
static void test_one_pending(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	assert_non_null(e);
	evlog l = { .n = 0 };
	sim_node a = SIM_NODE_INIT;
	assert_int_equal(sim_schedule_node_in(e, &a, 7, record, &l, 1), SIM_OK);
	assert_int_equal(sim_schedule_node_in(e, &a, 3, record, &l, 2), SIM_EINVAL);
	assert_int_equal(sim_events_pending(e), 1);
	sim_node b = SIM_NODE_INIT;
	assert_int_equal(sim_schedule_node_in(e, &b, -1, record, &l, 3), SIM_EPAST);
	assert_int_equal(sim_schedule_node_in(e, &b, SIM_TIME_MAX, record, &l, 3), SIM_ERANGE);
	assert_int_equal(sim_schedule_node_in(e, &b, 1, NULL, &l, 3), SIM_EINVAL);
	assert_int_equal(b.seq, 0);
	assert_int_equal(sim_run(e, SIM_TIME_MAX), SIM_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.time[0], 7);
	assert_int_equal(l.arg[0], 1);
	sim_engine_free(e);
}

/* A handler reschedules its own node: every 4 ns from 0, run to 20
 * exclusive: runs at 0, 4, 8, 12, 16 (5 events); the one at 20 stays
 * pending and the clock ends at 20. */
typedef struct ticker {
	sim_node node;
	evlog l;
} ticker;

static void tick(sim_engine *e, void *ctx, uint64_t arg)
{
	ticker *t = ctx;
	record(e, &t->l, arg);
	assert_int_equal(sim_schedule_node_in(e, &t->node, 4, tick, t, arg + 1), SIM_OK);
}

static void test_reschedule_self(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	assert_non_null(e);
	ticker t = { .node = SIM_NODE_INIT, .l = { .n = 0 } };
	assert_int_equal(sim_schedule_node_in(e, &t.node, 0, tick, &t, 0), SIM_OK);
	assert_int_equal(sim_run(e, 20), SIM_OK);
	assert_int_equal(t.l.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(t.l.time[i], (int64_t)(4 * i));
		assert_int_equal(t.l.arg[i], i);
	}
	assert_int_equal(sim_now(e), 20);
	assert_int_equal(sim_events_pending(e), 1);
	assert_int_equal(sim_events_run(e), 5);
	sim_engine_free(e);
}

/* sim_drop_pending: after two events ran (t = 1, 2), three pool events
 * and a node are pending; dropped, none runs, the handles are stale, the
 * clock and the run count stay, and the engine schedules again. */
static void test_drop_pending(void **state)
{
	sim_engine *e = sim_engine_new(kind_of_state(state), NULL);
	assert_non_null(e);
	evlog l = { .n = 0 };
	sim_node a = SIM_NODE_INIT;
	sim_handle h;
	assert_int_equal(sim_schedule_in(e, 1, record, &l, 1, NULL), SIM_OK);
	assert_int_equal(sim_schedule_in(e, 2, record, &l, 2, NULL), SIM_OK);
	assert_int_equal(sim_schedule_in(e, 5, record, &l, 3, &h), SIM_OK);
	assert_int_equal(sim_schedule_in(e, 6, record, &l, 4, NULL), SIM_OK);
	assert_int_equal(sim_schedule_in(e, 7, record, &l, 5, NULL), SIM_OK);
	assert_int_equal(sim_schedule_node_in(e, &a, 8, record, &l, 6), SIM_OK);
	assert_int_equal(sim_run(e, 3), SIM_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(sim_events_pending(e), 4);
	assert_int_equal(sim_drop_pending(e), SIM_OK);
	assert_int_equal(sim_events_pending(e), 0);
	assert_false(sim_pending(e, h));
	assert_false(sim_cancel(e, h));
	assert_int_equal(sim_now(e), 3);
	assert_int_equal(sim_run(e, 100), SIM_OK);
	assert_int_equal(l.n, 2);
	assert_int_equal(sim_events_run(e), 2);
	assert_int_equal(sim_schedule_in(e, 1, record, &l, 7, NULL), SIM_OK);
	assert_int_equal(sim_run(e, SIM_TIME_MAX), SIM_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.arg[2], 7);
	assert_int_equal(l.time[2], 101);
	sim_engine_free(e);
}

int main(void)
{
	void *cal = (void *)(intptr_t)EVS_CALENDAR, *heap = (void *)(intptr_t)EVS_HEAP;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_order_with_pool_events, cal),
		cmocka_unit_test_prestate(test_order_with_pool_events, heap),
		cmocka_unit_test_prestate(test_one_pending, cal),
		cmocka_unit_test_prestate(test_one_pending, heap),
		cmocka_unit_test_prestate(test_reschedule_self, cal),
		cmocka_unit_test_prestate(test_reschedule_self, heap),
		cmocka_unit_test_prestate(test_drop_pending, cal),
		cmocka_unit_test_prestate(test_drop_pending, heap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
