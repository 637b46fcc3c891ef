/* report_html.c - the one-page report of a stored run, as HTML or
 * Markdown (contracts in report_html.h).  Both forms are written by the
 * same section functions through a small set of primitives (heading,
 * paragraph, table, chart) that each form renders and escapes its own
 * way, so the two carry the same content by construction.
 */
#include "report_html.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "presets.h"
#include "report_int.h"
#include "scenario.h"
#include "status.h"
#include "term.h"

/* ---- output primitives ------------------------------------------------------ */

typedef struct page {
	FILE *f;
	bool md;
	int cols;          /* columns of the open table */
	int cell;          /* cells written in the current row */
	bool head;         /* the open row is the header */
} page;

/* Text from anywhere (the store included) as text of the page: controls
 * and broken UTF-8 '?', then the form's escaping. */
static void put_text(page *o, const char *s)
{
	char *t = strdup(s ? s : "");
	if (t == NULL) {
		fputc('?', o->f);
		return;
	}
	term_clean(t);
	for (const char *p = t; *p; p++) {
		char c = *p;
		if (!o->md) {
			switch (c) {
			case '&': fputs("&amp;", o->f); break;
			case '<': fputs("&lt;", o->f); break;
			case '>': fputs("&gt;", o->f); break;
			case '"': fputs("&quot;", o->f); break;
			case '\'': fputs("&#39;", o->f); break;
			default: fputc(c, o->f);
			}
		} else if (strchr("\\`*_[]<>|#~&!{}", c) != NULL) {
			/* GitHub Markdown takes a backslash before any ASCII
			 * punctuation as the character itself */
			fputc('\\', o->f);
			fputc(c, o->f);
		} else {
			fputc(c, o->f);
		}
	}
	free(t);
}

static void heading(page *o, int level, const char *text)
{
	if (o->md) {
		fprintf(o->f, "\n%.*s ", level, "######");
		put_text(o, text);
		fputc('\n', o->f);
	} else {
		fprintf(o->f, "<h%d>", level);
		put_text(o, text);
		fprintf(o->f, "</h%d>\n", level);
	}
}

static void para_begin(page *o, const char *cls)
{
	if (o->md)
		fputc('\n', o->f);
	else if (cls)
		fprintf(o->f, "<p class=\"%s\">", cls);
	else
		fputs("<p>", o->f);
}

static void para_end(page *o)
{
	fputs(o->md ? "\n" : "</p>\n", o->f);
}

/* A paragraph of plain text. */
static void para(page *o, const char *cls, const char *text)
{
	para_begin(o, cls);
	put_text(o, text);
	para_end(o);
}

/* cls: the table's class (HTML), or NULL. */
static void table_begin(page *o, int cols, const char *cls)
{
	o->cols = cols;
	o->cell = 0;
	if (o->md)
		fputc('\n', o->f);
	else if (cls)
		fprintf(o->f, "<div class=\"scroll\"><table class=\"%s\">\n", cls);
	else
		fputs("<div class=\"scroll\"><table>\n", o->f);
}

static void row_begin(page *o, bool head)
{
	o->cell = 0;
	o->head = head;
	fputs(o->md ? "|" : "<tr>", o->f);
}

/* A cell; cls "num" right-aligns it (HTML). */
static void cell(page *o, const char *text, const char *cls)
{
	if (o->md) {
		fputc(' ', o->f);
		put_text(o, text);
		fputs(" |", o->f);
	} else {
		const char *tag = o->head ? "th" : "td";
		if (cls)
			fprintf(o->f, "<%s class=\"%s\">", tag, cls);
		else
			fprintf(o->f, "<%s>", tag);
		put_text(o, text);
		fprintf(o->f, "</%s>", tag);
	}
	o->cell++;
}

static void row_end(page *o)
{
	for (; o->cell < o->cols;)
		cell(o, "", NULL);
	if (!o->md) {
		fputs("</tr>\n", o->f);
		return;
	}
	fputc('\n', o->f);
	if (o->head) {
		fputc('|', o->f);
		for (int c = 0; c < o->cols; c++)
			fputs("---|", o->f);
		fputc('\n', o->f);
	}
}

static void table_end(page *o)
{
	if (!o->md)
		fputs("</table></div>\n", o->f);
}

/* ---- numbers ------------------------------------------------------------------ */

static bool is_duration(int fig)
{
	return strcmp(res_fig_info[fig].unit, "s") == 0;
}

static void fmt_value(double x, bool duration, bool sign, char *buf, size_t size)
{
	char v[40];
	if (duration)
		rpt_format_duration(x, v, sizeof v);
	else
		rpt__format_number(x, v, sizeof v);
	snprintf(buf, size, "%s%s", sign && x > 0 ? "+" : "", v);
}

/* "mean ± half", or the mean alone when there is no interval (one
 * replication, or an undefined mean). */
