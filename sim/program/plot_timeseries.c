/* plot_timeseries.c - the time-series chart of `throttlesim plot`: per
 * variant, the mean over its replications (the store's mean series):
 * accepted, released and lost per minute against the message-rate limit,
 * refusals per minute by reply class, outbox backlog, open sessions
 * against the concurrency limit, and the error-throttle periods shaded
 * (plots/timeseries.gp, docs/PLOTS.md).  The x axis is the scenario's
 * clock (its zone's offset at the start), zoomed to the active window
 * unless --from/--to say otherwise.
 *
 * The limit line is the variant's own: the sum, over its mailboxes, of
 * each one's resolved concurrency limit when that limit counts per mailbox
 * (res_limits of the stored description).  A run whose store does not
 * hold limits (schema 1), or whose mailboxes have none per mailbox, gets
 * no line rather than a guessed one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_int.h"
#include "report.h"
#include "status.h"
#include "term.h"
#include "units.h"

/* The variant's concurrency limit line (0: none) and its label.  Only
 * mailboxes whose limit counts per mailbox add to it; the label says the
 * limit per mailbox, how many mailboxes, and when the limits differ or
 * some mailboxes have none (on a second line: the legend is 300 pixels wide). */
static int64_t concurrency_limit(const res_desc *d, char *label, size_t size)
{
	int64_t sum = 0, lo = 0, hi = 0;
	size_t n = 0, all = d ? d->n_mailboxes : 0;
	for (size_t m = 0; m < all; m++) {
		const res_limits *lim = &d->mailboxes[m].limits;
		if (lim->concurrency <= 0 || lim->concurrency_scope != SCOPE_MAILBOX)
			continue;
		if (n == 0 || lim->concurrency < lo)
			lo = lim->concurrency;
		if (n == 0 || lim->concurrency > hi)
			hi = lim->concurrency;
		sum += lim->concurrency;
		n++;
	}
	label[0] = 0;
	if (n == 0)
		return 0;
	char per[64], rest[96] = "";
	if (lo == hi)
		snprintf(per, sizeof per, "%lld", (long long)lo);
	else
		snprintf(per, sizeof per, "%lld to %lld", (long long)lo, (long long)hi);
	if (n < all)
		snprintf(rest, sizeof rest, "\n(%zu of %zu mailboxes limited)", n, all);
	if (n == 1)
		snprintf(label, size, "concurrency limit, %s per mailbox%s", per, rest);
	else if (lo == hi)
		snprintf(label, size, "concurrency limit, %s x %zu mailboxes%s", per, n, rest);
	else
		snprintf(label, size, "concurrency limit, %lld in all\n(%s per mailbox, %zu mailboxes)%s",
		         (long long)sum, per, n, rest);
	return sum;
}

/* The variant's message-rate limit as messages per minute, summed over
 * its mailboxes (0: none), and its label.  The limit caps what is
 * released (delay mode) or accepted (reject mode) per window. */
static double rate_limit(const res_desc *d, char *label, size_t size)
{
	double sum = 0, lo = 0, hi = 0;
	size_t n = 0, all = d ? d->n_mailboxes : 0;
	for (size_t m = 0; m < all; m++) {
		const res_limits *lim = &d->mailboxes[m].limits;
		if (lim->message_rate <= 0 || lim->message_rate_window_ns <= 0)
			continue;
		double per_min = (double)lim->message_rate * 60e9 / (double)lim->message_rate_window_ns;
		if (n == 0 || per_min < lo)
			lo = per_min;
		if (n == 0 || per_min > hi)
			hi = per_min;
		sum += per_min;
		n++;
	}
	label[0] = 0;
	if (n == 0)
		return 0;
	if (n == 1)
		snprintf(label, size, "message rate limit, %g/min per mailbox", lo);
	else if (lo == hi)
		snprintf(label, size, "message rate limit, %g/min x %zu mailboxes", lo, n);
	else
		snprintf(label, size, "message rate limit, %g/min in all\n(%g to %g per mailbox)", sum, lo, hi);
	return sum;
}

