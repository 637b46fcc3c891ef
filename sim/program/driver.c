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
	size_t running;      /* tasks taken and not finished */
	int workers;         /* threads not yet returned */
	bool abandoned;      /* stopped: the caller no longer waits; nothing is counted */
	evs_kind kind;
	pthread_mutex_t lock;
	pthread_cond_t changed;  /* a task finished or a worker returned */
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
		/* A stop request takes effect here, between replications:
		 * run_replication cannot be cut short. */
		bool stopping = (pl->stop && *pl->stop) || pl->abandoned;
		size_t i = !stopping && pl->next < pl->n ? pl->next++ : pl->n;
		if (i == pl->n) {
			pl->workers--;
			pthread_cond_broadcast(&pl->changed);
			pthread_mutex_unlock(&pl->lock);
			return NULL;
		}
		pl->running++;
		pthread_mutex_unlock(&pl->lock);
		task *t = &pl->tasks[i];
		res_rep r = { 0 };
		char err[sizeof t->err] = "";
		int status = run_replication(t->scn, t->replication, pl->kind, &sim_alloc_std, &r, err, sizeof err);
		pthread_mutex_lock(&pl->lock);
		pl->running--;
		if (pl->abandoned) {
			/* the caller has taken what was done and will end the
			 * process: nothing of this one is kept */
			if (status == SIM_OK)
				res_rep_free(&r);
		} else {
			*t->out = r;
			t->status = status;
			memcpy(t->err, err, sizeof err);
			t->done = true;
			pl->done++;
			if (status == SIM_OK) {
				pl->events += (double)r.events;
				pl->simulated_ns += (double)t->scn->duration_ns;
			}
			if (pl->progress)
				show_progress(pl);
		}
		pthread_cond_broadcast(&pl->changed);
		pthread_mutex_unlock(&pl->lock);
	}
}

/* The calling thread waits for the workers, looking at the stop flag ten
 * times a second (a signal handler cannot signal a condition variable).
 * Stopped with replications under way, it stops waiting for them: true,
 * with the pool marked abandoned (the lock held while marking, so the
 * finished tasks are fixed from then on). */
static bool wait_for_workers(pool *pl, bool may_abandon)
{
	pthread_mutex_lock(&pl->lock);
	while (pl->workers > 0) {
		if (may_abandon && pl->stop && *pl->stop && pl->running > 0) {
			pl->abandoned = true;
			pthread_mutex_unlock(&pl->lock);
			return true;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&pl->changed, &pl->lock, &until);
	}
	pthread_mutex_unlock(&pl->lock);
	return false;
}

/* How many replications of scenario k the run holds. */
static size_t count_of(scenario *const *v, const drv_sel *sel, size_t k)
{
	return sel ? sel[k].n : (size_t)v[k]->replications;
}

/* The replication at position i of scenario k's list. */
static int64_t rep_at(const drv_sel *sel, size_t k, size_t i)
{
	return sel ? sel[k].rep[i] : (int64_t)i;
}

void drv_free_sel(res_rep **out, scenario *const *v, const drv_sel *sel, size_t n)
{
	if (out == NULL)
		return;
	for (size_t k = 0; k < n; k++) {
		if (out[k] == NULL)
			continue;
		for (size_t r = 0; r < count_of(v, sel, k); r++)
			res_rep_free(&out[k][r]);
		free(out[k]);
	}
	free(out);
}

void drv_free(res_rep **out, scenario *const *v, size_t n)
{
	drv_free_sel(out, v, NULL, n);
}

int drv_run(scenario *const *v, size_t n, const drv_opts *o, res_rep ***out,
	    char *err, size_t errlen)
{
	const drv_sel *sel = o->sel;
	size_t total = 0;
	for (size_t k = 0; k < n; k++)
		total += count_of(v, sel, k);
	res_rep **res = calloc(n ? n : 1, sizeof *res);
	task *tasks = calloc(total ? total : 1, sizeof *tasks);
	int rc = SIM_OK;
	if (res == NULL || tasks == NULL)
		goto nomem;
	size_t most = 0;
	for (size_t k = 0; k < n; k++) {
		size_t c = count_of(v, sel, k);
		res[k] = calloc(c ? c : 1, sizeof *res[k]);
		if (res[k] == NULL)
			goto nomem;
		if (c > most)
			most = c;
	}
	/* Replication-major: replication 0 of every scenario, then 1, ...  A
	 * stopped run then holds the first m replications of every variant
	 * and sweep point, which pair by seed; the slots, so the results, do
	 * not depend on the order. */
	size_t t = 0;
	for (size_t r = 0; r < most; r++)
		for (size_t k = 0; k < n; k++)
			if (r < count_of(v, sel, k))
				tasks[t++] = (task){ .scn = v[k], .replication = rep_at(sel, k, r), .out = &res[k][r] };

	/* On the heap: once abandoned, it outlives this call (the threads
	 * still simulating hold it until the process ends). */
	pool *pl = calloc(1, sizeof *pl);
	if (pl == NULL)
		goto nomem;
	*pl = (pool){ .tasks = tasks, .n = total, .kind = o->kind, .progress = o->progress,
		      .stop = o->stop, .t0 = now_s() };
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->changed, NULL);
	int jobs = o->jobs < 1 ? 1 : o->jobs;
	if ((size_t)jobs > total)
		jobs = (int)(total ? total : 1);
	/* Every job a thread of its own, so that this thread is free to
	 * notice a stop; with no thread at all, it works alone. */
	pthread_t *th = calloc((size_t)jobs, sizeof *th);
	int started = 0;
	pthread_mutex_lock(&pl->lock);
	for (int j = 0; th && j < jobs; j++)
		if (pthread_create(&th[j], NULL, worker, pl) == 0) {
			started++;
			pl->workers++;
		}
	pthread_mutex_unlock(&pl->lock);
	if (started == 0) {
		pl->workers = 1;
		worker(pl);
	}
	bool abandoned = wait_for_workers(pl, o->complete != NULL && o->abandoned != NULL);
	for (int j = 0; j < started; j++) {
		if (abandoned)
			pthread_detach(th[j]);
		else
			pthread_join(th[j], NULL);
	}
	free(th);
	if (pl->progress)
		fprintf(stderr, "\r\033[K");
	if (abandoned) {
		/* tasks, the slots of unfinished tasks and the pool stay with the
		 * threads still simulating; only finished tasks are read below */
		*o->abandoned = true;
	} else {
		pthread_mutex_destroy(&pl->lock);
		pthread_cond_destroy(&pl->changed);
		free(pl);
	}

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
		for (size_t r = 0; r < most; r++)
			for (size_t k = 0; k < n; k++)
				if (r < count_of(v, sel, k)) {
					if (tasks[idx].done && o->complete[k] == r)
						o->complete[k]++;
					idx++;
				}
	}
	if (!abandoned)
		free(tasks);
	if (rc == SIM_OK && stopped) {
		rc = SIM_EINTR;
		snprintf(err, errlen, "interrupted");
	}
	if (rc != SIM_OK && (rc != SIM_EINTR || o->complete == NULL)) {
		if (!abandoned)
			drv_free_sel(res, v, sel, n);
		return rc;
	}
	*out = res;
	return rc;
nomem:
	free(tasks);
	drv_free_sel(res, v, sel, n);
	snprintf(err, errlen, "%s", sim_strerror(SIM_ENOMEM));
	return SIM_ENOMEM;
}
