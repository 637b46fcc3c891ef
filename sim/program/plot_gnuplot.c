/* plot_gnuplot.c - gnuplot for `throttlesim plot`: finding it and the
 * scripts of plots/, the variables handed to a script (quoted as gnuplot
 * strings), and running it without a shell (posix_spawn), its standard
 * error captured and shown when it fails.  Contracts in plot_int.h.
 *
 * Strings handed to gnuplot are single-quoted ('' for a quote); the
 * scripts draw with enhanced text off, so names with _ ^ { } @ show as
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot_int.h"

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

void plot_gp_str(plot_sbuf *b, const char *name, const char *value)
{
	plot_sb_printf(b, "%s='", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\'')
			plot_sb_printf(b, "''");
		else if (*p == '\n' || *p == '\r')
			plot_sb_printf(b, " ");
		else
			plot_sb_printf(b, "%c", *p);
	}
	plot_sb_printf(b, "'; ");
}

void plot_gp_num(plot_sbuf *b, const char *name, double v)
{
	plot_sb_printf(b, "%s=%.17g; ", name, v);
}

void plot_gp_int(plot_sbuf *b, const char *name, long long v)
{
	plot_sb_printf(b, "%s=%lld; ", name, v);
}

void plot_gp_common(const plot_ctx *c, plot_sbuf *b, const char *datafile, const char *img,
                    const char *title)
{
	plot_gp_str(b, "datafile", datafile);
	plot_gp_str(b, "out", img);
	plot_gp_str(b, "fmt", c->o->format);
	plot_gp_str(b, "title", title);
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
		int k = len == 0 ? snprintf(cand, sizeof cand, "./gnuplot")
		                 : snprintf(cand, sizeof cand, "%.*s/gnuplot", (int)len, path);
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

bool plot_find_scripts(char *out, size_t size)
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

/* --keep-vars: the variables, as handed to gnuplot -e, in <image stem>.vars,
 * so that the chart can be redrawn by hand: gnuplot -e "$(cat X.vars)" X.gp */
static int keep_vars(const char *image, const plot_sbuf *vars)
{
	char path[PATH_MAX];
	const char *dot = strrchr(image, '.'), *slash = strrchr(image, '/');
	size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - image) : strlen(image);
	int k = snprintf(path, sizeof path, "%.*s.vars", (int)stem, image);
	if (k < 0 || (size_t)k >= sizeof path) {
		fprintf(stderr, "throttlesim: %s: the path is too long\n", image);
		return EXIT_FAIL;
	}
	FILE *f = plot_open_data(path);
	if (f == NULL)
		return EXIT_FAIL;
	fprintf(f, "%s\n", vars->s ? vars->s : "");
	return plot_close_data(f, path);
}

/* Spawns gnuplot -e vars script, standard error to a pipe; *pid and the
 * pipe's read end in *errfd.  0 or EXIT_FAIL. */
static int spawn_gnuplot(const plot_ctx *c, const char *spath, const plot_sbuf *vars, pid_t *pid,
                         int *errfd)
{
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
	char *args[] = { (char *)c->gnuplot, "-e", vars->s, (char *)spath, NULL };
	int rc = posix_spawn(pid, c->gnuplot, &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		fprintf(stderr, "throttlesim: cannot run %s: %s\n", c->gnuplot, strerror(rc));
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

int plot_render(plot_ctx *c, const char *script, const plot_sbuf *vars, const char *image)
{
	if (vars->oom)
		return plot_oom();
	if (c->o->keep_vars && keep_vars(image, vars) != 0)
		return EXIT_FAIL;
	char spath[PATH_MAX];
	snprintf(spath, sizeof spath, "%s/%s.gp", c->scripts, script);
	pid_t pid;
	int errfd;
	if (spawn_gnuplot(c, spath, vars, &pid, &errfd) != 0)
		return EXIT_FAIL;
	/* gnuplot's messages: kept (up to 8 KiB) to show if it fails. */
	char msg[8192];
	size_t mlen = drain(errfd, msg, sizeof msg);
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
