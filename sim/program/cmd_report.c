/* cmd_report.c - `throttlesim report RUN --html FILE | --markdown FILE`:
 * the one-page report of a stored run (docs/REPORT.md).  It loads the run
 * read-only, has `throttlesim plot` draw the charts as SVG into a private
 * temporary directory (the plot command itself, so the report shows
 * exactly the charts `plot` draws, drawn the same safe way), and hands
 * run and charts to the writers of report_html.c.
 *
 * The plot command prints the images it wrote on standard output and its
 * problems on standard error; while it runs both are sent to files of the
 * private directory: the first gives the charts in the order drawn, the
 * second the reason charts are missing (gnuplot not installed...), which
 * the page states and standard error repeats.  A report without charts
 * is still a report: exit 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "exit.h"
#include "outfile.h"
#include "report_html.h"
#include "status.h"
#include "store.h"
#include "term.h"

static const char report_usage[] =
	"usage: throttlesim report RUN [--db FILE] [--html FILE] [--markdown FILE]\n"
	"                              [--no-charts] [--entity NAME] [--scripts DIR]\n"
	"\n"
	"Writes the one-page report of a stored run: the scenario's question (its\n"
	"leading comment block), the answer table with 95% intervals and the paired\n"
	"differences from the base, the charts, the limits the run used with where\n"
	"each value comes from (published source, assumption or the scenario), the\n"
	"replies seen, and the scenario itself.\n"
	"\n"
	"  RUN              a run id or 'last' (the newest run)\n"
	"  --db FILE        results store (default throttlesim.db), opened read-only\n"
	"  --html FILE      one self-contained HTML file: inline CSS, the charts as\n"
	"                   inline SVG, no script, nothing fetched from anywhere\n"
	"  --markdown FILE  GitHub Markdown for a ticket; each chart is written beside\n"
	"                   it as STEM-CHART.svg (FILE without .md) and linked\n"
	"  --no-charts      draw no chart (the page says so)\n"
	"  --entity NAME    the charts of this sender group or mailbox, as plot --entity\n"
	"                   draws them (the run replayed and checked); tables unchanged\n"
	"  --scripts DIR    the gnuplot scripts, as for plot --scripts\n"
	"  -h, --help       show this help\n"
	"\n"
	"At least one of --html and --markdown.  Charts need gnuplot; without it the\n"
	"report is written all the same and says why it has no charts.\n"
	"\n"
	"exit status: 0 success, 1 store unreadable or output not writable,\n"
	"2 bad usage, unknown run or --scripts DIR without scripts\n";

typedef struct report_opts {
	const char *db, *run, *html, *md, *scripts, *entity;
	bool no_charts;
} report_opts;

enum { RO_DB, RO_HTML, RO_MD, RO_NO_CHARTS, RO_SCRIPTS, RO_ENTITY };

static int report_option(void *ctx, int id, const char *opt, const char *v)
{
	(void)opt;
	report_opts *o = ctx;
	switch (id) {
	case CLI_ARG:
		if (o->run) {
			term_eprintf("throttlesim report: unexpected argument '%s' (try --help)\n", v);
			return -1;
		}
		o->run = v;
		return 0;
	case RO_DB: o->db = v; return 0;
	case RO_HTML: o->html = v; return 0;
	case RO_MD: o->md = v; return 0;
	case RO_SCRIPTS: o->scripts = v; return 0;
	case RO_ENTITY: o->entity = v; return 0;
	default: o->no_charts = true; return 0;
	}
}

/* -1 error (printed), 0 go on, 1 help printed. */
static int parse(int argc, char **argv, report_opts *o)
{
	static const cli_opt opts[] = {
		{ "--db", NULL, true, RO_DB }, { "--html", NULL, true, RO_HTML },
		{ "--markdown", NULL, true, RO_MD }, { "--no-charts", NULL, false, RO_NO_CHARTS },
		{ "--scripts", NULL, true, RO_SCRIPTS }, { "--entity", NULL, true, RO_ENTITY },
	};
	*o = (report_opts){ .db = "throttlesim.db" };
	int p = cli_parse("report", report_usage, opts, sizeof opts / sizeof opts[0], argc, argv,
	                  report_option, o);
	if (p != 0)
		return p;
	if (o->run == NULL) {
		fprintf(stderr, "throttlesim report: which run? give a run id or 'last' (try --help)\n");
		return -1;
	}
	if (o->html == NULL && o->md == NULL) {
		fprintf(stderr, "throttlesim report: where to? give --html FILE or --markdown FILE (try --help)\n");
		return -1;
	}
	return 0;
}

