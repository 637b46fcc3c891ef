/* cmd_plan.c - `throttlesim plan`: the smallest (or largest) integer value
 * of one scenario key for which a target on the figures holds, found by
 * bisection.
 *
 *   throttlesim plan FILE --vary KEY --range A..B --target EXPR
 *                   [--largest] [--variant NAME] [--replications N]
 *                   [--seed N] [--duration D] [--jobs N] [--engine E] [--quiet]
 *
 * EXPR is a conjunction: `FIGURE OP VALUE [and FIGURE OP VALUE ...]`, OP
 * one of <= < >= > == !=, VALUE a number or a duration (5m, 30s) for
 * delays.  FIGURE is a figure of the whole scenario (results.h), judged on
 * its mean over replications; `p95_delivery_delay` is accepted for
 * `delivery_delay_p95` and so on.
 *
 * Bisection is exact only if the target is monotone in the key (false then
 * true for the smallest, true then false with --largest); the command says
 * so, and reports the figures at the answer and at its neighbour, so a
 * reader can see the step.  Each value tried runs every replication with
 * the same seeds (common random numbers), which keeps the comparison of
 * neighbouring values sharp.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "exit.h"
#include "driver.h"
#include "report.h"
#include "scn_budget.h"
#include "scn_load.h"
#include "res_summary.h"
#include "stats.h"
#include "units.h"
#include "term.h"


#define MAX_TERMS 8

typedef enum { OP_LE, OP_LT, OP_GE, OP_GT, OP_EQ, OP_NE } cmp_op;

typedef struct term {
	int fig;
	cmp_op op;
	double value;
} term;

typedef struct plan_opts {
	const char *path, *key, *variant, *target;
	int64_t lo, hi;
	bool largest;
	bool have_range;
	uint64_t budget;        /* --memory-budget, per trial */
	cli_run_opts run;
	term terms[MAX_TERMS];
	int n_terms;
} plan_opts;

static const char plan_usage[] =
	"usage: throttlesim plan FILE --vary KEY --range A..B --target EXPR [options]\n"
	"\n"
	"Finds the smallest integer value of KEY in [A, B] for which the target\n"
	"holds (with --largest, the largest), by bisection: it assumes the target\n"
	"is monotone in KEY, and shows the figures at the answer and its neighbour.\n"
	"\n"
	"  --vary KEY         a scenario key, dotted as in variants: senders.mfp.count,\n"
	"                     mailboxes.scanners.count, limits.message_rate_limit\n"
	"  --range A..B       integers, A <= B\n"
	"  --target EXPR      e.g. 'delivery_delay_p95 <= 5m and lost == 0'; figures of\n"
	"                     the whole scenario, means over replications\n"
	"  --largest          the largest value meeting the target\n"
	"  --variant NAME     plan for this variant instead of the base\n"
	"  --memory-budget B  as for run: refuse a trial that would need more (default 4G)\n"
	"  --replications N, --seed N, --duration D, --jobs N, --engine E, --quiet\n"
	"                     as for run\n";

/* "p95_delivery_delay" -> "delivery_delay_p95"; also mean/max prefixes. */
static int find_figure(const char *name, size_t len)
{
	char buf[96];
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, name, len);
	buf[len] = 0;
	for (int f = 0; f < FIG_COUNT; f++)
		if (strcmp(res_fig_info[f].name, buf) == 0)
			return f;
	const char *us = strchr(buf, '_');
	if (us) {
		char alt[200];
		snprintf(alt, sizeof alt, "%s_%.*s", us + 1, (int)(us - buf), buf);
		for (int f = 0; f < FIG_COUNT; f++)
			if (strcmp(res_fig_info[f].name, alt) == 0)
				return f;
	}
	return -1;
}

