/* test_scenario.c - units, presets and the scenario loader.
 *
 * Run from the repository root (paths are relative to it; set
 * THROTTLESIM_ROOT to run from elsewhere).  Every expected value is worked
 * out by hand from the input files under tests/data/ and scenarios/. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "presets.h"
#include "scn_lint.h"
#include "scn_load.h"
#include "status.h"
#include "units.h"

#define S 1000000000LL

static const char *root_path(const char *rel, char *buf, size_t len)
{
	const char *r = getenv("THROTTLESIM_ROOT");
	if (r && *r)
		snprintf(buf, len, "%s/%s", r, rel);
	else
		snprintf(buf, len, "%s", rel);
	return buf;
}

/* Load a file that must be valid; fails the test with its errors if not. */
static scenario **load_ok(const char *rel, size_t *n)
{
	char path[600];
	scenario **v = NULL;
	scn_errors e = { 0 };
	int rc = scn_load(root_path(rel, path, sizeof path), &sim_alloc_std, &v, n, &e);
	for (size_t i = 0; i < e.n; i++) {
		char b[1400];
		scn_error_format(&e.v[i], b, sizeof b);
		print_error("%s\n", b);
	}
	scn_errors_free(&e);
	assert_int_equal(rc, 0);
	return v;
}

/* ---- units ---------------------------------------------------------------- */

