/* report_table.c - the table for an 80-column terminal, the comparison of
 * variants and the sweep table.  Contracts in report.h. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "report_int.h"
#include "term.h"
#include "res_summary.h"
#include "stats.h"
#include "status.h"

/* ---- table ---------------------------------------------------------------------- */

#define TBL_WIDTH 80
#define TBL_INDENT 4
#define TBL_LABEL 12
#define TBL_CELL 25

/* A line of cells laid out greedily: a cell that does not fit the line's
 * 80 columns starts a new one, so no line is longer than 80 columns as
 * long as each cell is at most 76. */
typedef struct line {
	FILE *f;
	size_t col;
	size_t pad;   /* spaces owed before the next cell on this line */
} line;

static void line_end(line *l)
{
	if (l->col > 0)
		fputc('\n', l->f);
	l->col = 0;
	l->pad = 0;
}

/* Appends a cell of text padded to width columns (at least one space
 * before the next cell); padding is written only when another cell follows
 * on the same line, so lines carry no trailing blanks. */
static void line_cell(line *l, const char *text, size_t width)
{
	size_t w = rpt__columns(text);
	if (l->col > TBL_INDENT && l->col + l->pad + w > TBL_WIDTH)
		line_end(l);
	if (l->col == 0) {
		fprintf(l->f, "%*s", TBL_INDENT, "");
		l->col = TBL_INDENT;
	} else {
		fprintf(l->f, "%*s", (int)l->pad, "");
		l->col += l->pad;
	}
	fputs(text, l->f);
	l->col += w;
	l->pad = w < width ? width - w : 1;
}
typedef enum cell_kind { CELL_COUNT, CELL_DURATION } cell_kind;

/* The step between two values as the table prints a mean (the branches
 * of rpt__format_number and rpt_format_duration, report.c).  A whole
 * count below 100 prints without decimals, but its neighbours would
 * print with them (2 beside 2.35), so its step is theirs. */
static double shown_step(double mean, cell_kind kind)
{
	double a = fabs(mean);
	if (!isfinite(a))
		return 0;
	if (kind == CELL_DURATION) {
		return a < 0.9995 ? 0.001 : a < 9.95 ? 0.1 : a < 3599.5 ? 1 : a < 86370 ? 60
		     : a < 1e12 ? 3600 : pow(10, floor(log10(a)) - 2);
	}
	return a >= 1e7 ? pow(10, floor(log10(a)) - 2) : a >= 100 ? 1 : a >= 10 ? 0.1
	     : a >= 0.01 || a == 0 ? 0.01 : pow(10, floor(log10(a)) - 1);
}

/* A half-width below half the step of its mean's printed form is shown
 * as 0: it says the interval is narrower than the printed precision.
 * Replications that agree give sums that differ in the last bit, and
 * "0.30 ± 1e-17" was that rounding noise, not an interval. */
static double shown_half(double mean, double half, cell_kind kind)
{
	return isfinite(half) && fabs(half) < shown_step(mean, kind) / 2 ? 0 : half;
}

static void summary_text(st_summary s, cell_kind kind, char *buf, size_t size)
{
	char m[32], h[32];
	s.half = shown_half(s.mean, s.half, kind);
	if (kind == CELL_DURATION) {
		rpt_format_duration(s.mean, m, sizeof m);
		rpt_format_duration(s.half, h, sizeof h);
	} else {
		rpt__format_number(s.mean, m, sizeof m);
		rpt__format_number(s.half, h, sizeof h);
	}
	if (isnan(s.half))
		snprintf(buf, size, "%s", m);
	else
		snprintf(buf, size, "%s \xc2\xb1 %s", m, h);
}

/* How a figure is shown: a duration if its unit is seconds. */
static cell_kind cell_of(int fig)
{
	return strcmp(res_fig_info[fig].unit, "s") == 0 ? CELL_DURATION : CELL_COUNT;
}