static int parse_target(const char *s, plan_opts *o)
{
	const char *p = s;
	o->n_terms = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *name = p;
		while (*p && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
		size_t len = (size_t)(p - name);
		if (len == 0) {
			term_eprintf("throttlesim plan: --target: expected a figure name at '%s'\n", name);
			return -1;
		}
		int fig = find_figure(name, len);
		if (fig < 0) {
			term_eprintf("throttlesim plan: --target: unknown figure '%.*s'; figures are:", (int)len, name);
			for (int f = 0; f < FIG_COUNT; f++)
				term_eprintf("%s%s", f ? ", " : " ", res_fig_info[f].name);
			term_eprintf("\n");
			return -1;
		}
		while (*p == ' ')
			p++;
		cmp_op op;
		if (strncmp(p, "<=", 2) == 0) op = OP_LE, p += 2;
		else if (strncmp(p, ">=", 2) == 0) op = OP_GE, p += 2;
		else if (strncmp(p, "==", 2) == 0) op = OP_EQ, p += 2;
		else if (strncmp(p, "!=", 2) == 0) op = OP_NE, p += 2;
		else if (*p == '<') op = OP_LT, p++;
		else if (*p == '>') op = OP_GT, p++;
		else {
			term_eprintf("throttlesim plan: --target: expected <=, <, >=, >, == or != after '%s'\n",
				res_fig_info[fig].name);
			return -1;
		}
		while (*p == ' ')
			p++;
		const char *v = p;
		while (*p && *p != ' ')
			p++;
		char val[64];
		if (p == v || (size_t)(p - v) >= sizeof val) {
			term_eprintf("throttlesim plan: --target: expected a value after the comparison\n");
			return -1;
		}
		memcpy(val, v, (size_t)(p - v));
		val[p - v] = 0;
		double x;
		char *end;
		errno = 0;
		x = strtod(val, &end);
		if (errno || *end) {
			int64_t ns;
			char err[128];
			if (strcmp(res_fig_info[fig].unit, "s") != 0 ||
			    unit_parse_duration(val, &ns, err, sizeof err) != 0) {
				term_eprintf("throttlesim plan: --target: '%s' is not a number%s\n", val,
					strcmp(res_fig_info[fig].unit, "s") == 0 ? " or a duration" : "");
				return -1;
			}
			x = (double)ns / 1e9;
		}
		if (o->n_terms == MAX_TERMS) {
			term_eprintf("throttlesim plan: --target: at most %d conditions\n", MAX_TERMS);
			return -1;
		}
		o->terms[o->n_terms++] = (term){ fig, op, x };
		while (*p == ' ')
			p++;
		if (*p == 0)
			return 0;
		if (strncmp(p, "and ", 4) != 0 && strncmp(p, "&& ", 3) != 0) {
			term_eprintf("throttlesim plan: --target: expected 'and' at '%s'\n", p);
			return -1;
		}
		p += p[0] == 'a' ? 4 : 3;
	}
}

static bool holds(const plan_opts *o, const double *mean)
{
	for (int i = 0; i < o->n_terms; i++) {
		double x = mean[o->terms[i].fig], y = o->terms[i].value;
		bool ok;
		if (isnan(x))
			return false; /* undefined (e.g. no message delivered) never meets a target */
		switch (o->terms[i].op) {
		case OP_LE: ok = x <= y; break;
		case OP_LT: ok = x < y; break;
		case OP_GE: ok = x >= y; break;
		case OP_GT: ok = x > y; break;
		case OP_EQ: ok = x == y; break;
		default: ok = x != y; break;
		}
		if (!ok)
			return false;
	}
	return true;
}

enum { PLAN_VARY, PLAN_RANGE, PLAN_TARGET, PLAN_VARIANT, PLAN_LARGEST, PLAN_BUDGET, PLAN_SHARED };

/* --range A..B */
static int parse_range(const char *val, plan_opts *o)
{
	const char *dots = strstr(val, "..");
	char lo[32];
	if (dots == NULL || (size_t)(dots - val) >= sizeof lo) {
		term_eprintf("throttlesim plan: --range: expected A..B, got '%s'\n", val);
		return -1;
	}
	memcpy(lo, val, (size_t)(dots - val));
	lo[dots - val] = 0;
	if (cli_parse_int("plan", "--range", lo, INT64_MIN / 4, INT64_MAX / 4, &o->lo) ||
	    cli_parse_int("plan", "--range", dots + 2, INT64_MIN / 4, INT64_MAX / 4, &o->hi))
		return -1;
	if (o->lo > o->hi) {
		term_eprintf("throttlesim plan: --range: A must not exceed B ('%s')\n", val);
		return -1;
	}
	o->have_range = true;
	return 0;
}

