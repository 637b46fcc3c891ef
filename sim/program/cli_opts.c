/* cli_opts.c - what the subcommands share: integer arguments, the options
 * that say how to run replications (run and plan), and printing the
 * problems of a scenario file. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "units.h"

int cli_parse_int(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "throttlesim %s: %s: expected an integer in [%lld, %lld], got '%s'\n", cmd, opt,
			(long long)lo, (long long)hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

void cli_run_opts_init(cli_run_opts *o)
{
	*o = (cli_run_opts){ .kind = EVS_CALENDAR };
}

int cli_run_option(const char *cmd, const char *a, const char *val, cli_run_opts *o)
{
	int64_t v;
	if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
		o->quiet = true;
		return 1;
	}
	bool known = !strcmp(a, "--seed") || !strcmp(a, "--replications") || !strcmp(a, "--duration") ||
		     !strcmp(a, "--jobs") || !strcmp(a, "-j") || !strcmp(a, "--engine");
	if (!known)
		return 0;
	if (val == NULL) {
		fprintf(stderr, "throttlesim %s: %s needs a value (try %s --help)\n", cmd, a, cmd);
		return -1;
	}
	if (strcmp(a, "--seed") == 0) {
		if (cli_parse_int(cmd, a, val, 0, INT64_MAX, &v))
			return -1;
		o->seed = (uint64_t)v;
		o->have_seed = true;
	} else if (strcmp(a, "--replications") == 0) {
		if (cli_parse_int(cmd, a, val, 1, SCN_MAX_REPLICATIONS, &o->reps))
			return -1;
		o->have_reps = true;
	} else if (strcmp(a, "--duration") == 0) {
		char err[256];
		if (unit_parse_duration(val, &o->duration_ns, err, sizeof err) != 0 || o->duration_ns <= 0) {
			fprintf(stderr, "throttlesim %s: --duration: %s\n", cmd,
				o->duration_ns <= 0 ? "must be positive" : err);
			return -1;
		}
		o->have_duration = true;
	} else if (strcmp(a, "--engine") == 0) {
		if (strcmp(val, "calendar") == 0)
			o->kind = EVS_CALENDAR;
		else if (strcmp(val, "heap") == 0)
			o->kind = EVS_HEAP;
		else {
			fprintf(stderr, "throttlesim %s: --engine: expected calendar or heap, got '%s'\n", cmd, val);
			return -1;
		}
	} else {
		if (cli_parse_int(cmd, a, val, 1, 1024, &v))
			return -1;
		o->jobs = (int)v;
	}
	return 2;
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
		fprintf(stderr, "%s%s\n", line, suffix ? suffix : "");
	}
	if (errs->n == 0)
		fprintf(stderr, "%s: %s\n", path, sim_strerror(rc));
	return rc == SIM_ENOMEM ? 1 : 2;
}