static void table_cell(line *l, const char *label, st_summary s, cell_kind kind)
{
	char value[80], cell[128];
	summary_text(s, kind, value, sizeof value);
	snprintf(cell, sizeof cell, "%-*s%s", TBL_LABEL, label, value);
	line_cell(l, cell, TBL_CELL);
}

static void table_entity(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index)
{
	char name[SCN_NAME_MAX + 8], shown[96];
	line l = { f, 0, 0 };
	rpt_entity_name(v->desc, (int)k, index, name, sizeof name);
	rpt__truncate_name(name, 60, shown, sizeof shown);
	if (k == RES_TOTAL)
		fprintf(f, "  total\n");
	else
		fprintf(f, "  %s %s\n", res_entity_kind_name(k), shown);

#define S(fig) res_summarize_value(v->reps, v->n_reps, k, index, RES_FIG, (fig))
	int figs[FIG_COUNT];
	size_t nf = rpt__key_figures(RES_K_TABLE, figs);
	for (size_t i = 0; i < nf; i++) {
		table_cell(&l, res_fig_info[figs[i]].label, S(figs[i]), cell_of(figs[i]));
		if (i % 3 == 2 || i + 1 == nf)
			line_end(&l);
	}

	/* Loss reasons: the kinds, then the three commonest last replies. */
	st_summary lost = S(FIG_LOST);
	if (lost.mean > 0) {
		static const struct { int fig; const char *label; } kinds[] = {
			{ FIG_LOST_GAVE_UP, "gave up" }, { FIG_LOST_OUTBOX_OVERFLOW, "overflow" },
			{ FIG_LOST_PERMANENT, "permanent" }, { FIG_LOST_ABORTED, "aborted" },
			{ FIG_BELIEVED_SENT, "believed sent" },
		};
		struct { char label[16]; double mean; } item[sizeof kinds / sizeof kinds[0] + 3];
		size_t n = 0;
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
			double mean = S(kinds[i].fig).mean;
			if (mean > 0) {
				snprintf(item[n].label, sizeof item[n].label, "%s", kinds[i].label);
				item[n++].mean = mean;
			}
		}
		double m[RC_COUNT];
		for (int c = 0; c < RC_COUNT; c++)
			m[c] = res_summarize_value(v->reps, v->n_reps, k, index, RES_LOST_BY, c).mean;
		for (int t = 0; t < 3; t++) {
			int best = -1;
			for (int c = 0; c < RC_COUNT; c++)
				if (m[c] > 0 && (best < 0 || m[c] > m[best]))
					best = c;
			if (best < 0)
				break;
			rpt_reply_label(v, best, item[n].label, sizeof item[n].label);
			item[n++].mean = m[best];
			m[best] = 0;
		}
		line_cell(&l, "lost by", TBL_LABEL);
		for (size_t i = 0; i < n; i++) {
			char num[32], cell[64];
			rpt__format_number(item[i].mean, num, sizeof num);
			snprintf(cell, sizeof cell, "%.15s %.31s%s", item[i].label, num, i + 1 < n ? "," : "");
			line_cell(&l, cell, rpt__columns(cell) + 1);
		}
		line_end(&l);
		/* What the application reports: a refusal whose reply it
		 * discarded is a message it counts as sent. */
		double believed = S(FIG_BELIEVED_SENT).mean;
		if (believed > 0) {
			char num[32], cell[96];
			rpt__format_number(S(FIG_ACCEPTED).mean + believed, num, sizeof num);
			snprintf(cell, sizeof cell, "%s (accepted + believed sent)", num);
			line_cell(&l, "app says", TBL_LABEL);
			line_cell(&l, cell, rpt__columns(cell) + 1);
			line_end(&l);
		}
	}
#undef S
}

/* ---- what the counts cover ------------------------------------------------------- */

/* A simulated length in words: "1 day", "7 days", "6 hours", "90
 * minutes", "45 seconds", else as rpt_format_duration ("1.5s"). */