static void test_durations(void **state)
{
	(void)state;
	int64_t ns = -1;
	char err[200];
	assert_int_equal(unit_parse_duration("250ms", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 250000000LL);
	assert_int_equal(unit_parse_duration("30s", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 30 * S);
	assert_int_equal(unit_parse_duration("5m", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 300 * S);
	assert_int_equal(unit_parse_duration("2h", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 7200 * S);
	assert_int_equal(unit_parse_duration("1d", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 86400 * S);
	assert_int_equal(unit_parse_duration("1w", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 604800 * S);
	assert_int_equal(unit_parse_duration("1h30m", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 5400 * S);
	assert_int_equal(unit_parse_duration("90", &ns, err, sizeof err), 0); /* plain = seconds */
	assert_int_equal(ns, 90 * S);
	assert_int_equal(unit_parse_duration("0.1s", &ns, err, sizeof err), 0);
	assert_int_equal(ns, 100000000LL);
	assert_int_equal(unit_parse_duration("1.5ns", &ns, err, sizeof err), 0); /* half up */
	assert_int_equal(ns, 2);
	/* the bound: 100 years of 365.25 days, inclusive */
	assert_int_equal(unit_parse_duration("36525d", &ns, err, sizeof err), 0);
	assert_int_equal(ns, UNIT_MAX_DURATION_NS);
	assert_int_equal(unit_parse_duration("100y", &ns, err, sizeof err), 0);
	ns = 7;
	assert_int_equal(unit_parse_duration("36526d", &ns, err, sizeof err), SIM_ERANGE);
	assert_non_null(strstr(err, "100 years"));
	assert_int_equal(ns, 7); /* untouched on failure */
	assert_int_equal(unit_parse_duration("1000000y", &ns, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_duration("1e30s", &ns, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_duration("-5s", &ns, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_duration("5x", &ns, err, sizeof err), SIM_EINVAL);
	assert_int_equal(unit_parse_duration("", &ns, err, sizeof err), SIM_EINVAL);
	assert_int_equal(unit_parse_duration("s", &ns, err, sizeof err), SIM_EINVAL);
	assert_int_equal(unit_parse_duration("2d", &ns, NULL, 0), 0);
	assert_int_equal(ns, 2 * 86400 * S);
}

static void test_rates(void **state)
{
	(void)state;
	double r = -1;
	char err[200];
	assert_int_equal(unit_parse_rate("30/min", &r, err, sizeof err), 0);
	assert_true(r == 0.5);
	assert_int_equal(unit_parse_rate("6/h", &r, err, sizeof err), 0);
	assert_true(r == 6.0 / 3600);
	assert_int_equal(unit_parse_rate("0.5/s", &r, err, sizeof err), 0);
	assert_true(r == 0.5);
	assert_int_equal(unit_parse_rate("1200/d", &r, err, sizeof err), 0);
	assert_true(r == 1200.0 / 86400);
	assert_int_equal(unit_parse_rate("5/10m", &r, err, sizeof err), 0);
	assert_true(r == 5.0 / 600);
	assert_int_equal(unit_parse_rate("1000000/s", &r, err, sizeof err), 0);
	assert_int_equal(unit_parse_rate("1000001/s", &r, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_rate("0/h", &r, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_rate("-1/h", &r, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_rate("4", &r, err, sizeof err), SIM_EINVAL); /* needs a unit */
	assert_int_equal(unit_parse_rate("4/fortnight", &r, err, sizeof err), SIM_EINVAL);
}

static void test_sizes_and_others(void **state)
{
	(void)state;
	int64_t b = -1, t = 0, c = 0;
	double p = -1, bw = 0;
	bool v = false;
	char err[200];
	assert_int_equal(unit_parse_size("400KB", &b, err, sizeof err), 0);
	assert_int_equal(b, 400 * 1024);
	assert_int_equal(unit_parse_size("35MB", &b, err, sizeof err), 0);
	assert_int_equal(b, 35LL << 20);
	assert_int_equal(unit_parse_size("100GB", &b, err, sizeof err), 0);
	assert_int_equal(b, 100LL << 30);
	assert_int_equal(unit_parse_size("1.5KiB", &b, err, sizeof err), 0);
	assert_int_equal(b, 1536);
	assert_int_equal(unit_parse_size("123", &b, err, sizeof err), 0);
	assert_int_equal(b, 123);
	assert_int_equal(unit_parse_size("-1", &b, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_size("2000000TB", &b, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_size("3 parsecs", &b, err, sizeof err), SIM_EINVAL);
	assert_int_equal(unit_parse_bandwidth("2MB/s", &bw, err, sizeof err), 0);
	assert_true(bw == 2.0 * 1048576);
	assert_int_equal(unit_parse_probability("0.25", &p, err, sizeof err), 0);
	assert_true(p == 0.25);
	assert_int_equal(unit_parse_probability("5%", &p, err, sizeof err), 0);
	assert_true(p == 0.05);
	assert_int_equal(unit_parse_probability("1.5", &p, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_probability("-0.1", &p, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_count("10_000", &c, err, sizeof err), 0);
	assert_int_equal(c, 10000);
	assert_int_equal(unit_parse_count("1e6", &c, err, sizeof err), 0);
	assert_int_equal(c, 1000000);
	assert_int_equal(unit_parse_count("2.5", &c, err, sizeof err), SIM_EINVAL);
	assert_int_equal(unit_parse_bool("yes", &v, err, sizeof err), 0);
	assert_true(v);
	assert_int_equal(unit_parse_timestamp("2026-03-02T00:00:00Z", &t, err, sizeof err), 0);
	assert_int_equal(t, 1772409600LL);
	assert_int_equal(unit_parse_timestamp("2026-03-02T01:00:00+01:00", &t, err, sizeof err), 0);
	assert_int_equal(t, 1772409600LL);
	assert_int_equal(unit_parse_timestamp("2026-03-02", &t, err, sizeof err), 0);
	assert_int_equal(t, 1772409600LL);
	assert_int_equal(unit_parse_timestamp("1970-01-01T00:00:01Z", &t, err, sizeof err), 0);
	assert_int_equal(t, 1);
	assert_int_equal(unit_parse_timestamp("2026-02-29T00:00:00Z", &t, err, sizeof err), SIM_ERANGE);
	assert_int_equal(unit_parse_timestamp("yesterday", &t, err, sizeof err), SIM_EINVAL);
}

/* ---- presets ------------------------------------------------------------- */

static void test_presets(void **state)
{
	(void)state;
	scn_limits l;
	assert_int_equal(preset_fill("exchange-online", &l), 0);
	assert_true(l.smtp_auth && l.saves_sent_items);
	assert_int_equal(l.connections.limit, 3);
	assert_int_equal(l.connections.scope, SCOPE_MAILBOX);
	assert_int_equal(l.reply[RC_CONCURRENCY].code, 432);
	assert_true(l.reply[RC_CONCURRENCY].transient);
	assert_int_equal(l.max_message_size, 35LL << 20);
	assert_int_equal(l.max_recipients_per_message, 500);
	assert_int_equal(l.recipient_rate.limit, 10000);
	assert_int_equal(l.recipient_rate.window_ns, 86400 * S);
	assert_int_equal(l.message_rate.limit, 30);
	assert_int_equal(l.message_rate.window_ns, 60 * S);
	assert_int_equal(l.message_rate.mode, RATE_DELAY);
	for (int k = 0; k < ERR_CLASS_COUNT; k++) {
		assert_true(l.error_throttle[k].enabled);
		assert_int_equal(l.error_throttle[k].threshold, 10);
		assert_int_equal(l.error_throttle[k].window_ns, 600 * S);
		assert_int_equal(l.error_throttle[k].period_ns, 3600 * S);
		assert_int_equal(l.reply[RC_THROTTLED_MAILBOX_FULL + (k)].code, 550);
	}
	assert_non_null(strstr(l.reply[RC_THROTTLED_MAILBOX_FULL + ERR_SEND_AS_DENIED].text, "5.2.252"));
	assert_non_null(strstr(l.reply[RC_MAILBOX_FULL].text, "554 5.2.2"));
	assert_int_equal(preset_fill("exchange-server", &l), 0);
	assert_int_equal(l.connections.limit, 20);
	assert_int_equal(l.connections.scope, SCOPE_SOURCE);
	assert_int_equal(l.message_rate.limit, 5);
	assert_int_equal(l.message_rate.mode, RATE_REJECT);
	assert_true(l.reply[RC_MESSAGE_RATE].drops_connection);
	assert_int_equal(l.reply[RC_TOO_MANY_RECIPIENTS].code, 452);
	assert_true(l.reply[RC_TOO_MANY_RECIPIENTS].transient);
	assert_int_equal(l.recipient_rate.limit, 0);
	assert_false(l.error_throttle[0].enabled);
	assert_int_equal(l.auth_fail_tarpit_ns, 5 * S);
	for (size_t i = 0; preset_name(i); i++)
		assert_int_equal(preset_fill(preset_name(i), &l), 0);
	assert_int_equal(preset_fill("exchange-onlin", &l), SIM_EINVAL);
	assert_non_null(strstr(preset_reply(RC_BASIC_DISABLED)->text, "basic authentication is disabled"));
	assert_non_null(strstr(preset_reply(RC_AUTH_DISABLED_TENANT)->text, "for the Tenant"));
	assert_non_null(strstr(preset_reply(RC_AUTH_DISABLED_MAILBOX)->text, "for the Mailbox"));
	for (int c = 0; c < RC_COUNT; c++)
		assert_true(preset_reply((scn_reply_class)c)->text[0] != '\0');
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("tests/data/minimal.yaml", &n);
	assert_int_equal(n, 1);
	scenario *s = v[0];
	assert_string_equal(s->name, "minimal");
	assert_string_equal(s->variant, "base");
	assert_int_equal(s->start_unix_s, 1772409600LL);
	assert_int_equal(s->duration_ns, 86400 * S);
	assert_int_equal(s->seed, 1);
	assert_int_equal(s->replications, 1);
	assert_int_equal(s->series_step_ns, 60 * S);
	assert_false(s->tenant.smtp_client_auth_disabled);
	assert_true(s->tenant.basic_auth_enabled);
	assert_int_equal(s->tenant.licenses, 1);
	assert_int_equal(s->tenant.external_recipient_limit, 10000); /* TERRL enforced up to 500 licenses: auto(1) */
	assert_int_equal(s->n_mailboxes, 1);
	scn_mailbox *m = &s->mailboxes[0];
	assert_int_equal(m->pool, -1);
	assert_int_equal(m->smtp_client_auth_disabled, TRI_UNSET);
	assert_int_equal(m->quota_bytes, 100LL << 30);
	assert_int_equal(m->size_bytes, 0);
	assert_true(m->save_sent_items && m->licensed);
	assert_string_equal(m->limits.preset, "exchange-online");
	assert_int_equal(m->limits.connections.limit, 3);
	assert_int_equal(m->limits.external_rate.limit, 10000); /* TERRL enforced (1 license) */
	assert_int_equal(s->n_routes, 1);
	assert_string_equal(s->routes[0].name, "smtp_auth");
	assert_int_equal(s->n_senders, 1);
	scn_sender *d = &s->senders[0];
	assert_string_equal(d->name, "app");
	assert_int_equal(d->count, 1);
	assert_int_equal(d->mailbox, 0); /* the only mailbox */
	assert_int_equal(d->pool, -1);
	assert_true(d->basic_auth);
	assert_int_equal(d->arrivals.kind, ARR_POISSON);
	assert_true(d->arrivals.rate_per_s == 10.0 / 3600);
	assert_false(d->arrivals.has_profile);
	assert_int_equal(d->recipients.kind, DIST_FIXED);
	assert_true(d->recipients.a == 1);
	assert_true(d->size.a == 50 * 1024);
	assert_true(d->external == 0);
	assert_int_equal(d->group_members, 0);
	assert_true(d->p_send_as_denied == 0 && d->p_invalid_recipients == 0);
	assert_int_equal(d->connections, 1);
	assert_int_equal(d->messages_per_session, 1);
	assert_int_equal(d->idle_timeout_ns, 0);
	assert_int_equal(d->connect_time_ns, 300000000LL);
	assert_int_equal(d->submit_time_ns, 200000000LL);
	assert_true(d->bandwidth_bytes_per_s == 0);
	assert_int_equal(d->outbox_limit, 0);
	assert_int_equal(d->retry.max_attempts, 1);
	assert_int_equal(d->retry.base_ns, 60 * S);
	assert_true(d->retry.factor == 1);
	assert_int_equal(d->retry.jitter, JITTER_NONE);
	assert_true(d->retry.honors_permanent);
	assert_int_equal(d->route, 0);
	assert_non_null(s->source_text);
	scn_free_all(v, n, &sim_alloc_std);
}

/* ---- shipped scenarios ---------------------------------------------------- */

static void test_shipped(void **state)
{
	(void)state;
	static const struct { const char *file; size_t n; } files[] = {
		{ "scenarios/printers.yaml", 4 }, { "scenarios/alerts.yaml", 4 },
		{ "scenarios/newsletter.yaml", 4 }, { "scenarios/misconfigured-app.yaml", 3 },
		{ "scenarios/mailbox-full.yaml", 3 }, { "scenarios/basic-auth-off.yaml", 4 },
		{ "scenarios/exchange-server.yaml", 3 }, { "scenarios/trace-replay.yaml", 2 },
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		size_t n = 0;
		scenario **v = load_ok(files[i].file, &n);
		assert_int_equal(n, files[i].n);
		scn_free_all(v, n, &sim_alloc_std);
	}
}

static void test_printers_variants(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("scenarios/printers.yaml", &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[0]->variant, "base");
	assert_int_equal(v[0]->n_mailboxes, 1);
	assert_int_equal(v[0]->senders[0].mailbox, 0);
	assert_int_equal(v[0]->senders[0].retry.max_attempts, 3); /* mfp */
	assert_true(v[0]->senders[0].arrivals.has_profile);
	assert_true(v[0]->senders[0].arrivals.hour[8] == 4.0);
	assert_true(v[0]->senders[0].arrivals.hour[12] == 1.0);
	assert_true(v[0]->senders[0].arrivals.hour[3] == 0.0);
	assert_true(v[0]->senders[0].arrivals.day[5] == 0.0);
	assert_true(v[0]->senders[0].arrivals.profile_max == 4.0);
	assert_int_equal(v[0]->replications, 10);

	assert_string_equal(v[1]->variant, "mailbox-per-device");
	assert_int_equal(v[1]->n_mailboxes, 40);
	assert_int_equal(v[1]->n_pools, 1);
	assert_string_equal(v[1]->mailboxes[0].name, "scanner1@contoso.com");
	assert_string_equal(v[1]->mailboxes[39].name, "scanner40@contoso.com");
	assert_int_equal(v[1]->mailboxes[39].pool, 0);
	assert_int_equal(v[1]->senders[0].pool, 0);
	assert_int_equal(v[1]->senders[0].mailbox, -1);
	assert_int_equal(v[1]->senders[0].assign, ASSIGN_PER_INSTANCE);

	assert_int_equal(v[2]->n_mailboxes, 4);
	assert_int_equal(v[2]->senders[0].assign, ASSIGN_ROUND_ROBIN);

	const scn_retry *r = &v[3]->senders[0].retry;
	assert_int_equal(r->base_ns, 30 * S);
	assert_true(r->factor == 2);
	assert_int_equal(r->cap_ns, 900 * S);
	assert_int_equal(r->jitter, JITTER_FULL);
	assert_int_equal(r->max_attempts, 0);
	assert_int_equal(r->max_age_ns, 4 * 3600 * S);
	/* the base is untouched by the variants */
	assert_int_equal(v[0]->senders[0].retry.base_ns, 60 * S);
	scn_free_all(v, n, &sim_alloc_std);
}

static void assert_limits_equal(const scn_limits *a, const scn_limits *b)
{
	assert_memory_equal(a, b, sizeof *a);
}

static void assert_dist_equal(const scn_dist *a, const scn_dist *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_true(a->a == b->a && a->b == b->b);
	assert_int_equal(a->n, b->n);
	if (a->n) {
		assert_memory_equal(a->values, b->values, a->n * sizeof *a->values);
		assert_memory_equal(a->weights, b->weights, a->n * sizeof *a->weights);
	}
}

/* A variant overriding nothing (or setting the values the base has) equals
 * the base field by field. */
static void test_identity_variant(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("tests/data/identity.yaml", &n);
	assert_int_equal(n, 4);
	for (size_t k = 1; k <= 2; k++) {
		const scenario *a = v[0], *b = v[k];
		assert_string_equal(a->name, b->name);
		assert_int_equal(a->start_unix_s, b->start_unix_s);
		assert_int_equal(a->duration_ns, b->duration_ns);
		assert_int_equal(a->seed, b->seed);
		assert_int_equal(a->replications, b->replications);
		assert_int_equal(a->series_step_ns, b->series_step_ns);
		assert_memory_equal(&a->tenant, &b->tenant, sizeof a->tenant);
		assert_int_equal(a->n_mailboxes, b->n_mailboxes);
		assert_memory_equal(a->mailboxes, b->mailboxes, a->n_mailboxes * sizeof *a->mailboxes);
		assert_int_equal(a->n_pools, b->n_pools);
		assert_memory_equal(a->pools, b->pools, a->n_pools * sizeof *a->pools);
		assert_int_equal(a->n_routes, b->n_routes);
		for (size_t i = 0; i < a->n_routes; i++)
			assert_limits_equal(&a->routes[i].limits, &b->routes[i].limits);
		assert_int_equal(a->n_senders, b->n_senders);
		for (size_t i = 0; i < a->n_senders; i++) {
			scn_sender x = a->senders[i], y = b->senders[i];
			assert_dist_equal(&x.recipients, &y.recipients);
			assert_dist_equal(&x.size, &y.size);
			assert_dist_equal(&x.arrivals.burst_size, &y.arrivals.burst_size);
			/* the rest, with the pointers blanked */
			memset(&x.recipients, 0, sizeof x.recipients);
			memset(&y.recipients, 0, sizeof y.recipients);
			memset(&x.size, 0, sizeof x.size);
			memset(&y.size, 0, sizeof y.size);
			memset(&x.arrivals.burst_size, 0, sizeof x.arrivals.burst_size);
			memset(&y.arrivals.burst_size, 0, sizeof y.arrivals.burst_size);
			assert_memory_equal(&x, &y, sizeof x);
		}
	}
	/* and the one that changes things changes exactly those */
	const scenario *c = v[3];
	assert_string_equal(c->variant, "changed");
	assert_int_equal(c->n_mailboxes, 6);
	assert_int_equal(c->pools[0].count, 5);
	assert_int_equal(c->mailboxes[5].quota_bytes, 1LL << 30);
	assert_int_equal(c->senders[0].retry.max_attempts, 4);
	assert_int_equal(c->senders[0].retry.base_ns, 10 * S);
	assert_int_equal(c->senders[0].retry.max_age_ns, 0);
	assert_int_equal(c->mailboxes[0].limits.connections.limit, 5);
	assert_int_equal(c->tenant.licenses, 100);
	/* TERRL auto: 500 * 100^0.7 + 9500 = 22,059 (TERRL's own example) */
	assert_int_equal(c->tenant.external_recipient_limit, 22059);
	assert_int_equal(c->mailboxes[0].limits.external_rate.limit, 22059);
	assert_int_equal(v[0]->mailboxes[0].limits.connections.limit, 3);
	assert_int_equal(v[0]->senders[0].retry.max_age_ns, 5 * 86400 * S); /* postfix */
	scn_free_all(v, n, &sim_alloc_std);
}

/* ---- errors -------------------------------------------------------------- */

typedef struct bad_case {
	const char *file;
	const char *expect; /* the first error, formatted, after the path prefix */
	size_t n_errors;
} bad_case;

static void check_bad(const bad_case *bc, int expect_rc)
{
	char path[600], b[1400], want[1400];
	scenario **v = (scenario **)(uintptr_t)0x1;
	size_t n = 12345;
	scn_errors e = { 0 };
	int rc = scn_load(root_path(bc->file, path, sizeof path), &sim_alloc_std, &v, &n, &e);
	if (rc != expect_rc || e.n != bc->n_errors)
		for (size_t i = 0; i < e.n; i++) {
			scn_error_format(&e.v[i], b, sizeof b);
			print_error("  got: %s\n", b);
		}
	assert_int_equal(rc, expect_rc);
	assert_true(v == (scenario **)(uintptr_t)0x1); /* untouched */
	assert_int_equal(n, 12345);
	assert_int_equal(e.n, bc->n_errors);
	scn_error_format(&e.v[0], b, sizeof b);
	const char *dir = strrchr(path, '/');
	/* errors in a trace name the trace file */
	snprintf(want, sizeof want, "%.*s%s", dir ? (int)(dir - path + 1) : 0, path, bc->expect);
	assert_string_equal(b, want);
	scn_errors_free(&e);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	static const bad_case cases[] = {
		{ "tests/data/bad/unknown_key.yaml",
		  "unknown_key.yaml:7:7: senders.mfp.session.conections: unknown key 'conections' (did you mean 'connections'?)", 1 },
		{ "tests/data/bad/wrong_type.yaml",
		  "wrong_type.yaml:5:12: senders.mfp.count: 'many' is not a whole number", 1 },
		{ "tests/data/bad/zero_rate.yaml",
		  "zero_rate.yaml:6:16: senders.mfp.arrivals.poisson: a rate must be positive: '0/h'", 1 },
		{ "tests/data/bad/no_mailbox.yaml",
		  "no_mailbox.yaml:5:14: senders.mfp.mailbox: no mailbox or pool named 'scaner@contoso.com' (did you mean 'scanner@contoso.com'?)", 1 },
		{ "tests/data/bad/no_pool.yaml",
		  "no_pool.yaml:5:21: senders.mfp.mailbox.pool: no pool named 'printers' in mailboxes", 1 },
		{ "tests/data/bad/prob_over.yaml",
		  "prob_over.yaml:6:25: senders.app.message.external: probability '1.5' is over 1", 1 },
		{ "tests/data/bad/prob_sum.yaml",
		  "prob_sum.yaml:7:7: senders.app.faults: send_as_denied + invalid_recipients = 1.3, over 1", 1 },
		{ "tests/data/bad/trace_missing.yaml",
		  "trace_missing.yaml:6:14: senders.rec.arrivals.trace: cannot open trace file 'tests/data/bad/no-such-trace.csv': No such file or directory", 1 },
		{ "tests/data/bad/trace_bad_row.yaml",
		  "trace_bad_row.csv:4:7: senders.rec.arrivals.trace: row 3: size: 'huge' is not a size (write e.g. 400KB, 35MB, 100GB, or bytes)", 1 },
		{ "tests/data/bad/syntax.yaml",
		  "syntax.yaml:2:4: YAML syntax error: plain scalar cannot start with '@'", 1 },
		{ "tests/data/bad/bound_instances.yaml",
		  "bound_instances.yaml:5:12: senders.app.count: 20000000 exceeds the bound of 10^7", 1 },
		{ "tests/data/bad/bound_duration.yaml",
		  "bound_duration.yaml:1:11: duration: duration '1000000y' exceeds the bound of 100 years", 1 },
		{ "tests/data/bad/bound_rate.yaml",
		  "bound_rate.yaml:5:25: senders.app.arrivals.poisson: rate '2000000/s' exceeds the bound of 10^6/s", 1 },
		{ "tests/data/bad/bound_replications.yaml",
		  "bound_replications.yaml:1:15: replications: 2000000 exceeds the bound of 10^6", 1 },
		{ "tests/data/bad/variant_unknown.yaml",
		  "variant_unknown.yaml:9:7: senders.mfp.retry.max_atempts: variant 'v': unknown key 'max_atempts' (did you mean 'max_attempts'?)", 1 },
		{ "tests/data/bad/variant_value.yaml",
		  "variant_value.yaml:9:37: senders.mfp.arrivals.poisson: variant 'faster': a rate must be positive: '-4/h'", 1 },
		{ "tests/data/bad/variant_no_item.yaml",
		  "variant_no_item.yaml:9:7: senders.mpf.count: variant 'v': no item named 'mpf' in senders (did you mean 'mfp'?)", 1 },
		/* a null where run needs a value: refused by check, not by run */
		{ "tests/data/bad/null_mailbox.yaml",
		  "null_mailbox.yaml:5:5: senders.app.mailbox: expected a mailbox name or {pool: NAME}, got nothing", 1 },
		/* control characters in every kind of name: scenario, mailbox,
		 * pool, pattern, route (a key), sender, variant; a quoted
		 * scalar's position is its first character inside the quotes */
		{ "tests/data/bad/control_name.yaml",
		  "control_name.yaml:1:8: name: a name may not contain control characters (U+000A at character 9)", 7 },
		{ "tests/data/bad/many_errors.yaml",
		  "many_errors.yaml:1:1: duraton: unknown key 'duraton' (did you mean 'duration'?)", 3 },
		/* credentials: every error of these files is checked in
		 * test_credentials_errors */
		{ "tests/data/bad/creds_password.yaml",
		  "creds_password.yaml:3:15: mailboxes.a@contoso.com.password: expected a password (a text), got a list", 4 },
		{ "tests/data/bad/creds_send_as.yaml",
		  "creds_send_as.yaml:3:15: mailboxes.a@contoso.com.send_as: expected a list of addresses "
		  "(local@domain, *@domain or *), got a single value", 13 },
		/* 1001 grants on a pool: one over SCN_SEND_AS_MAX */
		{ "tests/data/bad/creds_too_many.yaml",
		  "creds_too_many.yaml:4:14: mailboxes.p.send_as: 1001 grants exceed the bound of 1000 per mailbox", 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_bad(&cases[i], SIM_ESCENARIO);
}

static void test_missing_file(void **state)
{
	(void)state;
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	assert_int_equal(scn_load("tests/data/does-not-exist.yaml", &sim_alloc_std, &v, &n, &e), SIM_EIO);
	assert_int_equal(e.n, 1);
	assert_null(v);
	char b[1400];
	scn_error_format(&e.v[0], b, sizeof b);
	assert_string_equal(b, "tests/data/does-not-exist.yaml: cannot open: No such file or directory");
	scn_errors_free(&e);
}

/* The variants bound, on a generated file. */
static void test_variants_bound(void **state)
{
	(void)state;
	char path[] = "/tmp/test_scenario_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("mailboxes: [{name: m}]\nsenders: [{name: a, arrivals: {poisson: 1/h}}]\nvariants:\n", f);
	for (int i = 0; i <= SCN_MAX_VARIANTS; i++)
		fprintf(f, "  - {name: v%d}\n", i);
	fclose(f);
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	assert_int_equal(scn_load(path, &sim_alloc_std, &v, &n, &e), SIM_ESCENARIO);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.v[0].key, "variants");
	assert_int_equal(e.v[0].line, 4);
	assert_non_null(strstr(e.v[0].message, "10001 variants exceed the bound of 10^4"));
	scn_errors_free(&e);
	remove(path);
}

/* Write text to a new temporary file; its path into path. */
static void temp_file(char *path, const char *text)
{
	strcpy(path, "/tmp/test_scenario_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_one_error(const char *path, int rc_want, const char *want)
{
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	char b[1400];
	int rc = scn_load(path, &sim_alloc_std, &v, &n, &e);
	for (size_t i = 0; i < e.n && e.n != 1; i++) {
		scn_error_format(&e.v[i], b, sizeof b);
		print_error("  got: %s\n", b);
	}
	assert_int_equal(rc, rc_want);
	assert_int_equal(e.n, 1);
	scn_error_format(&e.v[0], b, sizeof b);
	assert_string_equal(b, want);
	scn_errors_free(&e);
}

/* A FIFO as the scenario or as a trace is refused before a byte is read;
 * it used to block in open() for ever (the alarm makes that a failure). */
static void test_fifo(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_scenario_fifo_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char fifo[600], yaml[600], want[1400];
	snprintf(fifo, sizeof fifo, "%s/in.yaml", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(10);
	snprintf(want, sizeof want, "%s: not a regular file", fifo);
	expect_one_error(fifo, SIM_EIO, want);
	snprintf(yaml, sizeof yaml, "%s/s.yaml", dir);
	FILE *f = fopen(yaml, "w");
	assert_non_null(f);
	fputs("mailboxes: [{name: m}]\nsenders:\n  - name: rec\n    arrivals: {trace: in.yaml}\n", f);
	fclose(f);
	snprintf(want, sizeof want, "%s:4:23: senders.rec.arrivals.trace: trace file '%s/in.yaml' is not a regular file",
		 yaml, dir);
	expect_one_error(yaml, SIM_ESCENARIO, want);
	alarm(0);
	remove(yaml);
	remove(fifo);
	rmdir(dir);
}

/* Every variant is built from a copy of the tree: 10,000 variants of a
 * tree of 25,012 nodes (counted below by hand) pass 5 x 10^7 copied
 * nodes and are refused before the first copy, at `variants:`. */
static void test_copies_bound(void **state)
{
	(void)state;
	char path[64];
	size_t cap = 64 * 10000 + 4 * 5000 + 400, o = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o, "mailboxes: [{name: m}]\nsenders: [{name: a, arrivals: {poisson: 1/h}}]\n"
				       "x: [");
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(t + o, cap - o, "1,");
	o += (size_t)snprintf(t + o, cap - o, "1]\nvariants:\n");
	for (int i = 0; i < 10000; i++)
		o += (size_t)snprintf(t + o, cap - o, "  - {name: v%d}\n", i);
	temp_file(path, t);
	free(t);
	/* nodes: root 1; mailboxes: list, map, m = 3; senders: list, map, a,
	 * arrivals map, 1/h = 5; x: list + 5001 items = 5,002; variants:
	 * list + 10,000 x (map + name) = 20,001: 25,012 nodes x 10^4 copies
	 * > 5 x 10^7; reported at the list (line 5, "  - ...") */
	char want[1400];
	snprintf(want, sizeof want, "%s:5:3: variants: 10000 scenarios built from copies of the file's 25012 YAML nodes "
		 "exceed the loader's bound of 50000000 copied nodes (fewer variants or sweep points, or a smaller file)", path);
	expect_one_error(path, SIM_ESCENARIO, want);
	remove(path);
}

/* At most SCN_MAX_ERRORS problems are kept, and one entry counts the
 * rest: 150 unknown keys give 100 entries and "50 more". */
static void test_errors_capped(void **state)
{
	(void)state;
	char path[64], *t = malloc(150 * 16 + 100);
	size_t o = (size_t)sprintf(t, "mailboxes: [{name: m}]\nsenders: [{name: a, arrivals: {poisson: 1/h}}]\n");
	for (int i = 0; i < 150; i++)
		o += (size_t)sprintf(t + o, "zz%d: 1\n", i);
	temp_file(path, t);
	free(t);
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	assert_int_equal(scn_load(path, &sim_alloc_std, &v, &n, &e), SIM_ESCENARIO);
	assert_int_equal(e.n, SCN_MAX_ERRORS + 1);
	assert_int_equal(e.v[0].line, 3);
	assert_int_equal(e.v[SCN_MAX_ERRORS - 1].line, 3 + SCN_MAX_ERRORS - 1);
	assert_string_equal(e.v[SCN_MAX_ERRORS].message, "50 more problems not listed (only the first 100 are)");
	assert_int_equal(e.v[SCN_MAX_ERRORS].line, 0);
	scn_errors_free(&e);
	remove(path);
}

static void test_trace(void **state)
{
	(void)state;
	size_t n;
	scenario **v = load_ok("scenarios/trace-replay.yaml", &n);
	const scn_arrivals *ar = &v[0]->senders[0].arrivals;
	assert_int_equal(ar->kind, ARR_TRACE);
	assert_int_equal(ar->trace_len, 200);
	assert_int_equal(v[0]->senders[0].count, 5); /* five labels */
	for (size_t i = 1; i < ar->trace_len; i++)
		assert_true(ar->trace[i - 1].time_ns <= ar->trace[i].time_ns);
	for (size_t i = 0; i < ar->trace_len; i++) {
		assert_true(ar->trace[i].instance >= 0 && ar->trace[i].instance < 5);
		assert_true(ar->trace[i].external <= ar->trace[i].recipients);
	}
	assert_int_equal(v[1]->senders[0].arrivals.trace_len, 200);
	scn_free_all(v, n, &sim_alloc_std);
}

/* ---- allocation failure walk ----------------------------------------------- */

static void walk(const char *rel)
{
	char path[600];
	root_path(rel, path, sizeof path);
	for (long k = 1;; k++) {
		sim_alloc_failing st = { 0 };
		st.fail_at = k;
		sim_alloc a = sim_alloc_failing_make(&st);
		scenario **v = (scenario **)(uintptr_t)0x1;
		size_t n = 777;
		scn_errors e = { 0 };
		int rc = scn_load(path, &a, &v, &n, &e);
		scn_errors_free(&e);
		if (rc == 0) {
			assert_true(n >= 1);
			scn_free_all(v, n, &a);
			assert_int_equal(st.live, 0);
			assert_int_equal(st.bytes, 0);
			break;
		}
		assert_int_equal(rc, SIM_ENOMEM);
		assert_true(v == (scenario **)(uintptr_t)0x1);
		assert_int_equal(n, 777);
		assert_int_equal(st.live, 0);
		assert_int_equal(st.bytes, 0);
		assert_true(k < 1000000);
	}
}

static void test_alloc_walk(void **state)
{
	(void)state;
	walk("scenarios/printers.yaml");
	walk("scenarios/trace-replay.yaml");
	walk("tests/data/identity.yaml");
	walk("tests/data/creds.yaml");
}

/* ---- credentials (password, send_as) --------------------------------------- */

/* tests/data/creds.yaml: mailboxes in file order are scanner (0), the
 * pool mfp (1..3), app (4), grants-only (5). */
static void test_credentials(void **state)
{
	(void)state;
	size_t n = 0;
	scenario **v = load_ok("tests/data/creds.yaml", &n);
	assert_int_equal(n, 4);
	const scenario *b = v[0];
	assert_int_equal(b->n_mailboxes, 6);
	/* blocks: scanner, mfp, grants-only (send_as: [] takes a slot but
	 * holds nothing) */
	assert_int_equal(b->n_creds, 3);
	const scn_mailbox *sc = &b->mailboxes[0];
	assert_string_equal(sc->password, "s3cret pass");
	assert_int_equal(sc->n_send_as, 2);
	assert_string_equal(sc->send_as[0], "Reception@Contoso.com"); /* as written */
	assert_string_equal(sc->send_as[1], "*@fabrikam.com");
	/* one block: 2 pointers, then "s3cret pass" (12 with its NUL),
	 * "Reception@Contoso.com" (22), "*@fabrikam.com" (15) */
	assert_int_equal(b->creds[0].bytes, 2 * sizeof(char *) + 12 + 22 + 15);
	assert_true((const char *)b->creds[0].mem + 2 * sizeof(char *) == sc->password);
	/* the pool's members share one block: 1 pointer, "pool-pw", "*" */
	assert_int_equal(b->creds[1].bytes, sizeof(char *) + 8 + 2);
	for (size_t i = 1; i <= 3; i++) {
		const scn_mailbox *m = &b->mailboxes[i];
		assert_int_equal(m->pool, 0);
		assert_true(m->password == b->mailboxes[1].password);
		assert_true(m->send_as == b->mailboxes[1].send_as);
		assert_string_equal(m->password, "pool-pw");
		assert_int_equal(m->n_send_as, 1);
		assert_string_equal(m->send_as[0], "*");
	}
	for (size_t i = 4; i <= 5; i++) {
		assert_null(b->mailboxes[i].password);
		assert_null(b->mailboxes[i].send_as);
		assert_int_equal(b->mailboxes[i].n_send_as, 0);
	}
	assert_null(b->creds[2].mem);
	assert_int_equal(b->creds[2].bytes, 0);

	/* a variant that replaces mailboxes: has what its list says */
	const scenario *r = v[1];
	assert_string_equal(r->variant, "replaced");
	assert_int_equal(r->n_mailboxes, 3);
	assert_int_equal(r->n_creds, 1);
	assert_string_equal(r->mailboxes[0].password, "other");
	assert_int_equal(r->mailboxes[0].n_send_as, 0);
	assert_null(r->mailboxes[0].send_as);
	for (size_t i = 1; i <= 2; i++) {
		assert_null(r->mailboxes[i].password);
		assert_int_equal(r->mailboxes[i].n_send_as, 0);
	}
	/* password: null clears the password and keeps the grants */
	const scenario *np = v[2];
	assert_string_equal(np->variant, "no-password");
	assert_null(np->mailboxes[0].password);
	assert_int_equal(np->mailboxes[0].n_send_as, 2);
	assert_string_equal(np->mailboxes[0].send_as[1], "*@fabrikam.com");
	assert_string_equal(np->mailboxes[1].password, "pool-pw");
	/* new grants for the pool, its password kept; each scenario has
	 * its own copy */
	const scenario *g = v[3];
	assert_string_equal(g->variant, "new-grants");
	for (size_t i = 1; i <= 3; i++) {
		assert_string_equal(g->mailboxes[i].password, "pool-pw");
		assert_int_equal(g->mailboxes[i].n_send_as, 1);
		assert_string_equal(g->mailboxes[i].send_as[0], "*@contoso.com");
	}
	assert_true(g->mailboxes[0].password != b->mailboxes[0].password);
	assert_string_equal(g->mailboxes[0].password, "s3cret pass");
	/* check has nothing to say about them */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(scn_lint(v[i], NULL, 0), 0);
	scn_free_all(v, n, &sim_alloc_std);
}

/* Every error of a file, formatted, after the path prefix. */
static void expect_errors(const char *rel, const char *const *want, size_t nwant)
{
	char path[600], b[1400], w[1400];
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	int rc = scn_load(root_path(rel, path, sizeof path), &sim_alloc_std, &v, &n, &e);
	assert_int_equal(rc, SIM_ESCENARIO);
	for (size_t i = 0; i < e.n && e.n != nwant; i++) {
		scn_error_format(&e.v[i], b, sizeof b);
		print_error("  got: %s\n", b);
	}
	assert_int_equal(e.n, nwant);
	const char *dir = strrchr(path, '/');
	for (size_t i = 0; i < nwant; i++) {
		scn_error_format(&e.v[i], b, sizeof b);
		snprintf(w, sizeof w, "%.*s%s", dir ? (int)(dir - path + 1) : 0, path, want[i]);
		assert_string_equal(b, w);
	}
	scn_errors_free(&e);
}

/* Each refusal at its value: a quoted scalar's position is its first
 * character inside the quotes; a grant's key is its index in the list. */
static void test_credentials_errors(void **state)
{
	(void)state;
	static const char *const pw[] = {
		"creds_password.yaml:3:15: mailboxes.a@contoso.com.password: expected a password (a text), got a list",
		"creds_password.yaml:5:16: mailboxes.b@contoso.com.password: a password may not be empty "
		"(leave it out to take any password)",
		/* a pool's: "  - {pool: p, count: 2, name_pattern: \"p{i}@contoso.com\", password: \"" is 69 */
		"creds_password.yaml:6:70: mailboxes.p.password: a password may not contain control characters "
		"(U+0009 at character 3)",
		"creds_password.yaml:8:15: mailboxes.c@contoso.com.password: a password is at most 256 bytes, "
		"this one has 257",
	};
	expect_errors("tests/data/bad/creds_password.yaml", pw, sizeof pw / sizeof pw[0]);
#define NOT_ADDR(line, col, i, a) \
	"creds_send_as.yaml:" #line ":" #col ": mailboxes.b@contoso.com.send_as[" #i "]: '" a \
	"' is not an address: write local@domain, *@domain or *"
	static const char *const sa[] = {
		"creds_send_as.yaml:3:15: mailboxes.a@contoso.com.send_as: expected a list of addresses "
		"(local@domain, *@domain or *), got a single value",
		/* send_as[0], ok@contoso.com, is fine */
		NOT_ADDR(7, 9, 1, "no-at-sign"),
		NOT_ADDR(8, 9, 2, "two@@contoso.com"),
		NOT_ADDR(9, 10, 3, "@contoso.com"),
		NOT_ADDR(10, 10, 4, "x@"),
		NOT_ADDR(11, 10, 5, "a*@contoso.com"),
		NOT_ADDR(12, 10, 6, "*@*.contoso.com"),
		NOT_ADDR(13, 10, 7, "*@.contoso.com"),
		NOT_ADDR(14, 10, 8, "x@contoso.com."),
		NOT_ADDR(15, 10, 9, "<x@contoso.com>"),
		NOT_ADDR(16, 10, 10, "x y@contoso.com"),
		"creds_send_as.yaml:17:9: mailboxes.b@contoso.com.send_as[11]: expected an address "
		"(local@domain, *@domain or *), got a mapping",
		"creds_send_as.yaml:18:10: mailboxes.b@contoso.com.send_as[12]: an address may not contain control "
		"characters (U+0085 at character 2)",
	};
#undef NOT_ADDR
	expect_errors("tests/data/bad/creds_send_as.yaml", sa, sizeof sa / sizeof sa[0]);
}

/* The bounds, each side: a password of 256 bytes and 1000 grants are
 * taken; an address of 254 bytes is taken and one of 255 refused. */
static void test_credentials_bounds(void **state)
{
	(void)state;
	char path[64], want[1400];
	size_t cap = 1000 * 24 + 2048, o = 0;
	char *t = malloc(cap);
	assert_non_null(t);
	o += (size_t)snprintf(t + o, cap - o, "mailboxes:\n  - name: m@contoso.com\n    password: ");
	for (int i = 0; i < SCN_PASSWORD_MAX; i++)
		t[o++] = (char)('a' + i % 26);
	o += (size_t)snprintf(t + o, cap - o, "\n    send_as: [");
	for (int i = 0; i < SCN_SEND_AS_MAX; i++)
		o += (size_t)snprintf(t + o, cap - o, "%sg%d@contoso.com", i ? ", " : "", i);
	/* 254 = 'a' x 242 + "@contoso.com" (12) */
	o += (size_t)snprintf(t + o, cap - o, "]\n  - name: n@contoso.com\n    send_as: [%0242d@contoso.com]\n"
			      "senders: [{name: a, mailbox: m@contoso.com, arrivals: {poisson: 1/h}}]\n", 0);
	temp_file(path, t);
	scenario **v = NULL;
	size_t n = 0;
	scn_errors e = { 0 };
	int rc = scn_load(path, &sim_alloc_std, &v, &n, &e);
	for (size_t i = 0; i < e.n; i++) {
		scn_error_format(&e.v[i], want, sizeof want);
		print_error("  got: %s\n", want);
	}
	scn_errors_free(&e);
	assert_int_equal(rc, 0);
	const scn_mailbox *m = &v[0]->mailboxes[0];
	assert_int_equal(strlen(m->password), 256);
	assert_int_equal(m->password[255], 'a' + 255 % 26);
	assert_int_equal(m->n_send_as, 1000);
	assert_string_equal(m->send_as[999], "g999@contoso.com");
	assert_int_equal(strlen(v[0]->mailboxes[1].send_as[0]), 254);
	scn_free_all(v, n, &sim_alloc_std);
	remove(path);

	snprintf(t, cap, "mailboxes:\n  - name: n@contoso.com\n    send_as: [%0243d@contoso.com]\n"
		 "senders: [{name: a, arrivals: {poisson: 1/h}}]\n", 0);
	temp_file(path, t);
	free(t);
	snprintf(want, sizeof want, "%s:3:15: mailboxes.n@contoso.com.send_as[0]: an address is at most 254 bytes, "
		 "this one has 255", path);
	expect_one_error(path, SIM_ESCENARIO, want);
	remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_sizes_and_others),
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_printers_variants),
		cmocka_unit_test(test_identity_variant),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_variants_bound),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_copies_bound),
		cmocka_unit_test(test_errors_capped),
		cmocka_unit_test(test_alloc_walk),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_credentials_errors),
		cmocka_unit_test(test_credentials_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
