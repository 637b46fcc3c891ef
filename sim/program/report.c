/* report.c - table, JSON and CSV writers of a run's results.
 * Contracts in report.h. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "res_summary.h"
#include "stats.h"
#include "status.h"

/* ---- reply classes ------------------------------------------------------ */

const char *rpt_reply_short(int c)
{
	const rpl_class_info *r = rpl_class(c);
	return r ? r->label : NULL;
}

const char *rpt_reply_id(int c)
{
	const rpl_class_info *r = rpl_class(c);
	return r ? r->id : NULL;
}

int rpt_reply_code(int c)
{
	const rpl_class_info *r = rpl_class(c);
	return r ? r->code : 0;
}

/* The reply a variant's results show for class c (res_variant_reply),
 * with the catalog's code when the route gives none (250, the 535s). */
static int variant_reply_code(const rpt_variant *v, int c)
{
	const res_reply *r = res_variant_reply(v->desc, v->reps, v->n_reps, c);
	return r->code > 0 ? r->code : rpt_reply_code(c);
}

static const char *variant_reply_text(const rpt_variant *v, int c)
{
	return res_variant_reply(v->desc, v->reps, v->n_reps, c)->text;
}

/* ---- names and numbers ---------------------------------------------------- */

void rpt_entity_name(const res_desc *d, int kind, size_t index, char *buf, size_t size)
{
	const char *name = NULL;
	if (size == 0)
		return;
	if (kind == RES_TOTAL)
		name = "total";
	else if (kind == RES_GROUP && d && index < d->n_groups && d->groups)
		name = d->groups[index].name;
	else if (kind == RES_MAILBOX && d && index < d->n_mailboxes && d->mailboxes)
		name = d->mailboxes[index].name;
	if (name != NULL) {
		const char *nul = memchr(name, '\0', SCN_NAME_MAX);
		size_t n = nul ? (size_t)(nul - name) : SCN_NAME_MAX;
		if (n >= size)
			n = size - 1;
		memcpy(buf, name, n);
		buf[n] = '\0';
	} else {
		snprintf(buf, size, "%c%zu", kind == RES_GROUP ? 'g' : 'm', index);
	}
}

void rpt_format_duration(double s, char *buf, size_t size)
{
	if (isnan(s)) {
		snprintf(buf, size, "-");
		return;
	}
	const char *sign = s < 0 ? "-" : "";
	s = fabs(s);
	if (isinf(s)) {
		snprintf(buf, size, "%sinf", sign);
	} else if (s == 0) {
		snprintf(buf, size, "0s");
	} else if (s < 0.9995) {
		snprintf(buf, size, "%s%.0fms", sign, s * 1000);
	} else if (s < 9.95) {
		snprintf(buf, size, "%s%.1fs", sign, s);
	} else if (s < 59.5) {
		snprintf(buf, size, "%s%.0fs", sign, s);
	} else if (s < 3599.5) {
		long long r = llround(s);
		snprintf(buf, size, "%s%lldm%02llds", sign, r / 60, r % 60);
	} else if (s < 86370) {
		long long m = llround(s / 60);
		snprintf(buf, size, "%s%lldh%02lldm", sign, m / 60, m % 60);
	} else if (s < 1e12) {
		long long h = llround(s / 3600);
		snprintf(buf, size, "%s%lldd%02lldh", sign, h / 24, h % 24);
	} else {
		snprintf(buf, size, "%s%.3gs", sign, s);
	}
}

/* A count or ratio, compact enough for a table cell. */
static void format_number(double x, char *buf, size_t size)
{
	double a = fabs(x);
	if (isnan(x))
		snprintf(buf, size, "-");
	else if (isinf(x))
		snprintf(buf, size, "%sinf", x < 0 ? "-" : "");
	else if (a >= 1e7)
		snprintf(buf, size, "%.3g", x);
	else if (x == floor(x) || a >= 100)
		snprintf(buf, size, "%.0f", x);
	else if (a >= 10)
		snprintf(buf, size, "%.1f", x);
	else if (a >= 0.01 || a == 0)
		snprintf(buf, size, "%.2f", x);
	else
		snprintf(buf, size, "%.2g", x);
}