static void length_text(int64_t ns, char *buf, size_t size)
{
	static const struct { int64_t s; const char *one, *many; } units[] = {
		{ 86400, "day", "days" }, { 3600, "hour", "hours" }, { 60, "minute", "minutes" },
		{ 1, "second", "seconds" },
	};
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		int64_t unit_ns = units[u].s * 1000000000LL;
		if (ns % unit_ns == 0) {
			int64_t k = ns / unit_ns;
			snprintf(buf, size, "%lld %s", (long long)k, k == 1 ? units[u].one : units[u].many);
			return;
		}
	}
	rpt_format_duration((double)ns / 1e9, buf, size);
}

/* The line that says what a count in the table covers: the figures are
 * totals over one replication's simulated length, which is a day only
 * when the scenario says so (a 6-hour run's "accepted 600" is not 600 a
 * day).  Nothing when the length is unknown (0). */
static void counts_line(FILE *f, int64_t duration_ns)
{
	char len[48];
	if (duration_ns <= 0)
		return;
	length_text(duration_ns, len, sizeof len);
	const int64_t day_ns = 86400LL * 1000000000LL;
	if (duration_ns == day_ns)
		fprintf(f, "  counts: totals over the %s simulated, so per day\n", len);
	else if (duration_ns % day_ns == 0)
		fprintf(f, "  counts: totals over the %s simulated (per day: divide by %lld)\n", len,
		        (long long)(duration_ns / day_ns));
	else
		fprintf(f, "  counts: totals over the %s simulated, not per day\n", len);
}

/* ---- sweeps ---------------------------------------------------------------------- */

static int sweep_table(FILE *f, const rpt_run *run);

