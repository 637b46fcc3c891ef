/* report_html.h - the one-page report of a stored run (`throttlesim
 * report`): the scenario's question, the answer table with its intervals
 * and the paired differences from the base, the charts, the limits the
 * run used with where each value comes from, and the replies seen.  Two
 * forms of the same content:
 *
 *   HTML      one self-contained file: inline CSS, the charts as inline
 *             SVG, no script, nothing fetched (no src=, no link, no url()
 *             but to an id of the page itself).
 *   Markdown  GitHub-flavoured, for pasting into a ticket: the same
 *             tables; each chart as an image link to a file of the
 *             caller's naming (written beside it by the caller).
 *
 * Writers only read (as report.h's): they take the loaded run and the
 * charts already drawn, write to a FILE* and never print elsewhere.  Every
 * text from the store (names, reply texts, the scenario) is escaped for the
 * output (HTML: & < > " '; Markdown: its punctuation, backslash-escaped),
 * and controls and broken UTF-8 become '?', so a name is shown as written
 * and can never become markup.
 *
 * Sources: each limit is shown with its value and where the value comes
 * from: the preset's source keys (docs/SOURCES.md) and their kind
 * (published, third party, assumption), or "scenario" when the resolved
 * value differs from the preset's (the scenario or a variant set it).  The
 * source keys mirror the comments of models/presets.c; a preset this file
 * does not know is shown as "source not catalogued".
 *
 * Errors: SIM_EINVAL for a run without results, SIM_EIO when the stream
 * reports an error (part of the output may have been written).
 */
#ifndef SIM_REPORT_HTML_H
#define SIM_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* A chart already drawn: its file name ("compare.svg") and, for HTML, the
 * SVG text as gnuplot wrote it. */
typedef struct rpt_chart {
	const char *name;
	const char *svg;         /* NUL-terminated; NULL for Markdown */
	const char *link;        /* Markdown: the image's path relative to the page */
} rpt_chart;

typedef struct rpt_page {
	const store_loaded *l;   /* the run, with results */
	const char *db;          /* the store's path, shown as provenance */
	const rpt_chart *charts;
	size_t n_charts;
	const char *charts_note; /* NULL, or why some or all charts are missing */
} rpt_page;

int rpt_html(FILE *f, const rpt_page *p);
int rpt_markdown(FILE *f, const rpt_page *p);

/* The scenario's question: its text's leading block of comment lines
 * ('#' first, then one optional space stripped), up to the first line that
 * is not a comment; blank lines before it are skipped.  A malloc'd string
 * of the lines joined by '\n' ("" when there is none), or NULL when out of
 * memory. */
char *rpt_question(const char *scenario_text);

#endif
