/* load.c - `throttlesim load SCENARIO --target ADDR:PORT`: the scenario's
 * senders, arrivals and retry behaviour as real SMTP clients against a
 * server (throttlesim serve, or any SMTP submission server), in scaled
 * time, and at the end the figures `run` prints for one replication, as
 * the clients saw them; stored with --db as `run` stores a run, so
 * `results` can compare the two.
 *
 * Why a client of its own and not the simulation's world on this loop:
 * the world (models/sender*.c) calls the service synchronously: AUTH and
 * the end of data are answered in the same event (svc_auth, svc_submit)
 * and the worker moves on from the answer in that event.  Over a network
 * every answer comes later, from another callback; running the world here
 * would mean a port for the service with deferred answers through the
 * whole of sender_session.c, for the simulation's hot path, to serve a
 * program that runs in wall time.  So the world keeps its synchronous
 * calls, and load keeps its own small state machine for the client's
 * rules (load_client.c, in sender_session.c's order), built on the
 * model's pure steps: arrivals, message draws, connect and submit times,
 * back-offs, from the same streams.  The rules of the service are not
 * here at all: the server's replies are what load counts.
 *
 * Time: the loop's model time is the wall time since start times K
 * (--time-scale).  The run is [0, duration) of model time (the
 * scenario's, or --duration); at its end every connection is closed and
 * the messages not yet accepted or lost are pending, as in `run`.
 */
#include "load_int.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/err.h>

#include "cli.h"
#include "exit.h"
#include "report.h"
#include "run.h"
#include "scn_load.h"
#include "store.h"
#include "term.h"
#include "units.h"

static const char load_usage[] =
"usage: throttlesim load SCENARIO --target ADDR:PORT [options]\n"
"\n"
"Drives real SMTP connections against ADDR:PORT with SCENARIO's senders:\n"
"their arrivals, messages, sessions and retry behaviour, in scaled time.\n"
"At the end, prints the figures `run` prints for one replication, as the\n"
"clients saw them (accepted, refusals by reply class, lost, pending,\n"
"submission delays).\n"
"\n"
"options:\n"
"  --target ADDR:PORT     the server (throttlesim serve, or any SMTP submission server)\n"
"  --time-scale K         the model's clock runs K times faster than the wall clock\n"
"                         (1 to 1000000; as serve's; default 1)\n"
"  --duration D           model time to run (default: the scenario's duration)\n"
"  --seed N               the streams' seed (default: the scenario's)\n"
"  --replication R        draw replication R's streams (default 0): load --seed S\n"
"                         --replication R makes the messages of run's replication R\n"
"  --variant NAME         the scenario's variant NAME (default: the base)\n"
"  --no-tls               no STARTTLS: AUTH in clear (serve --no-tls)\n"
"  --cafile FILE          verify the server's certificate against FILE (PEM, e.g.\n"
"                         serve --write-cert); without it TLS is not verified\n"
"  --db FILE              store the figures as a run of one replication (as run)\n"
"  --quiet, -q            print nothing but errors\n"
"  -h, --help             this text\n";

enum { O_TARGET, O_SCALE, O_DURATION, O_SEED, O_REP, O_VARIANT, O_NO_TLS, O_CAFILE, O_DB, O_QUIET };

static const cli_opt load_opts[] = {
	{ "--target", NULL, true, O_TARGET }, { "--time-scale", NULL, true, O_SCALE },
	{ "--duration", NULL, true, O_DURATION }, { "--seed", NULL, true, O_SEED },
	{ "--replication", NULL, true, O_REP }, { "--variant", NULL, true, O_VARIANT },
	{ "--no-tls", NULL, false, O_NO_TLS }, { "--cafile", NULL, true, O_CAFILE },
	{ "--db", NULL, true, O_DB }, { "--quiet", "-q", false, O_QUIET },
};

typedef struct load_args {
	const char *path, *target, *variant, *cafile, *db;
	ev_scale scale;
	bool have_seed, have_duration, no_tls, quiet;
	uint64_t seed;
	int64_t replication, duration_ns;
} load_args;