static void fmt_summary(st_summary s, bool duration, bool sign, char *buf, size_t size)
{
	char m[48], h[48];
	fmt_value(s.mean, duration, sign, m, sizeof m);
	if (isnan(s.mean) || isnan(s.half)) {
		snprintf(buf, size, "%s", m);
		return;
	}
	fmt_value(s.half, duration, false, h, sizeof h);
	snprintf(buf, size, "%s \xc2\xb1 %s", m, h);
}

/* ---- the question -------------------------------------------------------------- */

char *rpt_question(const char *text)
{
	size_t len = text ? strlen(text) : 0;
	char *out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	size_t n = 0;
	bool started = false;
	for (const char *p = text ? text : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = p;
		while (q < p + ll && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q == p + ll) {          /* a blank line */
			if (started)
				break;
		} else if (*q != '#') {
			break;
		} else {
			q++;
			if (q < p + ll && *q == ' ')
				q++;
			size_t k = (size_t)(p + ll - q);
			while (k > 0 && q[k - 1] == '\r')
				k--;
			if (started)
				out[n++] = '\n';
			memcpy(out + n, q, k);
			n += k;
			started = true;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	out[n] = 0;
	return out;
}

/* The question as paragraphs: comment lines joined, an empty comment
 * line ('#' alone) ending a paragraph. */
static void section_question(page *o, const store_loaded *l)
{
	heading(o, 2, "Question");
	char *q = rpt_question(l->row.scenario_text);
	if (q == NULL || *q == 0) {
		para(o, "note", q == NULL ? "(out of memory reading the scenario's question)"
		                          : "The scenario file opens with no comment block, so it states no"
		                            " question; its text is at the end of this page.");
		free(q);
		return;
	}
	if (!o->md)
		fputs("<blockquote class=\"question\">\n", o->f);
	bool open = false;
	for (char *line = q; line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (*line == 0) {
			if (open)
				fputs(o->md ? "\n>\n" : "</p>\n", o->f);
			open = false;
		} else {
			if (!open)
				fputs(o->md ? "\n> " : "<p>", o->f);
			else
				fputs(o->md ? "\n> " : "\n", o->f);
			put_text(o, line);
			open = true;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (open)
		fputs(o->md ? "\n" : "</p>\n", o->f);
	if (!o->md)
		fputs("</blockquote>\n", o->f);
	free(q);
}

/* ---- the answer ---------------------------------------------------------------- */

/* The answer's columns: the comparison's key figures, with the messages
 * generated and those still pending at the end, without which "lost" and
 * the delays cannot be read. */
static size_t answer_figures(int out[FIG_COUNT])
{
	size_t n = 0;
	for (int f = 0; f < FIG_COUNT; f++)
		if ((res_fig_info[f].keys & RES_K_COMPARE) || f == FIG_GENERATED || f == FIG_PENDING)
			out[n++] = f;
	return n;
}

/* The base a variant is compared with: in a sweep, the entry named "base"
 * at the same point (else that point's first); otherwise the run's first. */
static const rpt_variant *base_of(const rpt_run *run, size_t vi)
{
	int64_t pt = rpt__sweep_point_of(&run->variants[vi]);
	if (pt < 0)
		return &run->variants[0];
	size_t first = vi;
	while (first > 0 && rpt__sweep_point_of(&run->variants[first - 1]) == pt)
		first--;
	for (size_t j = first; j < run->n_variants && rpt__sweep_point_of(&run->variants[j]) == pt; j++)
		if (run->variants[j].name && strcmp(run->variants[j].name, "base") == 0)
			return &run->variants[j];
	return &run->variants[first];
}

static bool same_seeds(const rpt_variant *v, const rpt_variant *b)
{
	if (v->n_reps != b->n_reps || v->n_reps == 0)
		return false;
	for (size_t i = 0; i < v->n_reps; i++)
		if (v->reps[i].seed != b->reps[i].seed)
			return false;
	return true;
}

static void point_label(const rpt_variant *v, char *buf, size_t size)
{
	const res_desc *d = v->desc;
	int w = 0;
	buf[0] = 0;
	for (int k = 0; d && k < d->n_sweep_keys && w >= 0 && (size_t)w < size; k++)
		w += snprintf(buf + w, size - (size_t)w, "%s%s = %.15g", k ? ", " : "", d->sweep_key[k],
		              d->sweep_value[k]);
}

static void answer_head(page *o, const char *first, size_t nf, const int *figs)
{
	row_begin(o, true);
	cell(o, first, NULL);
	cell(o, "n", "num");
	for (size_t c = 0; c < nf; c++)
		cell(o, res_fig_info[figs[c]].label, "num");
	row_end(o);
}

/* A row naming the sweep point the following rows belong to. */
static void point_row(page *o, const rpt_run *run, size_t vi)
{
	if (!rpt__run_is_sweep(run))
		return;
	int64_t pt = rpt__sweep_point_of(&run->variants[vi]);
	if (vi > 0 && pt == rpt__sweep_point_of(&run->variants[vi - 1]))
		return;
	char label[2 * SCN_NAME_MAX + 64] = "(not a sweep point)";
	if (pt >= 0)
		point_label(&run->variants[vi], label, sizeof label);
	row_begin(o, false);
	char text[sizeof label + 16];
	snprintf(text, sizeof text, "at %s", label);
	cell(o, text, "point");
	row_end(o);
}

static void section_answer(page *o, const store_loaded *l)
{
	const rpt_run *run = &l->run;
	int figs[FIG_COUNT];
	size_t nf = answer_figures(figs);
	char buf[128];
	heading(o, 2, "Answer");
	para(o, NULL, "The whole scenario, each figure as its mean over the replications \xc2\xb1 the"
	              " half-width of its 95% confidence interval (Student t); n: replications.");
	table_begin(o, (int)nf + 2, "answer");
	answer_head(o, "variant", nf, figs);
	bool lossy = false;
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		point_row(o, run, vi);
		row_begin(o, false);
		cell(o, v->name ? v->name : "?", NULL);
		snprintf(buf, sizeof buf, "%zu", v->n_reps);
		cell(o, buf, "num");
		for (size_t c = 0; c < nf; c++) {
			st_summary s = res_summarize_value(v->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, figs[c]);
			if ((figs[c] == FIG_LOST || figs[c] == FIG_PENDING) && s.mean > 0)
				lossy = true;
			fmt_summary(s, is_duration(figs[c]), false, buf, sizeof buf);
			cell(o, buf, "num");
		}
		row_end(o);
	}
	table_end(o);
	if (lossy)
		para(o, "warn", "Some mail was lost or never accepted. The delay percentiles count only the"
		                " mail that was accepted: a variant that loses mail can look fast. Read them"
		                " with the lost and pending columns.");

	bool any = false;
	for (size_t vi = 0; vi < run->n_variants; vi++)
		if (base_of(run, vi) != &run->variants[vi])
			any = true;
	if (!any)
		return;
	heading(o, 3, "Paired differences from the base");
	para(o, NULL, rpt__run_is_sweep(run)
	     ? "Each variant minus the base at the same sweep point, replication by replication (the"
	       " same seeds: common random numbers), mean \xc2\xb1 95% half-width. An interval that"
	       " excludes 0 is a difference the replications support."
	     : "Each variant minus the base, replication by replication (the same seeds: common random"
	       " numbers), mean \xc2\xb1 95% half-width. An interval that excludes 0 is a difference"
	       " the replications support.");
	table_begin(o, (int)nf + 2, "answer");
	answer_head(o, "variant \xe2\x88\x92 base", nf, figs);
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi], *b = base_of(run, vi);
		point_row(o, run, vi);
		if (b == v)
			continue;
		row_begin(o, false);
		snprintf(buf, sizeof buf, "%s \xe2\x88\x92 %s", v->name ? v->name : "?", b->name ? b->name : "?");
		cell(o, buf, NULL);
		if (!same_seeds(v, b)) {
			cell(o, "", "num");
			cell(o, "not paired: other seeds", NULL);
			row_end(o);
			continue;
		}
		snprintf(buf, sizeof buf, "%zu", v->n_reps);
		cell(o, buf, "num");
		for (size_t c = 0; c < nf; c++) {
			st_summary d = res_paired_value(v->reps, b->reps, v->n_reps, RES_TOTAL, 0, RES_FIG, figs[c]);
			fmt_summary(d, is_duration(figs[c]), true, buf, sizeof buf);
			cell(o, buf, "num");
		}
		row_end(o);
	}
	table_end(o);
}

/* What each column means, from the figure catalog. */
static void section_legend(page *o)
{
	int figs[FIG_COUNT];
	size_t nf = answer_figures(figs);
	para_begin(o, "small");
	for (size_t c = 0; c < nf; c++) {
		char line[256];
		const res_fig_desc *d = &res_fig_info[figs[c]];
		if (d->doc[0])
			snprintf(line, sizeof line, "%s%s (%s): %s.", c ? " " : "", d->label, d->name, d->doc);
		else
			snprintf(line, sizeof line, "%s%s: %s.", c ? " " : "", d->label, d->name);
		put_text(o, line);
	}
	para_end(o);
}

/* ---- charts -------------------------------------------------------------------- */

/* gnuplot's SVG made a part of the page: from its <svg> on (no XML
 * prolog), without the namespace declarations (the HTML parser places
 * <svg> in the SVG namespace itself, xlink:href included), and with every
 * id and reference to one prefixed by the chart's number, since gnuplot
 * gives every chart the same ids (gpPt0, textbox...) and a page's ids must
 * be unique for each url(#...) to find its own. */
static void put_svg(page *o, const char *svg, size_t k)
{
	const char *p = strstr(svg, "<svg");
	if (p == NULL) {
		para(o, "note", "(the chart file holds no SVG)");
		return;
	}
	static const char *const drop[] = { " xmlns=\"http://www.w3.org/2000/svg\"",
	                                    " xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
	                                    "\n xmlns=\"http://www.w3.org/2000/svg\"",
	                                    "\n xmlns:xlink=\"http://www.w3.org/1999/xlink\"" };
	static const char *const refs[] = { "id='", "id=\"", "href='#", "href=\"#", "url(#" };
	while (*p) {
		bool done = false;
		for (size_t i = 0; i < sizeof drop / sizeof drop[0] && !done; i++)
			if (strncmp(p, drop[i], strlen(drop[i])) == 0) {
				p += strlen(drop[i]);
				done = true;
			}
		for (size_t i = 0; i < sizeof refs / sizeof refs[0] && !done; i++)
			if (strncmp(p, refs[i], strlen(refs[i])) == 0) {
				fprintf(o->f, "%sc%zu-", refs[i], k);
				p += strlen(refs[i]);
				done = true;
			}
		if (!done)
			fputc(*p++, o->f);
	}
}

static void section_charts(page *o, const rpt_page *p)
{
	heading(o, 2, "Charts");
	if (p->charts_note)
		para(o, "warn", p->charts_note);
	if (p->n_charts == 0 && p->charts_note == NULL)
		para(o, "note", "No chart was drawn for this run.");
	for (size_t k = 0; k < p->n_charts; k++) {
		const rpt_chart *c = &p->charts[k];
		if (o->md) {
			fputs("\n![", o->f);
			put_text(o, c->name);
			fputs("](", o->f);
			/* a link of the caller's making: [A-Za-z0-9._-] and '/', taken as is */
			fputs(c->link ? c->link : c->name, o->f);
			fputs(")\n", o->f);
			continue;
		}
		fputs("<figure>\n", o->f);
		if (c->svg)
			put_svg(o, c->svg, k + 1);
		fputs("\n<figcaption>", o->f);
		put_text(o, c->name);
		fputs("</figcaption>\n</figure>\n", o->f);
	}
}

/* ---- assumptions: the limits and their sources ------------------------------ */

typedef enum lim_key {
	LK_CONCURRENCY, LK_MESSAGE_RATE, LK_RECIPIENT_RATE, LK_EXTERNAL_RATE, LK_MAX_RCPTS, LK_MAX_SIZE,
	LK_COUNT
} lim_key;

static const char *const lim_key_name[LK_COUNT] = {
	"max_concurrent_connections", "message_rate_limit", "recipient_rate_limit",
	"tenant external_recipient_limit", "max_recipients_per_message", "max_message_size",
};

/* Where each preset's value of each limit comes from: the source keys
 * of models/presets.c's comments (docs/SOURCES.md) and their kind.  NULL
 * source: the preset sets no such limit (or follows the tenant). */
typedef struct lim_source {
	const char *source;
	const char *basis;
} lim_source;

static const struct {
	const char *preset;
	lim_source s[LK_COUNT];
} preset_sources[] = {
	{ "exchange-online", { { "SUB, B18 (where the 432 comes: concurrency_check, ASSUMPTION)", "published" },
	                       { "SUB, SD (the delay mechanism: ASSUMPTION)", "published" },
	                       { "SUB, SD: rolling 24 h", "published" },
	                       { "TERRL: the tenant's limit", "published" },
	                       { "PS, SD", "published" },
	                       { "PS, SD", "published" } } },
	{ "exchange-server", { { "EXS, PS: MaxInboundConnectionPerSource", "published" },
	                       { "EXS: MessageRateLimit", "published" },
	                       { "EXS: none on premises", "published" },
	                       { "not subject to TERRL", "published" },
	                       { "EXS: MaxRecipientsPerMessage", "published" },
	                       { "EXS: MaxMessageSize", "published" } } },
	{ "relay-connector", { { "ASSUMPTION (MFD: \"reasonable limits\")", "assumption" },
	                       { "MFD: not bound by 30 a minute", "published" },
	                       { "MFD: not bound by 10,000 a day", "published" },
	                       { "TERRL: the tenant's limit", "published" },
	                       { "ASSUMPTION", "assumption" },
	                       { "ASSUMPTION (tenant default)", "assumption" } } },
	{ "direct-send", { { "ASSUMPTION: per source address", "assumption" },
	                   { "none published", "assumption" },
	                   { "none published", "assumption" },
	                   { "not subject to TERRL", "published" },
	                   { "ASSUMPTION", "assumption" },
	                   { "ASSUMPTION", "assumption" } } },
	{ "hve", { { "unpublished: none modelled", "assumption" },
	           { "unpublished: none modelled", "assumption" },
	           { "HVE (preview): per tenant", "published" },
	           { "TERRL: HVE excluded", "published" },
	           { "ASSUMPTION", "assumption" },
	           { "ASSUMPTION (HVE preview documentation)", "assumption" } } },
	{ "acs", { { "T-ACS: per subscription", "third party" },
	           { "ACS: per subscription (default)", "published" },
	           { "ACS: none", "published" },
	           { "TERRL: ACS excluded", "published" },
	           { "T-ACS", "third party" },
	           { "T-ACS", "third party" } } },
	{ "external", { { "ASSUMPTION: per connector", "assumption" },
	                { "ASSUMPTION: per connector", "assumption" },
	                { "not Exchange Online: none", "assumption" },
	                { "not Exchange Online: none", "assumption" },
	                { "ASSUMPTION", "assumption" },
	                { "ASSUMPTION", "assumption" } } },
};

static const lim_source *source_of(const char *preset, lim_key k)
{
	for (size_t i = 0; i < sizeof preset_sources / sizeof preset_sources[0]; i++)
		if (strcmp(preset_sources[i].preset, preset) == 0)
			return &preset_sources[i].s[k];
	return NULL;
}

static void fmt_window(int64_t ns, char *buf, size_t size)
{
	int64_t s = ns / 1000000000LL;
	if (ns % 1000000000LL != 0)
		snprintf(buf, size, "%.3gs", (double)ns / 1e9);
	else if (s > 0 && s % 3600 == 0)
		snprintf(buf, size, "%lldh", (long long)(s / 3600));
	else if (s > 0 && s % 60 == 0)
		snprintf(buf, size, "%lldmin", (long long)(s / 60));
	else
		snprintf(buf, size, "%llds", (long long)s);
}

static void fmt_size(int64_t b, char *buf, size_t size)
{
	const int64_t mb = 1024LL * 1024LL;
	if (b > 0 && b % mb == 0)
		snprintf(buf, size, "%lld MB", (long long)(b / mb));
	else if (b > 0 && b % 1024 == 0)
		snprintf(buf, size, "%lld KB", (long long)(b / 1024));
	else
		snprintf(buf, size, "%lld bytes", (long long)b);
}

/* The value of limit k as shown, and whether it equals the preset's. */
static void limit_value(const res_limits *r, lim_key k, char *buf, size_t size)
{
	char w[32];
	switch (k) {
	case LK_CONCURRENCY:
		if (r->concurrency == 0)
			snprintf(buf, size, "off");
		else
			snprintf(buf, size, "%lld per %s", (long long)r->concurrency, scn_scope_name(r->concurrency_scope));
		break;
	case LK_MESSAGE_RATE:
		fmt_window(r->message_rate_window_ns, w, sizeof w);
		if (r->message_rate == 0)
			snprintf(buf, size, "off");
		else
			snprintf(buf, size, "%lld per %s (%s)", (long long)r->message_rate, w,
			         scn_rate_mode_name(r->message_rate_mode));
		break;
	case LK_RECIPIENT_RATE:
		fmt_window(r->recipient_rate_window_ns, w, sizeof w);
		if (r->recipient_rate == 0)
			snprintf(buf, size, "off");
		else
			snprintf(buf, size, "%lld per %s", (long long)r->recipient_rate, w);
		break;
	case LK_EXTERNAL_RATE:
		if (r->external_rate == 0)
			snprintf(buf, size, "off");
		else
			snprintf(buf, size, "%lld per 24h", (long long)r->external_rate);
		break;
	case LK_MAX_RCPTS:
		if (r->max_recipients_per_message == 0)
			snprintf(buf, size, "off");
		else
			snprintf(buf, size, "%lld", (long long)r->max_recipients_per_message);
		break;
	default:
		if (r->max_message_size == 0)
			snprintf(buf, size, "off");
		else
			fmt_size(r->max_message_size, buf, size);
		break;
	}
}

/* The preset's own value of limit k, as res_limits holds it (scopes and
 * modes included); false when the preset is unknown. */
static bool preset_limits(const char *name, res_limits *out)
{
	scn_limits s;
	if (preset_fill(name, &s) != SIM_OK)
		return false;
	*out = (res_limits){ .concurrency = s.connections.limit, .concurrency_scope = (int)s.connections.scope,
	                     .message_rate = s.message_rate.limit, .message_rate_window_ns = s.message_rate.window_ns,
	                     .message_rate_mode = (int)s.message_rate.mode,
	                     .recipient_rate = s.recipient_rate.limit,
	                     .recipient_rate_window_ns = s.recipient_rate.window_ns,
	                     .external_rate = s.external_rate.limit,
	                     .max_recipients_per_message = s.max_recipients_per_message,
	                     .max_message_size = s.max_message_size };
	snprintf(out->preset, sizeof out->preset, "%s", name);
	return true;
}

static bool same_limits(const res_limits *a, const res_limits *b)
{
	return strcmp(a->preset, b->preset) == 0 && a->concurrency == b->concurrency &&
	       a->concurrency_scope == b->concurrency_scope && a->message_rate == b->message_rate &&
	       a->message_rate_window_ns == b->message_rate_window_ns &&
	       a->message_rate_mode == b->message_rate_mode && a->recipient_rate == b->recipient_rate &&
	       a->recipient_rate_window_ns == b->recipient_rate_window_ns && a->external_rate == b->external_rate &&
	       a->max_recipients_per_message == b->max_recipients_per_message &&
	       a->max_message_size == b->max_message_size;
}

/* The rows of one set of limits. */
static void limits_rows(page *o, const res_limits *r)
{
	res_limits pre;
	bool known = preset_limits(r->preset, &pre);
	for (int k = 0; k < LK_COUNT; k++) {
		char value[96], pv[96] = "", where[512];
		const char *basis;
		limit_value(r, (lim_key)k, value, sizeof value);
		const lim_source *src = source_of(r->preset, (lim_key)k);
		bool follows_tenant = known && k == LK_EXTERNAL_RATE && pre.external_rate == PRESET_FOLLOW_TENANT;
		bool from_preset = false;
		if (known && !follows_tenant) {
			res_limits one = pre;   /* the preset's value of this limit alone */
			char a[96];
			limit_value(&one, (lim_key)k, a, sizeof a);
			from_preset = strcmp(a, value) == 0;
			snprintf(pv, sizeof pv, "%s", a);
		}
		if (!known) {
			snprintf(where, sizeof where, "preset %s: source not catalogued (docs/SOURCES.md)", r->preset);
			basis = "unknown";
		} else if (follows_tenant) {
			snprintf(where, sizeof where, "the tenant (scenario keys tenant.external_recipient_limit,"
			         " tenant.terrl_enforced; TERRL: auto = 500 \xc3\x97 licenses^0.7 + 9,500)");
			basis = "published";
		} else if (from_preset) {
			snprintf(where, sizeof where, "preset %s: %s", r->preset, src ? src->source : "source not catalogued");
			basis = src ? src->basis : "unknown";
		} else {
			snprintf(where, sizeof where, "set in the scenario or the variant (preset %s: %s)", r->preset, pv);
			basis = "scenario";
		}
		row_begin(o, false);
		cell(o, lim_key_name[k], NULL);
		cell(o, value, "num");
		cell(o, where, NULL);
		cell(o, basis, strcmp(basis, "assumption") == 0 ? "assumption" : NULL);
		row_end(o);
	}
}

/* An entity of a variant's description: its kind, name and limits. */
typedef struct ent {
	const char *kind;
	const char *name;
	const res_limits *lim;
} ent;

static size_t entities_of(const res_desc *d, ent *out)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n_mailboxes; i++)
		out[n++] = (ent){ "mailbox", d->mailboxes[i].name, &d->mailboxes[i].limits };
	for (size_t i = 0; i < d->n_groups; i++)
		out[n++] = (ent){ "sender group", d->groups[i].name, &d->groups[i].limits };
	return n;
}

