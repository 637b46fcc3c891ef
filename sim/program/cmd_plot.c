/* cmd_plot.c - `throttlesim plot RUN`: the charts of a stored run.
 *
 * Data flows one way: the results store (read-only) -> plain whitespace
 * data files in the output directory -> gnuplot, run on the scripts of
 * plots/ with its inputs as variables (-e "datafile='...'; out='...'").
 * The data files stay beside the images so that a chart can be redrawn or
 * restyled without throttlesim.  gnuplot runs without a shell
 * (posix_spawn), its standard error captured and shown when it fails.
 *
 * Charts (docs/PLOTS.md):
 *   timeseries  per variant, replication 0: accepted and refused per minute
 *               by reply class; outbox backlog and open sessions against
 *               the concurrency limit; error-throttle periods shaded
 *   cdf         delivery delay distribution of every variant (quantiles
 *               averaged over replications), from table delay_cdf
 *   compare     key figures of every variant, bars with 95% intervals
 *   sweep       a figure against the swept value, with its 95% band, from
 *               the variants columns point / sweep_key / sweep_value
 * A chart whose table or columns this store does not have is skipped with
 * a note; that is not a failure.
 *
 * Strings handed to gnuplot are single-quoted ('' for a quote) and drawn
 * with enhanced text off, so names with _ ^ { } @ show as written.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "results.h"
#include "status.h"
#include "store.h"

extern char **environ;

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define PLOT_W 1000
#define PLOT_H 600
/* Directories are kept short enough that every file name built from them fits in PATH_MAX. */
#define DIR_MAX 2048

static const char plot_usage[] =
	"usage: throttlesim plot RUN [--db FILE] [--out DIR] [--format png|svg]\n"
	"                            [--chart KIND] [--variant NAME] [--figure NAME]\n"
	"\n"
	"Draws the charts of a stored run with gnuplot (scripts in plots/):\n"
	"  timeseries  per variant, replication 0: accepted and refused per minute\n"
	"              by reply class, outbox backlog, open sessions against the\n"
	"              concurrency limit, error-throttle periods shaded\n"
	"  cdf         delivery delay distribution of every variant on one chart\n"
	"  compare     the variants' key figures, bars with 95% interval whiskers\n"
	"  sweep       a figure against the swept value, with its 95% band\n"
	"\n"
	"  RUN            a run id or 'last' (the newest run)\n"
	"  --db FILE      results store (default throttlesim.db), opened read-only\n"
	"  --out DIR      where images and their data files go (default plots-run<ID>)\n"
	"  --format F     png (default) or svg\n"
	"  --chart KIND   draw only this chart: timeseries, cdf, compare or sweep\n"
	"  --variant NAME time series of this variant only (default: every variant)\n"
	"  --figure NAME  the sweep chart's figure (default delivery_delay_p95)\n"
	"  -h, --help     show this help\n"
	"\n"
	"The scripts are looked for in $THROTTLESIM_PLOTS, ./plots, then plots/ of\n"
	"the source tree the program was built in.\n"
	"\n"
	"exit status: 0 success, 1 gnuplot missing or failed, store unreadable or\n"
	"output not writable, 2 bad usage or unknown run, variant or figure\n";

/* ---- a growing string ---------------------------------------------------------- */

typedef struct sbuf {
	char *s;
	size_t n, cap;
	bool oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->n;
		int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = true;
			return;
		}
		if (b->s && (size_t)k < room) {
			b->n += (size_t)k;
			return;
		}
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + (size_t)k + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (s == NULL) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/* name='value' as a gnuplot string ('' inside for '). */
static void gp_str(sbuf *b, const char *name, const char *value)
{
	sb_printf(b, "%s='", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\'')
			sb_printf(b, "''");
		else if (*p == '\n' || *p == '\r')
			sb_printf(b, " ");
		else
			sb_printf(b, "%c", *p);
	}
	sb_printf(b, "'; ");
}

static void gp_num(sbuf *b, const char *name, double v)
{
	sb_printf(b, "%s=%.17g; ", name, v);
}

static void gp_int(sbuf *b, const char *name, long long v)
{
	sb_printf(b, "%s=%lld; ", name, v);
}

/* ---- options ----------------------------------------------------------------- */

typedef enum chart_kind { CH_TIMESERIES, CH_CDF, CH_COMPARE, CH_SWEEP, CH_COUNT } chart_kind;

static const char *const chart_names[CH_COUNT] = { "timeseries", "cdf", "compare", "sweep" };

typedef struct plot_opts {
	const char *db, *run, *out, *format, *variant, *figure;
	int chart;   /* -1: all */
} plot_opts;

/* -1 error (printed), 0 go on, 1 help printed. */
static int parse(int argc, char **argv, plot_opts *o)
{
	*o = (plot_opts){ .db = "throttlesim.db", .format = "png", .figure = "delivery_delay_p95",
	                  .chart = -1 };
	static const char *const with_value[] = { "--db", "--out", "--format", "--chart", "--variant",
	                                          "--figure" };
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(plot_usage, stdout);
			return 1;
		}
		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (o->run) {
				fprintf(stderr, "throttlesim plot: unexpected argument '%s' (try --help)\n", a);
				return -1;
			}
			o->run = a;
			continue;
		}
		size_t k = 0;
		while (k < sizeof with_value / sizeof with_value[0] && strcmp(a, with_value[k]) != 0)
			k++;
		if (k == sizeof with_value / sizeof with_value[0]) {
			fprintf(stderr, "throttlesim plot: unknown option '%s' (try --help)\n", a);
			return -1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "throttlesim plot: %s needs a value (try --help)\n", a);
			return -1;
		}
		const char *v = argv[++i];
		switch (k) {
		case 0: o->db = v; break;
		case 1: o->out = v; break;
		case 2:
			if (strcmp(v, "png") != 0 && strcmp(v, "svg") != 0) {
				fprintf(stderr, "throttlesim plot: --format: expected png or svg, got '%s'\n", v);
				return -1;
			}
			o->format = v;
			break;
		case 3:
			for (int c = 0; c < CH_COUNT; c++)
				if (strcmp(v, chart_names[c]) == 0)
					o->chart = c;
			if (o->chart < 0) {
				fprintf(stderr, "throttlesim plot: --chart: expected timeseries, cdf, compare"
				        " or sweep, got '%s'\n", v);
				return -1;
			}
			break;
		case 4: o->variant = v; break;
		default: o->figure = v; break;
		}
	}
	if (o->run == NULL) {
		fprintf(stderr, "throttlesim plot: which run? give a run id or 'last' (try --help)\n");
		return -1;
	}
	return 0;
}

