/* plot_gnuplot.c - gnuplot for `throttlesim plot`: finding it and the
 * scripts of plots/, the variables handed to a script, and running it
 * without a shell (posix_spawn) in the private directory of the command,
 * its standard error captured and shown when it fails; then the finished
 * files moved into --out.  Contracts and the reasons in plot_int.h.
 *
 * The scripts draw with enhanced text off, so names with _ ^ { } @ show
 * as written.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addfchdir_np (glibc 2.29) */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outfile.h"
#include "plot_int.h"
#include "term.h"

extern char **environ;

/* ---- a growing string ---------------------------------------------------------- */

void plot_sb_printf(plot_sbuf *b, const char *fmt, ...)
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

/* ---- variables ------------------------------------------------------------------ */

/* One line of a string value: cleaned of control characters, single-quoted
 * (gnuplot reads no escape there), a quote as sprintf('%c',39). */
static void gp_str_line(plot_sbuf *b, const char *line, size_t len)
{
	char *v = strndup(line, len);
	if (v == NULL) {
		b->oom = true;
		return;
	}
	term_clean(v);
	if (*v == 0)
		plot_sb_printf(b, "''");
	for (const char *p = v; *p;) {
		if (p != v)
			plot_sb_printf(b, ".");
		if (*p == '\'') {
			plot_sb_printf(b, "sprintf('%%c',39)");
			p++;
			continue;
		}
		size_t run = strcspn(p, "'");
		plot_sb_printf(b, "'%.*s'", (int)run, p);
		p += run;
	}
	free(v);
}

/* A string variable, every control character a '?' (names: one line). */
void plot_gp_str(plot_sbuf *b, const char *name, const char *value)
{
	plot_sb_printf(b, "%s=", name);
	gp_str_line(b, value, strlen(value));
	plot_sb_printf(b, "\n");
}

/* A text of lines (a title): each '\n' in value a line break of the text
 * drawn, as gnuplot's "\n"; every other control character a '?'. */
void plot_gp_lines(plot_sbuf *b, const char *name, const char *value)
{
	plot_sb_printf(b, "%s=", name);
	for (const char *p = value;;) {
		size_t len = strcspn(p, "\n");
		gp_str_line(b, p, len);
		if (p[len] == 0)
			break;
		plot_sb_printf(b, ".\"\\n\".");
		p += len + 1;
	}
	plot_sb_printf(b, "\n");
}

/* gnuplot knows NaN by that name ("nan" would be an undefined variable);
 * a non-finite value is none. */
void plot_gp_num(plot_sbuf *b, const char *name, double v)
{
	if (!isfinite(v))
		plot_sb_printf(b, "%s=NaN\n", name);
	else
		plot_sb_printf(b, "%s=%.17g\n", name, v);
}

void plot_gp_int(plot_sbuf *b, const char *name, long long v)
{
	plot_sb_printf(b, "%s=%lld\n", name, v);
}

void plot_gp_common(const plot_ctx *c, plot_sbuf *b, const char *datafile, const char *img,
                    const char *title)
{
	plot_gp_str(b, "datafile", datafile);
	plot_gp_str(b, "out", img);
	plot_gp_str(b, "fmt", c->o->format);
	plot_gp_lines(b, "title", title);
	plot_gp_int(b, "width", PLOT_W);
	plot_gp_int(b, "height", PLOT_H);
}

/* ---- finding gnuplot and the scripts ------------------------------------------- */

bool plot_find_gnuplot(char *out, size_t size)
{
	const char *path = getenv("PATH");
	if (path == NULL || *path == 0)
		return false;
	while (*path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);
		char cand[PATH_MAX];
		int k = snprintf(cand, sizeof cand, "%.*s/gnuplot", (int)len, path);
		struct stat sb;
		if (len > 0 && path[0] == '/' && k > 0 && (size_t)k < sizeof cand && stat(cand, &sb) == 0 &&
		    S_ISREG(sb.st_mode) && access(cand, X_OK) == 0) {
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

static bool take(plot_ctx *c, const char *dir)
{
	if (strlen(dir) >= sizeof c->scripts || !scripts_in(dir))
		return false;
	strcpy(c->scripts, dir);
	return true;
}

/* plots/ from the program's own path: build/<variant>/throttlesim and
 * build/<variant>/tests/test_x in the source tree, <prefix>/bin/throttlesim
 * beside <prefix>/share/throttlesim/plots when installed. */
static bool beside_program(plot_ctx *c)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash == NULL)
		return false;
	*slash = 0;
	static const char *const up[] = { "/../share/throttlesim/plots", "/../../plots", "/../../../plots" };
	for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
		char cand[PATH_MAX];
		int k = snprintf(cand, sizeof cand, "%s%s", exe, up[i]);
		if (k > 0 && (size_t)k < sizeof cand && take(c, cand))
			return true;
	}
	return false;
}