/* Does variant v use the same limits, entity by entity, as b? */
static bool same_as(const res_desc *v, const res_desc *b)
{
	if (v->n_mailboxes != b->n_mailboxes || v->n_groups != b->n_groups)
		return false;
	for (size_t i = 0; i < v->n_mailboxes; i++)
		if (!same_limits(&v->mailboxes[i].limits, &b->mailboxes[i].limits))
			return false;
	for (size_t i = 0; i < v->n_groups; i++)
		if (!same_limits(&v->groups[i].limits, &b->groups[i].limits))
			return false;
	return true;
}

#define NAMES_SHOWN 8

/* One variant's limits: entities with equal limits share one table. */
static void variant_limits(page *o, const rpt_variant *v)
{
	const res_desc *d = v->desc;
	size_t n = d->n_mailboxes + d->n_groups;
	ent *e = calloc(n ? n : 1, sizeof *e);
	bool *done = calloc(n ? n : 1, sizeof *done);
	if (e == NULL || done == NULL) {
		para(o, "note", "(out of memory listing the limits)");
		free(e);
		free(done);
		return;
	}
	entities_of(d, e);
	for (size_t i = 0; i < n; i++) {
		if (done[i])
			continue;
		size_t shown = 0, more = 0;
		char line[1024];
		int w = snprintf(line, sizeof line, "Preset %s, for ", e[i].lim->preset);
		for (size_t j = i; j < n; j++) {
			if (done[j] || !same_limits(e[i].lim, e[j].lim))
				continue;
			done[j] = true;
			if (shown < NAMES_SHOWN && w >= 0 && (size_t)w < sizeof line)
				w += snprintf(line + w, sizeof line - (size_t)w, "%s%s %s", shown ? ", " : "", e[j].kind,
				              e[j].name);
			else
				more++;
			shown++;
		}
		if (more && w >= 0 && (size_t)w < sizeof line)
			snprintf(line + w, sizeof line - (size_t)w, " and %zu more", more);
		para(o, NULL, line);
		table_begin(o, 4, "limits");
		row_begin(o, true);
		cell(o, "limit", NULL);
		cell(o, "value", "num");
		cell(o, "where it comes from", NULL);
		cell(o, "basis", NULL);
		row_end(o);
		limits_rows(o, e[i].lim);
		table_end(o);
	}
	free(e);
	free(done);
}