/* Columns taken by a UTF-8 string (continuation bytes take none). */
static size_t columns(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Copies s into buf, cut to at most max columns with "..." at the end,
 * on a character boundary. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void truncate_name(const char *s, size_t max, char *buf, size_t size)
{
	if (columns(s) <= max) {
		snprintf(buf, size, "%s", s);
		sanitize(buf);
		return;
	}
	size_t cols = 0, i = 0;
	size_t keep = max > 3 ? max - 3 : 0;
	for (; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (cols == keep)
				break;
			cols++;
		}
	}
	snprintf(buf, size, "%.*s...", (int)i, s);
	sanitize(buf);
}

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
	size_t w = columns(text);
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

static void summary_text(st_summary s, cell_kind kind, char *buf, size_t size)
{
	char m[32], h[32];
	if (kind == CELL_DURATION) {
		rpt_format_duration(s.mean, m, sizeof m);
		rpt_format_duration(s.half, h, sizeof h);
	} else {
		format_number(s.mean, m, sizeof m);
		format_number(s.half, h, sizeof h);
	}
	if (isnan(s.half))
		snprintf(buf, size, "%s", m);
	else
		snprintf(buf, size, "%s \xc2\xb1 %s", m, h);
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
	truncate_name(name, 60, shown, sizeof shown);
	if (k == RES_TOTAL)
		fprintf(f, "  total\n");
	else
		fprintf(f, "  %s %s\n", res_entity_kind_name(k), shown);

#define S(fig) res_summarize_value(v->reps, v->n_reps, k, index, RES_FIG, (fig))
	table_cell(&l, "generated", S(FIG_GENERATED), CELL_COUNT);
	table_cell(&l, "accepted", S(FIG_ACCEPTED), CELL_COUNT);
	table_cell(&l, "lost", S(FIG_LOST), CELL_COUNT);
	line_end(&l);
	table_cell(&l, "pending", S(FIG_PENDING), CELL_COUNT);
	table_cell(&l, "retries/msg", S(FIG_RETRIES_PER_MSG), CELL_COUNT);
	table_cell(&l, "rejected", S(FIG_REJECTED), CELL_COUNT);
	line_end(&l);
	table_cell(&l, "p95 submit", S(FIG_SUB_DELAY_P95), CELL_DURATION);
	table_cell(&l, "p95 deliver", S(FIG_DEL_DELAY_P95), CELL_DURATION);
	table_cell(&l, "throttled", S(FIG_THROTTLE_TIME), CELL_DURATION);
	line_end(&l);

	/* Loss reasons: the kinds, then the three commonest last replies. */
	st_summary lost = S(FIG_LOST);
	if (lost.mean > 0) {
		struct { const char *label; double mean; } item[3 + 3];
		size_t n = 0;
		st_summary gu = S(FIG_LOST_GAVE_UP), ov = S(FIG_LOST_OUTBOX_OVERFLOW), pe = S(FIG_LOST_PERMANENT);
		if (gu.mean > 0) { item[n].label = "gave up"; item[n++].mean = gu.mean; }
		if (ov.mean > 0) { item[n].label = "overflow"; item[n++].mean = ov.mean; }
		if (pe.mean > 0) { item[n].label = "permanent"; item[n++].mean = pe.mean; }
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
			item[n].label = rpt_reply_short(best);
			item[n++].mean = m[best];
			m[best] = 0;
		}
		line_cell(&l, "lost by", TBL_LABEL);
		for (size_t i = 0; i < n; i++) {
			char num[32], cell[64];
			format_number(item[i].mean, num, sizeof num);
			snprintf(cell, sizeof cell, "%s %s%s", item[i].label, num, i + 1 < n ? "," : "");
			line_cell(&l, cell, columns(cell) + 1);
		}
		line_end(&l);
	}
#undef S
}