static int load_arg(void *ctx, int id, const char *opt, const char *val)
{
	load_args *a = ctx;
	char err[128];
	int64_t v;
	switch (id) {
	case CLI_ARG:
		if (a->path) {
			term_eprintf("throttlesim load: unexpected argument '%s' (one scenario)\n", val);
			return -1;
		}
		a->path = val;
		return 0;
	case O_TARGET: a->target = val; return 0;
	case O_SCALE:
		return cli_time_scale("load", val, &a->scale);
	case O_DURATION:
		if (unit_parse_duration(val, &v, err, sizeof err) != SIM_OK || v <= 0) {
			term_eprintf("throttlesim load: --duration: expected a duration such as 1h, got '%s'\n", val);
			return -1;
		}
		a->duration_ns = v;
		a->have_duration = true;
		return 0;
	case O_SEED:
		if (cli_parse_int("load", opt, val, 0, INT64_MAX, &v) != 0)
			return -1;
		a->seed = (uint64_t)v;
		a->have_seed = true;
		return 0;
	case O_REP:
		return cli_parse_int("load", opt, val, 0, INT64_MAX, &a->replication);
	case O_VARIANT: a->variant = val; return 0;
	case O_NO_TLS: a->no_tls = true; return 0;
	case O_CAFILE: a->cafile = val; return 0;
	case O_DB: a->db = val; return 0;
	case O_QUIET: a->quiet = true; return 0;
	}
	return -1;
}

/* ADDR:PORT or [IPv6]:PORT into g->addr (resolved once, at start). */
static int parse_target(ld *g, const char *spec)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host) {
			term_eprintf("throttlesim load: --target: expected ADDR:PORT or [IPv6]:PORT, got '%s'\n", spec);
			return -1;
		}
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = 0;
		port = rb + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof host || strchr(spec, ':') != colon) {
			term_eprintf("throttlesim load: --target: expected ADDR:PORT or [IPv6]:PORT, got '%s'\n", spec);
			return -1;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = 0;
		port = colon + 1;
	}
	int64_t pn;
	if (cli_parse_int("load", "--target port", port, 1, 65535, &pn) != 0)
		return -1;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0 || !res) {
		term_eprintf("throttlesim load: --target: %s: %s\n", host, gai_strerror(gai));
		return -1;
	}
	memcpy(&g->addr, res->ai_addr, res->ai_addrlen);
	g->addr_len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(g->host, sizeof g->host, "%s", host);
	return 0;
}