static void section_assumptions(page *o, const store_loaded *l)
{
	const rpt_run *run = &l->run;
	heading(o, 2, "Assumptions: the limits this run used");
	para(o, NULL, "Each limit as the run resolved it (stored with its results), and where its value"
	              " comes from: the preset's source keys, defined in docs/SOURCES.md (published: stated by"
	              " the publisher; third party; assumption: no public source states it), or the scenario"
	              " when it changes the preset's value. The scenario's other settings (sessions, retries,"
	              " error throttling, concurrency_check) are in its text at the end of this page;"
	              " docs/MODEL.md gives the model's assumptions.");
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		char h[4 * SCN_NAME_MAX];
		snprintf(h, sizeof h, "%s", v->name ? v->name : "?");
		if (rpt__sweep_point_of(v) >= 0) {
			char pl[2 * SCN_NAME_MAX + 64];
			point_label(v, pl, sizeof pl);
			snprintf(h, sizeof h, "%s at %s", v->name ? v->name : "?", pl);
		}
		if (v->desc == NULL) {
			heading(o, 3, h);
			para(o, "note", "This run's store holds no description of its limits (an older file).");
			continue;
		}
		size_t same = vi;
		for (size_t j = 0; j < vi; j++)
			if (run->variants[j].desc && same_as(v->desc, run->variants[j].desc)) {
				same = j;
				break;
			}
		if (same != vi) {
			char line[6 * SCN_NAME_MAX];
			snprintf(line, sizeof line, "%s: the same limits as %s.", h,
			         run->variants[same].name ? run->variants[same].name : "?");
			para(o, NULL, line);
			continue;
		}
		heading(o, 3, h);
		variant_limits(o, v);
	}
}