/* The limit lines of one entity (--entity): a mailbox's own limits; a
 * group's route's, per mailbox, times the mailboxes it may use (it may
 * share them with other groups: the label says so).  As rate_limit and
 * concurrency_limit, 0 for none. */
static void entity_limits(const plot_ctx *c, const plot_variant *v, const replay_variant *rp, double *rate,
                          char *rlabel, int64_t *conc, char *clabel, size_t size)
{
	const res_desc *d = v->rv->desc;
	const res_limits *lim = NULL;
	int64_t n = 1;
	*rate = 0;
	*conc = 0;
	rlabel[0] = clabel[0] = 0;
	if (d && c->ent_kind == RES_MAILBOX && rp->index < d->n_mailboxes)
		lim = &d->mailboxes[rp->index].limits;
	if (d && c->ent_kind == RES_GROUP && rp->index < d->n_groups) {
		lim = &d->groups[rp->index].limits;
		n = rp->mailboxes_used > 0 ? rp->mailboxes_used : 1;
	}
	if (lim == NULL)
		return;
	/* As the whole scenario's labels, short enough for the legend (about
	 * 44 characters at the PNG's font); sharing on a second line. */
	char whose[64];
	if (c->ent_kind == RES_MAILBOX)
		snprintf(whose, sizeof whose, "%s", "");
	else if (n == 1)
		snprintf(whose, sizeof whose, " (its mailbox)");
	else
		snprintf(whose, sizeof whose, " x %lld mailboxes", (long long)n);
	const char *shared = c->ent_kind == RES_GROUP && rp->mailboxes_shared ? "\n(shared with other senders)" : "";
	if (lim->message_rate > 0 && lim->message_rate_window_ns > 0) {
		double per_min = (double)lim->message_rate * 60e9 / (double)lim->message_rate_window_ns;
		*rate = per_min * (double)n;
		snprintf(rlabel, size, "message rate limit, %g/min%s%s", per_min, whose, shared);
	}
	if (lim->concurrency > 0 && lim->concurrency_scope == SCOPE_MAILBOX) {
		*conc = lim->concurrency * n;
		snprintf(clabel, size, "concurrency limit, %lld%s%s", (long long)lim->concurrency, whose, shared);
	}
}

/* One variant's mean series as the chart needs it. */
typedef struct ts_data {
	const store_series *ser;
	const replay_variant *rp;   /* --entity: the replay drawn; NULL: the whole scenario */
	double step_s;
	bool occurs[RC_COUNT];      /* reply classes refused at least once */
	int n_classes;
	size_t from, to;            /* the steps drawn, [from, to) */
	double t0;                  /* clock time of step 0, as gnuplot time (s) */
	plot_sbuf periods;          /* error-throttle periods, "from to ..." (gnuplot time) */
	int n_periods;
} ts_data;

/* Whether anything happened in step i. */
static bool active(const store_series_row *r)
{
	if (r->accepted > 0 || r->released > 0 || r->lost > 0 || r->backlog > 0 || r->open_sessions > 0)
		return true;
	for (int c = 0; c < RC_COUNT; c++)
		if (r->rejected_by[c] > 0)
			return true;
	return false;
}

/* --from/--to: a duration since the start ("90m", "1h30m") or a clock
 * time of the start day in the scenario's zone ("08:30", "8:30:15").
 * Seconds since the start in *s; 0 or -1 (not a time). */
static int parse_when(const char *v, const res_desc *d, double *s)
{
	int h, m, sec = 0, k = 0;
	if ((sscanf(v, "%d:%d%n", &h, &m, &k) == 2 && v[k] == 0) ||
	    (sscanf(v, "%d:%d:%d%n", &h, &m, &sec, &k) == 3 && v[k] == 0)) {
		if (h < 0 || h > 24 || m < 0 || m > 59 || sec < 0 || sec > 59)
			return -1;
		int64_t off = d ? d->start_utc_offset_s : 0, start = d ? d->start_unix_s : 0;
		int64_t local = start + off, midnight = local - ((local % 86400) + 86400) % 86400;
		*s = (double)(midnight + h * 3600 + m * 60 + sec - local);
		return 0;
	}
	int64_t ns;
	char err[128];
	if (unit_parse_duration(v, &ns, err, sizeof err) != SIM_OK)
		return -1;
	*s = (double)ns / 1e9;
	return 0;
}

