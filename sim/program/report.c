/* report.c - what the writers share: reply labels, entity names, numbers
 * and durations for people, sweep points.  Contracts in report.h. */
#include "report.h"
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "res_summary.h"
#include "stats.h"
#include "status.h"
#include "term.h"

/* ---- reply classes ------------------------------------------------------ */

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
int rpt__variant_reply_code(const rpt_variant *v, int c)
{
	const res_reply *r = res_variant_reply(v->desc, v->reps, v->n_reps, c);
	return r->code > 0 ? r->code : rpt_reply_code(c);
}

const char *rpt__variant_reply_text(const rpt_variant *v, int c)
{
	return res_variant_reply(v->desc, v->reps, v->n_reps, c)->text;
}

void rpt_reply_label(const rpt_variant *v, int c, char *buf, size_t size)
{
	const rpl_class_info *info = rpl_class(c);
	if (size == 0)
		return;
	buf[0] = '\0';
	if (info == NULL)
		return;
	const res_reply *r = v ? res_variant_reply(v->desc, v->reps, v->n_reps, c) : NULL;
	if (r == NULL || r->code == 0 || r->code == info->code) {
		snprintf(buf, size, "%s", info->label);
		return;
	}
	/* "421 4.7.0 text" -> "421 4.7.0": the code and the next word */
	const char *sp = strchr(r->text, ' ');
	const char *end = sp ? strchr(sp + 1, ' ') : NULL;
	int n = end ? (int)(end - r->text) : (int)strlen(r->text);
	snprintf(buf, size, "%.*s", n > 11 ? 11 : n, r->text);
	term_clean(buf);
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
void rpt__format_number(double x, char *buf, size_t size)
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
size_t rpt__columns(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Copies s into buf, sanitised for the terminal (term.h), then cut to at
 * most max columns with "..." at the end, on a character boundary.  The
 * sanitising comes first so that the columns counted are those shown. */
void rpt__truncate_name(const char *in, size_t max, char *buf, size_t size)
{
	char s[1024];   /* max is a table's width: 80 columns take < 1024 bytes */
	term_copy(s, sizeof s, in);
	if (rpt__columns(s) <= max || size < 4) {
		term_copy(buf, size, s);   /* a small buf is still cut on a boundary */
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
	if (i > size - 4)
		for (i = size - 4; i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80; i--)
			;
	memcpy(buf, s, i);
	memcpy(buf + i, "...", 4);
}

/* The sweep point of a variant entry, -1 when it is not one. */
int64_t rpt__sweep_point_of(const rpt_variant *v)
{
	const res_desc *d = v->desc;
	return d != NULL && d->n_sweep_keys > 0 && d->n_sweep_keys <= 2 && d->sweep_point >= 0 ? d->sweep_point : -1;
}

/* Does the run come from a sweep (some entry carries a point)? */
bool rpt__run_is_sweep(const rpt_run *run)
{
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if (rpt__sweep_point_of(&run->variants[vi]) >= 0)
			return true;
	return false;
}

/* Does any replication count this class for this entity? */
bool rpt__class_used(const rpt_variant *v, res_entity_kind k, size_t index, res_what what, int c)
{
	for (size_t i = 0; i < v->n_reps; i++) {
		double x = res_value(res_entity_of(&v->reps[i], k, index), what, c);
		if (x != 0 && !isnan(x))
			return true;
	}
	return false;
}


size_t rpt__key_figures(unsigned key, int out[FIG_COUNT])
{
	size_t n = 0;
	for (int f = 0; f < FIG_COUNT; f++)
		if (res_fig_info[f].keys & key)
			out[n++] = f;
	return n;
}