/* ---- replies seen -------------------------------------------------------------- */

static void section_replies(page *o, const store_loaded *l)
{
	const rpt_run *run = &l->run;
	heading(o, 2, "Replies seen");
	para(o, NULL, "Every refusal the service gave, by reply class: the reply as given (code and text),"
	              " the attempts it refused and the messages lost with it as their last reply, per"
	              " replication (mean \xc2\xb1 95% half-width), and the refusals of all replications"
	              " together.");
	for (size_t vi = 0; vi < run->n_variants; vi++) {
		const rpt_variant *v = &run->variants[vi];
		char h[4 * SCN_NAME_MAX];
		snprintf(h, sizeof h, "%s", v->name ? v->name : "?");
		if (rpt__sweep_point_of(v) >= 0) {
			char pl[2 * SCN_NAME_MAX + 64];
			point_label(v, pl, sizeof pl);
			snprintf(h, sizeof h, "%s at %s", v->name ? v->name : "?", pl);
		}
		heading(o, 3, h);
		bool any = false;
		for (int c = 0; c < RC_COUNT; c++)
			if (rpt__class_used(v, RES_TOTAL, 0, RES_REJECTED_BY, c) ||
			    rpt__class_used(v, RES_TOTAL, 0, RES_LOST_BY, c))
				any = true;
		if (!any) {
			para(o, NULL, "No refusals: every attempt was accepted (250).");
			continue;
		}
		table_begin(o, 5, "replies");
		row_begin(o, true);
		cell(o, "class", NULL);
		cell(o, "reply", NULL);
		cell(o, "refused per replication", "num");
		cell(o, "lost per replication", "num");
		cell(o, "refused in all", "num");
		row_end(o);
		for (int c = 0; c < RC_COUNT; c++) {
			if (!rpt__class_used(v, RES_TOTAL, 0, RES_REJECTED_BY, c) &&
			    !rpt__class_used(v, RES_TOTAL, 0, RES_LOST_BY, c))
				continue;
			double rej = 0;
			bool mixed = false;
			for (size_t i = 0; i < v->n_reps; i++) {
				rej += (double)v->reps[i].total.rejected_by[c];
				mixed = mixed || v->reps[i].given_mixed[c];
			}
			char text[512], num[96];
			snprintf(text, sizeof text, "%s%s", rpt__variant_reply_text(v, c),
			         mixed ? " (and other wordings of this class)" : "");
			row_begin(o, false);
			cell(o, rpt_reply_id(c), NULL);
			cell(o, text, "reply");
			st_summary s = res_summarize_value(v->reps, v->n_reps, RES_TOTAL, 0, RES_REJECTED_BY, c);
			fmt_summary(s, false, false, num, sizeof num);
			cell(o, num, "num");
			s = res_summarize_value(v->reps, v->n_reps, RES_TOTAL, 0, RES_LOST_BY, c);
			fmt_summary(s, false, false, num, sizeof num);
			cell(o, num, "num");
			rpt__format_number(rej, num, sizeof num);
			cell(o, num, "num");
			row_end(o);
		}
		table_end(o);
	}
}