int rpt_table(FILE *f, const rpt_run *run)
{
	if (f == NULL || run == NULL || (run->n_variants > 0 && run->variants == NULL))
		return SIM_EINVAL;
	char shown[96], version[40];
	rpt__truncate_name(run->scenario_name ? run->scenario_name : "", 40, shown, sizeof shown);
	rpt__truncate_name(run->version ? run->version : "?", 20, version, sizeof version);
	fprintf(f, "throttlesim %s  scenario %s  seed %" PRIu64 "\n", version, shown, run->seed);
	const res_desc *d0 = run->n_variants > 0 ? run->variants[0].desc : NULL;
	if (d0 && d0->timezone[0] && strcmp(d0->timezone, "UTC") != 0) {
		/* the scenario's clock: its start in local time, with the offset */
		time_t local = (time_t)(d0->start_unix_s + d0->start_utc_offset_s);
		struct tm tm;
		char when[32], zone[64];
		int32_t off = d0->start_utc_offset_s, a = off < 0 ? -off : off;
		if (gmtime_r(&local, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm) > 0) {
			term_copy(zone, sizeof zone, d0->timezone);
			fprintf(f, "start %s %c%02d:%02d %s\n", when, off < 0 ? '-' : '+', (int)(a / 3600),
			        (int)(a % 3600 / 60), zone);
		}
	}
	if (rpt__run_is_sweep(run)) { /* a block per point and variant would be too long */
		for (size_t vi = 0; vi < run->n_variants; vi++)
			if (run->variants[vi].n_reps == 0 || run->variants[vi].reps == NULL)
				return SIM_EINVAL;
		sweep_table(f, run);
		return ferror(f) ? SIM_EIO : SIM_OK;
	}
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		if (v->n_reps == 0 || v->reps == NULL)
			return SIM_EINVAL;
		char head[256], len[48] = "";
		int64_t dur = v->desc ? v->desc->duration_ns : 0;
		if (dur > 0) {
			length_text(dur, len, sizeof len - 12);
			strcat(len, " simulated, ");
		}
		rpt__truncate_name(v->name ? v->name : "", 40, shown, sizeof shown);
		snprintf(head, sizeof head, "\n== %s: %s%zu replication%s ", shown, len, v->n_reps,
		         v->n_reps == 1 ? "" : "s");
		fputs(head, f);
		for (size_t c = rpt__columns(head) - 1; c < 78; c++)
			fputc('=', f);
		fputc('\n', f);
		counts_line(f, dur);
		if (v->n_reps > 1)
			fprintf(f, "  (mean \xc2\xb1 95%% half-width over replications)\n");

		table_entity(f, v, RES_TOTAL, 0);
		const res_rep *r0 = &v->reps[0];
		for (size_t g = 0; g < r0->n_groups; g++)
			table_entity(f, v, RES_GROUP, g);

		size_t nm = r0->n_mailboxes;
		if (nm <= 10) {
			for (size_t m = 0; m < nm; m++)
				table_entity(f, v, RES_MAILBOX, m);
		} else {
			/* The five mailboxes that lost most (ties: most throttled
			 * time, then scenario order). */
			size_t worst[5];
			double wl[5], wt[5];
			size_t nw = 0;
			for (size_t m = 0; m < nm; m++) {
				double lo = res_summarize_value(v->reps, v->n_reps, RES_MAILBOX, m, RES_FIG, FIG_LOST).mean;
				double th = res_summarize_value(v->reps, v->n_reps, RES_MAILBOX, m, RES_FIG, FIG_THROTTLE_TIME).mean;
				if (isnan(lo)) lo = -1;
				if (isnan(th)) th = -1;
				size_t pos = nw;
				while (pos > 0 && (lo > wl[pos - 1] || (lo == wl[pos - 1] && th > wt[pos - 1])))
					pos--;
				if (pos >= 5)
					continue;
				size_t last = nw < 5 ? nw : 4;
				for (size_t j = last; j > pos; j--) {
					worst[j] = worst[j - 1];
					wl[j] = wl[j - 1];
					wt[j] = wt[j - 1];
				}
				worst[pos] = m;
				wl[pos] = lo;
				wt[pos] = th;
				if (nw < 5)
					nw++;
			}
			fprintf(f, "  %zu mailboxes; the %zu that lost most (all in JSON/CSV):\n", nm, nw);
			for (size_t j = 0; j < nw; j++)
				table_entity(f, v, RES_MAILBOX, worst[j]);
		}

		/* Paired differences against the first variant (the base). */
		if (vi > 0 && run->variants[0].n_reps == v->n_reps) {
			const rpt_variant *b = &run->variants[0];
			bool same = true;
			for (size_t i = 0; i < v->n_reps; i++)
				if (v->reps[i].seed != b->reps[i].seed)
					same = false;
			if (same) {
				line l = { f, 0, 0 };
				rpt__truncate_name(b->name ? b->name : "", 30, shown, sizeof shown);
				fprintf(f, "  difference from %s (paired)\n", shown);
				int d[FIG_COUNT];
				size_t nd = rpt__key_figures(RES_K_DIFF, d);
				for (size_t i = 0; i < nd; i++) {
					st_summary s = res_paired_value(v->reps, b->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, d[i]);
					table_cell(&l, res_fig_info[d[i]].label, s, cell_of(d[i]));
					if (i % 3 == 2)
						line_end(&l);
				}
				line_end(&l);
			}
		}
	}
	if (run->n_variants > 1)
		rpt_compare(f, run);
	return ferror(f) ? SIM_EIO : SIM_OK;
}

/* ---- comparison of variants ------------------------------------------------- */

/* The comparison's columns: the catalog's RES_K_COMPARE figures, whose
 * labels fit CMP_COL - 1 columns. */
#define CMP_NAME 20
#define CMP_COL 10

static void compare_value(FILE *f, double x, cell_kind kind, bool sign)
{
	char buf[40], out[48];
	if (kind == CELL_DURATION)
		rpt_format_duration(x, buf, sizeof buf);
	else
		rpt__format_number(x, buf, sizeof buf);
	snprintf(out, sizeof out, "%s%s", sign && x > 0 ? "+" : "", buf);
	fprintf(f, "%*s", CMP_COL, out);
}