static int plan_option(void *ctx, int id, const char *opt, const char *val)
{
	plan_opts *o = ctx;
	switch (id) {
	case CLI_ARG:
		if (o->path) {
			term_eprintf("throttlesim plan: one scenario file at a time\n");
			return -1;
		}
		o->path = val;
		return 0;
	case PLAN_VARY: o->key = val; return 0;
	case PLAN_RANGE: return parse_range(val, o);
	case PLAN_TARGET:
		o->target = val;
		return parse_target(val, o) ? -1 : 0;
	case PLAN_VARIANT: o->variant = val; return 0;
	case PLAN_LARGEST: o->largest = true; return 0;
	case PLAN_BUDGET: return cli_memory_budget("plan", val, &o->budget);
	default: return cli_run_option("plan", opt, val, &o->run);
	}
}

/* -1 error (printed), 0 go on, 1 help printed. */
static int parse_args(int argc, char **argv, plan_opts *o)
{
	static const cli_opt opts[] = {
		{ "--vary", NULL, true, PLAN_VARY }, { "--range", NULL, true, PLAN_RANGE },
		{ "--target", NULL, true, PLAN_TARGET }, { "--variant", NULL, true, PLAN_VARIANT },
		{ "--largest", NULL, false, PLAN_LARGEST }, { "--memory-budget", NULL, true, PLAN_BUDGET },
		CLI_RUN_OPTIONS(PLAN_SHARED),
	};
	*o = (plan_opts){ .budget = SCN_DEFAULT_MEMORY_BUDGET };
	cli_run_opts_init(&o->run);
	int p = cli_parse("plan", plan_usage, opts, sizeof opts / sizeof opts[0], argc, argv, plan_option, o);
	if (p != 0)
		return p;
	if (!o->path || !o->key || !o->have_range || !o->target) {
		term_eprintf("throttlesim plan: FILE, --vary, --range and --target are all needed (try plan --help)\n");
		return -1;
	}
	cli_run_opts_finish(&o->run);
	return 0;
}

/* The figures (means over replications, whole scenario) at one value.
 * Returns 0, or an exit status after printing why. */
static int evaluate(const plan_opts *o, int64_t x, double *mean, int64_t *reps_out)
{
	char value[32];
	snprintf(value, sizeof value, "%lld", (long long)x);
	scn_override ov = { o->key, value, o->variant };
	scenario **v;
	size_t n;
	scn_errors errs = { 0 };
	int rc = scn_load_ex(o->path, &sim_alloc_std, &ov, 1, &v, &n, &errs);
	if (rc != SIM_OK) {
		char with[256];
		snprintf(with, sizeof with, " (with %s = %s)", o->key, value);
		int status = cli_load_failed(o->path, rc, &errs, with);
		scn_errors_free(&errs);
		return status;
	}
	scn_errors_free(&errs);
	size_t pick = 0;
	if (o->variant) {
		pick = n;
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i]->variant, o->variant) == 0)
				pick = i;
		if (pick == n) {
			term_eprintf("%s: no variant named '%s'\n", o->path, o->variant);
			scn_free_all(v, n, &sim_alloc_std);
			return EXIT_USAGE;
		}
	}
	scenario *s = v[pick];
	cli_apply_run_opts(&o->run, s);
	/* the same memory budget as run (models/scn_budget.h) */
	rc = scn_budget_check(&s, 1, o->run.jobs > 0 ? (int)o->run.jobs : 1, o->budget, &errs);
	if (rc != SIM_OK) {
		char with[256];
		snprintf(with, sizeof with, " (with %s = %s)", o->key, value);
		int status = cli_load_failed(o->path, rc, &errs, with);
		scn_errors_free(&errs);
		scn_free_all(v, n, &sim_alloc_std);
		return status;
	}
	res_rep **reps = NULL;
	char err[512];
	drv_opts d = { .kind = o->run.kind, .jobs = o->run.jobs, .progress = false };
	rc = drv_run(&s, 1, &d, &reps, err, sizeof err);
	if (rc != SIM_OK) {
		term_eprintf("throttlesim plan: %s = %s: %s\n", o->key, value, err);
		scn_free_all(v, n, &sim_alloc_std);
		return EXIT_FAIL;
	}
	for (int f = 0; f < FIG_COUNT; f++)
		mean[f] = res_summarize_value(reps[0], (size_t)s->replications, RES_TOTAL, 0, RES_FIG, f).mean;
	*reps_out = s->replications;
	drv_free(reps, &s, 1);
	scn_free_all(v, n, &sim_alloc_std);
	return 0;
}