/* ---- the scenario -------------------------------------------------------------- */

static void section_scenario(page *o, const store_loaded *l)
{
	const char *text = l->row.scenario_text;
	heading(o, 2, "The scenario");
	if (text == NULL || *text == 0) {
		para(o, "note", "The store holds no scenario text for this run.");
		return;
	}
	if (!o->md) {
		fputs("<details><summary>", o->f);
		put_text(o, l->row.scenario_file[0] ? l->row.scenario_file : "scenario");
		fputs("</summary>\n<pre>", o->f);
		/* put_text would make each newline '?': line by line */
		const char *p = text;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t k = nl ? (size_t)(nl - p) : strlen(p);
			char *line = strndup(p, k);
			put_text(o, line ? line : "?");
			free(line);
			fputc('\n', o->f);
			p += k + (nl ? 1 : 0);
		}
		fputs("</pre></details>\n", o->f);
		return;
	}
	/* Markdown: a fence longer than any run of backticks in the text, the
	 * text itself verbatim (a fenced block shows it as written). */
	size_t longest = 0, run = 0;
	for (const char *p = text; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	size_t fence = longest >= 3 ? longest + 1 : 3;
	fputs("\n<details><summary>", o->f);
	put_text(o, l->row.scenario_file[0] ? l->row.scenario_file : "scenario");
	fputs("</summary>\n\n", o->f);
	for (size_t i = 0; i < fence; i++)
		fputc('`', o->f);
	fputs("yaml\n", o->f);
	char *t = strdup(text);
	if (t) {
		/* controls but newline and tab '?', as everywhere */
		for (char *line = t; line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			term_clean(line);
			fputs(line, o->f);
			fputc('\n', o->f);
			line = nl ? nl + 1 : NULL;
		}
		free(t);
	}
	for (size_t i = 0; i < fence; i++)
		fputc('`', o->f);
	fputs("\n\n</details>\n", o->f);
}