/* ---- sweeps ---------------------------------------------------------------------- */

/* The sweep point of a variant entry, -1 when it is not one. */
static int64_t sweep_point_of(const rpt_variant *v)
{
	const res_desc *d = v->desc;
	return d != NULL && d->n_sweep_keys > 0 && d->n_sweep_keys <= 2 && d->sweep_point >= 0 ? d->sweep_point : -1;
}

/* Does the run come from a sweep (some entry carries a point)? */
static bool run_is_sweep(const rpt_run *run)
{
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if (sweep_point_of(&run->variants[vi]) >= 0)
			return true;
	return false;
}

static int sweep_table(FILE *f, const rpt_run *run);

int rpt_table(FILE *f, const rpt_run *run)
{
	if (f == NULL || run == NULL || (run->n_variants > 0 && run->variants == NULL))
		return SIM_EINVAL;
	char shown[96];
	truncate_name(run->scenario_name ? run->scenario_name : "", 40, shown, sizeof shown);
	fprintf(f, "throttlesim %s  scenario %s  seed %" PRIu64 "\n",
	        run->version ? run->version : "?", shown, run->seed);
	if (run_is_sweep(run)) { /* a block per point and variant would be too long */
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
		char head[128];
		truncate_name(v->name ? v->name : "", 40, shown, sizeof shown);
		snprintf(head, sizeof head, "\n== %s: %zu replication%s ", shown, v->n_reps,
		         v->n_reps == 1 ? "" : "s");
		fputs(head, f);
		for (size_t c = columns(head) - 1; c < 78; c++)
			fputc('=', f);
		fputc('\n', f);
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
				truncate_name(b->name ? b->name : "", 30, shown, sizeof shown);
				fprintf(f, "  difference from %s (paired)\n", shown);
				static const struct { const char *label; int fig; cell_kind kind; } d[] = {
					{ "accepted", FIG_ACCEPTED, CELL_COUNT },
					{ "lost", FIG_LOST, CELL_COUNT },
					{ "pending", FIG_PENDING, CELL_COUNT },
					{ "p95 submit", FIG_SUB_DELAY_P95, CELL_DURATION },
					{ "p95 deliver", FIG_DEL_DELAY_P95, CELL_DURATION },
					{ "throttled", FIG_THROTTLE_TIME, CELL_DURATION },
				};
				for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
					st_summary s = res_paired_value(v->reps, b->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, d[i].fig);
					table_cell(&l, d[i].label, s, d[i].kind);
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

/* The key figures of the comparison, in column order. */
static const struct {
	const char *label;
	int fig;
	cell_kind kind;
} compare_cols[] = {
	{ "accepted", FIG_ACCEPTED, CELL_COUNT },
	{ "lost", FIG_LOST, CELL_COUNT },
	{ "p95 subm", FIG_SUB_DELAY_P95, CELL_DURATION }, /* at most CMP_COL - 1 columns */
	{ "p95 deliv", FIG_DEL_DELAY_P95, CELL_DURATION },
	{ "retry/msg", FIG_RETRIES_PER_MSG, CELL_COUNT },
	{ "throttled", FIG_THROTTLE_TIME, CELL_DURATION },
};
#define CMP_NAME 20
#define CMP_COL 10

static void compare_value(FILE *f, double x, cell_kind kind, bool sign)
{
	char buf[40], out[48];
	if (kind == CELL_DURATION)
		rpt_format_duration(x, buf, sizeof buf);
	else
		format_number(x, buf, sizeof buf);
	snprintf(out, sizeof out, "%s%s", sign && x > 0 ? "+" : "", buf);
	fprintf(f, "%*s", CMP_COL, out);
}

/* One row: a label, then one value per column (mean, half, ...). */
static void compare_row(FILE *f, const char *label, const st_summary *s, bool half, bool sign)
{
	char shown[64];
	truncate_name(label, CMP_NAME - 1, shown, sizeof shown);
	fprintf(f, "%-*s", CMP_NAME - 1 + (int)(strlen(shown) - columns(shown)), shown);
	for (size_t c = 0; c < sizeof compare_cols / sizeof compare_cols[0]; c++) {
		double x = half ? s[c].half : s[c].mean;
		if (half && isnan(x))
			fprintf(f, "%*s", CMP_COL, "");
		else
			compare_value(f, x, compare_cols[c].kind, sign && !half);
	}
	fputc('\n', f);
}

/* The column headings of the comparison. */
static void compare_header(FILE *f)
{
	fprintf(f, "%-*s", CMP_NAME - 1, "variant");
	for (size_t c = 0; c < sizeof compare_cols / sizeof compare_cols[0]; c++)
		fprintf(f, "%*s", CMP_COL, compare_cols[c].label);
	fputc('\n', f);
}

/* A variant's rows: its figures, their half-widths, and, when it has the
 * same seeds as b (and is not b), its paired difference from b. */
static void compare_variant(FILE *f, const char *name, const rpt_variant *v, const rpt_variant *b)
{
	enum { NC = sizeof compare_cols / sizeof compare_cols[0] };
	st_summary s[NC], d[NC];
	for (size_t c = 0; c < NC; c++)
		s[c] = res_summarize_value(v->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, compare_cols[c].fig);
	compare_row(f, name, s, false, false);
	if (v->n_reps > 1)
		compare_row(f, "  \xc2\xb1", s, true, false);
	bool paired = v != b && v->n_reps == b->n_reps && v->n_reps > 0;
	for (size_t i = 0; paired && i < v->n_reps; i++)
		if (v->reps[i].seed != b->reps[i].seed)
			paired = false;
	if (!paired)
		return;
	for (size_t c = 0; c < NC; c++)
		d[c] = res_paired_value(v->reps, b->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, compare_cols[c].fig);
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
	if (run_is_sweep(run))
		return sweep_table(f, run);
	enum { NC = sizeof compare_cols / sizeof compare_cols[0] };
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
	truncate_name(full, TBL_WIDTH - 4, buf, size); /* after "-- " */
}

/* A row per point and variant: the key figures of the whole scenario
 * (mean, then its 95% half-width), and each variant's paired difference
 * from the base at the same point (common random numbers).  Points in
 * run order, each under a line naming its swept values. */
static int sweep_table(FILE *f, const rpt_run *run)
{
	enum { NC = sizeof compare_cols / sizeof compare_cols[0] };
	size_t npoints = 0, reps = run->variants[0].n_reps;
	bool same_reps = true;
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		if (vi == 0 || sweep_point_of(&run->variants[vi]) != sweep_point_of(&run->variants[vi - 1]))
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
		snprintf(head + w, sizeof head - (size_t)w, ", %zu replication%s each", reps, reps == 1 ? "" : "s");
	fputs(head, f);
	fputc(' ', f);
	for (size_t c = columns(head); c < 79; c++)
		fputc('=', f);
	fprintf(f, "\n  each figure: mean, then \xc2\xb1 its 95%% half-width; \xce\x94: paired difference\n"
		   "  from the base at the same point, with its \xc2\xb1\n");
	compare_header(f);
	size_t first = 0; /* the current point's first entry */
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		int64_t pt = sweep_point_of(v);
		if (vi == 0 || pt != sweep_point_of(&run->variants[vi - 1])) {
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
		for (size_t j = first; j < run->n_variants && sweep_point_of(&run->variants[j]) == pt; j++)
			if (run->variants[j].name && strcmp(run->variants[j].name, "base") == 0) {
				b = &run->variants[j];
				break;
			}
		compare_variant(f, v->name ? v->name : "?", v, b);
	}
	return ferror(f) ? SIM_EIO : SIM_OK;
}

/* ---- JSON --------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void json_number(FILE *f, double x)
{
	if (!isfinite(x))
		fputs("null", f);
	else
		fprintf(f, "%.17g", x);
}

static void json_summary(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index,
                         res_what what, int idx)
{
	st_summary s = res_summarize_value(v->reps, v->n_reps, k, index, what, idx);
	fputs("{\"mean\": ", f);
	json_number(f, s.mean);
	fputs(", \"half\": ", f);
	json_number(f, s.half);
	fprintf(f, ", \"n\": %.0f, \"values\": [", s.n_def);
	for (size_t i = 0; i < v->n_reps; i++) {
		if (i)
			fputs(", ", f);
		json_number(f, res_value(res_entity_of(&v->reps[i], k, index), what, idx));
	}
	fputs("]}", f);
}

/* Does any replication count this class for this entity? */
static bool class_used(const rpt_variant *v, res_entity_kind k, size_t index, res_what what, int c)
{
	for (size_t i = 0; i < v->n_reps; i++) {
		double x = res_value(res_entity_of(&v->reps[i], k, index), what, c);
		if (x != 0 && !isnan(x))
			return true;
	}
	return false;
}

static void json_classes(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index, res_what what)
{
	bool first = true;
	fputc('{', f);
	for (int c = 0; c < RC_COUNT; c++) {
		if (!class_used(v, k, index, what, c))
			continue;
		fputs(first ? "\n          " : ",\n          ", f);
		first = false;
		json_string(f, rpt_reply_id(c));
		fputs(": ", f);
		json_summary(f, v, k, index, what, c);
	}
	fputs(first ? "}" : "\n        }", f);
}

static void json_entity(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index, bool first)
{
	char name[SCN_NAME_MAX + 8];
	rpt_entity_name(v->desc, (int)k, index, name, sizeof name);
	fputs(first ? "\n      {" : ",\n      {", f);
	fprintf(f, "\"kind\": \"%s\", \"index\": %zu, \"name\": ", res_entity_kind_name(k), index);
	json_string(f, name);
	fputs(",\n        \"figures\": {", f);
	for (int fig = 0; fig < FIG_COUNT; fig++) {
		fputs(fig ? ",\n          " : "\n          ", f);
		json_string(f, res_fig_info[fig].name);
		fputs(": ", f);
		json_summary(f, v, k, index, RES_FIG, fig);
	}
	fputs("\n        },\n        \"rejected_by\": ", f);
	json_classes(f, v, k, index, RES_REJECTED_BY);
	fputs(",\n        \"lost_by\": ", f);
	json_classes(f, v, k, index, RES_LOST_BY);
	fputs("\n      }", f);
}

static void json_series(FILE *f, const res_rep *r)
{
	fprintf(f, "{\"replication\": %" PRId64 ", \"step_s\": ", r->replication);
	json_number(f, (double)r->series_step_ns / (double)SCN_NS_PER_S);
	fputs(", \"columns\": [\"t_s\", \"accepted\", \"released\", \"outbox_backlog\", "
	      "\"open_sessions\", \"throttled_mailboxes\"", f);
	for (int c = 0; c < RC_COUNT; c++)
		fprintf(f, ", \"rejected.%s\"", rpt_reply_id(c));
	fputs("],\n        \"rows\": [", f);
	for (size_t i = 0; i < r->n_series; i++) {
		const res_series_row *row = &r->series[i];
		fputs(i ? ",\n          [" : "\n          [", f);
		json_number(f, (double)i * (double)r->series_step_ns / (double)SCN_NS_PER_S);
		fprintf(f, ", %" PRIu32 ", %" PRIu32 ", %" PRIu32 ", %" PRIu32 ", %" PRIu32,
		        row->accepted, row->released, row->outbox_backlog, row->open_sessions,
		        row->throttled_mailboxes);
		for (int c = 0; c < RC_COUNT; c++)
			fprintf(f, ", %" PRIu32, row->rejected_by[c]);
		fputc(']', f);
	}
	fputs(r->n_series ? "\n        ]}" : "]}", f);
}

/* A sweep's entry: its point and swept keys and values (null when the
 * entry is not a point, or has one key). */
static void json_sweep(FILE *f, const rpt_variant *v)
{
	int64_t pt = sweep_point_of(v);
	int nk = pt >= 0 ? v->desc->n_sweep_keys : 0;
	if (pt >= 0)
		fprintf(f, ",\n    \"point\": %" PRId64, pt);
	else
		fputs(",\n    \"point\": null", f);
	for (int k = 0; k < 2; k++) {
		fprintf(f, ", \"sweep_key%s\": ", k ? "2" : "");
		if (k < nk) {
			char key[SCN_NAME_MAX];
			snprintf(key, sizeof key, "%.*s", SCN_NAME_MAX - 1, v->desc->sweep_key[k]);
			json_string(f, key);
		} else {
			fputs("null", f);
		}
		fprintf(f, ", \"sweep_value%s\": ", k ? "2" : "");
		json_number(f, k < nk ? v->desc->sweep_value[k] : NAN);
	}
}

int rpt_json(FILE *f, const rpt_run *run)
{
	if (f == NULL || run == NULL || (run->n_variants > 0 && run->variants == NULL))
		return SIM_EINVAL;
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if (run->variants[vi].n_reps == 0 || run->variants[vi].reps == NULL)
			return SIM_EINVAL;
	bool sweep = run_is_sweep(run);
	fputs("{\n  \"format\": \"throttlesim-results\",\n  \"format_version\": 1,\n", f);
	fputs("  \"program_version\": ", f);
	json_string(f, run->version ? run->version : "");
	fputs(",\n  \"scenario\": ", f);
	json_string(f, run->scenario_name ? run->scenario_name : "");
	fprintf(f, ",\n  \"seed\": %" PRIu64 ",\n", run->seed);
	fputs("  \"figures\": [", f);
	for (int fig = 0; fig < FIG_COUNT; fig++) {
		fputs(fig ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
		json_string(f, res_fig_info[fig].name);
		fputs(", \"unit\": ", f);
		json_string(f, res_fig_info[fig].unit);
		fputs(", \"doc\": ", f);
		json_string(f, res_fig_info[fig].doc);
		fputc('}', f);
	}
	fputs("\n  ],\n  \"variants\": [", f);
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		const res_rep *r0 = &v->reps[0];
		fputs(vi ? ",\n  {\n    \"name\": " : "\n  {\n    \"name\": ", f);
		json_string(f, v->name ? v->name : "");
		if (sweep)
			json_sweep(f, v);
		fprintf(f, ",\n    \"replications\": %zu,\n    \"seeds\": [", v->n_reps);
		for (size_t i = 0; i < v->n_reps; i++)
			fprintf(f, "%s%" PRIu64, i ? ", " : "", v->reps[i].seed);
		fputs("],\n    \"events\": [", f);
		for (size_t i = 0; i < v->n_reps; i++)
			fprintf(f, "%s%" PRIu64, i ? ", " : "", v->reps[i].events);
		fputs("],\n    \"reply_classes\": [", f);
		for (int c = 0; c < RC_COUNT; c++) {
			fputs(c ? ",\n      {\"id\": " : "\n      {\"id\": ", f);
			json_string(f, rpt_reply_id(c));
			fprintf(f, ", \"code\": %d, \"short\": ", variant_reply_code(v, c));
			json_string(f, rpt_reply_short(c));
			fputs(", \"text\": ", f);
			json_string(f, variant_reply_text(v, c));
			fputc('}', f);
		}
		fputs("\n    ],\n    \"entities\": [", f);
		json_entity(f, v, RES_TOTAL, 0, true);
		for (size_t g = 0; g < r0->n_groups; g++)
			json_entity(f, v, RES_GROUP, g, false);
		for (size_t m = 0; m < r0->n_mailboxes; m++)
			json_entity(f, v, RES_MAILBOX, m, false);
		fputs("\n    ]", f);
		if (run->json_series) {
			fputs(",\n    \"series\": [", f);
			for (size_t i = 0; i < v->n_reps; i++) {
				fputs(i ? ",\n      " : "\n      ", f);
				json_series(f, &v->reps[i]);
			}
			fputs("\n    ]", f);
		}
		fputs("\n  }", f);
	}
	fputs(run->n_variants ? "\n  ]\n}\n" : "]\n}\n", f);
	return ferror(f) ? SIM_EIO : SIM_OK;
}

/* ---- CSV ------------------------------------------------------------------------------ */

static void csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_number(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, "%.17g", x);
}

/* A sweep's columns at the end of a row: point, sweep_key, sweep_value,
 * sweep_key2, sweep_value2 (empty where not known). */
static void csv_sweep(FILE *f, const rpt_variant *v)
{
	int64_t pt = sweep_point_of(v);
	int nk = pt >= 0 ? v->desc->n_sweep_keys : 0;
	fputc(',', f);
	if (pt >= 0)
		fprintf(f, "%" PRId64, pt);
	for (int k = 0; k < 2; k++) {
		fputc(',', f);
		if (k < nk) {
			char key[SCN_NAME_MAX];
			snprintf(key, sizeof key, "%.*s", SCN_NAME_MAX - 1, v->desc->sweep_key[k]);
			csv_field(f, key);
		}
		fputc(',', f);
		if (k < nk)
			csv_number(f, v->desc->sweep_value[k]);
	}
}

static void csv_row(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index,
                    const char *entity, const char *figure, const char *unit,
                    res_what what, int idx, bool sweep)
{
	st_summary s = res_summarize_value(v->reps, v->n_reps, k, index, what, idx);
	csv_field(f, v->name ? v->name : "");
	fprintf(f, ",%s,", res_entity_kind_name(k));
	csv_field(f, entity);
	fputc(',', f);
	csv_field(f, figure);
	fputc(',', f);
	csv_field(f, unit);
	fputc(',', f);
	csv_number(f, s.mean);
	fputc(',', f);
	csv_number(f, s.half);
	fprintf(f, ",%.0f", s.n_def);
	if (sweep)
		csv_sweep(f, v);
	fputc('\n', f);
}

static void csv_entity(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index, bool sweep)
{
	char name[SCN_NAME_MAX + 8];
	rpt_entity_name(v->desc, (int)k, index, name, sizeof name);
	for (int fig = 0; fig < FIG_COUNT; fig++)
		csv_row(f, v, k, index, name, res_fig_info[fig].name, res_fig_info[fig].unit, RES_FIG, fig, sweep);
	for (int w = RES_REJECTED_BY; w <= RES_LOST_BY; w++) {
		for (int c = 0; c < RC_COUNT; c++) {
			if (!class_used(v, k, index, (res_what)w, c))
				continue;
			char fig[96];
			snprintf(fig, sizeof fig, "%s.%s", w == RES_REJECTED_BY ? "rejected_by" : "lost_by",
			         rpt_reply_id(c));
			csv_row(f, v, k, index, name, fig, w == RES_REJECTED_BY ? "count" : "msgs", (res_what)w, c, sweep);
		}
	}
}

int rpt_csv(FILE *f, const rpt_run *run)
{
	if (f == NULL || run == NULL || (run->n_variants > 0 && run->variants == NULL))
		return SIM_EINVAL;
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if (run->variants[vi].n_reps == 0 || run->variants[vi].reps == NULL)
			return SIM_EINVAL;
	/* A sweep adds its columns at the end: rows keep their first eight. */
	bool sweep = run_is_sweep(run);
	fputs(sweep ? "variant,entity_kind,entity,figure,unit,mean,half,n,point,sweep_key,sweep_value,sweep_key2,sweep_value2\n"
		    : "variant,entity_kind,entity,figure,unit,mean,half,n\n", f);
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		csv_entity(f, v, RES_TOTAL, 0, sweep);
		for (size_t g = 0; g < v->reps[0].n_groups; g++)
			csv_entity(f, v, RES_GROUP, g, sweep);
		for (size_t m = 0; m < v->reps[0].n_mailboxes; m++)
			csv_entity(f, v, RES_MAILBOX, m, sweep);
	}
	return ferror(f) ? SIM_EIO : SIM_OK;
}