static void show(const plan_opts *o, int64_t x, const double *mean, bool ok)
{
	term_printf("  %s = %lld: target %s\n", o->key, (long long)x, ok ? "met" : "NOT met");
	for (int i = 0; i < o->n_terms; i++) {
		int f = o->terms[i].fig;
		char buf[32];
		if (strcmp(res_fig_info[f].unit, "s") == 0)
			rpt_format_duration(mean[f], buf, sizeof buf);
		else
			snprintf(buf, sizeof buf, "%.4g", mean[f]);
		term_printf("    %-24s %s\n", res_fig_info[f].name, buf);
	}
	char a[32], b[32];
	rpt_format_duration(mean[FIG_DEL_DELAY_P95], a, sizeof a);
	rpt_format_duration(mean[FIG_SUB_DELAY_P95], b, sizeof b);
	term_printf("    (accepted %.6g, lost %.6g, p95 submission %s, p95 delivery %s)\n",
	            mean[FIG_ACCEPTED], mean[FIG_LOST], b, a);
}

int cmd_plan(int argc, char **argv)
{
	plan_opts o;
	int p = parse_args(argc, argv, &o);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	/* want(x): the target holds at x.  Smallest: false ... false true ... true;
	 * largest: true ... true false ... false. */
	double m_lo[FIG_COUNT], m_hi[FIG_COUNT], m_mid[FIG_COUNT];
	int64_t reps = 0;
	int rc;
	int64_t lo = o.lo, hi = o.hi;
	if (!o.run.quiet)
		term_eprintf("trying %s = %lld and %lld\n", o.key, (long long)lo, (long long)hi);
	if ((rc = evaluate(&o, lo, m_lo, &reps)) || (rc = evaluate(&o, hi, m_hi, &reps)))
		return rc;
	bool ok_lo = holds(&o, m_lo), ok_hi = holds(&o, m_hi);
	term_printf("plan: %s %s in [%lld, %lld] with %s (%lld replications each)\n",
	            o.largest ? "largest" : "smallest", o.key, (long long)o.lo, (long long)o.hi, o.target,
	            (long long)reps);
	term_printf("  (bisection: assumes the target is %s as %s grows)\n",
	            o.largest ? "met, then not met" : "not met, then met", o.key);
	bool found_edge = o.largest ? ok_lo : ok_hi;
	if (!found_edge) {
		term_printf("no value in the range meets the target; at %s = %lld:\n", o.key,
		            (long long)(o.largest ? lo : hi));
		show(&o, o.largest ? lo : hi, o.largest ? m_lo : m_hi, false);
		return 0;
	}
	if (!o.largest && ok_lo) {
		term_printf("answer: %s = %lld (the bottom of the range already meets the target)\n", o.key, (long long)lo);
		show(&o, lo, m_lo, true);
		return 0;
	}
	if (o.largest && ok_hi) {
		term_printf("answer: %s = %lld (the top of the range still meets the target)\n", o.key, (long long)hi);
		show(&o, hi, m_hi, true);
		return 0;
	}
	/* Invariant: smallest: !holds(lo) && holds(hi); largest: holds(lo) && !holds(hi). */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (!o.run.quiet)
			term_eprintf("trying %s = %lld\n", o.key, (long long)mid);
		if ((rc = evaluate(&o, mid, m_mid, &reps)))
			return rc;
		bool ok = holds(&o, m_mid);
		if (ok != o.largest) {
			hi = mid;
			memcpy(m_hi, m_mid, sizeof m_mid);
		} else {
			lo = mid;
			memcpy(m_lo, m_mid, sizeof m_mid);
		}
	}
	if (o.largest) {
		term_printf("answer: %s = %lld\n", o.key, (long long)lo);
		show(&o, lo, m_lo, true);
		term_printf("neighbour:\n");
		show(&o, hi, m_hi, false);
	} else {
		term_printf("answer: %s = %lld\n", o.key, (long long)hi);
		show(&o, hi, m_hi, true);
		term_printf("neighbour:\n");
		show(&o, lo, m_lo, false);
	}
	return 0;
}
