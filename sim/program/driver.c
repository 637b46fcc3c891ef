/* driver.c - replications in parallel, into fixed slots. */
#include "driver.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run.h"
#include "report.h"

typedef struct task {
	const scenario *scn;
	int64_t replication;
	res_rep *out;
	int status;
	bool done;           /* run to its end (status says how) */
	char err[256];
} task;

typedef struct pool {
	task *tasks;
	size_t n, next, done;
	evs_kind kind;
	pthread_mutex_t lock;
	const volatile sig_atomic_t *stop;
	bool progress;
	double t0;
	double events;       /* of finished replications */
	double simulated_ns; /* of finished replications */
} pool;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Called with the lock held. */
static void show_progress(pool *pl)
{
	double el = now_s() - pl->t0;
	char sim[32], left[32];
	rpt_format_duration(pl->simulated_ns / 1e9, sim, sizeof sim);
	double rest = pl->done ? el * (double)(pl->n - pl->done) / (double)pl->done : 0;
	rpt_format_duration(rest, left, sizeof left);
	fprintf(stderr, "\r\033[K%zu/%zu replications, %s simulated, %.3g events/s, about %s left",
		pl->done, pl->n, sim, el > 0 ? pl->events / el : 0.0, left);
	fflush(stderr);
}

static void *worker(void *p)
{
	pool *pl = p;
	for (;;) {
		pthread_mutex_lock(&pl->lock);
		/* A stop request takes effect here, between replications: those
		 * under way run to their end (run_replication cannot be cut). */
		bool stopping = pl->stop && *pl->stop;
		size_t i = !stopping && pl->next < pl->n ? pl->next++ : pl->n;
		pthread_mutex_unlock(&pl->lock);
		if (i == pl->n)
			return NULL;
		task *t = &pl->tasks[i];
		t->status = run_replication(t->scn, t->replication, pl->kind, &sim_alloc_std,
					    t->out, t->err, sizeof t->err);
		pthread_mutex_lock(&pl->lock);
		t->done = true;
		pl->done++;
		if (t->status == SIM_OK) {
			pl->events += (double)t->out->events;
			pl->simulated_ns += (double)t->scn->duration_ns;
		}
		if (pl->progress)
			show_progress(pl);
		pthread_mutex_unlock(&pl->lock);
	}
}

void drv_free(res_rep **out, scenario *const *v, size_t n)
{
	if (out == NULL)
		return;
	for (size_t k = 0; k < n; k++) {
		if (out[k] == NULL)
			continue;
		for (int64_t r = 0; r < v[k]->replications; r++)
			res_rep_free(&out[k][r]);
		free(out[k]);
	}
	free(out);
}

int drv_run(scenario *const *v, size_t n, const drv_opts *o, res_rep ***out,
	    char *err, size_t errlen)
{
	size_t total = 0;
	for (size_t k = 0; k < n; k++)
		total += (size_t)v[k]->replications;
	res_rep **res = calloc(n ? n : 1, sizeof *res);
	task *tasks = calloc(total ? total : 1, sizeof *tasks);
	int rc = SIM_OK;
	if (res == NULL || tasks == NULL)
		goto nomem;
	int64_t most = 0;
	for (size_t k = 0; k < n; k++) {
		res[k] = calloc((size_t)v[k]->replications, sizeof *res[k]);
		if (res[k] == NULL)
			goto nomem;
		if (v[k]->replications > most)
			most = v[k]->replications;
	}
	/* Replication-major: replication 0 of every scenario, then 1, ...  A
	 * stopped run then holds the first m replications of every variant
	 * and sweep point, which pair by seed; the slots, so the results, do
	 * not depend on the order. */
	size_t t = 0;
	for (int64_t r = 0; r < most; r++)
		for (size_t k = 0; k < n; k++)
			if (r < v[k]->replications)
				tasks[t++] = (task){ .scn = v[k], .replication = r, .out = &res[k][r] };

	pool pl = { .tasks = tasks, .n = total, .kind = o->kind, .progress = o->progress,
		    .stop = o->stop, .t0 = now_s() };
	pthread_mutex_init(&pl.lock, NULL);
	int jobs = o->jobs < 1 ? 1 : o->jobs;
	if ((size_t)jobs > total)
		jobs = (int)(total ? total : 1);
	pthread_t *th = calloc((size_t)jobs, sizeof *th);
	int started = 0;
	for (int j = 0; th && j < jobs - 1; j++)
		if (pthread_create(&th[j], NULL, worker, &pl) == 0)
			started++;
	worker(&pl); /* the calling thread works too */
	for (int j = 0; j < started; j++)
		pthread_join(th[j], NULL);
	free(th);
	pthread_mutex_destroy(&pl.lock);
	if (pl.progress)
		fprintf(stderr, "\r\033[K");

	for (size_t i = 0; i < total; i++)
		if (tasks[i].done && tasks[i].status != SIM_OK) {
			snprintf(err, errlen, "variant %s, replication %lld: %s", tasks[i].scn->variant,
				 (long long)tasks[i].replication,
				 tasks[i].err[0] ? tasks[i].err : sim_strerror(tasks[i].status));
			rc = tasks[i].status;
			break;
		}
	/* Stopped: each scenario's complete replications form a prefix
	 * (tasks are taken in order and every task taken is finished). */
	bool stopped = false;
	for (size_t i = 0; i < total; i++)
		stopped = stopped || !tasks[i].done;
	if (rc == SIM_OK && stopped && o->complete) {
		for (size_t k = 0; k < n; k++)
			o->complete[k] = 0;
		size_t idx = 0;
		for (int64_t r = 0; r < most; r++)
			for (size_t k = 0; k < n; k++)
				if (r < v[k]->replications) {
					if (tasks[idx].done && o->complete[k] == (size_t)r)
						o->complete[k]++;
					idx++;
				}
	}
	free(tasks);
	if (rc == SIM_OK && stopped) {
		rc = SIM_EINTR;
		snprintf(err, errlen, "interrupted");
	}
	if (rc != SIM_OK && (rc != SIM_EINTR || o->complete == NULL)) {
		drv_free(res, v, n);
		return rc;
	}
	*out = res;
	return rc;
nomem:
	free(tasks);
	drv_free(res, v, n);
	snprintf(err, errlen, "%s", sim_strerror(SIM_ENOMEM));
	return SIM_ENOMEM;
}
