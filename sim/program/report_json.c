/* report_json.c - the JSON writer.  Contracts in report.h; the format in
 * docs/RESULTS.md. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "report_int.h"
#include "res_summary.h"
#include "stats.h"
#include "status.h"

/* ---- JSON --------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (2 to 4 bytes), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
	         : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	unsigned cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const unsigned min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (n == 0 || cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string that is valid (RFC 8259 wants UTF-8) and safe to show on
 * a terminal: every control, DEL and C1 control escaped as \u00XX, every
 * byte of broken UTF-8 as U+FFFD. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80) {
			size_t n = utf8_len(p);
			if (n == 0)
				fputs("\\ufffd", f);
			else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
				fprintf(f, "\\u%04x", p[1]);   /* C1: U+0080-U+009F */
			else
				fwrite(p, 1, n, f);
			p += n ? n - 1 : 0;
			continue;
		}
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void json_number(FILE *f, double x)
{
	char buf[32];
	if (!isfinite(x)) {
		fputs("null", f);
	} else {
		rpt__shortest(x, buf, sizeof buf);
		fputs(buf, f);
	}
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

static void json_classes(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index, res_what what)
{
	bool first = true;
	fputc('{', f);
	for (int c = 0; c < RC_COUNT; c++) {
		if (!rpt__class_used(v, k, index, what, c))
			continue;
		fputs(first ? "\n          " : ",\n          ", f);
		first = false;
		json_string(f, rpt_reply_id(c));
		fputs(": ", f);
		json_summary(f, v, k, index, what, c);
	}
	fputs(first ? "}" : "\n        }", f);
}

static void json_limits(FILE *f, const res_limits *l)
{
	fputs(",\n        \"limits\": {\"preset\": ", f);
	json_string(f, l->preset);
	fprintf(f, ", \"concurrency\": %" PRId64 ", \"concurrency_scope\": ", l->concurrency);
	json_string(f, scn_scope_name(l->concurrency_scope));
	fprintf(f, ",\n          \"message_rate\": %" PRId64 ", \"message_rate_window_s\": ", l->message_rate);
	json_number(f, (double)l->message_rate_window_ns / (double)SCN_NS_PER_S);
	fputs(", \"message_rate_mode\": ", f);
	json_string(f, scn_rate_mode_name(l->message_rate_mode));
	fprintf(f, ",\n          \"recipient_rate\": %" PRId64 ", \"recipient_rate_window_s\": ", l->recipient_rate);
	json_number(f, (double)l->recipient_rate_window_ns / (double)SCN_NS_PER_S);
	fprintf(f, ", \"external_rate\": %" PRId64 ",\n          \"max_recipients_per_message\": %" PRId64
	        ", \"max_message_size\": %" PRId64 "}", l->external_rate, l->max_recipients_per_message,
	        l->max_message_size);
}

/* A group's route, mailbox and limits, a mailbox's limits (nothing when
 * the description does not know the entity). */
static void json_entity_desc(FILE *f, const res_desc *d, res_entity_kind k, size_t index)
{
	if (d == NULL)
		return;
	if (k == RES_GROUP && index < d->n_groups) {
		const res_group_desc *g = &d->groups[index];
		fputs(", \"route\": ", f);
		json_string(f, g->route);
		fputs(", \"mailbox\": ", f);
		json_string(f, g->mailbox);
		fprintf(f, ", \"instances\": %" PRId64, g->instances);
		json_limits(f, &g->limits);
	} else if (k == RES_MAILBOX && index < d->n_mailboxes) {
		json_limits(f, &d->mailboxes[index].limits);
	}
}

static void json_provenance(FILE *f, const rpt_provenance *p)
{
	fprintf(f, "  \"run\": {\n    \"id\": %" PRId64 ",\n    \"complete\": %s,\n    \"started_at\": ",
	        p->id, p->complete ? "true" : "false");
	json_string(f, p->started_at ? p->started_at : "");
	fputs(",\n    \"finished_at\": ", f);
	if (p->finished_at && p->finished_at[0])
		json_string(f, p->finished_at);
	else
		fputs("null", f);
	fputs(",\n    \"scenario_file\": ", f);
	json_string(f, p->scenario_file ? p->scenario_file : "");
	fprintf(f, ",\n    \"replications\": %" PRId64 ",\n    \"command_line\": ", p->replications);
	json_string(f, p->command_line ? p->command_line : "");
	fputs(",\n    \"scenario_text\": ", f);
	json_string(f, p->scenario_text ? p->scenario_text : "");
	fputs("\n  },\n", f);
}

static void json_entity(FILE *f, const rpt_variant *v, res_entity_kind k, size_t index, bool first,
                        bool describe)
{
	char name[SCN_NAME_MAX + 8];
	rpt_entity_name(v->desc, (int)k, index, name, sizeof name);
	fputs(first ? "\n      {" : ",\n      {", f);
	fprintf(f, "\"kind\": \"%s\", \"index\": %zu, \"name\": ", res_entity_kind_name(k), index);
	json_string(f, name);
	if (describe)
		json_entity_desc(f, v->desc, k, index);
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
	int64_t pt = rpt__sweep_point_of(v);
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
	bool sweep = rpt__run_is_sweep(run);
	fputs("{\n  \"format\": \"throttlesim-results\",\n  \"format_version\": 1,\n", f);
	fputs("  \"program_version\": ", f);
	json_string(f, run->version ? run->version : "");
	fputs(",\n  \"scenario\": ", f);
	json_string(f, run->scenario_name ? run->scenario_name : "");
	fprintf(f, ",\n  \"seed\": %" PRIu64 ",\n", run->seed);
	if (run->stored)
		json_provenance(f, run->stored);
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
		if (run->json_describe && v->desc) {
			fputs(",\n    \"duration_s\": ", f);
			json_number(f, (double)v->desc->duration_ns / (double)SCN_NS_PER_S);
			fprintf(f, ", \"start_unix_s\": %" PRId64, v->desc->start_unix_s);
			/* the zone is not stored yet: an export says it does not know */
			if (v->desc->timezone[0]) {
				fputs(", \"timezone\": ", f);
				json_string(f, v->desc->timezone);
				fprintf(f, ", \"start_utc_offset_s\": %" PRId32, v->desc->start_utc_offset_s);
			} else {
				fputs(", \"timezone\": null, \"start_utc_offset_s\": null", f);
			}
		}
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
			fprintf(f, ", \"code\": %d, \"short\": ", rpt__variant_reply_code(v, c));
			char label[16];
			rpt_reply_label(v, c, label, sizeof label);
			json_string(f, label);
			fputs(", \"text\": ", f);
			json_string(f, rpt__variant_reply_text(v, c));
			if (run->json_describe) {
				bool given = false, mixed = false;
				for (size_t i = 0; i < v->n_reps; i++) {
					given = given || v->reps[i].given[c].code != 0;
					mixed = mixed || v->reps[i].given_mixed[c];
				}
				fprintf(f, ", \"given\": %s, \"mixed\": %s", given ? "true" : "false",
				        mixed ? "true" : "false");
			}
			fputc('}', f);
		}
		fputs("\n    ],\n    \"entities\": [", f);
		json_entity(f, v, RES_TOTAL, 0, true, run->json_describe);
		for (size_t g = 0; g < r0->n_groups; g++)
			json_entity(f, v, RES_GROUP, g, false, run->json_describe);
		for (size_t m = 0; m < r0->n_mailboxes; m++)
			json_entity(f, v, RES_MAILBOX, m, false, run->json_describe);
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