/* The steps drawn: --from/--to when given, else the active window (first
 * to last step with activity) with a margin of a tenth of it, at least
 * two steps, each side.  0 or EXIT_USAGE. */
static int zoom(const plot_ctx *c, const res_desc *d, ts_data *t)
{
	const store_series *ser = t->ser;
	size_t first = ser->n, last = 0;
	for (size_t i = 0; i < ser->n; i++)
		if (active(&ser->rows[i])) {
			if (first == ser->n)
				first = i;
			last = i;
		}
	if (first == ser->n) {
		first = 0;
		last = ser->n - 1;
	}
	size_t margin = (last - first + 1) / 10;
	margin = margin < 2 ? 2 : margin;
	t->from = first > margin ? first - margin : 0;
	t->to = last + 1 + margin < ser->n ? last + 1 + margin : ser->n;
	for (int k = 0; k < 2; k++) {
		const char *v = k == 0 ? c->o->from : c->o->to;
		if (v == NULL)
			continue;
		double s;
		if (parse_when(v, d, &s) != 0) {
			term_eprintf("throttlesim plot: --%s: expected a clock time (08:30) or a duration since"
			             " the start (90m), got '%s'\n", k == 0 ? "from" : "to", v);
			return EXIT_USAGE;
		}
		double step = s / t->step_s;
		if (!(step >= 0 && step <= (double)ser->n)) {
			term_eprintf("throttlesim plot: --%s %s is outside the run (0 to %g h after its start)\n",
			             k == 0 ? "from" : "to", v, (double)ser->n * t->step_s / 3600.0);
			return EXIT_USAGE;
		}
		if (k == 0)
			t->from = (size_t)floor(step);
		else
			t->to = (size_t)ceil(step);
	}
	if (t->to <= t->from) {
		term_eprintf("throttlesim plot: --from must come before --to\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* The data file: one row per step of the window; throttle periods merged
 * across steps (a step is shaded when a mailbox was throttled at its end
 * in some replication: the mean is above 0). */
static int write_series(const plot_ctx *c, const plot_variant *v, ts_data *t, const char *name)
{
	FILE *f = plot_open_data(c, name);
	if (f == NULL)
		return EXIT_FAIL;
	fprintf(f, "# throttlesim run %lld, variant %zu '", (long long)c->run_id, v->idx);
	plot_put_text(f, v->name);
	if (t->rp) {
		fputs("', ", f);
		plot_put_text(f, c->ent_label);
		fputs(" (replayed", f);
	}
	fprintf(f, "%s, mean of %lld replications; step %g s\n"
	        "# clock_s min_since_start accepted_per_min released_per_min lost_per_min backlog"
	        " open_sessions throttled_mailboxes", t->rp ? ")" : "'", (long long)t->ser->n_reps, t->step_s);
	for (int r = 1; r < RC_COUNT; r++)
		if (t->occurs[r])
			fprintf(f, " rejected_%s_per_min", rpt_reply_id(r));
	fputc('\n', f);
	double per_min = 60.0 / t->step_s, thr_from = -1;
	for (size_t i = t->from; i < t->to; i++) {
		const store_series_row *row = &t->ser->rows[i];
		double tc = t->t0 + (double)i * t->step_s;
		fprintf(f, "%.0f %.10g", tc, (double)i * t->step_s / 60.0);
		plot_put_num(f, row->accepted * per_min);
		plot_put_num(f, row->released * per_min);
		plot_put_num(f, t->ser->has_lost ? row->lost * per_min : NAN);
		plot_put_num(f, t->rp && !t->rp->backlog_defined ? NAN : row->backlog);
		plot_put_num(f, row->open_sessions);
		plot_put_num(f, row->throttled);
		for (int r = 1; r < RC_COUNT; r++)
			if (t->occurs[r])
				plot_put_num(f, row->rejected_by[r] * per_min);
		fputc('\n', f);
		bool throttled = row->throttled > 0;
		if (throttled && thr_from < 0)
			thr_from = tc;
		if (!throttled && thr_from >= 0) {
			plot_sb_printf(&t->periods, "%.0f %.0f ", thr_from, tc);
			thr_from = -1;
			t->n_periods++;
		}
	}
	if (thr_from >= 0) {
		plot_sb_printf(&t->periods, "%.0f %.0f ", thr_from, t->t0 + (double)t->to * t->step_s);
		t->n_periods++;
	}
	return plot_close_data(c, f, name);
}

/* The script's variables: window, clock, refusal classes, limits, throttle periods. */
static void series_vars(const plot_ctx *c, const plot_variant *v, const ts_data *t, plot_sbuf *b)
{
	const res_desc *d = v->rv->desc;
	plot_gp_num(b, "xmin", t->t0 + (double)t->from * t->step_s);
	plot_gp_num(b, "xmax", t->t0 + (double)t->to * t->step_s);
	plot_gp_int(b, "lost_stored", t->ser->has_lost);
	char xl[256];
	if (d && d->start_unix_s != 0) {
		int off = d->start_utc_offset_s, a = off < 0 ? -off : off;
		/* UTC is said once; a named zone gets its offset at the start */
		if (d->timezone[0] == 0 || (strcmp(d->timezone, "UTC") == 0 && off == 0))
			snprintf(xl, sizeof xl, "clock time, UTC");
		else
			snprintf(xl, sizeof xl, "clock time, %s (UTC%c%02d:%02d)", d->timezone,
			         off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
	} else {
		snprintf(xl, sizeof xl, "time since start (h:min)");
	}
	plot_gp_str(b, "xlabel", xl);
	plot_gp_int(b, "nclass", t->n_classes);
	int k = 0;
	for (int r = 1; r < RC_COUNT; r++) {
		if (!t->occurs[r])
			continue;
		char name[32], label[96];
		snprintf(name, sizeof name, "cname%d", ++k);
		/* "432 concurrency": the code people see in logs (the reply as
		 * given), then the class. */
		const char *id = rpt_reply_id(r);
		char code[16];
		rpt_reply_label(v->rv, r, code, sizeof code);
		if (code[0] >= '0' && code[0] <= '9')
			snprintf(label, sizeof label, "%s %s", code, id);
		else /* a label that is no code ("msg rate") would repeat the class */
			snprintf(label, sizeof label, "%s", id);
		for (char *p = label; *p; p++)
			if (*p == '_')
				*p = ' ';
		plot_gp_str(b, name, label);
	}
	char llabel[320];
	if (t->rp) {
		/* The entity's own limits, and panels that say whose counts they are. */
		char rlabel[320];
		double rate;
		int64_t conc;
		entity_limits(c, v, t->rp, &rate, rlabel, &conc, llabel, sizeof llabel);
		plot_gp_int(b, "limit", (long long)conc);
		plot_gp_lines(b, "limitlabel", llabel);
		plot_gp_num(b, "ratelimit", rate);
		plot_gp_lines(b, "ratelabel", rlabel);
		bool group = c->ent_kind == RES_GROUP;
		plot_gp_int(b, "backlog_defined", t->rp->backlog_defined);
		plot_gp_lines(b, "backlogtitle", group ? "its messages not yet accepted or lost"
		                                      : "messages not yet accepted or lost");
		plot_gp_str(b, "sessionstitle", group ? "open sessions (its connections)" : "open sessions (this mailbox)");
		plot_gp_str(b, "throttletitle", group ? "error-throttle period (a mailbox it uses)"
		                                      : "error-throttle period");
	} else {
		plot_gp_int(b, "limit", (long long)concurrency_limit(d, llabel, sizeof llabel));
		plot_gp_lines(b, "limitlabel", llabel);
		plot_gp_num(b, "ratelimit", rate_limit(d, llabel, sizeof llabel));
		plot_gp_lines(b, "ratelabel", llabel);
	}
	plot_gp_int(b, "nperiods", t->n_periods);
	plot_gp_str(b, "periods", t->periods.s ? t->periods.s : "");
}

static int chart_one(plot_ctx *c, size_t vi)
{
	const plot_variant *v = &c->v[vi];
	ts_data t = { .ser = c->l->series ? &c->l->series[v->idx] : NULL };
	if (c->ent) {
		t.rp = plot_replayed(c, vi);
		if (t.rp == NULL) {
			term_printf("note: variant '%s' has no %s: no time series chart\n", v->name, c->ent_label);
			return 0;
		}
		t.ser = &t.rp->series;
	}
	if (t.ser == NULL || t.ser->rows == NULL || t.ser->n == 0) {
		term_printf("note: variant '%s' has no time series in run %lld: no time series chart\n", v->name,
		       (long long)c->run_id);
		return 0;
	}
	const res_desc *d = v->rv->desc;
	t.step_s = t.ser->step_ns > 0 ? (double)t.ser->step_ns / 1e9 : 60.0;
	t.t0 = d ? (double)d->start_unix_s + d->start_utc_offset_s : 0;
	int rc = zoom(c, d, &t);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < t.ser->n; i++)
		for (int r = 1; r < RC_COUNT; r++)
			if (t.ser->rows[i].rejected_by[r] > 0 && !t.occurs[r]) {
				t.occurs[r] = true;
				t.n_classes++;
			}
	char sname[64], ename[80], data[256], img[256];
	plot_safe_name(v->name, sname, sizeof sname);
	plot_ent_suffix(c, ename, sizeof ename);
	snprintf(data, sizeof data, "timeseries-%zu-%s%s.dat", v->idx, sname, ename);
	snprintf(img, sizeof img, "timeseries-%zu-%s%s.%s", v->idx, sname, ename, c->o->format);
	if (write_series(c, v, &t, data) != 0) {
		free(t.periods.s);
		return EXIT_FAIL;
	}
	char title[640], vname[320];
	/* A sweep's variants share their names: the point says which. */
	if (v->has_point && v->key) {
		const char *k = strrchr(v->key, '.');
		snprintf(vname, sizeof vname, "%s, %s = %g", v->name, k ? k + 1 : v->key, v->value);
	} else {
		snprintf(vname, sizeof vname, "%s", v->name);
	}
	if (c->ent)
		snprintf(title, sizeof title, "%s, variant %s, %s\nmean of %lld replications (run %lld, replayed)",
		         c->scenario_name, vname, c->ent_label, (long long)t.ser->n_reps, (long long)c->run_id);
	else
		snprintf(title, sizeof title, "%s, variant %s: mean of %lld replications (run %lld)", c->scenario_name,
		         vname, (long long)t.ser->n_reps, (long long)c->run_id);
	plot_sbuf b = { 0 };
	plot_gp_common(c, &b, data, img, title);
	if (t.periods.oom)
		b.oom = true;
	series_vars(c, v, &t, &b);
	free(t.periods.s);
	int ret = plot_render(c, "timeseries", &b, data, img);
	free(b.s);
	return ret;
}

int plot_chart_timeseries(plot_ctx *c)
{
	if (c->o->variant == NULL && c->is_sweep && c->o->chart != PLOT_TIMESERIES) {
		printf("note: run %lld is a sweep of %zu variants: time series only with --variant NAME"
		       " or --chart timeseries\n", (long long)c->run_id, c->n_v);
		return 0;
	}
	int ret = 0;
	for (size_t i = 0; i < c->n_v && ret == 0; i++)
		if (c->o->variant == NULL || strcmp(c->o->variant, c->v[i].name) == 0)
			ret = chart_one(c, i);
	return ret;
}
