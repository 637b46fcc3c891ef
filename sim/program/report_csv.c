/* report_csv.c - the CSV writer.  Contracts in report.h; the columns in
 * docs/RESULTS.md. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"
#include "res_summary.h"
#include "stats.h"
#include "status.h"

/* ---- CSV ------------------------------------------------------------------------------ */

/* Is s a plain decimal number: [+-]digits[.digits][(e|E)[+-]digits]?  A
 * spreadsheet reads it as that number, never as a formula. */
static bool csv_is_number(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	size_t digits = strspn(s, "0123456789");
	s += digits;
	if (*s == '.') {
		size_t frac = strspn(s + 1, "0123456789");
		s += 1 + frac;
		digits += frac;
	}
	if (digits == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		size_t exp = strspn(s, "0123456789");
		if (exp == 0)
			return false;
		s += exp;
	}
	return *s == '\0';
}

/* A text field.  Names come from scenario files and stores that anyone
 * may have written, and spreadsheets run a cell that begins with '=',
 * '+', '-', '@', tab or CR as a formula (CSV injection).  As OWASP
 * recommends, such a field gets a single quote in front and is quoted,
 * so it reads as text; a field that is a plain number ("-5", "+1.5e3")
 * is a number to the spreadsheet too and is left alone.  Numbers the
 * writer formats itself (csv_number) never pass through here. */
static void csv_field(FILE *f, const char *s)
{
	bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0' && !csv_is_number(s);
	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* The shortest of %.15g, %.16g and %.17g that reads back as the same
 * double: 5803.1 rather than %.17g's 5803.1000000000004, which is the
 * same number.  %.17g always round-trips (IEEE 754 binary64: 17
 * significant digits suffice), so the answer is exact.  A whole number
 * below 10^17 in magnitude prints as an integer ("400", never "4e+02" or
 * "1e+16"), which is exact too. */
void rpt__shortest(double x, char *buf, size_t size)
{
	if (x == trunc(x) && fabs(x) < 1e17) {
		snprintf(buf, size, "%.0f", x);
		return;
	}
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(buf, size, "%.*g", digits, x);
		if (digits == 17 || strtod(buf, NULL) == x)
			return;
	}
}

static void csv_number(FILE *f, double x)
{
	char buf[32];
	if (isfinite(x)) {
		rpt__shortest(x, buf, sizeof buf);
		fputs(buf, f);
	}
}

/* A sweep's columns at the end of a row: point, sweep_key, sweep_value,
 * sweep_key2, sweep_value2 (empty where not known). */
static void csv_sweep(FILE *f, const rpt_variant *v)
{
	int64_t pt = rpt__sweep_point_of(v);
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
                    res_what what, int idx, bool sweep, size_t max_reps)
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
	for (size_t i = 0; i < max_reps; i++) {
		fputc(',', f);
		if (i < v->n_reps)
			csv_number(f, res_value(res_entity_of(&v->reps[i], k, index), what, idx));
	}
	fputc('\n', f);
}

static void csv_entity(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index, bool sweep,
                       size_t max_reps)
{
	char name[SCN_NAME_MAX + 8];
	rpt_entity_name(v->desc, (int)k, index, name, sizeof name);
	for (int fig = 0; fig < FIG_COUNT; fig++)
		csv_row(f, v, k, index, name, res_fig_info[fig].name, res_fig_info[fig].unit, RES_FIG, fig, sweep,
		        max_reps);
	for (int w = RES_REJECTED_BY; w <= RES_LOST_BY; w++) {
		for (int c = 0; c < RC_COUNT; c++) {
			if (!rpt__class_used(v, k, index, (res_what)w, c))
				continue;
			char fig[96];
			snprintf(fig, sizeof fig, "%s.%s", w == RES_REJECTED_BY ? "rejected_by" : "lost_by",
			         rpt_reply_id(c));
			csv_row(f, v, k, index, name, fig, w == RES_REJECTED_BY ? "count" : "msgs", (res_what)w, c,
			        sweep, max_reps);
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
	/* Every row starts with the same eight columns; a sweep adds its five,
	 * then each replication's value (empty past a variant's last). */
	bool sweep = rpt__run_is_sweep(run);
	size_t max_reps = 0;
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if (run->variants[vi].n_reps > max_reps)
			max_reps = run->variants[vi].n_reps;
	fputs("variant,entity_kind,entity,figure,unit,mean,half,n", f);
	if (sweep)
		fputs(",point,sweep_key,sweep_value,sweep_key2,sweep_value2", f);
	for (size_t i = 0; i < max_reps; i++)
		fprintf(f, ",rep%zu", i);
	fputc('\n', f);
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		csv_entity(f, v, RES_TOTAL, 0, sweep, max_reps);
		for (size_t g = 0; g < v->reps[0].n_groups; g++)
			csv_entity(f, v, RES_GROUP, g, sweep, max_reps);
		for (size_t m = 0; m < v->reps[0].n_mailboxes; m++)
			csv_entity(f, v, RES_MAILBOX, m, sweep, max_reps);
	}
	return ferror(f) ? SIM_EIO : SIM_OK;
}