/* ---- the page -------------------------------------------------------------------- */

static const char css[] =
	"body{font-family:sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#1a1a1a;"
	"line-height:1.4}\n"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;"
	"margin-top:1.6em}\n"
	"div.scroll{overflow-x:auto}table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .5em;"
	"vertical-align:top}\n"
	"th{background:#f0f0f0;text-align:left}td.num,th.num{text-align:right;white-space:nowrap}\n"
	"td.point{font-weight:bold;background:#fafafa}td.reply{font-family:monospace;font-size:.9em;overflow-wrap:anywhere}\n"
	"td.assumption{background:#fff3cd;font-weight:bold}table.answer{font-size:.92em}\n"
	"blockquote.question{border-left:4px solid #3572b0;margin:0;padding:.2em 1em;background:#f4f8fc;"
	"font-size:1.1em}\n"
	".meta{color:#555}.small{font-size:.85em;color:#444}.note{color:#555;font-style:italic}\n"
	".warn{background:#fff3cd;border:1px solid #e0c060;padding:.4em .6em}\n"
	"figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #ddd}\n"
	"figcaption{font-size:.85em;color:#555}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}\n";

static void meta(page *o, const rpt_page *p)
{
	const store_loaded *l = p->l;
	char line[1024];
	snprintf(line, sizeof line, "Run %lld of %s, started %s%s; throttlesim %s; seed %llu;"
	         " %lld replication%s per variant; %zu variant%s.",
	         (long long)l->row.id, p->db ? p->db : "the results store", l->row.started_at,
	         l->row.complete ? "" : " (incomplete)", l->row.program_version,
	         (unsigned long long)l->row.seed, (long long)l->row.replications,
	         l->row.replications == 1 ? "" : "s", l->run.n_variants, l->run.n_variants == 1 ? "" : "s");
	para(o, "meta", line);
	if (l->row.command_line[0]) {
		snprintf(line, sizeof line, "Command: %s", l->row.command_line);
		para(o, "meta", line);
	}
}

static int write_page(FILE *f, const rpt_page *p, bool md)
{
	if (f == NULL || p == NULL || p->l == NULL || p->l->run.n_variants == 0)
		return SIM_EINVAL;
	page o = { .f = f, .md = md };
	char title[SCN_NAME_MAX + 64];
	snprintf(title, sizeof title, "%s \xe2\x80\x94 run %lld", p->l->row.scenario_name,
	         (long long)p->l->row.id);
	if (!md) {
		fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
		put_text(&o, title);
		fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", css);
	}
	heading(&o, 1, title);
	meta(&o, p);
	section_question(&o, p->l);
	section_answer(&o, p->l);
	section_legend(&o);
	section_charts(&o, p);
	section_assumptions(&o, p->l);
	section_replies(&o, p->l);
	section_scenario(&o, p->l);
	if (!md)
		fputs("</body>\n</html>\n", f);
	return ferror(f) ? SIM_EIO : SIM_OK;
}

int rpt_html(FILE *f, const rpt_page *p)
{
	return write_page(f, p, false);
}

int rpt_markdown(FILE *f, const rpt_page *p)
{
	return write_page(f, p, true);
}