/* ---- the context of one plot command ------------------------------------------- */

typedef struct variant_row {
	int64_t idx;
	char *name;
	bool has_point;          /* a sweep point (point IS NOT NULL) */
	char *key, *key2;        /* NULL when none */
	double value, value2;    /* NaN when none */
	int64_t n_mailboxes;
} variant_row;

typedef struct plot_ctx {
	const plot_opts *o;
	sqlite3 *db;
	int64_t run_id;
	char *scenario_name, *scenario_text;
	int64_t replications;
	char gnuplot[PATH_MAX];
	char scripts[DIR_MAX];
	char out[DIR_MAX];
	variant_row *v;
	size_t n_v;
	bool sweep_columns;      /* variants has point, sweep_key, sweep_value */
	bool sweep_columns2;     /* ... and sweep_key2, sweep_value2 */
	bool is_sweep;           /* some variant has a point */
	int written;
} plot_ctx;

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static double col_real(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int db_fail(plot_ctx *c, const char *what)
{
	fprintf(stderr, "throttlesim: %s: %s while %s\n", c->o->db, sqlite3_errmsg(c->db), what);
	return EXIT_FAIL;
}

static bool has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool yes = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		yes = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return yes;
}

static bool has_column(sqlite3 *db, const char *table, const char *col)
{
	sqlite3_stmt *st = NULL;
	bool yes = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
		yes = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return yes;
}

/* A file name part from a variant name: letters, digits, - _ . kept. */
static void safe_name(const char *s, char *buf, size_t size)
{
	size_t n = 0;
	for (; *s && n + 1 < size && n < 48; s++) {
		char ch = *s;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		          ch == '-' || ch == '_' || ch == '.';
		buf[n++] = ok ? ch : '_';
	}
	buf[n] = 0;
}

/* Seconds shown in the unit that keeps the numbers short. */
static void time_unit(double max_s, double *scale, const char **unit)
{
	if (!(max_s >= 180.0)) {
		*scale = 1.0;
		*unit = "s";
	} else if (max_s < 3.0 * 3600.0) {
		*scale = 1.0 / 60.0;
		*unit = "min";
	} else {
		*scale = 1.0 / 3600.0;
		*unit = "h";
	}
}

/* ---- finding gnuplot and the scripts ------------------------------------------- */