int plot_find_scripts(plot_ctx *c)
{
	if (c->o->scripts) {
		if (take(c, c->o->scripts))
			return 0;
		term_eprintf("throttlesim plot: --scripts %s: no gnuplot scripts there (timeseries.gp ...)\n",
		             c->o->scripts);
		return EXIT_USAGE;
	}
	const char *env = getenv("THROTTLESIM_PLOTS");
	if (env && *env) {
		if (take(c, env))
			return 0;   /* an explicit choice that is wrong is not silently replaced */
		term_eprintf("throttlesim plot: THROTTLESIM_PLOTS=%s: no gnuplot scripts there"
		             " (timeseries.gp ...)\n", env);
		return EXIT_FAIL;
	}
#ifdef THROTTLESIM_PLOTS_DIR
	if (take(c, THROTTLESIM_PLOTS_DIR))
		return 0;
#endif
	if (beside_program(c))
		return 0;
	term_eprintf("throttlesim plot: the gnuplot scripts (timeseries.gp ...) were not found where"
	             " they were installed (%s) nor beside the program; give their directory with"
	             " --scripts DIR or THROTTLESIM_PLOTS\n",
#ifdef THROTTLESIM_PLOTS_DIR
	             THROTTLESIM_PLOTS_DIR
#else
	             "none compiled in"
#endif
	);
	return EXIT_FAIL;
}

/* ---- files of the private directory -------------------------------------------- */

/* Writes len bytes of text to the new file name of the private directory. */
static int write_tmp(const plot_ctx *c, const char *name, const char *text, size_t len)
{
	FILE *f = plot_open_data(c, name);
	if (f == NULL)
		return EXIT_FAIL;
	fwrite(text, 1, len, f);
	return plot_close_data(c, f, name);
}

/* The script copied into the private directory as <script>.gp: gnuplot is
 * given only names chosen here, whatever the scripts' directory is called. */
static int copy_script(const plot_ctx *c, const char *script, const char *name)
{
	char spath[PATH_MAX + 16];
	snprintf(spath, sizeof spath, "%s/%s.gp", c->scripts, script);
	FILE *in = fopen(spath, "rb");
	if (in == NULL) {
		term_eprintf("throttlesim: %s: %s\n", spath, strerror(errno));
		return EXIT_FAIL;
	}
	plot_sbuf text = { 0 };
	char chunk[4096];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, in)) > 0)
		plot_sb_printf(&text, "%.*s", (int)k, chunk);
	int bad = ferror(in);
	fclose(in);
	if (bad) {
		term_eprintf("throttlesim: reading %s: %s\n", spath, strerror(errno));
		free(text.s);
		return EXIT_FAIL;
	}
	if (text.oom) {
		free(text.s);
		return plot_oom();
	}
	int rc = write_tmp(c, name, text.s ? text.s : "", text.n);
	free(text.s);
	return rc;
}

