/* cli.c - what the subcommands share: the one option parser, integer and
 * choice arguments, the options that say how to run replications (run and
 * plan), and printing the problems of a scenario file. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "scn_budget.h"
#include "units.h"
#include "term.h"

int cli_parse_int(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		term_eprintf("throttlesim %s: %s: expected an integer in [%lld, %lld], got '%s'\n", cmd, opt,
			(long long)lo, (long long)hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* The row of opts that a names (its name or alias; "--name=value" names
 * "--name"), or NULL. */
static const cli_opt *find_opt(const cli_opt *opts, size_t n, const char *a, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, a, len) == 0)
			return &opts[i];
		if (opts[i].alias && strlen(opts[i].alias) == len && strncmp(opts[i].alias, a, len) == 0)
			return &opts[i];
	}
	return NULL;
}

int cli_parse(const char *cmd, const char *usage, const cli_opt *opts, size_t n_opts,
              int argc, char **argv, cli_fn fn, void *ctx)
{
	/* --help anywhere wins, so that `check --help` opens no file. */
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return 1;
		}
	}
	bool options = true;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (options && strcmp(a, "--") == 0) {
			options = false;
			continue;
		}
		if (!options || a[0] != '-' || strcmp(a, "-") == 0) {
			if (fn(ctx, CLI_ARG, NULL, a) != 0)
				return -1;
			continue;
		}
		const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const cli_opt *o = find_opt(opts, n_opts, a, len);
		if (o == NULL) {
			term_eprintf("throttlesim %s: unknown option '%.*s' (try %s --help)\n", cmd, (int)len, a, cmd);
			return -1;
		}
		const char *val = NULL;
		if (o->takes_value) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				term_eprintf("throttlesim %s: %s needs a value (try %s --help)\n", cmd, o->name, cmd);
				return -1;
			}
		} else if (eq) {
			term_eprintf("throttlesim %s: %s takes no value\n", cmd, o->name);
			return -1;
		}
		if (fn(ctx, o->id, o->name, val) != 0)
			return -1;
	}
	return 0;
}

int cli_choice(const char *cmd, const char *opt, const char *val, const char *const *choices)
{
	for (int i = 0; choices[i]; i++)
		if (strcmp(val, choices[i]) == 0)
			return i;
	term_eprintf("throttlesim %s: %s: expected", cmd, opt);
	for (int i = 0; choices[i]; i++)
		term_eprintf("%s %s", i == 0 ? "" : choices[i + 1] ? "," : " or", choices[i]);
	term_eprintf(", got '%s'\n", val);
	return -1;
}

void cli_run_opts_init(cli_run_opts *o)
{
	*o = (cli_run_opts){ .kind = EVS_CALENDAR };
}

int cli_run_option(const char *cmd, const char *a, const char *val, cli_run_opts *o)
{
	int64_t v;
	if (strcmp(a, "--quiet") == 0) {
		o->quiet = true;
	} else if (strcmp(a, "--seed") == 0) {
		if (cli_parse_int(cmd, a, val, 0, SCN_MAX_SEED, &v))
			return -1;
		o->seed = (uint64_t)v;
		o->have_seed = true;
	} else if (strcmp(a, "--replications") == 0) {
		if (cli_parse_int(cmd, a, val, 1, SCN_MAX_REPLICATIONS, &o->reps))
			return -1;
		o->have_reps = true;
	} else if (strcmp(a, "--duration") == 0) {
		/* The parser's reason (not a duration, beyond the 100-year
		 * bound) when it has one; only a valid 0 is too short. */
		char err[256];
		int64_t ns = 0;
		if (unit_parse_duration(val, &ns, err, sizeof err) != 0) {
			term_eprintf("throttlesim %s: --duration: %s\n", cmd, err);
			return -1;
		}
		if (ns <= 0) {
			term_eprintf("throttlesim %s: --duration: must be longer than 0\n", cmd);
			return -1;
		}
		o->duration_ns = ns;
		o->have_duration = true;
	} else if (strcmp(a, "--engine") == 0) {
		static const char *const kinds[] = { "calendar", "heap", NULL };
		int k = cli_choice(cmd, a, val, kinds);
		if (k < 0)
			return -1;
		o->kind = k == 0 ? EVS_CALENDAR : EVS_HEAP;
	} else {
		if (cli_parse_int(cmd, a, val, 1, 1024, &v))
			return -1;
		o->jobs = (int)v;
	}
	return 0;
}

void cli_run_opts_finish(cli_run_opts *o)
{
	if (o->jobs == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o->jobs = n > 0 ? (int)n : 1;
	}
}

void cli_apply_run_opts(const cli_run_opts *o, scenario *s)
{
	if (o->have_seed)
		s->seed = o->seed;
	if (o->have_reps)
		s->replications = o->reps;
	if (o->have_duration)
		s->duration_ns = o->duration_ns;
}

int cli_load_failed(const char *path, int rc, const scn_errors *errs, const char *suffix)
{
	char line[2048];
	for (size_t i = 0; i < errs->n; i++) {
		scn_error_format(&errs->v[i], line, sizeof line);
		term_eprintf("%s%s\n", line, suffix ? suffix : "");
	}
	if (errs->n == 0)
		term_eprintf("%s: %s\n", path, sim_strerror(rc));
	return rc == SIM_ENOMEM ? 1 : 2;
}

int cli_memory_budget(const char *cmd, const char *val, uint64_t *out)
{
	if (scn_budget_parse(val, out) == 0)
		return 0;
	term_eprintf("throttlesim %s: --memory-budget: expected a size such as 512M or 8G, got '%s'\n", cmd, val);
	return -1;
}

int cli_time_scale(const char *cmd, const char *val, ev_scale *out)
{
	if (ev_scale_parse(val, out) == SIM_OK)
		return 0;
	term_eprintf("throttlesim %s: --time-scale: expected a number from 1 to %u (\"60\", \"2.5\", "
		     "\"1000/3\"), got '%s'\n", cmd, EV_SCALE_MAX, val);
	return -1;
}

char *cli_join_args(const char *head, int argc, char *const *argv)
{
	size_t len = (head ? strlen(head) : 0) + 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *s = malloc(len);
	if (s == NULL)
		return NULL;
	size_t o = 0;
	if (head) {
		memcpy(s, head, strlen(head));
		o = strlen(head);
	}
	for (int i = 0; i < argc; i++) {
		if (o)
			s[o++] = ' ';
		memcpy(s + o, argv[i], strlen(argv[i]));
		o += strlen(argv[i]);
	}
	s[o] = 0;
	return s;
}

void cli_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