/* ---- the run ------------------------------------------------------------------ */

/* RUN read whole from the store.  0, EXIT_FAIL or EXIT_USAGE (printed). */
static int load_run(const report_opts *o, store_loaded **l)
{
	int64_t id = 0;
	if (strcmp(o->run, "last") != 0) {
		char *end;
		errno = 0;
		long long v = strtoll(o->run, &end, 10);
		if (errno || *end || end == o->run || v <= 0) {
			term_eprintf("throttlesim report: RUN: expected a run id (1, 2, ...) or 'last', got '%s'\n",
			             o->run);
			return EXIT_USAGE;
		}
		id = v;
	}
	sqlite3 *db = NULL;
	char err[1024] = "";
	int st = store_open_readonly(o->db, &db, err, sizeof err);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if (id == 0 && (st = store_last_run(db, &id, err, sizeof err)) != SIM_OK) {
		term_eprintf("throttlesim report: %s\n", err);
		store_close(db);
		return st == SIM_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	st = store_load_run(db, id, l, err, sizeof err);
	store_close(db);
	if (st == SIM_EINVAL) {
		term_eprintf("throttlesim report: %s: no run %lld (see throttlesim results list)\n", o->db,
		             (long long)id);
		return EXIT_USAGE;
	}
	if (st != SIM_OK) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if ((*l)->run.n_variants == 0) {
		fprintf(stderr, "throttlesim report: run %lld has no results (interrupted, or still running)\n",
		        (long long)id);
		return EXIT_FAIL;
	}
	return 0;
}

/* ---- the charts ------------------------------------------------------------------ */

typedef struct charts {
	char tmp[4096];          /* the private directory; "" when none */
	rpt_chart *c;
	size_t n;
	char *note;              /* why charts are missing, or NULL */
} charts;

/* The whole file at path (a NUL after it), or NULL. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t n = 0, cap = 8192;
	char *s = malloc(cap);
	for (size_t k; s && (k = fread(s + n, 1, cap - n - 1, f)) > 0;) {
		n += k;
		if (cap - n - 1 == 0) {
			char *t = realloc(s, cap * 2);
			if (t == NULL) {
				free(s);
				s = NULL;
				break;
			}
			s = t;
			cap *= 2;
		}
	}
	if (s && ferror(f)) {
		free(s);
		s = NULL;
	}
	fclose(f);
	if (s)
		s[n] = 0;
	return s;
}

/* Sends fd (1 or 2) to a new file path; the old one in *saved.  0 or -1. */
static int redirect(int fd, const char *path, int *saved)
{
	fflush(fd == 1 ? stdout : stderr);
	int t = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (t < 0)
		return -1;
	*saved = dup(fd);
	if (*saved < 0 || dup2(t, fd) < 0) {
		if (*saved >= 0)
			close(*saved);
		close(t);
		return -1;
	}
	close(t);
	return 0;
}

static void restore(int fd, int saved)
{
	fflush(fd == 1 ? stdout : stderr);
	dup2(saved, fd);
	close(saved);
}

/* Removes the files of dir and dir itself (the program makes nothing else there). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[8192];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		struct stat sb;
		if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			remove_dir(p);
		else
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void charts_free(charts *ch)
{
	for (size_t i = 0; i < ch->n; i++) {
		free((char *)ch->c[i].name);
		free((char *)ch->c[i].svg);
		free((char *)ch->c[i].link);
	}
	free(ch->c);
	free(ch->note);
	if (ch->tmp[0])
		remove_dir(ch->tmp);
	ch->tmp[0] = 0;
}

/* Reads the images plot printed, in its order, and keeps its "note:"
 * lines (a chart it leaves out, and why) in *notes.  0 or EXIT_FAIL. */
static int take_charts(charts *ch, const char *out_dir, const char *printed, char **notes)
{
	size_t prefix = strlen(out_dir);
	for (const char *p = printed; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t k = nl ? (size_t)(nl - p) : strlen(p);
		if (k > 6 && strncmp(p, "note: ", 6) == 0) {
			size_t have = *notes ? strlen(*notes) : 0;
			char *t = realloc(*notes, have + k + 3);
			if (t == NULL) {
				fprintf(stderr, "throttlesim: out of memory\n");
				return EXIT_FAIL;
			}
			if (have) {
				t[have++] = ';';
				t[have++] = ' ';
			}
			memcpy(t + have, p + 6, k - 6);
			t[have + k - 6] = 0;
			*notes = t;
		}
		if (k > prefix + 5 && strncmp(p, out_dir, prefix) == 0 && p[prefix] == '/' &&
		    strncmp(p + k - 4, ".svg", 4) == 0) {
			char *path = strndup(p, k);
			rpt_chart *c = realloc(ch->c, (ch->n + 1) * sizeof *c);
			if (path == NULL || c == NULL) {
				free(path);
				if (c)
					ch->c = c;
				fprintf(stderr, "throttlesim: out of memory\n");
				return EXIT_FAIL;
			}
			ch->c = c;
			char *svg = read_all(path);
			char *name = strdup(path + prefix + 1);
			free(path);
			if (svg == NULL || name == NULL) {
				free(svg);
				free(name);
				term_eprintf("throttlesim report: cannot read the chart %.*s\n", (int)k, p);
				return EXIT_FAIL;
			}
			ch->c[ch->n++] = (rpt_chart){ .name = name, .svg = svg };
		}
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* The charts of run id, drawn by `throttlesim plot` as SVG in a private
 * directory.  0 (charts may be missing: ch->note says why), EXIT_FAIL,
 * or EXIT_USAGE when plot found the usage wrong (--scripts DIR). */
static int draw_charts(const report_opts *o, int64_t id, charts *ch)
{
	const char *base = getenv("TMPDIR");
	if (base == NULL || *base == 0)
		base = "/tmp";
	int k = snprintf(ch->tmp, sizeof ch->tmp, "%s/throttlesim-report-XXXXXX", base);
	if (k < 0 || (size_t)k >= sizeof ch->tmp - 64 || mkdtemp(ch->tmp) == NULL) {
		term_eprintf("throttlesim report: cannot make a temporary directory in %s: %s\n", base,
		             k < 0 || (size_t)k >= sizeof ch->tmp - 64 ? "the path is too long" : strerror(errno));
		ch->tmp[0] = 0;
		return EXIT_FAIL;
	}
	char out_dir[sizeof ch->tmp + 16], out_path[sizeof ch->tmp + 16], err_path[sizeof ch->tmp + 16];
	char run[32];
	snprintf(out_dir, sizeof out_dir, "%s/charts", ch->tmp);
	snprintf(out_path, sizeof out_path, "%s/plot.out", ch->tmp);
	snprintf(err_path, sizeof err_path, "%s/plot.err", ch->tmp);
	snprintf(run, sizeof run, "%lld", (long long)id);
	char *args[12] = { run, "--db", (char *)o->db, "--out", out_dir, "--format", "svg" };
	int nargs = 7;
	if (o->scripts) {
		args[nargs++] = "--scripts";
		args[nargs++] = (char *)o->scripts;
	}
	if (o->entity) {
		args[nargs++] = "--entity";
		args[nargs++] = (char *)o->entity;
	}
	args[nargs] = NULL;
	int saved_out, saved_err;
	if (redirect(1, out_path, &saved_out) != 0) {
		term_eprintf("throttlesim report: %s: %s\n", out_path, strerror(errno));
		return EXIT_FAIL;
	}
	if (redirect(2, err_path, &saved_err) != 0) {
		int e = errno;
		restore(1, saved_out);
		term_eprintf("throttlesim report: %s: %s\n", err_path, strerror(e));
		return EXIT_FAIL;
	}
	int rc = cmd_plot(nargs, args);
	clearerr(stdout);
	restore(2, saved_err);
	restore(1, saved_out);
	char *printed = read_all(out_path), *said = read_all(err_path), *notes = NULL;
	int trc = take_charts(ch, out_dir, printed, &notes);
	free(printed);
	if (said && *said) {
		/* shown once on standard error, and in the page */
		size_t n = strlen(said);
		while (n > 0 && said[n - 1] == '\n')
			said[--n] = 0;
		fputs("throttlesim report: while drawing the charts:\n", stderr);
		term_eprintf("%s\n", said);
		const char *lead = rc != 0 ? "Charts could not be drawn: " : "While drawing the charts: ";
		ch->note = malloc(strlen(lead) + n + 1);
		if (ch->note) {
			strcpy(ch->note, lead);
			strcat(ch->note, said);
		}
	} else if (rc != 0) {
		ch->note = strdup("Charts could not be drawn (the plot command failed without saying why).");
	}
	free(said);
	if (notes && trc == 0 && rc == 0) {
		/* what plot left out on purpose (a sweep's many time series) */
		static const char lead[] = "Charts left out: ";
		size_t have = ch->note ? strlen(ch->note) + 1 : 0;
		char *t = malloc(have + sizeof lead + strlen(notes));
		if (t) {
			snprintf(t, have + sizeof lead + strlen(notes), "%s%s%s%s", ch->note ? ch->note : "",
			         ch->note ? " " : "", lead, notes);
			free(ch->note);
			ch->note = t;
		}
	}
	free(notes);
	/* a --scripts DIR without scripts is the user's to fix, as for plot */
	return trc != 0 ? trc : rc == EXIT_USAGE ? EXIT_USAGE : 0;
}

/* ---- writing ----------------------------------------------------------------------- */

/* path without a final ".md" (or ".markdown"), as the charts' stem. */
static char *md_stem(const char *path)
{
	size_t n = strlen(path);
	if (n > 3 && strcmp(path + n - 3, ".md") == 0)
		n -= 3;
	else if (n > 9 && strcmp(path + n - 9, ".markdown") == 0)
		n -= 9;
	return strndup(path, n);
}

/* The file name part of s, percent-encoded for a Markdown link. */
static char *link_of(const char *s)
{
	const char *slash = strrchr(s, '/');
	if (slash)
		s = slash + 1;
	char *out = malloc(strlen(s) * 3 + 1);
	if (out == NULL)
		return NULL;
	size_t n = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '-' || c == '_')
			out[n++] = (char)c;
		else
			n += (size_t)sprintf(out + n, "%%%02X", c);
	}
	out[n] = 0;
	return out;
}

/* text into a new file path (outfile.h).  0 or EXIT_FAIL. */
static int write_text_file(const char *path, const char *text)
{
	outf f;
	char err[8192];
	if (outf_open(&f, path, err, sizeof err) != 0) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	fputs(text, f.f);
	if (ferror(f.f)) {
		term_eprintf("throttlesim: writing %s: %s\n", path, strerror(errno));
		outf_abort(&f);
		return EXIT_FAIL;
	}
	if (outf_commit(&f, err, sizeof err) != 0) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	term_printf("%s\n", path);
	return 0;
}

static int write_page(const char *path, const rpt_page *p, bool md)
{
	outf f;
	char err[8192];
	if (outf_open(&f, path, err, sizeof err) != 0) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	int st = md ? rpt_markdown(f.f, p) : rpt_html(f.f, p);
	if (st != SIM_OK) {
		term_eprintf("throttlesim: writing %s: %s\n", path,
		             st == SIM_EIO ? strerror(errno) : "the run has no results");
		outf_abort(&f);
		return EXIT_FAIL;
	}
	if (outf_commit(&f, err, sizeof err) != 0) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	term_printf("%s\n", path);
	return 0;
}

/* The Markdown page and its charts beside it (STEM-NAME.svg). */
static int write_markdown(const report_opts *o, rpt_page *p, charts *ch)
{
	char *stem = md_stem(o->md);
	if (stem == NULL) {
		fprintf(stderr, "throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	int rc = 0;
	for (size_t i = 0; i < ch->n && rc == 0; i++) {
		size_t len = strlen(stem) + strlen(ch->c[i].name) + 2;
		char *path = malloc(len);
		if (path == NULL) {
			rc = EXIT_FAIL;
			break;
		}
		snprintf(path, len, "%s-%s", stem, ch->c[i].name);
		rc = write_text_file(path, ch->c[i].svg);
		free((char *)ch->c[i].link);
		ch->c[i].link = link_of(path);
		if (ch->c[i].link == NULL)
			rc = EXIT_FAIL;
		free(path);
	}
	free(stem);
	if (rc == 0)
		rc = write_page(o->md, p, true);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	report_opts o;
	int p = parse(argc, argv, &o);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	store_loaded *l = NULL;
	int rc = load_run(&o, &l);
	charts ch = { .tmp = "" };
	if (rc == 0 && !o.no_charts)
		rc = draw_charts(&o, l->row.id, &ch);
	else if (rc == 0)
		ch.note = strdup("Charts were not drawn (--no-charts); throttlesim plot draws them.");
	rpt_page page = { .l = l, .db = o.db, .charts = ch.c, .n_charts = ch.n, .charts_note = ch.note };
	if (rc == 0 && o.html)
		rc = write_page(o.html, &page, false);
	if (rc == 0 && o.md)
		rc = write_markdown(&o, &page, &ch);
	charts_free(&ch);
	store_loaded_free(l);
	return rc;
}
