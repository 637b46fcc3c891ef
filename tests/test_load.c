/* test_load.c - `throttlesim load` against `throttlesim serve` agrees with
 * `run`: the shipped scenarios/printers-peak.yaml (20 printers, one shared
 * mailbox, an hour of peak where a scan meets three others in progress
 * often enough to get 432s) is served with STARTTLS at --time-scale 120
 * and driven by load through real connections for its hour of model time
 * (30 s of wall time), and
 *   - load generates exactly the messages of run's replication 0 (the same
 *     streams: common random numbers), so `generated` is equal;
 *   - accepted, refusals with 432 and lost lie within the 95 % prediction
 *     interval of one replication, mean +- t(0.975, n-1) s sqrt(1 + 1/n),
 *     from n = 30 replications of the simulation run in this process.
 * The interval is that of one new replication, not of the mean: load is
 * one replication, whose own spread is the replications'.  The serve and
 * load binaries are $THROTTLESIM_BIN (the Makefile's test-one sets it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replies.h"
#include "results.h"
#include "run.h"
#include "scn_load.h"
#include "store.h"

#define SCENARIO "scenarios/printers-peak.yaml"
#define REPS 30
#define T_975_29 2.045  /* Student's t, 0.975 quantile, 29 degrees of freedom */

enum { F_GENERATED, F_ACCEPTED, F_432, F_LOST, N_F };
static const char *const fname[N_F] = { "generated", "accepted", "432", "lost" };

static void figures_of(const res_rep *r, double out[N_F])
{
	out[F_GENERATED] = r->total.fig[FIG_GENERATED];
	out[F_ACCEPTED] = r->total.fig[FIG_ACCEPTED];
	out[F_432] = (double)r->total.rejected_by[RC_CONCURRENCY];
	out[F_LOST] = r->total.fig[FIG_LOST];
}

static const char *bin(void)
{
	const char *b = getenv("THROTTLESIM_BIN");
	return b ? b : "build/debug/throttlesim";
}

/* serve in the background: its pid, the port from its first line. */
static pid_t start_serve(const char *dir, int *port)
{
	char db[160], key[160], cert[160];
	snprintf(db, sizeof db, "%s/serve.db", dir);
	snprintf(key, sizeof key, "%s/token.key", dir);
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	int out[2];
	if (pipe(out) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(bin(), bin(), "serve", SCENARIO, "--listen", "127.0.0.1:0", "--time-scale", "120", "--quiet",
		      "--db", db, "--token-key", key, "--write-cert", cert, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[128] = "";
	FILE *rf = fdopen(out[0], "r");
	if (!rf || !fgets(line, sizeof line, rf)) {
		if (rf)
			fclose(rf);
		return -1;
	}
	fclose(rf);
	const char *colon = strrchr(line, ':');
	*port = colon ? atoi(colon + 1) : 0;
	return pid;
}

static void test_load_agrees_with_run(void **state)
{
	(void)state;
	/* the simulation: REPS replications */
	scenario **v = NULL;
	size_t nv = 0;
	scn_errors errs = { 0 };
	assert_int_equal(scn_load(SCENARIO, &sim_alloc_std, &v, &nv, &errs), SIM_OK);
	scn_errors_free(&errs);
	double sum[N_F] = { 0 }, sq[N_F] = { 0 }, rep0[N_F] = { 0 };
	for (int r = 0; r < REPS; r++) {
		res_rep rep;
		char err[256];
		assert_int_equal(run_replication(v[0], r, EVS_CALENDAR, &sim_alloc_std, &rep, err, sizeof err), SIM_OK);
		double f[N_F];
		figures_of(&rep, f);
		for (int i = 0; i < N_F; i++) {
			sum[i] += f[i];
			sq[i] += f[i] * f[i];
			if (r == 0)
				rep0[i] = f[i];
		}
		res_rep_free(&rep);
	}
	scn_free_all(v, nv, &sim_alloc_std);

	/* serve, and load against it */
	char dir[64] = "/tmp/test_load.XXXXXX";
	assert_non_null(mkdtemp(dir));
	int port = 0;
	pid_t spid = start_serve(dir, &port);
	assert_true(spid > 0);
	assert_true(port > 0);
	char target[64], cert[160], db[160];
	snprintf(target, sizeof target, "127.0.0.1:%d", port);
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(db, sizeof db, "%s/load.db", dir);
	pid_t lpid = fork();
	if (lpid == 0) {
		execl(bin(), bin(), "load", SCENARIO, "--target", target, "--cafile", cert, "--time-scale", "120",
		      "--db", db, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(lpid, &status, 0), lpid);
	kill(spid, SIGTERM);
	waitpid(spid, NULL, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	sqlite3 *sdb = NULL;
	store_loaded *l = NULL;
	char err[512];
	assert_int_equal(store_open_waiting(db, NULL, NULL, &sdb, err, sizeof err), SIM_OK);
	assert_int_equal(store_load_run(sdb, 1, &l, err, sizeof err), SIM_OK);
	assert_int_equal(l->run.n_variants, 1);
	assert_int_equal(l->run.variants[0].n_reps, 1);
	double got[N_F];
	figures_of(&l->run.variants[0].reps[0], got);
	store_loaded_free(l);
	store_close(sdb);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);

	/* the same messages as replication 0 */
	assert_true(got[F_GENERATED] == rep0[F_GENERATED]);
	bool ok = true;
	for (int i = F_ACCEPTED; i < N_F; i++) {
		double mean = sum[i] / REPS;
		double sd = sqrt((sq[i] - REPS * mean * mean) / (REPS - 1));
		double half = T_975_29 * sd * sqrt(1.0 + 1.0 / REPS);
		bool in = fabs(got[i] - mean) <= half;
		printf("  %-9s load %6.0f   run %8.1f +- %6.1f (95%% prediction; replication 0: %.0f)%s\n", fname[i],
		       got[i], mean, half, rep0[i], in ? "" : "   OUTSIDE");
		ok = ok && in;
	}
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_agrees_with_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