/* One row: a label, then one value per column (mean, half, ...). */
static void compare_row(FILE *f, const char *label, const st_summary *s, bool half, bool sign)
{
	char shown[64];
	rpt__truncate_name(label, CMP_NAME - 1, shown, sizeof shown);
	fprintf(f, "%-*s", CMP_NAME - 1 + (int)(strlen(shown) - rpt__columns(shown)), shown);
	int cols[FIG_COUNT];
	size_t nc = rpt__key_figures(RES_K_COMPARE, cols);
	for (size_t c = 0; c < nc; c++) {
		double x = half ? shown_half(s[c].mean, s[c].half, cell_of(cols[c])) : s[c].mean;
		if (half && isnan(x))
			fprintf(f, "%*s", CMP_COL, "");
		else
			compare_value(f, x, cell_of(cols[c]), sign && !half);
	}
	fputc('\n', f);
}

/* The column headings of the comparison. */
static void compare_header(FILE *f)
{
	int cols[FIG_COUNT];
	size_t nc = rpt__key_figures(RES_K_COMPARE, cols);
	fprintf(f, "%-*s", CMP_NAME - 1, "variant");
	for (size_t c = 0; c < nc; c++)
		fprintf(f, "%*s", CMP_COL, res_fig_info[cols[c]].label);
	fputc('\n', f);
}

/* A variant's rows: its figures, their half-widths, and, when it has the
 * same seeds as b (and is not b), its paired difference from b. */
static void compare_variant(FILE *f, const char *name, const rpt_variant *v, const rpt_variant *b)
{
	int cols[FIG_COUNT];
	size_t nc = rpt__key_figures(RES_K_COMPARE, cols);
	st_summary s[FIG_COUNT], d[FIG_COUNT];
	for (size_t c = 0; c < nc; c++)
		s[c] = res_summarize_value(v->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, cols[c]);
	compare_row(f, name, s, false, false);
	if (v->n_reps > 1)
		compare_row(f, "  \xc2\xb1", s, true, false);
	bool paired = v != b && v->n_reps == b->n_reps && v->n_reps > 0;
	for (size_t i = 0; paired && i < v->n_reps; i++)
		if (v->reps[i].seed != b->reps[i].seed)
			paired = false;
	if (!paired)
		return;
	for (size_t c = 0; c < nc; c++)
		d[c] = res_paired_value(v->reps, b->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, cols[c]);
	compare_row(f, "  \xce\x94", d, false, true);
	if (v->n_reps > 1)
		compare_row(f, "  \xc2\xb1", d, true, false);
}

/* Rows are variants; columns the key figures of the whole scenario, each
 * with its 95% half-width, then each variant's paired difference from the
 * base (common random numbers make it much tighter than the difference of
 * two independent intervals). */
int rpt_compare(FILE *f, const rpt_run *run)
{
	if (f == NULL || run == NULL || run->n_variants == 0 || run->variants == NULL)
		return SIM_EINVAL;
	if (rpt__run_is_sweep(run))
		return sweep_table(f, run);
	const rpt_variant *b = &run->variants[0];
	fprintf(f, "\n== comparison of variants (whole scenario) ");
	for (int c = 44; c < 79; c++)
		fputc('=', f);
	fprintf(f, "\n  each figure: mean, then \xc2\xb1 its 95%% half-width; \xce\x94: paired difference\n"
		   "  from %s, with its \xc2\xb1\n", b->name ? b->name : "the base");
	compare_header(f);
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		compare_variant(f, v->name ? v->name : "?", v, b);
	}
	return ferror(f) ? SIM_EIO : SIM_OK;
}