int plot_move_out(plot_ctx *c, const char *name)
{
	if (renameat(c->tmp_fd, name, c->out_fd, name) == 0)
		return 0;
	if (errno != EXDEV) {
		term_eprintf("throttlesim: cannot write %s/%s: %s\n", c->out, name, strerror(errno));
		return EXIT_FAIL;
	}
	/* --out is on another file system: copied into a new file beside the
	 * final name and renamed over it (outfile.h), a symlink never followed. */
	char path[PLOT_DIR_MAX + 128], err[PLOT_DIR_MAX + 256];
	snprintf(path, sizeof path, "%s/%s", c->out, name);
	int fd = openat(c->tmp_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		term_eprintf("throttlesim: %s/%s: %s\n", c->tmp, name, strerror(errno));
		return EXIT_FAIL;
	}
	outf o;
	if (outf_open(&o, path, err, sizeof err) != 0) {
		close(fd);
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	char chunk[65536];
	ssize_t k;
	while ((k = read(fd, chunk, sizeof chunk)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || fwrite(chunk, 1, (size_t)k, o.f) != (size_t)k) {
			term_eprintf("throttlesim: copying %s/%s to %s: %s\n", c->tmp, name, path, strerror(errno));
			close(fd);
			outf_abort(&o);
			return EXIT_FAIL;
		}
	}
	close(fd);
	if (outf_commit(&o, err, sizeof err) != 0) {
		term_eprintf("throttlesim: %s\n", err);
		return EXIT_FAIL;
	}
	unlinkat(c->tmp_fd, name, 0);
	return 0;
}

/* ---- running gnuplot -------------------------------------------------------------- */

/* Spawns gnuplot VARS SCRIPT in the private directory, standard error to
 * a pipe; *pid and the pipe's read end in *errfd.  0 or EXIT_FAIL. */
static int spawn_gnuplot(const plot_ctx *c, const char *vars, const char *script, pid_t *pid,
                         int *errfd)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		term_eprintf("throttlesim: pipe: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addfchdir_np(&fa, c->tmp_fd);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	char *args[] = { (char *)c->gnuplot, (char *)vars, (char *)script, NULL };
	int rc = posix_spawn(pid, c->gnuplot, &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		term_eprintf("throttlesim: cannot run %s: %s\n", c->gnuplot, strerror(rc));
		return EXIT_FAIL;
	}
	*errfd = pipefd[0];
	return 0;
}

/* Reads fd to its end, keeping the first size - 1 bytes in msg; closes it. */
static size_t drain(int fd, char *msg, size_t size)
{
	size_t mlen = 0;
	for (;;) {
		char chunk[1024];
		ssize_t k = read(fd, chunk, sizeof chunk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		size_t take = (size_t)k < size - 1 - mlen ? (size_t)k : size - 1 - mlen;
		memcpy(msg + mlen, chunk, take);
		mlen += take;
	}
	msg[mlen] = 0;
	close(fd);
	return mlen;
}

/* gnuplot's messages, line by line through the terminal sanitiser (they
 * quote the script's lines, and so the names in its variables). */
static void show_lines(char *msg)
{
	for (char *line = msg; *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		term_eprintf("%s\n", line);
		if (!nl)
			break;
		line = nl + 1;
	}
}

/* Runs gnuplot and waits.  0 when it exited with 0; EXIT_FAIL, its
 * messages shown. */
static int run_gnuplot(const plot_ctx *c, const char *script, const char *vars, const char *scopy)
{
	pid_t pid;
	int errfd;
	if (spawn_gnuplot(c, vars, scopy, &pid, &errfd) != 0)
		return EXIT_FAIL;
	/* gnuplot's messages: kept (up to 8 KiB) to show if it fails. */
	char msg[8192];
	size_t mlen = drain(errfd, msg, sizeof msg);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			term_eprintf("throttlesim: waiting for gnuplot: %s\n", strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		term_eprintf("throttlesim: gnuplot failed on %s/%s.gp (exit status %d)%s\n", c->scripts, script,
		             WEXITSTATUS(status), mlen ? ":" : "");
	else
		term_eprintf("throttlesim: gnuplot was killed by signal %d on %s/%s.gp\n", WTERMSIG(status),
		             c->scripts, script);
	show_lines(msg);
	return EXIT_FAIL;
}

int plot_render(plot_ctx *c, const char *script, const plot_sbuf *vars, const char *datafile,
                const char *image)
{
	if (vars->oom)
		return plot_oom();
	/* <image stem>.vars, <script>.gp: names of [A-Za-z0-9._-] */
	char vname[256], scopy[64];
	const char *dot = strrchr(image, '.');
	int stem = (int)(dot ? (size_t)(dot - image) : strlen(image));
	snprintf(vname, sizeof vname, "%.*s.vars", stem, image);
	snprintf(scopy, sizeof scopy, "%s.gp", script);
	int rc = write_tmp(c, vname, vars->s ? vars->s : "", vars->n);
	if (rc == 0)
		rc = copy_script(c, script, scopy);
	if (rc == 0)
		rc = run_gnuplot(c, script, vname, scopy);
	unlinkat(c->tmp_fd, scopy, 0);
	/* The data (and the variables) go out even when gnuplot failed: they
	 * are whole, and what one needs to see why. */
	int mv = plot_move_out(c, datafile);
	if (mv == 0 && c->o->keep_vars)
		mv = plot_move_out(c, vname);
	else
		unlinkat(c->tmp_fd, vname, 0);
	if (rc == 0)
		rc = mv;
	if (rc != 0)
		return rc;
	struct stat sb;
	if (fstatat(c->tmp_fd, image, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size == 0) {
		term_eprintf("throttlesim: gnuplot wrote no image %s/%s\n", c->out, image);
		return EXIT_FAIL;
	}
	if (plot_move_out(c, image) != 0)
		return EXIT_FAIL;
	term_printf("%s/%s\n", c->out, image);
	c->written++;
	return 0;
}
