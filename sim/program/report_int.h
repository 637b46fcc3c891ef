/* report_int.h - what the writers' files (report.c, report_table.c,
 * report_json.c, report_csv.c) share; not part of report.h's contract. */
#ifndef SIM_REPORT_INT_H
#define SIM_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "res_summary.h"

/* The code and text of class c as a variant's results show them: the
 * reply given (res_variant_reply), the catalog's code when none. */
int rpt__variant_reply_code(const rpt_variant *v, int c);
const char *rpt__variant_reply_text(const rpt_variant *v, int c);

/* A count or ratio, compact enough for a table cell. */
void rpt__format_number(double x, char *buf, size_t size);
/* A double for CSV and JSON: the shortest of %.15g, %.16g, %.17g that
 * parses back to x (report_csv.c).  buf holds at least 32 bytes. */
void rpt__shortest(double x, char *buf, size_t size);
/* Columns taken by a UTF-8 string (continuation bytes take none). */
size_t rpt__columns(const char *s);
/* s into buf, sanitised for the terminal (term_copy: controls, DEL, C1
 * and broken UTF-8 become '?'), cut to at most max columns with "..." on
 * a character boundary.  Every name a table shows goes through it. */
void rpt__truncate_name(const char *s, size_t max, char *buf, size_t size);

/* The sweep point of a variant entry, -1 when it is not one. */
int64_t rpt__sweep_point_of(const rpt_variant *v);
/* Does the run come from a sweep (some entry carries a point)? */
bool rpt__run_is_sweep(const rpt_run *run);
/* Does any replication count this class for this entity? */
bool rpt__class_used(const rpt_variant *v, res_entity_kind k, size_t index, res_what what, int c);

/* The figures of a view (RES_K_* of the figure catalog) in catalog order,
 * into out; their number. */
size_t rpt__key_figures(unsigned key, int out[FIG_COUNT]);

#endif