static bool find_in_path(const char *prog, char *out, size_t size)
{
	const char *path = getenv("PATH");
	if (path == NULL || *path == 0)
		return false;
	while (*path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		char cand[PATH_MAX];
		int k = len == 0 ? snprintf(cand, sizeof cand, "./%s", prog)
		                 : snprintf(cand, sizeof cand, "%.*s/%s", (int)len, path, prog);
		struct stat sb;
		if (k > 0 && (size_t)k < sizeof cand && stat(cand, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    access(cand, X_OK) == 0) {
			if ((size_t)k >= size)
				return false;
			memcpy(out, cand, (size_t)k + 1);
			return true;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

static bool scripts_in(const char *dir)
{
	char p[PATH_MAX];
	int k = snprintf(p, sizeof p, "%s/timeseries.gp", dir);
	return k > 0 && (size_t)k < sizeof p && access(p, R_OK) == 0;
}

static bool find_scripts(char *out, size_t size)
{
	const char *env = getenv("THROTTLESIM_PLOTS");
	if (env && *env) {
		if (!scripts_in(env) || strlen(env) >= size)
			return false;   /* an explicit choice that is wrong is not silently replaced */
		strcpy(out, env);
		return true;
	}
	if (scripts_in("plots")) {
		snprintf(out, size, "plots");
		return true;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash == NULL)
		return false;
	*slash = 0;
	/* build/<variant>/throttlesim, build/<variant>/tests/test_x */
	static const char *const up[] = { "/../../plots", "/../../../plots" };
	for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
		char cand[PATH_MAX];
		int k = snprintf(cand, sizeof cand, "%s%s", exe, up[i]);
		if (k > 0 && (size_t)k < sizeof cand && (size_t)k < size && scripts_in(cand)) {
			memcpy(out, cand, (size_t)k + 1);
			return true;
		}
	}
	return false;
}

/* ---- running gnuplot -------------------------------------------------------------- */

/* Runs gnuplot on plots/<script>.gp with vars; checks that `image` was
 * written and is not empty, and prints its path.  0 or EXIT_FAIL. */
static int render(plot_ctx *c, const char *script, sbuf *vars, const char *image)
{
	if (vars->oom) {
		fprintf(stderr, "throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	char spath[PATH_MAX];
	snprintf(spath, sizeof spath, "%s/%s.gp", c->scripts, script);
	int pipefd[2];
	if (pipe(pipefd) != 0) {
		fprintf(stderr, "throttlesim: pipe: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	posix_spawn_file_actions_addclose(&fa, pipefd[1]);
	char *args[] = { c->gnuplot, "-e", vars->s, spath, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, c->gnuplot, &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		fprintf(stderr, "throttlesim: cannot run %s: %s\n", c->gnuplot, strerror(rc));
		return EXIT_FAIL;
	}
	/* gnuplot's messages: kept (up to 8 KiB) to show if it fails. */
	char msg[8192];
	size_t mlen = 0;
	for (;;) {
		char chunk[1024];
		ssize_t k = read(pipefd[0], chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		size_t take = (size_t)k < sizeof msg - 1 - mlen ? (size_t)k : sizeof msg - 1 - mlen;
		memcpy(msg + mlen, chunk, take);
		mlen += take;
	}
	msg[mlen] = 0;
	close(pipefd[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "throttlesim: waiting for gnuplot: %s\n", strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status))
			fprintf(stderr, "throttlesim: gnuplot failed on %s (exit status %d)%s\n%s", spath,
			        WEXITSTATUS(status), mlen ? ":" : "", msg);
		else
			fprintf(stderr, "throttlesim: gnuplot was killed by signal %d on %s\n",
			        WTERMSIG(status), spath);
		return EXIT_FAIL;
	}
	struct stat sb;
	if (stat(image, &sb) != 0 || sb.st_size == 0) {
		fprintf(stderr, "throttlesim: gnuplot wrote no image %s%s%s", image, mlen ? ":\n" : "\n", msg);
		return EXIT_FAIL;
	}
	printf("%s\n", image);
	c->written++;
	return 0;
}

/* Common variables of every script; image path in img. */
static void common_vars(plot_ctx *c, sbuf *b, const char *datafile, const char *img,
                        const char *title)
{
	gp_str(b, "datafile", datafile);
	gp_str(b, "out", img);
	gp_str(b, "fmt", c->o->format);
	gp_str(b, "title", title);
	gp_int(b, "width", PLOT_W);
	gp_int(b, "height", PLOT_H);
}

static FILE *open_data(plot_ctx *c, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		fprintf(stderr, "throttlesim: %s: %s\n", path, strerror(errno));
	(void)c;
	return f;
}

static int close_data(FILE *f, const char *path)
{
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		fprintf(stderr, "throttlesim: writing %s: %s\n", path, strerror(errno));
		return EXIT_FAIL;
	}
	return 0;
}

/* Writes x to f, "NaN" for a missing value (gnuplot skips it). */
static void put_num(FILE *f, double x)
{
	if (isfinite(x))
		fprintf(f, " %.10g", x);
	else
		fputs(" NaN", f);
}

/* ---- the concurrency limit of a variant -------------------------------------------- */

/* The per-mailbox concurrent connection limit the run's scenario text sets:
 * its limits' max_concurrent_connections, else 3 for the exchange-online
 * preset (the default).  0 when it cannot be told from the text this
 * simply (other presets, routes, another scope, off): no line is drawn
 * rather than a wrong one.  Variants that change the limit are not seen. */
static int concurrency_limit(const char *text)
{
	int limit = 3;
	bool found = false;
	const char *p = text;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		size_t n = len < sizeof line - 1 ? len : sizeof line - 1;
		memcpy(line, p, n);
		line[n] = 0;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *s = line;
		while (*s == ' ' || *s == '\t' || *s == '-')
			s++;
		if (strncmp(s, "routes:", 7) == 0)
			return 0;
		if (strncmp(s, "preset:", 7) == 0) {
			char *v = s + 7;
			while (*v == ' ' || *v == '"' || *v == '\'')
				v++;
			if (strncmp(v, "exchange-online", 15) != 0)
				return 0;
		}
		if (strncmp(s, "concurrency_scope:", 18) == 0 && strstr(s, "mailbox") == NULL)
			return 0;
		if (strncmp(s, "max_concurrent_connections:", 27) == 0) {
			char *v = s + 27;
			char *end;
			long x = strtol(v, &end, 10);
			if (found || end == v || x <= 0 || x > 100000)
				return 0;   /* off, or given twice (a mailbox override) */
			limit = (int)x;
			found = true;
		}
		p = eol ? eol + 1 : NULL;
	}
	return limit;
}

/* ---- chart 1: time series ------------------------------------------------------------ */

static int chart_timeseries_one(plot_ctx *c, const variant_row *v, int limit_per_mailbox)
{
	/* Which reply classes occur in this replication's series. */
	bool occurs[RC_COUNT] = { false };
	sbuf q = { 0 };
	sb_printf(&q, "SELECT step, t_s, accepted, backlog, open_sessions, throttled");
	for (int r = 1; r < RC_COUNT; r++)
		sb_printf(&q, ", rejected_%s", rpt_reply_id(r));
	sb_printf(&q, " FROM series WHERE run_id = ?1 AND variant_idx = ?2 AND replication = 0"
	          " ORDER BY step");
	if (q.oom) {
		free(q.s);
		fprintf(stderr, "throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, q.s, -1, &st, NULL) != SQLITE_OK) {
		free(q.s);
		return db_fail(c, "reading the time series");
	}
	free(q.s);
	sqlite3_bind_int64(st, 1, c->run_id);
	sqlite3_bind_int64(st, 2, v->idx);
	size_t rows = 0;
	double t_prev = 0, step_s = 60.0, t_last = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		double t = sqlite3_column_double(st, 1);
		if (rows == 1)
			step_s = t - t_prev;
		t_prev = t;
		t_last = t;
		for (int r = 1; r < RC_COUNT; r++)
			if (sqlite3_column_int64(st, 5 + r) > 0)
				occurs[r] = true;
		rows++;
	}
	if (rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return db_fail(c, "reading the time series");
	}
	if (rows == 0) {
		sqlite3_finalize(st);
		printf("note: variant '%s' has no time series in run %lld: no time series chart\n", v->name,
		       (long long)c->run_id);
		return 0;
	}
	if (!(step_s > 0))
		step_s = 60.0;
	double per_min = 60.0 / step_s;

	char sname[64], data[PATH_MAX], img[PATH_MAX];
	safe_name(v->name, sname, sizeof sname);
	snprintf(data, sizeof data, "%s/timeseries-%lld-%s.dat", c->out, (long long)v->idx, sname);
	snprintf(img, sizeof img, "%s/timeseries-%lld-%s.%s", c->out, (long long)v->idx, sname,
	         c->o->format);
	FILE *f = open_data(c, data);
	if (f == NULL) {
		sqlite3_finalize(st);
		return EXIT_FAIL;
	}
	fprintf(f, "# throttlesim run %lld, variant %lld '%s', replication 0; step %g s\n"
	        "# t_h accepted_per_min backlog open_sessions throttled_mailboxes", (long long)c->run_id,
	        (long long)v->idx, v->name, step_s);
	int n_classes = 0;
	for (int r = 1; r < RC_COUNT; r++)
		if (occurs[r]) {
			fprintf(f, " rejected_%s_per_min", rpt_reply_id(r));
			n_classes++;
		}
	fputc('\n', f);
	/* Error-throttle periods as [from, to) hours, merged across steps. */
	sbuf thr = { 0 };
	double thr_from = -1;
	int n_periods = 0, max_sessions = 0;
	sqlite3_reset(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		double t_h = sqlite3_column_double(st, 1) / 3600.0;
		int64_t sessions = sqlite3_column_int64(st, 4);
		bool throttled = sqlite3_column_int64(st, 5) > 0;
		if (sessions > max_sessions)
			max_sessions = (int)sessions;
		fprintf(f, "%.6f %.6g %lld %lld %lld", t_h, (double)sqlite3_column_int64(st, 2) * per_min,
		        (long long)sqlite3_column_int64(st, 3), (long long)sessions,
		        (long long)sqlite3_column_int64(st, 5));
		for (int r = 1; r < RC_COUNT; r++)
			if (occurs[r])
				fprintf(f, " %.6g", (double)sqlite3_column_int64(st, 5 + r) * per_min);
		fputc('\n', f);
		if (throttled && thr_from < 0)
			thr_from = t_h;
		if (!throttled && thr_from >= 0) {
			sb_printf(&thr, "%.6f %.6f ", thr_from, t_h);
			thr_from = -1;
			n_periods++;
		}
	}
	sqlite3_finalize(st);
	double end_h = (t_last + step_s) / 3600.0;
	if (thr_from >= 0) {
		sb_printf(&thr, "%.6f %.6f ", thr_from, end_h);
		n_periods++;
	}
	if (rc != SQLITE_DONE) {
		fclose(f);
		free(thr.s);
		return db_fail(c, "reading the time series");
	}
	if (close_data(f, data) != 0) {
		free(thr.s);
		return EXIT_FAIL;
	}

	char title[512];
	snprintf(title, sizeof title, "%s, variant %s: replication 0 (run %lld)", c->scenario_name,
	         v->name, (long long)c->run_id);
	sbuf b = { 0 };
	common_vars(c, &b, data, img, title);
	gp_num(&b, "xmax", end_h);
	gp_int(&b, "nclass", n_classes);
	int k = 0;
	for (int r = 1; r < RC_COUNT; r++) {
		if (!occurs[r])
			continue;
		char name[32], label[96];
		snprintf(name, sizeof name, "cname%d", ++k);
		/* "432 concurrency": the code people see in logs, then the class. */
		const char *id = rpt_reply_id(r);
		if (r == RC_MESSAGE_RATE)
			snprintf(label, sizeof label, "%s", id);
		else
			snprintf(label, sizeof label, "%s %s", rpt_reply_short(r), id);
		for (char *p = label; *p; p++)
			if (*p == '_')
				*p = ' ';
		gp_str(&b, name, label);
	}
	int64_t limit = limit_per_mailbox > 0 && v->n_mailboxes > 0
	                ? (int64_t)limit_per_mailbox * v->n_mailboxes : 0;
	gp_int(&b, "limit", limit);
	char llabel[128];
	if (v->n_mailboxes > 1)
		snprintf(llabel, sizeof llabel, "concurrency limit, %d x %lld mailboxes",
		         limit_per_mailbox, (long long)v->n_mailboxes);
	else
		snprintf(llabel, sizeof llabel, "concurrency limit, %d per mailbox", limit_per_mailbox);
	gp_str(&b, "limitlabel", llabel);
	gp_int(&b, "nperiods", n_periods);
	gp_str(&b, "periods", thr.s ? thr.s : "");
	free(thr.s);
	int ret = render(c, "timeseries", &b, img);
	free(b.s);
	return ret;
}

static int chart_timeseries(plot_ctx *c)
{
	if (c->o->variant == NULL && c->is_sweep && c->o->chart != CH_TIMESERIES) {
		printf("note: run %lld is a sweep of %zu variants: time series only with --variant NAME"
		       " or --chart timeseries\n", (long long)c->run_id, c->n_v);
		return 0;
	}
	int limit = concurrency_limit(c->scenario_text);
	int ret = 0;
	for (size_t i = 0; i < c->n_v && ret == 0; i++)
		if (c->o->variant == NULL || strcmp(c->o->variant, c->v[i].name) == 0)
			ret = chart_timeseries_one(c, &c->v[i], limit);
	return ret;
}

/* ---- chart 2: delay distributions -------------------------------------------------------- */

/* The variables nvar and vname1.. naming every variant in a legend; in a
 * sweep the same name stands at every point, so the point is added. */
static void variant_names(const plot_ctx *c, sbuf *b)
{
	gp_int(b, "nvar", (long long)c->n_v);
	for (size_t i = 0; i < c->n_v; i++) {
		char name[32], label[256];
		const variant_row *v = &c->v[i];
		snprintf(name, sizeof name, "vname%zu", i + 1);
		if (v->has_point && v->key) {
			const char *k = strrchr(v->key, '.');
			snprintf(label, sizeof label, "%s, %s = %g", v->name, k ? k + 1 : v->key, v->value);
		} else {
			snprintf(label, sizeof label, "%s", v->name);
		}
		gp_str(b, name, label);
	}
}

static int chart_cdf(plot_ctx *c)
{
	if (!has_table(c->db, "delay_cdf")) {
		printf("note: this store has no delay_cdf table (it predates stored delay distributions):"
		       " no delay distribution chart\n");
		return 0;
	}
	enum { NQ = 101 };
	double *m = malloc(c->n_v * NQ * sizeof *m);
	if (m == NULL) {
		fprintf(stderr, "throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < c->n_v * NQ; i++)
		m[i] = NAN;
	sqlite3_stmt *st = NULL;
	/* Quantiles averaged over replications, q by q (a "Vincent average"):
	 * the distribution of a typical replication. */
	if (sqlite3_prepare_v2(c->db,
	        "SELECT variant_idx, q, avg(value_s) FROM delay_cdf WHERE run_id = ?1"
	        " AND kind = 'delivery' AND value_s IS NOT NULL GROUP BY variant_idx, q", -1, &st,
	        NULL) != SQLITE_OK) {
		free(m);
		return db_fail(c, "reading the delay distributions");
	}
	sqlite3_bind_int64(st, 1, c->run_id);
	int rc;
	size_t points = 0;
	double lo = INFINITY, hi = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t vi = sqlite3_column_int64(st, 0), q = sqlite3_column_int64(st, 1);
		double x = col_real(st, 2);
		size_t slot = 0;
		while (slot < c->n_v && c->v[slot].idx != vi)
			slot++;
		if (slot == c->n_v || q < 0 || q >= NQ || !isfinite(x))
			continue;
		m[slot * NQ + (size_t)q] = x;
		points++;
		if (x > 0 && x < lo)
			lo = x;
		if (x > hi)
			hi = x;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(m);
		return db_fail(c, "reading the delay distributions");
	}
	if (points == 0) {
		free(m);
		printf("note: run %lld has no delivery delays stored: no delay distribution chart\n",
		       (long long)c->run_id);
		return 0;
	}
	bool logx = hi > 0 && lo < INFINITY && hi / lo > 100.0;
	double scale = 1.0;
	const char *unit = "s";
	if (!logx)
		time_unit(hi, &scale, &unit);

	char data[PATH_MAX], img[PATH_MAX];
	snprintf(data, sizeof data, "%s/cdf.dat", c->out);
	snprintf(img, sizeof img, "%s/cdf.%s", c->out, c->o->format);
	FILE *f = open_data(c, data);
	if (f == NULL) {
		free(m);
		return EXIT_FAIL;
	}
	fprintf(f, "# throttlesim run %lld: delivery delay quantiles (%s), mean over replications\n"
	        "# fraction", (long long)c->run_id, unit);
	for (size_t i = 0; i < c->n_v; i++)
		fprintf(f, " v%lld", (long long)c->v[i].idx);
	fputc('\n', f);
	for (size_t q = 0; q < NQ; q++) {
		fprintf(f, "%.2f", (double)q / 100.0);
		for (size_t i = 0; i < c->n_v; i++) {
			double x = m[i * NQ + q];
			put_num(f, logx && !(x > 0) ? NAN : x * scale);
		}
		fputc('\n', f);
	}
	free(m);
	if (close_data(f, data) != 0)
		return EXIT_FAIL;

	char title[512];
	snprintf(title, sizeof title, "%s: delivery delay of delivered messages, every variant (run %lld,"
	         " mean of %lld replications)", c->scenario_name, (long long)c->run_id,
	         (long long)c->replications);
	sbuf b = { 0 };
	common_vars(c, &b, data, img, title);
	variant_names(c, &b);
	gp_int(&b, "logx", logx);
	char xl[64];
	snprintf(xl, sizeof xl, "delivery delay (%s)", unit);
	gp_str(&b, "xlabel", logx ? "delivery delay, generation to release (log scale)" : xl);
	int ret = render(c, "cdf", &b, img);
	free(b.s);
	return ret;
}

/* ---- chart 3: variants compared ------------------------------------------------------------ */

typedef struct cmp_fig {
	const char *figure, *label;
	bool is_time;
} cmp_fig;

static const cmp_fig cmp_figs[] = {
	{ "accepted", "accepted (messages)", false },
	{ "lost", "lost (messages)", false },
	{ "rejected", "refused replies (count)", false },
	{ "delivery_delay_p95", "p95 delivery delay", true },
	{ "retries_per_msg", "retries per message", false },
	{ "throttle_time", "time error-throttled", true },
};
#define N_CMP (sizeof cmp_figs / sizeof cmp_figs[0])

static int chart_compare(plot_ctx *c)
{
	if (c->n_v < 2 && c->o->chart != CH_COMPARE) {
		printf("note: run %lld has one variant: no comparison chart\n", (long long)c->run_id);
		return 0;
	}
	if (c->is_sweep && c->o->chart != CH_COMPARE) {
		printf("note: run %lld is a sweep: see the sweep chart (or --chart compare)\n",
		       (long long)c->run_id);
		return 0;
	}
	double *mean = malloc(c->n_v * N_CMP * sizeof *mean), *half = malloc(c->n_v * N_CMP * sizeof *half);
	if (mean == NULL || half == NULL) {
		free(mean);
		free(half);
		fprintf(stderr, "throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT mean, half FROM summaries WHERE run_id = ?1 AND"
	        " variant_idx = ?2 AND entity_kind = 'total' AND figure = ?3", -1, &st, NULL) != SQLITE_OK) {
		free(mean);
		free(half);
		return db_fail(c, "reading the summaries");
	}
	double tmax[N_CMP] = { 0 };
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < c->n_v; i++)
		for (size_t k = 0; k < N_CMP; k++) {
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, c->run_id);
			sqlite3_bind_int64(st, 2, c->v[i].idx);
			sqlite3_bind_text(st, 3, cmp_figs[k].figure, -1, SQLITE_STATIC);
			rc = sqlite3_step(st);
			double mu = NAN, h = NAN;
			if (rc == SQLITE_ROW) {
				mu = col_real(st, 0);
				h = col_real(st, 1);
				rc = SQLITE_DONE;
			}
			if (rc != SQLITE_DONE)
				break;
			mean[i * N_CMP + k] = mu;
			half[i * N_CMP + k] = isfinite(h) ? h : 0.0;
			if (isfinite(mu) && mu + half[i * N_CMP + k] > tmax[k])
				tmax[k] = mu + half[i * N_CMP + k];
		}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(mean);
		free(half);
		return db_fail(c, "reading the summaries");
	}
	double scale[N_CMP];
	const char *unit[N_CMP];
	for (size_t k = 0; k < N_CMP; k++) {
		scale[k] = 1.0;
		unit[k] = NULL;
		if (cmp_figs[k].is_time)
			time_unit(tmax[k], &scale[k], &unit[k]);
	}

	char data[PATH_MAX], img[PATH_MAX];
	snprintf(data, sizeof data, "%s/compare.dat", c->out);
	snprintf(img, sizeof img, "%s/compare.%s", c->out, c->o->format);
	FILE *f = open_data(c, data);
	if (f == NULL) {
		free(mean);
		free(half);
		return EXIT_FAIL;
	}
	fprintf(f, "# throttlesim run %lld: mean and 95%% half-width over replications, whole scenario\n"
	        "# slot variant_idx", (long long)c->run_id);
	for (size_t k = 0; k < N_CMP; k++)
		fprintf(f, " %s%s%s half", cmp_figs[k].figure, unit[k] ? "_" : "", unit[k] ? unit[k] : "");
	fputc('\n', f);
	for (size_t i = 0; i < c->n_v; i++) {
		fprintf(f, "%zu %lld", i, (long long)c->v[i].idx);
		for (size_t k = 0; k < N_CMP; k++) {
			put_num(f, mean[i * N_CMP + k] * scale[k]);
			put_num(f, half[i * N_CMP + k] * scale[k]);
		}
		fputc('\n', f);
	}
	free(mean);
	free(half);
	if (close_data(f, data) != 0)
		return EXIT_FAIL;

	char title[512];
	snprintf(title, sizeof title, "%s: variants compared (run %lld, %lld replications;"
	         " whiskers: 95%% confidence interval)", c->scenario_name, (long long)c->run_id,
	         (long long)c->replications);
	sbuf b = { 0 };
	common_vars(c, &b, data, img, title);
	variant_names(c, &b);
	gp_int(&b, "nfig", (long long)N_CMP);
	for (size_t k = 0; k < N_CMP; k++) {
		char name[32], label[96];
		snprintf(name, sizeof name, "fname%zu", k + 1);
		if (unit[k])
			snprintf(label, sizeof label, "%s (%s)", cmp_figs[k].label, unit[k]);
		else
			snprintf(label, sizeof label, "%s", cmp_figs[k].label);
		gp_str(&b, name, label);
	}
	int ret = render(c, "compare", &b, img);
	free(b.s);
	return ret;
}

/* ---- chart 4: a sweep -------------------------------------------------------------------------- */

static int chart_sweep(plot_ctx *c)
{
	if (!c->sweep_columns) {
		printf("note: this store has no sweep columns in variants (it predates sweeps"
		       "): no sweep chart\n");
		return 0;
	}
	if (!c->is_sweep) {
		if (c->o->chart == CH_SWEEP)
			printf("note: run %lld is not a sweep: no sweep chart\n", (long long)c->run_id);
		return 0;
	}
	const char *fig = c->o->figure;
	/* Unit from the store (summaries.unit), falling back to results.h. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT mean, half, unit FROM summaries WHERE run_id = ?1 AND"
	        " variant_idx = ?2 AND entity_kind = 'total' AND figure = ?3", -1, &st, NULL) != SQLITE_OK)
		return db_fail(c, "reading the summaries");
	double *mean = malloc(c->n_v * sizeof *mean), *half = malloc(c->n_v * sizeof *half);
	size_t *line = malloc(c->n_v * sizeof *line);
	size_t *order = malloc(c->n_v * sizeof *order);
	if (!mean || !half || !line || !order) {
		sqlite3_finalize(st);
		free(mean); free(half); free(line); free(order);
		fprintf(stderr, "throttlesim: out of memory\n");
		return EXIT_FAIL;
	}
	char unit_in[32] = "";
	size_t found = 0;
	double ymax = 0;
	int rc = SQLITE_DONE;
	for (size_t i = 0; i < c->n_v; i++) {
		mean[i] = half[i] = NAN;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, c->run_id);
		sqlite3_bind_int64(st, 2, c->v[i].idx);
		sqlite3_bind_text(st, 3, fig, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			mean[i] = col_real(st, 0);
			half[i] = col_real(st, 1);
			snprintf(unit_in, sizeof unit_in, "%s", col_text(st, 2));
			found++;
			if (isfinite(mean[i]) && mean[i] + (isfinite(half[i]) ? half[i] : 0) > ymax)
				ymax = mean[i] + (isfinite(half[i]) ? half[i] : 0);
			rc = SQLITE_DONE;
		}
		if (rc != SQLITE_DONE)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(mean); free(half); free(line); free(order);
		return db_fail(c, "reading the summaries");
	}
	if (found == 0) {
		free(mean); free(half); free(line); free(order);
		fprintf(stderr, "throttlesim plot: run %lld has no figure '%s' (names: throttlesim results"
		        " export %lld --format csv)\n", (long long)c->run_id, fig, (long long)c->run_id);
		return EXIT_USAGE;
	}
	double scale = 1.0;
	const char *unit = unit_in;
	if (strcmp(unit_in, "s") == 0)
		time_unit(ymax, &scale, &unit);

	/* Lines: one per (variant name, second key's value); points sorted by
	 * the swept value.  O(n^2) in variants, which are few hundred at most. */
	size_t n_lines = 0;
	size_t first_of_line[1024];
	for (size_t i = 0; i < c->n_v; i++) {
		line[i] = SIZE_MAX;
		if (!c->v[i].has_point || !isfinite(c->v[i].value))
			continue;
		for (size_t l = 0; l < n_lines; l++) {
			const variant_row *w = &c->v[first_of_line[l]];
			bool same2 = (isnan(w->value2) && isnan(c->v[i].value2)) || w->value2 == c->v[i].value2;
			if (strcmp(w->name, c->v[i].name) == 0 && same2) {
				line[i] = l;
				break;
			}
		}
		if (line[i] == SIZE_MAX && n_lines < sizeof first_of_line / sizeof first_of_line[0]) {
			first_of_line[n_lines] = i;
			line[i] = n_lines++;
		}
	}
	char data[PATH_MAX], img[PATH_MAX], sfig[64];
	safe_name(fig, sfig, sizeof sfig);
	snprintf(data, sizeof data, "%s/sweep-%s.dat", c->out, sfig);
	snprintf(img, sizeof img, "%s/sweep-%s.%s", c->out, sfig, c->o->format);
	FILE *f = open_data(c, data);
	if (f == NULL) {
		free(mean); free(half); free(line); free(order);
		return EXIT_FAIL;
	}
	const char *key = c->v[first_of_line[0]].key ? c->v[first_of_line[0]].key : "swept value";
	fprintf(f, "# throttlesim run %lld: %s (%s) against %s; mean, mean - half, mean + half\n",
	        (long long)c->run_id, fig, unit, key);
	for (size_t l = 0; l < n_lines; l++) {
		size_t n = 0;
		for (size_t i = 0; i < c->n_v; i++)
			if (line[i] == l)
				order[n++] = i;
		for (size_t a = 1; a < n; a++)   /* insertion sort by swept value */
			for (size_t b2 = a; b2 > 0 && c->v[order[b2 - 1]].value > c->v[order[b2]].value; b2--) {
				size_t t = order[b2];
				order[b2] = order[b2 - 1];
				order[b2 - 1] = t;
			}
		fprintf(f, "# line %zu: %s\n", l + 1, c->v[first_of_line[l]].name);
		for (size_t j = 0; j < n; j++) {
			size_t i = order[j];
			double h = isfinite(half[i]) ? half[i] : 0.0;
			fprintf(f, "%.10g", c->v[i].value);
			put_num(f, mean[i] * scale);
			put_num(f, (mean[i] - h) * scale);
			put_num(f, (mean[i] + h) * scale);
			fputc('\n', f);
		}
		fputs("\n\n", f);
	}
	if (close_data(f, data) != 0) {
		free(mean); free(half); free(line); free(order);
		return EXIT_FAIL;
	}

	/* "delivery_delay_p95" reads as "delivery delay p95". */
	char pretty[128], title[512], ylabel[256];
	snprintf(pretty, sizeof pretty, "%s", fig);
	for (char *p = pretty; *p; p++)
		if (*p == '_')
			*p = ' ';
	snprintf(title, sizeof title, "%s: %s against %s (run %lld)", c->scenario_name, pretty, key,
	         (long long)c->run_id);
	if (unit[0])
		snprintf(ylabel, sizeof ylabel, "%s (%s)", pretty, unit);
	else
		snprintf(ylabel, sizeof ylabel, "%s", pretty);
	sbuf b = { 0 };
	common_vars(c, &b, data, img, title);
	gp_str(&b, "xlabel", key);
	gp_str(&b, "ylabel", ylabel);
	gp_int(&b, "nline", (long long)n_lines);
	for (size_t l = 0; l < n_lines; l++) {
		const variant_row *w = &c->v[first_of_line[l]];
		char name[32], label[256];
		snprintf(name, sizeof name, "lname%zu", l + 1);
		if (w->key2 && isfinite(w->value2))
			snprintf(label, sizeof label, "%s, %s = %g", w->name, w->key2, w->value2);
		else
			snprintf(label, sizeof label, "%s", w->name);
		gp_str(&b, name, label);
	}
	free(mean); free(half); free(line); free(order);
	int ret = render(c, "sweep", &b, img);
	free(b.s);
	return ret;
}

/* ---- loading the run --------------------------------------------------------------------------- */

static int load_run(plot_ctx *c)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, "SELECT scenario_name, scenario_text, replications FROM runs"
	                       " WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_fail(c, "reading the run");
	sqlite3_bind_int64(st, 1, c->run_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		fprintf(stderr, "throttlesim plot: %s: no run %lld (see throttlesim results list)\n",
		        c->o->db, (long long)c->run_id);
		return EXIT_USAGE;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(c, "reading the run");
	}
	c->scenario_name = xstrdup(col_text(st, 0));
	c->scenario_text = xstrdup(col_text(st, 1));
	c->replications = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	if (!c->scenario_name || !c->scenario_text) {
		fprintf(stderr, "throttlesim: out of memory\n");
		return EXIT_FAIL;
	}

	c->sweep_columns = has_column(c->db, "variants", "point") &&
	                   has_column(c->db, "variants", "sweep_key") &&
	                   has_column(c->db, "variants", "sweep_value");
	c->sweep_columns2 = c->sweep_columns && has_column(c->db, "variants", "sweep_key2") &&
	                    has_column(c->db, "variants", "sweep_value2");
	sbuf q = { 0 };
	sb_printf(&q, "SELECT v.idx, v.name, %s, (SELECT count(DISTINCT entity_idx) FROM figures f"
	          " WHERE f.run_id = v.run_id AND f.variant_idx = v.idx AND f.replication = 0"
	          " AND f.entity_kind = 'mailbox') FROM variants v WHERE v.run_id = ?1 ORDER BY v.idx",
	          c->sweep_columns2 ? "v.point, v.sweep_key, v.sweep_value, v.sweep_key2, v.sweep_value2"
	          : c->sweep_columns ? "v.point, v.sweep_key, v.sweep_value, NULL, NULL"
	          : "NULL, NULL, NULL, NULL, NULL");
	if (q.oom || sqlite3_prepare_v2(c->db, q.s, -1, &st, NULL) != SQLITE_OK) {
		free(q.s);
		return db_fail(c, "reading the variants");
	}
	free(q.s);
	sqlite3_bind_int64(st, 1, c->run_id);
	size_t cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (c->n_v == cap) {
			cap = cap ? 2 * cap : 8;
			variant_row *nv = realloc(c->v, cap * sizeof *nv);
			if (nv == NULL) {
				sqlite3_finalize(st);
				fprintf(stderr, "throttlesim: out of memory\n");
				return EXIT_FAIL;
			}
			c->v = nv;
		}
		variant_row *v = &c->v[c->n_v++];
		*v = (variant_row){ .idx = sqlite3_column_int64(st, 0), .name = xstrdup(col_text(st, 1)),
		                    .has_point = sqlite3_column_type(st, 2) != SQLITE_NULL,
		                    .value = col_real(st, 4), .value2 = col_real(st, 6),
		                    .n_mailboxes = sqlite3_column_int64(st, 7) };
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			v->key = xstrdup(col_text(st, 3));
		if (sqlite3_column_type(st, 5) != SQLITE_NULL)
			v->key2 = xstrdup(col_text(st, 5));
		if (v->name == NULL) {
			sqlite3_finalize(st);
			fprintf(stderr, "throttlesim: out of memory\n");
			return EXIT_FAIL;
		}
		if (v->has_point)
			c->is_sweep = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(c, "reading the variants");
	if (c->n_v == 0) {
		fprintf(stderr, "throttlesim plot: run %lld has no results (interrupted, or still running)\n",
		        (long long)c->run_id);
		return EXIT_FAIL;
	}
	if (c->o->variant) {
		size_t i = 0;
		while (i < c->n_v && strcmp(c->v[i].name, c->o->variant) != 0)
			i++;
		if (i == c->n_v) {
			fprintf(stderr, "throttlesim plot: run %lld has no variant '%s'; it has:", (long long)c->run_id,
			        c->o->variant);
			for (size_t k = 0; k < c->n_v; k++)
				if (k == 0 || strcmp(c->v[k].name, c->v[k - 1].name) != 0)
					fprintf(stderr, " %s", c->v[k].name);
			fputc('\n', stderr);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static void ctx_free(plot_ctx *c)
{
	for (size_t i = 0; i < c->n_v; i++) {
		free(c->v[i].name);
		free(c->v[i].key);
		free(c->v[i].key2);
	}
	free(c->v);
	free(c->scenario_name);
	free(c->scenario_text);
	store_close(c->db);
}

static int make_dir(const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		fprintf(stderr, "throttlesim: %s: exists and is not a directory\n", dir);
		return EXIT_FAIL;
	}
	if (mkdir(dir, 0777) != 0) {
		fprintf(stderr, "throttlesim: cannot create %s: %s\n", dir, strerror(errno));
		return EXIT_FAIL;
	}
	return 0;
}

int cmd_plot(int argc, char **argv)
{
	plot_opts o;
	int p = parse(argc, argv, &o);
	if (p != 0)
		return p > 0 ? 0 : EXIT_USAGE;
	plot_ctx c = { .o = &o };
	if (strcmp(o.run, "last") != 0) {
		char *end;
		errno = 0;
		long long v = strtoll(o.run, &end, 10);
		if (errno || *end || end == o.run || v <= 0) {
			fprintf(stderr, "throttlesim plot: RUN: expected a run id (1, 2, ...) or 'last', got '%s'\n",
			        o.run);
			return EXIT_USAGE;
		}
		c.run_id = v;
	}
	char err[1024] = "";
	int st = store_open_readonly(o.db, &c.db, err, sizeof err);
	if (st != SIM_OK) {
		fprintf(stderr, "throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	if (strcmp(o.run, "last") == 0 && (st = store_last_run(c.db, &c.run_id, err, sizeof err)) != SIM_OK) {
		fprintf(stderr, "throttlesim plot: %s\n", err);
		ctx_free(&c);
		return st == SIM_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	int rc = load_run(&c);
	if (rc == 0 && !find_in_path("gnuplot", c.gnuplot, sizeof c.gnuplot)) {
		fprintf(stderr, "throttlesim plot: gnuplot not found: install it with"
		        " apt-get install gnuplot-nox\n");
		rc = EXIT_FAIL;
	}
	if (rc == 0 && !find_scripts(c.scripts, sizeof c.scripts)) {
		fprintf(stderr, "throttlesim plot: the gnuplot scripts (plots/timeseries.gp ...) were not found"
		        " in %s%s./plots or beside the program; set THROTTLESIM_PLOTS to their directory\n",
		        getenv("THROTTLESIM_PLOTS") ? getenv("THROTTLESIM_PLOTS") : "",
		        getenv("THROTTLESIM_PLOTS") ? ", " : "");
		rc = EXIT_FAIL;
	}
	if (rc == 0) {
		if (o.out && strlen(o.out) >= sizeof c.out) {
			fprintf(stderr, "throttlesim plot: --out: the path is too long\n");
			rc = EXIT_USAGE;
		} else if (o.out)
			snprintf(c.out, sizeof c.out, "%s", o.out);
		else
			snprintf(c.out, sizeof c.out, "plots-run%lld", (long long)c.run_id);
		if (rc == 0)
			rc = make_dir(c.out);
	}
	static int (*const charts[CH_COUNT])(plot_ctx *) = { chart_timeseries, chart_cdf, chart_compare,
	                                                     chart_sweep };
	for (int k = 0; k < CH_COUNT && rc == 0; k++)
		if (o.chart < 0 || o.chart == k)
			rc = charts[k](&c);
	if (rc == 0 && c.written == 0)
		printf("no chart drawn for run %lld\n", (long long)c.run_id);
	ctx_free(&c);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "throttlesim: writing to standard output: %s\n", strerror(errno));
		rc = EXIT_FAIL;
	}
	return rc;
}