/* The swept values of a point, "k = v" or "k1 = v1, k2 = v2", cut to fit. */
static void sweep_label(const res_desc *s, char *buf, size_t size)
{
	char full[2 * SCN_NAME_MAX + 80];
	int w = 0;
	for (int k = 0; k < s->n_sweep_keys && w >= 0 && (size_t)w < sizeof full; k++) {
		char key[SCN_NAME_MAX];
		snprintf(key, sizeof key, "%.*s", SCN_NAME_MAX - 1, s->sweep_key[k]);
		w += snprintf(full + w, sizeof full - (size_t)w, "%s%s = %.15g", k ? ", " : "", key, s->sweep_value[k]);
	}
	rpt__truncate_name(full, TBL_WIDTH - 4, buf, size); /* after "-- " */
}

/* A row per point and variant: the key figures of the whole scenario
 * (mean, then its 95% half-width), and each variant's paired difference
 * from the base at the same point (common random numbers).  Points in
 * run order, each under a line naming its swept values. */
static int sweep_table(FILE *f, const rpt_run *run)
{
	size_t npoints = 0, reps = run->variants[0].n_reps;
	bool same_reps = true;
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		if (vi == 0 || rpt__sweep_point_of(&run->variants[vi]) != rpt__sweep_point_of(&run->variants[vi - 1]))
			npoints++;
		if (run->variants[vi].n_reps != reps)
			same_reps = false;
	}
	char head[160];
	size_t per = run->n_variants / npoints;
	int w = per * npoints == run->n_variants
		? snprintf(head, sizeof head, "\n== sweep: %zu point%s x %zu variant%s", npoints,
		           npoints == 1 ? "" : "s", per, per == 1 ? "" : "s")
		: snprintf(head, sizeof head, "\n== sweep: %zu point%s", npoints, npoints == 1 ? "" : "s");
	if (same_reps && w > 0 && (size_t)w < sizeof head)
		w += snprintf(head + w, sizeof head - (size_t)w, ", %zu replication%s each", reps, reps == 1 ? "" : "s");
	/* one length for the whole table, when every entry has the same */
	int64_t dur = run->variants[0].desc ? run->variants[0].desc->duration_ns : 0;
	for (size_t vi = 1; vi < run->n_variants && dur > 0; vi++)
		if (!run->variants[vi].desc || run->variants[vi].desc->duration_ns != dur)
			dur = 0;
	if (dur > 0 && w > 0 && (size_t)w < sizeof head) {
		char len[48];
		length_text(dur, len, sizeof len);
		snprintf(head + w, sizeof head - (size_t)w, ", %s simulated", len);
	}
	fputs(head, f);
	fputc(' ', f);
	for (size_t c = rpt__columns(head); c < 79; c++)
		fputc('=', f);
	fputc('\n', f);
	counts_line(f, dur);
	fprintf(f, "  each figure: mean, then \xc2\xb1 its 95%% half-width; \xce\x94: paired difference\n"
		   "  from the base at the same point, with its \xc2\xb1\n");
	compare_header(f);
	size_t first = 0; /* the current point's first entry */
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		int64_t pt = rpt__sweep_point_of(v);
		if (vi == 0 || pt != rpt__sweep_point_of(&run->variants[vi - 1])) {
			char label[96];
			first = vi;
			if (pt >= 0)
				sweep_label(v->desc, label, sizeof label);
			else
				snprintf(label, sizeof label, "(not a sweep point)");
			fprintf(f, "-- %s\n", label);
		}
		/* the base of this point: the entry named "base", else its first */
		const rpt_variant *b = &run->variants[first];
		for (size_t j = first; j < run->n_variants && rpt__sweep_point_of(&run->variants[j]) == pt; j++)
			if (run->variants[j].name && strcmp(run->variants[j].name, "base") == 0) {
				b = &run->variants[j];
				break;
			}
		compare_variant(f, v->name ? v->name : "?", v, b);
	}
	return ferror(f) ? SIM_EIO : SIM_OK;
}