static int tls_setup(ld *g, const char *cafile)
{
	g->tls = SSL_CTX_new(TLS_client_method());
	if (!g->tls) {
		term_eprintf("throttlesim load: OpenSSL: cannot make a client context\n");
		return EXIT_FAIL;
	}
	SSL_CTX_set_min_proto_version(g->tls, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(g->tls, SSL_SESS_CACHE_OFF);
	if (cafile) {
		if (SSL_CTX_load_verify_locations(g->tls, cafile, NULL) != 1) {
			unsigned long e = ERR_get_error();
			term_eprintf("throttlesim load: --cafile %s: %s\n", cafile,
				     ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "cannot be read");
			return EXIT_USAGE;
		}
		SSL_CTX_set_verify(g->tls, SSL_VERIFY_PEER, NULL);
		g->verify = true;
	} else {
		SSL_CTX_set_verify(g->tls, SSL_VERIFY_NONE, NULL);
	}
	return 0;
}

/* ---- the run ---------------------------------------------------------------------- */

static void on_end(void *arg)
{
	ld *g = arg;
	ld_client_stop(g);
	ev_stop(g->loop);
}

static void on_signal(ev_loop *l, int signo, void *arg)
{
	(void)signo;
	ld *g = arg;
	ld_client_stop(g);
	ev_stop(l);
}

/* Every entity's figures from the counts, as run_replication fills them;
 * what the clients cannot see is NaN: the service's figures, the release
 * for delivery, duplicates, per-minute peaks. */
static void fill_entity(res_entity *out, const snd_counts *c, int64_t pending, double dmin)
{
	for (int i = 0; i < FIG_COUNT; i++)
		out->fig[i] = NAN;
	run_fill_counts(out, c, pending, dmin);
	int nan_figs[] = { FIG_RELEASED, FIG_AWAITING_RELEASE, FIG_DUPLICATES, FIG_LAST_RELEASE,
			   FIG_RELEASED_PER_MIN };
	for (size_t i = 0; i < sizeof nan_figs / sizeof *nan_figs; i++)
		out->fig[nan_figs[i]] = NAN;
}

static int64_t pending_of(const snd_counts *c)
{
	return (int64_t)(c->generated - c->accepted - c->lost);
}

static int build_rep(ld *g, int64_t end, res_rep *rep)
{
	const scenario *s = g->s;
	memset(rep, 0, sizeof *rep);
	rep->alloc = sim_alloc_std;
	rep->seed = g->seed;
	rep->replication = g->replication;
	rep->n_groups = s->n_senders;
	rep->n_mailboxes = s->n_mailboxes;
	rep->groups = calloc(s->n_senders ? s->n_senders : 1, sizeof *rep->groups);
	rep->mailboxes = calloc(s->n_mailboxes ? s->n_mailboxes : 1, sizeof *rep->mailboxes);
	if (!rep->groups || !rep->mailboxes)
		return SIM_ENOMEM;
	double dmin = (double)end / (60.0 * SCN_NS_PER_S);
	fill_entity(&rep->total, &g->total, pending_of(&g->total), dmin);
	st_dset_fill(&g->dly_total, ST_SUBMISSION, &rep->total.fig[FIG_SUB_DELAY_MEAN]);
	for (size_t k = 0; k < s->n_senders; k++) {
		fill_entity(&rep->groups[k], &g->groups[k], pending_of(&g->groups[k]), dmin);
		st_dset_fill(&g->dly[k], ST_SUBMISSION, &rep->groups[k].fig[FIG_SUB_DELAY_MEAN]);
	}
	/* a mailbox's generation is defined when only fixed instances use it */
	bool *shared = calloc(s->n_mailboxes ? s->n_mailboxes : 1, sizeof *shared);
	if (!shared)
		return SIM_ENOMEM;
	for (size_t i = 0; i < g->n_inst; i++)
		if (g->inst[i].in.home_mailbox < 0) {
			const scn_sender *sd = &s->senders[g->inst[i].in.group];
			const scn_pool *p = &s->pools[sd->pool];
			for (size_t m = 0; m < p->count; m++)
				shared[p->first + m] = true;
		}
	for (size_t m = 0; m < s->n_mailboxes; m++) {
		const snd_counts *c = &g->mailboxes[m];
		fill_entity(&rep->mailboxes[m], c, shared[m] ? -1 : pending_of(c), dmin);
		rep->mailboxes[m].fig[FIG_SUB_DELAY_MEAN] = c->accepted ? c->sub_sum_s / (double)c->accepted : NAN;
		rep->mailboxes[m].fig[FIG_SUB_DELAY_MAX] = c->accepted ? (double)c->sub_max_ns / 1e9 : NAN;
	}
	free(shared);
	run_fill_cdf(rep->submission_cdf, &g->dly_total, 1, ST_SUBMISSION);
	for (int k = 0; k < RES_CDF_POINTS; k++)
		rep->delivery_cdf[k] = NAN;
	for (int c = 0; c < RC_COUNT; c++)
		if (g->given[c])
			res_rep_note_reply(rep, c, g->given[c]);
	int64_t step = s->series_step_ns > 0 ? s->series_step_ns : 60 * SCN_NS_PER_S;
	size_t n_rows = (size_t)((end + step - 1) / step);
	if (n_rows == 0)
		n_rows = 1;
	if (n_rows > g->n_series)
		n_rows = g->n_series;
	rep->series = calloc(n_rows ? n_rows : 1, sizeof *rep->series);
	if (!rep->series)
		return SIM_ENOMEM;
	memcpy(rep->series, g->series, n_rows * sizeof *rep->series);
	rep->n_series = n_rows;
	rep->series_step_ns = step;
	return SIM_OK;
}

static void tell_waiting(void *ctx, const char *message)
{
	(void)ctx;
	term_eprintf("load: %s\n", message);
}

static int report(ld *g, const load_args *a, int64_t end, const char *cmdline)
{
	res_rep rep;
	res_desc desc;
	memset(&desc, 0, sizeof desc);
	char err[1024];
	int st = build_rep(g, end, &rep);
	if (st == SIM_OK)
		st = res_describe(g->s, &sim_alloc_std, &desc);
	if (st != SIM_OK) {
		res_rep_free(&rep);
		res_desc_free(&desc);
		term_eprintf("throttlesim load: out of memory while summing up the run\n");
		return EXIT_FAIL;
	}
	desc.duration_ns = end;
	desc.seed = g->seed;
	rpt_variant var = { .name = g->s->variant, .desc = &desc, .reps = &rep, .n_reps = 1 };
	rpt_run run = { .scenario_name = g->s->name, .seed = g->seed, .version = THROTTLESIM_VERSION,
			.variants = &var, .n_variants = 1 };
	int status = 0;
	if (!a->quiet) {
		rpt_table(stdout, &run);
		printf("load: %llu connections failed or closed without a reply%s%s; %llu replies matched no class\n",
		       (unsigned long long)g->conn_failures, g->first_failure[0] ? " (first: " : "",
		       g->first_failure[0] ? g->first_failure : "", (unsigned long long)g->unrecognised);
		if (g->first_failure[0])
			printf(")\n");
	}
	if (a->db) {
		int64_t run_id = 0;
		store_run_info info = {
			.program_version = THROTTLESIM_VERSION, .scenario_name = g->s->name,
			.scenario_file = g->s->source_file, .scenario_text = g->s->source_text,
			.command_line = cmdline, .seed = g->seed, .replications = 1,
		};
		if (store_run_once(a->db, &info, &run, tell_waiting, NULL, &run_id, err, sizeof err) != SIM_OK) {
			term_eprintf("throttlesim load: %s\n", err);
			status = EXIT_FAIL;
		} else if (!a->quiet) {
			printf("load: stored as run %lld in %s\n", (long long)run_id, a->db);
		}
	}
	res_rep_free(&rep);
	res_desc_free(&desc);
	return status;
}

/* What load cannot drive: refused before anything connects. */
static int check_supported(const scenario *s)
{
	for (size_t k = 0; k < s->n_senders; k++) {
		const scn_sender *sd = &s->senders[k];
		const scn_arrivals *ar = &sd->arrivals;
		if (ar->kind == ARR_TRACE || (ar->kind == ARR_BURSTS && ar->when != BURST_RANDOM)) {
			term_eprintf("throttlesim load: senders.%s.arrivals: %s arrivals are not driven by load "
				     "(poisson, periodic and random bursts are)\n", sd->name,
				     ar->kind == ARR_TRACE ? "trace" : "scheduled burst");
			return EXIT_USAGE;
		}
		if (sd->route != 0) {
			term_eprintf("throttlesim load: senders.%s: route %s: load drives SMTP AUTH submission "
				     "(smtp_auth) only\n", sd->name, s->routes[sd->route].name);
			return EXIT_USAGE;
		}
	}
	if (s->n_senders == 0) {
		term_eprintf("throttlesim load: the scenario has no senders to drive\n");
		return EXIT_USAGE;
	}
	return 0;
}

static int run_load(ld *g, const load_args *a, const char *cmdline)
{
	const scenario *s = g->s;
	g->groups = calloc(s->n_senders, sizeof *g->groups);
	g->mailboxes = calloc(s->n_mailboxes ? s->n_mailboxes : 1, sizeof *g->mailboxes);
	g->dly = calloc(s->n_senders, sizeof *g->dly);
	int64_t step = s->series_step_ns > 0 ? s->series_step_ns : 60 * SCN_NS_PER_S;
	g->n_series = (size_t)((s->duration_ns + step - 1) / step);
	g->series = calloc(g->n_series ? g->n_series : 1, sizeof *g->series);
	if (!g->groups || !g->mailboxes || !g->dly || !g->series) {
		term_eprintf("throttlesim load: out of memory\n");
		return EXIT_FAIL;
	}
	st_dset_init(&g->dly_total, sim_alloc_std);
	for (size_t k = 0; k < s->n_senders; k++)
		st_dset_init(&g->dly[k], sim_alloc_std);
	if (ev_new(&g->loop, &sim_alloc_std, a->scale) != SIM_OK) {
		term_eprintf("throttlesim load: cannot start the event loop\n");
		return EXIT_FAIL;
	}
	g->clock = ev_clock(g->loop);
	static const int sigs[] = { SIGINT, SIGTERM };
	ev_signal(g->loop, sigs, 2, on_signal, g);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	g->run_tag = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (clk_schedule_at(&g->clock, s->duration_ns, on_end, g, &g->t_end) != SIM_OK ||
	    ld_client_init(g) != SIM_OK) {
		term_eprintf("throttlesim load: %s\n", g->why[0] ? g->why : "out of memory");
		return EXIT_FAIL;
	}
	if (!a->quiet)
		printf("load: %s against %s, %zu instances, %.0f s of model time at K = %g\n", s->name, a->target,
		       g->n_inst, (double)s->duration_ns / 1e9, (double)a->scale.num / a->scale.den);
	fflush(stdout);
	int st = ev_run(g->loop);
	int64_t end = clk_now(&g->clock);
	if (end > s->duration_ns)
		end = s->duration_ns;
	if (end <= 0)
		end = 1;
	if (!g->stopping)
		ld_client_stop(g);
	if (g->status != SIM_OK) {
		term_eprintf("throttlesim load: %s\n", g->why);
		return EXIT_FAIL;
	}
	if (st != SIM_OK) {
		term_eprintf("throttlesim load: the event loop failed: %s\n", strerror(ev_errno(g->loop)));
		return EXIT_FAIL;
	}
	return report(g, a, end, cmdline);
}

int cmd_load(int argc, char **argv)
{
	load_args a = { 0 };
	a.scale = (ev_scale){ 1, 1 };
	int p = cli_parse("load", load_usage, load_opts, sizeof load_opts / sizeof *load_opts, argc, argv,
			  load_arg, &a);
	if (p != 0)
		return p > 0 ? EXIT_OK : EXIT_USAGE;
	if (!a.path || !a.target) {
		term_eprintf("throttlesim load: %s (usage: throttlesim load SCENARIO --target ADDR:PORT; try --help)\n",
			     !a.path ? "which scenario?" : "which server? (--target ADDR:PORT)");
		return EXIT_USAGE;
	}
	if (a.no_tls && a.cafile) {
		term_eprintf("throttlesim load: --no-tls and --cafile: choose one\n");
		return EXIT_USAGE;
	}
	ld g;
	memset(&g, 0, sizeof g);
	g.quiet = a.quiet;
	if (parse_target(&g, a.target) != 0)
		return EXIT_USAGE;
	scenario **v = NULL;
	size_t n = 0;
	scn_errors errs = { 0 };
	int rc = scn_load(a.path, &sim_alloc_std, &v, &n, &errs);
	int status = rc == SIM_OK ? 0 : cli_load_failed(a.path, rc, &errs, NULL);
	scn_errors_free(&errs);
	if (status)
		return status;
	scenario *s = v[0];
	if (a.variant) {
		s = NULL;
		for (size_t i = 0; i < n; i++)
			if (strcmp(v[i]->variant, a.variant) == 0)
				s = v[i];
		if (!s) {
			term_eprintf("throttlesim load: %s has no variant '%s'\n", a.path, a.variant);
			status = EXIT_USAGE;
		}
	}
	if (!status)
		status = check_supported(s);
	if (!status) {
		if (a.have_seed)
			s->seed = a.seed;
		if (a.have_duration)
			s->duration_ns = a.duration_ns;
		g.s = s;
		g.seed = s->seed;
		g.replication = a.replication;
		signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(): a reset peer must not kill us */
		cli_raise_fd_limit();
		if (!a.no_tls)
			status = tls_setup(&g, a.cafile);
		if (!status) {
			char *cmdline = cli_join_args("throttlesim load", argc, argv);
			status = run_load(&g, &a, cmdline ? cmdline : "throttlesim load");
			free(cmdline);
		}
	}
	ld_client_free(&g);
	if (g.loop)
		ev_free(g.loop);
	if (g.tls)
		SSL_CTX_free(g.tls);
	st_dset_free(&g.dly_total);
	for (size_t k = 0; g.dly && k < g.s->n_senders; k++)
		st_dset_free(&g.dly[k]);
	free(g.dly);
	free(g.groups);
	free(g.mailboxes);
	free(g.series);
	scn_free_all(v, n, &sim_alloc_std);
	return status;
}
